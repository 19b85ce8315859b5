//! `--redact`: a report that can leave the company. Account ids, IP addresses and CIDRs, resource
//! ids, and the names of roles, profiles, policies, users, groups and instances are replaced by
//! pseudonyms, the same value by the same pseudonym throughout, so the report still reads as one
//! story. It works on the report's strings before any renderer sees them, so every format (and
//! the human output's line wrapping) gets the same result.

use crate::analysis::central::AMAZON_DNS;
use crate::facts::{DEFAULT_DOCUMENT, Facts, SERVICE_LINKED_ROLE, Task};
use crate::report::Report;
use std::collections::{BTreeSet, HashMap};

/// Characters that may belong to an AWS name or id: a match must not continue into one of them.
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)
}

/// Whether the text after a match continues the name: a period or comma that ends a sentence or
/// a list item does not.
fn continues(after: &str) -> bool {
    let mut chars = after.chars();
    match chars.next() {
        Some('.' | ',') => chars.next().is_some_and(is_name_char),
        Some(c) => is_name_char(c),
        None => false,
    }
}

/// IAM resource types whose path and name follow the type in an ARN (and Session Manager's
/// sessions, whose ids start with the user's or role session's name).
const IAM_TYPES: &[&str] = &[
    "session/",
    "federated-user/",
    "user/",
    "role/",
    "instance-profile/",
    "policy/",
    "assumed-role/",
    "group/",
];

/// Words that name AWS itself, not the customer: kept even when a resource carries the same name.
const KEEP: &[&str] = &["default", "ssm", "ssmmessages", "ec2messages", "ec2", "aws"];

fn is_aws_word(name: &str) -> bool {
    KEEP.iter().any(|k| k.eq_ignore_ascii_case(name))
}

pub struct Redactor {
    /// Values known from the facts (names, addresses), longest first.
    known: Vec<(String, &'static str)>,
    pseudonyms: HashMap<String, String>,
    counters: HashMap<&'static str, usize>,
}

impl Redactor {
    pub fn new<'a>(facts: impl IntoIterator<Item = &'a Facts>) -> Redactor {
        let mut names = BTreeSet::new();
        let mut addresses = BTreeSet::new();
        for f in facts {
            collect(f, &mut names, &mut addresses);
        }
        let mut known: Vec<(String, &'static str)> = names
            .into_iter()
            .filter(|n: &String| n.chars().count() >= 3 && !is_aws_word(n))
            .map(|n| (n, "NAME"))
            .chain(addresses.into_iter().map(|a| (a, "IP")))
            .collect();
        known.sort_by_key(|(text, _)| std::cmp::Reverse(text.len()));
        Redactor {
            known,
            pseudonyms: HashMap::new(),
            counters: HashMap::new(),
        }
    }

    /// A report with the customer's data redacted: the target, each check's message, evidence
    /// and remediation, and the commands to connect. Ids, statuses, titles and links are the tool's own and stay as they are,
    /// so the document keeps its schema whatever the customer's names. A fleet's reports go
    /// through one redactor in order, so each value keeps one pseudonym across them.
    pub fn value(&mut self, report: &Report) -> Report {
        let mut json = serde_json::to_value(report).expect("reports are plain data");
        for key in ["target", "checks", "connect"] {
            let Some(part) = json.get_mut(key) else {
                continue;
            };
            match part {
                serde_json::Value::Array(checks) => {
                    for check in checks {
                        for field in ["message", "evidence", "remediation"] {
                            if let Some(v) = check.get_mut(field) {
                                self.walk(v);
                            }
                        }
                    }
                }
                // Which report it is (`param`, `patch`) is the tool's own word.
                serde_json::Value::Object(target) => target
                    .iter_mut()
                    .filter(|(field, _)| *field != "command")
                    .for_each(|(_, v)| self.walk(v)),
                other => self.walk(other),
            }
        }
        serde_json::from_value(json).expect("redaction rewrites free text only")
    }

    fn walk(&mut self, value: &mut serde_json::Value) {
        match value {
            serde_json::Value::String(s) => *s = self.text(s),
            serde_json::Value::Array(items) => items.iter_mut().for_each(|v| self.walk(v)),
            serde_json::Value::Object(map) => map.values_mut().for_each(|v| self.walk(v)),
            _ => {}
        }
    }

    pub fn text(&mut self, text: &str) -> String {
        let text = self.iam_arn_names(text);
        let mut text = text;
        for i in 0..self.known.len() {
            let (value, kind) = self.known[i].clone();
            text = self.replace_bounded(&text, &value, kind);
        }
        let text = self.cidrs(&text);
        let text = self.tokens(&text, |token| is_account(token).then_some("ACCOUNT"));
        self.tokens(&text, resource_prefix)
    }

    fn pseudonym(&mut self, value: &str, kind: &'static str) -> String {
        if let Some(p) = self.pseudonyms.get(value) {
            return p.clone();
        }
        let n = self.counters.entry(kind).or_insert(0);
        *n += 1;
        let p = match kind {
            "NAME" | "IP" | "ACCOUNT" => format!("{kind}-{n}"),
            prefix => format!("{prefix}-REDACTED-{n}"),
        };
        self.pseudonyms.insert(value.to_string(), p.clone());
        p
    }

    /// Replaces whole occurrences of `value`: not inside a longer name or id.
    fn replace_bounded(&mut self, text: &str, value: &str, kind: &'static str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(at) = rest.find(value) {
            let before = match at {
                0 => out.chars().last(),
                _ => rest[..at].chars().last(),
            };
            out.push_str(&rest[..at]);
            let bounded =
                !before.is_some_and(is_name_char) && !continues(&rest[at + value.len()..]);
            match bounded {
                true => out.push_str(&self.pseudonym(value, kind)),
                false => out.push_str(value),
            }
            rest = &rest[at + value.len()..];
        }
        out.push_str(rest);
        out
    }

    /// Any IPv4 CIDR (`a.b.c.d/n`) the facts did not name, e.g. in a policy condition. A bare
    /// address is left to the facts' list: agent versions look like addresses.
    fn cidrs(&mut self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(slash) = rest.find('/') {
            let before = &rest[..slash];
            let start = before
                .rfind(|c: char| !(c.is_ascii_digit() || c == '.'))
                .map_or(0, |i| i + 1);
            let digits = rest[slash + 1..]
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len() - slash - 1);
            let candidate = &rest[start..slash + 1 + digits];
            let address = &rest[start..slash];
            let is_cidr = digits > 0
                && address.split('.').count() == 4
                && address.split('.').all(|o| o.parse::<u8>().is_ok())
                && candidate != "0.0.0.0/0";
            out.push_str(&rest[..start]);
            match is_cidr {
                true => out.push_str(&self.pseudonym(candidate, "IP")),
                false => out.push_str(&rest[start..slash + 1]),
            }
            rest = &rest[if is_cidr {
                slash + 1 + digits
            } else {
                slash + 1
            }..];
        }
        out.push_str(rest);
        out
    }

    /// Maximal runs of name characters, each replaced when `kind` recognises it.
    fn tokens(&mut self, text: &str, kind: impl Fn(&str) -> Option<&'static str>) -> String {
        let mut out = String::with_capacity(text.len());
        let mut token = String::new();
        let flush = |token: &mut String, out: &mut String, this: &mut Redactor| {
            match kind(token) {
                Some(k) => out.push_str(&this.pseudonym(token, k)),
                None => out.push_str(token),
            }
            token.clear();
        };
        for c in text.chars() {
            // A 12-digit account is bounded by anything but a digit (ARNs put colons around it).
            if is_name_char(c) && c != '.' && c != ',' && c != '=' {
                token.push(c);
            } else {
                flush(&mut token, &mut out, self);
                out.push(c);
            }
        }
        flush(&mut token, &mut out, self);
        out
    }

    /// `arn:aws:iam::123456789012:role/path/Name` → `…:role/NAME-1`; AWS-managed ones are kept.
    fn iam_arn_names(&mut self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(at) = rest.find("arn:") {
            out.push_str(&rest[..at]);
            let arn_end = rest[at..]
                .find(|c: char| c.is_whitespace() || "\"'(),;<>`".contains(c))
                .map_or(rest.len(), |e| at + e);
            let arn = &rest[at..arn_end];
            out.push_str(&self.iam_arn(arn));
            rest = &rest[arn_end..];
        }
        out.push_str(rest);
        out
    }

    fn iam_arn(&mut self, arn: &str) -> String {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let [_, _, service, _, account, resource] = parts[..] else {
            return arn.to_string();
        };
        if account == "aws" || !matches!(service, "iam" | "sts" | "ssm") {
            return arn.to_string();
        }
        let Some(kind) = IAM_TYPES.iter().find(|t| resource.starts_with(**t)) else {
            return arn.to_string();
        };
        let name = resource[kind.len()..].trim_end_matches(['.', ':']);
        let suffix = &resource[kind.len() + name.len()..];
        let head = arn[..arn.len() - resource.len()].to_string();
        // Each segment on its own (path, name, session), so a role named in prose and in an ARN
        // gets the same pseudonym.
        let segments: Vec<String> = name
            .split('/')
            .map(|segment| match segment {
                "" => String::new(),
                segment => self.pseudonym(segment, "NAME"),
            })
            .collect();
        format!("{head}{kind}{}{suffix}", segments.join("/"))
    }
}

fn is_account(token: &str) -> bool {
    token.len() == 12 && token.bytes().all(|b| b.is_ascii_digit())
}

/// `vpc-0a1b2c3d` → `vpc`: a lowercase prefix and 8 or 17 hex digits; `o-…` for an organization.
fn resource_prefix(token: &str) -> Option<&'static str> {
    if let Some(org) = token.strip_prefix("o-")
        && (10..=32).contains(&org.len())
        && org
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        return Some("o");
    }
    const PREFIXES: &[&str] = &[
        "i", "mi", "vpc", "subnet", "sg", "vpce", "rtb", "acl", "nat", "igw", "eigw", "eni", "pl",
        "tgw", "pcx", "vgw", "cgw", "lgw", "ami", "lt", "vpn", "mw", "pb",
    ];
    let (prefix, hex) = token.split_once('-')?;
    let hex_ok = matches!(hex.len(), 8 | 17) && hex.bytes().all(|b| b.is_ascii_hexdigit());
    PREFIXES.iter().find(|p| **p == prefix && hex_ok).copied()
}

/// The customer's own names and addresses that appear in the facts.
fn collect(f: &Facts, names: &mut BTreeSet<String>, addresses: &mut BTreeSet<String>) {
    if let Some(operator) = &f.operator {
        if let Some(identity) = operator.identity.value() {
            names.insert(identity.name.clone());
            // Group policies are named `group/policy`.
            let groups = identity.group_policies.value().into_iter().flatten();
            names.extend(groups.filter_map(|p| Some(p.name.split_once('/')?.0.to_string())));
        }
        // Where the session tools live shows the operator's home directory.
        if let Some(machine) = operator.machine.value() {
            names.extend(machine.plugin.as_ref().map(|p| p.path.clone()));
            names.extend(machine.aws_cli.clone());
        }
        let entity = operator.identity.value().and_then(|i| i.entity.value());
        names.extend(entity.and_then(|e| e.run_as.clone()));
    }
    if let Some(forward) = &f.target.forward {
        names.insert(forward.host.clone());
        addresses.extend(forward.addresses.value().into_iter().flatten().cloned());
    }
    // A document of the account's own is named by its owner; AWS's are public.
    if !f.target.document.starts_with("AWS-") && f.target.document != DEFAULT_DOCUMENT {
        names.insert(f.target.document.clone());
    }
    match &f.task {
        Some(Task::Param(asked)) => {
            let found = asked
                .parameter
                .value()
                .into_iter()
                .flatten()
                .map(|p| &p.name);
            let nearby = asked.nearby.value().into_iter().flatten();
            for name in std::iter::once(&asked.name).chain(found).chain(nearby) {
                // The name, its path and each parent path, with and without the leading `/`
                // (an ARN writes `parameter/app/db`).
                let mut path = name.as_str();
                while !path.is_empty() && path != "/" {
                    names.insert(path.to_string());
                    names.insert(path.trim_start_matches('/').to_string());
                    path = path.rfind('/').map_or("", |at| &path[..at]);
                }
            }
            names.extend(asked.role.clone());
            // A customer key named by its alias (`alias/app`): the alias is the account's word.
            let found = asked.parameter.value().into_iter().flatten();
            let aliases = found.filter_map(|p| p.key_id.as_deref()?.strip_prefix("alias/"));
            names.extend(
                aliases
                    .filter(|a| !a.starts_with("aws/"))
                    .map(str::to_string),
            );
        }
        Some(Task::Patch(patch)) => {
            names.extend(patch.patch_group.clone());
            for w in patch.windows.value().into_iter().flatten() {
                names.extend(w.name.clone());
                let targets = w.targets.value().into_iter().flatten();
                for t in targets {
                    names.extend(t.name.clone());
                    // Tag values the targets select on are the customer's.
                    names.extend(t.targets.iter().flat_map(|s| s.values.iter().cloned()));
                }
            }
            let associations = patch.associations.value().into_iter().flatten();
            for a in associations {
                names.extend(a.targets.iter().flat_map(|s| s.values.iter().cloned()));
            }
            // The roles patching tasks run as, and the tags patch.targeted lists.
            let roles = patch.service_roles.keys();
            names.extend(roles.filter(|r| *r != SERVICE_LINKED_ROLE).cloned());
            let instance = f.aws.as_ref().and_then(|a| a.ec2_instance());
            let tags = instance.and_then(|i| i.tags.clone()).into_iter().flatten();
            names.extend(tags.map(|(_, value)| value));
            let baseline = patch.baseline.value();
            names.extend(
                baseline
                    .and_then(|b| b.name.clone())
                    .filter(|n| !n.starts_with("AWS-")),
            );
        }
        None => {}
    }
    let Some(aws) = &f.aws else {
        return;
    };
    if let Some(settings) = aws
        .session
        .document
        .value()
        .and_then(|d| d.as_ref())
        .map(|d| &d.settings)
    {
        names.extend(settings.s3_bucket.clone());
        names.extend(settings.s3_prefix.clone());
        names.extend(settings.log_group.clone());
        names.extend(settings.run_as_user.clone());
        // An alias names the key (`alias/sessions`); an id or ARN is an id.
        names.extend(settings.kms_key.clone().filter(|k| k.starts_with("alias/")));
    }
    if let Some(key) = aws.session.key.value().and_then(Option::as_ref) {
        names.insert(key.arn.rsplit('/').next().unwrap_or(&key.arn).to_string());
    }
    let mut address = |cidr: &str| {
        if cidr != "0.0.0.0/0" && cidr != "::/0" {
            addresses.insert(cidr.to_string());
            if let Some((ip, _)) = cidr.split_once('/') {
                addresses.insert(ip.to_string());
            }
        }
    };
    if let Some(i) = aws.ec2_instance() {
        names.extend(i.name.clone());
        i.private_ip
            .iter()
            .chain(&i.public_ip)
            .chain(&i.ipv6_addresses)
            .for_each(|ip| address(ip));
    }
    let net = &aws.network;
    for s in net.subnets.value().into_iter().flatten() {
        s.cidr.iter().chain(&s.ipv6_cidrs).for_each(|c| address(c));
    }
    // Security group names are left alone: reports name groups by id, and group names are often
    // plain words ("endpoints") that would be replaced wherever the prose uses them.
    for g in net.security_groups.value().into_iter().flatten() {
        for r in g.ingress.iter().chain(&g.egress) {
            r.cidrs.iter().chain(&r.ipv6_cidrs).for_each(|c| address(c));
        }
    }
    for a in net.network_acls.value().into_iter().flatten() {
        a.entries
            .iter()
            .flat_map(|e| e.cidr.as_deref().into_iter().chain(e.ipv6_cidr.as_deref()))
            .for_each(&mut address);
    }
    for t in net.route_tables.value().into_iter().flatten() {
        t.routes
            .iter()
            .flat_map(|r| {
                (r.destination.as_deref().into_iter()).chain(r.destination_ipv6.as_deref())
            })
            .for_each(&mut address);
    }
    for entries in net.prefix_lists.values().filter_map(|p| p.value()) {
        entries.iter().for_each(|c| address(c));
    }
    // How the VPC's names resolve: its DNS servers, zones, rules and what they answer.
    if let Some(dns) = net.dns.value() {
        let servers = dns.servers.value().into_iter().flatten();
        servers
            .filter(|s| !s.eq_ignore_ascii_case(AMAZON_DNS))
            .for_each(|s| address(s));
        let profile = dns.profile.value().into_iter().flatten();
        let carried: Vec<_> = profile
            .inspect(|p| {
                names.insert(p.id.clone());
            })
            .filter_map(|p| p.resources.value())
            .collect();
        for r in &carried {
            names.extend(r.endpoints.iter().map(|e| e.id.clone()));
            names.extend(r.unseen.iter().map(|u| u.id.clone()));
        }
        let zones = dns.zones.value().into_iter().flatten();
        for zone in zones.chain(carried.iter().flat_map(|r| &r.zones)) {
            names.insert(zone.id.clone());
            for r in zone.records.value().into_iter().flatten() {
                names.extend(r.alias.clone());
                r.values.iter().for_each(|v| address(v));
            }
        }
        let rules = dns.rules.value().into_iter().flatten();
        for rule in rules.chain(carried.iter().flat_map(|r| &r.rules)) {
            names.insert(rule.id.clone());
            for target in &rule.targets {
                // `ip:port`, `[ipv6]:port` or a bare address
                let ip = match target.rsplit_once(':') {
                    Some((ip, port)) if port.bytes().all(|b| b.is_ascii_digit()) => ip,
                    _ => target,
                };
                address(ip.trim_start_matches('[').trim_end_matches(']'));
            }
        }
        for a in dns.attachments.value().into_iter().flatten() {
            names.insert(a.id.clone());
            names.extend(a.route_table.clone());
        }
    }
    let iam = &aws.iam;
    if let Some(Some(p)) = iam.instance_profile.value() {
        names.insert(p.name.clone());
        names.extend(p.role_names.iter().cloned());
    }
    names.extend(iam.role.value().map(|r| r.name.clone()));
    let policies = iam
        .attached_policies
        .value()
        .into_iter()
        .flatten()
        .chain(iam.inline_policies.value().into_iter().flatten())
        .chain(iam.permissions_boundary.value());
    for p in policies {
        let aws_managed = p.arn.as_deref().is_some_and(|a| a.contains(":iam::aws:"));
        if !aws_managed {
            names.insert(p.name.clone());
        }
    }
    if let Some(role) = aws.dhmc.value().and_then(|d| d.role.as_deref()) {
        names.insert(role.rsplit('/').next().unwrap_or(role).to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor() -> Redactor {
        let text = include_str!("../../fixtures/healthy-private-endpoints.json");
        let facts: Facts = serde_json::from_str(text).expect("fixture");
        Redactor::new(&[facts])
    }

    #[test]
    fn accounts_ids_and_arn_names_get_stable_pseudonyms() {
        let mut r = redactor();
        let out = r.text(
            "User: arn:aws:iam::123456789012:user/ops/alice is not authorized on vpc-0a1b2c3d \
             (vpc-0a1b2c3d, account 123456789012); arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
        );
        assert!(
            !out.contains("123456789012") && !out.contains("alice"),
            "{out}"
        );
        assert!(!out.contains("vpc-0a1b2c3d"), "{out}");
        assert_eq!(out.matches("vpc-REDACTED-1").count(), 2, "{out}");
        assert_eq!(out.matches("ACCOUNT-1").count(), 2, "{out}");
        assert!(
            out.contains("arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"),
            "{out}"
        );
    }

    #[test]
    fn policy_text_and_paths_are_redacted_too() {
        let mut r = redactor();
        let out = r.text(
            "aws:SourceIp 203.0.113.0/24 in o-a1b2c3d4e5; arn:aws:iam::123456789012:role/ops/app-role \
             and arn:aws:sts::123456789012:federated-user/alice; role app-role",
        );
        for secret in [
            "203.0.113.0/24",
            "o-a1b2c3d4e5",
            "ops",
            "alice",
            "123456789012",
        ] {
            assert!(!out.contains(secret), "{secret} in {out}");
        }
        // The role has one pseudonym, in its ARN and in prose alike.
        let role = r.pseudonym("app-role", "NAME");
        assert!(
            out.contains(&format!("role/{}/{role} ", r.pseudonym("ops", "NAME"))),
            "{out}"
        );
        assert!(out.ends_with(&format!("role {role}")), "{out}");
        assert!(
            r.text("0.0.0.0/0 and 3.3.40.0")
                .contains("0.0.0.0/0 and 3.3.40.0")
        );
    }

    #[test]
    fn a_parameter_s_name_and_path_and_the_patch_group_are_redacted() {
        let text = include_str!("../../fixtures/healthy-private-endpoints.json");
        let mut facts: Facts = serde_json::from_str(text).expect("fixture");
        facts.task = Some(Task::Param(crate::facts::ParameterFacts {
            name: "/payments/prod/db-url".into(),
            by_path: false,
            role: None,
            parameter: crate::facts::Fetch::collected(None),
            nearby: crate::facts::Fetch::collected(vec!["/payments/prod/db-uri".into()]),
            key: crate::facts::Fetch::not_applicable("no such parameter"),
        }));
        let report = crate::checks::run(&facts, Default::default());
        let json = serde_json::to_string(&Redactor::new(&[facts]).value(&report)).unwrap();
        for secret in ["payments", "db-url", "db-uri"] {
            assert!(!json.contains(secret), "{secret} in {json}");
        }
        assert!(json.contains("\"command\":\"param\""), "{json}");
    }

    #[test]
    fn names_like_the_report_s_own_words_keep_the_document_valid() {
        let text = include_str!("../../fixtures/healthy-private-endpoints.json");
        let mut facts: Facts = serde_json::from_str(text).expect("fixture");
        if let crate::facts::Fetch::Collected { value: Some(i) } = &mut facts.aws_mut().instance {
            i.name = Some("pass".into());
        }
        let report = crate::checks::run(&facts, Default::default());
        let redacted = Redactor::new(&[facts]).value(&report);
        assert_eq!(redacted.verdict, report.verdict);
        assert_eq!(redacted.checks[0].status, report.checks[0].status);
        assert_eq!(redacted.target.name.as_deref(), Some("NAME-1"));
    }

    #[test]
    fn the_operator_s_names_paths_and_sessions_are_redacted() {
        let text = include_str!("../../fixtures/healthy-private-endpoints.json");
        let facts: Facts = serde_json::from_str(text).expect("fixture");
        let mut r = Redactor::new(&[facts]);
        let out = r.text(
            "arn:aws:ssm:eu-west-1:111122223333:session/oncall-0123456789abcdef0 by oncall with \
             /usr/local/bin/session-manager-plugin",
        );
        for secret in ["oncall", "111122223333", "/usr/local/bin"] {
            assert!(!out.contains(secret), "{secret} in {out}");
        }
    }

    #[test]
    fn preferences_documents_and_forwarded_hosts_are_redacted() {
        let text = include_str!("../../fixtures/healthy-private-endpoints.json");
        let mut facts: Facts = serde_json::from_str(text).expect("fixture");
        facts.target.document = "Team-Shell".into();
        facts.target.forward = Some(crate::facts::Forward {
            host: "db.corp.internal".into(),
            port: 5432,
            addresses: crate::facts::Fetch::collected(vec!["10.9.8.7".into()]),
        });
        let aws = facts.aws.as_mut().expect("an AWS section");
        aws.session_mut().document =
            crate::facts::Fetch::collected(Some(crate::facts::SessionDocument {
                name: "Team-Shell".into(),
                document_type: "Session".into(),
                session_type: Some("Standard_Stream".into()),
                settings: crate::facts::SessionSettings {
                    s3_bucket: Some("corp-session-logs".into()),
                    log_group: Some("/corp/sessions".into()),
                    kms_key: Some("alias/corp-sessions".into()),
                    ..Default::default()
                },
            }));
        let mut r = Redactor::new(&[facts]);
        let out = r.text(
            "Team-Shell logs to s3://corp-session-logs and /corp/sessions with alias/corp-sessions;              db.corp.internal (10.9.8.7) on 5432",
        );
        for secret in [
            "Team-Shell",
            "corp-session-logs",
            "/corp/sessions",
            "corp-sessions",
            "db.corp.internal",
            "10.9.8.7",
        ] {
            assert!(!out.contains(secret), "{secret} in {out}");
        }
    }

    #[test]
    fn versions_and_check_ids_are_kept() {
        let mut r = redactor();
        let text =
            "agent 3.3.40.0 or later; see vpce.private-dns and ssm:UpdateInstanceInformation";
        assert_eq!(r.text(text), text);
    }
}
