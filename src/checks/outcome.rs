//! What a check function returns, before the engine dresses it with the catalogue page.

use super::tally::Tally;
use crate::facts::Fetch;
use crate::report::{Remediation, Status};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub status: Status,
    pub message: String,
    pub evidence: serde_json::Map<String, serde_json::Value>,
    /// Placeholder values specific to this finding (e.g. the endpoints at fault), on top of the
    /// instance-wide ones the engine knows.
    pub vars: BTreeMap<&'static str, String>,
    /// A remediation already written, instead of the page's: a check that reuses another's
    /// judgement (param.path) fails as it does, and is fixed as it is.
    pub fix: Option<Box<Remediation>>,
}

/// `Err` is an early exit (`error` or `skip`) so a check can write `need(&facts.x)?`.
pub type CheckResult = Result<Outcome, Outcome>;

impl Outcome {
    pub fn new(status: Status, message: impl Into<String>) -> Outcome {
        Outcome {
            status,
            message: message.into(),
            evidence: serde_json::Map::new(),
            vars: BTreeMap::new(),
            fix: None,
        }
    }

    pub fn pass(message: impl Into<String>) -> Outcome {
        Outcome::new(Status::Pass, message)
    }

    pub fn warn(message: impl Into<String>) -> Outcome {
        Outcome::new(Status::Warn, message)
    }

    pub fn fail(message: impl Into<String>) -> Outcome {
        Outcome::new(Status::Fail, message)
    }

    pub fn skip(message: impl Into<String>) -> Outcome {
        Outcome::new(Status::Skip, message)
    }

    pub fn error(message: impl Into<String>) -> Outcome {
        Outcome::new(Status::Error, message)
    }

    pub fn with(mut self, key: &str, value: impl Serialize) -> Outcome {
        let value = serde_json::to_value(value).expect("evidence is plain data");
        self.evidence.insert(key.to_string(), value);
        self
    }

    pub fn var(mut self, name: &'static str, value: impl Into<String>) -> Outcome {
        self.vars.insert(name, value.into());
        self
    }
}

/// The collected value, or the `error`/`skip` outcome that explains why a check cannot use it.
pub fn need<T>(fetch: &Fetch<T>) -> Result<&T, Outcome> {
    match fetch {
        Fetch::Collected { value } => Ok(value),
        Fetch::Denied { action, .. } => Err(Outcome::error(format!(
            "Could not evaluate: {}.",
            fetch.problem().unwrap_or_default()
        ))
        .with("missing_permission", action)),
        Fetch::Failed { action, .. } => Err(Outcome::error(format!(
            "Could not evaluate: {}.",
            fetch.problem().unwrap_or_default()
        ))
        .with("failed_call", action)),
        Fetch::NotApplicable { reason } => Err(Outcome::skip(format!("Not applicable: {reason}."))),
    }
}

/// One verdict from several findings about one subject, each a sentence with its status: the
/// worst pile decides (as for a [`Tally`]), its findings said together after `lead`; with none
/// worse than a pass, `pass` is the verdict.
pub fn worst_of(
    findings: &[(Status, String)],
    lead: &str,
    pass: impl FnOnce() -> Outcome,
) -> Outcome {
    let mut tally = Tally::default();
    for (status, said) in findings {
        let pile = match status {
            Status::Fail => &mut tally.failing,
            Status::Error => &mut tally.unknown,
            Status::Warn => &mut tally.doubtful,
            Status::Pass | Status::Skip => continue,
        };
        pile.push(said.trim_end_matches('.').to_string());
    }
    match tally.is_empty() {
        true => pass(),
        false => tally.outcome(|_, items| format!("{lead} {items}.")),
    }
}
