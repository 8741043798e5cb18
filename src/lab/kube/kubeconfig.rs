//! Writes the kubeconfigs that point kubectl, the kube crate and sitrep at the stand-in: plain
//! (no credentials), or over HTTPS with each form kubectl knows, and the lab's exec plugin script.

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

use super::gate::STAMPED_TOKEN_PREFIX;

/// How the kubeconfig's cluster is trusted.
#[derive(Debug, Clone)]
pub enum ClusterTrust {
    /// Nothing said: the system's roots (and plain HTTP needs nothing).
    System,
    /// `certificate-authority: FILE`.
    CaFile(PathBuf),
    /// `certificate-authority-data: BASE64(PEM)`.
    CaData(Vec<u8>),
}

/// How the kubeconfig's user proves who it is.
#[derive(Debug, Clone)]
pub enum UserAuth {
    None,
    /// `token: TOKEN`.
    Token(String),
    /// `tokenFile: FILE`.
    TokenFile(PathBuf),
    /// `client-certificate: FILE` and `client-key: FILE`.
    CertFiles {
        cert: PathBuf,
        key: PathBuf,
    },
    /// `client-certificate-data` and `client-key-data` (BASE64 of the PEM files).
    CertData {
        cert: Vec<u8>,
        key: Vec<u8>,
    },
    /// `exec:` with `client.authentication.k8s.io/v1beta1`, as `aws eks get-token` is set up.
    Exec {
        command: PathBuf,
        args: Vec<String>,
    },
}

/// One cluster, one user and one context named after `context`.
#[derive(Debug, Clone)]
pub struct KubeconfigSpec<'a> {
    /// e.g. `https://127.0.0.1:PORT`.
    pub server: &'a str,
    pub context: &'a str,
    /// The context's default namespace.
    pub namespace: &'a str,
    pub trust: ClusterTrust,
    pub user: UserAuth,
}

/// Writes a kubeconfig with one cluster/context/user named after `context`, whose default namespace
/// is `namespace`, pointing at `server` (e.g. `http://127.0.0.1:PORT`), with no credentials.
pub fn write_kubeconfig(path: &Path, server: &str, context: &str, namespace: &str) -> std::io::Result<()> {
    write_kubeconfig_with(path, &KubeconfigSpec { server, context, namespace, trust: ClusterTrust::System, user: UserAuth::None })
}

/// Writes the kubeconfig `spec` describes (the user is `CONTEXT-user`).
pub fn write_kubeconfig_with(path: &Path, spec: &KubeconfigSpec) -> std::io::Result<()> {
    let user_name = format!("{}-user", spec.context);
    let config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": spec.context, "cluster": cluster(spec)}],
        "users": [{"name": user_name, "user": user(&spec.user)}],
        "contexts": [{"name": spec.context, "context": {"cluster": spec.context, "user": user_name, "namespace": spec.namespace}}],
        "current-context": spec.context,
        "preferences": {},
    });
    let text = serde_yaml_ng::to_string(&config).map_err(std::io::Error::other)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text)
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn cluster(spec: &KubeconfigSpec) -> Value {
    let mut cluster = json!({"server": spec.server});
    match &spec.trust {
        ClusterTrust::System => {}
        ClusterTrust::CaFile(file) => cluster["certificate-authority"] = json!(file),
        ClusterTrust::CaData(pem) => cluster["certificate-authority-data"] = json!(b64(pem)),
    }
    cluster
}

fn user(auth: &UserAuth) -> Value {
    match auth {
        UserAuth::None => json!({}),
        UserAuth::Token(token) => json!({"token": token}),
        UserAuth::TokenFile(file) => json!({"tokenFile": file}),
        UserAuth::CertFiles { cert, key } => json!({"client-certificate": cert, "client-key": key}),
        UserAuth::CertData { cert, key } => json!({"client-certificate-data": b64(cert), "client-key-data": b64(key)}),
        UserAuth::Exec { command, args } => json!({"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": command,
            "args": args,
            "interactiveMode": "Never",
            "provideClusterInfo": false,
        }}),
    }
}

/// Writes an executable exec credential plugin at `path`: each run prints an `ExecCredential`
/// whose token is `sitrep-lab.<expiry>.<secret>` (what `Gate::accept_stamped_tokens` lets in),
/// with `expirationTimestamp` = now + `lifetime`. Given `stale_by`, the token says it expired that
/// long ago while the timestamp still claims `lifetime` (a plugin serving a stale cached token).
/// Each run appends a line to `path`.runs, so a test can count the refreshes.
pub fn write_exec_plugin(path: &Path, secret: &str, lifetime: Duration, stale_by: Option<Duration>) -> std::io::Result<()> {
    let token_offset = match stale_by {
        Some(stale) => format!("- {}", stale.as_secs()),
        None => format!("+ {}", lifetime.as_secs()),
    };
    let script = format!(
        r#"#!/bin/sh
# sitrep lab exec credential plugin: a short-lived token, as `aws eks get-token` gives.
now=$(date +%s)
token_expiry=$((now {token_offset}))
said_expiry=$(date -u -d @$((now + {lifetime})) +%Y-%m-%dT%H:%M:%SZ)
echo "$now" >> "$0.runs"
printf '{{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{{"token":"{prefix}.%s.{secret}","expirationTimestamp":"%s"}}}}\n' "$token_expiry" "$said_expiry"
"#,
        lifetime = lifetime.as_secs(),
        prefix = STAMPED_TOKEN_PREFIX,
    );
    std::fs::write(path, script)?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
}
