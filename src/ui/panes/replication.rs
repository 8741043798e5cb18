//! Replication pane: who leads, each standby's lag (bytes and seconds), Patroni members, WAL archiving,
//! and each member's connections and longest statement by its own pg_stat_activity.
//! Lag over threshold turns yellow then red; a failing archiver is always red.

use super::PaneCtx;
use crate::model::SourceId;
use crate::model::verdict::{self, MemberAlarm};
use crate::ui::toolkit::{age, answered, bytes};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Sparkline, Table};

pub fn draw(f: &mut Frame, area: Rect, ctx: &PaneCtx) {
    let Some((inner, snap)) = super::open(f, area, ctx, 2, "Replication", SourceId::Replication, &ctx.model.replication) else { return };
    let lag_style = |secs: Option<f64>, b: u64| ctx.theme.row(verdict::lag(ctx.thresholds, secs, Some(b)));
    let alarms = verdict::member_alarms(snap);
    let unanswering = alarms.iter().find(|a| matches!(a, MemberAlarm::LeaderUnanswering { .. }));
    let leader = match (snap.leader(), unanswering) {
        (None, _) => Span::styled("NO LEADER", ctx.theme.crit),
        (Some(l), Some(_)) => Span::styled(format!("{l} (Patroni's word) NOT ANSWERING SQL"), ctx.theme.crit),
        (Some(l), None) => Span::styled(l.to_string(), ctx.theme.ok),
    };
    let mut head = vec![Span::styled("leader ", ctx.theme.muted), leader];
    if let Some(a) = &snap.archiver {
        head.push(Span::styled("  archive ", ctx.theme.muted));
        if a.is_failing() {
            head.push(Span::styled(
                format!(
                    "FAILING {} (failed {}, last {})",
                    a.last_failed_time.map_or_else(|| "-".into(), |t| age(ctx.now, t)),
                    a.failed_count,
                    a.last_failed_wal.as_deref().unwrap_or("-")
                ),
                ctx.theme.crit,
            ));
        } else {
            head.push(Span::styled(
                format!(
                    "ok, last {} {} ago",
                    a.last_archived_wal.as_deref().unwrap_or("-"),
                    a.last_archived_time.map_or_else(|| "-".into(), |t| age(ctx.now, t))
                ),
                ctx.theme.text,
            ));
        }
    }
    let load = verdict::load_alarms(ctx.thresholds, snap);
    let spark_h = if inner.height > 12 { 3 } else { 0 };
    let [head_area, members_area, load_area, standby_area, spark_area] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(snap.patroni.len().max(snap.members.len()) as u16 + 1),
        Constraint::Length(load.len().min(2) as u16),
        Constraint::Fill(1),
        Constraint::Length(spark_h),
    ])
    .areas(inner);
    f.render_widget(Paragraph::new(Line::from(head)), head_area);

    f.render_widget(members_table(snap, &alarms, &load, ctx), members_area);
    // The worst two load alarms in words: who holds the connections, which statement runs long.
    let load_lines: Vec<Line> = load.iter().take(2).map(|a| Line::styled(a.words(), ctx.theme.row(a.level()))).collect();
    f.render_widget(Paragraph::new(load_lines), load_area);

    let standbys = snap.standbys.iter().map(|s| {
        Row::new(vec![
            s.name.clone(),
            s.state.clone(),
            bytes(s.write_lag_bytes),
            bytes(s.replay_lag_bytes),
            s.replay_lag_secs.map_or_else(|| "-".into(), |v| format!("{v:.1}s")),
        ])
        .style(lag_style(s.replay_lag_secs, s.replay_lag_bytes))
    });
    let mut standby_table = Table::new(
        standbys,
        [Constraint::Fill(1), Constraint::Length(10), Constraint::Length(9), Constraint::Length(9), Constraint::Length(8)],
    )
    .header(Row::new(vec!["STANDBY", "STATE", "WRITE", "REPLAY", "LAG"]).style(ctx.theme.muted));
    if snap.standbys.is_empty() {
        standby_table = standby_table.header(Row::new(vec!["no standby streaming from the leader"]).style(ctx.theme.crit));
    }
    f.render_widget(standby_table, standby_area);
    if spark_h > 0 {
        let data = ctx.model.lag_history.values();
        let skip = data.len().saturating_sub(spark_area.width as usize);
        f.render_widget(Sparkline::default().data(&data[skip..]).style(ctx.theme.accent), spark_area);
    }
}

/// Every member twice judged: what Patroni says (role, state) beside what the member itself answers
/// over SQL, with the age of that answer. A member that does not answer is red with its error and
/// since when, whatever Patroni says (a frozen leader stays "running" in Patroni's view).
fn members_table<'a>(
    snap: &'a crate::model::ReplicationSnapshot,
    alarms: &[MemberAlarm],
    load: &[verdict::LoadAlarm],
    ctx: &PaneCtx,
) -> Table<'a> {
    let alarmed = |name: &str| {
        alarms.iter().any(|a| match a {
            MemberAlarm::SplitBrain(names) => names.iter().any(|n| n == name),
            MemberAlarm::LeaderUnanswering { name: n, .. } | MemberAlarm::MemberDown { name: n, .. } => n == name,
        })
    };
    let mut names: Vec<&str> = snap.patroni.iter().map(|m| m.name.as_str()).collect();
    names.extend(snap.members.iter().map(|m| m.name.as_str()).filter(|n| !snap.patroni.iter().any(|p| p.name == *n)));
    let rows = names.into_iter().map(|name| {
        let patroni = snap.patroni.iter().find(|m| m.name == name);
        let sql = snap.members.iter().find(|m| m.name == name);
        let answer = match sql {
            Some(m) if m.reachable && m.in_recovery => "replica".to_string(),
            Some(m) if m.reachable => "primary".to_string(),
            Some(m) => format!("DOWN {}", m.error.as_deref().unwrap_or("no answer")),
            None => "-".to_string(),
        };
        let when = answered(ctx.model.member_health.get(name), ctx.now, ctx.model.fresh_within(SourceId::Replication));
        let patroni_bad = patroni.is_some_and(|m| m.state != "running" && m.state != "streaming");
        let loaded = load.iter().filter(|a| a.member() == name).map(verdict::LoadAlarm::level).max().unwrap_or_default();
        let style = if alarmed(name) || patroni_bad { ctx.theme.crit } else { ctx.theme.row(loaded) };
        // Connections as the member itself counts them, only while it answers.
        let conn = sql.filter(|m| m.reachable).and_then(|m| m.load.as_ref()).map_or_else(|| "-".into(), |l| format!("{}%", l.percent()));
        let (role, state, tl, lag) = match patroni {
            Some(m) => (
                m.role.clone(),
                m.state.clone(),
                m.timeline.map_or_else(String::new, |t| format!("TL{t}")),
                format!(
                    "{}{}",
                    m.lag_bytes.map_or_else(String::new, |l| bytes(l.max(0) as u64)),
                    if m.pending_restart { " restart!" } else { "" }
                ),
            ),
            None => ("-".into(), "-".into(), String::new(), String::new()),
        };
        Row::new(vec![name.to_string(), role, state, tl, lag, answer, conn, when]).style(style)
    });
    Table::new(
        rows.collect::<Vec<_>>(),
        [
            Constraint::Length(10),
            Constraint::Length(14),
            Constraint::Length(9),
            Constraint::Length(4),
            Constraint::Length(8),
            Constraint::Fill(2),
            Constraint::Length(4),
            Constraint::Fill(1),
        ],
    )
    .header(Row::new(vec!["MEMBER", "PATRONI", "STATE", "TL", "LAG", "SQL ANSWER", "CONN", "CHECKED"]).style(ctx.theme.muted))
}
