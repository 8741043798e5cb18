//! Restore effects: pick a pg_dump from the S3 inventory, pg_restore it into a NEW database by
//! default (the live one only with `replace = "yes"` and its name typed), and count rows after.

use super::sql::leader_client;
use super::{Ctx, Report};
use crate::sources::backups::{client as s3_client, time_in_key};
use std::path::PathBuf;

/// The dump keys of the inventory, newest first.
pub async fn dumps(ctx: &Ctx) -> Result<Vec<String>, String> {
    let cfg = &ctx.config.s3;
    if cfg.bucket.is_empty() {
        return Err("no backup bucket configured; set [s3] bucket in sitrep.toml".into());
    }
    let s3 = s3_client(cfg).await;
    let mut keys = Vec::new();
    let mut pages = s3.list_objects_v2().bucket(&cfg.bucket).prefix(&cfg.dumps_prefix).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| format!("listing s3://{}/{}: {}", cfg.bucket, cfg.dumps_prefix, aws_sdk_s3::error::DisplayErrorContext(e)))?;
        keys.extend(page.contents().iter().filter_map(|o| o.key().map(str::to_string)).filter(|k| k.ends_with(".dump")));
    }
    keys.sort_by_key(|k| std::cmp::Reverse(time_in_key(k)));
    Ok(keys)
}

/// `latest`, a full key, or a file name of the inventory.
async fn resolve(ctx: &Ctx, dump: &str) -> Result<String, String> {
    let keys = dumps(ctx).await?;
    let found = if dump.is_empty() || dump == "latest" {
        keys.first()
    } else {
        keys.iter().find(|k| *k == dump || k.rsplit('/').next() == Some(dump))
    };
    found.cloned().ok_or_else(|| {
        let some: Vec<&str> = keys.iter().take(5).map(String::as_str).collect();
        format!(
            "no dump `{dump}` in s3://{}/{} (newest: {}); use `latest` or one of those keys",
            ctx.config.s3.bucket,
            ctx.config.s3.dumps_prefix,
            some.join(", ")
        )
    })
}

fn valid_name(db: &str) -> Result<(), String> {
    let ok = !db.is_empty()
        && db.len() < 64
        && db.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !db.starts_with(|c: char| c.is_ascii_digit());
    if ok { Ok(()) } else { Err(format!("`{db}` is not a database name sitrep will create; use letters, digits and _")) }
}

async fn exists(ctx: &Ctx, db: &str) -> Result<bool, String> {
    let (_, client, _) = leader_client(ctx, "postgres").await?;
    let rows = client.query("select 1 from pg_database where datname = $1", &[&db]).await.map_err(|e| e.to_string())?;
    Ok(!rows.is_empty())
}

pub async fn available(ctx: &Ctx, dump: &str, database: &str, replace: &str) -> Result<Report, String> {
    valid_name(database)?;
    let key = resolve(ctx, dump).await?;
    let taken = exists(ctx, database).await?;
    if taken && replace != "yes" {
        return Err(format!(
            "database {database} already exists; restore into a new name (--param database=...), or overwrite it with --param replace=yes and --confirm {database}"
        ));
    }
    let into = if taken { format!("over the existing database {database}") } else { format!("into a new database {database}") };
    Ok(Report::text(format!("{key} will be restored {into}")).with([("dump_key", key)]))
}

fn pg_restore_bin() -> PathBuf {
    let bundled = PathBuf::from(crate::lab::tools::PG_BIN).join("pg_restore");
    if bundled.is_file() { bundled } else { PathBuf::from("pg_restore") }
}

pub async fn restore(ctx: &Ctx, dump: &str, database: &str, replace: &str) -> Result<Report, String> {
    valid_name(database)?;
    let key = resolve(ctx, dump).await?;
    let cfg = &ctx.config.s3;
    let s3 = s3_client(cfg).await;
    let object = s3
        .get_object()
        .bucket(&cfg.bucket)
        .key(&key)
        .send()
        .await
        .map_err(|e| format!("downloading {key}: {}", aws_sdk_s3::error::DisplayErrorContext(e)))?;
    let bytes = object.body.collect().await.map_err(|e| format!("downloading {key}: {e}"))?.into_bytes();
    let work = tempfile::tempdir().map_err(|e| format!("cannot make a temp dir for the dump: {e}"))?;
    let file = work.path().join("restore.dump");
    tokio::fs::write(&file, &bytes).await.map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    let (leader, admin, pg) = leader_client(ctx, "postgres").await?;
    let taken = exists(ctx, database).await?;
    if taken && replace != "yes" {
        return Err(format!("database {database} exists; nothing was changed"));
    }
    if !taken {
        admin
            .batch_execute(&format!("CREATE DATABASE \"{database}\""))
            .await
            .map_err(|e| format!("CREATE DATABASE {database} on {leader}: {e}"))?;
    }
    let mut cmd = tokio::process::Command::new(pg_restore_bin());
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
    // The password goes through the environment, never argv (which `ps` shows).
    if let Some(pw) = pg.get_password() {
        cmd.env("PGPASSWORD", String::from_utf8_lossy(pw).into_owned());
    }
    let out = cmd.kill_on_drop(true).output().await.map_err(|e| format!("cannot run pg_restore: {e}; install postgresql-client"))?;
    if !out.status.success() {
        let err = crate::sources::clean(String::from_utf8_lossy(&out.stderr).trim());
        return Err(format!("pg_restore of {key} into {database} failed ({}): {err}", out.status));
    }
    Ok(Report::text(format!("restored {key} ({} bytes) into {database} on {leader}", bytes.len())).with([("dump_key", key)]))
}

pub async fn row_counts(ctx: &Ctx, database: &str, tables: &[String]) -> Result<Report, String> {
    valid_name(database)?;
    let (_, client, _) = leader_client(ctx, database).await?;
    let mut counts = Vec::new();
    for t in tables {
        valid_name(t)?;
        let row = client.query_one(&format!("select count(*) from \"{t}\""), &[]).await.map_err(|e| format!("{database}.{t}: {e}"))?;
        let n: i64 = row.get(0);
        if n == 0 {
            return Err(format!("{database}.{t} is empty after the restore"));
        }
        counts.push(format!("{t}={n}"));
    }
    Ok(Report::text(format!("{database}: {}", counts.join(", "))))
}
