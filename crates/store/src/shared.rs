//! What every backend computes the same way, so that they store and answer alike: the subject
//! keys a sign-in is indexed under, and the fields of a SCIM resource the indexes read.

use gatehouse_core::model::SignInEvent;
use serde_json::Value;

use crate::SignInSubject;

/// The subject keys a sign-in is indexed under (the account, else its lower-cased login; its
/// address; its session).
pub(crate) fn signin_subjects(event: &SignInEvent) -> Vec<String> {
    let mut subjects = Vec::with_capacity(3);
    match (&event.user_id, &event.login) {
        (Some(user), _) => subjects.push(subject_key(&SignInSubject::User(user))),
        (None, Some(login)) => {
            subjects.push(subject_key(&SignInSubject::Login(&login.to_lowercase())))
        }
        (None, None) => {}
    }
    if let Some(ip) = &event.ip {
        subjects.push(subject_key(&SignInSubject::Ip(ip)));
    }
    if let Some(session) = &event.session_id {
        subjects.push(subject_key(&SignInSubject::Session(session)));
    }
    subjects
}

pub(crate) fn subject_key(subject: &SignInSubject<'_>) -> String {
    match subject {
        SignInSubject::User(id) => format!("u:{id}"),
        SignInSubject::Login(login) => format!("l:{login}"),
        SignInSubject::Ip(ip) => format!("i:{ip}"),
        SignInSubject::Session(session) => format!("s:{session}"),
    }
}

/// A string attribute of a SCIM resource (absent, null or not a string: none).
pub(crate) fn scim_text<'a>(resource: &'a Value, attr: &str) -> Option<&'a str> {
    resource.get(attr).and_then(Value::as_str)
}

/// A SCIM resource's `meta.version`.
pub(crate) fn scim_version(resource: &Value) -> Option<&str> {
    resource
        .get("meta")
        .and_then(|m| m.get("version"))
        .and_then(Value::as_str)
}

/// A SCIM Group's member ids (`members[].value`), sorted and without repeats.
pub(crate) fn scim_members(resource: &Value) -> Vec<String> {
    let mut out: Vec<String> = resource
        .get("members")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|m| m.get("value").and_then(Value::as_str))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out.dedup();
    out
}
