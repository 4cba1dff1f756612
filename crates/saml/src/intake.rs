//! Safe intake of a posted SAML response: size limits before and after base64, refusal of any
//! DTD or entity declaration before the parser sees the text (no XXE, no billion laughs, no
//! external fetches: the parser is never asked to handle one), a node limit and a nesting limit
//! (the canonicalizer recurses, so depth is bounded before it runs).

use base64::Engine as _;
use roxmltree::{Document, ParsingOptions};

use crate::SamlError;

/// The largest decoded SAML response accepted. Real responses are a few kilobytes; a large
/// group list stays well under this.
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024;
/// The most XML nodes one response may hold.
pub const MAX_NODES: u32 = 20_000;
/// The deepest element nesting accepted (SAML responses nest about ten deep).
pub const MAX_DEPTH: usize = 48;

/// The XML text of a base64 `SAMLResponse` form value (whitespace inside the base64 allowed,
/// as IdPs wrap lines).
pub fn decode_post(saml_response: &str) -> Result<String, SamlError> {
    // Checked before decoding so an oversized value costs no allocation.
    if saml_response.len() > MAX_RESPONSE_BYTES / 3 * 4 + 4096 {
        return Err(SamlError::TooLarge {
            limit: MAX_RESPONSE_BYTES,
        });
    }
    let compact: String = saml_response
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    if compact.is_empty() {
        return Err(SamlError::NotBase64);
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|_| SamlError::NotBase64)?;
    if bytes.len() > MAX_RESPONSE_BYTES {
        return Err(SamlError::TooLarge {
            limit: MAX_RESPONSE_BYTES,
        });
    }
    String::from_utf8(bytes).map_err(|_| SamlError::NotUtf8)
}

/// Parses XML text after refusing DTDs and entity declarations outright.
pub fn parse(text: &str) -> Result<Document<'_>, SamlError> {
    if text.len() > MAX_RESPONSE_BYTES {
        return Err(SamlError::TooLarge {
            limit: MAX_RESPONSE_BYTES,
        });
    }
    // Anywhere in the text, even in a comment: nothing legitimate in SAML needs these, and a
    // plain scan cannot be confused about what the parser would make of them.
    let upper = text.to_ascii_uppercase();
    if upper.contains("<!DOCTYPE") || upper.contains("<!ENTITY") {
        return Err(SamlError::DtdRefused);
    }
    let options = ParsingOptions {
        allow_dtd: false,
        nodes_limit: MAX_NODES,
    };
    let doc = Document::parse_with_options(text, options).map_err(|e| match e {
        roxmltree::Error::DtdDetected => SamlError::DtdRefused,
        other => SamlError::Malformed(other.to_string()),
    })?;
    check_depth(&doc)?;
    Ok(doc)
}

fn check_depth(doc: &Document<'_>) -> Result<(), SamlError> {
    let mut depth = vec![0usize; doc.descendants().count() + 1];
    for node in doc.descendants() {
        let here = node
            .parent()
            .and_then(|p| depth.get(p.id().get_usize()).copied())
            .unwrap_or(0)
            + 1;
        if here > MAX_DEPTH {
            return Err(SamlError::TooDeep(MAX_DEPTH));
        }
        if let Some(slot) = depth.get_mut(node.id().get_usize()) {
            *slot = here;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doctype_and_entities_are_refused_before_parsing() {
        let laughs = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><r>&lol2;</r>"#;
        assert_eq!(parse(laughs).unwrap_err(), SamlError::DtdRefused);
        let xxe = r#"<!doctype r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>"#;
        assert_eq!(parse(xxe).unwrap_err(), SamlError::DtdRefused);
    }

    #[test]
    fn unknown_entities_and_deep_nesting_are_refused() {
        assert!(matches!(
            parse("<r>&undefined;</r>").unwrap_err(),
            SamlError::Malformed(_)
        ));
        let deep = format!("{}{}", "<a>".repeat(100), "</a>".repeat(100));
        assert_eq!(parse(&deep).unwrap_err(), SamlError::TooDeep(MAX_DEPTH));
    }

    #[test]
    fn sizes_are_limited_before_and_after_base64() {
        let huge = "A".repeat(MAX_RESPONSE_BYTES * 2);
        assert!(matches!(
            decode_post(&huge),
            Err(SamlError::TooLarge { .. })
        ));
        assert_eq!(
            decode_post("not base64!").unwrap_err(),
            SamlError::NotBase64
        );
        assert_eq!(decode_post("PHIvPg==\n").unwrap(), "<r/>");
    }
}
