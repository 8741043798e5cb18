//! Programs sitrep runs on the operator's machine (pg_restore, pg_ctl, tar): found on PATH or in
//! a configured bin dir, and the `postgres` OS account PostgreSQL's programs must run as.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ProgramError {
    #[error("cannot find {program} in {} ({setting}); set {setting} to the directory that holds it, or \"\" to search PATH", dir.display())]
    NotInDir { program: String, dir: PathBuf, setting: &'static str },
    #[error(
        "cannot find {program} on PATH; install it (e.g. the postgresql-client package) or set {setting} to the directory that holds it"
    )]
    NotOnPath { program: String, setting: &'static str },
    #[error("cannot run {program}: {source}")]
    Spawn { program: String, source: std::io::Error },
    #[error("{program} failed ({status}): {stderr}")]
    Failed { program: String, status: String, stderr: String },
    /// A program that is not PostgreSQL's own (pgbackrest, barman-cloud-restore): it comes from a package.
    #[error("cannot find {program} on PATH; install it (Debian/Ubuntu: the {package} package) or add the directory that holds it to PATH")]
    ToolNotOnPath { program: String, package: &'static str },
    /// A failure whose words tell what to change: the program's own words, then the fix.
    #[error("{program} failed ({status}): {stderr}; {fix}")]
    Refused { program: String, status: String, stderr: String, fix: String },
}

/// A backup tool (`package` names the Debian package that ships it) on PATH.
pub fn find_tool(program: &str, package: &'static str) -> Result<PathBuf, ProgramError> {
    find_tool_in(program, package, std::env::var_os("PATH").as_deref())
}

/// As [`find_tool`], with the PATH value given.
pub fn find_tool_in(program: &str, package: &'static str, path: Option<&OsStr>) -> Result<PathBuf, ProgramError> {
    find_in(program, "", path, "PATH").map_err(|_| ProgramError::ToolNotOnPath { program: program.into(), package })
}

/// `program` in `bin_dir` when that is set (the setting named `setting`), else on PATH.
pub fn find(program: &str, bin_dir: &str, setting: &'static str) -> Result<PathBuf, ProgramError> {
    find_in(program, bin_dir, std::env::var_os("PATH").as_deref(), setting)
}

/// As [`find`], with the PATH value given (so it can be tested without touching the process).
pub fn find_in(program: &str, bin_dir: &str, path: Option<&OsStr>, setting: &'static str) -> Result<PathBuf, ProgramError> {
    if !bin_dir.is_empty() {
        let candidate = Path::new(bin_dir).join(program);
        return if is_executable(&candidate) {
            Ok(candidate)
        } else {
            Err(ProgramError::NotInDir { program: program.into(), dir: bin_dir.into(), setting })
        };
    }
    path.into_iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(program))
        .find(|p| is_executable(p))
        .ok_or_else(|| ProgramError::NotOnPath { program: program.into(), setting })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The `postgres` account's ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostgresUser {
    pub uid: u32,
    pub gid: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    #[error("not running as root")]
    NotRoot,
    #[error("there is no `postgres` user on this machine")]
    NoPostgresUser,
}

/// When we are root, the `postgres` account (PostgreSQL refuses to run as root).
pub fn postgres_user() -> Result<PostgresUser, AccountError> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err(AccountError::NotRoot);
    }
    let name = c"postgres";
    // SAFETY: getpwnam reads a static buffer; we copy the two ids out immediately.
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    if pw.is_null() {
        return Err(AccountError::NoPostgresUser);
    }
    // SAFETY: pw is non-null and points at a valid passwd record.
    let (uid, gid) = unsafe { ((*pw).pw_uid, (*pw).pw_gid) };
    Ok(PostgresUser { uid, gid })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_program_names_itself_and_the_setting() {
        let dir = tempfile::tempdir().ok();
        let path = dir.as_ref().map(|d| d.path().as_os_str().to_owned());
        let e = find_in("pg_restore", "", path.as_deref(), "[postgres] bin_dir").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("pg_restore") && e.contains("[postgres] bin_dir") && e.contains("PATH"), "{e}");
        let e = find_in("pg_ctl", "/nonexistent/bin", None, "[postgres] bin_dir").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("pg_ctl") && e.contains("/nonexistent/bin") && e.contains("[postgres] bin_dir"), "{e}");
    }

    #[test]
    fn a_missing_backup_tool_names_its_package() {
        let dir = tempfile::tempdir().ok();
        let path = dir.as_ref().map(|d| d.path().as_os_str().to_owned());
        let e = find_tool_in("pgbackrest", "pgbackrest", path.as_deref()).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("cannot find pgbackrest on PATH") && e.contains("the pgbackrest package"), "{e}");
    }

    #[test]
    fn a_program_is_found_on_path_and_in_the_bin_dir() {
        use std::os::unix::fs::PermissionsExt;
        let Ok(dir) = tempfile::tempdir() else { return };
        let exe = dir.path().join("pg_ctl");
        assert!(std::fs::write(&exe, "#!/bin/sh\n").is_ok());
        assert!(std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).is_ok());
        let bin = dir.path().display().to_string();
        assert_eq!(find_in("pg_ctl", &bin, None, "x").ok(), Some(exe.clone()));
        assert_eq!(find_in("pg_ctl", "", Some(dir.path().as_os_str()), "x").ok(), Some(exe));
    }
}
