//! Okta's object ids on the common seeded generator: a 3-character type
//! prefix and base62 characters, 20 in all (`00u…` users, `00g…` groups,
//! `ufs…` factors).

pub use crate::common::rng::SimRng;

/// Okta-shaped ids from a [`SimRng`].
pub trait OktaIds {
    /// An Okta-style object id with `prefix` as its type prefix.
    fn okta_id(&mut self, prefix: &str) -> String;
}

impl OktaIds for SimRng {
    fn okta_id(&mut self, prefix: &str) -> String {
        self.prefixed_id(prefix, 20)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn okta_ids_are_twenty_characters_after_their_prefix() {
        let id = SimRng::new(1).okta_id("00u");
        assert_eq!(id.len(), 20);
        assert!(id.starts_with("00u"));
        assert_eq!(SimRng::new(7).okta_id("00g"), SimRng::new(7).okta_id("00g"));
    }
}
