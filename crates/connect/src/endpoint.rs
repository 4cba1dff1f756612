//! The endpoint policy: a connector calls only its provider's official hosts unless the operator
//! allowed custom endpoints (simulators, proxies), so an integration's `domain` cannot be used to
//! make Gatehouse call arbitrary hosts (SSRF).

use url::Url;

/// Why a configured endpoint was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    #[error("{0} is not one of the provider's official hosts and custom endpoints are disabled")]
    NotOfficial(String),
    #[error("the endpoint is not a valid http(s) URL or host")]
    Invalid,
}

/// The base URL for `value`: a bare host (https) under one of `official_suffixes`, or — when
/// custom endpoints are allowed — any host or http(s) URL.
pub fn resolve_base(
    value: &str,
    official_suffixes: &[&str],
    allow_custom: bool,
) -> Result<Url, EndpointError> {
    let value = value.trim().trim_end_matches('/');
    let url = if value.contains("://") {
        Url::parse(value).map_err(|_| EndpointError::Invalid)?
    } else {
        Url::parse(&format!("https://{value}")).map_err(|_| EndpointError::Invalid)?
    };
    if !matches!(url.scheme(), "http" | "https")
        || !url.username().is_empty()
        || url.password().is_some()
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(EndpointError::Invalid);
    }
    let host = url
        .host_str()
        .ok_or(EndpointError::Invalid)?
        .to_ascii_lowercase();
    let official = url.scheme() == "https"
        && url.port().is_none()
        && url.path() == "/"
        && official_suffixes.iter().any(|suffix| {
            host.strip_suffix(suffix)
                .is_some_and(|rest| rest.ends_with('.') && rest.len() > 1)
        });
    if official || allow_custom {
        Ok(url)
    } else {
        Err(EndpointError::NotOfficial(host))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTS: &[&str] = &["idp.example", "idp-preview.example"];

    #[test]
    fn official_hosts_only_by_default() {
        let url = resolve_base("acme.idp.example", HOSTS, false).unwrap();
        assert_eq!(url.as_str(), "https://acme.idp.example/");
        assert!(resolve_base("https://acme.idp-preview.example/", HOSTS, false).is_ok());
        for bad in [
            "evil.com",
            "idp.example",
            "acme.idp.example.evil.com",
            "http://acme.idp.example",
            "https://acme.idp.example:8443",
            "http://127.0.0.1:9001",
        ] {
            assert!(resolve_base(bad, HOSTS, false).is_err(), "{bad}");
        }
    }

    #[test]
    fn custom_endpoints_when_allowed() {
        let url = resolve_base("http://127.0.0.1:9001", HOSTS, true).unwrap();
        assert_eq!(url.as_str(), "http://127.0.0.1:9001/");
        assert_eq!(
            resolve_base("ftp://x", HOSTS, true),
            Err(EndpointError::Invalid)
        );
        assert_eq!(
            resolve_base("http://u:p@x", HOSTS, true),
            Err(EndpointError::Invalid)
        );
    }
}
