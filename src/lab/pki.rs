//! The lab's one certificate authority, made per lab with the `openssl` program, and the one
//! serving certificate it signs for 127.0.0.1/localhost: every lab server (PostgreSQL, Redis and
//! the Sentinels, the S3 TLS front, the kube stand-in) serves TLS with it, as a managed estate does.

use std::path::{Path, PathBuf};

use super::error::LabError;
use super::tools::PostgresUser;

/// The name pgBackRest checks in the S3 front's certificate (it connects to 127.0.0.1 by
/// `repo1-storage-host` but verifies `repo1-s3-endpoint`).
pub const S3_TLS_NAME: &str = "sitrep-lab-s3";

/// What every lab server serves TLS with: the CA (certificate only; its key is deleted once it
/// signed) and the serving certificate and key, for 127.0.0.1 and localhost.
#[derive(Debug, Clone)]
pub struct LabPki {
    pub ca_cert: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
}

/// DIR/tls: where a lab's CA and serving certificate are.
pub fn dir_of(lab_dir: &Path) -> PathBuf {
    lab_dir.join("tls")
}

impl LabPki {
    /// The files of the lab in `lab_dir` (made by [`make`]).
    pub fn of(lab_dir: &Path) -> LabPki {
        let dir = dir_of(lab_dir);
        LabPki { ca_cert: dir.join("ca.crt"), server_cert: dir.join("server.crt"), server_key: dir.join("server.key") }
    }
}

/// Makes a fresh CA and the serving certificate it signs in DIR/tls (mode 0755: the postgres
/// user reads the CA and its certificate). The key is the postgres user's (mode 0600), as
/// PostgreSQL insists; the other servers run as root and read it too.
pub fn make(openssl: &Path, lab_dir: &Path, user: PostgresUser) -> Result<LabPki, LabError> {
    let dir = dir_of(lab_dir);
    std::fs::create_dir_all(&dir).map_err(LabError::io("cannot create", &dir))?;
    super::supervisor::set_mode(&dir, 0o755);
    let ext = dir.join("server.ext");
    // 127.0.0.1 also as a DNS name: pgBackRest checks DNS names only.
    let san = format!("subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:127.0.0.1,DNS:{S3_TLS_NAME}\nextendedKeyUsage=serverAuth\n");
    std::fs::write(&ext, san).map_err(LabError::io("cannot write", &ext))?;
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    // A name of its own: two labs' CAs never pass for one another (rustls would find the other by
    // name and say BadSignature rather than UnknownIssuer).
    let subject = format!("/CN=sitrep lab CA {}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let ca = [&["req", "-x509"][..], &ec, &["-days", "30", "-subj", &subject, "-keyout", "ca.key", "-out", "ca.crt"]];
    run(openssl, &dir, &ca.concat())?;
    run(openssl, &dir, &[&["req"][..], &ec, &["-subj", "/CN=sitrep-lab", "-keyout", "server.key", "-out", "server.csr"]].concat())?;
    let sign = ["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "30"];
    run(openssl, &dir, &[&sign[..], &["-extfile", "server.ext", "-out", "server.crt"]].concat())?;
    // Nobody signs with it again: a client certificate for this lab cannot be made later.
    for spent in ["ca.key", "server.csr", "ca.srl", "server.ext"] {
        let _ = std::fs::remove_file(dir.join(spent));
    }
    let pki = LabPki::of(lab_dir);
    super::supervisor::set_mode(&pki.ca_cert, 0o644);
    super::supervisor::set_mode(&pki.server_cert, 0o644);
    super::tools::chown(&pki.server_key, user)?;
    super::supervisor::set_mode(&pki.server_key, 0o600);
    Ok(pki)
}

fn run(openssl: &Path, dir: &Path, args: &[&str]) -> Result<(), LabError> {
    let out = std::process::Command::new(openssl).current_dir(dir).args(args).output().map_err(LabError::io("cannot run", openssl))?;
    if out.status.success() {
        return Ok(());
    }
    Err(LabError::Other(format!(
        "cannot make the lab's certificates: `openssl {}` failed: {}; check the openssl package (scripts/install)",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    )))
}
