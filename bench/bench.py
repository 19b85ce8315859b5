"""The ssm-doctor performance benchmark (run it with ``bench/run``; see docs/performance.md).

1. Starts the end-to-end suite's emulator (moto + the SSM extension, tests/e2e/emulator.py) in this
   process, and three latency proxies (bench/proxy.py, each its own process) in front of it:
   ``live`` adds ``--delay`` (default 50 ms) to every request and records every answer;
   ``replay`` adds the same delay but answers from the recorded answers, so the emulator's own
   time drops out; ``replay-0ms`` answers from the recording without delay.
2. Seeds three fleets into one region, each tagged ``bench-fleet=<size>``: 1 instance (1 VPC),
   100 instances (2 VPCs), 1,000 instances (10 VPCs). VPCs alternate between a NAT shape (public
   subnet, internet gateway, NAT gateway, three private subnets routed to it) and an endpoint shape
   (three private subnets, no default route, interface endpoints for ssm/ssmmessages/ec2messages
   with private DNS and a 443 security group). Three roles, each in an instance profile of the same
   name (as the console makes them): AmazonSSMManagedInstanceCore; Core plus a customer-managed
   policy; an inline policy. Most agents are registered Online, 1 in 20 ConnectionLost, 1 in 20 not
   at all.
3. Runs the binary, each run signing with its own dummy access key so that the proxy log can be
   split per run: size 1 as ``ssm-doctor <id>``, the fleets as ``ssm-doctor --tag bench-fleet=N``
   (exactly the seeded set), always ``--output json``. Per size: the live runs first (which record
   the answers), then the replayed runs, then the replayed runs without delay; each mode starts with
   a warm-up run that is not counted.
4. Reports per size the medians of wall time, API calls (proxy log, cross-checked with the tool's
   ``stats.api_calls``), the longest chain of sequential calls (proxy log: chain(r) = 1 + the longest
   chain among requests that had ended before r started), peak RSS and CPU time (GNU time's %M, %U,
   %S), and the emulator's share; then the start time of ``ssm-doctor --help``. Each figure with a
   target is compared to it (PASS/MISS).

Two in-process adjustments of the emulator, neither of which changes an answer: TCP_NODELAY on its
sockets, and an index for ssm_extension's instance lookup (see below).

Outputs land in bench/out/: results.json, results.md (the table), proxy logs, the tool's outputs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

import emulator as e2e_emulator  # noqa: E402  (sets moto's environment before moto loads)
from emulator import Emulator  # noqa: E402


def _nodelay_setup(self) -> None:  # noqa: ANN001
    """The emulator's werkzeug handler writes a response's headers and body in two writes; with
    Nagle on, the body can wait for the proxy's delayed ACK. Turned off here (in this process only;
    tests/e2e is not changed) so that the emulator's share is its own work."""
    _original_setup(self)
    self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


_original_setup = e2e_emulator._QuietHandler.setup
e2e_emulator._QuietHandler.setup = _nodelay_setup

import ssm_extension  # noqa: E402  (the module the emulator installed)

_instance_index: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}


def _indexed_ec2_instance(account: str, region: str, instance_id: str) -> Any:
    """ssm_extension looks each managed node's instance up with moto's get_instance_by_id, a scan
    of every reservation: for 1,000 nodes that is a million steps per DescribeInstanceInformation
    call, an emulator cost no AWS region has.  Same answers from an index, rebuilt whenever the
    number of reservations changes (in this process only; tests/e2e is not changed)."""
    from moto.ec2.models import ec2_backends

    try:
        backend = ec2_backends[account][region]
        count = len(backend.reservations)  # a reservation's instances are fixed when it is made
    except Exception:  # noqa: BLE001 - an account/region moto has not seen, as the original
        return None
    cached = _instance_index.get((account, region))
    if cached is None or cached[0] != count:
        index: dict[str, Any] = {}
        for r in list(backend.reservations.values()):
            for i in r.instances:
                index.setdefault(i.id, i)
        cached = _instance_index[(account, region)] = (count, index)
    return cached[1].get(instance_id)


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
#: (instances, VPCs) per fleet.
SIZES = [(1, 1), (100, 2), (1000, 10)]
#: Instances per RunInstances call while seeding.
BATCH = 100


# ------------------------------------------------------------------------------------------------
# Seeding
# ------------------------------------------------------------------------------------------------


class Seeder:
    def __init__(self, emu: Emulator):
        self.emu = emu
        self.ec2 = emu.client("ec2", REGION)
        self.iam = emu.client("iam", REGION)
        self.vpc_count = 0
        self.profiles: list[str] = []

    def roles(self) -> list[str]:
        """Three roles, each in an instance profile of the same name; returns the profile ARNs."""
        custom = self.iam.create_policy(
            PolicyName="bench-cloudwatch-agent", Path="/bench/",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow",
                "Action": ["cloudwatch:PutMetricData", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": "*"}]}),
        )["Policy"]["Arn"]
        inline_core = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["ssm:UpdateInstanceInformation", "ssmmessages:*",
                                           "ec2messages:*"], "Resource": "*"}]}
        specs = [
            ("bench-role-core", [CORE], None),
            ("bench-role-core-cw", [CORE, custom], None),
            ("bench-role-inline", [], inline_core),
        ]
        arns = []
        for name, managed, inline in specs:
            self.iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(EC2_TRUST))
            for arn in managed:
                self.iam.attach_role_policy(RoleName=name, PolicyArn=arn)
            if inline:
                self.iam.put_role_policy(RoleName=name, PolicyName="ssm-core",
                                         PolicyDocument=json.dumps(inline))
            arn = self.iam.create_instance_profile(InstanceProfileName=name)["InstanceProfile"]["Arn"]
            self.iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
            arns.append(arn)
        self.profiles = arns
        return arns

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

    def fleet(self, size: int, vpcs: int) -> list[str]:
        """``size`` instances tagged bench-fleet=size, spread over ``vpcs`` new VPCs, their three
        private subnets and the three profiles; agents registered (most Online)."""
        ids: list[str] = []
        per_vpc = [size // vpcs + (1 if i < size % vpcs else 0) for i in range(vpcs)]
        for v, count in enumerate(per_vpc):
            net = self.vpc(size)
            # three groups per VPC (one per subnet), each with its own profile
            groups = [count // 3 + (1 if i < count % 3 else 0) for i in range(3)]
            for g, n in enumerate(groups):
                while n > 0:
                    batch = min(n, BATCH)
                    n -= batch
                    out = self.ec2.run_instances(
                        ImageId=AMI, InstanceType="t3.micro", MinCount=batch, MaxCount=batch,
                        SubnetId=net["subnets"][g], SecurityGroupIds=[net["sg"]],
                        IamInstanceProfile={"Arn": self.profiles[(v + g) % 3]},
                        MetadataOptions={"HttpTokens": "required", "HttpEndpoint": "enabled"},
                        TagSpecifications=[{"ResourceType": "instance", "Tags": [
                            {"Key": "Name", "Value": f"bench-{size}-{v}-{g}"},
                            {"Key": TAG_KEY, "Value": str(size)}]}],
                    )
                    ids += [i["InstanceId"] for i in out["Instances"]]
        for n, iid in enumerate(ids):
            if size > 1 and n % 20 == 7:
                continue  # agent never registered
            status = "ConnectionLost" if size > 1 and n % 20 == 13 else "Online"
            self.emu.register_agent(iid, region=REGION, account=ACCOUNT, ping_status=status)
        return ids


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
    return env


class Runner:
    def __init__(self, binary: Path, time_bin: str | None):
        self.binary = binary
        self.time_bin = time_bin
        self.rss_file = Path(tempfile.mkstemp(prefix="bench-rss-")[1])

    def run(self, args: list[str], env: dict[str, str] | None, name: str,
            timeout: float = 300) -> dict[str, Any]:
        """One run of the binary: wall seconds (process start to exit), exit code, peak RSS (KiB),
        the parsed JSON output."""
        cmd = [str(self.binary), *args]
        if self.time_bin:
            cmd = [self.time_bin, "-f", "%M %U %S", "-o", str(self.rss_file), *cmd]
        out_path, err_path = OUT / f"{name}.stdout.json", OUT / f"{name}.stderr.txt"
        with out_path.open("wb") as out, err_path.open("wb") as err:
            spawned_at = time.time()
            started = time.perf_counter()
            proc = subprocess.run(cmd, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                  timeout=timeout)
            wall = time.perf_counter() - started
            exited_at = time.time()
        rss = cpu = None
        if self.time_bin:
            # GNU time prints "Command exited with non-zero status N" first when N != 0
            lines = self.rss_file.read_text().strip().splitlines()
            fields = lines[-1].split() if lines else []
            if len(fields) == 3:
                rss, cpu = int(fields[0]), float(fields[1]) + float(fields[2])
        try:
            report = json.loads(out_path.read_text())
        except ValueError:
            report = None
        return {"wall": wall, "exit": proc.returncode, "rss_kib": rss, "cpu_s": cpu,
                "report": report,
                "spawned_at": spawned_at, "exited_at": exited_at}


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


# ------------------------------------------------------------------------------------------------
# Analysing the proxy log
# ------------------------------------------------------------------------------------------------


def read_log(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def chains(entries: list[dict[str, Any]]) -> list[int]:
    """chain(r) = 1 + max chain(q) over the requests q that had ended before r started."""
    order = sorted(range(len(entries)), key=lambda i: entries[i]["start"])
    chain = [0] * len(entries)
    for i in order:
        before = [chain[j] for j in order if entries[j]["end"] <= entries[i]["start"]]
        chain[i] = 1 + max(before, default=0)
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


def analyse(entries: list[dict[str, Any]]) -> dict[str, Any]:
    if not entries:
        return {"calls": 0, "chain": 0, "levels": [], "operations": {}, "replayed": 0,
                "max_in_flight": 0, "emulator_busy_s": 0.0, "emulator_sum_s": 0.0,
                "outstanding_s": 0.0, "slowest_upstream": None, "non_200": 0}
    chain = chains(entries)
    t0 = min(e["start"] for e in entries)
    levels: dict[int, list[dict[str, Any]]] = {}
    for e, c in zip(entries, chain):
        levels.setdefault(c, []).append(e)
    level_rows = []
    for c in sorted(levels):
        es = levels[c]
        ops = Counter(f"{e['service']}:{e['operation']}" for e in es)
        level_rows.append({
            "level": c,
            "calls": len(es),
            "first_start_ms": round((min(e["start"] for e in es) - t0) * 1000, 1),
            "last_end_ms": round((max(e["end"] for e in es) - t0) * 1000, 1),
            "operations": dict(sorted(ops.items())),
        })
    return {
        "calls": len(entries),
        "chain": max(chain),
        "levels": level_rows,
        "operations": dict(sorted(Counter(
            f"{e['service']}:{e['operation']}" for e in entries).items())),
        "max_in_flight": max_in_flight(entries),
        "emulator_busy_s": union_seconds([(e["up_start"], e["up_end"]) for e in entries]),
        "emulator_sum_s": sum(e["up_end"] - e["up_start"] for e in entries),
        "outstanding_s": union_seconds([(e["start"], e["end"]) for e in entries]),
        "slowest_upstream": max(
            ({"op": f"{e['service']}:{e['operation']}",
              "ms": round((e["up_end"] - e["up_start"]) * 1000, 1)} for e in entries),
            key=lambda x: x["ms"]),
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


def start_proxy(upstream: str, delay: float, log: Path, cache: Path,
                cache_mode: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, str(BENCH / "proxy.py"), "--upstream", upstream, "--delay", str(delay),
         "--log", str(log), "--cache", str(cache), "--cache-mode", cache_mode],
        stdout=subprocess.PIPE, text=True,
    )
    line = proc.stdout.readline().strip()
    if not line.startswith("listening "):
        proc.kill()
        raise RuntimeError(f"proxy did not start: {line!r}")
    return proc, f"http://127.0.0.1:{line.split()[1]}"


def help_timing(runner: Runner, n: int) -> dict[str, Any]:
    """Start-up of ``ssm-doctor --help``: hyperfine when installed, else timed spawns from here,
    with a spawn of /bin/true timed the same way as the floor of this method."""
    rss = runner.run(["--help"], None, "help")["rss_kib"]
    hyperfine = shutil.which("hyperfine")
    if hyperfine:
        export = OUT / "help.hyperfine.json"
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


#: How each size is run: (mode, delay, proxy cache mode).  ``replay``: answers recorded from the
#: emulator during the ``live`` runs, so the figure is the tool's own time plus the injected latency.
MODES = ("live", "replay", "replay-0ms")


def main() -> int:
    parser = argparse.ArgumentParser(description="ssm-doctor performance benchmark")
    parser.add_argument("--runs", type=int, default=5,
                        help="timed runs per size with replayed answers (each mode adds a warm-up)")
    parser.add_argument("--live-runs", type=int, default=3,
                        help="timed runs per size against the live emulator")
    parser.add_argument("--delay", type=float, default=0.05, help="proxy delay per request (s)")
    parser.add_argument("--help-runs", type=int, default=100, help="timed runs of `--help`")
    parser.add_argument("--sizes", default="1,100,1000", help="comma-separated: 1, 100, 1000")
    parser.add_argument("--build", default=os.environ.get("BENCH_BUILD", "unknown"),
                        help="label of the binary's build, for the report")
    args = parser.parse_args()
    sizes = [s for s in SIZES if str(s[0]) in args.sizes.split(",")]

    binary = Path(os.environ.get("SSM_DOCTOR_BIN") or ROOT / "target" / "debug" / "ssm-doctor")
    if not os.access(binary, os.X_OK):
        print(f"bench: {binary} not found: cargo build first, or set SSM_DOCTOR_BIN",
              file=sys.stderr)
        return 1
    OUT.mkdir(exist_ok=True)
    for stale in OUT.glob("*"):
        if stale.is_file():
            stale.unlink()
    cache = OUT / "answers"
    shutil.rmtree(cache, ignore_errors=True)
    time_bin = gnu_time()
    if not time_bin:
        print("bench: GNU time not found (/usr/bin/time): peak memory will not be measured",
              file=sys.stderr)
    runner = Runner(binary, time_bin)
    started_all = time.monotonic()
    load_start = loadavg()
    if load_start and load_start[0] > 0.5 * (os.cpu_count() or 1):
        print(f"bench: warning: load average {load_start[0]:.2f} on {os.cpu_count()} CPUs: other "
              "work is running, the timings will be noisy", file=sys.stderr)

    # --help first, while this process is small and idle
    print(f"bench: timing `{binary.name} --help` ({args.help_runs} runs)", flush=True)
    help_res = help_timing(runner, args.help_runs)

    emu = Emulator(OUT / "emulator-requests.jsonl").start()
    proxies: list[subprocess.Popen] = []
    try:
        logs = {m: OUT / f"proxy-{m}.jsonl" for m in MODES}
        urls = {}
        for mode, delay, cache_mode in (("live", args.delay, "record"),
                                        ("replay", args.delay, "replay"),
                                        ("replay-0ms", 0.0, "replay")):
            proc, urls[mode] = start_proxy(emu.url, delay, logs[mode], cache, cache_mode)
            proxies.append(proc)

        t = time.monotonic()
        seeder = Seeder(emu)
        seeder.roles()
        fleets = {}
        for size, vpcs in sizes:
            fleets[size] = seeder.fleet(size, vpcs)
            print(f"bench: seeded {size} instance(s) in {vpcs} VPC(s) "
                  f"({time.monotonic() - t:.1f}s so far)", flush=True)
        seed_s = time.monotonic() - t

        results = []
        for size, vpcs in sizes:
            selection = ([fleets[size][0]] if size == 1 else ["--tag", f"{TAG_KEY}={size}"])
            cli = [*selection, "--region", REGION, "--output", "json"]
            per_mode: dict[str, list[dict[str, Any]]] = {m: [] for m in MODES}
            for mode in MODES:
                runs = args.live_runs if mode == "live" else args.runs
                for rep in range(runs + 1):  # the first run of each mode is a warm-up
                    key = f"AKIABENCH{size:05d}{MODES.index(mode)}{rep:03d}"
                    run = runner.run(cli, tool_env(urls[mode], key), f"run-{size}-{mode}-{rep}")
                    emu.wait_idle()
                    time.sleep(0.1)  # the proxy logs a request just after answering it
                    entries = [e for e in read_log(logs[mode]) if e["access_key"] == key]
                    stats = find_stats(run["report"]) or {}
                    if entries:
                        # tool-side time before its first request and after its last answer
                        run["before_first_ms"] = (min(e["start"] for e in entries)
                                                  - run["spawned_at"]) * 1000
                        run["after_last_ms"] = (run["exited_at"]
                                                - max(e["end"] for e in entries)) * 1000
                    run.update(analyse(entries), key=key, rep=rep, mode=mode,
                               tool_api_calls=stats.get("api_calls"),
                               tool_duration_ms=stats.get("duration_ms"),
                               instances=count_instances(run["report"]))
                    run.pop("report")
                    if rep > 0:
                        per_mode[mode].append(run)
                    print(f"bench: size {size:>4} {mode:<10} run {rep}{' (warm-up)' if not rep else ''}: "
                          f"{run['wall'] * 1000:7.0f} ms, {run['calls']} calls "
                          f"({run['replayed']} replayed), chain {run['chain']}, exit {run['exit']}, "
                          f"{run['instances']} reports, peak RSS {run['rss_kib']} KiB", flush=True)
            results.append(summarise(size, vpcs, per_mode))
        total_s = time.monotonic() - started_all
    finally:
        for p in proxies:
            p.terminate()
            p.wait(timeout=10)
        emu.stop()
        runner.rss_file.unlink(missing_ok=True)

    summary = {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine(),
        "binary": str(binary),
        "build": args.build,
        "delay_ms": args.delay * 1000,
        "runs": args.runs,
        "live_runs": args.live_runs,
        "seed_seconds": round(seed_s, 1),
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


def summarise(size: int, vpcs: int, per_mode: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    live, rep, rep0 = per_mode["live"], per_mode["replay"], per_mode["replay-0ms"]
    every = live + rep + rep0

    def med(runs: list[dict[str, Any]], key: str) -> float | None:
        vals = [r[key] for r in runs if r.get(key) is not None]
        return statistics.median(vals) if vals else None

    def typical(runs: list[dict[str, Any]]) -> dict[str, Any]:
        """The median run by wall time, kept whole as the evidence."""
        if not runs:
            return {}
        r = sorted(runs, key=lambda r: r["wall"])[len(runs) // 2]
        return {k: r.get(k) for k in (
            "key", "wall", "calls", "chain", "levels", "operations", "slowest_upstream",
            "non_200", "tool_api_calls", "tool_duration_ms", "emulator_busy_s",
            "outstanding_s", "max_in_flight", "before_first_ms", "after_last_ms", "cpu_s",
            "span_ms")}

    rss = [r["rss_kib"] for r in every if r["rss_kib"]]
    return {
        "size": size,
        "vpcs": vpcs,
        "reports": sorted({r["instances"] for r in every if r["instances"] is not None}),
        "exit_codes": sorted({r["exit"] for r in every}),
        "wall_s": med(rep, "wall"),
        "wall_s_runs": [round(r["wall"], 3) for r in rep],
        "wall_live_s": med(live, "wall"),
        "wall_live_s_runs": [round(r["wall"], 3) for r in live],
        "wall_0ms_s": med(rep0, "wall"),
        "cpu_s": med(rep, "cpu_s"),
        "tool_duration_ms": med(rep, "tool_duration_ms"),
        "emulator_busy_live_s": med(live, "emulator_busy_s"),
        "emulator_sum_live_s": med(live, "emulator_sum_s"),
        "no_request_outstanding_s": (med(rep, "wall") or 0) - (med(rep, "outstanding_s") or 0),
        "before_first_request_ms": med(rep, "before_first_ms"),
        "after_last_answer_ms": med(rep, "after_last_ms"),
        "calls": med(rep, "calls"),
        "calls_seen": sorted({r["calls"] for r in every}),
        "tool_api_calls_seen": sorted({r["tool_api_calls"] for r in every
                                       if r["tool_api_calls"] is not None}),
        "not_replayed": sum(r["calls"] - r["replayed"] for r in rep + rep0),
        "chain": med(rep, "chain"),
        "chain_seen": sorted({r["chain"] for r in rep}),
        "chain_live_seen": sorted({r["chain"] for r in live}),
        "max_in_flight": max((r["max_in_flight"] for r in rep), default=None),
        "rss_mib": statistics.median(rss) / 1024 if rss else None,
        "rss_mib_max": max(rss) / 1024 if rss else None,
        "typical_replay": typical(rep),
        "typical_live": typical(live),
    }


TARGETS = {
    # size: (max chain, max calls, max wall s, max RSS in MB = 10^6 bytes)
    1: (4, 25, None, None),
    1000: (None, 150, 3.0, 100),
}


def render(s: dict[str, Any]) -> str:
    m = s["machine"]
    d = f"{s['delay_ms']:.0f} ms"
    load = lambda v: "/".join(f"{x:.2f}" for x in v) if v else "n/a"  # noqa: E731
    lines = [
        f"ssm-doctor benchmark, {s['date']}",
        f"machine: {m['nproc']} CPU ({m['cpu']}), {m['memory_gib']} GiB RAM, Linux "
        f"{m['kernel']}; load average {load(s['load_average_start'])} at start, "
        f"{load(s['load_average_end'])} at end (the benchmark itself keeps it near 1-2)",
        f"build: {s['build']}",
        f"{d} per request; medians of {s['runs']} runs (replayed answers) and {s['live_runs']} "
        "runs (live emulator), after one warm-up run each",
        "",
        f"| instances (VPCs) | wall, {d}/call | wall, {d}/call, live emulator | "
        "emulator busy (live) | wall, 0 ms/call | tool CPU (user+sys) | "
        "API calls (tool's count) | longest chain | peak RSS |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    checks = []
    for r in s["sizes"]:
        t = TARGETS.get(r["size"], (None, None, None, None))
        calls = f"{r['calls']:.0f}"
        if len(r["calls_seen"]) > 1:
            calls += f" (seen {'/'.join(map(str, r['calls_seen']))})"
        tool = "/".join(map(str, r["tool_api_calls_seen"])) or "n/a"
        calls += f" ({tool})"
        chain = f"{r['chain']:.0f}"
        if len(r["chain_seen"]) > 1:
            chain += f" (seen {'/'.join(map(str, r['chain_seen']))})"
        rss = f"{r['rss_mib']:.1f} MiB" if r["rss_mib"] is not None else "n/a"
        cpu = f"{r['cpu_s'] * 1000:,.0f} ms" if r.get("cpu_s") is not None else "n/a"
        lines.append(
            f"| {r['size']:,} ({r['vpcs']}) | {r['wall_s'] * 1000:,.0f} ms | "
            f"{r['wall_live_s'] * 1000:,.0f} ms | {r['emulator_busy_live_s'] * 1000:,.0f} ms | "
            f"{r['wall_0ms_s'] * 1000:,.0f} ms | {cpu} | {calls} | {chain} | {rss} |"
        )
        if t[0] is not None:
            checks.append((f"{r['size']:,} instance: sequential round trips ≤ {t[0]}",
                           chain, verdict(r["chain"], t[0])))
        if t[1] is not None:
            checks.append((f"{r['size']:,} instance{'s' if r['size'] > 1 else ''}: API calls "
                           f"≤ {t[1]}", f"{r['calls']:.0f}", verdict(r["calls"], t[1])))
        if t[2] is not None:
            checks.append((f"{r['size']:,} instances in {r['vpcs']} VPCs: wall ≤ {t[2]:.0f} s at "
                           f"{d} per call", f"{r['wall_s']:.2f} s (live emulator: "
                           f"{r['wall_live_s']:.2f} s)", verdict(r["wall_s"], t[2])))
        if t[3] is not None:
            mb = r["rss_mib"] * 1.048576 if r["rss_mib"] is not None else None
            checks.append((f"{r['size']:,} instances: peak memory ≤ {t[3]} MB",
                           f"{mb:.1f} MB" if mb is not None else "n/a", verdict(mb, t[3])))
    h = s["help"]
    checks.append(("`ssm-doctor --help` starts in ≤ 20 ms", f"{h['median_ms']:.1f} ms",
                   verdict(h["median_ms"], 20)))
    lines += ["", "| target | measured | |", "|---|---|---|"]
    lines += [f"| {name} | {shown} | {v} |" for name, shown, v in checks]
    not_replayed = sum(r["not_replayed"] for r in s["sizes"])
    lines += [
        "",
        f"`--help`: median {h['median_ms']:.1f} ms over {h['runs']} runs ({h['method']}"
        + (f"; spawning `true` the same way takes {h['spawn_floor_ms']:.1f} ms"
           if "spawn_floor_ms" in h else "") + ")"
        + (f"; peak RSS {h['rss_kib'] / 1024:.1f} MiB." if h.get("rss_kib") else "."),
        f"Requests of replayed runs that had no recorded answer (asked of the emulator): "
        f"{not_replayed}.",
        f"Seeding took {s['seed_seconds']:.0f} s; the whole benchmark {s['total_seconds']:.0f} s.",
    ]
    for r in s["sizes"]:
        t = r["typical_replay"]
        if not t:
            continue
        lines += [
            "",
            f"Median replayed run, {r['size']:,} instance(s), {d}/call: wall "
            f"{t['wall'] * 1000:,.0f} ms = {t['before_first_ms']:,.0f} ms from spawn to the "
            f"first request + {t['span_ms']:,.0f} ms from the first request to the last answer "
            f"(at least one request outstanding during {t['outstanding_s'] * 1000:,.0f} ms of "
            f"it) + {t['after_last_ms']:,.0f} ms from the last answer to exit; the tool's own "
            f"stats.duration_ms: {t['tool_duration_ms']:,} ms; tool CPU "
            f"{(t['cpu_s'] or 0) * 1000:,.0f} ms. Chain levels (level: calls, first start–last "
            "end in ms after the first request, operations):",
            "",
        ]
        for lv in t["levels"]:
            ops = ", ".join(f"{k.split(':', 1)[1]}×{v}" if v > 1 else k.split(":", 1)[1]
                            for k, v in lv["operations"].items())
            lines.append(f"- {lv['level']}: {lv['calls']} calls, {lv['first_start_ms']:,.0f}–"
                         f"{lv['last_end_ms']:,.0f} ms: {ops}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
