//! instance.*: the instance exists, runs, and serves metadata to the agent.

use super::Context;
use super::outcome::{CheckResult, Outcome, need};

pub fn found(ctx: &Context) -> CheckResult {
    let f = ctx.facts;
    let account = f.account().unwrap_or("(unknown account)");
    let region = &f.target.region;
    let outcome = match need(&ctx.aws.instance)? {
        Some(i) => {
            let name = i
                .name
                .as_deref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default();
            Outcome::pass(format!(
                "Found {}{name} in account {account}, region {region}.",
                i.instance_id
            ))
        }
        None => Outcome::fail(format!(
            "{} does not exist in account {account}, region {region} (searched with ec2:DescribeInstances). \
             Check --region, --profile and the instance id.",
            f.target.instance_id
        )),
    };
    Ok(outcome.with("region", region).with("account", f.account()))
}

fn instance<'a>(ctx: &Context<'a>) -> Result<&'a crate::facts::Instance, Outcome> {
    ctx.instance()
        .ok_or_else(|| Outcome::skip("The instance was not found."))
}

pub fn running(ctx: &Context) -> CheckResult {
    let i = instance(ctx)?;
    let outcome = if i.state == "running" {
        Outcome::pass(format!("{} is running.", i.instance_id))
    } else {
        Outcome::fail(format!(
            "{} is {}: the agent only runs while the instance is running.",
            i.instance_id, i.state
        ))
    };
    Ok(outcome.with("state", &i.state))
}

pub fn metadata(ctx: &Context) -> CheckResult {
    let i = instance(ctx)?;
    let m = &i.metadata;
    let outcome = if m.http_endpoint.as_deref() == Some("disabled") {
        Outcome::fail(format!(
            "{} has the instance metadata service disabled (HttpEndpoint=disabled): the agent \
             cannot get the role's credentials.",
            i.instance_id
        ))
    } else {
        let tokens = match m.http_tokens.as_deref() {
            Some("required") => "IMDSv2 only",
            Some("optional") => "IMDSv1 and IMDSv2",
            _ => "token mode not reported",
        };
        Outcome::pass(format!("Instance metadata is enabled ({tokens})."))
    };
    Ok(outcome
        .with("http_endpoint", &m.http_endpoint)
        .with("http_tokens", &m.http_tokens)
        .with("http_put_response_hop_limit", m.http_put_response_hop_limit))
}
