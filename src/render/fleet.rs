//! Several instances at once: a table with each instance's verdict and first problem, and the
//! instances grouped by shared root cause (one fix seen once, the largest group first). The
//! instances' reports are judged as they are read (once for JSON, whose totals follow the
//! reports; twice for Markdown, whose totals and table come first), so a fleet of thousands is
//! never in memory as reports.

use super::{Format, human, markdown};
use crate::report::{Cause, FleetOverview, REPORT_SCHEMA_VERSION, Report, Stats, Verdict};
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
        let mut document = serializer.serialize_struct("FleetReport", 5)?;
        document.serialize_field("schema_version", &REPORT_SCHEMA_VERSION)?;
        let each = Each {
            reports: self.reports,
            overview: &self.overview,
        };
        document.serialize_field("reports", &each)?;
        document.serialize_field("summary", &self.overview.borrow().summary)?;
        document.serialize_field("causes", &self.overview.borrow().causes.largest_first())?;
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

/// The most causes the terminal shows.
const SHOWN_CAUSES: usize = 10;

/// The causes worth a section: all of them, once one is shared by several instances (otherwise
/// the table already says it all).
fn shared(fleet: &FleetOverview) -> Vec<&Cause> {
    let causes = fleet.causes.largest_first();
    match causes.first() {
        Some(c) if c.instances.len() > 1 => causes,
        _ => vec![],
    }
}

fn human(fleet: &FleetOverview, stats: &Stats, color: bool) -> String {
    let mut out = String::new();
    let s = &fleet.summary;
    let head = format!(
        "ssm-doctor · {} instance{} · account {} · {}",
        s.instances,
        if s.instances == 1 { "" } else { "s" },
        fleet.account.as_deref().unwrap_or("unknown"),
        fleet.region
    );
    // Several regions may not fit one line.
    let _ = writeln!(out, "{}\n", human::wrap(&head, 80));
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
    let causes = shared(fleet);
    if !causes.is_empty() {
        let _ = writeln!(out, "\nShared causes, largest first");
        for c in causes.iter().take(SHOWN_CAUSES) {
            let what = match &c.resource {
                Some(resource) => format!("{} · {resource}", c.check),
                None => c.check.clone(),
            };
            let _ = writeln!(out, "{:>6} × {}", c.instances.len(), truncate(&what, 71));
            let _ = writeln!(out, "         {}", truncate(&c.message, 71));
        }
        if causes.len() > SHOWN_CAUSES {
            let _ = writeln!(
                out,
                "  … and {} more (--output json lists every cause)",
                causes.len() - SHOWN_CAUSES
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
    let causes = shared(fleet);
    if !causes.is_empty() {
        let _ = writeln!(
            head,
            "\n### Shared causes, largest first\n\n| Instances | Check | Concerns | Finding (first instance) |\n|---|---|---|---|"
        );
        for c in causes {
            let _ = writeln!(
                head,
                "| {} | `{}` | {} | {} |",
                c.instances.len(),
                c.check,
                c.resource
                    .as_deref()
                    .map_or("-".into(), |r| format!("`{r}`")),
                c.message.replace('|', "\\|").replace('\n', " ")
            );
        }
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
    fn instances_with_one_root_cause_are_grouped_by_what_it_concerns() {
        let broken = |text: &str| {
            let facts = crate::facts::parse_snapshot(text.as_bytes()).unwrap().0;
            crate::checks::run(&facts[0], Stats::default())
        };
        let vpce = broken(include_str!(
            "../../fixtures/broken-missing-ssmmessages-endpoint.json"
        ));
        let nacl = broken(include_str!("../../fixtures/broken-nacl-blocks-443.json"));
        let renamed = |r: &Report, n: usize| {
            let mut r = r.clone();
            r.target.instance_id = format!("i-{n:017x}");
            r
        };
        let mut fleet: Vec<Report> = (0..3).map(|n| renamed(&vpce, n)).collect();
        fleet.push(renamed(&nacl, 9));
        // The same check about another VPC is another cause.
        let mut elsewhere = renamed(&vpce, 7);
        for f in &mut elsewhere.checks {
            f.evidence
                .insert("vpc_id".into(), "vpc-0ffffffffffffffff".into());
        }
        fleet.push(elsewhere);
        let overview = FleetOverview::of(fleet.clone().into_iter());
        let causes = overview.causes.largest_first();
        assert_eq!(causes.len(), 3);
        assert_eq!(causes[0].check, "vpce.present");
        assert_eq!(causes[0].instances.len(), 3);
        assert!(causes[0].resource.as_deref().unwrap().starts_with("vpc-"));
        assert_ne!(
            causes[0].resource,
            causes[1]
                .resource
                .clone()
                .filter(|_| causes[1].check == "vpce.present")
        );
        let mut human = Vec::new();
        write(
            || fleet.clone().into_iter(),
            &Stats::default(),
            Format::Human,
            false,
            &mut human,
        )
        .unwrap();
        let human = String::from_utf8(human).unwrap();
        assert!(human.contains("Shared causes, largest first"), "{human}");
        assert!(human.contains("     3 × vpce.present · vpc-"), "{human}");
        for line in human.lines() {
            assert!(line.chars().count() <= 80, "wider than 80: {line:?}");
        }
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
        assert!(at("summary") < at("causes") && at("causes") < at("stats"));
        assert_eq!(document["causes"][0]["check"], "iam.profile");
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
