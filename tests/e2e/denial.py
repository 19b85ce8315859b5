"""The denial matrix: its world and its declarations.

Every action of ``docs/iam-policy.json`` is denied in turn (an explicit ``Deny`` of exactly that
action, everything else allowed) to the caller of one binary run, under moto's IAM enforcement; the
run is compared check by check with the same invocation by a caller allowed everything
(test_denial.py).  This module seeds the world those runs look at and declares the invocations
(*modes*: one instance, ``--asg``, ``--tag``, ``--all``).

The world lives in two regions nothing else in the suite uses, so that ``--all`` counts exactly:

* ``ap-northeast-3``, VPC ``10.201.0.0/16``: interface endpoints for ssm, ssmmessages and ec2messages
  (private DNS on, each with an endpoint policy), the instances' only egress rule TCP 443 to a
  customer-managed prefix list holding the endpoint subnet, the endpoints' only ingress rule TCP 443
  from another prefix list holding the instance subnet (so ``ec2:GetManagedPrefixListEntries`` is
  asked and matters); one role with every kind of policy — the AWS-managed
  AmazonSSMManagedInstanceCore, a customer-managed policy (default version v2, v1 a decoy), an
  inline policy, and a customer-managed permissions boundary allowing the core actions — in an
  instance profile named differently from the role.  Instances: ``main`` (the single-instance
  mode; tagged), ``tagged`` (the same, tagged), ``dhmc`` (no profile, IMDSv2 required, Default Host
  Management Configuration on in the region: ``iam.profile`` warns; tagged, so that the data of
  ``ssm:GetServiceSetting`` matters to the ``--tag`` run), and two members of an Auto Scaling
  group (the profile associated afterwards: moto drops the launch template's); Session Manager
  preferences logging to an encrypted bucket and log group and encrypting with a KMS key, reached
  through an S3 gateway endpoint and logs and kms interface endpoints, the roles (the profile's and
  DHMC's) allowed to write and decrypt;
* ``eu-central-2``, VPC ``10.202.0.0/16``: the same identity, but the VPC is a *spoke*: no endpoint
  of its own for ssm, ssmmessages or ec2messages; they are a hub VPC's (``172.30.0.0/16``) behind a
  transit gateway, named in the spoke by private hosted zones (one per service, an alias record to
  the hub endpoint), with a Resolver rule and a DHCP options set of its own, so that every question
  about the VPC's DNS is asked and matters; a healthy instance and a DHMC one, for ``--all``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from fleet import FleetLab, World
from harness import ROOT
from scenarios import (
    AMI,
    CORE_EXPLICIT,
    CORE_MANAGED,
    CORE_WILDCARD,
    DHMC_POLICY,
    ENDPOINTS,
    SERVICES3,
    SESSION_DATA_GRANTS,
    SSM_TRUST,
    Scenario,
    allow,
    policy,
    tcp443,
)

REGION = "ap-northeast-3"  # nothing else in the suite uses it
ALL_REGION = "eu-central-2"  # --all only: its instance count is exact
ASG_NAME = "e2e-denial-asg"
TAG_KEY, TAG_VALUE = "e2e-denial", "matrix"
DHMC_SETTING = "/ssm/managed-instance/default-ec2-instance-management-role"
DHMC_ROLE_NAME = "e2e-denial-dhmc-role"
DHMC_ROLE = f"service-role/{DHMC_ROLE_NAME}"
#: The hub VPC of --all's region, whose endpoints the spoke's names lead to.
HUB_CIDR = "172.30.0.0/16"
#: The preferences of both regions: what Session Manager's console saves, logging to S3 and
#: CloudWatch Logs and encrypting with a KMS key, so that every read of them is asked.
PREFERENCES = "SSM-SessionManagerRunShell"
IAM_POLICY = ROOT / "docs" / "iam-policy.json"

#: The role's permissions boundary: the core actions, by service wildcard, and writing session data.
BOUNDARY = policy({"Effect": "Allow", "Action": ["ssm:*", "ssmmessages:*", "ec2messages:*"],
                   "Resource": "*"}, allow(list(SESSION_DATA_GRANTS)))
#: What the roles may do with session data (the preferences' bucket, log group and key).
SESSION_DATA = policy(allow(list(SESSION_DATA_GRANTS)))


def endpoint_policy(service: str) -> dict:
    """Set on each endpoint (not left to the default full access): the service's actions."""
    return policy({"Effect": "Allow", "Principal": "*", "Action": f"{service}:*",
                   "Resource": "*"})


def policy_actions() -> list[str]:
    """Every action of the Allow statements of docs/iam-policy.json, in the file's order."""
    statements = json.loads(IAM_POLICY.read_text())["Statement"]
    statements = [statements] if isinstance(statements, dict) else statements
    actions: list[str] = []
    for st in statements:
        if st.get("Effect") != "Allow":
            continue
        listed = st.get("Action", [])
        for a in [listed] if isinstance(listed, str) else listed:
            if a not in actions:
                actions.append(a)
    return actions


# ------------------------------------------------------------------------------------------------
# Expectations of the undenied runs
# ------------------------------------------------------------------------------------------------

#: Every instance of the world is judged for the preferences: logged and encrypted.
WITH_PREFERENCES = {"session.logging": "pass", "session.kms": "pass"}
HEALTHY = Scenario("denial-healthy", seed=lambda lab: None, exit_code=0, baseline=ENDPOINTS,
                   expect_status=WITH_PREFERENCES)
DHMC = Scenario(
    "denial-dhmc", seed=lambda lab: None, exit_code=0, baseline=ENDPOINTS,
    # iam.dhmc judges the DHMC role; the endpoint policies are judged for a profile's role only
    expect_status={"iam.trust": "skip", "iam.core-permissions": "skip", "vpce.policy": "skip",
                   "iam.dhmc": "pass", **WITH_PREFERENCES},
)
#: The spoke: no endpoint of its own, so vpce.* skip; central endpoints are its path.
SPOKE = {"vpce.present": "skip", "vpce.private-dns": "skip", "vpce.ingress-443": "skip",
         "vpce.policy": "skip", "network.dns-central": "pass"}
SPOKE_HEALTHY = Scenario("denial-spoke-healthy", seed=lambda lab: None, exit_code=0,
                         baseline=ENDPOINTS, expect_status={**WITH_PREFERENCES, **SPOKE})
SPOKE_DHMC = Scenario(
    "denial-spoke-dhmc", seed=lambda lab: None, exit_code=0, baseline=ENDPOINTS,
    expect_status={**DHMC.expect_status, **SPOKE},
)


# ------------------------------------------------------------------------------------------------
# The world
# ------------------------------------------------------------------------------------------------


@dataclass
class DenialWorld:
    instances: dict[str, list[str]] = field(default_factory=dict)  # group → ids
    expect: dict[str, Scenario] = field(default_factory=dict)  # id → expectation
    ids: dict[str, str] = field(default_factory=dict)

    def group(self, *names: str) -> list[str]:
        return [i for n in names for i in self.instances[n]]


class DenialLab(FleetLab):
    def __init__(self, emulator: Any, world: DenialWorld, name: str, index: int, region: str):
        super().__init__(emulator, World(), name, index, region=region)
        self.denial = world
        self.prefix = f"e2e-denial-{name}"

    def network_and_identity(self, spoke: bool = False) -> str:
        """The VPC, its endpoints (a hub's, with ``spoke``) and prefix lists, and the role in its
        profile; the profile ARN."""
        self.vpc()
        self.subnet("app", 1)
        self.subnet("endpoints", 2)
        self.route_table("rt", ["app"], None)
        self.route_table("endpoints_rt", ["endpoints"], None)
        to_endpoints = self.prefix_list(
            "pl_endpoints", [self.cidr(2)] + ([HUB_CIDR] if spoke else []))
        from_instances = self.prefix_list("pl_instances", [self.cidr(1)])
        self.security_group("instance_sg", egress=[
            tcp443(PrefixListIds=[{"PrefixListId": to_endpoints}])])
        self.security_group("endpoint_sg", ingress=[
            tcp443(PrefixListIds=[{"PrefixListId": from_instances}])])
        if spoke:
            self.hub()
        else:
            for service in SERVICES3:
                self.endpoint(service, "endpoints", ["endpoint_sg"], private_dns=True,
                              policy_document=endpoint_policy(service))
        boundary = self.customer_policy("boundary", BOUNDARY, decoy_first_version=False)
        self.role(managed=[CORE_MANAGED], customer={"core": CORE_EXPLICIT},
                  inline={"core-inline": CORE_WILDCARD}, boundary=boundary)
        self.iam.put_role_policy(RoleName=self.ids["role"], PolicyName="session-data",
                                 PolicyDocument=json.dumps(SESSION_DATA))
        self.profile()
        assert self.ids["profile"] != self.ids["role"]
        self.dhmc_role()
        self.ssm.update_service_setting(SettingId=DHMC_SETTING, SettingValue=DHMC_ROLE)
        self.preferences()
        self.denial.ids[f"vpc:{self.name}"] = self.ids["vpc"]
        return self.ids["profile_arn"]

    def hub(self) -> None:
        """The hub VPC's endpoints behind a transit gateway, and the spoke's DNS for them: zones
        of its own for ssm and ssmmessages, ec2messages' through a Route 53 Profile."""
        ec2 = self.ec2
        hub = ec2.create_vpc(CidrBlock=HUB_CIDR)["Vpc"]["VpcId"]
        hub_subnet = ec2.create_subnet(VpcId=hub, CidrBlock=HUB_CIDR.replace("0.0/16", "1.0/24"),
                                       AvailabilityZone=f"{self.region}a")["Subnet"]["SubnetId"]
        tgw = ec2.create_transit_gateway()["TransitGateway"]["TransitGatewayId"]
        for vpc, subnet in ((hub, hub_subnet), (self.ids["vpc"], self.ids["app"])):
            ec2.create_transit_gateway_vpc_attachment(TransitGatewayId=tgw, VpcId=vpc,
                                                      SubnetIds=[subnet])
        ec2.create_route(RouteTableId=self.ids["rt"], DestinationCidrBlock=HUB_CIDR,
                         TransitGatewayId=tgw)
        route53 = self.emu.client("route53", self.region)
        for service in SERVICES3:
            vpce = ec2.create_vpc_endpoint(
                VpcId=hub, VpcEndpointType="Interface", SubnetIds=[hub_subnet],
                ServiceName=f"com.amazonaws.{self.region}.{service}", PrivateDnsEnabled=False,
            )["VpcEndpoint"]["VpcEndpointId"]
            name = f"{service}.{self.region}.amazonaws.com"
            shared = service == "ec2messages"
            zone = route53.create_hosted_zone(
                Name=name, CallerReference=f"{self.prefix}-{service}",
                HostedZoneConfig={"PrivateZone": True},
                VPC={"VPCRegion": self.region, "VPCId": hub if shared else self.ids["vpc"]},
            )["HostedZone"]["Id"]
            if shared:
                profile = f"rp-{self.prefix}"
                self.emu.associate_profile(self.ids["vpc"], profile, region=self.region)
                self.emu.add_profile_resource(
                    profile, f"arn:aws:route53:::{zone.lstrip('/')}", region=self.region)
            route53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{
                "Action": "UPSERT", "ResourceRecordSet": {
                    "Name": name, "Type": "A", "AliasTarget": {
                        "HostedZoneId": "Z7HUB4ETN3YO1", "EvaluateTargetHealth": False,
                        "DNSName": f"{vpce}-abcd1234.{service}.{self.region}.vpce.amazonaws.com",
                    }}}]})
        resolver = self.emu.client("route53resolver", self.region)
        rule = resolver.create_resolver_rule(
            CreatorRequestId=f"{self.prefix}-corp", Name="corp", RuleType="FORWARD",
            DomainName="corp.example", TargetIps=[{"Ip": "10.255.0.2", "Port": 53}],
        )["ResolverRule"]["Id"]
        resolver.associate_resolver_rule(ResolverRuleId=rule, VPCId=self.ids["vpc"], Name="corp")
        options = ec2.create_dhcp_options(DhcpConfigurations=[
            {"Key": "domain-name-servers", "Values": ["AmazonProvidedDNS"]},
            {"Key": "domain-name", "Values": [f"{self.region}.compute.internal"]},
        ])["DhcpOptions"]["DhcpOptionsId"]
        ec2.associate_dhcp_options(DhcpOptionsId=options, VpcId=self.ids["vpc"])

    def dhmc_role(self) -> None:
        """The role DHMC hands out (IAM is global: the first region's lab creates it)."""
        try:
            self.iam.create_role(RoleName=DHMC_ROLE_NAME, Path="/service-role/",
                                 AssumeRolePolicyDocument=json.dumps(SSM_TRUST))
        except self.iam.exceptions.EntityAlreadyExistsException:
            return
        self.iam.attach_role_policy(RoleName=DHMC_ROLE_NAME, PolicyArn=DHMC_POLICY)
        self.iam.put_role_policy(RoleName=DHMC_ROLE_NAME, PolicyName="session-data",
                                 PolicyDocument=json.dumps(SESSION_DATA))

    def preferences(self) -> None:
        """Session Manager's preferences in the region, and the paths to what they name."""
        key = self.kms_key()
        bucket = self.bucket()
        group = self.log_group(key)
        self.ssm.create_document(
            Name=PREFERENCES, DocumentType="Session", DocumentFormat="JSON",
            Content=json.dumps({"schemaVersion": "1.0", "description": "preferences",
                                "sessionType": "Standard_Stream", "inputs": {
                                    "s3BucketName": bucket, "s3EncryptionEnabled": True,
                                    "cloudWatchLogGroupName": group,
                                    "cloudWatchEncryptionEnabled": True,
                                    "kmsKeyId": self.ids["key_alias"]}}))
        self.ec2.create_vpc_endpoint(
            VpcId=self.ids["vpc"], VpcEndpointType="Gateway",
            ServiceName=f"com.amazonaws.{self.region}.s3", RouteTableIds=[self.ids["rt"]])
        for service in ("logs", "kms"):
            self.endpoint(service, "endpoints", ["endpoint_sg"], private_dns=True)

    def run(self, group: str, expectation: Scenario, *, profile: bool = True,
            tags: dict[str, str] | None = None) -> str:
        """One instance in subnet ``app`` with the instance SG, registered Online."""
        kwargs: dict[str, Any] = {}
        if profile:
            kwargs["IamInstanceProfile"] = {"Arn": self.ids["profile_arn"]}
        else:  # DHMC needs IMDSv2
            kwargs["MetadataOptions"] = {"HttpTokens": "required"}
        all_tags = {"Name": f"{self.prefix}-{group}", **(tags or {})}
        iid = self.ec2.run_instances(
            ImageId=AMI, InstanceType="t3.micro", MinCount=1, MaxCount=1,
            SubnetId=self.ids["app"], SecurityGroupIds=[self.ids["instance_sg"]],
            TagSpecifications=[{"ResourceType": "instance",
                                "Tags": [{"Key": k, "Value": v} for k, v in all_tags.items()]}],
            **kwargs,
        )["Instances"][0]["InstanceId"]
        self.register(iid)
        self.adopt_denial(group, [iid], expectation)
        return iid

    def adopt_denial(self, group: str, ids: list[str], expectation: Scenario) -> None:
        self.denial.instances.setdefault(group, []).extend(ids)
        for iid in ids:
            self.denial.expect[iid] = expectation

    def auto_scaling_group(self, size: int = 2) -> None:
        profile = self.ids["profile_arn"]
        template = f"{self.prefix}-lt"
        self.ec2.create_launch_template(LaunchTemplateName=template, LaunchTemplateData={
            "ImageId": AMI, "InstanceType": "t3.micro",
            "SecurityGroupIds": [self.ids["instance_sg"]],
            "IamInstanceProfile": {"Arn": profile},
        })
        autoscaling = self.emu.client("autoscaling", self.region)
        autoscaling.create_auto_scaling_group(
            AutoScalingGroupName=ASG_NAME,
            LaunchTemplate={"LaunchTemplateName": template, "Version": "$Latest"},
            MinSize=0, MaxSize=size, DesiredCapacity=size, VPCZoneIdentifier=self.ids["app"],
        )
        members = [i["InstanceId"] for i in autoscaling.describe_auto_scaling_groups(
            AutoScalingGroupNames=[ASG_NAME])["AutoScalingGroups"][0]["Instances"]]
        assert len(members) == size, members
        for iid in members:
            # moto does not give ASG-launched instances the launch template's profile
            self.ec2.associate_iam_instance_profile(IamInstanceProfile={"Arn": profile},
                                                    InstanceId=iid)
            self.register(iid)
        self.adopt_denial("asg", members, HEALTHY)


def seed_denial_world(emulator: Any) -> DenialWorld:
    world = DenialWorld()
    tag = {TAG_KEY: TAG_VALUE}
    main = DenialLab(emulator, world, "main", 201, REGION)
    main.network_and_identity()
    main.run("main", HEALTHY, tags=tag)
    main.run("tagged", HEALTHY, tags=tag)
    main.run("dhmc", DHMC, profile=False, tags=tag)
    main.auto_scaling_group()
    other = DenialLab(emulator, world, "all", 202, ALL_REGION)
    other.network_and_identity(spoke=True)
    other.run("all_healthy", SPOKE_HEALTHY)
    other.run("all_dhmc", SPOKE_DHMC, profile=False)
    return world


# ------------------------------------------------------------------------------------------------
# The invocations
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mode:
    name: str
    selector: str  # for messages: the arguments
    region: str
    groups: tuple[str, ...]  # the instances it reports, exactly
    listing: frozenset[str] = frozenset()  # denied, the instances cannot be listed at all
    #: used actions whose denial may change no check, and why (anything else used must)
    no_effect: tuple[tuple[str, str], ...] = ()

    @property
    def fleet(self) -> bool:
        return self.name != "single"

    def args(self, world: DenialWorld) -> list[str]:
        return {
            "single": lambda: world.instances["main"][:1],
            "asg": lambda: ["--asg", ASG_NAME],
            "tag": lambda: ["--tag", f"{TAG_KEY}={TAG_VALUE}"],
            "all": lambda: ["--all"],
        }[self.name]()


#: sts:GetCallerIdentity needs no permission and cannot be denied ("If an administrator attaches a
#: policy to your identity that explicitly denies access to the sts:GetCallerIdentity action, you
#: can still perform this operation", STS API reference); moto answers it regardless too. Its
#: explicit Deny must be a no-op: answered 200, nothing changes.
UNDENIABLE = {"sts:GetCallerIdentity"}
_DHMC_UNUSED = ("ssm:GetServiceSetting",
                "Default Host Management Configuration only matters to an instance without an "
                "instance profile, and every instance of this selection has one")

_SIMULATION = ("iam:SimulatePrincipalPolicy",
               "IAM's policy simulator confirms operator.permission: without it the verdict stands "
               "on ssm-doctor's own evaluation, and the message says it is not confirmed")

MODES = [
    Mode("single", "<instance id>", REGION, ("main",), no_effect=(_DHMC_UNUSED, _SIMULATION)),
    Mode("asg", f"--asg {ASG_NAME}", REGION, ("asg",),
         listing=frozenset({"autoscaling:DescribeAutoScalingGroups", "ec2:DescribeInstances"}),
         no_effect=(_DHMC_UNUSED, _SIMULATION)),
    Mode("tag", f"--tag {TAG_KEY}={TAG_VALUE}", REGION, ("main", "tagged", "dhmc"),
         listing=frozenset({"ec2:DescribeInstances"}), no_effect=(_SIMULATION,)),
    Mode("all", "--all", ALL_REGION, ("all_healthy", "all_dhmc"),
         listing=frozenset({"ec2:DescribeInstances"}), no_effect=(_SIMULATION,)),
]
