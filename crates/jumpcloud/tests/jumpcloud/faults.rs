//! The fault matrix for JumpCloud (issue 23): one test per fault the simulated API can inject,
//! each driving full users pulls (`/api/systemusers`) through the engine of an in-process
//! daemon ([`gatehouse_testkit::faults::FaultRig`]) and checking that the pull recovers, or
//! fails cleanly with a `last_error` that names the fault and the next run resumes; that every
//! simulated user is stored exactly once; and that the API key never reaches the status.
//!
//! A fault meant for the middle of a pull: the first page is held at JumpCloud and the fault
//! queued while it is (JumpCloud pulls make no call before the first page, so the pull is
//! given a moment to reach it; in the rare run where it is later, the fault meets the first
//! page instead and the checks still hold).
//!
//! JumpCloud authenticates with an API key only, so there is no token to expire. The connector
//! is built with a one-second request timeout (its own is 60 s), so the faults that need a
//! call to time out take seconds.

use std::sync::Arc;
use std::time::Duration;

use gatehouse_connect::{Backoff, RetryPolicy};
use gatehouse_core::provider::{Connector, ConnectorFactory};
use gatehouse_idp_sim::jumpcloud::{
    CannedResponse, Fault, JumpCloudConfig, JumpCloudSim, RunningSim, Truncation,
};
use gatehouse_jumpcloud::JumpCloudConnector;
use gatehouse_testkit::faults::{BuildWith, FaultRig, SyncJob};
use serde_json::{json, Value};

const KEY: &str = "jcfaults0123456789SECRETabcdef0123456789";
const USERS: &str = "/api/systemusers";
const JOB: SyncJob = SyncJob::FullUsers;
const STATUS: &str = "full_users";
/// The simulated org's users, on the connector's pages of [`PAGE`]: two pages.
const COUNT: usize = 110;
const PAGE: usize = 100;
const ATTEMPTS: u32 = 3;
const ARM: Duration = Duration::from_millis(800);
/// Every call is given up after this (JumpCloud's own is 60 s): a provider that stops
/// answering is then seen in a second, not a minute.
const TIMEOUT: Duration = Duration::from_secs(1);

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
    sim: JumpCloudSim,
    running: RunningSim,
}

impl Org {
    fn start() -> Self {
        let sim = JumpCloudSim::new(JumpCloudConfig {
            api_key: KEY.into(),
            users: COUNT,
            groups: 0,
            events: 0,
            ..JumpCloudConfig::default()
        });
        let running = sim.spawn(([127, 0, 0, 1], 0).into()).unwrap();
        Self { sim, running }
    }

    async fn rig(&self) -> FaultRig {
        let factory = BuildWith::new(gatehouse_jumpcloud::Factory.descriptor(), |context| {
            let connector =
                JumpCloudConnector::from_context_with_timeout(context, policy(), TIMEOUT)?;
            Ok(Arc::new(connector) as Arc<dyn Connector>)
        });
        let config = json!({"base_url": self.running.base_url(), "ingest_signins": false});
        FaultRig::start(factory, "jumpcloud", json!({"api_key": KEY}), config)
            .await
            .unwrap()
    }

    fn users_calls(&self) -> Vec<(Option<String>, u16)> {
        self.sim
            .calls()
            .into_iter()
            .filter(|c| c.path == USERS)
            .map(|c| (c.query, c.status))
            .collect()
    }

    /// Runs a pull whose second page meets `fault`.
    async fn pull_with_second_page(&self, rig: &FaultRig, fault: Fault) -> String {
        self.sim.clear_calls();
        self.sim.inject_on(USERS, Fault::delay(ARM, 1));
        let (error, ()) = tokio::join!(rig.pull_err(JOB), async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            self.sim.inject_on(USERS, fault);
        });
        error.unwrap()
    }

    /// The pull failed cleanly: nothing or its first page stored, the status naming the fault;
    /// the fault gone, the next run resumes and every user is stored once.
    async fn resumes(&self, rig: &FaultRig, names: &[&str]) -> String {
        let error = rig.assert_failed_with(STATUS, names, &[KEY]).await.unwrap();
        let stored = rig.stored_external_ids().await.unwrap();
        assert!(
            stored.is_empty() || stored.len() == PAGE,
            "{}",
            stored.len()
        );
        self.sim.clear_faults();
        let resumed = rig.pull_ok(JOB).await.unwrap();
        let expected = self.sim.user_ids();
        rig.assert_each_once(&expected).await.unwrap();
        // The next run read on from where the failed one stopped, not from the start.
        assert_eq!(stored.len() as u64 + resumed, expected.len() as u64);
        rig.assert_succeeded(STATUS).await.unwrap();
        error
    }

    /// Fewer faults than attempts: retried, the pull completes with every user once.
    async fn recovers(&self, fault: Fault) {
        let rig = self.rig().await;
        self.sim.inject_on(USERS, fault);
        rig.pull_ok(JOB).await.unwrap();
        rig.assert_each_once(&self.sim.user_ids()).await.unwrap();
        rig.assert_succeeded(STATUS).await.unwrap();
    }
}

#[tokio::test]
async fn rate_limit_429() {
    let org = Org::start();
    org.recovers(Fault::burst_429(ATTEMPTS - 1)).await;
    let statuses: Vec<u16> = org.users_calls().iter().map(|c| c.1).collect();
    assert_eq!(&statuses[..3], &[429, 429, 200]);
    // With the Retry-After JumpCloud does not document, too.
    let canned = CannedResponse::json(429, &json!({"message": "Too Many Requests"}))
        .header("retry-after", "0");
    org.recovers(Fault::respond(canned, ATTEMPTS - 1)).await;
    let rig = org.rig().await;
    org.pull_with_second_page(&rig, Fault::burst_429(ATTEMPTS))
        .await;
    org.resumes(&rig, &["rate limit"]).await;
}

#[tokio::test]
async fn server_errors_500_502_503() {
    for status in [500, 502, 503] {
        let org = Org::start();
        org.recovers(Fault::status(status, ATTEMPTS - 1)).await;
        let rig = org.rig().await;
        org.pull_with_second_page(&rig, Fault::status(status, ATTEMPTS))
            .await;
        org.resumes(&rig, &[&status.to_string()]).await;
    }
}

#[tokio::test]
async fn timeout_when_jumpcloud_does_not_answer_in_time() {
    let org = Org::start();
    org.recovers(Fault::delay(TIMEOUT * 3, ATTEMPTS - 1)).await;
}

#[tokio::test]
async fn connection_reset_mid_body() {
    let org = Org::start();
    org.sim.inject_on(USERS, Fault::reset(1));
    org.recovers(Fault::truncate(Truncation::ContentLengthTooLong, 1))
        .await;
    let rig = org.rig().await;
    org.pull_with_second_page(
        &rig,
        Fault::truncate(Truncation::ContentLengthTooLong, ATTEMPTS),
    )
    .await;
    org.resumes(&rig, &["reset", "body", "connection"]).await;
}

#[tokio::test]
async fn truncated_json_page() {
    let org = Org::start();
    org.recovers(Fault::truncate(Truncation::CutJson, ATTEMPTS - 1))
        .await;
    let rig = org.rig().await;
    org.pull_with_second_page(&rig, Fault::truncate(Truncation::CutJson, ATTEMPTS))
        .await;
    org.resumes(&rig, &["not json", "incomplete"]).await;
}

/// Whatever `skip` is asked, JumpCloud answers the first page again: every user on it is
/// already returned. The connector used to drop them all and move its offset on as if it had
/// read a new page, for as long as the provider repeated itself; the pull now fails naming
/// the repeat, and the next run resumes where it was.
#[tokio::test]
async fn a_page_that_repeats_is_not_taken_for_the_next() {
    let org = Org::start();
    let first: Vec<Value> = org.sim.user_ids()[..PAGE]
        .iter()
        .map(|id| org.sim.user(id).unwrap())
        .collect();
    let again = CannedResponse::json(200, &json!({"totalCount": COUNT, "results": first}));
    let rig = org.rig().await;
    let outcome = {
        org.sim.clear_calls();
        org.sim.inject_on(USERS, Fault::delay(ARM, 1));
        let (outcome, ()) = tokio::join!(rig.pull(JOB), async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            org.sim.inject_on(USERS, Fault::respond(again, 50));
        });
        outcome.unwrap()
    };
    assert!(
        outcome.is_err(),
        "the pull took the repeated page: {outcome:?} {:?}",
        org.users_calls()
    );
    org.resumes(&rig, &["repeat"]).await;
}

#[tokio::test]
async fn jumpcloud_slow_but_answering() {
    let org = Org::start();
    // Every call slow (well inside the timeout): the pull waits and completes.
    org.recovers(Fault::delay(Duration::from_millis(300), 100))
        .await;
}

#[tokio::test]
async fn jumpcloud_slower_than_the_timeout_for_minutes() {
    let org = Org::start();
    let rig = org.rig().await;
    org.pull_with_second_page(&rig, Fault::delay(TIMEOUT * 3, 1_000))
        .await;
    org.resumes(&rig, &["unavailable"]).await;
}
