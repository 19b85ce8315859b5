//! SSM agent versions (`3.3.40.0`), compared numerically part by part.

use std::cmp::Ordering;

/// Compares dotted versions; missing parts count as 0. `None` if either is not numeric.
pub fn compare(a: &str, b: &str) -> Option<Ordering> {
    let parse =
        |v: &str| -> Option<Vec<u64>> { v.trim().split('.').map(|p| p.parse().ok()).collect() };
    let (mut a, mut b) = (parse(a)?, parse(b)?);
    let len = a.len().max(b.len());
    a.resize(len, 0);
    b.resize(len, 0);
    Some(a.cmp(&b))
}

/// Whether `version` is at least `minimum`; `None` when the version is not readable.
pub fn at_least(version: &str, minimum: &str) -> Option<bool> {
    compare(version, minimum).map(|o| o != Ordering::Less)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_numerically() {
        assert_eq!(at_least("3.3.40.0", "3.3.40.0"), Some(true));
        assert_eq!(at_least("3.10.1.0", "3.3.40.0"), Some(true));
        assert_eq!(at_least("3.3.9.0", "3.3.40.0"), Some(false));
        assert_eq!(at_least("2.3.68", "2.3.68.0"), Some(true));
        assert_eq!(at_least("latest", "2.3.68.0"), None);
    }
}
