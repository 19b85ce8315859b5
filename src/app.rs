//! What the binary does with parsed arguments: explain, list, or diagnose (from AWS or a snapshot).

use crate::catalog::Catalog;
use crate::checks::{self, REGISTRY};
use crate::cli::{Cli, Command, Diagnose, EXIT_USAGE, validate_instance_id};
use crate::collect::{Aws, Selection, Settings};
use crate::facts::{CollectionStats, FACTS_SCHEMA_VERSION, Facts};
use crate::progress;
use crate::render::{page::check_page, render, render_fleet};
use crate::report::{FleetReport, Stats};
use clap::Parser;
use std::process::ExitCode;
use std::time::Duration;

/// A message for stderr and the exit code to leave with.
struct Failure(String, u8);

fn usage(message: impl Into<String>) -> Failure {
    Failure(message.into(), EXIT_USAGE)
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Explain { check_id }) => explain(&check_id),
        Some(Command::Checks) => {
            print!("{}", list_checks());
            Ok(0)
        }
        None => diagnose(&cli.diagnose),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(Failure(message, code)) => {
            eprintln!("ssm-doctor: error: {message}");
            ExitCode::from(code)
        }
    }
}

fn explain(id: &str) -> Result<u8, Failure> {
    let page = Catalog::get().page(id).ok_or_else(|| {
        usage(format!(
            "unknown check id {id:?}; `ssm-doctor checks` lists them"
        ))
    })?;
    print!("{}", check_page(page));
    Ok(0)
}

fn list_checks() -> String {
    let catalog = Catalog::get();
    let mut out = String::new();
    for check in REGISTRY {
        let page = catalog
            .page(check.id)
            .expect("every registered check has a page");
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

fn diagnose(args: &Diagnose) -> Result<u8, Failure> {
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
    let (facts, stats, fleet) = match &args.facts {
        Some(path) => load_facts(path, &selection.instance_ids)?,
        None => {
            if from_stdin && selection.instance_ids.is_empty() {
                return Err(usage("no instance id on standard input"));
            }
            if !selection.names_targets() {
                return Err(usage(
                    "say which instances: INSTANCE_ID..., -, --asg, --tag, --vpc or --all (or --facts FILE); see --help",
                ));
            }
            let (facts, stats) = collect(args, &selection)?;
            (facts, stats, selection.is_fleet())
        }
    };
    if let Some(path) = &args.save_facts {
        let json = match fleet {
            true => serde_json::to_string_pretty(&facts),
            false => serde_json::to_string_pretty(&facts[0]),
        }
        .expect("facts are plain data");
        std::fs::write(path, json + "\n")
            .map_err(|e| usage(format!("cannot write {}: {e}", path.display())))?;
    }
    let color = args.color.enabled();
    if !fleet {
        let report = checks::run(&facts[0]);
        print!("{}", render(&report, args.output, color));
        return Ok(report.verdict.exit_code());
    }
    if facts.is_empty() {
        eprintln!("ssm-doctor: no instance matched the selection");
    }
    let stats = Stats {
        api_calls: stats.api_calls,
        duration_ms: stats.duration_ms,
    };
    let fleet = FleetReport::new(facts.iter().map(checks::run).collect(), stats);
    print!("{}", render_fleet(&fleet, args.output, color));
    Ok(fleet.exit_code())
}

/// A snapshot holds one instance's facts (an object) or a fleet's (an array).
fn load_facts(
    path: &std::path::Path,
    ids: &[String],
) -> Result<(Vec<Facts>, CollectionStats, bool), Failure> {
    let shown = path.display();
    let text =
        std::fs::read_to_string(path).map_err(|e| usage(format!("cannot read {shown}: {e}")))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| usage(format!("{shown} is not JSON: {e}")))?;
    let (items, fleet) = match value {
        serde_json::Value::Array(items) => (items, true),
        single => (vec![single], false),
    };
    let mut facts = Vec::with_capacity(items.len());
    for item in items {
        let version = item
            .get("schema_version")
            .and_then(serde_json::Value::as_u64);
        if version != Some(u64::from(FACTS_SCHEMA_VERSION)) {
            return Err(usage(format!(
                "{shown} is not an ssm-doctor facts snapshot of schema version {FACTS_SCHEMA_VERSION} (found {version:?})"
            )));
        }
        let f: Facts = serde_json::from_value(item)
            .map_err(|e| usage(format!("{shown} is not a valid facts snapshot: {e}")))?;
        facts.push(f);
    }
    if !ids.is_empty() {
        let held: Vec<String> = facts.iter().map(|f| f.target.instance_id.clone()).collect();
        facts.retain(|f| ids.contains(&f.target.instance_id));
        if facts.is_empty() {
            return Err(usage(format!(
                "{shown} holds facts about {}, not {}",
                held.join(", "),
                ids.join(", ")
            )));
        }
    }
    if facts.is_empty() {
        return Err(usage(format!("{shown} holds no instance")));
    }
    // The instances of one snapshot were collected together: the first carries the run's totals.
    let stats = facts[0].stats.clone();
    // Naming one instance of a fleet snapshot asks for that instance's own report.
    Ok((facts, stats, fleet && ids.len() != 1))
}

fn collect(
    args: &Diagnose,
    selection: &Selection,
) -> Result<(Vec<Facts>, CollectionStats), Failure> {
    let settings = Settings {
        region: args.region.clone(),
        profile: args.profile.clone(),
        max_attempts: args.max_attempts,
        timeout: Duration::from_secs(args.timeout),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure(format!("cannot start the async runtime: {e}"), 3))?;
    runtime.block_on(async {
        let aws = Aws::connect(&settings)
            .await
            .map_err(|e| Failure(e.to_string(), e.exit_code()))?;
        let progress = progress::Spinner::default();
        let facts = tokio::select! {
            facts = aws.collect(selection) => facts,
            never = progress.run(&aws) => match never {},
        };
        progress.finish();
        facts.map_err(|e| Failure(e.to_string(), e.exit_code()))
    })
}
