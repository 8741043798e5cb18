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
    /// What the step's precondition found, shown above its preview.
    checked: Option<String>,
}

impl Observer for ToEvents {
    fn step(&mut self, index: usize, _total: usize, spec: &StepSpec, state: &StepState) {
        let event = step_event(index, spec, state, self.dry_run, &mut self.checked);
        let _ = self.events.send(event);
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

/// Longer than any shipped runbook's explanation; a runbook file is the user's own, but still bounded.
const EXPLAIN_MAX_CHARS: usize = 2000;

/// What the wizard is told of a step's new state: the explanation with its first state, what its
/// precondition found, its preview with the name to type, and a final state in the timeline's
/// words; a failed precondition keeps the check's own words, in a dry run too. `checked` carries
/// the precondition's finding from its state to the preview's.
pub fn step_event(index: usize, spec: &StepSpec, state: &StepState, dry_run: bool, checked: &mut Option<String>) -> Event {
    let (phase, text, typed) = match state {
        StepState::Pending => {
            *checked = None;
            (state.phase(), String::new(), None)
        }
        StepState::PreconditionChecked { detail } => {
            *checked = (!detail.trim().is_empty()).then(|| format!("check: {}", detail.trim()));
            (state.phase(), checked.clone().unwrap_or_default(), None)
        }
        StepState::Previewed { preview, typed } => {
            let text = checked.as_ref().map_or_else(|| preview.clone(), |c| format!("{c}\n{preview}"));
            (state.phase(), text, typed.clone())
        }
        // A dry run stops every step at the gate, after its preview: keep the preview on screen.
        StepState::Aborted { .. } if dry_run => (StepPhase::Previewed, String::new(), None),
        StepState::Confirmed | StepState::Running { .. } => (state.phase(), String::new(), None),
        _ => (state.phase(), super::runner::outcome_text(spec, state), None),
    };
    // An explanation is read whole (triage's names the severity scale at its end): sanitized and
    // redacted like every text, but not cut at the one-line limit `clean` keeps for live data.
    let explain = if matches!(state, StepState::Pending) {
        crate::sanitize::sanitize_bounded(&crate::sanitize::redact_secrets(spec.explain.trim()), EXPLAIN_MAX_CHARS)
    } else {
        String::new()
    };
    let typed = typed.map(|t| crate::sanitize::clean(&t));
    // Each line made safe on its own: a preview's live detail (an image diff) stays on its lines.
    let text = text.lines().map(crate::sanitize::clean).collect::<Vec<_>>().join("\n");
    Event::RunbookStep { index, state: phase, text, explain, typed }
}

/// The parameters of `name` not given that the wizard asks for (choosing from live state where
/// they say `from`) before the dry run: those without a default, and those that say `ask`.
pub fn missing_params(name: &str, given: &super::template::Vars) -> Result<Vec<ParamSpec>, String> {
    let runbook = super::find(name).map_err(|e| e.to_string())?;
    Ok(runbook.params.into_iter().filter(|p| (p.default.is_none() || p.ask) && !given.contains_key(&p.name)).collect())
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
                    let mut observer = ToEvents { events: events.clone(), dry_run, checked: None };
                    // Boxed, as in `cli::run`: the run's future stays off this thread's stack.
                    match rt.block_on(Box::pin(super::runner::run(&runbook, &config, clock, &opts, &mut observer))) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runbook::spec::{Confirm, Effect};

    fn spec() -> StepSpec {
        StepSpec {
            name: "failover".into(),
            explain: "Ask the Sentinels to promote the replica of mymaster. ".into(),
            precondition: None,
            preview: String::new(),
            confirm: Confirm::Typed("{sentinel_master}".into()),
            effect: Effect::Triage {},
            verify: None,
            timeout_secs: 5,
            on_failure: String::new(),
            line: 1,
        }
    }

    fn parts(event: Event) -> (StepPhase, String, String, Option<String>) {
        match event {
            Event::RunbookStep { state, text, explain, typed, .. } => (state, text, explain, typed),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_failed_precondition_reaches_the_wizard_in_its_own_words_in_a_dry_run() {
        let mut checked = None;
        let (phase, text, explain, _) = parts(step_event(0, &spec(), &StepState::Pending, true, &mut checked));
        assert_eq!((phase, text.as_str()), (StepPhase::Pending, ""), "no `pending` text under the name");
        assert_eq!(explain, "Ask the Sentinels to promote the replica of mymaster.");
        let failed = StepState::PreconditionFailed { why: "no replica of mymaster is in sync".into() };
        let (phase, text, _, typed) = parts(step_event(0, &spec(), &failed, true, &mut checked));
        assert_eq!(phase, StepPhase::PreconditionFailed);
        assert_eq!(text, "stopped, nothing changed: precondition not met: no replica of mymaster is in sync");
        assert_eq!(typed, None);
    }

    #[test]
    fn the_preview_carries_what_the_check_found_and_the_name_to_type() {
        let mut checked = None;
        step_event(0, &spec(), &StepState::Pending, true, &mut checked);
        let check = StepState::PreconditionChecked { detail: "replica 127.0.0.1:6381 in sync".into() };
        step_event(0, &spec(), &check, true, &mut checked);
        let previewed = StepState::Previewed { preview: "SENTINEL FAILOVER mymaster".into(), typed: Some("mymaster".into()) };
        let (phase, text, explain, typed) = parts(step_event(0, &spec(), &previewed, true, &mut checked));
        assert_eq!(phase, StepPhase::Previewed);
        assert_eq!(text, "check: replica 127.0.0.1:6381 in sync\nSENTINEL FAILOVER mymaster");
        assert_eq!((explain.as_str(), typed.as_deref()), ("", Some("mymaster")));
        // The dry-run gate keeps the preview on screen.
        let gate = StepState::Aborted { why: "dry run: nothing was run".into() };
        assert_eq!(parts(step_event(0, &spec(), &gate, true, &mut checked)).0, StepPhase::Previewed);
    }
}
