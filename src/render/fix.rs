//! Fix scripts: the remediation of the failing checks, in dependency order, as one reviewable
//! shell script of `aws` commands (or the Terraform / CloudFormation snippets together). Nothing
//! here runs them. Only a check whose page declares its commands one safe sequence
//! (`scriptable`) has them live, and only when the facts filled every value; the others (a menu
//! of alternatives, a change others rely on) are written commented out, saying why.

use crate::catalog::Catalog;
use crate::report::{Finding, Remediation, Report, Status};
use crate::text::shell_word;
use std::fmt::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FixFormat {
    /// A bash script of `aws` CLI commands
    Shell,
    Terraform,
    Cloudformation,
}

/// The failing findings, each after the checks it depends on (catalogue order otherwise).
fn in_dependency_order(report: &Report) -> Vec<&Finding> {
    let failing: Vec<&Finding> = report
        .checks
        .iter()
        .filter(|f| f.status == Status::Fail && f.remediation.is_some())
        .collect();
    let mut ordered: Vec<&Finding> = Vec::with_capacity(failing.len());
    fn place<'a>(f: &'a Finding, failing: &[&'a Finding], ordered: &mut Vec<&'a Finding>) {
        if ordered.iter().any(|o| o.id == f.id) {
            return;
        }
        let deps = Catalog::get()
            .page(&f.id)
            .map_or(&[][..], |p| &p.depends_on);
        for dep in deps {
            if let Some(d) = failing.iter().find(|d| &d.id == dep) {
                place(d, failing, ordered);
            }
        }
        ordered.push(f);
    }
    for f in &failing {
        place(f, &failing, &mut ordered);
    }
    ordered
}

/// Where the facts left a value unknown: `<name>` (a `{{name}}` without value, or a value the
/// page asks the reader for).
fn placeholders(snippet: &str) -> Vec<&str> {
    let mut found = vec![];
    let mut rest = snippet;
    while let Some(start) = rest.find('<') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('>') else { break };
        let inner = &after[..end];
        let word = inner
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
            && !inner.contains(['<', '\n', '='])
            && inner.len() <= 40;
        if word {
            found.push(&rest[start..start + end + 2]);
            rest = &after[end + 1..];
        } else {
            // `a < b … <name>`: the next `<` may open one.
            rest = after;
        }
    }
    found
}

fn snippet(r: &Remediation, format: FixFormat) -> Option<&str> {
    match format {
        FixFormat::Shell => r.cli.as_deref(),
        FixFormat::Terraform => r.terraform.as_deref(),
        FixFormat::Cloudformation => r.cloudformation.as_deref(),
    }
}

/// `# ` before every line of `text`, wrapped at 78 columns.
fn commented(out: &mut String, text: &str) {
    for line in super::human::wrap(text, 76).lines() {
        let _ = writeln!(out, "# {line}");
    }
}

/// The fix script (or snippets file) for `report`'s failing checks; `profile`: the run's
/// `--profile`.
pub fn render(report: &Report, format: FixFormat, profile: Option<&str>) -> String {
    let t = &report.target;
    let mut out = String::new();
    let account = t
        .account
        .as_deref()
        .map_or(String::new(), |a| format!(", account {a}"));
    let fixes = in_dependency_order(report);
    if format == FixFormat::Shell {
        out.push_str("#!/usr/bin/env bash\n");
    }
    commented(
        &mut out,
        &format!(
            "ssm-doctor {} fix for {} ({}{account}): {} failing check{}, in dependency order. \
             Review every change before applying it: ssm-doctor only reads, and never runs this.",
            report.tool.version,
            t.instance_id,
            t.region,
            fixes.len(),
            if fixes.len() == 1 { "" } else { "s" }
        ),
    );
    if format == FixFormat::Shell {
        out.push_str("set -euo pipefail\n");
        let _ = writeln!(out, "export AWS_REGION={}", shell_word(&t.region));
        if let Some(profile) = profile {
            let _ = writeln!(out, "export AWS_PROFILE={}", shell_word(profile));
        }
    }
    if fixes.is_empty() {
        commented(&mut out, "Nothing fails: nothing to fix.");
    }
    for (n, f) in fixes.iter().enumerate() {
        let r = f.remediation.as_ref().expect("only findings with a fix");
        out.push('\n');
        commented(&mut out, &format!("{}. {}: {}", n + 1, f.id, f.message));
        commented(&mut out, &format!("Fix: {}", r.text));
        let Some(code) = snippet(r, format) else {
            commented(&mut out, "(no snippet in this format: see the text above)");
            continue;
        };
        let mut unknown = placeholders(code);
        unknown.sort();
        unknown.dedup();
        let scriptable =
            format != FixFormat::Shell || Catalog::get().page(&f.id).is_some_and(|p| p.scriptable);
        let why = match (unknown.is_empty(), scriptable) {
            (true, true) => {
                out.push_str(code.trim_end());
                out.push('\n');
                continue;
            }
            (false, _) => format!(
                "Left commented out: {} could not be filled from the facts; fill in and \
                 uncomment.",
                unknown.join(", ")
            ),
            (true, false) => "Left commented out: these are alternatives, or change what \
                              others rely on; uncomment what fits."
                .to_string(),
        };
        commented(&mut out, &why);
        for line in code.trim_end().lines() {
            let _ = writeln!(out, "# {line}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_angle_bracketed_words() {
        assert_eq!(
            placeholders("aws x --vpc <hub VPC id> --id <instance_id> 2>/dev/null"),
            vec!["<hub VPC id>", "<instance_id>"]
        );
        assert!(placeholders("if [ $a -lt 3 ] && b > c; then cat <<EOF").is_empty());
        assert!(placeholders("echo 'a<b' | tr '<' '>'").is_empty());
        // A `<` that opens nothing does not hide the placeholder after it.
        assert_eq!(
            placeholders("# agents < 3.3.40.0)\naws x --arn <role_arn>"),
            vec!["<role_arn>"]
        );
    }
}
