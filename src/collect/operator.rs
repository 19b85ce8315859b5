//! The operator as IAM sees them: the user or role behind the caller, and every policy that
//! decides what it may do — attached, inline, its groups', its permissions boundary.

use super::ec2::paged;
use super::{Aws, Missing, failure};
use crate::analysis::session_arns::SessionArns;
use crate::facts::{
    Caller, Entity, Fetch, Identity, IdentityKind, Instance, OperatorFacts, Policy, RUN_AS_TAG,
    Simulated,
};
use aws_sdk_iam::types::{AttachedPolicy, ContextEntry, ContextKeyTypeEnum};
use futures::future::join_all;

/// Who a caller ARN (`sts:GetCallerIdentity`) is, as IAM names it; or why no IAM policy of theirs
/// can be read.
#[derive(Debug, PartialEq)]
enum Principal<'a> {
    User(&'a str),
    Role(&'a str),
    Other(&'static str),
}

/// `arn:aws:iam::111122223333:user/path/name` is the user `name`;
/// `arn:aws:sts::111122223333:assumed-role/Name/session` a session of the role `Name`.
fn principal_of(arn: &str) -> Principal<'_> {
    let resource = arn.splitn(6, ':').nth(5).unwrap_or_default();
    match resource.split_once('/') {
        Some(("user", path_and_name)) => {
            Principal::User(path_and_name.rsplit('/').next().unwrap_or(path_and_name))
        }
        Some(("assumed-role", rest)) => Principal::Role(rest.split('/').next().unwrap_or(rest)),
        Some(("federated-user", _)) => {
            Principal::Other("a federated user: the session policy it was given cannot be read")
        }
        _ if resource == "root" => {
            Principal::Other("the account's root user: no IAM policy binds it")
        }
        _ => Principal::Other("not an IAM user or a role session"),
    }
}

/// Each name read with `read`, all at once; or why the names are unknown.
async fn each<'a, T, F>(names: &'a Fetch<Vec<String>>, read: impl Fn(&'a str) -> F) -> Fetch<Vec<T>>
where
    F: std::future::Future<Output = T>,
{
    match names.as_ref().take() {
        Ok(names) => Fetch::collected(join_all(names.iter().map(|n| read(n))).await),
        Err(missing) => missing,
    }
}

/// The ARNs of attached managed policies, as a list call pages them.
fn attached_arns(policies: &[AttachedPolicy]) -> Result<Vec<String>, Missing> {
    Ok(policies
        .iter()
        .filter_map(|a| a.policy_arn().map(str::to_string))
        .collect())
}

/// The value of the `SSMSessionRunAs` tag among `tags`.
pub(super) fn run_as<'a>(mut tags: impl Iterator<Item = (&'a str, &'a str)>) -> Option<String> {
    tags.find(|(key, _)| *key == RUN_AS_TAG)
        .map(|(_, value)| value.to_string())
}

/// The instance's tags, as the condition keys of a session on it.
fn tag_context(instance: &Instance) -> Vec<ContextEntry> {
    let tags = instance.tags.iter().flatten();
    tags.flat_map(|(key, value)| {
        ["ssm:resourceTag/", "aws:ResourceTag/"]
            .map(|family| context_entry(&format!("{family}{key}"), value))
    })
    .collect()
}

fn context_entry(key: &str, value: &str) -> ContextEntry {
    ContextEntry::builder()
        .context_key_name(key)
        .context_key_type(ContextKeyTypeEnum::String)
        .context_key_values(value)
        .build()
}

/// The first missing value among `parts`, else all their values together.
fn all_of<T>(parts: Vec<Fetch<Vec<T>>>) -> Fetch<Vec<T>> {
    let mut policies = Vec::new();
    for part in parts {
        match part.take() {
            Ok(more) => policies.extend(more),
            Err(missing) => return missing,
        }
    }
    Fetch::collected(policies)
}

/// What the simulator is asked about: who asks, on which instance (when one is diagnosed), with
/// which document.
pub(super) struct Asked<'a> {
    pub caller: &'a Caller,
    pub instance: Option<&'a Instance>,
    pub document: &'a str,
}

fn not_simulated() -> Fetch<Vec<Simulated>> {
    Fetch::not_applicable("not simulated")
}

impl Aws {
    /// IAM's policy simulator on the session's requests, for the operator's user or role (`who`,
    /// once its entity is read): StartSession on the instance (its tags as context; only when one
    /// instance is diagnosed), on the document; ending and resuming their own sessions. (Not
    /// GenerateDataKey: the simulator sees no key policy unless given one, and a key policy may
    /// grant on its own.)
    async fn simulate(
        &self,
        session: &Asked<'_>,
        who: (IdentityKind, &str),
        entity: &Fetch<Entity>,
    ) -> Fetch<Vec<Simulated>> {
        let entity = match entity.as_ref().take() {
            Ok(entity) => entity,
            Err(missing) => return missing,
        };
        let instance = session.instance;
        let arns = SessionArns::new(
            session.caller,
            who,
            &self.region,
            instance.and_then(|i| i.owner_account.as_deref()),
            instance.map_or("", |i| &i.instance_id),
            session.document,
        );
        let actions = [
            "ssm:StartSession",
            "ssm:TerminateSession",
            "ssm:ResumeSession",
        ];
        let resources = [arns.document.clone(), arns.session.clone()];
        // The session is asked for in this region: an SCP may deny others (aws:RequestedRegion).
        let region = vec![context_entry("aws:RequestedRegion", &self.region)];
        let shared = self.simulation(&entity.arn, &actions, &resources, region.clone());
        let on_instance = async {
            match instance {
                Some(i) => {
                    let mut context = region.clone();
                    context.extend(tag_context(i));
                    let start = ["ssm:StartSession"];
                    self.simulation(
                        &entity.arn,
                        &start,
                        std::slice::from_ref(&arns.instance),
                        context,
                    )
                    .await
                }
                None => Fetch::collected(Vec::new()),
            }
        };
        let (shared, on_instance) = tokio::join!(shared, on_instance);
        all_of(vec![on_instance, shared])
    }

    async fn simulation(
        &self,
        source: &str,
        actions: &[&str],
        resources: &[String],
        context: Vec<ContextEntry>,
    ) -> Fetch<Vec<Simulated>> {
        let mut request = self
            .iam
            .simulate_principal_policy()
            .policy_source_arn(source)
            .set_context_entries(Some(context));
        for action in actions {
            request = request.action_names(*action);
        }
        for resource in resources {
            request = request.resource_arns(resource);
        }
        match self.call(request.send()).await {
            Ok(out) => Fetch::collected(
                out.evaluation_results()
                    .iter()
                    .map(|r| Simulated {
                        action: r.eval_action_name().to_string(),
                        resource: r.eval_resource_name().unwrap_or("*").to_string(),
                        decision: r.eval_decision().as_str().to_string(),
                        allowed_by_organizations: r
                            .organizations_decision_detail()
                            .map(|d| d.allowed_by_organizations()),
                    })
                    .collect(),
            ),
            Err(e) => failure("iam:SimulatePrincipalPolicy", e),
        }
    }

    /// The operator's facts, from the caller already asked for; with the simulator's answers on
    /// `session` (the instance when one is diagnosed, and the document), when given.
    pub(super) async fn operator(
        &self,
        caller: Fetch<Caller>,
        session: Option<(Option<&Instance>, &str)>,
    ) -> OperatorFacts {
        let unknown = || match session {
            Some(_) => Fetch::not_applicable("the operator's identity is unknown"),
            None => not_simulated(),
        };
        let (identity, simulation) = match caller.as_ref().take() {
            Err(missing) => (missing, unknown()),
            Ok(c) => {
                let asked = session.map(|(instance, document)| Asked {
                    caller: c,
                    instance,
                    document,
                });
                let identified = |(identity, simulation)| (Fetch::collected(identity), simulation);
                match principal_of(&c.arn) {
                    Principal::User(name) => {
                        identified(self.user_identity(name, asked.as_ref()).await)
                    }
                    Principal::Role(name) => {
                        identified(self.role_identity(name, asked.as_ref()).await)
                    }
                    Principal::Other(why) => (Fetch::not_applicable(why), unknown()),
                }
            }
        };
        OperatorFacts {
            caller,
            identity,
            machine: Fetch::not_applicable("probed apart from the AWS calls"),
            simulation,
            network: Fetch::not_applicable("probed apart from the AWS calls"),
        }
    }

    /// A role's facts and, as soon as the role is read, the simulator's answers beside its
    /// policies.
    async fn role_identity(
        &self,
        name: &str,
        asked: Option<&Asked<'_>>,
    ) -> (Identity, Fetch<Vec<Simulated>>) {
        let parts = self.role_parts(name).await;
        let entity = parts.role.as_ref().map(|r| Entity {
            arn: r.arn.clone(),
            permissions_boundary_arn: r.permissions_boundary_arn.clone(),
            run_as: r.run_as.clone(),
        });
        let boundary_arn = parts
            .role
            .as_ref()
            .map(|r| r.permissions_boundary_arn.clone());
        let attached = parts
            .attached
            .as_ref()
            .map(|list| list.iter().map(|(arn, _)| arn.clone()).collect::<Vec<_>>());
        let (attached_policies, inline_policies, permissions_boundary, simulation) = tokio::join!(
            self.managed_policies(attached),
            each(&parts.inline, |n| self.inline_policy(name, n)),
            self.boundary(&boundary_arn),
            self.simulate_if(asked, (IdentityKind::Role, name), &entity),
        );
        let identity = Identity {
            kind: IdentityKind::Role,
            name: name.to_string(),
            entity,
            attached_policies,
            inline_policies,
            group_policies: Fetch::not_applicable("a role belongs to no group"),
            permissions_boundary,
        };
        (identity, simulation)
    }

    async fn simulate_if(
        &self,
        asked: Option<&Asked<'_>>,
        who: (IdentityKind, &str),
        entity: &Fetch<Entity>,
    ) -> Fetch<Vec<Simulated>> {
        match asked {
            Some(asked) => self.simulate(asked, who, entity).await,
            None => not_simulated(),
        }
    }

    /// A user's facts (groups included) and, as soon as the user is read, the simulator's
    /// answers beside its policies.
    async fn user_identity(
        &self,
        name: &str,
        asked: Option<&Asked<'_>>,
    ) -> (Identity, Fetch<Vec<Simulated>>) {
        let (entity, attached, inline, groups) = tokio::join!(
            self.user(name),
            async {
                paged!(
                    self,
                    "iam:ListAttachedUserPolicies",
                    self.iam.list_attached_user_policies().user_name(name),
                    |p| attached_arns(p.attached_policies())
                )
            },
            async {
                paged!(
                    self,
                    "iam:ListUserPolicies",
                    self.iam.list_user_policies().user_name(name),
                    |p| Ok::<_, super::Missing>(p.policy_names().to_vec())
                )
            },
            async {
                paged!(
                    self,
                    "iam:ListGroupsForUser",
                    self.iam.list_groups_for_user().user_name(name),
                    |p| Ok::<_, super::Missing>(
                        p.groups()
                            .iter()
                            .map(|g| g.group_name().to_string())
                            .collect::<Vec<_>>()
                    )
                )
            },
        );
        let boundary_arn = entity.as_ref().map(|e| e.permissions_boundary_arn.clone());
        let (attached_policies, inline_policies, group_policies, permissions_boundary, simulation) = tokio::join!(
            self.managed_policies(attached),
            each(&inline, |n| self.user_policy(name, n)),
            async {
                match each(&groups, |g| self.group_policies(g)).await.take() {
                    Ok(parts) => all_of(parts),
                    Err(missing) => missing,
                }
            },
            self.boundary(&boundary_arn),
            self.simulate_if(asked, (IdentityKind::User, name), &entity),
        );
        let identity = Identity {
            kind: IdentityKind::User,
            name: name.to_string(),
            entity,
            attached_policies,
            inline_policies,
            group_policies,
            permissions_boundary,
        };
        (identity, simulation)
    }

    async fn managed_policies(&self, arns: Fetch<Vec<String>>) -> Fetch<Vec<Policy>> {
        each(&arns, |a| self.managed_policy(a)).await
    }

    /// The boundary named by `arn` (once the entity was read), or why there is none.
    async fn boundary(&self, arn: &Fetch<Option<String>>) -> Fetch<Policy> {
        match arn.as_ref().take() {
            Ok(Some(arn)) => Fetch::collected(self.managed_policy(arn).await),
            Ok(None) => Fetch::not_applicable("no permissions boundary"),
            Err(missing) => missing,
        }
    }

    async fn user(&self, name: &str) -> Fetch<Entity> {
        match self.call(self.iam.get_user().user_name(name).send()).await {
            Ok(out) => match out.user() {
                Some(u) => Fetch::collected(Entity {
                    arn: u.arn().to_string(),
                    permissions_boundary_arn: u
                        .permissions_boundary()
                        .and_then(|b| b.permissions_boundary_arn())
                        .map(str::to_string),
                    run_as: run_as(u.tags().iter().map(|t| (t.key(), t.value()))),
                }),
                None => Fetch::Failed {
                    action: "iam:GetUser".into(),
                    reason: "the response held no user".into(),
                },
            },
            Err(e) => failure("iam:GetUser", e),
        }
    }

    async fn user_policy(&self, user: &str, name: &str) -> Policy {
        let request = self.iam.get_user_policy().user_name(user).policy_name(name);
        let policy = self.inline("iam:GetUserPolicy", request.send(), |o| o.policy_document());
        Policy::inline(name, policy.await)
    }

    /// A group's attached and inline policies; inline ones are named `group/name`.
    async fn group_policies(&self, group: &str) -> Fetch<Vec<Policy>> {
        let (attached, inline) = tokio::join!(
            async {
                paged!(
                    self,
                    "iam:ListAttachedGroupPolicies",
                    self.iam.list_attached_group_policies().group_name(group),
                    |p| attached_arns(p.attached_policies())
                )
            },
            async {
                paged!(
                    self,
                    "iam:ListGroupPolicies",
                    self.iam.list_group_policies().group_name(group),
                    |p| Ok::<_, super::Missing>(p.policy_names().to_vec())
                )
            },
        );
        let (attached, inline) = tokio::join!(self.managed_policies(attached), async {
            each(&inline, |n| self.group_policy(group, n)).await
        });
        all_of(vec![attached, inline])
    }

    async fn group_policy(&self, group: &str, name: &str) -> Policy {
        let request = self
            .iam
            .get_group_policy()
            .group_name(group)
            .policy_name(name);
        let policy = self.inline("iam:GetGroupPolicy", request.send(), |o| {
            o.policy_document()
        });
        Policy::inline(format!("{group}/{name}"), policy.await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_arns_name_the_iam_identity() {
        let cases = [
            (
                "arn:aws:iam::111122223333:user/oncall",
                Principal::User("oncall"),
            ),
            (
                "arn:aws:iam::111122223333:user/ops/team/oncall",
                Principal::User("oncall"),
            ),
            (
                "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_0123/alice@example.com",
                Principal::Role("AWSReservedSSO_Admin_0123"),
            ),
            (
                "arn:aws-cn:sts::111122223333:assumed-role/ci/build-7",
                Principal::Role("ci"),
            ),
        ];
        for (arn, principal) in cases {
            assert_eq!(principal_of(arn), principal, "{arn}");
        }
        assert!(matches!(
            principal_of("arn:aws:iam::111122223333:root"),
            Principal::Other(why) if why.contains("root")
        ));
        assert!(matches!(
            principal_of("arn:aws:sts::111122223333:federated-user/bob"),
            Principal::Other(why) if why.contains("federated")
        ));
    }
}
