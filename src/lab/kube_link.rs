//! The one place the lab touches the Kubernetes stand-in of `super::kube` (another module):
//! serve it over HTTPS with exec-plugin auth as EKS is, write DIR/kubeconfig, break a deployment.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::task::JoinHandle;

use super::error::LabError;
use super::kube::{ClusterTrust, Gate, KubeconfigSpec, TlsServing, UserAuth};

/// The stand-in's shared cluster state.
pub type KubeCluster = super::kube::Cluster;

/// How long a token from the lab's exec plugin lives: clients must refresh, as with `aws eks get-token`.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(180);

/// Where the stand-in is served and how its kubeconfig is written.
pub struct KubeSetup<'a> {
    /// The lab's CA and serving certificate (`super::pki`).
    pub pki: &'a super::pki::LabPki,
    /// The lab's DIR: the kubeconfig is DIR/kubeconfig, the exec plugin in DIR/kube/.
    pub dir: &'a Path,
    pub context: &'a str,
    pub namespace: &'a str,
}

/// DIR/kubeconfig: what kubectl, sitrep's collectors and runbook effects read.
pub fn kubeconfig_path(dir: &Path) -> PathBuf {
    dir.join("kubeconfig")
}

impl KubeSetup<'_> {
    /// The exec credential plugin the kubeconfig runs (mode 0700: it holds the lab's secret).
    fn plugin(&self) -> PathBuf {
        self.dir.join("kube").join("get-token")
    }
}

/// Serves the seeded demo cluster over HTTPS on `listener` (the lab's CA; a verified client
/// certificate or a token of the lab's exec plugin, else 401) and writes the kubeconfig;
/// returns the cluster handle, its URL and the serving task (abort it to stop serving).
pub async fn start(
    listener: tokio::net::TcpListener,
    setup: &KubeSetup<'_>,
) -> Result<(Option<KubeCluster>, String, JoinHandle<()>), LabError> {
    let addr = listener.local_addr().map_err(|e| LabError::Other(format!("kube stand-in: {e}")))?;
    let url = format!("https://{addr}");
    let pki = setup.pki;
    let kube_dir = setup.dir.join("kube");
    std::fs::create_dir_all(&kube_dir).map_err(LabError::io("cannot create", &kube_dir))?;
    super::supervisor::set_mode(&kube_dir, 0o700);
    let secret = uuid::Uuid::new_v4().simple().to_string();
    let plugin = setup.plugin();
    super::kube::write_exec_plugin(&plugin, &secret, TOKEN_LIFETIME, None).map_err(LabError::io("cannot write", &plugin))?;
    super::supervisor::set_mode(&plugin, 0o700);
    let gate = Gate::default();
    gate.accept_stamped_tokens(&secret);
    let tls = TlsServing::from_files(&pki.server_cert, &pki.server_key, &pki.ca_cert, gate)
        .map_err(|e| LabError::Other(format!("cannot serve the kube stand-in over HTTPS: {e}")))?;
    let ca = std::fs::read(&pki.ca_cert).map_err(LabError::io("cannot read", &pki.ca_cert))?;
    let kubeconfig = kubeconfig_path(setup.dir);
    let spec = KubeconfigSpec {
        server: &url,
        context: setup.context,
        namespace: setup.namespace,
        trust: ClusterTrust::CaData(ca),
        user: UserAuth::Exec { command: plugin, args: vec!["--cluster-name".into(), setup.context.into()] },
    };
    super::kube::write_kubeconfig_with(&kubeconfig, &spec).map_err(LabError::io("cannot write", &kubeconfig))?;
    let cluster = KubeCluster::new();
    cluster.seed_demo();
    let serving = super::kube::serve_tls(listener, tls, cluster.clone(), std::future::pending());
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
