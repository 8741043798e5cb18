//! Timeline pane: the open incident's entries, newest first; unsaved findings are marked.
//! Also drawn full-screen as the `t` overlay, scrollable with j/k.

use super::PaneCtx;
use crate::model::EntryClass;
use crate::ui::toolkit::{age, fit, wrap};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

pub fn draw(f: &mut Frame, area: Rect, ctx: &PaneCtx, overlay: bool) {
    let title = match &ctx.model.incident {
        Some(i) => format!(" timeline · {i} "),
        None => " timeline · no incident open (:open P2 title) ".to_string(),
    };
    let sync = ctx.model.timeline_sync.as_ref();
    let sync_badge = sync.map(|s| match (s.online, s.unsynced.len()) {
        (true, 0) => Span::styled("shared ✓ ", ctx.theme.ok),
        (true, n) => Span::styled(format!("shared · {n} unsynced ⇡ "), ctx.theme.warn),
        (false, n) => Span::styled(
            format!(
                "shared OFFLINE {} · {n} unsynced, kept here ",
                s.since.map(|t| format!("{} ago", age(ctx.now, t))).unwrap_or_default()
            ),
            ctx.theme.crit,
        ),
    });
    let unsynced: std::collections::HashSet<&str> = sync.map(|s| s.unsynced.iter().map(String::as_str).collect()).unwrap_or_default();
    let kinds = ctx.view.timeline_kind;
    let order = if ctx.view.timeline_oldest_first { "oldest first" } else { "newest first" };
    let hint = if overlay { " n note · t/esc close " } else { " t expands · n note " };
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_style(if overlay { ctx.theme.focus } else { ctx.theme.border })
        .title(Line::from(std::iter::once(Span::styled(title, ctx.theme.accent)).chain(sync_badge).collect::<Vec<_>>()))
        .title(Line::from(Span::styled(hint, ctx.theme.muted)).right_aligned());
    if overlay {
        // What is shown, and how to change it, on the bottom border: the top one is the incident's.
        let showing = kinds.kind().map_or("all kinds".to_string(), |k| format!("{} only", k.name()));
        block = block
            .title_bottom(Line::from(Span::styled(format!(" {showing} · {order} · f kind · o order "), ctx.theme.muted)).right_aligned());
    }
    let inner = block.inner(area);
    if overlay {
        f.render_widget(Clear, area);
    }
    f.render_widget(block, area);
    let mut lines: Vec<Line> = Vec::new();
    if let Some(problem) = &ctx.model.timeline_problem {
        lines.push(Line::from(Span::styled(format!("⚠ {problem}"), ctx.theme.crit)));
    }
    if let Some(notice) = &ctx.model.timeline_notice {
        lines.push(Line::from(Span::styled(format!("ℹ {notice}"), ctx.theme.accent)));
    }
    if let Some(error) = sync.filter(|s| !s.online).and_then(|s| s.error.as_ref()) {
        lines.push(Line::from(Span::styled(
            format!("⚠ shared timeline: {error}; entries are saved here and pushed when it returns"),
            ctx.theme.crit,
        )));
    }
    let skip = if overlay { ctx.view.timeline_scroll } else { 0 };
    let wanted = if overlay { kinds.kind() } else { None };
    let shown = ctx.model.timeline.iter().filter(|l| wanted.is_none_or(|k| l.kind == k));
    let ordered: Box<dyn Iterator<Item = &crate::model::TimelineLine>> =
        if overlay && ctx.view.timeline_oldest_first { Box::new(shown) } else { Box::new(shown.rev()) };
    // Time and age take 14 columns; the text gets the rest. The pane cuts a long text with `…`;
    // the overlay (`t`) wraps it under itself, so every word can be read at 80x24.
    const LEAD: usize = 14;
    let room = (inner.width as usize).saturating_sub(LEAD).max(1);
    let height = inner.height as usize;
    for l in ordered.skip(skip) {
        if lines.len() >= height {
            break;
        }
        let style = match l.kind {
            EntryClass::Detected if l.text.contains("recovered") => ctx.theme.ok,
            EntryClass::Detected => ctx.theme.warn,
            EntryClass::Note => ctx.theme.text,
            EntryClass::Action | EntryClass::Incident => ctx.theme.accent,
        };
        let mark = if l.id.is_none() {
            Some(Span::styled("  (unsaved: no incident open)", ctx.theme.muted))
        } else if l.id.as_deref().is_some_and(|id| unsynced.contains(id)) {
            Some(Span::styled("  ⇡ unsynced", ctx.theme.warn))
        } else {
            None
        };
        let mark_width = mark.as_ref().map_or(0, |m| m.width());
        let lead = vec![
            Span::styled(format!("{} ", l.at.format("%H:%M:%S")), ctx.theme.muted),
            Span::styled(format!("{:>4} ", age(ctx.now, l.at)), ctx.theme.muted),
        ];
        if overlay {
            let wrapped = wrap(&l.text, room);
            let last = wrapped.len() - 1;
            for (i, text) in wrapped.into_iter().enumerate() {
                let used = unicode_width::UnicodeWidthStr::width(text.as_str());
                let mut spans = if i == 0 { lead.clone() } else { vec![Span::raw(" ".repeat(LEAD))] };
                spans.push(Span::styled(text, style));
                if i == last && used + mark_width <= room {
                    spans.extend(mark.clone());
                    lines.push(Line::from(spans));
                } else {
                    lines.push(Line::from(spans));
                    if i == last
                        && let Some(m) = mark.clone()
                    {
                        lines.push(Line::from(vec![Span::raw(" ".repeat(LEAD)), m]));
                    }
                }
            }
        } else {
            let keep_mark = room > mark_width + 12;
            let text = fit(&l.text, if keep_mark { room - mark_width } else { room });
            let mut spans = lead;
            spans.push(Span::styled(text, style));
            if keep_mark {
                spans.extend(mark);
            }
            lines.push(Line::from(spans));
        }
    }
    if lines.is_empty() {
        lines.push(Line::from(Span::styled("nothing yet: detections and notes appear here", ctx.theme.muted)));
    }
    f.render_widget(Paragraph::new(lines), inner);
}
