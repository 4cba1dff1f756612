//! Keeping secrets out of errors and logs: URLs lose their query values and user info before
//! they are shown.

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
