//! Arrival does not matter: reversed, shuffled and repeated delivery give the same detections,
//! a late earlier success retracts what it disproves, and the context lists given to `assess`
//! may be loose, unsorted and duplicated.

use gatehouse_core::model::SignInEvent;
use gatehouse_core::{SignInId, UserId};
use gatehouse_risk::{assess, Context};

use super::support::{all_fixtures, chronological, load, normalized, replay, SplitMix};

#[test]
fn delivery_order_does_not_change_the_detections() {
    for name in all_fixtures() {
        let l = load(&name);
        let expected = normalized(&replay(&l, &chronological(&l)).detections);
        let mut reversed = chronological(&l);
        reversed.reverse();
        assert_eq!(
            normalized(&replay(&l, &reversed).detections),
            expected,
            "{name}: reversed delivery"
        );
        for seed in [1_u64, 7, 42, 1337, 2026, 65_537] {
            let mut order = chronological(&l);
            SplitMix(seed).shuffle(&mut order);
            assert_eq!(
                normalized(&replay(&l, &order).detections),
                expected,
                "{name}: shuffled with seed {seed}"
            );
        }
    }
}

#[test]
fn replaying_the_same_events_again_changes_nothing() {
    let l = load("burst_one_detection");
    let order = chronological(&l);
    let mut twice = order.clone();
    twice.extend(order.iter().copied());
    // The second pass stores duplicates of the same ids: the views dedupe them and merges add
    // nothing, so the result is the same.
    assert_eq!(
        normalized(&replay(&l, &twice).detections),
        normalized(&replay(&l, &order).detections)
    );
}

#[test]
fn a_late_earlier_success_retracts_new_country_and_dormancy() {
    // dormant_account_near_miss holds bob's successes at day -120, -50 and 0. Delivered with the
    // middle one last, day 0 first looks dormant, then is cleared.
    let l = load("dormant_account_near_miss");
    let bob: Vec<usize> = (0..l.events.len())
        .filter(|i| l.events[*i].user_id.as_ref().map(UserId::as_str) == Some("usr_bob"))
        .collect();
    assert_eq!(bob.len(), 3);
    let mut by_time = bob.clone();
    by_time.sort_by_key(|i| l.events[*i].time);
    let order = vec![by_time[0], by_time[2], by_time[1]];
    let partial = replay(&l, &order[..2]);
    assert_eq!(
        partial.detections.len(),
        1,
        "day 0 looks dormant before day -50 arrives"
    );
    assert_eq!(partial.detections[0].kind, "dormant_account");
    let full = replay(&l, &order);
    assert!(
        full.detections.is_empty(),
        "{:#?}",
        normalized(&full.detections)
    );
}

#[test]
fn context_lists_may_be_loose_unsorted_and_duplicated() {
    let l = load("brute_force");
    let config = &l.config;
    let trigger = l.events.iter().max_by_key(|e| e.time).unwrap();
    let mut noisy: Vec<SignInEvent> = l.events.clone();
    noisy.reverse();
    noisy.extend(l.events.iter().cloned());
    // Another account's failures in the account list must not count.
    let mut stranger = l.events[0].clone();
    stranger.id = SignInId::parse("sin_stranger").unwrap();
    stranger.user_id = UserId::parse("usr_other");
    noisy.push(stranger);
    let ctx = |events: &[SignInEvent]| {
        let c = Context {
            trigger,
            account_events: events,
            ip_events: &[],
            session_events: &[],
            identity_successes: &[],
            account: None,
            recent_attacks: &[],
            history_start: None,
            config,
        };
        assess(&c).findings
    };
    let clean = ctx(&l.events);
    let loose = ctx(&noisy);
    assert_eq!(clean, loose);
    assert_eq!(clean.len(), 1);
    assert_eq!(clean[0].evidence.len(), 10);
    assert_eq!(clean[0].subject, "account:usr_jane");
}
