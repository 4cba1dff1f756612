//! A directory pull of 3,000 users in pages of 500 (`users.list`, `maxResults=500`) through
//! Google's quota errors: 429 `rateLimitExceeded` with and without `Retry-After`, and the
//! Admin SDK's 403 `rateLimitExceeded` and `userRateLimitExceeded`, which Google documents as
//! "back off exponentially and retry" (Directory API "Limits and quotas"), not as a refusal.
//! Every page call must come back with its page: the errors are waited out inside the
//! connector, each user is returned exactly once, and the waits are the ones asked for.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{ensure, Context as _};
use chrono::DateTime;
use gatehouse_core::provider::Connector;
use gatehouse_core::records::PullMode;
use gatehouse_idp_sim::google::{
    CannedResponse, Fault, GoogleConfig, GoogleSim, QuotaError, RecordedCall,
};
use serde_json::json;

use crate::support::{quick_retries, Workspace};

const USERS: &str = "/admin/directory/v1/users";

/// What is injected before each page is asked for (page 1 first), and how long the connector
/// must at least wait after each injected answer.
fn faults_by_page() -> Vec<Vec<(Fault, Duration)>> {
    let backoff = quick_retries().backoff;
    // Equal jitter: the n-th consecutive wait is at least half of the n-th ceiling.
    let least = |attempt: u32| backoff.ceiling(attempt) / 2;
    // Google sends no Retry-After on quota errors, but a 429 that carries one is obeyed.
    let retry_after = Fault::respond(
        CannedResponse {
            headers: vec![("retry-after".into(), "1".into())],
            ..quota_body(QuotaError::RateLimit429)
        },
        1,
    );
    vec![
        vec![(retry_after, Duration::from_secs(1))],
        vec![
            (
                GoogleSim::quota_fault(QuotaError::UserRateLimit403, 1),
                least(0),
            ),
            (
                GoogleSim::quota_fault(QuotaError::UserRateLimit403, 1),
                least(1),
            ),
        ],
        vec![(
            GoogleSim::quota_fault(QuotaError::RateLimit403, 1),
            least(0),
        )],
        vec![],
        vec![
            // The 429 is retried by the HTTP client, the 403s by the connector: each counts
            // its own attempts.
            (
                GoogleSim::quota_fault(QuotaError::RateLimit429, 1),
                least(0),
            ),
            (
                GoogleSim::quota_fault(QuotaError::RateLimit403, 1),
                least(0),
            ),
            (
                GoogleSim::quota_fault(QuotaError::UserRateLimit403, 1),
                least(1),
            ),
        ],
        vec![(
            GoogleSim::quota_fault(QuotaError::UserRateLimit403, 1),
            least(0),
        )],
    ]
}

/// The canned answer inside a quota fault.
fn quota_body(kind: QuotaError) -> CannedResponse {
    match GoogleSim::quota_fault(kind, 1) {
        Fault::Respond { response, .. } => response,
        _ => CannedResponse::json(500, &json!({})),
    }
}

fn at(call: &RecordedCall) -> anyhow::Result<DateTime<chrono::Utc>> {
    Ok(DateTime::parse_from_rfc3339(&call.at)
        .with_context(|| format!("call time {}", call.at))?
        .to_utc())
}

#[tokio::test]
async fn three_thousand_users_through_429_and_403_quota_errors() -> anyhow::Result<()> {
    let workspace = Workspace::start(GoogleConfig {
        users: 3_000,
        groups: 0,
        activities: 0,
        call_log_capacity: 100_000,
        ..GoogleConfig::default()
    })?;
    let sim = &workspace.sim;
    let connector = workspace.connector(json!({}))?;
    let plan = faults_by_page();

    let mut users = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        for (fault, _) in plan.get(pages).into_iter().flatten() {
            sim.inject_on(USERS, fault.clone());
        }
        let page = connector
            .users_page(PullMode::Full, cursor.as_deref())
            .await
            .with_context(|| format!("page {} through its quota errors", pages + 1))?;
        pages += 1;
        ensure!(page.items.len() <= 500, "a page of {}", page.items.len());
        users.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    ensure!(
        pages == 6,
        "3,000 users in pages of 500 are 6 pages, not {pages}"
    );

    // Every user exactly once.
    let ids: Vec<String> = users.iter().map(|u| u.external_id.clone()).collect();
    let unique: BTreeSet<&String> = ids.iter().collect();
    ensure!(unique.len() == ids.len(), "a user came twice");
    let expected: BTreeSet<String> = sim.user_ids().into_iter().collect();
    ensure!(expected.len() == 3_000);
    ensure!(
        unique.into_iter().cloned().collect::<BTreeSet<_>>() == expected,
        "the pulled users are not the directory's"
    );

    // Each injected error was answered and followed by a retry no sooner than it asked for.
    let calls: Vec<RecordedCall> = sim
        .calls()
        .into_iter()
        .filter(|c| c.path == USERS)
        .collect();
    let waits: Vec<Duration> = plan.iter().flatten().map(|(_, wait)| *wait).collect();
    let errors: Vec<(usize, &RecordedCall)> = calls
        .iter()
        .enumerate()
        .filter(|(_, c)| c.status != 200)
        .collect();
    ensure!(
        errors.len() == waits.len(),
        "{} errors answered, {} injected: {calls:?}",
        errors.len(),
        waits.len()
    );
    ensure!(
        calls.iter().filter(|c| c.status == 200).count() == 6,
        "one successful call per page: {calls:?}"
    );
    for ((index, error), least) in errors.into_iter().zip(waits) {
        ensure!(
            [403, 429].contains(&error.status),
            "an injected quota error: {error:?}"
        );
        let retry = calls
            .get(index + 1)
            .with_context(|| format!("no retry after {error:?}"))?;
        // The retry asks for the same page.
        ensure!(retry.query == error.query, "{retry:?} after {error:?}");
        // Call times are written to the millisecond: allow for the rounding.
        let waited = (at(retry)? - at(error)?).to_std()? + Duration::from_millis(2);
        ensure!(
            waited >= least,
            "waited {waited:?} after a {} (at least {least:?} asked for)",
            error.status
        );
    }
    Ok(())
}
