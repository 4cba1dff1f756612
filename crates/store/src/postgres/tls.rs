//! TLS to PostgreSQL (rustls). The connection string's `sslmode` decides whether TLS is used
//! (`disable`; `prefer`, the default, uses it when the server offers it; `require`,
//! `verify-ca` and `verify-full` insist on it). Whenever TLS is used the server's certificate
//! is verified, hostname included, against the public web roots plus the CA certificates of
//! `sslrootcert` (a PEM file) — stricter than libpq's `require`, which encrypts without
//! verifying: a server with a private CA needs `sslrootcert`.
//!
//! tokio-postgres knows neither `sslrootcert` nor the `verify-*` modes, so they are taken out
//! of the string here before it is parsed.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::StoreError;

/// A connection string with what tokio-postgres cannot parse taken out.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Prepared {
    pub url: String,
    pub root_cert: Option<PathBuf>,
}

/// Takes `sslrootcert` out and maps `sslmode=verify-ca|verify-full` to `require`, in both the
/// URL form (`postgres://…?sslmode=…`) and the key=value form.
pub(super) fn prepare(url: &str) -> Prepared {
    let mut root_cert = None;
    let mut keep = |key: &str, value: &str| -> Option<String> {
        match key {
            "sslrootcert" => {
                root_cert = Some(PathBuf::from(value));
                None
            }
            "sslmode" if value == "verify-ca" || value == "verify-full" => {
                Some("require".to_owned())
            }
            _ => Some(value.to_owned()),
        }
    };
    let url = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        match url.split_once('?') {
            None => url.to_owned(),
            Some((base, query)) => {
                let pairs: Vec<String> = query
                    .split('&')
                    .filter(|pair| !pair.is_empty())
                    .filter_map(|pair| {
                        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                        keep(key, &percent_decode(value)).map(|kept| {
                            if kept == percent_decode(value) {
                                pair.to_owned()
                            } else {
                                format!("{key}={kept}")
                            }
                        })
                    })
                    .collect();
                if pairs.is_empty() {
                    base.to_owned()
                } else {
                    format!("{base}?{}", pairs.join("&"))
                }
            }
        }
    } else {
        url.split_whitespace()
            .filter_map(|part| {
                let (key, value) = part.split_once('=').unwrap_or((part, ""));
                keep(key, value).map(|kept| format!("{key}={kept}"))
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    Prepared { url, root_cert }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                let (h, l) = (hex(h).unwrap_or(0), hex(l).unwrap_or(0));
                out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The TLS connector: the public web roots, plus `root_cert`'s CA certificates.
pub(super) fn connector(root_cert: Option<&PathBuf>) -> Result<MakeRustlsConnect, StoreError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = root_cert {
        let certs = CertificateDer::pem_file_iter(path)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| StoreError::Backend(format!("sslrootcert {}: {e}", path.display())))?;
        if certs.is_empty() {
            return Err(StoreError::Backend(format!(
                "sslrootcert {}: no certificate in the file",
                path.display()
            )));
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| StoreError::Backend(format!("sslrootcert {}: {e}", path.display())))?;
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| StoreError::Backend(format!("TLS: {e}")))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslrootcert_and_verify_modes_are_taken_out_of_a_url() {
        let prepared = prepare(
            "postgresql://gh:pw@db.internal:5432/gatehouse?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&application_name=gh",
        );
        assert_eq!(
            prepared.url,
            "postgresql://gh:pw@db.internal:5432/gatehouse?sslmode=require&application_name=gh"
        );
        assert_eq!(prepared.root_cert, Some(PathBuf::from("/etc/ca.pem")));
        let plain = prepare("postgres://db/gatehouse");
        assert_eq!(plain.url, "postgres://db/gatehouse");
        assert_eq!(plain.root_cert, None);
        let only = prepare("postgres://db/gatehouse?sslrootcert=/ca.pem");
        assert_eq!(only.url, "postgres://db/gatehouse");
    }

    #[test]
    fn sslrootcert_and_verify_modes_are_taken_out_of_key_value_form() {
        let prepared = prepare("host=db user=gh sslmode=verify-ca sslrootcert=/etc/ca.pem");
        assert_eq!(prepared.url, "host=db user=gh sslmode=require");
        assert_eq!(prepared.root_cert, Some(PathBuf::from("/etc/ca.pem")));
    }

    #[test]
    fn a_missing_or_empty_root_certificate_file_is_a_clear_error() {
        let missing = connector(Some(&PathBuf::from("/nonexistent/ca.pem")));
        assert!(missing.is_err());
        let dir = std::env::temp_dir().join(format!("gh-empty-ca-{}", std::process::id()));
        std::fs::write(&dir, "not a certificate").unwrap_or_default();
        let empty = connector(Some(&dir));
        let _ = std::fs::remove_file(&dir);
        assert!(empty.is_err());
    }
}
