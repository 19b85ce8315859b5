//! network.egress-443 on the internet path when 443 is open to less than the whole internet:
//! ranges that cannot hold a public endpoint, public ranges, and AWS's published ranges.

use super::*;
use crate::analysis::ip_ranges::IpRanges;
use crate::checks::Reference;

/// Two AMAZON ranges in the fixture's region (eu-west-1), one elsewhere.
const RANGES: &str = r#"{"syncToken": "1", "createDate": "2026-11-28-01-02-03",
  "prefixes": [
    {"ip_prefix": "52.94.0.0/22", "region": "eu-west-1", "service": "AMAZON"},
    {"ip_prefix": "52.95.0.0/24", "region": "eu-west-1", "service": "AMAZON"},
    {"ip_prefix": "3.5.0.0/16", "region": "us-east-1", "service": "AMAZON"}],
  "ipv6_prefixes": []}"#;

fn with_ranges(f: &Facts) -> Report {
    let reference = Reference {
        ip_ranges: Some(Arc::new(IpRanges::parse(RANGES).unwrap())),
    };
    super::super::judge(f, Stats::default(), &reference)
}

/// Behind a NAT gateway, 443 open only to `cidrs`.
fn open_to(cidrs: &[&str]) -> Facts {
    let mut f = private_with_nat();
    group_mut(&mut f, "sg-inst").egress = vec![SgRule {
        cidrs: cidrs.iter().map(|c| c.to_string()).collect(),
        ..sg_rule("tcp", Some((443, 443)))
    }];
    f
}

#[test]
fn ranges_that_cannot_hold_a_public_endpoint_fail_naming_them() {
    let report = run(&open_to(&["172.31.0.0/16", "192.0.2.0/24"]));
    assert_eq!(fails(&report), set(&["network.egress-443"]));
    let said = message(&report, "network.egress-443");
    assert!(said.contains("172.31.0.0/16 (private)"), "{said}");
    assert!(said.contains("192.0.2.0/24 (documentation)"), "{said}");
    assert!(said.contains("cannot hold"), "{said}");
}

#[test]
fn a_public_range_is_a_doubt_that_ip_ranges_decides() {
    let f = open_to(&["52.94.0.0/16"]);
    let report = run(&f);
    assert_eq!(status(&report, "network.egress-443"), Status::Warn);
    let said = message(&report, "network.egress-443");
    assert!(
        said.contains("52.94.0.0/16") && said.contains("--ip-ranges"),
        "{said}"
    );
    // It holds both of the region's AMAZON ranges.
    let report = with_ranges(&open_to(&["52.94.0.0/15"]));
    assert_eq!(status(&report, "network.egress-443"), Status::Pass);
    assert!(message(&report, "network.egress-443").contains("2026-11-28-01-02-03"));
    // It holds one of them.
    let report = with_ranges(&open_to(&["52.94.0.0/16"]));
    assert_eq!(status(&report, "network.egress-443"), Status::Warn);
    assert!(message(&report, "network.egress-443").contains("1 of the 2 AMAZON ranges"));
    // It holds none of the region's (another region's range is no use).
    let report = with_ranges(&open_to(&["3.5.0.0/16"]));
    assert_eq!(fails(&report), set(&["network.egress-443"]));
    assert!(message(&report, "network.egress-443").contains("none of the 2"));
}

#[test]
fn egress_to_a_prefix_list_of_aws_ranges_does_not_fail() {
    let mut f = private_with_nat();
    group_mut(&mut f, "sg-inst").egress = vec![SgRule {
        prefix_list_ids: vec!["pl-aws".into()],
        ..sg_rule("tcp", Some((443, 443)))
    }];
    f.aws_mut().network_mut().prefix_lists.insert(
        "pl-aws".into(),
        Fetch::collected(vec!["52.94.0.0/22".into(), "52.95.0.0/24".into()]),
    );
    assert_eq!(status(&run(&f), "network.egress-443"), Status::Warn);
    assert_eq!(status(&with_ranges(&f), "network.egress-443"), Status::Pass);
}

#[test]
fn private_ranges_behind_an_opaque_route_stay_a_doubt() {
    // A transit gateway may lead to central endpoints or an egress VPC in private ranges.
    let mut f = open_to(&["10.0.0.0/8"]);
    tables_mut(&mut f)[1].routes = vec![default_route("tgw-1")];
    assert_eq!(status(&run(&f), "network.egress-443"), Status::Warn);
}
