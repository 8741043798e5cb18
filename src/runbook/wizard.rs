//! The console's side of a runbook: the run happens on its own thread (effects block and wait),
//! and every step change comes back to the app loop as an Event — so it is drawn, recorded and
//! replayed like everything else.

use super::engine::StepState;
use super::runner::{Observer, RunOptions, RunResult};
use super::spec::{ParamSpec, StepSpec};
use crate::clock::Clock;
use crate::config::Config;
use crate::model::{EntryClass, Event, RunEnd, StepPhase, TimelineLine};
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

struct ToEvents {
    events: UnboundedSender<Event>,
    dry_run: bool,
}

impl Observer for ToEvents {
    fn step(&mut self, index: usize, _total: usize, spec: &StepSpec, state: &StepState) {
        let (phase, text) = match state {
            StepState::Previewed { preview } => (state.phase(), preview.clone()),
            // A dry run stops every step after its preview: keep the preview on screen.
            StepState::Aborted { .. } if self.dry_run => (StepPhase::Previewed, String::new()),
            _ => (state.phase(), super::runner::outcome_text(spec, state)),
        };
        let _ = self.events.send(Event::RunbookStep { index, state: phase, text: crate::sanitize::clean(&text) });
    }

    fn note(&mut self, text: &str) {
        tracing::info!("runbook: {text}");
    }

    /// The console's timeline shows the step as soon as it is on disk.
    fn recorded(&mut self, entry: &crate::timeline::TimelineEntry) {
        let line = TimelineLine::saved(entry.at, entry.kind.describe(), EntryClass::Action, entry.id.to_string());
        let _ = self.events.send(Event::TimelineAppended { line });
    }

    /// The wizard asked before starting the real run; plain steps are confirmed by that.
    fn confirm_plain(&mut self, _spec: &StepSpec, _preview: &str) -> bool {
        true
    }
}

/// The parameters of `name` that are neither given nor defaulted: the wizard asks for them
/// (choosing from live state where they say `from`) before the dry run.
pub fn missing_params(name: &str, given: &super::template::Vars) -> Result<Vec<ParamSpec>, String> {
    let runbook = super::find(name).map_err(|e| e.to_string())?;
    Ok(runbook.params.into_iter().filter(|p| p.default.is_none() && !given.contains_key(&p.name)).collect())
}

/// Starts `name` with `params` on its own thread: a dry run when `typed` is None (previews only),
/// else the real run with `typed` as the typed confirmation. Cancelling `cancel` aborts the run
/// at its current step (the step is written to the timeline as aborted).
pub fn start(
    name: &str,
    params: super::template::Vars,
    typed: Option<String>,
    config: &Config,
    clock: Clock,
    events: UnboundedSender<Event>,
    cancel: CancellationToken,
) -> Result<(), String> {
    let runbook = super::find(name).map_err(|e| e.to_string())?;
    let config = config.clone();
    let dry_run = typed.is_none();
    let opts = RunOptions { params, dry_run, read_only: config.general.read_only, confirm: typed, assume_yes: true, cancel };
    let steps = runbook.steps.iter().map(|s| s.name.clone()).collect();
    let timeouts_secs = runbook.steps.iter().map(|s| s.timeout_secs).collect();
    let _ = events.send(Event::RunbookStarted { name: runbook.name.clone(), title: runbook.title.clone(), steps, dry_run, timeouts_secs });
    std::thread::Builder::new()
        .name("sitrep-runbook".into())
        .spawn(move || {
            let (end, outcome) = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => {
                    let mut observer = ToEvents { events: events.clone(), dry_run };
                    match rt.block_on(super::runner::run(&runbook, &config, clock, &opts, &mut observer)) {
                        Ok(summary) => match summary.result {
                            RunResult::Completed => (RunEnd::Completed, format!("completed in {:.1}s", summary.elapsed.as_secs_f64())),
                            RunResult::DryRun => (RunEnd::DryRun, "dry run: nothing was changed".to_string()),
                            RunResult::Failed { step, error } => (RunEnd::Failed, format!("FAILED at {step}: {error}")),
                            RunResult::Refused { step, why } => (RunEnd::Refused, format!("REFUSED at {step}: {why}; nothing was changed")),
                            RunResult::Aborted { step, why } => (RunEnd::Aborted, format!("stopped at {step}: {why}")),
                        },
                        Err(e) => (RunEnd::NotStarted, format!("not started: {e}")),
                    }
                }
                Err(e) => (RunEnd::NotStarted, format!("not started: {e}")),
            };
            let _ = events.send(Event::RunbookFinished { outcome: crate::sanitize::clean(&outcome), end: Some(end) });
        })
        .map_err(|e| e.to_string())?;
    Ok(())
}
