//! The Model: plain data the screen is drawn from, changed only by `Model::apply(Event)`.
//! Pure and cheap: tests and replay drive it without a runtime.

pub mod alerts;
pub mod backups;
pub mod logs;
pub mod pods;
pub mod queues;
pub mod replication;
pub mod scaling;
pub mod sentinel;
pub mod services;
pub mod verdict;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

pub use alerts::{AlertRow, AlertState, AlertmanagerRow, AlertsSnapshot, CheckRow};
pub use backups::{BackupItem, BackupKind, BackupSources, BackupsSnapshot};
pub use logs::{LogLine, LogTarget, LogsEvent, LogsView, StreamState};
pub use pods::{DeploymentRow, KubeEventRow, NodeRow, PodRow, PodsSnapshot, Resources, Usage};
pub use queues::{PriorityDepth, QueueRow, QueuesSnapshot};
pub use replication::{ArchiverRow, LongQuery, MemberLoad, MemberRow, PatroniMember, ReplicationSnapshot, StandbyRow};
pub use scaling::{HpaRow, PdbRow, Scaling};
pub use sentinel::{MasterHealth, MasterRow, ReplicaRow, SentinelRow, SentinelSnapshot};
pub use services::{ListProblem, ServiceRow};

/// One source of live data; each has one collector and one pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SourceId {
    Pods,
    Replication,
    Sentinel,
    Queues,
    Backups,
    Alerts,
}

impl SourceId {
    pub const ALL: [SourceId; 6] =
        [SourceId::Pods, SourceId::Replication, SourceId::Sentinel, SourceId::Queues, SourceId::Backups, SourceId::Alerts];

    pub fn name(self) -> &'static str {
        match self {
            SourceId::Pods => "pods",
            SourceId::Replication => "replication",
            SourceId::Sentinel => "sentinel",
            SourceId::Queues => "queues",
            SourceId::Backups => "backups",
            SourceId::Alerts => "alerts",
        }
    }
}

/// A snapshot from one collector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Observation {
    Pods(PodsSnapshot),
    Replication(ReplicationSnapshot),
    Sentinel(SentinelSnapshot),
    Queues(QueuesSnapshot),
    Backups(BackupSources),
    Alerts(AlertsSnapshot),
}

impl Observation {
    pub fn source(&self) -> SourceId {
        match self {
            Observation::Pods(_) => SourceId::Pods,
            Observation::Replication(_) => SourceId::Replication,
            Observation::Sentinel(_) => SourceId::Sentinel,
            Observation::Queues(_) => SourceId::Queues,
            Observation::Backups(_) => SourceId::Backups,
            Observation::Alerts(_) => SourceId::Alerts,
        }
    }
}

/// Everything that can change what the screen shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Event {
    Observed {
        at: DateTime<Utc>,
        observation: Observation,
    },
    SourceFailed {
        at: DateTime<Utc>,
        source: SourceId,
        error: String,
    },
    /// A source that is switched off in the config.
    SourceDisabled {
        source: SourceId,
    },
    /// A polled source's pace changed (`[general] adaptive`): its freshness is judged by this
    /// interval from now on.
    Paced {
        source: SourceId,
        every_secs: u64,
    },
    /// A watched source is connected and its data is current, though nothing changed.
    SourceAlive {
        at: DateTime<Utc>,
        source: SourceId,
    },
    /// The open incident (if any) and its entries, read at start.
    TimelineLoaded {
        incident: Option<String>,
        lines: Vec<TimelineLine>,
    },
    /// An entry was written and fsynced (or, with no incident open, a finding shown unsaved).
    TimelineAppended {
        line: TimelineLine,
    },
    /// The timeline could not be read or written; shown until the next success.
    TimelineProblem {
        error: String,
    },
    /// News about the timeline that is not a problem (what an `:open` adopted, an incident
    /// resolved); shown until the next entry.
    TimelineNotice {
        text: String,
    },
    /// The shared timeline's link (`[timeline] store = "postgres"`): online or not, and which
    /// entries of the open incident are only on this machine so far.
    TimelineSync {
        status: SyncStatus,
    },
    /// A runbook wizard began: a dry run (previews only) or the real run.
    RunbookStarted {
        name: String,
        title: String,
        steps: Vec<String>,
        dry_run: bool,
        /// Each step's `timeout_secs`, in step order (absent in recordings made before it was kept).
        #[serde(default)]
        timeouts_secs: Vec<u64>,
    },
    /// A step of the running runbook changed state.
    RunbookStep {
        index: usize,
        state: StepPhase,
        text: String,
        /// The step's explanation, rendered; sent with its first state (absent in recordings
        /// made before it was kept).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        explain: String,
        /// The exact text its typed confirmation asks for, sent with the preview.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        typed: Option<String>,
    },
    /// The run ended; `outcome` in words, `end` how (absent in recordings made before it was kept:
    /// then it is read from the words).
    RunbookFinished {
        outcome: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        end: Option<RunEnd>,
    },
    /// The logs view's stream: opened, lines, ended, failed, closed.
    Logs(LogsEvent),
    /// Time passed (ages and staleness move even when nothing arrives).
    Tick {
        at: DateTime<Utc>,
    },
}

/// How the shared timeline stands, as the timeline pane shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncStatus {
    pub online: bool,
    /// Since when it is offline (None when online).
    pub since: Option<DateTime<Utc>>,
    /// Why it is offline.
    pub error: Option<String>,
    /// Ids of the open incident's entries that are saved here but not yet in the shared store.
    pub unsynced: Vec<String>,
}

/// The class of a timeline entry, as the timeline pane filters and marks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryClass {
    Detected,
    Note,
    Action,
    /// Opened, severity, status, roles: the incident's own changes.
    Incident,
}

impl EntryClass {
    pub const ALL: [EntryClass; 4] = [EntryClass::Detected, EntryClass::Action, EntryClass::Note, EntryClass::Incident];

    pub fn name(self) -> &'static str {
        match self {
            EntryClass::Detected => "detected",
            EntryClass::Note => "note",
            EntryClass::Action => "action",
            EntryClass::Incident => "incident",
        }
    }
}

/// One line of the incident timeline as the console shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineLine {
    pub at: DateTime<Utc>,
    pub text: String,
    pub kind: EntryClass,
    /// The entry id once durable; None for a finding shown while no incident is open.
    pub id: Option<String>,
}

impl TimelineLine {
    pub fn saved(at: DateTime<Utc>, text: String, kind: EntryClass, id: String) -> Self {
        TimelineLine { at, text, kind, id: Some(id) }
    }
    pub fn unsaved(at: DateTime<Utc>, text: String, kind: EntryClass) -> Self {
        TimelineLine { at, text, kind, id: None }
    }
}

/// A runbook step's phase as the screen shows it: the engine's step state without its payload.
/// The serde names are the words recordings always held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepPhase {
    #[default]
    Pending,
    #[serde(rename = "precondition checked")]
    PreconditionChecked,
    /// The precondition did not hold: the step (and the run) stop there, nothing changed.
    #[serde(rename = "precondition failed")]
    PreconditionFailed,
    Previewed,
    Confirmed,
    Running,
    Verified,
    Failed,
    Aborted,
    Refused,
}

impl StepPhase {
    pub fn name(self) -> &'static str {
        match self {
            StepPhase::Pending => "pending",
            StepPhase::PreconditionChecked => "precondition checked",
            StepPhase::PreconditionFailed => "precondition failed",
            StepPhase::Previewed => "previewed",
            StepPhase::Confirmed => "confirmed",
            StepPhase::Running => "running",
            StepPhase::Verified => "verified",
            StepPhase::Failed => "failed",
            StepPhase::Aborted => "aborted",
            StepPhase::Refused => "refused",
        }
    }
}

/// How a runbook run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunEnd {
    Completed,
    DryRun,
    Failed,
    Refused,
    Aborted,
    NotStarted,
}

impl RunEnd {
    /// Reads the end from the outcome's words, for recordings made before `end` was kept.
    pub fn from_words(outcome: &str) -> Option<RunEnd> {
        let starts = |p: &str| outcome.starts_with(p);
        Some(if starts("completed") {
            RunEnd::Completed
        } else if starts("dry run") {
            RunEnd::DryRun
        } else if starts("FAILED") {
            RunEnd::Failed
        } else if starts("REFUSED") {
            RunEnd::Refused
        } else if starts("stopped") {
            RunEnd::Aborted
        } else if starts("not started") {
            RunEnd::NotStarted
        } else {
            return None;
        })
    }
}

/// Where a run stands as a whole, from its kind and how it ended: what the wizard's header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    /// The dry run is checking and previewing.
    DryRun,
    /// The dry run showed every step and nothing stopped it: the real run may be confirmed.
    Previewed,
    Running,
    Completed,
    Refused,
    Failed,
    /// A precondition did not hold (dry run or real), or the operator aborted.
    Stopped,
    NotStarted,
}

impl RunState {
    pub fn name(self) -> &'static str {
        match self {
            RunState::DryRun => "DRY RUN",
            RunState::Previewed => "DRY RUN DONE",
            RunState::Running => "RUNNING",
            RunState::Completed => "COMPLETED",
            RunState::Refused => "REFUSED",
            RunState::Failed => "FAILED",
            RunState::Stopped => "STOPPED",
            RunState::NotStarted => "NOT STARTED",
        }
    }

    /// The run has ended (a dry run that previewed everything has too).
    pub fn is_over(self) -> bool {
        !matches!(self, RunState::DryRun | RunState::Running)
    }
}

/// The runbook wizard as the screen shows it; in a replay, steps show as they happened.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunbookView {
    pub name: String,
    pub title: String,
    pub dry_run: bool,
    pub steps: Vec<RunbookStepView>,
    pub outcome: Option<String>,
    pub end: Option<RunEnd>,
}

impl RunbookView {
    /// The run's state, from its kind and its end alone (never from the outcome's words).
    pub fn state(&self) -> RunState {
        match (self.dry_run, self.end) {
            (true, None) => RunState::DryRun,
            (false, None) => RunState::Running,
            (true, Some(RunEnd::DryRun | RunEnd::Completed)) => RunState::Previewed,
            (false, Some(RunEnd::Completed)) => RunState::Completed,
            // A real run never ends as a dry run; say what is known: it ended, nothing more.
            (false, Some(RunEnd::DryRun)) => RunState::Stopped,
            (_, Some(RunEnd::Refused)) => RunState::Refused,
            (_, Some(RunEnd::Failed)) => RunState::Failed,
            (_, Some(RunEnd::Aborted)) => RunState::Stopped,
            (_, Some(RunEnd::NotStarted)) => RunState::NotStarted,
        }
    }

    /// The text the real run's typed confirmation asks for, as the dry run's previews named it
    /// (the first typed step's; every shipped runbook has at most one).
    pub fn typed_confirmation(&self) -> Option<&str> {
        self.steps.iter().find_map(|s| s.typed.as_deref())
    }
}

/// One step of the wizard as the screen shows it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunbookStepView {
    pub name: String,
    pub state: StepPhase,
    /// The preview (dry run) or the outcome.
    pub text: String,
    /// Why the step is there and what it risks (its `explain`, rendered).
    pub explain: String,
    /// The exact text its typed confirmation asks for.
    pub typed: Option<String>,
    /// The model's time when the step was confirmed or began running, so the elapsed time is
    /// drawn from the model's clock (a replay shows what the live console showed).
    pub started: Option<DateTime<Utc>>,
    pub timeout_secs: Option<u64>,
}

impl RunbookStepView {
    pub fn is_running(&self) -> bool {
        matches!(self.state, StepPhase::Running | StepPhase::Confirmed)
    }
}

/// How many timeline lines the console keeps in memory (the store keeps all).
pub const TIMELINE_LEN: usize = 2000;

/// A source's health as the badge shows it.
#[derive(Debug, Clone, PartialEq)]
pub enum Health {
    Waiting,
    Disabled,
    /// Answered at `at`; its next answer is due within `within` (two of its refresh intervals), so
    /// a pane can say "fresh ≤4s" instead of redrawing an age that ticks every second.
    Fresh {
        at: DateTime<Utc>,
        within: Duration,
    },
    Stale {
        since: DateTime<Utc>,
    },
    Failing {
        since: DateTime<Utc>,
        error: String,
        last_ok: Option<DateTime<Utc>>,
    },
}

/// Per-source bookkeeping behind the health badge.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceState {
    pub disabled: bool,
    pub last_ok: Option<DateTime<Utc>>,
    /// First failure of the current run of failures, and the latest error text.
    pub failing: Option<(DateTime<Utc>, String)>,
}

/// One member's (Postgres member, Sentinel) own answers over time, so a failing row shows since
/// when it fails and when it last answered, whatever another view says about it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RowHealth {
    pub last_ok: Option<DateTime<Utc>>,
    pub failing_since: Option<DateTime<Utc>>,
}

impl RowHealth {
    fn record(&mut self, at: DateTime<Utc>, ok: bool) {
        if ok {
            self.last_ok = Some(at);
            self.failing_since = None;
        } else {
            self.failing_since.get_or_insert(at);
        }
    }
}

/// How many points of history a metric keeps (sparklines and rates).
pub const HISTORY_LEN: usize = 180;

/// A bounded time series.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    pub points: VecDeque<(DateTime<Utc>, f64)>,
}

impl Series {
    pub fn push(&mut self, at: DateTime<Utc>, v: f64) {
        if self.points.len() == HISTORY_LEN {
            self.points.pop_front();
        }
        self.points.push_back((at, v));
    }

    pub fn last(&self) -> Option<f64> {
        self.points.back().map(|(_, v)| *v)
    }

    /// Change per minute over the last `window`, from the oldest point inside it to the newest.
    pub fn rate_per_min(&self, window: Duration) -> Option<f64> {
        let (t1, v1) = *self.points.back()?;
        let (t0, v0) = *self.points.iter().find(|(t, _)| t1 - *t <= window)?;
        let secs = (t1 - t0).num_milliseconds() as f64 / 1000.0;
        (secs >= 1.0).then(|| (v1 - v0) / secs * 60.0)
    }

    /// Values scaled for a sparkline.
    pub fn values(&self) -> Vec<u64> {
        self.points.iter().map(|(_, v)| v.max(0.0).round() as u64).collect()
    }
}

/// The state of everything on screen except view state (focus, selection, scroll).
#[derive(Debug, Clone, Default)]
pub struct Model {
    pub now: Option<DateTime<Utc>>,
    pub sources: BTreeMap<SourceId, SourceState>,
    pub pods: Option<PodsSnapshot>,
    pub replication: Option<ReplicationSnapshot>,
    pub sentinel: Option<SentinelSnapshot>,
    pub queues: Option<QueuesSnapshot>,
    pub backups: Option<BackupSources>,
    /// Each backup source's own answers, by name (one can fail while the others answer).
    pub backup_health: BTreeMap<String, RowHealth>,
    pub alerts: Option<AlertsSnapshot>,
    /// Each Alertmanager's own answers, by URL.
    pub alertmanager_health: BTreeMap<String, RowHealth>,
    /// Each health check's own results, by name.
    pub check_health: BTreeMap<String, RowHealth>,
    /// Each health check's latency (ms) over time, by name: a point per answer, so its sparkline
    /// moves only when a result is added.
    pub check_latency: BTreeMap<String, Series>,
    /// Worst standby replay lag (seconds) over time.
    pub lag_history: Series,
    /// Each Postgres member's own SQL answers, by member name.
    pub member_health: BTreeMap<String, RowHealth>,
    /// Each Sentinel's own answers, by address.
    pub sentinel_health: BTreeMap<String, RowHealth>,
    /// Depth of each queue over time.
    pub queue_history: BTreeMap<String, Series>,
    /// Collector refresh interval, used to decide when data is stale.
    pub refresh: Duration,
    /// A source's own refresh interval where it differs from `refresh` (`[s3] refresh_secs`).
    pub source_refresh: BTreeMap<SourceId, Duration>,
    /// "ID P2 title" of the open incident, if any.
    pub incident: Option<String>,
    /// The timeline, oldest first.
    pub timeline: VecDeque<TimelineLine>,
    pub timeline_problem: Option<String>,
    pub timeline_notice: Option<String>,
    /// The shared timeline's link; None with the local store.
    pub timeline_sync: Option<SyncStatus>,
    pub runbook: Option<RunbookView>,
    /// The pod log being viewed (`l`), while its view is open.
    pub logs: Option<LogsView>,
}

impl Model {
    pub fn new(refresh: Duration) -> Self {
        Model { refresh, ..Model::default() }
    }

    /// Applies one event; returns whether anything visible changed.
    pub fn apply(&mut self, event: Event) -> bool {
        match event {
            Event::Tick { at } => {
                let moved_second = self.now.is_none_or(|n| n.timestamp() != at.timestamp());
                self.now = Some(at);
                moved_second
            }
            Event::Paced { source, every_secs } => {
                // From a recording too: a hostile interval is clamped to a day.
                let every = Duration::seconds(every_secs.clamp(1, 86_400) as i64);
                self.source_refresh.insert(source, every) != Some(every)
            }
            Event::SourceDisabled { source } => {
                self.sources.entry(source).or_default().disabled = true;
                true
            }
            Event::SourceFailed { at, source, error } => {
                self.now = Some(self.now.map_or(at, |n| n.max(at)));
                let state = self.sources.entry(source).or_default();
                let since = state.failing.as_ref().map_or(at, |(s, _)| *s);
                let next = Some((since, error));
                let changed = state.failing != next;
                state.failing = next;
                changed
            }
            Event::TimelineLoaded { incident, lines } => {
                self.incident = incident;
                // By time: adopted findings are written after the opening they predate.
                let mut lines = lines;
                lines.sort_by_key(|l| l.at);
                self.timeline = lines.into_iter().collect();
                self.trim_timeline();
                true
            }
            Event::TimelineAppended { line } => {
                self.timeline_problem = None;
                self.timeline_notice = None;
                let at = self.timeline.partition_point(|l| l.at <= line.at);
                self.timeline.insert(at, line);
                self.trim_timeline();
                true
            }
            Event::RunbookStarted { name, title, steps, dry_run, timeouts_secs } => {
                let steps = steps
                    .into_iter()
                    .enumerate()
                    .map(|(i, name)| RunbookStepView {
                        name,
                        state: StepPhase::Pending,
                        timeout_secs: timeouts_secs.get(i).copied(),
                        ..RunbookStepView::default()
                    })
                    .collect();
                self.runbook = Some(RunbookView { name, title, dry_run, steps, outcome: None, end: None });
                true
            }
            Event::RunbookStep { index, state, text, explain, typed } => {
                if let Some(step) = self.runbook.as_mut().and_then(|r| r.steps.get_mut(index)) {
                    step.state = state;
                    if step.is_running() && step.started.is_none() {
                        step.started = self.now;
                    }
                    if !text.is_empty() {
                        step.text = text;
                    }
                    if !explain.is_empty() {
                        step.explain = explain;
                    }
                    if typed.is_some() {
                        step.typed = typed;
                    }
                }
                true
            }
            Event::RunbookFinished { outcome, end } => {
                if let Some(r) = self.runbook.as_mut() {
                    r.end = end.or_else(|| RunEnd::from_words(&outcome));
                    r.outcome = Some(outcome);
                }
                true
            }
            Event::TimelineProblem { error } => {
                self.timeline_problem = Some(error);
                true
            }
            Event::TimelineNotice { text } => {
                self.timeline_notice = Some(text);
                true
            }
            Event::TimelineSync { status } => {
                let changed = self.timeline_sync.as_ref() != Some(&status);
                self.timeline_sync = Some(status);
                changed
            }
            Event::SourceAlive { at, source } => {
                self.now = Some(self.now.map_or(at, |n| n.max(at)));
                let stale_after = self.stale_after(source);
                let state = self.sources.entry(source).or_default();
                let was_failing = state.failing.take().is_some();
                let was_stale = state.last_ok.is_some_and(|t| at - t > stale_after);
                state.last_ok = Some(at);
                was_failing || was_stale
            }
            Event::Logs(event) => logs::apply(&mut self.logs, event),
            Event::Observed { at, observation } => {
                self.now = Some(self.now.map_or(at, |n| n.max(at)));
                let state = self.sources.entry(observation.source()).or_default();
                state.last_ok = Some(at);
                state.failing = None;
                self.store(at, observation);
                true
            }
        }
    }

    fn store(&mut self, at: DateTime<Utc>, observation: Observation) {
        match observation {
            Observation::Pods(s) => self.pods = Some(s),
            Observation::Replication(s) => {
                if let Some(lag) = s.max_replay_lag_secs() {
                    self.lag_history.push(at, lag);
                }
                for m in &s.members {
                    self.member_health.entry(m.name.clone()).or_default().record(at, m.reachable);
                }
                self.replication = Some(s);
            }
            Observation::Sentinel(s) => {
                for row in &s.sentinels {
                    self.sentinel_health.entry(row.addr.clone()).or_default().record(at, row.error.is_none());
                }
                self.sentinel = Some(s);
            }
            Observation::Queues(s) => {
                // An unreadable queue's depth is unknown, not 0: it must not look like a drain.
                for q in s.queues.iter().filter(|q| q.error.is_none()) {
                    self.queue_history.entry(q.name.clone()).or_default().push(at, q.depth as f64);
                }
                self.queues = Some(s);
            }
            Observation::Backups(s) => {
                for b in &s.sources {
                    self.backup_health.entry(b.source.clone()).or_default().record(at, b.error.is_none());
                }
                self.backups = Some(s);
            }
            Observation::Alerts(s) => {
                for row in &s.alertmanagers {
                    self.alertmanager_health.entry(row.url.clone()).or_default().record(at, row.error.is_none());
                }
                for c in &s.checks {
                    self.check_health.entry(c.name.clone()).or_default().record(at, c.passed());
                    if let Some(ms) = c.latency_ms {
                        self.check_latency.entry(c.name.clone()).or_default().push(at, ms as f64);
                    }
                }
                self.alerts = Some(s);
            }
        }
    }

    fn trim_timeline(&mut self) {
        while self.timeline.len() > TIMELINE_LEN {
            self.timeline.pop_front();
        }
    }

    /// The health badge of a source at the model's current time.
    pub fn health(&self, source: SourceId) -> Health {
        let Some(state) = self.sources.get(&source) else { return Health::Waiting };
        if state.disabled {
            return Health::Disabled;
        }
        if let Some((since, error)) = &state.failing {
            return Health::Failing { since: *since, error: error.clone(), last_ok: state.last_ok };
        }
        match (state.last_ok, self.now) {
            (Some(at), Some(now)) if now - at > self.stale_after(source) => Health::Stale { since: at },
            (Some(at), _) => Health::Fresh { at, within: self.fresh_within(source) },
            (None, _) => Health::Waiting,
        }
    }

    /// Whether a source has been heard from (answered or failed) and is not switched off: an
    /// optional source (alerts) is drawn only then, so a console without it looks as before.
    pub fn reported(&self, source: SourceId) -> bool {
        self.sources.get(&source).is_some_and(|s| !s.disabled && (s.last_ok.is_some() || s.failing.is_some()))
    }

    fn refresh_of(&self, source: SourceId) -> Duration {
        self.source_refresh.get(&source).copied().unwrap_or(self.refresh)
    }

    fn stale_after(&self, source: SourceId) -> Duration {
        (self.refresh_of(source) * 3).max(Duration::seconds(5))
    }

    /// How long after an answer the next one of `source` is due: two of its refresh intervals.
    /// Up to that age the source (or a member of it) is as fresh as it can be.
    pub fn fresh_within(&self, source: SourceId) -> Duration {
        self.refresh_of(source) * 2
    }

    /// Queue growth in messages per minute over the last two minutes.
    pub fn queue_rate(&self, name: &str) -> Option<f64> {
        self.queue_history.get(name)?.rate_per_min(Duration::seconds(120))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap_or_default()
    }

    fn queues(depth: u64) -> Observation {
        Observation::Queues(QueuesSnapshot {
            server: "127.0.0.1:6379".into(),
            queues: vec![QueueRow { name: "celery".into(), depth, ..QueueRow::default() }],
            unacked: None,
        })
    }

    #[test]
    fn a_failing_source_keeps_its_last_good_data_and_the_time_it_began_failing() {
        let mut m = Model::new(Duration::seconds(2));
        m.apply(Event::Observed { at: t(0), observation: queues(5) });
        m.apply(Event::SourceFailed { at: t(4), source: SourceId::Queues, error: "refused".into() });
        m.apply(Event::SourceFailed { at: t(6), source: SourceId::Queues, error: "refused".into() });
        assert_eq!(m.queues.as_ref().map(|q| q.queues[0].depth), Some(5));
        match m.health(SourceId::Queues) {
            Health::Failing { since, last_ok, .. } => {
                assert_eq!(since, t(4));
                assert_eq!(last_ok, Some(t(0)));
            }
            other => panic!("expected failing, got {other:?}"),
        }
        m.apply(Event::Observed { at: t(8), observation: queues(6) });
        assert_eq!(m.health(SourceId::Queues), Health::Fresh { at: t(8), within: m.fresh_within(SourceId::Queues) });
    }

    #[test]
    fn silence_turns_fresh_into_stale() {
        let mut m = Model::new(Duration::seconds(2));
        m.apply(Event::Observed { at: t(0), observation: queues(1) });
        m.apply(Event::Tick { at: t(3) });
        assert_eq!(m.health(SourceId::Queues), Health::Fresh { at: t(0), within: m.fresh_within(SourceId::Queues) });
        m.apply(Event::Tick { at: t(30) });
        assert_eq!(m.health(SourceId::Queues), Health::Stale { since: t(0) });
    }

    #[test]
    fn a_source_read_once_a_minute_is_stale_only_after_three_of_its_own_minutes() {
        let mut m = Model::new(Duration::seconds(2));
        m.source_refresh.insert(SourceId::Queues, Duration::seconds(60));
        m.apply(Event::Observed { at: t(0), observation: queues(1) });
        m.apply(Event::Tick { at: t(150) });
        assert_eq!(m.health(SourceId::Queues), Health::Fresh { at: t(0), within: m.fresh_within(SourceId::Queues) });
        m.apply(Event::Tick { at: t(181) });
        assert_eq!(m.health(SourceId::Queues), Health::Stale { since: t(0) });
    }

    #[test]
    fn queue_rate_is_per_minute() {
        let mut m = Model::new(Duration::seconds(2));
        m.apply(Event::Observed { at: t(0), observation: queues(100) });
        m.apply(Event::Observed { at: t(30), observation: queues(160) });
        let rate = m.queue_rate("celery").unwrap_or_default();
        assert!((rate - 120.0).abs() < 1e-9, "{rate}");
    }

    #[test]
    fn a_running_step_keeps_the_model_time_it_was_confirmed_at() {
        let mut m = Model::new(Duration::seconds(2));
        m.apply(Event::Tick { at: t(0) });
        let steps = vec!["check".to_string(), "undo".to_string()];
        m.apply(Event::RunbookStarted { name: "rollback".into(), title: "t".into(), steps, dry_run: false, timeouts_secs: vec![10, 120] });
        m.apply(Event::Tick { at: t(3) });
        m.apply(Event::RunbookStep { index: 1, state: StepPhase::Confirmed, text: String::new(), explain: String::new(), typed: None });
        m.apply(Event::Tick { at: t(5) });
        m.apply(Event::RunbookStep { index: 1, state: StepPhase::Running, text: String::new(), explain: String::new(), typed: None });
        let step = &m.runbook.as_ref().map(|r| r.steps[1].clone()).unwrap_or_default();
        assert_eq!((step.started, step.timeout_secs), (Some(t(3)), Some(120)));
    }

    #[test]
    fn a_run_states_how_it_ended_and_never_runs_after_its_end() {
        let run = |dry_run, end| RunbookView { dry_run, end, ..RunbookView::default() }.state();
        assert_eq!(run(true, None), RunState::DryRun);
        assert_eq!(run(true, Some(RunEnd::DryRun)), RunState::Previewed);
        assert_eq!(run(true, Some(RunEnd::Aborted)), RunState::Stopped, "a dry run stopped by a precondition");
        assert_eq!(run(false, None), RunState::Running);
        for (end, state) in [
            (RunEnd::Completed, RunState::Completed),
            (RunEnd::Refused, RunState::Refused),
            (RunEnd::Failed, RunState::Failed),
            (RunEnd::Aborted, RunState::Stopped),
            (RunEnd::NotStarted, RunState::NotStarted),
        ] {
            assert_eq!(run(false, Some(end)), state);
            assert!(state.is_over());
        }
    }

    #[test]
    fn a_step_keeps_its_explanation_and_the_name_its_preview_asks_for() {
        let mut m = Model::new(Duration::seconds(2));
        let steps = vec!["undo".to_string()];
        m.apply(Event::RunbookStarted { name: "rollback".into(), title: "t".into(), steps, dry_run: true, timeouts_secs: vec![] });
        m.apply(Event::RunbookStep { index: 0, state: StepPhase::Pending, text: String::new(), explain: "why".into(), typed: None });
        let typed = Some("api".to_string());
        m.apply(Event::RunbookStep { index: 0, state: StepPhase::Previewed, text: "undo api".into(), explain: String::new(), typed });
        let run = m.runbook.clone().unwrap_or_default();
        assert_eq!((run.steps[0].explain.as_str(), run.typed_confirmation()), ("why", Some("api")));
    }

    #[test]
    fn ticks_within_the_same_second_do_not_ask_for_a_redraw() {
        let mut m = Model::new(Duration::seconds(2));
        assert!(m.apply(Event::Tick { at: t(1) }));
        assert!(!m.apply(Event::Tick { at: t(1) + Duration::milliseconds(300) }));
    }
}
