//! The logs view's life in the console: `l` opens it on the selected pod and starts its stream,
//! `p` switches run, esc closes it and stops the stream. The lines reach the view through Events.

use super::Console;
use crate::model::{Event, LogTarget, LogsEvent, SourceId};
use crate::ui::KeyOutcome;
use crate::ui::logs::{LogsOutcome, LogsPane};
use crate::ui::overlay::Overlay;
use crossterm::event::KeyEvent;

impl Console {
    /// `l` on the pods pane: the selected pod's logs.
    pub(super) fn open_logs(&mut self) -> KeyOutcome {
        let Some(pod) = crate::ui::panes::pods::selected_pod(&self.pane_ctx()).map(|p| LogTarget::pod(&p.namespace, &p.name)) else {
            self.view.message = Some("no pod selected: the logs view reads the selected pod's".into());
            return KeyOutcome::Redraw;
        };
        self.overlays.push(Overlay::Logs(Box::default()));
        // A replay shows the logs that were viewed, as recorded; it reads nothing itself.
        if self.settings.scope != crate::ui::command::Scope::Replay {
            self.show_logs(pod);
        }
        KeyOutcome::Redraw
    }

    /// Shows `target`'s log from its last lines: told to the Model (so it is recorded), then read
    /// by a stream of its own (interactive consoles; a test or a replay has none).
    fn show_logs(&mut self, target: LogTarget) {
        self.services.log_follow = None;
        self.feed(vec![Event::Logs(LogsEvent::Opened { at: self.clock.now(), target: target.clone() })]);
        if let Some(tx) = &self.services.events
            && self.settings.config.source_enabled(SourceId::Pods)
        {
            let (config, timeout) = (self.settings.config.kube.clone(), self.settings.config.timing_of(SourceId::Pods).timeout);
            self.services.log_follow = Some(crate::sources::logs::start(config, timeout, target, self.clock.clone(), tx.clone()));
        }
    }

    /// Stops the stream and closes the view in the Model.
    fn close_logs(&mut self) {
        self.services.log_follow = None;
        self.feed(vec![Event::Logs(LogsEvent::Closed)]);
    }

    /// A key while the logs view is on top.
    pub(super) fn logs_key(&mut self, mut pane: Box<LogsPane>, key: KeyEvent) -> KeyOutcome {
        self.view.message = None;
        match pane.on_key(key, self.model.logs.as_ref()) {
            LogsOutcome::Close => {
                self.close_logs();
                return KeyOutcome::Redraw;
            }
            LogsOutcome::TogglePrevious if self.settings.scope == crate::ui::command::Scope::Replay => {
                self.view.message = Some("a replay shows the logs that were viewed; it reads no other run".into());
            }
            LogsOutcome::TogglePrevious => {
                if let Some(current) = self.model.logs.as_ref().map(|v| v.target.clone()) {
                    self.show_logs(LogTarget { previous: !current.previous, ..current });
                }
            }
            LogsOutcome::Stay(outcome) => {
                self.overlays.push(Overlay::Logs(pane));
                return outcome;
            }
        }
        self.overlays.push(Overlay::Logs(pane));
        KeyOutcome::Redraw
    }

    /// A recorded logs view (a replay) opens and closes as it did live.
    pub(super) fn follow_logs_view(&mut self, event: &Event) {
        match event {
            Event::Logs(LogsEvent::Opened { .. }) if !self.overlays.has_logs() => self.overlays.push_under(Overlay::Logs(Box::default())),
            Event::Logs(LogsEvent::Closed) => self.overlays.close_logs(),
            _ => {}
        }
    }
}
