//! Summary strip: one line per source with its health and the one fact that matters most.
//! The 80x24 view leans on it: everything at a glance, details in the focused pane.

use super::PaneCtx;
use crate::model::verdict::{self, Level, MemberAlarm};
use crate::model::{BackupKind, Model, SourceId};
use crate::ui::theme::Theme;
use crate::ui::toolkit::{age, bytes, fit, short_badge};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

pub fn draw(f: &mut Frame, area: Rect, ctx: &PaneCtx) {
    let block = Block::default().borders(Borders::ALL).border_style(ctx.theme.border).title(Span::styled(" sitrep ", ctx.theme.accent));
    let inner = block.inner(area);
    // Alerts are optional: absent until configured and heard from; where the strip has no line
    // for them (80x24), their headline rides in its top border.
    let alerts = ctx.model.reported(SourceId::Alerts);
    let alerts_in_border = alerts && (inner.height as usize) < SourceId::ALL.len();
    let block = if alerts_in_border {
        let (b, _) = short_badge(&ctx.model.health(SourceId::Alerts), ctx.theme, ctx.now);
        let (text, style) = headline(ctx.model, SourceId::Alerts, ctx);
        let room = (area.width as usize).saturating_sub(20);
        block.title_top(Line::from(Span::styled(fit(&format!(" 6 alerts {b} · {text} "), room), style)).right_aligned())
    } else {
        block
    };
    f.render_widget(block, area);
    let lines: Vec<Line> = SourceId::ALL
        .iter()
        .enumerate()
        .filter(|(_, source)| **source != SourceId::Alerts || (alerts && !alerts_in_border))
        .map(|(i, source)| {
            let (b, bstyle) = short_badge(&ctx.model.health(*source), ctx.theme, ctx.now);
            let (text, style) = headline(ctx.model, *source, ctx);
            let marker = if ctx.view.focus == *source { "▶" } else { " " };
            let name = format!("{marker}{} {:<12}", i + 1, source.name());
            let badge = format!("{b:<10} ");
            // A headline longer than the strip ends in `…`: the focused pane has the rest.
            let room = (inner.width as usize).saturating_sub(name.chars().count() + badge.chars().count());
            Line::from(vec![
                Span::styled(name, if ctx.view.focus == *source { ctx.theme.focus } else { ctx.theme.accent }),
                Span::styled(badge, bstyle),
                Span::styled(fit(&text, room), style),
            ])
        })
        .collect();
    f.render_widget(Paragraph::new(lines), inner);
}

/// The most important fact of a source, and how alarming it is.
pub fn headline(model: &Model, source: SourceId, ctx: &PaneCtx) -> (String, Style) {
    let th: &Theme = ctx.theme;
    let t = ctx.thresholds;
    match source {
        SourceId::Pods => model.pods.as_ref().map_or_else(none, |s| {
            let crash = s.pods.iter().filter(|p| p.reason.is_some()).count();
            let unready = s.pods.iter().filter(|p| !p.is_healthy()).count();
            let rolling = s.deployments.iter().filter(|d| verdict::rollout(d).is_alarm()).count();
            let level = level_of(model, ctx, source);
            let pods_bad = crash > 0 || (level.is_alarm() && unready + rolling > 0);
            let text = if crash > 0 {
                format!("{crash} {} · {unready} not ready · {rolling} rolling out", first_reason(s))
            } else if pods_bad {
                format!("{unready} pod(s) not ready · {rolling} rolling out")
            } else {
                format!("{} pods ready · {} deployments complete", s.pods.len(), s.deployments.len())
            };
            // Services short of ready endpoints (`:services`), usage near its line (`:top`) and
            // autoscalers with no room left (`:hpa`) ride on the kube line; the level counts them.
            let short = s.services.iter().filter(|v| verdict::service(v).is_alarm()).count();
            let level = s.services.iter().map(verdict::service).fold(level, Level::max);
            let hot = verdict::usage_alarms(t, s).len();
            let maxed = s.autoscalers().iter().filter(|h| verdict::hpa(h).is_alarm()).count();
            let extras: Vec<String> = [
                (short, format!("{short} svc short of endpoints")),
                (hot, format!("{hot} near a CPU/memory line (:top)")),
                (maxed, format!("{maxed} autoscaler(s) at max (:hpa)")),
            ]
            .into_iter()
            .filter(|(n, _)| *n > 0)
            .map(|(_, words)| words)
            .collect();
            // With the pods themselves fine, what alarms leads, so a narrow terminal still shows it.
            let text = match (extras.is_empty(), pods_bad) {
                (true, _) => text,
                (false, true) => format!("{text} · {}", extras.join(" · ")),
                (false, false) => format!("{} · {text}", extras.join(" · ")),
            };
            (text, th.level(level))
        }),
        SourceId::Replication => model.replication.as_ref().map_or_else(none, |s| {
            let v = verdict::replication(t, s);
            let leader = s.leader().unwrap_or("NO LEADER");
            // A member's own failure leads (a frozen leader is still "leader" in Patroni's view).
            let mut lead: String = v.members.iter().filter(|a| a.level() == Level::Crit).map(|a| format!("{} · ", a.words())).collect();
            if v.archive_failing {
                lead.push_str("WAL ARCHIVING FAILING · ");
            }
            let down: String = v
                .members
                .iter()
                .filter_map(|a| if let MemberAlarm::MemberDown { name, .. } = a { Some(format!(" · {name} DOWN")) } else { None })
                .collect();
            // The worst load alarm (connections, a long statement): a critical one leads the
            // line (80 columns cut its end), a warning rides at the end.
            if let Some(a) = v.load.first().filter(|a| a.level() == Level::Crit) {
                lead.push_str(&format!("{} · ", a.words()));
            }
            let load = v.load.first().filter(|a| a.level() != Level::Crit).map(|a| format!(" · {}", a.words())).unwrap_or_default();
            let text = format!(
                "{lead}leader {leader} · {} standby(s) · lag {:.1}s {}{down}{load}",
                s.standbys.len(),
                s.max_replay_lag_secs().unwrap_or(0.0),
                bytes(s.max_replay_lag_bytes().unwrap_or(0)),
            );
            (text, th.level(level_of(model, ctx, source)))
        }),
        SourceId::Sentinel => model.sentinel.as_ref().map_or_else(none, |s| {
            let master = s.agreed_master().unwrap_or("NO MASTER");
            let flags = s.master.as_ref().map(|m| m.flags.clone()).unwrap_or_default();
            let alarms = verdict::sentinel_alarms(s);
            let words: Vec<&str> = alarms.iter().filter_map(|a| a.headline()).collect();
            let lead = if words.is_empty() { String::new() } else { format!("{} · ", words.join(" · ")) };
            let text = format!("{lead}{} at {master} · {}/{} sentinels up · {flags}", s.master_name, s.reachable(), s.sentinels.len());
            // The master's own alarm (memory near maxmemory, a cache missing): a critical one
            // leads the line (80 columns cut its end), a warning rides at the end.
            let health = verdict::redis_health_alarms(t, s);
            let text = match health.first() {
                Some((Level::Crit, words)) => format!("{words} · {text}"),
                Some((_, words)) => format!("{text} · {words}"),
                None => text,
            };
            (text, th.level(level_of(model, ctx, source)))
        }),
        SourceId::Queues => model.queues.as_ref().map_or_else(none, |s| {
            let total: u64 = s.queues.iter().map(|q| q.depth).sum();
            let worst = s.queues.iter().max_by_key(|q| q.depth);
            let rate = worst.and_then(|q| model.queue_rate(&q.name));
            let text = match (worst, rate) {
                (Some(q), Some(r)) => format!("{total} queued · deepest {} {} ({r:+.0}/min)", q.name, q.depth),
                (Some(q), None) => format!("{total} queued · deepest {} {}", q.name, q.depth),
                _ => "no queues configured".into(),
            };
            let unreadable = s.queues.iter().filter(|q| q.error.is_some()).count();
            let text = if unreadable > 0 { format!("{text} · {unreadable} unreadable") } else { text };
            (text, th.level(level_of(model, ctx, source)))
        }),
        SourceId::Backups => model.backups.as_ref().map_or_else(none, |all| {
            let words: Vec<String> = all
                .iter()
                .map(|s| {
                    let name = all.label(s);
                    let parts = backup_words(s, ctx);
                    if name.is_empty() { parts } else { format!("{name}: {parts}") }
                })
                .collect();
            (words.join(" | "), th.level(level_of(model, ctx, source)))
        }),
        SourceId::Alerts => model.alerts.as_ref().map_or_else(none, |s| {
            // The worst firing alert names the line.
            let mut firing: Vec<_> = s.firing().collect();
            firing.sort_by_key(|a| std::cmp::Reverse(verdict::alert(a)));
            let lead = match firing.as_slice() {
                [] => "nothing firing".to_string(),
                [one] => format!("1 firing: {}", one.name),
                [first, rest @ ..] => format!("{} firing: {} +{}", firing.len(), first.name, rest.len()),
            };
            let pending = s.alerts.iter().filter(|a| a.state == crate::model::AlertState::Unprocessed).count();
            let muted = s.alerts.len() - firing.len() - pending;
            let pending = if pending > 0 { format!(" · {pending} pending") } else { String::new() };
            // A failing health check names the line before any alert: users see it now.
            let failing: Vec<&str> = s.failing_checks().map(|c| c.name.as_str()).collect();
            let (all, passing) = (s.checks.len(), s.checks.len() - failing.len());
            let mut parts = Vec::new();
            match failing.as_slice() {
                [] if all == 0 => {}
                [] => parts.push(format!("{all} checks pass")),
                [one] => parts.push(format!("check {one} FAILING ({passing}/{all} pass)")),
                [first, rest @ ..] => {
                    parts.push(format!("{} checks FAILING: {first} +{} ({passing}/{all} pass)", failing.len(), rest.len()))
                }
            }
            if !s.alertmanagers.is_empty() {
                parts.push(format!("{lead}{pending} · {muted} muted · {}/{} alertmanagers", s.reachable(), s.alertmanagers.len()));
            }
            let text = parts.join(" · ");
            (text, th.level(level_of(model, ctx, source)))
        }),
    }
}

/// One backup source in brief: unreadable, or its breach, missing kinds, the ages of what restores
/// to a point (for the kinds it keeps) and its WAL gaps.
fn backup_words(s: &crate::model::BackupsSnapshot, ctx: &PaneCtx) -> String {
    if s.error.is_some() {
        return "UNREADABLE (see the backups pane)".into();
    }
    let t = ctx.thresholds;
    let breach = verdict::rpo_breached(t, s, ctx.now);
    let missing: Vec<&str> = verdict::missing_kinds(s, ctx.now).into_iter().map(BackupKind::label).collect();
    let ages = [(BackupKind::Dump, "dump"), (BackupKind::Wal, "WAL")]
        .into_iter()
        .filter(|(kind, _)| s.expects(*kind))
        .map(|(kind, name)| s.newest(kind).map_or_else(|| format!("no {name}"), |i| format!("{name} {} ago", age(ctx.now, i.at))));
    let mut parts: Vec<String> = Vec::new();
    if breach {
        parts.push("RPO BREACH".into());
    }
    if !missing.is_empty() {
        parts.push(format!("MISSING {}", missing.join(", ")));
    }
    parts.extend(ages);
    parts.push(format!("{} WAL gap(s)", s.wal_gaps.len()));
    parts.join(" · ")
}

fn level_of(model: &Model, ctx: &PaneCtx, source: SourceId) -> Level {
    verdict::source(model, ctx.thresholds, source, ctx.now).unwrap_or_default()
}

fn none() -> (String, Style) {
    (String::new(), Style::default())
}

fn first_reason(s: &crate::model::PodsSnapshot) -> String {
    s.pods.iter().find_map(|p| p.reason.clone()).unwrap_or_default()
}
