//! What a runbook parameter can be, read from the live Model (`from = "deployments"`, ...): the
//! values the panes show, with a short label; pure, so the console's picker and the CLI share it.

use super::spec::ParamSource;
use crate::human::{age, bytes};
use crate::model::{BackupKind, Health, Model, SourceId};
use crate::sanitize::{sanitize, sanitize_bounded};
use std::collections::BTreeMap;

/// One value a person can pick: `value` goes into the run, `label` says what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub value: String,
    pub label: String,
}

impl Choice {
    /// Both texts come from the estate (names, keys, states): made safe for the terminal here.
    pub fn new(value: &str, label: String) -> Choice {
        Choice { value: sanitize(value), label: sanitize_bounded(&label, 60) }
    }
}

/// The choices the live state offers for `source`, in the order the picker lists them.
pub fn choices(model: &Model, source: ParamSource) -> Vec<Choice> {
    match source {
        ParamSource::Deployments => model
            .pods
            .iter()
            .flat_map(|p| &p.deployments)
            .map(|d| {
                let label = format!("{}/{} ready · {} · rev {} · {}", d.ready, d.desired, d.rollout, d.revision, d.namespace);
                Choice::new(&d.name, label)
            })
            .collect(),
        ParamSource::Pods => {
            let mut pods: Vec<_> = model.pods.iter().flat_map(|p| &p.pods).collect();
            pods.sort_by(|a, b| a.is_healthy().cmp(&b.is_healthy()).then_with(|| a.name.cmp(&b.name)));
            pods.into_iter().map(|p| Choice::new(&p.name, format!("{} · {} restarts · {}", p.status(), p.restarts, p.node))).collect()
        }
        ParamSource::Nodes => {
            let mut nodes: BTreeMap<&str, usize> = BTreeMap::new();
            for p in model.pods.iter().flat_map(|p| &p.pods).filter(|p| !p.node.is_empty()) {
                *nodes.entry(p.node.as_str()).or_default() += 1;
            }
            nodes.into_iter().map(|(node, n)| Choice::new(node, format!("{n} pod{}", if n == 1 { "" } else { "s" }))).collect()
        }
        ParamSource::PatroniMembers => model
            .replication
            .iter()
            .flat_map(|r| &r.patroni)
            .map(|m| {
                let lag = m.lag_bytes.map(|b| format!(" · lag {}", bytes(b.max(0) as u64))).unwrap_or_default();
                Choice::new(&m.name, format!("{} · {}{lag}", m.role, m.state))
            })
            .collect(),
        ParamSource::Dumps => {
            let mut dumps: Vec<_> = model.backups.iter().flat_map(|b| b.of_kind(BackupKind::Dump).map(|(_, i)| i)).collect();
            dumps.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| a.key.cmp(&b.key)));
            dumps
                .into_iter()
                .map(|d| {
                    let old = model.now.map(|now| format!("{} old · ", age(now, d.at))).unwrap_or_default();
                    Choice::new(&d.key, format!("{old}{}", bytes(d.size)))
                })
                .collect()
        }
        // The pods pane knows each deployment's current revision, not its history.
        ParamSource::Revisions => Vec::new(),
    }
}

/// The choices for `source` as far as `known` (given and picked values) narrows them: the pods
/// of the chosen `deployment` only (a Deployment's pods are named `DEPLOYMENT-HASH-SUFFIX`).
pub fn choices_for(model: &Model, source: ParamSource, known: &super::template::Vars) -> Vec<Choice> {
    let all = choices(model, source);
    match (source, known.get("deployment")) {
        (ParamSource::Pods, Some(deployment)) => {
            let prefix = format!("{deployment}-");
            all.into_iter().filter(|c| c.value.starts_with(&prefix)).collect()
        }
        _ => all,
    }
}

/// Why `choices` is empty, for the person who must now type the value.
pub fn why_none(model: &Model, source: ParamSource) -> String {
    let (pane, what) = match source {
        ParamSource::Deployments => (SourceId::Pods, "deployments"),
        ParamSource::Pods => (SourceId::Pods, "pods"),
        ParamSource::Nodes => (SourceId::Pods, "nodes"),
        ParamSource::PatroniMembers => (SourceId::Replication, "Patroni members"),
        ParamSource::Dumps => (SourceId::Backups, "pg_dump dumps"),
        ParamSource::Revisions => {
            return "the console knows only current revisions: type `previous` or a number from `kubectl rollout history`".into();
        }
    };
    let pane_name = pane.name();
    match model.health(pane) {
        Health::Waiting => format!("the {pane_name} pane is still waiting for its first data, so no {what} to list yet"),
        Health::Disabled => format!("the {pane_name} source is not configured (sitrep.toml), so no {what} to list"),
        Health::Failing { error, .. } => {
            format!("the {pane_name} pane is failing ({}), so no {what} to list", sanitize_bounded(&error, 80))
        }
        Health::Fresh { .. } | Health::Stale { .. } => format!("the {pane_name} pane lists no {what}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;
    use chrono::{DateTime, Duration, Utc};

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap_or_default()
    }

    fn pod(name: &str, node: &str, reason: Option<&str>) -> PodRow {
        PodRow {
            namespace: "shop".into(),
            name: name.into(),
            phase: "Running".into(),
            ready: 1,
            containers: 1,
            node: node.into(),
            reason: reason.map(Into::into),
            ..PodRow::default()
        }
    }

    fn live() -> Model {
        let mut m = Model::new(Duration::seconds(2));
        let deployment = DeploymentRow {
            namespace: "shop".into(),
            name: "api".into(),
            desired: 3,
            ready: 2,
            revision: "3".into(),
            rollout: "progressing".into(),
            ..DeploymentRow::default()
        };
        let pods = PodsSnapshot {
            pods: vec![
                pod("web-1", "node-b", None),
                pod("api-2", "node-a", Some("CrashLoopBackOff")),
                pod("api-1\u{1b}[31m", "node-a", None),
            ],
            deployments: vec![deployment],
            events: vec![],
            ..PodsSnapshot::default()
        };
        m.apply(Event::Observed { at: t(0), observation: Observation::Pods(pods) });
        let dump = |key: &str, at| BackupItem { kind: BackupKind::Dump, key: key.into(), at, size: 1_700_000 };
        let backups = BackupsSnapshot {
            bucket: "b".into(),
            items: vec![
                dump("dumps/shop-old.dump", t(-7200)),
                BackupItem { kind: BackupKind::Wal, key: "wal/1".into(), at: t(-5), size: 1 },
                dump("dumps/shop-new.dump", t(-60)),
            ],
            wal_gaps: vec![],
            ..BackupsSnapshot::default()
        };
        m.apply(Event::Observed { at: t(0), observation: Observation::Backups(backups.into()) });
        m
    }

    fn values(m: &Model, s: ParamSource) -> Vec<String> {
        choices(m, s).into_iter().map(|c| c.value).collect()
    }

    #[test]
    fn each_source_lists_what_its_pane_shows() {
        let m = live();
        assert_eq!(values(&m, ParamSource::Deployments), ["api"]);
        assert_eq!(choices(&m, ParamSource::Deployments)[0].label, "2/3 ready · progressing · rev 3 · shop");
        assert_eq!(values(&m, ParamSource::Pods), ["api-2", "api-1", "web-1"], "unhealthy first, escapes removed");
        assert_eq!(values(&m, ParamSource::Nodes), ["node-a", "node-b"]);
        assert_eq!(choices(&m, ParamSource::Nodes)[0].label, "2 pods");
        assert!(values(&m, ParamSource::PatroniMembers).is_empty());
        assert!(values(&m, ParamSource::Revisions).is_empty());
    }

    #[test]
    fn dumps_are_newest_first_with_their_age() {
        let m = live();
        let dumps = choices(&m, ParamSource::Dumps);
        assert_eq!(dumps.iter().map(|c| c.value.as_str()).collect::<Vec<_>>(), ["dumps/shop-new.dump", "dumps/shop-old.dump"]);
        assert_eq!(dumps[0].label, "60s old · 1.6MiB");
        assert_eq!(dumps[1].label, "2h old · 1.6MiB");
    }

    #[test]
    fn no_choices_says_why_so_the_value_can_be_typed() {
        let mut m = Model::new(Duration::seconds(2));
        assert!(why_none(&m, ParamSource::PatroniMembers).contains("still waiting"));
        m.apply(Event::SourceFailed { at: t(0), source: SourceId::Replication, error: "refused\u{1b}]0;x\u{7}".into() });
        let why = why_none(&m, ParamSource::PatroniMembers);
        assert!(why.contains("failing (refused)"), "{why}");
        assert!(why_none(&m, ParamSource::Revisions).contains("type `previous`"));
    }
}

/// The parameters an alert fills: each declared parameter whose name is one of the alert's labels
/// (`master` from `master="mymaster"`); the others are picked or defaulted as for `:run`.
pub fn from_labels(params: &[super::spec::ParamSpec], labels: &[(String, String)]) -> crate::runbook::template::Vars {
    params
        .iter()
        .filter_map(|p| labels.iter().find(|(k, v)| *k == p.name && !v.is_empty()).map(|(_, v)| (p.name.clone(), sanitize(v))))
        .collect()
}

#[cfg(test)]
mod alert_label_tests {
    use super::*;

    #[test]
    fn only_declared_parameters_are_taken_from_the_labels() {
        let param = |name: &str| super::super::spec::ParamSpec {
            name: name.into(),
            description: String::new(),
            from: None,
            default: None,
            ask: false,
        };
        let labels =
            [("master".to_string(), "cache".to_string()), ("severity".into(), "critical".into()), ("replicas".into(), String::new())];
        let vars = from_labels(&[param("master"), param("replicas")], &labels);
        assert_eq!(vars.into_iter().collect::<Vec<_>>(), vec![("master".to_string(), "cache".to_string())]);
    }
}
