//! The lab is made of real parts: read-only checks on ONE shared lab per test binary.
//! The lab starts on first use and stops by itself when this test process exits (owner pid).

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use sitrep::lab::Lab;

fn lab() -> &'static Lab {
    support::shared_lab()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime")
}

use support::sql;

/// (leader dsn, replica dsn), asked of Postgres itself.
async fn leader_and_replica(lab: &Lab) -> (String, String) {
    let mut leader = None;
    let mut replica = None;
    for m in &lab.info.postgres.members {
        let in_recovery: bool = sql(&m.dsn).await.query_one("SELECT pg_is_in_recovery()", &[]).await.expect("pg_is_in_recovery").get(0);
        if in_recovery { replica = Some(m.dsn.clone()) } else { leader = Some(m.dsn.clone()) }
    }
    (leader.expect("a primary"), replica.expect("a standby"))
}

/// The lab's S3 over HTTPS (its TLS front), trusted through the lab CA.
fn s3(lab: &Lab) -> aws_sdk_s3::Client {
    assert!(lab.info.s3.endpoint.starts_with("https://"), "the lab's S3 is served over TLS: {}", lab.info.s3.endpoint);
    sitrep::lab::s3::lab_client(&lab.info).expect("the lab's S3 client")
}

async fn keys(lab: &Lab, prefix: &str) -> Vec<String> {
    let out = s3(lab).list_objects_v2().bucket(&lab.info.s3.bucket).prefix(prefix).send().await.expect("ListObjectsV2");
    out.contents().iter().filter_map(|o| o.key().map(String::from)).collect()
}

async fn get(lab: &Lab, key: &str) -> Vec<u8> {
    let out = s3(lab).get_object().bucket(&lab.info.s3.bucket).key(key).send().await.expect("GetObject");
    out.body.collect().await.expect("object body").into_bytes().to_vec()
}

#[test]
fn a_row_written_on_the_leader_is_read_on_the_replica() {
    let lab = lab();
    runtime().block_on(async {
        let (leader, replica) = leader_and_replica(lab).await;
        let marker = uuid::Uuid::new_v4().to_string();
        let l = sql(&leader).await;
        l.batch_execute("CREATE TABLE IF NOT EXISTS replication_probe (marker text PRIMARY KEY)").await.expect("create probe table");
        l.execute("INSERT INTO replication_probe VALUES ($1)", &[&marker]).await.expect("insert on leader");
        let r = sql(&replica).await;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let found = r.query_opt("SELECT 1 FROM replication_probe WHERE marker = $1", &[&marker]).await.ok().flatten();
            if found.is_some() {
                break;
            }
            assert!(Instant::now() < deadline, "the row written on the leader never reached the replica");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let customers: i64 = r.query_one("SELECT count(*) FROM customers", &[]).await.expect("count").get(0);
        assert!(customers >= 10_000, "the replica has only {customers} customers");
    });
}

#[test]
fn every_sentinel_names_the_master() {
    let lab = lab();
    runtime().block_on(async {
        let mut answers = vec![];
        let settings = lab.info.redis_settings();
        for addr in lab.info.redis.sentinels.iter().chain(&lab.info.redis.sentinels_direct) {
            let mut con = settings.connect(addr, Duration::from_secs(5)).await.unwrap_or_else(|e| panic!("sentinel {addr}: {e}"));
            let (host, port): (String, String) = redis::cmd("SENTINEL")
                .arg("get-master-addr-by-name")
                .arg(&lab.info.redis.master_name)
                .query_async(&mut con)
                .await
                .unwrap_or_else(|e| panic!("SENTINEL get-master-addr-by-name on {addr}: {e}"));
            answers.push(format!("{host}:{port}"));
        }
        assert_eq!(answers.len(), 6);
        assert!(answers.iter().all(|a| *a == lab.info.redis.master), "sentinels disagree: {answers:?}");
    });
}

#[test]
fn the_bucket_holds_base_backups_wal_dumps_and_snapshots_in_wal_g_layout() {
    let lab = lab();
    runtime().block_on(async {
        let base = keys(lab, "basebackups_005/").await;
        let part = base
            .iter()
            .find(|k| k.ends_with("/tar_partitions/part_1.tar.zst"))
            .unwrap_or_else(|| panic!("no base backup part in {base:?}"));
        let name = part.trim_start_matches("basebackups_005/").split('/').next().unwrap_or("");
        assert!(name.starts_with("base_") && name.len() == 29, "bad base backup name {name}");
        let sentinel = format!("basebackups_005/{name}_backup_stop_sentinel.json");
        let sentinel: serde_json::Value = serde_json::from_slice(&get(lab, &sentinel).await).expect("sentinel json");
        for field in [
            "LSN",
            "FinishLSN",
            "PgVersion",
            "StartTime",
            "FinishTime",
            "UncompressedSize",
            "CompressedSize",
            "Hostname",
            "DataDir",
            "IsPermanent",
        ] {
            assert!(sentinel.get(field).is_some(), "stop sentinel lacks {field}: {sentinel}");
        }
        let tar = zstd::decode_all(get(lab, part).await.as_slice()).expect("part_1 is zstd");
        assert!(tar.windows(11).any(|w| w == b"PG_VERSION\0"), "part_1.tar.zst is not a data directory tar");

        let wal = keys(lab, "wal_005/").await;
        let segment = wal.iter().find(|k| k.len() == "wal_005/".len() + 24 + 4).unwrap_or_else(|| panic!("no WAL segment in {wal:?}"));
        assert_eq!(zstd::decode_all(get(lab, segment).await.as_slice()).expect("zstd").len(), 16 * 1024 * 1024);

        let dumps = keys(lab, "dumps/shop/").await;
        assert!(dumps.len() >= 5, "expected history + fresh dumps, got {dumps:?}");
        assert!(dumps.iter().all(|k| k.starts_with("dumps/shop/shop_") && k.ends_with("Z.dump")), "{dumps:?}");
        let snaps = keys(lab, "snapshots/qdrant/products/").await;
        assert!(snaps.iter().any(|k| k.ends_with(".snapshot")), "{snaps:?}");
    });
}

#[test]
fn a_dump_from_the_bucket_restores_the_shop_rows() {
    let lab = lab();
    runtime().block_on(async {
        let newest = keys(lab, "dumps/shop/").await.into_iter().max().expect("a dump");
        let file = lab.dir.join(format!("work/restore-{}.dump", uuid::Uuid::new_v4().simple()));
        std::fs::write(&file, get(lab, &newest).await).expect("write dump");
        let (leader, _) = leader_and_replica(lab).await;
        let db = format!("restore_{}", uuid::Uuid::new_v4().simple());
        let admin = sql(&leader.replace("dbname=shop", "dbname=postgres")).await;
        admin.batch_execute(&format!("CREATE DATABASE {db}")).await.expect("create restore db");
        let member = lab.info.postgres.members.iter().find(|m| m.dsn == leader).expect("leader member");
        let out = Command::new("/usr/lib/postgresql/15/bin/pg_restore")
            .args(["-h", "127.0.0.1", "-p", &member.port.to_string(), "-U", &lab.info.postgres.superuser, "-d", &db])
            .arg(&file)
            .envs(lab.info.libpq_env())
            .output()
            .expect("run pg_restore");
        assert!(out.status.success(), "pg_restore failed: {}", String::from_utf8_lossy(&out.stderr));
        let restored = sql(&leader.replace("dbname=shop", &format!("dbname={db}"))).await;
        for table in ["customers", "order_items"] {
            let n: i64 = restored.query_one(&format!("SELECT count(*) FROM {table}"), &[]).await.expect("count").get(0);
            let live: i64 = sql(&leader).await.query_one(&format!("SELECT count(*) FROM {table}"), &[]).await.expect("count").get(0);
            assert_eq!(n, live, "{table}: restored {n} rows, the live database has {live}");
        }
        drop(restored);
        let _ = admin.batch_execute(&format!("DROP DATABASE {db} WITH (FORCE)")).await;
        let _ = std::fs::remove_file(&file);
    });
}

#[test]
fn kubectl_lists_the_pods_of_the_stand_in() {
    let lab = lab();
    let out = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&lab.info.kube.kubeconfig)
        .args(["get", "pods", "--request-timeout=5s"])
        .output()
        .expect("run kubectl");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "kubectl failed: {}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("NAME") && stdout.contains("Running"), "no running pods listed:\n{stdout}");
}

/// The CA the lab's kubeconfig trusts (its certificate-authority-data), as PEM.
fn kube_ca(lab: &Lab) -> Vec<u8> {
    use base64::Engine;
    let config = kube::config::Kubeconfig::read_from(&lab.info.kube.kubeconfig).expect("read the lab's kubeconfig");
    let cluster = config.clusters.first().and_then(|c| c.cluster.as_ref()).expect("a cluster in the kubeconfig");
    let data = cluster.certificate_authority_data.as_deref().expect("certificate-authority-data in the kubeconfig");
    base64::engine::general_purpose::STANDARD.decode(data).expect("base64 CA data")
}

#[test]
fn the_stand_in_refuses_plain_http_and_answers_401_without_credentials() {
    let lab = lab();
    let https = lab.info.kube.server.clone();
    let address = https.strip_prefix("https://").expect("the lab's API is served over HTTPS");
    runtime().block_on(async {
        let plain = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().expect("client");
        let answer = plain.get(format!("http://{address}/api/v1/pods")).send().await;
        assert!(answer.is_err(), "plain HTTP must be refused, got {answer:?}");
        let ca = reqwest::Certificate::from_pem(&kube_ca(lab)).expect("CA PEM");
        let anonymous = reqwest::Client::builder().tls_certs_only([ca]).timeout(Duration::from_secs(5)).build().expect("client");
        let answer = anonymous.get(format!("{https}/api/v1/pods")).send().await.expect("HTTPS with the kubeconfig's CA");
        assert_eq!(answer.status(), reqwest::StatusCode::UNAUTHORIZED);
        let status: serde_json::Value = answer.json().await.expect("a Status object");
        assert_eq!(status["reason"], "Unauthorized");
    });
}

/// kombu's own report on the lab's queues (DIR/celery/labapp.py `sizes`, through the Sentinels).
fn kombu_sizes(lab: &Lab) -> serde_json::Value {
    let python = tools_venv().join("bin/python");
    let app = sitrep::lab::celery::app_dir(&lab.dir).join("labapp.py");
    let out = Command::new(&python).arg(&app).arg("sizes").output().unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    assert!(out.status.success(), "kombu cannot read the lab's queues: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("kombu's report is not JSON ({e})"))
}

fn total(kombu: &serde_json::Value, names: &[String]) -> u64 {
    names.iter().filter_map(|q| kombu[q]["size"].as_u64()).sum()
}

/// SIGSTOPs a process of the shared lab and SIGCONTs it when dropped, even when an assert fails.
struct Held(u32);

impl Held {
    fn stop(pid: u32) -> Held {
        // SAFETY: kill has no memory-safety preconditions.
        assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGSTOP) }, 0, "SIGSTOP {pid}");
        Held(pid)
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        // SAFETY: as above.
        unsafe { libc::kill(self.0 as i32, libc::SIGCONT) };
    }
}

#[test]
fn the_queues_pane_counts_what_kombu_counts_while_real_celery_runs() {
    let lab = lab();
    let names = &lab.info.queues.names;
    let pid = |name: &str| *lab.info.pids.get(name).unwrap_or_else(|| panic!("no {name} in lab.json: {:?}", lab.info.pids));
    let (producer, worker) = (pid(sitrep::lab::celery::PRODUCER), pid(sitrep::lab::celery::WORKER));
    // The worker is at work: kombu's count falls below what the producer put on at start.
    let deadline = Instant::now() + Duration::from_secs(60);
    while total(&kombu_sizes(lab), names) >= u64::from(sitrep::lab::celery::FILL) * 3 {
        assert!(Instant::now() < deadline, "the worker took nothing in 60 s: {}", kombu_sizes(lab));
        std::thread::sleep(Duration::from_millis(250));
    }
    // Hold the worker while the producer sends, so there is a backlog at every priority; then hold
    // the producer too, so kombu and sitrep read the same still queues.
    let held_worker = Held::stop(worker);
    let deadline = Instant::now() + Duration::from_secs(30);
    while total(&kombu_sizes(lab), names) < 40 {
        assert!(Instant::now() < deadline, "the producer sent fewer than 40 tasks in 30 s: {}", kombu_sizes(lab));
        std::thread::sleep(Duration::from_millis(250));
    }
    let held_producer = Held::stop(producer);
    std::thread::sleep(Duration::from_millis(300));
    let kombu = kombu_sizes(lab);
    // 300 columns: the queues pane (a third) has room for whole names beside the priorities.
    let out = Command::new(env!("CARGO_BIN_EXE_sitrep"))
        .arg("--config")
        .arg(lab.dir.join("sitrep.toml"))
        .args(["--snapshot", "--settle", "2", "--size", "300x60", "--view", "standard"])
        .env("NO_COLOR", "1")
        .output()
        .expect("sitrep runs");
    let frame = String::from_utf8_lossy(&out.stdout).to_string();
    let again = kombu_sizes(lab);
    drop((held_worker, held_producer));
    eprintln!("kombu: {kombu}\n{frame}");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(kombu, again, "the queues moved while both Celery processes were stopped");
    for queue in names {
        let start = format!("│{queue} ");
        let row = frame.lines().find_map(|l| l.find(&start).map(|i| &l[i..])).unwrap_or_else(|| panic!("no row for {queue}:\n{frame}"));
        let size = kombu[queue]["size"].as_u64().expect("kombu's _size");
        let steps: Vec<String> = ["0", "3", "6", "9"].iter().map(|p| format!("p{p} {}", kombu[queue]["lists"][p])).collect();
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cells.get(1).copied(), Some(size.to_string().as_str()), "{queue}: kombu's _size {size}, the pane's row: {row}");
        assert!(row.contains(&steps.join(" · ")), "{queue}: kombu's lists {steps:?}, the pane's row: {row}");
    }
    let unacked = kombu["unacked"].as_u64().expect("kombu's unacked");
    assert!(frame.contains(&format!("Queues · unacked {unacked}")), "kombu's unacked hash holds {unacked}:\n{frame}");
    // The worker is real: resumed, it drains the backlog (acking each task), the producer's steady
    // rate being below its pace.
    let deadline = Instant::now() + Duration::from_secs(60);
    let before = total(&kombu, names);
    while total(&kombu_sizes(lab), names) >= before {
        assert!(Instant::now() < deadline, "the worker did not drain below {before} in 60 s: {}", kombu_sizes(lab));
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The tools venv scripts/install makes: `$SITREP_TOOLS/venv`, else `~/.local/share/sitrep-tools/venv`.
fn tools_venv() -> std::path::PathBuf {
    let tools = std::env::var_os("SITREP_TOOLS").filter(|v| !v.is_empty()).map(std::path::PathBuf::from).unwrap_or_else(|| {
        let home = std::env::var_os("HOME").map(std::path::PathBuf::from).unwrap_or_default();
        home.join(".local/share/sitrep-tools")
    });
    tools.join("venv")
}

#[test]
fn sitrep_toml_uses_only_keys_of_the_example_config() {
    let lab = lab();
    let example: toml::Table = toml::from_str(include_str!("../docs/sitrep.example.toml")).expect("example parses");
    let ours: toml::Table =
        toml::from_str(&std::fs::read_to_string(lab.config_path()).expect("read sitrep.toml")).expect("sitrep.toml parses");
    for (section, table) in &ours {
        if section == "checks" {
            // An array of tables, documented in comments: each key is one of a check's.
            let keys = toml::Value::try_from(sitrep::config::CheckSpec::default()).expect("a check serializes");
            for check in table.as_array().expect("[[checks]] is an array") {
                for key in check.as_table().expect("each check is a table").keys() {
                    assert!(key == "name" || keys.get(key).is_some(), "unknown key checks.{key}");
                }
            }
            continue;
        }
        let known = example.get(section).and_then(|v| v.as_table()).unwrap_or_else(|| panic!("unknown section [{section}]"));
        for key in table.as_table().expect("sections are tables").keys() {
            assert!(known.contains_key(key), "unknown key {section}.{key}");
        }
    }
    assert_eq!(ours["postgres"]["members"].as_array().map(Vec::len), Some(2));
    assert_eq!(ours["s3"]["force_path_style"].as_bool(), Some(true));
    let creds = std::fs::read_to_string(ours["s3"]["credentials_file"].as_str().expect("credentials_file")).expect("read credentials");
    assert!(creds.contains("[sitrep-lab]") && creds.contains("AKIASITREPLAB0000001"));
}

#[test]
fn lab_status_reports_every_component_healthy() {
    let lab = lab();
    let out = Command::new(env!("CARGO_BIN_EXE_sitrep")).args(["lab", "status", "--dir"]).arg(&lab.dir).output().expect("run sitrep");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "lab status failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    for component in ["etcd", "pg-0", "pg-1", "patroni-pg-0", "redis-0", "sentinel-2", "s3", "kube"] {
        assert!(
            stdout.lines().any(|l| l.trim_start().starts_with(component) && l.contains("healthy")),
            "{component} not healthy:\n{stdout}"
        );
    }
}
