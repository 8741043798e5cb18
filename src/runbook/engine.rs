//! The pure step state machine: pending → precondition checked → previewed → confirmed → running
//! → verified | failed, or precondition failed / aborted / refused. No IO; the runner feeds it
//! results and the time.

use super::spec::{Confirm, StepSpec};
use std::time::{Duration, Instant};

/// Where one step is.
#[derive(Debug, Clone, PartialEq)]
pub enum StepState {
    Pending,
    PreconditionChecked {
        detail: String,
    },
    /// What it will do, and the exact text a typed confirmation asks for (rendered when the
    /// preview is made, so the name shown is the name the gate checks).
    Previewed {
        preview: String,
        typed: Option<String>,
    },
    Confirmed,
    Running {
        since: Instant,
    },
    Verified {
        detail: String,
        elapsed: Duration,
    },
    Failed {
        error: String,
        elapsed: Duration,
    },
    /// The precondition did not hold (`why` in the check's own words): nothing ran, in a dry run
    /// as in the real one.
    PreconditionFailed {
        why: String,
    },
    /// Stopped: before anything changed (a dry run), or by the
    /// operator ([`StepRun::abort`], whose `why` starts with [`BY_OPERATOR`] and says what may have changed).
    Aborted {
        why: String,
    },
    /// Not allowed to run: read-only mode, a missing or wrong confirmation, a held lock.
    Refused {
        why: String,
    },
}

impl StepState {
    pub fn name(&self) -> &'static str {
        self.phase().name()
    }

    /// The phase the screen shows (and recordings keep).
    pub fn phase(&self) -> crate::model::StepPhase {
        use crate::model::StepPhase as P;
        match self {
            StepState::Pending => P::Pending,
            StepState::PreconditionChecked { .. } => P::PreconditionChecked,
            StepState::PreconditionFailed { .. } => P::PreconditionFailed,
            StepState::Previewed { .. } => P::Previewed,
            StepState::Confirmed => P::Confirmed,
            StepState::Running { .. } => P::Running,
            StepState::Verified { .. } => P::Verified,
            StepState::Failed { .. } => P::Failed,
            StepState::Aborted { .. } => P::Aborted,
            StepState::Refused { .. } => P::Refused,
        }
    }

    pub fn is_final(&self) -> bool {
        matches!(
            self,
            StepState::Verified { .. }
                | StepState::Failed { .. }
                | StepState::PreconditionFailed { .. }
                | StepState::Aborted { .. }
                | StepState::Refused { .. }
        )
    }
}

/// How every operator abort's `why` begins, so its outcome is not worded as "nothing changed".
pub const BY_OPERATOR: &str = "by the operator";

/// A plain "yes" from a person (or `--yes`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlainConfirmation(());

impl PlainConfirmation {
    pub fn given() -> Self {
        PlainConfirmation(())
    }
}

/// Proof that a person typed exactly the name of what is about to change. Only
/// [`TypedConfirmation::check`] makes one, and only when the text matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypedConfirmation {
    text: String,
}

impl TypedConfirmation {
    /// `Some` only when `typed` is exactly `expected` (no trimming, no case folding).
    pub fn check(expected: &str, typed: &str) -> Option<Self> {
        (!expected.is_empty() && typed == expected).then(|| TypedConfirmation { text: expected.to_string() })
    }

    pub fn text(&self) -> &str {
        &self.text
    }
}

/// What the runner hands the engine at the confirmation gate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmation {
    /// For steps with `confirm = "none"`.
    NotRequired,
    Plain(PlainConfirmation),
    Typed(TypedConfirmation),
    /// The person declined or gave nothing (the reason is shown).
    Withheld(String),
}

/// How a run is allowed to behave.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Policy {
    pub read_only: bool,
    pub dry_run: bool,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("step `{step}`: cannot go from {from} to {to} (a bug in the runner, please report it)")]
pub struct BadTransition {
    pub step: String,
    pub from: &'static str,
    pub to: &'static str,
}

/// One step of a run and its state; every change of state is a method that checks the order.
#[derive(Debug, Clone)]
pub struct StepRun {
    pub name: String,
    pub mutates: bool,
    pub confirm: Confirm,
    pub state: StepState,
}

impl StepRun {
    pub fn new(step: &StepSpec) -> Self {
        StepRun { name: step.name.clone(), mutates: step.effect.mutates(), confirm: step.confirm.clone(), state: StepState::Pending }
    }

    fn go(&mut self, allowed: bool, to: StepState) -> Result<&StepState, BadTransition> {
        if !allowed {
            return Err(BadTransition { step: self.name.clone(), from: self.state.name(), to: to.name() });
        }
        self.state = to;
        Ok(&self.state)
    }

    /// The precondition's answer (a step without one passes `Ok`).
    pub fn precondition(&mut self, result: Result<String, String>) -> Result<&StepState, BadTransition> {
        let ok = self.state == StepState::Pending;
        let to = match result {
            Ok(detail) => StepState::PreconditionChecked { detail },
            Err(why) => StepState::PreconditionFailed { why },
        };
        self.go(ok, to)
    }

    /// The exact preview shown to the person, and (for a typed step) the rendered text to type.
    pub fn preview(&mut self, preview: String, typed: Option<String>) -> Result<&StepState, BadTransition> {
        let ok = matches!(self.state, StepState::Pending | StepState::PreconditionChecked { .. });
        self.go(ok, StepState::Previewed { preview, typed })
    }

    /// The gate: read-only and dry-run policies first, then the confirmation the step asks for,
    /// checked against the typed text its preview named.
    pub fn confirm(&mut self, policy: Policy, given: Confirmation) -> Result<&StepState, BadTransition> {
        let StepState::Previewed { typed, .. } = &self.state else {
            return self.go(false, StepState::Confirmed);
        };
        let named = typed.clone();
        let expected = named.as_deref();
        let to = if policy.dry_run {
            StepState::Aborted { why: "dry run: nothing was run".into() }
        } else if policy.read_only && self.mutates {
            StepState::Refused { why: "read-only mode (--read-only or [general] read_only): this step changes things".into() }
        } else {
            match (&self.confirm, given) {
                (Confirm::None, _) if !self.mutates => StepState::Confirmed,
                (Confirm::Plain, Confirmation::Plain(_) | Confirmation::Typed(_)) => StepState::Confirmed,
                (Confirm::Typed(_), Confirmation::Typed(t)) if Some(t.text()) == expected => StepState::Confirmed,
                (Confirm::Typed(_), Confirmation::Typed(_) | Confirmation::Plain(_) | Confirmation::NotRequired) => {
                    StepState::Refused { why: format!("this step needs `{}` typed exactly (--confirm)", expected.unwrap_or("?")) }
                }
                (_, Confirmation::Withheld(why)) => StepState::Refused { why },
                (_, _) => StepState::Refused { why: "not confirmed".into() },
            }
        };
        self.go(true, to)
    }

    pub fn start(&mut self, now: Instant) -> Result<&StepState, BadTransition> {
        let ok = self.state == StepState::Confirmed;
        self.go(ok, StepState::Running { since: now })
    }

    /// The operator stopped the run. Allowed from any state before the end; a step stopped while
    /// it ran may have changed part of what it changes, and its `why` says so.
    pub fn abort(&mut self, now: Instant) -> Result<&StepState, BadTransition> {
        let ok = !self.state.is_final();
        let why = match self.state {
            StepState::Running { since } => {
                let secs = now.saturating_duration_since(since).as_secs_f64();
                if self.mutates {
                    format!(
                        "{BY_OPERATOR} after {secs:.1}s while it ran: it may have changed part of what it changes; check before going on"
                    )
                } else {
                    format!("{BY_OPERATOR} after {secs:.1}s while it checked; it changes nothing")
                }
            }
            _ => format!("{BY_OPERATOR} before it ran; nothing changed"),
        };
        self.go(ok, StepState::Aborted { why })
    }

    /// The effect and its verification, together, within the step's timeout.
    pub fn finish(&mut self, result: Result<String, String>, now: Instant) -> Result<&StepState, BadTransition> {
        let StepState::Running { since } = self.state else {
            return self.go(false, StepState::Failed { error: String::new(), elapsed: Duration::ZERO });
        };
        let elapsed = now.saturating_duration_since(since);
        let to = match result {
            Ok(detail) => StepState::Verified { detail, elapsed },
            Err(error) => StepState::Failed { error, elapsed },
        };
        self.go(true, to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runbook::spec::Effect;

    fn step(confirm: Confirm, effect: Effect) -> StepSpec {
        StepSpec {
            name: "undo".into(),
            explain: String::new(),
            precondition: None,
            preview: String::new(),
            confirm,
            effect,
            verify: None,
            timeout_secs: 5,
            on_failure: String::new(),
            line: 1,
        }
    }

    fn undo() -> Effect {
        Effect::KubeRolloutUndo { deployment: "api".into(), revision: "previous".into() }
    }

    fn previewed(confirm: Confirm) -> StepRun {
        let typed = matches!(confirm, Confirm::Typed(_)).then(|| "api".to_string());
        let mut run = StepRun::new(&step(confirm, undo()));
        run.precondition(Ok("ok".into())).expect("from pending");
        run.preview("kubectl rollout undo deployment/api".into(), typed).expect("after the check");
        run
    }

    #[test]
    fn a_typed_step_runs_only_with_the_exact_name() {
        let mut run = previewed(Confirm::Typed("{deployment}".into()));
        assert!(TypedConfirmation::check("api", "API").is_none());
        assert!(TypedConfirmation::check("api", "api ").is_none());
        let typed = TypedConfirmation::check("api", "api").expect("exact");
        assert_eq!(run.confirm(Policy::default(), Confirmation::Typed(typed)), Ok(&StepState::Confirmed));
        assert!(matches!(run.start(Instant::now()), Ok(StepState::Running { .. })));
        assert!(matches!(run.finish(Ok("ready".into()), Instant::now()), Ok(StepState::Verified { .. })));
    }

    #[test]
    fn a_typed_step_is_refused_with_a_plain_yes_or_another_name() {
        let mut run = previewed(Confirm::Typed("{deployment}".into()));
        run.confirm(Policy::default(), Confirmation::Plain(PlainConfirmation::given())).expect("gate");
        assert!(matches!(&run.state, StepState::Refused { why } if why.contains("`api`")));
        assert!(run.start(Instant::now()).is_err(), "a refused step never starts");
        let mut run = previewed(Confirm::Typed("{deployment}".into()));
        let other = TypedConfirmation::check("web", "web").expect("exact");
        run.confirm(Policy::default(), Confirmation::Typed(other)).expect("gate");
        assert!(matches!(run.state, StepState::Refused { .. }));
    }

    #[test]
    fn read_only_refuses_mutating_steps_and_dry_run_aborts_all() {
        let mut run = previewed(Confirm::Plain);
        let policy = Policy { read_only: true, dry_run: false };
        run.confirm(policy, Confirmation::Plain(PlainConfirmation::given())).expect("gate");
        assert!(matches!(&run.state, StepState::Refused { why } if why.contains("read-only")));
        let mut run = previewed(Confirm::Plain);
        run.confirm(Policy { read_only: false, dry_run: true }, Confirmation::Plain(PlainConfirmation::given())).expect("gate");
        assert!(matches!(run.state, StepState::Aborted { .. }));
    }

    #[test]
    fn a_failed_precondition_stops_before_the_preview_gate() {
        let mut run = StepRun::new(&step(Confirm::Plain, undo()));
        run.precondition(Err("no previous revision".into())).expect("from pending");
        assert_eq!(run.state, StepState::PreconditionFailed { why: "no previous revision".into() });
        assert_eq!(run.state.phase(), crate::model::StepPhase::PreconditionFailed);
        assert!(run.state.is_final(), "nothing follows a precondition that does not hold");
        assert!(run.preview("x".into(), None).is_err());
    }

    #[test]
    fn an_operator_abort_while_running_says_how_long_and_that_things_may_have_changed() {
        let mut run = previewed(Confirm::Plain);
        run.confirm(Policy::default(), Confirmation::Plain(PlainConfirmation::given())).expect("gate");
        let since = Instant::now();
        run.start(since).expect("confirmed");
        run.abort(since + Duration::from_millis(2500)).expect("running can be aborted");
        assert!(
            matches!(&run.state, StepState::Aborted { why } if why.starts_with(BY_OPERATOR) && why.contains("2.5s") && why.contains("may have changed")),
            "{:?}",
            run.state
        );
        assert!(run.abort(Instant::now()).is_err(), "a final state stays final");
        let mut early = previewed(Confirm::Plain);
        early.abort(Instant::now()).expect("before the gate");
        assert!(matches!(&early.state, StepState::Aborted { why } if why.contains("nothing changed")));
    }

    #[test]
    fn a_read_only_step_needs_no_confirmation_even_in_read_only_mode() {
        let mut run = StepRun::new(&step(Confirm::None, Effect::Triage {}));
        run.preview("snapshot".into(), None).expect("no precondition");
        run.confirm(Policy { read_only: true, dry_run: false }, Confirmation::NotRequired).expect("gate");
        assert_eq!(run.state, StepState::Confirmed);
    }
}
