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
    /// The kinds of question of which every one asked this round timed out. Such a round says
    /// nothing about them: a starved machine makes the oracle late as well as the systems, and
    /// the oracle cannot tell which. A round that had any answer of a kind is kept.
    pub starved: BTreeSet<Question>,
}

/// A kind of question the oracle asks each round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Question {
    Members,
    Sentinels,
    Roles,
    Queues,
    Dumps,
    Kube,
}

/// Every answer of a kind timed out (and at least one was asked).
fn all_timed_out<'a, T: 'a>(answers: impl IntoIterator<Item = &'a Result<T, BackendError>>) -> bool {
    let mut any = false;
    for a in answers {
        any = true;
        if !a.as_ref().is_err_and(BackendError::is_timeout) {
            return false;
        }
    }
    any
}

/// Whether a source's error says only that its answer was late: the poll's and the watchers'
/// timeout words, and [`BackendError::Timeout`]'s.
pub fn reads_as_timeout(error: &str) -> bool {
    error.contains("no answer within") || error.contains("did not answer within")
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
        let ((members, m), ((sentinels, roles, queues), r), (dump_keys, d), (pods, k)) =
            tokio::join!(asker.members(), asker.redis(), s3_keys(config, s3, *timeout), kube(config, kube_client, *timeout));
        let starved = m.into_iter().chain(r).chain(d).chain(k).collect();
        Truth { began, at: Utc::now(), members, sentinels, roles, queues, dump_keys, pods, starved }
    }
}

/// The questions asked afresh each round.
struct Asker<'a> {
    config: &'a Config,
    timeout: Duration,
}

impl Asker<'_> {
    async fn members(&self) -> (BTreeMap<String, Result<bool, String>>, Vec<Question>) {
        if !self.config.source_enabled(SourceId::Replication) {
            return Default::default();
        }
        let asks = self.config.postgres.member_dsns().into_iter().map(|(name, dsn)| async move {
            let answer = async {
                let c = backends::postgres::connect(dsn.as_str(), self.timeout).await?;
                backends::within(&name, self.timeout, backends::postgres::in_recovery(&c.client, &name)).await
            };
            (name.clone(), answer.await)
        });
        let answers = futures::future::join_all(asks).await;
        let starved = all_timed_out(answers.iter().map(|(_, a)| a)).then_some(Question::Members).into_iter().collect();
        (answers.into_iter().map(|(name, a)| (name, a.map_err(|e| e.to_string()))).collect(), starved)
    }

    #[allow(clippy::type_complexity)]
    async fn redis(
        &self,
    ) -> ((BTreeMap<String, Result<Option<String>, String>>, BTreeMap<String, Result<String, String>>, BTreeMap<String, u64>), Vec<Question>)
    {
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
                (addr.clone(), answer.await)
            }
        });
        let asked = futures::future::join_all(asks).await;
        let mut starved = Vec::new();
        if all_timed_out(asked.iter().map(|(_, a)| a)) {
            starved.push(Question::Sentinels);
        }
        let sentinels: BTreeMap<_, _> = asked.into_iter().map(|(addr, a)| (addr, a.map_err(|e| e.to_string()))).collect();
        let named: BTreeSet<String> = sentinels.values().filter_map(|a| a.as_ref().ok().cloned().flatten()).collect();
        let mut roles = BTreeMap::new();
        let mut role_answers = Vec::new();
        let mut queues = None;
        for addr in named {
            let role = async {
                let mut con = s.connect_master(&addr, t).await?;
                let reply: Vec<redis::Value> = backends::redis::query(&mut con, &redis::cmd("ROLE"), &addr, "ROLE", t).await?;
                let role = reply.first().and_then(|v| redis::from_redis_value::<String>(v.clone()).ok()).unwrap_or_default();
                if role == "master" && queues.is_none() {
                    queues = Some(self.depths(&mut con, &addr).await);
                }
                Ok::<_, BackendError>(role)
            };
            let answer = role.await;
            roles.insert(addr.clone(), answer.clone().map_err(|e| e.to_string()));
            role_answers.push(answer);
        }
        if all_timed_out(&role_answers) {
            starved.push(Question::Roles);
        }
        let (queues, late) = queues.unwrap_or_default();
        if late && queues.is_empty() && !self.config.queues.names.is_empty() {
            starved.push(Question::Queues);
        }
        ((sentinels, roles, queues), starved)
    }

    /// LLEN of each queue's kombu lists on the master (priority steps 0..=9), as the queues pane
    /// sums them. A queue any of whose lists did not answer is left out (its depth is unknown,
    /// not 0); the flag says some LLEN timed out.
    async fn depths(&self, con: &mut redis::aio::MultiplexedConnection, addr: &str) -> (BTreeMap<String, u64>, bool) {
        let mut out = BTreeMap::new();
        let mut late = false;
        'queue: for name in &self.config.queues.names {
            let mut depth = 0;
            for p in 0..=9u8 {
                let key = backends::redis::kombu_key(name, p);
                match backends::redis::query::<u64>(con, redis::cmd("LLEN").arg(&key), addr, "LLEN", self.timeout).await {
                    Ok(n) => depth += n,
                    Err(e) => {
                        late |= e.is_timeout();
                        continue 'queue;
                    }
                }
            }
            out.insert(name.clone(), depth);
        }
        (out, late)
    }
}

/// The dump prefix of `[s3]`, if the estate keeps dumps.
pub fn dump_prefix(config: &Config) -> Option<String> {
    config.s3.prefixes().into_iter().find(|(k, _)| *k == BackupKind::Dump).map(|(_, p)| p.to_string())
}

type Asked<T> = (Option<Result<T, String>>, Option<Question>);

async fn s3_keys(config: &Config, client: &mut Option<aws_sdk_s3::Client>, t: Duration) -> Asked<BTreeSet<String>> {
    if !config.source_enabled(SourceId::Backups) {
        return (None, None);
    }
    let Some(prefix) = dump_prefix(config) else { return (None, None) };
    let answer = async {
        if client.is_none() {
            *client = Some(backends::within("s3", t, backends::s3::client(config.s3.access())).await?);
        }
        let Some(c) = client.as_ref() else { return Err(BackendError::unexpected("s3", "no client")) };
        backends::within("s3", t, backends::s3::list(c, &config.s3.bucket, &prefix)).await
    };
    let answer = answer.await;
    let starved = all_timed_out([&answer]).then_some(Question::Dumps);
    (Some(answer.map(|listed| listed.iter().map(|l| crate::sanitize::clean(&l.key)).collect()).map_err(|e| e.to_string())), starved)
}

async fn kube(config: &Config, client: &mut Option<kube::Client>, t: Duration) -> Asked<KubeTruth> {
    if !config.source_enabled(SourceId::Pods) {
        return (None, None);
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
    let starved = all_timed_out([&result]).then_some(Question::Kube);
    (Some(result.map_err(|e| e.to_string())), starved)
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

    /// The kind of question that judges this claim.
    pub fn question(&self) -> Question {
        match self {
            Claim::Member { .. } => Question::Members,
            Claim::SentinelNames { .. } => Question::Sentinels,
            Claim::RedisMaster { .. } => Question::Roles,
            Claim::QueueDepth { .. } => Question::Queues,
            Claim::Dumps { .. } => Question::Dumps,
            Claim::Pods { .. } | Claim::Deployment { .. } => Question::Kube,
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
        out.push(Claim::Dumps { keys: b.of_kind(BackupKind::Dump).map(|(_, i)| i.key.clone()).collect() });
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
/// Rounds starved of this claim's kind of question are not counted at all.
pub fn judge(claim: &Claim, at: DateTime<Utc>, window: chrono::Duration, truths: &[Truth]) -> Verdict {
    let slack = chrono::Duration::seconds(2);
    let question = claim.question();
    let asked: Vec<&Truth> = truths.iter().filter(|t| !t.starved.contains(&question)).collect();
    let mut near: Vec<&Truth> = asked.iter().copied().filter(|t| t.at >= at - window && t.began <= at + slack).collect();
    // Under load a round can take longer than the slack: the first round to begin after the claim
    // still saw the world the claim's read may have seen.
    if let Some(next) = asked.iter().copied().filter(|t| t.began > at + slack).min_by_key(|t| t.began) {
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

    #[test]
    fn a_round_in_which_every_member_timed_out_cannot_tell_but_one_member_timing_out_is_its_truth() {
        let window = chrono::Duration::seconds(9);
        let primary = Claim::Member { name: "pg-0".into(), in_recovery: false };
        // The machine starved: every member's question timed out, the console's had answered.
        let mut starved = round(5, Err("pg-0: no answer within 3.0s".into()), 0);
        starved.starved.insert(Question::Members);
        let truths = vec![round(3, Ok(false), 0), starved.clone()];
        assert_eq!(judge(&primary, t(10), window, &truths), Verdict::True, "the starved round is not counted, the earlier one is");
        assert_eq!(judge(&primary, t(20), window, &[starved.clone()]), Verdict::Unknown, "a starved round alone cannot tell");
        // The same answer in a round where another member did answer is the member's own truth.
        let mut one_down = round(5, Err("pg-0: no answer within 3.0s".into()), 0);
        one_down.members.insert("pg-1".into(), Ok(true));
        assert!(matches!(judge(&primary, t(6), window, &[one_down]), Verdict::False(_)), "pg-0 did not answer while pg-1 did");
        // A starved kind says nothing about the others: the queue depth in the same round counts.
        let depth = Claim::QueueDepth { name: "celery".into(), depth: 900 };
        assert!(matches!(judge(&depth, t(5), window, &[starved]), Verdict::False(_)));
    }

    #[test]
    fn only_answers_that_were_all_late_starve_a_kind() {
        let late = || Err::<bool, _>(BackendError::timeout("pg-0", Duration::from_secs(3)));
        let driver_late =
            || Err::<bool, _>(BackendError::Unreachable { target: "pg-1".into(), detail: "error connecting to server: timed out".into() });
        let refused = || Err::<bool, _>(BackendError::Unreachable { target: "pg-2".into(), detail: "Connection refused".into() });
        assert!(all_timed_out(&[late(), driver_late()]));
        assert!(!all_timed_out(&[late(), Ok(true)]), "one answer is enough to judge by");
        assert!(!all_timed_out(&[late(), refused()]), "a refusal is an answer");
        assert!(!all_timed_out::<bool>(&[]), "nothing asked is not starved");
        assert!(reads_as_timeout(&BackendError::timeout("s3", Duration::from_secs(3)).to_string()));
        assert!(reads_as_timeout("watch: API server did not answer within 5s"));
        assert!(!reads_as_timeout("s3: AccessDenied: Access Denied"));
    }
}
