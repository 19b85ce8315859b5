"""The emulator's own additions, through boto3 alone (no binary needed): the SSM, Patch Manager and
KMS extensions answer in AWS's documented shapes, IAM documents come back URL-encoded, faults and
the request log work.

Runs in ap-southeast-2, a region no scenario uses, so nothing here changes a scenario's world."""

from __future__ import annotations

import datetime as dt
import json
import re
import urllib.request

import botocore.exceptions
import pytest

REGION = "ap-southeast-2"
DHMC = "/ssm/managed-instance/default-ec2-instance-management-role"


@pytest.fixture(scope="module")
def world(emulator):
    ec2 = emulator.client("ec2", REGION)
    vpc = ec2.create_vpc(CidrBlock="10.250.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.250.1.0/24")["Subnet"]["SubnetId"]
    running, stopped = (
        ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SubnetId=subnet,
                          TagSpecifications=[{"ResourceType": "instance",
                                              "Tags": [{"Key": "Team", "Value": t}]}],
                          )["Instances"][0]["InstanceId"]
        for t in ("blue", "red")
    )
    ec2.stop_instances(InstanceIds=[stopped])
    for iid in (running, stopped):
        emulator.register_agent(iid, region=REGION)
    others = [f"mi-{k:017x}" for k in range(23)]
    for k, iid in enumerate(others):
        emulator.register_agent(iid, region=REGION, agent_version="3.2.582.0",
                                ping_status="ConnectionLost" if k % 2 else "Online",
                                last_ping=1_700_000_000.5)
    return {"ec2": ec2, "ssm": emulator.client("ssm", REGION), "running": running,
            "stopped": stopped, "others": others}


def test_describe_instance_information_by_id(world):
    info = world["ssm"].describe_instance_information(
        Filters=[{"Key": "InstanceIds", "Values": [world["running"]]}]
    )["InstanceInformationList"]
    assert len(info) == 1
    item = info[0]
    assert item["InstanceId"] == world["running"]
    assert item["PingStatus"] == "Online"
    assert item["ResourceType"] == "EC2Instance"
    assert item["SourceType"] == "AWS::EC2::Instance"
    assert item["IPAddress"].startswith("10.250.1.")
    assert isinstance(item["LastPingDateTime"], dt.datetime)
    # the legacy filter list gives the same answer
    legacy = world["ssm"].describe_instance_information(
        InstanceInformationFilterList=[{"key": "InstanceIds", "valueSet": [world["running"]]}]
    )["InstanceInformationList"]
    assert [i["InstanceId"] for i in legacy] == [world["running"]]


def test_stopped_instances_are_not_listed(world):
    info = world["ssm"].describe_instance_information(
        Filters=[{"Key": "InstanceIds", "Values": [world["stopped"]]}]
    )["InstanceInformationList"]
    assert info == []
    status = world["ssm"].get_connection_status(Target=world["stopped"])
    assert status["Status"] == "notconnected"
    assert world["ssm"].get_connection_status(Target=world["running"])["Status"] == "connected"


def test_unmanaged_well_formed_id_matches_nothing_malformed_is_an_error(world):
    ssm = world["ssm"]
    assert ssm.describe_instance_information(
        Filters=[{"Key": "InstanceIds", "Values": ["i-0123456789abcdef0"]}]
    )["InstanceInformationList"] == []
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ssm.describe_instance_information(Filters=[{"Key": "InstanceIds", "Values": ["web-1"]}])
    assert e.value.response["Error"]["Code"] == "InvalidInstanceId"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ssm.describe_instance_information(Filters=[{"Key": "Colour", "Values": ["x"]}])
    assert e.value.response["Error"]["Code"] == "InvalidFilterKey"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ssm.describe_instance_information(
            Filters=[{"Key": "ResourceType", "Values": ["EC2Instance", "ManagedInstance"]}]
        )
    assert e.value.response["Error"]["Code"] == "InvalidInstanceInformationFilterValue"


def test_pagination_default_page_of_ten(world):
    ssm = world["ssm"]
    first = ssm.describe_instance_information()
    assert len(first["InstanceInformationList"]) == 10 and "NextToken" in first
    seen = [i["InstanceId"] for i in first["InstanceInformationList"]]
    token = first["NextToken"]
    while token:
        page = ssm.describe_instance_information(NextToken=token, MaxResults=5)
        assert len(page["InstanceInformationList"]) <= 5
        seen += [i["InstanceId"] for i in page["InstanceInformationList"]]
        token = page.get("NextToken")
    assert sorted(seen) == sorted(world["others"] + [world["running"]])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ssm.describe_instance_information(NextToken="not-a-token")
    assert e.value.response["Error"]["Code"] == "InvalidNextToken"


def test_filters_on_ping_status_and_tags(world):
    ssm = world["ssm"]
    lost = ssm.get_paginator("describe_instance_information").paginate(
        Filters=[{"Key": "PingStatus", "Values": ["ConnectionLost"]}]
    )
    ids = [i["InstanceId"] for page in lost for i in page["InstanceInformationList"]]
    assert len(ids) == 11 and all(i.startswith("mi-") for i in ids)
    blue = ssm.describe_instance_information(Filters=[{"Key": "tag:Team", "Values": ["blue"]}])
    assert [i["InstanceId"] for i in blue["InstanceInformationList"]] == [world["running"]]


def test_service_setting_default_then_customized(emulator):
    ssm = emulator.client("ssm", REGION)
    setting = ssm.get_service_setting(SettingId=DHMC)["ServiceSetting"]
    assert setting["SettingValue"] == "$None" and setting["Status"] == "Default"
    assert setting["ARN"] == f"arn:aws:ssm:{REGION}:123456789012:servicesetting{DHMC}"
    ssm.update_service_setting(SettingId=setting["ARN"], SettingValue="MyDhmcRole")
    setting = ssm.get_service_setting(SettingId=DHMC)["ServiceSetting"]
    assert setting["SettingValue"] == "MyDhmcRole" and setting["Status"] == "Customized"
    reset = ssm.reset_service_setting(SettingId=DHMC)["ServiceSetting"]
    assert reset["SettingValue"] == "$None" and reset["Status"] == "Default"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ssm.get_service_setting(SettingId="/ssm/no/such/setting")
    assert e.value.response["Error"]["Code"] == "ServiceSettingNotFound"


def test_iam_documents_are_url_encoded(emulator):
    iam = emulator.client("iam", REGION)
    raw: list[str] = []
    iam.meta.events.register("after-call.iam.GetPolicyVersion",
                             lambda http_response, **_: raw.append(http_response.text))
    iam.get_policy_version(PolicyArn="arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
                           VersionId="v2")
    assert "<Document>%7B%22" in raw[0]


def test_faults_are_per_access_key_and_logged(emulator):
    emulator.set_fault("ec2:DescribeVpcs", access_key="AKIAE2EFAULTTEST0001", status=503)
    faulty = emulator.client("ec2", REGION, access_key="AKIAE2EFAULTTEST0001")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        faulty.describe_vpcs()
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    emulator.client("ec2", REGION).describe_vpcs()  # everyone else is served
    entries = emulator.requests(access_key="AKIAE2EFAULTTEST0001")
    assert [(r["action"], r["status"], r["client"]) for r in entries] == [
        ("ec2:DescribeVpcs", 503, "seeder")
    ]


def test_control_api_over_http(emulator, world):
    body = json.dumps({"instance_id": "mi-0000000000000beef", "region": REGION,
                       "ping_status": "ConnectionLost", "agent_version": "2.3.50.0"}).encode()
    req = urllib.request.Request(f"{emulator.url}/_ssm_doctor/agent", data=body, method="POST")
    with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310 - loopback
        assert json.loads(resp.read()) == {"registered": "mi-0000000000000beef"}
    info = world["ssm"].describe_instance_information(
        Filters=[{"Key": "InstanceIds", "Values": ["mi-0000000000000beef"]}]
    )["InstanceInformationList"]
    assert info[0]["AgentVersion"] == "2.3.50.0" and info[0]["PingStatus"] == "ConnectionLost"
    emulator.deregister_agent("mi-0000000000000beef", region=REGION)


# ------------------------------------------------------------------------------------------------
# Patch Manager and State Manager (patch_extension.py)
# ------------------------------------------------------------------------------------------------


def test_platform_name_and_version_are_answered(emulator):
    ssm = emulator.client("ssm", REGION)
    emulator.register_agent("mi-00000000000000a12", region=REGION, platform_name="Ubuntu",
                            platform_version="22.04")
    try:
        (item,) = ssm.describe_instance_information(
            Filters=[{"Key": "InstanceIds", "Values": ["mi-00000000000000a12"]}]
        )["InstanceInformationList"]
        assert (item["PlatformType"], item["PlatformName"], item["PlatformVersion"]) == (
            "Linux", "Ubuntu", "22.04")
    finally:
        emulator.deregister_agent("mi-00000000000000a12", region=REGION)


def test_default_patch_baselines_are_aws_own(emulator):
    ssm = emulator.client("ssm", REGION)
    names = {}
    for os_name in ("AMAZON_LINUX_2", "AMAZON_LINUX_2023", "UBUNTU", "WINDOWS",
                    "REDHAT_ENTERPRISE_LINUX"):
        default = ssm.get_default_patch_baseline(OperatingSystem=os_name)
        assert default["OperatingSystem"] == os_name
        assert re.match(rf"^arn:aws:ssm:{REGION}:\d{{12}}:patchbaseline/pb-[0-9a-f]{{17}}$",
                        default["BaselineId"]), default
        baseline = ssm.get_patch_baseline(BaselineId=default["BaselineId"])
        assert baseline["OperatingSystem"] == os_name
        assert baseline["ApprovalRules"]["PatchRules"], baseline
        names[os_name] = baseline["Name"]
        # the bare pb- id names the same baseline
        bare = ssm.get_patch_baseline(BaselineId=default["BaselineId"].rsplit("/", 1)[-1])
        assert bare["Name"] == baseline["Name"]
    assert names == {
        "AMAZON_LINUX_2": "AWS-AmazonLinux2DefaultPatchBaseline",
        "AMAZON_LINUX_2023": "AWS-AmazonLinux2023DefaultPatchBaseline",
        "UBUNTU": "AWS-UbuntuDefaultPatchBaseline",
        "WINDOWS": "AWS-DefaultPatchBaseline",
        "REDHAT_ENTERPRISE_LINUX": "AWS-RedHatDefaultPatchBaseline",
    }
    # without OperatingSystem, Windows' (as documented)
    assert ssm.get_default_patch_baseline()["OperatingSystem"] == "WINDOWS"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ssm.get_patch_baseline(BaselineId="pb-0123456789abcdef0")
    assert e.value.response["Error"]["Code"] == "DoesNotExistException"


def test_own_baseline_for_a_patch_group_and_as_default(emulator):
    ssm = emulator.client("ssm", REGION)
    rules = {"PatchRules": [{"PatchFilterGroup": {"PatchFilters": [
        {"Key": "CLASSIFICATION", "Values": ["Security"]}]}, "ApproveAfterDays": 3}]}
    own = ssm.create_patch_baseline(Name="e2e-emulator-al2023", OperatingSystem="AMAZON_LINUX_2023",
                                    ApprovalRules=rules, ApprovedPatches=["kernel"],
                                    Description="emulator test")["BaselineId"]
    ssm.register_patch_baseline_for_patch_group(BaselineId=own, PatchGroup="e2e-emulator-web")
    found = ssm.get_patch_baseline_for_patch_group(PatchGroup="e2e-emulator-web",
                                                   OperatingSystem="AMAZON_LINUX_2023")
    assert found["BaselineId"] == own
    # another OS of the same group, or a group nobody registered: AWS's default for the OS
    default_al2 = ssm.get_default_patch_baseline(OperatingSystem="AMAZON_LINUX_2")["BaselineId"]
    for group in ("e2e-emulator-web", "e2e-emulator-nobody"):
        assert ssm.get_patch_baseline_for_patch_group(
            PatchGroup=group, OperatingSystem="AMAZON_LINUX_2")["BaselineId"] == default_al2
    # OperatingSystem omitted: WINDOWS (moto fails with a 500 there)
    assert ssm.get_patch_baseline_for_patch_group(
        PatchGroup="e2e-emulator-web")["OperatingSystem"] == "WINDOWS"
    baseline = ssm.get_patch_baseline(BaselineId=own)
    assert baseline["Name"] == "e2e-emulator-al2023"
    assert baseline["OperatingSystem"] == "AMAZON_LINUX_2023"
    assert baseline["ApprovalRules"]["PatchRules"][0]["ApproveAfterDays"] == 3
    assert baseline["ApprovedPatches"] == ["kernel"]
    assert baseline["PatchGroups"] == ["e2e-emulator-web"]
    before = ssm.get_default_patch_baseline(OperatingSystem="AMAZON_LINUX_2023")["BaselineId"]
    ssm.register_default_patch_baseline(BaselineId=own)
    try:
        assert ssm.get_default_patch_baseline(
            OperatingSystem="AMAZON_LINUX_2023")["BaselineId"] == own
    finally:
        ssm.register_default_patch_baseline(BaselineId=before)
    assert ssm.get_default_patch_baseline(
        OperatingSystem="AMAZON_LINUX_2023")["BaselineId"] == before


def _window(ssm, name: str, schedule: str, **extra) -> str:
    return ssm.create_maintenance_window(Name=name, Schedule=schedule, Duration=3, Cutoff=1,
                                         AllowUnassociatedTargets=False, **extra)["WindowId"]


def _parse_next(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_maintenance_windows_next_execution_and_enabled(emulator):
    ssm = emulator.client("ssm", REGION)
    now = dt.datetime.now(dt.timezone.utc)
    past = (now - dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S")
    ahead = (now + dt.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%S")
    ids = {
        "rate": _window(ssm, "e2e-emulator-rate", "rate(2 hours)"),
        "cron": _window(ssm, "e2e-emulator-cron", "cron(0 2 ? * SUN *)"),
        "at-past": _window(ssm, "e2e-emulator-at-past", f"at({past})"),
        "at-ahead": _window(ssm, "e2e-emulator-at-ahead", f"at({ahead})"),
        "ended": _window(ssm, "e2e-emulator-ended", "cron(0 2 ? * SUN *)",
                         EndDate=(now - dt.timedelta(days=1)).isoformat()),
        "disabled": _window(ssm, "e2e-emulator-disabled", "rate(1 day)"),
    }
    updated = ssm.update_maintenance_window(WindowId=ids["disabled"], Enabled=False)
    assert updated["Enabled"] is False and updated["WindowId"] == ids["disabled"]
    listed = {w["WindowId"]: w for page in ssm.get_paginator("describe_maintenance_windows")
              .paginate(PaginationConfig={"PageSize": 10}) for w in page["WindowIdentities"]}
    windows = {k: listed[v] for k, v in ids.items()}
    assert windows["disabled"]["Enabled"] is False
    assert all(w["Enabled"] for k, w in windows.items() if k != "disabled")
    nxt = {k: w.get("NextExecutionTime") for k, w in windows.items()}
    assert nxt["at-past"] is None and nxt["ended"] is None and nxt["disabled"] is None, nxt
    rate = _parse_next(nxt["rate"]) - now
    assert dt.timedelta(hours=1, minutes=59) < rate < dt.timedelta(hours=2, minutes=5), nxt
    cron = _parse_next(nxt["cron"]) - now
    assert dt.timedelta(hours=23) < cron < dt.timedelta(days=1, minutes=5), nxt
    assert _parse_next(nxt["at-ahead"]).strftime("%Y-%m-%dT%H:%M") == ahead[:16], nxt
    # GetMaintenanceWindow agrees; the Enabled filter
    assert ssm.get_maintenance_window(WindowId=ids["disabled"])["Enabled"] is False
    assert "NextExecutionTime" in ssm.get_maintenance_window(WindowId=ids["rate"])
    disabled = ssm.describe_maintenance_windows(
        Filters=[{"Key": "Enabled", "Values": ["false"]}])["WindowIdentities"]
    assert ids["disabled"] in [w["WindowId"] for w in disabled]
    assert ids["rate"] not in [w["WindowId"] for w in disabled]
    # enabled again: it runs again
    ssm.update_maintenance_window(WindowId=ids["disabled"], Enabled=True)
    assert "NextExecutionTime" in ssm.get_maintenance_window(WindowId=ids["disabled"])
    for window_id in ids.values():
        ssm.delete_maintenance_window(WindowId=window_id)


def test_maintenance_window_tasks_have_a_type_and_filter(emulator):
    ssm = emulator.client("ssm", REGION)
    window = _window(ssm, "e2e-emulator-tasks", "rate(1 day)")
    target = ssm.register_target_with_maintenance_window(
        WindowId=window, ResourceType="INSTANCE",
        Targets=[{"Key": "tag:Patch Group", "Values": ["e2e-emulator-web"]}])["WindowTargetId"]
    patch = ssm.register_task_with_maintenance_window(
        WindowId=window, Targets=[{"Key": "WindowTargetIds", "Values": [target]}],
        TaskArn="AWS-RunPatchBaseline", TaskType="RUN_COMMAND", MaxConcurrency="1",
        MaxErrors="1", ServiceRoleArn="arn:aws:iam::123456789012:role/e2e-emulator-mw",
        TaskInvocationParameters={"RunCommand": {"Parameters": {"Operation": ["Install"]}}},
    )["WindowTaskId"]
    ssm.register_task_with_maintenance_window(
        WindowId=window, Targets=[{"Key": "WindowTargetIds", "Values": [target]}],
        TaskArn="AWS-RunShellScript", TaskType="RUN_COMMAND", MaxConcurrency="1", MaxErrors="1")
    tasks = ssm.describe_maintenance_window_tasks(WindowId=window)["Tasks"]
    assert {t["TaskArn"] for t in tasks} == {"AWS-RunPatchBaseline", "AWS-RunShellScript"}
    assert all(t["Type"] == "RUN_COMMAND" for t in tasks), tasks
    only = ssm.describe_maintenance_window_tasks(
        WindowId=window, Filters=[{"Key": "TaskArn", "Values": ["AWS-RunPatchBaseline"]}])["Tasks"]
    assert [t["WindowTaskId"] for t in only] == [patch]
    assert only[0]["ServiceRoleArn"].endswith(":role/e2e-emulator-mw")
    assert only[0]["Targets"] == [{"Key": "WindowTargetIds", "Values": [target]}]
    targets = ssm.describe_maintenance_window_targets(
        WindowId=window, Filters=[{"Key": "WindowTargetId", "Values": [target]}])["Targets"]
    assert [t["Targets"] for t in targets] == [
        [{"Key": "tag:Patch Group", "Values": ["e2e-emulator-web"]}]]
    ssm.delete_maintenance_window(WindowId=window)


def test_instance_patch_states(emulator):
    ssm = emulator.client("ssm", REGION)
    ended = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=3)
    emulator.set_patch_state("i-00000000000e2e001", REGION, operation="Scan", end_time=ended,
                             missing=4, failed=1, installed=17, baseline_id="pb-0123456789abcdef0",
                             patch_group="e2e-emulator-web")
    states = ssm.describe_instance_patch_states(
        InstanceIds=["i-00000000000e2e001", "i-00000000000e2e002"])["InstancePatchStates"]
    assert len(states) == 1, states  # an instance without a state is left out
    (state,) = states
    assert state["InstanceId"] == "i-00000000000e2e001"
    assert (state["Operation"], state["MissingCount"], state["FailedCount"],
            state["InstalledCount"]) == ("Scan", 4, 1, 17)
    assert state["PatchGroup"] == "e2e-emulator-web"
    assert state["BaselineId"] == "pb-0123456789abcdef0"
    assert abs((state["OperationEndTime"] - ended).total_seconds()) < 1
    assert state["OperationStartTime"] < state["OperationEndTime"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ssm.describe_instance_patch_states(InstanceIds=["i-00000000000e2e001"], MaxResults=500)
    assert e.value.response["Error"]["Code"] == "ValidationException"


def test_associations(emulator):
    ssm = emulator.client("ssm", REGION)
    ran = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=5)
    seeded = emulator.add_association(
        REGION, "AWS-RunPatchBaseline", schedule="cron(0 3 ? * * *)", last_execution=ran,
        targets=[{"Key": "tag:Patch Group", "Values": ["e2e-emulator-assoc"]}])
    created = ssm.create_association(
        Name="AWS-GatherSoftwareInventory", ScheduleExpression="rate(1 day)",
        Targets=[{"Key": "InstanceIds", "Values": ["i-00000000000e2e003"]}],
    )["AssociationDescription"]
    patching = ssm.list_associations(
        AssociationFilterList=[{"key": "Name", "value": "AWS-RunPatchBaseline"}])["Associations"]
    (mine,) = [a for a in patching if a["AssociationId"] == seeded]
    assert mine["Targets"] == [{"Key": "tag:Patch Group", "Values": ["e2e-emulator-assoc"]}]
    assert mine["ScheduleExpression"] == "cron(0 3 ? * * *)"
    assert abs((mine["LastExecutionDate"] - ran).total_seconds()) < 1
    assert all(a["Name"] == "AWS-RunPatchBaseline" for a in patching)
    by_instance = ssm.list_associations(
        AssociationFilterList=[{"key": "InstanceId", "value": "i-00000000000e2e003"}]
    )["Associations"]
    assert [a["AssociationId"] for a in by_instance] == [created["AssociationId"]]
    assert "LastExecutionDate" not in by_instance[0]  # never ran


def test_patch_reads_are_refused_in_ssm_json_under_iam_enforcement(emulator):
    """A Deny of one Patch Manager read refuses it with AWS's JSON AccessDeniedException; the
    caller's other reads are answered; the request log names each operation."""
    iam = emulator.client("iam")
    user = "e2e-emulator-patch-reader"
    iam.create_user(UserName=user)
    denied = ["ssm:DescribeInstancePatchStates", "ssm:GetPatchBaseline", "ssm:ListAssociations",
              "ssm:GetDefaultPatchBaseline", "ssm:DescribeMaintenanceWindows"]
    iam.put_user_policy(UserName=user, PolicyName="reads", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "ssm:*", "Resource": "*"},
            {"Effect": "Deny", "Action": denied, "Resource": "*"}]}))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    ssm = emulator.client("ssm", REGION, access_key=key["AccessKeyId"],
                          secret_key=key["SecretAccessKey"])
    calls = {
        "ssm:DescribeInstancePatchStates":
            lambda: ssm.describe_instance_patch_states(InstanceIds=["i-00000000000e2e001"]),
        "ssm:GetPatchBaseline": lambda: ssm.get_patch_baseline(BaselineId="pb-0123456789abcdef0"),
        "ssm:ListAssociations": lambda: ssm.list_associations(),
        "ssm:GetDefaultPatchBaseline": lambda: ssm.get_default_patch_baseline(),
        "ssm:DescribeMaintenanceWindows": lambda: ssm.describe_maintenance_windows(),
    }
    errors = {}
    emulator.wait_idle()
    emulator.enable_iam_auth()
    try:
        for action, call in calls.items():
            with pytest.raises(botocore.exceptions.ClientError) as e:
                call()
            errors[action] = (e.value.response["ResponseMetadata"]["HTTPStatusCode"],
                              e.value.response["Error"]["Code"],
                              e.value.response["Error"].get("Message", ""))
        allowed = ssm.get_patch_baseline_for_patch_group(PatchGroup="e2e-emulator-web",
                                                         OperatingSystem="AMAZON_LINUX_2023")
    finally:
        emulator.disable_iam_auth()
    for action, (status, code, message) in errors.items():
        assert (status, code) == (403, "AccessDeniedException"), (action, status, code, message)
        assert action in message, (action, message)
    assert allowed["PatchGroup"] == "e2e-emulator-web"
    log = [(r["action"], r["status"]) for r in emulator.requests(access_key=key["AccessKeyId"])]
    assert log == [(a, 403) for a in calls] + [("ssm:GetPatchBaselineForPatchGroup", 200)], log


def test_next_execution_time_rules():
    from patch_extension import next_execution_time

    now = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.timezone.utc)
    assert next_execution_time("rate(30 minutes)", now=now) == "2026-03-01T12:30:00.000Z"
    assert next_execution_time("rate(1 day)", now=now) == "2026-03-02T12:00:00.000Z"
    assert next_execution_time("cron(0 2 ? * SUN *)", now=now) == "2026-03-02T12:00Z"
    assert next_execution_time("at(2026-03-05T04:00:00)", now=now) == "2026-03-05T04:00Z"
    assert next_execution_time("at(2026-02-05T04:00:00)", now=now) is None
    assert next_execution_time("rate(1 day)", enabled=False, now=now) is None
    assert next_execution_time("rate(1 day)", end_date="2026-03-01T18:00:00Z", now=now) is None
    assert next_execution_time("rate(1 hour)", start_date="2026-04-01T00:00:00Z",
                               now=now) == "2026-04-01T00:00:00.000Z"


def test_aws_managed_ssm_key_and_parameter_arns(emulator):
    """alias/aws/ssm is an AWS managed key (moto makes it a customer key with the root policy);
    DescribeParameters names each parameter's ARN (moto leaves it out)."""
    kms = emulator.client("kms", REGION)
    meta = kms.describe_key(KeyId="alias/aws/ssm")["KeyMetadata"]
    assert meta["KeyManager"] == "AWS", meta
    key_policy = json.loads(kms.get_key_policy(KeyId=meta["KeyId"], PolicyName="default")["Policy"])
    via = [s["Condition"]["StringEquals"]["kms:ViaService"] for s in key_policy["Statement"]
           if "Condition" in s]
    assert via == [f"ssm.{REGION}.amazonaws.com"], key_policy
    assert kms.describe_key(KeyId=kms.create_key()["KeyMetadata"]["KeyId"])[
        "KeyMetadata"]["KeyManager"] == "CUSTOMER"
    ssm = emulator.client("ssm", REGION)
    ssm.put_parameter(Name="/e2e-emulator/app/db-url", Value="x", Type="SecureString")
    (param,) = ssm.describe_parameters(ParameterFilters=[
        {"Key": "Name", "Option": "Equals", "Values": ["/e2e-emulator/app/db-url"]}])["Parameters"]
    assert param["ARN"] == f"arn:aws:ssm:{REGION}:123456789012:parameter/e2e-emulator/app/db-url"
    assert param["KeyId"] == "alias/aws/ssm" and param["Type"] == "SecureString"
