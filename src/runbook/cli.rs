//! `sitrep runbook list | show NAME | run NAME --param k=v [--dry-run] [--confirm TEXT] [--read-only]`:
//! the non-interactive way in. Exit codes: 0 done, 1 failed, 2 bad input, 3 refused, 4 precondition not met.

use super::engine::StepState;
use super::runner::{self, Observer, RunOptions, RunResult};
use super::spec::{Confirm, StepSpec};
use crate::config::Config;
use anyhow::Context;
use clap::{Args, Subcommand};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

/// Exit code of a refused step (confirmation, read-only, a held lock): nothing was changed.
pub const EXIT_REFUSED: u8 = 3;
/// Exit code when a precondition did not hold: nothing was changed.
pub const EXIT_PRECONDITION: u8 = 4;

#[derive(Debug, Args)]
pub struct RunbookArgs {
    #[command(subcommand)]
    pub command: RunbookCommand,
}

#[derive(Debug, Subcommand)]
pub enum RunbookCommand {
    /// The runbooks in actions/ (user dirs first, then the built-ins).
    List,
    /// A runbook's params and steps, with what each step checks, previews, asks and does.
    Show { name: String },
    /// Runs a runbook step by step, printing each step's explanation, preview, outcome and time.
    Run(RunArgs),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Runbook name (`sitrep runbook list`).
    pub name: String,
    /// A parameter, KEY=VALUE; repeat for several.
    #[arg(short, long = "param", value_parser = parse_param)]
    pub params: Vec<(String, String)>,
    /// Show every step's preview; run nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The name typed to confirm a destructive step; must match exactly.
    #[arg(long)]
    pub confirm: Option<String>,
    /// Refuse every step that changes something.
    #[arg(long)]
    pub read_only: bool,
    /// Give plain (not typed) confirmations without asking.
    #[arg(short, long)]
    pub yes: bool,
}

fn parse_param(s: &str) -> Result<(String, String), String> {
    let (k, v) = s.split_once('=').ok_or_else(|| format!("`{s}` is not KEY=VALUE, e.g. --param deployment=api"))?;
    if k.trim().is_empty() {
        return Err(format!("`{s}` has no KEY before `=`"));
    }
    Ok((k.trim().to_string(), v.to_string()))
}

/// Runs `sitrep runbook ...`.
pub fn run(args: RunbookArgs, config: &Config) -> anyhow::Result<ExitCode> {
    match args.command {
        RunbookCommand::List => list(),
        RunbookCommand::Show { name } => show(&name),
        RunbookCommand::Run(r) => run_one(r, config),
    }
}

fn list() -> anyhow::Result<ExitCode> {
    let files = super::load_all();
    if files.is_empty() {
        println!("no runbooks found; put *.toml files in actions/ (docs/runbooks.md)");
    }
    let mut bad = false;
    for file in files {
        match super::validate(&file) {
            Ok(rb) => {
                println!("{:<18} {}{}\n{:<18} when: {}", rb.name, rb.title, if rb.mutates() { "" } else { " (read-only)" }, "", rb.when)
            }
            Err(problems) => {
                bad = true;
                println!("{:<18} INVALID: {}", file.name, problems.first().map(ToString::to_string).unwrap_or_default());
            }
        }
    }
    Ok(if bad { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

fn show(name: &str) -> anyhow::Result<ExitCode> {
    let rb = match super::find(name) {
        Ok(rb) => rb,
        Err(e) => {
            eprintln!("sitrep runbook: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    println!("{} — {}\nwhen: {}\nfile: {}", rb.name, rb.title, rb.when, rb.path.display());
    if !rb.target.is_empty() {
        println!("target: {} (one run at a time)", rb.target);
    }
    println!("\nparams:");
    for p in &rb.params {
        let from = p.from.map(|f| format!(", from the live {}", f.name())).unwrap_or_default();
        let default = p.default.as_ref().map(|d| format!(", default `{d}`")).unwrap_or_else(|| ", required".into());
        println!("  {:<12} {}{from}{default}", p.name, p.description);
    }
    println!("\nsteps:");
    for (i, s) in rb.steps.iter().enumerate() {
        let confirm = match &s.confirm {
            Confirm::None => "none".to_string(),
            Confirm::Plain => "plain (--yes)".to_string(),
            Confirm::Typed(t) => format!("typed: {t} (--confirm)"),
        };
        println!("  {}. {} — {}", i + 1, s.name, s.explain.trim());
        if let Some(p) = &s.precondition {
            println!("     check:   {}", p.kind());
        }
        println!("     preview: {}", s.preview.trim());
        println!("     confirm: {confirm}");
        println!("     does:    {}{}", s.effect.kind(), if s.effect.mutates() { " (changes things)" } else { " (read-only)" });
        if let Some(v) = &s.verify {
            println!("     verify:  {} within {}s", v.kind(), s.timeout_secs);
        }
        println!("     if it fails: {}", s.on_failure.trim());
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints each step as it goes.
struct Printer;

impl Observer for Printer {
    fn step(&mut self, index: usize, total: usize, spec: &StepSpec, state: &StepState) {
        let mut out = std::io::stdout().lock();
        let text = match state {
            StepState::Pending => format!("\n[{}/{total}] {}\n  {}", index + 1, spec.name, spec.explain.trim()),
            StepState::PreconditionChecked { detail } if detail.is_empty() => return,
            StepState::PreconditionChecked { detail } => format!("  check: {detail}"),
            StepState::Previewed { preview, typed: None } => format!("  preview:\n{}", indent(preview)),
            StepState::Previewed { preview, typed: Some(typed) } => {
                format!("  preview:\n{}\n  confirm: type `{typed}` exactly (--confirm {typed})", indent(preview))
            }
            StepState::Confirmed | StepState::Running { .. } => return,
            StepState::Verified { detail, elapsed } => format!("  ok ({:.1}s):\n{}", elapsed.as_secs_f64(), indent(detail)),
            StepState::Failed { error, elapsed } => {
                format!("  FAILED after {:.1}s: {error}\n  what to do: {}", elapsed.as_secs_f64(), spec.on_failure.trim())
            }
            StepState::PreconditionFailed { why } => format!("  stopped: precondition not met: {why}"),
            StepState::Aborted { why } => format!("  stopped: {why}"),
            StepState::Refused { why } => format!("  REFUSED: {why}; nothing was changed"),
        };
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }

    fn note(&mut self, text: &str) {
        println!("note: {text}");
    }

    fn confirm_plain(&mut self, spec: &StepSpec, _preview: &str) -> bool {
        if !std::io::stdin().is_terminal() {
            return false;
        }
        print!("  run step `{}`? [y/N] ", spec.name);
        let _ = std::io::stdout().flush();
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer).is_ok() && matches!(answer.trim(), "y" | "Y" | "yes")
    }
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n")
}

fn run_one(args: RunArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let rb = match super::find(&args.name) {
        Ok(rb) => rb,
        Err(e) => {
            eprintln!("sitrep runbook: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let opts = RunOptions {
        params: args.params.into_iter().collect(),
        dry_run: args.dry_run,
        read_only: args.read_only,
        confirm: args.confirm,
        assume_yes: args.yes,
        cancel: Default::default(),
    };
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().context("starting the async runtime")?;
    println!("{} — {}{}", rb.name, rb.title, if args.dry_run { " (dry run: nothing will run)" } else { "" });
    // Ctrl-C aborts at the current step like Esc in the console: the step is recorded as aborted
    // (with whether it may have changed something) instead of the process dying mid-step.
    let cancel = opts.cancel.clone();
    rt.spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("\nsitrep runbook: Ctrl-C — aborting at the current step ; its record follows");
            cancel.cancel();
        }
    });
    // Boxed: a run's future (triage joins a TLS connect per source) is too large for the stack of
    // a small thread when `block_on` pins it there.
    let summary = match rt.block_on(Box::pin(runner::run(&rb, config, crate::clock::Clock::Real, &opts, &mut Printer))) {
        Ok(s) => s,
        Err(e @ runner::RunError::Locked(_)) => {
            eprintln!("sitrep runbook: {e}");
            return Ok(ExitCode::from(EXIT_REFUSED));
        }
        Err(runner::RunError::MissingParam { name, description, from }) => {
            eprintln!("sitrep runbook: parameter `{name}` is required ({description}); give it with --param {name}=VALUE");
            let source = rb.params.iter().find(|p| p.name == name).and_then(|p| p.from);
            if let Some(source) = source {
                eprintln!("{}", rt.block_on(live_choices(config, source)));
            } else if let Some(f) = from {
                eprintln!("(its choices come from the live {f})");
            }
            return Ok(ExitCode::from(2));
        }
        Err(e) => {
            eprintln!("sitrep runbook: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let secs = summary.elapsed.as_secs_f64();
    let (line, code) = match &summary.result {
        RunResult::Completed => (format!("\n{} done in {secs:.1}s", rb.name), ExitCode::SUCCESS),
        RunResult::DryRun => (format!("\ndry run of {}: {} step(s) shown, nothing run", rb.name, summary.steps.len()), ExitCode::SUCCESS),
        RunResult::Failed { step, .. } => (format!("\n{} FAILED at step {step} after {secs:.1}s", rb.name), ExitCode::FAILURE),
        RunResult::Refused { step, .. } => {
            (format!("\n{} refused at step {step}; nothing was changed by it", rb.name), ExitCode::from(EXIT_REFUSED))
        }
        RunResult::Aborted { step, why } => (format!("\n{} stopped at step {step}: {why}", rb.name), ExitCode::from(EXIT_PRECONDITION)),
    };
    println!("{line}");
    if !args.dry_run {
        crate::timeline::cli::share_now(config, &mut std::io::stderr());
    }
    Ok(code)
}

/// The choices the console's picker would offer, read once from the live source, as lines to print.
async fn live_choices(config: &Config, source: crate::runbook::spec::ParamSource) -> String {
    let clock = crate::clock::Clock::Real;
    let vars = runner::variables_for_choices(config, &clock);
    let ctx = super::effects::Ctx {
        config: config.clone(),
        vars,
        timeout: std::time::Duration::from_secs(config.general.timeout_secs.max(1)),
        clock,
    };
    let mut model = crate::model::Model::new(chrono::Duration::seconds(config.general.refresh_secs.max(1) as i64));
    match super::effects::triage::observe_for(&ctx, source).await {
        Some(Ok(observation)) => {
            model.apply(crate::model::Event::Observed { at: ctx.clock.now(), observation });
        }
        Some(Err(e)) => return format!("cannot list the live {}: {}", source.name(), crate::sanitize::clean(&e.to_string())),
        None => return format!("(its choices come from the live {}, which is not configured here)", source.name()),
    }
    let choices = super::choices::choices(&model, source);
    if choices.is_empty() {
        return super::choices::why_none(&model, source);
    }
    let width = choices.iter().map(|c| c.value.chars().count()).max().unwrap_or(0);
    let mut out = format!("live {} to choose from:", source.name());
    for c in choices {
        out.push_str(&format!("\n  {:<width$}  {}", c.value, c.label));
    }
    out
}
