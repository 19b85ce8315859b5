//! The operator's network path: the endpoints `aws ssm start-session` and the Session Manager
//! plugin talk to, reached from this machine as they reach them (the environment's proxy, the
//! system's trust store).

use super::net::{self, Endpoint, Reaching};
use crate::analysis::proxy::{ProxyEnv, without_credentials};
use crate::facts::{OperatorNetwork, ProxySettings};

/// Where and how the operator's side is probed.
pub struct Path {
    pub region: String,
    pub reaching: Reaching,
    /// Reads one environment variable (the process's, or a test's).
    pub environment: fn(&str) -> Option<String>,
}

/// The variables that decide the path, as shown in the report.
const PROXY_VARIABLES: [&str; 6] = [
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
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
            ..Endpoint::regional("ssm", &path.region, path.reaching.https_port)
        }),
        None => Ok(Endpoint::regional(
            "ssm",
            &path.region,
            path.reaching.https_port,
        )),
    };
    vec![
        Ok(Endpoint::regional(
            "ssmmessages",
            &path.region,
            path.reaching.https_port,
        )),
        ssm,
    ]
}

/// This machine's path to the session's endpoints.
pub async fn observe(path: &Path) -> Result<OperatorNetwork, String> {
    let env = path.environment;
    let network = path.reaching.network(hosts_file(), ProxyEnv::from(env));
    let endpoints = endpoints(path).into_iter().collect::<Result<Vec<_>, _>>()?;
    let reaches =
        futures::future::join_all(endpoints.into_iter().map(|e| net::reach(&network, e))).await;
    let variables = PROXY_VARIABLES
        .iter()
        .filter_map(|name| env(name).map(|v| (name.to_string(), without_credentials(&v))))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn path(environment: fn(&str) -> Option<String>) -> Path {
        Path {
            region: "eu-west-1".to_string(),
            reaching: Reaching::default(),
            environment,
        }
    }

    fn hosts(path: &Path) -> Vec<(String, Option<String>)> {
        endpoints(path)
            .into_iter()
            .map(|e| e.map(|e| (e.host, e.configured_by)).unwrap())
            .collect()
    }

    #[test]
    fn the_clis_ssm_endpoint_follows_the_environment_and_ssmmessages_stays_regional() {
        let regional = hosts(&path(|_| None));
        assert_eq!(regional[0].0, "ssmmessages.eu-west-1.amazonaws.com");
        assert_eq!(
            regional[1],
            ("ssm.eu-west-1.amazonaws.com".to_string(), None)
        );

        let dualstack = hosts(&path(|name| {
            (name == "AWS_USE_DUALSTACK_ENDPOINT").then(|| "TRUE".to_string())
        }));
        assert_eq!(dualstack[1].0, "ssm.eu-west-1.api.aws");

        // The service's own variable wins over the general one.
        let configured = hosts(&path(|name| match name {
            "AWS_ENDPOINT_URL_SSM" => {
                Some("https://vpce-0a1b.ssm.eu-west-1.vpce.amazonaws.com".to_string())
            }
            "AWS_ENDPOINT_URL" => Some("http://127.0.0.1:5000".to_string()),
            _ => None,
        }));
        assert_eq!(
            configured[1],
            (
                "vpce-0a1b.ssm.eu-west-1.vpce.amazonaws.com".to_string(),
                Some("AWS_ENDPOINT_URL_SSM".to_string())
            )
        );
    }
}
