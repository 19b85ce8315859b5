//! Central endpoints: how a Systems Manager name is answered inside a VPC that has no endpoint of
//! its own for it. Route 53 Resolver answers from the most specific of the VPC's forwarding rules
//! and private hosted zones, its own or its Route 53 Profile's (a rule wins a tie, and the VPC's
//! own association wins a tie with the Profile's), else publicly; DHCP options naming other DNS
//! servers take the VPC's instances away from it altogether.

use crate::analysis::cidr::Cidr;
use crate::facts::{
    DnsRecord, Fetch, HostedZone, ProfileEndpoint, ProfileResources, ResolverRule, Route,
    RouteTable, Unseen, VpcDns, VpcEndpoint,
};

/// The services whose names the agent resolves.
pub const SERVICES: [&str; 3] = ["ssm", "ssmmessages", "ec2messages"];

/// The DNS server of a VPC that uses the Route 53 Resolver.
pub const AMAZON_DNS: &str = "AmazonProvidedDNS";

/// The Route 53 Resolver, by name or by one of the addresses every VPC reaches it at (the VPC's
/// base address plus two is not told apart here: the VPC's range is not read).
fn is_amazon_dns(server: &str) -> bool {
    server.eq_ignore_ascii_case(AMAZON_DNS) || matches!(server, "169.254.169.253" | "fd00:ec2::253")
}

/// `ssm.eu-west-1.amazonaws.com`.
pub fn service_name(service: &str, region: &str) -> String {
    format!("{service}.{region}.amazonaws.com")
}

/// A name as compared here: lowercase, without the final dot (the root is empty).
pub fn dns_name(raw: &str) -> String {
    raw.trim_end_matches('.').to_ascii_lowercase()
}

/// Whether `name` is `zone` or inside it.
pub fn holds(zone: &str, name: &str) -> bool {
    zone.is_empty() || name == zone || name.ends_with(&format!(".{zone}"))
}

/// Why a VPC's DNS is not asked, if it is not: it has endpoints of its own for the services every
/// agent needs, or it routes to no other network (no central endpoint could be reached), or what
/// decides that is unknown.
pub fn unasked(
    tables: &Fetch<Vec<RouteTable>>,
    endpoints: &Fetch<Vec<VpcEndpoint>>,
    region: &str,
) -> Option<Fetch<VpcDns>> {
    let (Some(tables), Some(endpoints)) = (tables.value(), endpoints.value()) else {
        return tables.absent().or_else(|| endpoints.absent());
    };
    let own = |service: &str| {
        let name = format!("com.amazonaws.{region}.{service}");
        endpoints.iter().any(|e| {
            e.service_name == name
                && e.endpoint_type.eq_ignore_ascii_case("interface")
                && e.state.eq_ignore_ascii_case("available")
                && e.private_dns_enabled
        })
    };
    if own("ssm") && own("ssmmessages") {
        return Some(Fetch::not_applicable(
            "not asked: the VPC has endpoints of its own for ssm and ssmmessages",
        ));
    }
    let elsewhere = tables.iter().flat_map(|t| &t.routes).any(leads_elsewhere);
    (!elsewhere).then(|| {
        Fetch::not_applicable(
            "not asked: the VPC routes to no other network (no transit gateway, peering or VPN)",
        )
    })
}

/// A route to another network, where a hub's endpoints could be.
pub fn leads_elsewhere(route: &Route) -> bool {
    let t = route.target.as_str();
    ["tgw-", "pcx-", "vgw-", "arn:aws:networkmanager"]
        .iter()
        .any(|p| t.starts_with(p))
}

/// What answers one name inside the VPC.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer<'a> {
    /// A record of a private hosted zone.
    Record {
        zone: &'a HostedZone,
        record: &'a DnsRecord,
    },
    /// A private zone holds the name, but its records could not be read (typically a zone of the
    /// network account, shared with this VPC): why.
    Unreadable { zone: &'a HostedZone, why: String },
    /// A private zone holds the name but has no record for it: the name does not resolve here.
    Missing { zone: &'a HostedZone },
    /// A Resolver rule forwards the name to other DNS servers.
    Forwarded { rule: &'a ResolverRule },
    /// An interface endpoint a Route 53 Profile carries answers with its addresses.
    Endpoint {
        profile: &'a str,
        endpoint: &'a ProfileEndpoint,
    },
    /// The VPC's Route 53 Profile carries what only another account can read, which may answer
    /// the name.
    Unseen {
        profile: &'a str,
        unseen: &'a [Unseen],
    },
    /// The VPC's DHCP options send its instances' queries to other DNS servers.
    CustomServers { servers: &'a [String] },
    /// Nothing private: the public name, which only the internet path reaches.
    Public,
}

/// What answers `name` in a VPC with this DNS, or the fact missing to say.
pub fn answer<'a>(dns: &'a VpcDns, name: &str) -> Result<Answer<'a>, Fetch<()>> {
    let servers = dns.servers.as_ref().take()?;
    if servers.first().is_some_and(|s| !is_amazon_dns(s)) {
        return Ok(Answer::CustomServers { servers });
    }
    let rules = dns.rules.as_ref().take()?;
    let zones = dns.zones.as_ref().take()?;
    // The VPC's own rule or zone for the very name wins whatever a Profile carries: the answer
    // does not wait on the Profile's facts (unreadable, say, for want of the newer permissions).
    let settled = rules.iter().any(|r| r.domain == name) || zones.iter().any(|z| z.name == name);
    let profile = match dns.profile.as_ref().take() {
        Ok(Some(p)) if p.answers() => match p.resources.as_ref().take() {
            Ok(resources) => Some((p.id.as_str(), resources)),
            Err(_) if settled => None,
            Err(missing) => return Err(missing),
        },
        Ok(_) => None,
        Err(_) if settled => None,
        Err(missing) => return Err(missing),
    };
    let carried = profile.map(|(_, r)| r);
    let rule = rules
        .iter()
        .chain(carried.iter().flat_map(|r| &r.rules))
        .filter(|r| holds(&r.domain, name))
        .max_by_key(|r| (r.domain.len(), r.profile.is_none()));
    let held = zones
        .iter()
        .chain(carried.iter().flat_map(|r| &r.zones))
        .map(Held::Zone)
        .chain(
            carried
                .iter()
                .flat_map(|r| &r.endpoints)
                .map(Held::Endpoint),
        )
        .filter(|h| holds(h.domain(), name))
        .max_by_key(|h| h.rank());
    if let Some((profile, ProfileResources { unseen, .. })) = profile {
        // What is out of sight may be more specific than anything seen; only the VPC's own
        // answer for the very name is sure to win.
        if !unseen.is_empty() && !settled {
            return Ok(Answer::Unseen { profile, unseen });
        }
    }
    let forwarded = rule.filter(|r| {
        r.kind.eq_ignore_ascii_case("forward")
            && held.is_none_or(|h| r.domain.len() >= h.domain().len())
    });
    if let Some(rule) = forwarded {
        return Ok(Answer::Forwarded { rule });
    }
    let zone = match held {
        None => return Ok(Answer::Public),
        Some(Held::Endpoint(endpoint)) => {
            return Ok(Answer::Endpoint {
                profile: profile.map_or("", |(id, _)| id),
                endpoint,
            });
        }
        Some(Held::Zone(zone)) => zone,
    };
    Ok(match zone.records.value() {
        // The apex's NS and SOA records answer no address: only these do.
        Some(records) => match records.iter().find(|r| r.name == name && answers(r)) {
            Some(record) => Answer::Record { zone, record },
            None => Answer::Missing { zone },
        },
        None => Answer::Unreadable {
            zone,
            why: zone.records.problem().unwrap_or_default(),
        },
    })
}

/// A zone, or a Profile's interface endpoint (which answers its service's name as a zone of that
/// name would).
#[derive(Clone, Copy)]
enum Held<'a> {
    Zone(&'a HostedZone),
    Endpoint(&'a ProfileEndpoint),
}

impl Held<'_> {
    fn domain(&self) -> &str {
        match self {
            Held::Zone(z) => &z.name,
            Held::Endpoint(e) => &e.name,
        }
    }

    /// The most specific wins; in a tie the VPC's own association, then a zone.
    fn rank(&self) -> (usize, bool, bool) {
        match self {
            Held::Zone(z) => (z.name.len(), z.profile.is_none(), true),
            Held::Endpoint(e) => (e.name.len(), false, false),
        }
    }
}

/// Whether a record answers a name with an address (or another name that does).
pub fn answers(record: &DnsRecord) -> bool {
    matches!(record.kind.as_str(), "A" | "AAAA" | "CNAME")
}

/// The interface endpoint an alias names, and its service: `vpce-0abc…-x1y2.ssm.eu-west-1.vpce.amazonaws.com`
/// → (`vpce-0abc…`, `ssm`).
pub fn alias_endpoint(alias: &str) -> Option<(String, String)> {
    if !alias.ends_with(".vpce.amazonaws.com") {
        return None;
    }
    let mut labels = alias.split('.');
    let first = labels.next()?;
    let service = labels.next()?;
    let mut parts = first.split('-');
    let (kind, id) = (parts.next()?, parts.next()?);
    (kind == "vpce" && !id.is_empty()).then(|| (format!("vpce-{id}"), service.to_string()))
}

/// The route the table uses for `address`: the longest matching prefix (a blackhole included:
/// it drops what it matches).
pub fn route_for(table: &RouteTable, address: Cidr) -> Option<&Route> {
    table
        .routes
        .iter()
        .filter_map(|r| {
            let destination = r.destination.as_deref().or(r.destination_ipv6.as_deref())?;
            Some((r, Cidr::parse(destination)?))
        })
        .filter(|(_, d)| d.covers(address))
        .max_by_key(|(_, d)| d.prefix())
        .map(|(r, _)| r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(name: &str, records: Fetch<Vec<DnsRecord>>) -> HostedZone {
        HostedZone {
            id: format!("Z-{name}"),
            name: name.into(),
            owner: None,
            profile: None,
            records,
        }
    }

    fn alias(name: &str, target: &str) -> DnsRecord {
        DnsRecord {
            name: name.into(),
            kind: "A".into(),
            alias: Some(target.into()),
            values: vec![],
        }
    }

    fn rule(domain: &str, kind: &str) -> ResolverRule {
        ResolverRule {
            id: format!("rslvr-rr-{domain}"),
            domain: domain.into(),
            kind: kind.into(),
            targets: vec!["10.1.0.2:53".into()],
            owner: None,
            profile: None,
        }
    }

    fn dns(zones: Vec<HostedZone>, rules: Vec<ResolverRule>) -> VpcDns {
        VpcDns {
            servers: Fetch::collected(vec![AMAZON_DNS.into()]),
            zones: Fetch::collected(zones),
            rules: Fetch::collected(rules),
            attachments: Fetch::not_applicable("not read here"),
            profile: Fetch::collected(None),
        }
    }

    /// `d` with a complete Profile association carrying `resources`.
    fn with_profile(mut d: VpcDns, resources: ProfileResources) -> VpcDns {
        d.profile = Fetch::collected(Some(crate::facts::DnsProfile {
            id: "rp-1".into(),
            status: "COMPLETE".into(),
            resources: Fetch::collected(resources),
        }));
        d
    }

    fn via_profile(mut z: HostedZone) -> HostedZone {
        z.profile = Some("rp-1".into());
        z
    }

    #[test]
    fn a_profiles_zones_answer_and_the_vpcs_own_win_a_tie() {
        let theirs = via_profile(zone(SSM, Fetch::collected(vec![alias(SSM, HUB)])));
        let d = with_profile(
            dns(vec![], vec![]),
            ProfileResources {
                zones: vec![theirs.clone()],
                ..Default::default()
            },
        );
        assert!(
            matches!(answer(&d, SSM), Ok(Answer::Record { zone, .. }) if zone.profile.is_some())
        );
        assert_eq!(answer(&d, MESSAGES), Ok(Answer::Public));
        // The VPC's own zone of the same name, without the record, wins the tie.
        let own = zone(SSM, Fetch::collected(vec![]));
        let d = with_profile(
            dns(vec![own], vec![]),
            ProfileResources {
                zones: vec![theirs.clone()],
                ..Default::default()
            },
        );
        assert!(matches!(answer(&d, SSM), Ok(Answer::Missing { zone }) if zone.profile.is_none()));
        // A more specific zone of the Profile beats the VPC's own parent zone.
        let parent = zone("eu-west-1.amazonaws.com", Fetch::collected(vec![]));
        let d = with_profile(
            dns(vec![parent], vec![]),
            ProfileResources {
                zones: vec![theirs],
                ..Default::default()
            },
        );
        assert!(matches!(answer(&d, SSM), Ok(Answer::Record { .. })));
    }

    #[test]
    fn a_profiles_endpoint_answers_its_name_and_an_incomplete_association_nothing() {
        let endpoint = ProfileEndpoint {
            id: "vpce-hub".into(),
            service: "ssmmessages".into(),
            name: MESSAGES.into(),
        };
        let mut d = with_profile(
            dns(vec![], vec![]),
            ProfileResources {
                endpoints: vec![endpoint],
                ..Default::default()
            },
        );
        assert!(matches!(
            answer(&d, MESSAGES),
            Ok(Answer::Endpoint { profile: "rp-1", endpoint }) if endpoint.id == "vpce-hub"
        ));
        assert_eq!(answer(&d, SSM), Ok(Answer::Public));
        if let Fetch::Collected { value: Some(p) } = &mut d.profile {
            p.status = "CREATING".into();
        }
        assert_eq!(answer(&d, MESSAGES), Ok(Answer::Public));
    }

    #[test]
    fn the_vpcs_own_answer_for_the_name_does_not_wait_on_the_profile() {
        let own = zone(SSM, Fetch::collected(vec![alias(SSM, HUB)]));
        let mut d = dns(vec![own], vec![]);
        d.profile = Fetch::Denied {
            action: "route53profiles:ListProfileAssociations".into(),
            message: "not allowed".into(),
        };
        assert!(matches!(answer(&d, SSM), Ok(Answer::Record { .. })));
        assert!(
            answer(&d, MESSAGES).is_err(),
            "another name may be the Profile's"
        );
    }

    #[test]
    fn what_a_profile_carries_out_of_sight_leaves_the_answer_open() {
        let unseen = ProfileResources {
            unseen: vec![Unseen {
                kind: "private hosted zone".into(),
                id: "Z9".into(),
                owner: Some("999999999999".into()),
            }],
            ..Default::default()
        };
        let d = with_profile(dns(vec![], vec![]), unseen.clone());
        assert!(matches!(
            answer(&d, SSM),
            Ok(Answer::Unseen {
                profile: "rp-1",
                ..
            })
        ));
        // The VPC's own zone for the very name settles it.
        let own = zone(SSM, Fetch::collected(vec![alias(SSM, HUB)]));
        let d = with_profile(dns(vec![own], vec![]), unseen.clone());
        assert!(matches!(answer(&d, SSM), Ok(Answer::Record { .. })));
        // A parent zone does not: the Profile's may be more specific.
        let parent = zone("amazonaws.com", Fetch::collected(vec![alias(SSM, HUB)]));
        let d = with_profile(dns(vec![parent], vec![]), unseen);
        assert!(matches!(answer(&d, SSM), Ok(Answer::Unseen { .. })));
    }

    const SSM: &str = "ssm.eu-west-1.amazonaws.com";
    const MESSAGES: &str = "ssmmessages.eu-west-1.amazonaws.com";
    const HUB: &str = "vpce-0a1b2c3d4e5f60718-abcd1234.ssm.eu-west-1.vpce.amazonaws.com";

    #[test]
    fn a_zone_per_name_answers_its_name_only() {
        let d = dns(
            vec![zone(SSM, Fetch::collected(vec![alias(SSM, HUB)]))],
            vec![],
        );
        assert!(matches!(answer(&d, SSM), Ok(Answer::Record { .. })));
        assert_eq!(answer(&d, MESSAGES), Ok(Answer::Public));
    }

    #[test]
    fn a_parent_zone_without_the_record_leaves_the_name_unresolved() {
        let d = dns(
            vec![zone(
                "eu-west-1.amazonaws.com",
                Fetch::collected(vec![alias(SSM, HUB)]),
            )],
            vec![],
        );
        assert!(matches!(answer(&d, MESSAGES), Ok(Answer::Missing { .. })));
    }

    #[test]
    fn the_most_specific_wins_and_a_forwarding_rule_wins_a_tie() {
        let z = zone(SSM, Fetch::collected(vec![alias(SSM, HUB)]));
        let d = dns(vec![z.clone()], vec![rule("amazonaws.com", "FORWARD")]);
        assert!(matches!(answer(&d, SSM), Ok(Answer::Record { .. })));
        assert!(matches!(answer(&d, MESSAGES), Ok(Answer::Forwarded { .. })));
        let d = dns(vec![z.clone()], vec![rule(SSM, "FORWARD")]);
        assert!(matches!(answer(&d, SSM), Ok(Answer::Forwarded { .. })));
        // A system rule takes the name back from a forwarding rule for its parent.
        let d = dns(
            vec![],
            vec![rule("amazonaws.com", "FORWARD"), rule(SSM, "SYSTEM")],
        );
        assert_eq!(answer(&d, SSM), Ok(Answer::Public));
    }

    #[test]
    fn other_servers_an_unreadable_zone_and_unknown_facts() {
        let mut d = dns(vec![], vec![]);
        d.servers = Fetch::collected(vec!["10.9.0.2".into()]);
        assert!(matches!(answer(&d, SSM), Ok(Answer::CustomServers { .. })));
        let denied: Fetch<Vec<DnsRecord>> = Fetch::Denied {
            action: "route53:ListResourceRecordSets".into(),
            message: "another account's zone".into(),
        };
        let d = dns(vec![zone(SSM, denied)], vec![]);
        assert!(matches!(answer(&d, SSM), Ok(Answer::Unreadable { .. })));
        let mut d = dns(vec![], vec![]);
        d.rules = Fetch::Failed {
            action: "route53resolver:ListResolverRules".into(),
            reason: "boom".into(),
        };
        assert!(answer(&d, SSM).is_err());
    }

    #[test]
    fn an_apex_without_an_address_record_does_not_answer() {
        let ns = DnsRecord {
            name: SSM.into(),
            kind: "NS".into(),
            alias: None,
            values: vec!["ns-1.awsdns-00.com.".into()],
        };
        let d = dns(vec![zone(SSM, Fetch::collected(vec![ns]))], vec![]);
        assert!(matches!(answer(&d, SSM), Ok(Answer::Missing { .. })));
    }

    #[test]
    fn the_resolvers_own_addresses_are_amazon_dns() {
        let mut d = dns(vec![], vec![]);
        d.servers = Fetch::collected(vec!["169.254.169.253".into()]);
        assert_eq!(answer(&d, SSM), Ok(Answer::Public));
    }

    #[test]
    fn an_alias_names_its_endpoint_and_service() {
        assert_eq!(
            alias_endpoint(HUB),
            Some(("vpce-0a1b2c3d4e5f60718".into(), "ssm".into()))
        );
        assert_eq!(alias_endpoint("ssm.eu-west-1.amazonaws.com"), None);
    }

    #[test]
    fn names_compare_without_case_or_final_dot() {
        assert_eq!(dns_name("SSM.eu-west-1.AmazonAWS.com."), SSM);
        assert!(holds("", SSM));
        assert!(holds("amazonaws.com", SSM));
        assert!(!holds("ws.com", SSM));
    }
}
