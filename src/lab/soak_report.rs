//! The soak's report: seed, faults (applied, healed, detected after), checks per invariant and
//! every violation, as JSON for machines and text for people.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct SoakReport {
    pub seed: u64,
    pub minutes: u64,
    pub ran_secs: u64,
    pub faults: Vec<FaultLine>,
    pub heals: Vec<String>,
    /// Invariant -> how many times it was checked (a false claim counts as a check too).
    pub checks: BTreeMap<String, u64>,
    /// Invariant -> claims no oracle round could judge (its own questions timed out).
    pub unknown: BTreeMap<String, u64>,
    pub oracle_rounds: usize,
    pub frames: u64,
    /// Frames that showed a hostile input's text, sanitized.
    pub hostile_drawn: u64,
    pub findings: usize,
    pub keys: usize,
    /// Key → frame latency: median, 95th percentile, worst (ms).
    pub key_to_frame_ms: [f64; 3],
    pub violations: Vec<Violation>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FaultLine {
    pub name: String,
    pub episode: usize,
    pub at: DateTime<Utc>,
    pub healed_at: Option<DateTime<Utc>>,
    /// What the lab said it did (or NOT APPLIED and why).
    pub applied: String,
    pub detected_after_secs: Option<f64>,
    /// The matching alarm was still open from before, so no new entry was due.
    pub already_open: Option<String>,
    pub bound_secs: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Violation {
    pub invariant: String,
    pub at: DateTime<Utc>,
    pub detail: String,
}

impl SoakReport {
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }

    /// FILE (JSON) and FILE with .txt (the text).
    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        let json = serde_json::to_string_pretty(self)?;
        std::fs::write(path, json).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
        let text = path.with_extension("txt");
        std::fs::write(&text, self.text()).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", text.display()))
    }

    pub fn text(&self) -> String {
        let mut out = format!(
            "soak seed {} · {} min asked, ran {}s · {} faults applied · {} oracle rounds · {} frames ({} with hostile text, sanitized) · {} findings\n",
            self.seed,
            self.minutes,
            self.ran_secs,
            self.faults.iter().filter(|f| !f.applied.starts_with("NOT APPLIED")).count(),
            self.oracle_rounds,
            self.frames,
            self.hostile_drawn,
            self.findings
        );
        out.push_str(&format!(
            "keys: {} answered, key→frame median {:.1} ms, p95 {:.1} ms, worst {:.1} ms\n\nfaults:\n",
            self.keys, self.key_to_frame_ms[0], self.key_to_frame_ms[1], self.key_to_frame_ms[2]
        ));
        for f in &self.faults {
            // An alarm open from before needs no new entry: the next one is then not a latency.
            let detected = match (f.detected_after_secs, &f.already_open) {
                (_, Some(open)) => format!("already open: {open}"),
                (Some(s), None) => format!("detected after {s:.1}s (bound {}s)", f.bound_secs),
                (None, None) => "no entry".to_string(),
            };
            let healed = f.healed_at.map(|h| h.format("%H:%M:%S").to_string()).unwrap_or_else(|| "-".into());
            out.push_str(&format!(
                "  #{} {} at {} healed {} · {detected} · {}\n",
                f.episode,
                f.name,
                f.at.format("%H:%M:%S"),
                healed,
                f.applied
            ));
        }
        out.push_str("\nchecks:\n");
        for (k, v) in &self.checks {
            let unknown = self.unknown.get(k).map(|u| format!(" ({u} undecided)")).unwrap_or_default();
            out.push_str(&format!("  {v:>7}  {k}{unknown}\n"));
        }
        out.push_str(&format!("\nviolations: {}\n", self.violations.len()));
        for v in self.violations.iter().take(50) {
            out.push_str(&format!("  {} [{}] {}\n", v.at.format("%H:%M:%S"), v.invariant, v.detail));
        }
        if !self.violations.is_empty() {
            out.push_str(&format!("reproduce: sitrep lab soak --minutes {} --seed {}\n", self.minutes, self.seed));
        }
        out
    }
}
