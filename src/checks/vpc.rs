//! vpc.*: the VPC's DNS attributes, which private DNS for endpoints relies on.

use super::Context;
use super::central;
use super::outcome::{CheckResult, Outcome, need};
use crate::facts::Fetch;

pub fn dns_support(ctx: &Context) -> CheckResult {
    attribute(
        ctx,
        &ctx.aws.network.dns_support,
        "enableDnsSupport",
        "the Amazon DNS server does not answer, so no endpoint name resolves",
    )
}

pub fn dns_hostnames(ctx: &Context) -> CheckResult {
    attribute(
        ctx,
        &ctx.aws.network.dns_hostnames,
        "enableDnsHostnames",
        "endpoint private DNS names and private hosted zones are not served",
    )
}

fn attribute(ctx: &Context, value: &Fetch<bool>, name: &str, consequence: &str) -> CheckResult {
    let path = ctx.path()?;
    // Private hosted zones, Resolver rules and Route 53 Profiles need the VPC's resolver as much
    // as endpoints' private DNS does.
    let central = || {
        central::central_path(ctx, path)
            .ok()
            .flatten()
            .is_some_and(|c| c.certain)
    };
    if path.carrying_endpoints().next().is_none() && !central() && !central::profiled(ctx) {
        return Err(Outcome::skip(
            "No interface endpoint with private DNS, private hosted zone, Resolver rule or Route \
             53 Profile is in use.",
        ));
    }
    let on = *need(value)?;
    let outcome = if on {
        Outcome::pass(format!("{name} is on for {}.", path.vpc_id))
    } else {
        Outcome::fail(format!("{name} is off for {}: {consequence}.", path.vpc_id))
    };
    Ok(outcome.with("vpc_id", path.vpc_id).with(name, on))
}
