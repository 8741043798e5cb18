//! Each member's own truth: a Postgres leader that Patroni still calls "running" but that does not
//! answer SQL (frozen, SIGSTOPped) is drawn failing, with its error and since when, and two
//! members answering as primary are a split brain, in the pane and the summary strip alike.

use chrono::{DateTime, Duration, Utc};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use sitrep::config::Thresholds;
use sitrep::model::*;
use sitrep::ui::ViewState;
use sitrep::ui::panes::PaneCtx;
use sitrep::ui::theme::Theme;

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-29T03:12:00Z").map(|t| t.with_timezone(&Utc)).unwrap_or_default()
}

fn member(name: &str, reachable: bool, in_recovery: bool) -> MemberRow {
    MemberRow {
        name: name.into(),
        reachable,
        in_recovery,
        error: (!reachable).then(|| "no answer within 1s".into()),
        ..MemberRow::default()
    }
}

fn patroni(name: &str, role: &str) -> PatroniMember {
    PatroniMember { name: name.into(), role: role.into(), state: "running".into(), timeline: Some(1), ..PatroniMember::default() }
}

/// The pane as text and the summary line, after the leader answered at 0 s and then froze.
fn drawn(frozen: ReplicationSnapshot) -> (String, String) {
    let healthy = ReplicationSnapshot {
        members: vec![member("pg-0", true, false), member("pg-1", true, true)],
        patroni: vec![patroni("pg-0", "leader"), patroni("pg-1", "replica")],
        ..ReplicationSnapshot::default()
    };
    let mut model = Model::new(Duration::seconds(2));
    model.apply(Event::Observed { at: t0(), observation: Observation::Replication(healthy) });
    for i in 1..=10 {
        model.apply(Event::Observed { at: t0() + Duration::seconds(2 * i), observation: Observation::Replication(frozen.clone()) });
    }
    let (view, theme, thresholds) = (ViewState::default(), Theme::mono(), Thresholds::default());
    let ctx =
        PaneCtx { model: &model, view: &view, theme: &theme, thresholds: &thresholds, now: t0() + Duration::seconds(20), focused: true };
    let mut terminal = Terminal::new(TestBackend::new(200, 20)).expect("terminal");
    terminal.draw(|f| sitrep::ui::panes::replication::draw(f, f.area(), &ctx)).expect("draw");
    let buf = terminal.backend().buffer();
    let text = (0..buf.area.height)
        .map(|y| (0..buf.area.width).map(|x| buf[(x, y)].symbol().to_string()).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n");
    (text, sitrep::ui::panes::summary::headline(&model, SourceId::Replication, &ctx).0)
}

#[test]
fn a_frozen_leader_that_patroni_calls_running_is_shown_failing_with_its_error_and_age() {
    let frozen = ReplicationSnapshot {
        members: vec![member("pg-0", false, false), member("pg-1", true, true)],
        patroni: vec![patroni("pg-0", "leader"), patroni("pg-1", "replica")],
        ..ReplicationSnapshot::default()
    };
    let (pane, summary) = drawn(frozen);
    let row = pane.lines().find(|l| l.starts_with("┃pg-0")).unwrap_or_default();
    assert!(row.contains("DOWN no answer within 1s"), "the leader's own answer is shown:\n{pane}");
    assert!(row.contains("failing 18s"), "with since when it fails:\n{pane}");
    assert!(summary.starts_with("LEADER pg-0 NOT ANSWERING SQL (no answer within 1s)"), "{summary}");
    assert!(pane.contains("leader pg-0 (Patroni's word) NOT ANSWERING SQL"), "the header does not call it a healthy leader:\n{pane}");
}

#[test]
fn two_members_answering_as_primary_are_a_split_brain() {
    let split = ReplicationSnapshot {
        members: vec![member("pg-0", true, false), member("pg-1", true, false)],
        patroni: vec![patroni("pg-0", "leader"), patroni("pg-1", "replica")],
        ..ReplicationSnapshot::default()
    };
    let (pane, summary) = drawn(split);
    assert!(summary.contains("SPLIT BRAIN: pg-0, pg-1 all answer as primary"), "{summary}");
    let row = pane.lines().find(|l| l.starts_with("┃pg-1")).unwrap_or_default();
    assert!(row.contains("primary"), "pg-1's own answer contradicts Patroni's role:\n{pane}");
}
