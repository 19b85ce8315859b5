//! iam.*: the identity the agent uses, its trust, and its effective permissions.

use super::Context;
use super::outcome::{CheckResult, Outcome, need};
use super::permissions::{ActionVerdict, IdentityPolicies, judge, parse, request_context};
use crate::analysis::core_actions::{actions_for, resource_for};
use crate::analysis::path::service_needs;
use crate::facts::{Policy, Role};
use crate::policy::{
    Decision, Labeled, Principal, Request, evaluate_identity, evaluate_resource_policy,
};
use std::collections::BTreeMap;

pub fn profile(ctx: &Context) -> CheckResult {
    let i = ctx
        .instance()
        .ok_or_else(|| Outcome::skip("The instance was not found."))?;
    let Some(arn) = &i.instance_profile_arn else {
        return Ok(no_profile(ctx));
    };
    let profile = need(&ctx.aws.iam.instance_profile)?;
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
        Some(role) => Outcome::warn(format!(
            "{id} has no instance profile; Default Host Management Configuration is on (role \
             {role}), which works only with IMDSv2 and agent 3.2.582.0 or later. An instance \
             profile is the more predictable choice."
        ))
        .with("dhmc_role", role),
        None => Outcome::fail(format!(
            "{id} has no instance profile and Default Host Management Configuration is off: the \
             agent has no identity to register with."
        )),
    }
}

/// The role the checks below judge, or `skip` when the instance relies on DHMC instead, or `error`
/// when it could not be read.
pub(super) fn role<'a>(ctx: &Context<'a>) -> Result<&'a Role, Outcome> {
    if ctx
        .instance()
        .is_some_and(|i| i.instance_profile_arn.is_none())
    {
        return Err(Outcome::skip(
            "No instance profile: the Default Host Management Configuration role is not evaluated.",
        ));
    }
    need(&ctx.aws.iam.role)
}

pub fn trust(ctx: &Context) -> CheckResult {
    let role = role(ctx)?;
    let doc = parse(&role.trust_policy, "the trust policy")?;
    let label = format!("the trust policy of {}", role.name);
    let principal = Principal::Service("ec2.amazonaws.com".to_string());
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
        Decision::Allowed => Outcome::pass(format!("Role {} trusts ec2.amazonaws.com.", role.name)),
        Decision::Uncertain => Outcome::warn(format!(
            "Role {} trusts ec2.amazonaws.com only under conditions: {}.",
            role.name, eval
        )),
        _ => Outcome::fail(format!(
            "Role {} cannot be assumed by EC2 (sts:AssumeRole for ec2.amazonaws.com: {}).",
            role.name, eval
        )),
    };
    Ok(outcome
        .with("role_arn", &role.arn)
        .with("trust_policy", &role.trust_policy))
}

pub fn core_permissions(ctx: &Context) -> CheckResult {
    let role = role(ctx)?;
    let iam = &ctx.aws.iam;
    let mut sources: Vec<&Policy> = need(&iam.attached_policies)?.iter().collect();
    sources.extend(need(&iam.inline_policies)?);
    let boundary = match &role.permissions_boundary_arn {
        Some(_) => Some(need(&iam.permissions_boundary)?),
        None => None,
    };
    let parsed = IdentityPolicies::read(&sources, boundary)?;
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
    let policies: Vec<String> = sources.iter().map(|p| p.label()).collect();
    Ok(judge(&format!("Role {}", role.name), &verdicts)
        .with("role_arn", &role.arn)
        .with("policies", policies)
        .with("permissions_boundary", &role.permissions_boundary_arn))
}
