//! The report: every check's finding for one instance, the verdict, and the exit code it maps to.
//! Renderers only present a `Report`; all decisions are made before it exists.

use crate::catalog::Severity;
use crate::exit::Exit;
use crate::facts::{Command, Vantage};
use serde::{Deserialize, Serialize};
use std::fmt;

/// 2: each instance's `stats` are its own (they were the run's totals), and `not_observed`.
pub const REPORT_SCHEMA_VERSION: u32 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Fail,
    Error,
    Warn,
    Skip,
    Pass,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Skip => "skip",
            Status::Error => "error",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Warn,
    Fail,
    /// No failure found, but some check could not be evaluated: the instance may still be broken.
    Incomplete,
}

impl Verdict {
    pub fn exit(self) -> Exit {
        match self {
            Verdict::Pass | Verdict::Warn => Exit::Healthy,
            Verdict::Fail => Exit::Failed,
            Verdict::Incomplete => Exit::Incomplete,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Remediation {
    pub text: String,
    pub cli: Option<String>,
    pub terraform: Option<String>,
    pub cloudformation: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub id: String,
    pub title: String,
    pub status: Status,
    pub severity: Severity,
    pub message: String,
    pub evidence: serde_json::Map<String, serde_json::Value>,
    /// Present for `fail`, `warn` and `error`.
    pub remediation: Option<Remediation>,
    pub docs: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub pass: u32,
    pub warn: u32,
    pub fail: u32,
    pub skip: u32,
    pub error: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportTarget {
    pub instance_id: String,
    pub region: String,
    pub account: Option<String>,
    /// The instance's `Name` tag, when it has one.
    pub name: Option<String>,
    /// The Session document the checks assumed (`--document`).
    pub document: String,
    /// `param` or `patch` for those subcommands' reports; left out for Session Manager's.
    #[serde(default, skip_serializing_if = "is_session")]
    pub command: Command,
    /// The parameter `param` was asked about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
    /// The role `param --role` judged (no instance then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

fn is_session(command: &Command) -> bool {
    *command == Command::Session
}

impl ReportTarget {
    /// What the report is about, as its heading names it.
    pub fn subject(&self) -> String {
        match (self.command, &self.parameter, &self.role) {
            (Command::Param, Some(name), Some(role)) => format!("parameter {name} · role {role}"),
            (Command::Param, Some(name), None) => {
                format!("parameter {name} · {}", self.instance_id)
            }
            (Command::Patch, _, _) => format!("patching {}", self.instance_id),
            _ => self.instance_id.clone(),
        }
    }
}

/// What gathering facts cost: HTTP requests sent to AWS (retries included, and how many of them
/// were retries) and milliseconds until the last answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub api_calls: u32,
    #[serde(default)]
    pub retries: u32,
    pub duration_ms: u64,
}

/// Checks a run did not evaluate because it did not observe from their vantage point (or from that
/// of a check they depend on): listed with how to run them, never judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotObserved {
    pub vantage: Vantage,
    /// e.g. "On-instance checks".
    pub title: String,
    /// e.g. "run `ssm-doctor local` on the instance".
    pub how: String,
    pub checks: Vec<String>,
}

impl NotObserved {
    /// One line for a report, in place of a row of skips.
    pub fn sentence(&self) -> String {
        format!(
            "{} not run ({}): to get them, {}.",
            self.title,
            self.checks.join(", "),
            self.how
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    pub tool: Tool,
    pub target: ReportTarget,
    pub verdict: Verdict,
    pub summary: Summary,
    pub checks: Vec<Finding>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_observed: Vec<NotObserved>,
    pub stats: Stats,
    /// How to connect, when the verdict is healthy (set by the caller, who knows the run's
    /// profile and options).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect: Option<Connect>,
}

/// Commands that open a session to a healthy instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Connect {
    /// A shell: `aws ssm start-session --target …`.
    pub session: String,
    /// Port forwarding (to `--forward`'s host, else the instance's port 80 on local port 8080).
    pub port_forwarding: String,
    /// The `~/.ssh/config` block for SSH over Session Manager.
    pub ssh_config: String,
}

impl Report {
    pub fn new(
        target: ReportTarget,
        checks: Vec<Finding>,
        not_observed: Vec<NotObserved>,
        stats: Stats,
    ) -> Report {
        let mut summary = Summary::default();
        for finding in &checks {
            *match finding.status {
                Status::Pass => &mut summary.pass,
                Status::Warn => &mut summary.warn,
                Status::Fail => &mut summary.fail,
                Status::Skip => &mut summary.skip,
                Status::Error => &mut summary.error,
            } += 1;
        }
        // Nothing judged is nothing known: never a pass.
        let verdict = if summary.fail > 0 {
            Verdict::Fail
        } else if summary.error > 0 || checks.is_empty() {
            Verdict::Incomplete
        } else if summary.warn > 0 {
            Verdict::Warn
        } else {
            Verdict::Pass
        };
        Report {
            schema_version: REPORT_SCHEMA_VERSION,
            tool: Tool {
                name: env!("CARGO_PKG_NAME").to_string(),
                version: env!("CARGO_PKG_VERSION").to_string(),
            },
            target,
            verdict,
            summary,
            checks,
            not_observed,
            stats,
            connect: None,
        }
    }

    /// The findings to act on, most serious first, in catalogue order within a status. A check
    /// left unevaluated only because another could not be evaluated is not one of them: fixing
    /// that other one fixes it (see [`Self::unevaluated_because_of`]).
    pub fn attention(&self) -> Vec<&Finding> {
        let mut out: Vec<&Finding> = self
            .checks
            .iter()
            .filter(|f| matches!(f.status, Status::Fail | Status::Error | Status::Warn))
            .filter(|f| blocked_by(f).is_none())
            .collect();
        out.sort_by_key(|f| f.status);
        out
    }

    /// The checks that could not be evaluated because `id` could not be, directly or through
    /// another such check.
    pub fn unevaluated_because_of(&self, id: &str) -> Vec<&str> {
        self.checks
            .iter()
            .filter(|f| blocked_by(f).is_some() && self.root_of(f) == id)
            .map(|f| f.id.as_str())
            .collect()
    }

    /// Follows `blocked_by` up to the check that could not be evaluated on its own.
    fn root_of<'a>(&'a self, mut f: &'a Finding) -> &'a str {
        while let Some(up) = blocked_by(f).and_then(|dep| self.checks.iter().find(|c| c.id == dep))
        {
            f = up;
        }
        &f.id
    }

    /// One sentence for the end of a report.
    pub fn headline(&self) -> String {
        let s = &self.summary;
        let t = &self.target;
        let id = match (t.command, &t.parameter) {
            (Command::Param, Some(name)) => name,
            _ => &t.instance_id,
        };
        let reader = match &t.role {
            Some(role) => format!("role {role}"),
            None => format!("the applications on {}", t.instance_id),
        };
        let (healthy, broken) = match t.command {
            Command::Session => (
                "should be reachable with Session Manager".to_string(),
                "is NOT reachable with Session Manager".to_string(),
            ),
            Command::Param => (
                format!("should be readable by {reader}"),
                format!("can NOT be read by {reader}"),
            ),
            Command::Patch => (
                "should be patched by Patch Manager".to_string(),
                "is NOT patched by Patch Manager as it should be".to_string(),
            ),
        };
        match self.verdict {
            Verdict::Pass => format!("{id} {healthy}."),
            Verdict::Warn => format!("{id} {healthy} ({} warning{}).", s.warn, plural(s.warn)),
            Verdict::Fail => format!(
                "{id} {broken}: {} problem{} to fix.",
                s.fail,
                plural(s.fail)
            ),
            Verdict::Incomplete if self.checks.is_empty() => {
                format!("{id}: no check was run: nothing is known about it yet.")
            }
            Verdict::Incomplete => format!(
                "{id}: no failure found, but {} check{} could not be evaluated.",
                s.error,
                plural(s.error)
            ),
        }
    }
}

fn plural(n: u32) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// How many instances ended with each verdict.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetSummary {
    pub instances: u32,
    pub pass: u32,
    pub warn: u32,
    pub fail: u32,
    pub incomplete: u32,
}

impl FleetSummary {
    pub fn count(&mut self, verdict: Verdict) {
        self.instances += 1;
        *match verdict {
            Verdict::Pass => &mut self.pass,
            Verdict::Warn => &mut self.warn,
            Verdict::Fail => &mut self.fail,
            Verdict::Incomplete => &mut self.incomplete,
        } += 1;
    }

    /// The worst instance decides: any failure, else any incomplete report, else healthy.
    pub fn exit(&self) -> Exit {
        if self.fail > 0 {
            Exit::Failed
        } else if self.incomplete > 0 {
            Exit::Incomplete
        } else {
            Exit::Healthy
        }
    }
}

/// A fleet report's line for one instance: what its table row shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub instance_id: String,
    pub name: Option<String>,
    pub verdict: Verdict,
    /// The id of the check to look at first.
    pub first_problem: Option<String>,
}

/// What a fleet's reports add up to, read one report at a time: a fleet of thousands is never
/// held in memory as reports, only as these rows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FleetOverview {
    pub rows: Vec<Row>,
    /// The instances that did not pass, grouped by their first problem and what it concerns.
    pub causes: Causes,
    pub summary: FleetSummary,
    /// What the reports say was not observed, each sentence once, in order.
    pub not_observed: Vec<String>,
    /// The account and region of the first report.
    pub account: Option<String>,
    pub region: String,
}

impl FleetOverview {
    pub fn of(reports: impl Iterator<Item = Report>) -> FleetOverview {
        let mut overview = FleetOverview::default();
        for report in reports {
            overview.add(&report);
        }
        overview
    }

    /// Counts one more instance's report.
    pub fn add(&mut self, report: &Report) {
        if self.rows.is_empty() {
            self.account.clone_from(&report.target.account);
            self.region.clone_from(&report.target.region);
        } else if !self.region.split(", ").any(|r| r == report.target.region) {
            // A run over several regions names them all.
            self.region = format!("{}, {}", self.region, report.target.region);
        }
        self.summary.count(report.verdict);
        for group in &report.not_observed {
            let sentence = group.sentence();
            if !self.not_observed.contains(&sentence) {
                self.not_observed.push(sentence);
            }
        }
        if let Some(first) = report.first_problem() {
            self.causes.add(&report.target.instance_id, first);
        }
        self.rows.push(Row {
            instance_id: report.target.instance_id.clone(),
            name: report.target.name.clone(),
            verdict: report.verdict,
            first_problem: report.first_problem().map(|f| f.id.clone()),
        });
    }
}

/// One shared root cause: a check's first problem about one resource (a VPC, a role, a route
/// table…; none when the check names none), and the instances it is the first problem of.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cause {
    pub check: String,
    pub status: Status,
    /// What the check judged, from its `group_by` evidence.
    pub resource: Option<String>,
    /// The first instance's finding, which speaks for the group.
    pub message: String,
    pub instances: Vec<String>,
}

/// A fleet's causes, in the order first seen until [`Causes::largest_first`], and where each
/// (check, resource) is in that order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Causes {
    all: Vec<Cause>,
    at: std::collections::HashMap<(String, Option<String>), usize>,
}

impl Causes {
    fn add(&mut self, instance: &str, first: &Finding) {
        let key = crate::catalog::Catalog::get()
            .page(&first.id)
            .and_then(|p| p.group_by.as_deref());
        let resource = key.and_then(|k| first.evidence.get(k)).and_then(named);
        let key = (first.id.clone(), resource);
        match self.at.get(&key) {
            Some(&i) => self.all[i].instances.push(instance.to_string()),
            None => {
                self.at.insert(key.clone(), self.all.len());
                self.all.push(Cause {
                    check: key.0,
                    status: first.status,
                    resource: key.1,
                    message: first.message.clone(),
                    instances: vec![instance.to_string()],
                });
            }
        }
    }

    /// The largest group first (then the first seen).
    pub fn largest_first(&self) -> Vec<&Cause> {
        let mut all: Vec<&Cause> = self.all.iter().collect();
        all.sort_by_key(|c| std::cmp::Reverse(c.instances.len()));
        all
    }
}

/// Evidence as a resource's name: a string, or strings joined (`sg-1, sg-2`).
fn named(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Array(items) => {
            let names: Vec<&str> = items.iter().filter_map(|i| i.as_str()).collect();
            (!names.is_empty()).then(|| names.join(", "))
        }
        _ => None,
    }
}

impl Report {
    /// The check a reader of a fleet table should look at first: the first failure, else error,
    /// else warning.
    pub fn first_problem(&self) -> Option<&Finding> {
        self.attention().into_iter().next()
    }
}

/// The check whose `error` left this one unevaluated, if that is why it is an error.
fn blocked_by(f: &Finding) -> Option<&str> {
    match f.status {
        Status::Error => f.evidence.get("blocked_by").and_then(|b| b.as_str()),
        _ => None,
    }
}
