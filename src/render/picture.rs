//! The network path as a picture: instance → security groups → route table and network ACL →
//! endpoint, gateway or central endpoints → each service, every hop coloured by the checks that
//! judge it (the broken hop marked), as Graphviz DOT (`--output dot`) or Mermaid (inside the
//! Markdown report). Drawn from the report's findings and their evidence: nothing is judged here.

use crate::report::{Finding, Report, Status};
use serde_json::Value;
use std::fmt::Write;

/// How a hop fares: the worst of its checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum State {
    Fine,
    Doubt,
    Unknown,
    Broken,
}

struct Node {
    id: String,
    label: String,
    state: State,
    /// The checks that judge it, for the reader.
    checks: Vec<String>,
}

struct Graph {
    nodes: Vec<Node>,
    edges: Vec<(String, String)>,
}

impl Graph {
    fn node(&mut self, id: &str, label: String, judged_by: &[&Finding]) -> String {
        if self.nodes.iter().all(|n| n.id != id) {
            let state = judged_by
                .iter()
                .map(|f| match f.status {
                    Status::Fail => State::Broken,
                    Status::Error => State::Unknown,
                    Status::Warn => State::Doubt,
                    Status::Pass | Status::Skip => State::Fine,
                })
                .max()
                .unwrap_or(State::Fine);
            let checks = judged_by.iter().map(|f| f.id.clone()).collect();
            self.nodes.push(Node {
                id: id.to_string(),
                label,
                state,
                checks,
            });
        }
        id.to_string()
    }

    fn edge(&mut self, from: &str, to: &str) {
        let edge = (from.to_string(), to.to_string());
        if !self.edges.contains(&edge) {
            self.edges.push(edge);
        }
    }
}

fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => vec![],
    }
}

/// The path the report's findings describe.
fn graph(report: &Report) -> Graph {
    let find = |id: &str| report.checks.iter().find(|f| f.id == id);
    let judged = |ids: &[&str]| -> Vec<&Finding> { ids.iter().filter_map(|id| find(id)).collect() };
    let evidence = |id: &str, key: &str| find(id).and_then(|f| f.evidence.get(key)).cloned();
    let mut g = Graph {
        nodes: vec![],
        edges: vec![],
    };
    let t = &report.target;
    let instance = g.node(
        "instance",
        format!("instance {}", t.instance_id),
        &judged(&[
            "instance.running",
            "iam.profile",
            "iam.core-permissions",
            "iam.trust",
        ]),
    );
    let groups = strings(evidence("network.egress-443", "security_groups").as_ref());
    let groups = match groups.is_empty() {
        true => "security groups".to_string(),
        false => format!("security groups {}", groups.join(", ")),
    };
    let sg = g.node("groups", groups, &judged(&["network.egress-443"]));
    g.edge(&instance, &sg);
    let table = evidence("network.route", "route_table_id")
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "route table".into());
    let acl = evidence("network.nacl", "network_acl_id")
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "network ACL".into());
    let subnet = g.node(
        "subnet",
        format!("{table} · {acl}"),
        &judged(&["network.route", "network.nacl"]),
    );
    g.edge(&sg, &subnet);
    let internet = evidence("network.route", "internet").unwrap_or(Value::Null);
    let kind = internet
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("none");
    let gateway = internet.get("gateway").and_then(Value::as_str);
    let services = evidence("network.route", "services").unwrap_or(Value::Null);
    for s in services.as_array().into_iter().flatten() {
        let Some(service) = s.get("service").and_then(Value::as_str) else {
            continue;
        };
        let name = format!("{service}.{}.amazonaws.com", t.region);
        let target = g.node(&format!("service-{service}"), name, &[]);
        let via = match s.get("endpoint").and_then(Value::as_str) {
            Some(endpoint) => {
                // A problem names the endpoints it is about; one that names none (a denied call)
                // concerns them all.
                let about = |f: &&Finding| {
                    f.status == Status::Pass
                        || mentions(&f.message, endpoint)
                        || !f.message.contains("vpce-")
                };
                let checks = judged(&["vpce.ingress-443", "vpce.policy", "vpce.private-dns"]);
                let checks: Vec<&Finding> = checks.into_iter().filter(about).collect();
                g.node(endpoint, format!("endpoint {endpoint}"), &checks)
            }
            None if kind != "none" => {
                let label = match (kind, gateway) {
                    ("igw", Some(g)) => format!("internet gateway {g}"),
                    ("nat", Some(g)) => format!("NAT gateway {g}"),
                    (other, Some(g)) => format!("{other} {g}"),
                    (other, None) => other.replace('_', " "),
                };
                g.node("gateway", label, &judged(&["network.route"]))
            }
            None if find("network.dns-central").is_some_and(|f| f.status != Status::Skip) => g
                .node(
                    "central",
                    "central endpoints (other networks)".into(),
                    &judged(&["network.dns-central"]),
                ),
            None => g.node(
                &format!("none-{service}"),
                format!("no path to {service}"),
                &judged(&["vpce.present", "network.route"]),
            ),
        };
        g.edge(&subnet, &via);
        g.edge(&via, &target);
    }
    g
}

/// Whether `text` names `id` as a word (`vpce-ssm` is not in `vpce-ssmmessages`).
fn mentions(text: &str, id: &str) -> bool {
    text.match_indices(id).any(|(at, _)| {
        let next = text[at + id.len()..].chars().next();
        !next.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-')
    })
}

/// What a hop's state says, marked in the picture's label too (a picture printed without colour
/// still shows it).
fn mark(state: State) -> &'static str {
    match state {
        State::Fine => "",
        State::Doubt => "! ",
        State::Unknown => "? ",
        State::Broken => "✗ ",
    }
}

fn quoted(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Graphviz DOT: `dot -Tsvg path.dot > path.svg`.
pub fn dot(report: &Report) -> String {
    let g = graph(report);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "digraph ssm_path {{\n  label=\"{} ({}): {}\";\n  labelloc=t;\n  rankdir=LR;\n  \
         node [shape=box, style=\"rounded,filled\", fillcolor=white, fontname=Helvetica];",
        quoted(&report.target.instance_id),
        quoted(&report.target.region),
        quoted(&report.headline())
    );
    for n in &g.nodes {
        let (color, fill, width) = match n.state {
            State::Fine => ("black", "white", 1),
            State::Doubt => ("orange", "lightyellow", 2),
            State::Unknown => ("gray40", "gray90", 2),
            State::Broken => ("red", "mistyrose", 3),
        };
        let checks = match n.checks.is_empty() {
            true => String::new(),
            false => format!("\\n({})", n.checks.join(", ")),
        };
        let _ = writeln!(
            out,
            "  \"{}\" [label=\"{}{}{checks}\", color={color}, fillcolor={fill}, penwidth={width}];",
            quoted(&n.id),
            mark(n.state),
            quoted(&n.label)
        );
    }
    for (from, to) in &g.edges {
        let broken = g
            .nodes
            .iter()
            .any(|n| &n.id == to && n.state == State::Broken);
        let style = if broken {
            " [color=red, style=dashed]"
        } else {
            ""
        };
        let _ = writeln!(out, "  \"{}\" -> \"{}\"{style};", quoted(from), quoted(to));
    }
    out.push_str("}\n");
    out
}

/// Mermaid `flowchart`, for Markdown that renders it (GitHub, GitLab, most wikis).
pub fn mermaid(report: &Report) -> String {
    let g = graph(report);
    let mut out = String::from("flowchart LR\n");
    let key = |id: &str| g.nodes.iter().position(|n| n.id == id).unwrap_or(0);
    for (i, n) in g.nodes.iter().enumerate() {
        let label = format!("{}{}", mark(n.state), n.label).replace('"', "#quot;");
        let _ = writeln!(out, "  n{i}[\"{label}\"]");
    }
    for (from, to) in &g.edges {
        let _ = writeln!(out, "  n{} --> n{}", key(from), key(to));
    }
    let _ = writeln!(
        out,
        "  classDef broken stroke:#d00,stroke-width:3px,fill:#fee\n  classDef doubt \
         stroke:#e90,stroke-width:2px,fill:#ffd\n  classDef unknown stroke:#777,stroke-dasharray:4"
    );
    for (i, n) in g.nodes.iter().enumerate() {
        let class = match n.state {
            State::Fine => continue,
            State::Doubt => "doubt",
            State::Unknown => "unknown",
            State::Broken => "broken",
        };
        let _ = writeln!(out, "  class n{i} {class}");
    }
    out
}
