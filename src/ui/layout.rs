//! Views as data (views/*.toml): which panes, where, at which terminal sizes.
//! "auto" picks the largest view whose minimum size fits; an 80x24 view always exists.

use crate::data_files::DataFile;
use crate::diag::Problem;
use crate::model::SourceId;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use serde::Deserialize;

pub const BUILTIN: &[(&str, &str)] = &[
    ("compact", include_str!("../../views/compact.toml")),
    ("standard", include_str!("../../views/standard.toml")),
    ("wide", include_str!("../../views/wide.toml")),
];

/// What a view may place: a source's pane, or one of the pseudo-panes that make small screens work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaneId {
    Source(SourceId),
    /// One line per source, alarms first.
    Summary,
    /// Whichever source pane has focus.
    Focused,
    /// The incident timeline's newest entries.
    Timeline,
}

impl PaneId {
    pub const ALL: [PaneId; 9] = [
        PaneId::Source(SourceId::Pods),
        PaneId::Source(SourceId::Replication),
        PaneId::Source(SourceId::Sentinel),
        PaneId::Source(SourceId::Queues),
        PaneId::Source(SourceId::Backups),
        PaneId::Source(SourceId::Alerts),
        PaneId::Summary,
        PaneId::Focused,
        PaneId::Timeline,
    ];

    /// The name views/*.toml use.
    pub fn name(self) -> &'static str {
        match self {
            PaneId::Source(s) => s.name(),
            PaneId::Summary => "summary",
            PaneId::Focused => "focused",
            PaneId::Timeline => "timeline",
        }
    }

    pub fn parse(name: &str) -> Option<PaneId> {
        PaneId::ALL.into_iter().find(|p| p.name() == name)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ViewFile {
    #[allow(dead_code)]
    description: Option<String>,
    #[serde(default)]
    min_cols: u16,
    #[serde(default)]
    min_rows: u16,
    row: Vec<RowFile>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RowFile {
    size: String,
    panes: Vec<String>,
}

/// A parsed view.
#[derive(Debug, Clone, PartialEq)]
pub struct View {
    pub name: String,
    pub min_cols: u16,
    pub min_rows: u16,
    pub rows: Vec<Row>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub size: Constraint,
    pub panes: Vec<PaneId>,
}

impl View {
    pub fn parse(file: &DataFile) -> Result<View, Vec<Problem>> {
        let parsed: ViewFile =
            toml::from_str(&file.text).map_err(|e| vec![super::theme::toml_problem(file, &e, "see views/standard.toml for the format")])?;
        let mut problems = Vec::new();
        let mut rows = Vec::new();
        for (i, row) in parsed.row.iter().enumerate() {
            let line = nth_line(&file.text, "[[row]]", i);
            let size = parse_size(&row.size).unwrap_or_else(|| {
                problems.push(Problem {
                    file: file.path.clone(),
                    line,
                    what: format!("row size `{}` is not understood", row.size),
                    fix: "use a percentage (\"40%\"), a line count (\"7\") or \"fill\"".into(),
                });
                Constraint::Fill(1)
            });
            let mut panes = Vec::new();
            for name in &row.panes {
                match PaneId::parse(name) {
                    Some(pane) => panes.push(pane),
                    None => problems.push(Problem {
                        file: file.path.clone(),
                        line,
                        what: format!("unknown pane `{name}`"),
                        fix: pane_hint(name),
                    }),
                }
            }
            if row.panes.is_empty() {
                problems.push(Problem {
                    file: file.path.clone(),
                    line,
                    what: "a row with no panes".into(),
                    fix: "list at least one pane or remove the row".into(),
                });
            }
            rows.push(Row { size, panes });
        }
        if rows.is_empty() {
            problems.push(Problem {
                file: file.path.clone(),
                line: 1,
                what: "a view with no rows".into(),
                fix: "add [[row]] sections".into(),
            });
        }
        if problems.is_empty() {
            Ok(View { name: file.name.clone(), min_cols: parsed.min_cols, min_rows: parsed.min_rows, rows })
        } else {
            Err(problems)
        }
    }

    /// Splits `area` into (pane, rect) pairs.
    pub fn split(&self, area: Rect) -> Vec<(PaneId, Rect)> {
        self.split_shown(area, |_| true)
    }

    /// The same with only the panes `shown` keeps (an optional source not configured is absent):
    /// the others of a row share its width, and a row left empty gives its height away.
    pub fn split_shown(&self, area: Rect, shown: impl Fn(PaneId) -> bool) -> Vec<(PaneId, Rect)> {
        let kept: Vec<(Constraint, Vec<PaneId>)> = self
            .rows
            .iter()
            .map(|r| (r.size, r.panes.iter().copied().filter(|p| shown(*p)).collect::<Vec<_>>()))
            .filter(|(_, panes)| !panes.is_empty())
            .collect();
        let rows = Layout::default().direction(Direction::Vertical).constraints(kept.iter().map(|(size, _)| *size)).split(area);
        let mut out = Vec::new();
        for ((_, panes), rect) in kept.iter().zip(rows.iter()) {
            let cols = Layout::default()
                .direction(Direction::Horizontal)
                .constraints(panes.iter().map(|_| Constraint::Ratio(1, panes.len() as u32)))
                .split(*rect);
            out.extend(panes.iter().copied().zip(cols.iter().copied()));
        }
        out
    }
}

/// All views that parse; the caller reports the others through `sitrep check`.
pub fn load_views() -> Vec<View> {
    crate::data_files::load_all("views", BUILTIN).iter().filter_map(|f| View::parse(f).ok()).collect()
}

/// The named view, or for "auto" the largest view that fits `cols` x `rows`.
pub fn choose<'a>(views: &'a [View], name: &str, cols: u16, rows: u16) -> Option<&'a View> {
    if name != "auto"
        && let Some(v) = views.iter().find(|v| v.name == name)
    {
        return Some(v);
    }
    views
        .iter()
        .filter(|v| v.min_cols <= cols && v.min_rows <= rows)
        .max_by_key(|v| (u32::from(v.min_cols) * u32::from(v.min_rows), v.min_cols))
}

/// The fix for an unknown pane name: the nearest valid name, and every valid one.
fn pane_hint(name: &str) -> String {
    let names: Vec<&str> = PaneId::ALL.iter().map(|p| p.name()).collect();
    let valid = format!("valid panes: {}", names.join(", "));
    match crate::diag::closest(name, names.iter().copied()) {
        Some(near) => format!("did you mean `{near}`? {valid}"),
        None => valid,
    }
}

fn parse_size(s: &str) -> Option<Constraint> {
    let s = s.trim();
    if s == "fill" {
        return Some(Constraint::Fill(1));
    }
    if let Some(p) = s.strip_suffix('%') {
        return p.trim().parse::<u16>().ok().filter(|p| (1..=100).contains(p)).map(Constraint::Percentage);
    }
    s.parse::<u16>().ok().filter(|n| *n > 0).map(Constraint::Length)
}

fn nth_line(text: &str, marker: &str, n: usize) -> usize {
    text.lines().enumerate().filter(|(_, l)| l.trim() == marker).nth(n).map_or(1, |(i, _)| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builtin_views() -> Vec<View> {
        BUILTIN
            .iter()
            .map(|(name, text)| {
                View::parse(&DataFile { name: (*name).into(), path: (*name).into(), text: (*text).into() }).expect("built-in view parses")
            })
            .collect()
    }

    #[test]
    fn small_terminals_get_the_compact_view() {
        let views = builtin_views();
        assert_eq!(choose(&views, "auto", 80, 24).map(|v| v.name.as_str()), Some("compact"));
        assert_eq!(choose(&views, "auto", 200, 60).map(|v| v.name.as_str()), Some("wide"));
        assert_eq!(choose(&views, "compact", 200, 60).map(|v| v.name.as_str()), Some("compact"));
    }

    #[test]
    fn a_bad_view_names_line_and_fix() {
        let text = "min_cols = 10\n[[row]]\nsize = \"40%\"\npanes = [\"pods\"]\n[[row]]\nsize = \"lots\"\npanes = [\"queus\"]\n";
        let problems = View::parse(&DataFile { name: "x".into(), path: "views/x.toml".into(), text: text.into() }).expect_err("bad view");
        assert_eq!(problems.len(), 2);
        assert!(problems.iter().all(|p| p.line == 5));
        assert!(problems.iter().any(|p| p.fix.contains("`queues`")));
    }

    #[test]
    fn pane_names_become_pane_ids_and_an_unknown_one_lists_the_valid_names() {
        let text = "[[row]]\nsize = \"fill\"\npanes = [\"summary\", \"pg\"]\n";
        let problems = View::parse(&DataFile { name: "x".into(), path: "views/x.toml".into(), text: text.into() }).expect_err("bad view");
        assert_eq!(problems[0].what, "unknown pane `pg`");
        assert!(
            problems[0].fix.contains("valid panes: pods, replication, sentinel, queues, backups, alerts, summary, focused, timeline"),
            "{}",
            problems[0].fix
        );
        let view = &builtin_views()[0];
        assert!(view.rows.iter().flat_map(|r| &r.panes).all(|p| PaneId::parse(p.name()) == Some(*p)));
    }
}
