//! The console loop: select! over keys, collector events and a render tick; redraw only on change.
//! Owns the Model and view state; restores the terminal on quit, panic, SIGTERM and SIGHUP.

use crate::clock::Clock;
use crate::config::Config;
use crate::model::{Event, Model};
use crate::ui::command::Scope;
use crate::ui::keymap::HelpRow;
use crate::ui::layout::View;
use crate::ui::overlay::{Overlay, Overlays, WizardStage};
use crate::ui::panes::PaneCtx;
use crate::ui::theme::Theme;
use crate::ui::{KeyOutcome, Screen, ViewState, render};
use anyhow::Context;
use crossterm::event::{Event as TermEvent, EventStream, KeyEventKind};
use futures::StreamExt;
use ratatui::backend::{Backend, TestBackend};
use ratatui::{Frame, Terminal};
use std::time::Duration;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tokio_util::sync::CancellationToken;

mod keys;
mod logs;

/// What the console draws with besides live data: fixed once the console starts.
struct Settings {
    config: Config,
    theme: Theme,
    views: Vec<View>,
    banner: String,
    /// Live console or replay: which keys and commands the help lists.
    scope: Scope,
    /// A frontend's own keys (the replay's), listed first in the help.
    extra_help: Vec<HelpRow>,
}

/// The threads and files the console talks to. All absent in a headless frame or a test.
#[derive(Default)]
struct Services {
    /// The timeline writer thread (interactive consoles only: a headless frame writes nothing).
    timeline: Option<std::sync::mpsc::Sender<crate::timeline::live::TimelineRequest>>,
    /// Records events and keys as they happen (`--record`, `record = true`).
    recorder: Option<crate::record::Recorder>,
    /// In replay: notes go to this file beside the recording, never into it.
    annotations: Option<std::path::PathBuf>,
    /// Starts the runs the wizard asks for (interactive consoles, and tests that answer for the runner).
    start_run: Option<RunStarter>,
    /// Aborts the real run started from this console at its current step.
    run_cancel: Option<CancellationToken>,
    /// Where the console's own tasks (the logs stream) send their events (interactive consoles).
    events: Option<tokio::sync::mpsc::UnboundedSender<Event>>,
    /// The logs view's stream, while the view is open; dropping it stops the stream.
    log_follow: Option<crate::sources::logs::LogFollow>,
    /// Gets a copy of every finding the detector makes (the lab's soak checks them).
    findings: Option<tokio::sync::mpsc::UnboundedSender<crate::detect::Detection>>,
    /// Tells the polled collectors which sources alarm, so the calm ones slow down.
    urgency: Option<tokio::sync::watch::Sender<std::collections::BTreeSet<crate::model::SourceId>>>,
}

/// A run the wizard asks for: the dry run (`typed` is None) or the real run with the text typed.
#[derive(Debug, Clone)]
pub struct RunRequest {
    pub name: String,
    pub params: crate::runbook::template::Vars,
    pub typed: Option<String>,
    /// Aborts the run at its current step (the wizard's `y` after Esc).
    pub cancel: CancellationToken,
}

/// How the wizard's runs start. The console's starts each on its own thread, whose events come
/// back through the app loop (`set_events`); a test's keeps the request and answers with the
/// events a runner sends, so the keys are exercised without touching an estate.
pub type RunStarter = Box<dyn FnMut(RunRequest) -> Result<(), String> + Send>;

/// The console: settings, the Model with its detector, what is looked at, the overlays, services.
pub struct Console {
    settings: Settings,
    pub clock: Clock,
    pub model: Model,
    /// Turns Model transitions into timeline entries.
    detector: crate::detect::Detector,
    pub view: ViewState,
    overlays: Overlays,
    services: Services,
}

impl Console {
    pub fn new(config: Config, banner: String, clock: Clock) -> anyhow::Result<Console> {
        let theme = Theme::load(&config.general.theme).map_err(|p| anyhow::anyhow!(crate::config::ConfigError::Invalid(p)))?;
        let views = crate::ui::layout::load_views();
        anyhow::ensure!(!views.is_empty(), "no usable view in views/; run `sitrep check`");
        let mut model = Model::new(chrono::Duration::seconds(config.general.refresh_secs.max(1) as i64));
        model.source_refresh = config.refreshes().into_iter().filter_map(|(s, d)| Some((s, chrono::Duration::from_std(d).ok()?))).collect();
        let detector = crate::detect::Detector::new(&config.thresholds);
        let view = ViewState { runbook_names: crate::runbook::load_all().into_iter().map(|f| f.name).collect(), ..ViewState::default() };
        Ok(Console {
            settings: Settings { config, theme, views, banner, scope: Scope::Live, extra_help: Vec::new() },
            clock,
            model,
            detector,
            view,
            overlays: Overlays::default(),
            services: Services::default(),
        })
    }

    pub fn config(&self) -> &Config {
        &self.settings.config
    }

    pub fn banner(&self) -> &str {
        &self.settings.banner
    }

    pub fn theme(&self) -> &Theme {
        &self.settings.theme
    }

    /// Makes this a replay's console: notes go to `annotations`, the help lists `keys` and the
    /// replay's commands instead of the live-only ones.
    pub fn set_replay(&mut self, annotations: std::path::PathBuf, keys: Vec<HelpRow>) {
        self.services.annotations = Some(annotations);
        self.settings.scope = Scope::Replay;
        self.settings.extra_help = keys;
    }

    /// Records the session from now on.
    pub fn set_recorder(&mut self, recorder: crate::record::Recorder) {
        self.services.recorder = Some(recorder);
    }

    pub fn recorder(&self) -> Option<&crate::record::Recorder> {
        self.services.recorder.as_ref()
    }

    /// Finishes the recording file (the writer flushes and closes on drop).
    pub fn finish_recording(&mut self) {
        self.services.recorder.take();
    }

    /// Where runbook threads send their events: runbooks can run from now on, each on its thread.
    pub fn set_events(&mut self, tx: tokio::sync::mpsc::UnboundedSender<Event>) {
        self.services.events = Some(tx.clone());
        let (config, clock) = (self.settings.config.clone(), self.clock.clone());
        self.set_run_starter(Box::new(move |run: RunRequest| {
            crate::runbook::wizard::start(&run.name, run.params, run.typed, &config, clock.clone(), tx.clone(), run.cancel)
        }));
    }

    /// Runbooks can run from now on, started by `starter`.
    pub fn set_run_starter(&mut self, starter: RunStarter) {
        self.services.start_run = Some(starter);
    }

    /// Every finding of the detector goes to `tx` too, as it is made.
    pub fn tap_findings(&mut self, tx: tokio::sync::mpsc::UnboundedSender<crate::detect::Detection>) {
        self.services.findings = Some(tx);
    }

    /// Opens `overlay` on top of the others.
    pub fn open(&mut self, overlay: Overlay) {
        self.overlays.push(overlay);
    }

    /// Whether anything lies over the panes (the replay keeps its keys for the free view).
    pub fn has_overlay(&self) -> bool {
        !self.overlays.is_empty()
    }

    /// The runbook wizard or its parameter picker, when open.
    pub fn wizard(&self) -> Option<&Overlay> {
        self.overlays.wizard()
    }

    /// The Model's runbook is the real run started from this console: shows it and returns the
    /// token that aborts it.
    fn show_real_run(&mut self) -> CancellationToken {
        let cancel = CancellationToken::new();
        self.services.run_cancel = Some(cancel.clone());
        self.view.wizard_scroll = 0;
        self.overlays.close_wizard();
        self.overlays.push(Overlay::Wizard(WizardStage::Watching));
        cancel
    }

    /// The abort token of the real run started from this console, if one was.
    pub fn run_cancel(&self) -> Option<&CancellationToken> {
        self.services.run_cancel.as_ref()
    }

    /// What the focused pane is drawn with now: the console's keys read the selection through it.
    fn pane_ctx(&self) -> PaneCtx<'_> {
        let s = &self.settings;
        let now = self.model.now.unwrap_or_else(|| self.clock.now());
        PaneCtx { model: &self.model, view: &self.view, theme: &s.theme, thresholds: &s.config.thresholds, now, focused: true }
    }

    /// Draws the frame: panes and bars, then the overlays.
    pub fn draw_frame(&self, f: &mut Frame) {
        let now = self.model.now.unwrap_or_else(|| self.clock.now());
        let s = &self.settings;
        let screen = Screen {
            theme: &s.theme,
            views: &s.views,
            view_name: &s.config.general.view,
            thresholds: &s.config.thresholds,
            banner: &s.banner,
        };
        render(f, &self.model, &self.view, &screen, now);
        let ctx = PaneCtx { model: &self.model, view: &self.view, theme: &s.theme, thresholds: &s.config.thresholds, now, focused: true };
        self.overlays.draw(f, &ctx, &crate::ui::keymap::help(&s.extra_help, s.scope));
    }

    pub fn draw<B: Backend>(&self, terminal: &mut Terminal<B>) -> anyhow::Result<()> {
        terminal.draw(|f| self.draw_frame(f)).map_err(|e| anyhow::anyhow!("drawing: {e}"))?;
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

    /// Applies one event to the Model. A run that starts shows in the wizard, under whatever is
    /// open: a replay shows the recorded runs as they happened.
    pub fn apply(&mut self, event: Event) -> bool {
        let started = matches!(event, Event::RunbookStarted { .. });
        self.follow_logs_view(&event);
        let changed = self.model.apply(event);
        if started && self.overlays.wizard().is_none() {
            self.overlays.push_under(Overlay::Wizard(WizardStage::Watching));
        }
        changed
    }

    /// The one way live events reach the Model: recorded, applied, then run past the detector.
    pub fn feed(&mut self, events: Vec<Event>) -> bool {
        let mut observed = false;
        // A run starting or ending changes which sources must keep their full pace, not what the
        // sources say: the pace is published again, the detector has nothing new to look at.
        let mut run_edge = false;
        let mut changed = false;
        for ev in events {
            observed |= is_observation(&ev);
            run_edge |= matches!(ev, Event::RunbookStarted { .. } | Event::RunbookFinished { .. });
            self.record_event(&ev);
            changed |= self.apply(ev);
        }
        if observed {
            for d in self.detector.observe(&self.model) {
                if let Some(tap) = &self.services.findings {
                    let _ = tap.send(d.clone());
                }
                match &self.services.timeline {
                    Some(tx) => {
                        let _ = tx.send(crate::timeline::live::TimelineRequest::Detected(d));
                    }
                    // Headless: findings are shown (and recorded) but nothing is written to a store.
                    None => {
                        let line = crate::model::TimelineLine::unsaved(
                            d.at,
                            crate::timeline::EntryKind::from(&d).describe(),
                            crate::model::EntryClass::Detected,
                        );
                        let event = Event::TimelineAppended { line };
                        self.record_event(&event);
                        changed |= self.model.apply(event);
                    }
                }
            }
        }
        if observed || run_edge {
            self.publish_urgency();
        }
        changed
    }

    /// A tick of the clock: a source can turn stale with no event of its own.
    fn tick(&mut self, at: chrono::DateTime<chrono::Utc>) -> bool {
        let tick = Event::Tick { at };
        let moved = self.model.apply(tick.clone());
        if moved {
            // Seconds are recorded so a replay shows the same ages and clock as live.
            self.record_event(&tick);
            self.publish_urgency();
        }
        moved
    }

    /// Which sources must be read at their full pace: those whose data alarms, that fail or are
    /// stale, and every source while a real runbook runs (its checks read the same systems).
    fn publish_urgency(&self) {
        let Some(tx) = &self.services.urgency else { return };
        let model = &self.model;
        let now = model.now.unwrap_or_else(chrono::Utc::now);
        let running = model.runbook.as_ref().is_some_and(|r| !r.dry_run && r.outcome.is_none());
        let thresholds = &self.settings.config.thresholds;
        let urgent: std::collections::BTreeSet<crate::model::SourceId> = crate::model::SourceId::ALL
            .into_iter()
            .filter(|&s| {
                running
                    || matches!(model.health(s), crate::model::Health::Failing { .. } | crate::model::Health::Stale { .. })
                    || crate::model::verdict::source(model, thresholds, s, now).is_some_and(|l| l.is_alarm())
            })
            .collect();
        tx.send_if_modified(|have| {
            let changed = *have != urgent;
            *have = urgent;
            changed
        });
    }

    pub fn record_event(&self, event: &Event) {
        if let Some(r) = &self.services.recorder {
            r.record(crate::record::Record::Event { t: r.offset_ms(), event: event.clone() });
        }
    }
}

fn is_observation(e: &Event) -> bool {
    matches!(e, Event::Observed { .. } | Event::SourceFailed { .. } | Event::SourceAlive { .. })
}

/// Starts the collectors, paced by what this console judges urgent.
fn spawn_paced(console: &mut Console, tx: tokio::sync::mpsc::UnboundedSender<Event>) -> Vec<tokio::task::JoinHandle<()>> {
    let (urgency, paced) = crate::sources::Urgency::channel();
    console.services.urgency = Some(urgency);
    console.publish_urgency();
    crate::sources::spawn_all_paced(console.config(), console.clock.clone(), tx, paced)
}

/// Runs the interactive console on the real terminal until the user quits or a signal arrives.
pub async fn run_interactive(mut console: Console) -> anyhow::Result<()> {
    let (tx, mut rx) = unbounded_channel();
    console.services.timeline = Some(crate::timeline::live::spawn(console.config(), console.clock.clone(), tx.clone()));
    console.set_events(tx.clone());
    let tasks = spawn_paced(&mut console, tx);
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
            if console.settings.config.panic_after_first_frame {
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
                    if let Some(r) = console.recorder() {
                        r.record(crate::record::Record::Resize { t: r.offset_ms(), cols, rows });
                    }
                    dirty = true;
                }
                Some(Ok(_)) => {}
                // The terminal is gone (SSH dropped): stop quietly.
                Some(Err(_)) | None => break Ok(()),
            },
            _ = tick.tick() => {
                let moved = console.tick(console.clock.now());
                if moved && let Some(r) = console.recorder() {
                    r.flush();
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
    console.finish_recording();
    result
}

/// One frame of a driven headless console, as its watcher sees it.
pub struct HeadlessFrame<'a> {
    pub console: &'a Console,
    pub buffer: &'a ratatui::buffer::Buffer,
    /// The key this frame answers and when it was sent, when a key caused it.
    pub key: Option<(crossterm::event::KeyEvent, std::time::Instant)>,
}

/// A key for a driven headless console, with the moment it was sent (for key→frame latency).
pub type SentKey = (crossterm::event::KeyEvent, std::time::Instant);

/// Runs the console without a terminal on live data: collector events as they come, the keys
/// of `keys`, a frame drawn off-screen after each key and every `every`, each given to `watch`
/// until it says stop. The lab's soak drives the real console this way; `run_headless` too.
pub async fn run_headless_driven(
    mut console: Console,
    (cols, rows): (u16, u16),
    every: Duration,
    mut keys: UnboundedReceiver<SentKey>,
    mut watch: impl FnMut(HeadlessFrame<'_>) -> std::ops::ControlFlow<()>,
) -> anyhow::Result<Console> {
    let (tx, mut rx) = unbounded_channel();
    let tasks = spawn_paced(&mut console, tx);
    let mut terminal = Terminal::new(TestBackend::new(cols, rows)).map_err(|e| anyhow::anyhow!("off-screen terminal: {e}"))?;
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    loop {
        let key = tokio::select! {
            Some(ev) = rx.recv() => { console.drain(ev, &mut rx); continue }
            Some(sent) = keys.recv() => {
                if console.on_key(sent.0) == KeyOutcome::Quit {
                    break;
                }
                Some(sent)
            }
            _ = tick.tick() => {
                console.tick(console.clock.now());
                None
            }
        };
        console.draw(&mut terminal)?;
        if watch(HeadlessFrame { console: &console, buffer: terminal.backend().buffer(), key }).is_break() {
            break;
        }
    }
    for t in tasks {
        t.abort();
    }
    Ok(console)
}

/// Runs the console without a terminal for `settle` of live data and returns the last frame.
pub async fn run_headless(console: Console, cols: u16, rows: u16, settle: Duration, ansi: bool) -> anyhow::Result<String> {
    let (_no_keys, keys) = unbounded_channel();
    let deadline = std::time::Instant::now() + settle;
    let every = settle.clamp(Duration::from_millis(10), Duration::from_millis(250));
    let done = |_: HeadlessFrame<'_>| {
        if std::time::Instant::now() >= deadline { std::ops::ControlFlow::Break(()) } else { std::ops::ControlFlow::Continue(()) }
    };
    let mut console = run_headless_driven(console, (cols, rows), every, keys, done).await?;
    let tick = Event::Tick { at: console.clock.now() };
    console.record_event(&tick);
    console.model.apply(tick);
    let frame = frame_text(&console, cols, rows, ansi);
    console.finish_recording();
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
