//! Glob patterns (`*`, `?`) as IAM uses them in actions, resources, principals and condition values,
//! with policy variables (`${aws:username}`) resolved from the request context when it knows them.

use super::outcome::Outcome;
use super::request::lookup;
use std::collections::BTreeMap;

/// How the text of a pattern is read.
#[derive(Debug, Clone, Copy)]
pub(super) struct Syntax {
    /// `*` and `?` are wildcards (else they are plain characters, as in `StringEquals`).
    pub wildcards: bool,
    pub case_insensitive: bool,
    /// `${...}` is a policy variable: only in documents of Version 2012-10-17, where IAM expands them.
    pub variables: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Atom {
    Char(char),
    AnyOne,
    AnyMany,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Atom(Atom),
    /// `key` is looked up in the context; `text` is how the document wrote it, for reports.
    Variable {
        key: String,
        text: String,
    },
}

/// A compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Pattern {
    tokens: Vec<Token>,
    case_insensitive: bool,
}

impl Pattern {
    pub(super) fn new(text: &str, syntax: Syntax) -> Self {
        let mut tokens = Vec::new();
        let mut rest = text;
        while let Some(c) = rest.chars().next() {
            if syntax.variables
                && let Some(inner) = rest.strip_prefix("${")
                && let Some(end) = inner.find('}')
            {
                let body = &inner[..end];
                tokens.push(match body.trim() {
                    // IAM's escapes for characters that would otherwise be wildcards or start a variable.
                    "*" => Token::Atom(Atom::Char('*')),
                    "?" => Token::Atom(Atom::Char('?')),
                    "$" => Token::Atom(Atom::Char('$')),
                    _ => Token::Variable {
                        // `${key, 'default'}`: the default applies only when the real request lacks the
                        // key, which the context cannot tell, so it is not used.
                        key: body.split(',').next().unwrap_or(body).trim().to_string(),
                        text: format!("${{{body}}}"),
                    },
                });
                rest = &inner[end + 1..];
                continue;
            }
            tokens.push(Token::Atom(match c {
                '*' if syntax.wildcards => Atom::AnyMany,
                '?' if syntax.wildcards => Atom::AnyOne,
                c => Atom::Char(c),
            }));
            rest = &rest[c.len_utf8()..];
        }
        Pattern {
            tokens,
            case_insensitive: syntax.case_insensitive,
        }
    }

    /// Whether the whole of `text` matches. A variable the context cannot resolve could stand for any
    /// text, so the answer is `Unknown` (naming the variables) when the pattern matches with such
    /// variables read as `*`, and a certain `No` when even that does not match.
    pub(super) fn matches(&self, text: &str, context: &BTreeMap<String, String>) -> Outcome {
        let mut unresolved = Vec::new();
        let mut atoms = Vec::with_capacity(self.tokens.len());
        for token in &self.tokens {
            match token {
                Token::Atom(atom) => atoms.push(atom.clone()),
                Token::Variable { key, text } => match lookup(context, key) {
                    // A substituted value is literal text: its `*` is not a wildcard.
                    Some(value) => atoms.extend(value.chars().map(Atom::Char)),
                    None => {
                        unresolved.push(text.clone());
                        atoms.push(Atom::AnyMany);
                    }
                },
            }
        }
        let text: Vec<char> = text.chars().collect();
        if !glob(&atoms, &text, self.case_insensitive) {
            Outcome::No
        } else if unresolved.is_empty() {
            Outcome::Yes
        } else {
            Outcome::Unknown(unresolved)
        }
    }

    /// The six colon-separated components of an ARN pattern (the last keeps its colons), each
    /// matched on its own; `None` when it has fewer than six. With `variables_in_resource_only` (a
    /// `Resource` element, where IAM substitutes policy variables only in the resource part) a
    /// `${...}` in the first five is literal text.
    pub(super) fn arn_components(&self, variables_in_resource_only: bool) -> Option<Vec<Pattern>> {
        let mut components = vec![Vec::new()];
        for token in &self.tokens {
            if components.len() < 6 && *token == Token::Atom(Atom::Char(':')) {
                components.push(Vec::new());
            } else {
                let in_resource_part = components.len() == 6;
                let Some(last) = components.last_mut() else {
                    continue;
                };
                match token {
                    Token::Variable { text, .. }
                        if variables_in_resource_only && !in_resource_part =>
                    {
                        last.extend(text.chars().map(|c| Token::Atom(Atom::Char(c))));
                    }
                    _ => last.push(token.clone()),
                }
            }
        }
        (components.len() == 6).then(|| {
            components
                .into_iter()
                .map(|tokens| Pattern {
                    tokens,
                    case_insensitive: self.case_insensitive,
                })
                .collect()
        })
    }
}

/// An ARN pattern, in `Resource` elements and `Arn*` conditions: each of the six components is
/// matched on its own, so `*` does not run across the colons of the first five; a pattern with
/// fewer components (`*`) is matched as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ArnPattern {
    Components(Vec<Pattern>),
    Whole(Pattern),
}

impl ArnPattern {
    /// An `Arn*` condition value.
    pub(super) fn new(whole: Pattern) -> ArnPattern {
        ArnPattern::compile(whole, false)
    }

    /// A `Resource` element's value.
    pub(super) fn resource(whole: Pattern) -> ArnPattern {
        ArnPattern::compile(whole, true)
    }

    fn compile(whole: Pattern, variables_in_resource_only: bool) -> ArnPattern {
        match whole.arn_components(variables_in_resource_only) {
            Some(components) => ArnPattern::Components(components),
            None => ArnPattern::Whole(whole),
        }
    }

    pub(super) fn matches(&self, value: &str, context: &BTreeMap<String, String>) -> Outcome {
        match self {
            ArnPattern::Whole(pattern) => pattern.matches(value, context),
            ArnPattern::Components(patterns) => {
                let parts: Vec<&str> = value.splitn(6, ':').collect();
                if parts.len() != patterns.len() {
                    return Outcome::No;
                }
                Outcome::all(
                    patterns
                        .iter()
                        .zip(parts)
                        .map(|(p, part)| p.matches(part, context)),
                )
            }
        }
    }
}

/// Wildcard matching by backtracking to the last `*` only, which is linear for practical patterns.
fn glob(pattern: &[Atom], text: &[char], case_insensitive: bool) -> bool {
    let same =
        |a: char, b: char| a == b || (case_insensitive && a.to_lowercase().eq(b.to_lowercase()));
    let (mut p, mut t) = (0, 0);
    let mut last_star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(Atom::AnyMany) => {
                last_star = Some((p, t));
                p += 1;
            }
            Some(Atom::AnyOne) => {
                p += 1;
                t += 1;
            }
            Some(Atom::Char(c)) if same(*c, text[t]) => {
                p += 1;
                t += 1;
            }
            _ => match last_star {
                Some((star, from)) => {
                    last_star = Some((star, from + 1));
                    p = star + 1;
                    t = from + 1;
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|atom| *atom == Atom::AnyMany)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::outcome::Outcome::{No, Unknown, Yes};

    const GLOB: Syntax = Syntax {
        wildcards: true,
        case_insensitive: false,
        variables: false,
    };

    fn none() -> BTreeMap<String, String> {
        BTreeMap::new()
    }

    fn glob_matches(pattern: &str, text: &str) -> bool {
        Pattern::new(pattern, GLOB).matches(text, &none()) == Yes
    }

    #[test]
    fn star_matches_any_run_including_empty_and_question_mark_one_char() {
        assert!(glob_matches("*", ""));
        assert!(glob_matches("*", "*"));
        assert!(glob_matches("a*c", "ac"));
        assert!(glob_matches("a*c", "abbbc"));
        assert!(glob_matches("a*b*c", "aXbYbZc"));
        assert!(!glob_matches("a*c", "abcd"));
        assert!(glob_matches("a?c", "abc"));
        assert!(!glob_matches("a?c", "ac"));
        assert!(glob_matches("**?", "x"));
        assert!(!glob_matches("abc", "ab"));
        assert!(!glob_matches("ab", "abc"));
        assert!(glob_matches("", ""));
        assert!(!glob_matches("", "a"));
    }

    #[test]
    fn iam_action_shapes() {
        let ci = Syntax {
            case_insensitive: true,
            ..GLOB
        };
        let m = |p: &str, t: &str| Pattern::new(p, ci).matches(t, &none()) == Yes;
        assert!(m("ssm*", "ssmmessages:OpenDataChannel"));
        assert!(m("ssmmessages:*", "ssmmessages:CreateControlChannel"));
        assert!(m("*:*", "ec2messages:GetMessages"));
        assert!(m("ssm:update*", "SSM:UpdateInstanceInformation"));
        assert!(!m("ssm:*", "ssmmessages:OpenDataChannel"));
        assert!(!glob_matches(
            "ssm:update*",
            "ssm:UpdateInstanceInformation"
        ));
    }

    #[test]
    fn case_folding_is_unicode_aware() {
        let ci = Syntax {
            case_insensitive: true,
            ..GLOB
        };
        assert_eq!(Pattern::new("ÉTÉ", ci).matches("été", &none()), Yes);
    }

    #[test]
    fn without_wildcards_star_and_question_mark_are_plain() {
        let literal = Syntax {
            wildcards: false,
            ..GLOB
        };
        assert_eq!(Pattern::new("a*", literal).matches("abc", &none()), No);
        assert_eq!(Pattern::new("a*", literal).matches("a*", &none()), Yes);
        assert_eq!(Pattern::new("a?", literal).matches("a?", &none()), Yes);
    }

    #[test]
    fn variables_resolve_from_the_context_as_literal_text() {
        let vars = Syntax {
            variables: true,
            ..GLOB
        };
        let context = BTreeMap::from([("aws:username".to_string(), "ali*e".to_string())]);
        let p = Pattern::new("arn:aws:s3:::home/${AWS:UserName}/*", vars);
        assert_eq!(p.matches("arn:aws:s3:::home/ali*e/notes", &context), Yes);
        assert_eq!(p.matches("arn:aws:s3:::home/alice/notes", &context), No);
    }

    #[test]
    fn unresolved_variables_are_unknown_only_when_they_could_matter() {
        let vars = Syntax {
            variables: true,
            ..GLOB
        };
        let p = Pattern::new("arn:aws:s3:::home/${aws:username, 'nobody'}/*", vars);
        assert_eq!(
            p.matches("arn:aws:s3:::home/bob/x", &none()),
            Unknown(vec!["${aws:username, 'nobody'}".into()])
        );
        // No value of the variable can make this pattern match the literal `*`.
        assert_eq!(p.matches("*", &none()), No);
    }

    #[test]
    fn escapes_and_documents_without_variables() {
        let vars = Syntax {
            variables: true,
            ..GLOB
        };
        let p = Pattern::new("a${*}b${?}${$}", vars);
        assert_eq!(p.matches("a*b?$", &none()), Yes);
        assert_eq!(p.matches("aXb?$", &none()), No);
        // Unterminated: plain text.
        assert_eq!(Pattern::new("a${b", vars).matches("a${b", &none()), Yes);
        // Version 2008-10-17: `${...}` is plain text.
        let p = Pattern::new("home/${aws:username}", GLOB);
        assert_eq!(p.matches("home/${aws:username}", &none()), Yes);
    }

    #[test]
    fn arn_components_split_on_the_first_five_colons_only() {
        let p = Pattern::new("arn:aws:logs:*:123456789012:log-group:x:*", GLOB);
        let parts = p.arn_components(false).expect("six components");
        assert_eq!(parts.len(), 6);
        assert_eq!(parts[5].matches("log-group:x:log-stream:y", &none()), Yes);
        assert_eq!(parts[3].matches("eu-west-1", &none()), Yes);
        assert!(
            Pattern::new("arn:aws:*", GLOB)
                .arn_components(false)
                .is_none()
        );
        // A colon inside a variable name is not a separator.
        let vars = Syntax {
            variables: true,
            ..GLOB
        };
        let p = Pattern::new("arn:aws:iam::${aws:PrincipalAccount}:role/*", vars);
        assert_eq!(p.arn_components(true).map(|c| c.len()), Some(6));
        // ... and outside the resource part a variable is literal text, as IAM reads it.
        let context = BTreeMap::from([("aws:PrincipalAccount".to_string(), "1".to_string())]);
        assert_eq!(
            ArnPattern::new(p.clone()).matches("arn:aws:iam::1:role/x", &context),
            Yes
        );
        let resource = ArnPattern::resource(p);
        assert_eq!(resource.matches("arn:aws:iam::1:role/x", &context), No);
        let own = Pattern::new("arn:aws:s3:::b/${aws:PrincipalAccount}/*", vars);
        assert_eq!(
            ArnPattern::resource(own).matches("arn:aws:s3:::b/1/k", &context),
            Yes
        );
        // `*` stands for one component of the first five, not for the colons between them.
        let star =
            ArnPattern::resource(Pattern::new("arn:aws:ec2:*:123456789012:instance/*", GLOB));
        let odd = "arn:aws:ec2:a:b:123456789012:instance/i-1";
        assert_eq!(star.matches(odd, &none()), No);
        assert_eq!(
            Pattern::new("arn:aws:ec2:*:123456789012:instance/*", GLOB).matches(odd, &none()),
            Yes
        );
    }
}
