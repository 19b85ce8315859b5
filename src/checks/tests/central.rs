//! network.dns-central and the route through central endpoints: a spoke VPC without endpoints
//! of its own, whose names private hosted zones (or Resolver rules) answer with a hub's.

use super::*;

const REGION: &str = "eu-west-1";

fn name(service: &str) -> String {
    format!("{service}.{REGION}.amazonaws.com")
}

fn hub_alias(service: &str) -> String {
    format!("vpce-0hub{service}-abcd1234.{service}.{REGION}.vpce.amazonaws.com")
}

/// A zone named like the service, aliasing the hub's endpoint at its apex.
fn zone_for(service: &str) -> HostedZone {
    HostedZone {
        id: format!("Z{service}"),
        name: name(service),
        owner: Some(ACCOUNT.into()),
        profile: None,
        records: Fetch::collected(vec![DnsRecord {
            name: name(service),
            kind: "A".into(),
            alias: Some(hub_alias(service)),
            values: vec![],
        }]),
    }
}

fn dns_mut(f: &mut Facts) -> &mut VpcDns {
    collected_mut(&mut f.aws_mut().network_mut().dns)
}

/// A spoke: no endpoints, no internet, 10.0.0.0/8 to a transit gateway; every name shared.
pub fn hub_and_spoke() -> Facts {
    let mut f = private_with_endpoints();
    f.aws_mut().network_mut().vpc_endpoints = Fetch::collected(vec![]);
    tables_mut(&mut f)[0].routes.push(Route {
        destination: Some("10.0.0.0/8".into()),
        ..default_route("tgw-1")
    });
    f.aws_mut().network_mut().dns = Fetch::collected(VpcDns {
        servers: Fetch::collected(vec!["AmazonProvidedDNS".into()]),
        zones: Fetch::collected(["ssm", "ssmmessages", "ec2messages"].map(zone_for).to_vec()),
        rules: Fetch::collected(vec![]),
        attachments: Fetch::collected(vec![TgwAttachment {
            id: "tgw-attach-spoke".into(),
            transit_gateway: "tgw-1".into(),
            transit_gateway_owner: Some(ACCOUNT.into()),
            state: "available".into(),
            route_table: Some("tgw-rtb-1".into()),
        }]),
        profile: Fetch::collected(None),
    });
    f
}

fn attachments_mut(f: &mut Facts) -> &mut Vec<TgwAttachment> {
    collected_mut(&mut dns_mut(f).attachments)
}

#[test]
fn a_spoke_whose_every_name_is_shared_is_healthy() {
    let report = run(&hub_and_spoke());
    assert!(fails(&report).is_empty(), "{:?}", fails(&report));
    assert!(statuses(&report, Status::Error).is_empty());
    assert_eq!(status(&report, "network.dns-central"), Status::Pass);
    let said = message(&report, "network.dns-central");
    assert!(
        said.contains("vpce-0hubssmmessages") && said.contains("tgw-1"),
        "{said}"
    );
    assert_eq!(status(&report, "network.route"), Status::Pass);
    assert!(message(&report, "network.route").contains("central endpoints"));
    assert_eq!(status(&report, "network.egress-443"), Status::Pass);
    assert_eq!(status(&report, "network.nacl"), Status::Pass);
}

#[test]
fn a_name_the_zones_do_not_cover_fails_when_no_internet_path_is_left() {
    let mut f = hub_and_spoke();
    collected_mut(&mut dns_mut(&mut f).zones).retain(|z| !z.name.starts_with("ssmmessages."));
    let report = run(&f);
    assert_eq!(
        fails(&report),
        set(&["network.dns-central", "network.route"])
    );
    let said = message(&report, "network.dns-central");
    assert!(
        said.contains("ssmmessages.eu-west-1.amazonaws.com has no private answer"),
        "{said}"
    );
    assert!(!said.contains("ssm.eu-west-1.amazonaws.com has"), "{said}");
    assert!(message(&report, "network.route").contains("network.dns-central"));
    // With a NAT gateway, the uncovered name takes the internet path instead.
    let mut f = hub_and_spoke();
    collected_mut(&mut dns_mut(&mut f).zones).retain(|z| !z.name.starts_with("ssmmessages."));
    tables_mut(&mut f)[0].routes.push(default_route("nat-1"));
    f.aws_mut().network_mut().nat_gateways = Fetch::collected(vec![NatGateway {
        id: "nat-1".into(),
        state: "available".into(),
        subnet_id: Some("subnet-b".into()),
        connectivity: Some("public".into()),
    }]);
    let report = run(&f);
    assert_eq!(status(&report, "network.dns-central"), Status::Pass);
    assert!(message(&report, "network.dns-central").contains("through NAT gateway nat-1"));
}

#[test]
fn a_parent_zone_without_the_record_makes_the_name_unresolvable() {
    let mut f = hub_and_spoke();
    dns_mut(&mut f).zones = Fetch::collected(vec![HostedZone {
        id: "Zregion".into(),
        name: format!("{REGION}.amazonaws.com"),
        owner: None,
        profile: None,
        records: Fetch::collected(vec![zone_for("ssm").records.value().unwrap()[0].clone()]),
    }]);
    let report = run(&f);
    assert_eq!(status(&report, "network.dns-central"), Status::Fail);
    let said = message(&report, "network.dns-central");
    assert!(
        said.contains("ssmmessages.eu-west-1.amazonaws.com does not resolve"),
        "{said}"
    );
}

#[test]
fn an_alias_to_another_services_endpoint_fails() {
    let mut f = hub_and_spoke();
    let zones = collected_mut(&mut dns_mut(&mut f).zones);
    let messages = zones
        .iter_mut()
        .find(|z| z.name.starts_with("ssmmessages."))
        .unwrap();
    collected_mut(&mut messages.records)[0].alias = Some(hub_alias("ssm"));
    let report = run(&f);
    assert_eq!(status(&report, "network.dns-central"), Status::Fail);
    assert!(
        message(&report, "network.dns-central").contains("an endpoint for ssm, not ssmmessages")
    );
}

#[test]
fn an_address_the_route_table_does_not_route_fails() {
    let mut f = hub_and_spoke();
    let zones = collected_mut(&mut dns_mut(&mut f).zones);
    for z in zones.iter_mut() {
        let r = &mut collected_mut(&mut z.records)[0];
        r.alias = None;
        r.values = vec!["172.20.1.10".into()];
    }
    let report = run(&f);
    assert_eq!(status(&report, "network.dns-central"), Status::Fail);
    assert!(message(&report, "network.dns-central").contains("has no route to 172.20.1.10/32"));
    // Routed to the transit gateway, the address is the path, and the security group is judged
    // against it.
    tables_mut(&mut f)[0].routes.push(Route {
        destination: Some("172.16.0.0/12".into()),
        ..default_route("tgw-1")
    });
    let report = run(&f);
    assert_eq!(status(&report, "network.dns-central"), Status::Pass);
    assert_eq!(status(&report, "network.route"), Status::Pass);
    group_mut(&mut f, "sg-inst").egress = vec![SgRule {
        cidrs: vec!["10.0.0.0/8".into()],
        ..sg_rule("tcp", Some((443, 443)))
    }];
    let report = run(&f);
    assert_eq!(fails(&report), set(&["network.egress-443"]));
    assert!(message(&report, "network.egress-443").contains("172.20.1.10/32"));
}

#[test]
fn forwarding_rules_other_servers_and_unreadable_zones() {
    // A Resolver rule for the whole domain forwards every name to the hub's resolver.
    let mut f = hub_and_spoke();
    let dns = dns_mut(&mut f);
    dns.zones = Fetch::collected(vec![]);
    dns.rules = Fetch::collected(vec![ResolverRule {
        id: "rslvr-rr-hub".into(),
        domain: "amazonaws.com".into(),
        kind: "FORWARD".into(),
        targets: vec!["10.1.0.2:53".into()],
        owner: None,
        profile: None,
    }]);
    let report = run(&f);
    assert_eq!(status(&report, "network.dns-central"), Status::Pass);
    assert!(message(&report, "network.dns-central").contains("rslvr-rr-hub"));
    assert_eq!(status(&report, "network.route"), Status::Pass);
    // The DHCP options name other servers: beyond what the APIs show, and what the route
    // table leads to may be where their answers are.
    let mut f = hub_and_spoke();
    dns_mut(&mut f).servers = Fetch::collected(vec!["10.9.0.2".into()]);
    let report = run(&f);
    assert_eq!(status(&report, "network.dns-central"), Status::Warn);
    assert!(message(&report, "network.dns-central").contains("10.9.0.2"));
    assert_eq!(status(&report, "network.route"), Status::Warn);
    assert_eq!(status(&report, "network.egress-443"), Status::Pass);
    // The network account's zones, shared with the spoke: their records are read only there.
    let mut f = hub_and_spoke();
    for z in collected_mut(&mut dns_mut(&mut f).zones) {
        z.owner = Some("999988887777".into());
        z.records = Fetch::not_applicable("the zone belongs to account 999988887777");
    }
    let report = run(&f);
    assert_eq!(status(&report, "network.dns-central"), Status::Pass);
    assert!(message(&report, "network.dns-central").contains("account 999988887777"));
    // This account's own zone whose records were refused: unknown, not a pass.
    let mut f = hub_and_spoke();
    collected_mut(&mut dns_mut(&mut f).zones)[1].records = Fetch::Denied {
        action: "route53:ListResourceRecordSets".into(),
        message: "no".into(),
    };
    let report = run(&f);
    assert_eq!(status(&report, "network.dns-central"), Status::Error);
    assert!(
        message(&report, "network.dns-central").contains("denied: route53:ListResourceRecordSets")
    );
}

#[test]
fn unread_dns_is_an_error_naming_the_call_and_not_asked_dns_is_a_skip() {
    let mut f = hub_and_spoke();
    dns_mut(&mut f).zones = Fetch::Denied {
        action: "route53:ListHostedZonesByVPC".into(),
        message: "no".into(),
    };
    let report = run(&f);
    assert_eq!(status(&report, "network.dns-central"), Status::Error);
    assert!(
        message(&report, "network.dns-central").contains("denied: route53:ListHostedZonesByVPC")
    );
    // The route check does not judge what it cannot see.
    assert_eq!(status(&report, "network.route"), Status::Error);
    assert!(message(&report, "network.route").contains("denied: route53:ListHostedZonesByVPC"));
    let report = run(&private_with_endpoints());
    assert_eq!(status(&report, "network.dns-central"), Status::Skip);
}

#[test]
fn private_zones_need_the_vpcs_dns_attributes() {
    let report = run(&hub_and_spoke());
    assert_eq!(status(&report, "vpc.dns-support"), Status::Pass);
    assert_eq!(status(&report, "vpc.dns-hostnames"), Status::Pass);
    let mut f = hub_and_spoke();
    f.aws_mut().network_mut().dns_hostnames = Fetch::collected(false);
    assert_eq!(fails(&run(&f)), set(&["vpc.dns-hostnames"]));
    // Other DNS servers answer: the VPC's resolver is not what is used.
    let mut f = hub_and_spoke();
    dns_mut(&mut f).servers = Fetch::collected(vec!["10.9.0.2".into()]);
    assert_eq!(status(&run(&f), "vpc.dns-support"), Status::Skip);
}

#[test]
fn the_path_is_followed_to_the_transit_gateway_attachment() {
    let report = run(&hub_and_spoke());
    let said = message(&report, "network.dns-central");
    assert!(
        said.contains(
            "tgw-1 of account 111122223333 (attachment tgw-attach-spoke, route table tgw-rtb-1)"
        ),
        "{said}"
    );
    // The attachment is associated with no route table: the gateway drops the traffic.
    let mut f = hub_and_spoke();
    attachments_mut(&mut f)[0].route_table = None;
    let report = run(&f);
    assert_eq!(status(&report, "network.dns-central"), Status::Fail);
    assert!(message(&report, "network.dns-central").contains("associated with no route table"));
    assert_eq!(status(&report, "network.route"), Status::Fail);
    // No attachment, or one that is not available.
    let mut f = hub_and_spoke();
    attachments_mut(&mut f)[0].state = "deleted".into();
    assert!(
        message(&run(&f), "network.dns-central").contains("tgw-attach-spoke to tgw-1 is deleted")
    );
    let mut f = hub_and_spoke();
    attachments_mut(&mut f).clear();
    assert!(message(&run(&f), "network.dns-central").contains("vpc-1 has no attachment to tgw-1"));
    // Unread attachments: unknown, for the route too.
    let mut f = hub_and_spoke();
    dns_mut(&mut f).attachments = Fetch::Denied {
        action: "ec2:DescribeTransitGatewayAttachments".into(),
        message: "no".into(),
    };
    let report = run(&f);
    assert_eq!(status(&report, "network.dns-central"), Status::Error);
    assert!(
        message(&report, "network.route").contains("denied: ec2:DescribeTransitGatewayAttachments")
    );
}

#[test]
fn what_review_found_wrong_stays_right() {
    // A zone named like the service whose apex holds only NS and SOA answers no address.
    let mut f = hub_and_spoke();
    let zones = collected_mut(&mut dns_mut(&mut f).zones);
    let messages = zones
        .iter_mut()
        .find(|z| z.name.starts_with("ssmmessages."))
        .unwrap();
    let apex = &mut collected_mut(&mut messages.records)[0];
    apex.kind = "NS".into();
    apex.alias = None;
    apex.values = vec!["ns-1.awsdns-00.com.".into()];
    let report = run(&f);
    assert_eq!(status(&report, "network.dns-central"), Status::Fail);
    assert!(message(&report, "network.dns-central").contains("has no record for it"));
    // A default route to the gateway and 443 open to the hub's side only: a doubt, not a failure.
    let mut f = hub_and_spoke();
    tables_mut(&mut f)[0].routes.push(default_route("tgw-1"));
    group_mut(&mut f, "sg-inst").egress = vec![SgRule {
        cidrs: vec!["10.1.0.0/16".into()],
        ..sg_rule("tcp", Some((443, 443)))
    }];
    let report = run(&f);
    assert_eq!(status(&report, "network.egress-443"), Status::Warn);
    // A forwarding rule in a VPC whose instance's table routes nowhere else fails.
    let mut f = hub_and_spoke();
    let dns = dns_mut(&mut f);
    dns.zones = Fetch::collected(vec![]);
    dns.rules = Fetch::collected(vec![ResolverRule {
        id: "rslvr-rr-hub".into(),
        domain: "amazonaws.com".into(),
        kind: "FORWARD".into(),
        targets: vec!["10.1.0.2:53".into()],
        owner: None,
        profile: None,
    }]);
    tables_mut(&mut f)[0].routes.retain(|r| r.target != "tgw-1");
    let report = run(&f);
    assert_eq!(
        status(&report, "network.dns-central"),
        Status::Fail,
        "{}",
        message(&report, "network.dns-central")
    );
    // A more specific blackhole route drops an answer's address.
    let mut f = hub_and_spoke();
    for z in collected_mut(&mut dns_mut(&mut f).zones) {
        let r = &mut collected_mut(&mut z.records)[0];
        r.alias = None;
        r.values = vec!["10.1.5.10".into()];
    }
    tables_mut(&mut f)[0].routes.push(Route {
        destination: Some("10.1.5.0/24".into()),
        state: "blackhole".into(),
        ..default_route("tgw-1")
    });
    let report = run(&f);
    assert_eq!(status(&report, "network.dns-central"), Status::Fail);
    assert!(message(&report, "network.dns-central").contains("blackhole"));
    // A gateway shared by another account: its associations are its owner's to see.
    let mut f = hub_and_spoke();
    let a = &mut attachments_mut(&mut f)[0];
    a.transit_gateway_owner = Some("999988887777".into());
    a.route_table = None;
    let report = run(&f);
    assert_eq!(status(&report, "network.dns-central"), Status::Pass);
    assert!(message(&report, "network.dns-central").contains("tgw-1 of account 999988887777"));
}

/// The spoke with no zones of its own: a Route 53 Profile carries the hub's endpoints instead.
fn spoke_with_profile(resources: ProfileResources) -> Facts {
    let mut f = hub_and_spoke();
    let dns = dns_mut(&mut f);
    dns.zones = Fetch::collected(vec![]);
    dns.profile = Fetch::collected(Some(DnsProfile {
        id: "rp-shared".into(),
        status: "COMPLETE".into(),
        resources: Fetch::collected(resources),
    }));
    f
}

fn profile_endpoint(service: &str) -> ProfileEndpoint {
    ProfileEndpoint {
        id: format!("vpce-0hub{service}"),
        service: service.into(),
        name: name(service),
    }
}

#[test]
fn a_profile_carrying_the_hubs_endpoints_is_healthy() {
    let f = spoke_with_profile(ProfileResources {
        endpoints: ["ssm", "ssmmessages", "ec2messages"]
            .map(profile_endpoint)
            .to_vec(),
        ..Default::default()
    });
    let report = run(&f);
    assert!(fails(&report).is_empty(), "{:?}", fails(&report));
    assert_eq!(status(&report, "network.dns-central"), Status::Pass);
    let said = message(&report, "network.dns-central");
    assert!(
        said.contains("endpoint vpce-0hubssmmessages (through Route 53 Profile rp-shared)"),
        "{said}"
    );
    assert_eq!(status(&report, "network.route"), Status::Pass);
    // Its zones do as well, and say how they reach the VPC.
    let mut zone = zone_for("ssmmessages");
    zone.profile = Some("rp-shared".into());
    let f = spoke_with_profile(ProfileResources {
        zones: vec![zone],
        endpoints: vec![profile_endpoint("ssm"), profile_endpoint("ec2messages")],
        ..Default::default()
    });
    let report = run(&f);
    assert_eq!(status(&report, "network.dns-central"), Status::Pass);
    assert!(message(&report, "network.dns-central").contains("through Route 53 Profile rp-shared"));
}

#[test]
fn a_profile_missing_a_name_fails_and_one_out_of_sight_is_a_doubt() {
    let f = spoke_with_profile(ProfileResources {
        endpoints: vec![profile_endpoint("ssm")],
        ..Default::default()
    });
    let report = run(&f);
    assert_eq!(
        fails(&report),
        set(&["network.dns-central", "network.route"])
    );
    assert!(
        message(&report, "network.dns-central")
            .contains("ssmmessages.eu-west-1.amazonaws.com has no private answer"),
    );
    let f = spoke_with_profile(ProfileResources {
        unseen: vec![Unseen {
            kind: "private hosted zone".into(),
            id: "Zhub".into(),
            owner: Some("222222222222".into()),
        }],
        ..Default::default()
    });
    let report = run(&f);
    assert!(fails(&report).is_empty(), "{:?}", fails(&report));
    assert_eq!(status(&report, "network.dns-central"), Status::Warn);
    let said = message(&report, "network.dns-central");
    assert!(
        said.contains("may be answered by Route 53 Profile rp-shared")
            && said.contains("1 private hosted zone only account 222222222222 can read"),
        "{said}"
    );
    assert_eq!(status(&report, "network.route"), Status::Warn);
    // The Profile is the VPC's resolver at work: its attributes matter.
    assert_eq!(status(&report, "vpc.dns-support"), Status::Pass);
    // Its resources unread: unknown, never "no private answer".
    let mut f = spoke_with_profile(ProfileResources::default());
    collected_mut(&mut dns_mut(&mut f).profile)
        .as_mut()
        .unwrap()
        .resources = Fetch::Denied {
        action: "route53profiles:ListProfileResourceAssociations".into(),
        message: "no".into(),
    };
    let report = run(&f);
    assert_eq!(status(&report, "network.dns-central"), Status::Error);
    assert!(message(&report, "network.dns-central").contains("ListProfileResourceAssociations"));
    assert_eq!(status(&report, "network.route"), Status::Error);
}
