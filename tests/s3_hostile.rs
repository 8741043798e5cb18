//! Hostile S3 keys and S3 errors against a real S3 server (moto, started by this test on a free
//! port and killed when it ends): one crafted key never hides the other backups.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use sitrep::backends::s3;
use sitrep::model::BackupKind;

/// A moto server of this test's own; killed (by its pid) when dropped.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

fn moto() -> Moto {
    let port = free_port();
    let child = Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .env("MOTO_ALLOW_NONEXISTENT_REGION", "true")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("moto_server on PATH (pip install 'moto[server]')");
    Moto { child, endpoint: format!("http://127.0.0.1:{port}") }
}

fn client(endpoint: &str) -> aws_sdk_s3::Client {
    let creds = aws_sdk_s3::config::Credentials::new("testing", "testing", None, None, "test");
    let conf = aws_sdk_s3::config::Builder::new()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .credentials_provider(creds)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

async fn bucket(s3: &aws_sdk_s3::Client, name: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while let Err(e) = s3.create_bucket().bucket(name).send().await {
        assert!(Instant::now() < deadline, "moto did not answer: {}", aws_sdk_s3::error::DisplayErrorContext(&e));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn put(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) {
    s3.put_object().bucket(bucket).key(key).body(ByteStream::from(vec![7u8; 64])).send().await.expect("PutObject");
}

const PREFIXES: [(BackupKind, &str); 2] = [(BackupKind::Dump, "dumps/"), (BackupKind::Wal, "wal_005/")];

#[test]
fn a_key_with_escape_and_bell_is_not_counted_but_reported_sanitized_and_every_other_backup_still_shows() {
    let moto = moto();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let s3 = client(&moto.endpoint);
        bucket(&s3, "hostile-keys").await;
        put(&s3, "hostile-keys", "dumps/shop/shop_20261129T130501Z.dump").await;
        put(&s3, "hostile-keys", "dumps/shop/\u{1b}]0;owned\u{7}\u{1b}[2Jevil_20261129T130502Z.dump").await;
        put(&s3, "hostile-keys", "dumps/shop/shop 100%_20261129T130503Z.dump").await;
        put(&s3, "hostile-keys", "wal_005/000000010000000000000003.zst").await;
        let snap = s3::inventory(&s3, "hostile-keys", &PREFIXES).await.unwrap_or_else(|e| panic!("the listing failed: {e}"));
        let dumps: Vec<&str> = snap.of_kind(BackupKind::Dump).map(|i| i.key.as_str()).collect();
        assert_eq!(dumps.len(), 2, "{dumps:?}");
        assert!(dumps.contains(&"dumps/shop/shop_20261129T130501Z.dump"), "{dumps:?}");
        assert!(dumps.contains(&"dumps/shop/shop 100%_20261129T130503Z.dump"), "percent and space decoded: {dumps:?}");
        // The hostile key is no backup (it could pass off as the newest one and hide a gap): it is
        // reported as not counted, sanitized, and no control byte reaches the model.
        let (count, first) = snap.refused.clone().unwrap_or_else(|| panic!("the hostile key is not reported: {snap:?}"));
        assert_eq!(count, 1);
        assert!(first.ends_with("evil_20261129T130502Z.dump") && !first.chars().any(char::is_control), "{first:?}");
        assert_eq!(snap.of_kind(BackupKind::Wal).count(), 1);
    });
}

#[test]
fn s3_errors_keep_the_servers_code_the_bucket_and_a_fix() {
    let moto = moto();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let s3 = client(&moto.endpoint);
        bucket(&s3, "exists").await;
        let err = s3::inventory(&s3, "no-such-bucket", &PREFIXES).await.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("NoSuchBucket"), "{err}");
        assert!(err.contains("s3://no-such-bucket/dumps/"), "{err}");
        assert!(err.contains("check [s3] bucket"), "{err}");
        assert!(!err.contains("unhandled error"), "{err}");
        let err = s3::get(&s3, "exists", "dumps/gone.dump").await.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("NoSuchKey") && err.contains("s3://exists/dumps/gone.dump"), "{err}");
    });
}
