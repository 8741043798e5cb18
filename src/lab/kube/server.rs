//! The HTTP face of the stand-in: routes discovery, OpenAPI, resource and subresource paths to
//! their verbs, negotiates JSON vs Table, and runs the controller loop beside the listener.

use std::collections::HashMap;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::controller;
use super::discovery;
use super::error::KubeStandInError;
use super::gate::{self, TlsServing};
use super::logs;
use super::resources::ResourceType;
use super::selector::{FieldSelector, LabelSelector};
use super::store::Cluster;
use super::table::RowObject;
use super::verbs::{self, Target};
use super::watch::{self, WatchRequest};

#[derive(Clone)]
struct Served {
    cluster: Cluster,
    stop: CancellationToken,
}

/// Serves the API on `listener` (plain HTTP, no authentication) until `shutdown` resolves. Also runs
/// the controller loop (Deployments -> ReplicaSets -> Pods, pod phase progression, crash-loop
/// restarts with backoff, events).
pub async fn serve(
    listener: tokio::net::TcpListener,
    cluster: Cluster,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_on(Listening::Plain(listener), cluster, shutdown).await
}

/// As [`serve`], over HTTPS: every request needs a verified client certificate or a token the
/// gate accepts, else it gets 401 `Unauthorized` as from a real API server.
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    tls: TlsServing,
    cluster: Cluster,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_on(Listening::Tls(listener, tls), cluster, shutdown).await
}

enum Listening {
    Plain(tokio::net::TcpListener),
    Tls(tokio::net::TcpListener, TlsServing),
}

async fn serve_on(
    listening: Listening,
    cluster: Cluster,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let stop = CancellationToken::new();
    // Also stops the controller when this future is dropped (the lab aborts its serving task).
    let _stop_on_drop = stop.clone().drop_guard();
    let controller = spawn_controller(cluster.clone(), stop.clone())?;
    let app = Router::new().fallback(dispatch).with_state(Served { cluster, stop: stop.clone() });
    let stopping = stop.clone();
    let graceful = async move {
        shutdown.await;
        // Ends open watches, so graceful shutdown does not wait on them.
        stopping.cancel();
    };
    let served = match listening {
        Listening::Plain(listener) => axum::serve(listener, app).with_graceful_shutdown(graceful).await,
        Listening::Tls(listener, tls) => {
            let app = app.layer(axum::middleware::from_fn_with_state(tls.gate.clone(), gate::admit));
            axum::serve(tls.listener(listener), app.into_make_service_with_connect_info::<gate::Peer>())
                .with_graceful_shutdown(graceful)
                .await
        }
    };
    stop.cancel();
    // The controller ends within one tick of cancellation; a panic in it was already printed.
    let _ = tokio::task::spawn_blocking(move || controller.join()).await;
    served
}

/// The controller loop runs on its own thread: a long pass holds the cluster lock, never an
/// async worker, so signal handling and the rest of the lab are not starved by it.
fn spawn_controller(cluster: Cluster, stop: CancellationToken) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new().name("kube-controller".into()).spawn(move || {
        let tick = cluster.lock().timings.tick;
        while !stop.is_cancelled() {
            let started = std::time::Instant::now();
            {
                let mut state = cluster.lock();
                controller::reconcile(&mut state, chrono::Utc::now());
            }
            // Sleep a full tick after a long pass too, so requests get the lock in between.
            std::thread::sleep(tick.saturating_sub(started.elapsed()).max(tick / 4));
        }
    })
}

/// Where a request path leads.
enum Route {
    Json(Value),
    OpenApiV2,
    Resource(Target),
}

/// The path with `%XX` escapes decoded, as Go's `url.URL.Path` gives it to the real API server
/// before it splits the segments (`pods/api%2Dx` names the pod `api-x`).
pub(crate) fn percent_decode(raw: &str) -> Result<String, KubeStandInError> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u8::from_str_radix(h, 16).ok());
            let Some(byte) = hex else {
                let bad: String = raw[i..].chars().take(3).collect();
                return Err(KubeStandInError::BadRequest(format!("invalid URL escape {:?} in the request path", bad)));
            };
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

fn route(raw_path: &str) -> Result<Route, KubeStandInError> {
    let path = percent_decode(raw_path)?;
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let found = |v: Option<Value>| v.map(Route::Json).ok_or(KubeStandInError::UnknownPath);
    match segments.as_slice() {
        ["version"] => Ok(Route::Json(discovery::version())),
        ["healthz" | "readyz" | "livez"] => Ok(Route::Json(Value::String("ok".into()))),
        ["api"] => Ok(Route::Json(discovery::core_versions())),
        ["apis"] => Ok(Route::Json(discovery::group_list())),
        ["openapi", "v2"] => Ok(Route::OpenApiV2),
        ["openapi", "v3"] => Ok(Route::Json(discovery::openapi_v3_index())),
        ["openapi", "v3", rest @ ..] => found(discovery::openapi_v3_group_version(&rest.join("/"))),
        ["api", version] => found(discovery::resource_list("", version)),
        ["apis", group, version] => found(discovery::resource_list(group, version)),
        ["api", version, rest @ ..] => resource_route("", version, rest),
        ["apis", group, version, rest @ ..] => resource_route(group, version, rest),
        _ => Err(KubeStandInError::UnknownPath),
    }
}

fn resource_route(group: &str, version: &str, rest: &[&str]) -> Result<Route, KubeStandInError> {
    let (namespace, rest) = match rest {
        ["namespaces", ns, rest @ ..] if !rest.is_empty() => (Some(ns.to_string()), rest),
        _ => (None, rest),
    };
    let rt = rest.first().and_then(|plural| ResourceType::lookup(group, version, plural)).ok_or(KubeStandInError::UnknownPath)?;
    if namespace.is_some() && !rt.namespaced {
        return Err(KubeStandInError::UnknownPath);
    }
    Ok(Route::Resource(Target { rt, namespace, name: rest.get(1).map(|s| s.to_string()), subresource: rest.get(2).map(|s| s.to_string()) }))
}

async fn dispatch(State(served): State<Served>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let query: HashMap<String, String> = Query::try_from_uri(&uri).map(|q| q.0).unwrap_or_default();
    let result = match route(uri.path()) {
        Ok(Route::Json(value)) if method == Method::GET => Ok(json_response(StatusCode::OK, &value)),
        Ok(Route::Json(_) | Route::OpenApiV2) if method != Method::GET => Err(KubeStandInError::MethodNotAllowed),
        // An empty protobuf document: kubectl (1.27 validates through v2) finds no schema for any
        // kind, so it skips client-side validation and computes patches from its built-in types.
        Ok(Route::OpenApiV2) => {
            Ok(([(header::CONTENT_TYPE, "application/com.github.proto-openapi.spec.v2.v1.0+protobuf")], Vec::<u8>::new()).into_response())
        }
        Ok(Route::Resource(target)) => resource(&served, method, target, &query, &headers, &body),
        Ok(Route::Json(_)) => Err(KubeStandInError::MethodNotAllowed),
        Err(e) => Err(e),
    };
    result.unwrap_or_else(|e| error_response(&e))
}

fn resource(
    served: &Served,
    method: Method,
    target: Target,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, KubeStandInError> {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let table = accept.contains("as=Table").then(|| RowObject::from_query(query.get("includeObject").map(String::as_str)));
    let dry_run = query.contains_key("dryRun");
    let watching = matches!(query.get("watch").map(String::as_str), Some("1" | "true"));
    let verb = verbs::verb_of(&method, &target, watching);
    verbs::supported(verb, &target)?;
    verbs::authorize(&served.cluster, verb, &target)?;
    let cluster = &served.cluster;
    match (method, target.name.is_some()) {
        (Method::GET, false) if watching => {
            let bookmark_every = cluster.lock().timings.bookmark_every;
            let request = WatchRequest {
                rt: target.rt,
                namespace: target.namespace.clone(),
                resource_version: query.get("resourceVersion").cloned(),
                labels: LabelSelector::parse(query.get("labelSelector").map_or("", String::as_str))?,
                fields: FieldSelector::parse(query.get("fieldSelector").map_or("", String::as_str))?,
                bookmarks: matches!(query.get("allowWatchBookmarks").map(String::as_str), Some("true" | "1")),
                send_initial_events: matches!(query.get("sendInitialEvents").map(String::as_str), Some("true")),
                timeout: query.get("timeoutSeconds").and_then(|t| t.parse().ok()).map(Duration::from_secs),
                table,
            };
            Ok(watch::watch(cluster, request, served.stop.clone(), bookmark_every))
        }
        (Method::GET, false) => {
            let labels = LabelSelector::parse(query.get("labelSelector").map_or("", String::as_str))?;
            let fields = FieldSelector::parse(query.get("fieldSelector").map_or("", String::as_str))?;
            let page =
                verbs::Page { limit: query.get("limit").and_then(|l| l.parse().ok()), continue_token: query.get("continue").cloned() };
            let list = verbs::list(cluster, &target, &labels, &fields, table, accept, &page)?;
            Ok((StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], list).into_response())
        }
        (Method::GET, true) if target.subresource.as_deref() == Some("log") => {
            if target.rt.plural != "pods" {
                return Err(KubeStandInError::UnknownPath);
            }
            let request = logs::LogRequest::from_query(query)?;
            logs::serve(
                cluster,
                target.namespace.as_deref().unwrap_or(""),
                target.name.as_deref().unwrap_or(""),
                request,
                served.stop.clone(),
            )
        }
        (Method::GET, true) => Ok(json_response(StatusCode::OK, &verbs::get(cluster, &target, table, accept)?)),
        (Method::POST, true) if target.subresource.as_deref() == Some("eviction") => {
            Ok(json_response(StatusCode::CREATED, &verbs::evict(cluster, &target, body, dry_run)?))
        }
        (Method::POST, false) => {
            let created = verbs::create(cluster, &target, body, dry_run)?;
            Ok(json_response(StatusCode::CREATED, &created))
        }
        (Method::PUT, true) => Ok(json_response(StatusCode::OK, &verbs::replace(cluster, &target, body, dry_run)?)),
        (Method::PATCH, true) => {
            let patched = verbs::patch(cluster, &target, content_type, body, dry_run)?;
            Ok(json_response(StatusCode::OK, &patched))
        }
        (Method::DELETE, true) => Ok(json_response(StatusCode::OK, &verbs::delete(cluster, &target, dry_run)?)),
        _ => Err(KubeStandInError::MethodNotAllowed),
    }
}

fn json_response(code: StatusCode, value: &Value) -> Response {
    (code, [(header::CONTENT_TYPE, "application/json")], value.to_string()).into_response()
}

pub(crate) fn error_response(error: &KubeStandInError) -> Response {
    let code = StatusCode::from_u16(error.code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json_response(code, &error.to_status())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_escapes_are_decoded_before_routing() {
        assert_eq!(
            percent_decode("/api/v1/namespaces/shop/pods/api%2Dx%2e1").ok().as_deref(),
            Some("/api/v1/namespaces/shop/pods/api-x.1")
        );
        assert!(matches!(percent_decode("/pods/a%zz"), Err(KubeStandInError::BadRequest(_))));
        assert!(matches!(percent_decode("/pods/a%2"), Err(KubeStandInError::BadRequest(_))));
        let Ok(Route::Resource(target)) = route("/api/v1/namespaces/sh%6Fp/pods/api%2Dx") else {
            panic!("pods/api%2Dx must route to a pod")
        };
        assert_eq!((target.namespace.as_deref(), target.name.as_deref()), (Some("shop"), Some("api-x")));
    }
}
