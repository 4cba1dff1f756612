//! Alert documents for SIEMs: an OCSF 1.1 Detection Finding and an ECS-shaped alert.

use gatehouse_core::model::{Detection, Severity, User};
use serde_json::{json, Map, Value};

use crate::kind::Kind;

/// OCSF Detection Finding (class 2004 in category 2, Findings).
pub const CLASS_UID: u32 = 2004;
pub const CATEGORY_UID: u32 = 2;
pub const OCSF_VERSION: &str = "1.1.0";
const VENDOR: &str = "Gatehouse";

/// OCSF `severity_id`: 2 Low, 3 Medium, 4 High, 5 Critical.
pub fn severity_id(severity: Severity) -> u8 {
    match severity {
        Severity::Low => 2,
        Severity::Medium => 3,
        Severity::High => 4,
        Severity::Critical => 5,
    }
}

fn severity_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Low => "Low",
        Severity::Medium => "Medium",
        Severity::High => "High",
        Severity::Critical => "Critical",
    }
}

fn title(detection: &Detection) -> String {
    Kind::parse(&detection.kind).map_or_else(|| detection.kind.clone(), |k| k.title().to_owned())
}

/// OCSF `user` object fields of an account.
fn ocsf_user(user: &User) -> Value {
    let mut out = Map::new();
    out.insert("uid".into(), json!(user.id));
    out.insert("name".into(), json!(user.login));
    if let Some(email) = &user.email {
        out.insert("email_addr".into(), json!(email));
    }
    if let Some(name) = &user.display_name {
        out.insert("full_name".into(), json!(name));
    }
    out.insert("uid_alt".into(), json!(user.external_id));
    out.insert(
        "type".into(),
        json!(if user.is_admin { "Admin" } else { "User" }),
    );
    out.insert("type_id".into(), json!(if user.is_admin { 2 } else { 1 }));
    Value::Object(out)
}

/// The detection as an OCSF 1.1.0 Detection Finding. `activity_id` is 1 (Create) for a detection
/// never updated and 2 (Update) after a merge; `time` is when it was last written, in ms.
pub fn detection_finding(detection: &Detection, user: Option<&User>, product: &str) -> Value {
    let activity_id: u32 = if detection.updated_at > detection.created_at {
        2
    } else {
        1
    };
    let ms = |t: chrono::DateTime<chrono::Utc>| t.timestamp_millis();
    let evidences: Vec<Value> = detection
        .evidence
        .iter()
        .map(|id| json!({ "data": { "sign_in_id": id } }))
        .collect();
    let mut resource = Map::new();
    resource.insert("type".into(), json!("User"));
    match user {
        Some(user) => {
            resource.insert("uid".into(), json!(user.id));
            resource.insert("name".into(), json!(user.login));
        }
        None => {
            resource.insert("uid".into(), json!(detection.user_id));
        }
    }
    let mut finding = json!({
        "activity_id": activity_id,
        "activity_name": if activity_id == 1 { "Create" } else { "Update" },
        "category_uid": CATEGORY_UID,
        "category_name": "Findings",
        "class_uid": CLASS_UID,
        "class_name": "Detection Finding",
        "type_uid": CLASS_UID * 100 + activity_id,
        "type_name": format!("Detection Finding: {}", if activity_id == 1 { "Create" } else { "Update" }),
        "severity_id": severity_id(detection.severity),
        "severity": severity_name(detection.severity),
        "status_id": 1,
        "status": "New",
        "time": ms(detection.updated_at),
        "message": detection.explanation,
        "count": detection.evidence.len(),
        "finding_info": {
            "uid": detection.id,
            "title": title(detection),
            "desc": detection.explanation,
            "types": [detection.kind],
            "analytic": { "name": detection.kind, "uid": detection.kind, "type_id": 1, "type": "Rule" },
            "created_time": ms(detection.created_at),
            "modified_time": ms(detection.updated_at),
            "first_seen_time": ms(detection.first_seen),
            "last_seen_time": ms(detection.last_seen),
            "related_events": detection.evidence.iter().map(|id| json!({ "uid": id })).collect::<Vec<_>>(),
        },
        "metadata": {
            "version": OCSF_VERSION,
            "product": { "name": product, "vendor_name": VENDOR },
            "tenant_uid": detection.tenant_id,
        },
        "resources": [Value::Object(resource)],
        "evidences": evidences,
        "unmapped": {
            "identity_id": detection.identity_id,
            "integration_id": detection.integration_id,
        },
    });
    if let (Some(user), Some(obj)) = (user, finding.as_object_mut()) {
        obj.insert("actor".into(), json!({ "user": ocsf_user(user) }));
    }
    finding
}

/// ECS `event.severity` (Elastic's 21/47/73/99 scale) and `event.risk_score` of a severity.
fn ecs_severity(severity: Severity) -> (u8, u8) {
    match severity {
        Severity::Low => (21, 21),
        Severity::Medium => (47, 47),
        Severity::High => (73, 73),
        Severity::Critical => (99, 99),
    }
}

/// The detection as an ECS-shaped alert document. `source_ip` is the IP a detection is about,
/// when it is about one (the finding's `ip:` subject); the stored detection does not keep it.
pub fn ecs(detection: &Detection, user: Option<&User>, source_ip: Option<&str>) -> Value {
    let (sev, risk) = ecs_severity(detection.severity);
    let mut doc = json!({
        "@timestamp": detection.updated_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "message": detection.explanation,
        "ecs": { "version": "8.11.0" },
        "event": {
            "kind": "alert",
            "category": ["authentication"],
            "type": ["info"],
            "id": detection.id,
            "dataset": "gatehouse.detection",
            "module": "gatehouse",
            "severity": sev,
            "risk_score": risk,
            "created": detection.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "start": detection.first_seen.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "end": detection.last_seen.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "reason": detection.explanation,
        },
        "rule": {
            "id": detection.kind,
            "name": detection.kind,
            "description": title(detection),
            "ruleset": "gatehouse",
        },
        "organization": { "id": detection.tenant_id },
        "related": { "hosts": [], "ip": source_ip.map_or_else(Vec::new, |ip| vec![ip]) },
        "gatehouse": {
            "evidence": detection.evidence,
            "identity_id": detection.identity_id,
            "integration_id": detection.integration_id,
            "severity": detection.severity,
        },
    });
    let Some(obj) = doc.as_object_mut() else {
        return doc;
    };
    let mut ecs_user = Map::new();
    if let Some(id) = &detection.user_id {
        ecs_user.insert("id".into(), json!(id));
    }
    if let Some(user) = user {
        ecs_user.insert("name".into(), json!(user.login));
        if let Some(email) = &user.email {
            ecs_user.insert("email".into(), json!(email));
        }
        if let Some(name) = &user.display_name {
            ecs_user.insert("full_name".into(), json!(name));
        }
        ecs_user.insert(
            "roles".into(),
            json!(if user.is_admin { vec!["admin"] } else { vec![] }),
        );
    }
    if !ecs_user.is_empty() {
        obj.insert("user".into(), Value::Object(ecs_user));
    }
    if let Some(ip) = source_ip {
        obj.insert("source".into(), json!({ "ip": ip }));
    }
    doc
}
