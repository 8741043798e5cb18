//! The `:` line as data: every command once in [`COMMANDS`] (name, usage, help, where it works),
//! parsed once into a [`Command`]; the help screen and the unknown-command hint read the same table.

use crate::model::SourceId;
use crate::runbook::template::Vars;
use crate::timeline::entry::{IncidentStatus, Severity};

/// A command typed on the `:` line, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `:q`, `:quit`, `:q!`.
    Quit,
    /// `:pods`, `:replication` (`:pg`), `:sentinel` (`:redis`), `:queues`, `:backups`, `:alerts`.
    Focus(SourceId),
    /// `:services` (`:svc`), `:events` (`:ev`): what the kube pane shows (`:pods` goes back).
    Kube(crate::ui::kube_views::KubeView),
    /// `:ns NAME` shows one namespace; `:ns all` (or `:ns`) every one.
    Namespace(Option<String>),
    /// `:run NAME k=v …`: a runbook in the wizard.
    Run { name: String, params: Vars },
    /// `:run` alone: the list of runbooks to choose from.
    Runbooks,
    /// `:open P2 title`.
    Open { severity: Severity, title: String },
    /// `:sev P1`.
    Severity(Severity),
    /// `:status mitigated`.
    Status(IncidentStatus),
    /// `:g 12:30` in a replay: the moment to go to, as typed (the replay reads it).
    Seek(String),
    /// `:export md|json [FILE]`: the open incident's post-mortem draft, written to a file.
    Export { format: crate::timeline::cli::ExportFormat, out: Option<std::path::PathBuf> },
}

/// Why a `:` line is not a command; the text is shown in the status bar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("unknown command :{word} — {hint}")]
    Unknown { word: String, hint: String },
    #[error("usage: {0}")]
    Usage(&'static str),
    #[error("{0}")]
    Invalid(String),
}

/// Where a command (or a key) does something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Live and in replay.
    Both,
    /// Only the live console (it changes an incident or runs something).
    Live,
    /// Only a replay.
    Replay,
}

impl Scope {
    /// Whether a help screen for `shown` lists this.
    pub fn shown_in(self, shown: Scope) -> bool {
        self == Scope::Both || self == shown
    }
}

/// One command word of the `:` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Quit,
    Focus,
    Kube,
    Namespace,
    Run,
    Open,
    Severity,
    Status,
    Seek,
    Export,
}

/// A command as the help lists it.
#[derive(Debug, Clone, Copy)]
pub struct CommandSpec {
    pub verb: Verb,
    /// The words that name it (the first is the one shown).
    pub names: &'static [&'static str],
    /// What the help shows in its key column.
    pub usage: &'static str,
    /// Empty when another row of the help describes it.
    pub help: &'static str,
    pub scope: Scope,
}

const FOCUS_NAMES: &[&str] = &["pods", "replication", "sentinel", "queues", "backups", "alerts", "pg", "redis"];

/// Every `:` command.
pub const COMMANDS: &[CommandSpec] = &[
    // Listed with the `:` key ("jump: :pods …, :q quits").
    CommandSpec { verb: Verb::Focus, names: FOCUS_NAMES, usage: ":pods", help: "", scope: Scope::Both },
    CommandSpec { verb: Verb::Quit, names: &["q", "quit", "q!"], usage: ":q", help: "", scope: Scope::Both },
    CommandSpec {
        verb: Verb::Kube,
        names: &["services", "svc", "events", "ev", "top", "hpa", "pdb"],
        usage: ":svc|:events|:top|:hpa",
        help: "pane 1 shows services (0 ready endpoints is critical), events (warnings first), top (CPU, memory) or hpa (autoscalers, PDBs); :pods back",
        scope: Scope::Both,
    },
    CommandSpec {
        verb: Verb::Namespace,
        names: &["ns"],
        usage: ":ns NAME",
        help: "show one namespace (:ns all shows every one)",
        scope: Scope::Both,
    },
    CommandSpec {
        verb: Verb::Open,
        names: &["open"],
        usage: ":open P2 title",
        help: "open an incident; :sev P1 and :status mitigated change it",
        scope: Scope::Live,
    },
    // Listed with :open.
    CommandSpec { verb: Verb::Severity, names: &["sev", "severity"], usage: ":sev P1", help: "", scope: Scope::Live },
    CommandSpec { verb: Verb::Status, names: &["status"], usage: ":status mitigated", help: "", scope: Scope::Live },
    CommandSpec {
        verb: Verb::Run,
        names: &["run"],
        usage: ":run NAME k=v",
        help: "a runbook wizard (:run alone lists them): pick missing params (j/k, enter), preview, type to confirm; esc in a run asks to abort",
        scope: Scope::Live,
    },
    CommandSpec {
        verb: Verb::Export,
        names: &["export"],
        usage: ":export md FILE",
        help: "write the post-mortem draft, md or json, to FILE (default ./INCIDENT.md)",
        scope: Scope::Live,
    },
    CommandSpec { verb: Verb::Seek, names: &["g"], usage: ":g 12:30", help: "go to a moment (90s, 1m30s, 12:30)", scope: Scope::Replay },
];

impl Command {
    /// Parses the text typed after `:`.
    pub fn parse(text: &str) -> Result<Command, CommandError> {
        let text = text.trim();
        let (word, rest) = text.split_once(' ').unwrap_or((text, ""));
        let rest = rest.trim();
        let Some(spec) = COMMANDS.iter().find(|c| c.names.contains(&word)) else {
            return Err(unknown(word));
        };
        match spec.verb {
            Verb::Quit => Ok(Command::Quit),
            Verb::Focus => Ok(Command::Focus(focus(word))),
            Verb::Kube => Ok(Command::Kube(match word {
                "events" | "ev" => crate::ui::kube_views::KubeView::Events,
                "top" => crate::ui::kube_views::KubeView::Top,
                "hpa" | "pdb" => crate::ui::kube_views::KubeView::Scaling,
                _ => crate::ui::kube_views::KubeView::Services,
            })),
            Verb::Namespace => Ok(Command::Namespace((!rest.is_empty() && rest != "all").then(|| rest.to_string()))),
            Verb::Run => run(rest),
            Verb::Open => match rest.split_once(' ') {
                Some((sev, title)) if !title.trim().is_empty() => {
                    let severity = sev.parse::<Severity>().map_err(|e| CommandError::Invalid(e.to_string()))?;
                    Ok(Command::Open { severity, title: title.trim().to_string() })
                }
                _ => Err(CommandError::Usage(":open P1|P2|P3|P4 title")),
            },
            Verb::Severity => {
                rest.parse().map(Command::Severity).map_err(|e: crate::timeline::entry::BadSeverity| CommandError::Invalid(e.to_string()))
            }
            Verb::Status => {
                rest.parse().map(Command::Status).map_err(|e: crate::timeline::entry::BadStatus| CommandError::Invalid(e.to_string()))
            }
            Verb::Export => export(rest),
            Verb::Seek if rest.is_empty() => Err(CommandError::Usage(":g 90s | 1m30s | 12:30")),
            Verb::Seek => Ok(Command::Seek(rest.to_string())),
        }
    }
}

fn focus(word: &str) -> SourceId {
    match word {
        "pg" => SourceId::Replication,
        "redis" => SourceId::Sentinel,
        _ => SourceId::ALL.into_iter().find(|s| s.name() == word).unwrap_or(SourceId::Pods),
    }
}

/// `:run rollback deployment=api replicas=3` → ("rollback", {deployment: api, replicas: 3}).
fn run(rest: &str) -> Result<Command, CommandError> {
    let mut words = rest.split_whitespace();
    let Some(name) = words.next() else { return Ok(Command::Runbooks) };
    let mut params = Vars::new();
    for w in words {
        match w.split_once('=') {
            Some((k, v)) if !k.is_empty() => {
                params.insert(k.to_string(), v.to_string());
            }
            _ => return Err(CommandError::Invalid(format!("`{w}` is not key=value"))),
        }
    }
    Ok(Command::Run { name: name.to_string(), params })
}

/// `:export`, `:export json`, `:export md /tmp/pm.md`, `:export /tmp/pm.json` (the format from the name).
fn export(rest: &str) -> Result<Command, CommandError> {
    use crate::timeline::cli::ExportFormat;
    let mut words = rest.split_whitespace();
    let (format, out) = match (words.next(), words.next()) {
        (None, _) => (ExportFormat::Md, None),
        (Some("md"), out) => (ExportFormat::Md, out),
        (Some("json"), out) => (ExportFormat::Json, out),
        (Some(path), None) => (if path.ends_with(".json") { ExportFormat::Json } else { ExportFormat::Md }, Some(path)),
        (Some(_), Some(_)) => return Err(CommandError::Usage(":export [md|json] [FILE]")),
    };
    if words.next().is_some() {
        return Err(CommandError::Usage(":export [md|json] [FILE] (a FILE with spaces cannot be typed here)"));
    }
    Ok(Command::Export { format, out: out.map(std::path::PathBuf::from) })
}

/// What `tab` on the `:` line did: the line completed as far as it is unambiguous, and the
/// candidates when more than one is left (shown in the status bar).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub text: String,
    pub candidates: Vec<String>,
}

/// Completes the word being typed on the `:` line: a command word, then a runbook name after
/// `run`, a severity after `sev`, a status after `status`. `runbooks` are the names in actions/.
pub fn complete(text: &str, runbooks: &[String]) -> Completion {
    let (head, word) = match text.rsplit_once(' ') {
        Some((head, word)) => (format!("{head} "), word),
        None => (String::new(), text),
    };
    let first = head.split_whitespace().next();
    let words: Vec<String> = match (first, head.split_whitespace().count()) {
        (None, _) => COMMANDS.iter().flat_map(|c| c.names.iter()).filter(|n| !n.ends_with('!')).map(|n| n.to_string()).collect(),
        (Some("run"), 1) => runbooks.to_vec(),
        (Some("sev" | "severity" | "open"), 1) => ["P1", "P2", "P3", "P4"].map(String::from).to_vec(),
        (Some("export"), 1) => ["md", "json"].map(String::from).to_vec(),
        (Some("status"), 1) => ["investigating", "identified", "mitigated", "resolved"].map(String::from).to_vec(),
        _ => Vec::new(),
    };
    let mut matching: Vec<String> = words.into_iter().filter(|w| w.starts_with(word)).collect();
    matching.sort();
    matching.dedup();
    match matching.as_slice() {
        [] => Completion { text: text.to_string(), candidates: Vec::new() },
        [only] => {
            // A command word that takes more after it gets its space, so the next tab goes on.
            let space = first.is_none() && COMMANDS.iter().any(|c| c.names.contains(&only.as_str()) && c.usage.contains(' '));
            Completion { text: format!("{head}{only}{}", if space { " " } else { "" }), candidates: Vec::new() }
        }
        many => {
            let common = many
                .iter()
                .skip(1)
                .fold(many[0].clone(), |acc, w| acc.chars().zip(w.chars()).take_while(|(a, b)| a == b).map(|(a, _)| a).collect());
            Completion {
                text: format!("{head}{}", if common.len() > word.len() { common.as_str() } else { word }),
                candidates: many.to_vec(),
            }
        }
    }
}

/// The unknown-command error, naming the nearest command.
fn unknown(word: &str) -> CommandError {
    let names = COMMANDS.iter().flat_map(|c| c.names.iter().copied());
    let hint = crate::diag::closest(word, names).map_or_else(
        || format!("try :{}", SourceId::ALL.iter().map(|s| s.name()).collect::<Vec<_>>().join(" :")),
        |s| format!("did you mean :{s}?"),
    );
    CommandError::Unknown { word: word.to_string(), hint }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_command_parses_into_its_variant() {
        assert_eq!(Command::parse("q"), Ok(Command::Quit));
        assert_eq!(Command::parse(" pg "), Ok(Command::Focus(SourceId::Replication)));
        assert_eq!(Command::parse("ns shop"), Ok(Command::Namespace(Some("shop".into()))));
        assert_eq!(Command::parse("ns all"), Ok(Command::Namespace(None)));
        assert_eq!(Command::parse("open P2 api down"), Ok(Command::Open { severity: Severity::P2, title: "api down".into() }));
        assert_eq!(Command::parse("status mitigated"), Ok(Command::Status(IncidentStatus::Mitigated)));
        let Ok(Command::Run { name, params }) = Command::parse("run rollback deployment=api") else { panic!("run parses") };
        assert_eq!((name.as_str(), params.get("deployment").map(String::as_str)), ("rollback", Some("api")));
        assert_eq!(Command::parse("g 12:30"), Ok(Command::Seek("12:30".into())));
        use crate::timeline::cli::ExportFormat::{Json, Md};
        let export = |format, out: Option<&str>| Ok(Command::Export { format, out: out.map(std::path::PathBuf::from) });
        assert_eq!(Command::parse("export"), export(Md, None));
        assert_eq!(Command::parse("export json"), export(Json, None));
        assert_eq!(Command::parse("export md /tmp/pm.md"), export(Md, Some("/tmp/pm.md")));
        assert_eq!(Command::parse("export /tmp/pm.json"), export(Json, Some("/tmp/pm.json")), "the format from the name");
        assert!(matches!(Command::parse("export md a b"), Err(CommandError::Usage(_))));
        assert_eq!(complete("export j", &[]).text, "export json");
    }

    #[test]
    fn tab_completes_commands_then_their_arguments() {
        let runbooks = ["rollback".to_string(), "restart-pods".into(), "restore".into(), "triage".into()];
        assert_eq!(complete("tri", &runbooks).text, "tri", "triage is a runbook, not a command");
        assert_eq!(complete("rep", &runbooks).text, "replication");
        assert_eq!(complete("op", &runbooks), Completion { text: "open ".into(), candidates: vec![] });
        let s = complete("s", &runbooks);
        let want = ["sentinel", "services", "sev", "severity", "status", "svc"].map(String::from).to_vec();
        assert_eq!((s.text.as_str(), s.candidates), ("s", want));
        assert_eq!(complete("ser", &runbooks).text, "services");
        assert_eq!(Command::parse("events"), Ok(Command::Kube(crate::ui::kube_views::KubeView::Events)));
        assert_eq!(Command::parse("svc"), Ok(Command::Kube(crate::ui::kube_views::KubeView::Services)));
        assert_eq!(Command::parse("top"), Ok(Command::Kube(crate::ui::kube_views::KubeView::Top)));
        assert_eq!(complete("run t", &runbooks).text, "run triage");
        let r = complete("run re", &runbooks);
        assert_eq!((r.text.as_str(), r.candidates.len()), ("run rest", 2), "restart-pods and restore share `rest`");
        assert_eq!(complete("status mit", &runbooks).text, "status mitigated");
        assert_eq!(complete("sev ", &runbooks).candidates.len(), 4);
        assert_eq!(complete("run triage x", &runbooks).text, "run triage x", "parameters are not guessed");
    }

    #[test]
    fn bad_commands_say_what_to_type() {
        assert_eq!(Command::parse("run"), Ok(Command::Runbooks), ":run alone lists the runbooks");
        assert!(matches!(Command::parse("run x y"), Err(CommandError::Invalid(e)) if e.contains("`y` is not key=value")));
        assert!(matches!(Command::parse("open P2"), Err(CommandError::Usage(_))));
        assert!(Command::parse("sev P9").is_err());
        let unknown = Command::parse("stauts x").map_err(|e| e.to_string());
        assert_eq!(unknown, Err("unknown command :stauts — did you mean :status?".to_string()));
    }
}
