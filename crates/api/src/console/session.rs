//! The console's server-side sessions: a random 256-bit session id (from the OS CSPRNG) in an
//! HttpOnly cookie, kept here only as its SHA-256 hash, with the key it was exchanged for, a
//! CSRF token and an expiry. In memory and bounded: a restart signs everyone out.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use rand::RngCore;
use secrecy::SecretString;
use subtle::ConstantTimeEq;

/// The session cookie's name.
pub(crate) const COOKIE: &str = "gh_session";
/// The header a state-changing call made with the session cookie must carry.
pub(crate) const CSRF_HEADER: &str = "x-csrf-token";
/// How long a session lasts after sign-in.
pub(crate) const LIFETIME: Duration = Duration::from_secs(8 * 60 * 60);
/// Sessions held at once; past it the one closest to expiry is dropped.
pub(crate) const MAX_SESSIONS: usize = 10_000;

/// One signed-in console.
#[derive(Clone)]
pub(crate) struct Session {
    /// The operator or tenant API key the session was exchanged for: every request is
    /// authenticated with it again, so revoking the key ends the session at once.
    pub key: SecretString,
    pub csrf: String,
    pub expires: Instant,
}

impl Session {
    /// Whether `presented` is this session's CSRF token, in constant time.
    pub(crate) fn csrf_matches(&self, presented: &str) -> bool {
        self.csrf.as_bytes().ct_eq(presented.as_bytes()).into()
    }
}

/// The session store (an `Extension` of the router).
#[derive(Default)]
pub(crate) struct Sessions {
    by_hash: Mutex<HashMap<String, Session>>,
}

/// 256 random bits from the OS, URL-safe base64.
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    B64URL.encode(bytes)
}

fn hash(id: &str) -> String {
    gatehouse_engine::tokens::hash(id)
}

impl Sessions {
    /// Opens a session for `key`: its id (for the cookie, never stored) and the session.
    pub(crate) fn open(&self, key: SecretString, now: Instant) -> (String, Session) {
        let id = random_token();
        let session = Session {
            key,
            csrf: random_token(),
            expires: now + LIFETIME,
        };
        let mut map = self.lock();
        map.retain(|_, s| s.expires > now);
        if map.len() >= MAX_SESSIONS {
            if let Some(oldest) = map
                .iter()
                .min_by_key(|(_, s)| s.expires)
                .map(|(h, _)| h.clone())
            {
                map.remove(&oldest);
            }
        }
        map.insert(hash(&id), session.clone());
        (id, session)
    }

    /// The live session with this id.
    pub(crate) fn get(&self, id: &str, now: Instant) -> Option<Session> {
        let key = hash(id);
        let mut map = self.lock();
        match map.get(&key) {
            Some(s) if s.expires > now => Some(s.clone()),
            Some(_) => {
                map.remove(&key);
                None
            }
            None => None,
        }
    }

    /// Ends the session with this id.
    pub(crate) fn close(&self, id: &str) -> bool {
        self.lock().remove(&hash(id)).is_some()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        // A panic while holding the lock leaves a map that is still consistent.
        self.by_hash
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The value of the session cookie in a `Cookie` header, if any.
pub(crate) fn cookie_value(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret as _;

    #[test]
    fn sessions_are_random_hashed_and_expire() {
        let sessions = Sessions::default();
        let now = Instant::now();
        let (a, sa) = sessions.open(SecretString::from("k1"), now);
        let (b, _) = sessions.open(SecretString::from("k2"), now);
        assert_ne!(a, b);
        assert_eq!(B64URL.decode(&a).map(|v| v.len()).ok(), Some(32));
        assert!(!sessions.lock().contains_key(&a), "only the hash is a key");
        let got = sessions.get(&a, now);
        assert_eq!(
            got.map(|s| s.key.expose_secret().to_owned()).as_deref(),
            Some("k1")
        );
        assert!(sa.csrf_matches(&sa.csrf) && !sa.csrf_matches("nope"));
        assert!(sessions.get(&a, now + LIFETIME).is_none());
        assert!(sessions.close(&b));
        assert!(sessions.get(&b, now).is_none());
    }

    #[test]
    fn the_store_is_bounded() {
        let sessions = Sessions::default();
        let now = Instant::now();
        for i in 0..MAX_SESSIONS + 5 {
            sessions.open(SecretString::from(format!("k{i}")), now);
        }
        assert!(sessions.lock().len() <= MAX_SESSIONS);
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(
            axum::http::header::COOKIE,
            axum::http::HeaderValue::from_static("a=1; gh_session=abc; b=2"),
        );
        assert_eq!(cookie_value(&headers).as_deref(), Some("abc"));
    }
}
