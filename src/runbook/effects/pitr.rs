//! Point-in-time recovery into a NEW data directory: the newest base backup before the target,
//! the archived WAL after it, `recovery.signal` + `restore_command`, a postmaster on a free port.

use super::sql::leader_client;
use super::{Ctx, EffectError, Report, input, not_ready, pitr_tools};
use crate::backends::s3::{self as s3, wal_segment};
use crate::programs::{self, ProgramError};
use chrono::{DateTime, Utc};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A base backup of the inventory, by its stop sentinel.
#[derive(Debug, Clone)]
struct BaseBackup {
    name: String,
    finished: DateTime<Utc>,
}

fn target(text: &str) -> Result<Option<DateTime<Utc>>, EffectError> {
    if text.is_empty() || text == "latest" {
        return Ok(None);
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| Some(t.with_timezone(&Utc)))
        .map_err(|e| input(format!("target_time `{text}` is not RFC 3339 ({e}); use e.g. 2026-11-29T13:05:00Z or `latest`")))
}

async fn keys(ctx: &Ctx, prefix: &str) -> Result<Vec<String>, EffectError> {
    let cfg = ctx.config.backups_for(crate::model::BackupKind::BaseBackup);
    Ok(s3::list(&s3::client(cfg.access()).await?, &cfg.bucket, prefix).await?.into_iter().map(|o| o.key).collect())
}

async fn get(ctx: &Ctx, key: &str) -> Result<Vec<u8>, EffectError> {
    let cfg = ctx.config.backups_for(crate::model::BackupKind::BaseBackup);
    Ok(s3::get(&s3::client(cfg.access()).await?, &cfg.bucket, key).await?)
}

/// The newest base backup finished before `at` (or the newest).
async fn base_before(ctx: &Ctx, at: Option<DateTime<Utc>>) -> Result<BaseBackup, EffectError> {
    let prefix = &ctx.config.backups_for(crate::model::BackupKind::BaseBackup).basebackups_prefix;
    let mut found = Vec::new();
    for key in keys(ctx, prefix).await?.into_iter().filter(|k| k.ends_with("_backup_stop_sentinel.json")) {
        let json: serde_json::Value = serde_json::from_slice(&get(ctx, &key).await?).map_err(|e| {
            crate::backends::BackendError::unexpected(
                format!("s3://{}/{key}", ctx.config.backups_for(crate::model::BackupKind::BaseBackup).bucket),
                e,
            )
        })?;
        let finished = json["FinishTime"].as_str().and_then(|t| DateTime::parse_from_rfc3339(t).ok()).map(|t| t.with_timezone(&Utc));
        let name = key.rsplit('/').next().unwrap_or(&key).trim_end_matches("_backup_stop_sentinel.json").to_string();
        if let Some(finished) = finished {
            found.push(BaseBackup { name, finished });
        }
    }
    found.sort_by_key(|b| std::cmp::Reverse(b.finished));
    found.into_iter().find(|b| at.is_none_or(|t| b.finished <= t)).ok_or_else(|| {
        not_ready(format!(
            "no base backup under s3://{}/{prefix} finished before {}",
            ctx.config.backups_for(crate::model::BackupKind::BaseBackup).bucket,
            at.map_or("now".into(), |t| t.to_rfc3339())
        ))
    })
}

/// (log*256+seg) of a segment name, for "at or after the base backup".
fn position(segment: &str) -> Option<u64> {
    Some(u64::from_str_radix(segment.get(8..16)?, 16).ok()? * 0x100 + u64::from_str_radix(segment.get(16..24)?, 16).ok()?)
}

pub async fn available(ctx: &Ctx, target_time: &str, data_dir: &str) -> Result<Report, EffectError> {
    let at = target(target_time)?;
    let dir = PathBuf::from(data_dir);
    if !dir.is_absolute() || dir.exists() {
        return Err(input(format!("{data_dir} must be a new absolute path (it is recovered into, never over)")));
    }
    if pitr_tools::layout(ctx.config.backups_for(crate::model::BackupKind::BaseBackup)).is_some() {
        let client = s3::client(ctx.config.backups_for(crate::model::BackupKind::BaseBackup).access()).await?;
        let p = pitr_tools::prepare(ctx, &client, at, &dir).await?;
        return Ok(Report::text(format!(
            "{} backup {} (finished {}) + {} archived WAL segment(s) in the repository",
            p.repo.layout.name(),
            crate::sanitize::clean(&p.backup.label),
            p.backup.stop.map_or("?".into(), |t| t.to_rfc3339()),
            p.wal_segments
        ))
        .with([
            ("base_backup", crate::sanitize::clean(&p.backup.label)),
            ("wal_segments", p.wal_segments.to_string()),
            ("recovery_plan", p.plan.shown()),
        ]));
    }
    let base = base_before(ctx, at).await?;
    let start = position(base.name.trim_start_matches("base_")).unwrap_or(0);
    let wal = keys(ctx, &ctx.config.backups_for(crate::model::BackupKind::BaseBackup).wal_prefix).await?;
    let segments = wal.iter().filter_map(|k| wal_segment(k)).filter(|s| position(s).is_some_and(|p| p >= start)).count();
    let plan = format!("s3 get {} → {data_dir}; {segments} WAL segment(s) → {data_dir}.wal", base.name);
    Ok(Report::text(format!(
        "base backup {} (finished {}) + {segments} archived WAL segment(s) after it",
        base.name,
        base.finished.to_rfc3339()
    ))
    .with([("base_backup", base.name), ("wal_segments", segments.to_string()), ("recovery_plan", plan)]))
}

fn free_port() -> Result<u16, EffectError> {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).map_err(|source| EffectError::Io {
        what: "find a free port on",
        path: "127.0.0.1".into(),
        source,
    })
}

/// Postgres refuses to run as root: when we are root, the files and the server go to `postgres`.
fn owner() -> Option<(u32, u32)> {
    programs::postgres_user().ok().map(|u| (u.uid, u.gid))
}

fn chown_all(path: &Path, (uid, gid): (u32, u32)) -> std::io::Result<()> {
    std::os::unix::fs::chown(path, Some(uid), Some(gid))?;
    if path.is_dir() {
        for entry in std::fs::read_dir(path)? {
            chown_all(&entry?.path(), (uid, gid))?;
        }
    }
    Ok(())
}

async fn untar(bytes: Vec<u8>, dir: &Path) -> Result<(), EffectError> {
    let spawn = |source| ProgramError::Spawn { program: "tar".into(), source };
    use tokio::io::AsyncWriteExt;
    let mut child = tokio::process::Command::new("tar")
        .arg("-x")
        .arg("-C")
        .arg(dir)
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        // A timeout or an operator abort drops this future: tar goes with it.
        .kill_on_drop(true)
        .spawn()
        .map_err(spawn)?;
    let mut stdin = child.stdin.take().ok_or_else(|| spawn(std::io::Error::other("tar has no stdin")))?;
    stdin.write_all(&bytes).await.map_err(spawn)?;
    drop(stdin);
    let out = child.wait_with_output().await.map_err(spawn)?;
    if out.status.success() {
        Ok(())
    } else {
        Err(ProgramError::Failed {
            program: "tar".into(),
            status: out.status.to_string(),
            stderr: crate::sanitize::clean(String::from_utf8_lossy(&out.stderr).trim()),
        }
        .into())
    }
}

pub async fn restore(ctx: &Ctx, target_time: &str, data_dir: &str) -> Result<Report, EffectError> {
    let at = target(target_time)?;
    let dir = PathBuf::from(data_dir);
    if !dir.is_absolute() || dir.exists() {
        return Err(input(format!("{data_dir} must be a new absolute path; nothing was changed")));
    }
    let pg_ctl = programs::find("pg_ctl", &ctx.config.postgres.bin_dir, "[postgres] bin_dir")?;
    if pitr_tools::layout(ctx.config.backups_for(crate::model::BackupKind::BaseBackup)).is_some() {
        return restore_with_tool(ctx, at, &dir, &pg_ctl).await;
    }
    let base = base_before(ctx, at).await?;
    let wal_dir = PathBuf::from(format!("{data_dir}.wal"));
    std::fs::create_dir_all(&dir).map_err(|e| io("create", &dir, e))?;
    std::fs::create_dir_all(&wal_dir).map_err(|e| io("create", &wal_dir, e))?;
    let part = get(
        ctx,
        &format!(
            "{}{}/tar_partitions/part_1.tar.zst",
            ctx.config.backups_for(crate::model::BackupKind::BaseBackup).basebackups_prefix,
            base.name
        ),
    )
    .await?;
    let tar = zstd::decode_all(part.as_slice()).map_err(|e| io("decompress", Path::new(&base.name), e))?;
    untar(tar, &dir).await?;
    let start = position(base.name.trim_start_matches("base_")).unwrap_or(0);
    let mut fetched = 0;
    for key in keys(ctx, &ctx.config.backups_for(crate::model::BackupKind::BaseBackup).wal_prefix).await? {
        let name = key.rsplit('/').next().unwrap_or(&key).trim_end_matches(".zst").to_string();
        let wanted = name.ends_with(".history") || wal_segment(&name).and_then(position).is_some_and(|p| p >= start);
        if !wanted {
            continue;
        }
        let raw = get(ctx, &key).await?;
        let plain =
            if key.ends_with(".zst") { zstd::decode_all(raw.as_slice()).map_err(|e| io("decompress", Path::new(&key), e))? } else { raw };
        std::fs::write(wal_dir.join(&name), plain).map_err(|e| io("write", &wal_dir.join(&name), e))?;
        fetched += 1;
    }
    let mut recovery = format!(
        "restore_command = 'cp \"{}/%f\" \"%p\"'\nrecovery_target_action = 'promote'\nrecovery_target_timeline = 'latest'\n",
        wal_dir.display()
    );
    if let Some(t) = at {
        recovery.push_str(&format!("recovery_target_time = '{}'\n", t.format("%Y-%m-%d %H:%M:%S%.6f+00")));
    }
    std::fs::write(dir.join("recovery.signal"), "").map_err(|e| io("write", &dir.join("recovery.signal"), e))?;
    if let Some(u) = owner() {
        chown_all(&wal_dir, u).map_err(|e| io("chown", &wal_dir, e))?;
    }
    let port = start_recovering(&dir, &pg_ctl, &recovery).await?;
    Ok(Report::text(format!(
        "{} + {fetched} WAL file(s) restored into {data_dir}; recovering on 127.0.0.1:{port} (stop it with `pg_ctl -D {data_dir} stop`)",
        base.name
    ))
    .with([("pitr_port", port.to_string()), ("base_backup", base.name)]))
}

fn io(what: &'static str, p: &Path, source: std::io::Error) -> EffectError {
    EffectError::Io { what, path: p.to_path_buf(), source }
}

/// `pgbackrest restore` or `barman-cloud-restore` into the new `dir`, then the same start.
async fn restore_with_tool(ctx: &Ctx, at: Option<DateTime<Utc>>, dir: &Path, pg_ctl: &Path) -> Result<Report, EffectError> {
    let (client, shared) = s3::client_and_config(ctx.config.backups_for(crate::model::BackupKind::BaseBackup).access()).await?;
    let planned = pitr_tools::prepare(ctx, &client, at, dir).await?;
    let creds = s3::tool_credentials(&shared).await?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).map_err(|e| io("create", dir, e))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(|e| io("chmod", dir, e))?;
    let user = owner();
    if let Some(u) = user {
        chown_all(dir, u).map_err(|e| io("chown", dir, e))?;
    }
    let took = pitr_tools::run(&planned, &creds, user).await?;
    let recovery = planned.plan.recovery_conf.clone().unwrap_or_default();
    if planned.plan.recovery_conf.is_some() {
        std::fs::write(dir.join("recovery.signal"), "").map_err(|e| io("write", &dir.join("recovery.signal"), e))?;
    }
    let port = start_recovering(dir, pg_ctl, &recovery).await?;
    let label = crate::sanitize::clean(&planned.backup.label);
    Ok(Report::text(format!(
        "{} restored backup {label} into {} in {:.0}s; recovering on 127.0.0.1:{port} (stop it with `pg_ctl -D {} stop`)",
        planned.plan.program.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        dir.display(),
        took.as_secs_f64(),
        dir.display()
    ))
    .with([("pitr_port", port.to_string()), ("base_backup", label)]))
}

/// Points the restored `dir` at a free port and its own socket, hba and ident files, with
/// archiving off and `recovery` (restore_command, targets) appended to postgresql.auto.conf, and
/// starts it with `pg_ctl -w` (as postgres when we are root); answers the port.
async fn start_recovering(dir: &Path, pg_ctl: &Path, recovery: &str) -> Result<u16, EffectError> {
    let port = free_port()?;
    let conf = format!(
        "\n# sitrep point-in-time recovery\nport = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\n\
         archive_mode = off\nhba_file = '{}/pg_hba.conf'\nident_file = '{}/pg_ident.conf'\n{recovery}",
        dir.display(),
        dir.display(),
        dir.display(),
    );
    let auto = dir.join("postgresql.auto.conf");
    let mut text = std::fs::read_to_string(&auto).unwrap_or_default();
    text.push_str(&conf);
    std::fs::write(&auto, text).map_err(|e| io("write", &auto, e))?;
    let _ = std::fs::remove_file(dir.join("standby.signal"));
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(|e| io("chmod", dir, e))?;
    let user = owner();
    if let Some(u) = user {
        chown_all(dir, u).map_err(|e| io("chown", dir, e))?;
    }
    let log = PathBuf::from(format!("{}.log", dir.display()));
    let mut cmd = tokio::process::Command::new(pg_ctl);
    cmd.arg("-D").arg(dir).arg("-l").arg(&log).args(["-w", "-t", "120", "start"]).current_dir(dir);
    if let Some((uid, gid)) = user {
        if let Ok(f) = std::fs::File::create(&log) {
            drop(f);
            let _ = std::os::unix::fs::chown(&log, Some(uid), Some(gid));
        }
        cmd.uid(uid).gid(gid);
    }
    let out = cmd.output().await.map_err(|source| ProgramError::Spawn { program: pg_ctl.display().to_string(), source })?;
    if !out.status.success() {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        return Err(not_ready(format!(
            "the recovered server did not start ({}); log {}: {}",
            out.status,
            log.display(),
            crate::sanitize::clean(&why_it_stopped(&text))
        )));
    }
    Ok(port)
}

/// The lines of a server log that say why it stopped: its FATAL/PANIC/ERROR lines and the
/// restore_command's own words before them (at most 6), else its last 5 lines.
fn why_it_stopped(log: &str) -> String {
    let lines: Vec<&str> = log.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let bad = |l: &str| ["FATAL:", "PANIC:", "ERROR:"].iter().any(|w| l.contains(w));
    let said: Vec<&str> = lines.iter().copied().filter(|l| bad(l)).take(6).collect();
    if said.is_empty() { lines.iter().rev().take(5).rev().copied().collect::<Vec<_>>().join(" | ") } else { said.join(" | ") }
}

/// The recovered server has left recovery and answers; row counts of `tables` in `database`.
pub async fn recovered(ctx: &Ctx, port: &str, database: &str, tables: &[String]) -> Result<Report, EffectError> {
    let (_, _, mut cfg) = leader_client(ctx, "postgres").await?;
    let port: u16 = port.parse().map_err(|_| input(format!("port `{port}` is not a number")))?;
    // The leader's login, on the recovered server only: `host()`/`port()` would add to the
    // leader's own host list, and the check would then be answered by the leader.
    let mut pg = tokio_postgres::Config::new();
    if let Some(user) = cfg.get_user() {
        pg.user(user);
    }
    if let Some(password) = cfg.get_password() {
        pg.password(password);
    }
    pg.host("127.0.0.1").port(port).dbname(database).connect_timeout(Duration::from_secs(3));
    cfg.pg = pg;
    let target = format!("recovered server on port {port}");
    let client = crate::backends::postgres::connect(&cfg, Duration::from_secs(3)).await.map_err(|e| e.at(&target))?.client;
    if crate::backends::postgres::in_recovery(&client, &target).await? {
        return Err(not_ready(format!("the server on port {port} is still replaying WAL")));
    }
    let mut counts = Vec::new();
    for t in tables {
        if !t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(input(format!("`{t}` is not a table name")));
        }
        let n = crate::backends::postgres::row_count(&client, &format!("{target}: {t}"), t).await?;
        counts.push(format!("{t}={n}"));
    }
    let removed = forget_tool_credentials(&client).await;
    Ok(Report::text(format!("recovered server on port {port} is out of recovery; {database}: {}{removed}", counts.join(", "))))
}

/// Once promoted, the restore_command is done with DIR.pgbackrest.conf / DIR.aws-credentials:
/// they hold S3 credentials, so they go. Says what was removed (or could not be).
async fn forget_tool_credentials(client: &tokio_postgres::Client) -> String {
    let Ok(row) = client.query_one("SHOW data_directory", &[]).await else { return String::new() };
    let dir: String = row.get(0);
    let mut said = String::new();
    for file in pitr_tools::settings_files(Path::new(&dir)).into_iter().filter(|f| f.exists()) {
        said.push_str(&match std::fs::remove_file(&file) {
            Ok(()) => format!("; removed {} (S3 credentials for the tool)", file.display()),
            Err(e) => format!("; cannot remove {} ({e}): it holds S3 credentials, remove it by hand", file.display()),
        });
    }
    said
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_failed_start_reports_the_fatal_lines_first() {
        let log = "LOG:  starting PostgreSQL 15\nERROR: [037]: archive-get command requires option: pg1-path\n\
                   FATAL:  could not locate required checkpoint record\nLOG:  startup process (PID 9) exited with exit code 1\nLOG:  database system is shut down\n";
        let why = super::why_it_stopped(log);
        assert_eq!(
            why,
            "ERROR: [037]: archive-get command requires option: pg1-path | FATAL:  could not locate required checkpoint record"
        );
        assert_eq!(super::why_it_stopped("a\nb\n"), "a | b");
    }
}
