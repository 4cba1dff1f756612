//! JSON shapes of Okta's User, Group and UserFactor objects, including the
//! HAL `_links` Okta publishes: collections carry only `self`, a single user
//! carries the lifecycle operations valid for the current status.

use serde_json::{json, Map, Value};

use super::clock::fmt_ts;
use super::state::{Factor, Group, User, UserStatus};

/// Parts a client asked to leave out with
/// `Content-Type: application/json; okta-response=…`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Omit {
    pub credentials: bool,
    pub credentials_links: bool,
    pub transitioning: bool,
}

impl Omit {
    /// Reads the `okta-response` parameter of a Content-Type header value.
    pub fn from_content_type(ct: Option<&str>) -> Self {
        let mut o = Omit::default();
        let Some(ct) = ct else { return o };
        let Some(idx) = ct.find("okta-response=") else {
            return o;
        };
        let list = &ct[idx + "okta-response=".len()..];
        for item in list.trim_matches('"').split(',') {
            match item.trim().trim_matches('"') {
                "omitCredentials" => o.credentials = true,
                "omitCredentialsLinks" => o.credentials_links = true,
                "omitTransitioningToStatus" => o.transitioning = true,
                _ => {}
            }
        }
        o
    }
}

fn ts(t: Option<chrono::DateTime<chrono::Utc>>) -> Value {
    t.map(|t| Value::String(fmt_ts(t))).unwrap_or(Value::Null)
}

fn post_link(href: String) -> Value {
    json!({ "href": href, "method": "POST" })
}

/// A user; `full` adds the lifecycle links of a single-user GET.
pub fn user(u: &User, base: &str, full: bool, omit: Omit) -> Value {
    let href = format!("{base}/api/v1/users/{}", u.id);
    let mut links = Map::new();
    links.insert("self".into(), json!({ "href": href }));
    if full {
        add_lifecycle_links(&mut links, u, &href, omit);
        links.insert(
            "type".into(),
            json!({ "href": format!("{base}/api/v1/meta/types/user/{}", u.type_id) }),
        );
        links.insert(
            "schema".into(),
            json!({ "href": format!("{base}/api/v1/meta/schemas/user/osc{}", u.type_id.get(3..).unwrap_or(&u.type_id)) }),
        );
    }
    let mut out = Map::new();
    out.insert("id".into(), json!(u.id));
    out.insert("status".into(), json!(u.status.as_str()));
    out.insert("created".into(), ts(Some(u.created)));
    out.insert("activated".into(), ts(u.activated));
    out.insert("statusChanged".into(), ts(u.status_changed));
    out.insert("lastLogin".into(), ts(u.last_login));
    out.insert("lastUpdated".into(), ts(Some(u.last_updated)));
    out.insert("passwordChanged".into(), ts(u.password_changed));
    out.insert("type".into(), json!({ "id": u.type_id }));
    if !omit.transitioning {
        if let Some(t) = u.transitioning_to {
            out.insert("transitioningToStatus".into(), json!(t.as_str()));
        }
    }
    out.insert("profile".into(), Value::Object(u.profile.clone()));
    if !omit.credentials {
        out.insert("credentials".into(), credentials(u));
    }
    out.insert("_links".into(), Value::Object(links));
    Value::Object(out)
}

fn credentials(u: &User) -> Value {
    let mut c = Map::new();
    if u.has_password {
        c.insert("password".into(), json!({}));
    }
    if let Some(q) = &u.recovery_question {
        c.insert("recovery_question".into(), json!({ "question": q }));
    }
    c.insert(
        "provider".into(),
        json!({ "type": u.provider.0, "name": u.provider.1 }),
    );
    Value::Object(c)
}

/// Lifecycle links allowed for the user's status; Okta publishes only the
/// operations that are permitted right now.
fn add_lifecycle_links(links: &mut Map<String, Value>, u: &User, href: &str, omit: Omit) {
    let lc = |op: &str| post_link(format!("{href}/lifecycle/{op}"));
    let cred = |op: &str| post_link(format!("{href}/credentials/{op}"));
    let mut put = |k: &str, v: Value| {
        links.insert(k.to_string(), v);
    };
    if u.transitioning_to.is_some() {
        return;
    }
    let okta_sourced = u.provider.0 == "OKTA";
    let creds = !omit.credentials_links;
    match u.status {
        UserStatus::Staged => {
            put("activate", lc("activate"));
            put("deactivate", lc("deactivate"));
        }
        UserStatus::Provisioned => {
            put("reactivate", lc("reactivate"));
            put("deactivate", lc("deactivate"));
        }
        UserStatus::Deprovisioned => {
            put("activate", lc("activate"));
        }
        UserStatus::Suspended => {
            put("unsuspend", lc("unsuspend"));
            put("deactivate", lc("deactivate"));
        }
        UserStatus::Active
        | UserStatus::PasswordExpired
        | UserStatus::Recovery
        | UserStatus::LockedOut => {
            if u.status == UserStatus::Active {
                put("suspend", lc("suspend"));
            }
            if u.status == UserStatus::Recovery {
                put("reactivate", lc("reactivate"));
            }
            put("deactivate", lc("deactivate"));
            if creds {
                if u.status == UserStatus::LockedOut && okta_sourced {
                    put("unlock", lc("unlock"));
                }
                put("resetPassword", lc("reset_password"));
                put("expirePassword", lc("expire_password"));
                put("forgotPassword", cred("forgot_password"));
                if u.status == UserStatus::Active && u.has_password {
                    put("changePassword", cred("change_password"));
                    put("changeRecoveryQuestion", cred("change_recovery_question"));
                }
                if !u.factors.is_empty() {
                    put("resetFactors", lc("reset_factors"));
                }
            }
        }
    }
}

/// A group.
pub fn group(g: &Group, base: &str) -> Value {
    let href = format!("{base}/api/v1/groups/{}", g.id);
    let object_class = if g.group_type == "APP_GROUP" {
        json!(["okta:windows_security_principal"])
    } else {
        json!(["okta:user_group"])
    };
    let mut links = json!({
        "logo": [
            { "name": "medium", "href": format!("{base}/img/logos/groups/okta-medium.png"), "type": "image/png" },
            { "name": "large", "href": format!("{base}/img/logos/groups/okta-large.png"), "type": "image/png" }
        ],
        "users": { "href": format!("{href}/users") },
        "apps": { "href": format!("{href}/apps") }
    });
    if let (Some(src), Some(m)) = (&g.source, links.as_object_mut()) {
        m.insert(
            "source".into(),
            json!({ "href": format!("{base}/api/v1/apps/{src}") }),
        );
    }
    json!({
        "id": g.id,
        "created": fmt_ts(g.created),
        "lastUpdated": fmt_ts(g.last_updated),
        "lastMembershipUpdated": fmt_ts(g.last_membership_updated),
        "objectClass": object_class,
        "type": g.group_type,
        "profile": { "name": g.name, "description": g.description },
        "_links": links
    })
}

/// A factor of user `user_id`.
pub fn factor(f: &Factor, user_id: &str, base: &str) -> Value {
    let user_href = format!("{base}/api/v1/users/{user_id}");
    let href = format!("{user_href}/factors/{}", f.id);
    let mut links = Map::new();
    links.insert(
        "self".into(),
        json!({ "href": href, "hints": { "allow": ["GET", "DELETE"] } }),
    );
    if f.status == "ACTIVE" && f.factor_type != "question" {
        links.insert(
            "verify".into(),
            json!({ "href": format!("{href}/verify"), "hints": { "allow": ["POST"] } }),
        );
    }
    if f.factor_type == "question" {
        links.insert(
            "questions".into(),
            json!({ "href": format!("{user_href}/factors/questions"), "hints": { "allow": ["GET"] } }),
        );
    }
    links.insert(
        "user".into(),
        json!({ "href": user_href, "hints": { "allow": ["GET"] } }),
    );
    json!({
        "id": f.id,
        "factorType": f.factor_type,
        "provider": f.provider,
        "vendorName": f.vendor_name,
        "status": f.status,
        "created": fmt_ts(f.created),
        "lastUpdated": fmt_ts(f.last_updated),
        "profile": f.profile,
        "_links": links
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_okta_response_parameter() {
        let o = Omit::from_content_type(Some(
            "application/json; okta-response=\"omitCredentials,omitCredentialsLinks, omitTransitioningToStatus\"",
        ));
        assert!(o.credentials && o.credentials_links && o.transitioning);
        let o = Omit::from_content_type(Some("application/json"));
        assert!(!o.credentials);
    }
}
