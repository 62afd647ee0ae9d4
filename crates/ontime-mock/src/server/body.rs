//! Reading a request body within the simulator's limits.

use axum::body::Body;
use bytes::Bytes;
use http_body_util::BodyExt;

use crate::http_util::ApiError;
use crate::state::{BodyReservation, Shared};

/// Reads a request body within the limits: refuses one whose declared length is over
/// [`Limits::max_body`](crate::state::Limits::max_body) before reading it (413), waits for its share of the body budget (its
/// declared length, or the largest body when it has none), then reads it within
/// [`Limits::body_read_timeout`](crate::state::Limits::body_read_timeout) (408) and [`Limits::max_body`](crate::state::Limits::max_body) (413). An empty body reserves
/// nothing. The reservation is returned with the bytes and must be kept until they are dropped.
pub(crate) async fn read_body(
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
