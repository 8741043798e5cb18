//! The kube pane's autoscaling view (`:hpa`) drawn off-screen at 80x24 and 200x60: autoscalers
//! with CPU against target, bounds and replicas, one at its maximum while over target first and
//! critical, the summary strip naming it; budgets with the disruptions they allow; a list that
//! cannot be read says why, and the rest of the pane goes on.

#[path = "support/console.rs"]
mod console_support;

use chrono::{DateTime, Duration, Utc};
use console_support::kube_console;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use sitrep::app::{Console, frame_text};
use sitrep::model::*;

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-29T03:12:00Z").map(|t| t.with_timezone(&Utc)).unwrap_or_default() + Duration::seconds(secs)
}

fn hpa(name: &str, cpu: u32, current: u32) -> HpaRow {
    HpaRow {
        namespace: "shop".into(),
        name: name.into(),
        target: format!("Deployment/{name}"),
        min: 2,
        max: 10,
        current,
        desired: current,
        cpu_pct: Some(cpu),
        cpu_target_pct: Some(70),
    }
}

fn snapshot() -> PodsSnapshot {
    PodsSnapshot {
        scaling: Some(Box::new(Scaling {
            autoscalers: vec![hpa("web", 40, 2), hpa("api", 131, 10)],
            budgets: vec![
                PdbRow {
                    namespace: "shop".into(),
                    name: "api".into(),
                    min_available: "2".into(),
                    allowed: 8,
                    healthy: 10,
                    desired_healthy: 2,
                    expected: 10,
                    ..PdbRow::default()
                },
                PdbRow {
                    namespace: "shop".into(),
                    name: "web".into(),
                    min_available: "1".into(),
                    allowed: 0,
                    healthy: 1,
                    desired_healthy: 1,
                    expected: 1,
                    ..PdbRow::default()
                },
            ],
            problem: None,
        })),
        ..PodsSnapshot::default()
    }
}

fn console(snap: PodsSnapshot) -> Console {
    let mut c = kube_console(snap, at(0));
    for ch in ":hpa".chars() {
        c.view.on_key(KeyEvent::new(KeyCode::Char(ch), KeyModifiers::NONE));
    }
    c.view.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    c
}

#[test]
fn an_autoscaler_at_its_maximum_over_target_leads_and_is_named_in_the_summary() {
    let c = console(snapshot());
    let small = frame_text(&c, 80, 24, false);
    assert!(small.contains("2 HPA(s) · 1 at max over target · 0 at max · 1 of 2 PDB(s) allow none"), "{small}");
    assert!(small.contains("fresh ≤4s  1 autoscaler(s) at max (:hpa) · 0 pods ready"), "the summary strip names it:\n{small}");
    let api = small.lines().position(|l| l.contains("shop/api") && l.contains("131%/70%"));
    let web = small.lines().position(|l| l.contains("shop/web") && l.contains("40%/70%"));
    assert!(api.is_some() && api < web, "the maxed autoscaler comes first:\n{small}");
    insta::assert_snapshot!("hpa_80x24", small);
    let large = frame_text(&c, 200, 60, false);
    assert!(large.contains("MIN AVAILABLE") && large.contains("ALLOWED DISRUPTIONS"), "{large}");
    let web_pdb = large.lines().find(|l| l.contains("shop/web") && l.contains("N/A")).unwrap_or_default();
    let cells: Vec<&str> = web_pdb.split_whitespace().collect();
    assert!(cells.windows(3).any(|w| w == ["0", "1", "1"]), "web's budget allows none: {web_pdb}\n{large}");
    insta::assert_snapshot!("hpa_200x60", large);
    // Colour: the maxed one is critical.
    let ansi = frame_text(&c, 200, 60, true);
    assert!(ansi.contains("\u{1b}["), "a coloured frame has escapes");
}

#[test]
fn a_list_that_cannot_be_read_says_why_and_the_pane_goes_on() {
    let snap = PodsSnapshot {
        scaling: Some(Box::new(Scaling {
            problem: Some(ListProblem {
                error: "horizontalpodautoscalers.autoscaling is forbidden: User \"viewer\" cannot list resource".into(),
                since: Some(at(-30)),
                last_ok: None,
            }),
            ..Scaling::default()
        })),
        ..PodsSnapshot::default()
    };
    let frame = frame_text(&console(snap), 200, 60, false);
    assert!(frame.contains("is forbidden: User \"viewer\""), "{frame}");
    assert!(frame.contains("no HorizontalPodAutoscaler listed"), "{frame}");
}
