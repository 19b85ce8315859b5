"""The denial matrix: every action of docs/iam-policy.json denied in turn, for one instance and for
the fleet selectors ``--asg``, ``--tag`` and ``--all``, under moto's IAM enforcement.

For each mode (denial.py's MODES) a *baseline* caller may do every action of the policy; for each
action A another caller may do the same but for an explicit Deny of exactly A. Each caller's run is
compared with its mode's baseline run, check by check, instance by instance:

* nothing crashes: exit code 0, 1 or 3 (never 101, never 4), nothing "panicked" or "internal
  error" on stderr, a JSON document on stdout;
* a check whose status differs from the baseline is ``error`` and its message names A; some
  changed check says ``denied: A`` (and its remediation names A); every other check keeps the
  baseline status;
* a denial alone never makes pass or fail: an instance with a changed check is ``incomplete`` and
  the run exits 3; an instance without keeps the baseline verdict (and the run its exit code);
* the request log: A, when the baseline run of the mode asked it, was asked again and answered 403;
  when it did not (``autoscaling:DescribeAutoScalingGroups`` outside ``--asg``), nothing changed and
  A was not asked; every action the mode asks changes some check when denied (mode.no_effect lists
  the documented exceptions), sts:GetCallerIdentity excepted: no policy can deny it (STS API
  reference), and moto answers it regardless, so its Deny must change nothing at all;
* for a fleet selector whose listing call is denied (``ec2:DescribeInstances``; for ``--asg`` also
  ``autoscaling:DescribeAutoScalingGroups``): exit 3, nothing on stdout, one line on stderr
  "ssm-doctor: error: cannot list the instances to diagnose: … denied: A …".

Which actions a mode uses is read from its baseline run's requests, never written down here, and
the list of actions is read from docs/iam-policy.json. All enforced runs happen inside the
module-scoped ``matrix`` fixture (seeded first, enforcement turned off again in a ``finally``), in
parallel (E2E_JOBS, default 4), before the first assertion.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest

from conftest import JOBS, TIMINGS
from denial import (
    MODES,
    UNDENIABLE,
    DenialWorld,
    Mode,
    policy_actions,
    seed_denial_world,
)
from emulator import as_moto_enforces
from harness import OUT, Run, assert_reports_match_schema, run_binary, run_tool
from scenarios import CHECK_IDS, SESSION_ACTIONS, report_statuses
from tasks import TASK_ONLY_ACTIONS

ACTIONS = policy_actions()
EXIT_FOR_VERDICT = {"pass": 0, "warn": 0, "fail": 1, "incomplete": 3}
LISTING_ERROR = "ssm-doctor: error: cannot list the instances to diagnose: "


def slug(action: str | None) -> str:
    return (action or "baseline").replace(":", ".")


@dataclass
class Case:
    mode: Mode
    action: str | None  # None: the baseline caller
    key: str = ""
    secret: str = ""
    run: Run | None = None


@dataclass
class Matrix:
    world: DenialWorld
    cases: dict[tuple[str, str | None], Case]
    used: dict[str, set[str]]  # mode → actions its baseline run asked
    seconds: float

    def case(self, mode: Mode, action: str | None) -> Case:
        return self.cases[(mode.name, action)]


OPERATORS = "e2e-denial-operators"
#: Actions the denial world never makes the tool ask, and where their denial is tested instead.
OUTSIDE_THE_WORLD = {
    "ec2:DescribeRegions": "read only for --region all, which no mode of the denial world uses "
    "(one region each): the fleet case all-regions asks it",
    "ec2:GetConsoleOutput": "read only for an agent that is not Online, and every instance of the "
    "denial world is (its baselines must pass): the scenario api-denied-get-console-output "
    "denies it",
    # ssm:DescribeParameters, the maintenance window, association and patch baseline reads …
    **{action: f"asked only by `ssm-doctor {command}`, which no mode of the denial world runs: "
       "test_tasks.py denies it in turn (under the same enforcement) for its healthy runs"
       for action, command in TASK_ONLY_ACTIONS.items()},
}


def _caller_policy(action: str | None) -> dict:
    statements: list[dict[str, Any]] = [
        {"Effect": "Allow", "Action": as_moto_enforces(ACTIONS), "Resource": "*"}]
    if action is not None:
        statements.append({"Effect": "Deny", "Action": as_moto_enforces(action), "Resource": "*"})
    return {"Version": "2012-10-17", "Statement": statements}


def _run(emulator, world: DenialWorld, case: Case) -> Run:
    mode = case.mode
    name = f"denial-{mode.name}-{slug(case.action)}"
    if mode.fleet:
        return run_binary(emulator.url, mode.args(world), mode.region, access_key=case.key,
                          secret_key=case.secret, name=name)
    (iid,) = mode.args(world)
    return run_tool(emulator.url, iid, mode.region, access_key=case.key, secret_key=case.secret,
                    name=name)


@pytest.fixture(scope="module")
def matrix(emulator, binary) -> Matrix:
    started = time.monotonic()
    world = seed_denial_world(emulator)
    iam = emulator.client("iam")
    # The callers start sessions through a group's policy, so that reading a caller's groups is
    # asked (and can be denied) too.
    iam.create_group(GroupName=OPERATORS)
    iam.put_group_policy(GroupName=OPERATORS, PolicyName="sessions", PolicyDocument=json.dumps(
        {"Version": "2012-10-17",
         "Statement": [{"Effect": "Allow", "Action": [*SESSION_ACTIONS, "kms:GenerateDataKey"],
                        "Resource": "*"}]}))
    cases: dict[tuple[str, str | None], Case] = {}
    for mode in MODES:
        for action in [None, *ACTIONS]:
            user = f"e2e-denial-{mode.name}-{slug(action)}"
            iam.create_user(UserName=user)
            iam.add_user_to_group(GroupName=OPERATORS, UserName=user)
            iam.put_user_policy(UserName=user, PolicyName="ssm-doctor-but-one",
                                PolicyDocument=json.dumps(_caller_policy(action)))
            key = iam.create_access_key(UserName=user)["AccessKey"]
            cases[(mode.name, action)] = Case(mode, action, key["AccessKeyId"],
                                              key["SecretAccessKey"])
    TIMINGS["seed the denial world and its callers"] = time.monotonic() - started

    started = time.monotonic()
    emulator.wait_idle()
    emulator.enable_iam_auth()
    try:
        # baselines first, so that they are not the last to finish
        todo = sorted(cases.values(), key=lambda c: c.action is not None)
        with ThreadPoolExecutor(max_workers=JOBS) as pool:
            for case, run in zip(todo, pool.map(lambda c: _run(emulator, world, c), todo)):
                case.run = run
        emulator.wait_idle()
    finally:
        emulator.disable_iam_auth()
    seconds = time.monotonic() - started
    TIMINGS[f"run the binary on {len(cases)} denial cases ({JOBS} at a time)"] = seconds
    used = {
        mode.name: {r["action"] for r in
                    emulator.requests(access_key=cases[(mode.name, None)].key)}
        for mode in MODES
    }
    matrix = Matrix(world, cases, used, seconds)
    _write_summary(matrix)
    return matrix


# ------------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------------


def _reports(run: Run, mode: Mode) -> dict[str, dict]:
    """instance id → its report (the single report, or each entry of a fleet's ``reports``)."""
    doc = run.report
    if not mode.fleet:
        assert "checks" in doc and "reports" not in doc, "not a single-instance report"
        return {doc["target"]["instance_id"]: doc}
    assert {"reports", "summary", "stats"} <= set(doc), f"fleet document keys {sorted(doc)}"
    reports = {r["target"]["instance_id"]: r for r in doc["reports"]}
    assert len(reports) == len(doc["reports"]), "an instance is reported twice"
    return reports


def _baseline_lines(reports: dict[str, dict]) -> str:
    lines = []
    for iid, r in reports.items():
        lines.append(f"  {iid} {r['verdict']}: " + " ".join(
            f"{c}={s}" for c, s in report_statuses(r).items()))
    return "\n".join(lines)


def _context(case: Case, baseline: Case) -> str:
    text = [f"denied action {case.action}, selector {case.mode.selector} "
            f"(mode {case.mode.name}, region {case.mode.region}, access key {case.key})",
            case.run.describe()]
    if case.run.report is not None and case.mode.fleet:  # describe() lists no messages there
        for r in case.run.report.get("reports", []):
            for c in r["checks"]:
                if c["status"] == "error":
                    text.append(f"  {r['target']['instance_id']} {c['id']}: {c.get('message')}")
    if baseline.run is not None and baseline.run.report is not None:
        try:
            lines = _baseline_lines(_reports(baseline.run, baseline.mode))
        except (AssertionError, KeyError, TypeError) as e:
            lines = f"  (unreadable: {e!r})"
        text.append(f"baseline (every action allowed): exit {baseline.run.returncode}\n{lines}")
    return "\n".join(text)


def _attempts(emulator, case: Case) -> list[tuple[int | None, bool]]:
    return [(r["status"], r.get("injected", False))
            for r in emulator.requests(access_key=case.key) if r["action"] == case.action]


def _changed_checks(case: Case, baseline: Case) -> dict[str, list[str]] | None:
    """instance id → the checks whose status differs from the baseline (None: no document)."""
    try:
        now, before = _reports(case.run, case.mode), _reports(baseline.run, baseline.mode)
    except (AssertionError, TypeError, KeyError):
        return None
    out = {}
    for iid, report in now.items():
        old = report_statuses(before.get(iid, {"checks": []}))
        diff = [f"{c}={s}" for c, s in report_statuses(report).items() if old.get(c) != s]
        if diff:
            out[iid] = diff
    return out


def _write_summary(matrix: Matrix) -> None:
    """OUT/denial-matrix.json: per mode and action, whether the mode asks it, the exit code and
    the checks that changed (for reading, not judged)."""
    summary: dict[str, dict] = {}
    for (mode_name, action), case in matrix.cases.items():
        if action is None:
            continue
        baseline = matrix.cases[(mode_name, None)]
        summary.setdefault(mode_name, {})[action] = {
            "asked_by_baseline": action in matrix.used[mode_name],
            "exit": case.run.returncode,
            "changed": _changed_checks(case, baseline),
            "stderr": case.run.stderr.strip()[-300:] if case.run.report is None else "",
        }
    (OUT / "denial-matrix.json").write_text(json.dumps(summary, indent=2))


# ------------------------------------------------------------------------------------------------
# Tests
# ------------------------------------------------------------------------------------------------


def test_denial_actions_come_from_the_policy(matrix: Matrix) -> None:
    """The matrix covers every action the tool asked in any mode, and every action of the policy
    is asked by some mode (else its row would test nothing)."""
    assert ACTIONS, "docs/iam-policy.json allows no action"
    asked = set().union(*matrix.used.values())
    assert asked <= set(ACTIONS), f"asked but not in the policy: {sorted(asked - set(ACTIONS))}"
    unused = [a for a in ACTIONS if a not in asked and a not in OUTSIDE_THE_WORLD]
    assert not unused, f"no mode of the denial world asks {unused}: {matrix.used}"


@pytest.mark.parametrize("mode", MODES, ids=[m.name for m in MODES])
def test_denial_baseline(mode: Mode, matrix: Matrix, emulator) -> None:
    """Every action allowed: each instance diagnoses as declared (denial.py), every request is
    answered 200 (the collector reads the role the profile names, never a guessed one)."""
    case = matrix.case(mode, None)
    run = case.run
    context = _context(case, case)
    assert run.returncode == 0, context
    assert run.report is not None, f"stdout is not JSON ({run.parse_error})\n{context}"
    reports = _reports(run, mode)
    expected_ids = set(matrix.world.group(*mode.groups))
    assert set(reports) == expected_ids, f"reported {sorted(reports)}\n{context}"
    for iid, report in reports.items():
        expected = matrix.world.expect[iid]
        want = expected.expected_statuses()
        got = report_statuses(report)
        assert sorted(got) == sorted(CHECK_IDS), context
        diff = {c: (want[c], got[c]) for c in CHECK_IDS if want[c] != got[c]}
        assert not diff, f"{iid} ({expected.name}): (expected, got) {diff}\n{context}"
        verdict = "warn" if "warn" in got.values() else "pass"
        assert report["verdict"] == verdict, context
    refused = sorted({(r["action"], r["status"]) for r in emulator.requests(access_key=case.key)
                      if r["status"] != 200})
    assert not refused, refused


@pytest.mark.parametrize("action", ACTIONS, ids=[slug(a) for a in ACTIONS])
@pytest.mark.parametrize("mode", MODES, ids=[m.name for m in MODES])
def test_denial(mode: Mode, action: str, matrix: Matrix, emulator) -> None:
    case, baseline = matrix.case(mode, action), matrix.case(mode, None)
    run = case.run
    context = _context(case, baseline)
    assert baseline.run.returncode == 0 and baseline.run.report is not None, (
        f"the baseline run is broken (see test_denial_baseline[{mode.name}])\n{context}")
    used = action in matrix.used[mode.name]
    attempts = _attempts(emulator, case)

    # ---- never a crash ----
    assert run.returncode in (0, 1, 3), f"exit code {run.returncode}\n{context}"
    stderr = run.stderr.lower()
    assert "panicked" not in stderr and "internal error" not in stderr, context

    # ---- the selection itself denied: no report, one line on stderr ----
    if action in mode.listing and action not in UNDENIABLE:
        assert used, f"{action} is declared the listing call but the baseline did not ask it"
        assert run.returncode == 3, f"exit code {run.returncode}, expected 3\n{context}"
        assert run.stdout.strip() == "", f"a report although nothing could be listed\n{context}"
        lines = run.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(LISTING_ERROR), context
        assert f"denied: {action}" in lines[0], context
        assert attempts and all(s == 403 for s, _ in attempts), f"{attempts}\n{context}"
        return

    assert run.report is not None, f"stdout is not JSON ({run.parse_error})\n{context}"
    reports = _reports(run, mode)
    base_reports = _reports(baseline.run, mode)
    assert set(reports) == set(base_reports), (
        f"instances reported {sorted(reports)}, baseline {sorted(base_reports)}\n{context}")

    # ---- only errors naming the action change; verdicts follow ----
    changed: dict[str, dict[str, tuple[str, str, dict]]] = {}
    wrong = []
    for iid, report in reports.items():
        before = report_statuses(base_reports[iid])
        checks = {c["id"]: c for c in report["checks"]}
        assert sorted(report_statuses(report)) == sorted(before), f"{iid}: check ids differ\n{context}"
        for cid, check in checks.items():
            if check["status"] == before[cid]:
                continue
            changed.setdefault(iid, {})[cid] = (before[cid], check["status"], check)
            message = check.get("message") or ""
            if check["status"] != "error" or action not in message:
                wrong.append(f"{iid} {cid}: {before[cid]} -> {check['status']}: {message}")
            elif not (check.get("remediation") or {}).get("text"):
                wrong.append(f"{iid} {cid}: error without remediation")
        verdict = "incomplete" if iid in changed else base_reports[iid]["verdict"]
        if report["verdict"] != verdict:
            wrong.append(f"{iid}: verdict {report['verdict']}, expected {verdict}")
    assert not wrong, (
        "a denial may only turn checks into errors naming the action:\n  "
        + "\n  ".join(wrong) + f"\n{context}")
    if mode.fleet:
        verdicts = [r["verdict"] for r in reports.values()]
        summary = {"instances": len(verdicts),
                   **{v: verdicts.count(v) for v in ("pass", "warn", "fail", "incomplete")}}
        assert run.report["summary"] == summary, (
            f"fleet summary {run.report['summary']}, verdicts say {summary}\n{context}")
    expected_exit = 3 if changed else baseline.run.returncode
    assert run.returncode == expected_exit, (
        f"exit code {run.returncode}, expected {expected_exit}\n{context}")
    if changed:
        direct = [c for per in changed.values() for _, _, c in per.values()
                  if f"denied: {action}" in (c.get("message") or "")]
        assert direct, f"no changed check says 'denied: {action}'\n{context}"
        assert any(action in c["remediation"]["text"] for c in direct), (
            f"no remediation of a denied check names {action}\n{context}")

    # ---- the request log ----
    if action in UNDENIABLE:
        assert used and attempts and all(s == 200 for s, _ in attempts), (
            f"{action} cannot be denied, yet: {attempts}\n{context}")
        assert not changed, f"{action} was answered, yet checks changed\n{context}"
        return
    if not used:
        assert not attempts, f"{action} asked although the baseline did not\n{context}"
        assert not changed, f"{action} is not used by this mode, yet checks changed\n{context}"
        return
    assert attempts, f"the binary never asked {action}: the denial tested nothing\n{context}"
    assert all(s == 403 for s, _ in attempts), f"answers to {action}: {attempts}\n{context}"
    no_effect = dict(mode.no_effect)
    if action in no_effect:
        assert not changed, (
            f"declared without effect ({no_effect[action]}), yet checks changed: remove it from "
            f"denial.py's MODES\n{context}")
    else:
        assert changed, (
            f"{action} was denied and no check changed: the tool ignores what it asked\n{context}")


def test_denial_output_matches_schema(matrix: Matrix) -> None:
    runs = {f"{m}/{a}": c.run for (m, a), c in matrix.cases.items() if c.run is not None}
    assert assert_reports_match_schema(runs) > 0


def test_denial_matrix_time(matrix: Matrix) -> None:
    """All the enforced runs together stay within a few minutes."""
    assert matrix.seconds < 180, f"{len(matrix.cases)} runs took {matrix.seconds:.0f}s"
