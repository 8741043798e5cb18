//! A Redis master and replica (no persistence) and three Sentinels watching `mymaster`
//! with quorum 2, plus the small client helpers the queues and health checks share.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::error::LabError;
use super::info::SENTINEL_MASTER;
use super::process::ProcessSpec;
use super::tools::Toolbox;

#[derive(Debug, Clone)]
pub struct RedisPlan {
    pub dir: PathBuf,
    pub master_port: u16,
    pub replica_port: u16,
    pub sentinel_ports: Vec<u16>,
}

impl RedisPlan {
    pub fn server_spec(&self, tools: &Toolbox, name: &str, port: u16, replica_of: Option<u16>) -> Result<ProcessSpec, LabError> {
        let home = self.dir.join(name);
        std::fs::create_dir_all(&home).map_err(LabError::io("cannot create", &home))?;
        let mut args: Vec<String> = [
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            &home.display().to_string(),
            "--daemonize",
            "no",
            "--protected-mode",
            "no",
            "--loglevel",
            "warning",
        ]
        .map(String::from)
        .to_vec();
        if let Some(master) = replica_of {
            args.extend(["--replicaof".into(), "127.0.0.1".into(), master.to_string()]);
        }
        Ok(ProcessSpec { name: name.into(), program: tools.redis_server.clone(), args, env: vec![], run_as: None })
    }

    /// Writes DIR/sentinel-N/sentinel.conf (Sentinel rewrites it) and returns the spec.
    pub fn sentinel_spec(&self, tools: &Toolbox, index: usize) -> Result<ProcessSpec, LabError> {
        let name = format!("sentinel-{index}");
        let home = self.dir.join(&name);
        std::fs::create_dir_all(&home).map_err(LabError::io("cannot create", &home))?;
        let conf = home.join("sentinel.conf");
        let text = format!(
            "port {port}\nbind 127.0.0.1\nprotected-mode no\ndaemonize no\ndir {home}\nloglevel warning\n\
             sentinel monitor {SENTINEL_MASTER} 127.0.0.1 {master} 2\n\
             sentinel down-after-milliseconds {SENTINEL_MASTER} 2000\n\
             sentinel failover-timeout {SENTINEL_MASTER} 10000\n\
             sentinel parallel-syncs {SENTINEL_MASTER} 1\n",
            port = self.sentinel_ports[index],
            home = home.display(),
            master = self.master_port,
        );
        std::fs::write(&conf, text).map_err(LabError::io("cannot write", &conf))?;
        Ok(ProcessSpec { name, program: tools.redis_sentinel.clone(), args: vec![conf.display().to_string()], env: vec![], run_as: None })
    }
}

/// A connection with timeouts short enough for a lab that kills its own servers.
pub async fn connect(addr: &str) -> redis::RedisResult<redis::aio::MultiplexedConnection> {
    let client = redis::Client::open(format!("redis://{addr}/"))?;
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(2)))
        .set_response_timeout(Some(Duration::from_secs(5)));
    client.get_multiplexed_async_connection_with_config(&config).await
}

/// `SENTINEL get-master-addr-by-name mymaster` on one Sentinel, as "host:port".
pub async fn master_from_sentinel(sentinel: &str) -> redis::RedisResult<String> {
    let mut con = connect(sentinel).await?;
    let (host, port): (String, String) =
        redis::cmd("SENTINEL").arg("get-master-addr-by-name").arg(SENTINEL_MASTER).query_async(&mut con).await?;
    Ok(format!("{host}:{port}"))
}

/// The master most Sentinels agree on (the first that answers when they all agree).
pub async fn current_master(sentinels: &[String]) -> Option<String> {
    for s in sentinels {
        if let Ok(m) = master_from_sentinel(s).await {
            return Some(m);
        }
    }
    None
}

pub async fn ping(addr: &str) -> redis::RedisResult<String> {
    let mut con = connect(addr).await?;
    redis::cmd("PING").query_async(&mut con).await
}

/// Waits until the replica is in sync and every Sentinel knows the master and the other two.
pub async fn wait_ready(plan: &RedisPlan, timeout: Duration) -> Result<(), LabError> {
    let deadline = Instant::now() + timeout;
    let replica = format!("127.0.0.1:{}", plan.replica_port);
    let mut last = String::new();
    while Instant::now() < deadline {
        match ready_once(plan, &replica).await {
            Ok(()) => return Ok(()),
            Err(e) => last = e,
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(LabError::NotHealthy {
        component: "redis".into(),
        secs: timeout.as_secs(),
        why: last,
        log: "logs/redis-*.log, logs/sentinel-*.log".into(),
    })
}

async fn ready_once(plan: &RedisPlan, replica: &str) -> Result<(), String> {
    let mut con = connect(replica).await.map_err(|e| format!("replica: {e}"))?;
    let info: String = redis::cmd("INFO").arg("replication").query_async(&mut con).await.map_err(|e| e.to_string())?;
    if !info.contains("master_link_status:up") {
        return Err("replica link to master is not up yet".into());
    }
    for port in &plan.sentinel_ports {
        let addr = format!("127.0.0.1:{port}");
        let mut con = connect(&addr).await.map_err(|e| format!("sentinel {addr}: {e}"))?;
        let sentinels: Vec<redis::Value> =
            redis::cmd("SENTINEL").arg("sentinels").arg(SENTINEL_MASTER).query_async(&mut con).await.map_err(|e| e.to_string())?;
        if sentinels.len() < plan.sentinel_ports.len() - 1 {
            return Err(format!("sentinel {addr} knows {} other sentinels", sentinels.len()));
        }
        let replicas: Vec<redis::Value> =
            redis::cmd("SENTINEL").arg("replicas").arg(SENTINEL_MASTER).query_async(&mut con).await.map_err(|e| e.to_string())?;
        if replicas.is_empty() {
            return Err(format!("sentinel {addr} has not discovered the replica"));
        }
    }
    Ok(())
}
