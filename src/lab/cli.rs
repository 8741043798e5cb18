//! `sitrep lab ...` subcommands.
//! Parsed by clap in the main CLI and dispatched to [`run`].

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;

use super::{Lab, LabOptions};

/// Arguments of `sitrep lab`.
#[derive(Debug, clap::Args)]
pub struct LabArgs {
    #[command(subcommand)]
    pub command: LabCommand,
}

/// Bring up, inspect, break and tear down a local production-like estate.
#[derive(Debug, clap::Subcommand)]
pub enum LabCommand {
    /// Start a lab (Patroni Postgres, Redis Sentinel, S3 backups, kube stand-in) and print where it is.
    Up {
        /// Directory for the lab; default a fresh temp dir under /tmp (removed by `down`).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Play a scenario once healthy (see `sitrep lab scenarios`).
        #[arg(long)]
        scenario: Option<String>,
        /// Stop the lab when this process exits.
        #[arg(long)]
        owner_pid: Option<u32>,
    },
    /// Stop every process of the lab in DIR.
    Down {
        #[arg(long)]
        dir: PathBuf,
    },
    /// Check every component of the lab in DIR for real (SQL, REST, PING, SENTINEL, S3, kube).
    Status {
        #[arg(long)]
        dir: PathBuf,
    },
    /// Inject a fault into the lab in DIR; `--list` explains each.
    Fault {
        #[arg(long, required_unless_present = "list")]
        dir: Option<PathBuf>,
        /// List the faults and what each does.
        #[arg(long)]
        list: bool,
        #[arg(required_unless_present = "list")]
        name: Option<String>,
    },
    /// Undo what faults can be undone (same as `fault heal`).
    Heal {
        #[arg(long)]
        dir: PathBuf,
    },
    /// List the scenarios `up --scenario` plays.
    Scenarios,
    /// Train: a fresh lab, the scenario's faults at a random moment, you in the recorded console;
    /// a scorecard (detect, mitigate vs RTO, largest backup age detected vs RPO, runbooks) is saved beside the recording.
    Drill {
        /// A scenario from `sitrep lab scenarios`.
        scenario: String,
        /// The fault comes at a random moment within this many seconds.
        #[arg(long, default_value_t = 120)]
        window: u64,
        /// Where the recording and scorecard go.
        #[arg(long, default_value = "drills")]
        out: PathBuf,
    },
    /// Chaos soak: a fresh lab, the console headless on it, seeded random faults and hostile input,
    /// and an oracle asking the real systems whether what the console shows as fresh is true.
    /// Exits non-zero on any violation; the report (JSON and .txt) gives the seed to reproduce it.
    Soak {
        #[arg(long, default_value_t = 10)]
        minutes: u64,
        /// Seed of the fault plan; default a random one (printed).
        #[arg(long)]
        seed: Option<u64>,
        /// Where the JSON report goes (the text beside it as .txt); default DIR/soak-report.json
        /// with --dir, else /tmp/sitrep-soak-SEED.json.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Directory for the lab (kept); default a temp dir removed afterwards.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Print DIR/lab.json of a running lab.
    Info {
        #[arg(long)]
        dir: PathBuf,
    },
    /// The lab supervisor itself (started by `up`).
    #[command(hide = true)]
    Run {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        owner_pid: Option<u32>,
        #[arg(long)]
        scenario: Option<String>,
        #[arg(long)]
        remove_dir: bool,
        /// Seconds between scheduled pg_dump backups.
        #[arg(long, env = "SITREP_LAB_BACKUP_SECS", default_value_t = 60)]
        backup_every: u64,
    },
    /// Real pgBackRest and Barman Cloud on the running lab in DIR (opt-in): `setup` first, then
    /// full, diff, incr, barman, pgbackrest-info or barman-list.
    BackupTools {
        #[arg(long)]
        dir: PathBuf,
        #[arg(default_value = "setup")]
        action: String,
    },
    /// The kube stand-in alone (for measuring cost at scale): the demo shop plus `--pods` pods of
    /// Deployment "fleet", served on 127.0.0.1 with a kubeconfig at KUBECONFIG, until killed.
    #[command(hide = true)]
    KubeStandin {
        #[arg(long)]
        kubeconfig: PathBuf,
        #[arg(long, default_value_t = 10_000)]
        pods: u32,
    },
    /// Postgres' archive_command: upload one WAL segment to the lab's S3.
    #[command(hide = true)]
    WalPush {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        endpoint: String,
        /// Also archive with these real tools (pgbackrest, barman-cloud) once `backup-tools setup` ran.
        #[arg(long, value_delimiter = ',')]
        real_tools: Vec<String>,
        segment: PathBuf,
    },
}

/// Runs a `sitrep lab` subcommand.
pub fn run(args: LabArgs) -> anyhow::Result<()> {
    match args.command {
        LabCommand::Up { dir, scenario, owner_pid } => {
            let started = std::time::Instant::now();
            let lab = Lab::up(LabOptions { dir, scenario, owner_pid })?;
            println!("lab ready in {:.1}s: {}", started.elapsed().as_secs_f64(), lab.dir.display());
            println!("  console: sitrep --config {}", lab.config_path().display());
            println!("  kubectl: kubectl --kubeconfig {} get pods", lab.info.kube.kubeconfig.display());
            println!("  stop:    sitrep lab down --dir {}", lab.dir.display());
            Ok(())
        }
        LabCommand::Down { dir } => {
            Lab::attach(&dir)?.down()?;
            println!("lab in {} stopped", dir.display());
            Ok(())
        }
        LabCommand::Status { dir } => status(&dir),
        LabCommand::Drill { scenario, window, out } => {
            let card = super::drill::run(&scenario, Duration::from_secs(window), &out)?;
            print!("{}", card.to_markdown());
            Ok(())
        }
        LabCommand::Fault { list: true, .. } => {
            print!("{}", super::faults::describe_all());
            Ok(())
        }
        LabCommand::Fault { dir, name, .. } => {
            let (dir, name) = dir.zip(name).context("give --dir DIR and a fault NAME (or --list)")?;
            super::faults::Fault::parse(&name)?;
            println!("{name}: {}", Lab::attach(&dir)?.fault_detail(&name)?);
            Ok(())
        }
        LabCommand::Heal { dir } => {
            println!("heal: {}", Lab::attach(&dir)?.fault_detail("heal")?);
            Ok(())
        }
        LabCommand::Soak { minutes, seed, report, dir } => {
            let report = super::soak::run(&super::soak::SoakOptions { minutes, seed, report, dir })?;
            anyhow::ensure!(report.passed(), "soak: {} violation(s); seed {}", report.violations.len(), report.seed);
            Ok(())
        }
        LabCommand::Scenarios => {
            print!("{}", super::scenarios::describe_all());
            Ok(())
        }
        LabCommand::Info { dir } => {
            let lab = Lab::attach(&dir)?;
            println!("{}", serde_json::to_string_pretty(&lab.info)?);
            Ok(())
        }
        LabCommand::Run { dir, owner_pid, scenario, remove_dir, backup_every } => {
            let dir = std::path::absolute(&dir)?;
            let opts = super::supervisor::RunOptions {
                dir,
                owner_pid,
                scenario,
                remove_dir,
                backup_every: Duration::from_secs(backup_every.max(5)),
            };
            Ok(super::supervisor::run(opts)?)
        }
        LabCommand::WalPush { dir, endpoint, real_tools, segment } => {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            rt.block_on(super::s3::wal_push(&dir, &endpoint, &segment))?;
            // Also into the real tools' repositories once `backup-tools setup` ran.
            Ok(super::backup_tools::archive_push(&dir, &segment, &real_tools)?)
        }
        LabCommand::KubeStandin { kubeconfig, pods } => kube_standin(&kubeconfig, pods),
        LabCommand::BackupTools { dir, action } => {
            println!("{}", super::backup_tools::request(&Lab::attach(&dir)?.info, &action)?);
            Ok(())
        }
    }
}

fn kube_standin(kubeconfig: &std::path::Path, pods: u32) -> anyhow::Result<()> {
    let cluster = super::kube::Cluster::new();
    cluster.seed_demo();
    cluster.seed_fleet(pods);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let server = format!("http://{}", listener.local_addr()?);
        super::kube::write_kubeconfig(kubeconfig, &server, "sitrep-lab", "shop")
            .with_context(|| format!("cannot write {}", kubeconfig.display()))?;
        println!("kube stand-in with {pods} fleet pods at {server}");
        super::kube::serve(listener, cluster, std::future::pending()).await?;
        Ok(())
    })
}

fn status(dir: &std::path::Path) -> anyhow::Result<()> {
    let lab = Lab::attach(dir)?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let report = rt.block_on(super::health::check_all(&lab.info));
    println!(
        "lab {} (supervisor pid {}, scenario {})",
        lab.dir.display(),
        lab.info.supervisor_pid,
        lab.info.scenario.as_deref().unwrap_or("none")
    );
    for line in &report {
        println!("  {line}");
    }
    let failing: Vec<&str> = report.iter().filter(|c| !c.is_healthy()).map(|c| c.component.as_str()).collect();
    if failing.is_empty() {
        println!("all {} components healthy", report.len());
        Ok(())
    } else {
        anyhow::bail!("{} of {} components failing: {}; see {}/logs/", failing.len(), report.len(), failing.join(", "), lab.dir.display())
    }
}
