//! Writes the kubeconfig that points kubectl, the kube crate and sitrep at the stand-in.
//! One cluster, one user (no credentials: the stand-in serves plain HTTP on loopback), one context.

use std::path::Path;

use serde_json::json;

/// Writes a kubeconfig with one cluster/context/user named after `context`, whose default namespace
/// is `namespace`, pointing at `server` (e.g. `http://127.0.0.1:PORT`).
pub fn write_kubeconfig(path: &Path, server: &str, context: &str, namespace: &str) -> std::io::Result<()> {
    let user = format!("{context}-user");
    let config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": {"server": server}}],
        "users": [{"name": user, "user": {}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": user, "namespace": namespace}}],
        "current-context": context,
        "preferences": {},
    });
    let text = serde_yaml_ng::to_string(&config).map_err(std::io::Error::other)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text)
}
