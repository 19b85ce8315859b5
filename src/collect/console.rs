//! The instance's serial console, read for the SSM agent's own lines when SSM does not list the
//! agent as Online: whether it started, and what it complained about.

use super::{Aws, failure};
use crate::facts::{Console, Fetch};
use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::primitives::DateTimeFormat;

/// How many of the agent's lines are kept: the latest ones tell what it does now.
const KEPT_LINES: usize = 200;

impl Aws {
    pub(super) async fn console(&self, instance_id: &str) -> Fetch<Console> {
        // The latest output needs a Nitro instance; older types only keep the boot's.
        let latest = self
            .ec2
            .get_console_output()
            .instance_id(instance_id)
            .latest(true);
        let answer = match self.call(latest.send()).await {
            Err(e) if e.code() == Some("UnsupportedOperation") => {
                let boot = self.ec2.get_console_output().instance_id(instance_id);
                self.call(boot.send()).await
            }
            other => other,
        };
        match answer {
            Ok(out) => Fetch::collected(Console {
                captured: out
                    .timestamp()
                    .and_then(|t| t.fmt(DateTimeFormat::DateTime).ok()),
                ..read(out.output().unwrap_or_default())
            }),
            Err(e) => failure("ec2:GetConsoleOutput", e),
        }
    }
}

/// The agent's lines of a base64-encoded console output.
fn read(encoded: &str) -> Console {
    let bytes = aws_smithy_types::base64::decode(encoded.trim()).unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.to_ascii_lowercase().contains("ssm"))
        .collect();
    let kept = &lines[lines.len().saturating_sub(KEPT_LINES)..];
    Console {
        captured: None,
        empty: text.trim().is_empty(),
        agent_lines: kept.iter().map(|l| l.trim_end().to_string()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::read;

    #[test]
    fn only_the_agents_latest_lines_are_kept() {
        let mut text =
            String::from("Linux version 6.1\n[  OK  ] Started amazon-ssm-agent.service.\n");
        for n in 0..250 {
            text.push_str(&format!("amazon-ssm-agent[1]: retry {n}\n"));
        }
        let console = read(&aws_smithy_types::base64::encode(text.as_bytes()));
        assert!(!console.empty);
        assert_eq!(console.agent_lines.len(), 200);
        assert!(console.agent_lines.last().unwrap().ends_with("retry 249"));
        assert!(read("").empty);
    }
}
