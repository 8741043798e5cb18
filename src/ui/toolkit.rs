//! Shared drawing pieces for every pane: the framed block with its health badge, ages, sizes.
//! One toolkit so five panes look and behave alike.

use super::theme::Theme;
use crate::model::Health;
use chrono::{DateTime, Utc};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Paragraph, Wrap};

/// The frame of a pane: its number and name on the left, its health on the right.
pub fn pane_block<'a>(index: usize, title: &'a str, health: &Health, focused: bool, theme: &Theme, now: DateTime<Utc>) -> Block<'a> {
    let (badge, style) = badge(health, theme, now);
    let title_style = if focused { theme.focus } else { theme.accent };
    Block::default()
        .borders(Borders::ALL)
        .border_type(if focused { BorderType::Thick } else { BorderType::Plain })
        .border_style(if focused { theme.focus } else { theme.border })
        .title(Line::from(vec![Span::styled(format!(" {index} {title} "), title_style)]))
        .title(Line::from(Span::styled(format!(" {badge} "), style)).right_aligned())
}

/// A `w`x`h` rectangle centred in `area` (for overlays), never larger than it.
pub fn centered(area: ratatui::layout::Rect, w: u16, h: u16) -> ratatui::layout::Rect {
    let (w, h) = (w.min(area.width), h.min(area.height));
    ratatui::layout::Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h }
}

/// An overlay (help, describe, wizard, picker): clears `rect` and draws `lines` wrapped inside a
/// focus-coloured frame titled `title`. `trim` drops the indentation of wrapped lines.
pub fn overlay(
    f: &mut ratatui::Frame,
    rect: ratatui::layout::Rect,
    title: impl Into<Line<'static>>,
    lines: Vec<Line<'_>>,
    trim: bool,
    theme: &Theme,
) {
    framed(f, rect, title.into(), lines, trim, None, theme);
}

/// [`overlay`] scrolled down by `scroll` wrapped lines, never past its last page. When it holds
/// more than one page, the bottom border says which lines are shown and how to move.
pub fn scrolled_overlay(
    f: &mut ratatui::Frame,
    rect: ratatui::layout::Rect,
    title: impl Into<Line<'static>>,
    lines: Vec<Line<'_>>,
    trim: bool,
    scroll: usize,
    theme: &Theme,
) {
    framed(f, rect, title.into(), lines, trim, Some(scroll), theme);
}

/// "3–22 of 40 · keys": which lines of a scrolled view are on screen, and how to move.
pub fn shown_lines(first: usize, page: usize, total: usize, keys: &str) -> String {
    format!(" {}–{} of {total} · {keys} ", first + 1, (first + page).min(total))
}

/// The one framed overlay: `scroll` None for one that cannot scroll (it shows no scroll hint).
fn framed(
    f: &mut ratatui::Frame,
    rect: ratatui::layout::Rect,
    title: Line<'static>,
    lines: Vec<Line<'_>>,
    trim: bool,
    scroll: Option<usize>,
    theme: &Theme,
) {
    let mut block = Block::default().borders(Borders::ALL).border_style(theme.focus).title(title);
    let paragraph = Paragraph::new(lines).wrap(Wrap { trim });
    let Some(scroll) = scroll else {
        f.render_widget(ratatui::widgets::Clear, rect);
        f.render_widget(paragraph.block(block), rect);
        return;
    };
    let inner = block.inner(rect);
    // The unstable line count is ratatui's own wrapping, so the clamp agrees with what is drawn.
    let total = paragraph.line_count(inner.width);
    let page = usize::from(inner.height);
    let first = scroll.min(total.saturating_sub(page));
    if total > page {
        block = block.title_bottom(Line::from(Span::styled(shown_lines(first, page, total, "j/k PgUp/PgDn"), theme.muted)).right_aligned());
    }
    f.render_widget(ratatui::widgets::Clear, rect);
    f.render_widget(paragraph.block(block).scroll((u16::try_from(first).unwrap_or(u16::MAX), 0)), rect);
}

/// The badge text: "fresh 2s", "stale 1m", "FAILING 30s".
pub fn badge(health: &Health, theme: &Theme, now: DateTime<Utc>) -> (String, Style) {
    match health {
        Health::Waiting => ("waiting".into(), theme.muted),
        Health::Disabled => ("off".into(), theme.muted),
        Health::Fresh { at, within } => (format!("fresh {}", recent(now, *at, *within)), theme.ok),
        Health::Stale { since } => (format!("STALE {}", age(now, *since)), theme.warn),
        Health::Failing { since, last_ok, .. } => {
            let data = last_ok.map_or_else(|| "no data".to_string(), |t| format!("data {} old", age(now, t)));
            (format!("FAILING {} · {data}", age(now, *since)), theme.crit)
        }
    }
}

pub use crate::human::{age, bytes, duration};

/// The age of an answer as panes show it: within `within` of now (its next answer is not due
/// yet) only the bound, "≤4s", so an idle console redraws nothing each second; older, the age.
pub fn recent(now: DateTime<Utc>, at: DateTime<Utc>, within: chrono::Duration) -> String {
    if now - at <= within { format!("≤{}", duration(within.num_seconds())) } else { age(now, at) }
}

/// The badge for the summary strip, where room is short: "fresh 2s", "STALE 1m", "FAIL 30s".
pub fn short_badge(health: &Health, theme: &Theme, now: DateTime<Utc>) -> (String, Style) {
    match health {
        Health::Failing { since, .. } => (format!("FAIL {}", age(now, *since)), theme.crit),
        other => badge(other, theme, now),
    }
}

/// When a source is failing but still has older data on screen, its error takes the pane's first
/// line so nobody mistakes old data for live data; returns the area left for the data.
pub fn error_banner(f: &mut ratatui::Frame, inner: ratatui::layout::Rect, health: &Health, theme: &Theme) -> ratatui::layout::Rect {
    let Health::Failing { error, .. } = health else { return inner };
    if inner.height < 2 {
        return inner;
    }
    let [line, rest] =
        ratatui::layout::Layout::vertical([ratatui::layout::Constraint::Length(1), ratatui::layout::Constraint::Fill(1)]).areas(inner);
    f.render_widget(Paragraph::new(Line::from(Span::styled(format!("⚠ {error}"), theme.crit))), line);
    rest
}

/// What a pane shows in place of its content when there is nothing (yet): the error, wrapped.
pub fn placeholder<'a>(health: &Health, theme: &Theme) -> Paragraph<'a> {
    let line = match health {
        Health::Failing { error, .. } => Line::from(Span::styled(error.clone(), theme.crit)),
        Health::Disabled => Line::from(Span::styled("not configured (see sitrep.toml)", theme.muted)),
        _ => Line::from(Span::styled("waiting for first data…", theme.muted)),
    };
    Paragraph::new(line).wrap(Wrap { trim: true })
}

/// When a member (Postgres member, Sentinel) last answered for itself: "3s ago", or "failing 40s"
/// since its first failure of the current run, so a row that does not answer shows that it is news.
/// An answer not older than `within` (the source's next answer is due then) reads "≤4s ago".
pub fn answered(health: Option<&crate::model::RowHealth>, now: DateTime<Utc>, within: chrono::Duration) -> String {
    match health {
        Some(crate::model::RowHealth { failing_since: Some(since), .. }) => format!("failing {}", age(now, *since)),
        Some(crate::model::RowHealth { last_ok: Some(t), .. }) => format!("{} ago", recent(now, *t, within)),
        _ => String::new(),
    }
}

/// `text` cut to `width` display columns, ending in `…` when something was cut, so a reader
/// knows there is more (and where to read it: the overlays wrap).
pub fn fit(text: &str, width: usize) -> String {
    use unicode_width::UnicodeWidthChar;
    if unicode_width::UnicodeWidthStr::width(text) <= width {
        return text.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    if width > 0 {
        out.push('…');
    }
    out
}

/// Like [`fit`], but a cut keeps both ends around one `…` (`ip-10-0…internal`): names that share
/// a long prefix, as nodes do (`lab-node-1`, `lab-node-2`), differ at the end and must not read alike.
pub fn fit_middle(text: &str, width: usize) -> String {
    use unicode_width::UnicodeWidthChar;
    if unicode_width::UnicodeWidthStr::width(text) <= width || width < 3 {
        return fit(text, width);
    }
    let keep = width - 1;
    let (head_w, tail_w) = (keep - keep / 2, keep / 2);
    let mut tail = Vec::new();
    let mut used = 0;
    for c in text.chars().rev() {
        let w = c.width().unwrap_or(0);
        if used + w > tail_w {
            break;
        }
        tail.push(c);
        used += w;
    }
    let head = fit(text, head_w + 1);
    format!("{}{}", head, tail.iter().rev().collect::<String>())
}

/// `text` broken into lines of at most `width` display columns, at spaces where it can be and
/// inside a word only when one word is wider than a line. Never loses a character.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut used = 0;
    for word in text.split(' ') {
        let w = word.width();
        let gap = usize::from(!line.is_empty());
        if used + gap + w <= width {
            if gap == 1 {
                line.push(' ');
            }
            line.push_str(word);
            used += gap + w;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
            used = 0;
        }
        for c in word.chars() {
            let cw = c.width().unwrap_or(0);
            if used + cw > width && !line.is_empty() {
                lines.push(std::mem::take(&mut line));
                used = 0;
            }
            line.push(c);
            used += cw;
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod text_tests {
    use super::{fit, fit_middle, recent, wrap};
    use chrono::DateTime;

    #[test]
    fn an_answer_is_shown_by_its_bound_until_the_next_one_is_late_then_by_its_age() {
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let within = chrono::Duration::seconds(4);
        assert_eq!(recent(at + chrono::Duration::seconds(1), at, within), "≤4s");
        assert_eq!(recent(at + chrono::Duration::seconds(4), at, within), "≤4s");
        assert_eq!(recent(at + chrono::Duration::seconds(5), at, within), "5s", "late: the real age");
        assert_eq!(recent(at + chrono::Duration::seconds(300), at, within), "5m");
    }

    #[test]
    fn fit_marks_what_it_cuts() {
        assert_eq!(fit("queue celery growing", 40), "queue celery growing");
        assert_eq!(fit("queue celery growing", 10), "queue cel…");
        assert_eq!(unicode_width::UnicodeWidthStr::width(fit("日本語のテキスト", 7).as_str()), 7);
    }

    #[test]
    fn wrap_breaks_at_spaces_and_keeps_every_character() {
        let text = "detected [queues] queue reports growing: over its warning depth (2466 messages)";
        let lines = wrap(text, 30);
        assert!(lines.iter().all(|l| unicode_width::UnicodeWidthStr::width(l.as_str()) <= 30), "{lines:?}");
        assert_eq!(lines.join(" "), text);
        assert_eq!(wrap("pod/api-t4lk7cb97l-9x99z", 10), ["pod/api-t4", "lk7cb97l-9", "x99z"]);
        assert_eq!(wrap("", 10), [""]);
    }

    #[test]
    fn fit_middle_keeps_both_ends_so_sibling_names_differ() {
        assert_eq!(fit_middle("lab-node-1", 10), "lab-node-1");
        assert_eq!(fit_middle("lab-node-1", 8), "lab-…e-1");
        assert_ne!(fit_middle("lab-node-1", 8), fit_middle("lab-node-2", 8));
        assert_eq!(unicode_width::UnicodeWidthStr::width(fit_middle("ip-10-0-1-23.ec2.internal", 12).as_str()), 12);
        assert_eq!(fit_middle("abcdef", 2), fit("abcdef", 2), "too narrow for two ends");
    }
}
