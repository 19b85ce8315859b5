//! Loopback stand-ins for what the probes talk to: the instance metadata service, a DNS server,
//! TLS endpoints, an HTTP CONNECT proxy. Each listens on 127.0.0.x, runs on its own threads until
//! the test process ends, and never forwards anything off the machine.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread;

pub fn tls_fixture(name: &str) -> PathBuf {
    crate::common::root().join("tests/fixtures/tls").join(name)
}

/// The DER blocks of a PEM file.
fn pem_blocks(name: &str) -> Vec<Vec<u8>> {
    let text = std::fs::read_to_string(tls_fixture(name)).expect("read a PEM fixture");
    let mut blocks = Vec::new();
    let mut body = String::new();
    let mut inside = false;
    for line in text.lines() {
        if line.starts_with("-----BEGIN") {
            inside = true;
            body.clear();
        } else if line.starts_with("-----END") {
            inside = false;
            blocks.push(aws_smithy_types::base64::decode(&body).expect("base64 PEM"));
        } else if inside {
            body.push_str(line.trim());
        }
    }
    blocks
}

/// What a fake TLS endpoint does with a connection.
#[derive(Clone, Copy)]
pub enum Tls {
    /// Presents `NAME.pem` (see tests/fixtures/tls/make.sh) and completes the handshake.
    Presents(&'static str),
    /// Accepts the connection and never answers: the handshake times out.
    Silent,
}

/// A TLS endpoint on `ip` (127.0.0.x) at `port` (0: any); returns its port.
pub fn tls_endpoint(ip: Ipv4Addr, port: u16, behaviour: Tls) -> u16 {
    let listener = TcpListener::bind((ip, port)).expect("bind a TLS listener");
    let port = listener.local_addr().unwrap().port();
    let config = match behaviour {
        Tls::Presents(name) => {
            let certs = pem_blocks(&format!("{name}.pem"))
                .into_iter()
                .map(rustls::pki_types::CertificateDer::from)
                .collect();
            let key = rustls::pki_types::PrivateKeyDer::Pkcs8(
                pem_blocks(&format!("{name}.key")).remove(0).into(),
            );
            let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
            let config = rustls::ServerConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(certs, key)
                .expect("a usable test certificate");
            Some(Arc::new(config))
        }
        Tls::Silent => None,
    };
    thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            match &config {
                Some(config) => {
                    let config = config.clone();
                    thread::spawn(move || {
                        let mut stream = stream;
                        let Ok(mut conn) = rustls::ServerConnection::new(config) else {
                            return;
                        };
                        while conn.is_handshaking() {
                            if conn.complete_io(&mut stream).is_err() {
                                return;
                            }
                        }
                        let _ = conn.complete_io(&mut stream);
                    });
                }
                None => held.push(stream),
            }
        }
    });
    port
}

/// A port on 127.0.0.1 where connections are neither accepted nor refused: its one-slot
/// backlog is full, so new connections wait until they time out.
pub fn black_hole() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().unwrap().port();
    let fd = {
        use std::os::fd::AsRawFd;
        listener.as_raw_fd()
    };
    // SAFETY: a plain listen(2) on a socket this function owns, lowering its backlog.
    unsafe extern "C" {
        fn listen(fd: i32, backlog: i32) -> i32;
    }
    assert_eq!(unsafe { listen(fd, 0) }, 0);
    // Fill the queue; none of these is ever accepted.
    let mut fillers = Vec::new();
    for _ in 0..4 {
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        if let Ok(s) = TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(200)) {
            fillers.push(s);
        }
    }
    thread::spawn(move || {
        let _keep = (listener, fillers);
        thread::park();
    });
    port
}

/// A DNS server on 127.0.0.1 answering A questions from `names` (an absent name: NXDOMAIN);
/// returns its address.
pub fn dns(names: &[(&str, Ipv4Addr)]) -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind the DNS stub");
    let address = socket.local_addr().unwrap();
    let names: BTreeMap<String, Ipv4Addr> = names
        .iter()
        .map(|(n, a)| (n.trim_end_matches('.').to_ascii_lowercase(), *a))
        .collect();
    thread::spawn(move || {
        let mut buf = [0u8; 1500];
        while let Ok((len, from)) = socket.recv_from(&mut buf) {
            if let Some(answer) = dns_answer(&buf[..len], &names) {
                let _ = socket.send_to(&answer, from);
            }
        }
    });
    address
}

fn dns_answer(query: &[u8], names: &BTreeMap<String, Ipv4Addr>) -> Option<Vec<u8>> {
    if query.len() < 12 {
        return None;
    }
    // The question: labels, then type and class.
    let mut at = 12;
    let mut labels = Vec::new();
    loop {
        let len = *query.get(at)? as usize;
        at += 1;
        if len == 0 {
            break;
        }
        labels.push(String::from_utf8_lossy(query.get(at..at + len)?).to_ascii_lowercase());
        at += len;
    }
    let qtype = u16::from_be_bytes([*query.get(at)?, *query.get(at + 1)?]);
    let question = &query[12..at + 4];
    let found = names.get(&labels.join("."));
    let a = found.filter(|_| qtype == 1);
    let mut out = Vec::new();
    out.extend_from_slice(&query[..2]);
    // A response, recursion available; NXDOMAIN when the name is unknown.
    let rcode = if found.is_some() { 0 } else { 3 };
    out.extend_from_slice(&[0x81, 0x80 | rcode]);
    out.extend_from_slice(&[0, 1, 0, a.is_some() as u8, 0, 0, 0, 0]);
    out.extend_from_slice(question);
    if let Some(ip) = a {
        out.extend_from_slice(&[0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
        out.extend_from_slice(&ip.octets());
    }
    Some(out)
}

/// How the fake IMDS behaves.
#[derive(Clone, Copy, PartialEq)]
pub enum Imds {
    /// Tokens, identity, network and the role's credentials.
    V2,
    /// No token (as behind a hop limit of 1): only tokenless reads answer.
    V1Only,
}

/// A fake IMDS for `instance` in `region`, VPC `cidr`, serving role `role`; returns its URL.
pub fn imds(
    behaviour: Imds,
    instance: &str,
    region: &str,
    cidr: &str,
    role: Option<&str>,
) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fake IMDS");
    let url = format!("http://{}", listener.local_addr().unwrap());
    let mac = "0e:11:22:33:44:55";
    let mut paths: BTreeMap<String, String> = [
        ("instance-id", instance.to_string()),
        ("placement/region", region.to_string()),
        ("mac", mac.to_string()),
        (
            &format!("network/interfaces/macs/{mac}/vpc-id"),
            "vpc-0fake".to_string(),
        ),
        (
            &format!("network/interfaces/macs/{mac}/vpc-ipv4-cidr-blocks"),
            cidr.to_string(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (format!("/latest/meta-data/{k}"), v))
    .collect();
    if let Some(role) = role {
        paths.insert(
            "/latest/meta-data/iam/security-credentials/".into(),
            role.into(),
        );
        paths.insert(
            format!("/latest/meta-data/iam/security-credentials/{role}"),
            r#"{"Code":"Success","Type":"AWS-HMAC","AccessKeyId":"ASIAFAKEFAKEFAKE","SecretAccessKey":"PLANTED-IMDS-SECRET","Token":"PLANTED-IMDS-TOKEN","Expiration":"2126-01-01T00:00:00Z"}"#
                .to_string(),
        );
    }
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let paths = paths.clone();
            thread::spawn(move || serve_imds(stream, behaviour, &paths));
        }
    });
    url
}

/// A request's first line and headers (the body, if any, is left in `reader`).
fn request_head(reader: &mut BufReader<TcpStream>) -> Option<(String, Vec<String>)> {
    let mut request = String::new();
    reader.read_line(&mut request).ok()?;
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
            return Some((request, headers));
        }
        headers.push(header);
    }
}

fn serve_imds(stream: TcpStream, behaviour: Imds, paths: &BTreeMap<String, String>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let Some((request, _)) = request_head(&mut reader) else {
        return;
    };
    let mut parts = request.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (status, body) = match (method, path, behaviour) {
        ("PUT", "/latest/api/token", Imds::V2) => (200, "FAKE-IMDS-TOKEN".to_string()),
        ("PUT", "/latest/api/token", Imds::V1Only) => (403, String::new()),
        ("GET", path, _) => match paths.get(path) {
            Some(body) => (200, body.clone()),
            None => (404, String::new()),
        },
        _ => (405, String::new()),
    };
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// What a fake proxy does with a CONNECT.
#[derive(Clone, Copy)]
pub enum Proxy {
    /// Refuses it (403).
    Refuses,
    /// Tunnels it when it carries these credentials (`user:password`), else 407.
    Requires(&'static str),
}

/// An HTTP proxy on 127.0.0.1 that tunnels CONNECTs to 127.0.0.1 at the port asked (the host
/// asked is only recorded); returns its port and the targets asked for.
pub fn connect_proxy(behaviour: Proxy) -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
    let port = listener.local_addr().unwrap().port();
    let asked = Arc::new(Mutex::new(Vec::new()));
    let log = asked.clone();
    thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let log = log.clone();
            thread::spawn(move || tunnel(client, behaviour, &log));
        }
    });
    (port, asked)
}

fn tunnel(client: TcpStream, behaviour: Proxy, asked: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(client.try_clone().unwrap());
    let Some((request, headers)) = request_head(&mut reader) else {
        return;
    };
    let target = request.split_whitespace().nth(1).unwrap_or("").to_string();
    asked.lock().unwrap().push(target.clone());
    let mut client = client;
    let port = target
        .rsplit(':')
        .next()
        .and_then(|p| p.parse::<u16>().ok());
    let refusal: Option<&[u8]> = match behaviour {
        Proxy::Refuses => Some(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"),
        Proxy::Requires(credentials) => {
            let expected = format!(
                "proxy-authorization: basic {}",
                aws_smithy_types::base64::encode(credentials).to_ascii_lowercase()
            );
            let given = headers
                .iter()
                .any(|h| h.trim().to_ascii_lowercase() == expected);
            (!given).then_some(
                b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n",
            )
        }
    };
    let upstream = port.and_then(|port| TcpStream::connect(("127.0.0.1", port)).ok());
    let (None, Some(upstream)) = (refusal, upstream) else {
        let answer = refusal.unwrap_or(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
        let _ = client.write_all(answer);
        return;
    };
    let _ = client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
    let (mut up_read, mut up_write) = (upstream.try_clone().unwrap(), upstream);
    let mut client_write = client.try_clone().unwrap();
    // The reader's buffer (anything sent past the request head) is copied first.
    thread::spawn(move || {
        let _ = std::io::copy(&mut reader, &mut up_write);
    });
    let mut buf = [0u8; 8192];
    while let Ok(n) = up_read.read(&mut buf) {
        if n == 0 || client_write.write_all(&buf[..n]).is_err() {
            break;
        }
    }
}
