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
        rotate_ingest_token, rotate_scim_token, list_providers, get_provider,
        push, handshake, acs, metadata,
        list_users, get_user, list_identities, get_identity, list_signins,
        create_action, list_actions, get_action, approve_action, reject_action,
        list_detections, get_detection, run_backtest, token,
        create_policy, list_policies, get_policy, replace_policy, delete_policy,
    ),
    modifiers(&BearerAuth, &ScimPaths),
    tags(
        (name = "tenants", description = "Tenants and their API keys"),
        (name = "integrations", description = "Connections to identity providers"),
        (name = "inventory", description = "Accounts, identities and sign-ins across providers"),
        (name = "detections", description = "Risk detections"),
        (name = "policies", description = "Response policies"),
        (name = "actions", description = "Response actions at the provider"),
        (name = "ingest", description = "Events pushed by identity providers"),
        (name = "scim", description = "SCIM 2.0 service provider (RFC 7643/7644); SCIM error shape, application/scim+json"),
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

/// The SCIM routes, described here because their handlers are shared by Users and Groups (the
/// resource type is a parameter of the route table, not of the handler signature).
struct ScimPaths;

impl Modify for ScimPaths {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::{HttpMethod, OperationBuilder};
        use utoipa::openapi::Response;
        const BASE: &str = "/v1/scim/v2";
        let op = |summary: &str, status: &str, description: &str| {
            OperationBuilder::new()
                .summary(Some(summary))
                .tag("scim")
                .response(status, Response::new(description))
                .response(
                    "401",
                    Response::new("missing or invalid SCIM token (SCIM error shape)"),
                )
                .build()
        };
        let discovery = [
            (
                "/ServiceProviderConfig",
                "What this service provider implements",
            ),
            (
                "/Schemas",
                "The schemas served (standard and the integration's extensions)",
            ),
            ("/Schemas/{id}", "One schema"),
            ("/ResourceTypes", "User and Group"),
            ("/ResourceTypes/{id}", "One resource type"),
        ];
        for (path, summary) in discovery {
            openapi.paths.add_path_operation(
                format!("{BASE}{path}"),
                vec![HttpMethod::Get],
                op(summary, "200", "the document"),
            );
        }
        for kind in ["Users", "Groups"] {
            let list = format!("{BASE}/{kind}");
            let one = format!("{BASE}/{kind}/{{id}}");
            openapi.paths.add_path_operation(
                &list,
                vec![HttpMethod::Get],
                op(&format!("List or filter {kind}"), "200", "ListResponse"),
            );
            openapi.paths.add_path_operation(
                &list,
                vec![HttpMethod::Post],
                op(
                    &format!("Create one of {kind}"),
                    "201",
                    "the resource, with Location and ETag",
                ),
            );
            openapi.paths.add_path_operation(
                format!("{list}/.search"),
                vec![HttpMethod::Post],
                op(
                    &format!("Search {kind} (SearchRequest body)"),
                    "200",
                    "ListResponse",
                ),
            );
            openapi.paths.add_path_operation(
                &one,
                vec![HttpMethod::Get],
                op("Read one", "200", "the resource (304 with If-None-Match)"),
            );
            openapi.paths.add_path_operation(
                &one,
                vec![HttpMethod::Put],
                op(
                    "Replace one",
                    "200",
                    "the resource (412 on an If-Match mismatch)",
                ),
            );
            openapi.paths.add_path_operation(
                &one,
                vec![HttpMethod::Patch],
                op("Patch one (PatchOp)", "200", "the whole resource"),
            );
            openapi.paths.add_path_operation(
                &one,
                vec![HttpMethod::Delete],
                op("Delete one", "204", "deleted"),
            );
        }
        openapi.paths.add_path_operation(
            format!("{BASE}/.search"),
            vec![HttpMethod::Post],
            op("Search Users and Groups", "200", "ListResponse"),
        );
        openapi.paths.add_path_operation(
            format!("{BASE}/Bulk"),
            vec![HttpMethod::Post],
            op(
                "Bulk operations with bulkId references",
                "200",
                "BulkResponse",
            ),
        );
    }
}
