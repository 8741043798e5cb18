//! The terminal must be usable after sitrep goes away for any reason: SIGTERM, SIGHUP (an SSH
//! drop) or a panic. Runs the real binary in a pseudo-terminal and checks the tty modes after.

use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Pty {
    master: OwnedFd,
    slave: OwnedFd,
}

fn open_pty() -> Pty {
    let mut master = -1;
    let mut slave = -1;
    let size = libc::winsize { ws_row: 24, ws_col: 80, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: openpty writes two fds into the given pointers; the size struct outlives the call.
    let rc = unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), &size) };
    assert_eq!(rc, 0, "openpty failed");
    // SAFETY: both fds were just returned by openpty and are owned by nobody else.
    unsafe { Pty { master: OwnedFd::from_raw_fd(master), slave: OwnedFd::from_raw_fd(slave) } }
}

fn lflag(fd: &OwnedFd) -> libc::tcflag_t {
    // SAFETY: termios is plain data; tcgetattr fills it for a valid tty fd.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    assert_eq!(unsafe { libc::tcgetattr(fd.as_raw_fd(), &mut t) }, 0, "tcgetattr");
    t.c_lflag
}

fn config_with_no_sources(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("sitrep.toml");
    std::fs::write(&path, "[kube]\nenabled = false\n[postgres]\nenabled = false\n[sentinel]\nenabled = false\n[queues]\nenabled = false\n[s3]\nenabled = false\n")
        .expect("write config");
    path
}

/// Starts sitrep on the pty's slave side as its controlling terminal, waits until it is drawing
/// in raw mode, then does `stop` to it and returns everything it wrote.
fn run_and_stop(
    stop: impl FnOnce(u32, &mut std::fs::File),
    extra_env: &[(&str, &str)],
) -> (String, libc::tcflag_t, libc::tcflag_t, std::process::ExitStatus) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config_with_no_sources(dir.path());
    let pty = open_pty();
    let before = lflag(&pty.slave);
    let slave_raw = pty.slave.as_raw_fd();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sitrep"));
    cmd.arg("--config").arg(&config).env("TERM", "xterm-256color").env("SITREP_LOG_DIR", dir.path()).env_remove("NO_COLOR");
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let fd = |f: &OwnedFd| Stdio::from(f.try_clone().expect("dup"));
    cmd.stdin(fd(&pty.slave)).stdout(fd(&pty.slave)).stderr(fd(&pty.slave));
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(move || {
            libc::setsid();
            libc::ioctl(slave_raw, libc::TIOCSCTTY, 0);
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("spawn sitrep");
    let mut reader = std::fs::File::from(pty.master.try_clone().expect("dup master"));
    // Non-blocking reads so the test never hangs on a quiet pty.
    unsafe { libc::fcntl(reader.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) };
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut buf = [0u8; 8192];
    // Wait until it is in raw mode and has drawn its top bar.
    while Instant::now() < deadline {
        if let Ok(n) = reader.read(&mut buf) {
            out.extend_from_slice(&buf[..n]);
        }
        let raw = lflag(&pty.slave) & libc::ICANON == 0;
        if raw && String::from_utf8_lossy(&out).contains("sitrep") {
            break;
        }
        if matches!(child.try_wait(), Ok(Some(_))) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let during = lflag(&pty.slave);
    stop(child.id(), &mut reader);
    let status = loop {
        if let Ok(n) = reader.read(&mut buf) {
            out.extend_from_slice(&buf[..n]);
        }
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(Instant::now() < deadline, "sitrep did not exit");
        std::thread::sleep(Duration::from_millis(50));
    };
    std::thread::sleep(Duration::from_millis(100));
    while let Ok(n) = reader.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    let after = lflag(&pty.slave);
    // A panicking run may already have restored the tty by now; its alternate-screen switch proves it drew.
    let entered = during & libc::ICANON == 0 || String::from_utf8_lossy(&out).contains("\u{1b}[?1049h");
    assert!(entered, "sitrep never took over the terminal; output: {}", String::from_utf8_lossy(&out));
    assert_ne!(before & libc::ICANON, 0, "the pty started in canonical mode");
    (String::from_utf8_lossy(&out).into_owned(), before, after, status)
}

fn assert_restored(out: &str, before: libc::tcflag_t, after: libc::tcflag_t) {
    assert_eq!(
        after & (libc::ICANON | libc::ECHO | libc::ISIG),
        before & (libc::ICANON | libc::ECHO | libc::ISIG),
        "tty modes not restored"
    );
    assert!(out.contains("\u{1b}[?1049l"), "alternate screen not left");
    assert!(out.contains("\u{1b}[?25h"), "cursor not shown again");
}

#[test]
fn sigterm_while_drawing_leaves_the_terminal_usable() {
    let (out, before, after, status) =
        run_and_stop(|pid, _| unsafe { libc::kill(pid as i32, libc::SIGTERM) }.eq(&0).then_some(()).expect("kill"), &[]);
    assert_restored(&out, before, after);
    assert!(status.success(), "{status:?}");
}

#[test]
fn sighup_like_an_ssh_drop_leaves_the_terminal_usable() {
    let (out, before, after, _status) =
        run_and_stop(|pid, _| unsafe { libc::kill(pid as i32, libc::SIGHUP) }.eq(&0).then_some(()).expect("kill"), &[]);
    assert_restored(&out, before, after);
}

#[test]
fn quitting_with_q_restores_the_terminal() {
    let (out, before, after, status) = run_and_stop(
        |_, master| {
            use std::io::Write;
            master.write_all(b"q").expect("type q");
        },
        &[],
    );
    assert_restored(&out, before, after);
    assert!(status.success());
}

#[test]
fn a_panic_restores_the_terminal() {
    let (out, before, after, status) = run_and_stop(|_, _| {}, &[("SITREP_TEST_PANIC", "1")]);
    assert_restored(&out, before, after);
    assert!(!status.success(), "a panic must not exit 0");
}
