//! Backups pane: newest base backup, WAL, dump and snapshot, their age against the RPO, size, WAL gaps.
//! An age over the RPO target is a breach and shown red with the word BREACH.

use super::PaneCtx;
use crate::model::verdict::{self, KindVerdict};
use crate::model::{BackupKind, SourceId};
use crate::ui::toolkit::{age, bytes};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table};

pub fn draw(f: &mut Frame, area: Rect, ctx: &PaneCtx) {
    let Some((inner, snap)) = super::open(f, area, ctx, 5, "Backups", SourceId::Backups, &ctx.model.backups) else { return };
    let rows = BackupKind::ALL.iter().map(|kind| {
        let count = snap.of_kind(*kind).count();
        let total: u64 = snap.of_kind(*kind).map(|i| i.size).sum();
        match (verdict::backup_kind(ctx.thresholds, snap, *kind, ctx.now), snap.newest(*kind)) {
            (KindVerdict::Newest { at, level, .. }, Some(newest)) => {
                let judged = verdict::judged_by_rpo(*kind);
                let verdict = if level.is_alarm() { "BREACH" } else { "ok" };
                Row::new(vec![
                    kind.label().to_string(),
                    age(ctx.now, at),
                    if judged { verdict.to_string() } else { "-".into() },
                    count.to_string(),
                    bytes(total),
                    newest.key.rsplit('/').find(|s| !s.is_empty()).unwrap_or(&newest.key).to_string(),
                ])
                .style(ctx.theme.row(level))
            }
            _ => Row::new(vec![kind.label().to_string(), "none".into(), "MISSING".into(), "0".into(), "-".into(), String::new()])
                .style(ctx.theme.crit),
        }
    });
    let gap_h = if snap.wal_gaps.is_empty() { 1 } else { snap.wal_gaps.len().min(3) as u16 + 1 };
    let [table_area, gaps_area] = Layout::vertical([Constraint::Length(6), Constraint::Length(gap_h)]).areas(inner);
    f.render_widget(
        Table::new(
            rows,
            [
                Constraint::Length(11),
                Constraint::Length(5),
                Constraint::Length(7),
                Constraint::Length(5),
                Constraint::Length(9),
                Constraint::Fill(1),
            ],
        )
        .header(Row::new(vec!["KIND", "AGE", "RPO", "COUNT", "SIZE", "NEWEST"]).style(ctx.theme.muted)),
        table_area,
    );
    let mut lines = vec![Line::from(vec![
        Span::styled(format!("RPO target {}  ", crate::ui::toolkit::duration(ctx.thresholds.rpo_secs as i64)), ctx.theme.muted),
        if snap.wal_gaps.is_empty() {
            Span::styled("WAL sequence complete", ctx.theme.text)
        } else {
            Span::styled(format!("{} WAL GAP(S)", snap.wal_gaps.len()), ctx.theme.crit)
        },
    ])];
    lines.extend(snap.wal_gaps.iter().take(3).map(|(a, b)| Line::from(Span::styled(format!("  missing {a} … {b}"), ctx.theme.crit))));
    f.render_widget(Paragraph::new(lines), gaps_area);
}
