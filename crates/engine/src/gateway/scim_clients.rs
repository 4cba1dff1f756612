//! OAuth 2.0 client credentials for SCIM integrations (RFC 6749 §4.4): each `oauth_client_id`
//! belongs to one integration across every tenant (a second claim is a 409, so one tenant can
//! never lock another out), the token endpoint finds it by the id's hash without opening any
//! other integration's credentials, a credential that cannot be opened fails only its own
//! client, and failed attempts per client are limited.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use gatehouse_core::model::{Integration, IntegrationStatus, TokenKind};
use gatehouse_core::provider::Credentials;
use gatehouse_core::IntegrationId;
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use crate::tokens;
use crate::EngineError;

use super::Gateway;

/// Failed attempts one client id may make in [`WINDOW_SECS`] before it is refused for the rest
/// of the window (a secret cannot be guessed at the speed of the HTTP layer).
const MAX_FAILURES: u32 = 10;
const WINDOW_SECS: i64 = 60;
/// Lifetime of an issued SCIM access token.
const LIFETIME_SECS: i64 = 3600;

/// Why the token endpoint said no.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientRefusal {
    /// Unknown client or wrong secret (RFC 6749 `invalid_client`).
    InvalidClient,
    /// Too many failures for this client id; retry after the given seconds.
    TooManyAttempts { retry_after_secs: u64 },
}

/// Failed attempts per client-id hash, in fixed windows.
#[derive(Default)]
pub(crate) struct FailureLimiter {
    windows: Mutex<HashMap<String, (DateTime<Utc>, u32)>>,
}

impl FailureLimiter {
    /// Seconds until `key` may try again, when it is over its budget.
    fn blocked(&self, key: &str, now: DateTime<Utc>) -> Option<u64> {
        let windows = self.windows.lock().ok()?;
        let (start, failures) = windows.get(key)?;
        let end = *start + Duration::seconds(WINDOW_SECS);
        (*failures >= MAX_FAILURES && now < end)
            .then(|| u64::try_from((end - now).num_seconds().max(1)).unwrap_or(1))
    }

    fn fail(&self, key: &str, now: DateTime<Utc>) {
        if let Ok(mut windows) = self.windows.lock() {
            if windows.len() > 100_000 {
                windows.retain(|_, (start, _)| now - *start < Duration::seconds(WINDOW_SECS));
            }
            let entry = windows.entry(key.to_owned()).or_insert((now, 0));
            if now - entry.0 >= Duration::seconds(WINDOW_SECS) {
                *entry = (now, 0);
            }
            entry.1 += 1;
        }
    }
}

/// The hash under which a SCIM integration's client id is stored, if its credentials name one.
pub(super) fn client_id_hash(credentials: &Credentials) -> Option<String> {
    credentials
        .secret("oauth_client_id")
        .map(|id| tokens::hash(id.expose_secret()))
}

impl Gateway {
    /// Refuses a client id another integration already holds.
    pub(super) async fn check_client_id_free(
        &self,
        hash: Option<&str>,
        owner: &IntegrationId,
    ) -> Result<(), EngineError> {
        let Some(hash) = hash else {
            return Ok(());
        };
        let taken = self
            .store
            .all_integrations()
            .await?
            .into_iter()
            .any(|other| other.id != *owner && other.oauth_client_id_hash.as_deref() == Some(hash));
        if taken {
            return Err(EngineError::Conflict(
                "credentials.oauth_client_id is already used by another SCIM integration; each \
                 client id names one integration"
                    .into(),
            ));
        }
        Ok(())
    }

    /// OAuth 2.0 client credentials for a scim integration: a short-lived SCIM bearer token
    /// for the integration whose `oauth_client_id` and `oauth_client_secret` match.
    pub async fn scim_access_token(
        &self,
        client_id: &str,
        client_secret: &str,
    ) -> Result<Result<(SecretString, i64), ClientRefusal>, EngineError> {
        if client_id.is_empty() || client_secret.is_empty() || client_id.len() > 512 {
            return Ok(Err(ClientRefusal::InvalidClient));
        }
        let now = self.clock.now();
        let key = tokens::hash(client_id);
        if let Some(retry_after_secs) = self.scim_client_failures.blocked(&key, now) {
            return Ok(Err(ClientRefusal::TooManyAttempts { retry_after_secs }));
        }
        let integration = self
            .store
            .all_integrations()
            .await?
            .into_iter()
            .find(|i| i.oauth_client_id_hash.as_deref() == Some(key.as_str()));
        let verdict = match integration {
            Some(integration) if integration.status == IntegrationStatus::Active => self
                .client_secret_matches(&integration, client_id, client_secret)
                .then_some(integration),
            _ => None,
        };
        let Some(integration) = verdict else {
            self.scim_client_failures.fail(&key, now);
            return Ok(Err(ClientRefusal::InvalidClient));
        };
        let minted = tokens::mint(TokenKind::Scim);
        let mut record = self.token_record(
            &minted,
            TokenKind::Scim,
            Some(&integration.tenant_id),
            Some(&integration.id),
            None,
        );
        record.expires_at = Some(now + Duration::seconds(LIFETIME_SECS));
        self.store.put_token(&record).await?;
        tracing::info!(tenant_id = %integration.tenant_id, integration_id = %integration.id, "SCIM access token issued");
        Ok(Ok((minted.secret, LIFETIME_SECS)))
    }

    /// Whether the integration's stored client id and secret are the ones presented; a
    /// credential that cannot be opened fails this client only (and is logged).
    fn client_secret_matches(
        &self,
        integration: &Integration,
        client_id: &str,
        client_secret: &str,
    ) -> bool {
        let credentials = match self
            .sealer
            .open(&integration.credentials, integration.id.as_str())
        {
            Ok(credentials) => credentials,
            Err(error) => {
                tracing::error!(
                    tenant_id = %integration.tenant_id, integration_id = %integration.id, %error,
                    "cannot open a SCIM integration's credentials; its OAuth client is refused"
                );
                return false;
            }
        };
        let equal = |field: &str, presented: &str| {
            credentials.secret(field).is_some_and(|stored| {
                bool::from(
                    stored
                        .expose_secret()
                        .as_bytes()
                        .ct_eq(presented.as_bytes()),
                )
            })
        };
        equal("oauth_client_id", client_id) && equal("oauth_client_secret", client_secret)
    }
}
