//! Secrets never reach the screen: what a credential helper prints about its failure may hold the
//! very token it handles, and ssm-doctor's error line leaves it out.

mod common;

use common::ssm_doctor_with;

#[test]
fn a_failing_credential_process_never_shows_its_output() {
    let dir = std::env::temp_dir().join(format!("ssm-doctor-secrets-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config");
    std::fs::write(
        &config,
        "[profile leaky]\nregion = eu-west-1\ncredential_process = sh -c 'echo \
         token=PLANTED-STDERR-SECRET >&2; echo PLANTED-STDOUT-SECRET; exit 1'\n",
    )
    .unwrap();
    let out = ssm_doctor_with(
        &[
            "i-0123456789abcdef0",
            "--profile",
            "leaky",
            "--max-attempts",
            "1",
            "--timeout",
            "2",
        ],
        &[
            ("AWS_CONFIG_FILE", config.to_str().unwrap()),
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                dir.join("none").to_str().unwrap(),
            ),
            // Nothing listens there: were credentials found after all, no request leaves the host.
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:1"),
        ],
    );
    std::fs::remove_dir_all(&dir).unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    let all = format!("{}{err}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("credentials"), "{err}");
    assert!(err.contains("not shown"), "{err}");
    assert!(
        !all.contains("PLANTED"),
        "a secret reached the output: {all}"
    );
}
