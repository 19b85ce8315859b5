//! Which instances to diagnose: explicit ids, an Auto Scaling group, tags, a VPC, or the region,
//! resolved with as few `DescribeInstances` calls as the filters allow.

use super::ec2::{instance, paged};
use super::{Aws, failure};
use crate::facts::{Fetch, Instance};
use aws_sdk_autoscaling::types::AutoScalingGroup;
use aws_sdk_ec2::types::Filter;
use futures::future::join_all;

/// What the user asked to diagnose; the filters combine (AND).
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub instance_ids: Vec<String>,
    pub asg: Option<String>,
    pub tags: Vec<(String, String)>,
    pub vpc: Option<String>,
    pub all: bool,
    /// Keep only instances SSM does not list as Online.
    pub unmanaged: bool,
    /// The ids came as a list on standard input: answer as a fleet, however many there were.
    pub from_stdin: bool,
}

impl Selection {
    /// Whether anything at all was asked for: an empty selection must not mean the whole region.
    pub fn names_targets(&self) -> bool {
        !self.instance_ids.is_empty()
            || self.asg.is_some()
            || !self.tags.is_empty()
            || self.vpc.is_some()
            || self.all
    }

    /// True when the answer is a fleet (a table of reports) rather than one instance's report.
    pub fn is_fleet(&self) -> bool {
        self.instance_ids.len() != 1
            || self.from_stdin
            || self.asg.is_some()
            || !self.tags.is_empty()
            || self.vpc.is_some()
            || self.all
    }
}

pub(super) struct Selected {
    pub found: Vec<Instance>,
    /// Ids asked for by name that AWS does not know.
    pub missing: Vec<String>,
}

/// EC2 accepts at most 200 values in one filter.
const IDS_PER_FILTER: usize = 200;
/// Instances that may still be diagnosed: terminated ones linger in listings for an hour.
const LIVE_STATES: [&str; 4] = ["pending", "running", "stopping", "stopped"];

impl Aws {
    pub(super) async fn select(&self, selection: &Selection) -> Fetch<Selected> {
        let ids = match &selection.asg {
            Some(name) => match self.group_members(name).await.take() {
                Ok(members) => members,
                Err(missing) => return missing,
            },
            None => selection.instance_ids.clone(),
        };
        let named = selection.asg.is_some() || !selection.instance_ids.is_empty();
        if named && ids.is_empty() {
            return Fetch::collected(Selected {
                found: vec![],
                missing: vec![],
            });
        }
        let mut filters = Vec::new();
        for (key, value) in &selection.tags {
            filters.push(
                Filter::builder()
                    .name(format!("tag:{key}"))
                    .values(value)
                    .build(),
            );
        }
        if let Some(vpc) = &selection.vpc {
            filters.push(Filter::builder().name("vpc-id").values(vpc).build());
        }
        if selection.instance_ids.is_empty() {
            filters.push(
                Filter::builder()
                    .name("instance-state-name")
                    .set_values(Some(LIVE_STATES.map(String::from).to_vec()))
                    .build(),
            );
        }
        let chunks: Vec<Vec<Filter>> = if named {
            ids.chunks(IDS_PER_FILTER)
                .map(|chunk| {
                    let mut f = filters.clone();
                    f.push(
                        Filter::builder()
                            .name("instance-id")
                            .set_values(Some(chunk.to_vec()))
                            .build(),
                    );
                    f
                })
                .collect()
        } else {
            vec![filters]
        };
        let pages = join_all(chunks.into_iter().map(|filters| async move {
            paged!(
                self,
                "ec2:DescribeInstances",
                self.ec2
                    .describe_instances()
                    .set_filters(Some(filters))
                    .max_results(1000),
                |p| p
                    .reservations()
                    .iter()
                    .flat_map(|r| r.instances().iter().map(|i| instance(i, r.owner_id())))
                    .collect::<Result<Vec<_>, _>>()
            )
        }))
        .await;
        let mut found = Vec::new();
        for page in pages {
            match page.take() {
                Ok(value) => found.extend(value),
                Err(missing) => return missing,
            }
        }
        let position = |id: &str| ids.iter().position(|x| x == id).unwrap_or(usize::MAX);
        found.sort_by(|a, b| {
            (position(&a.instance_id), &a.instance_id)
                .cmp(&(position(&b.instance_id), &b.instance_id))
        });
        found.dedup_by(|a, b| a.instance_id == b.instance_id);
        let missing = match named && selection.asg.is_none() {
            true => ids
                .iter()
                .filter(|id| !found.iter().any(|i| &&i.instance_id == id))
                .cloned()
                .collect(),
            false => vec![],
        };
        Fetch::collected(Selected { found, missing })
    }

    /// The InService members of an Auto Scaling group.
    async fn group_members(&self, name: &str) -> Fetch<Vec<String>> {
        let result = self
            .call(
                self.autoscaling
                    .describe_auto_scaling_groups()
                    .auto_scaling_group_names(name)
                    .send(),
            )
            .await;
        match result {
            Ok(out) => match out.auto_scaling_groups().first() {
                Some(group) => Fetch::collected(in_service(group)),
                None => Fetch::Failed {
                    action: "autoscaling:DescribeAutoScalingGroups".into(),
                    reason: format!(
                        "there is no Auto Scaling group named {name:?} in {}",
                        self.region
                    ),
                },
            },
            Err(e) => failure("autoscaling:DescribeAutoScalingGroups", e),
        }
    }
}

fn in_service(group: &AutoScalingGroup) -> Vec<String> {
    group
        .instances()
        .iter()
        .filter(|i| {
            i.lifecycle_state()
                .is_some_and(|s| s.as_str() == "InService")
        })
        .filter_map(|i| i.instance_id().map(str::to_string))
        .collect()
}
