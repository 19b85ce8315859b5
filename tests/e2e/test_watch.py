"""``--watch`` against the emulator: an instance whose network ACL denies 443 out is fixed while the
watch runs (the rule deleted between two rounds); the next round shows only what changed, the
instance turns healthy and the watch exits 0. What a round has read and cannot have changed since
(a customer-managed policy's version document) is not asked again."""

from __future__ import annotations

import subprocess
from collections import Counter

from harness import seed, tool_env
from scenarios import (
    CORE_EXPLICIT,
    PUBLIC,
    REGION,
    SCENARIOS,
    Scenario,
    nacl_entry,
    public_shape,
)

WATCHED = Scenario(
    "watch-nacl-fixed-mid-run",
    lambda lab: (
        public_shape(lab, role_kwargs={"managed": [], "customer": {"core": CORE_EXPLICIT}}),
        lab.custom_nacl("nacl", "app", [
            nacl_entry(90, True, "deny", ports=(443, 443)),
            nacl_entry(100, True, "allow", protocol="-1"),
            nacl_entry(100, False, "allow", protocol="-1"),
        ]),
    ),
    exit_code=1, baseline=PUBLIC, expect_fail={"network.nacl"},
)


def test_a_fix_made_during_the_watch_ends_it_healthy(emulator, binary) -> None:
    # After every scenario and the authorization scenario; the fleet world starts at 10.151.
    index = len(SCENARIOS) + 2
    assert index < 151
    seeded = seed(emulator, WATCHED, index)
    assert seeded.error is None, seeded.error
    cmd = [str(binary), seeded.ids["instance"], "--region", REGION, "--watch", "--interval", "2",
           "--watch-for", "120", "--max-attempts", "2"]
    proc = subprocess.Popen(cmd, env=tool_env(emulator.url, seeded.access_key),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)
    try:
        first = []
        assert proc.stdout is not None
        for line in proc.stdout:
            first.append(line)
            if line.startswith("Watching:"):
                break
        first_round = "".join(first)
        assert "✗ FAIL network.nacl" in first_round, first_round
        emulator.client("ec2", REGION).delete_network_acl_entry(
            NetworkAclId=seeded.ids["nacl"], RuleNumber=90, Egress=True)
        rest, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, f"{first_round}{rest}\n{err}"
    assert "Round 2" in rest, rest
    assert "network.nacl           ✗ fail → ✓ PASS" in rest, rest
    # Only what changed: the checks that passed all along are not repeated.
    assert "instance.running" not in rest, rest
    assert rest.rstrip().splitlines()[-1].startswith("✓ "), rest
    assert "aws ssm start-session --target " + seeded.ids["instance"] in rest, rest
    asked = Counter(e["action"] for e in emulator.middleware.entries
                    if e.get("access_key") == seeded.access_key and e.get("client") == "tool")
    rounds = asked["ec2:DescribeInstances"]
    assert rounds >= 2, asked
    # The role's customer-managed policy: its default version's document is read once.
    assert asked["iam:GetPolicyVersion"] == 1, asked
