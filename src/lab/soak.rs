//! `sitrep lab soak`: a fresh lab, the real console headless on it (collectors → Model → detector
//! → frames), seeded random faults and hostile input, and an oracle asking the real systems.
//! Every ~1 s the console's fresh claims are held against the oracle; the report says what held.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use rand::{Rng, SeedableRng};

use super::oracle::{self, Claim, Oracle, Truth, Verdict};
use super::soak_faults::{self, Journal};
use super::soak_report::{FaultLine, SoakReport, Violation};
use super::{Lab, LabOptions};
use crate::app::{Console, HeadlessFrame};
use crate::config::Config;
use crate::detect::Detection;
use crate::model::{Health, SourceId};

/// What `sitrep lab soak` was asked.
#[derive(Debug, Clone, Default)]
pub struct SoakOptions {
    pub minutes: u64,
    pub seed: Option<u64>,
    pub report: Option<PathBuf>,
    pub dir: Option<PathBuf>,
}

/// The frame size the soak renders at.
const FRAME: (u16, u16) = (160, 48);
/// A key unanswered this long means the console froze.
const FROZEN: Duration = Duration::from_secs(5);
/// Time after the last heal for recoveries to land before the soak ends.
const COOL_DOWN: Duration = Duration::from_secs(20);

/// Runs a soak on a fresh lab and writes its report; Err only when it could not run at all.
pub fn run(opts: &SoakOptions) -> anyhow::Result<SoakReport> {
    let seed = opts.seed.unwrap_or_else(rand::random);
    println!("soak: seed {seed} ({} min); reproduce with `sitrep lab soak --minutes {} --seed {seed}`", opts.minutes, opts.minutes);
    let lab = Lab::up(LabOptions { dir: opts.dir.clone(), scenario: None, owner_pid: Some(std::process::id()) })?;
    println!("soak: lab ready in {}", lab.dir.display());
    let rt = crate::console::runtime()?;
    let result = rt.block_on(soak(&lab, seed, Duration::from_secs(opts.minutes * 60)));
    drop(rt);
    if let Err(e) = lab.down() {
        eprintln!("soak: lab down: {e}");
    }
    let report = result?;
    let path = match &opts.report {
        Some(p) => p.clone(),
        None if opts.dir.is_some() => lab.dir.join("soak-report.json"),
        None => std::env::temp_dir().join(format!("sitrep-soak-{seed}.json")),
    };
    report.write(&path)?;
    println!("{}", report.text());
    println!("soak: report in {} and {}", path.display(), path.with_extension("txt").display());
    Ok(report)
}

async fn soak(lab: &Lab, seed: u64, length: Duration) -> anyhow::Result<SoakReport> {
    let env = crate::config::Env::from_process();
    let config = crate::config::resolve(Some(&lab.config_path()), &env, &crate::config::Overrides::default())
        .with_context(|| format!("the lab's {}", lab.config_path().display()))?;
    let plan = soak_faults::plan(seed, &config, length);
    let start = Instant::now();
    let journal = Arc::new(Mutex::new(Journal::default()));
    let truths = Arc::new(Mutex::new(Vec::<Truth>::new()));
    let stop = tokio_util::sync::CancellationToken::new();

    let mut ask = Oracle::new(config.clone());
    let (t, s) = (truths.clone(), stop.clone());
    let oracle_task = tokio::spawn(async move {
        while !s.is_cancelled() {
            let round = ask.ask().await;
            t.lock().unwrap_or_else(|p| p.into_inner()).push(round);
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
    let injector = tokio::spawn(soak_faults::inject(lab.clone(), config.clone(), plan.clone(), start, journal.clone()));
    let (keys_tx, keys_rx) = tokio::sync::mpsc::unbounded_channel();
    let s = stop.clone();
    let keys_task = tokio::spawn(async move {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ 0x6b65_7973);
        while !s.is_cancelled() {
            tokio::time::sleep(Duration::from_millis(rng.random_range(700..1500))).await;
            for key in GESTURES[rng.random_range(0..GESTURES.len())] {
                let _ = keys_tx.send((KeyEvent::new(*key, KeyModifiers::NONE), Instant::now()));
            }
        }
    });

    let (found_tx, found_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut console = Console::new(config.clone(), crate::console::banner(&config), crate::clock::Clock::Real)?;
    console.tap_findings(found_tx);
    let mut watch = Watcher::new(&config, journal.clone(), truths.clone(), found_rx);
    let end = plan.last().map_or(length, |e| e.at + e.hold + COOL_DOWN).max(length);
    crate::app::run_headless_driven(console, FRAME, Duration::from_secs(1), keys_rx, |f| {
        watch.frame(f);
        let done = journal.lock().unwrap_or_else(|p| p.into_inner()).done;
        if (done || plan.is_empty()) && start.elapsed() >= end { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
    })
    .await?;
    stop.cancel();
    keys_task.abort();
    let _ = injector.await;
    let _ = oracle_task.await;
    let truths = truths.lock().unwrap_or_else(|p| p.into_inner()).clone();
    watch.judge_pending(&truths, true);
    let journal = journal.lock().unwrap_or_else(|p| p.into_inner());
    Ok(watch.report(seed, length, start, &config, &journal, truths.len()))
}

/// Key gestures the soak sends, each leaving the console as it found it.
const GESTURES: &[&[KeyCode]] = &[
    &[KeyCode::Char('1')],
    &[KeyCode::Char('2')],
    &[KeyCode::Char('3')],
    &[KeyCode::Char('4')],
    &[KeyCode::Char('5')],
    &[KeyCode::Char('j')],
    &[KeyCode::Char('k')],
    &[KeyCode::Enter, KeyCode::Esc],
    &[KeyCode::Char('t'), KeyCode::Char('t')],
    &[KeyCode::Char('?'), KeyCode::Esc],
    &[KeyCode::Char('1'), KeyCode::Enter, KeyCode::Char('j'), KeyCode::Esc],
];

/// A claim waiting for the oracle's rounds around it.
struct Pending {
    claim: Claim,
    at: chrono::DateTime<Utc>,
    wall: Instant,
    window: chrono::Duration,
}

/// Watches every frame: scans it, measures keys, collects claims and findings.
struct Watcher {
    journal: Arc<Mutex<Journal>>,
    truths: Arc<Mutex<Vec<Truth>>>,
    found_rx: tokio::sync::mpsc::UnboundedReceiver<Detection>,
    found: Vec<(Instant, Detection)>,
    windows: BTreeMap<SourceId, chrono::Duration>,
    timeout: Duration,
    pending: Vec<Pending>,
    last_claims: Option<Instant>,
    pub checks: BTreeMap<&'static str, u64>,
    pub unknown: BTreeMap<&'static str, u64>,
    pub violations: Vec<Violation>,
    key_latency_ms: Vec<f64>,
    frames: u64,
    /// Frames that showed a hostile input's text (sanitized).
    hostile_drawn: u64,
}

impl Watcher {
    fn new(
        config: &Config,
        journal: Arc<Mutex<Journal>>,
        truths: Arc<Mutex<Vec<Truth>>>,
        found_rx: tokio::sync::mpsc::UnboundedReceiver<Detection>,
    ) -> Self {
        // A fresh pane's data comes from a read that began within its pace (the steady one when calm) + timeout and took up
        // to the timeout itself; 2 s more for the oracle's own round and scheduling.
        let windows = SourceId::ALL
            .into_iter()
            .map(|s| {
                let t = config.timing_of(s);
                (s, chrono::Duration::from_std(t.steady + t.timeout * 2 + Duration::from_secs(2)).unwrap_or_default())
            })
            .collect();
        Watcher {
            journal,
            truths,
            found_rx,
            found: Vec::new(),
            windows,
            timeout: config.timing().timeout,
            pending: Vec::new(),
            last_claims: None,
            checks: BTreeMap::new(),
            unknown: BTreeMap::new(),
            violations: Vec::new(),
            key_latency_ms: Vec::new(),
            frames: 0,
            hostile_drawn: 0,
        }
    }

    fn violate(&mut self, invariant: &'static str, detail: String) {
        self.violations.push(Violation { invariant: invariant.into(), at: Utc::now(), detail: crate::sanitize::clean(&detail) });
    }

    fn count(&mut self, invariant: &'static str) {
        *self.checks.entry(invariant).or_default() += 1;
    }

    fn frame(&mut self, f: HeadlessFrame<'_>) {
        self.frames += 1;
        self.scan(f.buffer);
        if let Some((key, sent)) = f.key {
            self.key(f.console, key, sent);
        }
        while let Ok(d) = self.found_rx.try_recv() {
            self.found.push((Instant::now(), d));
        }
        self.hostile_never_blinds(f.console);
        if self.last_claims.is_none_or(|t| t.elapsed() >= Duration::from_millis(900)) {
            self.last_claims = Some(Instant::now());
            let at = f.console.model.now.unwrap_or_else(Utc::now);
            for claim in oracle::claims(&f.console.model) {
                let window = self.windows.get(&source_of(&claim)).copied().unwrap_or_default();
                self.pending.push(Pending { claim, at, wall: Instant::now(), window });
            }
            let truths = self.truths.lock().unwrap_or_else(|p| p.into_inner()).clone();
            self.judge_pending(&truths, false);
        }
    }

    /// No raw control character, C1 or bidi override in any cell of the frame.
    fn scan(&mut self, buffer: &ratatui::buffer::Buffer) {
        self.count("frame has no raw control characters");
        // The hostile inputs' text, sanitized, is on screen: the scan is not of frames without it.
        let text: String = buffer.content.iter().map(|c| c.symbol()).collect();
        if text.contains("kcab") {
            self.hostile_drawn += 1;
        }
        let bad = buffer.content.iter().enumerate().find(|(_, c)| c.symbol().chars().any(crate::sanitize::is_unsafe));
        if let Some((i, cell)) = bad {
            let w = buffer.area.width.max(1) as usize;
            let (x, y) = (i % w, i / w);
            let row: String = buffer.content[y * w..(y + 1) * w].iter().map(|c| c.symbol()).collect();
            let codes: Vec<String> = cell.symbol().chars().map(|c| format!("U+{:04X}", c as u32)).collect();
            self.violate("frame has no raw control characters", format!("{} at column {x}, row {y}: {row}", codes.join(" ")));
        }
    }

    /// Each key gets its frame (this one); focus keys move the focus; a frozen console is a violation.
    fn key(&mut self, console: &Console, key: KeyEvent, sent: Instant) {
        let latency = sent.elapsed();
        self.key_latency_ms.push(latency.as_secs_f64() * 1000.0);
        self.count("keys are answered");
        if latency > FROZEN {
            self.violate("keys are answered", format!("{key:?} answered after {:.1}s", latency.as_secs_f64()));
        }
        if let KeyCode::Char(c @ '1'..='5') = key.code
            && !console.has_overlay()
        {
            let want = SourceId::ALL[(c as usize) - ('1' as usize)];
            if console.view.focus != want {
                self.violate("keys are answered", format!("key {c} left the focus on {:?}, not {want:?}", console.view.focus));
            }
        }
    }

    /// While hostile input is in place, its pane keeps working (a FAILING pane is a blinded one).
    fn hostile_never_blinds(&mut self, console: &Console) {
        let active = self.journal.lock().unwrap_or_else(|p| p.into_inner()).hostile_active();
        for fault in active {
            let source = fault.expected().0;
            const INVARIANT: &str = "hostile input never blinds a pane";
            match console.model.health(source) {
                // A late answer says nothing about the hostile text: the machine may be starved.
                Health::Failing { error, .. } if oracle::reads_as_timeout(&error) => {
                    *self.unknown.entry(INVARIANT).or_default() += 1;
                }
                Health::Failing { error, .. } => {
                    self.count(INVARIANT);
                    self.violate(INVARIANT, format!("{} pane FAILING with {} in place: {error}", source.name(), fault.name()));
                }
                _ => self.count(INVARIANT),
            }
        }
    }

    /// Judges the claims whose rounds of truth are in (all of them at the end).
    fn judge_pending(&mut self, truths: &[Truth], all: bool) {
        let ripe = Duration::from_secs(3) + self.timeout;
        let (now, later): (Vec<Pending>, Vec<Pending>) =
            std::mem::take(&mut self.pending).into_iter().partition(|p| all || p.wall.elapsed() >= ripe);
        self.pending = later;
        for p in now {
            let invariant = p.claim.invariant();
            match oracle::judge(&p.claim, p.at, p.window, truths) {
                Verdict::True => self.count(invariant),
                Verdict::Unknown => *self.unknown.entry(invariant).or_default() += 1,
                Verdict::False(said) => {
                    self.count(invariant);
                    let claim = serde_json::to_string(&p.claim).unwrap_or_default();
                    self.violate(invariant, format!("shown as fresh at {}: {claim}; the systems said {said}", p.at.format("%H:%M:%S%.3f")));
                }
            }
        }
    }

    fn report(&mut self, seed: u64, length: Duration, start: Instant, config: &Config, journal: &Journal, rounds: usize) -> SoakReport {
        let mut faults = Vec::new();
        for a in &journal.applied {
            let (_, prefixes) = a.fault.expected();
            let bound = a.fault.detection_bound(config);
            let matches = |d: &Detection| !d.recovered && prefixes.iter().any(|p| d.what.starts_with(p));
            let moved = |d: &Detection| prefixes.iter().any(|p| d.what.starts_with(p) && d.what.contains("moved"));
            let after = self.found.iter().find(|(w, d)| *w >= a.wall && (matches(d) || moved(d))).map(|(w, _)| w.duration_since(a.wall));
            let open_before = open_at(&self.found, a.wall, &matches);
            let mut line = FaultLine {
                name: a.fault.name().into(),
                episode: a.episode,
                at: a.at,
                healed_at: a.healed.map(|h| h.1),
                applied: a.outcome.clone().unwrap_or_else(|e| format!("NOT APPLIED: {e}")),
                detected_after_secs: after.map(|d| d.as_secs_f64()),
                already_open: open_before.clone(),
                bound_secs: bound.as_secs(),
            };
            if !prefixes.is_empty() && a.outcome.is_ok() {
                self.count("every fault is detected");
                match (after, &open_before) {
                    (Some(d), _) if d <= bound => {}
                    (_, Some(_)) => {}
                    (Some(d), None) => self.violate(
                        "every fault is detected",
                        format!("{} detected only after {:.1}s (bound {}s)", a.fault.name(), d.as_secs_f64(), bound.as_secs()),
                    ),
                    (None, None) => self.violate(
                        "every fault is detected",
                        format!(
                            "{} (episode {}) never reached the timeline; expected an entry starting with {prefixes:?}",
                            a.fault.name(),
                            a.episode
                        ),
                    ),
                }
            }
            line.already_open = open_before;
            faults.push(line);
        }
        self.flaps(journal);
        let mut lat = self.key_latency_ms.clone();
        lat.sort_by(f64::total_cmp);
        let pct = |q: f64| lat.get(((lat.len() as f64 - 1.0) * q).round().max(0.0) as usize).copied().unwrap_or(0.0);
        SoakReport {
            seed,
            minutes: length.as_secs() / 60,
            ran_secs: start.elapsed().as_secs(),
            faults,
            heals: journal.heals.clone(),
            checks: self.checks.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            unknown: self.unknown.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            oracle_rounds: rounds,
            frames: self.frames,
            hostile_drawn: self.hostile_drawn,
            findings: self.found.len(),
            keys: lat.len(),
            key_to_frame_ms: [pct(0.5), pct(0.95), lat.last().copied().unwrap_or(0.0)],
            violations: self.violations.clone(),
        }
    }

    /// No alarm opens more than twice within 60 s while nothing is applied or healed.
    fn flaps(&mut self, journal: &Journal) {
        let mut changes: Vec<Instant> = journal.applied.iter().flat_map(|a| [Some(a.wall), a.healed.map(|h| h.0)]).flatten().collect();
        changes.sort();
        let segment = |w: Instant| changes.iter().filter(|c| **c <= w).count();
        let mut by_subject: BTreeMap<(String, usize), Vec<(Instant, String)>> = BTreeMap::new();
        for (w, d) in self.found.iter().filter(|(_, d)| !d.recovered) {
            by_subject.entry((d.subject.clone(), segment(*w))).or_default().push((*w, d.what.clone()));
        }
        for _ in 0..by_subject.len().max(1) {
            self.count("no entry flaps");
        }
        let mut flapped = Vec::new();
        for ((subject, _), opens) in &by_subject {
            if opens.windows(3).any(|w| w[2].0.duration_since(w[0].0) <= Duration::from_secs(60)) {
                flapped.push(format!(
                    "{subject} opened {} times while nothing changed: {}",
                    opens.len(),
                    opens.iter().map(|o| o.1.as_str()).collect::<Vec<_>>().join(" | ")
                ));
            }
        }
        for f in flapped {
            self.violate("no entry flaps", f);
        }
    }
}

/// The open alarm (last entry not a recovery) matching `matches` at `wall`, if any.
fn open_at(found: &[(Instant, Detection)], wall: Instant, matches: &dyn Fn(&Detection) -> bool) -> Option<String> {
    let mut last: BTreeMap<&str, &Detection> = BTreeMap::new();
    for (w, d) in found.iter().filter(|(w, _)| *w < wall) {
        let _ = w;
        last.insert(d.subject.as_str(), d);
    }
    last.values().find(|d| matches(d)).map(|d| d.what.clone())
}

fn source_of(claim: &Claim) -> SourceId {
    match claim {
        Claim::Member { .. } => SourceId::Replication,
        Claim::SentinelNames { .. } | Claim::RedisMaster { .. } => SourceId::Sentinel,
        Claim::QueueDepth { .. } => SourceId::Queues,
        Claim::Dumps { .. } => SourceId::Backups,
        Claim::Pods { .. } | Claim::Deployment { .. } => SourceId::Pods,
    }
}
