//! An off-screen console (mono theme) that has seen one kube observation a second before `now`:
//! shared by the kube pane's view tests.

use chrono::{DateTime, Duration, Utc};
use sitrep::app::Console;
use sitrep::clock::Clock;
use sitrep::config::Config;
use sitrep::model::{Event, Observation, PodsSnapshot};

pub fn kube_console(snap: PodsSnapshot, now: DateTime<Utc>) -> Console {
    let mut config = Config::default();
    config.general.theme = "mono".into();
    let mut c = Console::new(config, "sitrep-lab · shop".into(), Clock::virtual_at(now)).expect("console");
    c.model.apply(Event::Observed { at: now - Duration::seconds(1), observation: Observation::Pods(snap) });
    c.model.apply(Event::Tick { at: now });
    c
}
