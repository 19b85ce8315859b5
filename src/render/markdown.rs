//! A ticket-ready Markdown summary: verdict, what to fix (with every snippet), then the full table
//! folded away.

use crate::facts::Command;
use crate::report::{Finding, Report, Status};
use std::fmt::Write;

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let t = &report.target;
    let s = &report.summary;
    let _ = writeln!(out, "## ssm-doctor: `{}`\n", t.subject());
    let _ = writeln!(
        out,
        "**Verdict: {}** — {}\n",
        verdict_word(report),
        report.headline()
    );
    // `ssm-doctor local` knows no account: it asks no AWS API.
    let account = t
        .account
        .as_deref()
        .map_or(String::new(), |a| format!("Account `{a}` · "));
    let document = match t.command {
        Command::Session => format!("document `{}` · ", t.document),
        _ => String::new(),
    };
    let _ = writeln!(
        out,
        "{account}Region `{}` · {document}{} pass, {} warn, {} fail, {} skip, {} error · ssm-doctor {}\n",
        t.region, s.pass, s.warn, s.fail, s.skip, s.error, report.tool.version
    );
    let attention = report.attention();
    if !attention.is_empty() {
        let _ = writeln!(out, "### To fix\n");
        for f in attention {
            finding(&mut out, f);
            let also = report.unevaluated_because_of(&f.id);
            if !also.is_empty() {
                let ids: Vec<String> = also.iter().map(|id| format!("`{id}`")).collect();
                let _ = writeln!(out, "Not evaluated because of it: {}.\n", ids.join(", "));
            }
        }
    }
    let _ = writeln!(
        out,
        "<details><summary>All {} checks</summary>\n\n| | Check | Status | Finding |\n|---|---|---|---|",
        report.checks.len()
    );
    for f in &report.checks {
        let _ = writeln!(
            out,
            "| {} | `{}` | {} | {} |",
            symbol(f.status),
            f.id,
            f.status,
            cell(&f.message)
        );
    }
    let _ = writeln!(out, "\n</details>");
    let _ = writeln!(
        out,
        "\n<details><summary>Network path</summary>\n\n```mermaid\n{}```\n\n</details>",
        super::picture::mermaid(report)
    );
    for group in &report.not_observed {
        let _ = writeln!(out, "\n_{}_", group.sentence());
    }
    if let Some(c) = &report.connect {
        let _ = writeln!(
            out,
            "\n### Connect\n\n```bash\n# a shell\n{}\n# port forwarding\n{}\n```\n\nSSH over \
             Session Manager, in `~/.ssh/config`:\n\n```\n{}\n```",
            c.session, c.port_forwarding, c.ssh_config
        );
    }
    out
}

fn finding(out: &mut String, f: &Finding) {
    let _ = writeln!(out, "#### {} `{}` — {}\n", symbol(f.status), f.id, f.title);
    let _ = writeln!(out, "{}\n", f.message);
    let Some(r) = &f.remediation else { return };
    let _ = writeln!(out, "**Fix:** {}\n", r.text.replace('\n', " "));
    let snippets = [
        ("AWS CLI", "bash", &r.cli),
        ("Terraform", "hcl", &r.terraform),
        ("CloudFormation", "yaml", &r.cloudformation),
    ];
    for (name, lang, body) in snippets {
        if let Some(body) = body {
            let _ = writeln!(
                out,
                "<details><summary>{name}</summary>\n\n```{lang}\n{body}\n```\n\n</details>\n"
            );
        }
    }
    let _ = writeln!(out, "Docs: <{}>\n", f.docs);
}

fn verdict_word(report: &Report) -> &'static str {
    match report.verdict {
        crate::report::Verdict::Pass => "✅ pass",
        crate::report::Verdict::Warn => "⚠️ pass with warnings",
        crate::report::Verdict::Fail => "❌ fail",
        crate::report::Verdict::Incomplete => "❔ incomplete",
    }
}

fn symbol(status: Status) -> &'static str {
    match status {
        Status::Pass => "✅",
        Status::Warn => "⚠️",
        Status::Fail => "❌",
        Status::Error => "❔",
        Status::Skip => "➖",
    }
}

/// A table cell: one line, pipes escaped.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}
