//! `sitrep lab run`: the daemon that owns a lab. It starts every component as its child, runs the
//! backup job and kube stand-in in-process (Celery's producer and worker as children), and leaves
//! nothing behind on exit.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::celery::{BrokerEndpoint, CeleryPlan};
use super::error::LabError;
use super::faults::Fault;
use super::info::*;
use super::ports::port_of;
use super::postgres::{MemberPlan, PostgresPlan};
use super::process::{Children, ProcessSpec};
use super::proxy::ProxyDelay;
use super::redis::RedisPlan;
use super::tools::{PostgresUser, Toolbox};

/// What `sitrep lab run` was asked to do.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub dir: PathBuf,
    pub owner_pid: Option<u32>,
    pub scenario: Option<String>,
    /// Remove DIR on exit (the lab created it as a temp dir).
    pub remove_dir: bool,
    pub backup_every: Duration,
}

const START_TIMEOUT: Duration = Duration::from_secs(90);

/// Runs the lab until SIGTERM, SIGINT, `down` on the control channel or the owner's death.
pub fn run(opts: RunOptions) -> Result<(), LabError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| LabError::Other(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(run_async(opts))
}

async fn run_async(opts: RunOptions) -> Result<(), LabError> {
    let estate = Arc::new(Estate::prepare(&opts)?);
    let started = Instant::now();
    let (stop_tx, mut stop_rx) = watch::channel(false);
    spawn_stop_triggers(stop_tx.clone(), opts.owner_pid)?;
    let result = tokio::select! {
        r = estate.clone().start(&opts, stop_tx.clone()) => r,
        _ = stop_rx.wait_for(|s| *s) => Err(LabError::Other("stopped while starting".into())),
    };
    match result {
        Ok(()) => {
            eprintln!("lab: ready in {:.1}s at {}", started.elapsed().as_secs_f64(), opts.dir.display());
            let _ = stop_rx.wait_for(|s| *s).await;
            eprintln!("lab: stopping");
            estate.shutdown_within(SHUTDOWN_LIMIT).await;
            if opts.remove_dir {
                let _ = std::fs::remove_dir_all(&opts.dir);
            }
            Ok(())
        }
        Err(e) => {
            eprintln!("lab: start failed: {e}");
            estate.shutdown_within(SHUTDOWN_LIMIT).await;
            Err(e)
        }
    }
}

/// SIGTERM, SIGINT and the owner process dying all flip the stop flag. They are watched on a
/// thread of their own with its own small runtime, so a busy lab runtime cannot starve them.
fn spawn_stop_triggers(stop: watch::Sender<bool>, owner: Option<u32>) -> Result<(), LabError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| LabError::Other(format!("cannot start the signal runtime: {e}")))?;
    use tokio::signal::unix::{SignalKind, signal};
    // Registered here, before `run` goes on, so a SIGTERM right after start is not lost.
    let (term, int) = {
        let _entered = runtime.enter();
        (signal(SignalKind::terminate()), signal(SignalKind::interrupt()))
    };
    let (Ok(mut term), Ok(mut int)) = (term, int) else {
        return Err(LabError::Other("cannot listen for SIGTERM/SIGINT".into()));
    };
    let watcher = move || {
        runtime.block_on(async move {
            let owner_gone = async {
                loop {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    if owner.is_some_and(|pid| !super::process::alive(pid)) {
                        return;
                    }
                }
            };
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
                _ = owner_gone => eprintln!("lab: owner process is gone"),
            }
            let _ = stop.send(true);
        });
    };
    std::thread::Builder::new()
        .name("lab-stop-triggers".into())
        .spawn(watcher)
        .map_err(|e| LabError::Other(format!("cannot start the signal thread: {e}")))?;
    Ok(())
}

/// Longest orderly shutdown; after it `lab down` kills what is left (see `Lab::down`).
const SHUTDOWN_LIMIT: Duration = Duration::from_secs(40);

/// The running lab as the supervisor sees it.
pub struct Estate {
    pub(super) dir: PathBuf,
    pub(super) tools: Toolbox,
    pub(super) children: Children,
    pub(super) pg: PostgresPlan,
    pub(super) redis: RedisPlan,
    pub(super) monitoring: super::monitoring::MonitoringPlan,
    pub(super) sentinel_direct: Vec<String>,
    /// The lab's S3 endpoint: https, the TLS front before moto.
    pub(super) s3_endpoint: String,
    pub(super) moto_port: u16,
    pub(super) pki: super::pki::LabPki,
    pub(super) s3: aws_sdk_s3::Client,
    pub(super) celery: CeleryPlan,
    pub(super) proxy_delay: Arc<ProxyDelay>,
    pub(super) tasks: Mutex<BTreeMap<&'static str, JoinHandle<()>>>,
    pub(super) paused: Mutex<Vec<u32>>,
    pub(super) backup_every: Duration,
    pub(super) kube: Mutex<Option<super::kube_link::KubeCluster>>,
}

impl Estate {
    /// Checks the machine, claims DIR and picks ports; starts nothing yet.
    fn prepare(opts: &RunOptions) -> Result<Estate, LabError> {
        let user = super::tools::postgres_user()?;
        let tools = Toolbox::find()?;
        let dir = opts.dir.clone();
        claim_dir(&dir, user)?;
        // One CA and one serving certificate for every server of the lab.
        let pki = super::pki::make(&tools.openssl, &dir, user)?;
        let p = super::ports::free_ports(16)?;
        let scope = format!("lab-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let secret = || uuid::Uuid::new_v4().simple().to_string()[..16].to_string();
        // moto on p[11] is reached only through the TLS front on p[15].
        let s3_endpoint = format!("https://127.0.0.1:{}", p[15]);
        let members = ["pg-0", "pg-1"]
            .iter()
            .enumerate()
            .map(|(i, name)| MemberPlan { name: name.to_string(), pg_port: p[2 + i], rest_port: p[4 + i], home: dir.join(name) })
            .collect();
        let pg = PostgresPlan {
            dir: dir.clone(),
            etcd_client_port: p[0],
            etcd_peer_port: p[1],
            members,
            scope,
            superuser_password: secret(),
            replication_password: secret(),
            s3_endpoint: s3_endpoint.clone(),
            pki: pki.clone(),
            passfile: dir.join("pgpass"),
        };
        let redis = RedisPlan {
            dir: dir.clone(),
            master_port: p[6],
            replica_port: p[7],
            sentinel_ports: p[8..11].to_vec(),
            pki: pki.clone(),
            logins: super::redis::RedisLogins::generate(&pki.ca_cert),
        };
        let sentinel_direct = redis.sentinel_ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        let monitoring = super::monitoring::MonitoringPlan {
            dir: dir.clone(),
            alertmanager_port: p[12],
            prometheus_port: p[13],
            exporter_port: p[14],
            redis: [redis.master_port, redis.replica_port].iter().map(|p| format!("127.0.0.1:{p}")).collect(),
            logins: redis.logins.clone(),
        };
        Ok(Estate {
            children: Children::new(&dir.join("logs")),
            celery: CeleryPlan::new(&dir, &tools.python, &tools.celery),
            s3: super::s3::client(&s3_endpoint, Some(&pki.ca_cert))?,
            moto_port: p[11],
            pki,
            dir,
            tools,
            pg,
            redis,
            monitoring,
            sentinel_direct,
            s3_endpoint,
            proxy_delay: Arc::default(),
            tasks: Mutex::default(),
            paused: Mutex::default(),
            backup_every: opts.backup_every,
            kube: Mutex::default(),
        })
        .inspect(|_| {
            let _ = std::fs::write(dir_pid_file(&opts.dir), std::process::id().to_string());
        })
    }

    fn user(&self) -> Result<PostgresUser, LabError> {
        super::tools::postgres_user()
    }

    fn spawn(&self, spec: ProcessSpec) -> Result<u32, LabError> {
        self.children.spawn(spec)
    }

    pub(super) fn keep_task(&self, name: &'static str, task: JoinHandle<()>) {
        if let Some(old) = self.tasks.lock().unwrap_or_else(|p| p.into_inner()).insert(name, task) {
            old.abort();
        }
    }

    pub(super) fn stop_task(&self, name: &'static str) -> bool {
        self.tasks.lock().unwrap_or_else(|p| p.into_inner()).remove(name).map(|t| t.abort()).is_some()
    }

    /// Starts every component, waits for health, seeds data and writes lab.json.
    async fn start(self: Arc<Self>, opts: &RunOptions, stop: watch::Sender<bool>) -> Result<(), LabError> {
        let user = self.user()?;
        self.pg.write_passfile()?;
        self.spawn(self.pg.etcd_spec(&self.tools))?;
        self.spawn(super::s3::moto_spec(&self.tools, self.moto_port))?;
        self.spawn(super::s3::tls_front_spec(&self.pki, port_of(&self.s3_endpoint), self.moto_port)?)?;
        self.spawn(self.redis.server_spec(&self.tools, "redis-0", self.redis.master_port, None)?)?;
        self.spawn(self.redis.server_spec(&self.tools, "redis-1", self.redis.replica_port, Some(self.redis.master_port))?)?;
        for i in 0..3 {
            self.spawn(self.redis.sentinel_spec(&self.tools, i)?)?;
        }
        // The monitoring stack (issue 15): exporter, Alertmanager, Prometheus with the Redis rules.
        self.spawn(self.monitoring.exporter_spec()?)?;
        self.spawn(self.monitoring.alertmanager_spec()?)?;
        self.spawn(self.monitoring.prometheus_spec()?)?;
        super::postgres::wait_etcd(&self.pg.etcd_url(), Duration::from_secs(20)).await?;
        for m in &self.pg.members {
            self.spawn(self.pg.patroni_spec(m, &self.tools, user)?)?;
        }
        let (s3_ready, redis_ready, leader) = tokio::join!(
            super::s3::wait_and_create_bucket(&self.s3, Duration::from_secs(30)),
            super::redis::wait_ready(&self.redis, Duration::from_secs(30)),
            super::postgres::wait_replicated(&self.pg, START_TIMEOUT),
        );
        s3_ready?;
        redis_ready?;
        let leader = leader?;
        let leader = self.pg.members.iter().find(|m| m.name == leader).cloned().ok_or_else(|| LabError::Other("leader vanished".into()))?;
        super::postgres::seed_shop(&self.pg, &leader).await?;
        self.seed_backups(&leader).await?;
        self.start_traffic().await?;
        let kube = self.start_kube().await?;
        let proxy = self.start_proxy().await?;
        let control = self.clone().start_control(stop).await?;
        let info = self.lab_info(opts, kube, proxy, control)?;
        super::config::write_sitrep_toml(&info)?;
        info.write()?;
        set_mode(&LabInfo::path(&self.dir), 0o600);
        if let Some(name) = &opts.scenario {
            self.clone().start_scenario(name)?;
        }
        Ok(())
    }

    /// Base backup, first dumps (with history), snapshots, and at least one archived WAL segment.
    async fn seed_backups(&self, leader: &MemberPlan) -> Result<(), LabError> {
        let env = self.pg.libpq_env();
        let work = self.dir.join("work");
        std::fs::create_dir_all(&work).map_err(LabError::io("cannot create", &work))?;
        let dsn = self.pg.dsn(leader, "postgres");
        let admin = super::postgres::connect(&dsn).await.map_err(|e| LabError::Other(format!("connect to leader: {e}")))?;
        let _ = admin.batch_execute("SELECT pg_switch_wal()").await;
        super::s3::base_backup(&self.s3, &self.tools, leader.pg_port, &env, &work, &leader.data_dir()).await?;
        let dump = super::s3::pg_dump(&self.tools, leader.pg_port, &env, &work).await?;
        super::s3::upload_dump(&self.s3, dump, true).await?;
        super::s3::seed_snapshots(&self.s3).await?;
        let deadline = Instant::now() + Duration::from_secs(20);
        while super::s3::list(&self.s3, "wal_005/").await?.is_empty() {
            if Instant::now() > deadline {
                return Err(LabError::NotHealthy {
                    component: "WAL archiving".into(),
                    secs: 20,
                    why: "no segment reached wal_005/ in the bucket".into(),
                    log: "logs/patroni-pg-*.log".into(),
                });
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        Ok(())
    }

    async fn start_traffic(&self) -> Result<(), LabError> {
        self.celery.write(&self.celery_broker())?;
        self.spawn(self.celery.producer_spec())?;
        let running = || self.children.is_running(super::celery::PRODUCER);
        self.celery.wait_filled(running, Duration::from_secs(30), &self.children.log_path(super::celery::PRODUCER)).await?;
        self.spawn(self.celery.worker_spec())?;
        let dsns = self.pg.members.iter().map(|m| self.pg.dsn(m, "shop")).collect();
        self.keep_task("orders", tokio::spawn(super::postgres::write_orders_forever(dsns, Duration::from_millis(200))));
        self.start_backup_job();
        Ok(())
    }

    /// pg_dump of `shop` every `backup_every`, from whichever member leads.
    pub(super) fn start_backup_job(&self) {
        let (tools, s3, every) = (self.tools.clone(), self.s3.clone(), self.backup_every);
        let (members, env, urls) = (self.pg.members.clone(), self.pg.libpq_env(), self.patroni_urls());
        let work = self.dir.join("work");
        self.keep_task(
            "backups",
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    let Some(leader) = super::postgres::leader(&urls).await else { continue };
                    let Some(m) = members.iter().find(|m| m.name == leader) else { continue };
                    match super::s3::pg_dump(&tools, m.pg_port, &env, &work).await {
                        Ok(dump) => {
                            if let Err(e) = super::s3::upload_dump(&s3, dump, false).await {
                                eprintln!("lab: backup upload failed: {e}");
                            }
                        }
                        Err(e) => eprintln!("lab: scheduled backup failed: {e}"),
                    }
                }
            }),
        );
    }

    /// The broker as Celery reaches it: the Sentinels' own addresses (not the slow proxy), the
    /// master's name; no login and no TLS while the lab's Redis has neither.
    fn celery_broker(&self) -> BrokerEndpoint {
        // The Sentinels and logins sitrep itself uses (TLS with the lab CA, the ACL user).
        let s = self.redis.settings();
        let given = |v: &str| (!v.is_empty()).then(|| v.to_string());
        BrokerEndpoint {
            sentinels: s.addrs.clone(),
            master_name: s.master.clone(),
            username: given(&s.data.username),
            password: given(&s.data.password),
            sentinel_username: given(&s.sentinel.username),
            sentinel_password: given(&s.sentinel.password),
            ca_file: s.data.tls.as_ref().and_then(|t| t.ca_file.clone()),
        }
    }

    pub(super) fn patroni_urls(&self) -> Vec<String> {
        self.pg.members.iter().map(|m| m.patroni_url()).collect()
    }

    /// Serves the Kubernetes API stand-in and writes DIR/kubeconfig; returns its URL.
    async fn start_kube(&self) -> Result<String, LabError> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| LabError::Other(format!("kube stand-in: {e}")))?;
        let setup = super::kube_link::KubeSetup { pki: &self.pki, dir: &self.dir, context: KUBE_CONTEXT, namespace: KUBE_NAMESPACE };
        let (cluster, url, task) = super::kube_link::start(listener, &setup).await?;
        *self.kube.lock().unwrap_or_else(|p| p.into_inner()) = cluster;
        self.keep_task("kube", task);
        Ok(url)
    }

    /// The delaying proxy in front of Sentinel 0; returns its address.
    async fn start_proxy(&self) -> Result<String, LabError> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| LabError::Other(format!("proxy: {e}")))?;
        let addr = listener.local_addr().map_err(|e| LabError::Other(e.to_string()))?.to_string();
        let upstream = self.sentinel_direct[0].clone();
        self.keep_task("proxy", tokio::spawn(super::proxy::serve(listener, upstream, self.proxy_delay.clone())));
        Ok(addr)
    }

    /// The loopback control channel `sitrep lab fault` talks to.
    async fn start_control(self: Arc<Self>, stop: watch::Sender<bool>) -> Result<(String, String), LabError> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| LabError::Other(format!("control: {e}")))?;
        let addr = listener.local_addr().map_err(|e| LabError::Other(e.to_string()))?.to_string();
        let token = uuid::Uuid::new_v4().simple().to_string();
        let (me, tok) = (self.clone(), token.clone());
        self.keep_task(
            "control",
            tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let (me, tok, stop) = (me.clone(), tok.clone(), stop.clone());
                    tokio::spawn(async move { me.answer(stream, &tok, &stop).await });
                }
            }),
        );
        Ok((addr, token))
    }

    async fn answer(&self, stream: tokio::net::TcpStream, token: &str, stop: &watch::Sender<bool>) {
        let (rx, mut tx) = stream.into_split();
        let mut line = String::new();
        if BufReader::new(rx).read_line(&mut line).await.is_err() {
            return;
        }
        let reply = match super::control::parse(&line, token) {
            None => "error bad token".to_string(),
            Some(("ping", _)) => "ok pong".into(),
            Some(("down", _)) => {
                let _ = stop.send(true);
                "ok stopping".into()
            }
            Some(("fault", name)) => match Fault::parse(name) {
                Ok(f) => match self.apply(f).await {
                    Ok(detail) => format!("ok {detail}"),
                    Err(e) => format!("error {}", e.to_string().replace('\n', " ")),
                },
                Err(e) => format!("error {e}"),
            },
            Some(("backup-tools", action)) => match self.backup_tools(action).await {
                Ok(detail) => format!("ok {detail}"),
                Err(e) => format!("error {}", e.to_string().replace('\n', " ")),
            },
            Some((verb, _)) => format!("error unknown command {verb}"),
        };
        let _ = tx.write_all(format!("{reply}\n").as_bytes()).await;
    }

    fn start_scenario(self: Arc<Self>, name: &str) -> Result<(), LabError> {
        let steps = super::scenarios::steps(name)?;
        let name = name.to_string();
        let me = self.clone();
        self.keep_task(
            "scenario",
            tokio::spawn(async move {
                let began = Instant::now();
                for step in steps {
                    tokio::time::sleep(step.at.saturating_sub(began.elapsed())).await;
                    match me.apply(step.fault).await {
                        Ok(detail) => eprintln!("lab: scenario {name}: {} ({detail})", step.fault.name()),
                        Err(e) => eprintln!("lab: scenario {name}: {} failed: {e}", step.fault.name()),
                    }
                }
            }),
        );
        Ok(())
    }

    fn lab_info(&self, opts: &RunOptions, kube: String, proxy: String, control: (String, String)) -> Result<LabInfo, LabError> {
        let members = self
            .pg
            .members
            .iter()
            .map(|m| PostgresMember {
                name: m.name.clone(),
                dsn: self.pg.dsn(m, "shop"),
                port: m.pg_port,
                patroni_url: m.patroni_url(),
                data_dir: m.data_dir(),
            })
            .collect();
        let mut pids = self.children.pids();
        for m in &self.pg.members {
            if let Some(pid) = super::postgres::postmaster_pid(&m.data_dir()) {
                pids.insert(format!("postgres-{}", m.name), pid);
            }
        }
        let mut ports = BTreeMap::new();
        ports.insert("etcd".into(), self.pg.etcd_client_port);
        ports.insert("etcd-peer".into(), self.pg.etcd_peer_port);
        for m in &self.pg.members {
            ports.insert(format!("postgres-{}", m.name), m.pg_port);
            ports.insert(format!("patroni-{}", m.name), m.rest_port);
        }
        ports.insert("redis-0".into(), self.redis.master_port);
        ports.insert("redis-1".into(), self.redis.replica_port);
        for (i, p) in self.redis.sentinel_ports.iter().enumerate() {
            ports.insert(format!("sentinel-{i}"), *p);
        }
        ports.insert("sentinel-0-proxy".into(), port_of(&proxy));
        ports.insert("moto".into(), self.moto_port);
        ports.insert("s3-tls".into(), port_of(&self.s3_endpoint));
        ports.insert("alertmanager".into(), self.monitoring.alertmanager_port);
        ports.insert("prometheus".into(), self.monitoring.prometheus_port);
        ports.insert("redis-exporter".into(), self.monitoring.exporter_port);
        ports.insert("kube".into(), port_of(&kube));
        ports.insert("control".into(), port_of(&control.0));
        let mut sentinels = vec![proxy];
        sentinels.extend(self.sentinel_direct[1..].iter().cloned());
        Ok(LabInfo {
            dir: self.dir.clone(),
            started_at: chrono::Utc::now(),
            scenario: opts.scenario.clone(),
            supervisor_pid: std::process::id(),
            control_addr: control.0,
            control_token: control.1,
            kube: KubeEndpoints {
                kubeconfig: super::kube_link::kubeconfig_path(&self.dir),
                server: kube,
                context: KUBE_CONTEXT.into(),
                namespace: KUBE_NAMESPACE.into(),
            },
            postgres: PostgresEndpoints {
                members,
                etcd_url: self.pg.etcd_url(),
                scope: self.pg.scope.clone(),
                superuser: super::postgres::SUPERUSER.into(),
                superuser_password: self.pg.superuser_password.clone(),
                replication_user: super::postgres::REPLICATION_USER.into(),
                replication_password: self.pg.replication_password.clone(),
                database: "shop".into(),
                ca_file: self.pki.ca_cert.clone(),
                passfile: self.pg.passfile.clone(),
            },
            redis: RedisEndpoints {
                master: format!("127.0.0.1:{}", self.redis.master_port),
                replica: format!("127.0.0.1:{}", self.redis.replica_port),
                sentinels,
                sentinels_direct: self.sentinel_direct.clone(),
                master_name: SENTINEL_MASTER.into(),
                logins: self.redis.logins.clone(),
            },
            queues: QueueEndpoints { names: QUEUE_NAMES.iter().map(|s| s.to_string()).collect() },
            s3: S3Endpoints {
                endpoint: self.s3_endpoint.clone(),
                bucket: S3_BUCKET.into(),
                region: S3_REGION.into(),
                access_key_id: S3_ACCESS_KEY.into(),
                secret_access_key: S3_SECRET_KEY.into(),
                credentials_file: super::config::write_aws_credentials(&self.dir)?,
                profile: super::config::AWS_PROFILE.into(),
                ca_file: self.pki.ca_cert.clone(),
            },
            pids,
            ports,
            backup_every_secs: self.backup_every.as_secs(),
        })
    }

    /// `shutdown`, given up after `limit` (the remaining children are then `Lab::down`'s to kill).
    async fn shutdown_within(&self, limit: Duration) {
        if tokio::time::timeout(limit, self.shutdown()).await.is_err() {
            eprintln!("lab: shutdown took longer than {}s; leaving the rest to `lab down`", limit.as_secs());
        }
    }

    /// Stops traffic, then Patroni (which stops Postgres), then everything else; kills strays.
    async fn shutdown(&self) {
        let tasks: Vec<JoinHandle<()>> = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|p| p.into_inner())).into_values().collect();
        tasks.iter().for_each(|t| t.abort());
        for pid in std::mem::take(&mut *self.paused.lock().unwrap_or_else(|p| p.into_inner())) {
            super::process::send(pid, libc::SIGCONT);
        }
        let patronis: Vec<String> = self.pg.members.iter().map(|m| format!("patroni-{}", m.name)).collect();
        let stops = patronis.iter().map(|n| self.children.stop(n, Duration::from_secs(20)));
        futures::future::join_all(stops).await;
        for m in &self.pg.members {
            kill_stray_postmaster(&m.data_dir()).await;
        }
        self.children.stop_all(&[], Duration::from_secs(5)).await;
        let _ = std::fs::remove_file(LabInfo::path(&self.dir));
        let _ = std::fs::remove_file(dir_pid_file(&self.dir));
    }
}

pub const KUBE_CONTEXT: &str = "sitrep-lab";
pub const KUBE_NAMESPACE: &str = "shop";

/// SIGQUIT (immediate shutdown) a postmaster Patroni left behind, then SIGKILL it and its children.
pub(super) async fn kill_stray_postmaster(data_dir: &Path) {
    let Some(pid) = super::postgres::postmaster_pid(data_dir) else { return };
    super::process::send(pid, libc::SIGQUIT);
    for _ in 0..40 {
        if !super::process::alive(pid) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for child in super::postgres::children_of(pid) {
        super::process::send(child, libc::SIGKILL);
    }
    super::process::send(pid, libc::SIGKILL);
}

pub fn dir_pid_file(dir: &Path) -> PathBuf {
    dir.join("supervisor.pid")
}

/// The pid of a live supervisor already owning `dir`, if any.
pub fn running_supervisor(dir: &Path) -> Option<u32> {
    let pid: u32 = std::fs::read_to_string(dir_pid_file(dir)).ok()?.trim().parse().ok()?;
    (pid != std::process::id() && super::process::alive(pid)).then_some(pid)
}

/// Creates DIR and its subdirectories readable by the postgres user.
fn claim_dir(dir: &Path, user: PostgresUser) -> Result<(), LabError> {
    if let Some(pid) = running_supervisor(dir) {
        return Err(LabError::DirInUse { dir: dir.to_path_buf(), pid });
    }
    for sub in ["", "logs", "bin", "faults", "work"] {
        let d = dir.join(sub);
        std::fs::create_dir_all(&d).map_err(LabError::io("cannot create", &d))?;
        set_mode(&d, 0o755);
    }
    super::tools::check_shareable(dir)?;
    super::tools::chown(&dir.join("work"), user)?;
    set_mode(&dir.join("work"), 0o777);
    let exe = std::env::current_exe().map_err(|e| LabError::NoSitrepBinary { why: e.to_string() })?;
    let copy = dir.join("bin/sitrep");
    if !copy.exists() {
        std::fs::copy(&exe, &copy).map_err(LabError::io("cannot copy the sitrep binary to", &copy))?;
    }
    set_mode(&copy, 0o755);
    Ok(())
}

pub(super) fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
}
