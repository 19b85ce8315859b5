//! IPv4 CIDR arithmetic: enough to ask "does this rule's range cover that address or subnet".

use std::fmt;
use std::net::Ipv4Addr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: u32,
    prefix: u8,
}

impl Cidr {
    pub const ANY: Cidr = Cidr {
        network: 0,
        prefix: 0,
    };

    /// Parses `a.b.c.d/n` or a bare address (a /32). Host bits are cleared, as AWS does.
    pub fn parse(text: &str) -> Option<Cidr> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, p.parse::<u8>().ok()?),
            None => (text, 32),
        };
        if prefix > 32 {
            return None;
        }
        let addr: Ipv4Addr = addr.trim().parse().ok()?;
        Some(Cidr {
            network: u32::from(addr) & mask(prefix),
            prefix,
        })
    }

    fn last(self) -> u32 {
        self.network | !mask(self.prefix)
    }

    /// The prefix length: the longer, the more specific a route.
    pub fn prefix(self) -> u8 {
        self.prefix
    }

    /// Whether every address of `other` is in `self`.
    pub fn covers(self, other: Cidr) -> bool {
        self.prefix <= other.prefix && (other.network & mask(self.prefix)) == self.network
    }

    pub fn overlaps(self, other: Cidr) -> bool {
        self.network <= other.last() && other.network <= self.last()
    }
}

fn mask(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", Ipv4Addr::from(self.network), self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Cidr {
        Cidr::parse(s).unwrap()
    }

    #[test]
    fn parses_and_normalises() {
        assert_eq!(c("10.0.1.7/24").to_string(), "10.0.1.0/24");
        assert_eq!(c("10.0.1.7").to_string(), "10.0.1.7/32");
        assert_eq!(c("0.0.0.0/0"), Cidr::ANY);
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(Cidr::parse("::/0").is_none());
    }

    #[test]
    fn coverage_and_overlap() {
        assert!(Cidr::ANY.covers(c("10.0.0.0/16")));
        assert!(c("10.0.0.0/16").covers(c("10.0.3.0/24")));
        assert!(!c("10.0.3.0/24").covers(c("10.0.0.0/16")));
        assert!(c("10.0.3.0/24").overlaps(c("10.0.0.0/16")));
        assert!(!c("10.1.0.0/16").overlaps(c("10.0.0.0/16")));
        assert!(c("10.0.0.5/32").covers(c("10.0.0.5")));
    }
}
