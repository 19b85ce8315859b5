//! The `Facts` snapshot: everything the checks may look at, gathered once.
//!
//! Facts are plain serialisable data, independent of the AWS SDK types, so that a run can be saved
//! (`--save-facts`), replayed (`--facts`), built by hand in tests, and later filled from other sources
//! (the on-instance mode). Every value fetched from an API is wrapped in [`Fetch`], which keeps the
//! difference between "collected", "the caller may not ask", "the call failed" and "not asked because
//! it does not apply": a check must never read a denied call as an empty answer.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

mod probed;
mod task;
pub use probed::{
    AgentLog, InstanceFacts, Lookup, Metadata, OperatorNetwork, ProxySettings, Reach, Service, Step,
};
pub use task::{
    AWS_SSM_KEY, Association, Baseline, Command, PATCH_GROUP_TAGS, Parameter, ParameterFacts,
    PatchFacts, PatchState, SERVICE_LINKED_ROLE, Selector, Task, Window, WindowTarget, WindowTask,
    last_segment, patches,
};

/// Bumped whenever a saved snapshot would no longer load or would mean something else. Version 1
/// (one flat section, the run's totals in every instance) is still read: see [`parse_snapshot`].
pub const FACTS_SCHEMA_VERSION: u32 = 2;

/// The outcome of asking one question of an API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Fetch<T> {
    Collected {
        value: T,
    },
    /// The API refused: `action` is the IAM action the caller lacks, e.g. `ec2:DescribeRouteTables`.
    Denied {
        action: String,
        message: String,
    },
    /// The call failed for another reason (network, throttling, service error).
    Failed {
        action: String,
        reason: String,
    },
    /// Not asked, because an earlier answer made it meaningless (e.g. no instance profile to read).
    NotApplicable {
        reason: String,
    },
}

impl<T> Fetch<T> {
    pub fn collected(value: T) -> Self {
        Fetch::Collected { value }
    }

    pub fn not_applicable(reason: impl Into<String>) -> Self {
        Fetch::NotApplicable {
            reason: reason.into(),
        }
    }

    pub fn value(&self) -> Option<&T> {
        match self {
            Fetch::Collected { value } => Some(value),
            _ => None,
        }
    }

    /// Why the value is missing, phrased for a report, or `None` when it was collected.
    pub fn problem(&self) -> Option<String> {
        match self {
            Fetch::Collected { .. } => None,
            Fetch::Denied { action, message } => Some(format!("denied: {action} ({message})")),
            Fetch::Failed { action, reason } => Some(format!("{action} failed: {reason}")),
            Fetch::NotApplicable { reason } => Some(format!("not collected: {reason}")),
        }
    }

    /// Same outcome with the value mapped; the error variants carry over unchanged.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Fetch<U> {
        match self.take() {
            Ok(value) => Fetch::Collected { value: f(value) },
            Err(missing) => missing,
        }
    }

    /// The same missing-value outcome for a value that could only have come from this one: what
    /// denied or failed here leaves what depends on it denied or failed too, never "not applicable".
    pub fn absent<U>(&self) -> Option<Fetch<U>> {
        self.as_ref().take().err()
    }

    /// The value, or the same missing-value outcome for another type.
    pub fn take<U>(self) -> Result<T, Fetch<U>> {
        match self {
            Fetch::Collected { value } => Ok(value),
            Fetch::Denied { action, message } => Err(Fetch::Denied { action, message }),
            Fetch::Failed { action, reason } => Err(Fetch::Failed { action, reason }),
            Fetch::NotApplicable { reason } => Err(Fetch::NotApplicable { reason }),
        }
    }

    pub fn as_ref(&self) -> Fetch<&T> {
        match self {
            Fetch::Collected { value } => Fetch::Collected { value },
            Fetch::Denied { action, message } => Fetch::Denied {
                action: action.clone(),
                message: message.clone(),
            },
            Fetch::Failed { action, reason } => Fetch::Failed {
                action: action.clone(),
                reason: reason.clone(),
            },
            Fetch::NotApplicable { reason } => Fetch::NotApplicable {
                reason: reason.clone(),
            },
        }
    }
}

/// One instance's facts, in sections by where they are observed. A section is `None` when this run
/// did not observe from there: the checks of that vantage point are then listed as not run, with
/// how to run them, rather than judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    pub schema_version: u32,
    pub target: Target,
    /// What the AWS APIs say about the instance and its surroundings.
    pub aws: Option<AwsFacts>,
    /// What is seen from the operator's machine: who is asking.
    #[serde(default, with = "shared::optional")]
    pub operator: Option<Arc<OperatorFacts>>,
    /// What only a shell on the instance sees (`ssm-doctor local`).
    pub instance: Option<InstanceFacts>,
    /// What `ssm-doctor param` or `ssm-doctor patch` asks about; `None` for Session Manager's
    /// diagnosis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<Task>,
}

/// The three places facts are observed from; each check's page names one (`vantage`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Vantage {
    Aws,
    Operator,
    Instance,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AwsFacts {
    /// `ec2:DescribeInstances`; `None` when the instance does not exist in this account and region.
    pub instance: Fetch<Option<Instance>>,
    /// `ssm:DescribeInstanceInformation`; `None` when SSM does not know the instance.
    pub agent: Fetch<Option<AgentInfo>>,
    /// `ssm:GetServiceSetting` for Default Host Management Configuration.
    pub dhmc: Fetch<DhmcSetting>,
    #[serde(with = "shared")]
    pub network: Arc<NetworkFacts>,
    /// The profile's role, or, for an instance without a profile, the role DHMC hands out.
    #[serde(with = "shared")]
    pub iam: Arc<IamFacts>,
    /// The session document and what its preferences name: bucket, log group, key.
    #[serde(default = "SessionFacts::not_read", with = "shared")]
    pub session: Arc<SessionFacts>,
    /// `ec2:GetConsoleOutput`, for an instance SSM does not list as Online; not applicable
    /// otherwise.
    #[serde(default = "console_not_read")]
    pub console: Fetch<Console>,
    /// `ssm:GetConnectionStatus`: Session Manager's own answer, `connected` or `notconnected`, for
    /// instances SSM knows (a few a run, those not Online first); not applicable otherwise.
    #[serde(default = "connection_not_read")]
    pub connection: Fetch<String>,
}

fn console_not_read() -> Fetch<Console> {
    Fetch::not_applicable("the console was not read")
}

fn connection_not_read() -> Fetch<String> {
    Fetch::not_applicable("the connection status was not asked")
}

/// What the instance's serial console shows of the SSM agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Console {
    /// When the output was captured (RFC 3339), as EC2 says.
    pub captured: Option<String>,
    /// Whether there was any output at all.
    pub empty: bool,
    /// Its lines that name the agent (`ssm`, any case), oldest first; the last ones only.
    pub agent_lines: Vec<String>,
}

/// The session document the run is about (`--document`, else Session Manager's preferences) and
/// the resources its settings send session data to; each is read once per run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionFacts {
    /// The document these facts were read for (a snapshot replayed with another `--document`
    /// does not hold that one's).
    #[serde(default)]
    pub document_name: String,
    /// `ssm:GetDocument` (as JSON); `None` when no such document exists in the account and region.
    pub document: Fetch<Option<SessionDocument>>,
    /// `s3:GetEncryptionConfiguration` on the logging bucket; `None` when the bucket does not
    /// exist; not applicable when sessions are not logged to S3.
    pub bucket: Fetch<Option<Bucket>>,
    /// `logs:DescribeLogGroups`; `None` when the group does not exist; not applicable when
    /// sessions are not logged to CloudWatch Logs.
    pub log_group: Fetch<Option<LogGroup>>,
    /// `kms:DescribeKey`; `None` when the key does not exist; not applicable without encryption.
    pub key: Fetch<Option<Key>>,
}

impl SessionFacts {
    fn not_read() -> Arc<SessionFacts> {
        Arc::new(SessionFacts::unknown_because(&Fetch::not_applicable(
            "this snapshot was saved before session preferences were read",
        )))
    }

    pub fn unknown_because(cause: &Fetch<()>) -> SessionFacts {
        SessionFacts {
            document_name: String::new(),
            document: carry(cause),
            bucket: carry(cause),
            log_group: carry(cause),
            key: carry(cause),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionDocument {
    pub name: String,
    /// `Session` for a document a session can start with.
    pub document_type: String,
    /// `Standard_Stream` (a shell), `Port`, `InteractiveCommands`, `NonInteractiveCommands`.
    pub session_type: Option<String>,
    pub settings: SessionSettings,
}

/// The `inputs` of a Session document, as the preferences page sets them; empty values are `None`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionSettings {
    pub s3_bucket: Option<String>,
    pub s3_prefix: Option<String>,
    /// Only to a bucket with default encryption (`s3EncryptionEnabled`).
    pub s3_encryption: bool,
    pub log_group: Option<String>,
    /// Only to an encrypted log group (`cloudWatchEncryptionEnabled`).
    pub cloudwatch_encryption: bool,
    pub cloudwatch_streaming: bool,
    /// Key id, ARN or alias (`kmsKeyId`).
    pub kms_key: Option<String>,
    pub run_as: bool,
    pub run_as_user: Option<String>,
    /// Minutes.
    pub idle_timeout: Option<String>,
    /// Minutes.
    pub max_duration: Option<String>,
    pub shell_profile_linux: Option<String>,
    pub shell_profile_windows: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    pub name: String,
    /// The default encryption's algorithm (`AES256`, `aws:kms`, `aws:kms:dsse`); `None` when
    /// the bucket has none.
    pub encryption: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogGroup {
    pub name: String,
    /// The KMS key that encrypts it; `None` when it is not encrypted with one.
    pub kms_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Key {
    pub arn: String,
    /// `Enabled`, `Disabled`, `PendingDeletion`, `PendingImport`, `Unavailable`, …
    pub state: String,
    /// The account that owns the key (the key policy's account-root grant delegates to it).
    pub account: String,
    /// `AWS` for a key AWS manages for a service (`aws/ssm`), `CUSTOMER` for the account's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<String>,
    /// `kms:GetKeyPolicy` (`default`), decoded.
    pub policy: Fetch<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperatorFacts {
    /// `sts:GetCallerIdentity`: who is asking, and in which account.
    pub caller: Fetch<Caller>,
    /// The IAM user or role behind the caller and the policies that decide what it may do; not
    /// applicable to the root user and federated users (no IAM policy of theirs to read).
    pub identity: Fetch<Identity>,
    /// What the operator's machine starts sessions with (`PATH`), probed where ssm-doctor runs.
    #[serde(default = "not_probed")]
    pub machine: Fetch<Machine>,
    /// `iam:SimulatePrincipalPolicy` of the session's requests: IAM's own answer, Organizations
    /// SCPs included; not applicable when not asked.
    #[serde(default = "not_simulated")]
    pub simulation: Fetch<Vec<Simulated>>,
    /// The machine's network path to the session's endpoints (DNS, TCP, TLS, proxy).
    #[serde(default = "network_not_probed")]
    pub network: Fetch<OperatorNetwork>,
}

fn network_not_probed() -> Fetch<OperatorNetwork> {
    Fetch::not_applicable("saved before ssm-doctor probed the operator's network path")
}

fn not_simulated() -> Fetch<Vec<Simulated>> {
    Fetch::not_applicable("not simulated")
}

/// One answer of IAM's policy simulator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Simulated {
    pub action: String,
    pub resource: String,
    /// `allowed`, `explicitDeny` or `implicitDeny`.
    pub decision: String,
    /// `Some(false)` when a service control policy of AWS Organizations denies it.
    pub allowed_by_organizations: Option<bool>,
}

fn not_probed() -> Fetch<Machine> {
    Fetch::not_applicable("the machine was not probed")
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// `linux`, `macos`, `windows`, ... (Rust's names).
    pub os: String,
    /// `x86_64`, `aarch64`, ...
    pub arch: String,
    /// `session-manager-plugin`, when it is on `PATH`.
    pub plugin: Option<Program>,
    /// Where the AWS CLI (`aws`) is on `PATH`, when it is.
    pub aws_cli: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Program {
    pub path: String,
    /// What `--version` printed; failed when the probe could not tell (it hung, printed nothing,
    /// or could not be started), not applicable when it crashed.
    pub version: Fetch<String>,
    /// How it ended when it crashed: the exit status and the first line it wrote to stderr.
    #[serde(default)]
    pub crashed: Option<String>,
}

/// An IAM user, or the role an assumed-role session (SSO included) belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    pub kind: IdentityKind,
    pub name: String,
    /// `iam:GetUser` / `iam:GetRole`: the ARN with its path (SSO roles live under
    /// `/aws-reserved/sso.amazonaws.com/`) and the permissions boundary.
    pub entity: Fetch<Entity>,
    pub attached_policies: Fetch<Vec<Policy>>,
    pub inline_policies: Fetch<Vec<Policy>>,
    /// A user's groups' policies, attached and inline; not applicable to a role.
    pub group_policies: Fetch<Vec<Policy>>,
    /// The boundary's document; not applicable when there is none.
    pub permissions_boundary: Fetch<Policy>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityKind {
    User,
    Role,
}

impl IdentityKind {
    /// As IAM's API names it: `put-user-policy`, `--role-name`.
    pub fn word(self) -> &'static str {
        match self {
            IdentityKind::User => "user",
            IdentityKind::Role => "role",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    pub arn: String,
    pub permissions_boundary_arn: Option<String>,
    /// Its `SSMSessionRunAs` tag: the OS user its sessions start as when Run As is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as: Option<String>,
}

/// The tag that picks the OS user of a principal's sessions when Run As is on.
pub const RUN_AS_TAG: &str = "SSMSessionRunAs";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    pub instance_id: String,
    pub region: String,
    /// The Session document the operator means to open a session with (`--document`).
    #[serde(default = "default_document")]
    pub document: String,
    /// The account the run looked in (the caller's), whatever was found there; left out when
    /// the caller is unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The remote host the operator means to forward a port to through the instance
    /// (`--forward`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward: Option<Forward>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forward {
    pub host: String,
    pub port: u16,
    /// Its IPv4 addresses, as this machine's resolver answers (an address is kept as given).
    pub addresses: Fetch<Vec<String>>,
}

/// The document of a plain shell session: Session Manager's preferences.
pub const DEFAULT_DOCUMENT: &str = "SSM-SessionManagerRunShell";
/// The document of port forwarding to a host the instance reaches (`--forward`).
pub const REMOTE_HOST_DOCUMENT: &str = "AWS-StartPortForwardingSessionToRemoteHost";

fn default_document() -> String {
    DEFAULT_DOCUMENT.to_string()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Caller {
    pub account: String,
    pub arn: String,
    /// The unique id IAM substitutes for `${aws:userid}` (`AIDA…`, or `AROA…:session-name`).
    #[serde(default)]
    pub user_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    pub instance_id: String,
    pub owner_account: Option<String>,
    /// `pending`, `running`, `stopping`, `stopped`, `shutting-down`, `terminated`.
    pub state: String,
    pub vpc_id: Option<String>,
    pub subnet_id: Option<String>,
    /// The primary private IPv4 address; `None` for an IPv6-only instance.
    pub private_ip: Option<String>,
    pub public_ip: Option<String>,
    /// The primary network interface's IPv6 addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ipv6_addresses: Vec<String>,
    pub security_group_ids: Vec<String>,
    /// ARN of the attached instance profile, if any.
    pub instance_profile_arn: Option<String>,
    pub metadata: MetadataOptions,
    pub platform: Option<String>,
    pub name: Option<String>,
    /// Every tag, for conditions on `ssm:resourceTag/…` and `aws:ResourceTag/…`; `None` when
    /// not read (a snapshot saved before tags were).
    #[serde(default)]
    pub tags: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetadataOptions {
    /// `enabled` or `disabled`; `None` when the API did not say (AWS's default is enabled).
    pub http_endpoint: Option<String>,
    /// `optional` (IMDSv1 allowed) or `required` (IMDSv2 only).
    pub http_tokens: Option<String>,
    pub http_put_response_hop_limit: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentInfo {
    /// `Online`, `ConnectionLost` or `Inactive`.
    pub ping_status: String,
    /// RFC 3339.
    pub last_ping: Option<String>,
    pub agent_version: Option<String>,
    pub is_latest_version: Option<bool>,
    pub platform_name: Option<String>,
    /// `2023`, `22.04`, `10.0.20348`: with the name, which OS Patch Manager sees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_version: Option<String>,
    /// When SSM gave this answer (RFC 3339, this machine's clock): what `last_ping` is measured
    /// against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asked_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DhmcSetting {
    /// The role DHMC hands to instances without a profile; `None` when DHMC is off.
    pub role: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkFacts {
    /// All route tables of the instance's VPC (the subnet's is found among them).
    pub route_tables: Fetch<Vec<RouteTable>>,
    pub nat_gateways: Fetch<Vec<NatGateway>>,
    pub network_acls: Fetch<Vec<NetworkAcl>>,
    pub subnets: Fetch<Vec<Subnet>>,
    /// Interface endpoints of the VPC (all services; the checks pick the ones they need).
    pub vpc_endpoints: Fetch<Vec<VpcEndpoint>>,
    /// All security groups of the VPC: the instance's and the endpoints' are among them.
    pub security_groups: Fetch<Vec<SecurityGroup>>,
    /// Entries of the managed prefix lists that the relevant security group rules reference.
    pub prefix_lists: BTreeMap<String, Fetch<Vec<String>>>,
    pub dns_support: Fetch<bool>,
    pub dns_hostnames: Fetch<bool>,
    /// How names resolve inside the VPC, asked when it lacks endpoints of its own and routes to
    /// other networks (a transit gateway, peering, a VPN): where central endpoints would be.
    #[serde(default = "dns_not_read")]
    pub dns: Fetch<VpcDns>,
}

fn dns_not_read() -> Fetch<VpcDns> {
    Fetch::not_applicable("this snapshot was saved before the VPC's DNS was read")
}

/// What answers names asked inside a VPC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VpcDns {
    /// The DHCP options' `domain-name-servers`; `AmazonProvidedDNS` is the Route 53 Resolver
    /// (the default, also when the VPC has no options set).
    pub servers: Fetch<Vec<String>>,
    /// `route53:ListHostedZonesByVPC`: private hosted zones associated with the VPC, whatever
    /// account owns them.
    pub zones: Fetch<Vec<HostedZone>>,
    /// Route 53 Resolver rules associated with the VPC.
    pub rules: Fetch<Vec<ResolverRule>>,
    /// `ec2:DescribeTransitGatewayAttachments` of the VPC: how far the path to a hub can be
    /// followed (a gateway's routes are listed only by `SearchTransitGatewayRoutes`, which is
    /// not a read ssm-doctor makes).
    #[serde(default = "transit_not_read")]
    pub attachments: Fetch<Vec<TgwAttachment>>,
    /// `route53profiles:ListProfileAssociations`: the Route 53 Profile associated with the VPC
    /// (at most one), and what it carries.
    #[serde(default = "profile_not_read")]
    pub profile: Fetch<Option<DnsProfile>>,
}

fn transit_not_read() -> Fetch<Vec<TgwAttachment>> {
    Fetch::not_applicable("this snapshot was saved before transit gateways were read")
}

fn profile_not_read() -> Fetch<Option<DnsProfile>> {
    Fetch::not_applicable("this snapshot was saved before Route 53 Profiles were read")
}

/// A Route 53 Profile associated with a VPC: its private hosted zones, Resolver rules and
/// interface endpoints answer names there as if associated with the VPC itself (which wins a
/// tie).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DnsProfile {
    /// `rp-…`.
    pub id: String,
    /// The VPC association's status: `COMPLETE` (or `UPDATING`) answers.
    pub status: String,
    /// `route53profiles:ListProfileResourceAssociations`, each resource read as far as this
    /// account may.
    pub resources: Fetch<ProfileResources>,
}

impl DnsProfile {
    /// Whether the association is in force.
    pub fn answers(&self) -> bool {
        in_force(&self.status)
    }
}

/// A Route 53 Profiles status (of a VPC's association, or of a resource's) that answers: not
/// being created, failed or deleted.
pub fn in_force(status: &str) -> bool {
    ["COMPLETE", "UPDATING"]
        .iter()
        .any(|s| status.eq_ignore_ascii_case(s))
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProfileResources {
    /// Its hosted zones this account owns (named with `route53:GetHostedZone`).
    pub zones: Vec<HostedZone>,
    /// Its Resolver rules this account can list.
    pub rules: Vec<ResolverRule>,
    /// Its interface endpoints this account owns.
    pub endpoints: Vec<ProfileEndpoint>,
    /// What it carries that only another account can read.
    pub unseen: Vec<Unseen>,
}

/// A resource a Profile carries that only its owner can read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unseen {
    /// `private hosted zone`, `interface endpoint`, `Resolver rule`.
    pub kind: String,
    pub id: String,
    pub owner: Option<String>,
}

impl std::fmt::Display for Unseen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.kind, self.id)?;
        match &self.owner {
            Some(owner) => write!(f, " of account {owner}"),
            None => Ok(()),
        }
    }
}

/// An interface endpoint carried by a Profile: its private DNS name answers in the VPC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileEndpoint {
    pub id: String,
    /// `ssm`, `ssmmessages`, … (from `com.amazonaws.<region>.<service>`).
    pub service: String,
    /// The name it answers, lowercase: `ssm.eu-west-1.amazonaws.com`.
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TgwAttachment {
    pub id: String,
    pub transit_gateway: String,
    pub transit_gateway_owner: Option<String>,
    /// `available`, `pending`, `deleted`, …
    pub state: String,
    /// The route table it is associated with, if any.
    pub route_table: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostedZone {
    pub id: String,
    /// Lowercase, without the final dot.
    pub name: String,
    pub owner: Option<String>,
    /// The Route 53 Profile that brings the zone to the VPC, when not associated directly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// The records named like a Systems Manager endpoint (`route53:ListResourceRecordSets`);
    /// not applicable for a zone that holds none of those names.
    pub records: Fetch<Vec<DnsRecord>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DnsRecord {
    /// Lowercase, without the final dot.
    pub name: String,
    /// `A`, `AAAA`, `CNAME`, …
    pub kind: String,
    /// An alias record's target name (lowercase, without the final dot).
    pub alias: Option<String>,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResolverRule {
    pub id: String,
    /// Lowercase, without the final dot.
    pub domain: String,
    /// `FORWARD`, `SYSTEM` or `RECURSIVE`.
    pub kind: String,
    /// Where a forwarding rule sends queries (`ip:port`).
    pub targets: Vec<String>,
    pub owner: Option<String>,
    /// The Route 53 Profile that brings the rule to the VPC, when not associated directly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouteTable {
    pub id: String,
    pub main: bool,
    pub subnet_ids: Vec<String>,
    pub routes: Vec<Route>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Route {
    /// IPv4 CIDR, or `None` for IPv6/prefix-list destinations.
    pub destination: Option<String>,
    /// IPv6 CIDR (`::/0`, `64:ff9b::/96`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_ipv6: Option<String>,
    pub destination_prefix_list: Option<String>,
    /// `igw-…`, `nat-…`, `vgw-…`, `tgw-…`, `pcx-…`, `eni-…`, `local`, …
    pub target: String,
    /// `active` or `blackhole`.
    pub state: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NatGateway {
    pub id: String,
    /// `pending`, `available`, `deleting`, `deleted`, `failed`.
    pub state: String,
    pub subnet_id: Option<String>,
    /// `public` or `private`.
    pub connectivity: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkAcl {
    pub id: String,
    pub is_default: bool,
    pub subnet_ids: Vec<String>,
    pub entries: Vec<NaclEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NaclEntry {
    pub rule_number: i32,
    pub egress: bool,
    /// `-1` (all), `6` (tcp), `17` (udp), …
    pub protocol: String,
    /// `allow` or `deny`.
    pub action: String,
    /// IPv4 CIDR; `None` for IPv6 entries.
    pub cidr: Option<String>,
    /// IPv6 CIDR; `None` for IPv4 entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6_cidr: Option<String>,
    pub port_from: Option<i32>,
    pub port_to: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subnet {
    pub id: String,
    /// The IPv4 CIDR; `None` for an IPv6-only subnet.
    pub cidr: Option<String>,
    pub availability_zone: Option<String>,
    pub map_public_ip_on_launch: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ipv6_cidrs: Vec<String>,
    /// IPv6-only (no IPv4 range at all).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ipv6_native: bool,
    /// The Amazon DNS server answers synthesised IPv6 addresses (64:ff9b::/96) for IPv4-only names.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dns64: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VpcEndpoint {
    pub id: String,
    /// e.g. `com.amazonaws.eu-west-1.ssmmessages`.
    pub service_name: String,
    /// `Interface`, `Gateway`, `GatewayLoadBalancer`.
    pub endpoint_type: String,
    /// `available`, `pending`, `pendingAcceptance`, `deleting`, `rejected`, `failed`, …
    pub state: String,
    pub private_dns_enabled: bool,
    pub subnet_ids: Vec<String>,
    pub security_group_ids: Vec<String>,
    /// The endpoint policy, decoded; `None` means the default full-access policy.
    pub policy: Option<serde_json::Value>,
    /// `ipv4`, `dualstack` or `ipv6`: which instances' addresses it answers; `None` when not said
    /// (IPv4, AWS's default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecurityGroup {
    pub id: String,
    pub name: String,
    pub ingress: Vec<SgRule>,
    pub egress: Vec<SgRule>,
}

/// One IP permission of a security group (one protocol/port range, several peers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SgRule {
    /// `-1` (all), `tcp`, `udp`, `icmp`, or a protocol number.
    pub protocol: String,
    pub port_from: Option<i32>,
    pub port_to: Option<i32>,
    pub cidrs: Vec<String>,
    pub ipv6_cidrs: Vec<String>,
    pub prefix_list_ids: Vec<String>,
    pub group_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IamFacts {
    /// `iam:GetInstanceProfile`; `None` when the attached profile no longer exists (deleted after
    /// it was associated); not applicable when no profile is attached.
    pub instance_profile: Fetch<Option<InstanceProfile>>,
    /// `iam:GetRole` of the profile's role: trust policy and permissions boundary.
    pub role: Fetch<Role>,
    /// `iam:ListAttachedRolePolicies` → `GetPolicy` → `GetPolicyVersion`.
    pub attached_policies: Fetch<Vec<Policy>>,
    /// `iam:ListRolePolicies` → `GetRolePolicy`.
    pub inline_policies: Fetch<Vec<Policy>>,
    /// The boundary's document; not applicable when the role has no boundary.
    pub permissions_boundary: Fetch<Policy>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceProfile {
    pub name: String,
    pub arn: String,
    /// Names of the roles in the profile (AWS allows at most one).
    pub role_names: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Role {
    pub name: String,
    pub arn: String,
    /// The trust policy, decoded from its URL-encoded form.
    pub trust_policy: serde_json::Value,
    pub permissions_boundary_arn: Option<String>,
    /// Its `SSMSessionRunAs` tag, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    /// Policy name (managed or inline).
    pub name: String,
    /// ARN for managed policies; `None` for inline ones.
    pub arn: Option<String>,
    /// The document (default version for managed policies), decoded.
    pub document: Fetch<serde_json::Value>,
}

impl Policy {
    /// An inline policy (of a role, user or group): named, with no ARN.
    pub fn inline(name: impl Into<String>, document: Fetch<serde_json::Value>) -> Policy {
        Policy {
            name: name.into(),
            arn: None,
            document,
        }
    }

    /// How a report names this policy: its ARN, or `inline:<name>`.
    pub fn label(&self) -> String {
        match &self.arn {
            Some(arn) => arn.clone(),
            None => format!("inline:{}", self.name),
        }
    }
}

impl Facts {
    /// The instance as EC2 describes it, when it was found.
    pub fn ec2_instance(&self) -> Option<&Instance> {
        self.aws.as_ref().and_then(AwsFacts::ec2_instance)
    }

    /// The account to show in a report: the instance owner, else the one the run looked in.
    pub fn account(&self) -> Option<&str> {
        self.ec2_instance()
            .and_then(|i| i.owner_account.as_deref())
            .or(self.target.account.as_deref())
    }

    /// Which report these facts are for.
    pub fn command(&self) -> Command {
        self.task.as_ref().map_or(Command::Session, Task::command)
    }

    pub fn observed(&self, vantage: Vantage) -> bool {
        match vantage {
            Vantage::Aws => self.aws.is_some(),
            Vantage::Operator => self.operator.is_some(),
            Vantage::Instance => self.instance.is_some(),
        }
    }
}

impl AwsFacts {
    pub fn ec2_instance(&self) -> Option<&Instance> {
        self.instance.value().and_then(Option::as_ref)
    }

    /// Facts that could not be asked for because of `cause` (denied or failed), or for the reason
    /// it gives: nothing reads as collected.
    pub fn unknown_because(cause: &Fetch<()>) -> AwsFacts {
        AwsFacts {
            instance: carry(cause),
            agent: carry(cause),
            dhmc: carry(cause),
            network: Arc::new(NetworkFacts::unknown_because(cause)),
            iam: Arc::new(IamFacts::unknown_because(cause)),
            session: Arc::new(SessionFacts::unknown_because(cause)),
            console: carry(cause),
            connection: carry(cause),
        }
    }
}

/// The same missing-value outcome as `cause`, for a value of another type.
pub fn carry<T>(cause: &Fetch<()>) -> Fetch<T> {
    cause
        .absent()
        .unwrap_or_else(|| Fetch::not_applicable("not collected"))
}

impl NetworkFacts {
    pub fn unknown(why: &str) -> NetworkFacts {
        NetworkFacts::unknown_because(&Fetch::not_applicable(why))
    }

    pub fn unknown_because(cause: &Fetch<()>) -> NetworkFacts {
        NetworkFacts {
            route_tables: carry(cause),
            nat_gateways: carry(cause),
            network_acls: carry(cause),
            subnets: carry(cause),
            vpc_endpoints: carry(cause),
            security_groups: carry(cause),
            prefix_lists: BTreeMap::new(),
            dns_support: carry(cause),
            dns_hostnames: carry(cause),
            dns: carry(cause),
        }
    }
}

impl IamFacts {
    pub fn unknown(why: &str) -> IamFacts {
        IamFacts::unknown_because(&Fetch::not_applicable(why))
    }

    pub fn unknown_because(cause: &Fetch<()>) -> IamFacts {
        IamFacts {
            instance_profile: carry(cause),
            role: carry(cause),
            attached_policies: carry(cause),
            inline_policies: carry(cause),
            permissions_boundary: carry(cause),
        }
    }
}

/// Reads a snapshot written by `--save-facts`: one instance's facts (an object) or a fleet's (an
/// array), and whether it was a fleet. Any input gives facts or a one-line reason, never a panic.
pub fn parse_snapshot(bytes: &[u8]) -> Result<(Vec<Facts>, bool), String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("is not UTF-8 text: {e}"))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("is not JSON: {e}"))?;
    let (items, fleet) = match value {
        serde_json::Value::Array(items) => (items, true),
        single => (vec![single], false),
    };
    let mut facts = Vec::with_capacity(items.len());
    for item in items {
        let version = item
            .get("schema_version")
            .and_then(serde_json::Value::as_u64);
        let item = match version {
            Some(v) if v == u64::from(FACTS_SCHEMA_VERSION) => item,
            Some(1) => from_version_1(item)?,
            _ => {
                let found = version.map_or("none".to_string(), |v| v.to_string());
                return Err(format!(
                    "is not an ssm-doctor facts snapshot of schema version 1 or \
                     {FACTS_SCHEMA_VERSION} (schema_version: {found})"
                ));
            }
        };
        let f: Facts = serde_json::from_value(item)
            .map_err(|e| format!("is not a valid facts snapshot: {e}"))?;
        facts.push(f);
    }
    Ok((facts, fleet))
}

/// A version 1 snapshot in today's sections: its AWS answers become the `aws` section and its
/// caller's account the target's; it holds nothing of the operator's policies nor of the
/// instance's inside, so those are not observed; its run totals are dropped (they described the
/// run that saved it, not the instance).
fn from_version_1(item: serde_json::Value) -> Result<serde_json::Value, String> {
    let serde_json::Value::Object(mut old) = item else {
        return Err("is not a valid facts snapshot: an instance's facts are not an object".into());
    };
    // The caller said which account the run looked in; the report still names it.
    let account = old
        .get("caller")
        .and_then(|c| c.pointer("/value/account"))
        .cloned();
    let mut take = |key: &str| {
        old.remove(key)
            .ok_or_else(|| format!("is not a valid facts snapshot: missing field `{key}`"))
    };
    let mut target = take("target")?;
    if let (Some(account), Some(target)) = (account, target.as_object_mut()) {
        target.insert("account".into(), account);
    }
    let mut aws = serde_json::Map::new();
    for key in ["instance", "agent", "dhmc", "network", "iam"] {
        aws.insert(key.to_string(), take(key)?);
    }
    Ok(serde_json::json!({
        "schema_version": FACTS_SCHEMA_VERSION,
        "target": target,
        "aws": aws,
        "operator": null,
        "instance": null,
    }))
}

#[cfg(test)]
impl Facts {
    /// The AWS section of hand-made facts, to change one fact of it.
    pub fn aws_mut(&mut self) -> &mut AwsFacts {
        self.aws.as_mut().expect("these facts have an AWS section")
    }

    /// The operator section of hand-made facts (this instance's own copy), to change one fact.
    pub fn operator_mut(&mut self) -> Option<&mut OperatorFacts> {
        self.operator.as_mut().map(Arc::make_mut)
    }
}

#[cfg(test)]
impl AwsFacts {
    /// This instance's own copy of its network facts, to change one of them.
    pub fn network_mut(&mut self) -> &mut NetworkFacts {
        Arc::make_mut(&mut self.network)
    }

    pub fn iam_mut(&mut self) -> &mut IamFacts {
        Arc::make_mut(&mut self.iam)
    }

    pub fn session_mut(&mut self) -> &mut SessionFacts {
        Arc::make_mut(&mut self.session)
    }
}

/// Facts several instances share (their VPC's network, their role's policies, the run's session
/// document and operator) are held once and referred to; saved and loaded as plain values.
mod shared {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::sync::Arc;

    pub fn serialize<T: Serialize, S: Serializer>(value: &Arc<T>, s: S) -> Result<S::Ok, S::Error> {
        T::serialize(value, s)
    }

    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Arc<T>, D::Error> {
        T::deserialize(d).map(Arc::new)
    }

    pub mod optional {
        use super::*;

        pub fn serialize<T: Serialize, S: Serializer>(
            value: &Option<Arc<T>>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            value.as_deref().serialize(s)
        }

        pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<Arc<T>>, D::Error> {
            Option::<T>::deserialize(d).map(|v| v.map(Arc::new))
        }
    }
}

/// Small constructors for hand-made facts in tests.
#[cfg(test)]
pub mod build {
    use super::{NaclEntry, SgRule};

    /// A TCP entry for `ports`, or an all-traffic entry when `ports` is `None`.
    pub fn nacl_entry(
        rule: i32,
        egress: bool,
        action: &str,
        cidr: &str,
        ports: Option<(i32, i32)>,
    ) -> NaclEntry {
        NaclEntry {
            rule_number: rule,
            egress,
            protocol: if ports.is_some() { "6" } else { "-1" }.to_string(),
            action: action.to_string(),
            cidr: Some(cidr.to_string()).filter(|c| !c.contains(':')),
            ipv6_cidr: Some(cidr.to_string()).filter(|c| c.contains(':')),
            port_from: ports.map(|p| p.0),
            port_to: ports.map(|p| p.1),
        }
    }

    /// A rule with no peers yet: fill `cidrs`, `group_ids` or `prefix_list_ids` with struct update.
    pub fn sg_rule(protocol: &str, ports: Option<(i32, i32)>) -> SgRule {
        SgRule {
            protocol: protocol.to_string(),
            port_from: ports.map(|p| p.0),
            port_to: ports.map(|p| p.1),
            cidrs: vec![],
            ipv6_cidrs: vec![],
            prefix_list_ids: vec![],
            group_ids: vec![],
        }
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    const FIXTURE: &str = include_str!("../fixtures/healthy-private-endpoints.json");

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Whatever the bytes, the parser answers facts or a one-line reason.
        #[test]
        fn any_bytes_give_facts_or_one_clean_line(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Err(reason) = parse_snapshot(&bytes) {
                prop_assert_eq!(reason.lines().count(), 1);
            }
        }

        /// A real snapshot cut anywhere, or with a byte changed, still never panics.
        #[test]
        fn damaged_snapshots_give_facts_or_one_clean_line(cut in 0..FIXTURE.len(), at in 0..FIXTURE.len(), byte in any::<u8>()) {
            let mut damaged = FIXTURE.as_bytes()[..cut].to_vec();
            if let Some(b) = damaged.get_mut(at) {
                *b = byte;
            }
            if let Err(reason) = parse_snapshot(&damaged) {
                prop_assert_eq!(reason.lines().count(), 1);
            }
        }
    }

    #[test]
    fn version_1_snapshots_read_as_today_s_sections() {
        let old = include_str!("../tests/fixtures/facts-v1.json");
        let (upgraded, _) = parse_snapshot(old.as_bytes()).unwrap();
        let (mut today, _) = parse_snapshot(FIXTURE.as_bytes()).unwrap();
        assert_eq!(upgraded[0].target.instance_id, today[0].target.instance_id);
        // Version 1 kept the Name tag only.
        if let Fetch::Collected { value: Some(i) } = &mut today[0].aws_mut().instance {
            i.tags = None;
        }
        assert_eq!(upgraded[0].account(), Some("111122223333"));
        // Nor did it read the session preferences: they are not applicable, saying why.
        let before = &upgraded[0].aws.as_ref().unwrap().session;
        assert!(
            matches!(&before.document, Fetch::NotApplicable { reason } if reason.contains("saved before"))
        );
        today[0].aws_mut().session = before.clone();
        // Nor the console.
        let console = &upgraded[0].aws.as_ref().unwrap().console;
        assert!(matches!(console, Fetch::NotApplicable { .. }));
        today[0].aws_mut().console = console.clone();
        // Nor the VPC's DNS.
        let dns = &upgraded[0].aws.as_ref().unwrap().network.dns;
        assert!(matches!(dns, Fetch::NotApplicable { reason } if reason.contains("saved before")));
        today[0].aws_mut().network_mut().dns = dns.clone();
        // Nor Session Manager's connection status, nor when SSM was asked.
        let connection = &upgraded[0].aws.as_ref().unwrap().connection;
        assert!(matches!(connection, Fetch::NotApplicable { .. }));
        today[0].aws_mut().connection = connection.clone();
        // Nor the platform's version.
        if let Fetch::Collected { value: Some(a) } = &mut today[0].aws_mut().agent {
            a.asked_at = None;
            a.platform_version = None;
        }
        assert_eq!(upgraded[0].aws, today[0].aws);
        assert!(
            upgraded[0].operator.is_none(),
            "it holds no operator policies"
        );
        assert!(
            upgraded[0].instance.is_none(),
            "nothing was observed on the instance"
        );
        let future = FIXTURE.replace("\"schema_version\": 2", "\"schema_version\": 3");
        let refused = parse_snapshot(future.as_bytes()).unwrap_err();
        assert!(
            refused.contains("schema version 1 or 2 (schema_version: 3)"),
            "{refused}"
        );
    }

    #[test]
    fn snapshots_round_trip() {
        let (facts, fleet) = parse_snapshot(FIXTURE.as_bytes()).unwrap();
        assert!(!fleet);
        let again = serde_json::to_vec(&facts).unwrap();
        let (back, fleet) = parse_snapshot(&again).unwrap();
        assert!(fleet);
        assert_eq!(back, facts);
    }
}
