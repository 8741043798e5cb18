//! Backups pane: newest base backup, WAL, dump and snapshot, their age against the RPO, size, WAL gaps.
//! Over the RPO is BREACH; unkept kinds are not missing; future dates are flagged; catalogues summarised.

use super::PaneCtx;
use crate::model::verdict::{self, KindVerdict, Level};
use crate::model::{BackupKind, BackupSources, BackupsSnapshot, SourceId};
use crate::ui::toolkit::{age, answered, bytes};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table};

/// What a kept kind with nothing in the inventory says in its NEWEST cell.
const KEPT_NONE: &str = "kept, none found";

pub fn draw(f: &mut Frame, area: Rect, ctx: &PaneCtx) {
    let Some((inner, all)) = super::open(f, area, ctx, 5, "Backups", SourceId::Backups, &ctx.model.backups) else { return };
    match all.sources.as_slice() {
        [one] if one.error.is_none() => draw_one(f, inner, ctx, one),
        _ => draw_several(f, inner, ctx, all),
    }
}

/// Widths of KIND AGE RPO COUNT SIZE NEWEST.
const WIDTHS: [Constraint; 6] = [
    Constraint::Length(11),
    Constraint::Length(5),
    Constraint::Length(7),
    Constraint::Length(5),
    Constraint::Length(9),
    Constraint::Fill(1),
];

/// One kind's cells (KIND AGE RPO COUNT SIZE NEWEST) and style: its newest protecting item and
/// age against the RPO, MISSING when the source keeps it and has none, "not used here" otherwise.
fn kind_cells(ctx: &PaneCtx, snap: &BackupsSnapshot, kind: BackupKind, missing: &[BackupKind]) -> ([String; 6], Style) {
    let crate::model::backups::Total { count, bytes: total } = snap.total(kind);
    let label = kind.label().to_string();
    match (verdict::backup_kind(ctx.thresholds, snap, kind, ctx.now), verdict::newest_protecting(snap, kind, ctx.now)) {
        (KindVerdict::Newest { at, level, .. }, Some(newest)) => {
            let judged = verdict::judged_by_rpo(kind) && snap.expects(kind);
            let name = newest.key.rsplit('/').find(|s| !s.is_empty()).unwrap_or(&newest.key).to_string();
            // From a source that cannot be read just now: what it held when last read, never "ok".
            let (verdict, style) = match (judged, level.is_alarm(), snap.error.is_some()) {
                (false, _, _) => ("-", ctx.theme.row(level)),
                (true, _, true) => ("?", ctx.theme.muted),
                (true, true, false) => ("BREACH", ctx.theme.row(level)),
                (true, false, false) => ("ok", ctx.theme.row(level)),
            };
            ([label, age(ctx.now, at), verdict.into(), count.to_string(), bytes(total), name], style)
        }
        // Never read (or nothing when last read) from a source that cannot be read: not known
        // to be missing.
        _ if missing.contains(&kind) && snap.error.is_some() => {
            ([label, "-".into(), "?".into(), "-".into(), "-".into(), "not read".into()], ctx.theme.muted)
        }
        _ if missing.contains(&kind) => {
            ([label, "none".into(), "MISSING".into(), "0".into(), "-".into(), KEPT_NONE.into()], ctx.theme.crit)
        }
        _ => ([label, "-".into(), "-".into(), "0".into(), "-".into(), "not used here".into()], ctx.theme.muted),
    }
}

/// What a source's table does not say: WAL gaps, future-dated and refused items, its catalogue.
fn notes(ctx: &PaneCtx, snap: &BackupsSnapshot, gaps_shown: usize) -> Vec<Line<'static>> {
    let future: Vec<_> = verdict::future_items(snap, ctx.now).collect();
    let mut lines = vec![];
    if let Some((count, first)) = &snap.refused {
        // First: someone wrote into the backup prefix.
        lines.push(Line::from(Span::styled(
            format!("{count} object(s) NOT COUNTED: control characters in the key, as no backup tool writes: {first}"),
            ctx.theme.crit,
        )));
    }
    lines.extend(
        snap.wal_gaps.iter().take(gaps_shown).map(|(a, b)| Line::from(Span::styled(format!("  missing {a} … {b}"), ctx.theme.crit))),
    );
    if let Some(first) = future.first() {
        let name = first.key.rsplit('/').find(|s| !s.is_empty()).unwrap_or(&first.key);
        lines.push(Line::from(Span::styled(
            format!("{} FUTURE-DATED (not counted): {name} dated {} ahead", future.len(), age(first.at, ctx.now)),
            ctx.theme.crit,
        )));
    }
    if let Some(c) = &snap.catalog {
        lines.push(Line::from(Span::styled(catalog_line(c, ctx.now), ctx.theme.text)));
        lines.push(Line::from(Span::styled(format!("  {}", c.found), ctx.theme.muted)));
    }
    lines
}

fn gaps_word(ctx: &PaneCtx, snap: &BackupsSnapshot) -> Span<'static> {
    if snap.wal_gaps.is_empty() {
        Span::styled("WAL sequence complete", ctx.theme.text)
    } else {
        Span::styled(format!("{} WAL GAP(S)", snap.wal_gaps.len()), ctx.theme.crit)
    }
}

/// What the reading cost: its S3 requests (LIST pages and catalogue GETs).
fn requests_word(ctx: &PaneCtx, snap: &BackupsSnapshot) -> Option<Span<'static>> {
    snap.requests.map(|n| Span::styled(format!("  · {n} S3 request(s)"), ctx.theme.muted))
}

fn draw_one(f: &mut Frame, inner: Rect, ctx: &PaneCtx, snap: &BackupsSnapshot) {
    let missing = verdict::missing_kinds(snap, ctx.now);
    let rows: Vec<Row> = BackupKind::ALL
        .iter()
        .map(|kind| {
            let (cells, style) = kind_cells(ctx, snap, *kind, &missing);
            Row::new(cells).style(style)
        })
        .collect();
    let mut first = vec![
        Span::styled(format!("RPO target {}  ", crate::ui::toolkit::duration(ctx.thresholds.rpo_secs as i64)), ctx.theme.muted),
        gaps_word(ctx, snap),
    ];
    first.extend(requests_word(ctx, snap));
    let mut lines = vec![Line::from(first)];
    lines.extend(notes(ctx, snap, 3));
    let [table_area, gaps_area] = Layout::vertical([Constraint::Length(6), Constraint::Length(lines.len() as u16)]).areas(inner);
    f.render_widget(
        Table::new(rows, WIDTHS).header(Row::new(vec!["KIND", "AGE", "RPO", "COUNT", "SIZE", "NEWEST"]).style(ctx.theme.muted)),
        table_area,
    );
    f.render_widget(Paragraph::new(lines), gaps_area);
}

/// Several sources (or one that cannot be read): each under its own line, with the kinds it keeps
/// (or has), its notes, and its error and age when it could not be read just now.
fn draw_several(f: &mut Frame, inner: Rect, ctx: &PaneCtx, all: &BackupSources) {
    let mut lines = vec![Line::from(Span::styled(
        format!("RPO target {}  {} source(s)", crate::ui::toolkit::duration(ctx.thresholds.rpo_secs as i64), all.sources.len()),
        ctx.theme.muted,
    ))];
    // Worst first, an unreadable one before all: long rows wrap, and what alarms must not be the
    // part pushed below the pane's edge.
    let mut sources: Vec<(Level, &BackupsSnapshot)> = all.iter().map(|s| (verdict::backup_source(ctx.thresholds, s, ctx.now), s)).collect();
    sources.sort_by_key(|(level, s)| (std::cmp::Reverse(*level), s.error.is_none()));
    for (level, snap) in sources {
        let name = if snap.source.is_empty() { "s3" } else { snap.source.as_str() };
        let mut head = vec![Span::styled(format!("{name}  s3://{}  ", snap.bucket), ctx.theme.row(level))];
        match &snap.error {
            Some(e) => {
                let health = ctx.model.backup_health.get(&snap.source);
                let since = answered(health, ctx.now, ctx.model.fresh_within(SourceId::Backups));
                let last = health.and_then(|h| h.last_ok);
                let last = last.map_or_else(|| "never read".to_string(), |t| format!("last read {} ago", age(ctx.now, t)));
                head.push(Span::styled(format!("UNREADABLE {since} · {last}"), ctx.theme.crit));
                lines.push(Line::from(head));
                lines.push(Line::from(Span::styled(format!("  {e}"), ctx.theme.crit)));
            }
            None => {
                head.push(gaps_word(ctx, snap));
                head.extend(requests_word(ctx, snap));
                lines.push(Line::from(head));
            }
        }
        let missing = verdict::missing_kinds(snap, ctx.now);
        for kind in BackupKind::ALL.into_iter().filter(|k| snap.expects(*k) || snap.of_kind(*k).next().is_some()) {
            lines.push(row_line(ctx, snap, kind, &missing));
        }
        lines.extend(notes(ctx, snap, 1));
    }
    // Wrapped: an error is the server's words and the fix, whole.
    f.render_widget(Paragraph::new(lines).wrap(ratatui::widgets::Wrap { trim: false }), inner);
}

/// `kind_cells` as one line of text under its source, spaced as the table's columns.
fn row_line(ctx: &PaneCtx, snap: &BackupsSnapshot, kind: BackupKind, missing: &[BackupKind]) -> Line<'static> {
    let ([kind, age, rpo, count, size, newest], style) = kind_cells(ctx, snap, kind, missing);
    Line::from(Span::styled(format!("  {kind:<11}{age:>5} {rpo:<7}{count:>5} {size:>8} {newest}"), style))
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
