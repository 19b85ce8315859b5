//! session.*: the session document and what its preferences ask of the instance's role, its network
//! and the operator: logging to S3 or CloudWatch Logs, encryption with a KMS key.

use super::Context;
use super::iam::agent_policies;
use super::operator::operator_access;
use super::outcome::{CheckResult, Outcome, need, worst_of};
use super::permissions::{parse, request_context};
use crate::analysis::path::{Internet, Reach};
use crate::facts::{DEFAULT_DOCUMENT, RUN_AS_TAG, SessionDocument, SessionSettings};
use crate::policy::{
    Access, Decision, Evaluation, Labeled, Principal, Request, ResourcePolicy, ResourcePolicyKind,
    evaluate,
};
use crate::report::Status;

/// The session document as read for this run's document, if it exists; `error` when the facts
/// were read for another one (a snapshot replayed with another `--document`).
fn read<'a>(ctx: &Context<'a>) -> Result<Option<&'a SessionDocument>, Outcome> {
    let session = &ctx.aws.session;
    let wanted = &ctx.facts.target.document;
    if !session.document_name.is_empty() && session.document_name != *wanted {
        return Err(Outcome::error(format!(
            "These facts hold session document {}, not {wanted}: run against AWS to read it.",
            session.document_name
        )));
    }
    Ok(need(&session.document)?.as_ref())
}

/// The session document, or `skip` when it does not exist (session.document says so).
fn document<'a>(ctx: &Context<'a>) -> Result<&'a SessionDocument, Outcome> {
    read(ctx)?.ok_or_else(|| {
        Outcome::skip("There is no session document: nothing is logged or encrypted.")
    })
}

pub fn document_check(ctx: &Context) -> CheckResult {
    let name = &ctx.facts.target.document;
    let region = &ctx.facts.target.region;
    let Some(doc) = read(ctx)? else {
        return Ok(match name == DEFAULT_DOCUMENT {
            true => Outcome::pass(format!(
                "No session preferences are saved in {region} ({DEFAULT_DOCUMENT} does not \
                 exist): sessions use the defaults (no logging, no KMS encryption, Run As off)."
            )),
            false => Outcome::fail(format!(
                "Session document {name} does not exist in this account and region ({region}): \
                 StartSession fails with InvalidDocument."
            )),
        });
    };
    if doc.document_type != "Session" {
        return Ok(Outcome::fail(format!(
            "{} is a {} document, not a Session document: StartSession refuses it.",
            doc.name, doc.document_type
        )));
    }
    let settings = &doc.settings;
    let summary = summary(doc);
    let outcome = match settings.run_as {
        true => Outcome::warn(format!(
            "{summary} Run As is on: your sessions start as {}; that OS user must exist on the \
             instance, or the session fails with \"failed to start pty since RunAs user … does \
             not exist\".",
            run_as_user(ctx, settings)
        )),
        false => Outcome::pass(summary),
    };
    Ok(outcome.with("settings", settings))
}

/// Whom Run As starts the operator's sessions as: their `SSMSessionRunAs` tag, else the
/// preferences' default user.
fn run_as_user(ctx: &Context, settings: &SessionSettings) -> String {
    let identity = ctx.facts.operator.as_ref().and_then(|o| o.identity.value());
    let tagged = identity
        .and_then(|i| i.entity.value())
        .and_then(|e| e.run_as.clone());
    let default = settings.run_as_user.as_deref();
    match (tagged, identity, default) {
        (Some(user), _, _) => format!(
            "{user} (the {RUN_AS_TAG} tag of your IAM {})",
            identity.map_or("identity", |i| i.kind.word())
        ),
        (None, Some(_), Some(user)) => {
            format!("{user} (the preferences' default: you have no {RUN_AS_TAG} tag)")
        }
        (None, Some(_), None) => format!(
            "no user at all: you have no {RUN_AS_TAG} tag and the preferences name no default user, so sessions fail"
        ),
        (None, None, Some(user)) => format!("the OS user of your {RUN_AS_TAG} tag, else {user}"),
        (None, None, None) => {
            format!("the OS user of your {RUN_AS_TAG} tag (the preferences name no default)")
        }
    }
}

/// "Session document X (Session, Standard_Stream): logs to …; encrypted with …; idle timeout …."
fn summary(doc: &SessionDocument) -> String {
    let s = &doc.settings;
    let mut parts = Vec::new();
    if let Some(bucket) = &s.s3_bucket {
        let prefix = s
            .s3_prefix
            .as_deref()
            .map_or(String::new(), |p| format!("/{p}"));
        parts.push(format!("logs to s3://{bucket}{prefix}"));
    }
    if let Some(group) = &s.log_group {
        parts.push(format!("logs to CloudWatch Logs group {group}"));
    }
    if let Some(key) = &s.kms_key {
        parts.push(format!("encrypts sessions with KMS key {key}"));
    }
    if let Some(idle) = &s.idle_timeout {
        parts.push(format!("idle timeout {idle} min"));
    }
    if let Some(max) = &s.max_duration {
        parts.push(format!("maximum duration {max} min"));
    }
    let kind = doc.session_type.as_deref().unwrap_or("no session type");
    match parts.is_empty() {
        true => format!(
            "Session document {} ({kind}) sets nothing to check.",
            doc.name
        ),
        false => format!(
            "Session document {} ({kind}): {}.",
            doc.name,
            parts.join("; ")
        ),
    }
}

/// One permission question about the instance's role.
struct Question {
    action: &'static str,
    resource: String,
    required: bool,
}

pub fn logging(ctx: &Context) -> CheckResult {
    let doc = document(ctx)?;
    let s = &doc.settings;
    if s.s3_bucket.is_none() && s.log_group.is_none() {
        return Err(Outcome::skip(format!(
            "Session document {} does not log sessions.",
            doc.name
        )));
    }
    let session = &ctx.aws.session;
    let mut findings: Vec<(Status, String)> = Vec::new();
    let mut questions = Vec::new();
    let region = &ctx.facts.target.region;
    let account = ctx.facts.account().unwrap_or("*");
    if let Some(name) = &s.s3_bucket {
        match need(&session.bucket)? {
            None => findings.push((
                Status::Fail,
                format!("Bucket {name} does not exist: session logs cannot be written."),
            )),
            Some(bucket) if s.s3_encryption && bucket.encryption.is_none() => findings.push((
                Status::Fail,
                format!(
                    "The preferences send logs only to an encrypted bucket, and {name} has no \
                     default encryption (\"encryption is not set up on the selected Amazon S3 \
                     bucket\")."
                ),
            )),
            Some(_) => {}
        }
        questions.push(Question {
            action: "s3:PutObject",
            resource: format!("arn:aws:s3:::{}", object_key(name, s)),
            required: true,
        });
        questions.push(Question {
            action: "s3:GetEncryptionConfiguration",
            resource: format!("arn:aws:s3:::{name}"),
            required: s.s3_encryption,
        });
        findings.extend(reachable(ctx, "s3")?);
    }
    if let Some(name) = &s.log_group {
        match need(&session.log_group)? {
            None => findings.push((
                Status::Fail,
                format!("Log group {name} does not exist: session logs cannot be written."),
            )),
            Some(group) if s.cloudwatch_encryption && group.kms_key.is_none() => findings.push((
                Status::Fail,
                format!(
                    "The preferences send logs only to an encrypted log group, and {name} is \
                         not encrypted with a KMS key (\"encryption is not set up on the selected \
                         CloudWatch Logs log group\")."
                ),
            )),
            Some(_) => {}
        }
        let group = format!("arn:aws:logs:{region}:{account}:log-group:{name}");
        let stream = format!("{group}:log-stream:{}", ctx.facts.target.instance_id);
        questions.extend([
            Question {
                action: "logs:CreateLogStream",
                resource: stream.clone(),
                required: true,
            },
            Question {
                action: "logs:PutLogEvents",
                resource: stream,
                required: true,
            },
            Question {
                action: "logs:DescribeLogGroups",
                resource: format!("arn:aws:logs:{region}:{account}:log-group:*"),
                required: s.cloudwatch_encryption,
            },
            Question {
                action: "logs:DescribeLogStreams",
                resource: format!("{group}:*"),
                required: false,
            },
        ]);
        findings.extend(reachable(ctx, "logs")?);
    }
    let role = need(&ctx.aws.iam.role)?;
    let (parsed, _) = agent_policies(ctx)?;
    let (labeled, boundary) = parsed.labeled();
    let context = request_context(ctx, role);
    let access = Access {
        identity: &labeled,
        boundary: boundary.as_ref(),
        resource: None,
    };
    let mut decisions = serde_json::Map::new();
    for q in &questions {
        let evaluation = evaluate(
            &access,
            &Request {
                action: q.action,
                resource: &q.resource,
                principal: None,
                context: &context,
            },
        );
        if let Some(finding) = refused(&format!("Role {}", role.name), q, &evaluation) {
            findings.push(finding);
        }
        decisions.insert(q.action.to_string(), serde_json::json!(evaluation));
    }
    let outcome = worst_of(
        &findings,
        &format!(
            "Sessions on {} cannot be logged as the preferences ask:",
            ctx.facts.target.instance_id
        ),
        || {
            Outcome::pass(format!(
                "{} may write the session logs, and the instance reaches {}.",
                role.name,
                destinations(s)
            ))
        },
    );
    Ok(outcome.with("decisions", decisions))
}

/// `bucket/prefix/i-….log`: where the agent writes a session's log.
fn object_key(bucket: &str, s: &SessionSettings) -> String {
    match &s.s3_prefix {
        Some(prefix) => format!("{bucket}/{}/session.log", prefix.trim_matches('/')),
        None => format!("{bucket}/session.log"),
    }
}

fn destinations(s: &SessionSettings) -> String {
    let mut places = Vec::new();
    if s.s3_bucket.is_some() {
        places.push("S3");
    }
    if s.log_group.is_some() {
        places.push("CloudWatch Logs");
    }
    places.join(" and ")
}

/// What a refused or doubtful answer does to the verdict, said.
fn refused(subject: &str, q: &Question, evaluation: &Evaluation) -> Option<(Status, String)> {
    let status = match (evaluation.decision, q.required) {
        (Decision::Allowed, _) => return None,
        (Decision::Uncertain, _) | (_, false) => Status::Warn,
        (_, true) => Status::Fail,
    };
    let verb = match evaluation.decision {
        Decision::Uncertain => "may not be allowed",
        _ => "is not allowed",
    };
    Some((
        status,
        format!(
            "{subject} {verb} {} on {} ({evaluation}).",
            q.action, q.resource
        ),
    ))
}

/// Whether the instance reaches `service`: through an endpoint of its VPC, or the internet path.
fn reachable(ctx: &Context, service: &str) -> Result<Option<(Status, String)>, Outcome> {
    let path = ctx.path()?;
    let endpoints = need(&ctx.aws.network.vpc_endpoints)?;
    let region = &ctx.facts.target.region;
    Ok(match path.reach(endpoints, region, service) {
        Reach::Interface(_) | Reach::Gateway(_) => None,
        Reach::Internet(internet) if internet.carries_traffic() => None,
        Reach::Internet(Internet::Opaque { target }) => Some((
            Status::Warn,
            format!(
                "The VPC has no {service} endpoint and the default route goes to {target}, which \
                 ssm-doctor cannot see past: make sure {service}.{region}.amazonaws.com is \
                 reachable from there."
            ),
        )),
        Reach::Internet(other) => Some((
            Status::Fail,
            format!(
                "The instance cannot reach {service}: the VPC has no {service} endpoint{} and {}.",
                match service {
                    "s3" =>
                        " (a gateway endpoint routed from the instance's table, or an interface one)",
                    _ => "",
                },
                other.describe()
            ),
        )),
    })
}

pub fn kms(ctx: &Context) -> CheckResult {
    let doc = document(ctx)?;
    let Some(key_id) = &doc.settings.kms_key else {
        return Err(Outcome::skip(format!(
            "Session document {} does not encrypt sessions with a KMS key.",
            doc.name
        )));
    };
    let Some(key) = need(&ctx.aws.session.key)? else {
        return Ok(Outcome::fail(format!(
            "KMS key {key_id} does not exist: no session can be encrypted (\"Error when \
             decrypting data key\")."
        )));
    };
    let mut findings: Vec<(Status, String)> = Vec::new();
    if key.state != "Enabled" {
        findings.push((
            Status::Fail,
            format!("Key {} is {}, not Enabled.", key.arn, key.state),
        ));
    }
    let key_policy = parse(need(&key.policy)?, "the key policy")?;
    let label = format!("the key policy of {}", key.arn);
    let key_policy = Labeled {
        label: &label,
        document: &key_policy,
    };
    let resource = ResourcePolicy {
        policy: &key_policy,
        kind: ResourcePolicyKind::KmsKey,
        account: &key.account,
    };
    let mut decisions = serde_json::Map::new();

    // The instance's role decrypts the data key the operator's client generated.
    let role = need(&ctx.aws.iam.role)?;
    let (parsed, _) = agent_policies(ctx)?;
    let (labeled, boundary) = parsed.labeled();
    let mut context = request_context(ctx, role);
    context.insert(
        "kms:EncryptionContext:aws:ssm:TargetId".into(),
        ctx.facts.target.instance_id.clone(),
    );
    let decrypt = evaluate(
        &Access {
            identity: &labeled,
            boundary: boundary.as_ref(),
            resource: Some(resource),
        },
        &Request {
            action: "kms:Decrypt",
            resource: &key.arn,
            principal: Some(&Principal::Aws(role.arn.clone())),
            context: &context,
        },
    );
    let decrypt_question = Question {
        action: "kms:Decrypt",
        resource: key.arn.clone(),
        required: true,
    };
    findings.extend(refused(
        &format!("Role {}", role.name),
        &decrypt_question,
        &decrypt,
    ));
    decisions.insert("instance:kms:Decrypt".into(), serde_json::json!(decrypt));

    // The operator's side generates the data key.
    let mut unverified = None;
    let operator_note = match operator_access(ctx) {
        None => "Your own kms:GenerateDataKey was not evaluated (the operator's side was not \
                 observed)."
            .to_string(),
        // A caller with no IAM policies to read (root, a federated user): nothing to judge.
        Some(Err(why)) if why.status == Status::Skip => format!(
            "Your own kms:GenerateDataKey was not evaluated ({}).",
            why.message.trim_end_matches('.')
        ),
        Some(Err(why)) => {
            unverified = Some(why);
            String::new()
        }
        Some(Ok(operator)) => {
            let (labeled, boundary) = operator.policies.labeled();
            let generate = evaluate(
                &Access {
                    identity: &labeled,
                    boundary: boundary.as_ref(),
                    resource: Some(resource),
                },
                &Request {
                    action: "kms:GenerateDataKey",
                    resource: &key.arn,
                    principal: Some(&operator.principal),
                    context: &operator.context,
                },
            );
            let question = Question {
                action: "kms:GenerateDataKey",
                resource: key.arn.clone(),
                required: true,
            };
            findings.extend(refused(
                &format!("Your {}", operator.who),
                &question,
                &generate,
            ));
            decisions.insert(
                "operator:kms:GenerateDataKey".into(),
                serde_json::json!(generate),
            );
            "You may generate data keys with it.".to_string()
        }
    };
    findings.extend(reachable(ctx, "kms")?);
    // What could not be read of the operator's side leaves the verdict unknown, unless the
    // instance's side fails anyway.
    if let Some(why) = unverified
        && !findings.iter().any(|(status, _)| *status == Status::Fail)
    {
        return Err(Outcome {
            message: format!(
                "Whether you may kms:GenerateDataKey on {} is unknown: {}",
                key.arn, why.message
            ),
            ..why
        });
    }
    let outcome = worst_of(
        &findings,
        "Sessions cannot be encrypted as the preferences ask:",
        || {
            Outcome::pass(format!(
                "Key {} is enabled; role {} may decrypt with it and the instance reaches kms. {}",
                key.arn, role.name, operator_note
            ))
        },
    );
    Ok(outcome
        .with("key_arn", &key.arn)
        .with("decisions", decisions)
        .var("key_arn", &key.arn))
}
