//! Seeded System Log generator: ordinary sign-in chains (policy evaluation,
//! session start, push and MFA, app SSO, logout), failed passwords, denied
//! pushes, admin actions, ThreatInsight detections, plus a few planted
//! incidents a detection engine should find (password spray, MFA fatigue,
//! impossible travel, brute force ending in lockout).

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::data::{ADMIN_ROLES, APPS, BOT_AGENTS, RISKY_PLACES};
use super::events::{
    app_target, enrollment_target, group_target, session_id, Auth, Origin, Parts, Who,
};
use super::rng::SimRng;
use super::state::{Prepared, Store, User};

/// Generates `count` events published within `span` before `anchor`.
pub fn system_log(
    store: &Store,
    anchor: DateTime<Utc>,
    span: Duration,
    count: usize,
    rng: &mut SimRng,
) -> Vec<Prepared> {
    let actors: Vec<&User> = store
        .users
        .values()
        .filter(|u| u.last_login.is_some())
        .collect();
    let Some(admin) = store.users.get(&store.admin_id) else {
        return Vec::new();
    };
    if actors.is_empty() || count == 0 {
        return Vec::new();
    }
    let mut g = Gen {
        rng,
        org: store.org_url.clone(),
        out: Vec::new(),
    };
    let span_ms = span.num_milliseconds().max(1);
    if count >= 200 {
        let pick = |g: &mut Gen, n: u64| actors[(g.rng.below(n) as usize) % actors.len()];
        g.password_spray(&actors, anchor - Duration::milliseconds(span_ms / 3));
        let victim = pick(&mut g, actors.len() as u64);
        g.mfa_fatigue(victim, anchor - Duration::milliseconds(span_ms / 4));
        let traveller = pick(&mut g, actors.len() as u64);
        g.impossible_travel(traveller, anchor - Duration::milliseconds(span_ms / 5));
        let locked = pick(&mut g, actors.len() as u64);
        g.brute_force(locked, anchor - Duration::milliseconds(span_ms / 6));
    }
    while g.out.len() < count {
        let when = anchor - Duration::milliseconds(g.rng.range(0, span_ms));
        let user = actors[g.rng.below(actors.len() as u64) as usize];
        match g.rng.weighted(&[55, 12, 3, 5, 3, 1]) {
            0 => g.sign_in(user, when),
            1 => g.failed_password(user, when),
            2 => g.denied_push(user, when),
            3 => g.admin_action(admin, user, when, store),
            4 => g.threat(when),
            _ => g.brute_force(user, when),
        }
    }
    g.out.truncate(count);
    g.out
}

struct Gen<'a> {
    rng: &'a mut SimRng,
    org: String,
    out: Vec<Prepared>,
}

impl Gen<'_> {
    fn parts(
        &mut self,
        when: DateTime<Utc>,
        event_type: &'static str,
        display: &'static str,
        actor: Who,
        origin: &Origin,
    ) -> Parts {
        Parts::new(
            self.rng,
            when,
            event_type,
            display,
            actor,
            origin.clone(),
            &self.org,
        )
    }

    fn push(&mut self, p: Parts) {
        let when = p.when.timestamp_millis();
        let v = p.build(self.rng);
        self.out.push(Prepared::new(v, when, self.rng));
    }

    fn session_start(
        &mut self,
        u: &User,
        when: DateTime<Utc>,
        origin: &Origin,
        ok: bool,
        session: Option<String>,
    ) {
        let mut p = self.parts(
            when,
            "user.session.start",
            "User login to Okta",
            Who::user(u),
            origin,
        );
        p.auth = Auth {
            credential_type: Some("PASSWORD"),
            interface: None,
            ..Auth::default()
        };
        p.targets.push(enrollment_target(
            &format!("lae{}", tail(&u.id)),
            "Password",
        ));
        if ok {
            p.legacy = Some("core.user_auth.login_success");
            p.session = session;
        } else {
            p.legacy = Some("core.user_auth.login_failed");
            p.severity = "WARN";
            p.result = "FAILURE";
            p.reason = Some("INVALID_CREDENTIALS".into());
        }
        self.push(p);
    }

    fn policy(
        &mut self,
        u: &User,
        when: DateTime<Utc>,
        origin: &Origin,
        session: &str,
        result: &'static str,
    ) {
        let mut p = self.parts(
            when,
            "policy.evaluate_sign_on",
            "Evaluation of sign-on policy",
            Who::user(u),
            origin,
        );
        p.session = Some(session.to_string());
        p.result = result;
        p.reason = Some(format!("Sign-on policy evaluation resulted in {result}"));
        p.targets.push(json!({ "id": "0pr1defaultRULE1d7", "type": "Rule", "alternateId": "unknown", "displayName": "Catch-all Rule", "detailEntry": null }));
        p.targets.push(json!({ "id": "00p1defaultPOLI1d7", "type": "PolicyEntity", "alternateId": "unknown", "displayName": "Default Policy", "detailEntry": { "policyType": "OktaSignOn" } }));
        let new_geo =
            if origin.place.is_proxy || RISKY_PLACES.iter().any(|r| r.city == origin.place.city) {
                "POSITIVE"
            } else {
                "NEGATIVE"
            };
        p.debug.insert("behaviors".into(), json!(format!("{{New Geo-Location={new_geo}, New Device=NEGATIVE, New IP=NEGATIVE, New State=NEGATIVE, New Country={new_geo}, Velocity=NEGATIVE, New City={new_geo}}}")));
        p.debug.insert(
            "risk".into(),
            json!(if new_geo == "POSITIVE" {
                "{level=HIGH}"
            } else {
                "{level=LOW}"
            }),
        );
        self.push(p);
    }

    fn push_sent(&mut self, u: &User, when: DateTime<Utc>, origin: &Origin, session: &str) {
        let mut p = self.parts(
            when,
            "system.push.send_factor_verify_push",
            "Send Okta Verify push",
            Who::user(u),
            origin,
        );
        p.session = Some(session.to_string());
        p.targets
            .push(enrollment_target(&push_id(u), "Okta Verify"));
        self.push(p);
    }

    fn mfa(&mut self, u: &User, when: DateTime<Utc>, origin: &Origin, session: &str, ok: bool) {
        let push = u.factors.iter().any(|f| f.factor_type == "push");
        let mut p = self.parts(
            when,
            "user.authentication.auth_via_mfa",
            "Authentication of user via MFA",
            Who::user(u),
            origin,
        );
        p.session = Some(session.to_string());
        p.auth = Auth {
            authentication_provider: Some("FACTOR_PROVIDER"),
            credential_provider: Some("OKTA_CREDENTIAL_PROVIDER"),
            credential_type: if push { None } else { Some("OTP") },
            interface: None,
            step: 0,
        };
        p.targets.push(enrollment_target(
            &push_id(u),
            if push {
                "Okta Verify"
            } else {
                "Google Authenticator"
            },
        ));
        if ok {
            p.legacy = Some("core.user.factor.attempt_success");
        } else {
            p.legacy = Some("core.user.factor.attempt_fail");
            p.severity = "WARN";
            p.result = "FAILURE";
            p.reason = Some("INVALID_CREDENTIALS".into());
        }
        self.push(p);
    }

    fn deny(&mut self, u: &User, when: DateTime<Utc>, origin: &Origin, session: &str) {
        let mut p = self.parts(
            when,
            "user.mfa.okta_verify.deny_push",
            "User rejected Okta push verify",
            Who::user(u),
            origin,
        );
        p.session = Some(session.to_string());
        p.severity = "WARN";
        p.result = "FAILURE";
        p.reason = Some("USER_REJECTED_OKTA_VERIFY_PUSH".into());
        p.legacy = Some("core.user.factor.attempt_fail");
        p.targets
            .push(enrollment_target(&push_id(u), "Okta Verify"));
        self.push(p);
    }

    fn sign_in(&mut self, u: &User, when: DateTime<Utc>) {
        let origin = Origin::home_of(self.rng, u);
        let sid = session_id(self.rng);
        let mut t = when;
        let mfa = !u.factors.is_empty();
        self.policy(u, t, &origin, &sid, if mfa { "CHALLENGE" } else { "ALLOW" });
        t += Duration::milliseconds(self.rng.range(200, 900));
        self.session_start(u, t, &origin, true, Some(sid.clone()));
        if mfa {
            if u.factors.iter().any(|f| f.factor_type == "push") {
                t += Duration::milliseconds(self.rng.range(100, 500));
                self.push_sent(u, t, &origin, &sid);
            }
            t += Duration::seconds(self.rng.range(2, 20));
            self.mfa(u, t, &origin, &sid, true);
        }
        for _ in 0..self.rng.range(0, 3) {
            t += Duration::seconds(self.rng.range(5, 600));
            let (id, name) = self.rng.pick(APPS).copied().unwrap_or(APPS[0]);
            let mut p = self.parts(
                t,
                "user.authentication.sso",
                "User single sign on to app",
                Who::user(u),
                &origin,
            );
            p.session = Some(sid.clone());
            p.legacy = Some("app.auth.sso");
            p.targets.push(app_target(id, name));
            p.targets.push(json!({ "id": format!("0ua{}", tail(&u.id)), "type": "AppUser", "alternateId": u.login(), "displayName": u.display_name(), "detailEntry": null }));
            self.push(p);
        }
        if self.rng.chance(0.3) {
            t += Duration::minutes(self.rng.range(10, 480));
            let mut p = self.parts(
                t,
                "user.session.end",
                "User logout from Okta",
                Who::user(u),
                &origin,
            );
            p.session = Some(sid);
            p.legacy = Some("core.user_auth.logout_success");
            self.push(p);
        }
    }

    fn failed_password(&mut self, u: &User, when: DateTime<Utc>) {
        let origin = Origin::home_of(self.rng, u);
        self.session_start(u, when, &origin, false, None);
        if self.rng.chance(0.6) {
            let later = when + Duration::seconds(self.rng.range(10, 120));
            self.sign_in(u, later);
        }
    }

    fn denied_push(&mut self, u: &User, when: DateTime<Utc>) {
        let origin = Origin::home_of(self.rng, u);
        let sid = session_id(self.rng);
        self.session_start(u, when, &origin, true, Some(sid.clone()));
        self.push_sent(u, when + Duration::seconds(1), &origin, &sid);
        let later = when + Duration::seconds(self.rng.range(3, 30));
        self.deny(u, later, &origin, &sid);
    }

    fn admin_action(&mut self, admin: &User, target: &User, when: DateTime<Utc>, store: &Store) {
        let origin = Origin::home_of(self.rng, admin);
        let sid = session_id(self.rng);
        let (event_type, display) = match self.rng.below(7) {
            0 => ("user.lifecycle.suspend", "Suspend Okta user"),
            1 => ("user.lifecycle.unsuspend", "Unsuspend Okta user"),
            2 => ("user.lifecycle.deactivate", "Deactivate Okta user"),
            3 => ("group.user_membership.add", "Add user to group membership"),
            4 => ("user.account.privilege.grant", "Grant user privilege"),
            5 => ("user.mfa.factor.reset_all", "Reset all factors for user"),
            _ => (
                "user.account.update_profile",
                "Update user profile for Okta",
            ),
        };
        let mut p = self.parts(when, event_type, display, Who::user(admin), &origin);
        p.session = Some(sid);
        p.targets.push(Who::user(target).json());
        match event_type {
            "group.user_membership.add" => {
                if let Some(gid) = store
                    .user_groups
                    .get(&target.id)
                    .and_then(|s| s.iter().next())
                {
                    if let Some(g) = store.groups.get(gid) {
                        p.targets.push(group_target(&g.id, &g.name));
                    }
                }
            }
            "user.account.privilege.grant" => {
                let role = self
                    .rng
                    .pick(ADMIN_ROLES)
                    .copied()
                    .unwrap_or("Read only administrator");
                p.debug.insert("privilegeGranted".into(), json!(role));
            }
            _ => {}
        }
        self.push(p);
    }

    fn threat(&mut self, when: DateTime<Utc>) {
        let place = self
            .rng
            .pick(RISKY_PLACES)
            .copied()
            .unwrap_or(RISKY_PLACES[0]);
        let agent = self.rng.pick(BOT_AGENTS).copied().unwrap_or(BOT_AGENTS[0]);
        let origin = Origin::new(self.rng, place, agent);
        let mut p = self.parts(
            when,
            "security.threat.detected",
            "Request from suspicious actor",
            Who::unknown(),
            &origin,
        );
        p.severity = "WARN";
        p.result = "DENY";
        let kind = if self.rng.chance(0.5) {
            "Password Spray"
        } else {
            "Login failures with high unknown users count"
        };
        p.reason = Some(kind.into());
        p.debug.insert("threatSuspected".into(), json!("true"));
        p.debug.insert(
            "threatDetections".into(),
            json!(format!("{{\"{kind}\":\"HIGH\"}}")),
        );
        self.push(p);
    }

    fn brute_force(&mut self, u: &User, when: DateTime<Utc>) {
        let place = self
            .rng
            .pick(RISKY_PLACES)
            .copied()
            .unwrap_or(RISKY_PLACES[0]);
        let agent = self.rng.pick(BOT_AGENTS).copied().unwrap_or(BOT_AGENTS[0]);
        let origin = Origin::new(self.rng, place, agent);
        let mut t = when;
        for _ in 0..10 {
            self.session_start(u, t, &origin, false, None);
            t += Duration::seconds(self.rng.range(1, 6));
        }
        let mut p = self.parts(
            t,
            "user.account.lock",
            "Max sign in attempts exceeded",
            Who::user(u),
            &origin,
        );
        p.severity = "WARN";
        p.legacy = Some("core.user_auth.account_locked");
        self.push(p);
    }

    fn password_spray(&mut self, actors: &[&User], when: DateTime<Utc>) {
        let origin = Origin::new(self.rng, RISKY_PLACES[3], BOT_AGENTS[0]);
        let mut t = when;
        for u in actors.iter().take(15) {
            self.session_start(u, t, &origin, false, None);
            t += Duration::seconds(self.rng.range(2, 20));
        }
        for _ in 0..2 {
            let mut p = self.parts(
                t,
                "security.threat.detected",
                "Request from suspicious actor",
                Who::unknown(),
                &origin,
            );
            p.severity = "WARN";
            p.result = "DENY";
            p.reason = Some("Password Spray".into());
            p.debug.insert("threatSuspected".into(), json!("true"));
            self.push(p);
            t += Duration::seconds(30);
        }
    }

    fn mfa_fatigue(&mut self, u: &User, when: DateTime<Utc>) {
        let origin = Origin::new(self.rng, RISKY_PLACES[0], BOT_AGENTS[2]);
        let sid = session_id(self.rng);
        let mut t = when;
        self.session_start(u, t, &origin, true, Some(sid.clone()));
        for _ in 0..5 {
            t += Duration::seconds(self.rng.range(20, 90));
            self.push_sent(u, t, &origin, &sid);
            t += Duration::seconds(self.rng.range(3, 15));
            self.deny(u, t, &origin, &sid);
        }
        t += Duration::seconds(40);
        self.push_sent(u, t, &origin, &sid);
        self.mfa(u, t + Duration::seconds(9), &origin, &sid, true);
    }

    fn impossible_travel(&mut self, u: &User, when: DateTime<Utc>) {
        let home = Origin::home_of(self.rng, u);
        let sid = session_id(self.rng);
        self.session_start(u, when, &home, true, Some(sid));
        let far = Origin::new(self.rng, RISKY_PLACES[1], home.agent);
        let sid2 = session_id(self.rng);
        self.session_start(u, when + Duration::minutes(25), &far, true, Some(sid2));
    }
}

/// A stable enrollment id for the user's push/OTP factor.
fn push_id(u: &User) -> String {
    u.factors
        .iter()
        .find(|f| f.factor_type == "push")
        .or(u.factors.first())
        .map(|f| format!("pfd{}", tail(&f.id)))
        .unwrap_or_else(|| format!("pfd{}", tail(&u.id)))
}

/// An id without its 3-character type prefix.
fn tail(id: &str) -> &str {
    id.get(3..).unwrap_or(id)
}
