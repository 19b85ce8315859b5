//! The question asked of the policies: who wants to do what to which resource, and what is known
//! about the request's condition keys.

use std::collections::BTreeMap;

/// Who makes the request, as matched against a resource-based policy's `Principal` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// An IAM principal by ARN, e.g. `arn:aws:iam::123456789012:role/Name` (or a bare account id).
    Aws(String),
    /// A service principal, e.g. `ec2.amazonaws.com`.
    Service(String),
}

impl Principal {
    /// The 12-digit account of an AWS principal; services belong to no account.
    pub(super) fn account(&self) -> Option<&str> {
        match self {
            Principal::Aws(id) if is_account_id(id) => Some(id),
            Principal::Aws(arn) => arn.split(':').nth(4).filter(|a| is_account_id(a)),
            Principal::Service(_) => None,
        }
    }
}

pub(super) fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

/// One request to decide.
///
/// `resource` is the ARN the action is on, or `*` for actions without resource-level permissions
/// (then only statements whose `Resource` pattern matches the literal `*` grant it).
/// `principal` is matched only by resource-based policies. `context` holds the condition keys whose
/// values are known; any other key makes the conditions that use it unevaluable.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub action: &'a str,
    pub resource: &'a str,
    pub principal: Option<&'a Principal>,
    pub context: &'a BTreeMap<String, String>,
}

/// The value of a condition key, whose name IAM compares without regard to case.
pub(super) fn lookup<'c>(context: &'c BTreeMap<String, String>, key: &str) -> Option<&'c str> {
    context
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(key))
        .map(|(_, value)| value.as_str())
}

/// Whether the context holds every key of `key`'s family, so that `key` is known to be absent
/// from the request: a context entry `family/*` (e.g. `ssm:resourceTag/*`, whose value is ignored)
/// says that every `family/…` key the request carries is listed. Condition keys never hold `*`.
pub(super) fn known_absent(context: &BTreeMap<String, String>, key: &str) -> bool {
    context.keys().any(|name| {
        name.strip_suffix('*').is_some_and(|family| {
            family.ends_with('/')
                && key.len() > family.len()
                && key.is_char_boundary(family.len())
                && key[..family.len()].eq_ignore_ascii_case(family)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_ignores_the_case_of_key_names_but_not_of_values() {
        let context =
            BTreeMap::from([("aws:RequestedRegion".to_string(), "eu-West-1".to_string())]);
        assert_eq!(lookup(&context, "AWS:requestedregion"), Some("eu-West-1"));
        assert_eq!(lookup(&context, "aws:SourceIp"), None);
    }

    #[test]
    fn account_of_arns_account_ids_and_services() {
        let role = Principal::Aws("arn:aws:iam::123456789012:role/Name".into());
        assert_eq!(role.account(), Some("123456789012"));
        assert_eq!(
            Principal::Aws("123456789012".into()).account(),
            Some("123456789012")
        );
        assert_eq!(
            Principal::Aws("arn:aws:iam::bad:role/x".into()).account(),
            None
        );
        assert_eq!(
            Principal::Service("ec2.amazonaws.com".into()).account(),
            None
        );
    }
}
