//! Malformed and hostile input, through the real binary. Every case is refused with exit 2 and a
//! short message (clap's usage error, or one `ssm-doctor: error:` line), or, for odd policy
//! documents inside a snapshot, diagnosed with a full report, no panic and no confident pass.
//!
//! No case may reach the network: each run's AWS endpoint is a loopback listener the test owns, and
//! after every run the listener must hold no connection. Adding a case is one line in a table.

mod common;

use serde_json::{Map, Value, json};
use std::ffi::{OsStr, OsString};
use std::io::{ErrorKind, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// The longest `ssm-doctor: error:` line the contract allows ("at most ~300 characters").
const MAX_LINE: usize = 300;

/// How long one policy case may take: generous for a debug build on a slow shared machine, yet it
/// catches evaluation that is quadratic in the size of a document (a 10,000-key condition).
const POLICY_TIME_LIMIT: Duration = Duration::from_secs(5);

/// A run still going after this is hung (e.g. waiting on the endpoint, which never answers).
const WATCHDOG: Duration = Duration::from_secs(30);

/// What a case must produce.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// clap's usage error: exit 2, `error: ...`, ending with "For more information, try '--help'."
    Usage,
    /// Exit 2 and exactly one short `ssm-doctor: error: ...` line on stderr.
    Line,
    /// Either a [`Expect::Line`] refusal or a report: the contract leaves the choice to the tool.
    LineOrReport,
}

/// A private temp directory, and a loopback "AWS endpoint" that nothing may ever connect to.
struct Sandbox {
    dir: PathBuf,
    endpoint: TcpListener,
    env: Vec<(&'static str, OsString)>,
}

impl Sandbox {
    /// `label` keeps the directories of tests running in parallel apart.
    fn new(label: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "ssm-doctor-bad-input-{}-{label}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("create the sandbox directory");
        let endpoint = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        // Never accepted while a run goes on: after it, accept() must find nothing waiting.
        endpoint
            .set_nonblocking(true)
            .expect("make the listener non-blocking");
        let url = format!(
            "http://{}",
            endpoint.local_addr().expect("listener address")
        );
        let env: Vec<(&str, OsString)> = vec![
            ("AWS_ENDPOINT_URL", url.into()),
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE".into()),
            ("AWS_SECRET_ACCESS_KEY", "bad-input-test-secret".into()),
            // Files that do not exist, and a HOME without ~/.aws: never the developer's profiles.
            ("AWS_CONFIG_FILE", dir.join("no-config").into_os_string()),
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                dir.join("no-credentials").into_os_string(),
            ),
            ("HOME", dir.clone().into_os_string()),
        ];
        Sandbox { dir, endpoint, env }
    }

    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::write(&path, bytes).expect("write a test input");
        path
    }

    /// Runs the binary on `args`, feeding it `stdin`; fails the case if it hangs or connects to the
    /// AWS endpoint. Returns the output and how long the run took.
    fn run<S: AsRef<OsStr>>(
        &self,
        case: &str,
        args: &[S],
        stdin: Option<&[u8]>,
    ) -> (Output, Duration) {
        let started = Instant::now();
        let mut command = common::command();
        command.args(args);
        for (key, value) in &self.env {
            command.env(key, value);
        }
        let mut child = command
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start ssm-doctor");
        let input = stdin.unwrap_or_default().to_vec();
        let pipe = child.stdin.take();
        let writer = thread::spawn(move || {
            if let Some(mut pipe) = pipe {
                // It may exit without reading it all (a usage error): a broken pipe is fine.
                pipe.write_all(&input).ok();
            }
        });
        let stdout = drain(child.stdout.take());
        let stderr = drain(child.stderr.take());
        let status = loop {
            if let Some(status) = child.try_wait().expect("poll ssm-doctor") {
                break status;
            }
            if started.elapsed() > WATCHDOG {
                child.kill().ok();
                child.wait().ok();
                panic!("{case}: still running after {WATCHDOG:?}, killed");
            }
            thread::sleep(Duration::from_millis(5));
        };
        let elapsed = started.elapsed();
        writer.join().expect("stdin writer");
        let output = Output {
            status,
            stdout: stdout.join().expect("stdout reader"),
            stderr: stderr.join().expect("stderr reader"),
        };
        match self.endpoint.accept() {
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => panic!("{case}: cannot poll the endpoint listener: {e}"),
            Ok((_, peer)) => panic!("{case}: ssm-doctor connected to the AWS endpoint from {peer}"),
        }
        (output, elapsed)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

/// Reads a pipe to its end on a thread, so that a chatty child never blocks on a full pipe.
fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            pipe.read_to_end(&mut bytes)
                .expect("read ssm-doctor's output");
        }
        bytes
    })
}

/// `--facts PATH --output json`.
fn facts_args(path: &Path) -> [&OsStr; 4] {
    [
        OsStr::new("--facts"),
        path.as_os_str(),
        OsStr::new("--output"),
        OsStr::new("json"),
    ]
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).expect("read a bundled JSON file");
    serde_json::from_str(&text).expect("a bundled JSON file parses")
}

/// A copy of `facts`, changed, as the bytes of a snapshot file.
fn edited(facts: &Value, change: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut facts = facts.clone();
    change(&mut facts);
    facts.to_string().into_bytes()
}

/// The start of a long text, for failure messages that stay readable.
fn excerpt(text: &str) -> String {
    text.chars().take(400).collect()
}

fn assert_outcome(case: &str, out: &Output, expect: Expect) {
    assert_no_panic(case, out);
    match expect {
        Expect::Usage => assert_usage_error(case, out),
        Expect::Line => assert_one_line(case, out),
        Expect::LineOrReport if out.status.code() == Some(2) => assert_one_line(case, out),
        Expect::LineOrReport => {
            parse_report(case, out);
        }
    }
}

fn assert_no_panic(case: &str, out: &Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.code() != Some(101) && !stderr.contains("panicked at"),
        "{case}: panicked: {}",
        excerpt(&stderr)
    );
    assert!(
        out.status.code().is_some(),
        "{case}: killed by a signal ({})",
        out.status
    );
}

fn assert_usage_error(case: &str, out: &Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{case}: exit code; stderr: {}",
        excerpt(&stderr)
    );
    assert!(out.stdout.is_empty(), "{case}: printed to stdout");
    assert!(
        stderr.starts_with("error: "),
        "{case}: not clap's usage error: {:?}",
        excerpt(&stderr)
    );
    assert!(
        stderr
            .trim_end()
            .ends_with("For more information, try '--help'."),
        "{case}: {:?}",
        excerpt(&stderr)
    );
    assert!(
        stderr.lines().count() <= 12,
        "{case}: not a few lines: {:?}",
        excerpt(&stderr)
    );
}

fn assert_one_line(case: &str, out: &Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{case}: exit code; stderr: {}",
        excerpt(&stderr)
    );
    assert!(out.stdout.is_empty(), "{case}: printed to stdout");
    let line = stderr.strip_suffix('\n').unwrap_or(&stderr);
    assert!(
        line.starts_with("ssm-doctor: error: "),
        "{case}: {:?}",
        excerpt(line)
    );
    // One line: no newline inside, and no terminal control sequence echoed from the input.
    assert!(
        !line.chars().any(char::is_control),
        "{case}: not one clean line: {:?}",
        excerpt(line)
    );
    let length = line.chars().count();
    assert!(
        length <= MAX_LINE,
        "{case}: {length} characters: {:?}",
        excerpt(line)
    );
}

/// A diagnosis: exit 0, 1 or 3 and one JSON document on stdout.
fn parse_report(case: &str, out: &Output) -> Value {
    assert!(
        matches!(out.status.code(), Some(0 | 1 | 3)),
        "{case}: exit {:?}; stderr: {}",
        out.status.code(),
        excerpt(&String::from_utf8_lossy(&out.stderr))
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{case}: stdout is not one JSON document: {e}"))
}

/// The report's finding for check `id`.
fn finding<'r>(report: &'r Value, id: &str) -> &'r Value {
    report["checks"]
        .as_array()
        .expect("a report lists its checks")
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("the report has no {id} check"))
}

#[test]
fn malformed_arguments_are_usage_errors_before_any_call() {
    use Expect::{Line, Usage};
    let sandbox = Sandbox::new("args");
    let long = "a".repeat(10_000);
    let (name_128, name_129) = ("p".repeat(128), "p".repeat(129));
    let (asg_255, asg_256) = ("g".repeat(255), "g".repeat(256));
    let tag_longest = format!("{}={}", "k".repeat(128), "v".repeat(256));
    let key_129 = format!("{}=v", "k".repeat(129));
    let value_257 = format!("k={}", "v".repeat(257));
    // One case a line, which rustfmt would spread over five.
    #[rustfmt::skip]
    let cases: &[(&str, &[&str], Expect)] = &[
        ("--region empty", &["--region", ""], Usage),
        ("--region upper case", &["--region", "US-EAST-1"], Usage),
        ("--region trailing space", &["--region", "us-east-1 "], Usage),
        ("--region leading space", &["--region", " us-east-1"], Usage),
        ("--region underscores", &["--region", "us_east_1"], Usage),
        ("--region, a bad one of two", &["--region", "us-east-1,mars"], Usage),
        ("--region, space after comma", &["--region", "us-east-1, eu-west-1"], Usage),
        ("--region, empty item", &["--region", "us-east-1,"], Usage),
        ("several regions for one id", &["--region", "us-east-1,eu-west-1", "i-0123456789abcdef0"], Line),
        ("all regions for one id", &["--region", "all", "i-0123456789abcdef0"], Line),
        ("--region without a number", &["--region", "eu-west"], Usage),
        ("--region three digits", &["--region", "us-east-100"], Usage),
        ("--region path traversal", &["--region", "../etc"], Usage),
        ("--region shell injection", &["--region", "us-east-1;rm -rf"], Usage),
        ("--region two lines", &["--region", "us-east-1\nus-west-2"], Usage),
        ("--region accented", &["--region", "eu-wëst-1"], Usage),
        ("--region Cyrillic look-alike", &["--region", "us-\u{435}ast-1"], Usage),
        ("--region a URL", &["--region", "http://169.254.169.254/"], Usage),
        ("--region 10,000 characters", &["--region", long.as_str()], Usage),
        ("--region without its value", &["--region"], Usage),
        ("--profile empty", &["--profile", ""], Usage),
        ("--profile with a space", &["--profile", "prod admin"], Usage),
        ("--profile with a tab", &["--profile", "prod\tadmin"], Usage),
        ("--profile with a newline", &["--profile", "prod\n"], Usage),
        ("--profile with an escape", &["--profile", "\u{1b}[31mprod"], Usage),
        ("--profile 129 characters", &["--profile", name_129.as_str()], Usage),
        ("--asg empty", &["--asg", ""], Usage),
        ("--asg 256 characters", &["--asg", asg_256.as_str()], Usage),
        ("--asg with a bell", &["--asg", "web\u{7}"], Usage),
        ("--asg with an escape", &["--asg", "web\u{1b}[2J"], Usage),
        ("--tag empty", &["--tag", ""], Usage),
        ("--tag without =", &["--tag", "team"], Usage),
        ("--tag empty key", &["--tag", "=payments"], Usage),
        ("--tag key of 129 characters", &["--tag", key_129.as_str()], Usage),
        ("--tag value of 257 characters", &["--tag", value_257.as_str()], Usage),
        ("--tag newline in the value", &["--tag", "team=pay\nments"], Usage),
        ("--tag backspace in the key", &["--tag", "te\u{8}am=payments"], Usage),
        ("--vpc too short", &["--vpc", "vpc-1"], Usage),
        ("--vpc upper case", &["--vpc", "VPC-0A1B2C3D"], Usage),
        ("--vpc 16 hex digits", &["--vpc", "vpc-0a1b2c3d4e5f6789"], Usage),
        ("--vpc a subnet id", &["--vpc", "subnet-0a1b2c3d"], Usage),
        ("--deadline 0", &["--deadline", "0"], Usage),
        ("--deadline 3601", &["--deadline", "3601"], Usage),
        ("--deadline negative", &["--deadline=-1"], Usage),
        ("--deadline fractional", &["--deadline", "1.5"], Usage),
        ("--deadline a word", &["--deadline", "soon"], Usage),
        ("--deadline beyond u64", &["--deadline", "99999999999999999999999"], Usage),
        ("--timeout 0", &["--timeout", "0"], Usage),
        ("--timeout 601", &["--timeout", "601"], Usage),
        ("--timeout negative", &["--timeout=-5"], Usage),
        ("--max-attempts 0", &["--max-attempts", "0"], Usage),
        ("--max-attempts 11", &["--max-attempts", "11"], Usage),
        ("--max-attempts with a unit", &["--max-attempts", "3x"], Usage),
        ("--output yaml", &["--output", "yaml"], Usage),
        ("--output empty", &["--output", ""], Usage),
        ("--output upper case", &["--output", "JSON"], Usage),
        ("--color sometimes", &["--color", "sometimes"], Usage),
        ("an unknown flag", &["--frobnicate"], Usage),
        ("--all with an instance id", &["--all", "i-0123456789abcdef0"], Usage),
        ("--facts with --region", &["--facts", "f.json", "--region", "eu-west-1"], Usage),
        ("--facts empty", &["--facts", ""], Usage),
        ("--document with a space", &["--document", "AWS StartSSHSession"], Usage),
        ("--document empty", &["--document", ""], Usage),
        ("--document with a newline", &["--document", "AWS-Start\nSSH"], Usage),
        ("explain without an id", &["explain"], Usage),
        ("explain with two ids", &["explain", "vpce.present", "vpce.policy"], Usage),
        ("checks with an argument", &["checks", "extra"], Usage),
        ("param without a reader", &["param", "/app/db"], Usage),
        ("param with both readers", &["param", "/app/db", "--instance", "i-0123456789abcdef0", "--role", "app"], Usage),
        ("param with a space in the name", &["param", "/app/db url", "--role", "app"], Usage),
        ("param with an empty path segment", &["param", "/app//db", "--role", "app"], Usage),
        ("param with a trailing slash", &["param", "/app/db/", "--role", "app"], Usage),
        ("param named /", &["param", "/", "--role", "app"], Usage),
        ("param of 16 levels", &["param", "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p", "--role", "app"], Usage),
        ("param name of 2049 characters", &["param", long.as_str(), "--role", "app"], Usage),
        ("param with a bad instance id", &["param", "/app/db", "--instance", "i-123"], Usage),
        ("param with a bad role name", &["param", "/app/db", "--role", "app role"], Usage),
        ("param with a newline", &["param", "/app/db\n", "--role", "app"], Usage),
        ("patch without an instance", &["patch"], Usage),
        ("patch with a bad instance id", &["patch", "i-XYZ"], Usage),
        ("patch with --all", &["patch", "i-0123456789abcdef0", "--all"], Usage),
        // Valid values: the run is refused only for the malformed instance id after them.
        ("valid --region us-east-1", &["--region", "us-east-1", "i-123"], Line),
        ("valid --region us-gov-west-1", &["--region", "us-gov-west-1", "i-123"], Line),
        ("valid --region eu-central-2", &["--region", "eu-central-2", "i-123"], Line),
        ("valid --region us-isob-east-1", &["--region", "us-isob-east-1", "i-123"], Line),
        ("valid --profile of 128", &["--profile", name_128.as_str(), "i-123"], Line),
        ("valid --asg of 255", &["--asg", asg_255.as_str(), "i-123"], Line),
        ("valid --tag of 128=256", &["--tag", tag_longest.as_str(), "i-123"], Line),
        ("valid --tag, empty value", &["--tag", "env=", "i-123"], Line),
        ("valid --vpc of 8 hex", &["--vpc", "vpc-0a1b2c3d", "i-123"], Line),
        ("valid --deadline 1", &["--deadline", "1", "i-123"], Line),
        ("valid --deadline 3600", &["--deadline", "3600", "i-123"], Line),
        ("valid --timeout 600", &["--timeout", "600", "i-123"], Line),
        ("valid --max-attempts 10", &["--max-attempts", "10", "i-123"], Line),
    ];
    for &(case, args, expect) in cases {
        let (out, _) = sandbox.run(case, args, None);
        assert_outcome(case, &out, expect);
    }
}

#[cfg(unix)]
#[test]
fn arguments_that_are_not_utf8_are_refused() {
    use Expect::{Line, Usage};
    use std::os::unix::ffi::OsStrExt;
    let sandbox = Sandbox::new("not-utf8");
    let bad = OsStr::from_bytes(b"eu-west-1\xff\xfe");
    #[rustfmt::skip]
    let cases: &[(&str, &[&OsStr], Expect)] = &[
        ("instance id not UTF-8", &[bad], Usage),
        ("--region not UTF-8", &[OsStr::new("--region"), bad], Usage),
        ("--profile not UTF-8", &[OsStr::new("--profile"), bad], Usage),
        // A path may be any bytes: the file does not exist.
        ("--facts path not UTF-8", &[OsStr::new("--facts"), bad], Line),
    ];
    for &(case, args, expect) in cases {
        let (out, _) = sandbox.run(case, args, None);
        assert_outcome(case, &out, expect);
    }
}

#[test]
fn malformed_instance_ids_are_one_line_before_any_call() {
    let sandbox = Sandbox::new("ids");
    let long = format!("i-{}", "0".repeat(10_000));
    #[rustfmt::skip]
    let cases: &[(&str, &[&str])] = &[
        ("too short", &["i-123"]),
        ("upper-case hex", &["i-0123456789ABCDEF0"]),
        ("not hex", &["i-0123456789abcdefg"]),
        ("18 hex digits", &["i-0123456789abcdef01"]),
        ("9 hex digits", &["i-012345678"]),
        ("upper-case prefix", &["I-0123456789abcdef0"]),
        ("no prefix", &["0123456789abcdef0"]),
        ("a VPC id", &["vpc-0123456789abcdef0"]),
        ("leading space", &[" i-0123456789abcdef0"]),
        ("trailing newline", &["i-0123456789abcdef0\n"]),
        ("full-width digits", &["i-０１２３４５６７"]),
        ("escape sequences", &["i-\u{1b}[2J\u{1b}[H"]),
        ("right-to-left override", &["i-\u{202e}0123456789abcdef0"]),
        ("empty", &[""]),
        ("10,000 characters", &[long.as_str()]),
        ("a good id, then a bad one", &["i-0123456789abcdef0", "i-123"]),
        ("a dash-led id after --", &["--", "-i-0123456789abcdef0"]),
    ];
    for &(case, args) in cases {
        let (out, _) = sandbox.run(case, args, None);
        assert_outcome(case, &out, Expect::Line);
    }
}

#[test]
fn malformed_ids_on_stdin_are_one_line_before_any_call() {
    let sandbox = Sandbox::new("stdin");
    let huge = "a".repeat(1 << 20);
    let many = "i-1 ".repeat(100_000);
    #[rustfmt::skip]
    let cases: &[(&str, &[u8])] = &[
        ("empty", b""),
        ("whitespace only", b" \n\t\r\n"),
        ("too short", b"i-123\n"),
        ("a good id, then a bad one", b"i-0123456789abcdef0\ni-123\n"),
        ("CRLF, upper case", b"i-0123456789abcdef0\r\nI-0123456789ABCDEF0\r\n"),
        ("not UTF-8", b"i-0123456789abcdef0\n\xff\xfe\n"),
        ("a NUL byte", b"i-0123456789abcdef0\0\n"),
        ("escape sequences", b"\x1b]0;owned\x07\x1b[2J\n"),
        ("JSON instead of ids", br#"{"InstanceIds": ["i-0123456789abcdef0"]}"#),
        ("1 MiB without whitespace", huge.as_bytes()),
        ("100,000 malformed ids", many.as_bytes()),
    ];
    for &(case, stdin) in cases {
        let (out, _) = sandbox.run(case, &["-"], Some(stdin));
        assert_outcome(case, &out, Expect::Line);
    }
}

#[test]
fn unknown_check_ids_are_one_line() {
    let sandbox = Sandbox::new("explain");
    let long = "x".repeat(10_000);
    #[rustfmt::skip]
    let cases: &[(&str, &str)] = &[
        ("unknown", "no.such-check"),
        ("empty", ""),
        ("10,000 characters", long.as_str()),
        ("accented", "vpce.présent"),
        ("escape sequences", "\u{1b}[2J\u{1b}]0;owned\u{7}"),
        ("path traversal", "../../../../etc/passwd"),
        ("format string", "%s%n{}{0}"),
        ("two lines", "vpce.present\nvpce.policy"),
        ("a glob", "vpce.*"),
    ];
    for &(case, id) in cases {
        let (out, _) = sandbox.run(case, &["explain", id], None);
        assert_outcome(case, &out, Expect::Line);
    }
}

#[test]
fn unreadable_snapshots_are_one_line_errors() {
    use Expect::{Line, LineOrReport};
    let sandbox = Sandbox::new("facts");
    let fixture = common::fixture("healthy-private-endpoints");
    let text = std::fs::read_to_string(&fixture).expect("read the fixture");
    let healthy = read_json(&fixture);
    let deep_arrays = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let deep_objects = format!("{}1{}", r#"{"a":"#.repeat(10_000), "}".repeat(10_000));
    let garbage = format!("[{}{{\"g\":1}}]", r#"{"g":1},"#.repeat(99_999));
    let (head, tail) = text.split_once("web-1").expect("the fixture names web-1");
    let not_utf8 = [head.as_bytes(), b"web-\xff\xfe".as_slice(), tail.as_bytes()].concat();
    let mut utf16: Vec<u8> = vec![0xff, 0xfe];
    for unit in text.encode_utf16() {
        utf16.extend(unit.to_le_bytes());
    }
    let edit = |change: fn(&mut Value)| edited(&healthy, change);
    #[rustfmt::skip]
    let cases: Vec<(&str, Vec<u8>, Expect)> = vec![
        ("an empty file", Vec::new(), Line),
        ("whitespace only", b" \n\t ".to_vec(), Line),
        ("truncated JSON", text.as_bytes()[..text.len() / 2].to_vec(), Line),
        ("null", b"null".to_vec(), Line),
        ("a number", b"42".to_vec(), Line),
        ("a string", br#""facts""#.to_vec(), Line),
        ("true", b"true".to_vec(), Line),
        ("an empty object", b"{}".to_vec(), Line),
        ("an empty array", b"[]".to_vec(), Line),
        ("an array of numbers", b"[1, 2, 3]".to_vec(), Line),
        ("schema_version 0", edit(|f| f["schema_version"] = json!(0)), Line),
        ("schema_version 3", edit(|f| f["schema_version"] = json!(3)), Line),
        ("schema_version \"1\"", edit(|f| f["schema_version"] = json!("1")), Line),
        ("schema_version -1", edit(|f| f["schema_version"] = json!(-1)), Line),
        ("schema_version 1.5", edit(|f| f["schema_version"] = json!(1.5)), Line),
        ("schema_version null", edit(|f| f["schema_version"] = Value::Null), Line),
        ("schema_version 1e400",
            text.replacen(r#""schema_version": 2"#, r#""schema_version": 1e400"#, 1).into_bytes(),
            Line),
        ("only a schema_version", br#"{"schema_version": 2}"#.to_vec(), Line),
        ("only a schema_version of 1", br#"{"schema_version": 1}"#.to_vec(), Line),
        ("an ssm-doctor report instead of facts",
            br#"{"schema_version": 1, "tool": {"name": "ssm-doctor"}, "verdict": "pass"}"#.to_vec(),
            Line),
        ("instance state is a number", edit(|f| f["aws"]["instance"]["value"]["state"] = json!(42)), Line),
        ("target instance id is a number", edit(|f| f["target"]["instance_id"] = json!(7)), Line),
        ("target is null", edit(|f| f["target"] = Value::Null), Line),
        ("an unknown fetch status", edit(|f| f["operator"]["caller"]["status"] = json!("bogus")), Line),
        ("the AWS section is a list", edit(|f| f["aws"] = json!([])), Line),
        ("the on-instance section is a string", edit(|f| f["instance"] = json!("yes")), Line),
        ("prefix_lists is an array", edit(|f| f["aws"]["network"]["prefix_lists"] = json!([])), Line),
        ("dns_support is a string",
            edit(|f| f["aws"]["network"]["dns_support"]["value"] = json!("yes")), Line),
        ("a security group id is a number",
            edit(|f| f["aws"]["instance"]["value"]["security_group_ids"] = json!([7])), Line),
        ("a NACL rule number beyond i32",
            edit(|f| f["aws"]["network"]["network_acls"]["value"][0]["entries"][0]["rule_number"] =
                json!(1_u64 << 40)),
            Line),
        ("arrays nested 10,000 deep", deep_arrays.clone().into_bytes(), Line),
        ("objects nested 10,000 deep", deep_objects.into_bytes(), Line),
        ("a policy nested 10,000 deep",
            format!(r#"{{"schema_version": 2, "aws": {{"iam": {deep_arrays}}}}}"#).into_bytes(), Line),
        ("100,000 garbage items", garbage.into_bytes(), Line),
        ("invalid UTF-8 in a string", not_utf8, Line),
        ("UTF-16 with a byte-order mark", utf16, Line),
        ("UTF-8 byte-order mark, then a valid snapshot",
            [b"\xef\xbb\xbf".as_slice(), text.as_bytes()].concat(), LineOrReport),
        ("trailing garbage", format!("{text}garbage").into_bytes(), Line),
        ("two documents", format!("{text}{text}").into_bytes(), Line),
        ("NaN", br#"{"schema_version": NaN}"#.to_vec(), Line),
        ("a comment", format!("// saved by hand\n{text}").into_bytes(), Line),
        ("the snapshot in a JSON string",
            Value::from(text.as_str()).to_string().into_bytes(), Line),
        ("YAML", b"schema_version: 1\ntarget: {instance_id: i-12345678}\n".to_vec(), Line),
        ("a fleet with one bad snapshot",
            json!([healthy, {"schema_version": 2}]).to_string().into_bytes(), Line),
        ("a fleet with one snapshot of schema 3",
            json!([healthy, {"schema_version": 3}]).to_string().into_bytes(), Line),
    ];
    for (index, (case, bytes, expect)) in cases.into_iter().enumerate() {
        let path = sandbox.file(&format!("facts-{index}.json"), &bytes);
        let (out, _) = sandbox.run(case, &facts_args(&path), None);
        assert_outcome(case, &out, expect);
    }
    // Fields removed rather than mistyped.
    for (case, object, key) in [
        ("schema_version missing", "", "schema_version"),
        ("network missing", "/aws", "network"),
        ("collected without a value", "/operator/caller", "value"),
    ] {
        let bytes = edited(&healthy, |f| {
            let parent = f.pointer_mut(object).expect("the fixture has it");
            parent.as_object_mut().expect("an object").remove(key);
        });
        let path = sandbox.file(&format!("removed-{key}.json"), &bytes);
        let (out, _) = sandbox.run(case, &facts_args(&path), None);
        assert_outcome(case, &out, Expect::Line);
    }

    #[rustfmt::skip]
    let paths: Vec<(&str, PathBuf)> = vec![
        ("a missing file", sandbox.dir.join("missing.json")),
        ("a directory", sandbox.dir.clone()),
        ("a 10,000-character file name", sandbox.dir.join("f".repeat(10_000))),
        ("a newline in the file name", sandbox.dir.join("facts\nsnapshot.json")),
        ("an escape sequence in the file name", sandbox.dir.join("\u{1b}[2Jfacts.json")),
    ];
    for (case, path) in paths {
        let (out, _) = sandbox.run(case, &facts_args(&path), None);
        assert_outcome(case, &out, Expect::Line);
    }

    // Asking for an instance the snapshot does not hold echoes what it holds: shortened, clean.
    let fleet: Vec<Value> = (0..200)
        .map(|i| {
            let mut facts = healthy.clone();
            facts["target"]["instance_id"] = json!(format!("i-{i:08x}"));
            facts
        })
        .collect();
    #[rustfmt::skip]
    let elsewhere: Vec<(&str, Vec<u8>)> = vec![
        ("a snapshot whose instance id holds escape sequences",
            edit(|f| f["target"]["instance_id"] = json!("i-\u{1b}[31mevil\u{1b}[0m"))),
        ("a snapshot whose instance id is 1 MiB",
            edit(|f| f["target"]["instance_id"] = json!("x".repeat(1 << 20)))),
        ("a snapshot of 200 other instances", Value::from(fleet).to_string().into_bytes()),
    ];
    for (index, (case, bytes)) in elsewhere.into_iter().enumerate() {
        let path = sandbox.file(&format!("elsewhere-{index}.json"), &bytes);
        let id = OsStr::new("i-0123456789abcdef0");
        let (out, _) = sandbox.run(case, &[id, OsStr::new("--facts"), path.as_os_str()], None);
        assert_outcome(case, &out, Expect::Line);
    }
}

/// Which policy document of the healthy-private-endpoints snapshot a case replaces.
#[derive(Clone, Copy, Debug)]
enum Doc {
    Trust,
    Attached,
    Inline,
    Endpoint,
}

/// The new document: a whole one, or the valid one with extra statements (an object, or an array
/// of them). A bad extra statement must not be skipped over: the valid rest would then pass.
enum Planted {
    Whole(Value),
    Extra(Value),
}

/// What the check that evaluates the document may conclude.
#[derive(Clone, Copy, Debug)]
enum Judged {
    /// IAM would refuse the document, or it cannot be evaluated: `error` or `warn`, never `pass`.
    NotPass,
    /// A harmless valid change: the check still passes (and so is evaluated at all, not skipped).
    Pass,
    /// Valid but odd (unicode, sheer size): anything but a panic.
    Any,
}

impl Doc {
    /// The check that evaluates this document.
    fn check(self) -> &'static str {
        match self {
            Doc::Trust => "iam.trust",
            Doc::Attached | Doc::Inline => "iam.core-permissions",
            Doc::Endpoint => "vpce.policy",
        }
    }

    /// The valid document that [`Planted::Extra`] adds to.
    fn base(self, facts: &Value) -> Value {
        match self {
            Doc::Trust => facts["aws"]["iam"]["role"]["value"]["trust_policy"].clone(),
            Doc::Attached => {
                facts["aws"]["iam"]["attached_policies"]["value"][0]["document"]["value"].clone()
            }
            // The attached policy already grants the core actions.
            Doc::Inline => json!({"Version": "2012-10-17", "Statement": []}),
            Doc::Endpoint => json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}
            ]}),
        }
    }

    fn plant(self, facts: &mut Value, planted: Planted) {
        let document = match planted {
            Planted::Whole(document) => document,
            Planted::Extra(extra) => {
                let mut document = self.base(facts);
                let statements = document["Statement"]
                    .as_array_mut()
                    .expect("the base document lists its statements");
                match extra {
                    Value::Array(items) => statements.extend(items),
                    statement => statements.push(statement),
                }
                document
            }
        };
        match self {
            Doc::Trust => facts["aws"]["iam"]["role"]["value"]["trust_policy"] = document,
            Doc::Attached => {
                facts["aws"]["iam"]["attached_policies"]["value"][0]["document"]["value"] =
                    document;
            }
            Doc::Inline => {
                facts["aws"]["iam"]["inline_policies"]["value"] = json!([{
                    "name": "hostile",
                    "arn": null,
                    "document": {"status": "collected", "value": document}
                }]);
            }
            // The ssmmessages endpoint: Session Manager needs it whatever the agent's version.
            Doc::Endpoint => {
                facts["aws"]["network"]["vpc_endpoints"]["value"][1]["policy"] = document
            }
        }
    }
}

#[test]
fn odd_policy_documents_get_a_report_not_a_panic_or_a_confident_pass() {
    use Doc::{Attached, Endpoint, Inline, Trust};
    use Judged::{Any, NotPass, Pass};
    use Planted::{Extra, Whole};
    let sandbox = Sandbox::new("policies");
    let healthy = read_json(&common::fixture("healthy-private-endpoints"));
    let schema = read_json(&common::root().join("docs/output.schema.json"));
    let validator = jsonschema::validator_for(&schema).expect("the schema is valid");

    let ec2 = json!({"Service": "ec2.amazonaws.com"});
    let number = json!({"Version": "2012-10-17", "Statement": 42});
    let invalid_json = json!(r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow""#);
    let many_keys: Map<String, Value> = (0..10_000)
        .map(|i| (format!("ec2:ResourceTag/key-{i}"), json!("value")))
        .collect();
    let many_statements: Vec<Value> = (0..10_000)
        .map(|i| json!({"Sid": format!("S{i}"), "Effect": "Allow", "Action": format!("s3:Get{i}")}))
        .collect();
    let mut nested_action = json!("ssm:*");
    for _ in 0..100 {
        nested_action = json!([nested_action]);
    }
    let unicode = json!({
        "Sid": "Ünïcødé🙂",
        "Effect": "Deny",
        "Action": ["ssm:Ğet*", "ſsm:*\u{200b}"],
        "Resource": "arn:aws:ssm:*:*:документ/*",
        "Condition": {"StringLike": {"aws:PrincipalTag/チーム": ["支払い*", "😀"]}}
    });

    // One case a line or two, which rustfmt would spread over six.
    #[rustfmt::skip]
    let cases: Vec<(&str, Doc, Judged, Planted)> = vec![
        // Controls: a harmless statement leaves the check passing, so it is evaluated at all.
        ("control", Trust, Pass, Extra(json!(
            {"Effect": "Allow", "Principal": {"Service": "ssm.amazonaws.com"}, "Action": "*"}))),
        ("control", Attached, Pass,
            Extra(json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}))),
        ("control", Inline, Pass,
            Extra(json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}))),
        ("control", Endpoint, Pass,
            Extra(json!({"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}))),
        // The role's trust policy.
        ("Statement is a number", Trust, NotPass, Whole(number.clone())),
        ("Statement is null", Trust, NotPass, Whole(json!({"Statement": null}))),
        ("the document is null", Trust, NotPass, Whole(Value::Null)),
        ("a JSON string of invalid JSON", Trust, NotPass, Whole(invalid_json.clone())),
        ("a unicode unknown element", Trust, NotPass, Whole(json!({"Statemënt": []}))),
        ("Effect \"allow \"", Trust, NotPass,
            Extra(json!({"Effect": "allow ", "Principal": ec2, "Action": "sts:AssumeRole"}))),
        ("Effect missing", Trust, NotPass,
            Extra(json!({"Principal": ec2, "Action": "sts:AssumeRole"}))),
        ("Principal is a number", Trust, NotPass,
            Extra(json!({"Effect": "Deny", "Principal": 42, "Action": "sts:AssumeRole"}))),
        ("Principal of an unknown kind", Trust, NotPass,
            Extra(json!({"Effect": "Deny", "Principal": {"Robot": "*"}, "Action": "sts:*"}))),
        ("Action in nested arrays", Trust, NotPass,
            Extra(json!({"Effect": "Deny", "Principal": "*", "Action": [["sts:AssumeRole"]]}))),
        ("an unknown element", Trust, NotPass,
            Extra(json!({"Effect": "Deny", "Principal": "*", "Actions": "sts:AssumeRole"}))),
        ("unicode everywhere", Trust, Any, Extra(unicode.clone())),
        // A managed policy attached to the role.
        ("Statement is a number", Attached, NotPass, Whole(number.clone())),
        ("a statement that is null", Attached, NotPass, Extra(Value::Null)),
        ("the document is an array", Attached, NotPass,
            Whole(json!([{"Effect": "Allow", "Action": "*", "Resource": "*"}]))),
        ("a JSON string of invalid JSON", Attached, NotPass, Whole(invalid_json.clone())),
        ("Version is a number", Attached, NotPass,
            Whole(json!({"Version": 2012, "Statement": []}))),
        ("Action is a number", Attached, NotPass,
            Extra(json!({"Effect": "Allow", "Action": 42, "Resource": "*"}))),
        ("Action is an object", Attached, NotPass,
            Extra(json!({"Effect": "Allow", "Action": {"ssm": "*"}, "Resource": "*"}))),
        ("Action in nested arrays", Attached, NotPass,
            Extra(json!({"Effect": "Allow", "Action": [["ssm:*"]], "Resource": "*"}))),
        ("Action 100 arrays deep", Attached, NotPass,
            Extra(json!({"Effect": "Allow", "Action": nested_action, "Resource": "*"}))),
        ("Action is null", Attached, NotPass,
            Extra(json!({"Effect": "Allow", "Action": null, "Resource": "*"}))),
        ("Action is an empty array", Attached, NotPass,
            Extra(json!({"Effect": "Deny", "Action": [], "Resource": "*"}))),
        ("Resource is a number", Attached, NotPass,
            Extra(json!({"Effect": "Deny", "Action": "ssm:*", "Resource": 42}))),
        ("Resource is an object", Attached, NotPass,
            Extra(json!({"Effect": "Deny", "Action": "ssm:*", "Resource": {"arn": "*"}}))),
        ("Resource holds null", Attached, NotPass,
            Extra(json!({"Effect": "Deny", "Action": "ssm:*", "Resource": [null]}))),
        ("Resource and NotResource", Attached, NotPass, Extra(json!(
            {"Effect": "Deny", "Action": "ssm:*", "Resource": "*", "NotResource": "*"}))),
        ("Effect \"allow \"", Attached, NotPass,
            Extra(json!({"Effect": "allow ", "Action": "ssm:*", "Resource": "*"}))),
        ("Effect missing", Attached, NotPass,
            Extra(json!({"Action": "ssm:*", "Resource": "*"}))),
        ("Effect is a boolean", Attached, NotPass,
            Extra(json!({"Effect": true, "Action": "ssm:*", "Resource": "*"}))),
        ("an unknown element", Attached, NotPass,
            Extra(json!({"Effect": "Deny", "Actions": "ssm:*", "Resource": "*"}))),
        ("Condition is a string", Attached, NotPass, Extra(json!(
            {"Effect": "Deny", "Action": "ssm:*", "Resource": "*", "Condition": "true"}))),
        ("a condition value is an object", Attached, NotPass, Extra(json!(
            {"Effect": "Deny", "Action": "ssm:*", "Resource": "*",
             "Condition": {"StringEquals": {"aws:RequestedRegion": {"x": 1}}}}))),
        ("unicode everywhere", Attached, Any, Extra(unicode.clone())),
        ("a 100,000-wildcard Resource", Attached, Any, Extra(json!(
            {"Effect": "Deny", "Action": "ssm:*", "Resource": "*?".repeat(50_000)}))),
        ("10,000 statements", Attached, Any, Extra(Value::from(many_statements.clone()))),
        ("a Condition of 10,000 keys", Attached, NotPass, Extra(json!(
            {"Effect": "Deny", "Action": "*", "Resource": "*",
             "Condition": {"StringEquals": many_keys}}))),
        // An inline policy of the role.
        ("Statement is a number", Inline, NotPass, Whole(number.clone())),
        ("a JSON string of invalid JSON", Inline, NotPass, Whole(invalid_json.clone())),
        ("Action is null", Inline, NotPass,
            Extra(json!({"Effect": "Allow", "Action": null, "Resource": "*"}))),
        ("Action and NotAction", Inline, NotPass, Extra(json!(
            {"Effect": "Deny", "Action": "ssm:*", "NotAction": "s3:*", "Resource": "*"}))),
        ("unicode everywhere", Inline, Any, Extra(unicode.clone())),
        // The policy of the ssmmessages endpoint.
        ("Statement is a number", Endpoint, NotPass, Whole(number)),
        ("a JSON string of invalid JSON", Endpoint, NotPass, Whole(invalid_json)),
        ("Principal is a number", Endpoint, NotPass,
            Extra(json!({"Effect": "Deny", "Principal": 42, "Action": "*", "Resource": "*"}))),
        ("Principal AWS is an object", Endpoint, NotPass, Extra(json!(
            {"Effect": "Deny", "Principal": {"AWS": {"arn": "*"}}, "Action": "*"}))),
        ("Principal and NotPrincipal", Endpoint, NotPass, Extra(json!(
            {"Effect": "Deny", "Principal": "*", "NotPrincipal": "*", "Action": "*"}))),
        ("Action is an object", Endpoint, NotPass,
            Extra(json!({"Effect": "Deny", "Principal": "*", "Action": {"a": 1}}))),
        ("Action is an empty array", Endpoint, NotPass,
            Extra(json!({"Effect": "Deny", "Principal": "*", "Action": [], "Resource": "*"}))),
        ("Effect \"Deny \"", Endpoint, NotPass,
            Extra(json!({"Effect": "Deny ", "Principal": "*", "Action": "*", "Resource": "*"}))),
        ("Effect missing", Endpoint, NotPass,
            Extra(json!({"Principal": "*", "Action": "*", "Resource": "*"}))),
        ("unicode everywhere", Endpoint, Any, Extra(unicode)),
        ("10,000 statements", Endpoint, Any, Extra(Value::from(many_statements))),
        ("a Condition of 10,000 keys", Endpoint, NotPass, Extra(json!(
            {"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*",
             "Condition": {"StringEquals": many_keys}}))),
    ];
    for (index, (name, doc, judged, planted)) in cases.into_iter().enumerate() {
        let case = format!("{doc:?} policy: {name}");
        let mut facts = healthy.clone();
        doc.plant(&mut facts, planted);
        let path = sandbox.file(
            &format!("policy-{index}.json"),
            facts.to_string().as_bytes(),
        );
        let (out, elapsed) = sandbox.run(&case, &facts_args(&path), None);
        assert_no_panic(&case, &out);
        let report = parse_report(&case, &out);
        let errors: Vec<String> = validator
            .iter_errors(&report)
            .take(3)
            .map(|e| excerpt(&e.to_string()))
            .collect();
        assert!(
            errors.is_empty(),
            "{case}: the report breaks the schema: {errors:?}"
        );
        assert!(
            elapsed < POLICY_TIME_LIMIT,
            "{case}: took {elapsed:?} (limit {POLICY_TIME_LIMIT:?})"
        );
        let check = finding(&report, doc.check());
        let message = excerpt(&check["message"].to_string());
        match judged {
            NotPass => assert_ne!(check["status"], "pass", "{case}: {message}"),
            Pass => assert_eq!(check["status"], "pass", "{case}: {message}"),
            Any => {}
        }
    }
}
