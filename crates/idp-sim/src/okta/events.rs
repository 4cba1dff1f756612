//! Building System Log events (Okta's LogEvent schema) from a few parts: who
//! acted, from where, in which session, with what outcome, on which targets.
//!
//! Used by the seeded log generator and by the API itself, which logs the
//! lifecycle calls it serves the way Okta does (`user.lifecycle.suspend`…).

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::clock::fmt_ts;
use super::data::{Place, HOME_PLACES, USER_AGENTS};
use super::rng::SimRng;
use super::state::User;

/// The acting or targeted principal.
#[derive(Debug, Clone)]
pub struct Who {
    pub id: String,
    pub kind: &'static str,
    pub alternate_id: String,
    pub display_name: String,
}

impl Who {
    pub fn user(u: &User) -> Self {
        Who {
            id: u.id.clone(),
            kind: "User",
            alternate_id: u.login().to_string(),
            display_name: u.display_name(),
        }
    }

    /// The actor of ThreatInsight events against unknown usernames.
    pub fn unknown() -> Self {
        Who {
            id: "unknown".into(),
            kind: "User",
            alternate_id: "unknown".into(),
            display_name: "Unknown".into(),
        }
    }

    /// Okta's own system principal.
    pub fn system() -> Self {
        Who {
            id: "0oa1systemPRINC1d7".into(),
            kind: "SystemPrincipal",
            alternate_id: "system@okta.com".into(),
            display_name: "Okta System".into(),
        }
    }

    /// As an `actor` or `target` object.
    pub fn json(&self) -> Value {
        json!({
            "id": self.id,
            "type": self.kind,
            "alternateId": self.alternate_id,
            "displayName": self.display_name,
            "detailEntry": null
        })
    }
}

/// Where a request came from: place, address and user agent.
#[derive(Debug, Clone)]
pub struct Origin {
    pub place: Place,
    pub ip: String,
    pub agent: (&'static str, &'static str, &'static str, &'static str),
}

impl Origin {
    /// A random address in `place` with user agent `agent`.
    pub fn new(
        rng: &mut SimRng,
        place: Place,
        agent: (&'static str, &'static str, &'static str, &'static str),
    ) -> Self {
        let missing = 4 - place.ip_prefix.split('.').count();
        let mut ip = place.ip_prefix.to_string();
        for _ in 0..missing {
            ip.push_str(&format!(".{}", rng.range(1, 255)));
        }
        Origin { place, ip, agent }
    }

    /// The user's usual place and browser, derived from the profile city and id.
    pub fn home_of(rng: &mut SimRng, u: &User) -> Self {
        let city = u.profile.get("city").and_then(Value::as_str).unwrap_or("");
        let place = HOME_PLACES
            .iter()
            .find(|p| p.city == city)
            .copied()
            .unwrap_or(HOME_PLACES[0]);
        let idx = u.id.bytes().map(usize::from).sum::<usize>() % USER_AGENTS.len();
        Origin::new(rng, place, USER_AGENTS[idx])
    }

    fn geo(&self) -> Value {
        json!({
            "city": self.place.city,
            "state": self.place.state,
            "country": self.place.country,
            "postalCode": self.place.postal,
            "geolocation": { "lat": self.place.lat, "lon": self.place.lon }
        })
    }
}

/// Authentication context fields that vary by event.
#[derive(Debug, Clone, Default)]
pub struct Auth {
    pub authentication_provider: Option<&'static str>,
    pub credential_provider: Option<&'static str>,
    pub credential_type: Option<&'static str>,
    pub interface: Option<&'static str>,
    pub step: u32,
}

/// Everything that makes one event.
#[derive(Debug, Clone)]
pub struct Parts {
    pub when: DateTime<Utc>,
    pub event_type: &'static str,
    pub display: &'static str,
    pub severity: &'static str,
    pub legacy: Option<&'static str>,
    pub actor: Who,
    pub origin: Origin,
    /// `externalSessionId`; `None` for failures that never got a session.
    pub session: Option<String>,
    pub transaction: String,
    pub result: &'static str,
    pub reason: Option<String>,
    pub targets: Vec<Value>,
    pub auth: Auth,
    pub debug: Map<String, Value>,
    pub org_url: String,
}

impl Parts {
    /// Starts an event with the common defaults (INFO, SUCCESS, no targets).
    pub fn new(
        rng: &mut SimRng,
        when: DateTime<Utc>,
        event_type: &'static str,
        display: &'static str,
        actor: Who,
        origin: Origin,
        org_url: &str,
    ) -> Self {
        Parts {
            when,
            event_type,
            display,
            severity: "INFO",
            legacy: None,
            actor,
            origin,
            session: None,
            transaction: rng.base62(27),
            result: "SUCCESS",
            reason: None,
            targets: Vec::new(),
            auth: Auth::default(),
            debug: Map::new(),
            org_url: org_url.to_string(),
        }
    }

    /// Renders the LogEvent JSON.
    pub fn build(self, rng: &mut SimRng) -> Value {
        let geo = self.origin.geo();
        let mut debug = self.debug;
        debug.insert("requestId".into(), json!(self.transaction));
        debug.insert("dtHash".into(), json!(rng.hex(64)));
        debug.entry("origin").or_insert_with(|| json!(self.org_url));
        debug
            .entry("requestUri")
            .or_insert_with(|| json!("/idp/idx/identify"));
        debug
            .entry("url")
            .or_insert_with(|| json!("/idp/idx/identify?"));
        let a = &self.auth;
        json!({
            "uuid": rng.uuid(),
            "published": fmt_ts(self.when),
            "eventType": self.event_type,
            "version": "0",
            "severity": self.severity,
            "legacyEventType": self.legacy,
            "displayMessage": self.display,
            "actor": self.actor.json(),
            "client": {
                "userAgent": { "rawUserAgent": self.origin.agent.0, "os": self.origin.agent.1, "browser": self.origin.agent.2 },
                "zone": "null",
                "device": self.origin.agent.3,
                "id": null,
                "ipAddress": self.origin.ip,
                "geographicalContext": geo
            },
            "device": null,
            "authenticationContext": {
                "authenticationProvider": a.authentication_provider,
                "credentialProvider": a.credential_provider,
                "credentialType": a.credential_type,
                "issuer": null,
                "interface": a.interface,
                "authenticationStep": a.step,
                "rootSessionId": self.session.clone().unwrap_or_else(|| "unknown".into()),
                "externalSessionId": self.session.unwrap_or_else(|| "unknown".into())
            },
            "outcome": { "result": self.result, "reason": self.reason },
            "securityContext": {
                "asNumber": self.origin.place.as_number,
                "asOrg": self.origin.place.as_org,
                "isp": self.origin.place.isp,
                "domain": self.origin.place.domain,
                "isProxy": self.origin.place.is_proxy
            },
            "debugContext": { "debugData": debug },
            "transaction": { "type": "WEB", "id": self.transaction, "detail": {} },
            "request": {
                "ipChain": [{ "ip": self.origin.ip, "geographicalContext": geo, "version": "V4", "source": null }]
            },
            "target": self.targets
        })
    }
}

/// An Okta session id as seen in `externalSessionId`.
pub fn session_id(rng: &mut SimRng) -> String {
    format!("idx{}", rng.base62(22))
}

/// A `UserGroup` target.
pub fn group_target(id: &str, name: &str) -> Value {
    json!({ "id": id, "type": "UserGroup", "alternateId": "unknown", "displayName": name, "detailEntry": null })
}

/// An `AppInstance` target.
pub fn app_target(id: &str, name: &str) -> Value {
    json!({ "id": id, "type": "AppInstance", "alternateId": name, "displayName": name, "detailEntry": null })
}

/// An `AuthenticatorEnrollment` target.
pub fn enrollment_target(id: &str, name: &str) -> Value {
    json!({ "id": id, "type": "AuthenticatorEnrollment", "alternateId": "unknown", "displayName": name, "detailEntry": null })
}

/// The event an admin action through the API leaves in the log: actor is the
/// token's admin, client is the API caller, target the user.
pub fn admin_action(
    rng: &mut SimRng,
    when: DateTime<Utc>,
    admin: &User,
    target: &User,
    event_type: &'static str,
    display: &'static str,
    org_url: &str,
) -> Value {
    let origin = Origin::new(
        rng,
        HOME_PLACES[0],
        ("okta-sdk/gatehouse-sim", "Unknown", "UNKNOWN", "Unknown"),
    );
    let mut p = Parts::new(
        rng,
        when,
        event_type,
        display,
        Who::user(admin),
        origin,
        org_url,
    );
    p.targets.push(Who::user(target).json());
    p.debug.insert(
        "requestUri".into(),
        json!(format!("/api/v1/users/{}", target.id)),
    );
    p.debug
        .insert("url".into(), json!(format!("/api/v1/users/{}?", target.id)));
    p.build(rng)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_has_logevent_shape() {
        let mut rng = SimRng::new(3);
        let origin = Origin::new(&mut rng, HOME_PLACES[5], USER_AGENTS[0]);
        let when = chrono::TimeZone::with_ymd_and_hms(&Utc, 2024, 8, 13, 15, 58, 20).unwrap();
        let mut p = Parts::new(
            &mut rng,
            when,
            "user.session.start",
            "User login to Okta",
            Who::unknown(),
            origin,
            "https://x",
        );
        p.result = "FAILURE";
        p.reason = Some("INVALID_CREDENTIALS".into());
        let v = p.build(&mut rng);
        assert_eq!(v["published"], "2024-08-13T15:58:20.000Z");
        assert_eq!(v["client"]["geographicalContext"]["postalCode"], "M4M");
        assert_eq!(v["outcome"]["reason"], "INVALID_CREDENTIALS");
        assert_eq!(v["authenticationContext"]["externalSessionId"], "unknown");
        assert!(v["securityContext"]["isProxy"].is_boolean());
        assert_eq!(v["request"]["ipChain"][0]["ip"], v["client"]["ipAddress"]);
        assert_eq!(
            v["client"]["ipAddress"]
                .as_str()
                .unwrap()
                .split('.')
                .count(),
            4
        );
    }
}
