//! Helpers shared by the integration tests that run the binary.

// Each test crate compiles its own copy of this module and uses only some of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(name: &str) -> PathBuf {
    root().join("fixtures").join(format!("{name}.json"))
}

/// The binary with an empty environment but PATH, and instance metadata off, so that nothing from
/// the developer's shell (AWS_PROFILE, AWS_REGION, credentials) leaks into a run; the network
/// probes ask a DNS server on loopback that is not there, so no question leaves the machine.
pub fn command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ssm-doctor"));
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("SSM_DOCTOR_RESOLVER", "127.0.0.1:9");
    command
}

/// Runs the binary with no AWS configuration at all, so any AWS call would fail loudly.
pub fn ssm_doctor(args: &[&str]) -> Output {
    ssm_doctor_with(args, &[])
}

/// Like [`ssm_doctor`], with only the given environment variables on top.
pub fn ssm_doctor_with(args: &[&str], env: &[(&str, &str)]) -> Output {
    command()
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("run ssm-doctor")
}
