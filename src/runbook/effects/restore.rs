//! Restore effects: pick a pg_dump from the S3 inventory, pg_restore it into a NEW database by
//! default (the live one only with `replace = "yes"` and its name typed), and count rows after.

use super::sql::leader_client;
use super::{Ctx, EffectError, Report, input, not_ready};
use crate::backends::postgres::{query_error, row_count};
use crate::backends::s3::{self as s3, time_in_key};
use crate::programs::{self, ProgramError};

/// The dump keys of the inventory, newest first.
pub async fn dumps(ctx: &Ctx) -> Result<Vec<String>, EffectError> {
    let cfg = ctx.config.backups_for(crate::model::BackupKind::Dump);
    if cfg.bucket.is_empty() {
        return Err(input("no backup bucket configured; set [s3] bucket in sitrep.toml"));
    }
    let client = s3::client(cfg.access()).await?;
    let mut keys: Vec<String> =
        s3::list(&client, &cfg.bucket, &cfg.dumps_prefix).await?.into_iter().map(|o| o.key).filter(|k| k.ends_with(".dump")).collect();
    keys.sort_by_key(|k| std::cmp::Reverse(time_in_key(k)));
    Ok(keys)
}

/// `latest`, a full key, or a file name of the inventory.
async fn resolve(ctx: &Ctx, dump: &str) -> Result<String, EffectError> {
    let keys = dumps(ctx).await?;
    let found = if dump.is_empty() || dump == "latest" {
        keys.first()
    } else {
        keys.iter().find(|k| *k == dump || k.rsplit('/').next() == Some(dump))
    };
    found.cloned().ok_or_else(|| {
        let some: Vec<&str> = keys.iter().take(5).map(String::as_str).collect();
        input(format!(
            "no dump `{dump}` in s3://{}/{} (newest: {}); use `latest` or one of those keys",
            ctx.config.backups_for(crate::model::BackupKind::Dump).bucket,
            ctx.config.backups_for(crate::model::BackupKind::Dump).dumps_prefix,
            some.join(", ")
        ))
    })
}

fn valid_name(db: &str) -> Result<(), EffectError> {
    let ok = !db.is_empty()
        && db.len() < 64
        && db.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !db.starts_with(|c: char| c.is_ascii_digit());
    if ok { Ok(()) } else { Err(input(format!("`{db}` is not a database name sitrep will create; use letters, digits and _"))) }
}

async fn exists(ctx: &Ctx, db: &str) -> Result<bool, EffectError> {
    let (leader, client, _) = leader_client(ctx, "postgres").await?;
    let rows = client.query("select 1 from pg_database where datname = $1", &[&db]).await.map_err(|e| query_error(&leader, &e))?;
    Ok(!rows.is_empty())
}

pub async fn available(ctx: &Ctx, dump: &str, database: &str, replace: &str) -> Result<Report, EffectError> {
    valid_name(database)?;
    let key = resolve(ctx, dump).await?;
    let taken = exists(ctx, database).await?;
    if taken && replace != "yes" {
        return Err(not_ready(format!(
            "database {database} already exists; restore into a new name (--param database=...), or overwrite it with --param replace=yes and --confirm {database}"
        )));
    }
    let into = if taken { format!("over the existing database {database}") } else { format!("into a new database {database}") };
    Ok(Report::text(format!("{key} will be restored {into}")).with([("dump_key", key)]))
}

pub async fn restore(ctx: &Ctx, dump: &str, database: &str, replace: &str) -> Result<Report, EffectError> {
    valid_name(database)?;
    let pg_restore = programs::find("pg_restore", &ctx.config.postgres.bin_dir, "[postgres] bin_dir")?;
    let key = resolve(ctx, dump).await?;
    let cfg = ctx.config.backups_for(crate::model::BackupKind::Dump);
    let bytes = s3::get(&s3::client(cfg.access()).await?, &cfg.bucket, &key).await?;
    let work = tempfile::tempdir().map_err(|source| EffectError::Io { what: "make a temp dir for", path: "the dump".into(), source })?;
    let file = work.path().join("restore.dump");
    tokio::fs::write(&file, &bytes).await.map_err(|source| EffectError::Io { what: "write", path: file.clone(), source })?;
    let (leader, admin, pg) = leader_client(ctx, "postgres").await?;
    let taken = exists(ctx, database).await?;
    if taken && replace != "yes" {
        return Err(not_ready(format!("database {database} exists; nothing was changed")));
    }
    if !taken {
        admin
            .batch_execute(&format!("CREATE DATABASE \"{database}\""))
            .await
            .map_err(|e| query_error(&format!("CREATE DATABASE {database} on {leader}"), &e))?;
    }
    let mut cmd = tokio::process::Command::new(&pg_restore);
    cmd.arg("--no-owner").arg("--no-privileges").arg("--exit-on-error");
    if taken {
        cmd.arg("--clean").arg("--if-exists");
    }
    if let Some(tokio_postgres::config::Host::Tcp(h)) = pg.get_hosts().first() {
        cmd.arg("-h").arg(h);
    }
    if let Some(p) = pg.get_ports().first() {
        cmd.arg("-p").arg(p.to_string());
    }
    cmd.arg("-U").arg(pg.get_user().unwrap_or("postgres")).arg("-d").arg(database).arg(&file);
    // TLS and the password as the collectors connect, through the environment (never argv).
    cmd.envs(crate::backends::postgres::libpq_env(&pg));
    let out = cmd
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|source| ProgramError::Spawn { program: pg_restore.display().to_string(), source })?;
    if !out.status.success() {
        return Err(ProgramError::Failed {
            program: format!("pg_restore of {key} into {database}"),
            status: out.status.to_string(),
            stderr: crate::sanitize::clean(String::from_utf8_lossy(&out.stderr).trim()),
        }
        .into());
    }
    Ok(Report::text(format!("restored {key} ({} bytes) into {database} on {leader}", bytes.len())).with([("dump_key", key)]))
}

pub async fn row_counts(ctx: &Ctx, database: &str, tables: &[String]) -> Result<Report, EffectError> {
    valid_name(database)?;
    let (_, client, _) = leader_client(ctx, database).await?;
    let mut counts = Vec::new();
    for t in tables {
        valid_name(t)?;
        let n = row_count(&client, &format!("{database}.{t}"), t).await?;
        if n == 0 {
            return Err(not_ready(format!("{database}.{t} is empty after the restore")));
        }
        counts.push(format!("{t}={n}"));
    }
    Ok(Report::text(format!("{database}: {}", counts.join(", "))))
}
