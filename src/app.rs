//! What the binary does with parsed arguments: explain, list, or diagnose (from AWS or a snapshot).

use crate::catalog::Catalog;
use crate::checks::{self, REGISTRY};
use crate::cli::{Cli, Command, Diagnose, EXIT_USAGE, validate_instance_id};
use crate::collect::{Aws, Settings};
use crate::facts::{FACTS_SCHEMA_VERSION, Facts};
use crate::render::{page::check_page, render};
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

fn diagnose(args: &Diagnose) -> Result<u8, Failure> {
    if let Some(id) = &args.instance_id {
        validate_instance_id(id).map_err(usage)?;
    }
    let facts = match &args.facts {
        Some(path) => load_facts(path, args.instance_id.as_deref())?,
        None => {
            let id = args
                .instance_id
                .as_deref()
                .ok_or_else(|| usage("missing INSTANCE_ID (or --facts FILE); see --help"))?;
            collect(args, id)?
        }
    };
    if let Some(path) = &args.save_facts {
        let json = serde_json::to_string_pretty(&facts).expect("facts are plain data");
        std::fs::write(path, json + "\n")
            .map_err(|e| usage(format!("cannot write {}: {e}", path.display())))?;
    }
    let report = checks::run(&facts);
    print!("{}", render(&report, args.output, args.color.enabled()));
    Ok(report.verdict.exit_code())
}

fn load_facts(path: &std::path::Path, instance_id: Option<&str>) -> Result<Facts, Failure> {
    let shown = path.display();
    let text =
        std::fs::read_to_string(path).map_err(|e| usage(format!("cannot read {shown}: {e}")))?;
    let version = serde_json::from_str::<serde_json::Value>(&text)
        .map_err(|e| usage(format!("{shown} is not JSON: {e}")))?
        .get("schema_version")
        .and_then(serde_json::Value::as_u64);
    if version != Some(u64::from(FACTS_SCHEMA_VERSION)) {
        return Err(usage(format!(
            "{shown} is not an ssm-doctor facts snapshot of schema version {FACTS_SCHEMA_VERSION} (found {version:?})"
        )));
    }
    let facts: Facts = serde_json::from_str(&text)
        .map_err(|e| usage(format!("{shown} is not a valid facts snapshot: {e}")))?;
    if let Some(id) = instance_id
        && id != facts.target.instance_id
    {
        return Err(usage(format!(
            "{shown} holds facts about {}, not {id}",
            facts.target.instance_id
        )));
    }
    Ok(facts)
}

fn collect(args: &Diagnose, instance_id: &str) -> Result<Facts, Failure> {
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
            .map_err(|e| usage(e.to_string()))?;
        aws.collect(instance_id)
            .await
            .map_err(|e| usage(e.to_string()))
    })
}
