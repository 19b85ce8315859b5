//! operator.*: the person starting the session, as IAM sees them.

use super::Context;
use super::outcome::{CheckResult, Outcome, need};
use super::permissions::{IdentityPolicies, Sorted, sort};
use super::simulation::{Judged, confirmed};
use crate::analysis::session_arns::SessionArns;
use crate::analysis::version;
use crate::facts::{
    Caller, DEFAULT_DOCUMENT, Entity, Fetch, Identity, IdentityKind, OperatorFacts, Policy,
};
use crate::policy::{Evaluation, Principal, Request, evaluate_identity};
use std::collections::BTreeMap;

/// Roles of IAM Identity Center permission sets live under this path.
const SSO_PATH: &str = "/aws-reserved/sso.amazonaws.com/";

pub(super) fn operator<'a>(ctx: &Context<'a>) -> Result<&'a OperatorFacts, Outcome> {
    ctx.facts
        .operator
        .as_deref()
        .ok_or_else(|| Outcome::skip("The operator's side was not observed."))
}

/// A value that is there or does not apply; a denied or failed one is the `error` naming it.
fn readable<T>(fetch: &Fetch<T>) -> Result<Option<&T>, Outcome> {
    match fetch {
        Fetch::NotApplicable { .. } => Ok(None),
        other => need(other).map(Some),
    }
}

/// Every policy that decides what the identity may do, each read; its boundary apart.
fn policies(identity: &Identity) -> Result<(Vec<&Policy>, Option<&Policy>), Outcome> {
    let mut all: Vec<&Policy> = Vec::new();
    for part in [
        &identity.attached_policies,
        &identity.inline_policies,
        &identity.group_policies,
    ] {
        all.extend(readable(part)?.into_iter().flatten());
    }
    let boundary = readable(&identity.permissions_boundary)?;
    for policy in all.iter().chain(boundary.as_ref()) {
        need(&policy.document)?;
    }
    Ok((all, boundary))
}

/// "IAM user oncall", "role ci", "role AWSReservedSSO_Ops_… (an IAM Identity Center permission set)".
fn described(identity: &Identity, entity: &Entity) -> String {
    match identity.kind {
        IdentityKind::User => format!("IAM user {}", identity.name),
        IdentityKind::Role if entity.arn.contains(SSO_PATH) => format!(
            "role {} (an IAM Identity Center permission set)",
            identity.name
        ),
        IdentityKind::Role => format!("role {}", identity.name),
    }
}

pub fn identity(ctx: &Context) -> CheckResult {
    let op = operator(ctx)?;
    let caller = need(&op.caller)?;
    let identity = match &op.identity {
        Fetch::NotApplicable { reason } => {
            let outcome = match caller.arn.ends_with(":root") {
                true => Outcome::pass(format!(
                    "You are {} ({reason}); only Organizations policies could stop a session.",
                    caller.arn
                )),
                false => Outcome::warn(format!(
                    "You are {} ({reason}): whether you may start sessions cannot be verified.",
                    caller.arn
                )),
            };
            return Ok(outcome.with("caller_arn", &caller.arn));
        }
        other => need(other)?,
    };
    let entity = need(&identity.entity)?;
    let (policies, boundary) = policies(identity)?;
    let labels: Vec<String> = policies.iter().map(|p| p.label()).collect();
    let within = boundary.map_or(String::new(), |b| {
        format!(", within the boundary {}", b.label())
    });
    Ok(Outcome::pass(format!(
        "You are {} as {}: {} polic{} to read{within}.",
        caller.arn,
        described(identity, entity),
        labels.len(),
        if labels.len() == 1 { "y" } else { "ies" }
    ))
    .with("caller_arn", &caller.arn)
    .with("identity_arn", &entity.arn)
    .with("sso", entity.arn.contains(SSO_PATH))
    .with("policies", labels)
    .with("permissions_boundary", boundary.map(Policy::label)))
}

/// One question about the operator's permissions, and how much its answer matters.
struct Question<'c> {
    action: &'static str,
    resource: String,
    /// A refusal here certainly makes the session fail (not just its end or resumption).
    required: bool,
    /// What the request carries: with the resource's tags when they are all known.
    context: &'c BTreeMap<String, String>,
}

/// What the evaluator needs of the operator: who they are, their policies, and the condition keys
/// their requests carry.
pub(super) struct OperatorAccess<'a> {
    pub caller: &'a Caller,
    pub identity: &'a Identity,
    pub entity: &'a Entity,
    pub sources: Vec<&'a Policy>,
    pub policies: IdentityPolicies,
    pub context: BTreeMap<String, String>,
    /// "IAM user oncall", "role …" (see [`described`]).
    pub who: String,
    /// As a resource policy's `Principal` names them: the user, or the role (not the session).
    pub principal: Principal,
}

/// The operator's access, or the outcome saying what of it could not be read; `None` when the
/// operator's side was not observed.
pub(super) fn operator_access<'a>(
    ctx: &Context<'a>,
) -> Option<Result<OperatorAccess<'a>, Outcome>> {
    let op = ctx.facts.operator.as_ref()?;
    Some((|| {
        let caller = need(&op.caller)?;
        let identity = need(&op.identity)?;
        let entity = need(&identity.entity)?;
        let (sources, boundary) = policies(identity)?;
        let policies = IdentityPolicies::read(&sources, boundary)?;
        Ok(OperatorAccess {
            caller,
            identity,
            entity,
            sources,
            policies,
            context: request_context(ctx, caller, identity, entity),
            who: described(identity, entity),
            principal: Principal::Aws(entity.arn.clone()),
        })
    })())
}

pub fn permission(ctx: &Context) -> CheckResult {
    let OperatorAccess {
        caller,
        identity,
        entity,
        sources,
        policies: parsed,
        context: mut plain,
        who,
        ..
    } = operator_access(ctx)
        .ok_or_else(|| Outcome::skip("The operator's side was not observed."))??;
    let (labeled, boundary) = parsed.labeled();
    let document = &ctx.facts.target.document;
    let arns = SessionArns::new(
        caller,
        (identity.kind, &identity.name),
        &ctx.facts.target.region,
        ctx.facts.account(),
        &ctx.facts.target.instance_id,
        document,
    );
    // A policy that asks Session Manager to check the document even when none is named
    // (`ssm:SessionDocumentAccessCheck`, AWS's quickstart policy does) gets it checked.
    let asks_document_check = sources.iter().any(|p| {
        p.document.value().is_some_and(|d| {
            d.to_string()
                .to_ascii_lowercase()
                .contains("ssm:sessiondocumentaccesscheck")
        })
    });
    if asks_document_check {
        plain.insert("ssm:SessionDocumentAccessCheck".into(), "true".into());
    }
    // Every tag of the resource is known: a condition on one it lacks is decided, not doubted.
    let with_tags = |tags: &BTreeMap<String, String>| {
        let mut context = plain.clone();
        for family in ["ssm:resourceTag/", "aws:ResourceTag/"] {
            context.insert(format!("{family}*"), String::new());
            for (key, value) in tags {
                context.insert(format!("{family}{key}"), value.clone());
            }
        }
        context
    };
    // Tags not read (an older snapshot) leave conditions on them unevaluable.
    let instance_context = match ctx.instance().and_then(|i| i.tags.as_ref()) {
        Some(tags) => with_tags(tags),
        None => plain.clone(),
    };
    let untagged = with_tags(&BTreeMap::new());
    let mut questions = vec![Question {
        action: "ssm:StartSession",
        resource: arns.instance.clone(),
        required: true,
        context: &instance_context,
    }];
    // A session without a document name uses the default document without an access check,
    // unless a policy asks for one. AWS applies that request only when every allowing statement
    // carries it, which is not judged here: a refusal it alone brings up is a warning.
    let named = document != DEFAULT_DOCUMENT;
    if named || asks_document_check {
        let resource = arns.document.clone();
        questions.push(Question {
            action: "ssm:StartSession",
            // AWS's own documents carry no tags; an account's may, unseen here.
            context: match resource.contains("::document/") {
                true => &untagged,
                false => &plain,
            },
            resource,
            required: named,
        });
    }
    let session = arns.session.clone();
    for action in ["ssm:TerminateSession", "ssm:ResumeSession"] {
        questions.push(Question {
            action,
            resource: session.clone(),
            required: false,
            context: &plain,
        });
    }
    let answers: Vec<(&Question, Evaluation)> = questions
        .iter()
        .map(|q| {
            let evaluation = evaluate_identity(
                &labeled,
                boundary.as_ref(),
                &Request {
                    action: q.action,
                    resource: &q.resource,
                    principal: None,
                    context: q.context,
                },
            );
            (q, evaluation)
        })
        .collect();
    let said = |answers: &[&(&Question, Evaluation)]| -> String {
        let parts: Vec<String> = answers
            .iter()
            .map(|(q, e)| format!("{} on {} ({e})", q.action, q.resource))
            .collect();
        parts.join("; ")
    };
    let Sorted {
        refused_required: fatal,
        uncertain: doubtful,
        refused_optional: minor,
    } = sort(&answers, |a| a.0.required, |a| &a.1);
    let outcome = if !fatal.is_empty() {
        Outcome::fail(format!(
            "Your {who} may not start this session: {}.",
            said(&fatal)
        ))
    } else if !doubtful.is_empty() {
        Outcome::warn(format!(
            "Your {who} may not be allowed: {}. Check those conditions hold for you.",
            said(&doubtful)
        ))
    } else if !minor.is_empty() {
        Outcome::warn(format!(
            "Your {who} may start sessions on {}, but not: {}. Without ssm:TerminateSession a \
             session ends in a misleading AccessDenied; a refused document blocks the session \
             when every statement allowing ssm:StartSession asks for the document check.",
            ctx.facts.target.instance_id,
            said(&minor)
        ))
    } else {
        Outcome::pass(format!(
            "Your {who} may start sessions on {} with {document}, and end and resume them.",
            ctx.facts.target.instance_id
        ))
    };
    let judged: Vec<Judged> = answers
        .iter()
        .map(|(q, e)| Judged {
            action: q.action,
            resource: &q.resource,
            required: q.required,
            decision: e.decision,
        })
        .collect();
    let simulation = ctx.facts.operator.as_ref().map(|o| &o.simulation);
    let outcome = match simulation {
        Some(simulation) => confirmed(outcome, &judged, simulation),
        None => outcome,
    };
    let evidence: Vec<serde_json::Value> = answers
        .iter()
        .map(|(q, e)| {
            serde_json::json!({"action": q.action, "resource": q.resource, "evaluation": e})
        })
        .collect();
    Ok(outcome
        .with("identity_arn", &entity.arn)
        .with("simulation", simulation)
        .with("decisions", evidence)
        .var("document_arn", arns.document))
}

/// Condition keys whose values are known for the operator's requests.
fn request_context(
    ctx: &Context,
    caller: &Caller,
    identity: &Identity,
    entity: &Entity,
) -> BTreeMap<String, String> {
    let mut c = BTreeMap::from([
        (
            "aws:RequestedRegion".to_string(),
            ctx.facts.target.region.clone(),
        ),
        ("aws:PrincipalArn".to_string(), entity.arn.clone()),
        ("aws:PrincipalAccount".to_string(), caller.account.clone()),
    ]);
    let kind = match identity.kind {
        IdentityKind::User => {
            c.insert("aws:username".to_string(), identity.name.clone());
            "User"
        }
        IdentityKind::Role => "AssumedRole",
    };
    c.insert("aws:PrincipalType".to_string(), kind.to_string());
    if let Some(id) = &caller.user_id {
        c.insert("aws:userid".to_string(), id.clone());
    }
    c
}

/// The oldest session-manager-plugin AWS supports, and builds it withdrew (the plugin's release
/// notes; cited on the check's page).
const MINIMUM_PLUGIN: &str = "1.2.764.0";
const DEPRECATED_PLUGINS: &[&str] = &["1.2.688.0", "1.2.889.0"];

pub fn plugin(ctx: &Context) -> CheckResult {
    let machine = need(&operator(ctx)?.machine)?;
    let platform = format!("{}-{}", machine.os, machine.arch);
    let Some(plugin) = &machine.plugin else {
        return Ok(Outcome::fail(format!(
            "session-manager-plugin is not on this machine's PATH ({platform}): the AWS CLI \
             cannot open the session (\"SessionManagerPlugin is not found\")."
        ))
        .var("platform", platform));
    };
    if let Some(how) = &plugin.crashed {
        return Ok(
            Outcome::fail(format!("{} does not run: {how}.", plugin.path))
                .var("platform", platform),
        );
    }
    // The probe could not tell (it hung or printed nothing): unknown, not broken.
    let version = need(&plugin.version)?;
    let outcome = match version::at_least(version, MINIMUM_PLUGIN) {
        None => Outcome::warn(format!(
            "{} printed {version:?}, not a version ssm-doctor can compare with {MINIMUM_PLUGIN}.",
            plugin.path
        )),
        Some(false) => Outcome::fail(format!(
            "session-manager-plugin {version} is older than {MINIMUM_PLUGIN}, the oldest AWS \
             supports."
        )),
        Some(true) if DEPRECATED_PLUGINS.contains(&version.as_str()) => Outcome::fail(format!(
            "session-manager-plugin {version} is a build AWS withdrew."
        )),
        Some(true) => match &machine.aws_cli {
            None => Outcome::warn(format!(
                "session-manager-plugin {version} is installed, but the AWS CLI (aws, v2) is \
                 not on PATH: sessions are started with `aws ssm start-session`."
            )),
            Some(cli) => Outcome::pass(format!(
                "session-manager-plugin {version} ({}) and the AWS CLI ({cli}) are installed.",
                plugin.path
            )),
        },
    };
    Ok(outcome
        .with("plugin_path", &plugin.path)
        .with("plugin_version", version)
        .with("minimum", MINIMUM_PLUGIN)
        .var("platform", platform))
}
