//! Verified assertions to inventory accounts: which SAML attribute fills which user field. The
//! defaults cover the claim names Entra ID, Okta, Google and JumpCloud send out of the box; an
//! integration's `attribute_mapping` replaces the default of each field it names.

use std::collections::BTreeMap;

use gatehouse_core::catalog::SAML_USER_FIELDS;
use gatehouse_core::model::UserStatus;
use gatehouse_core::records::ProviderUser;

use crate::Assertion;

const CLAIMS: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/";
const EMAIL_FORMAT: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";

/// The attribute names tried for a field when the integration names none, in order.
pub fn default_names(field: &str) -> Vec<String> {
    let claim = |name: &str| format!("{CLAIMS}{name}");
    let names: Vec<String> = match field {
        "email" => vec![
            claim("emailaddress"),
            "email".into(),
            "Email".into(),
            "emailAddress".into(),
            "mail".into(),
            "urn:oid:0.9.2342.19200300.100.1.3".into(),
        ],
        "login" => vec![
            claim("name"),
            "login".into(),
            "username".into(),
            "userName".into(),
            "userPrincipalName".into(),
            "uid".into(),
            "urn:oid:0.9.2342.19200300.100.1.1".into(),
        ],
        "display_name" => vec![
            "http://schemas.microsoft.com/identity/claims/displayname".into(),
            "displayName".into(),
            "displayname".into(),
            "name".into(),
            "cn".into(),
            "urn:oid:2.16.840.1.113730.3.1.241".into(),
        ],
        "given_name" => vec![
            claim("givenname"),
            "firstName".into(),
            "firstname".into(),
            "givenName".into(),
            "given_name".into(),
            "urn:oid:2.5.4.42".into(),
        ],
        "family_name" => vec![
            claim("surname"),
            "lastName".into(),
            "lastname".into(),
            "surname".into(),
            "sn".into(),
            "family_name".into(),
            "urn:oid:2.5.4.4".into(),
        ],
        "groups" => vec![
            "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups".into(),
            "groups".into(),
            "Groups".into(),
            "memberOf".into(),
            "memberof".into(),
        ],
        "department" => vec![claim("department"), "department".into()],
        "title" => vec![claim("title"), "title".into(), "jobTitle".into()],
        "manager" => vec!["manager".into()],
        _ => Vec::new(),
    };
    names
}

/// Field → SAML attribute names to try, from an integration's mapping and the defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeMapping {
    fields: BTreeMap<&'static str, Vec<String>>,
}

impl AttributeMapping {
    /// The defaults, with `configured` (field → attribute name) taking precedence per field.
    pub fn new(configured: Option<&BTreeMap<String, String>>) -> Self {
        let fields = SAML_USER_FIELDS
            .iter()
            .map(|&field| {
                let names = match configured.and_then(|m| m.get(field)) {
                    Some(name) => vec![name.clone()],
                    None => default_names(field),
                };
                (field, names)
            })
            .collect();
        Self { fields }
    }

    fn values<'a>(&self, assertion: &'a Assertion, field: &str) -> Option<&'a [String]> {
        self.fields
            .get(field)?
            .iter()
            .find_map(|name| assertion.values(name).filter(|v| !v.is_empty()))
    }

    fn first(&self, assertion: &Assertion, field: &str) -> Option<String> {
        self.values(assertion, field)
            .and_then(|v| v.first())
            .cloned()
    }

    /// The inventory account a verified assertion describes. The external id is the NameID;
    /// an e-mail-format NameID is the e-mail when no attribute gives one.
    pub fn user(&self, assertion: &Assertion) -> ProviderUser {
        let email_name_id = assertion.name_id_format.as_deref() == Some(EMAIL_FORMAT)
            && assertion.name_id.contains('@');
        let email = self
            .first(assertion, "email")
            .or_else(|| email_name_id.then(|| assertion.name_id.clone()));
        let login = self
            .first(assertion, "login")
            .or_else(|| email.clone())
            .unwrap_or_else(|| assertion.name_id.clone());
        let given_name = self.first(assertion, "given_name");
        let family_name = self.first(assertion, "family_name");
        let display_name = self.first(assertion, "display_name").or_else(|| {
            let joined = [given_name.as_deref(), family_name.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            (!joined.is_empty()).then_some(joined)
        });
        let groups = self.values(assertion, "groups").map(<[String]>::to_vec);
        let attributes: serde_json::Map<String, serde_json::Value> = assertion
            .attributes
            .iter()
            .map(|a| (a.name.clone(), serde_json::json!(a.values)))
            .collect();
        ProviderUser {
            external_id: assertion.name_id.clone(),
            login,
            emails: email.iter().cloned().collect(),
            email,
            display_name,
            given_name,
            family_name,
            status: UserStatus::Active,
            status_flags: Vec::new(),
            department: self.first(assertion, "department"),
            title: self.first(assertion, "title"),
            manager: self.first(assertion, "manager"),
            groups,
            mfa_enrolled: None,
            mfa_factors: Vec::new(),
            is_admin: None,
            created_at: None,
            last_login_at: assertion.authn_instant.or(Some(assertion.issue_instant)),
            updated_at: Some(assertion.issue_instant),
            raw: Some(
                serde_json::json!({
                    "saml": {
                        "issuer": assertion.issuer,
                        "name_id": assertion.name_id,
                        "name_id_format": assertion.name_id_format,
                        "attributes": attributes,
                    }
                })
                .into(),
            ),
        }
    }
}
