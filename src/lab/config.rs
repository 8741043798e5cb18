//! DIR/sitrep.toml and DIR/aws-credentials: point the console at the lab as at a managed estate
//! (TLS with the lab CA everywhere, the Postgres password in a pgpass file, Redis ACL logins),
//! using only keys of docs/sitrep.example.toml.

use std::path::{Path, PathBuf};

use super::error::LabError;
use super::info::{LabInfo, S3_ACCESS_KEY, S3_REGION, S3_SECRET_KEY};

pub const AWS_PROFILE: &str = "sitrep-lab";

/// The AWS shared-credentials file the console's S3 source reads.
pub fn write_aws_credentials(dir: &Path) -> Result<PathBuf, LabError> {
    let path = dir.join("aws-credentials");
    let text =
        format!("[{AWS_PROFILE}]\naws_access_key_id = {S3_ACCESS_KEY}\naws_secret_access_key = {S3_SECRET_KEY}\nregion = {S3_REGION}\n");
    std::fs::write(&path, text).map_err(LabError::io("cannot write", &path))?;
    Ok(path)
}

fn quote(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn list(items: &[String]) -> String {
    format!("[{}]", items.iter().map(|s| quote(s)).collect::<Vec<_>>().join(", "))
}

/// The text of DIR/sitrep.toml for a lab.
pub fn sitrep_toml(info: &LabInfo) -> String {
    let members: Vec<String> =
        info.postgres.members.iter().map(|m| format!("  {{ name = {}, dsn = {} }},", quote(&m.name), quote(&m.dsn))).collect();
    let patroni: Vec<String> = info.postgres.members.iter().map(|m| m.patroni_url.clone()).collect();
    let queue_names = info.queues.names.clone();
    format!(
        "# Written by `sitrep lab` for the lab in {dir}; it disappears with the lab.\n\n\
         [general]\nrefresh_secs = 1\ntimeout_secs = 3\n\n\
         [kube]\nenabled = true\nkubeconfig = {kubeconfig}\ncontext = {context}\nnamespaces = [{namespace}]\n\n\
         [postgres]\nenabled = true\nmembers = [\n{members}\n]\npatroni = {patroni}\nbin_dir = {bin_dir}\n\n\
         [sentinel]\nenabled = true\naddrs = {sentinels}\nmaster = {master}\n\
         password = {sentinel_password}\nmaster_username = {redis_user}\nmaster_password = {redis_password}\n\
         tls = true\ntls_ca_file = {ca}\n\n\
         [queues]\nenabled = true\nurl = \"\"\nnames = {queues}\n\n\
         [s3]\nenabled = true\nrefresh_secs = 1\nbucket = {bucket}\nregion = {region}\nendpoint = {endpoint}\n\
         profile = {profile}\ncredentials_file = {creds}\nforce_path_style = true\nca_file = {ca}\n\n\
         [alerts]\nenabled = true\nalertmanager = {alertmanager}\n\n\
         [thresholds]\nrpo_secs = 300\n{checks}",
        dir = info.dir.display(),
        kubeconfig = quote(&info.kube.kubeconfig.display().to_string()),
        context = quote(&info.kube.context),
        namespace = quote(&info.kube.namespace),
        members = members.join("\n"),
        patroni = list(&patroni),
        bin_dir = quote(super::tools::PG_BIN),
        sentinels = list(&info.redis.sentinels),
        master = quote(&info.redis.master_name),
        sentinel_password = quote(&info.redis.logins.sentinel_password),
        redis_user = quote(&info.redis.logins.user),
        redis_password = quote(&info.redis.logins.password),
        ca = quote(&info.redis.logins.ca_file.display().to_string()),
        queues = list(&queue_names),
        bucket = quote(&info.s3.bucket),
        region = quote(&info.s3.region),
        endpoint = quote(&info.s3.endpoint),
        profile = quote(&info.s3.profile),
        creds = quote(&info.s3.credentials_file.display().to_string()),
        alertmanager = list(&info.ports.get("alertmanager").map(|p| format!("http://127.0.0.1:{p}")).into_iter().collect::<Vec<_>>()),
        checks = checks_toml(info),
    )
}

/// The lab's `[[checks]]`: what the runbooks `curl -f` or connect to before anything else (the
/// monitoring's own health pages, S3 over TLS with the lab CA, each Patroni member's `/health`,
/// and a TCP connect to the Redis master the lab started with).
fn checks_toml(info: &LabInfo) -> String {
    let ca = quote(&info.redis.logins.ca_file.display().to_string());
    let mut out = String::new();
    let mut url = |name: &str, url: String, extra: &str| {
        out.push_str(&format!("\n[[checks]]\nname = {}\nurl = {}\nslow_ms = 1000\n{extra}", quote(name), quote(&url)));
    };
    if let Some(p) = info.ports.get("prometheus") {
        url("prometheus", format!("http://127.0.0.1:{p}/-/ready"), "body_contains = \"Ready\"\n");
    }
    if let Some(p) = info.ports.get("alertmanager") {
        url("alertmanager", format!("http://127.0.0.1:{p}/-/healthy"), "");
    }
    url("s3", info.s3.endpoint.clone(), &format!("ca_file = {ca}\n"));
    for m in &info.postgres.members {
        let tls = if m.patroni_url.starts_with("https:") { format!("ca_file = {ca}\n") } else { String::new() };
        url(&format!("patroni-{}", m.name), format!("{}/health", m.patroni_url.trim_end_matches('/')), &tls);
    }
    if let Some(p) = info.ports.get("redis-0") {
        out.push_str(&format!("\n[[checks]]\nname = \"redis-master\"\ntcp = \"127.0.0.1:{p}\"\nslow_ms = 1000\n"));
    }
    out
}

pub fn write_sitrep_toml(info: &LabInfo) -> Result<PathBuf, LabError> {
    let path = info.dir.join("sitrep.toml");
    std::fs::write(&path, sitrep_toml(info)).map_err(LabError::io("cannot write", &path))?;
    // It holds the Redis passwords.
    super::supervisor::set_mode(&path, 0o600);
    Ok(path)
}
