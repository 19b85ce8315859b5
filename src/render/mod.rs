//! Renderers: present a finished [`Report`] (or a check's page); they never decide anything.

pub mod fix;
pub mod fleet;
pub mod human;
pub mod markdown;
pub mod page;
pub mod picture;
pub mod redact;
pub mod watch;

use crate::report::Report;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
    Markdown,
    /// The network path as a Graphviz graph (one instance)
    Dot,
}

pub fn render(report: &Report, format: Format, color: bool) -> String {
    match format {
        Format::Human => human::render(report, color),
        Format::Json => json(report),
        Format::Markdown => markdown::render(report),
        Format::Dot => picture::dot(report),
    }
}

fn json(value: &impl serde::Serialize) -> String {
    let mut json = serde_json::to_string_pretty(value).expect("a report is plain data");
    json.push('\n');
    json
}
