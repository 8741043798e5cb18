//! The lab's own certificate authority and the stand-in's serving certificate, made per lab with
//! the `openssl` program: the API is HTTPS as on EKS, trusted through the kubeconfig's CA data.

use std::path::{Path, PathBuf};

use super::error::LabError;

/// What the stand-in serves HTTPS with: the CA (certificate only; its key is deleted once it
/// signed) and the serving certificate and key, for 127.0.0.1 and localhost.
#[derive(Debug, Clone)]
pub struct KubePki {
    pub ca_cert: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
}

/// Makes a fresh CA and a serving certificate it signs, in `dir` (created, mode 0700).
pub async fn make(openssl: &Path, dir: &Path) -> Result<KubePki, LabError> {
    std::fs::create_dir_all(dir).map_err(LabError::io("cannot create", dir))?;
    super::supervisor::set_mode(dir, 0o700);
    let ext = dir.join("server.ext");
    std::fs::write(&ext, "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
        .map_err(LabError::io("cannot write", &ext))?;
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    let ca = [&["req", "-x509"][..], &ec, &["-days", "30", "-subj", "/CN=sitrep lab kube CA", "-keyout", "ca.key", "-out", "ca.crt"]];
    run(openssl, dir, &ca.concat()).await?;
    run(openssl, dir, &[&["req"][..], &ec, &["-subj", "/CN=kube-apiserver", "-keyout", "server.key", "-out", "server.csr"]].concat())
        .await?;
    let sign = ["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "30"];
    run(openssl, dir, &[&sign[..], &["-extfile", "server.ext", "-out", "server.crt"]].concat()).await?;
    // Nobody signs with it again: a client certificate for this lab cannot be made later.
    for spent in ["ca.key", "server.csr", "ca.srl", "server.ext"] {
        let _ = std::fs::remove_file(dir.join(spent));
    }
    Ok(KubePki { ca_cert: dir.join("ca.crt"), server_cert: dir.join("server.crt"), server_key: dir.join("server.key") })
}

async fn run(openssl: &Path, dir: &Path, args: &[&str]) -> Result<(), LabError> {
    let out =
        tokio::process::Command::new(openssl).current_dir(dir).args(args).output().await.map_err(LabError::io("cannot run", openssl))?;
    if out.status.success() {
        return Ok(());
    }
    Err(LabError::Other(format!(
        "cannot make the kube stand-in's certificates: `openssl {}` failed: {}; check the openssl package (scripts/install)",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    )))
}
