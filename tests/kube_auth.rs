//! Kube auth as kubectl does it, against the stand-in served over HTTPS with a gate: a token,
//! a tokenFile, client certificates (files and data), an exec plugin, a CA file or data. The real
//! kubectl (1.27 and 1.33) proves the stand-in honest; sitrep's own client then lists pods with
//! each form, tells each common mistake with the cluster, user, server's words and fix, and keeps
//! a watch alive across exec token refreshes.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sitrep::backends::BackendError;
use sitrep::lab::kube::{
    Cluster, ClusterTrust, Gate, KubeconfigSpec, TlsServing, UserAuth, serve_tls, write_exec_plugin, write_kubeconfig_with,
};

#[path = "support/certs.rs"]
mod certs;
use certs::{make_ca, make_cert};

const KUBECTL_OLDEST: &str = "/usr/lib/google-cloud-sdk/bin/kubectl.1.27";
const KUBECTL_NEWEST: &str = "/usr/lib/google-cloud-sdk/bin/kubectl.1.33";
const TOKEN: &str = "Lab-Kube-Bearer-7f3a9c";
const FILE_TOKEN: &str = "Lab-Kube-FileToken-51d2e8";
const WRONG_TOKEN: &str = "Not-The-Kube-Token-0000";
const EXEC_SECRET: &str = "Lab-Kube-Exec-Secret-c0ffee";
const CONTEXT: &str = "sitrep-auth";
const USER: &str = "sitrep-auth-user";
const NS: &str = "shop";
const T: Duration = Duration::from_secs(10);
/// How long the exec plugin's tokens live.
const EXEC_LIFETIME: Duration = Duration::from_secs(5);

/// The stand-in over HTTPS, served on its own thread for the whole test binary.
struct Estate {
    dir: tempfile::TempDir,
    server: String,
    gate: Gate,
}

fn estate() -> &'static Estate {
    static ESTATE: OnceLock<Estate> = OnceLock::new();
    ESTATE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        // Everything sitrep, kube and hyper log, at trace, goes to a file the tests grep for secrets.
        let log = std::fs::File::create(dir.path().join("trace.log")).expect("log file");
        let _ = tracing_subscriber::fmt().with_writer(std::sync::Mutex::new(log)).with_max_level(tracing::Level::TRACE).try_init();
        make_ca(dir.path(), "ca");
        make_ca(dir.path(), "other");
        make_cert(dir.path(), "server", "kube-apiserver");
        make_cert(dir.path(), "client", "oncall");
        let gate = Gate::default();
        gate.accept_token(TOKEN, None);
        gate.accept_token(FILE_TOKEN, None);
        gate.accept_stamped_tokens(EXEC_SECRET);
        let file = |n: &str| dir.path().join(n);
        let tls = TlsServing::from_files(&file("server.crt"), &file("server.key"), &file("ca.crt"), gate.clone()).expect("TLS setup");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let server = format!("https://{}", listener.local_addr().expect("addr"));
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
            runtime.block_on(async move {
                let cluster = Cluster::new();
                cluster.seed_demo();
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let _ = serve_tls(listener, tls, cluster, std::future::pending()).await;
            });
        });
        Estate { dir, server, gate }
    })
}

impl Estate {
    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.file(name)).expect("read")
    }

    /// Writes kubeconfig `name` with this trust and user; returns its path.
    fn kubeconfig(&self, name: &str, trust: ClusterTrust, user: UserAuth) -> PathBuf {
        let path = self.file(&format!("{name}.kubeconfig"));
        let spec = KubeconfigSpec { server: &self.server, context: CONTEXT, namespace: NS, trust, user };
        write_kubeconfig_with(&path, &spec).expect("kubeconfig");
        path
    }

    fn ca_file(&self) -> ClusterTrust {
        ClusterTrust::CaFile(self.file("ca.crt"))
    }

    fn ca_data(&self) -> ClusterTrust {
        ClusterTrust::CaData(self.read("ca.crt"))
    }

    /// An exec plugin script `name`; `stale_by` makes its tokens already expired.
    fn plugin(&self, name: &str, stale_by: Option<Duration>) -> UserAuth {
        let path = self.file(name);
        write_exec_plugin(&path, EXEC_SECRET, EXEC_LIFETIME, stale_by).expect("plugin");
        UserAuth::Exec { command: path, args: vec!["--cluster-name".into(), CONTEXT.into()] }
    }

    /// Every form that must work: (name, kubeconfig).
    fn good_forms(&self) -> Vec<(&'static str, PathBuf)> {
        // As tokens are usually written (`echo $TOKEN > file`): with a newline, which kubectl trims.
        std::fs::write(self.file("token"), format!("{FILE_TOKEN}\n")).expect("token file");
        let (cert, key) = (self.file("client.crt"), self.file("client.key"));
        vec![
            ("token + certificate-authority", self.kubeconfig("token", self.ca_file(), UserAuth::Token(TOKEN.into()))),
            (
                "tokenFile + certificate-authority-data",
                self.kubeconfig("tokenfile", self.ca_data(), UserAuth::TokenFile(self.file("token"))),
            ),
            (
                "client-certificate/-key files",
                self.kubeconfig("certfiles", self.ca_file(), UserAuth::CertFiles { cert: cert.clone(), key: key.clone() }),
            ),
            (
                "client-certificate/-key data",
                self.kubeconfig(
                    "certdata",
                    self.ca_data(),
                    UserAuth::CertData { cert: self.read("client.crt"), key: self.read("client.key") },
                ),
            ),
            ("exec plugin", self.kubeconfig("exec", self.ca_file(), self.plugin("get-token", None))),
        ]
    }

    fn kubectl(&self, kubectl: &str, kubeconfig: &Path, args: &[&str]) -> std::process::Output {
        let cache = self.file(&format!("cache-{}", kubectl.rsplit('/').next().unwrap_or("kubectl")));
        Command::new(kubectl)
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .arg("--cache-dir")
            .arg(cache)
            .arg("--request-timeout=10s")
            .args(args)
            .env("HOME", self.dir.path())
            .output()
            .expect("kubectl runs")
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime")
}

/// sitrep's own client, through backends::kube::client: the pods of NS, or the error.
fn sitrep_pods(kubeconfig: &Path) -> Result<Vec<String>, BackendError> {
    runtime().block_on(async {
        let client = sitrep::backends::kube::client(&kubeconfig.display().to_string(), "", T).await?;
        let snapshot = sitrep::backends::kube::list_snapshot(&client, NS).await?;
        Ok(snapshot.pods.into_iter().map(|p| p.name).collect())
    })
}

fn no_secret_in(text: &str) {
    for secret in [TOKEN, FILE_TOKEN, WRONG_TOKEN, EXEC_SECRET] {
        assert!(!text.contains(secret), "a secret shows in: {text}");
    }
}

#[test]
fn kubectl_1_27_and_1_33_get_pods_with_each_auth_form() {
    let estate = estate();
    for (form, kubeconfig) in estate.good_forms() {
        for kubectl in [KUBECTL_OLDEST, KUBECTL_NEWEST] {
            let out = estate.kubectl(kubectl, &kubeconfig, &["get", "pods", "-o", "name"]);
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success() && stdout.contains("pod/"),
                "{kubectl} get pods with {form}: {}\n{stdout}{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[test]
fn kubectl_refuses_what_the_stand_in_refuses() {
    let estate = estate();
    let wrong = estate.kubeconfig("k-wrong", estate.ca_file(), UserAuth::Token(WRONG_TOKEN.into()));
    let untrusted = estate.kubeconfig("k-untrusted", ClusterTrust::CaFile(estate.file("other.crt")), UserAuth::Token(TOKEN.into()));
    for kubectl in [KUBECTL_OLDEST, KUBECTL_NEWEST] {
        for (what, kubeconfig, says) in [
            ("a wrong token", &wrong, "error: You must be logged in to the server"),
            ("an untrusted CA", &untrusted, "x509: certificate signed by unknown authority"),
        ] {
            let out = estate.kubectl(kubectl, kubeconfig, &["get", "pods"]);
            let stderr = String::from_utf8_lossy(&out.stderr);
            eprintln!("{kubectl} with {what}: {}", stderr.trim().lines().last().unwrap_or(""));
            assert!(!out.status.success() && stderr.contains(says), "{kubectl} with {what}: {stderr}");
        }
    }
}

#[test]
fn sitrep_lists_pods_with_each_auth_form() {
    let estate = estate();
    for (form, kubeconfig) in estate.good_forms() {
        match sitrep_pods(&kubeconfig) {
            Ok(pods) => assert!(!pods.is_empty(), "{form}: no pods"),
            Err(e) => panic!("{form}: {e}"),
        }
    }
}

/// The message sitrep gives for `kubeconfig`, which must fail.
fn sitrep_error(kubeconfig: &Path) -> String {
    let e = sitrep_pods(kubeconfig).expect_err("must be refused").to_string();
    eprintln!("sitrep says: {e}");
    no_secret_in(&e);
    e
}

#[test]
fn a_wrong_token_names_the_cluster_the_user_the_servers_words_and_the_fix() {
    let estate = estate();
    let refused = estate.gate.refused();
    let e = sitrep_error(&estate.kubeconfig("wrong", estate.ca_file(), UserAuth::Token(WRONG_TOKEN.into())));
    assert!(estate.gate.refused() > refused, "the stand-in refused nothing");
    for part in [&format!("user \"{USER}\" of cluster \"{CONTEXT}\""), "Unauthorized (401)", "users[].user.token"] {
        assert!(e.contains(part), "no {part:?} in: {e}");
    }
    // The pods pane says the same: the collector's failure, as the console receives it.
    let failed = collector_failure(&estate.file("wrong.kubeconfig"));
    eprintln!("the pods pane says: {failed}");
    no_secret_in(&failed);
    for part in [&format!("user \"{USER}\" of cluster \"{CONTEXT}\""), "Unauthorized (401)", "put a valid one in the kubeconfig"] {
        assert!(failed.contains(part), "no {part:?} in: {failed}");
    }
    assert!(!failed.ends_with('…'), "the pane cuts the fix: {failed}");
}

/// sitrep's kube collector on NS with `kubeconfig`, refreshing each second, sending to `tx`.
fn collector(kubeconfig: &Path, tx: tokio::sync::mpsc::UnboundedSender<sitrep::model::Event>) -> impl Future<Output = ()> + use<> {
    let config = sitrep::config::KubeSource {
        enabled: true,
        refresh_secs: 0,
        kubeconfig: kubeconfig.display().to_string(),
        context: String::new(),
        namespaces: vec![NS.into()],
    };
    let pace = sitrep::sources::kube::Pace { refresh: Duration::from_secs(1), timeout: Duration::from_secs(5) };
    sitrep::sources::kube::run(config, pace, sitrep::clock::Clock::Real, tx)
}

/// The first failure the kube collector reports with `kubeconfig`.
fn collector_failure(kubeconfig: &Path) -> String {
    use sitrep::model::{Event, SourceId};
    runtime().block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let collector = tokio::spawn(collector(kubeconfig, tx));
        let failure = tokio::time::timeout(T, async {
            loop {
                match rx.recv().await {
                    Some(Event::SourceFailed { source: SourceId::Pods, error, .. }) => return error,
                    Some(_) => {}
                    None => return "the collector ended".to_string(),
                }
            }
        })
        .await
        .unwrap_or_else(|_| "no failure within 10s".to_string());
        collector.abort();
        failure
    })
}

#[test]
fn an_untrusted_ca_says_certificate_verify_failed_and_which_key_to_set() {
    let estate = estate();
    let kubeconfig = estate.kubeconfig("untrusted", ClusterTrust::CaFile(estate.file("other.crt")), UserAuth::Token(TOKEN.into()));
    let e = sitrep_error(&kubeconfig);
    for part in [&format!("of cluster \"{CONTEXT}\""), "certificate verify failed", "UnknownIssuer", "set certificate-authority"] {
        assert!(e.contains(part), "no {part:?} in: {e}");
    }
}

#[test]
fn an_expired_exec_token_says_unauthorized_and_to_run_the_plugin() {
    let estate = estate();
    let plugin = estate.plugin("stale-get-token", Some(Duration::from_secs(60)));
    let e = sitrep_error(&estate.kubeconfig("stale", estate.ca_file(), plugin));
    let run = format!("run `{} --cluster-name {CONTEXT}` yourself", estate.file("stale-get-token").display());
    for part in
        [&format!("user \"{USER}\" of cluster \"{CONTEXT}\""), "Unauthorized (401)", "the exec plugin gave an expired or wrong token", &run]
    {
        assert!(e.contains(part), "no {part:?} in: {e}");
    }
    let failed = collector_failure(&estate.file("stale.kubeconfig"));
    eprintln!("the pods pane says: {failed}");
    assert!(failed.contains(&run) && !failed.ends_with('…'), "the pane must keep the fix: {failed}");
}

#[test]
fn a_missing_token_file_is_named_with_its_key() {
    let estate = estate();
    let e = sitrep_error(&estate.kubeconfig("nofile", estate.ca_file(), UserAuth::TokenFile(estate.file("no-such-token"))));
    assert!(e.contains("tokenFile") && e.contains("no-such-token"), "{e}");
}

#[test]
fn a_watch_lives_across_exec_token_refreshes() {
    use sitrep::model::{Event, Observation, SourceId};
    let estate = estate();
    let kubeconfig = estate.kubeconfig("watch", estate.ca_file(), estate.plugin("watch-get-token", None));
    let runs = || std::fs::read_to_string(estate.file("watch-get-token.runs")).map(|t| t.lines().count()).unwrap_or(0);
    let rt = runtime();
    rt.block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let collector = tokio::spawn(collector(&kubeconfig, tx));
        // A test client of its own (the token form) makes a change every second.
        let maker = estate.kubeconfig("maker", estate.ca_file(), UserAuth::Token(TOKEN.into()));
        let maker = sitrep::backends::kube::client(&maker.display().to_string(), "", T).await;
        let maker = kube::Api::<k8s_openapi::api::core::v1::Pod>::namespaced(maker.expect("maker client"), NS);
        let cuts_at_start = estate.gate.watches_cut();
        let started = Instant::now();
        let mut made = Vec::new();
        let mut seen_after_cuts = None;
        let mut failures = Vec::new();
        let mut next_make = Instant::now();
        while started.elapsed() < Duration::from_secs(40) {
            if Instant::now() >= next_make {
                let name = format!("tick-{}", made.len());
                let pod = serde_json::from_value(serde_json::json!({
                    "metadata": {"name": name},
                    "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]},
                }))
                .expect("pod");
                maker.create(&Default::default(), &pod).await.expect("create pod");
                made.push((name, estate.gate.watches_cut() - cuts_at_start));
                next_make = Instant::now() + Duration::from_secs(1);
            }
            if let Ok(Some(event)) = tokio::time::timeout(Duration::from_millis(200), rx.recv()).await {
                match event {
                    Event::Observed { observation: Observation::Pods(snapshot), .. } => {
                        // A pod made after at least 6 watch ends (2 for each of the 3 watches) shows up.
                        let late = made.iter().find(|(_, cuts)| *cuts >= 6).map(|(n, _)| n.clone());
                        if let Some(late) = late
                            && snapshot.pods.iter().any(|p| p.name == late)
                        {
                            seen_after_cuts = Some(late);
                            break;
                        }
                    }
                    Event::SourceFailed { source: SourceId::Pods, error, .. } => failures.push(error),
                    _ => {}
                }
            }
        }
        collector.abort();
        for f in &failures {
            no_secret_in(f);
        }
        let cuts = estate.gate.watches_cut() - cuts_at_start;
        eprintln!("watch: {cuts} watch ends at token expiry, {} plugin runs, {} pods made, failures {failures:?}", runs(), made.len());
        assert!(seen_after_cuts.is_some(), "no pod made after 6 watch ends was seen ({cuts} ends; made {made:?}; failures {failures:?})");
        assert!(runs() >= 3, "the plugin ran {} times", runs());
        assert!(failures.is_empty(), "the watch failed on the way: {failures:?}");
        let log = std::fs::read_to_string(estate.file("trace.log")).expect("trace log");
        assert!(log.lines().count() > 100, "the trace log is nearly empty");
        eprintln!("trace log: {} lines, no secret in it", log.lines().count());
        for secret in [TOKEN, FILE_TOKEN, WRONG_TOKEN, EXEC_SECRET] {
            assert!(!log.contains(secret), "a secret shows in the trace log");
        }
    });
}

#[test]
fn sitrep_check_names_each_missing_or_unusable_file_with_its_kubeconfig_key() {
    let estate = estate();
    let path = estate.file("broken.kubeconfig");
    let spec = KubeconfigSpec {
        server: &estate.server,
        context: CONTEXT,
        namespace: NS,
        trust: ClusterTrust::CaFile(estate.file("gone-ca.crt")),
        user: UserAuth::CertFiles { cert: estate.file("gone-client.crt"), key: estate.file("ca.crt") },
    };
    write_kubeconfig_with(&path, &spec).expect("kubeconfig");
    // The same user with a tokenFile too (kubectl sends both): a missing one.
    let text = std::fs::read_to_string(&path)
        .expect("read")
        .replace("client-certificate:", &format!("tokenFile: {}\n    client-certificate:", estate.file("gone-token").display()));
    std::fs::write(&path, text).expect("write");
    let toml = estate.file("check-sitrep.toml");
    std::fs::write(&toml, format!("[kube]\nkubeconfig = {:?}\n", path.display().to_string())).expect("toml");
    let problems: Vec<String> = sitrep::check::run(Some(&toml), &sitrep::config::Env::default())
        .into_iter()
        .filter(|p| p.file == path)
        .map(|p| p.to_string())
        .collect();
    for p in &problems {
        eprintln!("sitrep check: {p}");
    }
    let user = format!("users[\"{USER}\"].user");
    for (key, file) in [
        (format!("clusters[\"{CONTEXT}\"].cluster.certificate-authority"), "gone-ca.crt"),
        (format!("{user}.tokenFile"), "gone-token"),
        (format!("{user}.client-certificate"), "gone-client.crt"),
        (format!("{user}.client-key"), "ca.crt: holds no PEM private key"),
    ] {
        assert!(problems.iter().any(|p| p.contains(&key) && p.contains(file)), "nothing names {key} {file}: {problems:#?}");
    }
    assert_eq!(problems.len(), 4, "{problems:#?}");
    // The console's connect refuses it the same way, before any request.
    let e = sitrep_error(&path);
    assert!(e.contains("certificate-authority") && e.contains("gone-ca.crt"), "{e}");
}
