//! Sentinel collector: asks every configured Sentinel who the master is, then one of them for
//! the master's flags/quorum and its replicas; replica lag is read from the master's INFO.

use super::{Collect, clean};
use crate::backends::redis::{self as backend, Offsets, SentinelSettings};
use crate::backends::{BackendError, within};
use crate::model::{Observation, SentinelRow, SentinelSnapshot};
use std::time::Duration;

pub struct Collector {
    sentinels: SentinelSettings,
    timeout: Duration,
}

impl Collector {
    pub fn new(sentinels: &SentinelSettings, timeout: Duration) -> Self {
        Collector { sentinels: sentinels.clone(), timeout }
    }
}

impl Collect for Collector {
    async fn collect(&mut self) -> Result<Observation, BackendError> {
        let per = self.timeout / 2;
        let s = &self.sentinels;
        let mut snap = SentinelSnapshot { master_name: clean(&s.master), ..SentinelSnapshot::default() };
        let mut answering = None;
        // Every Sentinel is asked at once, each with its own deadline: one slow Sentinel is a finding, not a stall.
        let asks = futures::future::join_all(s.addrs.iter().map(|addr| async move {
            let row = async {
                let mut con = s.connect(addr, per).await?;
                let master = backend::master_addr(&mut con, addr, &s.master, per).await?;
                Ok::<_, BackendError>((con, master))
            }
            .await;
            (addr, row)
        }))
        .await;
        let mut reasons = Vec::new();
        for (addr, row) in asks {
            match row {
                Ok((con, master_addr)) => {
                    snap.sentinels.push(SentinelRow { addr: clean(addr), master_addr: master_addr.as_deref().map(clean), error: None });
                    if answering.is_none() {
                        answering = Some((addr, con));
                    }
                }
                Err(e) => {
                    reasons.push(e.to_string());
                    snap.sentinels.push(SentinelRow { addr: clean(addr), master_addr: None, error: Some(clean(&e.to_string())) });
                }
            }
        }
        let Some((addr, mut con)) = answering else {
            return Err(BackendError::NoneAnswered {
                what: "no Sentinel answers".into(),
                reasons,
                fix: "check [sentinel] addrs in sitrep.toml".into(),
            });
        };
        let master: Vec<String> = backend::query(
            &mut con,
            redis::cmd("SENTINEL").arg("master").arg(&s.master),
            addr,
            &format!("SENTINEL master {}", s.master),
            per,
        )
        .await
        .map_err(|e| BackendError::BadSetting {
            input: format!("[sentinel] master `{}`", clean(&s.master)),
            detail: e.to_string(),
            fix: "check [sentinel] master in sitrep.toml".into(),
        })?;
        let master_row = backend::master_row(&backend::pairs(master));
        let replicas: Vec<Vec<String>> =
            backend::query(&mut con, redis::cmd("SENTINEL").arg("replicas").arg(&s.master), addr, "SENTINEL replicas", per)
                .await
                .unwrap_or_default();
        // The master's INFO has its offset and each replica's acknowledged offset, read at one instant
        // (Sentinel's own copy of replica offsets is refreshed only every 10 s).
        let offsets = master_offsets(s, &master_row.addr, per).await;
        snap.replicas = replicas.into_iter().map(backend::pairs).map(|r| backend::replica_row(&r, offsets.as_ref())).collect();
        snap.master = Some(master_row);
        Ok(Observation::Sentinel(snap))
    }
}

async fn master_offsets(s: &SentinelSettings, addr: &str, timeout: Duration) -> Option<Offsets> {
    let info: String = within(addr, timeout, async {
        let mut con = s.connect(addr, timeout).await?;
        backend::query(&mut con, redis::cmd("INFO").arg("replication"), addr, "INFO replication", timeout).await
    })
    .await
    .ok()?;
    Some(backend::parse_offsets(&info))
}
