//! agent.console over fixture facts: what the serial console says of an agent that is not Online.

use super::*;

/// The base with the agent lost and these console lines.
pub fn offline_with(lines: &[&str]) -> Facts {
    let mut f = private_with_endpoints();
    lose_connection(&mut f);
    f.aws_mut().console = Fetch::collected(Console {
        captured: Some("2026-11-28T06:00:00Z".into()),
        empty: false,
        agent_lines: lines.iter().map(|l| l.to_string()).collect(),
    });
    f
}

pub const STARTED: &str = "[  OK  ] Started amazon-ssm-agent.service - amazon-ssm-agent.";
pub const NO_CREDENTIALS: &str = "amazon-ssm-agent[812]: ERROR EC2RoleProvider Failed to connect \
    to Systems Manager with instance profile role credentials. Err: retrieved credentials failed \
    to report to ssm. RequestId: 1 Error: NoCredentialProviders: no valid providers in chain";

#[test]
fn an_online_agent_needs_no_console() {
    let report = run(&private_with_endpoints());
    assert_eq!(status(&report, "agent.console"), Status::Skip);
}

#[test]
fn a_started_agent_without_known_errors_passes() {
    let report = run(&offline_with(&[STARTED]));
    assert_eq!(status(&report, "agent.console"), Status::Pass);
    assert!(message(&report, "agent.console").contains("2026-11-28T06:00:00Z"));
}

#[test]
fn a_known_error_fails_with_its_meaning_and_points_at_its_check() {
    let report = run(&offline_with(&[STARTED, NO_CREDENTIALS]));
    assert_eq!(status(&report, "agent.console"), Status::Fail);
    let said = message(&report, "agent.console");
    assert!(
        said.contains("no credentials") && said.contains("NoCredentialProviders"),
        "{said}"
    );
    let finding = finding(&report, "agent.console");
    assert_eq!(finding.evidence["causes"], json!(["iam.profile"]));
}

#[test]
fn a_failure_outweighs_a_back_off_and_each_signature_is_said_once() {
    let backing_off = "amazon-ssm-agent[812]: WARN Backing off health check to every 3600 seconds";
    let report = run(&offline_with(&[
        NO_CREDENTIALS,
        backing_off,
        NO_CREDENTIALS,
    ]));
    assert_eq!(status(&report, "agent.console"), Status::Fail);
    assert_eq!(
        message(&report, "agent.console")
            .matches("no credentials")
            .count(),
        1
    );
    let report = run(&offline_with(&[STARTED, backing_off]));
    assert_eq!(status(&report, "agent.console"), Status::Warn);
    assert!(message(&report, "agent.console").contains("backing off"));
}

#[test]
fn no_agent_line_or_no_output_is_a_warning() {
    let report = run(&offline_with(&[]));
    assert_eq!(status(&report, "agent.console"), Status::Warn);
    assert!(message(&report, "agent.console").contains("never have started"));
    let mut f = offline_with(&[]);
    if let Fetch::Collected { value } = &mut f.aws_mut().console {
        value.empty = true;
    }
    assert!(message(&run(&f), "agent.console").contains("empty"));
}

#[test]
fn an_unreadable_console_is_an_error_naming_the_call() {
    let mut f = offline_with(&[]);
    f.aws_mut().console = Fetch::Denied {
        action: "ec2:GetConsoleOutput".into(),
        message: "not authorized".into(),
    };
    let report = run(&f);
    assert_eq!(status(&report, "agent.console"), Status::Error);
    assert!(message(&report, "agent.console").contains("ec2:GetConsoleOutput"));
}
