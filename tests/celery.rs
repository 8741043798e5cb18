//! Real Celery against sitrep's queue collector: tasks sent by `celery` (tools venv) at mixed
//! priorities, and a queue key that is not a list, read by sitrep and judged against kombu's own count.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sitrep::backends::redis::{QueueReader, QueueSettings, SentinelSettings};

/// Sends the tasks and prints kombu's view of every queue as JSON. kombu's own names and
/// counts: `_q_for_pri` for each list, `_size` for the queue (its error when it cannot read it).
const PRODUCER: &str = r#"
import json, sys
from celery import Celery

app = Celery("sitrep_test", broker=sys.argv[1])
plan = {"celery": [(0, 40), (3, 10), (6, 30), (9, 20)], "emails": [(5, 7)]}
for queue, steps in plan.items():
    for priority, count in steps:
        for _ in range(count):
            app.send_task("t", queue=queue, priority=priority)

with app.connection() as conn:
    ch = conn.default_channel
    ch.client.set("reports", "not a list")
    out = {}
    for queue in ["celery", "emails", "reports"]:
        row = {}
        try:
            row["size"] = ch._size(queue)
            row["lists"] = {str(p): ch.client.llen(ch._q_for_pri(queue, p)) for p in ch.priority_steps}
            row["keys"] = [ch._q_for_pri(queue, p) for p in ch.priority_steps]
        except Exception as e:
            row["error"] = str(e)
        out[queue] = row
print(json.dumps(out))
"#;

fn tools_python() -> PathBuf {
    let tools = std::env::var_os("SITREP_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into())).join(".local/share/sitrep-tools"));
    tools.join("venv/bin/python")
}

/// A throwaway redis-server on a free loopback port, stopped when dropped.
struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    fn start(dir: &Path) -> Redis {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port");
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server (apt install redis-server) starts");
        let redis = Redis { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not listen on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the producer with the tools venv's Celery and returns kombu's report.
fn send_tasks(dir: &Path, url: &str) -> serde_json::Value {
    let python = tools_python();
    assert!(python.exists(), "{} is missing: run scripts/install (it installs celery[redis])", python.display());
    let script = dir.join("produce.py");
    std::fs::write(&script, PRODUCER).expect("write the producer");
    let out = Command::new(&python).arg(&script).arg(url).output().expect("python runs");
    assert!(out.status.success(), "the Celery producer failed: {}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("kombu reports: {stdout}");
    serde_json::from_str(stdout.trim()).expect("kombu's report is JSON")
}

#[test]
fn sitreps_depth_of_real_celery_queues_equals_kombus_and_a_wrong_typed_key_stays_on_its_row() {
    let dir = tempfile::tempdir().expect("tempdir");
    let redis = Redis::start(dir.path());
    let kombu = send_tasks(dir.path(), &redis.url());
    // kombu names its lists as sitrep reads them.
    assert_eq!(kombu["celery"]["keys"][2], "celery\u{6}\u{16}6", "{kombu}");

    let names: Vec<String> = ["celery", "emails", "reports"].map(String::from).to_vec();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let mut reader = QueueReader::new(
        &QueueSettings { url: redis.url(), ..QueueSettings::default() },
        &names,
        &SentinelSettings::default(),
        Duration::from_secs(5),
    );
    let snap = runtime.block_on(reader.read()).expect("the queues read even with a wrong-typed key beside them");
    eprintln!("sitrep reads: {snap:?}");

    for queue in ["celery", "emails"] {
        let row = snap.queues.iter().find(|r| r.name == queue).expect("a row per queue");
        assert_eq!(Some(row.depth), kombu[queue]["size"].as_u64(), "{queue}: sitrep {row:?}, kombu {}", kombu[queue]);
        for step in &row.priorities {
            assert_eq!(Some(step.depth), kombu[queue]["lists"][step.priority.to_string()].as_u64(), "{queue} p{}", step.priority);
        }
    }
    let celery = snap.queues.iter().find(|r| r.name == "celery").map(|r| (r.depth, r.priorities_text()));
    assert_eq!(celery, Some((100, "p0 40 · p3 10 · p6 30 · p9 20".to_string())));
    // Priority 5 is kombu's step 3 (bisect over 0/3/6/9).
    let emails = snap.queues.iter().find(|r| r.name == "emails").map(|r| r.priorities_text());
    assert_eq!(emails.as_deref(), Some("p0 0 · p3 7 · p6 0 · p9 0"));

    let reports = snap.queues.iter().find(|r| r.name == "reports").expect("the wrong-typed queue keeps its row");
    assert_eq!(reports.known_depth(), None);
    let error = reports.error.clone().unwrap_or_default();
    assert!(kombu["reports"]["error"].as_str().is_some_and(|e| e.contains("WRONGTYPE")), "{kombu}");
    assert!(error.starts_with("WRONGTYPE Operation against a key") && error.contains("`reports` is not a list"), "{error}");
    assert_eq!(snap.unacked, Some(0));
}

#[test]
fn the_headless_console_shows_real_celery_queues_by_priority_and_the_unreadable_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let redis = Redis::start(dir.path());
    let kombu = send_tasks(dir.path(), &redis.url());
    let config = dir.path().join("sitrep.toml");
    let text = format!("[kube]\nenabled = false\n\n[queues]\nurl = \"{}\"\nnames = [\"celery\", \"emails\", \"reports\"]\n", redis.url());
    std::fs::write(&config, text).expect("write the config");
    let snapshot = |size: &str, view: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_sitrep"))
            .arg("--config")
            .arg(&config)
            .args(["--snapshot", "--settle", "2", "--size", size, "--view", view])
            .env("NO_COLOR", "1")
            .output()
            .expect("sitrep runs");
        let frame = String::from_utf8_lossy(&out.stdout).to_string();
        eprintln!("{frame}");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        frame
    };
    let frame = snapshot("140x40", "standard");
    let line = |name: &str| frame.lines().find(|l| l.contains(&format!("│{name} "))).unwrap_or("");
    let celery = line("celery");
    let size = kombu["celery"]["size"].as_u64().unwrap_or(0).to_string();
    assert!(celery.contains(&format!(" {size} ")) && celery.contains("p0 40 · p3 10 · p6 30 · p9 20"), "{celery}\n{frame}");
    assert!(line("reports").contains("WRONGTYPE"), "{frame}");
    // The summary strip counts the readable queues and says one is not.
    let frame = snapshot("80x24", "compact");
    assert!(frame.contains("107 queued · deepest celery 100 · 1 unreadable"), "{frame}");
}

#[path = "support/certs.rs"]
mod certs;

/// Children killed when the test ends, passed or failed.
struct Children(Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

fn wait_listening(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The lab's Celery app (src/lab/celery_lab.py, as `sitrep lab` writes it) is one broker.json away
/// from TLS and ACL logins: TLS-only Redis and Sentinel, no default user, and the producer and
/// kombu's count work through them with `ca_file` and the two logins set.
#[test]
fn the_labs_celery_app_talks_tls_and_acl_logins_when_broker_json_names_them() {
    use sitrep::lab::celery::{BrokerEndpoint, CeleryPlan};
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    certs::make_ca(d, "ca");
    certs::make_cert(d, "server", "127.0.0.1");
    let tls = |port: u16| {
        format!(
            "port 0\ntls-port {port}\nbind 127.0.0.1\ntls-cert-file {0}/server.crt\ntls-key-file {0}/server.key\n\
             tls-ca-cert-file {0}/ca.crt\ntls-auth-clients no\ntls-replication yes\nprotected-mode no\n",
            d.display()
        )
    };
    let (master, sentinel) = (free_port(), free_port());
    let master_conf = format!(
        "{}save \"\"\nappendonly no\ndir {}\nuser default off\nuser celery on >celery-pw ~* &* +@all\nuser watcher on >watcher-pw allchannels +@all\n",
        tls(master),
        d.display()
    );
    let sentinel_conf = format!(
        "{}dir {}\nuser default off\nuser sentinel-admin on >sentinel-pw allchannels +@all\n\
         sentinel monitor mymaster 127.0.0.1 {master} 1\nsentinel auth-user mymaster watcher\nsentinel auth-pass mymaster watcher-pw\n",
        tls(sentinel),
        d.display()
    );
    std::fs::write(d.join("master.conf"), master_conf).expect("master.conf");
    std::fs::write(d.join("sentinel.conf"), sentinel_conf).expect("sentinel.conf");
    let quiet = |c: &mut Command| c.stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("redis starts");
    let mut children = Children(vec![quiet(Command::new("redis-server").arg(d.join("master.conf")))]);
    wait_listening(master);
    children.0.push(quiet(Command::new("redis-sentinel").arg(d.join("sentinel.conf"))));
    wait_listening(sentinel);

    let python = tools_python();
    let celery = python.with_file_name("celery");
    let lab_dir = d.join("lab");
    std::fs::create_dir_all(lab_dir.join("faults")).expect("faults dir");
    let plan = CeleryPlan::new(&lab_dir, &python, &celery);
    let broker = BrokerEndpoint {
        sentinels: vec![format!("127.0.0.1:{sentinel}")],
        master_name: "mymaster".into(),
        username: Some("celery".into()),
        password: Some("celery-pw".into()),
        sentinel_username: Some("sentinel-admin".into()),
        sentinel_password: Some("sentinel-pw".into()),
        ca_file: Some(d.join("ca.crt")),
    };
    plan.write(&broker).expect("write the app");
    let spec = plan.producer_spec();
    let log = std::fs::File::create(d.join("producer.log")).expect("log");
    let producer =
        Command::new(&spec.program).args(&spec.args).envs(spec.env.clone()).stdout(log.try_clone().expect("log")).stderr(log).spawn();
    children.0.push(producer.expect("the producer starts"));
    let ready = plan.dir.join("filled");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready.exists() {
        let log = std::fs::read_to_string(d.join("producer.log")).unwrap_or_default();
        assert!(Instant::now() < deadline, "the producer sent nothing over TLS in 60 s:\n{log}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let out = Command::new(&python).arg(plan.dir.join("labapp.py")).arg("sizes").output().expect("sizes");
    assert!(out.status.success(), "kombu over TLS: {}", String::from_utf8_lossy(&out.stderr));
    let sizes: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    eprintln!("kombu over TLS with ACL logins: {sizes}");
    for queue in ["celery", "emails", "reports"] {
        assert!(sizes[queue]["size"].as_u64() >= Some(u64::from(sitrep::lab::celery::FILL)), "{queue}: {sizes}");
    }
}
