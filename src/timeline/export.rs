//! The post-mortem draft: a pure function of the entries and the RTO/RPO goals, as Markdown
//! (seeds/002 template) or JSON. No clock, no IO: the same timeline always gives the same bytes.

use super::entry::{EntryKind, IncidentId, TimelineEntry};
use super::incident::{Incident, corrected_ids, in_time_order};
use crate::config::Thresholds;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::fmt::Write as _;

/// Bumped when a field of the JSON export changes meaning or goes away.
pub const FORMAT_VERSION: u32 = 1;
/// How many first anomalies are offered as root-cause candidates.
const ROOT_CAUSE_CANDIDATES: usize = 5;

/// A recovery objective: the goal and what this incident achieved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Objective {
    pub target_secs: u64,
    /// None: not measured (the timeline does not say).
    pub achieved_secs: Option<i64>,
    pub met: Option<bool>,
}

impl Objective {
    fn new(target_secs: u64, achieved_secs: Option<i64>) -> Self {
        let met = achieved_secs.map(|a| crate::model::verdict::objective_met(target_secs, a));
        Objective { target_secs, achieved_secs, met }
    }
}

/// An action item: a note starting with `action:` or `todo:`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionItem {
    pub text: String,
    pub author: String,
    pub at: DateTime<Utc>,
}

/// Everything the draft says, computed once for both formats.
#[derive(Debug, Clone, Serialize)]
pub struct PostMortem {
    pub format_version: u32,
    pub incident: Incident,
    pub rto: Objective,
    pub rpo: Objective,
    pub action_items: Vec<ActionItem>,
    /// Integrity problems of the file the entries came from (corrupt or torn records).
    pub integrity: Vec<String>,
    /// In time order; corrected entries stay, marked by the entry that corrects them.
    pub entries: Vec<TimelineEntry>,
}

impl PostMortem {
    pub fn new(id: &IncidentId, entries: &[TimelineEntry], thresholds: &Thresholds, integrity: Vec<String>) -> Self {
        let incident = Incident::fold(id, entries);
        let corrected = corrected_ids(entries);
        let live = || entries.iter().filter(|e| !corrected.contains(&e.id));
        let rto_achieved = incident.impact_began().zip(incident.mitigated).map(|(a, b)| (b - a).num_seconds());
        let rpo_achieved = live()
            .filter_map(|e| match &e.kind {
                EntryKind::Detected { recovered: false, backup_age_secs, .. } => *backup_age_secs,
                _ => None,
            })
            .max();
        let action_items = in_time_order(entries)
            .into_iter()
            .filter(|e| !corrected.contains(&e.id))
            .filter_map(|e| match &e.kind {
                EntryKind::Note { text } => action_text(text).map(|t| ActionItem { text: t, author: e.author.clone(), at: e.at }),
                _ => None,
            })
            .collect();
        PostMortem {
            format_version: FORMAT_VERSION,
            rto: Objective::new(thresholds.rto_secs, rto_achieved),
            rpo: Objective::new(thresholds.rpo_secs, rpo_achieved),
            action_items,
            integrity,
            entries: in_time_order(entries).into_iter().cloned().collect(),
            incident,
        }
    }

    /// Pretty JSON with every field.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(self).map(|s| s + "\n")
    }

    /// The Markdown draft, sections as in seeds/002's post-mortem template.
    pub fn to_markdown(&self) -> String {
        let mut md = String::new();
        self.header(&mut md);
        self.key_times(&mut md);
        self.objectives(&mut md);
        self.summary(&mut md);
        self.timeline(&mut md);
        self.root_cause(&mut md);
        self.resolution(&mut md);
        self.lessons_and_actions(&mut md);
        md
    }

    fn header(&self, md: &mut String) {
        let inc = &self.incident;
        let sev = inc.severity.map_or("unknown".to_string(), |s| format!("{s} ({})", s.meaning()));
        let _ = writeln!(md, "# Post-mortem (draft): {}\n", cell(inc.title_or_placeholder()));
        let _ = writeln!(md, "| | |\n|---|---|");
        let _ = writeln!(md, "| Incident | `{}` |", inc.id);
        let _ = writeln!(md, "| Severity | {sev} |");
        let _ = writeln!(md, "| Status | {} |", inc.status);
        let _ = writeln!(md, "| Participants | {} |", cell(&inc.participants.join(", ")));
        if !self.integrity.is_empty() {
            let _ = writeln!(md, "\n> **Warning: the timeline file has damaged records; this draft may be incomplete.**");
            for w in &self.integrity {
                let _ = writeln!(md, "> - {w}");
            }
        }
        md.push('\n');
    }

    fn key_times(&self, md: &mut String) {
        let inc = &self.incident;
        let base = inc.impact_began();
        let _ = writeln!(md, "## Key times (UTC)\n\n| Moment | Time (UTC) | Since impact began |\n|---|---|---|");
        for (label, t) in [("Started", inc.started), ("Detected", inc.detected), ("Mitigated", inc.mitigated), ("Resolved", inc.resolved)] {
            let since = base.zip(t).map_or("—".to_string(), |(b, t)| duration((t - b).num_seconds()));
            let _ = writeln!(md, "| {label} | {} | {since} |", t.map_or("—".to_string(), time));
        }
        md.push('\n');
    }

    fn objectives(&self, md: &mut String) {
        let _ = writeln!(md, "## Recovery objectives\n");
        let _ = writeln!(
            md,
            "- **RTO** (target {}): {} — from impact began to mitigation.",
            duration(self.rto.target_secs as i64),
            verdict(&self.rto)
        );
        let _ = writeln!(
            md,
            "- **RPO** (target {}): {} — age of the newest backup/WAL when a backup detection fired.\n",
            duration(self.rpo.target_secs as i64),
            verdict(&self.rpo)
        );
    }

    fn summary(&self, md: &mut String) {
        let inc = &self.incident;
        let count = |f: fn(&EntryKind) -> bool| self.entries.iter().filter(|e| f(&e.kind)).count();
        let detections = count(|k| matches!(k, EntryKind::Detected { recovered: false, .. }));
        let actions = count(|k| matches!(k, EntryKind::Action { .. }));
        let notes = count(|k| matches!(k, EntryKind::Note { .. }));
        let _ = writeln!(md, "## Summary\n");
        let _ = writeln!(md, "_TODO: two or three sentences — what broke, who was affected, how it was fixed._\n");
        let _ = writeln!(
            md,
            "From the timeline: {} entries by {} participant(s); {detections} anomaly detection(s), {actions} runbook action(s), {notes} note(s); status {}.\n",
            self.entries.len(),
            inc.participants.len(),
            inc.status
        );
        let _ = writeln!(md, "## Impact\n\n_TODO: who and what was affected, for how long, and any data lost (see RPO above)._\n");
    }

    fn timeline(&self, md: &mut String) {
        let corrected_by: std::collections::HashMap<uuid::Uuid, uuid::Uuid> =
            self.entries.iter().filter_map(|e| e.corrects.map(|c| (c, e.id))).collect();
        let _ = writeln!(md, "## Timeline\n\n| Time (UTC) | Author | Entry | Id |\n|---|---|---|---|");
        for e in &self.entries {
            let mut text = e.kind.describe();
            if let Some(c) = e.corrects {
                text = format!("correction of `{}`: {text}", short(c));
            }
            if let Some(by) = corrected_by.get(&e.id) {
                text = format!("~~{text}~~ (corrected by `{}`)", short(*by));
            }
            let _ = writeln!(md, "| {} | {} | {} | `{}` |", time(e.at), cell(&e.author), cell(&text), short(e.id));
        }
        md.push('\n');
    }

    fn root_cause(&self, md: &mut String) {
        let _ = writeln!(md, "## Root cause\n\n_TODO: what triggered the failure?_ Candidates, the first anomalies detected:\n");
        let candidates: Vec<&TimelineEntry> = self
            .live_entries()
            .filter(|e| matches!(e.kind, EntryKind::Detected { recovered: false, .. }))
            .take(ROOT_CAUSE_CANDIDATES)
            .collect();
        if candidates.is_empty() {
            let _ = writeln!(md, "- (no anomaly was detected or reported in the timeline)");
        }
        for e in candidates {
            let _ = writeln!(md, "- {} {}", time(e.at), e.kind.describe());
        }
        md.push('\n');
    }

    fn resolution(&self, md: &mut String) {
        let _ = writeln!(md, "## Resolution\n\nRecovery steps followed (runbook actions and their outcomes):\n");
        let mut any = false;
        for e in self.live_entries() {
            if let EntryKind::Action { runbook, step, outcome } = &e.kind {
                any = true;
                let _ = writeln!(md, "- {} **{runbook}** / {step}: {outcome}", time(e.at));
            }
        }
        if !any {
            let _ = writeln!(md, "- (no runbook action was recorded; describe the steps taken)");
        }
        md.push('\n');
    }

    fn lessons_and_actions(&self, md: &mut String) {
        let _ = writeln!(md, "## Lessons learned\n\n_TODO: how can we improve our RTO/RPO or automated failover?_\n");
        let _ = writeln!(md, "## Action items\n");
        if self.action_items.is_empty() {
            let _ = writeln!(md, "- [ ] _TODO: new tasks to improve resilience (notes starting with `action:` or `todo:` land here)_");
        }
        for item in &self.action_items {
            let _ = writeln!(md, "- [ ] {} ({}, {})", item.text, item.author, time(item.at));
        }
        let _ = writeln!(md, "\n## Participants\n");
        for p in &self.incident.participants {
            let _ = writeln!(md, "- {p}");
        }
    }

    fn live_entries(&self) -> impl Iterator<Item = &TimelineEntry> {
        let corrected = corrected_ids(&self.entries);
        self.entries.iter().filter(move |e| !corrected.contains(&e.id))
    }
}

/// `action: page the DBA` -> `page the DBA`.
fn action_text(note: &str) -> Option<String> {
    let lower = note.to_ascii_lowercase();
    ["action:", "todo:"].iter().find(|p| lower.starts_with(*p)).map(|p| note[p.len()..].trim().to_string())
}

fn verdict(o: &Objective) -> String {
    match (o.achieved_secs, o.met) {
        (Some(a), Some(true)) => format!("achieved {}, **met**", duration(a)),
        (Some(a), _) => format!("achieved {}, **missed** by {}", duration(a), duration(a - o.target_secs as i64)),
        (None, _) => "not measured".into(),
    }
}

fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// `3725` -> `1h 02m 05s`.
pub use crate::human::duration_exact as duration;

fn short(id: uuid::Uuid) -> String {
    id.simple().to_string()[..8].to_string()
}

/// Table-cell safe: a `|` would end the cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_notes_that_start_with_action_or_todo_become_action_items() {
        assert_eq!(action_text("Action: add a lag alert"), Some("add a lag alert".into()));
        assert_eq!(action_text("todo:rotate keys"), Some("rotate keys".into()));
        assert_eq!(action_text("we took action: none"), None);
    }

    #[test]
    fn an_objective_without_a_measurement_says_so() {
        assert_eq!(verdict(&Objective::new(300, None)), "not measured");
        assert_eq!(verdict(&Objective::new(900, Some(1000))), "achieved 16m 40s, **missed** by 1m 40s");
    }
}
