//! The stand-in over HTTPS with authentication, as a real API server: a TLS listener that asks
//! for (but does not require) a client certificate signed by the CA, and a gate that lets in a
//! verified client certificate or an accepted bearer token and answers anything else with 401.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Body;
use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use axum::serve::{IncomingStream, Listener};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use super::error::KubeStandInError;

/// The prefix of the tokens [`Gate::accept_stamped_tokens`] lets in: `PREFIX.<unix expiry>.<secret>`.
pub const STAMPED_TOKEN_PREFIX: &str = "sitrep-lab";

/// A TLS handshake that has not finished by then is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the stand-in cannot be served over HTTPS with these files.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: rustls::pki_types::pem::Error },
    #[error("{} holds no certificate", path.display())]
    NoCertificate { path: PathBuf },
    #[error("TLS setup: {0}")]
    Tls(#[from] rustls::Error),
    #[error("client certificate CA: {0}")]
    ClientCa(#[from] rustls::server::VerifierBuilderError),
}

/// Who may come in: tokens (each until an optional time) and stamped tokens for a secret.
/// Clones share the same state, so a test can change it while the stand-in serves.
#[derive(Clone, Default)]
pub struct Gate {
    state: Arc<Mutex<GateState>>,
}

#[derive(Default)]
struct GateState {
    tokens: HashMap<String, Option<DateTime<Utc>>>,
    stamp_secret: Option<String>,
    /// Expiry times of the distinct stamped tokens seen: each one is a refresh by the client.
    stamps_seen: BTreeSet<i64>,
    refused: u64,
    watches_cut: u64,
}

impl Gate {
    fn lock(&self) -> MutexGuard<'_, GateState> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Lets `token` in, until `until` when given.
    pub fn accept_token(&self, token: &str, until: Option<DateTime<Utc>>) {
        self.lock().tokens.insert(token.to_string(), until);
    }

    /// Lets in `sitrep-lab.<unix expiry>.<secret>` until its expiry: the tokens the lab's exec
    /// plugin prints (see `write_exec_plugin`), so each run of the plugin is a fresh token.
    pub fn accept_stamped_tokens(&self, secret: &str) {
        self.lock().stamp_secret = Some(secret.to_string());
    }

    /// How many distinct stamped tokens came in (each run of the plugin within a new second).
    pub fn stamped_tokens_seen(&self) -> usize {
        self.lock().stamps_seen.len()
    }

    /// How many requests were answered with 401.
    pub fn refused(&self) -> u64 {
        self.lock().refused
    }

    /// How many watches were ended because the token that opened them expired.
    pub fn watches_cut(&self) -> u64 {
        self.lock().watches_cut
    }

    /// Whether `token` is let in now, and until when: `Some(None)` is for good.
    fn admit_token(&self, token: &str, now: DateTime<Utc>) -> Option<Option<DateTime<Utc>>> {
        let mut state = self.lock();
        if let Some(until) = state.tokens.get(token).copied() {
            return until.is_none_or(|t| now < t).then_some(until);
        }
        let secret = state.stamp_secret.as_deref()?;
        let mut parts = token.splitn(3, '.');
        let (prefix, expiry, given) = (parts.next()?, parts.next()?, parts.next()?);
        let expiry: i64 = expiry.parse().ok()?;
        if prefix != STAMPED_TOKEN_PREFIX || given != secret {
            return None;
        }
        let until = DateTime::from_timestamp(expiry, 0)?;
        state.stamps_seen.insert(expiry);
        (now < until).then_some(Some(until))
    }
}

/// What the TLS listener learnt of a connection: whether its client certificate was verified.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Peer {
    client_certificate: bool,
}

impl Connected<IncomingStream<'_, TlsListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, TlsListener>) -> Self {
        *stream.remote_addr()
    }
}

/// The certificate, key and client CA the stand-in serves HTTPS with, and its gate.
#[derive(Clone)]
pub struct TlsServing {
    acceptor: TlsAcceptor,
    pub(crate) gate: Gate,
}

impl TlsServing {
    /// Serves `cert`/`key` (PEM); client certificates signed by `client_ca` are let in.
    pub fn from_files(cert: &Path, key: &Path, client_ca: &Path, gate: Gate) -> Result<Self, TlsSetupError> {
        fn read(path: &Path) -> impl Fn(rustls::pki_types::pem::Error) -> TlsSetupError + '_ {
            move |source| TlsSetupError::Read { path: path.to_path_buf(), source }
        }
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(cert).map_err(read(cert))?.collect::<Result<_, _>>().map_err(read(cert))?;
        if chain.is_empty() {
            return Err(TlsSetupError::NoCertificate { path: cert.to_path_buf() });
        }
        let key = PrivateKeyDer::from_pem_file(key).map_err(read(key))?;
        let mut roots = rustls::RootCertStore::empty();
        for ca in CertificateDer::pem_file_iter(client_ca).map_err(read(client_ca))? {
            roots.add(ca.map_err(read(client_ca))?)?;
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        // As the API server: a client certificate is verified when sent, and not required.
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .allow_unauthenticated()
            .build()?;
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)?;
        // The stand-in speaks HTTP/1.1 only; Go's client then does not try HTTP/2.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self { acceptor: TlsAcceptor::from(Arc::new(config)), gate })
    }

    pub(crate) fn listener(&self, tcp: TcpListener) -> TlsListener {
        TlsListener { tcp, acceptor: self.acceptor.clone(), handshakes: FuturesUnordered::new() }
    }
}

type Handshake = BoxFuture<'static, Option<(TlsStream<TcpStream>, Peer)>>;

/// Accepts TCP connections and hands out those whose TLS handshake finished; handshakes run
/// side by side, so a client that never speaks does not hold up the others.
pub(crate) struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    handshakes: FuturesUnordered<Handshake>,
}

impl TlsListener {
    fn handshake(&self, stream: TcpStream, addr: SocketAddr) -> Handshake {
        let acceptor = self.acceptor.clone();
        Box::pin(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => {
                    let client_certificate = tls.get_ref().1.peer_certificates().is_some_and(|c| !c.is_empty());
                    Some((tls, Peer { client_certificate }))
                }
                Ok(Err(e)) => {
                    tracing::debug!("kube stand-in: TLS handshake with {addr} failed: {e}");
                    None
                }
                Err(_) => None,
            }
        })
    }
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = Peer;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            tokio::select! {
                accepted = self.tcp.accept() => match accepted {
                    Ok((stream, addr)) => {
                        let handshake = self.handshake(stream, addr);
                        self.handshakes.push(handshake);
                    }
                    // Out of file descriptors and the like: wait, as axum's own listener does.
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                },
                Some(done) = self.handshakes.next(), if !self.handshakes.is_empty() => {
                    if let Some(connection) = done {
                        return connection;
                    }
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr().map(|_| Peer { client_certificate: false })
    }
}

/// The gate as axum middleware: a verified client certificate or an accepted token goes on,
/// anything else is 401 `Unauthorized`. A watch opened with an expiring token ends at its
/// expiry, as a real server ends watches after its request timeout: the client must come back
/// with a fresh token.
pub(crate) async fn admit(State(gate): State<Gate>, ConnectInfo(peer): ConnectInfo<Peer>, request: Request, next: Next) -> Response {
    let bearer = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    let admitted = if peer.client_certificate { Some(None) } else { bearer.and_then(|t| gate.admit_token(t, Utc::now())) };
    let Some(until) = admitted else {
        gate.lock().refused += 1;
        return super::server::error_response(&KubeStandInError::Unauthorized);
    };
    let watching = request.uri().query().is_some_and(|q| q.split('&').any(|kv| kv == "watch=true" || kv == "watch=1"));
    let response = next.run(request).await;
    match until {
        Some(until) if watching => {
            let left = (until - Utc::now()).to_std().unwrap_or_default();
            let (parts, body) = response.into_parts();
            let cut = gate.clone();
            let ends = async move {
                tokio::time::sleep(left).await;
                cut.lock().watches_cut += 1;
            };
            Response::from_parts(parts, Body::from_stream(body.into_data_stream().take_until(Box::pin(ends))))
        }
        _ => response,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_let_in_until_their_time_and_stamped_ones_until_their_stamp() {
        let gate = Gate::default();
        let now = Utc::now();
        gate.accept_token("forever", None);
        gate.accept_token("short", Some(now + chrono::Duration::seconds(5)));
        gate.accept_stamped_tokens("s3cret");
        assert_eq!(gate.admit_token("forever", now), Some(None));
        assert!(gate.admit_token("short", now).is_some());
        assert_eq!(gate.admit_token("short", now + chrono::Duration::seconds(6)), None);
        let stamped = format!("sitrep-lab.{}.s3cret", now.timestamp() + 5);
        assert!(gate.admit_token(&stamped, now).is_some());
        assert_eq!(gate.admit_token(&stamped, now + chrono::Duration::seconds(6)), None);
        assert_eq!(gate.admit_token(&format!("sitrep-lab.{}.wrong", now.timestamp() + 5), now), None);
        assert_eq!(gate.admit_token("unknown", now), None);
        assert_eq!(gate.stamped_tokens_seen(), 1);
    }

    #[test]
    fn a_refusal_is_the_status_a_real_api_server_sends() {
        let status = KubeStandInError::Unauthorized.to_status();
        let real = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}"#;
        assert_eq!(status, serde_json::from_str::<serde_json::Value>(real).unwrap_or_default());
        assert_eq!(KubeStandInError::Unauthorized.code(), 401);
    }
}
