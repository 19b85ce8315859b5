//! Three-valued answers: a document may depend on facts the caller could not give (an IP address, a
//! tag, a policy variable), and a wrong "yes" or "no" would mislead a diagnosis more than "unknown".

/// The answer to "does this part of a statement hold for the request".
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Outcome {
    Yes,
    No,
    /// Depends on the listed things, phrased for a report (e.g. `aws:SourceIp (IpAddress)`).
    Unknown(Vec<String>),
}

impl Outcome {
    pub(super) fn from_bool(value: bool) -> Self {
        if value { Outcome::Yes } else { Outcome::No }
    }

    /// For the `Not...` elements and operators, which hold where the positive form does not.
    pub(super) fn negated_if(self, negated: bool) -> Self {
        match self {
            Outcome::Yes if negated => Outcome::No,
            Outcome::No if negated => Outcome::Yes,
            other => other,
        }
    }

    /// OR: one certain `Yes` settles it, whatever the unknown ones would have said.
    pub(super) fn any(outcomes: impl IntoIterator<Item = Outcome>) -> Self {
        let mut reasons = Vec::new();
        for outcome in outcomes {
            match outcome {
                Outcome::Yes => return Outcome::Yes,
                Outcome::No => {}
                Outcome::Unknown(more) => reasons.extend(more),
            }
        }
        Self::unknown_unless_empty(reasons, Outcome::No)
    }

    /// AND: one certain `No` settles it, whatever the unknown ones would have said.
    pub(super) fn all(outcomes: impl IntoIterator<Item = Outcome>) -> Self {
        let mut reasons = Vec::new();
        for outcome in outcomes {
            match outcome {
                Outcome::Yes => {}
                Outcome::No => return Outcome::No,
                Outcome::Unknown(more) => reasons.extend(more),
            }
        }
        Self::unknown_unless_empty(reasons, Outcome::Yes)
    }

    /// Rewords the reasons of an unknown outcome, so that a low-level reason (a variable name) can be
    /// put in the terms of the element that holds it.
    pub(super) fn explain(self, reword: impl FnOnce(Vec<String>) -> Vec<String>) -> Self {
        match self {
            Outcome::Unknown(reasons) => Outcome::Unknown(reword(reasons)),
            known => known,
        }
    }

    fn unknown_unless_empty(reasons: Vec<String>, otherwise: Outcome) -> Self {
        if reasons.is_empty() {
            otherwise
        } else {
            Outcome::Unknown(reasons)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Outcome::{self, No, Unknown, Yes};

    fn unknown(reason: &str) -> Outcome {
        Unknown(vec![reason.to_string()])
    }

    #[test]
    fn any_is_yes_as_soon_as_one_is_certainly_yes() {
        assert_eq!(Outcome::any([unknown("a"), Yes, No]), Yes);
        assert_eq!(Outcome::any([No, No]), No);
        assert_eq!(Outcome::any([]), No);
        assert_eq!(
            Outcome::any([unknown("a"), No, unknown("b")]),
            Unknown(vec!["a".into(), "b".into()])
        );
    }

    #[test]
    fn all_is_no_as_soon_as_one_is_certainly_no() {
        assert_eq!(Outcome::all([unknown("a"), No, Yes]), No);
        assert_eq!(Outcome::all([Yes, Yes]), Yes);
        assert_eq!(Outcome::all([]), Yes);
        assert_eq!(Outcome::all([Yes, unknown("a")]), unknown("a"));
    }

    #[test]
    fn negate_keeps_unknown_and_explain_touches_only_unknown() {
        assert_eq!(Yes.negated_if(true), No);
        assert_eq!(No.negated_if(true), Yes);
        assert_eq!(Yes.negated_if(false), Yes);
        assert_eq!(unknown("a").negated_if(true), unknown("a"));
        let reword = |r: Vec<String>| vec![format!("x {}", r.join(","))];
        assert_eq!(unknown("a").explain(reword), unknown("x a"));
        assert_eq!(Yes.explain(reword), Yes);
        assert_eq!(Outcome::from_bool(false), No);
    }
}
