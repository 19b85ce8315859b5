//! Security group evaluation: which peers a set of groups lets TCP traffic reach on a port.
//! Groups are stateful, so only the direction that opens the connection matters.

use crate::analysis::cidr::Cidr;
use crate::facts::{Fetch, SecurityGroup, SgRule};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer<'a> {
    Cidr(&'a str),
    PrefixList(&'a str),
    Group(&'a str),
}

/// One peer a group's rule lets through on the port in question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant<'a> {
    pub group: &'a str,
    pub peer: Peer<'a>,
}

impl Grant<'_> {
    pub fn describe(&self) -> String {
        let peer = match self.peer {
            Peer::Cidr(c) => c.to_string(),
            Peer::PrefixList(p) | Peer::Group(p) => p.to_string(),
        };
        format!("{} → {peer}", self.group)
    }
}

fn carries_tcp_port(rule: &SgRule, port: i32) -> bool {
    match rule.protocol.as_str() {
        "-1" | "all" => true,
        "tcp" | "6" => rule.port_from.unwrap_or(0) <= port && rule.port_to.unwrap_or(65535) >= port,
        _ => false,
    }
}

/// Every peer that the groups' egress (or ingress) rules open for TCP `port`.
pub fn grants<'a>(groups: &[&'a SecurityGroup], egress: bool, port: i32) -> Vec<Grant<'a>> {
    let mut out = Vec::new();
    for group in groups {
        let rules = if egress {
            &group.egress
        } else {
            &group.ingress
        };
        for rule in rules.iter().filter(|r| carries_tcp_port(r, port)) {
            let g = group.id.as_str();
            out.extend(rule.cidrs.iter().chain(&rule.ipv6_cidrs).map(|c| Grant {
                group: g,
                peer: Peer::Cidr(c),
            }));
            out.extend(rule.prefix_list_ids.iter().map(|p| Grant {
                group: g,
                peer: Peer::PrefixList(p),
            }));
            out.extend(rule.group_ids.iter().map(|p| Grant {
                group: g,
                peer: Peer::Group(p),
            }));
        }
    }
    out
}

/// Where traffic must get to: a member of one of these groups, or every address of these ranges.
pub struct Destination<'a> {
    pub groups: &'a [String],
    pub cidrs: Vec<Cidr>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// Allowed; the grants that allow it.
    Yes(Vec<String>),
    /// Not allowed; the ranges no grant covers.
    No(Vec<Cidr>),
    /// Could not be decided: which prefix list could not be read.
    Unknown(String),
}

pub fn reaches(
    grants: &[Grant<'_>],
    destination: &Destination<'_>,
    prefix_lists: &BTreeMap<String, Fetch<Vec<String>>>,
) -> Reach {
    if let Some(g) = grants
        .iter()
        .find(|g| matches!(g.peer, Peer::Group(id) if destination.groups.iter().any(|d| d == id)))
    {
        return Reach::Yes(vec![g.describe()]);
    }
    let mut via = Vec::new();
    let mut uncovered = Vec::new();
    let mut unknown = None;
    for &target in &destination.cidrs {
        let mut covered_by = None;
        for grant in grants {
            match grant.peer {
                Peer::Cidr(c) if Cidr::parse(c).is_some_and(|c| c.covers(target)) => {
                    covered_by = Some(grant.describe());
                }
                Peer::PrefixList(id) => match prefix_lists.get(id).map(Fetch::value) {
                    Some(Some(entries)) => {
                        if entries
                            .iter()
                            .filter_map(|e| Cidr::parse(e))
                            .any(|c| c.covers(target))
                        {
                            covered_by = Some(grant.describe());
                        }
                    }
                    _ => {
                        let problem = prefix_lists
                            .get(id)
                            .and_then(Fetch::problem)
                            .unwrap_or_else(|| "its entries were not collected".to_string());
                        unknown = Some(format!("prefix list {id}: {problem}"));
                    }
                },
                _ => {}
            }
            if covered_by.is_some() {
                break;
            }
        }
        match covered_by {
            Some(g) => via.push(g),
            None => uncovered.push(target),
        }
    }
    match (uncovered.is_empty(), unknown) {
        (true, _) => {
            via.dedup();
            Reach::Yes(via)
        }
        (false, Some(problem)) => Reach::Unknown(problem),
        (false, None) => Reach::No(uncovered),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::build::sg_rule as rule;

    fn group(egress: Vec<SgRule>) -> SecurityGroup {
        SecurityGroup {
            id: "sg-i".into(),
            name: "instance".into(),
            ingress: vec![],
            egress,
        }
    }

    fn cidrs(list: &[&str]) -> Vec<Cidr> {
        list.iter().map(|c| Cidr::parse(c).unwrap()).collect()
    }

    #[test]
    fn port_and_protocol_filter_rules() {
        let mut https = rule("tcp", Some((443, 443)));
        https.cidrs.push("0.0.0.0/0".into());
        let mut http = rule("tcp", Some((80, 80)));
        http.cidrs.push("10.0.0.0/8".into());
        let mut udp = rule("udp", Some((0, 65535)));
        udp.cidrs.push("10.1.0.0/16".into());
        let g = group(vec![https, http, udp]);
        let got = grants(&[&g], true, 443);
        assert_eq!(
            got,
            vec![Grant {
                group: "sg-i",
                peer: Peer::Cidr("0.0.0.0/0")
            }]
        );
    }

    #[test]
    fn all_traffic_rules_count() {
        let mut all = rule("-1", None);
        all.group_ids.push("sg-e".into());
        let g = group(vec![all]);
        let d = Destination {
            groups: &["sg-e".to_string()],
            cidrs: cidrs(&["10.0.9.0/24"]),
        };
        assert!(matches!(
            reaches(&grants(&[&g], true, 443), &d, &BTreeMap::new()),
            Reach::Yes(_)
        ));
    }

    #[test]
    fn every_destination_range_must_be_covered() {
        let mut r = rule("tcp", Some((443, 443)));
        r.cidrs.push("10.0.1.0/24".into());
        let g = group(vec![r]);
        let d = Destination {
            groups: &[],
            cidrs: cidrs(&["10.0.1.0/24", "10.0.2.0/24"]),
        };
        assert_eq!(
            reaches(&grants(&[&g], true, 443), &d, &BTreeMap::new()),
            Reach::No(cidrs(&["10.0.2.0/24"]))
        );
    }

    #[test]
    fn prefix_lists_are_resolved_and_unknown_ones_reported() {
        let mut r = rule("tcp", Some((443, 443)));
        r.prefix_list_ids.push("pl-1".into());
        let g = group(vec![r]);
        let d = Destination {
            groups: &[],
            cidrs: cidrs(&["10.0.1.0/24"]),
        };
        let mut lists = BTreeMap::new();
        assert!(matches!(
            reaches(&grants(&[&g], true, 443), &d, &lists),
            Reach::Unknown(_)
        ));
        lists.insert(
            "pl-1".to_string(),
            Fetch::collected(vec!["10.0.0.0/16".to_string()]),
        );
        assert!(matches!(
            reaches(&grants(&[&g], true, 443), &d, &lists),
            Reach::Yes(_)
        ));
        lists.insert(
            "pl-1".to_string(),
            Fetch::collected(vec!["192.168.0.0/16".to_string()]),
        );
        assert!(matches!(
            reaches(&grants(&[&g], true, 443), &d, &lists),
            Reach::No(_)
        ));
    }
}
