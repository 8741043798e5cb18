//! HTTP health checks: GET a URL and expect a status, within the step's per-call timeout.

use super::{Ctx, EffectError, Report, not_ready};
use crate::backends::BackendError;

pub async fn check(ctx: &Ctx, url: &str, expect: u16) -> Result<Report, EffectError> {
    let resp = ctx.http().get(url).send().await.map_err(|e| BackendError::Unreachable {
        target: format!("GET {url}"),
        detail: format!("{e}; is the service up and the URL right?"),
    })?;
    let status = resp.status().as_u16();
    if status == expect {
        Ok(Report::text(format!("GET {url}: {status}")))
    } else {
        Err(not_ready(format!("GET {url}: {status}, expected {expect}")))
    }
}
