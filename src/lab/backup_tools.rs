//! Opt-in real backup tools for a running lab: pgBackRest and Barman Cloud writing into the lab's
//! S3 through the lab's TLS front (socat with the lab CA's certificate, in front of moto; the
//! one S3 endpoint of the lab). `sitrep lab backup-tools`.
//!
//! `setup` writes
//! DIR/backup-tools/pgbackrest.conf (owned by postgres) and settings.json, runs `stanza-create`,
//! `check`, a full pgBackRest backup and a Barman Cloud backup. From then on the lab's
//! archive_command (`sitrep lab wal-push`) also runs `pgbackrest archive-push` and
//! `barman-cloud-wal-archive` for every segment, so `pg-archive-broken` breaks them too.
//! The wal-g imitation keeps working beside them.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::error::LabError;
use super::info::{S3_ACCESS_KEY, S3_BUCKET, S3_REGION, S3_SECRET_KEY};
use super::supervisor::Estate;
use super::tools::PostgresUser;

/// pgBackRest's stanza and Barman's server name in the lab.
pub const STANZA: &str = "shop";
pub const BARMAN_SERVER: &str = "shop";
/// Key prefixes of the two repositories in the lab's bucket (pgBackRest's `repo1-path`).
pub const PGBACKREST_PREFIX: &str = "pgbackrest/";
pub const BARMAN_PREFIX: &str = "barman/";
/// The name in the lab certificate; pgBackRest connects to 127.0.0.1 but checks this name.
pub const TLS_NAME: &str = super::pki::S3_TLS_NAME;

/// Everything the archive hook and the tests need, in DIR/backup-tools/settings.json.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    /// `https://127.0.0.1:PORT`: the TLS front.
    pub endpoint: String,
    pub tls_port: u16,
    /// The lab CA, for `repo1-storage-ca-file` and `AWS_CA_BUNDLE`.
    pub ca_file: PathBuf,
    pub pgbackrest_config: PathBuf,
    pub bucket: String,
}

impl Settings {
    pub fn path(lab_dir: &Path) -> PathBuf {
        home(lab_dir).join("settings.json")
    }

    /// The settings of a lab whose backup tools are set up; None when they are not.
    pub fn read(lab_dir: &Path) -> Option<Settings> {
        serde_json::from_slice(&std::fs::read(Self::path(lab_dir)).ok()?).ok()
    }

    /// The environment boto3 (Barman Cloud) needs: the lab's fake credentials and the CA.
    pub fn aws_env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ACCESS_KEY_ID", S3_ACCESS_KEY.to_string()),
            ("AWS_SECRET_ACCESS_KEY", S3_SECRET_KEY.to_string()),
            ("AWS_DEFAULT_REGION", S3_REGION.to_string()),
            ("AWS_CA_BUNDLE", self.ca_file.display().to_string()),
        ]
        .map(|(k, v)| (k.to_string(), v))
        .to_vec()
    }

    pub fn barman_url(&self) -> String {
        format!("s3://{}/{}", self.bucket, BARMAN_PREFIX.trim_end_matches('/'))
    }
}

/// DIR/backup-tools.
pub fn home(lab_dir: &Path) -> PathBuf {
    lab_dir.join("backup-tools")
}

/// Sends `backup-tools ACTION` to the lab's supervisor (actions: see [`ACTIONS`]).
pub fn request(info: &super::LabInfo, action: &str) -> Result<String, LabError> {
    super::control::request(info, &format!("backup-tools {action}"), Duration::from_secs(900))
}

/// What `sitrep lab backup-tools` accepts.
pub const ACTIONS: [(&str, &str); 7] = [
    ("setup", "pgbackrest.conf, stanza-create, check, a full pgBackRest backup and a Barman Cloud backup"),
    ("full", "pgbackrest backup --type=full"),
    ("diff", "pgbackrest backup --type=diff"),
    ("incr", "pgbackrest backup --type=incr"),
    ("barman", "barman-cloud-backup"),
    ("pgbackrest-info", "pgbackrest info --output=json (one line)"),
    ("barman-list", "barman-cloud-backup-list --format json (one line)"),
];

/// Programs the real tools need; a missing one names its Debian package.
fn program(name: &str, package: &str) -> Result<PathBuf, LabError> {
    super::tools::on_path(name, package)
}

/// The lab's pgbackrest.conf: the repository only; `pg1-*` are given per command because the
/// leader (and the member that archives) moves with failovers.
pub fn pgbackrest_conf(s: &Settings, tools_home: &Path) -> String {
    format!(
        "# Written by `sitrep lab backup-tools`; the credentials are the lab's fake ones.\n\
         [global]\nrepo1-type=s3\nrepo1-path=/{prefix}\nrepo1-s3-bucket={bucket}\nrepo1-s3-endpoint={TLS_NAME}\n\
         repo1-storage-host=127.0.0.1\nrepo1-storage-port={port}\nrepo1-s3-uri-style=path\nrepo1-s3-region={S3_REGION}\n\
         repo1-s3-key={S3_ACCESS_KEY}\nrepo1-s3-key-secret={S3_SECRET_KEY}\nrepo1-storage-ca-file={ca}\n\
         repo1-retention-full=2\nstart-fast=y\ncompress-type=gz\nlog-level-console=warn\nlog-level-file=info\n\
         lock-path={lock}\nlog-path={log}\n\n[{STANZA}]\n",
        prefix = PGBACKREST_PREFIX.trim_end_matches('/'),
        bucket = s.bucket,
        port = s.tls_port,
        ca = s.ca_file.display(),
        lock = tools_home.join("lock").display(),
        log = tools_home.join("log").display(),
    )
}

/// Runs a tool as the postgres user (it reads the data dir and writes pgBackRest's lock and log
/// paths) with `env`; returns stdout, or an error with the tool's own words.
async fn run_as(user: Option<PostgresUser>, program: &Path, args: &[String], env: &[(String, String)]) -> Result<String, LabError> {
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args).envs(env.iter().cloned()).stdin(std::process::Stdio::null()).current_dir("/tmp");
    if let Some(user) = user {
        cmd.uid(user.uid).gid(user.gid);
        // SAFETY: setgroups is async-signal-safe; drops root's supplementary groups before exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::setgroups(0, std::ptr::null());
                Ok(())
            });
        }
    }
    let out = cmd.output().await.map_err(|e| LabError::Other(format!("cannot run {}: {e}", program.display())))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).to_string())
    } else {
        let words = String::from_utf8_lossy(&out.stderr).trim().to_string();
        let words = if words.is_empty() { String::from_utf8_lossy(&out.stdout).trim().to_string() } else { words };
        Err(LabError::Other(format!("{} {} failed ({}): {words}", program.display(), args.join(" "), out.status)))
    }
}

/// `pg1-*` of one member, for pgBackRest's command line.
fn pg1(member: &super::postgres::MemberPlan) -> Vec<String> {
    vec![
        format!("--pg1-path={}", member.data_dir().display()),
        format!("--pg1-port={}", member.pg_port),
        format!("--pg1-socket-path={}", member.home.display()),
    ]
}

/// The archive hook: called by `sitrep lab wal-push` (as postgres, in the data dir) after the
/// wal-g imitation's upload. A no-op until `setup` wrote settings.json.
pub fn archive_push(lab_dir: &Path, segment: &Path, tools: &[String]) -> Result<(), LabError> {
    let Some(s) = Settings::read(lab_dir) else { return Ok(()) };
    let wants = |name: &str| tools.iter().any(|t| t == name);
    let data_dir = std::env::current_dir().map_err(|e| LabError::Other(format!("archive hook: no working directory: {e}")))?;
    let segment = if segment.is_absolute() { segment.to_path_buf() } else { data_dir.join(segment) };
    let run = |program: PathBuf, args: Vec<String>, env: Vec<(String, String)>| -> Result<(), LabError> {
        let out = std::process::Command::new(&program)
            .args(&args)
            .envs(env)
            .output()
            .map_err(|e| LabError::Other(format!("cannot run {}: {e}", program.display())))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(LabError::Other(format!("{} failed: {}", program.display(), String::from_utf8_lossy(&out.stderr).trim())))
        }
    };
    if wants("pgbackrest") {
        run(
            program("pgbackrest", "pgbackrest")?,
            vec![
                format!("--config={}", s.pgbackrest_config.display()),
                format!("--stanza={STANZA}"),
                format!("--pg1-path={}", data_dir.display()),
                "archive-push".into(),
                segment.display().to_string(),
            ],
            vec![],
        )?;
    }
    if wants("barman-cloud") {
        run(
            program("barman-cloud-wal-archive", "barman-cli-cloud")?,
            vec!["--endpoint-url".into(), s.endpoint.clone(), s.barman_url(), BARMAN_SERVER.into(), segment.display().to_string()],
            s.aws_env(),
        )?;
    }
    Ok(())
}

impl Estate {
    /// Answers `backup-tools ACTION` on the control channel.
    pub(super) async fn backup_tools(&self, action: &str) -> Result<String, LabError> {
        let action = action.trim();
        if action == "setup" {
            return self.setup_backup_tools().await;
        }
        let s = Settings::read(&self.dir).ok_or_else(|| {
            LabError::Other(format!("backup tools are not set up; run `sitrep lab backup-tools --dir {} setup`", self.dir.display()))
        })?;
        match action {
            "full" | "diff" | "incr" => self.pgbackrest_backup(&s, action).await,
            "barman" => self.barman_backup(&s).await,
            "pgbackrest-info" => {
                let args = vec![
                    format!("--config={}", s.pgbackrest_config.display()),
                    format!("--stanza={STANZA}"),
                    "info".into(),
                    "--output=json".into(),
                ];
                Ok(run_as(Some(self.pg_user()?), &program("pgbackrest", "pgbackrest")?, &args, &[]).await?.replace('\n', " "))
            }
            "barman-list" => {
                let args = vec![
                    "--format".into(),
                    "json".into(),
                    "--endpoint-url".into(),
                    s.endpoint.clone(),
                    s.barman_url(),
                    BARMAN_SERVER.into(),
                ];
                let list = program("barman-cloud-backup-list", "barman-cli-cloud")?;
                Ok(run_as(Some(self.pg_user()?), &list, &args, &s.aws_env()).await?.replace('\n', " "))
            }
            other => {
                let valid: Vec<&str> = ACTIONS.iter().map(|(a, _)| *a).collect();
                Err(LabError::Other(format!("unknown backup-tools action `{other}`; valid: {}", valid.join(", "))))
            }
        }
    }

    fn pg_user(&self) -> Result<PostgresUser, LabError> {
        super::tools::postgres_user()
    }

    async fn leader_member(&self) -> Result<super::postgres::MemberPlan, LabError> {
        let urls: Vec<String> = self.pg.members.iter().map(|m| m.patroni_url()).collect();
        let name = super::postgres::leader(&urls).await.ok_or_else(|| LabError::Other("no Patroni leader to back up".into()))?;
        self.pg
            .members
            .iter()
            .find(|m| m.name == name)
            .cloned()
            .ok_or_else(|| LabError::Other(format!("leader {name} is not a lab member")))
    }

    async fn setup_backup_tools(&self) -> Result<String, LabError> {
        if let Some(s) = Settings::read(&self.dir) {
            return Ok(format!("already set up: {} (CA {})", s.endpoint, s.ca_file.display()));
        }
        let user = self.pg_user()?;
        let tools_home = home(&self.dir);
        for sub in ["", "lock", "log"] {
            let d = tools_home.join(sub);
            std::fs::create_dir_all(&d).map_err(LabError::io("cannot create", &d))?;
            super::tools::chown(&d, user)?;
            set_mode(&d, 0o755);
        }
        let tls_port = super::ports::port_of(&self.s3_endpoint);
        let s = Settings {
            endpoint: self.s3_endpoint.clone(),
            tls_port,
            ca_file: super::pki::LabPki::of(&self.dir).ca_cert,
            pgbackrest_config: tools_home.join("pgbackrest.conf"),
            bucket: S3_BUCKET.into(),
        };
        std::fs::write(&s.pgbackrest_config, pgbackrest_conf(&s, &tools_home))
            .map_err(LabError::io("cannot write", &s.pgbackrest_config))?;
        super::tools::chown(&s.pgbackrest_config, user)?;
        set_mode(&s.pgbackrest_config, 0o600);
        let leader = self.leader_member().await?;
        let pgbackrest = program("pgbackrest", "pgbackrest")?;
        let mut args = vec![format!("--config={}", s.pgbackrest_config.display()), format!("--stanza={STANZA}")];
        args.extend(pg1(&leader));
        args.push("stanza-create".into());
        run_as(Some(user), &pgbackrest, &args, &[]).await?;
        // From here every archived segment also goes to both real tools.
        let json = serde_json::to_string_pretty(&s).map_err(|e| LabError::Other(e.to_string()))?;
        let path = Settings::path(&self.dir);
        std::fs::write(&path, json).map_err(LabError::io("cannot write", &path))?;
        set_mode(&path, 0o644);
        // `check` switches WAL and waits until archive-push stored it: the hook works end to end.
        let mut check = args.clone();
        check.pop();
        check.push("check".into());
        run_as(Some(user), &pgbackrest, &check, &[]).await?;
        let full = self.pgbackrest_backup(&s, "full").await?;
        let barman = self.barman_backup(&s).await?;
        Ok(format!("pgBackRest and Barman Cloud on {} (CA {}): {full}; {barman}", s.endpoint, s.ca_file.display()))
    }

    async fn pgbackrest_backup(&self, s: &Settings, kind: &str) -> Result<String, LabError> {
        let leader = self.leader_member().await?;
        let mut args = vec![format!("--config={}", s.pgbackrest_config.display()), format!("--stanza={STANZA}")];
        args.extend(pg1(&leader));
        args.extend([format!("--type={kind}"), "backup".into()]);
        let started = Instant::now();
        run_as(Some(self.pg_user()?), &program("pgbackrest", "pgbackrest")?, &args, &[]).await?;
        Ok(format!("pgbackrest {kind} backup of {} in {:.0}s", leader.name, started.elapsed().as_secs_f64()))
    }

    async fn barman_backup(&self, s: &Settings) -> Result<String, LabError> {
        let leader = self.leader_member().await?;
        let args = vec![
            "--endpoint-url".into(),
            s.endpoint.clone(),
            "-h".into(),
            leader.home.display().to_string(),
            "-p".into(),
            leader.pg_port.to_string(),
            "-U".into(),
            super::postgres::SUPERUSER.into(),
            "-z".into(),
            s.barman_url(),
            BARMAN_SERVER.into(),
        ];
        let started = Instant::now();
        run_as(Some(self.pg_user()?), &program("barman-cloud-backup", "barman-cli-cloud")?, &args, &s.aws_env()).await?;
        Ok(format!("barman-cloud-backup of {} in {:.0}s", leader.name, started.elapsed().as_secs_f64()))
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pgbackrest_config_points_at_the_tls_front_with_the_lab_ca() {
        let s = Settings {
            endpoint: "https://127.0.0.1:4443".into(),
            tls_port: 4443,
            ca_file: "/tmp/lab/backup-tools/tls/ca.crt".into(),
            pgbackrest_config: "/tmp/lab/backup-tools/pgbackrest.conf".into(),
            bucket: S3_BUCKET.into(),
        };
        let conf = pgbackrest_conf(&s, Path::new("/tmp/lab/backup-tools"));
        for line in [
            "repo1-type=s3",
            "repo1-path=/pgbackrest",
            "repo1-s3-uri-style=path",
            "repo1-storage-port=4443",
            "repo1-storage-ca-file=/tmp/lab/backup-tools/tls/ca.crt",
            "lock-path=/tmp/lab/backup-tools/lock",
            "[shop]",
        ] {
            assert!(conf.lines().any(|l| l == line), "missing {line} in\n{conf}");
        }
        assert_eq!(s.barman_url(), "s3://sitrep-lab-backups/barman");
        assert!(s.aws_env().iter().any(|(k, v)| k == "AWS_CA_BUNDLE" && v.ends_with("ca.crt")));
    }
}
