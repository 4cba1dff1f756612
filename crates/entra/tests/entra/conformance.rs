//! The connector conformance suite (`gatehouse_testkit::conformance`) run against the Entra
//! simulator: the same checks every connector must pass, the incremental one through the
//! deltaLink the full pass ended with.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use gatehouse_core::records::ActionTarget;
use gatehouse_idp_sim::entra::{CannedResponse, EntraConfig, EntraSim, Fault, NewUser, RunningSim};
use gatehouse_testkit::conformance::{self, Endpoint, SimulatedOrg};
use serde_json::{json, Map, Value};

struct EntraOrg {
    sim: EntraSim,
    running: RunningSim,
    mfa_group: String,
    target: ActionTarget,
}

impl EntraOrg {
    fn start() -> Self {
        let sim = EntraSim::new(EntraConfig {
            // More than one delta page of 999.
            users: 1_100,
            signins: 0,
            signin_lag: Duration::ZERO,
            rate_limit_per_minute: 1_000_000,
            call_log_capacity: 1_000_000,
            ..EntraConfig::default()
        });
        let running = sim.spawn(([127, 0, 0, 1], 0).into()).unwrap();
        let mfa_group = sim.create_group("Require MFA");
        let id = sim.add_user(NewUser {
            given_name: "Conformance".into(),
            surname: "Target".into(),
            account_enabled: true,
            ..NewUser::default()
        });
        let login = sim.user(&id).unwrap()["userPrincipalName"]
            .as_str()
            .unwrap()
            .to_owned();
        Self {
            sim,
            running,
            mfa_group,
            target: ActionTarget {
                external_id: id,
                login,
            },
        }
    }

    fn path(endpoint: Endpoint) -> &'static str {
        match endpoint {
            Endpoint::Users => "/v1.0/users",
            Endpoint::Signins => "/v1.0/auditLogs/signIns",
        }
    }

    fn graph_error(status: u16, code: &str, message: &str) -> CannedResponse {
        CannedResponse::json(
            status,
            &json!({"error": {"code": code, "message": message, "innerError": {
                "date": "2026-12-06T10:00:00", "request-id": "conformance",
                "client-request-id": "conformance"}}}),
        )
    }
}

impl SimulatedOrg for EntraOrg {
    fn provider(&self) -> &'static str {
        "entra"
    }

    fn credentials(&self) -> Map<String, Value> {
        let config = self.sim.config();
        serde_json::from_value(json!({
            "tenant_id": config.directory_id,
            "client_id": config.client_id,
            "client_secret": config.client_secret,
        }))
        .unwrap()
    }

    fn config(&self) -> Map<String, Value> {
        let base = self.running.base_url().to_string();
        serde_json::from_value(json!({
            "login_base_url": base,
            "graph_base_url": base,
            "enable_response_actions": true,
            "mfa_group_id": self.mfa_group,
            "signin_lookback_hours": 1,
        }))
        .unwrap()
    }

    fn now(&self) -> DateTime<Utc> {
        self.sim.clock().now()
    }

    fn account_ids(&self) -> BTreeSet<String> {
        self.sim.user_ids()
    }

    fn change_account(&self, external_id: &str) {
        assert!(self.sim.update_user(
            external_id,
            json!({"jobTitle": "Changed by the conformance suite"})
        ));
    }

    fn add_signins(&self, count: usize, age: chrono::Duration) -> Vec<String> {
        let created = (self.now() - age).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        (0..count)
            .map(|_| {
                self.sim.add_signin(json!({
                    "createdDateTime": created,
                    "userId": self.target.external_id,
                    "userPrincipalName": self.target.login,
                    "status": {"errorCode": 0, "failureReason": "Other.", "additionalDetails": null},
                }))
            })
            .collect()
    }

    fn inject(&self, endpoint: Endpoint, fault: Fault) {
        self.sim.inject_on(Self::path(endpoint), fault);
    }

    fn clear_faults(&self) {
        self.sim.clear_faults();
    }

    fn rate_limit_fault(&self, wait: Duration) -> Fault {
        let mut response = Self::graph_error(429, "TooManyRequests", "Too many requests.");
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        response.headers = vec![("retry-after".into(), seconds.to_string())];
        Fault::Respond { response, count: 1 }
    }

    fn revoke_credential(&self) {
        let mut response = Self::graph_error(
            401,
            "InvalidAuthenticationToken",
            "Access token has expired or is not yet valid.",
        );
        response.headers = vec![(
            "www-authenticate".into(),
            "Bearer realm=\"\", error=\"invalid_token\"".into(),
        )];
        self.sim.inject_on(
            "/v1.0",
            Fault::Respond {
                response,
                count: 1_000,
            },
        );
    }

    fn restore_credential(&self) {
        self.sim.clear_faults();
    }

    fn request_count(&self) -> usize {
        self.sim.calls().len()
    }

    fn action_target(&self) -> ActionTarget {
        self.target.clone()
    }

    fn mutations_of(&self, external_id: &str) -> Vec<String> {
        self.sim
            .writes()
            .into_iter()
            .filter(|call| call.status < 300)
            .filter(|call| {
                call.path.contains(external_id)
                    || call
                        .body
                        .as_ref()
                        .is_some_and(|body| body.to_string().contains(external_id))
            })
            .map(|call| format!("{} {}", call.method, call.path))
            .collect()
    }

    fn secrets(&self) -> Vec<String> {
        vec![self.sim.config().client_secret.clone()]
    }
}

#[tokio::test]
async fn the_entra_connector_passes_the_conformance_suite() {
    let org = EntraOrg::start();
    conformance::run(gatehouse_entra::Factory, &org)
        .await
        .unwrap();
}
