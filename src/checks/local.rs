//! The instance seen from inside (`ssm-doctor local`): its metadata service, how the agent's
//! endpoints resolve and connect, the proxy settings, the agent's service and its log.

use super::Context;
use super::agent::Explained;
use super::endpoints::{broken_step, steps};
use super::outcome::{CheckResult, Outcome, need};
use crate::analysis::cidr::Cidr;
use crate::analysis::proxy::{ProxyEnv, merged};
use crate::facts::{Fetch, InstanceFacts, ProxySettings, Reach, Step};
use crate::report::Status;

/// The address the agent's credentials come from: a proxy must not be asked for it.
const IMDS_ADDRESS: &str = "169.254.169.254";

fn instance<'a>(ctx: &Context<'a>) -> Result<&'a InstanceFacts, Outcome> {
    ctx.facts
        .instance
        .as_ref()
        .ok_or_else(|| Outcome::skip("The instance was not observed from inside."))
}

/// local.metadata: IMDS answers, with the instance's identity and its role's credentials.
pub fn metadata(ctx: &Context) -> CheckResult {
    let metadata = match &instance(ctx)?.metadata {
        Fetch::Failed { action, reason } => {
            return Ok(Outcome::fail(format!(
                "The instance metadata service does not answer ({action}: {reason}): the agent \
                 cannot learn its region or get credentials."
            ))
            .with("failed_call", action));
        }
        other => need(other)?,
    };
    let identity = format!(
        "{} in {}, {} ({})",
        metadata
            .instance_id
            .as_deref()
            .unwrap_or("an unknown instance"),
        metadata.region.as_deref().unwrap_or("an unknown region"),
        metadata.vpc_id.as_deref().unwrap_or("an unknown VPC"),
        metadata.vpc_cidrs.join(", ")
    );
    let version = if metadata.v2 { "IMDSv2" } else { "IMDSv1" };
    let outcome = match (&metadata.role, &metadata.credentials) {
        (None, Step::Failed { error, .. }) => Outcome::fail(format!(
            "{version} answers at {}: {identity}, but not which role it serves credentials \
             of: {error}.",
            metadata.endpoint
        )),
        (None, _) => Outcome::warn(format!(
            "{version} answers at {}: {identity}. No instance profile: the agent needs Default \
             Host Management Configuration (with IMDSv2) for credentials.",
            metadata.endpoint
        )),
        (Some(role), Step::Failed { error, .. }) => Outcome::fail(format!(
            "{version} answers at {}: {identity}, but the credentials of role {role} cannot be \
             fetched: {error}.",
            metadata.endpoint
        )),
        (Some(role), _) if !metadata.v2 => Outcome::warn(format!(
            "Only IMDSv1 answers at {} (no token: {}): {identity}, role {role}. Agents and \
             Default Host Management Configuration need IMDSv2 tokens; the hop limit or a proxy \
             may be in the way.",
            metadata.endpoint,
            metadata.token_error.as_deref().unwrap_or("refused")
        )),
        (Some(role), credentials) => {
            let expiry = match credentials {
                Step::Done { detail, .. } => format!(" ({detail})"),
                _ => String::new(),
            };
            Outcome::pass(format!(
                "{version} answers at {}: {identity}; role {role} serves credentials{expiry}.",
                metadata.endpoint
            ))
        }
    };
    // A read IMDS did not answer leaves the agent without what it asked for.
    let outcome = match metadata.errors.as_slice() {
        [] => outcome,
        errors => {
            let partly = format!(" IMDS did not answer every read: {}.", errors.join("; "));
            Outcome {
                status: match outcome.status {
                    Status::Pass => Status::Warn,
                    other => other,
                },
                message: outcome.message + &partly,
                ..outcome
            }
        }
    };
    Ok(outcome.with("metadata", metadata))
}

/// The endpoints probed on the instance, or the outcome saying why there are none.
fn endpoints<'a>(ctx: &Context<'a>) -> Result<&'a [Reach], Outcome> {
    need(&instance(ctx)?.endpoints).map(Vec::as_slice)
}

/// Where an address sits for a subnet that may have no internet path.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Place {
    /// Inside the VPC's CIDRs: an interface endpoint of its own.
    Vpc,
    /// A private range outside the VPC: an endpoint reached over peering or a transit gateway.
    Elsewhere,
    Public,
}

impl Place {
    fn of(address: &str, vpc: &[Cidr]) -> Place {
        let Some(ip) =
            Cidr::parse(address).filter(|_| address.parse::<std::net::Ipv4Addr>().is_ok())
        else {
            return Place::Public;
        };
        if vpc.iter().any(|block| block.covers(ip)) {
            return Place::Vpc;
        }
        const PRIVATE: [&str; 4] = [
            "10.0.0.0/8",
            "172.16.0.0/12",
            "192.168.0.0/16",
            "100.64.0.0/10",
        ];
        let private = PRIVATE
            .iter()
            .filter_map(|b| Cidr::parse(b))
            .any(|block| block.covers(ip));
        if private {
            Place::Elsewhere
        } else {
            Place::Public
        }
    }

    fn words(self) -> &'static str {
        match self {
            Place::Vpc => "inside the VPC: an interface endpoint",
            Place::Elsewhere => {
                "private, outside the VPC: a central endpoint over peering or a transit gateway"
            }
            Place::Public => "public: reached through an internet gateway, NAT or proxy",
        }
    }
}

/// The first IPv4 address of an answer (dual-stack endpoints answer both), else its first.
fn first_ipv4(addresses: &[String]) -> &str {
    addresses
        .iter()
        .find(|a| a.parse::<std::net::Ipv4Addr>().is_ok())
        .or(addresses.first())
        .map_or("", String::as_str)
}

/// local.dns: each endpoint's name resolves; where the answers point.
pub fn dns(ctx: &Context) -> CheckResult {
    let reaches = endpoints(ctx)?;
    let facts = instance(ctx)?;
    let vpc: Vec<Cidr> = facts
        .metadata
        .value()
        .map(|m| m.vpc_cidrs.iter().filter_map(|c| Cidr::parse(c)).collect())
        .unwrap_or_default();
    // Names that fail for one reason are said together: "a, b and c: no server answered".
    let mut unresolved: Vec<(String, Vec<&str>)> = Vec::new();
    // Through a proxy, the proxy resolves the name: not resolving it here is no fault.
    let local_failures = reaches
        .iter()
        .filter(|r| !r.lookup.resolved() && r.proxy.is_none());
    for r in local_failures.clone() {
        let by = r
            .lookup
            .server
            .as_deref()
            .map_or(String::new(), |s| format!(" (answered by {s})"));
        let why = format!("{}{by}", r.lookup.error.as_deref().unwrap_or("no address"));
        match unresolved.iter_mut().find(|(w, _)| *w == why) {
            Some((_, hosts)) => hosts.push(&r.host),
            None => unresolved.push((why, vec![&r.host])),
        }
    }
    let unresolved: Vec<String> = unresolved
        .into_iter()
        .map(|(why, hosts)| format!("{}: {why}", hosts.join(", ")))
        .collect();
    let placed: Vec<(&Reach, Place)> = reaches
        .iter()
        .filter(|r| r.lookup.resolved())
        .map(|r| (r, Place::of(first_ipv4(&r.lookup.addresses), &vpc)))
        .collect();
    let mut answers: Vec<String> = placed
        .iter()
        .map(|(r, place)| {
            let by = r.lookup.server.as_deref().unwrap_or("?");
            format!(
                "{} → {} ({}; answered by {by})",
                r.service,
                r.lookup.addresses.join(", "),
                place.words()
            )
        })
        .collect();
    answers.extend(
        reaches
            .iter()
            .filter(|r| !r.lookup.resolved() && r.proxy.is_some())
            .map(|r| format!("{} → left to the agent's proxy", r.service)),
    );
    // S3 answers with public names even through its gateway endpoint: it makes no mix.
    let mixed = |vpc: bool| -> Vec<&str> {
        placed
            .iter()
            .filter(|(r, p)| r.service != "s3" && (*p == Place::Vpc) == vpc)
            .map(|(r, _)| r.service.as_str())
            .collect()
    };
    let (in_vpc, outside) = (mixed(true), mixed(false));
    let required_failed = local_failures.clone().any(|r| r.required);
    let outcome = if !unresolved.is_empty() {
        let status = if required_failed {
            Status::Fail
        } else {
            Status::Warn
        };
        let optional = if required_failed {
            ""
        } else {
            " (ec2messages is needed only by agents older than 3.3.40.0)"
        };
        Outcome::new(
            status,
            format!(
                "On the instance, names the agent needs do not resolve: {}{optional}.{}",
                unresolved.join("; "),
                if answers.is_empty() {
                    String::new()
                } else {
                    format!(" The others: {}.", answers.join("; "))
                }
            ),
        )
    } else if !in_vpc.is_empty() && !outside.is_empty() {
        Outcome::warn(format!(
            "The names resolve, but {} to the VPC's endpoints and {} outside the VPC: in a subnet \
             without an internet path (or a proxy), {} cannot be reached. {}.",
            in_vpc.join(", "),
            outside.join(", "),
            outside.join(", "),
            answers.join("; ")
        ))
        .var("missing_services", outside.join(", "))
    } else {
        Outcome::pass(format!("On the instance: {}.", answers.join("; ")))
    };
    let cidrs: Vec<String> = vpc.iter().map(ToString::to_string).collect();
    Ok(outcome
        .with(
            "lookups",
            reaches
                .iter()
                .map(|r| (&r.host, &r.lookup))
                .collect::<Vec<_>>(),
        )
        .with("vpc_cidrs", cidrs))
}

/// The agent's proxy, as the probes used it, for the words of a failed connection.
fn proxy_hint(reaches: &[Reach]) -> &'static str {
    if reaches.iter().all(|r| r.proxy.is_none()) {
        " The agent has no proxy configured: if this network reaches AWS only through one, set \
         it for the agent (local.proxy)."
    } else {
        ""
    }
}

/// One step of every endpoint judged: passes when none failed (`passed` introduces the list of
/// those done), fails naming each that did (with `hint` after them).
fn judge_step(
    reaches: &[Reach],
    step: fn(&Reach) -> &Step,
    passed: &str,
    hint: &str,
    evidence: &str,
) -> Outcome {
    let broken: Vec<&Reach> = reaches
        .iter()
        .filter(|r| matches!(step(r), Step::Failed { .. }))
        .collect();
    let failed: Vec<String> = broken.iter().filter_map(|r| broken_step(r)).collect();
    let outcome = if failed.is_empty() {
        let done: Vec<String> = reaches
            .iter()
            .filter(|r| step(r).done())
            .map(steps)
            .collect();
        Outcome::pass(format!("{passed}: {}.", done.join("; ")))
    } else if broken.iter().all(|r| !r.required) {
        Outcome::warn(format!(
            "From the instance, {}.{hint} Only agents older than 3.3.40.0 need ec2messages.",
            failed.join("; ")
        ))
    } else {
        Outcome::fail(format!("From the instance, {}.{hint}", failed.join("; ")))
    };
    let each: Vec<(&String, &Step)> = reaches.iter().map(|r| (&r.host, step(r))).collect();
    outcome.with(evidence, each)
}

/// local.tcp-443: a TCP connection opens to each endpoint (through the agent's proxy, if any).
pub fn tcp(ctx: &Context) -> CheckResult {
    let reaches = endpoints(ctx)?;
    let hint = proxy_hint(reaches);
    Ok(judge_step(
        reaches,
        |r| &r.tcp,
        "Connections open",
        hint,
        "connections",
    ))
}

/// local.tls: the TLS handshake with each endpoint's name completes against the trust store.
pub fn tls(ctx: &Context) -> CheckResult {
    let reaches = endpoints(ctx)?;
    Ok(judge_step(
        reaches,
        |r| &r.tls,
        "TLS handshakes complete",
        "",
        "handshakes",
    ))
}

/// local.proxy: the proxy settings in force. IMDS is an `http://` address: a `HTTP_PROXY` that
/// `NO_PROXY` does not spare would be asked for the agent's credentials.
pub fn proxy(ctx: &Context) -> CheckResult {
    let proxies = &instance(ctx)?.proxies;
    let shown: Vec<String> = proxies
        .iter()
        .map(|p| {
            let listed: Vec<String> = p
                .variables
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            format!("{}: {}", p.source, listed.join(" "))
        })
        .collect();
    let (shell, service): (Vec<&ProxySettings>, Vec<&ProxySettings>) = proxies
        .iter()
        .partition(|p| p.source == crate::probe::instance::ENVIRONMENT);
    // systemd applies the unit, then its drop-ins: one environment for the agent.
    let agent = merged(service.iter().map(|p| p.variables.as_slice()));
    let shell = merged(shell.iter().map(|p| p.variables.as_slice()));
    let asks_proxy = |env: &ProxyEnv| env.http_proxy_for(IMDS_ADDRESS).map(str::to_string);
    let outcome = match (asks_proxy(&agent), asks_proxy(&shell)) {
        _ if proxies.is_empty() => Outcome::pass(
            "No proxy is configured, for the agent's service or in this shell: the agent \
             connects directly.",
        ),
        (Some(url), _) => Outcome::fail(format!(
            "The agent's service sends http:// requests through {url} without {IMDS_ADDRESS} in \
             no_proxy: it would ask the proxy for its credentials (IMDS) and get none. \
             Settings: {}.",
            shown.join("; ")
        )),
        (None, Some(url)) => Outcome::warn(format!(
            "This shell sends http:// requests through {url} without {IMDS_ADDRESS} in \
             no_proxy (the agent's service does not, but programs started from here would). \
             Settings: {}.",
            shown.join("; ")
        )),
        (None, None) => Outcome::pass(format!(
            "Proxy settings: {}; IMDS is reached directly.",
            shown.join("; ")
        )),
    };
    Ok(outcome.with("proxies", proxies))
}

/// local.agent-service: amazon-ssm-agent is installed and running.
pub fn agent_service(ctx: &Context) -> CheckResult {
    let service = need(&instance(ctx)?.service)?;
    let outcome = if !service.installed {
        Outcome::fail(format!(
            "The amazon-ssm-agent service is not installed ({}: {}).",
            service.manager, service.state
        ))
    } else if !service.running {
        Outcome::fail(format!(
            "The amazon-ssm-agent service is installed but not running ({}: {}): nothing on the \
             instance talks to Systems Manager.",
            service.manager, service.state
        ))
    } else {
        Outcome::pass(format!(
            "The amazon-ssm-agent service runs ({}: {}).",
            service.manager, service.state
        ))
    };
    Ok(outcome.with("service", service))
}

/// local.agent-log: the agent's latest errors, explained by the known signatures.
pub fn agent_log(ctx: &Context) -> CheckResult {
    let log = need(&instance(ctx)?.log)?;
    let since = log.since.as_deref().map_or(String::new(), |t| {
        format!(" since the agent started at {t}")
    });
    let files = format!("{}{since}", log.files.join(", "));
    let explained = Explained::from(&log.lines);
    let outcome =
        if let Some(outcome) = explained.outcome(&format!("The agent's log ({files}) says")) {
            outcome
        } else if log.lines.is_empty() {
            Outcome::pass(format!("The agent's log ({files}) shows no recent error."))
        } else {
            let last = log.lines.last().map(String::as_str).unwrap_or_default();
            Outcome::warn(format!(
                "The agent's log ({files}) shows {} error line(s) of no known kind; the latest: \
             \"{}\".",
                log.lines.len(),
                crate::text::one_line(last, 200)
            ))
        };
    Ok(explained.evidence(outcome.with("lines", &log.lines)))
}
