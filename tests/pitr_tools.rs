//! The pitr runbook through the real tools: a lab with real pgBackRest and Barman Cloud backups
//! (`sitrep lab backup-tools setup`), `[s3] layout` naming the tool, a target time between two
//! inserts; the recovered server has the row before the target and not the one after (SQL).
//! The tools' failures stop the step with their own words and the fix.

mod support;

use std::process::ExitCode;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use sitrep::clock::Clock;
use sitrep::config::Config;
use sitrep::lab::Lab;
use sitrep::lab::backup_tools::{self, BARMAN_PREFIX, BARMAN_SERVER, PGBACKREST_PREFIX, STANZA, Settings};
use sitrep::runbook::cli::{RunArgs, RunbookArgs, RunbookCommand, run};
use sitrep::runbook::effects::{self, Ctx};
use sitrep::runbook::spec::Effect;
use sitrep::timeline::entry::Severity;
use sitrep::timeline::store::LocalStore;

static TURN: Mutex<()> = Mutex::new(());
static TOOLS: OnceLock<Settings> = OnceLock::new();

fn runtime() -> tokio::runtime::Runtime {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime")
}

/// The shared lab with its real backup tools set up once (a full pgBackRest and a Barman Cloud backup).
fn lab() -> (&'static Lab, &'static Settings) {
    let lab = support::shared_lab();
    let settings = TOOLS.get_or_init(|| {
        let started = Instant::now();
        let setup = backup_tools::request(&lab.info, "setup").unwrap_or_else(|e| panic!("backup-tools setup: {e}"));
        eprintln!("TIMING backup-tools setup {:.0}s: {setup}", started.elapsed().as_secs_f64());
        Settings::read(&lab.info.dir).expect("settings.json after setup")
    });
    (lab, settings)
}

/// The lab's config pointed at the tool's repository through the TLS front, with an open incident.
struct Drill {
    lab: &'static Lab,
    config: Config,
    _data: tempfile::TempDir,
    _turn: MutexGuard<'static, ()>,
}

fn drill(layout: &str) -> Drill {
    let turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let (lab, s) = lab();
    let mut config = sitrep::config::load(&lab.config_path()).expect("the lab's sitrep.toml loads");
    let data = tempfile::tempdir().expect("temp data dir");
    config.general.data_dir = data.path().display().to_string();
    config.s3.endpoint = s.endpoint.clone();
    config.s3.ca_file = s.ca_file.display().to_string();
    config.s3.layout = layout.into();
    config.s3.kinds = vec!["base".into(), "wal".into()];
    match layout {
        "pgbackrest" => {
            config.s3.repo_prefix = PGBACKREST_PREFIX.into();
            config.s3.stanza = STANZA.into();
        }
        _ => {
            config.s3.repo_prefix = BARMAN_PREFIX.into();
            config.s3.server_name = BARMAN_SERVER.into();
        }
    }
    let store = LocalStore::from_config(&config).expect("store");
    store.open_incident(&Clock::Real, "drill@lab", "orders damaged at a known time", Severity::P2).expect("incident opened");
    Drill { lab, config, _data: data, _turn: turn }
}

impl Drill {
    fn run(&self, params: &[(&str, &str)], confirm: Option<&str>) -> ExitCode {
        let args = RunbookArgs {
            command: RunbookCommand::Run(RunArgs {
                name: "pitr".into(),
                params: params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
                dry_run: false,
                confirm: confirm.map(String::from),
                read_only: false,
                yes: true,
            }),
        };
        let started = Instant::now();
        let code = run(args, &self.config).expect("the runbook command runs");
        eprintln!("TIMING runbook pitr ({}): {:.1}s -> {code:?}", self.config.s3.layout, started.elapsed().as_secs_f64());
        code
    }

    fn ctx(&self) -> Ctx {
        Ctx { config: self.config.clone(), vars: Default::default(), timeout: Duration::from_secs(30), clock: Clock::Real }
    }

    /// A DSN of the leader's `shop` database.
    fn leader_dsn(&self) -> String {
        let urls: Vec<String> = self.lab.info.postgres.members.iter().map(|m| m.patroni_url.clone()).collect();
        let leader = runtime().block_on(sitrep::lab::postgres::leader(&urls)).expect("a Patroni leader");
        self.lab.info.dsn(&leader, "shop").expect("dsn")
    }
}

/// Stops the recovered server and removes what the recovery left beside it.
struct Recovered(String);

impl Drop for Recovered {
    fn drop(&mut self) {
        use std::os::unix::process::CommandExt;
        let dir = &self.0;
        let mut stop = std::process::Command::new(format!("{}/pg_ctl", sitrep::lab::tools::PG_BIN));
        stop.args(["-D", dir, "-m", "immediate", "-w", "stop"]);
        if let Ok(u) = sitrep::lab::tools::postgres_user() {
            stop.uid(u.uid).gid(u.gid);
        }
        let _ = stop.output();
        for suffix in ["", ".log", ".pgbackrest.conf", ".aws-credentials"] {
            let path = format!("{dir}{suffix}");
            let _ = std::fs::remove_dir_all(&path).or_else(|_| std::fs::remove_file(&path));
        }
    }
}

/// The markers of `tool` on the recovered server on `port`, by SQL.
fn markers(leader_dsn: &str, port: u16, tool: &str) -> Vec<String> {
    let dsn: String = leader_dsn
        .split_whitespace()
        .map(|kv| if kv.starts_with("port=") { format!("port={port}") } else { kv.to_string() })
        .collect::<Vec<_>>()
        .join(" ");
    runtime().block_on(async {
        let client = support::sql(&dsn).await;
        let rows = client.query("SELECT marker FROM pitr_tools_probe WHERE tool = $1 ORDER BY 1", &[&tool]).await.expect("markers");
        rows.iter().map(|r| r.get::<_, String>(0)).collect()
    })
}

fn recovers_to_the_target_with_the_tool(layout: &str) {
    let d = drill(layout);
    let dsn = d.leader_dsn();
    let target = runtime().block_on(support::archived_around_a_target(
        &dsn,
        &format!("CREATE TABLE IF NOT EXISTS pitr_tools_probe (tool text, marker text); INSERT INTO pitr_tools_probe VALUES ('{layout}', 'before')"),
        &format!("INSERT INTO pitr_tools_probe VALUES ('{layout}', 'after')"),
    ));
    let dir = format!("/tmp/sitrep-pitr-{layout}-{}", std::process::id());
    let _cleanup = Recovered(dir.clone());
    let at = target.to_rfc3339();
    let params = [("data_dir", dir.as_str()), ("target_time", at.as_str())];
    assert_eq!(d.run(&params, Some(&dir)), ExitCode::SUCCESS, "{:#?}", support::actions(&d.config));
    let actions = support::actions(&d.config);
    let done = actions.iter().find(|(rb, _, o)| rb == "pitr" && o.starts_with("verified")).map(|a| a.2.clone());
    let done = done.unwrap_or_else(|| panic!("no verified pitr step: {actions:#?}"));
    let tool = if layout == "barman" { "barman-cloud-restore" } else { "pgbackrest" };
    assert!(done.contains(&format!("{tool} restored backup")) && done.contains("out of recovery"), "{done}");
    assert!(done.contains("customers=10000"), "{done}");
    let settings = if layout == "barman" { format!("{dir}.aws-credentials") } else { format!("{dir}.pgbackrest.conf") };
    assert!(done.contains(&format!("removed {settings}")) && !std::path::Path::new(&settings).exists(), "{done}");
    let port: u16 = done.split("127.0.0.1:").nth(1).and_then(|r| r.split(' ').next()).and_then(|p| p.parse().ok()).expect("port");
    let log = std::fs::read_to_string(format!("{dir}.log")).unwrap_or_default();
    let recovery: Vec<&str> = log.lines().filter(|l| l.contains("recovery") || l.contains("FATAL") || l.contains("ERROR")).collect();
    eprintln!("{tool} to {at}, the recovered server's log:\n{}", recovery.join("\n"));
    let found = markers(&dsn, port, layout);
    assert_eq!(found, ["before"], "recovered with {tool} to {at}");
}

#[test]
fn pgbackrest_restores_a_real_backup_to_a_time_between_two_inserts() {
    recovers_to_the_target_with_the_tool("pgbackrest");
}

#[test]
fn barman_cloud_restores_a_real_backup_to_a_time_between_two_inserts() {
    recovers_to_the_target_with_the_tool("barman");
}

#[test]
fn a_wrong_stanza_and_a_target_before_the_oldest_backup_stop_the_step_with_the_fix() {
    let d = drill("pgbackrest");
    let rt = runtime();
    let check = |config: &Config, at: &str| {
        let effect = Effect::PitrAvailable { target_time: at.into(), data_dir: "/tmp/sitrep-pitr-never".into() };
        let ctx = Ctx { config: config.clone(), ..d.ctx() };
        rt.block_on(effects::run(&effect, &ctx)).map(|r| r.summary).map_err(|e| e.to_string())
    };
    // The dry run's view: the backup that will be restored and the exact command.
    let ok = check(&d.config, "latest").unwrap_or_else(|e| panic!("{e}"));
    assert!(ok.starts_with("pgbackrest backup "), "{ok}");

    let mut wrong = d.config.clone();
    wrong.s3.stanza = "nope".into();
    let e = check(&wrong, "latest").err().unwrap_or_default();
    assert!(e.contains("stanza") && e.contains("[s3] repo_prefix"), "{e}");

    let e = check(&d.config, "2000-01-01T00:00:00Z").err().unwrap_or_default();
    assert!(
        e.contains("no backup of pgBackRest stanza `shop` finished before 2000-01-01") && e.contains("choose a target_time after"),
        "{e}"
    );

    // The tool's own words: pgBackRest itself asked for a stanza its repository does not hold.
    let ctx = d.ctx();
    let planned = rt.block_on(async {
        let (client, shared) = sitrep::backends::s3::client_and_config(ctx.config.s3.access()).await.expect("s3");
        let mut p = effects::pitr_tools::prepare(&ctx, &client, None, std::path::Path::new("/tmp/sitrep-pitr-wrong")).await.expect("plan");
        p.repo.name = "nope".into();
        let program = p.plan.program.clone();
        p.plan = effects::pitr_tools::plan(&p.repo, &p.backup.label, std::path::Path::new("/tmp/sitrep-pitr-wrong"), None, program)
            .expect("plan");
        (p, sitrep::backends::s3::tool_credentials(&shared).await.expect("credentials"))
    });
    let _cleanup = Recovered("/tmp/sitrep-pitr-wrong".into());
    let owner = sitrep::programs::postgres_user().ok().map(|u| (u.uid, u.gid));
    let e = rt.block_on(effects::pitr_tools::run(&planned.0, &planned.1, owner)).err().map(|e| e.to_string()).unwrap_or_default();
    eprintln!("pgbackrest with a wrong stanza: {e}");
    assert!(e.contains("pgbackrest") && e.contains("ERROR: [") && e.contains("[s3] stanza") && e.contains("`nope`"), "{e}");
    assert!(!e.contains(sitrep::lab::info::S3_SECRET_KEY), "{e}");
}
