//! Network ACL evaluation: rules in rule-number order, first match wins, implicit deny at the end.
//!
//! A question is about a whole range of peers and ports (e.g. "all of 10.0.3.0/24 on 1024–65535"),
//! so a rule can match it entirely (it decides) or only partly (it decides for part of the traffic,
//! which the report mentions but which does not end the walk).

use crate::analysis::cidr::Cidr;
use crate::facts::{NaclEntry, NetworkAcl};
use serde::Serialize;

/// The client side of a TCP connection: the ports its return traffic goes to.
pub const EPHEMERAL: (i32, i32) = (1024, 65535);

/// The subnet's own ACL, else the VPC's default one (which AWS applies to unassociated subnets).
pub fn acl_for_subnet<'a>(acls: &'a [NetworkAcl], subnet_id: &str) -> Option<&'a NetworkAcl> {
    acls.iter()
        .find(|a| a.subnet_ids.iter().any(|s| s == subnet_id))
        .or_else(|| acls.iter().find(|a| a.is_default))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NaclDecision {
    pub allowed: bool,
    /// The deciding rule number; `None` for the implicit final deny (`*`).
    pub rule: Option<i32>,
    /// Earlier rules that deny part of the traffic in question.
    pub partial_denies: Vec<i32>,
}

impl NaclDecision {
    pub fn rule_label(&self) -> String {
        match self.rule {
            Some(n) => format!("rule {n}"),
            None => "the implicit deny rule (*)".to_string(),
        }
    }
}

pub fn evaluate(acl: &NetworkAcl, egress: bool, peer: Cidr, ports: (i32, i32)) -> NaclDecision {
    let mut entries: Vec<&NaclEntry> = acl
        .entries
        .iter()
        .filter(|e| e.egress == egress && carries_tcp(&e.protocol))
        .collect();
    entries.sort_by_key(|e| e.rule_number);
    let mut partial_denies = Vec::new();
    for entry in entries {
        let range = entry.cidr.as_deref().or(entry.ipv6_cidr.as_deref());
        let Some(cidr) = range.and_then(Cidr::parse) else {
            continue;
        };
        let (from, to) = entry_ports(entry);
        let allow = entry.action.eq_ignore_ascii_case("allow");
        if cidr.covers(peer) && from <= ports.0 && to >= ports.1 {
            return NaclDecision {
                allowed: allow,
                rule: Some(entry.rule_number),
                partial_denies,
            };
        }
        if !allow && cidr.overlaps(peer) && from <= ports.1 && to >= ports.0 {
            partial_denies.push(entry.rule_number);
        }
    }
    NaclDecision {
        allowed: false,
        rule: None,
        partial_denies,
    }
}

fn carries_tcp(protocol: &str) -> bool {
    matches!(protocol, "-1" | "6" | "tcp" | "all")
}

fn entry_ports(entry: &NaclEntry) -> (i32, i32) {
    if entry.protocol == "-1" || entry.protocol == "all" {
        return (0, 65535);
    }
    (entry.port_from.unwrap_or(0), entry.port_to.unwrap_or(65535))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::build::nacl_entry as entry;

    fn acl(entries: Vec<NaclEntry>) -> NetworkAcl {
        NetworkAcl {
            id: "acl-1".into(),
            is_default: false,
            subnet_ids: vec!["subnet-1".into()],
            entries,
        }
    }

    const ANY: Cidr = Cidr::ANY;

    #[test]
    fn lowest_rule_number_wins_whatever_the_listing_order() {
        let a = acl(vec![
            entry(200, true, "allow", "0.0.0.0/0", None),
            entry(100, true, "deny", "0.0.0.0/0", Some((443, 443))),
        ]);
        let d = evaluate(&a, true, ANY, (443, 443));
        assert!(!d.allowed);
        assert_eq!(d.rule, Some(100));
    }

    #[test]
    fn no_matching_rule_is_the_implicit_deny() {
        let a = acl(vec![entry(100, true, "allow", "0.0.0.0/0", Some((80, 80)))]);
        let d = evaluate(&a, true, ANY, (443, 443));
        assert_eq!((d.allowed, d.rule), (false, None));
        assert_eq!(d.rule_label(), "the implicit deny rule (*)");
    }

    #[test]
    fn direction_and_protocol_are_respected() {
        let mut udp = entry(100, true, "allow", "0.0.0.0/0", Some((443, 443)));
        udp.protocol = "17".into();
        let a = acl(vec![udp, entry(110, false, "allow", "0.0.0.0/0", None)]);
        assert!(!evaluate(&a, true, ANY, (443, 443)).allowed);
        assert!(evaluate(&a, false, ANY, (443, 443)).allowed);
    }

    #[test]
    fn a_narrower_earlier_deny_is_reported_but_does_not_decide() {
        let a = acl(vec![
            entry(90, false, "deny", "0.0.0.0/0", Some((1024, 2000))),
            entry(100, false, "allow", "0.0.0.0/0", Some((1024, 65535))),
        ]);
        let d = evaluate(&a, false, ANY, (1024, 65535));
        assert!(d.allowed);
        assert_eq!(d.partial_denies, vec![90]);
    }

    #[test]
    fn a_rule_for_part_of_the_peer_range_does_not_cover_it() {
        let a = acl(vec![entry(100, true, "allow", "10.0.0.0/24", None)]);
        let peer = Cidr::parse("10.0.0.0/16").unwrap();
        assert!(!evaluate(&a, true, peer, (443, 443)).allowed);
        let inside = Cidr::parse("10.0.0.0/28").unwrap();
        assert!(evaluate(&a, true, inside, (443, 443)).allowed);
    }

    #[test]
    fn associated_acl_is_preferred_over_the_default() {
        let mut default = acl(vec![]);
        default.id = "acl-default".into();
        default.is_default = true;
        default.subnet_ids.clear();
        let own = acl(vec![]);
        let acls = [default, own];
        assert_eq!(acl_for_subnet(&acls, "subnet-1").unwrap().id, "acl-1");
        assert_eq!(acl_for_subnet(&acls, "subnet-2").unwrap().id, "acl-default");
    }
}
