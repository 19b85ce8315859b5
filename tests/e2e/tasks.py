"""The scenarios of ``ssm-doctor param`` and ``ssm-doctor patch`` (issue 14): seeded with boto3
through the scenarios' ``Lab`` (a ``TaskLab`` adds parameters, keys, maintenance windows,
baselines and patch states), each with the runs of the binary made against it and the expected
status of every check of the command, written from docs/spec-14's table before the tool ran.

Everything lives in ``us-east-1`` like the main scenarios. Parameters, maintenance windows, patch
baselines and patch groups are region-wide, so every name, tag value and patch group carries the
lab's prefix (``e2e-<index>-<scenario>``): a scenario never sees another's (the parameter names
also never begin with another scenario's first path segment, which the suggestions query). The
VPCs are ``10.<index>.0.0/16`` with indices after the main scenarios, the authorization scenario
and the watch test (test_tasks.py asserts they stay below the fleet world's 151).

``DENIAL_MODES`` declares test_tasks.py's denials: which run is repeated under moto's IAM
enforcement with one action denied in turn, and which actions must make a check ``error``.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any, Callable

import emulator  # noqa: F401  (sets moto's environment before moto loads)
from fleet import DEFAULT_CALLER
from patch_extension import aws_default_baselines
from scenarios import (
    ACCOUNT,
    CORE_MANAGED,
    CORE_WILDCARD,
    EC2_TRUST,
    REGION,
    SSM_TRUST,
    Lab,
    allow,
    endpoint_shape,
    policy,
    public_shape,
)

PARAM_CHECKS = ("param.exists", "param.permission", "param.kms", "param.path")
PATCH_CHECKS = ("patch.managed", "patch.targeted", "patch.window", "patch.service-role",
                "patch.baseline", "patch.s3", "patch.last-run")
CHECKS = {"param": PARAM_CHECKS, "patch": PATCH_CHECKS}
#: ``depends_on`` of each check, as the spec's table declares it (test_tasks.py compares the
#: catalogue's pages with it).
DEPENDS_ON = {
    "param.exists": [], "param.permission": ["param.exists"], "param.kms": ["param.exists"],
    "param.path": [],
    "patch.managed": [], "patch.targeted": [], "patch.window": ["patch.targeted"],
    "patch.service-role": ["patch.targeted"], "patch.baseline": ["patch.managed"],
    "patch.s3": [], "patch.last-run": [],
}

#: The actions only these two commands ask (test_denial.py's OUTSIDE_THE_WORLD names them,
#: test_tasks.py denies each), and which command asks it.
TASK_ONLY_ACTIONS = {
    "ssm:DescribeParameters": "param",
    "ssm:DescribeMaintenanceWindows": "patch",
    "ssm:DescribeMaintenanceWindowTargets": "patch",
    "ssm:DescribeMaintenanceWindowTasks": "patch",
    "ssm:ListAssociations": "patch",
    "ssm:GetPatchBaselineForPatchGroup": "patch",
    "ssm:GetDefaultPatchBaseline": "patch",
    "ssm:GetPatchBaseline": "patch",
    "ssm:DescribeInstancePatchStates": "patch",
}
#: What reads a parameter's value, or decrypts it: never asked by the tool.
VALUE_READS = ("ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath",
               "ssm:GetParameterHistory", "kms:Decrypt")

PATCH_BUCKET = f"patch-baseline-snapshot-{REGION}"
PATCH_BUCKETS_OBJECTS = [f"arn:aws:s3:::{PATCH_BUCKET}/*", f"arn:aws:s3:::aws-ssm-{REGION}/*"]
RUN_PATCH_BASELINE = "AWS-RunPatchBaseline"
WEEKLY = "cron(0 2 ? * SUN *)"
#: What the role of a parameter scenario may do with parameters (the brief's wildcard).
GET_PARAMETER = "ssm:GetParameter*"
#: AWS's default baselines in the region (moto's table, the emulator's ids), by OS.
AWS_DEFAULT_BASELINES = {os: arn.rsplit("/", 1)[-1]
                         for os, arn in aws_default_baselines(REGION).items()}
AL2_DEFAULT_BASELINE = AWS_DEFAULT_BASELINES["AMAZON_LINUX_2"]


# ------------------------------------------------------------------------------------------------
# The declarations
# ------------------------------------------------------------------------------------------------


@dataclass
class TaskRun:
    """One run of the binary against a seeded scenario, and everything it must report."""

    name: str
    command: str  # "param" or "patch"
    exit_code: int
    #: param: the NAME asked, from the seeded ids
    parameter: Callable[[dict[str, str]], str] | None = None
    role: bool = False  # param: --role ROLE_NAME instead of --instance
    fail: frozenset[str] = frozenset()
    status: dict[str, str] = field(default_factory=dict)  # other pins (skip, warn, error)
    #: check id → substrings of its message or evidence ({name}: a seeded id; "a|b": either)
    messages: dict[str, list[str]] = field(default_factory=dict)
    doc: str = ""

    def args(self, ids: dict[str, str]) -> list[str]:
        """The arguments before ``--region`` (run_binary adds the common options)."""
        if self.command == "patch":
            return ["patch", ids["instance"]]
        assert self.parameter is not None, self.name
        via = ["--role", ids["role"]] if self.role else ["--instance", ids["instance"]]
        return ["param", self.parameter(ids), *via]

    def expected_statuses(self) -> dict[str, str]:
        """Every check of the command: pass, but for ``fail`` and ``status``; then the general
        rule: a check whose dependency failed or skipped skips, one whose dependency is ``error``
        is ``error`` too."""
        checks = CHECKS[self.command]
        statuses = {c: "pass" for c in checks}
        for check in self.fail:
            assert check in statuses, f"{self.name}: {check} is not a {self.command} check"
            statuses[check] = "fail"
        for check, status in self.status.items():
            assert check in statuses, f"{self.name}: {check} is not a {self.command} check"
            statuses[check] = status
        for check in checks:  # in dependency order
            deps = [statuses[d] for d in DEPENDS_ON[check]]
            if any(d in ("fail", "skip") for d in deps):
                statuses[check] = "skip"
            elif "error" in deps:
                statuses[check] = "error"
        return statuses


@dataclass
class TaskScenario:
    name: str
    seed: Callable[["TaskLab"], None]
    runs: list[TaskRun]
    region: str = REGION
    doc: str = ""


@dataclass(frozen=True)
class DenialMode:
    """A run of TASK_SCENARIOS repeated under IAM enforcement, once by a caller allowed every
    action of docs/iam-policy.json and once per denied action by a caller with an explicit Deny
    of it. ``required``: denied whatever the baseline asked, each must turn a check into
    ``error``; ``no_effect``: denied too, but documented to change nothing (action, why);
    ``every_asked``: every other action the baseline run asked is denied in turn too (only: no
    crash, what changes is ``error`` saying so)."""

    name: str
    run: str
    required: tuple[str, ...]
    every_asked: bool
    no_effect: tuple[tuple[str, str], ...] = ()


# ------------------------------------------------------------------------------------------------
# The seeding toolkit
# ------------------------------------------------------------------------------------------------


class TaskLab(Lab):
    """A scenario's lab with Parameter Store, KMS and Patch Manager resources."""

    def __init__(self, emulator: Any, scenario: TaskScenario, index: int):
        super().__init__(emulator, scenario, index)
        self.kms = emulator.client("kms", self.region)
        #: every parameter of the scenario lives under it
        self.root = f"/{self.prefix}"
        self.ids.update(root=self.root, group=f"{self.prefix}-group",
                        secret=f"e2e-secret-value-{index}-never-printed")

    def parameter_arn(self, name: str) -> str:
        return f"arn:aws:ssm:{self.region}:{ACCOUNT}:parameter/{name.lstrip('/')}"

    def under(self, path: str) -> str:
        """The ARN pattern of every parameter under ``path``."""
        return self.parameter_arn(path.rstrip("/") + "/*")

    def parameter(self, key: str, name: str, type_: str = "SecureString",
                  key_id: str | None = None) -> str:
        kwargs = {"KeyId": key_id} if key_id else {}
        self.ssm.put_parameter(Name=name, Value=self.ids["secret"], Type=type_, **kwargs)
        self.ids[key] = name
        self.ids[f"{key}_arn"] = self.parameter_arn(name)
        return name

    def customer_key(self, key_policy: dict) -> str:
        """A customer managed key with ``key_policy`` and the alias ``alias/<prefix>``."""
        meta = self.kms.create_key(Description=self.prefix,
                                   Policy=json.dumps(key_policy))["KeyMetadata"]
        self.kms.create_alias(AliasName=f"alias/{self.prefix}", TargetKeyId=meta["KeyId"])
        self.ids.update(key_arn=meta["Arn"], key_alias=f"alias/{self.prefix}")
        return meta["Arn"]

    def _trusting_role(self, suffix: str, key: str, trust: dict) -> str:
        """A role named ``<prefix>-<suffix>`` with ``trust``, its name and ARN kept as ``key``."""
        name = f"{self.prefix}-{suffix}"[:64]
        arn = self.iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))[
            "Role"]["Arn"]
        self.ids.update({key: name, f"{key}_arn": arn})
        return arn

    def other_role(self) -> str:
        """Another application's role (a principal that is not the instance's)."""
        return self._trusting_role("other", "other_role", EC2_TRUST)

    def service_role(self) -> str:
        """The maintenance window tasks' service role, trusting ssm.amazonaws.com."""
        return self._trusting_role("mw", "mw_role", SSM_TRUST)

    def platform(self, name: str, version: str) -> None:
        """The agent registers again, reporting this operating system."""
        self.emu.register_agent(self.ids["instance"], region=self.region, account=ACCOUNT,
                                platform_name=name, platform_version=version)

    def baseline(self, group: str, operating_system: str = "AMAZON_LINUX_2023") -> str:
        """A baseline of the account for ``operating_system``, registered for ``group``."""
        rules = {"PatchRules": [
            {"PatchFilterGroup": {"PatchFilters": [
                {"Key": "CLASSIFICATION", "Values": ["Security"]},
                {"Key": "SEVERITY", "Values": ["Critical", "Important"]}]},
             "ComplianceLevel": "CRITICAL", "ApproveAfterDays": 3},
            {"PatchFilterGroup": {"PatchFilters": [
                {"Key": "CLASSIFICATION", "Values": ["Bugfix"]}]},
             "ComplianceLevel": "MEDIUM", "ApproveAfterDays": 14},
        ]}
        baseline = self.ssm.create_patch_baseline(
            Name=f"{self.prefix}-baseline"[:128], OperatingSystem=operating_system,
            ApprovalRules=rules, Description=f"{self.prefix}: security after 3 days",
        )["BaselineId"]
        self.ssm.register_patch_baseline_for_patch_group(BaselineId=baseline, PatchGroup=group)
        self.ids["baseline"] = baseline
        return baseline

    def window(self, targets: list[dict], *, enabled: bool = True,
               schedule: str = WEEKLY) -> str:
        """A maintenance window (3 hours, cutoff 1) with one target (``targets``) and an
        AWS-RunPatchBaseline Run Command task on it, run by the service role; disabled after
        creation unless ``enabled``."""
        name = f"{self.prefix}-window"[:128]
        window = self.ssm.create_maintenance_window(
            Name=name, Schedule=schedule, Duration=3, Cutoff=1, AllowUnassociatedTargets=False,
        )["WindowId"]
        target = self.ssm.register_target_with_maintenance_window(
            WindowId=window, ResourceType="INSTANCE", Targets=targets, Name="patched",
        )["WindowTargetId"]
        task = self.ssm.register_task_with_maintenance_window(
            WindowId=window, Targets=[{"Key": "WindowTargetIds", "Values": [target]}],
            TaskArn=RUN_PATCH_BASELINE, TaskType="RUN_COMMAND",
            ServiceRoleArn=self.ids["mw_role_arn"], Priority=1, MaxConcurrency="50%",
            MaxErrors="10%", Name="patch",
            TaskInvocationParameters={"RunCommand": {"Parameters": {"Operation": ["Install"]}}},
        )["WindowTaskId"]
        if not enabled:
            self.ssm.update_maintenance_window(WindowId=window, Enabled=False)
        self.ids.update(window=window, window_name=name, window_target=target, window_task=task)
        return window

    def patch_state(self, baseline: str, group: str = "", days_ago: float = 2) -> None:
        """The agent's last report: an Install that ended ``days_ago`` ago, nothing failed or
        missing."""
        ended = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days_ago)
        self.emu.set_patch_state(self.ids["instance"], self.region, account=ACCOUNT,
                                 operation="Install", end_time=ended, failed=0, missing=0,
                                 installed=57, baseline_id=baseline, patch_group=group)

    def s3_gateway(self, policy_document: dict) -> str:
        """An S3 gateway endpoint routed from the instance subnet's table ``rt``."""
        vpce = self.ec2.create_vpc_endpoint(
            VpcId=self.ids["vpc"], VpcEndpointType="Gateway",
            ServiceName=f"com.amazonaws.{self.region}.s3", RouteTableIds=[self.ids["rt"]],
            PolicyDocument=json.dumps(policy_document),
        )["VpcEndpoint"]["VpcEndpointId"]
        self.ids["vpce_s3"] = vpce
        return vpce


# ------------------------------------------------------------------------------------------------
# Seeds
# ------------------------------------------------------------------------------------------------


def _parameter_role(*statements: dict) -> dict:
    """The instance role of a parameter scenario: the agent's core actions without
    AmazonSSMManagedInstanceCore (it allows ssm:GetParameter and ssm:GetParameters on "*", which
    would grant every parameter), and ``statements``."""
    return {"managed": [], "inline": {"core": CORE_WILDCARD, "app": policy(*statements)}}


def seed_param_healthy(lab: TaskLab) -> None:
    """A SecureString with AWS's default key; the role may read everything under /app."""
    public_shape(lab, role_kwargs=_parameter_role(
        allow(GET_PARAMETER, lab.under(f"{lab.root}/app"))))
    lab.parameter("param", f"{lab.root}/app/db-url")
    # a neighbour far from every misspelling the typo runs ask
    lab.parameter("sibling", f"{lab.root}/app/max-connections", type_="String")


def seed_param_healthy_cmk(lab: TaskLab) -> None:
    """A SecureString with a customer key whose policy delegates to IAM (moto's default policy:
    the account root); the role's IAM allows kms:Decrypt on it."""
    key = lab.kms_key()
    public_shape(lab, role_kwargs=_parameter_role(
        allow(GET_PARAMETER, lab.under(f"{lab.root}/app")), allow("kms:Decrypt", key)))
    lab.parameter("param", f"{lab.root}/app/api-key", key_id=lab.ids["key_alias"])


def seed_param_path_deny(lab: TaskLab) -> None:
    """The role may read only /public/*; the parameter asked is under /secret."""
    public_shape(lab, role_kwargs=_parameter_role(
        allow(GET_PARAMETER, lab.under(f"{lab.root}/public"))))
    lab.parameter("public", f"{lab.root}/public/feature-flags", type_="String")
    lab.parameter("param", f"{lab.root}/secret/token", type_="String")


def seed_param_key_policy_omits_role(lab: TaskLab) -> None:
    """A SecureString with a customer key whose key policy names another application's role (and
    the operator, who may read the key's metadata) but neither the instance role nor the account
    root: the role's own kms:Decrypt grant cannot help."""
    other = lab.other_role()
    operator = f"arn:aws:iam::{ACCOUNT}:user/{DEFAULT_CALLER}"
    key = lab.customer_key(policy(
        {"Sid": "KeyAdministration", "Effect": "Allow", "Principal": {"AWS": other},
         "Action": ["kms:Describe*", "kms:Get*", "kms:List*", "kms:PutKeyPolicy",
                    "kms:EnableKey", "kms:DisableKey"], "Resource": "*"},
        {"Sid": "OtherApplicationDecrypts", "Effect": "Allow", "Principal": {"AWS": other},
         "Action": "kms:Decrypt", "Resource": "*"},
        {"Sid": "OperatorReadsMetadata", "Effect": "Allow", "Principal": {"AWS": operator},
         "Action": ["kms:DescribeKey", "kms:GetKeyPolicy"], "Resource": "*"},
    ))
    public_shape(lab, role_kwargs=_parameter_role(
        allow(GET_PARAMETER, lab.under(f"{lab.root}/app")), allow("kms:Decrypt", key)))
    lab.parameter("param", f"{lab.root}/app/api-key", key_id=lab.ids["key_alias"])


PATCH_ROLE = {"managed": [CORE_MANAGED],
              "inline": {"patch-buckets": policy(allow("s3:GetObject", PATCH_BUCKETS_OBJECTS))}}


def _patching(lab: TaskLab, targets: list[dict], *, enabled: bool = True,
              tag: bool = True) -> None:
    """What patches the lab's instance: its ``Patch Group`` tag (``tag``), a baseline registered
    for the group, the service role, the window with ``targets``, a recent successful Install."""
    group = lab.ids["group"]
    if tag:
        lab.tag_instance("Patch Group", group)
        baseline = lab.baseline(group)
    else:
        baseline = AL2_DEFAULT_BASELINE
    lab.service_role()
    lab.window(targets, enabled=enabled)
    lab.patch_state(baseline, group if tag else "")


def seed_patch_unregistered_group(lab: TaskLab) -> None:
    """The instance's patch group has no baseline registered (a tag spelled otherwise than the
    registration): Systems Manager answers the group with the default baseline."""
    public_shape(lab, role_kwargs=PATCH_ROLE)
    group = lab.ids["group"]
    lab.tag_instance("Patch Group", group)
    lab.service_role()
    lab.window(_by_group(lab))
    lab.patch_state(AWS_DEFAULT_BASELINES["AMAZON_LINUX_2023"], group)


def _by_group(lab: TaskLab) -> list[dict]:
    return [{"Key": "tag:Patch Group", "Values": [lab.ids["group"]]}]


def seed_patch_healthy(lab: TaskLab) -> None:
    public_shape(lab, role_kwargs=PATCH_ROLE)
    _patching(lab, _by_group(lab))


def seed_patch_other_tag(lab: TaskLab) -> None:
    """The window targets another patch group, which the instance is not in."""
    public_shape(lab, role_kwargs=PATCH_ROLE)
    lab.ids["other_group"] = f"{lab.prefix}-other-group"
    _patching(lab, [{"Key": "tag:Patch Group", "Values": [lab.ids["other_group"]]}])


def seed_patch_disabled(lab: TaskLab) -> None:
    public_shape(lab, role_kwargs=PATCH_ROLE)
    _patching(lab, _by_group(lab), enabled=False)


def seed_patch_s3_endpoint(lab: TaskLab) -> None:
    """Private subnet, interface endpoints for the three services, and an S3 gateway endpoint
    whose policy allows s3:GetObject on another bucket only; the role may s3:GetObject
    anything."""
    endpoint_shape(lab, role_kwargs={
        "managed": [CORE_MANAGED],
        "inline": {"any-object": policy(allow("s3:GetObject", "*"))}})
    lab.ids["artifacts"] = f"{lab.prefix}-artifacts"
    lab.s3_gateway(policy({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                           "Resource": f"arn:aws:s3:::{lab.ids['artifacts']}/*"}))
    _patching(lab, _by_group(lab))


def seed_patch_association(lab: TaskLab) -> None:
    """No maintenance window: a State Manager association of AWS-RunPatchBaseline targets the
    instance's patch group, and ran 5 hours ago."""
    public_shape(lab, role_kwargs=PATCH_ROLE)
    group = lab.ids["group"]
    lab.tag_instance("Patch Group", group)
    baseline = lab.baseline(group)
    ran = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=5)
    lab.ids["association"] = lab.emu.add_association(
        lab.region, RUN_PATCH_BASELINE, account=ACCOUNT, schedule="cron(0 3 ? * * *)",
        association_name=f"{lab.prefix}-patching", last_execution=ran,
        targets=[{"Key": "tag:Patch Group", "Values": [group]}],
        parameters={"Operation": ["Install"]})
    lab.patch_state(baseline, group, days_ago=5 / 24)


def seed_patch_default_baseline(lab: TaskLab) -> None:
    """Amazon Linux 2 without a patch group tag (AWS's default baseline applies), targeted by
    its instance id."""
    public_shape(lab, role_kwargs=PATCH_ROLE)
    lab.platform("Amazon Linux", "2")
    lab.ids["default_baseline"] = AL2_DEFAULT_BASELINE
    _patching(lab, [{"Key": "InstanceIds", "Values": [lab.ids["instance"]]}], tag=False)


# ------------------------------------------------------------------------------------------------
# The scenarios
# ------------------------------------------------------------------------------------------------


def _asked(key: str = "param") -> Callable[[dict[str, str]], str]:
    return lambda ids: ids[key]


TASK_SCENARIOS: list[TaskScenario] = [
    TaskScenario("param-healthy", seed_param_healthy, [
        TaskRun("param-healthy", "param", 0, parameter=_asked(),
                messages={"param.exists": ["SecureString"]},
                doc="The instance's role may read the SecureString (default key alias/aws/ssm) "
                "by a path wildcard; the instance reaches ssm over the internet."),
        TaskRun("param-healthy-role", "param", 0, parameter=_asked(), role=True,
                status={"param.path": "skip"},
                doc="The same asked for the role by name: no instance, no path."),
    ]),
    TaskScenario("param-healthy-cmk", seed_param_healthy_cmk, [
        TaskRun("param-healthy-cmk", "param", 0, parameter=_asked(),
                messages={"param.exists": ["SecureString"]},
                doc="A SecureString under a customer key whose policy delegates to IAM; the "
                "role's IAM allows kms:Decrypt on it (the key is read: the denial mode)."),
    ]),
    TaskScenario("param-typo", seed_param_healthy, [
        TaskRun("param-typo", "param", 1, fail=frozenset({"param.exists"}),
                parameter=lambda ids: ids["param"].replace("db-url", "db-ulr"),
                messages={"param.exists": ["{param}"]},
                doc="A typo in the last segment: the right name is suggested."),
        TaskRun("param-no-leading-slash", "param", 1, fail=frozenset({"param.exists"}),
                parameter=lambda ids: ids["param"].lstrip("/"),
                messages={"param.exists": ["{param}"]},
                doc="The name without its leading '/': the full name is suggested."),
        TaskRun("param-case", "param", 1, fail=frozenset({"param.exists"}),
                parameter=lambda ids: ids["param"].replace("db-url", "DB-URL"),
                messages={"param.exists": ["{param}"]},
                doc="Names are case-sensitive: the differently cased name is suggested."),
    ]),
    TaskScenario("param-path-deny", seed_param_path_deny, [
        TaskRun("param-path-deny", "param", 1, parameter=_asked(),
                fail=frozenset({"param.permission"}), status={"param.kms": "skip"},
                messages={"param.permission": ["ssm:GetParameter", "{param_arn}"]},
                doc="The role's only grant is ssm:GetParameter* on /public/*; the String "
                "parameter is under /secret."),
    ]),
    TaskScenario("param-key-policy", seed_param_key_policy_omits_role, [
        TaskRun("param-key-policy", "param", 1, parameter=_asked(),
                fail=frozenset({"param.kms"}),
                messages={"param.kms": ["{key_arn}", "key policy"]},
                doc="The customer key's policy names neither the role nor the account root: "
                "the role's IAM grant of kms:Decrypt does not count."),
    ]),
    TaskScenario("patch-healthy", seed_patch_healthy, [
        TaskRun("patch-healthy", "patch", 0,
                messages={"patch.targeted": ["{window}", "{window_name}"],
                          "patch.baseline": ["{baseline}"]},
                doc="Online Amazon Linux 2023 in patch group <prefix>-group, the group's "
                "baseline, an enabled weekly window targeting the group with an "
                "AWS-RunPatchBaseline task run by a role trusting ssm, installed 2 days ago."),
    ]),
    TaskScenario("patch-other-tag", seed_patch_other_tag, [
        TaskRun("patch-other-tag", "patch", 1, fail=frozenset({"patch.targeted"}),
                messages={"patch.targeted": ["{window}", "{other_group}"]},
                doc="The only patching window targets tag:Patch Group=<other>."),
    ]),
    TaskScenario("patch-disabled-window", seed_patch_disabled, [
        TaskRun("patch-disabled-window", "patch", 1, fail=frozenset({"patch.targeted"}),
                messages={"patch.targeted": ["disabled", "{window}"]},
                doc="The window targeting the instance is disabled."),
    ]),
    TaskScenario("patch-s3-endpoint-policy", seed_patch_s3_endpoint, [
        TaskRun("patch-s3-endpoint-policy", "patch", 1, fail=frozenset({"patch.s3"}),
                messages={"patch.s3": [PATCH_BUCKET, "{vpce_s3}"]},
                doc="S3 through a gateway endpoint whose policy allows another bucket only."),
    ]),
    TaskScenario("patch-association", seed_patch_association, [
        TaskRun("patch-association", "patch", 0,
                status={"patch.window": "skip", "patch.service-role": "skip"},
                doc="Only a State Manager association of AWS-RunPatchBaseline targets the "
                "instance (its patch group): the window checks skip."),
    ]),
    TaskScenario("patch-unregistered-group", seed_patch_unregistered_group, [
        TaskRun("patch-unregistered-group", "patch", 0, status={"patch.baseline": "warn"},
                messages={"patch.baseline": ["{group}", "gets the default baseline"]},
                doc="The instance's patch group has no baseline of its own: Systems Manager "
                "answers it with the default one, which patch.baseline tells apart."),
    ]),
    TaskScenario("patch-default-baseline", seed_patch_default_baseline, [
        TaskRun("patch-default-baseline", "patch", 0,
                messages={"patch.baseline": [
                    "AWS-AmazonLinux2DefaultPatchBaseline|{default_baseline}"]},
                doc="Amazon Linux 2 without a patch group: AWS's default baseline; the window "
                "targets the instance id."),
    ]),
]

DENIAL_MODES = [
    DenialMode("param", "param-healthy-cmk",
               ("ssm:DescribeParameters", "kms:DescribeKey", "kms:GetKeyPolicy"),
               every_asked=True),
    DenialMode("patch", "patch-healthy",
               ("ssm:DescribeMaintenanceWindows", "ssm:DescribeMaintenanceWindowTargets",
                "ssm:DescribeMaintenanceWindowTasks", "ssm:GetPatchBaselineForPatchGroup",
                "ssm:GetPatchBaseline", "ssm:DescribeInstancePatchStates"),
               every_asked=True,
               no_effect=(("ssm:ListAssociations",
                           "an enabled window already targets the instance: patch.targeted "
                           "passes on it whatever the associations are (patch-association "
                           "denies it where an association is what targets the instance)"),)),
    DenialMode("patch-association", "patch-association", ("ssm:ListAssociations",),
               every_asked=False),
    DenialMode("patch-default", "patch-default-baseline",
               ("ssm:GetDefaultPatchBaseline", "ssm:GetPatchBaseline"), every_asked=False),
]


def task_runs() -> list[tuple[TaskScenario, TaskRun]]:
    return [(s, r) for s in TASK_SCENARIOS for r in s.runs]
