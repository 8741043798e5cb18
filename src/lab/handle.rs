//! `Lab`: the handle the CLI, the demo and the tests hold. `up` starts the supervisor daemon
//! (`sitrep lab run`) and waits for DIR/lab.json; `down` stops it and everything it started.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use super::error::LabError;
use super::info::LabInfo;
use super::process::{alive, send, tail};

/// How to start a lab.
#[derive(Debug, Clone, Default)]
pub struct LabOptions {
    /// Where the lab lives; `None` = a fresh temp dir under /tmp, removed by `down`.
    pub dir: Option<PathBuf>,
    /// A scenario from `sitrep lab scenarios` to play once the lab is ready.
    pub scenario: Option<String>,
    /// Stop the lab when this process exits (tests pass `std::process::id()`).
    pub owner_pid: Option<u32>,
}

/// A running lab.
#[derive(Debug, Clone)]
pub struct Lab {
    pub dir: PathBuf,
    pub info: LabInfo,
}

/// Seconds a lab may take to become healthy before `up` gives up.
const UP_TIMEOUT: Duration = Duration::from_secs(120);

impl Lab {
    /// Starts a lab and returns once every component is healthy.
    ///
    /// The supervisor is the sitrep binary: `$SITREP_BIN`, else this executable when it is
    /// `sitrep`, else `sitrep` next to it or one level up (cargo's target/debug/deps layout).
    pub fn up(opts: LabOptions) -> Result<Lab, LabError> {
        if let Some(name) = &opts.scenario {
            super::scenarios::steps(name)?;
        }
        super::tools::postgres_user()?;
        super::tools::Toolbox::find()?;
        let bin = sitrep_binary()?;
        let (dir, temp) = match &opts.dir {
            Some(d) => (absolute(d)?, false),
            None => (fresh_temp_dir()?, true),
        };
        if let Some(pid) = super::supervisor::running_supervisor(&dir) {
            return Err(LabError::DirInUse { dir, pid });
        }
        let logs = dir.join("logs");
        std::fs::create_dir_all(&logs).map_err(LabError::io("cannot create", &logs))?;
        let _ = std::fs::remove_file(LabInfo::path(&dir));
        let log_path = logs.join("supervisor.log");
        let log = std::fs::File::create(&log_path).map_err(LabError::io("cannot create", &log_path))?;
        let err = log.try_clone().map_err(LabError::io("cannot open", &log_path))?;
        let mut cmd = std::process::Command::new(&bin);
        cmd.args(["lab", "run", "--dir"]).arg(&dir);
        if let Some(pid) = opts.owner_pid {
            cmd.args(["--owner-pid", &pid.to_string()]);
        }
        if let Some(s) = &opts.scenario {
            cmd.args(["--scenario", s]);
        }
        if temp {
            cmd.arg("--remove-dir");
        }
        cmd.stdin(Stdio::null()).stdout(log).stderr(err);
        use std::os::unix::process::CommandExt;
        // SAFETY: setsid is async-signal-safe; it detaches the daemon from our terminal and group.
        unsafe {
            cmd.pre_exec(|| {
                libc::setsid();
                Ok(())
            });
        }
        let mut child = cmd.spawn().map_err(|e| LabError::NoSitrepBinary { why: format!("{}: {e}", bin.display()) })?;
        let deadline = Instant::now() + UP_TIMEOUT;
        loop {
            if let Ok(Some(_)) = child.try_wait() {
                let tail = tail(&log_path, 30);
                if temp {
                    let _ = std::fs::remove_dir_all(&dir);
                }
                return Err(LabError::SupervisorDied { log: log_path.display().to_string(), tail });
            }
            if let Ok(info) = LabInfo::read(&dir)
                && info.supervisor_pid == child.id()
            {
                return Ok(Lab { dir, info });
            }
            if Instant::now() > deadline {
                send(child.id(), libc::SIGTERM);
                return Err(LabError::NotHealthy {
                    component: "lab".into(),
                    secs: UP_TIMEOUT.as_secs(),
                    why: tail(&log_path, 10),
                    log: log_path.display().to_string(),
                });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Reads DIR/lab.json of a running lab.
    pub fn attach(dir: &Path) -> Result<Lab, LabError> {
        let dir = absolute(dir)?;
        let info = LabInfo::read(&dir)?;
        if !alive(info.supervisor_pid) {
            return Err(LabError::NoLab { dir, why: format!("its supervisor (pid {}) is not running", info.supervisor_pid) });
        }
        Ok(Lab { dir, info })
    }

    /// Stops every component; DIR goes too when the lab created it.
    pub fn down(&self) -> Result<(), LabError> {
        let pid = self.info.supervisor_pid;
        send(pid, libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(60);
        while alive(pid) {
            reap(pid);
            if Instant::now() > deadline {
                send(pid, libc::SIGKILL);
                return Err(LabError::Other(format!(
                    "the lab supervisor (pid {pid}) did not stop within 60s and was killed; see {}/logs/supervisor.log",
                    self.dir.display()
                )));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        reap(pid);
        Ok(())
    }

    /// Injects a fault (see `sitrep lab fault --list`); returns once it is applied.
    pub fn fault(&self, name: &str) -> Result<(), LabError> {
        self.fault_detail(name).map(|_| ())
    }

    /// Like `fault`, returning what the supervisor did.
    pub fn fault_detail(&self, name: &str) -> Result<String, LabError> {
        super::faults::Fault::parse(name)?;
        super::control::request(&self.info, &format!("fault {name}"), Duration::from_secs(60))
    }

    /// DIR/sitrep.toml: the console's configuration for this lab.
    pub fn config_path(&self) -> PathBuf {
        self.dir.join("sitrep.toml")
    }
}

/// Reaps our own child if it became a zombie (no-op for a pid we did not start).
fn reap(pid: u32) {
    let mut status = 0;
    // SAFETY: waitpid with WNOHANG only inspects our own children.
    unsafe { libc::waitpid(pid as i32, &mut status, libc::WNOHANG) };
}

fn absolute(dir: &Path) -> Result<PathBuf, LabError> {
    std::path::absolute(dir).map_err(LabError::io("cannot resolve", dir))
}

fn fresh_temp_dir() -> Result<PathBuf, LabError> {
    let dir =
        tempfile::Builder::new().prefix("sitrep-lab-").tempdir_in("/tmp").map_err(LabError::io("cannot create a temp dir in", "/tmp"))?;
    Ok(dir.keep())
}

fn sitrep_binary() -> Result<PathBuf, LabError> {
    if let Some(bin) = std::env::var_os("SITREP_BIN") {
        return Ok(PathBuf::from(bin));
    }
    let exe = std::env::current_exe().map_err(|e| LabError::NoSitrepBinary { why: e.to_string() })?;
    if exe.file_name().is_some_and(|n| n == "sitrep") {
        return Ok(exe);
    }
    let near = exe.parent().into_iter().flat_map(|d| [d.join("sitrep"), d.join("../sitrep")]);
    near.into_iter()
        .find(|p| p.is_file())
        .ok_or_else(|| LabError::NoSitrepBinary { why: format!("{} is not sitrep and no sitrep binary is next to it", exe.display()) })
}
