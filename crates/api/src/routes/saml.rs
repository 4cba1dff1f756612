//! `/v1/idp/saml/{integration_id}/…`: Gatehouse as a SAML 2.0 service provider. The IdP (through
//! the user's browser, HTTP-POST binding) posts a signed Response to `acs`; `metadata` is the SP
//! metadata an IdP administrator imports. Neither takes a bearer token: the IdP's signature
//! authenticates an assertion, and metadata is public by nature (IdPs fetch it).
//!
//! A verified assertion upserts its account and records a successful sign-in; a refused one
//! answers 400 with the reason's code and sentence, and records a failed sign-in of its subject
//! when its signature verified (an unverified subject is only claimed). Gatehouse never writes
//! back to the IdP.

use std::net::IpAddr;

use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gatehouse_core::catalog::{SamlConfig, SamlCredentials};
use gatehouse_core::model::{
    AuthStep, EventCategory, EventSignal, FailureReason, Integration, IntegrationStatus, Outcome,
};
use gatehouse_core::records::ProviderEvent;
use gatehouse_core::{IntegrationId, SignInId};
use gatehouse_engine::federation::FederatedSignIn;
use gatehouse_saml::{SamlError, SamlIntegration};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::extract::RawBody;
use crate::{ApiError, AppState};

/// The integration type these routes serve.
const KIND: &str = "saml";
/// What the sign-ins name as the application signed in to.
const APP: &str = "Gatehouse (SAML)";

/// The HTTP-POST binding's form.
#[derive(Debug, Deserialize)]
struct AcsForm {
    #[serde(rename = "SAMLResponse")]
    saml_response: Option<String>,
}

/// A verified assertion's answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct AcsAccepted {
    /// The assertion's ID.
    assertion_id: String,
    /// The NameID: the account's external id.
    subject: String,
    /// The inventory account the assertion was mapped onto.
    user_id: Option<String>,
    /// The recorded sign-in.
    sign_in_id: String,
}

fn refused(error: &SamlError) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, error.code(), error.to_string())
}

async fn target(state: &AppState, id: &str) -> Result<Integration, ApiError> {
    let id = IntegrationId::parse(id)
        .ok_or_else(|| ApiError::not_found(format!("{KIND} integration {id}")))?;
    Ok(state.gateway.federation_target(&id, KIND).await?)
}

fn config_of(integration: &Integration) -> Result<SamlConfig, SamlError> {
    serde_json::from_value(Value::Object(integration.config.clone()))
        .map_err(|_| SamlError::Config("the config does not read as saml config".into()))
}

/// The integration's validator, from its opened credentials and config.
fn validator(state: &AppState, integration: &Integration) -> Result<SamlIntegration, ApiError> {
    let credentials = state.gateway.open_credentials(integration)?;
    let read = serde_json::from_str::<SamlCredentials>(credentials.expose_json())
        .map_err(|_| SamlError::Config("the credentials do not read as saml credentials".into()))
        .and_then(|c| SamlIntegration::new(integration.id.as_str(), &c, &config_of(integration)?));
    read.map_err(|error| {
        // No key material in the message: SamlError::Config names what, never the value.
        tracing::warn!(
            tenant_id = %integration.tenant_id, integration_id = %integration.id,
            code = error.code(), %error, "saml integration cannot validate assertions"
        );
        refused(&error)
    })
}

/// `https://host` for URLs in metadata when the integration names no public base URL.
fn base_from_request(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        })
        .unwrap_or("localhost");
    let scheme = match headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
    {
        Some("https") => "https",
        _ => "http",
    };
    format!("{scheme}://{host}")
}

/// The first address of `X-Forwarded-For` (the browser, behind a proxy), when it is one.
fn client_ip(headers: &HeaderMap) -> Option<String> {
    let first = headers
        .get("x-forwarded-for")?
        .to_str()
        .ok()?
        .split(',')
        .next()?
        .trim();
    first.parse::<IpAddr>().ok().map(|ip| ip.to_string())
}

fn user_agent(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(512).collect())
}

/// A sign-in event of this ACS, before the inventory matches it to an account.
fn sign_in_event(
    provider_event_id: String,
    time: chrono::DateTime<chrono::Utc>,
    subject: Option<String>,
    outcome: Outcome,
    reason: Option<&SamlError>,
    headers: &HeaderMap,
    raw: Value,
) -> ProviderEvent {
    ProviderEvent {
        provider_event_id,
        time,
        category: EventCategory::Authentication,
        event_type: match outcome {
            Outcome::Success => "saml.assertion.accepted".into(),
            _ => "saml.assertion.refused".into(),
        },
        login: subject.clone(),
        external_user_id: subject,
        outcome,
        reason: reason.map(|r| format!("{}: {r}", r.code())),
        ip: client_ip(headers),
        country: None,
        city: None,
        latitude: None,
        longitude: None,
        asn: None,
        user_agent: user_agent(headers),
        device: None,
        mfa_factor: None,
        session_id: None,
        is_proxy: None,
        provider_risk: None,
        signal: EventSignal {
            step: Some(AuthStep::FirstFactor),
            failure_reason: reason.map(|_| FailureReason::Other),
            app: Some(APP.into()),
            ..EventSignal::default()
        },
        raw: Some(raw.into()),
    }
}

/// Records a refusal as a failed sign-in when the response named a subject; the answer is the
/// refusal either way.
async fn refuse(
    state: &AppState,
    integration: &Integration,
    headers: &HeaderMap,
    error: SamlError,
    subject: Option<String>,
) -> ApiError {
    tracing::info!(
        tenant_id = %integration.tenant_id, integration_id = %integration.id,
        code = error.code(), "saml assertion refused"
    );
    if let Some(subject) = subject {
        let now = state.gateway.clock().now();
        // A fresh id per refusal: every failed attempt counts, none is deduped away.
        let event_id = format!("refused-{}", SignInId::generate(now));
        let raw = json!({"saml": {"refused": error.code(), "subject": subject}});
        let event = sign_in_event(
            event_id,
            now,
            Some(subject),
            Outcome::Failure,
            Some(&error),
            headers,
            raw,
        );
        if let Err(store_error) = state.engine.federated_failure(integration, event).await {
            tracing::warn!(
                integration_id = %integration.id, error = %store_error,
                "could not record a refused saml sign-in"
            );
        }
    }
    refused(&error)
}

#[utoipa::path(post, path = "/v1/idp/saml/{integration_id}/acs", tag = "ingest",
    params(("integration_id" = String, Path, description = "the saml integration")),
    request_body(content_type = "application/x-www-form-urlencoded",
        description = "HTTP-POST binding: `SAMLResponse` (base64 Response XML), optional `RelayState`"),
    responses((status = 200, body = AcsAccepted, description = "the assertion verified: its account is upserted and a successful sign-in recorded"),
              (status = 400, description = "refused, with the reason's code (`saml_expired`, `saml_signature_invalid`, `saml_replayed`, …) and sentence; a failed sign-in of its subject is recorded when the signature verified"),
              (status = 404, description = "no saml integration with this id"),
              (status = 409, description = "the integration is disabled")))]
pub(crate) async fn acs(
    State(state): State<AppState>,
    Path(integration_id): Path<String>,
    headers: HeaderMap,
    body: Request,
) -> Result<Response, ApiError> {
    let integration = target(&state, &integration_id).await?;
    if integration.status == IntegrationStatus::Disabled {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!(
                "integration {} is disabled and takes no assertions",
                integration.id
            ),
        ));
    }
    let RawBody(bytes) = RawBody::from_request(body, &state).await?;
    let form: AcsForm = serde_urlencoded::from_bytes(&bytes).map_err(|_| {
        ApiError::bad_request("send the HTTP-POST binding's application/x-www-form-urlencoded form")
    })?;
    let Some(saml_response) = form.saml_response.filter(|v| !v.trim().is_empty()) else {
        return Err(ApiError::invalid("SAMLResponse", "is required"));
    };
    let saml = validator(&state, &integration)?;
    let now = state.gateway.clock().now();
    let assertion = match saml.validate_post(&saml_response, now) {
        Ok(assertion) => assertion,
        Err(refusal) => {
            return Err(refuse(
                &state,
                &integration,
                &headers,
                refusal.error,
                refusal.subject,
            )
            .await)
        }
    };
    let user = saml.mapping.user(&assertion);
    let raw = json!({"saml": {
        "assertion_id": assertion.id,
        "issuer": assertion.issuer,
        "name_id_format": assertion.name_id_format,
        "session_index": assertion.session_index,
        "authn_instant": assertion.authn_instant,
    }});
    // Keyed by the assertion's ID at its issue instant, both signed: the replay key.
    let event = sign_in_event(
        assertion.id.clone(),
        assertion.issue_instant,
        Some(assertion.name_id.clone()),
        Outcome::Success,
        None,
        &headers,
        raw,
    );
    match state
        .engine
        .federated_sign_in(&integration, user, event)
        .await?
    {
        FederatedSignIn::Recorded { sign_in, user } => {
            tracing::info!(
                tenant_id = %integration.tenant_id, integration_id = %integration.id,
                sign_in_id = %sign_in, "saml assertion accepted"
            );
            Ok(Json(AcsAccepted {
                assertion_id: assertion.id,
                subject: assertion.name_id,
                user_id: user.map(|u| u.to_string()),
                sign_in_id: sign_in.to_string(),
            })
            .into_response())
        }
        FederatedSignIn::Replayed => Err(refuse(
            &state,
            &integration,
            &headers,
            SamlError::Replayed,
            Some(assertion.name_id),
        )
        .await),
    }
}

#[utoipa::path(get, path = "/v1/idp/saml/{integration_id}/metadata", tag = "ingest",
    params(("integration_id" = String, Path, description = "the saml integration")),
    responses((status = 200, content_type = "application/samlmetadata+xml",
               description = "SP metadata (entity id, ACS URL, HTTP-POST binding) for the IdP to import; no authentication"),
              (status = 404, description = "no saml integration with this id")))]
pub(crate) async fn metadata(
    State(state): State<AppState>,
    Path(integration_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let integration = target(&state, &integration_id).await?;
    let config = config_of(&integration).map_err(|e| refused(&e))?;
    let id = integration.id.as_str();
    let base = config
        .public_base_url
        .as_deref()
        .map(|b| b.trim_end_matches('/').to_owned())
        .unwrap_or_else(|| base_from_request(&headers));
    let entity_id = config
        .sp_entity_id
        .unwrap_or_else(|| gatehouse_saml::default_sp_entity_id(id));
    let xml = gatehouse_saml::metadata::sp_metadata(
        &entity_id,
        &format!("{base}{}", gatehouse_saml::acs_path(id)),
    );
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/samlmetadata+xml"),
        )],
        xml,
    )
        .into_response())
}
