//! How to connect once the verdict is healthy: the `aws ssm start-session` commands (a shell, port
//! forwarding) and the `~/.ssh/config` block for SSH over Session Manager, with the instance,
//! region, profile and document of the run filled in.

use crate::facts::{DEFAULT_DOCUMENT, REMOTE_HOST_DOCUMENT};
use crate::report::{Connect, ReportTarget};
use crate::text::{plain_word, shell_word};

/// What the run was asked with, beyond the report's target.
pub struct Invocation<'a> {
    /// `--profile`, when given.
    pub profile: Option<&'a str>,
    /// `--forward HOST:PORT`, when given.
    pub forward: Option<&'a (String, u16)>,
}

/// The ways to connect to `target`.
pub fn hints(target: &ReportTarget, asked: &Invocation) -> Connect {
    let region = shell_word(&target.region);
    let scope = match asked.profile {
        Some(profile) => format!(" --region {region} --profile {}", shell_word(profile)),
        None => format!(" --region {region}"),
    };
    let id = shell_word(&target.instance_id);
    // A shell document of the user's own is what the session was diagnosed for: the shell
    // command starts that one. AWS's own (SSH, port forwarding, commands) open no shell.
    let document = match target.document.as_str() {
        DEFAULT_DOCUMENT | REMOTE_HOST_DOCUMENT => String::new(),
        aws if aws.starts_with("AWS-") => String::new(),
        other => format!(" --document-name {}", shell_word(other)),
    };
    let port_forwarding = match asked.forward {
        Some((host, port)) if plain_word(host) => format!(
            "aws ssm start-session --target {id} --document-name {REMOTE_HOST_DOCUMENT} \
             --parameters '{{\"host\":[\"{host}\"],\"portNumber\":[\"{port}\"],\
             \"localPortNumber\":[\"{}\"]}}'{scope}",
            local_port(*port)
        ),
        _ => format!(
            "aws ssm start-session --target {id} --document-name AWS-StartPortForwardingSession \
             --parameters '{{\"portNumber\":[\"80\"],\"localPortNumber\":[\"8080\"]}}'{scope}"
        ),
    };
    // Inside `sh -c "…"` only plain words go; another profile name comes from the environment.
    let ssh_scope = match asked.profile {
        Some(profile) if !plain_word(profile) => format!(" --region {region}"),
        _ => scope.clone(),
    };
    let ssh_note = match asked.profile {
        Some(profile) if !plain_word(profile) => {
            format!(
                "\n# with AWS_PROFILE={} in ssh's environment",
                shell_word(profile)
            )
        }
        _ => String::new(),
    };
    Connect {
        session: format!("aws ssm start-session --target {id}{document}{scope}"),
        port_forwarding,
        ssh_config: format!(
            "Host i-* mi-*\n    ProxyCommand sh -c \"aws ssm start-session --target %h \
             --document-name AWS-StartSSHSession --parameters 'portNumber=%p'{ssh_scope}\"\
             {ssh_note}"
        ),
    }
}

/// The local end of a forwarded port: the same number, unless binding it needs root.
fn local_port(remote: u16) -> u16 {
    match remote {
        0..1024 => remote + 10000,
        _ => remote,
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
            command: Default::default(),
            parameter: None,
            role: None,
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
        assert_eq!(local_port(22), 10022);
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
        let c = hints(&target("AWS-StartSSHSession"), &plain);
        assert!(
            !c.session.contains("--document-name"),
            "no shell: {}",
            c.session
        );
        let odd = Invocation {
            profile: Some("a b;c"),
            forward: None,
        };
        let c = hints(&target(DEFAULT_DOCUMENT), &odd);
        assert!(c.session.ends_with("--profile 'a b;c'"), "{}", c.session);
        assert!(!c.ssh_config.contains("a b;c\""), "{}", c.ssh_config);
    }
}
