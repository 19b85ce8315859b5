//! The probe boundary: the only code that looks at the machine ssm-doctor runs on (programs on
//! `PATH`, the network path to AWS's endpoints, and the instance from inside). Like `collect/` for AWS, it
//! turns what it finds into facts — a program that is missing, crashes or hangs becomes evidence,
//! never an abort — and nothing else in the tool runs a process.

use crate::facts::{Fetch, Machine, Program};
use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub mod agent;
pub mod imds;
pub mod instance;
pub mod net;
pub mod operator;

/// The plugin the AWS CLI hands sessions to.
pub const PLUGIN: &str = "session-manager-plugin";
/// The AWS CLI, which starts sessions (`aws ssm start-session`).
pub const AWS_CLI: &str = "aws";

/// How long a program may take to print its version: the plugin answers in milliseconds.
const VERSION_TIMEOUT: Duration = Duration::from_secs(5);

/// The IPv4 addresses `host` has, as this machine's resolver answers; an address is its own.
pub fn resolve(host: &str) -> Fetch<Vec<String>> {
    if let Ok(address) = host.parse::<std::net::Ipv4Addr>() {
        return Fetch::collected(vec![address.to_string()]);
    }
    match std::net::ToSocketAddrs::to_socket_addrs(&(host, 0)) {
        Ok(found) => {
            let mut addresses: Vec<String> = found
                .filter(|a| a.is_ipv4())
                .map(|a| a.ip().to_string())
                .collect();
            addresses.sort();
            addresses.dedup();
            Fetch::collected(addresses)
        }
        Err(e) => Fetch::Failed {
            action: format!("resolving {host} on this machine"),
            reason: e.to_string(),
        },
    }
}

/// This machine, as the session tools see it: through the process's own `PATH`.
pub fn machine() -> Machine {
    machine_on(&std::env::var_os("PATH").unwrap_or_default())
}

/// This machine with `path` as `PATH`.
pub fn machine_on(path: &OsStr) -> Machine {
    machine_within(path, VERSION_TIMEOUT)
}

fn machine_within(path: &OsStr, timeout: Duration) -> Machine {
    Machine {
        os: std::env::consts::OS.to_string(),
        arch: std::env::consts::ARCH.to_string(),
        plugin: find(path, PLUGIN).map(|found| {
            let (version, crashed) = version_of(&found, timeout);
            Program {
                version,
                crashed,
                path: found.display().to_string(),
            }
        }),
        aws_cli: find(path, AWS_CLI).map(|found| found.display().to_string()),
    }
}

/// The first executable file named `name` (with the platform's suffix) in `path`.
pub fn find(path: &OsStr, name: &str) -> Option<PathBuf> {
    let file = format!("{name}{}", std::env::consts::EXE_SUFFIX);
    // An empty entry would mean the current directory: a shell may search it, ssm-doctor won't.
    std::env::split_paths(path)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(&file))
        .find(|candidate| is_executable(candidate))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// What `program --version` prints, or why the probe could not tell; and how the program ended
/// when it crashed (then there is no version to read).
fn version_of(program: &Path, timeout: Duration) -> (Fetch<String>, Option<String>) {
    let ran = match run(program, &["--version"], timeout) {
        Ok(ran) => ran,
        Err(failed) => return (failed, None),
    };
    let first_line = |text: &str| text.lines().next().unwrap_or_default().trim().to_string();
    match (ran.status.success(), first_line(&ran.stdout)) {
        (true, version) if !version.is_empty() => (Fetch::collected(version), None),
        (true, _) => (
            Fetch::Failed {
                action: format!("{} --version", program.display()),
                reason: "it printed no version".to_string(),
            },
            None,
        ),
        (false, _) => (
            Fetch::not_applicable("it crashed"),
            Some(format!("{}: {}", ran.status, first_line(&ran.stderr))),
        ),
    }
}

/// How a program run by a probe ended, and the start of what it printed.
pub struct Ran {
    pub status: std::process::ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `program` with `args`, no input, for at most `timeout`; a program that cannot start or
/// does not end in time is the `Failed` fetch saying so.
pub fn run<T>(program: &Path, args: &[&str], timeout: Duration) -> Result<Ran, Fetch<T>> {
    let action = format!("{} {}", program.display(), args.join(" "));
    let failed = |reason: String| Fetch::Failed {
        action: action.clone(),
        reason,
    };
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| failed(format!("cannot run it: {e}")))?;
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() < timeout => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(failed(format!(
                    "no answer within {} ms",
                    timeout.as_millis()
                )));
            }
            Err(e) => return Err(failed(format!("cannot wait for it: {e}"))),
        }
    };
    let read = |stream: Option<&mut dyn Read>| {
        let mut text = String::new();
        if let Some(stream) = stream {
            let _ = stream.take(64 * 1024).read_to_string(&mut text);
        }
        text
    };
    let stdout = read(child.stdout.as_mut().map(|s| s as &mut dyn Read));
    let stderr = read(child.stderr.as_mut().map(|s| s as &mut dyn Read));
    Ok(Ran {
        status,
        stdout,
        stderr,
    })
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn addresses_are_their_own_and_names_resolve_here() {
        assert_eq!(
            resolve("10.0.2.15").value(),
            Some(&vec!["10.0.2.15".to_string()])
        );
        // The hosts file answers localhost: no DNS question leaves the machine.
        let local = resolve("localhost");
        assert!(
            local
                .value()
                .is_some_and(|a| a.contains(&"127.0.0.1".to_string())),
            "{local:?}"
        );
    }

    /// A directory holding a fake plugin made of `script` (a shell body), and maybe `aws`.
    fn bin_dir(script: Option<&str>, with_cli: bool) -> tempdir::Dir {
        let dir = tempdir::Dir::new();
        let put = |name: &str, body: &str| {
            let file = dir.path().join(name);
            std::fs::write(&file, format!("#!/bin/sh\n{body}\n")).unwrap();
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).unwrap();
        };
        if let Some(body) = script {
            put(PLUGIN, body);
        }
        if with_cli {
            put(AWS_CLI, "echo aws-cli/2.15.0");
        }
        dir
    }

    mod tempdir {
        /// A fresh directory, removed when dropped.
        pub struct Dir(std::path::PathBuf);
        impl Dir {
            pub fn new() -> Dir {
                use std::sync::atomic::{AtomicU32, Ordering};
                static NEXT: AtomicU32 = AtomicU32::new(0);
                let n = NEXT.fetch_add(1, Ordering::Relaxed);
                let dir = std::env::temp_dir()
                    .join(format!("ssm-doctor-probe-{}-{n}", std::process::id()));
                std::fs::create_dir_all(&dir).unwrap();
                Dir(dir)
            }
            pub fn path(&self) -> &std::path::Path {
                &self.0
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    #[test]
    fn a_plugin_on_path_is_found_and_asked_its_version() {
        let dir = bin_dir(Some("echo 1.2.764.0"), true);
        let m = machine_on(dir.path().as_os_str());
        let plugin = m.plugin.unwrap();
        assert_eq!(plugin.version, Fetch::collected("1.2.764.0".to_string()));
        assert!(plugin.path.ends_with(PLUGIN));
        assert!(m.aws_cli.unwrap().ends_with(AWS_CLI));
    }

    #[test]
    fn missing_crashing_silent_and_hanging_plugins_are_facts() {
        let empty = bin_dir(None, false);
        let m = machine_on(empty.path().as_os_str());
        assert!(m.plugin.is_none() && m.aws_cli.is_none());

        let crashing = bin_dir(Some("echo 'segmentation fault' >&2; exit 139"), false);
        let crashed = machine_on(crashing.path().as_os_str())
            .plugin
            .unwrap()
            .crashed
            .unwrap();
        assert!(
            crashed.contains("139") && crashed.contains("segmentation fault"),
            "{crashed}"
        );

        let hanging = bin_dir(Some("sleep 5"), false);
        let short = Duration::from_millis(200);
        let plugin = machine_within(hanging.path().as_os_str(), short)
            .plugin
            .unwrap();
        let problem = plugin.version.problem().unwrap();
        assert!(problem.contains("no answer within 200 ms"), "{problem}");
        assert_eq!(plugin.crashed, None, "a hang is not known to be a crash");

        let silent = bin_dir(Some("exit 0"), false);
        let version = machine_on(silent.path().as_os_str())
            .plugin
            .unwrap()
            .version;
        assert!(version.problem().unwrap().contains("no version"));

        // Not executable: not found, as a shell would not run it.
        let plain = empty.path().join(PLUGIN);
        std::fs::write(&plain, "1.2.764.0").unwrap();
        assert!(machine_on(empty.path().as_os_str()).plugin.is_none());
    }
}
