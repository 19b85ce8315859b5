//! AWS's published address ranges (`ip-ranges.json`, downloaded by the user and named with
//! `--ip-ranges`): the `AMAZON` ranges of each region, which hold every regional public endpoint.

use crate::analysis::cidr::Cidr;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
pub struct IpRanges {
    /// The file's `createDate` (`YYYY-MM-DD-hh-mm-ss`), said with every verdict it decides.
    pub created: String,
    amazon: BTreeMap<String, Vec<Cidr>>,
}

#[derive(Deserialize)]
struct File {
    #[serde(rename = "createDate")]
    create_date: String,
    prefixes: Vec<Prefix>,
    #[serde(default)]
    ipv6_prefixes: Vec<Prefix>,
}

#[derive(Deserialize)]
struct Prefix {
    #[serde(alias = "ipv6_prefix")]
    ip_prefix: String,
    region: String,
    service: String,
}

impl IpRanges {
    /// Reads the file's text, or says in one line why it is not `ip-ranges.json`.
    pub fn parse(text: &str) -> Result<IpRanges, String> {
        let file: File =
            serde_json::from_str(text).map_err(|e| format!("is not AWS's ip-ranges.json ({e})"))?;
        let mut amazon: BTreeMap<String, Vec<Cidr>> = BTreeMap::new();
        for p in file.prefixes.iter().chain(&file.ipv6_prefixes) {
            if p.service != "AMAZON" {
                continue;
            }
            let range = Cidr::parse(&p.ip_prefix)
                .ok_or_else(|| format!("holds {:?}, which is not a CIDR", p.ip_prefix))?;
            amazon.entry(p.region.clone()).or_default().push(range);
        }
        if amazon.is_empty() {
            return Err("lists no AMAZON range: is it ip-ranges.json?".into());
        }
        Ok(IpRanges {
            created: file.create_date,
            amazon,
        })
    }

    /// The region's `AMAZON` ranges of one family.
    pub fn amazon(&self, region: &str, v6: bool) -> Vec<Cidr> {
        let all = self
            .amazon
            .get(region)
            .map(Vec::as_slice)
            .unwrap_or_default();
        all.iter().copied().filter(|c| c.is_v6() == v6).collect()
    }
}

/// How much of a region's AMAZON ranges some open ranges cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coverage {
    pub total: usize,
    /// Ranges wholly inside an open range.
    pub covered: usize,
    /// Ranges at least partly inside one.
    pub touched: usize,
}

pub fn coverage(amazon: &[Cidr], open: &[Cidr]) -> Coverage {
    let inside = |test: fn(Cidr, Cidr) -> bool| {
        amazon
            .iter()
            .filter(|a| open.iter().any(|o| test(*o, **a)))
            .count()
    };
    Coverage {
        total: amazon.len(),
        covered: inside(Cidr::covers),
        touched: inside(Cidr::overlaps),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{
      "syncToken": "1764300000", "createDate": "2026-11-28-01-02-03",
      "prefixes": [
        {"ip_prefix": "52.94.0.0/22", "region": "eu-west-1", "service": "AMAZON", "network_border_group": "eu-west-1"},
        {"ip_prefix": "52.95.0.0/24", "region": "eu-west-1", "service": "AMAZON", "network_border_group": "eu-west-1"},
        {"ip_prefix": "52.95.0.0/24", "region": "eu-west-1", "service": "EC2", "network_border_group": "eu-west-1"},
        {"ip_prefix": "3.5.0.0/16", "region": "us-east-1", "service": "AMAZON", "network_border_group": "us-east-1"}
      ],
      "ipv6_prefixes": [
        {"ipv6_prefix": "2a05:d000::/25", "region": "eu-west-1", "service": "AMAZON", "network_border_group": "eu-west-1"}
      ]
    }"#;

    fn c(s: &str) -> Cidr {
        Cidr::parse(s).unwrap()
    }

    #[test]
    fn reads_the_amazon_ranges_by_region_and_family() {
        let ranges = IpRanges::parse(SAMPLE).unwrap();
        assert_eq!(ranges.created, "2026-11-28-01-02-03");
        assert_eq!(
            ranges.amazon("eu-west-1", false),
            [c("52.94.0.0/22"), c("52.95.0.0/24")]
        );
        assert_eq!(ranges.amazon("eu-west-1", true), [c("2a05:d000::/25")]);
        assert!(ranges.amazon("ap-south-2", false).is_empty());
    }

    #[test]
    fn anything_else_is_refused_in_one_line() {
        for text in ["", "{}", "[1]", r#"{"createDate": "x", "prefixes": []}"#] {
            let why = IpRanges::parse(text).unwrap_err();
            assert_eq!(why.lines().count(), 1, "{why}");
        }
        let bad = SAMPLE.replace("52.94.0.0/22", "52.94.0.0/99");
        assert!(IpRanges::parse(&bad).unwrap_err().contains("52.94.0.0/99"));
    }

    #[test]
    fn coverage_counts_whole_and_partial_ranges() {
        let amazon = [c("52.94.0.0/22"), c("52.95.0.0/24")];
        assert_eq!(
            coverage(&amazon, &[c("52.0.0.0/8")]),
            Coverage {
                total: 2,
                covered: 2,
                touched: 2
            }
        );
        assert_eq!(
            coverage(&amazon, &[c("52.94.1.0/24")]),
            Coverage {
                total: 2,
                covered: 0,
                touched: 1
            }
        );
        assert_eq!(
            coverage(&amazon, &[c("8.8.8.0/24")]),
            Coverage {
                total: 2,
                covered: 0,
                touched: 0
            }
        );
    }
}
