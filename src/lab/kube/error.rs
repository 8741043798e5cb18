//! The errors of the stand-in, and how each becomes a Kubernetes `Status` on the wire.
//! kubectl prints `Error from server (Reason): message`, so messages follow the real API server's wording.

use serde_json::{Value, json};

use super::validation::go_quote;

/// One `details.causes[]` entry of an Invalid status: the field path and the error body
/// (`Invalid value: "x": why`), as `field.Error` renders them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    pub reason: &'static str,
    pub field: String,
    pub message: String,
}

impl Cause {
    /// `field.Invalid(path, value, detail)` for a string value.
    pub(crate) fn invalid(field: &str, value: &str, detail: &str) -> Self {
        Self { reason: "FieldValueInvalid", field: field.to_string(), message: format!("Invalid value: {}: {detail}", go_quote(value)) }
    }

    /// `field.Required(path, detail)`.
    pub(crate) fn required(field: &str, detail: &str) -> Self {
        let message = if detail.is_empty() { "Required value".to_string() } else { format!("Required value: {detail}") };
        Self { reason: "FieldValueRequired", field: field.to_string(), message }
    }

    /// `field.TooLong(path, "", max)` for a byte limit.
    pub(crate) fn too_long(field: &str, max: usize) -> Self {
        Self { reason: "FieldValueTooLong", field: field.to_string(), message: format!("Too long: must have at most {max} bytes") }
    }
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// `Kind.group` (just `Kind` for the core group), as `GroupKind.String()`.
fn qualified_kind(kind: &str, group: &str) -> String {
    if group.is_empty() { kind.to_string() } else { format!("{kind}.{group}") }
}

/// `ErrorList.ToAggregate().Error()`: one error alone, several as `[a, b]`, duplicates dropped.
fn aggregate(causes: &[Cause]) -> String {
    let mut seen: Vec<String> = Vec::new();
    for cause in causes {
        let text = cause.to_string();
        if !seen.contains(&text) {
            seen.push(text);
        }
    }
    match seen.as_slice() {
        [one] => one.clone(),
        many => format!("[{}]", many.join(", ")),
    }
}

/// What went wrong in a request to (or a fault injected into) the stand-in cluster.
#[derive(Debug, thiserror::Error)]
pub enum KubeStandInError {
    /// The object (or its namespace) does not exist.
    #[error("{resource} \"{name}\" not found")]
    NotFound { resource: String, name: String },
    /// A create named an object that already exists.
    #[error("{resource} \"{name}\" already exists")]
    AlreadyExists { resource: String, name: String },
    /// The object failed validation; each cause says which field and why (`StatusError` from `NewInvalid`).
    #[error("{} {} is invalid: {}", qualified_kind(.kind, .group), go_quote(.name), aggregate(.causes))]
    Invalid { kind: String, group: String, name: String, causes: Vec<Cause> },
    /// An update carried a stale resourceVersion.
    #[error("Operation cannot be fulfilled on {resource} \"{name}\": {detail}")]
    Conflict { resource: String, name: String, detail: String },
    /// The request itself is malformed (bad body, bad selector, bad patch).
    #[error("{0}")]
    BadRequest(String),
    /// The verb is not served for this resource.
    #[error("the server does not allow this method on the requested resource")]
    MethodNotAllowed,
    /// A protobuf body for anything but a SelfSubjectAccessReview.
    #[error("the sitrep lab stand-in reads JSON bodies only (got protobuf); use `kubectl apply -f` or a JSON client")]
    UnsupportedMediaType,
    /// The verb was denied with [`crate::lab::kube::Cluster::deny_verbs`].
    #[error("{0}")]
    Forbidden(String),
    /// A watch asked for a resourceVersion older than the retained history.
    #[error("too old resource version: {requested} ({oldest})")]
    Expired { requested: u64, oldest: u64 },
    /// The path names no resource this stand-in serves.
    #[error("the server could not find the requested resource")]
    UnknownPath,
    /// An eviction a PodDisruptionBudget refuses for now (clients retry); `cause` names the budget.
    #[error("{message}")]
    TooManyRequests { message: String, cause: String },
    /// What the real server answers with 500 (an eviction covered by two budgets).
    #[error("{0}")]
    Internal(String),
    /// No credentials the gate accepts (served over HTTPS with a `Gate`): the server says no more.
    #[error("Unauthorized")]
    Unauthorized,
}

impl KubeStandInError {
    /// HTTP status code the real API server uses for this error.
    pub fn code(&self) -> u16 {
        match self {
            Self::NotFound { .. } | Self::UnknownPath => 404,
            Self::AlreadyExists { .. } | Self::Conflict { .. } => 409,
            Self::Invalid { .. } => 422,
            Self::BadRequest(_) => 400,
            Self::MethodNotAllowed => 405,
            Self::UnsupportedMediaType => 415,
            Self::Forbidden(_) => 403,
            Self::Expired { .. } => 410,
            Self::TooManyRequests { .. } => 429,
            Self::Internal(_) => 500,
            Self::Unauthorized => 401,
        }
    }

    fn reason(&self) -> &'static str {
        match self {
            Self::NotFound { .. } | Self::UnknownPath => "NotFound",
            Self::AlreadyExists { .. } => "AlreadyExists",
            Self::Conflict { .. } => "Conflict",
            Self::Invalid { .. } => "Invalid",
            Self::BadRequest(_) => "BadRequest",
            Self::MethodNotAllowed => "MethodNotAllowed",
            Self::UnsupportedMediaType => "UnsupportedMediaType",
            Self::Forbidden(_) => "Forbidden",
            Self::Expired { .. } => "Expired",
            Self::TooManyRequests { .. } => "TooManyRequests",
            Self::Internal(_) => "InternalError",
            Self::Unauthorized => "Unauthorized",
        }
    }

    /// The `meta/v1 Status` object for this error.
    pub(crate) fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.to_string(),
            "reason": self.reason(),
            "code": self.code(),
        });
        match self {
            Self::NotFound { resource, name } | Self::AlreadyExists { resource, name } | Self::Conflict { resource, name, .. } => {
                let (kind, group) = resource.split_once('.').unwrap_or((resource, ""));
                status["details"] = json!({ "name": name, "group": group, "kind": kind });
            }
            Self::Invalid { kind, group, name, causes } => {
                let causes: Vec<Value> =
                    causes.iter().map(|c| json!({ "reason": c.reason, "message": c.message, "field": c.field })).collect();
                status["details"] = json!({ "name": name, "group": group, "kind": kind, "causes": causes });
            }
            Self::TooManyRequests { cause, .. } => {
                status["details"] = json!({ "causes": [{ "reason": "DisruptionBudget", "message": cause }] });
            }
            _ => {}
        }
        status
    }
}
