//! The console in a real terminal, read as a user reads it: a private tmux server (-L) per use, so
//! a test never touches the user's sessions nor they it; killed when the value is dropped.
//! Included with `#[path = "support/tmux.rs"] mod tmux;` by the test binaries that drive a console.
#![allow(dead_code)] // each test binary uses a part of it

use std::process::Command;
use std::time::{Duration, Instant};

pub struct Tmux {
    socket: String,
    session: String,
}

impl Tmux {
    /// Runs the shell command line `cmd` in a `cols`x`rows` session; `env` is set for it.
    pub fn start(name: &str, cols: u16, rows: u16, cmd: &str, env: &[(&str, &str)]) -> Tmux {
        let session = format!("sitrep-{name}-{}", std::process::id());
        let socket = session.clone();
        let (cols, rows) = (cols.to_string(), rows.to_string());
        let mut new = Command::new("tmux");
        new.args(["-L", &socket, "new-session", "-d", "-s", &session, "-x", &cols, "-y", &rows, cmd]).envs(env.iter().copied());
        run(&mut new);
        Tmux { socket, session }
    }

    /// The visible pane as text; fails loudly when tmux cannot capture it (e.g. the session ended).
    pub fn screen(&self) -> String {
        run(Command::new("tmux").args(["-L", &self.socket, "capture-pane", "-p", "-t", &self.session]))
    }

    /// Sends keys as tmux names them (`Enter`, `C-s`, `Escape`) or as strings; a key tmux refuses
    /// fails here, not as a later timeout.
    pub fn keys(&self, keys: &[&str]) {
        run(Command::new("tmux").args(["-L", &self.socket, "send-keys", "-t", &self.session]).args(keys));
    }

    /// Types `text` literally (no key names).
    pub fn type_text(&self, text: &str) {
        self.keys(&["-l", text]);
    }

    /// Waits until `pred` holds for the screen; fails with the last screen.
    pub fn until(&self, what: &str, secs: u64, pred: impl Fn(&str) -> bool) -> String {
        self.until_timed(what, secs, pred).0
    }

    /// Like [`Tmux::until`], also returning how long it took (polled every 50 ms).
    pub fn until_timed(&self, what: &str, secs: u64, pred: impl Fn(&str) -> bool) -> (String, Duration) {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if pred(&s) {
                return (s, start.elapsed());
            }
            assert!(start.elapsed() < Duration::from_secs(secs), "{what} within {secs}s; screen:\n{s}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Runs one tmux command and returns its stdout; panics with the command line, its exit status and
/// tmux's own words when tmux cannot be started or refuses the command.
fn run(cmd: &mut Command) -> String {
    let line = format!("{cmd:?}");
    let out = match cmd.output() {
        Ok(out) => out,
        Err(e) => panic!("cannot run {line}: {e} (scripts/install installs tmux)"),
    };
    assert!(out.status.success(), "tmux refused {line}: {}; stderr: {}", out.status, String::from_utf8_lossy(&out.stderr).trim());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux").args(["-L", &self.socket, "kill-server"]).status();
    }
}
