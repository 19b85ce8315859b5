"""The end-to-end scenarios: one VPC each, seeded with boto3 into the emulator, with the expected
verdict of every check written down next to the seeding code, before the tool ever runs.

A scenario's expectation is a full map check id → status, built as

    baseline (PUBLIC or ENDPOINTS, below)  ⊕  expect_fail / expect_warn / expect_error / expect_status

and then closed under the general rule of docs/check-semantics.md: a check whose ``depends_on`` check
ended ``fail`` or ``skip`` is ``skip``; otherwise, one whose dependency ended ``error`` is ``error``
too (it could not be evaluated either).  The test compares the tool's statuses with that map
exactly, the set of failing ids, the exit code, and the substrings the messages must contain
(``expect_message``; ``{name}`` is replaced by the seeded resource id of that name, ``a|b`` means
either).

Every scenario breaks as little as it can: the SSM agent's state is declared by the scenario (the
emulator has no agent that would notice a broken network), so that each failure stays attributable
to the one check under test.  The one exception is forced by the emulator modelling the documented
API: DescribeInstanceInformation leaves stopped instances out, so a stopped instance is also
"not registered".
"""

from __future__ import annotations

import datetime as dt
import graphlib
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import endpoint_stubs

ACCOUNT = "123456789012"
#: The pseudo-status of a check the run did not observe from (report's ``not_observed``).
NOT_OBSERVED = "not_observed"
#: What the fake session-manager-plugin on the runs' PATH prints (operator.plugin passes).
PLUGIN_VERSION = "1.2.764.0"
#: What the person starting a session needs (operator.permission): every e2e caller has it.
SESSION_ACTIONS = ["ssm:StartSession", "ssm:TerminateSession", "ssm:ResumeSession"]
#: Default Host Management Configuration's setting, and the role AWS's quick setup creates for it.
DHMC_SETTING = "/ssm/managed-instance/default-ec2-instance-management-role"
DHMC_ROLE = "AWSSystemsManagerDefaultEC2InstanceManagementRole"
DHMC_POLICY = "arn:aws:iam::aws:policy/AmazonSSMManagedEC2InstanceDefaultPolicy"
SSM_TRUST = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "ssm.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
#: What the instance role needs to write session logs and decrypt session data.
SESSION_DATA_GRANTS = (
    "s3:PutObject", "s3:GetEncryptionConfiguration", "logs:CreateLogStream", "logs:PutLogEvents",
    "logs:DescribeLogGroups", "logs:DescribeLogStreams", "kms:Decrypt",
)
REGION = "us-east-1"
#: What an agent without credentials writes to the serial console (Amazon Linux 2023).
AGENT_WITHOUT_CREDENTIALS = """\
[  OK  ] Started amazon-ssm-agent.service - amazon-ssm-agent.
amazon-ssm-agent[1843]: 2026-11-28 06:00:01 INFO Agent will take identity from EC2
amazon-ssm-agent[1843]: 2026-11-28 06:00:04 ERROR EC2RoleProvider Failed to connect to Systems \
Manager with instance profile role credentials. Err: retrieved credentials failed to report to ssm. \
Error: NoCredentialProviders: no valid providers in chain
"""
#: A documentation address (RFC 5737) the forwarding scenarios reach through the instance.
FORWARD_HOST = "198.51.100.7"
#: The region the account's organization denies sessions in (its service control policy).
SCP_REGION = "sa-east-1"
#: The region whose Default Host Management Configuration works (the scenarios relying on it).
DHMC_REGION = "us-west-2"
AMI = "ami-12c6146b"  # one of moto's bundled Amazon Linux images


def _catalogue(command: str = "session") -> dict[str, dict]:
    """Each check's page of a report (`session`: the main command's; `param`, `patch`), by id,
    read from checks/ (the one source)."""
    pages = Path(__file__).resolve().parents[2] / "checks"
    every = (tomllib.loads(page.read_text()) for page in sorted(pages.glob("*.*.toml")))
    return {data["id"]: data for data in every if data.get("command", "session") == command}


PAGES = _catalogue()
DEPENDS_ON = {id: list(page["depends_on"]) for id, page in PAGES.items()}
#: Checks whose page says they cannot fail: at worst they warn what they could not verify.
WARN_AT_WORST = {id for id, page in PAGES.items() if not page.get("can_fail", True)}
#: Every check id, each after the checks it depends on.
CHECK_IDS = list(graphlib.TopologicalSorter(DEPENDS_ON).static_order())

#: What no scenario has unless it says so: an instance profile (DHMC does not apply), no session
#: preferences saved in its region (nothing is logged or encrypted), no remote host to forward to,
#: an Online agent.
#: An agent that is not Online has its console read: moto's generic boot log shows no agent line.
SILENT_CONSOLE = {"agent.console": "warn"}
DEFAULTS = {c: "pass" for c in CHECK_IDS} | {
    "iam.dhmc": "skip",
    "session.logging": "skip",
    "session.kms": "skip",
    "session.forward": "skip",  # no --forward
    "agent.console": "skip",  # the agent is Online: its console is not read
    "network.dns-central": "skip",  # no route to another network: its DNS is not read
}
#: Internet path (IGW + public IP, or NAT), no endpoints of the three services in the VPC.
PUBLIC = DEFAULTS | {
    "vpce.present": "skip",  # endpoints are not the path
    "vpce.private-dns": "skip",  # no endpoints of the three services
    "vpce.ingress-443": "skip",  # no carrying endpoints
    "vpce.policy": "skip",
    "vpc.dns-support": "skip",
    "vpc.dns-hostnames": "skip",
}
#: Interface endpoints carry every required service.
ENDPOINTS = dict(DEFAULTS)

SERVICES3 = ("ssm", "ssmmessages", "ec2messages")
NEW_AGENT = "3.3.1142.0"

EC2_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
CORE_MANAGED = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
SSMMESSAGES_ACTIONS = [
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
]
EC2MESSAGES_ACTIONS = [
    "ec2messages:AcknowledgeMessage",
    "ec2messages:DeleteMessage",
    "ec2messages:FailMessage",
    "ec2messages:GetEndpoint",
    "ec2messages:GetMessages",
    "ec2messages:SendReply",
]


def policy(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(actions: Any, resource: Any = "*", **extra: Any) -> dict:
    return {"Effect": "Allow", "Action": actions, "Resource": resource, **extra}


def deny(actions: Any, resource: Any = "*", **extra: Any) -> dict:
    return {"Effect": "Deny", "Action": actions, "Resource": resource, **extra}


#: The core actions spelled out, with the instance-ARN resource for UpdateInstanceInformation.
CORE_EXPLICIT = policy(
    allow("ssm:UpdateInstanceInformation", "arn:aws:ec2:*:*:instance/*"),
    allow(SSMMESSAGES_ACTIONS),
    allow(EC2MESSAGES_ACTIONS),
)
#: The same with wildcards.
CORE_WILDCARD = policy(
    allow(["ssm:UpdateInstanceInformation", "ssmmessages:*", "ec2messages:*"]),
)
#: Everything but the ec2messages actions.
CORE_WITHOUT_EC2MESSAGES = policy(
    allow("ssm:UpdateInstanceInformation"),
    allow(SSMMESSAGES_ACTIONS),
)


# ------------------------------------------------------------------------------------------------
# The declaration
# ------------------------------------------------------------------------------------------------


@dataclass
class Fault:
    """Fault injected by the emulator for this scenario's binary run only (its access key)."""

    operation: str  # e.g. "ssm:DescribeInstanceInformation"
    status: int | None = 500  # None: answer normally after the delay
    delay: float = 0.0


@dataclass
class Scenario:
    name: str
    seed: Callable[["Lab"], None]
    exit_code: int
    baseline: dict[str, str] | None = None  # None: instance not found (its dependents skip)
    expect_fail: set[str] = field(default_factory=set)
    expect_warn: set[str] = field(default_factory=set)
    expect_error: set[str] = field(default_factory=set)
    expect_status: dict[str, str] = field(default_factory=dict)  # other pins (skip, pass)
    expect_message: dict[str, list[str]] = field(default_factory=dict)
    region: str = REGION
    args: list[str] = field(default_factory=list)
    fault: Fault | None = None
    max_seconds: float | None = None  # wall-clock bound for this binary run
    timeout: int = 30  # --timeout: seconds for one API call attempt
    run_region: str | None = None  # --region of the run, when not the seeded region
    own_caller: bool = False  # the run signs as the scenario's own operator (Lab.operator_*)
    plugin: str | None = PLUGIN_VERSION  # what the run's plugin prints; None: not on PATH
    env: dict[str, str] = field(default_factory=dict)  # on top of the run's environment
    doc: str = ""

    def expected_statuses(self) -> dict[str, str]:
        if self.baseline is None:
            # what depends on the instance skips (below); who is asking is still known
            statuses = DEFAULTS | {"instance.found": "fail"}
        else:
            statuses = dict(self.baseline)
        for group, status in (
            (self.expect_fail, "fail"),
            (self.expect_warn, "warn"),
            (self.expect_error, "error"),
        ):
            for check in group:
                assert check in statuses, f"{self.name}: unknown check id {check}"
                statuses[check] = status
        for check, status in self.expect_status.items():
            assert check in statuses, f"{self.name}: unknown check id {check}"
            statuses[check] = status
        for check in CHECK_IDS:  # CHECK_IDS is in dependency order
            deps = [statuses[d] for d in DEPENDS_ON.get(check, [])]
            if any(d in ("fail", "skip") for d in deps):
                statuses[check] = "skip"
            elif "error" in deps:  # what could not be evaluated leaves its dependents unknown too
                statuses[check] = "error"
        # Listed in the report's not_observed, not judged: what only `ssm-doctor local` sees on
        # the instance, and the operator's side with --no-operator.
        unobserved = {"instance"} | ({"operator"} if "--no-operator" in self.args else set())
        for check, page in PAGES.items():
            if page["vantage"] in unobserved:
                statuses[check] = NOT_OBSERVED
        return statuses


def report_statuses(report: dict | None) -> dict[str, str]:
    """Each check's status in a report; a check it lists as not observed is NOT_OBSERVED."""
    report = report or {}
    statuses = {c["id"]: c["status"] for c in report.get("checks", [])}
    for group in report.get("not_observed", []):
        statuses |= {c: NOT_OBSERVED for c in group["checks"]}
    return statuses


# ------------------------------------------------------------------------------------------------
# The seeding toolkit
# ------------------------------------------------------------------------------------------------


class Lab:
    """Builds one scenario's VPC, IAM and agent state; remembers every id under a short name."""

    def __init__(self, emulator: Any, scenario: Scenario, index: int):
        self.emu = emulator
        self.scenario = scenario
        self.n = index  # the VPC is 10.<n>.0.0/16
        self.region = scenario.region
        self.prefix = f"e2e-{index:02d}-{scenario.name}"[:50]
        self.ec2 = emulator.client("ec2", self.region)
        self.iam = emulator.client("iam", self.region)
        self.ssm = emulator.client("ssm", self.region)
        self.ids: dict[str, str] = {"account": ACCOUNT, "region": self.region}

    # ---- network --------------------------------------------------------------------------
    def cidr(self, third: int | None = None) -> str:
        return f"10.{self.n}.0.0/16" if third is None else f"10.{self.n}.{third}.0/24"

    def vpc(self, dns_support: bool = True, dns_hostnames: bool = True) -> str:
        vpc = self.ec2.create_vpc(CidrBlock=self.cidr())["Vpc"]["VpcId"]
        self.ec2.create_tags(Resources=[vpc], Tags=[{"Key": "Name", "Value": self.prefix}])
        self.ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsSupport={"Value": dns_support})
        self.ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": dns_hostnames})
        self.ids["vpc"] = vpc
        return vpc

    def subnet(self, name: str, third: int) -> str:
        sid = self.ec2.create_subnet(
            VpcId=self.ids["vpc"], CidrBlock=self.cidr(third), AvailabilityZone=f"{self.region}a"
        )["Subnet"]["SubnetId"]
        self.ids[name] = sid
        self.ids[f"{name}_cidr"] = self.cidr(third)
        return sid

    def igw(self) -> str:
        igw = self.ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        self.ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=self.ids["vpc"])
        self.ids["igw"] = igw
        return igw

    def route_table(self, name: str, subnets: list[str], default_route: dict | None) -> str:
        """A table associated with ``subnets`` (names); ``default_route`` is the target of
        0.0.0.0/0, e.g. ``{"GatewayId": igw}``, or None for local routes only."""
        rt = self.ec2.create_route_table(VpcId=self.ids["vpc"])["RouteTable"]["RouteTableId"]
        if default_route:
            self.ec2.create_route(RouteTableId=rt, DestinationCidrBlock="0.0.0.0/0", **default_route)
        for s in subnets:
            self.ec2.associate_route_table(RouteTableId=rt, SubnetId=self.ids[s])
        self.ids[name] = rt
        return rt

    def main_route_table(self, default_route: dict | None = None) -> str:
        """The VPC's main table (every subnet without an explicit association uses it)."""
        rt = self.ec2.describe_route_tables(Filters=[
            {"Name": "vpc-id", "Values": [self.ids["vpc"]]},
            {"Name": "association.main", "Values": ["true"]},
        ])["RouteTables"][0]["RouteTableId"]
        if default_route:
            self.ec2.create_route(RouteTableId=rt, DestinationCidrBlock="0.0.0.0/0", **default_route)
        self.ids["main_rt"] = rt
        return rt

    def nat(self, subnet: str) -> str:
        eip = self.ec2.allocate_address(Domain="vpc")["AllocationId"]
        nat = self.ec2.create_nat_gateway(SubnetId=self.ids[subnet], AllocationId=eip)
        self.ids["nat"] = nat["NatGateway"]["NatGatewayId"]
        return self.ids["nat"]

    def security_group(self, name: str, ingress: list[dict] | None = None,
                       egress: list[dict] | None = None) -> str:
        """``egress`` None keeps AWS's default allow-all egress; a list replaces it."""
        gid = self.ec2.create_security_group(
            GroupName=f"{self.prefix}-{name}", Description=name, VpcId=self.ids["vpc"]
        )["GroupId"]
        self.ids[name] = gid
        if ingress:
            self.ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=ingress)
        if egress is not None:
            self.ec2.revoke_security_group_egress(
                GroupId=gid,
                IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
            )
            if egress:
                self.ec2.authorize_security_group_egress(GroupId=gid, IpPermissions=egress)
        return gid

    def endpoint(self, service: str, subnet: str, groups: list[str], private_dns: bool = True,
                 policy_document: dict | None = None) -> str:
        kwargs: dict[str, Any] = {}
        if policy_document is not None:
            kwargs["PolicyDocument"] = json.dumps(policy_document)
        vpce = self.ec2.create_vpc_endpoint(
            VpcId=self.ids["vpc"],
            VpcEndpointType="Interface",
            ServiceName=f"com.amazonaws.{self.region}.{service}",
            SubnetIds=[self.ids[subnet]],
            SecurityGroupIds=[self.ids[g] for g in groups],
            PrivateDnsEnabled=private_dns,  # ModifyVpcEndpoint ignores it in moto: set it here
            **kwargs,
        )["VpcEndpoint"]["VpcEndpointId"]
        self.ids[f"vpce_{service}"] = vpce
        return vpce

    def custom_nacl(self, name: str, subnet: str, entries: list[dict]) -> str:
        """Replace ``subnet``'s NACL by a new one with ``entries``: dicts of RuleNumber, Egress,
        RuleAction, Protocol ("6"/"-1"), CidrBlock and optionally PortRange."""
        acl = self.ec2.create_network_acl(VpcId=self.ids["vpc"])["NetworkAcl"]["NetworkAclId"]
        for e in entries:
            self.ec2.create_network_acl_entry(NetworkAclId=acl, **e)
        current = self.ec2.describe_network_acls(
            Filters=[{"Name": "association.subnet-id", "Values": [self.ids[subnet]]}]
        )["NetworkAcls"][0]
        assoc = next(
            a["NetworkAclAssociationId"]
            for a in current["Associations"]
            if a["SubnetId"] == self.ids[subnet]
        )
        self.ec2.replace_network_acl_association(AssociationId=assoc, NetworkAclId=acl)
        self.ids[name] = acl
        return acl

    def prefix_list(self, name: str, cidrs: list[str]) -> str:
        pl = self.ec2.create_managed_prefix_list(
            PrefixListName=f"{self.prefix}-{name}",
            MaxEntries=max(5, len(cidrs)),
            AddressFamily="IPv4",
            Entries=[{"Cidr": c} for c in cidrs],
        )["PrefixList"]["PrefixListId"]
        self.ids[name] = pl
        return pl

    # ---- IAM ------------------------------------------------------------------------------
    def role(self, trust: dict = EC2_TRUST, managed: list[str] = (CORE_MANAGED,),
             customer: dict[str, dict] | None = None, inline: dict[str, dict] | None = None,
             boundary: str | None = None, path: str = "/") -> str:
        name = f"{self.prefix}-role"[:64]
        kwargs: dict[str, Any] = {}
        if boundary:
            kwargs["PermissionsBoundary"] = boundary
        self.iam.create_role(
            RoleName=name, Path=path, AssumeRolePolicyDocument=json.dumps(trust), **kwargs
        )
        for arn in managed:
            self.iam.attach_role_policy(RoleName=name, PolicyArn=arn)
        for pname, doc in (customer or {}).items():
            arn = self.customer_policy(pname, doc)
            self.iam.attach_role_policy(RoleName=name, PolicyArn=arn)
        for pname, doc in (inline or {}).items():
            self.iam.put_role_policy(RoleName=name, PolicyName=pname, PolicyDocument=json.dumps(doc))
        self.ids["role"] = name
        return name

    def customer_policy(self, name: str, doc: dict, decoy_first_version: bool = True) -> str:
        """A customer-managed policy under /e2e/ whose *default* version is ``doc``; with
        ``decoy_first_version`` its v1 allows nothing useful, so reading v1 instead of the
        default version would be caught."""
        first = policy(allow("s3:GetObject")) if decoy_first_version else doc
        arn = self.iam.create_policy(
            PolicyName=f"{self.prefix}-{name}"[:128], Path="/e2e/",
            PolicyDocument=json.dumps(first),
        )["Policy"]["Arn"]
        if decoy_first_version:
            self.iam.create_policy_version(
                PolicyArn=arn, PolicyDocument=json.dumps(doc), SetAsDefault=True
            )
        self.ids[name] = arn
        return arn

    def profile(self, with_role: bool = True, path: str = "/") -> str:
        name = f"{self.prefix}-profile"[:128]
        arn = self.iam.create_instance_profile(InstanceProfileName=name, Path=path)[
            "InstanceProfile"
        ]["Arn"]
        if with_role:
            self.iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=self.ids["role"])
        self.ids["profile"] = name
        self.ids["profile_arn"] = arn
        return name

    # ---- the instance and its agent ---------------------------------------------------------
    def instance(self, subnet: str, groups: list[str], public_ip: bool = False,
                 profile: bool = True, metadata: dict | None = None, ipv6: bool = False,
                 **extra: Any) -> str:
        """``ipv6``: one IPv6 address from the subnet's block (in an IPv6-native subnet, the
        instance's only address); ``extra``: more RunInstances parameters."""
        kwargs: dict[str, Any] = dict(extra)
        if ipv6:
            kwargs["Ipv6AddressCount"] = 1
        if profile:
            kwargs["IamInstanceProfile"] = {"Arn": self.ids["profile_arn"]}
        if metadata:
            kwargs["MetadataOptions"] = metadata
        if public_ip:
            # moto ignores the groups of a NetworkInterfaces launch spec in the instance's
            # SecurityGroups, so launch with SubnetId/SecurityGroupIds and let the subnet hand
            # out the public address
            self.ec2.modify_subnet_attribute(SubnetId=self.ids[subnet],
                                             MapPublicIpOnLaunch={"Value": True})
        iid = self.ec2.run_instances(
            ImageId=AMI,
            InstanceType="t3.micro",
            MinCount=1,
            MaxCount=1,
            SubnetId=self.ids[subnet],
            SecurityGroupIds=[self.ids[g] for g in groups],
            TagSpecifications=[
                {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": self.prefix}]}
            ],
            **kwargs,
        )["Instances"][0]["InstanceId"]
        self.ids["instance"] = iid
        return iid

    # ---- Default Host Management Configuration and session preferences ---------------------
    def dhmc(self, role: str = DHMC_ROLE, *, trust: dict | None = SSM_TRUST) -> None:
        """DHMC on in the lab's region, handing out ``role`` (under /service-role/); the role is
        created with ``trust`` and AWS's DHMC policy unless ``trust`` is None (it stays missing).
        IAM is global: a role another scenario created already is kept."""
        if trust is not None:
            try:
                self.iam.create_role(RoleName=role, Path="/service-role/",
                                     AssumeRolePolicyDocument=json.dumps(trust))
                self.iam.attach_role_policy(RoleName=role, PolicyArn=DHMC_POLICY)
            except self.iam.exceptions.EntityAlreadyExistsException:
                pass
        self.ssm.update_service_setting(SettingId=DHMC_SETTING,
                                        SettingValue=f"service-role/{role}")
        self.ids["dhmc_role"] = role

    def kms_key(self) -> str:
        """A KMS key (moto's default key policy: the account root, delegating to IAM) with an
        alias; its ARN."""
        kms = self.emu.client("kms", self.region)
        meta = kms.create_key(Description=self.prefix)["KeyMetadata"]
        kms.create_alias(AliasName=f"alias/{self.prefix}", TargetKeyId=meta["KeyId"])
        self.ids.update(key_arn=meta["Arn"], key_alias=f"alias/{self.prefix}")
        return meta["Arn"]

    def bucket(self, encrypted: bool = True) -> str:
        s3 = self.emu.client("s3", self.region)
        name = f"e2e-{self.n}-session-logs"
        config = {} if self.region == "us-east-1" else {
            "CreateBucketConfiguration": {"LocationConstraint": self.region}}
        s3.create_bucket(Bucket=name, **config)
        if encrypted:
            s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [
                {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
        self.ids["bucket"] = name
        return name

    def log_group(self, key_arn: str | None) -> str:
        logs = self.emu.client("logs", self.region)
        name = f"/e2e/{self.prefix}"
        logs.create_log_group(logGroupName=name, **({"kmsKeyId": key_arn} if key_arn else {}))
        self.ids["log_group"] = name
        return name

    def session_document(self, inputs: dict) -> str:
        """A Session document (Standard_Stream) named after the scenario, with these inputs: what
        the preferences page saves, for a run with ``--document`` that name."""
        name = document_name(self.scenario.name)
        content = {"schemaVersion": "1.0", "description": self.prefix,
                   "sessionType": "Standard_Stream", "inputs": inputs}
        self.ssm.create_document(Name=name, DocumentType="Session", DocumentFormat="JSON",
                                 Content=json.dumps(content))
        self.ids["document"] = name
        return name

    # ---- the operator ---------------------------------------------------------------------
    def tag_instance(self, key: str, value: str) -> None:
        self.ec2.create_tags(Resources=[self.ids["instance"]], Tags=[{"Key": key, "Value": value}])

    def operator_user(self, statements: list[dict]) -> None:
        """The binary runs as an IAM user of its own with these statements as its one inline
        policy (moto does not enforce them here: the tool only reads them)."""
        user = f"{self.prefix}-operator"
        self.iam.create_user(UserName=user)
        self.iam.put_user_policy(UserName=user, PolicyName="sessions",
                                 PolicyDocument=json.dumps(policy(*statements)))
        key = self.iam.create_access_key(UserName=user)["AccessKey"]
        self.ids.update(access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])

    def operator_role(self, path: str, statements: list[dict]) -> None:
        """The binary runs as a session of a role (at ``path``: IAM Identity Center's roles live
        under /aws-reserved/sso.amazonaws.com/) whose inline policy holds these statements."""
        name = f"{self.prefix}-operator"[:64]
        trust = policy({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                        "Action": "sts:AssumeRole"})
        arn = self.iam.create_role(RoleName=name, Path=path,
                                   AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        self.iam.put_role_policy(RoleName=name, PolicyName="sessions",
                                 PolicyDocument=json.dumps(policy(*statements)))
        sts = self.emu.client("sts", self.region)
        creds = sts.assume_role(RoleArn=arn, RoleSessionName="alice")["Credentials"]
        self.ids.update(access_key=creds["AccessKeyId"], secret_key=creds["SecretAccessKey"],
                        session_token=creds["SessionToken"], operator_role=name)

    def elastic_ip(self) -> str:
        alloc = self.ec2.allocate_address(Domain="vpc")["AllocationId"]
        self.ec2.associate_address(AllocationId=alloc, InstanceId=self.ids["instance"])
        self.ids["eip"] = alloc
        return alloc

    def agent(self, ping_status: str = "Online", version: str | None = NEW_AGENT,
              latest: bool | None = True, last_ping: dt.datetime | None = None,
              connected: bool | None = None) -> None:
        node = self.emu.register_agent(
            self.ids["instance"], region=self.region, account=ACCOUNT, ping_status=ping_status,
            agent_version=version, is_latest_version=latest, last_ping=last_ping,
            connected=connected,
        )
        self.ids["last_ping_date"] = node.last_ping.strftime("%Y-%m-%d")


# ------------------------------------------------------------------------------------------------
# Shapes: a whole healthy VPC of one kind, with knobs to break one thing
# ------------------------------------------------------------------------------------------------


def identity(lab: Lab, *, profile: bool = True, role_kwargs: dict | None = None,
             profile_with_role: bool = True, profile_path: str = "/") -> bool:
    if profile:
        lab.role(**(role_kwargs or {}))
        lab.profile(with_role=profile_with_role, path=profile_path)
    return profile


def public_shape(lab: Lab, *, public_ip: bool = True, instance_egress: list | None = None,
                 route: str = "explicit",
                 profile: bool = True, role_kwargs: dict | None = None,
                 profile_with_role: bool = True, profile_path: str = "/",
                 metadata: dict | None = None, agent: dict | None = None,
                 register: bool = True, endpoints: dict | None = None) -> None:
    """Instance in a subnet routed to an internet gateway, with a public IP by default.
    ``endpoints``: {service: {private_dns, policy_document}} to add some interface endpoints too.
    ``route``: "explicit" (a table associated with the subnet routes to the IGW), "main" (the
    subnet has no association; the main table routes to the IGW) or "main-shadowed" (the main
    table routes to the IGW, but the subnet's own table has local routes only)."""
    lab.vpc()
    lab.subnet("app", 1)
    igw = lab.igw()
    if route == "explicit":
        lab.route_table("rt", ["app"], {"GatewayId": igw})
    else:
        lab.main_route_table({"GatewayId": igw})
        if route == "main-shadowed":
            lab.route_table("rt", ["app"], None)
    lab.security_group("instance_sg", egress=instance_egress)
    if endpoints:
        lab.subnet("endpoints", 2)
        lab.security_group(
            "endpoint_sg",
            ingress=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                      "UserIdGroupPairs": [{"GroupId": lab.ids["instance_sg"]}]}],
        )
        for service, opts in endpoints.items():
            lab.endpoint(service, "endpoints", ["endpoint_sg"], **opts)
    has_profile = identity(lab, profile=profile, role_kwargs=role_kwargs,
                           profile_with_role=profile_with_role, profile_path=profile_path)
    lab.instance("app", ["instance_sg"], public_ip=public_ip, profile=has_profile,
                 metadata=metadata)
    if register:
        lab.agent(**(agent or {}))


def nat_shape(lab: Lab, *, delete_nat: bool = False,
              instance_egress: list[dict] | Callable[[Lab], list[dict]] | None = None) -> None:
    """Instance without public IP in a private subnet routed to a NAT gateway in a public one.
    ``instance_egress`` replaces the instance's egress rules (rules, or a callable of the lab
    returning them, for rules naming seeded ids)."""
    lab.vpc()
    lab.subnet("public", 0)
    lab.subnet("app", 1)
    igw = lab.igw()
    lab.route_table("public_rt", ["public"], {"GatewayId": igw})
    nat = lab.nat("public")
    lab.route_table("rt", ["app"], {"NatGatewayId": nat})
    if delete_nat:
        lab.ec2.delete_nat_gateway(NatGatewayId=nat)
    egress = instance_egress(lab) if callable(instance_egress) else instance_egress
    lab.security_group("instance_sg", egress=egress)
    identity(lab)
    lab.instance("app", ["instance_sg"])
    lab.agent()


def endpoint_shape(lab: Lab, *, services: tuple = SERVICES3, private_dns: dict | None = None,
                   policies: dict | None = None, endpoint_ingress: list | None = None,
                   instance_egress: list | None = None, dns_support: bool = True,
                   dns_hostnames: bool = True, default_route: dict | None = None,
                   agent: dict | None = None, profile: bool = True,
                   role_kwargs: dict | None = None) -> None:
    """Instance in a private subnet without a default route; interface endpoints for ``services``
    in their own subnet, private DNS on, their security group open to the instance's on 443.

    ``instance_egress`` / ``endpoint_ingress`` may be callables of the lab (ids are known then)."""
    lab.vpc(dns_support=dns_support, dns_hostnames=dns_hostnames)
    lab.subnet("app", 1)
    lab.subnet("endpoints", 2)
    lab.route_table("rt", ["app"], default_route(lab) if callable(default_route) else default_route)
    lab.route_table("endpoints_rt", ["endpoints"], None)
    lab.security_group("endpoint_sg")
    lab.security_group("instance_sg", egress=None if instance_egress is None else [])
    if instance_egress is not None:
        egress = instance_egress(lab) if callable(instance_egress) else instance_egress
        if egress:
            lab.ec2.authorize_security_group_egress(GroupId=lab.ids["instance_sg"],
                                                    IpPermissions=egress)
    ingress = endpoint_ingress(lab) if callable(endpoint_ingress) else endpoint_ingress
    if ingress is None:
        ingress = [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                    "UserIdGroupPairs": [{"GroupId": lab.ids["instance_sg"]}]}]
    if ingress:
        lab.ec2.authorize_security_group_ingress(GroupId=lab.ids["endpoint_sg"],
                                                 IpPermissions=ingress)
    for service in services:
        lab.endpoint(
            service, "endpoints", ["endpoint_sg"],
            private_dns=(private_dns or {}).get(service, True),
            policy_document=(policies or {}).get(service),
        )
    has_profile = identity(lab, profile=profile, role_kwargs=role_kwargs)
    lab.instance("app", ["instance_sg"], profile=has_profile)
    lab.agent(**(agent or {}))


def document_name(scenario: str) -> str:
    """The Session document a preferences scenario creates and runs with (``--document``)."""
    return f"e2e-{scenario}"[:128]


def all_grants_but(action: str) -> tuple[str, ...]:
    return tuple(g for g in SESSION_DATA_GRANTS if g != action)


def session_shape(lab: Lab, *, s3: bool = False, cloudwatch: bool = False, kms: bool = False,
                  grants: tuple[str, ...] = SESSION_DATA_GRANTS,
                  operator: list[dict] | None = None) -> None:
    """The public shape with session preferences (a Session document) that log to an encrypted
    bucket (``s3``) and/or an encrypted log group (``cloudwatch``) and encrypt sessions with a KMS
    key (``kms``); the instance role is granted ``grants`` on them; ``operator``: the statements
    of the run's own caller, when it is not the default one."""
    key = lab.kms_key() if kms or cloudwatch else None
    inputs: dict[str, Any] = {"idleSessionTimeout": "20"}
    resources: dict[str, list[str]] = {}
    if s3:
        bucket = lab.bucket()
        inputs.update(s3BucketName=bucket, s3KeyPrefix="sessions", s3EncryptionEnabled=True)
        resources["s3:PutObject"] = [f"arn:aws:s3:::{bucket}/sessions/*"]
        resources["s3:GetEncryptionConfiguration"] = [f"arn:aws:s3:::{bucket}"]
    if cloudwatch:
        group = lab.log_group(key)
        inputs.update(cloudWatchLogGroupName=group, cloudWatchEncryptionEnabled=True)
        for action in ("logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogGroups",
                       "logs:DescribeLogStreams"):
            resources[action] = ["*"]
    if kms:
        inputs["kmsKeyId"] = lab.ids["key_alias"]
        resources["kms:Decrypt"] = [lab.ids["key_arn"]]
    statements = [allow(action, where) for action, where in resources.items() if action in grants]
    inline = {"session-data": policy(*statements)} if statements else {}
    public_shape(lab, role_kwargs={"managed": [CORE_MANAGED], "inline": inline})
    lab.session_document(inputs)
    if operator is not None:
        lab.operator_user(operator)


def tcp443(**peer: Any) -> dict:
    return {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, **peer}


def nacl_entry(rule: int, egress: bool, action: str, cidr: str = "0.0.0.0/0",
               ports: tuple[int, int] | None = None, protocol: str = "6") -> dict:
    e = {"RuleNumber": rule, "Egress": egress, "RuleAction": action, "Protocol": protocol,
         "CidrBlock": cidr}
    if ports:
        e["PortRange"] = {"From": ports[0], "To": ports[1]}
    return e


# ------------------------------------------------------------------------------------------------
# The scenarios
# ------------------------------------------------------------------------------------------------

SCENARIOS: list[Scenario] = [
    # ---- healthy shapes ---------------------------------------------------------------------
    Scenario(
        "healthy-public-igw",
        lambda lab: public_shape(lab),
        exit_code=0, baseline=PUBLIC,
        expect_message={"operator.permission": ["simulator agrees"]},
        doc="Public subnet, route to an IGW, public IP, AmazonSSMManagedInstanceCore; IAM's policy "
        "simulator agrees with ssm-doctor on the operator's requests.",
    ),
    Scenario(
        "healthy-private-nat",
        nat_shape,
        exit_code=0, baseline=PUBLIC,
        doc="Private subnet routed to an available NAT gateway in a public subnet.",
    ),
    Scenario(
        "healthy-private-endpoints",
        lambda lab: endpoint_shape(lab),
        exit_code=0, baseline=ENDPOINTS,
        doc="Private subnet, no default route, the three interface endpoints.",
    ),
    Scenario(
        "healthy-customer-managed-policy",
        lambda lab: public_shape(
            lab, profile_path="/e2e/",
            role_kwargs={"managed": [], "customer": {"core": CORE_EXPLICIT}, "path": "/e2e/"},
        ),
        exit_code=0, baseline=PUBLIC,
        doc="Core actions from a customer-managed policy whose default version is v2 (v1 is a "
        "decoy); UpdateInstanceInformation allowed on instance ARNs only; profile and role "
        "under a path.",
    ),
    Scenario(
        "healthy-inline-policy",
        lambda lab: public_shape(
            lab, role_kwargs={"managed": [], "inline": {"core": CORE_WILDCARD}}
        ),
        exit_code=0, baseline=PUBLIC,
        doc="Core actions from an inline policy, with service wildcards.",
    ),
    Scenario(
        "healthy-egress-to-endpoint-sg",
        lambda lab: endpoint_shape(
            lab, instance_egress=lambda l: [
                tcp443(UserIdGroupPairs=[{"GroupId": l.ids["endpoint_sg"]}])
            ],
        ),
        exit_code=0, baseline=ENDPOINTS,
        doc="The instance's only egress rule is TCP 443 to the endpoints' security group.",
    ),
    Scenario(
        "healthy-egress-prefix-list",
        lambda lab: endpoint_shape(
            lab,
            instance_egress=lambda l: [
                tcp443(PrefixListIds=[{"PrefixListId": l.prefix_list("pl", [l.cidr(2)])}])
            ],
            endpoint_ingress=lambda l: [tcp443(IpRanges=[{"CidrIp": l.cidr(1)}])],
        ),
        exit_code=0, baseline=ENDPOINTS,
        doc="Egress 443 only to a managed prefix list holding the endpoint subnet's CIDR; the "
        "endpoints accept 443 from the instance subnet's CIDR.",
    ),
    Scenario(
        "healthy-egress-vpc-cidr",
        lambda lab: endpoint_shape(
            lab, instance_egress=lambda l: [tcp443(IpRanges=[{"CidrIp": l.cidr()}])]
        ),
        exit_code=0, baseline=ENDPOINTS,
        doc="Egress 443 only to the VPC CIDR, which contains the endpoint subnet.",
    ),
    Scenario(
        "healthy-endpoints-without-ec2messages",
        lambda lab: endpoint_shape(lab, services=("ssm", "ssmmessages")),
        exit_code=0, baseline=ENDPOINTS, expect_warn={"vpce.present"},
        doc="Agent 3.3.x needs no ec2messages: its missing endpoint is only a warning.",
    ),
    Scenario(
        "healthy-dhmc-without-profile",
        lambda lab: (
            lab.dhmc(),
            public_shape(lab, profile=False, metadata={"HttpTokens": "required"}),
        ),
        exit_code=0, baseline=PUBLIC, region=DHMC_REGION,
        expect_status={"iam.trust": "skip", "iam.core-permissions": "skip", "iam.dhmc": "pass"},
        expect_message={"iam.profile": ["Default Host Management"],
                        "iam.dhmc": ["{dhmc_role}", "IMDSv2"]},
        doc="No instance profile but Default Host Management Configuration on (its role trusts "
        "ssm.amazonaws.com with AWS's DHMC policy; IMDSv2, new agent). In us-west-2, with the "
        "other scenarios of a working DHMC.",
    ),
    Scenario(
        "broken-dhmc-imdsv1-allowed",
        lambda lab: (lab.dhmc(), public_shape(lab, profile=False)),
        exit_code=1, baseline=PUBLIC, region=DHMC_REGION, expect_fail={"iam.dhmc"},
        expect_status={"iam.trust": "skip", "iam.core-permissions": "skip"},
        expect_message={"iam.dhmc": ["IMDSv1", "IMDSv2"]},
        doc="DHMC works for IMDSv2-only instances; this one still allows IMDSv1.",
    ),
    Scenario(
        "broken-dhmc-agent-too-old",
        lambda lab: (lab.dhmc(), public_shape(lab, profile=False, metadata={
            "HttpTokens": "required"}, agent={"version": "3.2.500.0"})),
        exit_code=1, baseline=PUBLIC, region=DHMC_REGION, expect_fail={"iam.dhmc"},
        expect_status={"iam.trust": "skip", "iam.core-permissions": "skip"},
        expect_message={"iam.dhmc": ["3.2.500.0", "3.2.582.0"]},
        doc="A shell works with agent 3.2.500.0, but DHMC needs 3.2.582.0.",
    ),
    Scenario(
        "broken-dhmc-role-missing",
        lambda lab: (lab.dhmc("e2e-dhmc-deleted-role", trust=None),
                     public_shape(lab, profile=False, metadata={"HttpTokens": "required"})),
        exit_code=1, baseline=PUBLIC, region="ap-northeast-1", expect_fail={"iam.dhmc"},
        expect_status={"iam.trust": "skip", "iam.core-permissions": "skip"},
        expect_message={"iam.dhmc": ["no role named e2e-dhmc-deleted-role"]},
        doc="DHMC is on, but the role it hands out was deleted (the region's only DHMC setting).",
    ),
    Scenario(
        "broken-dhmc-role-trusts-ec2",
        lambda lab: (lab.dhmc("e2e-dhmc-ec2-trusted", trust=EC2_TRUST),
                     public_shape(lab, profile=False, metadata={"HttpTokens": "required"})),
        exit_code=1, baseline=PUBLIC, region="ca-central-1", expect_fail={"iam.dhmc"},
        expect_status={"iam.trust": "skip", "iam.core-permissions": "skip"},
        expect_message={"iam.dhmc": ["ssm.amazonaws.com"]},
        doc="DHMC hands out a role made for instance profiles: it trusts EC2, not Systems "
        "Manager (the region's only DHMC setting).",
    ),
    Scenario(
        "healthy-custom-nacl",
        lambda lab: (
            public_shape(lab),
            lab.custom_nacl("nacl", "app", [
                nacl_entry(100, True, "allow", ports=(443, 443)),
                nacl_entry(100, False, "allow", ports=(1024, 65535)),
            ]),
        ),
        exit_code=0, baseline=PUBLIC,
        doc="A custom NACL allowing exactly out 443 and in 1024-65535 (moto stores no implicit "
        "deny entries: the tool must apply them itself).",
    ),
    Scenario(
        "healthy-tgw-route-with-endpoints",
        lambda lab: endpoint_shape(
            lab, default_route=lambda l: {
                "TransitGatewayId": l.ec2.create_transit_gateway()["TransitGateway"][
                    "TransitGatewayId"]
            },
        ),
        exit_code=0, baseline=ENDPOINTS,
        doc="Default route to a transit gateway (opaque) and complete endpoints: the endpoints "
        "carry everything.",
    ),
    Scenario(
        "healthy-main-route-table",
        lambda lab: public_shape(lab, route="main"),
        exit_code=0, baseline=PUBLIC,
        doc="The subnet has no explicit route table: the main table's IGW route applies.",
    ),
    Scenario(
        "healthy-endpoint-ingress-prefix-list",
        lambda lab: endpoint_shape(
            lab, endpoint_ingress=lambda l: [
                tcp443(PrefixListIds=[{"PrefixListId": l.prefix_list("pl", [l.cidr(1)])}])
            ],
        ),
        exit_code=0, baseline=ENDPOINTS,
        doc="The endpoints accept 443 from a managed prefix list holding the instance subnet.",
    ),
    Scenario(
        "healthy-igw-plus-ssm-endpoint",
        lambda lab: public_shape(lab, endpoints={"ssm": {}}),
        exit_code=0, baseline=ENDPOINTS, expect_warn={"vpce.present"},
        doc="Internet path plus an ssm endpoint only: ssmmessages has no endpoint but the "
        "internet carries it (warn).",
    ),
    # ---- warnings ---------------------------------------------------------------------------
    Scenario(
        "warn-agent-not-latest",
        lambda lab: public_shape(lab, agent={"version": "3.3.1000.0", "latest": False}),
        exit_code=0, baseline=PUBLIC, expect_warn={"agent.version"},
    ),
    Scenario(
        "warn-nacl-ephemeral-32768",
        lambda lab: (
            public_shape(lab),
            lab.custom_nacl("nacl", "app", [
                nacl_entry(100, True, "allow", ports=(443, 443)),
                nacl_entry(100, False, "allow", ports=(32768, 65535)),
            ]),
        ),
        exit_code=0, baseline=PUBLIC, expect_warn={"network.nacl"},
    ),
    Scenario(
        "warn-egress-narrow-public-cidr",
        lambda lab: public_shape(lab, instance_egress=[tcp443(IpRanges=[{"CidrIp": "52.94.0.0/16"}])]),
        exit_code=0, baseline=PUBLIC, expect_warn={"network.egress-443"},
    ),
    Scenario(
        "warn-core-without-ec2messages-new-agent",
        lambda lab: public_shape(
            lab, role_kwargs={"managed": [], "inline": {"core": CORE_WITHOUT_EC2MESSAGES}}
        ),
        exit_code=0, baseline=PUBLIC, expect_warn={"iam.core-permissions"},
        doc="Only the ec2messages actions are missing and agent 3.3.x does not need them.",
    ),
    Scenario(
        "warn-core-permissions-source-ip-condition",
        lambda lab: public_shape(lab, role_kwargs={"managed": [], "inline": {"core": policy(
            allow(["ssm:UpdateInstanceInformation", "ssmmessages:*", "ec2messages:*"],
                  Condition={"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}})
        )}}),
        exit_code=0, baseline=PUBLIC, expect_warn={"iam.core-permissions"},
        doc="The core actions are allowed only from a source IP range: nothing outside the "
        "instance can tell whether the condition holds.",
    ),
    Scenario(
        "warn-endpoint-policy-condition",
        lambda lab: endpoint_shape(lab, policies={"ssmmessages": policy(
            {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*",
             "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-exampleorgid"}}}
        )}),
        exit_code=0, baseline=ENDPOINTS, expect_warn={"vpce.policy"},
    ),
    Scenario(
        "warn-private-dns-off-internet-carries",
        lambda lab: public_shape(lab, endpoints={"ssm": {"private_dns": False}}),
        exit_code=0, baseline=PUBLIC,
        expect_warn={"vpce.present", "vpce.private-dns"},
        doc="Internet path plus an ssm endpoint without private DNS: nothing is carried by an "
        "endpoint; the internet carries every service.",
    ),
    # ---- one broken scenario per check id ------------------------------------------------
    Scenario(
        "broken-instance-not-found",
        lambda lab: lab.ids.update(instance="i-0000000000000dead"),
        exit_code=1, baseline=None, expect_fail={"instance.found"},
        expect_message={"instance.found": ["{account}", "{region}"]},
    ),
    Scenario(
        "broken-instance-wrong-region",
        lambda lab: public_shape(lab),
        exit_code=1, baseline=None, expect_fail={"instance.found"}, run_region="eu-west-1",
        expect_message={"instance.found": ["{account}", "eu-west-1"]},
        doc="A healthy instance in us-east-1, diagnosed with --region eu-west-1.",
    ),
    Scenario(
        "broken-instance-stopped",
        lambda lab: (public_shape(lab, public_ip=False), lab.elastic_ip(),
                     lab.ec2.stop_instances(InstanceIds=[lab.ids["instance"]])),
        exit_code=1, baseline=PUBLIC, expect_fail={"instance.running"},
        expect_status={"agent.registered": "skip", **SILENT_CONSOLE},
        doc="Stopped, with an Elastic IP (kept across a stop, unlike an auto-assigned public IP, "
        "so the internet path stays). DescribeInstanceInformation does not return stopped "
        "instances (API reference): agent.registered depends on instance.running and skips "
        "rather than naming a second, false cause.",
    ),
    Scenario(
        "broken-imds-disabled",
        lambda lab: public_shape(lab, metadata={"HttpEndpoint": "disabled"}),
        exit_code=1, baseline=PUBLIC, expect_fail={"instance.metadata"},
    ),
    Scenario(
        "broken-no-profile",
        lambda lab: public_shape(lab, profile=False),
        exit_code=1, baseline=PUBLIC, expect_fail={"iam.profile"},
        doc="No profile; DHMC is off in us-east-1.",
    ),
    Scenario(
        "broken-profile-without-role",
        lambda lab: public_shape(lab, profile_with_role=False),
        exit_code=1, baseline=PUBLIC, expect_fail={"iam.profile"},
        expect_message={"iam.profile": ["{profile}"]},
    ),
    Scenario(
        "broken-role-untrusted",
        lambda lab: public_shape(lab, role_kwargs={"trust": policy(
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
             "Action": "sts:AssumeRole"}
        )}),
        exit_code=1, baseline=PUBLIC, expect_fail={"iam.trust"},
        expect_message={"iam.trust": ["{role}"]},
    ),
    Scenario(
        "broken-role-no-core-permissions",
        lambda lab: public_shape(lab, role_kwargs={
            "managed": ["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"]}),
        exit_code=1, baseline=PUBLIC, expect_fail={"iam.core-permissions"},
        expect_message={"iam.core-permissions": ["ssm:UpdateInstanceInformation"]},
    ),
    Scenario(
        "broken-role-explicit-deny",
        lambda lab: public_shape(lab, role_kwargs={
            "inline": {"deny-data": policy(deny("ssmmessages:OpenDataChannel"))}}),
        exit_code=1, baseline=PUBLIC, expect_fail={"iam.core-permissions"},
        expect_message={"iam.core-permissions": ["ssmmessages:OpenDataChannel"]},
    ),
    Scenario(
        "broken-role-boundary",
        lambda lab: public_shape(lab, role_kwargs={
            "boundary": lab.customer_policy("boundary", policy(allow("ssm:*")), False)}),
        exit_code=1, baseline=PUBLIC, expect_fail={"iam.core-permissions"},
        expect_message={"iam.core-permissions": ["ssmmessages:"]},
        doc="The permissions boundary allows ssm:* only: the ssmmessages actions are cut.",
    ),
    Scenario(
        "broken-role-without-ec2messages-old-agent",
        lambda lab: public_shape(
            lab, role_kwargs={"managed": [], "inline": {"core": CORE_WITHOUT_EC2MESSAGES}},
            agent={"version": "3.2.582.0", "latest": False},
        ),
        exit_code=1, baseline=PUBLIC, expect_fail={"iam.core-permissions"},
        expect_warn={"agent.version"},
        expect_message={"iam.core-permissions": ["ec2messages:"]},
        doc="Agent 3.2.x still needs ec2messages, which the role does not allow.",
    ),
    Scenario(
        "broken-agent-not-registered",
        lambda lab: public_shape(lab, register=False),
        exit_code=1, baseline=PUBLIC, expect_fail={"agent.registered"},
        expect_status=SILENT_CONSOLE,
        expect_message={"agent.console": ["no line of the SSM agent"]},
    ),
    Scenario(
        "broken-agent-console-no-credentials",
        lambda lab: (public_shape(lab, register=False), lab.emu.set_console_output(
            lab.ids["instance"], AGENT_WITHOUT_CREDENTIALS)),
        exit_code=1, baseline=PUBLIC, expect_fail={"agent.registered", "agent.console"},
        expect_message={"agent.console": ["no credentials", "NoCredentialProviders"]},
        doc="SSM never heard from the instance; its serial console shows the agent started and "
        "found no credentials.",
    ),
    Scenario(
        "broken-agent-connection-lost",
        lambda lab: public_shape(lab, agent={
            "ping_status": "ConnectionLost",
            "last_ping": dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2)}),
        exit_code=1, baseline=PUBLIC, expect_fail={"agent.online"}, expect_status=SILENT_CONSOLE,
        expect_message={"agent.online": ["ConnectionLost", "{last_ping_date}"]},
    ),
    Scenario(
        "broken-agent-too-old",
        lambda lab: public_shape(lab, agent={"version": "2.3.50.0", "latest": False}),
        exit_code=1, baseline=PUBLIC, expect_fail={"agent.version"},
        expect_message={"agent.version": ["2.3.50.0"]},
    ),
    Scenario(
        "broken-ssh-agent-too-old",
        lambda lab: public_shape(lab, agent={"version": "2.3.700.0"}),
        exit_code=1, baseline=PUBLIC, expect_fail={"agent.version"},
        args=["--document", "AWS-StartSSHSession"],
        expect_message={"agent.version": ["2.3.700.0", "3.0.222.0", "AWS-StartSSHSession"]},
        doc="A shell would work; SSH through Session Manager needs agent 3.0.222.0.",
    ),
    Scenario(
        "broken-operator-denied-by-tag-condition",
        lambda lab: (public_shape(lab), lab.tag_instance("team", "web"), lab.operator_user([
            {"Effect": "Allow", "Action": "ssm:StartSession", "Resource": "*",
             "Condition": {"StringEquals": {"ssm:resourceTag/team": "payments"}}},
            {"Effect": "Allow", "Action": ["ssm:TerminateSession", "ssm:ResumeSession"],
             "Resource": "arn:aws:ssm:*:*:session/${aws:username}-*"}])),
        exit_code=1, baseline=PUBLIC, expect_fail={"operator.permission"}, own_caller=True,
        expect_message={"operator.permission": ["ssm:StartSession", "{instance}"]},
        doc="The operator may start sessions only on instances tagged team=payments; this one "
        "is team=web.",
    ),
    Scenario(
        "broken-operator-denied-by-scp",
        lambda lab: (
            lab.emu.set_scp(ACCOUNT, policy(allow("*"), deny(
                "ssm:StartSession",
                Condition={"StringEquals": {"aws:RequestedRegion": SCP_REGION}}))),
            public_shape(lab),
        ),
        exit_code=1, baseline=PUBLIC, region=SCP_REGION, expect_fail={"operator.permission"},
        expect_message={"operator.permission": ["service control policy", "ssm:StartSession"]},
        doc="The account's policies allow everything, but its organization's SCP denies "
        "sessions in this region: only IAM's policy simulator can tell.",
    ),
    Scenario(
        "healthy-public-no-operator",
        lambda lab: public_shape(lab),
        exit_code=0, baseline=PUBLIC, args=["--no-operator"],
        doc="From CI or an instance role: the operator's side is listed as not run.",
    ),
    Scenario(
        "broken-operator-without-plugin",
        lambda lab: public_shape(lab),
        exit_code=1, baseline=PUBLIC, expect_fail={"operator.plugin"}, plugin=None,
        expect_message={"operator.plugin": ["SessionManagerPlugin is not found"]},
        doc="Everything on AWS is right; the operator's machine has no session-manager-plugin.",
    ),
    Scenario(
        "broken-operator-withdrawn-plugin",
        lambda lab: public_shape(lab),
        exit_code=1, baseline=PUBLIC, expect_fail={"operator.plugin"}, plugin="1.2.889.0",
        expect_message={"operator.plugin": ["1.2.889.0"]},
    ),
    Scenario(
        "healthy-operator-network",
        lambda lab: public_shape(lab),
        exit_code=0, baseline=PUBLIC,
        expect_message={"operator.network": [
            "ssmmessages.us-east-1.amazonaws.com → 127.0.0.1", "TLSv1.3 in",
            # the CLI's ssm endpoint is the emulator's (AWS_ENDPOINT_URL): plain HTTP
            "127.0.0.1 (from AWS_ENDPOINT_URL) → 127.0.0.1"]},
        doc="Every run resolves and reaches the loopback stand-ins of the endpoints "
        "(endpoint_stubs.py); this one pins what operator.network says.",
    ),
    Scenario(
        "broken-operator-proxy-down",
        lambda lab: public_shape(lab),
        exit_code=1, baseline=PUBLIC, expect_fail={"operator.network"},
        env={"HTTPS_PROXY": "http://operator:s3cret@127.0.0.1:9"},
        expect_message={"operator.network": ["the proxy http://127.0.0.1:9: ", "refused"]},
        doc="HTTPS_PROXY names a proxy that is down: sessions cannot reach ssmmessages (the "
        "emulator, in NO_PROXY, still answers). The proxy's password is never shown.",
    ),
    Scenario(
        "broken-operator-tls-inspection",
        lambda lab: public_shape(lab),
        exit_code=1, baseline=PUBLIC, expect_fail={"operator.network"},
        env={"SSL_CERT_FILE": str(endpoint_stubs.TLS_DIR / "untrusted.pem"),
             "AWS_CA_BUNDLE": str(endpoint_stubs.CA_FILE)},
        expect_message={"operator.network": ["unknown authority", "AWS_CA_BUNDLE="]},
        doc="The endpoint's certificate comes from a CA the system store lacks (as behind TLS "
        "inspection) and only AWS_CA_BUNDLE names it: the CLI would work, the plugin not.",
    ),
    Scenario(
        "healthy-operator-sso-role",
        lambda lab: (public_shape(lab), lab.operator_role("/aws-reserved/sso.amazonaws.com/", [
            {"Effect": "Allow", "Action": "ssm:StartSession", "Resource": "*"},
            {"Effect": "Allow", "Action": ["ssm:TerminateSession", "ssm:ResumeSession"],
             "Resource": "arn:aws:ssm:*:*:session/alice-*"}])),
        exit_code=0, baseline=PUBLIC, own_caller=True,
        expect_message={"operator.identity": ["IAM Identity Center", "{operator_role}"]},
        doc="The operator is a session of an IAM Identity Center role: read through GetRole.",
    ),
    Scenario(
        "healthy-session-logging-and-kms",
        lambda lab: session_shape(lab, s3=True, cloudwatch=True, kms=True),
        exit_code=0, baseline=PUBLIC,
        args=["--document", document_name("healthy-session-logging-and-kms")],
        expect_status={"session.logging": "pass", "session.kms": "pass"},
        expect_message={"session.document": ["s3://{bucket}/sessions", "{log_group}"],
                        "session.kms": ["{key_arn}", "generate data keys"]},
        doc="Preferences that log to an encrypted bucket and an encrypted log group and encrypt "
        "with a KMS key, all granted to the instance role (the emulator's real S3, CloudWatch "
        "Logs and KMS).",
    ),
    Scenario(
        "broken-session-s3-logging-denied",
        lambda lab: session_shape(lab, s3=True, grants=all_grants_but("s3:PutObject")),
        exit_code=1, baseline=PUBLIC, expect_fail={"session.logging"},
        args=["--document", document_name("broken-session-s3-logging-denied")],
        expect_message={"session.logging": ["s3:PutObject", "{bucket}/sessions"]},
        doc="Sessions are logged to S3; the instance role may not write there.",
    ),
    Scenario(
        "broken-session-cloudwatch-without-describe-log-groups",
        lambda lab: session_shape(lab, cloudwatch=True,
                                  grants=all_grants_but("logs:DescribeLogGroups")),
        exit_code=1, baseline=PUBLIC, expect_fail={"session.logging"},
        args=["--document", document_name("broken-session-cloudwatch-without-describe-log-groups")],
        expect_message={"session.logging": ["logs:DescribeLogGroups"]},
        doc="Logs go to an encrypted log group, and the role may not check that it is encrypted "
        "(\"encryption is not set up on the selected CloudWatch Logs log group\").",
    ),
    Scenario(
        "broken-session-kms-without-decrypt",
        lambda lab: session_shape(lab, kms=True, grants=all_grants_but("kms:Decrypt")),
        exit_code=1, baseline=PUBLIC, expect_fail={"session.kms"},
        args=["--document", document_name("broken-session-kms-without-decrypt")],
        expect_message={"session.kms": ["kms:Decrypt", "{key_arn}"]},
        doc="Sessions are encrypted with a key the instance role may not decrypt with.",
    ),
    Scenario(
        "broken-session-kms-operator-without-generate-data-key",
        lambda lab: session_shape(lab, kms=True, operator=[
            {"Effect": "Allow", "Action": SESSION_ACTIONS, "Resource": "*"}]),
        exit_code=1, baseline=PUBLIC, expect_fail={"session.kms"}, own_caller=True,
        args=["--document",
              document_name("broken-session-kms-operator-without-generate-data-key")],
        expect_message={"session.kms": ["kms:GenerateDataKey", "IAM user"]},
        doc="The instance may decrypt, but the operator may not generate the data key.",
    ),
    Scenario(
        "healthy-forward-to-remote-host",
        lambda lab: public_shape(lab),
        exit_code=0, baseline=PUBLIC, args=["--forward", f"{FORWARD_HOST}:5432"],
        expect_status={"session.forward": "pass"},
        expect_message={"session.forward": [FORWARD_HOST, "5432"],
                        "agent.version": ["AWS-StartPortForwardingSessionToRemoteHost"]},
        doc="Port forwarding through the instance to a host beyond its internet gateway: the "
        "route, the default egress rule and the default ACL allow it.",
    ),
    Scenario(
        "broken-forward-egress-only-443",
        lambda lab: public_shape(lab, instance_egress=[tcp443(IpRanges=[{"CidrIp": "0.0.0.0/0"}])]),
        exit_code=1, baseline=PUBLIC, args=["--forward", f"{FORWARD_HOST}:5432"],
        expect_fail={"session.forward"},
        expect_message={"session.forward": ["TCP 5432", "{instance_sg}"]},
        doc="The session would open, but the instance's only egress rule is HTTPS: the tunnel to "
        "port 5432 stays dead.",
    ),
    Scenario(
        "warn-session-run-as",
        lambda lab: (
            public_shape(lab),
            lab.session_document({"runAsEnabled": True, "runAsDefaultUser": "ops"}),
            lab.operator_user([{"Effect": "Allow", "Action": SESSION_ACTIONS, "Resource": "*"}]),
            lab.iam.tag_user(UserName=f"{lab.prefix}-operator",
                             Tags=[{"Key": "SSMSessionRunAs", "Value": "alice"}]),
        ),
        exit_code=0, baseline=PUBLIC, expect_warn={"session.document"}, own_caller=True,
        args=["--document", document_name("warn-session-run-as")],
        expect_message={"session.document": ["alice", "SSMSessionRunAs"]},
        doc="Run As is on: the operator's SSMSessionRunAs tag names the OS user their sessions "
        "start as, which must exist on the instance.",
    ),
    Scenario(
        "broken-session-document-missing",
        lambda lab: public_shape(lab),
        exit_code=1, baseline=PUBLIC, expect_fail={"session.document"},
        args=["--document", "e2e-no-such-document"],
        expect_message={"session.document": ["e2e-no-such-document", "InvalidDocument"]},
        doc="--document names a Session document that does not exist in the region.",
    ),
    Scenario(
        "broken-route-none",
        lambda lab: endpoint_shape(lab, services=()),
        exit_code=1, baseline=ENDPOINTS, expect_fail={"network.route"},
        doc="Private subnet, no default route, no endpoints.",
    ),
    Scenario(
        "broken-route-igw-without-public-ip",
        lambda lab: public_shape(lab, public_ip=False),
        exit_code=1, baseline=PUBLIC, expect_fail={"network.route"},
        expect_message={"network.route": ["{igw}"]},
    ),
    Scenario(
        "broken-route-explicit-table-shadows-main",
        lambda lab: public_shape(lab, route="main-shadowed"),
        exit_code=1, baseline=PUBLIC, expect_fail={"network.route"},
        expect_message={"network.route": ["{rt}"]},
        doc="The main table routes to the IGW, but the subnet's explicitly associated table, "
        "which is the one that applies, has no default route.",
    ),
    Scenario(
        "opaque-tgw-route-no-endpoints",
        lambda lab: endpoint_shape(
            lab, services=(), default_route=lambda l: {
                "TransitGatewayId": l.ec2.create_transit_gateway()["TransitGateway"][
                    "TransitGatewayId"]
            },
        ),
        exit_code=0, baseline=ENDPOINTS, expect_warn={"network.route"},
        expect_status={**{c: "skip" for c in ("vpce.present", "vpce.private-dns",
                                               "vpce.ingress-443", "vpce.policy",
                                               "vpc.dns-support", "vpc.dns-hostnames")},
                       "network.dns-central": "pass"},
        expect_message={"network.dns-central": [
            "ssmmessages.us-east-1.amazonaws.com has no private answer: the public endpoint, "
            "through tgw-"]},
        doc="Default route to a transit gateway, no endpoints in the VPC: ssm-doctor cannot see "
        "past the TGW (centralised egress or endpoints are common), so the route is a warning "
        "and the endpoint checks skip; the VPC's DNS is read (it routes to another network) and "
        "answers every name publicly, which the TGW may carry; nothing fails "
        "(check-semantics.md, network.route).",
    ),
    Scenario(
        "broken-route-nat-deleted",
        lambda lab: nat_shape(lab, delete_nat=True),
        exit_code=1, baseline=PUBLIC, expect_fail={"network.route"},
        expect_message={"network.route": ["{nat}"]},
    ),
    Scenario(
        "broken-egress-none",
        lambda lab: public_shape(lab, instance_egress=[]),
        exit_code=1, baseline=PUBLIC, expect_fail={"network.egress-443"},
        expect_message={"network.egress-443": ["{instance_sg}"]},
    ),
    Scenario(
        "broken-egress-misses-endpoint-subnet",
        lambda lab: endpoint_shape(
            lab, instance_egress=lambda l: [tcp443(IpRanges=[{"CidrIp": l.cidr(9)}])]
        ),
        exit_code=1, baseline=ENDPOINTS, expect_fail={"network.egress-443"},
    ),
    Scenario(
        "broken-nacl-denies-443-out",
        lambda lab: (
            public_shape(lab),
            lab.custom_nacl("nacl", "app", [
                nacl_entry(90, True, "deny", ports=(443, 443)),
                nacl_entry(100, True, "allow", protocol="-1"),
                nacl_entry(100, False, "allow", protocol="-1"),
            ]),
        ),
        exit_code=1, baseline=PUBLIC, expect_fail={"network.nacl"},
        expect_message={"network.nacl": ["{nacl}", "90"]},
    ),
    Scenario(
        "broken-nacl-no-return-traffic",
        lambda lab: (
            public_shape(lab),
            lab.custom_nacl("nacl", "app", [nacl_entry(100, True, "allow", ports=(443, 443))]),
        ),
        exit_code=1, baseline=PUBLIC, expect_fail={"network.nacl"},
        expect_message={"network.nacl": ["{nacl}"]},
        doc="Only outbound 443 allowed: return traffic hits the implicit deny.",
    ),
    Scenario(
        "broken-nacl-endpoint-subnet",
        lambda lab: (
            endpoint_shape(lab),
            lab.custom_nacl("endpoint_nacl", "endpoints", [
                nacl_entry(50, False, "deny", cidr=lab.cidr(1), ports=(443, 443)),
                nacl_entry(100, False, "allow", protocol="-1"),
                nacl_entry(100, True, "allow", protocol="-1"),
            ]),
        ),
        exit_code=1, baseline=ENDPOINTS, expect_fail={"network.nacl"},
        expect_message={"network.nacl": ["{endpoint_nacl}"]},
        doc="The endpoints' subnet NACL refuses 443 from the instance subnet.",
    ),
    Scenario(
        "broken-vpce-missing-ssmmessages",
        lambda lab: endpoint_shape(lab, services=("ssm", "ec2messages")),
        exit_code=1, baseline=ENDPOINTS, expect_fail={"vpce.present"},
        expect_warn={"network.route"},
        expect_message={"vpce.present": ["ssmmessages"]},
    ),
    Scenario(
        "broken-vpce-private-dns-off",
        lambda lab: endpoint_shape(lab, private_dns={"ssmmessages": False}),
        exit_code=1, baseline=ENDPOINTS, expect_fail={"vpce.private-dns"},
        expect_warn={"network.route"},
        expect_message={"vpce.private-dns": ["{vpce_ssmmessages}"]},
        doc="All endpoints exist, ssmmessages's does not carry (private DNS off): route is "
        "neither a pass (not every service carried) nor a fail (endpoints exist).",
    ),
    Scenario(
        "broken-vpce-sg-no-ingress",
        lambda lab: endpoint_shape(lab, endpoint_ingress=[]),
        exit_code=1, baseline=ENDPOINTS, expect_fail={"vpce.ingress-443"},
        expect_message={"vpce.ingress-443": ["{vpce_ssm}|{vpce_ssmmessages}|{endpoint_sg}"]},
    ),
    Scenario(
        "broken-vpce-policy-denies",
        lambda lab: endpoint_shape(lab, policies={"ssmmessages": policy(
            {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Principal": "*", "Action": "ssmmessages:OpenDataChannel",
             "Resource": "*"},
        )}),
        exit_code=1, baseline=ENDPOINTS, expect_fail={"vpce.policy"},
        expect_message={"vpce.policy": ["{vpce_ssmmessages}", "ssmmessages:OpenDataChannel"]},
    ),
    Scenario(
        "broken-vpc-dns-support-off",
        lambda lab: endpoint_shape(lab, dns_support=False),
        exit_code=1, baseline=ENDPOINTS, expect_fail={"vpc.dns-support"},
        expect_message={"vpc.dns-support": ["{vpc}"]},
    ),
    Scenario(
        "broken-vpc-dns-hostnames-off",
        lambda lab: endpoint_shape(lab, dns_hostnames=False),
        exit_code=1, baseline=ENDPOINTS, expect_fail={"vpc.dns-hostnames"},
        expect_message={"vpc.dns-hostnames": ["{vpc}"]},
    ),
    # ---- compound: every fault must be named -------------------------------------------------
    Scenario(
        "compound-no-profile-and-no-route",
        lambda lab: endpoint_shape(lab, services=(), profile=False),
        exit_code=1, baseline=ENDPOINTS, expect_fail={"iam.profile", "network.route"},
    ),
    Scenario(
        "compound-untrusted-and-connection-lost",
        lambda lab: public_shape(
            lab,
            role_kwargs={"trust": policy({"Effect": "Allow",
                                          "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                                          "Action": "sts:AssumeRole"})},
            agent={"ping_status": "ConnectionLost"},
        ),
        exit_code=1, baseline=PUBLIC, expect_fail={"iam.trust", "agent.online"},
        expect_status=SILENT_CONSOLE,
    ),
    Scenario(
        "compound-endpoint-sg-and-dns-hostnames",
        lambda lab: endpoint_shape(lab, endpoint_ingress=[], dns_hostnames=False),
        exit_code=1, baseline=ENDPOINTS, expect_fail={"vpce.ingress-443", "vpc.dns-hostnames"},
    ),
    Scenario(
        "compound-egress-and-nacl",
        lambda lab: (
            public_shape(lab, instance_egress=[]),
            lab.custom_nacl("nacl", "app", [nacl_entry(100, True, "allow", protocol="-1")]),
        ),
        exit_code=1, baseline=PUBLIC, expect_fail={"network.egress-443", "network.nacl"},
    ),
    Scenario(
        "compound-old-agent-no-ec2messages-endpoint-and-policy-deny",
        lambda lab: endpoint_shape(
            lab, services=("ssm", "ssmmessages"),
            agent={"version": "3.0.1124.0", "latest": False},
            policies={"ssm": policy(
                {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"},
                {"Effect": "Deny", "Principal": "*", "Action": "ssm:UpdateInstanceInformation",
                 "Resource": "*"},
            )},
        ),
        exit_code=1, baseline=ENDPOINTS,
        expect_fail={"vpce.present", "vpce.policy"},
        expect_warn={"network.route", "agent.version"},
        expect_message={"vpce.present": ["ec2messages"],
                        "vpce.policy": ["ssm:UpdateInstanceInformation"]},
        doc="Agent 3.0 requires ec2messages, which has no endpoint; and the ssm endpoint's "
        "policy denies UpdateInstanceInformation.",
    ),
    # ---- a failing or slow API ---------------------------------------------------------------
    Scenario(
        "api-5xx-describe-instance-information",
        lambda lab: public_shape(lab),
        exit_code=3, baseline=PUBLIC, expect_error={"agent.registered", "agent.console"},
        expect_message={"agent.registered": ["DescribeInstanceInformation"],
                        "agent.console": ["DescribeInstanceInformation"]},
        fault=Fault("ssm:DescribeInstanceInformation", status=500),
        max_seconds=30,
        doc="SSM answers HTTP 500 to every DescribeInstanceInformation of this run.",
    ),
    Scenario(
        "api-denied-get-console-output",
        lambda lab: public_shape(lab, register=False),
        exit_code=1, baseline=PUBLIC, expect_fail={"agent.registered"},
        expect_error={"agent.console"},
        expect_message={"agent.console": ["ec2:GetConsoleOutput"]},
        fault=Fault("ec2:GetConsoleOutput", status=403),
        doc="The console of an agent SSM never heard from is refused (HTTP 403): agent.console "
        "says which call, the rest is judged.",
    ),
    Scenario(
        "api-throttled-describe-security-groups",
        lambda lab: public_shape(lab),
        exit_code=3, baseline=PUBLIC, expect_error={"network.egress-443"},
        expect_message={"network.egress-443": ["DescribeSecurityGroups"]},
        fault=Fault("ec2:DescribeSecurityGroups", status=400),
        max_seconds=12,
        doc="EC2 throttles (RequestLimitExceeded) every DescribeSecurityGroups of this run; the "
        "back-off between attempts is capped, so the run still ends in seconds.",
    ),
    Scenario(
        "api-deadline-expires",
        lambda lab: public_shape(lab),
        exit_code=3, baseline=PUBLIC, expect_error={"network.route", "network.dns-central"},
        expect_message={"network.route": ["timed out after 3 s (--deadline)"],
                        "network.nacl": ["timed out after 3 s"],
                        "network.dns-central": ["timed out after 3 s (--deadline)"]},
        fault=Fault("ec2:DescribeRouteTables", status=None, delay=8.0),
        args=["--deadline", "3"], max_seconds=10,
        doc="DescribeRouteTables answers after 8 s, past the run's --deadline 3: the report is "
        "printed anyway, what did not arrive (and what depends on it) is an error, the rest "
        "as healthy.",
    ),
    Scenario(
        "api-timeout-describe-vpc-attribute",
        lambda lab: endpoint_shape(lab),
        exit_code=3, baseline=ENDPOINTS, expect_error={"vpc.dns-support", "vpc.dns-hostnames"},
        expect_message={"vpc.dns-support": ["DescribeVpcAttribute"],
                        "vpc.dns-hostnames": ["DescribeVpcAttribute"]},
        fault=Fault("ec2:DescribeVpcAttribute", status=None, delay=6.0),
        timeout=2, max_seconds=30,
        doc="DescribeVpcAttribute answers after 6 s; with --timeout 2 every attempt times out "
        "(2 s, not 1: a loaded CI machine must still answer the other calls in time).",
    ),
    Scenario(
        "api-slow-describe-route-tables",
        lambda lab: public_shape(lab),
        exit_code=0, baseline=PUBLIC,
        fault=Fault("ec2:DescribeRouteTables", status=None, delay=1.5),
        doc="A slow (1.5 s) but successful DescribeRouteTables does not change the verdict.",
    ),
]

_names = [s.name for s in SCENARIOS]
assert len(_names) == len(set(_names)), "scenario names must be unique"

#: The scenario the AccessDenied test runs (with IAM enforcement on) is seeded like this one.
AUTH_SCENARIO = Scenario(
    "access-denied-describe-network-acls",
    lambda lab: public_shape(lab),
    exit_code=3, baseline=PUBLIC, expect_error={"network.nacl"},
    expect_message={"network.nacl": ["ec2:DescribeNetworkAcls"]},
    doc="IAM enforcement on; the caller may read everything the tool needs except "
    "ec2:DescribeNetworkAcls (explicit Deny).",
)

from estates import ESTATES  # noqa: E402
SCENARIOS.extend(ESTATES)
