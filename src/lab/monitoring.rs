//! The lab's monitoring stack from Debian's packages: redis_exporter scraping both Redis servers,
//! Prometheus with alert rules on their `redis_up` and replication, and an Alertmanager that
//! sitrep's `[alerts]` reads. The `redis-master-down` fault makes RedisMasterDown fire.

use std::path::PathBuf;

use super::error::LabError;
use super::info::SENTINEL_MASTER;
use super::process::ProcessSpec;

#[derive(Debug, Clone)]
pub struct MonitoringPlan {
    pub dir: PathBuf,
    pub alertmanager_port: u16,
    pub prometheus_port: u16,
    pub exporter_port: u16,
    /// The Redis servers scraped (host:port), over TLS with sitrep's ACL user.
    pub redis: Vec<String>,
    pub logins: super::redis::RedisLogins,
}

/// The rules: a Redis that was master in the last 5 minutes and no longer answers, and a master
/// without a linked replica. Both name failover-redis and the Sentinel master, as sitrep reads them.
fn rules() -> String {
    format!(
        r#"groups:
  - name: sitrep-lab-redis
    rules:
      - alert: RedisMasterDown
        expr: max by (instance) (redis_up == 0) and on (instance) max by (instance) (max_over_time(redis_instance_info{{role="master"}}[5m]))
        labels:
          severity: critical
          master: {SENTINEL_MASTER}
          sitrep_runbook: failover-redis
        annotations:
          summary: "Redis master {{{{ $labels.instance }}}} does not answer"
          runbook_url: "https://runbooks.example/redis/failover-redis.md"
      - alert: RedisReplicaLost
        expr: max by (instance) (redis_connected_slaves and on (instance) redis_instance_info{{role="master"}}) < 1
        for: 5s
        labels:
          severity: warning
          master: {SENTINEL_MASTER}
        annotations:
          summary: "Redis master {{{{ $labels.instance }}}} has no linked replica"
"#
    )
}

impl MonitoringPlan {
    pub fn alertmanager_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.alertmanager_port)
    }

    pub fn alertmanager_spec(&self) -> Result<ProcessSpec, LabError> {
        super::alertmanager::alertmanager_spec(&self.dir, "alertmanager", self.alertmanager_port)
    }

    /// One exporter for both servers (its multi-target `/scrape?target=rediss://...` endpoint),
    /// checking their certificate against the lab CA; the login goes in its environment, not argv.
    pub fn exporter_spec(&self) -> Result<ProcessSpec, LabError> {
        let program = super::tools::on_path("prometheus-redis-exporter", "prometheus-redis-exporter")?;
        Ok(ProcessSpec {
            name: "redis-exporter".into(),
            program,
            args: vec![
                format!("-web.listen-address=127.0.0.1:{}", self.exporter_port),
                "-redis.addr=".into(),
                format!("-tls-ca-cert-file={}", self.logins.ca_file.display()),
            ],
            env: vec![("REDIS_USER".into(), self.logins.user.clone()), ("REDIS_PASSWORD".into(), self.logins.password.clone())],
            run_as: None,
        })
    }

    pub fn prometheus_spec(&self) -> Result<ProcessSpec, LabError> {
        let program = super::tools::on_path("prometheus", "prometheus")?;
        let home = self.dir.join("prometheus");
        std::fs::create_dir_all(home.join("data")).map_err(LabError::io("cannot create", &home))?;
        let rules_file = home.join("rules.yml");
        std::fs::write(&rules_file, rules()).map_err(LabError::io("cannot write", &rules_file))?;
        let targets: Vec<String> = self.redis.iter().map(|r| format!("\"rediss://{r}\"")).collect();
        let config = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             rule_files:\n  - {rules}\n\
             alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: [\"127.0.0.1:{am}\"]\n\
             scrape_configs:\n  - job_name: redis\n    metrics_path: /scrape\n    static_configs:\n      - targets: [{targets}]\n\
             \x20   relabel_configs:\n      - source_labels: [__address__]\n        target_label: __param_target\n\
             \x20     - source_labels: [__param_target]\n        target_label: instance\n\
             \x20     - target_label: __address__\n        replacement: 127.0.0.1:{exporter}\n",
            rules = rules_file.display(),
            am = self.alertmanager_port,
            targets = targets.join(", "),
            exporter = self.exporter_port,
        );
        let config_file = home.join("prometheus.yml");
        std::fs::write(&config_file, config).map_err(LabError::io("cannot write", &config_file))?;
        Ok(ProcessSpec {
            name: "prometheus".into(),
            program,
            args: vec![
                format!("--config.file={}", config_file.display()),
                format!("--storage.tsdb.path={}", home.join("data").display()),
                format!("--web.listen-address=127.0.0.1:{}", self.prometheus_port),
            ],
            env: vec![],
            run_as: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Prometheus's own checker reads the config and rules the lab writes.
    #[test]
    fn promtool_accepts_the_lab_config_and_its_rules() {
        let Ok(dir) = tempfile::tempdir() else { panic!("tempdir") };
        let plan = MonitoringPlan {
            dir: dir.path().to_path_buf(),
            alertmanager_port: 20001,
            prometheus_port: 20002,
            exporter_port: 20003,
            redis: vec!["127.0.0.1:20004".into(), "127.0.0.1:20005".into()],
            logins: super::super::redis::RedisLogins::generate(&dir.path().join("ca.crt")),
        };
        let spec = plan.prometheus_spec().expect("prometheus installed (scripts/install)");
        let config = spec.args[0].trim_start_matches("--config.file=").to_string();
        let promtool = super::super::tools::on_path("promtool", "prometheus").expect("promtool");
        let out = std::process::Command::new(promtool).args(["check", "config", &config]).output().expect("run promtool");
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "{text}");
        assert!(text.contains("2 rules found"), "{text}");
    }
}
