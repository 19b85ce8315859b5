//! network.*: the instance's own subnet: route, security groups, network ACL.

use super::Context;
use super::outcome::{CheckResult, Outcome, need};
use super::tally::Tally;
use crate::analysis::ipv4::Cidr;
use crate::analysis::nacl::{self, EPHEMERAL, NaclDecision, acl_for_subnet};
use crate::analysis::path::{Internet, Need, Path};
use crate::analysis::security_group::{Destination, Reach, grants, reaches};
use crate::facts::{NetworkAcl, SecurityGroup, Subnet, VpcEndpoint};
use crate::report::Status;
use serde_json::json;

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
    let outcome = match &path.internet {
        internet if internet.carries_traffic() => Outcome::pass(format!(
            "{table} reaches the internet through {}.",
            internet.describe()
        )),
        _ if all_by_endpoint => Outcome::pass(format!(
            "{table} has no internet path; interface endpoints carry {}.",
            names(required.iter().map(|s| s.service))
        )),
        Internet::Opaque { target } => Outcome::warn(format!(
            "{table} sends 0.0.0.0/0 to {target}, which ssm-doctor cannot see past: make sure it \
             leads to the internet (or to endpoints reachable by DNS) for {}.",
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
             interface endpoints for ssm/ssmmessages.",
            path.vpc_id
        )),
        _ => unreachable!("carries_traffic covers Igw and Nat"),
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

fn names<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items.collect::<Vec<_>>().join(", ")
}

/// Where the agent's connections go: the internet (for services no endpoint carries) and each
/// carrying endpoint.
enum Hop<'a> {
    Internet {
        services: Vec<&'static str>,
        opaque: bool,
    },
    Endpoint {
        service: &'static str,
        endpoint: &'a VpcEndpoint,
        need: Need,
    },
}

fn hops<'a>(path: &Path<'a>) -> Vec<Hop<'a>> {
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
    if !internet_services.is_empty() && (path.internet.carries_traffic() || opaque) {
        out.insert(
            0,
            Hop::Internet {
                services: internet_services,
                opaque,
            },
        );
    }
    out
}

fn subnet_cidrs(subnets: &[Subnet], ids: &[String]) -> Result<Vec<Cidr>, Outcome> {
    ids.iter()
        .map(|id| {
            subnets
                .iter()
                .find(|s| &s.id == id)
                .and_then(|s| Cidr::parse(&s.cidr))
                .ok_or_else(|| {
                    Outcome::error(format!("Subnet {id} was not among the VPC's subnets."))
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
    for hop in hops(path) {
        match hop {
            Hop::Internet { services, opaque } => {
                let what = format!("the internet for {}", services.join(", "));
                let dest = Destination {
                    groups: &[],
                    cidrs: vec![Cidr::ANY],
                };
                match reaches(&granted, &dest, lists) {
                    Reach::Yes(via) => tally.fine.push(format!("{what} via {}", via.join(", "))),
                    Reach::Unknown(p) => tally.unknown.push(format!("{what}: {p}")),
                    Reach::No(_) if opaque || allows_some_public_range(&granted) => {
                        tally.doubtful.push(format!(
                            "{what}: only narrower ranges are open on 443, which may not cover the \
                             regional endpoints"
                        ))
                    }
                    Reach::No(_) => tally.failing.push(format!("{what} (0.0.0.0/0)")),
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
                    cidrs: subnet_cidrs(subnets, &endpoint.subnet_ids)?,
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

fn allows_some_public_range(granted: &[crate::analysis::security_group::Grant]) -> bool {
    const PRIVATE: [&str; 3] = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];
    granted.iter().any(|g| match g.peer {
        crate::analysis::security_group::Peer::Cidr(c) => Cidr::parse(c).is_some_and(|c| {
            !PRIVATE
                .iter()
                .any(|p| Cidr::parse(p).is_some_and(|p| p.covers(c)))
        }),
        _ => false,
    })
}

/// One direction of one flow through one ACL, judged.
struct Leg<'a> {
    acl: &'a NetworkAcl,
    egress: bool,
    peer: Cidr,
    what: String,
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
    for hop in hops(path) {
        match hop {
            Hop::Internet { .. } => {
                legs.push(Leg {
                    acl: own,
                    egress: true,
                    peer: Cidr::ANY,
                    what: "the internet".into(),
                });
            }
            Hop::Endpoint {
                service, endpoint, ..
            } => {
                for (subnet_id, cidr) in endpoint
                    .subnet_ids
                    .iter()
                    .zip(subnet_cidrs(subnets, &endpoint.subnet_ids)?)
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
