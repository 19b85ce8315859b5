//! Checks that judge several things at once (each endpoint, each destination, each ACL leg) sort
//! each into one of four piles; the worst non-empty pile decides the outcome, the same way for all.

use super::outcome::Outcome;
use crate::report::Status;

#[derive(Debug, Default)]
pub struct Tally {
    pub fine: Vec<String>,
    pub doubtful: Vec<String>,
    pub failing: Vec<String>,
    /// Could not be decided for want of a fact.
    pub unknown: Vec<String>,
}

impl Tally {
    pub fn is_empty(&self) -> bool {
        self.fine.is_empty()
            && self.doubtful.is_empty()
            && self.failing.is_empty()
            && self.unknown.is_empty()
    }

    /// Failing beats unknown (an `error`), which beats doubtful (a `warn`); otherwise a pass.
    /// `phrase` turns the deciding pile's items (joined with "; ") into the message.
    pub fn outcome(&self, phrase: impl FnOnce(Status, &str) -> String) -> Outcome {
        let (status, items) = if !self.failing.is_empty() {
            (Status::Fail, &self.failing)
        } else if !self.unknown.is_empty() {
            (Status::Error, &self.unknown)
        } else if !self.doubtful.is_empty() {
            (Status::Warn, &self.doubtful)
        } else {
            (Status::Pass, &self.fine)
        };
        let message = match status {
            Status::Error => format!("Could not evaluate: {}.", items.join("; ")),
            _ => phrase(status, &items.join("; ")),
        };
        Outcome::new(status, message)
            .with("fine", &self.fine)
            .with("doubtful", &self.doubtful)
            .with("failing", &self.failing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_pile_decides() {
        let phrase = |s: Status, items: &str| format!("{s}: {items}");
        let mut t = Tally::default();
        t.fine.push("a".into());
        assert_eq!(t.outcome(phrase).message, "pass: a");
        t.doubtful.push("b".into());
        assert_eq!(t.outcome(phrase).status, Status::Warn);
        t.unknown.push("c".into());
        assert_eq!(t.outcome(phrase).message, "Could not evaluate: c.");
        t.failing.push("d".into());
        t.failing.push("e".into());
        assert_eq!(t.outcome(phrase).message, "fail: d; e");
    }
}
