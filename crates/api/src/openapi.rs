//! The OpenAPI document, generated from the handlers' annotations.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::*;

/// Every documented route of the daemon.
#[derive(OpenApi)]
#[openapi(
    info(title = "Gatehouse", description = "Identity-integration gateway: tenants, integrations, inventory, risk and response."),
    paths(
        healthz, readyz, metrics, openapi,
        create_tenant, list_tenants, get_tenant, patch_tenant, delete_tenant,
        create_api_key, list_api_keys, delete_api_key,
        create_integration, list_integrations, get_integration, patch_integration,
        delete_integration, test_integration, sync_integration,
        rotate_ingest_token, rotate_scim_token,
        push, handshake,
        list_users, get_user, get_identity, list_signins,
        create_action, list_actions, get_action, approve_action, reject_action,
        list_detections, get_detection, run_backtest, token,
        create_policy, list_policies, get_policy, replace_policy, delete_policy,
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "tenants", description = "Tenants and their API keys"),
        (name = "integrations", description = "Connections to identity providers"),
        (name = "inventory", description = "Accounts, identities and sign-ins across providers"),
        (name = "detections", description = "Risk detections"),
        (name = "policies", description = "Response policies"),
        (name = "actions", description = "Response actions at the provider"),
        (name = "ingest", description = "Events pushed by identity providers"),
        (name = "operations", description = "Health, readiness, metrics"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}
