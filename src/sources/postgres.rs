//! Replication collector: each member over tokio-postgres, plus Patroni's REST view of the cluster.
//! Lag comes from pg_stat_replication on the leader, archiving from pg_stat_archiver.

use super::{Collect, clean};
use crate::backends::{self, BackendError};
use crate::config::{PostgresMember, PostgresSource};
use crate::model::{MemberRow, Observation, ReplicationSnapshot};
use std::time::Duration;

pub struct Collector {
    members: Vec<(PostgresMember, Option<tokio_postgres::Client>)>,
    patroni: Vec<String>,
    http: reqwest::Client,
    timeout: Duration,
}

impl Collector {
    pub fn new(cfg: &PostgresSource, timeout: Duration) -> Self {
        Collector {
            members: cfg.members.iter().map(|m| (m.clone(), None)).collect(),
            patroni: cfg.patroni.clone(),
            http: reqwest::Client::builder().timeout(timeout.mul_f32(0.6)).build().unwrap_or_default(),
            timeout,
        }
    }
}

impl Collect for Collector {
    async fn collect(&mut self) -> Result<Observation, BackendError> {
        let mut snap = ReplicationSnapshot::default();
        let mut errors = Vec::new();
        // Members are read at once, each with its own deadline: a frozen standby must not hide the leader.
        let per = self.timeout.mul_f32(0.6);
        let reads = futures::future::join_all(self.members.iter_mut().map(|(member, client)| async move {
            let result = backends::within(&member.name, per, read_member(member, client, per)).await;
            (member, client, result)
        }))
        .await;
        for (member, client, result) in reads {
            match result {
                Ok((row, standbys, archiver)) => {
                    if !row.in_recovery {
                        snap.standbys = standbys;
                        snap.archiver = archiver;
                    }
                    snap.members.push(row);
                }
                Err(e) => {
                    *client = None;
                    errors.push(format!("{}: {e}", member.name));
                    snap.members.push(MemberRow {
                        name: clean(&member.name),
                        reachable: false,
                        error: Some(clean(&e.to_string())),
                        ..MemberRow::default()
                    });
                }
            }
        }
        if !self.patroni.is_empty() {
            match backends::postgres::patroni_cluster(&self.http, &self.patroni).await {
                Ok(members) => snap.patroni = members.iter().map(backends::postgres::PatroniClusterMember::row).collect(),
                Err(e) => errors.push(e.to_string()),
            }
        }
        // Patroni's word alone is not the database: with every configured member unreachable the pane fails.
        let nothing = snap.members.iter().all(|m| !m.reachable) && (!self.members.is_empty() || snap.patroni.is_empty());
        if nothing {
            return Err(BackendError::NoneAnswered {
                what: "no Postgres member answers".into(),
                reasons: errors,
                fix: "check [postgres] in sitrep.toml".into(),
            });
        }
        Ok(Observation::Replication(snap))
    }
}

async fn read_member(
    member: &PostgresMember,
    slot: &mut Option<tokio_postgres::Client>,
    timeout: Duration,
) -> Result<(MemberRow, Vec<crate::model::StandbyRow>, Option<crate::model::ArchiverRow>), BackendError> {
    if slot.as_ref().is_none_or(|c| c.is_closed()) {
        *slot = Some(backends::postgres::connect(&member.dsn, timeout).await?.client);
    }
    let Some(client) = slot.as_ref() else { return Err(BackendError::unexpected(&member.name, "not connected")) };
    backends::postgres::read_member(client, &member.name).await
}
