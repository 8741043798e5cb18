//! Backups pane: newest base backup, WAL, dump and snapshot, their age against the RPO, size, WAL gaps.
//! Over the RPO is BREACH; unkept kinds are not missing; future dates are flagged; catalogues summarised.

use super::PaneCtx;
use crate::model::verdict::{self, KindVerdict};
use crate::model::{BackupKind, SourceId};
use crate::ui::toolkit::{age, bytes};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table};

/// What a kept kind with nothing in the inventory says in its NEWEST cell.
const KEPT_NONE: &str = "kept, none found";

pub fn draw(f: &mut Frame, area: Rect, ctx: &PaneCtx) {
    let Some((inner, snap)) = super::open(f, area, ctx, 5, "Backups", SourceId::Backups, &ctx.model.backups) else { return };
    let missing = verdict::missing_kinds(snap, ctx.now);
    let rows = BackupKind::ALL.iter().map(|kind| {
        let count = snap.of_kind(*kind).count();
        let total: u64 = snap.of_kind(*kind).map(|i| i.size).sum();
        match (verdict::backup_kind(ctx.thresholds, snap, *kind, ctx.now), verdict::newest_protecting(snap, *kind, ctx.now)) {
            (KindVerdict::Newest { at, level, .. }, Some(newest)) => {
                let judged = verdict::judged_by_rpo(*kind) && snap.expects(*kind);
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
            _ if missing.contains(kind) => {
                Row::new(vec![kind.label().to_string(), "none".into(), "MISSING".into(), "0".into(), "-".into(), KEPT_NONE.into()])
                    .style(ctx.theme.crit)
            }
            _ => Row::new(vec![kind.label().to_string(), "-".into(), "-".into(), "0".into(), "-".into(), "not used here".into()])
                .style(ctx.theme.muted),
        }
    });
    let future: Vec<_> = verdict::future_items(snap, ctx.now).collect();
    let gap_h = if snap.wal_gaps.is_empty() { 1 } else { snap.wal_gaps.len().min(3) as u16 + 1 }
        + u16::from(!future.is_empty())
        + u16::from(snap.refused.is_some())
        + if snap.catalog.is_some() { 2 } else { 0 };
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
    if let Some(first) = future.first() {
        let name = first.key.rsplit('/').find(|s| !s.is_empty()).unwrap_or(&first.key);
        lines.push(Line::from(Span::styled(
            format!("{} FUTURE-DATED (not counted): {name} dated {} ahead", future.len(), age(first.at, ctx.now)),
            ctx.theme.crit,
        )));
    }
    if let Some((count, first)) = &snap.refused {
        // Before the gaps and the catalogue: someone wrote into the backup prefix.
        lines.insert(
            1,
            Line::from(Span::styled(
                format!("{count} object(s) NOT COUNTED: control characters in the key, as no backup tool writes: {first}"),
                ctx.theme.crit,
            )),
        );
    }
    if let Some(c) = &snap.catalog {
        lines.push(Line::from(Span::styled(catalog_line(c, ctx.now), ctx.theme.text)));
        lines.push(Line::from(Span::styled(format!("  {}", c.found), ctx.theme.muted)));
    }
    f.render_widget(Paragraph::new(lines), gaps_area);
}

/// The catalogue in one line: tool, backup count, newest backup and newest archived WAL.
fn catalog_line(c: &crate::model::backups::CatalogSummary, now: chrono::DateTime<chrono::Utc>) -> String {
    let name = c.name.as_deref().map(|n| format!(" {n}")).unwrap_or_default();
    let newest = match (&c.newest_label, &c.newest_type) {
        (Some(l), Some(t)) => {
            format!("newest {l} ({t}{})", c.newest_stop.map(|s| format!(", stop {} ago", age(now, s))).unwrap_or_default())
        }
        _ => "no good backup".into(),
    };
    let wal = match (&c.newest_wal, c.newest_wal_at) {
        (Some(w), Some(at)) => format!("WAL {w} {} ago", age(now, at)),
        (Some(w), None) => format!("WAL {w}"),
        _ => "no WAL".into(),
    };
    format!("{}{name}: {} backup(s) · {newest} · {wal} ({} seg)", c.layout, c.backup_count, c.wal_count)
}
