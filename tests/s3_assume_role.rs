//! The AWS chain's assumed roles against a real STS and S3 (moto, started here on a free port):
//! an AssumeRole profile (`role_arn` + `source_profile`, from AWS_CONFIG_FILE, with the source's
//! keys in AWS_SHARED_CREDENTIALS_FILE or sitrep's own `[s3] credentials_file`) and web identity
//! (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE, as EKS IRSA sets them) each make the backups
//! collector the console runs list the bucket. That the role was really assumed is read from
//! moto's own record of the AssumeRole calls (`/moto-api/data.json`): the chain's key is one
//! STS issued (ASIA…) for the role and session named here, never the source profile's key.
//! A role the chain cannot assume (its source profile missing, STS unreachable) is an error that
//! names the profile or role and the fix.
//!
//! aws-config reads the process environment itself, so this binary has one test that sets the
//! variables for each case in turn, with no runtime (and so no other thread) alive meanwhile.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sitrep::config::{self, Env, Overrides};
use sitrep::lab::info::{S3_ACCESS_KEY, S3_BUCKET, S3_REGION, S3_SECRET_KEY};
use sitrep::lab::{ports, s3 as lab_s3, tools::Toolbox};
use sitrep::model::{BackupKind, Observation};
use sitrep::sources::Collect;
use sitrep::sources::backups::Collector;

const DUMP: &str = "dumps/shop/shop_20261129T130501Z.dump";
const ROLE: &str = "arn:aws:iam::123456789012:role/sitrep-reader";

/// Every variable of the AWS chain this test sets or that could let it pass without a role.
const AWS_VARS: [&str; 17] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_STS",
    "AWS_ENDPOINT_URL_S3",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
];

/// Sets exactly `vars` of the AWS chain's variables (the others removed), with HOME in `home` (no
/// ~/.aws of this machine's) and the EC2 metadata endpoint off. Called only while no runtime runs.
fn set_aws_env(home: &Path, vars: &[(&str, String)]) {
    // SAFETY: the test harness runs this binary's one test; no runtime (and no thread of ours)
    // is alive while the environment changes, so nothing reads it concurrently.
    unsafe {
        for name in AWS_VARS {
            std::env::remove_var(name);
        }
        std::env::set_var("HOME", home);
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
        for (name, value) in vars {
            std::env::set_var(name, value);
        }
    }
}

/// Runs `f` on a runtime of its own, built after the environment was set and dropped before the
/// next case changes it.
fn on_runtime<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a tokio runtime").block_on(f)
}

fn wait_listening(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ports::is_listening(port) {
        assert!(Instant::now() < deadline, "{what} did not listen on {port} within 20 s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// sitrep.toml for moto with `[s3] profile` and `[s3] credentials_file` as given ("" = unset).
fn write_config(dir: &Path, name: &str, moto_port: u16, profile: &str, credentials_file: &str) -> PathBuf {
    let text = format!(
        "[s3]\nbucket = \"{S3_BUCKET}\"\nregion = \"{S3_REGION}\"\nendpoint = \"http://127.0.0.1:{moto_port}\"\n\
         profile = \"{profile}\"\ncredentials_file = \"{credentials_file}\"\nforce_path_style = true\n"
    );
    let file = dir.join(name);
    std::fs::write(&file, text).expect("write sitrep.toml");
    file
}

/// What the console's backups collector reads with `file`, and the access key id the same
/// `[s3]` settings' chain signs with (sitrep's `client_and_config` + `tool_credentials`).
async fn collect(file: &Path) -> Result<(Vec<String>, String), String> {
    let c = config::resolve(Some(file), &Env::default(), &Overrides::default()).map_err(|e| format!("config: {e}"))?;
    let dumps = match Collector::new(&c, Duration::from_secs(30)).collect().await.map_err(|e| e.to_string())? {
        Observation::Backups(snap) => snap.of_kind(BackupKind::Dump).map(|(_, i)| i.key.clone()).collect(),
        other => return Err(format!("expected a backups snapshot, got {other:?}")),
    };
    let (_, shared) = sitrep::backends::s3::client_and_config(c.s3.access()).await.map_err(|e| e.to_string())?;
    let creds = sitrep::backends::s3::tool_credentials(&shared).await.map_err(|e| e.to_string())?;
    Ok((dumps, creds.access_key_id))
}

/// moto's record of the roles STS handed out: (access key id, role ARN, session name).
fn assumed_roles(moto_port: u16) -> Vec<(String, String, String)> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", moto_port)).expect("connect to moto");
    write!(stream, "GET /moto-api/data.json HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").expect("ask moto");
    let mut text = String::new();
    stream.read_to_string(&mut text).expect("moto's answer");
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    let data: serde_json::Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("moto's data.json: {e}: {body:.300}"));
    let field = |v: &serde_json::Value, k: &str| v[k].as_str().unwrap_or_default().to_string();
    data["sts"]["AssumedRole"]
        .as_array()
        .map(|roles| roles.iter().map(|r| (field(r, "access_key_id"), field(r, "role_arn"), field(r, "session_name"))).collect())
        .unwrap_or_default()
}

/// The collector listed the dump with a key STS issued for ROLE in `session`, and moto saw it.
fn assert_assumed(case: &str, got: Result<(Vec<String>, String), String>, moto_port: u16, session: &str) {
    let (dumps, key) = got.unwrap_or_else(|e| panic!("{case}: {e}"));
    assert_eq!(dumps, [DUMP], "{case}: the collector listed the bucket");
    assert!(key.starts_with("ASIA") && key != S3_ACCESS_KEY, "{case}: an STS session key, not the source's: {key}");
    let roles = assumed_roles(moto_port);
    assert!(
        roles.iter().any(|(k, role, s)| *k == key && role == ROLE && s == session),
        "{case}: moto's STS issued {key} for {ROLE} in session {session}: {roles:?}"
    );
}

/// moto's server, a child of this test (no runtime owns it, so cases can each have their own);
/// killed by its pid when dropped.
struct Moto(std::process::Child);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn assume_role_profiles_and_web_identity_list_the_bucket_with_sts_credentials() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    std::fs::create_dir_all(dir.join("logs")).expect("logs dir");
    let tools = Toolbox::find().expect("the lab's tools (scripts/install)");
    let p = ports::free_ports(2).expect("two free ports");
    let (moto_port, closed_port) = (p[0], p[1]);
    let moto = format!("http://127.0.0.1:{moto_port}");
    set_aws_env(dir, &[]);
    let log = std::fs::File::create(dir.join("logs/moto.log")).expect("moto's log");
    let _moto = Moto(
        std::process::Command::new(&tools.moto_server)
            .args(["-H", "127.0.0.1", "-p", &moto_port.to_string()])
            .stdout(log.try_clone().expect("moto's log"))
            .stderr(log)
            .spawn()
            .expect("start moto_server"),
    );
    wait_listening(moto_port, "moto");
    on_runtime(async {
        let plain = lab_s3::client(&moto, None).expect("a plain S3 client");
        lab_s3::wait_and_create_bucket(&plain, Duration::from_secs(20)).await.expect("create the bucket");
        lab_s3::put(&plain, DUMP, b"dump".to_vec()).await.expect("put a dump");
    });

    // The source's keys in a credentials file; the roles (which hold no keys) in a config file.
    let (credentials, aws_config, token) = (dir.join("credentials"), dir.join("config"), dir.join("web-identity-token"));
    std::fs::write(&credentials, format!("[base]\naws_access_key_id = {S3_ACCESS_KEY}\naws_secret_access_key = {S3_SECRET_KEY}\n"))
        .expect("write credentials");
    std::fs::write(
        &aws_config,
        format!(
            "[profile reader]\nrole_arn = {ROLE}\nsource_profile = base\nrole_session_name = sitrep-env-sts\n\n\
             [profile reader-file]\nrole_arn = {ROLE}\nsource_profile = base\nrole_session_name = sitrep-own-file\nendpoint_url = {moto}\n\n\
             [profile orphan]\nrole_arn = {ROLE}\nsource_profile = nowhere\n"
        ),
    )
    .expect("write config");
    std::fs::write(&token, "eyJhbGciOiJSUzI1NiJ9.e30.c2l0cmVw").expect("write the token");
    let (credentials, aws_config) = (credentials.display().to_string(), aws_config.display().to_string());
    // The profiles from AWS_CONFIG_FILE, the source's keys from AWS_SHARED_CREDENTIALS_FILE.
    let profiles_with_sts_at = |sts: &str| {
        [
            ("AWS_CONFIG_FILE", aws_config.clone()),
            ("AWS_SHARED_CREDENTIALS_FILE", credentials.clone()),
            ("AWS_ENDPOINT_URL_STS", sts.to_string()),
        ]
    };

    // 1. `[s3] profile = "reader"`, role_arn + source_profile from AWS_CONFIG_FILE, the source's
    //    keys from AWS_SHARED_CREDENTIALS_FILE, STS at AWS_ENDPOINT_URL_STS.
    set_aws_env(dir, &profiles_with_sts_at(&moto));
    let toml = write_config(dir, "reader.toml", moto_port, "reader", "");
    assert_assumed("AssumeRole profile", on_runtime(collect(&toml)), moto_port, "sitrep-env-sts");

    // 1b. The source's keys in sitrep's own `[s3] credentials_file`: AWS_CONFIG_FILE's profiles
    //     still count, and STS is the profile's own endpoint_url.
    set_aws_env(dir, &[("AWS_CONFIG_FILE", aws_config.clone())]);
    let toml = write_config(dir, "reader-file.toml", moto_port, "reader-file", &credentials);
    assert_assumed("[s3] credentials_file + AssumeRole profile", on_runtime(collect(&toml)), moto_port, "sitrep-own-file");

    // 2. Web identity from the environment alone, no keys and no profile anywhere.
    let nowhere = dir.join("no-such-file").display().to_string();
    set_aws_env(
        dir,
        &[
            ("AWS_CONFIG_FILE", nowhere.clone()),
            ("AWS_SHARED_CREDENTIALS_FILE", nowhere.clone()),
            ("AWS_ROLE_ARN", ROLE.to_string()),
            ("AWS_WEB_IDENTITY_TOKEN_FILE", token.display().to_string()),
            ("AWS_ROLE_SESSION_NAME", "sitrep-irsa".to_string()),
            ("AWS_ENDPOINT_URL_STS", moto.clone()),
        ],
    );
    let toml = write_config(dir, "web.toml", moto_port, "", "");
    assert_assumed("web identity", on_runtime(collect(&toml)), moto_port, "sitrep-irsa");

    // 3. Roles the chain cannot assume: the error names the profile or role and the fix.
    set_aws_env(dir, &profiles_with_sts_at(&moto));
    let toml = write_config(dir, "orphan.toml", moto_port, "orphan", "");
    let err = on_runtime(collect(&toml)).expect_err("source_profile `nowhere` does not exist");
    eprintln!("orphan: {err}");
    assert!(!err.contains("unhandled error"), "{err}");
    assert!(err.starts_with("no credentials for listing s3://"), "not an S3 that cannot be reached: {err}");
    assert!(err.contains("[s3] profile `orphan`") && err.contains("nowhere"), "names the profile and its missing source: {err}");
    assert!(err.contains("source_profile must exist"), "names the fix: {err}");

    set_aws_env(dir, &profiles_with_sts_at(&format!("http://127.0.0.1:{closed_port}")));
    let toml = write_config(dir, "no-sts.toml", moto_port, "reader", "");
    let err = on_runtime(collect(&toml)).expect_err("nothing listens where STS is said to be");
    eprintln!("no STS: {err}");
    assert!(!err.contains("unhandled error"), "{err}");
    assert!(err.contains("[s3] profile `reader`") && err.contains("Connection refused"), "names the profile and the cause: {err}");
    assert!(err.contains("STS did not answer") && err.contains("AWS_ENDPOINT_URL_STS"), "names STS and where its endpoint is set: {err}");

    // Web identity whose token file is gone (a projected token not mounted).
    set_aws_env(
        dir,
        &[
            ("AWS_CONFIG_FILE", nowhere.clone()),
            ("AWS_SHARED_CREDENTIALS_FILE", nowhere.clone()),
            ("AWS_ROLE_ARN", ROLE.to_string()),
            ("AWS_WEB_IDENTITY_TOKEN_FILE", nowhere.clone()),
            ("AWS_ENDPOINT_URL_STS", moto.clone()),
        ],
    );
    let err = on_runtime(collect(&write_config(dir, "web-gone.toml", moto_port, "", ""))).expect_err("no token to present");
    eprintln!("no token: {err}");
    assert!(!err.contains("unhandled error"), "{err}");
    assert!(err.starts_with("no credentials for listing s3://") && err.contains("AWS_ROLE_ARN"), "{err}");
    assert!(err.contains("No such file") && err.contains("AWS_WEB_IDENTITY_TOKEN_FILE) can be read"), "the cause and the fix: {err}");
}
