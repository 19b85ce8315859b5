"""Scenarios of estates beyond one VPC's own path: an instance profile deleted under a running
instance, an agent backing off, an agent that pings but holds no session channel, IPv6-only
subnets (egress-only gateway, NAT64), egress narrowed to private or published AWS ranges
(``--ip-ranges``), and spokes that reach central endpoints in a hub VPC through a transit gateway
(private hosted zones, a Resolver rule, a Route 53 Profile, their own DNS servers).

Appended to ``scenarios.SCENARIOS`` by the last line of scenarios.py; written like the scenarios
there (expectations from the checks' semantics, before the tool ever ran).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
from pathlib import Path
from scenarios import (
    PUBLIC,
    SERVICES3,
    SILENT_CONSOLE,
    Lab,
    Scenario,
    identity,
    nat_shape,
    public_shape,
    tcp443,
)

#: The first agent that reaches Systems Manager over IPv6 (the dual-stack endpoints).
DUAL_STACK_AGENT = "3.3.3270.0"
#: An agent older than that: over IPv6 it needs NAT64.
IPV4_ONLY_AGENT = "3.3.1142.0"

# ------------------------------------------------------------------------------------------------
# A small ip-ranges.json (AWS's format), for --ip-ranges
# ------------------------------------------------------------------------------------------------

IP_RANGES_FILE = Path(__file__).resolve().parent / "ip-ranges-sample.json"
IP_RANGES_CREATED = "2026-11-28-01-02-03"
#: The AMAZON ranges of us-east-1 in the sample: what a prefix list must hold to reach them all.
US_EAST_1_AMAZON = ["52.94.0.0/22", "3.5.0.0/16"]
#: eu-west-1's AMAZON range in the sample: public, and none of us-east-1's.
EU_WEST_1_AMAZON = "52.95.0.0/24"
IP_RANGES = {
    "syncToken": "1764300123",
    "createDate": IP_RANGES_CREATED,
    "prefixes": [
        {"ip_prefix": "52.94.0.0/22", "region": "us-east-1", "service": "AMAZON",
         "network_border_group": "us-east-1"},
        {"ip_prefix": "3.5.0.0/16", "region": "us-east-1", "service": "AMAZON",
         "network_border_group": "us-east-1"},
        # a service's own range, not AMAZON: never one the endpoints must fall in
        {"ip_prefix": "54.80.0.0/13", "region": "us-east-1", "service": "EC2",
         "network_border_group": "us-east-1"},
        {"ip_prefix": EU_WEST_1_AMAZON, "region": "eu-west-1", "service": "AMAZON",
         "network_border_group": "eu-west-1"},
    ],
    "ipv6_prefixes": [
        {"ipv6_prefix": "2600:1f18::/33", "region": "us-east-1", "service": "AMAZON",
         "network_border_group": "us-east-1"},
        {"ipv6_prefix": "2a05:d000::/25", "region": "eu-west-1", "service": "AMAZON",
         "network_border_group": "eu-west-1"},
    ],
}


def _write_ip_ranges() -> None:
    """The sample file, checked in and rewritten only when this module's copy differs."""
    text = json.dumps(IP_RANGES, indent=2) + "\n"
    if not IP_RANGES_FILE.exists() or IP_RANGES_FILE.read_text() != text:
        IP_RANGES_FILE.write_text(text)


_write_ip_ranges()
WITH_IP_RANGES = ["--ip-ranges", str(IP_RANGES_FILE)]

# ------------------------------------------------------------------------------------------------
# Seeding helpers
# ------------------------------------------------------------------------------------------------


def _ago(minutes: int) -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=minutes)


def delete_profile(lab: Lab) -> None:
    """Delete the instance's profile after it was associated (its role removed first, as IAM
    requires): the instance keeps an association to an ARN that no longer exists."""
    lab.iam.remove_role_from_instance_profile(InstanceProfileName=lab.ids["profile"],
                                              RoleName=lab.ids["role"])
    lab.iam.delete_instance_profile(InstanceProfileName=lab.ids["profile"])


def dual_stack_vpc(lab: Lab) -> str:
    """The lab's VPC (10.<n>.0.0/16) with an Amazon-provided IPv6 /56; its default network ACL
    gets the ``::/0`` allow entries AWS adds when a VPC gets an IPv6 block (moto adds none)."""
    vpc = lab.ec2.create_vpc(CidrBlock=lab.cidr(), AmazonProvidedIpv6CidrBlock=True)["Vpc"]
    vid = vpc["VpcId"]
    lab.ec2.create_tags(Resources=[vid], Tags=[{"Key": "Name", "Value": lab.prefix}])
    lab.ec2.modify_vpc_attribute(VpcId=vid, EnableDnsSupport={"Value": True})
    lab.ec2.modify_vpc_attribute(VpcId=vid, EnableDnsHostnames={"Value": True})
    block = lab.ec2.describe_vpcs(VpcIds=[vid])["Vpcs"][0]["Ipv6CidrBlockAssociationSet"][0]
    lab.ids.update(vpc=vid, vpc_ipv6_cidr=block["Ipv6CidrBlock"])
    acl = lab.ec2.describe_network_acls(Filters=[
        {"Name": "vpc-id", "Values": [vid]}, {"Name": "default", "Values": ["true"]},
    ])["NetworkAcls"][0]["NetworkAclId"]
    for egress in (True, False):
        lab.ec2.create_network_acl_entry(NetworkAclId=acl, RuleNumber=101, Egress=egress,
                                         RuleAction="allow", Protocol="-1", Ipv6CidrBlock="::/0")
    lab.ids["default_nacl"] = acl
    return vid


def ipv6_native_subnet(lab: Lab, name: str, index: int) -> str:
    """An IPv6-only subnet: the ``index``-th /64 of the VPC's /56, no IPv4 range."""
    block = ipaddress.IPv6Network(lab.ids["vpc_ipv6_cidr"])
    cidr = str(next(c for i, c in enumerate(block.subnets(new_prefix=64)) if i == index))
    sid = lab.ec2.create_subnet(VpcId=lab.ids["vpc"], Ipv6Native=True, Ipv6CidrBlock=cidr,
                                AvailabilityZone=f"{lab.region}a")["Subnet"]["SubnetId"]
    lab.ids.update({name: sid, f"{name}_ipv6_cidr": cidr})
    return sid


def ipv6_only_shape(lab: Lab, *, agent_version: str, nat64: bool = False) -> None:
    """An IPv6-only instance (IPv6-native subnet, default-like security group, the default ACL
    open to ``::/0``). Without ``nat64`` its table sends ``::/0`` to an egress-only gateway; with
    it, DNS64 is on and ``64:ff9b::/96`` goes to a NAT gateway in a public IPv4 subnet (the VPC's
    internet gateway routes that subnet), and there is no ``::/0`` route."""
    dual_stack_vpc(lab)
    ipv6_native_subnet(lab, "app", 1)
    rt = lab.route_table("rt", ["app"], None)
    if nat64:
        lab.subnet("public", 0)
        igw = lab.igw()
        lab.route_table("public_rt", ["public"], {"GatewayId": igw})
        nat = lab.nat("public")
        lab.ec2.modify_subnet_attribute(SubnetId=lab.ids["app"], EnableDns64={"Value": True})
        lab.ec2.create_route(RouteTableId=rt, DestinationIpv6CidrBlock="64:ff9b::/96",
                             NatGatewayId=nat)
    else:
        eigw = lab.ec2.create_egress_only_internet_gateway(VpcId=lab.ids["vpc"])[
            "EgressOnlyInternetGateway"]["EgressOnlyInternetGatewayId"]
        lab.ids["eigw"] = eigw
        lab.ec2.create_route(RouteTableId=rt, DestinationIpv6CidrBlock="::/0",
                             EgressOnlyInternetGatewayId=eigw)
    lab.security_group("instance_sg")
    identity(lab)
    lab.instance("app", ["instance_sg"], ipv6=True)
    lab.agent(version=agent_version)


def hub_cidr(lab: Lab) -> str:
    """The hub VPC's range: outside every lab's 10.<n>.0.0/16."""
    return f"172.{16 + lab.n % 16}.0.0/16"


def endpoint_alias(lab: Lab, service: str) -> str:
    """The regional DNS name of the hub's interface endpoint for ``service``."""
    return f"{lab.ids[f'hub_vpce_{service}']}-abcd1234.{service}.{lab.region}.vpce.amazonaws.com"


def hub_and_spoke(lab: Lab) -> None:
    """The lab's VPC is a spoke without endpoints: its instance subnet's table holds the local
    route and the hub's range → a transit gateway, no default route. The hub VPC holds interface
    endpoints for ssm, ssmmessages and ec2messages (private DNS off: the spokes get their names
    from elsewhere), their security group open to the spoke on 443; both VPCs are attached to
    the transit gateway. Names are left to the caller (zones, a Resolver rule, DNS servers)."""
    lab.vpc()
    lab.subnet("app", 1)
    tgw = lab.ec2.create_transit_gateway(Description=lab.prefix)["TransitGateway"][
        "TransitGatewayId"]
    lab.ids["tgw"] = tgw
    # the hub
    cidr = hub_cidr(lab)
    hub = lab.ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    lab.ec2.create_tags(Resources=[hub], Tags=[{"Key": "Name", "Value": f"{lab.prefix}-hub"}])
    lab.ec2.modify_vpc_attribute(VpcId=hub, EnableDnsSupport={"Value": True})
    lab.ec2.modify_vpc_attribute(VpcId=hub, EnableDnsHostnames={"Value": True})
    hub_subnet = lab.ec2.create_subnet(VpcId=hub, CidrBlock=cidr.replace(".0.0/16", ".1.0/24"),
                                       AvailabilityZone=f"{lab.region}a")["Subnet"]["SubnetId"]
    hub_sg = lab.ec2.create_security_group(
        GroupName=f"{lab.prefix}-hub-endpoints", Description="hub endpoints", VpcId=hub,
    )["GroupId"]
    lab.ec2.authorize_security_group_ingress(
        GroupId=hub_sg, IpPermissions=[tcp443(IpRanges=[{"CidrIp": lab.cidr()}])])
    for service in SERVICES3:
        lab.ids[f"hub_vpce_{service}"] = lab.ec2.create_vpc_endpoint(
            VpcId=hub, VpcEndpointType="Interface",
            ServiceName=f"com.amazonaws.{lab.region}.{service}",
            SubnetIds=[hub_subnet], SecurityGroupIds=[hub_sg], PrivateDnsEnabled=False,
        )["VpcEndpoint"]["VpcEndpointId"]
    lab.ids.update(hub_vpc=hub, hub_cidr=cidr, hub_subnet=hub_subnet)
    for vpc, subnet in ((lab.ids["vpc"], lab.ids["app"]), (hub, hub_subnet)):
        lab.ec2.create_transit_gateway_vpc_attachment(TransitGatewayId=tgw, VpcId=vpc,
                                                      SubnetIds=[subnet])
    hub_rt = lab.ec2.describe_route_tables(Filters=[
        {"Name": "vpc-id", "Values": [hub]}, {"Name": "association.main", "Values": ["true"]},
    ])["RouteTables"][0]["RouteTableId"]
    lab.ec2.create_route(RouteTableId=hub_rt, DestinationCidrBlock=lab.cidr(),
                         TransitGatewayId=tgw)
    # the spoke
    rt = lab.route_table("rt", ["app"], None)
    lab.ec2.create_route(RouteTableId=rt, DestinationCidrBlock=cidr, TransitGatewayId=tgw)
    lab.security_group("instance_sg")
    identity(lab)
    lab.instance("app", ["instance_sg"])
    lab.agent()


def private_zone(lab: Lab, name: str, records: dict[str, str], vpc: str | None = None) -> str:
    """A private hosted zone ``name`` associated with the spoke (or ``vpc``), holding for each
    name of ``records`` an alias A record to that hub endpoint's regional DNS name (by service)."""
    route53 = lab.emu.client("route53", lab.region)
    zone = route53.create_hosted_zone(
        Name=name, CallerReference=f"{lab.prefix}-{name}",
        HostedZoneConfig={"PrivateZone": True, "Comment": lab.prefix},
        VPC={"VPCRegion": lab.region, "VPCId": vpc or lab.ids["vpc"]},
    )["HostedZone"]["Id"].removeprefix("/hostedzone/")
    route53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [
        {"Action": "UPSERT", "ResourceRecordSet": {
            "Name": record, "Type": "A",
            "AliasTarget": {"HostedZoneId": "Z7HUB4ETN3YO1",
                            "DNSName": endpoint_alias(lab, service),
                            "EvaluateTargetHealth": False}}}
        for record, service in records.items()
    ]})
    lab.ids[f"zone_{name.split('.')[0]}"] = zone
    return zone


def service_zones(lab: Lab, services: tuple[str, ...] = SERVICES3) -> None:
    """One zone per service name, each aliasing its apex to the hub's endpoint."""
    for service in services:
        name = f"{service}.{lab.region}.amazonaws.com"
        private_zone(lab, name, {name: service})


def dns_profile(lab: Lab, *, endpoints: tuple[str, ...] = (), zones: tuple[str, ...] = (),
                owner: str | None = None) -> str:
    """A Route 53 Profile associated with the spoke, carrying the hub's interface endpoints for
    ``endpoints`` and, for ``zones``, a private hosted zone per service name (associated with the
    hub only, so that only the Profile brings it to the spoke). ``owner``: the network account
    that owns the Profile and what it carries, when not the spoke's."""
    profile = "rp-" + hashlib.sha256(lab.prefix.encode()).hexdigest()[:17]
    account = owner or lab.ids["account"]
    arns = [f"arn:aws:ec2:{lab.region}:{account}:vpc-endpoint/{lab.ids[f'hub_vpce_{s}']}"
            for s in endpoints]
    for service in zones:
        name = f"{service}.{lab.region}.amazonaws.com"
        zone = private_zone(lab, name, {name: service}, vpc=lab.ids["hub_vpc"])
        arns.append(f"arn:aws:route53:::hostedzone/{zone}")
    lab.emu.associate_profile(lab.ids["vpc"], profile, region=lab.region)
    for arn in arns:
        lab.emu.add_profile_resource(profile, arn, region=lab.region, owner=owner)
    lab.ids["dns_profile"] = profile
    return profile


def forwarding_rule(lab: Lab) -> str:
    """A FORWARD Resolver rule for amazonaws.com to the hub's DNS (an inbound Resolver endpoint's
    address in the hub), associated with the spoke."""
    resolver = lab.emu.client("route53resolver", lab.region)
    target = hub_cidr(lab).replace(".0.0/16", ".1.53")
    rule = resolver.create_resolver_rule(
        CreatorRequestId=lab.prefix, Name=lab.prefix[:64], RuleType="FORWARD",
        DomainName="amazonaws.com", TargetIps=[{"Ip": target, "Port": 53}],
    )["ResolverRule"]["Id"]
    resolver.associate_resolver_rule(ResolverRuleId=rule, VPCId=lab.ids["vpc"],
                                     Name=lab.prefix[:64])
    lab.ids.update(resolver_rule=rule, resolver_target=target)
    return rule


def custom_dns_servers(lab: Lab) -> str:
    """DHCP options naming the organisation's own DNS server (an instance in the hub, reached
    through the transit gateway), associated with the spoke."""
    server = hub_cidr(lab).replace(".0.0/16", ".1.10")
    options = lab.ec2.create_dhcp_options(DhcpConfigurations=[
        {"Key": "domain-name-servers", "Values": [server]},
        {"Key": "domain-name", "Values": ["corp.example.com"]},
    ])["DhcpOptions"]["DhcpOptionsId"]
    lab.ec2.associate_dhcp_options(DhcpOptionsId=options, VpcId=lab.ids["vpc"])
    lab.ids.update(dns_server=server, dhcp_options=options)
    return server


# ------------------------------------------------------------------------------------------------
# The scenarios
# ------------------------------------------------------------------------------------------------

#: A spoke's baseline: no endpoint of its own (vpce.* skip, as on an internet path), the names its
#: DNS gives the three services judged by network.dns-central, and the VPC's DNS attributes, which
#: its private hosted zones and Resolver rules need, judged by vpc.dns-*.
HUB = dict(PUBLIC) | {"network.dns-central": "pass", "vpc.dns-support": "pass",
                      "vpc.dns-hostnames": "pass"}

ESTATES: list[Scenario] = [
    # ---- identity and agent --------------------------------------------------------------------
    Scenario(
        "profile-deleted",
        lambda lab: (public_shape(lab, agent={"ping_status": "ConnectionLost"}),
                     delete_profile(lab)),
        exit_code=1, baseline=PUBLIC, expect_fail={"iam.profile", "agent.online"},
        expect_status=SILENT_CONSOLE,
        expect_message={"iam.profile": ["{profile_arn}", "no longer exists"]},
        doc="The instance profile was deleted after it was associated (the instance still names "
        "its ARN): the agent gets no credentials and lost its connection. The role is not "
        "judged: nothing hands it to the instance.",
    ),
    Scenario(
        "agent-backing-off",
        lambda lab: public_shape(lab, agent={"ping_status": "ConnectionLost",
                                             "last_ping": _ago(20)}),
        exit_code=1, baseline=PUBLIC, expect_fail={"agent.online"}, expect_status=SILENT_CONSOLE,
        expect_message={"agent.online": ["minutes before this run",
                                         "next attempt is likely within", "Restart the agent"]},
        doc="The agent last pinged 20 minutes before the run: a hibernating agent retries at "
        "growing intervals, so the message says when it will likely try again and that a "
        "restart ends the wait.",
    ),
    Scenario(
        "online-not-connected",
        lambda lab: public_shape(lab, agent={"connected": False}),
        exit_code=1, baseline=PUBLIC, expect_fail={"agent.online"},
        expect_message={"agent.online": ["not connected", "ssmmessages"]},
        doc="SSM lists the agent Online (it pings ssm), but Session Manager's GetConnectionStatus "
        "answers notconnected: it holds no ssmmessages control channel, so no session opens.",
    ),
    # ---- IPv6 ----------------------------------------------------------------------------------
    Scenario(
        "healthy-ipv6-only",
        lambda lab: ipv6_only_shape(lab, agent_version=DUAL_STACK_AGENT),
        exit_code=0, baseline=PUBLIC,
        expect_message={"network.route": ["over IPv6", "egress-only", "{eigw}"]},
        doc="An IPv6-only instance in an IPv6-native subnet; ::/0 goes to an egress-only "
        "gateway; agent 3.3.3270.0 (Online), which reaches Systems Manager through the "
        "dual-stack endpoints; the default ACL allows ::/0 both ways.",
    ),
    Scenario(
        "ipv6-only-old-agent",
        lambda lab: ipv6_only_shape(lab, agent_version=IPV4_ONLY_AGENT),
        exit_code=1, baseline=PUBLIC, expect_fail={"network.route"},
        expect_message={"network.route": [DUAL_STACK_AGENT, IPV4_ONLY_AGENT, "{eigw}"]},
        doc="The same IPv6-only subnet, with agent 3.3.1142.0: it only knows the IPv4-only "
        "regional endpoints, which ::/0 cannot reach.",
    ),
    Scenario(
        "healthy-nat64",
        lambda lab: ipv6_only_shape(lab, agent_version=IPV4_ONLY_AGENT, nat64=True),
        exit_code=0, baseline=PUBLIC,
        expect_message={"network.route": ["NAT64", "{nat}"]},
        doc="An IPv6-only instance whose subnet has DNS64 on and 64:ff9b::/96 routed to a NAT "
        "gateway in a public IPv4 subnet, and no ::/0 route: NAT64 reaches the IPv4 endpoints "
        "for any agent (3.3.1142.0 here).",
    ),
    # ---- egress narrowed -----------------------------------------------------------------------
    Scenario(
        "egress-to-private-ranges",
        lambda lab: nat_shape(lab, instance_egress=[tcp443(IpRanges=[
            {"CidrIp": "10.99.0.0/16"}, {"CidrIp": "192.0.2.0/24"}])]),
        exit_code=1, baseline=PUBLIC, expect_fail={"network.egress-443"},
        expect_message={"network.egress-443": ["cannot hold", "192.0.2.0/24 (documentation)",
                                               "10.99.0.0/16"]},
        doc="Behind a NAT gateway, the instance may send 443 only to a private range and a "
        "documentation range: neither can hold the regional public endpoints.",
    ),
    Scenario(
        "egress-to-aws-prefix-list",
        lambda lab: nat_shape(lab, instance_egress=lambda l: [tcp443(PrefixListIds=[
            {"PrefixListId": l.prefix_list("aws_pl", US_EAST_1_AMAZON)}])]),
        exit_code=0, baseline=PUBLIC, expect_warn={"network.egress-443"},
        expect_message={"network.egress-443": ["--ip-ranges", "52.94.0.0/22"]},
        doc="Egress 443 only to a customer-managed prefix list holding us-east-1's AMAZON ranges "
        "(a healthy look-alike): without AWS's published ranges ssm-doctor cannot tell, so it "
        "warns and names --ip-ranges.",
    ),
    Scenario(
        "egress-to-aws-ranges-checked",
        lambda lab: nat_shape(lab, instance_egress=lambda l: [tcp443(PrefixListIds=[
            {"PrefixListId": l.prefix_list("aws_pl", US_EAST_1_AMAZON)}])]),
        exit_code=0, baseline=PUBLIC, args=WITH_IP_RANGES,
        expect_message={"network.egress-443": [IP_RANGES_CREATED, "AMAZON"]},
        doc="The same prefix list, judged with --ip-ranges: it holds every AMAZON range of "
        "us-east-1 in the file (the EC2-only range does not count), so egress passes.",
    ),
    Scenario(
        "egress-outside-aws-ranges",
        lambda lab: nat_shape(lab, instance_egress=[
            tcp443(IpRanges=[{"CidrIp": EU_WEST_1_AMAZON}])]),
        exit_code=1, baseline=PUBLIC, args=WITH_IP_RANGES, expect_fail={"network.egress-443"},
        expect_message={"network.egress-443": ["none of the", EU_WEST_1_AMAZON,
                                               IP_RANGES_CREATED]},
        doc="Egress 443 only to an AMAZON range of eu-west-1, with --ip-ranges: it holds none of "
        "us-east-1's, where the instance's endpoints are.",
    ),
    # ---- hub and spoke -------------------------------------------------------------------------
    Scenario(
        "healthy-hub-and-spoke",
        lambda lab: (hub_and_spoke(lab), service_zones(lab)),
        exit_code=0, baseline=HUB,
        expect_message={"network.dns-central": ["{hub_vpce_ssmmessages}", "{hub_vpce_ssm}",
                                                "{tgw}"],
                        "network.route": ["central endpoints", "{tgw}|network.dns-central"]},
        doc="A spoke without endpoints or default route, its table sending the hub's range to a "
        "transit gateway; three private hosted zones named like the services, associated with "
        "the spoke, alias their apex to the hub's interface endpoints.",
    ),
    Scenario(
        "spoke-missing-ssmmessages-zone",
        lambda lab: (hub_and_spoke(lab), service_zones(lab, ("ssm", "ec2messages"))),
        exit_code=1, baseline=HUB, expect_fail={"network.dns-central", "network.route"},
        expect_message={"network.dns-central": [
            "ssmmessages.us-east-1.amazonaws.com has no private answer"]},
        doc="The spoke has zones for ssm and ec2messages but none for ssmmessages: the agent "
        "registers, but ssmmessages resolves publicly, where the spoke has no path.",
    ),
    Scenario(
        "spoke-parent-zone-without-record",
        lambda lab: (hub_and_spoke(lab), private_zone(
            lab, f"{lab.region}.amazonaws.com",
            {f"ssm.{lab.region}.amazonaws.com": "ssm"})),
        exit_code=1, baseline=HUB, expect_fail={"network.dns-central", "network.route"},
        expect_message={"network.dns-central": ["does not resolve",
                                                "ssmmessages.us-east-1.amazonaws.com"]},
        doc="One zone for the parent name us-east-1.amazonaws.com, holding only the ssm record: "
        "inside the spoke it answers for every name under it, so ssmmessages does not resolve "
        "at all.",
    ),
    Scenario(
        "spoke-resolver-forwarding",
        lambda lab: (hub_and_spoke(lab), forwarding_rule(lab)),
        exit_code=0, baseline=HUB,
        expect_message={"network.dns-central": ["{resolver_rule}", "{resolver_target}"],
                        "network.route": ["central endpoints"]},
        doc="No zones: a Resolver rule associated with the spoke forwards amazonaws.com to the "
        "hub's DNS, which answers with the hub's endpoints.",
    ),
    Scenario(
        "healthy-spoke-through-profile",
        lambda lab: (hub_and_spoke(lab), dns_profile(lab, endpoints=SERVICES3)),
        exit_code=0, baseline=HUB,
        expect_message={"network.dns-central": [
            "endpoint {hub_vpce_ssmmessages} (through Route 53 Profile {dns_profile})", "{tgw}"],
            "network.route": ["central endpoints"]},
        doc="No zones or rules of the spoke's own: a Route 53 Profile associated with it carries "
        "the hub's three interface endpoints, whose names it answers in the spoke.",
    ),
    Scenario(
        "spoke-profile-without-ssmmessages",
        lambda lab: (hub_and_spoke(lab), dns_profile(lab, zones=("ssm", "ec2messages"))),
        exit_code=1, baseline=HUB, expect_fail={"network.dns-central", "network.route"},
        expect_message={"network.dns-central": [
            "ssmmessages.us-east-1.amazonaws.com has no private answer",
            "through Route 53 Profile {dns_profile}"]},
        doc="The spoke's Profile carries the zones for ssm and ec2messages (associated with the "
        "hub only), but none for ssmmessages: the shared-zone mistake, made in a Profile.",
    ),
    Scenario(
        "spoke-profile-of-network-account",
        lambda lab: (hub_and_spoke(lab),
                     dns_profile(lab, endpoints=SERVICES3, owner="210987654321")),
        exit_code=0, baseline=HUB, expect_warn={"network.dns-central", "network.route"},
        expect_message={"network.dns-central": [
            "may be answered by Route 53 Profile {dns_profile}",
            "3 interface endpoints only account 210987654321 can read"]},
        doc="The Profile belongs to the network account, which shares it: what it carries only "
        "that account can read, so whether it answers the names is a doubt, never a failure.",
    ),
    Scenario(
        "spoke-custom-dns",
        lambda lab: (hub_and_spoke(lab), service_zones(lab), custom_dns_servers(lab)),
        exit_code=0, baseline=HUB, expect_warn={"network.dns-central", "network.route"},
        # the VPC's resolver is not what answers: its attributes are not judged
        expect_status={"vpc.dns-support": "skip", "vpc.dns-hostnames": "skip"},
        expect_message={"network.dns-central": ["{dns_server}"]},
        doc="The zones are there, but the spoke's DHCP options send its instances to the "
        "organisation's own DNS server, which ssm-doctor cannot see into: whether it answers "
        "with the hub's endpoints is a doubt, as is the path past the transit gateway.",
    ),
]
