//! What an Okta integration is made of: its typed credentials and config (the one source of the
//! catalog entry, the API's validation and the docs), the hosts an Okta org lives under, and the
//! descriptor the daemon registers.

use gatehouse_connect::ratelimit::RateHeaders;
use gatehouse_core::catalog::{FieldSet, Fields, ProviderDescriptor, PullConfig};
use gatehouse_core::records::DEFAULT_TOKEN_PLACES;
use gatehouse_core::validate::{EndpointPolicy, FieldError};
use serde::Deserialize;

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

/// Credentials of an Okta integration.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct OktaCredentials {
    /// The org host, e.g. `acme.okta.com` (not the `-admin` console host).
    #[schema(min_length = 1)]
    pub domain: String,
    /// An `SSWS` API token, created by an administrator in the Admin Console.
    #[schema(min_length = 1)]
    pub api_token: String,
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
        policy.check_host("domain", &self.domain, OKTA_DOMAINS, "acme.okta.com")
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
    /// The group enforce_mfa adds the user to (one targeted by a stricter authentication
    /// policy).
    #[schema(min_length = 1)]
    pub mfa_group_id: Option<String>,
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
    use gatehouse_core::validate::{validate_config, validate_credentials};
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
}
