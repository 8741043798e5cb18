//! The soak's faults: the lab's own (applied through its control channel, as `sitrep lab fault`
//! does), hostile input (an S3 key and a kube event full of escapes), a seeded plan of when, and
//! the heal with the mitigations the lab's `heal` cannot do itself (rollback, purge, WAL switch).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use super::Lab;
use super::faults::Fault;
use crate::backends;
use crate::config::Config;
use crate::model::SourceId;

/// One fault the soak can inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SoakFault {
    Lab(Fault),
    /// An object under the dump prefix whose key holds ESC, BEL and U+202E.
    HostileS3Key,
    /// A Warning event in the watched namespace whose message holds escapes (through the API).
    HostileKubeEvent,
}

/// What the soak draws from.
pub const POOL: [SoakFault; 10] = [
    SoakFault::Lab(Fault::PgLeaderDown),
    SoakFault::Lab(Fault::PgStandbyPause),
    SoakFault::Lab(Fault::NetworkSlow),
    SoakFault::Lab(Fault::PgArchiveBroken),
    SoakFault::Lab(Fault::DeployBad),
    SoakFault::Lab(Fault::QueueFlood),
    SoakFault::Lab(Fault::BackupStale),
    SoakFault::Lab(Fault::RedisMasterDown),
    SoakFault::HostileS3Key,
    SoakFault::HostileKubeEvent,
];

/// The text both hostile inputs carry: a title change, a bell, a screen clear and a bidi override.
pub const HOSTILE: &str = "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{202e}kcab";

impl SoakFault {
    pub fn name(self) -> &'static str {
        match self {
            SoakFault::Lab(f) => f.name(),
            SoakFault::HostileS3Key => "hostile-s3-key",
            SoakFault::HostileKubeEvent => "hostile-kube-event",
        }
    }

    /// The source whose pane must show it, and the timeline entries (their beginnings) that
    /// count as detecting it; none for hostile input, which must instead leave its pane working.
    pub fn expected(self) -> (SourceId, &'static [&'static str]) {
        match self {
            SoakFault::Lab(Fault::PgLeaderDown) => {
                (SourceId::Replication, &["Postgres leader", "Postgres LEADER", "Postgres member", "source replication failing"])
            }
            SoakFault::Lab(Fault::PgStandbyPause) => (SourceId::Replication, &["Postgres member", "replication lag", "no standby streams"]),
            SoakFault::Lab(Fault::NetworkSlow) => (SourceId::Sentinel, &["Sentinel "]),
            SoakFault::Lab(Fault::PgArchiveBroken) => (SourceId::Replication, &["WAL archiving failing"]),
            SoakFault::Lab(Fault::DeployBad) => (SourceId::Pods, &["crashloop began", "deployment shop/api short"]),
            SoakFault::Lab(Fault::QueueFlood) => (SourceId::Queues, &["queue "]),
            SoakFault::Lab(Fault::BackupStale) => (SourceId::Backups, &["newest pg_dump is older than the RPO"]),
            SoakFault::Lab(Fault::RedisMasterDown) => (SourceId::Sentinel, &["Redis master (Sentinel)", "Redis replica"]),
            SoakFault::Lab(_) => (SourceId::Replication, &[]),
            SoakFault::HostileS3Key => (SourceId::Backups, &[]),
            SoakFault::HostileKubeEvent => (SourceId::Pods, &[]),
        }
    }

    /// How long the real system takes to show the fault before sitrep can see it: Patroni's
    /// leader TTL, Sentinel's down-after and failover, the stand-in's crash back-off, archiving's retry.
    fn settles(self) -> Duration {
        Duration::from_secs(match self {
            SoakFault::Lab(Fault::PgLeaderDown) => 15,
            SoakFault::Lab(Fault::RedisMasterDown) => 20,
            SoakFault::Lab(Fault::DeployBad) => 30,
            SoakFault::Lab(Fault::PgArchiveBroken) => 15,
            SoakFault::Lab(Fault::QueueFlood) => 10,
            _ => 0,
        })
    }

    /// The longest a correct console may take to put it in the timeline: the system settling, one
    /// refresh and a timed-out read, the detector's hold (`Folding`), one more read, 5 s of slack.
    pub fn detection_bound(self, config: &Config) -> Duration {
        let timing = config.timing_of(self.expected().0);
        let hold = crate::detect::Folding::default().min_hold.to_std().unwrap_or_default();
        self.settles() + timing.steady + timing.refresh + timing.timeout + hold + Duration::from_secs(5)
    }

    /// Faults that take down a Postgres or Redis process: one such at a time, so the estate can
    /// recover from each (two at once would leave Patroni or Sentinel nothing to promote).
    fn kills(self) -> bool {
        matches!(self, SoakFault::Lab(Fault::PgLeaderDown | Fault::PgStandbyPause | Fault::RedisMasterDown))
    }
}

/// One episode of the plan: faults applied together at `at` (from the soak's start), healed after `hold`.
#[derive(Debug, Clone)]
pub struct Episode {
    pub at: Duration,
    pub faults: Vec<SoakFault>,
    pub hold: Duration,
}

/// Quiet time at the start, so every pane is fresh and the detector has its baseline.
pub const WARM_UP: Duration = Duration::from_secs(20);

/// The plan for `length`, drawn from `seed`: one to three faults at a time, each held at least
/// until a correct console must have shown it, then healed, then 20–40 s of quiet.
pub fn plan(seed: u64, config: &Config, length: Duration) -> Vec<Episode> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut out = Vec::new();
    let mut at = WARM_UP;
    loop {
        let mut pool = POOL.to_vec();
        pool.shuffle(&mut rng);
        let want = rng.random_range(1..=3usize);
        let mut faults: Vec<SoakFault> = Vec::new();
        for f in pool {
            let conflicts = (f.kills() && faults.iter().any(|g| g.kills()))
                // archiving is broken on the leader: it must be there to break it
                || (f == SoakFault::Lab(Fault::PgArchiveBroken) && faults.iter().any(|g| g.kills()))
                || (f.kills() && faults.contains(&SoakFault::Lab(Fault::PgArchiveBroken)));
            if faults.len() < want && !conflicts {
                faults.push(f);
            }
        }
        // Archiving first: it needs the leader that a kill in the same episode would take.
        faults.sort_by_key(|f| *f != SoakFault::Lab(Fault::PgArchiveBroken));
        let needed = faults.iter().map(|f| f.detection_bound(config)).max().unwrap_or_default();
        let hold = needed + Duration::from_secs(rng.random_range(0..15));
        if at + hold + Duration::from_secs(10) > length {
            break;
        }
        out.push(Episode { at, faults, hold });
        at += hold + Duration::from_secs(rng.random_range(20..40));
    }
    out
}

/// One fault as it was applied.
#[derive(Debug, Clone)]
pub struct Applied {
    pub fault: SoakFault,
    pub episode: usize,
    pub wall: Instant,
    pub at: DateTime<Utc>,
    /// What the lab said it did, or why it could not.
    pub outcome: Result<String, String>,
    pub healed: Option<(Instant, DateTime<Utc>)>,
}

/// What the injector did, read by the soak's watcher while it runs.
#[derive(Debug, Default)]
pub struct Journal {
    pub applied: Vec<Applied>,
    /// Heal outcomes, one line per episode.
    pub heals: Vec<String>,
    /// Set once the last heal is done.
    pub done: bool,
}

impl Journal {
    /// Hostile inputs in place now (applied, not yet removed).
    pub fn hostile_active(&self) -> Vec<SoakFault> {
        self.applied
            .iter()
            .filter(|a| a.healed.is_none() && a.outcome.is_ok() && matches!(a.fault, SoakFault::HostileS3Key | SoakFault::HostileKubeEvent))
            .map(|a| a.fault)
            .collect()
    }
}

/// Runs the plan against the lab: each episode applied at its time, held, healed.
pub async fn inject(lab: Lab, config: Config, plan: Vec<Episode>, start: Instant, journal: Arc<Mutex<Journal>>) {
    let lock = || journal.lock().unwrap_or_else(|p| p.into_inner());
    for (n, episode) in plan.iter().enumerate() {
        tokio::time::sleep_until((start + episode.at).into()).await;
        for &fault in &episode.faults {
            // Timed from the request: detection latency includes the lab's own work.
            let (wall, at) = (Instant::now(), Utc::now());
            let outcome = apply(&lab, &config, fault, n).await;
            lock().applied.push(Applied { fault, episode: n, wall, at, outcome, healed: None });
        }
        tokio::time::sleep(episode.hold).await;
        let said = heal(&lab, &config, &episode.faults, n).await;
        let mut j = lock();
        let now = (Instant::now(), Utc::now());
        for a in j.applied.iter_mut().filter(|a| a.episode == n) {
            a.healed = Some(now);
        }
        j.heals.push(said);
    }
    lock().done = true;
}

async fn apply(lab: &Lab, config: &Config, fault: SoakFault, episode: usize) -> Result<String, String> {
    match fault {
        SoakFault::Lab(f) => control(lab, f.name()).await,
        SoakFault::HostileS3Key => {
            let key = hostile_key(config, episode).ok_or("the estate keeps no dumps")?;
            let s3 = s3_client(config).await?;
            let body = aws_sdk_s3::primitives::ByteStream::from(b"not a dump".to_vec());
            s3.put_object()
                .bucket(&config.s3.bucket)
                .key(&key)
                .body(body)
                .send()
                .await
                .map_err(|e| backends::s3::error(key.clone(), &e).to_string())?;
            Ok(format!("put {}", crate::sanitize::clean(&key)))
        }
        SoakFault::HostileKubeEvent => hostile_event(lab, config, episode).await,
    }
}

/// Puts back what the episode broke: the lab's `heal`, then what an engineer does besides.
async fn heal(lab: &Lab, config: &Config, faults: &[SoakFault], episode: usize) -> String {
    let mut said = vec![format!("heal: {}", control(lab, "heal").await.unwrap_or_else(|e| e))];
    for f in faults {
        let done = match f {
            SoakFault::Lab(Fault::DeployBad) => rollback(lab, config).await,
            SoakFault::Lab(Fault::QueueFlood) => purge_queues(config).await,
            SoakFault::Lab(Fault::PgArchiveBroken) => switch_wal(config).await,
            SoakFault::HostileS3Key => remove_hostile_key(config, episode).await,
            _ => continue,
        };
        said.push(format!("{}: {}", f.name(), done.unwrap_or_else(|e| format!("FAILED {e}"))));
    }
    said.join("; ")
}

/// One request on the lab's control channel (blocking IO, so off the runtime's threads).
async fn control(lab: &Lab, name: &str) -> Result<String, String> {
    let (lab, name) = (lab.clone(), name.to_string());
    tokio::task::spawn_blocking(move || lab.fault_detail(&name).map_err(|e| e.to_string())).await.map_err(|e| e.to_string())?
}

fn hostile_key(config: &Config, episode: usize) -> Option<String> {
    Some(format!("{}soak{HOSTILE}-{episode}.dump", super::oracle::dump_prefix(config)?))
}

async fn s3_client(config: &Config) -> Result<aws_sdk_s3::Client, String> {
    backends::s3::client(config.s3.access()).await.map_err(|e| e.to_string())
}

async fn remove_hostile_key(config: &Config, episode: usize) -> Result<String, String> {
    let key = hostile_key(config, episode).ok_or("the estate keeps no dumps")?;
    let s3 = s3_client(config).await?;
    s3.delete_object().bucket(&config.s3.bucket).key(&key).send().await.map_err(|e| backends::s3::error(key.clone(), &e).to_string())?;
    Ok("hostile key deleted".into())
}

async fn hostile_event(lab: &Lab, config: &Config, episode: usize) -> Result<String, String> {
    use k8s_openapi::api::core::v1::{Event, ObjectReference};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    let timeout = config.timing().timeout;
    let client = backends::kube::client(&config.kube.kubeconfig, &config.kube.context, timeout).await.map_err(|e| e.to_string())?;
    let ns = &lab.info.kube.namespace;
    let event = Event {
        metadata: ObjectMeta { name: Some(format!("soak-hostile-{episode}")), namespace: Some(ns.clone()), ..ObjectMeta::default() },
        involved_object: ObjectReference {
            kind: Some("Deployment".into()),
            name: Some("api".into()),
            namespace: Some(ns.clone()),
            ..ObjectReference::default()
        },
        message: Some(format!("soak {HOSTILE} message")),
        reason: Some("SoakHostile".into()),
        type_: Some("Warning".into()),
        count: Some(1),
        ..Event::default()
    };
    let api: kube::Api<Event> = kube::Api::namespaced(client, ns);
    api.create(&kube::api::PostParams::default(), &event).await.map_err(|e| backends::kube::error("creating an event", e).to_string())?;
    Ok(format!("event soak-hostile-{episode} created in {ns}"))
}

/// `kubectl rollout undo deployment/api`, through the runbooks' own effect.
async fn rollback(lab: &Lab, config: &Config) -> Result<String, String> {
    let vars = [("namespace".to_string(), lab.info.kube.namespace.clone())].into_iter().collect();
    let ctx = crate::runbook::effects::Ctx {
        config: config.clone(),
        vars,
        timeout: config.timing().timeout * 3,
        clock: crate::clock::Clock::Real,
    };
    crate::runbook::effects::kube::rollout_undo(&ctx, "api", "previous").await.map(|r| r.summary).map_err(|e| e.to_string())
}

/// Empties the flooded queues on the master the Sentinels name: the mitigation once the flood stops.
async fn purge_queues(config: &Config) -> Result<String, String> {
    let s = config.sentinel_settings();
    let t = config.timing().timeout;
    for addr in &s.addrs {
        let Ok(mut con) = s.connect(addr, t).await else { continue };
        let Ok(Some(master)) = backends::redis::master_addr(&mut con, addr, &s.master, t).await else { continue };
        let mut con = s.connect_master(&master, t).await.map_err(|e| e.to_string())?;
        for name in &config.queues.names {
            for p in 0..=9u8 {
                let key = backends::redis::kombu_key(name, p);
                backends::redis::query::<()>(&mut con, redis::cmd("LTRIM").arg(&key).arg(1).arg(0), &master, "LTRIM", t)
                    .await
                    .map_err(|e| e.to_string())?;
            }
        }
        return Ok(format!("queues purged on {master}"));
    }
    Err("no Sentinel named a master".into())
}

/// A WAL switch on the primary wakes the archiver, so repaired archiving shows at once.
async fn switch_wal(config: &Config) -> Result<String, String> {
    let t = config.timing().timeout;
    for (name, dsn) in config.postgres.member_dsns() {
        let Ok(c) = backends::postgres::connect(dsn.as_str(), t).await else { continue };
        if let Ok(rows) = c.client.query("select pg_switch_wal()::text where not pg_is_in_recovery()", &[]).await
            && !rows.is_empty()
        {
            return Ok(format!("WAL switched on {name}"));
        }
    }
    Err("no member answered as primary".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab_like() -> Config {
        let mut c = Config::default();
        c.general.refresh_secs = 1;
        c.general.timeout_secs = 3;
        c.s3.refresh_secs = 1;
        c
    }

    #[test]
    fn a_seed_gives_one_plan_and_each_fault_is_held_past_its_detection_bound() {
        let c = lab_like();
        let length = Duration::from_secs(30 * 60);
        let plan = plan(7, &c, length);
        let again: Vec<(Duration, Vec<SoakFault>)> = super::plan(7, &c, length).into_iter().map(|e| (e.at, e.faults)).collect();
        assert_eq!(plan.iter().map(|e| (e.at, e.faults.clone())).collect::<Vec<_>>(), again);
        assert!(plan.len() > 5, "{plan:?}");
        let mut end = Duration::ZERO;
        for e in &plan {
            assert!(e.at >= end + Duration::from_secs(20) || end.is_zero(), "quiet between episodes: {plan:?}");
            assert!(!e.faults.is_empty() && e.faults.len() <= 3);
            assert!(e.faults.iter().filter(|f| f.kills()).count() <= 1, "one kill at a time: {e:?}");
            assert!(e.faults.iter().all(|f| e.hold >= f.detection_bound(&c)), "held past the bound: {e:?}");
            end = e.at + e.hold;
        }
        assert!(end + Duration::from_secs(10) <= length);
    }
}
