//! IAM policy evaluation without AWS: "is this principal allowed this action on this resource" from
//! already-decoded policy documents, following AWS's documented evaluation logic.
//!
//! One entry point, [`evaluate`], weighs everything that decides a request: the principal's
//! identity-based policies within its permissions boundary, and the resource's policy (an ordinary
//! resource policy or a KMS key policy), in the principal's account or another. The checks ask
//! three questions through it or its two narrower forms: does a role's identity-based policies
//! (within its boundary) allow the agent's core actions; does its trust policy let
//! `ec2.amazonaws.com` do `sts:AssumeRole`; does a VPC endpoint policy let the role do the core
//! actions.
//!
//! ```text
//! PolicyDocument::parse(&serde_json::Value) -> Result<PolicyDocument, String>  // trust, endpoint, key
//! PolicyDocument::parse_identity(&serde_json::Value) -> Result<PolicyDocument, String>  // role, boundary
//! evaluate(&Access, &Request) -> Evaluation
//!     Access { identity: &[Labeled], boundary: Option<&Labeled>, resource: Option<ResourcePolicy> }
//!     ResourcePolicy { policy: &Labeled, kind: ResourcePolicyKind (Ordinary | KmsKey), account }
//! evaluate_identity(&[Labeled], Option<&Labeled>, &Request) -> Evaluation  // no resource policy
//! evaluate_resource_policy(&Labeled, &Request) -> Evaluation  // the policy alone: trust, endpoint
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
//!   A context entry `family/*` (e.g. `ssm:resourceTag/*`) says the context lists every key of that
//!   family the request carries: another key of it is absent, and IAM's rules for an absent key
//!   apply (`...IfExists`, `ForAllValues:` and negated operators hold, unless under `ForAnyValue:`;
//!   the others do not).
//! - Policy variables (`${aws:PrincipalAccount}`) in resources and condition values, in documents of
//!   Version 2012-10-17, are replaced from the context; an unknown one makes the element unevaluable
//!   only when some value of it could make the pattern match.
//! - An unevaluable statement makes the answer `Uncertain` only when it could change it: a possible
//!   `Deny` when the answer would otherwise be Allowed, a possible `Allow` when nothing allows for sure.
//! - An explicit deny in the permissions boundary is an `ExplicitDeny` naming the boundary's
//!   statement; `DeniedByBoundary` means the boundary allows nothing that matches.
//! - [`evaluate`] combines the policies as AWS does. An explicit deny in any of them denies.
//!   Otherwise, with the resource in the principal's account (the account of `request.principal`
//!   is `ResourcePolicy::account`):
//!   - an ordinary resource policy's allow that names the principal (its ARN; or everyone: `*`,
//!     no `Principal`, a `NotPrincipal` leaving it out) grants on its own, beyond the boundary's
//!     reach; else the identity policies must allow within the boundary;
//!   - a KMS key policy must allow: naming the principal, on its own; only through the account
//!     (`arn:aws:iam::ACCOUNT:root` or the bare id), with the identity policies allowing within
//!     the boundary too. IAM policies alone grant nothing on a key.
//!
//!   Across accounts, or for a principal of no known account (a service, or none given), the
//!   resource policy (in any form) and the identity policies within the boundary must both allow.
//! - Simplified: AWS lets a boundary limit a resource policy's grant to a role ARN when the caller
//!   is one of the role's sessions; here a grant naming the principal given (pass the role ARN)
//!   is enough.
//! - In a combined answer, `ImplicitDeny` means a policy that must allow does not (the identity
//!   policies may allow while the key policy does not), and `Allowed` names the statements the
//!   grant rests on, the resource policy's first. Doubts combine alike: an unknown allow counts
//!   only where no certain grant does, an unknown deny whenever the answer would be Allowed.
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
pub use evaluate::{
    Access, Labeled, ResourcePolicy, ResourcePolicyKind, evaluate, evaluate_identity,
    evaluate_resource_policy,
};
pub use request::{Principal, Request};
