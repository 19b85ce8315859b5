//! The checks: pure functions over [`Facts`], run in dependency order, turned into a [`Report`].
//!
//! Code here decides verdicts; the words a reader sees around them (title, why, remediation) live
//! in `checks/*.toml` and are joined in by [`run`].

mod agent;
mod central;
mod context;
mod endpoints;
mod forward;
mod iam;
mod instance;
mod local;
mod network;
mod operator;
pub mod outcome;
mod param;
mod patch;
mod permissions;
mod session;
mod simulation;
mod tally;
mod vpc;
mod vpce;

use crate::analysis::ip_ranges::IpRanges;
use crate::catalog::{Catalog, CheckPage, fill};
use crate::facts::{Facts, Task, Vantage};
use crate::report::{Finding, NotObserved, Remediation, Report, ReportTarget, Stats, Status};
pub use context::Context;
use outcome::{CheckResult, Outcome};
use std::collections::BTreeMap;
use std::sync::Arc;

pub struct Check {
    pub id: &'static str,
    pub run: fn(&Context) -> CheckResult,
}

/// The logic of every check, one line each, in any order: the catalogue (`checks/*.toml`) says
/// what each one depends on, and so in which order they run and reports list them.
pub static REGISTRY: &[Check] = &[
    Check {
        id: "instance.found",
        run: instance::found,
    },
    Check {
        id: "instance.running",
        run: instance::running,
    },
    Check {
        id: "instance.metadata",
        run: instance::metadata,
    },
    Check {
        id: "iam.profile",
        run: iam::profile,
    },
    Check {
        id: "iam.trust",
        run: iam::trust,
    },
    Check {
        id: "iam.core-permissions",
        run: iam::core_permissions,
    },
    Check {
        id: "iam.dhmc",
        run: iam::dhmc,
    },
    Check {
        id: "agent.registered",
        run: agent::registered,
    },
    Check {
        id: "agent.online",
        run: agent::online,
    },
    Check {
        id: "agent.version",
        run: agent::version,
    },
    Check {
        id: "agent.console",
        run: agent::console,
    },
    Check {
        id: "network.route",
        run: network::route,
    },
    Check {
        id: "network.dns-central",
        run: central::dns_central,
    },
    Check {
        id: "network.egress-443",
        run: network::egress_443,
    },
    Check {
        id: "network.nacl",
        run: network::nacl,
    },
    Check {
        id: "session.forward",
        run: forward::forward,
    },
    Check {
        id: "vpce.present",
        run: vpce::present,
    },
    Check {
        id: "vpce.private-dns",
        run: vpce::private_dns,
    },
    Check {
        id: "vpce.ingress-443",
        run: vpce::ingress_443,
    },
    Check {
        id: "vpce.policy",
        run: vpce::policy,
    },
    Check {
        id: "vpc.dns-support",
        run: vpc::dns_support,
    },
    Check {
        id: "vpc.dns-hostnames",
        run: vpc::dns_hostnames,
    },
    Check {
        id: "session.document",
        run: session::document_check,
    },
    Check {
        id: "session.logging",
        run: session::logging,
    },
    Check {
        id: "session.kms",
        run: session::kms,
    },
    Check {
        id: "operator.identity",
        run: operator::identity,
    },
    Check {
        id: "operator.permission",
        run: operator::permission,
    },
    Check {
        id: "operator.plugin",
        run: operator::plugin,
    },
    Check {
        id: "operator.network",
        run: endpoints::network,
    },
    Check {
        id: "local.metadata",
        run: local::metadata,
    },
    Check {
        id: "local.dns",
        run: local::dns,
    },
    Check {
        id: "local.tcp-443",
        run: local::tcp,
    },
    Check {
        id: "local.tls",
        run: local::tls,
    },
    Check {
        id: "local.proxy",
        run: local::proxy,
    },
    Check {
        id: "local.agent-service",
        run: local::agent_service,
    },
    Check {
        id: "local.agent-log",
        run: local::agent_log,
    },
    Check {
        id: "param.exists",
        run: param::exists,
    },
    Check {
        id: "param.permission",
        run: param::permission,
    },
    Check {
        id: "param.kms",
        run: param::kms,
    },
    Check {
        id: "param.path",
        run: param::path,
    },
    Check {
        id: "patch.managed",
        run: patch::managed,
    },
    Check {
        id: "patch.targeted",
        run: patch::targeted,
    },
    Check {
        id: "patch.window",
        run: patch::window,
    },
    Check {
        id: "patch.service-role",
        run: patch::service_role,
    },
    Check {
        id: "patch.baseline",
        run: patch::baseline,
    },
    Check {
        id: "patch.s3",
        run: patch::s3,
    },
    Check {
        id: "patch.last-run",
        run: patch::last_run,
    },
];

/// What the user supplies besides the facts, the same for every instance of a run.
#[derive(Debug, Clone, Default)]
pub struct Reference {
    /// AWS's published ranges (`--ip-ranges`): they decide egress narrower than the internet.
    pub ip_ranges: Option<Arc<IpRanges>>,
}

/// Runs every check over the facts; `stats` is what gathering them cost.
pub fn run(facts: &Facts, stats: Stats) -> Report {
    judge(facts, stats, &Reference::default())
}

/// Runs every check over the facts, with what the user supplied besides them.
pub fn judge(facts: &Facts, stats: Stats, reference: &Reference) -> Report {
    run_catalog(Catalog::get(), logic, (facts, reference), stats)
}

/// Runs the checks of `catalog` whose vantage point the facts were observed from, in catalogue
/// order; the others, and those depending on them, are listed as not observed.
fn run_catalog(
    catalog: &Catalog,
    logic: impl Fn(&str) -> fn(&Context) -> CheckResult,
    (facts, reference): (&Facts, &Reference),
    stats: Stats,
) -> Report {
    let ctx = Context::new(facts, reference);
    let mut done: BTreeMap<&str, usize> = BTreeMap::new();
    let mut unobserved: BTreeMap<&str, Vantage> = BTreeMap::new();
    let mut findings: Vec<Finding> = Vec::with_capacity(REGISTRY.len());
    for page in catalog.pages().filter(|p| p.command == facts.command()) {
        let missing = match facts.observed(page.vantage) {
            false => Some(page.vantage),
            true => page
                .depends_on
                .iter()
                .find_map(|d| unobserved.get(d.as_str()).copied()),
        };
        if let Some(vantage) = missing {
            unobserved.insert(&page.id, vantage);
            continue;
        }
        let deps: Vec<(&str, Option<&Finding>)> = page
            .depends_on
            .iter()
            .map(|dep| (dep.as_str(), done.get(dep.as_str()).map(|&i| &findings[i])))
            .collect();
        let outcome = match blocked(&deps) {
            Some(outcome) => outcome,
            None => (logic(&page.id))(&ctx).unwrap_or_else(|early| early),
        };
        done.insert(&page.id, findings.len());
        findings.push(finding(page, outcome, &ctx));
    }
    point_symptoms_at_causes(&mut findings, catalog);
    let target = ReportTarget {
        instance_id: facts.target.instance_id.clone(),
        region: facts.target.region.clone(),
        account: facts.account().map(str::to_string),
        name: facts.ec2_instance().and_then(|i| i.name.clone()),
        document: facts.target.document.clone(),
        command: facts.command(),
        parameter: match &facts.task {
            Some(Task::Param(p)) => Some(p.name.clone()),
            _ => None,
        },
        role: match &facts.task {
            Some(Task::Param(p)) => p.role.clone(),
            _ => None,
        },
    };
    Report::new(target, findings, not_observed(catalog, unobserved), stats)
}

/// The unobserved checks in one entry per vantage point, in catalogue order within it.
fn not_observed(catalog: &Catalog, unobserved: BTreeMap<&str, Vantage>) -> Vec<NotObserved> {
    let mut groups: BTreeMap<Vantage, Vec<String>> = BTreeMap::new();
    for id in catalog.ids().filter(|id| unobserved.contains_key(id)) {
        groups
            .entry(unobserved[id])
            .or_default()
            .push(id.to_string());
    }
    groups
        .into_iter()
        .map(|(vantage, checks)| {
            let described = catalog.vantage(vantage);
            NotObserved {
                vantage,
                title: described.map_or_else(|| format!("{vantage:?} checks"), |v| v.title.clone()),
                how: described.map(|v| v.how.clone()).unwrap_or_default(),
                checks,
            }
        })
        .collect()
}

/// Why a check cannot run, judged from its dependencies: `skip` when one of them did not hold (the
/// check does not apply), else `error` when one could not be evaluated (neither can this one: its
/// root cause and the permission to add are carried over), else `None`.
fn blocked(deps: &[(&str, Option<&Finding>)]) -> Option<Outcome> {
    let not_holding = deps.iter().find_map(|(dep, finding)| match finding {
        None => Some(format!("{dep} has not run")),
        Some(f) if matches!(f.status, Status::Fail | Status::Skip) => {
            Some(format!("{dep} is {}", f.status))
        }
        Some(_) => None,
    });
    if let Some(why) = not_holding {
        return Some(Outcome::skip(format!("Skipped because {why}.")));
    }
    let (dep, unknown) = deps
        .iter()
        .find_map(|(dep, f)| f.filter(|f| f.status == Status::Error).map(|f| (dep, f)))?;
    // The root cause in short: the root check's own finding has the service's full message.
    let denied = unknown
        .evidence
        .get("missing_permission")
        .and_then(|a| a.as_str());
    let cause = match (
        unknown.evidence.get("cause").and_then(|c| c.as_str()),
        denied,
    ) {
        (Some(root), _) => root.to_string(),
        (None, Some(action)) => format!("denied: {action}"),
        (None, None) => unknown
            .message
            .trim_start_matches("Could not evaluate: ")
            .trim_end_matches('.')
            .to_string(),
    };
    let mut outcome = Outcome::error(format!(
        "Not evaluated: it depends on {dep}, which could not be evaluated ({cause})."
    ))
    .with("blocked_by", dep)
    .with("cause", &cause);
    for key in ["missing_permission", "failed_call"] {
        if let Some(value) = unknown.evidence.get(key) {
            outcome = outcome.with(key, value);
        }
    }
    Some(outcome)
}

/// A check's function; every page has one (a test holds the registry and the catalogue together).
fn logic(id: &str) -> fn(&Context) -> CheckResult {
    REGISTRY
        .iter()
        .find(|c| c.id == id)
        .map(|c| c.run)
        .unwrap_or_else(|| panic!("check {id} has a page in checks/ but no line in REGISTRY"))
}

/// An offline agent is usually the consequence of another failure: a check that reports such a
/// symptom (its page's `symptom_of`) names the failing causes, so the reader fixes the cause
/// rather than restarting the agent first.
fn point_symptoms_at_causes(findings: &mut [Finding], catalog: &Catalog) {
    let failing: Vec<String> = findings
        .iter()
        .filter(|f| f.status == Status::Fail)
        .map(|f| f.id.clone())
        .collect();
    for f in findings.iter_mut().filter(|f| f.status == Status::Fail) {
        let Some(page) = catalog.page(&f.id) else {
            continue;
        };
        let causes: Vec<&String> = failing
            .iter()
            .filter(|id| page.symptom_of.contains(id))
            .collect();
        if causes.is_empty() {
            continue;
        }
        let names: Vec<&str> = causes.iter().map(|c| c.as_str()).collect();
        f.message
            .push_str(&format!(" Likely cause: {}.", names.join(", ")));
        f.evidence.insert("likely_causes".to_string(), names.into());
    }
}

/// The findings of the Session Manager checks `ids` over `ctx`, in catalogue order, each skipped or
/// not evaluated as its dependencies among `ids` say (one outside them counts as holding): for a
/// check of another report that judges the same facts the same way (param.path, patch.managed).
pub(crate) fn reused(ctx: &Context, ids: &[&str]) -> Vec<Finding> {
    let catalog = Catalog::get();
    let mut findings: Vec<Finding> = Vec::with_capacity(ids.len());
    for page in catalog.pages().filter(|p| ids.contains(&p.id.as_str())) {
        let deps: Vec<(&str, Option<&Finding>)> = page
            .depends_on
            .iter()
            .filter(|d| ids.contains(&d.as_str()))
            .map(|d| (d.as_str(), findings.iter().find(|f| f.id == *d)))
            .collect();
        let outcome = match blocked(&deps) {
            Some(outcome) => outcome,
            None => (logic(&page.id))(ctx).unwrap_or_else(|early| early),
        };
        findings.push(finding(page, outcome, ctx));
    }
    findings
}

/// One outcome from reused findings about `instance`: the worst one's status, message and fix
/// (naming its check, which this report does not hold: the main command's report does), or a pass
/// summarising those that held; the findings themselves in the evidence.
pub(crate) fn worst(
    findings: &[Finding],
    instance: &str,
    pass: impl FnOnce(Vec<String>) -> String,
) -> Outcome {
    let evidence: Vec<serde_json::Value> = findings
        .iter()
        .map(|f| serde_json::json!({"check": f.id, "status": f.status, "message": f.message}))
        .collect();
    let bad = findings
        .iter()
        .filter(|f| matches!(f.status, Status::Fail | Status::Error | Status::Warn))
        .min_by_key(|f| f.status);
    let outcome = match bad {
        Some(f) => {
            let mut outcome = Outcome::new(
                f.status,
                format!(
                    "{} (from {}): {} `ssm-doctor {instance}` reports {} with the checks it builds \
                     on.",
                    f.title, f.id, f.message, f.id
                ),
            );
            outcome.fix = f.remediation.clone().map(Box::new);
            for key in ["missing_permission", "failed_call", "cause"] {
                if let Some(value) = f.evidence.get(key) {
                    outcome = outcome.with(key, value);
                }
            }
            outcome
        }
        None => {
            let holding: Vec<String> = findings
                .iter()
                .filter(|f| f.status == Status::Pass)
                .map(|f| f.message.trim_end_matches('.').to_string())
                .collect();
            Outcome::pass(pass(holding))
        }
    };
    outcome.with("checks", evidence)
}

fn finding(page: &CheckPage, outcome: Outcome, ctx: &Context) -> Finding {
    let lookup = |name: &str| {
        outcome
            .vars
            .get(name)
            .cloned()
            .or_else(|| ctx.placeholder(name))
    };
    let remediation = match outcome.status {
        Status::Fail | Status::Warn if outcome.fix.is_some() => outcome.fix.as_deref().cloned(),
        Status::Fail | Status::Warn => {
            let r = &page.remediation;
            let cli = lookup("platform")
                .and_then(|p| r.by_platform.get(&p))
                .unwrap_or(&r.cli);
            Some(Remediation {
                text: fill(r.text.trim(), lookup),
                cli: Some(fill(cli.trim(), lookup)),
                terraform: Some(fill(r.terraform.trim(), lookup)),
                cloudformation: Some(fill(r.cloudformation.trim(), lookup)),
            })
        }
        Status::Error => Some(error_remediation(&outcome)),
        Status::Pass | Status::Skip => None,
    };
    Finding {
        id: page.id.clone(),
        title: page.title.clone(),
        status: outcome.status,
        severity: page.severity,
        message: outcome.message,
        evidence: outcome.evidence,
        remediation,
        docs: page.docs.clone(),
    }
}

/// An `error` is about ssm-doctor's own access, not the instance: the fix is on the caller's side.
fn error_remediation(outcome: &Outcome) -> Remediation {
    let mut actions: Vec<&str> = outcome
        .evidence
        .get("missing_permission")
        .and_then(|v| v.as_str())
        .into_iter()
        .collect();
    if actions.is_empty() {
        // Checks that judge several facts (one prefix list of many) name the denial in the message.
        actions = denied_actions(&outcome.message);
    }
    let text = match actions.is_empty() {
        false => format!(
            "Allow {} to the identity running ssm-doctor (`ssm-doctor policy` prints every \
             permission it needs), then run it again.",
            actions.join(", ")
        ),
        true => "Run ssm-doctor again; if the failure persists, check connectivity to the AWS API \
                 and the --region, or raise --timeout / --max-attempts."
            .to_string(),
    };
    Remediation {
        text,
        cli: None,
        terraform: None,
        cloudformation: None,
    }
}

/// The actions a message reports as `denied: service:Action`, in order, once each.
fn denied_actions(message: &str) -> Vec<&str> {
    let mut actions = Vec::new();
    for (at, _) in message.match_indices("denied: ") {
        let rest = &message[at + "denied: ".len()..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == ':' || c == '*'))
            .unwrap_or(rest.len());
        let action = &rest[..end];
        if action.contains(':') && !actions.contains(&action) {
            actions.push(action);
        }
    }
    actions
}

#[cfg(test)]
mod tests;
