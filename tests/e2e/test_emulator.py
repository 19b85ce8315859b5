"""The emulator's own additions, through boto3 alone (no binary needed): the SSM extension answers
in AWS's documented shapes, IAM documents come back URL-encoded, faults and the request log work.

Runs in ap-southeast-2, a region no scenario uses, so nothing here changes a scenario's world."""

from __future__ import annotations

import datetime as dt
import json
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
