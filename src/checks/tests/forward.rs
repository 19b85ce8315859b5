//! session.forward over fixture facts: the route, security groups and network ACLs between the
//! instance and a remote host.

use super::*;

/// The base forwarding to `address`:5432.
fn forwarding_to(address: &str) -> Facts {
    let mut f = private_with_endpoints();
    f.target.forward = Some(Forward {
        host: "db.internal".into(),
        port: 5432,
        addresses: Fetch::collected(vec![address.into()]),
    });
    f
}

#[test]
fn without_forward_it_does_not_apply() {
    assert_eq!(
        status(&run(&private_with_endpoints()), "session.forward"),
        Status::Skip
    );
}

#[test]
fn a_host_inside_the_vpc_is_reached_when_nothing_refuses() {
    let report = run(&forwarding_to("10.0.2.40"));
    assert_eq!(status(&report, "session.forward"), Status::Pass);
    let said = message(&report, "session.forward");
    assert!(
        said.contains("10.0.2.40") && said.contains("own security group"),
        "{said}"
    );
}

#[test]
fn an_egress_rule_that_misses_the_port_fails() {
    let mut f = forwarding_to("10.0.2.40");
    group_mut(&mut f, "sg-inst").egress = vec![SgRule {
        cidrs: vec!["0.0.0.0/0".into()],
        ..sg_rule("tcp", Some((443, 443)))
    }];
    let report = run(&f);
    assert_eq!(status(&report, "session.forward"), Status::Fail);
    assert!(message(&report, "session.forward").contains("TCP 5432"));
}

#[test]
fn the_host_subnets_acl_is_judged_too() {
    let mut f = forwarding_to("10.0.2.40");
    acls_mut(&mut f).push(NetworkAcl {
        id: "acl-db".into(),
        is_default: false,
        subnet_ids: vec!["subnet-b".into()],
        entries: vec![
            nacl_entry(100, false, "allow", "10.0.0.0/16", Some((443, 443))),
            nacl_entry(100, true, "allow", "0.0.0.0/0", None),
        ],
    });
    acls_mut(&mut f)[0].subnet_ids.retain(|s| s != "subnet-b");
    let report = run(&f);
    assert_eq!(status(&report, "session.forward"), Status::Fail);
    let said = message(&report, "session.forward");
    assert!(
        said.contains("acl-db") && said.contains("subnet-b"),
        "{said}"
    );
}

#[test]
fn a_host_outside_the_vpc_needs_a_route() {
    let report = run(&forwarding_to("198.51.100.7"));
    assert_eq!(status(&report, "session.forward"), Status::Fail);
    assert!(message(&report, "session.forward").contains("no route"));
    let mut f = forwarding_to("198.51.100.7");
    f.aws_mut().network = private_with_nat().aws.unwrap().network;
    assert_eq!(status(&run(&f), "session.forward"), Status::Pass);
}

#[test]
fn a_name_this_machine_cannot_resolve_is_an_error_naming_it() {
    let mut f = forwarding_to("10.0.2.40");
    f.target.forward.as_mut().unwrap().addresses = Fetch::Failed {
        action: "resolving db.internal on this machine".into(),
        reason: "failed to lookup address information".into(),
    };
    let report = run(&f);
    assert_eq!(status(&report, "session.forward"), Status::Error);
    assert!(message(&report, "session.forward").contains("resolving db.internal"));
}
