//! A real Alertmanager (Debian's `prometheus-alertmanager`) for the lab and the tests: a minimal
//! config in its own dir, one loopback port, clustering off, alerts grouped at once.

use std::path::Path;

use super::error::LabError;
use super::process::ProcessSpec;

/// The route sends every alert to one receiver that notifies nobody: sitrep reads the API.
const CONFIG: &str = "route:\n  receiver: sitrep\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\n\
receivers:\n  - name: sitrep\n";

/// How to start an Alertmanager called `name` on 127.0.0.1:`port`, keeping its state in `dir/name`.
pub fn alertmanager_spec(dir: &Path, name: &str, port: u16) -> Result<ProcessSpec, LabError> {
    let program = super::tools::on_path("prometheus-alertmanager", "prometheus-alertmanager")?;
    let home = dir.join(name);
    std::fs::create_dir_all(home.join("data")).map_err(LabError::io("cannot create", &home))?;
    let config = home.join("alertmanager.yml");
    std::fs::write(&config, CONFIG).map_err(LabError::io("cannot write", &config))?;
    Ok(ProcessSpec {
        name: name.into(),
        program,
        args: vec![
            format!("--config.file={}", config.display()),
            format!("--storage.path={}", home.join("data").display()),
            format!("--web.listen-address=127.0.0.1:{port}"),
            // No gossip: a lone instance, and no second port to race for.
            "--cluster.listen-address=".into(),
        ],
        env: vec![],
        run_as: None,
    })
}
