//! Attribute definitions (RFC 7643 §7): type, multiValued, required, caseExact, mutability,
//! returned, uniqueness, canonical values, reference types and sub-attributes.

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

/// RFC 7643 §2.3 data types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AttrType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Binary,
    Reference,
    Complex,
}

/// RFC 7643 §7 `mutability`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Mutability {
    ReadOnly,
    #[default]
    ReadWrite,
    Immutable,
    WriteOnly,
}

/// RFC 7643 §7 `returned`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Returned {
    Always,
    Never,
    #[default]
    Default,
    Request,
}

/// RFC 7643 §7 `uniqueness`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Uniqueness {
    #[default]
    None,
    Server,
    Global,
}

/// One attribute definition (RFC 7643 §7). Deserializes from the same JSON it serializes to, with
/// the RFC's defaults for omitted characteristics, so tenants declare extensions in SCIM's own words.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttributeDef {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: AttrType,
    #[serde(default)]
    pub multi_valued: bool,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub case_exact: bool,
    #[serde(default)]
    pub mutability: Mutability,
    #[serde(default)]
    pub returned: Returned,
    #[serde(default)]
    pub uniqueness: Uniqueness,
    #[serde(default)]
    pub canonical_values: Vec<String>,
    #[serde(default)]
    pub reference_types: Vec<String>,
    #[serde(default)]
    pub sub_attributes: Vec<AttributeDef>,
}

impl AttributeDef {
    /// A single-valued, optional, case-insensitive, readWrite attribute: RFC 7643's defaults.
    pub fn new(name: &str, ty: AttrType) -> Self {
        Self {
            name: name.to_owned(),
            ty,
            multi_valued: false,
            description: String::new(),
            required: false,
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            uniqueness: Uniqueness::None,
            canonical_values: Vec::new(),
            reference_types: Vec::new(),
            sub_attributes: Vec::new(),
        }
    }

    pub fn multi(mut self) -> Self {
        self.multi_valued = true;
        self
    }

    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    pub fn case_exact(mut self) -> Self {
        self.case_exact = true;
        self
    }

    pub fn mutability(mut self, m: Mutability) -> Self {
        self.mutability = m;
        self
    }

    pub fn returned(mut self, r: Returned) -> Self {
        self.returned = r;
        self
    }

    pub fn uniqueness(mut self, u: Uniqueness) -> Self {
        self.uniqueness = u;
        self
    }

    pub fn describe(mut self, d: &str) -> Self {
        self.description = d.to_owned();
        self
    }

    pub fn canonical(mut self, values: &[&str]) -> Self {
        self.canonical_values = values.iter().map(|v| (*v).to_owned()).collect();
        self
    }

    pub fn references(mut self, types: &[&str]) -> Self {
        self.reference_types = types.iter().map(|v| (*v).to_owned()).collect();
        self
    }

    pub fn subs(mut self, subs: Vec<AttributeDef>) -> Self {
        self.sub_attributes = subs;
        self
    }

    pub fn is_complex(&self) -> bool {
        self.ty == AttrType::Complex
    }

    /// A sub-attribute by name, case-insensitively. A multi-valued complex attribute also knows the
    /// RFC 7643 §2.4 default sub-attributes (`type`, `primary`, `display`, `value`, `$ref`) even
    /// where its schema omits them: clients send `members[].display` although §8.7.1 lists only
    /// `value`, `$ref` and `type` for Group members.
    pub fn sub_attribute(&self, name: &str) -> Option<&AttributeDef> {
        if !self.is_complex() {
            return None;
        }
        let declared = self
            .sub_attributes
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(name));
        if declared.is_some() || !self.multi_valued {
            return declared;
        }
        super::core::multi_valued_defaults()
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(name))
    }
}

impl Serialize for AttributeDef {
    // Hand-written so the JSON lists the characteristics the way RFC 7643 §8.7 does: `caseExact`
    // only where case can matter, `subAttributes` only on complex attributes.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("name", &self.name)?;
        map.serialize_entry("type", &self.ty)?;
        map.serialize_entry("multiValued", &self.multi_valued)?;
        map.serialize_entry("description", &self.description)?;
        map.serialize_entry("required", &self.required)?;
        let textual = matches!(
            self.ty,
            AttrType::String | AttrType::Reference | AttrType::Binary | AttrType::DateTime
        );
        if textual {
            map.serialize_entry("caseExact", &self.case_exact)?;
        }
        if !self.canonical_values.is_empty() {
            map.serialize_entry("canonicalValues", &self.canonical_values)?;
        }
        if self.ty == AttrType::Reference {
            map.serialize_entry("referenceTypes", &self.reference_types)?;
        }
        map.serialize_entry("mutability", &self.mutability)?;
        map.serialize_entry("returned", &self.returned)?;
        if self.ty != AttrType::Boolean {
            map.serialize_entry("uniqueness", &self.uniqueness)?;
        }
        if self.is_complex() {
            map.serialize_entry("subAttributes", &self.sub_attributes)?;
        }
        map.end()
    }
}
