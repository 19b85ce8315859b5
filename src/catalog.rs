//! The check catalogue: each check's knowledge (title, why, remediation, docs), read from the
//! `checks/*.toml` pages compiled into the binary.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

mod pages {
    include!(concat!(env!("OUT_DIR"), "/check_pages.rs"));
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckPage {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub depends_on: Vec<String>,
    pub docs: String,
    pub why: String,
    pub remediation: RemediationTemplate,
}

/// Remediation with `{{placeholder}}`s that the report fills for the diagnosed instance.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemediationTemplate {
    pub text: String,
    pub cli: String,
    pub terraform: String,
    pub cloudformation: String,
}

/// The placeholder names a page may use; [`crate::report`] knows how to fill each.
pub const PLACEHOLDERS: &[&str] = &[
    "instance_id",
    "region",
    "account",
    "vpc_id",
    "subnet_id",
    "private_ip",
    "security_group_id",
    "route_table_id",
    "nacl_id",
    "profile_name",
    "role_name",
    "role_arn",
    "endpoint_security_group_id",
    "endpoint_subnet_ids",
    "missing_services",
    "endpoint_ids",
];

pub struct Catalog {
    pages: BTreeMap<String, CheckPage>,
}

impl Catalog {
    /// The compiled-in catalogue. A malformed page is a build defect, caught by this module's tests.
    pub fn get() -> &'static Catalog {
        static CATALOG: OnceLock<Catalog> = OnceLock::new();
        CATALOG.get_or_init(|| {
            Catalog::parse(pages::CHECK_PAGES).unwrap_or_else(|e| panic!("check pages: {e}"))
        })
    }

    fn parse(files: &[(&str, &str)]) -> Result<Catalog, String> {
        let mut pages = BTreeMap::new();
        for (file, text) in files {
            let page: CheckPage =
                toml::from_str(text).map_err(|e| format!("checks/{file}: {e}"))?;
            if format!("{}.toml", page.id) != *file {
                return Err(format!(
                    "checks/{file}: id {:?} does not match the file name",
                    page.id
                ));
            }
            pages.insert(page.id.clone(), page);
        }
        Ok(Catalog { pages })
    }

    pub fn page(&self, id: &str) -> Option<&CheckPage> {
        self.pages.get(id)
    }

    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.pages.keys().map(String::as_str)
    }
}

/// Every `{{name}}` in a template, in order of appearance.
pub fn placeholders_in(template: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                found.push(&after[..end]);
                rest = &after[end + 2..];
            }
            None => break,
        }
    }
    found
}

/// Replaces each `{{name}}` by `lookup(name)`, or by `<name>` when there is no value, so a snippet
/// stays readable and obviously incomplete rather than silently wrong.
pub fn fill(template: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let name = &after[..end];
                match lookup(name) {
                    Some(value) => out.push_str(&value),
                    None => {
                        out.push('<');
                        out.push_str(name);
                        out.push('>');
                    }
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn every_page_parses_and_is_named_after_its_id() {
        Catalog::parse(pages::CHECK_PAGES).unwrap();
    }

    #[test]
    fn a_page_named_after_another_id_is_rejected() {
        let page = pages::CHECK_PAGES[0].1;
        let err = Catalog::parse(&[("other.id.toml", page)]).err().unwrap();
        assert!(err.contains("does not match the file name"), "{err}");
    }

    #[test]
    fn dependencies_name_known_checks() {
        let catalog = Catalog::get();
        for id in catalog.ids() {
            for dep in &catalog.page(id).unwrap().depends_on {
                assert!(
                    catalog.page(dep).is_some(),
                    "{id} depends on unknown check {dep}"
                );
            }
        }
    }

    #[test]
    fn templates_use_only_known_placeholders() {
        let known: BTreeSet<_> = PLACEHOLDERS.iter().copied().collect();
        for id in Catalog::get().ids() {
            let r = &Catalog::get().page(id).unwrap().remediation;
            for template in [&r.text, &r.cli, &r.terraform, &r.cloudformation] {
                for name in placeholders_in(template) {
                    assert!(
                        known.contains(name),
                        "{id}: unknown placeholder {{{{{name}}}}}"
                    );
                }
            }
        }
    }

    #[test]
    fn fill_substitutes_known_and_marks_unknown() {
        let filled = fill("a {{x}} b {{y}} c", |n| (n == "x").then(|| "1".to_string()));
        assert_eq!(filled, "a 1 b <y> c");
        assert_eq!(
            fill("json {\"a\":{\"b\":1}}", |_| None),
            "json {\"a\":{\"b\":1}}"
        );
    }
}
