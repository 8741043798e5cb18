//! Detection: state transitions in the Model become timeline entries, one per transition.
//! Pure; flapping is folded (a new state must hold for N observations or T seconds to count).

use crate::model::verdict::Thresholds;
use crate::model::verdict::{self, MemberAlarm, SentinelAlarm};
use crate::model::{BackupKind, Health, Model, SourceId};
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeMap;

/// How long a new state must hold before it counts: whichever comes first.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Folding {
    pub min_observations: u32,
    pub min_hold: Duration,
}

impl Default for Folding {
    fn default() -> Self {
        Folding { min_observations: 3, min_hold: Duration::seconds(10) }
    }
}

/// One transition, ready to become a `Detected` timeline entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// When the new state was first seen (not when folding let it through).
    pub at: DateTime<Utc>,
    pub source: SourceId,
    pub what: String,
    pub recovered: bool,
    pub backup_age_secs: Option<i64>,
    /// What is watched, the same for the opening and the closing entry ("Queue(\"celery\")"):
    /// how a reader of the findings (the lab's soak) tells one alarm's transitions apart.
    pub subject: String,
}

/// What is watched; one tracker each.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Watch {
    Crashloop(String),
    Leader,
    SentinelMaster,
    Lag,
    Queue(String),
    /// A backup kind's newest against the RPO, in a source ("" when it is the only one).
    Backup(String, BackupKind),
    /// A kind a source keeps (`[s3] kinds`) with nothing in its inventory.
    KindMissing(String, BackupKind),
    /// One backup source that cannot be read while others answer (by name).
    BackupSource(String),
    Archiver,
    Source(SourceId),
    SplitBrain,
    Member(String),
    /// A member's connections against its max_connections.
    Connections(String),
    /// A member's longest statement or open transaction.
    LongQuery(String),
    Sentinel(String),
    /// Lost redundancy: the leader has no standby streaming from it.
    Standby,
    /// Lost redundancy: a Redis replica Sentinel knows is down.
    RedisReplicas,
    /// The Redis master's memory against its maxmemory.
    RedisMemory,
    /// The Redis master's hit rate, when `[thresholds] cache_hit_*_pct` are set.
    RedisHits,
    /// Lost redundancy: a deployment with fewer available pods than desired ("ns/name").
    Capacity(String),
    /// A Service that selects pods, by "ns/name": fewer ready endpoints than it has, or none.
    Service(String),
    /// A `[[checks]]` health check, by name: failing, slow or ok.
    Check(String),
    /// An Alertmanager alert, by its name and fingerprint.
    Alert {
        name: String,
        fingerprint: String,
    },
}

/// A state as seen now: a label that is compared, and words for the timeline.
struct Reading {
    watch: Watch,
    state: String,
    detail: String,
    backup_age_secs: Option<i64>,
}

const OK: &str = "ok";

#[derive(Debug, Clone, Default)]
struct Tracker {
    committed: Option<String>,
    candidate: Option<(String, DateTime<Utc>, u32)>,
}

impl Tracker {
    /// Returns (previous state, since) when `state` has held long enough to count.
    fn step(&mut self, state: &str, at: DateTime<Utc>, folding: Folding) -> Option<(Option<String>, DateTime<Utc>)> {
        if self.committed.as_deref() == Some(state) {
            self.candidate = None;
            return None;
        }
        let (since, seen) = match &mut self.candidate {
            Some((s, since, seen)) if s == state => {
                *seen += 1;
                (*since, *seen)
            }
            _ => {
                self.candidate = Some((state.to_string(), at, 1));
                (at, 1)
            }
        };
        if seen < folding.min_observations && at - since < folding.min_hold {
            return None;
        }
        self.candidate = None;
        Some((self.committed.replace(state.to_string()), since))
    }
}

/// Turns a stream of Models into transitions. Call it after each `Event::Observed` is applied.
#[derive(Debug, Clone)]
pub struct Detector {
    thresholds: Thresholds,
    folding: Folding,
    trackers: BTreeMap<Watch, Tracker>,
}

impl Detector {
    pub fn new(thresholds: &Thresholds) -> Self {
        Detector::with_folding(thresholds, Folding::default())
    }

    pub fn with_folding(thresholds: &Thresholds, folding: Folding) -> Self {
        Detector { thresholds: thresholds.clone(), folding, trackers: BTreeMap::new() }
    }

    /// The transitions this observation completes (usually none).
    pub fn observe(&mut self, model: &Model) -> Vec<Detection> {
        let Some(now) = model.now else { return Vec::new() };
        let mut found = Vec::new();
        for reading in self.readings(model, now) {
            // Alarms start from "ok" so one present at start-up is reported; identities (leader,
            // master) take their first value silently: there is nothing to compare it with.
            let is_identity = matches!(reading.watch, Watch::Leader | Watch::SentinelMaster);
            let tracker = self
                .trackers
                .entry(reading.watch.clone())
                .or_insert_with(|| Tracker { committed: (!is_identity).then(|| OK.to_string()), candidate: None });
            if tracker.committed.is_none() {
                tracker.committed = Some(reading.state.clone());
                continue;
            }
            if let Some((Some(previous), since)) = tracker.step(&reading.state, now, self.folding) {
                found.push(describe(&reading, &previous, since));
            }
        }
        // Forget pods that are gone once they are back to ok.
        self.trackers.retain(|w, t| {
            !matches!(w, Watch::Crashloop(_) | Watch::Capacity(_) | Watch::Alert { .. } | Watch::Service(_))
                || t.committed.as_deref() != Some(OK)
                || t.candidate.is_some()
        });
        found
    }

    fn readings(&self, model: &Model, now: DateTime<Utc>) -> Vec<Reading> {
        let mut out = Vec::new();
        self.crashloops(model, &mut out);
        self.replication(model, &mut out);
        if let Some(master) = model.sentinel.as_ref().map(|s| s.agreed_master().unwrap_or("none").to_string()) {
            out.push(reading(Watch::SentinelMaster, &master, String::new()));
        }
        for row in model.sentinel.iter().flat_map(|s| &s.sentinels) {
            let state = if row.error.is_some() { "unreachable" } else { OK };
            out.push(reading(Watch::Sentinel(row.addr.clone()), state, row.error.clone().unwrap_or_default()));
        }
        self.redis_replicas(model, &mut out);
        if let Some(h) = model.sentinel.as_ref().and_then(|s| s.master_health.as_ref()) {
            let memory = verdict::redis_memory(&self.thresholds, h);
            let detail = match h.memory_percent() {
                Some(pct) => format!(
                    "{} of maxmemory {} ({pct}%, {}) on {}",
                    crate::human::bytes(h.used_memory),
                    crate::human::bytes(h.maxmemory),
                    h.maxmemory_policy,
                    h.addr
                ),
                None => format!("{}, no maxmemory, on {}", crate::human::bytes(h.used_memory), h.addr),
            };
            out.push(reading(Watch::RedisMemory, if memory.is_alarm() { memory.word() } else { OK }, detail));
            // No rate (first reading, no lookups, a failover) is no news: the last state holds.
            if h.hit_rate.is_some() {
                let hits = verdict::cache_hits(&self.thresholds, h);
                let detail = format!("{} {:.0}%", h.addr, h.hit_rate.unwrap_or(0.0) * 100.0);
                out.push(reading(Watch::RedisHits, if hits.is_alarm() { hits.word() } else { OK }, detail));
            }
        }
        self.queues(model, &mut out);
        self.backups(model, now, &mut out);
        self.alerts(model, &mut out);
        self.services(model, &mut out);
        for source in SourceId::ALL {
            match model.health(source) {
                Health::Failing { error, .. } => out.push(reading(Watch::Source(source), "failing", error)),
                Health::Fresh { .. } | Health::Stale { .. } => out.push(reading(Watch::Source(source), OK, String::new())),
                Health::Waiting | Health::Disabled => {}
            }
        }
        out
    }

    fn crashloops(&self, model: &Model, out: &mut Vec<Reading>) {
        let Some(pods) = &model.pods else { return };
        let mut seen = Vec::new();
        for pod in &pods.pods {
            let name = format!("{}/{}", pod.namespace, pod.name);
            // Between back-offs a crash-looping container runs for a moment: a pod that restarted
            // repeatedly in the last two minutes is still crash-looping, or every restart would flap.
            // Hysteresis: once looping, one recent restart keeps it so (the first back-off is 10 s,
            // and the container runs for a while in between); it ends after two quiet minutes.
            let recent = pod.last_restart.zip(model.now).is_some_and(|(t, now)| now - t < Duration::minutes(2));
            let was_looping =
                self.trackers.get(&Watch::Crashloop(name.clone())).is_some_and(|t| t.committed.as_deref() == Some("crashloop"));
            let restarting = recent && (pod.restarts >= 2 || (was_looping && pod.restarts >= 1));
            let looping = pod.reason.as_deref() == Some("CrashLoopBackOff") || restarting;
            let detail = format!("{} restarts", pod.restarts);
            out.push(reading(Watch::Crashloop(name.clone()), if looping { "crashloop" } else { OK }, detail));
            seen.push(name);
        }
        let mut deployments = Vec::new();
        for d in &pods.deployments {
            let state = if verdict::capacity_short(d) { "short" } else { OK };
            let detail = format!("{} of {} available", d.available, d.desired);
            let name = format!("{}/{}", d.namespace, d.name);
            out.push(reading(Watch::Capacity(name.clone()), state, detail));
            deployments.push(name);
        }
        // What is no longer listed is back to ok, so its tracker can go.
        for watch in self.trackers.keys() {
            let gone = match watch {
                Watch::Crashloop(name) if !seen.contains(name) => "the pod is gone",
                Watch::Capacity(name) if !deployments.contains(name) => "the deployment is gone",
                _ => continue,
            };
            out.push(reading(watch.clone(), OK, gone.into()));
        }
    }

    fn replication(&self, model: &Model, out: &mut Vec<Reading>) {
        let Some(repl) = &model.replication else { return };
        out.push(reading(Watch::Leader, repl.leader().unwrap_or("none"), String::new()));
        let v = verdict::replication(&self.thresholds, repl);
        // No leader, or one that does not answer, is its own alarm: its standbys are then unknown, not lost.
        let unanswering = v.members.iter().any(|a| matches!(a, MemberAlarm::LeaderUnanswering { .. }));
        if !v.no_leader && !unanswering {
            let state = if v.no_standby { "lost" } else { OK };
            out.push(reading(Watch::Standby, state, repl.leader().unwrap_or("?").to_string()));
        }
        // Seconds come from the standby's feedback: a frozen or cut-off standby sends none, so its
        // seconds stay where they were while the bytes behind keep growing. Either one counts.
        let secs = repl.max_replay_lag_secs();
        let bytes = repl.max_replay_lag_bytes();
        if secs.is_some() || bytes.is_some() {
            let level = verdict::lag(&self.thresholds, secs, bytes);
            let detail = format!("{:.0}s, {} behind", secs.unwrap_or(0.0), crate::human::bytes(bytes.unwrap_or(0)));
            out.push(reading(Watch::Lag, if level.is_alarm() { level.word() } else { OK }, detail));
        }
        // Each member by its own answer: a frozen leader is still "running" in Patroni's view.
        let alarms = &v.members;
        let split = alarms.iter().find_map(|a| if let MemberAlarm::SplitBrain(n) = a { Some(n.join(", ")) } else { None });
        out.push(reading(Watch::SplitBrain, if split.is_some() { "split" } else { OK }, split.unwrap_or_default()));
        for m in &repl.members {
            let alarm = alarms.iter().find(|a| match a {
                MemberAlarm::LeaderUnanswering { name, .. } | MemberAlarm::MemberDown { name, .. } => *name == m.name,
                MemberAlarm::SplitBrain(_) => false,
            });
            let (state, detail) = alarm.map_or((OK, String::new()), |a| ("down", a.words()));
            out.push(reading(Watch::Member(m.name.clone()), state, detail));
        }
        // Load by each member's own pg_stat_activity; a member that does not answer has no
        // reading (its alarm is the one above), so its load tracker keeps its last state.
        // The verdict's own load alarms (`v.load`) decide; the readings only name them.
        for m in repl.members.iter().filter(|m| m.reachable) {
            let Some(load) = &m.load else { continue };
            let mine =
                |long: bool| v.load.iter().find(|a| a.member() == m.name && matches!(a, verdict::LoadAlarm::LongQuery { .. }) == long);
            let state = mine(false).map_or(OK, |a| a.level().word());
            let detail = format!("{} of {}, {}%", load.connections, load.max_connections, load.percent());
            out.push(reading(Watch::Connections(m.name.clone()), state, detail));
            let (state, detail) = mine(true).map_or((OK, String::new()), |a| (a.level().word(), a.words()));
            out.push(reading(Watch::LongQuery(m.name.clone()), state, detail));
        }
        if let Some(archiver) = &repl.archiver {
            let (state, detail) = if archiver.is_failing() {
                ("failing", format!("last failed WAL {}", archiver.last_failed_wal.as_deref().unwrap_or("?")))
            } else {
                (OK, format!("last archived WAL {}", archiver.last_archived_wal.as_deref().unwrap_or("?")))
            };
            out.push(reading(Watch::Archiver, state, detail));
        }
    }

    /// Lost redundancy in Redis: the replicas Sentinel sees down. While the master is down or being
    /// replaced its replicas' links are down because of it, so nothing is read until Sentinel has
    /// settled on a master; which replicas are down is part of the state (after a failover the dead
    /// old master is the one down, a different fact from the one before).
    fn redis_replicas(&self, model: &Model, out: &mut Vec<Reading>) {
        let Some(snap) = &model.sentinel else { return };
        let alarms = verdict::sentinel_alarms(snap);
        let settling = alarms.iter().any(|a| {
            matches!(
                a,
                SentinelAlarm::MasterODown | SentinelAlarm::MasterSDown | SentinelAlarm::FailoverInProgress | SentinelAlarm::NoMaster
            )
        });
        if settling {
            return;
        }
        let down: Vec<&str> = snap.replicas.iter().filter(|r| verdict::replica_down(r)).map(|r| r.addr.as_str()).collect();
        let state = if alarms.contains(&SentinelAlarm::ReplicaDown) { format!("down {}", down.join(", ")) } else { OK.into() };
        out.push(reading(Watch::RedisReplicas, &state, down.join(", ")));
    }

    fn queues(&self, model: &Model, out: &mut Vec<Reading>) {
        let Some(queues) = &model.queues else { return };
        for q in &queues.queues {
            if let Some(error) = &q.error {
                out.push(reading(Watch::Queue(q.name.clone()), "unreadable", error.clone()));
                continue;
            }
            // One alarm per queue: over its warning depth (a critical depth is the same flood).
            let state = if verdict::queue_depth(&self.thresholds, q.depth).is_alarm() { "over" } else { OK };
            out.push(reading(Watch::Queue(q.name.clone()), state, format!("{} messages", q.depth)));
        }
    }

    fn backups(&self, model: &Model, now: DateTime<Utc>, out: &mut Vec<Reading>) {
        let Some(all) = &model.backups else { return };
        for backups in all.iter() {
            let src = all.label(backups).to_string();
            if all.several() {
                let (state, detail) = match &backups.error {
                    Some(e) => ("unreadable", e.clone()),
                    None => (OK, format!("s3://{}", backups.bucket)),
                };
                out.push(reading(Watch::BackupSource(src.clone()), state, detail));
            }
            // A source that cannot be read just now says nothing new about its kinds.
            if backups.error.is_some() {
                continue;
            }
            for kind in [BackupKind::Dump, BackupKind::Wal] {
                if let verdict::KindVerdict::Newest { age_secs: age, level, .. } =
                    verdict::backup_kind(&self.thresholds, backups, kind, now)
                {
                    let state = if level.is_alarm() { "stale" } else { OK };
                    let mut r = reading(Watch::Backup(src.clone(), kind), state, crate::human::duration_exact(age));
                    r.backup_age_secs = Some(age);
                    out.push(r);
                }
            }
            let missing = verdict::missing_kinds(backups, now);
            for kind in BackupKind::ALL.into_iter().filter(|k| backups.expects(*k)) {
                let newest = || verdict::newest_protecting(backups, kind, now).map(|i| i.key.clone()).unwrap_or_default();
                let state = if missing.contains(&kind) { "missing" } else { OK };
                out.push(reading(Watch::KindMissing(src.clone(), kind), state, if state == OK { newest() } else { String::new() }));
            }
        }
    }

    /// Each firing alert (active or not yet processed); a silenced, inhibited or gone one is ok.
    fn alerts(&self, model: &Model, out: &mut Vec<Reading>) {
        use crate::model::AlertState;
        let Some(alerts) = &model.alerts else { return };
        let mut seen = Vec::new();
        for a in &alerts.alerts {
            let watch = Watch::Alert { name: a.name.clone(), fingerprint: a.fingerprint.clone() };
            let (state, detail) = match a.state {
                AlertState::Suppressed if a.silenced => (OK, "silenced".to_string()),
                AlertState::Suppressed => (OK, "inhibited".to_string()),
                AlertState::Active | AlertState::Unprocessed => {
                    let severity = if a.severity.is_empty() { "no severity" } else { a.severity.as_str() };
                    let summary = if a.summary.is_empty() { String::new() } else { format!(": {}", a.summary) };
                    ("firing", format!("{severity}{summary}"))
                }
            };
            out.push(reading(watch.clone(), state, detail));
            seen.push(watch);
        }
        for watch in self.trackers.keys().filter(|w| matches!(w, Watch::Alert { .. }) && !seen.contains(w)) {
            out.push(reading(watch.clone(), OK, "resolved".into()));
        }
        for c in &alerts.checks {
            let state = match verdict::check(c) {
                level if !level.is_alarm() => OK,
                _ if c.passed() => "slow",
                _ => "failing",
            };
            let answer = match (c.status, c.latency_ms) {
                (Some(status), Some(ms)) => format!("{status} in {ms}ms"),
                (None, Some(ms)) => format!("connected in {ms}ms"),
                _ => String::new(),
            };
            let detail = match (&c.error, state) {
                (Some(e), _) => e.clone(),
                (None, "slow") => format!("{answer}, over its slow_ms {}ms", c.slow_ms),
                (None, _) => format!("{} {answer}", c.target),
            };
            out.push(reading(Watch::Check(c.name.clone()), state, detail));
        }
    }
}

impl Detector {
    /// Each Service that selects pods, by its verdict; one no longer listed is back to ok.
    fn services(&self, model: &Model, out: &mut Vec<Reading>) {
        let Some(pods) = &model.pods else { return };
        let mut seen = Vec::new();
        for s in pods.services.iter().filter(|s| s.selector) {
            let watch = Watch::Service(format!("{}/{}", s.namespace, s.name));
            let level = verdict::service(s);
            let detail = format!("{} of {} endpoints ready", s.ready, s.total());
            out.push(reading(watch.clone(), if level.is_alarm() { level.word() } else { OK }, detail));
            seen.push(watch);
        }
        for watch in self.trackers.keys().filter(|w| matches!(w, Watch::Service(_)) && !seen.contains(w)) {
            out.push(reading(watch.clone(), OK, "the service is gone".into()));
        }
    }
}

/// " in backup source NAME" when there are several, "" for the only one.
fn within(src: &str) -> String {
    if src.is_empty() { String::new() } else { format!(" in backup source {src}") }
}

fn reading(watch: Watch, state: &str, detail: String) -> Reading {
    Reading { watch, state: state.to_string(), detail, backup_age_secs: None }
}

fn describe(r: &Reading, previous: &str, at: DateTime<Utc>) -> Detection {
    let (source, what, recovered) = match &r.watch {
        Watch::Crashloop(pod) if r.state == OK => (SourceId::Pods, format!("crashloop ended: pod {pod} ({})", r.detail), true),
        Watch::Crashloop(pod) => (SourceId::Pods, format!("crashloop began: pod {pod} in CrashLoopBackOff ({})", r.detail), false),
        Watch::Leader => (SourceId::Replication, moved("Postgres leader", previous, &r.state), r.state != "none"),
        Watch::SentinelMaster => (SourceId::Sentinel, moved("Redis master (Sentinel)", previous, &r.state), r.state != "none"),
        Watch::Lag if r.state == OK => {
            (SourceId::Replication, format!("replication lag back under the warning threshold ({})", r.detail), true)
        }
        Watch::Lag => (SourceId::Replication, format!("replication lag at {} level ({}, was {previous})", r.state, r.detail), false),
        Watch::Queue(name) if r.state == OK => {
            (SourceId::Queues, format!("queue {name} back under its warning depth ({})", r.detail), true)
        }
        Watch::Queue(name) => (SourceId::Queues, format!("queue {name} growing: over its warning depth ({})", r.detail), false),
        Watch::Backup(src, kind) if r.state == OK => {
            (SourceId::Backups, format!("newest {}{} is within the RPO again ({} old)", kind.label(), within(src), r.detail), true)
        }
        Watch::Backup(src, kind) => {
            (SourceId::Backups, format!("newest {}{} is older than the RPO ({} old)", kind.label(), within(src), r.detail), false)
        }
        Watch::BackupSource(src) if r.state == OK => (SourceId::Backups, format!("backup source {src} reads again ({})", r.detail), true),
        Watch::BackupSource(src) => (SourceId::Backups, format!("backup source {src} cannot be read: {}", r.detail), false),
        Watch::KindMissing(src, kind) if r.state == OK => {
            (SourceId::Backups, format!("{}{} back in the inventory (newest {})", kind.label(), within(src), r.detail), true)
        }
        Watch::KindMissing(src, kind) => (
            SourceId::Backups,
            format!("no {}{} in the inventory: a kind the estate keeps ([s3] kinds) is missing", kind.label(), within(src)),
            false,
        ),
        Watch::Archiver if r.state == OK => (SourceId::Replication, format!("WAL archiving recovered ({})", r.detail), true),
        Watch::Archiver => (SourceId::Replication, format!("WAL archiving failing ({})", r.detail), false),
        Watch::SplitBrain if r.state == OK => (SourceId::Replication, "split brain over: one Postgres primary again".into(), true),
        Watch::SplitBrain => (SourceId::Replication, format!("SPLIT BRAIN: {} all answer as primary and take writes", r.detail), false),
        Watch::Member(name) if r.state == OK => (SourceId::Replication, format!("Postgres member {name} answers SQL again"), true),
        Watch::Member(_) => (SourceId::Replication, format!("Postgres {}", r.detail), false),
        Watch::Connections(name) if r.state == OK => {
            (SourceId::Replication, format!("Postgres {name} connections back under the warning share ({})", r.detail), true)
        }
        Watch::Connections(name) => (
            SourceId::Replication,
            format!("Postgres {name} connections at {} level ({} of max_connections, was {previous})", r.state, r.detail),
            false,
        ),
        Watch::LongQuery(name) if r.state == OK => {
            (SourceId::Replication, format!("Postgres {name}: no statement or transaction over the query threshold now"), true)
        }
        Watch::LongQuery(_) => (SourceId::Replication, format!("Postgres long query at {} level: {}", r.state, r.detail), false),
        Watch::Sentinel(addr) if r.state == OK => (SourceId::Sentinel, format!("Sentinel {addr} answers again"), true),
        Watch::Sentinel(addr) => (SourceId::Sentinel, format!("Sentinel {addr} unreachable: {} (redundancy lost)", r.detail), false),
        Watch::Standby if r.state == OK => (SourceId::Replication, format!("a standby streams from leader {} again", r.detail), true),
        Watch::Standby => (
            SourceId::Replication,
            format!("no standby streams from leader {} (redundancy lost: a leader failure has no replica to promote)", r.detail),
            false,
        ),
        Watch::RedisReplicas if r.state == OK => (SourceId::Sentinel, "every Redis replica is up again".into(), true),
        Watch::RedisReplicas => (SourceId::Sentinel, format!("Redis replica(s) down: {} (redundancy lost)", r.detail), false),
        Watch::RedisMemory if r.state == OK => {
            (SourceId::Sentinel, format!("Redis master memory back under the warning share ({})", r.detail), true)
        }
        Watch::RedisMemory => (
            SourceId::Sentinel,
            format!("Redis master memory at {} level: {} (at 100% it evicts or refuses writes)", r.state, r.detail),
            false,
        ),
        Watch::RedisHits if r.state == OK => (SourceId::Sentinel, format!("Redis cache hit rate recovered ({})", r.detail), true),
        Watch::RedisHits => (SourceId::Sentinel, format!("Redis cache hit rate at {} level ({})", r.state, r.detail), false),
        Watch::Capacity(name) if r.state == OK => {
            (SourceId::Pods, format!("deployment {name} at full capacity again ({})", r.detail), true)
        }
        Watch::Capacity(name) => (SourceId::Pods, format!("deployment {name} short of capacity: {} (redundancy lost)", r.detail), false),
        Watch::Service(name) if r.state == OK => {
            (SourceId::Pods, format!("service {name} has every endpoint ready again ({})", r.detail), true)
        }
        Watch::Service(name) if r.state == verdict::Level::Crit.word() => {
            (SourceId::Pods, format!("service {name} has no ready endpoint: it serves nothing ({})", r.detail), false)
        }
        Watch::Service(name) => (SourceId::Pods, format!("service {name} short of ready endpoints ({})", r.detail), false),
        Watch::Check(name) if r.state == OK => (SourceId::Alerts, format!("check {name} passes again ({})", r.detail), true),
        Watch::Check(name) if r.state == "slow" => (SourceId::Alerts, format!("check {name} slow: {}", r.detail), false),
        Watch::Check(name) => (SourceId::Alerts, format!("check {name} failing: {}", r.detail), false),
        Watch::Alert { name, .. } if r.state == OK => (SourceId::Alerts, format!("alert {name} {}", r.detail), true),
        Watch::Alert { name, .. } => (SourceId::Alerts, format!("alert {name} firing ({})", r.detail), false),
        Watch::Source(s) if r.state == OK => (*s, format!("source {} recovered", s.name()), true),
        Watch::Source(s) => (*s, format!("source {} failing: {}", s.name(), r.detail), false),
    };
    Detection { at, source, what, recovered, backup_age_secs: r.backup_age_secs, subject: format!("{:?}", r.watch) }
}

fn moved(what: &str, from: &str, to: &str) -> String {
    match (from, to) {
        (_, "none") => format!("{what} lost: none now (was {from})"),
        ("none", _) => format!("{what} is {to} (there was none)"),
        _ => format!("{what} moved from {from} to {to}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        ArchiverRow, BackupItem, BackupsSnapshot, Event, Observation, PatroniMember, PodRow, PodsSnapshot, QueueRow, QueuesSnapshot,
        ReplicationSnapshot, SentinelRow, SentinelSnapshot, StandbyRow,
    };

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap_or_default()
    }

    /// Feeds one observation per 2 s and collects what the detector says.
    struct Drill {
        model: Model,
        detector: Detector,
        clock: i64,
        said: Vec<Detection>,
    }

    impl Drill {
        fn new() -> Self {
            Drill { model: Model::new(Duration::seconds(2)), detector: Detector::new(&Thresholds::default()), clock: 0, said: Vec::new() }
        }

        fn thresholds(&mut self, t: Thresholds) {
            self.detector = Detector::new(&t);
        }

        fn see(&mut self, observation: Observation, times: usize) -> &mut Self {
            for _ in 0..times {
                self.clock += 2;
                self.model.apply(Event::Observed { at: t(self.clock), observation: observation.clone() });
                self.said.extend(self.detector.observe(&self.model));
            }
            self
        }

        fn whats(&self) -> Vec<(String, bool)> {
            self.said.iter().map(|d| (d.what.clone(), d.recovered)).collect()
        }
    }

    fn pods(reason: Option<&str>) -> Observation {
        let pod = PodRow {
            namespace: "shop".into(),
            name: "api-1".into(),
            phase: "Running".into(),
            restarts: 7,
            reason: reason.map(Into::into),
            ..PodRow::default()
        };
        Observation::Pods(PodsSnapshot { pods: vec![pod], ..PodsSnapshot::default() })
    }

    fn replication(leader: &str, lag: f64, archive_failing: bool) -> Observation {
        let archiver = ArchiverRow {
            last_archived_time: Some(t(0)),
            last_failed_time: archive_failing.then(|| t(1)),
            last_failed_wal: Some("00000001000000000000000A".into()),
            ..ArchiverRow::default()
        };
        Observation::Replication(ReplicationSnapshot {
            patroni: vec![PatroniMember { name: leader.into(), role: "leader".into(), ..PatroniMember::default() }],
            standbys: vec![StandbyRow { name: "pg-1".into(), replay_lag_secs: Some(lag), ..StandbyRow::default() }],
            archiver: Some(archiver),
            ..ReplicationSnapshot::default()
        })
    }

    fn sentinel(master: &str) -> Observation {
        let row = |addr: &str| SentinelRow { addr: addr.into(), master_addr: Some(master.into()), error: None };
        Observation::Sentinel(SentinelSnapshot {
            master_name: "mymaster".into(),
            sentinels: vec![row("s1"), row("s2"), row("s3")],
            ..SentinelSnapshot::default()
        })
    }

    fn queue(depth: u64) -> Observation {
        Observation::Queues(QueuesSnapshot {
            server: "redis".into(),
            queues: vec![QueueRow { name: "celery".into(), depth, ..QueueRow::default() }],
            unacked: None,
        })
    }

    fn wal_at(at: DateTime<Utc>) -> Observation {
        let item = BackupItem { kind: BackupKind::Wal, key: "wal_005/000000010000000000000001".into(), at, size: 16 };
        Observation::Backups(
            BackupsSnapshot { bucket: "b".into(), items: vec![item], kinds: vec![BackupKind::Wal], ..BackupsSnapshot::default() }.into(),
        )
    }

    #[test]
    fn lost_redundancy_in_each_estate_is_an_entry_when_lost_and_one_when_restored() {
        use crate::model::{DeploymentRow, ReplicaRow};
        let mut d = Drill::new();
        // Postgres: the leader's only standby stops streaming, then comes back.
        let streaming = replication("pg-0", 0.0, false);
        let Observation::Replication(mut alone) = streaming.clone() else { unreachable!() };
        alone.standbys.clear();
        d.see(streaming.clone(), 3).see(Observation::Replication(alone), 8).see(streaming, 8);
        // Redis: a replica Sentinel knows goes down, then links again.
        let with_replica = |link: &str| {
            let Observation::Sentinel(mut s) = sentinel("10.0.0.1:6379") else { unreachable!() };
            s.replicas =
                vec![ReplicaRow { addr: "10.0.0.2:6379".into(), flags: "slave".into(), link_status: link.into(), ..ReplicaRow::default() }];
            Observation::Sentinel(s)
        };
        d.see(with_replica("ok"), 3).see(with_replica("err"), 8).see(with_replica("ok"), 8);
        // Kube: web has 2 of 3 available, then 3 of 3.
        let deploy = |available| {
            let row = DeploymentRow {
                namespace: "shop".into(),
                name: "web".into(),
                desired: 3,
                available,
                rollout: "complete".into(),
                ..DeploymentRow::default()
            };
            Observation::Pods(PodsSnapshot { deployments: vec![row], ..PodsSnapshot::default() })
        };
        d.see(deploy(3), 3).see(deploy(2), 8).see(deploy(3), 8);
        assert_eq!(
            d.whats(),
            vec![
                ("no standby streams from leader pg-0 (redundancy lost: a leader failure has no replica to promote)".into(), false),
                ("a standby streams from leader pg-0 again".into(), true),
                ("Redis replica(s) down: 10.0.0.2:6379 (redundancy lost)".into(), false),
                ("every Redis replica is up again".into(), true),
                ("deployment shop/web short of capacity: 2 of 3 available (redundancy lost)".into(), false),
                ("deployment shop/web at full capacity again (3 of 3 available)".into(), true),
            ]
        );
    }

    #[test]
    fn replica_links_down_while_the_master_is_down_are_the_masters_loss_not_a_replicas() {
        use crate::model::{MasterRow, ReplicaRow};
        let mut d = Drill::new();
        let snap = |master_flags: &str, link: &str| {
            let Observation::Sentinel(mut s) = sentinel("10.0.0.1:6379") else { unreachable!() };
            s.master = Some(MasterRow {
                addr: "10.0.0.1:6379".into(),
                flags: master_flags.into(),
                quorum: 2,
                other_sentinels: 2,
                num_replicas: 1,
            });
            s.replicas =
                vec![ReplicaRow { addr: "10.0.0.2:6379".into(), flags: "slave".into(), link_status: link.into(), ..ReplicaRow::default() }];
            Observation::Sentinel(s)
        };
        d.see(snap("master", "ok"), 3).see(snap("master,s_down,o_down", "err"), 10);
        assert!(d.whats().iter().all(|(w, _)| !w.contains("replica(s) down")), "{:?}", d.whats());
    }

    #[test]
    fn a_steady_state_produces_nothing() {
        let mut d = Drill::new();
        d.see(pods(None), 10).see(replication("pg-0", 1.0, false), 10).see(sentinel("10.0.0.1:6379"), 10).see(queue(5), 10);
        assert!(d.said.is_empty(), "{:?}", d.whats());
    }

    #[test]
    fn a_crashloop_is_one_entry_when_it_begins_and_one_when_it_ends() {
        let mut d = Drill::new();
        d.see(pods(None), 3).see(pods(Some("CrashLoopBackOff")), 20).see(pods(None), 20);
        let whats = d.whats();
        assert_eq!(whats.len(), 2, "{whats:?}");
        assert!(whats[0].0.starts_with("crashloop began: pod shop/api-1") && !whats[0].1);
        assert!(whats[1].0.starts_with("crashloop ended") && whats[1].1);
        assert_eq!(d.said[0].at, t(8), "stamped when first seen, not when folding let it through");
    }

    #[test]
    fn flapping_shorter_than_the_fold_is_not_recorded() {
        let mut d = Drill::new();
        for _ in 0..10 {
            d.see(pods(Some("CrashLoopBackOff")), 1).see(pods(None), 1);
        }
        assert!(d.said.is_empty(), "{:?}", d.whats());
    }

    #[test]
    fn a_recovery_is_folded_too() {
        let mut d = Drill::new();
        d.see(queue(5000), 5);
        for _ in 0..5 {
            d.see(queue(10), 1).see(queue(5000), 1);
        }
        assert_eq!(d.whats().len(), 1, "only the growth, no flapping recoveries: {:?}", d.whats());
        d.see(queue(10), 5);
        assert_eq!(d.whats()[1], ("queue celery back under its warning depth (10 messages)".into(), true));
    }

    #[test]
    fn a_patroni_failover_is_recorded_as_the_leader_moving() {
        let mut d = Drill::new();
        d.see(replication("pg-0", 0.0, false), 5).see(replication("pg-1", 0.0, false), 5);
        assert_eq!(d.whats(), vec![("Postgres leader moved from pg-0 to pg-1".into(), true)]);
    }

    #[test]
    fn a_sentinel_failover_is_recorded_as_the_master_moving() {
        let mut d = Drill::new();
        d.see(sentinel("10.0.0.1:6379"), 5).see(sentinel("10.0.0.2:6379"), 5);
        assert_eq!(d.whats(), vec![("Redis master (Sentinel) moved from 10.0.0.1:6379 to 10.0.0.2:6379".into(), true)]);
    }

    #[test]
    fn replication_lag_crossing_warning_then_critical_then_back_is_three_entries() {
        let mut d = Drill::new();
        d.see(replication("pg-0", 1.0, false), 3).see(replication("pg-0", 45.0, false), 5);
        d.see(replication("pg-0", 90.0, false), 5).see(replication("pg-0", 2.0, false), 5);
        let whats = d.whats();
        assert_eq!(whats.len(), 3, "{whats:?}");
        assert!(whats[0].0.contains("warning level (45s"), "{}", whats[0].0);
        assert!(whats[1].0.contains("critical level (90s"), "{}", whats[1].0);
        assert!(whats[2].1, "back under is a recovery");
    }

    #[test]
    fn a_connection_flood_with_a_long_query_is_one_entry_each_way_per_alarm() {
        use crate::model::{LongQuery, MemberLoad, MemberRow};
        let loaded = |connections: u32, query_secs: Option<f64>| {
            let Observation::Replication(mut r) = replication("pg-0", 0.4, false) else { unreachable!() };
            let longest = query_secs.map(|secs| LongQuery {
                pid: 4242,
                secs,
                state: "active".into(),
                user: "postgres".into(),
                query: "select pg_sleep(3600)".into(),
            });
            let load = MemberLoad { connections, max_connections: 50, longest };
            r.members = vec![MemberRow { name: "pg-0".into(), reachable: true, load: Some(load), ..MemberRow::default() }];
            Observation::Replication(r)
        };
        let mut d = Drill::new();
        d.see(loaded(6, None), 3).see(loaded(42, Some(5.0)), 8);
        // The statement keeps running past the warning, each poll a little older: one entry.
        for secs in [61.0, 63.0, 65.0, 67.0, 69.0, 71.0, 73.0, 75.0] {
            d.see(loaded(42, Some(secs)), 1);
        }
        d.see(loaded(6, None), 8);
        let whats = d.whats();
        assert_eq!(whats.len(), 4, "{whats:?}");
        assert_eq!(whats[0], ("Postgres pg-0 connections at warning level (42 of 50, 84% of max_connections, was ok)".into(), false));
        assert!(
            whats[1].0.starts_with("Postgres long query at warning level: pg-0: pid 4242 active for 1m 05s (postgres): select pg_sleep"),
            "{whats:?}"
        );
        assert!(whats[2].1 && whats[3].1, "both recover: {whats:?}");
        // A member that stops answering is its own alarm; its load is not read as recovered.
        let mut d = Drill::new();
        let Observation::Replication(mut down) = loaded(42, None) else { unreachable!() };
        down.members[0].reachable = false;
        d.see(loaded(42, None), 8).see(Observation::Replication(down), 8);
        assert!(!d.whats().iter().any(|(w, r)| *r && w.contains("connections")), "{:?}", d.whats());
    }

    #[test]
    fn a_redis_master_filling_its_maxmemory_is_one_entry_and_one_recovery_and_hits_only_when_asked() {
        use crate::model::MasterHealth;
        let with = |used: u64, hit_rate: Option<f64>| {
            let Observation::Sentinel(mut s) = sentinel("10.0.0.1:6379") else { unreachable!() };
            s.master_health = Some(Box::new(MasterHealth {
                addr: "10.0.0.1:6379".into(),
                used_memory: used << 20,
                maxmemory: 100 << 20,
                maxmemory_policy: "noeviction".into(),
                hit_rate,
                ..MasterHealth::default()
            }));
            Observation::Sentinel(s)
        };
        let mut d = Drill::new();
        d.see(with(10, Some(0.2)), 3).see(with(85, Some(0.2)), 4).see(with(95, None), 4).see(with(12, Some(0.3)), 8);
        let whats = d.whats();
        assert_eq!(whats.len(), 3, "warning, critical, back; hits are not judged by default: {whats:?}");
        assert_eq!(
            whats[1].0,
            "Redis master memory at critical level: 95.0MiB of maxmemory 100.0MiB (95%, noeviction) on 10.0.0.1:6379 (at 100% it evicts or refuses writes)"
        );
        assert!(whats[2].1 && whats[2].0.starts_with("Redis master memory back under the warning share (12.0MiB"), "{whats:?}");
        let mut d = Drill::new();
        d.thresholds(Thresholds { cache_hit_warn_pct: Some(70), cache_hit_crit_pct: Some(50), ..Thresholds::default() });
        d.see(with(10, Some(0.9)), 3).see(with(10, Some(0.4)), 8).see(with(10, None), 3).see(with(10, Some(0.95)), 8);
        let whats = d.whats();
        assert_eq!(whats.len(), 2, "{whats:?}");
        assert_eq!(whats[0].0, "Redis cache hit rate at critical level (10.0.0.1:6379 40%)");
        assert!(whats[1].1);
    }

    #[test]
    fn a_frozen_standby_is_caught_by_the_bytes_behind_while_its_seconds_stand_still() {
        let frozen = |behind: u64| {
            let Observation::Replication(mut r) = replication("pg-0", 0.4, false) else { unreachable!() };
            r.standbys[0].replay_lag_bytes = behind;
            Observation::Replication(r)
        };
        let mut d = Drill::new();
        d.see(frozen(4096), 3).see(frozen(40 * 1024 * 1024), 5).see(frozen(0), 5);
        let whats = d.whats();
        assert_eq!(whats.len(), 2, "{whats:?}");
        assert!(whats[0].0.contains("warning level (0s, 40.0MiB behind"), "{}", whats[0].0);
        assert!(whats[1].1, "caught up is a recovery");
    }

    #[test]
    fn wal_archiving_failing_and_back() {
        let mut d = Drill::new();
        d.see(replication("pg-0", 0.0, true), 5).see(replication("pg-0", 0.0, false), 5);
        let whats = d.whats();
        assert_eq!(whats.len(), 2, "{whats:?}");
        assert!(whats[0].0.contains("WAL archiving failing (last failed WAL 00000001000000000000000A)"));
        assert!(whats[1].1);
    }

    #[test]
    fn a_kept_kind_that_goes_missing_is_one_entry_and_one_when_it_is_back() {
        let mut d = Drill::new();
        let with = |dump: bool| {
            let Observation::Backups(mut all) = wal_at(t(0)) else { unreachable!() };
            let snap = &mut all.sources[0];
            snap.kinds = vec![BackupKind::Wal, BackupKind::Dump, BackupKind::Snapshot];
            if dump {
                snap.items.push(BackupItem {
                    kind: BackupKind::Dump,
                    key: "dumps/shop/shop_20270115T080000Z.dump".into(),
                    at: t(0),
                    size: 9,
                });
            }
            Observation::Backups(all)
        };
        // The snapshots [s3] kinds lists are never there: one entry at start-up, not one per poll.
        d.see(with(true), 8);
        assert_eq!(d.whats(), vec![("no snapshot in the inventory: a kind the estate keeps ([s3] kinds) is missing".into(), false)]);
        // The dumps go (deleted, or the prefix moved), then one is back.
        d.see(with(false), 8).see(with(true), 8);
        assert_eq!(
            d.whats()[1..],
            [
                ("no pg_dump in the inventory: a kind the estate keeps ([s3] kinds) is missing".into(), false),
                ("pg_dump back in the inventory (newest dumps/shop/shop_20270115T080000Z.dump)".into(), true),
            ]
        );
        // A kind the estate does not keep is never reported.
        assert!(d.whats().iter().all(|(w, _)| !w.contains("base backup")), "{:?}", d.whats());
    }

    #[test]
    fn newest_wal_older_than_the_rpo_carries_its_age_for_the_post_mortem() {
        let mut d = Drill::new();
        d.see(wal_at(t(0)), 3);
        assert!(d.said.is_empty());
        d.clock = 400;
        d.see(wal_at(t(0)), 3);
        assert_eq!(d.said.len(), 1, "{:?}", d.whats());
        assert_eq!(d.said[0].backup_age_secs, Some(406), "age when the fold let it through");
        assert!(d.said[0].what.contains("newest WAL is older than the RPO (6m 46s old)"), "{}", d.said[0].what);
        d.see(wal_at(t(d.clock)), 3);
        assert!(d.said[1].recovered);
    }

    #[test]
    fn one_backup_source_that_cannot_be_read_is_its_own_entry_and_its_kinds_are_named_by_source() {
        let mut d = Drill::new();
        let two = |offsite_error: Option<&str>| {
            let Observation::Backups(mut all) = wal_at(t(0)) else { unreachable!() };
            all.sources[0].source = "wal".into();
            let dumps = BackupsSnapshot {
                source: "offsite".into(),
                bucket: "o".into(),
                items: vec![BackupItem { kind: BackupKind::Dump, key: "dumps/a_20270115T080000Z.dump".into(), at: t(0), size: 1 }],
                kinds: vec![BackupKind::Dump],
                error: offsite_error.map(String::from),
                ..BackupsSnapshot::default()
            };
            all.sources.push(dumps);
            Observation::Backups(all)
        };
        d.see(two(None), 3);
        assert!(d.said.is_empty(), "{:?}", d.whats());
        d.see(two(Some("cannot reach S3: connection refused")), 8).see(two(None), 8);
        assert_eq!(
            d.whats(),
            [
                ("backup source offsite cannot be read: cannot reach S3: connection refused".into(), false),
                ("backup source offsite reads again (s3://o)".into(), true),
            ]
        );
        // The other source's stale WAL is named by its source, the unreadable one's kinds are not judged.
        d.clock = 400;
        d.see(two(Some("refused")), 3);
        let last: Vec<&str> = d.said[2..].iter().map(|x| x.what.as_str()).collect();
        assert!(last.contains(&"newest WAL in backup source wal is older than the RPO (6m 46s old)"), "{last:?}");
        assert!(!last.iter().any(|w| w.contains("pg_dump")), "{last:?}");
    }

    #[test]
    fn a_source_failing_and_recovering_is_two_entries() {
        let mut d = Drill::new();
        d.see(queue(1), 2);
        for _ in 0..5 {
            d.clock += 2;
            d.model.apply(Event::SourceFailed { at: t(d.clock), source: SourceId::Queues, error: "connection refused".into() });
            d.said.extend(d.detector.observe(&d.model));
        }
        d.see(queue(1), 5);
        let whats = d.whats();
        assert_eq!(whats, vec![("source queues failing: connection refused".into(), false), ("source queues recovered".into(), true)]);
    }

    fn alerts(states: &[(&str, crate::model::AlertState, bool)]) -> Observation {
        use crate::model::{AlertRow, AlertmanagerRow, AlertsSnapshot};
        let alerts = states
            .iter()
            .map(|(name, state, silenced)| AlertRow {
                fingerprint: format!("fp-{name}"),
                name: (*name).into(),
                severity: "critical".into(),
                state: *state,
                silenced: *silenced,
                summary: format!("{name} summary"),
                ..AlertRow::default()
            })
            .collect();
        Observation::Alerts(AlertsSnapshot { alertmanagers: vec![AlertmanagerRow::default()], alerts, ..AlertsSnapshot::default() })
    }

    #[test]
    fn a_firing_alert_and_its_resolution_are_two_entries_and_a_silenced_one_none() {
        use crate::model::AlertState::{Active, Suppressed};
        let mut d = Drill::new();
        d.see(alerts(&[]), 3).see(alerts(&[("RedisMasterDown", Active, false), ("Noise", Suppressed, true)]), 6);
        d.see(alerts(&[("Noise", Suppressed, true)]), 6);
        assert_eq!(
            d.whats(),
            vec![
                ("alert RedisMasterDown firing (critical: RedisMasterDown summary)".into(), false),
                ("alert RedisMasterDown resolved".into(), true),
            ]
        );
        assert!(d.said.iter().all(|x| x.source == SourceId::Alerts));
        // Flapping shorter than the fold says nothing; silencing a firing alert ends it as such.
        let mut d = Drill::new();
        for _ in 0..5 {
            d.see(alerts(&[("Flappy", Active, false)]), 1).see(alerts(&[]), 1);
        }
        assert!(d.said.is_empty(), "{:?}", d.whats());
        d.see(alerts(&[("Paged", Active, false)]), 6).see(alerts(&[("Paged", Suppressed, true)]), 6);
        assert_eq!(d.whats()[1], ("alert Paged silenced".into(), true));
    }

    fn check(error: Option<&str>, latency_ms: Option<u64>) -> Observation {
        use crate::model::{AlertsSnapshot, CheckRow};
        let row = CheckRow {
            name: "api".into(),
            target: "https://shop/healthz".into(),
            status: latency_ms.map(|_| 200),
            latency_ms,
            error: error.map(str::to_string),
            slow_ms: 500,
        };
        Observation::Alerts(AlertsSnapshot { checks: vec![row], ..AlertsSnapshot::default() })
    }

    #[test]
    fn a_health_check_failing_slow_and_passing_again_are_entries_of_its_own() {
        let mut d = Drill::new();
        d.see(check(None, Some(20)), 3).see(check(Some("cannot reach https://shop/healthz: refused"), None), 6);
        d.see(check(None, Some(900)), 6).see(check(None, Some(30)), 6);
        assert_eq!(
            d.whats(),
            vec![
                ("check api failing: cannot reach https://shop/healthz: refused".into(), false),
                ("check api slow: 200 in 900ms, over its slow_ms 500ms".into(), false),
                ("check api passes again (https://shop/healthz 200 in 30ms)".into(), true),
            ]
        );
        assert!(d.said.iter().all(|x| x.source == SourceId::Alerts));
    }

    #[test]
    fn a_crash_loop_running_between_back_offs_is_one_incident_not_a_flap() {
        let mut d = Drill::new();
        d.see(pods(Some("CrashLoopBackOff")), 6);
        // Between restarts the container runs for a moment; it restarted seconds ago.
        let mut running =
            PodRow { namespace: "shop".into(), name: "api-1".into(), phase: "Running".into(), restarts: 8, ..PodRow::default() };
        running.last_restart = Some(t(d.clock));
        d.see(Observation::Pods(PodsSnapshot { pods: vec![running], ..PodsSnapshot::default() }), 6);
        d.see(pods(Some("CrashLoopBackOff")), 6);
        let began = d.whats().iter().filter(|(_, recovered)| !recovered).count();
        let ended = d.whats().iter().filter(|(_, recovered)| *recovered).count();
        assert_eq!((began, ended), (1, 0), "{:?}", d.whats());
    }

    #[test]
    fn the_first_back_off_after_one_restart_is_still_the_same_crash_loop() {
        // Seen in the lab: CrashLoopBackOff with 1 restart, then running for a few seconds.
        let mut d = Drill::new();
        let mut looping = PodRow {
            namespace: "shop".into(),
            name: "api-1".into(),
            phase: "Running".into(),
            restarts: 1,
            reason: Some("CrashLoopBackOff".into()),
            ..PodRow::default()
        };
        looping.last_restart = Some(t(d.clock));
        d.see(Observation::Pods(PodsSnapshot { pods: vec![looping.clone()], ..PodsSnapshot::default() }), 6);
        let running = PodRow { reason: None, ..looping.clone() };
        d.see(Observation::Pods(PodsSnapshot { pods: vec![running.clone()], ..PodsSnapshot::default() }), 8);
        let began = d.whats().iter().filter(|(_, recovered)| !recovered).count();
        assert_eq!((began, d.whats().len()), (1, 1), "{:?}", d.whats());
        // Two quiet minutes later it is over: one end.
        d.clock += 180;
        d.see(Observation::Pods(PodsSnapshot { pods: vec![running], ..PodsSnapshot::default() }), 6);
        assert_eq!(d.whats().len(), 2, "{:?}", d.whats());
        assert!(d.whats()[1].1);
    }

    #[test]
    fn a_service_losing_its_ready_endpoints_is_one_entry_and_its_recovery_another() {
        let svc = |ready, not_ready| {
            let row = crate::model::ServiceRow {
                namespace: "shop".into(),
                name: "api".into(),
                selector: true,
                ready,
                not_ready,
                ..Default::default()
            };
            Observation::Pods(PodsSnapshot { services: vec![row], ..PodsSnapshot::default() })
        };
        let mut d = Drill::new();
        d.see(svc(3, 0), 3).see(svc(2, 1), 6).see(svc(0, 3), 6).see(svc(3, 0), 6);
        let services: Vec<(String, bool)> = d.whats().into_iter().filter(|(w, _)| w.starts_with("service shop/api")).collect();
        assert_eq!(
            services,
            [
                ("service shop/api short of ready endpoints (2 of 3 endpoints ready)".to_string(), false),
                ("service shop/api has no ready endpoint: it serves nothing (0 of 3 endpoints ready)".to_string(), false),
                ("service shop/api has every endpoint ready again (3 of 3 endpoints ready)".to_string(), true),
            ]
        );
    }
}
