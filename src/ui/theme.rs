//! Colour themes as data (themes/*.toml); NO_COLOR forces the monochrome theme.
//! Emphasis in "mono" comes from bold/reverse, never from colour alone.

use crate::data_files::DataFile;
use crate::diag::Problem;
use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;
use std::str::FromStr;

pub const BUILTIN: &[(&str, &str)] = &[
    ("default", include_str!("../../themes/default.toml")),
    ("high-contrast", include_str!("../../themes/high-contrast.toml")),
    ("mono", include_str!("../../themes/mono.toml")),
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    #[allow(dead_code)]
    description: Option<String>,
    colors: ThemeColors,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeColors {
    text: String,
    muted: String,
    accent: String,
    ok: String,
    warn: String,
    crit: String,
    border: String,
    focus: String,
    selected_fg: String,
    selected_bg: String,
}

/// Resolved styles for drawing.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    pub text: Style,
    pub muted: Style,
    pub accent: Style,
    pub ok: Style,
    pub warn: Style,
    pub crit: Style,
    pub border: Style,
    pub focus: Style,
    pub selected: Style,
}

impl Theme {
    /// A verdict's colour where "fine" is shown as fine (badges, the summary strip).
    pub fn level(&self, level: crate::model::verdict::Level) -> Style {
        use crate::model::verdict::Level;
        match level {
            Level::Ok => self.ok,
            Level::Warn => self.warn,
            Level::Crit => self.crit,
        }
    }

    /// A verdict's colour for a table row, where "fine" is plain text.
    pub fn row(&self, level: crate::model::verdict::Level) -> Style {
        use crate::model::verdict::Level;
        match level {
            Level::Ok => self.text,
            Level::Warn => self.warn,
            Level::Crit => self.crit,
        }
    }

    /// What marks the selected row besides its style: in monochrome, reverse video is also how
    /// an alarming row looks, so the selection gets a `▶` of its own.
    pub fn selection_marker(&self) -> &'static str {
        if self.name == "mono" { "▶ " } else { "" }
    }

    /// The built-in monochrome theme; also what NO_COLOR gets.
    pub fn mono() -> Theme {
        let base = Style::default();
        Theme {
            name: "mono".into(),
            text: base,
            muted: base.add_modifier(Modifier::DIM),
            accent: base.add_modifier(Modifier::BOLD),
            ok: base,
            warn: base.add_modifier(Modifier::BOLD),
            crit: base.add_modifier(Modifier::BOLD | Modifier::REVERSED),
            border: base,
            focus: base.add_modifier(Modifier::BOLD),
            selected: base.add_modifier(Modifier::REVERSED),
        }
    }

    /// Parses a theme file; problems name the line and the fix.
    pub fn parse(file: &DataFile) -> Result<Theme, Vec<Problem>> {
        if file.name == "mono" {
            return Ok(Theme::mono());
        }
        let parsed: ThemeFile =
            toml::from_str(&file.text).map_err(|e| vec![toml_problem(file, &e, "see themes/default.toml for every key")])?;
        let c = parsed.colors;
        let mut problems = Vec::new();
        let mut color = |key: &str, value: &str| match Color::from_str(value) {
            Ok(col) => col,
            Err(_) => {
                problems.push(Problem {
                    file: file.path.clone(),
                    line: crate::diag::find_line(&file.text, Some("colors"), key),
                    what: format!("`{value}` is not a colour"),
                    fix: "use a name (red, lightblue, darkgray, reset), an index 0-255 or #rrggbb".into(),
                });
                Color::Reset
            }
        };
        let theme = Theme {
            name: file.name.clone(),
            text: Style::default().fg(color("text", &c.text)),
            muted: Style::default().fg(color("muted", &c.muted)),
            accent: Style::default().fg(color("accent", &c.accent)).add_modifier(Modifier::BOLD),
            ok: Style::default().fg(color("ok", &c.ok)),
            warn: Style::default().fg(color("warn", &c.warn)).add_modifier(Modifier::BOLD),
            crit: Style::default().fg(color("crit", &c.crit)).add_modifier(Modifier::BOLD),
            border: Style::default().fg(color("border", &c.border)),
            focus: Style::default().fg(color("focus", &c.focus)).add_modifier(Modifier::BOLD),
            selected: Style::default().fg(color("selected_fg", &c.selected_fg)).bg(color("selected_bg", &c.selected_bg)),
        };
        if problems.is_empty() { Ok(theme) } else { Err(problems) }
    }

    /// Loads the named theme, honouring NO_COLOR.
    pub fn load(name: &str) -> Result<Theme, Vec<Problem>> {
        if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
            return Ok(Theme::mono());
        }
        let files = crate::data_files::load_all("themes", BUILTIN);
        let Some(file) = files.iter().find(|f| f.name == name) else {
            let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
            return Err(vec![Problem {
                file: "sitrep.toml".into(),
                line: 1,
                what: format!("no theme named `{name}`"),
                fix: format!("set [general] theme to one of: {}", names.join(", ")),
            }]);
        };
        Theme::parse(file)
    }
}

/// Turns a toml deserialisation error into a Problem with its line.
pub fn toml_problem(file: &DataFile, e: &toml::de::Error, fix: &str) -> Problem {
    Problem {
        file: file.path.clone(),
        line: e.span().map_or(1, |s| crate::diag::line_of_offset(&file.text, s.start)),
        what: e.message().trim().to_string(),
        fix: fix.into(),
    }
}
