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

    /// Stops every component; DIR goes too when the lab created it. Never hangs: a supervisor that
    /// does not stop within [`DOWN_GRACE`] is killed and `down` stops its components itself.
    pub fn down(&self) -> Result<(), LabError> {
        self.down_within(DOWN_GRACE)
    }

    /// `down` with another grace period for the supervisor's own orderly shutdown.
    pub fn down_within(&self, grace: Duration) -> Result<(), LabError> {
        let pid = self.info.supervisor_pid;
        // Taken before anything is signalled: after a kill its children are re-parented.
        let leftovers = Leftovers::of(&self.info, &self.dir);
        let remove_dir = made_temp_dir(pid);
        send(pid, libc::SIGTERM);
        let stopped = wait_gone(pid, grace);
        if !stopped {
            eprintln!(
                "lab: the supervisor (pid {pid}) did not stop within {}s; killing it and stopping its {} processes (see {}/logs/supervisor.log)",
                grace.as_secs(),
                leftovers.procs.len(),
                self.dir.display()
            );
            send(pid, libc::SIGKILL);
            wait_gone(pid, Duration::from_secs(5));
        }
        let survivors = leftovers.stop();
        if !stopped && remove_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
        if !survivors.is_empty() {
            return Err(LabError::Other(format!(
                "lab down: processes {survivors:?} survived SIGKILL; check `ps -o pid,user,stat,cmd -p {}`",
                survivors.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
            )));
        }
        // A zombie is dead; its parent (init, when `up` ran in another process) reaps it.
        if alive(pid) && !zombie(pid) {
            return Err(LabError::Other(format!("lab down: the supervisor (pid {pid}) survived SIGKILL")));
        }
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

/// How long `down` lets the supervisor stop everything itself before taking over.
pub const DOWN_GRACE: Duration = Duration::from_secs(15);

/// How long left-over components get between SIGTERM and SIGKILL.
const LEFTOVER_GRACE: Duration = Duration::from_secs(5);

/// Waits until `pid` is gone (reaping it if it is our child); false after `limit`.
fn wait_gone(pid: u32, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        reap(pid);
        if !alive(pid) {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Whether `down` should remove DIR: the supervisor was told to (`--remove-dir`, a temp dir of `up`).
fn made_temp_dir(pid: u32) -> bool {
    match std::fs::read(format!("/proc/{pid}/cmdline")) {
        Ok(cmdline) => cmdline.split(|b| *b == 0).any(|arg| arg == b"--remove-dir"),
        // Gone already: it removed its temp dir itself, or DIR is not a temp dir of `up`.
        Err(_) => false,
    }
}

/// The processes a lab started, identified by pid and start time so a recycled pid is never hit:
/// the supervisor's descendants, the pids of lab.json and the postmasters of the data dirs.
struct Leftovers {
    procs: Vec<(u32, u64)>,
}

impl Leftovers {
    fn of(info: &LabInfo, dir: &Path) -> Self {
        let table = process_table();
        let mut pids: Vec<u32> = descendants(&table, info.supervisor_pid);
        pids.extend(info.pids.values().copied().filter(|p| cmdline_mentions(*p, dir)));
        for member in &info.postgres.members {
            if let Some(postmaster) = super::postgres::postmaster_pid(&member.data_dir) {
                pids.push(postmaster);
                pids.extend(descendants(&table, postmaster));
            }
        }
        pids.sort_unstable();
        pids.dedup();
        pids.retain(|p| *p != info.supervisor_pid && *p != std::process::id());
        let procs = pids.into_iter().filter_map(|p| table.get(&p).map(|(_, started)| (p, *started))).collect();
        Self { procs }
    }

    /// SIGTERM, up to [`LEFTOVER_GRACE`], then SIGKILL; returns the pids that still run.
    fn stop(&self) -> Vec<u32> {
        let same = |(pid, started): &(u32, u64)| stat(*pid).is_some_and(|(_, s, state)| s == *started && state != 'Z');
        let running = |procs: &[(u32, u64)]| procs.iter().filter(|p| same(p)).copied().collect::<Vec<_>>();
        let targets = running(&self.procs);
        for (pid, _) in &targets {
            send(*pid, libc::SIGCONT);
            send(*pid, libc::SIGTERM);
        }
        let deadline = Instant::now() + LEFTOVER_GRACE;
        let mut left = running(&targets);
        while !left.is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
            left = running(&left);
        }
        for (pid, _) in &left {
            send(*pid, libc::SIGKILL);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while !left.is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
            left = running(&left);
        }
        // The dead are re-parented to init; give it a moment to reap them so /proc is clean.
        let exists = |(pid, started): &(u32, u64)| stat(*pid).is_some_and(|(_, s, _)| s == *started);
        let deadline = Instant::now() + Duration::from_secs(3);
        while targets.iter().any(exists) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        left.into_iter().map(|(pid, _)| pid).collect()
    }
}

/// pid -> (parent pid, start time) of every process.
fn process_table() -> std::collections::HashMap<u32, (u32, u64)> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Default::default() };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| stat(pid).map(|(parent, started, _)| (pid, (parent, started))))
        .collect()
}

/// (parent pid, start time in clock ticks, state) from /proc/PID/stat.
fn stat(pid: u32) -> Option<(u32, u64, char)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = text.rsplit_once(')')?.1.split_whitespace().collect();
    // After the command: state(3) ppid(4) ... starttime(22), counted from 1 over the whole line.
    Some((fields.get(1)?.parse().ok()?, fields.get(19)?.parse().ok()?, fields.first()?.chars().next()?))
}

fn zombie(pid: u32) -> bool {
    stat(pid).is_some_and(|(_, _, state)| state == 'Z')
}

fn descendants(table: &std::collections::HashMap<u32, (u32, u64)>, root: u32) -> Vec<u32> {
    let mut found = vec![];
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        for (pid, (ppid, _)) in table {
            if *ppid == parent && !found.contains(pid) {
                found.push(*pid);
                frontier.push(*pid);
            }
        }
    }
    found
}

/// Whether a process's command line names the lab dir (a lab.json pid not yet recycled).
fn cmdline_mentions(pid: u32, dir: &Path) -> bool {
    let want = dir.as_os_str().as_encoded_bytes();
    std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c.windows(want.len().max(1)).any(|w| w == want))
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
