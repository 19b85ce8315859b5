//! Proxy settings as the Session Manager plugin and the SSM agent read them: Go's
//! `net/http/httpproxy` (upper-case variables first; `HTTPS_PROXY` for `https://` and `wss://`
//! URLs, `HTTP_PROXY` for `http://` ones such as IMDS; `NO_PROXY` names hosts reached directly).

use super::cidr::Cidr;
use std::fmt;

/// The proxy variables a program reads, for one environment (`lookup` gives a variable's value).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProxyEnv {
    pub https: Option<String>,
    pub http: Option<String>,
    pub no_proxy: Vec<String>,
}

impl ProxyEnv {
    pub fn from(lookup: impl Fn(&str) -> Option<String>) -> ProxyEnv {
        let first = |names: [&str; 2]| {
            names
                .iter()
                .find_map(|n| lookup(n).filter(|v| !v.trim().is_empty()))
        };
        let no_proxy = first(["NO_PROXY", "no_proxy"])
            .map(|v| {
                v.split(',')
                    .map(|e| e.trim().to_string())
                    .filter(|e| !e.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        ProxyEnv {
            https: first(["HTTPS_PROXY", "https_proxy"]),
            http: first(["HTTP_PROXY", "http_proxy"]),
            no_proxy,
        }
    }

    /// The proxy an `https://` request to `host` goes through, if any.
    pub fn https_proxy_for(&self, host: &str) -> Option<&str> {
        self.https
            .as_deref()
            .filter(|_| !bypasses(&self.no_proxy, host))
    }

    /// The proxy an `http://` request to `host` (IMDS) goes through, if any.
    pub fn http_proxy_for(&self, host: &str) -> Option<&str> {
        self.http
            .as_deref()
            .filter(|_| !bypasses(&self.no_proxy, host))
    }
}

/// The variables of several sources applied in order, a later one overriding (as systemd applies
/// a unit and then its drop-ins).
pub fn merged<'a>(sources: impl IntoIterator<Item = &'a [(String, String)]>) -> ProxyEnv {
    let mut variables: Vec<&(String, String)> = Vec::new();
    for source in sources {
        for pair in source {
            variables.retain(|(name, _)| *name != pair.0);
            variables.push(pair);
        }
    }
    ProxyEnv::from(|name| {
        variables
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    })
}

/// Whether `no_proxy` sends `host` around the proxy, as Go decides: `*`; `localhost` and
/// loopback addresses always; a name and its subdomains (`.name`: subdomains only); an address
/// or a CIDR block holding it. A `:port` on an entry is ignored (every port is meant here).
pub fn bypasses(no_proxy: &[String], host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let ip: Option<std::net::IpAddr> = host.parse().ok();
    if host == "localhost" || ip.is_some_and(|ip| ip.is_loopback()) {
        return true;
    }
    let address = host
        .parse::<std::net::Ipv4Addr>()
        .ok()
        .and_then(|a| Cidr::parse(&a.to_string()));
    no_proxy.iter().any(|entry| {
        let entry = entry.trim().to_ascii_lowercase();
        if entry == "*" {
            return true;
        }
        // `name:port`, `1.2.3.4:port` (one colon: an IPv6 literal has more).
        let entry = match entry.split_once(':') {
            Some((name, port))
                if !port.contains(':') && port.chars().all(|c| c.is_ascii_digit()) =>
            {
                name.to_string()
            }
            _ => entry,
        };
        if let (Some(address), Some(block)) = (address, Cidr::parse(&entry)) {
            return block.covers(address);
        }
        if ip.is_some() {
            return entry.trim_start_matches('[').trim_end_matches(']') == host;
        }
        let name = entry.trim_start_matches('*');
        match name.strip_prefix('.') {
            Some(domain) => host.ends_with(&format!(".{domain}")),
            None => host == name || host.ends_with(&format!(".{name}")),
        }
    })
}

/// `url` with any `user:password@` removed: a proxy's credentials are never shown.
pub fn without_credentials(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (format!("{scheme}://"), rest),
        None => (String::new(), url),
    };
    // A password may hold a `/`: everything up to the last `@` goes.
    match rest.rsplit_once('@') {
        Some((_, after)) => format!("{scheme}{after}"),
        None => format!("{scheme}{rest}"),
    }
}

/// An HTTP proxy, as `HTTPS_PROXY` names it.
#[derive(Clone, PartialEq)]
pub struct Proxy {
    pub host: String,
    pub port: u16,
    /// The URL without its credentials: what reports show.
    pub shown: String,
    /// `Basic …` for the URL's `user:password`, sent as `Proxy-Authorization`.
    pub authorization: Option<String>,
}

/// Never the credentials, not even in a debug print.
impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Proxy({})", self.shown)
    }
}

impl Proxy {
    pub fn parse(url: &str) -> Result<Proxy, String> {
        let shown = without_credentials(url);
        let rest = match url.split_once("://") {
            Some(("http", rest)) => rest,
            Some((scheme, _)) => {
                return Err(format!(
                    "the proxy {shown} is a {scheme}:// proxy, which ssm-doctor does not probe (only http://)"
                ));
            }
            None => url,
        };
        let (credentials, after) = match rest.rsplit_once('@') {
            Some((credentials, after)) => (Some(credentials), after),
            None => (None, rest),
        };
        let authority = after.split('/').next().unwrap_or_default();
        let (host, port) =
            host_port(authority, 80).ok_or_else(|| format!("the proxy {shown} names no host"))?;
        let authorization = credentials.map(|c| {
            let decoded = percent_encoding::percent_decode_str(c).decode_utf8_lossy();
            format!(
                "Basic {}",
                aws_smithy_types::base64::encode(decoded.as_bytes())
            )
        });
        Ok(Proxy {
            host,
            port,
            shown,
            authorization,
        })
    }
}

/// `host[:port]` (IPv6 literals in brackets), with `default` when no port is given.
pub fn host_port(authority: &str, default: u16) -> Option<(String, u16)> {
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let (host, rest) = v6.split_once(']')?;
            (host, rest.strip_prefix(':'))
        }
        None => match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    let port = match port {
        Some(p) => p.parse().ok()?,
        None => default,
    };
    (!host.is_empty()).then(|| (host.to_string(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxies_are_read_and_shown_without_credentials() {
        let p = Proxy::parse("http://alice:s%40c/ret@proxy.corp:3128/").unwrap();
        assert_eq!((p.host.as_str(), p.port), ("proxy.corp", 3128));
        assert_eq!(p.shown, "http://proxy.corp:3128/");
        assert!(p.authorization.as_deref().unwrap().starts_with("Basic "));
        assert!(!format!("{p:?}").contains("Basic"));
        assert_eq!(Proxy::parse("proxy:8080").unwrap().port, 8080);
        assert!(Proxy::parse("socks5://proxy:1080").is_err());
        assert_eq!(without_credentials("http://u:p/q@h:1"), "http://h:1");
    }

    #[test]
    fn no_proxy_entries_match_as_go_matches_them() {
        let entries: Vec<String> = [
            "169.254.169.254:80",
            ".internal",
            "amazonaws.com",
            "10.0.0.0/8",
        ]
        .map(String::from)
        .to_vec();
        assert!(bypasses(&entries, "169.254.169.254"));
        assert!(bypasses(&entries, "ssm.us-east-1.amazonaws.com"));
        assert!(bypasses(&entries, "amazonaws.com"));
        assert!(bypasses(&entries, "db.internal"));
        assert!(
            !bypasses(&entries, "internal"),
            "a leading dot: subdomains only"
        );
        assert!(bypasses(&entries, "10.2.3.4"));
        assert!(!bypasses(&entries, "example.com"));
        assert!(!bypasses(&entries, "notamazonaws.com"));
        assert!(bypasses(&[], "localhost") && bypasses(&[], "127.0.0.1"));
        assert!(bypasses(&["*".to_string()], "anything"));
    }

    #[test]
    fn upper_case_variables_win_and_imds_follows_http_proxy() {
        let env = ProxyEnv::from(|name| match name {
            "HTTPS_PROXY" => Some("http://upper:3128".into()),
            "https_proxy" => Some("http://lower:3128".into()),
            _ => None,
        });
        assert_eq!(env.https.as_deref(), Some("http://upper:3128"));
        assert_eq!(env.http_proxy_for("169.254.169.254"), None, "no HTTP_PROXY");
    }
}
