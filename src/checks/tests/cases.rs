//! Every check's own two cases: facts in which it fails (or, for a check whose page says it
//! cannot fail, warns) and facts in which it passes. A check without both fails
//! `every_check_has_a_failing_and_a_passing_case`, so no check lands untested; adding a check adds
//! its two rows here (the detailed tests beside them say why and how).

use super::central::hub_and_spoke;
use super::console::{NO_CREDENTIALS, STARTED, offline_with};
use super::local::{
    ACCESS_DENIED, agent_stopped, healthy_local, imds_down, log_with, proxy_without_imds_exemption,
    ssm_port_closed, ssmmessages_nxdomain, untrusted_certificate,
};
use super::param::{NAME, admins_only, asking_for, reading, secure_with};
use super::patch::{patch_mut, patched, targets_db, through_s3_gateway, window_mut};
use super::preferences::{dhmc_instance, encrypted_with_kms, logging_to_s3};
use super::*;

struct Case {
    check: &'static str,
    expect: Status,
    facts: fn() -> Facts,
}

const fn case(check: &'static str, expect: Status, facts: fn() -> Facts) -> Case {
    Case {
        check,
        expect,
        facts,
    }
}

/// `base` changed by `change`.
fn with(base: fn() -> Facts, change: impl FnOnce(&mut Facts)) -> Facts {
    let mut f = base();
    change(&mut f);
    f
}

fn https_egress_only_on_80(f: &mut Facts) {
    group_mut(f, "sg-inst").egress = vec![SgRule {
        cidrs: vec!["0.0.0.0/0".into()],
        ..sg_rule("tcp", Some((80, 80)))
    }];
}

#[rustfmt::skip]
const CASES: &[Case] = &[
    case("instance.found", Status::Pass, private_with_endpoints),
    case("instance.found", Status::Fail, || with(private_with_endpoints, |f| {
        f.aws_mut().instance = Fetch::collected(None);
    })),
    case("instance.running", Status::Pass, private_with_endpoints),
    case("instance.running", Status::Fail, || with(private_with_endpoints, |f| {
        instance_mut(f).state = "stopped".into();
    })),
    case("instance.metadata", Status::Pass, private_with_endpoints),
    case("instance.metadata", Status::Fail, || with(private_with_endpoints, |f| {
        instance_mut(f).metadata.http_endpoint = Some("disabled".into());
    })),
    case("iam.profile", Status::Pass, private_with_endpoints),
    case("iam.profile", Status::Fail, || with(private_with_endpoints, |f| {
        collected_mut(&mut f.aws_mut().iam_mut().instance_profile).as_mut().unwrap().role_names.clear();
    })),
    case("iam.trust", Status::Pass, private_with_endpoints),
    case("iam.trust", Status::Fail, || with(private_with_endpoints, |f| {
        collected_mut(&mut f.aws_mut().iam_mut().role).trust_policy = json!({"Statement": [{
            "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole"}]});
    })),
    case("iam.core-permissions", Status::Pass, private_with_endpoints),
    case("iam.core-permissions", Status::Fail, || with(private_with_endpoints, |f| {
        set_policies(f, vec![], vec![]);
    })),
    case("agent.registered", Status::Pass, private_with_endpoints),
    case("agent.registered", Status::Fail, || with(private_with_endpoints, |f| {
        f.aws_mut().agent = Fetch::collected(None);
    })),
    case("agent.online", Status::Pass, private_with_endpoints),
    case("agent.online", Status::Fail, || with(private_with_endpoints, |f| {
        lose_connection(f);
    })),
    case("agent.version", Status::Pass, private_with_endpoints),
    case("agent.version", Status::Fail, || with(private_with_endpoints, |f| {
        agent_mut(f).agent_version = Some("2.3.50.0".into());
    })),
    case("network.route", Status::Pass, private_with_nat),
    case("network.dns-central", Status::Pass, hub_and_spoke),
    case("network.dns-central", Status::Fail, || with(hub_and_spoke, |f| {
        let dns = f.aws_mut().network_mut().dns.clone();
        let Fetch::Collected { value: mut dns } = dns else { unreachable!() };
        dns.zones = Fetch::collected(vec![]);
        f.aws_mut().network_mut().dns = Fetch::collected(dns);
    })),
    case("network.route", Status::Fail, || with(private_with_endpoints, |f| {
        f.aws_mut().network_mut().vpc_endpoints = Fetch::collected(vec![]);
    })),
    case("network.egress-443", Status::Pass, private_with_nat),
    case("network.egress-443", Status::Fail, || with(private_with_nat, https_egress_only_on_80)),
    case("network.nacl", Status::Pass, private_with_nat),
    case("network.nacl", Status::Fail, || with(private_with_nat, |f| {
        acls_mut(f)[0].entries.push(nacl_entry(50, true, "deny", "0.0.0.0/0", Some((443, 443))));
    })),
    case("vpce.present", Status::Pass, private_with_endpoints),
    case("vpce.present", Status::Fail, || with(private_with_endpoints, |f| {
        endpoints_mut(f).retain(|e| !e.service_name.ends_with("ssmmessages"));
    })),
    case("vpce.private-dns", Status::Pass, private_with_endpoints),
    case("vpce.private-dns", Status::Fail, || with(private_with_endpoints, |f| {
        endpoints_mut(f)[0].private_dns_enabled = false;
    })),
    case("vpce.ingress-443", Status::Pass, private_with_endpoints),
    case("vpce.ingress-443", Status::Fail, || with(private_with_endpoints, |f| {
        group_mut(f, "sg-vpce").ingress.clear();
    })),
    case("vpce.policy", Status::Pass, private_with_endpoints),
    case("vpce.policy", Status::Fail, || with(private_with_endpoints, |f| {
        endpoints_mut(f)[1].policy = Some(json!({"Statement": [{"Effect": "Allow",
            "Principal": "*", "Action": "ssm:*", "Resource": "*"}]}));
    })),
    case("vpc.dns-support", Status::Pass, private_with_endpoints),
    case("vpc.dns-support", Status::Fail, || with(private_with_endpoints, |f| {
        f.aws_mut().network_mut().dns_support = Fetch::collected(false);
    })),
    case("session.forward", Status::Pass, || with(private_with_endpoints, |f| {
        f.target.forward = Some(Forward {
            host: "10.0.2.40".into(), port: 5432,
            addresses: Fetch::collected(vec!["10.0.2.40".into()]),
        });
    })),
    case("session.forward", Status::Fail, || with(private_with_endpoints, |f| {
        f.target.forward = Some(Forward {
            host: "198.51.100.7".into(), port: 5432,
            addresses: Fetch::collected(vec!["198.51.100.7".into()]),
        });
    })),
    case("agent.console", Status::Pass, || offline_with(&[STARTED])),
    case("agent.console", Status::Fail, || offline_with(&[STARTED, NO_CREDENTIALS])),
    case("iam.dhmc", Status::Pass, dhmc_instance),
    case("iam.dhmc", Status::Fail, || with(dhmc_instance, |f| {
        instance_mut(f).metadata.http_tokens = Some("optional".into());
    })),
    case("session.document", Status::Pass, private_with_endpoints),
    case("session.document", Status::Fail, || with(private_with_endpoints, |f| {
        f.target.document = "Team-Shell".into();
        f.aws_mut().session_mut().document_name = "Team-Shell".into();
    })),
    case("session.logging", Status::Pass, logging_to_s3),
    case("session.logging", Status::Fail, || with(logging_to_s3, |f| {
        f.aws_mut().session_mut().bucket = Fetch::collected(None);
    })),
    case("session.kms", Status::Pass, encrypted_with_kms),
    case("session.kms", Status::Fail, || with(encrypted_with_kms, |f| {
        f.aws_mut().session_mut().key = Fetch::collected(None);
    })),
    case("operator.identity", Status::Pass, private_with_endpoints),
    case("operator.identity", Status::Warn, || with(private_with_endpoints, |f| {
        let op = f.operator_mut().unwrap();
        collected_mut(&mut op.caller).arn = format!("arn:aws:sts::{ACCOUNT}:federated-user/bob");
        op.identity = Fetch::not_applicable("a federated user");
    })),
    case("operator.permission", Status::Pass, private_with_endpoints),
    case("operator.permission", Status::Fail, || with(private_with_endpoints, |f| {
        operator_mut(f).inline_policies = Fetch::collected(vec![]);
    })),
    case("operator.network", Status::Pass, private_with_endpoints),
    case("operator.network", Status::Fail, || with(private_with_endpoints, |f| {
        collected_mut(&mut f.operator_mut().unwrap().network).endpoints[0].tcp =
            Step::Failed { ms: 5000, error: "connection timed out".into() };
    })),
    case("local.metadata", Status::Pass, healthy_local),
    case("local.metadata", Status::Fail, || with(healthy_local, imds_down)),
    case("local.dns", Status::Pass, healthy_local),
    case("local.dns", Status::Fail, || with(healthy_local, ssmmessages_nxdomain)),
    case("local.tcp-443", Status::Pass, healthy_local),
    case("local.tcp-443", Status::Fail, || with(healthy_local, ssm_port_closed)),
    case("local.tls", Status::Pass, healthy_local),
    case("local.tls", Status::Fail, || with(healthy_local, untrusted_certificate)),
    case("local.proxy", Status::Pass, healthy_local),
    case("local.proxy", Status::Fail, || with(healthy_local, proxy_without_imds_exemption)),
    case("local.agent-service", Status::Pass, healthy_local),
    case("local.agent-service", Status::Fail, || with(healthy_local, agent_stopped)),
    case("local.agent-log", Status::Pass, healthy_local),
    case("local.agent-log", Status::Fail, || with(healthy_local, log_with(&[ACCESS_DENIED]))),
    case("operator.plugin", Status::Pass, private_with_endpoints),
    case("operator.plugin", Status::Fail, || with(private_with_endpoints, |f| {
        machine_mut(f).plugin = None;
    })),
    case("vpc.dns-hostnames", Status::Pass, private_with_endpoints),
    case("vpc.dns-hostnames", Status::Fail, || with(private_with_endpoints, |f| {
        f.aws_mut().network_mut().dns_hostnames = Fetch::collected(false);
    })),
    case("param.exists", Status::Pass, reading),
    case("param.exists", Status::Fail, || asking_for("/app/prod/db-ulr", &[NAME])),
    case("param.permission", Status::Pass, reading),
    case("param.permission", Status::Fail, || with(reading, |f| {
        f.aws_mut().iam_mut().inline_policies = Fetch::collected(vec![]);
    })),
    case("param.kms", Status::Pass, || secure_with(super::param::delegating())),
    case("param.kms", Status::Fail, || secure_with(admins_only())),
    case("param.path", Status::Pass, reading),
    case("param.path", Status::Fail, || with(reading, |f| {
        group_mut(f, "sg-vpce").ingress = vec![];
    })),
    case("patch.managed", Status::Pass, patched),
    case("patch.managed", Status::Fail, || with(patched, lose_connection)),
    case("patch.targeted", Status::Pass, patched),
    case("patch.targeted", Status::Fail, || with(patched, targets_db)),
    case("patch.window", Status::Pass, patched),
    case("patch.window", Status::Fail, || with(patched, |f| window_mut(f).next_run = None)),
    case("patch.service-role", Status::Pass, patched),
    case("patch.service-role", Status::Fail, || with(patched, |f| {
        patch_mut(f).service_roles.clear();
        let role = Fetch::not_applicable("no role named patching-role exists");
        patch_mut(f).service_roles.insert("patching-role".into(), role);
    })),
    case("patch.baseline", Status::Pass, patched),
    case("patch.baseline", Status::Warn, || with(patched, |f| {
        patch_mut(f).group_baseline = Fetch::collected(None);
        patch_mut(f).default_baseline = Fetch::collected("pb-aws".into());
    })),
    case("patch.s3", Status::Pass, patched),
    case("patch.s3", Status::Fail, || with(|| through_s3_gateway(None), |f| {
        set_policies(f, vec![], vec![]);
    })),
    case("patch.last-run", Status::Pass, patched),
    case("patch.last-run", Status::Fail, || with(patched, |f| {
        if let Fetch::Collected { value: Some(state) } = &mut patch_mut(f).state {
            state.failed = 1;
        }
    })),
];

#[test]
fn every_check_has_a_failing_and_a_passing_case() {
    let mut missing = Vec::new();
    for page in Catalog::get().pages() {
        let id = page.id.as_str();
        let cases: Vec<Status> = CASES
            .iter()
            .filter(|c| c.check == id)
            .map(|c| c.expect)
            .collect();
        if !cases.contains(&Status::Pass) {
            missing.push(format!("{id}: no case in which it passes"));
        }
        // A check that cannot fail (`can_fail = false` on its page) shows its warning instead.
        let worst = if page.can_fail {
            Status::Fail
        } else {
            Status::Warn
        };
        if !cases.contains(&worst) {
            missing.push(format!("{id}: no case in which it is {worst}"));
        }
    }
    assert!(
        missing.is_empty(),
        "add them to src/checks/tests/cases.rs:\n{}",
        missing.join("\n")
    );
}

#[test]
fn every_case_holds() {
    let mut wrong = Vec::new();
    for c in CASES {
        let report = run(&(c.facts)());
        let Some(found) = report.checks.iter().find(|f| f.id == c.check) else {
            wrong.push(format!("{}: not in the report", c.check));
            continue;
        };
        if found.status != c.expect {
            wrong.push(format!(
                "{}: expected {}, got {}: {}",
                c.check, c.expect, found.status, found.message
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
