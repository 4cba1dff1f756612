//! Outbound provisioning (an integration whose config says `provision: true`): the people the
//! tenant's IdP integrations bring in, handed to the integration's connector
//! ([`Connector::provision`]) to create, update and deactivate in the downstream app.
//!
//! A pass reads the tenant's accounts a page at a time (never the whole inventory at once) and
//! turns each Gatehouse identity with an account at a source integration (every integration
//! of the tenant but the downstream-app kinds and this one) into a [`DesiredAccount`]: the
//! identity id as the app's `externalId`, the primary e-mail as `userName`, names from the
//! accounts, `active` unless every source account is suspended or deprovisioned. An identity
//! is visited once, at its smallest account id. Identities without an e-mail are skipped.
//! Batches of [`BATCH`] go to the connector; after a complete pass the connector's sweep
//! deactivates the accounts it manages that the pass did not bring (the person left every
//! IdP). A pass that fails midway sweeps nothing.
//!
//! Where the connector provisions group memberships ([`Connector::provisions_groups`]), each
//! desired account also carries the names of the groups its source accounts belong to (the
//! inventory's groups of those integrations; a deprovisioned account's count for none), each
//! group's name read from the store once per pass.
//!
//! [`Connector::provision`]: gatehouse_core::provider::Connector::provision
//! [`Connector::provisions_groups`]: gatehouse_core::provider::Connector::provisions_groups

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use gatehouse_core::model::{Identity, Integration, ProvisionCounts, User, UserStatus};
use gatehouse_core::provider::Connector;
use gatehouse_core::records::DesiredAccount;
use gatehouse_core::{GroupId, IdentityId, IntegrationId};
use gatehouse_store::{PageRequest, Store, UserFilter};
use serde_json::Value;

use crate::EngineError;

/// Accounts read from the store per page, and desired accounts per connector call.
pub const BATCH: usize = 500;
/// Integration types that are downstream apps, never sources of people.
const DOWNSTREAM_KINDS: [&str; 1] = ["scim_app"];
/// The cursor holding the connector's opaque provisioning state.
pub(crate) const STATE: &str = "provision.state";

/// Whether an integration provisions into its app (`config.provision: true`).
pub fn provisions(integration: &Integration) -> bool {
    integration
        .config
        .get("provision")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// Runs one provisioning pass for `integration` through `connector`.
pub(crate) async fn run(
    store: &Arc<dyn Store>,
    integration: &Integration,
    connector: &dyn Connector,
    state: Option<String>,
) -> Result<(ProvisionCounts, Option<String>), EngineError> {
    let tenant = &integration.tenant_id;
    let sources = sources(store, integration).await?;
    let source_ids: HashSet<IntegrationId> = sources.keys().cloned().collect();
    let mut counts = ProvisionCounts::default();
    let mut state = state;
    if sources.is_empty() {
        // No IdP to say who exists: nobody is provisioned, and nobody swept out either.
        tracing::info!(tenant_id = %tenant, integration_id = %integration.id,
            "no source integrations: nothing to provision");
        return Ok((counts, state));
    }
    // Memberships only where the connector writes them; group names read once per run.
    let mut names: Option<GroupNames> = connector
        .provisions_groups()
        .await?
        .then(GroupNames::default);
    let mut kept: HashSet<String> = HashSet::new();
    let mut batch: Vec<DesiredAccount> = Vec::with_capacity(BATCH);
    let mut cursor: Option<String> = None;
    loop {
        let page = store
            .list_users(
                tenant,
                &UserFilter::default(),
                &PageRequest::new(BATCH, cursor.take()),
            )
            .await?;
        let mut visited: HashSet<IdentityId> = HashSet::new();
        for user in &page.items {
            if !source_ids.contains(&user.integration_id) {
                continue;
            }
            let Some(identity_id) = &user.identity_id else {
                continue;
            };
            if !visited.insert(identity_id.clone()) {
                continue;
            }
            let Some(identity) = store.get_identity(tenant, identity_id).await? else {
                continue;
            };
            let accounts = accounts_of(store, &identity, user, &source_ids).await?;
            // Visited once: at the identity's smallest source account.
            if accounts.first().map(|a| &a.id) != Some(&user.id) {
                continue;
            }
            let groups = match names.as_mut() {
                Some(names) => Some(names.of(store, &sources, &accounts).await?),
                None => None,
            };
            if let Some(mut desired) = desired(&identity, accounts) {
                desired.groups = groups;
                kept.insert(desired.external_id.clone());
                batch.push(desired);
            }
            if batch.len() >= BATCH {
                let report = connector.provision(&batch, state.as_deref()).await?;
                counts.add(&report.counts);
                state = report.state;
                log_failures(integration, &report.errors);
                batch.clear();
            }
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    if !batch.is_empty() {
        let report = connector.provision(&batch, state.as_deref()).await?;
        counts.add(&report.counts);
        state = report.state;
        log_failures(integration, &report.errors);
    }
    let swept = connector.provision_sweep(&kept, state.as_deref()).await?;
    counts.add(&swept.counts);
    log_failures(integration, &swept.errors);
    Ok((counts, swept.state))
}

fn log_failures(integration: &Integration, errors: &[String]) {
    for error in errors {
        tracing::warn!(tenant_id = %integration.tenant_id, integration_id = %integration.id,
            %error, "the app refused a provisioned account");
    }
}

/// The names of the inventory's groups, read once per pass.
#[derive(Default)]
struct GroupNames {
    known: HashMap<GroupId, Option<String>>,
}

impl GroupNames {
    /// The names of the groups the accounts belong to (accounts gone from their IdP count
    /// for none), sorted, without duplicates.
    async fn of(
        &mut self,
        store: &Arc<dyn Store>,
        sources: &HashMap<IntegrationId, Integration>,
        accounts: &[User],
    ) -> Result<Vec<String>, EngineError> {
        let mut names = BTreeSet::new();
        for account in accounts {
            if account.status == UserStatus::Deprovisioned {
                continue;
            }
            let Some(integration) = sources.get(&account.integration_id) else {
                continue;
            };
            for external in &account.groups {
                let id = crate::inventory::group_id(integration, external);
                let name = match self.known.get(&id) {
                    Some(name) => name.clone(),
                    None => {
                        let name = store
                            .get_group(&integration.tenant_id, &id)
                            .await?
                            .map(|g| g.name.trim().to_owned())
                            .filter(|n| !n.is_empty());
                        self.known.insert(id, name.clone());
                        name
                    }
                };
                names.extend(name);
            }
        }
        Ok(names.into_iter().collect())
    }
}

/// The tenant's integrations that bring people in, by id.
async fn sources(
    store: &Arc<dyn Store>,
    integration: &Integration,
) -> Result<HashMap<IntegrationId, Integration>, EngineError> {
    let mut sources = HashMap::new();
    let mut cursor = None;
    loop {
        let page = store
            .list_integrations(
                &integration.tenant_id,
                &PageRequest::new(PageRequest::MAX_LIMIT, cursor.take()),
            )
            .await?;
        sources.extend(
            page.items
                .into_iter()
                .filter(|i| i.id != integration.id && !DOWNSTREAM_KINDS.contains(&i.kind.as_str()))
                .map(|i| (i.id.clone(), i)),
        );
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(sources),
        }
    }
}

/// The identity's accounts at source integrations, smallest id first (`seen` is one of them,
/// already read).
async fn accounts_of(
    store: &Arc<dyn Store>,
    identity: &Identity,
    seen: &User,
    sources: &HashSet<IntegrationId>,
) -> Result<Vec<User>, EngineError> {
    let mut accounts = vec![seen.clone()];
    for id in &identity.accounts {
        if *id == seen.id {
            continue;
        }
        if let Some(user) = store.get_user(&identity.tenant_id, id).await? {
            if user.identity_id.as_ref() == Some(&identity.id)
                && sources.contains(&user.integration_id)
            {
                accounts.push(user);
            }
        }
    }
    accounts.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(accounts)
}

fn is_on(status: UserStatus) -> bool {
    !matches!(status, UserStatus::Suspended | UserStatus::Deprovisioned)
}

/// The person as the app should have them; `None` without an e-mail.
pub fn desired(identity: &Identity, mut accounts: Vec<User>) -> Option<DesiredAccount> {
    // Accounts that are on speak first, then by id: stable from run to run.
    accounts.sort_by_key(|a: &User| (!is_on(a.status), a.id.clone()));
    let address = |a: &User| a.email.clone().or_else(|| a.emails.first().cloned());
    let user_name = accounts
        .iter()
        .find_map(address)
        .or_else(|| identity.emails.first().cloned())
        .map(|e| e.trim().to_owned())
        .filter(|e| e.contains('@'))?;
    let first = |field: fn(&User) -> Option<&String>| {
        accounts
            .iter()
            .find_map(|a| field(a).filter(|v| !v.trim().is_empty()).cloned())
    };
    let mut emails: Vec<String> = vec![user_name.clone()];
    for account in &accounts {
        for address in account.email.iter().chain(&account.emails) {
            let address = address.trim();
            if address.contains('@') && !emails.iter().any(|e| e.eq_ignore_ascii_case(address)) {
                emails.push(address.to_owned());
            }
        }
    }
    let given_name = first(|a| a.given_name.as_ref());
    let family_name = first(|a| a.family_name.as_ref());
    let display_name = first(|a| a.display_name.as_ref())
        .or_else(|| identity.display_name.clone())
        .or_else(|| {
            let joined = [given_name.as_deref(), family_name.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            (!joined.is_empty()).then_some(joined)
        });
    Some(DesiredAccount {
        external_id: identity.id.as_str().to_owned(),
        user_name,
        given_name,
        family_name,
        display_name,
        emails,
        active: accounts.iter().any(|a| is_on(a.status)),
        groups: None,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    fn account(id: &str, status: &str, email: Option<&str>, given: Option<&str>) -> User {
        serde_json::from_value(
            json!({"id": id, "tenant_id": "ten_1", "integration_id": "int_1",
            "provider": "idp", "external_id": id, "login": id, "status": status,
            "email": email, "given_name": given, "synced_at": "2026-01-01T00:00:00Z"}),
        )
        .unwrap()
    }

    fn identity() -> Identity {
        serde_json::from_value(json!({"id": "idn_01hzzzzzzzzzzzzzzzzzzzzzzz",
            "tenant_id": "ten_1", "emails": [], "display_name": null, "accounts": [],
            "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}))
        .unwrap()
    }

    #[test]
    fn the_account_that_is_on_speaks_first_and_all_off_is_inactive() {
        let off = account("usr_a", "suspended", Some("Old@Corp.example"), Some("Old"));
        let on = account("usr_b", "active", Some("ada@corp.example"), None);
        let desired = super::desired(&identity(), vec![off.clone(), on]).unwrap();
        assert_eq!(desired.external_id, "idn_01hzzzzzzzzzzzzzzzzzzzzzzz");
        assert_eq!(desired.user_name, "ada@corp.example");
        assert_eq!(desired.emails, ["ada@corp.example", "Old@Corp.example"]);
        assert_eq!(desired.given_name.as_deref(), Some("Old"));
        assert!(desired.active);
        let gone = account("usr_c", "deprovisioned", Some("x@corp.example"), None);
        assert!(!super::desired(&identity(), vec![off, gone]).unwrap().active);
        let no_mail = account("usr_d", "active", None, None);
        assert!(super::desired(&identity(), vec![no_mail]).is_none());
    }
}
