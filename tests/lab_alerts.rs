//! The lab's real monitoring stack (Debian's Prometheus, Alertmanager and redis_exporter): the
//! `redis-master-down` fault makes RedisMasterDown fire in the real Alertmanager; the console in
//! tmux at 80x24 shows it within the group wait plus a refresh, and `enter` on it opens the
//! failover-redis wizard; the alerts collector reads its labels, and `enter` asks for
//! failover-redis with `master` filled from the alert.

#[path = "support/runs.rs"]
mod runs;
#[path = "support/tmux.rs"]
mod tmux;

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use sitrep::app::Console;
use sitrep::clock::Clock;
use sitrep::config::{self, Env, Overrides};
use sitrep::lab::{Lab, LabOptions};
use sitrep::model::{AlertState, AlertsSnapshot, Event, Observation};
use sitrep::sources::Collect;
use sitrep::sources::alerts::Collector;

/// Stops the lab even when an assertion fails.
struct Down(Lab);

impl Drop for Down {
    fn drop(&mut self) {
        if let Err(e) = self.0.down() {
            eprintln!("lab down: {e}");
        }
    }
}

async fn read(collector: &mut Collector) -> Option<AlertsSnapshot> {
    match collector.collect().await {
        Ok(Observation::Alerts(s)) => Some(s),
        _ => None,
    }
}

#[test]
fn redis_master_down_fires_a_real_alert_that_opens_failover_redis_with_its_master() {
    let lab = Down(Lab::up(LabOptions { dir: None, scenario: None, owner_pid: Some(std::process::id()) }).expect("lab up"));
    let config = config::resolve(Some(&lab.0.config_path()), &Env::default(), &Overrides::default()).expect("the lab's sitrep.toml");
    assert!(config.source_enabled(sitrep::model::SourceId::Alerts), "the lab configures [alerts]");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime");
    let mut collector = Collector::new(&config, config.timing().timeout);
    let firing = |s: &AlertsSnapshot| s.alerts.iter().find(|a| a.name == "RedisMasterDown" && a.state == AlertState::Active).cloned();

    // Healthy first: the Alertmanager answers and nothing says the master is down.
    rt.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(s) = read(&mut collector).await {
                assert!(firing(&s).is_none(), "RedisMasterDown before any fault: {s:?}");
                break;
            }
            assert!(Instant::now() < deadline, "the lab's Alertmanager did not answer within 30 s");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    });
    // The real console at 80x24, on the alerts pane; Prometheus meanwhile scrapes the master as
    // master (its rule looks back at that).
    let data = tempfile::tempdir().expect("a data dir for the console");
    let cmd = format!("{} --config {}", env!("CARGO_BIN_EXE_sitrep"), lab.0.config_path().display());
    let data_dir = data.path().display().to_string();
    let term = tmux::Tmux::start("alerts", 80, 24, &cmd, &[("NO_COLOR", "1"), ("SITREP_DATA_DIR", &data_dir)]);
    term.until("the alerts in the summary", 20, |s| s.contains("6 alerts fresh"));
    term.keys(&["6"]);
    let healthy = term.until("the alerts pane focused", 10, |s| s.contains("6 Alerts & checks") && s.contains("no alerts firing"));
    assert!(
        healthy.contains("checks pass") && healthy.contains("✔ redis-master"),
        "the lab's [[checks]] pass before the fault:\n{healthy}"
    );
    std::thread::sleep(Duration::from_secs(2));

    let detail = lab.0.fault_detail("redis-master-down").expect("fault redis-master-down");
    let fault_at = Instant::now();
    let (_, on_screen) = term.until_timed("RedisMasterDown on the 80x24 screen", 60, |s| s.contains("RedisMasterDown"));
    eprintln!("fault → RedisMasterDown on the console's screen: {:.1}s", on_screen.as_secs_f64());
    // The killed master's TCP check fails on the same screen, with the kernel's words.
    let failing = term.until("the redis-master check failing", 20, |s| s.contains("✘ redis-master"));
    assert!(failing.contains("checks FAILING") && failing.contains("refused"), "{failing}");
    term.keys(&["Enter"]);
    let wizard = term.until("the failover-redis wizard", 20, |s| s.contains("Move the Redis master"));
    assert!(wizard.contains("mymaster"), "the wizard names the alert's master:\n{wizard}");
    term.keys(&["Escape"]);
    let (alert, snap) = rt.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(s) = read(&mut collector).await
                && let Some(a) = firing(&s)
            {
                return (a, s);
            }
            assert!(Instant::now() < deadline, "RedisMasterDown did not fire within 60 s of `{detail}`");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    });
    let latency = fault_at.elapsed();
    eprintln!("fault → RedisMasterDown read by the collector here: {:.1}s ({detail})", latency.as_secs_f64());
    assert_eq!((alert.severity.as_str(), alert.label("master")), ("critical", Some("mymaster")));
    assert_eq!(alert.runbook.as_deref(), Some("failover-redis"));
    assert!(alert.summary.contains("does not answer"), "{alert:?}");
    let check = snap.checks.iter().find(|c| c.name == "redis-master").expect("the lab's redis-master check");
    assert!(check.error.as_deref().is_some_and(|e| e.contains("refused")), "{check:?}");
    assert!(snap.checks.iter().filter(|c| c.name != "redis-master").all(|c| c.passed()), "only the killed master fails: {:?}", snap.checks);

    // The console: the alert on screen, and enter opens failover-redis with master=mymaster.
    let mut console = Console::new(config.clone(), "sitrep-lab".into(), Clock::Real).expect("console");
    let started = runs::keep_runs(&mut console);
    console.model.apply(Event::Observed { at: chrono::Utc::now(), observation: Observation::Alerts(snap) });
    console.model.apply(Event::Tick { at: chrono::Utc::now() });
    console.on_key(KeyEvent::new(KeyCode::Char('6'), KeyModifiers::NONE));
    let frame = sitrep::app::frame_text(&console, 80, 24, false);
    assert!(frame.contains("RedisMasterDown"), "{frame}");
    console.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    assert_eq!(runs::requests(&started), [("failover-redis".to_string(), vec![("master".to_string(), "mymaster".to_string())], None)]);
}
