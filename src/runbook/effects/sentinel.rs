//! Redis Sentinel effects: the failover preflight (quorum reachable, a replica in sync),
//! `SENTINEL FAILOVER`, and the check that every Sentinel agrees and the queues live on the new master.

use super::{Ctx, Report};
use crate::model::{Observation, SentinelSnapshot};
use crate::sources::Collect;
use crate::sources::sentinel::{Collector, connect};

fn password(ctx: &Ctx) -> String {
    if ctx.config.sentinel.password.is_empty() {
        std::env::var("SITREP_SENTINEL_PASSWORD").unwrap_or_default()
    } else {
        ctx.config.sentinel.password.clone()
    }
}

fn master_name(ctx: &Ctx) -> Result<String, String> {
    let m = &ctx.config.sentinel.master;
    if m.is_empty() || ctx.config.sentinel.addrs.is_empty() {
        return Err("no Sentinel configured; set [sentinel] addrs and master in sitrep.toml".into());
    }
    Ok(m.clone())
}

async fn snapshot(ctx: &Ctx) -> Result<SentinelSnapshot, String> {
    master_name(ctx)?;
    match Collector::new(&ctx.config).collect().await? {
        Observation::Sentinel(s) => Ok(s),
        _ => Err("the Sentinel collector answered with something else".into()),
    }
}

/// Runs one Sentinel command on the first Sentinel that answers.
async fn ask(ctx: &Ctx, cmd: &redis::Cmd) -> Result<(String, redis::Value), String> {
    let mut last = String::new();
    for addr in &ctx.config.sentinel.addrs {
        match connect(addr, &password(ctx), ctx.timeout).await {
            Ok(mut con) => match tokio::time::timeout(ctx.timeout, cmd.query_async::<redis::Value>(&mut con)).await {
                Ok(Ok(v)) => return Ok((addr.clone(), v)),
                Ok(Err(e)) => last = format!("{addr}: {e}"),
                Err(_) => last = format!("{addr}: no answer within {}s", ctx.timeout.as_secs()),
            },
            Err(e) => last = e,
        }
    }
    Err(last)
}

pub async fn ready(ctx: &Ctx, max_lag_bytes: u64) -> Result<Report, String> {
    let name = master_name(ctx)?;
    let snap = snapshot(ctx).await?;
    let master = snap.master.clone().ok_or("no Sentinel knows the master")?;
    let (addr, quorum) =
        ask(ctx, redis::cmd("SENTINEL").arg("CKQUORUM").arg(&name)).await.map_err(|e| format!("quorum not reachable: {e}"))?;
    if snap.failover_in_progress() {
        return Err(format!("a failover of {name} is already in progress; wait for it and watch the Sentinel pane"));
    }
    let replica = snap
        .replicas
        .iter()
        .filter(|r| !r.flags.contains("s_down") && !r.flags.contains("disconnected") && r.link_status == "ok")
        .find(|r| r.lag_bytes.is_some_and(|l| l as u64 <= max_lag_bytes))
        .ok_or_else(|| {
            let seen: Vec<String> =
                snap.replicas.iter().map(|r| format!("{} {} link {} lag {:?}", r.addr, r.flags, r.link_status, r.lag_bytes)).collect();
            format!(
                "no replica of {name} is in sync within {max_lag_bytes} bytes ({}); a failover now would lose writes",
                if seen.is_empty() { "none known".into() } else { seen.join("; ") }
            )
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
        crate::sources::clean(&quorum),
        master.addr,
        replica.addr,
        replica.lag_bytes.unwrap_or(0)
    ))
    .with([("old_master", master.addr.clone()), ("replica", replica.addr.clone())]))
}

trait InProgress {
    fn failover_in_progress(&self) -> bool;
}

impl InProgress for SentinelSnapshot {
    fn failover_in_progress(&self) -> bool {
        self.master.as_ref().is_some_and(|m| m.failover_in_progress())
    }
}

pub async fn failover(ctx: &Ctx) -> Result<Report, String> {
    let name = master_name(ctx)?;
    let snap = snapshot(ctx).await?;
    let old = snap.agreed_master().unwrap_or("unknown").to_string();
    let replica = snap.replicas.first().map(|r| r.addr.clone()).unwrap_or_default();
    let (addr, _) = ask(ctx, redis::cmd("SENTINEL").arg("FAILOVER").arg(&name))
        .await
        .map_err(|e| format!("SENTINEL FAILOVER {name}: {e}; `-NOGOODSLAVE` means no replica can be promoted"))?;
    Ok(Report::text(format!("SENTINEL FAILOVER {name} accepted by {addr}; master was {old}"))
        .with([("old_master", old), ("replica", replica)]))
}

pub async fn agree(ctx: &Ctx, not: &str) -> Result<Report, String> {
    let snap = snapshot(ctx).await?;
    let views: Vec<String> =
        snap.sentinels.iter().map(|s| format!("{} → {}", s.addr, s.master_addr.as_deref().or(s.error.as_deref()).unwrap_or("?"))).collect();
    if snap.reachable() < snap.sentinels.len() || snap.disagree() {
        return Err(format!("the Sentinels do not all agree yet: {}", views.join("; ")));
    }
    let master = snap.agreed_master().ok_or("no Sentinel names a master")?.to_string();
    if !not.is_empty() && master == not {
        return Err(format!("every Sentinel still names {master}, the old master"));
    }
    let mut con = connect(&master, &password(ctx), ctx.timeout).await?;
    let role: Vec<redis::Value> = redis::cmd("ROLE").query_async(&mut con).await.map_err(|e| format!("ROLE on {master}: {e}"))?;
    if !matches!(role.first(), Some(redis::Value::BulkString(b)) if b == b"master") {
        return Err(format!("{master} does not call itself master yet"));
    }
    let mut pipe = redis::pipe();
    for q in &ctx.config.queues.names {
        pipe.cmd("LLEN").arg(q);
    }
    let depths: Vec<u64> = pipe.query_async(&mut con).await.map_err(|e| format!("reading queues on {master}: {e}"))?;
    let queues: Vec<String> = ctx.config.queues.names.iter().zip(&depths).map(|(q, d)| format!("{q}={d}")).collect();
    Ok(Report::text(format!("all {} Sentinels name {master}; it is master; queues readable ({})", snap.sentinels.len(), queues.join(", ")))
        .with([("new_master", master)]))
}
