//! Endpoints probed from a machine (`Reach`): how each step went, in words, for operator.network
//! here and for the `local.*` checks on the instance.

use super::outcome::{CheckResult, Outcome, need};
use super::{Context, operator::operator};
use crate::facts::{Reach, Step};

/// The first step that failed on the way to `reach`, in words; `None` when it got through.
pub(super) fn broken_step(reach: &Reach) -> Option<String> {
    let host = &reach.host;
    let port = reach.port;
    // Through a proxy, the proxy resolves the name: a local failure to resolve does not matter.
    if reach.proxy.is_none() && !reach.lookup.resolved() {
        let why = reach.lookup.error.as_deref().unwrap_or("no address");
        return Some(format!("{host} does not resolve: {why}"));
    }
    if let Step::Failed { error, .. } = &reach.tcp {
        return Some(format!("no TCP connection to {host}:{port}: {error}"));
    }
    if let Step::Failed { error, .. } = &reach.tls {
        return Some(format!("no TLS with {host}: {error}"));
    }
    None
}

/// How `reach` went, step by step with times: "ssm.eu-west-1.amazonaws.com → 10.0.1.5 (asked
/// 10.0.0.2:53, 3 ms); TCP 443 in 2 ms; TLS1.3 in 14 ms".
pub(super) fn steps(reach: &Reach) -> String {
    let lookup = &reach.lookup;
    let host = match &reach.configured_by {
        Some(variable) => format!("{} (from {variable})", reach.host),
        None => reach.host.clone(),
    };
    let by = lookup
        .server
        .as_deref()
        .map_or(String::new(), |s| format!("by {s}, "));
    let resolved = if lookup.resolved() {
        format!(
            "{host} → {} ({by}{} ms)",
            lookup.addresses.join(", "),
            lookup.ms
        )
    } else {
        let why = lookup.error.as_deref().unwrap_or("no address");
        format!("{host} → unresolved ({by}{why})")
    };
    let via = reach
        .proxy
        .as_deref()
        .map_or(String::new(), |p| format!(" through {p}"));
    let tcp = match &reach.tcp {
        Step::Done { ms, .. } => format!("TCP {}{via} in {ms} ms", reach.port),
        Step::Failed { ms, .. } => format!("TCP {}{via} failed after {ms} ms", reach.port),
        Step::Skipped { .. } => format!("TCP {} not tried", reach.port),
    };
    let tls = match &reach.tls {
        Step::Done { ms, detail } => {
            let version = detail.split_whitespace().next().unwrap_or("TLS");
            format!("; {version} in {ms} ms")
        }
        Step::Failed { ms, .. } => format!("; TLS failed after {ms} ms"),
        Step::Skipped { .. } => String::new(),
    };
    format!("{resolved}; {tcp}{tls}")
}

/// operator.network: this machine reaches the endpoints a session talks to, name, TCP and TLS.
pub fn network(ctx: &Context) -> CheckResult {
    let net = need(&operator(ctx)?.network)?;
    let broken: Vec<String> = net.endpoints.iter().filter_map(broken_step).collect();
    let mut notes = Vec::new();
    if let Some(bundle) = &net.ca_bundle {
        notes.push(format!(
            "AWS_CA_BUNDLE={bundle} is set: the AWS CLI trusts it, session-manager-plugin does \
             not (it checks the system's trust store, as this probe did)"
        ));
    }
    if net.dualstack {
        notes.push(
            "AWS_USE_DUALSTACK_ENDPOINT is on: the CLI calls the dual-stack ssm endpoint \
             (IPv6 where this machine has it)"
                .to_string(),
        );
    }
    let noted = notes
        .iter()
        .map(|n| format!(" Note: {n}."))
        .collect::<String>();
    let outcome = if broken.is_empty() {
        let all: Vec<String> = net.endpoints.iter().map(steps).collect();
        Outcome::pass(format!("From this machine: {}.{noted}", all.join("; and ")))
    } else {
        let unproxied = net.endpoints.iter().any(|r| r.proxy.is_none());
        let proxy_hint = if unproxied && net.proxy.variables.is_empty() {
            " No HTTPS proxy is configured (HTTPS_PROXY): if this network reaches AWS only \
             through one, set it."
        } else {
            ""
        };
        Outcome::fail(format!(
            "From this machine, {}. Sessions cannot open from here (the plugin reports \
             \"Handshake timed out\", \"x509: certificate signed by unknown authority\" or a \
             websocket error).{proxy_hint}{noted}",
            broken.join("; ")
        ))
    };
    Ok(outcome
        .with("endpoints", &net.endpoints)
        .with("proxy", &net.proxy)
        .with("ca_bundle", &net.ca_bundle)
        .with("dualstack", net.dualstack))
}
