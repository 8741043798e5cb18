//! The parameter picker of `:run NAME`: for each required parameter not given, the choices the
//! live state offers (j/k, Enter picks, Esc cancels), or a line to type it when there are none.

use super::theme::Theme;
use crate::model::Model;
use crate::runbook::choices::{Choice, choices_for, why_none};
use crate::runbook::spec::ParamSpec;
use crate::runbook::template::Vars;
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use std::collections::VecDeque;

/// Choosing the missing parameters of one runbook, one at a time.
#[derive(Debug, Clone)]
pub struct ParamPicker {
    runbook: String,
    /// The parameters still to choose, the one on screen first.
    todo: VecDeque<ParamSpec>,
    total: usize,
    choices: Vec<Choice>,
    selected: usize,
    /// Typing instead of choosing: why (no choices, or Tab), and the text so far.
    typing: Option<(String, String)>,
    /// The values `:run` gave: they narrow the choices (the pods of the given deployment).
    given: Vars,
    picked: Vars,
}

/// What a key did to the picker.
#[derive(Debug, Clone, PartialEq)]
pub enum PickOutcome {
    Picking,
    /// Every parameter has a value.
    Done(Vars),
    Cancelled,
}

impl ParamPicker {
    /// `None` when there is nothing to choose. `given` are the values `:run` gave.
    pub fn new(runbook: &str, missing: Vec<ParamSpec>, given: &Vars, model: &Model) -> Option<ParamPicker> {
        let total = missing.len();
        let mut picker = ParamPicker {
            runbook: runbook.to_string(),
            todo: missing.into(),
            total,
            choices: Vec::new(),
            selected: 0,
            typing: None,
            given: given.clone(),
            picked: Vars::new(),
        };
        picker.load(model)?;
        Some(picker)
    }

    /// Reads the choices for the parameter now on screen. A parameter with a default (one that
    /// says `ask`) lists the live choices, then the default; with no live choice it keeps its
    /// default and is not asked.
    fn load(&mut self, model: &Model) -> Option<()> {
        loop {
            let param = self.todo.front()?;
            self.selected = 0;
            let mut known = self.given.clone();
            known.extend(self.picked.clone());
            let found = param.from.map(|source| (source, choices_for(model, source, &known)));
            if let Some(default) = &param.default {
                match found {
                    Some((_, mut found)) if !found.is_empty() => {
                        found.push(Choice::new(default, "the default (see above)".into()));
                        (self.choices, self.typing) = (found, None);
                        return Some(());
                    }
                    _ => {
                        self.todo.pop_front();
                        continue;
                    }
                }
            }
            (self.choices, self.typing) = match found {
                Some((source, found)) => {
                    let typing = found.is_empty().then(|| (why_none(model, source), String::new()));
                    (found, typing)
                }
                None => (Vec::new(), Some(("it has no list of choices".into(), String::new()))),
            };
            return Some(());
        }
    }

    fn pick(&mut self, value: String, model: &Model) -> PickOutcome {
        if let Some(param) = self.todo.pop_front() {
            self.picked.insert(param.name, value);
        }
        match self.load(model) {
            Some(()) => PickOutcome::Picking,
            None => PickOutcome::Done(std::mem::take(&mut self.picked)),
        }
    }

    /// `model` gives the next parameter's choices once one is picked.
    pub fn on_key(&mut self, key: KeyEvent, model: &Model) -> PickOutcome {
        if key.code == KeyCode::Esc {
            return PickOutcome::Cancelled;
        }
        if let Some((_, typed)) = self.typing.as_mut() {
            match key.code {
                KeyCode::Enter if !typed.trim().is_empty() => {
                    let value = typed.trim().to_string();
                    return self.pick(value, model);
                }
                KeyCode::Tab if !self.choices.is_empty() => self.typing = None,
                KeyCode::Backspace => {
                    typed.pop();
                }
                KeyCode::Char(c) => typed.push(c),
                _ => {}
            }
            return PickOutcome::Picking;
        }
        match key.code {
            KeyCode::Char('j') | KeyCode::Down => self.selected = (self.selected + 1).min(self.choices.len().saturating_sub(1)),
            KeyCode::Char('k') | KeyCode::Up => self.selected = self.selected.saturating_sub(1),
            KeyCode::Tab => self.typing = Some(("a value not in the list".into(), String::new())),
            KeyCode::Enter => {
                if let Some(choice) = self.choices.get(self.selected) {
                    let value = choice.value.clone();
                    return self.pick(value, model);
                }
            }
            _ => {}
        }
        PickOutcome::Picking
    }

    pub fn draw(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        let Some(param) = self.todo.front() else { return };
        let rect = super::toolkit::centered(area, area.width.saturating_sub(2).min(90), area.height.saturating_sub(2).min(30));
        let step = self.total - self.todo.len() + 1;
        let from = param.from.map(|s| format!(" from the live {}", s.name())).unwrap_or_default();
        let mut lines = vec![
            Line::from(vec![Span::styled(format!("{}: ", param.name), theme.accent), Span::styled(param.description.clone(), theme.text)]),
            Line::from(""),
        ];
        match &self.typing {
            Some((why, typed)) => {
                lines.push(Line::from(Span::styled(format!("No list: {why}."), theme.warn)));
                lines.push(Line::from(Span::styled(format!("Type the {}, then Enter. Esc cancels.", param.name), theme.text)));
                lines.push(Line::from(vec![Span::styled("> ", theme.accent), Span::raw(typed.clone()), Span::styled("▏", theme.accent)]));
            }
            None => {
                // Room for the choices: the frame, the two header lines and the key line.
                let room = usize::from(rect.height.saturating_sub(5)).max(1);
                let first = self.selected.saturating_sub(room - 1);
                let width = self.choices.iter().map(|c| c.value.chars().count()).max().unwrap_or(0).min(40);
                for (i, c) in self.choices.iter().enumerate().skip(first).take(room) {
                    let (mark, style) = if i == self.selected { ("▶ ", theme.focus) } else { ("  ", theme.text) };
                    lines.push(Line::from(vec![
                        Span::styled(format!("{mark}{:<width$}  ", c.value), style),
                        Span::styled(c.label.clone(), theme.muted),
                    ]));
                }
                lines.push(Line::from(Span::styled("j/k move · Enter picks · Tab types another value · Esc cancels", theme.muted)));
            }
        }
        let title = format!(" runbook {} · choose {} ({step} of {}){from} ", self.runbook, param.name, self.total);
        crate::ui::toolkit::overlay(f, rect, title, lines, false, theme);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DeploymentRow, Event, Observation, PodsSnapshot};
    use crate::runbook::spec::ParamSource;
    use crossterm::event::KeyModifiers;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn param(name: &str, from: Option<ParamSource>) -> ParamSpec {
        ParamSpec { name: name.into(), description: format!("the {name}"), from, default: None, ask: false }
    }

    fn with_deployments(names: &[&str]) -> Model {
        let mut m = Model::default();
        let deployments = names.iter().map(|n| DeploymentRow { name: n.to_string(), ..DeploymentRow::default() }).collect();
        let snap = PodsSnapshot { deployments, ..PodsSnapshot::default() };
        m.apply(Event::Observed { at: chrono::DateTime::default(), observation: Observation::Pods(snap) });
        m
    }

    #[test]
    fn j_and_enter_pick_then_a_param_without_choices_is_typed() {
        let m = with_deployments(&["api", "web"]);
        let params = vec![param("deployment", Some(ParamSource::Deployments)), param("candidate", Some(ParamSource::PatroniMembers))];
        let mut p = ParamPicker::new("scale", params, &Vars::new(), &m).expect("something to pick");
        p.on_key(key(KeyCode::Char('j')), &m);
        p.on_key(key(KeyCode::Down), &m);
        assert_eq!(p.on_key(key(KeyCode::Enter), &m), PickOutcome::Picking);
        assert!(p.typing.as_ref().is_some_and(|(why, _)| why.contains("still waiting")), "{:?}", p.typing);
        assert_eq!(p.on_key(key(KeyCode::Enter), &m), PickOutcome::Picking, "an empty value is not taken");
        for c in "pg-2".chars() {
            p.on_key(key(KeyCode::Char(c)), &m);
        }
        let done = p.on_key(key(KeyCode::Enter), &m);
        let expected: Vars =
            [("deployment".to_string(), "web".to_string()), ("candidate".to_string(), "pg-2".to_string())].into_iter().collect();
        assert_eq!(done, PickOutcome::Done(expected));
    }

    #[test]
    fn a_param_that_asks_offers_the_pods_of_the_chosen_deployment_before_its_default() {
        let mut m = with_deployments(&["api", "web"]);
        let pod = |name: &str, reason: Option<&str>| crate::model::PodRow {
            name: name.into(),
            phase: "Running".into(),
            ready: u32::from(reason.is_none()),
            containers: 1,
            reason: reason.map(Into::into),
            ..crate::model::PodRow::default()
        };
        if let Some(p) = m.pods.as_mut() {
            p.pods = vec![pod("api-7d9c-a", None), pod("api-5b8f-b", Some("CrashLoopBackOff")), pod("web-55f6-c", None)];
        }
        let mut pods = param("pod", Some(ParamSource::Pods));
        (pods.default, pods.ask) = (Some("all".into()), true);
        let mut p = ParamPicker::new("restart-pods", vec![param("deployment", Some(ParamSource::Deployments)), pods], &Vars::new(), &m)
            .expect("to pick");
        assert_eq!(p.on_key(key(KeyCode::Enter), &m), PickOutcome::Picking, "api picked");
        let offered: Vec<&str> = p.choices.iter().map(|c| c.value.as_str()).collect();
        assert_eq!(offered, ["api-5b8f-b", "api-7d9c-a", "all"], "api's pods, the crash-looping one first, `all` last");
        let done = p.on_key(key(KeyCode::Enter), &m);
        let expected: Vars = [("deployment".to_string(), "api".to_string()), ("pod".to_string(), "api-5b8f-b".to_string())].into();
        assert_eq!(done, PickOutcome::Done(expected));
        // With no live choice the default holds and nothing is asked.
        let mut revision = param("revision", Some(ParamSource::Revisions));
        (revision.default, revision.ask) = (Some("previous".into()), true);
        assert!(ParamPicker::new("rollback", vec![revision], &Vars::new(), &m).is_none());
    }

    #[test]
    fn esc_cancels_and_k_stops_at_the_top() {
        let m = with_deployments(&["api", "web"]);
        let mut p =
            ParamPicker::new("scale", vec![param("deployment", Some(ParamSource::Deployments))], &Vars::new(), &m).expect("to pick");
        p.on_key(key(KeyCode::Char('k')), &m);
        assert_eq!(p.selected, 0);
        assert_eq!(p.on_key(key(KeyCode::Esc), &m), PickOutcome::Cancelled);
        assert!(ParamPicker::new("scale", vec![], &Vars::new(), &m).is_none());
    }
}
