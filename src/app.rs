//! What the binary does with parsed arguments: explain, list, or diagnose (from AWS or a snapshot).

use crate::analysis::ip_ranges::IpRanges;
use crate::catalog::Catalog;
use crate::checks::Reference;
use crate::cli::{self, Cli, Command, Diagnose, shown, validate_instance_id};
use crate::collect::{Aws, Reader, Selection, Settings, SetupError};
use crate::connect::{self, Invocation};
use crate::diagnose::{self, Answer, Diagnosis, Session, Source};
use crate::exit::Exit;
use crate::facts::{self, Facts, REMOTE_HOST_DOCUMENT};
use crate::probe::net::Reaching;
use crate::progress;
use crate::render::fix::{self, FixFormat};
use crate::render::{self, Format, fleet, page::check_page, redact::Redactor, render};
use crate::report::{Report, Stats, Verdict};
use crate::text::one_line;
use crate::{checks, probe};
use clap::{CommandFactory, Parser};
use std::cell::RefCell;
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// A message for stderr and the exit code to leave with.
struct Failure(String, Exit);

fn usage(message: impl Into<String>) -> Failure {
    Failure(message.into(), Exit::Usage)
}

pub fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let place = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()));
        eprintln!("{}", internal_error_line(&what, place.as_deref()));
    }));
    ExitCode::from(guarded(run))
}

/// Runs `body`, turning a panic (already reported by the hook, one line instead of a backtrace)
/// into [`Exit::Internal`].
fn guarded(body: impl FnOnce() -> Exit + std::panic::UnwindSafe) -> Exit {
    std::panic::catch_unwind(body).unwrap_or(Exit::Internal)
}

fn internal_error_line(what: &str, place: Option<&str>) -> String {
    let what = one_line(what, MAX_ERROR_LINE);
    format!(
        "ssm-doctor: internal error: {what}{}. This is a bug in ssm-doctor {}: please report it \
         with the command you ran (exit code {}).",
        place.map(|p| format!(" (at {p})")).unwrap_or_default(),
        env!("CARGO_PKG_VERSION"),
        Exit::Internal.code(),
    )
}

fn run() -> Exit {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Explain { check_id }) => explain(&check_id),
        Some(Command::Checks) => {
            print!("{}", list_checks());
            Ok(Exit::Healthy)
        }
        Some(Command::Policy) => {
            print!("{}", crate::collect::POLICY);
            Ok(Exit::Healthy)
        }
        Some(Command::Local(args)) => local(&args),
        Some(Command::Param(args)) => param(&args),
        Some(Command::Patch(args)) => patch(&args),
        Some(Command::Completions { shell }) => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "ssm-doctor", &mut out);
            emit(&out)
        }
        Some(Command::Man) => {
            let mut out = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut out)
                .expect("writing to memory cannot fail");
            emit(&out)
        }
        None => diagnose(&cli.diagnose),
    };
    match result {
        Ok(code) => code,
        Err(Failure(message, code)) => {
            eprintln!("ssm-doctor: error: {}", one_line(&message, MAX_ERROR_LINE));
            code
        }
    }
}

/// Writes a generated document to standard output.
fn emit(bytes: &[u8]) -> Result<Exit, Failure> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(Exit::Healthy),
        // `| head`: the reader has what it wanted.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(Exit::Healthy),
        Err(e) => Err(usage(format!("cannot write to standard output: {e}"))),
    }
}

/// The longest error line: a parser's message can quote a whole hostile input.
const MAX_ERROR_LINE: usize = 400;

fn explain(id: &str) -> Result<Exit, Failure> {
    let page = Catalog::get().page(id).ok_or_else(|| {
        usage(format!(
            "unknown check id {}; `ssm-doctor checks` lists them",
            shown(id)
        ))
    })?;
    print!("{}", check_page(page));
    Ok(Exit::Healthy)
}

fn list_checks() -> String {
    let mut out = String::new();
    for page in Catalog::get().pages() {
        out.push_str(&format!(
            "{:<22} {:<9} {}\n",
            page.id, page.severity, page.title
        ));
    }
    out
}

/// Reads `-` from standard input (ids separated by whitespace) and validates every id.
fn instance_ids(args: &Diagnose) -> Result<Vec<String>, Failure> {
    let mut ids = Vec::new();
    for arg in &args.instance_ids {
        if arg == "-" {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
                .map_err(|e| usage(format!("cannot read instance ids from stdin: {e}")))?;
            ids.extend(text.split_whitespace().map(str::to_string));
        } else {
            ids.push(arg.clone());
        }
    }
    for id in &ids {
        validate_instance_id(id).map_err(usage)?;
    }
    let mut seen = std::collections::BTreeSet::new();
    ids.retain(|id| seen.insert(id.clone()));
    Ok(ids)
}

fn diagnose(args: &Diagnose) -> Result<Exit, Failure> {
    let from_stdin = args.instance_ids.iter().any(|a| a == "-");
    let selection = Selection {
        instance_ids: instance_ids(args)?,
        asg: args.asg.clone(),
        tags: args.tag.clone(),
        vpc: args.vpc.clone(),
        all: args.all,
        unmanaged: args.unmanaged,
        from_stdin,
    };
    // A bad --ip-ranges file is said before anything is asked of AWS.
    let reference = Reference {
        ip_ranges: match &args.ip_ranges {
            Some(path) => Some(Arc::new(ip_ranges(path)?)),
            None => None,
        },
    };
    let mut diagnosis = match &args.facts {
        Some(path) => {
            let (facts, fleet) = load_facts(path, &selection.instance_ids)?;
            if let Some(other) = facts
                .iter()
                .find(|f| f.command() != facts::Command::Session)
            {
                return Err(usage(format!(
                    "{} holds facts of `ssm-doctor {}`: judge them with that command's --facts",
                    shown(&path.display().to_string()),
                    other.command().word()
                )));
            }
            let source = Source::Snapshot { facts, fleet };
            block_on(diagnose::diagnose(source, &session(args)))?
        }
        None => {
            if from_stdin && selection.instance_ids.is_empty() {
                return Err(usage("no instance id on standard input"));
            }
            if !selection.names_targets() {
                return Err(usage(
                    "say which instances: INSTANCE_ID..., -, --asg, --tag, --vpc or --all (or --facts FILE); see --help",
                ));
            }
            if args.watch {
                return watch(args, &selection, &reference);
            }
            match args.region.as_deref() {
                Some(r) if r == cli::ALL_REGIONS || r.contains(',') => {
                    if !selection.instance_ids.is_empty() || selection.asg.is_some() {
                        return Err(usage(
                            "several regions (--region a,b or all) go with --all, --tag or --vpc: \
                             an instance id or an Auto Scaling group belongs to one region",
                        ));
                    }
                    from_regions(args, &selection, r)?
                }
                _ => from_aws(args, &selection)?,
            }
        }
    };
    diagnosis.reference = reference;
    if let Some(path) = &args.save_facts {
        save_facts(path, &diagnosis)?;
    }
    let color = args.presentation.color.enabled();
    let redactor = args
        .redact
        .then(|| Redactor::new(diagnosis.facts()))
        .map(RefCell::new);
    // Every report goes through the one redactor, in order: a value gets the same pseudonym
    // wherever it appears, as in one document.
    let redacted = |report: Report| match &redactor {
        Some(r) => r.borrow_mut().value(&report),
        None => report,
    };
    let fix = match (args.fix_script, args.fix_format) {
        (true, _) => Some(FixFormat::Shell),
        (false, format) => format,
    };
    match (diagnosis.answer(), fix) {
        (Answer::One(report), Some(format)) => {
            let report = redacted(*report);
            print!("{}", fix::render(&report, format, args.profile.as_deref()));
            Ok(report.verdict.exit())
        }
        (Answer::Fleet(_), Some(_)) => Err(usage(
            "--fix-script and --fix-format take one instance: name it (INSTANCE_ID)",
        )),
        (Answer::Fleet(_), None) if args.presentation.output == Format::Dot => Err(usage(
            "--output dot draws one instance's path: name it (INSTANCE_ID)",
        )),
        (Answer::One(mut report), None) => {
            if matches!(report.verdict, Verdict::Pass | Verdict::Warn) {
                report.connect = Some(connect::hints(&report.target, &invocation(args)));
            }
            let report = redacted(*report);
            print!("{}", render(&report, args.presentation.output, color));
            Ok(report.verdict.exit())
        }
        (Answer::Fleet(instances), None) => {
            if instances.is_empty() {
                eprintln!("ssm-doctor: no instance matched the selection");
            }
            let reports = || instances.reports().map(redacted);
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            let written = fleet::write(
                reports,
                instances.stats,
                args.presentation.output,
                color,
                &mut out,
            )
            .and_then(|overview| out.flush().map(|()| overview));
            match written {
                Ok(overview) => Ok(overview.summary.exit()),
                Err(e) => Err(Failure(
                    format!("cannot write the report: {e}"),
                    Exit::Internal,
                )),
            }
        }
    }
}

/// `--ip-ranges`: AWS's ip-ranges.json, read whole.
fn ip_ranges(path: &std::path::Path) -> Result<IpRanges, Failure> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| usage(format!("cannot read --ip-ranges {shown}: {e}")))?;
    IpRanges::parse(&text).map_err(|why| usage(format!("--ip-ranges {shown} {why}")))
}

/// `--save-facts`: one instance's facts as an object, a fleet's as an array.
fn save_facts(path: &std::path::Path, diagnosis: &Diagnosis) -> Result<(), Failure> {
    let all: Vec<&Facts> = diagnosis.facts().collect();
    let write = || -> std::io::Result<()> {
        let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
        match (diagnosis.fleet, all.as_slice()) {
            (false, [single]) => serde_json::to_writer_pretty(&mut file, single),
            (_, all) => serde_json::to_writer_pretty(&mut file, all),
        }?;
        file.write_all(b"\n")?;
        file.flush()
    };
    write().map_err(|e| {
        usage(format!(
            "cannot write {}: {e}",
            shown(&path.display().to_string())
        ))
    })
}

/// A snapshot file: one instance's facts, or a fleet's (and whether a fleet report is wanted).
fn load_facts(path: &std::path::Path, ids: &[String]) -> Result<(Vec<Facts>, bool), Failure> {
    let name = shown(&path.display().to_string());
    let bytes = std::fs::read(path).map_err(|e| usage(format!("cannot read {name}: {e}")))?;
    let (mut facts, fleet) =
        facts::parse_snapshot(&bytes).map_err(|e| usage(format!("{name}: {e}")))?;
    if !ids.is_empty() {
        let held = a_few(facts.iter().map(|f| f.target.instance_id.as_str()));
        facts.retain(|f| ids.contains(&f.target.instance_id));
        if facts.is_empty() {
            let asked = a_few(ids.iter().map(String::as_str));
            return Err(usage(format!(
                "{name} holds facts about {held}, not {asked}"
            )));
        }
    }
    if facts.is_empty() {
        return Err(usage(format!("{name} holds no instance")));
    }
    // Naming one instance of a fleet snapshot asks for that instance's own report.
    Ok((facts, fleet && ids.len() != 1))
}

/// Up to three items (each shortened) and how many more: an error line stays one readable line.
fn a_few<'a>(items: impl ExactSizeIterator<Item = &'a str>) -> String {
    let total = items.len();
    let first: Vec<String> = items.take(3).map(shown).collect();
    match total - first.len() {
        0 => first.join(", "),
        more => format!("{} and {more} more", first.join(", ")),
    }
}

fn session(args: &Diagnose) -> Session {
    // Forwarding to a remote host means its document, unless another is named.
    let forwarding = args
        .forward
        .as_ref()
        .map(|_| REMOTE_HOST_DOCUMENT.to_string());
    Session {
        document: args.document.clone().or(forwarding),
        forward: args.forward.clone(),
        network: Reaching {
            resolver: args.resolver,
            https_port: https_port(),
            ..Reaching::default()
        },
    }
}

/// The variable that moves the probes' port 443 elsewhere: tests' TLS listeners.
const HTTPS_PORT_VARIABLE: &str = "SSM_DOCTOR_HTTPS_PORT";

fn https_port() -> u16 {
    std::env::var(HTTPS_PORT_VARIABLE)
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(probe::net::HTTPS_PORT)
}

/// `ssm-doctor param`: whether an application can read its parameter.
fn param(args: &cli::Param) -> Result<Exit, Failure> {
    let reader = Reader {
        name: &args.name,
        by_path: args.by_path,
        instance: args.instance.as_deref(),
        role: args.role.as_deref(),
    };
    task(&args.common, Job::Param(reader))
}

/// `ssm-doctor patch`: whether Patch Manager patches the instance.
fn patch(args: &cli::Patch) -> Result<Exit, Failure> {
    task(&args.common, Job::Patch(&args.instance_id))
}

/// Who reads a parameter, as a message says it.
fn reader_of(role: Option<&str>, instance_id: &str) -> String {
    match role {
        Some(role) => format!("role {role}"),
        None => instance_id.to_string(),
    }
}

fn by_path(yes: bool) -> &'static str {
    match yes {
        true => " by path",
        false => "",
    }
}

/// What a subcommand asks of AWS.
enum Job<'a> {
    Param(Reader<'a>),
    Patch(&'a str),
}

/// A subcommand's run: its facts gathered from AWS (or loaded from `--facts`), judged by its
/// checks, reported like the main command's.
fn task(options: &cli::TaskOptions, job: Job) -> Result<Exit, Failure> {
    let command = match &job {
        Job::Param(_) => facts::Command::Param,
        Job::Patch(_) => facts::Command::Patch,
    };
    let (facts, stats) = match &options.facts {
        Some(path) => {
            let (mut all, _) = load_facts(path, &[])?;
            let name = shown(&path.display().to_string());
            let facts = match (all.len(), all.first().map(Facts::command)) {
                (1, Some(c)) if c == command => all.remove(0),
                _ => {
                    return Err(usage(format!(
                        "{name} holds no facts of `ssm-doctor {}` (save them with its \
                         --save-facts)",
                        command.word()
                    )));
                }
            };
            // The snapshot answers the question asked, not another one.
            let (held, asked) = match (&job, &facts.task) {
                (Job::Param(reader), Some(facts::Task::Param(p))) => {
                    let held = format!(
                        "{} read by {}{}",
                        p.name,
                        reader_of(p.role.as_deref(), &facts.target.instance_id),
                        by_path(p.by_path)
                    );
                    let asked = format!(
                        "{} read by {}{}",
                        reader.name,
                        reader_of(reader.role, reader.instance.unwrap_or_default()),
                        by_path(reader.by_path)
                    );
                    (held, asked)
                }
                (Job::Patch(id), _) => (facts.target.instance_id.clone(), id.to_string()),
                _ => (String::new(), String::new()),
            };
            if held != asked {
                return Err(usage(format!(
                    "{name} holds facts of {held}, not of {asked}"
                )));
            }
            (facts, Stats::default())
        }
        None => {
            let settings = Settings {
                region: options.region.clone(),
                profile: options.profile.clone(),
                max_attempts: options.patience.max_attempts,
                timeout: Duration::from_secs(options.patience.timeout),
                deadline: Duration::from_secs(options.patience.deadline),
                operator: false,
                session_manager: false,
            };
            block_on(async {
                let aws = Aws::connect(&settings).await?;
                let (facts, cost) = match &job {
                    Job::Param(reader) => aws.param(reader).await?,
                    Job::Patch(id) => aws.patch(id).await?,
                };
                Ok((facts, diagnose::stats(&cost, cost.done_after)))
            })?
        }
    };
    if let Some(path) = &options.save_facts {
        let diagnosis = Diagnosis {
            instances: vec![(facts.clone(), stats.clone())],
            fleet: false,
            stats: stats.clone(),
            reference: Reference::default(),
        };
        save_facts(path, &diagnosis)?;
    }
    let report = checks::run(&facts, stats);
    let report = match options.redact {
        true => Redactor::new([&facts]).value(&report),
        false => report,
    };
    show(&report, &options.presentation);
    Ok(report.verdict.exit())
}

/// Prints one report as the command line asks.
fn show(report: &Report, how: &cli::Presentation) {
    print!("{}", render(report, how.output, how.color.enabled()));
}

/// `ssm-doctor local`: the instance observed from inside, judged by the same catalogue.
fn local(args: &cli::Local) -> Result<Exit, Failure> {
    let environment = std::env::vars()
        .filter(|(name, _)| probe::agent::is_proxy_variable(name))
        .collect();
    let config = probe::instance::Local {
        imds: std::env::var(probe::imds::ENDPOINT_VARIABLE)
            .ok()
            .filter(|e| !e.is_empty())
            .unwrap_or_else(|| probe::imds::DEFAULT_ENDPOINT.to_string()),
        region: args.region.clone(),
        reaching: Reaching {
            resolver: args.resolver,
            https_port: https_port(),
            timeout: Duration::from_secs(args.timeout),
        },
        root: args.root.clone(),
        services: args.services.clone(),
        path: std::env::var_os("PATH").unwrap_or_default(),
        environment,
    };
    let started = std::time::Instant::now();
    let facts = block_on(async { Ok(probe::instance::observe(&config).await) })?;
    let stats = Stats {
        api_calls: 0,
        retries: 0,
        duration_ms: started.elapsed().as_millis().try_into().unwrap_or(u64::MAX),
    };
    let report = checks::run(&facts, stats);
    show(&report, &args.presentation);
    Ok(report.verdict.exit())
}

/// The stack the run's thread gets: the SDK's futures nest deep (S3's most of all), more than a
/// main thread's 8 MiB holds in a debug build.
const RUN_STACK: usize = 64 << 20;

/// The async runtime a run needs: one thread, since the work is waiting on the network, with a
/// stack of its own.
fn block_on<T: Send>(
    work: impl Future<Output = Result<T, SetupError>> + Send,
) -> Result<T, Failure> {
    // Moved only as a pointer from here on: the future is hundreds of KiB in a debug build.
    let work = Box::pin(work);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            Failure(
                format!("cannot start the async runtime: {e}"),
                Exit::Internal,
            )
        })?;
    let answer = std::thread::scope(|scope| {
        let run = std::thread::Builder::new()
            .name("run".into())
            .stack_size(RUN_STACK)
            .spawn_scoped(scope, || runtime.block_on(work))
            .map_err(|e| Failure(format!("cannot start a thread: {e}"), Exit::Internal))?;
        Ok(run
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
    })?;
    answer.map_err(|e| Failure(e.to_string(), e.exit()))
}

fn invocation(args: &Diagnose) -> Invocation<'_> {
    Invocation {
        profile: args.profile.as_deref(),
        forward: args.forward.as_ref(),
    }
}

fn settings(args: &Diagnose) -> Settings {
    Settings {
        region: args.region.clone(),
        profile: args.profile.clone(),
        max_attempts: args.patience.max_attempts,
        timeout: Duration::from_secs(args.patience.timeout),
        deadline: Duration::from_secs(args.patience.deadline),
        operator: !args.no_operator,
        session_manager: true,
    }
}

/// Several regions, each diagnosed with its own clients, all at once; one fleet of them all.
fn from_regions(
    args: &Diagnose,
    selection: &Selection,
    wanted: &str,
) -> Result<Diagnosis, Failure> {
    let base = settings(args);
    let session = session(args);
    block_on(async {
        let started = std::time::Instant::now();
        let mut listing = 0;
        let regions: Vec<String> = if wanted == cli::ALL_REGIONS {
            // Any region lists them; without one configured, the first AWS had.
            let home = match Aws::connect(&Settings {
                region: None,
                ..base.clone()
            })
            .await
            {
                Err(SetupError::NoRegion) => {
                    let region = Some("us-east-1".to_string());
                    Aws::connect(&Settings {
                        region,
                        ..base.clone()
                    })
                    .await?
                }
                connected => connected?,
            };
            let regions = home.enabled_regions().await?;
            listing = home.api_calls();
            regions
        } else {
            wanted.split(',').map(str::to_string).collect()
        };
        let each = regions.iter().map(|region| {
            let settings = Settings {
                region: Some(region.clone()),
                ..base.clone()
            };
            let session = &session;
            async move {
                let aws = Aws::connect(&settings).await?;
                diagnose::diagnose(
                    Source::Aws {
                        aws: &aws,
                        selection,
                    },
                    session,
                )
                .await
            }
        });
        let diagnoses = futures::future::try_join_all(each).await?;
        let mut merged = Diagnosis::merged(diagnoses);
        merged.stats.api_calls += listing;
        merged.stats.duration_ms = started.elapsed().as_millis().try_into().unwrap_or(u64::MAX);
        Ok(merged)
    })
}

fn from_aws(args: &Diagnose, selection: &Selection) -> Result<Diagnosis, Failure> {
    block_on(async {
        let aws = Aws::connect(&settings(args)).await?;
        let progress = progress::Spinner::default();
        let session = session(args);
        let diagnosis = tokio::select! {
            diagnosis = diagnose::diagnose(Source::Aws { aws: &aws, selection }, &session) => diagnosis,
            never = progress.run(&aws) => match never {},
        };
        progress.finish();
        diagnosis
    })
}

/// `--watch`: the one instance diagnosed every `--interval` with the same clients (so that what a
/// round has read and cannot have changed, a policy version's document, is not asked again),
/// until it is healthy or `--watch-for` runs out.
fn watch(args: &Diagnose, selection: &Selection, reference: &Reference) -> Result<Exit, Failure> {
    if selection.instance_ids.len() != 1 {
        return Err(usage("--watch follows one instance: name it (INSTANCE_ID)"));
    }
    if !matches!(args.presentation.output, Format::Human | Format::Json) {
        return Err(usage(
            "--watch prints human output or JSON lines (--output json)",
        ));
    }
    let color = args.presentation.color.enabled();
    let interval = Duration::from_secs(args.interval);
    let limit = Duration::from_secs(args.watch_for);
    if args
        .region
        .as_deref()
        .is_some_and(|r| r == cli::ALL_REGIONS || r.contains(','))
    {
        return Err(usage("--watch follows one instance in one region"));
    }
    let asked = invocation(args);
    block_on(async {
        let aws = Aws::connect(&settings(args)).await?;
        let session = session(args);
        let started = std::time::Instant::now();
        let mut last: Option<Report> = None;
        for n in 1.. {
            let mut diagnosis = diagnose::diagnose(
                Source::Aws {
                    aws: &aws,
                    selection,
                },
                &session,
            )
            .await?;
            diagnosis.reference = reference.clone();
            let Answer::One(report) = diagnosis.answer() else {
                let failure = Failure(
                    "--watch diagnosed no single instance".into(),
                    Exit::Internal,
                );
                return Ok(Err(failure));
            };
            let mut report = *report;
            let healthy = matches!(report.verdict, Verdict::Pass | Verdict::Warn);
            if healthy {
                report.connect = Some(connect::hints(&report.target, &asked));
            }
            let text = match (&last, args.presentation.output) {
                (_, Format::Json) => format!(
                    "{}\n",
                    serde_json::to_string(&report).expect("a report is plain data")
                ),
                (None, _) => render(&report, Format::Human, color),
                (Some(before), _) => {
                    let seconds = started.elapsed().as_secs();
                    render::watch::round(n, seconds, before, &report, color)
                }
            };
            if let Err(failure) = emit(text.as_bytes()) {
                return Ok(Err(failure));
            }
            let left = limit.saturating_sub(started.elapsed());
            if healthy || left < interval {
                if !healthy && args.presentation.output == Format::Human {
                    eprintln!(
                        "ssm-doctor: still not healthy after {} s of watching (--watch-for)",
                        started.elapsed().as_secs()
                    );
                }
                return Ok(Ok(report.verdict.exit()));
            }
            if args.presentation.output == Format::Human {
                let next = format!(
                    "Watching: the next round in {} s (Ctrl-C stops).",
                    interval.as_secs()
                );
                if let Err(failure) = emit(format!("{next}\n").as_bytes()) {
                    return Ok(Err(failure));
                }
            }
            tokio::time::sleep(interval).await;
            last = Some(report);
        }
        unreachable!("the rounds end by returning")
    })?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_the_internal_error_exit_code() {
        assert_eq!(guarded(|| Exit::Healthy), Exit::Healthy);
        let quiet = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let code = guarded(|| panic!("boom"));
        std::panic::set_hook(quiet);
        assert_eq!(code, Exit::Internal);
    }

    #[test]
    fn the_internal_error_is_one_line() {
        let line = internal_error_line("index out of\nbounds", Some("src/x.rs:3"));
        assert_eq!(line.lines().count(), 1);
        assert!(
            line.starts_with("ssm-doctor: internal error: index out of bounds (at src/x.rs:3).")
        );
        assert!(line.contains("please report"));
    }
}
