//! network.dns-central: what answers each Systems Manager name inside a VPC without endpoints of
//! its own for it (private hosted zones, Resolver rules, a Route 53 Profile, DHCP options), and
//! whether the instance's route table leads to the answer.

use super::Context;
use super::outcome::{CheckResult, Outcome, need};
use super::tally::Tally;
use crate::analysis::central::{
    Answer, alias_endpoint, answer, dns_name, leads_elsewhere, route_for, service_name,
};
use crate::analysis::cidr::Cidr;
use crate::analysis::path::{Internet, Need, Path, ServiceRoute};
use crate::facts::{DnsRecord, Fetch, HostedZone, Route, Unseen, VpcDns};
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
/// goes (`addresses` the records give; `ranges` routed to other networks, somewhere in which an
/// answer whose address is not seen lies), and whether every answer was seen (`certain`).
pub struct CentralPath {
    pub services: Vec<&'static str>,
    pub addresses: Vec<Cidr>,
    pub ranges: Vec<Cidr>,
    pub certain: bool,
}

/// The routes of the instance's table to other networks.
fn elsewhere<'a>(path: &Path<'a>) -> Vec<&'a Route> {
    path.route_table
        .routes
        .iter()
        .filter(|r| r.state != "blackhole" && leads_elsewhere(r))
        .collect()
}

/// What lies past a route to another network, as far as the APIs show.
enum Onward {
    /// Where visibility ends: past the VPC's own side of a transit gateway, a peering, a VPN.
    Ends(String),
    /// Broken on the VPC's side: traffic goes no further.
    Broken(String),
}

/// Follows `route` as far as the VPC's own side of it: a transit gateway needs an available
/// attachment of the VPC, associated with one of its route tables (whose routes only
/// `ec2:SearchTransitGatewayRoutes` lists, not a read ssm-doctor makes). `Err` names the fact
/// missing to tell.
fn onward(dns: &VpcDns, (vpc, own): (&str, Option<&str>), route: &Route) -> Result<Onward, String> {
    let target = &route.target;
    if !target.starts_with("tgw-") {
        return Ok(Onward::Ends(format!("{target}, where visibility ends")));
    }
    let attachments = match &dns.attachments {
        Fetch::Collected { value } => value,
        missing => return Err(missing.problem().unwrap_or_default()),
    };
    // A deleted attachment stays listed for a while beside its replacement.
    let to_target = || attachments.iter().filter(|a| &a.transit_gateway == target);
    let Some(a) = to_target()
        .find(|a| a.state == "available")
        .or_else(|| to_target().next())
    else {
        return Ok(Onward::Broken(format!(
            "{vpc} has no attachment to {target}"
        )));
    };
    if a.state != "available" {
        return Ok(Onward::Broken(format!(
            "its attachment {} to {target} is {}",
            a.id, a.state
        )));
    }
    // Another account's (shared) gateway: its route tables and associations are its owner's.
    if let Some(owner) = a
        .transit_gateway_owner
        .as_deref()
        .filter(|o| Some(*o) != own)
    {
        return Ok(Onward::Ends(format!(
            "{target} of account {owner} (attachment {}), where visibility ends",
            a.id
        )));
    }
    let Some(table) = &a.route_table else {
        return Ok(Onward::Broken(format!(
            "its attachment {} is associated with no route table of {target}",
            a.id
        )));
    };
    let owner = match &a.transit_gateway_owner {
        Some(owner) => format!(" of account {owner}"),
        None => String::new(),
    };
    Ok(Onward::Ends(format!(
        "{target}{owner} (attachment {}, route table {table}), where visibility ends",
        a.id
    )))
}

fn zone_label(zone: &HostedZone) -> String {
    let owner = match &zone.owner {
        Some(owner) => format!(", account {owner}"),
        None => String::new(),
    };
    format!(
        "private hosted zone {} ({}{owner}){}",
        zone.name,
        zone.id,
        through(&zone.profile)
    )
}

/// How a zone or rule reaches the VPC, when not directly.
fn through(profile: &Option<String>) -> String {
    match profile {
        Some(id) => format!(" through Route 53 Profile {id}"),
        None => String::new(),
    }
}

/// Where a private answer leads from the instance's route table, and past it.
fn reached(
    path: &Path,
    dns: &VpcDns,
    name: &str,
    what: String,
    address: Option<Cidr>,
) -> Result<Judged, String> {
    let table = &path.route_table.id;
    let Some(ip) = address else {
        // An alias: its addresses are not known, only the ranges routed to other networks.
        let routes = elsewhere(path);
        if routes.is_empty() {
            return Ok(Judged::new(
                Verdict::Fail,
                format!("{name} → {what}, but {table} routes to no other network"),
            ));
        }
        let mut reached = vec![];
        let mut broken = vec![];
        for r in routes {
            let to = (r.destination.as_deref())
                .or(r.destination_ipv6.as_deref())
                .or(r.destination_prefix_list.as_deref())
                .unwrap_or("?");
            match onward(
                dns,
                (path.vpc_id, path.instance.owner_account.as_deref()),
                r,
            )? {
                Onward::Ends(said) => reached.push(format!("{to} to {said}")),
                Onward::Broken(said) => broken.push(format!("{to} to {}: {said}", r.target)),
            }
        }
        return Ok(match reached.is_empty() {
            false => Judged::central(format!(
                "{name} → {what}; {table} sends {}",
                reached.join("; ")
            )),
            true => Judged::new(
                Verdict::Fail,
                format!("{name} → {what}, but {table} sends {}", broken.join("; ")),
            ),
        });
    };
    Ok(match route_for(path.route_table, ip) {
        Some(r) if r.state == "blackhole" => Judged::new(
            Verdict::Fail,
            format!(
                "{name} → {what}, but {table} drops {ip} (a blackhole route to {})",
                r.target
            ),
        ),
        Some(r) if leads_elsewhere(r) => match onward(
            dns,
            (path.vpc_id, path.instance.owner_account.as_deref()),
            r,
        )? {
            Onward::Ends(said) => Judged {
                address: Some(ip),
                ..Judged::central(format!("{name} → {what}, routed by {table} to {said}"))
            },
            Onward::Broken(said) => Judged::new(
                Verdict::Fail,
                format!(
                    "{name} → {what}, routed by {table} to {}, but {said}",
                    r.target
                ),
            ),
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
    })
}

/// A record's answer, followed: `Err` names the fact missing to tell.
fn record(
    (path, dns): (&Path, &VpcDns),
    (name, service): (&str, &str),
    zone: &HostedZone,
    r: &DnsRecord,
) -> Result<Judged, String> {
    let in_zone = format!("in {}", zone_label(zone));
    let cname = (r.kind == "CNAME").then(|| r.values.first().map(|v| dns_name(v)));
    let Some(alias) = r.alias.clone().or(cname.flatten()) else {
        let what = format!("{} ({} record {in_zone})", r.values.join(", "), r.kind);
        let first = r.values.iter().find_map(|v| Cidr::parse(v));
        return reached(path, dns, name, what, first);
    };
    match alias_endpoint(&alias) {
        Some((_, theirs)) if theirs != service => Ok(Judged::new(
            Verdict::Fail,
            format!(
                "{name} is an alias {in_zone} to {alias}, an endpoint for {theirs}, not \
                 {service}"
            ),
        )),
        Some((id, _)) => reached(
            path,
            dns,
            name,
            format!("endpoint {id} (alias {in_zone})"),
            None,
        ),
        None => reached(path, dns, name, format!("{alias} (alias {in_zone})"), None),
    }
}

/// `2 interface endpoints and 1 private hosted zone`.
fn counted<'a>(kinds: impl Iterator<Item = &'a str>) -> String {
    let mut by_kind: std::collections::BTreeMap<&str, usize> = Default::default();
    kinds.for_each(|k| *by_kind.entry(k).or_default() += 1);
    let parts: Vec<String> = by_kind
        .into_iter()
        .map(|(kind, n)| match n {
            1 => format!("1 {kind}"),
            n => format!("{n} {kind}s"),
        })
        .collect();
    parts.join(" and ")
}

/// `account 210987654321`, `accounts 1… and 2…`, or `their owner`.
fn owners(unseen: &[Unseen]) -> String {
    let mut accounts: Vec<&str> = unseen.iter().filter_map(|u| u.owner.as_deref()).collect();
    accounts.sort();
    accounts.dedup();
    match accounts.as_slice() {
        [] => "their owner".into(),
        [one] => format!("account {one}"),
        many => format!("accounts {}", many.join(" and ")),
    }
}

/// An answer out of sight: a doubt, which may lie in the other networks the table routes to.
fn out_of_sight(path: &Path, said: String) -> Judged {
    Judged {
        central: match elsewhere(path).is_empty() {
            true => Carrier::No,
            false => Carrier::Maybe,
        },
        ..Judged::new(Verdict::Doubt, said)
    }
}

fn judge(path: &Path, dns: &VpcDns, region: &str, s: &ServiceRoute) -> Result<Judged, String> {
    let name = service_name(s.service, region);
    let found = answer(dns, &name)
        .map_err(|cause| format!("{name}: {}", cause.problem().unwrap_or_default()))?;
    Ok(match found {
        Answer::Record { zone, record: r } => record((path, dns), (&name, s.service), zone, r)
            .map_err(|unknown| format!("{name}: {unknown}"))?,
        // Refused or failed in this account: unknown, never read as an answer.
        Answer::Unreadable { why, zone }
            if !matches!(zone.records, Fetch::NotApplicable { .. }) =>
        {
            return Err(format!("{name}: {why}"));
        }
        Answer::Unreadable { zone, .. } if zone.name == name => reached(
            path,
            dns,
            &name,
            format!(
                "{} (whose records only its own account can read)",
                zone_label(zone)
            ),
            None,
        )?,
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
        Answer::Forwarded { rule } => {
            let domain = if rule.domain.is_empty() {
                "."
            } else {
                &rule.domain
            };
            let what = format!(
                "whatever Resolver rule {} ({domain}){} forwards it to ({})",
                rule.id,
                through(&rule.profile),
                rule.targets.join(", ")
            );
            reached(path, dns, &name, what, None)?
        }
        Answer::Endpoint { profile, endpoint } => reached(
            path,
            dns,
            &name,
            format!(
                "endpoint {} (through Route 53 Profile {profile})",
                endpoint.id
            ),
            None,
        )?,
        Answer::Unseen { profile, unseen } => out_of_sight(
            path,
            format!(
                "{name} may be answered by Route 53 Profile {profile} of {}, which carries {} \
                 only {} can read",
                path.vpc_id,
                counted(unseen.iter().map(|u| u.kind.as_str())),
                owners(unseen)
            ),
        ),
        Answer::CustomServers { servers } => out_of_sight(
            path,
            format!(
                "{name} is asked of {}, the DNS servers in {}'s DHCP options, which ssm-doctor \
                 cannot see into",
                servers.join(", "),
                path.vpc_id
            ),
        ),
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
                 zone, no Resolver rule, no Route 53 Profile for it) and there is no internet \
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
    // What a Profile carries out of sight is named here once, not in every name's sentence.
    let profile = dns.profile.value().and_then(Option::as_ref).map(|p| {
        let unseen = p.resources.value().map(|r| &r.unseen);
        json!({"id": p.id, "status": p.status, "unseen": unseen})
    });
    let outcome = outcome
        .with("vpc_id", path.vpc_id)
        .with("answers", answers)
        .var("missing_services", missing.join(" "));
    Ok(match profile {
        Some(profile) => outcome.with("profile", profile),
        None => outcome,
    })
}

/// Whether a Route 53 Profile answers names in the VPC.
pub(super) fn profiled(ctx: &Context) -> bool {
    let dns = ctx.aws.network.dns.value();
    let profile = dns.and_then(|d| d.profile.value()).and_then(Option::as_ref);
    profile.is_some_and(|p| p.answers())
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
        .filter_map(|(s, j)| Some((s, j.as_ref().ok()?)))
        .collect();
    if required.is_empty() || required.iter().any(|(_, j)| j.central == Carrier::No) {
        return Ok(None);
    }
    let routed: Vec<Cidr> = elsewhere(path)
        .into_iter()
        .filter_map(|r| r.destination.as_deref().and_then(Cidr::parse))
        .collect();
    let mut addresses: Vec<Cidr> = required.iter().filter_map(|(_, j)| j.address).collect();
    addresses.sort();
    addresses.dedup();
    let unseen = required.iter().any(|(_, j)| j.address.is_none());
    Ok(Some(CentralPath {
        services: required.iter().map(|(s, _)| s.service).collect(),
        addresses,
        ranges: if unseen { routed } else { vec![] },
        certain: required.iter().all(|(_, j)| j.central == Carrier::Yes),
    }))
}
