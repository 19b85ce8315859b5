//! IAM policy evaluation without AWS: "is this principal allowed this action on this resource" from
//! already-decoded policy documents, following AWS's documented evaluation logic.
//!
//! Used for three questions: does a role's identity-based policies (within its permissions boundary)
//! allow the agent's core actions; does its trust policy let `ec2.amazonaws.com` do `sts:AssumeRole`;
//! does a VPC endpoint policy let the role do the core actions.
//!
//! ```text
//! PolicyDocument::parse(&serde_json::Value) -> Result<PolicyDocument, String>          // trust, endpoint
//! PolicyDocument::parse_identity(&serde_json::Value) -> Result<PolicyDocument, String> // role, boundary
//! evaluate_identity(&[Labeled], Option<&Labeled>, &Request) -> Evaluation   // policies, boundary
//! evaluate_resource_policy(&Labeled, &Request) -> Evaluation                // trust, endpoint policy
//! ```
//!
//! A [`Labeled`] pairs a document with the name reports use for it (its ARN, `inline:Name`, ...). A
//! [`Request`] gives the action, the resource (`*` for actions without resource-level permissions, which
//! only statements whose `Resource` matches the literal `*` grant), the [`Principal`] (read by resource
//! policies only) and the condition keys whose values are known. An [`Evaluation`] gives the
//! [`Decision`], the statements behind it ([`StatementRef`]), what could not be evaluated, and which
//! boundary denied; its `Display` is one line for a report.
//!
//! Choices a caller should know:
//! - A condition is evaluated only when its key is in the context (names compared without case) and its
//!   operator is one of `String*`, `Arn*` and `Bool`, with or without `IfExists` and `ForAnyValue:` /
//!   `ForAllValues:`. Anything else (a key not in the context even with `IfExists`, `Null`,
//!   `IpAddress`, `Numeric*`, `Date*`, ...) is unevaluable, named like `aws:SourceIp (IpAddress)`.
//! - Policy variables (`${aws:PrincipalAccount}`) in resources and condition values, in documents of
//!   Version 2012-10-17, are replaced from the context; an unknown one makes the element unevaluable
//!   only when some value of it could make the pattern match.
//! - An unevaluable statement makes the answer `Uncertain` only when it could change it: a possible
//!   `Deny` when the answer would otherwise be Allowed, a possible `Allow` when nothing allows for sure.
//! - An explicit deny in the permissions boundary is an `ExplicitDeny` naming the boundary's
//!   statement; `DeniedByBoundary` means the boundary allows nothing that matches.
//! - In resource policies, a statement without `Principal` is about every principal; a `Principal`
//!   value is matched as written (IAM allows no wildcard inside a name or ARN); an account id or
//!   `arn:aws:iam::ACCOUNT:root` covers every principal of that account; `"*"` and `{"AWS": "*"}`
//!   mean everyone, services included. With no principal in the request, only the everyone-forms
//!   can be decided.
//! - A `Resource` ARN is matched component by component: a wildcard in one of the first five does
//!   not run across their colons, and policy variables there are literal text (IAM substitutes them
//!   only in the resource part).
//! - Documents IAM would refuse (unknown elements, wrong `Effect`, no or an empty `Action`, a
//!   wildcard in an action's service prefix or an action without one, a resource that is neither
//!   `*` nor an ARN; in identity policies and boundaries, a `Principal` or a statement without
//!   `Resource`: `PolicyDocument::parse_identity`) are errors, never guessed at.

mod condition;
mod decision;
mod document;
mod evaluate;
mod outcome;
mod pattern;
mod principal;
#[cfg(test)]
mod properties;
mod request;
mod statement;

pub use decision::{Decision, Evaluation, StatementRef};
pub use document::PolicyDocument;
pub use evaluate::{Labeled, evaluate_identity, evaluate_resource_policy};
pub use request::{Principal, Request};
