//! The route table.

mod actions;
mod backtest;
mod detections;
mod ingest;
mod integrations;
mod inventory;
mod ops;
mod policies;
mod providers;
mod saml;
mod scim;
mod scim_oauth;
mod tenants;

use axum::routing::{get, post};
use axum::Router;

use crate::AppState;

pub(crate) use actions::{
    __path_approve_action, __path_create_action, __path_get_action, __path_list_actions,
    __path_reject_action,
};
pub(crate) use backtest::__path_run_backtest;
pub(crate) use detections::{__path_get_detection, __path_list_detections};
pub(crate) use ingest::{__path_handshake, __path_push};
pub(crate) use integrations::__path_create_integration;
pub(crate) use integrations::{
    __path_delete_integration, __path_get_integration, __path_list_integrations,
    __path_patch_integration, __path_rotate_ingest_token, __path_rotate_scim_token,
    __path_sync_integration, __path_test_integration,
};
pub(crate) use inventory::{
    __path_get_identity, __path_get_user, __path_list_identities, __path_list_signins,
    __path_list_users,
};
pub(crate) use ops::{__path_healthz, __path_metrics, __path_openapi, __path_readyz};
pub(crate) use policies::{
    __path_create_policy, __path_delete_policy, __path_get_policy, __path_list_policies,
    __path_replace_policy,
};
pub(crate) use providers::{__path_get_provider, __path_list_providers};
pub(crate) use saml::{__path_acs, __path_metadata};
pub(crate) use scim_oauth::__path_token;
pub(crate) use tenants::{
    __path_create_api_key, __path_create_tenant, __path_delete_api_key, __path_delete_tenant,
    __path_get_tenant, __path_list_api_keys, __path_list_tenants, __path_patch_tenant,
};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/v1/openapi.json", get(ops::openapi))
        .route(
            "/v1/tenants",
            post(tenants::create_tenant).get(tenants::list_tenants),
        )
        .route(
            "/v1/tenants/{id}",
            get(tenants::get_tenant)
                .patch(tenants::patch_tenant)
                .delete(tenants::delete_tenant),
        )
        .route(
            "/v1/tenants/{id}/api-keys",
            post(tenants::create_api_key).get(tenants::list_api_keys),
        )
        .route(
            "/v1/tenants/{id}/api-keys/{key_id}",
            axum::routing::delete(tenants::delete_api_key),
        )
        .route(
            "/v1/integrations",
            post(integrations::create_integration).get(integrations::list_integrations),
        )
        .route(
            "/v1/integrations/{id}",
            get(integrations::get_integration)
                .patch(integrations::patch_integration)
                .delete(integrations::delete_integration),
        )
        .route(
            "/v1/integrations/{id}/test",
            post(integrations::test_integration),
        )
        .route(
            "/v1/integrations/{id}/sync",
            post(integrations::sync_integration),
        )
        .route(
            "/v1/integrations/{id}/ingest-token",
            post(integrations::rotate_ingest_token),
        )
        .route(
            "/v1/integrations/{id}/scim-token",
            post(integrations::rotate_scim_token),
        )
        .route("/v1/providers", get(providers::list_providers))
        .route("/v1/providers/{id}", get(providers::get_provider))
        .route(
            "/v1/idp/{provider}",
            post(ingest::push).get(ingest::handshake),
        )
        .route("/v1/idp/saml/{integration_id}/acs", post(saml::acs))
        .route(
            "/v1/idp/saml/{integration_id}/metadata",
            get(saml::metadata),
        )
        .route("/v1/users", get(inventory::list_users))
        .route("/v1/users/{id}", get(inventory::get_user))
        .route("/v1/identities", get(inventory::list_identities))
        .route("/v1/identities/{id}", get(inventory::get_identity))
        .route("/v1/signins", get(inventory::list_signins))
        .route(
            "/v1/actions",
            post(actions::create_action).get(actions::list_actions),
        )
        .route("/v1/actions/{id}", get(actions::get_action))
        .route("/v1/actions/{id}/approve", post(actions::approve_action))
        .route("/v1/actions/{id}/reject", post(actions::reject_action))
        .route("/v1/detections", get(detections::list_detections))
        .route("/v1/backtest", post(backtest::run_backtest))
        .route("/v1/scim/oauth/token", post(scim_oauth::token))
        .route("/v1/detections/{id}", get(detections::get_detection))
        .route(
            "/v1/policies",
            post(policies::create_policy).get(policies::list_policies),
        )
        .route(
            "/v1/policies/{id}",
            get(policies::get_policy)
                .put(policies::replace_policy)
                .delete(policies::delete_policy),
        )
        .nest("/v1/scim/v2", scim::routes())
        .fallback(ops::not_found)
}
