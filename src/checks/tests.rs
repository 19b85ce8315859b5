//! Every check over fixture facts: a healthy base per network shape, and one mutation per fault.

use super::REGISTRY;
use crate::catalog::Catalog;
use crate::facts::build::{nacl_entry, sg_rule};
use crate::facts::*;
use crate::report::{Report, Stats, Status, Verdict};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

const ACCOUNT: &str = "111122223333";

fn run(facts: &Facts) -> Report {
    super::run(facts, Stats::default())
}

pub fn managed_core_policy() -> serde_json::Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": [
                "ssm:DescribeAssociation", "ssm:GetDeployablePatchSnapshotForInstance", "ssm:GetDocument",
                "ssm:DescribeDocument", "ssm:GetManifest", "ssm:GetParameter", "ssm:GetParameters",
                "ssm:ListAssociations", "ssm:ListInstanceAssociations", "ssm:PutInventory",
                "ssm:PutComplianceItems", "ssm:PutConfigurePackageResult", "ssm:UpdateAssociationStatus",
                "ssm:UpdateInstanceAssociationStatus", "ssm:UpdateInstanceInformation"], "Resource": "*"},
            {"Effect": "Allow", "Action": [
                "ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
                "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"], "Resource": "*"},
            {"Effect": "Allow", "Action": [
                "ec2messages:AcknowledgeMessage", "ec2messages:DeleteMessage", "ec2messages:FailMessage",
                "ec2messages:GetEndpoint", "ec2messages:GetMessages", "ec2messages:SendReply"], "Resource": "*"}
        ]
    })
}

/// What AWS suggests for people who start sessions: shells and SSH on any instance, and ending
/// and resuming their own sessions.
pub fn operator_policy() -> serde_json::Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "ssm:StartSession", "Resource": [
                "arn:aws:ec2:*:*:instance/*",
                "arn:aws:ssm:*:*:document/SSM-SessionManagerRunShell",
                "arn:aws:ssm:*::document/AWS-StartSSHSession"]},
            {"Effect": "Allow", "Action": ["ssm:TerminateSession", "ssm:ResumeSession"],
             "Resource": "arn:aws:ssm:*:*:session/${aws:username}-*"}
        ]
    })
}

fn policy(name: &str, arn: Option<&str>, document: serde_json::Value) -> Policy {
    Policy {
        name: name.to_string(),
        arn: arn.map(str::to_string),
        document: Fetch::collected(document),
    }
}

fn all_to(cidr: &str) -> SgRule {
    SgRule {
        cidrs: vec![cidr.to_string()],
        ..sg_rule("-1", None)
    }
}

/// AWS's default ACL: allow everything both ways, then the implicit deny.
fn open_acl(id: &str, default: bool, subnets: &[&str]) -> NetworkAcl {
    NetworkAcl {
        id: id.to_string(),
        is_default: default,
        subnet_ids: subnets.iter().map(|s| s.to_string()).collect(),
        entries: vec![
            nacl_entry(100, true, "allow", "0.0.0.0/0", None),
            nacl_entry(100, false, "allow", "0.0.0.0/0", None),
            nacl_entry(32767, true, "deny", "0.0.0.0/0", None),
            nacl_entry(32767, false, "deny", "0.0.0.0/0", None),
        ],
    }
}

fn endpoint(service: &str) -> VpcEndpoint {
    VpcEndpoint {
        id: format!("vpce-{service}"),
        service_name: format!("com.amazonaws.eu-west-1.{service}"),
        endpoint_type: "Interface".into(),
        state: "available".into(),
        private_dns_enabled: true,
        subnet_ids: vec!["subnet-b".into()],
        security_group_ids: vec!["sg-vpce".into()],
        policy: None,
        ip_address_type: None,
    }
}

/// A private subnet whose only path is the three interface endpoints, everything healthy.
pub fn private_with_endpoints() -> Facts {
    Facts {
        schema_version: FACTS_SCHEMA_VERSION,
        target: Target {
            instance_id: "i-0123456789abcdef0".into(),
            region: "eu-west-1".into(),
            document: DEFAULT_DOCUMENT.into(),
            account: Some(ACCOUNT.into()),
            forward: None,
        },
        operator: Some(Arc::new(OperatorFacts {
            caller: Fetch::collected(Caller {
                account: ACCOUNT.into(),
                arn: format!("arn:aws:iam::{ACCOUNT}:user/oncall"),
                user_id: Some("AIDAEXAMPLEONCALL".into()),
            }),
            identity: Fetch::collected(Identity {
                kind: IdentityKind::User,
                name: "oncall".into(),
                entity: Fetch::collected(Entity {
                    arn: format!("arn:aws:iam::{ACCOUNT}:user/oncall"),
                    permissions_boundary_arn: None,
                    run_as: None,
                }),
                attached_policies: Fetch::collected(vec![]),
                inline_policies: Fetch::collected(vec![policy(
                    "sessions",
                    None,
                    operator_policy(),
                )]),
                group_policies: Fetch::collected(vec![]),
                permissions_boundary: Fetch::not_applicable("no permissions boundary"),
            }),
            machine: Fetch::collected(Machine {
                os: "linux".into(),
                arch: "x86_64".into(),
                plugin: Some(Program {
                    path: "/usr/local/bin/session-manager-plugin".into(),
                    version: Fetch::collected("1.2.764.0".into()),
                    crashed: None,
                }),
                aws_cli: Some("/usr/local/bin/aws".into()),
            }),
            simulation: Fetch::not_applicable("not simulated"),
            network: Fetch::collected(OperatorNetwork {
                endpoints: vec![
                    reached("ssmmessages", "52.94.1.10"),
                    reached("ssm", "52.94.1.20"),
                ],
                proxy: ProxySettings {
                    source: "environment".into(),
                    variables: vec![],
                },
                ca_bundle: None,
                dualstack: false,
            }),
        })),
        instance: None,
        task: None,
        aws: Some(AwsFacts {
            instance: Fetch::collected(Some(Instance {
                instance_id: "i-0123456789abcdef0".into(),
                owner_account: Some(ACCOUNT.into()),
                state: "running".into(),
                vpc_id: Some("vpc-1".into()),
                subnet_id: Some("subnet-a".into()),
                private_ip: Some("10.0.1.10".into()),
                public_ip: None,
                ipv6_addresses: vec![],
                security_group_ids: vec!["sg-inst".into()],
                instance_profile_arn: Some(format!("arn:aws:iam::{ACCOUNT}:instance-profile/app")),
                metadata: MetadataOptions {
                    http_endpoint: Some("enabled".into()),
                    http_tokens: Some("required".into()),
                    http_put_response_hop_limit: Some(2),
                },
                platform: Some("Linux/UNIX".into()),
                name: Some("web-1".into()),
                tags: Some(BTreeMap::from([("Name".into(), "web-1".into())])),
            })),
            agent: Fetch::collected(Some(AgentInfo {
                ping_status: "Online".into(),
                last_ping: Some("2026-11-22T06:00:00Z".into()),
                agent_version: Some("3.3.1142.0".into()),
                is_latest_version: Some(true),
                platform_name: Some("Amazon Linux".into()),
                platform_version: Some("2023".into()),
                asked_at: Some("2026-11-22T06:02:00Z".into()),
            })),
            dhmc: Fetch::collected(DhmcSetting { role: None }),
            network: Arc::new(NetworkFacts {
                route_tables: Fetch::collected(vec![RouteTable {
                    id: "rtb-main".into(),
                    main: true,
                    subnet_ids: vec![],
                    routes: vec![Route {
                        destination: Some("10.0.0.0/16".into()),
                        destination_ipv6: None,
                        destination_prefix_list: None,
                        target: "local".into(),
                        state: "active".into(),
                    }],
                }]),
                nat_gateways: Fetch::collected(vec![]),
                network_acls: Fetch::collected(vec![open_acl(
                    "acl-default",
                    true,
                    &["subnet-a", "subnet-b"],
                )]),
                subnets: Fetch::collected(vec![
                    Subnet {
                        id: "subnet-a".into(),
                        cidr: Some("10.0.1.0/24".into()),
                        availability_zone: Some("eu-west-1a".into()),
                        map_public_ip_on_launch: false,
                        ipv6_cidrs: vec![],
                        ipv6_native: false,
                        dns64: false,
                    },
                    Subnet {
                        id: "subnet-b".into(),
                        cidr: Some("10.0.2.0/24".into()),
                        availability_zone: Some("eu-west-1b".into()),
                        map_public_ip_on_launch: false,
                        ipv6_cidrs: vec![],
                        ipv6_native: false,
                        dns64: false,
                    },
                ]),
                vpc_endpoints: Fetch::collected(vec![
                    endpoint("ssm"),
                    endpoint("ssmmessages"),
                    endpoint("ec2messages"),
                ]),
                security_groups: Fetch::collected(vec![
                    SecurityGroup {
                        id: "sg-inst".into(),
                        name: "app".into(),
                        ingress: vec![],
                        egress: vec![all_to("0.0.0.0/0")],
                    },
                    SecurityGroup {
                        id: "sg-vpce".into(),
                        name: "endpoints".into(),
                        ingress: vec![SgRule {
                            cidrs: vec!["10.0.0.0/16".into()],
                            ..sg_rule("tcp", Some((443, 443)))
                        }],
                        egress: vec![],
                    },
                ]),
                prefix_lists: BTreeMap::new(),
                dns_support: Fetch::collected(true),
                dns_hostnames: Fetch::collected(true),
                dns: Fetch::not_applicable(
                    "not asked: the VPC has endpoints of its own for ssm and ssmmessages",
                ),
            }),
            iam: Arc::new(IamFacts {
                instance_profile: Fetch::collected(Some(InstanceProfile {
                    name: "app".into(),
                    arn: format!("arn:aws:iam::{ACCOUNT}:instance-profile/app"),
                    role_names: vec!["app-role".into()],
                })),
                role: Fetch::collected(Role {
                    name: "app-role".into(),
                    arn: format!("arn:aws:iam::{ACCOUNT}:role/app-role"),
                    trust_policy: json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                    "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
                    permissions_boundary_arn: None,
                    run_as: None,
                }),
                attached_policies: Fetch::collected(vec![policy(
                    "AmazonSSMManagedInstanceCore",
                    Some("arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"),
                    managed_core_policy(),
                )]),
                inline_policies: Fetch::collected(vec![]),
                permissions_boundary: Fetch::not_applicable("the role has no permissions boundary"),
            }),
            console: Fetch::not_applicable("SSM lists the agent Online"),
            connection: Fetch::collected("connected".into()),
            session: Arc::new(SessionFacts {
                document_name: DEFAULT_DOCUMENT.into(),
                document: Fetch::collected(None),
                bucket: Fetch::not_applicable("the session document does not exist"),
                log_group: Fetch::not_applicable("the session document does not exist"),
                key: Fetch::not_applicable("the session document does not exist"),
            }),
        }),
    }
}

/// A public subnet: default route to an internet gateway, a public IP, no endpoints.
pub fn public_with_igw() -> Facts {
    let mut f = private_with_endpoints();
    instance_mut(&mut f).public_ip = Some("203.0.113.10".into());
    tables_mut(&mut f)[0].routes.push(default_route("igw-1"));
    f.aws_mut().network_mut().vpc_endpoints = Fetch::collected(vec![]);
    f
}

/// A private subnet whose explicit route table sends 0.0.0.0/0 to an available NAT gateway.
pub fn private_with_nat() -> Facts {
    let mut f = private_with_endpoints();
    f.aws_mut().network_mut().vpc_endpoints = Fetch::collected(vec![]);
    tables_mut(&mut f).push(RouteTable {
        id: "rtb-private".into(),
        main: false,
        subnet_ids: vec!["subnet-a".into()],
        routes: vec![default_route("nat-1")],
    });
    f.aws_mut().network_mut().nat_gateways = Fetch::collected(vec![NatGateway {
        id: "nat-1".into(),
        state: "available".into(),
        subnet_id: Some("subnet-b".into()),
        connectivity: Some("public".into()),
    }]);
    f
}

fn default_route(target: &str) -> Route {
    Route {
        destination: Some("0.0.0.0/0".into()),
        destination_ipv6: None,
        destination_prefix_list: None,
        target: target.into(),
        state: "active".into(),
    }
}

fn instance_mut(f: &mut Facts) -> &mut Instance {
    match &mut f.aws_mut().instance {
        Fetch::Collected { value: Some(i) } => i,
        _ => panic!("fixture has an instance"),
    }
}

fn collected_mut<T>(fetch: &mut Fetch<T>) -> &mut T {
    match fetch {
        Fetch::Collected { value } => value,
        _ => panic!("fixture value is collected"),
    }
}

fn tables_mut(f: &mut Facts) -> &mut Vec<RouteTable> {
    collected_mut(&mut f.aws_mut().network_mut().route_tables)
}

fn endpoints_mut(f: &mut Facts) -> &mut Vec<VpcEndpoint> {
    collected_mut(&mut f.aws_mut().network_mut().vpc_endpoints)
}

fn group_mut<'a>(f: &'a mut Facts, id: &str) -> &'a mut SecurityGroup {
    collected_mut(&mut f.aws_mut().network_mut().security_groups)
        .iter_mut()
        .find(|g| g.id == id)
        .expect("fixture group")
}

fn acls_mut(f: &mut Facts) -> &mut Vec<NetworkAcl> {
    collected_mut(&mut f.aws_mut().network_mut().network_acls)
}

/// The agent stopped pinging, and Session Manager agrees it is not connected.
fn lose_connection(f: &mut Facts) {
    agent_mut(f).ping_status = "ConnectionLost".into();
    f.aws_mut().connection = Fetch::collected("notconnected".into());
}

fn agent_mut(f: &mut Facts) -> &mut AgentInfo {
    match &mut f.aws_mut().agent {
        Fetch::Collected { value: Some(a) } => a,
        _ => panic!("fixture has an agent"),
    }
}

fn operator_mut(f: &mut Facts) -> &mut Identity {
    collected_mut(&mut f.operator_mut().expect("an operator section").identity)
}

fn machine_mut(f: &mut Facts) -> &mut Machine {
    collected_mut(&mut f.operator_mut().expect("an operator section").machine)
}

fn set_policies(f: &mut Facts, attached: Vec<Policy>, inline: Vec<Policy>) {
    f.aws_mut().iam_mut().attached_policies = Fetch::collected(attached);
    f.aws_mut().iam_mut().inline_policies = Fetch::collected(inline);
}

/// The run is about `name`, an AWS-owned port-forwarding document that exists.
fn use_document(f: &mut Facts, name: &str) {
    f.target.document = name.into();
    let session = f.aws_mut().session_mut();
    session.document_name = name.into();
    session.document = Fetch::collected(Some(SessionDocument {
        name: name.into(),
        document_type: "Session".into(),
        session_type: Some("Port".into()),
        settings: SessionSettings::default(),
    }));
}

fn inline(document: serde_json::Value) -> Policy {
    policy("ssm-core", None, document)
}

/// `service`'s regional endpoint in us-east-1, resolved to `address` by the VPC's resolver and
/// reached: TCP and TLS done.
pub fn reached(service: &str, address: &str) -> Reach {
    Reach {
        service: service.into(),
        host: format!("{service}.us-east-1.amazonaws.com"),
        port: 443,
        configured_by: None,
        required: service != "ec2messages",
        proxy: None,
        lookup: Lookup {
            server: Some("10.0.0.2:53".into()),
            addresses: vec![address.into()],
            ms: 2,
            error: None,
        },
        tcp: Step::Done {
            ms: 3,
            detail: format!("connected to {address}:443"),
        },
        tls: Step::Done {
            ms: 11,
            detail: format!("TLSv1.3 with {service}.us-east-1.amazonaws.com, certificate trusted"),
        },
    }
}

fn statuses(report: &Report, status: Status) -> BTreeSet<&str> {
    report
        .checks
        .iter()
        .filter(|c| c.status == status)
        .map(|c| c.id.as_str())
        .collect()
}

fn fails(report: &Report) -> BTreeSet<&str> {
    statuses(report, Status::Fail)
}

fn finding<'a>(report: &'a Report, id: &str) -> &'a crate::report::Finding {
    report
        .checks
        .iter()
        .find(|c| c.id == id)
        .expect("check ran")
}

fn status(report: &Report, id: &str) -> Status {
    finding(report, id).status
}

fn message<'a>(report: &'a Report, id: &str) -> &'a str {
    &finding(report, id).message
}

fn set(ids: &[&'static str]) -> BTreeSet<&'static str> {
    ids.iter().copied().collect()
}

// ---- the registry and the catalogue agree ---------------------------------------------------

#[test]
fn every_check_has_a_page_and_every_page_a_check() {
    let code: BTreeSet<&str> = REGISTRY.iter().map(|c| c.id).collect();
    let pages: BTreeSet<&str> = Catalog::get().ids().collect();
    assert_eq!(code, pages);
    assert_eq!(code.len(), REGISTRY.len(), "a check id is registered twice");
}

#[test]
fn checks_run_after_their_dependencies() {
    let report = run(&private_with_endpoints());
    let mut seen = BTreeSet::new();
    for f in &report.checks {
        for dep in &Catalog::get().page(&f.id).unwrap().depends_on {
            assert!(
                seen.contains(dep.as_str()),
                "{} runs before its dependency {dep}",
                f.id
            );
        }
        seen.insert(f.id.as_str());
    }
    let local = REGISTRY
        .iter()
        .filter(|c| c.id.starts_with("local."))
        .count();
    // The subcommands' checks are in their own reports.
    let others = Catalog::get()
        .pages()
        .filter(|p| p.command != Command::Session)
        .count();
    assert_eq!(seen.len() + local + others, REGISTRY.len());
}

// ---- healthy shapes ---------------------------------------------------------------------------

#[test]
fn healthy_shapes_have_no_failure_and_no_error() {
    for (name, facts) in [
        ("endpoints", private_with_endpoints()),
        ("igw", public_with_igw()),
        ("nat", private_with_nat()),
    ] {
        let report = run(&facts);
        let bad: Vec<_> = report
            .checks
            .iter()
            .filter(|c| matches!(c.status, Status::Fail | Status::Error | Status::Warn))
            .map(|c| format!("{}: {}", c.id, c.message))
            .collect();
        assert!(bad.is_empty(), "{name}: {bad:#?}");
        assert_eq!(report.verdict, Verdict::Pass, "{name}");
    }
}

#[test]
fn endpoint_checks_skip_when_the_internet_is_the_path() {
    let report = run(&public_with_igw());
    for id in [
        "vpce.present",
        "vpce.private-dns",
        "vpce.ingress-443",
        "vpce.policy",
        "vpc.dns-support",
        "vpc.dns-hostnames",
    ] {
        assert_eq!(status(&report, id), Status::Skip, "{id}");
    }
    assert!(message(&report, "vpce.present").contains("internet gateway igw-1"));
}

// ---- instance.* -------------------------------------------------------------------------------

#[test]
fn missing_instance_fails_found_names_the_region_and_skips_the_rest() {
    let mut f = private_with_endpoints();
    f.aws_mut().instance = Fetch::collected(None);
    let report = run(&f);
    assert_eq!(fails(&report), set(&["instance.found"]));
    assert!(message(&report, "instance.found").contains("eu-west-1"));
    assert!(message(&report, "instance.found").contains(ACCOUNT));
    // Everything but the session document, who is asking, and with what, depends on the instance.
    let not_skipped: Vec<&str> = report
        .checks
        .iter()
        .filter(|c| c.status != Status::Skip)
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(
        not_skipped,
        [
            "instance.found",
            "session.document",
            "operator.identity",
            "operator.network",
            "operator.plugin"
        ]
    );
}

#[test]
fn denied_describe_instances_is_an_error_not_a_verdict() {
    let mut f = private_with_endpoints();
    f.aws_mut().instance = Fetch::Denied {
        action: "ec2:DescribeInstances".into(),
        message: "not authorized".into(),
    };
    let report = run(&f);
    assert_eq!(status(&report, "instance.found"), Status::Error);
    assert!(message(&report, "instance.found").contains("ec2:DescribeInstances"));
    assert_eq!(report.verdict, Verdict::Incomplete);
    assert_eq!(report.verdict.exit(), crate::exit::Exit::Incomplete);
    let fix = finding(&report, "instance.found")
        .remediation
        .as_ref()
        .unwrap();
    assert!(fix.text.contains("ec2:DescribeInstances"));
}

#[test]
fn what_depends_on_an_error_is_an_error_carrying_its_cause() {
    let mut f = private_with_endpoints();
    f.aws_mut().network_mut().route_tables = Fetch::Denied {
        action: "ec2:DescribeRouteTables".into(),
        message: "not authorized".into(),
    };
    let report = run(&f);
    assert_eq!(status(&report, "network.route"), Status::Error);
    for id in ["network.egress-443", "vpce.present", "vpc.dns-hostnames"] {
        let f = finding(&report, id);
        assert_eq!(f.status, Status::Error, "{id}");
        assert!(
            f.message.contains("denied: ec2:DescribeRouteTables"),
            "{}",
            f.message
        );
        assert_eq!(f.evidence["missing_permission"], "ec2:DescribeRouteTables");
        let fix = f.remediation.as_ref().unwrap();
        assert!(fix.text.contains("ec2:DescribeRouteTables"), "{id}");
    }
    // Nothing that does not need the route tables changes.
    for id in ["instance.found", "iam.core-permissions", "agent.online"] {
        assert_eq!(status(&report, id), Status::Pass, "{id}");
    }
    assert_eq!(report.verdict, Verdict::Incomplete);
    // One thing to act on; the rest are its consequences.
    // (network.dns-central reads the route tables too, beside network.route, not after it.)
    let attention: Vec<&str> = report.attention().iter().map(|f| f.id.as_str()).collect();
    assert_eq!(attention, ["network.dns-central", "network.route"]);
    let consequences = report.unevaluated_because_of("network.route");
    assert_eq!(consequences.len(), report.summary.error as usize - 2);
    assert!(consequences.contains(&"vpce.policy"));
}

#[test]
fn a_dependency_that_does_not_hold_means_skip_even_beside_an_error() {
    let report = run(&private_with_endpoints());
    let with = |status: Status| crate::report::Finding {
        status,
        ..report.checks[0].clone()
    };
    let (failed, unknown, passed) = (with(Status::Fail), with(Status::Error), with(Status::Pass));
    let skip = super::blocked(&[("a", Some(&unknown)), ("b", Some(&failed))]).unwrap();
    assert_eq!(skip.status, Status::Skip);
    assert!(skip.message.contains("b is fail"), "{}", skip.message);
    let error = super::blocked(&[("a", Some(&passed)), ("b", Some(&unknown))]).unwrap();
    assert_eq!(error.status, Status::Error);
    assert!(super::blocked(&[("a", Some(&passed))]).is_none());
}

#[test]
fn a_denied_instance_profile_leaves_the_role_checks_in_error_not_skipped() {
    let mut f = private_with_endpoints();
    // As the collector leaves them: what the profile hides carries the profile's denial.
    let denied: Fetch<()> = Fetch::Denied {
        action: "iam:GetInstanceProfile".into(),
        message: "not authorized".into(),
    };
    f.aws_mut().iam_mut().instance_profile = denied.absent().unwrap();
    f.aws_mut().iam_mut().role = denied.absent().unwrap();
    f.aws_mut().iam_mut().attached_policies = denied.absent().unwrap();
    f.aws_mut().iam_mut().inline_policies = denied.absent().unwrap();
    f.aws_mut().iam_mut().permissions_boundary = denied.absent().unwrap();
    let report = run(&f);
    for id in [
        "iam.profile",
        "iam.trust",
        "iam.core-permissions",
        "vpce.policy",
    ] {
        assert_eq!(status(&report, id), Status::Error, "{id}");
        assert!(
            message(&report, id).contains("iam:GetInstanceProfile"),
            "{id}"
        );
    }
}

#[test]
fn no_profile_with_an_unreadable_dhmc_setting_is_unknown_not_a_failure() {
    let mut f = private_with_endpoints();
    instance_mut(&mut f).instance_profile_arn = None;
    f.aws_mut().dhmc = Fetch::Denied {
        action: "ssm:GetServiceSetting".into(),
        message: "not authorized".into(),
    };
    let report = run(&f);
    assert_eq!(status(&report, "iam.profile"), Status::Error);
    assert!(message(&report, "iam.profile").contains("denied: ssm:GetServiceSetting"));
    assert_eq!(report.verdict, Verdict::Incomplete);
}

#[test]
fn stopped_instance_fails_running_and_skips_agent_online() {
    let mut f = private_with_endpoints();
    instance_mut(&mut f).state = "stopped".into();
    lose_connection(&mut f);
    let report = run(&f);
    assert_eq!(fails(&report), set(&["instance.running"]));
    assert_eq!(status(&report, "agent.online"), Status::Skip);
    assert!(message(&report, "instance.running").contains("stopped"));
    let fix = finding(&report, "instance.running")
        .remediation
        .as_ref()
        .unwrap();
    assert!(
        fix.cli.as_ref().unwrap().contains("i-0123456789abcdef0"),
        "placeholders filled"
    );
    assert!(fix.cli.as_ref().unwrap().contains("--region eu-west-1"));
}

#[test]
fn disabled_metadata_fails() {
    let mut f = private_with_endpoints();
    instance_mut(&mut f).metadata.http_endpoint = Some("disabled".into());
    assert_eq!(fails(&run(&f)), set(&["instance.metadata"]));
}

// ---- iam.* -------------------------------------------------------------------------------------

#[test]
fn no_profile_fails_and_skips_role_checks() {
    let mut f = private_with_endpoints();
    instance_mut(&mut f).instance_profile_arn = None;
    f.aws_mut().iam_mut().instance_profile =
        Fetch::not_applicable("no instance profile is attached");
    let report = run(&f);
    assert_eq!(fails(&report), set(&["iam.profile"]));
    assert_eq!(status(&report, "iam.trust"), Status::Skip);
    assert_eq!(status(&report, "iam.core-permissions"), Status::Skip);
}

#[test]
fn no_profile_with_dhmc_passes_the_profile_check_and_leaves_the_role_to_iam_dhmc() {
    let mut f = private_with_endpoints();
    instance_mut(&mut f).instance_profile_arn = None;
    f.aws_mut().dhmc = Fetch::collected(DhmcSetting {
        role: Some("service-role/AWSSystemsManagerDefaultEC2InstanceManagementRole".into()),
    });
    let report = run(&f);
    assert_eq!(status(&report, "iam.profile"), Status::Pass);
    assert!(message(&report, "iam.profile").contains("Default Host Management"));
    assert_eq!(status(&report, "iam.trust"), Status::Skip);
    assert_eq!(status(&report, "iam.core-permissions"), Status::Skip);
    assert!(message(&report, "iam.trust").contains("iam.dhmc"));
}

#[test]
fn an_agent_backing_off_is_told_when_it_will_likely_try_again() {
    let mut f = private_with_endpoints();
    lose_connection(&mut f);
    let agent = agent_mut(&mut f);
    agent.last_ping = Some("2026-11-29T03:00:00Z".into());
    agent.asked_at = Some("2026-11-29T03:20:00Z".into());
    let report = run(&f);
    assert_eq!(status(&report, "agent.online"), Status::Fail);
    let said = message(&report, "agent.online");
    assert!(said.contains("20 minutes before this run"), "{said}");
    assert!(said.contains("within 15 minutes"), "{said}");
    assert!(said.contains("Restart the agent"), "{said}");
    let evidence = &finding(&report, "agent.online").evidence;
    assert_eq!(evidence["next_attempt_minutes"], 15);
    assert_eq!(evidence["connection"], "notconnected");
}

#[test]
fn session_managers_own_answer_overrides_the_ping_status() {
    // Online but not connected: it reaches ssm, not ssmmessages.
    let mut f = private_with_endpoints();
    f.aws_mut().connection = Fetch::collected("notconnected".into());
    let report = run(&f);
    assert_eq!(status(&report, "agent.online"), Status::Fail);
    assert!(message(&report, "agent.online").contains("ssmmessages"));
    // Lost by its ping status, connected by Session Manager's: the fix has taken.
    let mut f = private_with_endpoints();
    agent_mut(&mut f).ping_status = "ConnectionLost".into();
    let report = run(&f);
    assert_eq!(status(&report, "agent.online"), Status::Warn);
    assert!(message(&report, "agent.online").contains("connected now"));
    // Not asked (a fleet's later instances): the ping status alone decides.
    let mut f = private_with_endpoints();
    f.aws_mut().connection = Fetch::not_applicable("not asked");
    assert_eq!(status(&run(&f), "agent.online"), Status::Pass);
    // Denied: unknown, never a pass on the ping status alone.
    let mut f = private_with_endpoints();
    f.aws_mut().connection = Fetch::Denied {
        action: "ssm:GetConnectionStatus".into(),
        message: "no".into(),
    };
    let report = run(&f);
    assert_eq!(status(&report, "agent.online"), Status::Error);
    assert!(message(&report, "agent.online").contains("ssm:GetConnectionStatus"));
}

#[test]
fn profile_without_role_fails() {
    let mut f = private_with_endpoints();
    collected_mut(&mut f.aws_mut().iam_mut().instance_profile)
        .as_mut()
        .unwrap()
        .role_names
        .clear();
    assert_eq!(fails(&run(&f)), set(&["iam.profile"]));
}

#[test]
fn a_deleted_profile_fails_naming_its_arn_and_skips_the_role_checks() {
    let mut f = private_with_endpoints();
    let iam = f.aws_mut().iam_mut();
    *iam = IamFacts {
        instance_profile: Fetch::collected(None),
        ..IamFacts::unknown("the instance profile does not exist")
    };
    let report = run(&f);
    assert_eq!(fails(&report), set(&["iam.profile"]));
    let said = message(&report, "iam.profile");
    assert!(
        said.contains(&format!("arn:aws:iam::{ACCOUNT}:instance-profile/app")),
        "{said}"
    );
    assert!(said.contains("no longer exists"), "{said}");
    assert_eq!(status(&report, "iam.trust"), Status::Skip);
    assert_eq!(status(&report, "iam.core-permissions"), Status::Skip);
}

#[test]
fn role_not_trusting_ec2_fails_trust() {
    let mut f = private_with_endpoints();
    collected_mut(&mut f.aws_mut().iam_mut().role).trust_policy = json!({"Statement": [{"Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    let report = run(&f);
    assert_eq!(fails(&report), set(&["iam.trust"]));
    assert!(message(&report, "iam.trust").contains("app-role"));
}

#[test]
fn customer_managed_and_inline_equivalents_pass() {
    let mut f = private_with_endpoints();
    let arn = format!("arn:aws:iam::{ACCOUNT}:policy/ssm-core");
    set_policies(
        &mut f,
        vec![policy("ssm-core", Some(&arn), managed_core_policy())],
        vec![],
    );
    assert_eq!(status(&run(&f), "iam.core-permissions"), Status::Pass);
    set_policies(&mut f, vec![], vec![inline(managed_core_policy())]);
    assert_eq!(status(&run(&f), "iam.core-permissions"), Status::Pass);
}

#[test]
fn wildcard_policies_pass() {
    for actions in [
        json!(["ssm:*", "ssmmessages:*", "ec2messages:*"]),
        json!("*"),
        json!(["ssm:Update*", "ssmmessages:*Channel", "ec2messages:*"]),
    ] {
        let mut f = private_with_endpoints();
        set_policies(
            &mut f,
            vec![],
            vec![inline(
                json!({"Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}),
            )],
        );
        assert_eq!(
            status(&run(&f), "iam.core-permissions"),
            Status::Pass,
            "{actions}"
        );
    }
    // IAM refuses a wildcard in the service prefix and an action without one: such a document is
    // reported as unreadable, never evaluated as allowing.
    for actions in [json!(["ssm*", "ec2messages:*"]), json!("*:*")] {
        let mut f = private_with_endpoints();
        let statement =
            json!({"Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]});
        set_policies(&mut f, vec![], vec![inline(statement)]);
        let report = run(&f);
        assert_eq!(
            status(&report, "iam.core-permissions"),
            Status::Error,
            "{actions}"
        );
        assert!(message(&report, "iam.core-permissions").contains("Could not read"));
    }
}

#[test]
fn not_action_allow_passes() {
    let mut f = private_with_endpoints();
    set_policies(
        &mut f,
        vec![],
        vec![inline(
            json!({"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]}),
        )],
    );
    assert_eq!(status(&run(&f), "iam.core-permissions"), Status::Pass);
}

#[test]
fn explicit_deny_beats_the_managed_allow_and_is_named() {
    let mut f = private_with_endpoints();
    f.aws_mut().iam_mut().inline_policies = Fetch::collected(vec![policy(
        "guard",
        None,
        json!({"Statement": [{"Sid": "NoSessions", "Effect": "Deny", "Action": "ssmmessages:*", "Resource": "*"}]}),
    )]);
    let report = run(&f);
    assert_eq!(fails(&report), set(&["iam.core-permissions"]));
    let m = message(&report, "iam.core-permissions");
    assert!(m.contains("ssmmessages:OpenDataChannel"), "{m}");
    assert!(
        m.contains("NoSessions") && m.contains("inline:guard"),
        "{m}"
    );
}

#[test]
fn not_action_deny_blocks_everything_else() {
    let mut f = private_with_endpoints();
    f.aws_mut().iam_mut().inline_policies = Fetch::collected(vec![inline(
        json!({"Statement": [{"Effect": "Deny", "NotAction": ["ssm:*", "ec2messages:*"], "Resource": "*"}]}),
    )]);
    let report = run(&f);
    assert_eq!(fails(&report), set(&["iam.core-permissions"]));
    assert!(message(&report, "iam.core-permissions").contains("ssmmessages:CreateControlChannel"));
}

#[test]
fn permissions_boundary_limits_the_role() {
    let mut f = private_with_endpoints();
    let arn = format!("arn:aws:iam::{ACCOUNT}:policy/boundary");
    collected_mut(&mut f.aws_mut().iam_mut().role).permissions_boundary_arn = Some(arn.clone());
    f.aws_mut().iam_mut().permissions_boundary = Fetch::collected(policy(
        "boundary",
        Some(&arn),
        json!({"Statement": [{"Effect": "Allow", "Action": ["ssm:*", "ec2messages:*"], "Resource": "*"}]}),
    ));
    let report = run(&f);
    assert_eq!(fails(&report), set(&["iam.core-permissions"]));
    assert!(
        message(&report, "iam.core-permissions").contains("boundary"),
        "{}",
        message(&report, "iam.core-permissions")
    );
    // A boundary that allows the core actions leaves the role as it was.
    f.aws_mut().iam_mut().permissions_boundary = Fetch::collected(policy(
        "boundary",
        Some(&arn),
        json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
    ));
    assert_eq!(status(&run(&f), "iam.core-permissions"), Status::Pass);
}

#[test]
fn resource_scoped_grant_does_not_cover_channel_actions() {
    let mut f = private_with_endpoints();
    set_policies(
        &mut f,
        vec![],
        vec![inline(json!({"Statement": [
            {"Effect": "Allow", "Action": "ssm:UpdateInstanceInformation", "Resource": "arn:aws:ec2:*:*:instance/*"},
            {"Effect": "Allow", "Action": "ssmmessages:*", "Resource": "arn:aws:ssm:*:*:session/*"},
            {"Effect": "Allow", "Action": "ec2messages:*", "Resource": "*"}
        ]}))],
    );
    let report = run(&f);
    assert_eq!(fails(&report), set(&["iam.core-permissions"]));
    let m = message(&report, "iam.core-permissions");
    assert!(
        m.contains("ssmmessages:OpenDataChannel") && !m.contains("ssm:UpdateInstanceInformation"),
        "{m}"
    );
}

#[test]
fn unevaluable_condition_is_a_warning_naming_it() {
    let mut f = private_with_endpoints();
    set_policies(
        &mut f,
        vec![],
        vec![inline(
            json!({"Statement": [{"Effect": "Allow", "Action": ["ssm:*", "ssmmessages:*", "ec2messages:*"], "Resource": "*",
        "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]}),
        )],
    );
    let report = run(&f);
    assert_eq!(status(&report, "iam.core-permissions"), Status::Warn);
    assert!(message(&report, "iam.core-permissions").contains("aws:SourceIp"));
    // A condition ssm-doctor can evaluate is decided, not warned about.
    set_policies(
        &mut f,
        vec![],
        vec![inline(
            json!({"Statement": [{"Effect": "Allow", "Action": ["ssm:*", "ssmmessages:*", "ec2messages:*"], "Resource": "*",
        "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}}]}),
        )],
    );
    assert_eq!(status(&run(&f), "iam.core-permissions"), Status::Fail);
}

#[test]
fn ec2messages_permissions_depend_on_the_agent_version() {
    let mut f = private_with_endpoints();
    set_policies(
        &mut f,
        vec![],
        vec![inline(
            json!({"Statement": [{"Effect": "Allow", "Action": ["ssm:UpdateInstanceInformation", "ssmmessages:*"], "Resource": "*"}]}),
        )],
    );
    assert_eq!(status(&run(&f), "iam.core-permissions"), Status::Warn);
    agent_mut(&mut f).agent_version = Some("3.2.582.0".into());
    let report = run(&f);
    assert_eq!(status(&report, "iam.core-permissions"), Status::Fail);
    assert!(message(&report, "iam.core-permissions").contains("ec2messages:GetMessages"));
}

#[test]
fn unreadable_policy_document_is_an_error_naming_the_call() {
    let mut f = private_with_endpoints();
    collected_mut(&mut f.aws_mut().iam_mut().attached_policies)[0].document = Fetch::Denied {
        action: "iam:GetPolicyVersion".into(),
        message: "denied".into(),
    };
    let report = run(&f);
    assert_eq!(status(&report, "iam.core-permissions"), Status::Error);
    assert!(message(&report, "iam.core-permissions").contains("iam:GetPolicyVersion"));
    assert_eq!(report.verdict, Verdict::Incomplete);
}

// ---- agent.* -----------------------------------------------------------------------------------

#[test]
fn unregistered_agent_fails_and_skips_online_and_version() {
    let mut f = private_with_endpoints();
    f.aws_mut().agent = Fetch::collected(None);
    let report = run(&f);
    assert_eq!(fails(&report), set(&["agent.registered"]));
    assert_eq!(status(&report, "agent.online"), Status::Skip);
    assert_eq!(status(&report, "agent.version"), Status::Skip);
}

#[test]
fn an_offline_agent_points_at_the_failing_cause() {
    let mut f = private_with_endpoints();
    lose_connection(&mut f);
    group_mut(&mut f, "sg-vpce").ingress.clear();
    let report = run(&f);
    assert_eq!(fails(&report), set(&["agent.online", "vpce.ingress-443"]));
    assert!(message(&report, "agent.online").ends_with("Likely cause: vpce.ingress-443."));
    assert!(!message(&report, "vpce.ingress-443").contains("Likely cause"));
}

#[test]
fn connection_lost_fails_with_the_last_ping() {
    let mut f = private_with_endpoints();
    lose_connection(&mut f);
    let report = run(&f);
    assert_eq!(fails(&report), set(&["agent.online"]));
    assert!(message(&report, "agent.online").contains("2026-11-22T06:00:00Z"));
    assert!(message(&report, "agent.online").contains("Restart the agent"));
}

#[test]
fn agent_versions_are_judged() {
    let mut f = private_with_endpoints();
    agent_mut(&mut f).agent_version = Some("2.3.50.0".into());
    assert_eq!(status(&run(&f), "agent.version"), Status::Fail);
    agent_mut(&mut f).agent_version = Some("3.1.0.0".into());
    agent_mut(&mut f).is_latest_version = Some(false);
    assert_eq!(status(&run(&f), "agent.version"), Status::Warn);
}

#[test]
fn the_agent_is_judged_for_the_session_document_in_use() {
    let mut f = private_with_endpoints();
    agent_mut(&mut f).agent_version = Some("2.3.700.0".into());
    assert_eq!(status(&run(&f), "agent.version"), Status::Pass, "a shell");
    use_document(&mut f, "AWS-StartSSHSession");
    let report = run(&f);
    assert_eq!(fails(&report), set(&["agent.version"]));
    let m = message(&report, "agent.version");
    assert!(
        m.contains("3.0.222.0") && m.contains("AWS-StartSSHSession"),
        "{m}"
    );
    assert_eq!(report.target.document, "AWS-StartSSHSession");

    agent_mut(&mut f).agent_version = Some("3.0.222.0".into());
    use_document(&mut f, "AWS-StartPortForwardingSession");
    assert_eq!(status(&run(&f), "agent.version"), Status::Pass);
    f.target.document =
        "arn:aws:ssm:eu-west-1:111122223333:document/AWS-StartPortForwardingSessionToRemoteHost"
            .into();
    let report = run(&f);
    assert_eq!(status(&report, "agent.version"), Status::Fail);
    assert!(message(&report, "agent.version").contains("3.1.1188.0"));
}

// ---- network.route -----------------------------------------------------------------------------

#[test]
fn igw_route_without_public_ip_is_no_path() {
    let mut f = public_with_igw();
    instance_mut(&mut f).public_ip = None;
    let report = run(&f);
    assert_eq!(fails(&report), set(&["network.route"]));
    assert!(message(&report, "network.route").contains("no public IP"));
    assert_eq!(status(&report, "vpce.present"), Status::Skip);
}

#[test]
fn explicit_route_table_wins_over_the_main_table() {
    // Main table has the IGW route, but the subnet's own table has no default route.
    let mut f = public_with_igw();
    tables_mut(&mut f).push(RouteTable {
        id: "rtb-isolated".into(),
        main: false,
        subnet_ids: vec!["subnet-a".into()],
        routes: vec![],
    });
    let report = run(&f);
    assert_eq!(fails(&report), set(&["network.route"]));
    assert!(message(&report, "network.route").contains("rtb-isolated"));
    // And the reverse: the main table is empty, the explicit one reaches a NAT gateway.
    let nat = private_with_nat();
    assert_eq!(status(&run(&nat), "network.route"), Status::Pass);
    assert!(message(&run(&nat), "network.route").contains("nat-1"));
}

#[test]
fn unavailable_nat_gateway_is_no_path() {
    let mut f = private_with_nat();
    collected_mut(&mut f.aws_mut().network_mut().nat_gateways)[0].state = "failed".into();
    let report = run(&f);
    assert_eq!(fails(&report), set(&["network.route"]));
    assert!(message(&report, "network.route").contains("failed"));
}

#[test]
fn blackhole_default_route_is_no_path() {
    let mut f = private_with_nat();
    tables_mut(&mut f)[1].routes[0].state = "blackhole".into();
    assert_eq!(fails(&run(&f)), set(&["network.route"]));
}

#[test]
fn transit_gateway_route_is_a_warning() {
    let mut f = private_with_nat();
    tables_mut(&mut f)[1].routes[0].target = "tgw-1".into();
    let report = run(&f);
    assert!(fails(&report).is_empty(), "{:?}", fails(&report));
    assert_eq!(status(&report, "network.route"), Status::Warn);
    assert!(message(&report, "network.route").contains("tgw-1"));
}

// ---- vpce.present ------------------------------------------------------------------------------

#[test]
fn missing_ssmmessages_endpoint_fails_present_only() {
    let mut f = private_with_endpoints();
    endpoints_mut(&mut f).retain(|e| !e.service_name.ends_with("ssmmessages"));
    let report = run(&f);
    assert_eq!(fails(&report), set(&["vpce.present"]));
    assert_eq!(status(&report, "network.route"), Status::Warn);
    assert!(message(&report, "vpce.present").contains("ssmmessages"));
    let fix = finding(&report, "vpce.present")
        .remediation
        .as_ref()
        .unwrap();
    assert!(
        fix.cli.as_ref().unwrap().contains("ssmmessages"),
        "missing_services filled: {:?}",
        fix.cli
    );
}

#[test]
fn missing_ec2messages_endpoint_depends_on_the_agent() {
    let mut f = private_with_endpoints();
    endpoints_mut(&mut f).retain(|e| !e.service_name.ends_with("ec2messages"));
    assert_eq!(status(&run(&f), "vpce.present"), Status::Warn);
    assert_eq!(status(&run(&f), "network.route"), Status::Pass);
    agent_mut(&mut f).agent_version = Some("3.2.0.0".into());
    assert_eq!(fails(&run(&f)), set(&["vpce.present"]));
}

#[test]
fn pending_endpoint_is_not_present() {
    let mut f = private_with_endpoints();
    endpoints_mut(&mut f)[0].state = "pending".into();
    let report = run(&f);
    assert_eq!(fails(&report), set(&["vpce.present"]));
    assert!(message(&report, "vpce.present").contains("pending"));
}

#[test]
fn no_path_at_all_fails_route_only() {
    let mut f = private_with_endpoints();
    f.aws_mut().network_mut().vpc_endpoints = Fetch::collected(vec![]);
    let report = run(&f);
    assert_eq!(fails(&report), set(&["network.route"]));
    assert_eq!(status(&report, "vpce.present"), Status::Skip);
}

// ---- vpce.private-dns --------------------------------------------------------------------------

#[test]
fn private_dns_off_fails_without_internet_and_warns_with_it() {
    let mut f = private_with_endpoints();
    endpoints_mut(&mut f)[0].private_dns_enabled = false;
    let report = run(&f);
    assert_eq!(fails(&report), set(&["vpce.private-dns"]));
    assert!(message(&report, "vpce.private-dns").contains("vpce-ssm"));
    let fix = finding(&report, "vpce.private-dns")
        .remediation
        .as_ref()
        .unwrap();
    assert!(fix.cli.as_ref().unwrap().contains("vpce-ssm"));

    let mut nat = private_with_nat();
    *collected_mut(&mut nat.aws_mut().network_mut().vpc_endpoints) = vec![VpcEndpoint {
        private_dns_enabled: false,
        ..endpoint("ssm")
    }];
    let report = run(&nat);
    assert!(fails(&report).is_empty(), "{:?}", fails(&report));
    assert_eq!(status(&report, "vpce.private-dns"), Status::Warn);
}

// ---- vpce.ingress-443 --------------------------------------------------------------------------

#[test]
fn endpoint_group_must_admit_the_instance() {
    let mut f = private_with_endpoints();
    group_mut(&mut f, "sg-vpce").ingress = vec![SgRule {
        cidrs: vec!["10.9.0.0/16".into()],
        ..sg_rule("tcp", Some((443, 443)))
    }];
    let report = run(&f);
    assert_eq!(fails(&report), set(&["vpce.ingress-443"]));
    assert!(message(&report, "vpce.ingress-443").contains("sg-vpce"));

    // From the instance's security group, by reference.
    group_mut(&mut f, "sg-vpce").ingress = vec![SgRule {
        group_ids: vec!["sg-inst".into()],
        ..sg_rule("tcp", Some((443, 443)))
    }];
    assert_eq!(status(&run(&f), "vpce.ingress-443"), Status::Pass);
    // From a prefix list holding the instance's address.
    group_mut(&mut f, "sg-vpce").ingress = vec![SgRule {
        prefix_list_ids: vec!["pl-1".into()],
        ..sg_rule("tcp", Some((443, 443)))
    }];
    f.aws_mut()
        .network_mut()
        .prefix_lists
        .insert("pl-1".into(), Fetch::collected(vec!["10.0.1.0/24".into()]));
    assert_eq!(status(&run(&f), "vpce.ingress-443"), Status::Pass);
    // Port 80 only does not count.
    group_mut(&mut f, "sg-vpce").ingress = vec![SgRule {
        cidrs: vec!["0.0.0.0/0".into()],
        ..sg_rule("tcp", Some((80, 80)))
    }];
    assert_eq!(status(&run(&f), "vpce.ingress-443"), Status::Fail);
}

// ---- vpce.policy -------------------------------------------------------------------------------

#[test]
fn endpoint_policy_must_allow_the_role() {
    let mut f = private_with_endpoints();
    let ssmmessages = endpoints_mut(&mut f)
        .iter_mut()
        .find(|e| e.id == "vpce-ssmmessages")
        .unwrap();
    ssmmessages.policy = Some(
        json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "ssm:*", "Resource": "*"}]}),
    );
    let report = run(&f);
    assert_eq!(fails(&report), set(&["vpce.policy"]));
    assert!(message(&report, "vpce.policy").contains("vpce-ssmmessages"));

    let ssmmessages = endpoints_mut(&mut f)
        .iter_mut()
        .find(|e| e.id == "vpce-ssmmessages")
        .unwrap();
    ssmmessages.policy = Some(
        json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "*", "Resource": "*"}]}),
    );
    assert_eq!(status(&run(&f), "vpce.policy"), Status::Pass);
}

// ---- vpc.* -------------------------------------------------------------------------------------

#[test]
fn vpc_dns_attributes_must_be_on_when_endpoints_carry_traffic() {
    let mut f = private_with_endpoints();
    f.aws_mut().network_mut().dns_support = Fetch::collected(false);
    assert_eq!(fails(&run(&f)), set(&["vpc.dns-support"]));
    let mut f = private_with_endpoints();
    f.aws_mut().network_mut().dns_hostnames = Fetch::collected(false);
    assert_eq!(fails(&run(&f)), set(&["vpc.dns-hostnames"]));
    f.aws_mut().network_mut().dns_hostnames = Fetch::Denied {
        action: "ec2:DescribeVpcAttribute".into(),
        message: "no".into(),
    };
    let report = run(&f);
    assert_eq!(status(&report, "vpc.dns-hostnames"), Status::Error);
    assert!(message(&report, "vpc.dns-hostnames").contains("ec2:DescribeVpcAttribute"));
}

// ---- network.egress-443 ------------------------------------------------------------------------

#[test]
fn egress_only_to_the_endpoint_group_passes() {
    let mut f = private_with_endpoints();
    group_mut(&mut f, "sg-inst").egress = vec![SgRule {
        group_ids: vec!["sg-vpce".into()],
        ..sg_rule("tcp", Some((443, 443)))
    }];
    assert_eq!(status(&run(&f), "network.egress-443"), Status::Pass);
    // To the endpoint subnet's CIDR also works; to another subnet does not.
    group_mut(&mut f, "sg-inst").egress = vec![SgRule {
        cidrs: vec!["10.0.2.0/24".into()],
        ..sg_rule("tcp", Some((443, 443)))
    }];
    assert_eq!(status(&run(&f), "network.egress-443"), Status::Pass);
    group_mut(&mut f, "sg-inst").egress = vec![SgRule {
        cidrs: vec!["10.0.3.0/24".into()],
        ..sg_rule("tcp", Some((443, 443)))
    }];
    assert_eq!(fails(&run(&f)), set(&["network.egress-443"]));
}

#[test]
fn egress_without_443_fails_on_the_internet_path() {
    let mut f = private_with_nat();
    group_mut(&mut f, "sg-inst").egress = vec![SgRule {
        cidrs: vec!["0.0.0.0/0".into()],
        ..sg_rule("tcp", Some((80, 80)))
    }];
    let report = run(&f);
    assert_eq!(fails(&report), set(&["network.egress-443"]));
    assert!(message(&report, "network.egress-443").contains("sg-inst"));
}

#[test]
fn egress_through_prefix_lists() {
    let mut f = private_with_endpoints();
    group_mut(&mut f, "sg-inst").egress = vec![SgRule {
        prefix_list_ids: vec!["pl-vpce".into()],
        ..sg_rule("tcp", Some((443, 443)))
    }];
    f.aws_mut().network_mut().prefix_lists.insert(
        "pl-vpce".into(),
        Fetch::collected(vec!["10.0.0.0/16".into()]),
    );
    assert_eq!(status(&run(&f), "network.egress-443"), Status::Pass);
    f.aws_mut().network_mut().prefix_lists.insert(
        "pl-vpce".into(),
        Fetch::Denied {
            action: "ec2:GetManagedPrefixListEntries".into(),
            message: "no".into(),
        },
    );
    let report = run(&f);
    assert_eq!(status(&report, "network.egress-443"), Status::Error);
    assert!(message(&report, "network.egress-443").contains("ec2:GetManagedPrefixListEntries"));
    let fix = finding(&report, "network.egress-443")
        .remediation
        .as_ref()
        .unwrap();
    assert!(
        fix.text
            .starts_with("Allow ec2:GetManagedPrefixListEntries "),
        "{}",
        fix.text
    );
}

// ---- network.nacl ------------------------------------------------------------------------------

#[test]
fn nacl_deny_before_allow_fails_naming_the_rule() {
    let mut f = private_with_nat();
    acls_mut(&mut f)[0]
        .entries
        .push(nacl_entry(50, true, "deny", "0.0.0.0/0", Some((443, 443))));
    let report = run(&f);
    assert_eq!(fails(&report), set(&["network.nacl"]));
    let m = message(&report, "network.nacl");
    assert!(m.contains("acl-default") && m.contains("rule 50"), "{m}");
}

#[test]
fn nacl_allow_before_a_later_deny_passes() {
    let mut f = private_with_nat();
    acls_mut(&mut f)[0]
        .entries
        .push(nacl_entry(200, true, "deny", "0.0.0.0/0", Some((443, 443))));
    assert_eq!(status(&run(&f), "network.nacl"), Status::Pass);
}

#[test]
fn nacl_without_return_rule_hits_the_implicit_deny() {
    let mut f = private_with_nat();
    acls_mut(&mut f)[0].entries = vec![nacl_entry(
        100,
        true,
        "allow",
        "0.0.0.0/0",
        Some((443, 443)),
    )];
    let report = run(&f);
    assert_eq!(fails(&report), set(&["network.nacl"]));
    assert!(
        message(&report, "network.nacl").contains("implicit deny"),
        "{}",
        message(&report, "network.nacl")
    );
    // Return traffic on 32768-65535 only: a warning, not a failure.
    acls_mut(&mut f)[0].entries.push(nacl_entry(
        100,
        false,
        "allow",
        "0.0.0.0/0",
        Some((32768, 65535)),
    ));
    assert_eq!(status(&run(&f), "network.nacl"), Status::Warn);
}

#[test]
fn endpoint_subnet_acl_must_admit_https_from_the_instance() {
    let mut f = private_with_endpoints();
    let mut theirs = open_acl("acl-endpoints", false, &["subnet-b"]);
    theirs.entries.push(nacl_entry(
        10,
        false,
        "deny",
        "10.0.1.0/24",
        Some((443, 443)),
    ));
    acls_mut(&mut f)[0].subnet_ids.retain(|s| s != "subnet-b");
    acls_mut(&mut f).push(theirs);
    let report = run(&f);
    assert_eq!(fails(&report), set(&["network.nacl"]));
    let m = message(&report, "network.nacl");
    assert!(m.contains("acl-endpoints") && m.contains("rule 10"), "{m}");
}

// ---- compound ----------------------------------------------------------------------------------

#[test]
fn two_faults_are_both_named() {
    let mut f = private_with_endpoints();
    endpoints_mut(&mut f).retain(|e| !e.service_name.ends_with("ssmmessages"));
    group_mut(&mut f, "sg-vpce").ingress.clear();
    let report = run(&f);
    assert_eq!(fails(&report), set(&["vpce.present", "vpce.ingress-443"]));
    assert_eq!(report.verdict.exit(), crate::exit::Exit::Failed);
}

// ---- fixtures/: the bundled example snapshots are these builders, serialised ------------------

/// Each bundled snapshot and how it is made. `tests/cli.rs` holds what the binary must say of each.
fn fixtures() -> Vec<(&'static str, Facts)> {
    let mut missing_ssmmessages = private_with_endpoints();
    endpoints_mut(&mut missing_ssmmessages).retain(|e| !e.service_name.ends_with("ssmmessages"));

    let mut no_profile = public_with_igw();
    instance_mut(&mut no_profile).instance_profile_arn = None;
    no_profile.aws_mut().iam = Arc::new(IamFacts::unknown("no instance profile is attached"));
    no_profile.aws_mut().agent = Fetch::collected(None);

    let mut deny_policy = private_with_nat();
    deny_policy.aws_mut().iam_mut().inline_policies = Fetch::collected(vec![policy(
        "guardrail",
        None,
        json!({"Version": "2012-10-17", "Statement": [{"Sid": "NoInteractiveSessions",
            "Effect": "Deny", "Action": "ssmmessages:*", "Resource": "*"}]}),
    )]);

    let mut nacl_blocks = private_with_nat();
    acls_mut(&mut nacl_blocks)[0].entries.push(nacl_entry(
        90,
        true,
        "deny",
        "0.0.0.0/0",
        Some((443, 443)),
    ));
    lose_connection(&mut nacl_blocks);

    let mut endpoint_sg = private_with_endpoints();
    group_mut(&mut endpoint_sg, "sg-vpce").ingress = vec![SgRule {
        cidrs: vec!["10.0.2.0/24".into()],
        ..sg_rule("tcp", Some((443, 443)))
    }];
    lose_connection(&mut endpoint_sg);

    vec![
        ("healthy-private-endpoints", private_with_endpoints()),
        ("healthy-public-igw", public_with_igw()),
        ("healthy-private-nat", private_with_nat()),
        ("broken-missing-ssmmessages-endpoint", missing_ssmmessages),
        ("broken-no-instance-profile", no_profile),
        ("broken-deny-ssmmessages", deny_policy),
        ("broken-nacl-blocks-443", nacl_blocks),
        ("broken-endpoint-sg-blocks-443", endpoint_sg),
        (
            "param-typo",
            param::asking_for(
                "/app/prod/db-ulr",
                &["/app/prod/db-url", "/app/prod/db-user"],
            ),
        ),
        ("patch-window-misses-tag", {
            let mut f = patch::patched();
            patch::targets_db(&mut f);
            f
        }),
    ]
}

/// Fails when a fixture file drifts from its builder; `SSM_DOCTOR_BLESS=1 cargo test` rewrites them.
#[test]
fn bundled_fixtures_match_their_builders() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let bless = std::env::var_os("SSM_DOCTOR_BLESS").is_some();
    let mut expected_files = BTreeSet::new();
    for (name, facts) in fixtures() {
        let path = dir.join(format!("{name}.json"));
        let json = serde_json::to_string_pretty(&facts).unwrap() + "\n";
        if bless {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &json).unwrap();
        }
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            on_disk == json,
            "{} differs from its builder; SSM_DOCTOR_BLESS=1 cargo test rewrites it",
            path.display()
        );
        expected_files.insert(format!("{name}.json"));
    }
    let present: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    assert_eq!(
        present, expected_files,
        "fixtures/ holds a snapshot no builder makes"
    );
}

// ---- the network path as data ------------------------------------------------------------------

#[test]
fn the_path_is_plain_serialisable_data() {
    let facts = private_with_endpoints();
    let path =
        crate::analysis::path::analyse(facts.aws.as_ref().unwrap(), &facts.target.region, None)
            .unwrap();
    let drawn = serde_json::to_value(&path).unwrap();
    assert_eq!(drawn["route_table"]["id"], "rtb-main");
    assert_eq!(drawn["internet"]["kind"], "none");
    let services: Vec<&str> = drawn["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["service"].as_str().unwrap())
        .collect();
    assert_eq!(services, ["ssm", "ssmmessages", "ec2messages"]);
    let mut gone = facts.clone();
    gone.aws_mut().network_mut().route_tables = Fetch::Denied {
        action: "ec2:DescribeRouteTables".into(),
        message: "no".into(),
    };
    let gap = crate::analysis::path::analyse(gone.aws.as_ref().unwrap(), &gone.target.region, None)
        .unwrap_err();
    assert!(matches!(
        gap,
        crate::analysis::path::Gap::Unknown(Fetch::Denied { .. })
    ));
}

// ---- vantage points ----------------------------------------------------------------------------

#[test]
fn checks_of_an_unobserved_vantage_point_are_one_line_not_a_row_of_skips() {
    use crate::catalog::tests::{catalog_of, page_from};
    use crate::facts::Vantage;
    let catalog = catalog_of(&[
        page_from("a.api", "a", "aws", &[]),
        page_from("a.inside", "a", "instance", &[]),
        page_from("b.needs-inside", "b", "aws", &["a.inside"]),
        page_from("b.caller", "b", "operator", &[]),
    ])
    .unwrap();
    let judged = |_: &str| -> fn(&super::Context) -> super::CheckResult {
        |_| Ok(super::Outcome::fail("judged"))
    };
    let mut facts = private_with_endpoints();
    let report = super::run_catalog(
        &catalog,
        judged,
        (&facts, &Default::default()),
        Stats::default(),
    );
    let ran: Vec<&str> = report.checks.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ran, ["a.api", "b.caller"]);
    assert_eq!(report.summary.skip, 0);
    let [group] = report.not_observed.as_slice() else {
        panic!("one group: {:?}", report.not_observed);
    };
    assert_eq!(group.vantage, Vantage::Instance);
    assert_eq!(group.checks, ["a.inside", "b.needs-inside"]);
    let line = group.sentence();
    assert!(
        line.contains("run `ssm-doctor local` on the instance"),
        "{line}"
    );
    assert!(crate::render::human::render(&report, false).contains("ssm-doctor local"));
    assert!(crate::render::markdown::render(&report).contains(&format!("_{line}_")));
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["not_observed"][0]["vantage"], "instance");

    let nothing = Facts {
        aws: None,
        operator: None,
        ..facts.clone()
    };
    let report = super::run(&nothing, Stats::default());
    assert!(report.checks.is_empty());
    assert_eq!(
        report.verdict,
        Verdict::Incomplete,
        "nothing judged is not a pass"
    );
    assert_eq!(report.verdict.exit(), crate::exit::Exit::Incomplete);
    assert!(
        report.headline().contains("no check was run"),
        "{}",
        report.headline()
    );

    facts.instance = local::healthy_local().instance;
    facts.operator = None;
    let report = super::run_catalog(
        &catalog,
        judged,
        (&facts, &Default::default()),
        Stats::default(),
    );
    let ran: Vec<&str> = report.checks.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ran, ["a.api", "a.inside", "b.needs-inside"]);
    assert_eq!(report.not_observed[0].vantage, Vantage::Operator);
    assert_eq!(report.not_observed[0].checks, ["b.caller"]);
}

#[test]
fn today_s_checks_all_run_on_facts_gathered_through_aws() {
    let report = run(&private_with_endpoints());
    // Only what a shell on the instance sees is left to `ssm-doctor local`.
    let unobserved: Vec<Vantage> = report.not_observed.iter().map(|n| n.vantage).collect();
    assert_eq!(unobserved, [Vantage::Instance]);
    let local = report.not_observed[0].checks.len();
    let sessions = Catalog::get()
        .pages()
        .filter(|p| p.command == Command::Session);
    assert_eq!(report.checks.len() + local, sessions.count());

    let mut everywhere = private_with_endpoints();
    everywhere.instance = local::healthy_local().instance;
    let report = run(&everywhere);
    assert!(report.not_observed.is_empty(), "{:?}", report.not_observed);
    let json = serde_json::to_value(&report).unwrap();
    assert!(json.get("not_observed").is_none(), "left out when empty");
}
mod cases;
mod central;
mod console;
mod egress;
mod forward;
mod ipv6;
mod local;
mod param;
mod patch;
mod preferences;
mod simulation;

// ---- operator.* --------------------------------------------------------------------------------

fn operator_policies(f: &mut Facts, statements: serde_json::Value) {
    let document = json!({"Version": "2012-10-17", "Statement": statements});
    operator_mut(f).inline_policies = Fetch::collected(vec![policy("mine", None, document)]);
}

#[test]
fn the_operator_is_named_and_an_sso_role_recognised() {
    let report = run(&private_with_endpoints());
    let m = message(&report, "operator.identity");
    assert!(
        m.contains("IAM user oncall") && m.contains("1 policy"),
        "{m}"
    );

    let mut f = private_with_endpoints();
    let arn = format!(
        "arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Ops_0123"
    );
    let op = f.operator_mut().unwrap();
    collected_mut(&mut op.caller).arn =
        format!("arn:aws:sts::{ACCOUNT}:assumed-role/AWSReservedSSO_Ops_0123/alice");
    let identity = operator_mut(&mut f);
    identity.kind = IdentityKind::Role;
    identity.name = "AWSReservedSSO_Ops_0123".into();
    identity.entity = Fetch::collected(Entity {
        arn,
        permissions_boundary_arn: None,
        run_as: None,
    });
    identity.group_policies = Fetch::not_applicable("a role belongs to no group");
    identity.inline_policies = Fetch::collected(vec![policy(
        "AwsSSOInlinePolicy",
        None,
        json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "ssm:StartSession", "Resource": "*"},
            {"Effect": "Allow", "Action": ["ssm:TerminateSession", "ssm:ResumeSession"],
             "Resource": "arn:aws:ssm:*:*:session/alice-*"}]}),
    )]);
    let report = run(&f);
    assert!(message(&report, "operator.identity").contains("IAM Identity Center"));
    assert_eq!(
        status(&report, "operator.permission"),
        Status::Pass,
        "{}",
        message(&report, "operator.permission")
    );
    let fix = finding(
        &run(&{
            let mut g = f.clone();
            operator_mut(&mut g).inline_policies = Fetch::collected(vec![]);
            g
        }),
        "operator.permission",
    )
    .remediation
    .clone()
    .unwrap();
    assert!(
        fix.cli
            .unwrap()
            .contains("put-role-policy --role-name AWSReservedSSO_Ops_0123")
    );
}

#[test]
fn unreadable_operator_policies_are_an_error_naming_the_call() {
    let mut f = private_with_endpoints();
    operator_mut(&mut f).group_policies = Fetch::Denied {
        action: "iam:ListGroupsForUser".into(),
        message: "no".into(),
    };
    let report = run(&f);
    assert_eq!(status(&report, "operator.identity"), Status::Error);
    assert!(message(&report, "operator.identity").contains("iam:ListGroupsForUser"));
    assert_eq!(status(&report, "operator.permission"), Status::Error);
    assert_eq!(report.verdict, Verdict::Incomplete);
}

#[test]
fn a_tag_condition_is_judged_against_the_instance_s_tags() {
    let mut f = private_with_endpoints();
    operator_policies(
        &mut f,
        json!([
        {"Effect": "Allow", "Action": "ssm:StartSession", "Resource": "arn:aws:ec2:*:*:instance/*",
         "Condition": {"StringEquals": {"ssm:resourceTag/team": "payments"}}},
        {"Effect": "Allow", "Action": ["ssm:TerminateSession", "ssm:ResumeSession"],
         "Resource": "arn:aws:ssm:*:*:session/${aws:username}-*"}]),
    );
    let report = run(&f);
    assert_eq!(status(&report, "operator.permission"), Status::Fail);
    assert!(message(&report, "operator.permission").contains(
        "ssm:StartSession on arn:aws:ec2:eu-west-1:111122223333:instance/i-0123456789abcdef0"
    ));
    instance_mut(&mut f)
        .tags
        .as_mut()
        .unwrap()
        .insert("team".into(), "payments".into());
    assert_eq!(status(&run(&f), "operator.permission"), Status::Pass);
    // The same condition on the document too: the document has no such tag.
    operator_policies(
        &mut f,
        json!([
        {"Effect": "Allow", "Action": "ssm:StartSession", "Resource": "*",
         "Condition": {"StringEquals": {"ssm:resourceTag/team": "payments"}}},
        {"Effect": "Allow", "Action": ["ssm:TerminateSession", "ssm:ResumeSession"],
         "Resource": "arn:aws:ssm:*:*:session/${aws:username}-*"}]),
    );
    assert_eq!(
        status(&run(&f), "operator.permission"),
        Status::Pass,
        "no document named"
    );
    use_document(&mut f, "AWS-StartSSHSession");
    let report = run(&f);
    assert_eq!(status(&report, "operator.permission"), Status::Fail);
    assert!(
        message(&report, "operator.permission")
            .contains("arn:aws:ssm:eu-west-1::document/AWS-StartSSHSession")
    );
}

#[test]
fn the_document_is_checked_when_named_or_when_the_policy_asks() {
    let mut f = private_with_endpoints();
    use_document(&mut f, "AWS-StartPortForwardingSession");
    let report = run(&f);
    assert_eq!(
        status(&report, "operator.permission"),
        Status::Fail,
        "the fixture allows SSH only"
    );
    let fix = finding(&report, "operator.permission")
        .remediation
        .clone()
        .unwrap();
    assert!(
        fix.text
            .contains("arn:aws:ssm:eu-west-1::document/AWS-StartPortForwardingSession")
    );
    assert!(
        fix.cli
            .unwrap()
            .contains("put-user-policy --user-name oncall")
    );

    // AWS's quickstart policy: the document check asked for, the default document allowed.
    let quickstart = |document_resource: &str| {
        json!([
            {"Effect": "Allow", "Action": "ssm:StartSession",
             "Resource": ["arn:aws:ec2:*:*:instance/*", document_resource],
             "Condition": {"BoolIfExists": {"ssm:SessionDocumentAccessCheck": "true"}}},
            {"Effect": "Allow", "Action": ["ssm:TerminateSession", "ssm:ResumeSession"],
             "Resource": "arn:aws:ssm:*:*:session/${aws:username}-*"}])
    };
    let mut f = private_with_endpoints();
    let default = "arn:aws:ssm:eu-west-1:111122223333:document/SSM-SessionManagerRunShell";
    operator_policies(&mut f, quickstart(default));
    let report = run(&f);
    let m = message(&report, "operator.permission");
    assert_eq!(status(&report, "operator.permission"), Status::Pass, "{m}");
    // The same policy without the default document: the check it asks for is refused.
    operator_policies(
        &mut f,
        quickstart("arn:aws:ssm:eu-west-1:111122223333:document/Other"),
    );
    let report = run(&f);
    let m = message(&report, "operator.permission");
    assert_eq!(status(&report, "operator.permission"), Status::Warn, "{m}");
    assert!(m.contains("document/SSM-SessionManagerRunShell"), "{m}");
}

#[test]
fn the_partition_is_the_caller_s() {
    let mut f = private_with_endpoints();
    f.target.region = "cn-north-1".into();
    let op = f.operator_mut().unwrap();
    collected_mut(&mut op.caller).arn = format!("arn:aws-cn:iam::{ACCOUNT}:user/oncall");
    operator_policies(
        &mut f,
        json!([
        {"Effect": "Allow", "Action": "ssm:StartSession", "Resource": "arn:aws-cn:ec2:*:*:instance/*"},
        {"Effect": "Allow", "Action": ["ssm:TerminateSession", "ssm:ResumeSession"],
         "Resource": "arn:aws-cn:ssm:*:*:session/${aws:username}-*"}]),
    );
    let report = run(&f);
    let m = message(&report, "operator.permission");
    assert_eq!(status(&report, "operator.permission"), Status::Pass, "{m}");
}

#[test]
fn sessions_that_cannot_be_ended_are_a_warning_and_a_boundary_counts() {
    let mut f = private_with_endpoints();
    operator_policies(
        &mut f,
        json!([
        {"Effect": "Allow", "Action": "ssm:StartSession", "Resource": "*"}]),
    );
    let report = run(&f);
    assert_eq!(status(&report, "operator.permission"), Status::Warn);
    assert!(message(&report, "operator.permission").contains("ssm:TerminateSession"));

    let mut f = private_with_endpoints();
    let arn = format!("arn:aws:iam::{ACCOUNT}:policy/no-sessions");
    collected_mut(&mut operator_mut(&mut f).entity).permissions_boundary_arn = Some(arn.clone());
    operator_mut(&mut f).permissions_boundary = Fetch::collected(policy(
        "no-sessions",
        Some(&arn),
        json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}]}),
    ));
    let report = run(&f);
    assert_eq!(status(&report, "operator.permission"), Status::Fail);
    assert!(message(&report, "operator.identity").contains("within the boundary"));
}

#[test]
fn without_the_operator_side_its_checks_are_one_line() {
    let mut f = private_with_endpoints();
    f.operator = None;
    let report = run(&f);
    assert!(report.checks.iter().all(|c| !c.id.starts_with("operator.")));
    let [group, _inside] = report.not_observed.as_slice() else {
        panic!("{:?}", report.not_observed);
    };
    assert_eq!(
        group.checks,
        [
            "operator.identity",
            "operator.network",
            "operator.permission",
            "operator.plugin"
        ]
    );
    assert_eq!(report.verdict, Verdict::Pass);
}

#[test]
fn the_plugin_is_judged_by_its_version_and_the_fix_fits_the_machine() {
    let mut f = private_with_endpoints();
    machine_mut(&mut f).plugin = None;
    let report = run(&f);
    assert!(message(&report, "operator.plugin").contains("SessionManagerPlugin is not found"));
    let fix = finding(&report, "operator.plugin")
        .remediation
        .clone()
        .unwrap();
    assert!(
        fix.cli.unwrap().contains("ubuntu_64bit"),
        "the linux-x86_64 commands"
    );
    assert!(fix.text.contains("linux-x86_64"));
    machine_mut(&mut f).os = "plan9".into();
    let fix = finding(&run(&f), "operator.plugin")
        .remediation
        .clone()
        .unwrap();
    assert!(
        fix.cli.unwrap().contains("plan9"),
        "no command for it: the general pointer"
    );

    let judged = |version: Fetch<String>, cli: bool| {
        let mut f = private_with_endpoints();
        let machine = machine_mut(&mut f);
        machine.plugin.as_mut().unwrap().version = version;
        if !cli {
            machine.aws_cli = None;
        }
        let report = run(&f);
        (
            status(&report, "operator.plugin"),
            message(&report, "operator.plugin").to_string(),
        )
    };
    let (s, m) = judged(Fetch::collected("1.2.700.0".into()), true);
    assert_eq!(s, Status::Fail, "{m}");
    assert!(m.contains("1.2.764.0"));
    let (s, m) = judged(Fetch::collected("1.2.889.0".into()), true);
    assert_eq!((s, m.contains("withdrew")), (Status::Fail, true), "{m}");
    let (s, m) = judged(Fetch::collected("1.3.0.0".into()), false);
    assert_eq!((s, m.contains("AWS CLI")), (Status::Warn, true), "{m}");
    let (s, _) = judged(Fetch::collected("dev-build".into()), true);
    assert_eq!(s, Status::Warn);
    let hung = Fetch::Failed {
        action: "/usr/local/bin/session-manager-plugin --version".into(),
        reason: "no answer within 5000 ms".into(),
    };
    let (s, m) = judged(hung, true);
    assert_eq!((s, m.contains("no answer")), (Status::Error, true), "{m}");
    let mut f = private_with_endpoints();
    let plugin = machine_mut(&mut f).plugin.as_mut().unwrap();
    plugin.version = Fetch::not_applicable("it crashed");
    plugin.crashed = Some("signal: 11 (SIGSEGV)".into());
    let report = run(&f);
    assert_eq!(status(&report, "operator.plugin"), Status::Fail);
    assert!(message(&report, "operator.plugin").contains("SIGSEGV"));

    let mut f = private_with_endpoints();
    f.operator_mut().unwrap().machine = Fetch::not_applicable("the machine was not probed");
    assert_eq!(status(&run(&f), "operator.plugin"), Status::Skip);
}
