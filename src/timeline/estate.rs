//! The estate an incident is about (kube context and cluster, Postgres scope, Sentinel master,
//! bucket), taken from the Config; consoles and commands only write incidents of their own estate.

use super::entry::IncidentId;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A write or a join refused because the incident is about another estate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "incident {id} is about another estate ({theirs}); this sitrep watches {mine}. Open one for this estate with `sitrep incident open --sev P3 \"title\"` (`:open P3 title` in the console), or write to {id} with that estate's sitrep.toml"
)]
pub struct OtherEstate {
    pub id: IncidentId,
    pub theirs: Estate,
    pub mine: Estate,
}

/// No incident is open for this estate, but others are: says which, and how to open one here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "no incident is open for this estate ({mine}); open for other estates: {}. Open one for this estate with `sitrep incident open --sev P3 \"title\"`",
    others.iter().map(|(id, e)| format!("{id} ({})", e.as_ref().map_or_else(|| "no estate recorded".to_string(), ToString::to_string))).collect::<Vec<_>>().join(", ")
)]
pub struct NoneOpenHere {
    pub mine: Estate,
    pub others: Vec<(IncidentId, Option<Estate>)>,
}

/// What a sitrep process watches, as it was configured; recorded in an incident's `Opened` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Estate {
    /// `context NAME, cluster NAME at SERVER`, from the kubeconfig.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kube: String,
    /// `host:port/dbname` of every member and Patroni URL, sorted (no user, no password).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub postgres: String,
    /// `master@addr,addr`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sentinel: String,
    /// `s3://bucket` (and the endpoint when not AWS's).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub bucket: String,
}

impl Estate {
    /// The estate of a Config: only the sources that are enabled and configured count.
    pub fn from_config(config: &crate::config::Config) -> Self {
        let kube = if config.kube.enabled { kube_identity(&config.kube.kubeconfig, &config.kube.context) } else { String::new() };
        let postgres = if config.postgres.enabled {
            let mut scopes: Vec<String> = config.postgres.members.iter().map(|m| pg_scope(&m.dsn)).collect();
            scopes.extend(config.postgres.patroni.iter().map(|u| strip_credentials(u)));
            scopes.sort();
            scopes.dedup();
            scopes.join(",")
        } else {
            String::new()
        };
        let sentinel = if config.sentinel.enabled && !config.sentinel.addrs.is_empty() {
            let mut addrs = config.sentinel.addrs.clone();
            addrs.sort();
            format!("{}@{}", config.sentinel.master, addrs.join(","))
        } else {
            String::new()
        };
        let bucket = match (&config.s3, config.s3.enabled && !config.s3.bucket.is_empty()) {
            (s3, true) if s3.endpoint.is_empty() => format!("s3://{}", s3.bucket),
            (s3, true) => format!("s3://{} at {}", s3.bucket, strip_credentials(&s3.endpoint)),
            _ => String::new(),
        };
        Estate { kube, postgres, sentinel, bucket }.sanitized()
    }

    /// Every field made safe for terminals and scrubbed of secrets (it may come from another
    /// responder's record).
    pub fn sanitized(self) -> Self {
        let clean = |s: String| crate::sanitize::sanitize_bounded(&crate::sanitize::redact_secrets(&crate::sanitize::sanitize(&s)), 400);
        Estate { kube: clean(self.kube), postgres: clean(self.postgres), sentinel: clean(self.sentinel), bucket: clean(self.bucket) }
    }

    pub fn is_empty(&self) -> bool {
        self == &Estate::default()
    }

    /// Whether a process watching `mine` may join or write to an incident about `theirs`; an
    /// incident opened before estates were recorded (None) is bound to none.
    pub fn admits(&self, theirs: Option<&Estate>) -> bool {
        theirs.is_none_or(|t| t.key() == self.key())
    }

    /// A short stable name for file names: 16 hex digits of a hash of every field, or `default`
    /// when nothing is configured.
    pub fn key(&self) -> String {
        if self.is_empty() {
            return "default".into();
        }
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for field in [&self.kube, &self.postgres, &self.sentinel, &self.bucket] {
            for b in field.bytes().chain(std::iter::once(0xff)) {
                hash ^= u64::from(b);
                hash = hash.wrapping_mul(0x0100_0000_01b3);
            }
        }
        format!("{hash:016x}")
    }
}

impl fmt::Display for Estate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> =
            [("kube", &self.kube), ("postgres", &self.postgres), ("sentinel", &self.sentinel), ("bucket", &self.bucket)]
                .into_iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
        if parts.is_empty() { f.write_str("(no source configured)") } else { f.write_str(&parts.join("; ")) }
    }
}

/// `host:port/dbname` of a DSN (URL or key=value); the DSN itself (without credentials) if it
/// does not parse.
fn pg_scope(dsn: &str) -> String {
    match dsn.parse::<tokio_postgres::Config>() {
        Ok(cfg) => {
            let hosts: Vec<String> = cfg
                .get_hosts()
                .iter()
                .map(|h| match h {
                    tokio_postgres::config::Host::Tcp(name) => name.clone(),
                    tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
                })
                .collect();
            let ports: Vec<String> = cfg.get_ports().iter().map(ToString::to_string).collect();
            let port = if ports.is_empty() { "5432".to_string() } else { ports.join(",") };
            format!("{}:{port}/{}", hosts.join(","), cfg.get_dbname().unwrap_or_default())
        }
        Err(_) => strip_credentials(dsn),
    }
}

/// `scheme://user:pw@host/x` -> `scheme://host/x`.
fn strip_credentials(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://{host}{path}"),
        None => url.to_string(),
    }
}

/// The kube context in use and its cluster's server, read from the kubeconfig the sources use
/// (`kubeconfig`, else `$KUBECONFIG`'s first file, else `~/.kube/config`). Unreadable: the names given.
fn kube_identity(kubeconfig: &str, context: &str) -> String {
    let path = if !kubeconfig.is_empty() {
        Some(std::path::PathBuf::from(kubeconfig))
    } else if let Some(env) = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        std::env::split_paths(&env).next()
    } else {
        std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".kube/config"))
    };
    let doc: Option<serde_yaml_ng::Value> =
        path.as_ref().and_then(|p| std::fs::read_to_string(p).ok()).and_then(|t| serde_yaml_ng::from_str(&t).ok());
    let Some(doc) = doc else {
        return if context.is_empty() { String::new() } else { format!("context {context}") };
    };
    let context = if context.is_empty() { doc.get("current-context").and_then(|v| v.as_str()).unwrap_or_default() } else { context };
    let named = |list: &str, name: &str| -> Option<serde_yaml_ng::Value> {
        doc.get(list)?.as_sequence()?.iter().find(|v| v.get("name").and_then(|n| n.as_str()) == Some(name)).cloned()
    };
    let cluster =
        named("contexts", context).and_then(|c| c.get("context")?.get("cluster")?.as_str().map(str::to_string)).unwrap_or_default();
    let server =
        named("clusters", &cluster).and_then(|c| c.get("cluster")?.get("server")?.as_str().map(str::to_string)).unwrap_or_default();
    format!("context {context}, cluster {cluster} at {server}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, PostgresMember};

    fn config(port: u16, master: &str) -> Config {
        let mut c = Config::default();
        c.kube.enabled = false;
        c.postgres.members = vec![PostgresMember { name: "pg-0".into(), dsn: format!("postgres://app:hunter2@127.0.0.1:{port}/app") }];
        c.sentinel.addrs = vec!["127.0.0.1:26379".into()];
        c.sentinel.master = master.into();
        c
    }

    #[test]
    fn two_configs_for_two_estates_have_two_keys_and_no_password_is_kept() {
        let a = Estate::from_config(&config(5432, "mymaster"));
        let b = Estate::from_config(&config(6432, "mymaster"));
        assert_ne!(a.key(), b.key());
        assert_eq!(a.key(), Estate::from_config(&config(5432, "mymaster")).key(), "stable");
        assert_eq!(a.postgres, "127.0.0.1:5432/app");
        assert!(!a.to_string().contains("hunter2"), "{a}");
        assert_eq!(a.sentinel, "mymaster@127.0.0.1:26379");
    }

    #[test]
    fn the_kube_identity_names_the_context_and_the_cluster_server() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config");
        let yaml = "apiVersion: v1\ncurrent-context: lab\ncontexts:\n- name: lab\n  context: {cluster: kind-lab}\nclusters:\n- name: kind-lab\n  cluster: {server: 'https://127.0.0.1:6443'}\n";
        std::fs::write(&path, yaml).expect("write kubeconfig");
        assert_eq!(kube_identity(&path.display().to_string(), ""), "context lab, cluster kind-lab at https://127.0.0.1:6443");
        assert_eq!(strip_credentials("http://u:p@10.0.0.1:8008"), "http://10.0.0.1:8008");
    }
}
