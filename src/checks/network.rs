//! network.*: the instance's own subnet: route, security groups, network ACL.

use super::Context;
use super::central;
use super::outcome::{CheckResult, Outcome, need};
use super::tally::Tally;
use crate::analysis::cidr::Cidr;
use crate::analysis::ip_ranges::coverage;
use crate::analysis::nacl::{self, EPHEMERAL, NaclDecision, acl_for_subnet};
use crate::analysis::path::{DUAL_STACK_FROM, Internet, NAT64_PREFIX, Need, Path};
use crate::analysis::security_group::{Destination, Grant, Peer, Reach, grants, reaches};
use crate::analysis::version;
use crate::facts::{Fetch, NetworkAcl, SecurityGroup, Subnet, VpcEndpoint};
use crate::report::Status;
use serde_json::json;
use std::collections::BTreeMap;

const HTTPS: i32 = 443;
/// Covers Linux (32768–60999) and Windows (49152–65535) ephemeral ports, not every OS's.
const EPHEMERAL_COMMON: (i32, i32) = (32768, 65535);

pub fn route(ctx: &Context) -> CheckResult {
    let path = ctx.path()?;
    let rt = path.route_table;
    let association = if rt.subnet_ids.iter().any(|s| s == path.subnet_id) {
        "explicitly associated with"
    } else {
        "the VPC's main table, used by"
    };
    let table = format!("Route table {} ({association} {})", rt.id, path.subnet_id);
    let required: Vec<_> = path
        .services
        .iter()
        .filter(|s| s.need == Need::Required)
        .collect();
    let all_by_endpoint = required.iter().all(|s| s.carried_by_endpoint());
    let any_endpoint = path.endpoints_are_the_path();
    // Without an internet path, what the VPC's DNS answers may be the path: unknown answers
    // leave the verdict unknown.
    let central = match path.internet.carries_traffic() {
        true => None,
        false => central::central_path(ctx, path)
            .map_err(|unknown| Outcome::error(format!("Could not evaluate: {unknown}.")))?,
    };
    // Where the VPC's DNS was read, network.dns-central says what answers each name.
    let see_dns = match ctx.aws.network.dns.value() {
        Some(_) => " (see network.dns-central)",
        None => "",
    };
    let outcome = match &path.internet {
        Internet::Ipv6 { .. } if !all_by_endpoint => over_ipv6(ctx, &table, &path.internet),
        internet if internet.carries_traffic() => Outcome::pass(format!(
            "{table} reaches the internet through {}.",
            internet.describe()
        )),
        _ if all_by_endpoint => Outcome::pass(format!(
            "{table} has no internet path; interface endpoints carry {}.",
            names(required.iter().map(|s| s.service))
        )),
        _ if central.as_ref().is_some_and(|c| c.certain) => Outcome::pass(format!(
            "{table} leads to central endpoints for {}, in other networks{see_dns}.",
            names(central.iter().flat_map(|c| c.services.iter().copied()))
        )),
        _ if central.is_some() => Outcome::warn(format!(
            "{table} leads to other networks, where DNS servers ssm-doctor cannot see into may \
             send {} to central endpoints{see_dns}: make sure they do.",
            names(central.iter().flat_map(|c| c.services.iter().copied()))
        )),
        Internet::Opaque { target } => Outcome::warn(format!(
            "{table} sends 0.0.0.0/0 to {target}, which ssm-doctor cannot see past: make sure it \
             leads to the internet (or to endpoints reachable by DNS) for {}{see_dns}.",
            names(
                required
                    .iter()
                    .filter(|s| !s.carried_by_endpoint())
                    .map(|s| s.service)
            )
        )),
        Internet::None { reason } if any_endpoint => Outcome::warn(format!(
            "No internet path ({reason}); the VPC's interface endpoints are the path, but they do \
             not yet carry every required service: see vpce.present and vpce.private-dns."
        )),
        Internet::None { reason } => Outcome::fail(format!(
            "No path to Systems Manager: {reason}, there is no route to a NAT gateway, and {} has no \
             interface endpoints for ssm/ssmmessages{see_dns}.",
            path.vpc_id
        )),
        _ => unreachable!("carries_traffic covers the other kinds"),
    };
    Ok(outcome
        .with("route_table_id", &rt.id)
        .with("main_route_table", rt.main && !rt.subnet_ids.iter().any(|s| s == path.subnet_id))
        .with("internet", &path.internet)
        .with("public_ip", &path.instance.public_ip)
        .with(
            "services",
            path.services
                .iter()
                .map(|s| json!({"service": s.service, "need": s.need, "endpoint": s.endpoint.map(|e| &e.id), "carried_by_endpoint": s.carried_by_endpoint()}))
                .collect::<Vec<_>>(),
        ))
}

/// A path over IPv6 only: the agent must use the dual-stack endpoints, which it can from
/// [`DUAL_STACK_FROM`] when configured to; an agent that is online there evidently does.
fn over_ipv6(ctx: &Context, table: &str, internet: &Internet) -> Outcome {
    let way = format!(
        "{table} reaches the internet only through {}",
        internet.describe()
    );
    let region = &ctx.facts.target.region;
    let nat64 =
        format!("or add NAT64: DNS64 on the subnet and {NAT64_PREFIX} routed to a NAT gateway");
    let agent = ctx.aws.agent.value().and_then(Option::as_ref);
    let known = agent.and_then(|a| Some((a, a.agent_version.as_deref()?)));
    match known.map(|(a, v)| (a, v, version::at_least(v, DUAL_STACK_FROM))) {
        Some((_, v, Some(false))) => Outcome::fail(format!(
            "{way}, and agent {v} is older than {DUAL_STACK_FROM}, the first that reaches Systems \
             Manager over IPv6 (the regional endpoints are IPv4-only): update the agent, {nat64}."
        )),
        Some((a, v, Some(true))) if a.ping_status == "Online" => Outcome::pass(format!(
            "{way}; agent {v} is online, so it uses the dual-stack endpoints."
        )),
        _ => Outcome::warn(format!(
            "{way}: the regional endpoints are IPv4-only, so the agent must be {DUAL_STACK_FROM} \
             or later with UseDualStackEndpoint on in amazon-ssm-agent.json (it then uses \
             ssm.{region}.api.aws), {nat64}."
        )),
    }
}

fn names<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items.collect::<Vec<_>>().join(", ")
}

/// Where the agent's connections go: the internet (for services no endpoint carries) and each
/// carrying endpoint.
enum Hop<'a> {
    Internet {
        services: Vec<&'static str>,
        opaque: bool,
        /// Where the connections go as the instance sees them (`0.0.0.0/0`, `::/0`, NAT64's).
        destination: Cidr,
    },
    Endpoint {
        service: &'static str,
        endpoint: &'a VpcEndpoint,
        need: Need,
    },
    /// Central endpoints in other networks (network.dns-central): the addresses records give,
    /// and the ranges routed there when some answer's address is not seen.
    Central {
        services: Vec<&'static str>,
        addresses: Vec<Cidr>,
        ranges: Vec<Cidr>,
    },
}

fn hops<'a>(ctx: &Context<'a>, path: &Path<'a>) -> Vec<Hop<'a>> {
    let mut out: Vec<Hop> = path
        .carrying_endpoints()
        .map(|(s, e)| Hop::Endpoint {
            service: s.service,
            endpoint: e,
            need: s.need,
        })
        .collect();
    let internet_services: Vec<_> = path.internet_bound().map(|s| s.service).collect();
    let opaque = matches!(path.internet, Internet::Opaque { .. });
    let carries = path.internet.carries_traffic();
    // Private answers in other networks take the traffic the internet would otherwise carry
    // (network.route says when they cannot be told).
    let central = match carries {
        true => None,
        false => central::central_path(ctx, path).ok().flatten(),
    };
    if let Some(c) = central {
        out.insert(
            0,
            Hop::Central {
                services: c.services,
                addresses: c.addresses,
                ranges: c.ranges,
            },
        );
    } else if !internet_services.is_empty() && (carries || opaque) {
        out.insert(
            0,
            Hop::Internet {
                services: internet_services,
                opaque,
                destination: path.internet.destination(),
            },
        );
    }
    out
}

/// The ranges of the subnets `ids` in one family: an IPv6-only instance reaches endpoints over
/// IPv6.
fn subnet_cidrs(subnets: &[Subnet], ids: &[String], v6: bool) -> Result<Vec<Cidr>, Outcome> {
    ids.iter()
        .map(|id| {
            let subnet = subnets.iter().find(|s| &s.id == id).ok_or_else(|| {
                Outcome::error(format!("Subnet {id} was not among the VPC's subnets."))
            })?;
            let range = match v6 {
                true => subnet.ipv6_cidrs.first(),
                false => subnet.cidr.as_ref(),
            };
            range.and_then(|r| Cidr::parse(r)).ok_or_else(|| {
                let family = if v6 { "IPv6" } else { "IPv4" };
                Outcome::error(format!("Subnet {id} has no {family} range."))
            })
        })
        .collect()
}

pub(super) fn instance_groups<'a>(ctx: &Context<'a>) -> Result<Vec<&'a SecurityGroup>, Outcome> {
    let all = need(&ctx.aws.network.security_groups)?;
    let wanted = &ctx.path()?.instance.security_group_ids;
    wanted
        .iter()
        .map(|id| {
            all.iter().find(|g| &g.id == id).ok_or_else(|| {
                Outcome::error(format!(
                    "Security group {id} was not returned by ec2:DescribeSecurityGroups."
                ))
            })
        })
        .collect()
}

pub fn egress_443(ctx: &Context) -> CheckResult {
    let path = ctx.path()?;
    let groups = instance_groups(ctx)?;
    let granted = grants(&groups, true, HTTPS);
    let lists = &ctx.aws.network.prefix_lists;
    let group_ids = path.instance.security_group_ids.join(", ");
    let mut tally = Tally::default();
    let v6 = path.ipv6_only();
    for hop in hops(ctx, path) {
        match hop {
            Hop::Internet {
                services,
                opaque,
                destination,
            } => {
                let what = format!("the internet for {}", services.join(", "));
                let dest = Destination {
                    groups: &[],
                    cidrs: vec![destination],
                };
                match reaches(&granted, &dest, lists) {
                    Reach::Yes(via) => tally.fine.push(format!("{what} via {}", via.join(", "))),
                    Reach::Unknown(p) => tally.unknown.push(format!("{what}: {p}")),
                    Reach::No(_) if opaque => tally.doubtful.push(format!(
                        "{what}: only narrower ranges are open on 443, which may not cover the \
                         regional endpoints"
                    )),
                    Reach::No(_) => {
                        let open = open_ranges(&granted, lists, destination.is_v6());
                        narrow(ctx, &mut tally, &what, destination, &open);
                    }
                }
            }
            Hop::Central {
                services,
                addresses,
                ranges,
            } => {
                let what = format!("the central endpoints for {}", services.join(", "));
                let to = |cidrs: &[Cidr]| Destination {
                    groups: &[],
                    cidrs: cidrs.to_vec(),
                };
                match reaches(&granted, &to(&addresses), lists) {
                    Reach::Yes(via) if !addresses.is_empty() => {
                        tally.fine.push(format!("{what} via {}", via.join(", ")))
                    }
                    Reach::Yes(_) => {}
                    Reach::Unknown(p) => tally.unknown.push(format!("{what}: {p}")),
                    Reach::No(missing) => tally
                        .failing
                        .push(format!("{what} ({})", cidr_list(&missing))),
                }
                // An answer whose address is not seen is somewhere in the ranges routed there:
                // 443 open to none of them fails, to part of them is a doubt.
                if !ranges.is_empty() {
                    let open = open_ranges(&granted, lists, false);
                    match reaches(&granted, &to(&ranges), lists) {
                        Reach::Yes(via) => {
                            tally.fine.push(format!("{what} via {}", via.join(", ")))
                        }
                        Reach::Unknown(p) => tally.unknown.push(format!("{what}: {p}")),
                        Reach::No(_)
                            if open.iter().any(|o| ranges.iter().any(|r| o.overlaps(*r))) =>
                        {
                            tally.doubtful.push(format!(
                                "{what}: 443 is open to part of {} only, routed to other networks, \
                                 where they are",
                                cidr_list(&ranges)
                            ))
                        }
                        Reach::No(missing) => tally
                            .failing
                            .push(format!("{what} ({})", cidr_list(&missing))),
                    }
                }
            }
            Hop::Endpoint {
                service,
                endpoint,
                need,
            } => {
                let subnets = need_subnets(ctx)?;
                let what = format!(
                    "the {service} endpoint {} (groups {})",
                    endpoint.id,
                    endpoint.security_group_ids.join(", ")
                );
                let dest = Destination {
                    groups: &endpoint.security_group_ids,
                    cidrs: subnet_cidrs(subnets, &endpoint.subnet_ids, v6)?,
                };
                match reaches(&granted, &dest, lists) {
                    Reach::Yes(via) => tally.fine.push(format!("{what} via {}", via.join(", "))),
                    Reach::Unknown(p) => tally.unknown.push(format!("{what}: {p}")),
                    Reach::No(missing) => {
                        let line = format!("{what}, subnets {}", cidr_list(&missing));
                        match need {
                            Need::Required => tally.failing.push(line),
                            Need::Optional => tally.doubtful.push(line),
                        }
                    }
                }
            }
        }
    }
    if tally.is_empty() {
        return Err(Outcome::skip("No destination to reach: see network.route."));
    }
    let outcome = tally.outcome(|status, items| match status {
        Status::Fail => {
            format!("Security groups {group_ids} allow no outbound TCP 443 to {items}.")
        }
        Status::Warn => format!("Security groups {group_ids}: {items}."),
        _ => format!("Security groups {group_ids} allow outbound 443 to {items}."),
    });
    Ok(outcome.with("security_groups", &path.instance.security_group_ids))
}

fn need_subnets<'a>(ctx: &Context<'a>) -> Result<&'a [Subnet], Outcome> {
    need(&ctx.aws.network.subnets).map(Vec::as_slice)
}

fn cidr_list(cidrs: &[Cidr]) -> String {
    cidrs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The ranges of one family that the grants open, prefix lists' entries included.
fn open_ranges(
    granted: &[Grant],
    lists: &BTreeMap<String, Fetch<Vec<String>>>,
    v6: bool,
) -> Vec<Cidr> {
    let mut open: Vec<Cidr> = granted
        .iter()
        .flat_map(|g| match g.peer {
            Peer::Cidr(c) => vec![c],
            Peer::PrefixList(id) => lists
                .get(id)
                .and_then(Fetch::value)
                .map(|entries| entries.iter().map(String::as_str).collect())
                .unwrap_or_default(),
            Peer::Group(_) => vec![],
        })
        .filter_map(Cidr::parse)
        .filter(|c| c.is_v6() == v6)
        .collect();
    open.sort();
    open.dedup();
    open
}

/// Judges egress open to ranges narrower than the internet: those that cannot hold a public
/// endpoint fail; public ones are a doubt, unless AWS's published ranges (`--ip-ranges`) decide.
fn narrow(ctx: &Context, tally: &mut Tally, what: &str, destination: Cidr, open: &[Cidr]) {
    let public: Vec<Cidr> = open
        .iter()
        .copied()
        .filter(|c| c.special().is_none())
        .collect();
    if open.is_empty() {
        return tally.failing.push(format!("{what} ({destination})"));
    }
    if public.is_empty() {
        let kinds = open
            .iter()
            .map(|c| format!("{c} ({})", c.special().unwrap_or("special")));
        return tally.failing.push(format!(
            "{what}: only {} {} open, which cannot hold the regional public endpoints",
            listed(kinds),
            is_are(open.len())
        ));
    }
    let shown = listed(public.iter().map(ToString::to_string));
    let are = is_are(public.len());
    let hold = if public.len() == 1 { "holds" } else { "hold" };
    let region = &ctx.facts.target.region;
    // NAT64 hides the IPv4 addresses the published ranges are written in.
    let Some(ranges) = ctx
        .ip_ranges
        .filter(|_| !destination.is_v6() || destination == Cidr::ANY6)
    else {
        return tally.doubtful.push(format!(
            "{what}: only {shown} {are} open (narrower than {destination}), which may not hold the \
             regional endpoints (--ip-ranges with AWS's ip-ranges.json decides)"
        ));
    };
    let amazon = ranges.amazon(region, destination.is_v6());
    let source = format!("ip-ranges.json of {}", ranges.created);
    let c = coverage(&amazon, &public);
    if amazon.is_empty() {
        tally.doubtful.push(format!(
            "{what}: only {shown} {are} open, and {source} lists no AMAZON range of {region}"
        ));
    } else if c.covered == c.total {
        tally.fine.push(format!(
            "{what} via {shown}, which hold all {} AMAZON ranges of {region} ({source})",
            c.total
        ));
    } else if c.touched == 0 {
        tally.failing.push(format!(
            "{what}: only {shown} {are} open, which {hold} none of the {} AMAZON ranges of {region} \
             ({source})",
            c.total
        ));
    } else {
        tally.doubtful.push(format!(
            "{what}: only {shown} {are} open, which {hold} {} of the {} AMAZON ranges of {region} \
             ({source}): the endpoints' addresses may fall outside them",
            c.covered, c.total
        ));
    }
}

fn is_are(n: usize) -> &'static str {
    if n == 1 { "is" } else { "are" }
}

/// Up to five items, then how many more.
fn listed(items: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = items.collect();
    match items.len() {
        0..=5 => items.join(", "),
        n => format!("{} and {} more", items[..5].join(", "), n - 5),
    }
}

/// One direction of one flow through one ACL, judged.
struct Leg<'a> {
    acl: &'a NetworkAcl,
    egress: bool,
    peer: Cidr,
    what: String,
    /// A whole range that some destination lies in (an unseen central answer): what the ACL
    /// denies there is a doubt, not a failure.
    somewhere_in: bool,
}

pub fn nacl(ctx: &Context) -> CheckResult {
    let path = ctx.path()?;
    let acls = need(&ctx.aws.network.network_acls)?;
    let subnets = need_subnets(ctx)?;
    let own = acl_for_subnet(acls, path.subnet_id).ok_or_else(|| {
        Outcome::error(format!(
            "No network ACL of {} applies to {}.",
            path.vpc_id, path.subnet_id
        ))
    })?;
    let instance_ip = ctx.instance_ip()?;
    let mut legs = Vec::new();
    let v6 = path.ipv6_only();
    for hop in hops(ctx, path) {
        match hop {
            Hop::Internet { destination, .. } => {
                legs.push(Leg {
                    acl: own,
                    egress: true,
                    peer: destination,
                    what: match destination.is_v6() {
                        true => format!("the internet over IPv6 ({destination})"),
                        false => "the internet".into(),
                    },
                    somewhere_in: false,
                });
            }
            Hop::Central {
                services,
                addresses,
                ranges,
            } => {
                let exact = addresses.into_iter().map(|a| (a, false));
                for (destination, somewhere_in) in
                    exact.chain(ranges.into_iter().map(|r| (r, true)))
                {
                    legs.push(Leg {
                        acl: own,
                        egress: true,
                        peer: destination,
                        what: format!(
                            "the central endpoints for {} ({destination})",
                            services.join(", ")
                        ),
                        somewhere_in,
                    });
                }
            }
            Hop::Endpoint {
                service, endpoint, ..
            } => {
                for (subnet_id, cidr) in
                    endpoint
                        .subnet_ids
                        .iter()
                        .zip(subnet_cidrs(subnets, &endpoint.subnet_ids, v6)?)
                {
                    if subnet_id == path.subnet_id {
                        continue; // traffic inside one subnet never crosses its ACL
                    }
                    let what = format!("the {service} endpoint in {subnet_id} ({cidr})");
                    legs.push(Leg {
                        acl: own,
                        egress: true,
                        peer: cidr,
                        what: what.clone(),
                        somewhere_in: false,
                    });
                    let theirs = acl_for_subnet(acls, subnet_id).ok_or_else(|| {
                        Outcome::error(format!(
                            "No network ACL applies to endpoint subnet {subnet_id}."
                        ))
                    })?;
                    legs.push(Leg {
                        acl: theirs,
                        egress: false,
                        peer: instance_ip,
                        what: format!("{what}, from the instance"),
                        somewhere_in: false,
                    });
                }
            }
        }
    }
    let mut tally = Tally::default();
    let mut evidence = vec![];
    let mut at_fault: Option<&str> = None;
    let mut seen = std::collections::BTreeSet::new();
    for leg in &legs {
        if !seen.insert((leg.acl.id.as_str(), leg.egress, leg.peer.to_string())) {
            continue;
        }
        let failures = tally.failing.len();
        // The opening direction carries port 443; the return direction the client's ephemeral port.
        let opening = nacl::evaluate(leg.acl, leg.egress, leg.peer, (HTTPS, HTTPS));
        let ret = nacl::evaluate(leg.acl, !leg.egress, leg.peer, EPHEMERAL);
        let (dir_open, dir_ret) = if leg.egress {
            ("outbound", "inbound")
        } else {
            ("inbound", "outbound")
        };
        judge_leg(&mut tally, leg, &opening, &format!("{dir_open} TCP 443"));
        let common = nacl::evaluate(leg.acl, !leg.egress, leg.peer, EPHEMERAL_COMMON);
        if !ret.allowed && common.allowed {
            tally.doubtful.push(format!(
                "{} allows {dir_ret} return traffic for {} only on 32768–65535 ({}), enough for \
                 Linux and Windows but not every OS",
                leg.acl.id,
                leg.what,
                common.rule_label()
            ));
        } else {
            judge_leg(&mut tally, leg, &ret, &format!("{dir_ret} TCP 1024–65535"));
        }
        if leg.somewhere_in {
            let denied = tally.failing.split_off(failures);
            tally.doubtful.extend(
                denied
                    .into_iter()
                    .map(|d| format!("{d}: the central endpoints may lie in a part it allows")),
            );
        }
        if tally.failing.len() > failures && at_fault.is_none() {
            at_fault = Some(&leg.acl.id);
        }
        evidence.push(json!({
            "network_acl_id": leg.acl.id, "peer": leg.peer.to_string(), "instance_side": leg.egress,
            "https": opening, "return": ret,
        }));
    }
    let endpoint_acls = if legs.iter().any(|l| !l.egress) {
        "; so do the endpoint subnets' ACLs"
    } else {
        ""
    };
    let outcome = match legs.is_empty() {
        true => Outcome::pass(format!(
            "{} is not crossed on the way to the endpoints (same subnet).",
            own.id
        )),
        false => tally.outcome(|status, items| match status {
            Status::Pass => format!(
                "{} allows HTTPS out and its return traffic in{endpoint_acls}.",
                own.id
            ),
            _ => format!("{items}."),
        }),
    };
    Ok(outcome
        .with("network_acl_id", &own.id)
        .with("evaluations", evidence)
        .var("nacl_id", at_fault.unwrap_or(&own.id).to_string()))
}

fn judge_leg(tally: &mut Tally, leg: &Leg, d: &NaclDecision, traffic: &str) {
    if !d.allowed {
        tally.failing.push(format!(
            "{} denies {traffic} for {} at {}",
            leg.acl.id,
            leg.what,
            d.rule_label()
        ));
    } else if !d.partial_denies.is_empty() {
        let rules: Vec<String> = d
            .partial_denies
            .iter()
            .map(|r| format!("rule {r}"))
            .collect();
        tally.doubtful.push(format!(
            "{} allows {traffic} for {} at {}, but {} deny part of it first",
            leg.acl.id,
            leg.what,
            d.rule_label(),
            rules.join(", ")
        ));
    }
}
