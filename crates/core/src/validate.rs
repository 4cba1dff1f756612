//! Checks an integration's credentials and config against its [`ProviderDescriptor`]: required
//! fields, value rules, unknown keys, and the endpoint policy that keeps integrations on their
//! provider's official hosts (no SSRF through a `domain`). Messages never echo a submitted value.

use serde_json::{Map, Value};

use crate::catalog::{FieldKind, FieldSpec, ProviderDescriptor, OKTA_DOMAINS};

/// Why an integration was refused, naming the field at fault (`credentials.domain`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Whether integrations may point at hosts other than their provider's official ones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EndpointPolicy {
    pub allow_custom_endpoints: bool,
}

/// Validates the credential object of a new integration (all required fields present).
pub fn validate_credentials(
    descriptor: &ProviderDescriptor,
    credentials: &Map<String, Value>,
    policy: EndpointPolicy,
) -> Result<(), FieldError> {
    validate_object(
        "credentials",
        descriptor.credentials,
        credentials,
        policy,
        true,
    )
}

/// Validates a credential PATCH: only the given keys, each against its rule.
pub fn validate_credential_patch(
    descriptor: &ProviderDescriptor,
    patch: &Map<String, Value>,
    policy: EndpointPolicy,
) -> Result<(), FieldError> {
    validate_object("credentials", descriptor.credentials, patch, policy, false)
}

/// Validates an integration's config object.
pub fn validate_config(
    descriptor: &ProviderDescriptor,
    config: &Map<String, Value>,
    policy: EndpointPolicy,
) -> Result<(), FieldError> {
    validate_object("config", descriptor.config, config, policy, true)
}

fn validate_object(
    section: &str,
    specs: &[FieldSpec],
    object: &Map<String, Value>,
    policy: EndpointPolicy,
    require_all: bool,
) -> Result<(), FieldError> {
    for key in object.keys() {
        if !specs.iter().any(|spec| spec.name == key) {
            let known: Vec<&str> = specs.iter().map(|s| s.name).collect();
            let hint = if known.is_empty() {
                "this type takes none".to_owned()
            } else {
                format!("known: {}", known.join(", "))
            };
            return Err(FieldError::new(
                format!("{section}.{key}"),
                format!("unknown field ({hint})"),
            ));
        }
    }
    for spec in specs {
        let field = format!("{section}.{}", spec.name);
        match object.get(spec.name) {
            None | Some(Value::Null) if spec.required && require_all => {
                return Err(FieldError::new(field, "is required"));
            }
            None | Some(Value::Null) => {}
            Some(value) => check_value(&field, spec.kind, value, policy)?,
        }
    }
    Ok(())
}

fn check_value(
    field: &str,
    kind: FieldKind,
    value: &Value,
    policy: EndpointPolicy,
) -> Result<(), FieldError> {
    let fail = |message: &str| Err(FieldError::new(field, message));
    match kind {
        FieldKind::Bool => match value {
            Value::Bool(_) => Ok(()),
            _ => fail("must be true or false"),
        },
        FieldKind::Integer { min, max } => match value.as_i64() {
            Some(n) if (min..=max).contains(&n) => Ok(()),
            _ => fail(&format!("must be an integer from {min} to {max}")),
        },
        FieldKind::Number { min, max } => match value.as_f64() {
            Some(n) if (min..=max).contains(&n) => Ok(()),
            _ => fail(&format!("must be a number from {min} to {max}")),
        },
        FieldKind::Enum(options) => match value.as_str() {
            Some(s) if options.contains(&s) => Ok(()),
            _ => fail(&format!("must be one of: {}", options.join(", "))),
        },
        FieldKind::StringMap => match value {
            Value::Object(map) if map.values().all(Value::is_string) => Ok(()),
            _ => fail("must be an object of strings"),
        },
        FieldKind::StringList => match value {
            Value::Array(items) if items.iter().all(Value::is_string) => Ok(()),
            _ => fail("must be a list of strings"),
        },
        FieldKind::ObjectList => match value {
            Value::Array(items) if items.iter().all(Value::is_object) => Ok(()),
            _ => fail("must be a list of objects"),
        },
        FieldKind::GoogleServiceAccount => check_service_account(field, value, policy),
        _ => {
            let Some(text) = value.as_str().filter(|s| !s.trim().is_empty()) else {
                return fail("must be a non-empty string");
            };
            check_text(field, kind, text, policy)
        }
    }
}

fn check_text(
    field: &str,
    kind: FieldKind,
    text: &str,
    policy: EndpointPolicy,
) -> Result<(), FieldError> {
    let ok = match kind {
        FieldKind::String => true,
        FieldKind::Cron => is_cron(text),
        FieldKind::Email => is_email(text),
        FieldKind::DirectoryId => is_guid(text) || is_hostname(text),
        FieldKind::PemCertificate => {
            text.contains("-----BEGIN CERTIFICATE-----")
                && text.contains("-----END CERTIFICATE-----")
        }
        FieldKind::OktaDomain => {
            return check_okta_domain(field, text, policy);
        }
        FieldKind::EndpointUrl => {
            if !policy.allow_custom_endpoints {
                return Err(FieldError::new(
                    field,
                    "custom endpoints are disabled (set GATEHOUSE_ALLOW_CUSTOM_ENDPOINTS=true to allow them)",
                ));
            }
            is_endpoint_url(text)
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(FieldError::new(field, describe(kind)))
    }
}

fn describe(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::Cron => "must be a cron expression of 5 to 7 fields",
        FieldKind::Email => "must be an e-mail address",
        FieldKind::DirectoryId => "must be a directory GUID or a verified domain",
        FieldKind::PemCertificate => "must be a PEM certificate (-----BEGIN CERTIFICATE-----)",
        FieldKind::EndpointUrl => {
            "must be an http or https URL with a host and no user info, query or fragment"
        }
        _ => "is not valid",
    }
}

fn check_okta_domain(field: &str, text: &str, policy: EndpointPolicy) -> Result<(), FieldError> {
    let host = text.to_ascii_lowercase();
    let official = is_hostname(&host)
        && OKTA_DOMAINS.iter().any(|suffix| {
            host.strip_suffix(suffix)
                .is_some_and(|rest| rest.ends_with('.') && rest.len() > 1)
        });
    if official {
        return Ok(());
    }
    if policy.allow_custom_endpoints && (is_hostname(&host) || is_endpoint_url(text)) {
        return Ok(());
    }
    Err(FieldError::new(
        field,
        format!(
            "must be a bare host under {} (for example acme.okta.com)",
            OKTA_DOMAINS.join(", ")
        ),
    ))
}

const GOOGLE_TOKEN_URIS: &[&str] = &[
    "https://oauth2.googleapis.com/token",
    "https://accounts.google.com/o/oauth2/token",
];

fn check_service_account(
    field: &str,
    value: &Value,
    policy: EndpointPolicy,
) -> Result<(), FieldError> {
    let Value::Object(key) = value else {
        return Err(FieldError::new(
            field,
            "must be the service-account JSON key file, as an object",
        ));
    };
    if key.get("type").and_then(Value::as_str) != Some("service_account") {
        return Err(FieldError::new(
            format!("{field}.type"),
            "must be \"service_account\"",
        ));
    }
    if !key
        .get("client_email")
        .and_then(Value::as_str)
        .is_some_and(is_email)
    {
        return Err(FieldError::new(
            format!("{field}.client_email"),
            "must be an e-mail address",
        ));
    }
    let private_key = key.get("private_key").and_then(Value::as_str).unwrap_or("");
    if !(private_key.contains("-----BEGIN") && private_key.contains("PRIVATE KEY-----")) {
        return Err(FieldError::new(
            format!("{field}.private_key"),
            "must be a PEM private key",
        ));
    }
    match key.get("token_uri") {
        None => Ok(()),
        Some(Value::String(uri)) if GOOGLE_TOKEN_URIS.contains(&uri.as_str()) => Ok(()),
        Some(Value::String(uri)) if policy.allow_custom_endpoints && is_endpoint_url(uri) => Ok(()),
        Some(_) => Err(FieldError::new(
            format!("{field}.token_uri"),
            "must be Google's token endpoint (custom endpoints are disabled)",
        )),
    }
}

/// A DNS host name: dot-separated labels of letters, digits and inner hyphens.
pub fn is_hostname(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

fn is_endpoint_url(s: &str) -> bool {
    match url::Url::parse(s) {
        Ok(url) => {
            matches!(url.scheme(), "http" | "https")
                && url.host().is_some()
                && url.username().is_empty()
                && url.password().is_none()
                && url.query().is_none()
                && url.fragment().is_none()
        }
        Err(_) => false,
    }
}

fn is_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && is_hostname(domain)
        }
        None => false,
    }
}

fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn is_cron(s: &str) -> bool {
    let fields: Vec<&str> = s.split_whitespace().collect();
    (5..=7).contains(&fields.len())
        && fields.iter().all(|f| {
            f.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"*/,-?#".contains(&b))
        })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::catalog::{GOOGLE_WORKSPACE, OKTA, SAML, SCIM};

    const STRICT: EndpointPolicy = EndpointPolicy {
        allow_custom_endpoints: false,
    };
    const CUSTOM: EndpointPolicy = EndpointPolicy {
        allow_custom_endpoints: true,
    };

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    fn okta_domain(domain: &str, policy: EndpointPolicy) -> Result<(), FieldError> {
        validate_credentials(
            &OKTA,
            &obj(json!({"domain": domain, "api_token": "t"})),
            policy,
        )
    }

    #[test]
    fn okta_domain_must_be_an_okta_host() {
        for good in [
            "acme.okta.com",
            "acme.oktapreview.com",
            "Acme.OKTA-EMEA.com",
            "a.b.okta.com",
        ] {
            assert_eq!(okta_domain(good, STRICT), Ok(()), "{good}");
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
        ] {
            let err = okta_domain(bad, STRICT).unwrap_err();
            assert_eq!(err.field, "credentials.domain", "{bad}");
            // The message lists the official suffixes, so only inputs beyond them can be echoes.
            if !OKTA_DOMAINS.contains(&bad) {
                assert!(
                    !err.message.contains(bad),
                    "the message must not echo input"
                );
            }
        }
    }

    #[test]
    fn custom_endpoints_admit_urls() {
        assert_eq!(okta_domain("http://127.0.0.1:9001", CUSTOM), Ok(()));
        assert_eq!(okta_domain("login.acme.example", CUSTOM), Ok(()));
        assert!(okta_domain("ftp://127.0.0.1", CUSTOM).is_err());
        assert!(okta_domain("http://user:pw@127.0.0.1", CUSTOM).is_err());
    }

    #[test]
    fn required_and_unknown_fields() {
        let err =
            validate_credentials(&OKTA, &obj(json!({"domain": "a.okta.com"})), STRICT).unwrap_err();
        assert_eq!(err.field, "credentials.api_token");
        let err = validate_config(&OKTA, &obj(json!({"ingest_userz": true})), STRICT).unwrap_err();
        assert_eq!(err.field, "config.ingest_userz");
        assert!(err.message.contains("unknown"));
        let err = validate_config(&OKTA, &obj(json!({"ingest_users": "yes"})), STRICT).unwrap_err();
        assert_eq!(err.field, "config.ingest_users");
        let err =
            validate_config(&OKTA, &obj(json!({"disable_mode": "delete"})), STRICT).unwrap_err();
        assert!(err.message.contains("suspend, deactivate"));
        assert_eq!(
            validate_config(&SCIM, &obj(json!({"deprovision": "delete"})), STRICT),
            Ok(())
        );
    }

    #[test]
    fn base_urls_need_custom_endpoints() {
        let config = obj(json!({"api_base_url": "http://127.0.0.1:9100"}));
        let err = validate_config(&GOOGLE_WORKSPACE, &config, STRICT).unwrap_err();
        assert_eq!(err.field, "config.api_base_url");
        assert_eq!(validate_config(&GOOGLE_WORKSPACE, &config, CUSTOM), Ok(()));
    }

    #[test]
    fn google_service_account_rules() {
        let mut sa = json!({
            "type": "service_account",
            "client_email": "gh@proj.iam.gserviceaccount.com",
            "private_key": "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n",
            "token_uri": "https://oauth2.googleapis.com/token"
        });
        let creds =
            |sa: &Value| obj(json!({"service_account": sa, "admin_email": "admin@acme.example"}));
        assert_eq!(
            validate_credentials(&GOOGLE_WORKSPACE, &creds(&sa), STRICT),
            Ok(())
        );
        sa["token_uri"] = json!("http://127.0.0.1:1/token");
        let err = validate_credentials(&GOOGLE_WORKSPACE, &creds(&sa), STRICT).unwrap_err();
        assert_eq!(err.field, "credentials.service_account.token_uri");
        assert_eq!(
            validate_credentials(&GOOGLE_WORKSPACE, &creds(&sa), CUSTOM),
            Ok(())
        );
    }

    #[test]
    fn saml_certificate_must_be_pem() {
        let creds =
            obj(json!({"idp_entity_id": "x", "idp_certificate": "MIIC", "attribute_mapping": {}}));
        let err = validate_credentials(&SAML, &creds, STRICT).unwrap_err();
        assert_eq!(err.field, "credentials.idp_certificate");
    }

    #[test]
    fn cron_and_guid_shapes() {
        assert!(is_cron("0 */5 * * * *"));
        assert!(is_cron("*/1 * * * *"));
        assert!(!is_cron("every minute"));
        assert!(is_guid("72f988bf-86f1-41af-91ab-2d7cd011db47"));
        assert!(!is_guid("72f988bf-86f1-41af-91ab"));
    }
}
