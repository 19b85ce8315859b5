//! AWS's decision logic over statements: an explicit deny in any policy, then whether the policies
//! that must allow do (the identity policies within the boundary, the resource policy, or both),
//! else an implicit deny; statements whose applying is unknown make the answer uncertain only when
//! they could change it.

use super::decision::{Decision, Evaluation, StatementRef};
use super::document::PolicyDocument;
use super::outcome::Outcome;
use super::principal::Reach;
use super::request::Request;
use super::statement::{Effect, Statement};
use std::collections::BTreeSet;
use std::slice;

/// A policy document with the name reports give it, e.g. its ARN or `inline:Name`.
#[derive(Debug, Clone, Copy)]
pub struct Labeled<'a> {
    pub label: &'a str,
    pub document: &'a PolicyDocument,
}

/// What a resource-based policy is attached to, which decides what must allow besides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourcePolicyKind {
    /// An S3 bucket policy, a queue policy, ...: within its account it grants on its own.
    Ordinary,
    /// A KMS key policy: without its allow nothing grants, and its grant to the key's account
    /// delegates to the account's IAM policies.
    KmsKey,
}

/// A resource-based policy and the resource's account.
#[derive(Debug, Clone, Copy)]
pub struct ResourcePolicy<'a> {
    pub policy: &'a Labeled<'a>,
    pub kind: ResourcePolicyKind,
    /// A principal of another account, or of none known, needs its identity policies to allow too.
    pub account: &'a str,
}

/// All the policies that decide a principal's request: its identity-based policies (managed and
/// inline), its permissions boundary, and the resource's policy, for a resource that has one.
#[derive(Debug, Clone, Copy)]
pub struct Access<'a> {
    pub identity: &'a [Labeled<'a>],
    pub boundary: Option<&'a Labeled<'a>>,
    pub resource: Option<ResourcePolicy<'a>>,
}

/// How many unevaluable conditions an evaluation names before it only counts the rest.
const SHOWN_DOUBTS: usize = 10;

/// Is the request allowed, all of `access` considered? `request.principal` is matched against the
/// resource policy's `Principal` elements, and its account against the resource's.
pub fn evaluate(access: &Access, request: &Request) -> Evaluation {
    let mut findings = Findings::default();
    if let Some(resource) = &access.resource {
        findings.scan_resource(resource.policy, request);
    }
    findings.scan(access.identity, request, |_| Source::Identity);
    if let Some(boundary) = access.boundary {
        findings.scan(slice::from_ref(boundary), request, |_| Source::Boundary);
    }
    let within_boundary = match access.boundary {
        Some(boundary) => findings.grant(|source| source == Source::Boundary, Some(boundary.label)),
        None => Grant::Yes(Vec::new()),
    };
    let identity = findings
        .grant(|source| source == Source::Identity, None)
        .and(within_boundary);
    let grant = match &access.resource {
        None => identity,
        Some(resource) => {
            let any = findings.grant(|source| matches!(source, Source::Resource(_)), None);
            let named = findings.grant(|source| source == Source::Resource(Reach::Named), None);
            let principal_account = request.principal.and_then(|principal| principal.account());
            match (resource.kind, principal_account == Some(resource.account)) {
                (_, false) => any.and(identity),
                (ResourcePolicyKind::Ordinary, true) => named.or(identity),
                (ResourcePolicyKind::KmsKey, true) => named.or(any.and(identity)),
            }
        }
    };
    decide(&findings, grant)
}

/// Is the request allowed by a role's identity-based policies (managed and inline), within its
/// permissions boundary if it has one? Principal elements and `request.principal` are ignored.
pub fn evaluate_identity(
    policies: &[Labeled],
    boundary: Option<&Labeled>,
    request: &Request,
) -> Evaluation {
    let access = Access {
        identity: policies,
        boundary,
        resource: None,
    };
    evaluate(&access, request)
}

/// Does a resource-based policy on its own (a trust policy, a VPC endpoint policy) allow the
/// request? Its `Principal` elements are matched against `request.principal`, an account's covering
/// all of its principals; a statement without one is about every principal.
pub fn evaluate_resource_policy(policy: &Labeled, request: &Request) -> Evaluation {
    let mut findings = Findings::default();
    findings.scan_resource(policy, request);
    decide(&findings, findings.grant(|_| true, None))
}

/// Which policy a statement is in; for a resource policy, how it covers the principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Identity,
    Boundary,
    Resource(Reach),
}

/// A statement that may or may not apply, with what it depends on.
struct Doubt {
    effect: Effect,
    source: Source,
    statement: StatementRef,
    reasons: Vec<String>,
}

/// What the statements of some policies say about one request, in the order scanned.
#[derive(Default)]
struct Findings {
    denies: Vec<StatementRef>,
    allows: Vec<(Source, StatementRef)>,
    maybe: Vec<Doubt>,
}

impl Findings {
    fn scan(
        &mut self,
        policies: &[Labeled],
        request: &Request,
        source_of: impl Fn(&Statement) -> Source,
    ) {
        for policy in policies {
            for (index, statement) in policy.document.statements.iter().enumerate() {
                let source = source_of(statement);
                let reference = || StatementRef {
                    policy: policy.label.to_string(),
                    index,
                    sid: statement.sid.clone(),
                };
                let match_principal = matches!(source, Source::Resource(_));
                match (
                    statement.applies(request, match_principal),
                    statement.effect,
                ) {
                    (Outcome::No, _) => {}
                    (Outcome::Yes, Effect::Deny) => self.denies.push(reference()),
                    (Outcome::Yes, Effect::Allow) => self.allows.push((source, reference())),
                    (Outcome::Unknown(reasons), effect) => self.maybe.push(Doubt {
                        effect,
                        source,
                        statement: reference(),
                        reasons,
                    }),
                }
            }
        }
    }

    fn scan_resource(&mut self, policy: &Labeled, request: &Request) {
        self.scan(slice::from_ref(policy), request, |statement| {
            Source::Resource(statement.reach(request))
        });
    }

    /// Whether the allows of the sources `from` picks grant the request. `boundary` names the
    /// boundary when these are its statements, for the denial.
    fn grant<'g>(&'g self, from: impl Fn(Source) -> bool, boundary: Option<&'g str>) -> Grant<'g> {
        let allows: Vec<&StatementRef> = self
            .allows
            .iter()
            .filter(|(source, _)| from(*source))
            .map(|(_, statement)| statement)
            .collect();
        if !allows.is_empty() {
            return Grant::Yes(allows);
        }
        let possible: BTreeSet<usize> = self
            .maybe
            .iter()
            .enumerate()
            .filter(|(_, doubt)| doubt.effect == Effect::Allow && from(doubt.source))
            .map(|(at, _)| at)
            .collect();
        if possible.is_empty() {
            Grant::No(boundary)
        } else {
            Grant::Maybe(possible)
        }
    }
}

/// Whether the policies that must allow a request do: three-valued, so that the doubts kept are
/// only those that could change the answer.
enum Grant<'g> {
    /// The allow statements the grant rests on.
    Yes(Vec<&'g StatementRef>),
    /// Only statements whose applying is unknown could grant it: their places in `Findings::maybe`.
    Maybe(BTreeSet<usize>),
    /// Not granted: by the boundary of this label, or (`None`) by nothing at all.
    No(Option<&'g str>),
}

impl Grant<'_> {
    /// Both must grant; the first certain refusal wins over any doubt.
    fn and(self, other: Self) -> Self {
        match (self, other) {
            (Grant::No(denial), _) | (_, Grant::No(denial)) => Grant::No(denial),
            (Grant::Yes(mut allows), Grant::Yes(more)) => {
                allows.extend(more);
                Grant::Yes(allows)
            }
            (Grant::Maybe(mut possible), Grant::Maybe(more)) => {
                possible.extend(more);
                Grant::Maybe(possible)
            }
            (Grant::Maybe(possible), Grant::Yes(_)) | (Grant::Yes(_), Grant::Maybe(possible)) => {
                Grant::Maybe(possible)
            }
        }
    }

    /// Either grants; a certain grant wins over any doubt, and the refusal of the second is the
    /// one reported when both refuse.
    fn or(self, other: Self) -> Self {
        match (self, other) {
            (Grant::Yes(allows), _) | (_, Grant::Yes(allows)) => Grant::Yes(allows),
            (Grant::Maybe(mut possible), Grant::Maybe(more)) => {
                possible.extend(more);
                Grant::Maybe(possible)
            }
            (Grant::Maybe(possible), Grant::No(_)) | (Grant::No(_), Grant::Maybe(possible)) => {
                Grant::Maybe(possible)
            }
            (Grant::No(_), Grant::No(denial)) => Grant::No(denial),
        }
    }
}

fn decide(findings: &Findings, grant: Grant) -> Evaluation {
    let answer = |decision, statements| Evaluation {
        decision,
        statements,
        unevaluable: Vec::new(),
        boundary: None,
    };
    if !findings.denies.is_empty() {
        return answer(Decision::ExplicitDeny, findings.denies.clone());
    }
    let (allows, possible) = match grant {
        Grant::No(None) => return answer(Decision::ImplicitDeny, Vec::new()),
        Grant::No(Some(boundary)) => {
            return Evaluation {
                boundary: Some(boundary.to_string()),
                ..answer(Decision::DeniedByBoundary, Vec::new())
            };
        }
        Grant::Yes(allows) => (allows, BTreeSet::new()),
        Grant::Maybe(possible) => (Vec::new(), possible),
    };
    // Any possible deny could take the grant away; possible allows count only when it rests on
    // them.
    let doubts: Vec<&Doubt> = findings
        .maybe
        .iter()
        .enumerate()
        .filter(|(at, doubt)| doubt.effect == Effect::Deny || possible.contains(at))
        .map(|(_, doubt)| doubt)
        .collect();
    if doubts.is_empty() {
        return answer(Decision::Allowed, allows.into_iter().cloned().collect());
    }
    // In first-seen order, without a quadratic scan: a statement may carry thousands of keys.
    let mut seen = std::collections::HashSet::new();
    let mut unevaluable: Vec<String> = doubts
        .iter()
        .flat_map(|doubt| &doubt.reasons)
        .filter(|reason| seen.insert(reason.as_str()))
        .cloned()
        .collect();
    // A report names the first few; thousands would drown the finding.
    if unevaluable.len() > SHOWN_DOUBTS {
        let more = unevaluable.len() - SHOWN_DOUBTS;
        unevaluable.truncate(SHOWN_DOUBTS);
        unevaluable.push(format!("{more} more"));
    }
    Evaluation {
        unevaluable,
        ..answer(
            Decision::Uncertain,
            doubts.iter().map(|doubt| doubt.statement.clone()).collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_thousand_condition_keys_take_well_under_a_second() {
        let keys: serde_json::Map<String, serde_json::Value> = (0..10_000)
            .map(|k| (format!("aws:PrincipalTag/k{k}"), serde_json::json!("v")))
            .collect();
        let doc = PolicyDocument::parse(&serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*",
                           "Condition": {"StringEquals": keys}}]
        }))
        .unwrap();
        let context = std::collections::BTreeMap::new();
        let started = std::time::Instant::now();
        let eval = evaluate_identity(
            &[Labeled {
                label: "p",
                document: &doc,
            }],
            None,
            &Request {
                action: "ssm:UpdateInstanceInformation",
                resource: "*",
                principal: None,
                context: &context,
            },
        );
        assert_eq!(eval.decision, Decision::Uncertain);
        // The first few conditions are named, the rest counted.
        assert_eq!(eval.unevaluable.len(), SHOWN_DOUBTS + 1);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
    }
    use crate::policy::request::Principal;
    use serde_json::{Value, json};
    use std::collections::BTreeMap;

    const ACCOUNT: &str = "123456789012";
    const ROLE: &str = "arn:aws:iam::123456789012:role/Name";
    const INSTANCE: &str = "arn:aws:ec2:eu-west-1:123456789012:instance/i-0abc1234567890def";
    const CORE: &str = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore";
    const GUARD: &str = "arn:aws:iam::123456789012:policy/Guard";
    const BOUNDARY: &str = "arn:aws:iam::123456789012:policy/Boundary";

    /// What an instance's agent needs; only `ssm:UpdateInstanceInformation` has a resource type.
    const CORE_ACTIONS: [&str; 11] = [
        "ssm:UpdateInstanceInformation",
        "ssmmessages:CreateControlChannel",
        "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel",
        "ssmmessages:OpenDataChannel",
        "ec2messages:AcknowledgeMessage",
        "ec2messages:DeleteMessage",
        "ec2messages:FailMessage",
        "ec2messages:GetEndpoint",
        "ec2messages:GetMessages",
        "ec2messages:SendReply",
    ];

    fn resource_of(action: &str) -> &'static str {
        if action == "ssm:UpdateInstanceInformation" {
            INSTANCE
        } else {
            "*"
        }
    }

    fn managed_instance_core() -> Value {
        json!({
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": [
                        "ssm:DescribeAssociation",
                        "ssm:GetDeployablePatchSnapshotForInstance",
                        "ssm:GetDocument",
                        "ssm:DescribeDocument",
                        "ssm:GetManifest",
                        "ssm:GetParameter",
                        "ssm:GetParameters",
                        "ssm:ListAssociations",
                        "ssm:ListInstanceAssociations",
                        "ssm:PutInventory",
                        "ssm:PutComplianceItems",
                        "ssm:PutConfigurePackageResult",
                        "ssm:UpdateAssociationStatus",
                        "ssm:UpdateInstanceAssociationStatus",
                        "ssm:UpdateInstanceInformation"
                    ],
                    "Resource": "*"
                },
                {
                    "Effect": "Allow",
                    "Action": [
                        "ssmmessages:CreateControlChannel",
                        "ssmmessages:CreateDataChannel",
                        "ssmmessages:OpenControlChannel",
                        "ssmmessages:OpenDataChannel"
                    ],
                    "Resource": "*"
                },
                {
                    "Effect": "Allow",
                    "Action": [
                        "ec2messages:AcknowledgeMessage",
                        "ec2messages:DeleteMessage",
                        "ec2messages:FailMessage",
                        "ec2messages:GetEndpoint",
                        "ec2messages:GetMessages",
                        "ec2messages:SendReply"
                    ],
                    "Resource": "*"
                }
            ]
        })
    }

    fn doc(v: Value) -> PolicyDocument {
        PolicyDocument::parse(&v).unwrap()
    }

    fn context() -> BTreeMap<String, String> {
        BTreeMap::from([
            ("aws:RequestedRegion".to_string(), "eu-west-1".to_string()),
            ("aws:PrincipalArn".to_string(), ROLE.to_string()),
            ("aws:PrincipalAccount".to_string(), ACCOUNT.to_string()),
        ])
    }

    fn at(policy: &str, index: usize, sid: Option<&str>) -> StatementRef {
        StatementRef {
            policy: policy.to_string(),
            index,
            sid: sid.map(str::to_string),
        }
    }

    /// Evaluates `action` on its usual resource against `(label, document)` identity policies.
    fn identity(
        policies: &[(&str, &PolicyDocument)],
        boundary: Option<(&str, &PolicyDocument)>,
        action: &str,
    ) -> Evaluation {
        let policies: Vec<Labeled> = policies
            .iter()
            .map(|&(label, document)| Labeled { label, document })
            .collect();
        let boundary = boundary.map(|(label, document)| Labeled { label, document });
        let context = context();
        let request = Request {
            action,
            resource: resource_of(action),
            principal: None,
            context: &context,
        };
        evaluate_identity(&policies, boundary.as_ref(), &request)
    }

    fn resource_based(
        label: &str,
        document: &PolicyDocument,
        principal: &Principal,
        action: &str,
    ) -> Evaluation {
        let context = context();
        let request = Request {
            action,
            resource: resource_of(action),
            principal: Some(principal),
            context: &context,
        };
        evaluate_resource_policy(&Labeled { label, document }, &request)
    }

    fn decision_of(evaluation: Evaluation) -> Decision {
        evaluation.decision
    }

    #[test]
    fn managed_instance_core_allows_every_core_action() {
        let core = doc(managed_instance_core());
        for action in CORE_ACTIONS {
            let e = identity(&[(CORE, &core)], None, action);
            let index = match action.split(':').next() {
                Some("ssm") => 0,
                Some("ssmmessages") => 1,
                _ => 2,
            };
            assert_eq!(e.decision, Decision::Allowed, "{action}");
            assert_eq!(e.statements, vec![at(CORE, index, None)], "{action}");
            assert!(e.unevaluable.is_empty() && e.boundary.is_none());
        }
        assert_eq!(
            decision_of(identity(&[(CORE, &core)], None, "ssm:StartSession")),
            Decision::ImplicitDeny
        );
        assert_eq!(
            decision_of(identity(&[(CORE, &core)], None, "s3:PutObject")),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn no_policies_at_all_is_an_implicit_deny() {
        let e = identity(&[], None, "ssm:UpdateInstanceInformation");
        assert_eq!(e.decision, Decision::ImplicitDeny);
        assert!(e.statements.is_empty());
        assert_eq!(
            e.to_string(),
            "not allowed by any statement (implicit deny)"
        );
    }

    #[test]
    fn an_explicit_deny_in_one_policy_beats_an_allow_in_another() {
        let core = doc(managed_instance_core());
        let guard = doc(json!({"Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
            {"Sid": "DenyMessages", "Effect": "Deny", "Action": "ssmmessages:*", "Resource": "*"}
        ]}));
        let policies = [(CORE, &core), (GUARD, &guard)];
        let e = identity(&policies, None, "ssmmessages:OpenDataChannel");
        assert_eq!(e.decision, Decision::ExplicitDeny);
        assert_eq!(e.statements, vec![at(GUARD, 1, Some("DenyMessages"))]);
        assert_eq!(
            e.to_string(),
            "denied by statement 'DenyMessages' (#1) of arn:aws:iam::123456789012:policy/Guard"
        );
        assert_eq!(
            decision_of(identity(&policies, None, "ssm:UpdateInstanceInformation")),
            Decision::Allowed
        );
    }

    #[test]
    fn not_action_allow_grants_everything_else() {
        let admin_ish =
            doc(json!({"Statement": {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}}));
        for action in CORE_ACTIONS {
            assert_eq!(
                decision_of(identity(&[("inline:NotIam", &admin_ish)], None, action)),
                Decision::Allowed
            );
        }
        assert_eq!(
            decision_of(identity(
                &[("inline:NotIam", &admin_ish)],
                None,
                "iam:PassRole"
            )),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn not_action_deny_denies_everything_else() {
        let core = doc(managed_instance_core());
        let only_ssm = doc(
            json!({"Statement": {"Sid": "OnlySsm", "Effect": "Deny", "NotAction": ["ssm:*", "ec2messages:*"], "Resource": "*"}}),
        );
        let policies = [(CORE, &core), ("inline:OnlySsm", &only_ssm)];
        let e = identity(&policies, None, "ssmmessages:CreateControlChannel");
        assert_eq!(e.decision, Decision::ExplicitDeny);
        assert_eq!(e.statements, vec![at("inline:OnlySsm", 0, Some("OnlySsm"))]);
        assert_eq!(
            decision_of(identity(&policies, None, "ssm:UpdateInstanceInformation")),
            Decision::Allowed
        );
        assert_eq!(
            decision_of(identity(&policies, None, "ec2messages:GetMessages")),
            Decision::Allowed
        );
    }

    #[test]
    fn wildcard_actions_and_case() {
        let allows = |pattern: &str, action: &str| {
            let d =
                doc(json!({"Statement": {"Effect": "Allow", "Action": pattern, "Resource": "*"}}));
            identity(&[("p", &d)], None, action).decision == Decision::Allowed
        };
        for pattern in [
            "ssmmessages:*",
            "ssmmessages:*Channel",
            "*",
            "SSMMessages:open*",
            "ssmmessages:Open?ataChannel",
        ] {
            assert!(allows(pattern, "ssmmessages:OpenDataChannel"), "{pattern}");
        }
        assert!(allows("ssm:Update*", "ssm:UpdateInstanceInformation"));
        assert!(allows(
            "SSM:updateinstanceinformation",
            "ssm:UpdateInstanceInformation"
        ));
        assert!(!allows("ssm:Update*", "ssmmessages:OpenDataChannel"));
        assert!(!allows("ssm:*", "ssmmessages:OpenDataChannel"));
        assert!(!allows("ec2messages:Get*", "ec2messages:SendReply"));
    }

    #[test]
    fn an_instance_arn_resource_does_not_grant_actions_without_resource_types() {
        let scoped = doc(
            json!({"Statement": {"Effect": "Allow", "Action": ["ssm:*", "ssmmessages:*"], "Resource": INSTANCE}}),
        );
        let policies = [("inline:Scoped", &scoped)];
        assert_eq!(
            decision_of(identity(&policies, None, "ssm:UpdateInstanceInformation")),
            Decision::Allowed
        );
        assert_eq!(
            decision_of(identity(&policies, None, "ssmmessages:OpenDataChannel")),
            Decision::ImplicitDeny
        );
        let star_suffix =
            doc(json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "arn:aws:*"}}));
        assert_eq!(
            decision_of(identity(
                &[("p", &star_suffix)],
                None,
                "ec2messages:GetMessages"
            )),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn a_boundary_that_allows_only_ssm_denies_ssmmessages() {
        let core = doc(managed_instance_core());
        let boundary =
            doc(json!({"Statement": {"Effect": "Allow", "Action": "ssm:*", "Resource": "*"}}));
        let e = identity(
            &[(CORE, &core)],
            Some((BOUNDARY, &boundary)),
            "ssmmessages:OpenControlChannel",
        );
        assert_eq!(e.decision, Decision::DeniedByBoundary);
        assert_eq!(e.boundary.as_deref(), Some(BOUNDARY));
        assert!(e.statements.is_empty());
        assert_eq!(
            e.to_string(),
            "not allowed by the permissions boundary arn:aws:iam::123456789012:policy/Boundary"
        );
        let e = identity(
            &[(CORE, &core)],
            Some((BOUNDARY, &boundary)),
            "ssm:UpdateInstanceInformation",
        );
        assert_eq!(e.decision, Decision::Allowed);
        assert_eq!(e.statements, vec![at(CORE, 0, None), at(BOUNDARY, 0, None)]);
    }

    #[test]
    fn a_boundary_does_not_grant_what_the_identity_policies_do_not() {
        let boundary =
            doc(json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}));
        let nothing = doc(json!({"Statement": []}));
        let e = identity(
            &[("inline:Empty", &nothing)],
            Some((BOUNDARY, &boundary)),
            "ssm:UpdateInstanceInformation",
        );
        assert_eq!(e.decision, Decision::ImplicitDeny);
    }

    #[test]
    fn an_explicit_deny_in_the_boundary_is_an_explicit_deny_naming_the_boundary() {
        let core = doc(managed_instance_core());
        let boundary = doc(json!({"Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Sid": "NoEc2Messages", "Effect": "Deny", "Action": "ec2messages:*", "Resource": "*"}
        ]}));
        let e = identity(
            &[(CORE, &core)],
            Some((BOUNDARY, &boundary)),
            "ec2messages:GetMessages",
        );
        assert_eq!(e.decision, Decision::ExplicitDeny);
        assert_eq!(e.statements, vec![at(BOUNDARY, 1, Some("NoEc2Messages"))]);
        let e = identity(
            &[(CORE, &core)],
            Some((BOUNDARY, &boundary)),
            "ssmmessages:OpenDataChannel",
        );
        assert_eq!(e.decision, Decision::Allowed);
    }

    #[test]
    fn a_boundary_allow_with_an_unevaluable_condition_is_uncertain() {
        let core = doc(managed_instance_core());
        let boundary = doc(
            json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceVpc": "vpc-0abc"}}}}),
        );
        let e = identity(
            &[(CORE, &core)],
            Some((BOUNDARY, &boundary)),
            "ssmmessages:OpenDataChannel",
        );
        assert_eq!(e.decision, Decision::Uncertain);
        assert_eq!(e.statements, vec![at(BOUNDARY, 0, None)]);
        assert_eq!(
            e.unevaluable,
            vec!["aws:SourceVpc (StringEquals)".to_string()]
        );
    }

    #[test]
    fn evaluable_region_conditions() {
        let in_region = |region: &str| {
            doc(
                json!({"Statement": {"Effect": "Allow", "Action": "ssmmessages:*", "Resource": "*",
                "Condition": {"StringEquals": {"aws:RequestedRegion": region}}}}),
            )
        };
        let ireland = in_region("eu-west-1");
        let virginia = in_region("us-east-1");
        assert_eq!(
            decision_of(identity(
                &[("p", &ireland)],
                None,
                "ssmmessages:OpenDataChannel"
            )),
            Decision::Allowed
        );
        assert_eq!(
            decision_of(identity(
                &[("p", &virginia)],
                None,
                "ssmmessages:OpenDataChannel"
            )),
            Decision::ImplicitDeny
        );
        // The usual region guard: denies elsewhere, so it does not apply here.
        let core = doc(managed_instance_core());
        let guard = doc(
            json!({"Statement": {"Effect": "Deny", "NotAction": "iam:*", "Resource": "*",
            "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1", "eu-central-1"]}}}}),
        );
        assert_eq!(
            decision_of(identity(
                &[(CORE, &core), (GUARD, &guard)],
                None,
                "ssmmessages:OpenDataChannel"
            )),
            Decision::Allowed
        );
        let elsewhere = doc(
            json!({"Statement": {"Effect": "Deny", "NotAction": "iam:*", "Resource": "*",
            "Condition": {"StringNotEquals": {"aws:RequestedRegion": "us-east-1"}}}}),
        );
        assert_eq!(
            decision_of(identity(
                &[(CORE, &core), (GUARD, &elsewhere)],
                None,
                "ssmmessages:OpenDataChannel"
            )),
            Decision::ExplicitDeny
        );
    }

    #[test]
    fn an_allow_with_an_unevaluable_condition_is_uncertain_unless_another_allows() {
        let from_office = doc(
            json!({"Statement": {"Sid": "Office", "Effect": "Allow", "Action": "*", "Resource": "*",
            "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}}}),
        );
        let e = identity(
            &[("inline:Office", &from_office)],
            None,
            "ssmmessages:OpenDataChannel",
        );
        assert_eq!(e.decision, Decision::Uncertain);
        assert_eq!(e.statements, vec![at("inline:Office", 0, Some("Office"))]);
        assert_eq!(e.unevaluable, vec!["aws:SourceIp (IpAddress)".to_string()]);
        assert_eq!(
            e.to_string(),
            "uncertain: depends on aws:SourceIp (IpAddress) in statement 'Office' (#0) of inline:Office"
        );
        let core = doc(managed_instance_core());
        let e = identity(
            &[("inline:Office", &from_office), (CORE, &core)],
            None,
            "ssmmessages:OpenDataChannel",
        );
        assert_eq!(e.decision, Decision::Allowed);
        assert_eq!(e.statements, vec![at(CORE, 1, None)]);
    }

    #[test]
    fn a_deny_with_an_unevaluable_condition_is_uncertain_unless_a_certain_deny_exists() {
        let core = doc(managed_instance_core());
        let maybe = doc(
            json!({"Statement": {"Sid": "NotFromVpc", "Effect": "Deny", "Action": "*", "Resource": "*",
            "Condition": {"StringNotEquals": {"aws:SourceVpc": "vpc-0abc"}}}}),
        );
        let e = identity(
            &[(CORE, &core), (GUARD, &maybe)],
            None,
            "ssm:UpdateInstanceInformation",
        );
        assert_eq!(e.decision, Decision::Uncertain);
        assert_eq!(e.statements, vec![at(GUARD, 0, Some("NotFromVpc"))]);
        assert_eq!(
            e.unevaluable,
            vec!["aws:SourceVpc (StringNotEquals)".to_string()]
        );
        let certain =
            doc(json!({"Statement": {"Effect": "Deny", "Action": "ssm:*", "Resource": "*"}}));
        let e = identity(
            &[(CORE, &core), (GUARD, &maybe), ("inline:NoSsm", &certain)],
            None,
            "ssm:UpdateInstanceInformation",
        );
        assert_eq!(e.decision, Decision::ExplicitDeny);
        assert_eq!(e.statements, vec![at("inline:NoSsm", 0, None)]);
        // Without any allow, a possible deny changes nothing.
        assert_eq!(
            decision_of(identity(
                &[(GUARD, &maybe)],
                None,
                "ssm:UpdateInstanceInformation"
            )),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn unevaluable_reasons_are_listed_once_in_document_order() {
        // One condition per statement: the order of keys within a block is serde_json's map order.
        let ip = json!({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}});
        let via = json!({"Bool": {"aws:ViaAWSService": "false"}});
        let maybe = |sid: &str, effect: &str, condition: &Value| json!({"Sid": sid, "Effect": effect, "Action": "*", "Resource": "*", "Condition": condition});
        let d = doc(json!({"Statement": [
            maybe("A", "Allow", &ip),
            maybe("D", "Deny", &via),
            maybe("B", "Allow", &ip)
        ]}));
        let e = identity(&[("p", &d)], None, "ssm:GetDocument");
        assert_eq!(e.decision, Decision::Uncertain);
        assert_eq!(
            e.statements,
            vec![
                at("p", 0, Some("A")),
                at("p", 1, Some("D")),
                at("p", 2, Some("B"))
            ]
        );
        assert_eq!(
            e.unevaluable,
            vec![
                "aws:SourceIp (IpAddress)".to_string(),
                "aws:ViaAWSService (Bool)".to_string()
            ]
        );
    }

    #[test]
    fn identity_evaluation_ignores_principals() {
        let d = doc(
            json!({"Statement": {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "*", "Resource": "*"}}),
        );
        let role = Principal::Aws(ROLE.into());
        let context = context();
        let request = Request {
            action: "ssm:GetDocument",
            resource: "*",
            principal: Some(&role),
            context: &context,
        };
        let e = evaluate_identity(
            &[Labeled {
                label: "p",
                document: &d,
            }],
            None,
            &request,
        );
        assert_eq!(e.decision, Decision::Allowed);
    }

    fn ec2() -> Principal {
        Principal::Service("ec2.amazonaws.com".into())
    }

    const TRUST: &str = "trust:Name";

    #[test]
    fn trust_policies_for_ec2() {
        let trust = |principal: Value, action: Value| {
            doc(
                json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": principal, "Action": action}]}),
            )
        };
        let assume = "sts:AssumeRole";
        let as_string = trust(
            json!({"Service": "ec2.amazonaws.com"}),
            json!("sts:AssumeRole"),
        );
        let e = resource_based(TRUST, &as_string, &ec2(), assume);
        assert_eq!(e.decision, Decision::Allowed);
        assert_eq!(e.statements, vec![at(TRUST, 0, None)]);
        let as_array = trust(
            json!({"Service": ["ssm.amazonaws.com", "ec2.amazonaws.com"]}),
            json!(["sts:AssumeRole", "sts:TagSession"]),
        );
        assert_eq!(
            decision_of(resource_based(TRUST, &as_array, &ec2(), assume)),
            Decision::Allowed
        );
        let sts_star = trust(json!({"Service": "ec2.amazonaws.com"}), json!("sts:*"));
        assert_eq!(
            decision_of(resource_based(TRUST, &sts_star, &ec2(), assume)),
            Decision::Allowed
        );
        let web_identity = trust(
            json!({"Service": "ec2.amazonaws.com"}),
            json!("sts:AssumeRoleWithWebIdentity"),
        );
        assert_eq!(
            decision_of(resource_based(TRUST, &web_identity, &ec2(), assume)),
            Decision::ImplicitDeny
        );
        let aws_only = trust(
            json!({"AWS": "arn:aws:iam::123456789012:root"}),
            json!("sts:AssumeRole"),
        );
        assert_eq!(
            decision_of(resource_based(TRUST, &aws_only, &ec2(), assume)),
            Decision::ImplicitDeny
        );
        let other_service = trust(
            json!({"Service": "lambda.amazonaws.com"}),
            json!("sts:AssumeRole"),
        );
        assert_eq!(
            decision_of(resource_based(TRUST, &other_service, &ec2(), assume)),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn trust_policy_conditions_and_denies() {
        let conditional = doc(
            json!({"Statement": {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}}}),
        );
        let e = resource_based(TRUST, &conditional, &ec2(), "sts:AssumeRole");
        assert_eq!(e.decision, Decision::Uncertain);
        assert_eq!(
            e.unevaluable,
            vec!["aws:SourceAccount (StringEquals)".to_string()]
        );
        let denied = doc(json!({"Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"},
            {"Sid": "NoServices", "Effect": "Deny", "Principal": "*", "Action": "sts:*"}
        ]}));
        let e = resource_based(TRUST, &denied, &ec2(), "sts:AssumeRole");
        assert_eq!(e.decision, Decision::ExplicitDeny);
        assert_eq!(e.statements, vec![at(TRUST, 1, Some("NoServices"))]);
    }

    const ENDPOINT: &str = "vpce-0abc (ssmmessages)";

    fn role() -> Principal {
        Principal::Aws(ROLE.into())
    }

    #[test]
    fn the_default_endpoint_policy_allows_everything() {
        let full = doc(
            json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]}),
        );
        for action in CORE_ACTIONS {
            let e = resource_based(ENDPOINT, &full, &role(), action);
            assert_eq!(e.decision, Decision::Allowed, "{action}");
            assert_eq!(e.statements, vec![at(ENDPOINT, 0, None)]);
        }
    }

    #[test]
    fn an_endpoint_policy_allowing_only_ssm_denies_ssmmessages() {
        let ssm_only = doc(
            json!({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "ssm:*", "Resource": "*"}}),
        );
        assert_eq!(
            decision_of(resource_based(
                ENDPOINT,
                &ssm_only,
                &role(),
                "ssm:UpdateInstanceInformation"
            )),
            Decision::Allowed
        );
        assert_eq!(
            decision_of(resource_based(
                ENDPOINT,
                &ssm_only,
                &role(),
                "ssmmessages:CreateControlChannel"
            )),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn endpoint_policy_principals() {
        let for_principal = |aws: Value| {
            doc(
                json!({"Statement": {"Effect": "Allow", "Principal": {"AWS": aws}, "Action": "*", "Resource": "*"}}),
            )
        };
        let allows = |d: &PolicyDocument| {
            resource_based(ENDPOINT, d, &role(), "ssmmessages:OpenDataChannel").decision
        };
        assert_eq!(
            allows(&for_principal(json!("111122223333"))),
            Decision::ImplicitDeny
        );
        assert_eq!(
            allows(&for_principal(json!("arn:aws:iam::111122223333:role/Name"))),
            Decision::ImplicitDeny
        );
        assert_eq!(allows(&for_principal(json!(ACCOUNT))), Decision::Allowed);
        assert_eq!(
            allows(&for_principal(json!("arn:aws:iam::123456789012:root"))),
            Decision::Allowed
        );
        assert_eq!(allows(&for_principal(json!(ROLE))), Decision::Allowed);
        assert_eq!(allows(&for_principal(json!("*"))), Decision::Allowed);
        let all_but_role = doc(json!({"Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "NotPrincipal": {"AWS": ROLE}, "Action": "*", "Resource": "*"}
        ]}));
        assert_eq!(allows(&all_but_role), Decision::Allowed);
        let other = Principal::Aws("arn:aws:iam::123456789012:role/Other".into());
        assert_eq!(
            resource_based(ENDPOINT, &all_but_role, &other, "ssm:GetDocument").decision,
            Decision::ExplicitDeny
        );
    }

    #[test]
    fn endpoint_policy_conditions_on_the_principal() {
        let org = doc(
            json!({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalAccount": ACCOUNT}, "ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}}}}),
        );
        assert_eq!(
            decision_of(resource_based(
                ENDPOINT,
                &org,
                &role(),
                "ssm:UpdateInstanceInformation"
            )),
            Decision::Allowed
        );
        let tagged = doc(
            json!({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc"}}}}),
        );
        let e = resource_based(ENDPOINT, &tagged, &role(), "ssm:UpdateInstanceInformation");
        assert_eq!(e.decision, Decision::Uncertain);
        assert_eq!(
            e.unevaluable,
            vec!["aws:PrincipalOrgID (StringEquals)".to_string()]
        );
    }

    #[test]
    fn a_resource_policy_without_a_principal_in_the_request_is_uncertain_for_listed_principals() {
        let trust = doc(
            json!({"Statement": {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}}),
        );
        let context = context();
        let request = Request {
            action: "sts:AssumeRole",
            resource: "*",
            principal: None,
            context: &context,
        };
        let e = evaluate_resource_policy(
            &Labeled {
                label: TRUST,
                document: &trust,
            },
            &request,
        );
        assert_eq!(e.decision, Decision::Uncertain);
        assert_eq!(
            e.unevaluable,
            vec!["Principal (no principal in the request)".to_string()]
        );
    }

    use super::ResourcePolicyKind::{KmsKey, Ordinary};

    const KEY: &str = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    const OBJECT: &str = "arn:aws:s3:::bucket/key";
    const RESOURCE_POLICY: &str = "resource policy";
    const ROLE_POLICY: &str = "inline:Role";
    const ROOT: &str = "arn:aws:iam::123456789012:root";
    const OTHER_ACCOUNT: &str = "111122223333";

    /// [`ROLE`] asks for `action` on a key or an object whose policy, of that kind and account, is
    /// `resource`; `identity`, if any, is the role's one policy.
    fn access(
        identity: Option<&PolicyDocument>,
        boundary: Option<&PolicyDocument>,
        resource: (&PolicyDocument, ResourcePolicyKind, &str),
        action: &str,
    ) -> Evaluation {
        let (document, kind, account) = resource;
        let identity: Vec<Labeled> = identity
            .map(|document| Labeled {
                label: ROLE_POLICY,
                document,
            })
            .into_iter()
            .collect();
        let boundary = boundary.map(|document| Labeled {
            label: BOUNDARY,
            document,
        });
        let policy = Labeled {
            label: RESOURCE_POLICY,
            document,
        };
        let context = context();
        let role = role();
        let request = Request {
            action,
            resource: match kind {
                KmsKey => KEY,
                Ordinary => OBJECT,
            },
            principal: Some(&role),
            context: &context,
        };
        let access = Access {
            identity: &identity,
            boundary: boundary.as_ref(),
            resource: Some(ResourcePolicy {
                policy: &policy,
                kind,
                account,
            }),
        };
        evaluate(&access, &request)
    }

    /// A key or bucket policy whose one statement, `Grant`, allows `principal` all of KMS and S3.
    fn granting(principal: Value) -> PolicyDocument {
        doc(
            json!({"Version": "2012-10-17", "Statement": [{"Sid": "Grant", "Effect": "Allow",
            "Principal": principal, "Action": ["kms:*", "s3:*"], "Resource": "*"}]}),
        )
    }

    fn allowing(action: &str) -> PolicyDocument {
        doc(json!({"Statement": {"Effect": "Allow", "Action": action, "Resource": "*"}}))
    }

    #[test]
    fn a_key_policy_granting_the_account_delegates_to_the_identity_policies() {
        let decrypt = allowing("kms:Decrypt");
        let no_kms = allowing("ssm:*");
        for principal in [json!({"AWS": ROOT}), json!({"AWS": ACCOUNT})] {
            let key = granting(principal);
            let e = access(Some(&decrypt), None, (&key, KmsKey, ACCOUNT), "kms:Decrypt");
            assert_eq!(e.decision, Decision::Allowed);
            assert_eq!(
                e.statements,
                vec![
                    at(RESOURCE_POLICY, 0, Some("Grant")),
                    at(ROLE_POLICY, 0, None)
                ]
            );
            // The identity policies must allow this very action, within the boundary.
            let e = access(Some(&decrypt), None, (&key, KmsKey, ACCOUNT), "kms:Encrypt");
            assert_eq!(e.decision, Decision::ImplicitDeny);
            let e = access(None, None, (&key, KmsKey, ACCOUNT), "kms:Decrypt");
            assert_eq!(e.decision, Decision::ImplicitDeny);
            let e = access(
                Some(&decrypt),
                Some(&no_kms),
                (&key, KmsKey, ACCOUNT),
                "kms:Decrypt",
            );
            assert_eq!(e.decision, Decision::DeniedByBoundary);
            assert_eq!(e.boundary.as_deref(), Some(BOUNDARY));
        }
    }

    #[test]
    fn a_key_policy_naming_the_role_grants_on_its_own() {
        let principals = [
            json!({"AWS": ROLE}),
            json!("*"),
            json!({"AWS": [ROOT, ROLE]}),
        ];
        for principal in principals {
            let key = granting(principal.clone());
            let e = access(None, None, (&key, KmsKey, ACCOUNT), "kms:Decrypt");
            assert_eq!(e.decision, Decision::Allowed, "{principal}");
            assert_eq!(e.statements, vec![at(RESOURCE_POLICY, 0, Some("Grant"))]);
        }
        // The documented simplification: no boundary limits a grant naming the role.
        let key = granting(json!({"AWS": ROLE}));
        let no_kms = allowing("ssm:*");
        let e = access(None, Some(&no_kms), (&key, KmsKey, ACCOUNT), "kms:Decrypt");
        assert_eq!(e.decision, Decision::Allowed);
    }

    #[test]
    fn without_a_key_policy_allow_the_identity_policies_grant_nothing() {
        let decrypt = allowing("kms:Decrypt");
        assert_eq!(
            decision_of(identity(&[(ROLE_POLICY, &decrypt)], None, "kms:Decrypt")),
            Decision::Allowed
        );
        let other_role = granting(json!({"AWS": "arn:aws:iam::123456789012:role/Other"}));
        let encrypt_only = doc(
            json!({"Statement": {"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "kms:Encrypt", "Resource": "*"}}),
        );
        for key in [other_role, encrypt_only] {
            let e = access(Some(&decrypt), None, (&key, KmsKey, ACCOUNT), "kms:Decrypt");
            assert_eq!(e.decision, Decision::ImplicitDeny);
            assert!(e.statements.is_empty());
        }
    }

    #[test]
    fn an_explicit_deny_in_the_key_policy_beats_every_allow() {
        let key = doc(json!({"Statement": [
            {"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "kms:*", "Resource": "*"},
            {"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "kms:*", "Resource": "*"},
            {"Sid": "NoDecrypt", "Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}
        ]}));
        let decrypt = allowing("kms:Decrypt");
        let e = access(Some(&decrypt), None, (&key, KmsKey, ACCOUNT), "kms:Decrypt");
        assert_eq!(e.decision, Decision::ExplicitDeny);
        assert_eq!(
            e.statements,
            vec![at(RESOURCE_POLICY, 2, Some("NoDecrypt"))]
        );
        let e = access(Some(&decrypt), None, (&key, KmsKey, ACCOUNT), "kms:Encrypt");
        assert_eq!(e.decision, Decision::Allowed);
        assert_eq!(e.statements, vec![at(RESOURCE_POLICY, 1, None)]);
    }

    #[test]
    fn across_accounts_the_resource_policy_and_the_identity_policies_must_both_allow() {
        let both = doc(
            json!({"Statement": {"Effect": "Allow", "Action": ["s3:GetObject", "kms:Decrypt"], "Resource": "*"}}),
        );
        let naming_role = granting(json!({"AWS": ROLE}));
        let role_account = granting(json!({"AWS": ACCOUNT}));
        let own_account = granting(json!({"AWS": "arn:aws:iam::111122223333:root"}));
        for (kind, action) in [(Ordinary, "s3:GetObject"), (KmsKey, "kms:Decrypt")] {
            let in_other = |identity, policy| {
                access(identity, None, (policy, kind, OTHER_ACCOUNT), action).decision
            };
            let e = access(
                Some(&both),
                None,
                (&naming_role, kind, OTHER_ACCOUNT),
                action,
            );
            assert_eq!(e.decision, Decision::Allowed, "{kind:?}");
            assert_eq!(
                e.statements,
                vec![
                    at(RESOURCE_POLICY, 0, Some("Grant")),
                    at(ROLE_POLICY, 0, None)
                ]
            );
            assert_eq!(
                in_other(None, &naming_role),
                Decision::ImplicitDeny,
                "{kind:?}"
            );
            assert_eq!(in_other(Some(&both), &role_account), Decision::Allowed);
            assert_eq!(in_other(Some(&both), &own_account), Decision::ImplicitDeny);
        }
    }

    #[test]
    fn in_its_account_an_ordinary_resource_policy_naming_the_role_suffices() {
        let get = allowing("s3:GetObject");
        let no_s3 = allowing("ssm:*");
        let naming_role = granting(json!({"AWS": ROLE}));
        let e = access(
            None,
            None,
            (&naming_role, Ordinary, ACCOUNT),
            "s3:GetObject",
        );
        assert_eq!(e.decision, Decision::Allowed);
        assert_eq!(e.statements, vec![at(RESOURCE_POLICY, 0, Some("Grant"))]);
        let e = access(
            None,
            Some(&no_s3),
            (&naming_role, Ordinary, ACCOUNT),
            "s3:GetObject",
        );
        assert_eq!(e.decision, Decision::Allowed);
        // Through the account, the identity policies must allow, and then they suffice alone.
        let to_account = granting(json!({"AWS": ROOT}));
        let e = access(None, None, (&to_account, Ordinary, ACCOUNT), "s3:GetObject");
        assert_eq!(e.decision, Decision::ImplicitDeny);
        let e = access(
            Some(&get),
            None,
            (&to_account, Ordinary, ACCOUNT),
            "s3:GetObject",
        );
        assert_eq!(e.decision, Decision::Allowed);
        assert_eq!(e.statements, vec![at(ROLE_POLICY, 0, None)]);
        let other_role = granting(json!({"AWS": "arn:aws:iam::123456789012:role/Other"}));
        let e = access(
            Some(&get),
            None,
            (&other_role, Ordinary, ACCOUNT),
            "s3:GetObject",
        );
        assert_eq!(e.decision, Decision::Allowed);
        let e = access(
            Some(&get),
            Some(&no_s3),
            (&other_role, Ordinary, ACCOUNT),
            "s3:GetObject",
        );
        assert_eq!(e.decision, Decision::DeniedByBoundary);
    }

    #[test]
    fn an_unevaluable_condition_on_the_delegating_statement_is_uncertain() {
        let via_ssm = json!({"Sid": "ViaSsm", "Effect": "Allow", "Principal": {"AWS": ROOT},
            "Action": "kms:Decrypt", "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": "ssm.eu-west-1.amazonaws.com"}}});
        let key = doc(json!({"Statement": [via_ssm]}));
        let decrypt = allowing("kms:Decrypt");
        let e = access(Some(&decrypt), None, (&key, KmsKey, ACCOUNT), "kms:Decrypt");
        assert_eq!(e.decision, Decision::Uncertain);
        assert_eq!(e.statements, vec![at(RESOURCE_POLICY, 0, Some("ViaSsm"))]);
        assert_eq!(
            e.unevaluable,
            vec!["kms:ViaService (StringEquals)".to_string()]
        );
        // The doubt changes neither the identity policies' refusal nor a grant naming the role.
        let e = access(None, None, (&key, KmsKey, ACCOUNT), "kms:Decrypt");
        assert_eq!(e.decision, Decision::ImplicitDeny);
        let named = json!({"Sid": "Role", "Effect": "Allow", "Principal": {"AWS": ROLE},
            "Action": "kms:Decrypt", "Resource": "*"});
        let also_named = doc(json!({"Statement": [via_ssm, named]}));
        let e = access(None, None, (&also_named, KmsKey, ACCOUNT), "kms:Decrypt");
        assert_eq!(e.decision, Decision::Allowed);
        assert_eq!(e.statements, vec![at(RESOURCE_POLICY, 1, Some("Role"))]);
        // A possible deny in an identity policy could take even that grant away.
        let maybe_deny = doc(
            json!({"Statement": {"Sid": "NotFromVpc", "Effect": "Deny", "Action": "*", "Resource": "*",
            "Condition": {"StringNotEquals": {"aws:SourceVpc": "vpc-0abc"}}}}),
        );
        let e = access(
            Some(&maybe_deny),
            None,
            (&also_named, KmsKey, ACCOUNT),
            "kms:Decrypt",
        );
        assert_eq!(e.decision, Decision::Uncertain);
        assert_eq!(e.statements, vec![at(ROLE_POLICY, 0, Some("NotFromVpc"))]);
    }

    #[test]
    fn malformed_documents_are_errors_not_decisions() {
        assert_eq!(
            PolicyDocument::parse(&json!({"Version": "2012-10-17"})).unwrap_err(),
            "the policy document has no Statement"
        );
        let wrong_effect =
            json!({"Statement": {"Effect": "Maybe", "Action": "*", "Resource": "*"}});
        assert_eq!(
            PolicyDocument::parse(&wrong_effect).unwrap_err(),
            "statement #0: Effect must be \"Allow\" or \"Deny\", got \"Maybe\""
        );
    }
}
