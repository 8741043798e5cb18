//! Celery traffic on the Redis master, by real Celery from the tools venv: the lab writes a small
//! Celery app (DIR/celery/labapp.py), runs its producer and a `celery worker` as child processes.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::error::LabError;
use super::process::ProcessSpec;

/// The lab's Celery app: tasks for the three queues, the producer and kombu's own count (`sizes`).
const APP: &str = include_str!("celery_lab.py");

/// Tasks per second per queue at multiplier 1, in `QUEUE_NAMES` order.
pub const BASE_RATES: [u32; 3] = [4, 2, 1];
/// Each task sleeps this long; the worker's `WORKER_THREADS` take up to 40 tasks a second, in turn
/// from each queue (kombu rotates them), so even the busiest queue (4 a second) drains on a loaded
/// machine, where Celery's own time per task (measured: up to 50 ms at load 10 on 2 cores) adds to it.
pub const TASK_SECONDS: f64 = 0.05;
/// Threads of the one worker (`--pool threads`); each holds one message in kombu's `unacked` hash.
pub const WORKER_THREADS: u32 = 2;
/// Tasks put on each queue before the lab is ready, so the console has depth to show at once.
pub const FILL: u32 = 40;
/// `queue-flood` multiplies the producer's rate by this.
pub const FLOOD: u32 = 100;

pub const PRODUCER: &str = "celery-producer";
pub const WORKER: &str = "celery-worker";

/// Where Celery finds the broker: the Sentinels, the master's name, logins and TLS.
/// Written as DIR/celery/broker.json; `celery_lab.py` builds the `sentinel://` URL from it.
#[derive(Debug, Clone, Serialize, Default)]
pub struct BrokerEndpoint {
    pub sentinels: Vec<String>,
    pub master_name: String,
    /// The master's ACL login (`sentinel://user:password@…`).
    pub username: Option<String>,
    pub password: Option<String>,
    /// The Sentinels' own login (`sentinel_kwargs`).
    pub sentinel_username: Option<String>,
    pub sentinel_password: Option<String>,
    /// A CA bundle: TLS to the Sentinels (`sentinel_kwargs` ssl) and the master (`broker_use_ssl`).
    pub ca_file: Option<PathBuf>,
}

#[derive(Serialize)]
struct BrokerFile<'a> {
    #[serde(flatten)]
    broker: &'a BrokerEndpoint,
    task_seconds: f64,
    base_rates: [u32; 3],
}

/// The lab's Celery: its directory, the venv's programs and the control file for the rate.
#[derive(Debug, Clone)]
pub struct CeleryPlan {
    pub dir: PathBuf,
    pub python: PathBuf,
    pub celery: PathBuf,
    /// The supervisor writes the producer's rate multiplier here (see `set_multiplier`).
    pub rate_file: PathBuf,
}

impl CeleryPlan {
    pub fn new(lab_dir: &Path, python: &Path, celery: &Path) -> CeleryPlan {
        CeleryPlan {
            dir: app_dir(lab_dir),
            python: python.to_path_buf(),
            celery: celery.to_path_buf(),
            rate_file: lab_dir.join("faults/queue-rate"),
        }
    }

    /// Writes labapp.py, broker.json and the rate file (multiplier 1).
    pub fn write(&self, broker: &BrokerEndpoint) -> Result<(), LabError> {
        std::fs::create_dir_all(&self.dir).map_err(LabError::io("cannot create", &self.dir))?;
        let app = self.dir.join("labapp.py");
        std::fs::write(&app, APP).map_err(LabError::io("cannot write", &app))?;
        let file = BrokerFile { broker, task_seconds: TASK_SECONDS, base_rates: BASE_RATES };
        let text = serde_json::to_string_pretty(&file).map_err(|e| LabError::Other(e.to_string()))?;
        let path = self.dir.join("broker.json");
        std::fs::write(&path, text).map_err(LabError::io("cannot write", &path))?;
        super::supervisor::set_mode(&path, 0o600);
        let _ = std::fs::remove_file(self.ready_file());
        self.set_multiplier(1)
    }

    /// The producer reads this every tenth of a second (`queue-flood`: `FLOOD`, `heal`: 1).
    pub fn set_multiplier(&self, multiplier: u32) -> Result<(), LabError> {
        let tmp = self.rate_file.with_extension("tmp");
        std::fs::write(&tmp, format!("{multiplier}\n")).map_err(LabError::io("cannot write", &tmp))?;
        std::fs::rename(&tmp, &self.rate_file).map_err(LabError::io("cannot write", &self.rate_file))
    }

    fn ready_file(&self) -> PathBuf {
        self.dir.join("filled")
    }

    fn env(&self) -> Vec<(String, String)> {
        vec![("PYTHONUNBUFFERED".into(), "1".into()), ("PYTHONDONTWRITEBYTECODE".into(), "1".into())]
    }

    pub fn producer_spec(&self) -> ProcessSpec {
        let args = vec![
            self.dir.join("labapp.py").display().to_string(),
            "produce".into(),
            self.rate_file.display().to_string(),
            FILL.to_string(),
            self.ready_file().display().to_string(),
        ];
        ProcessSpec { name: PRODUCER.into(), program: self.python.clone(), args, env: self.env(), run_as: None }
    }

    /// One worker on all three queues, acking late, one message per thread.
    pub fn worker_spec(&self) -> ProcessSpec {
        let queues = super::info::QUEUE_NAMES.join(",");
        let args = [
            "--workdir",
            &self.dir.display().to_string(),
            "-A",
            "labapp",
            "worker",
            "-Q",
            &queues,
            "--pool",
            "threads",
            "--concurrency",
            &WORKER_THREADS.to_string(),
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel",
            "WARNING",
            "-n",
            "lab-worker@%h",
        ]
        .map(String::from)
        .to_vec();
        ProcessSpec { name: WORKER.into(), program: self.celery.clone(), args, env: self.env(), run_as: None }
    }

    /// Waits until the producer has put its first tasks on every queue.
    pub async fn wait_filled(&self, running: impl Fn() -> bool, timeout: Duration, log: &Path) -> Result<(), LabError> {
        let deadline = Instant::now() + timeout;
        while !self.ready_file().exists() {
            let why = if !running() {
                "the producer exited"
            } else if Instant::now() > deadline {
                "no tasks sent"
            } else {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            };
            return Err(LabError::NotHealthy {
                component: "Celery producer".into(),
                secs: timeout.as_secs(),
                why: format!("{why}: {}", super::process::tail(log, 5)),
                log: log.display().to_string(),
            });
        }
        Ok(())
    }
}

/// DIR/celery: the app, its broker.json and the producer's marker.
pub fn app_dir(lab_dir: &Path) -> PathBuf {
    lab_dir.join("celery")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_json_carries_what_the_app_reads() {
        let dir = tempfile::tempdir().expect("tempdir");
        let plan = CeleryPlan::new(dir.path(), Path::new("/venv/bin/python"), Path::new("/venv/bin/celery"));
        std::fs::create_dir_all(dir.path().join("faults")).expect("faults dir");
        let broker = BrokerEndpoint { sentinels: vec!["127.0.0.1:1".into()], master_name: "mymaster".into(), ..Default::default() };
        plan.write(&broker).expect("write");
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(plan.dir.join("broker.json")).expect("read")).expect("json");
        for key in ["sentinels", "master_name", "username", "password", "sentinel_username", "sentinel_password", "ca_file"] {
            assert!(json.get(key).is_some() && APP.contains(&format!("\"{key}\"")), "{key}: {json}");
        }
        assert_eq!(json["base_rates"], serde_json::json!([4, 2, 1]));
        plan.set_multiplier(FLOOD).expect("flood");
        assert_eq!(std::fs::read_to_string(&plan.rate_file).expect("rate").trim(), "100");
    }
}
