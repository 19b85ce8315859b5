//! SSM questions: what the service knows of the instance's agent, and whether DHMC is on.

use super::{Aws, failure};
use crate::facts::{AgentInfo, DhmcSetting, Fetch};
use aws_sdk_ssm::primitives::DateTimeFormat;
use aws_sdk_ssm::types::{InstanceInformationFilter, InstanceInformationFilterKey};

/// The service setting that turns on Default Host Management Configuration.
pub const DHMC_SETTING: &str = "/ssm/managed-instance/default-ec2-instance-management-role";

impl Aws {
    pub(super) async fn agent(&self, instance_id: &str) -> Fetch<Option<AgentInfo>> {
        let filter = InstanceInformationFilter::builder()
            .key(InstanceInformationFilterKey::InstanceIds)
            .value_set(instance_id)
            .build()
            .expect("key and values are set");
        self.tally();
        let result = self
            .ssm
            .describe_instance_information()
            .instance_information_filter_list(filter)
            .send()
            .await;
        match result {
            Ok(out) => Fetch::collected(
                out.instance_information_list()
                    .iter()
                    .find(|i| i.instance_id() == Some(instance_id))
                    .map(|i| AgentInfo {
                        ping_status: i
                            .ping_status()
                            .map_or("Unknown", |p| p.as_str())
                            .to_string(),
                        last_ping: i
                            .last_ping_date_time()
                            .and_then(|t| t.fmt(DateTimeFormat::DateTime).ok()),
                        agent_version: i.agent_version().map(str::to_string),
                        is_latest_version: i.is_latest_version(),
                        platform_name: i.platform_name().map(str::to_string),
                    }),
            ),
            Err(e) => failure("ssm:DescribeInstanceInformation", e),
        }
    }

    pub(super) async fn dhmc(&self) -> Fetch<DhmcSetting> {
        self.tally();
        match self
            .ssm
            .get_service_setting()
            .setting_id(DHMC_SETTING)
            .send()
            .await
        {
            Ok(out) => {
                let value = out
                    .service_setting()
                    .and_then(|s| s.setting_value())
                    .unwrap_or_default();
                // AWS answers "$None" while DHMC has never been configured.
                let role = (!value.is_empty() && value != "$None").then(|| value.to_string());
                Fetch::collected(DhmcSetting { role })
            }
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
