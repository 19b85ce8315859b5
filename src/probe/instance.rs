//! `ssm-doctor local`: the instance observed from inside — IMDS, the endpoints the agent needs
//! reached the agent's way, the proxy settings, the agent's service and log — as one `Facts`.

use super::net::{self, Endpoint, Reaching};
use super::{agent, imds};
use crate::analysis::proxy::{ProxyEnv, merged, without_credentials};
use crate::facts::{
    FACTS_SCHEMA_VERSION, Facts, Fetch, InstanceFacts, ProxySettings, Reach, Target,
};
use std::ffi::OsString;
use std::path::PathBuf;

/// The source of the proxy settings of the shell `ssm-doctor local` runs in.
pub const ENVIRONMENT: &str = "this shell's environment";

/// The services the agent always talks to.
pub const AGENT_SERVICES: [&str; 3] = ["ssm", "ssmmessages", "ec2messages"];
/// The other services `--service` may add (session logging and encryption).
pub const OPTIONAL_SERVICES: [&str; 3] = ["s3", "kms", "logs"];

/// Where and how `ssm-doctor local` looks.
pub struct Local {
    /// IMDS's address (`AWS_EC2_METADATA_SERVICE_ENDPOINT`, else the default).
    pub imds: String,
    /// `--region`: wins over IMDS's.
    pub region: Option<String>,
    /// Where the agent's files are read (`/`, or a mounted volume).
    pub root: PathBuf,
    /// The services probed beyond the agent's own.
    pub services: Vec<String>,
    pub reaching: Reaching,
    /// `PATH`, where the service manager is looked for.
    pub path: OsString,
    /// The shell's proxy variables.
    pub environment: Vec<(String, String)>,
}

/// Everything `local` observes, as the facts of the instance IMDS names.
pub async fn observe(local: &Local) -> Facts {
    let metadata = imds::observe(&local.imds).await;
    let region = local
        .region
        .clone()
        .or_else(|| metadata.value().and_then(|m| m.region.clone()));
    // Probed with the credentials they hold; kept in the facts without them.
    let shell = ProxySettings {
        source: ENVIRONMENT.to_string(),
        variables: local.environment.clone(),
    };
    let service = agent::service_proxies(&local.root);
    let agent_env = merged(service.iter().map(|s| s.variables.as_slice()));
    let endpoints = match &region {
        Some(region) => Fetch::collected(reach_all(local, region, agent_env).await),
        None => Fetch::Failed {
            action: "finding the instance's region".to_string(),
            reason: "IMDS did not say it and no --region was given".to_string(),
        },
    };
    let shell = (!shell.variables.is_empty()).then_some(shell);
    let proxies = shell
        .into_iter()
        .chain(service)
        .map(|s| ProxySettings {
            variables: s
                .variables
                .into_iter()
                .map(|(k, v)| (k, without_credentials(&v)))
                .collect(),
            ..s
        })
        .collect();
    let path = local.path.clone();
    let elsewhere = local.root != std::path::Path::new("/");
    let service = tokio::task::spawn_blocking(move || agent::service(&path))
        .await
        .map(|service| match elsewhere {
            // The files under --root are another system's; its services are not asked.
            true => service.map(|mut s| {
                s.state
                    .push_str(" (asked this machine's service manager, not --root's)");
                s
            }),
            false => service,
        })
        .unwrap_or_else(|e| Fetch::Failed {
            action: "asking the service manager about amazon-ssm-agent".to_string(),
            reason: e.to_string(),
        });
    let log = agent::log(&agent::log_files(&local.root));
    let instance_id = metadata
        .value()
        .and_then(|m| m.instance_id.clone())
        .unwrap_or_else(|| "unknown".to_string());
    Facts {
        schema_version: FACTS_SCHEMA_VERSION,
        target: Target {
            instance_id,
            region: region.unwrap_or_else(|| "unknown".to_string()),
            document: crate::facts::DEFAULT_DOCUMENT.to_string(),
            account: None,
            forward: None,
        },
        aws: None,
        operator: None,
        instance: Some(InstanceFacts {
            metadata,
            endpoints,
            proxies,
            service,
            log,
        }),
        task: None,
    }
}

/// The agent's endpoints in `region` (and the `--service` ones), all at once, its way: through
/// its `proxies`.
async fn reach_all(local: &Local, region: &str, proxies: ProxyEnv) -> Vec<Reach> {
    let network = local
        .reaching
        .network(local.root.join("etc/hosts"), proxies);
    let services = AGENT_SERVICES
        .iter()
        .map(|s| s.to_string())
        .chain(local.services.iter().cloned());
    let probes = services.map(|service| {
        let endpoint = Endpoint {
            // Agents from 3.3.40.0 on do without it.
            required: service != "ec2messages",
            ..Endpoint::regional(&service, region, local.reaching.https_port)
        };
        let network = &network;
        async move { net::reach(network, endpoint).await }
    });
    futures::future::join_all(probes).await
}
