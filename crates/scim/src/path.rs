//! Attribute paths (RFC 7644 §3.10): `userName`, `name.givenName`,
//! `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`, and the PATCH form
//! with a value filter, `emails[type eq "work"].value`.

use std::fmt;

use crate::error::ScimError;
use crate::filter::{self, Filter};

/// An attribute path: an optional schema URN, an attribute name and an optional sub-attribute.
/// Names keep the client's spelling; every lookup compares them case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttrPath {
    pub urn: Option<String>,
    pub name: String,
    pub sub: Option<String>,
}

impl AttrPath {
    pub fn new(name: &str) -> Self {
        Self {
            urn: None,
            name: name.to_owned(),
            sub: None,
        }
    }

    pub fn with_sub(name: &str, sub: &str) -> Self {
        Self {
            urn: None,
            name: name.to_owned(),
            sub: Some(sub.to_owned()),
        }
    }

    /// Parses a path without a value filter; errors are `invalidPath`.
    pub fn parse(s: &str) -> Result<Self, ScimError> {
        Self::from_word(s.trim()).map_err(ScimError::invalid_path)
    }

    /// Splits `urn:…:Name.sub` at the last `:` (schema URNs contain colons and dots, attribute
    /// names contain neither) and then at the `.`.
    pub(crate) fn from_word(word: &str) -> Result<Self, String> {
        let is_urn = word.len() > 4
            && word
                .get(..4)
                .is_some_and(|p| p.eq_ignore_ascii_case("urn:"));
        let (urn, rest) = if is_urn {
            match word.rsplit_once(':') {
                Some((u, r)) if u.len() > 4 => (Some(u.to_owned()), r),
                _ => return Err(format!("{word:?} is not an attribute path")),
            }
        } else {
            (None, word)
        };
        let (name, sub) = match rest.split_once('.') {
            Some((n, s)) => (n, Some(s)),
            None => (rest, None),
        };
        if !is_attr_name(name) || sub.is_some_and(|s| !is_attr_name(s)) {
            return Err(format!("{word:?} is not an attribute path"));
        }
        Ok(Self {
            urn,
            name: name.to_owned(),
            sub: sub.map(str::to_owned),
        })
    }

    /// Whether this names the top-level core attribute `name` (unqualified or qualified with a
    /// core schema URN), with no sub-attribute.
    pub fn is_core(&self, name: &str) -> bool {
        self.sub.is_none()
            && self.name.eq_ignore_ascii_case(name)
            && match self.urn.as_deref() {
                None => true,
                Some(u) => {
                    u.eq_ignore_ascii_case(crate::schema::USER_SCHEMA)
                        || u.eq_ignore_ascii_case(crate::schema::GROUP_SCHEMA)
                }
            }
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(u) = &self.urn {
            write!(f, "{u}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(s) = &self.sub {
            write!(f, ".{s}")?;
        }
        Ok(())
    }
}

/// RFC 7643 §2.1 ATTRNAME (`ALPHA *(ALPHA / DIGIT / "-" / "_")`), plus `$ref`.
pub fn is_attr_name(s: &str) -> bool {
    if s == "$ref" {
        return true;
    }
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The comma-separated `attributes` / `excludedAttributes` parameter (RFC 7644 §3.9).
pub fn parse_attribute_list(s: &str) -> Result<Vec<AttrPath>, ScimError> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(AttrPath::parse)
        .collect()
}

/// A PATCH `path` (RFC 7644 §3.5.2): `attrPath [ "[" valFilter "]" [ "." subAttr ] ]`.
///
/// `attr.sub` is the sub-attribute whether it came before (`name.givenName`) or after the filter
/// (`emails[type eq "work"].value`); `filter` selects values of a multi-valued attribute.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    pub attr: AttrPath,
    pub filter: Option<Filter>,
}

impl PatchPath {
    /// Parses a PATCH path; errors are `invalidPath` (or `invalidFilter` inside the brackets).
    pub fn parse(s: &str) -> Result<Self, ScimError> {
        filter::parse_patch_path(s)
    }
}

impl fmt::Display for PatchPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.filter {
            None => write!(f, "{}", self.attr),
            Some(flt) => {
                if let Some(u) = &self.attr.urn {
                    write!(f, "{u}:")?;
                }
                write!(f, "{}[{flt}]", self.attr.name)?;
                if let Some(s) = &self.attr.sub {
                    write!(f, ".{s}")?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_sub_and_urn_paths() {
        assert_eq!(
            AttrPath::parse("userName").unwrap(),
            AttrPath::new("userName")
        );
        assert_eq!(
            AttrPath::parse("name.givenName").unwrap(),
            AttrPath::with_sub("name", "givenName")
        );
        let p = AttrPath::parse(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
        )
        .unwrap();
        assert_eq!(
            p.urn.as_deref(),
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
        );
        assert_eq!(p.name, "manager");
        assert_eq!(p.sub.as_deref(), Some("value"));
        assert_eq!(
            p.to_string(),
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"
        );
    }

    #[test]
    fn refuses_what_is_not_a_path() {
        for bad in [
            "", "1abc", "a.b.c", "a b", "urn:", "urn:x:", "emails[", "a.$x",
        ] {
            assert!(AttrPath::parse(bad).is_err(), "{bad:?} parsed");
        }
        assert!(AttrPath::parse("members.$ref").is_ok());
        // Multi-byte characters where "urn:" would be must not split a character.
        for odd in ["abc\u{e9}", "urn\u{e9}:x:y", "\u{1F600}", "ur\u{e9}"] {
            assert!(AttrPath::parse(odd).is_err(), "{odd:?} parsed");
        }
    }

    #[test]
    fn is_core_matches_unqualified_and_core_qualified_names() {
        assert!(AttrPath::parse("USERNAME").unwrap().is_core("userName"));
        assert!(
            AttrPath::parse("urn:ietf:params:scim:schemas:core:2.0:User:userName")
                .unwrap()
                .is_core("userName")
        );
        assert!(!AttrPath::parse("name.givenName").unwrap().is_core("name"));
        assert!(!AttrPath::parse("urn:acme:x:userName")
            .unwrap()
            .is_core("userName"));
    }

    #[test]
    fn attribute_lists_split_on_commas() {
        let l = parse_attribute_list("userName, name.givenName,,emails").unwrap();
        assert_eq!(l.len(), 3);
        assert!(parse_attribute_list("userName,bad path").is_err());
    }
}
