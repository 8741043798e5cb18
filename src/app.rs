//! The console loop: select! over keys, collector events and a render tick; redraw only on change.
//! Owns the Model and view state; restores the terminal on quit, panic, SIGTERM and SIGHUP.

use crate::clock::Clock;
use crate::config::Config;
use crate::model::{Event, Model};
use crate::ui::layout::View;
use crate::ui::theme::Theme;
use crate::ui::{KeyOutcome, Screen, ViewState, render};
use anyhow::Context;
use crossterm::event::{Event as TermEvent, EventStream, KeyEventKind};
use futures::StreamExt;
use ratatui::Terminal;
use ratatui::backend::{Backend, TestBackend};
use std::time::Duration;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

/// Everything the console draws with, besides live data.
pub struct Console {
    pub config: Config,
    pub theme: Theme,
    pub views: Vec<View>,
    pub banner: String,
    pub clock: Clock,
    pub model: Model,
    pub view: ViewState,
    /// The note editor, when open (`n`).
    pub note: Option<crate::ui::note::NoteEditor>,
    /// Turns Model transitions into timeline entries.
    pub detector: crate::detect::Detector,
    /// The timeline writer thread (interactive consoles only: a headless frame writes nothing).
    pub timeline: Option<std::sync::mpsc::Sender<crate::timeline::live::TimelineRequest>>,
    /// Records events and keys as they happen (`--record`, `record = true`).
    pub recorder: Option<crate::record::Recorder>,
    /// In replay: notes go to this file beside the recording, never into it.
    pub annotations: Option<std::path::PathBuf>,
    /// Where threads (runbook runs) send their events: the app loop's channel (interactive only).
    pub events_tx: Option<tokio::sync::mpsc::UnboundedSender<Event>>,
    /// The runbook the wizard is showing and the typed confirmation being entered.
    pub wizard: Option<Wizard>,
    /// The wizard overlay was dismissed with Esc (the run, if any, goes on).
    pub wizard_hidden: bool,
    /// `q` was pressed once while a runbook was running.
    pub quit_armed: bool,
}

/// A runbook being previewed or run from the console.
#[derive(Default)]
pub struct Wizard {
    pub name: String,
    pub params: crate::runbook::template::Vars,
    pub typed: String,
    pub started_real_run: bool,
    /// Choosing the parameters not given, before the dry run.
    pub picker: Option<crate::ui::picker::ParamPicker>,
    /// Aborts the real run at its current step.
    pub cancel: tokio_util::sync::CancellationToken,
    /// Esc during the real run asked whether to abort it.
    pub abort_asked: bool,
}

impl Console {
    pub fn new(config: Config, banner: String, clock: Clock) -> anyhow::Result<Console> {
        let theme = Theme::load(&config.general.theme).map_err(|p| anyhow::anyhow!(crate::config::ConfigError::Invalid(p)))?;
        let views = crate::ui::layout::load_views();
        anyhow::ensure!(!views.is_empty(), "no usable view in views/; run `sitrep check`");
        let model = Model::new(chrono::Duration::seconds(config.general.refresh_secs.max(1) as i64));
        let detector = crate::detect::Detector::new(&config.thresholds);
        Ok(Console {
            config,
            theme,
            views,
            banner,
            clock,
            model,
            view: ViewState::default(),
            note: None,
            detector,
            timeline: None,
            recorder: None,
            annotations: None,
            events_tx: None,
            wizard: None,
            wizard_hidden: false,
            quit_armed: false,
        })
    }

    pub fn draw<B: Backend>(&self, terminal: &mut Terminal<B>) -> anyhow::Result<()> {
        let now = self.model.now.unwrap_or_else(|| self.clock.now());
        let screen = Screen {
            theme: &self.theme,
            views: &self.views,
            view_name: &self.config.general.view,
            thresholds: &self.config.thresholds,
            banner: &self.banner,
        };
        terminal
            .draw(|f| {
                render(f, &self.model, &self.view, &screen, now);
                if let Some(picker) = self.wizard.as_ref().and_then(|w| w.picker.as_ref()) {
                    picker.draw(f, f.area(), &self.theme);
                } else if let Some(run) = self.model.runbook.as_ref().filter(|_| !self.wizard_hidden) {
                    use crate::ui::wizard::Prompt;
                    let prompt = match &self.wizard {
                        Some(w) if !w.started_real_run => Prompt::Typed(w.typed.as_str()),
                        Some(w) if w.abort_asked => Prompt::Abort,
                        _ => Prompt::None,
                    };
                    crate::ui::wizard::draw(f, f.area(), run, prompt, now, &self.theme);
                }
                if let Some(note) = &self.note {
                    note.draw(f, f.area(), &self.theme);
                }
            })
            .map_err(|e| anyhow::anyhow!("drawing: {e}"))?;
        Ok(())
    }

    /// Applies every event already waiting, so a burst costs one redraw; then looks for transitions.
    fn drain(&mut self, first: Event, rx: &mut UnboundedReceiver<Event>) -> bool {
        let mut events = vec![first];
        while let Ok(ev) = rx.try_recv() {
            events.push(ev);
        }
        self.feed(events)
    }

    /// The one way live events reach the Model: recorded, applied, then run past the detector.
    pub fn feed(&mut self, events: Vec<Event>) -> bool {
        let mut observed = false;
        let mut changed = false;
        for ev in events {
            observed |= is_observation(&ev);
            self.record_event(&ev);
            changed |= self.model.apply(ev);
        }
        if observed {
            for d in self.detector.observe(&self.model) {
                match &self.timeline {
                    Some(tx) => {
                        let _ = tx.send(crate::timeline::live::TimelineRequest::Detected(d));
                    }
                    // Headless: findings are shown (and recorded) but nothing is written to a store.
                    None => {
                        let line =
                            crate::model::TimelineLine::unsaved(d.at, d.to_entry_kind().describe(), crate::model::EntryClass::Detected);
                        let event = Event::TimelineAppended { line };
                        self.record_event(&event);
                        changed |= self.model.apply(event);
                    }
                }
            }
        }
        changed
    }

    pub fn record_event(&self, event: &Event) {
        if let Some(r) = &self.recorder {
            r.record(crate::record::Record::Event { t: r.offset_ms(), event: event.clone() });
        }
    }

    /// A key: the note editor takes it when open, `n` opens it, everything else is view state.
    pub fn on_key(&mut self, key: crossterm::event::KeyEvent) -> KeyOutcome {
        use crate::ui::note::{NoteEditor, NoteOutcome};
        if let Some(r) = &self.recorder
            && let Some(k) = crate::record::KeyRecord::from_key(&key)
        {
            r.record(crate::record::Record::Key { t: r.offset_ms(), key: k });
        }
        if let Some(note) = self.note.as_mut() {
            match note.on_key(key) {
                NoteOutcome::Editing | NoteOutcome::ConfirmDiscard => {}
                NoteOutcome::Discarded => self.note = None,
                NoteOutcome::Save(text) if self.annotations.is_some() => {
                    self.note = None;
                    self.view.message = Some(self.annotate(&text));
                }
                NoteOutcome::Save(text) => {
                    self.note = None;
                    self.view.message = Some(match &self.timeline {
                        Some(tx) if tx.send(crate::timeline::live::TimelineRequest::Note(text)).is_ok() => {
                            "note sent: it shows in the timeline (t) once it is on disk".to_string()
                        }
                        _ => "note NOT saved: the timeline writer is not running".to_string(),
                    });
                }
            }
            return KeyOutcome::Redraw;
        }
        if let Some(outcome) = self.wizard_key(key) {
            return outcome;
        }
        // `:run NAME k=v` previews a runbook (dry run) in the wizard.
        if key.code == crossterm::event::KeyCode::Enter
            && let crate::ui::Mode::Command(text) = &self.view.mode
            && let Some(parsed) = crate::runbook::wizard::parse(text.trim())
        {
            self.view.mode = crate::ui::Mode::Normal;
            match (parsed, self.events_tx.is_some()) {
                (Ok((name, params)), true) => self.open_wizard(name, params),
                (Ok(_), false) => self.view.message = Some("runbooks run only in the interactive console".into()),
                (Err(e), _) => self.view.message = Some(e),
            }
            return KeyOutcome::Redraw;
        }
        // `:open P2 title`, `:sev P1`, `:status mitigated` go to the timeline writer.
        if key.code == crossterm::event::KeyCode::Enter
            && let crate::ui::Mode::Command(text) = &self.view.mode
            && let Some(parsed) = crate::timeline::live::parse_command(text.trim())
        {
            self.view.mode = crate::ui::Mode::Normal;
            self.view.message = Some(match (parsed, &self.timeline) {
                (Ok(request), Some(tx)) => match tx.send(request) {
                    Ok(()) => "sent to the timeline; it shows once on disk".into(),
                    Err(_) => "NOT saved: the timeline writer stopped (see the log)".into(),
                },
                (Ok(_), None) => "not saved: no timeline writer here (a replay or a headless frame)".into(),
                (Err(e), _) => e,
            });
            return KeyOutcome::Redraw;
        }
        // `w` brings back a wizard hidden with `h`/Esc (a long restore goes on while you look around).
        if self.view.mode == crate::ui::Mode::Normal
            && key.code == crossterm::event::KeyCode::Char('w')
            && self.wizard_hidden
            && self.model.runbook.is_some()
        {
            self.wizard_hidden = false;
            return KeyOutcome::Redraw;
        }
        if self.view.mode == crate::ui::Mode::Normal && key.code == crossterm::event::KeyCode::Char('n') {
            self.note = Some(NoteEditor::default());
            return KeyOutcome::Redraw;
        }
        let outcome = self.view.on_key(key);
        self.confirm_quit(outcome)
    }

    /// Quitting while a runbook is changing things asks first: the run would go on unwatched.
    fn confirm_quit(&mut self, outcome: KeyOutcome) -> KeyOutcome {
        let running =
            self.wizard.as_ref().is_some_and(|w| w.started_real_run) && self.model.runbook.as_ref().is_some_and(|r| r.outcome.is_none());
        if outcome != KeyOutcome::Quit || !running {
            return outcome;
        }
        if self.quit_armed {
            return KeyOutcome::Quit;
        }
        self.quit_armed = true;
        self.view.message = Some("a runbook is running: q again quits anyway (the run goes on without you watching)".into());
        KeyOutcome::Redraw
    }
}

impl Console {
    /// `:run NAME k=v`: pick the parameters not given (from live state), then the dry run.
    fn open_wizard(&mut self, name: String, params: crate::runbook::template::Vars) {
        let missing = match crate::runbook::wizard::missing_params(&name, &params) {
            Ok(missing) => missing,
            Err(e) => return self.view.message = Some(e),
        };
        let picker = crate::ui::picker::ParamPicker::new(&name, missing, &self.model);
        self.wizard = Some(Wizard { name, params, picker, ..Wizard::default() });
        self.wizard_hidden = false;
        if self.wizard.as_ref().is_some_and(|w| w.picker.is_none()) {
            self.start_dry_run();
        }
    }

    fn start_dry_run(&mut self) {
        let (Some(w), Some(tx)) = (self.wizard.as_ref(), self.events_tx.clone()) else { return };
        let started =
            crate::runbook::wizard::start(&w.name, w.params.clone(), None, &self.config, self.clock.clone(), tx, Default::default());
        if let Err(e) = started {
            self.wizard = None;
            self.wizard_hidden = true;
            self.view.message = Some(e);
        }
    }

    /// Keys for the parameter picker; `None` when it is not open.
    fn picker_key(&mut self, key: crossterm::event::KeyEvent) -> Option<KeyOutcome> {
        use crate::ui::picker::PickOutcome;
        let w = self.wizard.as_mut()?;
        match w.picker.as_mut()?.on_key(key, &self.model) {
            PickOutcome::Picking => {}
            PickOutcome::Cancelled => {
                self.wizard = None;
                self.wizard_hidden = true;
            }
            PickOutcome::Done(picked) => {
                w.picker = None;
                w.params.extend(picked);
                self.start_dry_run();
            }
        }
        Some(KeyOutcome::Redraw)
    }

    /// Keys while the wizard is shown: picking, typing, Enter runs for real after the preview,
    /// Esc during the real run asks whether to abort it, otherwise hides.
    fn wizard_key(&mut self, key: crossterm::event::KeyEvent) -> Option<KeyOutcome> {
        use crossterm::event::KeyCode;
        if let Some(outcome) = self.picker_key(key) {
            return Some(outcome);
        }
        if self.wizard_hidden || self.model.runbook.is_none() {
            return None;
        }
        // Until the real run's first event arrives the dry run is still on screen: one Enter starts one run.
        let previewed = self.model.runbook.as_ref().is_some_and(|r| r.dry_run && r.outcome.is_some())
            && self.wizard.as_ref().is_some_and(|w| !w.started_real_run);
        let running = self.model.runbook.as_ref().is_some_and(|r| !r.dry_run && r.outcome.is_none());
        if let Some(w) = self.wizard.as_mut().filter(|w| w.started_real_run && running) {
            match (w.abort_asked, key.code) {
                (false, KeyCode::Esc) => w.abort_asked = true,
                (true, KeyCode::Char('y')) => {
                    w.abort_asked = false;
                    w.cancel.cancel();
                    self.view.message = Some("aborting the run at its current step…".into());
                }
                (true, KeyCode::Char('n') | KeyCode::Esc) => w.abort_asked = false,
                (true, KeyCode::Char('h')) => {
                    w.abort_asked = false;
                    self.wizard_hidden = true;
                }
                (_, KeyCode::Char('q')) => return Some(self.confirm_quit(KeyOutcome::Quit)),
                _ => {}
            }
            return Some(KeyOutcome::Redraw);
        }
        match key.code {
            KeyCode::Esc => {
                self.wizard_hidden = true;
                if self.wizard.as_ref().is_some_and(|w| !w.started_real_run) {
                    self.wizard = None;
                }
            }
            KeyCode::Enter if previewed => {
                let (Some(w), Some(tx)) = (self.wizard.as_mut(), self.events_tx.clone()) else { return Some(KeyOutcome::Redraw) };
                w.started_real_run = true;
                let typed = w.typed.clone();
                let cancel = w.cancel.clone();
                if let Err(e) =
                    crate::runbook::wizard::start(&w.name, w.params.clone(), Some(typed), &self.config, self.clock.clone(), tx, cancel)
                {
                    self.view.message = Some(e);
                }
            }
            KeyCode::Backspace => {
                if let Some(w) = self.wizard.as_mut() {
                    w.typed.pop();
                }
            }
            KeyCode::Char(c) if self.wizard.as_ref().is_some_and(|w| !w.started_real_run) => {
                if let Some(w) = self.wizard.as_mut() {
                    w.typed.push(c);
                }
            }
            KeyCode::Char('q') => return Some(self.confirm_quit(KeyOutcome::Quit)),
            _ => {}
        }
        Some(KeyOutcome::Redraw)
    }

    /// Appends a replay note to the annotations file (one JSON line, fsynced); never the recording.
    fn annotate(&self, text: &str) -> String {
        let Some(path) = &self.annotations else { return "no annotations file".into() };
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

fn is_observation(e: &Event) -> bool {
    matches!(e, Event::Observed { .. } | Event::SourceFailed { .. } | Event::SourceAlive { .. })
}

/// Runs the interactive console on the real terminal until the user quits or a signal arrives.
pub async fn run_interactive(mut console: Console) -> anyhow::Result<()> {
    let (tx, mut rx) = unbounded_channel();
    console.timeline = Some(crate::timeline::live::spawn(&console.config, console.clock.clone(), tx.clone()));
    console.events_tx = Some(tx.clone());
    let tasks = crate::sources::spawn_all(&console.config, console.clock.clone(), tx);
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).context("installing SIGTERM handler")?;
    let mut sighup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).context("installing SIGHUP handler")?;
    let mut terminal = crate::terminal::enter()?;
    let mut keys = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let mut dirty = true;
    let result = loop {
        if dirty {
            if let Err(e) = console.draw(&mut terminal) {
                break Err(e);
            }
            dirty = false;
            // Test hook (tests/terminal_restore.rs): prove the panic hook gives the terminal back.
            if std::env::var_os("SITREP_TEST_PANIC").is_some() {
                panic!("SITREP_TEST_PANIC is set: panicking after the first frame, as asked");
            }
        }
        tokio::select! {
            Some(ev) = rx.recv() => dirty |= console.drain(ev, &mut rx),
            key = keys.next() => match key {
                Some(Ok(TermEvent::Key(k))) if k.kind != KeyEventKind::Release => match console.on_key(k) {
                    KeyOutcome::Quit => break Ok(()),
                    KeyOutcome::Redraw => dirty = true,
                    KeyOutcome::Nothing => {}
                },
                Some(Ok(TermEvent::Resize(cols, rows))) => {
                    let _ = terminal.autoresize();
                    if let Some(r) = &console.recorder {
                        r.record(crate::record::Record::Resize { t: r.offset_ms(), cols, rows });
                    }
                    dirty = true;
                }
                Some(Ok(_)) => {}
                // The terminal is gone (SSH dropped): stop quietly.
                Some(Err(_)) | None => break Ok(()),
            },
            _ = tick.tick() => {
                let tick = Event::Tick { at: console.clock.now() };
                let moved = console.model.apply(tick.clone());
                if moved {
                    // Seconds are recorded so a replay shows the same ages and clock as live.
                    console.record_event(&tick);
                    if let Some(r) = &console.recorder {
                        r.flush();
                    }
                }
                dirty |= moved;
            }
            _ = sigterm.recv() => { tracing::info!("SIGTERM: restoring the terminal"); break Ok(()) }
            _ = sighup.recv() => { tracing::info!("SIGHUP: restoring the terminal"); break Ok(()) }
        }
    };
    crate::terminal::leave();
    for t in tasks {
        t.abort();
    }
    console.recorder.take(); // finishes the file
    result
}

/// Runs the console without a terminal for `settle` of live data and returns the last frame.
pub async fn run_headless(mut console: Console, cols: u16, rows: u16, settle: Duration, ansi: bool) -> anyhow::Result<String> {
    let (tx, mut rx) = unbounded_channel();
    let tasks = crate::sources::spawn_all(&console.config, console.clock.clone(), tx);
    let deadline = tokio::time::Instant::now() + settle;
    loop {
        tokio::select! {
            Some(ev) = rx.recv() => { console.drain(ev, &mut rx); }
            _ = tokio::time::sleep_until(deadline) => break,
        }
    }
    for t in tasks {
        t.abort();
    }
    let tick = Event::Tick { at: console.clock.now() };
    console.record_event(&tick);
    console.model.apply(tick);
    let frame = frame_text(&console, cols, rows, ansi);
    console.recorder.take(); // finishes the file
    Ok(frame)
}

/// Renders the console into an off-screen buffer and returns it as text (optionally with colours).
pub fn frame_text(console: &Console, cols: u16, rows: u16, ansi: bool) -> String {
    let mut terminal = match Terminal::new(TestBackend::new(cols, rows)) {
        Ok(t) => t,
        Err(e) => return format!("cannot create an off-screen terminal: {e}"),
    };
    if let Err(e) = console.draw(&mut terminal) {
        return e.to_string();
    }
    crate::terminal::buffer_text(terminal.backend().buffer(), ansi)
}
