//! Faults a test can inject at run time: bursts of 429, error statuses,
//! canned answers, slow answers, connections dropped without an answer, and
//! truncated bodies, queued in the order injected and optionally scoped to a
//! path prefix.
//!
//! Provider-neutral: the body of a 429 or of an error status is the
//! provider's, supplied through [`FaultAnswers`]; the provider's edge adds its
//! own headers (rate-limit quota, request id) around what this module builds.
//! Resetting a connection needs the listener of [`super::conn`].

use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use super::conn::ConnHandle;

/// How an injected truncated body is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truncation {
    /// `Content-Length` announces the full body but the connection closes halfway.
    ContentLengthTooLong,
    /// A complete HTTP response whose JSON body is cut in the middle.
    CutJson,
}

/// A response given verbatim instead of the real one (a status the provider
/// would send in some situation the simulator does not model, a race…).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CannedResponse {
    pub status: u16,
    /// Headers to send, set after the provider's own (so they win).
    pub headers: Vec<(String, String)>,
    /// The body, sent as `application/json` unless a header says otherwise.
    pub body: String,
}

impl CannedResponse {
    /// A JSON answer with `status`.
    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.to_string(),
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// Sets the canned headers on a response built for this answer.
    pub fn apply_headers(&self, resp: &mut Response) {
        for (name, value) in &self.headers {
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                resp.headers_mut().insert(n, v);
            }
        }
    }

    /// The answer, with its own headers last.
    pub fn to_response(&self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = (status, self.body.clone()).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        self.apply_headers(&mut resp);
        resp
    }
}

/// A fault to apply to the next `count` requests.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// 429 with the provider's body and its quota headers saying none is left,
    /// whatever the real budget.
    RateLimitBurst { count: u32 },
    /// An error status (500, 502, 503, 504…) with the provider's error body.
    ServerError { status: u16, count: u32 },
    /// Answer exactly this instead of handling the request.
    Respond {
        response: CannedResponse,
        count: u32,
    },
    /// Wait this long before handling each request.
    Delay { delay: Duration, count: u32 },
    /// Close the connection with a TCP reset without answering.
    ConnectionReset { count: u32 },
    /// Answer normally but break the body.
    TruncatedBody { mode: Truncation, count: u32 },
}

impl Fault {
    /// The next `count` requests get 429.
    pub fn burst_429(count: u32) -> Self {
        Fault::RateLimitBurst { count }
    }

    /// The next `count` requests get 500.
    pub fn server_error(count: u32) -> Self {
        Fault::ServerError { status: 500, count }
    }

    /// The next `count` requests get 503.
    pub fn unavailable(count: u32) -> Self {
        Fault::ServerError { status: 503, count }
    }

    /// The next `count` requests are delayed by `delay`.
    pub fn delay(delay: Duration, count: u32) -> Self {
        Fault::Delay { delay, count }
    }

    /// The next `count` connections are reset without an answer.
    pub fn reset(count: u32) -> Self {
        Fault::ConnectionReset { count }
    }

    /// The next `count` bodies are truncated.
    pub fn truncate(mode: Truncation, count: u32) -> Self {
        Fault::TruncatedBody { mode, count }
    }

    /// The next `count` requests get `status` with the provider's error body.
    pub fn status(status: u16, count: u32) -> Self {
        Fault::ServerError { status, count }
    }

    /// The next `count` requests get `response`, verbatim.
    pub fn respond(response: CannedResponse, count: u32) -> Self {
        Fault::Respond { response, count }
    }

    fn count(&self) -> u32 {
        match self {
            Fault::RateLimitBurst { count }
            | Fault::ServerError { count, .. }
            | Fault::Respond { count, .. }
            | Fault::Delay { count, .. }
            | Fault::ConnectionReset { count }
            | Fault::TruncatedBody { count, .. } => *count,
        }
    }
}

/// What to do to one response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Burst429,
    Status(u16),
    Respond(CannedResponse),
    Reset,
    Truncate(Truncation),
}

#[derive(Debug, Clone)]
struct Pending {
    fault: Fault,
    remaining: u32,
    path_prefix: Option<String>,
}

/// Faults waiting to be applied, in the order they were injected.
#[derive(Debug, Default)]
pub struct FaultQueue {
    pending: Vec<Pending>,
}

impl FaultQueue {
    /// Queues a fault, optionally only for paths starting with `path_prefix`.
    pub fn push(&mut self, fault: Fault, path_prefix: Option<String>) {
        let remaining = fault.count();
        if remaining > 0 {
            self.pending.push(Pending {
                fault,
                remaining,
                path_prefix,
            });
        }
    }

    /// Drops every pending fault.
    pub fn clear(&mut self) {
        self.pending.clear();
    }

    /// Consumes the faults that apply to a request to `path`: at most one
    /// delay and at most one response action.
    pub fn take(&mut self, path: &str) -> (Option<Duration>, Option<Action>) {
        let mut delay = None;
        let mut action = None;
        for p in &mut self.pending {
            if p.remaining == 0
                || p.path_prefix
                    .as_deref()
                    .is_some_and(|pre| !path.starts_with(pre))
            {
                continue;
            }
            match &p.fault {
                Fault::Delay { delay: d, .. } if delay.is_none() => {
                    delay = Some(*d);
                    p.remaining -= 1;
                }
                Fault::Delay { .. } => {}
                f if action.is_none() => {
                    action = Some(match f {
                        Fault::RateLimitBurst { .. } => Action::Burst429,
                        Fault::ServerError { status, .. } => Action::Status(*status),
                        Fault::Respond { response, .. } => Action::Respond(response.clone()),
                        Fault::ConnectionReset { .. } => Action::Reset,
                        Fault::TruncatedBody { mode, .. } => Action::Truncate(*mode),
                        Fault::Delay { .. } => continue,
                    });
                    p.remaining -= 1;
                }
                _ => {}
            }
        }
        self.pending.retain(|p| p.remaining > 0);
        (delay, action)
    }

    /// How many requests are still to be faulted.
    pub fn outstanding(&self) -> u32 {
        self.pending.iter().map(|p| p.remaining).sum()
    }
}

/// How a provider words the answers of injected faults.
pub trait FaultAnswers {
    /// A 429 with the provider's body (quota headers are the edge's to add).
    fn too_many_requests(&self) -> Response;
    /// `status` with the provider's error body.
    fn error_status(&self, status: StatusCode) -> Response;
}

/// The answer an injected [`Action`] gives instead of the handler's, if any
/// (`Reset` and `Truncate` act on the connection or the real answer instead).
pub fn answer(action: &Action, words: &impl FaultAnswers) -> Option<Response> {
    match action {
        Action::Burst429 => Some(words.too_many_requests()),
        Action::Status(s) => {
            Some(words.error_status(
                StatusCode::from_u16(*s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            ))
        }
        Action::Respond(canned) => Some(canned.to_response()),
        Action::Reset | Action::Truncate(_) => None,
    }
}

/// Resets the connection `req` arrived on (served by [`super::conn::SimListener`]);
/// elsewhere the best that can be done is a body that fails at once.
pub fn reset_connection(req: &Request) -> Response {
    match req.extensions().get::<ConnectInfo<ConnHandle>>() {
        Some(c) => {
            c.0.reset();
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
        None => aborted(),
    }
}

/// A response whose body fails at once, so the client gets no usable answer.
pub fn aborted() -> Response {
    let stream = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "reset",
        ))
    });
    Response::new(Body::from_stream(stream))
}

/// Breaks a finished response's body as `mode` says.
pub async fn truncate(resp: Response, mode: Truncation) -> Response {
    let (mut parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let cut = bytes.len() / 2;
    match mode {
        Truncation::CutJson => {
            parts
                .headers
                .insert(header::CONTENT_LENGTH, HeaderValue::from(cut));
            Response::from_parts(parts, Body::from(bytes.slice(..cut)))
        }
        Truncation::ContentLengthTooLong => {
            parts
                .headers
                .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
            let head = bytes.slice(..cut);
            // Send half, give the server a moment to flush it, then fail the body.
            let stream = futures::stream::unfold(0u8, move |step| {
                let head = head.clone();
                async move {
                    match step {
                        0 => Some((Ok(head), 1)),
                        1 => {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            Some((
                                Err(std::io::Error::new(
                                    std::io::ErrorKind::UnexpectedEof,
                                    "truncated",
                                )),
                                2,
                            ))
                        }
                        _ => None,
                    }
                }
            });
            Response::from_parts(parts, Body::from_stream(stream))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_applies_in_order_and_counts_down() {
        let mut q = FaultQueue::default();
        q.push(Fault::burst_429(1), None);
        q.push(Fault::server_error(2), None);
        q.push(Fault::delay(Duration::from_millis(5), 1), None);
        assert_eq!(
            q.take("/api/v1/users"),
            (Some(Duration::from_millis(5)), Some(Action::Burst429))
        );
        assert_eq!(q.take("/api/v1/users"), (None, Some(Action::Status(500))));
        assert_eq!(q.outstanding(), 1);
        assert_eq!(q.take("/api/v1/users"), (None, Some(Action::Status(500))));
        assert_eq!(q.take("/api/v1/users"), (None, None));
    }

    #[test]
    fn canned_answers_carry_their_headers() {
        let mut q = FaultQueue::default();
        let canned =
            CannedResponse::json(429, &serde_json::json!({"x": 1})).header("retry-after", "0");
        q.push(Fault::respond(canned.clone(), 1), None);
        assert_eq!(q.take("/a"), (None, Some(Action::Respond(canned.clone()))));
        let resp = canned.to_response();
        assert_eq!(resp.status(), 429);
        assert_eq!(resp.headers()["retry-after"], "0");
    }

    #[test]
    fn path_prefix_scopes_a_fault() {
        let mut q = FaultQueue::default();
        q.push(Fault::reset(1), Some("/api/v1/logs".into()));
        assert_eq!(q.take("/api/v1/users"), (None, None));
        assert_eq!(q.take("/api/v1/logs"), (None, Some(Action::Reset)));
    }
}
