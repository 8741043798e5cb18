//! The errors of the stand-in, and how each becomes a Kubernetes `Status` on the wire.
//! kubectl prints `Error from server (Reason): message`, so messages follow the real API server's wording.

use serde_json::{Value, json};

/// What went wrong in a request to (or a fault injected into) the stand-in cluster.
#[derive(Debug, thiserror::Error)]
pub enum KubeStandInError {
    /// The object (or its namespace) does not exist.
    #[error("{resource} \"{name}\" not found")]
    NotFound { resource: String, name: String },
    /// A create named an object that already exists.
    #[error("{resource} \"{name}\" already exists")]
    AlreadyExists { resource: String, name: String },
    /// The object failed validation; `field` and `detail` say which part and why.
    #[error("{kind} \"{name}\" is invalid: {field}: {detail}")]
    Invalid { kind: String, name: String, field: String, detail: String },
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
            Self::Invalid { kind, name, field, detail } => {
                status["details"] = json!({
                    "name": name,
                    "kind": kind,
                    "causes": [{ "reason": "FieldValueInvalid", "message": detail, "field": field }],
                });
            }
            _ => {}
        }
        status
    }
}
