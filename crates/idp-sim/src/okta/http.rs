//! Okta's reading of `limit` (and the 400 it answers), on top of the common
//! HTTP helpers it re-exports.

pub use crate::common::http::{add_link, base_url, decode, url_with, Params};

use super::errors::OktaError;

/// Reads `limit`: absent → `default`; not an integer or outside `min..=max` → 400.
pub fn limit(params: &Params, default: usize, min: usize, max: usize) -> Result<usize, OktaError> {
    let Some(raw) = params.get("limit") else {
        return Ok(default);
    };
    match raw.trim().parse::<i64>() {
        Ok(n) if n >= min as i64 && n <= max as i64 => Ok(n as usize),
        _ => Err(OktaError::validation("limit")
            .with_cause(format!("limit: must be an integer between {min} and {max}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_rules() {
        let p = Params::parse(Some("limit=500"));
        assert!(limit(&p, 200, 1, 200).is_err());
        let p = Params::parse(Some("limit=abc"));
        assert!(limit(&p, 200, 1, 200).is_err());
        let p = Params::parse(Some("limit=20"));
        assert_eq!(limit(&p, 200, 1, 200).unwrap(), 20);
        assert_eq!(limit(&Params::default(), 200, 1, 200).unwrap(), 200);
    }
}
