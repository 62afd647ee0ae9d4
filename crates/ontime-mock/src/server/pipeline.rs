//! What happens to one request under `/sites/{company}/api/`, as a list of named steps.
//!
//! [`dispatch`] reads as the order of events, which decides what a fault or a vanishing client
//! can leave behind:
//!
//! 1. [`route`]: which operation the method and path name (not yet refused if none);
//! 2. [`identify`]: the key sent and what it may do;
//! 3. [`read_request_body`]: the body, within the body budget and timeout (a body over the size
//!    limit is refused with 413 before it is read);
//! 4. [`faults_before`]: the faults are chosen, a `latency` delay is waited out (a client that
//!    goes away before this point cancels the request: nothing is written), a failing fault
//!    answers;
//! 5. [`resolve`]: an unknown path is 404, a known path with another method 405;
//! 6. [`authenticate`], [`take_quota`], [`permit`]: 401, 429 and 403;
//! 7. [`handle`]: the operation runs, and its log entry is written in one step that has no
//!    await point, so no cancellation can interrupt it;
//! 8. [`faults_after`]: only then is the answer damaged (`truncate`, `malformed`, `slow`) or
//!    held back (`late`).
//!
//! A step that ends the request early returns a [`Refusal`]; [`dispatch`] logs it. Exactly one
//! log entry is written per request ([`Pending`]).

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use bytes::Bytes;
use http::request::Parts;
use http::{HeaderValue, header};
use ontime_raw::index::Operation;

use super::body::read_body;
use super::respond::{
    DropConnection, add_quota_headers, closing, damage, failing_fault, fault_response,
    json_response, peek_quota,
};
use crate::auth::KeySpec;
use crate::faults::{Chosen, FaultKind};
use crate::handlers::Ctx;
use crate::http_util::{ApiError, Query, Reply};
use crate::log::LoggedRequest;
use crate::ops::{self, OpDef};
use crate::quota::QuotaUsage;
use crate::state::{BodyReservation, Shared};

/// Handles every request the router has no other route for.
pub(crate) async fn dispatch(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let (head, body) = req.into_parts();
    let incoming = route(&shared, &head);
    let caller = identify(&shared, &head);
    let mut pending = Pending::new(&shared, incoming.logged(&head, caller.key.clone()));
    match run(&shared, incoming, &caller, body, &mut pending).await {
        Ok(resp) => resp,
        Err(Refusal { resp, fault }) => {
            let status = if resp.extensions().get::<DropConnection>().is_some() {
                0
            } else {
                resp.status().as_u16()
            };
            pending.finish(status, fault);
            *resp
        }
    }
}

/// The steps after the request head was read; see the [module docs](self).
async fn run(
    shared: &Shared,
    incoming: Incoming,
    caller: &Caller,
    body: Body,
    pending: &mut Pending<'_>,
) -> Result<Response, Refusal> {
    let (body, reservation) = read_request_body(shared, caller, body).await?;
    pending.logged.body = (!body.is_empty()).then(|| String::from_utf8_lossy(&body).into_owned());
    let chosen = faults_before(shared, &incoming, caller, pending).await?;
    // From here to the log entry nothing awaits: the operation cannot be cancelled halfway.
    let fault = chosen.fault.as_ref().map(FaultKind::name);
    let (op, params) = resolve(shared, incoming, caller, &pending.logged, fault)?;
    let (key, spec) = authenticate(caller, fault)?;
    let usage = take_quota(shared, key, &spec, fault)?;
    permit(&spec, op, &usage, fault)?;
    let result = handle(
        shared,
        op,
        params,
        spec,
        pending.logged.query.as_deref(),
        body,
    );
    drop(reservation);
    let (resp, status) = faults_after(result, &usage, chosen.fault.as_ref());
    pending.finish(status, fault);
    if let Some(FaultKind::LateAnswer { delay }) = &chosen.fault {
        // The write is done and logged; a client that hangs up now drops only the answer.
        tokio::time::sleep(*delay).await;
    }
    Ok(resp)
}

/// An answer that ends a request before (or instead of) its operation, with the fault to log.
struct Refusal {
    /// Boxed: a `Response` is large, and every step returns `Result<_, Refusal>`.
    resp: Box<Response>,
    fault: Option<&'static str>,
}

impl Refusal {
    fn new(resp: Response, fault: Option<&'static str>) -> Self {
        Self {
            resp: Box::new(resp),
            fault,
        }
    }

    /// A refusal before the quota was taken: it carries the caller's quota as it stands.
    fn peeked(
        shared: &Shared,
        caller: &Caller,
        mut resp: Response,
        fault: Option<&'static str>,
    ) -> Self {
        peek_quota(
            shared,
            caller.key.as_deref(),
            caller.spec.as_deref(),
            &mut resp,
        );
        Self::new(resp, fault)
    }
}

/// What an operation lookup found: the operation and its decoded path parameters, the methods
/// the path allows when the method is wrong (`Err`), or nothing.
type Routed = Result<Option<(&'static OpDef, Vec<String>)>, Vec<&'static str>>;

/// The request as routed.
struct Incoming {
    /// The path after `/sites/{company}` when it is under this company's `api/`.
    api_path: Option<String>,
    /// The operation lookup of the API path (`None` when the path is not under `api/`).
    routed: Option<Routed>,
}

impl Incoming {
    fn operation(&self) -> Option<&'static OpDef> {
        match &self.routed {
            Some(Ok(Some((op, _)))) => Some(*op),
            _ => None,
        }
    }

    /// The log entry's fields known from the head.
    fn logged(&self, head: &Parts, key: Option<String>) -> Logged {
        Logged {
            method: head.method.as_str().to_owned(),
            path: head.uri.path().to_owned(),
            query: head.uri.query().map(str::to_owned),
            body: None,
            operation: self.operation().map(|op| op.op),
            key,
        }
    }
}

/// Step 1: the operation `/sites/{company}/api/...` names.
fn route(shared: &Shared, head: &Parts) -> Incoming {
    let path = head.uri.path();
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
        ops::route(head.method.as_str(), rel)
    });
    Incoming { api_path, routed }
}

/// Who sends a request: the key and, when the simulator knows it, what it may do.
struct Caller {
    key: Option<String>,
    spec: Option<Arc<KeySpec>>,
}

/// Step 2: the key sent in `Authorization` (raw, or after `Bearer`) and its permissions.
fn identify(shared: &Shared, head: &Parts) -> Caller {
    let key = head
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .map(|raw| match raw.split_once(' ') {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
            _ => raw,
        })
        .filter(|k| !k.is_empty())
        .map(str::to_owned);
    let spec = key.as_ref().and_then(|k| shared.keys().get(k).cloned());
    Caller { key, spec }
}

/// Step 3: the body, within the limits; a body that cannot be read closes the connection.
async fn read_request_body<'s>(
    shared: &'s Shared,
    caller: &Caller,
    body: Body,
) -> Result<(Bytes, Option<BodyReservation<'s>>), Refusal> {
    read_body(shared, body)
        .await
        .map_err(|e| Refusal::peeked(shared, caller, closing(fault_response(&e)), None))
}

/// Step 4: the faults for this request; waits out a `latency` delay and answers a failing
/// fault.
async fn faults_before(
    shared: &Shared,
    incoming: &Incoming,
    caller: &Caller,
    pending: &mut Pending<'_>,
) -> Result<Chosen, Refusal> {
    let chosen = if shared.faults_active.load(Ordering::Relaxed) {
        shared.faults().choose(
            incoming.operation().map(|op| op.op),
            &pending.logged.method,
            &pending.logged.path,
            incoming.api_path.as_deref(),
        )
    } else {
        Chosen::default()
    };
    if !chosen.delay.is_zero() {
        // A client that gives up now cancels the request: `pending` logs it with status 0.
        pending.fault = Some("latency");
        tokio::time::sleep(chosen.delay).await;
    }
    match chosen.fault.as_ref().filter(|k| k.fails_request()) {
        Some(kind) => Err(Refusal::peeked(
            shared,
            caller,
            failing_fault(kind),
            Some(kind.name()),
        )),
        None => Ok(chosen),
    }
}

/// Step 5: the operation, or 405 (the path exists for other methods) or 404.
fn resolve(
    shared: &Shared,
    incoming: Incoming,
    caller: &Caller,
    logged: &Logged,
    fault: Option<&'static str>,
) -> Result<(&'static OpDef, Vec<String>), Refusal> {
    match incoming.routed {
        Some(Ok(Some(found))) => Ok(found),
        Some(Err(allowed)) => {
            let mut resp = fault_response(&ApiError::new(
                405,
                format!(
                    "The requested resource does not support http method '{}'.",
                    logged.method
                ),
            ));
            if let Ok(v) = HeaderValue::from_str(&allowed.join(", ")) {
                resp.headers_mut().insert(header::ALLOW, v);
            }
            Err(Refusal::peeked(shared, caller, resp, fault))
        }
        _ => {
            let resp = fault_response(&ApiError::new(
                404,
                format!(
                    "No HTTP resource was found that matches the request URI '{}'.",
                    logged.path
                ),
            ));
            Err(Refusal::peeked(shared, caller, resp, fault))
        }
    }
}

/// Step 6a: a key the simulator knows, or 401.
fn authenticate<'c>(
    caller: &'c Caller,
    fault: Option<&'static str>,
) -> Result<(&'c str, Arc<KeySpec>), Refusal> {
    match (caller.key.as_deref(), &caller.spec) {
        (Some(key), Some(spec)) => Ok((key, Arc::clone(spec))),
        _ => Err(Refusal::new(
            fault_response(&ApiError::new(
                401,
                "Authorization has been denied for this request.",
            )),
            fault,
        )),
    }
}

/// Step 6b: counts the request against the key's quotas, or 429 once they are spent.
fn take_quota(
    shared: &Shared,
    key: &str,
    spec: &KeySpec,
    fault: Option<&'static str>,
) -> Result<QuotaUsage, Refusal> {
    let (daily, monthly) = shared.limits(spec);
    let now_utc = shared.clock.now_utc();
    shared
        .quotas()
        .take(key, daily, monthly, now_utc)
        .map_err(|usage| {
            let mut resp = fault_response(&ApiError::new(
                429,
                "The API request quota has been exceeded. Try again after the quota resets.",
            ));
            add_quota_headers(&mut resp, &usage);
            if let Ok(v) = HeaderValue::from_str(&usage.retry_after(now_utc).to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            Refusal::new(resp, fault)
        })
}

/// Step 6c: whether the key may do this operation on its record kind, or 403.
fn permit(
    spec: &KeySpec,
    op: &OpDef,
    usage: &QuotaUsage,
    fault: Option<&'static str>,
) -> Result<(), Refusal> {
    spec.check(op.kind, op.access).map_err(|message| {
        let mut resp = fault_response(&ApiError::forbidden(message));
        add_quota_headers(&mut resp, usage);
        Refusal::new(resp, fault)
    })
}

/// Step 7: runs the operation (a panicking handler answers 500).
fn handle(
    shared: &Shared,
    op: &OpDef,
    params: Vec<String>,
    key: Arc<KeySpec>,
    query: Option<&str>,
    body: Bytes,
) -> Result<Reply, ApiError> {
    let offset = shared.clock.utc_offset();
    let ctx = Ctx {
        key,
        now: crate::clock::whole_seconds(shared.clock.now()),
        query: Query::parse(query).in_account_offset(offset),
        offset,
        body,
        params,
    };
    std::panic::catch_unwind(AssertUnwindSafe(|| (op.handler)(shared, &ctx)))
        .unwrap_or_else(|_| Err(ApiError::new(500, "An error has occurred.")))
}

/// Step 8: the answer with its quota headers, damaged by a fault that applies after the
/// operation, and the status to log.
fn faults_after(
    result: Result<Reply, ApiError>,
    usage: &QuotaUsage,
    fault: Option<&FaultKind>,
) -> (Response, u16) {
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
    add_quota_headers(&mut resp, usage);
    let status = resp.status().as_u16();
    let resp = match fault {
        Some(kind) => damage(kind, resp, body),
        None => {
            *resp.body_mut() = Body::from(body);
            resp
        }
    };
    (resp, status)
}

/// The fields of a request's log entry, gathered as the pipeline goes.
#[derive(Default)]
struct Logged {
    method: String,
    path: String,
    query: Option<String>,
    body: Option<String>,
    operation: Option<Operation>,
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

    fn finish(&mut self, status: u16, fault: Option<&'static str>) {
        if !self.done {
            self.done = true;
            log(self.shared, std::mem::take(&mut self.logged), status, fault);
        }
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if !self.done {
            log(self.shared, std::mem::take(&mut self.logged), 0, self.fault);
        }
    }
}
