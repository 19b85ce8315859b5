//! agent.*: what SSM knows of the instance's agent.

use super::Context;
use super::outcome::{CheckResult, Outcome, need};
use crate::analysis::{backoff, version};
use crate::catalog::{Signature, signatures};
use crate::facts::{AgentInfo, Fetch};
use crate::report::Status;
use crate::text::one_line;

/// The oldest agent each kind of session works with, by its Session document, and what that
/// document does (sources: the agent's release notes and the Session Manager prerequisites, cited
/// on the check's page); any other document opens a shell, which needs [`MINIMUM_SESSION`].
const DOCUMENT_MINIMUMS: &[(&str, &str, &str)] = &[
    (
        "AWS-StartSSHSession",
        "3.0.222.0",
        "SSH through Session Manager",
    ),
    (
        "AWS-StartPortForwardingSession",
        "3.0.222.0",
        "port forwarding",
    ),
    (
        "AWS-StartPortForwardingSessionToRemoteHost",
        "3.1.1188.0",
        "port forwarding to a remote host",
    ),
];
const MINIMUM_SESSION: (&str, &str) = ("2.3.68.0", "Session Manager");
/// The oldest agent that decrypts session data with a KMS key.
const MINIMUM_KMS: &str = "2.3.539.0";

/// The oldest agent that can open a session with `document` (a name or a shared document's
/// ARN), and what the document does.
fn minimum_for(document: &str) -> (&'static str, &'static str) {
    let name = document
        .rsplit_once("document/")
        .map_or(document, |(_, n)| n);
    DOCUMENT_MINIMUMS
        .iter()
        .find(|(known, ..)| *known == name)
        .map_or(MINIMUM_SESSION, |(_, minimum, what)| (minimum, what))
}

pub fn registered(ctx: &Context) -> CheckResult {
    let id = &ctx.facts.target.instance_id;
    Ok(match need(&ctx.aws.agent)? {
        Some(a) => Outcome::pass(format!(
            "SSM knows {id} (PingStatus {}, agent {}).",
            a.ping_status,
            a.agent_version.as_deref().unwrap_or("version unknown")
        ))
        .with("ping_status", &a.ping_status)
        .with("agent_version", &a.agent_version),
        None => Outcome::fail(format!(
            "SSM has never heard from {id}: the agent has not registered. Usual causes: no agent \
             installed or running, no network path to ssm, or no permission to call \
             ssm:UpdateInstanceInformation (see the other checks)."
        )),
    })
}

fn agent<'a>(ctx: &Context<'a>) -> Result<&'a AgentInfo, Outcome> {
    ctx.aws
        .agent
        .value()
        .and_then(Option::as_ref)
        .ok_or_else(|| Outcome::skip("SSM does not know the instance."))
}

pub fn online(ctx: &Context) -> CheckResult {
    let a = agent(ctx)?;
    // Session Manager's own answer, when asked: a denial leaves the verdict unknown, since either
    // answer can overturn what the ping status says.
    let connected = match &ctx.aws.connection {
        Fetch::NotApplicable { .. } => None,
        asked => Some(need(asked)? == "connected"),
    };
    let seen = match &a.last_ping {
        Some(t) => format!("last ping {t}"),
        None => "never pinged".to_string(),
    };
    let estimate = a
        .last_ping
        .as_deref()
        .zip(a.asked_at.as_deref())
        .and_then(|(ping, asked)| backoff::estimate(ping, asked));
    let outcome = match (a.ping_status == "Online", connected) {
        (true, None) => Outcome::pass("The agent is online."),
        (true, Some(true)) => {
            Outcome::pass("The agent is online, and Session Manager reports it connected.")
        }
        (true, Some(false)) => Outcome::fail(format!(
            "SSM lists the agent Online ({seen}), but Session Manager reports it not connected \
             (ssm:GetConnectionStatus): it reaches ssm but has no session channel, usually no \
             path to ssmmessages or no permission for ssmmessages:* (see the other checks). \
             Restart the agent after the fix."
        )),
        (false, Some(true)) => Outcome::warn(format!(
            "SSM lists the agent {} ({seen}), but Session Manager reports it connected now: a fix \
             has taken, and the ping status follows at the agent's next ping.",
            a.ping_status
        )),
        (false, _) => Outcome::fail(format!(
            "The agent is {} ({seen}). Fix what the other checks report. {} Restart the agent (or \
             reboot) to end the back-off at once.",
            a.ping_status,
            next_attempt(estimate.as_ref())
        )),
    };
    Ok(outcome
        .with("ping_status", &a.ping_status)
        .with("last_ping", &a.last_ping)
        .with("connection", ctx.aws.connection.value())
        .with("next_attempt_minutes", estimate.map(|e| e.next_in)))
}

/// When a backing-off agent will likely try again, as a sentence.
fn next_attempt(estimate: Option<&backoff::Estimate>) -> String {
    const SCHEDULE: &str = "a hibernating agent retries at intervals doubling from 5 to 60 \
                            minutes, and sleeps 25–30 minutes after a credential denial";
    match estimate {
        Some(e) => format!(
            "Its last ping was {} minutes before this run: if it has backed off since, its next \
             attempt is likely within {} minutes ({SCHEDULE}).",
            e.since_ping, e.next_in
        ),
        None => {
            let mut said = SCHEDULE.to_string();
            said[..1].make_ascii_uppercase();
            format!("{said}.")
        }
    }
}

pub fn version(ctx: &Context) -> CheckResult {
    let a = agent(ctx)?;
    let Some(v) = a.agent_version.as_deref() else {
        return Ok(Outcome::warn("SSM does not report the agent's version."));
    };
    let document = &ctx.facts.target.document;
    let (minimum, what) = minimum_for(document);
    // A shell session reads as it always has; another document is named.
    let (what, sessions) = match what {
        "Session Manager" => (what.to_string(), "sessions".to_string()),
        _ => (
            format!("{what} ({document})"),
            format!("{what} ({document})"),
        ),
    };
    let mut needs = vec![(minimum, what)];
    if encrypts_with_kms(ctx) {
        needs.push((MINIMUM_KMS, "KMS-encrypted sessions".to_string()));
    }
    let unmet: Vec<String> = needs
        .iter()
        .filter(|(minimum, _)| version::at_least(v, minimum) == Some(false))
        .map(|(minimum, what)| format!("{minimum}, the first version that supports {what}"))
        .collect();
    let supported = needs
        .iter()
        .map(|(_, what)| what.as_str())
        .collect::<Vec<_>>()
        .join(" and ");
    let outcome = if !unmet.is_empty() {
        Outcome::fail(format!("Agent {v} is older than {}.", unmet.join(", and ")))
    } else {
        match version::at_least(v, minimum) {
            None => Outcome::warn(format!(
                "Agent version {v:?} is not a version number ssm-doctor can compare."
            )),
            Some(_) if a.is_latest_version == Some(false) => Outcome::warn(format!(
                "Agent {v} supports {}, but SSM says a newer version exists.",
                match needs.len() {
                    1 => sessions,
                    _ => supported.clone(),
                }
            )),
            Some(_) => Outcome::pass(format!("Agent {v} supports {supported}.")),
        }
    };
    let minimum = needs
        .iter()
        .map(|(m, _)| *m)
        .max_by(|x, y| version::compare(x, y).unwrap_or(std::cmp::Ordering::Equal))
        .unwrap_or(minimum);
    Ok(outcome
        .with("agent_version", v)
        .with("is_latest_version", a.is_latest_version)
        .with("minimum", minimum)
        .with("document", document))
}

/// Whether the session document in use encrypts sessions with a KMS key.
fn encrypts_with_kms(ctx: &Context) -> bool {
    let document = ctx.aws.session.document.value().and_then(Option::as_ref);
    document.is_some_and(|d| d.settings.kms_key.is_some())
}

/// What the serial console shows of an agent SSM does not list as Online: a known complaint
/// (`checks/agent-signatures.toml`), a start without one, or no line of the agent at all.
pub fn console(ctx: &Context) -> CheckResult {
    let console = need(&ctx.aws.console)?;
    let since = console
        .captured
        .as_deref()
        .map_or(String::new(), |t| format!(" (captured {t})"));
    if console.empty {
        return Ok(Outcome::warn(format!(
            "The serial console output is empty{since}: nothing tells whether the agent started \
             (some instance types keep no output, and a new instance has none yet)."
        )));
    }
    let explained = Explained::from(&console.agent_lines);
    let outcome = if let Some(outcome) = explained.outcome(&format!(
        "The agent's lines on the serial console{since} say"
    )) {
        outcome
    } else if console.agent_lines.is_empty() {
        Outcome::warn(format!(
            "The serial console{since} shows no line of the SSM agent: it may never have started. \
             Check the amazon-ssm-agent service on the instance (through EC2 Serial Console, or \
             a reboot with user data that starts it)."
        ))
    } else {
        Outcome::pass(format!(
            "The agent appears on the serial console{since} without a known error: its own log \
             (/var/log/amazon/ssm/amazon-ssm-agent.log) tells more."
        ))
    };
    Ok(explained.evidence(outcome.with("agent_lines", &console.agent_lines)))
}

/// The known signatures (`checks/agent-signatures.toml`) the agent's lines show: each once, with
/// its newest line, newest first (it explains the most about now).
pub(super) struct Explained<'a>(Vec<(&'static Signature, &'a str)>);

impl<'a> Explained<'a> {
    pub(super) fn from(lines: &'a [String]) -> Explained<'a> {
        let mut explained: Vec<(&'static Signature, &'a str)> = Vec::new();
        for line in lines.iter().rev() {
            let Some(signature) = signatures().iter().find(|s| s.matches(line)) else {
                continue;
            };
            if !explained.iter().any(|(s, _)| s.id == signature.id) {
                explained.push((signature, line.as_str()));
            }
        }
        Explained(explained)
    }

    /// "`intro`: what the worst signatures mean (quoting their lines)", failing when one of
    /// them fails; `None` when no line is known.
    pub(super) fn outcome(&self, intro: &str) -> Option<Outcome> {
        let explained = &self.0;
        let (worst, _) = explained
            .iter()
            .find(|(s, _)| s.status == "fail")
            .or(explained.first())?;
        let said: Vec<String> = explained
            .iter()
            .filter(|(s, _)| s.status == worst.status)
            .map(|(s, line)| format!("{} (\"{}\")", s.meaning, around_match(s, line)))
            .collect();
        let status = match worst.status.as_str() {
            "fail" => Status::Fail,
            _ => Status::Warn,
        };
        Some(Outcome::new(
            status,
            format!("{intro}: {}.", said.join("; ")),
        ))
    }

    /// `outcome` with the signatures found and the checks that judge their causes.
    pub(super) fn evidence(&self, outcome: Outcome) -> Outcome {
        let causes: Vec<&str> = self
            .0
            .iter()
            .filter_map(|(s, _)| s.cause.as_deref())
            .collect();
        let ids: Vec<&str> = self.0.iter().map(|(s, _)| s.id.as_str()).collect();
        outcome.with("signatures", ids).with("causes", causes)
    }
}

/// The part of a long `line` around what `signature` matched in it.
fn around_match(signature: &Signature, line: &str) -> String {
    const SHOWN: usize = 160;
    let lower = line.to_ascii_lowercase();
    let at = signature
        .contains
        .iter()
        .filter_map(|c| lower.find(&c.to_ascii_lowercase()))
        .min()
        .unwrap_or(0);
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    if chars.len() <= SHOWN {
        return one_line(line, SHOWN);
    }
    // Some context before the match, then as much after as fits.
    let start = chars
        .iter()
        .position(|(i, _)| *i >= at)
        .unwrap_or(0)
        .saturating_sub(60);
    let tail: String = chars[start..].iter().map(|(_, c)| c).collect();
    format!("…{}", one_line(&tail, SHOWN))
}
