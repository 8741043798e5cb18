//! The runbook effects no other lab test runs, on the real lab through the real CLI
//! (`sitrep runbook run …`), each judged from outside: `http` answered and refused, `kube_cordon`
//! and `command` (the shipped `drain-node`, judged by kubectl), Patroni's `/failover` branch when no
//! leader is left to switch over from, `lab heal` bringing the killed leader back as a streaming
//! replica, and the `sql` check. One lab for the file; the tests take turns and put back what they change.

mod support;

use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use sitrep::clock::Clock;
use sitrep::lab::Lab;
use sitrep::timeline::entry::Severity;
use sitrep::timeline::store::LocalStore;

static TURN: Mutex<()> = Mutex::new(());

/// This test's turn on the lab, a fresh data dir holding an open incident, and a SITREP_HOME of its own.
struct Drill {
    lab: &'static Lab,
    data: tempfile::TempDir,
    home: tempfile::TempDir,
    _turn: MutexGuard<'static, ()>,
}

/// What one `sitrep runbook run` did.
struct Ran {
    code: Option<i32>,
    out: String,
}

fn drill(title: &str) -> Drill {
    let turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let lab = support::shared_lab();
    let data = tempfile::tempdir().expect("temp data dir");
    let home = tempfile::tempdir().expect("temp SITREP_HOME");
    let d = Drill { lab, data, home, _turn: turn };
    d.store().open_incident(&Clock::Real, "drill@lab", title, Severity::P3).expect("incident opened");
    d
}

impl Drill {
    fn config(&self) -> sitrep::config::Config {
        let mut config = sitrep::config::load(&self.lab.config_path()).expect("the lab's sitrep.toml loads");
        config.general.data_dir = self.data.path().display().to_string();
        config
    }

    fn store(&self) -> LocalStore {
        LocalStore::from_config(&self.config()).expect("store")
    }

    /// `sitrep runbook run NAME --param k=v … [--confirm TEXT] --yes`, the binary, from the source
    /// tree (its actions/), with this drill's data dir and home.
    fn run(&self, name: &str, params: &[(&str, &str)], confirm: Option<&str>) -> Ran {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sitrep"));
        cmd.args(["runbook", "run", name, "--yes"]);
        for (k, v) in params {
            cmd.arg("--param").arg(format!("{k}={v}"));
        }
        if let Some(c) = confirm {
            cmd.args(["--confirm", c]);
        }
        let started = Instant::now();
        let out = cmd
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("SITREP_CONFIG", self.lab.config_path())
            .env("SITREP_DATA_DIR", self.data.path())
            .env("SITREP_HOME", self.home.path())
            .output()
            .expect("sitrep runbook run");
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        eprintln!("TIMING runbook {name}: {:.1}s -> {:?}\n{text}", started.elapsed().as_secs_f64(), out.status.code());
        Ran { code: out.status.code(), out: text }
    }

    /// Every `action` entry of the open incident: (runbook, step, outcome).
    fn actions(&self) -> Vec<(String, String, String)> {
        support::actions(&self.config())
    }

    /// The outcomes of one step, oldest first.
    fn outcomes(&self, step: &str) -> Vec<String> {
        self.actions().into_iter().filter(|(_, s, _)| s == step).map(|a| a.2).collect()
    }

    /// The real kubectl on the lab's kubeconfig; its stdout (it must succeed).
    fn kubectl(&self, args: &[&str]) -> String {
        let out = Command::new("kubectl").arg("--kubeconfig").arg(&self.lab.info.kube.kubeconfig).args(args).output().expect("run kubectl");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "kubectl {args:?} failed: {stdout}{}", String::from_utf8_lossy(&out.stderr));
        stdout
    }

    /// STATUS of a node as `kubectl get node` prints it.
    fn node_status(&self, node: &str) -> String {
        let out = self.kubectl(&["get", "node", node, "--no-headers"]);
        out.split_whitespace().nth(1).unwrap_or_default().to_string()
    }

    /// (name, status, node) of every pod in shop, from `kubectl get pods -o wide`.
    fn pods(&self) -> Vec<(String, String, String)> {
        let out = self.kubectl(&["get", "pods", "-n", "shop", "-o", "wide", "--no-headers"]);
        out.lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .filter(|c| c.len() > 6)
            .map(|c| (c[0].to_string(), c[2].to_string(), c[6].to_string()))
            .collect()
    }
}

fn wait_for(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !ok() {
        assert!(Instant::now() < deadline, "{what} did not happen within {limit:?}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime")
}

/// Patroni's `GET /cluster`, asked of each member in turn until one answers.
fn cluster(lab: &Lab) -> Option<serde_json::Value> {
    runtime().block_on(async {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(3)).build().ok()?;
        for m in &lab.info.postgres.members {
            if let Ok(r) = http.get(format!("{}/cluster", m.patroni_url.trim_end_matches('/'))).send().await
                && let Ok(v) = r.json::<serde_json::Value>().await
            {
                return Some(v);
            }
        }
        None
    })
}

/// The member Patroni names as running leader.
fn leader(lab: &Lab) -> Option<String> {
    let c = cluster(lab)?;
    c["members"]
        .as_array()?
        .iter()
        .find(|m| m["role"] == "leader" && m["state"] == "running")
        .and_then(|m| m["name"].as_str())
        .map(String::from)
}

fn member<'a>(lab: &'a Lab, name: &str) -> &'a sitrep::lab::info::PostgresMember {
    lab.info.postgres.members.iter().find(|m| m.name == name).unwrap_or_else(|| panic!("no member {name}"))
}

fn sql_rows(dsn: &str, query: &str) -> Result<Vec<Vec<String>>, String> {
    let (dsn, query) = (dsn.to_string(), query.to_string());
    runtime().block_on(async move {
        let client = sitrep::backends::postgres::connect(&dsn, Duration::from_secs(10)).await.map_err(|e| e.to_string())?.client;
        let msgs = client.simple_query(&query).await.map_err(|e| e.to_string())?;
        Ok(msgs
            .into_iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(r) => Some((0..r.len()).map(|i| r.get(i).unwrap_or("NULL").to_string()).collect()),
                _ => None,
            })
            .collect())
    })
}

/// Uncordons the node when the test ends, however it ends.
struct Uncordon<'a>(&'a Drill, &'a str);

impl Drop for Uncordon<'_> {
    fn drop(&mut self) {
        let _ = Command::new("kubectl").arg("--kubeconfig").arg(&self.0.lab.info.kube.kubeconfig).args(["uncordon", self.1]).output();
    }
}

/// Deletes the test's PodDisruptionBudget when the test ends, however it ends.
struct DeletePdb<'a>(&'a Drill);

impl Drop for DeletePdb<'_> {
    fn drop(&mut self) {
        let _ = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&self.0.lab.info.kube.kubeconfig)
            .args(["delete", "pdb", "api", "-n", "shop", "--ignore-not-found"])
            .output();
    }
}

#[test]
fn drain_node_checks_health_cordons_drains_with_kubectl_and_a_refusing_health_check_stops_it() {
    let d = drill("lab-node-1 needs a kernel upgrade");
    let node = "lab-node-1";
    let _restore = Uncordon(&d, node);
    let lead = leader(d.lab).expect("a Patroni leader");
    let replica = d.lab.info.postgres.members.iter().find(|m| m.name != lead).expect("a replica").name.clone();
    let healthy = format!("{}/leader", member(d.lab, &lead).patroni_url.trim_end_matches('/'));
    let refusing = format!("{}/leader", member(d.lab, &replica).patroni_url.trim_end_matches('/'));
    assert_eq!(d.node_status(node), "Ready");
    let before: Vec<String> = d.pods().into_iter().filter(|p| p.2 == node).map(|p| p.0).collect();
    assert!(!before.is_empty(), "the seeded pods run on {node}: {:?}", d.pods());

    // http failure: Patroni's /leader on a replica answers 503; the run stops there, nothing changed.
    let ran = d.run("drain-node", &[("node", node), ("health_url", &refusing)], Some(node));
    assert_eq!(ran.code, Some(1), "{}", ran.out);
    assert!(ran.out.contains("FAILED at step health-before"), "{}", ran.out);
    let failed = d.outcomes("health-before");
    let failed = failed.last().expect("health-before in the timeline");
    assert!(failed.starts_with("failed after") && failed.contains("503 Service Unavailable, expected 200"), "{failed}");
    assert!(failed.contains("the server said `") && failed.contains("replica"), "the body Patroni sent is quoted: {failed}");
    assert!(d.outcomes("cordon").is_empty() && d.outcomes("drain").is_empty(), "{:#?}", d.actions());
    assert_eq!(d.node_status(node), "Ready", "a stopped run cordoned the node");

    // Without the typed node name the drain is refused — after the (plain) cordon, which holds.
    let health = [("node", node), ("health_url", healthy.as_str())];
    let ran = d.run("drain-node", &health, None);
    assert_eq!(ran.code, Some(3), "{}", ran.out);
    assert_eq!(d.node_status(node), "Ready,SchedulingDisabled", "kubectl sees the cordon");
    let cordon = d.outcomes("cordon");
    assert!(cordon.last().is_some_and(|o| o.starts_with("verified") && o.contains("cordoned (SchedulingDisabled)")), "{cordon:?}");
    assert!(d.outcomes("drain").last().is_some_and(|o| o.starts_with("refused")), "{:#?}", d.actions());
    let still: Vec<String> = d.pods().into_iter().filter(|p| p.2 == node).map(|p| p.0).collect();
    assert_eq!(still, before, "a cordon alone evicts nothing");

    // A PodDisruptionBudget at its minimum: the eviction API refuses the api pods (429), kubectl
    // retries until its timeout and fails; the step fails with kubectl's words, the api pods stay.
    let pdb = d.data.path().join("pdb.json");
    let budget = r#"{"apiVersion":"policy/v1","kind":"PodDisruptionBudget","metadata":{"name":"api","namespace":"shop"},"spec":{"minAvailable":3,"selector":{"matchLabels":{"app":"api"}}}}"#;
    std::fs::write(&pdb, budget).expect("write the PDB");
    let _budget = DeletePdb(&d);
    d.kubectl(&["apply", "-f", &pdb.display().to_string()]);
    wait_for("kubectl get pdb showing 0 allowed disruptions", Duration::from_secs(20), || {
        d.kubectl(&["get", "pdb", "api", "-n", "shop", "--no-headers"]).split_whitespace().nth(3) == Some("0")
    });
    let short = [("node", node), ("health_url", healthy.as_str()), ("drain_timeout", "8s")];
    let ran = d.run("drain-node", &short, Some(node));
    assert_eq!(ran.code, Some(1), "{}", ran.out);
    let blocked = d.outcomes("drain");
    let blocked = blocked.last().expect("drain in the timeline").clone();
    assert!(blocked.starts_with("failed after") && blocked.contains("kubectl failed (exit status: 1)"), "{blocked}");
    assert!(blocked.contains("Cannot evict pod as it would violate the pod's disruption budget"), "{blocked}");
    assert!(blocked.contains("PodDisruptionBudget at its minimum"), "the step's advice follows: {blocked}");
    let pods = d.pods();
    let api_left: Vec<&(String, String, String)> = pods.iter().filter(|p| p.0.starts_with("api-")).collect();
    assert!(api_left.len() == 3 && api_left.iter().all(|p| p.1 == "Running" && p.2 == node), "{pods:?}");
    d.kubectl(&["delete", "pdb", "api", "-n", "shop"]);

    // The whole runbook: kubectl drain evicts the rest; every pod comes back Running on lab-node-2.
    let ran = d.run("drain-node", &health, Some(node));
    assert_eq!(ran.code, Some(0), "{}", ran.out);
    assert_eq!(d.node_status(node), "Ready,SchedulingDisabled");
    wait_for("every shop pod Running on lab-node-2", Duration::from_secs(60), || {
        let pods = d.pods();
        pods.len() == 7 && pods.iter().all(|p| p.1 == "Running" && p.2 == "lab-node-2")
    });
    let drained = d.outcomes("drain");
    let drained = drained.last().expect("drain in the timeline");
    assert!(drained.starts_with("verified") && drained.contains("kubectl exited 0"), "{drained}");
    assert!(drained.contains(&format!("node/{node} drained")), "kubectl's own words are in the timeline: {drained}");
    for pod in &before {
        let by = if pod.starts_with("api-") { drained } else { &blocked };
        assert!(by.contains(&format!("evicting pod shop/{pod}")), "{pod} evicted: {by}");
    }
    assert!(drained.contains(&format!("verified: GET {healthy}: 200 OK")), "the health check after the drain: {drained}");

    // Uncordon restores scheduling: the node is Ready again and a new pod lands on it.
    d.kubectl(&["uncordon", node]);
    assert_eq!(d.node_status(node), "Ready");
    let victim = d.pods().into_iter().find(|p| p.0.starts_with("worker-")).expect("a worker pod").0;
    d.kubectl(&["delete", "pod", "-n", "shop", &victim]);
    wait_for("the replacement worker pod Running on lab-node-1", Duration::from_secs(30), || {
        d.pods().iter().any(|p| p.0.starts_with("worker-") && p.0 != victim && p.1 == "Running" && p.2 == node)
    });
}

/// `PATCH /config {"pause": …}` on a member that answers: Patroni's maintenance mode, in which it
/// fails nothing over by itself (what `patronictl pause` / `resume` send).
fn set_pause(lab: &Lab, pause: bool) -> Result<(), String> {
    runtime().block_on(async {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().map_err(|e| e.to_string())?;
        let mut last = String::new();
        for m in &lab.info.postgres.members {
            let url = format!("{}/config", m.patroni_url.trim_end_matches('/'));
            match http.patch(&url).json(&serde_json::json!({ "pause": pause })).send().await {
                Ok(r) if r.status().is_success() => return Ok(()),
                Ok(r) => last = format!("PATCH {url}: {}", r.status()),
                Err(e) => last = format!("PATCH {url}: {e}"),
            }
        }
        Err(last)
    })
}

/// Resumes Patroni and heals the lab when the test ends, however it ends.
struct ResumeAndHeal(&'static Lab);

impl Drop for ResumeAndHeal {
    fn drop(&mut self) {
        let _ = set_pause(self.0, false);
        let _ = self.0.fault("heal");
    }
}

#[test]
fn a_stuck_failover_goes_through_patroni_failover_and_heal_brings_the_old_leader_back_streaming() {
    let d = drill("postgres leader down, automatic failover paused");
    let lab = d.lab;
    let _restore = ResumeAndHeal(lab);
    let old = leader(lab).expect("a Patroni leader");
    let survivor = lab.info.postgres.members.iter().find(|m| m.name != old).expect("a replica").name.clone();
    // Stuck: in maintenance mode Patroni does not fail over by itself when the leader dies.
    set_pause(lab, true).expect("pause Patroni");
    wait_for("Patroni paused", Duration::from_secs(20), || cluster(lab).is_some_and(|c| c["pause"] == true));
    lab.fault("pg-leader-down").expect("kill the leader");
    wait_for("the dead leader's key to expire (no leader in /cluster)", Duration::from_secs(40), || {
        cluster(lab).is_some_and(|c| c["members"].as_array().is_some_and(|m| !m.iter().any(|m| m["role"] == "leader")))
    });
    assert!(leader(lab).is_none(), "paused Patroni promoted by itself: {:?}", cluster(lab));

    let scope = lab.info.postgres.scope.clone();
    let ran = d.run("failover-postgres", &[], Some(&scope));
    assert_eq!(ran.code, Some(0), "{}", ran.out);
    assert!(ran.out.contains("no healthy leader: a failover"), "{}", ran.out);
    let promote = d.outcomes("promote");
    let promote = promote.last().expect("promote in the timeline");
    assert!(promote.starts_with("verified") && promote.contains("POST /failover → 200"), "{promote}");
    assert!(promote.contains(&format!("{survivor} leads and accepted a write")), "{promote}");
    assert_eq!(leader(lab).as_deref(), Some(survivor.as_str()));
    let dsn = lab.info.dsn(&survivor, "shop").expect("dsn of the new leader");
    let wrote = sql_rows(&dsn, "CREATE TABLE IF NOT EXISTS failover_probe (at timestamptz); INSERT INTO failover_probe VALUES (now())");
    assert!(wrote.is_ok(), "a write on the new leader: {wrote:?}");

    // `lab heal` restarts the killed member: it rejoins the new leader's timeline as a replica
    // and streams from it (pg_stat_replication on the leader, Patroni's /cluster).
    set_pause(lab, false).expect("resume Patroni");
    lab.fault("heal").expect("heal");
    let log_path = lab.dir.join("logs").join(format!("patroni-{old}.log"));
    let rejoin_by = Instant::now() + Duration::from_secs(120);
    loop {
        let replication = sql_rows(&dsn, "SELECT application_name, state FROM pg_stat_replication");
        let streaming = replication.as_ref().is_ok_and(|rows| rows.iter().any(|r| r[0] == old && r[1] == "streaming"));
        let now = cluster(lab);
        // Patroni 3.0 says `running` for a streaming replica; that it follows is its timeline, the leader's.
        let patroni = now.as_ref().and_then(|c| c["members"].as_array()).is_some_and(|m| {
            let timeline = |name: &str| m.iter().find(|m| m["name"] == name).map(|m| m["timeline"].clone());
            m.iter().any(|m| m["name"] == old.as_str() && m["role"] == "replica" && m["state"] == "running")
                && timeline(&old).is_some_and(|t| t.is_u64() && Some(t) == timeline(&survivor))
        });
        if streaming && patroni {
            break;
        }
        if Instant::now() > rejoin_by {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            panic!(
                "{old} is not streaming from {survivor} 120 s after heal; pg_stat_replication: {replication:?}\n/cluster: {now:?}\n{}:\n{}",
                log_path.display(),
                tail(&log, 40)
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let log = std::fs::read_to_string(&log_path).unwrap_or_else(|e| panic!("{}: {e}", log_path.display()));
    // Patroni compared its timeline with the new leader's; when it had written past the point where
    // the survivor was promoted (the usual case under the lab's traffic) it ran pg_rewind first.
    let said: Vec<&str> = log.lines().filter(|l| l.contains("pg_rewind") || l.contains("Local timeline=")).collect();
    eprintln!("{old}'s Patroni on rejoining:\n{}", said.join("\n"));
    let rewound = said.iter().any(|l| l.contains("running pg_rewind from"));
    if rewound {
        assert!(said.iter().any(|l| l.contains("pg_rewind exit code=0")), "pg_rewind failed:\n{}", tail(&log, 40));
    } else {
        assert!(said.iter().any(|l| l.contains("Local timeline=")), "{old} rejoined without checking its timeline:\n{}", tail(&log, 40));
    }
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

const SQL_PROBE: &str = r#"
name = "sql-probe"
title = "Read-only SQL checks on the leader"
when = "a test of the sql effect"

[[params]]
name = "customers"
description = "how many customers there must be"

[[steps]]
name = "count"
explain = "Count the customers on the leader."
preview = "SELECT count(*) FROM customers"
effect = { kind = "sql", database = "shop", query = "SELECT count(*) FROM customers", expect = "{customers}" }
on_failure = "look"

[[steps]]
name = "no-writes"
explain = "A SELECT that writes: the READ ONLY transaction refuses it."
preview = "SELECT nextval('customers_id_seq')"
effect = { kind = "sql", database = "shop", query = "SELECT nextval('customers_id_seq')" }
on_failure = "look"
"#;

#[test]
fn the_sql_check_reads_on_the_leader_compares_and_a_write_disguised_as_select_is_refused() {
    let d = drill("sql checks");
    let actions = d.home.path().join("actions");
    std::fs::create_dir_all(&actions).expect("actions dir");
    std::fs::write(actions.join("sql-probe.toml"), SQL_PROBE).expect("write the probe runbook");
    let lead = leader(d.lab).expect("a Patroni leader");
    let dsn = d.lab.info.dsn(&lead, "shop").expect("dsn");
    let count = sql_rows(&dsn, "SELECT count(*) FROM customers").expect("count")[0][0].clone();
    let seq = || sql_rows(&dsn, "SELECT last_value FROM customers_id_seq").expect("sequence")[0][0].clone();
    let before = seq();

    let ran = d.run("sql-probe", &[("customers", &count)], None);
    assert_eq!(ran.code, Some(1), "{}", ran.out);
    let counted = d.outcomes("count");
    assert!(counted.last().is_some_and(|o| o.starts_with("verified") && o.ends_with(&format!("on {lead}: {count}"))), "{counted:?}");
    let refused = d.outcomes("no-writes");
    let refused = refused.last().expect("no-writes in the timeline");
    assert!(refused.starts_with("failed") && refused.contains("read-only transaction"), "{refused}");
    assert_eq!(seq(), before, "the READ ONLY transaction let nextval() through");

    let wrong = (count.parse::<i64>().expect("a count") + 1).to_string();
    let ran = d.run("sql-probe", &[("customers", &wrong)], None);
    assert_eq!(ran.code, Some(1), "{}", ran.out);
    let counted = d.outcomes("count");
    let last = counted.last().expect("count in the timeline");
    assert!(last.starts_with("failed") && last.contains(&format!("gave `{count}`, expected `{wrong}`")), "{last}");
    assert_eq!(d.outcomes("no-writes").len(), 1, "the run stopped at the failed check: {:#?}", d.actions());
}
