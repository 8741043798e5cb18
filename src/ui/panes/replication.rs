//! Replication pane: who leads, each standby's lag (bytes and seconds), Patroni members, WAL archiving.
//! Lag over threshold turns yellow then red; a failing archiver is always red.

use super::PaneCtx;
use crate::model::SourceId;
use crate::model::verdict;
use crate::ui::toolkit::{age, bytes};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Sparkline, Table};

pub fn draw(f: &mut Frame, area: Rect, ctx: &PaneCtx) {
    let Some((inner, snap)) = super::open(f, area, ctx, 2, "Replication", SourceId::Replication, &ctx.model.replication) else { return };
    let lag_style = |secs: Option<f64>, b: u64| ctx.theme.row(verdict::lag(ctx.thresholds, secs, Some(b)));
    let leader = snap.leader().map_or_else(|| Span::styled("NO LEADER", ctx.theme.crit), |l| Span::styled(l.to_string(), ctx.theme.ok));
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
    let spark_h = if inner.height > 12 { 3 } else { 0 };
    let [head_area, members_area, standby_area, spark_area] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(snap.patroni.len().max(snap.members.len()) as u16 + 1),
        Constraint::Fill(1),
        Constraint::Length(spark_h),
    ])
    .areas(inner);
    f.render_widget(Paragraph::new(Line::from(head)), head_area);

    let members: Vec<Row> = if snap.patroni.is_empty() {
        snap.members
            .iter()
            .map(|m| {
                let role = if !m.reachable {
                    "down"
                } else if m.in_recovery {
                    "replica"
                } else {
                    "primary"
                };
                let style = if m.reachable { ctx.theme.text } else { ctx.theme.crit };
                Row::new(vec![m.name.clone(), role.into(), m.error.clone().unwrap_or_default(), String::new(), String::new()]).style(style)
            })
            .collect()
    } else {
        snap.patroni
            .iter()
            .map(|m| {
                let style = if m.state == "running" || m.state == "streaming" { ctx.theme.text } else { ctx.theme.crit };
                Row::new(vec![
                    m.name.clone(),
                    m.role.clone(),
                    m.state.clone(),
                    m.timeline.map_or_else(String::new, |t| format!("TL{t}")),
                    format!(
                        "{}{}",
                        m.lag_bytes.map_or_else(String::new, |l| bytes(l.max(0) as u64)),
                        if m.pending_restart { " restart!" } else { "" }
                    ),
                ])
                .style(style)
            })
            .collect()
    };
    f.render_widget(
        Table::new(
            members,
            [Constraint::Fill(1), Constraint::Length(14), Constraint::Length(10), Constraint::Length(5), Constraint::Fill(1)],
        )
        .header(Row::new(vec!["MEMBER", "ROLE", "STATE", "TL", "LAG"]).style(ctx.theme.muted)),
        members_area,
    );

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
