"""Session fixtures of the end-to-end suite: one emulator for the whole run (stopped at the end,
also when tests fail), every scenario seeded into it up front (one VPC each), and the binary run
against every scenario in parallel before the first assertion."""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from emulator import Emulator  # noqa: E402  (sets the moto environment before moto loads)
from harness import OUT, Run, Seeded, binary_path, run_all, seed  # noqa: E402
from fleet import DEFAULT_CALLER  # noqa: E402
from scenarios import ACCOUNT, AUTH_SCENARIO, REGION, SCENARIOS  # noqa: E402

JOBS = int(os.environ.get("E2E_JOBS", "4"))
TIMINGS: dict[str, float] = {}


@dataclass
class Suite:
    seeded: dict[str, Seeded]
    runs: dict[str, Run]
    auth: Seeded


@pytest.fixture(scope="session")
def emulator():
    OUT.mkdir(parents=True, exist_ok=True)
    for stale in OUT.glob("*"):
        if stale.is_file():
            stale.unlink()
    emu = Emulator(OUT / "requests.jsonl").start()
    try:
        _seed_default_caller(emu)
        yield emu
    finally:
        emu.stop()


def _seed_default_caller(emu: Emulator) -> None:
    """moto answers sts:GetCallerIdentity for an access key IAM does not know with its user
    "moto": make that user exist, with one inline policy allowing everything, so that the operator
    checks read a real identity (fleet.OPERATOR_READS is what reading it costs)."""
    iam = emu.client("iam")
    iam.create_user(UserName=DEFAULT_CALLER)
    iam.put_user_policy(UserName=DEFAULT_CALLER, PolicyName="everything", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))


@pytest.fixture(scope="session")
def binary() -> Path:
    path = binary_path()
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(f"{path} not found: build it first (cargo build) or set SSM_DOCTOR_BIN")
    return path


@pytest.fixture(scope="session")
def suite(emulator: Emulator, binary: Path) -> Suite:
    started = time.monotonic()
    # Managed nodes that are not EC2 instances of any scenario (on-premises servers): the list a
    # DescribeInstanceInformation without filter returns spans several pages (default page: 10).
    for k in range(12):
        emulator.register_agent(f"mi-{k:017x}", region=REGION, account=ACCOUNT,
                                platform_name="Ubuntu", platform_version="22.04")
    # Scenario i gets VPC 10.i.0.0/16; the fleet world's start at 10.151 (fleet.py).
    assert len(SCENARIOS) + 1 < 151, "too many scenarios for their VPCs: move fleet.py's labs up"
    seeded = [seed(emulator, s, i + 1) for i, s in enumerate(SCENARIOS)]
    auth = seed(emulator, AUTH_SCENARIO, len(SCENARIOS) + 1)
    TIMINGS["seed all scenarios"] = time.monotonic() - started
    started = time.monotonic()
    runs = run_all(emulator, seeded, JOBS)
    emulator.wait_idle()
    TIMINGS[f"run the binary on {len(runs)} scenarios ({JOBS} at a time)"] = (
        time.monotonic() - started
    )
    return Suite({s.scenario.name: s for s in seeded}, runs, auth)


def pytest_collection_modifyitems(session, config, items):  # noqa: ANN001
    """The request-log tests judge every request the binary made in the session (scenarios and
    fleet runs alike): whatever the file order, they run last."""
    last = [item for item in items if item.name.startswith("test_request_log_")]
    items[:] = [item for item in items if item not in last] + last


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # noqa: ANN001
    if TIMINGS:
        terminalreporter.write_line(
            "e2e timings: " + "; ".join(f"{k}: {v:.1f}s" for k, v in TIMINGS.items())
        )
        terminalreporter.write_line(f"e2e outputs and request log: {OUT}")
