//! The one place the lab touches the Kubernetes stand-in of `super::kube` (another module):
//! serve it on a listener, write DIR/kubeconfig, and break a deployment for `deploy-bad`.

use std::path::Path;

use tokio::task::JoinHandle;

use super::error::LabError;

/// The stand-in's shared cluster state.
pub type KubeCluster = super::kube::Cluster;

/// Serves the seeded demo cluster on `listener` and writes the kubeconfig;
/// returns the cluster handle, its URL and the serving task (abort it to stop serving).
pub fn start(
    listener: tokio::net::TcpListener,
    kubeconfig: &Path,
    context: &str,
    namespace: &str,
) -> Result<(Option<KubeCluster>, String, JoinHandle<()>), LabError> {
    let url = format!("http://{}", listener.local_addr().map_err(|e| LabError::Other(format!("kube stand-in: {e}")))?);
    let cluster = KubeCluster::new();
    cluster.seed_demo();
    super::kube::write_kubeconfig(kubeconfig, &url, context, namespace).map_err(LabError::io("cannot write", kubeconfig))?;
    let serving = super::kube::serve(listener, cluster.clone(), std::future::pending());
    let task = tokio::spawn(async move {
        if let Err(e) = serving.await {
            eprintln!("lab: the Kubernetes stand-in stopped: {e}");
        }
    });
    Ok((Some(cluster), url, task))
}

pub fn deploy_bad(cluster: &KubeCluster, namespace: &str, deployment: &str) -> Result<(), String> {
    cluster.deploy_bad(namespace, deployment).map_err(|e| format!("cannot break {namespace}/{deployment}: {e}"))
}
