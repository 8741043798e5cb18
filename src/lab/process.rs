//! The lab's child processes: started in their own process group with logs in DIR/logs,
//! reaped as soon as they exit, stopped gently then firmly, and restartable by `heal`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::error::LabError;
use super::tools::PostgresUser;

/// How to start one component.
#[derive(Debug, Clone)]
pub struct ProcessSpec {
    pub name: String,
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub run_as: Option<PostgresUser>,
}

struct Running {
    spec: ProcessSpec,
    pid: u32,
    exited: Arc<AtomicBool>,
}

/// Every process the supervisor started, by component name.
#[derive(Clone, Default)]
pub struct Children {
    inner: Arc<Mutex<BTreeMap<String, Running>>>,
    logs: Arc<Mutex<PathBuf>>,
}

impl Children {
    pub fn new(log_dir: &Path) -> Children {
        Children { inner: Arc::default(), logs: Arc::new(Mutex::new(log_dir.to_path_buf())) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Running>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn log_path(&self, name: &str) -> PathBuf {
        self.logs.lock().unwrap_or_else(|p| p.into_inner()).join(format!("{name}.log"))
    }

    /// Starts a component; its stdout and stderr go to DIR/logs/NAME.log.
    pub fn spawn(&self, spec: ProcessSpec) -> Result<u32, LabError> {
        let log = self.log_path(&spec.name);
        let out = std::fs::OpenOptions::new().create(true).append(true).open(&log).map_err(LabError::io("cannot open log", &log))?;
        let err = out.try_clone().map_err(LabError::io("cannot open log", &log))?;
        let mut cmd = tokio::process::Command::new(&spec.program);
        cmd.args(&spec.args).envs(spec.env.iter().cloned()).stdin(Stdio::null()).stdout(out).stderr(err).process_group(0);
        if let Some(user) = spec.run_as {
            cmd.uid(user.uid).gid(user.gid);
            // SAFETY: setgroups is async-signal-safe; drops root's supplementary groups before exec.
            unsafe {
                cmd.pre_exec(|| {
                    libc::setgroups(0, std::ptr::null());
                    Ok(())
                });
            }
        }
        let mut child =
            cmd.spawn().map_err(|e| LabError::Other(format!("cannot start {} ({}): {e}", spec.name, spec.program.display())))?;
        let pid = child.id().ok_or_else(|| LabError::Other(format!("{} exited at once; see {}", spec.name, log.display())))?;
        let exited = Arc::new(AtomicBool::new(false));
        let flag = exited.clone();
        tokio::spawn(async move {
            let _ = child.wait().await;
            flag.store(true, Ordering::SeqCst);
        });
        self.lock().insert(spec.name.clone(), Running { spec, pid, exited });
        Ok(pid)
    }

    pub fn pid(&self, name: &str) -> Option<u32> {
        self.lock().get(name).map(|r| r.pid)
    }

    pub fn is_running(&self, name: &str) -> bool {
        self.lock().get(name).is_some_and(|r| !r.exited.load(Ordering::SeqCst))
    }

    pub fn pids(&self) -> BTreeMap<String, u32> {
        self.lock().iter().map(|(n, r)| (n.clone(), r.pid)).collect()
    }

    /// Starts a stopped component again with the spec it was first started with.
    pub fn restart(&self, name: &str) -> Result<u32, LabError> {
        let spec = self.lock().get(name).map(|r| r.spec.clone()).ok_or_else(|| LabError::Other(format!("no component {name}")))?;
        self.spawn(spec)
    }

    /// Sends a signal to the component's whole process group.
    pub fn signal(&self, name: &str, sig: i32) -> bool {
        match self.pid(name) {
            // SAFETY: kill has no memory-safety preconditions.
            Some(pid) if self.is_running(name) => unsafe { libc::kill(-(pid as i32), sig) == 0 },
            _ => false,
        }
    }

    /// SIGTERM, wait up to `grace`, then SIGKILL the process group.
    pub async fn stop(&self, name: &str, grace: Duration) {
        if !self.signal(name, libc::SIGTERM) {
            return;
        }
        let deadline = Instant::now() + grace;
        while self.is_running(name) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if self.is_running(name) {
            self.signal(name, libc::SIGKILL);
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        while self.is_running(name) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops everything still running, in `first` order then the rest.
    pub async fn stop_all(&self, first: &[&str], grace: Duration) {
        for name in first {
            self.stop(name, grace).await;
        }
        let rest: Vec<String> = self.lock().keys().cloned().collect();
        let stops = rest.iter().map(|n| self.stop(n, Duration::from_secs(3)));
        futures::future::join_all(stops).await;
    }
}

/// True while a process with this pid exists.
pub fn alive(pid: u32) -> bool {
    // SAFETY: signal 0 only checks for existence.
    pid > 0 && unsafe { libc::kill(pid as i32, 0) == 0 || *libc::__errno_location() == libc::EPERM }
}

/// Sends a signal to one pid; false when it is gone.
pub fn send(pid: u32, sig: i32) -> bool {
    // SAFETY: kill has no memory-safety preconditions.
    pid > 0 && unsafe { libc::kill(pid as i32, sig) == 0 }
}

/// The last `n` lines of a log file, for error messages.
pub fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
