//! `POST /v1/backtest`: detections and policies over stored history, without running anything.

use axum::extract::State;
use axum::Json;
use gatehouse_engine::backtest::{self, BacktestReport};
use serde::Deserialize;

use crate::extract::{Caller, JsonBody};
use crate::routes::policies::PolicyBody;
use crate::{ApiError, AppState};

/// `POST /v1/backtest`
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BacktestRequest {
    tenant_id: Option<String>,
    /// `30d`, `12h`, `90m` or an RFC 3339 time.
    since: String,
    /// RFC 3339; default now.
    until: Option<String>,
    /// A candidate policy to try instead of the tenant's own.
    policy: Option<PolicyBody>,
}

#[utoipa::path(post, path = "/v1/backtest", tag = "detections", request_body = BacktestRequest, security(("bearer" = [])),
    responses((status = 200, description = "what would have fired and which actions would have run (none ran)")))]
pub(crate) async fn run_backtest(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<BacktestRequest>,
) -> Result<Json<BacktestReport>, ApiError> {
    let tenant = caller.scope(body.tenant_id.as_deref())?;
    let clock = state.gateway.clock();
    let since = backtest::parse_since(&body.since, clock.as_ref())
        .map_err(|e| ApiError::invalid("since", e.to_string()))?;
    let until = match body.until.as_deref() {
        Some(text) => {
            crate::routes::inventory::time("until", Some(text))?.unwrap_or_else(|| clock.now())
        }
        None => clock.now(),
    };
    let policy = body.policy.map(PolicyBody::into_input);
    crate::routes::inventory::settle_pushes(&state).await;
    Ok(Json(
        backtest::run(&state.gateway, &tenant, since, until, policy).await?,
    ))
}
