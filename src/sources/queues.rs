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
        Collector { reader: QueueReader::new(&queues.settings(), &queues.names, sentinels, timeout) }
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

    /// The (user, password) a connection to `addr` logs in with: a Sentinel's, or a master's.
    fn login(c: &Collector, addr: &str, master: bool) -> Option<(String, String)> {
        let s = c.sentinel_settings();
        let t = if master { s.data_target(addr) } else { s.sentinel_target(addr) }.ok()?;
        Some((t.node().username.clone(), t.node().password.clone()))
    }

    fn pair(user: &str, password: &str) -> Option<(String, String)> {
        Some((user.into(), password.into()))
    }

    #[test]
    fn the_sentinel_password_from_the_environment_reaches_the_queue_collectors_sentinel_connections() {
        let env = Env { sentinel_password: Some("from-env".into()), redis_password: Some("data-env".into()), ..Env::default() };
        let c = collector_for("[sentinel]\naddrs = [\"10.0.0.7:26379\"]\n\n[queues]\nnames = [\"celery\"]\n", &env);
        let c = c.as_ref();
        assert_eq!(c.and_then(|c| login(c, "10.0.0.7:26379", false)), pair("", "from-env"));
        // The master a Sentinel names is reached with the master's password, not the Sentinels'.
        assert_eq!(c.and_then(|c| login(c, "10.0.0.9:6379", true)), pair("", "data-env"));
    }

    #[test]
    fn a_password_in_the_file_wins_over_the_environment_and_none_means_none() {
        let env = Env { sentinel_password: Some("from-env".into()), redis_password: Some("data-env".into()), ..Env::default() };
        let text = "[sentinel]\naddrs = [\"s:26379\"]\nusername = \"watch\"\npassword = \"from-file\"\nmaster_username = \"app\"\nmaster_password = \"m-file\"\n";
        let c = collector_for(text, &env);
        assert_eq!(c.as_ref().and_then(|c| login(c, "s:26379", false)), pair("watch", "from-file"));
        assert_eq!(c.as_ref().and_then(|c| login(c, "m:6379", true)), pair("app", "m-file"));
        let c = collector_for("[sentinel]\naddrs = [\"s:26379\"]\npassword = \"sentinel-only\"\n", &Env::default());
        assert_eq!(c.as_ref().and_then(|c| login(c, "m:6379", true)), pair("", ""), "the Sentinels' password is theirs alone");
    }

    #[test]
    fn sentinel_tls_reaches_the_sentinels_and_the_master_they_name() {
        let text = "[sentinel]\naddrs = [\"s:26380\"]\ntls = true\n";
        let c = collector_for(text, &Env::default());
        let tls = |master: bool| {
            let s = c.as_ref()?.sentinel_settings();
            let t = if master { s.data_target("m:6380") } else { s.sentinel_target("s:26380") }.ok()?;
            t.node().tls.clone()
        };
        assert_eq!(tls(false), Some(crate::backends::redis::RedisTls::default()));
        assert_eq!(tls(true), Some(crate::backends::redis::RedisTls::default()));
    }
}
