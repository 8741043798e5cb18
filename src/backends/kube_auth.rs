//! Kubernetes authentication around the kube crate's client: who the kubeconfig says we are, a
//! tokenFile read as kubectl reads it (trimmed, re-read each minute), and refusals (401, TLS) told
//! with the cluster, the user, the server's words and the fix.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::future::BoxFuture;
use http::header::{AUTHORIZATION, HeaderValue};
use http::{Request, Response, StatusCode};
use kube::client::Body;
use kube::config::{AuthInfo, Kubeconfig};

use super::BackendError;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How often a tokenFile is read again (client-go's cachingTokenSource also keeps it a minute).
const TOKEN_FILE_KEPT: Duration = Duration::from_secs(60);

/// The kubeconfig's cluster and user as a message names them, and how the user proves who it is.
#[derive(Debug, Clone)]
pub struct Identity {
    pub cluster: String,
    pub server: String,
    pub user: String,
    pub credential: Credential,
}

/// The user's credential form, as far as a fix needs to know it (never the secret itself).
#[derive(Debug, Clone, PartialEq)]
pub enum Credential {
    None,
    Token,
    TokenFile(String),
    ClientCertificate,
    /// The plugin's command line.
    Exec(String),
    Other(&'static str),
}

impl Identity {
    /// The cluster and user of `context` (empty: the current context) in `kubeconfig`.
    pub fn of(kubeconfig: &Kubeconfig, context: &str) -> Self {
        let context_name = if context.is_empty() { kubeconfig.current_context.clone().unwrap_or_default() } else { context.to_string() };
        let ctx = kubeconfig.contexts.iter().find(|c| c.name == context_name).and_then(|c| c.context.as_ref());
        let cluster = ctx.map(|c| c.cluster.clone()).unwrap_or_default();
        let user = ctx.and_then(|c| c.user.clone()).unwrap_or_default();
        let server =
            kubeconfig.clusters.iter().find(|c| c.name == cluster).and_then(|c| c.cluster.as_ref()?.server.clone()).unwrap_or_default();
        let auth = kubeconfig.auth_infos.iter().find(|a| a.name == user).and_then(|a| a.auth_info.as_ref());
        Self { cluster, server, user, credential: auth.map_or(Credential::None, Credential::of) }
    }
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "user {:?} of cluster {:?}", self.user, self.cluster)
    }
}

impl Credential {
    /// The form kube (as kubectl) will use: inline token before tokenFile before exec.
    fn of(auth: &AuthInfo) -> Self {
        if auth.auth_provider.is_some() {
            Credential::Other("auth-provider")
        } else if auth.username.is_some() && auth.password.is_some() {
            Credential::Other("username/password")
        } else if auth.token.is_some() {
            Credential::Token
        } else if let Some(file) = &auth.token_file {
            Credential::TokenFile(file.clone())
        } else if let Some(exec) = &auth.exec {
            let mut line = exec.command.clone().unwrap_or_default();
            for arg in exec.args.iter().flatten() {
                line.push(' ');
                line.push_str(arg);
            }
            Credential::Exec(line)
        } else if auth.client_certificate.is_some() || auth.client_certificate_data.is_some() {
            Credential::ClientCertificate
        } else {
            Credential::None
        }
    }

    /// What to do when the API server answers 401 to this credential. Short: with the
    /// identity it must fit the one line a pane shows.
    fn refused_fix(&self) -> String {
        match self {
            Credential::Token => "the token (users[].user.token) is wrong, expired or revoked: put a valid one in the kubeconfig".into(),
            Credential::TokenFile(file) => format!("the token in {file} (tokenFile) is wrong or expired: renew the file"),
            Credential::ClientCertificate => {
                "the client certificate (client-certificate/-key) is not accepted: renew it, signed by the cluster's client CA".into()
            }
            Credential::Exec(line) => {
                format!("the exec plugin gave an expired or wrong token; run `{line}` yourself, renew its login (EKS: aws sso login)")
            }
            Credential::Other(form) => format!("the {form} credentials are refused: renew them"),
            Credential::None => {
                "the kubeconfig gives this user no credentials: add a token, tokenFile, client-certificate/-key or exec".into()
            }
        }
    }
}

/// A file the kubeconfig names for the context's cluster or user that cannot be used, with its key.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{key} {path}: {detail}")]
pub struct UnusableFile {
    /// e.g. `users["oncall"].user.tokenFile`.
    pub key: String,
    pub path: String,
    pub detail: String,
}

impl UnusableFile {
    pub fn fix(&self) -> String {
        format!("create the file or fix {} in the kubeconfig (a relative path is from the kubeconfig's folder)", self.key)
    }
}

/// The files `context` (empty: the current one) of `kubeconfig` needs that are missing, unreadable
/// or not what they should hold: the cluster's certificate-authority, the user's tokenFile (when no
/// inline token wins over it), client-certificate and client-key. Offline: `sitrep check` and the
/// connect both ask it.
pub fn unusable_files(kubeconfig: &Kubeconfig, context: &str) -> Vec<UnusableFile> {
    let who = Identity::of(kubeconfig, context);
    let cluster = kubeconfig.clusters.iter().find(|c| c.name == who.cluster).and_then(|c| c.cluster.as_ref());
    let auth = kubeconfig.auth_infos.iter().find(|a| a.name == who.user).and_then(|a| a.auth_info.as_ref());
    let user_key = |k: &str| format!("users[{:?}].user.{k}", who.user);
    let mut wanted: Vec<(String, &str, FileCheck)> = Vec::new();
    if let Some(ca) = cluster.and_then(|c| c.certificate_authority.as_deref()) {
        wanted.push((format!("clusters[{:?}].cluster.certificate-authority", who.cluster), ca, pem_certificates));
    }
    if let Some(auth) = auth {
        if let Some(file) = auth.token_file.as_deref().filter(|_| auth.token.is_none()) {
            wanted.push((user_key("tokenFile"), file, |p| TokenFile::header(p).map(|_| ())));
        }
        if let Some(cert) = auth.client_certificate.as_deref() {
            wanted.push((user_key("client-certificate"), cert, pem_certificates));
        }
        if let Some(key) = auth.client_key.as_deref() {
            wanted.push((user_key("client-key"), key, pem_key));
        }
    }
    wanted
        .into_iter()
        .filter_map(|(key, path, usable)| {
            usable(Path::new(path)).err().map(|defect| UnusableFile { key, path: path.to_string(), detail: defect.to_string() })
        })
        .collect()
}

/// Why a file the kubeconfig names cannot be used, in words that follow its path.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FileDefect {
    #[error(transparent)]
    Pem(#[from] super::pem::PemDefect),
    #[error("is empty")]
    Empty,
    #[error("holds characters a token cannot have")]
    NotAToken,
}

/// Whether a file holds what its kubeconfig key says it does; the error is why not.
type FileCheck = fn(&Path) -> Result<(), FileDefect>;

fn pem_certificates(path: &Path) -> Result<(), FileDefect> {
    super::pem::certificates(path).map(drop).map_err(FileDefect::from)
}

fn pem_key(path: &Path) -> Result<(), FileDefect> {
    super::pem::private_key(path).map(drop).map_err(FileDefect::from)
}

/// A failure the kube client cannot tell well by itself, with the identity and the fix.
#[derive(Debug, thiserror::Error)]
pub enum AuthProblem {
    /// The API server answered 401; `server` is its own message.
    #[error("{who}: {server} (401); {fix}")]
    Refused { who: Identity, server: String, fix: String },
    /// The TLS session failed; `detail` is rustls' own words.
    #[error("{who}: {detail}; {fix}")]
    Tls {
        who: Identity,
        detail: String,
        fix: String,
        #[source]
        source: BoxError,
    },
}

impl AuthProblem {
    /// The problem as `what` (e.g. "listing pods") failing.
    pub fn at(&self, what: &str) -> BackendError {
        match self {
            AuthProblem::Refused { .. } => BackendError::Server { target: what.into(), server: self.to_string() },
            AuthProblem::Tls { .. } => BackendError::Unreachable { target: what.into(), detail: self.to_string() },
        }
    }
}

/// For a TLS failure: what went wrong in kubectl's words, and the fix.
fn tls_problem(who: &Identity, e: &rustls::Error) -> (&'static str, String) {
    use rustls::AlertDescription as A;
    use rustls::CertificateError as C;
    let cluster = &who.cluster;
    match e {
        rustls::Error::InvalidCertificate(C::UnknownIssuer | C::BadSignature) => (
            "certificate verify failed",
            format!(
                "set certificate-authority (a PEM file) or -data of cluster {cluster:?} to the CA that signed the server's certificate"
            ),
        ),
        rustls::Error::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. }) => (
            "certificate verify failed",
            format!(
                "the certificate does not name the host of {}: use a name it lists, or set tls-server-name of cluster {cluster:?}",
                who.server
            ),
        ),
        rustls::Error::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => {
            ("certificate verify failed", "the server's certificate has expired: renew it, or check this machine's clock".into())
        }
        rustls::Error::AlertReceived(
            A::CertificateRequired | A::HandshakeFailure | A::BadCertificate | A::UnknownCA | A::CertificateExpired,
        ) => (
            "the API server refused the TLS session",
            "the client certificate (client-certificate/-key) is missing, expired or not signed by a CA the cluster trusts".into(),
        ),
        rustls::Error::InvalidMessage(_) => {
            ("TLS failed", format!("the server does not speak TLS: check https:// against http:// in cluster {cluster:?}"))
        }
        _ => ("TLS failed", format!("check certificate-authority of cluster {cluster:?} and the user's client certificate")),
    }
}

/// A tokenFile as kubectl reads it: trimmed (a file ending in a newline is the usual case, and a
/// header with it is refused), read again once a minute, the last good token kept if the file goes.
#[derive(Debug)]
pub struct TokenFile {
    path: PathBuf,
    read: Mutex<(HeaderValue, Instant)>,
}

impl TokenFile {
    /// Reads `path` (the tokenFile of `who`'s user) now, so a missing file is a connect error.
    pub fn open(path: &Path, who: &Identity) -> Result<Self, BackendError> {
        let bad = |defect: FileDefect| BackendError::BadSetting {
            input: format!("tokenFile {} of user {:?} in the kubeconfig", path.display(), who.user),
            detail: defect.to_string(),
            fix: "create the file, or fix users[].user.tokenFile".into(),
        };
        let header = Self::header(path).map_err(bad)?;
        Ok(Self { path: path.to_path_buf(), read: Mutex::new((header, Instant::now())) })
    }

    fn header(path: &Path) -> Result<HeaderValue, FileDefect> {
        let text = super::pem::read(path)?;
        let token = String::from_utf8_lossy(&text);
        let token = token.trim();
        if token.is_empty() {
            return Err(FileDefect::Empty);
        }
        let mut value = HeaderValue::try_from(format!("Bearer {token}")).map_err(|_| FileDefect::NotAToken)?;
        value.set_sensitive(true);
        Ok(value)
    }

    fn current(&self) -> HeaderValue {
        let mut read = self.read.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if read.1.elapsed() >= TOKEN_FILE_KEPT {
            if let Ok(header) = Self::header(&self.path) {
                read.0 = header;
            }
            read.1 = Instant::now();
        }
        read.0.clone()
    }
}

/// The outermost layer of sitrep's kube client: sets the tokenFile's header, and turns a 401 or a
/// TLS failure into an [`AuthProblem`] that names the kubeconfig's cluster and user.
#[derive(Clone)]
pub struct Explain {
    pub who: Arc<Identity>,
    pub token_file: Option<Arc<TokenFile>>,
}

impl<S> tower::Layer<S> for Explain {
    type Service = Explained<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Explained { inner, explain: self.clone() }
    }
}

#[derive(Clone)]
pub struct Explained<S> {
    inner: S,
    explain: Explain,
}

impl<S, B> tower::Service<Request<Body>> for Explained<S>
where
    S: tower::Service<Request<Body>, Response = Response<B>>,
    S::Error: Into<BoxError> + Send,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<B>;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Response<B>, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut request: Request<Body>) -> Self::Future {
        if let Some(file) = &self.explain.token_file {
            request.headers_mut().insert(AUTHORIZATION, file.current());
        }
        let who = self.explain.who.clone();
        let answer = self.inner.call(request);
        Box::pin(async move {
            match answer.await {
                Ok(response) if response.status() == StatusCode::UNAUTHORIZED => Err(refused(&who, response).await.into()),
                Ok(response) => Ok(response),
                Err(e) => {
                    let e: BoxError = e.into();
                    match super::rustls_cause(&*e) {
                        Some(tls) => {
                            let (what, fix) = tls_problem(&who, tls);
                            let detail = format!("{what} ({tls})");
                            Err(AuthProblem::Tls { who: (*who).clone(), detail, fix, source: e }.into())
                        }
                        None => Err(e),
                    }
                }
            }
        })
    }
}

/// A 401 answer as an [`AuthProblem`], with the server's message from its `Status` body.
async fn refused<B>(who: &Identity, response: Response<B>) -> AuthProblem
where
    B: http_body::Body<Data = Bytes>,
{
    use http_body_util::BodyExt;
    let body = response.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let status: Option<kube::core::Status> = serde_json::from_slice(&body).ok();
    let said = status.map(|s| s.message).filter(|m| !m.is_empty()).unwrap_or_else(|| String::from_utf8_lossy(&body).trim().to_string());
    let server = crate::sanitize::clean(if said.is_empty() { "Unauthorized" } else { &said });
    AuthProblem::Refused { who: who.clone(), server, fix: who.credential.refused_fix() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(credential: Credential) -> Identity {
        Identity { cluster: "prod-eks".into(), server: "https://10.0.0.1".into(), user: "oncall".into(), credential }
    }

    #[test]
    fn an_untrusted_ca_names_the_cluster_and_the_kubeconfig_key() {
        let e = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let (what, fix) = tls_problem(&who(Credential::Token), &e);
        assert_eq!(what, "certificate verify failed");
        assert!(fix.contains("certificate-authority") && fix.contains("\"prod-eks\""), "{fix}");
    }

    #[test]
    fn a_refused_exec_token_says_to_run_the_plugin() {
        let fix = Credential::Exec("aws eks get-token --cluster-name prod".into()).refused_fix();
        assert!(fix.contains("run `aws eks get-token --cluster-name prod` yourself"), "{fix}");
    }

    #[test]
    fn a_token_file_is_trimmed_as_kubectl_trims_it() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let path = dir.path().join("token");
        std::fs::write(&path, "abc123\n").unwrap_or_else(|e| panic!("write: {e}"));
        let file = TokenFile::open(&path, &who(Credential::TokenFile("token".into()))).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(file.current().to_str().ok(), Some("Bearer abc123"));
        let missing = TokenFile::open(&dir.path().join("nope"), &who(Credential::None));
        assert!(matches!(&missing, Err(BackendError::BadSetting { input, .. }) if input.contains("tokenFile")), "{missing:?}");
    }
}
