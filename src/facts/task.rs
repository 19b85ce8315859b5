//! The facts of the other two everyday troubles: an application that cannot read its parameter
//! (`ssm-doctor param`), and an instance Patch Manager does not patch (`ssm-doctor patch`).

use super::{Fetch, Key, Role};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a run asks besides the instance's own facts; the checks of its command judge them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Task {
    Param(ParameterFacts),
    Patch(PatchFacts),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParameterFacts {
    /// The name as asked.
    pub name: String,
    /// `--by-path`: the application reads the parameter's whole path (`GetParametersByPath`).
    pub by_path: bool,
    /// `--role`: the role the application runs as, named instead of an instance.
    pub role: Option<String>,
    /// `ssm:DescribeParameters` of exactly that name; `None` when no such parameter exists. Never
    /// its value.
    pub parameter: Fetch<Option<Parameter>>,
    /// Existing names near the asked one, read when it does not exist; not applicable otherwise.
    pub nearby: Fetch<Vec<String>>,
    /// `kms:DescribeKey` and `GetKeyPolicy` of a SecureString's customer key (`None`: no such
    /// key); not applicable to other parameters and to AWS's `aws/ssm` key.
    pub key: Fetch<Option<Key>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Parameter {
    pub name: String,
    pub arn: String,
    /// `String`, `StringList` or `SecureString`.
    pub kind: String,
    /// A SecureString's key: `alias/aws/ssm`, a key id, ARN or alias.
    pub key_id: Option<String>,
    pub tier: Option<String>,
    pub version: Option<i64>,
    /// RFC 3339.
    pub last_modified: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatchFacts {
    /// When the windows were asked (RFC 3339, this machine's clock): what their next runs are
    /// measured against.
    pub asked_at: String,
    /// The instance's `Patch Group` (or `PatchGroup`) tag.
    pub patch_group: Option<String>,
    /// The operating system as Patch Manager names it (`AMAZON_LINUX_2023`), from the agent's
    /// platform; `None` when SSM does not know it.
    pub operating_system: Option<String>,
    /// `ssm:DescribeMaintenanceWindows`, each with its targets and tasks.
    pub windows: Fetch<Vec<Window>>,
    /// `ssm:ListAssociations` of the patching documents (State Manager, patch policies).
    pub associations: Fetch<Vec<Association>>,
    /// `ssm:GetPatchBaselineForPatchGroup`: the baseline for the patch group and the OS (AWS
    /// answers the default one for a group nobody registered; `None`: no answer); not applicable
    /// without a patch group.
    pub group_baseline: Fetch<Option<String>>,
    /// `ssm:GetDefaultPatchBaseline` for the OS.
    pub default_baseline: Fetch<String>,
    /// `ssm:GetPatchBaseline` of the baseline that applies.
    pub baseline: Fetch<Baseline>,
    /// `ssm:DescribeInstancePatchStates`; `None` when the instance has never been scanned.
    pub state: Fetch<Option<PatchState>>,
    /// `iam:GetRole` of each role the patching tasks run with, and of the service-linked role
    /// when a task names none (not applicable: no such role).
    pub service_roles: BTreeMap<String, Fetch<Role>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Window {
    pub id: String,
    pub name: Option<String>,
    pub enabled: bool,
    pub schedule: Option<String>,
    pub timezone: Option<String>,
    /// Hours.
    pub duration: Option<i32>,
    /// Hours before the end when no task starts any more.
    pub cutoff: Option<i32>,
    /// As the API gives it (`2026-12-06T02:00Z`); `None`: it never opens again.
    pub next_run: Option<String>,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub targets: Fetch<Vec<WindowTarget>>,
    pub tasks: Fetch<Vec<WindowTask>>,
}

/// A target selector as Systems Manager writes them: `InstanceIds`, `tag:Name`, `tag-key`,
/// `resource-groups:Name`, `WindowTargetIds`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Selector {
    pub key: String,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowTarget {
    pub id: String,
    pub name: Option<String>,
    pub targets: Vec<Selector>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowTask {
    pub id: String,
    /// The document (or function, workflow) it runs: `AWS-RunPatchBaseline`.
    pub document: String,
    /// `RUN_COMMAND`, `AUTOMATION`, `STEP_FUNCTIONS`, `LAMBDA`.
    pub kind: String,
    pub targets: Vec<Selector>,
    pub service_role: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Association {
    pub id: String,
    pub document: String,
    pub targets: Vec<Selector>,
    pub schedule: Option<String>,
    pub last_run: Option<String>,
    pub status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    pub id: String,
    pub name: Option<String>,
    pub operating_system: Option<String>,
    /// Each approval rule in words: "CRITICAL, IMPORTANT Security patches, 7 days after release".
    pub rules: Vec<String>,
    pub approved: Vec<String>,
    pub rejected: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatchState {
    /// `Scan` or `Install`.
    pub operation: String,
    pub ended: Option<String>,
    pub baseline_id: Option<String>,
    pub installed: i32,
    pub installed_pending_reboot: i32,
    pub missing: i32,
    pub failed: i32,
}

/// The key Systems Manager encrypts SecureStrings with unless told otherwise.
pub const AWS_SSM_KEY: &str = "alias/aws/ssm";

/// Every document that patches: Patch Manager's own, and what patch policies (Quick Setup) run.
pub const PATCH_DOCUMENTS: &[&str] = &[
    "AWS-RunPatchBaseline",
    "AWS-RunPatchBaselineAssociation",
    "AWS-RunPatchBaselineWithHooks",
];

/// Whether a task or association runs one of [`PATCH_DOCUMENTS`] (by name or ARN).
pub fn patches(document: &str) -> bool {
    let name = document.rsplit('/').next().unwrap_or(document);
    PATCH_DOCUMENTS.contains(&name)
}

/// `arn:aws:iam::1:role/service-role/Name` → `Name`: the name IAM knows a role by (and a
/// baseline's id in its ARN).
pub fn last_segment(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// The service-linked role Systems Manager runs window tasks with when they name no role.
pub const SERVICE_LINKED_ROLE: &str = "AWSServiceRoleForAmazonSSM";

/// The tags Patch Manager reads an instance's patch group from, in the order it tries them.
pub const PATCH_GROUP_TAGS: &[&str] = &["Patch Group", "PatchGroup"];

/// Which report a check belongs to: Session Manager's (the main command and `local`), or the
/// `param` or `patch` subcommand's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    #[default]
    Session,
    Param,
    Patch,
}

impl Task {
    pub fn command(&self) -> Command {
        match self {
            Task::Param(_) => Command::Param,
            Task::Patch(_) => Command::Patch,
        }
    }
}

impl Command {
    /// As typed after `ssm-doctor`.
    pub fn word(self) -> &'static str {
        match self {
            Command::Session => "INSTANCE_ID",
            Command::Param => "param",
            Command::Patch => "patch",
        }
    }
}
