//! Point-in-time recovery through the tool that wrote the repository (`[s3] layout = "pgbackrest"`
//! or `"barman"`): `pgbackrest restore` or `barman-cloud-restore`, WAL fetched during recovery by
//! the same tool (`pgbackrest archive-get`, `barman-cloud-wal-restore`).
//!
//! The tools get the bucket, endpoint, CA and the credentials sitrep's own S3 client resolved, in
//! one file beside the data dir (DIR.pgbackrest.conf or DIR.aws-credentials, mode 0600, owned by
//! the user the server runs as): the restore reads it, and so does the `restore_command` the
//! recovering postmaster runs, whose environment is not sitrep's.

use super::command::show_argv;
use super::{Ctx, EffectError, input, not_ready};
use crate::backends::s3::ToolCredentials;
use crate::catalog::{Backup, Inventory, Layout};
use crate::config::S3Source;
use crate::programs::{self, ProgramError};
use chrono::{DateTime, Utc};
use std::path::{Path, PathBuf};

/// The layout's own restore tool, when `[s3] layout` names one.
pub fn layout(cfg: &S3Source) -> Option<Layout> {
    Layout::parse(&cfg.layout).filter(|l| matches!(l, Layout::PgBackRest | Layout::Barman))
}

/// The AWS profile name in DIR.aws-credentials.
const PROFILE: &str = "sitrep-pitr";

/// Where the tool finds the repository, as the catalogue found it.
#[derive(Debug, Clone, PartialEq)]
pub struct Repository {
    pub layout: Layout,
    pub bucket: String,
    /// Key prefix of the repository ("pgbackrest/", "barman/").
    pub root: String,
    /// pgBackRest's stanza or Barman's server name.
    pub name: String,
    /// `[s3] endpoint` ("" = AWS).
    pub endpoint: String,
    pub path_style: bool,
    pub ca_file: Option<String>,
}

/// One recovery, planned: the program, its argv, its environment and the file of settings and
/// credentials it reads (written just before it runs), and the `restore_command` to write when
/// the tool does not write one itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub settings_file: PathBuf,
    /// Lines for postgresql.auto.conf (Barman: restore_command and the target); pgBackRest writes its own.
    pub recovery_conf: Option<String>,
}

impl Plan {
    /// The exact command line, for the preview.
    pub fn shown(&self) -> String {
        let env: Vec<String> = self.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut argv = env;
        argv.push(self.program.display().to_string());
        argv.extend(self.args.iter().cloned());
        show_argv(&argv)
    }
}

/// Refuses text that would break out of the settings file or the restore_command's quoting.
fn plain(what: &str, text: &str) -> Result<(), EffectError> {
    if text.chars().any(|c| c.is_control() || "'\"\\`$".contains(c)) {
        return Err(input(format!(
            "{what} `{}` holds a quote, `\\`, `$` or a control character; use a plain path",
            crate::sanitize::clean(text)
        )));
    }
    Ok(())
}

/// How targets are written to pgBackRest and postgresql.conf.
fn target_text(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S%.6f+00").to_string()
}

/// DIR.pgbackrest.conf: the repository and credentials for `pgbackrest restore` and `archive-get`.
pub fn pgbackrest_conf(repo: &Repository, creds: &ToolCredentials) -> Result<String, EffectError> {
    let mut lines = vec![
        "# Written by sitrep's pitr runbook for one recovery: it holds S3 credentials; remove it with the data dir.".to_string(),
        "[global]".into(),
        "repo1-type=s3".into(),
        format!("repo1-path=/{}", repo.root.trim_matches('/')),
        format!("repo1-s3-bucket={}", repo.bucket),
        format!("repo1-s3-region={}", creds.region),
    ];
    if repo.endpoint.is_empty() {
        lines.push(format!("repo1-s3-endpoint=s3.{}.amazonaws.com", creds.region));
    } else {
        let url = reqwest::Url::parse(&repo.endpoint)
            .map_err(|e| input(format!("[s3] endpoint `{}` is not a URL ({e})", crate::sanitize::clean(&repo.endpoint))))?;
        if url.scheme() != "https" {
            return Err(input(format!(
                "[s3] endpoint `{}`: pgBackRest reaches S3 over https only; give the https:// endpoint (and [s3] ca_file for a private CA)",
                crate::sanitize::clean(&repo.endpoint)
            )));
        }
        lines.push(format!("repo1-s3-endpoint={}", url.host_str().unwrap_or_default()));
        if let Some(port) = url.port() {
            lines.push(format!("repo1-storage-port={port}"));
        }
    }
    if repo.path_style {
        lines.push("repo1-s3-uri-style=path".into());
    }
    if let Some(ca) = &repo.ca_file {
        lines.push(format!("repo1-storage-ca-file={ca}"));
    }
    lines.push(format!("repo1-s3-key={}", creds.access_key_id));
    lines.push(format!("repo1-s3-key-secret={}", creds.secret_access_key));
    if let Some(token) = &creds.session_token {
        lines.push(format!("repo1-s3-token={token}"));
    }
    lines.extend(["log-level-console=warn".into(), "log-level-file=off".into()]);
    let text = lines.join("\n") + "\n";
    if [&repo.bucket, &repo.root, &creds.region, &creds.access_key_id, &creds.secret_access_key].iter().any(|v| v.contains('\n')) {
        return Err(input("an [s3] setting or credential holds a line break; pgBackRest's settings file cannot carry it"));
    }
    Ok(text)
}

/// DIR.aws-credentials: the profile barman-cloud-restore and barman-cloud-wal-restore read.
pub fn aws_credentials(creds: &ToolCredentials) -> String {
    let mut text = format!(
        "# Written by sitrep's pitr runbook for one recovery; remove it with the data dir.\n[{PROFILE}]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
        creds.access_key_id, creds.secret_access_key
    );
    if let Some(token) = &creds.session_token {
        text.push_str(&format!("aws_session_token = {token}\n"));
    }
    text
}

/// The files a plan for `data_dir` writes its settings and credentials to (pgBackRest's, Barman's).
pub fn settings_files(data_dir: &Path) -> [PathBuf; 2] {
    let dir = data_dir.display();
    [PathBuf::from(format!("{dir}.pgbackrest.conf")), PathBuf::from(format!("{dir}.aws-credentials"))]
}

/// The plan for recovering `backup` of `repo` into `data_dir` up to `at` (None = all archived WAL).
pub fn plan(repo: &Repository, backup: &str, data_dir: &Path, at: Option<DateTime<Utc>>, program: PathBuf) -> Result<Plan, EffectError> {
    plain("data_dir", &data_dir.display().to_string())?;
    plain("the repository", &format!("{}/{}/{}", repo.bucket, repo.root, repo.name))?;
    if let Some(ca) = &repo.ca_file {
        plain("[s3] ca_file", ca)?;
    }
    let dir = data_dir.display().to_string();
    match repo.layout {
        Layout::PgBackRest => {
            let [settings_file, _] = settings_files(data_dir);
            let common = [format!("--config={}", settings_file.display()), format!("--stanza={}", repo.name)];
            // archive-get reads pg_control from pg1-path; the file gives it the repository and credentials.
            let restore_command = format!("{} {} --pg1-path={dir} archive-get %f \"%p\"", program.display(), common.join(" "));
            let mut args = common.to_vec();
            args.extend([format!("--set={backup}"), format!("--pg1-path={dir}")]);
            if let Some(t) = at {
                args.extend(["--type=time".into(), format!("--target={}", target_text(t)), "--target-action=promote".into()]);
            }
            args.extend([format!("--recovery-option=restore_command={restore_command}"), "restore".into()]);
            Ok(Plan { program, args, env: vec![], settings_file, recovery_conf: None })
        }
        Layout::Barman => {
            let [_, settings_file] = settings_files(data_dir);
            let url = format!("s3://{}/{}", repo.bucket, repo.root.trim_end_matches('/'));
            let mut env = vec![("AWS_SHARED_CREDENTIALS_FILE".to_string(), settings_file.display().to_string())];
            if let Some(ca) = &repo.ca_file {
                env.push(("AWS_CA_BUNDLE".into(), ca.clone()));
            }
            let mut tool = vec![];
            if !repo.endpoint.is_empty() {
                tool.extend(["--endpoint-url".to_string(), repo.endpoint.clone()]);
            }
            tool.extend(["-P".to_string(), PROFILE.into()]);
            let mut args = tool.clone();
            args.extend([url.clone(), repo.name.clone(), backup.to_string(), dir.clone()]);
            let wal_restore = program.with_file_name("barman-cloud-wal-restore");
            let env_words: Vec<String> = env.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
            let mut conf = format!(
                "restore_command = '{} {} {} {url} {} %f %p'\nrecovery_target_action = 'promote'\nrecovery_target_timeline = 'latest'\n",
                env_words.join(" "),
                wal_restore.display(),
                tool.join(" "),
                repo.name
            );
            if let Some(t) = at {
                conf.push_str(&format!("recovery_target_time = '{}'\n", target_text(t)));
            }
            Ok(Plan { program, args, env, settings_file, recovery_conf: Some(conf) })
        }
        other => Err(input(format!("layout {} has no restore tool sitrep drives", other.name()))),
    }
}

/// The tool's program, on PATH.
pub fn program(layout: Layout) -> Result<PathBuf, ProgramError> {
    match layout {
        Layout::Barman => programs::find_tool("barman-cloud-restore", "barman-cli-cloud"),
        _ => programs::find_tool("pgbackrest", "pgbackrest"),
    }
}

/// The newest backup the tool marks good that finished at or before `at` (or the newest).
pub fn backup_before(inv: &Inventory, at: Option<DateTime<Utc>>) -> Result<&Backup, EffectError> {
    let mut good: Vec<&Backup> = inv.backups.iter().filter(|b| b.ok && b.stop.is_some()).collect();
    good.sort_by_key(|b| b.stop);
    let what = match inv.layout {
        Layout::Barman => format!("Barman server `{}`", inv.name.as_deref().unwrap_or_default()),
        _ => format!("pgBackRest stanza `{}`", inv.name.as_deref().unwrap_or_default()),
    };
    let Some(oldest) = good.first() else {
        return Err(not_ready(format!("{what} under \"{}\" has no finished backup; take one first", inv.root)));
    };
    good.iter().rev().find(|b| at.is_none_or(|t| b.stop.is_some_and(|s| s <= t))).copied().ok_or_else(|| {
        not_ready(format!(
            "no backup of {what} finished before {}: the oldest, {}, finished at {}; choose a target_time after that",
            at.map_or("now".into(), |t| t.to_rfc3339()),
            crate::sanitize::clean(&oldest.label),
            oldest.stop.map_or("?".into(), |s| s.to_rfc3339())
        ))
    })
}

/// The configured repository and its inventory, read as the backups pane reads it.
pub async fn repository(ctx: &Ctx, client: &aws_sdk_s3::Client) -> Result<(Repository, Inventory), EffectError> {
    let cfg = ctx.config.backups_for(crate::model::BackupKind::BaseBackup);
    let (detection, inv) = crate::sources::backups::repository(client, cfg).await?;
    let repo = Repository {
        layout: detection.layout,
        bucket: cfg.bucket.clone(),
        root: detection.root.clone(),
        name: detection.name.clone().unwrap_or_default(),
        endpoint: cfg.endpoint.trim().to_string(),
        path_style: cfg.force_path_style,
        ca_file: cfg.ca_bundle().map(|ca| ca.path.to_string()),
    };
    Ok((repo, inv))
}

/// What the preview and the timeline say of a plan.
pub struct Planned {
    pub repo: Repository,
    pub backup: Backup,
    pub plan: Plan,
    pub wal_segments: usize,
}

/// Reads the repository, picks the backup and plans the command (no file is written).
pub async fn prepare(ctx: &Ctx, client: &aws_sdk_s3::Client, at: Option<DateTime<Utc>>, data_dir: &Path) -> Result<Planned, EffectError> {
    let layout =
        layout(ctx.config.backups_for(crate::model::BackupKind::BaseBackup)).ok_or_else(|| input("[s3] layout names no restore tool"))?;
    let program = program(layout)?;
    let (repo, inv) = repository(ctx, client).await?;
    let backup = backup_before(&inv, at)?.clone();
    let plan = plan(&repo, &backup.label, data_dir, at, program)?;
    Ok(Planned { repo, backup, plan, wal_segments: inv.archive.segments })
}

/// What to do about a tool's failure, from its own words.
pub fn fix_for(layout: Layout, name: &str, words: &str) -> String {
    let w = words.to_ascii_lowercase();
    let (setting, tool) = match layout {
        Layout::Barman => ("[s3] server_name", "Barman"),
        _ => ("[s3] stanza", "pgBackRest"),
    };
    if w.contains("certificate") || w.contains("tls") || w.contains("ssl") {
        "the endpoint's certificate is not trusted: set [s3] ca_file to the PEM of the CA that signed it".into()
    } else if w.contains("accessdenied")
        // HTTP 403 as a word: a backup label such as 20261203-124039F holds "403" too.
        || w.split(|c: char| !c.is_ascii_alphanumeric()).any(|t| t == "403")
        || w.contains("invalidaccesskeyid")
        || w.contains("signature")
    {
        "the credentials may not read the repository: check [s3] profile/credentials_file and the bucket policy".into()
    } else if w.contains("unable to load info file") || w.contains("does not exist") || w.contains("not found") || w.contains("missing") {
        format!("{tool} finds no `{name}` there: check {setting} and [s3] repo_prefix against the tool's own configuration")
    } else if w.contains("contains files") || w.contains("not empty") {
        "give a NEW, empty data_dir".into()
    } else {
        format!("check {setting}, [s3] repo_prefix, endpoint and ca_file against the tool's own configuration")
    }
}

/// Writes the settings file (0600, owned by `owner`), runs the tool as `owner` and returns how
/// long it took; a failure carries the tool's own words and the fix.
pub async fn run(planned: &Planned, creds: &ToolCredentials, owner: Option<(u32, u32)>) -> Result<std::time::Duration, EffectError> {
    use std::os::unix::fs::PermissionsExt;
    let io = |what: &'static str, p: &Path, source: std::io::Error| EffectError::Io { what, path: p.to_path_buf(), source };
    let plan = &planned.plan;
    let text = match planned.repo.layout {
        Layout::Barman => aws_credentials(creds),
        _ => pgbackrest_conf(&planned.repo, creds)?,
    };
    let file = &plan.settings_file;
    std::fs::write(file, "")
        .and_then(|()| std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600)))
        .map_err(|e| io("write", file, e))?;
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(file, Some(uid), Some(gid)).map_err(|e| io("chown", file, e))?;
    }
    std::fs::write(file, text).map_err(|e| io("write", file, e))?;
    let mut cmd = tokio::process::Command::new(&plan.program);
    cmd.args(&plan.args)
        .envs(plan.env.iter().cloned())
        .env("AWS_DEFAULT_REGION", &creds.region)
        .stdin(std::process::Stdio::null())
        .current_dir("/tmp")
        // A timeout or an operator abort drops this future: the tool goes with it.
        .kill_on_drop(true);
    if let Some((uid, gid)) = owner {
        cmd.uid(uid).gid(gid);
        // SAFETY: setgroups is async-signal-safe; it drops root's supplementary groups before exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::setgroups(0, std::ptr::null());
                Ok(())
            });
        }
    }
    let started = std::time::Instant::now();
    let shown = plan.program.display().to_string();
    let out = match cmd.output().await {
        Ok(out) => out,
        Err(source) => return Err(ProgramError::Spawn { program: shown, source }.into()),
    };
    if out.status.success() {
        return Ok(started.elapsed());
    }
    let text = |b: &[u8]| crate::sanitize::sanitize_lines(&crate::sanitize::redact_secrets(String::from_utf8_lossy(b).trim()));
    let words = super::command::said(&text(&out.stderr), &text(&out.stdout));
    Err(ProgramError::Refused {
        program: shown,
        status: out.status.to_string(),
        fix: fix_for(planned.repo.layout, &planned.repo.name, &words),
        stderr: words,
    }
    .into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> ToolCredentials {
        ToolCredentials {
            access_key_id: "AKIAX".into(),
            secret_access_key: "s3cr3t".into(),
            session_token: None,
            region: "eu-west-1".into(),
        }
    }

    fn repo(layout: Layout, root: &str) -> Repository {
        Repository {
            layout,
            bucket: "b".into(),
            root: root.into(),
            name: "shop".into(),
            endpoint: "https://127.0.0.1:4443".into(),
            path_style: true,
            ca_file: Some("/etc/ca.pem".into()),
        }
    }

    fn at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-02T13:05:00.25Z").map(|t| t.with_timezone(&Utc)).unwrap_or_default()
    }

    /// The plan into /tmp/r up to [`at`].
    fn planned(layout: Layout, root: &str, label: &str, program: &str) -> Plan {
        plan(&repo(layout, root), label, Path::new("/tmp/r"), Some(at()), program.into()).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn pgbackrest_restores_the_chosen_set_to_the_target_and_its_restore_command_reads_the_same_settings() {
        let p = planned(Layout::PgBackRest, "pgbackrest/", "20261202-130000F", "/usr/bin/pgbackrest");
        let args = p.args.join(" ");
        for want in [
            "--config=/tmp/r.pgbackrest.conf",
            "--stanza=shop",
            "--set=20261202-130000F",
            "--pg1-path=/tmp/r",
            "--type=time",
            "--target=2026-12-02 13:05:00.250000+00",
            "--target-action=promote",
            "--recovery-option=restore_command=/usr/bin/pgbackrest --config=/tmp/r.pgbackrest.conf --stanza=shop --pg1-path=/tmp/r archive-get %f \"%p\"",
        ] {
            assert!(p.args.iter().any(|a| a == want), "{want} missing from {args}");
        }
        assert_eq!(p.args.last().map(String::as_str), Some("restore"));
        assert!(p.recovery_conf.is_none(), "pgBackRest writes its own recovery settings");
        let latest = plan(&repo(Layout::PgBackRest, "pgbackrest/"), "L", Path::new("/tmp/r"), None, "/usr/bin/pgbackrest".into());
        assert!(latest.is_ok_and(|p| !p.args.iter().any(|a| a.starts_with("--type") || a.starts_with("--target"))));
    }

    #[test]
    fn the_pgbackrest_settings_carry_the_endpoint_ca_and_the_resolved_credentials() {
        let conf = pgbackrest_conf(&repo(Layout::PgBackRest, "pgbackrest/"), &creds()).unwrap_or_else(|e| panic!("{e}"));
        for line in [
            "repo1-type=s3",
            "repo1-path=/pgbackrest",
            "repo1-s3-bucket=b",
            "repo1-s3-endpoint=127.0.0.1",
            "repo1-storage-port=4443",
            "repo1-s3-uri-style=path",
            "repo1-storage-ca-file=/etc/ca.pem",
            "repo1-s3-key=AKIAX",
            "repo1-s3-key-secret=s3cr3t",
            "repo1-s3-region=eu-west-1",
        ] {
            assert!(conf.lines().any(|l| l == line), "missing {line} in\n{conf}");
        }
        let mut http = repo(Layout::PgBackRest, "pgbackrest/");
        http.endpoint = "http://127.0.0.1:5000".into();
        let e = pgbackrest_conf(&http, &creds()).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("https only") && e.contains("[s3] endpoint"), "{e}");
        let mut aws = repo(Layout::PgBackRest, "");
        aws.endpoint.clear();
        let conf = pgbackrest_conf(&aws, &creds()).unwrap_or_default();
        assert!(conf.contains("repo1-s3-endpoint=s3.eu-west-1.amazonaws.com\n") && conf.contains("repo1-path=/\n"), "{conf}");
    }

    #[test]
    fn barman_restores_the_backup_id_and_recovery_fetches_wal_with_the_same_profile() {
        let p = planned(Layout::Barman, "barman/", "20261202T130000", "/usr/bin/barman-cloud-restore");
        assert_eq!(
            p.args,
            ["--endpoint-url", "https://127.0.0.1:4443", "-P", PROFILE, "s3://b/barman", "shop", "20261202T130000", "/tmp/r"]
        );
        assert!(p.env.contains(&("AWS_SHARED_CREDENTIALS_FILE".into(), "/tmp/r.aws-credentials".into())));
        let conf = p.recovery_conf.unwrap_or_default();
        assert!(
            conf.contains(
                "restore_command = 'AWS_SHARED_CREDENTIALS_FILE=\"/tmp/r.aws-credentials\" AWS_CA_BUNDLE=\"/etc/ca.pem\" /usr/bin/barman-cloud-wal-restore --endpoint-url https://127.0.0.1:4443 -P sitrep-pitr s3://b/barman shop %f %p'"
            ),
            "{conf}"
        );
        assert!(conf.contains("recovery_target_time = '2026-12-02 13:05:00.250000+00'") && conf.contains("'promote'"), "{conf}");
        assert!(aws_credentials(&creds()).contains("[sitrep-pitr]\naws_access_key_id = AKIAX\naws_secret_access_key = s3cr3t\n"));
    }

    #[test]
    fn a_data_dir_that_would_break_the_quoting_is_refused() {
        let e = plan(&repo(Layout::Barman, "barman/"), "x", Path::new("/tmp/a'b"), None, "/usr/bin/barman-cloud-restore".into());
        assert!(e.err().is_some_and(|e| e.to_string().contains("data_dir")));
    }

    #[test]
    fn the_fix_follows_the_tools_own_words() {
        let words =
            "ERROR: [055]: unable to load info file '/pgbackrest/backup/nope/backup.info' or '/pgbackrest/backup/nope/backup.info.copy'";
        let fix = fix_for(Layout::PgBackRest, "nope", words);
        assert!(fix.contains("[s3] stanza") && fix.contains("`nope`"), "{fix}");
        assert!(fix_for(Layout::Barman, "x", "TLS handshake: certificate verify failed").contains("[s3] ca_file"));
        let barman = "2026-12-02 13:55:00,405 [16886] ERROR: Backup 20261202T134534 for server nope does not exists";
        assert!(fix_for(Layout::Barman, "nope", barman).contains("[s3] server_name"), "{}", fix_for(Layout::Barman, "nope", barman));
        assert!(
            fix_for(Layout::PgBackRest, "x", "ERROR: [040]: unable to restore to path '/tmp/r' because it contains files").contains("NEW")
        );
        // A backup label taken at 12:40:39 holds "403": it is not an HTTP 403 (seen in CI).
        let labelled =
            "unable to load info file '/pgbackrest/backup/nope/backup.info' | ERROR: [075]: backup set 20261203-124039F is not valid";
        assert!(
            fix_for(Layout::PgBackRest, "nope", labelled).contains("finds no `nope`"),
            "{}",
            fix_for(Layout::PgBackRest, "nope", labelled)
        );
        assert!(fix_for(Layout::PgBackRest, "x", "HTTP 403 Forbidden").contains("credentials"));
    }

    #[test]
    fn the_backup_is_the_newest_finished_before_the_target_and_none_says_the_oldest() {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc));
        let b = |label: &str, stop: &str| Backup {
            label: label.into(),
            kind: crate::catalog::BackupKind::Full,
            start: None,
            stop: t(stop),
            wal_start: None,
            wal_stop: None,
            lsn_start: None,
            lsn_stop: None,
            database_size: None,
            repository_size: None,
            prior: None,
            ok: true,
            status: None,
        };
        let inv = Inventory {
            layout: Layout::PgBackRest,
            root: "pgbackrest/".into(),
            name: Some("shop".into()),
            system_id: None,
            pg_version: None,
            backups: vec![b("F1", "2026-12-02T12:00:00Z"), b("F2", "2026-12-02T13:00:00Z")],
            archive: Default::default(),
            warnings: vec![],
        };
        assert_eq!(backup_before(&inv, t("2026-12-02T12:30:00Z")).map(|b| b.label.clone()).ok().as_deref(), Some("F1"));
        assert_eq!(backup_before(&inv, None).map(|b| b.label.clone()).ok().as_deref(), Some("F2"));
        let e = backup_before(&inv, t("2026-12-02T11:00:00Z")).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("the oldest, F1, finished at 2026-12-02T12:00:00+00:00") && e.contains("choose a target_time after"), "{e}");
    }
}
