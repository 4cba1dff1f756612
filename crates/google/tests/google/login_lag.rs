//! 20,000 login activities (Reports API `activities.list`, `applicationName=login`) polled in
//! rounds with the connector's persisted cursor while Google's reporting lag holds some of them
//! back: activities that show only after the watermark has moved past their time (Google:
//! "Data retention and lag times", login events take hours, unevenly) must still be read,
//! and across the rounds every activity must come back, none invented, each re-read (the
//! overlap) identical to its first reading, so the engine's store-by-id keeps one of each.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use anyhow::{ensure, Context as _};
use chrono::{DateTime, Utc};
use gatehouse_core::provider::Connector;
use gatehouse_core::records::ProviderEvent;
use gatehouse_google::mapping::activity::map_fields;
use gatehouse_idp_sim::google::GoogleConfig;
use serde_json::{json, Value};

use crate::support::Workspace;

const HOUR: u64 = 3600;
const MINUTE: u64 = 60;

/// One round: pages until the connector says it caught up. Returns the events (each id at most
/// once: a round reads each activity once) and the cursor to persist.
async fn round(
    connector: &dyn Connector,
    cursor: Option<String>,
) -> anyhow::Result<(BTreeMap<String, ProviderEvent>, String)> {
    let mut events = BTreeMap::new();
    let mut cursor = cursor;
    for _ in 0..100 {
        let page = connector.signins_page(cursor.as_deref()).await?;
        for event in page.events {
            let id = event.provider_event_id.clone();
            ensure!(
                events.insert(id.clone(), event).is_none(),
                "{id} came twice within one round"
            );
        }
        cursor = Some(page.next_cursor.context("a login page without a cursor")?);
        if page.caught_up {
            return Ok((events, cursor.unwrap_or_default()));
        }
    }
    anyhow::bail!("the round did not end in 100 pages")
}

/// The watermark a persisted cursor holds.
fn watermark(cursor: &str) -> anyhow::Result<DateTime<Utc>> {
    let value: Value = serde_json::from_str(cursor)?;
    let text = value["watermark"].as_str().context("no watermark")?;
    Ok(DateTime::parse_from_rfc3339(text)?.to_utc())
}

fn time_of(time: &str) -> anyhow::Result<DateTime<Utc>> {
    Ok(DateTime::parse_from_rfc3339(time)?.to_utc())
}

/// The ids the connector gives the activities `(time, uniqueQualifier)` (logouts give none).
fn ids_of(all: &[Value], added: &[(String, String)]) -> BTreeSet<String> {
    let wanted: BTreeSet<(&str, &str)> = added
        .iter()
        .map(|(t, u)| (t.as_str(), u.as_str()))
        .collect();
    all.iter()
        .filter(|a| {
            wanted.contains(&(
                a["id"]["time"].as_str().unwrap_or_default(),
                a["id"]["uniqueQualifier"].as_str().unwrap_or_default(),
            ))
        })
        .flat_map(map_fields)
        .map(|e| e.provider_event_id)
        .collect()
}

#[tokio::test]
async fn twenty_thousand_lagging_logins_are_each_read_and_none_lost() -> anyhow::Result<()> {
    let workspace = Workspace::start(GoogleConfig {
        users: 300,
        groups: 0,
        activities: 0,
        reporting_lag: Duration::ZERO,
        rate_limit_per_minute: 1_000_000,
        user_rate_limit_per_minute: 1_000_000,
        ..GoogleConfig::default()
    })?;
    let sim = &workspace.sim;
    let shown = |age: u64, lag: u64, count| {
        sim.add_logins_visible_after(count, Duration::from_secs(age), Duration::from_secs(lag))
    };
    // Before the first round: most activities shown at once, some shown late but already
    // visible, and 2,000 from two hours ago that Google will show only in 30 minutes.
    let mut early = shown(3 * HOUR, 0, 12_000);
    early.extend(shown(150 * MINUTE, 2 * HOUR, 3_000));
    let held_back = shown(2 * HOUR, 150 * MINUTE, 2_000);
    early.extend(shown(HOUR, 0, 1_000));

    // The daemon persists the cursor text between polls; each round here is a new connector
    // (a restart) resuming from that text alone.
    let config = json!({"signin_lookback_hours": 24});
    let first = workspace.connector(config.clone())?;
    let (round1, cursor1) = round(&first, None).await?;
    drop(first);
    let all = sim.activities();
    let held_back_ids = ids_of(&all, &held_back);
    ensure!(
        round1.keys().all(|id| !held_back_ids.contains(id)),
        "an activity Google did not show yet was read"
    );
    ensure!(
        round1.keys().cloned().collect::<BTreeSet<_>>() == ids_of(&all, &early),
        "the first round did not read exactly what Google showed"
    );
    let mark = watermark(&cursor1)?;
    // The held-back activities are older than the watermark the first round left: the case
    // where Google's lag outruns the poll.
    for (time, _) in &held_back {
        ensure!(
            time_of(time)? < mark,
            "{time} is not behind the watermark {mark}"
        );
    }

    // Half an hour later the held-back activities show; more arrive, some again behind the
    // watermark (an hour and 14 minutes before it moves on).
    sim.advance(Duration::from_secs(31 * MINUTE));
    let mut late = shown(10 * MINUTE, 0, 1_500);
    let behind = shown(105 * MINUTE, 105 * MINUTE, 500);
    for (time, _) in &behind {
        ensure!(
            time_of(time)? < mark,
            "{time} is not behind the watermark {mark}"
        );
    }
    late.extend(behind);
    let second = workspace.connector(config.clone())?;
    let (round2, cursor2) = round(&second, Some(cursor1)).await?;
    drop(second);

    // A third round with nothing new: only re-reads.
    let third = workspace.connector(config)?;
    let (round3, _) = round(&third, Some(cursor2)).await?;

    let all = sim.activities();
    ensure!(all.len() == 20_000, "{} activities in the sim", all.len());
    let expected: BTreeSet<String> = all
        .iter()
        .flat_map(map_fields)
        .map(|e| e.provider_event_id)
        .collect();
    ensure!(
        expected.len() > 18_000,
        "only {} map to events",
        expected.len()
    );

    // What the engine stores: each id once, the first reading; a re-read must be identical.
    let mut stored: BTreeMap<String, ProviderEvent> = BTreeMap::new();
    let mut reread = 0usize;
    for events in [round1, round2, round3] {
        for (id, event) in events {
            match stored.get(&id) {
                Some(first) => {
                    ensure!(*first == event, "{id} read differently the second time");
                    reread += 1;
                }
                None => {
                    stored.insert(id, event);
                }
            }
        }
    }
    let stored_ids: BTreeSet<String> = stored.keys().cloned().collect();
    let lost: Vec<&String> = expected.difference(&stored_ids).take(5).collect();
    ensure!(
        lost.is_empty(),
        "{} activities never read, e.g. {lost:?}",
        expected.difference(&stored_ids).count()
    );
    let invented: Vec<&String> = stored_ids.difference(&expected).take(5).collect();
    ensure!(invented.is_empty(), "events Google never had: {invented:?}");
    ensure!(held_back_ids.iter().all(|id| stored.contains_key(id)));
    ensure!(ids_of(&all, &late).iter().all(|id| stored.contains_key(id)));
    // The rounds did overlap (that is how the lagging activities were caught).
    ensure!(reread > 0, "no round re-read its overlap");
    Ok(())
}
