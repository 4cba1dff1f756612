//! Layers around every route: request ids, request logs (path only: query strings can carry
//! ingest tokens), metrics, timeouts, body limits, and a JSON body for every bare error status.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use gatehouse_core::Clock;
use tower::ServiceBuilder;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::{ApiError, ApiOptions, AppState};

pub(crate) const REQUEST_ID: &str = "x-request-id";

/// Where identity providers push events (`/v1/idp/{provider}`).
const PUSH_PREFIX: &str = "/v1/idp/";

#[derive(Clone)]
struct MakeId(Arc<dyn Clock>);

impl MakeRequestId for MakeId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let id = gatehouse_core::ids::generate("req_", self.0.now());
        HeaderValue::from_str(&id).ok().map(RequestId::new)
    }
}

/// Sheds a request at once (503 with `Retry-After`) when the daemon already handles its limit.
async fn shed_load(
    State(in_flight): State<Arc<tokio::sync::Semaphore>>,
    req: Request,
    next: Next,
) -> Response {
    let exempt = matches!(req.uri().path(), "/healthz" | "/readyz" | "/metrics");
    let permit = match Arc::clone(&in_flight).try_acquire_owned() {
        Ok(permit) => Some(permit),
        Err(_) if exempt => None,
        Err(_) => {
            let mut response = crate::ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "overloaded",
                "the daemon is handling as many requests as it takes; retry shortly",
            )
            .into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            return response;
        }
    };
    let response = next.run(req).await;
    drop(permit);
    response
}

pub(crate) fn apply(router: Router, state: AppState, options: &ApiOptions) -> Router {
    let make_id = MakeId(Arc::clone(state.gateway.clock()));
    let in_flight = Arc::new(tokio::sync::Semaphore::new(
        options.max_concurrent_requests.max(1),
    ));
    let layers = ServiceBuilder::new()
        .layer(middleware::from_fn_with_state(in_flight, shed_load))
        .layer(SetRequestIdLayer::new(
            header::HeaderName::from_static(REQUEST_ID),
            make_id,
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    let request_id = req
                        .headers()
                        .get(REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    let (method, path) = (req.method(), req.uri().path());
                    // Push deliveries are the hot path (tens of thousands a second) and log
                    // nothing when they succeed, while an enabled span costs its fields'
                    // formatting up front: theirs is a debug span, and the push handler's own
                    // failure lines carry the request id.
                    if path.starts_with(PUSH_PREFIX) {
                        tracing::debug_span!("request", request_id, method = %method, path)
                    } else {
                        tracing::info_span!("request", request_id, method = %method, path)
                    }
                })
                .on_request(())
                // One line per request at debug: at tens of thousands of pushes a second an
                // info line each would cost more than the request. Failures still log (5xx).
                .on_response(DefaultOnResponse::new().level(Level::DEBUG)),
        )
        .layer(PropagateRequestIdLayer::new(
            header::HeaderName::from_static(REQUEST_ID),
        ))
        .layer(middleware::from_fn_with_state(
            state,
            observe_and_shape_errors,
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            options.request_timeout,
        ))
        // Enforced where bodies are read (JsonBody and every Bytes extractor): 413 past it.
        .layer(DefaultBodyLimit::max(options.body_limit));
    router.layer(layers)
}

/// Records the request in metrics and gives bare error statuses (405, 408, 413 from a layer…)
/// the API's JSON error body.
async fn observe_and_shape_errors(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().clone();
    let response = next.run(req).await;
    let status = response.status();
    state.metrics.observe(
        &route,
        &method,
        status.as_u16(),
        started.elapsed().as_secs_f64(),
    );
    let body_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase);
    // axum's own rejections (a path segment that is not UTF-8, …) answer in plain text.
    let plain_text = body_type
        .as_deref()
        .is_some_and(|t| t.starts_with("text/plain"));
    if (status.is_client_error() || status.is_server_error()) && (body_type.is_none() || plain_text)
    {
        let (mut parts, body) = response.into_parts();
        let text = if plain_text {
            axum::body::to_bytes(body, 4096)
                .await
                .ok()
                .and_then(|b| String::from_utf8(b.to_vec()).ok())
                .filter(|t| !t.trim().is_empty())
        } else {
            None
        };
        let message =
            text.unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned());
        parts.headers.remove(header::CONTENT_TYPE);
        let shaped = ApiError::new(status, ApiError::code_for(status), message).into_response();
        parts.headers.remove(header::CONTENT_LENGTH);
        let (shaped_parts, body) = shaped.into_parts();
        parts.headers.extend(shaped_parts.headers);
        return Response::from_parts(parts, Body::new(body));
    }
    response
}
