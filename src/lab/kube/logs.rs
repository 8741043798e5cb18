//! `pods/{name}/log` as the kubelet serves it through the API server: each container run's output
//! (a pure function of the pod's timeline), `previous`, `tailLines`, `sinceSeconds`, `limitBytes`,
//! `timestamps`, and `follow` streamed until the run ends or the pod goes.

use std::collections::HashMap;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::Response;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::error::KubeStandInError;
use super::kubelet::{Fate, PodLife, containers, fate_of};
use super::meta::{self, str_at};
use super::resources::PODS;
use super::store::{Cluster, State};

/// The pod annotation that sets a healthy container's lines per second (default
/// [`DEFAULT_RATE`]); the lab's throughput measurement makes a pod spew with it.
pub const LOG_RATE_ANNOTATION: &str = "lab.sitrep.dev/log-lines-per-second";
/// Lines per second of a healthy container: a request or a heartbeat every half second.
const DEFAULT_RATE: f64 = 2.0;
/// Lines a container's log keeps (the kubelet rotates its files; older lines are gone).
const KEPT_LINES: u64 = 100_000;
/// How often a follow looks for new lines.
const FOLLOW_EVERY: Duration = Duration::from_millis(100);

/// What a log request asked for, from its query.
#[derive(Debug, Clone, Default)]
pub(crate) struct LogRequest {
    container: Option<String>,
    previous: bool,
    follow: bool,
    timestamps: bool,
    tail_lines: Option<u64>,
    since_seconds: Option<i64>,
    limit_bytes: Option<usize>,
}

impl LogRequest {
    pub(crate) fn from_query(query: &HashMap<String, String>) -> Result<Self, KubeStandInError> {
        let flag = |key: &str| matches!(query.get(key).map(String::as_str), Some("true" | "1"));
        fn number<T: std::str::FromStr>(query: &HashMap<String, String>, key: &str) -> Result<Option<T>, KubeStandInError> {
            query
                .get(key)
                .map(|v| {
                    v.parse::<T>().map_err(|_| KubeStandInError::BadRequest(format!("{key}: Invalid value: {v:?}: must be an integer")))
                })
                .transpose()
        }
        let tail: Option<i64> = number(query, "tailLines")?;
        let since: Option<i64> = number(query, "sinceSeconds")?;
        let limit: Option<i64> = number(query, "limitBytes")?;
        // The API server's own validation (`ValidatePodLogOptions`).
        if tail.is_some_and(|t| t < 0) {
            return Err(KubeStandInError::BadRequest("tailLines: Invalid value: must be greater than or equal to 0".into()));
        }
        if since.is_some_and(|s| s < 1) {
            return Err(KubeStandInError::BadRequest("sinceSeconds: Invalid value: must be greater than 0".into()));
        }
        if limit.is_some_and(|l| l < 1) {
            return Err(KubeStandInError::BadRequest("limitBytes: Invalid value: must be greater than 0".into()));
        }
        Ok(Self {
            container: query.get("container").filter(|c| !c.is_empty()).cloned(),
            previous: flag("previous"),
            follow: flag("follow"),
            timestamps: flag("timestamps"),
            tail_lines: tail.map(|t| t as u64),
            since_seconds: since,
            limit_bytes: limit.map(|l| l as usize),
        })
    }
}

/// One run of one container: what it printed is a function of these alone.
#[derive(Debug, Clone, PartialEq)]
struct Run {
    container: String,
    image: String,
    fate: Fate,
    started: DateTime<Utc>,
    /// When it exited (a terminated run), else None while it runs.
    ended: Option<DateTime<Utc>>,
    /// How long a failing run lasts (the kubelet's `crash_after`).
    lifetime: chrono::Duration,
    rate: f64,
}

impl Run {
    /// Line `k` of this run with its time, if it was written (None past its last line).
    fn line(&self, k: u64) -> Option<(DateTime<Utc>, String)> {
        let name = &self.container;
        let at_fraction = |f: f64| self.started + scale(self.lifetime, f);
        let (at, text) = match self.fate {
            Fate::Healthy => {
                let at = self.started + chrono::Duration::nanoseconds((k as f64 * 1e9 / self.rate) as i64);
                (at, healthy_line(name, &self.image, k))
            }
            Fate::CrashLoop => match k {
                0 => (self.started, format!("INFO {name}: starting {}", self.image)),
                1 => (at_fraction(0.25), format!("INFO {name}: loading config from /etc/{name}/config.yaml")),
                2 => (at_fraction(0.5), format!("ERROR {name}: config key DATABASE_URL is missing")),
                3 => (self.ended.unwrap_or_else(|| at_fraction(1.0)), format!("FATAL {name}: exiting with status 1")),
                _ => return None,
            },
            Fate::OomKilled => match k {
                0 => (self.started, format!("INFO {name}: starting {}", self.image)),
                1 => (at_fraction(0.25), format!("INFO {name}: listening on :8080")),
                2 => (at_fraction(0.5), format!("WARN {name}: heap at 91% of limit")),
                3 => (at_fraction(0.75), format!("WARN {name}: heap at 98% of limit")),
                _ => return None,
            },
            Fate::ImagePull => return None,
        };
        Some((at, text))
    }

    /// How many lines were written by `now` (the index of the first not yet written).
    fn written_by(&self, now: DateTime<Utc>) -> u64 {
        let until = self.ended.map_or(now, |e| e.min(now));
        match self.fate {
            Fate::Healthy => {
                let secs = (until - self.started).num_nanoseconds().unwrap_or(i64::MAX).max(0) as f64 / 1e9;
                (secs * self.rate).floor() as u64 + 1
            }
            _ => (0..4).take_while(|&k| self.line(k).is_some_and(|(at, _)| at <= until)).count() as u64,
        }
    }
}

fn scale(d: chrono::Duration, f: f64) -> chrono::Duration {
    chrono::Duration::nanoseconds((d.num_nanoseconds().unwrap_or(0) as f64 * f) as i64)
}

/// A healthy container's line `k`: its start, then requests with a heartbeat every tenth line.
fn healthy_line(name: &str, image: &str, k: u64) -> String {
    const PATHS: [&str; 5] = ["/api/orders", "/api/cart", "/api/products", "/healthz", "/api/checkout"];
    match k {
        0 => format!("INFO {name}: starting {image}"),
        1 => format!("INFO {name}: listening on :8080"),
        k if k % 10 == 0 => format!("INFO {name}: heartbeat: {} requests served, 0 errors", k - k / 10),
        k => {
            let h = k.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
            let status = if h % 47 == 0 { 503 } else { 200 };
            format!("INFO {name}: GET {}/{} {status} {}ms", PATHS[(h % 5) as usize], h % 1000, 3 + h % 40)
        }
    }
}

/// Which run a request reads, as the kubelet picks it (`validateContainerLogStatus`).
fn pick_run(state: &State, pod: &Value, request: &LogRequest) -> Result<Run, KubeStandInError> {
    let pod_name = meta::name(pod);
    let all = containers(pod);
    let container = match &request.container {
        Some(want) => all
            .iter()
            .find(|c| str_at(c, "/name") == want)
            .ok_or_else(|| KubeStandInError::BadRequest(format!("container {want} is not valid for pod {pod_name}")))?,
        None if all.len() == 1 => &all[0],
        None => {
            let names: Vec<&str> = all.iter().map(|c| str_at(c, "/name")).collect();
            return Err(KubeStandInError::BadRequest(format!(
                "a container name must be specified for pod {pod_name}, choose one of: [{}]",
                names.join(" ")
            )));
        }
    };
    let name = str_at(container, "/name").to_string();
    let image = str_at(container, "/image").to_string();
    let fate = fate_of(&image);
    let life = state.pods.get(meta::uid(pod));
    let rate = pod
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(LOG_RATE_ANNOTATION))
        .and_then(Value::as_str)
        .and_then(|r| r.parse::<f64>().ok())
        .filter(|r| *r > 0.0 && r.is_finite())
        .unwrap_or(DEFAULT_RATE);
    let lifetime = chrono::Duration::from_std(state.timings.crash_after).unwrap_or_default();
    let run = |started, ended| Run { container: name.clone(), image: image.clone(), fate, started, ended, lifetime, rate };
    let waiting =
        |reason: &str| KubeStandInError::BadRequest(format!("container {name:?} in pod {pod_name:?} is waiting to start: {reason}"));
    let previous_missing = || KubeStandInError::BadRequest(format!("previous terminated container {name:?} in pod {pod_name:?} not found"));
    let Some(life) = life.filter(|l| l.first_started.is_some()) else {
        if request.previous {
            return Err(previous_missing());
        }
        return Err(waiting(if fate == Fate::ImagePull { "trying and failing to pull image" } else { "ContainerCreating" }));
    };
    let last = (fate != Fate::Healthy).then_some(life.last_run).flatten();
    if request.previous {
        return last.map(|(s, e)| run(s, Some(e))).ok_or_else(previous_missing);
    }
    Ok(match current_start(life, fate) {
        Some(started) => run(started, None),
        // Backing off: the kubelet reads the last terminated container.
        None => match last {
            Some((s, e)) => run(s, Some(e)),
            None => return Err(waiting("CrashLoopBackOff")),
        },
    })
}

/// When the container's current run began (None while it backs off).
fn current_start(life: &PodLife, fate: Fate) -> Option<DateTime<Utc>> {
    match fate {
        Fate::Healthy => life.first_started,
        _ => life.run_started,
    }
}

/// The first line index a request wants: the kept lines, then `sinceSeconds` and `tailLines`.
fn first_wanted(run: &Run, written: u64, request: &LogRequest, now: DateTime<Utc>) -> u64 {
    let mut first = written.saturating_sub(KEPT_LINES);
    if let Some(since) = request.since_seconds {
        let from = now - chrono::Duration::seconds(since);
        first = match run.fate {
            Fate::Healthy if from > run.started => {
                let secs = (from - run.started).num_nanoseconds().unwrap_or(0) as f64 / 1e9;
                first.max((secs * run.rate).ceil() as u64)
            }
            Fate::Healthy => first,
            _ => (first..written).find(|&k| run.line(k).is_some_and(|(at, _)| at >= from)).unwrap_or(written),
        };
    }
    if let Some(tail) = request.tail_lines {
        first = first.max(written.saturating_sub(tail));
    }
    first.min(written)
}

fn render(run: &Run, range: std::ops::Range<u64>, timestamps: bool, out: &mut String) {
    for k in range {
        if let Some((at, text)) = run.line(k) {
            if timestamps {
                out.push_str(&at.to_rfc3339_opts(SecondsFormat::Nanos, true));
                out.push(' ');
            }
            out.push_str(&text);
            out.push('\n');
        }
    }
}

/// Cuts `text` to `limit` bytes (the kubelet stops mid-line too), on a character boundary.
fn cut(text: &mut String, limit: Option<usize>) -> bool {
    let Some(limit) = limit.filter(|l| text.len() >= *l) else { return false };
    let mut at = limit;
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    text.truncate(at);
    true
}

/// `GET pods/NAME/log`: the text at once, or (follow) a stream that ends with the run or the pod.
pub(crate) fn serve(
    cluster: &Cluster,
    namespace: &str,
    name: &str,
    request: LogRequest,
    stop: CancellationToken,
) -> Result<Response, KubeStandInError> {
    let not_found = || KubeStandInError::NotFound { resource: "pods".into(), name: name.to_string() };
    let now = Utc::now();
    let (run, uid, text, next) = {
        let state = cluster.lock();
        let pod = state.get(PODS, namespace, name).ok_or_else(not_found)?;
        let run = pick_run(&state, pod, &request)?;
        let written = run.written_by(now);
        let first = first_wanted(&run, written, &request, now);
        let mut text = String::new();
        render(&run, first..written, request.timestamps, &mut text);
        (run, meta::uid(pod).to_string(), text, written)
    };
    let mut text = text;
    let full = cut(&mut text, request.limit_bytes);
    let plain =
        |body: Body| Response::builder().status(StatusCode::OK).header(header::CONTENT_TYPE, "text/plain").body(body).unwrap_or_default();
    if !request.follow || full || run.ended.is_some() {
        return Ok(plain(Body::from(text)));
    }
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::convert::Infallible>>(64);
    let sent = text.len();
    let follower = Follower { cluster: cluster.clone(), namespace: namespace.into(), name: name.into(), uid, request, run, next, sent };
    // The receiver is held below, so the first chunk cannot fail for lack of a reader.
    if !text.is_empty() {
        let _ = tx.try_send(Ok(Bytes::from(text)));
    }
    tokio::spawn(follower.run(tx, stop));
    Ok(plain(Body::from_stream(futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) }))))
}

/// A `follow=true` request being served.
struct Follower {
    cluster: Cluster,
    namespace: String,
    name: String,
    uid: String,
    request: LogRequest,
    run: Run,
    /// The next line index to send.
    next: u64,
    /// Bytes sent so far (for `limitBytes`).
    sent: usize,
}

impl Follower {
    async fn run(mut self, tx: mpsc::Sender<Result<Bytes, std::convert::Infallible>>, stop: CancellationToken) {
        let mut every = tokio::time::interval(FOLLOW_EVERY);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tx.closed() => return,
                _ = every.tick() => {}
            }
            let (chunk, over) = self.step(Utc::now());
            if !chunk.is_empty() && tx.send(Ok(Bytes::from(chunk))).await.is_err() {
                return;
            }
            if over {
                return;
            }
        }
    }

    /// The lines written since the last step, and whether the stream is over (the run ended,
    /// the pod is gone, or `limitBytes` is reached).
    fn step(&mut self, now: DateTime<Utc>) -> (String, bool) {
        let ended = {
            let state = self.cluster.lock();
            // Deleted (or replaced by a pod of the same name): its containers are gone.
            if state.get(PODS, &self.namespace, &self.name).is_none_or(|p| meta::uid(p) != self.uid) {
                return (String::new(), true);
            }
            let life = state.pods.get(&self.uid);
            match (life.and_then(|l| current_start(l, self.run.fate)), life.and_then(|l| l.last_run)) {
                (Some(started), _) if started == self.run.started => None,
                // The run followed has exited: its end is the kubelet's record of it.
                (_, Some((s, e))) if s == self.run.started => Some(e),
                _ => Some(now),
            }
        };
        if ended.is_some() {
            self.run.ended = ended;
        }
        let written = self.run.written_by(now);
        let first = self.next.max(written.saturating_sub(KEPT_LINES));
        let mut chunk = String::new();
        render(&self.run, first..written, self.request.timestamps, &mut chunk);
        self.next = written;
        let room = self.request.limit_bytes.map(|l| l.saturating_sub(self.sent));
        let full = cut(&mut chunk, room);
        self.sent += chunk.len();
        (chunk, full || self.run.ended.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(fate: Fate, ended: Option<i64>) -> Run {
        let started = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        Run {
            container: "api".into(),
            image: "shop/api:1.5.0-bad".into(),
            fate,
            started,
            ended: ended.map(|ms| started + chrono::Duration::milliseconds(ms)),
            lifetime: chrono::Duration::milliseconds(800),
            rate: 2.0,
        }
    }

    #[test]
    fn a_crash_looping_run_prints_its_last_words_and_nothing_after_its_exit() {
        let r = run(Fate::CrashLoop, Some(900));
        let later = r.started + chrono::Duration::seconds(60);
        assert_eq!(r.written_by(later), 4);
        let mut out = String::new();
        render(&r, 0..4, false, &mut out);
        assert!(out.contains("ERROR api: config key DATABASE_URL is missing\nFATAL api: exiting with status 1\n"), "{out}");
        let midway = run(Fate::CrashLoop, None);
        assert_eq!(midway.written_by(midway.started + chrono::Duration::milliseconds(500)), 3, "the exit line comes at the exit");
    }

    #[test]
    fn a_healthy_run_writes_at_its_rate_and_tail_since_and_limit_cut_as_asked() {
        let r = run(Fate::Healthy, None);
        let now = r.started + chrono::Duration::seconds(10);
        assert_eq!(r.written_by(now), 21);
        let tail = LogRequest { tail_lines: Some(5), ..LogRequest::default() };
        assert_eq!(first_wanted(&r, 21, &tail, now), 16);
        let since = LogRequest { since_seconds: Some(2), ..LogRequest::default() };
        assert_eq!(first_wanted(&r, 21, &since, now), 16);
        let mut text = "héllo\n".to_string();
        assert!(cut(&mut text, Some(2)));
        assert_eq!(text, "h", "never inside a character");
        let mut stamped = String::new();
        render(&r, 0..1, true, &mut stamped);
        assert!(stamped.starts_with("2027-01-15T08:00:00.000000000Z INFO api: starting"), "{stamped}");
    }

    #[test]
    fn bad_numbers_are_refused_in_the_api_servers_words() {
        let q = |k: &str, v: &str| HashMap::from([(k.to_string(), v.to_string())]);
        assert!(
            matches!(LogRequest::from_query(&q("tailLines", "-1")), Err(KubeStandInError::BadRequest(m)) if m.starts_with("tailLines"))
        );
        assert!(matches!(LogRequest::from_query(&q("limitBytes", "x")), Err(KubeStandInError::BadRequest(_))));
        assert!(LogRequest::from_query(&q("tailLines", "0")).is_ok_and(|r| r.tail_lines == Some(0)));
    }
}
