//! Postgres TLS against a real TLS-only PostgreSQL 15 (as managed databases are set up): a lab CA,
//! `ssl=on`, pg_hba with only `hostssl … scram-sha-256`; each common mistake gives its message.

use sitrep::backends::postgres::connect;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

#[path = "support/certs.rs"]
mod certs;
use certs::{make_ca, make_cert, run};

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";
const PASSWORD: &str = "Lab-Tls-S3cret-7";
const WRONG: &str = "Not-The-Pw-9";

struct TlsPostgres {
    dir: tempfile::TempDir,
    port: u16,
}

impl TlsPostgres {
    fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.crt")
    }

    fn other_ca(&self) -> PathBuf {
        self.dir.path().join("other-ca.crt")
    }

    fn dsn(&self, host: &str, password: &str, extra: &str) -> String {
        format!("host={host} port={} user=postgres password={password} dbname=postgres {extra}", self.port)
    }

    fn stop(&self) {
        let _ =
            as_postgres(&format!("{PG_BIN}/pg_ctl")).arg("-D").arg(self.dir.path().join("data")).args(["-m", "immediate", "stop"]).output();
    }
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

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

fn start() -> TlsPostgres {
    let dir = tempfile::Builder::new().prefix("sitrep-tls-pg").tempdir().expect("tempdir");
    let d = dir.path();
    make_ca(d, "ca");
    make_ca(d, "other-ca");
    make_cert(d, "server", "localhost");
    std::fs::write(d.join("pw"), format!("{PASSWORD}\n")).expect("pwfile");
    if is_root() {
        run(Command::new("chown").args(["-R", "postgres:postgres"]).arg(d), "chown the temp dir to postgres");
    }
    let data = d.join("data");
    run(
        as_postgres(&format!("{PG_BIN}/initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "--auth=scram-sha-256", "--no-sync"])
            .arg(format!("--pwfile={}", d.join("pw").display())),
        "initdb (PostgreSQL 15 is on every machine of this kind)",
    );
    // Only hostssl with scram: a plain connection is refused by the server itself.
    std::fs::write(data.join("pg_hba.conf"), "hostssl all all 127.0.0.1/32 scram-sha-256\nhostssl all all ::1/128 scram-sha-256\n")
        .expect("pg_hba.conf");
    run(Command::new("chmod").arg("600").arg(d.join("server.key")), "chmod the key");
    let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port");
    let opts = format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
        d.display(),
        d.join("server.crt").display(),
        d.join("server.key").display()
    );
    run(
        as_postgres(&format!("{PG_BIN}/pg_ctl")).arg("-D").arg(&data).args(["-o", &opts, "-l"]).arg(d.join("log")).args(["-w", "start"]),
        "pg_ctl start",
    );
    TlsPostgres { dir, port }
}

/// One server for the whole binary, stopped when the test process exits.
fn server() -> &'static TlsPostgres {
    static PG: OnceLock<TlsPostgres> = OnceLock::new();
    let pg = PG.get_or_init(start);
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

const T: Duration = Duration::from_secs(10);

/// Whether the session sitrep opened is encrypted, by the server's own view.
async fn encrypted(dsn: &str) -> Result<bool, String> {
    let c = connect(dsn, T).await.map_err(|e| e.to_string())?;
    let row = c.client.query_one("select ssl from pg_stat_ssl where pid = pg_backend_pid()", &[]).await.map_err(|e| e.to_string())?;
    Ok(row.get(0))
}

async fn error_of(dsn: &str) -> String {
    match connect(dsn, T).await {
        Ok(_) => panic!("connected with {}", dsn.replace(PASSWORD, "***")),
        Err(e) => {
            // Shown with --nocapture: the messages people see for each mistake.
            eprintln!("message: {e}");
            e.to_string()
        }
    }
}

fn no_secret(text: &str) {
    assert!(!text.contains(PASSWORD) && !text.contains(WRONG), "a password leaked: {text}");
}

#[tokio::test]
async fn a_plain_connection_is_refused_in_the_servers_words_with_the_fix() {
    let pg = server();
    let text = error_of(&pg.dsn("127.0.0.1", PASSWORD, "sslmode=disable")).await;
    assert!(text.contains("no pg_hba.conf entry for host") && text.contains("no encryption"), "{text}");
    assert!(text.contains("server requires TLS: add sslmode=require"), "{text}");
    no_secret(&text);
}

#[tokio::test]
async fn without_sslmode_tls_is_preferred_as_libpq_does() {
    let pg = server();
    assert_eq!(encrypted(&pg.dsn("127.0.0.1", PASSWORD, "")).await, Ok(true));
}

#[tokio::test]
async fn require_encrypts_without_checking_the_certificate() {
    let pg = server();
    assert_eq!(encrypted(&pg.dsn("127.0.0.1", PASSWORD, "sslmode=require")).await, Ok(true));
}

#[tokio::test]
async fn verify_full_and_verify_ca_connect_with_the_right_ca_in_both_forms() {
    let pg = server();
    let ca = pg.ca().display().to_string();
    for host in ["localhost", "127.0.0.1"] {
        let dsn = pg.dsn(host, PASSWORD, &format!("sslmode=verify-full sslrootcert={ca}"));
        assert_eq!(encrypted(&dsn).await, Ok(true), "{host}");
    }
    let url = format!("postgresql://postgres:{PASSWORD}@localhost:{}/postgres?sslmode=verify-full&sslrootcert={ca}", pg.port);
    assert_eq!(encrypted(&url).await, Ok(true), "URL form");
    let dsn = pg.dsn("127.0.0.1", PASSWORD, &format!("sslmode=verify-ca sslrootcert={ca}"));
    assert_eq!(encrypted(&dsn).await, Ok(true), "verify-ca");
}

#[tokio::test]
async fn an_untrusted_ca_says_so_and_names_sslrootcert() {
    let pg = server();
    let other = pg.other_ca().display().to_string();
    for mode in ["verify-full", "verify-ca", "require"] {
        let text = error_of(&pg.dsn("localhost", PASSWORD, &format!("sslmode={mode} sslrootcert={other}"))).await;
        assert!(text.contains("certificate not trusted: set sslrootcert"), "{mode}: {text}");
        no_secret(&text);
    }
}

#[tokio::test]
async fn a_wrong_password_shows_the_fatal_text_and_not_the_password() {
    let pg = server();
    let text = error_of(&pg.dsn("127.0.0.1", WRONG, "sslmode=require")).await;
    assert!(text.contains("password authentication failed for user \"postgres\""), "{text}");
    assert!(text.contains("check the password"), "{text}");
    no_secret(&text);
    let url = format!("postgres://postgres:{WRONG}@127.0.0.1:{}/postgres?sslmode=require", pg.port);
    let text = error_of(&url).await;
    assert!(text.contains("password authentication failed"), "{text}");
    no_secret(&text);
}
