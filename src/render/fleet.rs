//! Several instances at once: a table with each instance's verdict and first problem. The
//! instances' reports are judged as they are read (once for JSON, whose totals follow the
//! reports; twice for Markdown, whose totals and table come first), so a fleet of thousands is
//! never in memory as reports.

use super::{Format, human, markdown};
use crate::report::{FleetOverview, REPORT_SCHEMA_VERSION, Report, Stats, Verdict};
use owo_colors::OwoColorize;
use serde::ser::{SerializeStruct, Serializer};
use std::cell::RefCell;
use std::fmt::Write;
use std::io;

/// Writes a fleet's report to `out`; `reports` yields the instances' reports in order, each time
/// it is called. Returns what the reports added up to.
pub fn write<I: Iterator<Item = Report>>(
    reports: impl Fn() -> I,
    stats: &Stats,
    format: Format,
    color: bool,
    out: &mut impl io::Write,
) -> io::Result<FleetOverview> {
    if format == Format::Json {
        let document = Streamed {
            reports: &reports,
            overview: RefCell::default(),
            stats,
        };
        serde_json::to_writer_pretty(&mut *out, &document)?;
        out.write_all(b"\n")?;
        return Ok(document.overview.into_inner());
    }
    let overview = FleetOverview::of(reports());
    match format {
        Format::Markdown => markdown(&overview, stats, reports(), out)?,
        _ => out.write_all(human(&overview, stats, color).as_bytes())?,
    }
    Ok(overview)
}

/// The fleet's JSON document, its reports serialised as they are judged and counted on the way:
/// the totals follow them.
struct Streamed<'a, F> {
    reports: &'a F,
    overview: RefCell<FleetOverview>,
    stats: &'a Stats,
}

impl<F, I> serde::Serialize for Streamed<'_, F>
where
    F: Fn() -> I,
    I: Iterator<Item = Report>,
{
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut document = serializer.serialize_struct("FleetReport", 4)?;
        document.serialize_field("schema_version", &REPORT_SCHEMA_VERSION)?;
        let each = Each {
            reports: self.reports,
            overview: &self.overview,
        };
        document.serialize_field("reports", &each)?;
        document.serialize_field("summary", &self.overview.borrow().summary)?;
        document.serialize_field("stats", self.stats)?;
        document.end()
    }
}

struct Each<'a, F> {
    reports: &'a F,
    overview: &'a RefCell<FleetOverview>,
}

impl<F, I> serde::Serialize for Each<'_, F>
where
    F: Fn() -> I,
    I: Iterator<Item = Report>,
{
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq((self.reports)().inspect(|r| self.overview.borrow_mut().add(r)))
    }
}

fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "✓ pass",
        Verdict::Warn => "! warn",
        Verdict::Fail => "✗ fail",
        Verdict::Incomplete => "? incomplete",
    }
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

fn human(fleet: &FleetOverview, stats: &Stats, color: bool) -> String {
    let mut out = String::new();
    let s = &fleet.summary;
    let _ = writeln!(
        out,
        "ssm-doctor · {} instance{} · account {} · {}\n",
        s.instances,
        if s.instances == 1 { "" } else { "s" },
        fleet.account.as_deref().unwrap_or("unknown"),
        fleet.region
    );
    if fleet.rows.is_empty() {
        let _ = writeln!(out, "No instance matched.");
    } else {
        let _ = writeln!(
            out,
            "{:<20} {:<18} {:<12} FIRST PROBLEM",
            "INSTANCE", "NAME", "VERDICT"
        );
        for r in &fleet.rows {
            let verdict = format!("{:<12}", verdict_word(r.verdict));
            let verdict = match (color, r.verdict) {
                (false, _) | (true, Verdict::Pass) => verdict,
                (true, Verdict::Fail) => verdict.red().bold().to_string(),
                (true, _) => verdict.yellow().to_string(),
            };
            let name = truncate(r.name.as_deref().unwrap_or("-"), 18);
            let _ = writeln!(
                out,
                "{:<20} {name:<18} {verdict} {}",
                r.instance_id,
                r.first_problem.as_deref().unwrap_or("-")
            );
        }
    }
    for sentence in &fleet.not_observed {
        let _ = writeln!(out, "\n{}", human::wrap(sentence, 80));
    }
    let _ = writeln!(
        out,
        "\n{} pass, {} warn, {} fail, {} incomplete{}",
        s.pass,
        s.warn,
        s.fail,
        s.incomplete,
        human::cost(stats)
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

/// The table, then each instance that did not pass in full (its report read again).
fn markdown(
    fleet: &FleetOverview,
    stats: &Stats,
    reports: impl Iterator<Item = Report>,
    out: &mut impl io::Write,
) -> io::Result<()> {
    let mut head = String::new();
    let s = &fleet.summary;
    let _ = writeln!(
        head,
        "## ssm-doctor: {} instance{} in `{}`\n",
        s.instances,
        if s.instances == 1 { "" } else { "s" },
        fleet.region
    );
    let _ = writeln!(
        head,
        "{} pass, {} warn, {} fail, {} incomplete{}\n",
        s.pass,
        s.warn,
        s.fail,
        s.incomplete,
        human::cost(stats)
    );
    if fleet.rows.is_empty() {
        let _ = writeln!(head, "No instance matched.");
        return out.write_all(head.as_bytes());
    }
    let _ = writeln!(
        head,
        "| Instance | Name | Verdict | First problem |\n|---|---|---|---|"
    );
    for r in &fleet.rows {
        let _ = writeln!(
            head,
            "| `{}` | {} | {} | {} |",
            r.instance_id,
            r.name.as_deref().unwrap_or("").replace('|', "\\|"),
            verdict_word(r.verdict),
            r.first_problem
                .as_deref()
                .map_or_else(|| "-".to_string(), |id| format!("`{id}`"))
        );
    }
    for sentence in &fleet.not_observed {
        let _ = writeln!(head, "\n_{sentence}_");
    }
    out.write_all(head.as_bytes())?;
    for r in reports.filter(|r| r.verdict != Verdict::Pass) {
        writeln!(
            out,
            "\n<details><summary><code>{}</code>: {}</summary>\n\n{}\n</details>",
            r.target.instance_id,
            verdict_word(r.verdict),
            markdown::render(&r)
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::FleetSummary;
    use std::cell::Cell;

    fn reports() -> Vec<Report> {
        [
            include_str!("../../fixtures/healthy-private-endpoints.json"),
            include_str!("../../fixtures/broken-no-instance-profile.json"),
        ]
        .iter()
        .map(|text| {
            let facts = crate::facts::parse_snapshot(text.as_bytes()).unwrap().0;
            crate::checks::run(&facts[0], Stats::default())
        })
        .collect()
    }

    #[test]
    fn a_fleet_is_written_from_its_reports_read_one_at_a_time() {
        let all = reports();
        let reads = Cell::new(0);
        let each = || {
            reads.set(reads.get() + 1);
            all.clone().into_iter()
        };
        let stats = Stats {
            api_calls: 7,
            retries: 1,
            duration_ms: 5,
        };
        let mut json = Vec::new();
        let overview = write(each, &stats, Format::Json, false, &mut json).unwrap();
        // Once: the totals are counted as the reports are written.
        assert_eq!(reads.get(), 1);
        let document: serde_json::Value = serde_json::from_slice(&json).unwrap();
        // The fields in the order of the report's schema, the totals after the reports.
        let text = String::from_utf8(json.clone()).unwrap();
        let at = |key: &str| text.find(&format!("\n  \"{key}\":")).unwrap();
        assert!(at("schema_version") < at("reports") && at("reports") < at("summary"));
        assert!(at("summary") < at("stats"));
        assert_eq!(document["reports"].as_array().unwrap().len(), 2);
        let summary = FleetSummary {
            instances: 2,
            pass: 1,
            fail: 1,
            ..FleetSummary::default()
        };
        assert_eq!(overview.summary, summary);
        assert_eq!(document["summary"], serde_json::to_value(&summary).unwrap());
        assert_eq!(document["stats"]["retries"], 1);
        assert!(json.ends_with(b"}\n"));

        let mut human = Vec::new();
        write(each, &stats, Format::Human, false, &mut human).unwrap();
        let human = String::from_utf8(human).unwrap();
        let row = human.lines().find(|l| l.contains("✗ fail")).unwrap();
        assert!(row.ends_with(" iam.profile"), "{row}");
        assert!(human.contains("7 API calls (1 retry) in 5 ms"), "{human}");

        let mut markdown = Vec::new();
        write(each, &stats, Format::Markdown, false, &mut markdown).unwrap();
        let markdown = String::from_utf8(markdown).unwrap();
        // Only the instance that did not pass has its report in full.
        assert_eq!(markdown.matches("<details><summary><code>").count(), 1);
    }
}
