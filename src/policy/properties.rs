//! Property tests of the evaluator on generated documents: the algebra AWS's evaluation logic
//! promises (a deny only takes away, the order and grouping of statements do not count, a boundary
//! only narrows), which hand-picked examples cannot cover.
//!
//! `Uncertain` sits between the answers, so the properties are stated as "`Allowed` only if it was
//! `Allowed` before", never as "still denied".

use super::{
    Access, Decision, Evaluation, Labeled, PolicyDocument, Principal, Request, ResourcePolicy,
    ResourcePolicyKind, evaluate, evaluate_identity, evaluate_resource_policy,
};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

const ACCOUNT: &str = "123456789012";
/// Accounts a resource belongs to: the role's, and another.
const ACCOUNTS: &[&str] = &[ACCOUNT, "111122223333"];
const ROLE: &str = "arn:aws:iam::123456789012:role/Name";
const INSTANCE: &str = "arn:aws:ec2:eu-west-1:123456789012:instance/i-0abc1234567890def";

/// What requests ask for: some of the agent's core actions, and two it never needs.
const ACTIONS: &[&str] = &[
    "ssm:UpdateInstanceInformation",
    "ssmmessages:CreateControlChannel",
    "ssmmessages:OpenDataChannel",
    "ec2messages:GetMessages",
    "s3:GetObject",
    "iam:PassRole",
];

/// Written so that most patterns match some of [`ACTIONS`], by wildcard or case, and some none.
const ACTION_PATTERNS: &[&str] = &[
    "*",
    "ssm:UpdateInstanceInformation",
    "SSM:updateinstanceinformation",
    "ssm:*",
    "ssmmessages:Create*",
    "ssmmessages:*",
    "ssmmessages:Open*",
    "ec2messages:GetMessages",
    "ec2messages:Get?essages",
    "s3:GetObject",
    "iam:*",
];

/// `*` for actions without resource types, the instance, and an instance of another account.
const RESOURCES: &[&str] = &[
    "*",
    INSTANCE,
    "arn:aws:ec2:us-east-1:111122223333:instance/i-0fedcba9876543210",
];

/// The policy variable is one only in 2012-10-17 documents, and known only when the context has
/// the account: both ways are generated.
const RESOURCE_PATTERNS: &[&str] = &[
    "*",
    INSTANCE,
    "arn:aws:ec2:*:*:instance/*",
    "arn:aws:ec2:*:${aws:PrincipalAccount}:instance/*",
    "arn:aws:s3:::bucket/*",
];

/// Evaluated operators, a negated one, an `IfExists` one, and one never evaluated.
const OPERATORS: &[&str] = &[
    "StringEquals",
    "StringNotEquals",
    "StringLike",
    "StringEqualsIfExists",
    "Bool",
    "IpAddress",
];

/// Keys with values to test them against; `aws:SourceVpc` is never in the context, so conditions
/// on it are unevaluable.
const CONDITION_TESTS: &[(&str, &str)] = &[
    ("aws:RequestedRegion", "eu-west-1"),
    ("aws:RequestedRegion", "us-east-1"),
    ("aws:RequestedRegion", "eu-*"),
    ("aws:SecureTransport", "true"),
    ("aws:SecureTransport", "false"),
    ("aws:PrincipalAccount", ACCOUNT),
    ("aws:PrincipalAccount", "${aws:PrincipalAccount}"),
    ("aws:SourceVpc", "vpc-0abc"),
];

const REGIONS: &[&str] = &["eu-west-1", "us-east-1"];
const BOOLEANS: &[&str] = &["true", "false"];

/// A generated policy document, kept as JSON statements so that properties can reorder and
/// regroup them before parsing.
#[derive(Debug, Clone, Default)]
struct Doc {
    versioned: bool,
    statements: Vec<Value>,
}

impl Doc {
    fn parsed(&self) -> PolicyDocument {
        let mut json = json!({"Statement": self.statements});
        if self.versioned {
            json["Version"] = Value::from("2012-10-17");
        }
        PolicyDocument::parse(&json)
            .unwrap_or_else(|e| panic!("the generator made an invalid document: {e}\n{json}"))
    }
}

/// A request with owned parts, since `Request` only borrows them.
#[derive(Debug, Clone)]
struct Asked {
    action: &'static str,
    resource: &'static str,
    principal: Option<Principal>,
    context: BTreeMap<String, String>,
}

impl Asked {
    fn request(&self) -> Request<'_> {
        Request {
            action: self.action,
            resource: self.resource,
            principal: self.principal.as_ref(),
            context: &self.context,
        }
    }
}

/// Identity evaluation; every policy gets the same label, since labels only name statements.
fn identity(policies: &[Doc], boundary: Option<&Doc>, asked: &Asked) -> Evaluation {
    access(policies, boundary, None, asked)
}

/// Identity evaluation, combined with the policy of a resource of that kind and account if given.
fn access(
    policies: &[Doc],
    boundary: Option<&Doc>,
    resource: Option<(&Doc, ResourcePolicyKind, &str)>,
    asked: &Asked,
) -> Evaluation {
    let documents: Vec<PolicyDocument> = policies.iter().map(Doc::parsed).collect();
    let labeled: Vec<Labeled> = documents
        .iter()
        .map(|document| Labeled {
            label: "policy",
            document,
        })
        .collect();
    let boundary = boundary.map(Doc::parsed);
    let boundary = boundary.as_ref().map(|document| Labeled {
        label: "boundary",
        document,
    });
    let request = asked.request();
    let Some((policy, kind, account)) = resource else {
        return evaluate_identity(&labeled, boundary.as_ref(), &request);
    };
    let document = policy.parsed();
    let policy = Labeled {
        label: "resource policy",
        document: &document,
    };
    let access = Access {
        identity: &labeled,
        boundary: boundary.as_ref(),
        resource: Some(ResourcePolicy {
            policy: &policy,
            kind,
            account,
        }),
    };
    evaluate(&access, &request)
}

fn resource_based(policy: &Doc, asked: &Asked) -> Evaluation {
    let document = policy.parsed();
    let labeled = Labeled {
        label: "resource policy",
        document: &document,
    };
    evaluate_resource_policy(&labeled, &asked.request())
}

/// Adds `statement` to the policy `target` picks, or as a policy of its own.
fn add_statement(policies: &mut Vec<Doc>, target: Index, statement: Value) {
    let at = target.index(policies.len() + 1);
    match policies.get_mut(at) {
        Some(policy) => policy.statements.push(statement),
        None => policies.push(Doc {
            versioned: true,
            statements: vec![statement],
        }),
    }
}

/// The contract documented on `Evaluation`: which decisions name statements, unevaluable keys and
/// a boundary.
fn explains_itself(evaluation: &Evaluation) -> Result<(), TestCaseError> {
    let Evaluation {
        decision,
        statements,
        unevaluable,
        boundary,
    } = evaluation;
    match decision {
        Decision::Allowed | Decision::ExplicitDeny => prop_assert!(!statements.is_empty()),
        Decision::Uncertain => prop_assert!(!statements.is_empty() && !unevaluable.is_empty()),
        Decision::ImplicitDeny | Decision::DeniedByBoundary => prop_assert!(statements.is_empty()),
    }
    prop_assert_eq!(unevaluable.is_empty(), *decision != Decision::Uncertain);
    prop_assert_eq!(boundary.is_some(), *decision == Decision::DeniedByBoundary);
    Ok(())
}

/// An element written as one pattern or as an array of them.
fn patterns(vocabulary: &'static [&'static str]) -> impl Strategy<Value = Value> {
    prop_oneof![
        select(vocabulary).prop_map(Value::from),
        prop::collection::vec(select(vocabulary), 1..=3).prop_map(Value::from),
    ]
}

/// The element `name`, or sometimes its `Not` form, with a value from `values`.
fn named(
    name: &'static str,
    negated: f64,
    values: impl Strategy<Value = Value>,
) -> impl Strategy<Value = (String, Value)> {
    (prop::bool::weighted(negated), values).prop_map(move |(not, value)| {
        let key = if not {
            format!("Not{name}")
        } else {
            name.to_string()
        };
        (key, value)
    })
}

fn principal_element() -> impl Strategy<Value = Value> {
    select(vec![
        json!("*"),
        json!({"AWS": "*"}),
        json!({"AWS": ACCOUNT}),
        json!({"AWS": ROLE}),
        json!({"AWS": "arn:aws:iam::111122223333:root"}),
        json!({"Service": "ec2.amazonaws.com"}),
        json!({"Service": ["ssm.amazonaws.com", "ec2.amazonaws.com"]}),
    ])
}

/// A `Condition` element of one or two tests, all of which must hold.
fn condition() -> impl Strategy<Value = (String, Value)> {
    let test = (select(OPERATORS), select(CONDITION_TESTS));
    prop::collection::vec(test, 1..=2).prop_map(|tests| {
        let mut block = Map::new();
        for (operator, (key, value)) in tests {
            if let Value::Object(keys) = block.entry(operator).or_insert_with(|| json!({})) {
                keys.insert(key.to_string(), Value::from(value));
            }
        }
        ("Condition".to_string(), Value::Object(block))
    })
}

/// One statement. `principals` adds `Principal` / `NotPrincipal`, which only resource-based
/// evaluation reads.
fn statement(principals: bool) -> impl Strategy<Value = Value> {
    let principal = if principals {
        prop::option::weighted(0.7, named("Principal", 0.2, principal_element())).boxed()
    } else {
        Just(None).boxed()
    };
    (
        prop::bool::weighted(0.6),
        named("Action", 0.2, patterns(ACTION_PATTERNS)),
        prop::option::weighted(0.9, named("Resource", 0.15, patterns(RESOURCE_PATTERNS))),
        principal,
        prop::option::weighted(0.3, condition()),
    )
        .prop_map(|(allow, action, resource, principal, condition)| {
            let effect = if allow { "Allow" } else { "Deny" };
            let effect = ("Effect".to_string(), Value::from(effect));
            let elements = [Some(effect), Some(action), resource, principal, condition];
            Value::Object(elements.into_iter().flatten().collect())
        })
}

fn with_effect(effect: &'static str, principals: bool) -> impl Strategy<Value = Value> {
    statement(principals).prop_map(move |mut statement| {
        statement["Effect"] = Value::from(effect);
        statement
    })
}

fn document(principals: bool) -> impl Strategy<Value = Doc> {
    let statements = prop::collection::vec(statement(principals), 0..5);
    (prop::bool::weighted(0.8), statements).prop_map(|(versioned, statements)| Doc {
        versioned,
        statements,
    })
}

fn identity_policies(count: std::ops::Range<usize>) -> impl Strategy<Value = Vec<Doc>> {
    prop::collection::vec(document(false), count)
}

fn shuffled(doc: Doc) -> impl Strategy<Value = Doc> {
    let versioned = doc.versioned;
    Just(doc.statements)
        .prop_shuffle()
        .prop_map(move |statements| Doc {
            versioned,
            statements,
        })
}

/// A document, and the same with its statements in another order.
fn with_shuffled(doc: Doc) -> impl Strategy<Value = (Doc, Doc)> {
    (Just(doc.clone()), shuffled(doc))
}

/// Policies, and the same with the policies and the statements of each in another order.
fn with_reordered(policies: Vec<Doc>) -> impl Strategy<Value = (Vec<Doc>, Vec<Doc>)> {
    let each: Vec<_> = policies.iter().cloned().map(shuffled).collect();
    (Just(policies), each.prop_shuffle())
}

fn context() -> impl Strategy<Value = BTreeMap<String, String>> {
    (
        prop::option::of(select(REGIONS)),
        prop::option::of(select(BOOLEANS)),
        prop::option::of(Just(ACCOUNT)),
    )
        .prop_map(|(region, secure_transport, account)| {
            [
                ("aws:RequestedRegion", region),
                ("aws:SecureTransport", secure_transport),
                ("aws:PrincipalAccount", account),
            ]
            .into_iter()
            .filter_map(|(key, value)| Some((key.to_string(), value?.to_string())))
            .collect::<BTreeMap<_, _>>()
        })
}

fn asked() -> impl Strategy<Value = Asked> {
    let principals = vec![
        Principal::Aws(ROLE.to_string()),
        Principal::Aws("arn:aws:iam::111122223333:role/Other".to_string()),
        Principal::Service("ec2.amazonaws.com".to_string()),
    ];
    (
        select(ACTIONS),
        select(RESOURCES),
        prop::option::of(select(principals)),
        context(),
    )
        .prop_map(|(action, resource, principal, context)| Asked {
            action,
            resource,
            principal,
            context,
        })
}

/// A request, and an `Action` pattern that certainly matches its action.
fn asked_and_matching_pattern() -> impl Strategy<Value = (Asked, String)> {
    asked().prop_flat_map(|asked| {
        let action = asked.action;
        let service = action
            .split_once(':')
            .map_or(action, |(service, _)| service);
        let patterns = vec![
            "*".to_string(),
            action.to_string(),
            action.to_uppercase(),
            format!("{service}:*"),
            format!("{}*", &action[..action.len() - 1]),
        ];
        (Just(asked), select(patterns))
    })
}

proptest! {
    #[test]
    fn a_deny_never_creates_an_allow(
        mut policies in identity_policies(0..4),
        boundary in prop::option::of(document(false)),
        deny in with_effect("Deny", false),
        target in any::<Index>(),
        asked in asked(),
    ) {
        let before = identity(&policies, boundary.as_ref(), &asked).decision;
        add_statement(&mut policies, target, deny);
        let after = identity(&policies, boundary.as_ref(), &asked).decision;
        if after == Decision::Allowed {
            prop_assert_eq!(before, Decision::Allowed);
        }
        if before == Decision::ExplicitDeny {
            prop_assert_eq!(after, Decision::ExplicitDeny);
        }
    }

    #[test]
    fn an_allow_never_takes_an_allow_away(
        mut policies in identity_policies(0..4),
        boundary in prop::option::of(document(false)),
        allow in with_effect("Allow", false),
        target in any::<Index>(),
        asked in asked(),
    ) {
        let before = identity(&policies, boundary.as_ref(), &asked).decision;
        add_statement(&mut policies, target, allow);
        let after = identity(&policies, boundary.as_ref(), &asked).decision;
        if before == Decision::Allowed {
            prop_assert_eq!(after, Decision::Allowed);
        }
    }

    #[test]
    fn the_order_of_statements_and_policies_does_not_count(
        (policies, reordered) in identity_policies(0..4).prop_flat_map(with_reordered),
        boundaries in prop::option::of(document(false).prop_flat_map(with_shuffled)),
        asked in asked(),
    ) {
        let boundary = boundaries.as_ref().map(|(boundary, _)| boundary);
        let reordered_boundary = boundaries.as_ref().map(|(_, reordered)| reordered);
        prop_assert_eq!(
            identity(&policies, boundary, &asked).decision,
            identity(&reordered, reordered_boundary, &asked).decision
        );
    }

    #[test]
    fn splitting_a_policy_in_two_does_not_count(
        policies in identity_policies(1..4),
        which in any::<Index>(),
        at in any::<Index>(),
        boundary in prop::option::of(document(false)),
        asked in asked(),
    ) {
        let mut split = policies.clone();
        let chosen = which.index(split.len());
        let policy = &mut split[chosen];
        let tail = policy.statements.split_off(at.index(policy.statements.len() + 1));
        let half = Doc {
            versioned: policy.versioned,
            statements: tail,
        };
        split.insert(chosen + 1, half);
        prop_assert_eq!(
            identity(&policies, boundary.as_ref(), &asked).decision,
            identity(&split, boundary.as_ref(), &asked).decision
        );
    }

    #[test]
    fn a_boundary_only_takes_permissions_away(
        policies in identity_policies(0..4),
        boundary in document(false),
        asked in asked(),
    ) {
        let without = identity(&policies, None, &asked).decision;
        let within = identity(&policies, Some(&boundary), &asked).decision;
        if within == Decision::Allowed {
            prop_assert_eq!(without, Decision::Allowed);
        }
        if without == Decision::ExplicitDeny {
            prop_assert_eq!(within, Decision::ExplicitDeny);
        }
    }

    #[test]
    fn a_boundary_allowing_everything_changes_nothing(
        policies in identity_policies(0..4),
        asked in asked(),
    ) {
        let everything = Doc {
            versioned: true,
            statements: vec![json!({"Effect": "Allow", "Action": "*", "Resource": "*"})],
        };
        prop_assert_eq!(
            identity(&policies, Some(&everything), &asked).decision,
            identity(&policies, None, &asked).decision
        );
    }

    #[test]
    fn a_matching_unconditional_deny_always_denies(
        mut policies in identity_policies(0..4),
        mut boundary in prop::option::of(document(false)),
        in_boundary in any::<bool>(),
        target in any::<Index>(),
        (asked, pattern) in asked_and_matching_pattern(),
    ) {
        let deny = json!({"Effect": "Deny", "Action": pattern, "Resource": "*"});
        if in_boundary {
            boundary.get_or_insert_with(Doc::default).statements.push(deny);
        } else {
            add_statement(&mut policies, target, deny);
        }
        let evaluation = identity(&policies, boundary.as_ref(), &asked);
        prop_assert_eq!(evaluation.decision, Decision::ExplicitDeny);
    }

    #[test]
    fn identity_evaluations_explain_themselves(
        policies in identity_policies(0..4),
        boundary in prop::option::of(document(false)),
        asked in asked(),
    ) {
        explains_itself(&identity(&policies, boundary.as_ref(), &asked))?;
    }

    #[test]
    fn a_deny_never_creates_an_allow_in_a_resource_policy(
        mut policy in document(true),
        deny in with_effect("Deny", true),
        at in any::<Index>(),
        asked in asked(),
    ) {
        let before = resource_based(&policy, &asked).decision;
        policy.statements.insert(at.index(policy.statements.len() + 1), deny);
        let after = resource_based(&policy, &asked).decision;
        if after == Decision::Allowed {
            prop_assert_eq!(before, Decision::Allowed);
        }
        if before == Decision::ExplicitDeny {
            prop_assert_eq!(after, Decision::ExplicitDeny);
        }
    }

    #[test]
    fn the_order_of_statements_does_not_count_in_a_resource_policy(
        (policy, shuffled) in document(true).prop_flat_map(with_shuffled),
        asked in asked(),
    ) {
        prop_assert_eq!(
            resource_based(&policy, &asked).decision,
            resource_based(&shuffled, &asked).decision
        );
    }

    #[test]
    fn a_matching_unconditional_deny_always_denies_in_a_resource_policy(
        mut policy in document(true),
        at in any::<Index>(),
        (asked, pattern) in asked_and_matching_pattern(),
    ) {
        // Without `Principal`, the statement is about every principal, known or not.
        let deny = json!({"Effect": "Deny", "Action": pattern, "Resource": "*"});
        policy.statements.insert(at.index(policy.statements.len() + 1), deny);
        prop_assert_eq!(resource_based(&policy, &asked).decision, Decision::ExplicitDeny);
    }

    #[test]
    fn a_combined_grant_rests_on_policies_that_allow_on_their_own(
        policies in identity_policies(0..3),
        boundary in prop::option::of(document(false)),
        resource in document(true),
        kind in select(vec![ResourcePolicyKind::Ordinary, ResourcePolicyKind::KmsKey]),
        account in select(ACCOUNTS),
        asked in asked(),
    ) {
        let on = Some((&resource, kind, account));
        let evaluation = access(&policies, boundary.as_ref(), on, &asked);
        explains_itself(&evaluation)?;
        if evaluation.decision == Decision::Allowed {
            let allowed = |evaluation: Evaluation| evaluation.decision == Decision::Allowed;
            let by_resource = allowed(resource_based(&resource, &asked));
            let by_identity = allowed(identity(&policies, boundary.as_ref(), &asked));
            let naming_principal = allowed(access(&[], None, on, &asked));
            let principal_account = asked.principal.as_ref().and_then(Principal::account);
            let rests_on_them = match (kind, principal_account == Some(account)) {
                (_, false) => by_resource && by_identity,
                (ResourcePolicyKind::Ordinary, true) => naming_principal || by_identity,
                (ResourcePolicyKind::KmsKey, true) => {
                    by_resource && (naming_principal || by_identity)
                }
            };
            prop_assert!(rests_on_them, "{kind:?} in {account}: {evaluation}");
        }
    }

    #[test]
    fn resource_policy_evaluations_explain_themselves(
        policy in document(true),
        asked in asked(),
    ) {
        explains_itself(&resource_based(&policy, &asked))?;
    }
}
