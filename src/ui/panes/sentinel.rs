//! Sentinel pane: the master each Sentinel reports (and disagreement), flags, quorum, replicas.
//! s_down/o_down and a failover in progress are shown as words, not only colour; the master's
//! memory against maxmemory and its hit rate by its own INFO.

use super::PaneCtx;
use crate::model::SourceId;
use crate::model::verdict::{self, SentinelAlarm};
use crate::ui::toolkit::{answered, bytes};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table};

pub fn draw(f: &mut Frame, area: Rect, ctx: &PaneCtx) {
    let Some((inner, snap)) = super::open(f, area, ctx, 3, "Sentinel", SourceId::Sentinel, &ctx.model.sentinel) else { return };
    let mut head = vec![Span::styled(format!("{} ", snap.master_name), ctx.theme.muted)];
    match snap.agreed_master() {
        Some(addr) => head.push(Span::styled(addr.to_string(), ctx.theme.ok)),
        None => head.push(Span::styled("NO MASTER", ctx.theme.crit)),
    }
    let alarms = verdict::sentinel_alarms(snap);
    for alarm in &alarms {
        let word = match alarm {
            SentinelAlarm::Disagree => "  SENTINELS DISAGREE",
            SentinelAlarm::MasterODown => "  o_down",
            SentinelAlarm::MasterSDown => "  s_down",
            SentinelAlarm::FailoverInProgress => "  FAILOVER IN PROGRESS",
            _ => continue,
        };
        head.push(Span::styled(word, ctx.theme.level(alarm.level())));
    }
    if let Some(m) = &snap.master {
        let q = format!("  quorum {} of {} sentinels", m.quorum, m.other_sentinels + 1);
        let quorum = if alarms.contains(&SentinelAlarm::QuorumUnreachable) { ctx.theme.crit } else { ctx.theme.text };
        head.push(Span::styled(q, quorum));
    }
    let [head_area, health_area, sentinels_area, replicas_area] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(snap.sentinels.len() as u16 + 1),
        Constraint::Fill(1),
    ])
    .areas(inner);
    f.render_widget(Paragraph::new(Line::from(head)), head_area);
    f.render_widget(Paragraph::new(health_line(snap, ctx)), health_area);
    let agreed = snap.agreed_master();
    let sentinels = snap.sentinels.iter().map(|s| {
        let (says, style) = match (&s.master_addr, &s.error) {
            (_, Some(e)) => (e.clone(), ctx.theme.crit),
            (Some(m), None) if Some(m.as_str()) != agreed => (m.clone(), ctx.theme.warn),
            (Some(m), None) => (m.clone(), ctx.theme.text),
            (None, None) => ("no master".into(), ctx.theme.crit),
        };
        Row::new(vec![
            s.addr.clone(),
            says,
            answered(ctx.model.sentinel_health.get(&s.addr), ctx.now, ctx.model.fresh_within(SourceId::Sentinel)),
        ])
        .style(style)
    });
    f.render_widget(
        Table::new(sentinels, [Constraint::Length(22), Constraint::Fill(1), Constraint::Length(12)])
            .header(Row::new(vec!["SENTINEL", "REPORTS MASTER", "ANSWERED"]).style(ctx.theme.muted)),
        sentinels_area,
    );
    let replicas = snap.replicas.iter().map(|r| {
        let bad = verdict::replica_down(r);
        Row::new(vec![
            r.addr.clone(),
            r.flags.clone(),
            r.link_status.clone(),
            r.lag_bytes.map_or_else(|| "-".into(), |l| bytes(l.max(0) as u64)),
        ])
        .style(if bad { ctx.theme.crit } else { ctx.theme.text })
    });
    f.render_widget(
        Table::new(replicas, [Constraint::Length(22), Constraint::Fill(1), Constraint::Length(6), Constraint::Length(9)])
            .header(Row::new(vec!["REPLICA", "FLAGS", "LINK", "LAG"]).style(ctx.theme.muted)),
        replicas_area,
    );
}

/// The master's own word on itself: memory against maxmemory (or "no maxmemory"), the hit rate
/// since the last reading, and how long INFO took; or that it did not answer INFO.
fn health_line<'a>(snap: &crate::model::SentinelSnapshot, ctx: &PaneCtx) -> Line<'a> {
    let Some(h) = &snap.master_health else {
        let style = if snap.master.is_some() { ctx.theme.warn } else { ctx.theme.muted };
        return Line::styled("master INFO not read: memory and hit rate unknown", style);
    };
    let memory_level = verdict::redis_memory(ctx.thresholds, h);
    let memory = match h.memory_percent() {
        Some(pct) => format!("memory {} of {} ({pct}%, {})", bytes(h.used_memory), bytes(h.maxmemory), h.maxmemory_policy),
        None => format!("memory {} (no maxmemory)", bytes(h.used_memory)),
    };
    let hits = match h.hit_rate {
        Some(r) => format!("hits {:.0}%", r * 100.0),
        None => "hits -".to_string(),
    };
    Line::from(vec![
        Span::styled("master ", ctx.theme.muted),
        Span::styled(memory, ctx.theme.row(memory_level)),
        Span::styled("  ", ctx.theme.muted),
        Span::styled(hits, ctx.theme.row(verdict::cache_hits(ctx.thresholds, h))),
        Span::styled(format!("  INFO {}ms", h.answered_ms), ctx.theme.muted),
    ])
}
