//! The shared timeline (`[timeline] store = "postgres"`) against a real PostgreSQL 15 started in a
//! temp dir, reached through a loopback proxy the test can cut: two responders (two data dirs, two
//! processes each time) see each other's entries; a cut link loses and duplicates nothing; a
//! console shows another responder's note live; the schema is created, migrated and guarded.

#[path = "support/tmux.rs"]
mod tmux;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use tmux::Tmux;

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// A PostgreSQL server in a temp dir on a free loopback port, TLS only as a managed database is
/// (`hostssl` + scram, a certificate of a lab-made CA); stopped when the test binary ends.
struct TempPostgres {
    dir: tempfile::TempDir,
    port: u16,
    /// The CA its certificate is checked against, and the pgpass file with the password.
    ca: PathBuf,
    passfile: PathBuf,
}

const PASSWORD: &str = "shared-timeline-pw-5150";

fn as_postgres(program: &str) -> Command {
    // PostgreSQL refuses to run as root: run it as the `postgres` user then.
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--", program]);
        c
    } else {
        Command::new(program)
    }
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

impl TempPostgres {
    fn start() -> TempPostgres {
        let dir = tempfile::Builder::new().prefix("sitrep-shared-pg").tempdir().expect("tempdir");
        if is_root() {
            let ok = Command::new("chown").args(["-R", "postgres:postgres"]).arg(dir.path()).status().map(|s| s.success());
            assert_eq!(ok.ok(), Some(true), "chown the temp dir to postgres");
        }
        let data = dir.path().join("data");
        let pwfile = dir.path().join("pwfile");
        std::fs::write(&pwfile, PASSWORD).expect("write the password file");
        let _ = Command::new("chown").arg("postgres:postgres").arg(&pwfile).status();
        let init = as_postgres(&format!("{PG_BIN}/initdb"))
            .args(["-D"])
            .arg(&data)
            .args(["-A", "trust", "-U", "postgres", "--no-sync"])
            .arg(format!("--pwfile={}", pwfile.display()))
            .output()
            .expect("initdb (PostgreSQL 15 is on every machine of this kind)");
        assert!(init.status.success(), "initdb: {}", String::from_utf8_lossy(&init.stderr));
        // TCP only over TLS with scram; the socket (trust) is the test's own psql as postgres.
        std::fs::write(data.join("pg_hba.conf"), "local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\n").expect("pg_hba.conf");
        let user = sitrep::lab::tools::postgres_user().expect("the postgres user");
        let pki = sitrep::lab::pki::make(std::path::Path::new("openssl"), dir.path(), user).expect("a CA and a server certificate");
        let passfile = dir.path().join("pgpass");
        std::fs::write(&passfile, format!("127.0.0.1:*:*:postgres:{PASSWORD}\n")).expect("pgpass");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&passfile, std::fs::Permissions::from_mode(0o600)).expect("chmod pgpass");
        let port = free_port();
        let opts = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
            dir.path().display(),
            pki.server_cert.display(),
            pki.server_key.display()
        );
        let start = as_postgres(&format!("{PG_BIN}/pg_ctl"))
            .arg("-D")
            .arg(&data)
            .args(["-o", &opts, "-l"])
            .arg(dir.path().join("log"))
            .args(["-w", "start"])
            .output()
            .expect("pg_ctl start");
        assert!(start.status.success(), "pg_ctl start: {}", String::from_utf8_lossy(&start.stderr));
        TempPostgres { dir, port, ca: pki.ca_cert, passfile }
    }

    fn stop(&self) {
        let _ =
            as_postgres(&format!("{PG_BIN}/pg_ctl")).arg("-D").arg(self.dir.path().join("data")).args(["-m", "immediate", "stop"]).output();
    }

    fn psql(&self, sql: &str) -> String {
        let out = Command::new(format!("{PG_BIN}/psql"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "postgres", "-At", "-c", sql])
            .envs([("PGSSLMODE", "verify-full".into()), ("PGSSLROOTCERT", self.ca.clone()), ("PGPASSFILE", self.passfile.clone())])
            .output()
            .expect("psql");
        assert!(out.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

/// One server for the whole binary; each test uses its own schema, so they never see each other.
fn postgres() -> &'static TempPostgres {
    static PG: OnceLock<TempPostgres> = OnceLock::new();
    let pg = PG.get_or_init(TempPostgres::start);
    // A static is never dropped: stop the server when the test process exits.
    static HOOK: OnceLock<()> = OnceLock::new();
    HOOK.get_or_init(|| {
        extern "C" fn stop() {
            if let Some(pg) = PG.get() {
                pg.stop();
            }
        }
        // SAFETY: registers a plain function to run at exit; it only spawns pg_ctl.
        unsafe { atexit(stop) };
    });
    pg
}

unsafe extern "C" {
    fn atexit(f: extern "C" fn()) -> i32;
}

/// A loopback TCP proxy in front of the database that the test can cut (every connection
/// dropped, new ones refused) and restore — the flaky link between a jump box and the database.
struct Link {
    addr: String,
    up: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
}

impl Link {
    fn new(upstream: u16) -> Link {
        let listener = TcpListener::bind("127.0.0.1:0").expect("proxy bind");
        let addr = listener.local_addr().expect("proxy addr").to_string();
        let up = Arc::new(AtomicBool::new(true));
        let conns: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (up2, conns2) = (up.clone(), conns.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if !up2.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else { continue };
                if let Ok(mut list) = conns2.lock() {
                    list.extend([client.try_clone(), server.try_clone()].into_iter().flatten());
                }
                pipe(client.try_clone(), server.try_clone());
                pipe(server.try_clone(), client.try_clone());
            }
        });
        Link { addr, up, conns }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        if let Ok(mut list) = self.conns.lock() {
            for c in list.drain(..) {
                let _ = c.shutdown(Shutdown::Both);
            }
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

fn pipe(from: std::io::Result<TcpStream>, to: std::io::Result<TcpStream>) {
    let (Ok(mut from), Ok(mut to)) = (from, to) else { return };
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to.shutdown(Shutdown::Both);
    });
}

/// One responder: a data dir and a sitrep.toml pointing at the shared store through `link`.
struct Responder {
    _dir: tempfile::TempDir,
    data: PathBuf,
    config: PathBuf,
    name: &'static str,
}

impl Responder {
    fn new(name: &'static str, dsn: &str, schema: &str) -> Responder {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let config = dir.path().join("sitrep.toml");
        let text = format!(
            "[general]\ntimeout_secs = 2\n\n[kube]\nenabled = false\n\n[postgres]\nenabled = false\n\n[sentinel]\nenabled = false\n\n\
             [queues]\nenabled = false\n\n[s3]\nenabled = false\n\n[timeline]\nstore = \"postgres\"\ndsn = \"{dsn}\"\nschema = \"{schema}\"\n"
        );
        std::fs::write(&config, text).expect("config");
        Responder { _dir: dir, data, config, name }
    }

    fn sitrep(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_sitrep"))
            .args(args)
            .env("SITREP_CONFIG", &self.config)
            .env("SITREP_DATA_DIR", &self.data)
            .env("USER", self.name)
            .env_remove("NO_COLOR")
            .output()
            .expect("sitrep")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.sitrep(args);
        assert!(
            out.status.success(),
            "{} sitrep {args:?}: {}\n{}",
            self.name,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `sitrep note`: the id it printed, and what it said on stderr.
    fn note(&self, text: &str) -> (String, String) {
        let out = self.sitrep(&["note", text]);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{} note: {stdout}{stderr}", self.name);
        let id = stdout.trim().strip_prefix("saved ").unwrap_or_else(|| panic!("no `saved <id>`: {stdout}")).to_string();
        (id, stderr)
    }

    /// Entry ids in `incident show`, with whether each is marked unsynced.
    fn shown(&self) -> Vec<(String, bool)> {
        let out = self.sitrep(&["incident", "show"]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                let id = l.split('[').nth(1)?.split(']').next()?.to_string();
                Some((id, l.ends_with("(unsynced)")))
            })
            .collect()
    }
}

/// The store's DSN through `addr`: TLS checked with the host name, the password in a pgpass file.
fn dsn(addr: &str) -> String {
    let (host, port) = addr.rsplit_once(':').unwrap_or((addr, "5432"));
    let pg = postgres();
    format!(
        "host={host} port={port} user=postgres dbname=postgres sslmode=verify-full sslrootcert={} passfile={} connect_timeout=2",
        pg.ca.display(),
        pg.passfile.display()
    )
}

#[test]
fn two_responders_share_a_timeline_and_a_cut_link_loses_and_duplicates_nothing() {
    let pg = postgres();
    let link = Link::new(pg.port);
    let schema = "responders";
    let ana = Responder::new("ana", &dsn(&link.addr), schema);
    let bob = Responder::new("bob", &dsn(&link.addr), schema);

    let incident = ana.ok(&["incident", "open", "--sev", "P2", "checkout 502s"]).trim().to_string();
    // Bob has no incident open: his first note joins Ana's.
    let (b1, said) = bob.note("bob: api pods crashlooping since 03:02");
    assert!(said.contains(&format!("joined incident {incident}")), "{said}");
    let (a1, said) = ana.note("ana: rolled back api to revision 41");
    assert!(!said.contains("not shared"), "{said}");
    for who in [&ana, &bob] {
        let ids: Vec<String> = who.shown().into_iter().map(|(id, _)| id).collect();
        assert!(ids.contains(&a1) && ids.contains(&b1), "{} sees both: {ids:?}", who.name);
    }

    // The link drops: every note is still saved (and says it is not shared yet).
    link.cut();
    let mut offline = Vec::new();
    for i in 0..3 {
        for who in [&ana, &bob] {
            let (id, said) = who.note(&format!("{} offline note {i}", who.name));
            assert!(said.contains("not shared yet"), "{said}");
            offline.push(id);
        }
    }
    let unsynced: Vec<String> = ana.shown().into_iter().filter(|(_, u)| *u).map(|(id, _)| id).collect();
    assert_eq!(unsynced.len(), 3, "Ana's three offline notes are marked unsynced: {unsynced:?}");
    let refused = ana.sitrep(&["incident", "sync"]);
    assert!(!refused.status.success(), "sync with the link down exits 1");

    // The link returns: a sync from each side, then each sees everything exactly once.
    link.restore();
    ana.ok(&["incident", "sync"]);
    // Bob syncs from four processes at once (a console and a few shells on one jump box): each
    // pulls the same entries of Ana's, and the file's lock and ids keep them from landing twice.
    std::thread::scope(|scope| {
        let runs: Vec<_> = (0..4).map(|_| scope.spawn(|| bob.sitrep(&["incident", "sync"]))).collect();
        for run in runs {
            let out = run.join().expect("thread");
            assert!(out.status.success(), "bob sync: {}", String::from_utf8_lossy(&out.stderr));
        }
    });
    ana.ok(&["incident", "sync"]);
    let want: std::collections::BTreeSet<String> = [a1, b1].into_iter().chain(offline).collect();
    for who in [&ana, &bob] {
        let shown = who.shown();
        let ids: Vec<&String> = shown.iter().map(|(id, _)| id).collect();
        let unique: std::collections::BTreeSet<String> = ids.iter().map(|s| s.to_string()).collect();
        assert_eq!(ids.len(), unique.len(), "{} has a duplicate: {ids:?}", who.name);
        assert!(want.is_subset(&unique), "{} misses entries: want {want:?}, has {unique:?}", who.name);
        assert!(shown.iter().all(|(_, u)| !u), "{}: nothing is unsynced any more", who.name);
    }
    // 1 opened + 2 notes + 6 offline notes, each once in the database.
    let counts = pg.psql(&format!("SELECT count(*), count(DISTINCT id) FROM {schema}.entries WHERE incident = '{incident}'"));
    assert_eq!(counts, "9|9");
    // Syncing again (a retry of everything) changes nothing.
    bob.ok(&["incident", "sync"]);
    assert_eq!(pg.psql(&format!("SELECT count(*) FROM {schema}.entries")), "9");
}

#[test]
fn the_schema_is_created_once_under_concurrency_and_a_newer_one_is_refused() {
    let pg = postgres();
    let addr = format!("127.0.0.1:{}", pg.port);
    // Four processes create the schema at once: the advisory lock makes them take turns.
    let responders: Vec<Responder> = (0..4).map(|_| Responder::new("racer", &dsn(&addr), "racing")).collect();
    let handles: Vec<_> = responders
        .iter()
        .map(|r| {
            let (config, data) = (r.config.clone(), r.data.clone());
            std::thread::spawn(move || {
                Command::new(env!("CARGO_BIN_EXE_sitrep"))
                    .args(["incident", "list"])
                    .env("SITREP_CONFIG", config)
                    .env("SITREP_DATA_DIR", data)
                    .output()
                    .expect("sitrep")
            })
        })
        .collect();
    for h in handles {
        let out = h.join().expect("thread");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && !stderr.contains("not shared"), "{stderr}");
    }
    assert_eq!(pg.psql("SELECT value FROM racing.meta WHERE key = 'schema_version'"), sitrep::timeline::shared::SCHEMA_VERSION.to_string());

    // A database migrated by a newer sitrep is refused with what to do; the note is kept here.
    pg.psql("CREATE SCHEMA future; CREATE TABLE future.meta (key text PRIMARY KEY, value text NOT NULL); INSERT INTO future.meta VALUES ('schema_version', '99')");
    let r = Responder::new("ana", &dsn(&addr), "future");
    r.ok(&["incident", "open", "--sev", "P3", "from the future"]);
    let (_, said) = r.note("still saved here");
    assert!(said.contains("version 99") && said.contains("upgrade sitrep"), "{said}");
    assert!(r.shown().iter().all(|(_, unsynced)| *unsynced), "everything stays local and marked unsynced");
}

#[test]
fn a_console_shows_another_responders_note_live_and_survives_a_cut_link() {
    let pg = postgres();
    let link = Link::new(pg.port);
    let schema = "live";
    let ana = Responder::new("ana", &dsn(&link.addr), schema);
    let bob = Responder::new("bob", &dsn(&link.addr), schema);
    let incident = ana.ok(&["incident", "open", "--sev", "P1", "orders lost"]).trim().to_string();

    let cmd = format!(
        "SITREP_CONFIG={} SITREP_DATA_DIR={} USER=bob {} console --view wide",
        bob.config.display(),
        bob.data.display(),
        env!("CARGO_BIN_EXE_sitrep")
    );
    let tmux = Tmux::start("shared", 200, 60, &cmd, &[]);
    // Bob's console joins the open incident by itself.
    tmux.until("Bob's console joins Ana's incident", 30, |s| s.contains(&incident) && s.contains("shared ✓"));
    // Ana's note appears on Bob's screen, pushed by NOTIFY.
    let (_, said) = ana.note("ana: primary is down, failing over");
    assert!(!said.contains("not shared"), "{said}");
    let (_, latency) = tmux.until_timed("Ana's note on Bob's console", 10, |s| s.contains("ana@") && s.contains("primary is down"));
    eprintln!("measured: Ana's `sitrep note` returned → visible on Bob's console after {latency:?}");

    // The link drops: Bob's console says so, and a note typed there is kept and marked.
    link.cut();
    tmux.until("the offline badge", 20, |s| s.contains("shared OFFLINE"));
    tmux.keys(&["n"]);
    tmux.type_text("bob: typed while the link was down");
    tmux.keys(&["C-s"]);
    tmux.until("Bob's note marked unsynced", 20, |s| s.contains("typed while the link was down") && s.contains("⇡ unsynced"));

    // The link returns: the console pushes it by itself; Ana sees it once.
    link.restore();
    tmux.until("back online", 30, |s| s.contains("shared ✓") && !s.contains("⇡ unsynced"));
    let ana_sees = ana.ok(&["incident", "show"]);
    assert_eq!(ana_sees.matches("typed while the link was down").count(), 1, "{ana_sees}");

    // Ana opens a second incident: Bob's console says so and stays on the one it follows.
    let second = ana.ok(&["incident", "open", "--sev", "P3", "search slow"]).trim().to_string();
    tmux.until("the second incident announced", 10, |s| s.contains("another incident was opened by ana@") && s.contains(&second));
    let screen = tmux.until("Bob's console still on the first", 5, |s| s.contains(&incident));
    assert!(screen.lines().next().is_some_and(|top| top.contains(&incident)), "{screen}");
}
