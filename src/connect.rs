//! How to connect once the verdict is healthy: the `aws ssm start-session` commands (a shell, port
//! forwarding) and the `~/.ssh/config` block for SSH over Session Manager, with the instance,
//! region, profile and document of the run filled in.

use crate::facts::{DEFAULT_DOCUMENT, REMOTE_HOST_DOCUMENT};
use crate::report::{Connect, ReportTarget};

/// What the run was asked with, beyond the report's target.
pub struct Invocation<'a> {
    /// `--profile`, when given.
    pub profile: Option<&'a str>,
    /// `--forward HOST:PORT`, when given.
    pub forward: Option<&'a (String, u16)>,
}

/// The ways to connect to `target`.
pub fn hints(target: &ReportTarget, asked: &Invocation) -> Connect {
    let scope = match asked.profile {
        Some(profile) => format!(" --region {} --profile {profile}", target.region),
        None => format!(" --region {}", target.region),
    };
    let id = &target.instance_id;
    // A document of the user's own (not the shell's default, not the forwarding one) is what the
    // session was diagnosed for: the shell command starts that one.
    let document = match target.document.as_str() {
        DEFAULT_DOCUMENT | REMOTE_HOST_DOCUMENT => String::new(),
        other => format!(" --document-name {other}"),
    };
    let port_forwarding = match asked.forward {
        Some((host, port)) => format!(
            "aws ssm start-session --target {id} --document-name {REMOTE_HOST_DOCUMENT} \
             --parameters '{{\"host\":[\"{host}\"],\"portNumber\":[\"{port}\"],\
             \"localPortNumber\":[\"{port}\"]}}'{scope}"
        ),
        None => format!(
            "aws ssm start-session --target {id} --document-name AWS-StartPortForwardingSession \
             --parameters '{{\"portNumber\":[\"80\"],\"localPortNumber\":[\"8080\"]}}'{scope}"
        ),
    };
    Connect {
        session: format!("aws ssm start-session --target {id}{document}{scope}"),
        port_forwarding,
        ssh_config: format!(
            "Host i-* mi-*\n    ProxyCommand sh -c \"aws ssm start-session --target %h \
             --document-name AWS-StartSSHSession --parameters 'portNumber=%p'{scope}\""
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(document: &str) -> ReportTarget {
        ReportTarget {
            instance_id: "i-0123456789abcdef0".into(),
            region: "eu-west-1".into(),
            account: Some("123456789012".into()),
            name: None,
            document: document.into(),
        }
    }

    #[test]
    fn the_commands_carry_the_runs_region_profile_and_document() {
        let plain = Invocation {
            profile: None,
            forward: None,
        };
        let c = hints(&target(DEFAULT_DOCUMENT), &plain);
        assert_eq!(
            c.session,
            "aws ssm start-session --target i-0123456789abcdef0 --region eu-west-1"
        );
        assert!(
            c.port_forwarding
                .contains("AWS-StartPortForwardingSession ")
        );
        assert!(
            c.ssh_config
                .starts_with("Host i-* mi-*\n    ProxyCommand sh -c \"aws ssm")
        );
        assert!(
            c.ssh_config
                .ends_with("'portNumber=%p' --region eu-west-1\"")
        );
        let forward = ("db.internal".to_string(), 5432);
        let asked = Invocation {
            profile: Some("prod"),
            forward: Some(&forward),
        };
        let c = hints(&target(REMOTE_HOST_DOCUMENT), &asked);
        assert!(!c.session.contains("--document-name"), "{}", c.session);
        assert!(c.session.ends_with("--region eu-west-1 --profile prod"));
        assert!(
            c.port_forwarding.contains(
                "'{\"host\":[\"db.internal\"],\"portNumber\":[\"5432\"],\"localPortNumber\":[\"5432\"]}'"
            ),
            "{}",
            c.port_forwarding
        );
        let c = hints(&target("Team-Shell"), &plain);
        assert!(c.session.contains("--document-name Team-Shell"));
    }
}
