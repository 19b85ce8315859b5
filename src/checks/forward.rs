//! session.forward: whether the instance reaches the remote host of a port-forwarding session
//! (`--forward HOST:PORT`), through the same analysis of routes, security groups and network ACLs
//! as the agent's own traffic.

use super::Context;
use super::network::instance_groups;
use super::outcome::{CheckResult, Outcome, need};
use super::tally::Tally;
use crate::analysis::cidr::Cidr;
use crate::analysis::nacl::{self, EPHEMERAL, acl_for_subnet};
use crate::analysis::path::Path;
use crate::analysis::security_group::{Destination, Reach, grants, reaches};
use crate::facts::{NetworkAcl, Route};
use crate::report::Status;

pub fn forward(ctx: &Context) -> CheckResult {
    let Some(target) = &ctx.facts.target.forward else {
        return Err(Outcome::skip("No --forward: no remote host to reach."));
    };
    let addresses = need(&target.addresses)?;
    if addresses.is_empty() {
        return Ok(Outcome::fail(format!(
            "{} has no IPv4 address (this machine's resolver answers none).",
            target.host
        )));
    }
    let path = ctx.path()?;
    let network = &ctx.aws.network;
    let groups = instance_groups(ctx)?;
    let acls = need(&network.network_acls)?;
    let subnets = need(&network.subnets)?;
    let port = i32::from(target.port);
    let granted = grants(&groups, true, port);
    let instance_ip = ctx.instance_ip()?;
    let mut tally = Tally::default();
    for address in addresses {
        let Some(dest) = Cidr::parse(address).filter(|c| !c.is_v6()) else {
            tally
                .unknown
                .push(format!("{address} is not an IPv4 address"));
            continue;
        };
        let to = format!("{address}:{port}");
        let inside = route(path, dest, &to, &mut tally);
        let destination = Destination {
            groups: &[],
            cidrs: vec![dest],
        };
        match reaches(&granted, &destination, &network.prefix_lists) {
            Reach::Yes(via) => tally
                .fine
                .push(format!("security groups allow {to} ({})", via.join(", "))),
            Reach::Unknown(why) => tally.unknown.push(why),
            Reach::No(_) => tally.failing.push(format!(
                "no egress rule of security groups {} allows TCP {port} to {address}",
                path.instance.security_group_ids.join(", ")
            )),
        }
        let own = acl_for_subnet(acls, path.subnet_id);
        acl_leg(
            &mut tally,
            own,
            true,
            dest,
            port,
            &format!("{to} (instance side)"),
        );
        if inside {
            let theirs = subnets.iter().find(|s| {
                s.cidr
                    .as_deref()
                    .and_then(Cidr::parse)
                    .is_some_and(|c| c.covers(dest))
            });
            if let Some(subnet) = theirs.filter(|s| s.id != path.subnet_id) {
                let acl = acl_for_subnet(acls, &subnet.id);
                acl_leg(
                    &mut tally,
                    acl,
                    false,
                    instance_ip,
                    port,
                    &format!("{to} (in {})", subnet.id),
                );
            }
        }
    }
    let outcome = tally.outcome(|status, items| match status {
        Status::Pass => format!(
            "{} reaches {} ({}) on {port}: its route, security groups and network ACLs allow it. \
             The host's own security group must admit {} on {port}: ssm-doctor cannot see which \
             it is.",
            ctx.facts.target.instance_id,
            target.host,
            addresses.join(", "),
            path.instance.security_group_ids.join(", ")
        ),
        _ => format!(
            "{} may not reach {}:{port}: {items}.",
            ctx.facts.target.instance_id, target.host
        ),
    });
    Ok(outcome
        .with("host", &target.host)
        .with("addresses", addresses)
        .with("port", target.port))
}

/// Where the subnet's route table sends `dest`, judged into `tally`; whether it stays in the VPC.
fn route(path: &Path, dest: Cidr, to: &str, tally: &mut Tally) -> bool {
    let table = path.route_table;
    let best: Option<(&Route, Cidr)> = table
        .routes
        .iter()
        .filter_map(|r| Some((r, Cidr::parse(r.destination.as_deref()?)?)))
        .filter(|(_, c)| c.covers(dest))
        .max_by_key(|(_, c)| c.prefix());
    let Some((route, _)) = best else {
        tally
            .failing
            .push(format!("route table {} has no route to {to}", table.id));
        return false;
    };
    let target = route.target.as_str();
    if route.state == "blackhole" {
        tally.failing.push(format!(
            "the route of {} to {to} ends in a blackhole ({target})",
            table.id
        ));
    } else if target == "local" {
        tally.fine.push(format!("{to} is inside the VPC"));
        return true;
    } else if target.starts_with("igw-") && path.instance.public_ip.is_none() {
        tally.failing.push(format!(
            "route table {} sends {to} to {target}, but the instance has no public IP",
            table.id
        ));
    } else if target.starts_with("igw-") || target.starts_with("nat-") {
        tally.fine.push(format!("{to} is routed to {target}"));
    } else {
        tally.doubtful.push(format!(
            "{to} is routed to {target}, which ssm-doctor cannot see past"
        ));
    }
    false
}

/// One network ACL on the way: `outbound` from the instance's side (to `peer` on `port`, the
/// answers back in), or inbound on the host's side (from `peer`, the instance, on `port`).
fn acl_leg(
    tally: &mut Tally,
    acl: Option<&NetworkAcl>,
    outbound: bool,
    peer: Cidr,
    port: i32,
    what: &str,
) {
    let Some(acl) = acl else {
        tally
            .unknown
            .push(format!("no network ACL applies on the way to {what}"));
        return;
    };
    let opening = nacl::evaluate(acl, outbound, peer, (port, port));
    let answer = nacl::evaluate(acl, !outbound, peer, EPHEMERAL);
    for (decision, traffic) in [
        (opening, format!("TCP {port}")),
        (answer, "the answers".to_string()),
    ] {
        match decision.allowed {
            true => tally
                .fine
                .push(format!("{} allows {traffic} for {what}", acl.id)),
            false => tally.failing.push(format!(
                "{} denies {traffic} for {what} at {}",
                acl.id,
                decision.rule_label()
            )),
        }
    }
}
