//! The Kubernetes API stand-in judged by the real clients: kubectl (1.27, 1.32, 1.33) and the kube crate.
//! Each test serves a seeded lab cluster on a loopback port and drives it like an on-call engineer would.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, WatchEvent, WatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::watcher;
use sitrep::lab::kube::{
    Cluster, ClusterTrust, Gate, KubeconfigSpec, PodFault, Timings, TlsServing, UserAuth, serve_tls, write_exec_plugin,
    write_kubeconfig_with,
};
use tokio::process::Command;
use tokio::sync::oneshot;

#[path = "support/certs.rs"]
mod certs;

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

const KUBECTL_OLDEST: &str = "/usr/lib/google-cloud-sdk/bin/kubectl.1.27";
const KUBECTL_NEWEST: &str = "/usr/lib/google-cloud-sdk/bin/kubectl.1.33";

/// The secret of the exec plugin's tokens (`sitrep-lab.<expiry>.SECRET`).
const EXEC_SECRET: &str = "Standin-Exec-Secret-5eed";

/// A seeded stand-in served in-process as `sitrep lab` serves it (HTTPS, a CA of its own, an
/// exec plugin user with expiring tokens), with a kubeconfig pointing at it.
struct Lab {
    cluster: Cluster,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
    stop: Option<oneshot::Sender<()>>,
}

impl Lab {
    async fn start() -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Self::start_with(Timings { bookmark_every: Duration::from_millis(500), ..Timings::default() }).await
    }

    async fn start_with(timings: Timings) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let cluster = Cluster::with_timings(timings);
        cluster.seed_demo();
        let dir = tempfile::tempdir()?;
        let file = |name: &str| dir.path().join(name);
        certs::make_ca(dir.path(), "ca");
        certs::make_cert(dir.path(), "server", "kube-apiserver");
        let gate = Gate::default();
        gate.accept_stamped_tokens(EXEC_SECRET);
        let tls = TlsServing::from_files(&file("server.crt"), &file("server.key"), &file("ca.crt"), gate)?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let server = format!("https://{}", listener.local_addr()?);
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(serve_tls(listener, tls, cluster.clone(), async move {
            let _ = stopped.await;
        }));
        let plugin = file("get-token");
        write_exec_plugin(&plugin, EXEC_SECRET, Duration::from_secs(180), None)?;
        let kubeconfig = file("kubeconfig");
        let user = UserAuth::Exec { command: plugin, args: vec!["--cluster-name".into(), "sitrep-lab".into()] };
        let trust = ClusterTrust::CaData(std::fs::read(file("ca.crt"))?);
        write_kubeconfig_with(&kubeconfig, &KubeconfigSpec { server: &server, context: "sitrep-lab", namespace: "shop", trust, user })?;
        Ok(Self { cluster, dir, kubeconfig, stop: Some(stop) })
    }

    fn command(&self, kubectl: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(kubectl);
        cmd.arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(self.dir.path().join(format!("cache-{}", Path::new(kubectl).display().to_string().replace('/', "_"))))
            .args(args)
            .env("HOME", self.dir.path())
            .kill_on_drop(true);
        cmd
    }

    /// Runs kubectl to completion (30 s at most) and returns its output.
    async fn run(&self, kubectl: &str, args: &[&str]) -> Result<Output, Box<dyn std::error::Error + Send + Sync>> {
        let output = tokio::time::timeout(Duration::from_secs(30), self.command(kubectl, args).output())
            .await
            .map_err(|_| format!("kubectl {args:?} did not finish in 30s"))??;
        Ok(output)
    }

    /// Runs kubectl and returns stdout, failing the test on a non-zero exit.
    async fn ok(&self, kubectl: &str, args: &[&str]) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
        let output = self.run(kubectl, args).await?;
        let stdout = String::from_utf8_lossy(&output.stdout).to_string();
        if !output.status.success() {
            return Err(format!(
                "kubectl {args:?} failed ({}):\nstdout: {stdout}\nstderr: {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            )
            .into());
        }
        Ok(stdout)
    }

    async fn kubectl(&self, args: &[&str]) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
        self.ok("kubectl", args).await
    }

    /// Polls kubectl until its output satisfies `done`, or fails with the last output after `limit`.
    async fn kubectl_until(
        &self,
        args: &[&str],
        limit: Duration,
        done: impl Fn(&str) -> bool,
    ) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
        let deadline = Instant::now() + limit;
        loop {
            let out = self.kubectl(args).await?;
            if done(&out) {
                return Ok(out);
            }
            if Instant::now() > deadline {
                return Err(format!("kubectl {args:?} never satisfied the condition; last output:\n{out}").into());
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    async fn client(&self) -> Result<kube::Client, Box<dyn std::error::Error + Send + Sync>> {
        let config = kube::Config::from_custom_kubeconfig(Kubeconfig::read_from(&self.kubeconfig)?, &KubeConfigOptions::default()).await?;
        Ok(kube::Client::try_from(config)?)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Rows of `kubectl get` output whose first column starts with `prefix`.
fn rows<'a>(out: &'a str, prefix: &str) -> Vec<Vec<&'a str>> {
    out.lines().filter(|l| l.starts_with(prefix)).map(|l| l.split_whitespace().collect()).collect()
}

fn header(out: &str) -> Vec<&str> {
    out.lines().next().unwrap_or("").split_whitespace().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_pods_shows_the_seeded_shop_running_and_ready() -> TestResult {
    let lab = Lab::start().await?;
    let pods = lab.kubectl(&["get", "pods"]).await?;
    assert_eq!(header(&pods), ["NAME", "READY", "STATUS", "RESTARTS", "AGE"], "{pods}");
    for (app, replicas) in [("api-", 3), ("worker-", 2), ("web-", 2)] {
        let rows = rows(&pods, app);
        assert_eq!(rows.len(), replicas, "{app} pods in:\n{pods}");
        assert!(rows.iter().all(|r| r[1] == "1/1" && r[2] == "Running" && r[3] == "0"), "{pods}");
    }
    let wide = lab.kubectl(&["get", "pods", "-o", "wide"]).await?;
    assert!(header(&wide).starts_with(&["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"]), "{wide}");
    assert!(rows(&wide, "api-").iter().all(|r| r[5].starts_with("10.244.") && r[6] == "lab-node-1"), "{wide}");

    let deployments = lab.kubectl(&["get", "deployments"]).await?;
    assert_eq!(header(&deployments), ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"], "{deployments}");
    assert_eq!(&rows(&deployments, "api ")[0][..4], ["api", "3/3", "3", "3"], "{deployments}");
    let replicasets = lab.kubectl(&["get", "rs"]).await?;
    assert_eq!(header(&replicasets), ["NAME", "DESIRED", "CURRENT", "READY", "AGE"], "{replicasets}");
    assert_eq!(rows(&replicasets, "api-").len(), 2, "{replicasets}");
    let namespaces = lab.kubectl(&["get", "ns"]).await?;
    assert_eq!(header(&namespaces), ["NAME", "STATUS", "AGE"]);
    for ns in ["default ", "kube-system ", "shop "] {
        assert_eq!(rows(&namespaces, ns)[0][1], "Active", "{namespaces}");
    }
    let events = lab.kubectl(&["get", "events"]).await?;
    assert_eq!(header(&events), ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"], "{events}");
    assert!(events.contains("ScalingReplicaSet") && events.contains("Started"), "{events}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_pod_prints_its_scheduling_and_start_events() -> TestResult {
    let lab = Lab::start().await?;
    let pods = lab.kubectl(&["get", "pods", "-l", "app=web", "-o", "name"]).await?;
    let pod = pods.lines().next().ok_or("no web pod")?.trim_start_matches("pod/");
    let described = lab.kubectl(&["describe", "pod", pod]).await?;
    assert!(described.contains("Node:             lab-node-1/192.168.49.2"), "{described}");
    assert!(described.contains("Status:           Running"), "{described}");
    let events = described.split("Events:").nth(1).ok_or("no Events section")?;
    for reason in ["Scheduled", "Pulled", "Created", "Started"] {
        assert!(events.contains(reason), "{reason} missing from:\n{events}");
    }
    assert!(events.contains("default-scheduler") && events.contains("kubelet"), "{events}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollout_history_lists_both_api_revisions() -> TestResult {
    let lab = Lab::start().await?;
    let history = lab.kubectl(&["rollout", "history", "deployment/api"]).await?;
    let revisions: Vec<&str> = history.lines().filter_map(|l| l.split_whitespace().next()).filter(|w| w.parse::<u32>().is_ok()).collect();
    assert_eq!(revisions, ["1", "2"], "{history}");
    let rev1 = lab.kubectl(&["rollout", "history", "deployment/api", "--revision=1"]).await?;
    assert!(rev1.contains("registry.local/shop/api:1.4.1"), "{rev1}");
    Ok(())
}

/// Restart counts of the pods whose STATUS is CrashLoopBackOff.
fn crashlooping_restarts(pods: &str) -> Vec<u32> {
    rows(pods, "api-").iter().filter(|r| r[2] == "CrashLoopBackOff").filter_map(|r| r[3].parse().ok()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_bad_crashloops_the_new_pods_while_the_old_ones_keep_serving() -> TestResult {
    let lab = Lab::start().await?;
    lab.cluster.deploy_bad("shop", "api")?;
    let get = ["get", "pods", "-l", "app=api"];
    let pods = lab.kubectl_until(&get, Duration::from_secs(30), |out| crashlooping_restarts(out).iter().any(|&n| n >= 2)).await?;
    let ready_old: Vec<_> = rows(&pods, "api-").into_iter().filter(|r| r[1] == "1/1" && r[2] == "Running").collect();
    assert_eq!(ready_old.len(), 3, "the old ReplicaSet keeps its 3 ready pods:\n{pods}");
    assert!(pods.contains(" ago)"), "RESTARTS shows when the last restart was:\n{pods}");

    let image = lab.kubectl(&["get", "deploy", "api", "-o", "jsonpath={.spec.template.spec.containers[0].image}"]).await?;
    assert_eq!(image, "registry.local/shop/api:1.5.0-bad");
    let bad = rows(&pods, "api-").into_iter().find(|r| r[2] == "CrashLoopBackOff").ok_or("no crashing pod")?;
    let described = lab.kubectl(&["describe", "pod", bad[0]]).await?;
    assert!(described.contains("Reason:       CrashLoopBackOff"), "{described}");
    assert!(described.contains("Exit Code:    1"), "{described}");
    assert!(described.contains("Back-off restarting failed container api"), "{described}");
    let warnings = lab.kubectl(&["get", "events", "--field-selector", "type=Warning"]).await?;
    assert!(warnings.contains("BackOff"), "{warnings}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oom_and_image_pull_faults_show_their_own_reasons() -> TestResult {
    let lab = Lab::start().await?;
    lab.cluster.deploy_fault("shop", "web", PodFault::OomKilled)?;
    lab.cluster.deploy_fault("shop", "worker", PodFault::ImagePullBackOff)?;
    let workers =
        lab.kubectl_until(&["get", "pods", "-l", "app=worker"], Duration::from_secs(20), |out| out.contains("ImagePullBackOff")).await?;
    assert_eq!(rows(&workers, "worker-").iter().filter(|r| r[2] == "Running").count(), 2, "{workers}");
    let web = lab.kubectl_until(&["get", "pods", "-l", "app=web"], Duration::from_secs(20), |out| out.contains("CrashLoopBackOff")).await?;
    let oom = rows(&web, "web-").into_iter().find(|r| r[2] == "CrashLoopBackOff").ok_or("no crashing web pod")?;
    let described = lab.kubectl(&["describe", "pod", oom[0]]).await?;
    assert!(described.contains("Reason:       OOMKilled") && described.contains("Exit Code:    137"), "{described}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollout_undo_brings_back_the_good_replicaset_and_rollout_status_completes() -> TestResult {
    let lab = Lab::start().await?;
    let good_rs = lab.kubectl(&["get", "rs", "-l", "app=api", "-o", "jsonpath={.items[?(@.spec.replicas==3)].metadata.name}"]).await?;
    lab.cluster.deploy_bad("shop", "api")?;
    lab.kubectl_until(&["get", "pods", "-l", "app=api"], Duration::from_secs(20), |out| out.contains("CrashLoopBackOff")).await?;
    let undo = lab.kubectl(&["rollout", "undo", "deployment/api"]).await?;
    assert!(undo.contains("rolled back"), "{undo}");
    let status = lab.kubectl(&["rollout", "status", "deployment/api", "--timeout=30s"]).await?;
    assert!(status.contains("successfully rolled out"), "{status}");
    let image = lab.kubectl(&["get", "deploy", "api", "-o", "jsonpath={.spec.template.spec.containers[0].image}"]).await?;
    assert_eq!(image, "registry.local/shop/api:1.4.2");
    let pods = lab
        .kubectl_until(&["get", "pods", "-l", "app=api"], Duration::from_secs(20), |out| {
            let rows = rows(out, "api-");
            rows.len() == 3 && rows.iter().all(|r| r[1] == "1/1" && r[0].starts_with(&format!("{good_rs}-")))
        })
        .await?;
    assert!(!pods.contains("CrashLoopBackOff"), "{pods}");
    let history = lab.kubectl(&["rollout", "history", "deployment/api"]).await?;
    let revisions: Vec<&str> = history.lines().filter_map(|l| l.split_whitespace().next()).filter(|w| w.parse::<u32>().is_ok()).collect();
    assert_eq!(revisions, ["1", "3", "4"], "the reused ReplicaSet moves to revision 4:\n{history}");
    Ok(())
}

const SHOP_CART: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: cart
  namespace: shop
spec:
  replicas: 2
  selector:
    matchLabels: {app: cart}
  template:
    metadata:
      labels: {app: cart}
    spec:
      containers:
      - name: cart
        image: registry.local/shop/cart:IMAGE_TAG
        ports:
        - containerPort: 8080
"#;

async fn apply_cart(lab: &Lab, kubectl: &str, tag: &str) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let manifest = lab.dir.path().join(format!("cart-{tag}.yaml"));
    std::fs::write(&manifest, SHOP_CART.replace("IMAGE_TAG", tag))?;
    let path = manifest.display().to_string();
    lab.ok(kubectl, &["apply", "-f", &path]).await
}

/// apply (create), apply again with a new image (a rolling update), scale, and wait on rollout status.
async fn apply_roll_and_scale(lab: &Lab, kubectl: &str) -> TestResult {
    let created = apply_cart(lab, kubectl, "1.0.0").await?;
    assert!(created.contains("deployment.apps/cart created"), "{created}");
    lab.ok(kubectl, &["rollout", "status", "deployment/cart", "--timeout=30s"]).await?;
    let rolled = apply_cart(lab, kubectl, "1.1.0").await?;
    assert!(rolled.contains("deployment.apps/cart configured"), "{rolled}");
    let status = lab.ok(kubectl, &["rollout", "status", "deployment/cart", "--timeout=30s"]).await?;
    assert!(status.contains("successfully rolled out"), "{status}");
    let rs = lab.ok(kubectl, &["get", "rs", "-l", "app=cart"]).await?;
    let counts: Vec<(String, String)> = rows(&rs, "cart-").iter().map(|r| (r[1].to_string(), r[3].to_string())).collect();
    assert_eq!(counts.len(), 2, "two ReplicaSets after the second apply:\n{rs}");
    assert!(counts.contains(&("2".into(), "2".into())) && counts.contains(&("0".into(), "0".into())), "{rs}");
    let unchanged = apply_cart(lab, kubectl, "1.1.0").await?;
    assert!(unchanged.contains("unchanged"), "{unchanged}");

    let scaled = lab.ok(kubectl, &["scale", "deployment/cart", "--replicas=4"]).await?;
    assert!(scaled.contains("scaled"), "{scaled}");
    let deployments = lab
        .kubectl_until(&["get", "deploy", "cart"], Duration::from_secs(20), |out| rows(out, "cart").first().is_some_and(|r| r[1] == "4/4"))
        .await?;
    assert_eq!(&rows(&deployments, "cart")[0][..4], ["cart", "4/4", "4", "4"]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_creates_a_deployment_and_a_second_apply_rolls_it_then_scale_grows_it() -> TestResult {
    let lab = Lab::start().await?;
    apply_roll_and_scale(&lab, "kubectl").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_pod_is_recreated_by_its_replicaset() -> TestResult {
    let lab = Lab::start().await?;
    let before = lab.kubectl(&["get", "pods", "-l", "app=worker", "-o", "name"]).await?;
    let victim = before.lines().next().ok_or("no worker pod")?.to_string();
    let deleted = lab.kubectl(&["delete", &victim]).await?;
    assert!(deleted.contains("deleted"), "{deleted}");
    let after = lab
        .kubectl_until(&["get", "pods", "-l", "app=worker"], Duration::from_secs(20), |out| {
            let rows = rows(out, "worker-");
            rows.len() == 2 && rows.iter().all(|r| r[1] == "1/1")
        })
        .await?;
    assert!(!after.contains(victim.trim_start_matches("pod/")), "{after}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_pods_watch_streams_the_bad_rollout_as_it_happens() -> TestResult {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let lab = Lab::start().await?;
    let mut watch = lab.command("kubectl", &["get", "pods", "-l", "app=api", "-w"]).stdout(std::process::Stdio::piped()).spawn()?;
    let mut lines = BufReader::new(watch.stdout.take().ok_or("no stdout")?).lines();
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !seen.iter().any(|l: &String| l.contains("CrashLoopBackOff")) {
        let left = deadline.saturating_duration_since(Instant::now());
        let line =
            tokio::time::timeout(left, lines.next_line()).await.map_err(|_| format!("watch output so far:\n{}", seen.join("\n")))??;
        seen.push(line.ok_or("kubectl get -w ended early")?);
        if seen.len() == 4 {
            // Header and the three running pods are listed: now break the deployment.
            lab.cluster.deploy_bad("shop", "api")?;
        }
    }
    watch.start_kill()?;
    let out = seen.join("\n");
    assert_eq!(header(&out), ["NAME", "READY", "STATUS", "RESTARTS", "AGE"], "{out}");
    assert_eq!(out.matches("NAME").count(), 1, "headers are printed once:\n{out}");
    for stage in ["Pending", "ContainerCreating", "CrashLoopBackOff"] {
        assert!(out.contains(stage), "watch missed {stage}:\n{out}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollout_status_gives_up_when_the_progress_deadline_passes() -> TestResult {
    let lab = Lab::start().await?;
    lab.kubectl(&["patch", "deployment/api", "-p", r#"{"spec":{"progressDeadlineSeconds":2}}"#]).await?;
    lab.cluster.deploy_bad("shop", "api")?;
    let status = lab.run("kubectl", &["rollout", "status", "deployment/api", "--timeout=30s"]).await?;
    let stderr = String::from_utf8_lossy(&status.stderr);
    assert!(!status.status.success());
    assert!(stderr.contains("exceeded its progress deadline"), "{stderr}");
    let conditions = lab.kubectl(&["get", "deploy", "api", "-o", "jsonpath={.status.conditions[?(@.type=='Progressing')].reason}"]).await?;
    assert_eq!(conditions, "ProgressDeadlineExceeded");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oldest_and_newest_kubectl_drive_the_same_runbook() -> TestResult {
    let lab = Lab::start().await?;
    for kubectl in [KUBECTL_OLDEST, KUBECTL_NEWEST] {
        let pods = lab.ok(kubectl, &["get", "pods"]).await?;
        assert_eq!(header(&pods), ["NAME", "READY", "STATUS", "RESTARTS", "AGE"], "{kubectl}: {pods}");
        assert_eq!(rows(&pods, "api-").len(), 3, "{kubectl}: {pods}");
        let web = lab.ok(kubectl, &["get", "pods", "-l", "app=web", "-o", "name"]).await?;
        let pod = web.lines().next().ok_or("no web pod")?;
        let described = lab.ok(kubectl, &["describe", pod]).await?;
        assert!(described.contains("Started"), "{kubectl}: {described}");
        let history = lab.ok(kubectl, &["rollout", "history", "deployment/api"]).await?;
        assert!(history.contains("REVISION"), "{kubectl}: {history}");
        let can_i = lab.ok(kubectl, &["auth", "can-i", "delete", "pods"]).await?;
        assert_eq!(can_i.trim(), "yes");
    }
    apply_roll_and_scale(&lab, KUBECTL_OLDEST).await?;
    lab.ok(KUBECTL_NEWEST, &["delete", "deployment", "cart"]).await?;
    let mut lab_newest = Lab::start().await?;
    apply_roll_and_scale(&lab_newest, KUBECTL_NEWEST).await?;
    lab_newest.cluster.deploy_bad("shop", "api")?;
    lab_newest.ok(KUBECTL_NEWEST, &["rollout", "undo", "deployment/api"]).await?;
    lab_newest.ok(KUBECTL_OLDEST, &["rollout", "status", "deployment/api", "--timeout=30s"]).await?;
    lab_newest.stop.take();
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_errors_read_like_the_real_server() -> TestResult {
    let lab = Lab::start().await?;
    let missing = lab.run("kubectl", &["get", "pod", "nope"]).await?;
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("Error from server (NotFound): pods \"nope\" not found"));
    let manifest = lab.dir.path().join("shop.yaml");
    std::fs::write(&manifest, "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n")?;
    let twice = lab.run("kubectl", &["create", "-f", &manifest.display().to_string()]).await?;
    let stderr = String::from_utf8_lossy(&twice.stderr);
    assert!(stderr.contains("(AlreadyExists)") && stderr.contains("namespaces \"shop\" already exists"), "{stderr}");
    let mismatched = SHOP_CART.replace("matchLabels: {app: cart}", "matchLabels: {app: kart}").replace("IMAGE_TAG", "1");
    std::fs::write(&manifest, mismatched)?;
    let invalid = lab.run("kubectl", &["apply", "-f", &manifest.display().to_string()]).await?;
    let stderr = String::from_utf8_lossy(&invalid.stderr);
    assert!(stderr.contains("is invalid") && stderr.contains("`selector` does not match template `labels`"), "{stderr}");
    let unknown = lab.run("kubectl", &["get", "configmaps"]).await?;
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(!unknown.status.success() && stderr.contains("the server doesn't have a resource type \"configmaps\""), "{stderr}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_identity_is_refused_writes_and_can_i_says_no() -> TestResult {
    let lab = Lab::start().await?;
    lab.cluster.deny_verbs(&["create", "delete", "patch", "update"]);
    let can_delete = lab.run("kubectl", &["auth", "can-i", "delete", "pods"]).await?;
    assert_eq!(String::from_utf8_lossy(&can_delete.stdout).trim(), "no");
    assert_eq!(lab.kubectl(&["auth", "can-i", "list", "pods"]).await?.trim(), "yes");
    let refused = lab.run("kubectl", &["scale", "deployment/api", "--replicas=1"]).await?;
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("(Forbidden)") && stderr.contains("cannot patch"), "{stderr}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_crate_lists_gets_and_watches_the_lab() -> TestResult {
    let lab = Lab::start().await?;
    let client = lab.client().await?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "shop");
    let listed = pods.list(&ListParams::default().labels("app=api")).await?;
    assert_eq!(listed.items.len(), 3);
    assert!(listed.metadata.resource_version.is_some());
    let api: Deployment = Api::<Deployment>::namespaced(client.clone(), "shop").get("api").await?;
    let api = serde_json::to_value(&api)?;
    let image = api.pointer("/spec/template/spec/containers/0/image").and_then(|i| i.as_str());
    assert_eq!(image, Some("registry.local/shop/api:1.4.2"));

    let stream = watcher(pods.clone(), watcher::Config::default().labels("app=api").timeout(10));
    let mut stream = std::pin::pin!(stream);
    let mut initial_done = false;
    lab.cluster.deploy_bad("shop", "api")?;
    let seen_crash = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(event) = stream.try_next().await? {
            match event {
                watcher::Event::InitDone => initial_done = true,
                watcher::Event::Apply(pod) if initial_done => {
                    let statuses = pod.status.and_then(|s| s.container_statuses).unwrap_or_default();
                    let crashing = statuses.iter().any(|s| {
                        s.state.as_ref().and_then(|st| st.waiting.as_ref()).and_then(|w| w.reason.as_deref()) == Some("CrashLoopBackOff")
                    });
                    if crashing {
                        return Ok::<bool, watcher::Error>(true);
                    }
                }
                _ => {}
            }
        }
        Ok(false)
    })
    .await??;
    assert!(seen_crash, "the watcher saw a pod enter CrashLoopBackOff");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watches_get_bookmarks_and_410_gone_after_compaction() -> TestResult {
    let lab = Lab::start().await?;
    let pods: Api<Pod> = Api::namespaced(lab.client().await?, "shop");
    let listed = pods.list(&ListParams::default()).await?;
    let version = listed.metadata.resource_version.ok_or("list without resourceVersion")?;
    let params = WatchParams::default().timeout(5);
    let mut events = pods.watch(&params, &version).await?.boxed();
    let bookmark = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(event) = events.try_next().await? {
            if let WatchEvent::Bookmark(b) = event {
                return Ok::<_, kube::Error>(Some(b.metadata.resource_version));
            }
        }
        Ok(None)
    })
    .await??;
    assert!(bookmark.is_some_and(|rv| rv.parse::<u64>().is_ok()), "a BOOKMARK with a resourceVersion arrives");

    lab.cluster.deploy_bad("shop", "api")?;
    lab.cluster.compact_history();
    let mut stale = pods.watch(&params, &version).await?.boxed();
    match stale.try_next().await? {
        Some(WatchEvent::Error(status)) => assert_eq!(status.code, 410),
        other => return Err(format!("expected 410 Gone, got {other:?}").into()),
    }
    Ok(())
}

/// Replicas of the scale test; `SITREP_KUBE_SCALE` overrides it for measurements.
fn scale_target() -> usize {
    std::env::var("SITREP_KUBE_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(10_000)
}

/// Follows pods with `kube::runtime::watcher` (list, then watch, relisting on 410) until `want`
/// of them are Ready; returns how many (re)lists that took.
async fn watch_until_ready(api: Api<Pod>, want: usize) -> Result<usize, watcher::Error> {
    let ready = |pod: &Pod| {
        let conditions = pod.status.as_ref().and_then(|s| s.conditions.as_ref());
        conditions.is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
    };
    let name = |pod: &Pod| pod.metadata.name.clone().unwrap_or_default();
    let (mut seen, mut relisting) = (std::collections::HashMap::new(), std::collections::HashMap::new());
    let mut lists = 0;
    let stream = watcher(api, watcher::Config::default().labels("app=web"));
    let mut stream = std::pin::pin!(stream);
    while let Some(event) = stream.try_next().await? {
        match event {
            watcher::Event::Init => {
                lists += 1;
                relisting.clear();
            }
            watcher::Event::InitApply(pod) => {
                relisting.insert(name(&pod), ready(&pod));
            }
            watcher::Event::InitDone => seen = std::mem::take(&mut relisting),
            watcher::Event::Apply(pod) => {
                seen.insert(name(&pod), ready(&pod));
            }
            watcher::Event::Delete(pod) => {
                seen.remove(&name(&pod));
            }
        }
        if seen.values().filter(|r| **r).count() >= want {
            return Ok(lists);
        }
    }
    Ok(lists)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_web_pods_all_get_ready_and_kubectl_and_watchers_still_answer() -> TestResult {
    let lab = Lab::start().await?;
    let want = scale_target();
    let api: Api<Pod> = Api::namespaced(lab.client().await?, "shop");
    // Watching from before the scale: the watcher must keep up with (or relist across) 10,000 starts.
    let watching = tokio::spawn(watch_until_ready(api.clone(), want));
    let started = Instant::now();
    lab.kubectl(&["scale", "deployment/web", &format!("--replicas={want}")]).await?;
    let deadline = started + Duration::from_secs(120);
    loop {
        let web = lab.cluster.object("deployments", "shop", "web").ok_or("deployment web vanished")?;
        let count = |key: &str| web.pointer(&format!("/status/{key}")).and_then(|v| v.as_u64()).unwrap_or(0) as usize;
        if count("availableReplicas") == want && count("updatedReplicas") == want && count("replicas") == want {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!("web never got {want} available pods; status: {}", web["status"]).into());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let ready_after = started.elapsed();
    let lists = tokio::time::timeout(Duration::from_secs(60), watching).await.map_err(|_| "the watcher never saw every pod Ready")???;
    let watcher_after = started.elapsed();

    let asked = Instant::now();
    let deploy = lab.kubectl(&["get", "deploy", "web"]).await?;
    let get_deploy = asked.elapsed();
    let web = rows(&deploy, "web");
    assert_eq!(web.first().map(|r| r[1]), Some(format!("{want}/{want}").as_str()), "{deploy}");

    let asked = Instant::now();
    let pods = lab.kubectl(&["get", "pods", "-A", "--no-headers"]).await?;
    let get_pods = asked.elapsed();
    let running_web = pods.lines().filter(|l| l.contains(" web-") && l.contains(" 1/1 ") && l.contains(" Running ")).count();
    assert_eq!(running_web, want, "every web pod is listed Running and 1/1");

    let asked = Instant::now();
    let relisted = tokio::time::timeout(Duration::from_secs(60), watch_until_ready(api, want)).await??;
    assert_eq!(relisted, 1, "a fresh watcher needs one list");
    let rss = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let rss = rss.lines().find(|l| l.starts_with("VmRSS")).unwrap_or("VmRSS: ?").to_string();
    eprintln!(
        "{want} pods: ready after {:.1}s, watcher saw them after {:.1}s with {lists} list(s), kubectl get deploy {:.2}s, \
         get pods -A {:.2}s, fresh watcher list {:.2}s, test process {rss}",
        ready_after.as_secs_f64(),
        watcher_after.as_secs_f64(),
        get_deploy.as_secs_f64(),
        get_pods.as_secs_f64(),
        asked.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Not a check: serves a seeded lab for a person to poke with kubectl
/// (`cargo test --test kube_standin -- --ignored --nocapture`; kubeconfig path is printed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn serve_the_lab_for_manual_poking() -> TestResult {
    let lab = Lab::start().await?;
    println!("export KUBECONFIG={}", lab.kubeconfig.display());
    let secs = std::env::var("SITREP_KUBE_POKE_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(120);
    tokio::time::sleep(Duration::from_secs(secs)).await;
    Ok(())
}

/// A pod manifest (JSON, so control characters travel as `\u` escapes) with the given name and labels.
fn pod_manifest(name: &str, labels: &serde_json::Value) -> String {
    serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {"containers": [{"name": "app", "image": "shop/api:1"}]},
    })
    .to_string()
}

/// What a real API server refuses, the stand-in refuses with the same 422 and words, for the
/// oldest and newest kubectl, on create, apply and patch; nothing hostile is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_names_and_labels_are_refused_with_the_servers_422() -> TestResult {
    let lab = Lab::start().await?;
    let subdomain = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
    let label = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
    let cases = [
        (
            "title",
            pod_manifest("api\u{1b}]0;pwned\u{7}", &serde_json::json!({"app": "x"})),
            subdomain,
            r#"metadata.name: Invalid value: "api\x1b]0;pwned\a""#,
        ),
        (
            "bidi",
            pod_manifest("api\u{202e}gpj", &serde_json::json!({"app": "x"})),
            subdomain,
            r#"metadata.name: Invalid value: "api\u202egpj""#,
        ),
        (
            "label",
            pod_manifest("api-evil-label", &serde_json::json!({"app": "x\u{1b}[2J"})),
            label,
            r#"metadata.labels: Invalid value: "x\x1b[2J""#,
        ),
    ];
    for kubectl in [KUBECTL_OLDEST, "kubectl", KUBECTL_NEWEST] {
        for (case, manifest, rule, field) in &cases {
            let file = lab.dir.path().join(format!("{case}.json"));
            std::fs::write(&file, manifest)?;
            for verb in ["create", "apply"] {
                let out = lab.run(kubectl, &[verb, "-f", &file.display().to_string()]).await?;
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert!(!out.status.success(), "{kubectl} {verb} {case} must fail: {stderr}");
                assert!(
                    stderr.contains("is invalid") && stderr.contains(rule) && stderr.contains(field),
                    "{kubectl} {verb} {case}: {stderr}"
                );
                assert!(!stderr.contains('\u{1b}') && !stderr.contains('\u{202e}'), "the message itself is escaped: {stderr:?}");
            }
        }
    }
    let pods = lab.kubectl(&["get", "pods", "-o", "name"]).await?;
    // The hostile names as kubectl would print them; a generated suffix may hold "gpj" by chance.
    let hostile = |l: &str| l.contains("evil") || l.contains("pwned") || l.contains('\u{202e}');
    assert!(!pods.lines().any(hostile), "nothing hostile was stored:\n{pods}");

    let victim = pods.lines().find(|l| l.starts_with("pod/api-")).ok_or("no api pod")?.trim_start_matches("pod/").to_string();
    for kubectl in [KUBECTL_OLDEST, KUBECTL_NEWEST] {
        let patch = r#"{"metadata":{"labels":{"evil":"\u001b[2J"}}}"#;
        let out = lab.run(kubectl, &["patch", "pod", &victim, "--type", "merge", "-p", patch]).await?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && stderr.contains(label) && stderr.contains(r#""\x1b[2J""#), "{kubectl} patch: {stderr}");
    }
    let stored = lab.cluster.object("pods", "shop", &victim).ok_or("the patched pod vanished")?;
    assert!(stored.pointer("/metadata/labels/evil").is_none(), "the refused patch changed nothing: {stored}");
    Ok(())
}

/// Path segments are percent-decoded as the real server's `url.Path` is: a pod named `api-…` is
/// found (and deleted) through `api%2D…`, by both kubectl versions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_percent_encoded_path_finds_and_deletes_the_pod() -> TestResult {
    let lab = Lab::start().await?;
    for kubectl in [KUBECTL_OLDEST, KUBECTL_NEWEST] {
        let pods = lab.kubectl(&["get", "pods", "-l", "app=api", "-o", "name"]).await?;
        let victim = pods.lines().next().ok_or("no api pod")?.trim_start_matches("pod/").to_string();
        let encoded = victim.replace('-', "%2D");
        let got = lab.ok(kubectl, &["get", "--raw", &format!("/api/v1/namespaces/shop/pods/{encoded}")]).await?;
        assert!(got.contains(&format!("\"name\":\"{victim}\"")), "{kubectl} get --raw {encoded}: {got}");
        lab.ok(kubectl, &["delete", "--raw", &format!("/api/v1/namespaces/shop/pods/{encoded}")]).await?;
        assert!(lab.cluster.object("pods", "shop", &victim).is_none(), "{kubectl} delete --raw {encoded} left {victim}");
        let bad = lab.run(kubectl, &["get", "--raw", "/api/v1/namespaces/shop/pods/api%zz"]).await?;
        assert!(!bad.status.success(), "a broken escape is refused");
    }
    Ok(())
}

/// `kubectl cordon` marks a node `spec.unschedulable`: `get nodes` shows `Ready,SchedulingDisabled`,
/// running pods stay, and with both nodes cordoned a new pod stays Pending on no node (with the
/// scheduler's FailedScheduling event) until `kubectl uncordon`, when it is placed and runs. For the
/// oldest and newest kubectl.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cordoned_node_gets_no_new_pods_until_uncordoned() -> TestResult {
    let lab = Lab::start().await?;
    for kubectl in [KUBECTL_OLDEST, KUBECTL_NEWEST] {
        let nodes = lab.ok(kubectl, &["get", "nodes"]).await?;
        assert_eq!(&rows(&nodes, "lab-node-1")[0][..3], ["lab-node-1", "Ready", "control-plane"], "{kubectl}:\n{nodes}");
        let cordoned = lab.ok(kubectl, &["cordon", "lab-node-1", "lab-node-2"]).await?;
        assert!(cordoned.contains("node/lab-node-1 cordoned") && cordoned.contains("node/lab-node-2 cordoned"), "{kubectl}: {cordoned}");
        let nodes = lab.ok(kubectl, &["get", "nodes"]).await?;
        assert_eq!(rows(&nodes, "lab-node-1")[0][1], "Ready,SchedulingDisabled", "{kubectl}:\n{nodes}");

        let before = lab.ok(kubectl, &["get", "pods", "-l", "app=worker", "-o", "name"]).await?;
        let victim = before.lines().next().ok_or("no worker pod")?.to_string();
        lab.ok(kubectl, &["delete", &victim]).await?;
        let survivor = before.lines().nth(1).ok_or("one worker pod only")?.trim_start_matches("pod/").to_string();
        let pending = lab
            .kubectl_until(&["get", "pods", "-l", "app=worker", "-o", "wide"], Duration::from_secs(20), |out| {
                rows(out, "worker-").iter().any(|r| r[2] == "Pending")
            })
            .await?;
        // Long past the lab's pod start (400 ms): a scheduled pod would be Running by now.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let still = lab.ok(kubectl, &["get", "pods", "-l", "app=worker", "-o", "wide"]).await?;
        let waiting: Vec<Vec<&str>> = rows(&still, "worker-").into_iter().filter(|r| r[2] == "Pending").collect();
        assert_eq!(waiting.len(), 1, "{kubectl}: the replacement pod waits on a cordoned node:\n{pending}\n{still}");
        assert_eq!(waiting[0][1], "0/1", "{still}");
        assert_eq!(waiting[0][6], "<none>", "{kubectl}: no node for the new pod:\n{still}");
        let row = rows(&still, &survivor);
        assert!(row.first().is_some_and(|r| r[2] == "Running"), "{kubectl}: a cordon does not evict:\n{still}");
        let events = lab.ok(kubectl, &["get", "events"]).await?;
        assert!(
            events.contains("FailedScheduling") && events.contains("2 node(s) were unschedulable"),
            "{kubectl}: the scheduler says why:\n{events}"
        );

        let uncordoned = lab.ok(kubectl, &["uncordon", "lab-node-1"]).await?;
        assert!(uncordoned.contains("node/lab-node-1 uncordoned"), "{kubectl}: {uncordoned}");
        let nodes = lab.ok(kubectl, &["get", "nodes"]).await?;
        assert_eq!(rows(&nodes, "lab-node-1")[0][1], "Ready", "{kubectl}:\n{nodes}");
        assert_eq!(rows(&nodes, "lab-node-2")[0][1], "Ready,SchedulingDisabled", "{kubectl}:\n{nodes}");
        let placed = lab
            .kubectl_until(&["get", "pods", "-l", "app=worker", "-o", "wide"], Duration::from_secs(20), |out| {
                let rows = rows(out, "worker-");
                rows.len() == 2 && rows.iter().all(|r| r[1] == "1/1" && r[2] == "Running" && r[6] == "lab-node-1")
            })
            .await?;
        assert!(!placed.contains("Pending"), "{placed}");
        lab.ok(kubectl, &["uncordon", "lab-node-2"]).await?;
    }
    Ok(())
}

/// `kubectl drain` finds `pods/eviction` in discovery and evicts (it prints `evicting pod`, which it
/// does not when it falls back to deleting): every pod leaves lab-node-1 and its ReplicaSet starts it
/// on lab-node-2. The eviction REST refuses as the real one: a body naming another pod (400), a pod
/// that is gone (404), an identity denied `create` (403 on `pods/eviction`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_evicts_every_pod_to_the_other_node_and_evictions_refuse_as_the_real_server() -> TestResult {
    for kubectl in [KUBECTL_OLDEST, KUBECTL_NEWEST] {
        let lab = Lab::start().await?;
        let before = rows(&lab.ok(kubectl, &["get", "pods", "-o", "wide"]).await?, "").len();
        let out = lab.run(kubectl, &["drain", "lab-node-1", "--ignore-daemonsets", "--timeout=60s"]).await?;
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "{kubectl} drain: {stdout}{stderr}");
        // Where `evicting pod` goes (stdout or stderr) changed between kubectl versions.
        let said = format!("{stdout}{stderr}");
        assert!(stdout.contains("node/lab-node-1 drained") && said.contains("evicting pod shop/api-"), "{kubectl}: {said}");
        let moved = lab
            .kubectl_until(&["get", "pods", "-o", "wide"], Duration::from_secs(30), |out| {
                let rows = rows(out, "");
                rows.len() == before && rows.iter().skip(1).all(|r| r[2] == "Running" && r[6] == "lab-node-2")
            })
            .await?;
        assert!(!moved.contains("lab-node-1"), "{moved}");

        let body = lab.dir.path().join("eviction.json");
        let pod = rows(&moved, "api-")[0][0].to_string();
        let eviction =
            |name: &str| format!(r#"{{"apiVersion":"policy/v1","kind":"Eviction","metadata":{{"name":"{name}","namespace":"shop"}}}}"#);
        let path = |name: &str| format!("/api/v1/namespaces/shop/pods/{name}/eviction");
        std::fs::write(&body, eviction("someone-else"))?;
        let body_arg = body.display().to_string();
        let wrong = lab.run(kubectl, &["create", "--raw", &path(&pod), "-f", &body_arg]).await?;
        let said = String::from_utf8_lossy(&wrong.stderr);
        assert!(!wrong.status.success() && said.contains("name in URL does not match name in Eviction object"), "{kubectl}: {said}");
        std::fs::write(&body, eviction("api-gone"))?;
        let gone = lab.run(kubectl, &["create", "--raw", &path("api-gone"), "-f", &body_arg]).await?;
        let said = String::from_utf8_lossy(&gone.stderr);
        assert!(!gone.status.success() && said.contains("NotFound") && said.contains("\"api-gone\" not found"), "{kubectl}: {said}");
        lab.cluster.deny_verbs(&["create"]);
        std::fs::write(&body, eviction(&pod))?;
        let denied = lab.run(kubectl, &["create", "--raw", &path(&pod), "-f", &body_arg]).await?;
        let said = String::from_utf8_lossy(&denied.stderr);
        assert!(!denied.status.success() && said.contains("cannot create resource \"pods/eviction\""), "{kubectl}: {said}");
        assert!(lab.cluster.object("pods", "shop", &pod).is_some(), "{kubectl}: a refused eviction deleted {pod}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_listing_comes_in_pages_that_together_hold_every_pod_once() -> TestResult {
    let lab = Lab::start().await?;
    lab.cluster.seed_fleet(1_200);
    let pods: Api<Pod> = Api::all(lab.client().await?);
    let whole = pods.list(&ListParams::default()).await?;
    assert_eq!(whole.items.len(), 1_207, "the fleet and the demo's 7 pods");
    assert!(whole.metadata.continue_.is_none(), "no limit, no continue");
    let (mut names, mut pages, mut token) = (Vec::new(), 0, None::<String>);
    loop {
        let mut lp = ListParams::default().limit(500);
        if let Some(t) = &token {
            lp = lp.continue_token(t);
        }
        let page = pods.list(&lp).await?;
        pages += 1;
        assert!(page.items.len() <= 500);
        assert_eq!(page.metadata.resource_version, whole.metadata.resource_version, "every page names the first page's version");
        names.extend(
            page.items
                .iter()
                .map(|p| format!("{}/{}", p.metadata.namespace.clone().unwrap_or_default(), p.metadata.name.clone().unwrap_or_default())),
        );
        token = page.metadata.continue_.filter(|t| !t.is_empty());
        if token.is_none() {
            break;
        }
    }
    assert_eq!(pages, 3);
    let listed: Vec<String> = whole
        .items
        .iter()
        .map(|p| format!("{}/{}", p.metadata.namespace.clone().unwrap_or_default(), p.metadata.name.clone().unwrap_or_default()))
        .collect();
    assert_eq!(names, listed);
    Ok(())
}

/// The pods of `app` as `kubectl get pods -l app=APP -o name` names them (`pod/…` stripped).
async fn pod_names(lab: &Lab, app: &str) -> Result<Vec<String>, Box<dyn std::error::Error + Send + Sync>> {
    let out = lab.kubectl(&["get", "pods", "-l", &format!("app={app}"), "-o", "name"]).await?;
    Ok(out.lines().map(|l| l.trim_start_matches("pod/").to_string()).collect())
}

/// A line of `kubectl logs --timestamps`: RFC 3339 with nanoseconds, a space, the text.
fn stamped(line: &str) -> Option<(chrono::DateTime<chrono::Utc>, &str)> {
    let (at, text) = line.split_once(' ')?;
    Some((chrono::DateTime::parse_from_rfc3339(at).ok()?.with_timezone(&chrono::Utc), text))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_logs_reads_a_pod_its_tail_timestamps_and_a_deployment_with_both_versions() -> TestResult {
    let lab = Lab::start().await?;
    // Healthy pods write two lines a second; give them a few.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let web = pod_names(&lab, "web").await?;
    let pod = web.first().ok_or("no web pod")?;
    for kubectl in [KUBECTL_OLDEST, KUBECTL_NEWEST] {
        let all = lab.ok(kubectl, &["logs", pod]).await?;
        assert!(all.starts_with("INFO web: starting registry.local/shop/web:"), "{kubectl}: {all}");
        assert!(all.contains("INFO web: listening on :8080\n") && all.contains(" 200 "), "{kubectl}: {all}");
        let tail = lab.ok(kubectl, &["logs", pod, "--tail=2"]).await?;
        assert_eq!(tail.lines().count(), 2, "{kubectl}: {tail}");
        assert!(all.contains(&tail), "the tail is the end of the log:\n{tail}");
        let with_times = lab.ok(kubectl, &["logs", pod, "--timestamps", "--tail=3"]).await?;
        let times: Vec<_> = with_times.lines().filter_map(stamped).collect();
        assert_eq!(times.len(), 3, "{kubectl}: every line stamped:\n{with_times}");
        assert!(times.windows(2).all(|w| w[0].0 < w[1].0), "{kubectl}: in order:\n{with_times}");
        let limited = lab.ok(kubectl, &["logs", pod, "--limit-bytes=10"]).await?;
        assert_eq!(limited, "INFO web: ", "{kubectl}");
        let deployment = lab.ok(kubectl, &["logs", "deployment/web", "--tail=1"]).await?;
        assert!(deployment.starts_with("INFO web: "), "{kubectl}: {deployment}");
        let previous = lab.run(kubectl, &["logs", pod, "-p"]).await?;
        let said = String::from_utf8_lossy(&previous.stderr);
        assert!(!previous.status.success(), "{kubectl}: a healthy container has no previous run");
        assert!(said.contains(&format!("previous terminated container \"web\" in pod \"{pod}\" not found")), "{kubectl}: {said}");
        let missing = lab.run(kubectl, &["logs", "nope-123"]).await?;
        let said = String::from_utf8_lossy(&missing.stderr);
        assert!(said.contains("pods \"nope-123\" not found"), "{kubectl}: {said}");
        let container = lab.run(kubectl, &["logs", pod, "-c", "sidecar"]).await?;
        let said = String::from_utf8_lossy(&container.stderr);
        assert!(said.contains(&format!("container sidecar is not valid for pod {pod}")), "{kubectl}: {said}");
    }
    Ok(())
}

/// Ready and not-ready endpoints of a service, from its EndpointSlice's conditions.
async fn slice_readiness(lab: &Lab, kubectl: &str, service: &str) -> Result<(usize, usize), Box<dyn std::error::Error + Send + Sync>> {
    let selector = format!("kubernetes.io/service-name={service}");
    let jsonpath = r#"jsonpath={range .items[*].endpoints[*]}{.conditions.ready}{"\n"}{end}"#;
    let out = lab.ok(kubectl, &["get", "endpointslices", "-l", &selector, "-o", jsonpath]).await?;
    Ok((out.lines().filter(|l| *l == "true").count(), out.lines().filter(|l| *l == "false").count()))
}

/// Services select the shop's pods; their Endpoints list the ready pods and their EndpointSlices
/// every pod with its readiness. After `deploy-bad` the api's crash-looping pod is an endpoint
/// that is not ready (3 ready of 4), and a web scaled to 0 has no endpoints at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_endpoints_and_slices_follow_pod_readiness() -> TestResult {
    for kubectl in [KUBECTL_OLDEST, KUBECTL_NEWEST] {
        let lab = Lab::start().await?;
        let services = lab.ok(kubectl, &["get", "svc", "-o", "wide"]).await?;
        assert_eq!(header(&services), ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE", "SELECTOR"], "{kubectl}: {services}");
        let api = &rows(&services, "api ")[0];
        assert_eq!((api[1], api[3], api[4], api[6]), ("ClusterIP", "<none>", "80/TCP", "app=api"), "{kubectl}: {services}");
        assert!(api[2].starts_with("10.96."), "{kubectl}: {services}");
        assert_eq!(rows(&services, "web ").len(), 1, "{kubectl}: {services}");
        let default = lab.ok(kubectl, &["get", "svc", "kubernetes", "-n", "default"]).await?;
        assert!(default.contains("10.96.0.1") && default.contains("443/TCP"), "{kubectl}: {default}");

        let endpoints = lab.ok(kubectl, &["get", "endpoints"]).await?;
        assert_eq!(header(&endpoints), ["NAME", "ENDPOINTS", "AGE"], "{kubectl}: {endpoints}");
        let api_endpoints = rows(&endpoints, "api ")[0][1].to_string();
        assert_eq!(api_endpoints.split(',').count(), 3, "{kubectl}: {endpoints}");
        assert!(api_endpoints.split(',').all(|a| a.starts_with("10.244.") && a.ends_with(":8080")), "{kubectl}: {endpoints}");
        let slices = lab.ok(kubectl, &["get", "endpointslices"]).await?;
        assert_eq!(header(&slices), ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"], "{kubectl}: {slices}");
        let api_slice = &rows(&slices, "api-")[0];
        assert_eq!((api_slice[1], api_slice[2]), ("IPv4", "8080"), "{kubectl}: {slices}");
        assert_eq!(slice_readiness(&lab, kubectl, "api").await?, (3, 0), "{kubectl}");

        lab.cluster.deploy_bad("shop", "api")?;
        let deadline = Instant::now() + Duration::from_secs(20);
        while slice_readiness(&lab, kubectl, "api").await? != (3, 1) {
            assert!(Instant::now() < deadline, "{kubectl}: the bad pod never became a not-ready endpoint");
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        let not_ready = lab.ok(kubectl, &["get", "endpoints", "api", "-o", "jsonpath={.subsets[0].notReadyAddresses[*].ip}"]).await?;
        let bad_pod_ip = lab
            .ok(
                kubectl,
                &["get", "pods", "-l", "app=api", "-o", "jsonpath={.items[?(@.status.containerStatuses[0].ready==false)].status.podIP}"],
            )
            .await?;
        assert_eq!(not_ready.trim(), bad_pod_ip.trim(), "{kubectl}: the not-ready address is the crash-looping pod's");
        let endpoints = lab.ok(kubectl, &["get", "endpoints", "api"]).await?;
        assert_eq!(rows(&endpoints, "api ")[0][1].split(',').count(), 3, "{kubectl}: ENDPOINTS lists ready addresses only: {endpoints}");

        lab.ok(kubectl, &["scale", "deployment/web", "--replicas=0"]).await?;
        let none = lab
            .kubectl_until(&["get", "endpoints", "web"], Duration::from_secs(20), |out| {
                rows(out, "web ").first().is_some_and(|r| r[1] == "<none>")
            })
            .await?;
        assert!(none.contains("<none>"), "{kubectl}: {none}");
        assert_eq!(slice_readiness(&lab, kubectl, "web").await?, (0, 0), "{kubectl}");
    }
    Ok(())
}

/// After `deploy_bad` on `api`: a pod in CrashLoopBackOff that restarted at least `restarts` times.
async fn crashing_api_pod(lab: &Lab, restarts: u32) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    lab.cluster.deploy_bad("shop", "api")?;
    let get = ["get", "pods", "-l", "app=api"];
    let pods = lab.kubectl_until(&get, Duration::from_secs(30), |out| crashlooping_restarts(out).iter().any(|&n| n >= restarts)).await?;
    let bad = rows(&pods, "api-").into_iter().find(|r| r[2] == "CrashLoopBackOff" && r[3].parse().is_ok_and(|n: u32| n >= restarts));
    Ok(bad.ok_or("no crashing pod")?[0].to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_logs_of_a_crash_looping_pod_show_its_last_words_and_previous_shows_the_run_before() -> TestResult {
    let lab = Lab::start().await?;
    let bad = crashing_api_pod(&lab, 2).await?;
    for kubectl in [KUBECTL_OLDEST, KUBECTL_NEWEST] {
        let previous = lab.ok(kubectl, &["logs", &bad, "-p", "--timestamps"]).await?;
        let lines: Vec<_> = previous.lines().filter_map(stamped).collect();
        let texts: Vec<&str> = lines.iter().map(|(_, t)| *t).collect();
        assert_eq!(
            texts,
            [
                "INFO api: starting registry.local/shop/api:1.5.0-bad",
                "INFO api: loading config from /etc/api/config.yaml",
                "ERROR api: config key DATABASE_URL is missing",
                "FATAL api: exiting with status 1"
            ],
            "{kubectl}: {previous}"
        );
        // The previous run is the one `lastState.terminated` describes: it ended at its finishedAt.
        let finished =
            lab.ok(kubectl, &["get", "pod", &bad, "-o", "jsonpath={.status.containerStatuses[0].lastState.terminated.finishedAt}"]).await?;
        let finished = chrono::DateTime::parse_from_rfc3339(&finished)?.with_timezone(&chrono::Utc);
        let exit = lines.last().map(|(at, _)| *at).ok_or("no exit line")?;
        assert!((exit - finished).num_seconds().abs() <= 1, "{kubectl}: exit line at {exit}, finishedAt {finished}");
        let current = lab.ok(kubectl, &["logs", &bad]).await?;
        assert!(current.starts_with("INFO api: starting"), "{kubectl}: the current (or, backing off, last) run: {current}");
    }
    Ok(())
}

/// CPU (millicores) and memory (MiB) of a `kubectl top` row.
fn usage(row: &[&str], cpu_column: usize, memory_column: usize) -> (u64, u64) {
    let number = |s: &str, unit: &str| s.trim_end_matches(unit).parse::<u64>().unwrap_or(u64::MAX);
    (number(row[cpu_column], "m"), number(row[memory_column], "Mi"))
}

/// `kubectl top` finds the Metrics API through discovery and reads PodMetrics and NodeMetrics as
/// metrics-server serves them: the api's pods use 55 % of their 250m request (±8 %) and 60 % of
/// 256Mi (±4 %), the empty node only its own overhead, and a raised load shows at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn top_pods_and_nodes_read_the_metrics_api() -> TestResult {
    for kubectl in [KUBECTL_OLDEST, KUBECTL_NEWEST] {
        let lab = Lab::start().await?;
        let apiservices = lab.ok(kubectl, &["get", "apiservices"]).await?;
        assert!(
            rows(&apiservices, "v1beta1.metrics.k8s.io").first().is_some_and(|r| r[1] == "kube-system/metrics-server" && r[2] == "True"),
            "{kubectl}: {apiservices}"
        );
        let pods = lab.ok(kubectl, &["top", "pods"]).await?;
        assert_eq!(header(&pods), ["NAME", "CPU(cores)", "MEMORY(bytes)"], "{kubectl}: {pods}");
        assert_eq!(rows(&pods, "").len() - 1, 7, "{kubectl}: every shop pod: {pods}");
        for row in rows(&pods, "api-") {
            let (cpu, memory) = usage(&row, 1, 2);
            assert!((126..=149).contains(&cpu) && (147..=160).contains(&memory), "{kubectl}: {pods}");
        }
        let containers = lab.ok(kubectl, &["top", "pods", "-l", "app=web", "--containers"]).await?;
        assert_eq!(header(&containers), ["POD", "NAME", "CPU(cores)", "MEMORY(bytes)"], "{kubectl}: {containers}");
        assert!(rows(&containers, "web-").iter().all(|r| r[1] == "web"), "{kubectl}: {containers}");

        let nodes = lab.ok(kubectl, &["top", "nodes"]).await?;
        let head = header(&nodes);
        assert!(head.len() == 5 && head[..2] == ["NAME", "CPU(cores)"] && head[3] == "MEMORY(bytes)", "{kubectl}: {nodes}");
        let idle = &rows(&nodes, "lab-node-2")[0];
        assert_eq!((idle[1], idle[2], idle[3], idle[4]), ("180m", "4%", "900Mi", "11%"), "{kubectl}: the empty node's overhead: {nodes}");
        let busy = usage(&rows(&nodes, "lab-node-1")[0], 1, 3);
        assert!(busy.0 > 180 + 3 * 126 && busy.1 > 900 + 3 * 147, "{kubectl}: the first node carries the pods: {nodes}");

        lab.cluster.set_cpu_load("shop", "api", 95);
        let hot = lab.ok(kubectl, &["top", "pods", "-l", "app=api", "--no-headers"]).await?;
        assert!(rows(&hot, "api-").iter().all(|r| (218..=257).contains(&usage(r, 1, 2).0)), "{kubectl}: {hot}");
        let watch = lab.run(kubectl, &["get", "--raw", "/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods?watch=1"]).await?;
        assert!(
            !watch.status.success() && String::from_utf8_lossy(&watch.stderr).contains("MethodNotAllowed"),
            "{kubectl}: metrics are not watchable"
        );
    }
    Ok(())
}

/// sitrep's own reading of the Metrics API (the top view's numbers) agrees with what the real
/// `kubectl top pods` and `kubectl top nodes` print, oldest and newest: the same pods, the same
/// millicores and MiB, and the same node percentages of allocatable; a namespace the reading is
/// not asked for stays out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sitreps_top_reading_agrees_with_kubectl_top() -> TestResult {
    use sitrep::model::verdict::{Thresholds, node_usage};
    let lab = Lab::start().await?;
    let client = lab.client().await?;
    lab.cluster.set_cpu_load("shop", "api", 80);
    for kubectl in [KUBECTL_OLDEST, KUBECTL_NEWEST] {
        // Usage wobbles once a minute: a reading that straddles the turn is taken again.
        let mut agreed = None;
        for _ in 0..3 {
            let ours = sitrep::backends::kube_top::read(&client, &["shop".to_string()], Duration::from_secs(10)).await?;
            let pods = lab.ok(kubectl, &["top", "pods", "--no-headers"]).await?;
            let nodes = lab.ok(kubectl, &["top", "nodes", "--no-headers"]).await?;
            let theirs: std::collections::BTreeMap<String, (u64, u64)> =
                rows(&pods, "").iter().map(|r| (r[0].to_string(), usage(r, 1, 2))).collect();
            let mine: std::collections::BTreeMap<String, (u64, u64)> = ours
                .pods
                .iter()
                .map(|((ns, name), u)| {
                    assert_eq!(ns, "shop", "only the namespace asked for");
                    (name.clone(), (u.cpu_m, u.memory >> 20))
                })
                .collect();
            let their_nodes: Vec<(String, String, String)> =
                rows(&nodes, "").iter().map(|r| (r[0].to_string(), r[2].to_string(), r[4].to_string())).collect();
            let my_nodes: Vec<(String, String, String)> = ours
                .nodes
                .iter()
                .map(|n| {
                    let (cpu, memory) = node_usage(&Thresholds::default(), n);
                    let pct = |s: Option<sitrep::model::verdict::Share>| s.map_or("-".to_string(), |s| format!("{}%", s.pct));
                    (n.name.clone(), pct(cpu), pct(memory))
                })
                .collect();
            if mine == theirs && my_nodes == their_nodes {
                agreed = Some((mine, my_nodes));
                break;
            }
            eprintln!("{kubectl}: ours {mine:?} {my_nodes:?}\ntheirs {theirs:?} {their_nodes:?}; reading again");
        }
        let (pods, nodes) = agreed.ok_or_else(|| format!("{kubectl}: sitrep's reading never matched kubectl top"))?;
        assert_eq!(pods.len(), 7, "{kubectl}: every running shop pod: {pods:?}");
        assert!(
            pods.iter().filter(|(n, _)| n.starts_with("api-")).all(|(_, (cpu, _))| (184..=216).contains(cpu)),
            "{kubectl}: 80% of 250m: {pods:?}"
        );
        assert_eq!(nodes.len(), 2, "{kubectl}: {nodes:?}");
    }
    Ok(())
}

/// `kubectl logs -f` for `secs`: what it printed by then (it is killed; a follow does not end by itself).
async fn follow_for(lab: &Lab, kubectl: &str, args: &[&str], secs: u64) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let mut child = lab.command(kubectl, args).stdout(std::process::Stdio::piped()).spawn()?;
    let mut stdout = child.stdout.take().ok_or("no stdout")?;
    let mut out = Vec::new();
    let read = tokio::io::AsyncReadExt::read_to_end(&mut stdout, &mut out);
    let ended_by_itself = tokio::time::timeout(Duration::from_secs(secs), read).await.is_ok();
    child.kill().await.ok();
    let text = String::from_utf8_lossy(&out).to_string();
    if ended_by_itself {
        return Err(format!("kubectl {args:?} ended before {secs}s; it printed:\n{text}").into());
    }
    Ok(text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_logs_follow_streams_new_lines_for_five_seconds_with_both_versions() -> TestResult {
    let lab = Lab::start().await?;
    let web = pod_names(&lab, "web").await?;
    let pod = web.first().ok_or("no web pod")?;
    for kubectl in [KUBECTL_OLDEST, KUBECTL_NEWEST] {
        let began = chrono::Utc::now();
        let out = follow_for(&lab, kubectl, &["logs", "-f", pod, "--tail=1", "--timestamps"], 5).await?;
        let times: Vec<_> = out.lines().filter_map(stamped).map(|(at, _)| at).collect();
        // Two lines a second: the one of the tail, then about ten written while following.
        let arrived = times.iter().filter(|at| **at > began).count();
        assert!(arrived >= 5, "{kubectl}: {arrived} new lines arrived in 5 s:\n{out}");
        assert_eq!(times.len(), out.lines().count(), "{kubectl}: every line stamped:\n{out}");
        assert!(times.windows(2).all(|w| w[0] < w[1]), "{kubectl}: in order, none twice:\n{out}");
    }
    Ok(())
}

/// The api's HPA (2–10 at 70 % CPU, as the production runbook sets it) reports its utilization and
/// scales on load; the PodDisruptionBudgets of api and web allow one disruption each, none for a
/// web scaled down to its minimum.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hpa_scales_on_cpu_and_pdbs_count_allowed_disruptions() -> TestResult {
    for kubectl in [KUBECTL_OLDEST, KUBECTL_NEWEST] {
        let timings = Timings { autoscale_every: Duration::from_secs(1), ..Timings::default() };
        let lab = Lab::start_with(timings).await?;
        let hpa = lab.ok(kubectl, &["get", "hpa"]).await?;
        assert_eq!(header(&hpa), ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"], "{kubectl}: {hpa}");
        let row = &rows(&hpa, "api ")[0];
        assert_eq!((row[1], row[2], row[4], row[5], row[6]), ("Deployment/api", "cpu:", "2", "10", "3"), "{kubectl}: {hpa}");
        let (current, target) = row[3].split_once('/').ok_or("no current/target")?;
        let current: u32 = current.trim_end_matches('%').parse()?;
        assert!((50..=60).contains(&current) && target == "70%", "{kubectl}: {hpa}");

        lab.cluster.set_cpu_load("shop", "api", 140);
        // 140 % of 70 % on 3 ready pods: ceil(2 × 3) = 6, or 7 when the pods' ±8 % wobble is up
        // (and more once those are ready, as load per pod stays).
        let scaled = lab
            .kubectl_until(&["get", "hpa", "api", "--no-headers"], Duration::from_secs(30), |out| {
                rows(out, "api ").first().and_then(|r| r[6].parse::<u32>().ok()).is_some_and(|n| n >= 6)
            })
            .await?;
        assert!(rows(&scaled, "api ")[0][3].starts_with("1"), "{kubectl}: utilization over 100 %: {scaled}");
        let described = lab.ok(kubectl, &["describe", "hpa", "api"]).await?;
        let reason = "; reason: cpu resource utilization (percentage of request) above target";
        assert!(["New size: 6", "New size: 7"].iter().any(|size| described.contains(&format!("{size}{reason}"))), "{kubectl}: {described}");
        lab.cluster.set_cpu_load("shop", "api", 400);
        let limited = lab
            .kubectl_until(
                &[
                    "get",
                    "hpa",
                    "api",
                    "-o",
                    "jsonpath={.status.desiredReplicas} {.status.conditions[?(@.type==\"ScalingLimited\")].reason}",
                ],
                Duration::from_secs(30),
                |out| out == "10 TooManyReplicas",
            )
            .await?;
        assert_eq!(limited, "10 TooManyReplicas", "{kubectl}");
        // sitrep's own reading, judged by kubectl's: at its maximum and over target is critical.
        let maxed = lab
            .kubectl_until(&["get", "hpa", "api", "--no-headers"], Duration::from_secs(30), |out| {
                rows(out, "api ").first().is_some_and(|r| r[6] == "10")
            })
            .await?;
        let theirs = &rows(&maxed, "api ")[0];
        let client = lab.client().await?;
        let (hpas, _) = sitrep::backends::kube_scaling::list(&client, "shop").await?;
        let ours = hpas.iter().find(|h| h.name == "api").ok_or("sitrep read no api HPA")?;
        let pct = |p: Option<u32>| p.map_or("<unknown>".to_string(), |p| format!("{p}%"));
        assert_eq!(
            (ours.target.as_str(), format!("{}/{}", pct(ours.cpu_pct), pct(ours.cpu_target_pct)), ours.min, ours.max, ours.current),
            (theirs[1], theirs[3].to_string(), theirs[4].parse()?, theirs[5].parse()?, theirs[6].parse()?),
            "{kubectl}: {maxed}"
        );
        assert_eq!(sitrep::model::verdict::hpa(ours), sitrep::model::verdict::Level::Crit, "{ours:?}");

        let pdb = lab.ok(kubectl, &["get", "pdb"]).await?;
        assert_eq!(header(&pdb), ["NAME", "MIN", "AVAILABLE", "MAX", "UNAVAILABLE", "ALLOWED", "DISRUPTIONS", "AGE"], "{kubectl}: {pdb}");
        assert_eq!(&rows(&pdb, "web ")[0][..4], ["web", "1", "N/A", "1"], "{kubectl}: {pdb}");
        lab.ok(kubectl, &["scale", "deployment/web", "--replicas=1"]).await?;
        lab.kubectl_until(&["get", "pdb", "web", "--no-headers"], Duration::from_secs(20), |out| {
            rows(out, "web ").first().is_some_and(|r| r[3] == "0")
        })
        .await?;
        let (_, pdbs) = sitrep::backends::kube_scaling::list(&lab.client().await?, "shop").await?;
        let web = pdbs.iter().find(|b| b.name == "web").ok_or("sitrep read no web PDB")?;
        assert_eq!((web.min_available.as_str(), web.max_unavailable.as_str(), web.allowed), ("1", "", 0), "{kubectl}: {web:?}");
        assert!(sitrep::model::verdict::pdb(web).is_alarm(), "a budget that allows none is a warning: {web:?}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_logs_follow_ends_with_the_container_run_and_with_the_pod() -> TestResult {
    let lab = Lab::start().await?;
    let bad = crashing_api_pod(&lab, 1).await?;
    // Backing off, the follow reads the exited run and ends at once; running, it ends at the exit.
    let out = lab.ok(KUBECTL_NEWEST, &["logs", "-f", &bad]).await?;
    assert!(out.ends_with("FATAL api: exiting with status 1\n"), "{out}");
    let web = pod_names(&lab, "web").await?;
    let pod = web.first().ok_or("no web pod")?.clone();
    let follow = lab.command(KUBECTL_NEWEST, &["logs", "-f", &pod]).stdout(std::process::Stdio::piped()).output();
    let delete = async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        lab.kubectl(&["delete", "pod", &pod]).await
    };
    let (followed, deleted) = tokio::join!(tokio::time::timeout(Duration::from_secs(20), follow), delete);
    deleted?;
    let followed = followed.map_err(|_| "the follow did not end when its pod was deleted")??;
    assert!(String::from_utf8_lossy(&followed.stdout).contains("INFO web: listening on :8080"));
    Ok(())
}

/// `kubectl auth can-i --list` reads a SelfSubjectRulesReview: everything for the lab's user, only
/// the reading verbs for a read-only identity.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_can_i_list_shows_the_rules_of_the_identity() -> TestResult {
    for kubectl in [KUBECTL_OLDEST, KUBECTL_NEWEST] {
        let lab = Lab::start().await?;
        let all = lab.ok(kubectl, &["auth", "can-i", "--list"]).await?;
        assert!(
            all.lines().next().is_some_and(
                |h| h.split_whitespace().collect::<Vec<_>>() == ["Resources", "Non-Resource", "URLs", "Resource", "Names", "Verbs"]
            ),
            "{kubectl}: {all}"
        );
        assert_eq!(rows(&all, "*.*")[0], ["*.*", "[]", "[]", "[*]"], "{kubectl}: {all}");
        lab.cluster.deny_verbs(&["create", "delete", "patch", "update"]);
        let read_only = lab.ok(kubectl, &["auth", "can-i", "--list", "-n", "shop"]).await?;
        assert_eq!(rows(&read_only, "*.*")[0], ["*.*", "[]", "[]", "[get", "list", "watch]"], "{kubectl}: {read_only}");
        assert!(read_only.contains("selfsubjectrulesreviews.authorization.k8s.io"), "{kubectl}: {read_only}");
    }
    Ok(())
}
