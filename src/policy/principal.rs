//! The `Principal` / `NotPrincipal` element of resource-based policies (trust and endpoint policies).

use super::document::string_list;
use super::outcome::Outcome;
use super::request::{Principal, is_account_id};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum PrincipalElement {
    /// `"Principal": "*"`: everyone.
    Anyone,
    /// `"Principal": {"AWS": [...], "Service": ...}`, one entry per value.
    Listed(Vec<(Kind, String)>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Aws,
    Service,
    Federated,
    CanonicalUser,
}

impl PrincipalElement {
    pub(super) fn parse(value: &Value, element: &str) -> Result<Self, String> {
        match value {
            Value::String(s) if s == "*" => Ok(PrincipalElement::Anyone),
            Value::Object(kinds) => {
                let mut listed = Vec::new();
                for (name, values) in kinds {
                    let kind = match name.as_str() {
                        "AWS" => Kind::Aws,
                        "Service" => Kind::Service,
                        "Federated" => Kind::Federated,
                        "CanonicalUser" => Kind::CanonicalUser,
                        other => {
                            return Err(format!(
                                "{element} has an unknown key \"{other}\" (expected AWS, Service, Federated or CanonicalUser)"
                            ));
                        }
                    };
                    let values = string_list(values, &format!("{element}.{name}"))?;
                    listed.extend(values.into_iter().map(|v| (kind, v)));
                }
                Ok(PrincipalElement::Listed(listed))
            }
            other => Err(format!(
                "{element} must be \"*\" or an object such as {{\"AWS\": ...}}, got {other}"
            )),
        }
    }

    /// Whether the element names the principal. Without a principal in the request only the
    /// everyone-forms can be decided.
    pub(super) fn matches(&self, principal: Option<&Principal>) -> Outcome {
        match (self.reach(principal), principal) {
            (Some(_), _) => Outcome::Yes,
            (None, Some(_)) => Outcome::No,
            (None, None) => {
                Outcome::Unknown(vec!["Principal (no principal in the request)".to_string()])
            }
        }
    }

    /// How the element covers the principal, by the strongest of its values; `None` if it does
    /// not, or (without a principal) may not.
    pub(super) fn reach(&self, principal: Option<&Principal>) -> Option<Reach> {
        match self {
            PrincipalElement::Anyone => Some(Reach::Named),
            PrincipalElement::Listed(listed) => listed
                .iter()
                .filter_map(|(kind, value)| names(*kind, value, principal))
                .min(),
        }
    }
}

/// How a `Principal` value covers a principal. It decides whether a grant stands on its own or
/// delegates to the principal's account, whose IAM policies must then allow too (a KMS key
/// policy's statement for `arn:aws:iam::ACCOUNT:root`).
///
/// Declared from the strongest, so that `min` picks the strongest of several values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Reach {
    /// By the principal's own ARN or service name, or as everyone (`*`).
    Named,
    /// Only as one of an account's principals: the account id or its root ARN.
    Account,
}

/// IAM matches a principal as written: no wildcard stands for part of a name or ARN (only the bare
/// `*` means everyone); an account id or its root ARN covers the account.
fn names(kind: Kind, value: &str, principal: Option<&Principal>) -> Option<Reach> {
    // `{"AWS": "*"}` is documented as the same as `"*"`, services included.
    if kind == Kind::Aws && value == "*" {
        return Some(Reach::Named);
    }
    let principal = principal?;
    match (kind, principal) {
        (Kind::Aws, Principal::Aws(arn)) if value == arn => Some(Reach::Named),
        (Kind::Aws, Principal::Aws(_)) => account_named(value)
            .filter(|&account| principal.account() == Some(account))
            .map(|_| Reach::Account),
        (Kind::Service, Principal::Service(service)) => (value == service).then_some(Reach::Named),
        _ => None,
    }
}

/// The account an `AWS` value stands for as a whole: `123456789012` or `arn:aws:iam::123456789012:root`.
fn account_named(value: &str) -> Option<&str> {
    if is_account_id(value) {
        return Some(value);
    }
    match value.split(':').collect::<Vec<_>>()[..] {
        ["arn", _, "iam", "", account, "root"] if is_account_id(account) => Some(account),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::outcome::Outcome::{No, Unknown, Yes};
    use serde_json::json;

    const ROLE: &str = "arn:aws:iam::123456789012:role/Name";

    fn element(v: Value) -> PrincipalElement {
        PrincipalElement::parse(&v, "Principal").unwrap()
    }

    fn role() -> Principal {
        Principal::Aws(ROLE.into())
    }

    fn ec2() -> Principal {
        Principal::Service("ec2.amazonaws.com".into())
    }

    #[test]
    fn everyone_forms_match_any_principal_even_an_absent_one() {
        for v in [
            json!("*"),
            json!({"AWS": "*"}),
            json!({"AWS": ["arn:aws:iam::1:root", "*"]}),
        ] {
            let e = element(v);
            assert_eq!(e.matches(Some(&role())), Yes);
            assert_eq!(e.matches(Some(&ec2())), Yes);
            assert_eq!(e.matches(None), Yes);
        }
    }

    #[test]
    fn service_principals_as_string_or_array() {
        assert_eq!(
            element(json!({"Service": "ec2.amazonaws.com"})).matches(Some(&ec2())),
            Yes
        );
        let both = element(json!({"Service": ["lambda.amazonaws.com", "ec2.amazonaws.com"]}));
        assert_eq!(both.matches(Some(&ec2())), Yes);
        assert_eq!(both.matches(Some(&role())), No);
        assert_eq!(
            element(json!({"Service": "lambda.amazonaws.com"})).matches(Some(&ec2())),
            No
        );
    }

    #[test]
    fn aws_values_match_the_exact_arn_or_the_whole_account() {
        assert_eq!(element(json!({"AWS": ROLE})).matches(Some(&role())), Yes);
        assert_eq!(element(json!({"AWS": ROLE})).matches(Some(&ec2())), No);
        // IAM: a wildcard cannot stand for part of a principal's name or ARN.
        let glob = element(json!({"AWS": "arn:aws:iam::123456789012:role/*"}));
        assert_eq!(glob.matches(Some(&role())), No);
        let service = element(json!({"Service": "ec2.*"}));
        assert_eq!(service.matches(Some(&ec2())), No);
        assert_eq!(
            element(json!({"AWS": "123456789012"})).matches(Some(&role())),
            Yes
        );
        let root = element(json!({"AWS": "arn:aws:iam::123456789012:root"}));
        assert_eq!(root.matches(Some(&role())), Yes);
        let other = element(json!({"AWS": ["111122223333", "arn:aws:iam::111122223333:root"]}));
        assert_eq!(other.matches(Some(&role())), No);
        let other_role = element(json!({"AWS": "arn:aws:iam::123456789012:role/Other"}));
        assert_eq!(other_role.matches(Some(&role())), No);
    }

    #[test]
    fn reach_prefers_a_value_naming_the_principal_to_its_account() {
        let reach = |v: Value| element(v).reach(Some(&role()));
        assert_eq!(reach(json!({"AWS": ROLE})), Some(Reach::Named));
        assert_eq!(reach(json!("*")), Some(Reach::Named));
        assert_eq!(reach(json!({"AWS": "*"})), Some(Reach::Named));
        assert_eq!(reach(json!({"AWS": "123456789012"})), Some(Reach::Account));
        let root = "arn:aws:iam::123456789012:root";
        assert_eq!(reach(json!({"AWS": root})), Some(Reach::Account));
        assert_eq!(reach(json!({"AWS": [root, ROLE]})), Some(Reach::Named));
        let other_account = json!({"AWS": "arn:aws:iam::111122223333:root"});
        assert_eq!(reach(other_account), None);
        assert_eq!(element(json!({"AWS": ROLE})).reach(None), None);
        assert_eq!(
            element(json!({"Service": "ec2.amazonaws.com"})).reach(Some(&ec2())),
            Some(Reach::Named)
        );
    }

    #[test]
    fn federated_and_canonical_users_never_name_a_role_or_service() {
        let e = element(json!({"Federated": "*", "CanonicalUser": "*"}));
        assert_eq!(e.matches(Some(&role())), No);
        assert_eq!(e.matches(Some(&ec2())), No);
    }

    #[test]
    fn a_listed_principal_is_unknown_without_a_principal_in_the_request() {
        assert_eq!(
            element(json!({"Service": "ec2.amazonaws.com"})).matches(None),
            Unknown(vec!["Principal (no principal in the request)".into()])
        );
    }

    #[test]
    fn malformed_principals_are_errors() {
        let err = |v: Value| PrincipalElement::parse(&v, "NotPrincipal").unwrap_err();
        assert!(err(json!("ec2.amazonaws.com")).starts_with("NotPrincipal must be \"*\""));
        assert!(err(json!({"Aws": "*"})).contains("unknown key \"Aws\""));
        assert!(err(json!({"AWS": 123456789012u64})).starts_with("NotPrincipal.AWS must be"));
        assert!(err(json!(["*"])).contains("must be \"*\""));
    }
}
