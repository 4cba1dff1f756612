//! The public push URL a connector registers at its provider itself (a Graph change-notification
//! subscription): built from the integration's `public_base_url` and its current ingest token,
//! which is kept sealed like the credentials for this one use.

use gatehouse_core::model::Integration;
use gatehouse_core::provider::Credentials;
use gatehouse_core::IntegrationId;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

use crate::EngineError;

use super::Gateway;

/// The config key naming where the daemon is reachable from the provider.
pub const PUBLIC_BASE_URL: &str = "public_base_url";

/// What the sealed ingest token is authenticated with besides the integration id, so a sealed
/// push token can never be opened as the integration's credentials or the other way round.
fn owner(id: &IntegrationId) -> String {
    format!("{id}#push-token")
}

impl Gateway {
    pub(super) fn seal_push_token(
        &self,
        token: &SecretString,
        id: &IntegrationId,
    ) -> Result<gatehouse_core::model::SealedSecret, EngineError> {
        let mut object = Map::new();
        object.insert(
            "token".into(),
            Value::String(token.expose_secret().to_owned()),
        );
        self.sealer
            .seal(&Credentials::from_object(object), &owner(id))
    }

    /// `{public_base_url}/v1/idp/{type}?tenant_id=…&token=…`, when the config names a public
    /// base URL and the integration's ingest token is kept; `None` otherwise.
    pub(super) fn push_url(
        &self,
        integration: &Integration,
    ) -> Result<Option<SecretString>, EngineError> {
        let Some(base) = integration
            .config
            .get(PUBLIC_BASE_URL)
            .and_then(Value::as_str)
        else {
            return Ok(None);
        };
        let Some(sealed) = &integration.push_token else {
            return Ok(None);
        };
        let opened = self.sealer.open(sealed, &owner(&integration.id))?;
        let Some(token) = opened.secret("token") else {
            return Ok(None);
        };
        let mut url = reqwest::Url::parse(base.trim_end_matches('/'))
            .map_err(|_| EngineError::invalid("config.public_base_url", "is not a URL"))?;
        url.path_segments_mut()
            .map_err(|()| EngineError::invalid("config.public_base_url", "cannot be a base URL"))?
            .pop_if_empty()
            .extend(["v1", "idp", &integration.kind]);
        url.query_pairs_mut()
            .append_pair("tenant_id", integration.tenant_id.as_str())
            .append_pair("token", token.expose_secret());
        Ok(Some(SecretString::from(url.to_string())))
    }
}

/// Re-seals a push token under another master key (`gatehouse keys rotate`).
pub fn reseal_push_token(
    opener: &crate::secrets::Sealer,
    sealer: &crate::secrets::Sealer,
    integration: &mut Integration,
) -> Result<(), EngineError> {
    if let Some(sealed) = &integration.push_token {
        let owner = owner(&integration.id);
        let opened = opener.open(sealed, &owner)?;
        integration.push_token = Some(sealer.seal(&opened, &owner)?);
    }
    Ok(())
}
