"""The fleet-mode world and its cases: many instances over a few VPCs, seeded with boto3 once, and
the invocations of the binary that select among them (``--asg``, ``--tag``, ``--vpc``, ``--all``,
``--unmanaged``, several ids, ids on stdin), each with its expectation written down before the
binary runs.

Every seeded instance gets its own expectation (an :class:`Expect`: the same ``baseline`` ⊕ fail /
warn / pins algebra as a scenario, closed under ``depends_on``) and joins one or more named
*groups*.  A :class:`FleetCase` names the groups whose union is exactly the set of instances it must
report, the ids that do not exist, the exit code, and checks that every selected instance must show
as ``error`` (when a fault is injected).  The test compares every report's statuses with its
instance's expectation, the set of reported ids, the summary and the exit code.

The world, by VPC (``10.<n>.0.0/16``, n ≥ 151 so that no scenario's VPC is reused: conftest.py keeps scenarios below 151):

* ``pub`` (us-east-1, internet path): ``web_named`` and ``web_unnamed`` (tagged fleet-team=pay,
  fleet-env=prod; the second has no Name tag), ``pay_dev`` (pay/dev), ``web_prod`` (web/prod),
  ``no_profile`` (no instance profile: iam.profile fails) and a terminated instance;
* ``priv`` (us-east-1, interface endpoints): ``db`` (pay/prod);
* ``unm`` (us-east-1, internet path): two ``online`` agents, one ``unregistered``, one ``lost``
  (ConnectionLost), one ``inactive``;
* ``asg`` (us-east-1, internet path): an Auto Scaling group from a launch template, four instances,
  one put in Standby; moto does not give ASG-launched instances the launch template's instance
  profile, so the suite associates the profile afterwards with two of the three InService members
  (``asg_ok``) and leaves the third without (``asg_no_profile``); ``asg_outsider`` is in the same
  VPC and subnet but not in the group;
* ``eco_a`` (us-east-1, internet path) and ``eco_b`` (us-east-1, interface endpoints), two roles:
  ``e1`` (AWS managed core policy + an inline policy) and ``e2`` (AWS managed core policy + a
  customer-managed policy): 60 healthy instances, 15 in each VPC × role combination, tagged so that
  10, 30 or all 60 can be selected (the API-economy cases);
* ``all_pub`` and ``all_priv`` in eu-north-1, a region nothing else uses: a running instance in
  each, a stopped one (with an Elastic IP, so its internet path stays) and a terminated one.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field
from typing import Any, Callable

from scenarios import (
    ACCOUNT,
    AMI,
    CORE_EXPLICIT,
    CORE_MANAGED,
    CORE_WILDCARD,
    EC2_TRUST,
    ENDPOINTS,
    PUBLIC,
    REGION,
    SERVICES3,
    Fault,
    Lab,
    Scenario,
)

ALL_REGION = "eu-north-1"  # only the --all cases use it: the instance count there is exact
MISSING = "i-00000000000f1ee75"  # well-formed, never launched
ASG_NAME = "e2e-fleet-asg-web"
TEAM, ENV = "fleet-team", "fleet-env"


# ------------------------------------------------------------------------------------------------
# Expectations
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    """One instance's expected statuses, written like a scenario's."""

    baseline: dict[str, str] | None  # None: the instance does not exist
    fail: frozenset[str] = frozenset()
    warn: frozenset[str] = frozenset()
    pins: tuple[tuple[str, str], ...] = ()
    label: str = ""

    def statuses(self, error: set[str] = frozenset()) -> dict[str, str]:
        """The full map check id → status; ``error`` adds checks a fault makes unanswerable
        (only on an instance that exists: a missing one has nothing to ask about)."""
        return Scenario(
            self.label, seed=lambda lab: None, exit_code=0, baseline=self.baseline,
            expect_fail=set(self.fail), expect_warn=set(self.warn),
            expect_error=set(error) if self.baseline is not None else set(),
            expect_status=dict(self.pins),
        ).expected_statuses()


def expect(baseline: dict[str, str] | None, label: str, fail: tuple[str, ...] = (),
           warn: tuple[str, ...] = (), **pins: str) -> Expect:
    return Expect(baseline, frozenset(fail), frozenset(warn),
                  tuple((k.replace("__", "."), v) for k, v in pins.items()), label)


HEALTHY_PUBLIC = expect(PUBLIC, "healthy, internet path")
HEALTHY_ENDPOINTS = expect(ENDPOINTS, "healthy, interface endpoints")
NO_PROFILE = expect(PUBLIC, "no instance profile", fail=("iam.profile",))
# An agent that is not Online has its console read; moto's boot log shows no agent: a warning.
NOT_REGISTERED = expect(PUBLIC, "agent not registered", fail=("agent.registered",),
                        agent__console="warn")
CONNECTION_LOST = expect(PUBLIC, "agent ConnectionLost", fail=("agent.online",),
                         agent__console="warn")
INACTIVE = expect(PUBLIC, "agent Inactive", fail=("agent.online",), agent__console="warn")
# DescribeInstanceInformation leaves stopped instances out; agent.registered skips (it depends on
# instance.running), as in the broken-instance-stopped scenario
STOPPED = expect(PUBLIC, "stopped", fail=("instance.running",), agent__registered="skip",
                 agent__console="warn")
NOT_FOUND = expect(None, "does not exist", fail=("instance.found",))


# ------------------------------------------------------------------------------------------------
# The world
# ------------------------------------------------------------------------------------------------


@dataclass
class World:
    expect: dict[str, Expect] = field(default_factory=dict)  # instance id → expectation
    groups: dict[str, list[str]] = field(default_factory=dict)  # group → instance ids
    ids: dict[str, str] = field(default_factory=dict)  # "vpc:pub", "profile:e1", ...
    names: dict[str, str | None] = field(default_factory=dict)  # instance id → Name tag

    def group(self, name: str) -> list[str]:
        return self.groups[name]

    def one(self, name: str) -> str:
        (iid,) = self.groups[name]
        return iid


class FleetLab(Lab):
    """A :class:`Lab` for one VPC of the fleet world, launching many instances into it."""

    def __init__(self, emulator: Any, world: World, name: str, index: int,
                 region: str = REGION):
        # no Scenario behind it: Lab's fields set by hand
        self.emu = emulator
        self.world = world
        self.scenario = None
        self.n = index
        self.region = region
        self.prefix = f"e2e-fleet-{name}"
        self.ec2 = emulator.client("ec2", region)
        self.iam = emulator.client("iam", region)
        self.ssm = emulator.client("ssm", region)
        self.ids = {"account": ACCOUNT, "region": region}
        self.name = name

    # ---- network (the shapes of scenarios.py without their instance) ------------------------
    def public_network(self) -> None:
        self.vpc()
        self.subnet("app", 1)
        self.ec2.modify_subnet_attribute(SubnetId=self.ids["app"],
                                         MapPublicIpOnLaunch={"Value": True})
        self.route_table("rt", ["app"], {"GatewayId": self.igw()})
        self.security_group("instance_sg")
        self.world.ids[f"vpc:{self.name}"] = self.ids["vpc"]

    def endpoint_network(self) -> None:
        self.vpc()
        self.subnet("app", 1)
        self.subnet("endpoints", 2)
        self.route_table("rt", ["app"], None)
        self.route_table("endpoints_rt", ["endpoints"], None)
        self.security_group("instance_sg")
        self.security_group("endpoint_sg", ingress=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
             "UserIdGroupPairs": [{"GroupId": self.ids["instance_sg"]}]}])
        for service in SERVICES3:
            self.endpoint(service, "endpoints", ["endpoint_sg"])
        self.world.ids[f"vpc:{self.name}"] = self.ids["vpc"]

    # ---- identities: several per lab, each a role in its own profile -------------------------
    def identity(self, key: str, managed: tuple[str, ...] = (CORE_MANAGED,),
                 customer: dict[str, dict] | None = None,
                 inline: dict[str, dict] | None = None) -> str:
        role = f"{self.prefix}-{key}-role"
        self.iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(EC2_TRUST))
        for arn in managed:
            self.iam.attach_role_policy(RoleName=role, PolicyArn=arn)
        for pname, doc in (customer or {}).items():
            self.iam.attach_role_policy(RoleName=role,
                                        PolicyArn=self.customer_policy(f"{key}-{pname}", doc))
        for pname, doc in (inline or {}).items():
            self.iam.put_role_policy(RoleName=role, PolicyName=pname,
                                     PolicyDocument=json.dumps(doc))
        profile = f"{self.prefix}-{key}-profile"
        arn = self.iam.create_instance_profile(InstanceProfileName=profile)["InstanceProfile"][
            "Arn"]
        self.iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=role)
        self.world.ids[f"profile:{self.name}:{key}"] = arn
        return arn

    # ---- instances ----------------------------------------------------------------------------
    def launch(self, group: str, expectation: Expect, *, count: int = 1,
               profile: str | None = None, tags: dict[str, str] | None = None,
               name: str | None = None, agent: dict | None = None, register: bool = True,
               also: tuple[str, ...] = ()) -> list[str]:
        """``count`` instances in subnet ``app`` with the lab's instance SG and ``profile`` (an
        instance profile ARN, or None), their agents registered Online unless
        ``register`` is false (``agent``: PingStatus etc.); they join ``group`` and ``also``."""
        all_tags = dict(tags or {})
        if name:
            all_tags["Name"] = name
        kwargs: dict[str, Any] = {}
        if profile:
            kwargs["IamInstanceProfile"] = {"Arn": profile}
        if all_tags:
            kwargs["TagSpecifications"] = [{
                "ResourceType": "instance",
                "Tags": [{"Key": k, "Value": v} for k, v in all_tags.items()],
            }]
        ids = [i["InstanceId"] for i in self.ec2.run_instances(
            ImageId=AMI, InstanceType="t3.micro", MinCount=count, MaxCount=count,
            SubnetId=self.ids["app"], SecurityGroupIds=[self.ids["instance_sg"]], **kwargs,
        )["Instances"]]
        if profile:
            # moto associates RunInstances' profile with the first instance of the launch only
            for iid in ids[1:]:
                self.ec2.associate_iam_instance_profile(IamInstanceProfile={"Arn": profile},
                                                        InstanceId=iid)
        if register:
            for iid in ids:
                self.register(iid, **(agent or {}))
        self.adopt(ids, expectation, name, group, *also)
        return ids

    def register(self, iid: str, **agent: Any) -> None:
        self.emu.register_agent(iid, region=self.region, account=ACCOUNT, **agent)

    def adopt(self, ids: list[str], expectation: Expect, name: str | None, *groups: str) -> None:
        for iid in ids:
            self.world.expect[iid] = expectation
            self.world.names[iid] = name
        for g in groups:
            self.world.groups.setdefault(g, []).extend(ids)


def _asg(lab: FleetLab) -> None:
    """Launch template + Auto Scaling group of 4; one member in Standby; the profile associated
    afterwards with two InService members (moto drops the launch template's profile)."""
    lab.public_network()
    profile = lab.identity("web")
    lab.ec2.create_launch_template(LaunchTemplateName=f"{lab.prefix}-lt", LaunchTemplateData={
        "ImageId": AMI, "InstanceType": "t3.micro",
        "SecurityGroupIds": [lab.ids["instance_sg"]],
        "IamInstanceProfile": {"Arn": profile},
        "TagSpecifications": [{"ResourceType": "instance",
                               "Tags": [{"Key": "Name", "Value": "fleet-asg-web"}]}],
    })
    autoscaling = lab.emu.client("autoscaling", lab.region)
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=ASG_NAME,
        LaunchTemplate={"LaunchTemplateName": f"{lab.prefix}-lt", "Version": "$Latest"},
        MinSize=0, MaxSize=4, DesiredCapacity=4, VPCZoneIdentifier=lab.ids["app"],
    )
    members = [i["InstanceId"] for i in autoscaling.describe_auto_scaling_groups(
        AutoScalingGroupNames=[ASG_NAME])["AutoScalingGroups"][0]["Instances"]]
    assert len(members) == 4, members
    standby, no_profile, ok = members[0], members[1], members[2:]
    autoscaling.enter_standby(AutoScalingGroupName=ASG_NAME, InstanceIds=[standby],
                              ShouldDecrementDesiredCapacity=True)
    for iid in ok + [standby]:
        lab.ec2.associate_iam_instance_profile(IamInstanceProfile={"Arn": profile},
                                               InstanceId=iid)
    group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[ASG_NAME])
    states = {i["InstanceId"]: i["LifecycleState"]
              for i in group["AutoScalingGroups"][0]["Instances"]}
    assert states == {standby: "Standby", no_profile: "InService",
                      **{i: "InService" for i in ok}}, states
    for iid in members:
        lab.register(iid)
    lab.adopt(ok, HEALTHY_PUBLIC, "fleet-asg-web", "asg_ok")
    lab.adopt([no_profile], NO_PROFILE, "fleet-asg-web", "asg_no_profile")
    lab.adopt([standby], HEALTHY_PUBLIC, "fleet-asg-web", "asg_standby")
    lab.launch("asg_outsider", HEALTHY_PUBLIC, profile=profile, name="fleet-asg-web")


#: The API-economy part: instances per (VPC, role) combination, as chunks launched with the tags
#: that put them in the 10-, 30- and 60-instance selections.
ECO_CHUNKS = {  # (vpc lab, profile): sizes of the [10+30+60, 30+60, 60-only] chunks
    ("eco_a", "e1"): (3, 5, 7),
    ("eco_a", "e2"): (3, 5, 7),
    ("eco_b", "e1"): (2, 5, 8),
    ("eco_b", "e2"): (2, 5, 8),
}
ECO_SIZES = (10, 30, 60)
#: What the 60 instances share: the questions the binary may ask grow with these, never with N.
ECO_VPCS, ECO_PROFILES = 2, 2
ECO_MANAGED_POLICIES = 2  # AmazonSSMManagedInstanceCore (both roles) + e2's customer policy
ECO_CUSTOMER_POLICIES = 1  # e2's: the only document read (Core's ships with the tool)
ECO_INLINE_POLICIES = 1  # e1's


def seed_world(emulator: Any) -> World:
    world = World()

    pub = FleetLab(emulator, world, "pub", 151)
    pub.public_network()
    core = pub.identity("core")
    pay_prod = {TEAM: "pay", ENV: "prod"}
    pub.launch("web_named", HEALTHY_PUBLIC, profile=core, tags=pay_prod, name="fleet-web-1",
               also=("pay_prod", "pub"))
    pub.launch("web_unnamed", HEALTHY_PUBLIC, profile=core, tags=pay_prod,
               also=("pay_prod", "pub"))
    pub.launch("pay_dev", HEALTHY_PUBLIC, profile=core, tags={TEAM: "pay", ENV: "dev"},
               name="fleet-pay-dev", also=("pub",))
    pub.launch("web_prod", HEALTHY_PUBLIC, profile=core, tags={TEAM: "web", ENV: "prod"},
               name="fleet-web-prod", also=("pub",))
    pub.launch("no_profile", NO_PROFILE, name="fleet-no-profile", also=("pub",))
    gone = pub.launch("terminated", HEALTHY_PUBLIC, profile=core, tags=pay_prod,
                      name="fleet-terminated")
    pub.ec2.terminate_instances(InstanceIds=gone)

    priv = FleetLab(emulator, world, "priv", 152)
    priv.endpoint_network()
    priv.launch("db", HEALTHY_ENDPOINTS, profile=priv.identity("core"), tags=pay_prod,
                name="fleet-db", also=("pay_prod",))

    unm = FleetLab(emulator, world, "unm", 153)
    unm.public_network()
    core = unm.identity("core")
    unm.launch("online", HEALTHY_PUBLIC, count=2, profile=core, name="fleet-online")
    unm.launch("unregistered", NOT_REGISTERED, profile=core, register=False,
               name="fleet-unregistered", also=("unmanaged",))
    unm.launch("lost", CONNECTION_LOST, profile=core, name="fleet-lost",
               agent={"ping_status": "ConnectionLost",
                      "last_ping": dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2)},
               also=("unmanaged",))
    unm.launch("inactive", INACTIVE, profile=core, name="fleet-inactive",
               agent={"ping_status": "Inactive"}, also=("unmanaged",))

    _asg(FleetLab(emulator, world, "asg", 154))

    eco = {"eco_a": FleetLab(emulator, world, "eco_a", 155),
           "eco_b": FleetLab(emulator, world, "eco_b", 156)}
    eco["eco_a"].public_network()
    eco["eco_b"].endpoint_network()
    roles = {"e1": eco["eco_a"].identity("e1", inline={"core": CORE_WILDCARD}),
             "e2": eco["eco_b"].identity("e2", customer={"core": CORE_EXPLICIT})}
    chunk_tags = ({"fleet-eco-10": "yes", "fleet-eco-30": "yes", "fleet-eco": "all"},
                  {"fleet-eco-30": "yes", "fleet-eco": "all"},
                  {"fleet-eco": "all"})
    chunk_groups = (("eco10", "eco30", "eco60"), ("eco30", "eco60"), ("eco60",))
    for (vpc, role), sizes in ECO_CHUNKS.items():
        healthy = HEALTHY_PUBLIC if vpc == "eco_a" else HEALTHY_ENDPOINTS
        for size, tags, groups in zip(sizes, chunk_tags, chunk_groups):
            eco[vpc].launch(groups[0], healthy, count=size, profile=roles[role], tags=tags,
                            name=f"fleet-{vpc}-{role}", also=groups[1:])
    assert [len(world.group(f"eco{n}")) for n in ECO_SIZES] == list(ECO_SIZES)

    all_pub = FleetLab(emulator, world, "all_pub", 157, region=ALL_REGION)
    all_pub.public_network()
    core = all_pub.identity("core")
    all_pub.launch("all_running_pub", HEALTHY_PUBLIC, profile=core, name="fleet-all-pub",
                   also=("all",))
    # Stopped, with an Elastic IP, which (unlike an auto-assigned public IP) stays across a stop,
    # so that its internet path stays. moto drops a stopped instance's public IP, EIP included,
    # when its interface also auto-assigned one: launch this one without.
    all_pub.ec2.modify_subnet_attribute(SubnetId=all_pub.ids["app"],
                                        MapPublicIpOnLaunch={"Value": False})
    stopped = all_pub.launch("all_stopped", STOPPED, profile=core, name="fleet-all-stopped",
                             also=("all",))
    all_pub.ids["instance"] = stopped[0]
    all_pub.elastic_ip()
    all_pub.ec2.stop_instances(InstanceIds=stopped)
    gone = all_pub.launch("all_terminated", HEALTHY_PUBLIC, profile=core,
                          name="fleet-all-terminated")
    all_pub.ec2.terminate_instances(InstanceIds=gone)
    all_priv = FleetLab(emulator, world, "all_priv", 158, region=ALL_REGION)
    all_priv.endpoint_network()
    all_priv.launch("all_running_priv", HEALTHY_ENDPOINTS, profile=all_priv.identity("core"),
                    name="fleet-all-priv", also=("all",))
    return world


# ------------------------------------------------------------------------------------------------
# The cases: one binary run each, its expectation declared here
# ------------------------------------------------------------------------------------------------


@dataclass
class FleetCase:
    name: str
    args: Callable[[World], list[str]]  # ids and selectors; --region/--output/... are added
    reports: tuple[str, ...]  # groups whose union is exactly the set of instances reported
    exit_code: int
    missing: tuple[str, ...] = ()  # asked-for ids that do not exist: a report each, not found
    stdin: Callable[[World], str] | None = None
    region: str = REGION
    output: str = "json"  # json, human or markdown
    error: frozenset[str] = frozenset()  # checks every found instance shows as error (fault)
    fault: Fault | None = None
    single: bool = False  # one explicit id: the single-instance report, not a fleet
    known_bug: str | None = None  # the tool is known to get this wrong (strict xfail)
    doc: str = ""

    def expected_ids(self, world: World) -> set[str]:
        return {i for g in self.reports for i in world.group(g)} | set(self.missing)

    def expected_statuses(self, world: World, instance_id: str) -> dict[str, str]:
        if instance_id in self.missing:
            return NOT_FOUND.statuses()
        return world.expect[instance_id].statuses(set(self.error))


PAY_PROD = ["--tag", f"{TEAM}=pay", "--tag", f"{ENV}=prod"]
#: 201 well-formed ids that do not exist: two DescribeInstances (200 ids a filter), five
#: DescribeInstanceInformation (50 ids a call)
MISSING_201 = tuple(f"i-{0xf1ee700000 + k:017x}" for k in range(201))
NACL_FAULT = Fault("ec2:DescribeNetworkAcls", status=500)

FLEET_CASES: list[FleetCase] = [
    # ---- several regions -----------------------------------------------------------------------
    FleetCase(
        "two-regions", lambda w: PAY_PROD, region=f"{REGION},eu-central-2",
        reports=("pay_prod",), exit_code=0,
        doc="The same tags in two regions, diagnosed at once: the second holds none of them.",
    ),
    FleetCase(
        "all-regions", lambda w: PAY_PROD, region="all",
        reports=("pay_prod",), exit_code=0,
        doc="Every region the account has enabled (ec2:DescribeRegions), diagnosed at once.",
    ),
    # ---- selectors ----------------------------------------------------------------------------
    FleetCase(
        "asg", lambda w: ["--asg", ASG_NAME],
        reports=("asg_ok", "asg_no_profile"), exit_code=1,
        doc="The group's InService members: not the one in Standby, not the instance launched "
        "next to them outside the group. The member without a profile fails iam.profile.",
    ),
    FleetCase(
        "tag-and", lambda w: PAY_PROD,
        reports=("pay_prod",), exit_code=0,
        doc="Both tags must match: pay/dev and web/prod are left out, and so is the terminated "
        "pay/prod instance. The selection spans two VPCs; all healthy → 0.",
    ),
    FleetCase(
        "tag-and-vpc", lambda w: PAY_PROD + ["--vpc", w.ids["vpc:priv"]],
        reports=("db",), exit_code=0,
        doc="--tag and --vpc combine (AND); one instance, still the fleet document.",
    ),
    FleetCase(
        "tag-and-vpc-nothing", lambda w: PAY_PROD + ["--vpc", w.ids["vpc:unm"]],
        reports=(), exit_code=0,
        doc="Nothing matches both: an empty fleet, with nothing failing or incomplete → 0.",
    ),
    FleetCase(
        "vpc", lambda w: ["--vpc", w.ids["vpc:pub"]],
        reports=("pub",), exit_code=1,
        doc="Every live instance of the VPC (not the terminated one); one has no profile → 1.",
    ),
    FleetCase(
        "vpc-human", lambda w: ["--vpc", w.ids["vpc:pub"]],
        reports=("pub",), exit_code=1, output="human",
        doc="The same, as the human table (INSTANCE, NAME, VERDICT, FIRST PROBLEM).",
    ),
    FleetCase(
        "vpc-markdown", lambda w: ["--vpc", w.ids["vpc:pub"]],
        reports=("pub",), exit_code=1, output="markdown",
        doc="The same, as the markdown table plus details of the instances that do not pass.",
    ),
    FleetCase(
        "all", lambda w: ["--all"], region=ALL_REGION,
        reports=("all",), exit_code=1,
        doc="Every pending/running/stopping/stopped instance of the region, over two VPCs: the "
        "terminated one is left out; the stopped one fails instance.running.",
    ),
    FleetCase(
        "all-unmanaged", lambda w: ["--all", "--unmanaged"], region=ALL_REGION,
        reports=("all_stopped",), exit_code=1,
        doc="SSM does not list a stopped instance: it is the only one not Online.",
    ),
    FleetCase(
        "unmanaged-vpc", lambda w: ["--vpc", w.ids["vpc:unm"], "--unmanaged"],
        reports=("unmanaged",), exit_code=1,
        doc="Not registered, ConnectionLost and Inactive are reported; the two Online are not.",
    ),
    FleetCase(
        "unmanaged-ids", lambda w: [w.group("online")[0], w.one("lost"), "--unmanaged"],
        reports=("lost",), exit_code=1,
        doc="--unmanaged filters explicit ids too.",
    ),
    FleetCase(
        "unmanaged-one-online-id", lambda w: [w.group("online")[0], "--unmanaged"],
        reports=(), exit_code=0,
        doc="One named instance that is Online, with --unmanaged: nothing matched (once a panic).",
    ),
    FleetCase(
        "unmanaged-all-online", lambda w: PAY_PROD + ["--unmanaged"],
        reports=(), exit_code=0,
        doc="Every tagged instance is Online: nothing left to report.",
    ),
    # ---- explicit ids ---------------------------------------------------------------------------
    FleetCase(
        "ids", lambda w: [w.one("web_named"), w.one("db"), MISSING],
        reports=("web_named", "db"), missing=(MISSING,), exit_code=1,
        doc="Two instances in two VPCs and one id that does not exist (instance.found fails).",
    ),
    FleetCase(
        "ids-stdin", lambda w: ["-"],
        stdin=lambda w: f"{w.one('web_named')}\n  {w.one('db')}\t{MISSING}\n",
        reports=("web_named", "db"), missing=(MISSING,), exit_code=1,
        doc="The same ids from standard input, separated by newlines, spaces and a tab.",
    ),
    FleetCase(
        "ids-healthy", lambda w: [w.one("web_named"), w.one("db")],
        reports=("web_named", "db"), exit_code=0,
    ),
    FleetCase(
        "ids-duplicated", lambda w: ["-"],
        stdin=lambda w: f"{w.one('web_named')} {MISSING} {w.one('web_named')} {MISSING}\n",
        reports=("web_named",), missing=(MISSING,), exit_code=1,
        doc="Ids repeated (not consecutively): one report per instance.",
    ),
    FleetCase(
        "single-id", lambda w: [w.one("web_named")],
        reports=("web_named",), exit_code=0, single=True,
        doc="One explicit id keeps the single-instance report.",
    ),
    # ---- API economy ----------------------------------------------------------------------------
    *[
        FleetCase(
            f"eco-{n}",
            lambda w, n=n: ["--tag", "fleet-eco=all" if n == 60 else f"fleet-eco-{n}=yes"],
            reports=(f"eco{n}",), exit_code=0,
            doc=f"{n} healthy instances over 2 VPCs and 2 roles.",
        )
        for n in ECO_SIZES
    ],
    FleetCase(
        "eco-30-ids-stdin", lambda w: ["-"], stdin=lambda w: "\n".join(w.group("eco30")),
        reports=("eco30",), exit_code=0,
        doc="The same 30 as explicit ids: one filtered DescribeInstances all the same.",
    ),
    FleetCase(
        "ids-201-missing", lambda w: ["-"], stdin=lambda w: " ".join(MISSING_201),
        reports=(), missing=MISSING_201, exit_code=1,
        doc="201 ids that do not exist: two DescribeInstances, five DescribeInstanceInformation, "
        "nothing else to ask.",
    ),
    # ---- incomplete -----------------------------------------------------------------------------
    FleetCase(
        "fault-incomplete", lambda w: PAY_PROD,
        reports=("pay_prod",), exit_code=3, error=frozenset({"network.nacl"}), fault=NACL_FAULT,
        doc="DescribeNetworkAcls answers 500 to this run: every instance is incomplete → 3.",
    ),
    FleetCase(
        "fault-fail-beats-incomplete", lambda w: ["--vpc", w.ids["vpc:pub"]],
        reports=("pub",), exit_code=1, error=frozenset({"network.nacl"}), fault=NACL_FAULT,
        doc="The same fault; one instance also fails iam.profile: 1 before 3.",
    ),
]

_names = [c.name for c in FLEET_CASES]
assert len(_names) == len(set(_names)), "fleet case names must be unique"


#: moto's answer to sts:GetCallerIdentity for keys IAM does not know (conftest seeds the user).
DEFAULT_CALLER = "moto"
#: What reading that caller costs: the user, its one inline policy, no group, no boundary.
OPERATOR_READS = {"iam:GetUser": 1, "iam:ListAttachedUserPolicies": 1, "iam:ListUserPolicies": 1,
                  "iam:GetUserPolicy": 1, "iam:ListGroupsForUser": 1}


def call_budget(instances: int, *, vpcs: int, profiles: int, managed: int, inline: int,
                unshipped: int = 0, explicit_ids: int = 0) -> dict[str, int]:
    """The most requests of each kind a fleet run may make: a function of what the instances share
    (VPCs, instance profiles, policies), and of the instance count only through the documented
    batch sizes (200 ids a DescribeInstances filter, 50 a DescribeInstanceInformation, 200 VPC ids
    a network describe). Every answer here fits one page. Of the `managed` policies, only the
    `unshipped` ones (customer-managed: the AWS-managed documents ship with the tool) have their
    document read."""
    return {
        "sts:GetCallerIdentity": 1,
        "ssm:GetServiceSetting": 1,
        "ssm:GetDocument": 1,  # the preferences (none in the fleet's regions: nothing they name)
        "iam:SimulatePrincipalPolicy": 1,  # the operator's requests that no instance shapes
        "ec2:DescribeInstances": max(1, math.ceil(explicit_ids / 200)),
        "ssm:DescribeInstanceInformation": math.ceil(instances / 50),
        **{f"ec2:{op}": math.ceil(vpcs / 200) for op in (
            "DescribeRouteTables", "DescribeNatGateways", "DescribeNetworkAcls", "DescribeSubnets",
            "DescribeVpcEndpoints", "DescribeSecurityGroups")},
        "ec2:DescribeVpcAttribute": 2 * vpcs,
        # Session Manager's own answer, for at most 10 instances SSM knows (the not Online first)
        "ssm:GetConnectionStatus": min(instances, 10),
        "iam:GetInstanceProfile": profiles,
        "iam:GetRole": profiles,
        "iam:ListAttachedRolePolicies": profiles,
        "iam:ListRolePolicies": profiles,
        "iam:GetPolicy": managed,
        "iam:GetPolicyVersion": unshipped,
        "iam:GetRolePolicy": inline,
        **OPERATOR_READS,
    }
