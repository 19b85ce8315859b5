//! A check's page (`ssm-doctor explain ID`, and `docs/checks/ID.md`, which is generated from it).

use crate::catalog::CheckPage;
use std::fmt::Write;

pub fn check_page(page: &CheckPage) -> String {
    let mut out = String::new();
    let r = &page.remediation;
    let deps = if page.depends_on.is_empty() {
        "none".to_string()
    } else {
        page.depends_on
            .iter()
            .map(|d| format!("`{d}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = write!(
        out,
        "# {id}: {title}\n\n\
         Severity: **{severity}** · Runs after: {deps} · Docs: <{docs}>\n\n\
         ## Why it matters\n\n{why}\n\n\
         ## How to fix\n\n{text}\n\n\
         ### AWS CLI\n\n```bash\n{cli}\n```\n\n{by_platform}\
         ### Terraform\n\n```hcl\n{tf}\n```\n\n\
         ### CloudFormation\n\n```yaml\n{cfn}\n```\n\n\
         Placeholders such as `{{{{instance_id}}}}` are filled in with the diagnosed instance's values in a report.\n",
        id = page.id,
        title = page.title,
        severity = page.severity,
        docs = page.docs,
        why = page.why.trim(),
        text = r.text.trim(),
        cli = r.cli.trim(),
        by_platform = r
            .by_platform
            .iter()
            .map(|(platform, cli)| format!("On {platform}:\n\n```bash\n{}\n```\n\n", cli.trim()))
            .collect::<String>(),
        tf = r.terraform.trim(),
        cfn = r.cloudformation.trim(),
    );
    out
}
