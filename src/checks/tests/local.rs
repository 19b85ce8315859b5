//! The instance seen from inside (`local.*`) and the operator's network path
//! (`operator.network`), over fixture facts.

use super::*;

/// An instance in 10.0.0.0/16 whose agent reaches its three interface endpoints.
pub fn healthy_local() -> Facts {
    Facts {
        schema_version: FACTS_SCHEMA_VERSION,
        target: Target {
            instance_id: "i-0123456789abcdef0".into(),
            region: "us-east-1".into(),
            document: DEFAULT_DOCUMENT.into(),
            account: None,
            forward: None,
        },
        aws: None,
        operator: None,
        task: None,
        instance: Some(InstanceFacts {
            metadata: Fetch::collected(Metadata {
                endpoint: "http://169.254.169.254".into(),
                v2: true,
                token_error: None,
                instance_id: Some("i-0123456789abcdef0".into()),
                region: Some("us-east-1".into()),
                vpc_id: Some("vpc-1".into()),
                vpc_cidrs: vec!["10.0.0.0/16".into()],
                role: Some("app-role".into()),
                credentials: Step::Done {
                    ms: 1,
                    detail: "valid until 2026-11-29T04:00:00Z".into(),
                },
                errors: vec![],
            }),
            endpoints: Fetch::collected(vec![
                reached("ssm", "10.0.1.21"),
                reached("ssmmessages", "10.0.1.22"),
                reached("ec2messages", "10.0.1.23"),
            ]),
            proxies: vec![],
            service: Fetch::collected(Service {
                manager: "systemd".into(),
                installed: true,
                running: true,
                state: "amazon-ssm-agent.service active (running)".into(),
            }),
            log: Fetch::collected(AgentLog {
                files: vec!["/var/log/amazon/ssm/amazon-ssm-agent.log".into()],
                lines: vec![],
                since: Some("2026-11-28 09:00:00".into()),
            }),
        }),
    }
}

fn local_mut(f: &mut Facts) -> &mut InstanceFacts {
    f.instance.as_mut().expect("observed from inside")
}

fn reach_mut<'a>(f: &'a mut Facts, service: &str) -> &'a mut Reach {
    collected_mut(&mut local_mut(f).endpoints)
        .iter_mut()
        .find(|r| r.service == service)
        .expect("probed")
}

pub fn imds_down(f: &mut Facts) {
    local_mut(f).metadata = Fetch::Failed {
        action: "asking the instance metadata service at http://169.254.169.254".into(),
        reason: "no answer within 2000 ms".into(),
    };
}

pub fn ssmmessages_public(f: &mut Facts) {
    reach_mut(f, "ssmmessages").lookup.addresses = vec!["52.94.1.22".into()];
}

pub fn ssmmessages_nxdomain(f: &mut Facts) {
    let r = reach_mut(f, "ssmmessages");
    r.lookup.addresses.clear();
    r.lookup.error = Some("no such name (NXDOMAIN)".into());
    r.tcp = Step::Skipped {
        reason: "did not resolve".into(),
    };
    r.tls = Step::Skipped {
        reason: "no TCP connection".into(),
    };
}

pub fn ssm_port_closed(f: &mut Facts) {
    let r = reach_mut(f, "ssm");
    r.tcp = Step::Failed {
        ms: 0,
        error: "10.0.1.21:443: connection refused".into(),
    };
    r.tls = Step::Skipped {
        reason: "no TCP connection".into(),
    };
}

pub fn untrusted_certificate(f: &mut Facts) {
    reach_mut(f, "ssmmessages").tls = Step::Failed {
        ms: 8,
        error: "certificate signed by an unknown authority (x509)".into(),
    };
}

pub fn proxy_without_imds_exemption(f: &mut Facts) {
    local_mut(f).proxies = vec![ProxySettings {
        source: "/etc/systemd/system/amazon-ssm-agent.service.d/override.conf".into(),
        variables: vec![
            ("https_proxy".into(), "http://proxy.corp:3128".into()),
            ("http_proxy".into(), "http://proxy.corp:3128".into()),
        ],
    }];
}

pub fn agent_stopped(f: &mut Facts) {
    let service = collected_mut(&mut local_mut(f).service);
    service.running = false;
    service.state = "amazon-ssm-agent.service inactive (dead)".into();
}

pub fn log_with(lines: &[&str]) -> impl FnOnce(&mut Facts) {
    let lines: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    move |f| collected_mut(&mut local_mut(f).log).lines = lines
}

pub const ACCESS_DENIED: &str = "2026-11-28 10:00:00 ERROR [HealthCheck] error when calling AWS APIs. error details - AccessDeniedException: User: arn:aws:sts::111122223333:assumed-role/app-role/i-0123 is not authorized to perform: ssm:UpdateInstanceInformation";

fn with_local(change: impl FnOnce(&mut Facts)) -> Report {
    let mut f = healthy_local();
    change(&mut f);
    run(&f)
}

#[test]
fn a_healthy_instance_passes_every_local_check_and_lists_the_others_as_not_observed() {
    let report = run(&healthy_local());
    let inside = Catalog::get()
        .pages()
        .filter(|p| p.vantage == Vantage::Instance);
    for id in inside.map(|p| p.id.as_str()) {
        assert_eq!(
            status(&report, id),
            Status::Pass,
            "{id}: {}",
            message(&report, id)
        );
    }
    assert!(message(&report, "local.dns").contains("inside the VPC"));
    assert!(!report.checks.iter().any(|c| c.id.starts_with("iam.")));
    assert_eq!(report.verdict, Verdict::Pass);
}

#[test]
fn imds_down_fails_metadata_and_v1_only_is_noted() {
    let report = with_local(imds_down);
    assert_eq!(status(&report, "local.metadata"), Status::Fail);
    assert!(message(&report, "local.metadata").contains("does not answer"));

    let report = with_local(|f| {
        let m = collected_mut(&mut local_mut(f).metadata);
        m.v2 = false;
        m.token_error = Some("the token request got HTTP 403".into());
    });
    assert_eq!(status(&report, "local.metadata"), Status::Warn);
    assert!(message(&report, "local.metadata").contains("Only IMDSv1"));

    let report = with_local(|f| {
        collected_mut(&mut local_mut(f).metadata).credentials = Step::Failed {
            ms: 1,
            error: "IMDS answered AssumeRoleUnauthorizedAccess: ...".into(),
        };
    });
    assert_eq!(status(&report, "local.metadata"), Status::Fail);
}

#[test]
fn dns_fails_on_nxdomain_and_warns_on_a_private_public_mix() {
    let report = with_local(ssmmessages_nxdomain);
    assert_eq!(status(&report, "local.dns"), Status::Fail);
    assert!(message(&report, "local.dns").contains("NXDOMAIN"));
    // Nothing to connect to is not a second failure of its own.
    assert_eq!(status(&report, "local.tcp-443"), Status::Skip);

    let report = with_local(ssmmessages_public);
    assert_eq!(status(&report, "local.dns"), Status::Warn);
    let text = message(&report, "local.dns");
    assert!(
        text.contains("ssm, ec2messages to the VPC's endpoints"),
        "{text}"
    );
    assert!(text.contains("ssmmessages outside the VPC"), "{text}");

    // All public (a subnet with internet access): no mix.
    let report = with_local(|f| {
        for (service, address) in [("ssm", "52.94.1.21"), ("ec2messages", "52.94.1.23")] {
            reach_mut(f, service).lookup.addresses = vec![address.into()];
        }
        ssmmessages_public(f);
    });
    assert_eq!(status(&report, "local.dns"), Status::Pass);
}

#[test]
fn tcp_and_tls_failures_name_the_endpoint_and_the_cause() {
    let report = with_local(ssm_port_closed);
    assert_eq!(status(&report, "local.tcp-443"), Status::Fail);
    let text = message(&report, "local.tcp-443");
    assert!(
        text.contains("ssm.us-east-1.amazonaws.com:443") && text.contains("refused"),
        "{text}"
    );
    assert!(text.contains("no proxy"), "{text}");
    // Handshakes are judged once every connection opens.
    assert_eq!(status(&report, "local.tls"), Status::Skip);

    let report = with_local(untrusted_certificate);
    assert_eq!(status(&report, "local.tls"), Status::Fail);
    assert!(message(&report, "local.tls").contains("unknown authority"));
}

#[test]
fn a_proxy_without_imds_in_no_proxy_fails_for_the_agent_and_warns_for_the_shell() {
    let report = with_local(proxy_without_imds_exemption);
    assert_eq!(status(&report, "local.proxy"), Status::Fail);
    assert!(message(&report, "local.proxy").contains("169.254.169.254"));

    let report = with_local(|f| {
        local_mut(f).proxies = vec![ProxySettings {
            source: crate::probe::instance::ENVIRONMENT.into(),
            variables: vec![("HTTP_PROXY".into(), "http://proxy.corp:3128".into())],
        }];
    });
    assert_eq!(status(&report, "local.proxy"), Status::Warn);

    // Only https_proxy: IMDS (http://) is never sent to it.
    let report = with_local(|f| {
        proxy_without_imds_exemption(f);
        local_mut(f).proxies[0]
            .variables
            .retain(|(k, _)| k == "https_proxy");
    });
    assert_eq!(status(&report, "local.proxy"), Status::Pass);

    // no_proxy in a later drop-in of its own still applies.
    let report = with_local(|f| {
        proxy_without_imds_exemption(f);
        local_mut(f).proxies.push(ProxySettings {
            source: "/etc/systemd/system/amazon-ssm-agent.service.d/20-no-proxy.conf".into(),
            variables: vec![("no_proxy".into(), "169.254.169.254".into())],
        });
    });
    assert_eq!(status(&report, "local.proxy"), Status::Pass);

    let report = with_local(|f| {
        proxy_without_imds_exemption(f);
        local_mut(f).proxies[0]
            .variables
            .push(("no_proxy".into(), "localhost,169.254.169.254".into()));
    });
    assert_eq!(status(&report, "local.proxy"), Status::Pass);
}

#[test]
fn a_stopped_or_missing_agent_fails() {
    let report = with_local(agent_stopped);
    assert_eq!(status(&report, "local.agent-service"), Status::Fail);
    assert!(message(&report, "local.agent-service").contains("inactive (dead)"));

    let report = with_local(|f| {
        let s = collected_mut(&mut local_mut(f).service);
        s.installed = false;
        s.running = false;
    });
    assert!(message(&report, "local.agent-service").contains("not installed"));
}

#[test]
fn every_signature_explains_its_log_line() {
    for signature in crate::catalog::signatures() {
        let line = format!(
            "2026-11-28 10:00:00 ERROR something: {}",
            signature.contains[0]
        );
        let report = with_local(log_with(&[&line]));
        let expect = match signature.status.as_str() {
            "fail" => Status::Fail,
            _ => Status::Warn,
        };
        assert_eq!(
            status(&report, "local.agent-log"),
            expect,
            "{}",
            signature.id
        );
        let finding = finding(&report, "local.agent-log");
        assert!(
            finding.message.contains(&signature.meaning),
            "{}",
            signature.id
        );
        assert_eq!(finding.evidence["signatures"], json!([signature.id]));
    }
    let report = with_local(log_with(&[
        "2026-11-28 10:00:00 ERROR a thing nobody knows",
    ]));
    assert_eq!(status(&report, "local.agent-log"), Status::Warn);
    assert!(message(&report, "local.agent-log").contains("a thing nobody knows"));
}

#[test]
fn the_operator_network_fails_on_a_broken_step_and_notes_the_flags() {
    let mut f = private_with_endpoints();
    let report = run(&f);
    assert_eq!(status(&report, "operator.network"), Status::Pass);
    assert!(message(&report, "operator.network").contains("TLSv1.3 in 11 ms"));

    let net = collected_mut(&mut f.operator_mut().unwrap().network);
    net.ca_bundle = Some("/etc/corp-ca.pem".into());
    net.endpoints[0].tls = Step::Failed {
        ms: 5,
        error: "certificate signed by an unknown authority (x509)".into(),
    };
    let report = run(&f);
    assert_eq!(status(&report, "operator.network"), Status::Fail);
    let text = message(&report, "operator.network");
    assert!(
        text.contains("ssmmessages.us-east-1.amazonaws.com") && text.contains("AWS_CA_BUNDLE"),
        "{text}"
    );
}

#[test]
fn ec2messages_is_needed_only_by_old_agents() {
    let report = with_local(|f| {
        let r = reach_mut(f, "ec2messages");
        r.lookup.addresses = vec!["52.94.1.23".into()];
        r.tcp = Step::Failed {
            ms: 5000,
            error: "connection timed out".into(),
        };
        r.tls = Step::Skipped {
            reason: "no TCP connection".into(),
        };
    });
    assert_eq!(
        status(&report, "local.dns"),
        Status::Warn,
        "a mix all the same"
    );
    assert_eq!(status(&report, "local.tcp-443"), Status::Warn);
    assert!(message(&report, "local.tcp-443").contains("older than 3.3.40.0"));
}

#[test]
fn names_left_to_the_proxy_and_s3_s_public_answers_are_no_fault() {
    let report = with_local(|f| {
        ssmmessages_nxdomain(f);
        let r = reach_mut(f, "ssmmessages");
        r.proxy = Some("http://proxy.corp:3128".into());
        r.tcp = Step::Done {
            ms: 4,
            detail: "tunnel".into(),
        };
    });
    assert_eq!(status(&report, "local.dns"), Status::Pass);
    assert!(message(&report, "local.dns").contains("left to the agent's proxy"));

    let report = with_local(|f| {
        let s3 = reached("s3", "52.216.1.1");
        collected_mut(&mut local_mut(f).endpoints).push(s3);
    });
    assert_eq!(status(&report, "local.dns"), Status::Pass);
}

#[test]
fn imds_reads_that_fail_are_said() {
    let report = with_local(|f| {
        let m = collected_mut(&mut local_mut(f).metadata);
        m.region = None;
        m.errors = vec!["/latest/meta-data/placement/region: HTTP 500".into()];
    });
    assert_eq!(status(&report, "local.metadata"), Status::Warn);
    assert!(message(&report, "local.metadata").contains("HTTP 500"));

    let report = with_local(|f| {
        let m = collected_mut(&mut local_mut(f).metadata);
        m.role = None;
        m.credentials = Step::Failed {
            ms: 0,
            error: "/latest/meta-data/iam/security-credentials/: HTTP 500".into(),
        };
    });
    assert_eq!(status(&report, "local.metadata"), Status::Fail);
}
