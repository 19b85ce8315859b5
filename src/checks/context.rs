//! What the checks share: the facts, the network path derived once from them, and the values of
//! the remediation placeholders.

use crate::analysis::cidr::Cidr;
use crate::analysis::ip_ranges::IpRanges;
use crate::analysis::nacl::acl_for_subnet;
use crate::analysis::path::{self, Gap, Path};
use crate::checks::Reference;
use crate::checks::outcome::{Outcome, need};
use crate::facts::{AwsFacts, Command, Facts, Fetch, Instance, Task};
use std::cell::OnceCell;
use std::sync::LazyLock;

pub struct Context<'a> {
    pub facts: &'a Facts,
    /// The AWS section. The engine runs AWS-side checks only when it was observed; should one run
    /// without it anyway, it reads every fact as not collected rather than crash.
    pub aws: &'a AwsFacts,
    /// AWS's published ranges, when the user supplied them.
    pub ip_ranges: Option<&'a IpRanges>,
    path: OnceCell<Result<Path<'a>, Gap>>,
}

static NOT_OBSERVED: LazyLock<AwsFacts> =
    LazyLock::new(|| AwsFacts::unknown_because(&Fetch::not_applicable("not observed")));

/// What a check says when the path cannot be derived.
fn gap_outcome(gap: &Gap) -> Outcome {
    match gap {
        Gap::Unknown(missing) => match need(missing) {
            Err(unknown) => unknown,
            Ok(()) => Outcome::error("The network facts could not be read."),
        },
        Gap::NotFound => Outcome::skip("The instance was not found."),
        Gap::NotInVpc { instance_id } => Outcome::fail(format!(
            "{instance_id} is not in a VPC subnet (EC2-Classic or still pending): it has no \
             network path to check."
        )),
        Gap::NoRouteTable { vpc_id, subnet_id } => Outcome::error(format!(
            "No route table of {vpc_id} is associated with {subnet_id}, and the VPC has no main \
             table."
        )),
    }
}

impl<'a> Context<'a> {
    pub fn new(facts: &'a Facts, reference: &'a Reference) -> Context<'a> {
        Context {
            facts,
            aws: facts.aws.as_ref().unwrap_or(&NOT_OBSERVED),
            ip_ranges: reference.ip_ranges.as_deref(),
            path: OnceCell::new(),
        }
    }

    pub fn instance(&self) -> Option<&'a Instance> {
        self.aws.ec2_instance()
    }

    /// The network path, or the outcome explaining which fact it could not be derived from.
    pub fn path(&self) -> Result<&Path<'a>, Outcome> {
        self.path
            .get_or_init(|| {
                let only = match self.facts.command() {
                    Command::Param => Some("ssm"),
                    _ => None,
                };
                path::analyse(self.aws, &self.facts.target.region, only)
            })
            .as_ref()
            .map_err(gap_outcome)
    }

    /// The instance the run names, or the `fail` saying it does not exist (the `error` when it
    /// could not be read): for the checks of `param` and `patch`, which have no instance.found.
    pub fn named_instance(&self) -> Result<&'a Instance, Outcome> {
        need(&self.aws.instance)?.as_ref().ok_or_else(|| {
            Outcome::fail(format!(
                "Instance {} does not exist in {} (account {}).",
                self.facts.target.instance_id,
                self.facts.target.region,
                self.facts.account().unwrap_or("unknown")
            ))
        })
    }

    /// The instance's private address, or the `error` saying it has none.
    pub fn instance_ip(&self) -> Result<Cidr, Outcome> {
        self.path()?
            .instance_ip()
            .ok_or_else(|| Outcome::error("The instance has no private IP address."))
    }

    /// The ARN that IAM sees as the resource of `ssm:UpdateInstanceInformation`.
    pub fn instance_arn(&self) -> String {
        format!(
            "arn:aws:ec2:{}:{}:instance/{}",
            self.facts.target.region,
            self.facts.account().unwrap_or("*"),
            self.facts.target.instance_id
        )
    }

    /// The value of a remediation placeholder for this instance, when the facts hold it.
    pub fn placeholder(&self, name: &str) -> Option<String> {
        let f = self.facts;
        let instance = self.instance();
        let path = self.path().ok();
        let role = self.aws.iam.role.value();
        match name {
            "instance_id" => Some(f.target.instance_id.clone()),
            "region" => Some(f.target.region.clone()),
            "account" => f.account().map(str::to_string),
            // On the instance (`ssm-doctor local`), IMDS knows its VPC.
            "vpc_id" => match instance {
                Some(instance) => instance.vpc_id.clone(),
                None => f.instance.as_ref()?.metadata.value()?.vpc_id.clone(),
            },
            "subnet_id" => instance?.subnet_id.clone(),
            "private_ip" => instance?.private_ip.clone(),
            "security_group_id" => instance?.security_group_ids.first().cloned(),
            "route_table_id" => path.map(|p| p.route_table.id.clone()),
            "nacl_id" => {
                let subnet = instance?.subnet_id.as_deref()?;
                acl_for_subnet(self.aws.network.network_acls.value()?, subnet).map(|a| a.id.clone())
            }
            "profile_name" => self
                .aws
                .iam
                .instance_profile
                .value()
                .and_then(Option::as_ref)
                .map(|p| p.name.clone()),
            "role_name" => role.map(|r| r.name.clone()),
            "role_arn" => role.map(|r| r.arn.clone()),
            "endpoint_security_group_id" => path?
                .existing_endpoints()
                .find_map(|(_, e)| e.security_group_ids.first().cloned()),
            "endpoint_subnet_ids" => {
                let mut ids: Vec<&str> = path?
                    .existing_endpoints()
                    .flat_map(|(_, e)| e.subnet_ids.iter().map(String::as_str))
                    .collect();
                ids.sort_unstable();
                ids.dedup();
                (!ids.is_empty()).then(|| ids.join(" "))
            }
            "document" => Some(f.target.document.clone()),
            "forward_port" => Some(f.target.forward.as_ref()?.port.to_string()),
            "forward_address" => f
                .target
                .forward
                .as_ref()?
                .addresses
                .value()?
                .first()
                .cloned(),
            "bucket" | "log_group" => {
                let document = self.aws.session.document.value()?.as_ref()?;
                match name {
                    "bucket" => document.settings.s3_bucket.clone(),
                    _ => document.settings.log_group.clone(),
                }
            }
            // The setting may carry the role's path (`service-role/Name`).
            "dhmc_role" => {
                let role = self.aws.dhmc.value()?.role.as_deref()?;
                Some(crate::facts::last_segment(role).to_string())
            }
            "parameter_name" | "parameter_arn" | "parameter_path" => {
                let Some(Task::Param(asked)) = &f.task else {
                    return None;
                };
                let found = asked.parameter.value().and_then(Option::as_ref);
                Some(match name {
                    "parameter_name" => asked.name.clone(),
                    "parameter_path" => super::param::parent_path(&asked.name),
                    _ => match found.map(|p| p.arn.clone()).filter(|a| !a.is_empty()) {
                        Some(arn) => arn,
                        None => format!(
                            "arn:aws:ssm:{}:{}:parameter/{}",
                            f.target.region,
                            f.account()?,
                            asked.name.trim_start_matches('/')
                        ),
                    },
                })
            }
            "patch_group" | "operating_system" | "baseline_id" => {
                let Some(Task::Patch(patch)) = &f.task else {
                    return None;
                };
                match name {
                    "patch_group" => patch.patch_group.clone(),
                    "operating_system" => patch.operating_system.clone(),
                    _ => patch.baseline.value().map(|b| b.id.clone()),
                }
            }
            "operator_name" | "operator_kind" => {
                let identity = f.operator.as_ref()?.identity.value()?;
                Some(match name {
                    "operator_name" => identity.name.clone(),
                    _ => identity.kind.word().to_string(),
                })
            }
            _ => None,
        }
    }
}
