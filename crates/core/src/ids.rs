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
    fn caller_chosen_ids_are_restricted() {
        assert!(is_valid_id("ten_01hxyz"));
        assert!(is_valid_id("Acme-Prod_2"));
        for bad in ["", "a/b", "a b", "a\u{0}b", "ä", &"x".repeat(65)] {
            assert!(!is_valid_id(bad), "{bad:?} should be rejected");
        }
    }
}
