//! The connector conformance suite (`gatehouse_testkit::conformance`) run against the SCIM
//! application simulator: paging past one page, the incremental pull by comparison, resume,
//! 429 with `Retry-After`, 5xx, a revoked token, idempotent actions and no token in any log.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use gatehouse_core::records::ActionTarget;
use gatehouse_idp_sim::scim_app::{
    CannedResponse, Fault, NewScimUser, RunningSim, ScimAppConfig, ScimAppSim,
};
use gatehouse_testkit::conformance::{self, Endpoint, SimulatedOrg};
use serde_json::{json, Map, Value};

struct ScimApp {
    sim: ScimAppSim,
    running: RunningSim,
    target: ActionTarget,
}

impl ScimApp {
    fn start(patch: bool) -> Self {
        let sim = ScimAppSim::new(ScimAppConfig {
            // More than two pages of the app's maximum.
            users: 230,
            patch,
            call_log_capacity: 1_000_000,
            ..ScimAppConfig::default()
        });
        let running = sim.spawn(([127, 0, 0, 1], 0).into()).unwrap();
        let login = "conformance.target@example.com";
        let id = sim.add_user(NewScimUser {
            user_name: Some(login.into()),
            ..NewScimUser::default()
        });
        Self {
            sim,
            running,
            target: ActionTarget {
                external_id: id,
                login: login.into(),
            },
        }
    }

    fn error(status: u16, detail: &str) -> CannedResponse {
        CannedResponse::json(
            status,
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                "status": status.to_string(), "detail": detail}),
        )
    }
}

impl SimulatedOrg for ScimApp {
    fn provider(&self) -> &'static str {
        "scim_app"
    }

    fn credentials(&self) -> Map<String, Value> {
        serde_json::from_value(
            json!({"base_url": self.running.base_url(), "token": self.sim.config().token}),
        )
        .unwrap()
    }

    fn config(&self) -> Map<String, Value> {
        serde_json::from_value(json!({"enable_response_actions": true})).unwrap()
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
            &json!({"title": "Changed by the conformance suite"})
        ));
    }

    fn add_signins(&self, _count: usize, _age: chrono::Duration) -> Vec<String> {
        Vec::new()
    }

    fn inject(&self, endpoint: Endpoint, fault: Fault) {
        match endpoint {
            Endpoint::Users => self.sim.inject_on("/Users", fault),
            Endpoint::Signins => {}
        }
    }

    fn clear_faults(&self) {
        self.sim.clear_faults();
    }

    fn rate_limit_fault(&self, wait: Duration) -> Fault {
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        Fault::Respond {
            response: Self::error(429, "Too many requests")
                .header("retry-after", seconds.to_string()),
            count: 1,
        }
    }

    fn revoke_credential(&self) {
        self.sim.inject(Fault::Respond {
            response: Self::error(401, "The token was revoked"),
            count: 1_000,
        });
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
        vec![self.sim.config().token.clone()]
    }
}

#[tokio::test]
async fn the_scim_app_connector_passes_the_conformance_suite() {
    let app = ScimApp::start(true);
    conformance::run(gatehouse_scim_app::Factory, &app)
        .await
        .unwrap();
    let writes = app.mutations_of(&app.target.external_id);
    assert!(writes.iter().all(|w| w.starts_with("PATCH ")), "{writes:?}");
}

#[tokio::test]
async fn the_suite_passes_against_an_app_without_patch_too() {
    let app = ScimApp::start(false);
    conformance::run(gatehouse_scim_app::Factory, &app)
        .await
        .unwrap();
    let writes = app.mutations_of(&app.target.external_id);
    assert!(!writes.is_empty());
    assert!(writes.iter().all(|w| w.starts_with("PUT ")), "{writes:?}");
}
