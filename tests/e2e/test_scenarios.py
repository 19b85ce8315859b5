"""The real binary, the real AWS SDK and real HTTP against the local emulator.

Test order matters and is the file's order: the scenarios (all run up front by the ``suite``
fixture), usage errors, the AccessDenied scenario (it turns moto's IAM enforcement on for a while,
so nothing else may run then), the output schema, and last the request-log tests, which look at
every API call the binary made across the suite, test_fleet.py's runs included (conftest.py moves
them to the end of the session).
"""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path

import pytest

from conftest import Suite
from emulator import as_moto_enforces
from harness import MAX_ATTEMPTS, OUT, ROOT, Run, assert_reports_match_schema, run_tool
from denial import policy_actions
from scenarios import (
    ACCOUNT,
    AUTH_SCENARIO,
    CHECK_IDS,
    NOT_OBSERVED,
    PAGES,
    SCENARIOS,
    SESSION_ACTIONS,
    WARN_AT_WORST,
    Scenario,
)

EXIT_FOR_VERDICT = {"pass": 0, "warn": 0, "fail": 1, "incomplete": 3}
READ_PREFIXES = ("Describe", "Get", "List", "Simulate")
IAM_POLICY = ROOT / "docs" / "iam-policy.json"


def _expected_substrings(pattern: str, ids: dict[str, str]) -> list[str]:
    return [alt.format(**ids) for alt in pattern.split("|")]


def assert_report(scenario: Scenario, ids: dict[str, str], run: Run) -> None:
    """Everything a scenario declares, checked against one run of the binary."""
    context = f"scenario {scenario.name}: {scenario.doc}\n{run.describe()}"
    assert run.report is not None, f"stdout is not JSON ({run.parse_error})\n{context}"
    report = run.report

    unobserved = {c for group in report.get("not_observed", []) for c in group["checks"]}
    ids_seen = [c["id"] for c in report["checks"]] + sorted(unobserved)
    assert sorted(ids_seen) == sorted(CHECK_IDS), f"check ids differ\n{context}"

    expected = scenario.expected_statuses()
    actual = run.statuses() | {c: NOT_OBSERVED for c in unobserved}
    diff = {
        c: f"expected {expected[c]}, got {actual[c]}: "
        f"{run.check(c).get('message') if c not in unobserved else ''}"
        for c in CHECK_IDS
        if expected[c] != actual[c]
    }
    failing = {c for c, s in actual.items() if s == "fail"}
    assert not diff and failing == scenario.expect_fail, (
        f"failing checks {sorted(failing)}, expected {sorted(scenario.expect_fail)}; "
        f"status differences: {json.dumps(diff, indent=2)}\n{context}"
    )
    assert run.returncode == scenario.exit_code, (
        f"exit code {run.returncode}, expected {scenario.exit_code}\n{context}"
    )

    for check_id, patterns in scenario.expect_message.items():
        check = run.check(check_id)
        text = check.get("message", "") + " " + json.dumps(check.get("evidence"))
        for pattern in patterns:
            alternatives = _expected_substrings(pattern, ids)
            assert any(a in text for a in alternatives), (
                f"{check_id}'s message/evidence names none of {alternatives}\n{context}"
            )

    # the report is consistent with itself
    summary = {s: sum(1 for v in actual.values() if v == s)
               for s in ("pass", "warn", "fail", "skip", "error")}
    assert report["summary"] == summary, f"summary {report['summary']} != {summary}\n{context}"
    verdict = (
        "fail" if summary["fail"] else "incomplete" if summary["error"]
        else "warn" if summary["warn"] else "pass"
    )
    assert report["verdict"] == verdict, f"verdict {report['verdict']} != {verdict}\n{context}"
    assert EXIT_FOR_VERDICT[verdict] == run.returncode, context
    assert report["schema_version"] == 2
    assert report["target"]["instance_id"] == ids["instance"]
    assert report["target"]["region"] == (scenario.run_region or scenario.region)
    assert report["target"]["account"] == ACCOUNT
    for check in report["checks"]:
        if check["status"] in ("fail", "warn"):
            assert check.get("remediation"), f"{check['id']} {check['status']} without remediation"


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_scenario(scenario: Scenario, suite: Suite, emulator) -> None:
    seeded = suite.seeded[scenario.name]
    assert seeded.error is None, f"seeding failed:\n{seeded.error}"
    run = suite.runs[scenario.name]
    assert_report(scenario, seeded.ids, run)
    if scenario.max_seconds is not None:
        assert run.seconds <= scenario.max_seconds, (
            f"took {run.seconds:.1f}s, more than {scenario.max_seconds}s"
        )
    if scenario.fault is not None:
        hits = [
            r for r in emulator.requests(access_key=seeded.access_key)
            if r["action"] == scenario.fault.operation
        ]
        assert hits, f"the binary never called {scenario.fault.operation}: the fault tested nothing"
        fails = scenario.fault.status is not None or scenario.fault.delay >= scenario.timeout
        attempts = [(r["status"], r.get("injected", False)) for r in hits]
        if scenario.fault.status == 403:
            # a refusal is final: asked once, never retried
            assert attempts == [(403, True)], attempts
        elif fails:
            # every call of the operation is tried exactly --max-attempts times, no more
            assert len(hits) % MAX_ATTEMPTS == 0 and len(hits) <= 3 * MAX_ATTEMPTS, (
                f"{len(hits)} attempts at {scenario.fault.operation} with --max-attempts "
                f"{MAX_ATTEMPTS}: {attempts}"
            )
        else:
            # slow but successful: nothing is retried
            assert all(r["status"] == 200 for r in hits) and len(hits) <= 2, attempts


def test_every_check_breaks_somewhere() -> None:
    """The issue's coverage rule, checked on the declarations themselves."""
    broken = set().union(*(s.expect_fail for s in SCENARIOS))
    # What only `ssm-doctor local` observes breaks in tests/local.rs (loopback fakes of IMDS,
    # DNS, the endpoints, a proxy, systemctl): no emulator stands in for an instance's inside.
    judged_here = {c for c in CHECK_IDS if PAGES[c]["vantage"] != "instance"}
    assert broken == judged_here - WARN_AT_WORST, (
        f"no scenario fails {sorted(judged_here - WARN_AT_WORST - broken)}"
    )
    assert sum(1 for s in SCENARIOS if len(s.expect_fail) >= 2) >= 3, "too few compound cases"
    for s in SCENARIOS:
        assert s.exit_code == (1 if s.expect_fail else 3 if s.expect_error else 0), s.name


def test_stats_count_the_calls_made(suite: Suite, emulator) -> None:
    """report.stats.api_calls is the number of requests the run made (scenarios without an
    injected fault, where no request is retried)."""
    wrong = {}
    for name, run in suite.runs.items():
        seeded = suite.seeded[name]
        if seeded.scenario.fault is not None or run.report is None:
            continue
        made = len(emulator.requests(access_key=seeded.access_key))
        if run.report["stats"]["api_calls"] != made:
            wrong[name] = (run.report["stats"]["api_calls"], made)
    assert not wrong, f"(stats.api_calls, requests seen by the emulator): {wrong}"


def test_bad_usage_exit_code(suite: Suite, emulator) -> None:
    """Exit code 2 for input that cannot name an instance, and for an unknown option value."""
    bad_id = run_tool(emulator.url, "not-an-instance-id", "us-east-1",
                      access_key="AKIAE2EBADUSAGE00001")
    assert bad_id.returncode == 2, bad_id.describe()
    bad_output = run_tool(emulator.url, "i-0123456789abcdef0", "us-east-1",
                          access_key="AKIAE2EBADUSAGE00001", output_json=False,
                          extra=["--output", "yaml"])
    assert bad_output.returncode == 2, bad_output.describe()


# ------------------------------------------------------------------------------------------------
# AccessDenied: moto's IAM enforcement, a caller who may not ec2:DescribeNetworkAcls
# ------------------------------------------------------------------------------------------------

#: What ssm-doctor reads, and what a person starting sessions needs.
TOOL_READS = policy_actions() + SESSION_ACTIONS


def test_access_denied(suite: Suite, emulator) -> None:
    seeded = suite.auth
    assert seeded.error is None, f"seeding failed:\n{seeded.error}"
    iam = emulator.client("iam")
    user = "ssm-doctor-e2e-reader"
    iam.create_user(UserName=user)
    iam.put_user_policy(
        UserName=user,
        PolicyName="reads-but-not-nacls",
        PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": as_moto_enforces(TOOL_READS), "Resource": "*"},
                {"Effect": "Deny", "Action": "ec2:DescribeNetworkAcls", "Resource": "*"},
            ],
        }),
    )
    key = iam.create_access_key(UserName=user)["AccessKey"]
    emulator.enable_iam_auth()
    try:
        run = run_tool(
            emulator.url, seeded.ids["instance"], AUTH_SCENARIO.region,
            access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"],
            name=AUTH_SCENARIO.name,
        )
    finally:
        emulator.disable_iam_auth()
    assert_report(AUTH_SCENARIO, seeded.ids, run)

    # "nothing else changes": every other check as in the healthy run of the same shape
    healthy = suite.runs["healthy-public-igw"].statuses()
    changed = {c: (healthy[c], s) for c, s in run.statuses().items() if healthy[c] != s}
    assert changed == {"network.nacl": ("pass", "error")}, changed

    denied = [r for r in emulator.requests(access_key=key["AccessKeyId"])
              if r["action"] == "ec2:DescribeNetworkAcls"]
    assert denied and all(r["status"] == 403 for r in denied), denied
    # The collector reads the role the profile names, never one guessed from the profile's name
    # (here they differ). No session preferences are saved in the region: their document is
    # answered 400 InvalidDocument. Every other read succeeds.
    others = [r for r in emulator.requests(access_key=key["AccessKeyId"])
              if r["action"] != "ec2:DescribeNetworkAcls"]
    refused = sorted((r["action"], r["status"]) for r in others if r["status"] != 200)
    assert others and refused == [("ssm:GetDocument", 400)], refused


# ------------------------------------------------------------------------------------------------
# The output schema and the request log (after every run above)
# ------------------------------------------------------------------------------------------------


def test_output_matches_schema(suite: Suite) -> None:
    assert assert_reports_match_schema(suite.runs) > 0


def _tool_requests(emulator) -> list[dict]:
    entries = emulator.requests(client="tool")
    assert entries, "the request log holds no call of the binary"
    return entries


def test_request_log_only_reads(suite: Suite, emulator) -> None:
    writes = sorted({
        r["action"] for r in _tool_requests(emulator)
        if not r["operation"].startswith(READ_PREFIXES)
    })
    assert not writes, f"the binary made non-read calls: {writes}"


def test_request_log_within_shipped_iam_policy(suite: Suite, emulator) -> None:
    assert IAM_POLICY.exists(), f"{IAM_POLICY.relative_to(ROOT)} (least-privilege policy) is missing"
    document = json.loads(IAM_POLICY.read_text())
    statements = document["Statement"]
    statements = [statements] if isinstance(statements, dict) else statements
    patterns = []
    for st in statements:
        if st.get("Effect") != "Allow":
            continue
        actions = st.get("Action", [])
        patterns += [actions] if isinstance(actions, str) else actions
    used = sorted({r["action"] for r in _tool_requests(emulator)})
    missing = [
        a for a in used
        if not any(fnmatch.fnmatchcase(a.lower(), p.lower()) for p in patterns)
    ]
    assert not missing, f"called but not in {IAM_POLICY.name}: {missing}"
    (OUT / "actions-used.json").write_text(json.dumps(used, indent=2))
