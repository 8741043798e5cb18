//! The command line: `sitrep` (= `sitrep console`), demo, replay, export, lab, check, note,
//! runbook, completions. Flags override sitrep.toml, which overrides the defaults.

use crate::config::{self, Config};
use anyhow::Context;
use clap::{Args, CommandFactory, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "sitrep",
    version,
    about = "A terminal incident console: pods, replication, Sentinel, queues and backups, live, side by side."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub console: ConsoleArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The live console (the default when no command is given).
    Console(ConsoleArgs),
    /// Start a local lab with an incident unfolding and open the console on it; leaving stops the lab.
    Demo(DemoArgs),
    /// Replay a recorded session: play, pause, speed, seek, annotations; or one frame with --snapshot.
    Replay(ReplayArgs),
    /// Export an incident timeline as a post-mortem draft (Markdown or JSON).
    Export(crate::timeline::cli::ExportArgs),
    /// Open, update, list and show incidents.
    Incident(crate::timeline::cli::IncidentArgs),
    /// The real-parts lab: Postgres+Patroni, Redis+Sentinels, S3, a Kubernetes API stand-in, faults.
    Lab(crate::lab::cli::LabArgs),
    /// Validate sitrep.toml, views/, themes/ and actions/; print every problem as file:line.
    Check(CheckArgs),
    /// Append a note to the open incident's timeline; prints `saved <id>` once it is on disk.
    Note(crate::timeline::cli::NoteArgs),
    /// List, show or run the runbooks in actions/ (triage, rollback, failover, restore, …).
    Runbook(crate::runbook::cli::RunbookArgs),
    /// Print shell completions: sitrep completions bash|zsh|fish > FILE.
    Completions { shell: clap_complete::Shell },
}

#[derive(Debug, Args, Default, Clone)]
pub struct ConsoleArgs {
    /// Config file (else $SITREP_CONFIG, ./sitrep.toml, ~/.config/sitrep/sitrep.toml).
    #[arg(long, global = true, env = "SITREP_CONFIG")]
    pub config: Option<PathBuf>,
    /// Kubernetes context (as kubectl --context).
    #[arg(long)]
    pub context: Option<String>,
    /// Namespace(s) to watch (as kubectl -n); repeat for several. Default: from sitrep.toml, else all.
    #[arg(short = 'n', long = "namespace")]
    pub namespaces: Vec<String>,
    /// Refuse every mutating runbook step.
    #[arg(long)]
    pub read_only: bool,
    /// Theme name from themes/ (NO_COLOR forces "mono").
    #[arg(long)]
    pub theme: Option<String>,
    /// View name from views/, or "auto".
    #[arg(long)]
    pub view: Option<String>,
    /// Headless: no terminal; print the final frame as text and exit.
    #[arg(long)]
    pub snapshot: bool,
    /// Frame size for --snapshot, COLSxROWS.
    #[arg(long, default_value = "120x40", value_parser = parse_size)]
    pub size: (u16, u16),
    /// Seconds of live data to gather before the --snapshot frame.
    #[arg(long, default_value_t = 5.0)]
    pub settle: f64,
    /// Keep colours in the --snapshot frame (ANSI SGR).
    #[arg(long)]
    pub ansi: bool,
    /// Record this session (events and keys) into FILE for `sitrep replay`.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Lab scenario to run (see `sitrep lab scenarios`).
    #[arg(long, default_value = "demo")]
    pub scenario: String,
    /// Lab directory (default: a fresh temp dir, removed afterwards).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Play a bundled recording instead of starting a lab (needs nothing installed); optionally name it.
    #[arg(long, value_name = "RECORDING", num_args = 0..=1, default_missing_value = "bad-deploy")]
    pub replay: Option<String>,
    #[command(flatten)]
    pub console: ConsoleArgs,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The recording to play (written by `sitrep console --record FILE`).
    pub file: PathBuf,
    /// Print the header, duration and counts, and exit.
    #[arg(long)]
    pub info: bool,
    /// Playback speed, 0.25 to 32.
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Start at this point (90s, 1m30s, 12:30).
    #[arg(long, default_value = "0s")]
    pub from: String,
    /// Headless: print the frame at --at as text and exit.
    #[arg(long)]
    pub snapshot: bool,
    /// The moment for --snapshot (90s, 1m30s, 12:30, or "end").
    #[arg(long, default_value = "end")]
    pub at: String,
    /// Frame size for --snapshot and --export-cast, COLSxROWS.
    #[arg(long, default_value = "120x40", value_parser = parse_size)]
    pub size: (u16, u16),
    /// Keep colours in the --snapshot frame.
    #[arg(long)]
    pub ansi: bool,
    /// Write an asciicast v2 file (one frame a second) for asciinema players.
    #[arg(long, value_name = "OUT.cast")]
    pub export_cast: Option<PathBuf>,
    /// Theme name from themes/.
    #[arg(long)]
    pub theme: Option<String>,
    /// View name from views/, or "auto".
    #[arg(long)]
    pub view: Option<String>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {}

fn parse_size(s: &str) -> Result<(u16, u16), String> {
    let (c, r) = s.split_once(['x', 'X']).ok_or_else(|| format!("`{s}` is not COLSxROWS, e.g. 120x40"))?;
    let c: u16 = c.parse().map_err(|_| format!("`{c}` is not a column count"))?;
    let r: u16 = r.parse().map_err(|_| format!("`{r}` is not a row count"))?;
    if c < 20 || r < 8 {
        return Err(format!("{c}x{r} is too small; use at least 20x8"));
    }
    Ok((c, r))
}

/// Parses the command line and runs it; errors are printed for people.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let _log = crate::logging::init(&config::Env::from_process());
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("sitrep: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        None => console(cli.console),
        Some(Command::Console(args)) => console(merge(cli.console, args)),
        Some(Command::Demo(args)) => demo(args),
        Some(Command::Lab(args)) => crate::lab::cli::run(args).map(|()| ExitCode::SUCCESS),
        Some(Command::Check(_)) => check(cli.console.config),
        Some(Command::Completions { shell }) => {
            clap_complete::generate(shell, &mut Cli::command(), "sitrep", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Replay(args)) => replay(args, cli.console.config),
        Some(Command::Incident(args)) => crate::timeline::cli::run_incident(args, &load_config(&cli.console)?),
        Some(Command::Note(args)) => crate::timeline::cli::run_note(args, &load_config(&cli.console)?),
        Some(Command::Export(args)) => crate::timeline::cli::run_export(args, &load_config(&cli.console)?),
        Some(Command::Runbook(args)) => crate::runbook::cli::run(args, &load_config(&cli.console)?),
    }
}

fn replay(args: ReplayArgs, config_path: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    use crate::replay::player;
    let rec = crate::record::read(&args.file)?;
    if let Some(p) = &rec.problem {
        eprintln!("sitrep replay: {}: {p}", args.file.display());
    }
    if args.info {
        print!("{}", player::info(&rec));
        return Ok(ExitCode::SUCCESS);
    }
    let flags = config::Overrides { theme: args.theme.clone(), view: args.view.clone(), ..config::Overrides::default() };
    let config = config::resolve(config_path.as_deref(), &config::Env::from_process(), &flags)?;
    let (cols, rows) = args.size;
    if let Some(out) = &args.export_cast {
        let file = std::fs::File::create(out).with_context(|| format!("cannot create {}", out.display()))?;
        let mut w = std::io::BufWriter::new(file);
        player::export_cast(&rec, &config, cols, rows, &mut w)?;
        std::io::Write::flush(&mut w)?;
        eprintln!("wrote {} ({}x{}, {} s)", out.display(), cols, rows, rec.duration_ms() / 1000);
        return Ok(ExitCode::SUCCESS);
    }
    if args.snapshot {
        let at = if args.at == "end" { rec.duration_ms() } else { player::parse_offset(&args.at).map_err(anyhow::Error::msg)? };
        let console = player::console_at(&rec, &config, at, true)?;
        print!("{}", crate::app::frame_text(&console, cols, rows, args.ansi));
        return Ok(ExitCode::SUCCESS);
    }
    let from = player::parse_offset(&args.from).map_err(anyhow::Error::msg)?;
    crate::console::runtime()?.block_on(crate::replay::interactive::run(rec, config, args.speed.clamp(0.25, 32.0), from))?;
    Ok(ExitCode::SUCCESS)
}

/// Global flags given before the subcommand still count.
fn merge(global: ConsoleArgs, mut local: ConsoleArgs) -> ConsoleArgs {
    local.config = local.config.or(global.config);
    local
}

fn check(config_path: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let env = config::Env::from_process();
    let problems = crate::check::run(config_path.as_deref(), &env);
    if problems.is_empty() {
        let which =
            config::locate(config_path.as_deref(), &env).map_or_else(|| "built-in defaults".to_string(), |p| p.display().to_string());
        println!("ok: {which}, views, themes and actions are valid");
        return Ok(ExitCode::SUCCESS);
    }
    for p in &problems {
        println!("{p}");
    }
    eprintln!("{} problem(s)", problems.len());
    Ok(ExitCode::FAILURE)
}

/// Loads the config: defaults < file < environment < flags, in one call.
pub fn load_config(args: &ConsoleArgs) -> anyhow::Result<Config> {
    let flags = config::Overrides {
        context: args.context.clone(),
        namespaces: args.namespaces.clone(),
        read_only: args.read_only,
        theme: args.theme.clone(),
        view: args.view.clone(),
    };
    Ok(config::resolve(args.config.as_deref(), &config::Env::from_process(), &flags)?)
}

fn console(args: ConsoleArgs) -> anyhow::Result<ExitCode> {
    let config = load_config(&args)?;
    let banner = crate::console::banner(&config);
    let snapshot = args.snapshot.then(|| crate::console::Snapshot {
        cols: args.size.0,
        rows: args.size.1,
        settle: Duration::from_secs_f64(args.settle.max(0.0)),
        ansi: args.ansi,
    });
    crate::console::run(config, &crate::console::Start { record: args.record, snapshot }, banner)?;
    Ok(ExitCode::SUCCESS)
}

/// A bundled recording by name (recordings/NAME.sitrep) or a path.
fn bundled_recording(name: &str) -> anyhow::Result<PathBuf> {
    let direct = PathBuf::from(name);
    if direct.is_file() {
        return Ok(direct);
    }
    let mut available = Vec::new();
    for root in crate::data_files::roots() {
        let p = root.join("recordings").join(format!("{name}.sitrep"));
        if p.is_file() {
            return Ok(p);
        }
        if let Ok(entries) = std::fs::read_dir(root.join("recordings")) {
            available.extend(
                entries
                    .filter_map(Result::ok)
                    .filter_map(|e| e.path().file_stem().map(|s| s.to_string_lossy().into_owned()))
                    .filter(|n| !n.contains('.')),
            );
        }
    }
    available.sort();
    available.dedup();
    anyhow::bail!(
        "no recording named `{name}`; bundled ones: {}",
        if available.is_empty() { "none found".to_string() } else { available.join(", ") }
    )
}

fn demo(args: DemoArgs) -> anyhow::Result<ExitCode> {
    if let Some(name) = &args.replay {
        let file = bundled_recording(name)?;
        let replay_args = ReplayArgs {
            file,
            info: false,
            speed: 4.0,
            from: "0s".into(),
            snapshot: args.console.snapshot,
            at: "end".into(),
            size: args.console.size,
            ansi: args.console.ansi,
            export_cast: None,
            theme: args.console.theme.clone(),
            view: args.console.view.clone(),
        };
        return replay(replay_args, args.console.config);
    }
    eprintln!("sitrep demo: starting the lab (scenario {}), this takes under a minute…", args.scenario);
    let lab = crate::lab::Lab::up(crate::lab::LabOptions {
        dir: args.dir.clone(),
        scenario: Some(args.scenario.clone()),
        owner_pid: Some(std::process::id()),
    })
    .context("starting the lab for the demo; run `scripts/install` if a program is missing")?;
    let mut console_args = args.console;
    console_args.config = Some(lab.config_path());
    let result = console(console_args);
    let down = lab.down();
    if let Err(e) = &down {
        eprintln!("sitrep demo: stopping the lab: {e}");
    }
    result
}
