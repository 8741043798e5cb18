//! The `actions/*.toml` schema (docs/runbooks.md) and its validation: every problem at once,
//! each with file, line and a fix, so `sitrep check` can list them.

use super::template::{self, BUILTINS};
use crate::data_files::DataFile;
use crate::diag::Problem;
use serde::Deserialize;
use std::path::PathBuf;

/// A validated runbook.
#[derive(Debug, Clone)]
pub struct Runbook {
    pub name: String,
    pub title: String,
    /// When an on-call engineer should reach for it.
    pub when: String,
    /// What the mutating steps change (a template), e.g. `deployment/{namespace}/{deployment}`;
    /// one run at a time per target.
    pub target: String,
    pub params: Vec<ParamSpec>,
    pub steps: Vec<StepSpec>,
    pub path: PathBuf,
}

impl Runbook {
    /// Whether any step changes the estate.
    pub fn mutates(&self) -> bool {
        self.steps.iter().any(|s| s.effect.mutates())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamSpec {
    pub name: String,
    pub description: String,
    /// The live state the value is chosen from (shown by `runbook show`).
    #[serde(default)]
    pub from: Option<ParamSource>,
    /// Used when the parameter is not given; may use built-ins such as `{stamp}`.
    #[serde(default)]
    pub default: Option<String>,
    /// The console's picker offers it even though it has a default: the live choices first, the
    /// default last (restart-pods: one pod before `all`). Without live choices the default holds.
    #[serde(default)]
    pub ask: bool,
}

/// Where a parameter's choices come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamSource {
    Deployments,
    Revisions,
    Pods,
    Nodes,
    PatroniMembers,
    Dumps,
}

impl ParamSource {
    pub fn name(self) -> &'static str {
        match self {
            ParamSource::Deployments => "deployments",
            ParamSource::Revisions => "revisions",
            ParamSource::Pods => "pods",
            ParamSource::Nodes => "nodes",
            ParamSource::PatroniMembers => "patroni_members",
            ParamSource::Dumps => "dumps",
        }
    }
}

#[derive(Debug, Clone)]
pub struct StepSpec {
    pub name: String,
    pub explain: String,
    pub precondition: Option<Effect>,
    pub preview: String,
    pub confirm: Confirm,
    pub effect: Effect,
    pub verify: Option<Effect>,
    pub timeout_secs: u64,
    pub on_failure: String,
    /// Line of the step in its file, for messages.
    pub line: usize,
}

/// What a person must do before a step runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirm {
    None,
    Plain,
    /// The exact text to type (a template): the name of what is about to change.
    Typed(String),
}

/// The closed set of things a step can do or check; `kind` in TOML.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Effect {
    /// SelfSubjectAccessReview: may we `verb` `resource` in the namespace?
    KubeCanI {
        verb: String,
        resource: String,
        #[serde(default)]
        group: String,
    },
    /// The deployment's rollout is complete and every pod ready.
    KubeRolloutComplete { deployment: String },
    /// The deployment has the target revision (`previous` or a number); facts `from_revision`, `to_revision`.
    KubeRevisionExists { deployment: String, revision: String },
    /// `kubectl rollout undo` to a revision (`previous` or a number).
    KubeRolloutUndo { deployment: String, revision: String },
    /// `kubectl scale --replicas`.
    KubeScale { deployment: String, replicas: String },
    /// Deletes the deployment's pods (or one, `pod` not empty) so their ReplicaSet replaces them.
    KubeRestartPods {
        deployment: String,
        #[serde(default)]
        pod: String,
    },
    /// The deployment's PodDisruptionBudgets allow the change: a restart (`replicas` empty) needs
    /// one allowed disruption of each, a scale to `replicas` at least each one's desired healthy pods.
    KubeDisruptionBudget {
        deployment: String,
        #[serde(default)]
        replicas: String,
    },
    /// Marks a node unschedulable.
    KubeCordon { node: String },
    /// The node is cordoned (`spec.unschedulable`); says how many pods still run on it.
    KubeNodeCordoned { node: String },
    /// Patroni has a replica to promote: streaming, lag under `max_lag_bytes`; facts `leader`, `candidate`, `mode`.
    PatroniReady {
        #[serde(default)]
        candidate: String,
        max_lag_bytes: u64,
    },
    /// Patroni `POST /switchover` when the leader is healthy, `POST /failover` when not.
    PatroniSwitchover {
        #[serde(default)]
        candidate: String,
    },
    /// Patroni names a leader other than `not`, and it accepts a write.
    PatroniLeaderWritable {
        #[serde(default)]
        not: String,
    },
    /// Sentinel quorum reachable and a replica in sync; facts `old_master`, `replica`.
    SentinelReady { max_lag_bytes: u64 },
    /// `SENTINEL FAILOVER <master>`.
    SentinelFailover {},
    /// The agreed master has a replica in sync within `max_lag_bytes` (redundancy restored).
    SentinelRedundant { max_lag_bytes: u64 },
    /// The Patroni leader has a replica streaming within `max_lag_bytes`, and it says whether
    /// `old` (the leader before) rejoined or is missing; facts `old_member_state`.
    PatroniRedundant {
        #[serde(default)]
        old: String,
        max_lag_bytes: u64,
    },
    /// Every Sentinel names the same master, other than `not`, and the queues are readable on it.
    SentinelAgree {
        #[serde(default)]
        not: String,
    },
    /// A read-only query (SELECT/SHOW/EXPLAIN) on the leader; `expect` compares the first cell.
    Sql {
        database: String,
        query: String,
        #[serde(default)]
        expect: String,
    },
    /// GET `url` answers `expect_status`.
    Http {
        url: String,
        #[serde(default = "ok_status")]
        expect_status: u16,
    },
    /// The dump exists in the S3 inventory and the target database is free (or `replace` is "yes");
    /// fact `dump_key`.
    DumpAvailable {
        dump: String,
        database: String,
        #[serde(default)]
        replace: String,
    },
    /// pg_restore of a dump from S3 into `database` (created when new).
    RestoreDump {
        dump: String,
        database: String,
        #[serde(default)]
        replace: String,
    },
    /// Row counts of `tables` in `database`, each non-empty.
    RowCounts { database: String, tables: Vec<String> },
    /// A base backup finished before `target_time` (RFC 3339 or `latest`) and WAL after it; `data_dir`
    /// new; facts `base_backup`, `wal_segments`, `recovery_plan` (what will run, for the preview).
    PitrAvailable { target_time: String, data_dir: String },
    /// Point-in-time recovery into the new `data_dir`, started on a free port; fact `pitr_port`.
    PitrRestore { target_time: String, data_dir: String },
    /// The recovered server on `port` is out of recovery; row counts of `tables` in `database`.
    PitrRecovered { port: String, database: String, tables: Vec<String> },
    /// One snapshot of every source: findings, a severity and the next runbook.
    Triage {},
    /// Runs `argv` (no shell); opt-in, always confirmed, argv shown exactly.
    Command { argv: Vec<String> },
}

fn ok_status() -> u16 {
    200
}

impl Effect {
    pub fn kind(&self) -> &'static str {
        match self {
            Effect::KubeCanI { .. } => "kube_can_i",
            Effect::KubeRolloutComplete { .. } => "kube_rollout_complete",
            Effect::KubeRevisionExists { .. } => "kube_revision_exists",
            Effect::KubeRolloutUndo { .. } => "kube_rollout_undo",
            Effect::KubeScale { .. } => "kube_scale",
            Effect::KubeRestartPods { .. } => "kube_restart_pods",
            Effect::KubeDisruptionBudget { .. } => "kube_disruption_budget",
            Effect::KubeCordon { .. } => "kube_cordon",
            Effect::KubeNodeCordoned { .. } => "kube_node_cordoned",
            Effect::PatroniReady { .. } => "patroni_ready",
            Effect::PatroniSwitchover { .. } => "patroni_switchover",
            Effect::PatroniLeaderWritable { .. } => "patroni_leader_writable",
            Effect::SentinelReady { .. } => "sentinel_ready",
            Effect::SentinelFailover {} => "sentinel_failover",
            Effect::SentinelAgree { .. } => "sentinel_agree",
            Effect::SentinelRedundant { .. } => "sentinel_redundant",
            Effect::PatroniRedundant { .. } => "patroni_redundant",
            Effect::Sql { .. } => "sql",
            Effect::Http { .. } => "http",
            Effect::DumpAvailable { .. } => "dump_available",
            Effect::RestoreDump { .. } => "restore_dump",
            Effect::RowCounts { .. } => "row_counts",
            Effect::PitrAvailable { .. } => "pitr_available",
            Effect::PitrRestore { .. } => "pitr_restore",
            Effect::PitrRecovered { .. } => "pitr_recovered",
            Effect::Triage {} => "triage",
            Effect::Command { .. } => "command",
        }
    }

    /// Whether it changes the estate (and so needs confirmation, a lock, and not `--read-only`).
    pub fn mutates(&self) -> bool {
        matches!(
            self,
            Effect::KubeRolloutUndo { .. }
                | Effect::KubeScale { .. }
                | Effect::KubeRestartPods { .. }
                | Effect::KubeCordon { .. }
                | Effect::PatroniSwitchover { .. }
                | Effect::SentinelFailover {}
                | Effect::RestoreDump { .. }
                | Effect::PitrRestore { .. }
                | Effect::Command { .. }
        )
    }

    /// Facts it adds for later steps' text.
    pub fn produces(&self) -> &'static [&'static str] {
        match self {
            Effect::KubeRevisionExists { .. } | Effect::KubeRolloutUndo { .. } => &["from_revision", "to_revision"],
            Effect::PatroniReady { .. } => &["leader", "candidate", "mode"],
            Effect::PatroniSwitchover { .. } => &["old_leader", "new_leader"],
            Effect::PatroniLeaderWritable { .. } => &["new_leader"],
            Effect::PatroniRedundant { .. } => &["old_member_state"],
            Effect::SentinelReady { .. } | Effect::SentinelFailover {} => &["old_master", "replica"],
            Effect::SentinelAgree { .. } => &["new_master"],
            Effect::DumpAvailable { .. } | Effect::RestoreDump { .. } => &["dump_key"],
            Effect::PitrAvailable { .. } => &["base_backup", "wal_segments", "recovery_plan"],
            Effect::PitrRestore { .. } => &["pitr_port", "base_backup"],
            Effect::Triage {} => &["severity", "next_runbook"],
            _ => &[],
        }
    }

    /// Every template string it holds.
    pub fn texts(&self) -> Vec<&str> {
        let strings: Vec<&String> = match self {
            Effect::KubeCanI { verb, resource, group } => vec![verb, resource, group],
            Effect::KubeRolloutComplete { deployment } => vec![deployment],
            Effect::KubeRevisionExists { deployment, revision } | Effect::KubeRolloutUndo { deployment, revision } => {
                vec![deployment, revision]
            }
            Effect::KubeScale { deployment, replicas } | Effect::KubeDisruptionBudget { deployment, replicas } => {
                vec![deployment, replicas]
            }
            Effect::KubeRestartPods { deployment, pod } => vec![deployment, pod],
            Effect::KubeCordon { node } | Effect::KubeNodeCordoned { node } => vec![node],
            Effect::PatroniReady { candidate, .. } | Effect::PatroniSwitchover { candidate } => vec![candidate],
            Effect::PatroniLeaderWritable { not } | Effect::SentinelAgree { not } | Effect::PatroniRedundant { old: not, .. } => vec![not],
            Effect::Sql { database, query, expect } => vec![database, query, expect],
            Effect::Http { url, .. } => vec![url],
            Effect::DumpAvailable { dump, database, replace } | Effect::RestoreDump { dump, database, replace } => {
                vec![dump, database, replace]
            }
            Effect::RowCounts { database, tables } => std::iter::once(database).chain(tables).collect(),
            Effect::PitrAvailable { target_time, data_dir } | Effect::PitrRestore { target_time, data_dir } => vec![target_time, data_dir],
            Effect::PitrRecovered { port, database, tables } => [port, database].into_iter().chain(tables).collect(),
            Effect::Command { argv } => argv.iter().collect(),
            Effect::SentinelReady { .. } | Effect::SentinelRedundant { .. } | Effect::SentinelFailover {} | Effect::Triage {} => vec![],
        };
        strings.into_iter().map(String::as_str).collect()
    }
}

/// Why a runbook could not be found or used.
#[derive(Debug, thiserror::Error)]
pub enum FindError {
    #[error("no runbook `{name}`{}; known: {known} (`sitrep runbook list`)", nearest.as_ref().map(|n| format!(" — did you mean `{n}`?")).unwrap_or_default())]
    Unknown { name: String, nearest: Option<String>, known: String },
    #[error("the runbook has {} problem(s):\n{}", .0.len(), .0.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Problem>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRunbook {
    name: String,
    title: String,
    when: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    params: Vec<ParamSpec>,
    #[serde(default)]
    steps: Vec<toml::Spanned<RawStep>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    name: String,
    explain: String,
    #[serde(default)]
    precondition: Option<Effect>,
    preview: String,
    #[serde(default)]
    confirm: Option<RawConfirm>,
    effect: Effect,
    #[serde(default)]
    verify: Option<Effect>,
    #[serde(default = "default_timeout")]
    timeout_secs: u64,
    on_failure: String,
}

fn default_timeout() -> u64 {
    60
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawConfirm {
    Word(String),
    Typed { typed: String },
}

/// Parses and checks one `actions/*.toml` file; every problem is reported.
pub fn validate(file: &DataFile) -> Result<Runbook, Vec<Problem>> {
    let problem = |line: usize, what: String, fix: &str| Problem { file: file.path.clone(), line, what, fix: fix.to_string() };
    let raw: RawRunbook = toml::from_str(&file.text).map_err(|e| {
        let line = e.span().map_or(1, |s| crate::diag::line_of_offset(&file.text, s.start));
        let first = e.message().lines().next().unwrap_or("").to_string();
        vec![problem(line, format!("not a valid runbook: {first}"), "see docs/runbooks.md for the schema; effect kinds are listed there")]
    })?;
    let mut problems = Vec::new();
    if raw.name != file.name {
        problems.push(problem(
            crate::diag::find_line(&file.text, None, "name"),
            format!("name `{}` differs from the file name `{}`", raw.name, file.name),
            "make `name` the file name without .toml",
        ));
    }
    if raw.steps.is_empty() {
        problems.push(problem(1, "the runbook has no steps".into(), "add at least one [[steps]] table"));
    }
    let mut known: Vec<String> = BUILTINS.iter().map(|s| s.to_string()).collect();
    known.extend(raw.params.iter().map(|p| p.name.clone()));
    for p in &raw.params {
        for name in p.default.iter().flat_map(|d| template::placeholders(d)) {
            if !BUILTINS.contains(&name) {
                problems.push(problem(
                    crate::diag::find_line(&file.text, None, "default"),
                    format!("param `{}` default uses `{{{name}}}`; defaults may only use built-ins", p.name),
                    &format!("use one of {}", BUILTINS.join(", ")),
                ));
            }
        }
    }
    let mutates = raw.steps.iter().any(|s| s.get_ref().effect.mutates());
    if mutates && raw.target.trim().is_empty() {
        problems.push(problem(
            1,
            "a runbook that changes things needs a `target`".into(),
            "add e.g. target = \"deployment/{namespace}/{deployment}\"",
        ));
    }
    for name in template::placeholders(&raw.target) {
        if !known.iter().any(|k| k == name) {
            problems.push(problem(
                crate::diag::find_line(&file.text, None, "target"),
                format!("target uses unknown `{{{name}}}`"),
                "declare it under [[params]]",
            ));
        }
    }
    let mut steps = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for spanned in raw.steps {
        let line = crate::diag::line_of_offset(&file.text, spanned.span().start);
        let s = spanned.into_inner();
        if !seen.insert(s.name.clone()) {
            problems.push(problem(line, format!("two steps are named `{}`", s.name), "give every step its own name"));
        }
        let confirm = match &s.confirm {
            None => Confirm::None,
            Some(RawConfirm::Word(w)) if w.as_str() == "none" => Confirm::None,
            Some(RawConfirm::Word(w)) if w.as_str() == "plain" => Confirm::Plain,
            Some(RawConfirm::Word(w)) => {
                problems.push(problem(
                    line,
                    format!("step `{}`: confirm = \"{w}\" is not known", s.name),
                    "use \"none\", \"plain\" or { typed = \"{param}\" }",
                ));
                Confirm::Plain
            }
            Some(RawConfirm::Typed { typed }) => Confirm::Typed(typed.clone()),
        };
        check_step(&s, &confirm, line, &known, &mut problems, &problem);
        for name in s.precondition.iter().chain(std::iter::once(&s.effect)).chain(s.verify.iter()).flat_map(Effect::produces) {
            if !known.iter().any(|k| k == name) {
                known.push((*name).to_string());
            }
        }
        steps.push(StepSpec {
            name: s.name,
            explain: s.explain,
            precondition: s.precondition,
            preview: s.preview,
            confirm,
            effect: s.effect,
            verify: s.verify,
            timeout_secs: s.timeout_secs,
            on_failure: s.on_failure,
            line,
        });
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Runbook { name: raw.name, title: raw.title, when: raw.when, target: raw.target, params: raw.params, steps, path: file.path.clone() })
}

fn check_step(
    s: &RawStep,
    confirm: &Confirm,
    line: usize,
    known: &[String],
    problems: &mut Vec<Problem>,
    problem: &impl Fn(usize, String, &str) -> Problem,
) {
    for (role, check) in [("precondition", &s.precondition), ("verify", &s.verify)] {
        if let Some(e) = check
            && e.mutates()
        {
            problems.push(problem(
                line,
                format!("step `{}`: {role} uses `{}`, which changes things", s.name, e.kind()),
                "a check must be a read-only kind (docs/runbooks.md)",
            ));
        }
    }
    if s.effect.mutates() && *confirm == Confirm::None {
        problems.push(problem(
            line,
            format!("step `{}` changes things (`{}`) without confirmation", s.name, s.effect.kind()),
            "add confirm = \"plain\" or confirm = { typed = \"{param}\" }",
        ));
    }
    if s.timeout_secs == 0 || s.timeout_secs > 3600 {
        problems.push(problem(
            line,
            format!("step `{}`: timeout_secs = {} is out of range", s.name, s.timeout_secs),
            "use 1..=3600 seconds",
        ));
    }
    if let Effect::Command { argv } = &s.effect
        && argv.is_empty()
    {
        problems.push(problem(line, format!("step `{}`: command with an empty argv", s.name), "argv = [\"program\", \"arg\", ...]"));
    }
    if let Effect::Sql { query, .. } = &s.effect
        && let Err(e) = super::effects::sql::read_only_query(query)
    {
        problems.push(problem(line, format!("step `{}`: {e}", s.name), "sql steps may only SELECT, SHOW or EXPLAIN"));
    }
    let mut texts: Vec<&str> = vec![&s.explain, &s.preview, &s.on_failure];
    if let Confirm::Typed(t) = confirm {
        texts.push(t);
    }
    // Facts of this very step's precondition and effect may be used by its own preview and verify.
    let mut own: Vec<&str> = s.precondition.iter().flat_map(Effect::produces).copied().collect();
    own.extend(s.effect.produces());
    for e in s.precondition.iter().chain(std::iter::once(&s.effect)).chain(s.verify.iter()) {
        texts.extend(e.texts());
    }
    for text in texts {
        for name in template::placeholders(text) {
            if !known.iter().any(|k| k == name) && !own.contains(&name) {
                let near = crate::diag::closest(name, known.iter().map(String::as_str));
                problems.push(problem(
                    line,
                    format!("step `{}` uses `{{{name}}}`, which is neither a param, a built-in nor a fact of an earlier step", s.name),
                    &near.map_or_else(|| "declare it under [[params]]".to_string(), |n| format!("did you mean `{{{n}}}`?")),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, text: &str) -> DataFile {
        DataFile { name: name.into(), path: format!("actions/{name}.toml").into(), text: text.into() }
    }

    const GOOD: &str = r#"
name = "scale"
title = "Scale a deployment"
when = "pods are saturated"
target = "deployment/{namespace}/{deployment}"

[[params]]
name = "deployment"
description = "which"
from = "deployments"

[[params]]
name = "replicas"
description = "how many"

[[steps]]
name = "scale"
explain = "more pods"
preview = "kubectl scale deployment/{deployment} --replicas={replicas}"
confirm = { typed = "{deployment}" }
effect = { kind = "kube_scale", deployment = "{deployment}", replicas = "{replicas}" }
verify = { kind = "kube_rollout_complete", deployment = "{deployment}" }
on_failure = "scale back"
"#;

    #[test]
    fn a_good_runbook_validates() {
        let rb = validate(&file("scale", GOOD)).expect("valid");
        assert_eq!(rb.steps[0].confirm, Confirm::Typed("{deployment}".into()));
        assert!(rb.mutates());
    }

    #[test]
    fn a_mutating_step_without_confirmation_is_refused_with_its_line() {
        let text = GOOD.replace("confirm = { typed = \"{deployment}\" }\n", "");
        let problems = validate(&file("scale", &text)).expect_err("invalid");
        assert!(problems.iter().any(|p| p.what.contains("without confirmation") && p.line == 16), "{problems:?}");
    }

    #[test]
    fn unknown_placeholders_and_effect_kinds_name_the_line() {
        let text = GOOD.replace("--replicas={replicas}", "--replicas={replica}");
        let problems = validate(&file("scale", &text)).expect_err("invalid");
        assert!(problems.iter().any(|p| p.fix.contains("{replicas}")), "{problems:?}");
        let text = GOOD.replace("kind = \"kube_scale\"", "kind = \"kube_explode\"");
        let problems = validate(&file("scale", &text)).expect_err("invalid");
        assert!(problems[0].line == 21 && problems[0].what.contains("kube_explode"), "{problems:?}");
    }

    #[test]
    fn a_mutating_check_is_refused() {
        let text = GOOD.replace(
            "verify = { kind = \"kube_rollout_complete\", deployment = \"{deployment}\" }",
            "verify = { kind = \"sentinel_failover\" }",
        );
        let problems = validate(&file("scale", &text)).expect_err("invalid");
        assert!(problems.iter().any(|p| p.what.contains("verify uses `sentinel_failover`")), "{problems:?}");
    }
}
