//! Command-line interface: argument parsing and validation, with the exit codes runbooks rely on.

use crate::render::Format;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

const AFTER_HELP: &str = "\
Examples:
  ssm-doctor i-0123456789abcdef0
  ssm-doctor --asg web-prod                       # every InService instance of the group
  ssm-doctor --tag team=payments --tag env=prod   # tags combine
  ssm-doctor --vpc vpc-0a1b2c3d4e5f67890 --unmanaged   # what SSM does not list as Online
  ssm-doctor --all --output json > fleet.json
  aws ec2 describe-instances --query 'Reservations[].Instances[].InstanceId' --output text | ssm-doctor -
  ssm-doctor i-0123456789abcdef0 --region eu-west-1 --profile prod
  ssm-doctor --tag team=payments --region all       # every enabled region, concurrently
  ssm-doctor i-0123456789abcdef0 --output markdown > ticket.md
  ssm-doctor i-0123456789abcdef0 --fix-script > fix.sh   # review, then run
  ssm-doctor i-0123456789abcdef0 --watch             # until your fix has taken
  ssm-doctor i-0123456789abcdef0 --save-facts facts.json   # diagnose later or elsewhere
  ssm-doctor --facts fixtures/private-missing-ssmmessages.json   # no AWS access needed
  ssm-doctor explain vpce.present
  sudo ssm-doctor local                            # on the instance: IMDS, DNS, TCP, TLS, agent
  ssm-doctor checks
  ssm-doctor completions zsh > ~/.zfunc/_ssm-doctor

Exit codes:
  0  healthy: every check passed (warnings allowed)
  1  at least one check failed: the instance is not reachable until it is fixed
  2  bad usage or input, no usable AWS credentials or region, or the AWS API out of reach:
     nothing was diagnosed
  3  incomplete: no failure found, but some check could not be evaluated (see its error)
  4  internal error in ssm-doctor (please report it)
  With several instances, the worst one decides (1 before 3 before 0).

ssm-doctor only reads (Describe/Get/List calls) and refuses any other call before it is sent;
`ssm-doctor policy` prints the least-privilege policy it needs.";

#[derive(Debug, Parser)]
#[command(
    name = "ssm-doctor",
    version,
    about = "Tells you why an EC2 instance cannot be reached with Session Manager, and how to fix it",
    after_help = AFTER_HELP,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub diagnose: Diagnose,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print a check's page: what it verifies, why it matters, how to fix it
    Explain {
        /// A check id, e.g. vpce.present (see `ssm-doctor checks`)
        check_id: String,
    },
    /// List every check
    Checks,
    /// Print the least-privilege IAM policy ssm-doctor needs (every call it can make, all reads)
    Policy,
    /// Run on the instance itself: the metadata service, DNS, TCP and TLS to the agent's
    /// endpoints, the proxy, the agent's service and log (no AWS credentials needed)
    Local(Local),
    /// Why an application cannot read a Parameter Store parameter: the name (with suggestions),
    /// the role's permission, the KMS key of a SecureString, the instance's path to ssm. Never
    /// reads the value
    Param(Param),
    /// Why Patch Manager does not patch an instance: managed node, maintenance window targets and
    /// schedule, the task's service role, the baseline, the patch buckets, the last patch run
    Patch(Patch),
    /// Print a shell completion script, e.g. `ssm-doctor completions bash >
    /// ~/.local/share/bash-completion/completions/ssm-doctor`
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `ssm-doctor man > ~/.local/share/man/man1/ssm-doctor.1`
    Man,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("reader").required(true).args(["instance", "role"]))]
pub struct Param {
    /// The parameter's name, as the application asks for it (e.g. /app/prod/db-url)
    #[arg(value_parser = parse_parameter)]
    pub name: String,

    /// The instance the application runs on: its instance profile's role reads the parameter
    #[arg(long, value_name = "INSTANCE_ID", value_parser = parse_instance)]
    pub instance: Option<String>,

    /// The role the application runs as (a Lambda function's, an ECS task's), instead of an
    /// instance
    #[arg(long, value_name = "ROLE_NAME", value_parser = parse_role)]
    pub role: Option<String>,

    /// The application reads the parameter's whole path (GetParametersByPath)
    #[arg(long)]
    pub by_path: bool,

    #[command(flatten)]
    pub common: TaskOptions,
}

#[derive(Debug, Args)]
pub struct Patch {
    /// The instance to patch, e.g. i-0123456789abcdef0
    #[arg(value_parser = parse_instance)]
    pub instance_id: String,

    #[command(flatten)]
    pub common: TaskOptions,
}

/// How a report is printed, by every command.
#[derive(Debug, Args)]
pub struct Presentation {
    /// Report format
    #[arg(short, long, value_enum, default_value_t = Format::Human)]
    pub output: Format,

    /// Colour in human output
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

/// How long AWS's answers are waited for, and how often asked again.
#[derive(Debug, Args)]
pub struct Patience {
    /// Attempts per API call, including the first (throttling and 5xx are retried)
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=10))]
    pub max_attempts: u32,

    /// Seconds to wait for one API call attempt
    #[arg(long, value_name = "SECONDS", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub timeout: u64,

    /// Seconds for the whole run: what AWS has not answered by then is reported as an error
    #[arg(long, value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub deadline: u64,
}

/// What `param` and `patch` share with the main command.
#[derive(Debug, Args)]
pub struct TaskOptions {
    /// AWS region (default: AWS_REGION or the profile's region)
    #[arg(long, value_parser = parse_region)]
    pub region: Option<String>,

    /// Named profile from ~/.aws/config (default: AWS_PROFILE or "default")
    #[arg(long, value_parser = parse_profile)]
    pub profile: Option<String>,

    #[command(flatten)]
    pub presentation: Presentation,

    /// Judge a snapshot written by --save-facts, without calling AWS
    #[arg(long, value_name = "FILE", conflicts_with_all = ["region", "profile", "save_facts"])]
    pub facts: Option<PathBuf>,

    /// Also write the collected facts (no credentials, no parameter value) to FILE
    #[arg(long, value_name = "FILE")]
    pub save_facts: Option<PathBuf>,

    #[command(flatten)]
    pub patience: Patience,

    /// Replace account ids, IP addresses, resource ids and names in the output
    #[arg(long)]
    pub redact: bool,
}

/// Parameter names: 1 to 2048 characters of a-z A-Z 0-9 _ . - / (AWS's rule), at most 15 levels.
fn parse_parameter(text: &str) -> Result<String, String> {
    plain(text, "the parameter name", 2048)?;
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_.-/".contains(c);
    if !text.chars().all(allowed) {
        return Err(format!(
            "{} is not a parameter name (letters, digits and _ . - /)",
            shown(text)
        ));
    }
    if text.contains("//") || text.ends_with('/') {
        return Err(format!(
            "{} is not a parameter name (an empty path segment)",
            shown(text)
        ));
    }
    if text.trim_start_matches('/').split('/').count() > 15 {
        return Err(format!(
            "{} is not a parameter name (more than 15 levels)",
            shown(text)
        ));
    }
    Ok(text.to_string())
}

/// Role names: 1 to 64 of IAM's characters; a role ARN names its role by its last segment.
fn parse_role(text: &str) -> Result<String, String> {
    let name = text.rsplit('/').next().unwrap_or(text);
    plain(name, "the role name", 64)?;
    let allowed = |c: char| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c);
    match name.chars().all(allowed) {
        true => Ok(name.to_string()),
        false => Err(format!("{} is not an IAM role name", shown(text))),
    }
}

fn parse_instance(text: &str) -> Result<String, String> {
    validate_instance_id(text).map(|()| text.to_string())
}

#[derive(Debug, Args)]
pub struct Local {
    /// AWS region of the endpoints to probe [default: the instance's, from its metadata]
    #[arg(long, value_parser = parse_region)]
    pub region: Option<String>,

    /// Also probe the endpoints of these services: s3 and logs when sessions are logged there,
    /// kms when they are encrypted
    #[arg(long = "service", value_name = "SERVICE", value_parser = clap::builder::PossibleValuesParser::new(crate::probe::instance::OPTIONAL_SERVICES))]
    pub services: Vec<String>,

    /// Ask this DNS server (IP or IP:PORT) instead of the system's resolvers
    #[arg(long, value_name = "IP[:PORT]", env = "SSM_DOCTOR_RESOLVER", value_parser = parse_resolver)]
    pub resolver: Option<std::net::SocketAddr>,

    /// Read the agent's files (log, service configuration, hosts file) under DIR, e.g. a root
    /// volume mounted from another instance
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,

    /// Seconds each probe step (a DNS question, a connection, a handshake) may take
    #[arg(long, value_name = "SECONDS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=60))]
    pub timeout: u64,

    #[command(flatten)]
    pub presentation: Presentation,
}

#[derive(Debug, Args)]
pub struct Diagnose {
    /// Instances to diagnose, e.g. i-0123456789abcdef0; `-` reads ids from standard input
    pub instance_ids: Vec<String>,

    /// Diagnose the InService instances of this Auto Scaling group
    #[arg(long, value_name = "NAME", value_parser = parse_asg)]
    pub asg: Option<String>,

    /// Diagnose instances with this tag (repeatable; all must match)
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_tag)]
    pub tag: Vec<(String, String)>,

    /// Diagnose the instances of this VPC
    #[arg(long, value_name = "VPC_ID", value_parser = parse_vpc)]
    pub vpc: Option<String>,

    /// Diagnose every instance in the region
    #[arg(long, conflicts_with_all = ["instance_ids", "asg", "tag", "vpc"])]
    pub all: bool,

    /// Only the selected instances that SSM does not list as Online
    #[arg(long)]
    pub unmanaged: bool,

    /// AWS region (default: AWS_REGION or the profile's region); with --all, --tag, --asg or
    /// --vpc also several (eu-west-1,us-east-1) or `all` enabled regions, diagnosed concurrently
    #[arg(long, value_name = "REGION[,REGION…]|all", value_parser = parse_regions)]
    pub region: Option<String>,

    /// Named profile from ~/.aws/config (default: AWS_PROFILE or "default")
    #[arg(long, value_parser = parse_profile)]
    pub profile: Option<String>,

    #[command(flatten)]
    pub presentation: Presentation,

    /// Print, instead of the report, a commented bash script of the `aws` commands that fix the
    /// failing checks, in dependency order (never run by ssm-doctor: review it, then run it)
    #[arg(long, conflicts_with_all = ["output", "fix_format"])]
    pub fix_script: bool,

    /// Print, instead of the report, the failing checks' fixes together in this format
    #[arg(long, value_enum, value_name = "FORMAT", conflicts_with = "output")]
    pub fix_format: Option<crate::render::fix::FixFormat>,

    /// Diagnose again every --interval until the instance is healthy (exit 0) or --watch-for
    /// runs out, showing after the first report only what changed: for "did my fix work?"
    #[arg(long, conflicts_with_all = ["facts", "save_facts", "fix_script", "fix_format", "asg", "tag", "vpc", "all", "unmanaged", "redact"])]
    pub watch: bool,

    /// Seconds between two rounds of --watch
    #[arg(long, value_name = "SECONDS", default_value_t = 30, requires = "watch", value_parser = clap::value_parser!(u64).range(2..=3600))]
    pub interval: u64,

    /// Seconds --watch goes on before it gives up (exiting with the last verdict's code)
    #[arg(long, value_name = "SECONDS", default_value_t = 1800, requires = "watch", value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub watch_for: u64,

    /// Diagnose from a snapshot written by --save-facts, without calling AWS
    #[arg(long, value_name = "FILE", conflicts_with_all = ["region", "profile", "save_facts", "asg", "tag", "vpc", "all", "unmanaged"])]
    pub facts: Option<PathBuf>,

    /// Also write the collected facts (no credentials) to FILE
    #[arg(long, value_name = "FILE")]
    pub save_facts: Option<PathBuf>,

    #[command(flatten)]
    pub patience: Patience,

    /// Replace account ids, IP addresses, resource ids and names in the output (for tickets that
    /// leave the company)
    #[arg(long)]
    pub redact: bool,

    /// The Session document you will start the session with, e.g. AWS-StartSSHSession or
    /// AWS-StartPortForwardingSession: the checks judge what it needs [default: the Session
    /// Manager preferences, SSM-SessionManagerRunShell, or what a --facts snapshot was saved with]
    #[arg(long, value_name = "NAME", value_parser = parse_document)]
    pub document: Option<String>,

    /// Port forwarding to a remote host through the instance (a database, a private web
    /// server): also check that the instance's security groups, network ACLs and routes let it
    /// reach HOST on PORT. Implies --document AWS-StartPortForwardingSessionToRemoteHost
    #[arg(long, value_name = "HOST:PORT", value_parser = parse_forward)]
    pub forward: Option<(String, u16)>,

    /// Leave out the operator's side (your own permission to start sessions, your machine's
    /// path to the endpoints): for runs from an instance role or CI, where nobody starts a session
    #[arg(long, conflicts_with = "facts")]
    pub no_operator: bool,

    /// AWS's published address ranges (ip-ranges.json from
    /// https://ip-ranges.amazonaws.com/ip-ranges.json, downloaded beforehand): security groups
    /// that open 443 only to some public ranges are then judged against the region's AMAZON ranges
    #[arg(long, value_name = "FILE")]
    pub ip_ranges: Option<PathBuf>,

    /// Ask this DNS server (IP or IP:PORT) instead of the system's when probing your machine's
    /// path to Session Manager's endpoints
    #[arg(long, value_name = "IP[:PORT]", env = "SSM_DOCTOR_RESOLVER", value_parser = parse_resolver)]
    pub resolver: Option<std::net::SocketAddr>,
}

/// A DNS server: `IP` (port 53) or `IP:PORT` (`[IPv6]:PORT`).
fn parse_resolver(text: &str) -> Result<std::net::SocketAddr, String> {
    if let Ok(ip) = text.parse::<std::net::IpAddr>() {
        return Ok(std::net::SocketAddr::new(ip, 53));
    }
    text.parse()
        .map_err(|_| format!("{} is not an IP address or IP:PORT", shown(text)))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// `auto` follows the conventions: colour only on a terminal, never with NO_COLOR or TERM=dumb.
    pub fn enabled(self) -> bool {
        use std::io::IsTerminal;
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
                let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
                !no_color && !dumb && std::io::stdout().is_terminal()
            }
        }
    }
}

/// AWS resource ids: a prefix and 8 or 17 lowercase hex digits.
fn is_resource_id(id: &str, prefix: &str) -> bool {
    let hex = id.strip_prefix(prefix).unwrap_or("");
    matches!(hex.len(), 8 | 17)
        && hex
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
}

fn parse_vpc(id: &str) -> Result<String, String> {
    match is_resource_id(id, "vpc-") {
        true => Ok(id.to_string()),
        false => Err(format!(
            "{} is not a VPC id (vpc- and 8 or 17 hex digits)",
            shown(id)
        )),
    }
}

/// How long an echoed value may be: enough for any id or path a person types.
const SHOWN_CHARS: usize = 120;

/// What a value may look like when it is echoed back: short, quoted, control characters escaped.
pub fn shown(text: &str) -> String {
    let short: String = text.chars().take(SHOWN_CHARS).collect();
    let more = if text.chars().count() > SHOWN_CHARS {
        "…"
    } else {
        ""
    };
    format!("{short:?}{more}")
}

/// Refuses empty, overlong and control-character values: none can name an AWS resource.
fn plain(text: &str, what: &str, max: usize) -> Result<(), String> {
    if text.is_empty() {
        return Err(format!("{what} is empty"));
    }
    if text.chars().count() > max {
        return Err(format!(
            "{what} {} is longer than {max} characters",
            shown(text)
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(format!(
            "{what} {} contains control characters",
            shown(text)
        ));
    }
    Ok(())
}

/// `--region` of a diagnosis: a region, a comma-separated list of regions (each once), or `all`.
fn parse_regions(text: &str) -> Result<String, String> {
    if text == ALL_REGIONS {
        return Ok(text.to_string());
    }
    let mut regions: Vec<String> = vec![];
    for region in text.split(',').map(parse_region) {
        let region = region?;
        if !regions.contains(&region) {
            regions.push(region);
        }
    }
    Ok(regions.join(","))
}

/// `--region all`: every region enabled for the account.
pub const ALL_REGIONS: &str = "all";

/// Region names: `us-east-1`, `us-gov-west-1`, `eu-central-2`, `us-isob-east-1`.
fn parse_region(text: &str) -> Result<String, String> {
    let parts: Vec<&str> = text.split('-').collect();
    let ok = parts.len() >= 3
        && parts[0].len() == 2
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].len() <= 2
        && !parts[parts.len() - 1].is_empty()
        && parts[parts.len() - 1].chars().all(|c| c.is_ascii_digit());
    match ok {
        true => Ok(text.to_string()),
        false => Err(format!(
            "{} is not an AWS region (e.g. eu-west-1, us-east-1)",
            shown(text)
        )),
    }
}

fn parse_profile(text: &str) -> Result<String, String> {
    plain(text, "the profile name", 128)?;
    match text.chars().any(char::is_whitespace) {
        true => Err(format!("the profile name {} contains spaces", shown(text))),
        false => Ok(text.to_string()),
    }
}

/// Auto Scaling group names: 1 to 255 characters.
fn parse_asg(text: &str) -> Result<String, String> {
    plain(text, "the Auto Scaling group name", 255).map(|()| text.to_string())
}

/// EC2 tags: keys of 1 to 128 characters, values of at most 256.
fn parse_tag(text: &str) -> Result<(String, String), String> {
    let Some((key, value)) = text.split_once('=') else {
        return Err(format!("{} is not KEY=VALUE", shown(text)));
    };
    plain(key, "the tag key", 128)?;
    if !value.is_empty() {
        plain(value, "the tag value", 256)?;
    }
    Ok((key.to_string(), value.to_string()))
}

/// `db.internal:5432` or `10.0.2.15:5432`: an IPv4 address or a host name, and a port.
fn parse_forward(text: &str) -> Result<(String, u16), String> {
    plain(text, "HOST:PORT", 300)?;
    let (host, port) = text
        .rsplit_once(':')
        .ok_or_else(|| format!("{text:?} is not HOST:PORT (e.g. db.internal:5432)"))?;
    let port: u16 = port
        .parse()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| format!("{port:?} is not a port (1 to 65535)"))?;
    let name_like = |h: &str| {
        !h.is_empty()
            && h.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
    };
    match name_like(host) {
        true => Ok((host.to_ascii_lowercase(), port)),
        false => Err(format!(
            "{host:?} is not a host name or IPv4 address (IPv6 is not supported here)"
        )),
    }
}

/// A document name (`AWS-StartSSHSession`) or a shared document's ARN, as SSM allows them.
fn parse_document(text: &str) -> Result<String, String> {
    plain(text, "the document name", 256)?;
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_-.:/".contains(c);
    match text.chars().count() >= 3 && text.chars().all(allowed) {
        true => Ok(text.to_string()),
        false => Err(format!(
            "{} is not an SSM document name (3 or more of A-Z a-z 0-9 _ - ., or a document ARN)",
            shown(text)
        )),
    }
}

/// EC2 instance ids: `i-` and 8 or 17 lowercase hex digits.
pub fn validate_instance_id(id: &str) -> Result<(), String> {
    match is_resource_id(id, "i-") {
        true => Ok(()),
        false => Err(format!(
            "{} is not an EC2 instance id (expected i- followed by 8 or 17 hex digits, e.g. \
             i-0123456789abcdef0)",
            shown(id)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn selectors_are_validated() {
        assert_eq!(
            parse_tag("team=a=b").unwrap(),
            ("team".into(), "a=b".into())
        );
        assert_eq!(
            parse_tag("empty=").unwrap(),
            ("empty".into(), String::new())
        );
        assert!(parse_tag("=x").is_err() && parse_tag("novalue").is_err());
        assert!(parse_tag(&format!("{}=v", "k".repeat(129))).is_err());
        assert!(parse_tag("k=a\nb").is_err() && parse_asg("").is_err());
        for region in [
            "us-east-1",
            "us-gov-west-1",
            "eu-central-2",
            "us-isob-east-1",
        ] {
            assert_eq!(parse_region(region).as_deref(), Ok(region));
        }
        for bad in [
            "",
            "US-EAST-1",
            "us-east-1 ",
            "us_east_1",
            "eu-west",
            "../etc",
            "us-east-123",
        ] {
            assert!(parse_region(bad).is_err(), "{bad:?}");
        }
        assert!(parse_profile("prod").is_ok() && parse_profile("a b").is_err());
        assert!(parse_vpc("vpc-0a1b2c3d4e5f67890").is_ok() && parse_vpc("vpc-1").is_err());
        assert_eq!(
            parse_forward("DB.internal:5432"),
            Ok(("db.internal".to_string(), 5432))
        );
        assert_eq!(
            parse_forward("10.0.2.15:22"),
            Ok(("10.0.2.15".to_string(), 22))
        );
        for bad in [
            "db", "db:", ":5432", "db:0", "db:70000", "d b:1", "[::1]:22", "a..b:1",
        ] {
            assert!(parse_forward(bad).is_err(), "{bad:?}");
        }
        for document in [
            "AWS-StartSSHSession",
            "arn:aws:ssm:eu-west-1:111122223333:document/Team-Shell",
        ] {
            assert_eq!(parse_document(document).as_deref(), Ok(document));
        }
        for bad in ["", "ab", "AWS StartSSHSession", "doc\n", "dé-doc"] {
            assert!(parse_document(bad).is_err(), "{bad:?}");
        }
        let all_and_ids = Cli::try_parse_from(["ssm-doctor", "--all", "i-0123456789abcdef0"]);
        assert!(all_and_ids.is_err());
    }

    #[test]
    fn instance_ids_are_validated() {
        assert!(validate_instance_id("i-0123456789abcdef0").is_ok());
        assert!(validate_instance_id("i-12345678").is_ok());
        for bad in [
            "i-123",
            "0123456789abcdef0",
            "i-0123456789ABCDEF0",
            "i-0123456789abcdefg",
            "explain",
        ] {
            assert!(validate_instance_id(bad).is_err(), "{bad}");
        }
    }
}
