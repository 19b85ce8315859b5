//! How the agent's HTTPS traffic leaves the instance, service by service (see
//! `docs/check-semantics.md`, "The network path, per service").

use crate::analysis::ipv4::Cidr;
use crate::analysis::version;
use crate::facts::{AgentInfo, AwsFacts, Fetch, Instance, NatGateway, RouteTable, VpcEndpoint};
use serde::Serialize;

/// Agents from this version on use ssmmessages instead of ec2messages when they can.
pub const EC2MESSAGES_OPTIONAL_FROM: &str = "3.3.40.0";

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
    /// The default route leaves through something ssm-doctor cannot see past (TGW, VGW, peering, appliance).
    Opaque {
        target: &'a str,
    },
    None {
        reason: String,
    },
}

impl Internet<'_> {
    pub fn carries_traffic(&self) -> bool {
        matches!(self, Internet::Igw { .. } | Internet::Nat { .. })
    }

    pub fn describe(&self) -> String {
        match self {
            Internet::Igw { gateway } => format!("internet gateway {gateway}"),
            Internet::Nat { gateway } => format!("NAT gateway {gateway}"),
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
}

impl ServiceRoute<'_> {
    /// Private DNS makes the public service name resolve to an available endpoint inside the VPC.
    pub fn carried_by_endpoint(&self) -> bool {
        self.endpoint
            .is_some_and(|e| e.state.eq_ignore_ascii_case("available") && e.private_dns_enabled)
    }
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

    /// The instance's private address as a /32, if it has one.
    pub fn instance_ip(&self) -> Option<Cidr> {
        self.instance.private_ip.as_deref().and_then(Cidr::parse)
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
pub fn analyse<'a>(facts: &'a AwsFacts, region: &str) -> Result<Path<'a>, Gap> {
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
    let agent = facts.agent.value().and_then(Option::as_ref);
    let services = service_needs(agent)
        .into_iter()
        .map(|(service, need)| ServiceRoute {
            service,
            need,
            endpoint: endpoint_for(endpoints, region, service),
        })
        .collect();
    Ok(Path {
        instance,
        vpc_id,
        subnet_id,
        route_table,
        internet: internet_path(route_table, nats, instance),
        services,
    })
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

fn internet_path<'a>(
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
        return match nats.iter().find(|n| n.id == target) {
            Some(nat) if nat.connectivity.as_deref() == Some("private") => {
                Internet::Opaque { target }
            }
            Some(nat) if nat.state == "available" => Internet::Nat { gateway: target },
            Some(nat) => Internet::None {
                reason: format!(
                    "the default route goes to NAT gateway {target}, which is {}",
                    nat.state
                ),
            },
            None => Internet::None {
                reason: format!(
                    "the default route goes to NAT gateway {target}, which does not exist"
                ),
            },
        };
    }
    Internet::Opaque { target }
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
