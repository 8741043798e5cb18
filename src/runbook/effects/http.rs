//! HTTP health checks: GET a URL and expect a status, within the step's per-call timeout. A
//! different status is reported with the start of what the server said, sanitized.

use super::{Ctx, EffectError, Report, not_ready};
use crate::backends::BackendError;

/// How much of a refusing server's body the report keeps.
const BODY_CHARS: usize = 200;

pub async fn check(ctx: &Ctx, url: &str, expect: u16) -> Result<Report, EffectError> {
    let resp = ctx.http().get(url).send().await.map_err(|e| BackendError::Unreachable {
        target: format!("GET {url}"),
        detail: format!("{e}; is the service up and the URL right?"),
    })?;
    let status = resp.status();
    if status.as_u16() == expect {
        return Ok(Report::text(format!("GET {url}: {status}")));
    }
    let body = resp.text().await.unwrap_or_default();
    let body = crate::sanitize::redact_secrets(&body.split_whitespace().collect::<Vec<_>>().join(" "));
    let said = crate::sanitize::sanitize_bounded(&body, BODY_CHARS);
    let said = if said.is_empty() { "an empty body".to_string() } else { format!("`{said}`") };
    Err(not_ready(format!("GET {url}: {status}, expected {expect}; the server said {said}")))
}
