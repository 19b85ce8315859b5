//! `--watch`: after the first full report, each round shows only what changed since the round
//! before, says when only the agent is left to reconnect, and ends with the verdict (and how to
//! connect) once the instance is healthy.

use super::human::{self, Paint, wrap};
use crate::report::{Report, Status, Verdict};
use std::fmt::Write;

/// A check whose status or message changed between two rounds.
#[derive(Debug, PartialEq)]
pub struct Change<'a> {
    pub id: &'a str,
    pub from: Option<Status>,
    pub to: Status,
    pub message: &'a str,
}

/// What changed from `before` to `after`, in catalogue order.
pub fn changes<'a>(before: &Report, after: &'a Report) -> Vec<Change<'a>> {
    after
        .checks
        .iter()
        .filter_map(|f| {
            let was = before.checks.iter().find(|b| b.id == f.id);
            let same = was.is_some_and(|b| b.status == f.status && b.message == f.message);
            (!same).then(|| Change {
                id: &f.id,
                from: was.map(|b| b.status),
                to: f.status,
                message: &f.message,
            })
        })
        .collect()
}

/// When every failure left is the agent's own (the AWS side is fixed, the agent has not
/// reconnected yet): what to expect, and how to end the wait.
pub fn waiting_for_agent(report: &Report) -> Option<String> {
    let failing: Vec<_> = report
        .checks
        .iter()
        .filter(|f| f.status == Status::Fail)
        .collect();
    let agent_only = !failing.is_empty() && failing.iter().all(|f| f.id.starts_with("agent."));
    if !agent_only {
        return None;
    }
    let minutes = report
        .checks
        .iter()
        .find(|f| f.id == "agent.online")
        .and_then(|f| f.evidence.get("next_attempt_minutes"))
        .and_then(|m| m.as_u64());
    let when = match minutes {
        Some(m) => format!("its next attempt is likely within {m} minute{}", plural(m)),
        None => "a backing-off agent retries up to 60 minutes apart".to_string(),
    };
    Some(format!(
        "Nothing on the AWS side fails any more: the agent has not reconnected yet ({when}). \
         Restarting the agent (sudo systemctl restart amazon-ssm-agent; on Windows, \
         Restart-Service AmazonSSMAgent) or rebooting the instance ends the wait."
    ))
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// One round after the first: its number and time, what changed, the agent note, the verdict.
pub fn round(n: u32, seconds: u64, before: &Report, after: &Report, color: bool) -> String {
    let paint = Paint(color);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n{}",
        paint.bold(&format!("Round {n} · {seconds} s into the watch"))
    );
    let changed = changes(before, after);
    if changed.is_empty() {
        let _ = writeln!(out, "  No change.");
    }
    for c in &changed {
        let from = match c.from {
            Some(s) => format!("{} {}", paint.symbol(s), s.as_str()),
            None => "new".to_string(),
        };
        let _ = writeln!(
            out,
            "  {:<22} {from} → {} {}",
            c.id,
            paint.symbol(c.to),
            paint.status_word(c.to)
        );
        for line in wrap(c.message, 74).lines() {
            let _ = writeln!(out, "      {line}");
        }
    }
    if let Some(note) = waiting_for_agent(after) {
        for line in wrap(&note, 78).lines() {
            let _ = writeln!(out, "  {}", paint.dim(line));
        }
    }
    if matches!(after.verdict, Verdict::Pass | Verdict::Warn)
        && let Some(c) = &after.connect
    {
        human::connect(&mut out, c, paint);
    }
    let verdict = format!(
        "{} {}",
        human::verdict_symbol(after.verdict),
        after.headline()
    );
    let _ = writeln!(out, "{}", paint.verdict(after.verdict, &verdict));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(name: &str) -> Report {
        let text = std::fs::read(format!(
            "{}/fixtures/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let facts = crate::facts::parse_snapshot(&text).unwrap().0;
        crate::checks::run(&facts[0], Default::default())
    }

    #[test]
    fn a_round_shows_only_what_changed() {
        let broken = report("broken-nacl-blocks-443");
        let mut fixed = broken.clone();
        for f in &mut fixed.checks {
            if f.status == Status::Fail {
                f.status = Status::Pass;
                f.message = "fixed".into();
            }
        }
        let changed = changes(&broken, &fixed);
        let ids: Vec<&str> = changed.iter().map(|c| c.id).collect();
        assert_eq!(ids, ["agent.online", "network.nacl"]);
        assert!(changes(&broken, &broken).is_empty());
        let text = round(2, 30, &broken, &fixed, false);
        assert!(
            text.contains("network.nacl           ✗ fail → ✓ PASS"),
            "{text}"
        );
        assert!(!text.contains("instance.found"), "{text}");
        assert!(round(3, 60, &broken, &broken, false).contains("No change."));
    }

    #[test]
    fn when_only_the_agent_fails_the_wait_and_the_restart_are_said() {
        let mut r = report("broken-nacl-blocks-443");
        assert_eq!(waiting_for_agent(&r), None, "the network still fails");
        for f in &mut r.checks {
            if f.id == "network.nacl" {
                f.status = Status::Pass;
            }
            if f.id == "agent.online" {
                f.evidence.insert("next_attempt_minutes".into(), 20.into());
            }
        }
        let note = waiting_for_agent(&r).unwrap();
        assert!(note.contains("within 20 minutes") && note.contains("systemctl restart"));
    }
}
