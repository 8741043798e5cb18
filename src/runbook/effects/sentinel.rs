//! Redis Sentinel effects: the failover preflight (quorum reachable, a replica in sync),
//! `SENTINEL FAILOVER`, and the check that every Sentinel agrees and the queues live on the new master.

use super::{Ctx, EffectError, Report, not_ready};
use crate::backends::BackendError;
use crate::backends::redis::{self as backend, SentinelSettings};
use crate::model::SentinelSnapshot;
use crate::model::verdict;

fn settings(ctx: &Ctx) -> Result<SentinelSettings, EffectError> {
    let mut s = ctx.config.sentinel_settings();
    // A runbook's `master` parameter (failover-redis; an alert's label can fill it) names the master.
    if let Some(m) = ctx.vars.get("master").filter(|m| !m.trim().is_empty()) {
        s.master = m.trim().to_string();
    }
    if s.master.is_empty() || s.addrs.is_empty() {
        return Err(super::input("no Sentinel configured; set [sentinel] addrs and master in sitrep.toml"));
    }
    Ok(s)
}

async fn snapshot(ctx: &Ctx) -> Result<SentinelSnapshot, EffectError> {
    Ok(Box::pin(backend::sentinel_snapshot(&settings(ctx)?, ctx.timeout)).await?)
}

/// Runs one Sentinel command on the first Sentinel that answers.
async fn ask(ctx: &Ctx, cmd: &redis::Cmd, what: &str) -> Result<(String, redis::Value), BackendError> {
    let s = ctx.config.sentinel_settings();
    let mut reasons = Vec::new();
    for addr in &s.addrs {
        let answer = async {
            let mut con = s.connect(addr, ctx.timeout).await?;
            backend::query::<redis::Value>(&mut con, cmd, addr, what, ctx.timeout).await
        };
        match answer.await {
            Ok(v) => return Ok((addr.clone(), v)),
            Err(e) => reasons.push(e.to_string()),
        }
    }
    Err(BackendError::NoneAnswered {
        what: format!("no Sentinel accepted {what}"),
        reasons,
        fix: "check [sentinel] addrs in sitrep.toml".into(),
    })
}

pub async fn ready(ctx: &Ctx, max_lag_bytes: u64) -> Result<Report, EffectError> {
    let name = settings(ctx)?.master;
    let snap = snapshot(ctx).await?;
    let master = snap.master.clone().ok_or_else(|| not_ready("no Sentinel knows the master"))?;
    let (addr, quorum) = ask(ctx, redis::cmd("SENTINEL").arg("CKQUORUM").arg(&name), "SENTINEL CKQUORUM")
        .await
        .map_err(|e| not_ready(format!("quorum not reachable: {e}")))?;
    if snap.failover_in_progress() {
        return Err(not_ready(format!("a failover of {name} is already in progress; wait for it and watch the Sentinel pane")));
    }
    let replica = snap.replicas.iter().find(|r| verdict::replica_in_sync(r, max_lag_bytes)).ok_or_else(|| {
        not_ready(format!(
            "no replica of {name} is in sync within {max_lag_bytes} bytes ({}); a failover now would lose writes",
            replicas_seen(&snap)
        ))
    })?;
    let quorum = match quorum {
        redis::Value::SimpleString(s) => s,
        redis::Value::BulkString(b) => String::from_utf8_lossy(&b).into_owned(),
        other => format!("{other:?}"),
    };
    Ok(Report::text(format!(
        "{}/{} Sentinels answer ({addr}: {}); master {}; replica {} in sync (lag {} bytes)",
        snap.reachable(),
        snap.sentinels.len(),
        crate::sanitize::clean(&quorum),
        master.addr,
        replica.addr,
        replica.lag_bytes.unwrap_or(0)
    ))
    .with([("old_master", master.addr.clone()), ("replica", replica.addr.clone())]))
}

/// Every replica Sentinel knows, as the preflight and the redundancy check report them.
fn replicas_seen(snap: &SentinelSnapshot) -> String {
    let seen: Vec<String> =
        snap.replicas.iter().map(|r| format!("{} {} link {} lag {:?}", r.addr, r.flags, r.link_status, r.lag_bytes)).collect();
    if seen.is_empty() { "none known".into() } else { seen.join("; ") }
}

/// The failover's whole goal: the new master has a replica in sync again (usually the old master,
/// re-attached by Sentinel once it answers). Until then one more fault loses the queues.
pub async fn redundant(ctx: &Ctx, max_lag_bytes: u64) -> Result<Report, EffectError> {
    let name = settings(ctx)?.master;
    let snap = snapshot(ctx).await?;
    let master = snap.agreed_master().ok_or_else(|| not_ready("no Sentinel names a master"))?.to_string();
    let replica = snap.replicas.iter().find(|r| verdict::replica_in_sync(r, max_lag_bytes)).ok_or_else(|| {
        not_ready(format!("{name} at {master} has no replica in sync within {max_lag_bytes} bytes yet ({})", replicas_seen(&snap)))
    })?;
    Ok(Report::text(format!(
        "redundancy restored: {} replicates {master} (link {}, {} bytes behind)",
        replica.addr,
        replica.link_status,
        replica.lag_bytes.unwrap_or(0)
    )))
}

trait InProgress {
    fn failover_in_progress(&self) -> bool;
}

impl InProgress for SentinelSnapshot {
    fn failover_in_progress(&self) -> bool {
        self.master.as_ref().is_some_and(|m| m.failover_in_progress())
    }
}

pub async fn failover(ctx: &Ctx) -> Result<Report, EffectError> {
    let name = settings(ctx)?.master;
    let snap = snapshot(ctx).await?;
    let old = snap.agreed_master().unwrap_or("unknown").to_string();
    let replica = snap.replicas.first().map(|r| r.addr.clone()).unwrap_or_default();
    let (addr, _) = ask(ctx, redis::cmd("SENTINEL").arg("FAILOVER").arg(&name), &format!("SENTINEL FAILOVER {name}"))
        .await
        .map_err(|e| not_ready(format!("{e}; `NOGOODSLAVE` means no replica can be promoted")))?;
    Ok(Report::text(format!("SENTINEL FAILOVER {name} accepted by {addr}; master was {old}"))
        .with([("old_master", old), ("replica", replica)]))
}

pub async fn agree(ctx: &Ctx, not: &str) -> Result<Report, EffectError> {
    let snap = snapshot(ctx).await?;
    let views: Vec<String> =
        snap.sentinels.iter().map(|s| format!("{} → {}", s.addr, s.master_addr.as_deref().or(s.error.as_deref()).unwrap_or("?"))).collect();
    if snap.reachable() < snap.sentinels.len() || snap.disagree() {
        return Err(not_ready(format!("the Sentinels do not all agree yet: {}", views.join("; "))));
    }
    let master = snap.agreed_master().ok_or_else(|| not_ready("no Sentinel names a master"))?.to_string();
    if !not.is_empty() && master == not {
        return Err(not_ready(format!("every Sentinel still names {master}, the old master")));
    }
    let mut con = ctx.config.sentinel_settings().connect_master(&master, ctx.timeout).await?;
    let role: Vec<redis::Value> = backend::query(&mut con, &redis::cmd("ROLE"), &master, "ROLE", ctx.timeout).await?;
    if !matches!(role.first(), Some(redis::Value::BulkString(b)) if b == b"master") {
        return Err(not_ready(format!("{master} does not call itself master yet")));
    }
    let (depths, _) = backend::queue_depths(&mut con, &master, &ctx.config.queues.names).await?;
    let queues: Vec<String> = ctx.config.queues.names.iter().zip(&depths).map(|(q, d)| format!("{q}={d}")).collect();
    Ok(Report::text(format!("all {} Sentinels name {master}; it is master; queues readable ({})", snap.sentinels.len(), queues.join(", ")))
        .with([("new_master", master)]))
}
