//! S3 over HTTPS with a private CA, no lab: moto behind socat's TLS (the lab's own specs), a CA
//! made here, and the backups collector the console runs, configured through sitrep.toml and the
//! environment as `resolve` layers them. With `[s3] ca_file` or AWS_CA_BUNDLE the dump is listed;
//! with neither the error says the certificate is not trusted, in rustls's words, and names both
//! fixes; `sitrep check` catches a ca_file that is missing or not PEM on its line.

#[path = "support/certs.rs"]
mod certs;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sitrep::config::{self, Env, Overrides};
use sitrep::lab::info::{S3_ACCESS_KEY, S3_BUCKET, S3_REGION, S3_SECRET_KEY};
use sitrep::lab::pki::LabPki;
use sitrep::lab::process::Children;
use sitrep::lab::{ports, s3 as lab_s3, tools::Toolbox};
use sitrep::model::{BackupKind, Observation};
use sitrep::sources::Collect;
use sitrep::sources::backups::Collector;

const DUMP: &str = "dumps/shop/shop_20261129T130501Z.dump";

/// Waits (generously) for something to listen on `port`.
fn wait_listening(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ports::is_listening(port) {
        assert!(Instant::now() < deadline, "{what} did not listen on {port} within 20 s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// sitrep.toml for the TLS endpoint with the lab's credentials in a credentials file.
fn write_config(dir: &Path, name: &str, tls_port: u16, ca_file: Option<&Path>) -> PathBuf {
    let creds = dir.join("credentials");
    std::fs::write(&creds, format!("[default]\naws_access_key_id = {S3_ACCESS_KEY}\naws_secret_access_key = {S3_SECRET_KEY}\n"))
        .expect("write credentials");
    let ca = ca_file.map(|p| format!("ca_file = \"{}\"\n", p.display())).unwrap_or_default();
    let text = format!(
        "[s3]\nbucket = \"{S3_BUCKET}\"\nregion = \"{S3_REGION}\"\nendpoint = \"https://localhost:{tls_port}\"\n\
         profile = \"default\"\ncredentials_file = \"{}\"\nforce_path_style = true\n{ca}",
        creds.display()
    );
    let file = dir.join(name);
    std::fs::write(&file, text).expect("write sitrep.toml");
    file
}

/// The backups collector's reading with `file` and `env` resolved as the console resolves them.
async fn collect(file: &Path, env: &Env) -> Result<Observation, String> {
    let c = config::resolve(Some(file), env, &Overrides::default()).map_err(|e| format!("config: {e}"))?;
    Collector::new(&c, Duration::from_secs(30)).collect().await.map_err(|e| e.to_string())
}

fn dumps(observation: &Result<Observation, String>) -> Vec<String> {
    match observation {
        Ok(Observation::Backups(snap)) => snap.of_kind(BackupKind::Dump).map(|(_, i)| i.key.clone()).collect(),
        other => panic!("expected a backups snapshot, got {other:?}"),
    }
}

fn env_with_ca_bundle(path: Option<&Path>) -> Env {
    let path = path.map(|p| p.as_os_str().to_owned());
    Env::from_lookup(|name| if name == "AWS_CA_BUNDLE" { path.clone() } else { None })
}

/// Kills moto and socat if the test fails before stopping them.
struct KillOnDrop(Children);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        for name in ["s3-tls", "moto"] {
            self.0.signal(name, libc::SIGKILL);
        }
    }
}

#[test]
fn an_https_endpoint_with_a_private_ca_is_trusted_through_ca_file_or_aws_ca_bundle() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    certs::make_ca(dir, "ca");
    certs::make_cert(dir, "s3", "localhost");
    certs::make_ca(dir, "other");
    std::fs::create_dir_all(dir.join("logs")).expect("logs dir");
    let tools = Toolbox::find().expect("the lab's tools (scripts/install)");
    let p = ports::free_ports(2).expect("two free ports");
    let (moto_port, tls_port) = (p[0], p[1]);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a tokio runtime");
    rt.block_on(async {
        let children = Children::new(&dir.join("logs"));
        let _stop = KillOnDrop(children.clone());
        children.spawn(lab_s3::moto_spec(&tools, moto_port)).expect("start moto");
        let pki = LabPki { ca_cert: dir.join("ca.crt"), server_cert: dir.join("s3.crt"), server_key: dir.join("s3.key") };
        children.spawn(lab_s3::tls_front_spec(&pki, tls_port, moto_port).expect("socat")).expect("start socat");
        wait_listening(moto_port, "moto");
        wait_listening(tls_port, "socat's TLS front");
        // The bucket and a dump, written over plain HTTP straight to moto.
        let plain = lab_s3::client(&format!("http://127.0.0.1:{moto_port}"), None).expect("a plain S3 client");
        lab_s3::wait_and_create_bucket(&plain, Duration::from_secs(20)).await.expect("create the bucket");
        lab_s3::put(&plain, DUMP, b"dump".to_vec()).await.expect("put a dump");

        let ca = dir.join("ca.crt");
        // [s3] ca_file: listed over TLS.
        let with_ca = write_config(dir, "with-ca.toml", tls_port, Some(&ca));
        assert_eq!(dumps(&collect(&with_ca, &Env::default()).await), [DUMP], "with [s3] ca_file");
        assert!(sitrep::check::run(Some(&with_ca), &Env::default()).is_empty(), "check passes a good ca_file");

        // Neither: the certificate is not trusted, in rustls's words, with both fixes named.
        let bare = write_config(dir, "bare.toml", tls_port, None);
        let err = collect(&bare, &Env::default()).await.expect_err("the system's roots do not know the test CA");
        assert!(err.contains("certificate not trusted"), "{err}");
        assert!(err.contains("UnknownIssuer") || err.contains("invalid peer certificate"), "rustls's own words: {err}");
        assert!(err.contains("[s3] ca_file") && err.contains("AWS_CA_BUNDLE"), "{err}");

        // https:// to moto's plain port: not TLS, said so.
        let plain_port = write_config(dir, "plain-port.toml", moto_port, Some(&ca));
        let err = collect(&plain_port, &Env::default()).await.expect_err("moto speaks HTTP only");
        assert!(err.contains("does not speak TLS"), "{err}");

        // AWS_CA_BUNDLE alone: listed.
        assert_eq!(dumps(&collect(&bare, &env_with_ca_bundle(Some(&ca))).await), [DUMP], "with AWS_CA_BUNDLE");

        // Two sources, one behind a CA it does not trust: the trusted one is read, the other
        // carries rustls's words on its own row; both untrusted fails with each one's reason.
        let offsite = format!(
            "\n[[backups]]\nname = \"offsite\"\nbucket = \"offsite\"\nregion = \"{S3_REGION}\"\n\
                 endpoint = \"https://localhost:{tls_port}\"\nforce_path_style = true\nkinds = [\"dumps\"]\n\
                 profile = \"default\"\ncredentials_file = \"{}\"\n",
            dir.join("credentials").display()
        );
        let two = dir.join("two.toml");
        let with_ca_text = std::fs::read_to_string(&with_ca).expect("read with-ca.toml");
        std::fs::write(&two, format!("{with_ca_text}{offsite}")).expect("write two.toml");
        match collect(&two, &Env::default()).await {
            Ok(Observation::Backups(all)) => {
                let names: Vec<&str> = all.sources.iter().map(|s| s.source.as_str()).collect();
                assert_eq!(names, ["s3", "offsite"]);
                assert_eq!(all.sources[0].error, None);
                assert_eq!(all.sources[0].of_kind(BackupKind::Dump).map(|i| i.key.as_str()).collect::<Vec<_>>(), [DUMP]);
                let err = all.sources[1].error.clone().unwrap_or_default();
                assert!(err.contains("certificate not trusted") && err.contains("ca_file"), "{err}");
            }
            other => panic!("expected a reading of both sources, got {other:?}"),
        }
        let both_bad = dir.join("both-bad.toml");
        std::fs::write(&both_bad, format!("{}{offsite}", std::fs::read_to_string(&bare).expect("read bare.toml"))).expect("write");
        let err = collect(&both_bad, &Env::default()).await.expect_err("neither source is trusted");
        assert!(err.starts_with("no backup source answered (s3: ") && err.contains("; offsite: "), "{err}");
        assert_eq!(err.matches("certificate not trusted").count(), 2, "{err}");

        // [s3] ca_file wins over AWS_CA_BUNDLE: a wrong file is not rescued by a right variable.
        let wrong = write_config(dir, "wrong-ca.toml", tls_port, Some(&dir.join("other.crt")));
        let err = collect(&wrong, &env_with_ca_bundle(Some(&ca))).await.expect_err("ca_file is the one used");
        assert!(err.contains("certificate not trusted"), "{err}");

        // `sitrep check`: a missing or non-PEM ca_file on its line (8), and a bad AWS_CA_BUNDLE.
        let missing = write_config(dir, "missing.toml", tls_port, Some(&dir.join("no-such-ca.pem")));
        let found = sitrep::check::run(Some(&missing), &Env::default());
        assert!(found.len() == 1 && found[0].line == 8, "{found:?}");
        let text = found[0].to_string();
        assert!(text.contains("[s3] ca_file") && text.contains("no-such-ca.pem") && text.contains("cannot be read"), "{text}");
        let not_pem = write_config(dir, "not-pem.toml", tls_port, Some(&dir.join("s3.key")));
        let found = sitrep::check::run(Some(&not_pem), &Env::default());
        assert!(found.len() == 1 && found[0].line == 8 && found[0].what.contains("no PEM certificate"), "{found:?}");
        let found = sitrep::check::run(Some(&bare), &env_with_ca_bundle(Some(&dir.join("no-such-ca.pem"))));
        assert!(found.len() == 1 && found[0].to_string().starts_with("AWS_CA_BUNDLE"), "{found:?}");

        // The rest of the AWS chain over the same TLS: an AssumeRole profile (role_arn +
        // source_profile) and a web-identity profile (role_arn + web_identity_token_file, what
        // AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE give) get their credentials from moto's STS
        // behind the private CA, through the client's CA bundle.
        chain_profiles_get_credentials_from_sts_over_the_same_tls(dir, tls_port, &ca).await;

        children.stop_all(&[], Duration::from_secs(3)).await;
    });
}

async fn chain_profiles_get_credentials_from_sts_over_the_same_tls(dir: &Path, tls_port: u16, ca: &Path) {
    use sitrep::backends::s3::{self, Access, CaBundle};
    let endpoint = format!("https://localhost:{tls_port}");
    let (token, creds) = (dir.join("web-identity-token"), dir.join("chain-credentials"));
    std::fs::write(&token, "eyJhbGciOiJSUzI1NiJ9.e30.c2l0cmVw").expect("write the token");
    let role = "arn:aws:iam::123456789012:role/sitrep-reader";
    let text = format!(
        "[base]\naws_access_key_id = {S3_ACCESS_KEY}\naws_secret_access_key = {S3_SECRET_KEY}\n\
         [assumer]\nrole_arn = {role}\nsource_profile = base\nregion = {S3_REGION}\nendpoint_url = {endpoint}\n\
         [web]\nrole_arn = {role}\nweb_identity_token_file = {}\nrole_session_name = sitrep\nregion = {S3_REGION}\nendpoint_url = {endpoint}\n",
        token.display()
    );
    std::fs::write(&creds, text).expect("write the profiles");
    let (creds, ca) = (creds.display().to_string(), ca.display().to_string());
    for profile in ["assumer", "web"] {
        let access = Access {
            region: S3_REGION,
            endpoint: &endpoint,
            profile,
            credentials_file: &creds,
            force_path_style: true,
            ca_bundle: Some(CaBundle { path: &ca, setting: "[s3] ca_file" }),
        };
        let client = s3::client(access).await.expect("an S3 client");
        // The profile holds no keys: a listing means STS answered AssumeRole(WithWebIdentity).
        let listed = s3::list(&client, S3_BUCKET, "dumps/").await.unwrap_or_else(|e| panic!("profile {profile}: {e}"));
        assert_eq!(listed.iter().map(|o| o.key.as_str()).collect::<Vec<_>>(), [DUMP], "profile {profile}");
    }
    // Without the bundle the assumed role cannot be had: STS's certificate is not trusted.
    let access = Access {
        region: S3_REGION,
        endpoint: &endpoint,
        profile: "assumer",
        credentials_file: &creds,
        force_path_style: true,
        ca_bundle: None,
    };
    let client = s3::client(access).await.expect("an S3 client");
    let err = s3::list(&client, S3_BUCKET, "dumps/").await.expect_err("STS behind an untrusted CA").to_string();
    eprintln!("{err}");
    assert!(err.contains("certificate not trusted") && err.contains("[s3] ca_file"), "{err}");
    // moto's log: STS's form posts (S3's are GETs and PUTs to the bucket), one per profile.
    let log = std::fs::read_to_string(dir.join("logs/moto.log")).unwrap_or_default();
    assert!(log.matches("\"POST / HTTP/1.1\" 200").count() >= 2, "STS was asked for each profile: {log}");
}
