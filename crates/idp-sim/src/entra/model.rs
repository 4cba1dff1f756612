//! The simulated directory: users (kept as compact structs and rendered to
//! Graph's JSON on demand, so a 100,000-user org stays cheap), groups, the
//! change log delta queries and change notifications read from, sign-in
//! events with their arrival time, subscriptions and the record of actions.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use crate::common::SimRng;

/// One directory user.
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub upn: String,
    pub display_name: String,
    pub given_name: String,
    pub surname: String,
    pub mail: Option<String>,
    pub job_title: Option<String>,
    pub department: Option<String>,
    pub office_location: Option<String>,
    pub mobile_phone: Option<String>,
    pub business_phones: Vec<String>,
    pub account_enabled: bool,
    pub user_type: &'static str,
    pub employee_id: Option<String>,
    pub created: DateTime<Utc>,
    pub last_password_change: DateTime<Utc>,
    pub sessions_valid_from: DateTime<Utc>,
    pub manager: Option<usize>,
    pub methods: Vec<Method>,
    /// Last sign-in (for `signInActivity`).
    pub last_sign_in: Option<(DateTime<Utc>, String)>,
    /// Properties set by patches that the struct does not model.
    pub extra: BTreeMap<String, Value>,
    /// Sequence number of the latest change (creation included).
    pub seq: u64,
    /// Soft-deleted (`@removed reason changed`) at this time.
    pub deleted: Option<DateTime<Utc>>,
    /// Permanently deleted (`@removed reason deleted`).
    pub purged: bool,
    pub risk_state: &'static str,
    /// Sequence number of the creation.
    pub created_seq: u64,
    /// Property name -> sequence number of its latest change.
    pub changed: BTreeMap<String, u64>,
}

/// An authentication method registered by a user.
#[derive(Debug, Clone)]
pub struct Method {
    pub kind: MethodKind,
    pub id: String,
    pub created: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodKind {
    Password,
    Authenticator,
    Phone,
    Fido2,
    SoftwareOath,
    Email,
    WindowsHello,
}

/// A security group.
#[derive(Debug, Clone)]
pub struct Group {
    pub id: String,
    pub display_name: String,
    pub description: String,
    pub created: DateTime<Utc>,
    pub members: Vec<usize>,
    pub member_set: BTreeSet<usize>,
}

/// A sign-in event and when it becomes visible through the API.
#[derive(Debug, Clone)]
pub struct SignIn {
    pub created_ms: i64,
    pub visible_ms: i64,
    pub id: String,
    pub body: Value,
}

/// A change-notification subscription.
#[derive(Debug, Clone)]
pub struct Subscription {
    pub id: String,
    pub resource: String,
    pub change_types: Vec<String>,
    pub notification_url: String,
    pub lifecycle_url: Option<String>,
    pub client_state: Option<String>,
    pub expiration: DateTime<Utc>,
    pub app_id: String,
    pub creator_id: String,
}

impl Subscription {
    pub fn render(&self, base: &str) -> Value {
        json!({
            "@odata.context": format!("{base}/v1.0/$metadata#subscriptions/$entity"),
            "id": self.id,
            "resource": self.resource,
            "applicationId": self.app_id,
            "changeType": self.change_types.join(","),
            "clientState": self.client_state,
            "notificationUrl": self.notification_url,
            "notificationQueryOptions": null,
            "lifecycleNotificationUrl": self.lifecycle_url,
            "expirationDateTime": fmt_ts(self.expiration),
            "creatorId": self.creator_id,
            "includeResourceData": false,
            "latestSupportedTlsVersion": "v1_2",
            "encryptionCertificate": null,
            "encryptionCertificateId": null,
            "notificationUrlAppId": null,
        })
    }
}

/// A notification waiting to be delivered.
#[derive(Debug, Clone)]
pub struct PendingNotification {
    pub subscription_id: String,
    pub change_type: &'static str,
    pub user_id: String,
}

/// One delivery attempt of the notification sender.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub subscription_id: String,
    pub url: String,
    /// HTTP status the receiver answered; 0 when it could not be reached.
    pub status: u16,
    pub body: Value,
}

/// Newest first by `createdDateTime`, then by id.
pub fn newest_first(a: &SignIn, b: &SignIn) -> std::cmp::Ordering {
    b.created_ms
        .cmp(&a.created_ms)
        .then_with(|| a.id.cmp(&b.id))
}

/// Graph's timestamp format (`2024-05-04T19:50:52Z`).
pub fn fmt_ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Sign-in timestamps carry fractional seconds, as in the docs' example.
pub fn fmt_ts_frac(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// Every user property a `$select` may name (v1.0 `user`, the part the sim models).
pub const USER_PROPERTIES: &[&str] = &[
    "id",
    "userPrincipalName",
    "displayName",
    "givenName",
    "surname",
    "mail",
    "jobTitle",
    "department",
    "officeLocation",
    "mobilePhone",
    "businessPhones",
    "preferredLanguage",
    "accountEnabled",
    "userType",
    "employeeId",
    "companyName",
    "usageLocation",
    "createdDateTime",
    "deletedDateTime",
    "lastPasswordChangeDateTime",
    "signInSessionsValidFromDateTime",
    "otherMails",
    "onPremisesSyncEnabled",
    "onPremisesImmutableId",
    "onPremisesSamAccountName",
    "identities",
    "signInActivity",
    "employeeType",
    "city",
    "country",
    "state",
    "streetAddress",
    "postalCode",
    "mailNickname",
    "proxyAddresses",
    "ageGroup",
    "creationType",
    "externalUserState",
    "showInAddressList",
    "passwordPolicies",
    "faxNumber",
    "preferredDataLocation",
    "imAddresses",
    "manager",
];

/// Graph's default user property set (returned when `$select` is absent).
pub const DEFAULT_USER_SELECT: &[&str] = &[
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
];

impl User {
    /// The value of one property, `None` when the property is not known at all.
    pub fn prop(&self, name: &str, tenant_domain: &str) -> Option<Value> {
        if let Some(v) = self.extra.get(name) {
            return Some(v.clone());
        }
        let opt = |o: &Option<String>| o.as_ref().map_or(Value::Null, |s| json!(s));
        Some(match name {
            "id" => json!(self.id),
            "userPrincipalName" => json!(self.upn),
            "displayName" => json!(self.display_name),
            "givenName" => json!(self.given_name),
            "surname" => json!(self.surname),
            "mail" => opt(&self.mail),
            "jobTitle" => opt(&self.job_title),
            "department" => opt(&self.department),
            "officeLocation" => opt(&self.office_location),
            "mobilePhone" => opt(&self.mobile_phone),
            "businessPhones" => json!(self.business_phones),
            "preferredLanguage" => json!("en-US"),
            "accountEnabled" => json!(self.account_enabled),
            "userType" => json!(self.user_type),
            "employeeId" => opt(&self.employee_id),
            "companyName" => json!(tenant_domain.split('.').next().unwrap_or("Contoso")),
            "usageLocation" => json!("US"),
            "createdDateTime" => json!(fmt_ts(self.created)),
            "deletedDateTime" => self.deleted.map_or(Value::Null, |d| json!(fmt_ts(d))),
            "lastPasswordChangeDateTime" => json!(fmt_ts(self.last_password_change)),
            "signInSessionsValidFromDateTime" => json!(fmt_ts(self.sessions_valid_from)),
            "otherMails" => json!([]),
            "onPremisesSyncEnabled" => Value::Null,
            "onPremisesImmutableId" => Value::Null,
            "onPremisesSamAccountName" => Value::Null,
            "mailNickname" => json!(self.upn.split('@').next().unwrap_or_default()),
            "identities" => json!([{
                "signInType": "userPrincipalName",
                "issuer": tenant_domain,
                "issuerAssignedId": self.upn,
            }]),
            "signInActivity" => match &self.last_sign_in {
                Some((t, rid)) => json!({
                    "lastSignInDateTime": fmt_ts(*t),
                    "lastSignInRequestId": rid,
                    "lastNonInteractiveSignInDateTime": fmt_ts(*t),
                    "lastNonInteractiveSignInRequestId": rid,
                    "lastSuccessfulSignInDateTime": fmt_ts(*t),
                    "lastSuccessfulSignInRequestId": rid,
                }),
                None => json!({
                    "lastSignInDateTime": null,
                    "lastSignInRequestId": null,
                    "lastNonInteractiveSignInDateTime": null,
                    "lastNonInteractiveSignInRequestId": null,
                    "lastSuccessfulSignInDateTime": null,
                    "lastSuccessfulSignInRequestId": null,
                }),
            },
            "proxyAddresses" => match &self.mail {
                Some(m) => json!([format!("SMTP:{m}")]),
                None => json!([]),
            },
            "creationType"
            | "externalUserState"
            | "employeeType"
            | "city"
            | "country"
            | "state"
            | "streetAddress"
            | "postalCode"
            | "ageGroup"
            | "showInAddressList"
            | "passwordPolicies"
            | "faxNumber"
            | "preferredDataLocation" => Value::Null,
            "imAddresses" => json!([]),
            _ => return None,
        })
    }

    /// Applies one patched property; `false` when it cannot be written.
    pub fn set(&mut self, name: &str, value: &Value) -> bool {
        let text = || value.as_str().map(String::from);
        match name {
            "accountEnabled" => match value.as_bool() {
                Some(b) => self.account_enabled = b,
                None => return false,
            },
            "displayName" => match text() {
                Some(s) => self.display_name = s,
                None => return false,
            },
            "givenName" => self.given_name = text().unwrap_or_default(),
            "surname" => self.surname = text().unwrap_or_default(),
            "userPrincipalName" => match text() {
                Some(s) => self.upn = s,
                None => return false,
            },
            "mail" => self.mail = text(),
            "jobTitle" => self.job_title = text(),
            "department" => self.department = text(),
            "officeLocation" => self.office_location = text(),
            "mobilePhone" => self.mobile_phone = text(),
            "employeeId" => self.employee_id = text(),
            "businessPhones" => {
                self.business_phones = value
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default()
            }
            "id" | "createdDateTime" | "deletedDateTime" | "signInActivity" => return false,
            other => {
                self.extra.insert(other.to_string(), value.clone());
            }
        }
        true
    }

    /// The user rendered with `select` (Graph's default set when `None`).
    pub fn render(&self, select: Option<&[String]>, tenant_domain: &str) -> Map<String, Value> {
        let mut out = Map::new();
        match select {
            Some(props) => {
                for p in props {
                    if p == "manager" {
                        continue;
                    }
                    if let Some(v) = self.prop(p, tenant_domain) {
                        out.insert(p.clone(), v);
                    }
                }
                // `id` is always returned.
                out.entry("id").or_insert_with(|| json!(self.id));
            }
            None => {
                for p in DEFAULT_USER_SELECT {
                    if let Some(v) = self.prop(p, tenant_domain) {
                        out.insert((*p).to_string(), v);
                    }
                }
            }
        }
        out
    }

    pub fn visible(&self) -> bool {
        self.deleted.is_none() && !self.purged
    }
}

impl Method {
    pub fn render(&self, user: &User) -> Value {
        let created = fmt_ts(self.created);
        match self.kind {
            MethodKind::Password => json!({
                "@odata.type": "#microsoft.graph.passwordAuthenticationMethod",
                "id": self.id, "password": null, "createdDateTime": created,
            }),
            MethodKind::Authenticator => json!({
                "@odata.type": "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod",
                "id": self.id, "displayName": format!("{}'s iPhone", user.given_name),
                "deviceTag": "SoftwareTokenActivated", "phoneAppVersion": "6.8.7",
                "createdDateTime": created,
            }),
            MethodKind::Phone => json!({
                "@odata.type": "#microsoft.graph.phoneAuthenticationMethod",
                "id": self.id,
                "phoneNumber": user.mobile_phone.clone().unwrap_or_else(|| "+1 4255550100".into()),
                "phoneType": "mobile", "smsSignInState": "notAllowedByPolicy",
            }),
            MethodKind::Fido2 => json!({
                "@odata.type": "#microsoft.graph.fido2AuthenticationMethod",
                "id": self.id, "displayName": "YubiKey 5 NFC", "createdDateTime": created,
                "aaGuid": "cb69481e-8ff7-4039-93ec-0a2729a154a8", "model": "YubiKey 5 Series with NFC",
                "attestationCertificates": [], "attestationLevel": "attested",
            }),
            MethodKind::SoftwareOath => json!({
                "@odata.type": "#microsoft.graph.softwareOathAuthenticationMethod",
                "id": self.id, "secretKey": null,
            }),
            MethodKind::Email => json!({
                "@odata.type": "#microsoft.graph.emailAuthenticationMethod",
                "id": self.id,
                "emailAddress": format!("{}.personal@example.org", user.given_name.to_lowercase()),
            }),
            MethodKind::WindowsHello => json!({
                "@odata.type": "#microsoft.graph.windowsHelloForBusinessAuthenticationMethod",
                "id": self.id, "displayName": format!("{}-LAPTOP", user.surname.to_uppercase()),
                "createdDateTime": created, "keyStrength": "normal",
            }),
        }
    }
}

/// The whole simulated tenant.
#[derive(Debug, Default)]
pub struct Store {
    pub users: Vec<User>,
    pub user_index: HashMap<String, usize>,
    pub groups: Vec<Group>,
    pub group_index: HashMap<String, usize>,
    /// Latest change sequence number handed out.
    pub seq: u64,
    /// (seq, user index) for every change, in order.
    pub changes: Vec<(u64, usize)>,
    /// Sign-ins ordered newest first by (createdDateTime, id).
    pub signins: Vec<SignIn>,
    pub subscriptions: Vec<Subscription>,
    pub pending: Vec<PendingNotification>,
    pub deliveries: Vec<Delivery>,
    pub revoked: HashMap<String, u32>,
    pub compromised: Vec<String>,
    /// Delta tokens issued before this instant (epoch ms) are expired.
    pub delta_expired_before_ms: i64,
    /// Bumped by a synchronization reset: older tokens answer 410 Gone.
    pub delta_generation: u64,
    pub rng: SimRng,
}

impl Store {
    pub fn user_idx(&self, key: &str) -> Option<usize> {
        if let Some(i) = self.user_index.get(key) {
            return Some(*i);
        }
        // Users are also addressable by userPrincipalName.
        let lower = key.to_ascii_lowercase();
        self.users
            .iter()
            .position(|u| u.upn.to_ascii_lowercase() == lower)
    }

    /// A visible (not deleted) user by id or UPN.
    pub fn live_user(&self, key: &str) -> Option<usize> {
        self.user_idx(key).filter(|i| self.users[*i].visible())
    }

    /// Records a change of user `idx` and queues notifications.
    pub fn touch(&mut self, idx: usize, change_type: &'static str, now: DateTime<Utc>) {
        self.seq += 1;
        let seq = self.seq;
        self.changes.push((seq, idx));
        let Some(user) = self.users.get_mut(idx) else {
            return;
        };
        user.seq = seq;
        let user_id = user.id.clone();
        for s in &self.subscriptions {
            if s.expiration <= now {
                continue;
            }
            let res = s.resource.trim_start_matches('/').to_ascii_lowercase();
            let matches =
                res == "users" || res == format!("users/{}", user_id.to_ascii_lowercase());
            if matches && s.change_types.iter().any(|c| c == change_type) {
                self.pending.push(PendingNotification {
                    subscription_id: s.id.clone(),
                    change_type,
                    user_id: user_id.clone(),
                });
            }
        }
    }

    /// Records a change of the named properties of user `idx` (for
    /// `Prefer: return=minimal` delta answers) and [`Store::touch`]es it.
    pub fn touch_props<'a>(
        &mut self,
        idx: usize,
        names: impl IntoIterator<Item = &'a String>,
        now: DateTime<Utc>,
    ) {
        self.touch(idx, "updated", now);
        let seq = self.seq;
        if let Some(u) = self.users.get_mut(idx) {
            for n in names {
                u.changed.insert(n.clone(), seq);
            }
        }
    }

    /// Inserts a sign-in keeping newest-first order.
    pub fn insert_signin(&mut self, s: SignIn) {
        let pos = self
            .signins
            .partition_point(|x| newest_first(x, &s) == std::cmp::Ordering::Less);
        self.signins.insert(pos, s);
    }

    /// Restores newest-first order after bulk pushes.
    pub fn sort_signins(&mut self) {
        self.signins.sort_by(newest_first);
    }

    /// The groups a user is a direct member of.
    pub fn groups_of(&self, idx: usize) -> Vec<usize> {
        self.groups
            .iter()
            .enumerate()
            .filter(|(_, g)| g.member_set.contains(&idx))
            .map(|(i, _)| i)
            .collect()
    }
}
