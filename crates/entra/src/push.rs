//! Graph change notifications for users (docs "Receive change notifications through webhooks"):
//!
//! * the validation request — `POST` (or `GET`) `{notificationUrl}?validationToken={opaque}` —
//!   is answered `200 text/plain` with the token as given (already percent-decoded); it may come
//!   before the ingest token is known to work, so the factory answers it too;
//! * a delivery is `{"value": [{"subscriptionId", "clientState", "changeType", "resource",
//!   "resourceData": {"id", …}, "tenantId", …}]}`; it is accepted only when every notification
//!   carries the integration's `clientState` (compared in constant time), and decodes to the ids
//!   of the users that changed. Graph wants a 2xx within 3 s, so the door check only parses the
//!   envelope and compares the states.
//!
//! The `clientState` is `credentials.client_state`, else derived from the client secret with
//! HMAC-SHA256 (stable while the secret is, never the secret itself, 43 characters, well under
//! Graph's 128).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use gatehouse_core::provider::ConnectorError;
use gatehouse_core::records::{PushOutcome, PushReply, PushRequest, PushScreen};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::config::EntraCredentials;

/// The longest validation token echoed back.
const MAX_VALIDATION_TOKEN: usize = 2048;
/// What the derivation signs, so the derived state means nothing elsewhere.
const DERIVATION_LABEL: &str = "gatehouse/entra/clientState/v1";

/// The `clientState` of an integration.
pub fn client_state(credentials: &EntraCredentials) -> SecretString {
    if let Some(state) = &credentials.client_state {
        return state.clone();
    }
    derive_client_state(
        &credentials.client_secret,
        credentials.tenant_id.trim(),
        credentials.client_id.trim(),
    )
}

/// HMAC-SHA256 over the label, tenant and client id, keyed with the client secret.
pub fn derive_client_state(secret: &SecretString, tenant: &str, client_id: &str) -> SecretString {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes()) else {
        // HMAC takes keys of any length; this cannot happen.
        return SecretString::from(String::new());
    };
    mac.update(DERIVATION_LABEL.as_bytes());
    mac.update(b"\n");
    mac.update(tenant.to_ascii_lowercase().as_bytes());
    mac.update(b"\n");
    mac.update(client_id.as_bytes());
    SecretString::from(URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}

/// Graph's validation request, answered with its token; `None` when it is no such request.
pub fn validation(request: &PushRequest) -> Option<PushReply> {
    let token = request.query_param("validationToken")?;
    if token.is_empty() || token.len() > MAX_VALIDATION_TOKEN {
        return None;
    }
    Some(PushReply::text(200, token))
}

#[derive(Deserialize)]
struct Envelope {
    value: Vec<Notification>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Notification {
    #[serde(default)]
    client_state: Option<String>,
    #[serde(default)]
    resource: Option<String>,
    #[serde(default)]
    resource_data: Option<ResourceData>,
    #[serde(default)]
    lifecycle_event: Option<String>,
}

#[derive(Deserialize)]
struct ResourceData {
    #[serde(default)]
    id: Option<String>,
}

fn bad(message: &str) -> ConnectorError {
    ConnectorError::BadPush(message.to_owned())
}

/// Parses a delivery and checks every notification's `clientState`.
fn checked(
    request: &PushRequest,
    expected: &SecretString,
) -> Result<Vec<Notification>, ConnectorError> {
    if !request.method.eq_ignore_ascii_case("POST") {
        return Err(bad("Graph delivers change notifications only by POST"));
    }
    let envelope: Envelope = serde_json::from_slice(&request.body).map_err(|_| {
        bad("the body is not a Graph change notification collection (a JSON object with a value array)")
    })?;
    if envelope.value.is_empty() {
        return Err(bad("the notification collection is empty"));
    }
    let expected = expected.expose_secret().as_bytes();
    for (index, notification) in envelope.value.iter().enumerate() {
        let given = notification
            .client_state
            .as_deref()
            .unwrap_or_default()
            .as_bytes();
        let matches: bool = given.ct_eq(expected).into();
        if given.is_empty() || !matches {
            return Err(ConnectorError::BadPush(format!(
                "notification {index} does not carry the integration's clientState"
            )));
        }
    }
    Ok(envelope.value)
}

/// The door check: validation answered, a delivery parsed and its states compared.
pub fn screen(
    request: &PushRequest,
    expected: &SecretString,
) -> Result<PushScreen, ConnectorError> {
    if let Some(reply) = validation(request) {
        return Ok(PushScreen::Respond(reply));
    }
    let notifications = checked(request, expected)?;
    Ok(PushScreen::Accept {
        events: notifications.len(),
    })
}

/// A delivery as the ids of the users it says changed (each once, in order).
pub fn decode(
    request: &PushRequest,
    expected: &SecretString,
) -> Result<PushOutcome, ConnectorError> {
    if let Some(reply) = validation(request) {
        return Ok(PushOutcome::Respond(reply));
    }
    Ok(crate::contract::accounts_changed(changed_ids(
        request, expected,
    )?))
}

/// The user ids of a checked delivery.
pub fn changed_ids(
    request: &PushRequest,
    expected: &SecretString,
) -> Result<Vec<String>, ConnectorError> {
    let mut ids: Vec<String> = Vec::new();
    for notification in checked(request, expected)? {
        if let Some(event) = &notification.lifecycle_event {
            // subscriptionRemoved, reauthorizationRequired, missed: nothing names a user; the
            // pull the delivery triggers and the next `maintain` take care of it.
            tracing::info!(lifecycle_event = %event, "graph lifecycle notification");
            continue;
        }
        let id = notification
            .resource_data
            .and_then(|d| d.id)
            .or_else(|| {
                let resource = notification.resource?;
                let (kind, id) = resource.trim_matches('/').split_once('/')?;
                kind.eq_ignore_ascii_case("users").then(|| id.to_owned())
            })
            .map(|id| id.trim().to_owned())
            .filter(|id| !id.is_empty() && id.len() <= 256);
        if let Some(id) = id {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    fn post(body: serde_json::Value) -> PushRequest {
        PushRequest {
            method: "POST".into(),
            content_type: Some("application/json".into()),
            body: body.to_string().into_bytes(),
            ..PushRequest::default()
        }
    }

    fn state() -> SecretString {
        SecretString::from("secretClientValue".to_owned())
    }

    /// The delivery example of Graph's webhook docs (user resource).
    fn delivery(client_state: &str) -> serde_json::Value {
        json!({"value": [{
            "id": "lsgTZMr9KwAAA",
            "subscriptionId": "7f105c7d-2dc5-4530-97cd-4e7ae6534c07",
            "subscriptionExpirationDateTime": "2024-03-20T11:00:00.0000000Z",
            "clientState": client_state,
            "changeType": "updated",
            "resource": "Users/45deb0b2-0a5a-4e5a-8d5e-0fb1a0a0f3c1",
            "tenantId": "84bd8158-6d4d-4958-8b9f-9d6445542f95",
            "resourceData": {
                "@odata.type": "#Microsoft.Graph.User",
                "@odata.id": "Users/45deb0b2-0a5a-4e5a-8d5e-0fb1a0a0f3c1",
                "id": "45deb0b2-0a5a-4e5a-8d5e-0fb1a0a0f3c1",
                "organizationId": "84bd8158-6d4d-4958-8b9f-9d6445542f95"
            }
        }]})
    }

    #[test]
    fn the_validation_token_is_echoed_as_text() {
        let request = PushRequest {
            method: "POST".into(),
            query: vec![("validationToken".into(), "Validation: Testing client application reachability for subscription Request-Id: 2a3b".into())],
            content_type: Some("text/plain".into()),
            ..PushRequest::default()
        };
        let reply = validation(&request).unwrap();
        assert_eq!(reply.status, 200);
        assert!(reply.content_type.starts_with("text/plain"));
        assert_eq!(reply.body, b"Validation: Testing client application reachability for subscription Request-Id: 2a3b");
        assert!(matches!(
            screen(&request, &state()),
            Ok(PushScreen::Respond(_))
        ));
        assert_eq!(validation(&PushRequest::default()), None);
    }

    #[test]
    fn deliveries_need_the_client_state_of_every_notification() {
        let good = post(delivery("secretClientValue"));
        assert_eq!(
            screen(&good, &state()).unwrap(),
            PushScreen::Accept { events: 1 }
        );
        assert_eq!(
            changed_ids(&good, &state()).unwrap(),
            vec!["45deb0b2-0a5a-4e5a-8d5e-0fb1a0a0f3c1".to_owned()]
        );
        for wrong in [
            delivery("other"),
            delivery(""),
            json!({"value": []}),
            json!({"nope": 1}),
        ] {
            assert!(
                matches!(
                    screen(&post(wrong.clone()), &state()),
                    Err(ConnectorError::BadPush(_))
                ),
                "{wrong}"
            );
        }
        let mut mixed = delivery("secretClientValue");
        let mut second = mixed["value"][0].clone();
        second["clientState"] = json!(null);
        mixed["value"].as_array_mut().unwrap().push(second);
        assert!(screen(&post(mixed), &state()).is_err());
        let mut get = good.clone();
        get.method = "GET".into();
        assert!(screen(&get, &state()).is_err());
    }

    #[test]
    fn ids_come_from_resource_data_or_the_resource_path_once_each() {
        let mut body = delivery("s");
        let mut second = body["value"][0].clone();
        second["resourceData"] = json!(null);
        second["resource"] = json!("Users/aaaa");
        let third = body["value"][0].clone();
        let lifecycle = json!({"clientState": "s", "lifecycleEvent": "reauthorizationRequired", "subscriptionId": "x"});
        body["value"]
            .as_array_mut()
            .unwrap()
            .extend([second, third, lifecycle]);
        let ids = changed_ids(&post(body), &SecretString::from("s".to_owned())).unwrap();
        assert_eq!(
            ids,
            vec![
                "45deb0b2-0a5a-4e5a-8d5e-0fb1a0a0f3c1".to_owned(),
                "aaaa".to_owned()
            ]
        );
    }

    #[test]
    fn the_derived_state_is_stable_secret_and_short() {
        let secret = SecretString::from("client-secret-value".to_owned());
        let a = derive_client_state(&secret, "contoso.com", "app");
        let b = derive_client_state(&secret, "CONTOSO.com", "app");
        assert_eq!(a.expose_secret(), b.expose_secret());
        assert!(!a.expose_secret().contains("client-secret-value"));
        assert!(a.expose_secret().len() <= crate::config::MAX_CLIENT_STATE);
        let other = derive_client_state(&SecretString::from("x".to_owned()), "contoso.com", "app");
        assert_ne!(a.expose_secret(), other.expose_secret());
    }
}
