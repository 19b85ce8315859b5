//! The network path over IPv6: IPv6-only and dual-stack instances, egress-only gateways, NAT64
//! with DNS64, dual-stack endpoints, and IPv6 rules in security groups and network ACLs.

use super::*;

const INSTANCE6: &str = "2600:1f18:ab:cd01::10";

/// An IPv6-only instance in an IPv6-only subnet whose `::/0` goes to an egress-only gateway; its
/// agent (3.3.3270.0, Online) uses the dual-stack endpoints. Healthy.
pub fn ipv6_only() -> Facts {
    let mut f = private_with_endpoints();
    f.aws_mut().network_mut().vpc_endpoints = Fetch::collected(vec![]);
    let i = instance_mut(&mut f);
    i.private_ip = None;
    i.ipv6_addresses = vec![INSTANCE6.into()];
    for (subnet, range) in collected_mut(&mut f.aws_mut().network_mut().subnets)
        .iter_mut()
        .zip(["2600:1f18:ab:cd01::/64", "2600:1f18:ab:cd02::/64"])
    {
        subnet.cidr = None;
        subnet.ipv6_cidrs = vec![range.into()];
        subnet.ipv6_native = true;
    }
    tables_mut(&mut f)[0].routes.push(route6("::/0", "eigw-1"));
    group_mut(&mut f, "sg-inst").egress.push(SgRule {
        ipv6_cidrs: vec!["::/0".into()],
        ..sg_rule("-1", None)
    });
    for egress in [true, false] {
        acls_mut(&mut f)[0]
            .entries
            .push(nacl_entry(101, egress, "allow", "::/0", None));
    }
    agent_mut(&mut f).agent_version = Some("3.3.3270.0".into());
    f
}

fn route6(destination: &str, target: &str) -> Route {
    Route {
        destination: None,
        destination_ipv6: Some(destination.into()),
        destination_prefix_list: None,
        target: target.into(),
        state: "active".into(),
    }
}

fn subnet_a(f: &mut Facts) -> &mut Subnet {
    &mut collected_mut(&mut f.aws_mut().network_mut().subnets)[0]
}

/// `64:ff9b::/96` to an available NAT gateway instead of `::/0`, DNS64 on.
fn nat64(f: &mut Facts) {
    tables_mut(f)[0]
        .routes
        .retain(|r| r.destination_ipv6.is_none());
    tables_mut(f)[0]
        .routes
        .push(route6("64:ff9b::/96", "nat-1"));
    f.aws_mut().network_mut().nat_gateways = Fetch::collected(vec![NatGateway {
        id: "nat-1".into(),
        state: "available".into(),
        subnet_id: Some("subnet-b".into()),
        connectivity: Some("public".into()),
    }]);
    subnet_a(f).dns64 = true;
}

#[test]
fn a_correct_ipv6_only_subnet_is_healthy() {
    let report = run(&ipv6_only());
    assert!(fails(&report).is_empty(), "{:?}", fails(&report));
    assert!(statuses(&report, Status::Error).is_empty());
    assert_eq!(status(&report, "network.route"), Status::Pass);
    let said = message(&report, "network.route");
    assert!(
        said.contains("eigw-1") && said.contains("dual-stack"),
        "{said}"
    );
    assert_eq!(status(&report, "network.egress-443"), Status::Pass);
    assert_eq!(status(&report, "network.nacl"), Status::Pass);
}

#[test]
fn an_agent_too_old_for_ipv6_fails_and_an_unknown_one_is_a_doubt() {
    let mut f = ipv6_only();
    agent_mut(&mut f).agent_version = Some("3.3.40.0".into());
    let report = run(&f);
    assert_eq!(status(&report, "network.route"), Status::Fail);
    assert!(message(&report, "network.route").contains("3.3.3270.0"));
    // Never registered: whether it uses the dual-stack endpoints cannot be seen.
    let mut f = ipv6_only();
    f.aws_mut().agent = Fetch::collected(None);
    let report = run(&f);
    assert_eq!(status(&report, "network.route"), Status::Warn);
    let said = message(&report, "network.route");
    assert!(
        said.contains("UseDualStackEndpoint") && said.contains("NAT64"),
        "{said}"
    );
}

#[test]
fn ipv6_only_without_an_ipv6_route_has_no_path() {
    let mut f = ipv6_only();
    tables_mut(&mut f)[0]
        .routes
        .retain(|r| r.destination_ipv6.is_none());
    // An IPv4 default route is no use to an instance without an IPv4 address.
    tables_mut(&mut f)[0].routes.push(default_route("igw-1"));
    let report = run(&f);
    assert_eq!(status(&report, "network.route"), Status::Fail);
    let said = message(&report, "network.route");
    assert!(
        said.contains("IPv6 addresses only") && said.contains("::/0"),
        "{said}"
    );
}

#[test]
fn nat64_with_dns64_reaches_the_ipv4_endpoints_with_any_agent() {
    let mut f = ipv6_only();
    nat64(&mut f);
    agent_mut(&mut f).agent_version = Some("3.2.582.0".into());
    let report = run(&f);
    assert!(fails(&report).is_empty(), "{:?}", fails(&report));
    assert_eq!(status(&report, "network.route"), Status::Pass);
    assert!(message(&report, "network.route").contains("NAT64"));
    // Centralised NAT64 behind a transit gateway: past what ssm-doctor sees.
    let mut g = f.clone();
    tables_mut(&mut g)[0].routes.retain(|r| r.target != "nat-1");
    tables_mut(&mut g)[0]
        .routes
        .push(route6("64:ff9b::/96", "tgw-1"));
    assert_eq!(status(&run(&g), "network.route"), Status::Warn);
    // Without DNS64 the route is never used.
    subnet_a(&mut f).dns64 = false;
    let report = run(&f);
    assert_eq!(status(&report, "network.route"), Status::Fail);
    assert!(message(&report, "network.route").contains("DNS64 is off"));
}

#[test]
fn ipv6_traffic_needs_ipv6_rules() {
    // The security group opens 443 to 0.0.0.0/0 only.
    let mut f = ipv6_only();
    group_mut(&mut f, "sg-inst")
        .egress
        .retain(|r| r.ipv6_cidrs.is_empty());
    let report = run(&f);
    assert_eq!(fails(&report), set(&["network.egress-443"]));
    assert!(message(&report, "network.egress-443").contains("::/0"));
    // The network ACL allows IPv4 only.
    let mut f = ipv6_only();
    acls_mut(&mut f)[0]
        .entries
        .retain(|e| e.ipv6_cidr.is_none());
    let report = run(&f);
    assert_eq!(fails(&report), set(&["network.nacl"]));
    assert!(message(&report, "network.nacl").contains("IPv6"));
}

#[test]
fn an_ipv6_only_instance_needs_dual_stack_endpoints() {
    let mut f = ipv6_only();
    tables_mut(&mut f)[0]
        .routes
        .retain(|r| r.destination_ipv6.is_none());
    f.aws_mut().network_mut().vpc_endpoints = Fetch::collected(vec![
        endpoint("ssm"),
        endpoint("ssmmessages"),
        endpoint("ec2messages"),
    ]);
    // IPv4 endpoints do not answer it.
    let report = run(&f);
    assert_eq!(status(&report, "network.route"), Status::Warn);
    for e in endpoints_mut(&mut f) {
        e.ip_address_type = Some("dualstack".into());
    }
    // Dual-stack ones do, once their group admits the instance's IPv6 address.
    let report = run(&f);
    assert_eq!(status(&report, "network.route"), Status::Pass);
    assert_eq!(status(&report, "vpce.ingress-443"), Status::Fail);
    group_mut(&mut f, "sg-vpce").ingress[0]
        .ipv6_cidrs
        .push("2600:1f18:ab:cd00::/56".into());
    let report = run(&f);
    assert!(fails(&report).is_empty(), "{:?}", fails(&report));
    assert_eq!(status(&report, "network.egress-443"), Status::Pass);
}

#[test]
fn a_dual_stack_instance_without_ipv4_egress_uses_ipv6() {
    let mut f = ipv6_only();
    instance_mut(&mut f).private_ip = Some("10.0.1.10".into());
    subnet_a(&mut f).cidr = Some("10.0.1.0/24".into());
    let report = run(&f);
    assert_eq!(status(&report, "network.route"), Status::Pass);
    assert!(message(&report, "network.route").contains("over IPv6"));
    // With an IPv4 way out, IPv4 is the path (the agent's default).
    tables_mut(&mut f)[0].routes.push(default_route("igw-1"));
    instance_mut(&mut f).public_ip = Some("203.0.113.10".into());
    let report = run(&f);
    assert!(!message(&report, "network.route").contains("IPv6"));
}
