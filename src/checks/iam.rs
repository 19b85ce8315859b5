//! iam.*: the identity the agent uses, its trust, and its effective permissions.

use super::Context;
use super::outcome::{CheckResult, Outcome, need, worst_of};
use super::permissions::{ActionVerdict, IdentityPolicies, judge, parse, request_context};
use crate::analysis::core_actions::{actions_for, resource_for};
use crate::analysis::path::service_needs;
use crate::analysis::version;
use crate::facts::{Fetch, Policy, Role};
use crate::policy::{
    Decision, Labeled, Principal, Request, evaluate_identity, evaluate_resource_policy,
};
use crate::report::Status;
use std::collections::BTreeMap;

pub fn profile(ctx: &Context) -> CheckResult {
    let i = ctx
        .instance()
        .ok_or_else(|| Outcome::skip("The instance was not found."))?;
    let Some(arn) = &i.instance_profile_arn else {
        return Ok(no_profile(ctx));
    };
    let Some(profile) = need(&ctx.aws.iam.instance_profile)? else {
        return Ok(Outcome::fail(format!(
            "Instance profile {arn} is attached but no longer exists (deleted after it was \
             associated): the agent gets no credentials."
        ))
        .with("instance_profile_arn", arn)
        .with("exists", false));
    };
    let outcome = match profile.role_names.first() {
        Some(role) => Outcome::pass(format!(
            "Instance profile {} is attached, with role {role}.",
            profile.name
        )),
        None => Outcome::fail(format!(
            "Instance profile {} is attached but holds no role: the agent gets no credentials.",
            profile.name
        )),
    };
    Ok(outcome
        .with("instance_profile_arn", arn)
        .with("roles", &profile.role_names))
}

fn no_profile(ctx: &Context) -> Outcome {
    let id = &ctx.facts.target.instance_id;
    let dhmc = match need(&ctx.aws.dhmc) {
        Ok(dhmc) => dhmc,
        // DHMC could stand in for the profile: without its setting, the verdict is unknown.
        Err(mut unknown) => {
            unknown.message = format!(
                "{id} has no instance profile, and whether Default Host Management Configuration \
                 stands in is unknown. {}",
                unknown.message
            );
            return unknown;
        }
    };
    match &dhmc.role {
        Some(role) => Outcome::pass(format!(
            "{id} has no instance profile; Default Host Management Configuration stands in (role \
             {role}): iam.dhmc judges it."
        ))
        .with("dhmc_role", role),
        None => Outcome::fail(format!(
            "{id} has no instance profile and Default Host Management Configuration is off: the \
             agent has no identity to register with."
        )),
    }
}

/// The role the checks below judge, or `skip` when the instance relies on DHMC instead (iam.dhmc
/// judges that role), or `error` when it could not be read.
pub(super) fn role<'a>(ctx: &Context<'a>) -> Result<&'a Role, Outcome> {
    if ctx
        .instance()
        .is_some_and(|i| i.instance_profile_arn.is_none())
    {
        return Err(Outcome::skip(
            "No instance profile: iam.dhmc judges the Default Host Management Configuration role.",
        ));
    }
    need(&ctx.aws.iam.role)
}

pub fn trust(ctx: &Context) -> CheckResult {
    let role = role(ctx)?;
    trusts(role, "ec2.amazonaws.com")
}

/// Whether `service` may assume the role: EC2 for a profile's, Systems Manager for DHMC's.
pub(super) fn trusts(role: &Role, service: &str) -> CheckResult {
    let doc = parse(&role.trust_policy, "the trust policy")?;
    let label = format!("the trust policy of {}", role.name);
    let principal = Principal::Service(service.to_string());
    let context = BTreeMap::new();
    let eval = evaluate_resource_policy(
        &Labeled {
            label: &label,
            document: &doc,
        },
        &Request {
            action: "sts:AssumeRole",
            resource: &role.arn,
            principal: Some(&principal),
            context: &context,
        },
    );
    let outcome = match eval.decision {
        Decision::Allowed => Outcome::pass(format!("Role {} trusts {service}.", role.name)),
        Decision::Uncertain => Outcome::warn(format!(
            "Role {} trusts {service} only under conditions: {}.",
            role.name, eval
        )),
        _ => Outcome::fail(format!(
            "Role {} cannot be assumed by {service} (sts:AssumeRole: {}).",
            role.name, eval
        )),
    };
    Ok(outcome
        .with("role_arn", &role.arn)
        .with("trust_policy", &role.trust_policy))
}

/// The identity policies and boundary of the role the agent uses, parsed, with their labels.
pub(super) fn agent_policies(ctx: &Context) -> Result<(IdentityPolicies, Vec<String>), Outcome> {
    let iam = &ctx.aws.iam;
    let role = need(&iam.role)?;
    let mut sources: Vec<&Policy> = need(&iam.attached_policies)?.iter().collect();
    sources.extend(need(&iam.inline_policies)?);
    let boundary = match &role.permissions_boundary_arn {
        Some(_) => Some(need(&iam.permissions_boundary)?),
        None => None,
    };
    let labels = sources.iter().map(|p| p.label()).collect();
    Ok((IdentityPolicies::read(&sources, boundary)?, labels))
}

pub fn core_permissions(ctx: &Context) -> CheckResult {
    let role = role(ctx)?;
    let outcome = permitted(ctx, role)?;
    // With a profile attached, DHMC's role is never used, however broken this one is.
    let outcome = match (
        &outcome.status,
        ctx.aws.dhmc.value().and_then(|d| d.role.as_ref()),
    ) {
        (Status::Fail, Some(dhmc)) => {
            let message = format!(
                "{} Default Host Management Configuration is on (role {dhmc}), but an attached \
                 profile takes precedence: fix this role, or detach the profile.",
                outcome.message
            );
            Outcome { message, ..outcome }
        }
        _ => outcome,
    };
    Ok(outcome)
}

/// Whether the role the agent uses allows every core action the agent calls.
fn permitted(ctx: &Context, role: &Role) -> CheckResult {
    let (parsed, policies) = agent_policies(ctx)?;
    let (labeled, boundary) = parsed.labeled();
    let context = request_context(ctx, role);
    let instance_arn = ctx.instance_arn();
    let agent = ctx.aws.agent.value().and_then(Option::as_ref);
    let mut verdicts = Vec::new();
    for (service, need) in service_needs(agent) {
        for &action in actions_for(service) {
            let resource = resource_for(action, &instance_arn);
            let evaluation = evaluate_identity(
                &labeled,
                boundary.as_ref(),
                &Request {
                    action,
                    resource: &resource,
                    principal: None,
                    context: &context,
                },
            );
            verdicts.push(ActionVerdict {
                action,
                need,
                evaluation,
            });
        }
    }
    Ok(judge(&format!("Role {}", role.name), &verdicts)
        .with("role_arn", &role.arn)
        .with("policies", policies)
        .with("permissions_boundary", &role.permissions_boundary_arn))
}

/// DHMC needs the instance to require IMDSv2 and an agent that knows DHMC.
const MINIMUM_DHMC_AGENT: &str = "3.2.582.0";

/// For an instance without a profile, whether Default Host Management Configuration gives its
/// agent a working identity: the role exists, trusts Systems Manager and allows the core
/// actions, the instance requires IMDSv2 and its agent is recent enough.
pub fn dhmc(ctx: &Context) -> CheckResult {
    let instance = ctx
        .instance()
        .ok_or_else(|| Outcome::skip("The instance was not found."))?;
    if let Some(profile) = &instance.instance_profile_arn {
        let dhmc = ctx.aws.dhmc.value().and_then(|d| d.role.as_deref());
        return Err(Outcome::skip(match dhmc {
            Some(role) => format!(
                "Instance profile {profile} is attached: it takes precedence over Default Host \
                 Management Configuration (role {role})."
            ),
            None => format!("Instance profile {profile} is attached: DHMC is not used."),
        }));
    }
    let setting = need(&ctx.aws.dhmc)?;
    let Some(name) = &setting.role else {
        return Err(Outcome::skip(
            "Default Host Management Configuration is off (iam.profile says what to do).",
        ));
    };
    let role = match &ctx.aws.iam.role {
        Fetch::NotApplicable { reason } => {
            return Ok(Outcome::fail(format!(
                "Default Host Management Configuration hands out role {name}, but {reason}: \
                 instances without a profile get no credentials."
            )));
        }
        other => need(other)?,
    };
    let mut findings: Vec<(Status, String)> = Vec::new();
    for judged in [trusts(role, "ssm.amazonaws.com")?, permitted(ctx, role)?] {
        findings.push((judged.status, judged.message));
    }
    if instance.metadata.http_tokens.as_deref() != Some("required") {
        findings.push((
            Status::Fail,
            format!(
                "{} allows IMDSv1 (HttpTokens {}): DHMC hands credentials only to instances \
                 that require IMDSv2.",
                instance.instance_id,
                instance
                    .metadata
                    .http_tokens
                    .as_deref()
                    .unwrap_or("not reported")
            ),
        ));
    }
    let agent = ctx.aws.agent.value().and_then(Option::as_ref);
    if let Some(v) = agent.and_then(|a| a.agent_version.as_deref())
        && version::at_least(v, MINIMUM_DHMC_AGENT) == Some(false)
    {
        findings.push((
            Status::Fail,
            format!(
                "Agent {v} is older than {MINIMUM_DHMC_AGENT}, the first that uses Default Host \
                 Management Configuration."
            ),
        ));
    }
    let lead = format!(
        "Default Host Management Configuration (role {}) does not give {} a working identity:",
        role.name, instance.instance_id
    );
    let outcome = worst_of(&findings, &lead, || {
        Outcome::pass(format!(
            "Default Host Management Configuration stands in for a profile: role {} trusts \
             ssm.amazonaws.com and allows the core actions, and {} requires IMDSv2.",
            role.name, instance.instance_id
        ))
    });
    Ok(outcome
        .with("role_arn", &role.arn)
        .with("http_tokens", &instance.metadata.http_tokens))
}
