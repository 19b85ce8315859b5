//! The instance metadata service, asked the way the agent asks it: an IMDSv2 token first, then
//! the instance's identity, network and role. The role's credentials are fetched to prove they
//! are served, and dropped unread but for their status and expiry.

use crate::facts::{Fetch, Metadata, Step};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Where IMDS answers on EC2 (IPv4).
pub const DEFAULT_ENDPOINT: &str = "http://169.254.169.254";
/// The variable the SDKs read to ask IMDS elsewhere; tests point it at a fake.
pub const ENDPOINT_VARIABLE: &str = "AWS_EC2_METADATA_SERVICE_ENDPOINT";

/// How long one metadata request may take: IMDS answers in milliseconds.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
const TOKEN_HEADER: &str = "X-aws-ec2-metadata-token";

struct Answer {
    status: u16,
    body: String,
}

/// The authority, host and port of an `http://host[:port]` endpoint (port 80 when not given, as
/// IMDS's own addresses are written).
fn address_of(endpoint: &str) -> Result<(&str, String, u16), String> {
    let authority = endpoint
        .strip_prefix("http://")
        .ok_or_else(|| format!("{endpoint} is not an http:// address"))?
        .trim_end_matches('/');
    let (host, port) = crate::analysis::proxy::host_port(authority, 80)
        .ok_or_else(|| format!("{endpoint} names no host"))?;
    Ok((authority, host, port))
}

/// One plain-HTTP request to `endpoint` (`http://host[:port]`).
async fn request(
    endpoint: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<Answer, String> {
    let (authority, host, port) = address_of(endpoint)?;
    let exchange = async {
        let mut stream = TcpStream::connect((host.as_str(), port)).await?;
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nContent-Length: 0\r\n"
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).await?;
        let mut response = Vec::new();
        stream.take(1 << 20).read_to_end(&mut response).await?;
        Ok::<_, std::io::Error>(response)
    };
    let response = match tokio::time::timeout(REQUEST_TIMEOUT, exchange).await {
        Ok(Ok(response)) => response,
        Ok(Err(e)) => return Err(e.to_string()),
        Err(_) => {
            return Err(format!(
                "no answer within {} ms",
                REQUEST_TIMEOUT.as_millis()
            ));
        }
    };
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| "an answer that is not HTTP".to_string())?;
    Ok(Answer {
        status,
        body: body.to_string(),
    })
}

/// A session with IMDS: the token, when one was issued.
struct Session<'a> {
    endpoint: &'a str,
    token: Option<String>,
}

impl Session<'_> {
    /// The text at `path` under `/latest/meta-data/`; `Ok(None)` when IMDS has nothing there.
    async fn get(&self, path: &str) -> Result<Option<String>, String> {
        let token: Vec<(&str, &str)> = self
            .token
            .as_deref()
            .map(|t| (TOKEN_HEADER, t))
            .into_iter()
            .collect();
        let full = format!("/latest/meta-data/{path}");
        let answer = request(self.endpoint, "GET", &full, &token).await?;
        match answer.status {
            200 => Ok(Some(answer.body.trim().to_string())),
            404 => Ok(None),
            401 => Err(format!(
                "{full}: HTTP 401, IMDS requires a token (IMDSv2) and none was issued"
            )),
            other => Err(format!("{full}: HTTP {other}")),
        }
    }
}

/// What IMDS at `endpoint` says; `Failed` when it does not answer at all.
pub async fn observe(endpoint: &str) -> Fetch<Metadata> {
    let failed = |reason: String| Fetch::Failed {
        action: format!("asking the instance metadata service at {endpoint}"),
        reason,
    };
    let ttl = [("X-aws-ec2-metadata-token-ttl-seconds", "300")];
    let (token, token_error) = match request(endpoint, "PUT", "/latest/api/token", &ttl).await {
        Ok(Answer { status: 200, body }) if !body.trim().is_empty() => {
            (Some(body.trim().to_string()), None)
        }
        Ok(Answer { status, .. }) => (None, Some(format!("the token request got HTTP {status}"))),
        Err(e) => (None, Some(format!("the token request failed: {e}"))),
    };
    let session = Session { endpoint, token };
    // IMDS down altogether: the token request and the first read both fail to connect.
    let instance_id = match session.get("instance-id").await {
        Ok(id) => id,
        Err(e) => {
            // Unreachable IMDS fails both requests alike: said once.
            let token = token_error
                .filter(|t| !t.ends_with(&e))
                .map(|t| format!("{t}; "))
                .unwrap_or_default();
            return failed(format!("{token}{e}"));
        }
    };
    // Every other read may fail on its own: said, never read as "absent".
    let mut errors = Vec::new();
    let mut read = async |path: &str| match session.get(path).await {
        Ok(answer) => answer,
        Err(e) => {
            errors.push(e);
            None
        }
    };
    let region = read("placement/region").await;
    let mac = read("mac").await;
    let (vpc_id, vpc_cidrs) = match &mac {
        Some(mac) => {
            let base = format!("network/interfaces/macs/{mac}");
            let vpc = read(&format!("{base}/vpc-id")).await;
            let cidrs = read(&format!("{base}/vpc-ipv4-cidr-blocks"))
                .await
                .map(|text| text.lines().map(|l| l.trim().to_string()).collect())
                .unwrap_or_default();
            (vpc, cidrs)
        }
        None => (None, Vec::new()),
    };
    let listing = session.get("iam/security-credentials/").await;
    let role = match &listing {
        Ok(listing) => listing
            .as_deref()
            .and_then(|l| l.lines().next().map(|r| r.trim().to_string())),
        Err(_) => None,
    };
    let credentials = match (&role, listing) {
        (Some(role), _) => credentials(&session, role).await,
        (None, Ok(_)) => Step::Skipped {
            reason: "no instance profile".to_string(),
        },
        (None, Err(error)) => Step::Failed { ms: 0, error },
    };
    Fetch::collected(Metadata {
        endpoint: endpoint.to_string(),
        v2: session.token.is_some(),
        token_error,
        instance_id,
        region,
        vpc_id,
        vpc_cidrs,
        role,
        credentials,
        errors,
    })
}

/// Whether `role`'s credentials are served: only their `Code`, `Message` and `Expiration` are
/// read from the answer, which is then dropped.
async fn credentials(session: &Session<'_>, role: &str) -> Step {
    let started = Instant::now();
    let ms = || started.elapsed().as_millis().try_into().unwrap_or(u64::MAX);
    let answer = match session
        .get(&format!("iam/security-credentials/{role}"))
        .await
    {
        Ok(Some(answer)) => answer,
        Ok(None) => {
            return Step::Failed {
                ms: ms(),
                error: format!("IMDS has no credentials for {role} (HTTP 404)"),
            };
        }
        Err(error) => return Step::Failed { ms: ms(), error },
    };
    let parsed: serde_json::Value = serde_json::from_str(&answer).unwrap_or_default();
    let field = |name: &str| {
        parsed
            .get(name)
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    match field("Code").as_deref() {
        Some("Success") => Step::Done {
            ms: ms(),
            detail: format!(
                "valid until {}",
                field("Expiration").unwrap_or_else(|| "an unknown time".to_string())
            ),
        },
        code => Step::Failed {
            ms: ms(),
            error: format!(
                "IMDS answered {}: {}",
                code.unwrap_or("without a status"),
                field("Message").unwrap_or_default()
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imds_addresses_default_to_port_80() {
        let (_, host, port) = address_of(DEFAULT_ENDPOINT).unwrap();
        assert_eq!((host.as_str(), port), ("169.254.169.254", 80));
        let (_, host, port) = address_of("http://[fd00:ec2::254]").unwrap();
        assert_eq!((host.as_str(), port), ("fd00:ec2::254", 80));
        let (_, _, port) = address_of("http://127.0.0.1:8111/").unwrap();
        assert_eq!(port, 8111);
        assert!(address_of("https://169.254.169.254").is_err());
    }
}
