//! Every fixture against the replay: what fires and nothing else, a firing fixture and a near
//! miss for every kind, evidence that names real events, and the kinds with their own rules
//! (one burst is one detection, MFA fatigue is High only when a success follows).

use std::collections::BTreeMap;

use gatehouse_core::model::{Detection, Severity};
use gatehouse_core::{SignInId, UserId};
use gatehouse_risk::Kind;

use super::support::{all_fixtures, chronological, load, normalized, replay, Loaded, Replay};

fn check_expectations(l: &Loaded, replay: &Replay) {
    let name = &l.name;
    let got = &replay.detections;
    assert_eq!(
        got.len(),
        l.scenario.expect.len(),
        "{name} ({}): expected {} detections, got:\n{:#?}",
        l.scenario.description,
        l.scenario.expect.len(),
        normalized(got)
    );
    for want in &l.scenario.expect {
        let mut evidence = want.evidence.clone();
        evidence.sort();
        let found = got.iter().find(|d| {
            d.kind == want.kind
                && d.evidence.iter().map(SignInId::as_str).collect::<Vec<_>>() == evidence
        });
        let Some(d) = found else {
            panic!(
                "{name}: no {} detection with evidence {evidence:?}; got:\n{:#?}",
                want.kind,
                normalized(got)
            );
        };
        assert_eq!(d.severity, want.severity, "{name}: {} severity", want.kind);
        assert_eq!(
            d.user_id.as_ref().map(UserId::as_str),
            want.user_id.as_deref(),
            "{name}: {} user",
            want.kind
        );
        for part in &want.explanation {
            assert!(
                d.explanation.contains(part.as_str()),
                "{name}: {:?} lacks {part:?}",
                d.explanation
            );
        }
        for part in &want.finding {
            assert!(
                replay
                    .findings
                    .iter()
                    .any(|f| f.kind.as_str() == want.kind && f.explanation.contains(part.as_str())),
                "{name}: no {} finding explains {part:?}; findings: {:#?}",
                want.kind,
                replay
                    .findings
                    .iter()
                    .filter(|f| f.kind.as_str() == want.kind)
                    .map(|f| &f.explanation)
                    .collect::<Vec<_>>()
            );
        }
    }
}

#[test]
fn every_fixture_yields_exactly_its_expected_detections() {
    let names = all_fixtures();
    assert!(names.len() >= 26, "fixtures missing: {names:?}");
    for name in names {
        let l = load(&name);
        let replay = replay(&l, &chronological(&l));
        check_expectations(&l, &replay);
    }
}

#[test]
fn every_kind_has_a_firing_fixture_and_a_near_miss() {
    for kind in Kind::ALL {
        let fires = load(kind.as_str());
        assert!(
            fires
                .scenario
                .expect
                .iter()
                .any(|e| e.kind == kind.as_str()),
            "{kind}.json must expect a {kind} detection"
        );
        let near = load(&format!("{kind}_near_miss"));
        assert!(
            near.scenario.expect.iter().all(|e| e.kind != kind.as_str()),
            "{kind}_near_miss.json must not expect a {kind} detection"
        );
        // The near miss exercises the detection: it has events the detection looks at.
        assert!(!near.events.is_empty());
    }
}

#[test]
fn one_burst_is_one_detection() {
    let l = load("burst_one_detection");
    let replay = replay(&l, &chronological(&l));
    let brute: Vec<&Detection> = replay
        .detections
        .iter()
        .filter(|d| d.kind == "brute_force")
        .collect();
    // Two bursts, 30 min apart: two detections, the first with all 25 failures.
    assert_eq!(brute.len(), 2);
    assert!(brute.iter().any(|d| d.evidence.len() == 25));
    // Many findings were produced (one per failure past the threshold) and merged.
    assert!(
        replay
            .findings
            .iter()
            .filter(|f| f.kind == Kind::BruteForce)
            .count()
            > 10
    );
}

#[test]
fn mfa_fatigue_is_high_only_when_a_success_follows() {
    let medium = load("mfa_fatigue");
    let d = replay(&medium, &chronological(&medium)).detections;
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].severity, Severity::Medium);
    let high = load("mfa_fatigue_success");
    let d = replay(&high, &chronological(&high)).detections;
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].severity, Severity::High);
    assert!(d[0].explanation.contains("succeeded after the denials"));
}

#[test]
fn fixtures_use_the_events_they_name() {
    // Evidence ids in expectations must exist, so a typo cannot make a test vacuous.
    for name in all_fixtures() {
        let l = load(&name);
        let ids: BTreeMap<&str, ()> = l.events.iter().map(|e| (e.id.as_str(), ())).collect();
        for want in &l.scenario.expect {
            for id in &want.evidence {
                assert!(
                    ids.contains_key(id.as_str()),
                    "{name}: unknown evidence {id}"
                );
            }
        }
    }
}
