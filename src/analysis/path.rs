//! How the agent's HTTPS traffic leaves the instance, service by service (see
//! `docs/check-semantics.md`, "The network path, per service").

use crate::analysis::cidr::Cidr;
use crate::analysis::version;
use crate::facts::{
    AgentInfo, AwsFacts, Fetch, Instance, NatGateway, RouteTable, Subnet, VpcEndpoint,
};
use serde::Serialize;

/// Agents from this version on use ssmmessages instead of ec2messages when they can.
pub const EC2MESSAGES_OPTIONAL_FROM: &str = "3.3.40.0";

/// The first agent that reaches Systems Manager over IPv6, through the dual-stack endpoints
/// (`UseDualStackEndpoint` in its configuration).
pub const DUAL_STACK_FROM: &str = "3.3.3270.0";

/// Where DNS64 puts the IPv4 internet inside IPv6 (RFC 6052), for a NAT gateway to translate.
pub const NAT64_PREFIX: &str = "64:ff9b::/96";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Need {
    Required,
    /// Missing it is at most a warning.
    Optional,
}

/// Which of the three endpoints the agent needs, from its version when SSM knows it.
pub fn service_needs(agent: Option<&AgentInfo>) -> [(&'static str, Need); 3] {
    let version = agent.and_then(|a| a.agent_version.as_deref());
    let ec2messages = match version.and_then(|v| version::at_least(v, EC2MESSAGES_OPTIONAL_FROM)) {
        Some(false) => Need::Required,
        Some(true) | None => Need::Optional,
    };
    [
        ("ssm", Need::Required),
        ("ssmmessages", Need::Required),
        ("ec2messages", ec2messages),
    ]
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Internet<'a> {
    Igw {
        gateway: &'a str,
    },
    Nat {
        gateway: &'a str,
    },
    /// An IPv6 address reaches the IPv4 endpoints through a NAT gateway: DNS64 on the subnet
    /// synthesises their addresses in `64:ff9b::/96`, which is routed to the gateway.
    Nat64 {
        gateway: &'a str,
    },
    /// Only over IPv6 (`::/0` to an egress-only or internet gateway): the regional endpoints are
    /// IPv4-only, so the agent must use the dual-stack ones ([`DUAL_STACK_FROM`]).
    Ipv6 {
        gateway: &'a str,
    },
    /// The default route leaves through something ssm-doctor cannot see past (TGW, VGW, peering, appliance).
    Opaque {
        target: &'a str,
    },
    None {
        reason: String,
    },
}

impl Internet<'_> {
    /// A way out to the public endpoints (over IPv6, for an agent that uses the dual-stack ones).
    pub fn carries_traffic(&self) -> bool {
        matches!(
            self,
            Internet::Igw { .. }
                | Internet::Nat { .. }
                | Internet::Nat64 { .. }
                | Internet::Ipv6 { .. }
        )
    }

    /// The addresses the agent's connections go to on this path, as the instance sees them.
    pub fn destination(&self) -> Cidr {
        match self {
            Internet::Nat64 { .. } => Cidr::parse(NAT64_PREFIX).expect("a valid prefix"),
            Internet::Ipv6 { .. } => Cidr::ANY6,
            _ => Cidr::ANY,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Internet::Igw { gateway } => format!("internet gateway {gateway}"),
            Internet::Nat { gateway } => format!("NAT gateway {gateway}"),
            Internet::Nat64 { gateway } => {
                format!("NAT gateway {gateway} by NAT64 (DNS64 on the subnet)")
            }
            Internet::Ipv6 { gateway } if gateway.starts_with("eigw-") => {
                format!("egress-only internet gateway {gateway} over IPv6")
            }
            Internet::Ipv6 { gateway } => format!("internet gateway {gateway} over IPv6"),
            Internet::Opaque { target } => format!("{target} (not inspected)"),
            Internet::None { reason } => reason.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ServiceRoute<'a> {
    pub service: &'static str,
    pub need: Need,
    /// The VPC's interface endpoint for this service, if any.
    pub endpoint: Option<&'a VpcEndpoint>,
    /// The instance has no IPv4 address: an endpoint must answer IPv6 to carry the service.
    pub ipv6_only: bool,
}

impl ServiceRoute<'_> {
    /// Private DNS makes the public service name resolve to an available endpoint inside the VPC.
    pub fn carried_by_endpoint(&self) -> bool {
        self.endpoint.is_some_and(|e| {
            e.state.eq_ignore_ascii_case("available")
                && e.private_dns_enabled
                && (!self.ipv6_only || answers_ipv6(e))
        })
    }
}

/// Whether an endpoint has IPv6 addresses (`dualstack` or `ipv6`).
pub fn answers_ipv6(endpoint: &VpcEndpoint) -> bool {
    matches!(
        endpoint.ip_address_type.as_deref(),
        Some("dualstack" | "ipv6")
    )
}

/// The path as plain data: serialisable, for a snapshot or a picture of the path.
#[derive(Debug, Clone, Serialize)]
pub struct Path<'a> {
    pub instance: &'a Instance,
    pub vpc_id: &'a str,
    pub subnet_id: &'a str,
    pub route_table: &'a RouteTable,
    pub internet: Internet<'a>,
    pub services: Vec<ServiceRoute<'a>>,
}

impl<'a> Path<'a> {
    /// True when the VPC has an interface endpoint for any of the services: then the endpoints are
    /// (part of) the path and the vpce checks judge them.
    pub fn endpoints_are_the_path(&self) -> bool {
        self.services.iter().any(|s| s.endpoint.is_some())
    }

    pub fn existing_endpoints(&self) -> impl Iterator<Item = (&ServiceRoute<'a>, &'a VpcEndpoint)> {
        self.services
            .iter()
            .filter_map(|s| s.endpoint.map(|e| (s, e)))
    }

    pub fn carrying_endpoints(&self) -> impl Iterator<Item = (&ServiceRoute<'a>, &'a VpcEndpoint)> {
        self.existing_endpoints()
            .filter(|(s, _)| s.carried_by_endpoint())
    }

    /// The instance's private IPv4 address as a /32, else its first IPv6 address as a /128.
    pub fn instance_ip(&self) -> Option<Cidr> {
        let v6 = self.instance.ipv6_addresses.first();
        self.instance
            .private_ip
            .as_ref()
            .or(v6)
            .and_then(|a| Cidr::parse(a))
    }

    /// The instance has IPv6 addresses only.
    pub fn ipv6_only(&self) -> bool {
        ipv6_only(self.instance)
    }

    /// Services whose traffic goes out through the internet path (no carrying endpoint).
    pub fn internet_bound(&self) -> impl Iterator<Item = &ServiceRoute<'a>> {
        self.services.iter().filter(|s| !s.carried_by_endpoint())
    }
}

/// How the instance reaches a service its session preferences need (s3, logs, kms).
#[derive(Debug, Clone, Copy)]
pub enum Reach<'p, 'a> {
    /// An available interface endpoint with private DNS.
    Interface(&'a VpcEndpoint),
    /// A gateway endpoint (s3, dynamodb) the instance's route table routes to.
    Gateway(&'a VpcEndpoint),
    /// No endpoint of the VPC carries it: the internet path, whatever it is.
    Internet(&'p Internet<'a>),
}

impl<'a> Path<'a> {
    /// How the instance reaches `service` in `region`, given the VPC's endpoints.
    pub fn reach<'p>(
        &'p self,
        endpoints: &'a [VpcEndpoint],
        region: &str,
        service: &str,
    ) -> Reach<'p, 'a> {
        let name = format!("com.amazonaws.{region}.{service}");
        let interface = endpoint_for(endpoints, region, service)
            .filter(|e| e.state.eq_ignore_ascii_case("available") && e.private_dns_enabled);
        let routed = |e: &&VpcEndpoint| {
            e.service_name == name
                && e.endpoint_type.eq_ignore_ascii_case("gateway")
                && e.state.eq_ignore_ascii_case("available")
                && self.route_table.routes.iter().any(|r| r.target == e.id)
        };
        match (interface, endpoints.iter().find(routed)) {
            (Some(e), _) => Reach::Interface(e),
            (None, Some(e)) => Reach::Gateway(e),
            (None, None) => Reach::Internet(&self.internet),
        }
    }
}

/// Why no path can be derived from the facts.
#[derive(Debug, Clone, PartialEq)]
pub enum Gap {
    /// A fact the path needs did not arrive (denied, failed, not applicable), and why.
    Unknown(Fetch<()>),
    /// The instance does not exist.
    NotFound,
    /// The instance has no VPC subnet (EC2-Classic, or still pending).
    NotInVpc { instance_id: String },
    /// No route table applies to the subnet.
    NoRouteTable { vpc_id: String, subnet_id: String },
}

/// A collected value, or the gap its absence leaves.
fn fact<T>(fetch: &Fetch<T>) -> Result<&T, Gap> {
    fetch.as_ref().take().map_err(Gap::Unknown)
}

/// Builds the path from the AWS facts of an instance in `region`, or says which fact is missing.
/// `only` judges that one service, required (`ssm` for an application reading its parameters),
/// instead of those the agent needs.
pub fn analyse<'a>(
    facts: &'a AwsFacts,
    region: &str,
    only: Option<&'static str>,
) -> Result<Path<'a>, Gap> {
    let instance = fact(&facts.instance)?.as_ref().ok_or(Gap::NotFound)?;
    let (Some(vpc_id), Some(subnet_id)) = (&instance.vpc_id, &instance.subnet_id) else {
        return Err(Gap::NotInVpc {
            instance_id: instance.instance_id.clone(),
        });
    };
    let tables = fact(&facts.network.route_tables)?;
    let route_table =
        effective_route_table(tables, subnet_id).ok_or_else(|| Gap::NoRouteTable {
            vpc_id: vpc_id.clone(),
            subnet_id: subnet_id.clone(),
        })?;
    let nats = fact(&facts.network.nat_gateways)?;
    let endpoints = fact(&facts.network.vpc_endpoints)?;
    // DNS64 matters to IPv6 addresses only: the subnets are not needed otherwise.
    let subnet = match instance.ipv6_addresses.is_empty() {
        true => None,
        false => fact(&facts.network.subnets)?
            .iter()
            .find(|s| &s.id == subnet_id),
    };
    let agent = facts.agent.value().and_then(Option::as_ref);
    let ipv6_only = ipv6_only(instance);
    let needs = match only {
        Some(service) => vec![(service, Need::Required)],
        None => service_needs(agent).to_vec(),
    };
    let services = needs
        .into_iter()
        .map(|(service, need)| ServiceRoute {
            service,
            need,
            endpoint: endpoint_for(endpoints, region, service),
            ipv6_only,
        })
        .collect();
    Ok(Path {
        instance,
        vpc_id,
        subnet_id,
        route_table,
        internet: internet_path(route_table, nats, instance, subnet),
        services,
    })
}

/// The instance has IPv6 addresses only.
fn ipv6_only(instance: &Instance) -> bool {
    instance.private_ip.is_none() && !instance.ipv6_addresses.is_empty()
}

/// The explicitly associated table, else the VPC's main one.
pub fn effective_route_table<'a>(
    tables: &'a [RouteTable],
    subnet_id: &str,
) -> Option<&'a RouteTable> {
    tables
        .iter()
        .find(|t| t.subnet_ids.iter().any(|s| s == subnet_id))
        .or_else(|| tables.iter().find(|t| t.main))
}

/// The way out for the instance's addresses: IPv4 first (what the agent uses by default), then
/// IPv6 (NAT64, else the dual-stack endpoints) when IPv4 leads nowhere.
fn internet_path<'a>(
    table: &'a RouteTable,
    nats: &'a [NatGateway],
    instance: &Instance,
    subnet: Option<&Subnet>,
) -> Internet<'a> {
    let v4 = instance
        .private_ip
        .is_some()
        .then(|| ipv4_path(table, nats, instance));
    if let Some(path @ (Internet::Igw { .. } | Internet::Nat { .. } | Internet::Opaque { .. })) = v4
    {
        return path;
    }
    let v6 = (!instance.ipv6_addresses.is_empty()).then(|| ipv6_path(table, nats, subnet));
    match (v4, v6) {
        (_, Some(path)) if path.carries_traffic() => path,
        (Some(v4), _) => v4,
        (None, Some(Internet::None { reason })) => Internet::None {
            reason: format!(
                "{} has IPv6 addresses only, and {reason}",
                instance.instance_id
            ),
        },
        (None, Some(other)) => other,
        (None, None) => Internet::None {
            reason: format!("{} has no private IP address", instance.instance_id),
        },
    }
}

fn ipv4_path<'a>(
    table: &'a RouteTable,
    nats: &'a [NatGateway],
    instance: &Instance,
) -> Internet<'a> {
    let Some(route) = table
        .routes
        .iter()
        .find(|r| r.destination.as_deref() == Some("0.0.0.0/0"))
    else {
        return Internet::None {
            reason: format!("route table {} has no default route (0.0.0.0/0)", table.id),
        };
    };
    let target = route.target.as_str();
    if route.state == "blackhole" {
        return Internet::None {
            reason: format!(
                "the default route of {} to {target} is a blackhole",
                table.id
            ),
        };
    }
    if target.starts_with("igw-") {
        return match instance.public_ip {
            Some(_) => Internet::Igw { gateway: target },
            None => Internet::None {
                reason: format!(
                    "route table {} sends 0.0.0.0/0 to {target}, but {} has no public IP",
                    table.id, instance.instance_id
                ),
            },
        };
    }
    if target.starts_with("nat-") {
        return match nat(target, nats) {
            Ok(()) => Internet::Nat { gateway: target },
            Err(other) => other,
        };
    }
    Internet::Opaque { target }
}

/// A NAT gateway that translates to the internet, or the path it leaves instead.
fn nat<'a>(target: &'a str, nats: &[NatGateway]) -> Result<(), Internet<'a>> {
    match nats.iter().find(|n| n.id == target) {
        Some(nat) if nat.connectivity.as_deref() == Some("private") => {
            Err(Internet::Opaque { target })
        }
        Some(nat) if nat.state == "available" => Ok(()),
        Some(nat) => Err(Internet::None {
            reason: format!(
                "the route goes to NAT gateway {target}, which is {}",
                nat.state
            ),
        }),
        None => Err(Internet::None {
            reason: format!("the route goes to NAT gateway {target}, which does not exist"),
        }),
    }
}

/// IPv6: NAT64 when DNS64 is on and `64:ff9b::/96` leads to a NAT gateway (the IPv4 endpoints
/// are then reached as they are), else `::/0` to an egress-only or internet gateway.
fn ipv6_path<'a>(
    table: &'a RouteTable,
    nats: &'a [NatGateway],
    subnet: Option<&Subnet>,
) -> Internet<'a> {
    let nat64 = Cidr::parse(NAT64_PREFIX).expect("a valid prefix");
    // The most specific route for NAT64's prefix other than `::/0`: the one its traffic takes.
    let to_nat64 = table
        .routes
        .iter()
        .filter_map(|r| Some((r, r.destination_ipv6.as_deref().and_then(Cidr::parse)?)))
        .filter(|(_, d)| d.covers(nat64) && d.prefix() > 0)
        .max_by_key(|(_, d)| d.prefix())
        .map(|(r, _)| r)
        .filter(|r| r.state != "blackhole");
    let dns64 = subnet.is_some_and(|s| s.dns64);
    let mut not_nat64 = None;
    if let (true, Some(route)) = (dns64, to_nat64) {
        let target = route.target.as_str();
        if !target.starts_with("nat-") {
            // Centralised NAT64 (an egress VPC behind a transit gateway) is past what ssm-doctor
            // sees.
            return Internet::Opaque { target };
        }
        match nat(target, nats) {
            Ok(()) => return Internet::Nat64 { gateway: target },
            Err(other) => not_nat64 = Some(other),
        }
    }
    let default = table
        .routes
        .iter()
        .find(|r| r.destination_ipv6.as_deref() == Some("::/0"));
    match default {
        Some(r) if r.state == "blackhole" => Internet::None {
            reason: format!(
                "the IPv6 default route of {} to {} is a blackhole",
                table.id, r.target
            ),
        },
        Some(r) if r.target.starts_with("eigw-") || r.target.starts_with("igw-") => {
            Internet::Ipv6 { gateway: &r.target }
        }
        Some(r) => Internet::Opaque { target: &r.target },
        None => not_nat64.unwrap_or_else(|| Internet::None {
            reason: match (dns64, to_nat64) {
                (false, Some(_)) => format!(
                    "route table {} has no IPv6 default route (::/0), and DNS64 is off on the \
                     subnet, so its {NAT64_PREFIX} route is never used",
                    table.id
                ),
                _ => format!(
                    "route table {} has no IPv6 default route (::/0) and no {NAT64_PREFIX} route \
                     to a NAT gateway (NAT64)",
                    table.id
                ),
            },
        }),
    }
}

/// The VPC's interface endpoint for a service; the one that carries traffic wins over a broken twin.
fn endpoint_for<'a>(
    endpoints: &'a [VpcEndpoint],
    region: &str,
    service: &str,
) -> Option<&'a VpcEndpoint> {
    let name = format!("com.amazonaws.{region}.{service}");
    let candidates = endpoints
        .iter()
        .filter(|e| e.service_name == name && e.endpoint_type.eq_ignore_ascii_case("interface"));
    candidates.max_by_key(|e| {
        (
            e.state.eq_ignore_ascii_case("available"),
            e.private_dns_enabled,
        )
    })
}
