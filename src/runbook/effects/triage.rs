//! Triage (seeds/004 "Detection & Triage"): one snapshot of every source through the collectors,
//! findings with a severity each (P1–P4), the worst as the proposal, and the runbook to run next.

use super::{Ctx, EffectError, Report};
use crate::backends::{self, BackendError};
use crate::config::Thresholds;
use crate::model::verdict::{self, Level, LoadAlarm, MemberAlarm, SentinelAlarm};
use crate::model::{BackupKind, Observation, PodsSnapshot, QueuesSnapshot, ReplicationSnapshot, SentinelSnapshot, SourceId};
use chrono::{DateTime, Utc};
use std::future::Future;
use std::time::Duration;

/// One thing found wrong (or unreadable).
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub component: String,
    pub what: String,
    /// 1 = P1 (outage, data-loss risk) … 4 = P4 (no user impact).
    pub severity: u8,
    pub next: Option<&'static str>,
}

fn finding(component: &str, what: String, severity: u8, next: Option<&'static str>) -> Finding {
    Finding { component: component.into(), what, severity, next }
}

/// Every source read once.
#[derive(Debug, Default)]
pub struct Snapshots {
    pub pods: Option<Result<PodsSnapshot, BackendError>>,
    pub replication: Option<Result<ReplicationSnapshot, BackendError>>,
    pub sentinel: Option<Result<SentinelSnapshot, BackendError>>,
    pub queues: Option<(Result<QueuesSnapshot, BackendError>, Option<QueuesSnapshot>)>,
    pub backups: Option<Result<crate::model::BackupSources, BackendError>>,
    /// The Alertmanagers' alerts and the `[[checks]]` health checks.
    pub alerts: Option<Result<crate::model::AlertsSnapshot, BackendError>>,
}

/// Pure: the findings of a set of snapshots, worst first.
pub fn assess(s: &Snapshots, t: &Thresholds, now: DateTime<Utc>) -> Vec<Finding> {
    let mut out = Vec::new();
    match &s.pods {
        Some(Ok(p)) => pods(p, t, &mut out),
        Some(Err(e)) => out.push(finding("kubernetes", format!("cannot read pods: {e}"), 3, None)),
        None => {}
    }
    match &s.replication {
        Some(Ok(r)) => {
            let v = verdict::replication(t, r);
            if v.no_leader {
                out.push(finding("postgres", "no Postgres leader: writes are failing".into(), 1, Some("failover-postgres")));
            } else if v.no_standby {
                // Lost redundancy: still serving, but a second fault is an outage.
                let leader = r.leader().unwrap_or("?");
                out.push(finding(
                    "postgres",
                    format!("no standby streams from leader {leader}: redundancy lost, a leader failure now has no replica to promote"),
                    3,
                    None,
                ));
            }
            for alarm in verdict::member_alarms(r) {
                let (sev, next) = match alarm {
                    MemberAlarm::SplitBrain(_) => (1, Some("failover-postgres")),
                    MemberAlarm::LeaderUnanswering { .. } => (1, Some("failover-postgres")),
                    MemberAlarm::MemberDown { .. } => (3, None),
                };
                out.push(finding("postgres", alarm.words(), sev, next));
            }
            let lag = verdict::lag(t, r.max_replay_lag_secs(), r.max_replay_lag_bytes());
            if lag.is_alarm() {
                let what = format!(
                    "replication lag at {} level: {:.0}s, {} bytes behind (warn {}s or {} bytes, critical {}s)",
                    lag.word(),
                    r.max_replay_lag_secs().unwrap_or(0.0),
                    r.max_replay_lag_bytes().unwrap_or(0),
                    t.lag_warn_secs,
                    t.lag_warn_bytes,
                    t.lag_crit_secs
                );
                out.push(finding("postgres", what, severity(lag), None));
            }
            if r.archiver.as_ref().is_some_and(|a| a.is_failing()) {
                out.push(finding("postgres", "WAL archiving is failing: point-in-time recovery is at risk".into(), 2, None));
            }
            // The Production runbook's "Database Connection Pool Exhausted": who holds the
            // connections and which statement runs long, from each member's own pg_stat_activity.
            for alarm in &v.load {
                let what = match alarm {
                    LoadAlarm::Connections { .. } => format!(
                        "{}: new clients are refused at 100% (warn {}%, critical {}%); see which application holds them in pg_stat_activity",
                        alarm.words(),
                        t.connections_warn_pct,
                        t.connections_crit_pct
                    ),
                    LoadAlarm::LongQuery { query, .. } => format!(
                        "long {}: {} (warn {}s, critical {}s); pg_cancel_backend({}) stops the statement",
                        if query.state == "active" { "statement" } else { "open transaction" },
                        alarm.words(),
                        t.query_warn_secs,
                        t.query_crit_secs,
                        query.pid
                    ),
                };
                out.push(finding("postgres", what, severity(alarm.level()), None));
            }
        }
        Some(Err(e)) => out.push(finding("postgres", format!("cannot reach the database: {e}"), 1, Some("failover-postgres"))),
        None => {}
    }
    match &s.sentinel {
        Some(Ok(snap)) => {
            sentinel(snap, &mut out);
            // The master's own INFO: memory near maxmemory evicts or refuses writes (Celery stops).
            for (level, words) in verdict::redis_health_alarms(t, snap) {
                out.push(finding("redis", words, severity(level), None));
            }
        }
        Some(Err(e)) => out.push(finding("redis", format!("no Sentinel answers: {e}"), 1, Some("failover-redis"))),
        None => {}
    }
    match &s.queues {
        Some((Ok(q), later)) => queues(q, later.as_ref(), t, &mut out),
        Some((Err(e), _)) => out.push(finding("queues", format!("cannot read queues: {e}"), 2, Some("failover-redis"))),
        None => {}
    }
    match &s.backups {
        Some(Ok(b)) => backups(b, t, now, &mut out),
        Some(Err(e)) => out.push(finding("backups", format!("cannot list backups: {e}"), 3, None)),
        None => {}
    }
    match &s.alerts {
        Some(Ok(a)) => alerts(a, &mut out),
        Some(Err(e)) => out.push(finding("alerts", format!("no Alertmanager answers: {e}"), 3, None)),
        None => {}
    }
    out.sort_by_key(|f| f.severity);
    out
}

/// Each failing or slow health check (the runbooks' `curl -f`), and each alert that fires and is
/// not silenced, with the runbook it names.
fn alerts(a: &crate::model::AlertsSnapshot, out: &mut Vec<Finding>) {
    for c in &a.checks {
        let level = verdict::check(c);
        match (&c.error, level) {
            (Some(e), _) => out.push(finding("checks", format!("health check {} ({}) fails: {e}", c.name, c.target), 2, None)),
            (None, Level::Warn) => {
                let ms = c.latency_ms.unwrap_or(0);
                out.push(finding(
                    "checks",
                    format!("health check {} ({}) answers in {ms}ms, over its slow_ms {}ms", c.name, c.target, c.slow_ms),
                    3,
                    None,
                ));
            }
            _ => {}
        }
    }
    for alert in a.firing() {
        let level = verdict::alert(alert);
        if !level.is_alarm() {
            continue;
        }
        let summary = if alert.summary.is_empty() { String::new() } else { format!(": {}", alert.summary) };
        let runbook = alert.runbook.as_deref().map_or_else(String::new, |r| format!(" (its runbook: {r})"));
        let sev = if alert.severity.is_empty() { String::new() } else { format!(" {}", alert.severity) };
        out.push(finding("alerts", format!("alert {}{sev} firing{summary}{runbook}", alert.name), severity(level), None));
    }
}

/// Per backup source: one that cannot be read, each kept kind that is missing, a kept kind (WAL,
/// dumps) whose newest is over the RPO, and missing WAL.
fn backups(all: &crate::model::BackupSources, t: &Thresholds, now: chrono::DateTime<chrono::Utc>, out: &mut Vec<Finding>) {
    for b in all.iter() {
        let on = match all.label(b) {
            "" => String::new(),
            name => format!(" in backup source {name}"),
        };
        if let Some(e) = &b.error {
            out.push(finding("backups", format!("cannot read backup source {}: {e}", b.source), 3, None));
            continue;
        }
        for kind in verdict::missing_kinds(b, now) {
            out.push(finding("backups", format!("no {}{on} in the inventory, though its kinds keep it", kind.label()), 2, None));
        }
        for kind in [BackupKind::Wal, BackupKind::Dump] {
            if let verdict::KindVerdict::Newest { age_secs, level, .. } = verdict::backup_kind(t, b, kind, now)
                && level.is_alarm()
            {
                let key = b.newest(kind).map_or("?", |d| d.key.as_str());
                let what = format!("newest {}{on} {key} is {age_secs}s old, over the RPO of {}s", kind.label(), t.rpo_secs);
                out.push(finding("backups", what, severity(level), None));
            }
        }
        if let Some((first, last)) = b.wal_gaps.first() {
            let what = format!(
                "{} WAL gap(s){on}: {first} … {last} missing; a point-in-time restore from an earlier base backup stops there",
                b.wal_gaps.len()
            );
            out.push(finding("backups", what, 2, None));
        }
    }
}

fn pods(p: &PodsSnapshot, t: &Thresholds, out: &mut Vec<Finding>) {
    for d in &p.deployments {
        let deploy_pods: Vec<_> = p.pods.iter().filter(|pod| pod.name.starts_with(&format!("{}-", d.name))).collect();
        let failing: Vec<_> =
            deploy_pods.iter().filter(|pod| verdict::pod(pod).is_alarm() || verdict::restarts_high(t, pod.restarts)).collect();
        if d.available == 0 && d.desired > 0 {
            out.push(finding(
                "kubernetes",
                format!("deployment {} has no available pod (revision {}, {})", d.name, d.revision, d.images.join(",")),
                1,
                Some("rollback"),
            ));
        } else if !failing.is_empty() {
            let names: Vec<String> = failing.iter().map(|p| format!("{} {}", p.name, p.status())).collect();
            let sev = if d.available * 2 < d.desired { 2 } else { 3 };
            let next = if d.rollout != "complete" { Some("rollback") } else { Some("restart-pods") };
            out.push(finding(
                "kubernetes",
                format!("deployment {} (revision {}, {}): {}", d.name, d.revision, d.images.join(","), names.join(", ")),
                sev,
                next,
            ));
        } else if verdict::capacity_short(d) {
            // Lost redundancy: every pod it has is fine, but fewer than it wants (pending, evicted).
            out.push(finding(
                "kubernetes",
                format!("deployment {} has {} of {} pods available: redundancy lost", d.name, d.available, d.desired),
                3,
                None,
            ));
        }
    }
    services(p, out);
    // An autoscaler with no room left explains the hot pods under it: named before them.
    scaling(p, out);
    usage(p, t, out);
    let warnings: Vec<_> = p.events.iter().filter(|e| e.kind == "Warning").take(3).collect();
    for e in warnings {
        out.push(finding("kubernetes", format!("warning event {} {}: {} (x{})", e.object, e.reason, e.message, e.count), 4, None));
    }
}

/// Services by their verdict: none ready is P2 (it serves nothing), short a P3; an unreadable list P4.
fn services(p: &PodsSnapshot, out: &mut Vec<Finding>) {
    for s in &p.services {
        let level = verdict::service(s);
        if level.is_alarm() {
            let what = format!("service {}/{} has {} of {} endpoints ready", s.namespace, s.name, s.ready, s.total());
            out.push(finding("kubernetes", what, severity(level), None));
        }
    }
    if let Some(problem) = &p.services_problem {
        out.push(finding("kubernetes", format!("cannot read services: {}", problem.error), 4, None));
    }
}

/// Autoscalers by their verdict: at max over target P2 (the load outgrew what it may add), at max
/// P3; a disruption budget allowing none P4 (a restart or drain would be refused); unreadable P4.
fn scaling(p: &PodsSnapshot, out: &mut Vec<Finding>) {
    for h in p.autoscalers() {
        let level = verdict::hpa(h);
        if level.is_alarm() {
            let cpu = match (h.cpu_pct, h.cpu_target_pct) {
                (Some(now), Some(target)) => format!(", CPU {now}% of request against a target of {target}%"),
                _ => String::new(),
            };
            let what = format!("autoscaler {}/{} is at its maximum of {} replicas{cpu}", h.namespace, h.name, h.max);
            out.push(finding("kubernetes", what, severity(level), None));
        }
    }
    for b in p.budgets().iter().filter(|b| verdict::pdb(b).is_alarm()) {
        let what = format!(
            "PodDisruptionBudget {}/{} allows no disruption now ({} healthy, {} needed): a restart or drain would be refused",
            b.namespace, b.name, b.healthy, b.desired_healthy
        );
        out.push(finding("kubernetes", what, 4, None));
    }
    if let Some(problem) = p.scaling_problem() {
        out.push(finding("kubernetes", format!("cannot read autoscalers or budgets: {}", problem.error), 4, None));
    }
}

/// Pods and nodes near their CPU or memory line (critical P2, warning P3, with the line), a pod
/// running again after an OOM kill P3, and usage that cannot be read P4.
fn usage(p: &PodsSnapshot, t: &Thresholds, out: &mut Vec<Finding>) {
    for alarm in verdict::usage_alarms(t, p) {
        let what = match &alarm {
            verdict::UsageAlarm::Near { resource, .. } => {
                let (warn, crit) =
                    if *resource == "CPU" { (t.cpu_warn_pct, t.cpu_crit_pct) } else { (t.memory_warn_pct, t.memory_crit_pct) };
                format!("{} (warn {warn}%, critical {crit}%)", alarm.words())
            }
            verdict::UsageAlarm::OomKilled { .. } => alarm.words(),
        };
        out.push(finding("kubernetes", what, severity(alarm.level()), None));
    }
    if let Some(problem) = &p.top_problem {
        out.push(finding("kubernetes", format!("cannot read pod and node usage: {}", problem.error), 4, None));
    }
}

fn queues(q: &QueuesSnapshot, later: Option<&QueuesSnapshot>, t: &Thresholds, out: &mut Vec<Finding>) {
    for row in &q.queues {
        let grew = later.and_then(|l| l.queues.iter().find(|r| r.name == row.name)).map(|r| r.depth as i64 - row.depth as i64);
        // Two readings 2 s apart: the growth per minute the panes judge with.
        let rate = grew.map(|g| g as f64 * 30.0);
        let level = verdict::queue(t, row.depth, rate);
        if verdict::queue_depth(t, row.depth) == Level::Crit {
            out.push(finding(
                "queues",
                format!("queue {} holds {} (critical {})", row.name, row.depth, t.queue_depth_crit),
                severity(level),
                Some("scale"),
            ));
        } else if level.is_alarm() {
            out.push(finding(
                "queues",
                format!("queue {} holds {} and grew by {} in 2s", row.name, row.depth, grew.unwrap_or(0)),
                severity(level),
                Some("scale"),
            ));
        }
    }
}

/// Sentinel's alarms as findings: the master down is an outage, disagreement a split to resolve,
/// an unreachable Sentinel or replica lost redundancy.
fn sentinel(snap: &SentinelSnapshot, out: &mut Vec<Finding>) {
    let master = snap.agreed_master().unwrap_or("?");
    for alarm in verdict::sentinel_alarms(snap) {
        let (what, sev, next) = match alarm {
            SentinelAlarm::NoMaster => ("no Sentinel names a Redis master".to_string(), 1, Some("failover-redis")),
            SentinelAlarm::MasterODown => (format!("Redis master {master} is down (o_down)"), 1, Some("failover-redis")),
            SentinelAlarm::MasterSDown => (format!("Redis master {master} is down for one Sentinel (s_down)"), 3, Some("failover-redis")),
            SentinelAlarm::Disagree => ("Sentinels disagree about the master".to_string(), 2, Some("failover-redis")),
            SentinelAlarm::FailoverInProgress => (format!("a Sentinel failover of {} is in progress", snap.master_name), 3, None),
            SentinelAlarm::QuorumUnreachable => ("too few Sentinels reachable for a failover quorum".to_string(), 2, None),
            SentinelAlarm::ReplicaDown => {
                let down: Vec<&str> = snap.replicas.iter().filter(|r| verdict::replica_down(r)).map(|r| r.addr.as_str()).collect();
                (format!("Redis replica(s) down: {} (redundancy lost)", down.join(", ")), 2, None)
            }
            SentinelAlarm::SentinelUnreachable => {
                for row in snap.sentinels.iter().filter(|r| r.error.is_some()) {
                    out.push(finding(
                        "redis",
                        format!("Sentinel {} unreachable: {}", row.addr, row.error.as_deref().unwrap_or("?")),
                        4,
                        None,
                    ));
                }
                continue;
            }
        };
        debug_assert_eq!(alarm.level() == Level::Crit, sev <= 2, "{alarm:?}");
        out.push(finding("redis", what, sev, next));
    }
}

/// A verdict's level as a finding's severity: critical is P2, a warning P3 (P1 is kept for outages).
fn severity(level: Level) -> u8 {
    match level {
        Level::Crit => 2,
        Level::Warn | Level::Ok => 3,
    }
}

async fn within<T>(d: Duration, f: impl Future<Output = Result<T, BackendError>>) -> Result<T, BackendError> {
    crate::backends::within("the source", d, f).await
}

/// One listing of pods, deployments and events in the run's namespace (the same mapping as the watcher's).
async fn kube_snapshot(ctx: &Ctx) -> Result<PodsSnapshot, BackendError> {
    let kube = &ctx.config.kube;
    let client = crate::backends::kube::client(&kube.kubeconfig, &kube.context, ctx.timeout).await?;
    let namespace = ctx.namespace();
    let mut snap = crate::backends::kube::list_snapshot(&client, &namespace).await?;
    // Usage as `kubectl top` reads it; a Metrics API that cannot be read is a finding of its own,
    // never a failed triage.
    let problem =
        |e: BackendError| Box::new(crate::model::ListProblem { error: crate::sanitize::clean(&e.to_string()), since: None, last_ok: None });
    match crate::backends::kube_top::read(&client, std::slice::from_ref(&namespace), ctx.timeout).await {
        Ok(top) => {
            for p in &mut snap.pods {
                p.usage = top.pods.get(&(p.namespace.clone(), p.name.clone())).copied();
            }
            (snap.nodes, snap.top_problem) = (top.nodes, top.nodes_problem.map(problem));
        }
        Err(e) => snap.top_problem = Some(problem(e)),
    }
    match crate::backends::kube_scaling::list(&client, &namespace).await {
        Ok((autoscalers, budgets)) => snap.scaling = Some(Box::new(crate::model::Scaling { autoscalers, budgets, problem: None })),
        Err(e) => snap.scaling = Some(Box::new(crate::model::Scaling { problem: Some(*problem(e)), ..Default::default() })),
    }
    Ok(snap)
}

/// One reading of `source` through its collector (kube: one list of pods, deployments, events),
/// within twice the timeout; None when it is not configured.
async fn read_once(ctx: &Ctx, source: SourceId) -> Option<Result<Observation, BackendError>> {
    let c = &ctx.config;
    if !c.source_enabled(source) {
        return None;
    }
    let (d, t) = (ctx.timeout * 2, ctx.timeout);
    Some(match source {
        SourceId::Pods => within(d, kube_snapshot(ctx)).await.map(Observation::Pods),
        SourceId::Replication => {
            let mut reader = backends::postgres::ReplicationReader::new(c.postgres.member_dsns(), &c.postgres.patroni, t);
            within(d, Box::pin(reader.read())).await.map(Observation::Replication)
        }
        SourceId::Sentinel => {
            within(d, Box::pin(backends::redis::sentinel_snapshot(&c.sentinel_settings(), t))).await.map(Observation::Sentinel)
        }
        SourceId::Queues => within(d, queue_reader(ctx).read()).await.map(Observation::Queues),
        SourceId::Backups => within(d, crate::sources::backups::Collector::new(c, t).read()).await.map(Observation::Backups),
        SourceId::Alerts => within(d, crate::sources::alerts::Collector::new(c, t).read()).await.map(Observation::Alerts),
    })
}

fn queue_reader(ctx: &Ctx) -> backends::redis::QueueReader {
    let q = &ctx.config.queues;
    backends::redis::QueueReader::new(&q.settings(), &q.names, &ctx.config.sentinel_settings(), ctx.timeout)
}

/// The snapshot inside an observation of the expected kind.
fn expect<T>(
    read: Option<Result<Observation, BackendError>>,
    pick: impl FnOnce(Observation) -> Option<T>,
) -> Option<Result<T, BackendError>> {
    read.map(|r| r.and_then(|o| pick(o).ok_or_else(|| BackendError::unexpected("the collector", "an observation of another source"))))
}

/// One reading of the source a runbook parameter's choices come from (for the CLI, which has no
/// live panes to pick from); None when that source is not configured or has no choices to offer.
pub async fn observe_for(ctx: &Ctx, source: crate::runbook::spec::ParamSource) -> Option<Result<Observation, BackendError>> {
    use crate::runbook::spec::ParamSource;
    let source = match source {
        ParamSource::Deployments | ParamSource::Pods | ParamSource::Nodes => SourceId::Pods,
        ParamSource::PatroniMembers => SourceId::Replication,
        ParamSource::Dumps => SourceId::Backups,
        ParamSource::Revisions => return None,
    };
    read_once(ctx, source).await
}

/// Takes the snapshots (at once), assesses them, and reports findings, severity and next runbook.
pub async fn run(ctx: &Ctx) -> Result<Report, EffectError> {
    let c = &ctx.config;
    let d = ctx.timeout * 2;
    let kube = async { expect(read_once(ctx, SourceId::Pods).await, |o| if let Observation::Pods(p) = o { Some(p) } else { None }) };
    let pg =
        async { expect(read_once(ctx, SourceId::Replication).await, |o| if let Observation::Replication(r) = o { Some(r) } else { None }) };
    let sentinel =
        async { expect(read_once(ctx, SourceId::Sentinel).await, |o| if let Observation::Sentinel(s) = o { Some(s) } else { None }) };
    // Queues are read twice, 2 s apart, by one collector: the second reading gives the rates.
    let queues = async {
        if !c.source_enabled(SourceId::Queues) {
            return None;
        }
        let mut reader = queue_reader(ctx);
        let first = within(d, reader.read()).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let second = within(d, reader.read()).await.ok();
        Some((first, second))
    };
    let backups =
        async { expect(read_once(ctx, SourceId::Backups).await, |o| if let Observation::Backups(b) = o { Some(b) } else { None }) };
    let alerts = async { expect(read_once(ctx, SourceId::Alerts).await, |o| if let Observation::Alerts(a) = o { Some(a) } else { None }) };
    // Each on the heap: five TLS connects side by side make a future too large for a thread's stack.
    let (kube, pg, sentinel, queues, backups, alerts) =
        (Box::pin(kube), Box::pin(pg), Box::pin(sentinel), Box::pin(queues), Box::pin(backups), Box::pin(alerts));
    let (pods, replication, sentinel, queues, backups, alerts) = tokio::join!(kube, pg, sentinel, queues, backups, alerts);
    let snaps = Snapshots { pods, replication, sentinel, queues, backups, alerts };
    let findings = assess(&snaps, &c.thresholds, ctx.clock.now());
    let severity = findings.first().map_or(4, |f| f.severity);
    let next = findings.iter().find_map(|f| f.next).unwrap_or("none");
    let lines: Vec<String> = findings.iter().map(|f| format!("  P{} {}: {}", f.severity, f.component, f.what)).collect();
    let checked = [
        ("kubernetes", snaps.pods.is_some()),
        ("postgres", snaps.replication.is_some()),
        ("redis", snaps.sentinel.is_some()),
        ("queues", snaps.queues.is_some()),
        ("backups", snaps.backups.is_some()),
        ("alerts and checks", snaps.alerts.is_some()),
    ];
    let checked: Vec<&str> = checked.iter().filter(|(_, on)| *on).map(|(n, _)| *n).collect();
    let summary = if findings.is_empty() {
        format!("nothing unhealthy in {}; proposed severity P4, next runbook: none", checked.join(", "))
    } else {
        format!(
            "{} finding(s) in {}; proposed severity P{severity}, next runbook: {next}\n{}",
            findings.len(),
            checked.join(", "),
            lines.join("\n")
        )
    };
    Ok(Report::text(summary).with([("severity", format!("P{severity}")), ("next_runbook", next.to_string())]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DeploymentRow, PodRow};

    #[test]
    fn a_failing_health_check_and_a_firing_alert_are_findings_and_a_silenced_one_is_not() {
        use crate::model::{AlertRow, AlertState, AlertsSnapshot, CheckRow};
        let check = |name: &str, latency: u64, error: Option<&str>| CheckRow {
            name: name.into(),
            target: format!("https://{name}/healthz"),
            status: Some(if error.is_some() { 503 } else { 200 }),
            latency_ms: Some(latency),
            error: error.map(Into::into),
            slow_ms: 500,
        };
        let alert = |name: &str, state: AlertState| AlertRow {
            name: name.into(),
            severity: "critical".into(),
            state,
            summary: "Redis master mymaster is down".into(),
            runbook: Some("failover-redis".into()),
            ..AlertRow::default()
        };
        let snap = AlertsSnapshot {
            checks: vec![check("api", 40, Some("server said: 503 Service Unavailable")), check("s3", 900, None), check("web", 10, None)],
            alerts: vec![alert("RedisMasterDown", AlertState::Active), alert("DiskFull", AlertState::Suppressed)],
            ..AlertsSnapshot::default()
        };
        let found = assess(&Snapshots { alerts: Some(Ok(snap)), ..Snapshots::default() }, &Thresholds::default(), Utc::now());
        let words: Vec<(u8, &str)> = found.iter().map(|f| (f.severity, f.what.as_str())).collect();
        assert_eq!(words.len(), 3, "{words:?}");
        assert!(words.iter().any(|(s, w)| *s == 2 && w.contains("health check api") && w.contains("503 Service Unavailable")), "{words:?}");
        assert!(words.iter().any(|(s, w)| *s == 3 && w.contains("health check s3") && w.contains("900ms")), "{words:?}");
        assert!(words.iter().any(|(s, w)| *s == 2 && w.contains("RedisMasterDown") && w.contains("failover-redis")), "{words:?}");
        assert!(
            !words.iter().any(|(_, w)| w.contains("DiskFull") || w.contains("web")),
            "silenced and passing are not findings: {words:?}"
        );
    }

    #[test]
    fn a_crashlooping_new_revision_is_p3_and_proposes_rollback() {
        let pods = PodsSnapshot {
            pods: vec![
                PodRow { name: "api-aaa-1".into(), phase: "Running".into(), ready: 1, containers: 1, ..PodRow::default() },
                PodRow {
                    name: "api-bbb-1".into(),
                    phase: "Running".into(),
                    ready: 0,
                    containers: 1,
                    restarts: 4,
                    reason: Some("CrashLoopBackOff".into()),
                    ..PodRow::default()
                },
            ],
            deployments: vec![DeploymentRow {
                name: "api".into(),
                desired: 2,
                available: 2,
                updated: 1,
                ready: 2,
                revision: "2".into(),
                rollout: "progressing".into(),
                ..DeploymentRow::default()
            }],
            events: vec![],
            ..PodsSnapshot::default()
        };
        let snaps = Snapshots { pods: Some(Ok(pods)), ..Snapshots::default() };
        let f = assess(&snaps, &Thresholds::default(), Utc::now());
        assert_eq!(f[0].severity, 3, "{f:?}");
        assert_eq!(f[0].next, Some("rollback"));
        assert!(f[0].what.contains("api-bbb-1 CrashLoopBackOff"), "{f:?}");
    }

    #[test]
    fn a_leader_with_no_standby_is_lost_redundancy() {
        let r = ReplicationSnapshot {
            patroni: vec![crate::model::PatroniMember { name: "pg-0".into(), role: "leader".into(), ..Default::default() }],
            ..ReplicationSnapshot::default()
        };
        let snaps = Snapshots { replication: Some(Ok(r.clone())), ..Snapshots::default() };
        let f = assess(&snaps, &Thresholds::default(), Utc::now());
        assert!(f.iter().any(|f| f.severity == 3 && f.what.contains("no standby streams from leader pg-0")), "{f:?}");
        // With a standby streaming, no such finding.
        let streaming = ReplicationSnapshot { standbys: vec![crate::model::StandbyRow { name: "pg-1".into(), ..Default::default() }], ..r };
        let snaps = Snapshots { replication: Some(Ok(streaming)), ..Snapshots::default() };
        assert!(!assess(&snaps, &Thresholds::default(), Utc::now()).iter().any(|f| f.what.contains("no standby")));
    }

    #[test]
    fn no_database_answer_is_p1() {
        let refused = BackendError::Unreachable { target: "db:5432".into(), detail: "connection refused".into() };
        let snaps = Snapshots { replication: Some(Err(refused)), ..Snapshots::default() };
        let f = assess(&snaps, &Thresholds::default(), Utc::now());
        assert_eq!((f[0].severity, f[0].next), (1, Some("failover-postgres")));
    }

    #[test]
    fn a_service_with_no_ready_endpoint_is_a_p2_finding_and_one_short_p3() {
        let svc = |name: &str, ready, not_ready| crate::model::ServiceRow {
            namespace: "shop".into(),
            name: name.into(),
            selector: true,
            ready,
            not_ready,
            ..Default::default()
        };
        let pods = PodsSnapshot { services: vec![svc("api", 0, 2), svc("web", 1, 1), svc("db", 2, 0)], ..PodsSnapshot::default() };
        let f = assess(&Snapshots { pods: Some(Ok(pods)), ..Snapshots::default() }, &Thresholds::default(), Utc::now());
        let said: Vec<(u8, &str)> = f.iter().map(|f| (f.severity, f.what.as_str())).collect();
        assert_eq!(said, [(2, "service shop/api has 0 of 2 endpoints ready"), (3, "service shop/web has 1 of 2 endpoints ready")]);
    }

    #[test]
    fn a_pod_near_its_memory_limit_and_one_back_from_an_oom_kill_are_findings() {
        use crate::model::{Resources, Usage};
        let mi = 1u64 << 20;
        let pod = |name: &str, memory: u64, last_exit: Option<&str>| PodRow {
            namespace: "shop".into(),
            name: name.into(),
            phase: "Running".into(),
            ready: 1,
            containers: 1,
            last_exit: last_exit.map(Into::into),
            requests: Resources { cpu_m: Some(200), memory: Some(256 * mi) },
            limits: Resources { cpu_m: None, memory: Some(512 * mi) },
            usage: Some(Usage { cpu_m: 100, memory: memory * mi }),
            ..PodRow::default()
        };
        let pods = PodsSnapshot {
            pods: vec![pod("api-1", 470, None), pod("api-2", 420, None), pod("worker-1", 100, Some("OOMKilled")), pod("web-1", 100, None)],
            ..PodsSnapshot::default()
        };
        let f = assess(&Snapshots { pods: Some(Ok(pods)), ..Snapshots::default() }, &Thresholds::default(), Utc::now());
        let said: Vec<(u8, &str)> = f.iter().map(|f| (f.severity, f.what.as_str())).collect();
        assert_eq!(
            said,
            [
                (2, "pod shop/api-1 memory 470Mi, 91% of its limit (warn 80%, critical 90%)"),
                (3, "pod shop/api-2 memory 420Mi, 82% of its limit (warn 80%, critical 90%)"),
                (3, "pod shop/worker-1: a container was OOMKilled (killed at its memory limit)"),
            ]
        );
    }
}
