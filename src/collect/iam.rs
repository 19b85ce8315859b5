//! IAM questions: instance profiles, their roles, and every policy document that shapes a role's
//! effective permissions (attached, inline, boundary), each asked once however many instances share it.

use super::ec2::paged;
use super::ledger::{Ledger, Scope};
use super::{Aws, Missing, decode_policy, failure, incomplete, required};
use crate::facts::{Fetch, IamFacts, InstanceProfile, Policy, Role, last_segment};
use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use futures::future::join_all;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

/// What the role itself says: its trust and boundary, and which policies it has.
pub(super) struct RoleParts {
    pub role: Fetch<Role>,
    /// (ARN, name) of each attached managed policy.
    pub attached: Fetch<Vec<(String, String)>>,
    pub inline: Fetch<Vec<String>>,
}

impl Aws {
    /// The IAM facts of each instance profile ARN, and of the role Default Host Management
    /// Configuration hands out (`dhmc_role`, the setting's value) when instances need it.
    pub(super) async fn iam_for_profiles(
        &self,
        profile_arns: BTreeSet<&str>,
        dhmc_role: Option<&str>,
    ) -> (BTreeMap<String, IamFacts>, Option<IamFacts>) {
        let dhmc_role = dhmc_role.map(last_segment);
        // The profile names its role: no guess from the profile's name, which Terraform and
        // CloudFormation rarely make the role's (a wrong guess costs three refused calls).
        let profiles = join_all(profile_arns.iter().map(|arn| async move {
            let scope = Scope::Profile(arn.to_string());
            let profile = Ledger::within(scope, self.instance_profile(last_segment(arn))).await;
            let role_name = profile
                .value()
                .and_then(Option::as_ref)
                .and_then(|p| p.role_names.first())
                .cloned();
            (arn.to_string(), profile, role_name)
        }));
        // DHMC's role is known from the setting: read while the profiles are.
        let role = |name: String| async move {
            let parts = Ledger::within(Scope::Role(name.clone()), self.role_parts(&name)).await;
            (name, parts)
        };
        let (profiles, dhmc_parts) = tokio::join!(profiles, async {
            match dhmc_role {
                Some(name) => Some(role(name.to_string()).await),
                None => None,
            }
        });
        let mut roles: BTreeMap<String, RoleParts> = dhmc_parts.into_iter().collect();
        let wanted: BTreeSet<String> = profiles
            .iter()
            .filter_map(|(_, _, role)| role.clone())
            .filter(|r| !roles.contains_key(r))
            .collect();
        roles.extend(join_all(wanted.into_iter().map(role)).await);

        let mut managed_arns: BTreeSet<&str> = BTreeSet::new();
        let mut inline_names: BTreeSet<(&str, &str)> = BTreeSet::new();
        for (role, parts) in &roles {
            managed_arns.extend(
                parts
                    .attached
                    .value()
                    .into_iter()
                    .flatten()
                    .map(|(arn, _)| arn.as_str()),
            );
            managed_arns.extend(
                parts
                    .role
                    .value()
                    .and_then(|r| r.permissions_boundary_arn.as_deref()),
            );
            inline_names.extend(
                parts
                    .inline
                    .value()
                    .into_iter()
                    .flatten()
                    .map(|n| (role.as_str(), n.as_str())),
            );
        }
        let (managed, inline) = tokio::join!(
            join_all(managed_arns.into_iter().map(|arn| async move {
                let scope = Scope::Policy(arn.to_string());
                (
                    arn.to_string(),
                    Ledger::within(scope, self.managed_policy(arn)).await,
                )
            })),
            join_all(inline_names.into_iter().map(|(role, name)| async move {
                let scope = Scope::Policy(format!("{role}/{name}"));
                let policy = Ledger::within(scope, self.inline_policy(role, name)).await;
                ((role.to_string(), name.to_string()), policy)
            })),
        );
        let managed: BTreeMap<String, Policy> = managed.into_iter().collect();
        let inline: BTreeMap<(String, String), Policy> = inline.into_iter().collect();

        let dhmc = dhmc_role.map(|name| {
            let no_profile = Fetch::not_applicable("no instance profile is attached");
            assemble(no_profile, name, &roles[name], &managed, &inline)
        });
        let profiles = profiles
            .into_iter()
            .map(|(arn, profile, role_name)| {
                let facts = match role_name.and_then(|r| roles.get(&r).map(|parts| (r, parts))) {
                    Some((name, parts)) => assemble(profile, &name, parts, &managed, &inline),
                    None => {
                        // What the profile's denial or failure hides is unknown for that reason.
                        let cause = profile.absent().unwrap_or_else(|| {
                            Fetch::not_applicable(match profile.value() {
                                Some(None) => "the instance profile does not exist",
                                _ => "the instance profile holds no role",
                            })
                        });
                        IamFacts {
                            instance_profile: profile,
                            ..IamFacts::unknown_because(&cause)
                        }
                    }
                };
                (arn, facts)
            })
            .collect();
        (profiles, dhmc)
    }

    async fn instance_profile(&self, name: &str) -> Fetch<Option<InstanceProfile>> {
        match self
            .call(
                self.iam
                    .get_instance_profile()
                    .instance_profile_name(name)
                    .send(),
            )
            .await
        {
            Ok(out) => match out.instance_profile() {
                Some(p) => Fetch::collected(Some(InstanceProfile {
                    name: p.instance_profile_name().to_string(),
                    arn: p.arn().to_string(),
                    role_names: p
                        .roles()
                        .iter()
                        .map(|r| r.role_name().to_string())
                        .collect(),
                })),
                None => Fetch::Failed {
                    action: "iam:GetInstanceProfile".into(),
                    reason: "the response held no instance profile".into(),
                },
            },
            // Deleted after it was associated: EC2 keeps the association, the agent gets nothing.
            Err(e) if e.as_service_error().and_then(|s| s.code()) == Some("NoSuchEntity") => {
                Fetch::collected(None)
            }
            Err(e) => failure("iam:GetInstanceProfile", e),
        }
    }

    pub(super) async fn role_parts(&self, name: &str) -> RoleParts {
        let (role, attached, inline) = tokio::join!(
            self.role(name),
            async {
                paged!(
                    self,
                    "iam:ListAttachedRolePolicies",
                    self.iam.list_attached_role_policies().role_name(name),
                    |p| p
                        .attached_policies()
                        .iter()
                        .map(|a| Ok((
                            required(a.policy_arn(), "an attached policy's PolicyArn")?.to_string(),
                            a.policy_name().unwrap_or_default().to_string()
                        )))
                        .collect::<Result<Vec<_>, _>>()
                )
            },
            async {
                paged!(
                    self,
                    "iam:ListRolePolicies",
                    self.iam.list_role_policies().role_name(name),
                    |p| Ok::<_, super::Missing>(p.policy_names().to_vec())
                )
            },
        );
        // A role that does not exist has no policies either: one answer, not three failures.
        if let Fetch::NotApplicable { reason } = &role {
            return RoleParts {
                attached: Fetch::not_applicable(reason.clone()),
                inline: Fetch::not_applicable(reason.clone()),
                role,
            };
        }
        RoleParts {
            role,
            attached,
            inline,
        }
    }

    pub(super) async fn role(&self, name: &str) -> Fetch<Role> {
        match self.call(self.iam.get_role().role_name(name).send()).await {
            Ok(out) => match out.role() {
                Some(r) => match r.assume_role_policy_document() {
                    Some(trust) => decode_policy("iam:GetRole", trust),
                    None => incomplete(
                        "iam:GetRole",
                        Missing("the AssumeRolePolicyDocument".into()),
                    ),
                }
                .map(|trust| Role {
                    name: r.role_name().to_string(),
                    arn: r.arn().to_string(),
                    trust_policy: trust,
                    permissions_boundary_arn: r
                        .permissions_boundary()
                        .and_then(|b| b.permissions_boundary_arn())
                        .map(str::to_string),
                    run_as: super::operator::run_as(r.tags().iter().map(|t| (t.key(), t.value()))),
                }),
                None => Fetch::Failed {
                    action: "iam:GetRole".into(),
                    reason: "the response held no role".into(),
                },
            },
            Err(e) if e.as_service_error().and_then(|s| s.code()) == Some("NoSuchEntity") => {
                Fetch::not_applicable(format!("no role named {name} exists"))
            }
            Err(e) => failure("iam:GetRole", e),
        }
    }

    /// A managed policy's default version: `GetPolicy` names it; its document is one AWS ships
    /// with the tool, one read earlier by this `Aws` (a version never changes), or `GetPolicyVersion`'s.
    pub(super) async fn managed_policy(&self, arn: &str) -> Policy {
        let version = match self
            .call(self.iam.get_policy().policy_arn(arn).send())
            .await
        {
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
            Fetch::Collected { value } => match self.documents.known(arn, &value) {
                Some(document) => Fetch::collected(document),
                None => self.policy_version(arn, value).await,
            },
            other => other.map(|_| serde_json::Value::Null),
        };
        Policy {
            name: last_segment(arn).to_string(),
            arn: Some(arn.to_string()),
            document,
        }
    }

    async fn policy_version(&self, arn: &str, version: String) -> Fetch<serde_json::Value> {
        let request = self
            .iam
            .get_policy_version()
            .policy_arn(arn)
            .version_id(&version);
        let document = match self.call(request.send()).await {
            Ok(out) => match out.policy_version().and_then(|v| v.document()) {
                Some(doc) => decode_policy("iam:GetPolicyVersion", doc),
                None => Fetch::Failed {
                    action: "iam:GetPolicyVersion".into(),
                    reason: format!("{arn}: the response held no document"),
                },
            },
            Err(e) => failure("iam:GetPolicyVersion", e),
        };
        if let Some(read) = document.value() {
            self.documents.remember(arn, version, read.clone());
        }
        document
    }

    pub(super) async fn inline_policy(&self, role: &str, name: &str) -> Policy {
        let request = self.iam.get_role_policy().role_name(role).policy_name(name);
        let policy = self.inline("iam:GetRolePolicy", request.send(), |o| o.policy_document());
        Policy::inline(name, policy.await)
    }

    /// An inline policy's document (of a role, user or group), read with `request`.
    pub(super) async fn inline<O, E>(
        &self,
        action: &str,
        request: impl Future<Output = Result<O, SdkError<E, HttpResponse>>>,
        document: impl FnOnce(&O) -> &str,
    ) -> Fetch<serde_json::Value>
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        match self.call(request).await {
            Ok(out) => decode_policy(action, document(&out)),
            Err(e) => failure(action, e),
        }
    }
}

/// One profile's facts from its role's parts; `role_name` is the name the parts were asked by,
/// known even when `GetRole` itself was refused. `managed` and `inline` hold every policy that
/// `parts` names, keyed as asked.
fn assemble(
    profile: Fetch<Option<InstanceProfile>>,
    role_name: &str,
    parts: &RoleParts,
    managed: &BTreeMap<String, Policy>,
    inline: &BTreeMap<(String, String), Policy>,
) -> IamFacts {
    let permissions_boundary = match parts.role.as_ref().take() {
        Ok(Role {
            permissions_boundary_arn: Some(arn),
            ..
        }) => Fetch::collected(managed[arn].clone()),
        Ok(_) => Fetch::not_applicable("the role has no permissions boundary"),
        Err(missing) => missing,
    };
    IamFacts {
        instance_profile: profile,
        role: parts.role.clone(),
        attached_policies: parts
            .attached
            .as_ref()
            .map(|list| list.iter().map(|(arn, _)| managed[arn].clone()).collect()),
        inline_policies: parts.inline.as_ref().map(|names| {
            names
                .iter()
                .map(|n| inline[&(role_name.to_string(), n.clone())].clone())
                .collect()
        }),
        permissions_boundary,
    }
}
