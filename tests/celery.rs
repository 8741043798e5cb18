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
