//! A page of inventory rows that is correlated but not yet written, as the next page of the
//! same pull must see it.
//!
//! A directory pull correlates page N while page N−1 is being written (`sync_pipeline.rs`), so
//! the store cannot yet answer for what N−1 brings: an account N−1 created, an identity it
//! created for an address or moved an address off. Reading the store alone, page N would create
//! a second account for an id the provider listed twice across the page boundary, or a second
//! identity for one person. [`Unwritten`] answers for those records, and the store for the rest.

use std::collections::HashMap;
use std::sync::Arc;

use gatehouse_core::model::{Identity, User};
use gatehouse_core::{IdentityId, IntegrationId};
use gatehouse_store::InventoryRows;

/// The rows of the page before, with what the next page looks up in them.
pub struct Unwritten {
    rows: Arc<InventoryRows>,
    /// external id → index in `rows.users` (of the integration each account names).
    accounts: HashMap<String, usize>,
    /// identity id → index in `rows.identities`.
    identities: HashMap<IdentityId, usize>,
    /// lower-cased address → index in `rows.identities` of the identity that holds it.
    holders: HashMap<String, usize>,
}

impl Unwritten {
    pub fn new(rows: Arc<InventoryRows>) -> Self {
        let accounts = rows
            .users
            .iter()
            .enumerate()
            .map(|(i, u)| (u.external_id.clone(), i))
            .collect();
        let identities = rows
            .identities
            .iter()
            .enumerate()
            .map(|(i, identity)| (identity.id.clone(), i))
            .collect();
        let holders = rows
            .identities
            .iter()
            .enumerate()
            .flat_map(|(i, identity)| identity.emails.iter().map(move |e| (e.to_lowercase(), i)))
            .collect();
        Self {
            rows,
            accounts,
            identities,
            holders,
        }
    }

    /// The account the page before writes for this provider id, if it has one.
    pub fn account(&self, integration: &IntegrationId, external_id: &str) -> Option<&User> {
        self.accounts
            .get(external_id)
            .and_then(|&i| self.rows.users.get(i))
            .filter(|account| &account.integration_id == integration)
    }

    /// The identity the page before writes with this id, if it changed it.
    pub fn identity(&self, id: &IdentityId) -> Option<&Identity> {
        self.identities
            .get(id)
            .and_then(|&i| self.rows.identities.get(i))
    }

    /// Who holds `email` (lower-cased) once the page before is written, given what the store
    /// answered: the page's own identity for the address first; then the store's, unless the
    /// page before changed that identity (and so took the address off it).
    pub fn holder_of(&self, email: &str, stored: Option<Identity>) -> Option<Identity> {
        if let Some(identity) = self
            .holders
            .get(email)
            .and_then(|&i| self.rows.identities.get(i))
        {
            return Some(identity.clone());
        }
        stored.filter(|identity| !self.identities.contains_key(&identity.id))
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use gatehouse_core::TenantId;

    use super::*;

    fn identity(id: &str, emails: &[&str]) -> Identity {
        let at = Utc
            .with_ymd_and_hms(2026, 12, 7, 0, 0, 0)
            .single()
            .unwrap_or_default();
        Identity {
            id: IdentityId::parse(id).unwrap_or_else(|| IdentityId::generate(at)),
            tenant_id: TenantId::parse("ten_a").unwrap_or_else(|| TenantId::generate(at)),
            emails: emails.iter().map(|e| (*e).to_owned()).collect(),
            display_name: None,
            accounts: Vec::new(),
            risk_score: 0,
            created_at: at,
            updated_at: at,
        }
    }

    fn account(external_id: &str) -> User {
        serde_json::from_value(serde_json::json!({
            "id": "usr_1", "tenant_id": "ten_a", "integration_id": "int_a",
            "provider": "scripted", "external_id": external_id, "login": "a",
            "email": null, "display_name": null, "status": "active", "mfa_enrolled": null,
            "identity_id": null, "created_at": null, "last_login_at": null,
            "updated_at": null, "synced_at": "2026-12-07T00:00:00Z",
        }))
        .unwrap_or_else(|e| panic!("a test account: {e}"))
    }

    #[test]
    fn the_page_befores_records_answer_before_the_stores() {
        let moved = identity("idn_moved", &["new@x.example"]);
        let created = identity("idn_created", &["Fresh@X.example"]);
        let rows = InventoryRows {
            users: vec![account("ext-1")],
            identities: vec![moved.clone(), created.clone()],
            drawn: Default::default(),
        };
        let unwritten = Unwritten::new(Arc::new(rows));
        let integration = IntegrationId::parse("int_a").unwrap_or_else(|| unreachable!());

        assert!(unwritten.account(&integration, "ext-1").is_some());
        assert!(unwritten.account(&integration, "ext-2").is_none());
        let other = IntegrationId::parse("int_b").unwrap_or_else(|| unreachable!());
        assert!(
            unwritten.account(&other, "ext-1").is_none(),
            "another integration's id"
        );
        // An address the page before gave an identity: that identity, whatever the store says.
        assert_eq!(unwritten.holder_of("fresh@x.example", None), Some(created));
        // The store still shows the old address on an identity the page before changed: the
        // address is no longer that identity's.
        let stale = identity("idn_moved", &["old@x.example"]);
        assert_eq!(unwritten.holder_of("old@x.example", Some(stale)), None);
        // Anything the page before did not touch is the store's answer.
        let other = identity("idn_other", &["other@x.example"]);
        assert_eq!(
            unwritten.holder_of("other@x.example", Some(other.clone())),
            Some(other)
        );
        assert_eq!(
            unwritten.identity(&moved.id).map(|i| i.emails.clone()),
            Some(vec!["new@x.example".to_owned()])
        );
    }
}
