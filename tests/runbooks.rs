//! Runbooks against the real lab: each one changes the estate for real and is checked from outside
//! (kube API, Patroni, every Sentinel, SQL). One shared lab; the tests take turns (they share it).

mod support;

use std::process::ExitCode;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use sitrep::clock::Clock;
use sitrep::config::Config;
use sitrep::lab::Lab;
use sitrep::runbook::cli::{RunArgs, RunbookArgs, RunbookCommand, run};
use sitrep::timeline::entry::Severity;
use sitrep::timeline::store::LocalStore;

static TURN: Mutex<()> = Mutex::new(());

fn lab() -> &'static Lab {
    support::shared_lab()
}

/// The lab, this test's turn on it, and its config with a fresh data dir holding an open incident.
struct Drill {
    lab: &'static Lab,
    config: Config,
    _data: tempfile::TempDir,
    _turn: MutexGuard<'static, ()>,
}

fn drill(title: &str) -> Drill {
    let turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let lab = lab();
    let mut config = sitrep::config::load(&lab.config_path()).expect("the lab's sitrep.toml loads");
    let data = tempfile::tempdir().expect("temp data dir");
    config.general.data_dir = data.path().display().to_string();
    let store = LocalStore::from_config(&config).expect("store");
    store.open_incident(&Clock::Real, "drill@lab", title, Severity::P2).expect("incident opened");
    Drill { lab, config, _data: data, _turn: turn }
}

impl Drill {
    /// `sitrep runbook run NAME --param ... [--confirm ..] [--read-only] [--dry-run] --yes`, timed.
    fn run(&self, name: &str, params: &[(&str, &str)], confirm: Option<&str>, flags: &[&str]) -> ExitCode {
        let args = RunbookArgs {
            command: RunbookCommand::Run(RunArgs {
                name: name.into(),
                params: params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
                dry_run: flags.contains(&"--dry-run"),
                confirm: confirm.map(String::from),
                read_only: flags.contains(&"--read-only"),
                yes: true,
            }),
        };
        let started = Instant::now();
        let code = run(args, &self.config).expect("the runbook command runs");
        eprintln!("TIMING runbook {name} {flags:?}: {:.1}s -> {code:?}", started.elapsed().as_secs_f64());
        code
    }

    /// Every `action` entry of the open incident: (runbook, step, outcome).
    fn actions(&self) -> Vec<(String, String, String)> {
        support::actions(&self.config)
    }
}

fn runtime() -> tokio::runtime::Runtime {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime")
}

fn refused() -> ExitCode {
    ExitCode::from(3)
}

async fn kube(config: &Config) -> kube::Client {
    sitrep::backends::kube::client(&config.kube.kubeconfig, &config.kube.context, Duration::from_secs(3)).await.expect("kube client")
}

/// (revision, images) of a deployment.
fn deployment(config: &Config, name: &str) -> (String, Vec<String>) {
    runtime().block_on(async {
        let d = kube::Api::<Deployment>::namespaced(kube(config).await, "shop").get(name).await.expect("get deployment");
        let row = sitrep::backends::kube::deployment_row(&d);
        (row.revision, row.images)
    })
}

fn pods(config: &Config, prefix: &str) -> Vec<sitrep::model::PodRow> {
    runtime().block_on(async {
        let list = kube::Api::<Pod>::namespaced(kube(config).await, "shop").list(&Default::default()).await.expect("list pods");
        list.items.iter().map(sitrep::backends::kube::pod_row).filter(|p| p.name.starts_with(prefix)).collect()
    })
}

fn wait_for(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !ok() {
        assert!(Instant::now() < deadline, "{what} did not happen within {limit:?}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn rollback_after_a_bad_deploy_restores_the_previous_replicaset_and_pods_become_ready() {
    let d = drill("api crash-looping after deploy");
    let (good_rev, good_images) = deployment(&d.config, "api");
    d.lab.fault("deploy-bad").expect("deploy-bad");
    wait_for("a crash-looping api pod", Duration::from_secs(30), || {
        pods(&d.config, "api-").iter().any(|p| p.status() == "CrashLoopBackOff")
    });
    let (bad_rev, bad_images) = deployment(&d.config, "api");
    assert!(bad_images.iter().all(|i| i.ends_with("-bad")), "{bad_images:?}");

    // Triage names the broken deployment and proposes the rollback.
    assert_eq!(d.run("triage", &[], None, &[]), ExitCode::SUCCESS);
    let triage = d.actions().into_iter().find(|(rb, ..)| rb == "triage").expect("triage in the timeline").2;
    assert!(triage.contains("deployment api") && triage.contains("CrashLoopBackOff"), "{triage}");
    assert!(triage.contains("next runbook: rollback") && triage.contains("severity P"), "{triage}");

    // Refusals change nothing: no typed name, a wrong one, read-only mode; a dry run only shows.
    let params = [("deployment", "api")];
    assert_eq!(d.run("rollback", &params, None, &[]), refused());
    assert_eq!(d.run("rollback", &params, Some("API"), &[]), refused());
    assert_eq!(d.run("rollback", &params, Some("api"), &["--read-only"]), refused());
    assert_eq!(d.run("rollback", &params, Some("api"), &["--dry-run"]), ExitCode::SUCCESS);
    // A precondition that does not hold stops it too, and the dry run the same way (as the wizard shows it).
    let no_such_revision = [("deployment", "api"), ("revision", "99")];
    assert_eq!(d.run("rollback", &no_such_revision, Some("api"), &[]), ExitCode::from(4));
    assert_eq!(d.run("rollback", &no_such_revision, None, &["--dry-run"]), ExitCode::from(4), "the dry run stops at it");
    assert_eq!(deployment(&d.config, "api"), (bad_rev.clone(), bad_images), "a refused rollback changed the deployment");

    assert_eq!(d.run("rollback", &params, Some("api"), &[]), ExitCode::SUCCESS);
    let (rev, images) = deployment(&d.config, "api");
    assert_eq!(images, good_images, "the previous ReplicaSet's images are back");
    assert_ne!(rev, bad_rev, "rollout undo makes a new revision of the old template (was {good_rev})");
    let api = pods(&d.config, "api-");
    assert!(api.len() == 3 && api.iter().all(|p| p.is_healthy()), "{api:?}");
    // A second rollback's `previous` is the bad deploy just undone: its preview says it crash-looped.
    let ctx = sitrep::runbook::effects::Ctx {
        config: d.config.clone(),
        vars: [("namespace".to_string(), "shop".to_string())].into(),
        timeout: Duration::from_secs(5),
        clock: Clock::Real,
    };
    let again = runtime().block_on(sitrep::runbook::effects::kube::undo_preview(&ctx, "api", "previous")).expect("the preview");
    assert!(again.contains(&format!("WARNING: revision {bad_rev} crash-looped")), "{again}");

    let actions = d.actions();
    let outcomes: Vec<String> = actions.iter().filter(|(rb, step, _)| rb == "rollback" && step == "undo").map(|a| a.2.clone()).collect();
    assert!(outcomes.iter().filter(|o| o.starts_with("refused")).count() >= 3, "{outcomes:#?}");
    assert!(outcomes.iter().any(|o| o.starts_with("stopped, nothing changed: precondition not met") && o.contains("99")), "{outcomes:#?}");
    assert!(outcomes.last().is_some_and(|o| o.starts_with("verified")), "{outcomes:#?}");
    assert!(actions.iter().any(|(rb, step, o)| rb == "rollback" && step == "check-access" && o.contains("allowed")), "{actions:#?}");
}

/// Every Sentinel's answer (direct, not through the proxy).
fn sentinel_views(lab: &Lab) -> Vec<Option<String>> {
    runtime().block_on(async {
        let mut out = Vec::new();
        for addr in &lab.info.redis.sentinels_direct {
            let answer = async {
                let mut con = lab.info.redis_settings().connect(addr, Duration::from_secs(2)).await.ok()?;
                let (h, p): (String, String) =
                    redis::cmd("SENTINEL").arg("get-master-addr-by-name").arg("mymaster").query_async(&mut con).await.ok()?;
                Some(format!("{h}:{p}"))
            };
            out.push(answer.await);
        }
        out
    })
}

#[test]
fn failover_redis_moves_the_master_and_all_three_sentinels_agree() {
    let d = drill("redis master degraded");
    let before = sentinel_views(d.lab);
    assert_eq!(before.len(), 3);
    let old = before[0].clone().expect("a master");
    assert_eq!(d.run("failover-redis", &[], Some("redis"), &[]), refused());
    assert_eq!(sentinel_views(d.lab), before, "a refused failover moved the master");

    assert_eq!(d.run("failover-redis", &[], Some("mymaster"), &[]), ExitCode::SUCCESS);
    let after = sentinel_views(d.lab);
    assert!(after.iter().all(|v| v.is_some() && *v == after[0]), "the Sentinels disagree: {after:?}");
    assert_ne!(after[0].as_deref(), Some(old.as_str()), "the master did not move");
    let actions = d.actions();
    assert!(
        actions.iter().any(|(rb, _, o)| rb == "failover-redis" && o.starts_with("verified") && o.contains("queues readable")),
        "{actions:#?}"
    );
    // The whole goal: redundancy back, and Redis itself says so (the new master's own replication info).
    assert!(
        actions.iter().any(|(rb, _, o)| rb == "failover-redis" && o.contains("redundancy restored") && o.contains(&old)),
        "the old master {old} is not named as the new master's replica: {actions:#?}"
    );
    let new_master = after[0].clone().unwrap_or_default();
    let info = redis_info_replication(d.lab, &new_master);
    assert!(info.contains("role:master") && !info.contains("connected_slaves:0"), "{new_master}: {info}");
}

/// Redis's own report, by redis-cli: over TLS with the lab CA, as the sitrep ACL user (the
/// password in REDISCLI_AUTH, not argv).
fn redis_info_replication(lab: &Lab, addr: &str) -> String {
    let (host, port) = addr.rsplit_once(':').unwrap_or((addr, "6379"));
    let logins = &lab.info.redis.logins;
    let out = std::process::Command::new("redis-cli")
        .args(["--tls", "--cacert"])
        .arg(&logins.ca_file)
        .args(["--user", &logins.user, "-h", host, "-p", port, "INFO", "replication"])
        .env("REDISCLI_AUTH", &logins.password)
        .output()
        .expect("run redis-cli");
    assert!(out.status.success(), "redis-cli INFO replication on {addr}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn patroni_leader(lab: &Lab) -> String {
    let url = format!("{}/cluster", lab.info.postgres.members[0].patroni_url.trim_end_matches('/'));
    let cluster: serde_json::Value = reqwest::get(&url).await.expect("GET /cluster").json().await.expect("cluster json");
    cluster["members"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["role"] == "leader"))
        .and_then(|m| m["name"].as_str())
        .expect("a leader")
        .to_string()
}

#[test]
fn failover_postgres_moves_the_patroni_leader_and_a_write_succeeds_on_the_new_one() {
    let d = drill("postgres leader degraded");
    let rt = runtime();
    let old = rt.block_on(patroni_leader(d.lab));
    let scope = d.lab.info.postgres.scope.clone();
    assert_eq!(d.run("failover-postgres", &[], Some(&old), &[]), refused(), "the member name is not the scope");
    assert_eq!(rt.block_on(patroni_leader(d.lab)), old);

    assert_eq!(d.run("failover-postgres", &[], Some(&scope), &[]), ExitCode::SUCCESS);
    let new = rt.block_on(patroni_leader(d.lab));
    assert_ne!(new, old, "the leader did not move");
    let dsn = d.lab.info.dsn(&new, "shop").expect("dsn of the new leader");
    rt.block_on(async {
        let client = support::sql(&dsn).await;
        client
            .batch_execute("CREATE TABLE IF NOT EXISTS failover_probe (at timestamptz); INSERT INTO failover_probe VALUES (now())")
            .await
            .expect("a write on the new leader");
    });
    let actions = d.actions();
    assert!(
        actions.iter().any(|(rb, _, o)| rb == "failover-postgres" && o.starts_with("verified") && o.contains("accepted a write")),
        "{actions:#?}"
    );
    // Done only with redundancy back: a replica streams from the new leader, and the old leader's fate is said.
    let redundancy = actions.iter().find(|(rb, step, _)| rb == "failover-postgres" && step == "redundancy").expect("the redundancy step");
    assert!(redundancy.2.starts_with("verified") && redundancy.2.contains(&format!("streams from {new}")), "{redundancy:?}");
    assert!(
        redundancy.2.contains(&format!("{old} rejoined as a replica")) || redundancy.2.contains(&format!("{old} has NOT rejoined")),
        "{redundancy:?}"
    );
}

#[test]
fn restore_brings_the_latest_dump_back_into_a_new_database_with_the_expected_row_counts() {
    let d = drill("orders table damaged");
    // The live database is never the default, and overwriting it needs its name typed.
    assert_eq!(d.run("restore", &[("database", "shop"), ("replace", "yes")], Some("shop_restore"), &[]), refused());
    assert_eq!(d.run("restore", &[("database", "shop")], Some("shop"), &[]), ExitCode::from(4), "shop exists: not without replace=yes");

    assert_eq!(d.run("restore", &[("database", "shop_drill")], Some("shop_drill"), &[]), ExitCode::SUCCESS);
    let dsn = d.lab.info.dsn(&runtime().block_on(patroni_leader(d.lab)), "shop_drill").expect("dsn");
    runtime().block_on(async {
        let client = support::sql(&dsn).await;
        let count = |t: &'static str| {
            let client = &client;
            async move { client.query_one(&format!("select count(*) from {t}"), &[]).await.expect("count").get::<_, i64>(0) }
        };
        assert_eq!(count("customers").await, 10_000);
        assert_eq!(count("order_items").await, 120_000);
        assert!(count("orders").await >= 50_000);
    });
    let actions = d.actions();
    assert!(actions.iter().any(|(rb, _, o)| rb == "restore" && o.starts_with("verified") && o.contains("customers=10000")), "{actions:#?}");
}

#[test]
fn scale_and_restart_pods_change_web_and_a_held_target_is_refused() {
    let d = drill("web saturated");
    let data = std::path::PathBuf::from(&d.config.general.data_dir);
    let held = sitrep::runbook::lock::TargetLock::try_acquire(&data, "deployment/shop/web", "another run").expect("lock");
    assert_eq!(d.run("scale", &[("deployment", "web"), ("replicas", "3")], None, &[]), refused(), "the target is busy");
    drop(held);
    assert_eq!(d.run("scale", &[("deployment", "web"), ("replicas", "3")], None, &[]), ExitCode::SUCCESS);
    assert_eq!(pods(&d.config, "web-").iter().filter(|p| p.is_healthy()).count(), 3);
    let before: Vec<String> = pods(&d.config, "web-").into_iter().map(|p| p.name).collect();
    assert_eq!(d.run("restart-pods", &[("deployment", "web")], Some("web"), &[]), ExitCode::SUCCESS);
    let after: Vec<String> = pods(&d.config, "web-").into_iter().map(|p| p.name).collect();
    assert!(after.len() == 3 && after.iter().all(|p| !before.contains(p)), "`all`, a rolling restart: {before:?} -> {after:?}");
    // One pod: that pod alone is replaced.
    let one = after[0].clone();
    assert_eq!(d.run("restart-pods", &[("deployment", "web"), ("pod", &one)], Some("web"), &[]), ExitCode::SUCCESS);
    let again: Vec<String> = pods(&d.config, "web-").into_iter().map(|p| p.name).collect();
    assert!(again.len() == 3 && !again.contains(&one), "{one} replaced: {after:?} -> {again:?}");
    assert!(after[1..].iter().all(|p| again.contains(p)), "the other pods stay: {after:?} -> {again:?}");

    // The PodDisruptionBudget `web` keeps 1 pod: scaling to 0 is refused before anything changes,
    // and at 1 replica a restart would break it, so that is refused with the budget's numbers.
    assert_ne!(d.run("scale", &[("deployment", "web"), ("replicas", "0")], None, &[]), ExitCode::SUCCESS);
    assert_eq!(deployment_replicas(&d.config, "web"), 3, "a refused scale changed nothing");
    assert_eq!(d.run("scale", &[("deployment", "web"), ("replicas", "1")], None, &[]), ExitCode::SUCCESS);
    wait_for("web's budget to allow no disruption", Duration::from_secs(20), || budget_allows(&d.config, "web") == Some(0));
    assert_ne!(d.run("restart-pods", &[("deployment", "web"), ("pod", "all")], Some("web"), &[]), ExitCode::SUCCESS);
    let actions = d.actions();
    let checks: Vec<&String> = actions.iter().filter(|(rb, step, _)| rb == "scale" && step == "check-budget").map(|(_, _, o)| o).collect();
    assert!(checks.iter().any(|o| o.contains("PodDisruptionBudget web needs 1 healthy pods: 0 replica(s) would break it")), "{actions:#?}");
    let refused_restart =
        actions.iter().filter(|(rb, step, _)| rb == "restart-pods" && step == "check-budget").map(|(_, _, o)| o).next_back();
    assert!(
        refused_restart.is_some_and(|o| o.contains("PodDisruptionBudget web allows 0 disruption(s) now (1 healthy, 1 needed)")),
        "{actions:#?}"
    );
    assert!(
        !actions
            .iter()
            .any(|(rb, step, o)| rb == "restart-pods" && step == "restart" && o.contains("rolling restart") && o.contains("(1 pod(s))")),
        "{actions:#?}"
    );
    assert_eq!(d.run("scale", &[("deployment", "web"), ("replicas", "3")], None, &[]), ExitCode::SUCCESS);
}

fn deployment_replicas(config: &Config, name: &str) -> i32 {
    runtime().block_on(async {
        let api: kube::Api<Deployment> = kube::Api::namespaced(kube(config).await, "shop");
        api.get(name).await.expect("the deployment").spec.replicas.unwrap_or(1)
    })
}

fn budget_allows(config: &Config, name: &str) -> Option<i32> {
    runtime().block_on(async {
        let api: kube::Api<k8s_openapi::api::policy::v1::PodDisruptionBudget> = kube::Api::namespaced(kube(config).await, "shop");
        api.get(name).await.ok()?.status?.disruptions_allowed
    })
}

/// Stops a recovered server and removes its directories.
struct Recovered(String);

impl Drop for Recovered {
    fn drop(&mut self) {
        use std::os::unix::process::CommandExt;
        let dir = &self.0;
        let mut stop = std::process::Command::new("/usr/lib/postgresql/15/bin/pg_ctl");
        stop.args(["-D", dir, "-m", "immediate", "-w", "stop"]);
        if let Ok(u) = sitrep::lab::tools::postgres_user() {
            stop.uid(u.uid).gid(u.gid);
        }
        let _ = stop.output();
        for path in [dir.clone(), format!("{dir}.wal"), format!("{dir}.log")] {
            let _ = std::fs::remove_dir_all(&path).or_else(|_| std::fs::remove_file(&path));
        }
    }
}

#[test]
fn pitr_recovers_to_a_point_in_time_into_a_new_data_directory() {
    let d = drill("orders damaged, dumps too old");
    let leader = runtime().block_on(patroni_leader(d.lab));
    let dsn = d.lab.info.dsn(&leader, "shop").expect("dsn");
    // A row before the target time, one after it; then the WAL holding both is archived.
    let target = runtime().block_on(support::archived_around_a_target(
        &dsn,
        "CREATE TABLE IF NOT EXISTS pitr_probe (marker text); INSERT INTO pitr_probe VALUES ('before')",
        "INSERT INTO pitr_probe VALUES ('after')",
    ));
    let dir = format!("/tmp/sitrep-pitr-test-{}", std::process::id());
    let _cleanup = Recovered(dir.clone());
    let at = target.to_rfc3339();
    let params = [("data_dir", dir.as_str()), ("target_time", at.as_str())];
    assert_eq!(d.run("pitr", &params, Some("/tmp/elsewhere"), &[]), refused());
    assert!(!std::path::Path::new(&dir).exists(), "a refused recovery created {dir}");
    assert_eq!(d.run("pitr", &params, Some(&dir), &[]), ExitCode::SUCCESS);
    let actions = d.actions();
    let outcome = actions.iter().find(|(rb, _, o)| rb == "pitr" && o.starts_with("verified")).map(|a| a.2.clone());
    let outcome = outcome.unwrap_or_else(|| panic!("no verified pitr step: {actions:#?}"));
    assert!(
        outcome.contains("out of recovery") && outcome.contains("customers=10000") && outcome.contains("order_items=120000"),
        "{outcome}"
    );
    let port: u16 =
        outcome.split("127.0.0.1:").nth(1).and_then(|r| r.split(' ').next()).and_then(|p| p.parse().ok()).expect("port in the outcome");
    let markers = runtime().block_on(async {
        let recovered = dsn.replace(
            &format!("port={}", d.lab.info.postgres.members.iter().find(|m| m.name == leader).expect("member").port),
            &format!("port={port}"),
        );
        let client = support::sql(&recovered).await;
        let rows = client.query("SELECT marker FROM pitr_probe ORDER BY 1", &[]).await.expect("markers");
        rows.iter().map(|r| r.get::<_, String>(0)).collect::<Vec<_>>()
    });
    assert!(markers.contains(&"before".to_string()) && !markers.contains(&"after".to_string()), "recovered to {at}: {markers:?}");
}

#[test]
fn list_and_show_describe_every_shipped_runbook_and_unknown_names_are_bad_input() {
    let config = Config::default();
    let shipped = shipped_runbooks();
    let names: Vec<&str> = shipped.iter().map(|r| r.name.as_str()).collect();
    for name in ["triage", "rollback", "failover-postgres", "failover-redis", "restore", "pitr", "scale", "restart-pods"] {
        assert!(names.contains(&name), "actions/ ships {name}: {names:?}");
    }
    let list = runbook_cli(&["list"]);
    for rb in &shipped {
        assert!(
            list.lines().any(|l| l.split_whitespace().next() == Some(rb.name.as_str()) && l.contains(&rb.title)),
            "`runbook list` names {} with its title {:?}:\n{list}",
            rb.name,
            rb.title
        );
    }
    for rb in &shipped {
        let out = runbook_cli(&["show", &rb.name]);
        assert!(
            out.starts_with(&format!("{} — {}\n", rb.name, rb.title)),
            "`runbook show {}` opens with its name and title:\n{out}",
            rb.name
        );
        // Each step in order, numbered, and the confirmation it asks for right under it.
        let lines: Vec<&str> = out.lines().collect();
        let mut at = 0;
        for (i, (step, confirm)) in rb.steps.iter().enumerate() {
            let head = format!("  {}. {step} — ", i + 1);
            let found = lines[at..].iter().position(|l| l.starts_with(&head));
            let Some(found) = found else { panic!("`runbook show {}` lacks step {head:?} after line {at}:\n{out}", rb.name) };
            at += found + 1;
            let said = lines[at..].iter().find_map(|l| l.trim_start().strip_prefix("confirm: "));
            let said = said.unwrap_or_else(|| panic!("step {step} of {} shows no confirm line:\n{out}", rb.name));
            assert_eq!(said, confirm.shown(), "the confirmation of {} / {step}:\n{out}", rb.name);
        }
        let shown_steps = lines
            .iter()
            .filter(|l| l.starts_with("  ") && l.trim_start().split_once(". ").is_some_and(|(n, _)| n.parse::<u32>().is_ok()))
            .count();
        assert_eq!(shown_steps, rb.steps.len(), "`runbook show {}` shows exactly its steps:\n{out}", rb.name);
    }
    let show = run(RunbookArgs { command: RunbookCommand::Show { name: "rolback".into() } }, &config).expect("show");
    assert_eq!(show, ExitCode::from(2));
    let args = RunArgs {
        name: "scale".into(),
        params: vec![("deploymnt".into(), "api".into())],
        dry_run: true,
        confirm: None,
        read_only: false,
        yes: false,
    };
    assert_eq!(run(RunbookArgs { command: RunbookCommand::Run(args) }, &config).expect("run"), ExitCode::from(2), "an unknown param");
}

#[test]
fn a_missing_parameter_is_answered_with_the_live_choices() {
    let lab = lab();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sitrep"))
        .args(["runbook", "run", "restart-pods", "--dry-run"])
        .env("SITREP_CONFIG", lab.config_path())
        .output()
        .expect("sitrep runbook run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("parameter `deployment` is required") && stderr.contains("--param deployment=VALUE"), "{stderr}");
    assert!(stderr.contains("live deployments to choose from:"), "{stderr}");
    for d in ["api", "web", "worker"] {
        assert!(stderr.lines().any(|l| l.trim_start().starts_with(d) && l.contains("ready")), "{d} offered:\n{stderr}");
    }
}

/// What a step asks before it runs, as written in its `actions/*.toml`.
enum Asks {
    Nothing,
    Plain,
    Typed(String),
}

impl Asks {
    /// How `sitrep runbook show` words it.
    fn shown(&self) -> String {
        match self {
            Asks::Nothing => "none".into(),
            Asks::Plain => "plain (--yes)".into(),
            Asks::Typed(t) => format!("typed: {t} (--confirm)"),
        }
    }
}

/// A shipped runbook as its file says, read with a plain TOML parser (not sitrep's own), so the
/// test judges what `runbook list` and `show` print against the source.
struct Shipped {
    name: String,
    title: String,
    steps: Vec<(String, Asks)>,
}

fn shipped_runbooks() -> Vec<Shipped> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("actions");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            let doc: toml::Table = toml::from_str(&text).unwrap_or_else(|e| panic!("{} is not TOML: {e}", path.display()));
            let text_of = |t: &toml::Table, key: &str| t.get(key).and_then(|v| v.as_str()).unwrap_or_default().to_string();
            let steps = doc
                .get("steps")
                .and_then(|v| v.as_array())
                .unwrap_or_else(|| panic!("{} has no [[steps]]", path.display()))
                .iter()
                .map(|step| {
                    let step = step.as_table().unwrap_or_else(|| panic!("a step of {} is not a table", path.display()));
                    let asks = match step.get("confirm") {
                        None => Asks::Nothing,
                        Some(toml::Value::String(s)) if s == "plain" => Asks::Plain,
                        Some(toml::Value::Table(t)) if t.get("typed").is_some_and(|v| v.is_str()) => Asks::Typed(text_of(t, "typed")),
                        Some(other) => panic!("{}: a confirm this test does not know: {other}", path.display()),
                    };
                    (text_of(step, "name"), asks)
                })
                .collect();
            Shipped { name: text_of(&doc, "name"), title: text_of(&doc, "title"), steps }
        })
        .collect()
}

/// `sitrep runbook ARGS` run from the source tree with no user runbooks that could shadow the shipped
/// ones; its stdout (it must succeed).
fn runbook_cli(args: &[&str]) -> String {
    let home = tempfile::tempdir().expect("tempdir");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sitrep"))
        .arg("runbook")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("SITREP_HOME", home.path().join("sitrep-home"))
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env_remove("SITREP_CONFIG")
        .output()
        .expect("run sitrep runbook");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "sitrep runbook {args:?} failed: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    stdout
}
