//! S3: the client from the standard AWS chain with sitrep.toml's overrides (and a private CA
//! bundle for https endpoints), listing and downloading with errors that keep the service's (or
//! the TLS library's) words, and listings as backup items.

use super::{BackendError, causes};
use crate::catalog::keyset::{Entry, KeySet, Step};
use crate::model::{BackupItem, BackupKind, BackupsSnapshot};
use crate::sanitize::clean;
use chrono::{DateTime, NaiveDateTime, Utc};

/// How to reach S3 beyond the standard AWS chain: sitrep.toml's `[s3]` overrides (empty = unset).
#[derive(Debug, Clone, Copy, Default)]
pub struct Access<'a> {
    pub region: &'a str,
    pub endpoint: &'a str,
    pub profile: &'a str,
    pub credentials_file: &'a str,
    pub force_path_style: bool,
    /// A PEM bundle of CAs trusted besides the system's roots, and the setting that named it.
    pub ca_bundle: Option<CaBundle<'a>>,
}

/// A PEM CA bundle to trust for S3 (and the STS calls of the credential chain), with where it
/// was set: `[s3] ca_file`, else the AWS_CA_BUNDLE environment variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaBundle<'a> {
    pub path: &'a str,
    /// "[s3] ca_file" or "AWS_CA_BUNDLE", as messages name it.
    pub setting: &'static str,
}

/// Builds an S3 client from the standard chain, with sitrep.toml's overrides on top.
///
/// Credentials come from aws-config's default chain, unchanged: the environment
/// (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN), the profile (`[s3] profile` or
/// AWS_PROFILE, with `role_arn` + `source_profile`/`credential_source` assumed through STS,
/// `credential_process` and SSO), web identity (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN, as
/// EKS IRSA sets them), then the ECS and EC2 instance metadata endpoints. A CA bundle is
/// given to the one HTTP client every one of those calls shares, so STS behind the same private
/// CA works too; the system's roots stay trusted beside it.
pub async fn client(cfg: Access<'_>) -> Result<aws_sdk_s3::Client, BackendError> {
    Ok(client_and_config(cfg).await?.0)
}

/// The client and the shared config it was built from (whose credential chain a backup tool is given).
pub async fn client_and_config(cfg: Access<'_>) -> Result<(aws_sdk_s3::Client, aws_config::SdkConfig), BackendError> {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(ca) = cfg.ca_bundle {
        loader = loader.http_client(https_client(ca)?);
    }
    if !cfg.profile.is_empty() {
        loader = loader.profile_name(cfg.profile);
    }
    if !cfg.credentials_file.is_empty() {
        // The credentials file replaces ~/.aws/credentials (AWS_SHARED_CREDENTIALS_FILE) only: the
        // config file (AWS_CONFIG_FILE, else ~/.aws/config), where role profiles live, still counts.
        let files = aws_runtime::env_config::file::EnvConfigFiles::builder()
            .include_default_config_file(true)
            .with_file(aws_runtime::env_config::file::EnvConfigFileKind::Credentials, cfg.credentials_file)
            .build();
        loader = loader.profile_files(files);
    }
    if !cfg.region.is_empty() {
        loader = loader.region(aws_config::Region::new(cfg.region.to_string()));
    }
    if !cfg.endpoint.is_empty() {
        loader = loader.endpoint_url(cfg.endpoint);
    }
    let shared = name_credentials(loader.load().await, &cfg);
    let mut builder = aws_sdk_s3::config::Builder::from(&shared);
    if cfg.force_path_style {
        builder = builder.force_path_style(true);
    }
    if shared.region().is_none() {
        builder = builder.region(aws_config::Region::new("us-east-1"));
    }
    Ok((aws_sdk_s3::Client::from_conf(builder.build()), shared))
}

/// `shared` with its credential chain's failures naming whose credentials were wanted (`[s3]
/// profile` or the environment's), so a role that cannot be assumed is told from an S3 that
/// cannot be reached. The chain itself (and its caching) is unchanged.
fn name_credentials(shared: aws_config::SdkConfig, cfg: &Access<'_>) -> aws_config::SdkConfig {
    use aws_credential_types::provider::SharedCredentialsProvider;
    let Some(inner) = shared.credentials_provider() else { return shared };
    let whose = if cfg.profile.is_empty() {
        "the AWS chain's credentials (AWS_PROFILE, else profile `default`; or AWS_ROLE_ARN with AWS_WEB_IDENTITY_TOKEN_FILE)".to_string()
    } else {
        format!("the credentials of [s3] profile `{}`", clean(cfg.profile))
    };
    shared.to_builder().credentials_provider(SharedCredentialsProvider::new(NamedChain { inner, whose })).build()
}

/// The chain's provider, its errors (same kind, same causes) saying whose credentials they were.
#[derive(Debug)]
struct NamedChain {
    inner: aws_credential_types::provider::SharedCredentialsProvider,
    whose: String,
}

impl aws_credential_types::provider::ProvideCredentials for NamedChain {
    fn provide_credentials<'a>(&'a self) -> aws_credential_types::provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        use aws_credential_types::provider::error::CredentialsError as E;
        aws_credential_types::provider::future::ProvideCredentials::new(async move {
            self.inner.provide_credentials().await.map_err(|e| {
                let whose = |e| Whose { whose: self.whose.clone(), inner: e };
                match e {
                    E::InvalidConfiguration(_) => E::invalid_configuration(whose(e)),
                    E::CredentialsNotLoaded(_) => E::not_loaded(whose(e)),
                    E::ProviderError(_) => E::provider_error(whose(e)),
                    E::Unhandled(_) => E::unhandled(whose(e)),
                    other => other,
                }
            })
        })
    }
}

/// A chain's error under whose credentials were wanted: displays `whose`, then the chain's causes.
#[derive(Debug)]
struct Whose {
    whose: String,
    inner: aws_credential_types::provider::error::CredentialsError,
}

impl std::fmt::Display for Whose {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.whose)
    }
}

impl std::error::Error for Whose {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.inner)
    }
}

/// What a backup tool (pgBackRest, Barman Cloud) is given to reach the bucket as sitrep does: the
/// credentials the client's chain resolved (never a second resolution of our own) and its region.
#[derive(Clone)]
pub struct ToolCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
    pub region: String,
}

impl std::fmt::Debug for ToolCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolCredentials").field("access_key_id", &self.access_key_id).field("region", &self.region).finish_non_exhaustive()
    }
}

/// The credentials and region the client built from `shared` signs with, for a backup tool.
pub async fn tool_credentials(shared: &aws_config::SdkConfig) -> Result<ToolCredentials, BackendError> {
    use aws_sdk_s3::config::ProvideCredentials;
    let target = "the S3 credentials (standard AWS chain with [s3] profile/credentials_file)".to_string();
    let config = shared;
    let provider = config.credentials_provider().ok_or_else(|| BackendError::BadSetting {
        input: target.clone(),
        detail: "the chain found no credentials provider".into(),
        fix: "set [s3] profile/credentials_file, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".into(),
    })?;
    let creds = provider.provide_credentials().await.map_err(|e| BackendError::BadSetting {
        input: target,
        detail: clean(&causes(&e)),
        fix: "set [s3] profile/credentials_file, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".into(),
    })?;
    Ok(ToolCredentials {
        access_key_id: creds.access_key_id().to_string(),
        secret_access_key: creds.secret_access_key().to_string(),
        session_token: creds.session_token().map(str::to_string),
        region: config.region().map_or_else(|| "us-east-1".to_string(), |r| r.to_string()),
    })
}

/// The SDK's own HTTPS client (rustls with aws-lc-rs, as without a bundle) with the bundle's
/// CAs added to the system's roots.
/// The SDK's HTTPS client trusting `ca` besides the system's roots (the lab's own clients use it too).
pub fn https_client(ca: CaBundle<'_>) -> Result<aws_sdk_s3::config::SharedHttpClient, BackendError> {
    use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore, rustls_provider::CryptoMode};
    let pem = read_ca_bundle(ca)?;
    let tls = TlsContext::builder().with_trust_store(TrustStore::default().with_pem_certificate(pem)).build().map_err(|e| {
        BackendError::BadSetting { input: format!("{} `{}`", ca.setting, clean(ca.path)), detail: e.to_string(), fix: ca_fix(ca) }
    })?;
    Ok(aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::AwsLc)).tls_context(tls).build_https())
}

/// Reads a CA bundle as the client will use it: readable, PEM, at least one certificate, each
/// usable as a root. `sitrep check` calls this too, so what it passes the client accepts.
pub fn read_ca_bundle(ca: CaBundle<'_>) -> Result<Vec<u8>, BackendError> {
    super::pem::roots(std::path::Path::new(ca.path)).map(|(found, _)| found.bytes).map_err(|d| BackendError::BadSetting {
        input: format!("{} `{}`", ca.setting, clean(ca.path)),
        detail: d.to_string(),
        fix: ca_fix(ca),
    })
}

fn ca_fix(ca: CaBundle<'_>) -> String {
    format!("give {} the PEM file of the CA that signed the S3 endpoint's certificate (\"\" = the system's roots only)", ca.setting)
}

/// An SDK error as the service said it: its code and message, what was asked of which bucket
/// and key (`target`), and the fix for that code. "Cannot reach" keeps the transport's own cause.
pub fn error<E>(target: String, e: &aws_sdk_s3::error::SdkError<E>) -> BackendError
where
    E: std::error::Error + aws_sdk_s3::error::ProvideErrorMetadata + 'static,
{
    use aws_sdk_s3::error::{DisplayErrorContext, SdkError};
    match e {
        SdkError::ServiceError(s) => {
            let err = s.err();
            let status = s.raw().status().as_u16();
            let code = err.code().map(str::to_string).unwrap_or_else(|| format!("HTTP {status}"));
            let message = err.message().map(|m| format!(" {m}")).unwrap_or_default();
            BackendError::Server { target, server: clean(&format!("{code}:{message}; {}", fix_for(&code))) }
        }
        // The credential chain failed before S3 was asked (a TLS failure reaching STS keeps
        // the TLS fix below): whose credentials, the chain's words, what to set.
        SdkError::DispatchFailure(_)
            if super::rustls_cause(e).is_none()
                && let Some((chain, fix)) = credentials_failure(e) =>
        {
            BackendError::BadSetting { input: format!("no credentials for {target}"), detail: clean(&chain), fix: fix.into() }
        }
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => BackendError::Unreachable {
            target,
            // The causes' own words (rustls's for TLS), bounded apart so the fix is never cut off.
            detail: format!("{}; {}", clean(&causes(e)), unreachable_fix(e)),
        },
        other => BackendError::Unexpected { target, detail: clean(&format!("{}", DisplayErrorContext(other))) },
    }
}

/// What to do when the endpoint could not be reached: for a TLS failure, what its rustls error
/// calls for (the error's own words are already in the message).
fn unreachable_fix(e: &(dyn std::error::Error + 'static)) -> &'static str {
    use rustls::CertificateError as C;
    match super::rustls_cause(e) {
        Some(rustls::Error::InvalidCertificate(C::UnknownIssuer | C::BadSignature)) => {
            "certificate not trusted: set [s3] ca_file (or AWS_CA_BUNDLE) to the PEM file of the CA that signed the endpoint's certificate (S3's, or STS's for a role)"
        }
        Some(rustls::Error::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. })) => {
            "the endpoint's certificate does not name the host in [s3] endpoint: use a name (or IP) the certificate lists"
        }
        Some(rustls::Error::InvalidCertificate(C::Expired | C::ExpiredContext { .. })) => {
            "the endpoint's certificate has expired: renew it on the server"
        }
        Some(rustls::Error::InvalidMessage(_)) => {
            "the endpoint does not speak TLS on this port: check https:// against http:// in [s3] endpoint"
        }
        Some(_) => "check [s3] endpoint and [s3] ca_file (or AWS_CA_BUNDLE)",
        None => "check [s3] endpoint and region",
    }
}

/// When the credential chain failed before S3 was asked (its error is somewhere in `e`'s
/// causes): the chain's own words (from whose credentials were wanted on) and what to do.
fn credentials_failure(e: &(dyn std::error::Error + 'static)) -> Option<(String, &'static str)> {
    use aws_credential_types::provider::error::CredentialsError as E;
    let found = std::iter::successors(Some(e), |c| c.source()).find_map(|c| c.downcast_ref::<E>())?;
    let below = std::error::Error::source(found);
    let words = below.map_or_else(|| found.to_string(), causes);
    // A connector's error below the chain's own: STS (or the chain's other endpoint) not reached.
    let unreached = std::iter::successors(below, |c| c.source()).any(|c| c.downcast_ref::<aws_sdk_s3::error::ConnectorError>().is_some());
    let fix = match found {
        E::InvalidConfiguration(_) => {
            "the AWS profile is incomplete: [s3] profile (or AWS_PROFILE) must name a profile of AWS_CONFIG_FILE or the \
             credentials file ([s3] credentials_file, else AWS_SHARED_CREDENTIALS_FILE), and a role's source_profile must exist there too"
        }
        E::CredentialsNotLoaded(_) => {
            "no credentials found: set [s3] profile/credentials_file, AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY, \
             or AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE"
        }
        _ if unreached => {
            "the role could not be assumed, STS did not answer: set AWS_ENDPOINT_URL_STS (or the profile's endpoint_url) \
             to a reachable STS, or unset it for AWS's own"
        }
        _ => {
            "the role could not be assumed: check the profile's role_arn (or AWS_ROLE_ARN), that its source credentials \
             are valid or its token file (web_identity_token_file, or AWS_WEB_IDENTITY_TOKEN_FILE) can be read, and that the role trusts them"
        }
    };
    Some((words, fix))
}

/// What to do about an S3 error code.
fn fix_for(code: &str) -> &'static str {
    match code {
        "AccessDenied" | "AllAccessDisabled" => {
            "the credentials may not read this bucket: check [s3] profile/credentials_file and the bucket policy (s3:ListBucket, s3:GetObject)"
        }
        "InvalidAccessKeyId" | "SignatureDoesNotMatch" | "ExpiredToken" | "InvalidToken" => {
            "the credentials are wrong or expired: check [s3] profile/credentials_file or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
        }
        "NoSuchBucket" => "check [s3] bucket (and endpoint: the bucket may live elsewhere)",
        "NoSuchKey" => "the object is gone since it was listed; it is read again on the next refresh",
        "PermanentRedirect" | "AuthorizationHeaderMalformed" | "IllegalLocationConstraintException" => {
            "the bucket is in another region: set [s3] region to the bucket's region"
        }
        "SlowDown" | "ServiceUnavailable" | "InternalError" => {
            "the service is overloaded or failing; sitrep asks again on the next refresh"
        }
        _ => "check [s3] bucket, endpoint, region and profile in sitrep.toml",
    }
}

/// Decodes a key the server sent with `encoding-type=url` (percent-escapes, '+' for a space).
/// Invalid UTF-8 is replaced, not refused: the key is sanitized for the screen anyway.
pub fn url_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One listed object: its key, last-modified time and size.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    pub key: String,
    pub modified: DateTime<Utc>,
    pub size: u64,
}

/// Every object under `prefix` of `bucket`, page by page.
pub async fn list(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Result<Vec<Listed>, BackendError> {
    Ok(list_counted(s3, bucket, prefix, None).await?.0)
}

/// Every object under `prefix` after `start_after`, and how many LIST requests that took.
pub async fn list_counted(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
    start_after: Option<&str>,
) -> Result<(Vec<Listed>, u64), BackendError> {
    let mut out = Vec::new();
    let requests = list_pages(s3, bucket, prefix, start_after, |page| {
        out.extend(page);
        true
    })
    .await?;
    Ok((out, requests))
}

/// The objects under `prefix` after `start_after` (None: from the start), handed over one LIST
/// page at a time while `on_page` says go on; returns how many requests were made.
pub async fn list_pages(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
    start_after: Option<&str>,
    mut on_page: impl FnMut(Vec<Listed>) -> bool,
) -> Result<u64, BackendError> {
    // Keys may hold bytes XML cannot carry (ESC, BEL): asking for URL encoding keeps one such
    // object from making the whole page unreadable.
    let mut request = s3.list_objects_v2().bucket(bucket).prefix(prefix).encoding_type(aws_sdk_s3::types::EncodingType::Url);
    if let Some(after) = start_after {
        request = request.start_after(after);
    }
    let mut pages = request.into_paginator().send();
    let mut requests = 0;
    while let Some(page) = pages.next().await {
        requests += 1;
        let page = page.map_err(|e| error(format!("listing s3://{bucket}/{}", clean(prefix)), &e))?;
        let encoded = page.encoding_type() == Some(&aws_sdk_s3::types::EncodingType::Url);
        let listed = page
            .contents()
            .iter()
            .filter_map(|obj| {
                let raw = obj.key()?;
                let key = if encoded { url_decode(raw) } else { raw.to_string() };
                let modified = obj.last_modified().and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos())).unwrap_or_default();
                Some(Listed { key, modified, size: obj.size().unwrap_or(0).max(0) as u64 })
            })
            .collect();
        if !on_page(listed) {
            break;
        }
    }
    Ok(requests)
}

/// Every object under `prefix` except those under `except` (a prefix inside it, e.g. a WAL
/// archive kept by a [`KeySet`]): the keys before it, then those after it, never its own pages.
pub async fn list_except(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str, except: &str) -> Result<(Vec<Listed>, u64), BackendError> {
    let mut out = Vec::new();
    let mut requests = list_pages(s3, bucket, prefix, None, |page| {
        let reached = page.iter().any(|o| o.key.as_str() >= except);
        out.extend(page.into_iter().filter(|o| o.key.as_str() < except));
        !reached
    })
    .await?;
    // The greatest key under `except`: U+10FFFF sorts after every character a key can hold.
    let past = format!("{except}\u{10FFFF}");
    let (after, more) = list_counted(s3, bucket, prefix, Some(&past)).await?;
    out.extend(after);
    requests += more;
    Ok((out, requests))
}

/// Brings `set` up to date at `now`: its full pass (going on where an unfinished one stopped) or
/// its tail. Each page is kept as it arrives, so a refresh that runs out of time loses nothing.
/// Returns how many LIST requests it made.
pub async fn refresh_keys(s3: &aws_sdk_s3::Client, bucket: &str, set: &mut KeySet, now: DateTime<Utc>) -> Result<u64, BackendError> {
    let step = set.next_step(now);
    let after = match &step {
        Step::Full { after } | Step::Tail { after } => after.clone(),
    };
    let prefix = set.prefix.clone();
    let requests = list_pages(s3, bucket, &prefix, after.as_deref(), |page| {
        set.page(&step, page.into_iter().map(|o| (o.key, Entry { size: o.size, modified: o.modified })));
        true
    })
    .await?;
    set.finished(&step, now);
    Ok(requests)
}

/// The bytes of one object.
pub async fn get(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Result<Vec<u8>, BackendError> {
    let target = || format!("downloading s3://{bucket}/{}", clean(key));
    let obj = s3.get_object().bucket(bucket).key(key).send().await.map_err(|e| error(target(), &e))?;
    let body = obj.body.collect().await.map_err(|e| BackendError::Unreachable { target: target(), detail: e.to_string() })?;
    Ok(body.into_bytes().to_vec())
}

/// The backup inventory of `bucket`: each prefix listed and classified, base backups sized by
/// their partitions, and the gaps in the archived WAL. A stateless reading (every prefix listed
/// whole); the console's collector keeps the WAL prefix's keys between readings instead.
pub async fn inventory(s3: &aws_sdk_s3::Client, bucket: &str, prefixes: &[(BackupKind, &str)]) -> Result<BackupsSnapshot, BackendError> {
    inventory_with(s3, bucket, prefixes, None, Utc::now()).await
}

/// [`inventory`], with the WAL prefix's keys taken from `wal` (brought up to date by its tail,
/// or its full pass) when it is given.
pub async fn inventory_with(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefixes: &[(BackupKind, &str)],
    mut wal: Option<&mut KeySet>,
    now: DateTime<Utc>,
) -> Result<BackupsSnapshot, BackendError> {
    let mut base_sizes: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    let mut snap = BackupsSnapshot { bucket: clean(bucket), ..BackupsSnapshot::default() };
    let mut requests = 0;
    for &(kind, prefix) in prefixes {
        let listed: Vec<Listed> = match wal.as_deref_mut() {
            Some(set) if kind == BackupKind::Wal && set.prefix == prefix => {
                requests += refresh_keys(s3, bucket, set, now).await?;
                set.iter().map(|(key, e)| Listed { key: key.clone(), modified: e.modified, size: e.size }).collect()
            }
            _ => {
                let (listed, made) = list_counted(s3, bucket, prefix, None).await?;
                requests += made;
                listed
            }
        };
        for obj in listed {
            if kind == BackupKind::BaseBackup {
                *base_sizes.entry(base_name(&obj.key).to_string()).or_default() += obj.size;
            }
            if obj.key.chars().any(crate::sanitize::is_unsafe) {
                let (count, _) = snap.refused.get_or_insert_with(|| (0, clean(&obj.key)));
                *count += 1;
                continue;
            }
            if let Some(item) = classify(kind, &obj.key, obj.modified, obj.size) {
                snap.items.push(item);
            }
        }
    }
    // A base backup's size is its tar partitions plus its sentinel.
    for item in snap.items.iter_mut().filter(|i| i.kind == BackupKind::BaseBackup) {
        if let Some(total) = base_sizes.get(base_name(&item.key)) {
            item.size = *total;
        }
    }
    let wal: Vec<&str> = snap.of_kind(BackupKind::Wal).map(|i| i.key.as_str()).collect();
    snap.wal_gaps = wal_gaps(&wal);
    snap.requests = Some(requests);
    Ok(snap)
}

/// One listed object as a backup item, or None if it is bookkeeping (e.g. a tar partition).
pub fn classify(kind: BackupKind, key: &str, modified: DateTime<Utc>, size: u64) -> Option<BackupItem> {
    match kind {
        // A base backup is counted once, by its stop sentinel; its tar partitions are part of it.
        BackupKind::BaseBackup if !key.ends_with("_backup_stop_sentinel.json") => None,
        BackupKind::Wal if wal_segment(key).is_none() => None,
        // A segment's name is its place in the WAL, not a time: when it was archived is its object's.
        BackupKind::Wal => Some(BackupItem { kind, at: modified, key: clean(key), size }),
        _ => Some(BackupItem { kind, at: time_in_key(key).unwrap_or(modified), key: clean(key), size }),
    }
}

/// The `base_<WAL name>` a base-backup key belongs to (partition or sentinel).
pub fn base_name(key: &str) -> &str {
    let name = key.split('/').find(|c| c.starts_with("base_")).unwrap_or(key);
    name.strip_suffix("_backup_stop_sentinel.json").unwrap_or(name)
}

/// The backup time written in a key, only when it carries its zone: `..._20261129T130501Z...`,
/// `..._20261129T130501+0100...` or `...-2026-11-29-13-05-01Z...`. A time without a zone could be
/// any local time: the object's LastModified is used instead.
pub fn time_in_key(key: &str) -> Option<DateTime<Utc>> {
    let name = key.rsplit('/').next().unwrap_or(key);
    for (start, _) in name.char_indices() {
        let rest = &name[start..];
        if !rest.starts_with(|c: char| c.is_ascii_digit()) {
            continue;
        }
        let forms = [(15, "%Y%m%dT%H%M%S"), (19, "%Y-%m-%d-%H-%M-%S")];
        for (len, format) in forms {
            if let (Some(stamp), Some(zone)) = (rest.get(..len), rest.get(len..))
                && let Ok(t) = NaiveDateTime::parse_from_str(stamp, format)
                && let Some(offset) = zone_offset(zone)
            {
                return Some((t - chrono::Duration::seconds(offset)).and_utc());
            }
        }
    }
    None
}

/// The zone at the start of `text`: `Z` is UTC, `+HH:MM`/`+HHMM`/`-HH:MM`/`-HHMM` an offset (seconds east).
fn zone_offset(text: &str) -> Option<i64> {
    if text.starts_with('Z') {
        return Some(0);
    }
    let sign = match text.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = text[1..].chars().take(5).filter(|c| *c != ':').take(4).collect();
    let ok = digits.len() == 4 && digits.bytes().all(|b| b.is_ascii_digit());
    let (h, m) = (digits.get(..2)?.parse::<i64>().ok()?, digits.get(2..)?.parse::<i64>().ok()?);
    (ok && h < 24 && m < 60).then_some(sign * (h * 3600 + m * 60))
}

/// The 24-hex-digit WAL segment name in a key, if any.
pub fn wal_segment(key: &str) -> Option<&str> {
    let name = key.rsplit('/').next()?;
    let seg = name.get(..24)?;
    // A segment, optionally with one compression extension; history and .backup files are not segments.
    let rest = &name[24..];
    let plain = rest.is_empty() || (rest.starts_with('.') && !rest[1..].contains('.'));
    (seg.chars().all(|c| c.is_ascii_hexdigit()) && plain).then_some(seg)
}

/// Missing segments between consecutive archived ones of the same timeline (16 MiB segments).
pub fn wal_gaps(keys: &[&str]) -> Vec<(String, String)> {
    let mut segs: Vec<(u32, u64)> = keys
        .iter()
        .filter_map(|k| wal_segment(k))
        .filter_map(|s| {
            let tli = u32::from_str_radix(&s[..8], 16).ok()?;
            let log = u64::from_str_radix(&s[8..16], 16).ok()?;
            let seg = u64::from_str_radix(&s[16..24], 16).ok()?;
            Some((tli, log * 0x100 + seg))
        })
        .collect();
    segs.sort_unstable();
    segs.dedup();
    let name = |tli: u32, n: u64| format!("{tli:08X}{:08X}{:08X}", n / 0x100, n % 0x100);
    segs.windows(2)
        .filter(|w| w[0].0 == w[1].0 && w[1].1 > w[0].1 + 1)
        .map(|w| (name(w[0].0, w[0].1 + 1), name(w[0].0, w[1].1 - 1)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tls_failure_names_its_fix_through_nested_io_errors() {
        use rustls::CertificateError as C;
        // As hyper reports tokio-rustls's failure: an io::Error inside an io::Error.
        let wrapped = |e: rustls::Error| std::io::Error::other(std::io::Error::new(std::io::ErrorKind::InvalidData, e));
        let cases = [
            (rustls::Error::InvalidCertificate(C::UnknownIssuer), "[s3] ca_file (or AWS_CA_BUNDLE)"),
            (rustls::Error::InvalidCertificate(C::NotValidForName), "does not name the host"),
            (rustls::Error::InvalidCertificate(C::Expired), "has expired"),
            (rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType), "does not speak TLS"),
        ];
        for (error, fix) in cases {
            let io = wrapped(error);
            assert!(unreachable_fix(&io).contains(fix), "{io}: {}", unreachable_fix(&io));
        }
        assert_eq!(unreachable_fix(&std::io::Error::other("connection refused")), "check [s3] endpoint and region");
    }

    #[test]
    fn backup_times_are_read_from_keys() {
        let t = time_in_key("dumps/shop/shop_20261129T130501Z.dump").map(|t| t.to_rfc3339());
        assert_eq!(t.as_deref(), Some("2026-11-29T13:05:01+00:00"));
        let t = time_in_key("snapshots/qdrant/products/products-7-2026-11-28-02-00-00Z.snapshot").map(|t| t.to_rfc3339());
        assert_eq!(t.as_deref(), Some("2026-11-28T02:00:00+00:00"));
        let t = time_in_key("dumps/shop/shop_20261129T140501+01:00.dump").map(|t| t.to_rfc3339());
        assert_eq!(t.as_deref(), Some("2026-11-29T13:05:01+00:00"), "an offset is applied");
        let t = time_in_key("dumps/shop/shop_20261129T080501-0500.dump").map(|t| t.to_rfc3339());
        assert_eq!(t.as_deref(), Some("2026-11-29T13:05:01+00:00"));
        assert!(time_in_key("wal_005/000000010000000000000003.zst").is_none());
        assert!(time_in_key("dumps/é日本_20261129T130501Z€.dump").is_some());
    }

    #[test]
    fn a_time_without_its_zone_does_not_count() {
        assert_eq!(time_in_key("dumps/shop/shop_20261129T130501.dump"), None, "local time of some zone");
        assert_eq!(time_in_key("snapshots/qdrant/products/products-7-2026-11-28-02-00-00.snapshot"), None);
        let listed = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let item = classify(BackupKind::Dump, "dumps/shop/shop_20261129T130501.dump", listed, 1);
        assert_eq!(item.map(|i| i.at), Some(listed), "LastModified is used instead");
    }

    #[test]
    fn url_encoded_keys_are_decoded_byte_for_byte() {
        assert_eq!(url_decode("dumps/a%1B%5D0%3Bx%07b+c.dump"), "dumps/a\u{1b}]0;x\u{7}b c.dump");
        assert_eq!(url_decode("d/%E6%97%A5.dump"), "d/日.dump");
        assert_eq!(url_decode("100%"), "100%", "a stray percent stays");
        assert_eq!(url_decode("%zz%4"), "%zz%4");
    }

    #[test]
    fn a_missing_wal_segment_is_a_gap() {
        let keys = [
            "wal_005/000000010000000000000001.zst",
            "wal_005/000000010000000000000002.zst",
            "wal_005/000000010000000000000005.zst",
            "wal_005/0000000100000000000000FF.zst",
            "wal_005/000000010000000100000000.zst",
            "wal_005/000000010000000000000003.00000028.backup.zst",
        ];
        let gaps = wal_gaps(&keys);
        assert_eq!(gaps[0], ("000000010000000000000003".to_string(), "000000010000000000000004".to_string()));
        assert_eq!(gaps.len(), 2, "{gaps:?}");
    }

    #[test]
    fn base_backups_count_once_by_their_sentinel() {
        let t = Utc::now();
        assert!(
            classify(BackupKind::BaseBackup, "basebackups_005/base_000000010000000000000002/tar_partitions/part_1.tar.zst", t, 9).is_none()
        );
        assert!(
            classify(BackupKind::BaseBackup, "basebackups_005/base_000000010000000000000002_backup_stop_sentinel.json", t, 9).is_some()
        );
    }
}
