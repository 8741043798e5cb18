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

/// A note that fills a section of the draft: it started with `root cause:`, `resolution:`,
/// `lesson:` or `todo:`/`action:` (any case); the prefix is cut off.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionItem {
    pub text: String,
    pub author: String,
    pub at: DateTime<Utc>,
}

/// The section of the draft a note fills, by its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    RootCause,
    Resolution,
    Lesson,
    Action,
}

/// Prefixes people type, longest first so `lessons learned:` is not read as `lesson`.
const PREFIXES: [(&str, Section); 9] = [
    ("lessons learned:", Section::Lesson),
    ("lesson learned:", Section::Lesson),
    ("root cause:", Section::RootCause),
    ("resolution:", Section::Resolution),
    ("lessons:", Section::Lesson),
    ("lesson:", Section::Lesson),
    ("action:", Section::Action),
    ("todo:", Section::Action),
    ("rca:", Section::RootCause),
];

/// How a figure of the draft was obtained.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figure {
    /// `time_to_detect`, `time_to_open`, `time_to_mitigate`, `time_to_resolve`.
    pub name: &'static str,
    /// None: unknown, and `basis` says why.
    pub secs: Option<i64>,
    /// From what to what it is measured, or why it cannot be.
    pub basis: String,
}
/// Everything the draft says, computed once for both formats.
#[derive(Debug, Clone, Serialize)]
pub struct PostMortem {
    pub format_version: u32,
    pub incident: Incident,
    pub rto: Objective,
    pub rpo: Objective,
    /// When impact began (earliest of opening and first finding, adopted ones included) and why.
    pub impact_began: Option<DateTime<Utc>>,
    pub impact_basis: String,
    /// Time to detect, open, mitigate and resolve, each measured from impact began, or unknown.
    pub figures: Vec<Figure>,
    pub root_cause: Vec<ActionItem>,
    pub resolution: Vec<ActionItem>,
    pub lessons: Vec<ActionItem>,
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
        let notes_for = |want: Section| -> Vec<ActionItem> {
            in_time_order(entries)
                .into_iter()
                .filter(|e| !corrected.contains(&e.id))
                .filter_map(|e| match &e.kind {
                    EntryKind::Note { text } => match sectioned(text) {
                        Some((section, t)) if section == want => Some(ActionItem { text: t, author: e.author.clone(), at: e.at }),
                        _ => None,
                    },
                    _ => None,
                })
                .collect()
        };
        let impact_basis = match (incident.started, incident.first_finding) {
            (_, Some(f)) if incident.started.is_none_or(|s| f <= s) => {
                "the earliest finding; sitrep sees nothing before it, so impact may have begun earlier".to_string()
            }
            (Some(_), _) => "the opening of the incident (no finding before it)".to_string(),
            _ => "unknown: neither an opening record nor a finding".to_string(),
        };
        PostMortem {
            format_version: FORMAT_VERSION,
            rto: Objective::new(thresholds.rto_secs, rto_achieved),
            rpo: Objective::new(thresholds.rpo_secs, rpo_achieved),
            impact_began: incident.impact_began(),
            impact_basis,
            figures: figures(&incident),
            root_cause: notes_for(Section::RootCause),
            resolution: notes_for(Section::Resolution),
            lessons: notes_for(Section::Lesson),
            action_items: notes_for(Section::Action),
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
        if let Some(estate) = &inc.estate {
            let _ = writeln!(md, "| Estate | {} |", cell(&estate.to_string()));
        }
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
        let base = self.impact_began;
        let _ = writeln!(md, "## Key times (UTC)\n\n| Moment | Time (UTC) | Since impact began |\n|---|---|---|");
        let detected = inc.detected.or(inc.first_finding);
        for (label, t) in [
            ("Impact began", base),
            ("Detected", detected),
            ("Opened", inc.started),
            ("Mitigated", inc.mitigated),
            ("Resolved", inc.resolved),
        ] {
            let since = base.zip(t).map_or("—".to_string(), |(b, t)| duration((t - b).num_seconds()));
            let _ = writeln!(md, "| {label} | {} | {since} |", t.map_or("unknown".to_string(), time));
        }
        let _ = writeln!(md, "\nImpact began: {}.", self.impact_basis);
        if inc.detected.is_none() && inc.first_finding.is_some() {
            let _ = writeln!(md, "Detected: the first finding is a recovery; the failure itself was not seen.");
        }
        let _ = writeln!(md, "\n| Figure | Value | Measured |\n|---|---|---|");
        for f in &self.figures {
            let value = f.secs.map_or("unknown".to_string(), duration);
            let _ = writeln!(md, "| {} | {value} | {} |", figure_label(f.name), f.basis);
        }
        md.push('\n');
    }

    fn objectives(&self, md: &mut String) {
        let _ = writeln!(md, "## Recovery objectives\n");
        let _ = writeln!(
            md,
            "- **RTO** (target {}): {} — from impact began to mitigation.",
            duration(self.rto.target_secs as i64),
            verdict(&self.rto, "no mitigated or resolved status is recorded")
        );
        let _ = writeln!(
            md,
            "- **RPO** (target {}): {} — age of the newest backup/WAL when a backup detection fired.\n",
            duration(self.rpo.target_secs as i64),
            verdict(&self.rpo, "no backup detection carries a backup age")
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
        let _ = writeln!(md, "## Root cause\n");
        if self.root_cause.is_empty() {
            let _ = writeln!(md, "_TODO: what triggered the failure? (notes starting with `root cause:` land here)_\n");
        } else {
            noted(md, &self.root_cause);
        }
        let _ = writeln!(md, "Candidates, the first anomalies detected:\n");
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
        let _ = writeln!(md, "## Resolution\n");
        noted(md, &self.resolution);
        let _ = writeln!(md, "Recovery steps followed (runbook actions and their outcomes):\n");
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
        let _ = writeln!(md, "## Lessons learned\n");
        if self.lessons.is_empty() {
            let _ =
                writeln!(md, "_TODO: how can we improve our RTO/RPO or automated failover? (notes starting with `lesson:` land here)_\n");
        } else {
            noted(md, &self.lessons);
        }
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

/// Notes that fill a section, as a list with who wrote them and when.
fn noted(md: &mut String, items: &[ActionItem]) {
    if items.is_empty() {
        return;
    }
    for item in items {
        let _ = writeln!(md, "- {} ({}, {})", item.text, item.author, time(item.at));
    }
    md.push('\n');
}

/// `Root cause: disk full` -> (RootCause, `disk full`); a note without a known prefix: None.
fn sectioned(note: &str) -> Option<(Section, String)> {
    let trimmed = note.trim_start();
    PREFIXES
        .iter()
        .find(|(p, _)| trimmed.get(..p.len()).is_some_and(|head| head.eq_ignore_ascii_case(p)))
        .map(|(p, section)| (*section, trimmed[p.len()..].trim().to_string()))
}

/// `action: page the DBA` -> `page the DBA`.
#[cfg(test)]
fn action_text(note: &str) -> Option<String> {
    sectioned(note).filter(|(s, _)| *s == Section::Action).map(|(_, t)| t)
}

/// The figures people ask of an incident, each from impact began, or unknown with the reason.
fn figures(inc: &Incident) -> Vec<Figure> {
    let base = inc.impact_began();
    let detected = inc.detected.or(inc.first_finding);
    let from_impact = |name: &'static str, to: Option<DateTime<Utc>>, what: &str, missing: &str| Figure {
        name,
        secs: base.zip(to).map(|(b, t)| (t - b).num_seconds()),
        basis: match (base, to) {
            (Some(_), Some(_)) => format!("measured: impact began → {what}"),
            (None, _) => "unknown: no impact start (no opening record, no finding)".into(),
            (_, None) => format!("unknown: {missing}"),
        },
    };
    let mut ttd = from_impact("time_to_detect", detected, "first detection", "nothing was detected");
    if ttd.secs == Some(0) && inc.first_finding.is_some() {
        ttd.basis.push_str(" (0: the first detection is the earliest sign of impact on record)");
    }
    let tto = Figure {
        name: "time_to_open",
        secs: detected.zip(inc.started).map(|(d, o)| (o - d).num_seconds().max(0)),
        basis: match (detected, inc.started) {
            (Some(d), Some(o)) if d <= o => "measured: first detection → incident opened".into(),
            (Some(_), Some(_)) => "measured: opened before anything was detected".into(),
            (None, _) => "unknown: nothing was detected".into(),
            (_, None) => "unknown: the opening record is missing".into(),
        },
    };
    vec![
        ttd,
        tto,
        from_impact("time_to_mitigate", inc.mitigated, "status mitigated (or resolved)", "no mitigated or resolved status is recorded"),
        from_impact("time_to_resolve", inc.resolved, "status resolved", "the incident is not resolved"),
    ]
}

fn figure_label(name: &str) -> &'static str {
    match name {
        "time_to_detect" => "Time to detect",
        "time_to_open" => "Time to open",
        "time_to_mitigate" => "Time to mitigate (= RTO achieved)",
        "time_to_resolve" => "Time to resolve",
        _ => "Figure",
    }
}

fn verdict(o: &Objective, unknown_because: &str) -> String {
    match (o.achieved_secs, o.met) {
        (Some(a), Some(true)) => format!("achieved {}, **met** (measured)", duration(a)),
        (Some(a), _) => format!("achieved {}, **missed** by {} (measured)", duration(a), duration(a - o.target_secs as i64)),
        (None, _) => format!("**unknown**: {unknown_because}"),
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
    fn notes_fill_the_section_their_prefix_names_in_any_case() {
        assert_eq!(sectioned("Root Cause: pg-0 disk full"), Some((Section::RootCause, "pg-0 disk full".into())));
        assert_eq!(sectioned("RESOLUTION: promoted pg-1"), Some((Section::Resolution, "promoted pg-1".into())));
        assert_eq!(sectioned("lesson: alert on disk"), Some((Section::Lesson, "alert on disk".into())));
        assert_eq!(sectioned("Lessons learned: rehearse"), Some((Section::Lesson, "rehearse".into())));
        assert_eq!(sectioned("the root cause: unclear"), None);
        assert_eq!(sectioned("rootcause"), None);
    }

    #[test]
    fn an_objective_without_a_measurement_says_so() {
        assert_eq!(verdict(&Objective::new(300, None), "no backup"), "**unknown**: no backup");
        assert_eq!(verdict(&Objective::new(900, Some(1000)), ""), "achieved 16m 40s, **missed** by 1m 40s (measured)");
    }
}
