//! Patroni effects over its REST API: the preflight (a streaming replica within the lag limit),
//! `POST /switchover` with a healthy leader or `POST /failover` without one, and the write check.

use super::{Ctx, EffectError, Report, not_ready};
use crate::backends::postgres::{self as backend, PatroniClusterMember as Member};
use serde_json::json;

async fn cluster(ctx: &Ctx) -> Result<Vec<Member>, EffectError> {
    Ok(backend::patroni_cluster(&ctx.http(), &ctx.config.postgres.patroni).await?)
}

/// The cluster's scope, from `GET /patroni`: the name typed to confirm a failover.
pub async fn scope(ctx: &Ctx) -> Result<String, EffectError> {
    Ok(backend::patroni_scope(&ctx.http(), &ctx.config.postgres.patroni).await?)
}

fn lag_bytes(m: &Member) -> Option<u64> {
    m.lag.as_ref().and_then(serde_json::Value::as_u64)
}

fn leader(members: &[Member]) -> Option<&Member> {
    members.iter().find(|m| m.role == "leader" && m.state == "running")
}

/// A replica replicating within `max_lag` bytes (Patroni 3.0 says `running`, later ones `streaming`).
fn replicating(m: &Member, max_lag: u64) -> bool {
    m.role != "leader" && matches!(m.state.as_str(), "streaming" | "running") && lag_bytes(m).is_some_and(|l| l <= max_lag)
}

fn pick<'a>(members: &'a [Member], candidate: &str, max_lag: u64) -> Result<&'a Member, EffectError> {
    let eligible = |m: &&Member| replicating(m, max_lag);
    let seen = || members.iter().map(|m| format!("{} {} {} lag {:?}", m.name, m.role, m.state, m.lag)).collect::<Vec<_>>().join("; ");
    if candidate.is_empty() {
        members
            .iter()
            .find(eligible)
            .ok_or_else(|| not_ready(format!("no replica is streaming within {max_lag} bytes of lag ({})", seen())))
    } else {
        let m = members
            .iter()
            .find(|m| m.name == candidate)
            .ok_or_else(|| super::input(format!("no Patroni member `{candidate}` ({})", seen())))?;
        Some(m).filter(eligible).ok_or_else(|| {
            not_ready(format!("{candidate} cannot be promoted: {} {} lag {:?}, limit {max_lag} bytes", m.role, m.state, m.lag))
        })
    }
}

pub async fn ready(ctx: &Ctx, candidate: &str, max_lag: u64) -> Result<Report, EffectError> {
    let members = cluster(ctx).await?;
    let chosen = pick(&members, candidate, max_lag)?;
    let (mode, leader_name) = match leader(&members) {
        Some(l) => ("switchover", l.name.clone()),
        None => ("failover", String::new()),
    };
    let said = if mode == "switchover" {
        format!("leader {leader_name} is healthy: a switchover")
    } else {
        "no healthy leader: a failover".to_string()
    };
    Ok(Report::text(format!("{said} to {} ({}, lag {} bytes)", chosen.name, chosen.state, lag_bytes(chosen).unwrap_or(0))).with([
        ("leader", leader_name),
        ("candidate", chosen.name.clone()),
        ("mode", mode.to_string()),
    ]))
}

pub async fn switchover(ctx: &Ctx, candidate: &str) -> Result<Report, EffectError> {
    let members = cluster(ctx).await?;
    let chosen = pick(&members, candidate, u64::MAX)?.clone();
    let old = leader(&members).map(|l| l.name.clone());
    let (path, body) = match &old {
        Some(l) => ("switchover", json!({ "leader": l, "candidate": chosen.name })),
        None => ("failover", json!({ "candidate": chosen.name })),
    };
    let first = ctx.config.postgres.patroni.first().cloned().unwrap_or_default();
    let base = if chosen.api_url.is_empty() { first } else { chosen.api_url.trim_end_matches("/patroni").to_string() };
    let url = format!("{}/{path}", base.trim_end_matches('/'));
    let http = reqwest::Client::builder().timeout(ctx.timeout.max(std::time::Duration::from_secs(30))).build().unwrap_or_default();
    let resp = http
        .post(&url)
        .json(&body)
        .send()
        .await
        .map_err(|e| crate::backends::BackendError::Unreachable { target: format!("POST {url}"), detail: e.to_string() })?;
    let status = resp.status();
    let text = crate::sanitize::clean(resp.text().await.unwrap_or_default().trim());
    if !status.is_success() {
        return Err(crate::backends::BackendError::Server { target: format!("POST {url}"), server: format!("{status}: {text}") }.into());
    }
    Ok(Report::text(format!("POST /{path} → {status}: {text}"))
        .with([("old_leader", old.unwrap_or_default()), ("new_leader", chosen.name)]))
}

/// The leader Patroni names is not `not`, and a write (a temporary table) succeeds on it.
pub async fn leader_writable(ctx: &Ctx, not: &str) -> Result<Report, EffectError> {
    let members = cluster(ctx).await?;
    let l = leader(&members).ok_or_else(|| not_ready("Patroni names no running leader yet"))?;
    if !not.is_empty() && l.name == not {
        return Err(not_ready(format!("{} is still the leader", l.name)));
    }
    let member = ctx.config.postgres.members.iter().find(|m| m.name == l.name).ok_or_else(|| {
        super::input(format!("leader {} is not in [postgres] members; name the members as Patroni does to check writes", l.name))
    })?;
    let client = backend::connect(&member.dsn, ctx.timeout).await.map_err(|e| e.at(&l.name))?.client;
    client
        .batch_execute("CREATE TEMP TABLE sitrep_write_probe (at timestamptz); INSERT INTO sitrep_write_probe VALUES (now())")
        .await
        .map_err(|e| backend::query_error(&format!("{} refuses a write", l.name), &e))?;
    Ok(Report::text(format!("{} leads and accepted a write", l.name)).with([("new_leader", l.name.clone())]))
}

/// Redundancy after a failover: a replica streams from the leader within `max_lag`, and the old
/// leader `old` is said to have rejoined, or to be missing (stopped, or no longer listed) — the
/// cluster then serves with one member fewer, which the report names rather than hides.
pub async fn redundant(ctx: &Ctx, old: &str, max_lag: u64) -> Result<Report, EffectError> {
    let members = cluster(ctx).await?;
    let l = leader(&members).ok_or_else(|| not_ready("Patroni names no running leader"))?;
    let seen = || members.iter().map(|m| format!("{} {} {} lag {:?}", m.name, m.role, m.state, m.lag)).collect::<Vec<_>>().join("; ");
    let streaming = |m: &&Member| replicating(m, max_lag);
    let replica = members
        .iter()
        .find(streaming)
        .ok_or_else(|| not_ready(format!("no replica streams from {} within {max_lag} bytes yet ({})", l.name, seen())))?;
    let old_state = if old.is_empty() || old == l.name {
        String::new()
    } else {
        match members.iter().find(|m| m.name == old) {
            Some(m) if streaming(&m) => format!("{old} rejoined as a replica"),
            Some(m) => format!("{old} has NOT rejoined: Patroni reports it {} {} (rebuild it: patronictl reinit)", m.role, m.state),
            None => format!("{old} is missing: Patroni no longer lists it (bring it back or rebuild it)"),
        }
    };
    let mut text = format!("redundancy: {} streams from {} ({} bytes behind)", replica.name, l.name, lag_bytes(replica).unwrap_or(0));
    if !old_state.is_empty() {
        text.push_str(&format!("; {old_state}"));
    }
    Ok(Report::text(crate::sanitize::clean(&text)).with([("old_member_state", old_state)]))
}
