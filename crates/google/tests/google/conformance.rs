//! The connector conformance suite (`gatehouse_testkit::conformance`) run against the Google
//! Workspace simulator: the same checks every connector must pass, the incremental one by
//! comparison with the full pass's fingerprints (the Directory API has no change feed).

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use gatehouse_core::records::ActionTarget;
use gatehouse_google::Scope;
use gatehouse_idp_sim::google::{
    CannedResponse, Fault, GoogleConfig, GoogleSim, NewUser, RunningSim,
};
use gatehouse_testkit::conformance::{self, Endpoint, SimulatedOrg};
use serde_json::{json, Map, Value};

struct GoogleOrg {
    sim: GoogleSim,
    running: RunningSim,
    mfa_group: String,
    target: ActionTarget,
}

impl GoogleOrg {
    fn start() -> Self {
        let defaults = GoogleConfig::default();
        let mut authorized_scopes = defaults.authorized_scopes.clone();
        for scope in [
            Scope::UserReadonly,
            Scope::GroupReadonly,
            Scope::AuditReadonly,
            Scope::User,
            Scope::UserSecurity,
            Scope::GroupMember,
        ] {
            authorized_scopes.insert(scope.url().to_owned());
        }
        let sim = GoogleSim::new(GoogleConfig {
            // More than one page of 500.
            users: 1_100,
            activities: 0,
            authorized_scopes,
            reporting_lag: Duration::ZERO,
            rate_limit_per_minute: 1_000_000,
            user_rate_limit_per_minute: 1_000_000,
            call_log_capacity: 1_000_000,
            ..defaults
        });
        let running = sim.spawn(([127, 0, 0, 1], 0).into()).unwrap();
        let mfa_group = sim.create_group("require-2sv@example.com");
        let email = "conformance.target@example.com";
        let id = sim.add_user(NewUser {
            primary_email: Some(email.into()),
            given_name: Some("Conformance".into()),
            family_name: Some("Target".into()),
            // enforce_mfa only moves users already enrolled (or suspended) under enforcement.
            enrolled_2sv: true,
            ..NewUser::default()
        });
        Self {
            sim,
            running,
            mfa_group,
            target: ActionTarget {
                external_id: id,
                login: email.into(),
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
            Endpoint::Users => "/admin/directory/v1/users",
            Endpoint::Signins => "/admin/reports/v1/activity",
        }
    }

    fn google_error(status: u16, reason: &str, message: &str, state: &str) -> CannedResponse {
        CannedResponse::json(
            status,
            &json!({"error": {"code": status, "message": message,
                "errors": [{"message": message, "domain": "global", "reason": reason}],
                "status": state}}),
        )
    }
}

impl SimulatedOrg for GoogleOrg {
    fn provider(&self) -> &'static str {
        "google_workspace"
    }

    fn credentials(&self) -> Map<String, Value> {
        let key = self
            .sim
            .service_account_json(&format!("{}/token", self.base()));
        serde_json::from_value(json!({
            "service_account": key,
            "admin_email": self.sim.config().admin_email,
        }))
        .unwrap()
    }

    fn config(&self) -> Map<String, Value> {
        serde_json::from_value(json!({
            "api_base_url": self.base(),
            "enable_response_actions": true,
            "mfa_group": self.mfa_group,
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
            &json!({"organizations": [{"title": "Changed by the conformance suite", "primary": true}]})
        ));
    }

    fn add_signins(&self, count: usize, age: chrono::Duration) -> Vec<String> {
        let time = (self.now() - age).to_rfc3339_opts(SecondsFormat::Millis, true);
        (0..count)
            .map(|_| {
                let (time, qualifier) = self.sim.add_activity(json!({
                    "id": {"time": time},
                    "actor": {"email": self.target.login},
                }));
                format!("{time}/{qualifier}")
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
        let mut response = Self::google_error(
            429,
            "rateLimitExceeded",
            "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute'.",
            "RESOURCE_EXHAUSTED",
        );
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        response.headers = vec![("retry-after".into(), seconds.to_string())];
        Fault::Respond { response, count: 1 }
    }

    fn revoke_credential(&self) {
        let response = Self::google_error(
            401,
            "authError",
            "Request had invalid authentication credentials.",
            "UNAUTHENTICATED",
        );
        self.sim.inject_on(
            "/admin",
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
                    || call.path.contains(&self.target.login)
                    || call.body.as_ref().is_some_and(|body| {
                        let text = body.to_string();
                        text.contains(external_id) || text.contains(&self.target.login)
                    })
            })
            .map(|call| format!("{} {}", call.method, call.path))
            .collect()
    }

    fn secrets(&self) -> Vec<String> {
        vec![self.sim.config().service_account.private_key_pem.clone()]
    }
}

#[tokio::test]
async fn the_google_connector_passes_the_conformance_suite() {
    let org = GoogleOrg::start();
    conformance::run(gatehouse_google::Factory, &org)
        .await
        .unwrap();
}
