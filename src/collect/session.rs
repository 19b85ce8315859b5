//! Session Manager's side: the session document and the bucket, log group and key its settings
//! name. Asked once per run: every instance of the region shares them.

use super::{Aws, Missing, decode_policy, failure, incomplete, required};
use crate::facts::{Bucket, Fetch, Key, LogGroup, SessionDocument, SessionFacts, SessionSettings};
use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kms::types::KeyMetadata;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use serde_json::Value;

/// Error codes meaning "no such thing": the question was answered, and the answer is none.
const ABSENT_CODES: &[&str] = &[
    "InvalidDocument",
    "NoSuchBucket",
    "ResourceNotFoundException",
    "NotFoundException",
    "ServerSideEncryptionConfigurationNotFoundError",
];

/// `Ok(None)` when the call's answer is that the thing asked about does not exist.
fn absent_or<T, E>(action: &str, err: SdkError<E, HttpResponse>) -> Fetch<Option<T>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match err.as_service_error().and_then(|e| e.code()) {
        Some(code) if ABSENT_CODES.contains(&code) => Fetch::collected(None),
        _ => failure(action, err),
    }
}

impl Aws {
    pub(super) async fn session(&self, name: &str) -> SessionFacts {
        let document = self.session_document(name).await;
        let settings = document
            .value()
            .and_then(Option::as_ref)
            .map(|d| d.settings.clone());
        let (bucket, log_group, key) = match (&document, settings) {
            (_, Some(settings)) => {
                let (bucket, log_group, key) = tokio::join!(
                    async {
                        match &settings.s3_bucket {
                            Some(name) => self.bucket(name).await,
                            None => not_used("does not log to S3"),
                        }
                    },
                    async {
                        match &settings.log_group {
                            Some(name) => self.log_group(name).await,
                            None => not_used("does not log to CloudWatch Logs"),
                        }
                    },
                    async {
                        match &settings.kms_key {
                            Some(id) => self.key(id).await,
                            None => not_used("does not encrypt sessions with KMS"),
                        }
                    },
                );
                (bucket, log_group, key)
            }
            (Fetch::Collected { .. }, None) => {
                let none = "does not exist";
                (not_used(none), not_used(none), not_used(none))
            }
            (unknown, None) => {
                // What the document's denial or failure hides is unknown for that reason.
                let cause = unknown
                    .absent()
                    .unwrap_or_else(|| Fetch::not_applicable("not collected"));
                return SessionFacts {
                    document_name: name.to_string(),
                    document: document.clone(),
                    ..SessionFacts::unknown_because(&cause)
                };
            }
        };
        SessionFacts {
            document_name: name.to_string(),
            document,
            bucket,
            log_group,
            key,
        }
    }

    async fn session_document(&self, name: &str) -> Fetch<Option<SessionDocument>> {
        let request = self
            .ssm
            .get_document()
            .name(name)
            .document_format(aws_sdk_ssm::types::DocumentFormat::Json)
            .send();
        match self.call(request).await {
            Ok(out) => {
                let document_type = out
                    .document_type()
                    .map_or_else(String::new, |t| t.as_str().to_string());
                match required(out.content(), "the document's Content") {
                    Ok(content) => match serde_json::from_str::<Value>(content) {
                        Ok(content) => Fetch::collected(Some(SessionDocument {
                            name: out.name().unwrap_or(name).to_string(),
                            document_type,
                            session_type: content["sessionType"].as_str().map(str::to_string),
                            settings: settings(&content["inputs"]),
                        })),
                        Err(e) => Fetch::Failed {
                            action: "ssm:GetDocument".into(),
                            reason: format!("the content of {name} is not JSON: {e}"),
                        },
                    },
                    Err(missing) => incomplete("ssm:GetDocument", missing),
                }
            }
            Err(e) => absent_or("ssm:GetDocument", e),
        }
    }

    async fn bucket(&self, name: &str) -> Fetch<Option<Bucket>> {
        let request = self.s3.get_bucket_encryption().bucket(name).send();
        match self.call(request).await {
            Ok(out) => {
                let algorithm = out
                    .server_side_encryption_configuration()
                    .and_then(|c| c.rules().first())
                    .and_then(|r| r.apply_server_side_encryption_by_default())
                    .map(|d| d.sse_algorithm().as_str().to_string());
                Fetch::collected(Some(Bucket {
                    name: name.to_string(),
                    encryption: algorithm,
                }))
            }
            Err(e)
                if e.as_service_error().and_then(|s| s.code())
                    == Some("ServerSideEncryptionConfigurationNotFoundError") =>
            {
                Fetch::collected(Some(Bucket {
                    name: name.to_string(),
                    encryption: None,
                }))
            }
            Err(e) => absent_or("s3:GetEncryptionConfiguration", e),
        }
    }

    async fn log_group(&self, name: &str) -> Fetch<Option<LogGroup>> {
        let request = self
            .logs
            .describe_log_groups()
            .log_group_name_prefix(name)
            .send();
        match self.call(request).await {
            Ok(out) => Fetch::collected(
                out.log_groups()
                    .iter()
                    .find(|g| g.log_group_name() == Some(name))
                    .map(|g| LogGroup {
                        name: name.to_string(),
                        kms_key: g.kms_key_id().map(str::to_string),
                    }),
            ),
            Err(e) => absent_or("logs:DescribeLogGroups", e),
        }
    }

    pub(super) async fn key(&self, id: &str) -> Fetch<Option<Key>> {
        let described = match self.call(self.kms.describe_key().key_id(id).send()).await {
            Ok(out) => required(out.key_metadata(), "the KeyMetadata").and_then(key_metadata),
            Err(e) => return absent_or("kms:DescribeKey", e),
        };
        let (key_id, arn, state, account, manager) = match described {
            Ok(parts) => parts,
            Err(missing) => return incomplete("kms:DescribeKey", missing),
        };
        let request = self
            .kms
            .get_key_policy()
            .key_id(&key_id)
            .policy_name("default")
            .send();
        let policy = match self.call(request).await {
            Ok(out) => match out.policy() {
                Some(text) => decode_policy("kms:GetKeyPolicy", text),
                None => incomplete("kms:GetKeyPolicy", Missing("the Policy".into())),
            },
            Err(e) => failure("kms:GetKeyPolicy", e),
        };
        Fetch::collected(Some(Key {
            arn,
            state,
            account,
            manager,
            policy,
        }))
    }
}

/// The key's id, ARN, state, account and manager.
type KeyParts = (String, String, String, String, Option<String>);

fn key_metadata(m: &KeyMetadata) -> Result<KeyParts, Missing> {
    Ok((
        m.key_id().to_string(),
        required(m.arn(), "the key's Arn")?.to_string(),
        required(m.key_state(), "the key's KeyState")?
            .as_str()
            .to_string(),
        required(m.aws_account_id(), "the key's AWSAccountId")?.to_string(),
        m.key_manager().map(|k| k.as_str().to_string()),
    ))
}

fn not_used<T>(what: &str) -> Fetch<T> {
    Fetch::not_applicable(format!("the session document {what}"))
}

/// A Session document's `inputs`: the preferences page writes booleans and numbers as JSON
/// values, hand-written documents often as strings; an empty string means unset.
fn settings(inputs: &Value) -> SessionSettings {
    let text = |key: &str| match &inputs[key] {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let flag = |key: &str| match &inputs[key] {
        Value::Bool(b) => *b,
        Value::String(s) => s.trim().eq_ignore_ascii_case("true"),
        _ => false,
    };
    let profile = |os: &str| match &inputs["shellProfile"][os] {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        _ => None,
    };
    SessionSettings {
        s3_bucket: text("s3BucketName"),
        s3_prefix: text("s3KeyPrefix"),
        s3_encryption: flag("s3EncryptionEnabled"),
        log_group: text("cloudWatchLogGroupName"),
        cloudwatch_encryption: flag("cloudWatchEncryptionEnabled"),
        cloudwatch_streaming: flag("cloudWatchStreamingEnabled"),
        kms_key: text("kmsKeyId"),
        run_as: flag("runAsEnabled"),
        run_as_user: text("runAsDefaultUser"),
        idle_timeout: text("idleSessionTimeout"),
        max_duration: text("maxSessionDuration"),
        shell_profile_linux: profile("linux"),
        shell_profile_windows: profile("windows"),
    }
}

#[cfg(test)]
mod tests {
    use super::settings;
    use serde_json::json;

    #[test]
    fn settings_read_the_preferences_pages_values_and_hand_written_strings() {
        let written_by_console = settings(&json!({
            "s3BucketName": "logs-bucket", "s3KeyPrefix": "", "s3EncryptionEnabled": true,
            "cloudWatchLogGroupName": "", "cloudWatchEncryptionEnabled": true,
            "kmsKeyId": "alias/sessions", "runAsEnabled": false, "idleSessionTimeout": 20,
            "shellProfile": {"linux": "exec bash", "windows": ""}
        }));
        assert_eq!(written_by_console.s3_bucket.as_deref(), Some("logs-bucket"));
        assert_eq!(written_by_console.s3_prefix, None);
        assert!(written_by_console.s3_encryption);
        assert_eq!(written_by_console.log_group, None);
        assert_eq!(
            written_by_console.kms_key.as_deref(),
            Some("alias/sessions")
        );
        assert!(!written_by_console.run_as);
        assert_eq!(written_by_console.idle_timeout.as_deref(), Some("20"));
        assert_eq!(
            written_by_console.shell_profile_linux.as_deref(),
            Some("exec bash")
        );
        assert_eq!(written_by_console.shell_profile_windows, None);

        let by_hand = settings(&json!({"runAsEnabled": "true", "runAsDefaultUser": " ops ",
            "cloudWatchEncryptionEnabled": "false"}));
        assert!(by_hand.run_as);
        assert_eq!(by_hand.run_as_user.as_deref(), Some("ops"));
        assert!(!by_hand.cloudwatch_encryption);
    }
}
