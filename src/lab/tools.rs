//! The outside programs the lab runs, where they live and which package provides them.
//! Checked once before anything starts, so a missing one is one clear error, not a hang.

use std::path::{Path, PathBuf};

use super::error::LabError;

pub const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// Paths of every program the lab starts.
#[derive(Debug, Clone)]
pub struct Toolbox {
    pub etcd: PathBuf,
    pub patroni: PathBuf,
    pub redis_server: PathBuf,
    pub redis_sentinel: PathBuf,
    pub moto_server: PathBuf,
    /// The tools venv's Python and Celery: the lab's queue traffic is real Celery.
    pub python: PathBuf,
    pub celery: PathBuf,
    pub pg_basebackup: PathBuf,
    pub pg_dump: PathBuf,
    /// Makes the certificates the kube stand-in serves HTTPS with.
    pub openssl: PathBuf,
}

/// The `postgres` account (its home is the neutral `programs` module, shared with the PITR effect).
pub use crate::programs::PostgresUser;

impl Toolbox {
    pub fn find() -> Result<Toolbox, LabError> {
        let tools_dir = std::env::var_os("SITREP_TOOLS").map(PathBuf::from).unwrap_or_else(|| {
            let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| "/root".into());
            home.join(".local/share/sitrep-tools")
        });
        let pg = |name: &str| PathBuf::from(PG_BIN).join(name);
        Ok(Toolbox {
            etcd: on_path("etcd", "etcd-server")?,
            patroni: on_path("patroni", "patroni")?,
            redis_server: on_path("redis-server", "redis-server")?,
            redis_sentinel: on_path("redis-sentinel", "redis-sentinel")?,
            moto_server: exists(tools_dir.join("venv/bin/moto_server"), "moto_server", "moto[server] (pip, in $SITREP_TOOLS/venv)")?,
            python: exists(tools_dir.join("venv/bin/python"), "python", "python3-venv (scripts/install makes $SITREP_TOOLS/venv)")?,
            celery: exists(tools_dir.join("venv/bin/celery"), "celery", "celery[redis] (pip, in $SITREP_TOOLS/venv)")?,
            pg_basebackup: exists(pg("pg_basebackup"), "pg_basebackup", "postgresql-15")?,
            pg_dump: exists(pg("pg_dump"), "pg_dump", "postgresql-15")?,
            openssl: on_path("openssl", "openssl")?,
        })
        .and_then(|t| exists(pg("postgres"), "postgres", "postgresql-15").map(|_| t))
    }
}

fn exists(path: PathBuf, binary: &str, package: &str) -> Result<PathBuf, LabError> {
    if is_executable(&path) {
        Ok(path)
    } else {
        Err(LabError::MissingBinary { binary: binary.into(), package: package.into(), why: format!("{} not found", path.display()) })
    }
}

pub(super) fn on_path(binary: &str, package: &str) -> Result<PathBuf, LabError> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/bin".into(), "/usr/local/bin".into()])
        .map(|d| d.join(binary))
        .find(|p| is_executable(p))
        .ok_or_else(|| LabError::MissingBinary { binary: binary.into(), package: package.into(), why: "not on PATH".into() })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Checks we are root and finds the `postgres` account Patroni runs as.
pub fn postgres_user() -> Result<PostgresUser, LabError> {
    crate::programs::postgres_user().map_err(|e| match e {
        crate::programs::AccountError::NotRoot => LabError::NotRoot,
        crate::programs::AccountError::NoPostgresUser => LabError::NoPostgresUser,
    })
}

/// Gives `path` (not recursively) to the postgres user.
pub fn chown(path: &Path, user: PostgresUser) -> Result<(), LabError> {
    std::os::unix::fs::chown(path, Some(user.uid), Some(user.gid)).map_err(LabError::io("cannot chown", path))
}

/// Fails when the postgres user could not traverse to `dir` (e.g. it lives under /root).
pub fn check_shareable(dir: &Path) -> Result<(), LabError> {
    use std::os::unix::fs::PermissionsExt;
    for anc in dir.ancestors().skip(1) {
        if let Ok(meta) = std::fs::metadata(anc)
            && meta.permissions().mode() & 0o001 == 0
        {
            return Err(LabError::DirNotShareable { dir: dir.to_path_buf() });
        }
    }
    Ok(())
}
