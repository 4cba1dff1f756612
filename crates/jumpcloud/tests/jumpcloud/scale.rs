//! The connector at the sizes the JumpCloud issue names, against the simulator: a full pull of
//! 3,000 system users in pages of 100 while users are added and removed between pages and
//! 429s interrupt it, and 20,000 Directory Insights events read over several polls with the
//! persisted cursor, 429s and events reaching the log late. What is checked is what the engine
//! relies on: every user present throughout a pass is returned once, and every event is
//! returned, any repeat being a re-read of the overlap window that the engine's id dedupe absorbs.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use gatehouse_connect::{Backoff, RetryPolicy};
use gatehouse_core::provider::Connector;
use gatehouse_core::records::PullMode;
use gatehouse_idp_sim::jumpcloud::{
    Churn, Fault, JumpCloudConfig, JumpCloudSim, NewLogin, NewUser,
};
use gatehouse_jumpcloud::{JumpCloudConnector, SigninCursor, OVERLAP_MINUTES};
use serde_json::json;

use super::sim::{connector_with, start};

/// Retries as the default policy does, with millisecond waits: the 429s are injected, so
/// waiting as long as for a real quota would only slow the test.
fn quick_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 6,
        backoff: Backoff {
            base: Duration::from_millis(5),
            max: Duration::from_millis(50),
            factor: 2.0,
        },
        max_wait: Duration::from_secs(1),
    }
}

fn connector(sim: &JumpCloudSim, base: &str) -> JumpCloudConnector {
    connector_with(
        base,
        json!({"api_key": sim.config().api_key}),
        quick_retries(),
    )
}

/// 429s the simulator answered on paths starting with `prefix`.
fn served_429(sim: &JumpCloudSim, prefix: &str) -> usize {
    sim.calls()
        .iter()
        .filter(|c| c.status == 429 && c.path.starts_with(prefix))
        .count()
}

fn new_users(prefix: &str, count: usize) -> Vec<NewUser> {
    (0..count)
        .map(|i| NewUser {
            username: Some(format!("{prefix}.{i}")),
            ..NewUser::default()
        })
        .collect()
}

#[tokio::test]
async fn a_full_pull_of_3000_users_under_churn_and_429s_returns_each_survivor_once() {
    let (sim, base) = start(JumpCloudConfig {
        users: 3_000,
        groups: 0,
        events: 0,
        ..JumpCloudConfig::default()
    });
    let c = connector(&sim, &base);
    let before: HashSet<String> = sim.user_ids().into_iter().collect();
    // Churn runs right after the n-th list request is answered (re-reads count, 429s do not).
    // Positions are in `_id` order at that moment; each case hits another way paging by offset
    // goes wrong.
    let removals = [
        // Not read yet: these are never returned.
        (2, 150, 5),
        // Already returned, more than the overlap re-reads: the window steps back a page.
        (4, 30, 25),
        // Straddling the next page's offset.
        (9, 895, 4),
        // More than two pages of returned users at once: the window steps back several pages.
        (12, 0, 230),
        (20, 1_500, 7),
    ];
    for (n, at, count) in removals {
        sim.churn_after(n, Churn::RemoveAt { at, count });
    }
    // New users get the newest ids, so they land at the end of the list.
    let (early, late) = (new_users("joined.early", 20), new_users("joined.late", 5));
    let joining = early.len() + late.len();
    sim.churn_after(7, Churn::Add(early));
    sim.churn_after(15, Churn::Add(late));
    // Two users near the end that the pass has not reached yet leave.
    let leaving: Vec<String> = sim.user_ids()[2_990..2_992].to_vec();
    sim.churn_after(16, Churn::Remove(leaving.clone()));

    let mut returned: Vec<String> = Vec::new();
    let mut cursor: Option<String> = None;
    let mut injected = 0;
    let mut pages = 0;
    let sync_state = loop {
        if pages % 4 == 1 {
            // Bursts of 429 between pages, each under the retry budget of one call.
            sim.inject_on("/api/systemusers", Fault::burst_429(2));
            injected += 2;
        }
        let page = c
            .users_page(PullMode::Full, cursor.as_deref())
            .await
            .unwrap();
        pages += 1;
        returned.extend(page.items.into_iter().map(|u| u.external_id));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break page.sync_state,
        }
    };
    assert!(sync_state.is_some(), "a complete pass hands over its state");

    let now: HashSet<String> = sim.user_ids().into_iter().collect();
    let removed = before.difference(&now).count();
    let planned: usize = removals.iter().map(|(_, _, count)| count).sum::<usize>() + leaving.len();
    assert_eq!(removed, planned, "every removal ran during the pass");
    let added: HashSet<&String> = now.difference(&before).collect();
    assert_eq!(added.len(), joining, "every addition ran during the pass");

    let mut times: HashMap<&str, usize> = HashMap::new();
    for id in &returned {
        *times.entry(id.as_str()).or_default() += 1;
    }
    let doubled: Vec<_> = times.iter().filter(|(_, n)| **n > 1).collect();
    assert!(doubled.is_empty(), "returned more than once: {doubled:?}");
    let missed: Vec<&String> = before
        .intersection(&now)
        .filter(|id| !times.contains_key(id.as_str()))
        .collect();
    assert!(
        missed.is_empty(),
        "{} users present throughout were missed, among them {:?}",
        missed.len(),
        &missed[..missed.len().min(5)]
    );
    for id in &added {
        assert!(times.contains_key(id.as_str()), "new user {id} was missed");
    }
    assert!(
        returned
            .iter()
            .all(|id| before.contains(id) || now.contains(id)),
        "a returned id never existed"
    );
    for id in &leaving {
        assert!(
            !times.contains_key(id.as_str()),
            "{id} left before it was reached"
        );
    }

    // The faults were served and retried, and the window did step back past removals.
    assert_eq!(served_429(&sim, "/api/systemusers"), injected);
    let skips: Vec<usize> = sim
        .calls()
        .iter()
        .filter(|c| c.path == "/api/systemusers" && c.status == 200)
        .filter_map(|c| {
            c.query
                .as_deref()?
                .split('&')
                .find_map(|p| p.strip_prefix("skip="))?
                .parse()
                .ok()
        })
        .collect();
    assert!(
        skips.windows(2).any(|w| w[1] < w[0]),
        "the window never stepped back: {skips:?}"
    );
    assert!(pages >= 28, "pages of 100: {pages}");
}

/// One poll of Directory Insights as the daemon runs it: pages until the round is caught up,
/// each from the cursor stored after the last. A new connector per poll: all that carries over
/// is the cursor text. Stops early after `stop_after` pages (the daemon stopped mid-round).
struct Poll {
    events: Vec<(String, DateTime<Utc>)>,
    cursor: Option<String>,
    pages: usize,
    caught_up: bool,
}

async fn poll(
    sim: &JumpCloudSim,
    base: &str,
    cursor: Option<String>,
    stop_after: Option<usize>,
    injected: &mut usize,
) -> Poll {
    let c = connector(sim, base);
    let mut out = Poll {
        events: Vec::new(),
        cursor,
        pages: 0,
        caught_up: false,
    };
    while stop_after.is_none_or(|n| out.pages < n) {
        if out.pages.is_multiple_of(4) {
            sim.inject_on("/insights/", Fault::burst_429(2));
            *injected += 2;
        }
        let page = c.signins_page(out.cursor.as_deref()).await.unwrap();
        out.pages += 1;
        out.events.extend(
            page.events
                .into_iter()
                .map(|e| (e.provider_event_id, e.time)),
        );
        out.cursor = page.next_cursor;
        if page.caught_up {
            out.caught_up = true;
            break;
        }
    }
    out
}

/// Sign-ins of every kind the connector maps, `count` of them from `from` on, `step` apart in
/// groups of three at the same millisecond (so pages end inside a group and `search_after`'s
/// tie-break by document matters), failures now and then.
fn signins(from: DateTime<Utc>, step: chrono::Duration, count: usize) -> Vec<NewLogin> {
    const KINDS: &[&str] = &[
        "user_login_attempt",
        "sso_auth",
        "radius_auth",
        "ldap_bind",
        "admin_login_attempt",
    ];
    (0..count)
        .map(|i| NewLogin {
            event_type: KINDS[i % KINDS.len()].into(),
            at: Some(from + step * (i / 3) as i32),
            success: i % 7 != 0,
            ..NewLogin::default()
        })
        .collect()
}

fn at(sim: &JumpCloudSim, minutes_ago: i64) -> DateTime<Utc> {
    sim.clock().now() - chrono::Duration::minutes(minutes_ago)
}

#[tokio::test]
async fn twenty_thousand_insights_events_over_polls_with_429s_and_late_arrivals_each_once() {
    let (sim, base) = start(JumpCloudConfig {
        users: 200,
        groups: 0,
        events: 0,
        event_lag: Duration::ZERO,
        ..JumpCloudConfig::default()
    });
    let overlap = chrono::Duration::minutes(OVERLAP_MINUTES);
    let ms = chrono::Duration::milliseconds;
    let mut expected: HashSet<String> = HashSet::new();
    let mut injected = 0;

    // The backlog: 12,000 sign-ins over the hour and a half before 20 minutes ago, and among
    // them 600 events the pull must not return (an admin's change maps to no sign-in; a device
    // login is in `systems`, a service the connector does not ask for).
    let backlog = sim.add_login_events(signins(at(&sim, 110), ms(1_350), 12_000));
    expected.extend(backlog.iter().cloned());
    let others: HashSet<String> = sim
        .add_login_events((0..600).map(|i| {
            NewLogin {
                event_type: if i % 2 == 0 {
                    "user_update"
                } else {
                    "login_attempt"
                }
                .into(),
                at: Some(at(&sim, 100) + ms(i * 7_900)),
                ..NewLogin::default()
            }
        }))
        .into_iter()
        .collect();
    // Late: they happened in the backlog's last minutes but reach the log half an hour later.
    let lagging = sim.add_login_events((0..300).map(|i| NewLogin {
        at: Some(at(&sim, 28) + ms(i * 1_300)),
        visible_after: Some(Duration::from_secs(30 * 60)),
        success: false,
        ..NewLogin::default()
    }));
    expected.extend(lagging.iter().cloned());

    // Poll 1 reads the backlog alone.
    let first = poll(&sim, &base, None, None, &mut injected).await;
    assert!(
        first.caught_up && first.pages >= 13,
        "pages: {}",
        first.pages
    );
    let ids: Vec<&String> = first.events.iter().map(|(id, _)| id).collect();
    let unique: HashSet<String> = ids.iter().map(|id| (*id).clone()).collect();
    assert_eq!(unique.len(), ids.len(), "a round returned an event twice");
    assert_eq!(unique, backlog.iter().cloned().collect::<HashSet<_>>());
    let watermark_1 = first.events.iter().map(|(_, t)| *t).max().unwrap();

    // Half an hour on, the lagging events are visible; more arrive late (before the
    // watermark, inside the overlap) and new ones come in.
    sim.advance(Duration::from_secs(30 * 60));
    let after_poll = sim.add_login_events((0..200).map(|i| NewLogin {
        at: Some(watermark_1 - ms(9 * 60_000) + ms(i * 2_400)),
        ..NewLogin::default()
    }));
    expected.extend(after_poll.iter().cloned());
    let fresh = sim.add_login_events(signins(watermark_1 + ms(1_000), ms(150), 5_000));
    expected.extend(fresh.iter().cloned());

    // Poll 2 stops after three pages (the daemon restarts mid-round). Meanwhile events arrive
    // just behind where the round stands, which this round will not go back for, and newer
    // ones, which it reaches.
    let second_a = poll(&sim, &base, first.cursor.clone(), Some(3), &mut injected).await;
    assert!(!second_a.caught_up, "three pages do not end the round");
    let stored = SigninCursor::parse(second_a.cursor.as_deref().unwrap(), "test").unwrap();
    let position = stored
        .round
        .as_ref()
        .and_then(|r| r.search_after.get(0))
        .and_then(|t| t.as_i64())
        .and_then(DateTime::<Utc>::from_timestamp_millis)
        .unwrap();
    let behind = sim.add_login_events((0..100).map(|i| NewLogin {
        at: Some(position - ms(60_000) + ms(i * 500)),
        success: false,
        ..NewLogin::default()
    }));
    expected.extend(behind.iter().cloned());
    let after_fresh = watermark_1 + ms(1_000) + ms(150) * (5_000 / 3 + 1);
    let newer = sim.add_login_events(signins(after_fresh, ms(180), 2_000));
    expected.extend(newer.iter().cloned());
    let second_b = poll(&sim, &base, second_a.cursor.clone(), None, &mut injected).await;
    assert!(second_b.caught_up);
    let second: Vec<(String, DateTime<Utc>)> = second_a
        .events
        .iter()
        .chain(&second_b.events)
        .cloned()
        .collect();
    let second_ids: HashSet<&String> = second.iter().map(|(id, _)| id).collect();
    assert_eq!(
        second_ids.len(),
        second.len(),
        "a round returned an event twice"
    );
    assert!(
        behind.iter().all(|id| !second_ids.contains(id)),
        "the round went back behind its own position"
    );

    // Poll 3 re-reads the overlap before the new watermark and finds the events left behind.
    let third = poll(&sim, &base, second_b.cursor.clone(), None, &mut injected).await;
    assert!(third.caught_up);

    // Across polls, deduplicated by id as the engine stores them: every sign-in once, nothing
    // else; and every repeat lies in the overlap window of the poll that repeated it.
    let polls = [first.events, second, third.events];
    let mut seen: HashMap<String, DateTime<Utc>> = HashMap::new();
    let mut repeats = 0;
    for events in &polls {
        let newest_before = seen.values().max().copied();
        for (id, time) in events {
            if seen.insert(id.clone(), *time).is_some() {
                repeats += 1;
                let floor = newest_before.unwrap() - overlap;
                assert!(
                    *time >= floor,
                    "{id} at {time} was read again from before the overlap ({floor})"
                );
            }
        }
    }
    assert!(repeats > 0, "the overlap was re-read");
    let got: HashSet<String> = seen.into_keys().collect();
    let missing: Vec<&String> = expected.difference(&got).collect();
    assert!(
        missing.is_empty(),
        "{} events missed: {missing:?}",
        missing.len()
    );
    assert!(
        got.is_disjoint(&others),
        "an event that is no sign-in came back"
    );
    assert_eq!(got.len(), expected.len());
    assert!(expected.len() + others.len() >= 20_000);
    assert_eq!(served_429(&sim, "/insights/"), injected);
}
