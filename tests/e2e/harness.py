"""Seeding every scenario into the one emulator and running the binary against each, in parallel."""

from __future__ import annotations

import json
import os
import subprocess
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import endpoint_stubs
from scenarios import PLUGIN_VERSION, Lab, Scenario, report_statuses

E2E_DIR = Path(__file__).resolve().parent
ROOT = E2E_DIR.parent.parent
# E2E_OUT moves the outputs elsewhere, so that two runs of the suite at once keep theirs apart.
OUT = Path(os.environ.get("E2E_OUT") or E2E_DIR / "out")
MAX_ATTEMPTS = 2
TIMEOUT_SECONDS = 30
SUBPROCESS_TIMEOUT = 120


def binary_path() -> Path:
    return Path(os.environ.get("SSM_DOCTOR_BIN") or ROOT / "target" / "debug" / "ssm-doctor")


def access_key_for(index: int) -> str:
    """Each scenario's binary signs with its own dummy key: faults and log entries are per key."""
    return f"AKIAE2ESCENARIO{index:05d}"


@dataclass
class Seeded:
    scenario: Scenario
    index: int
    ids: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    access_key: str = ""
    secret_key: str = "e2e-dummy-secret"
    session_token: str | None = None


@dataclass
class Run:
    cmd: list[str]
    returncode: int | None
    stdout: str
    stderr: str
    seconds: float
    report: dict[str, Any] | None = None
    parse_error: str | None = None

    def statuses(self) -> dict[str, str]:
        return report_statuses(self.report)

    def check(self, check_id: str) -> dict[str, Any]:
        return next(c for c in self.report["checks"] if c["id"] == check_id)

    def describe(self) -> str:
        lines = [f"$ {' '.join(self.cmd)}", f"exit {self.returncode} after {self.seconds:.1f}s"]
        for c in (self.report or {}).get("checks", []):
            lines.append(f"  {c['id']:<22} {c['status']:<5} {c.get('message', '')}")
        for r in (self.report or {}).get("reports", []):  # a fleet: one line per instance
            bad = [f"{c['id']}={c['status']}" for c in r.get("checks", [])
                   if c["status"] in ("fail", "warn", "error")]
            lines.append(f"  {r['target']['instance_id']:<20} {r['verdict']:<10} {' '.join(bad)}")
        if self.report is None:
            lines.append(f"stdout: {self.stdout[:2000]}")
        if self.stderr.strip():
            lines.append(f"stderr: {self.stderr[-2000:]}")
        return "\n".join(lines)


def seed(emulator: Any, scenario: Scenario, index: int) -> Seeded:
    lab = Lab(emulator, scenario, index)
    seeded = Seeded(scenario, index, lab.ids, access_key=access_key_for(index))
    try:
        scenario.seed(lab)
        assert "instance" in lab.ids, "the seeding function named no instance"
        # a scenario with an operator of its own runs with that operator's credentials
        seeded.access_key = lab.ids.get("access_key", seeded.access_key)
        seeded.secret_key = lab.ids.get("secret_key", seeded.secret_key)
        seeded.session_token = lab.ids.get("session_token")
    except Exception:  # noqa: BLE001 - reported by the scenario's own test
        seeded.error = traceback.format_exc()
    return seeded


#: A developer's proxy settings never reach a run: scenarios set their own.
PROXY_VARIABLES = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}


def fake_bin(plugin: str | None) -> Path:
    """The runs' whole PATH: a fake ``session-manager-plugin`` printing ``plugin`` (none when
    None) and an ``aws`` that is never run. Nothing of the machine's PATH leaks in: the result
    does not depend on what the test machine has installed."""
    d = OUT / f"bin-{plugin or 'without-plugin'}"
    if not (d / "aws").exists():
        d.mkdir(parents=True, exist_ok=True)
        scripts = {"aws": "exit 0"}
        if plugin:
            scripts["session-manager-plugin"] = f"echo {plugin}"
        for name, body in scripts.items():
            tmp = d / f".{name}.{os.getpid()}.{time.monotonic_ns()}"
            tmp.write_text(f"#!/bin/sh\n{body}\n")
            tmp.chmod(0o755)
            tmp.replace(d / name)  # atomic: parallel runs may create the same directory
    return d


def tool_env(endpoint: str, access_key: str, secret_key: str = "e2e-dummy-secret",
             session_token: str | None = None, plugin: str | None = PLUGIN_VERSION,
             extra_env: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k.lower() not in PROXY_VARIABLES}
    env["PATH"] = str(fake_bin(plugin))
    # The operator's network probe asks the loopback stubs, never the machine's resolver.
    env.update(endpoint_stubs.environment())
    if session_token:
        env["AWS_SESSION_TOKEN"] = session_token
    env.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID=access_key,
        AWS_SECRET_ACCESS_KEY=secret_key,
        AWS_EC2_METADATA_DISABLED="true",
        # never read a developer's ~/.aws
        AWS_CONFIG_FILE=str(OUT / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(OUT / "no-aws-credentials"),
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
        NO_COLOR="1",
    )
    env.update(extra_env or {})
    return env


def run_tool(endpoint: str, instance_id: str, region: str, *, access_key: str,
             secret_key: str = "e2e-dummy-secret", session_token: str | None = None,
             plugin: str | None = PLUGIN_VERSION, extra: list[str] = (),
             extra_env: dict[str, str] | None = None,
             name: str | None = None, output_json: bool = True,
             timeout: int = TIMEOUT_SECONDS, max_attempts: int = MAX_ATTEMPTS) -> Run:
    args = [instance_id]
    if name:
        args += ["--save-facts", str(OUT / f"{name}.facts.json")]
    return run_binary(endpoint, args + list(extra), region, access_key=access_key,
                      secret_key=secret_key, session_token=session_token, plugin=plugin,
                      extra_env=extra_env, name=name,
                      output_json=output_json, timeout=timeout, max_attempts=max_attempts)


def run_binary(endpoint: str, args: list[str], region: str, *, access_key: str,
               secret_key: str = "e2e-dummy-secret", session_token: str | None = None,
               plugin: str | None = PLUGIN_VERSION, extra_env: dict[str, str] | None = None,
               stdin: str | None = None,
               name: str | None = None, output_json: bool = True,
               timeout: int = TIMEOUT_SECONDS, max_attempts: int = MAX_ATTEMPTS) -> Run:
    """The binary with ``args`` (instance ids and/or selectors first), ``--region``, JSON output
    unless ``output_json`` is false, and ``--max-attempts``/``--timeout`` (clap takes each once:
    pass other values here, not in ``args``); ``stdin`` is fed to
    it (none: /dev/null). With ``name``, stdout and stderr are kept in ``out/``."""
    cmd = [str(binary_path()), *args, "--region", region]
    if output_json:
        cmd += ["--output", "json"]
    cmd += ["--max-attempts", str(max_attempts), "--timeout", str(timeout)]
    started = time.monotonic()
    try:
        proc = subprocess.run(
            cmd, env=tool_env(endpoint, access_key, secret_key, session_token, plugin, extra_env),
            capture_output=True, text=True,
            timeout=SUBPROCESS_TIMEOUT,
            **({"input": stdin} if stdin is not None else {"stdin": subprocess.DEVNULL}),
        )
        rc, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as e:
        rc, stdout, stderr = None, e.stdout or "", f"timed out after {SUBPROCESS_TIMEOUT}s"
        stdout = stdout.decode() if isinstance(stdout, bytes) else stdout
    run = Run(cmd, rc, stdout, stderr, time.monotonic() - started)
    if output_json:
        try:
            run.report = json.loads(stdout)
        except ValueError as e:
            run.parse_error = str(e)
    if name:
        suffix = "json" if output_json else "txt"
        (OUT / f"{name}.stdout.{suffix}").write_text(stdout)
        (OUT / f"{name}.stderr.txt").write_text(stderr)
    return run


def run_all(emulator: Any, seeded: list[Seeded], jobs: int) -> dict[str, Run]:
    for s in seeded:
        if s.error is None and s.scenario.fault is not None:
            f = s.scenario.fault
            emulator.set_fault(f.operation, access_key=s.access_key, status=f.status, delay=f.delay)

    def one(s: Seeded) -> tuple[str, Run]:
        return s.scenario.name, run_tool(
            emulator.url, s.ids["instance"], s.scenario.run_region or s.scenario.region,
            access_key=s.access_key, secret_key=s.secret_key, session_token=s.session_token,
            plugin=s.scenario.plugin, extra_env=s.scenario.env,
            extra=s.scenario.args, name=s.scenario.name, timeout=s.scenario.timeout,
        )

    todo = [s for s in seeded if s.error is None]
    # the slowest (faulted) runs first, so that they overlap with the rest
    todo.sort(key=lambda s: s.scenario.fault is None)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return dict(pool.map(one, todo))


OUTPUT_SCHEMA = ROOT / "docs" / "output.schema.json"


def assert_reports_match_schema(runs: dict[str, Run]) -> int:
    """Every run that printed a JSON report validates against docs/output.schema.json; returns
    how many were checked."""
    import jsonschema

    schema = json.loads(OUTPUT_SCHEMA.read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    checked = 0
    for name, run in runs.items():
        if run.report is None:
            continue
        errors = sorted(validator.iter_errors(run.report), key=lambda e: list(e.path))
        assert not errors, f"{name}: " + "; ".join(
            f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors[:5]
        )
        checked += 1
    return checked
