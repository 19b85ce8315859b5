//! vpce.*: the VPC interface endpoints, when they are (part of) the path.

use super::Context;
use super::outcome::{CheckResult, Outcome, need};
use super::permissions::{ActionVerdict, judge, parse, request_context};
use super::tally::Tally;
use crate::analysis::core_actions::{actions_for, resource_for};
use crate::analysis::path::{Need, Path};
use crate::analysis::security_group::{Destination, Reach, grants, reaches};
use crate::policy::{Decision, Labeled, Principal, Request, evaluate_resource_policy};
use crate::report::Status;
use serde_json::json;

/// The path, when endpoints are part of it; `skip` saying which path is used otherwise.
fn endpoint_path<'a, 'c>(ctx: &'c Context<'a>) -> Result<&'c Path<'a>, Outcome> {
    let path = ctx.path()?;
    if path.endpoints_are_the_path() {
        Ok(path)
    } else {
        Err(Outcome::skip(format!(
            "Interface endpoints are not the path: {} has none for ssm, ssmmessages or ec2messages, \
             and traffic leaves through {}.",
            path.vpc_id,
            path.internet.describe()
        )))
    }
}

/// The path, when some endpoint carries traffic; `skip` otherwise.
fn carrying_path<'a, 'c>(ctx: &'c Context<'a>) -> Result<&'c Path<'a>, Outcome> {
    let path = endpoint_path(ctx)?;
    if path.carrying_endpoints().next().is_some() {
        Ok(path)
    } else {
        Err(Outcome::skip(
            "No interface endpoint carries traffic (none is available with private DNS).",
        ))
    }
}

pub fn present(ctx: &Context) -> CheckResult {
    let path = endpoint_path(ctx)?;
    let carries = path.internet.carries_traffic();
    let mut tally = Tally::default();
    let mut missing = vec![];
    for s in &path.services {
        let state = match s.endpoint {
            Some(e) if e.state.eq_ignore_ascii_case("available") => {
                tally.fine.push(format!("{} ({})", s.service, e.id));
                continue;
            }
            Some(e) => format!("endpoint {} is {}", e.id, e.state),
            None => "no endpoint".to_string(),
        };
        missing.push(s.service);
        let line = format!("{}: {state}", s.service);
        let internet = path.internet.describe();
        match (s.need, carries) {
            (Need::Required, false) => tally.failing.push(line),
            (Need::Required, true) => tally
                .doubtful
                .push(format!("{line} (its traffic uses {internet})")),
            (Need::Optional, false) => tally.doubtful.push(format!(
                "{line} (needed only by agents older than 3.3.40.0)"
            )),
            (Need::Optional, true) => tally.fine.push(format!("{} via {internet}", s.service)),
        }
    }
    let outcome = tally.outcome(|status, items| match status {
        Status::Fail => format!(
            "{} has no internet path and lacks endpoints: {items}.",
            path.vpc_id
        ),
        Status::Warn => format!("{items}."),
        _ => format!("Endpoints are available for {items}."),
    });
    Ok(outcome
        .with("vpc_id", path.vpc_id)
        .with("missing", &missing)
        .var("missing_services", missing.join(" ")))
}

pub fn private_dns(ctx: &Context) -> CheckResult {
    let path = endpoint_path(ctx)?;
    let existing: Vec<_> = path.existing_endpoints().collect();
    if existing.is_empty() {
        return Err(Outcome::skip("The VPC has no endpoint for these services."));
    }
    let carries = path.internet.carries_traffic();
    let off: Vec<_> = existing
        .iter()
        .filter(|(_, e)| !e.private_dns_enabled)
        .collect();
    let ids: Vec<&str> = off.iter().map(|(_, e)| e.id.as_str()).collect();
    let line = off
        .iter()
        .map(|(s, e)| format!("{} ({})", e.id, s.service))
        .collect::<Vec<_>>()
        .join(", ");
    let fails = off.iter().any(|(s, _)| s.need == Need::Required) && !carries;
    let outcome = if off.is_empty() {
        Outcome::pass("Private DNS is enabled on every endpoint.")
    } else if fails {
        Outcome::fail(format!(
            "Private DNS is off on {line}: the agent resolves the public names, which this subnet cannot reach."
        ))
    } else {
        Outcome::warn(format!(
            "Private DNS is off on {line}: the agent ignores {} and uses {} instead.",
            if off.len() == 1 { "it" } else { "them" },
            path.internet.describe()
        ))
    };
    Ok(outcome
        .with("endpoints_without_private_dns", &ids)
        .var("endpoint_ids", ids.join(" ")))
}

pub fn ingress_443(ctx: &Context) -> CheckResult {
    let path = carrying_path(ctx)?;
    let all = need(&ctx.aws.network.security_groups)?;
    let instance_ip = ctx.instance_ip()?;
    let source = Destination {
        groups: &path.instance.security_group_ids,
        cidrs: vec![instance_ip],
    };
    let mut tally = Tally::default();
    let mut at_fault = vec![];
    for (s, e) in path.carrying_endpoints() {
        let groups: Vec<_> = all
            .iter()
            .filter(|g| e.security_group_ids.contains(&g.id))
            .collect();
        let what = format!(
            "{} ({}, groups {})",
            e.id,
            s.service,
            e.security_group_ids.join(", ")
        );
        match reaches(
            &grants(&groups, false, 443),
            &source,
            &ctx.aws.network.prefix_lists,
        ) {
            Reach::Yes(via) => tally.fine.push(format!("{what} via {}", via.join(", "))),
            Reach::Unknown(p) => tally.unknown.push(format!("{what}: {p}")),
            Reach::No(_) => {
                at_fault.push(e);
                match s.need {
                    Need::Required => tally.failing.push(what),
                    Need::Optional => tally
                        .doubtful
                        .push(format!("{what} (optional for this agent)")),
                }
            }
        }
    }
    let from = format!(
        "the instance ({instance_ip}, groups {})",
        path.instance.security_group_ids.join(", ")
    );
    let outcome = tally.outcome(|status, items| match status {
        Status::Pass => format!("Endpoints accept HTTPS from {from}: {items}."),
        _ => format!("No inbound TCP 443 from {from} on {items}."),
    });
    let ids: Vec<&str> = at_fault.iter().map(|e| e.id.as_str()).collect();
    let mut outcome = outcome.var("endpoint_ids", ids.join(" "));
    if let Some(group) = at_fault.first().and_then(|e| e.security_group_ids.first()) {
        outcome = outcome.var("endpoint_security_group_id", group.clone());
    }
    Ok(outcome)
}

pub fn policy(ctx: &Context) -> CheckResult {
    let path = carrying_path(ctx)?;
    let role = super::iam::role(ctx)?;
    let principal = Principal::Aws(role.arn.clone());
    let context = request_context(ctx, role);
    let instance_arn = ctx.instance_arn();
    let mut results = vec![];
    let mut evidence = vec![];
    for (s, e) in path.carrying_endpoints() {
        let Some(document) = &e.policy else {
            evidence.push(json!({"endpoint": e.id, "policy": "default (full access)"}));
            continue;
        };
        let doc = parse(document, &format!("the policy of {}", e.id))?;
        let label = format!("the policy of endpoint {}", e.id);
        let verdicts: Vec<ActionVerdict> = actions_for(s.service)
            .iter()
            .map(|&action| {
                let resource = resource_for(action, &instance_arn);
                let evaluation = evaluate_resource_policy(
                    &Labeled {
                        label: &label,
                        document: &doc,
                    },
                    &Request {
                        action,
                        resource: &resource,
                        principal: Some(&principal),
                        context: &context,
                    },
                );
                ActionVerdict {
                    action,
                    need: s.need,
                    evaluation,
                }
            })
            .collect();
        let allowed = verdicts
            .iter()
            .all(|v| v.evaluation.decision == Decision::Allowed);
        evidence.push(json!({"endpoint": e.id, "all_allowed": allowed}));
        results.push((
            e.id.as_str(),
            judge(&format!("Endpoint {} ({})", e.id, s.service), &verdicts),
        ));
    }
    let worst = results
        .iter()
        .map(|(_, o)| o.status)
        .min()
        .unwrap_or(Status::Pass);
    let at_fault: Vec<&str> = results
        .iter()
        .filter(|(_, o)| o.status != Status::Pass)
        .map(|(id, _)| *id)
        .collect();
    let outcome = if worst == Status::Pass {
        Outcome::pass(format!(
            "The policies of the endpoints in use allow the core actions for {}.",
            role.name
        ))
    } else {
        let lines: Vec<&str> = results
            .iter()
            .filter(|(_, o)| o.status != Status::Pass)
            .map(|(_, o)| o.message.as_str())
            .collect();
        Outcome::new(worst, lines.join(" "))
    };
    Ok(outcome
        .with("endpoints", evidence)
        .var("endpoint_ids", at_fault.join(" ")))
}
