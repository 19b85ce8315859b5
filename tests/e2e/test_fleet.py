"""Fleet mode end to end: several instances at once (ids, stdin, --asg, --tag, --vpc, --all,
--unmanaged), the fleet document and its tables, exit codes, selection errors, and the API economy
that is the point of the mode (requests grow with VPCs, profiles and policies, not instances).

The world (fleet.py) is seeded once and every case's binary run made, in parallel, before the first
assertion, as for the scenarios. Each run signs with its own access key, so the emulator's request
log tells each run's requests apart.
"""

from __future__ import annotations

import fnmatch
import json
import re
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

from conftest import JOBS, TIMINGS
from fleet import (
    ACCOUNT,
    ASG_NAME,
    ECO_CHUNKS,
    ECO_CUSTOMER_POLICIES,
    ECO_INLINE_POLICIES,
    ECO_MANAGED_POLICIES,
    ECO_PROFILES,
    ECO_SIZES,
    ECO_VPCS,
    FLEET_CASES,
    MISSING_201,
    OPERATOR_READS,
    REGION,
    FleetCase,
    World,
    call_budget,
    seed_world,
)
from harness import ROOT, Run, assert_reports_match_schema, run_binary
from scenarios import CHECK_IDS, report_statuses

EXIT_FOR_VERDICT = {"pass": 0, "warn": 0, "fail": 1, "incomplete": 3}
VERDICT_WORD = {"pass": "✓ pass", "warn": "! warn", "fail": "✗ fail", "incomplete": "? incomplete"}
READ_PREFIXES = ("Describe", "Get", "List", "Simulate")
IAM_POLICY = ROOT / "docs" / "iam-policy.json"
CASES = {c.name: c for c in FLEET_CASES}


def access_key_for(index: int) -> str:
    return f"AKIAE2EFLEET{index:08d}"


@dataclass
class Fleet:
    world: World
    runs: dict[str, Run]
    keys: dict[str, str]  # case name → the access key its run signed with


@pytest.fixture(scope="module")
def fleet(emulator, binary) -> Fleet:
    started = time.monotonic()
    world = seed_world(emulator)
    TIMINGS["seed the fleet world"] = time.monotonic() - started
    keys = {c.name: access_key_for(i + 1) for i, c in enumerate(FLEET_CASES)}
    for c in FLEET_CASES:
        if c.fault is not None:
            emulator.set_fault(c.fault.operation, access_key=keys[c.name], status=c.fault.status,
                               delay=c.fault.delay)

    def one(c: FleetCase) -> tuple[str, Run]:
        args = c.args(world) + ([] if c.output == "json" else ["--output", c.output])
        return c.name, run_binary(
            emulator.url, args, c.region, access_key=keys[c.name],
            stdin=c.stdin(world) if c.stdin else None, name=f"fleet-{c.name}",
            output_json=c.output == "json",
        )

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=JOBS) as pool:
        runs = dict(pool.map(one, FLEET_CASES))
    emulator.wait_idle()
    TIMINGS[f"run the binary on {len(runs)} fleet cases ({JOBS} at a time)"] = (
        time.monotonic() - started
    )
    return Fleet(world, runs, keys)


def _context(case: FleetCase, run: Run) -> str:
    return f"fleet case {case.name}: {case.doc}\n{run.describe()}"


def _expected_first_problem(statuses: dict[str, str]) -> set[str]:
    """The check ids a report's first problem may be: a failing one, else an error, else a warn."""
    for status in ("fail", "error", "warn"):
        ids = {c for c, s in statuses.items() if s == status}
        if ids:
            return ids
    return {"-"}


def _verdict(statuses: dict[str, str]) -> str:
    values = set(statuses.values())
    return ("fail" if "fail" in values else "incomplete" if "error" in values
            else "warn" if "warn" in values else "pass")


def assert_instance_report(case: FleetCase, world: World, report: dict, context: str) -> None:
    """One entry of ``reports`` (or the single report) against its instance's expectation."""
    iid = report["target"]["instance_id"]
    expected = case.expected_statuses(world, iid)
    actual = report_statuses(report)
    assert sorted(actual) == sorted(CHECK_IDS), f"{iid}: check ids differ\n{context}"
    diff = {c: f"expected {expected[c]}, got {actual[c]}" for c in CHECK_IDS
            if expected[c] != actual[c]}
    label = "does not exist" if iid in case.missing else world.expect[iid].label
    assert not diff, f"{iid} ({label}): {json.dumps(diff, indent=2)}\n{context}"

    summary = {s: sum(1 for v in actual.values() if v == s)
               for s in ("pass", "warn", "fail", "skip", "error")}
    assert report["summary"] == summary, f"{iid}: summary {report['summary']}\n{context}"
    assert report["verdict"] == _verdict(actual), f"{iid}: verdict {report['verdict']}\n{context}"
    assert report["schema_version"] == 2
    target = report["target"]
    # a case over several regions finds the fleet world's instances, which live in REGION
    several = "," in case.region or case.region == "all"
    assert target["region"] == (REGION if several else case.region), context
    assert target["account"] == ACCOUNT, context
    assert target.get("name") == world.names.get(iid), (
        f"{iid}: name {target.get('name')!r}, expected {world.names.get(iid)!r}\n{context}"
    )
    for check in report["checks"]:
        if check["status"] in ("fail", "warn"):
            assert check.get("remediation"), f"{iid}: {check['id']} without remediation"


def assert_fleet_document(case: FleetCase, world: World, run: Run) -> None:
    context = _context(case, run)
    doc = run.report
    assert doc is not None, f"stdout is not JSON ({run.parse_error})\n{context}"
    if case.single:
        assert "reports" not in doc and "checks" in doc, f"not a single report\n{context}"
        reports = [doc]
    else:
        assert set(doc) == {"schema_version", "reports", "summary", "causes", "stats"}, (
            f"fleet document keys {sorted(doc)}\n{context}"
        )
        assert doc["schema_version"] == 2
        reports = doc["reports"]
    ids = [r["target"]["instance_id"] for r in reports]
    assert len(ids) == len(set(ids)), f"an instance is reported twice: {ids}\n{context}"
    expected_ids = case.expected_ids(world)
    assert set(ids) == expected_ids, (
        f"reported but not expected: {sorted(set(ids) - expected_ids)}; expected but not "
        f"reported: {sorted(expected_ids - set(ids))}\n{context}"
    )
    for report in reports:
        assert_instance_report(case, world, report, context)
    verdicts = Counter(r["verdict"] for r in reports)
    worst = (1 if verdicts["fail"] else 3 if verdicts["incomplete"] else 0)
    assert worst == case.exit_code, f"the declared exit code contradicts the verdicts\n{context}"
    assert run.returncode == case.exit_code, (
        f"exit code {run.returncode}, expected {case.exit_code}\n{context}"
    )
    if case.single:
        return
    assert doc["summary"] == {
        "instances": len(reports), "pass": verdicts["pass"], "warn": verdicts["warn"],
        "fail": verdicts["fail"], "incomplete": verdicts["incomplete"],
    }, f"fleet summary {doc['summary']}\n{context}"
    # Every instance that did not pass is in exactly one cause, the largest cause first, each
    # cause its instances' first problem (docs/output.md).
    grouped = [i for c in doc["causes"] for i in c["instances"]]
    unhealthy = {r["target"]["instance_id"] for r in reports if r["verdict"] != "pass"}
    assert sorted(grouped) == sorted(unhealthy), f"causes {doc['causes']}\n{context}"
    sizes = [len(c["instances"]) for c in doc["causes"]]
    assert sizes == sorted(sizes, reverse=True), f"causes not largest first: {sizes}\n{context}"
    by_id = {r["target"]["instance_id"]: r for r in reports}
    for cause in doc["causes"]:
        for instance in cause["instances"]:
            statuses = {c["id"]: c["status"] for c in by_id[instance]["checks"]}
            assert statuses.get(cause["check"]) == cause["status"], (
                f"{instance}: {cause['check']} is not {cause['status']}\n{context}")
    # each report's stats are its instance's share of the run's (docs/output.md)
    for r in reports:
        mine, run_total = r["stats"], doc["stats"]
        assert mine["api_calls"] <= run_total["api_calls"], f"{mine} > {run_total}\n{context}"
        assert mine["duration_ms"] <= run_total["duration_ms"], f"{mine} > {run_total}\n{context}"


def assert_human_table(case: FleetCase, world: World, run: Run) -> None:
    context = _context(case, run)
    assert run.returncode == case.exit_code, f"exit code {run.returncode}\n{context}"
    expected = {i: case.expected_statuses(world, i) for i in case.expected_ids(world)}
    lines = run.stdout.splitlines()
    assert re.match(rf"ssm-doctor · {len(expected)} instances · account {ACCOUNT} · "
                    rf"{case.region}$", lines[0]), context
    header = next(i for i, line in enumerate(lines) if line.startswith("INSTANCE"))
    assert lines[header].split() == ["INSTANCE", "NAME", "VERDICT", "FIRST", "PROBLEM"], context
    rows = {}
    for line in lines[header + 1:]:
        if not line.strip():
            break
        rows[line.split()[0]] = line
    assert set(rows) == set(expected), f"table rows {sorted(rows)}\n{context}"
    verdicts = Counter()
    for iid, statuses in expected.items():
        _, name, *rest = rows[iid].split()
        verdict = _verdict(statuses)
        verdicts[verdict] += 1
        assert name == (world.names.get(iid) or "-")[:18], f"{iid}: name column\n{context}"
        assert " ".join(rest[:2]) == VERDICT_WORD[verdict], f"{iid}: verdict column\n{context}"
        assert rest[2] in _expected_first_problem(statuses), f"{iid}: first problem\n{context}"
    summary = (f"{verdicts['pass']} pass, {verdicts['warn']} warn, {verdicts['fail']} fail, "
               f"{verdicts['incomplete']} incomplete · ")
    assert any(line.startswith(summary) and " API calls in " in line for line in lines), context


def assert_markdown(case: FleetCase, world: World, run: Run) -> None:
    context = _context(case, run)
    assert run.returncode == case.exit_code, f"exit code {run.returncode}\n{context}"
    expected = {i: case.expected_statuses(world, i) for i in case.expected_ids(world)}
    text = run.stdout
    assert text.startswith(f"## ssm-doctor: {len(expected)} instances in `{case.region}`"), context
    assert "| Instance | Name | Verdict | First problem |" in text, context
    rows = re.findall(r"^\| `(i-[0-9a-f]+)` \| ([^|]*) \| ([^|]+) \| ([^|]+) \|$", text, re.M)
    assert {r[0] for r in rows} == set(expected) and len(rows) == len(expected), context
    for iid, name, verdict_word, first in rows:
        statuses = expected[iid]
        verdict = _verdict(statuses)
        assert name == (world.names.get(iid) or ""), f"{iid}: name cell\n{context}"
        assert verdict_word == VERDICT_WORD[verdict], f"{iid}: verdict cell\n{context}"
        assert first.strip("`") in _expected_first_problem(statuses), f"{iid}\n{context}"
        details = f"<details><summary><code>{iid}</code>"
        # details for every instance that does not pass, and only for those
        assert (details in text) == (verdict != "pass"), f"{iid}: details\n{context}"


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, marks=pytest.mark.xfail(strict=True, reason=c.known_bug))
     if c.known_bug else c for c in FLEET_CASES],
    ids=[c.name for c in FLEET_CASES],
)
def test_fleet_case(case: FleetCase, fleet: Fleet, emulator) -> None:
    run = fleet.runs[case.name]
    if case.output == "human":
        assert_human_table(case, fleet.world, run)
    elif case.output == "markdown":
        assert_markdown(case, fleet.world, run)
    else:
        assert_fleet_document(case, fleet.world, run)
    if case.fault is not None:
        hits = [r for r in emulator.requests(access_key=fleet.keys[case.name])
                if r["action"] == case.fault.operation]
        assert hits and all(r.get("injected") for r in hits), "the fault tested nothing"


def test_fleet_output_matches_schema(fleet: Fleet) -> None:
    checked = assert_reports_match_schema(fleet.runs)
    assert checked == len([c for c in FLEET_CASES if c.output == "json"])


def _calls(emulator, key: str) -> Counter:
    return Counter(r["action"] for r in emulator.requests(access_key=key))


def _stated_calls(run: Run) -> int:
    if run.report is not None:
        return run.report["stats"]["api_calls"]
    found = re.search(r"(\d+) API calls in \d+ ms", run.stdout)
    assert found, run.describe()
    return int(found.group(1))


def test_fleet_stats_count_the_calls_made(fleet: Fleet, emulator) -> None:
    """stats.api_calls (or the tables' "N API calls") is what the emulator saw (runs without an
    injected fault, where nothing is retried)."""
    wrong = {}
    for c in FLEET_CASES:
        if c.fault is not None or not c.expected_ids(fleet.world):
            continue  # empty selections: test_fleet_empty_selection_counts_its_calls
        made = sum(_calls(emulator, fleet.keys[c.name]).values())
        stated = _stated_calls(fleet.runs[c.name])
        if stated != made:
            wrong[c.name] = (stated, made)
    assert not wrong, f"(stats.api_calls, requests seen by the emulator): {wrong}"


def test_fleet_empty_selection_counts_its_calls(fleet: Fleet, emulator) -> None:
    for name in ("tag-and-vpc-nothing", "unmanaged-all-online"):
        made = sum(_calls(emulator, fleet.keys[name]).values())
        assert made > 0 and _stated_calls(fleet.runs[name]) == made, (name, made)


def test_fleet_api_economy(fleet: Fleet, emulator) -> None:
    """10, 30 and 60 instances over the same 2 VPCs and 2 roles: the same requests, but for the one
    more DescribeInstanceInformation that ids 51..60 need; and never more than the budget that
    the VPCs, profiles and policies allow."""
    calls = {n: _calls(emulator, fleet.keys[f"eco-{n}"]) for n in ECO_SIZES}
    explicit = _calls(emulator, fleet.keys["eco-30-ids-stdin"])
    table = "\n".join(
        f"  {a:<36} " + " ".join(f"{calls[n][a]:>3}" for n in ECO_SIZES) + f" {explicit[a]:>3}"
        for a in sorted(set().union(*calls.values(), explicit))
    )
    context = f"requests per action for 10 / 30 / 60 instances / 30 explicit ids:\n{table}"
    for n in ECO_SIZES:
        run = fleet.runs[f"eco-{n}"]
        assert run.report is not None and len(run.report["reports"]) == n, run.describe()
        budget = call_budget(n, vpcs=ECO_VPCS, profiles=ECO_PROFILES,
                             managed=ECO_MANAGED_POLICIES, inline=ECO_INLINE_POLICIES,
                             unshipped=ECO_CUSTOMER_POLICIES)
        over = {a: (k, budget.get(a, 0)) for a, k in calls[n].items() if k > budget.get(a, 0)}
        assert not over, f"{n} instances: (made, budget) {over}\n{context}"
        # the batching the fleet mode promises, exactly
        assert calls[n]["ec2:DescribeInstances"] == 1, context
        assert calls[n]["ssm:DescribeInstanceInformation"] == -(-n // 50), context
        # one question per kind of network object for both VPCs; the two DNS attributes of the
        # VPC whose interface endpoints use private DNS (eco_b) only
        for op in ("DescribeRouteTables", "DescribeSecurityGroups", "DescribeNetworkAcls"):
            assert calls[n][f"ec2:{op}"] == 1, context
        assert calls[n]["ec2:DescribeVpcAttribute"] == 2, context
        # Session Manager's connection status: 10 instances a run at most
        assert calls[n]["ssm:GetConnectionStatus"] == min(n, 10), context
        assert calls[n]["iam:GetInstanceProfile"] == ECO_PROFILES, context
        assert calls[n]["iam:GetRole"] == ECO_PROFILES, context
        assert calls[n]["iam:GetPolicy"] == ECO_MANAGED_POLICIES, context
        assert calls[n]["iam:GetPolicyVersion"] == ECO_CUSTOMER_POLICIES, context
        # each report counts the calls its own facts came from (docs/output.md): one number for
        # the instances of one VPC and profile, and never the other VPC's calls
        total = run.report["stats"]["api_calls"]
        by_group = defaultdict(set)
        for r in run.report["reports"]:
            by_group[r["target"]["name"]].add(r["stats"]["api_calls"])
        assert len(by_group) == len(ECO_CHUNKS), (by_group, context)
        assert all(len(counts) == 1 for counts in by_group.values()), (by_group, context)
        assert all(0 < k < total for counts in by_group.values() for k in counts), (total, by_group)
    assert calls[30] == calls[10], context
    assert sum(calls[30].values()) == sum(calls[10].values()), context
    assert calls[60] - calls[30] == Counter({"ssm:DescribeInstanceInformation": 1}), context
    assert calls[30] - calls[60] == Counter(), context
    assert explicit == calls[30], context


def test_fleet_explicit_ids_are_batched(fleet: Fleet, emulator) -> None:
    """201 explicit ids: DescribeInstances by 200 ids, DescribeInstanceInformation by 50; no VPC or
    IAM question, since no instance exists."""
    run = fleet.runs["ids-201-missing"]
    assert run.report is not None and len(run.report["reports"]) == 201, run.describe()
    calls = _calls(emulator, fleet.keys["ids-201-missing"])
    assert calls == Counter({
        "sts:GetCallerIdentity": 1, "ssm:GetServiceSetting": 1, "ssm:GetDocument": 1,
        "iam:SimulatePrincipalPolicy": 1,
        "ec2:DescribeInstances": 2, "ssm:DescribeInstanceInformation": 5, **OPERATOR_READS,
    }), calls
    budget = call_budget(len(MISSING_201), vpcs=0, profiles=0, managed=0, inline=0,
                         explicit_ids=len(MISSING_201))
    assert all(k <= budget.get(a, 0) for a, k in calls.items()), (calls, budget)


def test_fleet_asg_asks_the_group_once(fleet: Fleet, emulator) -> None:
    calls = _calls(emulator, fleet.keys["asg"])
    assert calls["autoscaling:DescribeAutoScalingGroups"] == 1, calls
    assert calls["ec2:DescribeInstances"] == 1, calls


# ------------------------------------------------------------------------------------------------
# Selection errors
# ------------------------------------------------------------------------------------------------

#: Invocations refused before any AWS request: (name, arguments, known tool bug or None).
USAGE_ERRORS = [
    ("tag-without-equals", ["--tag", "team"], None),
    ("tag-empty-key", ["--tag", "=payments"], None),
    ("vpc-malformed", ["--vpc", "vpc-123"], None),
    ("vpc-uppercase", ["--vpc", "vpc-0123456789ABCDEF0"], None),
    ("all-and-vpc", ["--all", "--vpc", "vpc-0123456789abcdef0"], None),
    ("all-and-ids", ["--all", "i-0123456789abcdef0"], None),
    ("all-and-tag", ["--all", "--tag", "a=b"], None),
    ("all-and-asg", ["--all", "--asg", ASG_NAME], None),
    ("bad-id-among-good", ["i-0123456789abcdef0", "i-123"], None),
    ("nothing-selected", [], None),
    ("unmanaged-alone", ["--unmanaged"], None),
]


@pytest.mark.parametrize(
    "index", [pytest.param(k, marks=pytest.mark.xfail(strict=True, reason=bug)) if bug else k
              for k, (_, _, bug) in enumerate(USAGE_ERRORS)],
    ids=[name for name, _, _ in USAGE_ERRORS],
)
def test_fleet_usage_error(index: int, fleet: Fleet, emulator) -> None:
    """Exit 2 and a message on stderr, before any AWS request."""
    key = f"AKIAE2EFLEETUSAGE{index:03d}"
    # the world is seeded: a run that wrongly diagnoses the region has something to find
    run = run_binary(emulator.url, USAGE_ERRORS[index][1], "us-east-1", access_key=key)
    assert run.returncode == 2, run.describe()
    assert run.stdout == "" and run.stderr.strip(), run.describe()
    assert emulator.requests(access_key=key) == [], "a usage error made AWS requests"


@pytest.mark.parametrize("stdin", ["", "  \n\t\n", "i-0123456789abcdef0 not-an-id\n"],
                         ids=["empty", "blank", "bad-id"])
def test_fleet_stdin_usage_error(stdin: str, fleet: Fleet, emulator) -> None:
    key = "AKIAE2EFLEETSTDIN" + {"": "001", "  \n\t\n": "002"}.get(stdin, "003")
    run = run_binary(emulator.url, ["-"], "us-east-1", access_key=key, stdin=stdin)
    assert run.returncode == 2, run.describe()
    assert run.stdout == "" and run.stderr.strip(), run.describe()
    assert emulator.requests(access_key=key) == [], "a usage error made AWS requests"


def test_fleet_unknown_asg(fleet: Fleet, emulator) -> None:
    """No such group: exit 3 and one line on stderr saying so, nothing on stdout."""
    key = "AKIAE2EFLEETNOASG001"
    for output in ("json", "human"):
        run = run_binary(emulator.url, ["--asg", "e2e-fleet-no-such-group"], "us-east-1",
                         access_key=key, output_json=output == "json")
        assert run.returncode == 3, run.describe()
        assert run.stdout == "", run.describe()
        lines = run.stderr.strip().splitlines()
        assert len(lines) == 1, run.describe()
        assert lines[0].startswith("ssm-doctor: error: cannot list the instances to diagnose: "), (
            run.describe())
        assert "there is no Auto Scaling group named" in lines[0], run.describe()
        assert "e2e-fleet-no-such-group" in lines[0] and "us-east-1" in lines[0], run.describe()
    asked = {r["action"] for r in emulator.requests(access_key=key)}
    assert "autoscaling:DescribeAutoScalingGroups" in asked, asked
    assert "ec2:DescribeInstances" not in asked, asked


# ------------------------------------------------------------------------------------------------
# The request log of the fleet runs (test_scenarios.py's request-log tests see them too)
# ------------------------------------------------------------------------------------------------


def _policy_patterns() -> list[str]:
    document = json.loads(IAM_POLICY.read_text())
    statements = document["Statement"]
    statements = [statements] if isinstance(statements, dict) else statements
    patterns: list[str] = []
    for st in statements:
        if st.get("Effect") == "Allow":
            actions = st.get("Action", [])
            patterns += [actions] if isinstance(actions, str) else actions
    return patterns


def test_fleet_requests_are_reads_within_shipped_policy(fleet: Fleet, emulator) -> None:
    entries = [r for r in emulator.requests(client="tool")
               if r["access_key"] and r["access_key"].startswith("AKIAE2EFLEET")]
    used = {r["action"] for r in entries}
    assert "autoscaling:DescribeAutoScalingGroups" in used, sorted(used)
    writes = sorted({r["action"] for r in entries if not r["operation"].startswith(READ_PREFIXES)})
    assert not writes, f"fleet runs made non-read calls: {writes}"
    patterns = _policy_patterns()
    missing = sorted(a for a in used
                     if not any(fnmatch.fnmatchcase(a.lower(), p.lower()) for p in patterns))
    assert not missing, f"called but not in {IAM_POLICY.name}: {missing}"
