//! CIDR arithmetic for both address families: enough to ask "does this rule's range cover that
//! address or subnet". Ranges of different families never cover or overlap each other.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cidr {
    v6: bool,
    /// The network address; an IPv4 one in the low 32 bits.
    network: u128,
    prefix: u8,
}

impl Cidr {
    /// `0.0.0.0/0`.
    pub const ANY: Cidr = Cidr {
        v6: false,
        network: 0,
        prefix: 0,
    };
    /// `::/0`.
    pub const ANY6: Cidr = Cidr {
        v6: true,
        network: 0,
        prefix: 0,
    };

    /// Parses `a.b.c.d/n`, `x:…:y/n` or a bare address (a /32 or /128). Host bits are cleared,
    /// as AWS does.
    pub fn parse(text: &str) -> Option<Cidr> {
        let (addr, prefix) = match text.trim().split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().ok()?)),
            None => (text.trim(), None),
        };
        let (v6, address) = match addr.contains(':') {
            true => (true, u128::from(addr.parse::<Ipv6Addr>().ok()?)),
            false => (false, u128::from(u32::from(addr.parse::<Ipv4Addr>().ok()?))),
        };
        let bits = if v6 { 128 } else { 32 };
        let prefix = prefix.unwrap_or(bits);
        if prefix > bits {
            return None;
        }
        Some(Cidr {
            v6,
            network: address & mask(prefix, bits),
            prefix,
        })
    }

    pub fn is_v6(self) -> bool {
        self.v6
    }

    fn bits(self) -> u8 {
        if self.v6 { 128 } else { 32 }
    }

    fn last(self) -> u128 {
        self.network | (!mask(self.prefix, self.bits()) & mask(self.bits(), self.bits()))
    }

    /// The prefix length: the longer, the more specific a route.
    pub fn prefix(self) -> u8 {
        self.prefix
    }

    /// Whether every address of `other` is in `self`.
    pub fn covers(self, other: Cidr) -> bool {
        self.v6 == other.v6
            && self.prefix <= other.prefix
            && (other.network & mask(self.prefix, self.bits())) == self.network
    }

    pub fn overlaps(self, other: Cidr) -> bool {
        self.v6 == other.v6 && self.network <= other.last() && other.network <= self.last()
    }
}

/// Ranges that never hold a public AWS endpoint, and what they are.
const SPECIAL: &[(&str, &str)] = &[
    ("0.0.0.0/8", "reserved"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "shared address space"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "reserved"),
    ("192.0.2.0/24", "documentation"),
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),
    ("::/127", "reserved"),
    ("100::/64", "reserved"),
    ("2001:db8::/32", "documentation"),
    ("fc00::/7", "private"),
    ("fe80::/10", "link-local"),
    ("ff00::/8", "multicast"),
];

impl Cidr {
    /// What kind of special range holds all of this one (`private`, `documentation`, …), or
    /// `None` when it may hold public addresses.
    pub fn special(self) -> Option<&'static str> {
        SPECIAL.iter().find_map(|(range, kind)| {
            Cidr::parse(range)
                .is_some_and(|r| r.covers(self))
                .then_some(*kind)
        })
    }
}

/// The netmask of `prefix` in an address of `bits` bits, right-aligned in a u128.
fn mask(prefix: u8, bits: u8) -> u128 {
    let all = if bits == 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    };
    match prefix {
        0 => 0,
        p => all & (all << (bits - p)),
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.v6 {
            true => write!(f, "{}/{}", Ipv6Addr::from(self.network), self.prefix),
            false => write!(f, "{}/{}", Ipv4Addr::from(self.network as u32), self.prefix),
        }
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
        assert_eq!(c("::/0"), Cidr::ANY6);
        assert_eq!(
            c("2600:1f18:ab:cd01::5/64").to_string(),
            "2600:1f18:ab:cd01::/64"
        );
        assert_eq!(c("2600:1f18::1").prefix(), 128);
        assert!(Cidr::parse("::/129").is_none());
        assert!(Cidr::parse("10.0.0.0/x").is_none());
    }

    #[test]
    fn coverage_and_overlap() {
        assert!(Cidr::ANY.covers(c("10.0.0.0/16")));
        assert!(c("10.0.0.0/16").covers(c("10.0.3.0/24")));
        assert!(!c("10.0.3.0/24").covers(c("10.0.0.0/16")));
        assert!(c("10.0.3.0/24").overlaps(c("10.0.0.0/16")));
        assert!(!c("10.1.0.0/16").overlaps(c("10.0.0.0/16")));
        assert!(c("10.0.0.5/32").covers(c("10.0.0.5")));
        assert!(c("255.255.255.0/24").covers(c("255.255.255.255")));
    }

    #[test]
    fn special_ranges_are_named_and_public_ones_are_not() {
        assert_eq!(c("10.20.0.0/16").special(), Some("private"));
        assert_eq!(c("192.0.2.10").special(), Some("documentation"));
        assert_eq!(c("169.254.169.254").special(), Some("link-local"));
        assert_eq!(c("fd00:ec2::/64").special(), Some("private"));
        assert_eq!(c("2001:db8:1::/48").special(), Some("documentation"));
        assert_eq!(c("0.0.0.0/0").special(), None);
        assert_eq!(c("::/0").special(), None);
        assert_eq!(c("52.94.0.0/22").special(), None);
        assert_eq!(c("2600:1f18::/32").special(), None);
        // Partly special is not special: it may still hold public addresses.
        assert_eq!(c("8.0.0.0/4").special(), None);
    }

    #[test]
    fn families_never_mix() {
        assert!(Cidr::ANY6.covers(c("2600:1f18::/32")));
        assert!(c("2600:1f18::/32").covers(c("2600:1f18:ab::/48")));
        assert!(!Cidr::ANY.covers(c("2600:1f18::/32")));
        assert!(!Cidr::ANY6.covers(c("10.0.0.0/8")));
        assert!(!Cidr::ANY6.overlaps(Cidr::ANY));
        assert!(c("ffff::/16").overlaps(c("ffff:ffff::/32")));
    }
}
