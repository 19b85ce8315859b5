//! The guard on every SDK client: it refuses, before anything is signed or sent, any operation that
//! the least-privilege policy (`docs/iam-policy.json`, compiled in) does not list, so ssm-doctor is
//! read-only by construction; and it turns an answer that was cut short into an error, because the
//! SDK's XML reader takes a body that ends early for a shorter answer.

use aws_sdk_ec2::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeSerializationInterceptorContextRef,
    InterceptorContext,
};
use aws_sdk_ec2::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::retries::classifiers::{ClassifyRetry, RetryAction};
use std::sync::OnceLock;

/// The least-privilege policy, as shipped and as `ssm-doctor policy` prints it.
pub const POLICY: &str = include_str!("../../docs/iam-policy.json");

/// Every action the policy allows, lowercased (IAM compares action names without case).
pub fn allowed_actions() -> &'static [String] {
    static ACTIONS: OnceLock<Vec<String>> = OnceLock::new();
    ACTIONS.get_or_init(|| parse_actions(POLICY))
}

fn parse_actions(policy: &str) -> Vec<String> {
    let document: serde_json::Value =
        serde_json::from_str(policy).expect("docs/iam-policy.json is valid JSON (tested)");
    let statements = document["Statement"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    statements
        .iter()
        .filter(|s| s["Effect"] == "Allow")
        .flat_map(|s| match &s["Action"] {
            serde_json::Value::String(a) => vec![a.clone()],
            serde_json::Value::Array(list) => list
                .iter()
                .filter_map(|a| a.as_str().map(str::to_string))
                .collect(),
            _ => vec![],
        })
        .map(|a| a.to_ascii_lowercase())
        .collect()
}

/// `EC2` + `CreateVpc` → `ec2:CreateVpc`; the SDK names services as their models do, which is
/// IAM's name but for the few below.
pub fn iam_action(metadata: &Metadata) -> String {
    let prefix: String = metadata
        .service()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    let action = format!("{prefix}:{}", metadata.name());
    match RENAMED.iter().find(|(sdk, _)| *sdk == action) {
        Some((_, iam)) => iam.to_string(),
        None => match prefix.as_str() {
            "cloudwatchlogs" => format!("logs:{}", metadata.name()),
            _ => action,
        },
    }
}

/// Operations whose IAM action has another name.
const RENAMED: &[(&str, &str)] = &[("s3:GetBucketEncryption", "s3:GetEncryptionConfiguration")];

#[derive(Debug)]
pub struct Guard;

impl Intercept for Guard {
    fn name(&self) -> &'static str {
        "ssm-doctor read-only guard"
    }

    // Not `read_before_execution`: a client's interceptors run that hook before the operation's
    // own configuration, which names it, is in the bag.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let action = cfg
            .load::<Metadata>()
            .map(iam_action)
            .unwrap_or_else(|| "an unnamed operation".to_string());
        let allowed = allowed_actions().contains(&action.to_ascii_lowercase());
        match allowed {
            true => Ok(()),
            false => Err(format!(
                "refused to call {action}: ssm-doctor only makes the read calls of its \
                 least-privilege policy (ssm-doctor policy)"
            )
            .into()),
        }
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // An error answer is an error already, whatever its body.
        if !context.response().status().is_success() {
            return Ok(());
        }
        let body = context.response().body().bytes().unwrap_or_default();
        match incomplete(body) {
            Some(why) => Err(format!("{INCOMPLETE}{why}").into()),
            None => Ok(()),
        }
    }
}

/// What the guard says of an answer cut short; [`RetryIncomplete`] and the reports look for it.
pub const INCOMPLETE: &str = "incomplete answer: ";

/// An answer cut short (caught by the guard, or a connection closed in mid-body) is retried like a
/// throttle: the next attempt usually comes back whole.
#[derive(Debug)]
pub struct RetryIncomplete;

impl ClassifyRetry for RetryIncomplete {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        let Some(Err(error)) = ctx.output_or_error() else {
            return RetryAction::NoActionIndicated;
        };
        let cut_short = error.is_response_error()
            || (error.is_interceptor_error() && chain_mentions(error, INCOMPLETE));
        match cut_short {
            true => RetryAction::transient_error(),
            false => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "ssm-doctor: answers cut short"
    }
}

fn chain_mentions(error: &dyn std::error::Error, text: &str) -> bool {
    let mut next = Some(error);
    while let Some(e) = next {
        if e.to_string().contains(text) {
            return true;
        }
        next = e.source();
    }
    false
}

/// Why a response body is not a whole document, if it is not: XML must close the element it
/// opened first, JSON must parse. Every answer the tool asks for has a body.
fn incomplete(body: &[u8]) -> Option<&'static str> {
    let text = body.trim_ascii();
    match text.first() {
        None => Some("the body is empty"),
        Some(b'{') | Some(b'[') => serde_json::from_slice::<serde::de::IgnoredAny>(text)
            .err()
            .map(|_| "the JSON body ends early or is malformed"),
        Some(b'<') => match xml_root(text) {
            Some(root) if closes(text, root) => None,
            _ => Some("the XML body ends before its root element closes"),
        },
        Some(_) => Some("the body is neither XML nor JSON"),
    }
}

/// The name of the first element, after any `<?xml …?>` declaration and comments.
fn xml_root(text: &[u8]) -> Option<&[u8]> {
    let mut rest = text;
    loop {
        let start = rest.iter().position(|&b| b == b'<')?;
        rest = &rest[start + 1..];
        match rest.first()? {
            b'?' | b'!' => continue,
            _ => {
                let end = rest
                    .iter()
                    .position(|&b| b.is_ascii_whitespace() || b == b'>' || b == b'/')?;
                return Some(&rest[..end]);
            }
        }
    }
}

fn closes(text: &[u8], root: &[u8]) -> bool {
    let Some(body) = text.strip_suffix(b">") else {
        return false;
    };
    let Some(before) = body.strip_suffix(root) else {
        return false;
    };
    before.trim_ascii_end().ends_with(b"</")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::Aws;
    use aws_config::{BehaviorVersion, Region};
    use aws_sdk_ec2::config::Credentials;
    use aws_sdk_ec2::error::DisplayErrorContext;
    use std::time::Duration;

    /// The production clients, pointed at a loopback port that only counts connections.
    #[tokio::test]
    async fn a_write_call_is_refused_before_anything_is_sent() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let config = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(format!("http://{}", listener.local_addr().unwrap()))
            .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .operation_timeout(Duration::from_millis(500))
                    .build(),
            )
            .load()
            .await;
        let aws = Aws::with_config(&config, "us-east-1".into(), Duration::from_secs(10));
        fn refused<T: std::fmt::Debug, E: std::error::Error>(answer: Result<T, E>, action: &str) {
            let text = DisplayErrorContext(answer.unwrap_err()).to_string();
            assert!(
                text.contains(&format!("refused to call {action}")),
                "{text}"
            );
        }
        let vpc = aws.ec2.create_vpc().cidr_block("10.0.0.0/16");
        refused(vpc.send().await, "ec2:CreateVpc");
        refused(
            aws.iam.delete_role().role_name("r").send().await,
            "iam:DeleteRole",
        );
        let command = aws.ssm.send_command().document_name("AWS-RunShellScript");
        refused(command.send().await, "ssm:SendCommand");
        let assume = aws.sts.assume_role().role_arn("arn:aws:iam::1:role/r");
        refused(assume.send().await, "sts:AssumeRole");
        let scale = aws.autoscaling.delete_auto_scaling_group();
        refused(scale.send().await, "autoscaling:DeleteAutoScalingGroup");
        let put = aws.s3.put_object().bucket("b").key("k");
        refused(put.send().await, "s3:PutObject");
        let write = aws.logs.put_log_events().log_group_name("g");
        refused(write.send().await, "logs:PutLogEvents");
        // Decrypting would read session data, a secret: not a call this tool makes.
        let decrypt = aws.kms.decrypt().ciphertext_blob(vec![1].into());
        refused(decrypt.send().await, "kms:Decrypt");
        assert!(
            listener.accept().is_err(),
            "a refused call reached the network"
        );
        // The control: an allowed read does leave (and times out on the silent listener).
        let read = aws.ec2.describe_route_tables().send().await;
        assert!(read.is_err());
        assert!(
            listener.accept().is_ok(),
            "the allowed read never connected"
        );
    }

    #[test]
    fn the_allow_list_is_the_shipped_policy_and_only_reads() {
        let actions = allowed_actions();
        assert!(actions.len() >= 19, "{actions:?}");
        for action in actions {
            let (_, operation) = action.split_once(':').expect("service:Operation");
            let read = ["describe", "get", "list", "simulate"]
                .iter()
                .any(|verb| operation.starts_with(verb));
            assert!(read, "{action} is not a read");
        }
        // Reads, but of secrets: a parameter's value, its history, a decrypted key, a secret.
        for secret in [
            "ssm:getparameter",
            "ssm:getparameters",
            "ssm:getparametersbypath",
            "ssm:getparameterhistory",
            "kms:decrypt",
            "secretsmanager:getsecretvalue",
        ] {
            assert!(
                !actions.contains(&secret.to_string()),
                "{secret} reads a secret"
            );
        }
    }

    #[test]
    fn sdk_service_names_become_iam_prefixes() {
        let action =
            |op: &'static str, service: &'static str| iam_action(&Metadata::new(op, service));
        assert_eq!(action("CreateVpc", "EC2"), "ec2:CreateVpc");
        assert_eq!(
            action("DescribeAutoScalingGroups", "Auto Scaling"),
            "autoscaling:DescribeAutoScalingGroups"
        );
        assert_eq!(action("GetRole", "IAM"), "iam:GetRole");
        assert_eq!(
            action("DescribeLogGroups", "CloudWatch Logs"),
            "logs:DescribeLogGroups"
        );
        assert_eq!(
            action("GetBucketEncryption", "S3"),
            "s3:GetEncryptionConfiguration"
        );
    }

    #[test]
    fn bodies_cut_short_are_incomplete() {
        let whole = b"<?xml version=\"1.0\"?>\n<DescribeVpcAttributeResponse xmlns=\"x\">\
            <vpcId>vpc-1</vpcId><enableDnsHostnames><value>true</value></enableDnsHostnames>\
            </DescribeVpcAttributeResponse>\n";
        assert_eq!(incomplete(whole), None);
        for cut in [20, 60, 100, whole.len() - 3] {
            assert!(incomplete(&whole[..cut]).is_some(), "cut at {cut}");
        }
        assert_eq!(incomplete(br#"{"InstanceInformationList": []}"#), None);
        assert!(incomplete(br#"{"InstanceInformationList": [{"Inst"#).is_some());
        assert!(incomplete(b"").is_some());
        assert!(incomplete(b"<a><b/></c>").is_some());
    }
}
