//! Clients apart from collectors: one module per system owns its connection strings, connecting
//! (with deadlines), the client and the mapping of its answers onto the model's rows.
//!
//! Collectors (`sources/`), runbook effects and the shared timeline are thin users of these
//! modules, so every rule about reaching a system exists once. Errors keep the server's own words;
//! callers pass the text through `sources::clean` before it can reach the screen.

pub mod alertmanager;
pub mod checks;
pub mod kube;
pub mod kube_auth;
pub mod kube_scaling;
pub mod kube_services;
pub mod kube_top;
pub mod pem;
pub mod pg_tls;
pub mod postgres;
pub mod redis;
pub mod s3;

use std::time::Duration;

/// Something went wrong talking to a backend: what, with which input, the server's words, the fix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BackendError {
    /// A connection string, address or name that cannot be used as written.
    #[error("{input}: {detail}; {fix}")]
    BadSetting { input: String, detail: String, fix: String },
    /// The connection could not be made (refused, unresolvable, TLS, authentication).
    #[error("cannot reach {target}: {detail}")]
    Unreachable { target: String, detail: String },
    /// Nothing came back in time.
    #[error("{target}: no answer within {:.1}s", after.as_secs_f32())]
    Timeout { target: String, after: Duration },
    /// The server answered with an error; `server` is its own words (severity, code, message).
    #[error("{target}: {server}")]
    Server { target: String, server: String },
    /// The server answered, but not with what sitrep expected.
    #[error("{target}: unexpected answer ({detail})")]
    Unexpected { target: String, detail: String },
    /// None of several endpoints gave a usable answer: each one's reason, then the fix.
    #[error("{what} ({}); {fix}", .reasons.join("; "))]
    NoneAnswered { what: String, reasons: Vec<String>, fix: String },
}

impl BackendError {
    /// Whether this says only that an answer was late: one of sitrep's deadlines, or the
    /// driver's own connect or response timeout (reported as an unreachable server).
    pub fn is_timeout(&self) -> bool {
        match self {
            BackendError::Timeout { .. } => true,
            BackendError::Unreachable { detail, .. } | BackendError::Unexpected { detail, .. } => {
                let d = detail.to_ascii_lowercase();
                d.contains("timed out") || d.contains("timeout")
            }
            _ => false,
        }
    }

    pub fn timeout(target: impl Into<String>, after: Duration) -> Self {
        BackendError::Timeout { target: target.into(), after }
    }

    pub fn unexpected(target: impl Into<String>, detail: impl std::fmt::Display) -> Self {
        BackendError::Unexpected { target: target.into(), detail: detail.to_string() }
    }

    /// The same error, its target prefixed (e.g. with a member's name).
    pub fn at(self, name: &str) -> Self {
        let prefix = |t: String| format!("{name} ({t})");
        match self {
            BackendError::Unreachable { target, detail } => BackendError::Unreachable { target: prefix(target), detail },
            BackendError::Timeout { target, after } => BackendError::Timeout { target: prefix(target), after },
            BackendError::Server { target, server } => BackendError::Server { target: prefix(target), server },
            BackendError::Unexpected { target, detail } => BackendError::Unexpected { target: prefix(target), detail },
            other => other,
        }
    }
}

/// `e` and its causes, each said once: "dispatch failure: io error: ...: invalid peer certificate: UnknownIssuer".
pub fn causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut said: Vec<String> = Vec::new();
    for text in std::iter::successors(Some(e), |c| c.source()).map(|c| c.to_string()) {
        if !said.last().is_some_and(|last| last.ends_with(&text)) {
            said.push(text);
        }
    }
    said.join(": ")
}

/// reqwest's error as the user reads it: its causes (the "connection refused" is in a source, not
/// in the top line), a late answer said as such, and `fix` after them.
pub fn http_error(target: &str, e: &reqwest::Error, fix: &str) -> BackendError {
    if e.is_timeout() {
        return BackendError::Unreachable { target: target.into(), detail: "no answer in time (timeout_secs in sitrep.toml)".into() };
    }
    // From its source on: reqwest's own top line ("error sending request for url …") says nothing.
    let detail = std::error::Error::source(e).map_or_else(|| e.to_string(), causes);
    BackendError::Unreachable { target: target.into(), detail: format!("{detail}; {fix}") }
}

/// The rustls error somewhere in `e`'s causes (a TLS failure), if any.
pub fn rustls_cause<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut cause = Some(e);
    while let Some(c) = cause {
        // tokio-rustls wraps the rustls error in an io::Error (which hyper may wrap in another),
        // and an io::Error's source() skips what it wraps: look inside each one.
        let mut inner: &(dyn std::error::Error + 'static) = c;
        while let Some(wrapped) = inner.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            inner = wrapped;
        }
        if let Some(r) = c.downcast_ref::<rustls::Error>().or(inner.downcast_ref::<rustls::Error>()) {
            return Some(r);
        }
        cause = c.source();
    }
    None
}

/// Runs `f` with a deadline; a late answer is a `Timeout` naming `target`.
pub async fn within<T>(
    target: &str,
    after: Duration,
    f: impl std::future::Future<Output = Result<T, BackendError>>,
) -> Result<T, BackendError> {
    tokio::time::timeout(after, f).await.unwrap_or_else(|_| Err(BackendError::timeout(target, after)))
}
