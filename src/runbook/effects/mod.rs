//! The closed set of effects a runbook step can have, one file per backend. Each takes rendered
//! text and answers a `Report` (what happened, plus facts for later steps) or an error for people.

pub mod command;
pub mod http;
pub mod kube;
pub mod patroni;
pub mod pitr;
pub mod pitr_tools;
pub mod restore;
pub mod sentinel;
pub mod sql;
pub mod triage;

use super::spec::Effect;
use super::template::{self, Vars};
use crate::backends::BackendError;
use crate::config::Config;
use std::path::PathBuf;
use std::time::Duration;

/// Why an effect or check did not do what it says, for people.
#[derive(Debug, thiserror::Error)]
pub enum EffectError {
    /// A backend refused, failed or did not answer (its own words inside).
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// A parameter or setting that cannot be used; the text says what to give instead.
    #[error("{0}")]
    Input(String),
    /// The system is not (yet) in the state the step needs: a precondition or verification unmet.
    #[error("{0}")]
    NotReady(String),
    /// A program sitrep runs (pg_restore, pg_ctl, tar) is missing or failed.
    #[error(transparent)]
    Program(#[from] crate::programs::ProgramError),
    /// A local file or directory could not be used.
    #[error("cannot {what} {}: {source}", path.display())]
    Io { what: &'static str, path: PathBuf, source: std::io::Error },
}

/// An unmet precondition or verification.
pub fn not_ready(text: impl Into<String>) -> EffectError {
    EffectError::NotReady(text.into())
}

/// A parameter that cannot be used.
pub fn input(text: impl Into<String>) -> EffectError {
    EffectError::Input(text.into())
}

/// What an effect needs: the configuration, the run's variables and the per-call timeout.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub config: Config,
    pub vars: Vars,
    pub timeout: Duration,
    pub clock: crate::clock::Clock,
}

impl Ctx {
    pub fn namespace(&self) -> String {
        self.vars.get("namespace").cloned().unwrap_or_else(|| "default".into())
    }

    pub fn http(&self) -> reqwest::Client {
        reqwest::Client::builder().timeout(self.timeout).build().unwrap_or_default()
    }
}

/// What an effect did or found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    pub summary: String,
    pub facts: Vars,
}

impl Report {
    pub fn text(summary: impl Into<String>) -> Self {
        Report { summary: summary.into(), facts: Vars::new() }
    }

    pub fn with<K: Into<String>>(mut self, facts: impl IntoIterator<Item = (K, String)>) -> Self {
        self.facts.extend(facts.into_iter().map(|(k, v)| (k.into(), v)));
        self
    }
}

/// Renders one template field, refusing placeholders that have no value.
fn field(text: &str, vars: &Vars) -> Result<String, EffectError> {
    let missing = template::missing(text, vars);
    if let Some(name) = missing.first() {
        return Err(input(format!("`{{{name}}}` has no value; give it with --param {name}=VALUE")));
    }
    Ok(template::render(text, vars))
}

/// Runs an effect (or a check) once.
pub async fn run(effect: &Effect, ctx: &Ctx) -> Result<Report, EffectError> {
    // On the heap: the backends' futures are large in debug builds, and a step holds an effect
    // and its verification (inline, they overflowed a test thread's 2 MiB stack).
    Box::pin(dispatch(effect, ctx)).await
}

async fn dispatch(effect: &Effect, ctx: &Ctx) -> Result<Report, EffectError> {
    let f = |t: &str| field(t, &ctx.vars);
    match effect {
        Effect::KubeCanI { verb, resource, group } => kube::can_i(ctx, &f(verb)?, &f(resource)?, &f(group)?).await,
        Effect::KubeRolloutComplete { deployment } => kube::rollout_complete(ctx, &f(deployment)?).await,
        Effect::KubeRevisionExists { deployment, revision } => kube::revision_exists(ctx, &f(deployment)?, &f(revision)?).await,
        Effect::KubeRolloutUndo { deployment, revision } => kube::rollout_undo(ctx, &f(deployment)?, &f(revision)?).await,
        Effect::KubeScale { deployment, replicas } => kube::scale(ctx, &f(deployment)?, &f(replicas)?).await,
        Effect::KubeRestartPods { deployment, pod } => kube::restart_pods(ctx, &f(deployment)?, &f(pod)?).await,
        Effect::KubeDisruptionBudget { deployment, replicas } => kube::disruption_budget(ctx, &f(deployment)?, &f(replicas)?).await,
        Effect::KubeCordon { node } => kube::cordon(ctx, &f(node)?).await,
        Effect::KubeNodeCordoned { node } => kube::node_cordoned(ctx, &f(node)?).await,
        Effect::PatroniReady { candidate, max_lag_bytes } => patroni::ready(ctx, &f(candidate)?, *max_lag_bytes).await,
        Effect::PatroniSwitchover { candidate } => patroni::switchover(ctx, &f(candidate)?).await,
        Effect::PatroniLeaderWritable { not } => patroni::leader_writable(ctx, &f(not)?).await,
        Effect::SentinelReady { max_lag_bytes } => sentinel::ready(ctx, *max_lag_bytes).await,
        Effect::SentinelFailover {} => sentinel::failover(ctx).await,
        Effect::SentinelAgree { not } => sentinel::agree(ctx, &f(not)?).await,
        Effect::SentinelRedundant { max_lag_bytes } => sentinel::redundant(ctx, *max_lag_bytes).await,
        Effect::PatroniRedundant { old, max_lag_bytes } => patroni::redundant(ctx, &f(old)?, *max_lag_bytes).await,
        Effect::Sql { database, query, expect } => sql::check(ctx, &f(database)?, &f(query)?, &f(expect)?).await,
        Effect::Http { url, expect_status } => http::check(ctx, &f(url)?, *expect_status).await,
        Effect::DumpAvailable { dump, database, replace } => restore::available(ctx, &f(dump)?, &f(database)?, &f(replace)?).await,
        Effect::RestoreDump { dump, database, replace } => restore::restore(ctx, &f(dump)?, &f(database)?, &f(replace)?).await,
        Effect::RowCounts { database, tables } => {
            let tables: Vec<String> = tables.iter().map(|t| f(t)).collect::<Result<_, _>>()?;
            restore::row_counts(ctx, &f(database)?, &tables).await
        }
        Effect::PitrAvailable { target_time, data_dir } => pitr::available(ctx, &f(target_time)?, &f(data_dir)?).await,
        Effect::PitrRestore { target_time, data_dir } => pitr::restore(ctx, &f(target_time)?, &f(data_dir)?).await,
        Effect::PitrRecovered { port, database, tables } => {
            let tables: Vec<String> = tables.iter().map(|t| f(t)).collect::<Result<_, _>>()?;
            pitr::recovered(ctx, &f(port)?, &f(database)?, &tables).await
        }
        Effect::Triage {} => triage::run(ctx).await,
        Effect::Command { argv } => {
            let argv: Vec<String> = argv.iter().map(|a| f(a)).collect::<Result<_, _>>()?;
            command::run(ctx, &argv).await
        }
    }
}

/// Live detail for a preview, read-only (e.g. a rollback's image/env diff); `None` when the
/// effect has nothing to add to its text.
pub async fn preview_detail(effect: &Effect, ctx: &Ctx) -> Option<Result<String, EffectError>> {
    let f = |t: &str| field(t, &ctx.vars);
    match effect {
        Effect::KubeRolloutUndo { deployment, revision } => {
            Some(async { kube::undo_preview(ctx, &f(deployment)?, &f(revision)?).await }.await)
        }
        Effect::KubeScale { deployment, replicas } => Some(async { kube::scale_preview(ctx, &f(deployment)?, &f(replicas)?).await }.await),
        Effect::Command { argv } => Some(argv.iter().map(|a| f(a)).collect::<Result<Vec<_>, _>>().map(|v| command::show_argv(&v))),
        _ => None,
    }
}
