//! Alert outputs: the OCSF Detection Finding and the ECS alert built from replayed detections.

use gatehouse_core::model::Severity;
use gatehouse_core::UserId;
use gatehouse_risk::ocsf;
use serde_json::json;

use super::support::{chronological, load, replay};

#[test]
fn ocsf_detection_finding_shape() {
    let l = load("success_after_attack");
    let d = replay(&l, &chronological(&l))
        .detections
        .into_iter()
        .find(|d| {
            d.kind == "success_after_attack"
                && d.user_id.as_ref().map(UserId::as_str) == Some("usr_jane")
        })
        .unwrap();
    let jane = l
        .users
        .iter()
        .find(|u| u.id.as_str() == "usr_jane")
        .unwrap();
    let v = ocsf::detection_finding(&d, Some(jane), "Gatehouse");
    assert_eq!(v["class_uid"], 2004);
    assert_eq!(v["category_uid"], 2);
    assert_eq!(v["severity_id"], 5);
    assert_eq!(v["severity"], "Critical");
    let activity = v["activity_id"].as_u64().unwrap();
    assert!(activity == 1 || activity == 2);
    assert_eq!(v["type_uid"].as_u64().unwrap(), 200_400 + activity);
    assert_eq!(v["time"], d.updated_at.timestamp_millis());
    assert_eq!(v["metadata"]["version"], "1.1.0");
    assert_eq!(v["metadata"]["product"]["name"], "Gatehouse");
    assert_eq!(v["metadata"]["product"]["vendor_name"], "Gatehouse");
    let info = &v["finding_info"];
    assert_eq!(info["uid"], d.id.as_str());
    assert_eq!(info["title"], "Successful sign-in after an attack");
    assert_eq!(info["desc"], d.explanation.as_str());
    assert_eq!(info["types"], json!(["success_after_attack"]));
    assert_eq!(info["first_seen_time"], d.first_seen.timestamp_millis());
    assert_eq!(info["last_seen_time"], d.last_seen.timestamp_millis());
    assert_eq!(v["evidences"].as_array().unwrap().len(), d.evidence.len());
    assert_eq!(
        v["evidences"][0]["data"]["sign_in_id"],
        d.evidence[0].as_str()
    );
    assert_eq!(v["resources"][0]["uid"], "usr_jane");
    assert_eq!(v["actor"]["user"]["name"], "jane@example.com");
    assert_eq!(v["actor"]["user"]["email_addr"], "jane@example.com");
    // A fresh detection is a Create.
    let mut fresh = d.clone();
    fresh.updated_at = fresh.created_at;
    let v = ocsf::detection_finding(&fresh, None, "Gatehouse");
    assert_eq!(v["activity_id"], 1);
    assert_eq!(v["type_uid"], 200_401);
    assert!(v.get("actor").is_none());
    let severities: Vec<u8> = [
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ]
    .into_iter()
    .map(ocsf::severity_id)
    .collect();
    assert_eq!(severities, vec![2, 3, 4, 5]);
}

#[test]
fn ecs_alert_shape() {
    let l = load("password_spray");
    let d = replay(&l, &chronological(&l)).detections.remove(0);
    let v = ocsf::ecs(&d, None, Some("203.0.113.66"));
    assert_eq!(v["event"]["kind"], "alert");
    assert_eq!(v["event"]["category"], json!(["authentication"]));
    assert_eq!(v["rule"]["name"], "password_spray");
    assert_eq!(v["source"]["ip"], "203.0.113.66");
    assert_eq!(v["event"]["severity"], 73);
    assert!(v.get("user").is_none(), "an IP detection has no user");
    let l = load("brute_force");
    let d = replay(&l, &chronological(&l)).detections.remove(0);
    let jane = l
        .users
        .iter()
        .find(|u| u.id.as_str() == "usr_jane")
        .unwrap();
    let v = ocsf::ecs(&d, Some(jane), None);
    assert_eq!(v["user"]["name"], "jane@example.com");
    assert_eq!(v["user"]["email"], "jane@example.com");
    assert_eq!(v["user"]["id"], "usr_jane");
    assert!(v.get("source").is_none());
    assert_eq!(
        v["event"]["start"],
        json!(d
            .first_seen
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
    );
}
