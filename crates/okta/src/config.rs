//! What an Okta integration is made of: its typed credentials and config (the one source of the
//! catalog entry, the API's validation and the docs), the hosts an Okta org lives under, and the
//! descriptor the daemon registers.

use std::fmt;

use gatehouse_connect::ratelimit::RateHeaders;
use gatehouse_core::catalog::{FieldSet, Fields, ProviderDescriptor, PullConfig};
use gatehouse_core::records::DEFAULT_TOKEN_PLACES;
use gatehouse_core::validate::{EndpointPolicy, FieldError};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;

use crate::auth::{KeyError, Signer};

/// Hosts under which an Okta org lives: commercial cells, preview, EMEA, and the US government
/// and military clouds (Okta for Government High, DOD).
pub const OKTA_DOMAINS: &[&str] = &[
    "okta.com",
    "oktapreview.com",
    "okta-emea.com",
    "okta-gov.com",
    "okta.mil",
    "okta-miltest.com",
    "trex-gov.com",
];

/// Okta's rate-limit headers (per endpoint family; the reset is epoch seconds).
pub const RATE_HEADERS: RateHeaders = RateHeaders {
    limit: "x-rate-limit-limit",
    remaining: "x-rate-limit-remaining",
    reset: "x-rate-limit-reset",
};

/// Credentials of an Okta integration: the org's domain and exactly one way to authenticate,
/// an `SSWS` API token or an OAuth 2.0 service app (`client_id` and `private_key`).
#[derive(Clone, Deserialize, utoipa::ToSchema)]
pub struct OktaCredentials {
    /// The org host, e.g. `acme.okta.com` (not the `-admin` console host).
    #[schema(min_length = 1)]
    pub domain: String,
    /// An `SSWS` API token, created by an administrator in the Admin Console (Security > API >
    /// Tokens). Give this, or `client_id` and `private_key`.
    #[schema(min_length = 1, value_type = Option<String>)]
    pub api_token: Option<SecretString>,
    /// The client id (`0oa…`) of an API Services app integration that authenticates with
    /// Public key / Private key (`private_key_jwt`).
    #[schema(min_length = 1)]
    pub client_id: Option<String>,
    /// The service app's private key: a JWK object (RSA, or EC on P-256) or a PEM private key
    /// (PKCS#8 `BEGIN PRIVATE KEY`, or `BEGIN RSA PRIVATE KEY`). Signs RS256 or ES256 client
    /// assertions; never shown again.
    #[schema(value_type = Option<Value>)]
    pub private_key: Option<PrivateKey>,
    /// The `kid` of the app's public key to name in the assertion header (default: the JWK's own
    /// `kid`, else none, which Okta accepts when the app has a single key).
    #[schema(min_length = 1)]
    pub key_id: Option<String>,
    /// The Okta scopes to ask for (default: `okta.users.read`, `okta.groups.read`,
    /// `okta.roles.read`, `okta.logs.read` when the System Log is pulled, and with response
    /// actions enabled `okta.users.manage`, plus `okta.groups.manage` when `mfa_group_id` is set).
    /// Every scope asked for must be granted to the app.
    pub scopes: Option<Vec<String>>,
}

impl fmt::Debug for OktaCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OktaCredentials")
            .field("domain", &self.domain)
            .field("client_id", &self.client_id)
            .field("key_id", &self.key_id)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// A private key as given (PEM text, or a JWK object kept as its JSON text), held as a secret.
#[derive(Clone)]
pub struct PrivateKey(SecretString);

impl PrivateKey {
    /// The signer for client assertions; `key_id` overrides the JWK's `kid`.
    pub(crate) fn signer(&self, key_id: Option<&str>) -> Result<Signer, KeyError> {
        Signer::from_text(self.0.expose_secret(), key_id)
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrivateKey([REDACTED])")
    }
}

impl<'de> Deserialize<'de> for PrivateKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::String(pem) => Ok(Self(SecretString::from(pem))),
            Value::Object(jwk) => Ok(Self(SecretString::from(Value::Object(jwk).to_string()))),
            _ => Err(serde::de::Error::custom(
                "must be a JWK object or a PEM private key",
            )),
        }
    }
}

impl Fields for OktaCredentials {
    fn check(&self, policy: EndpointPolicy) -> Result<(), FieldError> {
        let host = self.domain.trim().to_ascii_lowercase();
        let org = host.split('.').next().unwrap_or_default();
        if org.ends_with("-admin") && OKTA_DOMAINS.iter().any(|d| host.ends_with(d)) {
            // The Admin Console's host answers the API differently (and is not the org's).
            return Err(FieldError::new(
                "domain",
                "is the Admin Console's host; use the org host without -admin (for example acme.okta.com)",
            ));
        }
        policy.check_host("domain", &self.domain, OKTA_DOMAINS, "acme.okta.com")?;
        self.check_method()
    }
}

impl OktaCredentials {
    /// Exactly one authentication method, and a service app's key that can sign.
    fn check_method(&self) -> Result<(), FieldError> {
        let app = self.client_id.is_some() || self.private_key.is_some();
        match (&self.api_token, app) {
            (None, false) => Err(FieldError::new(
                "api_token",
                "is required, unless an OAuth 2.0 service app is given (client_id and private_key)",
            )),
            (Some(_), true) => Err(FieldError::new(
                if self.client_id.is_some() { "client_id" } else { "private_key" },
                "cannot be combined with api_token; give either api_token or client_id and private_key",
            )),
            (Some(_), false) => {
                for (field, given) in [("key_id", self.key_id.is_some()), ("scopes", self.scopes.is_some())] {
                    if given {
                        return Err(FieldError::new(
                            field,
                            "applies only to a service app (client_id and private_key), not to api_token",
                        ));
                    }
                }
                Ok(())
            }
            (None, true) => {
                if self.client_id.is_none() {
                    return Err(FieldError::new("client_id", "is required with private_key"));
                }
                let Some(key) = &self.private_key else {
                    return Err(FieldError::new("private_key", "is required with client_id"));
                };
                key.signer(self.key_id.as_deref())
                    .map_err(|e| FieldError::new("private_key", e.to_string()))?;
                self.check_scopes()
            }
        }
    }

    fn check_scopes(&self) -> Result<(), FieldError> {
        let Some(scopes) = &self.scopes else {
            return Ok(());
        };
        // The org authorization server mints only Okta scopes for service apps.
        let valid = |s: &String| {
            s.starts_with("okta.")
                && s.len() > 5
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_')
        };
        if scopes.is_empty() || !scopes.iter().all(valid) {
            return Err(FieldError::new(
                "scopes",
                "must be a non-empty list of Okta API scopes (okta.users.read, …)",
            ));
        }
        Ok(())
    }
}

/// What `disable_account` does at Okta.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DisableMode {
    /// `POST /lifecycle/suspend`: the user cannot sign in; app and group assignments are kept.
    #[default]
    Suspend,
    /// `POST /lifecycle/deactivate?sendEmail=false`: destructive, deprovisions the user's apps.
    Deactivate,
}

/// What a users pull reads besides the user records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Enrichment {
    /// Each user's MFA factors (`GET /api/v1/users/{id}/factors`): one call per user, so a
    /// 100,000-user full pull makes 100,000 extra calls under Okta's per-endpoint limits.
    Factors,
    /// Admin standing, from the roster of role assignments (a few calls per pull).
    Roles,
}

/// Config of an Okta integration.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct OktaConfig {
    #[serde(flatten)]
    #[schema(inline)]
    pub pull: PullConfig,
    /// Pull the System Log (default true); without it, detections that need events Okta does
    /// not send through event hooks cannot fire.
    pub ingest_system_log: Option<bool>,
    /// How far back the first System Log pull starts, in hours (default 24).
    #[schema(minimum = 1, maximum = 2160)]
    pub system_log_lookback_hours: Option<i64>,
    /// What disable_account does: `suspend` (default) or `deactivate`.
    #[schema(inline)]
    pub disable_mode: Option<DisableMode>,
    /// What users pulls read besides the user records (default `["factors", "roles"]`).
    /// Leave `factors` out on large orgs for full pulls at the speed of the users pages; MFA
    /// enrolment then stays as the inventory last knew it.
    #[schema(inline)]
    pub enrich: Option<Vec<Enrichment>>,
    /// The group enforce_mfa adds the user to (one targeted by a stricter authentication
    /// policy).
    #[schema(min_length = 1)]
    pub mfa_group_id: Option<String>,
    /// Whether enforce_mfa resets the MFA factors of a user who is not suspended (default
    /// false: only a suspended user's factors are reset). When true, the password is expired
    /// and the sessions revoked first, so whoever holds the password cannot enrol their own
    /// factor.
    pub enforce_mfa_reset_factors: Option<bool>,
}

impl Fields for OktaConfig {}

/// The Okta integration type.
pub static DESCRIPTOR: ProviderDescriptor = ProviderDescriptor {
    id: "okta",
    display_name: "Okta",
    push_capable: true,
    push_token: DEFAULT_TOKEN_PLACES,
    scim_server: false,
    signins_flag: Some("ingest_system_log"),
    credentials: FieldSet::of::<OktaCredentials>(),
    config: FieldSet::of::<OktaConfig>(),
};

#[cfg(test)]
mod tests {
    use gatehouse_core::validate::{self, validate_config, validate_credentials};
    use serde_json::{json, Map, Value};

    use super::*;

    const STRICT: EndpointPolicy = EndpointPolicy {
        allow_custom_endpoints: false,
    };
    const CUSTOM: EndpointPolicy = EndpointPolicy {
        allow_custom_endpoints: true,
    };

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    fn domain(domain: &str, policy: EndpointPolicy) -> Result<(), FieldError> {
        validate_credentials(
            &DESCRIPTOR,
            &obj(json!({"domain": domain, "api_token": "t"})),
            policy,
        )
    }

    #[test]
    fn domain_must_be_an_okta_host() {
        for good in [
            "acme.okta.com",
            "acme.oktapreview.com",
            "Acme.OKTA-EMEA.com",
            "a.b.okta.com",
            "agency.okta-gov.com",
            "unit.okta.mil",
            "unit.okta-miltest.com",
            "agency.trex-gov.com",
        ] {
            assert_eq!(domain(good, STRICT), Ok(()), "{good}");
        }
        for bad in [
            "okta.com",
            "evil.com",
            "acme.okta.com.evil.com",
            "notokta.com",
            "https://acme.okta.com",
            "acme.okta.com/path",
            "acme.okta.com:8443",
            "127.0.0.1",
            "http://127.0.0.1:9001",
            "acme-admin.okta.com",
            "acme-admin.oktapreview.com",
        ] {
            let err = domain(bad, STRICT).unwrap_err();
            assert_eq!(err.field, "credentials.domain", "{bad}");
            if !OKTA_DOMAINS.contains(&bad) {
                assert!(
                    !err.message.contains(bad),
                    "the message must not echo input"
                );
            }
        }
        let err = domain("acme-admin.okta.com", CUSTOM).unwrap_err();
        assert!(err.message.contains("Admin Console"), "{}", err.message);
    }

    #[test]
    fn custom_endpoints_admit_urls() {
        assert_eq!(domain("http://127.0.0.1:9001", CUSTOM), Ok(()));
        assert_eq!(domain("login.acme.example", CUSTOM), Ok(()));
        assert!(domain("ftp://127.0.0.1", CUSTOM).is_err());
        assert!(domain("http://user:pw@127.0.0.1", CUSTOM).is_err());
    }

    #[test]
    fn required_unknown_and_typed_config_fields() {
        let err = validate_credentials(&DESCRIPTOR, &obj(json!({"domain": "a.okta.com"})), STRICT)
            .unwrap_err();
        assert_eq!(err.field, "credentials.api_token");
        let config = |v: Value| validate_config(&DESCRIPTOR, &obj(v), STRICT);
        let err = config(json!({"ingest_userz": true})).unwrap_err();
        assert_eq!(err.field, "config.ingest_userz");
        assert!(err.message.contains("unknown"));
        let err = config(json!({"ingest_users": "yes"})).unwrap_err();
        assert_eq!(err.field, "config.ingest_users");
        let err = config(json!({"disable_mode": "delete"})).unwrap_err();
        assert!(
            err.message.contains("suspend, deactivate"),
            "{}",
            err.message
        );
        let err = config(json!({"system_log_lookback_hours": 5000})).unwrap_err();
        assert_eq!(err.field, "config.system_log_lookback_hours");
        assert_eq!(
            config(
                json!({"ingest_system_log": false, "users_schedule": "0 */5 * * * *",
                          "rate_limit_share": 0.3, "mfa_group_id": "00g1"})
            ),
            Ok(())
        );
    }

    fn credentials(v: Value) -> Result<(), FieldError> {
        validate_credentials(&DESCRIPTOR, &obj(v), STRICT)
    }

    /// A P-256 private JWK made on the spot (ring's PKCS#8 holds the scalar at 36..68).
    fn ec_jwk() -> Value {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine;
        use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        let point = pair.public_key().as_ref();
        json!({"kty": "EC", "crv": "P-256", "kid": "k1",
               "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
               "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
               "d": URL_SAFE_NO_PAD.encode(&pkcs8.as_ref()[36..68])})
    }

    fn rsa_pem() -> String {
        let text = include_str!("../tests/fixtures/service_app_rs256_key.json");
        let fixture: Value = serde_json::from_str(text).unwrap();
        fixture["private_pem"].as_str().unwrap().to_owned()
    }

    #[test]
    fn a_service_app_is_client_id_and_private_key() {
        let d = "a.okta.com";
        assert_eq!(
            credentials(json!({"domain": d, "client_id": "0oa1", "private_key": ec_jwk()})),
            Ok(())
        );
        assert_eq!(
            credentials(
                json!({"domain": d, "client_id": "0oa1", "private_key": rsa_pem(),
                               "key_id": "k1", "scopes": ["okta.users.read", "okta.logs.read"]})
            ),
            Ok(())
        );
    }

    #[test]
    fn exactly_one_method_is_given_and_the_error_names_the_field() {
        let d = "a.okta.com";
        for (creds, field, says) in [
            (
                json!({"domain": d}),
                "credentials.api_token",
                "is required, unless",
            ),
            (
                json!({"domain": d, "api_token": "t", "client_id": "0oa1", "private_key": ec_jwk()}),
                "credentials.client_id",
                "cannot be combined with api_token",
            ),
            (
                json!({"domain": d, "api_token": "t", "private_key": ec_jwk()}),
                "credentials.private_key",
                "cannot be combined",
            ),
            (
                json!({"domain": d, "client_id": "0oa1"}),
                "credentials.private_key",
                "is required with client_id",
            ),
            (
                json!({"domain": d, "private_key": ec_jwk()}),
                "credentials.client_id",
                "is required with private_key",
            ),
            (
                json!({"domain": d, "api_token": "t", "key_id": "k"}),
                "credentials.key_id",
                "only to a service app",
            ),
            (
                json!({"domain": d, "api_token": "t", "scopes": ["okta.users.read"]}),
                "credentials.scopes",
                "only to a service app",
            ),
            (
                json!({"domain": d, "client_id": "0oa1", "private_key": ec_jwk(), "scopes": []}),
                "credentials.scopes",
                "Okta API scopes",
            ),
            (
                json!({"domain": d, "client_id": "0oa1", "private_key": ec_jwk(), "scopes": ["openid"]}),
                "credentials.scopes",
                "Okta API scopes",
            ),
            (
                json!({"domain": d, "client_id": "0oa1", "private_key": 42}),
                "credentials.private_key",
                "not valid",
            ),
        ] {
            let err = credentials(creds.clone()).unwrap_err();
            assert_eq!(err.field, field, "{creds}");
            assert!(err.message.contains(says), "{creds}: {}", err.message);
        }
    }

    #[test]
    fn a_bad_private_key_is_refused_without_echoing_it() {
        let mut public = ec_jwk();
        let secret_d = public["d"].as_str().unwrap().to_owned();
        public.as_object_mut().unwrap().remove("d");
        let pem = rsa_pem();
        let cut = format!("{}\n-----END PRIVATE KEY-----", &pem[..200]);
        let mut wrong_curve = ec_jwk();
        wrong_curve["crv"] = json!("P-384");
        let mut bad_d = ec_jwk();
        bad_d["d"] = json!(format!("{secret_d}AAAA"));
        for (key, says) in [
            (public, "without its private part"),
            (json!(cut), "must be a private key"),
            (json!("not a key at all"), "must be a private key"),
            (
                json!(pem.replace("PRIVATE KEY", "PUBLIC KEY")),
                "public key",
            ),
            (wrong_curve, "unsupported kind"),
            (bad_d, "member `d`"),
        ] {
            let err = credentials(json!({"domain": "a.okta.com", "client_id": "0oa1",
                                         "private_key": key.clone()}))
            .unwrap_err();
            assert_eq!(err.field, "credentials.private_key", "{key}");
            assert!(err.message.contains(says), "{key}: {}", err.message);
            assert!(!err.message.contains(&secret_d) && !err.message.contains("MII"));
        }
    }

    #[test]
    fn debug_never_shows_a_secret() {
        let creds: OktaCredentials = validate::parse_typed(
            &obj(json!({"domain": "a.okta.com", "client_id": "0oa1", "private_key": rsa_pem()})),
            STRICT,
        )
        .unwrap();
        let shown = format!("{creds:?}");
        assert!(shown.contains("0oa1") && !shown.contains("MII"), "{shown}");
        let creds: OktaCredentials = validate::parse_typed(
            &obj(json!({"domain": "a.okta.com", "api_token": "00secret"})),
            STRICT,
        )
        .unwrap();
        assert!(!format!("{creds:?}").contains("00secret"));
    }
}
