//! The lab's S3: moto's server mode with the bucket `sitrep-lab-backups`, and everything that
//! writes into it in wal-g's layout: base backups, archived WAL, pg_dump dumps, Qdrant snapshots.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use chrono::{DateTime, Utc};

use super::error::LabError;
use super::info::{S3_ACCESS_KEY, S3_BUCKET, S3_REGION, S3_SECRET_KEY};
use super::process::ProcessSpec;
use super::tools::Toolbox;

pub const DUMP_PREFIX: &str = "dumps/shop/";
/// Key timestamps, as sitrep reads them back: `shop_20240101T120000Z.dump`.
pub const DUMP_TIME_FORMAT: &str = "%Y%m%dT%H%M%SZ";

pub fn moto_spec(tools: &Toolbox, port: u16) -> ProcessSpec {
    ProcessSpec {
        name: "moto".into(),
        program: tools.moto_server.clone(),
        args: vec!["-H".into(), "127.0.0.1".into(), "-p".into(), port.to_string()],
        env: vec![("MOTO_ALLOW_NONEXISTENT_REGION".into(), "true".into())],
        run_as: None,
    }
}

/// An S3 client for the lab's endpoint with the lab's fixed credentials; an https endpoint is
/// trusted through `ca` (the lab CA) with the HTTPS client of `backends::s3`.
pub fn client(endpoint: &str, ca: Option<&Path>) -> Result<Client, LabError> {
    let creds = aws_sdk_s3::config::Credentials::new(S3_ACCESS_KEY, S3_SECRET_KEY, None, None, "sitrep-lab");
    let mut config = aws_sdk_s3::config::Builder::new()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new(S3_REGION))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .credentials_provider(creds);
    if let Some(ca) = ca {
        let path = ca.display().to_string();
        let bundle = crate::backends::s3::CaBundle { path: &path, setting: "the lab CA" };
        config = config.http_client(crate::backends::s3::https_client(bundle).map_err(|e| LabError::Other(e.to_string()))?);
    }
    Ok(Client::from_conf(config.build()))
}

/// The client of a running lab's S3 (its TLS front, trusted through the lab CA).
pub fn lab_client(info: &super::LabInfo) -> Result<Client, LabError> {
    client(&info.s3.endpoint, Some(&info.s3.ca_file))
}

/// socat terminating TLS with the lab's certificate on `tls_port` and forwarding to moto on
/// `moto_port`: the one S3 endpoint of the lab (moto's own port is not published).
pub fn tls_front_spec(pki: &super::pki::LabPki, tls_port: u16, moto_port: u16) -> Result<ProcessSpec, LabError> {
    let listen = format!(
        "OPENSSL-LISTEN:{tls_port},bind=127.0.0.1,reuseaddr,fork,cert={},key={},verify=0",
        pki.server_cert.display(),
        pki.server_key.display()
    );
    Ok(ProcessSpec {
        name: "s3-tls".into(),
        program: super::tools::on_path("socat", "socat")?,
        args: vec![listen, format!("TCP:127.0.0.1:{moto_port}")],
        env: vec![],
        run_as: None,
    })
}

fn s3_err(what: &str) -> impl FnOnce(String) -> LabError + '_ {
    move |e| LabError::Other(format!("S3 {what}: {e}"))
}

/// Waits for moto to answer, then creates the bucket.
pub async fn wait_and_create_bucket(s3: &Client, timeout: Duration) -> Result<(), LabError> {
    let deadline = Instant::now() + timeout;
    loop {
        match s3.create_bucket().bucket(S3_BUCKET).send().await {
            Ok(_) => return Ok(()),
            Err(e) if Instant::now() > deadline => {
                return Err(LabError::NotHealthy {
                    component: "moto (S3)".into(),
                    secs: timeout.as_secs(),
                    why: format!("{}", aws_sdk_s3::error::DisplayErrorContext(&e)),
                    log: "logs/moto.log".into(),
                });
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

pub async fn put(s3: &Client, key: &str, body: Vec<u8>) -> Result<(), LabError> {
    s3.put_object()
        .bucket(S3_BUCKET)
        .key(key)
        .body(ByteStream::from(body))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| s3_err(key)(aws_sdk_s3::error::DisplayErrorContext(&e).to_string()))
}

/// All keys under a prefix.
pub async fn list(s3: &Client, prefix: &str) -> Result<Vec<String>, LabError> {
    let mut keys = vec![];
    let mut pages = s3.list_objects_v2().bucket(S3_BUCKET).prefix(prefix).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| s3_err("list")(aws_sdk_s3::error::DisplayErrorContext(&e).to_string()))?;
        keys.extend(page.contents().iter().filter_map(|o| o.key().map(String::from)));
    }
    Ok(keys)
}

/// `sitrep lab wal-push`: compress one WAL segment with zstd and upload it to wal_005/.
/// Fails (so pg_stat_archiver counts it) while DIR/faults/archive-broken exists.
pub async fn wal_push(dir: &Path, endpoint: &str, segment: &Path) -> Result<(), LabError> {
    if dir.join("faults/archive-broken").exists() {
        return Err(LabError::Other(format!(
            "archiving disabled by the lab fault pg-archive-broken ({}); run `sitrep lab heal --dir {}`",
            dir.join("faults/archive-broken").display(),
            dir.display()
        )));
    }
    let raw = std::fs::read(segment).map_err(LabError::io("cannot read WAL segment", segment))?;
    let packed = zstd::encode_all(raw.as_slice(), 1).map_err(LabError::io("cannot compress", segment))?;
    let name =
        segment.file_name().and_then(|n| n.to_str()).ok_or_else(|| LabError::Other(format!("bad WAL path {}", segment.display())))?;
    let ca = super::pki::LabPki::of(dir).ca_cert;
    let tls = endpoint.starts_with("https://").then_some(ca.as_path());
    put(&client(endpoint, tls)?, &format!("wal_005/{name}.zst"), packed).await
}

/// A WAL file name (timeline, LSN) as wal-g names base backups: 24 hex digits.
pub fn wal_file_name(timeline: u32, lsn: u64) -> String {
    let seg = lsn / (16 * 1024 * 1024);
    format!("{timeline:08X}{:08X}{:08X}", seg / 256, seg % 256)
}

/// Parses "0/3000028" into a number.
pub fn parse_lsn(text: &str) -> Option<u64> {
    let (hi, lo) = text.trim().split_once('/')?;
    Some((u64::from_str_radix(hi, 16).ok()? << 32) | u64::from_str_radix(lo, 16).ok()?)
}

/// Takes a base backup of `port` with pg_basebackup (tar, client-side zstd) and uploads it
/// as basebackups_005/base_<WAL>/tar_partitions/part_1.tar.zst with its stop sentinel.
pub async fn base_backup(
    s3: &Client,
    tools: &Toolbox,
    port: u16,
    libpq_env: &[(String, String)],
    work: &Path,
    data_dir: &Path,
) -> Result<String, LabError> {
    let out_dir = work.join("basebackup");
    let _ = std::fs::remove_dir_all(&out_dir);
    let start_time = Utc::now();
    let output = tokio::process::Command::new(&tools.pg_basebackup)
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", super::postgres::SUPERUSER, "-D"])
        .arg(&out_dir)
        .args(["-Ft", "-X", "fetch", "--compress=client-zstd", "--checkpoint=fast", "-v", "--no-manifest"])
        .envs(libpq_env.iter().cloned())
        .output()
        .await
        .map_err(|e| LabError::Other(format!("cannot run pg_basebackup: {e}")))?;
    let log = String::from_utf8_lossy(&output.stderr).to_string();
    if !output.status.success() {
        return Err(LabError::Other(format!("pg_basebackup failed: {log}")));
    }
    let lsn_after =
        |marker: &str| log.lines().find_map(|l| l.split_once(marker).map(|(_, r)| r.split_whitespace().next().unwrap_or("").to_string()));
    let start = lsn_after("write-ahead log start point: ").and_then(|s| parse_lsn(&s)).unwrap_or(0);
    let timeline: u32 = log.lines().find_map(|l| l.split_once(" on timeline ").and_then(|(_, t)| t.trim().parse().ok())).unwrap_or(1);
    let finish = lsn_after("write-ahead log end point: ").and_then(|s| parse_lsn(&s)).unwrap_or(start);
    let part = std::fs::read(out_dir.join("base.tar.zst")).map_err(LabError::io("cannot read", out_dir.join("base.tar.zst")))?;
    let name = format!("base_{}", wal_file_name(timeline, start));
    let compressed = part.len();
    let uncompressed = zstd::decode_all(part.as_slice()).map(|v| v.len()).unwrap_or(0);
    put(s3, &format!("basebackups_005/{name}/tar_partitions/part_1.tar.zst"), part).await?;
    if let Ok(wal) = std::fs::read(out_dir.join("pg_wal.tar.zst")) {
        put(s3, &format!("basebackups_005/{name}/tar_partitions/pg_wal.tar.zst"), wal).await?;
    }
    let sentinel = serde_json::json!({
        "LSN": start, "FinishLSN": finish, "PgVersion": 150000 + 20,
        "StartTime": start_time, "FinishTime": Utc::now(),
        "UncompressedSize": uncompressed, "CompressedSize": compressed,
        "Hostname": "sitrep-lab", "DataDir": data_dir, "IsPermanent": false,
    });
    put(s3, &format!("basebackups_005/{name}_backup_stop_sentinel.json"), sentinel.to_string().into_bytes()).await?;
    let _ = std::fs::remove_dir_all(&out_dir);
    Ok(name)
}

/// Runs pg_dump -Fc of `shop` into a file and returns its bytes.
pub async fn pg_dump(tools: &Toolbox, port: u16, libpq_env: &[(String, String)], work: &Path) -> Result<Vec<u8>, LabError> {
    let file: PathBuf = work.join("shop.dump");
    let output = tokio::process::Command::new(&tools.pg_dump)
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", super::postgres::SUPERUSER, "-Fc", "-d", "shop", "-f"])
        .arg(&file)
        .envs(libpq_env.iter().cloned())
        .output()
        .await
        .map_err(|e| LabError::Other(format!("cannot run pg_dump: {e}")))?;
    if !output.status.success() {
        return Err(LabError::Other(format!("pg_dump failed: {}", String::from_utf8_lossy(&output.stderr))));
    }
    let bytes = std::fs::read(&file).map_err(LabError::io("cannot read", &file))?;
    let _ = std::fs::remove_file(&file);
    Ok(bytes)
}

pub fn dump_key(at: DateTime<Utc>) -> String {
    format!("{DUMP_PREFIX}shop_{}.dump", at.format(DUMP_TIME_FORMAT))
}

/// The time written in a dump key, if it has one.
pub fn dump_time(key: &str) -> Option<DateTime<Utc>> {
    let stamp = key.strip_prefix(DUMP_PREFIX)?.strip_prefix("shop_")?.strip_suffix(".dump")?;
    chrono::NaiveDateTime::parse_from_str(stamp, DUMP_TIME_FORMAT).ok().map(|t| t.and_utc())
}

/// Uploads the dump under "now" and, at start, under older times too (S3 cannot backdate objects).
pub async fn upload_dump(s3: &Client, dump: Vec<u8>, history: bool) -> Result<String, LabError> {
    let now = Utc::now();
    if history {
        for hours in [26, 25, 2, 1] {
            put(s3, &dump_key(now - chrono::Duration::hours(hours)), dump.clone()).await?;
        }
    }
    let key = dump_key(now);
    put(s3, &key, dump).await?;
    Ok(key)
}

/// Seeds Qdrant-style collection snapshots (the seeds restore them with /snapshots/recover).
pub async fn seed_snapshots(s3: &Client) -> Result<(), LabError> {
    let now = Utc::now();
    for (n, hours) in [(1u32, 24i64), (2, 12), (3, 1)] {
        let at = now - chrono::Duration::hours(hours);
        let key = format!("snapshots/qdrant/products/products-{n}-{}.snapshot", at.format("%Y-%m-%d-%H-%M-%S"));
        let body = format!("qdrant snapshot of collection products #{n}\n").repeat(2048).into_bytes();
        put(s3, &key, body).await?;
    }
    Ok(())
}

/// Deletes every dump newer than `rpo` so the newest is older than the RPO; returns how many.
pub async fn delete_recent_dumps(s3: &Client, rpo: Duration) -> Result<usize, LabError> {
    let cutoff = Utc::now() - chrono::Duration::from_std(rpo).unwrap_or_default();
    let mut deleted = 0;
    for key in list(s3, DUMP_PREFIX).await? {
        if dump_time(&key).is_some_and(|t| t > cutoff) {
            s3.delete_object()
                .bucket(S3_BUCKET)
                .key(&key)
                .send()
                .await
                .map_err(|e| s3_err("delete")(aws_sdk_s3::error::DisplayErrorContext(&e).to_string()))?;
            deleted += 1;
        }
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_backup_names_follow_the_wal_file_of_the_start_lsn() {
        assert_eq!(wal_file_name(1, parse_lsn("0/3000028").unwrap_or(0)), "000000010000000000000003");
        assert_eq!(wal_file_name(2, parse_lsn("1/A2000000").unwrap_or(0)), "0000000200000001000000A2");
    }

    #[test]
    fn dump_keys_carry_their_time() {
        let at = chrono::NaiveDate::from_ymd_opt(2024, 5, 1).and_then(|d| d.and_hms_opt(12, 30, 0)).map(|t| t.and_utc());
        let at = at.expect("valid date");
        assert_eq!(dump_key(at), "dumps/shop/shop_20240501T123000Z.dump");
        assert_eq!(dump_time(&dump_key(at)), Some(at));
    }
}
