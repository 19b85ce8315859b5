//! The questions of `ssm-doctor param` and `ssm-doctor patch`: a parameter's metadata (never its
//! value), its key, the names near it; the maintenance windows, associations, baselines and patch
//! state that decide whether an instance is patched.

use super::ec2::paged;
use super::ledger::{Ledger, Scope, Tally};
use super::{Aws, Missing, Selection, SetupError, failure, incomplete, required, setup_problem};
use crate::facts::{
    AWS_SSM_KEY, Association, AwsFacts, Baseline, DEFAULT_DOCUMENT, Facts, Fetch, IamFacts,
    PATCH_GROUP_TAGS, Parameter, ParameterFacts, PatchFacts, PatchState, Role, SERVICE_LINKED_ROLE,
    Selector, Task, Window, WindowTarget, WindowTask, last_segment, patches,
};
use aws_sdk_ssm::primitives::{DateTime, DateTimeFormat};
use aws_sdk_ssm::types::{OperatingSystem, ParameterStringFilter, PatchRule, Target};
use futures::future::join_all;
use std::collections::{BTreeMap, BTreeSet};
use std::time::SystemTime;

/// Pages of parameters read for suggestions at most: enough for any path a team keeps, bounded
/// for a namespace of thousands.
const NEARBY_PAGES: usize = 5;

/// Pages asked for one exact name at most: DescribeParameters may answer a page with nothing and
/// a token for the next, so a missing name is only missing once the answers run out.
const EXACT_PAGES: usize = 20;

fn time(t: &DateTime) -> Option<String> {
    t.fmt(DateTimeFormat::DateTime).ok()
}

fn filter(key: &str, option: &str, value: &str) -> ParameterStringFilter {
    ParameterStringFilter::builder()
        .key(key)
        .option(option)
        .values(value)
        .build()
        .expect("the key is set")
}

fn selectors(targets: &[Target]) -> Vec<Selector> {
    targets
        .iter()
        .map(|t| Selector {
            key: t.key().unwrap_or_default().to_string(),
            values: t.values().to_vec(),
        })
        .collect()
}

/// The parameter an application reads, and who reads it: an instance (its profile's role) or a
/// role named instead.
pub struct Reader<'a> {
    pub name: &'a str,
    pub by_path: bool,
    pub instance: Option<&'a str>,
    pub role: Option<&'a str>,
}

impl Aws {
    /// `ssm-doctor param`: the instance's facts (or the role's alone) and the parameter's, gathered
    /// at once, with what they cost.
    pub async fn param(&self, reader: &Reader<'_>) -> Result<(Facts, Tally), SetupError> {
        let ledger = Ledger::new(self.deadline);
        let work = async {
            let parameter = self.parameter_facts(reader.name, reader.by_path, reader.role);
            let (facts, parameter) = match (reader.instance, reader.role) {
                (Some(id), _) => tokio::join!(self.one_instance(id), parameter),
                (None, Some(role)) => tokio::join!(self.role_only(role), parameter),
                (None, None) => unreachable!("the command line names an instance or a role"),
            };
            let mut facts = facts?;
            facts.task = Some(Task::Param(parameter));
            Ok(facts)
        };
        let facts = ledger.run(Scope::Run, work).await?;
        Ok((facts, ledger.total()))
    }

    /// `ssm-doctor patch`: the instance's facts, then what patches it.
    pub async fn patch(&self, instance_id: &str) -> Result<(Facts, Tally), SetupError> {
        let ledger = Ledger::new(self.deadline);
        let work = async {
            let mut facts = self.one_instance(instance_id).await?;
            let aws = facts.aws.as_ref().expect("collected from AWS");
            let instance = aws.ec2_instance();
            let agent = aws.agent.value().and_then(Option::as_ref);
            let os = match agent.and_then(|a| a.platform_name.as_deref()) {
                Some(name) => {
                    operating_system(name, agent.and_then(|a| a.platform_version.as_deref()))
                }
                None => instance
                    .and_then(|i| i.platform.as_deref())
                    .filter(|p| p.eq_ignore_ascii_case("windows"))
                    .map(|_| "WINDOWS"),
            };
            let tags = instance.and_then(|i| i.tags.as_ref());
            let patch = self.patch_facts(instance_id, tags, os).await;
            facts.task = Some(Task::Patch(patch));
            Ok(facts)
        };
        let facts = ledger.run(Scope::Run, work).await?;
        Ok((facts, ledger.total()))
    }

    /// One instance's facts as the main command gathers them (without what only Session Manager
    /// needs, when this `Aws` was set up so).
    async fn one_instance(&self, id: &str) -> Result<Facts, SetupError> {
        let selection = Selection {
            instance_ids: vec![id.to_string()],
            ..Selection::default()
        };
        let mut all = Box::pin(self.gather(&selection, DEFAULT_DOCUMENT)).await?;
        Ok(all.remove(0))
    }

    /// A role's facts with no instance (`param --role`): the account asked in, the role and
    /// every policy that shapes what it may do.
    async fn role_only(&self, role: &str) -> Result<Facts, SetupError> {
        let (caller, iam) = tokio::join!(self.caller(), self.role_facts(role));
        if let Some(problem) = setup_problem(&caller, &self.region) {
            return Err(problem);
        }
        let account = caller.value().map(|c| c.account.clone());
        let none = Fetch::not_applicable("no instance: --role names the role");
        let aws = AwsFacts {
            iam: std::sync::Arc::new(iam),
            ..AwsFacts::unknown_because(&none)
        };
        Ok(self.facts("", DEFAULT_DOCUMENT, aws, &None, &account))
    }

    /// What reading parameter `name` takes: the parameter as described (its key's policy for a
    /// customer key), or the existing names near it.
    async fn parameter_facts(
        &self,
        name: &str,
        by_path: bool,
        role: Option<&str>,
    ) -> ParameterFacts {
        let exact = vec![filter("Name", "Equals", name)];
        let parameter = self.describe_parameters(exact, EXACT_PAGES, true);
        // Exactly that name: an emulator (moto) answers `a/b` with `/a/b`, which an application
        // asking for `a/b` does not get.
        let parameter = parameter
            .await
            .map(|found| found.into_iter().find(|p| p.name == name));
        let nearby = match &parameter {
            Fetch::Collected { value: None } => self.nearby(name).await,
            _ => Fetch::not_applicable("the parameter exists"),
        };
        let key = match parameter.value().and_then(Option::as_ref) {
            Some(p) if p.kind == "SecureString" => match p.key_id.as_deref() {
                None | Some(AWS_SSM_KEY) => Fetch::not_applicable("encrypted with aws/ssm"),
                Some(key) => self.key(key).await,
            },
            Some(p) => Fetch::not_applicable(format!("a {} parameter", p.kind)),
            None => Fetch::not_applicable("no such parameter"),
        };
        ParameterFacts {
            name: name.to_string(),
            by_path,
            role: role.map(str::to_string),
            parameter,
            nearby,
            key,
        }
    }

    /// Names an application may have meant: those beside it under its parent path, those under
    /// its first path segment, and the name with a leading `/`.
    async fn nearby(&self, name: &str) -> Fetch<Vec<String>> {
        let rooted = match name.starts_with('/') {
            true => name.to_string(),
            false => format!("/{name}"),
        };
        let parent = match rooted.rfind('/') {
            Some(0) | None => "/".to_string(),
            Some(at) => rooted[..at].to_string(),
        };
        let first = rooted
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or_default();
        let mut asks = vec![vec![filter("Path", "OneLevel", &parent)]];
        if !first.is_empty() && parent != "/" {
            asks.push(vec![filter("Name", "BeginsWith", &format!("/{first}"))]);
        }
        if rooted != name {
            asks.push(vec![filter("Name", "Equals", &rooted)]);
        }
        let answers = join_all(
            asks.into_iter()
                .map(|filters| self.describe_parameters(filters, NEARBY_PAGES, false)),
        )
        .await;
        let mut names = BTreeSet::new();
        for answer in answers {
            match answer.take() {
                Ok(found) => names.extend(found.into_iter().map(|p| p.name)),
                Err(missing) => return missing,
            }
        }
        Fetch::collected(names.into_iter().collect())
    }

    /// `ssm:DescribeParameters` with `filters`, at most `pages` pages; when `complete`, more answers
    /// than that are a failure (what was not read may hold the name), else they are left unread.
    async fn describe_parameters(
        &self,
        filters: Vec<ParameterStringFilter>,
        pages: usize,
        complete: bool,
    ) -> Fetch<Vec<Parameter>> {
        let request = self
            .ssm
            .describe_parameters()
            .set_parameter_filters(Some(filters))
            .max_results(50);
        let mut stream = request.into_paginator().send();
        let mut all = Vec::new();
        for _ in 0..pages {
            match self.page(stream.next()).await {
                None => return Fetch::collected(all),
                Some(Ok(page)) => {
                    let read: Result<Vec<Parameter>, Missing> =
                        page.parameters().iter().map(parameter).collect();
                    match read {
                        Ok(found) => all.extend(found),
                        Err(missing) => return incomplete("ssm:DescribeParameters", missing),
                    }
                }
                Some(Err(e)) => return failure("ssm:DescribeParameters", e),
            }
        }
        match complete {
            true => Fetch::Failed {
                action: "ssm:DescribeParameters".into(),
                reason: format!("still answering after {pages} pages"),
            },
            false => Fetch::collected(all),
        }
    }

    /// A role named by `--role`: itself and every policy that shapes what it may do.
    async fn role_facts(&self, name: &str) -> IamFacts {
        let (_, role) = self.iam_for_profiles(BTreeSet::new(), Some(name)).await;
        role.expect("the role was asked for")
    }

    /// Whether and how `instance` is patched: windows with their targets and tasks, associations,
    /// the baseline that applies, the last patch state, the tasks' roles.
    async fn patch_facts(
        &self,
        instance_id: &str,
        tags: Option<&BTreeMap<String, String>>,
        os: Option<&str>,
    ) -> PatchFacts {
        let patch_group = PATCH_GROUP_TAGS
            .iter()
            .find_map(|t| tags.and_then(|tags| tags.get(*t)).cloned());
        let operating_system = os.map(str::to_string);
        let (windows, associations, baselines, state) = tokio::join!(
            self.windows(),
            self.associations(),
            self.baselines(patch_group.as_deref(), os),
            self.patch_state(instance_id),
        );
        let (group_baseline, default_baseline, baseline) = baselines;
        let mut roles = BTreeSet::new();
        for window in windows.value().into_iter().flatten() {
            for task in window.tasks.value().into_iter().flatten() {
                if !patches(&task.document) {
                    continue;
                }
                let role = task.service_role.as_deref().map(last_segment);
                roles.insert(role.unwrap_or(SERVICE_LINKED_ROLE).to_string());
            }
        }
        let service_roles = join_all(roles.into_iter().map(|name| async move {
            let role = self.role(&name).await;
            (name, role)
        }))
        .await
        .into_iter()
        .collect::<BTreeMap<String, Fetch<Role>>>();
        PatchFacts {
            asked_at: time(&DateTime::from(SystemTime::now())).unwrap_or_default(),
            patch_group,
            operating_system,
            windows,
            associations,
            group_baseline,
            default_baseline,
            baseline,
            state,
            service_roles,
        }
    }

    async fn windows(&self) -> Fetch<Vec<Window>> {
        let request = self.ssm.describe_maintenance_windows().max_results(50);
        let listed = paged!(self, "ssm:DescribeMaintenanceWindows", request, |p| p
            .window_identities()
            .iter()
            .map(|w| Ok::<_, Missing>(Window {
                id: required(w.window_id(), "a window's WindowId")?.to_string(),
                name: w.name().map(str::to_string),
                enabled: w.enabled(),
                schedule: w.schedule().map(str::to_string),
                timezone: w.schedule_timezone().map(str::to_string),
                duration: w.duration(),
                cutoff: Some(w.cutoff()),
                next_run: w.next_execution_time().map(str::to_string),
                start_date: w.start_date().map(str::to_string),
                end_date: w.end_date().map(str::to_string),
                targets: Fetch::not_applicable("not read yet"),
                tasks: Fetch::not_applicable("not read yet"),
            }))
            .collect::<Result<Vec<_>, _>>());
        let Fetch::Collected { value: windows } = listed else {
            return listed;
        };
        let read = join_all(windows.into_iter().map(|mut window| async move {
            let (targets, tasks) = tokio::join!(self.targets(&window.id), self.tasks(&window.id));
            window.targets = targets;
            window.tasks = tasks;
            window
        }));
        Fetch::collected(read.await)
    }

    async fn targets(&self, window: &str) -> Fetch<Vec<WindowTarget>> {
        let request = self
            .ssm
            .describe_maintenance_window_targets()
            .window_id(window)
            .max_results(50);
        paged!(self, "ssm:DescribeMaintenanceWindowTargets", request, |p| p
            .targets()
            .iter()
            .map(|t| Ok::<_, Missing>(WindowTarget {
                id: required(t.window_target_id(), "a target's WindowTargetId")?.to_string(),
                name: t.name().map(str::to_string),
                targets: selectors(t.targets()),
            }))
            .collect::<Result<Vec<_>, _>>())
    }

    async fn tasks(&self, window: &str) -> Fetch<Vec<WindowTask>> {
        let request = self
            .ssm
            .describe_maintenance_window_tasks()
            .window_id(window)
            .max_results(50);
        paged!(self, "ssm:DescribeMaintenanceWindowTasks", request, |p| p
            .tasks()
            .iter()
            .map(|t| Ok::<_, Missing>(WindowTask {
                id: required(t.window_task_id(), "a task's WindowTaskId")?.to_string(),
                document: t.task_arn().unwrap_or_default().to_string(),
                kind: t
                    .r#type()
                    .map(|k| k.as_str().to_string())
                    .unwrap_or_default(),
                targets: selectors(t.targets()),
                service_role: t.service_role_arn().map(str::to_string),
            }))
            .collect::<Result<Vec<_>, _>>())
    }

    async fn associations(&self) -> Fetch<Vec<Association>> {
        let request = self.ssm.list_associations().max_results(50);
        let all = paged!(self, "ssm:ListAssociations", request, |p| p
            .associations()
            .iter()
            .map(|a| Ok::<_, Missing>(Association {
                id: required(a.association_id(), "an association's AssociationId")?.to_string(),
                document: a.name().unwrap_or_default().to_string(),
                // An association made with --instance-id names its one instance, no targets.
                targets: match (a.targets(), a.instance_id()) {
                    ([], Some(id)) => vec![Selector {
                        key: "InstanceIds".into(),
                        values: vec![id.to_string()],
                    }],
                    (targets, _) => selectors(targets),
                },
                schedule: a.schedule_expression().map(str::to_string),
                last_run: a.last_execution_date().and_then(time),
                status: a.overview().and_then(|o| o.status()).map(str::to_string),
            }))
            .collect::<Result<Vec<_>, _>>());
        all.map(|list| list.into_iter().filter(|a| patches(&a.document)).collect())
    }

    /// The baseline registered for the patch group (when the instance has one), the default one
    /// (when that does not apply), and the one that applies, read.
    async fn baselines(
        &self,
        group: Option<&str>,
        os: Option<&str>,
    ) -> (Fetch<Option<String>>, Fetch<String>, Fetch<Baseline>) {
        let Some(os) = os else {
            let unknown = "SSM does not know the instance's operating system";
            return (
                Fetch::not_applicable(unknown),
                Fetch::not_applicable(unknown),
                Fetch::not_applicable(unknown),
            );
        };
        let group_baseline = match group {
            None => Fetch::not_applicable("the instance has no patch group"),
            Some(group) => {
                let request = self
                    .ssm
                    .get_patch_baseline_for_patch_group()
                    .patch_group(group)
                    .operating_system(OperatingSystem::from(os));
                match self.call(request.send()).await {
                    Ok(out) => Fetch::collected(
                        out.baseline_id()
                            .filter(|id| !id.is_empty())
                            .map(str::to_string),
                    ),
                    Err(e) => failure("ssm:GetPatchBaselineForPatchGroup", e),
                }
            }
        };
        // Asked even when the group has its own: Systems Manager answers a group nobody
        // registered with the default baseline, which only this tells apart.
        let default_baseline = match &group_baseline {
            // Which baseline applies is unknown while the group's is.
            Fetch::Denied { .. } | Fetch::Failed { .. } => group_baseline
                .absent()
                .expect("a denied or failed answer is absent"),
            _ => {
                let request = self
                    .ssm
                    .get_default_patch_baseline()
                    .operating_system(OperatingSystem::from(os));
                match self.call(request.send()).await {
                    Ok(out) => match out.baseline_id() {
                        Some(id) => Fetch::collected(id.to_string()),
                        None => incomplete(
                            "ssm:GetDefaultPatchBaseline",
                            Missing("the BaselineId".into()),
                        ),
                    },
                    Err(e) => failure("ssm:GetDefaultPatchBaseline", e),
                }
            }
        };
        let applied = match (&group_baseline, &default_baseline) {
            (Fetch::Collected { value: Some(id) }, _) => Ok(id.clone()),
            (_, Fetch::Collected { value }) => Ok(value.clone()),
            (_, missing) => Err(missing
                .absent()
                .unwrap_or_else(|| Fetch::not_applicable("not read"))),
        };
        let baseline = match applied {
            Ok(id) => self.baseline(&id).await,
            Err(missing) => missing,
        };
        (group_baseline, default_baseline, baseline)
    }

    async fn baseline(&self, id: &str) -> Fetch<Baseline> {
        match self
            .call(self.ssm.get_patch_baseline().baseline_id(id).send())
            .await
        {
            Ok(out) => Fetch::collected(Baseline {
                id: out.baseline_id().unwrap_or(id).to_string(),
                name: out.name().map(str::to_string),
                operating_system: out.operating_system().map(|o| o.as_str().to_string()),
                rules: out
                    .approval_rules()
                    .map(|g| g.patch_rules().iter().map(rule).collect())
                    .unwrap_or_default(),
                approved: out.approved_patches().to_vec(),
                rejected: out.rejected_patches().to_vec(),
            }),
            Err(e) => failure("ssm:GetPatchBaseline", e),
        }
    }

    async fn patch_state(&self, instance_id: &str) -> Fetch<Option<PatchState>> {
        let request = self
            .ssm
            .describe_instance_patch_states()
            .instance_ids(instance_id);
        match self.call(request.send()).await {
            Ok(out) => Fetch::collected(out.instance_patch_states().first().map(|s| PatchState {
                operation: s.operation().as_str().to_string(),
                ended: time(s.operation_end_time()),
                baseline_id: Some(s.baseline_id().to_string()).filter(|b| !b.is_empty()),
                installed: s.installed_count(),
                installed_pending_reboot: s.installed_pending_reboot_count().unwrap_or(0),
                missing: s.missing_count(),
                failed: s.failed_count(),
            })),
            Err(e) => failure("ssm:DescribeInstancePatchStates", e),
        }
    }
}

/// "CLASSIFICATION Security, Critical; SEVERITY Critical; 7 days after release".
fn rule(r: &PatchRule) -> String {
    let mut parts: Vec<String> = r
        .patch_filter_group()
        .map(|g| {
            g.patch_filters()
                .iter()
                .map(|f| format!("{} {}", f.key().as_str(), f.values().join(", ")))
                .collect()
        })
        .unwrap_or_default();
    if let Some(days) = r.approve_after_days() {
        parts.push(format!("approved {days} days after release"));
    }
    if let Some(date) = r.approve_until_date() {
        parts.push(format!("released until {date}"));
    }
    if let Some(level) = r.compliance_level() {
        parts.push(format!("compliance {}", level.as_str()));
    }
    parts.join("; ")
}

/// A parameter's metadata as `DescribeParameters` lists it.
fn parameter(p: &aws_sdk_ssm::types::ParameterMetadata) -> Result<Parameter, Missing> {
    Ok(Parameter {
        name: required(p.name(), "a parameter's Name")?.to_string(),
        arn: p.arn().unwrap_or_default().to_string(),
        kind: p
            .r#type()
            .map(|t| t.as_str().to_string())
            .unwrap_or_default(),
        key_id: p.key_id().map(str::to_string),
        tier: p.tier().map(|t| t.as_str().to_string()),
        version: Some(p.version()),
        last_modified: p.last_modified_date().and_then(time),
    })
}

/// The operating system Patch Manager names, from what the agent reports.
fn operating_system(platform_name: &str, platform_version: Option<&str>) -> Option<&'static str> {
    let name = platform_name.to_ascii_lowercase();
    let version = platform_version.unwrap_or_default();
    Some(match () {
        _ if name.contains("windows") => "WINDOWS",
        _ if name.starts_with("amazon linux") && version.starts_with("2023") => "AMAZON_LINUX_2023",
        // Amazon Linux 1 versions are dates: 2018.03.
        _ if name.starts_with("amazon linux") && (version == "2" || version.starts_with("2.")) => {
            "AMAZON_LINUX_2"
        }
        _ if name.starts_with("amazon linux") => "AMAZON_LINUX",
        _ if name.contains("ubuntu") => "UBUNTU",
        _ if name.contains("debian") => "DEBIAN",
        _ if name.contains("red hat") => "REDHAT_ENTERPRISE_LINUX",
        _ if name.contains("centos") => "CENTOS",
        _ if name.contains("oracle") => "ORACLE_LINUX",
        _ if name.contains("suse") || name.contains("sles") => "SUSE",
        _ if name.contains("rocky") => "ROCKY_LINUX",
        _ if name.contains("alma") => "ALMA_LINUX",
        _ if name.contains("raspbian") || name.contains("raspberry") => "RASPBIAN",
        _ if name.contains("mac") => "MACOS",
        _ => return None,
    })
}
