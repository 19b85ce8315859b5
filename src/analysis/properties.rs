//! Property tests of the address and rule arithmetic. Addresses are drawn mostly from one small
//! network so that generated ranges nest and overlap often, which is where the arithmetic can go
//! wrong.

use super::cidr::Cidr;
use super::nacl::evaluate;
use super::security_group::{Destination, Reach, grants, reaches};
use crate::facts::build::{nacl_entry, sg_rule};
use crate::facts::{Fetch, NaclEntry, NetworkAcl, SecurityGroup, SgRule};
use proptest::prelude::*;
use proptest::sample::select;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

const PROTOCOLS: &[&str] = &["-1", "6", "17"];
/// Ports rules name, so that generated ranges often share their bounds.
const PORTS: &[i32] = &[0, 22, 80, 443, 1023, 1024, 32768, 65535];
const SG_PROTOCOLS: &[&str] = &["-1", "tcp", "6", "udp"];
/// One list whose entries are known, one the caller may not read, one never collected.
const PREFIX_LISTS: &[&str] = &["pl-known", "pl-denied", "pl-uncollected"];
const GROUPS: &[&str] = &["sg-endpoint", "sg-other"];

fn address() -> impl Strategy<Value = u32> {
    prop_oneof![
        3 => (0..1024u32).prop_map(|low| u32::from(Ipv4Addr::new(10, 0, 0, 0)) | low),
        1 => any::<u32>(),
    ]
}

/// An address and a prefix length, host bits included.
fn network() -> impl Strategy<Value = (u32, u8)> {
    (address(), 0..=32u8)
}

fn text(address: u32, prefix: u8) -> String {
    format!("{}/{prefix}", Ipv4Addr::from(address))
}

fn cidr(address: u32, prefix: u8) -> Cidr {
    let text = text(address, prefix);
    Cidr::parse(&text).unwrap_or_else(|| panic!("{text} does not parse"))
}

/// The network bits of a prefix length up to 32, computed apart from `Cidr`.
fn mask(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

/// Whether an entry's range holds `address`, computed apart from `Cidr`.
fn holds(range: Option<&str>, address: u32) -> bool {
    let Some((base, length)) = range.and_then(|r| r.split_once('/')) else {
        return false;
    };
    match (base.parse::<Ipv4Addr>(), length.parse::<u8>()) {
        (Ok(base), Ok(length)) if length <= 32 => ((u32::from(base) ^ address) & mask(length)) == 0,
        _ => false,
    }
}

fn ordered((a, b): (i32, i32)) -> (i32, i32) {
    (a.min(b), a.max(b))
}

fn port() -> impl Strategy<Value = i32> {
    prop_oneof![select(PORTS), 0..=65535i32]
}

fn ports() -> impl Strategy<Value = (i32, i32)> {
    prop_oneof![
        select(PORTS).prop_map(|port| (port, port)),
        (select(PORTS), select(PORTS)).prop_map(ordered),
        (0..=65535i32, 0..=65535i32).prop_map(ordered),
    ]
}

fn cidr_text() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => Just("0.0.0.0/0".to_string()),
        4 => network().prop_map(|(address, prefix)| text(address, prefix)),
    ]
}

/// An entry as `DescribeNetworkAcls` gives it: IPv6 entries have no IPv4 CIDR, and only TCP and
/// UDP entries have ports.
fn entry() -> impl Strategy<Value = NaclEntry> {
    (
        2..=300i32,
        any::<bool>(),
        select(PROTOCOLS),
        any::<bool>(),
        prop::option::weighted(0.9, cidr_text()),
        ports(),
    )
        .prop_map(|(rule_number, egress, protocol, allow, cidr, (from, to))| {
            let has_ports = protocol != "-1";
            NaclEntry {
                rule_number,
                egress,
                protocol: protocol.to_string(),
                action: if allow { "allow" } else { "deny" }.to_string(),
                cidr,
                ipv6_cidr: None,
                port_from: has_ports.then_some(from),
                port_to: has_ports.then_some(to),
            }
        })
}

/// The entries of one ACL in listing order. AWS refuses two entries with one number in one
/// direction, the one case where the listing order would decide.
fn entries() -> impl Strategy<Value = Vec<NaclEntry>> {
    prop::collection::vec(entry(), 0..10)
        .prop_map(|mut entries| {
            entries.sort_by_key(|e| (e.egress, e.rule_number));
            entries.dedup_by_key(|e| (e.egress, e.rule_number));
            entries
        })
        .prop_shuffle()
}

/// Anything the fields can hold, malformed included.
fn any_entry() -> impl Strategy<Value = NaclEntry> {
    (
        any::<i32>(),
        any::<bool>(),
        prop_oneof![select(PROTOCOLS).prop_map(str::to_string), ".{0,3}"],
        prop_oneof![
            Just("allow".to_string()),
            Just("DENY".to_string()),
            ".{0,6}"
        ],
        prop::option::of(prop_oneof![cidr_text(), ".{0,20}"]),
        any::<Option<i32>>(),
        any::<Option<i32>>(),
    )
        .prop_map(
            |(rule_number, egress, protocol, action, cidr, port_from, port_to)| NaclEntry {
                rule_number,
                egress,
                protocol,
                action,
                cidr,
                ipv6_cidr: None,
                port_from,
                port_to,
            },
        )
}

fn acl(entries: Vec<NaclEntry>) -> NetworkAcl {
    NetworkAcl {
        id: "acl-1".to_string(),
        is_default: false,
        subnet_ids: Vec::new(),
        entries,
    }
}

fn permission() -> impl Strategy<Value = SgRule> {
    let ids = |known: &'static [&'static str]| {
        prop::collection::vec(select(known).prop_map(str::to_string), 0..2)
    };
    (
        select(SG_PROTOCOLS),
        ports(),
        prop::collection::vec(cidr_text(), 0..3),
        ids(PREFIX_LISTS),
        ids(GROUPS),
    )
        .prop_map(
            |(protocol, ports, cidrs, prefix_list_ids, group_ids)| SgRule {
                cidrs,
                prefix_list_ids,
                group_ids,
                ..sg_rule(protocol, (protocol != "-1").then_some(ports))
            },
        )
}

fn security_group(egress: Vec<SgRule>) -> SecurityGroup {
    SecurityGroup {
        id: "sg-instance".to_string(),
        name: "instance".to_string(),
        ingress: Vec::new(),
        egress,
    }
}

fn prefix_lists() -> BTreeMap<String, Fetch<Vec<String>>> {
    let denied = Fetch::Denied {
        action: "ec2:GetManagedPrefixListEntries".to_string(),
        message: "not authorized".to_string(),
    };
    let known = Fetch::collected(vec!["10.0.0.0/16".to_string()]);
    BTreeMap::from([
        ("pl-known".to_string(), known),
        ("pl-denied".to_string(), denied),
    ])
}

/// How far a verdict gets: not reached, undecided, reached.
fn rank(reach: &Reach) -> u8 {
    match reach {
        Reach::No(_) => 0,
        Reach::Unknown(_) => 1,
        Reach::Yes(_) => 2,
    }
}

fn destination_groups(to_group: bool) -> Vec<String> {
    if to_group {
        vec!["sg-endpoint".to_string()]
    } else {
        Vec::new()
    }
}

proptest! {
    #[test]
    fn display_shows_the_network_and_parses_back((address, prefix) in network()) {
        let parsed = cidr(address, prefix);
        prop_assert_eq!(parsed.to_string(), text(address & mask(prefix), prefix));
        prop_assert_eq!(Cidr::parse(&parsed.to_string()), Some(parsed));
    }

    #[test]
    fn a_bare_address_is_a_slash_32(address in address()) {
        prop_assert_eq!(
            Cidr::parse(&Ipv4Addr::from(address).to_string()),
            Some(cidr(address, 32))
        );
    }

    #[test]
    fn prefixes_beyond_32_are_refused(address in address(), prefix in 33..=255u8) {
        prop_assert_eq!(Cidr::parse(&text(address, prefix)), None);
    }

    #[test]
    fn parse_never_panics_and_what_it_accepts_parses_back(
        text in prop_oneof![".*", "[0-9./ ]{0,20}", "[0-9]{1,4}(\\.[0-9]{1,4}){3}(/[0-9]{1,3})?"],
        bytes in any::<Vec<u8>>(),
    ) {
        for text in [text, String::from_utf8_lossy(&bytes).into_owned()] {
            if let Some(parsed) = Cidr::parse(&text) {
                prop_assert_eq!(Cidr::parse(&parsed.to_string()), Some(parsed));
            }
        }
    }

    #[test]
    fn covers_is_reflexive_and_transitive(
        (a, p) in network(),
        (b, q) in network(),
        (c, r) in network(),
    ) {
        let (a, b, c) = (cidr(a, p), cidr(b, q), cidr(c, r));
        prop_assert!(a.covers(a));
        if a.covers(b) && b.covers(c) {
            prop_assert!(a.covers(c));
        }
    }

    #[test]
    fn a_shorter_prefix_of_an_address_covers_a_longer_one(
        address in address(),
        p in 0..=32u8,
        q in 0..=32u8,
    ) {
        let (wide, narrow) = (cidr(address, p.min(q)), cidr(address, p.max(q)));
        prop_assert!(wide.covers(narrow));
        prop_assert_eq!(narrow.covers(wide), p == q);
    }

    #[test]
    fn ranges_nest_or_are_disjoint((a, p) in network(), (b, q) in network()) {
        let (a, b) = (cidr(a, p), cidr(b, q));
        if a.covers(b) {
            prop_assert!(a.overlaps(b));
        }
        prop_assert_eq!(a.overlaps(b), b.overlaps(a));
        prop_assert_eq!(a.overlaps(b), a.covers(b) || b.covers(a));
    }

    #[test]
    fn a_range_covers_each_of_its_addresses_and_no_other(
        (address, prefix) in network(),
        host in any::<u32>(),
    ) {
        let range = cidr(address, prefix);
        let inside = (address & mask(prefix)) | (host & !mask(prefix));
        prop_assert!(range.covers(cidr(inside, 32)));
        prop_assert!(range.overlaps(cidr(inside, 32)));
        if prefix > 0 {
            // Flipping the last network bit lands just outside the range.
            let outside = inside ^ (1_u32 << (32 - u32::from(prefix)));
            prop_assert!(!range.covers(cidr(outside, 32)));
            prop_assert!(!range.overlaps(cidr(outside, 32)));
        }
    }

    #[test]
    fn the_listing_order_of_entries_does_not_count(
        (entries, reordered) in entries()
            .prop_flat_map(|listed| (Just(listed.clone()), Just(listed).prop_shuffle())),
        egress in any::<bool>(),
        (address, prefix) in network(),
        ports in ports(),
    ) {
        let peer = cidr(address, prefix);
        prop_assert_eq!(
            evaluate(&acl(entries), egress, peer, ports),
            evaluate(&acl(reordered), egress, peer, ports)
        );
    }

    #[test]
    fn one_address_and_port_are_decided_by_the_first_entry_that_matches_them(
        entries in entries(),
        egress in any::<bool>(),
        address in address(),
        port in port(),
    ) {
        let first = entries
            .iter()
            .filter(|e| e.egress == egress && e.protocol != "17")
            .filter(|e| holds(e.cidr.as_deref(), address))
            .filter(|e| {
                e.protocol == "-1"
                    || (e.port_from.unwrap_or(0)..=e.port_to.unwrap_or(65535)).contains(&port)
            })
            .min_by_key(|e| e.rule_number)
            .map(|e| (e.rule_number, e.action == "allow"));
        let decision = evaluate(&acl(entries), egress, cidr(address, 32), (port, port));
        prop_assert_eq!(decision.rule, first.map(|(rule, _)| rule));
        prop_assert_eq!(decision.allowed, first.is_some_and(|(_, allow)| allow));
        // A single address and port is always wholly in or out of a rule.
        prop_assert!(decision.partial_denies.is_empty());
    }

    #[test]
    fn a_deny_numbered_first_that_covers_the_traffic_denies(
        mut entries in entries(),
        egress in any::<bool>(),
        (address, prefix) in network(),
        wider in 0..=32u8,
        ports in ports(),
        all_traffic in any::<bool>(),
    ) {
        let first = entries.iter().map(|e| e.rule_number).min().unwrap_or(100) - 1;
        let covering = text(address, wider.min(prefix));
        let deny_ports = (!all_traffic).then_some(ports);
        entries.push(nacl_entry(first, egress, "deny", &covering, deny_ports));
        let decision = evaluate(&acl(entries), egress, cidr(address, prefix), ports);
        prop_assert!(!decision.allowed);
        prop_assert_eq!(decision.rule, Some(first));
        prop_assert!(decision.partial_denies.is_empty());
    }

    #[test]
    fn another_deny_entry_never_allows_more(
        entries in entries(),
        mut deny in entry(),
        numbered_first in any::<bool>(),
        egress in any::<bool>(),
        (address, prefix) in network(),
        ports in ports(),
    ) {
        deny.action = "deny".to_string();
        if numbered_first {
            // Every generated number is at least 2.
            deny.rule_number = 1;
        }
        prop_assume!(
            !entries.iter().any(|e| e.egress == deny.egress && e.rule_number == deny.rule_number)
        );
        let peer = cidr(address, prefix);
        let mut network_acl = acl(entries);
        let before = evaluate(&network_acl, egress, peer, ports);
        network_acl.entries.push(deny);
        let after = evaluate(&network_acl, egress, peer, ports);
        if after.allowed {
            prop_assert!(before.allowed);
            prop_assert_eq!(before.rule, after.rule);
        }
    }

    #[test]
    fn an_allow_without_partial_denies_allows_each_address_and_port(
        entries in entries(),
        egress in any::<bool>(),
        (address, prefix) in network(),
        ports in ports(),
        host in any::<u32>(),
        port_offset in any::<u16>(),
    ) {
        let network_acl = acl(entries);
        let whole = evaluate(&network_acl, egress, cidr(address, prefix), ports);
        if whole.allowed && whole.partial_denies.is_empty() {
            let inside = (address & mask(prefix)) | (host & !mask(prefix));
            let port = ports.0 + i32::from(port_offset) % (ports.1 - ports.0 + 1);
            let one = evaluate(&network_acl, egress, cidr(inside, 32), (port, port));
            prop_assert!(one.allowed, "{whole:?} but {one:?} for {inside} port {port}");
        }
    }

    #[test]
    fn only_tcp_entries_of_the_direction_in_question_count(
        entries in entries(),
        egress in any::<bool>(),
        (address, prefix) in network(),
        ports in ports(),
    ) {
        let peer = cidr(address, prefix);
        let relevant: Vec<NaclEntry> = entries
            .iter()
            .filter(|e| e.egress == egress && e.protocol != "17")
            .cloned()
            .collect();
        prop_assert_eq!(
            evaluate(&acl(entries), egress, peer, ports),
            evaluate(&acl(relevant), egress, peer, ports)
        );
    }

    #[test]
    fn evaluate_never_panics_and_the_implicit_deny_never_allows(
        entries in prop::collection::vec(any_entry(), 0..10),
        egress in any::<bool>(),
        (address, prefix) in network(),
        ports in any::<(i32, i32)>(),
    ) {
        let decision = evaluate(&acl(entries), egress, cidr(address, prefix), ports);
        prop_assert!(decision.rule.is_some() || !decision.allowed);
        prop_assert!(!decision.rule_label().is_empty());
    }

    #[test]
    fn another_security_group_rule_never_takes_reach_away(
        rules in prop::collection::vec(permission(), 0..4),
        extra in permission(),
        port in port(),
        to_group in any::<bool>(),
        targets in prop::collection::vec(network(), 1..3),
    ) {
        let groups = destination_groups(to_group);
        let destination = Destination {
            groups: &groups,
            cidrs: targets.iter().map(|&(address, prefix)| cidr(address, prefix)).collect(),
        };
        let lists = prefix_lists();
        let mut group = security_group(rules);
        let before = reaches(&grants(&[&group], true, port), &destination, &lists);
        group.egress.push(extra);
        let after = reaches(&grants(&[&group], true, port), &destination, &lists);
        prop_assert!(rank(&after) >= rank(&before), "{before:?} then {after:?}");
    }

    #[test]
    fn the_order_of_security_group_rules_does_not_change_the_verdict(
        (rules, reordered) in prop::collection::vec(permission(), 0..5)
            .prop_flat_map(|listed| (Just(listed.clone()), Just(listed).prop_shuffle())),
        port in port(),
        to_group in any::<bool>(),
        targets in prop::collection::vec(network(), 1..3),
    ) {
        let groups = destination_groups(to_group);
        let destination = Destination {
            groups: &groups,
            cidrs: targets.iter().map(|&(address, prefix)| cidr(address, prefix)).collect(),
        };
        let lists = prefix_lists();
        let first = reaches(&grants(&[&security_group(rules)], true, port), &destination, &lists);
        let second =
            reaches(&grants(&[&security_group(reordered)], true, port), &destination, &lists);
        // Which grant is named may differ; whether, and which ranges are left uncovered, may not.
        let same = match (&first, &second) {
            (Reach::No(a), Reach::No(b)) => a == b,
            _ => rank(&first) == rank(&second),
        };
        prop_assert!(same, "{first:?} vs {second:?}");
    }
}
