//! Reaching an endpoint the way a session's programs do: its name asked of the machine's DNS
//! servers one by one (so the answer names the server that gave it), a TCP connection on its
//! port, directly or through an HTTP proxy's CONNECT, and a TLS handshake with its name checked
//! against the machine's trust store. Every failure is a step's outcome, never an abort.

use crate::analysis::proxy::{Proxy, ProxyEnv, host_port, without_credentials};
use crate::facts::{Lookup, Reach, Step};
use hickory_resolver::config::{
    LookupIpStrategy, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::net::NetError;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The port Session Manager's endpoints answer on.
pub const HTTPS_PORT: u16 = 443;

/// How long each step (a DNS question, a connection, a handshake) may take.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(5);

/// How long one DNS server may take to answer before the next is asked.
const DNS_TIMEOUT: Duration = Duration::from_secs(2);

/// Where a probe's names are asked and how its connections go out.
pub struct Network {
    /// The DNS servers, in the order the machine asks them; why none is known otherwise.
    pub servers: Result<Vec<SocketAddr>, String>,
    /// The hosts file, asked before any server (as the C library and Go do).
    pub hosts_file: Option<PathBuf>,
    /// The proxy settings connections follow (`HTTPS_PROXY`, `NO_PROXY`).
    pub proxies: ProxyEnv,
    /// TLS trusting the machine's store; why it cannot be set up otherwise.
    pub tls: Result<Arc<rustls::ClientConfig>, String>,
    pub timeout: Duration,
}

/// How a probe reaches endpoints: the DNS server it asks (`--resolver`; else the system's), the
/// port it connects to (443 but in tests) and how long each step may take.
#[derive(Debug, Clone)]
pub struct Reaching {
    pub resolver: Option<SocketAddr>,
    pub https_port: u16,
    pub timeout: Duration,
}

impl Default for Reaching {
    fn default() -> Self {
        Reaching {
            resolver: None,
            https_port: HTTPS_PORT,
            timeout: STEP_TIMEOUT,
        }
    }
}

impl Reaching {
    /// The network these settings make, with `hosts_file` read first and `proxies` followed.
    pub fn network(&self, hosts_file: PathBuf, proxies: ProxyEnv) -> Network {
        Network {
            servers: nameservers(self.resolver),
            hosts_file: Some(hosts_file),
            proxies,
            tls: system_trust(),
            timeout: self.timeout,
        }
    }
}

/// One endpoint to reach.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub service: String,
    pub host: String,
    pub port: u16,
    /// `false` for a plain-HTTP endpoint (an emulator): TLS is not tried.
    pub tls: bool,
    pub configured_by: Option<String>,
    pub required: bool,
}

impl Endpoint {
    /// `service`'s regional endpoint on `port` (443 but in tests).
    pub fn regional(service: &str, region: &str, port: u16) -> Endpoint {
        Endpoint {
            service: service.to_string(),
            host: format!("{service}.{region}.{}", dns_suffix(region)),
            port,
            tls: true,
            configured_by: None,
            required: true,
        }
    }

    /// The endpoint an `http(s)://host[:port]` URL names, for `service`.
    pub fn from_url(service: &str, url: &str, configured_by: &str) -> Result<Endpoint, String> {
        let (tls, rest) = match url.split_once("://") {
            Some(("https", rest)) => (true, rest),
            Some(("http", rest)) => (false, rest),
            _ => return Err(format!("{configured_by}={url} is not an http(s) URL")),
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
        let (host, port) = host_port(authority, if tls { HTTPS_PORT } else { 80 })
            .ok_or_else(|| format!("{configured_by}={url} names no host"))?;
        Ok(Endpoint {
            service: service.to_string(),
            host,
            port,
            tls,
            configured_by: Some(configured_by.to_string()),
            required: true,
        })
    }
}

/// The domain AWS's endpoints are under in `region`'s partition.
pub fn dns_suffix(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    }
}

/// The machine's DNS servers: `resolver` when given, else the system's configuration
/// (`/etc/resolv.conf`, the registry on Windows).
pub fn nameservers(resolver: Option<SocketAddr>) -> Result<Vec<SocketAddr>, String> {
    if let Some(server) = resolver {
        return Ok(vec![server]);
    }
    let (config, _) = hickory_resolver::system_conf::read_system_conf()
        .map_err(|e| format!("cannot read the system's DNS configuration: {e}"))?;
    let mut servers: Vec<SocketAddr> = Vec::new();
    for ns in config.name_servers() {
        let port = ns.connections.first().map_or(53, |c| c.port);
        let server = SocketAddr::new(ns.ip, port);
        if !servers.contains(&server) {
            servers.push(server);
        }
    }
    if servers.is_empty() {
        return Err("the system's DNS configuration names no server".to_string());
    }
    Ok(servers)
}

/// TLS as the session's programs check it: the machine's trust store (`SSL_CERT_FILE` and
/// `SSL_CERT_DIR` replace it when set, as they do for Go and OpenSSL).
pub fn system_trust() -> Result<Arc<rustls::ClientConfig>, String> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = rustls::RootCertStore::empty();
    let (_, unparsable) = roots.add_parsable_certificates(found.certs);
    if roots.is_empty() {
        let why = found
            .errors
            .first()
            .map(|e| format!(": {e}"))
            .unwrap_or_default();
        return Err(format!(
            "no trusted certificate found in the system's trust store{why} ({unparsable} unreadable)"
        ));
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

fn millis(since: Instant) -> u64 {
    since.elapsed().as_millis().try_into().unwrap_or(u64::MAX)
}

/// `endpoint` reached: its name resolved, then TCP and TLS, through the proxy unless
/// `NO_PROXY` says otherwise (the proxy resolves the name then, and a local failure to resolve it
/// does not stop the connection).
pub async fn reach(net: &Network, endpoint: Endpoint) -> Reach {
    let lookup = lookup(net, &endpoint.host).await;
    let proxy_url = net.proxies.https_proxy_for(&endpoint.host);
    let connected = match (proxy_url, lookup.addresses.first()) {
        (Some(url), _) => match Proxy::parse(url) {
            Ok(proxy) => tunnel(net, &proxy, &endpoint).await,
            Err(error) => Err(Step::Failed { ms: 0, error }),
        },
        (None, Some(_)) => connect(net, &lookup.addresses, endpoint.port).await,
        (None, None) => Err(Step::Skipped {
            reason: format!("{} did not resolve", endpoint.host),
        }),
    };
    let (tcp, tls) = match connected {
        Err(step) => {
            let tls = Step::Skipped {
                reason: "no TCP connection".to_string(),
            };
            (step, tls)
        }
        Ok((step, _)) if !endpoint.tls => {
            let plain = Step::Skipped {
                reason: "a plain-HTTP endpoint".to_string(),
            };
            (step, plain)
        }
        Ok((step, stream)) => (step, handshake(net, stream, &endpoint.host).await),
    };
    Reach {
        service: endpoint.service,
        host: endpoint.host,
        port: endpoint.port,
        configured_by: endpoint.configured_by,
        required: endpoint.required,
        proxy: proxy_url.map(without_credentials),
        lookup,
        tcp,
        tls,
    }
}

/// `host`'s addresses: an address is its own; the hosts file, then each server in turn until one
/// answers (an answer that the name does not exist is an answer).
pub async fn lookup(net: &Network, host: &str) -> Lookup {
    let started = Instant::now();
    if let Ok(address) = host.parse::<IpAddr>() {
        return Lookup {
            server: None,
            addresses: vec![address.to_string()],
            ms: 0,
            error: None,
        };
    }
    if let Some(file) = &net.hosts_file
        && let Some(addresses) = from_hosts_file(file, host)
    {
        return Lookup {
            server: Some(file.display().to_string()),
            addresses,
            ms: millis(started),
            error: None,
        };
    }
    let servers = match &net.servers {
        Ok(servers) => servers,
        Err(why) => {
            return Lookup {
                server: None,
                addresses: Vec::new(),
                ms: 0,
                error: Some(why.clone()),
            };
        }
    };
    // A server that does not answer is given less time than a connection: the next one may.
    let patience = net.timeout.min(DNS_TIMEOUT);
    let mut silent = Vec::new();
    for server in servers {
        let asked = tokio::time::timeout(patience, ask(*server, host, patience)).await;
        match asked.unwrap_or(Err(NetError::Timeout)) {
            Ok(addresses) => {
                return Lookup {
                    server: Some(server.to_string()),
                    addresses,
                    ms: millis(started),
                    error: None,
                };
            }
            Err(e) if e.is_nx_domain() => {
                return answered(server, started, "no such name (NXDOMAIN)".to_string());
            }
            Err(e) if e.is_no_records_found() => {
                return answered(
                    server,
                    started,
                    "the name has no address record".to_string(),
                );
            }
            // SERVFAIL, REFUSED: the C library and Go ask the next server.
            Err(e) => silent.push(format!("{server}: {}", short_dns_error(&e))),
        }
    }
    Lookup {
        server: None,
        addresses: Vec::new(),
        ms: millis(started),
        error: Some(format!("no DNS server answered ({})", silent.join("; "))),
    }
}

fn answered(server: &SocketAddr, started: Instant, error: String) -> Lookup {
    Lookup {
        server: Some(server.to_string()),
        addresses: Vec::new(),
        ms: millis(started),
        error: Some(error),
    }
}

fn short_dns_error(e: &NetError) -> String {
    match e {
        NetError::Timeout => "timed out".to_string(),
        other => other.to_string(),
    }
}

/// One server's answer for `host`'s addresses (IPv4 first), nothing cached or searched.
async fn ask(server: SocketAddr, host: &str, timeout: Duration) -> Result<Vec<String>, NetError> {
    let mut name_server = NameServerConfig::udp_and_tcp(server.ip());
    for connection in &mut name_server.connections {
        connection.port = server.port();
    }
    let config = ResolverConfig::from_parts(None, Vec::new(), vec![name_server]);
    let mut options = ResolverOpts::default();
    options.timeout = timeout;
    // No retry: a silent server is the next one's turn, as in resolv.conf's order.
    options.attempts = 0;
    options.ip_strategy = LookupIpStrategy::Ipv4thenIpv6;
    options.cache_size = 0;
    options.use_hosts_file = ResolveHosts::Never;
    let resolver =
        hickory_resolver::Resolver::builder_with_config(config, TokioRuntimeProvider::default())
            .with_options(options)
            .build()?;
    let fqdn = format!("{}.", host.trim_end_matches('.'));
    let found = resolver.lookup_ip(fqdn.as_str()).await?;
    let mut addresses: Vec<String> = found.iter().map(|a| a.to_string()).collect();
    addresses.dedup();
    Ok(addresses)
}

/// The hosts file's addresses for `host`, when it lists it.
fn from_hosts_file(file: &Path, host: &str) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(file).ok()?;
    let host = host.trim_end_matches('.');
    let addresses: Vec<String> = text
        .lines()
        .map(|line| line.split('#').next().unwrap_or_default())
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let address = fields.next()?;
            fields
                .any(|name| name.eq_ignore_ascii_case(host))
                .then(|| address.to_string())
        })
        .collect();
    (!addresses.is_empty()).then_some(addresses)
}

/// A TCP connection to the first of `addresses` that accepts one.
async fn connect(
    net: &Network,
    addresses: &[String],
    port: u16,
) -> Result<(Step, TcpStream), Step> {
    let started = Instant::now();
    let mut errors = Vec::new();
    for address in addresses {
        let Ok(ip) = address.parse::<IpAddr>() else {
            continue;
        };
        let target = SocketAddr::new(ip, port);
        match open(target, net.timeout).await {
            Ok(stream) => {
                let done = Step::Done {
                    ms: millis(started),
                    detail: format!("connected to {target}"),
                };
                return Ok((done, stream));
            }
            Err(e) => errors.push(format!("{target}: {e}")),
        }
    }
    Err(Step::Failed {
        ms: millis(started),
        error: errors.join("; "),
    })
}

async fn open(target: SocketAddr, timeout: Duration) -> Result<TcpStream, String> {
    match tokio::time::timeout(timeout, TcpStream::connect(target)).await {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(e)) => Err(connect_error(&e)),
        Err(_) => Err(format!(
            "connection timed out after {} ms (dropped on the way: a security group, network ACL, route or firewall)",
            timeout.as_millis()
        )),
    }
}

fn connect_error(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => {
            "connection refused (nothing listens there, or a firewall rejects it)".to_string()
        }
        _ => e.to_string(),
    }
}

/// A tunnel to `endpoint` through `proxy` (HTTP CONNECT).
async fn tunnel(
    net: &Network,
    proxy: &Proxy,
    endpoint: &Endpoint,
) -> Result<(Step, TcpStream), Step> {
    let started = Instant::now();
    let failed = |error: String| Step::Failed {
        ms: millis(started),
        error,
    };
    let proxy_lookup = lookup(net, &proxy.host).await;
    if proxy_lookup.addresses.is_empty() {
        let why = proxy_lookup.error.unwrap_or_default();
        return Err(failed(format!(
            "the proxy {} does not resolve: {why}",
            proxy.shown
        )));
    }
    let (_, mut stream) = connect(net, &proxy_lookup.addresses, proxy.port)
        .await
        .map_err(|step| match step {
            Step::Failed { error, .. } => failed(format!("the proxy {}: {error}", proxy.shown)),
            other => other,
        })?;
    let target = match endpoint.host.contains(':') {
        true => format!("[{}]:{}", endpoint.host, endpoint.port),
        false => format!("{}:{}", endpoint.host, endpoint.port),
    };
    let mut request = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if let Some(authorization) = &proxy.authorization {
        request.push_str(&format!("Proxy-Authorization: {authorization}\r\n"));
    }
    request.push_str("\r\n");
    let exchange = async {
        stream.write_all(request.as_bytes()).await?;
        read_head(&mut stream).await
    };
    let head = match tokio::time::timeout(net.timeout, exchange).await {
        Ok(Ok(head)) => head,
        Ok(Err(e)) => return Err(failed(format!("the proxy {}: {e}", proxy.shown))),
        Err(_) => {
            return Err(failed(format!(
                "the proxy {} did not answer CONNECT within {} ms",
                proxy.shown,
                net.timeout.as_millis()
            )));
        }
    };
    let status = head.lines().next().unwrap_or_default().trim().to_string();
    if status.split_whitespace().nth(1) != Some("200") {
        return Err(failed(format!(
            "the proxy {} refused CONNECT {target}: {status}",
            proxy.shown
        )));
    }
    let done = Step::Done {
        ms: millis(started),
        detail: format!("tunnel to {target} through the proxy {}", proxy.shown),
    };
    Ok((done, stream))
}

/// A response's head (status line and headers), read byte by byte so that nothing of the tunnel
/// that follows is consumed.
async fn read_head(stream: &mut TcpStream) -> std::io::Result<String> {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 16 * 1024 {
            return Err(std::io::Error::other("an endless response head"));
        }
        let byte = stream.read_u8().await?;
        head.push(byte);
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

/// A TLS handshake with `host` as the server name, over `stream`.
async fn handshake(net: &Network, stream: TcpStream, host: &str) -> Step {
    let started = Instant::now();
    let config = match &net.tls {
        Ok(config) => config.clone(),
        Err(why) => {
            return Step::Failed {
                ms: 0,
                error: why.clone(),
            };
        }
    };
    let name = match rustls::pki_types::ServerName::try_from(host.to_string()) {
        Ok(name) => name,
        Err(e) => {
            return Step::Failed {
                ms: 0,
                error: format!("{host} is not a TLS server name: {e}"),
            };
        }
    };
    let connector = tokio_rustls::TlsConnector::from(config);
    match tokio::time::timeout(net.timeout, connector.connect(name, stream)).await {
        Ok(Ok(tls)) => {
            let (_, session) = tls.get_ref();
            let version = session
                .protocol_version()
                .and_then(|v| v.as_str())
                .unwrap_or("TLS");
            Step::Done {
                ms: millis(started),
                detail: format!(
                    "{} with {host}, certificate trusted",
                    version.replace('_', ".")
                ),
            }
        }
        Ok(Err(e)) => Step::Failed {
            ms: millis(started),
            error: tls_error(&e, host),
        },
        Err(_) => Step::Failed {
            ms: millis(started),
            error: format!(
                "handshake timed out after {} ms (something on the way holds TLS: a proxy or inspecting firewall)",
                net.timeout.as_millis()
            ),
        },
    }
}

/// A failed handshake in the words of its cause.
fn tls_error(e: &std::io::Error, host: &str) -> String {
    use rustls::{CertificateError, Error};
    let inner = e.get_ref().and_then(|inner| inner.downcast_ref::<Error>());
    match inner {
        Some(Error::InvalidCertificate(CertificateError::UnknownIssuer)) => {
            "certificate signed by an unknown authority (x509): a TLS-inspecting proxy or firewall re-signs the traffic with a CA this machine does not trust".to_string()
        }
        Some(Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        )) => format!(
            "the certificate presented is not valid for {host}: another server answers this name (a proxy, a wrong hosts entry or DNS record)"
        ),
        Some(Error::InvalidCertificate(
            CertificateError::Expired | CertificateError::ExpiredContext { .. },
        )) => "the certificate presented has expired (or this machine's clock is wrong)".to_string(),
        Some(other) => format!("TLS failed: {other}"),
        None => match e.kind() {
            std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset => format!(
                "the connection was closed during the handshake ({e}): a proxy or firewall refused TLS to {host}"
            ),
            _ => format!("TLS failed: {e}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_come_from_regions_and_urls() {
        let e = Endpoint::regional("ssmmessages", "cn-north-1", 443);
        assert_eq!(e.host, "ssmmessages.cn-north-1.amazonaws.com.cn");
        let u = Endpoint::from_url("ssm", "http://127.0.0.1:5000", "AWS_ENDPOINT_URL").unwrap();
        assert_eq!((u.host.as_str(), u.port, u.tls), ("127.0.0.1", 5000, false));
        let v6 = Endpoint::from_url("ssm", "https://[::1]/x", "X").unwrap();
        assert_eq!((v6.host.as_str(), v6.port), ("::1", 443));
        assert!(Endpoint::from_url("ssm", "ftp://x", "X").is_err());
    }

    #[test]
    fn the_hosts_file_answers_names_it_lists() {
        let file = std::env::temp_dir().join(format!("ssm-doctor-hosts-{}", std::process::id()));
        std::fs::write(
            &file,
            "# c\n10.9.9.9 ssm.eu-west-1.amazonaws.com other # pinned\n",
        )
        .unwrap();
        assert_eq!(
            from_hosts_file(&file, "SSM.eu-west-1.amazonaws.com."),
            Some(vec!["10.9.9.9".to_string()])
        );
        assert_eq!(
            from_hosts_file(&file, "ssmmessages.eu-west-1.amazonaws.com"),
            None
        );
        std::fs::remove_file(file).unwrap();
    }
}
