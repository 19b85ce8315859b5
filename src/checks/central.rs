//! network.dns-central: what answers each Systems Manager name inside a VPC without endpoints of
//! its own for it (private hosted zones, Resolver rules, DHCP options), and whether the instance's
//! route table leads to the answer.

use super::Context;
use super::outcome::{CheckResult, Outcome, need};
use super::tally::Tally;
use crate::analysis::central::{
    Answer, alias_endpoint, answer, leads_elsewhere, route_for, service_name,
};
use crate::analysis::cidr::Cidr;
use crate::analysis::path::{Internet, Need, Path, ServiceRoute};
use crate::facts::{DnsRecord, Fetch, HostedZone, VpcDns};
use crate::report::Status;
use serde_json::json;

/// How one name fares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Fine,
    Doubt,
    Fail,
}

/// One service's name, judged: the verdict, the sentence, and whether a private answer reached
/// through another network carries it (what `network.route` counts as a path).
struct Judged {
    verdict: Verdict,
    said: String,
    central: Carrier,
    /// The answer's address, when the record says it.
    address: Option<Cidr>,
}

/// Whether an answer in another network carries the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Carrier {
    No,
    Yes,
    /// The answer is out of sight (other DNS servers), and the route table leads to other
    /// networks, where it may be.
    Maybe,
}

impl Judged {
    fn new(verdict: Verdict, said: String) -> Judged {
        Judged {
            verdict,
            said,
            central: Carrier::No,
            address: None,
        }
    }

    fn central(said: String) -> Judged {
        Judged {
            verdict: Verdict::Fine,
            said,
            central: Carrier::Yes,
            address: None,
        }
    }
}

/// Central endpoints as the path: the services they carry, where the instance's traffic to them
/// goes (their addresses when known, else the ranges routed to other networks), and whether
/// every answer was seen (`certain`) or some are out of sight.
pub struct CentralPath {
    pub services: Vec<&'static str>,
    pub destinations: Vec<Cidr>,
    pub certain: bool,
}

/// The routes of the instance's table to other networks, as `dest → target`.
fn elsewhere(path: &Path) -> Vec<String> {
    path.route_table
        .routes
        .iter()
        .filter(|r| r.state != "blackhole" && leads_elsewhere(r))
        .map(|r| {
            let to = r
                .destination
                .as_deref()
                .or(r.destination_ipv6.as_deref())
                .or(r.destination_prefix_list.as_deref())
                .unwrap_or("?");
            format!("{to} → {}", r.target)
        })
        .collect()
}

fn zone_label(zone: &HostedZone) -> String {
    match &zone.owner {
        Some(owner) => format!(
            "private hosted zone {} ({}, account {owner})",
            zone.name, zone.id
        ),
        None => format!("private hosted zone {} ({})", zone.name, zone.id),
    }
}

/// Where a private answer leads from the instance's route table.
fn reached(path: &Path, name: &str, what: String, address: Option<Cidr>) -> Judged {
    let table = &path.route_table.id;
    match address {
        Some(ip) => match route_for(path.route_table, ip) {
            Some(r) if leads_elsewhere(r) => Judged {
                address: Some(ip),
                ..Judged::central(format!(
                    "{name} → {what}, routed by {table} to {}, where visibility ends",
                    r.target
                ))
            },
            Some(r) if r.target == "local" => {
                Judged::new(Verdict::Fine, format!("{name} → {what}, inside the VPC"))
            }
            Some(r) => Judged::new(
                Verdict::Fine,
                format!("{name} → {what}, routed by {table} to {}", r.target),
            ),
            None => Judged::new(
                Verdict::Fail,
                format!("{name} → {what}, but {table} has no route to {ip}"),
            ),
        },
        None => match elsewhere(path).as_slice() {
            [] => Judged::new(
                Verdict::Fail,
                format!("{name} → {what}, but {table} routes to no other network"),
            ),
            routes => Judged::central(format!(
                "{name} → {what}; {table} sends {}, where visibility ends",
                routes.join(", ")
            )),
        },
    }
}

fn record(path: &Path, name: &str, service: &str, zone: &HostedZone, r: &DnsRecord) -> Judged {
    let in_zone = format!("in {}", zone_label(zone));
    if let Some(alias) = &r.alias {
        return match alias_endpoint(alias) {
            Some((_, theirs)) if theirs != service => Judged::new(
                Verdict::Fail,
                format!(
                    "{name} is an alias {in_zone} to {alias}, an endpoint for {theirs}, not \
                     {service}"
                ),
            ),
            Some((id, _)) => reached(path, name, format!("endpoint {id} (alias {in_zone})"), None),
            None => reached(path, name, format!("{alias} (alias {in_zone})"), None),
        };
    }
    let addresses: Vec<Cidr> = r.values.iter().filter_map(|v| Cidr::parse(v)).collect();
    match addresses.first() {
        Some(first) => reached(
            path,
            name,
            format!("{} ({} record {in_zone})", r.values.join(", "), r.kind),
            Some(*first),
        ),
        None => reached(
            path,
            name,
            format!("{} ({} record {in_zone})", r.values.join(", "), r.kind),
            None,
        ),
    }
}

fn judge(path: &Path, dns: &VpcDns, region: &str, s: &ServiceRoute) -> Result<Judged, String> {
    let name = service_name(s.service, region);
    let found = answer(dns, &name)
        .map_err(|cause| format!("{name}: {}", cause.problem().unwrap_or_default()))?;
    Ok(match found {
        Answer::Record { zone, record: r } => record(path, &name, s.service, zone, r),
        // Refused or failed in this account: unknown, never read as an answer.
        Answer::Unreadable { why, zone }
            if !matches!(zone.records, Fetch::NotApplicable { .. }) =>
        {
            return Err(format!("{name}: {why}"));
        }
        Answer::Unreadable { zone, .. } if zone.name == name => Judged::central(format!(
            "{name} is answered by {}, whose records only its own account can read: visibility \
             ends there",
            zone_label(zone)
        )),
        Answer::Unreadable { zone, .. } => Judged::new(
            Verdict::Doubt,
            format!(
                "{name} falls in {}, whose records only its own account can read: whether it \
                 holds {name} is unknown",
                zone_label(zone)
            ),
        ),
        Answer::Missing { zone } => Judged::new(
            Verdict::Fail,
            format!(
                "{name} does not resolve in {}: {} holds the name but has no record for it",
                path.vpc_id,
                zone_label(zone)
            ),
        ),
        Answer::Forwarded { rule } => Judged::central(format!(
            "{name} is forwarded by Resolver rule {} ({}) to {}, where visibility ends",
            rule.id,
            if rule.domain.is_empty() {
                "."
            } else {
                &rule.domain
            },
            rule.targets.join(", ")
        )),
        Answer::CustomServers { servers } => Judged {
            central: match elsewhere(path).is_empty() {
                true => Carrier::No,
                false => Carrier::Maybe,
            },
            ..Judged::new(
                Verdict::Doubt,
                format!(
                    "{name} is asked of {}, the DNS servers in {}'s DHCP options, which \
                     ssm-doctor cannot see into",
                    servers.join(", "),
                    path.vpc_id
                ),
            )
        },
        Answer::Public if matches!(path.internet, Internet::Opaque { .. }) => Judged::new(
            Verdict::Fine,
            format!(
                "{name} has no private answer: the public endpoint, through {} (see \
                 network.route)",
                path.internet.describe()
            ),
        ),
        Answer::Public if path.internet.carries_traffic() => Judged::new(
            Verdict::Fine,
            format!(
                "{name} has no private answer: the public endpoint, through {}",
                path.internet.describe()
            ),
        ),
        Answer::Public => Judged::new(
            Verdict::Fail,
            format!(
                "{name} has no private answer in {} (no endpoint of its own, no private hosted \
                 zone, no Resolver rule; Route 53 Profiles are not read) and there is no internet \
                 path",
                path.vpc_id
            ),
        ),
    })
}

/// The services the VPC's own endpoints do not carry, each judged (or why it could not be).
fn judged<'p>(
    ctx: &Context,
    path: &'p Path,
    dns: &VpcDns,
) -> Vec<(&'p ServiceRoute<'p>, Result<Judged, String>)> {
    let region = &ctx.facts.target.region;
    path.services
        .iter()
        .filter(|s| !s.carried_by_endpoint())
        .map(|s| (s, judge(path, dns, region, s)))
        .collect()
}

pub fn dns_central(ctx: &Context) -> CheckResult {
    let path = ctx.path()?;
    let dns = need(&ctx.aws.network.dns)?;
    let found = judged(ctx, path, dns);
    if found.is_empty() {
        return Err(Outcome::skip(
            "The VPC's own interface endpoints carry every service: no central endpoint is used.",
        ));
    }
    let mut tally = Tally::default();
    let mut missing = vec![];
    for (s, judged) in &found {
        match judged {
            Err(unknown) => tally.unknown.push(unknown.clone()),
            Ok(j) => {
                let pile = match (j.verdict, s.need) {
                    (Verdict::Fine, _) => &mut tally.fine,
                    (Verdict::Fail, Need::Required) => {
                        missing.push(s.service);
                        &mut tally.failing
                    }
                    (Verdict::Fail, Need::Optional) => &mut tally.doubtful,
                    (Verdict::Doubt, _) => &mut tally.doubtful,
                };
                pile.push(j.said.clone());
            }
        }
    }
    let outcome = tally.outcome(|status, items| match status {
        Status::Pass => format!("Every name has a reachable answer: {items}."),
        _ => format!("{items}."),
    });
    let answers: Vec<_> = found
        .iter()
        .map(|(s, j)| json!({"service": s.service, "need": s.need, "answer": j.as_ref().map(|j| &j.said).ok()}))
        .collect();
    Ok(outcome
        .with("vpc_id", path.vpc_id)
        .with("answers", answers)
        .var("missing_services", missing.join(" ")))
}

/// Private answers in other networks as the path, when every required service the VPC's own
/// endpoints do not carry has one; `Err` says which fact is missing to tell.
pub(super) fn central_path(ctx: &Context, path: &Path) -> Result<Option<CentralPath>, String> {
    let Some(dns) = ctx.aws.network.dns.value() else {
        return Ok(None);
    };
    let found = judged(ctx, path, dns);
    if let Some((_, Err(unknown))) = found
        .iter()
        .find(|(s, j)| s.need == Need::Required && j.is_err())
    {
        return Err(unknown.clone());
    }
    let required: Vec<_> = found
        .iter()
        .filter(|(s, _)| s.need == Need::Required)
        .filter_map(|(s, j)| Some((s, j.as_ref().ok().filter(|j| j.central != Carrier::No)?)))
        .collect();
    let all = !required.is_empty()
        && required.len()
            == found
                .iter()
                .filter(|(s, _)| s.need == Need::Required)
                .count();
    if !all {
        return Ok(None);
    }
    let routed: Vec<Cidr> = path
        .route_table
        .routes
        .iter()
        .filter(|r| r.state != "blackhole" && leads_elsewhere(r))
        .filter_map(|r| r.destination.as_deref().and_then(Cidr::parse))
        .collect();
    let mut destinations = Vec::new();
    for (_, j) in &required {
        match j.address {
            Some(ip) => destinations.push(ip),
            None => destinations.extend(routed.iter().copied()),
        }
    }
    destinations.sort();
    destinations.dedup();
    Ok(Some(CentralPath {
        services: required.iter().map(|(s, _)| s.service).collect(),
        destinations,
        certain: required.iter().all(|(_, j)| j.central == Carrier::Yes),
    }))
}
