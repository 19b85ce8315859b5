//! EC2 questions: the instance, and its VPCs' network objects (each kind asked once for every VPC).

use super::ledger::{Ledger, Scope};
use super::{Aws, Missing, failure, incomplete, required};
use crate::analysis::central;
use crate::facts::*;
use aws_sdk_ec2::types::{self as t, Filter, VpcAttributeName};
use futures::future::join_all;
use std::collections::{BTreeMap, BTreeSet};

/// Drains a paginator into one list, each page one counted call under the concurrency limit; the
/// first failed or incomplete page decides the outcome. `$items` reads one page into
/// `Result<impl IntoIterator, Missing>`.
macro_rules! paged {
    ($aws:expr, $action:literal, $request:expr, |$page:ident| $items:expr) => {{
        let mut stream = $request.into_paginator().send();
        let mut all = Vec::new();
        loop {
            match $aws.page(stream.next()).await {
                None => break Fetch::collected(all),
                Some(Ok($page)) => match $items {
                    Ok(items) => all.extend(items),
                    Err(missing) => break $crate::collect::incomplete($action, missing),
                },
                Some(Err(e)) => break failure($action, e),
            }
        }
    }};
}
pub(super) use paged;

/// EC2 takes at most this many values in one filter.
pub(super) const VALUES_PER_FILTER: usize = 200;

fn vpc_filter(vpc_ids: &[&str]) -> Filter {
    let values = vpc_ids.iter().map(|v| v.to_string()).collect();
    Filter::builder()
        .name("vpc-id")
        .set_values(Some(values))
        .build()
}

pub(super) fn strings<'a>(items: impl IntoIterator<Item = Option<&'a str>>) -> Vec<String> {
    items.into_iter().flatten().map(str::to_string).collect()
}

/// An object with the VPC it belongs to, so that one answer for many VPCs can be dealt out.
type InVpc<T> = (String, T);

/// The VPCs one question was asked for, and its answer.
type Asked<'a, T> = (&'a [&'a str], Fetch<Vec<InVpc<T>>>);

fn in_vpc<T>(vpc: Option<&str>, object: Result<T, Missing>) -> Result<InVpc<T>, Missing> {
    Ok((required(vpc, "an object's VpcId")?.to_string(), object?))
}

/// Each VPC's share of the answers to questions asked for chunks of VPCs: a chunk's failure is
/// each of its VPCs', and a VPC without any such object gets an empty list.
fn deal<T: Clone>(answers: &[Asked<'_, T>]) -> BTreeMap<String, Fetch<Vec<T>>> {
    let mut dealt = BTreeMap::new();
    for (vpcs, answer) in answers {
        for vpc in *vpcs {
            let share = answer.as_ref().map(|all| {
                all.iter()
                    .filter(|(of, _)| of == vpc)
                    .map(|(_, object)| object.clone())
                    .collect()
            });
            dealt.insert(vpc.to_string(), share);
        }
    }
    dealt
}

/// One kind of network object for many VPCs: one paginated question per chunk of VPC ids (each
/// `$objects` reads a page into `Result<Vec<InVpc<_>>, Missing>`), dealt out to the VPCs.
macro_rules! per_vpc {
    ($aws:expr, $chunks:expr, $action:literal, |$filter:ident| $request:expr, |$page:ident| $objects:expr) => {{
        let answers = join_all($chunks.iter().map(|chunk| async move {
            let $filter = vpc_filter(chunk);
            (*chunk, paged!($aws, $action, $request, |$page| $objects))
        }))
        .await;
        deal(&answers)
    }};
}

/// Why a VPC's DNS attributes are not asked, if they are not: no interface endpoint of its uses
/// private DNS, or its endpoints are unknown (and, with them, whether the attributes matter).
fn dns_unasked(endpoints: &Fetch<Vec<VpcEndpoint>>) -> Option<Fetch<bool>> {
    match endpoints.value() {
        Some(list) if uses_private_dns(list) => None,
        Some(_) => Some(Fetch::not_applicable(
            "not asked: no interface endpoint with private DNS is in the VPC",
        )),
        None => endpoints.absent(),
    }
}

fn uses_private_dns(endpoints: &[VpcEndpoint]) -> bool {
    endpoints
        .iter()
        .any(|e| e.endpoint_type == "Interface" && e.private_dns_enabled)
}

/// The prefix lists the groups' rules reference.
fn referenced(groups: &Fetch<Vec<SecurityGroup>>) -> BTreeSet<&str> {
    groups
        .value()
        .into_iter()
        .flatten()
        .flat_map(|g| g.ingress.iter().chain(&g.egress))
        .flat_map(|r| r.prefix_list_ids.iter().map(String::as_str))
        .collect()
}

/// The answer dealt to `vpc`: every VPC asked about is dealt one.
fn share<T>(dealt: &mut BTreeMap<String, Fetch<Vec<T>>>, vpc: &str) -> Fetch<Vec<T>> {
    dealt.remove(vpc).unwrap_or_else(|| Fetch::Failed {
        action: "ec2".into(),
        reason: format!("no answer was dealt to {vpc}"),
    })
}

impl Aws {
    /// Every object the network checks read, for each VPC: each kind asked once for all of them
    /// (a `vpc-id` filter with many values), beside the DNS attributes EC2 gives only per VPC.
    /// `accounts` own the instances (whose zones' records this account may read).
    pub(super) async fn networks(
        &self,
        vpcs: &[&str],
        accounts: &BTreeSet<&str>,
    ) -> BTreeMap<String, NetworkFacts> {
        let ec2 = &self.ec2;
        let chunks: Vec<&[&str]> = vpcs.chunks(VALUES_PER_FILTER).collect();
        let chunks = &chunks;
        let described = Ledger::within(Scope::Vpcs, async {
            tokio::join!(
                async {
                    per_vpc!(
                        self,
                        chunks,
                        "ec2:DescribeRouteTables",
                        |filter| ec2.describe_route_tables().filters(filter),
                        |p| p
                            .route_tables()
                            .iter()
                            .map(|o| in_vpc(o.vpc_id(), route_table(o)))
                            .collect::<Result<Vec<_>, _>>()
                    )
                },
                async {
                    per_vpc!(
                        self,
                        chunks,
                        "ec2:DescribeNatGateways",
                        |filter| ec2.describe_nat_gateways().filter(filter),
                        |p| p
                            .nat_gateways()
                            .iter()
                            .map(|o| in_vpc(o.vpc_id(), nat_gateway(o)))
                            .collect::<Result<Vec<_>, _>>()
                    )
                },
                async {
                    per_vpc!(
                        self,
                        chunks,
                        "ec2:DescribeNetworkAcls",
                        |filter| ec2.describe_network_acls().filters(filter),
                        |p| p
                            .network_acls()
                            .iter()
                            .map(|o| in_vpc(o.vpc_id(), network_acl(o)))
                            .collect::<Result<Vec<_>, _>>()
                    )
                },
                async {
                    per_vpc!(
                        self,
                        chunks,
                        "ec2:DescribeSubnets",
                        |filter| ec2.describe_subnets().filters(filter),
                        |p| p
                            .subnets()
                            .iter()
                            .map(|o| in_vpc(o.vpc_id(), subnet(o)))
                            .collect::<Result<Vec<_>, _>>()
                    )
                },
                async {
                    per_vpc!(
                        self,
                        chunks,
                        "ec2:DescribeVpcEndpoints",
                        |filter| ec2.describe_vpc_endpoints().filters(filter),
                        |p| p
                            .vpc_endpoints()
                            .iter()
                            .map(|o| in_vpc(o.vpc_id(), vpc_endpoint(o)))
                            .collect::<Result<Vec<_>, _>>()
                    )
                },
                async {
                    per_vpc!(
                        self,
                        chunks,
                        "ec2:DescribeSecurityGroups",
                        |filter| ec2.describe_security_groups().filters(filter),
                        |p| p
                            .security_groups()
                            .iter()
                            .map(|o| in_vpc(o.vpc_id(), security_group(o)))
                            .collect::<Result<Vec<_>, _>>()
                    )
                },
            )
        });
        let (
            mut route_tables,
            mut nat_gateways,
            mut network_acls,
            mut subnets,
            mut vpc_endpoints,
            mut security_groups,
        ) = described.await;
        let all_referenced: BTreeSet<&str> =
            security_groups.values().flat_map(referenced).collect();
        let prefix_lists = self.prefix_lists(all_referenced);
        // How names resolve matters where central endpoints could answer them.
        let mut central_unasked: BTreeMap<&str, Fetch<VpcDns>> = vpcs
            .iter()
            .filter_map(|vpc| {
                let tables = route_tables.get(*vpc)?;
                let endpoints = vpc_endpoints.get(*vpc)?;
                Some((*vpc, central::unasked(tables, endpoints, &self.region)?))
            })
            .collect();
        let dns_asked: Vec<&str> = vpcs
            .iter()
            .copied()
            .filter(|vpc| !central_unasked.contains_key(vpc))
            .collect();
        // The DNS attributes matter only to private DNS for interface endpoints and to private
        // hosted zones and Resolver rules (vpc.dns-*): another VPC is not asked, which saves two
        // calls per VPC.
        let attributes = join_all(vpcs.iter().map(|vpc| {
            let unasked = match dns_asked.contains(vpc) {
                true => None,
                false => vpc_endpoints.get(*vpc).and_then(dns_unasked),
            };
            Ledger::within(Scope::Vpc(vpc.to_string()), async move {
                match unasked {
                    None => tokio::join!(
                        self.vpc_attribute(vpc, VpcAttributeName::EnableDnsSupport),
                        self.vpc_attribute(vpc, VpcAttributeName::EnableDnsHostnames),
                    ),
                    Some(why) => (why.clone(), why),
                }
            })
        }));
        let (prefix_lists, attributes, mut dns) =
            tokio::join!(prefix_lists, attributes, self.vpc_dns(&dns_asked, accounts));
        vpcs.iter()
            .zip(attributes)
            .map(|(vpc, (dns_support, dns_hostnames))| {
                let dns = match central_unasked.remove(vpc) {
                    Some(why) => why,
                    None => dns
                        .remove(*vpc)
                        .map_or_else(|| Fetch::not_applicable("not asked"), Fetch::collected),
                };
                let security_groups = share(&mut security_groups, vpc);
                let prefix_lists = referenced(&security_groups)
                    .into_iter()
                    .filter_map(|id| Some((id.to_string(), prefix_lists.get(id)?.clone())))
                    .collect();
                let network = NetworkFacts {
                    route_tables: share(&mut route_tables, vpc),
                    nat_gateways: share(&mut nat_gateways, vpc),
                    network_acls: share(&mut network_acls, vpc),
                    subnets: share(&mut subnets, vpc),
                    vpc_endpoints: share(&mut vpc_endpoints, vpc),
                    security_groups,
                    prefix_lists,
                    dns_support,
                    dns_hostnames,
                    dns,
                };
                (vpc.to_string(), network)
            })
            .collect()
    }

    async fn vpc_attribute(&self, vpc_id: &str, attribute: VpcAttributeName) -> Fetch<bool> {
        let request = self
            .ec2
            .describe_vpc_attribute()
            .vpc_id(vpc_id)
            .attribute(attribute.clone());
        let result = self.call(request.send()).await;
        match result {
            Ok(out) => {
                let value = match attribute {
                    VpcAttributeName::EnableDnsSupport => out.enable_dns_support(),
                    _ => out.enable_dns_hostnames(),
                };
                match value.and_then(|v| v.value()) {
                    Some(on) => Fetch::collected(on),
                    None => incomplete(
                        "ec2:DescribeVpcAttribute",
                        Missing(format!("the value of {}", attribute.as_str())),
                    ),
                }
            }
            Err(e) => failure("ec2:DescribeVpcAttribute", e),
        }
    }

    /// Entries of each customer-managed prefix list named.
    async fn prefix_lists(&self, ids: BTreeSet<&str>) -> BTreeMap<String, Fetch<Vec<String>>> {
        let fetches = ids.into_iter().map(|id| async move {
            let entries = Ledger::within(Scope::PrefixList(id.to_string()), async {
                paged!(
                    self,
                    "ec2:GetManagedPrefixListEntries",
                    self.ec2
                        .get_managed_prefix_list_entries()
                        .prefix_list_id(id),
                    |p| p
                        .entries()
                        .iter()
                        .map(|e| required(e.cidr(), "an entry's Cidr").map(str::to_string))
                        .collect::<Result<Vec<_>, _>>()
                )
            })
            .await;
            (id.to_string(), entries)
        });
        join_all(fetches).await.into_iter().collect()
    }
}

pub(super) fn instance(i: &t::Instance, owner: Option<&str>) -> Result<Instance, Missing> {
    let metadata = i.metadata_options();
    Ok(Instance {
        instance_id: required(i.instance_id(), "an instance's InstanceId")?.to_string(),
        owner_account: owner.map(str::to_string),
        state: required(i.state().and_then(|s| s.name()), "an instance's State")?
            .as_str()
            .to_string(),
        vpc_id: i.vpc_id().map(str::to_string),
        subnet_id: i.subnet_id().map(str::to_string),
        // An IPv6-only instance has no private IPv4 address (moto puts its IPv6 one there).
        private_ip: i
            .private_ip_address()
            .filter(|a| !a.contains(':'))
            .map(str::to_string),
        public_ip: i.public_ip_address().map(str::to_string),
        ipv6_addresses: strings(
            i.network_interfaces()
                .iter()
                .filter(|n| n.attachment().and_then(|a| a.device_index()) == Some(0))
                .flat_map(|n| n.ipv6_addresses())
                .map(|a| a.ipv6_address()),
        ),
        security_group_ids: strings(i.security_groups().iter().map(|g| g.group_id())),
        instance_profile_arn: i
            .iam_instance_profile()
            .and_then(|p| p.arn())
            .map(str::to_string),
        metadata: MetadataOptions {
            http_endpoint: metadata
                .and_then(|m| m.http_endpoint())
                .map(|e| e.as_str().to_string()),
            http_tokens: metadata
                .and_then(|m| m.http_tokens())
                .map(|e| e.as_str().to_string()),
            http_put_response_hop_limit: metadata.and_then(|m| m.http_put_response_hop_limit()),
        },
        platform: i.platform_details().map(str::to_string),
        name: i
            .tags()
            .iter()
            .find(|t| t.key() == Some("Name"))
            .and_then(|t| t.value())
            .map(str::to_string),
        tags: Some(
            i.tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
                .collect(),
        ),
    })
}

fn route_table(rt: &t::RouteTable) -> Result<RouteTable, Missing> {
    let routes = rt.routes().iter().map(|r| {
        Ok(Route {
            destination: r.destination_cidr_block().map(str::to_string),
            destination_ipv6: r.destination_ipv6_cidr_block().map(str::to_string),
            destination_prefix_list: r.destination_prefix_list_id().map(str::to_string),
            target: [
                r.gateway_id(),
                r.nat_gateway_id(),
                r.transit_gateway_id(),
                r.vpc_peering_connection_id(),
                r.network_interface_id(),
                r.instance_id(),
                r.egress_only_internet_gateway_id(),
                r.carrier_gateway_id(),
                r.local_gateway_id(),
                r.core_network_arn(),
            ]
            .into_iter()
            .flatten()
            .next()
            .unwrap_or("unknown")
            .to_string(),
            state: required(r.state(), "a route's State")?.as_str().to_string(),
        })
    });
    Ok(RouteTable {
        id: required(rt.route_table_id(), "a RouteTableId")?.to_string(),
        main: rt.associations().iter().any(|a| a.main() == Some(true)),
        subnet_ids: strings(rt.associations().iter().map(|a| a.subnet_id())),
        routes: routes.collect::<Result<_, _>>()?,
    })
}

fn nat_gateway(n: &t::NatGateway) -> Result<NatGateway, Missing> {
    Ok(NatGateway {
        id: required(n.nat_gateway_id(), "a NatGatewayId")?.to_string(),
        state: required(n.state(), "a NAT gateway's State")?
            .as_str()
            .to_string(),
        subnet_id: n.subnet_id().map(str::to_string),
        connectivity: n.connectivity_type().map(|c| c.as_str().to_string()),
    })
}

fn network_acl(a: &t::NetworkAcl) -> Result<NetworkAcl, Missing> {
    let entries = a.entries().iter().map(|e| {
        Ok(NaclEntry {
            rule_number: required(e.rule_number(), "an ACL entry's RuleNumber")?,
            egress: required(e.egress(), "an ACL entry's Egress")?,
            protocol: required(e.protocol(), "an ACL entry's Protocol")?.to_string(),
            action: required(e.rule_action(), "an ACL entry's RuleAction")?
                .as_str()
                .to_string(),
            cidr: e.cidr_block().map(str::to_string),
            ipv6_cidr: e.ipv6_cidr_block().map(str::to_string),
            port_from: e.port_range().and_then(|p| p.from()),
            port_to: e.port_range().and_then(|p| p.to()),
        })
    });
    Ok(NetworkAcl {
        id: required(a.network_acl_id(), "a NetworkAclId")?.to_string(),
        is_default: required(a.is_default(), "a network ACL's IsDefault")?,
        subnet_ids: strings(a.associations().iter().map(|s| s.subnet_id())),
        entries: entries.collect::<Result<_, _>>()?,
    })
}

fn subnet(s: &t::Subnet) -> Result<Subnet, Missing> {
    Ok(Subnet {
        id: required(s.subnet_id(), "a SubnetId")?.to_string(),
        cidr: s.cidr_block().map(str::to_string),
        availability_zone: s.availability_zone().map(str::to_string),
        map_public_ip_on_launch: s.map_public_ip_on_launch().unwrap_or(false),
        ipv6_cidrs: strings(
            s.ipv6_cidr_block_association_set()
                .iter()
                .map(|a| a.ipv6_cidr_block()),
        ),
        ipv6_native: s.ipv6_native().unwrap_or(false),
        dns64: s.enable_dns64().unwrap_or(false),
    })
}

fn vpc_endpoint(e: &t::VpcEndpoint) -> Result<VpcEndpoint, Missing> {
    let endpoint_type = required(e.vpc_endpoint_type(), "an endpoint's VpcEndpointType")?;
    // Only interface endpoints have private DNS; the checks read it of no other kind.
    let private_dns_enabled = match endpoint_type {
        t::VpcEndpointType::Interface => {
            required(e.private_dns_enabled(), "an endpoint's PrivateDnsEnabled")?
        }
        _ => e.private_dns_enabled().unwrap_or(false),
    };
    Ok(VpcEndpoint {
        id: required(e.vpc_endpoint_id(), "a VpcEndpointId")?.to_string(),
        service_name: required(e.service_name(), "an endpoint's ServiceName")?.to_string(),
        endpoint_type: endpoint_type.as_str().to_string(),
        state: required(e.state(), "an endpoint's State")?
            .as_str()
            .to_string(),
        private_dns_enabled,
        subnet_ids: e.subnet_ids().to_vec(),
        security_group_ids: strings(e.groups().iter().map(|g| g.group_id())),
        // An unreadable policy is kept as text so the policy check reports it instead of passing.
        policy: e.policy_document().map(|p| {
            serde_json::from_str(p).unwrap_or_else(|_| serde_json::Value::String(p.to_string()))
        }),
        ip_address_type: e.ip_address_type().map(|t| t.as_str().to_string()),
    })
}

fn security_group(g: &t::SecurityGroup) -> Result<SecurityGroup, Missing> {
    let rules = |perms: &[t::IpPermission]| -> Result<Vec<SgRule>, Missing> {
        perms
            .iter()
            .map(|p| {
                Ok(SgRule {
                    protocol: required(p.ip_protocol(), "a rule's IpProtocol")?.to_string(),
                    port_from: p.from_port(),
                    port_to: p.to_port(),
                    cidrs: strings(p.ip_ranges().iter().map(|r| r.cidr_ip())),
                    ipv6_cidrs: strings(p.ipv6_ranges().iter().map(|r| r.cidr_ipv6())),
                    prefix_list_ids: strings(
                        p.prefix_list_ids().iter().map(|r| r.prefix_list_id()),
                    ),
                    group_ids: strings(p.user_id_group_pairs().iter().map(|r| r.group_id())),
                })
            })
            .collect()
    };
    Ok(SecurityGroup {
        id: required(g.group_id(), "a GroupId")?.to_string(),
        name: g.group_name().unwrap_or_default().to_string(),
        ingress: rules(g.ip_permissions())?,
        egress: rules(g.ip_permissions_egress())?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_for_many_vpcs_are_dealt_to_each() {
        let first = ["vpc-a", "vpc-b"];
        let second = ["vpc-c"];
        let answers: Vec<Asked<'_, &str>> = vec![
            (
                &first,
                Fetch::collected(vec![("vpc-a".into(), "rtb-1"), ("vpc-a".into(), "rtb-2")]),
            ),
            (
                &second,
                Fetch::Denied {
                    action: "ec2:DescribeRouteTables".into(),
                    message: "no".into(),
                },
            ),
        ];
        let mut dealt = deal(&answers);
        assert_eq!(
            share(&mut dealt, "vpc-a"),
            Fetch::collected(vec!["rtb-1", "rtb-2"])
        );
        // A VPC the answer holds nothing for has none, not an unknown.
        assert_eq!(share(&mut dealt, "vpc-b"), Fetch::collected(vec![]));
        // A chunk's denial is each of its VPCs' own.
        assert!(matches!(share(&mut dealt, "vpc-c"), Fetch::Denied { .. }));
    }

    #[test]
    fn dns_attributes_are_asked_only_where_private_dns_is_used() {
        let endpoint = |kind: &str, private_dns: bool| VpcEndpoint {
            id: "vpce-1".into(),
            service_name: "com.amazonaws.eu-west-1.ssm".into(),
            endpoint_type: kind.into(),
            state: "available".into(),
            private_dns_enabled: private_dns,
            subnet_ids: vec![],
            security_group_ids: vec![],
            policy: None,
            ip_address_type: None,
        };
        let unasked = |list| dns_unasked(&Fetch::collected(list));
        assert_eq!(unasked(vec![endpoint("Interface", true)]), None);
        for list in [
            vec![endpoint("Interface", false)],
            vec![endpoint("Gateway", false)],
            vec![],
        ] {
            assert!(matches!(unasked(list), Some(Fetch::NotApplicable { .. })));
        }
        // Unknown endpoints leave the attributes unknown for the same reason: without the
        // endpoints no check can use them.
        let denied = Fetch::Denied {
            action: "ec2:DescribeVpcEndpoints".into(),
            message: "no".into(),
        };
        assert!(matches!(dns_unasked(&denied), Some(Fetch::Denied { .. })));
    }

    #[test]
    fn a_field_the_checks_need_is_never_defaulted() {
        let running = t::InstanceState::builder()
            .name(t::InstanceStateName::Running)
            .build();
        let whole = t::Instance::builder()
            .instance_id("i-0123456789abcdef0")
            .state(running)
            .build();
        assert_eq!(instance(&whole, None).unwrap().state, "running");
        // Without its state the instance is not "stopped" or "unknown": the answer is incomplete.
        let cut = t::Instance::builder()
            .instance_id("i-0123456789abcdef0")
            .build();
        assert!(instance(&cut, None).unwrap_err().0.contains("State"));

        let entry = |action: Option<t::RuleAction>| {
            t::NetworkAcl::builder()
                .network_acl_id("acl-1")
                .is_default(true)
                .entries(
                    t::NetworkAclEntry::builder()
                        .rule_number(100)
                        .egress(true)
                        .protocol("-1")
                        .set_rule_action(action)
                        .cidr_block("0.0.0.0/0")
                        .build(),
                )
                .build()
        };
        assert!(network_acl(&entry(Some(t::RuleAction::Allow))).is_ok());
        assert!(
            network_acl(&entry(None))
                .unwrap_err()
                .0
                .contains("RuleAction")
        );

        let endpoint = t::VpcEndpoint::builder()
            .vpc_endpoint_id("vpce-1")
            .service_name("com.amazonaws.eu-west-1.ssm")
            .vpc_endpoint_type(t::VpcEndpointType::Interface)
            .state(t::State::Available)
            .build();
        assert!(
            vpc_endpoint(&endpoint)
                .unwrap_err()
                .0
                .contains("PrivateDnsEnabled")
        );
        let gateway = t::VpcEndpoint::builder()
            .vpc_endpoint_id("vpce-2")
            .service_name("com.amazonaws.eu-west-1.s3")
            .vpc_endpoint_type(t::VpcEndpointType::Gateway)
            .state(t::State::Available)
            .build();
        assert!(!vpc_endpoint(&gateway).unwrap().private_dns_enabled);
    }
}
