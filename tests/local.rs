//! `ssm-doctor local` as it runs on an instance, against loopback fakes of everything it talks to:
//! IMDS, the VPC's DNS server, the endpoints (TLS with test certificates), a CONNECT proxy, and a
//! fake `systemctl` on a temporary `PATH`; the agent's files under a temporary `--root`.

mod common;
#[path = "common/fakes.rs"]
mod fakes;

use fakes::{Imds, Tls};
use serde_json::Value;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

const REGION: &str = "us-east-1";
const INSTANCE: &str = "i-0fa4e0000000000a1";
/// The fake VPC: the loopback addresses 127.0.0.0/30 stand for its interface endpoints.
const VPC_CIDR: &str = "127.0.0.0/30";
const IN_VPC: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
/// An address outside the VPC's CIDR, not in a private range: "public".
const OUTSIDE: Ipv4Addr = Ipv4Addr::new(127, 0, 1, 1);

fn host(service: &str) -> String {
    format!("{service}.{REGION}.amazonaws.com")
}

/// One instance, as the fakes make it.
struct Instance {
    imds: String,
    dns: SocketAddr,
    port: u16,
    root: TempDir,
    bin: TempDir,
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> TempDir {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "ssm-doctor-local-{}-{label}-{n}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn put(&self, relative: &str, text: &str) -> PathBuf {
        let file = self.0.join(relative);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, text).unwrap();
        file
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fake `systemctl` that reports the agent's unit `active`/`running` or `inactive`/`dead`.
fn systemctl(bin: &TempDir, running: bool) {
    let (active, sub) = if running {
        ("active", "running")
    } else {
        ("inactive", "dead")
    };
    let file = bin.put(
        "systemctl",
        &format!(
            "#!/bin/sh\ncase \"$2\" in\n  amazon-ssm-agent.service) printf 'LoadState=loaded\\nActiveState={active}\\nSubState={sub}\\n' ;;\n  *) printf 'LoadState=not-found\\nActiveState=inactive\\nSubState=dead\\n' ;;\nesac\n"
        ),
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o755)).unwrap();
}

impl Instance {
    /// Every endpoint resolves inside the VPC and presents a trusted certificate; the agent
    /// runs and its log holds no error.
    fn healthy() -> Instance {
        Instance::with(
            &[
                ("ssm", IN_VPC),
                ("ssmmessages", IN_VPC),
                ("ec2messages", IN_VPC),
            ],
            Tls::Presents("endpoints"),
        )
    }

    fn with(names: &[(&str, Ipv4Addr)], tls: Tls) -> Instance {
        let port = fakes::tls_endpoint(IN_VPC, 0, tls);
        let names: Vec<(String, Ipv4Addr)> = names.iter().map(|(s, a)| (host(s), *a)).collect();
        let names: Vec<(&str, Ipv4Addr)> = names.iter().map(|(h, a)| (h.as_str(), *a)).collect();
        let instance = Instance {
            imds: fakes::imds(Imds::V2, INSTANCE, REGION, VPC_CIDR, Some("app-role")),
            dns: fakes::dns(&names),
            port,
            root: TempDir::new("root"),
            bin: TempDir::new("bin"),
        };
        systemctl(&instance.bin, true);
        instance.root.put(
            "var/log/amazon/ssm/amazon-ssm-agent.log",
            "2026-11-28 09:00:00 INFO [amazon-ssm-agent] amazon-ssm-agent - v3.3.1142.0\n",
        );
        instance
    }

    fn run(&self) -> (Value, i32) {
        self.run_with(&[], &[])
    }

    /// `ssm-doctor local --output json` on this instance, with `env` on top of the fakes'.
    fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> (Value, i32) {
        let out = common::command()
            .env("PATH", &self.bin.0)
            .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", &self.imds)
            .env("SSM_DOCTOR_RESOLVER", self.dns.to_string())
            .env("SSM_DOCTOR_HTTPS_PORT", self.port.to_string())
            .env("SSL_CERT_FILE", fakes::tls_fixture("ca.pem"))
            .envs(env.iter().copied())
            .args(["local", "--output", "json", "--timeout", "1", "--root"])
            .arg(&self.root.0)
            .args(args)
            .output()
            .expect("run ssm-doctor local");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {stdout}\nstderr: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        assert!(
            !stdout.contains("PLANTED-IMDS"),
            "credentials must never be printed"
        );
        (report, out.status.code().unwrap_or(-1))
    }
}

fn check<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("{id} not in {report:#}"))
}

fn status<'a>(report: &'a Value, id: &str) -> &'a str {
    check(report, id)["status"].as_str().unwrap()
}

fn message<'a>(report: &'a Value, id: &str) -> &'a str {
    check(report, id)["message"].as_str().unwrap()
}

/// Every check `ssm-doctor local` runs: those the catalogue observes from the instance.
fn local_checks() -> Vec<&'static str> {
    let catalog = ssm_doctor::catalog::Catalog::get();
    catalog
        .pages()
        .filter(|p| p.vantage == ssm_doctor::facts::Vantage::Instance)
        .map(|p| p.id.as_str())
        .collect()
}

#[test]
fn a_healthy_instance_passes_and_the_report_names_it() {
    let instance = Instance::healthy();
    let (report, code) = instance.run();
    for id in local_checks() {
        assert_eq!(
            status(&report, id),
            "pass",
            "{id}: {}",
            message(&report, id)
        );
    }
    assert_eq!(code, 0);
    assert_eq!(report["target"]["instance_id"], INSTANCE);
    assert_eq!(report["target"]["region"], REGION);
    let metadata = message(&report, "local.metadata");
    assert!(
        metadata.contains("IMDSv2") && metadata.contains("app-role"),
        "{metadata}"
    );
    let dns = message(&report, "local.dns");
    assert!(
        dns.contains("inside the VPC") && dns.contains(&instance.dns.to_string()),
        "the answer names its server: {dns}"
    );
    let tls = message(&report, "local.tls");
    assert!(tls.contains("TLSv1.3 in"), "{tls}");
    // The AWS side was not observed: listed with how to see it, not judged.
    let unobserved = report["not_observed"].to_string();
    assert!(unobserved.contains("iam.profile"), "{unobserved}");
    // The main command's schema, target and all.
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(common::root().join("docs/output.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema is valid");
    let errors: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn imds_down_fails_metadata_and_region_comes_from_the_flag() {
    let instance = Instance::healthy();
    let (report, code) = instance.run_with(
        &["--region", REGION],
        &[("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9")],
    );
    assert_eq!(status(&report, "local.metadata"), "fail");
    assert!(message(&report, "local.metadata").contains("does not answer"));
    assert_eq!(
        status(&report, "local.tls"),
        "pass",
        "the endpoints are still probed"
    );
    assert_eq!(code, 1);

    let (report, _) = instance.run_with(
        &[],
        &[("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9")],
    );
    assert_eq!(status(&report, "local.dns"), "error");
    assert!(message(&report, "local.dns").contains("--region"));
}

#[test]
fn an_imdsv1_only_answer_is_noted() {
    let mut instance = Instance::healthy();
    instance.imds = fakes::imds(Imds::V1Only, INSTANCE, REGION, VPC_CIDR, Some("app-role"));
    let (report, _) = instance.run();
    assert_eq!(status(&report, "local.metadata"), "warn");
    assert!(message(&report, "local.metadata").contains("Only IMDSv1"));
}

#[test]
fn nxdomain_and_a_private_public_mix_are_found() {
    let instance = Instance::with(
        &[("ssm", IN_VPC), ("ec2messages", IN_VPC)],
        Tls::Presents("endpoints"),
    );
    let (report, code) = instance.run();
    assert_eq!(status(&report, "local.dns"), "fail");
    let text = message(&report, "local.dns");
    assert!(
        text.contains(&host("ssmmessages")) && text.contains("NXDOMAIN"),
        "{text}"
    );
    assert_eq!(code, 1);

    let instance = Instance::with(
        &[
            ("ssm", IN_VPC),
            ("ssmmessages", OUTSIDE),
            ("ec2messages", IN_VPC),
        ],
        Tls::Presents("endpoints"),
    );
    let (report, _) = instance.run();
    assert_eq!(status(&report, "local.dns"), "warn");
    let text = message(&report, "local.dns");
    assert!(text.contains("ssmmessages outside the VPC"), "{text}");
    // Nothing listens at the "public" address: the connection is refused.
    assert_eq!(status(&report, "local.tcp-443"), "fail");
    assert!(message(&report, "local.tcp-443").contains("refused"));
}

#[test]
fn a_closed_port_and_a_connection_that_times_out_fail_tcp() {
    let mut instance = Instance::healthy();
    instance.port = 9;
    let (report, _) = instance.run();
    assert_eq!(status(&report, "local.tcp-443"), "fail");
    let text = message(&report, "local.tcp-443");
    assert!(
        text.contains("refused") && text.contains("no proxy configured"),
        "{text}"
    );
    assert_eq!(
        status(&report, "local.tls"),
        "skip",
        "judged once connections open"
    );

    instance.port = fakes::black_hole();
    let (report, _) = instance.run();
    let text = message(&report, "local.tcp-443");
    assert!(text.contains("timed out after 1000 ms"), "{text}");
}

#[test]
fn tls_fails_on_a_wrong_name_an_untrusted_certificate_and_silence() {
    for (tls, expected) in [
        (Tls::Presents("wrong-name"), "not valid for ssm"),
        (Tls::Presents("untrusted"), "unknown authority"),
        (Tls::Silent, "handshake timed out"),
    ] {
        let names = [
            ("ssm", IN_VPC),
            ("ssmmessages", IN_VPC),
            ("ec2messages", IN_VPC),
        ];
        let instance = Instance::with(&names, tls);
        let (report, code) = instance.run();
        assert_eq!(status(&report, "local.tcp-443"), "pass");
        assert_eq!(status(&report, "local.tls"), "fail");
        let text = message(&report, "local.tls");
        assert!(text.contains(expected), "{expected}: {text}");
        assert_eq!(code, 1);
    }
}

/// The agent's proxy as AWS documents it: a drop-in setting both proxies, and `no_proxy` in a
/// later drop-in of its own (systemd applies them in order).
fn agent_proxy(root: &TempDir, proxy_port: u16, no_proxy: &str) {
    let url = format!("http://agent:s3cret@127.0.0.1:{proxy_port}");
    let unit = "etc/systemd/system/amazon-ssm-agent.service.d";
    root.put(
        &format!("{unit}/10-proxy.conf"),
        &format!("[Service]\nEnvironment=\"https_proxy={url}\" \"http_proxy={url}\"\n"),
    );
    root.put(
        &format!("{unit}/20-no-proxy.conf"),
        &format!("[Service]\nEnvironment=\"no_proxy={no_proxy}\"\n"),
    );
}

#[test]
fn the_agents_proxy_carries_its_connections_and_must_spare_imds() {
    // Direct connections are refused; through the agent's proxy they get through.
    let mut instance = Instance::healthy();
    let (proxy, asked) = fakes::connect_proxy(fakes::Proxy::Requires("agent:s3cret"));
    let listening = instance.port;
    agent_proxy(&instance.root, proxy, "169.254.169.254,localhost");
    let (report, _) = instance.run();
    assert_eq!(
        status(&report, "local.proxy"),
        "pass",
        "{}",
        message(&report, "local.proxy")
    );
    assert_eq!(
        status(&report, "local.tls"),
        "pass",
        "{}",
        message(&report, "local.tls")
    );
    let tcp = message(&report, "local.tcp-443");
    assert!(
        tcp.contains(&format!("through http://127.0.0.1:{proxy}")),
        "{tcp}"
    );
    assert!(
        !report.to_string().contains("s3cret"),
        "proxy credentials are never shown"
    );
    assert!(
        asked
            .lock()
            .unwrap()
            .contains(&format!("{}:{listening}", host("ssmmessages")))
    );

    // The same proxy without 169.254.169.254 in no_proxy.
    agent_proxy(&instance.root, proxy, "localhost");
    let (report, _) = instance.run();
    assert_eq!(status(&report, "local.proxy"), "fail");

    // A proxy that wants credentials the agent's settings do not carry.
    let url = format!("http://127.0.0.1:{proxy}");
    instance.root.put(
        "etc/systemd/system/amazon-ssm-agent.service.d/10-proxy.conf",
        &format!("[Service]\nEnvironment=https_proxy={url} http_proxy={url}\n"),
    );
    let (report, _) = instance.run();
    let tcp = message(&report, "local.tcp-443");
    assert!(tcp.contains("407 Proxy Authentication Required"), "{tcp}");

    // A proxy that refuses the tunnel.
    let (refusing, _) = fakes::connect_proxy(fakes::Proxy::Refuses);
    agent_proxy(&instance.root, refusing, "169.254.169.254");
    let (report, _) = instance.run();
    assert!(message(&report, "local.tcp-443").contains("refused CONNECT"));

    // Proxy required and missing: only the proxy could reach the endpoints.
    std::fs::remove_dir_all(instance.root.0.join("etc")).unwrap();
    instance.port = 9;
    let (report, _) = instance.run();
    assert_eq!(status(&report, "local.tcp-443"), "fail");
    assert!(message(&report, "local.tcp-443").contains("no proxy configured"));
}

#[test]
fn a_stopped_agent_fails_its_service_check() {
    let instance = Instance::healthy();
    systemctl(&instance.bin, false);
    let (report, code) = instance.run();
    assert_eq!(status(&report, "local.agent-service"), "fail");
    assert!(message(&report, "local.agent-service").contains("inactive (dead)"));
    assert_eq!(code, 1);
}

#[test]
fn known_log_lines_are_explained() {
    let instance = Instance::healthy();
    let log = [
        "2026-11-27 23:00:00 ERROR [amazon-ssm-agent] fingerprint mismatch, before a restart",
        "2026-11-28 09:00:00 INFO [amazon-ssm-agent] amazon-ssm-agent - v3.3.1142.0",
        "2026-11-28 09:00:01 WARN [ssm-agent-worker] a routine warning",
        "2026-11-28 09:00:05 ERROR [HealthCheck] error when calling AWS APIs. error details - AccessDeniedException: User: arn:aws:sts::111122223333:assumed-role/app-role/i-0fa4e is not authorized to perform: ssm:UpdateInstanceInformation",
        "2026-11-28 09:00:06 WARN [amazon-ssm-agent] backing off: retrying in 5 minutes",
    ]
    .join("\n");
    instance
        .root
        .put("var/log/amazon/ssm/amazon-ssm-agent.log", &log);
    let (report, _) = instance.run();
    assert_eq!(status(&report, "local.agent-log"), "fail");
    let finding = check(&report, "local.agent-log");
    let text = finding["message"].as_str().unwrap();
    assert!(text.contains("refused a call it needs"), "{text}");
    assert!(
        text.contains("since the agent started at 2026-11-28 09:00:00"),
        "{text}"
    );
    // What came before the agent last started, and routine warnings, are left out.
    let kept = finding["evidence"]["lines"].as_array().unwrap().len();
    assert_eq!(kept, 2, "{finding:#}");
    assert_eq!(
        finding["evidence"]["signatures"],
        serde_json::json!(["hibernating", "access-denied"])
    );
}

#[test]
fn the_human_report_reads_the_same() {
    let instance = Instance::healthy();
    let out = common::command()
        .env("PATH", &instance.bin.0)
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", &instance.imds)
        .env("SSM_DOCTOR_RESOLVER", instance.dns.to_string())
        .env("SSM_DOCTOR_HTTPS_PORT", instance.port.to_string())
        .env("SSL_CERT_FILE", fakes::tls_fixture("ca.pem"))
        .args(["local", "--color", "never", "--root"])
        .arg(&instance.root.0)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("On the instance (ssm-doctor local)"),
        "{text}"
    );
    assert!(text.contains(INSTANCE));
    // No AWS account is known here: the header names none.
    let header = text.lines().next().unwrap_or_default();
    assert_eq!(header, format!("ssm-doctor {INSTANCE} · {REGION}"));
    assert_eq!(out.status.code(), Some(0), "{text}");
}

#[test]
fn services_the_preferences_need_are_probed_on_request() {
    let instance = Instance::with(
        &[
            ("ssm", IN_VPC),
            ("ssmmessages", IN_VPC),
            ("ec2messages", IN_VPC),
            ("kms", IN_VPC),
        ],
        Tls::Presents("endpoints"),
    );
    let (report, code) = instance.run_with(&["--service", "kms"], &[]);
    assert_eq!(code, 0);
    assert!(message(&report, "local.tls").contains(&host("kms")));
    let (report, _) = instance.run_with(&["--service", "logs"], &[]);
    assert!(message(&report, "local.dns").contains(&format!("{}: no such name", host("logs"))));

    let refused = common::command()
        .args(["local", "--service", "ec2"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("[possible values: s3, kms, logs]"),
        "{stderr}"
    );
}
