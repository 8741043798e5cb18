//! Issue 13's "Done when" against the TLS-only lab (one shared lab): each common mistake in
//! sitrep.toml, made against the lab's real servers, fails with the server's (or the TLS
//! library's) own words and the fix; `sitrep check` refuses what it can see offline; and no
//! password or token of the lab appears on a screen, in a log or in a recording of these runs.
//! Run with `-- --nocapture` to read each message as sitrep says it.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sitrep::lab::Lab;
use sitrep::model::{Event, SourceId};

fn lab() -> &'static Lab {
    support::shared_lab()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a tokio runtime")
}

/// Where this binary writes its configs, logs and recordings (kept until the process ends).
fn work() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("a temp dir")).path()
}

/// The lab's own sitrep.toml.
fn lab_toml() -> String {
    std::fs::read_to_string(lab().config_path()).expect("read the lab's sitrep.toml")
}

/// A CA the lab's servers were not signed by: another lab CA, made the same way.
fn other_ca() -> PathBuf {
    static CA: OnceLock<PathBuf> = OnceLock::new();
    CA.get_or_init(|| {
        let dir = work().join("other-lab");
        let user = sitrep::lab::tools::postgres_user().expect("the postgres user");
        sitrep::lab::pki::make(Path::new("openssl"), &dir, user).expect("make another CA").ca_cert
    })
    .clone()
}

/// Writes `text` as work()/NAME.toml.
fn config_file(name: &str, text: &str) -> PathBuf {
    let path = work().join(format!("{name}.toml"));
    std::fs::write(&path, text).expect("write the config");
    path
}

/// The first failure `source` reports with the config `text`, from sitrep's own collectors (what
/// the console's pane shows), within 30 s.
fn failure_of(name: &str, text: &str, source: SourceId) -> String {
    let path = config_file(name, text);
    let config = sitrep::config::resolve(Some(&path), &sitrep::config::Env::default(), &Default::default())
        .unwrap_or_else(|e| panic!("{name}: the config does not resolve: {e}"));
    let said = runtime().block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let tasks = sitrep::sources::spawn_all(&config, sitrep::clock::Clock::Real, tx);
        // A loaded machine may first time out (timeout_secs 3): the failure meant is the next one.
        let mut last = format!("{source:?} did not fail within 30 s");
        let _ = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(event) = rx.recv().await {
                if let Event::SourceFailed { source: s, error, .. } = event
                    && s == source
                {
                    let timed_out = error.starts_with("no answer within");
                    last = error;
                    if !timed_out {
                        return;
                    }
                }
            }
        })
        .await;
        let found = last;
        tasks.iter().for_each(|t| t.abort());
        found
    });
    eprintln!("{name} ({source:?}): {said}");
    no_secret_in(&format!("the {name} message"), &said);
    said
}

fn assert_has(what: &str, text: &str, parts: &[&str]) {
    for part in parts {
        assert!(text.contains(part), "{what}: no {part:?} in: {text}");
    }
}

/// Every secret of the lab (and the wrong passwords these tests try): none may be shown or kept.
fn secrets() -> Vec<String> {
    let info = &lab().info;
    let r = &info.redis.logins;
    let mut all = vec![
        info.postgres.superuser_password.clone(),
        info.postgres.replication_password.clone(),
        r.password.clone(),
        r.sentinel_password.clone(),
        r.replication_password.clone(),
        r.monitor_password.clone(),
        info.s3.secret_access_key.clone(),
        kube_secret(),
        WRONG_PASSWORD.to_string(),
    ];
    all.retain(|s| s.len() >= 8);
    all
}

const WRONG_PASSWORD: &str = "not-the-lab-password-4711";

/// The secret the lab's exec plugin stamps into its tokens (the last part of each token).
fn kube_secret() -> String {
    let plugin = std::fs::read_to_string(lab().dir.join("kube/get-token")).expect("read the lab's exec plugin");
    let token = plugin.split("\"token\":\"").nth(1).and_then(|t| t.split('"').next()).expect("a token in the plugin");
    token.rsplit('.').next().expect("the token's secret").to_string()
}

fn no_secret_in(what: &str, text: &str) {
    for s in secrets() {
        assert!(!text.contains(&s), "{what} shows a secret of the lab: {text}");
    }
}

#[test]
fn no_sslmode_still_encrypts_and_sslmode_disable_names_the_servers_words_and_the_fix() {
    let lab = lab();
    // No sslmode at all: libpq's (and sitrep's) default `prefer` takes the TLS the server offers.
    let m = &lab.info.postgres.members[0];
    let bare = format!(
        "host=127.0.0.1 port={} user=postgres dbname=shop passfile={} connect_timeout=3",
        m.port,
        lab.info.postgres.passfile.display()
    );
    let ssl: bool = runtime().block_on(async {
        let client = support::sql(&bare).await;
        client.query_one("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[]).await.expect("pg_stat_ssl").get(0)
    });
    assert!(ssl, "without sslmode the session is not encrypted");

    let plain = lab_toml().replace("sslmode=verify-full", "sslmode=disable");
    let said = failure_of("pg-sslmode-disable", &plain, SourceId::Replication);
    assert_has(
        "sslmode=disable",
        &said,
        &["FATAL 28000", "no pg_hba.conf entry", "no encryption", "server requires TLS: add sslmode=require"],
    );
}

#[test]
fn an_untrusted_ca_says_so_for_postgres_redis_and_s3_with_the_key_to_set() {
    let lab = lab();
    let lab_ca = lab.info.postgres.ca_file.display().to_string();
    let other = other_ca().display().to_string();
    let untrusted = lab_toml().replace(&lab_ca, &other);
    let said = failure_of("pg-untrusted-ca", &untrusted, SourceId::Replication);
    assert_has("Postgres, another CA", &said, &["UnknownIssuer", "certificate not trusted: set sslrootcert"]);
    let said = failure_of("sentinel-untrusted-ca", &untrusted, SourceId::Sentinel);
    assert_has("Sentinel, another CA", &said, &["UnknownIssuer", "certificate not trusted", "[sentinel] tls_ca_file"]);
    let said = failure_of("s3-untrusted-ca", &untrusted, SourceId::Backups);
    assert_has("S3, another CA", &said, &["UnknownIssuer", "certificate not trusted", "[s3] ca_file"]);
}

#[test]
fn a_wrong_password_names_the_servers_refusal_and_the_setting() {
    let lab = lab();
    let info = &lab.info;
    let toml = lab_toml();
    // Postgres: a password in the dsn wins over the pgpass file.
    let pg = toml.replace("dbname=shop", &format!("dbname=shop password={WRONG_PASSWORD}"));
    let said = failure_of("pg-wrong-password", &pg, SourceId::Replication);
    assert_has("Postgres", &said, &["FATAL 28P01", "password authentication failed for user \"postgres\"", "check the password"]);
    // The master's login (ACL user sitrep) and the Sentinels' own: each with its own keys.
    let master =
        toml.replace(&format!("master_password = \"{}\"", info.redis.logins.password), &format!("master_password = \"{WRONG_PASSWORD}\""));
    assert_ne!(master, toml, "the lab's sitrep.toml sets master_password");
    // The Sentinel pane reads the Sentinels; the queues are read on the master with its login.
    let said = failure_of("redis-wrong-password", &master, SourceId::Queues);
    assert_has("Redis master", &said, &["WRONGPASS", "[sentinel] master_username and master_password"]);
    let sentinel =
        toml.replace(&format!("password = \"{}\"", info.redis.logins.sentinel_password), &format!("password = \"{WRONG_PASSWORD}\""));
    let said = failure_of("sentinel-wrong-password", &sentinel, SourceId::Sentinel);
    assert_has("Sentinel", &said, &["WRONGPASS", "[sentinel] username and password"]);
}

#[test]
fn a_plain_redis_url_or_plain_sentinels_against_the_tls_only_redis_say_it_wants_tls() {
    let lab = lab();
    let l = &lab.info.redis.logins;
    let url = format!("redis://{}:{}@{}/0", l.user, l.password, lab.info.redis.master);
    let plain_url = lab_toml().replace("url = \"\"", &format!("url = \"{url}\""));
    let said = failure_of("redis-plain-url", &plain_url, SourceId::Queues);
    assert_has("redis:// url", &said, &["it probably wants TLS", "use rediss:// in [queues] url"]);
    let plain_sentinels =
        lab_toml().replace("tls = true", "tls = false").replace(&format!("tls_ca_file = \"{}\"", l.ca_file.display()), "");
    let said = failure_of("sentinel-plain", &plain_sentinels, SourceId::Sentinel);
    assert_has("plain Sentinels", &said, &["it probably wants TLS", "set [sentinel] tls = true"]);
}

#[test]
fn an_expired_exec_token_is_refused_with_the_plugin_to_run() {
    let lab = lab();
    let dir = work().join("kube");
    std::fs::create_dir_all(&dir).expect("kube dir");
    let stale = dir.join("stale-get-token");
    sitrep::lab::kube::write_exec_plugin(&stale, &kube_secret(), Duration::from_secs(180), Some(Duration::from_secs(60)))
        .expect("write the stale plugin");
    let lab_plugin = lab.dir.join("kube/get-token").display().to_string();
    let kubeconfig = std::fs::read_to_string(&lab.info.kube.kubeconfig).expect("read the lab's kubeconfig");
    assert!(kubeconfig.contains(&lab_plugin), "the lab's kubeconfig runs its exec plugin");
    let stale_config = dir.join("stale.kubeconfig");
    std::fs::write(&stale_config, kubeconfig.replace(&lab_plugin, &stale.display().to_string())).expect("write the kubeconfig");
    let toml = lab_toml().replace(&lab.info.kube.kubeconfig.display().to_string(), &stale_config.display().to_string());
    let said = failure_of("kube-expired-token", &toml, SourceId::Pods);
    assert_has("expired exec token", &said, &["Unauthorized (401)", "the exec plugin gave an expired or wrong token", "stale-get-token"]);
}

#[test]
fn sitrep_check_refuses_verify_full_without_a_ca_and_a_rediss_url_with_a_missing_ca() {
    let lab = lab();
    let toml = lab_toml();
    let no_ca = toml.replace(&format!("sslrootcert={}", lab.info.postgres.ca_file.display()), "");
    let out = check(&config_file("check-verify-full-no-ca", &no_ca));
    assert_has("verify-full without sslrootcert", &out, &["pg-0", "sslrootcert", "verify-full"]);
    let l = &lab.info.redis.logins;
    let rediss = toml.replace(
        "url = \"\"",
        &format!(
            "url = \"rediss://{}@{}/0\"\ntls_ca_file = \"{}\"",
            l.user,
            lab.info.redis.master,
            work().join("no-such-ca.pem").display()
        ),
    );
    let out = check(&config_file("check-rediss-missing-ca", &rediss));
    assert_has("rediss with a missing CA", &out, &["[queues] tls_ca_file", "no-such-ca.pem", "cannot be read"]);
}

/// `sitrep check --config FILE`, which must fail; answers what it printed.
fn check(file: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_sitrep")).arg("check").arg("--config").arg(file).output().expect("run sitrep check");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    eprintln!("sitrep check {}: {text}", file.display());
    assert!(!out.status.success(), "sitrep check passed {}:\n{text}", file.display());
    no_secret_in("sitrep check", &text);
    text
}

/// The console itself, headless, recording, logging at debug, on the lab's own config and on the
/// broken ones: its screens, its log file and its recordings hold none of the lab's secrets.
#[test]
fn no_secret_reaches_a_screen_a_log_or_a_recording() {
    let lab = lab();
    let toml = lab_toml().replace("[general]\n", "[general]\nrecord = true\n");
    let info = &lab.info;
    let broken = toml
        .replace("dbname=shop", &format!("dbname=shop password={WRONG_PASSWORD}"))
        .replace(&format!("master_password = \"{}\"", info.redis.logins.password), &format!("master_password = \"{WRONG_PASSWORD}\""));
    let (data, logs) = (work().join("data"), work().join("logs"));
    let mut screens = String::new();
    for (name, text) in [("console-good", &toml), ("console-broken", &broken)] {
        let file = config_file(name, text);
        let started = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_sitrep"))
            .arg("--config")
            .arg(&file)
            .args(["--snapshot", "--size", "200x60", "--settle", "6"])
            .env("SITREP_DATA_DIR", &data)
            .env("SITREP_LOG_DIR", &logs)
            .env("SITREP_LOG", "debug")
            .output()
            .expect("run the console");
        let screen = String::from_utf8_lossy(&out.stdout).to_string();
        eprintln!("{name} ({:.0}s):\n{screen}{}", started.elapsed().as_secs_f64(), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "{name}: the console failed: {}", String::from_utf8_lossy(&out.stderr));
        screens.push_str(&screen);
        screens.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    assert!(screens.contains("leader pg-") && screens.contains("mymaster at 127.0.0.1"), "the good console reads the lab:\n{screens}");
    assert!(
        screens.contains("28P01") || screens.contains("password authentication failed"),
        "the broken console shows the refusal:\n{screens}"
    );
    no_secret_in("a console screen", &screens);
    let files = files_under(&data).into_iter().chain(files_under(&logs)).collect::<Vec<_>>();
    assert!(files.iter().any(|f| f.starts_with(&logs)), "no log file in {}", logs.display());
    assert!(files.iter().any(|f| f.to_string_lossy().contains("recordings")), "no recording in {}: {files:?}", data.display());
    for f in &files {
        let bytes = std::fs::read(f).unwrap_or_default();
        // Recordings are zstd-compressed: read them decoded.
        let text = zstd::decode_all(bytes.as_slice()).unwrap_or(bytes);
        no_secret_in(&f.display().to_string(), &String::from_utf8_lossy(&text));
    }
    eprintln!("grepped {} files and 2 screens for {} secrets", files.len(), secrets().len());
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() { out.extend(files_under(&p)) } else { out.push(p) }
    }
    out
}
