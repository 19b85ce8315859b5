//! The binary as a user meets it, over the bundled snapshots: verdicts, exit codes, formats, errors.

mod common;

use common::{fixture, root, ssm_doctor, ssm_doctor_with};
use serde_json::Value;
use std::collections::BTreeSet;
use std::process::Command;

/// The check ids of the catalogue, in report order: never a count or a list written here.
fn catalogue() -> Vec<&'static str> {
    ssm_doctor::catalog::Catalog::get().ids().collect()
}

fn json_report(name: &str) -> (Value, i32) {
    let out = ssm_doctor(&[
        "--facts",
        fixture(name).to_str().unwrap(),
        "--output",
        "json",
    ]);
    let report = serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    (report, out.status.code().unwrap())
}

fn ids_with(report: &Value, status: &str) -> BTreeSet<String> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == status)
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

/// What each bundled snapshot must produce: the injected root cause as `fail` (and the agent's
/// symptom where the snapshot has one), nothing else failing, and the exit code.
const EXPECTED: &[(&str, &[&str], i32)] = &[
    ("healthy-private-endpoints", &[], 0),
    ("healthy-public-igw", &[], 0),
    ("healthy-private-nat", &[], 0),
    ("broken-missing-ssmmessages-endpoint", &["vpce.present"], 1),
    (
        "broken-no-instance-profile",
        &["iam.profile", "agent.registered"],
        1,
    ),
    ("broken-deny-ssmmessages", &["iam.core-permissions"], 1),
    (
        "broken-nacl-blocks-443",
        &["network.nacl", "agent.online"],
        1,
    ),
    (
        "broken-endpoint-sg-blocks-443",
        &["vpce.ingress-443", "agent.online"],
        1,
    ),
];

#[test]
fn bundled_snapshots_name_their_root_cause_and_exit_accordingly() {
    for (name, fails, code) in EXPECTED {
        let (report, exit) = json_report(name);
        assert_eq!(ids_with(&report, "fail"), set(fails), "{name}");
        assert_eq!(exit, *code, "{name}");
        assert!(ids_with(&report, "error").is_empty(), "{name}");
        for check in report["checks"].as_array().unwrap() {
            if check["status"] == "fail" {
                let fix = &check["remediation"];
                for field in ["text", "cli", "terraform", "cloudformation"] {
                    let text = fix[field].as_str().unwrap_or_default();
                    assert!(!text.is_empty(), "{name}: {} has no {field}", check["id"]);
                    assert!(
                        !text.contains("{{"),
                        "{name}: unfilled placeholder in {}",
                        check["id"]
                    );
                }
            }
        }
    }
}

#[test]
fn json_output_validates_against_the_documented_schema() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("docs/output.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema is valid");
    for (name, _, _) in EXPECTED {
        let (report, _) = json_report(name);
        let errors: Vec<String> = validator
            .iter_errors(&report)
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:#?}");
    }
    // The schema is not vacuous: a report missing its verdict, or with an unknown status, fails it.
    let (mut report, _) = json_report("healthy-public-igw");
    report["checks"][0]["status"] = Value::from("maybe");
    assert!(!validator.is_valid(&report));
    report.as_object_mut().unwrap().remove("verdict");
    assert!(!validator.is_valid(&report));
}

#[test]
fn an_error_makes_the_run_incomplete_with_exit_3() {
    let mut facts: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("healthy-private-nat")).unwrap())
            .unwrap();
    facts["aws"]["network"]["network_acls"] = serde_json::json!({"status": "denied", "action": "ec2:DescribeNetworkAcls", "message": "not authorized"});
    let path = std::env::temp_dir().join(format!("ssm-doctor-denied-{}.json", std::process::id()));
    std::fs::write(&path, facts.to_string()).unwrap();
    let out = ssm_doctor(&["--facts", path.to_str().unwrap(), "--output", "json"]);
    std::fs::remove_file(&path).ok();
    assert_eq!(out.status.code(), Some(3));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["verdict"], "incomplete");
    assert_eq!(ids_with(&report, "error"), set(&["network.nacl"]));
    let nacl = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "network.nacl")
        .unwrap();
    assert!(
        nacl["message"]
            .as_str()
            .unwrap()
            .contains("ec2:DescribeNetworkAcls")
    );
}

#[test]
fn human_output_is_plain_when_piped_and_leads_with_the_failure() {
    let out = ssm_doctor(&[
        "--facts",
        fixture("broken-deny-ssmmessages").to_str().unwrap(),
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        !text.contains('\u{1b}'),
        "no ANSI escapes when stdout is not a terminal"
    );
    let first_fail = text
        .find("✗ FAIL iam.core-permissions")
        .expect("failure is listed");
    assert!(
        first_fail < text.find("All checks").unwrap(),
        "failures come before the full list"
    );
    assert!(
        text.contains("NoInteractiveSessions"),
        "names the denying statement"
    );
    assert!(
        text.trim_end()
            .lines()
            .any(|l| l.starts_with("✗ ") && l.contains("NOT reachable"))
    );
    for line in text.lines().filter(|l| !may_overflow(l)) {
        assert!(
            line.chars().count() <= 80,
            "line wider than 80 columns: {line:?}"
        );
    }
    let forced = ssm_doctor(&[
        "--facts",
        fixture("broken-deny-ssmmessages").to_str().unwrap(),
        "--color",
        "always",
    ]);
    assert!(String::from_utf8(forced.stdout).unwrap().contains('\u{1b}'));
}

#[test]
fn markdown_is_ticket_ready() {
    let out = ssm_doctor(&[
        "--facts",
        fixture("broken-nacl-blocks-443").to_str().unwrap(),
        "-o",
        "markdown",
    ]);
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(md.starts_with("## ssm-doctor: `i-0123456789abcdef0`"));
    assert!(md.contains("**Verdict: ❌ fail**"));
    assert!(md.contains("#### ❌ `network.nacl`"));
    assert!(md.contains("```hcl") && md.contains("```yaml") && md.contains("```bash"));
    // Every check but those only `ssm-doctor local` runs, on the instance, and those of the
    // `param` and `patch` reports.
    let catalog = ssm_doctor::catalog::Catalog::get();
    let from_here = catalog
        .pages()
        .filter(|p| p.vantage != ssm_doctor::facts::Vantage::Instance)
        .filter(|p| p.command == ssm_doctor::facts::Command::Session)
        .count();
    let all = format!("<details><summary>All {from_here} checks</summary>");
    assert!(md.contains(&all));
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn bad_input_is_one_line_and_exit_2_before_any_aws_call() {
    let cases: &[&[&str]] = &[
        &["i-123"],
        &["not-an-instance"],
        &["explain", "no.such-check"],
        &["--facts", "/nonexistent/facts.json"],
        &["--facts", "Cargo.toml"],
        &["--output", "yaml", "i-0123456789abcdef0"],
        &[],
    ];
    for args in cases {
        let out = Command::new(env!("CARGO_BIN_EXE_ssm-doctor"))
            .args(*args)
            .current_dir(root())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?} printed to stdout");
        assert!(!out.stderr.is_empty(), "{args:?} said nothing");
    }
    // A snapshot of another instance is refused rather than reported under the wrong id.
    let out = ssm_doctor(&[
        "i-0fedcba9876543210",
        "--facts",
        fixture("healthy-public-igw").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("i-0123456789abcdef0")
    );
}

/// A real diagnosis that gives up quickly: one attempt per call, two seconds each.
const QUICK_RUN: &[&str] = &[
    "i-0123456789abcdef0",
    "--region",
    "eu-west-1",
    "--max-attempts",
    "1",
    "--timeout",
    "2",
];

#[test]
fn missing_credentials_get_advice_not_an_sdk_dump() {
    let out = ssm_doctor(QUICK_RUN);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("credentials") && err.contains("aws sso login"),
        "{err}"
    );
    assert!(!err.contains("DispatchFailure"), "{err}");

    let out = ssm_doctor(&["i-0123456789abcdef0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8(out.stderr).unwrap().contains("--region"));
}

#[test]
fn an_unreachable_api_is_one_line_of_advice() {
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    let out = ssm_doctor_with(
        QUICK_RUN,
        &[
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:1"),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("cannot reach the AWS API") && err.contains("--region"),
        "{err}"
    );
}

#[test]
fn explain_and_checks_list_the_catalogue() {
    let out = ssm_doctor(&["checks"]);
    let list = String::from_utf8(out.stdout).unwrap();
    let listed: Vec<&str> = list.lines().map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(listed, catalogue());
    let out = ssm_doctor(&["explain", "vpce.present"]);
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(page.starts_with("# vpce.present: "));
    assert!(page.contains("## How to fix") && page.contains("### Terraform"));
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn policy_prints_the_shipped_least_privilege_policy() {
    let out = ssm_doctor(&["policy"]);
    assert_eq!(out.status.code(), Some(0));
    let shipped = std::fs::read(root().join("docs/iam-policy.json")).unwrap();
    assert_eq!(out.stdout, shipped);
}

#[test]
fn help_documents_exit_codes_and_examples() {
    let out = ssm_doctor(&["--help"]);
    let help = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "Exit codes:",
        "  3  incomplete",
        "  4  internal error",
        "Examples:",
        "--facts",
        "explain",
    ] {
        assert!(help.contains(needle), "--help lacks {needle:?}");
    }
}

#[test]
fn a_snapshot_of_several_instances_gives_a_fleet_report() {
    let read = |name: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(fixture(name)).unwrap()).unwrap()
    };
    let healthy = read("healthy-public-igw");
    let mut broken = read("broken-deny-ssmmessages");
    broken["target"]["instance_id"] = Value::from("i-0fedcba9876543210");
    broken["aws"]["instance"]["value"]["instance_id"] = Value::from("i-0fedcba9876543210");
    let path = std::env::temp_dir().join(format!("ssm-doctor-fleet-{}.json", std::process::id()));
    std::fs::write(&path, Value::Array(vec![healthy, broken]).to_string()).unwrap();
    let file = path.to_str().unwrap();

    let out = ssm_doctor(&["--facts", file, "--output", "json"]);
    assert_eq!(out.status.code(), Some(1), "the worst instance decides");
    let fleet: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        fleet["summary"],
        serde_json::json!({"instances": 2, "pass": 1, "warn": 0, "fail": 1, "incomplete": 0})
    );
    assert_eq!(
        fleet["reports"][1]["target"]["instance_id"],
        "i-0fedcba9876543210"
    );
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("docs/output.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    assert!(
        validator.is_valid(&fleet),
        "fleet JSON validates against the schema"
    );

    let table = String::from_utf8(ssm_doctor(&["--facts", file]).stdout).unwrap();
    let row = table
        .lines()
        .find(|l| l.starts_with("i-0fedcba9876543210"))
        .expect("a row per instance");
    assert!(
        row.contains("✗ fail") && row.contains("iam.core-permissions"),
        "{row}"
    );
    for line in table.lines() {
        assert!(
            line.chars().count() <= 80,
            "fleet line wider than 80: {line:?}"
        );
    }

    // Naming one instance of the snapshot narrows it down to that one's single report.
    let out = ssm_doctor(&["i-0123456789abcdef0", "--facts", file, "--output", "json"]);
    std::fs::remove_file(&path).ok();
    let single: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(single["verdict"], "pass");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn document_overrides_what_a_snapshot_was_saved_with() {
    let file = fixture("healthy-public-igw");
    let out = ssm_doctor(&[
        "--facts",
        file.to_str().unwrap(),
        "--document",
        "AWS-StartPortForwardingSession",
        "--output",
        "json",
    ]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["target"]["document"],
        "AWS-StartPortForwardingSession"
    );
    // The bundled operator may open shells and SSH, not port forwarding.
    let permission = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "operator.permission")
        .unwrap();
    assert_eq!(permission["status"], "fail", "{permission}");
    assert_eq!(out.status.code(), Some(1));
    let (plain, _) = json_report("healthy-public-igw");
    assert_eq!(plain["target"]["document"], "SSM-SessionManagerRunShell");
}

#[test]
fn completions_and_the_man_page_come_from_the_cli_definition() {
    let dir = std::env::temp_dir().join(format!("ssm-doctor-completions-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = ssm_doctor(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let script = String::from_utf8(out.stdout).unwrap();
        // Every option of the CLI definition is offered, subcommands included (fish names a
        // long option `-l NAME`).
        for word in [
            "--asg",
            "--output",
            "--forward",
            "--watch",
            "explain",
            "local",
            "man",
        ] {
            let word = match (shell, word.strip_prefix("--")) {
                ("fish", Some(long)) => format!("-l {long}"),
                _ => word.to_string(),
            };
            assert!(script.contains(&word), "{shell} completion lacks {word}");
        }
        if shell == "bash" {
            let file = dir.join("ssm-doctor.bash");
            std::fs::write(&file, &script).unwrap();
            let checked = Command::new("bash").arg("-n").arg(&file).output().unwrap();
            assert!(checked.status.success(), "bash -n: {:?}", checked);
        }
    }
    let out = ssm_doctor(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2), "an unknown shell is bad usage");
    let out = ssm_doctor(&["man"]);
    assert_eq!(out.status.code(), Some(0));
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(
        page.starts_with(".ie") || page.contains(".TH ssm-doctor 1"),
        "{}",
        &page[..200]
    );
    for word in ["\\-\\-asg", "\\-\\-facts", "completions", "Exit codes"] {
        assert!(page.contains(word), "man page lacks {word}");
    }
    if Command::new("man").arg("--version").output().is_ok() {
        let file = dir.join("ssm-doctor.1");
        std::fs::write(&file, &page).unwrap();
        let shown = Command::new("man")
            .arg("-l")
            .arg(&file)
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "80")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&shown.stdout);
        assert!(text.contains("ssm-doctor"), "man -l rendered: {text}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The AWS resource ids in `text` (`vpc-…`, `sg-…`, `i-…`, …).
fn resource_ids(text: &str) -> BTreeSet<String> {
    const PREFIXES: &[&str] = &[
        "i", "vpc", "subnet", "sg", "vpce", "rtb", "acl", "nat", "igw", "eni", "pl", "tgw",
    ];
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|word| {
            word.split_once('-').is_some_and(|(prefix, hex)| {
                PREFIXES.contains(&prefix)
                    && matches!(hex.len(), 8 | 17)
                    && hex.bytes().all(|b| b.is_ascii_hexdigit())
            })
        })
        .map(str::to_string)
        .collect()
}

#[test]
fn a_fix_script_is_valid_shell_whose_every_id_comes_from_the_facts() {
    for (name, failing, _) in EXPECTED {
        let path = fixture(name);
        let out = ssm_doctor(&["--facts", path.to_str().unwrap(), "--fix-script"]);
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(script.starts_with("#!/usr/bin/env bash\n"), "{name}");
        assert_eq!(
            out.status.code(),
            Some(if failing.is_empty() { 0 } else { 1 })
        );
        let file =
            std::env::temp_dir().join(format!("ssm-doctor-fix-{}-{name}.sh", std::process::id()));
        std::fs::write(&file, &script).unwrap();
        let checked = Command::new("bash").arg("-n").arg(&file).output().unwrap();
        std::fs::remove_file(&file).unwrap();
        assert!(
            checked.status.success(),
            "{name}: bash -n: {checked:?}\n{script}"
        );
        let facts = std::fs::read_to_string(&path).unwrap();
        for id in resource_ids(&script) {
            assert!(
                facts.contains(&id),
                "{name}: {id} is not in the facts\n{script}"
            );
        }
        // Every command that runs is filled in; what is not is commented out.
        for line in script.lines().filter(|l| !l.trim_start().starts_with('#')) {
            assert!(
                !line.contains("<") || line.contains("<<"),
                "{name}: unfilled: {line}"
            );
        }
        if failing.is_empty() {
            assert!(script.contains("Nothing fails"), "{name}");
        }
    }
    let out = ssm_doctor(&[
        "--facts",
        fixture("broken-missing-ssmmessages-endpoint")
            .to_str()
            .unwrap(),
        "--fix-script",
    ]);
    let script = String::from_utf8(out.stdout).unwrap();
    assert!(script.contains("# 1. vpce.present:"), "{script}");
    // One safe sequence, every value known: live.
    assert!(
        script
            .lines()
            .any(|l| l.trim_start().starts_with("aws ec2 create-vpc-endpoint")),
        "{script}"
    );
    // A choice between fixes (a network ACL rule number, a route): for the reader to make.
    let out = ssm_doctor(&[
        "--facts",
        fixture("broken-nacl-blocks-443").to_str().unwrap(),
        "--fix-script",
    ]);
    let script = String::from_utf8(out.stdout).unwrap();
    assert!(
        script.contains("Left commented out: these are alternatives"),
        "{script}"
    );
    let live: Vec<&str> = script
        .lines()
        .filter(|l| l.trim_start().starts_with("aws "))
        .collect();
    assert!(live.is_empty(), "{live:?}");
    assert!(script.contains("export AWS_REGION="));
    let out = ssm_doctor(&[
        "--facts",
        fixture("broken-no-instance-profile").to_str().unwrap(),
        "--fix-format",
        "terraform",
    ]);
    let hcl = String::from_utf8(out.stdout).unwrap();
    assert!(
        hcl.contains("resource \"aws_iam_instance_profile\""),
        "{hcl}"
    );
    assert!(!hcl.contains("#!/usr/bin/env bash"));
    let out = ssm_doctor(&[
        "--facts",
        fixture("broken-no-instance-profile").to_str().unwrap(),
        "--fix-script",
        "--output",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a fix script is not a report format"
    );
}

#[test]
fn a_healthy_verdict_says_how_to_connect() {
    let path = fixture("healthy-private-endpoints");
    let out = ssm_doctor(&["--facts", path.to_str().unwrap()]);
    let text = String::from_utf8(out.stdout).unwrap();
    let connect = text.find("\nConnect\n").expect("a Connect section");
    assert!(
        connect < text.rfind("✓").unwrap(),
        "the verdict stays the last line"
    );
    assert!(text.contains("aws ssm start-session --target i-0123456789abcdef0"));
    assert!(text.contains("ProxyCommand sh -c \"aws ssm start-session --target %h"));
    for line in text.lines().filter(|l| !may_overflow(l)) {
        assert!(line.chars().count() <= 80, "wider than 80: {line:?}");
    }
    let (report, _) = json_report("healthy-private-endpoints");
    assert!(
        report["connect"]["session"]
            .as_str()
            .unwrap()
            .contains("--region")
    );
    let (report, _) = json_report("broken-deny-ssmmessages");
    assert!(
        report.get("connect").is_none(),
        "no connect hint for a broken instance"
    );
    let out = ssm_doctor(&["--facts", path.to_str().unwrap(), "-o", "markdown"]);
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(md.contains("### Connect") && md.contains("AWS-StartSSHSession"));
}

/// The hop each bundled snapshot's picture must mark broken (by a word of its label).
const BROKEN_HOP: &[(&str, &str)] = &[
    (
        "broken-missing-ssmmessages-endpoint",
        "no path to ssmmessages",
    ),
    ("broken-no-instance-profile", "instance i-"),
    ("broken-deny-ssmmessages", "instance i-"),
    ("broken-nacl-blocks-443", "acl-"),
    ("broken-endpoint-sg-blocks-443", "endpoint vpce-"),
];

#[test]
fn the_path_is_drawn_with_its_broken_hop_marked() {
    let graphviz = Command::new("dot").arg("-V").output().is_ok();
    if std::env::var_os("CI").is_some() {
        assert!(
            graphviz,
            "CI installs Graphviz (scripts/test): the DOT must be rendered"
        );
    }
    for (name, _, _) in EXPECTED {
        let path = fixture(name);
        let out = ssm_doctor(&["--facts", path.to_str().unwrap(), "--output", "dot"]);
        let dot = String::from_utf8(out.stdout).unwrap();
        assert!(dot.starts_with("digraph ssm_path {"), "{name}: {dot}");
        let red: Vec<&str> = dot.lines().filter(|l| l.contains("color=red,")).collect();
        match BROKEN_HOP.iter().find(|(n, _)| n == name) {
            Some((_, hop)) => assert!(
                red.iter()
                    .any(|l| l.contains(&format!("label=\"✗ {hop}")) || l.contains(hop)),
                "{name}: no broken hop like {hop:?} in\n{dot}"
            ),
            None => assert!(red.is_empty(), "{name} is healthy: {red:?}"),
        }
        if graphviz {
            let mut child = Command::new("dot")
                .arg("-Tsvg")
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(dot.as_bytes())
                .unwrap();
            let svg = child.wait_with_output().unwrap();
            assert!(svg.status.success(), "{name}: dot failed: {svg:?}");
            let svg = String::from_utf8(svg.stdout).unwrap();
            assert_eq!(
                svg.contains("stroke=\"red\""),
                BROKEN_HOP.iter().any(|(n, _)| n == name),
                "{name}: the rendered picture marks the broken hop in red, and only it"
            );
        }
        let out = ssm_doctor(&["--facts", path.to_str().unwrap(), "-o", "markdown"]);
        let md = String::from_utf8(out.stdout).unwrap();
        assert!(md.contains("```mermaid\nflowchart LR\n"), "{name}");
        assert_eq!(
            md.contains(" broken\n"),
            BROKEN_HOP.iter().any(|(n, _)| n == name),
            "{name}: the Mermaid picture classes the broken hop"
        );
    }
}

/// Lines a terminal report may let run past 80 columns: links and code to copy (a command, the
/// `~/.ssh/config` block), which wrapping would break.
fn may_overflow(line: &str) -> bool {
    line.contains("https://") || line.starts_with("      ")
}

#[test]
fn on_a_terminal_the_report_is_coloured_unless_no_color_and_fits_80_columns() {
    // `script` gives the run a pseudo-terminal, as a user's shell would.
    let util_linux = Command::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !util_linux {
        eprintln!("script (util-linux) is not installed: the terminal run is not tested");
        return;
    }
    for name in ["broken-nacl-blocks-443", "healthy-private-endpoints"] {
        let line = format!(
            "{} --facts {}",
            env!("CARGO_BIN_EXE_ssm-doctor"),
            fixture(name).display()
        );
        let on_terminal = |env: &[(&str, &str)]| {
            let out = Command::new("script")
                .env_clear()
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .env("TERM", "xterm-256color")
                .env("AWS_EC2_METADATA_DISABLED", "true")
                .env("SSM_DOCTOR_RESOLVER", "127.0.0.1:9")
                .envs(env.iter().copied())
                .args(["-qec", &line, "/dev/null"])
                .output()
                .unwrap();
            String::from_utf8(out.stdout).unwrap().replace('\r', "")
        };
        let coloured = on_terminal(&[]);
        assert!(
            coloured.contains('\u{1b}'),
            "{name}: no colour on a terminal"
        );
        let plain = on_terminal(&[("NO_COLOR", "1")]);
        assert!(!plain.contains('\u{1b}'), "{name}: colour despite NO_COLOR");
        assert!(plain.contains("All checks"), "{name}: {plain}");
        for line in plain.lines().filter(|l| !may_overflow(l)) {
            assert!(
                line.chars().count() <= 80,
                "{name}: wider than 80: {line:?}"
            );
        }
    }
}

#[test]
fn param_and_patch_snapshots_are_judged_by_their_own_commands() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("docs/output.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema is valid");
    let typo = fixture("param-typo");
    let typo = typo.to_str().unwrap();
    let instance = "i-0123456789abcdef0";
    let asked = [
        "param",
        "/app/prod/db-ulr",
        "--instance",
        instance,
        "--facts",
        typo,
    ];
    let out = ssm_doctor(&[&asked[..], &["-o", "json"]].concat());
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(validator.is_valid(&report), "{report:#}");
    assert_eq!(report["target"]["command"], "param");
    assert_eq!(report["target"]["parameter"], "/app/prod/db-ulr");
    let ids: BTreeSet<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    let pages = ssm_doctor::catalog::Catalog::get().pages();
    let param: BTreeSet<&str> = pages
        .filter(|p| p.command == ssm_doctor::facts::Command::Param)
        .map(|p| p.id.as_str())
        .collect();
    assert_eq!(ids, param);
    assert_eq!(
        ids_with(&report, "fail"),
        BTreeSet::from(["param.exists".to_string()])
    );
    let human = String::from_utf8(ssm_doctor(&asked).stdout).unwrap();
    assert!(
        human.contains("Did you mean /app/prod/db-url, /app/prod/db-user?"),
        "{human}"
    );
    assert!(
        human.contains(
            "/app/prod/db-ulr can NOT be read by the applications on i-0123456789abcdef0"
        ),
        "{human}"
    );

    let misses = fixture("patch-window-misses-tag");
    let misses = misses.to_str().unwrap();
    let out = ssm_doctor(&["patch", instance, "--facts", misses, "-o", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(validator.is_valid(&report), "{report:#}");
    assert_eq!(
        ids_with(&report, "fail"),
        BTreeSet::from(["patch.targeted".to_string()])
    );
    let fix = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "patch.targeted")
        .unwrap()["remediation"]["cli"]
        .as_str()
        .unwrap();
    // The fix tags the instance as the missed target expects.
    assert!(fix.contains("Key=Patch Group,Value=db"), "{fix}");

    // A snapshot answers its own question only: another name, another command, the main one.
    let refused = [
        vec![
            "param",
            "/app/other",
            "--instance",
            instance,
            "--facts",
            typo,
        ],
        vec![
            "param",
            "/app/prod/db-ulr",
            "--role",
            "app-role",
            "--facts",
            typo,
        ],
        vec!["patch", "i-0123456789abcdef1", "--facts", misses],
        vec!["patch", instance, "--facts", typo],
        vec!["--facts", typo],
    ];
    for args in refused {
        let out = ssm_doctor(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(
            stderr.starts_with("ssm-doctor: error: ") && stderr.lines().count() == 1,
            "{args:?}: {stderr}"
        );
    }
}
