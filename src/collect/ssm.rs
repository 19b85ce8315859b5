//! SSM questions: what the service knows of the instances' agents, and whether DHMC is on.

use super::ec2::paged;
use super::{Aws, Missing, failure, incomplete, required};
use crate::facts::{AgentInfo, DhmcSetting, Fetch};
use aws_sdk_ssm::primitives::{DateTime, DateTimeFormat};
use aws_sdk_ssm::types::{
    InstanceInformation, InstanceInformationFilter, InstanceInformationFilterKey,
};
use futures::future::join_all;
use std::collections::BTreeMap;
use std::time::SystemTime;

/// The service setting that turns on Default Host Management Configuration.
const DHMC_SETTING: &str = "/ssm/managed-instance/default-ec2-instance-management-role";

/// `DescribeInstanceInformation` answers at most 50 instances a call: ids go 50 a call.
const IDS_PER_CALL: usize = 50;

/// The ids asked in one call, and SSM's answer keyed by instance id.
type Chunk = (Vec<String>, Fetch<BTreeMap<String, AgentInfo>>);

/// SSM's answers for a set of instances, asked in chunks of ids; a failed chunk fails its ids only.
pub(super) struct Agents {
    chunks: Vec<Chunk>,
}

impl Agents {
    /// `None` inside means SSM does not know the instance.
    pub fn for_instance(&self, id: &str) -> Fetch<Option<AgentInfo>> {
        match self
            .chunks
            .iter()
            .find(|(ids, _)| ids.iter().any(|i| i == id))
        {
            Some((_, answer)) => answer.as_ref().map(|agents| agents.get(id).cloned()),
            None => Fetch::collected(None),
        }
    }

    pub fn is_online(&self, id: &str) -> bool {
        matches!(self.for_instance(id), Fetch::Collected { value: Some(a) } if a.ping_status == "Online")
    }
}

impl Aws {
    pub(super) async fn agents(&self, instance_ids: &[String]) -> Agents {
        let chunks = join_all(instance_ids.chunks(IDS_PER_CALL).map(|ids| async move {
            let filter = InstanceInformationFilter::builder()
                .key(InstanceInformationFilterKey::InstanceIds)
                .set_value_set(Some(ids.to_vec()))
                .build()
                .expect("key and values are set");
            let request = self
                .ssm
                .describe_instance_information()
                .instance_information_filter_list(filter)
                .max_results(50);
            let answer = paged!(self, "ssm:DescribeInstanceInformation", request, |p| p
                .instance_information_list()
                .iter()
                .map(agent)
                .collect::<Result<Vec<_>, _>>());
            let asked_at = DateTime::from(SystemTime::now())
                .fmt(DateTimeFormat::DateTime)
                .ok();
            let answer = answer.map(|list| {
                list.into_iter()
                    .map(|(id, info)| {
                        let asked_at = asked_at.clone();
                        (id, AgentInfo { asked_at, ..info })
                    })
                    .collect()
            });
            (ids.to_vec(), answer)
        }))
        .await;
        Agents { chunks }
    }

    /// Session Manager's own answer on whether the instance is ready for sessions.
    pub(super) async fn connection(&self, instance_id: &str) -> Fetch<String> {
        let request = self.ssm.get_connection_status().target(instance_id);
        match self.call(request.send()).await {
            Ok(out) => match out.status() {
                Some(status) => Fetch::collected(status.as_str().to_string()),
                None => incomplete("ssm:GetConnectionStatus", Missing("the Status".into())),
            },
            Err(e) => failure("ssm:GetConnectionStatus", e),
        }
    }

    pub(super) async fn dhmc(&self) -> Fetch<DhmcSetting> {
        match self
            .call(
                self.ssm
                    .get_service_setting()
                    .setting_id(DHMC_SETTING)
                    .send(),
            )
            .await
        {
            Ok(out) => match out.service_setting().and_then(|s| s.setting_value()) {
                Some(value) => {
                    // AWS answers "$None" while DHMC has never been configured.
                    let role = (!value.is_empty() && value != "$None").then(|| value.to_string());
                    Fetch::collected(DhmcSetting { role })
                }
                None => incomplete("ssm:GetServiceSetting", Missing("the SettingValue".into())),
            },
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_service_setting_not_found()) =>
            {
                Fetch::collected(DhmcSetting { role: None })
            }
            Err(e) => failure("ssm:GetServiceSetting", e),
        }
    }
}

fn agent(i: &InstanceInformation) -> Result<(String, AgentInfo), Missing> {
    let info = AgentInfo {
        ping_status: required(i.ping_status(), "an agent's PingStatus")?
            .as_str()
            .to_string(),
        last_ping: i
            .last_ping_date_time()
            .and_then(|t| t.fmt(DateTimeFormat::DateTime).ok()),
        agent_version: i.agent_version().map(str::to_string),
        is_latest_version: i.is_latest_version(),
        platform_name: i.platform_name().map(str::to_string),
        platform_version: i.platform_version().map(str::to_string),
        asked_at: None,
    };
    let id = required(i.instance_id(), "an agent's InstanceId")?;
    Ok((id.to_string(), info))
}
