//! The check catalogue: each check's knowledge (title, why, remediation, docs), read from the
//! `checks/*.toml` pages compiled into the binary.

use crate::facts::{Command, Vantage};
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
    /// The report group, one of `checks/areas.toml`.
    pub area: String,
    /// Where its facts are observed, one of `checks/vantages.toml`.
    pub vantage: Vantage,
    /// The report it belongs to: `session` (the main command and `local`), `param` or `patch`.
    #[serde(default)]
    pub command: Command,
    pub depends_on: Vec<String>,
    /// Checks a report lists before this one, though it does not depend on them: the order a
    /// reader follows (param.exists, then who may read it, then its key).
    #[serde(default)]
    pub after: Vec<String>,
    /// The checks whose failure would explain this one's: a report names them as the likely cause.
    #[serde(default)]
    pub symptom_of: Vec<String>,
    /// The evidence key naming what the check judged (`vpc_id`, `role_arn`, …): a fleet groups
    /// the instances it fails for by it, so that one fix is seen once.
    #[serde(default)]
    pub group_by: Option<String>,
    /// Whether the `cli` remediation is one safe sequence that a fix script may run as it is;
    /// otherwise it offers alternatives or changes what others rely on, and the script leaves it
    /// commented out for the reader to choose from.
    #[serde(default)]
    pub scriptable: bool,
    /// `false` for a check that judges no failure of its own: at worst it warns what it could not
    /// verify (its tests then show a warning where others show a failure).
    #[serde(default = "yes")]
    pub can_fail: bool,
    pub docs: String,
    pub why: String,
    pub remediation: RemediationTemplate,
}

fn yes() -> bool {
    true
}

/// Remediation with `{{placeholder}}`s that the report fills for the diagnosed instance.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemediationTemplate {
    pub text: String,
    pub cli: String,
    pub terraform: String,
    pub cloudformation: String,
    /// Commands that differ by the machine they run on, keyed `os-arch` (`linux-x86_64`): used
    /// instead of `cli` when the check names the platform (its `platform` placeholder).
    #[serde(default)]
    pub by_platform: BTreeMap<String, String>,
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
    "operator_name",
    "operator_kind",
    "document_arn",
    "platform",
    "document",
    "bucket",
    "log_group",
    "key_arn",
    "dhmc_role",
    "forward_address",
    "forward_port",
    "parameter_name",
    "parameter_arn",
    "parameter_path",
    "suggestion",
    "window_id",
    "window_target_id",
    "patch_group",
    "service_role_name",
    "baseline_id",
    "operating_system",
    "s3_endpoint_id",
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Area {
    pub id: String,
    pub title: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Areas {
    area: Vec<Area>,
}

/// What a report says about the checks of a vantage point the run did not observe from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VantagePoint {
    pub id: Vantage,
    pub title: String,
    /// How to run them, e.g. "run `ssm-doctor local` on the instance".
    pub how: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VantagePoints {
    vantage: Vec<VantagePoint>,
}

pub struct Catalog {
    pages: BTreeMap<String, CheckPage>,
    areas: Vec<Area>,
    vantages: Vec<VantagePoint>,
    /// Every id in report order: by area, each check after the checks it depends on.
    order: Vec<String>,
}

/// What a known line of the SSM agent's log means (`checks/agent-signatures.toml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signature {
    pub id: String,
    /// Matched without case: one of these in a line.
    pub contains: Vec<String>,
    /// `fail` or `warn`: what a match makes of the check that reads the log.
    pub status: String,
    /// The check that judges this cause from the AWS side.
    #[serde(default)]
    pub cause: Option<String>,
    pub meaning: String,
}

impl Signature {
    pub fn matches(&self, line: &str) -> bool {
        let line = line.to_ascii_lowercase();
        self.contains
            .iter()
            .any(|c| line.contains(&c.to_ascii_lowercase()))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Signatures {
    signature: Vec<Signature>,
}

/// The compiled-in signatures of the agent's log, in the order they are tried.
pub fn signatures() -> &'static [Signature] {
    static SIGNATURES: OnceLock<Vec<Signature>> = OnceLock::new();
    SIGNATURES.get_or_init(|| {
        toml::from_str::<Signatures>(pages::SIGNATURES)
            .unwrap_or_else(|e| panic!("checks/agent-signatures.toml: {e}"))
            .signature
    })
}

impl Catalog {
    /// The compiled-in catalogue. A malformed page is a build defect, caught by this module's tests.
    pub fn get() -> &'static Catalog {
        static CATALOG: OnceLock<Catalog> = OnceLock::new();
        CATALOG.get_or_init(|| {
            Catalog::parse(pages::CHECK_PAGES, pages::AREAS, pages::VANTAGES)
                .unwrap_or_else(|e| panic!("check pages: {e}"))
        })
    }

    fn parse(files: &[(&str, &str)], areas: &str, vantages: &str) -> Result<Catalog, String> {
        let areas = toml::from_str::<Areas>(areas)
            .map_err(|e| format!("checks/areas.toml: {e}"))?
            .area;
        let vantages = toml::from_str::<VantagePoints>(vantages)
            .map_err(|e| format!("checks/vantages.toml: {e}"))?
            .vantage;
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
            if !vantages.iter().any(|v| v.id == page.vantage) {
                return Err(format!(
                    "checks/{file}: vantage {:?} is not described in checks/vantages.toml",
                    page.vantage
                ));
            }
            pages.insert(page.id.clone(), page);
        }
        let order = report_order(&pages, &areas)?;
        Ok(Catalog {
            pages,
            areas,
            vantages,
            order,
        })
    }

    pub fn page(&self, id: &str) -> Option<&CheckPage> {
        self.pages.get(id)
    }

    /// Every check id, in report order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.order.iter().map(String::as_str)
    }

    /// Every page, in report order.
    pub fn pages(&self) -> impl Iterator<Item = &CheckPage> {
        self.order.iter().map(|id| &self.pages[id])
    }

    /// How a report names a vantage point and says how to observe from it (every page's vantage
    /// is described: [`Catalog::parse`] refuses one that is not).
    pub fn vantage(&self, id: Vantage) -> Option<&VantagePoint> {
        self.vantages.iter().find(|v| v.id == id)
    }

    pub fn area_title<'a>(&'a self, area: &'a str) -> &'a str {
        self.areas
            .iter()
            .find(|a| a.id == area)
            .map_or(area, |a| a.title.as_str())
    }
}

/// A topological order of the pages by `depends_on`, grouped by area in `areas` order (among the
/// checks ready to come next, the earliest area wins, then the id). Refuses an unknown area or
/// check id, a dependency on a later area, and a cycle.
fn report_order(
    pages: &BTreeMap<String, CheckPage>,
    areas: &[Area],
) -> Result<Vec<String>, String> {
    let rank = |page: &CheckPage| {
        areas
            .iter()
            .position(|a| a.id == page.area)
            .ok_or_else(|| format!("{}: unknown area {:?}", page.id, page.area))
    };
    for page in pages.values() {
        if let Some(dep) = page.symptom_of.iter().find(|s| page.depends_on.contains(s)) {
            return Err(format!(
                "{}: {dep} is a dependency, not a possible cause: when it fails, {} is skipped",
                page.id, page.id
            ));
        }
        for other in page
            .depends_on
            .iter()
            .chain(&page.symptom_of)
            .chain(&page.after)
        {
            let Some(dep) = pages.get(other) else {
                return Err(format!("{}: unknown check id {other:?}", page.id));
            };
            let ordered = page.depends_on.contains(other) || page.after.contains(other);
            if ordered && dep.command != page.command {
                return Err(format!(
                    "{} comes after {other}, of another command's report",
                    page.id
                ));
            }
            if page.depends_on.contains(other) && rank(dep)? > rank(page)? {
                return Err(format!(
                    "{} depends on {other}, of a later area ({})",
                    page.id, dep.area
                ));
            }
        }
    }
    let mut order: Vec<String> = Vec::with_capacity(pages.len());
    while order.len() < pages.len() {
        let mut ready = Vec::new();
        for page in pages.values() {
            let placed = order.contains(&page.id);
            let mut before = page.depends_on.iter().chain(&page.after);
            if !placed && before.all(|d| order.contains(d)) {
                ready.push((rank(page)?, &page.id));
            }
        }
        let Some((_, next)) = ready.into_iter().min() else {
            let left: Vec<&str> = pages
                .keys()
                .filter(|id| !order.contains(id))
                .map(String::as_str)
                .collect();
            return Err(format!("depends_on has a cycle among {}", left.join(", ")));
        };
        order.push(next.clone());
    }
    Ok(order)
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
pub mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn every_page_parses_and_is_named_after_its_id() {
        Catalog::parse(pages::CHECK_PAGES, pages::AREAS, pages::VANTAGES).unwrap();
    }

    #[test]
    fn agent_signatures_parse_and_point_at_known_checks() {
        let catalog = Catalog::get();
        let mut ids = BTreeSet::new();
        for s in signatures() {
            assert!(ids.insert(&s.id), "{} twice", s.id);
            assert!(matches!(s.status.as_str(), "fail" | "warn"), "{}", s.id);
            assert!(!s.contains.is_empty(), "{}", s.id);
            if let Some(cause) = &s.cause {
                assert!(catalog.page(cause).is_some(), "{}: {cause}", s.id);
            }
        }
        let line = "2026-11-28 ERROR EC2RoleProvider: NoCredentialProviders: no valid providers";
        let first = signatures().iter().find(|s| s.matches(line)).unwrap();
        assert_eq!(first.id, "no-credentials");
    }

    #[test]
    fn a_page_named_after_another_id_is_rejected() {
        let page = pages::CHECK_PAGES[0].1;
        let err = Catalog::parse(&[("other.id.toml", page)], pages::AREAS, pages::VANTAGES)
            .err()
            .unwrap();
        assert!(err.contains("does not match the file name"), "{err}");
    }

    #[test]
    fn every_vantage_point_is_described() {
        for vantage in [Vantage::Aws, Vantage::Operator, Vantage::Instance] {
            let described = Catalog::get().vantage(vantage);
            assert!(described.is_some_and(|v| !v.how.is_empty()), "{vantage:?}");
        }
        let page = pages::CHECK_PAGES[0].1;
        let only_instance = "[[vantage]]\nid = \"instance\"\ntitle = \"I\"\nhow = \"h\"\n";
        let err = Catalog::parse(
            &[(pages::CHECK_PAGES[0].0, page)],
            pages::AREAS,
            only_instance,
        )
        .err()
        .unwrap();
        assert!(err.contains("is not described"), "{err}");
    }

    /// A minimal page of `area`, observed from `vantage`, depending on `deps`.
    pub fn page_from(id: &str, area: &str, vantage: &str, deps: &[&str]) -> (String, String) {
        let text = format!(
            "id = {id:?}\ntitle = \"t\"\nseverity = \"low\"\narea = {area:?}\n\
             vantage = {vantage:?}\ndepends_on = {deps:?}\ndocs = \"d\"\nwhy = \"w\"\n\
             [remediation]\ntext = \"\"\ncli = \"\"\nterraform = \"\"\ncloudformation = \"\"\n"
        );
        (format!("{id}.toml"), text)
    }

    fn page(id: &str, area: &str, deps: &[&str]) -> (String, String) {
        page_from(id, area, "aws", deps)
    }

    /// A catalogue of areas `a` and `b` and the real vantage points, holding `pages`.
    pub fn catalog_of(pages: &[(String, String)]) -> Result<Catalog, String> {
        let files: Vec<(&str, &str)> = pages
            .iter()
            .map(|(f, t)| (f.as_str(), t.as_str()))
            .collect();
        let areas = "[[area]]\nid = \"a\"\ntitle = \"A\"\n[[area]]\nid = \"b\"\ntitle = \"B\"\n";
        Catalog::parse(&files, areas, pages::VANTAGES)
    }

    fn parse(pages: &[(String, String)]) -> Result<Vec<String>, String> {
        catalog_of(pages).map(|c| c.ids().map(str::to_string).collect())
    }

    #[test]
    fn checks_are_ordered_by_area_then_dependencies() {
        let order = parse(&[
            page("b.x", "b", &[]),
            page("a.z", "a", &["a.y"]),
            page("a.y", "a", &[]),
            page("b.w", "b", &["a.z"]),
        ]);
        assert_eq!(order.unwrap(), ["a.y", "a.z", "b.w", "b.x"]);
    }

    /// A symptom names exactly the failures that could explain it: every check of its vantage point
    /// but itself, those it depends on and those that depend on it (those never fail beside it: it
    /// or they skip).
    #[test]
    fn symptoms_name_every_possible_cause() {
        let catalog = Catalog::get();
        let depends = |id: &str, on: &str| {
            let mut todo = vec![id];
            while let Some(next) = todo.pop() {
                let deps = &catalog.page(next).unwrap().depends_on;
                if deps.iter().any(|d| d == on) {
                    return true;
                }
                todo.extend(deps.iter().map(String::as_str));
            }
            false
        };
        // What the operator's machine or permissions look like never explains what the agent does,
        // nor do the session preferences: they matter once a session starts. Another command's
        // checks are in another report.
        let same_vantage = |id: &str| catalog.page(id).unwrap().vantage;
        let same_report =
            |id: &str, other: &CheckPage| catalog.page(id).unwrap().command == other.command;
        let about_sessions = |id: &str| catalog.page(id).unwrap().area == "session";
        for page in catalog.pages().filter(|p| !p.symptom_of.is_empty()) {
            let candidates = catalog
                .ids()
                .filter(|id| same_vantage(id) == page.vantage && !about_sessions(id))
                .filter(|id| same_report(id, page));
            for id in candidates {
                let possible = id != page.id && !depends(&page.id, id) && !depends(id, &page.id);
                let listed = page.symptom_of.iter().any(|s| s == id);
                assert_eq!(listed, possible, "{}'s symptom_of and {id}", page.id);
            }
        }
    }

    #[test]
    fn cycles_unknown_ids_and_backward_areas_are_refused() {
        let cycle = parse(&[page("a.x", "a", &["a.y"]), page("a.y", "a", &["a.x"])]);
        assert!(cycle.unwrap_err().contains("cycle"));
        let unknown = parse(&[page("a.x", "a", &["a.nope"])]);
        assert!(unknown.unwrap_err().contains("unknown check id"));
        let area = parse(&[page("a.x", "c", &[])]);
        assert!(area.unwrap_err().contains("unknown area"));
        let backward = parse(&[page("a.x", "a", &["b.y"]), page("b.y", "b", &[])]);
        assert!(backward.unwrap_err().contains("later area"));
        // `after` orders without depending: a.z before a.y, though no dependency says so.
        let after =
            |(file, text): (String, String), ids: &str| (file, format!("after = {ids}\n{text}"));
        let ordered = parse(&[
            page("a.x", "a", &[]),
            after(page("a.y", "a", &[]), "[\"a.z\"]"),
            page("a.z", "a", &[]),
        ]);
        assert_eq!(ordered.unwrap(), ["a.x", "a.z", "a.y"]);
        let unknown = parse(&[after(page("a.x", "a", &[]), "[\"a.nope\"]")]);
        assert!(unknown.unwrap_err().contains("unknown check id"));
        let other = |(file, text): (String, String)| (file, format!("command = \"patch\"\n{text}"));
        let across = parse(&[
            after(page("a.x", "a", &[]), "[\"a.y\"]"),
            other(page("a.y", "a", &[])),
        ]);
        assert!(across.unwrap_err().contains("another command's report"));
    }

    #[test]
    fn templates_use_only_known_placeholders() {
        let known: BTreeSet<_> = PLACEHOLDERS.iter().copied().collect();
        for id in Catalog::get().ids() {
            let r = &Catalog::get().page(id).unwrap().remediation;
            let common = [&r.text, &r.cli, &r.terraform, &r.cloudformation];
            for template in common.into_iter().chain(r.by_platform.values()) {
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
