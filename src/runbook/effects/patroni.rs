//! Patroni effects over its REST API: the preflight (a streaming replica within the lag limit),
//! `POST /switchover` with a healthy leader or `POST /failover` without one, and the write check.

use super::{Ctx, Report};
use crate::sources::postgres::{PatroniCluster as Cluster, PatroniClusterMember as Member, pg_config};
use serde_json::json;

fn urls(ctx: &Ctx) -> Result<&[String], String> {
    let urls = &ctx.config.postgres.patroni;
    if urls.is_empty() {
        return Err("no Patroni REST endpoint configured; set [postgres] patroni = [\"http://host:8008\"]".into());
    }
    Ok(urls)
}

async fn cluster(ctx: &Ctx) -> Result<Vec<Member>, String> {
    let http = ctx.http();
    let mut last = String::new();
    for url in urls(ctx)? {
        let endpoint = format!("{}/cluster", url.trim_end_matches('/'));
        match http.get(&endpoint).send().await {
            Ok(r) => match r.json::<Cluster>().await {
                Ok(c) => return Ok(c.members),
                Err(e) => last = format!("{endpoint}: {e}"),
            },
            Err(e) => last = format!("{endpoint}: {e}"),
        }
    }
    Err(format!("no Patroni answers ({last}); check [postgres] patroni in sitrep.toml"))
}

/// The cluster's scope, from `GET /patroni`: the name typed to confirm a failover.
pub async fn scope(ctx: &Ctx) -> Result<String, String> {
    let http = ctx.http();
    for url in urls(ctx)? {
        if let Ok(r) = http.get(format!("{}/patroni", url.trim_end_matches('/'))).send().await
            && let Ok(v) = r.json::<serde_json::Value>().await
            && let Some(s) = v.pointer("/patroni/scope").and_then(|s| s.as_str())
        {
            return Ok(crate::sources::clean(s));
        }
    }
    Err("no Patroni endpoint told its scope".into())
}

fn lag_bytes(m: &Member) -> Option<u64> {
    m.lag.as_ref().and_then(serde_json::Value::as_u64)
}

fn leader(members: &[Member]) -> Option<&Member> {
    members.iter().find(|m| m.role == "leader" && m.state == "running")
}

fn pick<'a>(members: &'a [Member], candidate: &str, max_lag: u64) -> Result<&'a Member, String> {
    let eligible = |m: &&Member| {
        m.role != "leader" && matches!(m.state.as_str(), "streaming" | "running") && lag_bytes(m).is_some_and(|l| l <= max_lag)
    };
    let seen = || members.iter().map(|m| format!("{} {} {} lag {:?}", m.name, m.role, m.state, m.lag)).collect::<Vec<_>>().join("; ");
    if candidate.is_empty() {
        members.iter().find(eligible).ok_or_else(|| format!("no replica is streaming within {max_lag} bytes of lag ({})", seen()))
    } else {
        let m = members.iter().find(|m| m.name == candidate).ok_or_else(|| format!("no Patroni member `{candidate}` ({})", seen()))?;
        Some(m)
            .filter(eligible)
            .ok_or_else(|| format!("{candidate} cannot be promoted: {} {} lag {:?}, limit {max_lag} bytes", m.role, m.state, m.lag))
    }
}

pub async fn ready(ctx: &Ctx, candidate: &str, max_lag: u64) -> Result<Report, String> {
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

pub async fn switchover(ctx: &Ctx, candidate: &str) -> Result<Report, String> {
    let members = cluster(ctx).await?;
    let chosen = pick(&members, candidate, u64::MAX)?.clone();
    let old = leader(&members).map(|l| l.name.clone());
    let (path, body) = match &old {
        Some(l) => ("switchover", json!({ "leader": l, "candidate": chosen.name })),
        None => ("failover", json!({ "candidate": chosen.name })),
    };
    let base = if chosen.api_url.is_empty() { urls(ctx)?[0].clone() } else { chosen.api_url.trim_end_matches("/patroni").to_string() };
    let url = format!("{}/{path}", base.trim_end_matches('/'));
    let http = reqwest::Client::builder().timeout(ctx.timeout.max(std::time::Duration::from_secs(30))).build().unwrap_or_default();
    let resp = http.post(&url).json(&body).send().await.map_err(|e| format!("POST {url}: {e}"))?;
    let status = resp.status();
    let text = crate::sources::clean(resp.text().await.unwrap_or_default().trim());
    if !status.is_success() {
        return Err(format!("POST {url} answered {status}: {text}"));
    }
    Ok(Report::text(format!("POST /{path} → {status}: {text}"))
        .with([("old_leader", old.unwrap_or_default()), ("new_leader", chosen.name)]))
}

/// The leader Patroni names is not `not`, and a write (a temporary table) succeeds on it.
pub async fn leader_writable(ctx: &Ctx, not: &str) -> Result<Report, String> {
    let members = cluster(ctx).await?;
    let l = leader(&members).ok_or("Patroni names no running leader yet")?;
    if !not.is_empty() && l.name == not {
        return Err(format!("{} is still the leader", l.name));
    }
    let member = ctx
        .config
        .postgres
        .members
        .iter()
        .find(|m| m.name == l.name)
        .ok_or_else(|| format!("leader {} is not in [postgres] members; name the members as Patroni does to check writes", l.name))?;
    let cfg = pg_config(&member.dsn, ctx.timeout)?;
    let (client, conn) = cfg.connect(tokio_postgres::NoTls).await.map_err(|e| format!("cannot connect to {}: {e}", l.name))?;
    tokio::spawn(conn);
    client
        .batch_execute("CREATE TEMP TABLE sitrep_write_probe (at timestamptz); INSERT INTO sitrep_write_probe VALUES (now())")
        .await
        .map_err(|e| format!("{} refuses a write: {e}", l.name))?;
    Ok(Report::text(format!("{} leads and accepted a write", l.name)).with([("new_leader", l.name.clone())]))
}
