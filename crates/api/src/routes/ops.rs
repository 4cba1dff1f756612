//! Health, readiness, metrics, the OpenAPI document and the JSON 404.

use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::json;
use utoipa::OpenApi;

use crate::{ApiDoc, ApiError, AppState};

/// Alive: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "alive")))]
pub(crate) async fn healthz() -> impl IntoResponse {
    Json(json!({"status": "ok"}))
}

/// Ready: a durable write works (a probe the store runs at most every few seconds), nothing has
/// failed to sync, and the background services run.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses(
    (status = 200, description = "ready"),
    (status = 503, description = "starting, shutting down, or the store cannot write durably (`reason` says why)")))]
pub(crate) async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    // The inbox's failure is known only to the shared signal; the store's shows in both.
    let failure = match state.fatal.reason() {
        Some(reason) => Some(reason.to_string()),
        None => state
            .gateway
            .store()
            .probe_write()
            .await
            .err()
            .map(|e| e.to_string()),
    };
    let running = state.ready.load(Ordering::Acquire);
    let status = if failure.is_none() && running {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut body = json!({
        "status": if status == StatusCode::OK { "ready" } else { "not_ready" },
        "store": if failure.is_none() { "writable" } else { "failed" },
        "services": if running { "running" } else { "stopped" },
    });
    if let Some(reason) = failure {
        body["reason"] = reason.into();
    }
    (status, Json(body))
}

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub(crate) async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    if let Ok(bytes) = state.gateway.store().size_on_disk().await {
        state.metrics.set_store_size(bytes);
    }
    state.metrics.set_engine(state.gateway.stats());
    let detector = &state.engine.detector;
    state
        .metrics
        .set_risk(detector.dropped(), detector.queued_batches());
    for sink in state.engine.outputs.report() {
        state
            .metrics
            .set_output(sink.sink, sink.queued, sink.dead_letters);
    }
    if let Some(inbox) = state.engine.ingest.inbox() {
        state.metrics.set_inbox(
            inbox.backlog_bytes(),
            inbox.commit_rounds(),
            inbox.last_lag(),
        );
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
}

/// This document.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "operations", responses((status = 200, description = "the OpenAPI 3.1 document")))]
pub(crate) async fn openapi() -> impl IntoResponse {
    Json(ApiDoc::openapi())
}

pub(crate) async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route")
}
