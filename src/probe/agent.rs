//! The SSM agent on the instance: its service as the service manager reports it (systemd, snap,
//! Windows), the proxy its service is configured with, and the error lines of its log.

use super::{find, run};
use crate::facts::{AgentLog, Fetch, ProxySettings, Service};
use std::ffi::OsStr;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a service manager may take to answer.
const MANAGER_TIMEOUT: Duration = Duration::from_secs(10);

/// The agent's units: the package's, and the snap's (Ubuntu).
const SYSTEMD_UNITS: [&str; 2] = [
    "amazon-ssm-agent.service",
    "snap.amazon-ssm-agent.amazon-ssm-agent.service",
];

/// The agent's service, asked of systemd (both units), else snap, else Windows' `sc`.
pub fn service(path: &OsStr) -> Fetch<Service> {
    if let Some(systemctl) = find(path, "systemctl") {
        let mut seen = Vec::new();
        for unit in SYSTEMD_UNITS {
            let args = [
                "show",
                unit,
                "--no-pager",
                "--property=LoadState,ActiveState,SubState",
            ];
            let ran = match run(&systemctl, &args, MANAGER_TIMEOUT) {
                Ok(ran) => ran,
                Err(failed) => return failed,
            };
            // No systemd to ask (a container, a chroot): nothing is known, not "not installed".
            if !ran.status.success() || !ran.stdout.contains("LoadState=") {
                return Fetch::Failed {
                    action: format!("systemctl show {unit}"),
                    reason: first_line(&ran.stderr, &ran.status),
                };
            }
            let property = |name: &str| {
                ran.stdout
                    .lines()
                    .find_map(|l| l.strip_prefix(&format!("{name}=")))
                    .unwrap_or_default()
                    .trim()
                    .to_string()
            };
            let (load, active, sub) = (
                property("LoadState"),
                property("ActiveState"),
                property("SubState"),
            );
            if load == "loaded" || load == "masked" {
                return Fetch::collected(Service {
                    manager: "systemd".to_string(),
                    installed: true,
                    running: active == "active",
                    state: match load.as_str() {
                        "masked" => format!("{unit} masked: it cannot start"),
                        _ => format!("{unit} {active} ({sub})"),
                    },
                });
            }
            seen.push(format!(
                "{unit}: {}",
                if load.is_empty() { "unknown" } else { &load }
            ));
        }
        return Fetch::collected(Service {
            manager: "systemd".to_string(),
            installed: false,
            running: false,
            state: seen.join(", "),
        });
    }
    if let Some(snap) = find(path, "snap") {
        return match run(&snap, &["services", "amazon-ssm-agent"], MANAGER_TIMEOUT) {
            Ok(ran) if ran.status.success() => {
                // "amazon-ssm-agent.amazon-ssm-agent  enabled  active  -"
                let row = ran.stdout.lines().nth(1).unwrap_or_default();
                let current = row.split_whitespace().nth(2).unwrap_or("unknown");
                Fetch::collected(Service {
                    manager: "snap".to_string(),
                    installed: true,
                    running: current == "active",
                    state: row.split_whitespace().collect::<Vec<_>>().join(" "),
                })
            }
            Ok(ran) => Fetch::collected(Service {
                manager: "snap".to_string(),
                installed: false,
                running: false,
                state: ran
                    .stderr
                    .lines()
                    .next()
                    .unwrap_or("not installed")
                    .trim()
                    .to_string(),
            }),
            Err(failed) => failed,
        };
    }
    if let Some(sc) = find(path, "sc") {
        return match run(&sc, &["query", "AmazonSSMAgent"], MANAGER_TIMEOUT) {
            Ok(ran) => {
                let state = ran
                    .stdout
                    .lines()
                    .find(|l| l.trim_start().starts_with("STATE"))
                    .and_then(|l| l.split_whitespace().last())
                    .unwrap_or("")
                    .to_string();
                Fetch::collected(Service {
                    manager: "windows".to_string(),
                    installed: !state.is_empty(),
                    running: state == "RUNNING",
                    state: if state.is_empty() {
                        "not installed".to_string()
                    } else {
                        state
                    },
                })
            }
            Err(failed) => failed,
        };
    }
    Fetch::Failed {
        action: "asking the service manager about amazon-ssm-agent".to_string(),
        reason: "none of systemctl, snap or sc is on PATH".to_string(),
    }
}

/// The first line a failed program printed, or how it ended.
fn first_line(stderr: &str, status: &std::process::ExitStatus) -> String {
    stderr
        .lines()
        .next()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| status.to_string())
}

/// The systemd files that set the agent's environment, under `root`, in the order systemd
/// applies them: the unit (one in /etc replaces the vendor's), then its drop-ins by name.
fn unit_files(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for unit in SYSTEMD_UNITS {
        let unit_file = [
            "etc/systemd/system",
            "usr/lib/systemd/system",
            "lib/systemd/system",
        ]
        .iter()
        .map(|dir| root.join(dir).join(unit))
        .find(|f| f.is_file());
        files.extend(unit_file);
        let mut confs: Vec<PathBuf> = ["etc/systemd/system", "run/systemd/system"]
            .iter()
            .filter_map(|dir| std::fs::read_dir(root.join(dir).join(format!("{unit}.d"))).ok())
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "conf"))
            .collect();
        confs.sort_by_key(|p| p.file_name().map(|n| n.to_os_string()));
        files.extend(confs);
    }
    files
}

/// The proxy variables each of the agent's systemd files sets (`Environment=`, in order), one
/// entry per file that sets any, as written (credentials included: the probes use them).
pub fn service_proxies(root: &Path) -> Vec<ProxySettings> {
    unit_files(root)
        .into_iter()
        .filter_map(|file| {
            let text = std::fs::read_to_string(&file).ok()?;
            let variables: Vec<(String, String)> = text
                .lines()
                .filter_map(|l| l.trim().strip_prefix("Environment="))
                .flat_map(assignments)
                .filter(|(name, _)| is_proxy_variable(name))
                .collect();
            (!variables.is_empty()).then(|| ProxySettings {
                source: file.display().to_string(),
                variables,
            })
        })
        .collect()
}

pub fn is_proxy_variable(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    ["http_proxy", "https_proxy", "no_proxy"].contains(&lower.as_str())
}

/// `NAME=value` pairs of an `Environment=` line: space-separated, each maybe in double quotes.
fn assignments(line: &str) -> Vec<(String, String)> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' | '\t' if !quoted => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            _ => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
        .into_iter()
        .filter_map(|w| {
            let (name, value) = w.split_once('=')?;
            Some((name.to_string(), value.to_string()))
        })
        .collect()
}

/// The agent's log files under `root`, on this platform.
pub fn log_files(root: &Path) -> Vec<PathBuf> {
    let dir = if cfg!(windows) {
        root.join("ProgramData/Amazon/SSM/Logs")
    } else {
        root.join("var/log/amazon/ssm")
    };
    vec![dir.join("amazon-ssm-agent.log"), dir.join("errors.log")]
}

/// How much of each log's end is read: recent enough, small enough.
const TAIL_BYTES: u64 = 512 * 1024;
/// The error lines kept, newest last.
const KEPT_LINES: usize = 50;

/// Lines the agent writes when it starts: what came before is history.
const START_MARKERS: [&str; 2] = ["Starting Core Agent", "amazon-ssm-agent - v"];

/// The time a log line begins with (`2026-11-28 09:00:05`), when it begins with one.
fn stamp(line: &str) -> Option<&str> {
    let stamp = line.get(..19)?;
    let digits = stamp.bytes().filter(u8::is_ascii_digit).count();
    (digits == 14 && stamp.as_bytes()[4] == b'-').then_some(stamp)
}

/// The lines at the end of the agent's logs written since it last started, oldest first, each
/// once: every `ERROR`, and the warnings a known signature explains (others are routine).
pub fn log(files: &[PathBuf]) -> Fetch<AgentLog> {
    let mut read = Vec::new();
    let mut all: Vec<String> = Vec::new();
    for file in files {
        let text = match tail(file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                let hint = if e.kind() == std::io::ErrorKind::PermissionDenied {
                    " (run ssm-doctor local with sudo)"
                } else {
                    ""
                };
                return Fetch::Failed {
                    action: format!("reading {}", file.display()),
                    reason: format!("{e}{hint}"),
                };
            }
        };
        read.push(file.display().to_string());
        all.extend(text.lines().map(str::to_string));
    }
    if read.is_empty() {
        let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
        return Fetch::not_applicable(format!("no agent log at {}", names.join(" or ")));
    }
    // Both files begin their lines with the time: sorted, they read in the order written.
    all.sort();
    all.dedup();
    let since = all
        .iter()
        .rev()
        .find(|l| START_MARKERS.iter().any(|m| l.contains(m)))
        .and_then(|l| stamp(l))
        .map(str::to_string);
    let known = |line: &str| crate::catalog::signatures().iter().any(|s| s.matches(line));
    let mut lines: Vec<String> = all
        .into_iter()
        .filter(|l| match (&since, stamp(l)) {
            (Some(since), Some(at)) => at >= since.as_str(),
            _ => true,
        })
        .filter(|l| {
            let error = l.contains(" ERROR ") || l.contains("[ERROR]");
            let warning = l.contains(" WARN ") || l.contains("[WARN]");
            error || (warning && known(l))
        })
        .collect();
    let keep_from = lines.len().saturating_sub(KEPT_LINES);
    Fetch::collected(AgentLog {
        files: read,
        lines: lines.split_off(keep_from),
        since,
    })
}

fn tail(file: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(file)?;
    let length = f.metadata()?.len();
    let start = length.saturating_sub(TAIL_BYTES);
    f.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes)?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    // A read from the middle of a file starts mid-line: that line is dropped.
    Ok(match start {
        0 => text,
        _ => text
            .split_once('\n')
            .map(|(_, rest)| rest.to_string())
            .unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_lines_hold_quoted_and_bare_assignments() {
        let got = assignments(
            r#""https_proxy=http://u:p@proxy:3128" no_proxy=169.254.169.254,localhost FOO="a b""#,
        );
        assert_eq!(
            got,
            vec![
                (
                    "https_proxy".to_string(),
                    "http://u:p@proxy:3128".to_string()
                ),
                (
                    "no_proxy".to_string(),
                    "169.254.169.254,localhost".to_string()
                ),
                ("FOO".to_string(), "a b".to_string()),
            ]
        );
    }
}
