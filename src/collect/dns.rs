//! How names resolve inside the VPCs that may use central endpoints: the DHCP options' DNS
//! servers (EC2), the private hosted zones associated with each VPC and their records for the
//! Systems Manager names (Route 53), the Resolver rules associated with it, the Route 53 Profile
//! associated with it and what that carries, and its transit gateway attachments (how far the
//! path to a hub can be followed).

use super::ec2::{VALUES_PER_FILTER, paged, strings};
use super::ledger::{Ledger, Scope};
use super::{Aws, Missing, failure, incomplete, required};
use crate::analysis::central::{AMAZON_DNS, SERVICES, dns_name, holds, service_name};
use crate::facts::{
    DnsProfile, DnsRecord, Fetch, HostedZone, ProfileEndpoint, ProfileResources, ResolverRule,
    TgwAttachment, Unseen, VpcDns, in_force,
};
use aws_sdk_ec2::types::Filter;
use aws_sdk_route53::types::VpcRegion;
use futures::future::join_all;
use std::collections::{BTreeMap, BTreeSet};

impl Aws {
    /// Each VPC's DNS: its servers, zones and rules, each kind asked as few times as the APIs
    /// allow (the zones one VPC at a time: Route 53 lists them by VPC only).
    ///
    /// `accounts` own the instances: another account's zone (the network account's, shared with
    /// the VPC) lets only its owner read its records.
    pub(super) async fn vpc_dns(
        &self,
        vpcs: &[&str],
        accounts: &BTreeSet<&str>,
    ) -> BTreeMap<String, VpcDns> {
        if vpcs.is_empty() {
            return BTreeMap::new();
        }
        let (servers, rules, attachments, profiles, zones) = tokio::join!(
            Ledger::within(Scope::Vpcs, self.dns_servers(vpcs)),
            Ledger::within(Scope::Vpcs, self.resolver_rules()),
            Ledger::within(Scope::Vpcs, self.attachments(vpcs)),
            Ledger::within(Scope::Vpcs, self.profiles(vpcs, accounts)),
            join_all(
                vpcs.iter()
                    .map(|vpc| { Ledger::within(Scope::Vpc(vpc.to_string()), self.zones_of(vpc)) })
            ),
        );
        let names: Vec<String> = SERVICES
            .iter()
            .map(|s| service_name(s, &self.region))
            .collect();
        // Each zone that holds a Systems Manager name is read once, whatever VPCs (or Profiles)
        // share it; a Profile's zones are read only when this account owns them.
        let carried = profiles
            .value()
            .into_iter()
            .flat_map(|by_vpc| by_vpc.values())
            .filter_map(|(p, _)| p.resources.value())
            .flat_map(|r| r.zones.iter().map(|z| (&z.id, &z.name, &z.owner)));
        let wanted: BTreeMap<String, Vec<&str>> = zones
            .iter()
            .filter_map(Fetch::value)
            .flatten()
            .filter(|(_, _, owner)| theirs(owner, accounts).is_none())
            // As references, like the Profiles' zones.
            .map(|(id, name, owner)| (id, name, owner))
            .chain(carried)
            .map(|(id, name, _)| {
                let held = names.iter().filter(|n| holds(name, n)).map(String::as_str);
                (id.clone(), held.collect::<Vec<_>>())
            })
            .filter(|(_, held)| !held.is_empty())
            .collect();
        let records: BTreeMap<String, Fetch<Vec<DnsRecord>>> =
            join_all(wanted.into_iter().map(|(zone, held)| async move {
                let records = Ledger::within(Scope::Vpcs, self.records(&zone, &held)).await;
                (zone, records)
            }))
            .await
            .into_iter()
            .collect();
        let records_of =
            |id: &str, owner: &Option<String>| match (records.get(id), theirs(owner, accounts)) {
                (Some(read), _) => read.clone(),
                (None, Some(other)) => {
                    Fetch::not_applicable(format!("the zone belongs to account {other}"))
                }
                (None, None) => Fetch::not_applicable("the zone holds no Systems Manager name"),
            };
        let all_rules = rules.value().map(|(_, all)| all.as_slice());
        vpcs.iter()
            .zip(zones)
            .map(|(vpc, zones)| {
                let zones = zones.map(|list| {
                    list.into_iter()
                        .map(|(id, name, owner)| HostedZone {
                            records: records_of(&id, &owner),
                            id,
                            name,
                            owner,
                            profile: None,
                        })
                        .collect()
                });
                let profile = profiles.as_ref().map(|by_vpc| {
                    let (mut profile, rule_ids) = by_vpc.get(*vpc).cloned()?;
                    if let Fetch::Collected { value } = &mut profile.resources {
                        for zone in &mut value.zones {
                            zone.records = records_of(&zone.id, &zone.owner);
                        }
                        for (id, owner) in rule_ids {
                            match all_rules.and_then(|all| all.iter().find(|r| r.id == id)) {
                                Some(rule) => value.rules.push(ResolverRule {
                                    profile: Some(profile.id.clone()),
                                    ..rule.clone()
                                }),
                                None => value.unseen.push(Unseen {
                                    kind: "Resolver rule".into(),
                                    id,
                                    owner,
                                }),
                            }
                        }
                    }
                    Some(profile)
                });
                let dns = VpcDns {
                    servers: servers.as_ref().map(|by_vpc| {
                        by_vpc
                            .get(*vpc)
                            .cloned()
                            .unwrap_or_else(|| vec![AMAZON_DNS.to_string()])
                    }),
                    zones,
                    rules: rules
                        .as_ref()
                        .map(|(by_vpc, _)| by_vpc.get(*vpc).cloned().unwrap_or_default()),
                    attachments: attachments.as_ref().map(|all| {
                        all.iter()
                            .filter(|(of, _)| of == vpc)
                            .map(|(_, a)| a.clone())
                            .collect()
                    }),
                    profile,
                };
                (vpc.to_string(), dns)
            })
            .collect()
    }

    /// Each VPC's DNS servers, from its DHCP options set (none, or the default set, is the
    /// Route 53 Resolver).
    async fn dns_servers(&self, vpcs: &[&str]) -> Fetch<BTreeMap<String, Vec<String>>> {
        let options = join_all(vpcs.chunks(VALUES_PER_FILTER).map(|chunk| {
            let filter = Filter::builder()
                .name("vpc-id")
                .set_values(Some(chunk.iter().map(|v| v.to_string()).collect()))
                .build();
            async move {
                paged!(
                    self,
                    "ec2:DescribeVpcs",
                    self.ec2.describe_vpcs().filters(filter),
                    |p| p
                        .vpcs()
                        .iter()
                        .map(|v| Ok((
                            required(v.vpc_id(), "a VpcId")?.to_string(),
                            v.dhcp_options_id().map(str::to_string)
                        )))
                        .collect::<Result<Vec<_>, Missing>>()
                )
            }
        }))
        .await;
        let mut of_vpc: Vec<(String, Option<String>)> = Vec::new();
        for chunk in options {
            match chunk.take() {
                Ok(value) => of_vpc.extend(value),
                Err(missing) => return missing,
            }
        }
        let sets: BTreeSet<&str> = of_vpc
            .iter()
            .filter_map(|(_, id)| id.as_deref())
            .filter(|id| *id != "default")
            .collect();
        let sets: Vec<&str> = sets.into_iter().collect();
        let mut servers: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for chunk in sets.chunks(VALUES_PER_FILTER) {
            let filter = Filter::builder()
                .name("dhcp-options-id")
                .set_values(Some(chunk.iter().map(|v| v.to_string()).collect()))
                .build();
            let answer = paged!(
                self,
                "ec2:DescribeDhcpOptions",
                self.ec2.describe_dhcp_options().filters(filter),
                |p| p
                    .dhcp_options()
                    .iter()
                    .map(|o| {
                        let servers = o
                            .dhcp_configurations()
                            .iter()
                            .filter(|c| c.key() == Some("domain-name-servers"))
                            .flat_map(|c| strings(c.values().iter().map(|v| v.value())));
                        Ok((
                            required(o.dhcp_options_id(), "a DhcpOptionsId")?.to_string(),
                            servers.collect::<Vec<_>>(),
                        ))
                    })
                    .collect::<Result<Vec<_>, Missing>>()
            );
            match answer.take() {
                Ok(value) => servers.extend(value),
                Err(missing) => return missing,
            }
        }
        Fetch::collected(
            of_vpc
                .into_iter()
                .map(|(vpc, set)| {
                    let named = set
                        .and_then(|id| servers.get(&id))
                        .filter(|s| !s.is_empty());
                    let list = named
                        .cloned()
                        .unwrap_or_else(|| vec![AMAZON_DNS.to_string()]);
                    (vpc, list)
                })
                .collect(),
        )
    }

    /// The transit gateway attachments of the VPCs, each VPC's dealt out.
    async fn attachments(&self, vpcs: &[&str]) -> Fetch<Vec<(String, TgwAttachment)>> {
        let mut all = Vec::new();
        for chunk in vpcs.chunks(VALUES_PER_FILTER) {
            let filter = Filter::builder()
                .name("resource-id")
                .set_values(Some(chunk.iter().map(|v| v.to_string()).collect()))
                .build();
            let answer = paged!(
                self,
                "ec2:DescribeTransitGatewayAttachments",
                self.ec2
                    .describe_transit_gateway_attachments()
                    .filters(filter),
                |p| p
                    .transit_gateway_attachments()
                    .iter()
                    .filter_map(|a| {
                        let vpc = a.resource_id()?.to_string();
                        Some(attachment(a).map(|a| (vpc, a)))
                    })
                    .collect::<Result<Vec<_>, Missing>>()
            );
            match answer.take() {
                Ok(list) => all.extend(list),
                Err(missing) => return missing,
            }
        }
        Fetch::collected(all)
    }

    /// The Resolver rules associated with each VPC of the region, and every rule this account
    /// can list: every association and every rule, listed once.
    async fn resolver_rules(
        &self,
    ) -> Fetch<(BTreeMap<String, Vec<ResolverRule>>, Vec<ResolverRule>)> {
        let resolver = &self.resolver;
        let (associations, rules) = tokio::join!(
            async {
                paged!(
                    self,
                    "route53resolver:ListResolverRuleAssociations",
                    resolver.list_resolver_rule_associations(),
                    |p| p
                        .resolver_rule_associations()
                        .iter()
                        .map(|a| Ok((
                            required(a.vpc_id(), "an association's VPCId")?.to_string(),
                            required(a.resolver_rule_id(), "an association's ResolverRuleId")?
                                .to_string()
                        )))
                        .collect::<Result<Vec<_>, Missing>>()
                )
            },
            async {
                paged!(
                    self,
                    "route53resolver:ListResolverRules",
                    resolver.list_resolver_rules(),
                    |p| p
                        .resolver_rules()
                        .iter()
                        .map(resolver_rule)
                        .collect::<Result<Vec<_>, Missing>>()
                )
            },
        );
        let associations = match associations.take() {
            Ok(list) => list,
            Err(missing) => return missing,
        };
        rules.map(|rules| {
            let mut by_vpc: BTreeMap<String, Vec<ResolverRule>> = BTreeMap::new();
            for (vpc, rule_id) in associations {
                by_vpc
                    .entry(vpc)
                    .or_default()
                    .extend(rules.iter().find(|r| r.id == rule_id).cloned());
            }
            (by_vpc, rules)
        })
    }

    /// The Route 53 Profile associated with each VPC (every association of the region, listed
    /// once) and what each Profile carries, with the ids of its Resolver rules (matched against
    /// the rules this account can list once those are in).
    async fn profiles(
        &self,
        vpcs: &[&str],
        accounts: &BTreeSet<&str>,
    ) -> Fetch<BTreeMap<String, (DnsProfile, Vec<(String, Option<String>)>)>> {
        let associations = paged!(
            self,
            "route53profiles:ListProfileAssociations",
            self.profiles.list_profile_associations(),
            |p| p
                .profile_associations()
                .iter()
                .map(|a| Ok((
                    required(a.resource_id(), "a profile association's ResourceId")?.to_string(),
                    required(a.profile_id(), "a profile association's ProfileId")?.to_string(),
                    a.status()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                )))
                .collect::<Result<Vec<_>, Missing>>()
        );
        let mut associations: Vec<_> = match associations.take() {
            Ok(list) => list
                .into_iter()
                .filter(|(vpc, ..)| vpcs.contains(&vpc.as_str()))
                .collect(),
            Err(missing) => return missing,
        };
        // A VPC has one Profile; an association being deleted may still be listed beside it.
        associations.sort_by_key(|(vpc, _, status)| (vpc.clone(), in_force(status)));
        associations.reverse();
        associations.dedup_by(|a, b| a.0 == b.0);
        let ids: BTreeSet<&str> = associations.iter().map(|(_, id, _)| id.as_str()).collect();
        let carried: BTreeMap<&str, _> = join_all(
            ids.into_iter()
                .map(|id| async move { (id, self.carried(id, accounts).await) }),
        )
        .await
        .into_iter()
        .collect();
        let by_vpc = associations.iter().map(|(vpc, id, status)| {
            // Every associated Profile was read above.
            let (resources, rules) = match carried[id.as_str()].clone().take() {
                Ok((resources, rules)) => (Fetch::collected(resources), rules),
                Err(missing) => (missing, vec![]),
            };
            let profile = DnsProfile {
                id: id.clone(),
                status: status.clone(),
                resources,
            };
            (vpc.clone(), (profile, rules))
        });
        Fetch::collected(by_vpc.collect())
    }

    /// What one Profile carries, read as far as this account may: its own hosted zones named,
    /// its own interface endpoints' services, its Resolver rules' ids (and owners).
    async fn carried(
        &self,
        profile: &str,
        accounts: &BTreeSet<&str>,
    ) -> Fetch<(ProfileResources, Vec<(String, Option<String>)>)> {
        let listed = paged!(
            self,
            "route53profiles:ListProfileResourceAssociations",
            self.profiles
                .list_profile_resource_associations()
                .profile_id(profile),
            |p| p
                .profile_resource_associations()
                .iter()
                .map(|r| Ok((
                    required(r.resource_arn(), "a profile resource's ResourceArn")?.to_string(),
                    r.owner_id().map(str::to_string),
                    r.status()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                )))
                .collect::<Result<Vec<_>, Missing>>()
        );
        let listed = match listed.take() {
            Ok(list) => list,
            Err(missing) => return missing,
        };
        let mut carried = ProfileResources::default();
        let (mut zones, mut endpoints, mut rules) = (vec![], vec![], vec![]);
        let live = listed.iter().filter(|(.., status)| in_force(status));
        for (arn, owner, _) in live {
            let Some((kind, id, account)) = arn_resource(arn) else {
                continue;
            };
            let owner = account.map(str::to_string).or(owner.clone());
            match (kind, theirs(&owner, accounts)) {
                ("hostedzone", None) => zones.push((id.to_string(), owner)),
                ("vpc-endpoint", None) => endpoints.push(id.to_string()),
                ("resolver-rule", _) => rules.push((id.to_string(), owner)),
                ("hostedzone", Some(_)) => carried.unseen.push(Unseen {
                    kind: "private hosted zone".into(),
                    id: id.to_string(),
                    owner,
                }),
                ("vpc-endpoint", Some(_)) => carried.unseen.push(Unseen {
                    kind: "interface endpoint".into(),
                    id: id.to_string(),
                    owner,
                }),
                // DNS Firewall rule groups answer no name.
                _ => {}
            }
        }
        let (names, services) = tokio::join!(
            join_all(zones.iter().map(|(id, _)| self.zone_name(id))),
            self.endpoint_services(&endpoints),
        );
        for ((id, owner), name) in zones.into_iter().zip(names) {
            match name.take() {
                Ok(name) => carried.zones.push(HostedZone {
                    id,
                    name,
                    owner,
                    profile: Some(profile.to_string()),
                    records: Fetch::not_applicable("the zone holds no Systems Manager name"),
                }),
                Err(missing) => return missing,
            }
        }
        match services.take() {
            Ok(found) => carried.endpoints = found,
            Err(missing) => return missing,
        }
        Fetch::collected((carried, rules))
    }

    /// A hosted zone's name (`route53:GetHostedZone`).
    async fn zone_name(&self, id: &str) -> Fetch<String> {
        match self
            .call(self.route53.get_hosted_zone().id(id).send())
            .await
        {
            Ok(out) => match out.hosted_zone() {
                Some(zone) => Fetch::collected(dns_name(zone.name())),
                None => incomplete("route53:GetHostedZone", Missing("a HostedZone".into())),
            },
            Err(e) => failure("route53:GetHostedZone", e),
        }
    }

    /// The Systems Manager names interface endpoints answer, by id (endpoints for other
    /// services are left out).
    async fn endpoint_services(&self, ids: &[String]) -> Fetch<Vec<ProfileEndpoint>> {
        if ids.is_empty() {
            return Fetch::collected(vec![]);
        }
        let prefix = format!("com.amazonaws.{}.", self.region);
        paged!(
            self,
            "ec2:DescribeVpcEndpoints",
            self.ec2
                .describe_vpc_endpoints()
                .set_vpc_endpoint_ids(Some(ids.to_vec())),
            |p| p
                .vpc_endpoints()
                .iter()
                .map(|e| {
                    let id = required(e.vpc_endpoint_id(), "a VpcEndpointId")?;
                    let service = required(e.service_name(), "an endpoint's ServiceName")?;
                    Ok(service
                        .strip_prefix(&prefix)
                        .map(|service| ProfileEndpoint {
                            id: id.to_string(),
                            service: service.to_string(),
                            name: service_name(service, &self.region),
                        }))
                })
                .filter_map(Result::transpose)
                .collect::<Result<Vec<_>, Missing>>()
        )
    }

    /// The private hosted zones associated with one VPC: id, name, owning account.
    async fn zones_of(&self, vpc: &str) -> Fetch<Vec<(String, String, Option<String>)>> {
        const ACTION: &str = "route53:ListHostedZonesByVPC";
        let mut all = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let request = self
                .route53
                .list_hosted_zones_by_vpc()
                .vpc_id(vpc)
                .vpc_region(VpcRegion::from(self.region.as_str()))
                .set_next_token(token.take());
            match self.call(request.send()).await {
                Ok(out) => {
                    all.extend(out.hosted_zone_summaries().iter().map(|z| {
                        (
                            z.hosted_zone_id()
                                .trim_start_matches("/hostedzone/")
                                .to_string(),
                            dns_name(z.name()),
                            z.owner()
                                .and_then(|o| o.owning_account())
                                .map(str::to_string),
                        )
                    }));
                    match out.next_token() {
                        Some(next) if !next.is_empty() => token = Some(next.to_string()),
                        _ => break Fetch::collected(all),
                    }
                }
                Err(e) => break failure(ACTION, e),
            }
        }
    }

    /// A zone's records named `names`: each name's first records, where Route 53 starts listing.
    async fn records(&self, zone: &str, names: &[&str]) -> Fetch<Vec<DnsRecord>> {
        let mut out = Vec::new();
        for name in names {
            let request = self
                .route53
                .list_resource_record_sets()
                .hosted_zone_id(zone)
                .start_record_name(*name)
                .max_items(10);
            match self.call(request.send()).await {
                Ok(page) => out.extend(
                    page.resource_record_sets()
                        .iter()
                        .filter(|r| dns_name(r.name()) == *name)
                        .map(|r| DnsRecord {
                            name: dns_name(r.name()),
                            kind: r.r#type().as_str().to_string(),
                            alias: r.alias_target().map(|a| dns_name(a.dns_name())),
                            values: r
                                .resource_records()
                                .iter()
                                .map(|v| v.value().to_string())
                                .collect(),
                        }),
                ),
                Err(e) => return failure("route53:ListResourceRecordSets", e),
            }
        }
        Fetch::collected(out)
    }
}

/// Another account's, of those that own the instances (none known: every account is "ours").
fn theirs<'o>(owner: &'o Option<String>, accounts: &BTreeSet<&str>) -> Option<&'o str> {
    owner
        .as_deref()
        .filter(|o| !accounts.is_empty() && !accounts.contains(o))
}

/// An ARN's resource kind, id and account: `arn:aws:route53:::hostedzone/Z1` → (`hostedzone`,
/// `Z1`, none).
fn arn_resource(arn: &str) -> Option<(&str, &str, Option<&str>)> {
    let mut parts = arn.splitn(6, ':');
    let (_, _, _, _, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    let (kind, id) = resource.split_once('/')?;
    Some((kind, id, Some(account).filter(|a| !a.is_empty())))
}

fn attachment(a: &aws_sdk_ec2::types::TransitGatewayAttachment) -> Result<TgwAttachment, Missing> {
    Ok(TgwAttachment {
        id: required(a.transit_gateway_attachment_id(), "an attachment's id")?.to_string(),
        transit_gateway: required(a.transit_gateway_id(), "an attachment's TransitGatewayId")?
            .to_string(),
        transit_gateway_owner: a.transit_gateway_owner_id().map(str::to_string),
        state: required(a.state(), "an attachment's State")?
            .as_str()
            .to_string(),
        route_table: a
            .association()
            .and_then(|s| s.transit_gateway_route_table_id())
            .map(str::to_string),
    })
}

fn resolver_rule(
    r: &aws_sdk_route53resolver::types::ResolverRule,
) -> Result<ResolverRule, Missing> {
    Ok(ResolverRule {
        id: required(r.id(), "a resolver rule's Id")?.to_string(),
        domain: dns_name(required(r.domain_name(), "a resolver rule's DomainName")?),
        kind: required(r.rule_type(), "a resolver rule's RuleType")?
            .as_str()
            .to_string(),
        targets: r
            .target_ips()
            .iter()
            .filter_map(|t| {
                let ip = t.ip().or(t.ipv6())?;
                Some(match t.port() {
                    Some(port) => format!("{ip}:{port}"),
                    None => ip.to_string(),
                })
            })
            .collect(),
        owner: r.owner_id().map(str::to_string),
        profile: None,
    })
}
