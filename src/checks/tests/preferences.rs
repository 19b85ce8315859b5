//! session.* and iam.dhmc over fixture facts: the preferences' logging and encryption, the session
//! document, and Default Host Management Configuration.

use super::*;

const KEY_ARN: &str = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

/// The base with Session Manager preferences holding `settings`.
fn with_preferences(settings: SessionSettings) -> Facts {
    let mut f = private_with_endpoints();
    let session = f.aws_mut().session_mut();
    session.document = Fetch::collected(Some(SessionDocument {
        name: DEFAULT_DOCUMENT.into(),
        document_type: "Session".into(),
        session_type: Some("Standard_Stream".into()),
        settings,
    }));
    f
}

fn role_may(f: &mut Facts, statements: serde_json::Value) {
    let mut policies = vec![inline(
        json!({"Version": "2012-10-17", "Statement": statements}),
    )];
    policies[0].name = "session-data".into();
    f.aws_mut().iam_mut().inline_policies = Fetch::collected(policies);
}

/// Logs to an encrypted bucket through an S3 gateway endpoint; the role may write there.
pub fn logging_to_s3() -> Facts {
    let mut f = with_preferences(SessionSettings {
        s3_bucket: Some("session-logs".into()),
        s3_prefix: Some("ops".into()),
        s3_encryption: true,
        ..SessionSettings::default()
    });
    f.aws_mut().session_mut().bucket = Fetch::collected(Some(Bucket {
        name: "session-logs".into(),
        encryption: Some("AES256".into()),
    }));
    endpoints_mut(&mut f).push(VpcEndpoint {
        endpoint_type: "Gateway".into(),
        private_dns_enabled: false,
        ..endpoint("s3")
    });
    tables_mut(&mut f)[0].routes.push(Route {
        destination: None,
        destination_ipv6: None,
        destination_prefix_list: Some("pl-6da54004".into()),
        target: "vpce-s3".into(),
        state: "active".into(),
    });
    role_may(
        &mut f,
        json!([
            {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::session-logs/ops/*"},
            {"Effect": "Allow", "Action": "s3:GetEncryptionConfiguration", "Resource": "arn:aws:s3:::session-logs"}
        ]),
    );
    f
}

/// Logs to an encrypted CloudWatch Logs group through a logs endpoint; the role may write there.
fn logging_to_cloudwatch() -> Facts {
    let mut f = with_preferences(SessionSettings {
        log_group: Some("/ssm/sessions".into()),
        cloudwatch_encryption: true,
        ..SessionSettings::default()
    });
    f.aws_mut().session_mut().log_group = Fetch::collected(Some(LogGroup {
        name: "/ssm/sessions".into(),
        kms_key: Some(KEY_ARN.into()),
    }));
    endpoints_mut(&mut f).push(endpoint("logs"));
    role_may(
        &mut f,
        json!([{"Effect": "Allow", "Action": [
            "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogGroups",
            "logs:DescribeLogStreams"], "Resource": "*"}]),
    );
    f
}

/// A key policy with AWS's default statement: the account root, which delegates to IAM policies.
fn delegating_key_policy() -> serde_json::Value {
    json!({"Version": "2012-10-17", "Statement": [{"Sid": "Enable IAM User Permissions",
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
        "Action": "kms:*", "Resource": "*"}]})
}

/// Sessions encrypted with an enabled key whose policy delegates to IAM; the role may decrypt,
/// the operator may generate data keys, a kms endpoint carries the traffic.
pub fn encrypted_with_kms() -> Facts {
    let mut f = with_preferences(SessionSettings {
        kms_key: Some("alias/sessions".into()),
        ..SessionSettings::default()
    });
    f.aws_mut().session_mut().key = Fetch::collected(Some(Key {
        arn: KEY_ARN.into(),
        state: "Enabled".into(),
        account: ACCOUNT.into(),
        manager: Some("CUSTOMER".into()),
        policy: Fetch::collected(delegating_key_policy()),
    }));
    endpoints_mut(&mut f).push(endpoint("kms"));
    role_may(
        &mut f,
        json!([{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": KEY_ARN}]),
    );
    operator_allows(
        &mut f,
        json!({"Effect": "Allow", "Action": "kms:GenerateDataKey", "Resource": KEY_ARN}),
    );
    f
}

fn operator_allows(f: &mut Facts, statement: serde_json::Value) {
    let mut document = operator_policy();
    document["Statement"]
        .as_array_mut()
        .unwrap()
        .push(statement);
    operator_mut(f).inline_policies = Fetch::collected(vec![policy("sessions", None, document)]);
}

/// No profile: DHMC hands out a role that trusts Systems Manager and carries the core actions.
pub fn dhmc_instance() -> Facts {
    let mut f = private_with_endpoints();
    instance_mut(&mut f).instance_profile_arn = None;
    f.aws_mut().dhmc = Fetch::collected(DhmcSetting {
        role: Some("service-role/AWSSystemsManagerDefaultEC2InstanceManagementRole".into()),
    });
    let iam = f.aws_mut().iam_mut();
    iam.instance_profile = Fetch::not_applicable("no instance profile is attached");
    iam.role = Fetch::collected(Role {
        name: "AWSSystemsManagerDefaultEC2InstanceManagementRole".into(),
        arn: format!(
            "arn:aws:iam::{ACCOUNT}:role/service-role/AWSSystemsManagerDefaultEC2InstanceManagementRole"
        ),
        trust_policy: json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Service": "ssm.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
        permissions_boundary_arn: None,
        run_as: None,
    });
    iam.attached_policies = Fetch::collected(vec![policy(
        "AmazonSSMManagedEC2InstanceDefaultPolicy",
        Some("arn:aws:iam::aws:policy/AmazonSSMManagedEC2InstanceDefaultPolicy"),
        managed_core_policy(),
    )]);
    f
}

// ---- session.document ----------------------------------------------------------------------------

#[test]
fn without_saved_preferences_the_defaults_apply() {
    let report = run(&private_with_endpoints());
    assert_eq!(status(&report, "session.document"), Status::Pass);
    assert!(message(&report, "session.document").contains("defaults"));
    assert_eq!(status(&report, "session.logging"), Status::Skip);
    assert_eq!(status(&report, "session.kms"), Status::Skip);
}

#[test]
fn a_named_document_that_does_not_exist_fails() {
    let mut f = private_with_endpoints();
    f.target.document = "Team-Shell".into();
    f.aws_mut().session_mut().document_name = "Team-Shell".into();
    let report = run(&f);
    assert_eq!(status(&report, "session.document"), Status::Fail);
    assert!(message(&report, "session.document").contains("InvalidDocument"));
}

#[test]
fn a_document_of_another_type_fails() {
    let mut f = logging_to_s3();
    if let Fetch::Collected { value: Some(d) } = &mut f.aws_mut().session_mut().document {
        d.document_type = "Command".into();
    }
    let report = run(&f);
    assert_eq!(status(&report, "session.document"), Status::Fail);
    assert!(message(&report, "session.document").contains("not a Session document"));
    assert_eq!(status(&report, "session.logging"), Status::Skip);
}

#[test]
fn run_as_warns_that_the_user_must_exist() {
    let f = with_preferences(SessionSettings {
        run_as: true,
        run_as_user: Some("ops".into()),
        ..SessionSettings::default()
    });
    let report = run(&f);
    assert_eq!(status(&report, "session.document"), Status::Warn);
    let said = message(&report, "session.document");
    assert!(said.contains("ops (the preferences' default"), "{said}");
    // The operator's own tag wins over the default.
    let mut f = f;
    collected_mut(&mut operator_mut(&mut f).entity).run_as = Some("alice".into());
    let said = message(&run(&f), "session.document").to_string();
    assert!(
        said.contains("alice (the SSMSessionRunAs tag of your IAM user)"),
        "{said}"
    );
}

#[test]
fn an_unreadable_document_is_an_error_and_so_are_its_dependents() {
    let mut f = private_with_endpoints();
    f.aws_mut().session = Arc::new(SessionFacts::unknown_because(&Fetch::Denied {
        action: "ssm:GetDocument".into(),
        message: "not authorized".into(),
    }));
    let report = run(&f);
    for id in ["session.document", "session.logging", "session.kms"] {
        assert_eq!(status(&report, id), Status::Error, "{id}");
    }
    assert!(message(&report, "session.document").contains("ssm:GetDocument"));
}

// ---- session.logging -----------------------------------------------------------------------------

#[test]
fn logging_to_s3_needs_put_object_on_the_prefix() {
    assert_eq!(
        status(&run(&logging_to_s3()), "session.logging"),
        Status::Pass
    );
    let mut f = logging_to_s3();
    role_may(
        &mut f,
        json!([
            {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::other-bucket/*"},
            {"Effect": "Allow", "Action": "s3:GetEncryptionConfiguration", "Resource": "*"}
        ]),
    );
    let report = run(&f);
    assert_eq!(status(&report, "session.logging"), Status::Fail);
    let said = message(&report, "session.logging");
    assert!(
        said.contains("s3:PutObject") && said.contains("session-logs/ops"),
        "{said}"
    );
}

#[test]
fn an_enforced_encryption_needs_the_encryption_read_and_an_encrypted_bucket() {
    let mut f = logging_to_s3();
    role_may(
        &mut f,
        json!([{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}]),
    );
    let report = run(&f);
    assert_eq!(status(&report, "session.logging"), Status::Fail);
    assert!(message(&report, "session.logging").contains("s3:GetEncryptionConfiguration"));

    let mut f = logging_to_s3();
    f.aws_mut().session_mut().bucket = Fetch::collected(Some(Bucket {
        name: "session-logs".into(),
        encryption: None,
    }));
    let report = run(&f);
    assert_eq!(status(&report, "session.logging"), Status::Fail);
    assert!(message(&report, "session.logging").contains("no default encryption"));
}

#[test]
fn a_missing_bucket_fails() {
    let mut f = logging_to_s3();
    f.aws_mut().session_mut().bucket = Fetch::collected(None);
    let report = run(&f);
    assert_eq!(status(&report, "session.logging"), Status::Fail);
    assert!(message(&report, "session.logging").contains("does not exist"));
}

#[test]
fn an_endpoint_only_subnet_needs_an_s3_endpoint_routed_from_its_table() {
    let mut f = logging_to_s3();
    tables_mut(&mut f)[0]
        .routes
        .retain(|r| r.target != "vpce-s3");
    let report = run(&f);
    assert_eq!(status(&report, "session.logging"), Status::Fail);
    assert!(message(&report, "session.logging").contains("cannot reach s3"));

    // Through a NAT gateway no endpoint is needed.
    let mut f = logging_to_s3();
    let nat = private_with_nat();
    f.aws_mut().network = nat.aws.unwrap().network;
    assert_eq!(status(&run(&f), "session.logging"), Status::Pass);
}

#[test]
fn cloudwatch_with_an_encrypted_group_needs_describe_log_groups() {
    assert_eq!(
        status(&run(&logging_to_cloudwatch()), "session.logging"),
        Status::Pass
    );
    let mut f = logging_to_cloudwatch();
    role_may(
        &mut f,
        json!([{"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents",
            "logs:DescribeLogStreams"], "Resource": "*"}]),
    );
    let report = run(&f);
    assert_eq!(status(&report, "session.logging"), Status::Fail);
    assert!(message(&report, "session.logging").contains("logs:DescribeLogGroups"));
}

#[test]
fn cloudwatch_requires_an_encrypted_group_when_the_preferences_say_so() {
    let mut f = logging_to_cloudwatch();
    f.aws_mut().session_mut().log_group = Fetch::collected(Some(LogGroup {
        name: "/ssm/sessions".into(),
        kms_key: None,
    }));
    let report = run(&f);
    assert_eq!(status(&report, "session.logging"), Status::Fail);
    assert!(message(&report, "session.logging").contains("not encrypted"));
}

#[test]
fn cloudwatch_without_a_logs_endpoint_fails_in_an_endpoint_only_subnet() {
    let mut f = logging_to_cloudwatch();
    endpoints_mut(&mut f).retain(|e| !e.service_name.ends_with(".logs"));
    let report = run(&f);
    assert_eq!(status(&report, "session.logging"), Status::Fail);
    assert!(message(&report, "session.logging").contains("cannot reach logs"));
}

// ---- session.kms ---------------------------------------------------------------------------------

#[test]
fn kms_passes_with_root_delegation_and_identity_grants() {
    let report = run(&encrypted_with_kms());
    assert_eq!(status(&report, "session.kms"), Status::Pass);
    assert!(message(&report, "session.kms").contains("generate data keys"));
}

#[test]
fn decrypt_allowed_only_on_another_key_fails() {
    let mut f = encrypted_with_kms();
    role_may(
        &mut f,
        json!([{"Effect": "Allow", "Action": "kms:Decrypt",
            "Resource": "arn:aws:kms:eu-west-1:111122223333:key/another"}]),
    );
    let report = run(&f);
    assert_eq!(status(&report, "session.kms"), Status::Fail);
    let said = message(&report, "session.kms");
    assert!(
        said.contains("kms:Decrypt") && said.contains("app-role"),
        "{said}"
    );
}

#[test]
fn a_key_policy_without_root_delegation_needs_to_name_the_role() {
    let naming = |principal: &str| {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"AWS": principal}, "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": "*"}]})
    };
    // The key policy names someone else: the role's own IAM grant is not enough.
    let mut f = encrypted_with_kms();
    if let Fetch::Collected { value: Some(key) } = &mut f.aws_mut().session_mut().key {
        key.policy = Fetch::collected(naming("arn:aws:iam::111122223333:role/admin"));
    }
    let report = run(&f);
    assert_eq!(status(&report, "session.kms"), Status::Fail);

    // The key policy names the role and the operator: that grants without any IAM policy.
    let mut f = encrypted_with_kms();
    if let Fetch::Collected { value: Some(key) } = &mut f.aws_mut().session_mut().key {
        key.policy = Fetch::collected(json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": [
                "arn:aws:iam::111122223333:role/app-role", "arn:aws:iam::111122223333:user/oncall"]},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*"}]}));
    }
    role_may(&mut f, json!([]));
    operator_mut(&mut f).inline_policies =
        Fetch::collected(vec![policy("sessions", None, operator_policy())]);
    assert_eq!(status(&run(&f), "session.kms"), Status::Pass);
}

#[test]
fn an_operator_without_generate_data_key_fails() {
    let mut f = encrypted_with_kms();
    operator_mut(&mut f).inline_policies =
        Fetch::collected(vec![policy("sessions", None, operator_policy())]);
    let report = run(&f);
    assert_eq!(status(&report, "session.kms"), Status::Fail);
    let said = message(&report, "session.kms");
    assert!(
        said.contains("kms:GenerateDataKey") && said.contains("oncall"),
        "{said}"
    );
}

#[test]
fn without_the_operator_side_only_the_instance_side_is_judged() {
    let mut f = encrypted_with_kms();
    f.operator = None;
    let report = run(&f);
    assert_eq!(status(&report, "session.kms"), Status::Pass);
    assert!(message(&report, "session.kms").contains("not evaluated"));
}

#[test]
fn a_disabled_or_missing_key_fails() {
    let mut f = encrypted_with_kms();
    if let Fetch::Collected { value: Some(key) } = &mut f.aws_mut().session_mut().key {
        key.state = "Disabled".into();
    }
    assert_eq!(status(&run(&f), "session.kms"), Status::Fail);
    let mut f = encrypted_with_kms();
    f.aws_mut().session_mut().key = Fetch::collected(None);
    let report = run(&f);
    assert_eq!(status(&report, "session.kms"), Status::Fail);
    assert!(message(&report, "session.kms").contains("does not exist"));
}

#[test]
fn kms_without_an_endpoint_fails_in_an_endpoint_only_subnet() {
    let mut f = encrypted_with_kms();
    endpoints_mut(&mut f).retain(|e| !e.service_name.ends_with(".kms"));
    let report = run(&f);
    assert_eq!(status(&report, "session.kms"), Status::Fail);
    assert!(message(&report, "session.kms").contains("cannot reach kms"));
}

#[test]
fn kms_encryption_needs_agent_2_3_539() {
    let mut f = encrypted_with_kms();
    agent_mut(&mut f).agent_version = Some("2.3.500.0".into());
    let report = run(&f);
    assert_eq!(status(&report, "agent.version"), Status::Fail);
    assert!(message(&report, "agent.version").contains("2.3.539.0"));
    // Without encryption the same agent opens shells.
    let mut f = private_with_endpoints();
    agent_mut(&mut f).agent_version = Some("2.3.500.0".into());
    assert_ne!(status(&run(&f), "agent.version"), Status::Fail);
}

// ---- iam.dhmc ------------------------------------------------------------------------------------

#[test]
fn dhmc_with_a_working_role_passes_and_the_profile_checks_agree() {
    let report = run(&dhmc_instance());
    assert_eq!(status(&report, "iam.profile"), Status::Pass);
    assert_eq!(status(&report, "iam.dhmc"), Status::Pass);
    assert!(fails(&report).is_empty(), "{:?}", fails(&report));
}

#[test]
fn dhmc_needs_a_role_that_exists_and_trusts_systems_manager() {
    let mut f = dhmc_instance();
    f.aws_mut().iam = Arc::new(IamFacts {
        instance_profile: Fetch::not_applicable("no instance profile is attached"),
        ..IamFacts::unknown(
            "no role named AWSSystemsManagerDefaultEC2InstanceManagementRole exists",
        )
    });
    let report = run(&f);
    assert_eq!(status(&report, "iam.dhmc"), Status::Fail);
    assert!(message(&report, "iam.dhmc").contains("no role named"));

    let mut f = dhmc_instance();
    collected_mut(&mut f.aws_mut().iam_mut().role).trust_policy = json!({"Statement": [{
        "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    let report = run(&f);
    assert_eq!(status(&report, "iam.dhmc"), Status::Fail);
    assert!(message(&report, "iam.dhmc").contains("ssm.amazonaws.com"));
}

#[test]
fn dhmc_needs_imdsv2_and_a_recent_agent() {
    let mut f = dhmc_instance();
    instance_mut(&mut f).metadata.http_tokens = Some("optional".into());
    let report = run(&f);
    assert_eq!(status(&report, "iam.dhmc"), Status::Fail);
    assert!(message(&report, "iam.dhmc").contains("IMDSv2"));

    let mut f = dhmc_instance();
    agent_mut(&mut f).agent_version = Some("3.1.1000.0".into());
    let report = run(&f);
    assert_eq!(status(&report, "iam.dhmc"), Status::Fail);
    assert!(message(&report, "iam.dhmc").contains("3.2.582.0"));
}

#[test]
fn dhmc_role_without_the_core_actions_fails() {
    let mut f = dhmc_instance();
    set_policies(&mut f, vec![], vec![]);
    let report = run(&f);
    assert_eq!(status(&report, "iam.dhmc"), Status::Fail);
    assert!(message(&report, "iam.dhmc").contains("ssm:UpdateInstanceInformation"));
}

#[test]
fn with_a_profile_dhmc_does_not_apply_and_a_broken_role_says_the_profile_wins() {
    let mut f = private_with_endpoints();
    f.aws_mut().dhmc = Fetch::collected(DhmcSetting {
        role: Some("AWSSystemsManagerDefaultEC2InstanceManagementRole".into()),
    });
    set_policies(&mut f, vec![], vec![]);
    let report = run(&f);
    assert_eq!(status(&report, "iam.dhmc"), Status::Skip);
    assert_eq!(status(&report, "iam.core-permissions"), Status::Fail);
    assert!(message(&report, "iam.core-permissions").contains("takes precedence"));
}

#[test]
fn an_unreadable_operator_policy_leaves_kms_unknown_unless_the_instance_side_fails() {
    let denied = Fetch::Denied {
        action: "iam:ListUserPolicies".into(),
        message: "not authorized".into(),
    };
    let mut f = encrypted_with_kms();
    operator_mut(&mut f).inline_policies = denied.clone();
    let report = run(&f);
    assert_eq!(status(&report, "session.kms"), Status::Error);
    assert!(message(&report, "session.kms").contains("iam:ListUserPolicies"));

    let mut f = encrypted_with_kms();
    operator_mut(&mut f).inline_policies = denied;
    role_may(&mut f, json!([]));
    assert_eq!(status(&run(&f), "session.kms"), Status::Fail);
}

#[test]
fn a_caller_without_iam_policies_leaves_only_the_instance_side_to_judge() {
    let mut f = encrypted_with_kms();
    f.operator_mut().unwrap().identity =
        Fetch::not_applicable("the account's root user: no IAM policy binds it");
    let report = run(&f);
    assert_eq!(status(&report, "session.kms"), Status::Pass);
    assert!(message(&report, "session.kms").contains("root user"));
}
