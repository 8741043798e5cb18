//! Alerts from real Alertmanagers (Debian's prometheus-alertmanager), no lab: two instances on
//! loopback ports get the same alerts posted to their API v2, one more URL is dead. The alerts
//! collector the console runs, configured through sitrep.toml, must show each alert once, mark a
//! silenced one, and name the dead Alertmanager with its error; with only dead ones it fails.

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::Utc;
use sitrep::config::{self, Env, Overrides};
use sitrep::lab::alertmanager::alertmanager_spec;
use sitrep::lab::ports;
use sitrep::lab::process::Children;
use sitrep::model::{AlertState, AlertsSnapshot, Observation};
use sitrep::sources::Collect;
use sitrep::sources::alerts::Collector;

/// Kills the Alertmanagers if the test fails before stopping them.
struct KillOnDrop(Children, Vec<String>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        for name in &self.1 {
            self.0.signal(name, libc::SIGKILL);
        }
    }
}

async fn wait_ready(http: &reqwest::Client, port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ok = http.get(format!("http://127.0.0.1:{port}/-/ready")).send().await.is_ok_and(|r| r.status().is_success());
        if ok {
            return;
        }
        assert!(Instant::now() < deadline, "Alertmanager on {port} not ready within 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn alert(name: &str, severity: &str, extra: serde_json::Value) -> serde_json::Value {
    let starts = (Utc::now() - chrono::Duration::minutes(2)).to_rfc3339();
    let mut labels = serde_json::json!({"alertname": name, "severity": severity, "job": "redis"});
    if let (Some(l), Some(e)) = (labels.as_object_mut(), extra.as_object()) {
        l.extend(e.clone());
    }
    serde_json::json!({
        "labels": labels,
        "annotations": {"summary": format!("{name} is firing"), "runbook_url": "https://wiki.example/runbooks/failover-redis.md"},
        "startsAt": starts,
    })
}

async fn post(http: &reqwest::Client, port: u16, path: &str, body: &serde_json::Value) {
    let r = http.post(format!("http://127.0.0.1:{port}/api/v2/{path}")).json(body).send().await.expect("post to Alertmanager");
    assert!(r.status().is_success(), "POST {path}: {} {}", r.status(), r.text().await.unwrap_or_default());
}

async fn collect(dir: &Path, urls: &[String]) -> Result<AlertsSnapshot, String> {
    let list: Vec<String> = urls.iter().map(|u| format!("\"{u}\"")).collect();
    let file = dir.join("sitrep.toml");
    std::fs::write(&file, format!("[alerts]\nalertmanager = [{}]\n", list.join(", "))).expect("write sitrep.toml");
    let c = config::resolve(Some(&file), &Env::default(), &Overrides::default()).map_err(|e| format!("config: {e}"))?;
    assert!(c.source_enabled(sitrep::model::SourceId::Alerts));
    match Collector::new(&c, c.timing().timeout).collect().await {
        Ok(Observation::Alerts(s)) => Ok(s),
        Ok(other) => panic!("expected alerts, got {other:?}"),
        Err(e) => Err(e.to_string()),
    }
}

#[test]
fn alerts_of_an_ha_pair_show_once_and_a_dead_alertmanager_is_named_with_its_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    std::fs::create_dir_all(dir.join("logs")).expect("logs dir");
    let p = ports::free_ports(3).expect("three free ports");
    let (am0, am1, dead) = (p[0], p[1], p[2]);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a tokio runtime");
    rt.block_on(async {
        let children = Children::new(&dir.join("logs"));
        let _stop = KillOnDrop(children.clone(), vec!["am-0".into(), "am-1".into()]);
        children.spawn(alertmanager_spec(dir, "am-0", am0).expect("am-0 spec")).expect("start am-0");
        children.spawn(alertmanager_spec(dir, "am-1", am1).expect("am-1 spec")).expect("start am-1");
        let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().expect("http client");
        wait_ready(&http, am0).await;
        wait_ready(&http, am1).await;

        let alerts = serde_json::json!([
            alert("RedisMasterDown", "critical", serde_json::json!({"master": "mymaster", "sitrep_runbook": "failover-redis"})),
            alert("QueueBacklog", "warning", serde_json::json!({"queue": "celery"})),
        ]);
        // Both members of the pair get every alert, as Prometheus sends to each.
        post(&http, am0, "alerts", &alerts).await;
        post(&http, am1, "alerts", &alerts).await;
        // A silence on am-1 only (the second asked): the merged row is still marked silenced.
        let now = Utc::now();
        let silence = serde_json::json!({
            "matchers": [{"name": "alertname", "value": "QueueBacklog", "isRegex": false, "isEqual": true}],
            "startsAt": now.to_rfc3339(), "endsAt": (now + chrono::Duration::hours(1)).to_rfc3339(),
            "createdBy": "sitrep-test", "comment": "known backlog",
        });
        post(&http, am1, "silences", &silence).await;

        let live = [format!("http://127.0.0.1:{am0}"), format!("http://127.0.0.1:{am1}/")];
        let dead_url = format!("http://127.0.0.1:{dead}");
        let mut urls = live.to_vec();
        urls.push(dead_url.clone());
        // The silence takes effect when am-1 next evaluates the alert; wait for it (bounded).
        let deadline = Instant::now() + Duration::from_secs(20);
        let snap = loop {
            let snap = collect(dir, &urls).await.expect("two of three answer");
            let silenced = snap.alerts.iter().any(|a| a.name == "QueueBacklog" && a.silenced);
            if silenced || Instant::now() > deadline {
                break snap;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        };
        let names: Vec<&str> = snap.alerts.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(snap.alerts.len(), 2, "each alert once, not once per Alertmanager: {names:?}");
        let down = snap.alerts.iter().find(|a| a.name == "RedisMasterDown").expect("RedisMasterDown read");
        assert_eq!((down.severity.as_str(), down.label("master")), ("critical", Some("mymaster")));
        assert_eq!(down.runbook.as_deref(), Some("failover-redis"));
        assert_eq!(down.summary, "RedisMasterDown is firing");
        assert!(!down.silenced && down.state != AlertState::Suppressed, "{down:?}");
        assert!(down.started.is_some_and(|s| (Utc::now() - s).num_seconds() >= 110), "startsAt kept: {down:?}");
        let backlog = snap.alerts.iter().find(|a| a.name == "QueueBacklog").expect("QueueBacklog read");
        assert!(backlog.silenced, "the silence on am-1 marks it: {backlog:?}");
        assert_eq!(backlog.state, AlertState::Suppressed);
        // The dead one is a row with its error; the live ones answered.
        assert_eq!(snap.alertmanagers.len(), 3);
        assert_eq!(snap.reachable(), 2);
        let row = &snap.alertmanagers[2];
        let error = row.error.as_deref().unwrap_or_default();
        assert!(row.url == dead_url && error.contains(&dead_url) && error.to_lowercase().contains("refused"), "{row:?}");
        assert_eq!(sitrep::model::verdict::alerts(&snap), sitrep::model::verdict::Level::Crit);

        // Only the dead one: the source fails, naming it and the fix.
        let err = collect(dir, std::slice::from_ref(&dead_url)).await.expect_err("nobody answers");
        assert!(err.contains(&dead_url) && err.contains("[alerts] alertmanager"), "{err}");

        // A URL that is not an Alertmanager's API: the server's words and the question.
        let err = collect(dir, &[format!("http://127.0.0.1:{am0}/nope")]).await.expect_err("404");
        assert!(err.contains("404") && err.contains("API v2"), "{err}");

        children.stop_all(&[], Duration::from_secs(5)).await;
    });
}
