//! Verdicts: every threshold of sitrep.toml is compared here and nowhere else. Panes colour by a
//! `Level`, the summary lists by it, the detector tracks its transitions and triage reports it.

use super::{BackupKind, BackupsSnapshot, DeploymentRow, PodRow, ReplicationSnapshot, SentinelSnapshot};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Alert thresholds and recovery targets. Defaults cite the runbook they come from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    /// Disaster recovery plan: "Recovery Point Objective: 5 minutes".
    pub rpo_secs: u64,
    /// Disaster recovery plan: "Recovery Time Objective: 15 minutes".
    pub rto_secs: u64,
    /// Disaster recovery plan, PostgreSQL: "RTO Target: 5 minutes".
    pub postgres_rto_secs: u64,
    /// Disaster recovery plan, Redis: "RTO Target: 2 minutes".
    pub redis_rto_secs: u64,
    /// Production runbook, "Signal Processing Lag": warning 30s.
    pub lag_warn_secs: u64,
    /// Production runbook, "Signal Processing Lag": critical 60s.
    pub lag_crit_secs: u64,
    /// One WAL segment.
    pub lag_warn_bytes: u64,
    pub queue_depth_warn: u64,
    pub queue_depth_crit: u64,
    pub restarts_warn: u32,
    /// Production runbook, "Database Connections": warning 80% (of max_connections, per member).
    pub connections_warn_pct: u32,
    /// Production runbook, "Database Connections": critical 90%.
    pub connections_crit_pct: u32,
    /// A statement running, or a transaction left open, this long on any member. sitrep's own
    /// default: the Production runbook's "Response Time (p95)" is 1s warning, 2s critical, and
    /// sends the reader to "Check slow queries"; one minute is far past any request.
    pub query_warn_secs: u64,
    pub query_crit_secs: u64,
    /// Production runbook, "Memory Usage": warning 80% (the Redis master's used_memory against
    /// its maxmemory; not judged without a maxmemory).
    pub redis_memory_warn_pct: u32,
    /// Production runbook, "Memory Usage": critical 90%.
    pub redis_memory_crit_pct: u32,
    /// Production runbook, "Cache Hit Rate": warning under 70%, critical under 50%. Off unless
    /// set: on a Celery broker most lookups are workers polling empty queues, so a low rate
    /// there is normal; set both for a Redis that serves as a cache.
    pub cache_hit_warn_pct: Option<u32>,
    pub cache_hit_crit_pct: Option<u32>,
    /// Production runbook, "CPU Usage": warning 70% ("scale horizontally"). Of a pod's CPU request
    /// (as an HPA measures it), else of its limit; of a node's allocatable CPU.
    pub cpu_warn_pct: u32,
    /// Production runbook, "CPU Usage": critical 85%.
    pub cpu_crit_pct: u32,
    /// Production runbook, "Memory Usage": warning 80% ("scale vertically"). Of a pod's memory
    /// limit (where the OOM killer acts; a pod without one is not judged); of a node's allocatable.
    pub memory_warn_pct: u32,
    /// Production runbook, "Memory Usage": critical 90%.
    pub memory_crit_pct: u32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            rpo_secs: 300,
            rto_secs: 900,
            postgres_rto_secs: 300,
            redis_rto_secs: 120,
            lag_warn_secs: 30,
            lag_crit_secs: 60,
            lag_warn_bytes: 16 * 1024 * 1024,
            queue_depth_warn: 1000,
            queue_depth_crit: 10_000,
            restarts_warn: 3,
            connections_warn_pct: 80,
            connections_crit_pct: 90,
            query_warn_secs: 60,
            query_crit_secs: 300,
            redis_memory_warn_pct: 80,
            redis_memory_crit_pct: 90,
            cache_hit_warn_pct: None,
            cache_hit_crit_pct: None,
            cpu_warn_pct: 70,
            cpu_crit_pct: 85,
            memory_warn_pct: 80,
            memory_crit_pct: 90,
        }
    }
}

impl Thresholds {
    /// Pairs of limits in the wrong order, as (key, what is wrong), for `sitrep check`.
    pub fn inconsistencies(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if self.lag_warn_secs > self.lag_crit_secs {
            out.push(("lag_warn_secs", "lag_warn_secs is above lag_crit_secs".to_string()));
        }
        if self.queue_depth_warn > self.queue_depth_crit {
            out.push(("queue_depth_warn", "queue_depth_warn is above queue_depth_crit".to_string()));
        }
        if self.connections_warn_pct > self.connections_crit_pct {
            out.push(("connections_warn_pct", "connections_warn_pct is above connections_crit_pct".to_string()));
        }
        if self.connections_crit_pct > 100 {
            out.push(("connections_crit_pct", "connections_crit_pct is above 100 (a percentage of max_connections)".to_string()));
        }
        if self.query_warn_secs > self.query_crit_secs {
            out.push(("query_warn_secs", "query_warn_secs is above query_crit_secs".to_string()));
        }
        if self.cpu_warn_pct > self.cpu_crit_pct {
            out.push(("cpu_warn_pct", "cpu_warn_pct is above cpu_crit_pct".to_string()));
        }
        if self.memory_warn_pct > self.memory_crit_pct {
            out.push(("memory_warn_pct", "memory_warn_pct is above memory_crit_pct".to_string()));
        }
        if self.redis_memory_warn_pct > self.redis_memory_crit_pct {
            out.push(("redis_memory_warn_pct", "redis_memory_warn_pct is above redis_memory_crit_pct".to_string()));
        }
        if let (Some(warn), Some(crit)) = (self.cache_hit_warn_pct, self.cache_hit_crit_pct)
            && warn < crit
        {
            out.push(("cache_hit_warn_pct", "cache_hit_warn_pct is below cache_hit_crit_pct (a hit rate alarms as it falls)".to_string()));
        }
        out
    }
}

/// How alarming a reading is. Ordered: `Crit` is the worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub enum Level {
    #[default]
    Ok,
    Warn,
    Crit,
}

impl Level {
    /// The detector's state name for this level (kept as the words the timeline always used).
    pub fn word(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warn => "warning",
            Level::Crit => "critical",
        }
    }

    pub fn is_alarm(self) -> bool {
        self != Level::Ok
    }
}

/// A reading at or over a limit has reached it.
fn over(value: f64, limit: u64) -> bool {
    value >= limit as f64
}

/// Replication lag of one standby (or the worst): seconds from its feedback, bytes behind the
/// leader. A frozen standby sends no feedback, so its seconds stand still while its bytes grow:
/// either one counts.
pub fn lag(t: &Thresholds, secs: Option<f64>, bytes: Option<u64>) -> Level {
    let secs = secs.unwrap_or(0.0);
    let bytes = bytes.unwrap_or(0);
    if over(secs, t.lag_crit_secs) {
        Level::Crit
    } else if over(secs, t.lag_warn_secs) || bytes >= t.lag_warn_bytes {
        Level::Warn
    } else {
        Level::Ok
    }
}

/// A queue's depth alone (what the detector tracks and triage reports).
pub fn queue_depth(t: &Thresholds, depth: u64) -> Level {
    if depth >= t.queue_depth_crit {
        Level::Crit
    } else if depth >= t.queue_depth_warn {
        Level::Warn
    } else {
        Level::Ok
    }
}

/// Messages per minute beyond which a queue counts as growing or draining (below it: steady).
const STEADY_PER_MIN: f64 = 0.5;

/// How a queue's depth moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trend {
    Growing,
    Draining,
    Steady,
    Unknown,
}

pub fn trend(rate_per_min: Option<f64>) -> Trend {
    match rate_per_min {
        Some(r) if r > STEADY_PER_MIN => Trend::Growing,
        Some(r) if r < -STEADY_PER_MIN => Trend::Draining,
        Some(_) => Trend::Steady,
        None => Trend::Unknown,
    }
}

/// A queue row as the panes colour it: its depth's level, and at least a warning while it grows.
pub fn queue(t: &Thresholds, depth: u64, rate_per_min: Option<f64>) -> Level {
    let growing = if trend(rate_per_min) == Trend::Growing { Level::Warn } else { Level::Ok };
    queue_depth(t, depth).max(growing)
}

/// Whether a backup kind is judged against the RPO: what restores to "now" (WAL and dumps); base
/// backups and snapshots are taken less often.
pub fn judged_by_rpo(kind: BackupKind) -> bool {
    matches!(kind, BackupKind::Wal | BackupKind::Dump)
}

/// The age of the newest backup of a kind against the RPO: older than the objective is a breach.
pub fn backup_age(t: &Thresholds, age_secs: i64) -> Level {
    if age_secs > t.rpo_secs as i64 { Level::Crit } else { Level::Ok }
}

/// How far ahead of our clock a backup's time may be before it is future-dated (clock skew).
pub const FUTURE_SKEW_SECS: i64 = 60;

/// A backup dated beyond the skew ahead of now: its time is false, so it protects nothing we can
/// place; it is flagged, never counted as fresh.
pub fn future_dated(at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    (at - now).num_seconds() > FUTURE_SKEW_SECS
}

/// The future-dated items of the inventory.
pub fn future_items(snap: &BackupsSnapshot, now: DateTime<Utc>) -> impl Iterator<Item = &super::BackupItem> {
    snap.items.iter().filter(move |i| future_dated(i.at, now))
}

/// The newest item of a kind that can protect data (not future-dated).
pub fn newest_protecting(snap: &BackupsSnapshot, kind: BackupKind, now: DateTime<Utc>) -> Option<&super::BackupItem> {
    snap.of_kind(kind).filter(|i| !future_dated(i.at, now)).max_by(|a, b| (a.at, &a.key).cmp(&(b.at, &b.key)))
}

/// One backup kind's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KindVerdict {
    /// None of this kind in the inventory (future-dated ones do not count).
    Missing,
    /// The newest is `age_secs` old; `level` is `Ok` for kinds not judged by the RPO.
    Newest { at: DateTime<Utc>, age_secs: i64, level: Level },
}

pub fn backup_kind(t: &Thresholds, snap: &BackupsSnapshot, kind: BackupKind, now: DateTime<Utc>) -> KindVerdict {
    match newest_protecting(snap, kind, now) {
        None => KindVerdict::Missing,
        Some(item) => {
            let age_secs = (now - item.at).num_seconds();
            let level = if judged_by_rpo(kind) && snap.expects(kind) { backup_age(t, age_secs) } else { Level::Ok };
            KindVerdict::Newest { at: item.at, age_secs, level }
        }
    }
}

/// The kinds the estate is configured to keep (`[s3] kinds`) of which the inventory holds none
/// that protects data (future-dated ones do not count): each is a finding, in pane, summary,
/// detector and triage alike. Kinds the estate does not use are never missing.
pub fn missing_kinds(snap: &BackupsSnapshot, now: DateTime<Utc>) -> Vec<BackupKind> {
    BackupKind::ALL.into_iter().filter(|k| snap.expects(*k) && newest_protecting(snap, *k, now).is_none()).collect()
}

/// The backups as a whole: an RPO breach when what restores to a point and the estate keeps
/// (archived WAL for a PITR setup, dumps for a dump setup; both when it keeps both) is missing or
/// older than the objective. With neither kept, nothing restores to a point: a breach.
pub fn rpo_breached(t: &Thresholds, snap: &BackupsSnapshot, now: DateTime<Utc>) -> bool {
    let judged: Vec<BackupKind> = BackupKind::ALL.into_iter().filter(|k| judged_by_rpo(*k) && snap.expects(*k)).collect();
    judged.is_empty()
        || judged.into_iter().any(|kind| match backup_kind(t, snap, kind, now) {
            KindVerdict::Missing => true,
            KindVerdict::Newest { level, .. } => level.is_alarm(),
        })
}

/// Every backup source, each judged on its own: the worst of them.
pub fn backups(t: &Thresholds, all: &super::BackupSources, now: DateTime<Utc>) -> Level {
    all.iter().map(|s| backup_source(t, s, now)).max().unwrap_or_default()
}

/// One backup source: critical when it cannot be read just now (its last items are not proof),
/// on an RPO breach, a WAL gap, a future-dated item or a kept kind that is missing (a PITR estate
/// without its base backup cannot restore at all).
pub fn backup_source(t: &Thresholds, snap: &BackupsSnapshot, now: DateTime<Utc>) -> Level {
    if snap.error.is_some()
        || rpo_breached(t, snap, now)
        || !snap.wal_gaps.is_empty()
        || future_items(snap, now).next().is_some()
        || !missing_kinds(snap, now).is_empty()
    {
        Level::Crit
    } else {
        Level::Ok
    }
}

/// Whether a pod restarted often enough to be named in triage.
pub fn restarts_high(t: &Thresholds, restarts: u32) -> bool {
    restarts >= t.restarts_warn
}

/// A pod: a container waiting with a reason (CrashLoopBackOff, ImagePullBackOff…) is critical,
/// one not ready is a warning.
pub fn pod(p: &PodRow) -> Level {
    if p.reason.is_some() {
        Level::Crit
    } else if !p.is_healthy() {
        Level::Warn
    } else {
        Level::Ok
    }
}

/// A Sentinel-known replica that could take over without losing writes: linked, not down or
/// disconnected, and within `max_lag_bytes` of its master.
pub fn replica_in_sync(r: &crate::model::sentinel::ReplicaRow, max_lag_bytes: u64) -> bool {
    !r.flags.contains("s_down")
        && !r.flags.contains("disconnected")
        && r.link_status == "ok"
        && r.lag_bytes.is_some_and(|l| u64::try_from(l).is_ok_and(|l| l <= max_lag_bytes))
}

/// Lost redundancy in kube: a deployment with fewer available pods than it wants still serves, but
/// one more failure is an outage (the pane, triage and the detector all ask this).
pub fn capacity_short(d: &DeploymentRow) -> bool {
    d.desired > 0 && d.available < d.desired
}

/// A deployment's rollout: stalled is critical, still progressing a warning.
pub fn rollout(d: &DeploymentRow) -> Level {
    if d.rollout == "complete" {
        Level::Ok
    } else if d.rollout.starts_with("stalled") {
        Level::Crit
    } else {
        Level::Warn
    }
}

/// What a member's own answer says against what Patroni says: each member is judged by its own
/// SQL reading, whatever another view claims (a frozen leader is still "running" in Patroni's DCS).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum MemberAlarm {
    /// More than one member answers `pg_is_in_recovery() = false`: two primaries take writes.
    SplitBrain(Vec<String>),
    /// The member Patroni names leader does not answer SQL, or answers as a replica.
    LeaderUnanswering { name: String, error: String },
    /// A member does not answer SQL (lost redundancy when it is not the leader).
    MemberDown { name: String, error: String },
}

impl MemberAlarm {
    pub fn level(&self) -> Level {
        match self {
            MemberAlarm::SplitBrain(_) | MemberAlarm::LeaderUnanswering { .. } => Level::Crit,
            MemberAlarm::MemberDown { .. } => Level::Warn,
        }
    }

    /// Words for the summary strip and the timeline.
    pub fn words(&self) -> String {
        match self {
            MemberAlarm::SplitBrain(names) => format!("SPLIT BRAIN: {} all answer as primary", names.join(", ")),
            MemberAlarm::LeaderUnanswering { name, error } => format!("LEADER {name} NOT ANSWERING SQL ({error})"),
            MemberAlarm::MemberDown { name, error } => format!("member {name} not answering SQL ({error})"),
        }
    }
}

pub fn member_alarms(s: &ReplicationSnapshot) -> Vec<MemberAlarm> {
    let mut out = Vec::new();
    let primaries: Vec<String> = s.members.iter().filter(|m| m.reachable && !m.in_recovery).map(|m| m.name.clone()).collect();
    if primaries.len() > 1 {
        out.push(MemberAlarm::SplitBrain(primaries));
    }
    let patroni_leader = s.patroni.iter().find(|m| m.role == "leader" || m.role == "master").map(|m| m.name.as_str());
    for m in &s.members {
        let error = m.error.clone().unwrap_or_else(|| "no answer".into());
        if Some(m.name.as_str()) == patroni_leader && (!m.reachable || m.in_recovery) {
            let error = if m.reachable { "it answers as a replica".to_string() } else { error };
            out.push(MemberAlarm::LeaderUnanswering { name: m.name.clone(), error });
        } else if !m.reachable {
            out.push(MemberAlarm::MemberDown { name: m.name.clone(), error });
        }
    }
    out
}

/// The Redis master's memory against its maxmemory (Ok without a limit).
pub fn redis_memory(t: &Thresholds, h: &super::MasterHealth) -> Level {
    h.memory_percent().map_or(Level::Ok, |pct| share_level(pct, t.redis_memory_warn_pct, t.redis_memory_crit_pct))
}

/// A share of a limit against its warning and critical percentages, each reached at its value:
/// every "N% of the limit" threshold is compared here.
pub fn share_level(pct: u32, warn: u32, crit: u32) -> Level {
    if pct >= crit {
        Level::Crit
    } else if pct >= warn {
        Level::Warn
    } else {
        Level::Ok
    }
}

/// `used` as a whole percentage of `of` (None without a positive `of`).
pub fn percent_of(used: u64, of: Option<u64>) -> Option<u32> {
    of.filter(|o| *o > 0).map(|o| (u128::from(used) * 100 / u128::from(o)).min(u128::from(u32::MAX)) as u32)
}

/// One resource of a pod or node against its threshold: the share and its level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Share {
    pub pct: u32,
    pub level: Level,
    /// What the share is of: "limit", "request" or "allocatable".
    pub of: &'static str,
}

/// A pod's CPU: of its request, as an HPA's CPU utilization is (the High-Availability
/// Infrastructure Guide scales at 70 %, the runbook's warning); of its limit without a request.
pub fn pod_cpu(t: &Thresholds, p: &PodRow) -> Option<Share> {
    let used = p.usage?.cpu_m;
    let (of, base) = match (p.requests.cpu_m, p.limits.cpu_m) {
        (Some(request), _) => ("request", request),
        (None, Some(limit)) => ("limit", limit),
        (None, None) => return None,
    };
    let pct = percent_of(used, Some(base))?;
    Some(Share { pct, level: share_level(pct, t.cpu_warn_pct, t.cpu_crit_pct), of })
}

/// A pod's memory, of its limit (the OOM killer's line); without a limit it is not judged.
pub fn pod_memory(t: &Thresholds, p: &PodRow) -> Option<Share> {
    let pct = percent_of(p.usage?.memory, p.limits.memory)?;
    Some(Share { pct, level: share_level(pct, t.memory_warn_pct, t.memory_crit_pct), of: "limit" })
}

/// A node's CPU and memory, each of its allocatable.
pub fn node_usage(t: &Thresholds, n: &super::NodeRow) -> (Option<Share>, Option<Share>) {
    let Some(u) = n.usage else { return (None, None) };
    let cpu = percent_of(u.cpu_m, n.allocatable.cpu_m).map(|pct| Share {
        pct,
        level: share_level(pct, t.cpu_warn_pct, t.cpu_crit_pct),
        of: "allocatable",
    });
    let memory = percent_of(u.memory, n.allocatable.memory).map(|pct| Share {
        pct,
        level: share_level(pct, t.memory_warn_pct, t.memory_crit_pct),
        of: "allocatable",
    });
    (cpu, memory)
}

/// The worst of a pod's CPU and memory shares.
pub fn pod_usage(t: &Thresholds, p: &PodRow) -> Level {
    [pod_cpu(t, p), pod_memory(t, p)].iter().flatten().map(|s| s.level).max().unwrap_or_default()
}

/// What pod and node usage says that needs a human: a resource near its line, or a container the
/// OOM killer ended (now or at its last end).
#[derive(Debug, Clone, PartialEq)]
pub enum UsageAlarm {
    /// `what` is "pod shop/api-1" or "node node-1"; `resource` "CPU" or "memory".
    Near {
        what: String,
        resource: &'static str,
        share: Share,
        used: String,
    },
    OomKilled {
        pod: String,
    },
}

impl UsageAlarm {
    pub fn level(&self) -> Level {
        match self {
            UsageAlarm::Near { share, .. } => share.level,
            UsageAlarm::OomKilled { .. } => Level::Warn,
        }
    }

    /// The pod or node it is about ("pod shop/api-1"): one detector entry each, per resource.
    pub fn key(&self) -> String {
        match self {
            UsageAlarm::Near { what, resource, .. } => format!("{what} {resource}"),
            UsageAlarm::OomKilled { pod } => format!("pod {pod} OOMKilled"),
        }
    }

    /// Words for the pane, the summary strip, triage and the timeline.
    pub fn words(&self) -> String {
        match self {
            UsageAlarm::Near { what, resource, share, used } => format!("{what} {resource} {used}, {}% of its {}", share.pct, share.of),
            UsageAlarm::OomKilled { pod } => format!("pod {pod}: a container was OOMKilled (killed at its memory limit)"),
        }
    }
}

/// Every usage alarm of the snapshot, worst first: pods over their CPU or memory line, nodes over
/// their allocatable line, and running pods whose last container the OOM killer ended.
pub fn usage_alarms(t: &Thresholds, s: &super::PodsSnapshot) -> Vec<UsageAlarm> {
    let mut out = Vec::new();
    for p in &s.pods {
        push_near(&mut out, || format!("pod {}/{}", p.namespace, p.name), p.usage, [pod_cpu(t, p), pod_memory(t, p)]);
        // A pod down now (CrashLoopBackOff, OOMKilled) is judged as a pod already; this is the
        // one running again after the OOM killer took its last container.
        if p.reason.is_none() && p.oom_killed() {
            out.push(UsageAlarm::OomKilled { pod: format!("{}/{}", p.namespace, p.name) });
        }
    }
    for n in &s.nodes {
        let (cpu, memory) = node_usage(t, n);
        push_near(&mut out, || format!("node {}", n.name), n.usage, [cpu, memory]);
    }
    out.sort_by_key(|a| std::cmp::Reverse(a.level()));
    out
}

/// The CPU and memory shares of one pod or node that are alarms. Its words are made only then:
/// this runs on every frame, over every pod.
fn push_near(out: &mut Vec<UsageAlarm>, what: impl Fn() -> String, usage: Option<super::Usage>, [cpu, memory]: [Option<Share>; 2]) {
    let usage = usage.unwrap_or_default();
    if let Some(share) = cpu.filter(|s| s.level.is_alarm()) {
        out.push(UsageAlarm::Near { what: what(), resource: "CPU", share, used: cpu_words(usage.cpu_m) });
    }
    if let Some(share) = memory.filter(|s| s.level.is_alarm()) {
        out.push(UsageAlarm::Near { what: what(), resource: "memory", share, used: memory_words(usage.memory) });
    }
}

/// CPU as `kubectl top` prints it: millicores.
pub fn cpu_words(millis: u64) -> String {
    format!("{millis}m")
}

/// Memory as `kubectl top` prints it: whole MiB.
pub fn memory_words(bytes: u64) -> String {
    format!("{}Mi", bytes >> 20)
}

/// The master's hit rate since the last reading, when `[thresholds] cache_hit_*_pct` are set.
pub fn cache_hits(t: &Thresholds, h: &super::MasterHealth) -> Level {
    let Some(rate) = h.hit_rate else { return Level::Ok };
    let pct = rate * 100.0;
    match (t.cache_hit_warn_pct, t.cache_hit_crit_pct) {
        (_, Some(crit)) if pct < f64::from(crit) => Level::Crit,
        (Some(warn), _) if pct < f64::from(warn) => Level::Warn,
        _ => Level::Ok,
    }
}

/// The Redis master's own health, as words for the pane, the summary and triage.
pub fn redis_health_alarms(t: &Thresholds, s: &SentinelSnapshot) -> Vec<(Level, String)> {
    let Some(h) = &s.master_health else { return Vec::new() };
    let mut out = Vec::new();
    let memory = redis_memory(t, h);
    if memory.is_alarm() {
        out.push((
            memory,
            format!(
                "Redis master {} memory {} of maxmemory {} ({}%, policy {})",
                h.addr,
                crate::human::bytes(h.used_memory),
                crate::human::bytes(h.maxmemory),
                h.memory_percent().unwrap_or(0),
                h.maxmemory_policy
            ),
        ));
    }
    let hits = cache_hits(t, h);
    if hits.is_alarm() {
        out.push((
            hits,
            format!("Redis master {} cache hit rate {:.0}% since the last reading", h.addr, h.hit_rate.unwrap_or(0.0) * 100.0),
        ));
    }
    out.sort_by_key(|(l, _)| std::cmp::Reverse(*l));
    out
}

/// A member's connections as a share of its max_connections.
pub fn connections(t: &Thresholds, load: &super::MemberLoad) -> Level {
    share_level(load.percent(), t.connections_warn_pct, t.connections_crit_pct)
}

/// A statement running (or a transaction open) for `secs`.
pub fn long_query(t: &Thresholds, secs: f64) -> Level {
    if secs >= t.query_crit_secs as f64 {
        Level::Crit
    } else if secs >= t.query_warn_secs as f64 {
        Level::Warn
    } else {
        Level::Ok
    }
}

/// What a member's own pg_stat_activity says that needs a human.
#[derive(Debug, Clone, PartialEq)]
pub enum LoadAlarm {
    /// Connections near max_connections: new clients are about to be refused.
    Connections { name: String, level: Level, used: u32, max: u32, pct: u32 },
    /// A statement running, or a transaction left open, past the query thresholds.
    LongQuery { name: String, level: Level, query: super::LongQuery },
}

impl LoadAlarm {
    pub fn level(&self) -> Level {
        match self {
            LoadAlarm::Connections { level, .. } | LoadAlarm::LongQuery { level, .. } => *level,
        }
    }

    pub fn member(&self) -> &str {
        match self {
            LoadAlarm::Connections { name, .. } | LoadAlarm::LongQuery { name, .. } => name,
        }
    }

    /// Words for the pane, the summary strip and triage.
    pub fn words(&self) -> String {
        match self {
            LoadAlarm::Connections { name, used, max, pct, .. } => {
                format!("{name}: {used} of {max} connections ({pct}%)")
            }
            LoadAlarm::LongQuery { name, query, .. } => format!(
                "{name}: pid {} {} for {} ({}): {}",
                query.pid,
                query.state,
                crate::human::duration_exact(query.secs as i64),
                query.user,
                query.query
            ),
        }
    }
}

/// Every member's load alarms, worst first.
pub fn load_alarms(t: &Thresholds, s: &ReplicationSnapshot) -> Vec<LoadAlarm> {
    let mut out = Vec::new();
    for m in s.members.iter().filter(|m| m.reachable) {
        let Some(load) = &m.load else { continue };
        let level = connections(t, load);
        if level.is_alarm() {
            let (used, max, pct) = (load.connections, load.max_connections, load.percent());
            out.push(LoadAlarm::Connections { name: m.name.clone(), level, used, max, pct });
        }
        if let Some(q) = &load.longest {
            let level = long_query(t, q.secs);
            if level.is_alarm() {
                out.push(LoadAlarm::LongQuery { name: m.name.clone(), level, query: q.clone() });
            }
        }
    }
    out.sort_by_key(|a| std::cmp::Reverse(a.level()));
    out
}

/// Replication as a whole.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicationVerdict {
    pub level: Level,
    pub no_leader: bool,
    pub archive_failing: bool,
    pub no_standby: bool,
    /// The worst standby's lag level.
    pub lag: Level,
    pub members: Vec<MemberAlarm>,
    /// Connections and long queries, by each member's own pg_stat_activity.
    pub load: Vec<LoadAlarm>,
}

pub fn replication(t: &Thresholds, s: &ReplicationSnapshot) -> ReplicationVerdict {
    let no_leader = s.leader().is_none();
    let archive_failing = s.archiver.as_ref().is_some_and(|a| a.is_failing());
    let no_standby = s.standbys.is_empty();
    let lag = lag(t, s.max_replay_lag_secs(), s.max_replay_lag_bytes());
    let members = member_alarms(s);
    let load = load_alarms(t, s);
    let level = if no_leader || archive_failing {
        Level::Crit
    } else {
        let worst_member = members.iter().map(MemberAlarm::level).max().unwrap_or_default();
        let worst_load = load.iter().map(LoadAlarm::level).max().unwrap_or_default();
        lag.max(if no_standby { Level::Warn } else { Level::Ok }).max(worst_member).max(worst_load)
    };
    ReplicationVerdict { level, no_leader, archive_failing, no_standby, lag, members, load }
}

/// What Sentinel reports that needs a human.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SentinelAlarm {
    NoMaster,
    Disagree,
    MasterODown,
    MasterSDown,
    FailoverInProgress,
    ReplicaDown,
    QuorumUnreachable,
    SentinelUnreachable,
}

impl SentinelAlarm {
    pub fn level(self) -> Level {
        match self {
            SentinelAlarm::NoMaster
            | SentinelAlarm::Disagree
            | SentinelAlarm::MasterODown
            | SentinelAlarm::ReplicaDown
            | SentinelAlarm::QuorumUnreachable => Level::Crit,
            SentinelAlarm::MasterSDown | SentinelAlarm::FailoverInProgress | SentinelAlarm::SentinelUnreachable => Level::Warn,
        }
    }

    /// The words the summary strip shows (None: shown elsewhere, not in the headline).
    pub fn headline(self) -> Option<&'static str> {
        match self {
            SentinelAlarm::Disagree => Some("SENTINELS DISAGREE"),
            SentinelAlarm::MasterODown => Some("MASTER o_down"),
            SentinelAlarm::FailoverInProgress => Some("FAILOVER IN PROGRESS"),
            SentinelAlarm::ReplicaDown => Some("REPLICA DOWN"),
            _ => None,
        }
    }
}

/// A replica Sentinel lists whose link is not up, or that Sentinel flags down.
pub fn replica_down(r: &super::ReplicaRow) -> bool {
    r.link_status != "ok" || r.flags.contains("down")
}

pub fn sentinel_alarms(s: &SentinelSnapshot) -> Vec<SentinelAlarm> {
    let mut out = Vec::new();
    if s.agreed_master().is_none() {
        out.push(SentinelAlarm::NoMaster);
    }
    if s.disagree() {
        out.push(SentinelAlarm::Disagree);
    }
    if let Some(m) = &s.master {
        if m.o_down() {
            out.push(SentinelAlarm::MasterODown);
        } else if m.s_down() {
            out.push(SentinelAlarm::MasterSDown);
        }
        if m.failover_in_progress() {
            out.push(SentinelAlarm::FailoverInProgress);
        }
        if !m.quorum_reachable() {
            out.push(SentinelAlarm::QuorumUnreachable);
        }
    }
    if s.replicas.iter().any(replica_down) {
        out.push(SentinelAlarm::ReplicaDown);
    }
    if s.reachable() < s.sentinels.len() {
        out.push(SentinelAlarm::SentinelUnreachable);
    }
    out
}

pub fn sentinel(t: &Thresholds, s: &SentinelSnapshot) -> Level {
    let health = redis_health_alarms(t, s).into_iter().map(|(l, _)| l).max().unwrap_or_default();
    sentinel_alarms(s).into_iter().map(SentinelAlarm::level).max().unwrap_or_default().max(health)
}

/// An alert's level from its `severity` label: what pages is critical, a warning warns, info and
/// none are news. A firing alert with a severity sitrep does not know still warns (someone wrote
/// the rule to be seen); a silenced or inhibited one is muted whatever its severity.
pub fn alert(a: &super::AlertRow) -> Level {
    if a.state == super::AlertState::Suppressed {
        return Level::Ok;
    }
    match a.severity.to_ascii_lowercase().as_str() {
        "critical" | "crit" | "page" | "error" | "high" | "p1" => Level::Crit,
        "info" | "informational" | "none" | "low" => Level::Ok,
        _ => Level::Warn,
    }
}

/// A health check's level: failing is critical (the runbooks' `curl -f` failed: users see it),
/// an answer slower than its `slow_ms` warns.
pub fn check(c: &super::CheckRow) -> Level {
    if !c.passed() {
        return Level::Crit;
    }
    match c.latency_ms {
        Some(ms) if c.slow_ms > 0 && ms > c.slow_ms => Level::Warn,
        _ => Level::Ok,
    }
}

/// The alerts as a whole: the worst alert or health check, and at least a warning while an
/// Alertmanager does not answer (what it would say is unknown).
pub fn alerts(s: &super::AlertsSnapshot) -> Level {
    let worst = s.alerts.iter().map(alert).chain(s.checks.iter().map(check)).max().unwrap_or_default();
    if s.reachable() < s.alertmanagers.len() { worst.max(Level::Warn) } else { worst }
}

/// How alarming a source's data is as a whole: the summary strip colours its line by it, and a
/// polled source is read at its full pace while it alarms (`sources::poll`). None before the
/// source's first answer.
pub fn source(model: &super::Model, t: &Thresholds, source: super::SourceId, now: DateTime<Utc>) -> Option<Level> {
    use super::SourceId;
    Some(match source {
        SourceId::Pods => {
            let s = model.pods.as_ref()?;
            let usage = usage_alarms(t, s).first().map(UsageAlarm::level).unwrap_or_default();
            let scaling = s.autoscalers().iter().map(hpa).max().unwrap_or_default();
            s.pods.iter().map(pod).chain(s.deployments.iter().map(rollout)).max().unwrap_or_default().max(usage).max(scaling)
        }
        SourceId::Replication => replication(t, model.replication.as_ref()?).level,
        SourceId::Sentinel => sentinel(t, model.sentinel.as_ref()?),
        SourceId::Queues => {
            let s = model.queues.as_ref()?;
            let level = s.queues.iter().map(|q| queue(t, q.depth, model.queue_rate(&q.name))).max().unwrap_or_default();
            // A queue that cannot be read may be the one backing up.
            if s.queues.iter().any(|q| q.error.is_some()) { level.max(Level::Warn) } else { level }
        }
        SourceId::Backups => backups(t, model.backups.as_ref()?, now),
        SourceId::Alerts => alerts(model.alerts.as_ref()?),
    })
}

/// Whether an achieved recovery time or data-loss window meets its objective.
pub fn objective_met(target_secs: u64, achieved_secs: i64) -> bool {
    achieved_secs <= target_secs as i64
}

/// A Service that selects pods: none of its endpoints ready is an outage of it (critical), fewer
/// ready than it has a warning. Without a selector its endpoints are the user's: not judged.
pub fn service(s: &super::ServiceRow) -> Level {
    if !s.selector {
        Level::Ok
    } else if s.ready == 0 {
        Level::Crit
    } else if s.ready < s.total() {
        Level::Warn
    } else {
        Level::Ok
    }
}

/// An autoscaler: at its maximum while its pods' CPU is over its target, it can add no capacity
/// and the load is still more than it was sized for (critical); at its maximum within target, one
/// more surge has nowhere to go (warning).
pub fn hpa(h: &super::HpaRow) -> Level {
    let at_max = h.max > h.min && h.current >= h.max;
    let over = matches!((h.cpu_pct, h.cpu_target_pct), (Some(now), Some(target)) if now > target);
    match (at_max, over) {
        (true, true) => Level::Crit,
        (true, false) => Level::Warn,
        _ => Level::Ok,
    }
}

/// A disruption budget that allows no disruption now, over pods it expects: a restart, a drain or
/// a node upgrade would be refused, or would take the service below what it promised (warning).
pub fn pdb(p: &super::PdbRow) -> Level {
    if p.expected > 0 && p.allowed == 0 { Level::Warn } else { Level::Ok }
}

/// A namespace event: a Warning is one, anything else (Normal) is news, not an alarm.
pub fn event(e: &super::KubeEventRow) -> Level {
    if e.kind == "Warning" { Level::Warn } else { Level::Ok }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_autoscaler_with_no_room_left_over_target_is_critical_and_a_budget_allowing_none_a_warning() {
        let h =
            |current, cpu| super::super::HpaRow { min: 2, max: 10, current, cpu_pct: cpu, cpu_target_pct: Some(70), ..Default::default() };
        assert_eq!(hpa(&h(10, Some(131))), Level::Crit);
        assert_eq!(hpa(&h(10, Some(70))), Level::Warn, "at max, within target: one more surge has nowhere to go");
        assert_eq!(hpa(&h(10, None)), Level::Warn, "no reading: at max is still at max");
        assert_eq!(hpa(&h(6, Some(131))), Level::Ok, "room left: it is scaling");
        let fixed = super::super::HpaRow { min: 3, max: 3, current: 3, cpu_pct: Some(90), cpu_target_pct: Some(70), ..Default::default() };
        assert_eq!(hpa(&fixed), Level::Ok, "min = max is a fixed size, not an autoscaler at its end");
        let b = |allowed, expected| super::super::PdbRow { allowed, expected, ..Default::default() };
        assert_eq!(pdb(&b(0, 2)), Level::Warn);
        assert_eq!((pdb(&b(1, 2)), pdb(&b(0, 0))), (Level::Ok, Level::Ok), "no pods expected: nothing to disrupt");
    }

    #[test]
    fn each_limit_is_reached_at_its_value() {
        let t = Thresholds::default();
        assert_eq!(lag(&t, Some(29.9), None), Level::Ok);
        assert_eq!(lag(&t, Some(30.0), None), Level::Warn);
        assert_eq!(lag(&t, Some(60.0), None), Level::Crit);
        assert_eq!(lag(&t, Some(0.0), Some(16 * 1024 * 1024)), Level::Warn);
        assert_eq!(queue_depth(&t, 999), Level::Ok);
        assert_eq!(queue_depth(&t, 1000), Level::Warn);
        assert_eq!(queue_depth(&t, 10_000), Level::Crit);
        assert_eq!(backup_age(&t, 300), Level::Ok, "an age equal to the RPO meets it");
        assert_eq!(backup_age(&t, 301), Level::Crit);
    }

    #[test]
    fn connections_and_long_queries_are_judged_per_member_at_their_limits() {
        use super::super::{LongQuery, MemberLoad, MemberRow};
        let t = Thresholds::default();
        let load = |connections, secs: f64| MemberLoad {
            connections,
            max_connections: 50,
            longest: Some(LongQuery { pid: 42, secs, state: "active".into(), user: "shop".into(), query: "select pg_sleep(600)".into() }),
        };
        assert_eq!(connections(&t, &load(39, 0.0)), Level::Ok, "78% is under the runbook's 80%");
        assert_eq!(connections(&t, &load(40, 0.0)), Level::Warn, "80% is the warning");
        assert_eq!(connections(&t, &load(45, 0.0)), Level::Crit, "90% is critical");
        assert_eq!(connections(&t, &MemberLoad { connections: 1, max_connections: 0, longest: None }), Level::Crit);
        assert_eq!(long_query(&t, 59.9), Level::Ok);
        assert_eq!(long_query(&t, 60.0), Level::Warn);
        assert_eq!(long_query(&t, 300.0), Level::Crit);
        let member = |name: &str, reachable: bool, load: Option<MemberLoad>| MemberRow {
            name: name.into(),
            reachable,
            in_recovery: name != "pg-0",
            load,
            ..MemberRow::default()
        };
        let snap = ReplicationSnapshot {
            members: vec![
                member("pg-0", true, Some(load(41, 30.0))),
                member("pg-1", true, Some(load(3, 400.0))),
                member("pg-2", false, Some(load(50, 900.0))),
            ],
            standbys: vec![super::super::StandbyRow::default()],
            ..ReplicationSnapshot::default()
        };
        let alarms = load_alarms(&t, &snap);
        let words: Vec<String> = alarms.iter().map(LoadAlarm::words).collect();
        assert_eq!(alarms.len(), 2, "an unreachable member's last load is not judged: {words:?}");
        assert_eq!((alarms[0].member(), alarms[0].level()), ("pg-1", Level::Crit), "worst first: {words:?}");
        assert_eq!(words[1], "pg-0: 41 of 50 connections (82%)");
        assert!(words[0].starts_with("pg-1: pid 42 active for 6m 40s (shop): select pg_sleep"), "{words:?}");
        assert_eq!(replication(&t, &snap).level, Level::Crit, "the pane's level holds its worst load alarm");
        let tight = Thresholds { connections_warn_pct: 95, connections_crit_pct: 90, ..t };
        assert_eq!(tight.inconsistencies()[0].0, "connections_warn_pct");
    }

    #[test]
    fn redis_memory_is_judged_against_maxmemory_and_the_hit_rate_only_between_readings_of_one_master() {
        use super::super::MasterHealth;
        let info = "# Memory\r\nused_memory:83886080\r\nmaxmemory:104857600\r\nmaxmemory_policy:noeviction\r\n# Stats\r\nkeyspace_hits:700\r\nkeyspace_misses:300\r\n";
        let h = crate::backends::redis::parse_health("10.0.0.1:6379", info, std::time::Duration::from_millis(3));
        assert_eq!((h.used_memory, h.maxmemory, h.maxmemory_policy.as_str(), h.answered_ms), (80 << 20, 100 << 20, "noeviction", 3));
        let t = Thresholds::default();
        assert_eq!((h.memory_percent(), redis_memory(&t, &h)), (Some(80), Level::Warn));
        assert_eq!(redis_memory(&t, &MasterHealth { maxmemory: 0, ..h.clone() }), Level::Ok, "no limit, nothing to judge");
        assert_eq!(redis_memory(&t, &MasterHealth { used_memory: 95 << 20, ..h.clone() }), Level::Crit);
        let later = MasterHealth { keyspace_hits: 760, keyspace_misses: 340, ..h.clone() };
        assert_eq!(later.hit_rate_since(&h), Some(0.6), "60 hits of 100 lookups in between, not 760 of 1100 since start");
        assert_eq!(h.hit_rate_since(&later), None, "counters going back: a restart");
        assert_eq!(MasterHealth { addr: "10.0.0.2:6379".into(), ..later.clone() }.hit_rate_since(&h), None, "another master");
        assert_eq!(h.hit_rate_since(&h), None, "no lookup in between");
        let judged = MasterHealth { hit_rate: Some(0.6), ..h };
        assert_eq!(cache_hits(&t, &judged), Level::Ok, "off by default: a broker's misses are polls of empty queues");
        let cache = Thresholds { cache_hit_warn_pct: Some(70), cache_hit_crit_pct: Some(50), ..t };
        assert_eq!(cache_hits(&cache, &judged), Level::Warn);
        assert_eq!(cache_hits(&cache, &MasterHealth { hit_rate: Some(0.49), ..judged }), Level::Crit);
    }

    fn item(kind: BackupKind, at: DateTime<Utc>) -> super::super::BackupItem {
        super::super::BackupItem { kind, key: format!("{kind:?}"), at, size: 1 }
    }

    #[test]
    fn a_future_dated_backup_is_flagged_and_never_fresh() {
        let t = Thresholds::default();
        let now = Utc::now();
        let snap = BackupsSnapshot {
            items: vec![
                item(BackupKind::Dump, now - chrono::Duration::hours(2)),
                item(BackupKind::Dump, now + chrono::Duration::minutes(30)),
            ],
            kinds: vec![BackupKind::Dump],
            ..BackupsSnapshot::default()
        };
        assert!(rpo_breached(&t, &snap, now), "the 2 h old dump is the newest that counts");
        assert_eq!(future_items(&snap, now).count(), 1);
        assert_eq!(backup_source(&t, &snap, now), Level::Crit);
        let skewed = BackupsSnapshot { items: vec![item(BackupKind::Dump, now + chrono::Duration::seconds(50))], ..snap.clone() };
        assert!(!rpo_breached(&t, &skewed, now), "within the clock skew it counts");
        let only_future = BackupsSnapshot { items: vec![item(BackupKind::Dump, now + chrono::Duration::minutes(30))], ..snap };
        assert_eq!(backup_kind(&t, &only_future, BackupKind::Dump, now), KindVerdict::Missing);
    }

    #[test]
    fn the_rpo_is_measured_from_wal_for_pitr_and_from_dumps_without_it() {
        let t = Thresholds::default();
        let now = Utc::now();
        let pitr = BackupsSnapshot {
            items: vec![
                item(BackupKind::BaseBackup, now - chrono::Duration::hours(20)),
                item(BackupKind::Wal, now - chrono::Duration::seconds(30)),
            ],
            kinds: vec![BackupKind::BaseBackup, BackupKind::Wal],
            ..BackupsSnapshot::default()
        };
        assert!(!rpo_breached(&t, &pitr, now), "no dump is configured, so none is missing");
        assert!(missing_kinds(&pitr, now).is_empty(), "dumps are not kept, so none is missing");
        assert_eq!(backup_source(&t, &pitr, now), Level::Ok);
        let dump_only = BackupsSnapshot {
            items: vec![item(BackupKind::Dump, now - chrono::Duration::seconds(400))],
            kinds: vec![BackupKind::Dump],
            ..BackupsSnapshot::default()
        };
        assert!(rpo_breached(&t, &dump_only, now));
        let both = BackupsSnapshot { kinds: vec![BackupKind::Wal, BackupKind::Dump], ..dump_only.clone() };
        assert_eq!(missing_kinds(&both, now), vec![BackupKind::Wal], "configured WAL that is missing is a finding");
        assert!(rpo_breached(&t, &both, now), "PITR configured and no WAL: nothing restores to a point");
    }

    #[test]
    fn a_kept_kind_with_nothing_in_the_inventory_is_missing_and_critical_whatever_the_rpo() {
        let t = Thresholds::default();
        let now = Utc::now();
        // WAL fresh, so the RPO is met; the dumps [s3] kinds lists are not there.
        let snap = BackupsSnapshot {
            items: vec![
                item(BackupKind::BaseBackup, now - chrono::Duration::hours(2)),
                item(BackupKind::Wal, now - chrono::Duration::seconds(10)),
            ],
            kinds: vec![BackupKind::BaseBackup, BackupKind::Wal, BackupKind::Dump],
            ..BackupsSnapshot::default()
        };
        assert_eq!(missing_kinds(&snap, now), vec![BackupKind::Dump]);
        assert_eq!(backup_source(&t, &snap, now), Level::Crit);
        // A base backup (not judged by the RPO) that is kept and missing is a finding too.
        let no_base =
            BackupsSnapshot { items: snap.items[1..].to_vec(), kinds: vec![BackupKind::BaseBackup, BackupKind::Wal], ..snap.clone() };
        assert!(!rpo_breached(&t, &no_base, now));
        assert_eq!(missing_kinds(&no_base, now), vec![BackupKind::BaseBackup]);
        assert_eq!(backup_source(&t, &no_base, now), Level::Crit);
        // Only a future-dated one: it protects nothing, so the kind is still missing.
        let future = BackupsSnapshot {
            items: vec![item(BackupKind::Dump, now + chrono::Duration::hours(1))],
            kinds: vec![BackupKind::Dump],
            ..snap.clone()
        };
        assert_eq!(missing_kinds(&future, now), vec![BackupKind::Dump]);
        // Not kept: never missing; found again: no longer missing.
        let unkept = BackupsSnapshot { kinds: vec![BackupKind::BaseBackup, BackupKind::Wal], ..snap.clone() };
        assert!(missing_kinds(&unkept, now).is_empty());
        assert_eq!(backup_source(&t, &unkept, now), Level::Ok);
        let back = BackupsSnapshot { items: [snap.items.clone(), vec![item(BackupKind::Dump, now)]].concat(), ..snap };
        assert!(missing_kinds(&back, now).is_empty());
        assert_eq!(backup_source(&t, &back, now), Level::Ok);
    }

    #[test]
    fn each_member_is_judged_by_its_own_answer_not_by_patroni() {
        use super::super::{MemberRow, PatroniMember};
        let member = |name: &str, reachable, in_recovery| MemberRow {
            name: name.into(),
            reachable,
            in_recovery,
            error: (!reachable).then(|| "timeout".into()),
            ..MemberRow::default()
        };
        let leader = PatroniMember { name: "pg-0".into(), role: "leader".into(), state: "running".into(), ..PatroniMember::default() };
        let frozen = ReplicationSnapshot {
            members: vec![member("pg-0", false, false), member("pg-1", true, true)],
            patroni: vec![leader.clone()],
            ..ReplicationSnapshot::default()
        };
        let v = replication(&Thresholds::default(), &frozen);
        assert_eq!(v.level, Level::Crit);
        assert_eq!(v.members, vec![MemberAlarm::LeaderUnanswering { name: "pg-0".into(), error: "timeout".into() }]);
        let two_primaries = ReplicationSnapshot {
            members: vec![member("pg-0", true, false), member("pg-1", true, false)],
            patroni: vec![leader],
            ..ReplicationSnapshot::default()
        };
        assert_eq!(member_alarms(&two_primaries), vec![MemberAlarm::SplitBrain(vec!["pg-0".into(), "pg-1".into()])]);
    }

    #[test]
    fn an_alert_is_judged_by_its_severity_and_a_silenced_one_is_muted() {
        use super::super::{AlertRow, AlertState, AlertmanagerRow, AlertsSnapshot};
        let row = |severity: &str, state| AlertRow { severity: severity.into(), state, ..AlertRow::default() };
        assert_eq!(alert(&row("critical", AlertState::Active)), Level::Crit);
        assert_eq!(alert(&row("warning", AlertState::Unprocessed)), Level::Warn);
        assert_eq!(alert(&row("", AlertState::Active)), Level::Warn, "no severity still warns");
        assert_eq!(alert(&row("info", AlertState::Active)), Level::Ok);
        assert_eq!(alert(&row("critical", AlertState::Suppressed)), Level::Ok);
        let dead = AlertmanagerRow { url: "http://am-2:9093".into(), error: Some("refused".into()) };
        let snap = AlertsSnapshot {
            alertmanagers: vec![AlertmanagerRow::default(), dead],
            alerts: vec![row("info", AlertState::Active)],
            ..AlertsSnapshot::default()
        };
        assert_eq!(alerts(&snap), Level::Warn, "an unreachable Alertmanager is at least a warning");
    }

    #[test]
    fn a_failing_check_is_critical_and_a_slow_one_warns() {
        use super::super::{AlertsSnapshot, CheckRow};
        let ok = CheckRow { latency_ms: Some(40), slow_ms: 250, ..CheckRow::default() };
        assert_eq!(check(&ok), Level::Ok);
        assert_eq!(check(&CheckRow { latency_ms: Some(251), ..ok.clone() }), Level::Warn);
        assert_eq!(check(&CheckRow { latency_ms: Some(9000), slow_ms: 0, ..ok.clone() }), Level::Ok, "slow_ms 0: never slow");
        let failing = CheckRow { error: Some("503".into()), ..ok.clone() };
        assert_eq!(check(&failing), Level::Crit);
        let snap = AlertsSnapshot { checks: vec![ok, failing], ..AlertsSnapshot::default() };
        assert_eq!(alerts(&snap), Level::Crit, "with no Alertmanager, the checks alone judge the source");
    }

    #[test]
    fn a_growing_queue_is_at_least_a_warning() {
        let t = Thresholds::default();
        assert_eq!(queue(&t, 10, Some(12.0)), Level::Warn);
        assert_eq!(queue(&t, 10, Some(0.2)), Level::Ok);
        assert_eq!(queue(&t, 20_000, Some(-50.0)), Level::Crit);
    }

    #[test]
    fn a_service_with_no_ready_endpoint_is_critical_and_one_short_a_warning() {
        let svc = |selector, ready, not_ready| super::super::ServiceRow { selector, ready, not_ready, ..Default::default() };
        assert_eq!(service(&svc(true, 0, 0)), Level::Crit, "no pod behind it at all");
        assert_eq!(service(&svc(true, 0, 3)), Level::Crit, "pods, none ready");
        assert_eq!(service(&svc(true, 2, 1)), Level::Warn);
        assert_eq!(service(&svc(true, 3, 0)), Level::Ok);
        assert_eq!(service(&svc(false, 0, 0)), Level::Ok, "endpoints the user keeps are not judged");
        let ev = |kind: &str| super::super::KubeEventRow { kind: kind.into(), ..Default::default() };
        assert_eq!((event(&ev("Warning")), event(&ev("Normal"))), (Level::Warn, Level::Ok));
    }
}
