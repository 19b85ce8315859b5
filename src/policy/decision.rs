//! The answer to a request, with the statements that explain it, worded for reports.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Allowed,
    /// A `Deny` statement applies (in an identity policy, the boundary, or the resource policy).
    ExplicitDeny,
    /// No `Allow` statement applies, or not in every policy that must allow (a KMS key policy;
    /// across accounts, the resource's policy and the principal's).
    ImplicitDeny,
    /// The identity policies allow it, but the permissions boundary does not.
    DeniedByBoundary,
    /// The answer depends on conditions or variables the request context cannot settle.
    Uncertain,
}

/// A statement of a policy, named the way a report names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementRef {
    /// The label the caller gave the policy (its ARN, `inline:Name`, ...).
    pub policy: String,
    /// 0-based position in the document's `Statement` array.
    pub index: usize,
    pub sid: Option<String>,
}

impl fmt::Display for StatementRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.sid {
            Some(sid) => write!(f, "statement '{sid}' (#{}) of {}", self.index, self.policy),
            None => write!(f, "statement #{} of {}", self.index, self.policy),
        }
    }
}

/// A decision and why.
///
/// `statements` holds, by decision: `Allowed` — the `Allow` statements the grant rests on (of the
/// resource policy, the identity policies, then the boundary); `ExplicitDeny` — the `Deny`
/// statements that apply; `Uncertain` — the statements whose applying is unknown and would change
/// the answer; `ImplicitDeny` and `DeniedByBoundary` — none. `unevaluable` is set only with `Uncertain`;
/// `boundary` only with `DeniedByBoundary`, to the boundary's label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evaluation {
    pub decision: Decision,
    pub statements: Vec<StatementRef>,
    pub unevaluable: Vec<String>,
    pub boundary: Option<String>,
}

/// One line for a report, e.g. "denied by statement 'DenyMessages' (#1) of arn:aws:iam::…:policy/Guard".
impl fmt::Display for Evaluation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let statements = join(&self.statements);
        match self.decision {
            Decision::Allowed => write!(f, "allowed by {statements}"),
            Decision::ExplicitDeny => write!(f, "denied by {statements}"),
            Decision::ImplicitDeny => f.write_str("not allowed by any statement (implicit deny)"),
            Decision::DeniedByBoundary => write!(
                f,
                "not allowed by the permissions boundary {}",
                self.boundary.as_deref().unwrap_or("(unnamed)")
            ),
            Decision::Uncertain => write!(
                f,
                "uncertain: depends on {} in {statements}",
                self.unevaluable.join(", ")
            ),
        }
    }
}

fn join(statements: &[StatementRef]) -> String {
    let names: Vec<String> = statements.iter().map(ToString::to_string).collect();
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statement(policy: &str, index: usize, sid: Option<&str>) -> StatementRef {
        StatementRef {
            policy: policy.into(),
            index,
            sid: sid.map(Into::into),
        }
    }

    fn evaluation(decision: Decision, statements: Vec<StatementRef>) -> Evaluation {
        Evaluation {
            decision,
            statements,
            unevaluable: Vec::new(),
            boundary: None,
        }
    }

    const GUARD: &str = "arn:aws:iam::123456789012:policy/Guard";

    #[test]
    fn statement_names_with_and_without_sid() {
        assert_eq!(
            statement(GUARD, 1, Some("DenyMessages")).to_string(),
            "statement 'DenyMessages' (#1) of arn:aws:iam::123456789012:policy/Guard"
        );
        assert_eq!(
            statement("inline:Core", 0, None).to_string(),
            "statement #0 of inline:Core"
        );
    }

    #[test]
    fn one_line_per_decision() {
        let deny = evaluation(
            Decision::ExplicitDeny,
            vec![statement(GUARD, 1, Some("DenyMessages"))],
        );
        assert_eq!(
            deny.to_string(),
            "denied by statement 'DenyMessages' (#1) of arn:aws:iam::123456789012:policy/Guard"
        );
        let allow = evaluation(
            Decision::Allowed,
            vec![statement("a", 0, None), statement("b", 2, None)],
        );
        assert_eq!(
            allow.to_string(),
            "allowed by statement #0 of a, statement #2 of b"
        );
        let implicit = evaluation(Decision::ImplicitDeny, vec![]);
        assert_eq!(
            implicit.to_string(),
            "not allowed by any statement (implicit deny)"
        );
        let boundary = Evaluation {
            boundary: Some("arn:aws:iam::123456789012:policy/Boundary".into()),
            ..evaluation(Decision::DeniedByBoundary, vec![])
        };
        assert_eq!(
            boundary.to_string(),
            "not allowed by the permissions boundary arn:aws:iam::123456789012:policy/Boundary"
        );
        let uncertain = Evaluation {
            unevaluable: vec!["aws:SourceIp (IpAddress)".into()],
            ..evaluation(Decision::Uncertain, vec![statement("inline:Net", 0, None)])
        };
        assert_eq!(
            uncertain.to_string(),
            "uncertain: depends on aws:SourceIp (IpAddress) in statement #0 of inline:Net"
        );
    }

    #[test]
    fn serialises_with_snake_case_decisions() {
        let value = serde_json::to_value(evaluation(Decision::DeniedByBoundary, vec![])).unwrap();
        assert_eq!(value["decision"], "denied_by_boundary");
        let back: Evaluation = serde_json::from_value(value).unwrap();
        assert_eq!(back.decision, Decision::DeniedByBoundary);
    }
}
