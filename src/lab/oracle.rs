//! The soak's oracle: asks the real systems directly (SQL on each member, each Sentinel, ROLE and
//! LLEN on Redis, the S3 LIST, the Kubernetes API) and judges what the headless console claims.
//!
//! It connects only through sitrep's own backend functions with the resolved sitrep.toml, so TLS,
//! credentials and addresses are the console's; it shares no state with the collectors.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::backends::{self, BackendError};
use crate::config::Config;
use crate::model::{BackupKind, Health, Model, SourceId};

/// What the real systems said in one round of questions.
#[derive(Debug, Clone, Default)]
pub struct Truth {
    /// When the round began and ended: an answer is true somewhere in between.
    pub began: DateTime<Utc>,
    pub at: DateTime<Utc>,
    /// Member -> `pg_is_in_recovery()`, or why it did not answer.
    pub members: BTreeMap<String, Result<bool, String>>,
    /// Sentinel address -> the master it names.
    pub sentinels: BTreeMap<String, Result<Option<String>, String>>,
    /// Redis server (each one a Sentinel names) -> its ROLE.
    pub roles: BTreeMap<String, Result<String, String>>,
    /// Queue -> LLEN summed over kombu's priority lists, on the server whose ROLE is master.
    pub queues: BTreeMap<String, u64>,
    /// Keys under the dump prefix (sanitized as the screen shows them), or why LIST failed.
    pub dump_keys: Option<Result<BTreeSet<String>, String>>,
    /// "ns/name" of every pod, and each deployment's (desired, available), from the API.
    pub pods: Option<Result<KubeTruth, String>>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct KubeTruth {
    pub pods: BTreeSet<String>,
    pub deployments: BTreeMap<String, (u32, u32)>,
}

/// The oracle's clients: kept between rounds where connecting is costly (S3, kube); Postgres and
/// Redis are connected each round, since whether they can be reached is the question.
pub struct Oracle {
    config: Config,
    timeout: Duration,
    s3: Option<aws_sdk_s3::Client>,
    kube: Option<kube::Client>,
}

impl Oracle {
    pub fn new(config: Config) -> Self {
        let timeout = config.timing().timeout;
        Oracle { config, timeout, s3: None, kube: None }
    }

    /// One round: every system asked at once, each with the console's timeout.
    pub async fn ask(&mut self) -> Truth {
        let began = Utc::now();
        let Oracle { config, timeout, s3, kube: kube_client } = self;
        let asker = Asker { config, timeout: *timeout };
        let (members, (sentinels, roles, queues), dump_keys, pods) =
            tokio::join!(asker.members(), asker.redis(), s3_keys(config, s3, *timeout), kube(config, kube_client, *timeout));
        Truth { began, at: Utc::now(), members, sentinels, roles, queues, dump_keys, pods }
    }
}

/// The questions asked afresh each round.
struct Asker<'a> {
    config: &'a Config,
    timeout: Duration,
}

impl Asker<'_> {
    async fn members(&self) -> BTreeMap<String, Result<bool, String>> {
        if !self.config.source_enabled(SourceId::Replication) {
            return BTreeMap::new();
        }
        let asks = self.config.postgres.member_dsns().into_iter().map(|(name, dsn)| async move {
            let answer = async {
                let c = backends::postgres::connect(dsn.as_str(), self.timeout).await?;
                backends::within(&name, self.timeout, backends::postgres::in_recovery(&c.client, &name)).await
            };
            (name.clone(), answer.await.map_err(|e: BackendError| e.to_string()))
        });
        futures::future::join_all(asks).await.into_iter().collect()
    }

    async fn redis(
        &self,
    ) -> (BTreeMap<String, Result<Option<String>, String>>, BTreeMap<String, Result<String, String>>, BTreeMap<String, u64>) {
        if !self.config.source_enabled(SourceId::Sentinel) {
            return Default::default();
        }
        let s = self.config.sentinel_settings();
        let t = self.timeout;
        let asks = s.addrs.iter().map(|addr| {
            let s = &s;
            async move {
                let answer = async {
                    let mut con = s.connect(addr, t).await?;
                    backends::redis::master_addr(&mut con, addr, &s.master, t).await
                };
                (addr.clone(), answer.await.map_err(|e| e.to_string()))
            }
        });
        let sentinels: BTreeMap<_, _> = futures::future::join_all(asks).await.into_iter().collect();
        let named: BTreeSet<String> = sentinels.values().filter_map(|a| a.as_ref().ok().cloned().flatten()).collect();
        let mut roles = BTreeMap::new();
        let mut queues = BTreeMap::new();
        for addr in named {
            let role = async {
                let mut con = s.connect_master(&addr, t).await?;
                let reply: Vec<redis::Value> = backends::redis::query(&mut con, &redis::cmd("ROLE"), &addr, "ROLE", t).await?;
                let role = reply.first().and_then(|v| redis::from_redis_value::<String>(v.clone()).ok()).unwrap_or_default();
                if role == "master" && queues.is_empty() {
                    queues = self.depths(&mut con, &addr).await;
                }
                Ok::<_, BackendError>(role)
            };
            roles.insert(addr.clone(), role.await.map_err(|e| e.to_string()));
        }
        (sentinels, roles, queues)
    }

    /// LLEN of each queue's kombu lists on the master (priority steps 0..=9), as the queues pane sums them.
    async fn depths(&self, con: &mut redis::aio::MultiplexedConnection, addr: &str) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for name in &self.config.queues.names {
            let mut depth = 0;
            for p in 0..=9u8 {
                let key = backends::redis::kombu_key(name, p);
                depth += backends::redis::query::<u64>(con, redis::cmd("LLEN").arg(&key), addr, "LLEN", self.timeout).await.unwrap_or(0);
            }
            out.insert(name.clone(), depth);
        }
        out
    }
}

/// The dump prefix of `[s3]`, if the estate keeps dumps.
pub fn dump_prefix(config: &Config) -> Option<String> {
    config.s3.prefixes().into_iter().find(|(k, _)| *k == BackupKind::Dump).map(|(_, p)| p.to_string())
}

async fn s3_keys(config: &Config, client: &mut Option<aws_sdk_s3::Client>, t: Duration) -> Option<Result<BTreeSet<String>, String>> {
    if !config.source_enabled(SourceId::Backups) {
        return None;
    }
    let prefix = dump_prefix(config)?;
    let answer = async {
        if client.is_none() {
            *client = Some(backends::within("s3", t, backends::s3::client(config.s3.access())).await?);
        }
        let Some(c) = client.as_ref() else { return Err(BackendError::unexpected("s3", "no client")) };
        backends::within("s3", t, backends::s3::list(c, &config.s3.bucket, &prefix)).await
    };
    Some(answer.await.map(|listed| listed.iter().map(|l| crate::sanitize::clean(&l.key)).collect()).map_err(|e| e.to_string()))
}

async fn kube(config: &Config, client: &mut Option<kube::Client>, t: Duration) -> Option<Result<KubeTruth, String>> {
    if !config.source_enabled(SourceId::Pods) {
        return None;
    }
    let answer = async {
        if client.is_none() {
            *client = Some(backends::kube::client(&config.kube.kubeconfig, &config.kube.context, t).await?);
        }
        let Some(c) = client.as_ref() else { return Err(BackendError::unexpected("kube", "no client")) };
        let mut truth = KubeTruth::default();
        let namespaces = if config.kube.namespaces.is_empty() { vec![String::new()] } else { config.kube.namespaces.clone() };
        for ns in namespaces {
            let snap = backends::within("the Kubernetes API", t, backends::kube::list_snapshot(c, &ns)).await?;
            truth.pods.extend(snap.pods.iter().map(|p| format!("{}/{}", p.namespace, p.name)));
            truth.deployments.extend(snap.deployments.iter().map(|d| (format!("{}/{}", d.namespace, d.name), (d.desired, d.available))));
        }
        Ok::<_, BackendError>(truth)
    };
    let result = answer.await;
    if result.is_err() {
        *client = None;
    }
    Some(result.map_err(|e| e.to_string()))
}

/// One thing the console shows as fresh, to be held against the truth.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Claim {
    /// The replication pane shows member `name` answering, in recovery or not.
    Member { name: String, in_recovery: bool },
    /// The Sentinel pane shows Sentinel `addr` naming `master`.
    SentinelNames { addr: String, master: String },
    /// The Sentinel pane shows `addr` as the master, not flagged down.
    RedisMaster { addr: String },
    /// The queues pane shows this depth.
    QueueDepth { name: String, depth: u64 },
    /// The backups pane lists these dumps (sanitized keys).
    Dumps { keys: BTreeSet<String> },
    /// The pods pane lists exactly these pods.
    Pods { pods: BTreeSet<String> },
    /// The pods pane shows a deployment with (desired, available).
    Deployment { name: String, desired: u32, available: u32 },
}

impl Claim {
    /// The invariant this claim is counted under in the report.
    pub fn invariant(&self) -> &'static str {
        match self {
            Claim::Member { .. } => "fresh-is-true: postgres member",
            Claim::SentinelNames { .. } => "fresh-is-true: sentinel master",
            Claim::RedisMaster { .. } => "fresh-is-true: redis role",
            Claim::QueueDepth { .. } => "fresh-is-true: queue depth",
            Claim::Dumps { .. } => "fresh-is-true: s3 dumps",
            Claim::Pods { .. } => "fresh-is-true: kube pods",
            Claim::Deployment { .. } => "fresh-is-true: kube deployment",
        }
    }

    /// Whether one round of truth agrees (Some(true)), disagrees, or cannot tell (None).
    pub fn agrees(&self, t: &Truth) -> Option<bool> {
        match self {
            Claim::Member { name, in_recovery } => Some(t.members.get(name)?.as_ref().ok() == Some(in_recovery)),
            Claim::SentinelNames { addr, master } => Some(t.sentinels.get(addr)?.as_ref().ok() == Some(&Some(master.clone()))),
            Claim::RedisMaster { addr } => Some(t.roles.get(addr)?.as_ref().ok().map(String::as_str) == Some("master")),
            Claim::QueueDepth { name, depth } => t.queues.get(name).map(|d| d == depth),
            Claim::Dumps { keys } => Some(t.dump_keys.as_ref()?.as_ref().ok().is_some_and(|have| keys.is_subset(have))),
            Claim::Pods { pods } => Some(t.pods.as_ref()?.as_ref().ok().is_some_and(|k| &k.pods == pods)),
            Claim::Deployment { name, desired, available } => {
                Some(t.pods.as_ref()?.as_ref().ok().and_then(|k| k.deployments.get(name)) == Some(&(*desired, *available)))
            }
        }
    }

    /// Values that move while the console reads them (a queue's depth, the pods of a rollout, the
    /// dumps being written) are judged against the range the rounds around the claim saw, not one
    /// round: a read that fell between two rounds saw something between them. None for the claims
    /// that are judged round by round.
    pub fn within_range(&self, truths: &[&Truth]) -> Option<bool> {
        match self {
            Claim::QueueDepth { name, depth } => {
                let seen: Vec<u64> = truths.iter().filter_map(|t| t.queues.get(name).copied()).collect();
                let (lo, hi) = (seen.iter().min()?, seen.iter().max()?);
                let margin = 10 + hi / 10;
                Some(*depth + margin >= *lo && *depth <= hi + margin)
            }
            Claim::Pods { pods } => {
                let seen: Vec<&BTreeSet<String>> = truths.iter().filter_map(|t| t.pods.as_ref()?.as_ref().ok()).map(|k| &k.pods).collect();
                let (first, rest) = seen.split_first()?;
                // Every pod shown existed in some round; every pod that every round saw is shown.
                let union: BTreeSet<&String> = seen.iter().flat_map(|s| s.iter()).collect();
                let always: BTreeSet<&String> = first.iter().filter(|p| rest.iter().all(|s| s.contains(*p))).collect();
                Some(pods.iter().all(|p| union.contains(p)) && always.iter().all(|p| pods.contains(*p)))
            }
            Claim::Deployment { name, desired, available } => {
                let seen: Vec<(u32, u32)> =
                    truths.iter().filter_map(|t| t.pods.as_ref()?.as_ref().ok()?.deployments.get(name).copied()).collect();
                let (lo, hi) = (seen.iter().map(|s| s.1).min()?, seen.iter().map(|s| s.1).max()?);
                Some(seen.iter().any(|s| s.0 == *desired) && (lo..=hi).contains(available))
            }
            Claim::Dumps { keys } => {
                let seen: Vec<&BTreeSet<String>> = truths.iter().filter_map(|t| t.dump_keys.as_ref()?.as_ref().ok()).collect();
                if seen.is_empty() {
                    return None;
                }
                Some(keys.iter().all(|k| seen.iter().any(|s| s.contains(k))))
            }
            _ => None,
        }
    }
}

/// What the console claims as fresh right now: only panes whose health is `Fresh`, and in them
/// only the rows shown as answering.
pub fn claims(model: &Model) -> Vec<Claim> {
    let fresh = |s| matches!(model.health(s), Health::Fresh { .. });
    let mut out = Vec::new();
    if fresh(SourceId::Replication)
        && let Some(r) = &model.replication
    {
        out.extend(r.members.iter().filter(|m| m.reachable).map(|m| Claim::Member { name: m.name.clone(), in_recovery: m.in_recovery }));
    }
    if fresh(SourceId::Sentinel)
        && let Some(s) = &model.sentinel
    {
        for row in s.sentinels.iter().filter(|r| r.error.is_none()) {
            if let Some(master) = &row.master_addr {
                out.push(Claim::SentinelNames { addr: row.addr.clone(), master: master.clone() });
            }
        }
        if let Some(m) = s.master.as_ref().filter(|m| !m.s_down() && !m.o_down() && !m.failover_in_progress()) {
            out.push(Claim::RedisMaster { addr: m.addr.clone() });
        }
    }
    if fresh(SourceId::Queues)
        && let Some(q) = &model.queues
    {
        out.extend(q.queues.iter().filter_map(|r| Some(Claim::QueueDepth { name: r.name.clone(), depth: r.known_depth()? })));
    }
    if fresh(SourceId::Backups)
        && let Some(b) = &model.backups
    {
        out.push(Claim::Dumps { keys: b.of_kind(BackupKind::Dump).map(|i| i.key.clone()).collect() });
    }
    if fresh(SourceId::Pods)
        && let Some(p) = &model.pods
    {
        out.push(Claim::Pods { pods: p.pods.iter().map(|p| format!("{}/{}", p.namespace, p.name)).collect() });
        out.extend(p.deployments.iter().map(|d| Claim::Deployment {
            name: format!("{}/{}", d.namespace, d.name),
            desired: d.desired,
            available: d.available,
        }));
    }
    out
}

/// The verdict on one claim made at `at`, given every round of truth: true when some round within
/// `window` before it (or one round after, the read it came from may have been in flight) agrees.
pub fn judge(claim: &Claim, at: DateTime<Utc>, window: chrono::Duration, truths: &[Truth]) -> Verdict {
    let slack = chrono::Duration::seconds(2);
    let mut near: Vec<&Truth> = truths.iter().filter(|t| t.at >= at - window && t.began <= at + slack).collect();
    // Under load a round can take longer than the slack: the first round to begin after the claim
    // still saw the world the claim's read may have seen.
    if let Some(next) = truths.iter().filter(|t| t.began > at + slack).min_by_key(|t| t.began) {
        near.push(next);
    }
    if let Some(ok) = claim.within_range(&near) {
        return if ok { Verdict::True } else { Verdict::False(describe_truth(claim, &near)) };
    }
    let answers: Vec<bool> = near.iter().filter_map(|t| claim.agrees(t)).collect();
    match answers.is_empty() {
        true => Verdict::Unknown,
        false if answers.contains(&true) => Verdict::True,
        false => Verdict::False(describe_truth(claim, &near)),
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    True,
    /// No round near it could tell (the oracle's own questions timed out or were not asked).
    Unknown,
    /// Every round near it said otherwise: what they said.
    False(String),
}

/// What the rounds near a false claim said about its subject, for the report.
fn describe_truth(claim: &Claim, near: &[&Truth]) -> String {
    let said: Vec<String> = near
        .iter()
        .map(|t| {
            let what = match claim {
                Claim::Member { name, .. } => format!("{:?}", t.members.get(name)),
                Claim::SentinelNames { addr, .. } => format!("{:?}", t.sentinels.get(addr)),
                Claim::RedisMaster { addr } => format!("{:?}", t.roles.get(addr)),
                Claim::QueueDepth { name, .. } => format!("{:?}", t.queues.get(name)),
                Claim::Dumps { .. } => format!("{:?}", t.dump_keys.as_ref().map(|k| k.as_ref().map(BTreeSet::len))),
                Claim::Pods { .. } => format!("{:?}", t.pods.as_ref().map(|k| k.as_ref().map(|k| k.pods.clone()))),
                Claim::Deployment { name, .. } => {
                    format!("{:?}", t.pods.as_ref().map(|k| k.as_ref().map(|k| k.deployments.get(name).copied())))
                }
            };
            format!("{}: {what}", t.at.format("%H:%M:%S%.3f"))
        })
        .collect();
    crate::sanitize::clean(&said.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap_or_default()
    }

    fn round(s: i64, pg0: Result<bool, String>, celery: u64) -> Truth {
        Truth {
            began: t(s) - chrono::Duration::milliseconds(300),
            at: t(s),
            members: [("pg-0".to_string(), pg0)].into_iter().collect(),
            queues: [("celery".to_string(), celery)].into_iter().collect(),
            ..Truth::default()
        }
    }

    #[test]
    fn a_fresh_primary_that_stopped_answering_long_ago_is_a_lie_and_a_recent_one_is_not() {
        let primary = Claim::Member { name: "pg-0".into(), in_recovery: false };
        let window = chrono::Duration::seconds(9);
        let down = || Err("no answer within 3s".to_string());
        let truths = vec![round(0, Ok(false), 0), round(1, down(), 0), round(12, down(), 0), round(13, down(), 0)];
        assert_eq!(judge(&primary, t(2), window, &truths), Verdict::True, "within the window the last answer still counts");
        assert!(matches!(judge(&primary, t(12), window, &truths), Verdict::False(_)), "every round near it says it is down");
        let standby = Claim::Member { name: "pg-0".into(), in_recovery: true };
        assert!(matches!(judge(&standby, t(1), window, &truths), Verdict::False(_)), "a primary shown as a standby");
        assert_eq!(judge(&primary, t(40), window, &truths), Verdict::Unknown, "no round near it cannot tell");
    }

    #[test]
    fn a_depth_holds_between_the_rounds_around_it() {
        let truths = vec![round(0, Ok(false), 300), round(1, Ok(false), 900)];
        let window = chrono::Duration::seconds(9);
        let depth = |d| Claim::QueueDepth { name: "celery".into(), depth: d };
        assert_eq!(judge(&depth(500), t(1), window, &truths), Verdict::True);
        assert!(matches!(judge(&depth(5000), t(1), window, &truths), Verdict::False(_)));
        assert!(matches!(judge(&depth(0), t(1), window, &truths), Verdict::False(_)), "the pane shows a drain that did not happen");
    }

    fn kube_round(s: i64, pods: &[&str], available: u32) -> Truth {
        let pods = pods.iter().map(|p| format!("shop/{p}")).collect();
        let deployments = [("shop/api".to_string(), (3, available))].into_iter().collect();
        Truth {
            began: t(s) - chrono::Duration::milliseconds(300),
            at: t(s),
            pods: Some(Ok(KubeTruth { pods, deployments })),
            ..Truth::default()
        }
    }

    #[test]
    fn a_rollout_read_between_two_rounds_is_true_and_a_pod_no_round_saw_is_a_lie() {
        let window = chrono::Duration::seconds(9);
        let truths = vec![kube_round(0, &["a", "b", "old"], 3), kube_round(1, &["a", "b", "new"], 2)];
        let pods = |p: &[&str]| Claim::Pods { pods: p.iter().map(|p| format!("shop/{p}")).collect() };
        assert_eq!(judge(&pods(&["a", "b", "old", "new"]), t(1), window, &truths), Verdict::True, "old going, new coming");
        assert!(matches!(judge(&pods(&["a", "b", "ghost"]), t(1), window, &truths), Verdict::False(_)), "a pod no round saw");
        assert!(matches!(judge(&pods(&["a", "old"]), t(1), window, &truths), Verdict::False(_)), "b was in every round");
        let dep = |available| Claim::Deployment { name: "shop/api".into(), desired: 3, available };
        assert_eq!(judge(&dep(2), t(1), window, &truths), Verdict::True);
        assert!(matches!(judge(&dep(0), t(1), window, &truths), Verdict::False(_)), "fewer available than any round saw");
    }

    #[test]
    fn a_claim_read_after_the_last_round_in_its_slack_is_judged_by_the_next_round_to_begin() {
        let window = chrono::Duration::seconds(9);
        // Under load the next round began 5 s after the claim: the dump written in between is true.
        let round = |s: i64, keys: &[&str]| Truth {
            began: t(s),
            at: t(s) + chrono::Duration::seconds(1),
            dump_keys: Some(Ok(keys.iter().map(|k| k.to_string()).collect())),
            ..Truth::default()
        };
        let truths = vec![round(0, &["d1"]), round(5, &["d1", "d2"])];
        let dumps = |k: &[&str]| Claim::Dumps { keys: k.iter().map(|k| k.to_string()).collect() };
        assert_eq!(judge(&dumps(&["d1", "d2"]), t(1), window, &truths), Verdict::True);
        assert!(matches!(judge(&dumps(&["d1", "d3"]), t(1), window, &truths), Verdict::False(_)));
        // A frozen pane still showing d0 long after it went is a lie.
        let later = vec![round(0, &["d0"]), round(20, &["d1"]), round(21, &["d1"])];
        assert!(matches!(judge(&dumps(&["d0"]), t(21), window, &later), Verdict::False(_)));
    }
}
