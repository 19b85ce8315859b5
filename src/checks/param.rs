//! param.*: whether an application on the instance (or running as a role) can read its Parameter
//! Store parameter: it exists under that exact name, the role may read it, may decrypt it, and
//! the instance reaches Systems Manager.

use super::iam::agent_policies;
use super::outcome::{CheckResult, Outcome, need};
use super::permissions::{parse, request_context};
use super::{Context, reused, worst};
use crate::facts::{AWS_SSM_KEY, Parameter, ParameterFacts, Role, Task};
use crate::policy::{
    Access, Decision, Evaluation, Labeled, Principal, Request, ResourcePolicy, ResourcePolicyKind,
    evaluate, evaluate_identity, evaluate_resource_policy,
};
use std::collections::BTreeMap;

/// Suggestions offered for a name that does not exist, at most.
const SUGGESTIONS: usize = 3;

/// The network checks that decide whether the instance reaches `ssm`, judged for it alone.
const PATH_CHECKS: &[&str] = &[
    "network.route",
    "network.egress-443",
    "network.nacl",
    "vpce.present",
    "vpce.private-dns",
    "vpce.ingress-443",
];

pub(super) fn asked<'a>(ctx: &Context<'a>) -> Result<&'a ParameterFacts, Outcome> {
    match &ctx.facts.task {
        Some(Task::Param(p)) => Ok(p),
        _ => Err(Outcome::error("These facts hold no parameter question.")),
    }
}

/// The parameter, or `skip` when it does not exist (param.exists says so).
fn existing(asked: &ParameterFacts) -> Result<&Parameter, Outcome> {
    need(&asked.parameter)?
        .as_ref()
        .ok_or_else(|| Outcome::skip(format!("There is no parameter {}.", asked.name)))
}

pub fn exists(ctx: &Context) -> CheckResult {
    let asked = asked(ctx)?;
    let where_ = format!(
        "account {} in {}",
        ctx.facts.account().unwrap_or("(unknown)"),
        ctx.facts.target.region
    );
    if let Some(p) = need(&asked.parameter)? {
        let key = match (p.kind.as_str(), p.key_id.as_deref()) {
            ("SecureString", None | Some(AWS_SSM_KEY)) => " encrypted with aws/ssm".to_string(),
            ("SecureString", Some(key)) => format!(" encrypted with {key}"),
            _ => String::new(),
        };
        let version = p
            .version
            .map(|v| format!(", version {v}"))
            .unwrap_or_default();
        let changed = p
            .last_modified
            .as_deref()
            .map(|t| format!(", last changed {t}"))
            .unwrap_or_default();
        let tier = p.tier.as_deref().unwrap_or("Standard");
        return Ok(Outcome::pass(format!(
            "Parameter {} exists in {where_}: a {}{key} ({tier} tier{version}{changed}).",
            p.name, p.kind
        ))
        .with("parameter", p));
    }
    if asked.name.starts_with("/aws/") {
        return Ok(Outcome::warn(format!(
            "{} is not among the account's own parameters: a public parameter of AWS's \
             (/aws/service/…, /aws/reference/…) is not listed by DescribeParameters, so \
             ssm-doctor cannot tell whether it exists in {}.",
            asked.name, ctx.facts.target.region
        )));
    }
    let nearby = need(&asked.nearby)?;
    let suggestions = closest(&asked.name, nearby);
    let mut message = format!(
        "No parameter is named {} in {where_} (names are case-sensitive): the application's \
         GetParameter fails with ParameterNotFound.",
        asked.name
    );
    if !suggestions.is_empty() {
        message.push_str(&format!(" Did you mean {}?", suggestions.join(", ")));
    }
    if !asked.name.starts_with('/') && asked.name.contains('/') {
        message.push_str(
            " A name with a path must begin with `/`: without it, GetParameter fails with \
             ValidationException.",
        );
    }
    let mut outcome = Outcome::fail(message).with("suggestions", &suggestions);
    if let Some(best) = suggestions.first() {
        outcome = outcome.var("suggestion", best);
    }
    Ok(outcome)
}

/// The existing names closest to `name`, best first: the same name with a leading `/` or in
/// another case, then those a few edits away.
fn closest(name: &str, candidates: &[String]) -> Vec<String> {
    let rooted = match name.starts_with('/') {
        true => name.to_string(),
        false => format!("/{name}"),
    };
    let wanted = rooted.to_lowercase();
    let room = (wanted.chars().count() / 4).max(2);
    let mut scored: Vec<(usize, &String)> = candidates
        .iter()
        .filter(|c| c.as_str() != name)
        .map(|c| (edits(&wanted, &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= room)
        .collect();
    scored.sort();
    scored
        .into_iter()
        .take(SUGGESTIONS)
        .map(|(_, c)| c.clone())
        .collect()
}

/// Levenshtein distance, by characters.
fn edits(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// The role the application's calls are signed with: `--role`'s, or the instance profile's.
fn reader<'a>(ctx: &Context<'a>, asked: &ParameterFacts) -> Result<&'a Role, Outcome> {
    if let Some(name) = &asked.role {
        return match &ctx.aws.iam.role {
            crate::facts::Fetch::NotApplicable { .. } => Err(Outcome::fail(format!(
                "No role named {name} exists in this account."
            ))),
            role => need(role),
        };
    }
    let id = &ctx.facts.target.instance_id;
    let instance = ctx.named_instance()?;
    if instance.instance_profile_arn.is_none() {
        return Err(Outcome::fail(format!(
            "{id} has no instance profile: applications on it get no AWS credentials from the \
             instance (Default Host Management Configuration's role serves the SSM agent only)."
        )));
    }
    let Some(profile) = need(&ctx.aws.iam.instance_profile)? else {
        return Err(Outcome::fail(format!(
            "The instance profile attached to {id} no longer exists: applications get no \
             credentials."
        )));
    };
    if profile.role_names.is_empty() {
        return Err(Outcome::fail(format!(
            "Instance profile {} of {id} holds no role: applications on it get no credentials.",
            profile.name
        )));
    }
    match &ctx.aws.iam.role {
        // The profile names a role that is gone.
        crate::facts::Fetch::NotApplicable { reason } => Err(Outcome::fail(format!(
            "The role of instance profile {} cannot be used: {reason}.",
            profile.name
        ))),
        role => need(role),
    }
}

/// The condition keys a request signed with the role carries.
fn context(ctx: &Context, role: &Role, asked: &ParameterFacts) -> BTreeMap<String, String> {
    let mut context = request_context(ctx, role);
    if asked.role.is_some() {
        // No instance: nothing is known of where the call comes from.
        context.remove("ec2:SourceInstanceARN");
    }
    context
}

/// `arn:aws:ssm:region:account:parameter/app/db` of `/app/db` (the leading `/` is not doubled).
fn parameter_arn(ctx: &Context, role: &Role, name: &str) -> String {
    let account = role.arn.split(':').nth(4).unwrap_or("*");
    format!(
        "arn:aws:ssm:{}:{account}:parameter/{}",
        ctx.facts.target.region,
        name.trim_start_matches('/')
    )
}

pub fn permission(ctx: &Context) -> CheckResult {
    let asked = asked(ctx)?;
    let parameter = existing(asked)?;
    let role = reader(ctx, asked)?;
    let (parsed, policies) = agent_policies(ctx)?;
    let (labeled, boundary) = parsed.labeled();
    let context = context(ctx, role, asked);
    let arn = match parameter.arn.is_empty() {
        true => parameter_arn(ctx, role, &parameter.name),
        false => parameter.arn.clone(),
    };
    let mut questions = vec![
        ("ssm:GetParameter", arn.clone()),
        ("ssm:GetParameters", arn.clone()),
    ];
    if asked.by_path {
        let parent = parent_path(&parameter.name);
        questions.push(("ssm:GetParametersByPath", parameter_arn(ctx, role, &parent)));
    }
    let answers: Vec<(&str, String, Evaluation)> = questions
        .into_iter()
        .map(|(action, resource)| {
            let evaluation = evaluate_identity(
                &labeled,
                boundary.as_ref(),
                &Request {
                    action,
                    resource: &resource,
                    principal: None,
                    context: &context,
                },
            );
            (action, resource, evaluation)
        })
        .collect();
    let said = |keep: &dyn Fn(Decision) -> bool| -> Vec<String> {
        answers
            .iter()
            .filter(|(_, _, e)| keep(e.decision))
            .map(|(action, resource, e)| format!("{action} on {resource} ({e})"))
            .collect()
    };
    let refused = said(&|d| !matches!(d, Decision::Allowed | Decision::Uncertain));
    let uncertain = said(&|d| d == Decision::Uncertain);
    let outcome = if !refused.is_empty() {
        Outcome::fail(format!(
            "Role {} may not read {}: {}. The application gets AccessDeniedException.",
            role.name,
            parameter.name,
            refused.join("; ")
        ))
    } else if !uncertain.is_empty() {
        Outcome::warn(format!(
            "Role {} may not be allowed to read {}: {}. Check those conditions hold for the \
             application's calls.",
            role.name,
            parameter.name,
            uncertain.join("; ")
        ))
    } else {
        let actions: Vec<&str> = answers.iter().map(|(a, _, _)| *a).collect();
        Outcome::pass(format!(
            "Role {} may read {}: {} allowed.",
            role.name,
            parameter.name,
            actions.join(", ")
        ))
    };
    let decisions: serde_json::Map<String, serde_json::Value> = answers
        .iter()
        .map(|(action, _, e)| (action.to_string(), serde_json::json!(e)))
        .collect();
    Ok(outcome
        .with("role_arn", &role.arn)
        .with("parameter_arn", &arn)
        .with("policies", policies)
        .with("decisions", decisions))
}

/// `/app/prod/db-url` → `/app/prod`; a name without a path is under `/`.
pub(super) fn parent_path(name: &str) -> String {
    match name.rfind('/') {
        Some(0) | None => "/".to_string(),
        Some(at) => name[..at].to_string(),
    }
}

pub fn kms(ctx: &Context) -> CheckResult {
    let asked = asked(ctx)?;
    let parameter = existing(asked)?;
    if parameter.kind != "SecureString" {
        return Err(Outcome::skip(format!(
            "{} is a {}: it is not encrypted.",
            parameter.name, parameter.kind
        )));
    }
    let aws_managed = || {
        Outcome::pass(format!(
            "{} is encrypted with the AWS managed key aws/ssm, whose key policy lets every \
             principal of the account decrypt through Systems Manager: reading it needs no KMS \
             permission.",
            parameter.name
        ))
    };
    let key_id = match parameter.key_id.as_deref() {
        None | Some(AWS_SSM_KEY) => return Ok(aws_managed()),
        Some(key) => key,
    };
    let Some(key) = need(&asked.key)? else {
        return Ok(Outcome::fail(format!(
            "{} is encrypted with KMS key {key_id}, which does not exist (deleted, or in another \
             account this one cannot see): reading it fails with InvalidKeyId.",
            parameter.name
        ))
        .var("key_arn", key_id));
    };
    if key.manager.as_deref() == Some("AWS") {
        return Ok(aws_managed().with("key_arn", &key.arn));
    }
    if key.state != "Enabled" {
        return Ok(Outcome::fail(format!(
            "Key {} that encrypts {} is {}, not Enabled: reading it with decryption fails.",
            key.arn, parameter.name, key.state
        ))
        .var("key_arn", &key.arn));
    }
    let role = reader(ctx, asked)?;
    let (parsed, _) = agent_policies(ctx)?;
    let (labeled, boundary) = parsed.labeled();
    // Another account's key policy is read only in that account: no permission here helps.
    if matches!(key.policy, crate::facts::Fetch::Denied { .. })
        && ctx.facts.account() != Some(key.account.as_str())
    {
        return Err(Outcome::error(format!(
            "Key {} belongs to account {}, whose key policy only that account can read: run \
             ssm-doctor there, or check that the policy allows role {} kms:Decrypt with \
             kms:ViaService ssm.{}.amazonaws.com.",
            key.arn, key.account, role.arn, ctx.facts.target.region
        )));
    }
    let key_policy = parse(need(&key.policy)?, "the key policy")?;
    let label = format!("the key policy of {}", key.arn);
    let key_policy = Labeled {
        label: &label,
        document: &key_policy,
    };
    let mut context = context(ctx, role, asked);
    let arn = match parameter.arn.is_empty() {
        true => parameter_arn(ctx, role, &parameter.name),
        false => parameter.arn.clone(),
    };
    context.insert("kms:EncryptionContext:PARAMETER_ARN".into(), arn.clone());
    context.insert(
        "kms:ViaService".into(),
        format!("ssm.{}.amazonaws.com", ctx.facts.target.region),
    );
    let caller_account = role.arn.split(':').nth(4).unwrap_or_default();
    context.insert("kms:CallerAccount".into(), caller_account.to_string());
    let principal = Principal::Aws(role.arn.clone());
    let request = Request {
        action: "kms:Decrypt",
        resource: &key.arn,
        principal: Some(&principal),
        context: &context,
    };
    let decrypt = evaluate(
        &Access {
            identity: &labeled,
            boundary: boundary.as_ref(),
            resource: Some(ResourcePolicy {
                policy: &key_policy,
                kind: ResourcePolicyKind::KmsKey,
                account: &key.account,
            }),
        },
        &request,
    );
    let outcome = match decrypt.decision {
        Decision::Allowed => Outcome::pass(format!(
            "Key {} is enabled and role {} may kms:Decrypt with it for {} ({decrypt}).",
            key.arn, role.name, parameter.name
        )),
        Decision::Uncertain => Outcome::warn(format!(
            "Role {} may not be allowed kms:Decrypt with key {} for {} ({decrypt}).",
            role.name, key.arn, parameter.name
        )),
        Decision::ExplicitDeny => Outcome::fail(format!(
            "Role {} may not kms:Decrypt with key {}, which encrypts {} ({decrypt}). Reading it \
             with decryption fails with AccessDeniedException.",
            role.name, key.arn, parameter.name
        )),
        _ => {
            let why = key_policy_says(&key_policy, &request, &key.account, &role.name);
            Outcome::fail(format!(
                "Role {} may not kms:Decrypt with key {}, which encrypts {} ({decrypt}){why}. \
                 Reading it with decryption fails with AccessDeniedException.",
                role.name, key.arn, parameter.name
            ))
        }
    };
    Ok(outcome
        .with("key_arn", &key.arn)
        .with("decision", &decrypt)
        .var("key_arn", &key.arn))
}

/// Why a key refuses what no statement denies: its policy delegates to IAM and IAM does not allow,
/// or it names neither the role nor the account.
fn key_policy_says(policy: &Labeled, request: &Request, account: &str, role: &str) -> String {
    let root = Principal::Aws(format!("arn:aws:iam::{account}:root"));
    let through_account = Request {
        principal: Some(&root),
        ..*request
    };
    let delegates =
        evaluate_resource_policy(policy, &through_account).decision == Decision::Allowed;
    let names_role = evaluate_resource_policy(policy, request).decision == Decision::Allowed;
    match (delegates, names_role) {
        (true, _) => format!(
            ": the key policy delegates to IAM, but no IAM policy of role {role} allows \
             kms:Decrypt on the key"
        ),
        (false, true) => String::new(),
        (false, false) => format!(
            ": the key policy names neither role {role} nor the account root of {account} \
             (which would let IAM policies grant it)"
        ),
    }
}

pub fn path(ctx: &Context) -> CheckResult {
    let asked = asked(ctx)?;
    if asked.role.is_some() {
        return Err(Outcome::skip(
            "No instance was named (--role): the network path is not judged.",
        ));
    }
    ctx.named_instance()?;
    let findings = reused(ctx, PATH_CHECKS);
    Ok(worst(&findings, &ctx.facts.target.instance_id, |holding| {
        format!(
            "The instance reaches ssm.{}.amazonaws.com: {}.",
            ctx.facts.target.region,
            holding.join("; ")
        )
    }))
}
