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
                problems.extend(kube_problems(&parsed));
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
    if config::locate(config_path, env).is_none() {
        problems.extend(kube_problems(&config::Config::default()));
    }
    problems.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    problems.dedup();
    problems
}

/// The kubeconfig the kube source will use, checked offline: `[kube] kubeconfig` that cannot be
/// read, and each file its context's cluster and user name (CA, tokenFile, client certificate
/// and key) that is missing or unusable, with the kubeconfig key to fix. Without `[kube]
/// kubeconfig`, kubectl's ($KUBECONFIG, ~/.kube/config) is checked when there is one.
fn kube_problems(config: &config::Config) -> Vec<Problem> {
    let kube = &config.kube;
    if !config.source_enabled(crate::model::SourceId::Pods) {
        return Vec::new();
    }
    let named = if kube.kubeconfig.is_empty() { "kubeconfig ($KUBECONFIG or ~/.kube/config)".into() } else { kube.kubeconfig.clone() };
    let kubeconfig = match crate::backends::kube::read_kubeconfig(&kube.kubeconfig) {
        Ok(k) => k,
        Err(_) if kube.kubeconfig.is_empty() => return Vec::new(),
        Err(crate::backends::BackendError::BadSetting { detail, fix, .. }) => {
            return vec![Problem { file: named.into(), line: 0, what: detail, fix }];
        }
        Err(e) => return vec![Problem { file: named.into(), line: 0, what: e.to_string(), fix: "check [kube] kubeconfig".into() }],
    };
    // The line that names the file (paths written relative are read as absolute ones).
    let text = std::fs::read_to_string(&kube.kubeconfig).unwrap_or_default();
    let line_of = |path: &str| {
        let name = Path::new(path).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let names = |l: &str| l.contains(path) || [format!("/{name}"), format!(" {name}")].iter().any(|end| l.trim_end().ends_with(end));
        text.lines().position(|l| !name.is_empty() && names(l)).map_or(0, |i| i + 1)
    };
    crate::backends::kube_auth::unusable_files(&kubeconfig, &kube.context)
        .into_iter()
        .map(|bad| Problem { file: named.clone().into(), line: line_of(&bad.path), what: bad.to_string(), fix: bad.fix() })
        .collect()
}
