//! What every permission question of the checks shares: reading a policy document, the request
//! context the agent's calls carry, and turning evaluations of the core actions into one finding
//! (the role check and the endpoint-policy check judge and word a denial the same way).

use super::Context;
use super::outcome::{Outcome, need};
use crate::analysis::path::Need;
use crate::facts::{Policy, Role};
use crate::policy::{Decision, Evaluation, Labeled, PolicyDocument};
use std::collections::BTreeMap;

pub struct ActionVerdict {
    pub action: &'static str,
    pub need: Need,
    pub evaluation: Evaluation,
}

/// Answers to permission questions by what they do to a verdict, in that order of weight: a
/// refused required one fails, an uncertain one warns, a refused optional one warns.
pub struct Sorted<'a, T> {
    pub refused_required: Vec<&'a T>,
    pub uncertain: Vec<&'a T>,
    pub refused_optional: Vec<&'a T>,
}

pub fn sort<'a, T>(
    answers: &'a [T],
    required: impl Fn(&T) -> bool,
    evaluation: impl Fn(&T) -> &Evaluation,
) -> Sorted<'a, T> {
    let decision = |a: &T| evaluation(a).decision;
    let refused = |a: &T| !matches!(decision(a), Decision::Allowed | Decision::Uncertain);
    let pick = |keep: &dyn Fn(&T) -> bool| answers.iter().filter(|a| keep(a)).collect();
    Sorted {
        refused_required: pick(&|a| required(a) && refused(a)),
        uncertain: pick(&|a| decision(a) == Decision::Uncertain),
        refused_optional: pick(&|a| !required(a) && refused(a)),
    }
}

/// `subject` names whose permissions these are, e.g. "Role web-app" or "Endpoint vpce-1 (ssm)".
pub fn judge(subject: &str, verdicts: &[ActionVerdict]) -> Outcome {
    let Sorted {
        refused_required: denied_required,
        uncertain,
        refused_optional: denied_optional,
    } = sort(verdicts, |v| v.need == Need::Required, |v| &v.evaluation);
    let evidence: serde_json::Map<String, serde_json::Value> = verdicts
        .iter()
        .map(|v| {
            let evaluation = serde_json::to_value(&v.evaluation).expect("plain data");
            (v.action.to_string(), evaluation)
        })
        .collect();
    let list = |vs: &[&ActionVerdict]| grouped(vs).join("; ");
    let outcome = if !denied_required.is_empty() {
        Outcome::fail(format!(
            "{subject} is not allowed: {}.",
            list(&denied_required)
        ))
    } else if !uncertain.is_empty() {
        Outcome::warn(format!(
            "{subject} may not be allowed: {}. Check those conditions hold for the agent.",
            list(&uncertain)
        ))
    } else if !denied_optional.is_empty() {
        Outcome::warn(format!(
            "{subject} allows the required actions but not: {}. Agents from 3.3.40.0 on do not \
             need them while ssmmessages is reachable.",
            list(&denied_optional)
        ))
    } else {
        Outcome::pass(format!(
            "{subject} allows all {} core actions.",
            verdicts.len()
        ))
    };
    outcome.with("actions", evidence)
}

/// "a, b (denied by X); c (no statement allows it)": actions sharing one explanation are listed once.
fn grouped(verdicts: &[&ActionVerdict]) -> Vec<String> {
    let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
    for v in verdicts {
        let why = v.evaluation.to_string();
        match groups.iter_mut().find(|(w, _)| *w == why) {
            Some((_, actions)) => actions.push(v.action),
            None => groups.push((why, vec![v.action])),
        }
    }
    groups
        .into_iter()
        .map(|(why, actions)| format!("{} ({why})", actions.join(", ")))
        .collect()
}

/// Condition keys whose values are known for the agent's requests.
pub fn request_context(ctx: &Context, role: &Role) -> BTreeMap<String, String> {
    let mut c = BTreeMap::new();
    c.insert(
        "aws:RequestedRegion".to_string(),
        ctx.facts.target.region.clone(),
    );
    c.insert("aws:PrincipalArn".to_string(), role.arn.clone());
    c.insert("aws:PrincipalType".to_string(), "AssumedRole".to_string());
    c.insert("ec2:SourceInstanceARN".to_string(), ctx.instance_arn());
    if let Some(account) = ctx.facts.account() {
        c.insert("aws:PrincipalAccount".to_string(), account.to_string());
    }
    c
}

/// A principal's identity-based policies and permissions boundary, each parsed under its label.
pub struct IdentityPolicies {
    policies: Vec<(String, PolicyDocument)>,
    boundary: Option<(String, PolicyDocument)>,
}

impl IdentityPolicies {
    /// Every document parsed, or the outcome saying which could not be read or would be refused.
    pub fn read(policies: &[&Policy], boundary: Option<&Policy>) -> Result<Self, Outcome> {
        let parsed = |p: &Policy| Ok((p.label(), parse_identity(need(&p.document)?, &p.label())?));
        Ok(IdentityPolicies {
            policies: policies
                .iter()
                .map(|p| parsed(p))
                .collect::<Result<_, Outcome>>()?,
            boundary: boundary.map(parsed).transpose()?,
        })
    }

    /// The policies and the boundary as the evaluator takes them.
    pub fn labeled(&self) -> (Vec<Labeled<'_>>, Option<Labeled<'_>>) {
        (
            self.policies.iter().map(labeled).collect(),
            self.boundary.as_ref().map(labeled),
        )
    }
}

fn labeled((label, document): &(String, PolicyDocument)) -> Labeled<'_> {
    Labeled { label, document }
}

/// A trust or endpoint policy, or the `error` saying why IAM would refuse it.
pub fn parse(document: &serde_json::Value, what: &str) -> Result<PolicyDocument, Outcome> {
    PolicyDocument::parse(document).map_err(|e| unreadable(what, e))
}

/// An identity-based policy or boundary, or the `error` saying why IAM would refuse it.
pub fn parse_identity(document: &serde_json::Value, what: &str) -> Result<PolicyDocument, Outcome> {
    PolicyDocument::parse_identity(document).map_err(|e| unreadable(what, e))
}

fn unreadable(what: &str, why: String) -> Outcome {
    Outcome::error(format!("Could not read {what}: {why}."))
}
