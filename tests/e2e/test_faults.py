"""Every scenario again, through a proxy that breaks a seeded 30 % of the AWS requests.

For each scenario without a fault of its own whose fault-free run (the ``suite`` fixture's) printed
a report, and for each seed, the binary runs through :class:`fault_proxy.FaultProxy` (throttling,
503, 500, connection resets, truncated bodies, answers slower than ``--timeout``) with
``--timeout 2 --max-attempts 3 --deadline 20`` and its own access key. Each faulted report is
judged against the fault-free one:

* no panic: exit code 0, 1 or 3 (never 4 or 101, never killed), no "panicked" / "internal error";
* over within its deadline (20 s) plus a margin for start-up and rendering;
* a JSON report with the same check ids;
* every check either has its fault-free status, or is ``error`` with a message that names the
  failed action (``ec2:DescribeRouteTables failed: ...``) or the time-out; nothing flips between
  pass and fail;
* the verdict is the fault-free one, or ``incomplete`` when some check is ``error`` (``fail`` only
  if the fault-free verdict was ``fail``), and the exit code follows it;
* the saved facts: every fetch is either exactly the fault-free one or a failure; a truncated body
  must never come out as (partial) data, whether or not it flips a check.

Across all runs: every fault kind was injected several times, and some faulted runs came out
identical to the fault-free ones (retries work). Runs are parallel (4 at a time).

Reproduce one seed of one scenario (the proxy's decisions depend on the seed, the access key and
the requests, not their order):

    E2E_FAULT_SEEDS=2 E2E_OUT=/tmp/e2e-faults tests/e2e/run -k 'faults and broken-route-none'

``E2E_FAULT_RATE`` (default 0.3) and ``E2E_FAULT_KINDS`` (comma-separated, default all) narrow the
mix. Every faulted run's stdout, stderr, facts and the proxy's decisions land in ``out/`` as
``faults-<scenario>-seed<N>.*``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import botocore.config
import botocore.exceptions
import pytest

from conftest import TIMINGS, Suite
from emulator import SEEDER_MARKER
from fault_proxy import KINDS, Decision, FaultProxy
from harness import OUT, Run, run_tool
from scenarios import REGION, SCENARIOS, Scenario

SEEDS = [int(s) for s in os.environ.get("E2E_FAULT_SEEDS", "1,2,3").split(",") if s.strip()]
RATE = float(os.environ.get("E2E_FAULT_RATE", "0.3"))
FAULT_KINDS = tuple(k for k in os.environ.get("E2E_FAULT_KINDS", ",".join(KINDS)).split(",") if k)
DEFAULT_MATRIX = "E2E_FAULT_SEEDS" not in os.environ and "E2E_FAULT_KINDS" not in os.environ \
    and "E2E_FAULT_RATE" not in os.environ

TIMEOUT = 2  # --timeout: seconds per attempt
MAX_ATTEMPTS = 3
DEADLINE = 20  # --deadline: seconds for all of the talking to AWS
MARGIN = 10  # process start, setup, checks and rendering after the deadline
SLOW_SECONDS = TIMEOUT + 1.5  # a "slow" answer comes after the attempt has timed out
JOBS = 4
MIN_PER_KIND = 3  # every fault kind injected at least this often over the whole matrix

#: an error message names what failed: the action ("ec2:DescribeRouteTables failed: ...") or the
#: time-out ("timed out")
NAMES_THE_FAILURE = re.compile(
    r"\b(sts|ec2|iam|ssm|autoscaling|s3|logs|kms|route53|route53resolver|route53profiles):[A-Z][A-Za-z]+|timed out",
    re.I)
EXIT_FOR_VERDICT = {"pass": 0, "warn": 0, "fail": 1, "incomplete": 3}
#: A faulted run signs with a key of its own (faults are keyed by it), so a scenario whose caller
#: is an operator of its own cannot be replayed faulted.
ELIGIBLE = [s for s in SCENARIOS if s.fault is None and not s.own_caller]


def fault_access_key(scenario: str, seed: int) -> str:
    """20 characters like a real key; a prefix no other key of the suite uses (the scenarios'
    ``AKIAE2ESCENARIO…``, the fleet's, the emulator tests' ``AKIAE2EFAULTTEST…``); stable when
    scenarios are added or reordered, so that a seed reproduces its mix."""
    digest = hashlib.sha256(scenario.encode()).hexdigest()[:8].upper()
    return f"AKIAE2EFLT{seed % 100:02d}{digest}"


@dataclass
class FaultedRun:
    scenario: Scenario
    seed: int
    access_key: str
    run: Run
    baseline: Run
    decisions: list[Decision]
    proxy_errors: list[str]
    facts: Any = None
    baseline_facts: Any = None
    problems: list[str] = field(default_factory=list)

    def injected(self) -> list[Decision]:
        return [d for d in self.decisions if d.kind]

    def identical_to_baseline(self) -> bool:
        report, base = self.run.report, self.baseline.report
        return (report is not None and self.run.returncode == self.baseline.returncode
                and report.get("verdict") == base.get("verdict")
                and self.run.statuses() == self.baseline.statuses())

    def context(self) -> str:
        decisions = "\n".join(f"    {d}" for d in self.decisions) or "    (none)"
        injected = ", ".join(f"{d.service}:{d.operation}={d.kind}" for d in self.injected())
        lines = [
            f"scenario {self.scenario.name}, seed {self.seed}, access key {self.access_key}",
            f"reproduce: {_reproduce(self.scenario.name, self.seed)}",
            f"injected: {injected or 'nothing'}",
            "faulted run:",
            self.run.describe(),
            "fault-free run:",
            self.baseline.describe(),
            f"proxy decisions ({len(self.injected())} faults in {len(self.decisions)} requests):",
            decisions,
        ]
        if self.proxy_errors:
            lines.append("proxy handler errors (a bug of the proxy):\n"
                         + "\n".join(self.proxy_errors))
        return "\n".join(lines)


def _reproduce(scenario: str, seed: int) -> str:
    env = f"E2E_FAULT_SEEDS={seed}"
    if RATE != 0.3:
        env += f" E2E_FAULT_RATE={RATE}"
    if FAULT_KINDS != KINDS:
        env += f" E2E_FAULT_KINDS={','.join(FAULT_KINDS)}"
    return f"{env} tests/e2e/run -k 'faults and {scenario}'"


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _run_through_proxy(emulator: Any, suite: Suite, scenario: Scenario, seed: int) -> FaultedRun:
    seeded = suite.seeded[scenario.name]
    key = fault_access_key(scenario.name, seed)
    name = f"faults-{scenario.name}-seed{seed}"
    with FaultProxy(emulator.url, seed=seed, rate=RATE, slow_seconds=SLOW_SECONDS,
                    kinds=FAULT_KINDS) as proxy:
        run = run_tool(
            proxy.url, seeded.ids["instance"], scenario.run_region or scenario.region,
            access_key=key, plugin=scenario.plugin, extra_env=scenario.env,
            extra=[*scenario.args, "--deadline", str(DEADLINE)], name=name,
            timeout=TIMEOUT, max_attempts=MAX_ATTEMPTS,
        )
    faulted = FaultedRun(scenario, seed, key, run, suite.runs[scenario.name],
                         list(proxy.decisions), list(proxy.errors))
    faulted.facts = _read_json(OUT / f"{name}.facts.json")
    faulted.baseline_facts = _read_json(OUT / f"{scenario.name}.facts.json")
    (OUT / f"{name}.decisions.txt").write_text(faulted.context() + "\n")
    return faulted


def _selected_scenarios(request: pytest.FixtureRequest) -> set[str] | None:
    """The scenarios whose test_faulted_scenario item is selected (``-k``); None: all of them."""
    names = {
        item.callspec.params["scenario"].name
        for item in request.session.items
        if getattr(item, "originalname", None) == "test_faulted_scenario"
        and hasattr(item, "callspec")
    }
    return names or None


@pytest.fixture(scope="module")
def faulted(suite: Suite, emulator: Any,
            request: pytest.FixtureRequest) -> dict[tuple[str, int], FaultedRun]:
    """Every selected scenario × seed through its own proxy, JOBS at a time, before any
    assertion."""
    selected = _selected_scenarios(request)
    todo = [
        (s, seed) for seed in SEEDS for s in ELIGIBLE
        if (selected is None or s.name in selected)
        and suite.seeded[s.name].error is None
        and s.name in suite.runs and suite.runs[s.name].report is not None
    ]
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=JOBS) as pool:
        runs = list(pool.map(lambda job: _run_through_proxy(emulator, suite, *job), todo))
    emulator.wait_idle()
    (OUT / "faults-summary.json").write_text(json.dumps([
        {"scenario": r.scenario.name, "seed": r.seed, "access_key": r.access_key,
         "exit": r.run.returncode, "seconds": round(r.run.seconds, 1),
         "verdict": (r.run.report or {}).get("verdict"),
         "fault_free_verdict": r.baseline.report.get("verdict"),
         "errors": sorted(c for c, st in r.run.statuses().items() if st == "error"),
         "identical": r.identical_to_baseline(), "requests": len(r.decisions),
         "faults": {k: n for k, n in Counter(d.kind for d in r.injected()).items()}}
        for r in runs
    ], indent=1))
    TIMINGS[f"faulted runs ({len(runs)}: {len(SEEDS)} seeds, {JOBS} at a time)"] = (
        time.monotonic() - started
    )
    return {(r.scenario.name, r.seed): r for r in runs}


# ------------------------------------------------------------------------------------------------
# The proxy itself
# ------------------------------------------------------------------------------------------------


def _probe_client(service: str, url: str, read_timeout: float = 15) -> Any:
    # marked as the suite's own: the request-log tests judge only the binary's requests
    return boto3.session.Session().client(
        service, region_name=REGION, endpoint_url=url,
        aws_access_key_id="AKIAE2EFLTPROBE00001", aws_secret_access_key="probe",
        config=botocore.config.Config(
            user_agent_extra=SEEDER_MARKER, connect_timeout=2, read_timeout=read_timeout,
            retries={"total_max_attempts": 1, "mode": "standard"},
        ),
    )


PROBES = {
    "ec2": (lambda c: c.describe_vpcs(), 503, "RequestLimitExceeded", "InternalError"),
    "sts": (lambda c: c.get_caller_identity(), 400, "Throttling", "InternalFailure"),
    "iam": (lambda c: c.list_roles(), 400, "Throttling", "InternalFailure"),
    "autoscaling": (lambda c: c.describe_auto_scaling_groups(), 400, "Throttling",
                    "InternalFailure"),
    "ssm": (lambda c: c.describe_instance_information(), 400, "ThrottlingException",
            "InternalServerError"),
}


@pytest.mark.parametrize("service", sorted(PROBES))
def test_proxy_fault_kinds(emulator: Any, service: str) -> None:
    """Each kind, forced (rate 1), as boto3 sees it: the service's own error codes, a dropped
    connection, a body that does not parse, a read time-out; rate 0 forwards untouched."""
    call, throttle_status, throttle_code, internal_code = PROBES[service]
    with FaultProxy(emulator.url, seed=0, rate=0.0) as proxy:
        call(_probe_client(service, proxy.url))
        assert [d.kind for d in proxy.decisions] == [None]
        assert proxy.decisions[0].service == service and proxy.decisions[0].operation
    expected_errors = {
        "throttling": (throttle_status, throttle_code),
        "unavailable": (503, "ServiceUnavailable"),
        "internal": (500, internal_code),
    }
    for kind in KINDS:
        if kind == "slow" and service != "ec2":
            continue  # a second each: one service shows it
        with FaultProxy(emulator.url, seed=0, rate=1.0, kinds=[kind], slow_seconds=2.5) as proxy:
            client = _probe_client(service, proxy.url, read_timeout=1 if kind == "slow" else 15)
            if kind in expected_errors:
                with pytest.raises(botocore.exceptions.ClientError) as e:
                    call(client)
                got = (e.value.response["ResponseMetadata"]["HTTPStatusCode"],
                       e.value.response["Error"]["Code"])
                assert got == expected_errors[kind], (kind, got)
            elif kind.startswith("truncated") and service == "ssm":
                # botocore reads half a JSON document as {} (the binary must not); urllib3 does
                # not insist on the whole Content-Length either
                try:
                    call(client)
                except Exception:  # noqa: BLE001, S110
                    pass
            else:
                with pytest.raises(Exception) as e:  # noqa: PT011 - parse, connection, time-out
                    call(client)
                assert not isinstance(e.value, botocore.exceptions.ClientError), (kind, e.value)
            assert proxy.counts()[kind] == 1 and not proxy.errors, (kind, proxy.describe(),
                                                                     proxy.errors)
        assert proxy._server is None  # stop() returned although a slow handler may still sleep


def test_proxy_decisions_are_seeded(emulator: Any) -> None:
    """The same seed, key and requests give the same decisions; another seed another mix."""
    def mix(seed: int) -> list[str | None]:
        with FaultProxy(emulator.url, seed=seed, rate=0.5, kinds=["throttling"]) as proxy:
            client = _probe_client("iam", proxy.url)
            for _ in range(16):
                try:
                    client.list_roles()
                except botocore.exceptions.ClientError:
                    pass
            return [d.kind for d in proxy.decisions]

    first = mix(11)
    assert mix(11) == first
    assert mix(12) != first
    assert 0 < sum(1 for k in first if k) < 16


def test_proxy_is_transparent(suite: Suite, emulator: Any) -> None:
    """With no fault, a run through the proxy is the fault-free run: same statuses, messages and
    facts."""
    scenario = next(s for s in ELIGIBLE if s.name == "healthy-private-endpoints")
    seeded = suite.seeded[scenario.name]
    base = suite.runs[scenario.name]
    name = "faults-transparent"
    with FaultProxy(emulator.url, seed=0, rate=0.0) as proxy:
        run = run_tool(proxy.url, seeded.ids["instance"], scenario.region,
                       access_key="AKIAE2EFLTTRANSPAR00", name=name)
    assert proxy.decisions and not proxy.errors, proxy.errors
    assert run.returncode == base.returncode, run.describe()
    assert run.report is not None, run.describe()
    # operator.network's message holds its probe's timings: its status must match.
    def said(report: dict) -> dict:
        return {c["id"]: (c["status"], None if c["id"] == "operator.network" else c.get("message"))
                for c in report["checks"]}

    messages, base_messages = said(run.report), said(base.report)
    assert messages == base_messages, f"{run.describe()}\nfault-free:\n{base.describe()}"
    facts = _read_json(OUT / f"{name}.facts.json")
    base_facts = _read_json(OUT / f"{scenario.name}.facts.json")
    assert facts is not None and base_facts is not None
    assert _facts_differences(facts, base_facts) == []


# ------------------------------------------------------------------------------------------------
# Every scenario, faulted
# ------------------------------------------------------------------------------------------------

FETCH_STATUSES = {"collected", "denied", "failed", "not_applicable"}
#: Paths the faults cannot explain a difference in: the format's version, and the operator's
#: network path (probed beside the AWS calls, with its own timings).
IGNORED_FACTS = {"/schema_version", "/operator/network"}
#: Keys whose value is when this run asked (the agent's `asked_at`): no two runs share it.
IGNORED_KEYS = {"asked_at"}


def _is_fetch(node: Any) -> bool:
    return isinstance(node, dict) and node.get("status") in FETCH_STATUSES and (
        set(node) <= {"status", "value", "action", "reason", "message"}
    )


def _facts_differences(faulted: Any, base: Any, path: str = "") -> list[str]:
    """Where the faulted facts hold something the fault-free ones do not. Every fetch (also one
    nested in a collected value, e.g. a policy document under a role's attached policies) must be
    the same, or failed (a call that did not succeed) or not applicable (because of one that did
    not). A collected value that differs is data that should not exist: e.g. half a body read as
    the whole answer."""
    if _is_fetch(faulted) and _is_fetch(base):
        if faulted == base or faulted["status"] in ("failed", "not_applicable"):
            return []
        if faulted["status"] == "collected" and base["status"] == "collected":
            return _facts_differences(faulted.get("value"), base.get("value"), path)
        return [f"{path or '/'}: {faulted['status']} ({_short(faulted)}), fault-free "
                f"{base['status']} ({_short(base)})"]
    if isinstance(faulted, dict) and isinstance(base, dict):
        out = []
        for k in sorted(set(faulted) | set(base)):
            if f"{path}/{k}" in IGNORED_FACTS or k in IGNORED_KEYS:
                continue
            if k not in base:
                out.append(f"{path}/{k}: {_short(faulted[k])}, absent from the fault-free facts")
            elif k in faulted:  # absent from the faulted facts: not asked (an earlier failure)
                out += _facts_differences(faulted[k], base[k], f"{path}/{k}")
        return out
    if isinstance(faulted, list) and isinstance(base, list):
        if len(faulted) != len(base):
            return [f"{path}: {len(faulted)} items, fault-free {len(base)}: {_short(faulted)}"]
        out = []
        for i, (f, b) in enumerate(zip(faulted, base)):
            out += _facts_differences(f, b, f"{path}[{i}]")
        return out
    if faulted != base:
        return [f"{path}: {_short(faulted)} != fault-free {_short(base)}"]
    return []


def _short(value: Any, limit: int = 300) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[:limit] + "…"


def _sts_never_answered(fr: FaultedRun) -> bool:
    """Every attempt at the identity call (the first call, before any diagnosis) met a fault:
    the binary may then rightly say that the API is out of reach (exit 2)."""
    sts = [d for d in fr.decisions if d.operation == "GetCallerIdentity"]
    return bool(sts) and all(d.kind for d in sts)


def judge(fr: FaultedRun) -> list[str]:
    """Everything wrong with one faulted run (empty: fine)."""
    run, base = fr.run, fr.baseline
    problems = []
    if run.returncode is None:
        return [f"killed by the harness after {run.seconds:.0f}s: it hung"]
    for marker in ("panicked", "internal error"):
        if marker in run.stderr:
            problems.append(f"stderr says {marker!r}")
    if run.returncode in (4, 101) or run.returncode < 0:
        problems.append(f"exit code {run.returncode}: crashed")
    if run.seconds > DEADLINE + MARGIN:
        problems.append(f"took {run.seconds:.1f}s, more than --deadline {DEADLINE}s + {MARGIN}s")
    if run.returncode == 2 and _sts_never_answered(fr) and run.report is None:
        return problems  # "API out of reach" before anything was diagnosed: a fair answer
    if run.returncode not in (0, 1, 3):
        problems.append(f"exit code {run.returncode}, expected 0, 1 or 3")
    if run.report is None:
        problems.append(f"stdout is not a JSON report ({run.parse_error})")
        return problems

    statuses, base_statuses = run.statuses(), base.statuses()
    if sorted(statuses) != sorted(base_statuses):
        problems.append(f"check ids {sorted(statuses)} differ from the fault-free "
                        f"{sorted(base_statuses)}")
        return problems
    for check_id, status in statuses.items():
        was = base_statuses[check_id]
        if status == was:
            continue
        message = run.check(check_id).get("message") or ""
        if {status, was} == {"pass", "fail"}:
            problems.append(f"{check_id} FLIPPED {was} -> {status}: {message}")
        elif status != "error":
            problems.append(f"{check_id} is {status}, fault-free {was}, and not error: {message}")
        elif not message.strip():
            problems.append(f"{check_id} is error without a message")
        elif not NAMES_THE_FAILURE.search(message):
            problems.append(f"{check_id} is error, but its message names no failed action and "
                            f"no time-out: {message}")

    errors = [c for c, s in statuses.items() if s == "error"]
    verdict, base_verdict = run.report.get("verdict"), base.report.get("verdict")
    computed = ("fail" if "fail" in statuses.values() else "incomplete" if errors
                else "warn" if "warn" in statuses.values() else "pass")
    if verdict != computed:
        problems.append(f"verdict {verdict} does not follow from the statuses ({computed})")
    if not errors and verdict != base_verdict:
        problems.append(f"no check is error, yet verdict {verdict} != fault-free {base_verdict}")
    if verdict not in (base_verdict, "incomplete"):
        problems.append(f"verdict {verdict}, expected {base_verdict} or incomplete")
    if verdict == "fail" and base_verdict != "fail":
        problems.append(f"verdict fail, fault-free {base_verdict}")
    if verdict in EXIT_FOR_VERDICT and run.returncode != EXIT_FOR_VERDICT[verdict]:
        problems.append(f"exit code {run.returncode} for verdict {verdict}")

    if fr.facts is None:
        problems.append("no facts saved (--save-facts)")
    elif fr.baseline_facts is not None:
        for difference in _facts_differences(fr.facts, fr.baseline_facts):
            problems.append(f"facts: {difference}")
    if fr.proxy_errors:
        problems.append(f"{len(fr.proxy_errors)} proxy handler errors (a bug of the proxy)")
    return problems


@pytest.mark.parametrize("scenario", ELIGIBLE, ids=[s.name for s in ELIGIBLE])
def test_faulted_scenario(scenario: Scenario, suite: Suite, faulted) -> None:
    runs = [faulted[(scenario.name, seed)] for seed in SEEDS if (scenario.name, seed) in faulted]
    if not runs:
        pytest.skip("seeding failed or the fault-free run printed no report: "
                    "test_scenarios.py says why")
    failures = []
    for fr in runs:
        fr.problems = judge(fr)
        if fr.problems:
            failures.append("\n".join([f"--- seed {fr.seed}: " + "; ".join(fr.problems),
                                       fr.context()]))
    assert not failures, f"{len(failures)} of {len(runs)} faulted runs went wrong\n" + \
        "\n\n".join(failures)


def test_every_fault_kind_injected(faulted) -> None:
    if not DEFAULT_MATRIX or len({name for name, _ in faulted}) < len(ELIGIBLE) // 2:
        pytest.skip("judges the default matrix (all seeds, kinds and scenarios) only")
    totals = {k: 0 for k in KINDS}
    for fr in faulted.values():
        for d in fr.injected():
            totals[d.kind] += 1
    requests = sum(len(fr.decisions) for fr in faulted.values())
    rare = {k: n for k, n in totals.items() if n < MIN_PER_KIND}
    assert not rare, f"faults injected per kind over {requests} requests: {totals}"
    share = sum(totals.values()) / max(requests, 1)
    assert 0.5 * RATE <= share <= 1.5 * RATE, f"{share:.2f} of the requests faulted: {totals}"


def test_retries_recover(faulted) -> None:
    """Most runs that met faults still came out exactly as the fault-free ones: the retries (3
    attempts, answers cut short included) absorb a 30 % fault rate for most calls. (About two
    thirds recover; a run of ~25 calls at 30 % meets a call faulted three times in a row now and
    then, and an answer slower than --timeout costs its attempts.)"""
    if not DEFAULT_MATRIX or len({name for name, _ in faulted}) < len(ELIGIBLE) // 2:
        pytest.skip("judges the default matrix (all seeds, kinds and scenarios) only")
    met = [fr for fr in faulted.values() if fr.injected()]
    recovered = [fr for fr in met if fr.identical_to_baseline()]
    assert len(met) > 0.9 * len(faulted), f"only {len(met)} of {len(faulted)} runs met a fault"
    assert len(recovered) >= max(3, len(met) // 3), (
        f"only {len(recovered)} of {len(met)} faulted runs came out like the fault-free ones"
    )


def test_stats_count_every_request_sent(faulted) -> None:
    """stats.api_calls counts HTTP requests, retries included, and stats.retries the repeats: a
    faulted run never reports fewer requests than the proxy received, nor fewer retries than the
    requests it received again (identical key, operation and body). Most runs match exactly; a
    request may be sent and never reach the proxy (a kept-alive connection it had closed), so
    more is not a fault."""
    exact, under = [], []
    for fr in faulted.values():
        if fr.run.report is None:
            continue
        stats = fr.run.report["stats"]
        seen = len(fr.decisions)
        again = sum(1 for d in fr.decisions if d.occurrence > 1)
        if stats["api_calls"] < seen or stats["retries"] < again:
            under.append(f"{fr.scenario.name} seed {fr.seed}: stats {stats}, proxy saw {seen} "
                         f"requests, {again} of them again")
        elif stats["api_calls"] == seen and stats["retries"] == again:
            exact.append(fr)
    assert not under, "\n".join(under)
    assert len(exact) > len(faulted) // 2, f"only {len(exact)} of {len(faulted)} runs exact"
