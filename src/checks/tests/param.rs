//! param.* over fixture facts: an application on the instance (or running as a role) reading
//! `/app/prod/db-url`.

use super::*;

pub const NAME: &str = "/app/prod/db-url";
const KEY: &str = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn arn(name: &str) -> String {
    format!(
        "arn:aws:ssm:eu-west-1:{ACCOUNT}:parameter/{}",
        name.trim_start_matches('/')
    )
}

fn parameter(kind: &str, key_id: Option<&str>) -> Parameter {
    Parameter {
        name: NAME.into(),
        arn: arn(NAME),
        kind: kind.into(),
        key_id: key_id.map(str::to_string),
        tier: Some("Standard".into()),
        version: Some(3),
        last_modified: Some("2026-11-01T10:00:00Z".into()),
    }
}

/// The role may read everything under /app/ (and nothing of the agent's core is needed here).
fn reads_app() -> serde_json::Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Action": ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"],
        "Resource": format!("arn:aws:ssm:eu-west-1:{ACCOUNT}:parameter/app/*")}]})
}

/// The instance behind its endpoints reads a String parameter its role may read.
pub fn reading() -> Facts {
    let mut f = private_with_endpoints();
    f.operator = None;
    set_policies(&mut f, vec![], vec![policy("params", None, reads_app())]);
    f.task = Some(Task::Param(ParameterFacts {
        name: NAME.into(),
        by_path: false,
        role: None,
        parameter: Fetch::collected(Some(parameter("String", None))),
        nearby: Fetch::not_applicable("the parameter exists"),
        key: Fetch::not_applicable("a String parameter"),
    }));
    f
}

pub fn asked_mut(f: &mut Facts) -> &mut ParameterFacts {
    match &mut f.task {
        Some(Task::Param(p)) => p,
        _ => panic!("a parameter question"),
    }
}

/// The application asks for `name`, which does not exist; `nearby` do.
pub fn asking_for(name: &str, nearby: &[&str]) -> Facts {
    let mut f = reading();
    let asked = asked_mut(&mut f);
    asked.name = name.into();
    asked.parameter = Fetch::collected(None);
    asked.nearby = Fetch::collected(nearby.iter().map(|n| n.to_string()).collect());
    f
}

/// A SecureString under a customer key with `key_policy`, the role allowed kms:Decrypt on it.
pub fn secure_with(key_policy: serde_json::Value) -> Facts {
    let mut f = reading();
    let role_may_decrypt = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": KEY}]});
    set_policies(
        &mut f,
        vec![],
        vec![
            policy("params", None, reads_app()),
            policy("decrypt", None, role_may_decrypt),
        ],
    );
    let asked = asked_mut(&mut f);
    asked.parameter = Fetch::collected(Some(parameter("SecureString", Some(KEY))));
    asked.key = Fetch::collected(Some(Key {
        arn: KEY.into(),
        state: "Enabled".into(),
        account: ACCOUNT.into(),
        manager: Some("CUSTOMER".into()),
        policy: Fetch::collected(key_policy),
    }));
    f
}

pub fn delegating() -> serde_json::Value {
    json!({"Version": "2012-10-17", "Statement": [{"Sid": "EnableIAMPolicies", "Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")}, "Action": "kms:*",
        "Resource": "*"}]})
}

/// A key policy for the key's administrators only: neither the role nor the account root.
pub fn admins_only() -> serde_json::Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:role/key-admins")}, "Action": "kms:*",
        "Resource": "*"}]})
}

#[test]
fn a_readable_parameter_passes_and_the_report_holds_only_param_checks() {
    let report = run(&reading());
    let order: Vec<&str> = report.checks.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        order,
        [
            "param.exists",
            "param.permission",
            "param.kms",
            "param.path"
        ],
        "the order a reader follows"
    );
    assert_eq!(status(&report, "param.exists"), Status::Pass);
    assert_eq!(status(&report, "param.permission"), Status::Pass);
    assert_eq!(status(&report, "param.kms"), Status::Skip, "a String");
    assert_eq!(status(&report, "param.path"), Status::Pass);
    assert_eq!(report.verdict, Verdict::Pass);
    assert!(report.not_observed.is_empty(), "{:?}", report.not_observed);
    assert!(message(&report, "param.permission").contains("ssm:GetParameter, ssm:GetParameters"));
    assert!(message(&report, "param.path").contains("ssm.eu-west-1.amazonaws.com"));
    assert_eq!(report.target.parameter.as_deref(), Some(NAME));
    assert_eq!(
        report.target.subject(),
        format!("parameter {NAME} · i-0123456789abcdef0")
    );
}

#[test]
fn a_typo_fails_with_the_closest_names() {
    let nearby = ["/app/prod/db-url", "/app/prod/db-user", "/app/prod/api-key"];
    let report = run(&asking_for("/app/prod/db-ulr", &nearby));
    assert_eq!(fails(&report), set(&["param.exists"]));
    let said = message(&report, "param.exists");
    assert!(said.contains("Did you mean /app/prod/db-url"), "{said}");
    assert!(!said.contains("api-key"), "too far to suggest: {said}");
    assert!(said.contains("ParameterNotFound"), "{said}");
    for id in ["param.permission", "param.kms"] {
        assert_eq!(status(&report, id), Status::Skip, "{id}");
    }
    let fix = finding(&report, "param.exists")
        .remediation
        .as_ref()
        .unwrap();
    assert!(fix.cli.as_deref().unwrap().contains("/app/prod/db-url"));
}

#[test]
fn a_missing_leading_slash_or_another_case_is_suggested() {
    let report = run(&asking_for("app/prod/db-url", &[NAME]));
    let said = message(&report, "param.exists");
    assert!(said.contains(&format!("Did you mean {NAME}?")), "{said}");
    assert!(said.contains("must begin with `/`"), "{said}");
    let report = run(&asking_for("/App/Prod/DB-URL", &[NAME]));
    assert!(message(&report, "param.exists").contains(&format!("Did you mean {NAME}?")));
    let report = run(&asking_for("/other/thing", &[NAME]));
    assert!(!message(&report, "param.exists").contains("Did you mean"));
}

#[test]
fn a_path_scoped_deny_fails_naming_the_action_and_the_statement() {
    let mut f = reading();
    let deny = json!({"Version": "2012-10-17", "Statement": [{"Sid": "NoProd", "Effect": "Deny",
        "Action": "ssm:GetParameter*",
        "Resource": format!("arn:aws:ssm:eu-west-1:{ACCOUNT}:parameter/app/prod/*")}]});
    set_policies(
        &mut f,
        vec![],
        vec![
            policy("params", None, reads_app()),
            policy("no-prod", None, deny),
        ],
    );
    let report = run(&f);
    assert_eq!(fails(&report), set(&["param.permission"]));
    let said = message(&report, "param.permission");
    assert!(
        said.contains("ssm:GetParameter on ") && said.contains(&arn(NAME)),
        "{said}"
    );
    assert!(
        said.contains("denied by") && said.contains("NoProd"),
        "{said}"
    );
}

#[test]
fn a_role_allowed_another_path_only_fails() {
    let mut f = reading();
    let elsewhere = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Action": "ssm:GetParameter*",
        "Resource": format!("arn:aws:ssm:eu-west-1:{ACCOUNT}:parameter/app/dev/*")}]});
    set_policies(&mut f, vec![], vec![policy("dev", None, elsewhere)]);
    let report = run(&f);
    assert_eq!(status(&report, "param.permission"), Status::Fail);
    assert!(message(&report, "param.permission").contains("implicit deny"));
}

#[test]
fn by_path_also_needs_get_parameters_by_path_on_the_parent() {
    let mut f = reading();
    let one = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Action": ["ssm:GetParameter", "ssm:GetParameters"], "Resource": arn(NAME)}]});
    set_policies(&mut f, vec![], vec![policy("one", None, one)]);
    assert_eq!(status(&run(&f), "param.permission"), Status::Pass);
    asked_mut(&mut f).by_path = true;
    let report = run(&f);
    let said = message(&report, "param.permission");
    assert_eq!(status(&report, "param.permission"), Status::Fail);
    assert!(
        said.contains(&format!("ssm:GetParametersByPath on {}", arn("/app/prod"))),
        "{said}"
    );
}

#[test]
fn an_instance_without_a_profile_gives_its_applications_no_credentials() {
    let mut f = reading();
    instance_mut(&mut f).instance_profile_arn = None;
    let report = run(&f);
    assert_eq!(status(&report, "param.permission"), Status::Fail);
    assert!(message(&report, "param.permission").contains("Default Host Management"));
}

#[test]
fn a_profile_without_a_role_fails_instead_of_skipping() {
    let mut f = reading();
    collected_mut(&mut f.aws_mut().iam_mut().instance_profile)
        .as_mut()
        .unwrap()
        .role_names
        .clear();
    f.aws_mut().iam_mut().role = Fetch::not_applicable("the instance profile holds no role");
    let report = run(&f);
    assert_eq!(status(&report, "param.permission"), Status::Fail);
    assert!(message(&report, "param.permission").contains("holds no role"));
    assert_eq!(report.verdict, Verdict::Fail);
}

#[test]
fn with_a_role_and_no_instance_the_path_is_not_judged() {
    let mut f = reading();
    f.target.instance_id = String::new();
    f.aws_mut().instance = Fetch::not_applicable("no instance: --role names the role");
    f.aws_mut().network = Arc::new(NetworkFacts::unknown("no instance"));
    asked_mut(&mut f).role = Some("app-role".into());
    let report = run(&f);
    assert_eq!(status(&report, "param.permission"), Status::Pass);
    assert_eq!(status(&report, "param.path"), Status::Skip);
    assert_eq!(report.verdict, Verdict::Pass);
    assert_eq!(
        report.target.subject(),
        format!("parameter {NAME} · role app-role")
    );
    // A role that does not exist.
    f.aws_mut().iam_mut().role = Fetch::not_applicable("no role named app-role exists");
    let report = run(&f);
    assert_eq!(status(&report, "param.permission"), Status::Fail);
    assert!(message(&report, "param.permission").contains("No role named app-role"));
}

#[test]
fn the_aws_managed_key_needs_nothing_more() {
    let mut f = reading();
    asked_mut(&mut f).parameter =
        Fetch::collected(Some(parameter("SecureString", Some("alias/aws/ssm"))));
    let report = run(&f);
    assert_eq!(status(&report, "param.kms"), Status::Pass);
    assert!(message(&report, "param.kms").contains("AWS managed key aws/ssm"));
}

#[test]
fn a_customer_key_whose_policy_omits_the_role_fails_saying_so() {
    let report = run(&secure_with(admins_only()));
    assert_eq!(fails(&report), set(&["param.kms"]));
    let said = message(&report, "param.kms");
    assert!(said.contains(KEY), "{said}");
    assert!(
        said.contains("the key policy names neither role app-role nor the account root"),
        "{said}"
    );
    let fix = finding(&report, "param.kms").remediation.as_ref().unwrap();
    assert!(fix.text.contains(KEY) || fix.cli.as_deref().unwrap().contains(KEY));
}

#[test]
fn a_delegating_key_policy_needs_the_role_s_own_permission() {
    assert_eq!(
        status(&run(&secure_with(delegating())), "param.kms"),
        Status::Pass
    );
    let mut f = secure_with(delegating());
    set_policies(&mut f, vec![], vec![policy("params", None, reads_app())]);
    let report = run(&f);
    assert_eq!(status(&report, "param.kms"), Status::Fail);
    assert!(message(&report, "param.kms").contains("delegates to IAM"));
}

#[test]
fn the_encryption_context_condition_is_understood() {
    let scoped = |parameter_arn: &str| {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:role/app-role")},
            "Action": "kms:Decrypt", "Resource": "*",
            "Condition": {"StringEquals": {"kms:EncryptionContext:PARAMETER_ARN": parameter_arn}}}]})
    };
    assert_eq!(
        status(&run(&secure_with(scoped(&arn(NAME)))), "param.kms"),
        Status::Pass
    );
    let other = arn("/app/dev/db-url");
    assert_eq!(
        status(&run(&secure_with(scoped(&other))), "param.kms"),
        Status::Fail
    );
}

#[test]
fn a_disabled_or_missing_key_fails() {
    let mut f = secure_with(delegating());
    collected_mut(&mut asked_mut(&mut f).key)
        .as_mut()
        .unwrap()
        .state = "Disabled".into();
    let report = run(&f);
    assert!(message(&report, "param.kms").contains("is Disabled, not Enabled"));
    asked_mut(&mut f).key = Fetch::collected(None);
    let report = run(&f);
    assert_eq!(status(&report, "param.kms"), Status::Fail);
    assert!(message(&report, "param.kms").contains("does not exist"));
}

#[test]
fn a_denied_describe_parameters_is_an_error_and_never_a_verdict() {
    let mut f = reading();
    asked_mut(&mut f).parameter = Fetch::Denied {
        action: "ssm:DescribeParameters".into(),
        message: "not authorized".into(),
    };
    let report = run(&f);
    assert_eq!(status(&report, "param.exists"), Status::Error);
    assert!(message(&report, "param.exists").contains("denied: ssm:DescribeParameters"));
    for id in ["param.permission", "param.kms"] {
        assert_eq!(status(&report, id), Status::Error, "{id}");
    }
    assert_eq!(status(&report, "param.path"), Status::Pass);
    assert_eq!(report.verdict, Verdict::Incomplete);
}

#[test]
fn the_path_fails_as_the_network_check_that_fails_and_is_fixed_as_it_is() {
    let mut f = reading();
    group_mut(&mut f, "sg-vpce").ingress = vec![];
    let report = run(&f);
    assert_eq!(fails(&report), set(&["param.path"]));
    let found = finding(&report, "param.path");
    assert!(
        found.message.contains("(from vpce.ingress-443)"),
        "{}",
        found.message
    );
    let fix = found.remediation.as_ref().unwrap();
    assert!(fix.cli.as_deref().unwrap().contains("sg-vpce"), "{fix:?}");
    // Only ssm is judged: the missing ssmmessages endpoint an agent needs does not matter here.
    let mut f = reading();
    f.aws_mut().network_mut().vpc_endpoints = Fetch::collected(vec![endpoint("ssm")]);
    assert_eq!(status(&run(&f), "param.path"), Status::Pass);
}

#[test]
fn an_aws_public_parameter_is_a_doubt_not_a_failure() {
    let report = run(&asking_for(
        "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
        &[],
    ));
    assert_eq!(status(&report, "param.exists"), Status::Warn);
}
