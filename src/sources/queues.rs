//! Queue collector: Celery queue depths (LLEN of each kombu list) and kombu's unacked count,
//! on a plain Redis URL or on whichever master the Sentinels report (read by `backends::redis`).

use super::Collect;
use crate::backends::BackendError;
use crate::backends::redis::{QueueReader, SentinelSettings};
use crate::config::QueueSource;
use crate::model::Observation;
use std::time::Duration;

pub struct Collector {
    reader: QueueReader,
}

impl Collector {
    pub fn new(queues: &QueueSource, sentinels: &SentinelSettings, timeout: Duration) -> Self {
        Collector { reader: QueueReader::new(&queues.url, &queues.names, sentinels, timeout) }
    }

    /// The settings the Sentinels are asked with (and the master they name is reached with).
    pub fn sentinel_settings(&self) -> &SentinelSettings {
        self.reader.sentinel_settings()
    }
}

impl Collect for Collector {
    async fn collect(&mut self) -> Result<Observation, BackendError> {
        self.reader.read().await.map(Observation::Queues)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Env, Overrides, resolve};

    fn collector_for(file_text: &str, env: &Env) -> Option<Collector> {
        let dir = tempfile::tempdir().ok()?;
        let file = dir.path().join("sitrep.toml");
        std::fs::write(&file, file_text).ok()?;
        let config = resolve(Some(&file), env, &Overrides::default()).ok()?;
        Some(Collector::new(&config.queues, &config.sentinel_settings(), Duration::from_secs(1)))
    }

    fn password_used(c: &Collector, addr: &str) -> Option<String> {
        c.sentinel_settings().connection_info(addr).ok()?.redis_settings().password().map(str::to_string)
    }

    #[test]
    fn the_sentinel_password_from_the_environment_reaches_the_queue_collectors_sentinel_connections() {
        let env = Env { sentinel_password: Some("from-env".into()), ..Env::default() };
        let c = collector_for("[sentinel]\naddrs = [\"10.0.0.7:26379\"]\n\n[queues]\nnames = [\"celery\"]\n", &env);
        let c = c.as_ref();
        assert_eq!(c.and_then(|c| password_used(c, "10.0.0.7:26379")).as_deref(), Some("from-env"));
        // The master a Sentinel names is reached with the same settings.
        assert_eq!(c.and_then(|c| password_used(c, "10.0.0.9:6379")).as_deref(), Some("from-env"));
    }

    #[test]
    fn a_password_in_the_file_wins_over_the_environment_and_none_means_none() {
        let env = Env { sentinel_password: Some("from-env".into()), ..Env::default() };
        let c = collector_for("[sentinel]\naddrs = [\"s:26379\"]\npassword = \"from-file\"\n", &env);
        assert_eq!(c.as_ref().and_then(|c| password_used(c, "s:26379")).as_deref(), Some("from-file"));
        let c = collector_for("[sentinel]\naddrs = [\"s:26379\"]\n", &Env::default());
        assert_eq!(c.as_ref().map(|c| password_used(c, "s:26379")), Some(None));
    }
}
