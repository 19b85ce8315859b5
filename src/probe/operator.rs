//! The operator's network path: the endpoints `aws ssm start-session` and the Session Manager
//! plugin talk to, reached from this machine as they reach them (the environment's proxy, the
//! system's trust store).

use super::net::{self, Endpoint, Network, Proxy};
use crate::facts::{OperatorNetwork, ProxySettings};
use std::net::SocketAddr;
use std::time::Duration;

/// Where and how the operator's side is probed.
pub struct Path {
    pub region: String,
    /// `--resolver`: the DNS server asked instead of the system's.
    pub resolver: Option<SocketAddr>,
    /// The port probed instead of 443 (tests).
    pub https_port: u16,
    pub timeout: Duration,
    /// Reads one environment variable (the process's, or a test's).
    pub environment: fn(&str) -> Option<String>,
}

/// The variables that decide the path, as shown in the report.
const PROXY_VARIABLES: [&str; 6] = [
    "https_proxy",
    "HTTPS_PROXY",
    "http_proxy",
    "HTTP_PROXY",
    "no_proxy",
    "NO_PROXY",
];

fn is_true(value: Option<String>) -> bool {
    value.is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// The endpoints a session uses from this machine: `ssm` as the CLI calls it (an endpoint URL
/// the environment sets, the dual-stack name when asked for, else the regional one) and
/// `ssmmessages`, whose URL the service hands the plugin (the regional one).
fn endpoints(path: &Path) -> Vec<Result<Endpoint, String>> {
    let env = path.environment;
    let configured = ["AWS_ENDPOINT_URL_SSM", "AWS_ENDPOINT_URL"]
        .iter()
        .find_map(|name| env(name).filter(|v| !v.is_empty()).map(|v| (*name, v)));
    let ssm = match configured {
        Some((name, url)) => Endpoint::from_url("ssm", &url, name),
        None if is_true(env("AWS_USE_DUALSTACK_ENDPOINT")) => Ok(Endpoint {
            host: format!("ssm.{}.api.aws", path.region),
            configured_by: Some("AWS_USE_DUALSTACK_ENDPOINT".to_string()),
            ..Endpoint::regional("ssm", &path.region, path.https_port)
        }),
        None => Ok(Endpoint::regional("ssm", &path.region, path.https_port)),
    };
    vec![
        Ok(Endpoint::regional(
            "ssmmessages",
            &path.region,
            path.https_port,
        )),
        ssm,
    ]
}

/// This machine's path to the session's endpoints.
pub async fn observe(path: &Path) -> Result<OperatorNetwork, String> {
    let env = path.environment;
    let (proxy_url, no_proxy) = net::proxy_from(env);
    let proxy = proxy_url.as_deref().map(Proxy::parse).transpose()?;
    let network = Network {
        servers: net::nameservers(path.resolver),
        hosts_file: Some(hosts_file()),
        proxy,
        no_proxy,
        tls: net::system_trust(),
        timeout: path.timeout,
    };
    let endpoints = endpoints(path).into_iter().collect::<Result<Vec<_>, _>>()?;
    let reaches =
        futures::future::join_all(endpoints.into_iter().map(|e| net::reach(&network, e))).await;
    let variables = PROXY_VARIABLES
        .iter()
        .filter_map(|name| env(name).map(|v| (name.to_string(), net::without_credentials(&v))))
        .collect();
    Ok(OperatorNetwork {
        endpoints: reaches,
        proxy: ProxySettings {
            source: "environment".to_string(),
            variables,
        },
        ca_bundle: env("AWS_CA_BUNDLE").filter(|v| !v.is_empty()),
        dualstack: is_true(env("AWS_USE_DUALSTACK_ENDPOINT")),
    })
}

fn hosts_file() -> std::path::PathBuf {
    if cfg!(windows) {
        let root = std::env::var_os("SystemRoot").unwrap_or_else(|| "C:\\Windows".into());
        std::path::PathBuf::from(root).join("System32\\drivers\\etc\\hosts")
    } else {
        std::path::PathBuf::from("/etc/hosts")
    }
}
