//! Parsing a policy document's top level, and the JSON shapes its elements share.

use super::statement::Statement;
use serde_json::Value;

/// A parsed IAM policy document (identity-based, permissions boundary, trust or endpoint policy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyDocument {
    pub(super) statements: Vec<Statement>,
}

impl PolicyDocument {
    /// Reads a decoded JSON document. Anything IAM would refuse to store (an unknown element, an
    /// `Effect` other than `Allow`/`Deny`, a missing `Action`, ...) is an error that says what and where,
    /// because guessing what a malformed document means could turn a deny into an allow.
    pub fn parse(document: &Value) -> Result<Self, String> {
        let fields = document
            .as_object()
            .ok_or_else(|| format!("a policy document must be a JSON object, got {document}"))?;
        if let Some(unknown) = fields
            .keys()
            .find(|k| !matches!(k.as_str(), "Version" | "Id" | "Statement"))
        {
            return Err(format!(
                "unknown element \"{unknown}\" in the policy document"
            ));
        }
        let variables = match fields.get("Version") {
            Some(Value::String(v)) if v == "2012-10-17" => true,
            Some(Value::String(v)) if v == "2008-10-17" => false,
            // IAM reads a document without a Version as 2008-10-17: no policy variables.
            None => false,
            Some(other) => {
                return Err(format!(
                    "Version must be \"2012-10-17\" or \"2008-10-17\", got {other}"
                ));
            }
        };
        if let Some(id) = fields.get("Id").filter(|id| !id.is_string()) {
            return Err(format!("Id must be a string, got {id}"));
        }
        let statements = match fields.get("Statement") {
            None => return Err("the policy document has no Statement".to_string()),
            Some(Value::Array(items)) => items.iter().collect(),
            Some(single @ Value::Object(_)) => vec![single],
            Some(other) => {
                return Err(format!(
                    "Statement must be an object or an array of objects, got {other}"
                ));
            }
        };
        let statements = statements
            .into_iter()
            .enumerate()
            .map(|(index, statement)| {
                Statement::parse(statement, variables)
                    .map_err(|e| format!("statement #{index}: {e}"))
            })
            .collect::<Result<_, _>>()?;
        Ok(PolicyDocument { statements })
    }
}

impl PolicyDocument {
    /// Reads an identity-based policy or permissions boundary: on top of [`PolicyDocument::parse`],
    /// IAM refuses a `Principal` in one and requires every statement to name its resources.
    pub fn parse_identity(document: &Value) -> Result<Self, String> {
        let parsed = PolicyDocument::parse(document)?;
        for (index, statement) in parsed.statements.iter().enumerate() {
            if statement.names_principals() {
                return Err(format!(
                    "statement #{index}: an identity-based policy cannot have a Principal"
                ));
            }
            if !statement.names_resources() {
                return Err(format!(
                    "statement #{index}: it has neither Resource nor NotResource"
                ));
            }
        }
        Ok(parsed)
    }
}

/// An element written as one string or an array of strings, e.g. `Action` or a `Principal` entry.
pub(super) fn string_list(value: &Value, element: &str) -> Result<Vec<String>, String> {
    let not_text =
        |v: &Value| format!("{element} must be a string or an array of strings, got {v}");
    match value {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| not_text(item))
            })
            .collect(),
        other => Err(not_text(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn allow_all() -> Value {
        json!({"Effect": "Allow", "Action": "*", "Resource": "*"})
    }

    #[test]
    fn statement_may_be_one_object_or_an_array() {
        let one = PolicyDocument::parse(&json!({"Statement": allow_all()})).unwrap();
        assert_eq!(one.statements.len(), 1);
        let two = PolicyDocument::parse(&json!({
            "Version": "2012-10-17", "Id": "x", "Statement": [allow_all(), allow_all()]
        }))
        .unwrap();
        assert_eq!(two.statements.len(), 2);
        let none = PolicyDocument::parse(&json!({"Statement": []})).unwrap();
        assert!(none.statements.is_empty());
    }

    #[test]
    fn malformed_documents_are_errors() {
        let err = |v: Value| PolicyDocument::parse(&v).unwrap_err();
        assert_eq!(
            err(json!({"Version": "2012-10-17"})),
            "the policy document has no Statement"
        );
        assert!(err(json!([allow_all()])).contains("must be a JSON object"));
        assert!(err(json!({"Statement": "x"})).contains("Statement must be an object"));
        assert!(err(json!({"Statement": [allow_all(), 3]})).starts_with("statement #1:"));
        assert!(err(json!({"Version": "2020-01-01", "Statement": []})).contains("Version must be"));
        assert!(err(json!({"Version": 2012, "Statement": []})).contains("Version must be"));
        assert!(err(json!({"Id": 1, "Statement": []})).contains("Id must be a string"));
        assert!(err(json!({"Statment": []})).contains("unknown element \"Statment\""));
        let wrong_effect = json!({"Statement": [allow_all(), {"Effect": "Permit", "Action": "*"}]});
        assert!(err(wrong_effect).starts_with("statement #1: Effect must be"));
    }

    #[test]
    fn string_list_takes_a_string_or_an_array_of_strings() {
        assert_eq!(
            string_list(&json!("a"), "Action"),
            Ok(vec!["a".to_string()])
        );
        assert_eq!(
            string_list(&json!(["a", "b"]), "Action"),
            Ok(vec!["a".to_string(), "b".to_string()])
        );
        assert!(
            string_list(&json!(["a", 1]), "Action")
                .unwrap_err()
                .contains("got 1")
        );
        assert!(
            string_list(&json!({"a": 1}), "Resource")
                .unwrap_err()
                .starts_with("Resource")
        );
    }
}
