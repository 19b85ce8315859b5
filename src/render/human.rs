//! The terminal report: problems first with their fix, then every check by area, then the verdict.
//! Fits 80 columns; colour only when the caller says the terminal wants it.

use crate::catalog::Catalog;
use crate::facts::{Command, DEFAULT_DOCUMENT};
use crate::report::{Connect, Finding, Report, Stats, Status, Verdict};
use owo_colors::OwoColorize;
use std::fmt::Write;

const WIDTH: usize = 80;
const INDENT: &str = "    ";

pub fn render(report: &Report, color: bool) -> String {
    let paint = Paint(color);
    let mut out = String::new();
    let t = &report.target;
    // `ssm-doctor local` knows no account: it asks no AWS API.
    let account = t
        .account
        .as_deref()
        .map_or(String::new(), |a| format!(" · account {a}"));
    let document = match t.document.as_str() {
        _ if t.command != Command::Session => String::new(),
        DEFAULT_DOCUMENT => String::new(),
        other => format!(" · document {other}"),
    };
    let _ = writeln!(
        out,
        "{} {}{account} · {}{document}\n",
        paint.bold("ssm-doctor"),
        paint.bold(&t.subject()),
        t.region
    );

    let attention = report.attention();
    if !attention.is_empty() {
        let _ = writeln!(out, "{}", paint.bold("Needs attention"));
        for f in &attention {
            problem(&mut out, f, paint);
            let also = report.unevaluated_because_of(&f.id);
            if !also.is_empty() {
                let text = format!("Not evaluated because of it: {}.", also.join(", "));
                for line in wrap(&text, WIDTH - INDENT.len()).lines() {
                    let _ = writeln!(out, "{INDENT}{line}");
                }
            }
        }
        out.push('\n');
    }

    let _ = writeln!(out, "{}", paint.bold("All checks"));
    let catalog = Catalog::get();
    let mut area = "";
    for f in &report.checks {
        let this = catalog.page(&f.id).map_or("", |p| p.area.as_str());
        if this != area {
            area = this;
            let _ = writeln!(out, "  {}", paint.dim(catalog.area_title(area)));
        }
        let head = format!("  {} {:<22} ", paint.symbol(f.status), f.id);
        let body = wrap(&f.message, WIDTH - 27);
        let mut lines = body.lines();
        let _ = writeln!(out, "{head}{}", lines.next().unwrap_or(""));
        for line in lines {
            let _ = writeln!(out, "{:27}{line}", "");
        }
    }
    for group in &report.not_observed {
        let text = wrap(&group.sentence(), WIDTH - 4);
        for (i, line) in text.lines().enumerate() {
            let lead = if i == 0 { "  · " } else { "    " };
            let _ = writeln!(out, "{lead}{}", paint.dim(line));
        }
    }

    let s = &report.summary;
    let _ = writeln!(
        out,
        "\n{} pass, {} warn, {} fail, {} skip, {} error{}",
        s.pass,
        s.warn,
        s.fail,
        s.skip,
        s.error,
        cost(&report.stats)
    );
    if report.summary.fail + report.summary.warn > 0 {
        let _ = writeln!(
            out,
            "{}",
            paint.dim("Terraform/CloudFormation: --output markdown · more: ssm-doctor explain ID")
        );
    }
    if let Some(c) = &report.connect {
        connect(&mut out, c, paint);
    }
    // The verdict is the last line, where a pager or a terminal leaves the eye.
    let verdict = format!("{} {}", verdict_symbol(report.verdict), report.headline());
    let _ = writeln!(out, "{}", paint.verdict(report.verdict, &verdict));
    out
}

/// Code lines are indented like the fixes' commands; a long command is continued with ` \`
/// before an option, so that it pastes into a shell as one.
pub(super) fn connect(out: &mut String, c: &Connect, paint: Paint) {
    let _ = writeln!(out, "\n{}", paint.bold("Connect"));
    let code = format!("{INDENT}  ");
    for (what, command) in [
        ("A shell:", &c.session),
        ("Port forwarding:", &c.port_forwarding),
    ] {
        let _ = writeln!(out, "{INDENT}{what}");
        for line in continued(command, WIDTH - code.len()) {
            let _ = writeln!(out, "{code}{}", paint.dim(&line));
        }
    }
    let _ = writeln!(out, "{INDENT}SSH over Session Manager, in ~/.ssh/config:");
    for line in c.ssh_config.lines() {
        let _ = writeln!(out, "{code}{}", paint.dim(line));
    }
}

/// `command` as shell lines of at most `width` columns where options allow.
fn continued(command: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = vec![];
    let mut line = String::new();
    for (i, part) in command.split(" --").enumerate() {
        let part = if i == 0 {
            part.to_string()
        } else {
            format!("--{part}")
        };
        if !line.is_empty() && line.len() + 1 + part.len() + 2 > width {
            lines.push(format!("{line} \\"));
            line = format!("  {part}");
        } else if line.is_empty() {
            line = part;
        } else {
            line = format!("{line} {part}");
        }
    }
    lines.push(line);
    lines
}

fn problem(out: &mut String, f: &Finding, paint: Paint) {
    let _ = writeln!(
        out,
        "\n{} {} {}",
        paint.symbol(f.status),
        paint.status_word(f.status),
        paint.bold(&f.id)
    );
    let expected = format!("Expected: {}", f.title);
    for line in wrap(&expected, WIDTH - INDENT.len()).lines() {
        let _ = writeln!(out, "{INDENT}{}", paint.dim(line));
    }
    for line in wrap(&f.message, WIDTH - INDENT.len()).lines() {
        let _ = writeln!(out, "{INDENT}{line}");
    }
    if let Some(r) = &f.remediation {
        let text = format!("Fix: {}", r.text);
        for line in wrap(&text, WIDTH - INDENT.len()).lines() {
            let _ = writeln!(out, "{INDENT}{}", paint.cyan(line));
        }
        // Commands only for failures: a warning's fix is a judgement call, its page has them.
        if let Some(cli) = r.cli.as_ref().filter(|_| f.status == Status::Fail) {
            for line in cli.lines() {
                let _ = writeln!(out, "{INDENT}  {}", paint.dim(line));
            }
        }
    }
    let _ = writeln!(out, "{INDENT}{}", paint.dim(&format!("Docs: {}", f.docs)));
}

/// " · N API calls (R retries) in M ms", or nothing for a report from a hand-made snapshot.
pub fn cost(stats: &Stats) -> String {
    let retries = match stats.retries {
        0 => String::new(),
        1 => " (1 retry)".to_string(),
        n => format!(" ({n} retries)"),
    };
    match stats.api_calls {
        0 => String::new(),
        n => format!(" · {n} API calls{retries} in {} ms", stats.duration_ms),
    }
}

pub(super) fn verdict_symbol(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "✓",
        Verdict::Warn => "!",
        Verdict::Fail => "✗",
        Verdict::Incomplete => "?",
    }
}

/// Greedy word wrap of paragraphs (separated by blank lines; single newlines are soft, as in
/// Markdown); words longer than the width (ARNs) stay whole on their own line.
pub fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    for paragraph in text.trim().split("\n\n") {
        let mut line_len = 0;
        for word in paragraph.split_whitespace() {
            let len = word.chars().count();
            if line_len > 0 && line_len + 1 + len > width {
                out.push('\n');
                line_len = 0;
            }
            if line_len > 0 {
                out.push(' ');
                line_len += 1;
            }
            out.push_str(word);
            line_len += len;
        }
        out.push('\n');
    }
    out.truncate(out.trim_end().len());
    out
}

#[derive(Clone, Copy)]
pub(super) struct Paint(pub(super) bool);

impl Paint {
    fn apply(self, text: &str, style: impl Fn(&str) -> String) -> String {
        if self.0 {
            style(text)
        } else {
            text.to_string()
        }
    }

    pub(super) fn bold(self, t: &str) -> String {
        self.apply(t, |t| t.bold().to_string())
    }

    pub(super) fn dim(self, t: &str) -> String {
        self.apply(t, |t| t.dimmed().to_string())
    }

    fn cyan(self, t: &str) -> String {
        self.apply(t, |t| t.cyan().to_string())
    }

    pub(super) fn by_status(self, status: Status, t: &str) -> String {
        self.apply(t, |t| match status {
            Status::Pass => t.green().to_string(),
            Status::Warn => t.yellow().to_string(),
            Status::Fail => t.red().bold().to_string(),
            Status::Error => t.magenta().to_string(),
            Status::Skip => t.dimmed().to_string(),
        })
    }

    pub(super) fn symbol(self, status: Status) -> String {
        let s = match status {
            Status::Pass => "✓",
            Status::Warn => "!",
            Status::Fail => "✗",
            Status::Error => "?",
            Status::Skip => "-",
        };
        self.by_status(status, s)
    }

    pub(super) fn status_word(self, status: Status) -> String {
        self.by_status(status, &status.as_str().to_uppercase())
    }

    pub(super) fn verdict(self, v: Verdict, t: &str) -> String {
        let status = match v {
            Verdict::Pass => Status::Pass,
            Verdict::Warn => Status::Warn,
            Verdict::Fail => Status::Fail,
            Verdict::Incomplete => Status::Error,
        };
        self.by_status(status, t)
    }
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn wraps_at_width_and_keeps_long_words() {
        assert_eq!(wrap("aaa bbb ccc", 7), "aaa bbb\nccc");
        assert_eq!(wrap("one\ntwo\n\nthree", 80), "one two\nthree");
        let arn = "arn:aws:iam::123456789012:policy/a-very-long-policy-name";
        assert_eq!(wrap(&format!("x {arn}"), 10), format!("x\n{arn}"));
    }
}
