//! Guided runbooks: `actions/*.toml` specs, the pure step state machine, the closed set of effects
//! that touch the estate, the async runner that drives them, and the non-interactive CLI.

pub mod choices;
pub mod cli;
pub mod effects;
pub mod engine;
pub mod lock;
pub mod runner;
pub mod spec;
pub mod template;
pub mod wizard;

pub use engine::{Confirmation, PlainConfirmation, StepRun, StepState, TypedConfirmation};
pub use runner::{RunOptions, RunResult, RunSummary};
pub use spec::{Confirm, Effect, ParamSpec, Runbook, StepSpec, validate};

/// Every runbook found in `actions/` (user dirs first, then the source tree), valid or not.
pub fn load_all() -> Vec<crate::data_files::DataFile> {
    crate::data_files::load_all("actions", &[])
}

/// Finds and validates one runbook by name; the error lists the known names and problems.
pub fn find(name: &str) -> Result<Runbook, spec::FindError> {
    let files = load_all();
    let Some(file) = files.iter().find(|f| f.name == name) else {
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        return Err(spec::FindError::Unknown {
            name: name.to_string(),
            nearest: crate::diag::closest(name, names.iter().copied()),
            known: names.join(", "),
        });
    };
    validate(file).map_err(spec::FindError::Invalid)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_shipped_runbook_is_valid() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("actions");
        let files = crate::data_files::list_dir(&dir);
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        for wanted in ["triage", "rollback", "failover-postgres", "failover-redis", "restore", "scale", "restart-pods"] {
            assert!(names.contains(&wanted), "actions/{wanted}.toml is missing: {names:?}");
        }
        for f in &files {
            if let Err(p) = super::validate(f) {
                panic!("{}: {p:#?}", f.name);
            }
        }
    }
}
