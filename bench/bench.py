"""The ssm-doctor performance benchmark (run it with ``bench/run``; see docs/performance.md).

1. **The world.** Starts the end-to-end suite's emulator (moto + the SSM extension,
   tests/e2e/emulator.py) in this process and seeds fleets into us-east-1, each tagged
   ``bench-fleet=<size>`` and modelled on an estate built with Terraform or CloudFormation:

   ======== ===== ======================
   fleet    VPCs  instance profiles/roles
   ======== ===== ======================
   1        1     1
   100      2     8
   1,000    10    8
   10,000   100   8
   ======== ===== ======================

   VPCs alternate between a NAT shape (public subnet, internet gateway, NAT gateway, three private
   subnets routed to it) and an endpoint shape (three private subnets, no default route, interface
   endpoints for ssm/ssmmessages/ec2messages with private DNS and a 443 security group).  Each fleet
   has its own roles (``bench<size>-<app>-…``), of these kinds (the first ``min(8, size)``):

   ========= ================================== ==========================================
   app       profile / role                     policies
   ========= ================================== ==========================================
   api       ``…-api-profile`` / ``…-api-role`` AmazonSSMManagedInstanceCore + inline
   web       ``…-profile`` / ``…-role``         AmazonSSMManagedInstanceCore
   worker    ``…-profile`` / ``…-role``         inline only (Core's ssm/ssmmessages/ec2messages)
   batch     ``…-profile`` / ``…-role``         customer-managed only (Core's actions)
   bastion   same name (console style)          Core + customer-managed (CloudWatch agent)
   etl       ``…-profile`` / ``…-role``         Core + inline
   cache     same name (console style)          Core
   search    ``…-profile`` / ``…-role``         Core + customer-managed (CloudWatch agent)
   ========= ================================== ==========================================

   So the single instance's profile ``bench1-api-profile`` holds the role ``bench1-api-role`` with
   Core and an inline policy: profile and role names differ.  In every VPC the instances are split
   over the roles (one group per role, the groups over the three private subnets).  Every instance
   is its own reservation, as Terraform's ``count`` and Auto Scaling launch them (moto pages
   DescribeInstances by reservation; batched reservations would give pages far larger than
   MaxResults instances, which AWS does not), with IMDSv2 required.  Agents: Online for 18 instances
   in 20, ConnectionLost for 1 in 20, none for 1 in 20 (the single instance: Online).  The caller
   of every run is moto's default one, the IAM user ``moto``: it is seeded with AWS's sample
   Session Manager user policy (customer-managed), so that IAM answers for it as an account would
   (``--no-operator-user`` leaves it out: the caller's IAM reads then fail).

   Seeding: VPCs, IAM and the first instance of each fleet through boto3; the other instances
   straight through moto's EC2 backend, with the same arguments moto's RunInstances handler gave
   that first launch (captured), then the instance profile associated as RunInstances does (a
   batched RunInstances in moto 5.2.5 gives the profile to the first instance only).  Three
   lookups moto makes per launch by scanning everything (the image, the instance, the volume) are
   answered from a dictionary while seeding only.

2. **Latency models** (``--models``, comma-separated, the first one also used for the live runs):
   ``flat<ms>`` waits <ms> before every request (``flat50``: 50 ms); ``iam<ms>`` waits <ms> for IAM
   (global, answered from us-east-1: far away for an operator in Tokyo) and 20 ms for every other
   (regional) service; ``iam<ms>-<ms2>`` sets the other services' delay to <ms2>.  The proxy tells
   IAM by the SigV4 credential scope (``…/iam/aws4_request``), else the Host header.

3. **Modes**, one latency-injecting proxy each (bench/proxy.py, its own process): ``live``
   (answers from moto, recorded; the first model's latencies), ``replay-<model>`` for each model
   (answers from the recording, so the emulator's own time drops out), ``replay-0ms`` (the
   recording, no delay).  Per size and binary, the live runs come first (they record), then each
   replay mode; each mode starts with an uncounted warm-up run (the live mode only up to
   ``--live-warmup-max`` instances: above that, a live run takes minutes).

4. **Binaries.** ``SSM_DOCTOR_BIN`` ("after") and, with ``--baseline BIN`` or
   ``SSM_DOCTOR_BASELINE``, a second binary ("before") run through the same world, sizes and modes.
   Each binary has its own live (recording) runs; the recording is shared, so a request the
   other binary also makes is answered from whichever recorded it last (same world, same answer),
   and a request the recording lacks is answered by moto and counted as "not from recording".
   Runs: size 1 as ``ssm-doctor <id>``, fleets as ``ssm-doctor --tag bench-fleet=N`` (exactly the
   seeded set), always ``--output json`` and ``--region us-east-1``; every run with ``--deadline
   3600`` and live runs with ``--timeout 600`` (when the binary has them; the tool's defaults are
   60 and 20 s) so that moto's slow pages (seconds per 1,000-instance DescribeInstances page, more
   when busy) do not cut them short.  Each run signs with its own dummy access key, so that the
   proxy log can be split per run.  A run that takes longer than ``--progress-every`` seconds
   prints a progress line to stderr that often.

5. **Figures**, per size, model and binary (medians of the counted runs): API calls (proxy log,
   cross-checked with the tool's ``stats.api_calls``; ``stats.retries`` when the tool reports it),
   the longest chain of sequential calls (chain(r) = 1 + the longest chain among requests that had
   ended before r started), wall time, peak RSS and CPU time (GNU time's %M, %U + %S), and in live
   runs the emulator's share (time with at least one request at moto); then the start time of
   ``ssm-doctor --help``.  Each figure with a target is compared to it (PASS/MISS): one instance
   ≤ 4 sequential round trips and ≤ 25 calls; 1,000 instances in 10 VPCs with 8 roles ≤ 110 calls,
   ≤ 3 s wall at flat 50 ms and ≤ 60 MB peak memory; 10,000 in 100 VPCs ≤ 400 calls and ≤ 150 MB;
   ``--help`` ≤ 20 ms (MB = 10^6 bytes).

``--seed-only`` seeds the chosen sizes, prints how long each took, and stops.

In-process adjustments of the emulator, none of which changes an answer (see below): TCP_NODELAY on
its sockets; an index of instances by id for ssm_extension's and moto's instance lookups; each EC2
resource's tags read from its own entry (moto matches every tag of the region each time: for the
10,000-instance world, minutes per DescribeInstances page).

Outputs land in bench/out/: results.json, results.md (the tables), proxy logs, the tool's outputs
(a report over 32 MB is kept for the first run of each binary and size only).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import datetime as dt
import json
import os
import platform
import re
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import unquote

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

import emulator as e2e_emulator  # noqa: E402  (sets moto's environment before moto loads)
from emulator import Emulator  # noqa: E402
import endpoint_stubs  # noqa: E402


def _nodelay_setup(self) -> None:  # noqa: ANN001
    """The emulator's werkzeug handler writes a response's headers and body in two writes; with
    Nagle on, the body can wait for the proxy's delayed ACK. Turned off here (in this process only;
    tests/e2e is not changed) so that the emulator's share is its own work."""
    _original_setup(self)
    self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


_original_setup = e2e_emulator._QuietHandler.setup
e2e_emulator._QuietHandler.setup = _nodelay_setup

import ssm_extension  # noqa: E402  (the module the emulator installed)

from moto.ec2.models.core import TaggedEC2Resource  # noqa: E402
from moto.ec2.models.instances import InstanceBackend  # noqa: E402
from moto.ec2.utils import EC2_PREFIX_TO_RESOURCE, get_prefix  # noqa: E402

_instance_index: dict[int, tuple[int, dict[str, Any]]] = {}


def instances_by_id(backend: Any) -> dict[str, Any]:
    """The region's instances by id, rebuilt whenever the number of reservations changes (a
    reservation's instances are fixed when it is made); the first of an id, as moto's scan finds."""
    count = len(backend.reservations)
    cached = _instance_index.get(id(backend))
    if cached is None or cached[0] != count:
        index: dict[str, Any] = {}
        for r in list(backend.reservations.values()):
            for i in r.instances:
                index.setdefault(i.id, i)
        cached = _instance_index[id(backend)] = (count, index)
    return cached[1]


def _indexed_ec2_instance(account: str, region: str, instance_id: str) -> Any:
    """ssm_extension looks each managed node's instance up with moto's get_instance_by_id, a scan
    of every reservation: for 1,000 nodes that is a million steps per DescribeInstanceInformation
    call, an emulator cost no AWS region has.  Same answers from the index (in this process only;
    tests/e2e is not changed)."""
    from moto.ec2.models import ec2_backends

    try:
        backend = ec2_backends[account][region]
    except Exception:  # noqa: BLE001 - an account/region moto has not seen, as the original
        return None
    return instances_by_id(backend).get(instance_id)


_original_get_instance = InstanceBackend.get_instance


def _indexed_get_instance(self: Any, instance_id: str) -> Any:
    """moto's get_instance (GetConsoleOutput, and every launch while seeding) copies every
    reservation to find one instance: the same instance from the index, an unknown id still
    moto's error."""
    found = instances_by_id(self).get(instance_id)
    return found if found is not None else _original_get_instance(self, instance_id)


_original_get_tags = TaggedEC2Resource.get_tags


def _own_tags(self: Any) -> list[dict[str, str]]:
    """moto finds an EC2 resource's tags by matching a regular expression of its id against every
    tag in the region: every instance of a DescribeInstances answer, and every instance a tag
    filter looks at, costs a pass over all ~22,000 tags of the 10,000-instance world (minutes per
    page).  The same list from the resource's own entry (an id with a wildcard character, which
    no resource has, still goes to moto's match)."""
    rid = getattr(self, "id", None)
    if not rid or any(c in rid for c in "*?["):
        return _original_get_tags(self)
    tags = self.ec2_backend.tags.get(rid)
    if not tags:
        return []
    kind = EC2_PREFIX_TO_RESOURCE.get(get_prefix(rid), "")
    return [{"resource_id": rid, "key": k, "value": v, "resource_type": kind}
            for k, v in list(tags.items())]


InstanceBackend.get_instance = _indexed_get_instance
TaggedEC2Resource.get_tags = _own_tags
ssm_extension._ec2_instance = _indexed_ec2_instance

REGION = "us-east-1"
ACCOUNT = "123456789012"
AMI = "ami-12c6146b"  # one of moto's bundled Amazon Linux images
CORE = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
TAG_KEY = "bench-fleet"
SERVICES3 = ("ssm", "ssmmessages", "ec2messages")
EC2_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                   "Action": "sts:AssumeRole"}],
}
#: instances → VPCs, per fleet.
FLEETS = {1: 1, 100: 2, 1000: 10, 10000: 100}
DEFAULT_SIZES = "1,1000,10000"
#: A fleet's roles, the first min(8, size) of them: (application, profile named like its role, as
#: the console makes them (else ``<x>-profile`` holding ``<x>-role``, as Terraform modules do),
#: policy kind).  The single instance gets the first: Core plus an inline policy, names differ.
ROLES = [
    ("api", False, "core+inline"),
    ("web", False, "core"),
    ("worker", False, "inline"),
    ("batch", False, "customer"),
    ("bastion", True, "core+customer"),
    ("etl", False, "core+inline"),
    ("cache", True, "core"),
    ("search", False, "core+customer"),
]
#: Core's ssm/ssmmessages/ec2messages actions, should moto not have the managed policy loaded.
CORE_FALLBACK = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Resource": "*", "Action": [
        "ssm:DescribeAssociation", "ssm:GetDeployablePatchSnapshotForInstance", "ssm:GetDocument",
        "ssm:DescribeDocument", "ssm:GetManifest", "ssm:GetParameter", "ssm:GetParameters",
        "ssm:ListAssociations", "ssm:ListInstanceAssociations", "ssm:PutInventory",
        "ssm:PutComplianceItems", "ssm:PutConfigurePackageResult", "ssm:UpdateAssociationStatus",
        "ssm:UpdateInstanceAssociationStatus", "ssm:UpdateInstanceInformation"]},
    {"Effect": "Allow", "Resource": "*", "Action": [
        "ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"]},
    {"Effect": "Allow", "Resource": "*", "Action": [
        "ec2messages:AcknowledgeMessage", "ec2messages:DeleteMessage", "ec2messages:FailMessage",
        "ec2messages:GetEndpoint", "ec2messages:GetMessages", "ec2messages:SendReply"]},
]}
#: The caller moto names for keys it does not know (every run's dummy key):
#: ``arn:aws:sts::<account>:user/moto``.
OPERATOR = "moto"
#: AWS's sample policy for Session Manager end users.
OPERATOR_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "ssm:StartSession", "Resource": [
        f"arn:aws:ec2:*:{ACCOUNT}:instance/*", "arn:aws:ssm:*:*:document/SSM-SessionManagerRunShell",
        "arn:aws:ssm:*::document/AWS-StartSSHSession",
        "arn:aws:ssm:*::document/AWS-StartPortForwardingSession"]},
    {"Effect": "Allow", "Action": ["ssm:DescribeSessions", "ssm:GetConnectionStatus",
                                   "ssm:DescribeInstanceInformation", "ssm:DescribeInstanceProperties",
                                   "ec2:DescribeInstances"], "Resource": "*"},
    {"Effect": "Allow", "Action": ["ssm:TerminateSession", "ssm:ResumeSession"],
     "Resource": ["arn:aws:ssm:*:*:session/${aws:username}-*"]},
]}
CLOUDWATCH_AGENT = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Resource": "*",
    "Action": ["cloudwatch:PutMetricData", "logs:CreateLogStream", "logs:PutLogEvents",
               "logs:DescribeLogStreams"]}]}


def spread(total: int, parts: int) -> list[int]:
    """``total`` split into ``parts`` near-equal counts, the larger ones first."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


# ------------------------------------------------------------------------------------------------
# Seeding
# ------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def fast_lookups(backend: Any) -> Iterator[None]:
    """While seeding only: moto's RunInstances finds the image (a filter over ~1,300 bundled
    images), the instance (a copy of every reservation) and the root volume (a scan of every
    volume) per launched instance, which makes seeding 10,000 instances quadratic.  The same
    objects come from dictionaries here; anything else goes to moto's own lookup."""
    originals = {name: getattr(backend, name) for name in
                 ("describe_images", "get_instance", "describe_volumes")}
    index: dict[str, Any] = {}

    def describe_images(ami_ids: Any = None, filters: Any = None, exec_users: Any = None,
                        owners: Any = None) -> Any:
        value = (filters or {}).get("image-id")
        if (ami_ids is None and exec_users is None and owners is None and filters
                and len(filters) == 1 and isinstance(value, str) and value in backend.amis
                and not any(c in value for c in "*?[")):
            return [backend.amis[value]]
        return originals["describe_images"](ami_ids=ami_ids, filters=filters,
                                            exec_users=exec_users, owners=owners)

    def get_instance(instance_id: str) -> Any:
        found = index.get(instance_id)
        if found is None and backend.reservations:
            for i in next(reversed(backend.reservations.values())).instances:
                index[i.id] = i  # the newest reservation: the instance being launched
            found = index.get(instance_id)
        return found if found is not None else originals["get_instance"](instance_id)

    def describe_volumes(volume_ids: Any = None, filters: Any = None) -> Any:
        if volume_ids and not filters and len(volume_ids) == 1 and volume_ids[0] in backend.volumes:
            return [backend.volumes[volume_ids[0]]]
        return originals["describe_volumes"](volume_ids=volume_ids, filters=filters)

    backend.describe_images = describe_images
    backend.get_instance = get_instance
    backend.describe_volumes = describe_volumes
    try:
        yield
    finally:
        for name in originals:
            delattr(backend, name)  # moto's methods again


class Seeder:
    def __init__(self, emu: Emulator):
        from moto.ec2.models import ec2_backends

        self.emu = emu
        self.ec2 = emu.client("ec2", REGION)
        self.iam = emu.client("iam", REGION)
        self.backend = ec2_backends[ACCOUNT][REGION]
        self.vpc_count = 0
        self._core: dict[str, Any] | None = None

    def core_document(self) -> dict[str, Any]:
        """AmazonSSMManagedInstanceCore's document, as IAM returns it."""
        if self._core is None:
            try:
                version = self.iam.get_policy(PolicyArn=CORE)["Policy"]["DefaultVersionId"]
                doc = self.iam.get_policy_version(PolicyArn=CORE, VersionId=version)[
                    "PolicyVersion"]["Document"]
                self._core = json.loads(unquote(doc)) if isinstance(doc, str) else doc
            except Exception:  # noqa: BLE001 - managed policies not loaded
                self._core = CORE_FALLBACK
        return self._core

    def operator(self) -> None:
        """The IAM user moto names as the caller of every run, with AWS's sample policy for Session
        Manager users attached (customer-managed).  Without it, IAM would answer that the caller
        does not exist, which no account does, and the tool would skip the operator's side (its
        IAM reads and the policy simulation)."""
        arn = self.iam.create_policy(PolicyName="session-manager-users",
                                     PolicyDocument=json.dumps(OPERATOR_POLICY))["Policy"]["Arn"]
        self.iam.create_user(UserName=OPERATOR)
        self.iam.attach_user_policy(UserName=OPERATOR, PolicyArn=arn)

    def roles(self, size: int) -> list[dict[str, str]]:
        """The fleet's instance profiles and roles (see ROLES)."""
        fleet = f"bench{size}"
        chosen = ROLES[:min(len(ROLES), size)]
        kinds = {kind for _, _, kind in chosen}
        customer = {}
        if "customer" in kinds:
            customer["customer"] = self.iam.create_policy(
                PolicyName=f"{fleet}-ssm-agent", PolicyDocument=json.dumps(self.core_document()),
                Description="SSM agent (the actions of AmazonSSMManagedInstanceCore)",
            )["Policy"]["Arn"]
        if "core+customer" in kinds:
            customer["core+customer"] = self.iam.create_policy(
                PolicyName=f"{fleet}-cloudwatch-agent", PolicyDocument=json.dumps(CLOUDWATCH_AGENT),
            )["Policy"]["Arn"]
        out = []
        for app, console, kind in chosen:
            role = f"{fleet}-{app}" if console else f"{fleet}-{app}-role"
            profile = role if console else f"{fleet}-{app}-profile"
            self.iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(EC2_TRUST),
                                 Tags=[{"Key": TAG_KEY, "Value": str(size)}])
            if kind.startswith("core"):
                self.iam.attach_role_policy(RoleName=role, PolicyArn=CORE)
            if kind in customer:
                self.iam.attach_role_policy(RoleName=role, PolicyArn=customer[kind])
            if kind == "inline":
                self.iam.put_role_policy(RoleName=role, PolicyName="ssm-agent",
                                         PolicyDocument=json.dumps(self.core_document()))
            if kind == "core+inline":
                bucket = f"arn:aws:s3:::{fleet}-{app}-artifacts"
                self.iam.put_role_policy(RoleName=role, PolicyName=f"{app}-artifacts",
                                         PolicyDocument=json.dumps({
                                             "Version": "2012-10-17", "Statement": [{
                                                 "Effect": "Allow",
                                                 "Action": ["s3:GetObject", "s3:ListBucket"],
                                                 "Resource": [bucket, f"{bucket}/*"]}]}))
            arn = self.iam.create_instance_profile(InstanceProfileName=profile)[
                "InstanceProfile"]["Arn"]
            self.iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=role)
            out.append({"app": app, "profile": profile, "role": role, "kind": kind, "arn": arn})
        return out

    def vpc(self, fleet: int) -> dict[str, Any]:
        """One VPC of the NAT or the endpoint shape (alternating); returns its ids."""
        k = self.vpc_count = self.vpc_count + 1
        shape = "nat" if k % 2 else "endpoints"
        ec2 = self.ec2
        cidr = f"10.{k}.0.0/16"
        vpc = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
        ec2.create_tags(Resources=[vpc], Tags=[{"Key": "Name", "Value": f"bench-{fleet}-{k}"},
                                               {"Key": TAG_KEY, "Value": str(fleet)}])
        ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsSupport={"Value": True})
        ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
        private = [
            ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.{k}.{i + 1}.0/24",
                              AvailabilityZone=f"{REGION}{'abc'[i]}")["Subnet"]["SubnetId"]
            for i in range(3)
        ]
        app_sg = ec2.create_security_group(GroupName=f"bench-app-{k}", Description="app",
                                           VpcId=vpc)["GroupId"]
        ec2.authorize_security_group_ingress(GroupId=app_sg, IpPermissions=[{
            "IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080,
            "IpRanges": [{"CidrIp": cidr}]}])
        private_rt = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
        if shape == "nat":
            public = ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.{k}.100.0/24",
                                       AvailabilityZone=f"{REGION}a")["Subnet"]["SubnetId"]
            igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
            ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
            public_rt = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
            ec2.create_route(RouteTableId=public_rt, DestinationCidrBlock="0.0.0.0/0",
                             GatewayId=igw)
            ec2.associate_route_table(RouteTableId=public_rt, SubnetId=public)
            eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
            nat = ec2.create_nat_gateway(SubnetId=public, AllocationId=eip)["NatGateway"][
                "NatGatewayId"]
            ec2.create_route(RouteTableId=private_rt, DestinationCidrBlock="0.0.0.0/0",
                             NatGatewayId=nat)
        else:
            vpce_sg = ec2.create_security_group(GroupName=f"bench-vpce-{k}",
                                                Description="endpoints", VpcId=vpc)["GroupId"]
            ec2.authorize_security_group_ingress(GroupId=vpce_sg, IpPermissions=[{
                "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                "IpRanges": [{"CidrIp": cidr}]}])
            for service in SERVICES3:
                ec2.create_vpc_endpoint(
                    VpcId=vpc, VpcEndpointType="Interface",
                    ServiceName=f"com.amazonaws.{REGION}.{service}",
                    SubnetIds=private, SecurityGroupIds=[vpce_sg], PrivateDnsEnabled=True,
                )
        for s in private:
            ec2.associate_route_table(RouteTableId=private_rt, SubnetId=s)
        return {"vpc": vpc, "shape": shape, "subnets": private, "sg": app_sg}

    def _first_launch(self, subnet: str, sg: str, profile_arn: str,
                      tags: dict[str, str]) -> tuple[str, tuple, dict[str, Any]]:
        """One instance through boto3's RunInstances; returns its id and the arguments moto's
        handler passed to the backend (to launch the others with)."""
        captured: dict[str, Any] = {}
        original = self.backend.run_instances

        def spy(image_id: str, count: int, user_data: Any, sg_names: Any, **kwargs: Any) -> Any:
            captured["args"], captured["kwargs"] = (image_id, count, user_data, sg_names), dict(kwargs)
            return original(image_id, count, user_data, sg_names, **kwargs)

        self.backend.run_instances = spy
        try:
            out = self.ec2.run_instances(
                ImageId=AMI, InstanceType="t3.micro", MinCount=1, MaxCount=1,
                SubnetId=subnet, SecurityGroupIds=[sg], IamInstanceProfile={"Arn": profile_arn},
                MetadataOptions={"HttpTokens": "required", "HttpEndpoint": "enabled"},
                TagSpecifications=[{"ResourceType": "instance", "Tags": [
                    {"Key": k, "Value": v} for k, v in tags.items()]}],
            )
        finally:
            del self.backend.run_instances
        return out["Instances"][0]["InstanceId"], captured["args"], captured["kwargs"]

    def _launch(self, template: tuple[tuple, dict[str, Any]], subnet: str, sg: str,
                profile_arn: str, tags: dict[str, str]) -> str:
        """One more instance, as RunInstances would launch it: the captured arguments with this
        instance's subnet, security group, tags and profile; then the profile's association."""
        args, kwargs = template
        kwargs = {**copy.deepcopy(kwargs), "subnet_id": subnet, "security_group_ids": [sg],
                  "tags": {"instance": dict(tags)}, "iam_instance_profile_arn": profile_arn,
                  "client_token": str(uuid.uuid4())}
        reservation = self.backend.run_instances(*args, **kwargs)
        iid = reservation.instances[0].id
        self.backend.associate_iam_instance_profile(instance_id=iid,
                                                    iam_instance_profile_arn=profile_arn)
        return iid

    def fleet(self, size: int, vpcs: int, log: Callable[[str], None]) -> dict[str, Any]:
        """``size`` instances tagged bench-fleet=size in ``vpcs`` new VPCs, spread over the fleet's
        roles and each VPC's three private subnets; agents registered (most Online)."""
        started = time.monotonic()
        roles = self.roles(size)
        ids: list[str] = []
        template = None
        with fast_lookups(self.backend):
            for v, count in enumerate(spread(size, vpcs)):
                net = self.vpc(size)
                for j, n in enumerate(spread(count, min(len(roles), count))):
                    role = roles[(v + j) % len(roles)]
                    subnet = net["subnets"][j % 3]
                    for k in range(n):
                        tags = {"Name": f"bench{size}-{role['app']}-{v}-{k}", TAG_KEY: str(size)}
                        if template is None:
                            iid, *template = self._first_launch(subnet, net["sg"], role["arn"],
                                                                tags)
                        else:
                            iid = self._launch(template, subnet, net["sg"], role["arn"], tags)
                        ids.append(iid)
                if vpcs >= 10 and (v + 1) % max(1, vpcs // 5) == 0:
                    log(f"bench: seeding {size}: {v + 1}/{vpcs} VPCs, {len(ids)} instances "
                        f"({time.monotonic() - started:.0f} s)")
        for n, iid in enumerate(ids):
            if size > 1 and n % 20 == 7:
                continue  # agent never registered
            status = "ConnectionLost" if size > 1 and n % 20 == 13 else "Online"
            self.emu.register_agent(iid, region=REGION, account=ACCOUNT, ping_status=status)
        return {"ids": ids, "roles": roles, "seconds": time.monotonic() - started}


# ------------------------------------------------------------------------------------------------
# Latency models
# ------------------------------------------------------------------------------------------------


@dataclass
class Model:
    """Seconds a proxy waits before answering: ``default`` for every request, ``services`` for the
    named services (by SigV4 credential scope)."""

    name: str
    default: float
    services: dict[str, float] = field(default_factory=dict)

    def describe(self) -> str:
        if not self.services:
            return f"{self.default * 1000:g} ms per request"
        named = ", ".join(f"{s.upper() if s == 'iam' else s} {d * 1000:g} ms"
                          for s, d in self.services.items())
        return f"{named}, every other service {self.default * 1000:g} ms"

    def proxy_args(self) -> list[str]:
        args = ["--delay", str(self.default)]
        for s, d in self.services.items():
            args += ["--service-delay", f"{s}={d}"]
        return args


def parse_model(spec: str) -> Model:
    """``flat<ms>``: every request; ``iam<ms>``: IAM <ms>, everything else 20 ms;
    ``iam<ms>-<ms2>``: everything else <ms2>."""
    m = re.fullmatch(r"flat(\d+(?:\.\d+)?)", spec)
    if m:
        return Model(spec, float(m.group(1)) / 1000)
    m = re.fullmatch(r"iam(\d+(?:\.\d+)?)(?:-(\d+(?:\.\d+)?))?", spec)
    if m:
        return Model(spec, float(m.group(2) or 20) / 1000, {"iam": float(m.group(1)) / 1000})
    raise argparse.ArgumentTypeError(
        f"unknown latency model {spec!r}: use flat<ms>, iam<ms> or iam<ms>-<ms>")


# ------------------------------------------------------------------------------------------------
# Running the tool
# ------------------------------------------------------------------------------------------------


def gnu_time() -> str | None:
    path = shutil.which("time") or ("/usr/bin/time" if os.path.exists("/usr/bin/time") else None)
    if not path:
        return None
    try:
        r = subprocess.run([path, "-f", "%M", "true"], capture_output=True, text=True, timeout=10)
        int(r.stderr.strip().splitlines()[-1])
        return path
    except Exception:  # noqa: BLE001 - not GNU time
        return None


def tool_env(endpoint: str, access_key: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID=access_key,
        AWS_SECRET_ACCESS_KEY="bench-dummy-secret",
        AWS_REGION=REGION,
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=str(OUT / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(OUT / "no-aws-credentials"),
        NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost",
        NO_COLOR="1",
    )
    # The operator's network probe (DNS, TCP, TLS to the session endpoints) talks to the e2e
    # suite's loopback stubs: nothing leaves the machine, and every step answers at once.
    env.update(endpoint_stubs.environment())
    return env


#: A report larger than this is read from its end (summary and stats), not parsed whole, and kept
#: on disk for the first run of each binary and size only.
BIG_REPORT = 32 * 1000 * 1000


def read_report(path: Path) -> tuple[dict[str, Any] | None, int | None]:
    """(the run's stats, how many instances it reported) from the tool's JSON output."""
    try:
        size = path.stat().st_size
    except OSError:
        return None, None
    if size <= BIG_REPORT:
        try:
            report = json.loads(path.read_text())
        except ValueError:
            return None, None
        return find_stats(report), count_instances(report)
    # a fleet report ends with its summary and stats (after the last instance's own stats)
    with path.open("rb") as f:
        f.seek(max(0, size - 1_000_000))
        tail = f.read().decode("utf-8", "replace")
    stats = summary = None
    for m in re.finditer(r'"stats"\s*:\s*(\{[^{}]*\})', tail):
        stats = m.group(1)
    for m in re.finditer(r'"summary"\s*:\s*(\{[^{}]*\})', tail):
        summary = m.group(1)
    try:
        instances = json.loads(summary).get("instances") if summary else None
        return (json.loads(stats) if stats else None), instances
    except ValueError:
        return None, None


def find_stats(report: Any) -> dict[str, Any] | None:
    if isinstance(report, dict):
        if isinstance(report.get("stats"), dict):
            return report["stats"]
        for r in report.get("reports", []) or []:
            if isinstance(r, dict) and isinstance(r.get("stats"), dict):
                return r["stats"]
    return None


def count_instances(report: Any) -> int | None:
    if isinstance(report, dict):
        if isinstance(report.get("reports"), list):
            return len(report["reports"])
        if "checks" in report:
            return 1
    return None


class Runner:
    def __init__(self, binary: Path, time_bin: str | None):
        self.binary = binary
        self.time_bin = time_bin
        self.rss_file = Path(tempfile.mkstemp(prefix="bench-rss-")[1])
        self.options = self._options()

    def _options(self) -> set[str]:
        """The long options the binary's --help lists (an older binary may lack some)."""
        try:
            text = subprocess.run([str(self.binary), "--help"], capture_output=True, text=True,
                                  timeout=30).stdout
        except (OSError, subprocess.SubprocessError):
            return set()
        return set(re.findall(r"(--[a-z][a-z0-9-]+)", text))

    def run(self, args: list[str], env: dict[str, str] | None, name: str, timeout: float = 600,
            progress: Callable[[float], None] | None = None,
            progress_every: float = 30) -> dict[str, Any]:
        """One run of the binary: wall seconds (process start to exit), exit code, peak RSS (KiB),
        CPU seconds, stats and instance count from its JSON output.  ``progress(elapsed)`` is
        called every ``progress_every`` seconds while it runs."""
        cmd = [str(self.binary), *args]
        if self.time_bin:
            cmd = [self.time_bin, "-f", "%M %U %S", "-o", str(self.rss_file), *cmd]
        out_path, err_path = OUT / f"{name}.stdout.json", OUT / f"{name}.stderr.txt"
        with out_path.open("wb") as out, err_path.open("wb") as err:
            spawned_at = time.time()
            started = time.perf_counter()
            proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
            exited = threading.Event()
            killed: list[float] = []

            def watch() -> None:
                # progress lines and the time limit, off the main thread: its blocking wait sees
                # the exit at once (Popen.wait with a timeout polls, up to 50 ms late)
                while not exited.wait(min(progress_every, timeout)):
                    elapsed = time.perf_counter() - started
                    if elapsed >= timeout:
                        killed.append(elapsed)
                        proc.kill()
                        return
                    if progress:
                        progress(elapsed)

            watcher = threading.Thread(target=watch, daemon=True)
            watcher.start()
            proc.wait()
            wall = time.perf_counter() - started
            exited_at = time.time()
            exited.set()
            watcher.join()
        if killed:
            raise RuntimeError(f"{name}: still running after {killed[0]:.0f} s: killed")
        rss = cpu = None
        if self.time_bin:
            # GNU time prints "Command exited with non-zero status N" first when N != 0
            lines = self.rss_file.read_text().strip().splitlines()
            fields = lines[-1].split() if lines else []
            if len(fields) == 3:
                rss, cpu = int(fields[0]), float(fields[1]) + float(fields[2])
        stats, instances = read_report(out_path)
        return {"wall": wall, "exit": proc.returncode, "rss_kib": rss, "cpu_s": cpu,
                "stats": stats, "instances": instances, "output_bytes": out_path.stat().st_size,
                "output": out_path, "spawned_at": spawned_at, "exited_at": exited_at}


# ------------------------------------------------------------------------------------------------
# Analysing the proxy log
# ------------------------------------------------------------------------------------------------


class ProxyLog:
    """A proxy's JSON-lines log, read incrementally (it only grows)."""

    def __init__(self, path: Path):
        self.path = path
        self.offset = 0
        self.by_key: dict[str | None, list[dict[str, Any]]] = {}

    def refresh(self) -> None:
        if not self.path.exists():
            return
        with self.path.open("rb") as f:
            f.seek(self.offset)
            data = f.read()
        end = data.rfind(b"\n")
        if end < 0:
            return
        self.offset += end + 1
        for line in data[:end].splitlines():
            if line.strip():
                e = json.loads(line)
                self.by_key.setdefault(e.get("access_key"), []).append(e)

    def entries(self, key: str) -> list[dict[str, Any]]:
        self.refresh()
        return self.by_key.get(key, [])


def chains(entries: list[dict[str, Any]]) -> list[int]:
    """chain(r) = 1 + max chain(q) over the requests q that had ended before r started."""
    order = sorted(range(len(entries)), key=lambda i: (entries[i]["start"], entries[i]["end"]))
    by_end = sorted(range(len(entries)), key=lambda i: entries[i]["end"])
    chain = [0] * len(entries)
    done, best = 0, 0  # requests of by_end[:done] have ended; best: their longest chain
    waiting: set[int] = set()  # ended, but not yet given a chain (a request of no duration)
    for i in order:
        while done < len(by_end) and entries[by_end[done]]["end"] <= entries[i]["start"]:
            j = by_end[done]
            done += 1
            if chain[j]:
                best = max(best, chain[j])
            else:
                waiting.add(j)
        chain[i] = 1 + best
        if i in waiting:
            best = max(best, chain[i])
    return chain


def union_seconds(intervals: list[tuple[float, float]]) -> float:
    total, cur_start, cur_end = 0.0, None, None
    for s, e in sorted(intervals):
        if cur_end is None or s > cur_end:
            if cur_end is not None:
                total += cur_end - cur_start
            cur_start, cur_end = s, e
        else:
            cur_end = max(cur_end, e)
    if cur_end is not None:
        total += cur_end - cur_start
    return total


def op_name(e: dict[str, Any]) -> str:
    return f"{e['service']}:{e['operation']}"


def analyse(entries: list[dict[str, Any]]) -> dict[str, Any]:
    if not entries:
        return {"calls": 0, "chain": 0, "levels": [], "operations": {}, "replayed": 0,
                "max_in_flight": 0, "emulator_busy_s": 0.0, "emulator_sum_s": 0.0,
                "outstanding_s": 0.0, "slowest_upstream": None, "non_200": 0, "span_ms": 0.0}
    chain = chains(entries)
    t0 = min(e["start"] for e in entries)
    levels: dict[int, list[dict[str, Any]]] = {}
    for e, c in zip(entries, chain):
        levels.setdefault(c, []).append(e)
    level_rows = []
    for c in sorted(levels):
        es = levels[c]
        level_rows.append({
            "level": c,
            "calls": len(es),
            "first_start_ms": round((min(e["start"] for e in es) - t0) * 1000, 1),
            "last_end_ms": round((max(e["end"] for e in es) - t0) * 1000, 1),
            "operations": dict(sorted(Counter(op_name(e) for e in es).items())),
        })
    live = [e for e in entries if not e.get("cached")]
    return {
        "calls": len(entries),
        "chain": max(chain),
        "levels": level_rows,
        "operations": dict(sorted(Counter(op_name(e) for e in entries).items())),
        "max_in_flight": max_in_flight(entries),
        "emulator_busy_s": union_seconds([(e["up_start"], e["up_end"]) for e in live]),
        "emulator_sum_s": sum(e["up_end"] - e["up_start"] for e in live),
        "outstanding_s": union_seconds([(e["start"], e["end"]) for e in entries]),
        "slowest_upstream": max(
            ({"op": op_name(e), "ms": round((e["up_end"] - e["up_start"]) * 1000, 1)}
             for e in entries), key=lambda x: x["ms"]),
        "non_200": sum(1 for e in entries if e["status"] != 200),
        "replayed": sum(1 for e in entries if e.get("cached")),
        "span_ms": (max(e["end"] for e in entries) - t0) * 1000,
    }


def max_in_flight(entries: list[dict[str, Any]]) -> int:
    events = sorted([(e["start"], 1) for e in entries] + [(e["end"], -1) for e in entries],
                    key=lambda x: (x[0], x[1]))
    cur = best = 0
    for _, d in events:
        cur += d
        best = max(best, cur)
    return best


# ------------------------------------------------------------------------------------------------
# Main
# ------------------------------------------------------------------------------------------------


def start_proxy(upstream: str, model: Model, log: Path, cache: Path,
                cache_mode: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, str(BENCH / "proxy.py"), "--upstream", upstream, *model.proxy_args(),
         "--log", str(log), "--cache", str(cache), "--cache-mode", cache_mode],
        stdout=subprocess.PIPE, text=True,
    )
    line = proc.stdout.readline().strip()
    if not line.startswith("listening "):
        proc.kill()
        raise RuntimeError(f"proxy did not start: {line!r}")
    return proc, f"http://127.0.0.1:{line.split()[1]}"


def help_timing(runner: Runner, n: int, label: str) -> dict[str, Any]:
    """Start-up of ``ssm-doctor --help``: hyperfine when installed, else timed spawns from here,
    with a spawn of /bin/true timed the same way as the floor of this method."""
    rss = runner.run(["--help"], None, f"help-{label}")["rss_kib"]
    hyperfine = shutil.which("hyperfine")
    if hyperfine:
        export = OUT / f"help-{label}.hyperfine.json"
        subprocess.run([hyperfine, "-N", "--warmup", "5", "--runs", str(n), "--export-json",
                        str(export), f"{runner.binary} --help"], check=True,
                       capture_output=True)
        res = json.loads(export.read_text())["results"][0]
        return {"method": "hyperfine -N", "median_ms": res["median"] * 1000,
                "min_ms": res["min"] * 1000, "runs": n, "rss_kib": rss}

    def timed(cmd: list[str]) -> list[float]:
        for _ in range(5):
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out = []
        for _ in range(n):
            t = time.perf_counter()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            out.append((time.perf_counter() - t) * 1000)
        return out

    help_ms = timed([str(runner.binary), "--help"])
    true_ms = timed([shutil.which("true") or "/bin/true"])
    return {"method": "Python subprocess.run, spawn to exit", "median_ms": statistics.median(help_ms),
            "min_ms": min(help_ms), "p90_ms": sorted(help_ms)[max(0, int(0.9 * len(help_ms)) - 1)],
            "spawn_floor_ms": statistics.median(true_ms), "runs": n, "rss_kib": rss}


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": cpu,
            "memory_gib": round(mem_kib / 1024 / 1024, 1) if mem_kib else None,
            "kernel": platform.release(), "python": platform.python_version()}


def loadavg() -> list[float] | None:
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except (OSError, ValueError):
        return None


def verdict(value: float | None, limit: float) -> str:
    if value is None:
        return "n/a"
    return "PASS" if value <= limit else "MISS"


def per_size(spec: str, name: str) -> Callable[[int], int]:
    """``N`` or ``N,SIZE:M,…``: N runs, M at SIZE."""
    default, overrides = None, {}
    for part in spec.split(","):
        part = part.strip()
        if ":" in part:
            size, n = part.split(":", 1)
            overrides[int(size)] = int(n)
        elif part:
            default = int(part)
    if default is None:
        raise SystemExit(f"bench: {name} needs a default count, e.g. 3,10000:1")
    return lambda size: overrides.get(size, default)


@dataclass
class Binary:
    label: str  # "after" or "before"
    path: Path
    build: str
    runner: Runner


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(
        description="ssm-doctor performance benchmark. Binaries: SSM_DOCTOR_BIN (the one under "
                    "test, 'after'), and with --baseline or SSM_DOCTOR_BASELINE a second one "
                    "('before') run through the same world and modes.",
        epilog="Latency models: flat<ms> waits <ms> before every request; iam<ms> waits <ms> for "
               "IAM (a global service, answered from us-east-1) and 20 ms for every other service; "
               "iam<ms>-<ms2> waits <ms2> for the others. The first model is also the live "
               "(recording) runs' latency. Example: bench/run --sizes 1,1000 --models "
               "flat50,iam150 --baseline /tmp/ssm-doctor-before")
    parser.add_argument("--sizes", default=DEFAULT_SIZES,
                        help=f"comma-separated fleet sizes among {', '.join(map(str, FLEETS))} "
                             f"(default {DEFAULT_SIZES})")
    parser.add_argument("--models", default="flat50,iam150",
                        help="comma-separated latency models (default flat50,iam150; see below)")
    parser.add_argument("--delay", type=float, default=None,
                        help="the flat model's delay in seconds: replaces flat50 in --models "
                             "(e.g. 0.1 for flat100)")
    parser.add_argument("--runs", type=int, default=5,
                        help="counted runs per size, binary and replay mode (each mode adds a "
                             "warm-up run; default 5)")
    parser.add_argument("--live-runs", default="3,10000:1",
                        help="counted runs per size and binary against the live emulator: N, or "
                             "N,SIZE:M,… (default 3,10000:1: a live run at 10,000 takes minutes)")
    parser.add_argument("--live-warmup-max", type=int, default=1000,
                        help="the live mode's uncounted warm-up run only up to this many instances "
                             "(default 1000)")
    parser.add_argument("--live-timeout", type=int, default=600,
                        help="the tool's --timeout (seconds per API call attempt, at most 600) in "
                             "live runs (default 600; the tool's own default is 20, and moto "
                             "takes seconds per 1,000-instance page, longer when busy)")
    parser.add_argument("--deadline", type=int, default=3600,
                        help="the tool's --deadline (seconds for the whole run, at most 3600) in "
                             "every run (default 3600; the tool's own default is 60: replayed runs "
                             "finish in seconds, a live run at 10,000 instances in minutes)")
    parser.add_argument("--tool-args", default="",
                        help="more arguments for every run of the tool (shell words; with an "
                             "equals sign when they start with a dash), e.g. "
                             "--tool-args=--no-operator")
    parser.add_argument("--baseline", default=os.environ.get("SSM_DOCTOR_BASELINE"),
                        help="a second binary ('before') to run the same way (env "
                             "SSM_DOCTOR_BASELINE)")
    parser.add_argument("--help-runs", type=int, default=100, help="timed runs of `--help`")
    parser.add_argument("--progress-every", type=float, default=30,
                        help="seconds between progress lines of a run still going (default 30)")
    parser.add_argument("--operator-user", action=argparse.BooleanOptionalAction, default=True,
                        help="seed the IAM user the runs' caller is (moto's default caller "
                             "'moto'), with a Session Manager user policy (default: yes; without "
                             "it the caller's IAM reads fail and the tool skips the policy "
                             "simulation)")
    parser.add_argument("--seed-only", action="store_true",
                        help="seed the fleets, print how long that took, and stop")
    parser.add_argument("--build", default=os.environ.get("BENCH_BUILD", "unknown"),
                        help="label of the binary's build, for the report (env BENCH_BUILD)")
    parser.add_argument("--baseline-build",
                        default=os.environ.get("BENCH_BASELINE_BUILD", "unknown"),
                        help="label of the baseline's build (env BENCH_BASELINE_BUILD)")
    args = parser.parse_args()

    try:
        sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    except ValueError:
        parser.error(f"--sizes: not a list of numbers: {args.sizes!r}")
    unknown = [s for s in sizes if s not in FLEETS]
    if unknown:
        parser.error(f"--sizes: no fleet of {unknown}; sizes are {', '.join(map(str, FLEETS))}")
    try:
        models = [parse_model(m.strip()) for m in args.models.split(",") if m.strip()]
    except argparse.ArgumentTypeError as e:
        parser.error(str(e))
    if args.delay is not None:
        flat = Model(f"flat{args.delay * 1000:g}", args.delay)
        models = [flat if m.name == "flat50" else m for m in models]
        if flat not in models:
            models.insert(0, flat)
    if not models:
        parser.error("--models: at least one model")
    if len({m.name for m in models}) != len(models):
        parser.error("--models: a model is named twice")
    live_runs = per_size(args.live_runs, "--live-runs")
    tool_args = shlex.split(args.tool_args)

    time_bin = gnu_time()
    binaries: list[Binary] = []
    if not args.seed_only:
        paths = [("after", os.environ.get("SSM_DOCTOR_BIN") or str(ROOT / "target" / "debug" /
                                                                     "ssm-doctor"), args.build)]
        if args.baseline:
            paths.append(("before", args.baseline, args.baseline_build))
        for label, path, build in paths:
            if not os.access(path, os.X_OK):
                log(f"bench: {path} ({label}) not found or not executable: cargo build first, or "
                    "set SSM_DOCTOR_BIN / --baseline")
                return 1
            binaries.append(Binary(label, Path(path), build, Runner(Path(path), time_bin)))
        binaries.sort(key=lambda b: b.label != "before")  # before first in every step
        for b in binaries:
            missing = [o for o in ("--deadline", "--timeout") if o not in b.runner.options]
            if missing:
                log(f"bench: note: {b.path} ({b.label}) has no {' or '.join(missing)}: its runs "
                    "keep the tool's defaults there (a slow live run may be cut short)")
        if not time_bin:
            log("bench: GNU time not found (/usr/bin/time): peak memory and CPU will not be "
                "measured")

    OUT.mkdir(exist_ok=True)
    for stale in OUT.glob("*"):
        if stale.is_file():
            stale.unlink()
    cache = OUT / "answers"
    shutil.rmtree(cache, ignore_errors=True)
    started_all = time.monotonic()
    load_start = loadavg()
    if load_start and load_start[0] > 0.5 * (os.cpu_count() or 1):
        log(f"bench: warning: load average {load_start[0]:.2f} on {os.cpu_count()} CPUs: other "
            "work is running, the timings will be noisy")

    # --help first, while this process is small and idle
    help_res = {}
    for b in binaries:
        log(f"bench: timing `{b.path} --help` ({args.help_runs} runs)")
        help_res[b.label] = help_timing(b.runner, args.help_runs, b.label)

    emu = Emulator(OUT / "emulator-requests.jsonl").start()
    proxies: list[subprocess.Popen] = []
    try:
        t = time.monotonic()
        seeder = Seeder(emu)
        if args.operator_user:
            seeder.operator()
        fleets = {}
        for size in sizes:
            fleets[size] = seeder.fleet(size, FLEETS[size], log)
            log(f"bench: seeded {size} instance(s) in {FLEETS[size]} VPC(s) with "
                f"{len(fleets[size]['roles'])} role(s) in {fleets[size]['seconds']:.1f} s "
                f"({time.monotonic() - t:.1f} s so far)")
        seed_s = time.monotonic() - t
        seeding = {str(s): round(f["seconds"], 1) for s, f in fleets.items()}
        if args.seed_only:
            summary = {"date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
                       "machine": machine(), "seed_seconds": round(seed_s, 1),
                       "seed_seconds_per_size": seeding, "load_average_start": load_start,
                       "load_average_end": loadavg()}
            (OUT / "results.json").write_text(json.dumps(summary, indent=2))
            import resource

            summary["emulator_peak_rss_mib"] = round(
                resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
            (OUT / "results.json").write_text(json.dumps(summary, indent=2))
            print(f"seeded {', '.join(f'{s:,}' for s in sizes)} instance(s) in {seed_s:.1f} s: "
                  + ", ".join(f"{int(s):,}: {v} s" for s, v in seeding.items())
                  + f"; this process (emulator) peaked at {summary['emulator_peak_rss_mib']} MiB")
            return 0

        modes = ["live"] + [f"replay-{m.name}" for m in models] + ["replay-0ms"]
        mode_model = {"live": models[0], "replay-0ms": Model("0ms", 0.0)}
        mode_model.update({f"replay-{m.name}": m for m in models})
        urls, logs = {}, {}
        for mode in modes:
            logs[mode] = ProxyLog(OUT / f"proxy-{mode}.jsonl")
            proc, urls[mode] = start_proxy(emu.url, mode_model[mode], logs[mode].path, cache,
                                           "record" if mode == "live" else "replay")
            proxies.append(proc)

        kept_big: set[tuple[str, int]] = set()

        def one_run(b: Binary, size: int, mode: str, rep: int, counted: bool) -> dict[str, Any]:
            selection = [fleets[size]["ids"][0]] if size == 1 else ["--tag", f"{TAG_KEY}={size}"]
            cli = [*selection, "--region", REGION, "--output", "json", *tool_args]
            if "--deadline" in b.runner.options:
                cli += ["--deadline", f"{args.deadline:g}"]
            live = mode == "live"
            if live and "--timeout" in b.runner.options:
                cli += ["--timeout", f"{args.live_timeout:g}"]
            key = f"AKIABENCH{'AB'[b.label == 'before']}{size:05d}{modes.index(mode)}{rep:03d}"
            what = (f"{b.label} size {size:>5} {mode:<14} run {rep}"
                    f"{'' if counted else ' (warm-up)'}")

            def progress(elapsed: float) -> None:
                es = logs[mode].entries(key)
                last = f" (last answered: {op_name(es[-1])})" if es else ""
                log(f"bench: {what}: still running after {elapsed:.0f} s, {len(es)} requests "
                    f"answered{last}")

            run = b.runner.run(cli, tool_env(urls[mode], key), f"run-{b.label}-{size}-{mode}-{rep}",
                               timeout=args.deadline + 600, progress=progress,
                               progress_every=args.progress_every)
            emu.wait_idle(timeout=600 if live else 60)
            time.sleep(0.1)  # the proxy logs a request just after answering it
            entries = logs[mode].entries(key)
            stats = run.pop("stats") or {}
            if entries:
                # tool-side time before its first request and after its last answer
                run["before_first_ms"] = (min(e["start"] for e in entries)
                                          - run["spawned_at"]) * 1000
                run["after_last_ms"] = (run["exited_at"] - max(e["end"] for e in entries)) * 1000
            run.update(analyse(entries), key=key, rep=rep, mode=mode, counted=counted,
                       tool_api_calls=stats.get("api_calls"), retries=stats.get("retries"),
                       tool_duration_ms=stats.get("duration_ms"))
            output: Path = run.pop("output")
            if run["output_bytes"] > BIG_REPORT:
                if (b.label, size) in kept_big:
                    output.unlink(missing_ok=True)
                kept_big.add((b.label, size))
            if run["instances"] is None or run["exit"] in (2, 4):
                err = (OUT / f"run-{b.label}-{size}-{mode}-{rep}.stderr.txt").read_text(
                    errors="replace").strip().splitlines()
                log(f"bench: warning: {what} exited {run['exit']} without a report: "
                    + " / ".join(err[:3]))
            retries = f", {run['retries']} retries" if run["retries"] is not None else ""
            log(f"bench: {what}: {run['wall'] * 1000:7,.0f} ms, {run['calls']} calls "
                f"(tool: {run['tool_api_calls']}{retries}; {run['calls'] - run['replayed']} not "
                f"from recording), chain {run['chain']}, exit {run['exit']}, {run['instances']} "
                f"reports, peak RSS {run['rss_kib']} KiB")
            return run

        results = []
        for size in sizes:
            per: dict[str, dict[str, list[dict[str, Any]]]] = {
                b.label: {m: [] for m in modes} for b in binaries}
            for b in binaries:  # each binary records its own requests' answers
                n = live_runs(size)
                first = 0 if (size <= args.live_warmup_max or n == 0) else 1
                for rep in range(first, n + 1):
                    run = one_run(b, size, "live", rep, counted=rep > 0)
                    if rep > 0:
                        per[b.label]["live"].append(run)
            for mode in modes[1:]:
                for b in binaries:
                    for rep in range(args.runs + 1):  # the first run of each mode is a warm-up
                        run = one_run(b, size, mode, rep, counted=rep > 0)
                        if rep > 0:
                            per[b.label][mode].append(run)
            results.append({
                "size": size, "vpcs": FLEETS[size], "roles": len(fleets[size]["roles"]),
                "binaries": {label: summarise(p) for label, p in per.items()},
            })
        total_s = time.monotonic() - started_all
    finally:
        for p in proxies:
            p.terminate()
            p.wait(timeout=10)
        emu.stop()
        for b in binaries:
            b.runner.rss_file.unlink(missing_ok=True)

    summary = {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine(),
        "binaries": {b.label: {"path": str(b.path), "build": b.build} for b in binaries},
        "models": [{"name": m.name, "default_ms": m.default * 1000,
                    "services_ms": {s: d * 1000 for s, d in m.services.items()},
                    "describe": m.describe()} for m in models],
        "modes": modes,
        "runs": args.runs,
        "live_runs": {str(s): live_runs(s) for s in sizes},
        "live_warmup_max": args.live_warmup_max,
        "operator_user": args.operator_user,
        "tool_args": tool_args,
        "deadline_s": args.deadline,
        "live_timeout_s": args.live_timeout,
        "seed_seconds": round(seed_s, 1),
        "seed_seconds_per_size": seeding,
        "load_average_start": load_start,
        "load_average_end": loadavg(),
        "total_seconds": round(total_s, 1),
        "help": help_res,
        "sizes": results,
    }
    (OUT / "results.json").write_text(json.dumps(summary, indent=2))
    table = render(summary)
    (OUT / "results.md").write_text(table)
    print()
    print(table)
    return 0


def summarise(per_mode: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    def med(runs: list[dict[str, Any]], key: str) -> float | None:
        vals = [r[key] for r in runs if r.get(key) is not None]
        return statistics.median(vals) if vals else None

    def seen(runs: list[dict[str, Any]], key: str) -> list[Any]:
        return sorted({r[key] for r in runs if r.get(key) is not None})

    def typical(runs: list[dict[str, Any]]) -> dict[str, Any]:
        """The median run by wall time, kept whole as the evidence."""
        if not runs:
            return {}
        r = sorted(runs, key=lambda r: r["wall"])[len(runs) // 2]
        return {k: r.get(k) for k in (
            "key", "wall", "calls", "chain", "levels", "operations", "slowest_upstream",
            "non_200", "tool_api_calls", "retries", "tool_duration_ms", "emulator_busy_s",
            "outstanding_s", "max_in_flight", "before_first_ms", "after_last_ms", "cpu_s",
            "span_ms")}

    modes = {}
    for mode, runs in per_mode.items():
        rss = [r["rss_kib"] for r in runs if r["rss_kib"]]
        modes[mode] = {
            "runs": len(runs),
            "wall_s": med(runs, "wall"),
            "wall_s_runs": [round(r["wall"], 3) for r in runs],
            "cpu_s": med(runs, "cpu_s"),
            "tool_duration_ms": med(runs, "tool_duration_ms"),
            "calls": med(runs, "calls"),
            "calls_seen": seen(runs, "calls"),
            "tool_api_calls_seen": seen(runs, "tool_api_calls"),
            "retries_seen": seen(runs, "retries"),
            "chain": med(runs, "chain"),
            "chain_seen": seen(runs, "chain"),
            "not_replayed": sum(r["calls"] - r["replayed"] for r in runs),
            "non_200": sum(r["non_200"] for r in runs),
            "emulator_busy_s": med(runs, "emulator_busy_s"),
            "emulator_sum_s": med(runs, "emulator_sum_s"),
            "no_request_outstanding_s": ((med(runs, "wall") or 0) - (med(runs, "outstanding_s")
                                                                     or 0)) if runs else None,
            "before_first_request_ms": med(runs, "before_first_ms"),
            "after_last_answer_ms": med(runs, "after_last_ms"),
            "max_in_flight": max((r["max_in_flight"] for r in runs), default=None),
            "rss_mib": statistics.median(rss) / 1024 if rss else None,
            "rss_mib_max": max(rss) / 1024 if rss else None,
            "exit_codes": seen(runs, "exit"),
            "reports": seen(runs, "instances"),
            "typical": typical(runs),
        }
    replayed = [r for mode, runs in per_mode.items() if mode != "live" for r in runs]
    rss = [r["rss_kib"] for r in replayed if r["rss_kib"]]
    return {
        "modes": modes,
        # memory over every replayed run (the live runs hold the same data, longer)
        "rss_mib": statistics.median(rss) / 1024 if rss else None,
        "rss_mib_max": max(rss) / 1024 if rss else None,
        "not_replayed": sum(m["not_replayed"] for name, m in modes.items() if name != "live"),
    }


#: (size, what, limit, mode ("first": the first model's replay; "all": every delayed replay),
#: figure).  MB = 10^6 bytes.
TARGETS = [
    (1, "chain", 4, "all"),
    (1, "calls", 25, "first"),
    (1000, "calls", 110, "first"),
    (1000, "wall", 3.0, "replay-flat50"),
    (1000, "memory", 60, None),
    (10000, "calls", 400, "first"),
    (10000, "memory", 150, None),
]


def fmt_ms(seconds: float | None) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds is not None else "n/a"


def fmt_seen(value: float | None, seen: list[Any]) -> str:
    if value is None:
        return "n/a"
    text = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
    if len(seen) > 1:
        text += f" (seen {'/'.join(map(str, seen))})"
    return text


def mode_label(mode: str, s: dict[str, Any]) -> str:
    first = s["models"][0]["name"]
    if mode == "live":
        return f"{first}, live moto"
    if mode == "replay-0ms":
        return "0 ms, replayed"
    return f"{mode.removeprefix('replay-')}, replayed"


def target_rows(s: dict[str, Any]) -> list[tuple[str, dict[str, tuple[str, str]]]]:
    """(target, {binary label: (measured, verdict)})."""
    labels = list(s["binaries"])
    by_size = {r["size"]: r for r in s["sizes"]}
    first = f"replay-{s['models'][0]['name']}"
    delayed = [m for m in s["modes"] if m.startswith("replay-") and m != "replay-0ms"]
    rows = []
    for size, what, limit, mode in TARGETS:
        r = by_size.get(size)
        if r is None:
            continue
        where = f"{size:,} instance{'s' if size > 1 else ''}"
        if size > 1:
            where += f" in {r['vpcs']} VPCs with {r['roles']} roles"
        if what == "chain":
            for m in delayed:
                cells = {}
                for label in labels:
                    x = r["binaries"][label]["modes"][m]
                    cells[label] = (fmt_seen(x["chain"], x["chain_seen"]), verdict(x["chain"], limit))
                rows.append((f"{where}: ≤ {limit} sequential round trips "
                             f"({m.removeprefix('replay-')})", cells))
        elif what == "calls":
            cells = {}
            for label in labels:
                x = r["binaries"][label]["modes"][first]
                cells[label] = (fmt_seen(x["calls"], x["calls_seen"]), verdict(x["calls"], limit))
            rows.append((f"{where}: ≤ {limit} API calls", cells))
        elif what == "wall":
            cells = {}
            for label in labels:
                x = r["binaries"][label]["modes"].get(mode)
                live = r["binaries"][label]["modes"]["live"]["wall_s"]
                if x is None:
                    cells[label] = (f"n/a (no {mode.removeprefix('replay-')} model)", "n/a")
                else:
                    cells[label] = (f"{x['wall_s']:.2f} s" + (f" (live moto: {live:.2f} s)"
                                                             if live is not None else ""),
                                    verdict(x["wall_s"], limit))
            rows.append((f"{where}: ≤ {limit:g} s wall at 50 ms per call", cells))
        elif what == "memory":
            cells = {}
            for label in labels:
                mib = r["binaries"][label]["rss_mib"]
                mb = mib * 1.048576 if mib is not None else None
                cells[label] = (f"{mb:.1f} MB" if mb is not None else "n/a", verdict(mb, limit))
            rows.append((f"{where}: peak memory ≤ {limit} MB", cells))
    cells = {label: (f"{h['median_ms']:.1f} ms", verdict(h["median_ms"], 20))
             for label, h in s["help"].items()}
    rows.append(("`ssm-doctor --help` starts in ≤ 20 ms", cells))
    return rows


def render(s: dict[str, Any]) -> str:
    m = s["machine"]
    load = lambda v: "/".join(f"{x:.2f}" for x in v) if v else "n/a"  # noqa: E731
    labels = list(s["binaries"])
    lines = [
        f"ssm-doctor benchmark, {s['date']}",
        f"machine: {m['nproc']} CPU ({m['cpu']}), {m['memory_gib']} GiB RAM, Linux "
        f"{m['kernel']}; load average {load(s['load_average_start'])} at start, "
        f"{load(s['load_average_end'])} at end (the benchmark itself keeps it near 1-2)",
    ]
    for label, b in s["binaries"].items():
        lines.append(f"{label}: {b['path']}: {b['build']}")
    lines.append("latency models: " + "; ".join(f"{x['name']}: {x['describe']}"
                                                for x in s["models"]))
    live = ", ".join(f"{int(k):,}: {v}" for k, v in s["live_runs"].items())
    lines.append(f"medians of {s['runs']} runs per replay mode and of the live runs (per size: "
                 f"{live}), after a warm-up run each (live: up to {s['live_warmup_max']:,} "
                 "instances); the caller is "
                 + ("the seeded IAM user moto" if s["operator_user"] else
                    "IAM user moto, not seeded (its IAM reads fail)")
                 + (f"; tool arguments added: {' '.join(s['tool_args'])}" if s["tool_args"] else ""))

    header = ("| instances (VPCs, roles) | answers | wall | tool CPU (user+sys) | "
              "API calls (tool's count) | retries | longest chain | peak RSS | moto busy | "
              "not from recording |")
    for label in labels:
        lines += ["", f"### {label}: {s['binaries'][label]['path']}", "", header,
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for r in s["sizes"]:
            res = r["binaries"][label]
            for mode in s["modes"][1:] + ["live"]:
                x = res["modes"][mode]
                tool = "/".join(map(str, x["tool_api_calls_seen"])) or "n/a"
                calls = f"{fmt_seen(x['calls'], x['calls_seen'])} ({tool})"
                retries = "/".join(map(str, x["retries_seen"])) or "–"
                chain = "–" if mode == "replay-0ms" else fmt_seen(x["chain"], x["chain_seen"])
                rss = f"{x['rss_mib']:.1f} MiB" if x["rss_mib"] is not None else "n/a"
                busy = fmt_ms(x["emulator_busy_s"]) if mode == "live" else "–"
                missing = "–" if mode == "live" else f"{x['not_replayed']}"
                lines.append(
                    f"| {r['size']:,} ({r['vpcs']}, {r['roles']}) | {mode_label(mode, s)} | "
                    f"{fmt_ms(x['wall_s'])} | {fmt_ms(x['cpu_s'])} | {calls} | {retries} | "
                    f"{chain} | {rss} | {busy} | {missing} |")

    if len(labels) == 2:
        a, b = labels  # before, after
        lines += ["", f"### {a} → {b}", "",
                  "| instances (VPCs, roles) | answers | API calls | longest chain | wall | "
                  "tool CPU | peak RSS |", "|---|---|---|---|---|---|---|"]

        def pair(key: str, x: dict[str, Any], y: dict[str, Any], f: Callable[[Any], str]) -> str:
            return f"{f(x[key])} → {f(y[key])}"

        count = lambda v: f"{v:,.0f}" if v is not None else "n/a"  # noqa: E731
        mib = lambda v: f"{v:.1f} MiB" if v is not None else "n/a"  # noqa: E731
        for r in s["sizes"]:
            for mode in s["modes"][1:] + ["live"]:
                x, y = (r["binaries"][lb]["modes"][mode] for lb in labels)
                chain = "–" if mode == "replay-0ms" else pair("chain", x, y, count)
                lines.append(
                    f"| {r['size']:,} ({r['vpcs']}, {r['roles']}) | {mode_label(mode, s)} | "
                    f"{pair('calls', x, y, count)} | {chain} | {pair('wall_s', x, y, fmt_ms)} | "
                    f"{pair('cpu_s', x, y, fmt_ms)} | {pair('rss_mib', x, y, mib)} |")

    lines += ["", "| target | " + " | ".join(labels) + " |",
              "|---|" + "---|" * len(labels)]
    for name, cells in target_rows(s):
        lines.append(f"| {name} | " + " | ".join(
            f"{cells[lb][0]}: {cells[lb][1]}" if lb in cells else "n/a" for lb in labels) + " |")

    lines.append("")
    for label, h in s["help"].items():
        lines.append(
            f"`--help` ({label}): median {h['median_ms']:.1f} ms over {h['runs']} runs "
            f"({h['method']}"
            + (f"; spawning `true` the same way takes {h['spawn_floor_ms']:.1f} ms"
               if "spawn_floor_ms" in h else "") + ")"
            + (f"; peak RSS {h['rss_kib'] / 1024:.1f} MiB." if h.get("rss_kib") else "."))
    not_replayed = {label: sum(r["binaries"][label]["not_replayed"] for r in s["sizes"])
                    for label in labels}
    lines += [
        "Requests of replayed runs that had no recorded answer (answered by moto): "
        + ", ".join(f"{label} {n}" for label, n in not_replayed.items()) + ".",
        f"Seeding took {s['seed_seconds']:.0f} s ("
        + ", ".join(f"{int(k):,}: {v:.0f} s" for k, v in s["seed_seconds_per_size"].items())
        + f"); the whole benchmark {s['total_seconds']:.0f} s.",
    ]
    for r in s["sizes"]:
        for label in labels:
            for mode in s["modes"][1:-1]:  # the delayed replay modes
                t = r["binaries"][label]["modes"][mode]["typical"]
                if not t or not t.get("levels"):
                    continue
                lines += [
                    "",
                    f"Median run, {label}, {r['size']:,} instance(s), {mode_label(mode, s)}: "
                    f"wall {t['wall'] * 1000:,.0f} ms = {t['before_first_ms']:,.0f} ms from spawn "
                    f"to the first request + {t['span_ms']:,.0f} ms from the first request to the "
                    f"last answer (at least one request outstanding during "
                    f"{t['outstanding_s'] * 1000:,.0f} ms of it) + {t['after_last_ms']:,.0f} ms "
                    f"from the last answer to exit; the tool's own stats.duration_ms: "
                    f"{t['tool_duration_ms']}; tool CPU {(t['cpu_s'] or 0) * 1000:,.0f} ms. "
                    "Chain levels (level: calls, first start–last end in ms after the first "
                    "request, operations):",
                    "",
                ]
                for lv in t["levels"]:
                    ops = ", ".join(f"{k.split(':', 1)[1]}×{v}" if v > 1 else k.split(":", 1)[1]
                                    for k, v in lv["operations"].items())
                    lines.append(f"- {lv['level']}: {lv['calls']} calls, "
                                 f"{lv['first_start_ms']:,.0f}–{lv['last_end_ms']:,.0f} ms: {ops}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
