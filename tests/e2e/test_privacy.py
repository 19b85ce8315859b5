"""Secrets and privacy, with the real binary against the emulator: planted credentials never
appear in any output format or saved snapshot, and ``--redact`` leaves no account id, address,
resource id or customer name in any format while keeping every verdict."""

from __future__ import annotations

import json
import subprocess

import pytest

from conftest import Suite
from harness import OUT, binary_path, tool_env
from scenarios import ACCOUNT

SCENARIO = "healthy-private-endpoints"
FORMATS = ("json", "human", "markdown")
PLANTED = {
    "AWS_ACCESS_KEY_ID": "AKIAPLANTEDKEY000001",
    "AWS_SECRET_ACCESS_KEY": "planted-secret-key-do-not-print",
    "AWS_SESSION_TOKEN": "planted-session-token-do-not-print",
}


def _run(emulator, args: list[str], env_extra: dict[str, str]) -> subprocess.CompletedProcess:
    env = tool_env(emulator.url, PLANTED["AWS_ACCESS_KEY_ID"]) | env_extra
    return subprocess.run([str(binary_path()), *args], env=env, capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)


def _base_args(suite: Suite, fmt: str) -> list[str]:
    seeded = suite.seeded[SCENARIO]
    return [seeded.ids["instance"], "--region", seeded.scenario.region, "--output", fmt,
            "--max-attempts", "2"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_planted_credentials_never_appear(suite: Suite, emulator, fmt: str) -> None:
    facts = OUT / f"privacy-{fmt}.facts.json"
    run = _run(emulator, _base_args(suite, fmt) + ["--save-facts", str(facts)], PLANTED)
    assert run.returncode == 0, run.stdout + run.stderr
    everything = run.stdout + run.stderr + facts.read_text()
    for name, secret in PLANTED.items():
        assert secret not in everything, f"{name} appears in the {fmt} output or the snapshot"


def _customer_values(suite: Suite) -> list[str]:
    """What a ticket outside the company must not show: account, ids, names, addresses."""
    seeded = suite.seeded[SCENARIO]
    saved = json.loads((OUT / f"{SCENARIO}.facts.json").read_text())["aws"]
    instance = saved["instance"]["value"]
    values = [ACCOUNT, seeded.ids["instance"], instance["vpc_id"], instance["subnet_id"],
              instance["private_ip"], *instance["security_group_ids"]]
    profile = saved["iam"]["instance_profile"]["value"]
    values += [profile["name"], *profile["role_names"]]
    values += [s["cidr"] for s in saved["network"]["subnets"]["value"]]
    values += [e["id"] for e in saved["network"]["vpc_endpoints"]["value"]]
    if instance.get("name"):
        values.append(instance["name"])
    return values


@pytest.mark.parametrize("fmt", FORMATS)
def test_redact_hides_the_estate_in_every_format(suite: Suite, emulator, fmt: str) -> None:
    plain = _run(emulator, _base_args(suite, fmt), {})
    redacted = _run(emulator, _base_args(suite, fmt) + ["--redact"], {})
    assert redacted.returncode == plain.returncode == 0, redacted.stdout + redacted.stderr
    values = _customer_values(suite)
    assert all(v in plain.stdout for v in values[:2]), "the plain report names the instance"
    leaked = [v for v in values if v and v in redacted.stdout]
    assert not leaked, f"--redact left {leaked} in the {fmt} output:\n{redacted.stdout[:3000]}"
    assert "ACCOUNT-1" in redacted.stdout
    if fmt == "json":
        before, after = json.loads(plain.stdout), json.loads(redacted.stdout)
        assert [(c["id"], c["status"]) for c in before["checks"]] == [
            (c["id"], c["status"]) for c in after["checks"]
        ], "redaction changed a verdict"
        assert after["target"]["account"] == "ACCOUNT-1"


@pytest.mark.parametrize("scenario", ["healthy-hub-and-spoke", "spoke-resolver-forwarding"])
def test_redact_hides_the_vpcs_dns(suite: Suite, emulator, scenario: str) -> None:
    """What network.dns-central names — zones, Resolver rules and their targets, hub endpoints,
    the transit gateway, its attachment and route table — is the estate's too."""
    seeded = suite.seeded[scenario]
    args = [seeded.ids["instance"], "--region", seeded.scenario.region, "--output", "json",
            "--max-attempts", "2"]
    plain = _run(emulator, args, {})
    redacted = _run(emulator, args + ["--redact"], {})
    assert redacted.returncode == plain.returncode == 0, redacted.stdout + redacted.stderr
    saved = json.loads((OUT / f"{scenario}.facts.json").read_text())["aws"]
    dns = saved["network"]["dns"]["value"]
    values = [seeded.ids[k] for k in ("tgw", "resolver_rule", "resolver_target",
                                      "hub_vpce_ssm", "hub_vpce_ssmmessages") if k in seeded.ids]
    values += [z["id"] for z in dns["zones"]["value"]]
    for a in dns["attachments"]["value"]:
        values += [a["id"], a.get("route_table")]
    values = [v for v in values if v]
    central = next(c for c in json.loads(plain.stdout)["checks"]
                   if c["id"] == "network.dns-central")
    assert central["status"] == "pass" and seeded.ids["tgw"] in central["message"], central
    leaked = [v for v in values if v in redacted.stdout]
    assert not leaked, f"--redact left {leaked}:\n{redacted.stdout[:3000]}"
