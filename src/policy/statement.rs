//! One statement: parsing it, and whether it applies to a request.

use super::condition::{Condition, parse_conditions};
use super::document::string_list;
use super::outcome::Outcome;
use super::pattern::{ArnPattern, Pattern, Syntax};
use super::principal::{PrincipalElement, Reach};
use super::request::Request;
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Effect {
    Allow,
    Deny,
}

/// `Action` vs `NotAction`, `Resource` vs `NotResource`, `Principal` vs `NotPrincipal`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Scope<T> {
    Listed(T),
    AllBut(T),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Statement {
    pub(super) sid: Option<String>,
    pub(super) effect: Effect,
    actions: Scope<Vec<Pattern>>,
    /// `None`: no `Resource` element (valid in resource-based policies), so every resource.
    resources: Option<Scope<Vec<ArnPattern>>>,
    /// `None`: no `Principal` element; then the statement is about every principal.
    principals: Option<Scope<PrincipalElement>>,
    conditions: Vec<Condition>,
}

const ELEMENTS: [&str; 9] = [
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];

impl Statement {
    /// `variables`: whether `${...}` in resources and condition values are policy variables.
    pub(super) fn parse(statement: &Value, variables: bool) -> Result<Self, String> {
        let fields = statement
            .as_object()
            .ok_or_else(|| format!("a statement must be a JSON object, got {statement}"))?;
        if let Some(unknown) = fields.keys().find(|k| !ELEMENTS.contains(&k.as_str())) {
            return Err(format!("unknown element \"{unknown}\""));
        }
        let sid = match fields.get("Sid") {
            None => None,
            Some(Value::String(s)) if s.is_empty() => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => return Err(format!("Sid must be a string, got {other}")),
        };
        let effect = match fields.get("Effect") {
            Some(Value::String(e)) if e == "Allow" => Effect::Allow,
            Some(Value::String(e)) if e == "Deny" => Effect::Deny,
            Some(other) => {
                return Err(format!("Effect must be \"Allow\" or \"Deny\", got {other}"));
            }
            None => {
                return Err("Effect must be \"Allow\" or \"Deny\", but it is missing".to_string());
            }
        };
        let action_syntax = Syntax {
            wildcards: true,
            case_insensitive: true,
            variables: false,
        };
        let resource_syntax = Syntax {
            wildcards: true,
            case_insensitive: false,
            variables,
        };
        let patterns = |(negated, element, value): Found, syntax: Syntax| {
            let list = string_list(value, &element)?;
            // IAM refuses an empty list: it would mean "nothing" or, negated, "everything".
            if list.is_empty() {
                return Err(format!("{element} is an empty list"));
            }
            if let Some(bad) = list.iter().find_map(|text| malformed(&element, text)) {
                return Err(bad);
            }
            let list = list.iter().map(|text| Pattern::new(text, syntax)).collect();
            Ok::<_, String>(Scope::new(negated, list))
        };
        let actions = match exclusive(fields, "Action")? {
            Some(found) => patterns(found, action_syntax)?,
            None => return Err("it has neither Action nor NotAction".to_string()),
        };
        let resources = match exclusive(fields, "Resource")? {
            Some(found) => Some(patterns(found, resource_syntax)?.map(ArnPattern::resource)),
            None => None,
        };
        let principals = match exclusive(fields, "Principal")? {
            Some((negated, element, value)) => Some(Scope::new(
                negated,
                PrincipalElement::parse(value, &element)?,
            )),
            None => None,
        };
        let conditions = match fields.get("Condition") {
            Some(element) => parse_conditions(element, variables)?,
            None => Vec::new(),
        };
        Ok(Statement {
            sid,
            effect,
            actions,
            resources,
            principals,
            conditions,
        })
    }

    /// Whether the statement has a `Principal`/`NotPrincipal` element.
    pub(super) fn names_principals(&self) -> bool {
        self.principals.is_some()
    }

    /// Whether the statement has a `Resource`/`NotResource` element.
    pub(super) fn names_resources(&self) -> bool {
        self.resources.is_some()
    }

    /// How the statement covers the request's principal, for a statement that applies: without a
    /// `Principal`, or by `NotPrincipal`, it is about every principal (but the listed). When the
    /// request has no principal, a listed one counts as covered only through its account, so that
    /// nothing is granted on the strength of a name that may not be the principal's.
    pub(super) fn reach(&self, request: &Request) -> Reach {
        match &self.principals {
            Some(Scope::Listed(element)) => {
                element.reach(request.principal).unwrap_or(Reach::Account)
            }
            _ => Reach::Named,
        }
    }

    /// Whether the statement's effect applies to the request. `match_principal` is false for
    /// identity-based policies, which have no principal to match (a `Principal` element there is ignored).
    pub(super) fn applies(&self, request: &Request, match_principal: bool) -> Outcome {
        let context = request.context;
        let action = || {
            let (patterns, negated) = self.actions.parts();
            Outcome::any(patterns.iter().map(|p| p.matches(request.action, context)))
                .negated_if(negated)
        };
        let resource = || match &self.resources {
            None => Outcome::Yes,
            Some(scope) => {
                let (patterns, negated) = scope.parts();
                let matched = Outcome::any(
                    patterns
                        .iter()
                        .map(|p| p.matches(request.resource, context)),
                );
                let element = if negated { "NotResource" } else { "Resource" };
                matched
                    .explain(|variables| {
                        vec![format!(
                            "{element} with policy variable {}",
                            variables.join(", ")
                        )]
                    })
                    .negated_if(negated)
            }
        };
        let principal = || match &self.principals {
            Some(scope) if match_principal => {
                let (element, negated) = scope.parts();
                element.matches(request.principal).negated_if(negated)
            }
            _ => Outcome::Yes,
        };
        let conditions = || Outcome::all(self.conditions.iter().map(|c| c.evaluate(context)));
        // Lazily, so that a statement about other actions costs no condition evaluation.
        let parts: [&dyn Fn() -> Outcome; 4] = [&action, &resource, &principal, &conditions];
        Outcome::all(parts.iter().map(|part| part()))
    }
}

impl<T> Scope<T> {
    fn new(negated: bool, value: T) -> Self {
        if negated {
            Scope::AllBut(value)
        } else {
            Scope::Listed(value)
        }
    }

    /// Each listed thing turned into another form, the scope kept.
    fn map<U>(self, f: impl FnMut(Pattern) -> U) -> Scope<Vec<U>>
    where
        T: IntoIterator<Item = Pattern>,
    {
        match self {
            Scope::Listed(t) => Scope::Listed(t.into_iter().map(f).collect()),
            Scope::AllBut(t) => Scope::AllBut(t.into_iter().map(f).collect()),
        }
    }

    /// The listed things and whether the statement is about everything but them.
    fn parts(&self) -> (&T, bool) {
        match self {
            Scope::Listed(t) => (t, false),
            Scope::AllBut(t) => (t, true),
        }
    }
}

/// An element found in a statement: whether it is the `Not` form, its name, its value.
type Found<'v> = (bool, String, &'v Value);

/// The element `name` or its `Not` form, which a statement may not both have.
fn exclusive<'v>(fields: &'v Map<String, Value>, name: &str) -> Result<Option<Found<'v>>, String> {
    let not_name = format!("Not{name}");
    match (fields.get(name), fields.get(&not_name)) {
        (Some(_), Some(_)) => Err(format!("it has both {name} and {not_name}")),
        (Some(v), None) => Ok(Some((false, name.to_string(), v))),
        (None, Some(v)) => Ok(Some((true, not_name, v))),
        (None, None) => Ok(None),
    }
}

/// Why IAM would refuse one value of an `Action` or `Resource` element: an action is `*` or
/// `service:Name` with a literal service prefix; a resource is `*` or an ARN.
fn malformed(element: &str, text: &str) -> Option<String> {
    if text == "*" {
        return None;
    }
    match element.trim_start_matches("Not") {
        "Action" => match text.split_once(':') {
            Some((service, name)) if !service.is_empty() && !name.is_empty() => service
                .contains(['*', '?'])
                .then(|| format!("{element} {text:?} has a wildcard in its service prefix")),
            _ => Some(format!("{element} {text:?} is not service:Action")),
        },
        "Resource" => (!text.starts_with("arn:"))
            .then(|| format!("{element} {text:?} is neither \"*\" nor an ARN")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::outcome::Outcome::{No, Unknown, Yes};
    use crate::policy::request::Principal;
    use serde_json::json;
    use std::collections::BTreeMap;

    const INSTANCE: &str = "arn:aws:ec2:eu-west-1:123456789012:instance/i-0abc1234567890def";

    fn statement(v: Value) -> Statement {
        Statement::parse(&v, true).unwrap()
    }

    fn identity(s: &Statement, action: &str, resource: &str) -> Outcome {
        let context = BTreeMap::new();
        let request = Request {
            action,
            resource,
            principal: None,
            context: &context,
        };
        s.applies(&request, false)
    }

    #[test]
    fn actions_match_case_insensitively_with_wildcards() {
        let s = statement(
            json!({"Effect": "Allow", "Action": ["ssm:Update*", "SSMMESSAGES:*"], "Resource": "*"}),
        );
        assert_eq!(identity(&s, "ssm:UpdateInstanceInformation", "*"), Yes);
        assert_eq!(identity(&s, "ssmmessages:OpenDataChannel", "*"), Yes);
        assert_eq!(identity(&s, "ssm:GetDocument", "*"), No);
        assert_eq!(identity(&s, "ec2messages:GetMessages", "*"), No);
    }

    #[test]
    fn not_action_applies_to_every_other_action() {
        let s = statement(json!({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}));
        assert_eq!(identity(&s, "ssmmessages:CreateControlChannel", "*"), Yes);
        assert_eq!(identity(&s, "iam:PassRole", "*"), No);
        assert_eq!(identity(&s, "IAM:PassRole", "*"), No);
    }

    #[test]
    fn a_specific_resource_does_not_cover_the_literal_star_of_actions_without_resource_types() {
        let s = statement(
            json!({"Effect": "Allow", "Action": "*", "Resource": "arn:aws:ec2:*:*:instance/*"}),
        );
        assert_eq!(identity(&s, "ssm:UpdateInstanceInformation", INSTANCE), Yes);
        assert_eq!(identity(&s, "ssmmessages:OpenDataChannel", "*"), No);
        let exact = statement(json!({"Effect": "Allow", "Action": "*", "Resource": INSTANCE}));
        assert_eq!(
            identity(&exact, "ssm:UpdateInstanceInformation", INSTANCE),
            Yes
        );
        assert_eq!(
            identity(
                &exact,
                "ssm:UpdateInstanceInformation",
                &INSTANCE.to_uppercase()
            ),
            No
        );
    }

    #[test]
    fn not_resource_and_missing_resource() {
        let s =
            statement(json!({"Effect": "Deny", "Action": "*", "NotResource": "arn:aws:s3:::*"}));
        assert_eq!(identity(&s, "ssm:UpdateInstanceInformation", INSTANCE), Yes);
        assert_eq!(identity(&s, "s3:GetObject", "arn:aws:s3:::bucket/key"), No);
        let all = statement(json!({"Effect": "Allow", "Principal": "*", "Action": "*"}));
        assert_eq!(identity(&all, "ssm:GetDocument", INSTANCE), Yes);
    }

    #[test]
    fn unresolved_resource_variables_are_unknown() {
        let s = statement(
            json!({"Effect": "Allow", "Action": "*", "Resource": "arn:aws:ec2:*:*:instance/${ec2:InstanceID}"}),
        );
        assert_eq!(
            identity(&s, "ssm:UpdateInstanceInformation", INSTANCE),
            Unknown(vec![
                "Resource with policy variable ${ec2:InstanceID}".into()
            ])
        );
        assert_eq!(identity(&s, "ssmmessages:OpenDataChannel", "*"), No);
        let not =
            json!({"Effect": "Deny", "Action": "*", "NotResource": "arn:aws:ec2:*:*:${aws:x}"});
        let not = statement(not);
        assert_eq!(
            identity(&not, "ssm:GetDocument", INSTANCE),
            Unknown(vec!["NotResource with policy variable ${aws:x}".into()])
        );
    }

    #[test]
    fn principal_counts_only_for_resource_based_evaluation() {
        let s = statement(
            json!({"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::123456789012:role/Name"}, "Action": "*"}),
        );
        assert_eq!(identity(&s, "ssm:GetDocument", "*"), Yes);
        let context = BTreeMap::new();
        let role = Principal::Aws("arn:aws:iam::123456789012:role/Name".into());
        let other = Principal::Aws("arn:aws:iam::123456789012:role/Other".into());
        let request = |principal| Request {
            action: "ssm:GetDocument",
            resource: "*",
            principal,
            context: &context,
        };
        assert_eq!(s.applies(&request(Some(&role)), true), No);
        assert_eq!(s.applies(&request(Some(&other)), true), Yes);
        let unknown = Unknown(vec!["Principal (no principal in the request)".into()]);
        assert_eq!(s.applies(&request(None), true), unknown);
    }

    #[test]
    fn conditions_are_evaluated_only_for_matching_actions() {
        let s = statement(json!({
            "Effect": "Deny", "Action": "ssmmessages:*", "Resource": "*",
            "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}
        }));
        assert_eq!(identity(&s, "ssm:GetDocument", "*"), No);
        assert_eq!(
            identity(&s, "ssmmessages:OpenDataChannel", "*"),
            Unknown(vec!["aws:SourceIp (IpAddress)".into()])
        );
    }

    #[test]
    fn sid_and_effect() {
        let s = statement(json!({"Sid": "Core", "Effect": "Deny", "Action": "*"}));
        assert_eq!((s.sid.as_deref(), s.effect), (Some("Core"), Effect::Deny));
        assert_eq!(
            statement(json!({"Sid": "", "Effect": "Allow", "Action": "*"})).sid,
            None
        );
    }

    #[test]
    fn malformed_statements_are_errors() {
        let err = |v: Value| Statement::parse(&v, true).unwrap_err();
        assert!(err(json!({"Effect": "allow", "Action": "*"})).starts_with("Effect must be"));
        assert!(err(json!({"Action": "*"})).contains("missing"));
        assert!(err(json!({"Effect": "Allow"})).contains("neither Action nor NotAction"));
        assert!(
            err(json!({"Effect": "Allow", "Action": "*", "NotAction": "iam:*"}))
                .contains("both Action and NotAction")
        );
        assert!(
            err(json!({"Effect": "Allow", "Action": "*", "Resource": "*", "NotResource": "*"}))
                .contains("both Resource")
        );
        assert!(
            err(json!({"Effect": "Allow", "Action": "*", "Principal": "*", "NotPrincipal": "*"}))
                .contains("both Principal")
        );
        assert!(err(json!({"Effect": "Allow", "Action": 1})).starts_with("Action must be"));
        assert_eq!(
            err(json!({"Effect": "Allow", "Action": []})),
            "Action is an empty list"
        );
        assert!(err(json!({"Effect": "Deny", "NotAction": [], "Resource": "*"})).contains("empty"));
        assert!(err(json!({"Effect": "Allow", "Action": "ssm*:Get*"})).contains("service prefix"));
        assert!(err(json!({"Effect": "Allow", "Action": "GetObject"})).contains("service:Action"));
        assert!(err(json!({"Effect": "Allow", "NotAction": "ssm:"})).contains("service:Action"));
        let not_arn = json!({"Effect": "Allow", "Action": "*", "Resource": "bucket/*"});
        assert!(err(not_arn).contains("nor an ARN"));
        assert!(err(json!({"Effect": "Allow", "Action": "*", "Resource": []})).contains("empty"));
        assert!(err(json!({"Effect": "Allow", "NotAction": [1]})).starts_with("NotAction must be"));
        assert!(
            err(json!({"Effect": "Allow", "Action": "*", "NotResource": {}}))
                .starts_with("NotResource must be")
        );
        assert!(
            err(json!({"Effect": "Allow", "Action": "*", "Resources": "*"}))
                .contains("unknown element \"Resources\"")
        );
        assert!(
            err(json!({"Effect": "Allow", "Action": "*", "Sid": 1})).starts_with("Sid must be")
        );
        assert!(
            err(json!({"Effect": "Allow", "Action": "*", "Principal": "ec2"}))
                .starts_with("Principal must be")
        );
        assert!(
            err(json!({"Effect": "Allow", "Action": "*", "Condition": []}))
                .starts_with("Condition must be")
        );
        assert!(err(json!("Allow")).starts_with("a statement must be a JSON object"));
    }
}
