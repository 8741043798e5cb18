//! Starting a console on a loaded config: the runtime, the recording (path and header), the banner,
//! then the interactive or headless loop. The CLI, the demo and the drills all start consoles here.

use crate::app::{Console, run_headless, run_interactive};
use crate::clock::Clock;
use crate::config::Config;
use anyhow::Context;
use std::path::PathBuf;
use std::time::Duration;

/// How to run a console, beyond its config.
#[derive(Debug, Clone, Default)]
pub struct Start {
    /// Record the session into this file (`--record FILE`); else `record = true` picks one.
    pub record: Option<PathBuf>,
    /// Headless: draw one frame after gathering live data, instead of taking the terminal.
    pub snapshot: Option<Snapshot>,
}

/// A headless frame (`--snapshot`).
#[derive(Debug, Clone, Copy)]
pub struct Snapshot {
    pub cols: u16,
    pub rows: u16,
    /// How long live data is gathered before the frame.
    pub settle: Duration,
    /// Keep colours (ANSI SGR).
    pub ansi: bool,
}

/// The async runtime every console and replay runs on (2 workers: a jump box is small).
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().context("starting the async runtime")
}

/// What the top bar says about where sitrep is pointed.
pub fn banner(config: &Config) -> String {
    let ctx = if config.kube.context.is_empty() { "current context".to_string() } else { config.kube.context.clone() };
    let ns = if config.kube.namespaces.is_empty() { "all namespaces".to_string() } else { config.kube.namespaces.join(",") };
    format!("{ctx} · {ns}{}", if config.general.read_only { " · READ-ONLY" } else { "" })
}

/// Runs the console (interactive or headless) on an already-loaded config; a headless frame is printed.
pub fn run(config: Config, start: &Start, banner: String) -> anyhow::Result<()> {
    let rt = runtime()?;
    let record_to = recording_path(start.record.as_ref(), &config)?;
    rt.block_on(async {
        let mut console = Console::new(config.clone(), banner, Clock::Real)?;
        if let Some(path) = &record_to {
            let (cols, rows) = match start.snapshot {
                Some(s) => (s.cols, s.rows),
                None => crossterm::terminal::size().unwrap_or((80, 24)),
            };
            let header = recording_header(&config, console.banner(), cols, rows);
            console.set_recorder(crate::record::Recorder::create(path, &header)?);
        }
        match start.snapshot {
            Some(s) => {
                let frame = run_headless(console, s.cols, s.rows, s.settle, s.ansi).await?;
                print!("{frame}");
                Ok(())
            }
            None => run_interactive(console).await,
        }
    })
}

/// Where a recording goes: the given file, else with `record = true` a timestamped file in the data dir.
fn recording_path(record: Option<&PathBuf>, config: &Config) -> anyhow::Result<Option<PathBuf>> {
    if let Some(p) = record {
        return Ok(Some(p.clone()));
    }
    if !config.general.record {
        return Ok(None);
    }
    let dir = crate::timeline::store::data_dir(config)?.join("recordings");
    Ok(Some(dir.join(format!("{}.sitrep", chrono::Utc::now().format("%Y%m%dT%H%M%SZ")))))
}

fn recording_header(config: &Config, banner: &str, cols: u16, rows: u16) -> crate::record::Header {
    let mut sources = Vec::new();
    if config.kube.enabled {
        sources.push(format!("kube {}", if config.kube.context.is_empty() { "current-context" } else { &config.kube.context }));
    }
    sources.extend(config.postgres.members.iter().map(|m| format!("postgres {}", m.name)));
    sources.extend(config.postgres.patroni.iter().map(|u| format!("patroni {}", crate::sanitize::redact_secrets(u))));
    sources.extend(config.sentinel.addrs.iter().map(|a| format!("sentinel {a}")));
    sources.extend(config.queues.names.iter().map(|q| format!("queue {q}")));
    for b in config.backup_sources() {
        sources.push(format!("s3 {}", b.cfg.bucket));
    }
    crate::record::Header {
        format: crate::record::format::FORMAT.into(),
        version: crate::record::format::VERSION,
        sitrep: env!("CARGO_PKG_VERSION").into(),
        started_at: chrono::Utc::now(),
        cols,
        rows,
        sources,
        timezone: "UTC".into(),
        banner: banner.into(),
        refresh_secs: config.refreshes().into_iter().map(|(s, d)| (s, d.as_secs())).collect(),
    }
}
