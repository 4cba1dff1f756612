//! Incremental directory pulls by comparison. `/api/systemusers` has no change feed and no
//! "updated since" filter (a system user has `created` but no modification time), so every
//! pull reads every page; what makes a pull incremental is that the connector remembers a
//! fingerprint of each user (of the whole record, less the counters that move on every
//! sign-in) from the last complete pass, hands the engine only the users whose fingerprint
//! changed, and reports users that disappeared as tombstones. The fingerprints travel as the
//! pass's change token ([`Page::sync_state`]): the engine keeps them between pulls and hands
//! them back.
//!
//! A pass is followed in memory from its first page to its last. A pass resumed from a stored
//! cursor after a restart (its first pages read by another process) cannot know what those
//! pages held: it returns every user it reads and no change token, so the next pull is a full
//! comparison again; nothing is missed.
//!
//! [`Page::sync_state`]: gatehouse_core::records::Page::sync_state

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;

use gatehouse_core::model::UserStatus;
use gatehouse_core::records::{ProviderUser, PullMode, TOMBSTONE_FLAG};
use serde_json::Value;

/// The change token's format: one `id fingerprint` line per user, after this header.
const FORMAT: &str = "gatehouse-jumpcloud-fingerprints-1";

/// Fingerprints of the users of one pass, by JumpCloud user id (`_id`).
type Fingerprints = HashMap<String, u64>;

/// The pass in progress.
#[derive(Debug, Default)]
struct Pass {
    /// The last complete pass's fingerprints (`None`: return every user).
    previous: Option<Fingerprints>,
    seen: Fingerprints,
    /// The page token the next page of this pass must come with.
    expected: Option<String>,
    /// Whether this pass saw every page (false for a pass resumed from a stored token).
    whole: bool,
}

/// What the connector keeps of the directory pass in progress.
#[derive(Debug, Default)]
pub(crate) struct Passes(Mutex<Option<Pass>>);

/// Fields left out of a fingerprint: they move with sign-in attempts, not with the account.
const VOLATILE: &[&str] = &["badLoginAttempts"];

/// A user record's fingerprint: the whole record but [`VOLATILE`] fields. (`DefaultHasher::new`
/// is fixed within a build; a toolchain that changes it makes one pull report every user as
/// changed, which costs an upsert of each and loses nothing.)
pub(crate) fn fingerprint(record: &Value) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    match record {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map
                .keys()
                .filter(|k| !VOLATILE.contains(&k.as_str()))
                .collect();
            keys.sort();
            for key in keys {
                key.hash(&mut hasher);
                map.get(key).map(Value::to_string).hash(&mut hasher);
            }
        }
        other => other.to_string().hash(&mut hasher),
    }
    hasher.finish()
}

fn parse(state: &str) -> Option<Fingerprints> {
    let mut lines = state.lines();
    if lines.next() != Some(FORMAT) {
        return None;
    }
    lines
        .map(|line| {
            let (id, print) = line.split_once(' ')?;
            Some((id.to_owned(), u64::from_str_radix(print, 16).ok()?))
        })
        .collect()
}

fn encode(seen: &Fingerprints) -> String {
    let mut ids: Vec<(&String, &u64)> = seen.iter().collect();
    ids.sort();
    let mut out = String::with_capacity(FORMAT.len() + 1 + ids.len() * 40);
    out.push_str(FORMAT);
    for (id, print) in ids {
        out.push('\n');
        out.push_str(id);
        out.push(' ');
        out.push_str(&format!("{print:x}"));
    }
    out
}

/// A user gone since the last pass: only its id is known.
fn tombstone(id: String) -> ProviderUser {
    ProviderUser {
        login: id.clone(),
        external_id: id,
        email: None,
        emails: Vec::new(),
        display_name: None,
        given_name: None,
        family_name: None,
        status: UserStatus::Deprovisioned,
        status_flags: vec!["deleted".to_owned(), TOMBSTONE_FLAG.to_owned()],
        department: None,
        title: None,
        manager: None,
        groups: None,
        mfa_enrolled: None,
        mfa_factors: Vec::new(),
        is_admin: None,
        created_at: None,
        last_login_at: None,
        updated_at: None,
        raw: None,
    }
}

/// What to return for one page.
pub(crate) struct Filtered {
    pub users: Vec<ProviderUser>,
    /// On the last page of a whole pass: the change token for the next pull.
    pub sync_state: Option<String>,
}

impl Passes {
    /// Filters one page of a pass: `users` are the page's users with their fingerprints,
    /// `cursor` the token the page was read with, `next` the token of the page after it.
    pub(crate) fn page(
        &self,
        mode: &PullMode,
        cursor: Option<&str>,
        users: Vec<(ProviderUser, u64)>,
        next: Option<&str>,
    ) -> Filtered {
        let Ok(mut slot) = self.0.lock() else {
            // A poisoned lock: behave as a resumed pass (every user, no token).
            return Filtered {
                users: users.into_iter().map(|(user, _)| user).collect(),
                sync_state: None,
            };
        };
        let continues = cursor.is_some()
            && slot
                .as_ref()
                .is_some_and(|pass| pass.expected.as_deref() == cursor);
        if !continues {
            let previous = match (cursor, mode) {
                (
                    None,
                    PullMode::Changed {
                        sync_state: Some(state),
                        ..
                    },
                ) => parse(state),
                _ => None,
            };
            *slot = Some(Pass {
                previous,
                seen: HashMap::new(),
                expected: None,
                whole: cursor.is_none(),
            });
        }
        let Some(pass) = slot.as_mut() else {
            return Filtered {
                users: Vec::new(),
                sync_state: None,
            };
        };
        let mut out = Vec::with_capacity(users.len());
        for (user, print) in users {
            let unchanged = pass
                .previous
                .as_ref()
                .is_some_and(|previous| previous.get(&user.external_id) == Some(&print));
            pass.seen.insert(user.external_id.clone(), print);
            if !unchanged {
                out.push(user);
            }
        }
        pass.expected = next.map(str::to_owned);
        if next.is_some() {
            return Filtered {
                users: out,
                sync_state: None,
            };
        }
        let Some(done) = slot.take() else {
            return Filtered {
                users: out,
                sync_state: None,
            };
        };
        if !done.whole {
            return Filtered {
                users: out,
                sync_state: None,
            };
        }
        if let Some(previous) = &done.previous {
            let mut gone: Vec<&String> = previous
                .keys()
                .filter(|id| !done.seen.contains_key(*id))
                .collect();
            gone.sort();
            out.extend(gone.into_iter().map(|id| tombstone(id.clone())));
        }
        Filtered {
            users: out,
            sync_state: Some(encode(&done.seen)),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::{DateTime, Utc};

    use super::*;

    fn user(id: &str) -> ProviderUser {
        ProviderUser {
            login: format!("{id}@example.com"),
            ..tombstone(id.to_owned())
        }
    }

    fn ids(users: &[ProviderUser]) -> Vec<&str> {
        users.iter().map(|u| u.external_id.as_str()).collect()
    }

    #[test]
    fn a_second_pass_returns_only_changes_and_the_gone_as_tombstones() {
        let passes = Passes::default();
        let first = passes.page(
            &PullMode::Full,
            None,
            vec![(user("a"), 1), (user("b"), 2)],
            Some("p2"),
        );
        assert_eq!(ids(&first.users), ["a", "b"]);
        assert!(first.sync_state.is_none());
        let last = passes.page(&PullMode::Full, Some("p2"), vec![(user("c"), 3)], None);
        let state = last.sync_state.unwrap();

        let mode = PullMode::Changed {
            since: DateTime::<Utc>::UNIX_EPOCH,
            sync_state: Some(state),
        };
        let page = passes.page(&mode, None, vec![(user("a"), 1), (user("b"), 9)], None);
        assert_eq!(ids(&page.users), ["b", "c"], "b changed, c is gone");
        let gone = &page.users[1];
        assert_eq!(gone.status, UserStatus::Deprovisioned);
        assert!(gone.status_flags.iter().any(|f| f == TOMBSTONE_FLAG));
        assert!(page.sync_state.unwrap().contains("\nb 9"));
    }

    #[test]
    fn a_pass_resumed_from_a_stored_token_returns_everything_and_no_token() {
        let passes = Passes::default();
        let mode = PullMode::Changed {
            since: DateTime::<Utc>::UNIX_EPOCH,
            sync_state: Some(format!("{FORMAT}\na 1")),
        };
        let page = passes.page(&mode, Some("p7"), vec![(user("a"), 1)], None);
        assert_eq!(
            ids(&page.users),
            ["a"],
            "unknown first pages: nothing is skipped"
        );
        assert!(page.sync_state.is_none());
    }

    #[test]
    fn a_token_that_is_not_ours_means_a_full_comparison() {
        let passes = Passes::default();
        let mode = PullMode::Changed {
            since: DateTime::<Utc>::UNIX_EPOCH,
            sync_state: Some("https://graph.microsoft.com/delta?x".into()),
        };
        let page = passes.page(&mode, None, vec![(user("a"), 1)], None);
        assert_eq!(ids(&page.users), ["a"]);
        assert!(page.sync_state.is_some());
    }

    #[test]
    fn fingerprints_ignore_sign_in_counters_and_key_order() {
        let a = serde_json::json!({"_id": "1", "email": "a@x", "badLoginAttempts": 0});
        let b = serde_json::json!({"badLoginAttempts": 3, "email": "a@x", "_id": "1"});
        let c = serde_json::json!({"_id": "1", "email": "b@x", "badLoginAttempts": 0});
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_ne!(fingerprint(&a), fingerprint(&c));
    }
}
