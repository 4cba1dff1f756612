//! Keeping secrets out of errors and logs: URLs lose their query values and user info before
//! they are shown, and a provider's error message is bounded in length before it is repeated.

use url::Url;

/// `url` with query values and credentials replaced, for messages.
pub fn url(text: &str) -> String {
    match Url::parse(text) {
        Ok(mut url) => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            if url.query().is_some() {
                let keys: Vec<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
                let redacted: Vec<String> = keys.iter().map(|k| format!("{k}=REDACTED")).collect();
                url.set_query(Some(&redacted.join("&")));
            }
            url.to_string()
        }
        Err(_) => "<unparsable url>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn strips_query_values_and_userinfo() {
        assert_eq!(
            super::url("https://u:pw@acme.idp.example/api/v1/logs?after=abc&token=secret"),
            "https://acme.idp.example/api/v1/logs?after=REDACTED&token=REDACTED"
        );
        assert_eq!(super::url("not a url"), "<unparsable url>");
    }
}

/// `text` cut to at most `max` bytes on a character boundary, with `…` when cut: a provider's
/// error text goes into status records and logs, and a provider that echoes a whole request
/// body must not fill them.
pub fn clip(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut cut = max;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}

#[cfg(test)]
mod clip_tests {
    use super::clip;

    #[test]
    fn clips_on_a_character_boundary() {
        assert_eq!(clip("short".into(), 10), "short");
        assert_eq!(clip("abcdef".into(), 3), "abc…");
        // "é" is two bytes: a cut inside it moves back before it.
        assert_eq!(clip("aé".into(), 2), "a…");
    }
}
