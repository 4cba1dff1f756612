//! RFC 8288 `Link` headers: providers such as Okta send one header per relation (or several
//! comma-joined in one), and a client must follow `rel="next"` rather than build URLs.

use http::HeaderMap;

/// The target of the first `rel="next"` link across every `Link` header.
pub fn next_link(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(http::header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(split_links)
        .find(|(_, rels)| rels.iter().any(|r| r.eq_ignore_ascii_case("next")))
        .map(|(target, _)| target)
}

/// Splits one header value into `(target, rels)` pairs, honouring `<…>` and quoted strings
/// (a comma inside either does not separate links).
fn split_links(value: &str) -> Vec<(String, Vec<String>)> {
    let mut links = Vec::new();
    let mut rest = value.trim();
    while let Some(start) = rest.find('<') {
        let Some(end) = rest[start..].find('>').map(|e| start + e) else {
            break;
        };
        let target = rest[start + 1..end].trim().to_owned();
        let after = &rest[end + 1..];
        // Parameters run until the next top-level comma.
        let mut in_quotes = false;
        let mut cut = after.len();
        for (i, c) in after.char_indices() {
            match c {
                '"' => in_quotes = !in_quotes,
                ',' if !in_quotes => {
                    cut = i;
                    break;
                }
                _ => {}
            }
        }
        let params = &after[..cut];
        let rels = params
            .split(';')
            .filter_map(|p| p.split_once('='))
            .filter(|(k, _)| k.trim().eq_ignore_ascii_case("rel"))
            .flat_map(|(_, v)| {
                v.trim()
                    .trim_matches('"')
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .collect();
        links.push((target, rels));
        rest = after.get(cut + 1..).unwrap_or("");
    }
    links
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(http::header::LINK, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[test]
    fn one_header_per_relation() {
        let h = headers(&[
            r#"<https://acme.idp.example/api/v1/users?limit=200>; rel="self""#,
            r#"<https://acme.idp.example/api/v1/users?after=00u4tVDDXYVKPXKVLCO&limit=200>; rel="next""#,
        ]);
        assert_eq!(
            next_link(&h).as_deref(),
            Some("https://acme.idp.example/api/v1/users?after=00u4tVDDXYVKPXKVLCO&limit=200")
        );
    }

    #[test]
    fn comma_joined_and_unquoted_forms() {
        let h = headers(&[r#"<https://x/a?b=1,2>; rel="self", <https://x/next>; rel=next"#]);
        assert_eq!(next_link(&h).as_deref(), Some("https://x/next"));
        let h = headers(&[r#"<https://x/p>; title="a, b"; rel="prev next""#]);
        assert_eq!(next_link(&h).as_deref(), Some("https://x/p"));
    }

    #[test]
    fn no_next_means_last_page() {
        assert_eq!(
            next_link(&headers(&[r#"<https://x/self>; rel="self""#])),
            None
        );
        assert_eq!(next_link(&HeaderMap::new()), None);
        assert_eq!(next_link(&headers(&["garbage"])), None);
        assert_eq!(next_link(&headers(&["<unterminated; rel=next"])), None);
    }
}
