//! `sitrep lab status`: a real check of every component of a running lab
//! over TLS with the lab's logins (SQL, Patroni REST, PING, SENTINEL, S3 ListObjects, kube /version
//! with the lab's kubeconfig).

use std::time::Duration;

use super::info::LabInfo;

/// The outcome of one component's check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    Healthy { detail: String },
    Failing { error: String },
}

/// One line of `lab status`.
#[derive(Debug, Clone)]
pub struct ComponentHealth {
    pub component: String,
    pub addr: String,
    pub health: Health,
}

impl ComponentHealth {
    pub fn is_healthy(&self) -> bool {
        matches!(self.health, Health::Healthy { .. })
    }
}

impl std::fmt::Display for ComponentHealth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.health {
            Health::Healthy { detail } => write!(f, "{:<12} {:<22} healthy  {detail}", self.component, self.addr),
            Health::Failing { error } => write!(f, "{:<12} {:<22} FAILING  {error}", self.component, self.addr),
        }
    }
}

fn outcome<E: std::fmt::Display>(r: Result<String, E>) -> Health {
    match r {
        Ok(detail) => Health::Healthy { detail },
        Err(e) => Health::Failing { error: e.to_string() },
    }
}

async fn timed<T, E: std::fmt::Display>(f: impl Future<Output = Result<T, E>>) -> Result<T, String> {
    match tokio::time::timeout(Duration::from_secs(4), f).await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(_) => Err("no answer within 4s".into()),
    }
}

/// Checks every component concurrently.
pub async fn check_all(info: &LabInfo) -> Vec<ComponentHealth> {
    let mut checks = vec![];
    let http = reqwest::Client::builder().timeout(Duration::from_secs(3)).build().unwrap_or_default();
    checks.push(("etcd".to_string(), info.postgres.etcd_url.clone(), {
        let http = http.clone();
        let url = format!("{}/v3/maintenance/status", info.postgres.etcd_url);
        Box::pin(async move {
            let r = timed(http.post(url).body("{}").send()).await?;
            r.error_for_status().map(|_| "v3 status answers".to_string()).map_err(|e| e.to_string())
        }) as std::pin::Pin<Box<dyn Future<Output = Result<String, String>> + Send>>
    }));
    for m in &info.postgres.members {
        let dsn = m.dsn.clone();
        checks.push((
            m.name.clone(),
            format!("127.0.0.1:{}", m.port),
            Box::pin(async move {
                let client = timed(super::postgres::connect(&dsn)).await?;
                let row = timed(client.query_one("SELECT pg_is_in_recovery(), (SELECT count(*) FROM customers)", &[])).await?;
                let standby: bool = row.get(0);
                let customers: i64 = row.get(1);
                Ok(format!("{}; shop.customers = {customers}", if standby { "standby" } else { "primary" }))
            }),
        ));
        let (http, url) = (http.clone(), m.patroni_url.clone());
        checks.push((
            format!("patroni-{}", m.name),
            url.trim_start_matches("http://").to_string(),
            Box::pin(async move {
                let r = timed(http.get(format!("{url}/patroni")).send()).await?;
                let v: serde_json::Value = timed(r.json()).await?;
                Ok(format!("role {} state {}", v["role"].as_str().unwrap_or("?"), v["state"].as_str().unwrap_or("?")))
            }),
        ));
    }
    // Redis and the Sentinels over TLS with the lab's logins, through sitrep's backends.
    let redis = info.redis.logins.sentinel_settings(&info.redis.sentinels);
    for (name, addr) in [("redis-0", &info.redis.master), ("redis-1", &info.redis.replica)] {
        let (addr, redis) = (addr.clone(), redis.clone());
        checks.push((
            name.to_string(),
            addr.clone(),
            Box::pin(async move {
                let mut con = timed(redis.connect_master(&addr, Duration::from_secs(3))).await?;
                let role: Vec<redis::Value> = timed(redis::cmd("ROLE").query_async(&mut con)).await?;
                let role = match role.first() {
                    Some(redis::Value::BulkString(r)) => String::from_utf8_lossy(r).to_string(),
                    _ => "?".into(),
                };
                Ok(format!("PONG; role {role}"))
            }),
        ));
    }
    for (i, addr) in info.redis.sentinels.iter().enumerate() {
        let (addr, redis) = (addr.clone(), redis.clone());
        checks.push((
            format!("sentinel-{i}"),
            addr.clone(),
            Box::pin(async move { timed(super::redis::master_from_sentinel(&redis, &addr)).await.map(|m| format!("master {m}")) }),
        ));
    }
    let s3 = super::s3::lab_client(info);
    checks.push((
        "s3".into(),
        info.s3.endpoint.trim_start_matches("https://").to_string(),
        Box::pin(async move {
            let s3 = s3.map_err(|e| e.to_string())?;
            let keys = timed(super::s3::list(&s3, "")).await?;
            Ok(format!("{} objects in {}", keys.len(), super::info::S3_BUCKET))
        }),
    ));
    let (kubeconfig, context) = (info.kube.kubeconfig.display().to_string(), info.kube.context.clone());
    checks.push((
        "kube".into(),
        info.kube.server.trim_start_matches("https://").to_string(),
        // Through the kubeconfig, as kubectl: the CA it trusts and a token from its exec plugin.
        Box::pin(async move {
            let client = timed(crate::backends::kube::client(&kubeconfig, &context, Duration::from_secs(3))).await?;
            let v = timed(client.apiserver_version()).await?;
            Ok(format!("version {}", v.git_version))
        }),
    ));
    let futures =
        checks.into_iter().map(|(component, addr, check)| async move { ComponentHealth { component, addr, health: outcome(check.await) } });
    futures::future::join_all(futures).await
}
