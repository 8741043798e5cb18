//! The WAL archive is listed by its tail between full passes, judged by the S3 server's own
//! request log: moto (no lab), 2,500 archived segments, the console's backups collector as it
//! runs. The first reading lists them all; the next makes one LIST request for the archive and
//! sees the new segment, and one uploaded late (a parallel archiver) fills its gap. Every
//! reading says how many requests it made, and that is what moto logged.

use std::path::Path;
use std::time::{Duration, Instant};

use futures::StreamExt;
use sitrep::config::{self, Env, Overrides};
use sitrep::lab::info::{S3_ACCESS_KEY, S3_BUCKET, S3_REGION, S3_SECRET_KEY};
use sitrep::lab::process::Children;
use sitrep::lab::{ports, s3 as lab_s3, tools::Toolbox};
use sitrep::model::{BackupKind, BackupsSnapshot};
use sitrep::sources::backups::{Collector, KEEP_PER_KIND};

const SEGMENTS: u32 = 2_500;
/// Left out of the first upload, as a parallel archiver may land it after its successors.
const LATE: u32 = 2_400;

fn segment(n: u32) -> String {
    format!("wal_005/{:08X}{:08X}{:08X}.zst", 1, n / 256, n % 256)
}

/// moto's own count of LIST requests so far (its request log).
fn lists_logged(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("logs/moto.log")).unwrap_or_default().lines().filter(|l| l.contains("list-type=2")).count()
}

struct KillOnDrop(Children);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        self.0.signal("moto", libc::SIGKILL);
    }
}

fn only(all: &sitrep::model::BackupSources) -> &BackupsSnapshot {
    assert_eq!(all.sources.len(), 1);
    &all.sources[0]
}

#[test]
fn the_archive_is_read_by_its_tail_and_each_reading_counts_its_requests_as_the_server_logs_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    std::fs::create_dir_all(dir.join("logs")).expect("logs dir");
    let tools = Toolbox::find().expect("the lab's tools (scripts/install)");
    let port = ports::free_ports(1).expect("a free port")[0];
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a tokio runtime");
    rt.block_on(async {
        let children = Children::new(&dir.join("logs"));
        let _stop = KillOnDrop(children.clone());
        children.spawn(lab_s3::moto_spec(&tools, port)).expect("start moto");
        let deadline = Instant::now() + Duration::from_secs(20);
        while !ports::is_listening(port) {
            assert!(Instant::now() < deadline, "moto did not listen within 20 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let endpoint = format!("http://127.0.0.1:{port}");
        let s3 = lab_s3::client(&endpoint, None).expect("an S3 client");
        lab_s3::wait_and_create_bucket(&s3, Duration::from_secs(20)).await.expect("create the bucket");
        let started = Instant::now();
        futures::stream::iter((0..SEGMENTS).filter(|n| *n != LATE))
            .map(|n| {
                let s3 = s3.clone();
                async move { lab_s3::put(&s3, &segment(n), b"wal".to_vec()).await }
            })
            .buffer_unordered(16)
            .for_each(|r| async move { r.expect("put a segment") })
            .await;
        eprintln!("seeded {} segments in {:.1}s", SEGMENTS - 1, started.elapsed().as_secs_f64());

        let creds = dir.join("credentials");
        std::fs::write(&creds, format!("[default]\naws_access_key_id = {S3_ACCESS_KEY}\naws_secret_access_key = {S3_SECRET_KEY}\n"))
            .expect("write credentials");
        let file = dir.join("sitrep.toml");
        std::fs::write(
            &file,
            format!(
                "[s3]\nbucket = \"{S3_BUCKET}\"\nregion = \"{S3_REGION}\"\nendpoint = \"{endpoint}\"\nprofile = \"default\"\n\
                 credentials_file = \"{}\"\nforce_path_style = true\nlayout = \"files\"\nkinds = [\"wal\"]\n",
                creds.display()
            ),
        )
        .expect("write sitrep.toml");
        let c = config::resolve(Some(&file), &Env::default(), &Overrides::default()).expect("resolve");
        let mut collector = Collector::new(&c, Duration::from_secs(30));

        // First reading: every segment, one gap where the late one belongs, the newest few carried.
        let before = lists_logged(dir);
        let all = collector.read().await.expect("first reading");
        let first = only(&all);
        assert_eq!(first.total(BackupKind::Wal).count, (SEGMENTS - 1) as usize);
        assert!(first.of_kind(BackupKind::Wal).count() <= KEEP_PER_KIND, "the observation carries the newest, not 2,499 items");
        assert_eq!(first.wal_gaps, [(segment(LATE)[8..32].to_string(), segment(LATE)[8..32].to_string())]);
        let logged = lists_logged(dir) - before;
        assert_eq!(first.requests, Some(logged as u64), "moto logged {logged} LIST requests");
        assert!(logged >= 3, "2,499 keys are at least three pages: {logged}");

        // The late segment lands, and a new one after the newest: one LIST request sees both.
        lab_s3::put(&s3, &segment(LATE), b"wal".to_vec()).await.expect("put the late segment");
        lab_s3::put(&s3, &segment(SEGMENTS), b"wal".to_vec()).await.expect("put a new segment");
        let before = lists_logged(dir);
        let all = collector.read().await.expect("second reading");
        let next = only(&all);
        assert_eq!(lists_logged(dir) - before, 1, "the tail is one page");
        assert_eq!(next.requests, Some(1));
        assert_eq!(next.total(BackupKind::Wal).count, (SEGMENTS + 1) as usize);
        assert!(next.wal_gaps.is_empty(), "the late segment filled its gap: {:?}", next.wal_gaps);
        let newest = next.newest(BackupKind::Wal).map(|i| i.key.clone());
        assert_eq!(newest.as_deref(), Some(segment(SEGMENTS).as_str()));
        children.stop_all(&[], Duration::from_secs(3)).await;
    });
}
