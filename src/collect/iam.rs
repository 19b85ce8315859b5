//! IAM questions: the instance profile, its role, and every policy document that shapes the role's
//! effective permissions (attached, inline, boundary).

use super::ec2::paged;
use super::{Aws, decode_policy, failure};
use crate::facts::{Fetch, IamFacts, InstanceProfile, Policy, Role};
use futures::future::join_all;

/// `arn:aws:iam::123456789012:instance-profile/path/Name` → `Name` (same for policy ARNs).
fn last_segment(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

impl Aws {
    pub(super) async fn iam_facts(&self, profile_arn: Option<&str>) -> IamFacts {
        let Some(arn) = profile_arn else {
            return IamFacts::unknown("no instance profile is attached");
        };
        let instance_profile = self.instance_profile(last_segment(arn)).await;
        let Some(role_name) = instance_profile
            .value()
            .and_then(|p| p.role_names.first())
            .cloned()
        else {
            let why = match instance_profile.problem() {
                Some(p) => format!("the instance profile could not be read ({p})"),
                None => "the instance profile holds no role".to_string(),
            };
            return IamFacts {
                instance_profile,
                ..IamFacts::unknown(&why)
            };
        };
        let (role, attached_policies, inline_policies) = tokio::join!(
            self.role(&role_name),
            self.attached_policies(&role_name),
            self.inline_policies(&role_name),
        );
        let permissions_boundary = match role.value().map(|r| r.permissions_boundary_arn.as_deref())
        {
            Some(Some(boundary)) => Fetch::collected(
                self.managed_policy(boundary.to_string(), last_segment(boundary).to_string())
                    .await,
            ),
            Some(None) => Fetch::not_applicable("the role has no permissions boundary"),
            None => Fetch::not_applicable("the role could not be read"),
        };
        IamFacts {
            instance_profile,
            role,
            attached_policies,
            inline_policies,
            permissions_boundary,
        }
    }

    async fn instance_profile(&self, name: &str) -> Fetch<InstanceProfile> {
        self.tally();
        match self
            .iam
            .get_instance_profile()
            .instance_profile_name(name)
            .send()
            .await
        {
            Ok(out) => match out.instance_profile() {
                Some(p) => Fetch::collected(InstanceProfile {
                    name: p.instance_profile_name().to_string(),
                    arn: p.arn().to_string(),
                    role_names: p
                        .roles()
                        .iter()
                        .map(|r| r.role_name().to_string())
                        .collect(),
                }),
                None => Fetch::Failed {
                    action: "iam:GetInstanceProfile".into(),
                    reason: "the response held no instance profile".into(),
                },
            },
            Err(e) => failure("iam:GetInstanceProfile", e),
        }
    }

    async fn role(&self, name: &str) -> Fetch<Role> {
        self.tally();
        match self.iam.get_role().role_name(name).send().await {
            Ok(out) => match out.role() {
                Some(r) => decode_policy(
                    "iam:GetRole",
                    r.assume_role_policy_document().unwrap_or("{}"),
                )
                .map(|trust| Role {
                    name: r.role_name().to_string(),
                    arn: r.arn().to_string(),
                    trust_policy: trust,
                    permissions_boundary_arn: r
                        .permissions_boundary()
                        .and_then(|b| b.permissions_boundary_arn())
                        .map(str::to_string),
                }),
                None => Fetch::Failed {
                    action: "iam:GetRole".into(),
                    reason: "the response held no role".into(),
                },
            },
            Err(e) => failure("iam:GetRole", e),
        }
    }

    async fn attached_policies(&self, role: &str) -> Fetch<Vec<Policy>> {
        let listed = paged!(
            self,
            "iam:ListAttachedRolePolicies",
            self.iam.list_attached_role_policies().role_name(role),
            |p| p
                .attached_policies()
                .iter()
                .filter_map(|a| Some((
                    a.policy_arn()?.to_string(),
                    a.policy_name().unwrap_or_default().to_string()
                )))
                .collect::<Vec<_>>()
        );
        match listed {
            Fetch::Collected { value } => Fetch::collected(
                join_all(
                    value
                        .into_iter()
                        .map(|(arn, name)| self.managed_policy(arn, name)),
                )
                .await,
            ),
            other => other.map(|_| Vec::new()),
        }
    }

    /// A managed policy's default version: `GetPolicy` names it, `GetPolicyVersion` holds it.
    async fn managed_policy(&self, arn: String, name: String) -> Policy {
        self.tally();
        let version = match self.iam.get_policy().policy_arn(&arn).send().await {
            Ok(out) => match out.policy().and_then(|p| p.default_version_id()) {
                Some(v) => Fetch::collected(v.to_string()),
                None => Fetch::Failed {
                    action: "iam:GetPolicy".into(),
                    reason: format!("{arn} has no default version"),
                },
            },
            Err(e) => failure("iam:GetPolicy", e),
        };
        let document = match version {
            Fetch::Collected { value } => {
                self.tally();
                match self
                    .iam
                    .get_policy_version()
                    .policy_arn(&arn)
                    .version_id(value)
                    .send()
                    .await
                {
                    Ok(out) => match out.policy_version().and_then(|v| v.document()) {
                        Some(doc) => decode_policy("iam:GetPolicyVersion", doc),
                        None => Fetch::Failed {
                            action: "iam:GetPolicyVersion".into(),
                            reason: format!("{arn}: the response held no document"),
                        },
                    },
                    Err(e) => failure("iam:GetPolicyVersion", e),
                }
            }
            other => other.map(|_| serde_json::Value::Null),
        };
        Policy {
            name,
            arn: Some(arn),
            document,
        }
    }

    async fn inline_policies(&self, role: &str) -> Fetch<Vec<Policy>> {
        let names = paged!(
            self,
            "iam:ListRolePolicies",
            self.iam.list_role_policies().role_name(role),
            |p| p.policy_names().to_vec()
        );
        match names {
            Fetch::Collected { value } => Fetch::collected(
                join_all(value.into_iter().map(|name| async move {
                    self.tally();
                    let document = match self
                        .iam
                        .get_role_policy()
                        .role_name(role)
                        .policy_name(&name)
                        .send()
                        .await
                    {
                        Ok(out) => decode_policy("iam:GetRolePolicy", out.policy_document()),
                        Err(e) => failure("iam:GetRolePolicy", e),
                    };
                    Policy {
                        name,
                        arn: None,
                        document,
                    }
                }))
                .await,
            ),
            other => other.map(|_| Vec::new()),
        }
    }
}
