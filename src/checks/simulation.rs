//! IAM's policy simulator beside ssm-doctor's own evaluation of the operator's requests: it
//! confirms the verdict, reveals what only it sees (service control policies of AWS
//! Organizations), and any disagreement is said, not hidden.

use super::outcome::Outcome;
use crate::facts::{Fetch, Simulated};
use crate::policy::Decision;
use crate::report::Status;

/// One request as ssm-doctor judged it.
pub struct Judged<'a> {
    pub action: &'a str,
    pub resource: &'a str,
    pub required: bool,
    pub decision: Decision,
}

/// `outcome`, ssm-doctor's verdict on the `judged` requests, with what the simulator said of them.
pub fn confirmed(
    outcome: Outcome,
    judged: &[Judged],
    simulation: &Fetch<Vec<Simulated>>,
) -> Outcome {
    let answers = match simulation {
        Fetch::Collected { value } => value,
        Fetch::NotApplicable { .. } => return outcome,
        missing => {
            let note = format!(
                "Not confirmed with IAM's policy simulator ({}).",
                missing.problem().unwrap_or_default()
            );
            return appended(outcome, &note);
        }
    };
    let answer = |j: &Judged| {
        answers
            .iter()
            .find(|a| a.action.eq_ignore_ascii_case(j.action) && a.resource == j.resource)
    };
    let mut by_scp = Vec::new();
    let mut disagreements = Vec::new();
    let mut compared = 0;
    for j in judged {
        let Some(a) = answer(j) else { continue };
        compared += 1;
        let iam_allows = a.decision == "allowed";
        if a.allowed_by_organizations == Some(false) {
            by_scp.push((j, a));
        } else if j.decision != Decision::Uncertain
            && iam_allows != (j.decision == Decision::Allowed)
        {
            disagreements.push(format!(
                "{} on {}: IAM says {}, ssm-doctor {}",
                j.action,
                j.resource,
                a.decision,
                if j.decision == Decision::Allowed {
                    "allowed"
                } else {
                    "denied"
                }
            ));
        }
    }
    if let Some(required) = by_scp.iter().find(|(j, _)| j.required) {
        return Outcome {
            status: Status::Fail,
            message: format!(
                "A service control policy of AWS Organizations denies {} on {} (IAM's policy \
                 simulator): no policy of this account can allow it. {}",
                required.0.action, required.0.resource, outcome.message
            ),
            ..outcome
        };
    }
    let mut outcome = outcome;
    if let Some((j, _)) = by_scp.first() {
        outcome = Outcome {
            status: outcome.status.min(Status::Warn),
            ..appended(
                outcome,
                &format!(
                    "A service control policy denies {} on {} (IAM's policy simulator).",
                    j.action, j.resource
                ),
            )
        };
    }
    if !disagreements.is_empty() {
        return Outcome {
            status: outcome.status.min(Status::Warn),
            ..appended(
                outcome,
                &format!(
                    "IAM's policy simulator disagrees: {}; trust IAM's answer, and check the \
                     policies with the console's policy simulator.",
                    disagreements.join("; ")
                ),
            )
        };
    }
    match compared {
        0 => outcome,
        _ => appended(outcome, "IAM's policy simulator agrees."),
    }
}

fn appended(outcome: Outcome, sentence: &str) -> Outcome {
    Outcome {
        message: format!("{} {sentence}", outcome.message),
        ..outcome
    }
}
