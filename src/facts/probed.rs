//! What the probes observe on a machine — the operator's, or the instance from inside
//! (`ssm-doctor local`): how an endpoint's name resolved and whether TCP and TLS got through, the
//! instance metadata service, the proxy settings, the agent's service and log.

use super::Fetch;
use serde::{Deserialize, Serialize};

/// One endpoint, probed the way a session's program reaches it: its name resolved, a TCP
/// connection on its port (directly or through a proxy), a TLS handshake with its name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reach {
    /// The service's short name: `ssm`, `ssmmessages`, `ec2messages`, `s3`, `kms`, `logs`.
    pub service: String,
    pub host: String,
    pub port: u16,
    /// Where the endpoint's address came from when it is not the regional default (e.g.
    /// `AWS_ENDPOINT_URL_SSM`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configured_by: Option<String>,
    /// Whether a session needs it: `ec2messages` only for agents older than 3.3.40.0.
    #[serde(default = "required")]
    pub required: bool,
    /// The proxy the connection went through (no credentials), when one applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
    pub lookup: Lookup,
    pub tcp: Step,
    pub tls: Step,
}

fn required() -> bool {
    true
}

/// A name's resolution: which server answered (or the hosts file), what, and how fast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lookup {
    /// `10.0.0.2:53`, `/etc/hosts`, or `None` when no server answered.
    pub server: Option<String>,
    pub addresses: Vec<String>,
    pub ms: u64,
    /// Why there is no address: no such name, no server answered, no record of the kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Lookup {
    pub fn resolved(&self) -> bool {
        self.error.is_none() && !self.addresses.is_empty()
    }
}

/// One step of reaching an endpoint (a TCP connection, a TLS handshake).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Step {
    /// It worked in `ms`; `detail` says with what (the address, the protocol version).
    Done { ms: u64, detail: String },
    /// It failed after `ms`, for `error`.
    Failed { ms: u64, error: String },
    /// Not tried, because of `reason` (an earlier step failed, plain HTTP).
    Skipped { reason: String },
}

impl Step {
    pub fn done(&self) -> bool {
        matches!(self, Step::Done { .. })
    }
}

/// The operator's network path to the endpoints a session uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperatorNetwork {
    pub endpoints: Vec<Reach>,
    pub proxy: ProxySettings,
    /// `AWS_CA_BUNDLE`: the CLI trusts it, the Session Manager plugin does not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_bundle: Option<String>,
    /// `AWS_USE_DUALSTACK_ENDPOINT` is true.
    pub dualstack: bool,
}

/// Proxy settings as a program reads them from its environment (`HTTPS_PROXY`, `NO_PROXY` …):
/// each variable set, by name, credentials removed from proxy addresses.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProxySettings {
    /// Where these settings were read (`environment`, a systemd drop-in's path).
    pub source: String,
    pub variables: Vec<(String, String)>,
}

/// What `ssm-doctor local` observes on the instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceFacts {
    /// The instance metadata service; failed when it does not answer.
    pub metadata: Fetch<Metadata>,
    /// The endpoints the agent needs, reached the agent's way (its proxy, when it has one).
    pub endpoints: Fetch<Vec<Reach>>,
    /// The shell's proxy settings and each of the agent's service configurations that sets any.
    pub proxies: Vec<ProxySettings>,
    pub service: Fetch<Service>,
    pub log: Fetch<AgentLog>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// Where IMDS was asked (`http://169.254.169.254`, or the override).
    pub endpoint: String,
    /// Whether an IMDSv2 token was issued; `false` when only IMDSv1 answered.
    pub v2: bool,
    /// Why no token was issued, when not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_error: Option<String>,
    pub instance_id: Option<String>,
    pub region: Option<String>,
    pub vpc_id: Option<String>,
    pub vpc_cidrs: Vec<String>,
    /// The instance profile's role, as IMDS serves its credentials; `None` without a profile.
    pub role: Option<String>,
    /// Whether the role's credentials could be fetched (never kept): `Done` names their expiry.
    pub credentials: Step,
    /// The reads IMDS did not answer (path: why), beyond the instance id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// The agent's service, as the platform's service manager reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Service {
    /// `systemd`, `snap` or `windows`.
    pub manager: String,
    pub installed: bool,
    pub running: bool,
    /// The manager's own words for the state (`inactive (dead)`, `STOPPED`).
    pub state: String,
}

/// The tail of the agent's log since it last started: its error lines and its warnings of a
/// known kind, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentLog {
    pub files: Vec<String>,
    pub lines: Vec<String>,
    /// When the agent last started, as its log says: older lines are left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
}
