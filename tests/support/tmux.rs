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
        let ok = Command::new("tmux")
            .args(["-L", &socket, "new-session", "-d", "-s", &session, "-x", &cols.to_string(), "-y", &rows.to_string(), cmd])
            .envs(env.iter().copied())
            .status()
            .expect("tmux (scripts/install installs it)");
        assert!(ok.success(), "tmux new-session failed");
        Tmux { socket, session }
    }

    pub fn screen(&self) -> String {
        let out =
            Command::new("tmux").args(["-L", &self.socket, "capture-pane", "-p", "-t", &self.session]).output().expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Sends keys as tmux names them (`Enter`, `C-s`, `Escape`) or as strings.
    pub fn keys(&self, keys: &[&str]) {
        let _ = Command::new("tmux").args(["-L", &self.socket, "send-keys", "-t", &self.session]).args(keys).status();
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

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux").args(["-L", &self.socket, "kill-server"]).status();
    }
}
