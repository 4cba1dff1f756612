//! What a detection says before it is stored: a [`Finding`] (or a [`Cleared`] verdict), and the
//! [`Subject`] it is about.

use chrono::{DateTime, Utc};
use gatehouse_core::model::{Severity, SignInEvent};
use gatehouse_core::{IntegrationId, SignInId, TenantId, UserId};
use serde::{Deserialize, Serialize};

use crate::kind::Kind;

/// One detection's verdict on the events of one context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub tenant_id: TenantId,
    pub kind: Kind,
    pub severity: Severity,
    /// The account concerned: the subject's account, or for a session the account every
    /// evidence event shares; `None` for an IP.
    pub user_id: Option<UserId>,
    /// The integration every evidence event shares, if they share one.
    pub integration_id: Option<IntegrationId>,
    /// `account:<user id>`, `ip:<address>`, `session:<provider session id>` or
    /// `integration:<id>` (an org-wide change by an unknown actor); see [`Subject`].
    pub subject: String,
    /// Sorted by id (ids are time-ordered), without duplicates.
    pub evidence: Vec<SignInId>,
    /// A sentence for a person, with the numbers this context showed.
    pub explanation: String,
    /// Event time of the first and last evidence.
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
}

/// A verdict that an event is *not* (or no longer) evidence of `kind` for `subject`: only
/// `new_country` and `dormant_account` rest on the absence of earlier events, so only they can be
/// retracted when a late earlier event arrives. Applied with [`crate::clear`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cleared {
    pub tenant_id: TenantId,
    pub kind: Kind,
    pub subject: String,
    pub event: SignInId,
    pub time: DateTime<Utc>,
}

/// Who or what a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    Account(UserId),
    Ip(String),
    Session(String),
    Integration(IntegrationId),
}

impl Subject {
    pub fn parse(s: &str) -> Option<Subject> {
        let (kind, value) = s.split_once(':')?;
        if value.is_empty() {
            return None;
        }
        match kind {
            "account" => UserId::parse(value).map(Subject::Account),
            "ip" => Some(Subject::Ip(value.to_owned())),
            "session" => Some(Subject::Session(value.to_owned())),
            "integration" => IntegrationId::parse(value).map(Subject::Integration),
            _ => None,
        }
    }

    /// How a sentence names it: `account usr_…`, `IP 192.0.2.1`, `session abc`.
    pub fn phrase(&self) -> String {
        match self {
            Subject::Account(id) => format!("account {id}"),
            Subject::Ip(ip) => format!("IP {ip}"),
            Subject::Session(id) => format!("session {id}"),
            Subject::Integration(id) => format!("integration {id}"),
        }
    }

    /// The address, for an IP subject (ECS `source.ip`).
    pub fn ip(&self) -> Option<&str> {
        match self {
            Subject::Ip(ip) => Some(ip),
            _ => None,
        }
    }
}

impl std::fmt::Display for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Subject::Account(id) => write!(f, "account:{id}"),
            Subject::Ip(ip) => write!(f, "ip:{ip}"),
            Subject::Session(id) => write!(f, "session:{id}"),
            Subject::Integration(id) => write!(f, "integration:{id}"),
        }
    }
}

/// How a sentence names a subject string, falling back to the string itself.
pub(crate) fn subject_phrase(subject: &str) -> String {
    Subject::parse(subject).map_or_else(|| subject.to_owned(), |s| s.phrase())
}

impl Finding {
    /// A finding over `events` (at least one): evidence, times and integration follow from them.
    /// `None` when `events` is empty, so callers never invent a finding without evidence.
    pub(crate) fn over(
        kind: Kind,
        severity: Severity,
        subject: &Subject,
        user_id: Option<UserId>,
        events: &[&SignInEvent],
        explanation: String,
    ) -> Option<Finding> {
        let first = events.first()?;
        let mut evidence: Vec<SignInId> = events.iter().map(|e| e.id.clone()).collect();
        evidence.sort();
        evidence.dedup();
        let integration_id = common(events.iter().map(|e| Some(&e.integration_id)));
        Some(Finding {
            tenant_id: first.tenant_id.clone(),
            kind,
            severity,
            user_id,
            integration_id,
            subject: subject.to_string(),
            evidence,
            explanation,
            first_seen: events.iter().map(|e| e.time).min().unwrap_or(first.time),
            last_seen: events.iter().map(|e| e.time).max().unwrap_or(first.time),
        })
    }
}

/// The value every item shares, or `None` (also when one item has none).
pub(crate) fn common<'a, T: PartialEq + Clone + 'a>(
    mut items: impl Iterator<Item = Option<&'a T>>,
) -> Option<T> {
    let first = items.next()??;
    items.all(|item| item == Some(first)).then(|| first.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_round_trip() {
        for s in [
            "account:usr_01",
            "ip:192.0.2.1",
            "ip:2001:db8::1",
            "session:abc:def",
            "integration:int_1",
        ] {
            let parsed = Subject::parse(s).unwrap();
            assert_eq!(parsed.to_string(), s);
        }
        assert_eq!(
            Subject::parse("ip:2001:db8::1").unwrap().ip(),
            Some("2001:db8::1")
        );
        assert!(Subject::parse("user:x").is_none());
        assert!(Subject::parse("account:").is_none());
        assert!(Subject::parse("account:a/b").is_none());
        assert_eq!(subject_phrase("ip:192.0.2.1"), "IP 192.0.2.1");
    }

    #[test]
    fn common_needs_every_item() {
        let a = "a".to_owned();
        let b = "b".to_owned();
        assert_eq!(common([Some(&a), Some(&a)].into_iter()), Some(a.clone()));
        assert_eq!(common([Some(&a), Some(&b)].into_iter()), None);
        assert_eq!(common([Some(&a), None].into_iter()), None);
        assert_eq!(common(std::iter::empty::<Option<&String>>()), None);
    }
}
