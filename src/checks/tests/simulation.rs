//! operator.permission beside IAM's policy simulator: confirmed, contradicted, or overruled by a
//! service control policy.

use super::*;

const INSTANCE_ARN: &str = "arn:aws:ec2:eu-west-1:111122223333:instance/i-0123456789abcdef0";
const SESSION_ARN: &str = "arn:aws:ssm:eu-west-1:111122223333:session/oncall-0123456789abcdef0";

fn simulated(action: &str, resource: &str, decision: &str, by_organizations: bool) -> Simulated {
    Simulated {
        action: action.into(),
        resource: resource.into(),
        decision: decision.into(),
        allowed_by_organizations: Some(by_organizations),
    }
}

/// The base, with IAM's simulator answering as ssm-doctor does, but `start` for StartSession on
/// the instance.
fn simulating(start: Simulated) -> Facts {
    let mut f = private_with_endpoints();
    f.operator_mut().unwrap().simulation = Fetch::collected(vec![
        start,
        simulated("ssm:TerminateSession", SESSION_ARN, "allowed", true),
        simulated("ssm:ResumeSession", SESSION_ARN, "allowed", true),
    ]);
    f
}

#[test]
fn the_simulator_agreeing_confirms_the_verdict() {
    let report = run(&simulating(simulated(
        "ssm:StartSession",
        INSTANCE_ARN,
        "allowed",
        true,
    )));
    assert_eq!(status(&report, "operator.permission"), Status::Pass);
    assert!(message(&report, "operator.permission").contains("simulator agrees"));
}

#[test]
fn a_service_control_policy_fails_what_the_account_allows() {
    let f = simulating(simulated(
        "ssm:StartSession",
        INSTANCE_ARN,
        "explicitDeny",
        false,
    ));
    let report = run(&f);
    assert_eq!(status(&report, "operator.permission"), Status::Fail);
    let said = message(&report, "operator.permission");
    assert!(
        said.contains("service control policy") && said.contains(INSTANCE_ARN),
        "{said}"
    );
}

#[test]
fn a_disagreement_is_a_warning_that_says_both_answers() {
    let f = simulating(simulated(
        "ssm:StartSession",
        INSTANCE_ARN,
        "implicitDeny",
        true,
    ));
    let report = run(&f);
    assert_eq!(status(&report, "operator.permission"), Status::Warn);
    let said = message(&report, "operator.permission");
    assert!(
        said.contains("disagrees") && said.contains("IAM says implicitDeny"),
        "{said}"
    );
}

#[test]
fn without_the_simulator_the_verdict_stands_unconfirmed() {
    let mut f = private_with_endpoints();
    f.operator_mut().unwrap().simulation = Fetch::Denied {
        action: "iam:SimulatePrincipalPolicy".into(),
        message: "not authorized".into(),
    };
    let report = run(&f);
    assert_eq!(status(&report, "operator.permission"), Status::Pass);
    let said = message(&report, "operator.permission");
    assert!(
        said.contains("Not confirmed") && said.contains("iam:SimulatePrincipalPolicy"),
        "{said}"
    );
}
