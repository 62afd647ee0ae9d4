//! The HTTP side: an axum router whose fallback dispatches the spec's operations, served by a
//! hyper connection loop (so that a fault can drop a connection without answering).

use std::collections::HashMap;
use std::convert::Infallible;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{
    Arc, Mutex, MutexGuard, OnceLock, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard,
};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use axum::routing::get;
use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

use crate::BodyGauge;
use crate::auth::KeySpec;
use crate::clock::MockClock;
use crate::faults::{FaultEngine, FaultKind};
use crate::handlers::Ctx;
use crate::http_util::{ApiError, Query, Reply};
use crate::log::{LoggedRequest, RequestLog};
use crate::ops;
use crate::quota::{QuotaUsage, Quotas};
use crate::store::Store;

/// Limits of the HTTP side, set on the builder (see [`MockBuilder`](crate::MockBuilder)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Limits {
    /// How long a connection may take to send a request's head (also how long an idle
    /// keep-alive connection stays open).
    pub header_read_timeout: Duration,
    /// How long reading one request body may take, from when its bytes are reserved.
    pub body_read_timeout: Duration,
    /// The largest request body accepted.
    pub max_body: usize,
    /// How many body bytes all requests together may hold while their bodies are read and
    /// their operations run.
    pub body_budget: usize,
}

/// State shared by all connections and the [`RunningMock`](crate::RunningMock) handle.
pub(crate) struct Shared {
    pub store: RwLock<Store>,
    pub keys: RwLock<HashMap<String, Arc<KeySpec>>>,
    pub quotas: Mutex<Quotas>,
    pub faults: Mutex<FaultEngine>,
    pub faults_active: AtomicBool,
    pub log: Mutex<RequestLog>,
    pub clock: MockClock,
    pub company: String,
    pub daily_quota: u64,
    pub monthly_quota: u64,
    pub spec: OnceLock<Bytes>,
    /// Serialised `GET api/orders/{id}` answers by order slot (see [`Shared::cached_order`]).
    pub order_cache: Option<RwLock<HashMap<u32, Bytes>>>,
    pub limits: Limits,
    /// Permits for request body bytes: [`Limits::body_budget`] of them.
    pub body_budget: tokio::sync::Semaphore,
    /// What the body budget holds and who waits for it (for tests and diagnostics).
    pub body_gauge: watch::Sender<BodyGauge>,
}

/// How many serialised orders the response cache keeps before it starts over.
const ORDER_CACHE_CAPACITY: usize = 50_000;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Store> {
        self.store.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The store for a change. Taking it empties the order response cache: readers fill the
    /// cache only while they hold the store's read lock, so no stale answer survives a write.
    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, Store> {
        let guard = self.store.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(cache) = &self.order_cache {
            let mut cache = cache.write().unwrap_or_else(PoisonError::into_inner);
            if !cache.is_empty() {
                cache.clear();
            }
        }
        guard
    }

    /// The serialised answer of `GET api/orders/{id}` for slot `idx`, from the cache or made by
    /// `make` (the caller holds the store's read lock).
    pub(crate) fn cached_order(
        &self,
        idx: u32,
        make: impl FnOnce() -> Result<Bytes, ApiError>,
    ) -> Result<Bytes, ApiError> {
        let Some(cache) = &self.order_cache else {
            return make();
        };
        if let Some(b) = cache
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&idx)
        {
            return Ok(b.clone());
        }
        let bytes = make()?;
        let mut cache = cache.write().unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= ORDER_CACHE_CAPACITY {
            cache.clear();
        }
        cache.insert(idx, bytes.clone());
        Ok(bytes)
    }

    pub(crate) fn keys(&self) -> RwLockReadGuard<'_, HashMap<String, Arc<KeySpec>>> {
        self.keys.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn keys_mut(
        &self,
    ) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Arc<KeySpec>>> {
        self.keys.write().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn quotas(&self) -> MutexGuard<'_, Quotas> {
        lock(&self.quotas)
    }

    pub(crate) fn faults(&self) -> MutexGuard<'_, FaultEngine> {
        lock(&self.faults)
    }

    pub(crate) fn request_log(&self) -> MutexGuard<'_, RequestLog> {
        lock(&self.log)
    }

    /// Reserves `bytes` of the body budget, waiting (in arrival order) until that much is free.
    async fn reserve_body(&self, bytes: usize) -> BodyReservation<'_> {
        struct Waiting<'a>(&'a watch::Sender<BodyGauge>);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.send_modify(|g| g.waiting -= 1);
            }
        }
        self.body_gauge.send_modify(|g| g.waiting += 1);
        let waiting = Waiting(&self.body_gauge);
        // `bytes` is at most the budget, which the builder keeps within u32.
        let n = u32::try_from(bytes).unwrap_or(u32::MAX);
        // The semaphore is never closed, so acquiring fails only in theory; then the request
        // goes ahead without a reservation rather than failing.
        let permit = self.body_budget.acquire_many(n).await.ok();
        drop(waiting);
        let bytes = if permit.is_some() { bytes } else { 0 };
        self.body_gauge.send_modify(|g| {
            g.reserved_bytes += bytes;
            g.peak_reserved_bytes = g.peak_reserved_bytes.max(g.reserved_bytes);
        });
        BodyReservation {
            gauge: &self.body_gauge,
            bytes,
            _permit: permit,
        }
    }

    pub(crate) fn limits(&self, spec: &KeySpec) -> (u64, u64) {
        (
            spec.daily_quota.unwrap_or(self.daily_quota),
            spec.monthly_quota.unwrap_or(self.monthly_quota),
        )
    }
}

/// A request's share of the body budget; gives it back when dropped.
struct BodyReservation<'a> {
    gauge: &'a watch::Sender<BodyGauge>,
    bytes: usize,
    _permit: Option<tokio::sync::SemaphorePermit<'a>>,
}

impl Drop for BodyReservation<'_> {
    fn drop(&mut self) {
        let bytes = self.bytes;
        self.gauge.send_modify(|g| g.reserved_bytes -= bytes);
    }
}

/// Marks a response whose connection must be closed without answering.
#[derive(Clone, Copy, Debug)]
struct DropConnection;

/// The error the connection service returns to make hyper close the connection.
#[derive(Debug)]
pub(crate) struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by an injected fault")
    }
}

impl std::error::Error for Dropped {}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/openapi.json", get(spec))
        .fallback(dispatch)
        .with_state(shared)
}

async fn spec(State(shared): State<Arc<Shared>>) -> Response {
    let body = shared.spec.get().cloned().unwrap_or_default();
    let mut resp = Response::new(Body::from(body));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    resp
}

fn json_response(status: u16, body: Bytes) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    resp
}

fn fault_response(e: &ApiError) -> Response {
    json_response(e.status, e.body())
}

fn add_quota_headers(resp: &mut Response, usage: &QuotaUsage) {
    let h = resp.headers_mut();
    h.insert(
        "x-ratelimit-limit-daily",
        HeaderValue::from(usage.daily_limit),
    );
    h.insert(
        "x-ratelimit-remaining-daily",
        HeaderValue::from(usage.daily_remaining),
    );
    h.insert(
        "x-ratelimit-reset-daily",
        HeaderValue::from(usage.daily_reset),
    );
    h.insert(
        "x-ratelimit-limit-monthly",
        HeaderValue::from(usage.monthly_limit),
    );
    h.insert(
        "x-ratelimit-remaining-monthly",
        HeaderValue::from(usage.monthly_remaining),
    );
    h.insert(
        "x-ratelimit-reset-monthly",
        HeaderValue::from(usage.monthly_reset),
    );
}

/// The key sent in `Authorization` (raw, or after `Bearer`).
fn key_of(req: &Request) -> Option<String> {
    let raw = req
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .trim();
    let key = match raw.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        _ => raw,
    };
    (!key.is_empty()).then(|| key.to_owned())
}

/// The answer of a failing fault.
fn failing_fault(kind: &FaultKind) -> Response {
    let mut resp = match kind {
        FaultKind::Status {
            status,
            retry_after,
        } => {
            let message = match status {
                429 => "Too many requests.",
                502 => "Bad gateway.",
                503 => "The service is unavailable.",
                _ => "An error has occurred.",
            };
            let mut r = fault_response(&ApiError::new(*status, message));
            if let Some(secs) = retry_after
                && let Ok(v) = HeaderValue::from_str(&secs.to_string())
            {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            r
        }
        FaultKind::PlainTextError { status } => {
            let mut r = Response::new(Body::from(format!(
                "{} {}",
                status,
                StatusCode::from_u16(*status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("Error")
            )));
            *r.status_mut() =
                StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            r
        }
        FaultKind::HtmlError { status } => {
            let reason = StatusCode::from_u16(*status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("Error");
            let html = format!(
                "<!DOCTYPE html>\r\n<html><head><title>{status} - {reason}</title></head>\
                 <body><h1>Server Error</h1><h2>{status} - {reason}</h2>\
                 <p>The web server could not complete the request.</p></body></html>\r\n"
            );
            let mut r = Response::new(Body::from(html));
            *r.status_mut() =
                StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            r
        }
        FaultKind::EmptyBody { status } => {
            let mut r = Response::new(Body::empty());
            *r.status_mut() =
                StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            r.headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
            r
        }
        _ => {
            let mut r = Response::new(Body::empty());
            r.extensions_mut().insert(DropConnection);
            r
        }
    };
    if matches!(kind, FaultKind::DropConnection) {
        resp.extensions_mut().insert(DropConnection);
    }
    resp
}

/// Damages or slows a response body after the operation ran (a late answer's body is whole:
/// [`dispatch`] holds the answer back).
fn damage(kind: &FaultKind, mut resp: Response, body: Bytes) -> Response {
    match kind {
        FaultKind::TruncatedBody => {
            let half = body.slice(..body.len() / 2);
            let full = body.len();
            // Send the head and half the body, let hyper flush them, then fail the body so
            // the connection closes before `Content-Length` bytes arrived.
            let stream = futures::stream::unfold(0u8, move |step| {
                let half = half.clone();
                async move {
                    match step {
                        0 => Some((Ok::<Bytes, std::io::Error>(half), 1)),
                        1 => {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            Some((
                                Err(std::io::Error::new(
                                    std::io::ErrorKind::ConnectionAborted,
                                    "body truncated by an injected fault",
                                )),
                                2,
                            ))
                        }
                        _ => None,
                    }
                }
            });
            *resp.body_mut() = Body::from_stream(stream);
            if let Ok(v) = HeaderValue::from_str(&full.to_string()) {
                resp.headers_mut().insert(header::CONTENT_LENGTH, v);
            }
        }
        FaultKind::MalformedJson => {
            let mut bad = body.slice(..body.len() / 2).to_vec();
            bad.extend_from_slice(b"\x00}{\"Message\": ");
            resp.headers_mut().remove(header::CONTENT_LENGTH);
            *resp.body_mut() = Body::from(bad);
        }
        FaultKind::SlowBody { chunk_delay } => {
            let chunk = (body.len() / 8).max(64);
            let chunks: Vec<Bytes> = (0..body.len())
                .step_by(chunk)
                .map(|i| body.slice(i..(i + chunk).min(body.len())))
                .collect();
            let delay = *chunk_delay;
            let stream = futures::stream::unfold(
                (chunks.into_iter(), true),
                move |(mut it, first)| async move {
                    let next = it.next()?;
                    if !first {
                        tokio::time::sleep(delay).await;
                    }
                    Some((Ok::<Bytes, std::io::Error>(next), (it, false)))
                },
            );
            if let Ok(v) = HeaderValue::from_str(&body.len().to_string()) {
                resp.headers_mut().insert(header::CONTENT_LENGTH, v);
            }
            *resp.body_mut() = Body::from_stream(stream);
        }
        _ => *resp.body_mut() = Body::from(body),
    }
    resp
}

#[derive(Default)]
struct Logged {
    method: String,
    path: String,
    query: Option<String>,
    body: Option<String>,
    operation: &'static str,
    key: Option<String>,
}

fn log(shared: &Shared, l: Logged, status: u16, fault: Option<&'static str>) {
    tracing::debug!(method = %l.method, path = %l.path, status, "request");
    let at = crate::clock::whole_seconds(shared.clock.now());
    shared.request_log().push(LoggedRequest {
        seq: 0,
        method: l.method,
        path: l.path,
        query: l.query,
        body: l.body,
        status,
        operation: l.operation,
        key: l.key,
        fault,
        at,
    });
}

/// The log entry of a request being handled. Exactly one entry is written per request: by
/// [`finish`](Self::finish), or — when the connection goes away first and hyper drops the
/// handler (while the body is read, or during a `latency` delay) — by `drop`, with status 0.
struct Pending<'a> {
    shared: &'a Shared,
    logged: Logged,
    done: bool,
    /// The fault applying so far (logged if the request is abandoned).
    fault: Option<&'static str>,
}

impl<'a> Pending<'a> {
    fn new(shared: &'a Shared, logged: Logged) -> Self {
        Self {
            shared,
            logged,
            done: false,
            fault: None,
        }
    }

    fn finish(mut self, status: u16, fault: Option<&'static str>) {
        self.done = true;
        log(self.shared, std::mem::take(&mut self.logged), status, fault);
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if !self.done {
            log(self.shared, std::mem::take(&mut self.logged), 0, self.fault);
        }
    }
}

/// Marks an answer after which the connection is closed (its request body was left unread).
fn closing(mut resp: Response) -> Response {
    resp.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    resp
}

/// Handles every request under `/sites/{company}/api/`.
///
/// The order of events, which decides what a fault or a vanishing client can leave behind:
/// the body is read (within the body budget and timeout; a body over the size limit is refused
/// with 413 before it is read), then the faults are chosen, a `latency` delay is waited out
/// (a client that goes away before this point cancels the request: nothing is written), a
/// failing fault answers, and otherwise the operation runs and its log entry is written in one
/// step that has no await point, so no cancellation can interrupt it. Only then is the answer
/// damaged (`truncate`, `malformed`, `slow`) or held back (`late`).
async fn dispatch(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let raw_query = req.uri().query().map(str::to_owned);
    let key = key_of(&req);

    // /sites/{company}/api/...
    let mut api_path: Option<String> = None;
    if let Some(rest) = path.strip_prefix("/sites/")
        && let Some((company, tail)) = rest.split_once('/')
        && crate::http_util::percent_decode(company).eq_ignore_ascii_case(&shared.company)
        && (tail.starts_with("api/") || tail.eq_ignore_ascii_case("api"))
    {
        api_path = Some(format!("/{tail}"));
    }
    let routed = api_path.as_deref().map(|p| {
        let rel = p.trim_start_matches("/api").trim_start_matches('/');
        let rel = rel.strip_suffix('/').unwrap_or(rel);
        ops::route(&method, rel)
    });
    let op = match &routed {
        Some(Ok(Some((op, _)))) => Some(*op),
        _ => None,
    };

    let key_spec = key.as_ref().and_then(|k| shared.keys().get(k).cloned());
    let mut pending = Pending::new(
        &shared,
        Logged {
            method,
            path,
            query: raw_query,
            body: None,
            operation: op.map_or("unknown", |o| o.id()),
            key,
        },
    );
    // Every answer to a valid key carries its quota, whatever the outcome (a request without a
    // valid key has no quota to report).
    let (body, reservation) = match read_body(&shared, req.into_body()).await {
        Ok(read) => read,
        Err(e) => {
            let status = e.status;
            let mut resp = closing(fault_response(&e));
            let key = pending.logged.key.clone();
            peek_quota(&shared, key.as_deref(), key_spec.as_deref(), &mut resp);
            pending.finish(status, None);
            return resp;
        }
    };
    pending.logged.body = (!body.is_empty()).then(|| String::from_utf8_lossy(&body).into_owned());
    let (method, path, key) = (
        &pending.logged.method,
        &pending.logged.path,
        &pending.logged.key,
    );

    // Faults.
    let chosen = if shared.faults_active.load(Ordering::Relaxed) {
        shared
            .faults()
            .choose(op.map(|o| o.id()), method, path, api_path.as_deref())
    } else {
        Default::default()
    };
    if !chosen.delay.is_zero() {
        // A client that gives up now cancels the request: `pending` logs it with status 0.
        pending.fault = Some("latency");
        tokio::time::sleep(chosen.delay).await;
    }
    if let Some(kind) = chosen.fault.as_ref().filter(|k| k.fails_request()) {
        let mut resp = failing_fault(kind);
        peek_quota(&shared, key.as_deref(), key_spec.as_deref(), &mut resp);
        let status = if resp.extensions().get::<DropConnection>().is_some() {
            0
        } else {
            resp.status().as_u16()
        };
        pending.finish(status, Some(kind.name()));
        return resp;
    }
    let fault_name = chosen.fault.as_ref().map(FaultKind::name);

    // From here to the log entry nothing awaits: the operation cannot be cancelled halfway.
    // Route.
    let (op, params) = match routed {
        Some(Ok(Some((op, params)))) => (op, params),
        Some(Err(allowed)) => {
            let mut resp = fault_response(&ApiError::new(
                405,
                format!("The requested resource does not support http method '{method}'."),
            ));
            if let Ok(v) = HeaderValue::from_str(&allowed.join(", ")) {
                resp.headers_mut().insert(header::ALLOW, v);
            }
            peek_quota(&shared, key.as_deref(), key_spec.as_deref(), &mut resp);
            pending.finish(405, fault_name);
            return resp;
        }
        _ => {
            let mut resp = fault_response(&ApiError::new(
                404,
                format!("No HTTP resource was found that matches the request URI '{path}'."),
            ));
            peek_quota(&shared, key.as_deref(), key_spec.as_deref(), &mut resp);
            pending.finish(404, fault_name);
            return resp;
        }
    };

    // Authentication, quota, permission.
    let (Some(key), Some(spec)) = (key.clone(), key_spec) else {
        let resp = fault_response(&ApiError::new(
            401,
            "Authorization has been denied for this request.",
        ));
        pending.finish(401, fault_name);
        return resp;
    };
    let (daily, monthly) = shared.limits(&spec);
    let now = shared.clock.now();
    let now_utc =
        now - chrono::TimeDelta::seconds(i64::from(shared.clock.utc_offset().local_minus_utc()));
    let taken = shared.quotas().take(&key, daily, monthly, now_utc);
    let usage = match taken {
        Ok(u) => u,
        Err(u) => {
            let mut resp = fault_response(&ApiError::new(
                429,
                "The API request quota has been exceeded. Try again after the quota resets.",
            ));
            add_quota_headers(&mut resp, &u);
            if let Ok(v) = HeaderValue::from_str(&u.retry_after(now_utc).to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            pending.finish(429, fault_name);
            return resp;
        }
    };
    if let Err(message) = spec.check(op.kind, op.access) {
        let mut resp = fault_response(&ApiError::forbidden(message));
        add_quota_headers(&mut resp, &usage);
        pending.finish(403, fault_name);
        return resp;
    }

    let ctx = Ctx {
        key: spec,
        now: crate::clock::whole_seconds(now),
        query: Query::parse(pending.logged.query.as_deref())
            .in_account_offset(shared.clock.utc_offset()),
        offset: shared.clock.utc_offset(),
        body,
        params,
    };
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| (op.handler)(&shared, &ctx)))
        .unwrap_or_else(|_| Err(ApiError::new(500, "An error has occurred.")));
    drop(ctx);
    drop(reservation);
    let (mut resp, body) = match result {
        Ok(Reply::Json(status, body)) => (json_response(status, Bytes::new()), body),
        Ok(Reply::Bytes(status, content_type, body)) => {
            let mut r = json_response(status, Bytes::new());
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            (r, body)
        }
        Err(e) => (json_response(e.status, Bytes::new()), e.body()),
    };
    add_quota_headers(&mut resp, &usage);
    let status = resp.status().as_u16();
    let resp = match &chosen.fault {
        Some(kind) => damage(kind, resp, body),
        None => {
            let mut resp = resp;
            *resp.body_mut() = Body::from(body);
            resp
        }
    };
    pending.finish(status, fault_name);
    if let Some(FaultKind::LateAnswer { delay }) = &chosen.fault {
        // The write is done and logged; a client that hangs up now drops only the answer.
        tokio::time::sleep(*delay).await;
    }
    resp
}

/// Reads a request body within the limits: refuses one whose declared length is over
/// [`Limits::max_body`] before reading it (413), waits for its share of the body budget (its
/// declared length, or the largest body when it has none), then reads it within
/// [`Limits::body_read_timeout`] (408) and [`Limits::max_body`] (413). An empty body reserves
/// nothing. The reservation is returned with the bytes and must be kept until they are dropped.
async fn read_body(
    shared: &Shared,
    body: Body,
) -> Result<(Bytes, Option<BodyReservation<'_>>), ApiError> {
    use hyper::body::Body as _;
    let limits = shared.limits;
    let hint = body.size_hint();
    if hint.exact() == Some(0) {
        return Ok((Bytes::new(), None));
    }
    let too_large = || {
        ApiError::new(
            413,
            format!(
                "The request body is larger than the simulator accepts ({} bytes).",
                limits.max_body
            ),
        )
    };
    if hint.lower() > limits.max_body as u64 {
        return Err(too_large());
    }
    let bytes = hint
        .exact()
        .map_or(limits.max_body, |n| {
            usize::try_from(n).unwrap_or(usize::MAX)
        })
        .min(limits.max_body);
    let reservation = shared.reserve_body(bytes).await;
    let limited = http_body_util::Limited::new(body, limits.max_body);
    match tokio::time::timeout(limits.body_read_timeout, limited.collect()).await {
        Ok(Ok(c)) => {
            shared.body_gauge.send_modify(|g| g.bodies_read += 1);
            Ok((c.to_bytes(), Some(reservation)))
        }
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Ok(Err(e)) => Err(ApiError::bad_request(format!(
            "The request body could not be read: {e}"
        ))),
        Err(_) => Err(ApiError::new(
            408,
            format!(
                "The request body did not arrive within {} ms.",
                limits.body_read_timeout.as_millis()
            ),
        )),
    }
}

/// What to do after `accept` failed with `kind`, having waited `previous` after the last
/// failure: `None` to accept again at once (the error concerned one connection, which is gone),
/// or how long to wait first — 5 ms, doubling up to 1 s while failures go on (out of file
/// descriptors, for instance). Waiting keeps a failing `accept` from spinning a core while
/// nobody is served; the connections that fail meanwhile wait in the listen backlog.
pub(crate) fn accept_backoff(
    kind: std::io::ErrorKind,
    previous: Option<Duration>,
) -> Option<Duration> {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        kind,
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return None;
    }
    const FIRST: Duration = Duration::from_millis(5);
    const MOST: Duration = Duration::from_secs(1);
    Some(previous.map_or(FIRST, |d| (d * 2).clamp(FIRST, MOST)))
}

/// Accepts connections until `shutdown` turns true, then lets open connections finish (up to
/// five seconds). A connection that does not send a request head within `header_read_timeout`
/// is closed; `accept` errors are retried after [`accept_backoff`].
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
    header_read_timeout: Duration,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    let mut backoff: Option<Duration> = None;
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => {
                        backoff = None;
                        stream
                    }
                    Err(e) => {
                        let Some(wait) = accept_backoff(e.kind(), backoff) else { continue };
                        backoff = Some(wait);
                        tracing::warn!(error = %e, retry_in = ?wait, "accepting a connection failed");
                        tokio::select! {
                            () = tokio::time::sleep(wait) => continue,
                            changed = shutdown.changed() => {
                                if changed.is_err() || *shutdown.borrow() {
                                    break;
                                }
                                continue;
                            }
                        }
                    }
                };
                let _ = stream.set_nodelay(true);
                let router = router.clone();
                let service = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let router = router.clone();
                    async move {
                        let resp: Result<Response, Infallible> = router.oneshot(req.map(Body::new)).await;
                        let resp = match resp {
                            Ok(r) => r,
                            Err(never) => match never {},
                        };
                        if resp.extensions().get::<DropConnection>().is_some() {
                            Err(Dropped)
                        } else {
                            Ok(resp)
                        }
                    }
                });
                let conn = builder.serve_connection(TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    break;
                }
            }
        }
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(Duration::from_secs(5)) => {}
    }
}

/// Adds the quota headers of `key` (without spending a call) when it is a valid key.
fn peek_quota(shared: &Shared, key: Option<&str>, spec: Option<&KeySpec>, resp: &mut Response) {
    if let (Some(k), Some(spec)) = (key, spec) {
        let (d, m) = shared.limits(spec);
        let usage = shared.quotas().peek(k, d, m, shared.clock.now_utc());
        add_quota_headers(resp, &usage);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::ErrorKind;

    #[test]
    fn accept_errors_back_off_exponentially_to_one_second() {
        let mut waits = Vec::new();
        let mut previous = None;
        for _ in 0..12 {
            previous = accept_backoff(ErrorKind::Other, previous);
            waits.push(previous.map(|d| d.as_millis()));
        }
        let ms: Vec<u128> = waits.into_iter().map(|w| w.expect("a wait")).collect();
        assert_eq!(
            ms,
            [5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000, 1000]
        );
        // Out of file descriptors (EMFILE is `Other` in std's mapping, or an uncategorised
        // kind): waits too, and never spins.
        let emfile = std::io::Error::from_raw_os_error(24).kind();
        assert_eq!(accept_backoff(emfile, None), Some(Duration::from_millis(5)));
    }

    #[test]
    fn an_error_of_one_connection_is_retried_at_once() {
        for kind in [
            ErrorKind::ConnectionAborted,
            ErrorKind::ConnectionReset,
            ErrorKind::ConnectionRefused,
        ] {
            assert_eq!(
                accept_backoff(kind, Some(Duration::from_secs(1))),
                None,
                "{kind:?}"
            );
        }
    }
}
