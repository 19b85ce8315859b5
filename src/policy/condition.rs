//! The `Condition` element: which operators are evaluated, and what makes a condition unevaluable.
//!
//! Only a key whose value the request context holds is evaluated. A key missing from the context is
//! unevaluable even with an `...IfExists` operator, because the context lists what the caller knows,
//! not what the real request carries — unless the context says it is complete for the key's family
//! (see [`super::request::known_absent`]): then the key is absent from the request, and IAM's rules
//! for an absent key apply. Context values are single, so `ForAnyValue:` / `ForAllValues:` reduce
//! to the operator they prefix.

use super::outcome::Outcome;
use super::pattern::{ArnPattern, Pattern, Syntax};
use super::request::{known_absent, lookup};
use serde_json::Value;
use std::collections::BTreeMap;

/// One key tested by one operator, e.g. `"StringEquals": {"aws:RequestedRegion": ["eu-west-1"]}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Condition {
    /// As written, for reports: `ForAnyValue:StringLikeIfExists`.
    operator: String,
    key: String,
    /// `None` for the operators this module does not evaluate.
    test: Option<Test>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Test {
    values: Values,
    /// The `...Not...` operators: true when no value matches.
    negated: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Values {
    Text(Vec<Pattern>),
    Arn(Vec<ArnPattern>),
    Bool(Vec<String>),
}

/// Reads a `Condition` element into its (operator, key) pairs, all of which must hold.
pub(super) fn parse_conditions(element: &Value, variables: bool) -> Result<Vec<Condition>, String> {
    let operators = element
        .as_object()
        .ok_or_else(|| format!("Condition must be an object, got {element}"))?;
    let mut conditions = Vec::new();
    for (operator, keys) in operators {
        let keys = keys.as_object().ok_or_else(|| {
            format!("Condition operator {operator} must map keys to values, got {keys}")
        })?;
        for (key, values) in keys {
            let values = condition_values(values)
                .map_err(|got| format!("Condition {operator} {key}: values must be strings, numbers or booleans, got {got}"))?;
            conditions.push(Condition {
                operator: operator.clone(),
                key: key.clone(),
                test: parse_test(operator, &values, variables),
            });
        }
    }
    Ok(conditions)
}

/// IAM accepts unquoted numbers and booleans (`"aws:SecureTransport": false`) and compares their text.
/// The error is the offending value, as JSON.
fn condition_values(values: &Value) -> Result<Vec<String>, String> {
    let one = |v: &Value| match v {
        Value::String(s) => Ok(s.clone()),
        Value::Bool(_) | Value::Number(_) => Ok(v.to_string()),
        _ => Err(v.to_string()),
    };
    match values {
        Value::Array(items) => items.iter().map(one).collect(),
        single => one(single).map(|v| vec![v]),
    }
}

fn parse_test(operator: &str, values: &[String], variables: bool) -> Option<Test> {
    let base = operator
        .strip_prefix("ForAnyValue:")
        .or_else(|| operator.strip_prefix("ForAllValues:"))
        .unwrap_or(operator);
    let base = base.strip_suffix("IfExists").unwrap_or(base);
    let text = |wildcards, case_insensitive| {
        let syntax = Syntax {
            wildcards,
            case_insensitive,
            variables,
        };
        Values::Text(values.iter().map(|v| Pattern::new(v, syntax)).collect())
    };
    let arn = || {
        let syntax = Syntax {
            wildcards: true,
            case_insensitive: false,
            variables,
        };
        let patterns = values
            .iter()
            .map(|v| ArnPattern::new(Pattern::new(v, syntax)));
        Values::Arn(patterns.collect())
    };
    let (values, negated) = match base {
        "StringEquals" => (text(false, false), false),
        "StringNotEquals" => (text(false, false), true),
        "StringEqualsIgnoreCase" => (text(false, true), false),
        "StringNotEqualsIgnoreCase" => (text(false, true), true),
        "StringLike" => (text(true, false), false),
        "StringNotLike" => (text(true, false), true),
        // IAM documents ArnEquals as behaving like ArnLike, wildcards included.
        "ArnEquals" | "ArnLike" => (arn(), false),
        "ArnNotEquals" | "ArnNotLike" => (arn(), true),
        "Bool" => (Values::Bool(values.to_vec()), false),
        _ => return None,
    };
    Some(Test { values, negated })
}

impl Condition {
    pub(super) fn evaluate(&self, context: &BTreeMap<String, String>) -> Outcome {
        let what = format!("{} ({})", self.key, self.operator);
        let Some(test) = &self.test else {
            return Outcome::Unknown(vec![what]);
        };
        let Some(value) = lookup(context, &self.key) else {
            return match known_absent(context, &self.key) {
                true => Outcome::from_bool(self.holds_without_the_key(test)),
                false => Outcome::Unknown(vec![what]),
            };
        };
        let matched = match &test.values {
            Values::Text(patterns) => {
                Outcome::any(patterns.iter().map(|p| p.matches(value, context)))
            }
            Values::Arn(patterns) => {
                Outcome::any(patterns.iter().map(|p| p.matches(value, context)))
            }
            Values::Bool(expected) => {
                Outcome::from_bool(expected.iter().any(|e| e.eq_ignore_ascii_case(value)))
            }
        };
        matched.negated_if(test.negated).explain(|variables| {
            vec![format!(
                "{what} with policy variable {}",
                variables.join(", ")
            )]
        })
    }

    /// IAM on a key the request does not carry: `...IfExists` and `ForAllValues:` hold, a negated
    /// operator holds (nothing matches), any other does not.
    fn holds_without_the_key(&self, test: &Test) -> bool {
        let base = self.operator.strip_prefix("ForAllValues:");
        let if_exists = base.unwrap_or(&self.operator).ends_with("IfExists");
        if_exists || base.is_some() || (test.negated && !self.operator.starts_with("ForAnyValue:"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::outcome::Outcome::{No, Unknown, Yes};
    use serde_json::json;

    fn context(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// All the conditions of one `Condition` element, as a statement combines them.
    fn eval(element: Value, pairs: &[(&str, &str)]) -> Outcome {
        let conditions = parse_conditions(&element, true).unwrap();
        let ctx = context(pairs);
        Outcome::all(conditions.iter().map(|c| c.evaluate(&ctx)))
    }

    const IN_IRELAND: &[(&str, &str)] = &[("aws:RequestedRegion", "eu-west-1")];

    #[test]
    fn a_key_known_to_be_absent_follows_iam_s_rules() {
        let tags = [("ssm:resourceTag/*", ""), ("ssm:resourceTag/env", "prod")];
        let c = |element: Value| eval(element, &tags);
        let team = |op: &str| json!({op: {"ssm:resourceTag/team": "payments"}});
        assert_eq!(c(team("StringEquals")), No);
        assert_eq!(c(team("StringNotEquals")), Yes);
        assert_eq!(c(team("StringEqualsIfExists")), Yes);
        assert_eq!(c(team("ForAllValues:StringEquals")), Yes);
        assert_eq!(c(team("ForAnyValue:StringEquals")), No);
        assert_eq!(
            c(json!({"StringEquals": {"SSM:ResourceTag/Env": "prod"}})),
            Yes
        );
        // Without the marker, nothing is known of the tags that are not listed.
        let unknown = eval(team("StringEquals"), &[("ssm:resourceTag/env", "prod")]);
        assert!(matches!(unknown, Unknown(_)), "{unknown:?}");
        // Only the marked family is complete.
        assert!(matches!(
            c(json!({"StringEquals": {"aws:PrincipalTag/team": "x"}})),
            Unknown(_)
        ));
    }

    #[test]
    fn string_equals_is_exact_and_ors_its_values() {
        let c = |v: Value| {
            eval(
                json!({"StringEquals": {"aws:RequestedRegion": v}}),
                IN_IRELAND,
            )
        };
        assert_eq!(c(json!("eu-west-1")), Yes);
        assert_eq!(c(json!("us-east-1")), No);
        assert_eq!(c(json!(["us-east-1", "eu-west-1"])), Yes);
        assert_eq!(c(json!("EU-WEST-1")), No);
        assert_eq!(c(json!("eu-*")), No);
    }

    #[test]
    fn negated_operators_hold_when_no_value_matches() {
        let c = |v: Value| {
            eval(
                json!({"StringNotEquals": {"aws:RequestedRegion": v}}),
                IN_IRELAND,
            )
        };
        assert_eq!(c(json!(["us-east-1", "us-west-2"])), Yes);
        assert_eq!(c(json!(["us-east-1", "eu-west-1"])), No);
        let like = |v: Value| {
            eval(
                json!({"StringNotLike": {"aws:RequestedRegion": v}}),
                IN_IRELAND,
            )
        };
        assert_eq!(like(json!("us-*")), Yes);
        assert_eq!(like(json!(["us-*", "eu-*"])), No);
    }

    #[test]
    fn ignore_case_and_like() {
        assert_eq!(
            eval(
                json!({"StringEqualsIgnoreCase": {"aws:RequestedRegion": "EU-West-1"}}),
                IN_IRELAND
            ),
            Yes
        );
        assert_eq!(
            eval(
                json!({"StringNotEqualsIgnoreCase": {"aws:RequestedRegion": "EU-West-1"}}),
                IN_IRELAND
            ),
            No
        );
        assert_eq!(
            eval(
                json!({"StringLike": {"aws:RequestedRegion": "eu-*-?"}}),
                IN_IRELAND
            ),
            Yes
        );
        assert_eq!(
            eval(
                json!({"StringLike": {"aws:RequestedRegion": "EU-*"}}),
                IN_IRELAND
            ),
            No
        );
    }

    #[test]
    fn keys_are_anded_and_their_names_are_case_insensitive() {
        let ctx = &[
            ("aws:RequestedRegion", "eu-west-1"),
            ("aws:PrincipalAccount", "123456789012"),
        ];
        let both = |account: &str| {
            eval(
                json!({
                    "StringEquals": {"AWS:REQUESTEDREGION": "eu-west-1"},
                    "StringLike": {"aws:principalaccount": account}
                }),
                ctx,
            )
        };
        assert_eq!(both("1234*"), Yes);
        assert_eq!(both("9999*"), No);
    }

    #[test]
    fn arn_operators_match_component_by_component() {
        let ctx = &[("aws:PrincipalArn", "arn:aws:iam::123456789012:role/Name")];
        let arn = |op: &str, v: &str| eval(json!({op: {"aws:PrincipalArn": v}}), ctx);
        assert_eq!(arn("ArnLike", "arn:aws:iam::*:role/*"), Yes);
        assert_eq!(arn("ArnEquals", "arn:aws:iam::123456789012:role/Name"), Yes);
        assert_eq!(arn("ArnLike", "arn:aws:iam::123456789012:role/Other"), No);
        // Fewer than six components: matched as a whole.
        assert_eq!(arn("ArnLike", "arn:aws:*"), Yes);
        assert_eq!(arn("ArnNotLike", "arn:aws:iam::111122223333:*"), Yes);
        assert_eq!(
            arn("ArnNotEquals", "arn:aws:iam::123456789012:role/Name"),
            No
        );
        assert_eq!(arn("ArnLike", "*"), Yes);
        // `*` stands for one component only: it cannot swallow the colons of the resource part.
        let ctx = &[(
            "aws:SourceArn",
            "arn:aws:logs:eu-west-1:123456789012:log-group:g",
        )];
        let source = |v: &str| eval(json!({"ArnLike": {"aws:SourceArn": v}}), ctx);
        assert_eq!(source("arn:aws:logs:eu-west-1:*:g"), No);
        assert_eq!(source("arn:aws:logs:*:*:log-group:*"), Yes);
        let not_an_arn = &[("aws:PrincipalArn", "Name")];
        assert_eq!(
            eval(
                json!({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}}),
                not_an_arn
            ),
            No
        );
    }

    #[test]
    fn bool_accepts_json_booleans_and_strings() {
        let ctx = &[("aws:SecureTransport", "true")];
        assert_eq!(
            eval(json!({"Bool": {"aws:SecureTransport": true}}), ctx),
            Yes
        );
        assert_eq!(
            eval(json!({"Bool": {"aws:SecureTransport": "false"}}), ctx),
            No
        );
        assert_eq!(
            eval(json!({"Bool": {"aws:SecureTransport": "TRUE"}}), ctx),
            Yes
        );
    }

    #[test]
    fn set_prefixes_and_if_exists_reduce_to_the_base_operator_for_known_single_values() {
        assert_eq!(
            eval(
                json!({"StringEqualsIfExists": {"aws:RequestedRegion": "eu-west-1"}}),
                IN_IRELAND
            ),
            Yes
        );
        assert_eq!(
            eval(
                json!({"ForAnyValue:StringLike": {"aws:RequestedRegion": "eu-*"}}),
                IN_IRELAND
            ),
            Yes
        );
        assert_eq!(
            eval(
                json!({"ForAllValues:StringEquals": {"aws:RequestedRegion": "us-east-1"}}),
                IN_IRELAND
            ),
            No
        );
        assert_eq!(
            eval(
                json!({"ForAllValues:StringNotEqualsIfExists": {"aws:RequestedRegion": "us-east-1"}}),
                IN_IRELAND
            ),
            Yes
        );
    }

    #[test]
    fn unknown_keys_and_operators_are_unevaluable_with_key_and_operator_named() {
        let u = |s: &str| Unknown(vec![s.to_string()]);
        assert_eq!(
            eval(
                json!({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
                IN_IRELAND
            ),
            u("aws:SourceIp (IpAddress)")
        );
        assert_eq!(
            eval(
                json!({"StringEquals": {"aws:SourceVpc": "vpc-1"}}),
                IN_IRELAND
            ),
            u("aws:SourceVpc (StringEquals)")
        );
        assert_eq!(
            eval(
                json!({"StringEqualsIfExists": {"aws:SourceVpc": "vpc-1"}}),
                IN_IRELAND
            ),
            u("aws:SourceVpc (StringEqualsIfExists)")
        );
        // Null, numeric and date operators are never evaluated, even with a known key.
        assert_eq!(
            eval(
                json!({"Null": {"aws:RequestedRegion": "false"}}),
                IN_IRELAND
            ),
            u("aws:RequestedRegion (Null)")
        );
        let ctx = &[("aws:CurrentTime", "2024-01-01T00:00:00Z")];
        assert_eq!(
            eval(
                json!({"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}),
                ctx
            ),
            u("aws:CurrentTime (DateLessThan)")
        );
    }

    #[test]
    fn a_certainly_false_key_outweighs_an_unevaluable_one() {
        let c = json!({
            "StringEquals": {"aws:RequestedRegion": "us-east-1"},
            "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}
        });
        assert_eq!(eval(c, IN_IRELAND), No);
        let c = json!({
            "StringEquals": {"aws:RequestedRegion": "eu-west-1"},
            "IpAddress": {"aws:SourceIp": "10.0.0.0/8"},
            "NumericLessThan": {"s3:max-keys": "10"}
        });
        assert_eq!(
            eval(c, IN_IRELAND),
            Unknown(vec![
                "aws:SourceIp (IpAddress)".into(),
                "s3:max-keys (NumericLessThan)".into()
            ])
        );
    }

    #[test]
    fn policy_variables_in_values_resolve_or_are_unevaluable() {
        let ctx = &[
            ("aws:PrincipalArn", "arn:aws:iam::123456789012:role/Name"),
            ("aws:PrincipalAccount", "123456789012"),
        ];
        let c =
            json!({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::${aws:PrincipalAccount}:role/*"}});
        assert_eq!(eval(c, ctx), Yes);
        let c = json!({"StringLike": {"aws:PrincipalArn": "*/${aws:username}"}});
        assert_eq!(
            eval(c, ctx),
            Unknown(vec![
                "aws:PrincipalArn (StringLike) with policy variable ${aws:username}".into()
            ])
        );
        // In a 2008-10-17 document the same text is literal.
        let conditions =
            parse_conditions(&json!({"StringEquals": {"k": "${aws:username}"}}), false).unwrap();
        assert_eq!(
            conditions[0].evaluate(&context(&[("k", "${aws:username}")])),
            Yes
        );
    }

    #[test]
    fn malformed_conditions_are_errors() {
        let err = |v: Value| parse_conditions(&v, true).unwrap_err();
        assert!(err(json!("x")).starts_with("Condition must be an object"));
        assert!(err(json!({"StringEquals": "x"})).contains("must map keys to values"));
        assert!(err(json!({"StringEquals": {"k": null}})).contains("got null"));
        assert!(err(json!({"StringEquals": {"k": [{"a": 1}]}})).contains("values must be"));
    }
}
