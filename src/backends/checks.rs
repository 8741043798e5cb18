//! Health checks (`[[checks]]`): the one place sitrep asks a URL or opens a port for a check, as
//! the runbooks' `curl -f https://…/health` and "is Redis reachable" do. Every check runs at once
//! with the others, each within its own deadline; its result is a row, never a failed reading.

use super::{BackendError, within};
use crate::config::HealthCheck;
use crate::model::CheckRow;
use crate::sanitize::{clean, sanitize_bounded};
use std::time::{Duration, Instant};

/// At most this much of a body is read: enough for a health page, bounded against a hostile one.
const BODY_LIMIT: usize = 64 * 1024;

/// The configured checks, each URL check with the HTTP client its TLS settings make (or why there
/// is none); a TCP check has none.
pub struct CheckRunner {
    checks: Vec<(HealthCheck, Option<Result<reqwest::Client, BackendError>>)>,
    per_check: Duration,
}

impl CheckRunner {
    /// `timeout` is the collector's; each check gets 0.6 of it, as each Alertmanager does. URL
    /// checks without a `ca_file` share one client (one read of the system's roots).
    pub fn new(checks: &[HealthCheck], timeout: Duration) -> Self {
        let per_check = timeout.mul_f32(0.6);
        let mut plain: Option<Result<reqwest::Client, BackendError>> = None;
        let checks = checks
            .iter()
            .map(|c| {
                let http = match (c.spec.url.is_empty(), c.spec.ca_file.is_empty()) {
                    (true, _) => None,
                    (false, true) => Some(plain.get_or_insert_with(|| client("[[checks]]", "", per_check)).clone()),
                    (false, false) => Some(client(&format!("[[checks]] `{}`", c.name), &c.spec.ca_file, per_check)),
                };
                (c.clone(), http)
            })
            .collect();
        CheckRunner { checks, per_check }
    }

    pub fn is_empty(&self) -> bool {
        self.checks.is_empty()
    }

    /// Every check once, at once; rows in config order.
    pub async fn run(&self) -> Vec<CheckRow> {
        futures::future::join_all(self.checks.iter().map(|(check, http)| run_one(check, http, self.per_check))).await
    }
}

/// The client for URL checks: the system's roots plus `ca` (when given), redirects followed;
/// `label` names whose client it is in an error.
fn client(label: &str, ca: &str, timeout: Duration) -> Result<reqwest::Client, BackendError> {
    let mut builder = reqwest::Client::builder().timeout(timeout).connect_timeout(timeout);
    if !ca.is_empty() {
        let bad = |detail: String| BackendError::BadSetting {
            input: format!("{label} ca_file {ca}"),
            detail,
            fix: super::pem::CERTIFICATES_FIX.into(),
        };
        let (found, _) = super::pem::roots(std::path::Path::new(ca)).map_err(|d| bad(d.to_string()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&found.bytes).map_err(|e| bad(super::causes(&e)))?;
        builder = builder.tls_certs_merge(certs);
    }
    builder.build().map_err(|e| BackendError::unexpected(label, super::causes(&e)))
}

async fn run_one(check: &HealthCheck, http: &Option<Result<reqwest::Client, BackendError>>, per_check: Duration) -> CheckRow {
    let started = Instant::now();
    let target = check.target();
    let (status, outcome) = match http {
        None => (None, tcp(&target, &check.spec.tcp, per_check).await),
        Some(Ok(http)) => get(http, check, &target).await,
        Some(Err(e)) => (None, Err(e.clone())),
    };
    let latency_ms = (status.is_some() || outcome.is_ok()).then(|| started.elapsed().as_millis() as u64);
    CheckRow {
        name: clean(&check.name),
        target: clean(&target),
        status,
        latency_ms,
        error: outcome.err().map(|e| clean(&e.to_string())),
        slow_ms: check.spec.slow_ms,
    }
}

/// A TCP connect within the deadline (the name resolved as the system resolves it).
async fn tcp(target: &str, addr: &str, deadline: Duration) -> Result<(), BackendError> {
    within(target, deadline, async {
        tokio::net::TcpStream::connect(addr)
            .await
            .map(drop)
            .map_err(|e| BackendError::Unreachable { target: target.into(), detail: e.to_string() })
    })
    .await
}

/// A GET of the URL: the status it answered with (when it answered), then whether the status and
/// the body are what the check expects.
async fn get(http: &reqwest::Client, check: &HealthCheck, target: &str) -> (Option<u16>, Result<(), BackendError>) {
    let fix = format!("is the service up? (the check is [[checks]] `{}` in sitrep.toml)", check.name);
    let mut resp = match http.get(&check.spec.url).send().await {
        Ok(r) => r,
        Err(e) => {
            let fix = if super::rustls_cause(&e).is_some() {
                format!("set ca_file in [[checks]] `{}` to the CA that signed the server's certificate", check.name)
            } else {
                fix
            };
            return (None, Err(super::http_error(target, &e, &fix)));
        }
    };
    let status = resp.status();
    let mut body = Vec::new();
    while body.len() < BODY_LIMIT {
        match resp.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) => break,
            Err(e) => return (Some(status.as_u16()), Err(super::http_error(target, &e, &fix))),
        }
    }
    let text = String::from_utf8_lossy(&body);
    let excerpt = || sanitize_bounded(text.trim(), 160);
    let expected = check.spec.status;
    let status_ok = if expected == 0 { status.is_success() } else { status.as_u16() == expected };
    if !status_ok {
        let want = if expected == 0 { "any 2xx".to_string() } else { expected.to_string() };
        let said = if text.trim().is_empty() { String::new() } else { format!(": {}", excerpt()) };
        return (
            Some(status.as_u16()),
            Err(BackendError::Server { target: target.into(), server: format!("{status}{said} (expected {want})") }),
        );
    }
    let needle = &check.spec.body_contains;
    if !needle.is_empty() && !text.contains(needle.as_str()) {
        let detail = format!("the body does not contain \"{}\" (it begins: {})", sanitize_bounded(needle, 60), excerpt());
        return (Some(status.as_u16()), Err(BackendError::unexpected(target, detail)));
    }
    (Some(status.as_u16()), Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CheckSpec;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A one-connection-at-a-time HTTP server answering every request with `reply`.
    async fn serve(reply: &'static str) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                let _ = s.write_all(reply.as_bytes()).await;
            }
        });
        format!("http://{addr}/healthz")
    }

    fn check(spec: CheckSpec) -> HealthCheck {
        HealthCheck { name: "api\u{1b}[2J".into(), spec }
    }

    async fn run(spec: CheckSpec) -> CheckRow {
        let runner = CheckRunner::new(&[check(spec)], Duration::from_secs(2));
        runner.run().await.pop().unwrap_or_default()
    }

    #[tokio::test]
    async fn a_2xx_with_the_expected_body_passes_and_measures_its_latency() {
        let url = serve("HTTP/1.1 200 OK\r\ncontent-length: 7\r\nconnection: close\r\n\r\nhealthy").await;
        let row = run(CheckSpec { url, body_contains: "healthy".into(), ..CheckSpec::default() }).await;
        assert_eq!((row.status, row.error.as_deref()), (Some(200), None));
        assert!(row.latency_ms.is_some());
        assert_eq!(row.name, "api", "escape sequences never reach the screen");
    }

    #[tokio::test]
    async fn a_wrong_status_or_body_fails_with_what_the_server_said() {
        let url = serve("HTTP/1.1 503 Service Unavailable\r\ncontent-length: 13\r\nconnection: close\r\n\r\ndb is down\u{1b}[2J").await;
        let row = run(CheckSpec { url: url.clone(), ..CheckSpec::default() }).await;
        let error = row.error.unwrap_or_default();
        assert_eq!(row.status, Some(503));
        assert!(error.contains("503 Service Unavailable: db is down") && error.contains("expected any 2xx"), "{error}");
        assert!(!error.contains('\u{1b}'));
        let ok = serve("HTTP/1.1 200 OK\r\ncontent-length: 8\r\nconnection: close\r\n\r\ndegraded").await;
        let row = run(CheckSpec { url: ok, body_contains: "healthy".into(), ..CheckSpec::default() }).await;
        assert!(row.error.unwrap_or_default().contains("does not contain \"healthy\" (it begins: degraded)"));
    }

    #[tokio::test]
    async fn a_closed_port_fails_in_the_systems_words_for_tcp_and_http() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        drop(listener);
        let row = run(CheckSpec { tcp: addr.to_string(), ..CheckSpec::default() }).await;
        let error = row.error.unwrap_or_default();
        assert!(error.contains(&format!("cannot reach tcp {addr}")) && error.contains("refused"), "{error}");
        assert_eq!(row.latency_ms, None);
        let row = run(CheckSpec { url: format!("http://{addr}/"), ..CheckSpec::default() }).await;
        let error = row.error.unwrap_or_default();
        assert!(error.contains("refused") && error.contains("is the service up?"), "{error}");
    }

    #[tokio::test]
    async fn an_unreadable_ca_file_is_the_rows_error_naming_the_file() {
        let row =
            run(CheckSpec { url: "https://127.0.0.1:1/".into(), ca_file: "/nonexistent/ca.pem".into(), ..CheckSpec::default() }).await;
        let error = row.error.unwrap_or_default();
        assert!(error.contains("ca_file /nonexistent/ca.pem") && error.contains("cannot be read"), "{error}");
    }
}
