//! The fault matrix for Okta (issue 23): one test per fault the simulated org can inject, each
//! driving full users pulls through the engine of an in-process daemon
//! ([`gatehouse_testkit::faults::FaultRig`]) and checking that the pull recovers, or fails
//! cleanly with a `last_error` that names the fault and the next run resumes; that every
//! simulated user is stored exactly once; and that no secret reaches the status.
//!
//! A fault meant for the middle of a pull is armed by delaying the first page at the org, then
//! injected once that request has been taken: the second page is the only one that can come
//! after it. The connector gets a short retry policy and request timeout, so timeouts and slow
//! answers cost milliseconds.

use std::sync::Arc;
use std::time::Duration;

use gatehouse_connect::{Backoff, RetryPolicy};
use gatehouse_core::provider::{Connector, ConnectorFactory};
use gatehouse_core::records::PullMode;
use gatehouse_idp_sim::okta::oauth::ServiceApp;
use gatehouse_idp_sim::okta::{
    CannedResponse, EndpointFamily, Fault, OktaConfig, OktaSim, RunningSim, Truncation, UserStatus,
};
use gatehouse_okta::OktaConnector;
use gatehouse_testkit::faults::{until_taken, BuildWith, FaultRig, SyncJob};
use serde_json::{json, Value};

use crate::support::{context, fixture};

const TOKEN: &str = "00faults-okta-api-token-SECRET-0000000000";
const USERS: &str = "/api/v1/users";
const JOB: SyncJob = SyncJob::FullUsers;
const STATUS: &str = "full_users";
/// Attempts per call: a fault repeated this often fails the call.
const ATTEMPTS: u32 = 3;
/// The connector gives up on a call after this long.
const TIMEOUT: Duration = Duration::from_millis(400);
/// How long the first page is held at the org while a mid-pull fault is injected.
const ARM: Duration = Duration::from_millis(300);
const SERVICE_APP: &str = "0oafaultsSVC0000001";

fn policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: ATTEMPTS,
        backoff: Backoff {
            base: Duration::from_millis(2),
            max: Duration::from_millis(10),
            factor: 2.0,
        },
        max_wait: Duration::from_millis(50),
    }
}

struct Org {
    sim: OktaSim,
    running: RunningSim,
}

impl Org {
    /// 23 users (every status, the admin included) on pages of 5, no System Log.
    fn start(service_apps: Vec<ServiceApp>) -> Self {
        let sim = OktaSim::new(OktaConfig {
            users: 23,
            events: 0,
            api_token: TOKEN.into(),
            page_caps: [(EndpointFamily::Users, 5)].into(),
            service_apps,
            ..OktaConfig::default()
        });
        let running = sim.spawn(([127, 0, 0, 1], 0).into()).unwrap();
        Self { sim, running }
    }

    fn base(&self) -> String {
        self.running.base_url()
    }

    /// Every user of the org, in every status.
    fn all_ids(&self) -> Vec<String> {
        let ids: Vec<String> = UserStatus::ALL
            .iter()
            .flat_map(|s| self.sim.users_with_status(*s))
            .collect();
        assert_eq!(ids.len(), self.sim.user_count());
        ids
    }

    fn calls_to_users(&self) -> Vec<(Option<String>, u16)> {
        self.sim
            .calls()
            .into_iter()
            .filter(|c| c.path == USERS)
            .map(|c| (c.query, c.status))
            .collect()
    }

    /// The daemon with this org as an API-token integration.
    async fn rig(&self) -> FaultRig {
        self.rig_with(json!({"domain": self.base(), "api_token": TOKEN}))
            .await
    }

    async fn rig_with(&self, credentials: Value) -> FaultRig {
        let factory = BuildWith::new(gatehouse_okta::Factory.descriptor(), |context| {
            let connector = OktaConnector::from_context_with_timeout(context, policy(), TIMEOUT)?;
            Ok(Arc::new(connector) as Arc<dyn Connector>)
        });
        // No factor or role enrichment: the pages of /api/v1/users are its only calls.
        let config = json!({"ingest_system_log": false, "enrich": []});
        FaultRig::start(factory, "okta", credentials, config)
            .await
            .unwrap()
    }

    /// Runs a pull whose second page meets `fault` (the first is held until it is queued).
    async fn pull_with_second_page(&self, rig: &FaultRig, fault: Fault) -> String {
        self.sim.inject_on(USERS, Fault::delay(ARM, 1));
        let (error, ()) = tokio::join!(rig.pull_err(JOB), async {
            until_taken(|| self.sim.pending_faults() == 0, Duration::from_secs(5))
                .await
                .unwrap();
            self.sim.inject_on(USERS, fault);
        });
        error.unwrap()
    }
}

/// A pull failed after its first page: that page is stored, the rest is not, and the status
/// says why; the fault gone, the next run resumes and every user is stored once.
async fn resumes_after(org: &Org, rig: &FaultRig, names: &[&str]) -> String {
    let error = rig
        .assert_failed_with(STATUS, names, &[TOKEN])
        .await
        .unwrap();
    let stored = rig.stored_external_ids().await.unwrap();
    assert_eq!(stored.len(), 5, "the first page, once: {stored:?}");
    org.sim.clear_faults();
    let resumed = rig.pull_ok(JOB).await.unwrap();
    let expected = org.all_ids();
    rig.assert_each_once(&expected).await.unwrap();
    // The next run read on from where the failed one stopped, not from the start.
    assert_eq!(stored.len() as u64 + resumed, expected.len() as u64);
    rig.assert_succeeded(STATUS).await.unwrap();
    error
}

#[tokio::test]
async fn rate_limit_429_with_okta_headers() {
    let org = Org::start(Vec::new());
    let rig = org.rig().await;
    // Fewer 429s than attempts: waited out (X-Rate-Limit-Reset, capped), the pull completes.
    org.sim.inject_on(USERS, Fault::burst_429(ATTEMPTS - 1));
    rig.pull_ok(JOB).await.unwrap();
    rig.assert_each_once(&org.all_ids()).await.unwrap();
    assert_eq!(rig.assert_succeeded(STATUS).await.unwrap(), 23);
    let statuses: Vec<u16> = org.calls_to_users().iter().map(|c| c.1).collect();
    assert_eq!(&statuses[..3], &[429, 429, 200]);

    // A burst longer than the retries, mid-pull: a clean failure, then a resumed pull.
    let rig = org.rig().await;
    org.pull_with_second_page(&rig, Fault::burst_429(ATTEMPTS))
        .await;
    resumes_after(&org, &rig, &["rate limit"]).await;
}

#[tokio::test]
async fn server_errors_500_502_503() {
    for status in [500, 502, 503] {
        let org = Org::start(Vec::new());
        let rig = org.rig().await;
        org.sim
            .inject_on(USERS, Fault::status(status, ATTEMPTS - 1));
        rig.pull_ok(JOB).await.unwrap();
        rig.assert_each_once(&org.all_ids()).await.unwrap();

        let rig = org.rig().await;
        org.pull_with_second_page(&rig, Fault::status(status, ATTEMPTS))
            .await;
        let error = resumes_after(&org, &rig, &[&status.to_string()]).await;
        assert!(error.contains("unavailable"), "{error}");
    }
}

#[tokio::test]
async fn timeout_when_okta_does_not_answer_in_time() {
    let org = Org::start(Vec::new());
    let rig = org.rig().await;
    // One answer later than the client waits: retried, the pull completes.
    org.sim
        .inject_on(USERS, Fault::delay(TIMEOUT * 3, ATTEMPTS - 1));
    rig.pull_ok(JOB).await.unwrap();
    rig.assert_each_once(&org.all_ids()).await.unwrap();

    let rig = org.rig().await;
    org.pull_with_second_page(&rig, Fault::delay(TIMEOUT * 3, ATTEMPTS))
        .await;
    resumes_after(&org, &rig, &["unavailable"]).await;
}

/// The status says the provider timed out (reqwest's own message, "error sending request", is
/// the same for a refused connection).
#[tokio::test]
async fn timeout_is_named_in_the_sync_status() {
    let org = Org::start(Vec::new());
    let rig = org.rig().await;
    org.pull_with_second_page(&rig, Fault::delay(TIMEOUT * 3, ATTEMPTS))
        .await;
    resumes_after(&org, &rig, &["timed out", "timeout"]).await;
}

#[tokio::test]
async fn connection_reset_mid_body() {
    let org = Org::start(Vec::new());
    let rig = org.rig().await;
    // A reset before any answer, then one halfway through the body: both retried.
    org.sim.inject_on(USERS, Fault::reset(1));
    org.sim
        .inject_on(USERS, Fault::truncate(Truncation::ContentLengthTooLong, 1));
    rig.pull_ok(JOB).await.unwrap();
    rig.assert_each_once(&org.all_ids()).await.unwrap();

    let rig = org.rig().await;
    org.pull_with_second_page(
        &rig,
        Fault::truncate(Truncation::ContentLengthTooLong, ATTEMPTS),
    )
    .await;
    resumes_after(&org, &rig, &["reset", "body", "connection"]).await;
}

#[tokio::test]
async fn truncated_json_page() {
    let org = Org::start(Vec::new());
    let rig = org.rig().await;
    org.sim
        .inject_on(USERS, Fault::truncate(Truncation::CutJson, ATTEMPTS - 1));
    rig.pull_ok(JOB).await.unwrap();
    rig.assert_each_once(&org.all_ids()).await.unwrap();

    let rig = org.rig().await;
    org.pull_with_second_page(&rig, Fault::truncate(Truncation::CutJson, ATTEMPTS))
        .await;
    resumes_after(&org, &rig, &["not json", "incomplete"]).await;
}

#[tokio::test]
async fn expired_token_mid_pull_with_an_oauth_service_app() {
    let key = fixture("service_app_rs256_key.json");
    let mut app = ServiceApp::new(
        SERVICE_APP,
        key["public_jwk"].clone(),
        &["okta.users.read", "okta.groups.read", "okta.roles.read"],
    );
    app.token_lifetime = chrono::Duration::minutes(1);
    let org = Org::start(vec![app]);
    let private = key["private_jwk"].clone();
    let rig = org
        .rig_with(json!({"domain": org.base(), "client_id": SERVICE_APP, "private_key": private}))
        .await;
    // The token expires at Okta while the first page is read: the second page's call is
    // refused (401), a new token is fetched and the pull goes on.
    org.sim.inject_on(USERS, Fault::delay(ARM, 1));
    let (records, ()) = tokio::join!(rig.pull_ok(JOB), async {
        if let Err(e) = until_taken(|| org.sim.pending_faults() == 0, Duration::from_secs(5)).await
        {
            panic!("{e}: {:?}", org.sim.token_requests());
        }
        // Past the token's minute, well within the client assertion's own lifetime.
        org.sim.advance_time(chrono::Duration::seconds(90));
    });
    assert_eq!(records.unwrap(), 23);
    rig.assert_each_once(&org.all_ids()).await.unwrap();
    rig.assert_succeeded(STATUS).await.unwrap();
    let refused = org.calls_to_users().iter().filter(|c| c.1 == 401).count();
    assert_eq!(refused, 1, "{:?}", org.calls_to_users());
    assert_eq!(org.sim.token_requests().len(), 2, "one renewal");
    let shown = rig.integration().await.unwrap().to_string();
    for part in ["d", "p", "q"] {
        if let Some(secret) = private[part].as_str() {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
}

#[tokio::test]
async fn a_page_that_repeats_is_not_followed_forever() {
    let org = Org::start(Vec::new());
    // Where the second page is, as the connector itself sees it, and the first page's users.
    let direct = OktaConnector::from_context(
        context(
            &org.base(),
            TOKEN,
            json!({"enrich": []}),
            Arc::new(gatehouse_core::SystemClock),
        ),
        policy(),
    )
    .unwrap();
    let first = direct.users_page(PullMode::Full, None).await.unwrap();
    let second = first.next_cursor.clone().unwrap();
    let page: Vec<Value> = first
        .items
        .iter()
        .map(|u| org.sim.user_json(&u.external_id).unwrap())
        .collect();
    org.sim.clear_calls();

    // The second page's URL answers the first page again, linking to itself.
    let rig = org.rig().await;
    let again = CannedResponse::json(200, &Value::Array(page))
        .header("link", format!("<{second}>; rel=\"next\""));
    let error = org
        .pull_with_second_page(&rig, Fault::respond(again, 50))
        .await;
    let asked = org
        .calls_to_users()
        .iter()
        .filter(|c| second.ends_with(c.0.as_deref().unwrap_or("-")))
        .count();
    assert_eq!(asked, 1, "the repeated page was read again: {error}");
    resumes_after(&org, &rig, &["repeat"]).await;
}

#[tokio::test]
async fn okta_slow_for_minutes() {
    let org = Org::start(Vec::new());
    let rig = org.rig().await;
    // Slow, but within the client's timeout: every page waits, the pull still completes.
    org.sim.inject_on(USERS, Fault::delay(TIMEOUT / 4, 100));
    rig.pull_ok(JOB).await.unwrap();
    rig.assert_each_once(&org.all_ids()).await.unwrap();
    org.sim.clear_faults();

    // Slower than the timeout for longer than a run (a stand-in for minutes): each run fails
    // cleanly within its retries and stores nothing twice, and the first run after the org
    // answers again completes.
    let rig = org.rig().await;
    org.pull_with_second_page(&rig, Fault::delay(TIMEOUT * 2, 1_000))
        .await;
    let again = rig.pull_err(JOB).await.unwrap();
    assert!(again.contains("unavailable"), "{again}");
    resumes_after(&org, &rig, &["unavailable"]).await;
}
