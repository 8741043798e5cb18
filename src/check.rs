//! `sitrep check`: validates sitrep.toml, views/, themes/ and actions/, reporting every problem
//! as `file:line: what is wrong — how to fix it`.

use crate::config;
use crate::data_files;
use crate::diag::Problem;
use std::path::Path;

/// Every problem found; empty means all is well.
pub fn run(config_path: Option<&Path>, env: &config::Env) -> Vec<Problem> {
    let mut problems = Vec::new();
    if let Some(path) = config::locate(config_path, env) {
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let (mut parsed, found) = config::parse(&path, &text);
                problems.extend(found);
                parsed.apply_env(env);
                problems.extend(config::env_problems(&parsed));
            }
            Err(e) => problems.push(Problem {
                file: path.clone(),
                line: 0,
                what: format!("cannot read the config: {e}"),
                fix: "check the path given by --config or SITREP_CONFIG".into(),
            }),
        }
    }
    for root in data_files::roots_in(env.home.as_deref()) {
        for file in data_files::list_dir(&root.join("views")) {
            if let Err(p) = crate::ui::layout::View::parse(&file) {
                problems.extend(p);
            }
        }
        for file in data_files::list_dir(&root.join("themes")) {
            if let Err(p) = crate::ui::theme::Theme::parse(&file) {
                problems.extend(p);
            }
        }
        for file in data_files::list_dir(&root.join("actions")) {
            if let Err(p) = crate::runbook::validate(&file) {
                problems.extend(p);
            }
        }
    }
    let views = crate::ui::layout::load_views();
    if crate::ui::layout::choose(&views, "auto", 80, 24).is_none() {
        problems.push(Problem {
            file: "views/".into(),
            line: 0,
            what: "no view fits an 80x24 terminal".into(),
            fix: "keep a view with min_cols <= 80 and min_rows <= 24 (views/compact.toml)".into(),
        });
    }
    problems.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    problems.dedup();
    problems
}
