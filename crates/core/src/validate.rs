//! Checks an integration's credentials and config against its [`ProviderDescriptor`]: unknown
//! keys, required keys, value types and ranges (all read from the typed object's JSON Schema, so
//! the struct is the one source of truth), then the typed object's own rules such as the
//! endpoint policy that keeps integrations on their provider's official hosts (no SSRF through
//! a `domain`). Messages never echo a submitted value.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::catalog::{Fields, ProviderDescriptor};

/// Why an integration was refused, naming the field at fault (`credentials.domain`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The same error with its field placed under `section` (`credentials`, `config`).
    pub fn within(mut self, section: &str) -> Self {
        self.field = if self.field.is_empty() {
            section.to_owned()
        } else {
            format!("{section}.{}", self.field)
        };
        self
    }
}

/// Whether integrations may point at hosts other than their provider's official ones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EndpointPolicy {
    pub allow_custom_endpoints: bool,
}

impl EndpointPolicy {
    /// Checks a base URL setting (`config.base_url`, …): only allowed with custom endpoints.
    pub fn check_base_url(&self, field: &str, url: &str) -> Result<(), FieldError> {
        if !self.allow_custom_endpoints {
            return Err(FieldError::new(
                field,
                "custom endpoints are disabled (set GATEHOUSE_ALLOW_CUSTOM_ENDPOINTS=true to allow them)",
            ));
        }
        if is_endpoint_url(url) {
            Ok(())
        } else {
            Err(FieldError::new(
                field,
                "must be an http or https URL with a host and no user info, query or fragment",
            ))
        }
    }

    /// Checks a provider host setting (Okta's `domain`): a bare host under one of `suffixes`,
    /// or, with custom endpoints allowed, any host or base URL.
    pub fn check_host(
        &self,
        field: &str,
        text: &str,
        suffixes: &[&str],
        example: &str,
    ) -> Result<(), FieldError> {
        let host = text.to_ascii_lowercase();
        if is_hostname(&host) && is_host_under(&host, suffixes) {
            return Ok(());
        }
        if self.allow_custom_endpoints && (is_hostname(&host) || is_endpoint_url(text)) {
            return Ok(());
        }
        Err(FieldError::new(
            field,
            format!(
                "must be a bare host under {} (for example {example})",
                suffixes.join(", ")
            ),
        ))
    }
}

/// Whether `host` is a proper subdomain of one of `suffixes` (`acme.okta.com` under
/// `okta.com`; `okta.com` itself is not).
pub fn is_host_under(host: &str, suffixes: &[&str]) -> bool {
    suffixes.iter().any(|suffix| {
        host.strip_suffix(suffix)
            .is_some_and(|rest| rest.ends_with('.') && rest.len() > 1)
    })
}

/// Validates the credential object of a new integration (all required fields present).
pub fn validate_credentials(
    descriptor: &ProviderDescriptor,
    credentials: &Map<String, Value>,
    policy: EndpointPolicy,
) -> Result<(), FieldError> {
    descriptor
        .credentials
        .check(credentials, policy)
        .map_err(|e| e.within("credentials"))
}

/// Validates a credential PATCH before it is merged: only known keys (the merged object is
/// then validated whole).
pub fn validate_credential_patch(
    descriptor: &ProviderDescriptor,
    patch: &Map<String, Value>,
) -> Result<(), FieldError> {
    descriptor
        .credentials
        .properties()
        .check_known(patch)
        .map_err(|e| e.within("credentials"))
}

/// Validates an integration's config object.
pub fn validate_config(
    descriptor: &ProviderDescriptor,
    config: &Map<String, Value>,
    policy: EndpointPolicy,
) -> Result<(), FieldError> {
    descriptor
        .config
        .check(config, policy)
        .map_err(|e| e.within("config"))
}

/// The top-level keys of a typed object's JSON Schema.
#[derive(Debug, Clone, Default)]
pub struct Properties {
    schemas: BTreeMap<String, Value>,
    required: BTreeSet<String>,
}

impl Properties {
    /// Reads an object schema, following `allOf` (a flattened struct) as utoipa writes it.
    pub fn of(schema: &Value) -> Self {
        let mut properties = Self::default();
        properties.collect(schema);
        properties
    }

    fn collect(&mut self, schema: &Value) {
        if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
            for part in parts {
                self.collect(part);
            }
        }
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (name, prop) in props {
                self.schemas.insert(name.clone(), prop.clone());
            }
        }
        if let Some(required) = schema.get("required").and_then(Value::as_array) {
            self.required
                .extend(required.iter().filter_map(Value::as_str).map(str::to_owned));
        }
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.schemas.keys().map(String::as_str)
    }

    pub fn is_required(&self, name: &str) -> bool {
        self.required.contains(name)
    }

    /// The schema of one key, with `oneOf`/`anyOf` alternatives of `null` removed.
    pub fn schema_of(&self, name: &str) -> Option<&Value> {
        let schema = self.schemas.get(name)?;
        for combinator in ["oneOf", "anyOf"] {
            if let Some(options) = schema.get(combinator).and_then(Value::as_array) {
                if let Some(non_null) = options.iter().find(|o| !allows_only_null(o)) {
                    return Some(non_null);
                }
            }
        }
        Some(schema)
    }

    /// Refuses keys the object does not have.
    pub fn check_known(&self, object: &Map<String, Value>) -> Result<(), FieldError> {
        for key in object.keys() {
            if !self.schemas.contains_key(key) {
                let known: Vec<&str> = self.names().collect();
                let hint = if known.is_empty() {
                    "this type takes none".to_owned()
                } else {
                    format!("known: {}", known.join(", "))
                };
                return Err(FieldError::new(key, format!("unknown field ({hint})")));
            }
        }
        Ok(())
    }
}

fn allows_only_null(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("null")
}

fn schema_types(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Checks one present, non-null value against its key's schema; the message says what the
/// value must be, never what it was.
fn check_value(field: &str, schema: &Value, value: &Value) -> Result<(), FieldError> {
    let fail = |message: String| Err(FieldError::new(field, message));
    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        if options.contains(value) {
            return Ok(());
        }
        let names: Vec<&str> = options.iter().filter_map(Value::as_str).collect();
        return fail(format!("must be one of: {}", names.join(", ")));
    }
    let types = schema_types(schema);
    let range = |kind: &str| {
        let min = schema.get("minimum").and_then(Value::as_f64);
        let max = schema.get("maximum").and_then(Value::as_f64);
        match (min, max) {
            (Some(min), Some(max)) => format!("must be {kind} from {min} to {max}"),
            (Some(min), None) => format!("must be {kind} of at least {min}"),
            (None, Some(max)) => format!("must be {kind} of at most {max}"),
            (None, None) => format!("must be {kind}"),
        }
    };
    let in_range = |n: f64| {
        schema
            .get("minimum")
            .and_then(Value::as_f64)
            .is_none_or(|min| n >= min)
            && schema
                .get("maximum")
                .and_then(Value::as_f64)
                .is_none_or(|max| n <= max)
    };
    if types.contains(&"boolean") {
        return match value {
            Value::Bool(_) => Ok(()),
            _ => fail("must be true or false".into()),
        };
    }
    if types.contains(&"integer") {
        return match value.as_i64() {
            Some(n) if in_range(n as f64) => Ok(()),
            _ => fail(range("an integer")),
        };
    }
    if types.contains(&"number") {
        return match value.as_f64() {
            Some(n) if in_range(n) => Ok(()),
            _ => fail(range("a number")),
        };
    }
    if types.contains(&"string") {
        let non_empty = schema.get("minLength").and_then(Value::as_u64).unwrap_or(0) > 0;
        return match value.as_str() {
            Some(s) if !non_empty || !s.trim().is_empty() => Ok(()),
            _ if non_empty => fail("must be a non-empty string".into()),
            _ => fail("must be a string".into()),
        };
    }
    if types.contains(&"array") {
        let item_types = schema.get("items").map(schema_types).unwrap_or_default();
        let Value::Array(items) = value else {
            return fail("must be a list".into());
        };
        if item_types.contains(&"string") && !items.iter().all(Value::is_string) {
            return fail("must be a list of strings".into());
        }
        if item_types.contains(&"object") && !items.iter().all(Value::is_object) {
            return fail("must be a list of objects".into());
        }
        return Ok(());
    }
    if types.contains(&"object") {
        let Value::Object(map) = value else {
            return fail("must be an object".into());
        };
        let of_strings = schema
            .get("additionalProperties")
            .map(schema_types)
            .is_some_and(|t| t.contains(&"string"));
        if of_strings && !map.values().all(Value::is_string) {
            return fail("must be an object of strings".into());
        }
    }
    Ok(())
}

/// Validates `object` as a `T`: unknown keys, required keys, each value against its schema,
/// then `T`'s own rules. Errors name the field relative to the object.
pub fn check_typed<T: Fields>(
    object: &Map<String, Value>,
    policy: EndpointPolicy,
) -> Result<(), FieldError> {
    parse_typed::<T>(object, policy).map(|_| ())
}

/// As [`check_typed`], returning the typed object.
pub fn parse_typed<T: Fields>(
    object: &Map<String, Value>,
    policy: EndpointPolicy,
) -> Result<T, FieldError> {
    let schema = serde_json::to_value(T::schema()).unwrap_or(Value::Null);
    let properties = Properties::of(&schema);
    properties.check_known(object)?;
    for name in properties.names() {
        let present = object.get(name).filter(|v| !v.is_null());
        match present {
            None if properties.is_required(name) => {
                return Err(FieldError::new(name, "is required"));
            }
            None => {}
            Some(value) => {
                if let Some(schema) = properties.schema_of(name) {
                    check_value(name, schema, value)?;
                }
            }
        }
    }
    // Nulls mean "not set": drop them so every optional key reads as absent.
    let cleaned: Map<String, Value> = object
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let typed: T = serde_path_to_error::deserialize(Value::Object(cleaned)).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        let message = e.inner().to_string();
        // serde names a missing nested key in its message; that is a name, not a value.
        match message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
        {
            Some(missing) => {
                let field = if path.is_empty() {
                    missing.to_owned()
                } else {
                    format!("{path}.{missing}")
                };
                FieldError::new(field, "is required")
            }
            None => FieldError::new(path, "is not valid"),
        }
    })?;
    typed.check(policy)?;
    Ok(typed)
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

/// Whether a connector must not reach `ip` unless custom endpoints are allowed: loopback,
/// unspecified, private (RFC 1918), shared (100.64/10), link-local (169.254/16, where cloud
/// metadata services answer), benchmarking, reserved, broadcast and multicast IPv4; and loopback,
/// unspecified, unique-local (fc00::/7), link-local (fe80::/10), multicast, IPv4-mapped or
/// -compatible forms of the above, and NAT64 of them in IPv6.
pub fn is_internal_ip(ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_unspecified()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (18..20).contains(&b))
                || a >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal_ip(IpAddr::V4(v4));
            }
            let s = v6.segments();
            // IPv4-compatible (::a.b.c.d, deprecated) and NAT64 (64:ff9b::/96) embed an IPv4.
            if s[..6] == [0; 6] || s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                let v4 = std::net::Ipv4Addr::new(
                    (s[6] >> 8) as u8,
                    s[6] as u8,
                    (s[7] >> 8) as u8,
                    s[7] as u8,
                );
                if is_internal_ip(IpAddr::V4(v4)) {
                    return true;
                }
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] & 0xffc0) == 0xfec0
        }
    }
}

/// Whether `host` (a URL's host, IPv6 in brackets or not) names this machine or an internal
/// network by itself: an [internal](is_internal_ip) address literal, or `localhost` and its
/// subdomains (RFC 6761). Names that merely resolve there are refused by the outbound client's
/// resolver (gatehouse-connect), since only resolving can tell.
pub fn is_internal_host(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<std::net::IpAddr>() {
        return is_internal_ip(ip);
    }
    // The URL parser's forms of IPv4 (decimal, octal, hex, dotted parts) as a URL would read them.
    if let Ok(url) = url::Url::parse(&format!("http://{bare}/")) {
        match url.host() {
            Some(url::Host::Ipv4(v4)) => return is_internal_ip(v4.into()),
            Some(url::Host::Ipv6(v6)) => return is_internal_ip(v6.into()),
            _ => {}
        }
    }
    host == "localhost" || host.ends_with(".localhost")
}

/// Whether an http(s) URL's host is [internal](is_internal_host) (false for what does not parse).
pub fn is_internal_url(s: &str) -> bool {
    match url::Url::parse(s.trim()) {
        Ok(url) => match url.host() {
            Some(url::Host::Ipv4(v4)) => is_internal_ip(v4.into()),
            Some(url::Host::Ipv6(v6)) => is_internal_ip(v6.into()),
            Some(url::Host::Domain(name)) => is_internal_host(name),
            None => false,
        },
        Err(_) => false,
    }
}

pub fn is_endpoint_url(s: &str) -> bool {
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

pub fn is_email(s: &str) -> bool {
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

pub fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;
    use crate::catalog::{PullConfig, SAML, SCIM};

    /// SSRF: every loopback, private, link-local and otherwise internal form is caught, in
    /// every spelling a URL parser accepts; public addresses and names are not.
    #[test]
    fn internal_hosts_in_every_spelling() {
        for internal in [
            "http://127.0.0.1",
            "https://127.0.0.1:8443/scim",
            "http://127.1",
            "http://2130706433",
            "http://0x7f000001",
            "http://0177.0.0.1",
            "http://0.0.0.0",
            "http://[::1]",
            "http://[::]",
            "http://[::ffff:127.0.0.1]",
            "http://[::ffff:10.0.0.1]",
            "http://[::127.0.0.1]",
            "http://[64:ff9b::a9fe:a9fe]",
            "http://10.0.0.1",
            "http://10.255.255.255",
            "http://172.16.0.1",
            "http://172.31.255.254",
            "http://192.168.1.1",
            "http://169.254.169.254/latest/meta-data",
            "http://100.64.0.1",
            "http://[fd00::1]",
            "http://[fc00::1]",
            "http://[fe80::1]",
            "http://[ff02::1]",
            "http://224.0.0.1",
            "http://255.255.255.255",
            "https://localhost",
            "https://LOCALHOST.",
            "https://app.localhost/scim/v2",
        ] {
            assert!(is_internal_url(internal), "{internal}");
        }
        for public in [
            "https://app.example.com/scim/v2",
            "https://172.32.0.1",
            "https://172.15.255.255",
            "https://8.8.8.8",
            "https://[2001:4860:4860::8888]",
            "https://localhost.example.com",
            "https://100.128.0.1",
            "not a url",
        ] {
            assert!(!is_internal_url(public), "{public}");
        }
        assert!(is_internal_host("127.0.0.1"));
        assert!(is_internal_host("[::1]"));
        assert!(is_internal_host("0x7f.1"));
        assert!(!is_internal_host("idp.example.com"));
    }

    const STRICT: EndpointPolicy = EndpointPolicy {
        allow_custom_endpoints: false,
    };
    const CUSTOM: EndpointPolicy = EndpointPolicy {
        allow_custom_endpoints: true,
    };

    #[derive(Debug, Deserialize, utoipa::ToSchema)]
    #[serde(rename_all = "snake_case")]
    enum Mode {
        Suspend,
        Deactivate,
    }

    #[derive(Debug, Deserialize, utoipa::ToSchema)]
    struct Sample {
        #[serde(flatten)]
        #[schema(inline)]
        pull: PullConfig,
        #[schema(minimum = 1, maximum = 2160)]
        hours: Option<i64>,
        #[schema(inline)]
        mode: Option<Mode>,
        #[schema(min_length = 1)]
        name: String,
        base_url: Option<String>,
    }

    impl Fields for Sample {
        fn check(&self, policy: EndpointPolicy) -> Result<(), FieldError> {
            match &self.base_url {
                Some(url) => policy.check_base_url("base_url", url),
                None => Ok(()),
            }
        }
    }

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    fn check(v: Value, policy: EndpointPolicy) -> Result<Sample, FieldError> {
        parse_typed::<Sample>(&obj(v), policy)
    }

    fn err(v: Value) -> FieldError {
        check(v, STRICT).expect_err("must be refused")
    }

    #[test]
    fn a_valid_object_parses_with_its_flattened_part() {
        let sample = check(
            json!({"name": "x", "hours": 72, "mode": "deactivate", "ingest_users": false,
                   "rate_limit_share": 0.25, "users_schedule": null}),
            STRICT,
        )
        .unwrap();
        assert_eq!((sample.name.as_str(), sample.hours), ("x", Some(72)));
        assert!(matches!(sample.mode, Some(Mode::Deactivate)));
        assert_eq!(sample.pull.ingest_users, Some(false));
        assert_eq!(sample.pull.rate_limit_share, Some(0.25));
    }

    #[test]
    fn every_rule_names_its_field_without_echoing_the_value() {
        let cases = [
            (
                json!({"name": "x", "ingest_userz": true}),
                "ingest_userz",
                "unknown field",
            ),
            (json!({}), "name", "is required"),
            (json!({"name": null}), "name", "is required"),
            (json!({"name": "  "}), "name", "non-empty"),
            (json!({"name": "x", "hours": 0}), "hours", "from 1 to 2160"),
            (json!({"name": "x", "hours": "SECRET9"}), "hours", "integer"),
            (json!({"name": "x", "hours": 1.5}), "hours", "integer"),
            (
                json!({"name": "x", "mode": "SECRET9"}),
                "mode",
                "suspend, deactivate",
            ),
            (
                json!({"name": "x", "ingest_users": "SECRET9"}),
                "ingest_users",
                "true or false",
            ),
            (
                json!({"name": "x", "rate_limit_share": 2.0}),
                "rate_limit_share",
                "0.05 to 1",
            ),
            (
                json!({"name": "x", "users_schedule": 5}),
                "users_schedule",
                "string",
            ),
        ];
        for (input, field, words) in cases {
            let e = err(input.clone());
            assert_eq!(e.field, field, "{input}");
            assert!(e.message.contains(words), "{input}: {}", e.message);
            assert!(!e.message.contains("SECRET9"), "{input}: echoes the value");
        }
    }

    #[test]
    fn the_unknown_field_message_lists_the_struct_s_keys() {
        let e = err(json!({"name": "x", "nope": 1}));
        for key in ["name", "hours", "mode", "ingest_users", "rate_limit_share"] {
            assert!(e.message.contains(key), "{}", e.message);
        }
    }

    #[test]
    fn the_typed_rules_see_the_endpoint_policy() {
        let input = json!({"name": "x", "base_url": "http://127.0.0.1:9100"});
        assert_eq!(err(input.clone()).field, "base_url");
        assert!(check(input, CUSTOM).is_ok());
        let e = check(json!({"name": "x", "base_url": "ftp://h"}), CUSTOM).unwrap_err();
        assert_eq!(e.field, "base_url");
    }

    #[test]
    fn sections_prefix_the_field() {
        let e = validate_config(&SCIM, &obj(json!({"deprovision": "purge"})), STRICT).unwrap_err();
        assert_eq!(e.field, "config.deprovision");
        assert!(e.message.contains("deactivate, delete"));
        assert_eq!(
            validate_config(&SCIM, &obj(json!({"deprovision": "delete"})), STRICT),
            Ok(())
        );
        let e = validate_credential_patch(&SCIM, &obj(json!({"client": "x"}))).unwrap_err();
        assert_eq!(e.field, "credentials.client");
    }

    #[test]
    fn saml_certificate_must_be_pem() {
        let creds =
            obj(json!({"idp_entity_id": "x", "idp_certificate": "MIIC", "attribute_mapping": {}}));
        let err = validate_credentials(&SAML, &creds, STRICT).unwrap_err();
        assert_eq!(err.field, "credentials.idp_certificate");
        let bad_map = obj(json!({"idp_entity_id": "x", "idp_certificate": "MIIC",
                                 "attribute_mapping": {"email": 1}}));
        let err = validate_credentials(&SAML, &bad_map, STRICT).unwrap_err();
        assert_eq!(err.field, "credentials.attribute_mapping");
        assert!(err.message.contains("object of strings"));
    }

    #[test]
    fn host_rules() {
        let suffixes = &["idp.example"];
        assert!(STRICT
            .check_host("d", "a.idp.example", suffixes, "a.idp.example")
            .is_ok());
        assert!(STRICT
            .check_host("d", "idp.example", suffixes, "a.idp.example")
            .is_err());
        assert!(STRICT
            .check_host("d", "a.idp.example.evil.com", suffixes, "x")
            .is_err());
        assert!(CUSTOM
            .check_host("d", "http://127.0.0.1:9", suffixes, "x")
            .is_ok());
        assert!(CUSTOM
            .check_host("d", "http://u:p@127.0.0.1", suffixes, "x")
            .is_err());
        assert!(is_guid("72f988bf-86f1-41af-91ab-2d7cd011db47"));
        assert!(!is_guid("72f988bf-86f1-41af-91ab"));
    }
}
