//! The connector conformance suite (`gatehouse_testkit::conformance`) run against the JumpCloud
//! simulator: the same checks every connector must pass, the incremental one by comparison
//! with the full pass's fingerprints (JumpCloud has no change feed).

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use gatehouse_core::records::ActionTarget;
use gatehouse_idp_sim::jumpcloud::{
    CannedResponse, Fault, JumpCloudConfig, JumpCloudSim, NewUser, RunningSim,
};
use gatehouse_testkit::conformance::{self, Endpoint, SimulatedOrg};
use serde_json::{json, Map, Value};

struct JumpCloudOrg {
    sim: JumpCloudSim,
    running: RunningSim,
    target: ActionTarget,
}

impl JumpCloudOrg {
    fn start() -> Self {
        let sim = JumpCloudSim::new(JumpCloudConfig {
            // More than one page of 100.
            users: 250,
            events: 0,
            event_lag: Duration::ZERO,
            rate_limit_per_minute: 1_000_000,
            call_log_capacity: 1_000_000,
            ..JumpCloudConfig::default()
        });
        let running = sim.spawn(([127, 0, 0, 1], 0).into()).unwrap();
        let username = "conformance.target";
        let id = sim.add_user(NewUser {
            username: Some(username.into()),
            firstname: Some("Conformance".into()),
            lastname: Some("Target".into()),
            // enforce_mfa only requires MFA of users with an enrolled factor (or suspended).
            mfa_configured: true,
            enable_user_portal_multifactor: false,
            ..NewUser::default()
        });
        Self {
            sim,
            running,
            target: ActionTarget {
                external_id: id,
                login: username.into(),
            },
        }
    }

    fn base(&self) -> String {
        self.running
            .base_url()
            .to_string()
            .trim_end_matches('/')
            .to_owned()
    }

    fn path(endpoint: Endpoint) -> &'static str {
        match endpoint {
            Endpoint::Users => "/api/systemusers",
            Endpoint::Signins => "/insights/directory/v1/events",
        }
    }

    fn error(status: u16, message: &str, state: &str) -> CannedResponse {
        CannedResponse::json(
            status,
            &json!({"code": status, "message": message, "status": state}),
        )
    }
}

impl SimulatedOrg for JumpCloudOrg {
    fn provider(&self) -> &'static str {
        "jumpcloud"
    }

    fn credentials(&self) -> Map<String, Value> {
        serde_json::from_value(json!({"api_key": self.sim.config().api_key})).unwrap()
    }

    fn config(&self) -> Map<String, Value> {
        serde_json::from_value(json!({
            "base_url": self.base(),
            "enable_response_actions": true,
            "signin_lookback_hours": 1,
        }))
        .unwrap()
    }

    fn now(&self) -> DateTime<Utc> {
        self.sim.clock().now()
    }

    fn account_ids(&self) -> BTreeSet<String> {
        self.sim.user_ids().into_iter().collect()
    }

    fn change_account(&self, external_id: &str) {
        assert!(self.sim.update_user(
            external_id,
            &json!({"jobTitle": "Changed by the conformance suite"})
        ));
    }

    fn add_signins(&self, count: usize, age: chrono::Duration) -> Vec<String> {
        let time = (self.now() - age).to_rfc3339_opts(SecondsFormat::Millis, true);
        (0..count)
            .map(|_| {
                self.sim.add_event(json!({
                    "timestamp": time,
                    "initiated_by": {"id": self.target.external_id, "type": "user",
                                     "username": self.target.login},
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
        let mut response = Self::error(429, "Too Many Requests", "Too Many Requests");
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        response.headers = vec![("retry-after".into(), seconds.to_string())];
        Fault::Respond { response, count: 1 }
    }

    fn revoke_credential(&self) {
        let response = Self::error(401, "Unauthorized", "Unauthorized");
        self.sim.inject_on(
            "/api",
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
            .filter(|call| call.status < 300 && call.path.contains(external_id))
            .map(|call| format!("{} {}", call.method, call.path))
            .collect()
    }

    fn secrets(&self) -> Vec<String> {
        vec![self.sim.config().api_key.clone()]
    }
}

#[tokio::test]
async fn the_jumpcloud_connector_passes_the_conformance_suite() {
    let org = JumpCloudOrg::start();
    conformance::run(gatehouse_jumpcloud::Factory, &org)
        .await
        .unwrap();
}
