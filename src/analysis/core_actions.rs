//! The API actions the agent calls on each service to keep a session channel open.

/// The actions the agent needs on `service` (`ssm`, `ssmmessages` or `ec2messages`).
pub fn actions_for(service: &str) -> &'static [&'static str] {
    match service {
        "ssm" => &["ssm:UpdateInstanceInformation"],
        "ssmmessages" => &[
            "ssmmessages:CreateControlChannel",
            "ssmmessages:CreateDataChannel",
            "ssmmessages:OpenControlChannel",
            "ssmmessages:OpenDataChannel",
        ],
        "ec2messages" => &[
            "ec2messages:AcknowledgeMessage",
            "ec2messages:DeleteMessage",
            "ec2messages:FailMessage",
            "ec2messages:GetEndpoint",
            "ec2messages:GetMessages",
            "ec2messages:SendReply",
        ],
        _ => &[],
    }
}

/// The resource IAM authorises the action against: only `ssm:UpdateInstanceInformation` supports
/// resource-level permissions (the instance); the message channels are authorised on `*`.
pub fn resource_for(action: &str, instance_arn: &str) -> String {
    if action == "ssm:UpdateInstanceInformation" {
        instance_arn.to_string()
    } else {
        "*".to_string()
    }
}
