"""``ssm-doctor param`` and ``ssm-doctor patch`` against the emulator (issue 14): the scenarios of
tasks.py, each run judged check by check, and then, under moto's IAM enforcement, the runs of
tasks.DENIAL_MODES repeated with one action denied in turn.

All seeding happens first (module fixture ``tasks``), then every run, ``E2E_JOBS`` at a time,
before the first assertion; the denial runs follow in fixture ``denials`` (enforcement turned on
only around the binary runs, off again in a ``finally``). Every run's stdout and stderr land in
``out/tasks-<run>.*`` and ``out/tasks-denial-<mode>-<action>.*``; ``out/tasks-denial-matrix.json``
sums the denials up.

    SSM_DOCTOR_BIN=… tests/e2e/run -k tasks
"""

from __future__ import annotations

import fnmatch
import json
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest

from conftest import JOBS, TIMINGS
from denial import UNDENIABLE, policy_actions
from emulator import as_moto_enforces
from harness import OUT, ROOT, Run, assert_reports_match_schema, run_binary
from scenarios import ACCOUNT, SCENARIOS, _catalogue, report_statuses
from tasks import (
    CHECKS,
    DENIAL_MODES,
    DEPENDS_ON,
    TASK_ONLY_ACTIONS,
    TASK_SCENARIOS,
    VALUE_READS,
    DenialMode,
    TaskLab,
    TaskRun,
    TaskScenario,
    task_runs,
)

EXIT_FOR_VERDICT = {"pass": 0, "warn": 0, "fail": 1, "incomplete": 3}
READ_PREFIXES = ("Describe", "Get", "List", "Simulate")
IAM_POLICY = ROOT / "docs" / "iam-policy.json"
#: After the main scenarios (1..n), the authorization scenario (n+1) and the watch test (n+2).
FIRST_INDEX = len(SCENARIOS) + 3
#: The fleet world's VPCs start at 10.151 (fleet.py).
FLEET_FIRST_INDEX = 151
RUNS = task_runs()


def slug(action: str | None) -> str:
    return (action or "baseline").replace(":", ".")


@dataclass
class Seeded:
    scenario: TaskScenario
    index: int
    ids: dict[str, str] = field(default_factory=dict)
    error: str | None = None


@dataclass
class Case:
    """One run of the binary: a scenario's run, or a denial mode's (action None: its baseline)."""

    run: TaskRun
    seeded: Seeded
    key: str
    secret: str = "e2e-dummy-secret"
    name: str = ""
    action: str | None = None
    result: Run | None = None

    def context(self) -> str:
        text = [f"run {self.run.name}: {self.run.doc}", f"seeded ids: {self.seeded.ids}"]
        if self.result is not None:
            text.append(self.result.describe())
        return "\n".join(text)


@dataclass
class Tasks:
    seeded: dict[str, Seeded]
    cases: dict[str, Case]  # run name → its case


def _run_case(emulator, case: Case) -> Run:
    return run_binary(emulator.url, case.run.args(case.seeded.ids), case.seeded.scenario.region,
                      access_key=case.key, secret_key=case.secret, name=case.name)


def _run_all(emulator, cases: list[Case]) -> None:
    with ThreadPoolExecutor(max_workers=JOBS) as pool:
        for case, result in zip(cases, pool.map(lambda c: _run_case(emulator, c), cases)):
            case.result = result
    emulator.wait_idle()


@pytest.fixture(scope="module")
def tasks(emulator, binary) -> Tasks:
    started = time.monotonic()
    last = FIRST_INDEX + len(TASK_SCENARIOS) - 1
    assert last < FLEET_FIRST_INDEX, (
        f"task scenarios need VPCs 10.{FIRST_INDEX}..10.{last}: they reach the fleet world's")
    seeded: dict[str, Seeded] = {}
    for k, scenario in enumerate(TASK_SCENARIOS):
        index = FIRST_INDEX + k
        lab = TaskLab(emulator, scenario, index)
        entry = Seeded(scenario, index, lab.ids)
        try:
            scenario.seed(lab)
            assert "instance" in lab.ids, "the seeding function named no instance"
        except Exception:  # noqa: BLE001 - reported by the runs' own tests
            entry.error = traceback.format_exc()
        seeded[scenario.name] = entry
    cases = {}
    for k, (scenario, run) in enumerate(RUNS):
        cases[run.name] = Case(run, seeded[scenario.name], key=f"AKIAE2ETASK{k:09d}",
                               name=f"tasks-{run.name}")
    TIMINGS["seed the task scenarios"] = time.monotonic() - started
    started = time.monotonic()
    _run_all(emulator, [c for c in cases.values() if c.seeded.error is None])
    TIMINGS[f"run the binary on {len(cases)} task runs ({JOBS} at a time)"] = (
        time.monotonic() - started)
    return Tasks(seeded, cases)


# ------------------------------------------------------------------------------------------------
# The catalogue's pages of the two commands
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", sorted(CHECKS))
def test_task_pages_match_the_spec(command: str) -> None:
    """checks/ holds one page per check of the command (``command = "param"``/``"patch"``), with
    the spec's dependencies."""
    pages = _catalogue(command)
    assert sorted(pages) == sorted(CHECKS[command]), f"pages of {command}: {sorted(pages)}"
    wrong = {id: p.get("depends_on") for id, p in pages.items()
             if sorted(p.get("depends_on", [])) != sorted(DEPENDS_ON[id])}
    assert not wrong, f"depends_on differs from the spec: {wrong}"


# ------------------------------------------------------------------------------------------------
# The scenarios
# ------------------------------------------------------------------------------------------------


def _substrings(pattern: str, ids: dict[str, str]) -> list[str]:
    return [alt.format(**ids) for alt in pattern.split("|")]


def assert_task_report(case: Case) -> None:
    run, ids, result = case.run, case.seeded.ids, case.result
    context = case.context()
    assert result is not None, context
    stderr = result.stderr.lower()
    assert "panicked" not in stderr and "internal error" not in stderr, context
    assert result.report is not None, f"stdout is not JSON ({result.parse_error})\n{context}"
    report = result.report

    expected = run.expected_statuses()
    actual = report_statuses(report)
    assert sorted(actual) == sorted(expected), (
        f"check ids {sorted(actual)}, expected exactly {sorted(expected)}\n{context}")
    diff = {c: f"expected {expected[c]}, got {actual[c]}: {result.check(c).get('message')}"
            for c in expected if expected[c] != actual[c]}
    assert not diff, f"status differences: {json.dumps(diff, indent=2)}\n{context}"
    assert result.returncode == run.exit_code, (
        f"exit code {result.returncode}, expected {run.exit_code}\n{context}")

    for check_id, patterns in run.messages.items():
        check = result.check(check_id)
        text = (check.get("message") or "") + " " + json.dumps(check.get("evidence"))
        for pattern in patterns:
            alternatives = _substrings(pattern, ids)
            assert any(a in text for a in alternatives), (
                f"{check_id}'s message/evidence names none of {alternatives}\n{context}")

    # the report is consistent with itself
    summary = {s: sum(1 for v in actual.values() if v == s)
               for s in ("pass", "warn", "fail", "skip", "error")}
    assert report["summary"] == summary, f"summary {report['summary']} != {summary}\n{context}"
    verdict = ("fail" if summary["fail"] else "incomplete" if summary["error"]
               else "warn" if summary["warn"] else "pass")
    assert report["verdict"] == verdict, f"verdict {report['verdict']} != {verdict}\n{context}"
    assert EXIT_FOR_VERDICT[verdict] == result.returncode, context
    for check in report["checks"]:
        if check["status"] in ("fail", "warn"):
            assert check.get("remediation"), f"{check['id']} {check['status']} without remediation"

    # the target says what was asked
    target = report["target"]
    assert target.get("command") == run.command, f"target {target}\n{context}"
    assert target.get("region") == case.seeded.scenario.region, f"target {target}\n{context}"
    assert target.get("account") == ACCOUNT, f"target {target}\n{context}"
    if run.command == "param":
        assert target.get("parameter") == run.parameter(ids), f"target {target}\n{context}"
    if run.role:
        assert target.get("instance_id") == "", f"target {target}\n{context}"
        assert target.get("role") == ids["role"], f"target {target}\n{context}"
    else:
        assert target.get("instance_id") == ids["instance"], f"target {target}\n{context}"
    # the value is never read, so never printed
    assert ids["secret"] not in result.stdout + result.stderr, context


@pytest.mark.parametrize("name", [r.name for _, r in RUNS])
def test_task_run(name: str, tasks: Tasks) -> None:
    case = tasks.cases[name]
    assert case.seeded.error is None, f"seeding failed:\n{case.seeded.error}"
    assert_task_report(case)


def test_task_output_matches_schema(tasks: Tasks) -> None:
    runs = {name: c.result for name, c in tasks.cases.items() if c.result is not None}
    assert assert_reports_match_schema(runs) > 0


def test_task_stats_count_the_calls_made(tasks: Tasks, emulator) -> None:
    """report.stats.api_calls is the number of requests the run made."""
    wrong = {}
    for name, case in tasks.cases.items():
        if case.result is None or case.result.report is None:
            continue
        made = len(emulator.requests(access_key=case.key))
        if case.result.report["stats"]["api_calls"] != made:
            wrong[name] = (case.result.report["stats"]["api_calls"], made)
    assert not wrong, f"(stats.api_calls, requests seen by the emulator): {wrong}"


# ------------------------------------------------------------------------------------------------
# Denials: under moto's IAM enforcement, one action denied in turn
# ------------------------------------------------------------------------------------------------


@dataclass
class Denials:
    baselines: dict[str, Case]  # mode → the caller allowed everything
    cases: dict[tuple[str, str], Case]  # (mode, denied action) → its run
    asked: dict[str, set[str]]  # mode → the actions its baseline run asked
    seconds: float


def _caller_policy(action: str | None) -> dict:
    """Every action of docs/iam-policy.json, but for an explicit Deny of ``action``."""
    statements = [{"Effect": "Allow", "Action": as_moto_enforces(policy_actions()),
                   "Resource": "*"}]
    if action is not None:
        statements.append({"Effect": "Deny", "Action": as_moto_enforces(action), "Resource": "*"})
    return {"Version": "2012-10-17", "Statement": statements}


def _caller(emulator, mode: DenialMode, action: str | None) -> tuple[str, str]:
    iam = emulator.client("iam")
    user = f"e2e-tasks-deny-{mode.name}-{slug(action)}"[:64]
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="ssm-doctor-but-one",
                        PolicyDocument=json.dumps(_caller_policy(action)))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def _enforced(emulator, cases: list[Case]) -> None:
    emulator.wait_idle()
    emulator.enable_iam_auth()
    try:
        _run_all(emulator, cases)
    finally:
        emulator.disable_iam_auth()


@pytest.fixture(scope="module")
def denials(emulator, binary, tasks: Tasks) -> Denials:
    started = time.monotonic()
    modes = [m for m in DENIAL_MODES if tasks.cases[m.run].seeded.error is None]
    baselines = {}
    for mode in modes:
        base = tasks.cases[mode.run]
        key, secret = _caller(emulator, mode, None)
        baselines[mode.name] = Case(base.run, base.seeded, key, secret,
                                    name=f"tasks-denial-{mode.name}-baseline")
    _enforced(emulator, list(baselines.values()))
    asked = {mode: {r["action"] for r in emulator.requests(access_key=c.key)}
             for mode, c in baselines.items()}
    cases: dict[tuple[str, str], Case] = {}
    for mode in modes:
        denied = list(mode.required) + [a for a, _ in mode.no_effect]
        if mode.every_asked:
            denied += sorted(asked[mode.name] - set(denied) - UNDENIABLE)
        base = baselines[mode.name]
        for action in denied:
            key, secret = _caller(emulator, mode, action)
            cases[(mode.name, action)] = Case(base.run, base.seeded, key, secret,
                                              name=f"tasks-denial-{mode.name}-{slug(action)}",
                                              action=action)
    _enforced(emulator, list(cases.values()))
    seconds = time.monotonic() - started
    TIMINGS[f"task denials: {len(baselines)} baselines and {len(cases)} denied runs"] = seconds
    result = Denials(baselines, cases, asked, seconds)
    _write_summary(result)
    return result


def _write_summary(d: Denials) -> None:
    summary: dict[str, dict] = {}
    for (mode, action), case in d.cases.items():
        r = case.result
        summary.setdefault(mode, {})[action] = {
            "asked_by_baseline": action in d.asked[mode],
            "exit": r.returncode if r else None,
            "changed": _changed(case, d.baselines[mode]),
        }
    (OUT / "tasks-denial-matrix.json").write_text(json.dumps(summary, indent=2))


def _changed(case: Case, baseline: Case) -> dict[str, str] | None:
    if case.result is None or case.result.report is None or baseline.result is None \
            or baseline.result.report is None:
        return None
    before = report_statuses(baseline.result.report)
    return {c: f"{before.get(c)} -> {s}" for c, s in report_statuses(case.result.report).items()
            if before.get(c) != s}


def _judge(emulator, case: Case, baseline: Case, *, strict: bool,
           no_effect: bool = False) -> list[str]:
    """What is wrong with one denied run, compared with its mode's baseline run: never a crash;
    only ``error`` changes, some saying ``denied: ACTION``, and then exit 3; ``strict``: some
    check must change (else a run without any report is accepted when it exits 3 and its
    error says ``denied: ACTION``); ``no_effect``: nothing may change. The action was asked again
    and refused."""
    action, result = case.action, case.result
    problems = []
    if result is None:
        return ["never ran"]
    if result.returncode not in (0, 1, 3):
        problems.append(f"exit code {result.returncode}")
    stderr = result.stderr.lower()
    if "panicked" in stderr or "internal error" in stderr:
        problems.append("crashed: " + result.stderr.strip()[-300:])
    attempts = [r["status"] for r in emulator.requests(access_key=case.key)
                if r["action"] == action]
    if not attempts:
        problems.append(f"{action} was never asked: the denial tested nothing")
    elif any(s != 403 for s in attempts):
        problems.append(f"answers to {action}: {attempts}")
    if result.report is None:
        said = result.returncode == 3 and f"denied: {action}" in result.stderr
        if not strict and not no_effect and said:
            return problems  # nothing could be diagnosed without it, and the error says so
        return problems + [f"stdout is not JSON ({result.parse_error})"]
    before = report_statuses(baseline.result.report)
    now = report_statuses(result.report)
    if sorted(now) != sorted(before):
        return problems + [f"check ids {sorted(now)} differ from the baseline's {sorted(before)}"]
    checks = {c["id"]: c for c in result.report["checks"]}
    changed = {c: s for c, s in now.items() if s != before[c]}
    problems += [f"{c}: {before[c]} -> {s}: {checks[c].get('message')}"
                 for c, s in changed.items() if s != "error"]
    says = [c for c in changed if f"denied: {action}" in (checks[c].get("message") or "")]
    if no_effect:
        if changed:
            problems.append(f"declared without effect, yet checks changed: {changed}")
        if result.returncode != baseline.result.returncode:
            problems.append(f"exit code {result.returncode}, the baseline's "
                            f"{baseline.result.returncode}")
        return problems
    if changed:
        if not says:
            problems.append(f"no changed check says 'denied: {action}': "
                            + "; ".join(f"{c}: {checks[c].get('message')}" for c in changed))
        if result.returncode != 3:
            problems.append(f"exit code {result.returncode}, expected 3 (checks in error)")
        if result.report.get("verdict") != "incomplete":
            problems.append(f"verdict {result.report.get('verdict')}, expected incomplete")
    elif strict:
        problems.append(f"{action} was denied and no check changed")
    elif result.returncode != baseline.result.returncode:
        problems.append(f"nothing changed, yet exit code {result.returncode}, "
                        f"the baseline's {baseline.result.returncode}")
    return problems


@pytest.mark.parametrize("mode", DENIAL_MODES, ids=[m.name for m in DENIAL_MODES])
def test_task_denial_baseline(mode: DenialMode, denials: Denials, tasks: Tasks, emulator) -> None:
    """Every action of docs/iam-policy.json allowed: the run reports as without enforcement,
    and every request is answered (nothing the run needs is missing from the policy)."""
    assert mode.name in denials.baselines, f"{mode.run} was not seeded: see test_task_run"
    case = denials.baselines[mode.name]
    refused = sorted({(r["action"], r["status"]) for r in emulator.requests(access_key=case.key)
                      if r["status"] != 200})
    assert not refused, f"refused although docs/iam-policy.json allows them? {refused}\n" \
        f"{case.context()}"
    assert_task_report(case)


REQUIRED = [(m, a) for m in DENIAL_MODES for a in m.required]


@pytest.mark.parametrize("mode,action", REQUIRED, ids=[f"{m.name}-{slug(a)}" for m, a in REQUIRED])
def test_task_denial(mode: DenialMode, action: str, denials: Denials, emulator) -> None:
    """The reads the two commands add, denied in turn: the checks that needed them turn
    ``error`` saying ``denied: ACTION``, nothing else changes, the run exits 3."""
    assert mode.name in denials.baselines, f"{mode.run} was not seeded: see test_task_run"
    case, baseline = denials.cases[(mode.name, action)], denials.baselines[mode.name]
    assert action in denials.asked[mode.name], (
        f"the baseline run never asked {action}: {sorted(denials.asked[mode.name])}")
    problems = _judge(emulator, case, baseline, strict=True)
    assert not problems, "\n".join(problems) + "\n" + case.context() + \
        f"\nbaseline: exit {baseline.result.returncode}"


NO_EFFECT = [(m, a, why) for m in DENIAL_MODES for a, why in m.no_effect]


@pytest.mark.parametrize("mode,action,why", NO_EFFECT,
                         ids=[f"{m.name}-{slug(a)}" for m, a, _ in NO_EFFECT])
def test_task_denial_without_effect(mode: DenialMode, action: str, why: str, denials: Denials,
                                    emulator) -> None:
    """Actions the run asks whose refusal is documented to change nothing (``why``): asked,
    refused, and the report is the baseline's."""
    assert mode.name in denials.baselines, f"{mode.run} was not seeded: see test_task_run"
    case, baseline = denials.cases[(mode.name, action)], denials.baselines[mode.name]
    assert action in denials.asked[mode.name], (
        f"the baseline run never asked {action}: {sorted(denials.asked[mode.name])}")
    problems = _judge(emulator, case, baseline, strict=False, no_effect=True)
    assert not problems, "\n".join(problems) + f"\n(declared: {why})\n" + case.context()


@pytest.mark.parametrize("mode", [m for m in DENIAL_MODES if m.every_asked],
                         ids=[m.name for m in DENIAL_MODES if m.every_asked])
def test_task_denial_of_every_other_action_asked(mode: DenialMode, denials: Denials,
                                                 emulator) -> None:
    """The rest of what the run asked (the instance's usual collection), denied in turn: never
    a crash; what changes is ``error`` saying ``denied: ACTION`` and the run exits 3; when
    nothing changes, the exit code is the baseline's."""
    assert mode.name in denials.baselines, f"{mode.run} was not seeded: see test_task_run"
    baseline = denials.baselines[mode.name]
    declared = set(mode.required) | {a for a, _ in mode.no_effect}
    others = [(a, c) for (m, a), c in denials.cases.items()
              if m == mode.name and a not in declared]
    assert others, f"the baseline asked nothing but {mode.required}?"
    wrong = {}
    for action, case in others:
        problems = _judge(emulator, case, baseline, strict=False)
        if problems:
            wrong[action] = problems
    assert not wrong, "\n".join(
        f"{a}:\n  " + "\n  ".join(p) + f"\n  (out/tasks-denial-{mode.name}-{slug(a)}.*)"
        for a, p in wrong.items())


def test_task_denials_cover_the_task_actions(denials: Denials) -> None:
    """Every action only `param`/`patch` ask (test_denial.py's OUTSIDE_THE_WORLD) that the
    policy allows is asked by some denial mode's baseline and denied there."""
    policy = set(policy_actions())
    denied = {(m, a) for (m, a) in denials.cases}
    missing = []
    for action in TASK_ONLY_ACTIONS:
        if action not in policy:
            missing.append(f"{action}: not in docs/iam-policy.json")
            continue
        modes = [m for m, asked in denials.asked.items() if action in asked]
        if not modes or not any((m, action) in denied for m in modes):
            missing.append(f"{action}: asked by {modes or 'no mode'}")
    assert not missing, missing


def test_task_denial_time(denials: Denials) -> None:
    assert denials.seconds < 120, (
        f"{len(denials.cases)} denied runs took {denials.seconds:.0f}s")


# ------------------------------------------------------------------------------------------------
# The request log of every run of this module
# ------------------------------------------------------------------------------------------------


def test_tasks_request_log_only_policy_reads_never_a_value(tasks: Tasks, denials: Denials,
                                                         emulator) -> None:
    """Every request of every run above is a read that docs/iam-policy.json allows, and none
    reads a parameter's value (ssm:GetParameter, ssm:GetParameters …) or decrypts."""
    keys = {c.key for c in tasks.cases.values()} | {c.key for c in denials.baselines.values()} \
        | {c.key for c in denials.cases.values()}
    entries = [r for r in emulator.requests(client="tool") if r["access_key"] in keys]
    assert entries, "the request log holds no call of these runs"
    writes = sorted({r["action"] for r in entries if not r["operation"].startswith(READ_PREFIXES)})
    assert not writes, f"non-read calls: {writes}"
    patterns = policy_actions()
    used = sorted({r["action"] for r in entries})
    missing = [a for a in used
               if not any(fnmatch.fnmatchcase(a.lower(), p.lower()) for p in patterns)]
    assert not missing, f"called but not in {IAM_POLICY.name}: {missing}"
    values = sorted({r["action"] for r in entries if r["action"] in VALUE_READS})
    assert not values, f"the tool asked for a value: {values}"
    (OUT / "tasks-actions-used.json").write_text(json.dumps(used, indent=2))

