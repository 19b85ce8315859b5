//! Several instances at once: a table with each instance's verdict and first problem.

use super::{human, markdown};
use crate::report::{FleetReport, Report, Verdict};
use owo_colors::OwoColorize;
use std::fmt::Write;

fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "✓ pass",
        Verdict::Warn => "! warn",
        Verdict::Fail => "✗ fail",
        Verdict::Incomplete => "? incomplete",
    }
}

fn first_problem(r: &Report) -> String {
    r.first_problem()
        .map_or_else(|| "-".to_string(), |f| f.id.clone())
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else {
        let mut t: String = text.chars().take(width - 1).collect();
        t.push('…');
        t
    }
}

pub fn human(fleet: &FleetReport, color: bool) -> String {
    let mut out = String::new();
    let s = &fleet.summary;
    let first = fleet.reports.first().map(|r| &r.target);
    let _ = writeln!(
        out,
        "ssm-doctor · {} instance{} · account {} · {}\n",
        s.instances,
        if s.instances == 1 { "" } else { "s" },
        first
            .and_then(|t| t.account.as_deref())
            .unwrap_or("unknown"),
        first.map_or("", |t| t.region.as_str())
    );
    if fleet.reports.is_empty() {
        let _ = writeln!(out, "No instance matched.");
    } else {
        let _ = writeln!(
            out,
            "{:<20} {:<18} {:<12} FIRST PROBLEM",
            "INSTANCE", "NAME", "VERDICT"
        );
        for r in &fleet.reports {
            let verdict = format!("{:<12}", verdict_word(r.verdict));
            let verdict = match (color, r.verdict) {
                (false, _) | (true, Verdict::Pass) => verdict,
                (true, Verdict::Fail) => verdict.red().bold().to_string(),
                (true, _) => verdict.yellow().to_string(),
            };
            let name = truncate(r.target.name.as_deref().unwrap_or("-"), 18);
            let _ = writeln!(
                out,
                "{:<20} {name:<18} {verdict} {}",
                r.target.instance_id,
                first_problem(r)
            );
        }
    }
    for sentence in fleet.not_observed() {
        let _ = writeln!(out, "\n{}", human::wrap(&sentence, 80));
    }
    let _ = writeln!(
        out,
        "\n{} pass, {} warn, {} fail, {} incomplete{}",
        s.pass,
        s.warn,
        s.fail,
        s.incomplete,
        human::cost(&fleet.stats)
    );
    let headline = match (s.fail, s.incomplete) {
        (0, 0) => "✓ Every instance should be reachable with Session Manager.".to_string(),
        (0, n) => format!("? {n} instance(s) could not be fully evaluated."),
        (n, _) => format!("✗ {n} instance(s) are NOT reachable with Session Manager."),
    };
    let _ = writeln!(out, "{}", human::wrap(&headline, 80));
    if s.fail + s.warn + s.incomplete > 0 {
        let _ = writeln!(out, "One instance's full report: ssm-doctor INSTANCE_ID");
    }
    out
}

pub fn markdown(fleet: &FleetReport) -> String {
    let mut out = String::new();
    let s = &fleet.summary;
    let region = fleet
        .reports
        .first()
        .map_or("", |r| r.target.region.as_str());
    let _ = writeln!(
        out,
        "## ssm-doctor: {} instance{} in `{region}`\n",
        s.instances,
        if s.instances == 1 { "" } else { "s" }
    );
    let _ = writeln!(
        out,
        "{} pass, {} warn, {} fail, {} incomplete{}\n",
        s.pass,
        s.warn,
        s.fail,
        s.incomplete,
        human::cost(&fleet.stats)
    );
    if fleet.reports.is_empty() {
        let _ = writeln!(out, "No instance matched.");
        return out;
    }
    let _ = writeln!(
        out,
        "| Instance | Name | Verdict | First problem |\n|---|---|---|---|"
    );
    for r in &fleet.reports {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} |",
            r.target.instance_id,
            r.target.name.as_deref().unwrap_or("").replace('|', "\\|"),
            verdict_word(r.verdict),
            r.first_problem()
                .map_or_else(|| "-".to_string(), |f| format!("`{}`", f.id))
        );
    }
    for sentence in fleet.not_observed() {
        let _ = writeln!(out, "\n_{sentence}_");
    }
    for r in fleet.reports.iter().filter(|r| r.verdict != Verdict::Pass) {
        let _ = writeln!(
            out,
            "\n<details><summary><code>{}</code>: {}</summary>\n\n{}\n</details>",
            r.target.instance_id,
            verdict_word(r.verdict),
            markdown::render(r)
        );
    }
    out
}
