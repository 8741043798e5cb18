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

/// Every member as Patroni lists it, for a message: "pg-0 replica streaming lag Some(0); …".
fn listed(members: &[Member]) -> String {
    members.iter().map(|m| format!("{} {} {} lag {:?}", m.name, m.role, m.state, m.lag)).collect::<Vec<_>>().join("; ")
}

/// A replica replicating within `max_lag` bytes (Patroni 3.0 says `running`, later ones `streaming`).
fn replicating(m: &Member, max_lag: u64) -> bool {
    m.role != "leader" && matches!(m.state.as_str(), "streaming" | "running") && lag_bytes(m).is_some_and(|l| l <= max_lag)
}

fn pick<'a>(members: &'a [Member], candidate: &str, max_lag: u64) -> Result<&'a Member, EffectError> {
    let eligible = |m: &&Member| replicating(m, max_lag);
    if candidate.is_empty() {
        members
            .iter()
            .find(eligible)
            .ok_or_else(|| not_ready(format!("no replica is streaming within {max_lag} bytes of lag ({})", listed(members))))
    } else {
        let m = members
            .iter()
            .find(|m| m.name == candidate)
            .ok_or_else(|| super::input(format!("no Patroni member `{candidate}` ({})", listed(members))))?;
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

/// Redundancy after a failover: a replica streams from the leader within `max_lag`, and what
/// became of the others is said (the old leader `old` first): rejoined, not yet, or missing. A
/// member that stays missing or stopped for [`MISSING_GRACE`] is reported missing and the step
/// ends there, saying the cluster runs one member short (it will not come back by waiting); one
/// still starting or rejoining is waited for, and a timeout names it.
pub async fn redundant(ctx: &Ctx, old: &str, max_lag: u64) -> Result<Report, EffectError> {
    let waited_from = std::time::Instant::now();
    loop {
        let members = cluster(ctx).await?;
        let l = leader(&members).ok_or_else(|| not_ready("Patroni names no running leader"))?;
        // Every member but the leader: Patroni's own list, and the configured ones it no longer lists.
        let mut others: Vec<(String, Option<&Member>)> =
            members.iter().filter(|m| m.name != l.name).map(|m| (m.name.clone(), Some(m))).collect();
        for m in ctx.config.postgres.members.iter().filter(|m| m.name != l.name && !members.iter().any(|p| p.name == m.name)) {
            others.push((m.name.clone(), None));
        }
        if !old.is_empty() && old != l.name && !others.iter().any(|(n, _)| n == old) {
            others.push((old.to_string(), None));
        }
        others.sort_by_key(|(n, _)| n != old);
        let fate = |(name, m): &(String, Option<&Member>)| match m {
            Some(m) if replicating(m, max_lag) => format!("{name} rejoined as a replica of {}", l.name),
            Some(m) => format!("{name} has NOT rejoined: Patroni reports it {} {} (rebuild it: patronictl reinit)", m.role, m.state),
            None => format!("{name} is missing: Patroni no longer lists it (bring it back or rebuild it)"),
        };
        let fates = others.iter().map(fate).collect::<Vec<_>>().join("; ");
        let old_state = others.iter().find(|(n, _)| n == old).map(fate).unwrap_or_default();
        if let Some(replica) = members.iter().find(|m| replicating(m, max_lag)) {
            let text =
                format!("redundancy: {} streams from {} ({} bytes behind); {fates}", replica.name, l.name, lag_bytes(replica).unwrap_or(0));
            return Ok(Report::text(crate::sanitize::clean(&text)).with([("old_member_state", old_state)]));
        }
        let gone = |(_, m): &(String, Option<&Member>)| m.is_none_or(|m| matches!(m.state.as_str(), "stopped" | "crashed" | "stopping"));
        if !others.is_empty() && others.iter().all(gone) && waited_from.elapsed() >= MISSING_GRACE {
            let text = format!("redundancy NOT restored: no replica streams from {}, the cluster runs without it: {fates}", l.name);
            return Ok(Report::text(crate::sanitize::clean(&text)).with([("old_member_state", old_state)]));
        }
        if waited_from.elapsed() >= MISSING_GRACE {
            return Err(not_ready(format!("no replica streams from {} within {max_lag} bytes yet ({})", l.name, listed(&members))));
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

/// How long a stopped or unlisted member is given before it is reported missing.
const MISSING_GRACE: std::time::Duration = std::time::Duration::from_secs(20);
