//! Drives a runbook against the estate: fills the params, takes the target lock, walks each step
//! through the engine with real effects and timeouts, and writes every step to the open incident.

use super::effects::{self, Ctx};
use super::engine::{Confirmation, PlainConfirmation, Policy, StepRun, StepState, TypedConfirmation};
use super::lock::{LockError, TargetLock};
use super::spec::{Confirm, Runbook, StepSpec};
use super::template::{self, Vars};
use crate::clock::Clock;
use crate::config::Config;
use crate::timeline::entry::{EntryKind, local_author};
use crate::timeline::store::{LocalStore, TimelineWriter};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub params: Vars,
    /// Show every step's preview; run nothing.
    pub dry_run: bool,
    /// Refuse every mutating step (also `[general] read_only`).
    pub read_only: bool,
    /// The text typed for typed confirmations (`--confirm`).
    pub confirm: Option<String>,
    /// Plain confirmations are given (`--yes`).
    pub assume_yes: bool,
    /// Cancelled by the operator: no further step starts, and a step waiting on its effect or its
    /// verification is interrupted (as a timeout would) and ends `Aborted`.
    pub cancel: CancellationToken,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum RunResult {
    Completed,
    DryRun,
    Failed { step: String, error: String },
    Refused { step: String, why: String },
    Aborted { step: String, why: String },
}

#[derive(Debug, Clone)]
pub struct RunSummary {
    pub result: RunResult,
    /// (step name, final state) in order; steps never reached are absent.
    pub steps: Vec<(String, StepState)>,
    pub elapsed: Duration,
}

/// Problems before any step runs; nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("runbook {runbook} has no parameter `{given}`{}; its parameters: {known}", nearest.as_ref().map(|n| format!(" — did you mean `{n}`?")).unwrap_or_default())]
    UnknownParam { runbook: String, given: String, nearest: Option<String>, known: String },
    #[error("parameter `{name}` is required ({description}){}; give it with --param {name}=VALUE", from.as_ref().map(|f| format!("; choose from the live {f}")).unwrap_or_default())]
    MissingParam { name: String, description: String, from: Option<String> },
    #[error("refused: {0}; nothing was changed")]
    Locked(#[from] LockError),
}

/// What the person at the other end sees and answers; the CLI prints, the wizard draws.
pub trait Observer {
    /// Called on every change of a step's state.
    fn step(&mut self, index: usize, total: usize, spec: &StepSpec, state: &StepState);
    /// A side remark (timeline not written, lock taken, ...).
    fn note(&mut self, text: &str);
    /// Asks for a plain confirmation; `false` refuses the step.
    fn confirm_plain(&mut self, spec: &StepSpec, preview: &str) -> bool;
    /// A step's entry is now durable in the incident timeline.
    fn recorded(&mut self, _entry: &crate::timeline::TimelineEntry) {}
}

/// The built-in variables alone (namespace, Sentinel master, kubeconfig and context, stamp): enough to read live choices.
pub fn variables_for_choices(config: &Config, clock: &Clock) -> Vars {
    let mut vars = Vars::new();
    vars.insert("namespace".into(), config.kube.namespaces.first().cloned().unwrap_or_else(|| "default".into()));
    vars.insert("sentinel_master".into(), config.sentinel.master.clone());
    vars.insert("kubeconfig".into(), config.kube.kubeconfig.clone());
    vars.insert("kube_context".into(), config.kube.context.clone());
    vars.insert("stamp".into(), clock.now().format("%Y%m%d%H%M%S").to_string());
    vars
}

/// The variables a run starts with: built-ins, then the given params, then defaults.
pub fn variables(runbook: &Runbook, config: &Config, clock: &Clock, given: &Vars) -> Result<Vars, RunError> {
    let mut vars = variables_for_choices(config, clock);
    let names: Vec<&str> = runbook.params.iter().map(|p| p.name.as_str()).collect();
    for key in given.keys() {
        if !names.contains(&key.as_str()) {
            return Err(RunError::UnknownParam {
                runbook: runbook.name.clone(),
                given: key.clone(),
                nearest: crate::diag::closest(key, names.iter().copied()),
                known: if names.is_empty() { "none".into() } else { names.join(", ") },
            });
        }
    }
    for p in &runbook.params {
        let value = match (given.get(&p.name), &p.default) {
            (Some(v), _) => v.clone(),
            (None, Some(d)) => template::render(d, &vars),
            (None, None) => {
                return Err(RunError::MissingParam {
                    name: p.name.clone(),
                    description: p.description.clone(),
                    from: p.from.map(|f| f.name().to_string()),
                });
            }
        };
        vars.insert(p.name.clone(), value);
    }
    Ok(vars)
}

fn mentions(runbook: &Runbook, name: &str) -> bool {
    let needle = format!("{{{name}}}");
    runbook.steps.iter().any(|s| {
        s.preview.contains(&needle) || matches!(&s.confirm, Confirm::Typed(t) if t.contains(&needle)) || s.explain.contains(&needle)
    })
}

/// The open incident's writer, or why steps will not be recorded.
fn journal(config: &Config, clock: &Clock) -> Result<TimelineWriter, String> {
    let store = LocalStore::from_config(config).map_err(|e| e.to_string())?;
    let id = store.current().map_err(|e| e.to_string())?.ok_or("no incident is open (`sitrep incident open`)")?;
    TimelineWriter::open(&store, &id, clock.clone(), &local_author()).map_err(|e| e.to_string())
}

/// One line for the timeline from a step's final state.
pub fn outcome_text(spec: &StepSpec, state: &StepState) -> String {
    match state {
        StepState::Verified { detail, elapsed } => format!("verified in {:.1}s: {detail}", elapsed.as_secs_f64()),
        StepState::Failed { error, elapsed } => format!("failed after {:.1}s: {error}; next: {}", elapsed.as_secs_f64(), spec.on_failure),
        StepState::Refused { why } => format!("refused, nothing changed: {why}"),
        StepState::PreconditionFailed { why } => format!("stopped, nothing changed: precondition not met: {why}"),
        // The operator's `why` says itself whether something may have changed.
        StepState::Aborted { why } if why.starts_with(super::engine::BY_OPERATOR) => format!("aborted {why}"),
        StepState::Aborted { why } => format!("aborted, nothing changed: {why}"),
        other => other.name().to_string(),
    }
}

/// Runs a runbook to its end (or its first step that does not succeed).
pub async fn run(
    runbook: &Runbook,
    config: &Config,
    clock: Clock,
    opts: &RunOptions,
    observer: &mut dyn Observer,
) -> Result<RunSummary, RunError> {
    let started = Instant::now();
    let mut vars = variables(runbook, config, &clock, &opts.params)?;
    let timeout = Duration::from_secs(config.general.timeout_secs.max(1));
    if mentions(runbook, "patroni_scope") || runbook.target.contains("{patroni_scope}") {
        let probe = Ctx { config: config.clone(), vars: vars.clone(), timeout, clock: clock.clone() };
        match effects::patroni::scope(&probe).await {
            Ok(scope) => {
                vars.insert("patroni_scope".into(), scope);
            }
            Err(e) => observer.note(&format!("cannot read the Patroni scope: {e}")),
        }
    }
    let policy = Policy { read_only: opts.read_only || config.general.read_only, dry_run: opts.dry_run };
    let _lock = if runbook.mutates() && !policy.dry_run && !policy.read_only {
        let data = crate::timeline::store::data_dir(config)
            .map_err(|e| LockError::Io { path: "data dir".into(), source: std::io::Error::other(e.to_string()) })?;
        Some(TargetLock::try_acquire(&data, &template::render(&runbook.target, &vars), &runbook.name)?)
    } else {
        None
    };
    let mut journal = if policy.dry_run {
        None
    } else {
        match journal(config, &clock) {
            Ok(w) => Some(w),
            Err(e) => {
                observer.note(&format!("steps will not be written to a timeline: {e}"));
                None
            }
        }
    };
    let mut ctx = Ctx { config: config.clone(), vars, timeout, clock };
    let mut steps = Vec::new();
    let total = runbook.steps.len();
    let mut result = if policy.dry_run { RunResult::DryRun } else { RunResult::Completed };
    for (i, spec) in runbook.steps.iter().enumerate() {
        let state = run_step(i, total, spec, &mut ctx, policy, opts, observer).await;
        if let Some(w) = journal.as_mut()
            && !matches!(state, StepState::Aborted { .. } if policy.dry_run)
        {
            let kind = EntryKind::Action {
                runbook: runbook.name.clone(),
                step: spec.name.clone(),
                outcome: outcome_text(&shown(spec, &ctx.vars), &state),
            };
            match w.append(kind, None) {
                Ok(appended) => observer.recorded(&appended.entry),
                Err(e) => observer.note(&format!("could not write step {} to the timeline: {e}", spec.name)),
            }
        }
        steps.push((spec.name.clone(), state.clone()));
        let stop = match state {
            StepState::Verified { .. } => None,
            StepState::Aborted { .. } if policy.dry_run && !opts.cancel.is_cancelled() => None,
            // A dry run stops here too: the real run would, and later previews would build on a
            // state that is not there.
            StepState::PreconditionFailed { why } => {
                Some(RunResult::Aborted { step: spec.name.clone(), why: format!("precondition not met: {why}") })
            }
            StepState::Failed { error, .. } => Some(RunResult::Failed { step: spec.name.clone(), error }),
            StepState::Refused { why } => Some(RunResult::Refused { step: spec.name.clone(), why }),
            StepState::Aborted { why } => Some(RunResult::Aborted { step: spec.name.clone(), why }),
            other => Some(RunResult::Failed { step: spec.name.clone(), error: format!("ended {}", other.name()) }),
        };
        if let Some(r) = stop {
            result = r;
            break;
        }
    }
    Ok(RunSummary { result, steps, elapsed: started.elapsed() })
}

fn bug(e: super::engine::BadTransition) -> StepState {
    StepState::Failed { error: e.to_string(), elapsed: Duration::ZERO }
}

/// The step with its explanation and failure advice filled in, as people read them.
fn shown(spec: &StepSpec, vars: &Vars) -> StepSpec {
    StepSpec { explain: template::render(&spec.explain, vars), on_failure: template::render(&spec.on_failure, vars), ..spec.clone() }
}

async fn run_step(
    i: usize,
    total: usize,
    raw: &StepSpec,
    ctx: &mut Ctx,
    policy: Policy,
    opts: &RunOptions,
    observer: &mut dyn Observer,
) -> StepState {
    let spec = &shown(raw, &ctx.vars);
    let mut run = StepRun::new(spec);
    let limit = Duration::from_secs(spec.timeout_secs);
    observer.step(i, total, spec, &run.state);
    let cancel = &opts.cancel;
    if cancel.is_cancelled() {
        return stopped(i, total, spec, run, observer);
    }
    // Checks are read-only (validation makes sure), so a dry run makes them too: its previews are real.
    let checked = match &spec.precondition {
        None => Ok(String::new()),
        Some(check) => match unless_cancelled(cancel, Box::pin(tokio::time::timeout(limit, effects::run(check, ctx)))).await {
            None => return stopped(i, total, spec, run, observer),
            Some(Ok(Ok(report))) => {
                ctx.vars.extend(report.facts);
                Ok(report.summary)
            }
            Some(Ok(Err(e))) => Err(e.to_string()),
            Some(Err(_)) => Err(format!("no answer within {}s", limit.as_secs())),
        },
    };
    if let Err(e) = run.precondition(checked) {
        return bug(e);
    }
    observer.step(i, total, spec, &run.state);
    if run.state.is_final() {
        return run.state;
    }
    let mut preview = template::render(&spec.preview, &ctx.vars);
    let Some(detail) = unless_cancelled(cancel, Box::pin(tokio::time::timeout(limit, effects::preview_detail(&spec.effect, ctx)))).await
    else {
        return stopped(i, total, spec, run, observer);
    };
    if let Ok(Some(detail)) = detail.map(|d| d.map(|r| r.unwrap_or_else(|e| format!("(cannot show the live detail: {e})")))) {
        preview = format!("{preview}\n{detail}");
    }
    let expected = match &spec.confirm {
        Confirm::Typed(t) => Some(template::render(t, &ctx.vars)),
        _ => None,
    };
    if let Err(e) = run.preview(preview.clone(), expected.clone()) {
        return bug(e);
    }
    observer.step(i, total, spec, &run.state);
    let given = if policy.dry_run || (policy.read_only && run.mutates) {
        Confirmation::NotRequired
    } else {
        confirmation(spec, &preview, expected.as_deref(), opts, observer)
    };
    if let Err(e) = run.confirm(policy, given) {
        return bug(e);
    }
    observer.step(i, total, spec, &run.state);
    if run.state.is_final() {
        return run.state;
    }
    if cancel.is_cancelled() {
        return stopped(i, total, spec, run, observer);
    }
    if let Err(e) = run.start(Instant::now()) {
        return bug(e);
    }
    observer.step(i, total, spec, &run.state);
    let mut last = String::new();
    let Some(done) = unless_cancelled(cancel, Box::pin(tokio::time::timeout(limit, act_and_verify(spec, ctx, &mut last)))).await else {
        return stopped(i, total, spec, run, observer);
    };
    let result = match done {
        Ok(r) => r,
        Err(_) if last.is_empty() => Err(format!("did not finish within {}s (timeout_secs)", limit.as_secs())),
        Err(_) => Err(format!("not verified within {}s: {last}", limit.as_secs())),
    };
    if let Err(e) = run.finish(result, Instant::now()) {
        return bug(e);
    }
    observer.step(i, total, &shown(raw, &ctx.vars), &run.state);
    run.state
}

/// `work`, unless the operator cancels the run first: then `None`, and `work` is dropped where it
/// waits, exactly as a timeout drops it. Callers box `work`: effect futures are large, and three of
/// them inline in one step's future overflowed a test thread's 2 MiB stack in debug builds.
async fn unless_cancelled<F: Future>(cancel: &CancellationToken, work: F) -> Option<F::Output> {
    tokio::select! {
        biased;
        () = cancel.cancelled() => None,
        out = work => Some(out),
    }
}

/// The step as the operator's abort leaves it, shown to the observer.
fn stopped(i: usize, total: usize, spec: &StepSpec, mut run: StepRun, observer: &mut dyn Observer) -> StepState {
    if let Err(e) = run.abort(Instant::now()) {
        return bug(e);
    }
    observer.step(i, total, spec, &run.state);
    run.state
}

fn confirmation(spec: &StepSpec, preview: &str, expected: Option<&str>, opts: &RunOptions, observer: &mut dyn Observer) -> Confirmation {
    match (&spec.confirm, expected) {
        (Confirm::None, _) => Confirmation::NotRequired,
        (Confirm::Plain, _) if opts.assume_yes => Confirmation::Plain(PlainConfirmation::given()),
        (Confirm::Plain, _) if observer.confirm_plain(spec, preview) => Confirmation::Plain(PlainConfirmation::given()),
        (Confirm::Plain, _) => Confirmation::Withheld("not confirmed; answer y, or pass --yes".into()),
        (Confirm::Typed(_), Some(expected)) => match &opts.confirm {
            Some(typed) => TypedConfirmation::check(expected, typed).map(Confirmation::Typed).unwrap_or_else(|| {
                Confirmation::Withheld(format!("--confirm `{typed}` does not match; this step changes `{expected}`: type that exactly"))
            }),
            None => Confirmation::Withheld(format!("this step changes `{expected}`; run again with --confirm {expected}")),
        },
        (Confirm::Typed(_), None) => Confirmation::Withheld("nothing to type".into()),
    }
}

/// The effect, then its verification polled once a second until it holds; `last` keeps the
/// latest reason it did not, for the timeout message.
async fn act_and_verify(spec: &StepSpec, ctx: &mut Ctx, last: &mut String) -> Result<String, String> {
    let report = effects::run(&spec.effect, ctx).await.map_err(|e| e.to_string())?;
    ctx.vars.extend(report.facts);
    let Some(check) = &spec.verify else { return Ok(report.summary) };
    loop {
        match effects::run(check, ctx).await {
            Ok(v) => {
                ctx.vars.extend(v.facts);
                return Ok(format!("{}; verified: {}", report.summary, v.summary));
            }
            Err(e) => *last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runbook::spec::Effect;
    use crate::timeline::entry::Severity;

    /// Remembers every state it is shown, by name, with the timeline's wording.
    #[derive(Default)]
    struct Seen(Vec<(usize, &'static str, String)>, Vec<uuid::Uuid>);

    impl Observer for Seen {
        fn step(&mut self, index: usize, _total: usize, spec: &StepSpec, state: &StepState) {
            self.0.push((index, state.name(), outcome_text(spec, state)));
        }
        fn note(&mut self, _text: &str) {}
        fn confirm_plain(&mut self, _spec: &StepSpec, _preview: &str) -> bool {
            true
        }
        fn recorded(&mut self, entry: &crate::timeline::TimelineEntry) {
            self.1.push(entry.id);
        }
    }

    fn step(name: &str, url: &str) -> StepSpec {
        StepSpec {
            name: name.into(),
            explain: "ask a service that never answers".into(),
            precondition: None,
            preview: format!("GET {url}"),
            confirm: Confirm::None,
            effect: Effect::Http { url: url.into(), expect_status: 200 },
            verify: None,
            timeout_secs: 60,
            on_failure: "nothing to do".into(),
            line: 1,
        }
    }

    fn probe(title: &str, steps: Vec<StepSpec>) -> Runbook {
        Runbook {
            name: "probe".into(),
            title: title.into(),
            when: String::new(),
            target: String::new(),
            params: vec![],
            steps,
            path: "probe.toml".into(),
        }
    }

    #[tokio::test]
    async fn an_operator_cancel_aborts_the_waiting_step_records_it_and_starts_no_other() {
        // Accepts connections (the kernel's backlog does) and never answers: the effect waits.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let url = format!("http://{}/health", silent.local_addr().expect("bound address"));
        let data = tempfile::tempdir().expect("temp dir");
        let mut config = Config::default();
        config.general.data_dir = data.path().display().to_string();
        config.general.timeout_secs = 60;
        let clock = Clock::Real;
        let store = LocalStore::from_config(&config).expect("store");
        store.open_incident(&clock, "test@host", "api slow", Severity::P2).expect("incident opens");
        let runbook = probe("probe twice", vec![step("first", &url), step("second", &url)]);
        let opts = RunOptions { assume_yes: true, ..RunOptions::default() };
        let cancel = opts.cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            cancel.cancel();
        });
        let mut seen = Seen::default();
        // Liveness, not speed: the step's own timeout is 60 s, so an end before it is the cancel's doing.
        let summary = tokio::time::timeout(Duration::from_secs(50), run(&runbook, &config, clock, &opts, &mut seen))
            .await
            .expect("the operator's cancel did not end the run: the waiting step hung 50 s after the cancel")
            .expect("the run starts");

        assert!(
            matches!(&summary.result, RunResult::Aborted { step, why } if step == "first" && why.starts_with("by the operator after")),
            "{:?}",
            summary.result
        );
        let (index, name, text) = seen.0.last().expect("the observer saw steps");
        assert_eq!((*index, *name), (0, "aborted"), "{:?}", seen.0);
        assert!(text.starts_with("aborted by the operator after") && text.contains("it changes nothing"), "{text}");
        assert!(seen.0.iter().all(|(i, _, _)| *i == 0), "the second step never started: {:?}", seen.0);

        let id = store.current().expect("store readable").expect("incident open");
        let entries = store.read(&id).expect("timeline readable").entries;
        let actions: Vec<String> = entries
            .iter()
            .filter_map(|e| match &e.kind {
                EntryKind::Action { step, outcome, .. } => Some(format!("{step}: {outcome}")),
                _ => None,
            })
            .collect();
        assert_eq!(actions.len(), 1, "{actions:?}");
        assert!(actions[0].starts_with("first: aborted by the operator after"), "{actions:?}");
        // The console is told the entry is durable (so its timeline shows it) — that very entry.
        let action_ids: Vec<uuid::Uuid> = entries.iter().filter(|e| matches!(e.kind, EntryKind::Action { .. })).map(|e| e.id).collect();
        assert_eq!(seen.1, action_ids);
        drop(silent);
    }

    #[tokio::test]
    async fn a_dry_run_stops_at_a_precondition_that_does_not_hold_in_its_own_words() {
        // A port nobody listens on: the check is refused at once.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let url = format!("http://{}/ready", closed.local_addr().expect("bound address"));
        drop(closed);
        let mut first = step("first", "http://127.0.0.1:9/never");
        first.precondition = Some(Effect::Http { url, expect_status: 200 });
        let runbook = probe("probe", vec![first, step("second", "http://127.0.0.1:9/never")]);
        let data = tempfile::tempdir().expect("temp dir");
        let mut config = Config::default();
        config.general.data_dir = data.path().display().to_string();
        config.general.timeout_secs = 5;
        let opts = RunOptions { dry_run: true, ..RunOptions::default() };
        let mut seen = Seen::default();
        let summary = run(&runbook, &config, Clock::Real, &opts, &mut seen).await.expect("the run starts");
        let RunResult::Aborted { step, why } = &summary.result else { panic!("{:?}", summary.result) };
        assert_eq!(step, "first");
        assert!(why.starts_with("precondition not met: "), "{why}");
        let (_, name, text) = seen.0.last().expect("the observer saw steps");
        assert_eq!(*name, "precondition failed", "{:?}", seen.0);
        assert!(text.contains(why.as_str()), "the step and the run say the same: {text} / {why}");
        assert!(seen.0.iter().all(|(i, n, _)| *i == 0 && *n != "previewed"), "no preview, no second step: {:?}", seen.0);
    }

    #[tokio::test]
    async fn a_run_cancelled_before_it_starts_aborts_its_first_step_and_changes_nothing() {
        let runbook = probe("probe", vec![step("first", "http://127.0.0.1:9/never")]);
        let data = tempfile::tempdir().expect("temp dir");
        let mut config = Config::default();
        config.general.data_dir = data.path().display().to_string();
        let opts = RunOptions::default();
        opts.cancel.cancel();
        let mut seen = Seen::default();
        let summary = run(&runbook, &config, Clock::Real, &opts, &mut seen).await.expect("the run starts");
        assert!(
            matches!(&summary.result, RunResult::Aborted { why, .. } if why.contains("before it ran; nothing changed")),
            "{:?}",
            summary.result
        );
        assert_eq!(seen.0.iter().map(|(_, n, _)| *n).collect::<Vec<_>>(), ["pending", "aborted"]);
    }
}
