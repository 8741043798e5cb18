//! Redis and Sentinel over TLS against real TLS-only servers (`--port 0 --tls-port`, as managed
//! Redis is run): a CA made here, an ACL user, a server that requires client certificates, and
//! a Sentinel with its own password naming a TLS master; each common mistake gives its message.

use sitrep::backends::redis::{
    Node, QueueReader, QueueSettings, RedisTls, SentinelSettings, SettingKeys, Target, connect_to, sentinel_snapshot,
};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

#[path = "support/certs.rs"]
mod certs;
use certs::{make_ca, make_cert};

const MASTER_PW: &str = "Lab-Redis-Def4ult-Pw";
const APP_PW: &str = "Lab-Redis-App-S3cret";
const SENTINEL_PW: &str = "Lab-Sentinel-Own-Pw-5";
const WATCHER_PW: &str = "Lab-Sentinel-Watcher-Pw";
const WRONG: &str = "Not-The-Redis-Pw-9";
const T: Duration = Duration::from_secs(10);
const QUEUE: &str = "tls-celery";
const QUEUED: usize = 7;

/// The servers of this binary, started once, stopped when the test process exits.
struct TlsRedis {
    dir: tempfile::TempDir,
    /// TLS only, client certificates optional; `default` has MASTER_PW, `app` has APP_PW.
    data: u16,
    /// TLS only, client certificates required.
    mtls: u16,
    /// A Sentinel on TLS with its own password, monitoring `data` over TLS as `app`.
    sentinel: u16,
}

impl TlsRedis {
    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn tls(&self, ca: &str) -> RedisTls {
        RedisTls { ca_file: Some(self.file(ca)), ..RedisTls::default() }
    }

    fn client_tls(&self) -> RedisTls {
        RedisTls { cert_file: Some(self.file("client.crt")), key_file: Some(self.file("client.key")), ..self.tls("ca.crt") }
    }
}

static CHILDREN: Mutex<Vec<std::process::Child>> = Mutex::new(Vec::new());

unsafe extern "C" {
    fn atexit(f: extern "C" fn()) -> i32;
}

extern "C" fn stop_all() {
    if let Ok(mut children) = CHILDREN.lock() {
        for child in children.iter_mut() {
            // SIGTERM to `timeout`, which passes it on to the server; then reaped.
            let _ = Command::new("kill").arg(child.id().to_string()).status();
            let _ = child.wait();
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// Starts `program` with `args` (bounded by `timeout` should this process die without atexit).
fn spawn(dir: &Path, program: &str, args: &[String], log: &str) {
    let log = std::fs::File::create(dir.join(log)).expect("log file");
    let child = Command::new("timeout")
        .arg("900")
        .arg(program)
        .args(args)
        .current_dir(dir)
        .stdout(log.try_clone().expect("log file"))
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("{program} (Debian's redis 7 is built with TLS): {e}"));
    CHILDREN.lock().expect("children").push(child);
}

fn wait_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not listen on {port} within 30s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn tls_args(port: u16) -> Vec<String> {
    ["--port", "0", "--tls-port", &port.to_string(), "--tls-cert-file", "server.crt", "--tls-key-file", "server.key"]
        .into_iter()
        .chain(["--tls-ca-cert-file", "ca.crt", "--save", "", "--appendonly", "no"])
        .map(String::from)
        .collect()
}

fn start() -> TlsRedis {
    let dir = tempfile::Builder::new().prefix("sitrep-tls-redis").tempdir().expect("tempdir");
    let d = dir.path();
    make_ca(d, "ca");
    make_ca(d, "other-ca");
    make_cert(d, "server", "localhost");
    make_cert(d, "client", "sitrep");
    // SAFETY: registers a plain function to run at exit; it only stops and reaps our children.
    unsafe { atexit(stop_all) };
    let (data, mtls, sentinel) = (free_port(), free_port(), free_port());
    let mut args = tls_args(data);
    args.extend(["--tls-auth-clients", "optional", "--requirepass", MASTER_PW].map(String::from));
    args.extend(["--user", "app", "on", &format!(">{APP_PW}"), "~*", "&*", "+@all"].map(String::from));
    spawn(d, "redis-server", &args, "data.log");
    let mut args = tls_args(mtls);
    args.extend(["--tls-auth-clients", "yes"].map(String::from));
    spawn(d, "redis-server", &args, "mtls.log");
    let conf = format!(
        "port 0\ntls-port {sentinel}\ntls-cert-file server.crt\ntls-key-file server.key\ntls-ca-cert-file ca.crt\n\
         tls-auth-clients no\ntls-replication yes\nrequirepass {SENTINEL_PW}\nuser watcher on >{WATCHER_PW} +@all\nsentinel monitor mymaster 127.0.0.1 {data} 1\n\
         sentinel auth-user mymaster app\nsentinel auth-pass mymaster {APP_PW}\n"
    );
    std::fs::write(d.join("sentinel.conf"), conf).expect("sentinel.conf");
    spawn(d, "redis-sentinel", &[d.join("sentinel.conf").display().to_string()], "sentinel.log");
    for (port, what) in [(data, "redis-server (TLS)"), (mtls, "redis-server (mTLS)"), (sentinel, "redis-sentinel (TLS)")] {
        wait_port(port, what);
    }
    TlsRedis { dir, data, mtls, sentinel }
}

fn servers() -> &'static TlsRedis {
    static SERVERS: OnceLock<TlsRedis> = OnceLock::new();
    SERVERS.get_or_init(start)
}

fn no_secret(text: &str) {
    for pw in [MASTER_PW, APP_PW, SENTINEL_PW, WATCHER_PW, WRONG] {
        assert!(!text.contains(pw), "a password leaked: {text}");
    }
}

async fn error_of(target: Result<Target, sitrep::backends::BackendError>) -> String {
    let target = target.unwrap_or_else(|e| panic!("a usable target: {e}"));
    match connect_to(&target, T).await {
        Ok(_) => panic!("connected to {}", target.name()),
        Err(e) => {
            // Shown with --nocapture: the messages people see for each mistake.
            eprintln!("message: {e}");
            let text = e.to_string();
            no_secret(&text);
            text
        }
    }
}

/// A command on a connection made the way the collectors make it.
async fn ask(target: &Target, cmd: &redis::Cmd) -> Result<redis::Value, String> {
    let mut con = connect_to(target, T).await.map_err(|e| e.to_string())?;
    cmd.query_async(&mut con).await.map_err(|e| e.to_string())
}

fn url(host: &str, port: u16, login: &str, scheme: &str) -> String {
    format!("{scheme}://{login}{host}:{port}/0")
}

#[tokio::test]
async fn rediss_with_the_ca_reaches_a_tls_only_server_by_name_and_by_address() {
    let r = servers();
    for host in ["localhost", "127.0.0.1"] {
        let target = Target::url(&url(host, r.data, &format!(":{MASTER_PW}@"), "rediss"), &r.tls("ca.crt"));
        let target = target.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ask(&target, &redis::cmd("PING")).await, Ok(redis::Value::SimpleString("PONG".into())), "{host}");
        no_secret(target.name());
    }
}

#[tokio::test]
async fn an_untrusted_ca_is_refused_and_names_the_ca_setting() {
    let r = servers();
    let text = error_of(Target::url(&url("localhost", r.data, &format!(":{MASTER_PW}@"), "rediss"), &r.tls("other-ca.crt"))).await;
    assert!(text.contains("UnknownIssuer"), "the TLS library's words: {text}");
    assert!(text.contains("certificate not trusted: set [queues] tls_ca_file"), "{text}");
    // Without a CA file the system's store is used, which does not know the lab's CA either.
    let text = error_of(Target::url(&url("localhost", r.data, "", "rediss"), &RedisTls::default())).await;
    assert!(text.contains("certificate not trusted: set [queues] tls_ca_file"), "{text}");
}

#[tokio::test]
async fn a_plain_url_against_a_tls_only_port_says_the_server_wants_tls() {
    let r = servers();
    let text = error_of(Target::url(&url("127.0.0.1", r.data, &format!(":{MASTER_PW}@"), "redis"), &RedisTls::default())).await;
    assert!(text.contains("it probably wants TLS: use rediss:// in [queues] url"), "{text}");
    let sentinel = Node { password: SENTINEL_PW.into(), ..Node::default() };
    let text = error_of(Target::host_port(&format!("127.0.0.1:{}", r.sentinel), &sentinel)).await;
    assert!(text.contains("it probably wants TLS: set [sentinel] tls = true"), "{text}");
}

#[tokio::test]
async fn a_wrong_password_shows_the_servers_wrongpass_and_the_setting_never_the_password() {
    let r = servers();
    let text = error_of(Target::url(&url("localhost", r.data, &format!("app:{WRONG}@"), "rediss"), &r.tls("ca.crt"))).await;
    assert!(text.contains("WRONGPASS invalid username-password pair or user is disabled."), "{text}");
    assert!(text.contains("check the user and password in [queues] url"), "{text}");
    let text = error_of(Target::url(&url("localhost", r.data, "", "rediss"), &r.tls("ca.crt"))).await;
    assert!(text.contains("NOAUTH Authentication required.") && text.contains("the server wants a password"), "{text}");
}

#[tokio::test]
async fn an_acl_user_logs_in_with_its_own_password() {
    let r = servers();
    let target = Target::url(&url("localhost", r.data, &format!("app:{APP_PW}@"), "rediss"), &r.tls("ca.crt"));
    let target = target.unwrap_or_else(|e| panic!("{e}"));
    let who = ask(&target, redis::cmd("ACL").arg("WHOAMI")).await;
    assert_eq!(who, Ok(redis::Value::BulkString(b"app".to_vec())));
    // The password given apart from the URL, whatever characters it holds, works the same.
    let node = Node { tls: Some(r.tls("ca.crt")), username: "app".into(), password: APP_PW.into(), keys: SettingKeys::SentinelData };
    let who =
        ask(&Target::host_port(&format!("localhost:{}", r.data), &node).unwrap_or_else(|e| panic!("{e}")), redis::cmd("ACL").arg("WHOAMI"))
            .await;
    assert_eq!(who, Ok(redis::Value::BulkString(b"app".to_vec())));
}

#[tokio::test]
async fn a_server_requiring_client_certificates_is_reached_with_one_and_says_so_without() {
    let r = servers();
    let text = error_of(Target::url(&url("localhost", r.mtls, "", "rediss"), &r.tls("ca.crt"))).await;
    assert!(text.contains("it may want a client certificate (set [queues] tls_cert_file and tls_key_file)"), "{text}");
    let target = Target::url(&url("localhost", r.mtls, "", "rediss"), &r.client_tls()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ask(&target, &redis::cmd("PING")).await, Ok(redis::Value::SimpleString("PONG".into())));
}

fn sentinel_settings(r: &TlsRedis, sentinel_pw: &str, master_pw: &str) -> SentinelSettings {
    let tls = Some(r.tls("ca.crt"));
    SentinelSettings {
        addrs: vec![format!("localhost:{}", r.sentinel)],
        master: "mymaster".into(),
        sentinel: Node { tls: tls.clone(), password: sentinel_pw.into(), keys: SettingKeys::Sentinel, ..Node::default() },
        data: Node { tls, username: "app".into(), password: master_pw.into(), keys: SettingKeys::SentinelData },
    }
}

#[tokio::test]
async fn a_sentinel_with_its_own_password_names_a_tls_master_whose_queues_are_read_with_the_masters_login() {
    let r = servers();
    let master = Target::url(&url("localhost", r.data, &format!("app:{APP_PW}@"), "rediss"), &r.tls("ca.crt"));
    let master = master.unwrap_or_else(|e| panic!("{e}"));
    ask(&master, redis::cmd("DEL").arg(QUEUE)).await.unwrap_or_else(|e| panic!("DEL: {e}"));
    ask(&master, redis::cmd("LPUSH").arg(QUEUE).arg(vec!["m"; QUEUED])).await.unwrap_or_else(|e| panic!("LPUSH: {e}"));

    let s = sentinel_settings(r, SENTINEL_PW, APP_PW);
    // The Sentinel itself reaches the master over TLS as `app`: until it has, it flags it disconnected.
    let deadline = Instant::now() + Duration::from_secs(20);
    let snap = loop {
        let snap = sentinel_snapshot(&s, T).await.unwrap_or_else(|e| panic!("{e}"));
        if snap.master.as_ref().is_some_and(|m| m.flags == "master") || Instant::now() > deadline {
            break snap;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        snap.master.as_ref().map(|m| m.flags.as_str()),
        Some("master"),
        "the Sentinel's link to its TLS master within 20s: {snap:?}"
    );
    let data = format!("127.0.0.1:{}", r.data);
    assert_eq!(snap.sentinels.first().and_then(|row| row.master_addr.clone()), Some(data.clone()), "{snap:?}");
    assert_eq!(snap.master.as_ref().map(|m| m.addr.clone()), Some(data.clone()), "{snap:?}");

    let mut reader = QueueReader::new(&QueueSettings::default(), &[QUEUE.to_string()], &s, T);
    let queues = reader.read().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(queues.server, data);
    assert_eq!(queues.queues.first().map(|q| (q.depth, q.error.clone())), Some((QUEUED as u64, None)), "{queues:?}");
}

#[tokio::test]
async fn the_sentinels_password_and_the_masters_are_each_checked_with_their_own_setting() {
    let r = servers();
    // The Sentinel's password is wrong: the Sentinel's own words, and the Sentinel's keys.
    let s = sentinel_settings(r, WRONG, APP_PW);
    let e = sentinel_snapshot(&s, T).await.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(e.contains("WRONGPASS") && e.contains("check [sentinel] username and password"), "{e}");
    no_secret(&e);
    // No password for the Sentinel: its NOAUTH, and where to set it.
    let s = sentinel_settings(r, "", APP_PW);
    let e = sentinel_snapshot(&s, T).await.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(e.contains("NOAUTH") && e.contains("the server wants a password: set [sentinel] username and password"), "{e}");
    // An ACL user of the Sentinel's own logs in to it.
    let mut s = sentinel_settings(r, WATCHER_PW, APP_PW);
    s.sentinel.username = "watcher".into();
    let snap = sentinel_snapshot(&s, T).await.map_err(|e| e.to_string());
    assert!(snap.as_ref().is_ok_and(|snap| snap.master.is_some()), "{snap:?}");
    // The Sentinels answer, but the master they name refuses the Sentinel's password.
    let s = sentinel_settings(r, SENTINEL_PW, SENTINEL_PW);
    let mut reader = QueueReader::new(&QueueSettings::default(), &[QUEUE.to_string()], &s, T);
    let e = reader.read().await.err().map(|e| e.to_string()).unwrap_or_default();
    eprintln!("message: {e}");
    assert!(e.contains("WRONGPASS") && e.contains("check [sentinel] master_username and master_password"), "{e}");
    no_secret(&e);
}

#[tokio::test]
async fn from_sitrep_toml_and_the_environment_the_collectors_read_the_tls_sentinel_and_its_masters_queues() {
    use sitrep::config::{Env, Overrides, parse, resolve};
    use sitrep::model::Observation;
    use sitrep::sources::Collect;
    let r = servers();
    // Passwords from the environment, never written in the file.
    let text = format!(
        "[sentinel]\naddrs = [\"localhost:{}\"]\nmaster = \"mymaster\"\nmaster_username = \"app\"\ntls = true\ntls_ca_file = \"{}\"\n\n\
         [queues]\nnames = [\"{QUEUE}-env\"]\n",
        r.sentinel,
        r.file("ca.crt").display()
    );
    let file = r.file("sitrep.toml");
    std::fs::write(&file, &text).expect("sitrep.toml");
    let found = parse(&file, &text).1;
    assert!(found.is_empty(), "sitrep check passes it: {found:?}");
    let env = Env { sentinel_password: Some(SENTINEL_PW.into()), redis_password: Some(APP_PW.into()), ..Env::default() };
    let config = resolve(Some(&file), &env, &Overrides::default()).unwrap_or_else(|e| panic!("{e}"));

    let master = Target::url(&url("localhost", r.data, &format!("app:{APP_PW}@"), "rediss"), &r.tls("ca.crt"));
    let master = master.unwrap_or_else(|e| panic!("{e}"));
    let queue = format!("{QUEUE}-env");
    ask(&master, redis::cmd("DEL").arg(&queue)).await.unwrap_or_else(|e| panic!("DEL: {e}"));
    ask(&master, redis::cmd("LPUSH").arg(&queue).arg(vec!["m"; 3])).await.unwrap_or_else(|e| panic!("LPUSH: {e}"));

    let mut sentinel = sitrep::sources::sentinel::Collector::new(&config.sentinel_settings(), T);
    match sentinel.collect().await {
        Ok(Observation::Sentinel(snap)) => assert_eq!(snap.master.map(|m| m.addr), Some(format!("127.0.0.1:{}", r.data))),
        other => panic!("a Sentinel reading: {other:?}"),
    }
    let mut queues = sitrep::sources::queues::Collector::new(&config.queues, &config.sentinel_settings(), T);
    match queues.collect().await {
        Ok(Observation::Queues(snap)) => assert_eq!(snap.queues.first().map(|q| q.depth), Some(3), "{snap:?}"),
        other => panic!("a queues reading: {other:?}"),
    }
}

#[test]
fn no_password_reaches_the_screen_the_recording_or_the_log() {
    let r = servers();
    let out_dir = tempfile::tempdir().expect("tempdir");
    let o = out_dir.path();
    // The queues URL carries a wrong password in the file; the Sentinels' and the master's come from the environment.
    let text = format!(
        "[kube]\nenabled = false\n\n[sentinel]\naddrs = [\"localhost:{}\"]\nmaster_username = \"app\"\ntls = true\ntls_ca_file = \"{ca}\"\n\n\
         [queues]\nurl = \"rediss://app:{WRONG}@localhost:{}/0\"\ntls_ca_file = \"{ca}\"\nnames = [\"{QUEUE}\"]\n",
        r.sentinel,
        r.data,
        ca = r.file("ca.crt").display()
    );
    std::fs::write(o.join("sitrep.toml"), text).expect("sitrep.toml");
    let recording = o.join("session.sitrep");
    let out = Command::new(env!("CARGO_BIN_EXE_sitrep"))
        .arg("--config")
        .arg(o.join("sitrep.toml"))
        .args(["--snapshot", "--settle", "3", "--size", "200x60", "--record"])
        .arg(&recording)
        .env("SITREP_SENTINEL_PASSWORD", SENTINEL_PW)
        .env("SITREP_REDIS_PASSWORD", APP_PW)
        .env("SITREP_DATA_DIR", o.join("data"))
        .env("SITREP_LOG_DIR", o.join("log"))
        .env("SITREP_LOG", "debug")
        .output()
        .expect("sitrep runs");
    let screen = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{screen}");
    let file = std::fs::File::open(&recording).expect("the recording");
    let mut events = String::new();
    std::io::Read::read_to_string(&mut zstd::stream::Decoder::new(file).expect("zstd"), &mut events).expect("the recording's lines");
    let mut log = String::new();
    for entry in std::fs::read_dir(o.join("log")).expect("the log dir").flatten() {
        log += &std::fs::read_to_string(entry.path()).unwrap_or_default();
    }
    // What was read really went through: the master found over TLS, the queue server's refusal.
    assert!(events.contains(&format!("127.0.0.1:{}", r.data)), "the Sentinel reading is recorded");
    assert!(events.contains("WRONGPASS"), "the queue server's words are recorded");
    assert!(screen.contains("WRONGPASS"), "and shown: {screen}");
    assert!(log.contains("WRONGPASS"), "and logged: {log}");
    for (what, text) in [("screen", &screen), ("recording", &events), ("log", &log)] {
        for pw in [MASTER_PW, APP_PW, SENTINEL_PW, WATCHER_PW, WRONG] {
            assert!(!text.contains(pw), "a password in the {what}");
        }
    }
}
