//! patch.*: whether Patch Manager patches the instance: it is a managed node, a maintenance window
//! (or association) runs the patching document on it, the window opens, its task's role works,
//! a baseline applies, the instance reaches the patch buckets, and what the last run said.

use super::iam::{agent_policies, trusts};
use super::outcome::{CheckResult, Outcome, need, worst_of};
use super::permissions::{parse, request_context};
use super::{Context, reused, worst};
use crate::analysis::path::{Internet, Reach};
use crate::facts::{
    Association, Fetch, Instance, PATCH_GROUP_TAGS, PatchFacts, SERVICE_LINKED_ROLE, Selector,
    Task, Window, WindowTarget, WindowTask, last_segment, patches,
};
use crate::policy::{
    Decision, Labeled, Principal, Request, evaluate_identity, evaluate_resource_policy,
};
use crate::report::Status;
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;

/// The Session Manager checks that say whether the instance is a managed node, Online.
const MANAGED_CHECKS: &[&str] = &[
    "instance.found",
    "instance.running",
    "agent.registered",
    "agent.online",
];

/// A patch state older than this is stale: AWS's own compliance reporting looks back as far.
const STALE_DAYS: i64 = 35;

const DAY: i64 = 86_400;

fn asked<'a>(ctx: &Context<'a>) -> Result<&'a PatchFacts, Outcome> {
    match &ctx.facts.task {
        Some(Task::Patch(p)) => Ok(p),
        _ => Err(Outcome::error("These facts hold no patching question.")),
    }
}

/// Seconds since the epoch of a time as Systems Manager writes them (`2026-12-06T02:00Z`,
/// `2026-12-06T02:00:00.000Z`, `2021-04-07T14:29:00-08:00`; without a zone: UTC).
pub(super) fn seconds(text: &str) -> Option<i64> {
    // Minutes only: the seconds go after them.
    let full = match (text.get(..16), text.as_bytes().get(16)) {
        (Some(minutes), next) if next != Some(&b':') && minutes.as_bytes()[13] == b':' => {
            format!("{minutes}:00{}", &text[16..])
        }
        _ => text.to_string(),
    };
    let time = full.get(11..).unwrap_or_default();
    let zoned = match time.ends_with('Z') || time.contains(['+', '-']) {
        true => full,
        false => format!("{full}Z"),
    };
    DateTime::from_str(&zoned, Format::DateTimeWithOffset)
        .ok()
        .map(|d| d.secs())
}

pub fn managed(ctx: &Context) -> CheckResult {
    let findings = reused(ctx, MANAGED_CHECKS);
    let agent = ctx.aws.agent.value().and_then(Option::as_ref);
    let platform = agent
        .map(|a| {
            let version = a.platform_version.as_deref().unwrap_or_default();
            format!(
                "{} {version}",
                a.platform_name.as_deref().unwrap_or("an unknown platform")
            )
        })
        .unwrap_or_default();
    Ok(worst(&findings, &ctx.facts.target.instance_id, |_| {
        format!(
            "{} is a managed node, Online ({}): Patch Manager's commands reach it.",
            ctx.facts.target.instance_id,
            platform.trim()
        )
    }))
}

/// Whether a target selector names the instance: `Some(false)` when it does not, `None` when
/// ssm-doctor cannot tell (a resource group's members are not read).
fn selects(selector: &Selector, instance: &Instance) -> Option<bool> {
    let tags = instance.tags.as_ref();
    let key = selector.key.as_str();
    if key.eq_ignore_ascii_case("InstanceIds") {
        return Some(
            selector
                .values
                .iter()
                .any(|v| v == "*" || *v == instance.instance_id),
        );
    }
    if let Some(tag) = key.strip_prefix("tag:") {
        let value = tags?.get(tag);
        return Some(value.is_some_and(|v| selector.values.iter().any(|w| w == v)));
    }
    if key == "tag-key" {
        return Some(
            selector
                .values
                .iter()
                .any(|k| tags.is_some_and(|t| t.contains_key(k))),
        );
    }
    None
}

/// Every selector must name the instance (tags combine); `None` when one cannot be told.
fn all_select(selectors: &[Selector], instance: &Instance) -> Option<bool> {
    if selectors.is_empty() {
        return Some(false);
    }
    let mut unknown = false;
    for s in selectors {
        match selects(s, instance) {
            Some(false) => return Some(false),
            Some(true) => {}
            None => unknown = true,
        }
    }
    (!unknown).then_some(true)
}

fn said(selectors: &[Selector]) -> String {
    let parts: Vec<String> = selectors
        .iter()
        .map(|s| format!("{}={}", s.key, s.values.join(",")))
        .collect();
    parts.join(" and ")
}

/// What patches the instance, or might, or patches others.
#[derive(Default)]
struct Targeting<'a> {
    /// Window, task, and how the task reaches the instance (`target wt-… (tag:…)`).
    windows: Vec<(&'a Window, &'a WindowTask, String)>,
    associations: Vec<&'a Association>,
    /// What may target it: a resource group, a selector ssm-doctor does not know.
    doubtful: Vec<String>,
    /// Patching tasks that target other instances, said, with their window's id.
    elsewhere: Vec<(&'a str, String)>,
    /// The first window target a patching task aims at that misses the instance.
    missed: Option<&'a WindowTarget>,
    /// A fact that could not be read, as the outcome a check gives for it.
    unknown: Option<Outcome>,
}

impl<'a> Targeting<'a> {
    fn enabled(&self) -> impl Iterator<Item = &(&'a Window, &'a WindowTask, String)> {
        self.windows.iter().filter(|(w, _, _)| w.enabled)
    }
}

fn targeting<'a>(patch: &'a PatchFacts, instance: &'a Instance) -> Targeting<'a> {
    let mut found = Targeting::default();
    match need(&patch.windows) {
        Err(why) => found_unknown(&mut found.unknown, why),
        Ok(windows) => {
            for window in windows {
                let tasks = match need(&window.tasks) {
                    Ok(tasks) => tasks,
                    Err(why) => {
                        found_unknown(&mut found.unknown, why);
                        continue;
                    }
                };
                // A patching document runs as a command; an empty kind is an older snapshot's.
                let runs = |t: &&WindowTask| t.kind.is_empty() || t.kind == "RUN_COMMAND";
                for task in tasks.iter().filter(|t| patches(&t.document)).filter(runs) {
                    judge_task(&mut found, window, task, instance);
                }
            }
        }
    }
    match need(&patch.associations) {
        Err(why) => found_unknown(&mut found.unknown, why),
        Ok(associations) => {
            for a in associations {
                match all_select(&a.targets, instance) {
                    Some(true) => found.associations.push(a),
                    Some(false) => {}
                    None => found.doubtful.push(format!(
                        "association {} ({}) targets {}",
                        a.id,
                        a.document,
                        said(&a.targets)
                    )),
                }
            }
        }
    }
    found
}

fn found_unknown(slot: &mut Option<Outcome>, why: Outcome) {
    if slot.is_none() {
        *slot = Some(why);
    }
}

/// Whether one patching task of `window` reaches the instance, through its window's targets or
/// instance ids of its own.
fn judge_task<'a>(
    found: &mut Targeting<'a>,
    window: &'a Window,
    task: &'a WindowTask,
    instance: &Instance,
) {
    let mut doubt = None;
    for selector in &task.targets {
        if selector.key != "WindowTargetIds" {
            match selects(selector, instance) {
                Some(true) => {
                    let how = format!(
                        "its task {} targets {}",
                        task.id,
                        said(std::slice::from_ref(selector))
                    );
                    found.windows.push((window, task, how));
                    return;
                }
                Some(false) => found.elsewhere.push((
                    &window.id,
                    format!(
                        "task {} ({})",
                        task.id,
                        said(std::slice::from_ref(selector))
                    ),
                )),
                None => doubt = Some(said(std::slice::from_ref(selector))),
            }
            continue;
        }
        let targets = match need(&window.targets) {
            Ok(targets) => targets,
            Err(why) => {
                found_unknown(&mut found.unknown, why);
                return;
            }
        };
        for target in targets.iter().filter(|t| selector.values.contains(&t.id)) {
            match all_select(&target.targets, instance) {
                Some(true) => {
                    let how = format!("target {} ({})", target.id, said(&target.targets));
                    found.windows.push((window, task, how));
                    return;
                }
                Some(false) => {
                    found.missed.get_or_insert(target);
                    found.elsewhere.push((
                        &window.id,
                        format!("target {} ({})", target.id, said(&target.targets)),
                    ));
                }
                None => doubt = Some(format!("target {} ({})", target.id, said(&target.targets))),
            }
        }
    }
    if let Some(what) = doubt {
        found.doubtful.push(format!(
            "window {} {} through {what}",
            window.id,
            name(window)
        ));
    } else if task.targets.is_empty() {
        found
            .elsewhere
            .push((&window.id, format!("task {} has no targets", task.id)));
    }
}

fn name(window: &Window) -> String {
    window
        .name
        .as_deref()
        .map(|n| format!("({n})"))
        .unwrap_or_default()
}

fn next_run(window: &Window) -> String {
    match &window.next_run {
        Some(t) => format!("next run {t}"),
        None => "no next run".to_string(),
    }
}

pub fn targeted(ctx: &Context) -> CheckResult {
    let patch = asked(ctx)?;
    let instance = ctx.named_instance()?;
    let found = targeting(patch, instance);
    let id = &instance.instance_id;
    let mut ways: Vec<String> = found
        .enabled()
        .map(|(w, task, how)| {
            format!(
                "maintenance window {} {} runs {} on it through {how} ({})",
                w.id,
                name(w),
                task.document,
                next_run(w)
            )
        })
        .collect();
    ways.extend(found.associations.iter().map(|a| {
        format!(
            "association {} runs {} on it ({}{})",
            a.id,
            a.document,
            a.schedule
                .as_deref()
                .map(|s| format!("schedule {s}"))
                .unwrap_or_else(|| "no schedule: it ran once".into()),
            match (a.last_run.as_deref(), a.status.as_deref()) {
                (Some(t), Some(status)) => format!(", last run {t}: {status}"),
                (Some(t), None) => format!(", last run {t}"),
                _ => String::new(),
            }
        )
    }));
    let outcome = if !ways.is_empty() {
        let mut pass = Outcome::pass(format!("{}.", capitalised(&ways.join("; "))));
        if let Some(w) = found.enabled().next() {
            pass = pass.var("window_id", &w.0.id);
        }
        pass
    } else if let Some(unknown) = found.unknown {
        return Err(unknown);
    } else if let Some((w, _, how)) = found.windows.first() {
        Outcome::fail(format!(
            "Maintenance window {} {} would patch {id} through {how}, but it is disabled: it \
             never runs.",
            w.id,
            name(w)
        ))
        .var("window_id", &w.id)
    } else if !found.doubtful.is_empty() {
        Outcome::warn(format!(
            "No maintenance window or association surely targets {id}; {} — ssm-doctor cannot \
             tell whether that includes {id} (it does not read a resource group's members): \
             make sure it does.",
            found.doubtful.join("; ")
        ))
    } else {
        let mut message = format!(
            "Nothing patches {id}: no maintenance window task or State Manager association \
             running AWS-RunPatchBaseline targets it."
        );
        if !found.elsewhere.is_empty() {
            let others: Vec<String> = found
                .elsewhere
                .iter()
                .map(|(w, how)| format!("window {w}'s {how}"))
                .collect();
            message.push_str(&format!(
                " Patching tasks target other instances: {}. The instance's tags: {}.",
                others.join("; "),
                tags_said(instance)
            ));
        }
        let mut fail = Outcome::fail(message);
        if let Some((w, _)) = found.elsewhere.first() {
            fail = fail.var("window_id", *w);
        }
        // The fix tags the instance as the missed target expects, and names that target.
        if let Some(target) = found.missed {
            fail = fail.var("window_target_id", &target.id);
            let group = target.targets.iter().find(|s| {
                PATCH_GROUP_TAGS
                    .iter()
                    .any(|t| s.key.strip_prefix("tag:") == Some(t))
            });
            if let Some(value) = group.and_then(|s| s.values.first()) {
                fail = fail.var("patch_group", value);
            }
        }
        fail
    };
    Ok(outcome.with(
        "windows",
        found
            .windows
            .iter()
            .map(|(w, t, how)| {
                serde_json::json!({"window_id": w.id, "enabled": w.enabled, "task_id": t.id, "via": how})
            })
            .collect::<Vec<_>>(),
    ))
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn tags_said(instance: &Instance) -> String {
    let tags: Vec<String> = instance
        .tags
        .iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    match tags.is_empty() {
        true => "none".to_string(),
        false => tags.join(", "),
    }
}

/// The enabled windows whose patching task targets the instance, or `skip` when only
/// associations patch it (they have no window).
fn windows<'a>(ctx: &Context<'a>) -> Result<Vec<(&'a Window, &'a WindowTask)>, Outcome> {
    let patch = asked(ctx)?;
    let found = targeting(patch, ctx.named_instance()?);
    let enabled: Vec<(&Window, &WindowTask)> = found.enabled().map(|(w, t, _)| (*w, *t)).collect();
    match (enabled.is_empty(), found.doubtful.is_empty()) {
        (false, _) => Ok(enabled),
        (true, false) => Err(Outcome::skip(
            "Whether a maintenance window patches the instance is not known (patch.targeted): \
             no window is judged.",
        )),
        (true, true) => Err(Outcome::skip(
            "No maintenance window patches the instance: State Manager associations do, and \
             have no window.",
        )),
    }
}

pub fn window(ctx: &Context) -> CheckResult {
    let patch = asked(ctx)?;
    let now = seconds(&patch.asked_at);
    let mut judged = Vec::new();
    for (w, _) in windows(ctx)? {
        let hours = match (w.duration, w.cutoff) {
            (Some(d), Some(c)) => format!(
                " for {d} h; tasks start until {c} h before it closes ({} h to start in)",
                d - c
            ),
            (Some(d), None) => format!(" for {d} h"),
            _ => String::new(),
        };
        let schedule = w.schedule.as_deref().unwrap_or("no schedule");
        let zone = w
            .timezone
            .as_deref()
            .map(|z| format!(" {z}"))
            .unwrap_or_default();
        let next = w.next_run.as_deref().and_then(seconds);
        let ended = w.end_date.as_deref().and_then(seconds);
        // A window whose start date is ahead opens then at the earliest.
        let starts = match (
            w.start_date.as_deref(),
            w.start_date.as_deref().and_then(seconds),
            now,
        ) {
            (Some(raw), Some(start), Some(now)) if start > now => format!(" from {raw}"),
            _ => String::new(),
        };
        let said = format!("Window {} {}, on {schedule}{zone}{starts},", w.id, name(w));
        let (status, message) = match (w.next_run.as_deref(), next, now) {
            (None, _, _) => {
                let why = match (ended, now) {
                    (Some(end), Some(now)) if end <= now => format!(
                        "its end date {} has passed",
                        w.end_date.as_deref().unwrap_or_default()
                    ),
                    _ => "its schedule has no next run".to_string(),
                };
                (
                    Status::Fail,
                    format!("{said} is enabled but never opens again: {why}."),
                )
            }
            (Some(raw), None, _) | (Some(raw), Some(_), None) => (
                Status::Warn,
                format!(
                    "{said} opens next at {raw}, a time ssm-doctor cannot compare with now: make \
                     sure it is ahead{hours}."
                ),
            ),
            (Some(raw), Some(next), Some(now)) if next < now => (
                Status::Fail,
                format!(
                    "{said} was to open at {raw}, which has passed: it does not open any more."
                ),
            ),
            (Some(raw), Some(_), Some(_)) => {
                (Status::Pass, format!("{said} opens next at {raw}{hours}."))
            }
        };
        judged.push((status, message, w.id.clone()));
    }
    // One window that opens patches the instance; a doubt about one outweighs the others' end.
    let best = judged
        .iter()
        .map(|(s, _, _)| *s)
        .max()
        .unwrap_or(Status::Fail);
    let said: Vec<&str> = judged
        .iter()
        .filter(|(s, _, _)| *s == best)
        .map(|(_, m, _)| m.as_str())
        .collect();
    let first = judged
        .iter()
        .find(|(s, _, _)| *s == best)
        .map(|(_, _, id)| id.clone())
        .unwrap_or_default();
    Ok(Outcome::new(best, said.join(" ")).var("window_id", first))
}

pub fn service_role(ctx: &Context) -> CheckResult {
    let patch = asked(ctx)?;
    let mut findings: Vec<(Status, String)> = Vec::new();
    let mut fine = Vec::new();
    // The first role at fault and its window: what the fix names.
    let mut at_fault: Option<(String, String)> = None;
    for (w, task) in windows(ctx)? {
        let role_name = task
            .service_role
            .as_deref()
            .map(last_segment)
            .unwrap_or(SERVICE_LINKED_ROLE);
        let who = format!("Task {} of window {}", task.id, w.id);
        let Some(role) = patch.service_roles.get(role_name) else {
            return Err(Outcome::error(format!(
                "Role {role_name} of {who} was not read."
            )));
        };
        let found = match role {
            Fetch::NotApplicable { .. } if task.service_role.is_none() => Some((
                Status::Fail,
                format!(
                    "{who} names no service role, and the service-linked role \
                     {SERVICE_LINKED_ROLE} does not exist"
                ),
            )),
            Fetch::NotApplicable { .. } => Some((
                Status::Fail,
                format!("{who} runs as role {role_name}, which does not exist"),
            )),
            _ if task.service_role.is_none() => {
                need(role)?;
                fine.push(format!(
                    "{who} runs as the service-linked role {SERVICE_LINKED_ROLE}"
                ));
                None
            }
            _ => {
                let trust = trusts(need(role)?, "ssm.amazonaws.com")?;
                match trust.status {
                    Status::Pass => {
                        fine.push(format!(
                            "{who} runs as role {role_name}, which trusts ssm.amazonaws.com"
                        ));
                        None
                    }
                    status => Some((status, format!("{who}: {}", trust.message))),
                }
            }
        };
        if let Some(found) = found {
            findings.push(found);
            at_fault.get_or_insert((role_name.to_string(), w.id.clone()));
        }
    }
    let outcome = worst_of(
        &findings,
        "The patching task cannot run as its role:",
        || Outcome::pass(format!("{}.", fine.join("; "))),
    );
    Ok(match at_fault {
        Some((role, window)) => outcome
            .var("service_role_name", role)
            .var("window_id", window),
        None => outcome,
    })
}

pub fn baseline(ctx: &Context) -> CheckResult {
    let patch = asked(ctx)?;
    let Some(os) = patch.operating_system.as_deref() else {
        return Ok(Outcome::warn(
            "ssm-doctor cannot tell which operating system Patch Manager sees (SSM reports no \
             platform it knows): the baseline that applies is not shown.",
        ));
    };
    let baseline = need(&patch.baseline)?;
    let named = format!(
        "{}{}",
        baseline.id,
        baseline
            .name
            .as_deref()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default()
    );
    let rules = match (baseline.rules.is_empty(), baseline.approved.len()) {
        (true, 0) => {
            "no approval rule and no approved patch: an Install installs nothing".to_string()
        }
        (true, n) => format!("{n} explicitly approved patches, no approval rule"),
        (false, n) => format!(
            "approval rules: {}{}",
            baseline.rules.join(" | "),
            match n {
                0 => String::new(),
                n => format!("; {n} more patches approved explicitly"),
            }
        ),
    };
    let rejected = match baseline.rejected.len() {
        0 => String::new(),
        n => format!("; {n} patches rejected"),
    };
    // A baseline id may be an ARN (AWS's own baselines): compared by its last part.
    let default = patch.default_baseline.value().map(|d| last_segment(d));
    let outcome = match (&patch.patch_group, need(&patch.group_baseline)) {
        (Some(group), Ok(Some(id))) if default == Some(last_segment(id)) => Outcome::warn(format!(
            "The instance's patch group {group} gets the default baseline for {os}, {named} \
             ({rules}{rejected}): Systems Manager answers so for a group no baseline is \
             registered for (a tag spelled otherwise than the registration?), unless the default \
             was registered for it on purpose."
        )),
        (Some(group), Ok(Some(_))) => Outcome::pass(format!(
            "Patch group {group} → baseline {named} for {os}: {rules}{rejected}."
        )),
        (Some(group), Ok(None)) => Outcome::warn(format!(
            "The instance's patch group {group} has no baseline registered for {os}: the \
             default baseline {named} applies ({rules}{rejected})."
        )),
        (Some(_), Err(unknown)) => return Err(unknown),
        (None, _) => Outcome::pass(format!(
            "No patch group tag: the default baseline for {os} applies, {named}: \
             {rules}{rejected}."
        )),
    };
    let outcome = match baseline.rules.is_empty() && baseline.approved.is_empty() {
        true if outcome.status == Status::Pass => Outcome::warn(outcome.message),
        _ => outcome,
    };
    Ok(outcome
        .with("baseline", baseline)
        .var("baseline_id", &baseline.id))
}

/// AWS's buckets the patching document downloads from, in the instance's region.
fn patch_buckets(region: &str) -> [String; 2] {
    [
        format!("patch-baseline-snapshot-{region}"),
        format!("aws-ssm-{region}"),
    ]
}

pub fn s3(ctx: &Context) -> CheckResult {
    let region = &ctx.facts.target.region;
    let path = ctx.path()?;
    let endpoints = need(&ctx.aws.network.vpc_endpoints)?;
    let buckets = patch_buckets(region);
    let endpoint = match path.reach(endpoints, region, "s3") {
        Reach::Internet(internet) if internet.carries_traffic() => {
            return Ok(Outcome::pass(format!(
                "The instance reaches S3 through {}: AWS's patch buckets ({}) are public.",
                internet.describe(),
                buckets.join(", ")
            )));
        }
        Reach::Internet(Internet::Opaque { target }) => {
            return Ok(Outcome::warn(format!(
                "The VPC has no S3 endpoint and the default route goes to {target}, which \
                 ssm-doctor cannot see past: make sure s3.{region}.amazonaws.com is reachable \
                 from there for {}.",
                buckets.join(", ")
            )));
        }
        Reach::Internet(other) => {
            return Ok(Outcome::fail(format!(
                "The instance cannot reach S3, where the patching document downloads the \
                 baseline snapshot ({}): the VPC has no S3 endpoint (a gateway endpoint routed \
                 from route table {}, or an interface one) and {}.",
                buckets[0],
                path.route_table.id,
                other.describe()
            )));
        }
        Reach::Gateway(e) | Reach::Interface(e) => e,
    };
    // Through an endpoint, the requests are the role's: its policies and the endpoint's decide.
    let role = need(&ctx.aws.iam.role)?;
    let (parsed, _) = agent_policies(ctx)?;
    let (labeled, boundary) = parsed.labeled();
    let context = request_context(ctx, role);
    let principal = Principal::Aws(role.arn.clone());
    let policy = match &endpoint.policy {
        Some(document) => Some(parse(document, &format!("the policy of {}", endpoint.id))?),
        None => None,
    };
    let label = format!("the policy of endpoint {}", endpoint.id);
    // (who, verdict, why) → the buckets it is said of: one sentence for both when they agree.
    let mut said: Vec<(String, Decision, String, Vec<String>)> = Vec::new();
    // `doubt`: a refusal that AWS's documents leave open is said as a doubt (see below).
    let mut note = |who: String, evaluation: &crate::policy::Evaluation, bucket: &str, doubt| {
        if evaluation.decision == Decision::Allowed {
            return;
        }
        let decision = match doubt {
            true => Decision::Uncertain,
            false => evaluation.decision,
        };
        let why = evaluation.to_string();
        match said
            .iter_mut()
            .find(|(w, d, y, _)| *w == who && *d == decision && *y == why)
        {
            Some((_, _, _, buckets)) => buckets.push(bucket.to_string()),
            None => said.push((who, decision, why, vec![bucket.to_string()])),
        }
    };
    // AWS documents the role's own s3:GetObject through an endpoint; the patching document also
    // downloads with presigned or unsigned requests, which a policy limited to the account's
    // principals refuses. Such requests carry no principal and no principal keys.
    let unsigned_context: std::collections::BTreeMap<String, String> = context
        .iter()
        .filter(|(key, _)| key.as_str() == "aws:RequestedRegion")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for bucket in &buckets {
        // Any object of the bucket: the document's keys change with every release.
        let resource = format!("arn:aws:s3:::{bucket}/snapshot");
        let request = Request {
            action: "s3:GetObject",
            resource: &resource,
            principal: Some(&principal),
            context: &context,
        };
        if let Some(document) = &policy {
            let labeled = Labeled {
                label: &label,
                document,
            };
            let by_endpoint = evaluate_resource_policy(&labeled, &request);
            note(
                format!("endpoint {}'s policy", endpoint.id),
                &by_endpoint,
                bucket,
                false,
            );
            let unsigned = Request {
                principal: None,
                context: &unsigned_context,
                ..request
            };
            if by_endpoint.decision == Decision::Allowed {
                note(
                    format!(
                        "endpoint {}'s policy, for requests without your credentials (presigned \
                         or unsigned downloads),",
                        endpoint.id
                    ),
                    &evaluate_resource_policy(&labeled, &unsigned),
                    bucket,
                    true,
                );
            }
        }
        let by_role = evaluate_identity(&labeled, boundary.as_ref(), &request);
        note(
            format!("role {}'s policies", role.name),
            &by_role,
            bucket,
            false,
        );
    }
    let sentence = |(who, decision, why, buckets): &(String, Decision, String, Vec<String>)| {
        let verb = match (decision, who.ends_with("policies")) {
            (Decision::Uncertain, _) => "may not allow",
            (_, true) => "do not allow",
            (_, false) => "does not allow",
        };
        format!(
            "{who} {verb} s3:GetObject on {} ({why})",
            buckets.join(" and ")
        )
    };
    let refused: Vec<String> = said
        .iter()
        .filter(|(_, d, _, _)| *d != Decision::Uncertain)
        .map(sentence)
        .collect();
    let doubtful: Vec<String> = said
        .iter()
        .filter(|(_, d, _, _)| *d == Decision::Uncertain)
        .map(sentence)
        .collect();
    let how = format!("The instance reaches S3 through endpoint {}", endpoint.id);
    let outcome = if !refused.is_empty() {
        Outcome::fail(format!(
            "{how}, but {}: AWS-RunPatchBaseline fails to download the baseline snapshot.",
            refused.join("; ")
        ))
    } else if !doubtful.is_empty() {
        Outcome::warn(format!("{how}, but {}.", doubtful.join("; ")))
    } else {
        Outcome::pass(format!(
            "{how}; its policy and role {} allow s3:GetObject on {}.",
            role.name,
            buckets.join(" and ")
        ))
    };
    Ok(outcome
        .with("endpoint_id", &endpoint.id)
        .var("s3_endpoint_id", &endpoint.id))
}

pub fn last_run(ctx: &Context) -> CheckResult {
    let patch = asked(ctx)?;
    let Some(state) = need(&patch.state)? else {
        return Ok(Outcome::warn(
            "Patch Manager has no patch state for the instance: it has never been scanned or \
             patched (the state appears after the first Scan or Install).",
        ));
    };
    let when = state.ended.as_deref().unwrap_or("an unknown time");
    let age = match (
        state.ended.as_deref().and_then(seconds),
        seconds(&patch.asked_at),
    ) {
        (Some(ended), Some(now)) => Some((now - ended).max(0) / DAY),
        _ => None,
    };
    let ago = age.map(|d| format!(" ({d} days ago)")).unwrap_or_default();
    let counts = format!(
        "{} installed, {} missing, {} failed{}",
        state.installed,
        state.missing,
        state.failed,
        match state.installed_pending_reboot {
            0 => String::new(),
            n => format!(", {n} awaiting a reboot"),
        }
    );
    let baseline = state
        .baseline_id
        .as_deref()
        .map(|b| format!(" with baseline {b}"))
        .unwrap_or_default();
    let said = format!(
        "The last {}{baseline} ended {when}{ago}: {counts}",
        state.operation
    );
    let outcome = if state.failed > 0 {
        Outcome::fail(format!(
            "{said}. Failed patches leave the instance non-compliant: the command's output \
             (Run Command history) says why."
        ))
    } else if state.missing > 0 && state.operation == "Scan" {
        Outcome::warn(format!(
            "{said}. The last operation was a Scan: the missing patches stay missing until an \
             Install runs (a patching task with Operation=Install)."
        ))
    } else if state.missing > 0 {
        Outcome::warn(format!("{said}: approved patches are still missing."))
    } else if age.is_some_and(|d| d > STALE_DAYS) {
        Outcome::warn(format!(
            "{said}: no patch run for more than {STALE_DAYS} days."
        ))
    } else if state.installed_pending_reboot > 0 {
        Outcome::warn(format!("{said}: reboot to finish installing."))
    } else {
        Outcome::pass(format!("{said}."))
    };
    Ok(outcome.with("state", state))
}
