//! The resources of the operator's session requests, as IAM names them: what the operator check
//! evaluates and what IAM's policy simulator is asked about, from the same words.

use crate::facts::{Caller, IdentityKind};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionArns {
    /// `arn:<partition>:ec2:<region>:<account>:instance/<id>`.
    pub instance: String,
    /// The document's: AWS's own (`AWS-…`) belong to no account; an ARN given is kept.
    pub document: String,
    /// One of the operator's own sessions: ids start with the user's or role session's name.
    pub session: String,
}

impl SessionArns {
    /// `instance_account` is the instance owner's, when known; else the caller's.
    pub fn new(
        caller: &Caller,
        (kind, name): (IdentityKind, &str),
        region: &str,
        instance_account: Option<&str>,
        instance_id: &str,
        document: &str,
    ) -> SessionArns {
        // The caller's partition (aws, aws-cn, aws-us-gov) is the resources'.
        let partition = caller.arn.split(':').nth(1).unwrap_or("aws");
        let account = &caller.account;
        let document = if document.starts_with("arn:") {
            document.to_string()
        } else if document.starts_with("AWS-") {
            format!("arn:{partition}:ssm:{region}::document/{document}")
        } else {
            format!("arn:{partition}:ssm:{region}:{account}:document/{document}")
        };
        let prefix = match kind {
            IdentityKind::User => name,
            IdentityKind::Role => caller.arn.rsplit('/').next().unwrap_or(name),
        };
        SessionArns {
            instance: format!(
                "arn:{partition}:ec2:{region}:{}:instance/{instance_id}",
                instance_account.unwrap_or(account)
            ),
            document,
            session: format!(
                "arn:{partition}:ssm:{region}:{account}:session/{prefix}-0123456789abcdef0"
            ),
        }
    }
}
