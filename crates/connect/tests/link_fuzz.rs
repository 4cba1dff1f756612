//! Property tests of the `Link` header parser (docs/SECURITY.md): any header bytes a provider
//! (or a proxy in between) sends give a link or none, never a panic, and a well-formed
//! `rel="next"` among arbitrary other links is always found. `make fuzz` runs it long.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail by panicking

use gatehouse_connect::next_link;
use http::{HeaderMap, HeaderValue};
use proptest::prelude::*;

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(256),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn any_link_header_bytes_are_handled(values in prop::collection::vec(
        prop::collection::vec(any::<u8>(), 0..120), 0..4)) {
        let mut headers = HeaderMap::new();
        for bytes in values {
            if let Ok(value) = HeaderValue::from_bytes(&bytes) {
                headers.append(http::header::LINK, value);
            }
        }
        let _ = next_link(&headers);
    }

    #[test]
    fn link_shaped_text_is_handled(text in "([<>;,=\" ]|rel|next|\\PC){0,80}") {
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(&text) {
            headers.insert(http::header::LINK, value);
        }
        let _ = next_link(&headers);
    }

    #[test]
    fn the_next_link_is_found_among_others(
        before in prop::collection::vec("[a-z0-9/?=&.:]{1,30}", 0..3),
        next in "https://[a-z]{1,10}\\.example/[a-z0-9/?=&]{0,30}",
    ) {
        let mut parts: Vec<String> =
            before.iter().map(|t| format!("<{t}>; rel=\"self\"")).collect();
        parts.push(format!("<{next}>; rel=\"next\""));
        let mut headers = HeaderMap::new();
        headers.insert(http::header::LINK, HeaderValue::from_str(&parts.join(", ")).unwrap());
        prop_assert_eq!(next_link(&headers), Some(next));
    }
}
