//! The console's keys: the top overlay first (it says whether it took the key), then the view,
//! then the console's own actions and `:` commands, which reach the timeline writer and runbooks.

use super::{Console, RunRequest};
use crate::model::RunState;
use crate::runbook::TypedConfirmation;
use crate::timeline::live::TimelineRequest;
use crate::ui::command::Command;
use crate::ui::keymap::Action;
use crate::ui::note::{NoteEditor, NoteOutcome};
use crate::ui::overlay::{EventState, Overlay, PendingRun, WizardStage};
use crate::ui::picker::PickOutcome;
use crate::ui::{KeyOutcome, ViewKey};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

impl Console {
    /// A key: recorded, then offered to the overlays top down, then to the view.
    pub fn on_key(&mut self, key: KeyEvent) -> KeyOutcome {
        if let Some(r) = &self.services.recorder
            && let Some(k) = crate::record::KeyRecord::from_key(&key)
        {
            r.record(crate::record::Record::Key { t: r.offset_ms(), key: k });
        }
        // Ctrl-C quits from everywhere but the note editor, where it would lose the text unasked.
        let ctrl_c = key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c');
        if ctrl_c && !matches!(self.overlays.top(), Some(Overlay::Note(_))) {
            return self.request_quit();
        }
        if let EventState::Consumed(outcome) = self.overlay_key(key) {
            return outcome;
        }
        match self.view.key(key) {
            ViewKey::Outcome(KeyOutcome::Quit) => self.request_quit(),
            ViewKey::Outcome(outcome) => outcome,
            ViewKey::Action(action) => self.act(action),
            ViewKey::Command(command) => self.command(command),
        }
    }

    /// Gives `key` to the top overlay; one that stays open is pushed back.
    fn overlay_key(&mut self, key: KeyEvent) -> EventState {
        let Some(top) = self.overlays.pop() else { return EventState::NotConsumed };
        let outcome = match top {
            Overlay::QuitConfirm if key.code == KeyCode::Char('q') => KeyOutcome::Quit,
            // Any other key withdraws the question and does what it does below.
            Overlay::QuitConfirm => return self.overlay_key(key),
            // Scrolls like describe; Esc, q or ? close it.
            Overlay::Help => {
                self.view.message = None;
                match self.view.scroll_help(key) {
                    Some(outcome) => {
                        self.overlays.push(Overlay::Help);
                        outcome
                    }
                    None => KeyOutcome::Redraw,
                }
            }
            // Scrolls with j/k and pages; only Esc or q close it (a stray key must not).
            Overlay::Describe => {
                self.view.message = None;
                match self.view.scroll_describe(key) {
                    Some(outcome) => {
                        self.overlays.push(Overlay::Describe);
                        outcome
                    }
                    None => KeyOutcome::Redraw,
                }
            }
            Overlay::Timeline => {
                self.view.message = None;
                match key.code {
                    KeyCode::Char('t') | KeyCode::Esc => KeyOutcome::Redraw,
                    KeyCode::Char('q') => {
                        self.overlays.push(Overlay::Timeline);
                        return EventState::Consumed(self.request_quit());
                    }
                    _ => {
                        self.overlays.push(Overlay::Timeline);
                        self.view.scroll_timeline(key)
                    }
                }
            }
            Overlay::Logs(pane) => self.logs_key(pane, key),
            Overlay::Note(editor) => self.note_key(editor, key),
            Overlay::Picker { run, picker } => self.picker_key(run, picker, key),
            Overlay::Wizard(stage) => self.wizard_key(stage, key),
            Overlay::Runbooks(mut list) => {
                use crate::ui::runbooks::ListOutcome;
                match list.on_key(key) {
                    ListOutcome::Choosing => self.overlays.push(Overlay::Runbooks(list)),
                    ListOutcome::Closed => {}
                    ListOutcome::Refused(why) => {
                        self.view.message = Some(why);
                        self.overlays.push(Overlay::Runbooks(list));
                    }
                    ListOutcome::Run(name) => self.open_wizard(PendingRun::new(&name)),
                }
                KeyOutcome::Redraw
            }
        };
        EventState::Consumed(outcome)
    }

    /// A bound key whose work is the console's.
    fn act(&mut self, action: Action) -> KeyOutcome {
        match action {
            Action::Help => {
                self.view.help_scroll = 0;
                self.overlays.push(Overlay::Help);
            }
            Action::Describe if self.view.focus == crate::model::SourceId::Alerts => return self.open_alert_runbook(),
            Action::Describe => {
                self.view.describe_scroll = 0;
                self.overlays.push(Overlay::Describe);
            }
            Action::Timeline => {
                self.view.timeline_scroll = 0;
                self.overlays.push(Overlay::Timeline);
            }
            Action::Logs => return self.open_logs(),
            Action::Note => self.overlays.push(Overlay::Note(Box::default())),
            // `w` brings back a wizard hidden with `h`/Esc (a long restore goes on while you look around).
            Action::ShowWizard if self.model.runbook.is_some() => self.overlays.push(Overlay::Wizard(WizardStage::Watching)),
            _ => return KeyOutcome::Nothing,
        }
        KeyOutcome::Redraw
    }

    /// `enter` on an alert: the runbook its `sitrep_runbook` label or `runbook_url` names, opened
    /// as `:run NAME k=v` opens it, with the parameters it declares taken from the alert's labels.
    fn open_alert_runbook(&mut self) -> KeyOutcome {
        let ctx = self.pane_ctx();
        let found = crate::ui::panes::alerts::selected_alert(&ctx).map(|a| (a.name.clone(), a.runbook.clone(), a.labels.clone()));
        let known = &self.view.runbook_names;
        let why = match found {
            None => "no alert selected".to_string(),
            Some((alert, None, _)) => {
                format!(
                    "alert {alert} names no runbook: give it a sitrep_runbook label or a runbook_url annotation ending in a runbook's name"
                )
            }
            Some((alert, Some(name), _)) if !known.contains(&name) => {
                let near = crate::diag::closest(&name, known.iter().map(String::as_str))
                    .map(|n| format!(" (did you mean {n}?)"))
                    .unwrap_or_default();
                format!("alert {alert} names runbook `{name}`, which is not in actions/{near}; :run lists them")
            }
            Some((_, Some(name), labels)) => match crate::runbook::find(&name) {
                Ok(runbook) => {
                    let params = crate::runbook::choices::from_labels(&runbook.params, &labels);
                    return self.command(Ok(Command::Run { name, params }));
                }
                Err(e) => e.to_string(),
            },
        };
        self.view.message = Some(why);
        KeyOutcome::Redraw
    }

    /// A `:` command: runbooks and incident changes here, the rest is the view's.
    fn command(&mut self, command: Result<Command, crate::ui::command::CommandError>) -> KeyOutcome {
        use crate::timeline::entry::EntryKind;
        if let Ok(Command::Namespace(Some(ns))) = &command
            && let Some(why) = self.unknown_namespace(ns)
        {
            self.view.message = Some(why);
            return KeyOutcome::Redraw;
        }
        let request = match command {
            Ok(Command::Run { name, params }) if self.services.start_run.is_some() => {
                self.open_wizard(PendingRun { name, params });
                return KeyOutcome::Redraw;
            }
            Ok(Command::Runbooks) if self.services.start_run.is_some() => {
                self.overlays.push(Overlay::Runbooks(crate::ui::runbooks::RunbookList::load()));
                return KeyOutcome::Redraw;
            }
            Ok(Command::Open { severity, title }) => TimelineRequest::Open { severity, title },
            Ok(Command::Severity(severity)) => TimelineRequest::Change(EntryKind::Severity { severity }),
            Ok(Command::Status(status)) => TimelineRequest::Change(EntryKind::Status { status }),
            Ok(Command::Export { format, out }) => TimelineRequest::Export { format, out },
            other => {
                return match self.view.command(other) {
                    KeyOutcome::Quit => self.request_quit(),
                    outcome => outcome,
                };
            }
        };
        // `:open P2 title`, `:sev P1`, `:status mitigated` go to the timeline writer.
        let sent = match request {
            TimelineRequest::Export { .. } => "export asked for: the timeline pane says where it went",
            _ => "sent to the timeline; it shows once on disk",
        };
        self.view.message = Some(match &self.services.timeline {
            Some(tx) => match tx.send(request) {
                Ok(()) => sent.into(),
                Err(_) => "NOT saved: the timeline writer stopped (see the log)".into(),
            },
            None => "not saved: no timeline writer here (a replay or a headless frame)".into(),
        });
        KeyOutcome::Redraw
    }

    /// Why `:ns NAME` would show an empty pane: no pod or deployment seen is in it. None while
    /// nothing is known yet (the first list has not come), so a typed name is never refused on a guess.
    fn unknown_namespace(&self, ns: &str) -> Option<String> {
        let snapshot = self.model.pods.as_ref()?;
        let known = snapshot.namespaces();
        if known.contains(&ns) {
            return None;
        }
        let hint = crate::diag::closest(ns, known.iter().copied()).map(|n| format!("did you mean {n}? ")).unwrap_or_default();
        let seen = match known.len() {
            0 => "none".to_string(),
            n if n > 6 => format!("{} and {} more", known[..6].join(", "), n - 6),
            _ => known.join(", "),
        };
        Some(format!(
            "no pod or deployment seen in namespace `{}` (seen: {seen}); {hint}:ns all shows every one",
            crate::sanitize::clean(ns)
        ))
    }

    /// Whether the real run started from this console is still changing things.
    fn run_in_progress(&self) -> bool {
        self.services.run_cancel.is_some() && self.model.runbook.as_ref().is_some_and(|r| !r.dry_run && r.outcome.is_none())
    }

    /// Quitting while a runbook is changing things asks first: the run would go on unwatched.
    fn request_quit(&mut self) -> KeyOutcome {
        if !self.run_in_progress() || matches!(self.overlays.top(), Some(Overlay::QuitConfirm)) {
            return KeyOutcome::Quit;
        }
        self.overlays.push(Overlay::QuitConfirm);
        self.view.message = Some("a runbook is running: q again quits anyway (the run goes on without you watching)".into());
        KeyOutcome::Redraw
    }

    fn note_key(&mut self, mut editor: Box<NoteEditor>, key: KeyEvent) -> KeyOutcome {
        match editor.on_key(key) {
            NoteOutcome::Editing | NoteOutcome::ConfirmDiscard => self.overlays.push(Overlay::Note(editor)),
            NoteOutcome::Discarded => {}
            NoteOutcome::Save(text) if self.services.annotations.is_some() => self.view.message = Some(self.annotate(&text)),
            NoteOutcome::Save(text) => {
                self.view.message = Some(match &self.services.timeline {
                    Some(tx) if tx.send(TimelineRequest::Note(text)).is_ok() => {
                        "note sent: it shows in the timeline (t) once it is on disk".to_string()
                    }
                    _ => "note NOT saved: the timeline writer is not running".to_string(),
                });
            }
        }
        KeyOutcome::Redraw
    }

    /// `:run NAME k=v`: pick the parameters not given (from live state), then the dry run.
    fn open_wizard(&mut self, run: PendingRun) {
        let missing = match crate::runbook::wizard::missing_params(&run.name, &run.params) {
            Ok(missing) => missing,
            Err(e) => return self.view.message = Some(e),
        };
        self.overlays.close_wizard();
        match crate::ui::picker::ParamPicker::new(&run.name, missing, &run.params, &self.model) {
            Some(picker) => self.overlays.push(Overlay::Picker { run, picker }),
            None => self.start_dry_run(run),
        }
    }

    fn start_dry_run(&mut self, run: PendingRun) {
        let request = RunRequest { name: run.name.clone(), params: run.params.clone(), typed: None, cancel: Default::default() };
        match self.start(request) {
            Ok(()) => {
                self.view.wizard_scroll = 0;
                self.overlays.push(Overlay::Wizard(WizardStage::Preview { run, typed: String::new(), wrong: None }))
            }
            Err(e) => self.view.message = Some(e),
        }
    }

    fn start(&mut self, request: RunRequest) -> Result<(), String> {
        match self.services.start_run.as_mut() {
            Some(start) => start(request),
            None => Err("runbooks cannot run here (a replay or a headless frame)".into()),
        }
    }

    fn picker_key(&mut self, run: PendingRun, mut picker: crate::ui::picker::ParamPicker, key: KeyEvent) -> KeyOutcome {
        match picker.on_key(key, &self.model) {
            PickOutcome::Picking => self.overlays.push(Overlay::Picker { run, picker }),
            PickOutcome::Cancelled => {}
            PickOutcome::Done(picked) => {
                let mut run = run;
                run.params.extend(picked);
                self.start_dry_run(run);
            }
        }
        KeyOutcome::Redraw
    }

    /// Keys while the wizard is shown. After a dry run that nothing stopped: typing the
    /// confirmation, Enter runs for real when it is exactly the name the previews gave (else asks
    /// again); after one that stopped, only Esc (close) and q. During the real run Esc asks
    /// whether to abort it; otherwise Esc hides the wizard.
    fn wizard_key(&mut self, stage: WizardStage, key: KeyEvent) -> KeyOutcome {
        let running = self.run_in_progress();
        let typing = matches!(stage, WizardStage::Preview { .. }) && self.confirmable() && self.asks_typed();
        if self.view.scroll_wizard(key, typing) {
            self.overlays.push(Overlay::Wizard(stage));
            return KeyOutcome::Redraw;
        }
        let next = match (stage, key.code) {
            (_, KeyCode::Esc) if !running => None,
            (WizardStage::Preview { run, typed, .. }, KeyCode::Enter) if self.confirmable() => self.confirm_key(run, typed),
            (WizardStage::Preview { run, mut typed, wrong }, code) if self.confirmable() && self.asks_typed() => {
                match code {
                    KeyCode::Backspace => {
                        typed.pop();
                    }
                    KeyCode::Char(c) => typed.push(c),
                    _ => {}
                }
                Some(WizardStage::Preview { run, typed, wrong })
            }
            (WizardStage::AbortPrompt, KeyCode::Char('y')) if running => {
                if let Some(cancel) = &self.services.run_cancel {
                    cancel.cancel();
                }
                self.view.message = Some("aborting the run at its current step…".into());
                Some(WizardStage::Watching)
            }
            (WizardStage::AbortPrompt, KeyCode::Char('n') | KeyCode::Esc) if running => Some(WizardStage::Watching),
            (WizardStage::AbortPrompt, KeyCode::Char('h')) if running => None,
            (WizardStage::Watching, KeyCode::Esc) if running => Some(WizardStage::AbortPrompt),
            (_, KeyCode::Esc) => None,
            (stage, KeyCode::Char('q')) => {
                self.overlays.push(Overlay::Wizard(stage));
                return self.request_quit();
            }
            (stage, _) => Some(stage),
        };
        if let Some(stage) = next {
            self.overlays.push(Overlay::Wizard(stage));
        }
        KeyOutcome::Redraw
    }

    /// Enter after the dry run: the real run starts with exactly the right text; anything else is
    /// said to be wrong and asked again (the run stays on screen, nothing starts).
    fn confirm_key(&mut self, run: PendingRun, typed: String) -> Option<WizardStage> {
        let expected = self.model.runbook.as_ref().and_then(|r| r.typed_confirmation()).map(str::to_string);
        match expected {
            Some(expected) if TypedConfirmation::check(&expected, &typed).is_none() => {
                Some(WizardStage::Preview { run, typed: String::new(), wrong: Some(typed) })
            }
            _ => {
                self.start_real_run(run, typed);
                None
            }
        }
    }

    /// The dry run showed every step and nothing stopped it, so the real run may be confirmed.
    fn confirmable(&self) -> bool {
        self.model.runbook.as_ref().is_some_and(|r| r.state() == RunState::Previewed)
    }

    /// The dry run named a text to type (else Enter alone confirms).
    fn asks_typed(&self) -> bool {
        self.model.runbook.as_ref().is_some_and(|r| r.typed_confirmation().is_some())
    }

    fn start_real_run(&mut self, run: PendingRun, typed: String) {
        let cancel = self.show_real_run();
        let request = RunRequest { name: run.name, params: run.params, typed: Some(typed), cancel };
        if let Err(e) = self.start(request) {
            self.view.message = Some(e);
        }
    }

    /// Appends a replay note to the annotations file (one JSON line, fsynced); never the recording.
    fn annotate(&self, text: &str) -> String {
        let Some(path) = &self.services.annotations else { return "no annotations file".into() };
        let line = serde_json::json!({ "at": self.clock.now(), "text": crate::sanitize::redact_secrets(text) }).to_string();
        let written = std::fs::OpenOptions::new().create(true).append(true).open(path).and_then(|mut f| {
            use std::io::Write;
            f.write_all(line.as_bytes())?;
            f.write_all(b"\n")?;
            f.sync_all()
        });
        match written {
            Ok(()) => format!("annotation saved to {}", path.display()),
            Err(e) => format!("annotation NOT saved to {}: {e}", path.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Event;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    /// A console whose real run (started here) is changing things.
    fn running() -> Console {
        let clock = crate::clock::Clock::virtual_at(chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default());
        let mut c = Console::new(crate::config::Config::default(), "test".into(), clock).expect("console");
        c.model.apply(Event::RunbookStarted {
            name: "rollback".into(),
            title: "Roll back".into(),
            steps: vec!["undo".into()],
            dry_run: false,
            timeouts_secs: vec![],
        });
        c.show_real_run();
        c
    }

    #[test]
    fn the_quit_question_takes_only_q_and_any_other_key_goes_on_below() {
        let mut c = running();
        assert_eq!(c.on_key(key(KeyCode::Char('q'))), KeyOutcome::Redraw);
        assert!(matches!(c.overlays.top(), Some(Overlay::QuitConfirm)));
        // Esc withdraws the question and reaches the wizard, which asks whether to abort.
        c.on_key(key(KeyCode::Esc));
        assert!(matches!(c.overlays.top(), Some(Overlay::Wizard(WizardStage::AbortPrompt))));
        assert_eq!(c.on_key(key(KeyCode::Char('q'))), KeyOutcome::Redraw, "asks again");
        assert_eq!(c.on_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)), KeyOutcome::Quit, "ctrl-c answers it too");
    }

    #[test]
    fn overlays_take_keys_before_the_view_and_close_on_their_own_keys() {
        let mut c = running();
        c.on_key(key(KeyCode::Esc));
        c.on_key(key(KeyCode::Char('h')));
        assert!(c.wizard().is_none(), "h hides the wizard; the run goes on");
        c.on_key(key(KeyCode::Char('t')));
        assert!(matches!(c.overlays.top(), Some(Overlay::Timeline)));
        c.on_key(key(KeyCode::Char('2')));
        assert_eq!(c.view.focus, crate::model::SourceId::Pods, "the timeline keeps the keys from the panes");
        c.on_key(key(KeyCode::Esc));
        c.on_key(key(KeyCode::Char('n')));
        for ch in "api ok".chars() {
            c.on_key(key(KeyCode::Char(ch)));
        }
        assert!(matches!(c.overlays.top(), Some(Overlay::Note(_))), "q and the other keys type into the note");
        assert_eq!(c.on_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)), KeyOutcome::Redraw, "ctrl-c does not lose a note");
    }

    #[test]
    fn a_recorded_run_shows_in_the_wizard_under_what_is_open() {
        let mut c = Console::new(crate::config::Config::default(), "replay".into(), crate::clock::Clock::Real).expect("console");
        c.on_key(key(KeyCode::Char('n')));
        c.apply(Event::RunbookStarted {
            name: "triage".into(),
            title: "Triage".into(),
            steps: vec![],
            dry_run: false,
            timeouts_secs: vec![],
        });
        assert!(c.wizard().is_some());
        assert!(matches!(c.overlays.top(), Some(Overlay::Note(_))), "the note keeps the keys");
    }
}
