//! Schemas, the resource types they describe, tenant-declared extensions, and the registry that
//! says where an attribute path points in a resource (case-insensitively, URN-qualified or not).

use serde::{Deserialize, Serialize};

use super::{
    common_attributes, enterprise_user_schema, group_schema, user_schema, AttributeDef,
    GROUP_SCHEMA, USER_SCHEMA,
};
use crate::error::ScimError;
use crate::path::AttrPath;

/// The resource types Gatehouse serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ResourceKind {
    User,
    Group,
}

impl ResourceKind {
    /// The resource type's name, as in `meta.resourceType` and `/ResourceTypes/{name}`.
    pub fn name(self) -> &'static str {
        match self {
            Self::User => "User",
            Self::Group => "Group",
        }
    }

    /// The collection endpoint relative to the base URL.
    pub fn endpoint(self) -> &'static str {
        match self {
            Self::User => "/Users",
            Self::Group => "/Groups",
        }
    }

    pub fn core_schema_id(self) -> &'static str {
        match self {
            Self::User => USER_SCHEMA,
            Self::Group => GROUP_SCHEMA,
        }
    }

    /// The kind named by an endpoint segment (`Users`) or a resource type name (`User`).
    pub fn from_name(name: &str) -> Option<Self> {
        let n = name.trim_start_matches('/');
        if n.eq_ignore_ascii_case("Users") || n.eq_ignore_ascii_case("User") {
            Some(Self::User)
        } else if n.eq_ignore_ascii_case("Groups") || n.eq_ignore_ascii_case("Group") {
            Some(Self::Group)
        } else {
            None
        }
    }
}

/// A schema: an id (URN), a name and its attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    pub id: String,
    pub name: String,
    pub description: String,
    pub attributes: Vec<AttributeDef>,
    /// Undeclared attributes are kept rather than refused (tenant-declared extensions only).
    pub open: bool,
}

impl Schema {
    /// An attribute by name, case-insensitively.
    pub fn attribute(&self, name: &str) -> Option<&AttributeDef> {
        self.attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }
}

/// A tenant-declared extension schema, e.g. `urn:ietf:params:scim:schemas:extension:acme:2.0:User`.
/// Attributes the tenant did not declare are still kept when a client sends them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomSchema {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub attributes: Vec<AttributeDef>,
    /// Which resource type it extends; inferred from the URN's last segment when absent.
    #[serde(default)]
    pub resource_type: Option<ResourceKind>,
}

impl CustomSchema {
    pub fn new(id: &str, attributes: Vec<AttributeDef>) -> Self {
        Self {
            id: id.to_owned(),
            name: None,
            description: None,
            attributes,
            resource_type: None,
        }
    }

    pub fn kind(&self) -> ResourceKind {
        self.resource_type.unwrap_or_else(|| {
            let last = self.id.rsplit(':').next().unwrap_or_default();
            if last.eq_ignore_ascii_case("Group") {
                ResourceKind::Group
            } else {
                ResourceKind::User
            }
        })
    }
}

/// Where a path points inside a resource.
#[derive(Debug, Clone, Copy)]
pub enum Resolved<'a> {
    /// A whole extension object (`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`).
    Extension(&'a Schema),
    Attribute(AttrLoc<'a>),
}

/// An attribute's place: the extension object holding it (or the top level) and its definition.
#[derive(Debug, Clone, Copy)]
pub struct AttrLoc<'a> {
    /// `None` for core and common attributes, which live at the top level of the resource.
    pub extension: Option<&'a Schema>,
    /// The name as stored: the schema's spelling, or the client's for an undeclared attribute.
    pub name: &'a str,
    /// `None` only for an undeclared attribute of an open (tenant-declared) extension.
    pub def: Option<&'a AttributeDef>,
    pub sub: Option<SubLoc<'a>>,
}

/// A sub-attribute's name and definition.
#[derive(Debug, Clone, Copy)]
pub struct SubLoc<'a> {
    pub name: &'a str,
    pub def: Option<&'a AttributeDef>,
}

impl<'a> AttrLoc<'a> {
    /// The definition of what the path finally names (the sub-attribute if there is one).
    pub fn leaf(&self) -> Option<&'a AttributeDef> {
        match &self.sub {
            Some(s) => s.def,
            None => self.def,
        }
    }

    /// Whether string comparisons on the leaf are case-sensitive (RFC 7643 §2.2: default false).
    pub fn case_exact(&self) -> bool {
        self.leaf().is_some_and(|d| d.case_exact)
    }

    /// The fully qualified name used in change lists: `userName`, `name.givenName`,
    /// `urn:…:enterprise:2.0:User:manager`.
    pub fn qualified(&self) -> String {
        let mut s = match self.extension {
            Some(e) => format!("{}:{}", e.id, self.name),
            None => self.name.to_owned(),
        };
        if let Some(sub) = &self.sub {
            s.push('.');
            s.push_str(sub.name);
        }
        s
    }
}

/// The schemas of one tenant: User with Enterprise User and custom extensions, Group with its
/// custom extensions.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaRegistry {
    common: Vec<AttributeDef>,
    user: Schema,
    group: Schema,
    /// Extensions with the kind they extend, in declaration order (Enterprise User first).
    extensions: Vec<(ResourceKind, Schema)>,
}

impl Default for SchemaRegistry {
    fn default() -> Self {
        Self::standard()
    }
}

impl SchemaRegistry {
    /// User, Group and the Enterprise User extension.
    pub fn standard() -> Self {
        Self {
            common: common_attributes(),
            user: user_schema(),
            group: group_schema(),
            extensions: vec![(ResourceKind::User, enterprise_user_schema())],
        }
    }

    /// The standard schemas plus a tenant's extensions. Refuses ids that are not URNs or that
    /// collide with another schema, and attribute names SCIM paths could not address.
    pub fn with_custom(custom: &[CustomSchema]) -> Result<Self, ScimError> {
        let mut reg = Self::standard();
        for c in custom {
            if !c.id.to_ascii_lowercase().starts_with("urn:") || c.id.contains(char::is_whitespace)
            {
                return Err(ScimError::invalid_value(format!(
                    "custom schema id {:?} is not a URN",
                    c.id
                )));
            }
            if reg.schema(&c.id).is_some() {
                return Err(ScimError::invalid_value(format!(
                    "schema {:?} is declared twice",
                    c.id
                )));
            }
            for a in &c.attributes {
                check_declared_name(&a.name)?;
                for s in &a.sub_attributes {
                    check_declared_name(&s.name)?;
                }
            }
            let name = c
                .name
                .clone()
                .unwrap_or_else(|| c.id.rsplit(':').next().unwrap_or_default().to_owned());
            reg.extensions.push((
                c.kind(),
                Schema {
                    id: c.id.clone(),
                    name,
                    description: c.description.clone().unwrap_or_default(),
                    attributes: c.attributes.clone(),
                    open: true,
                },
            ));
        }
        Ok(reg)
    }

    /// Every schema, core ones first.
    pub fn schemas(&self) -> impl Iterator<Item = &Schema> {
        [&self.user, &self.group]
            .into_iter()
            .chain(self.extensions.iter().map(|(_, s)| s))
    }

    /// A schema by id, case-insensitively (URNs compare case-insensitively in practice).
    pub fn schema(&self, id: &str) -> Option<&Schema> {
        self.schemas().find(|s| s.id.eq_ignore_ascii_case(id))
    }

    pub fn core(&self, kind: ResourceKind) -> &Schema {
        match kind {
            ResourceKind::User => &self.user,
            ResourceKind::Group => &self.group,
        }
    }

    /// The extensions of one resource type.
    pub fn extensions(&self, kind: ResourceKind) -> impl Iterator<Item = &Schema> {
        self.extensions
            .iter()
            .filter(move |(k, _)| *k == kind)
            .map(|(_, s)| s)
    }

    pub fn extension(&self, kind: ResourceKind, urn: &str) -> Option<&Schema> {
        self.extensions(kind)
            .find(|s| s.id.eq_ignore_ascii_case(urn))
    }

    /// `id`, `externalId`, `meta` and `schemas` (RFC 7643 §3.1), shared by every resource type.
    pub fn common(&self) -> &[AttributeDef] {
        &self.common
    }

    fn common_attr(&self, name: &str) -> Option<&AttributeDef> {
        self.common
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// Where `path` points for a resource of `kind`, or `None` when no schema knows it.
    ///
    /// Unqualified names are looked up in the common attributes, then the core schema, then the
    /// extensions (so `department` finds the Enterprise User attribute, as lenient clients expect).
    pub fn resolve<'a>(&'a self, kind: ResourceKind, path: &'a AttrPath) -> Option<Resolved<'a>> {
        let core = self.core(kind);
        let (extension, def): (Option<&Schema>, Option<&AttributeDef>) = match &path.urn {
            Some(urn) => {
                if path.sub.is_none() {
                    let whole = format!("{urn}:{}", path.name);
                    if let Some(ext) = self.extension(kind, &whole) {
                        return Some(Resolved::Extension(ext));
                    }
                }
                if urn.eq_ignore_ascii_case(&core.id) {
                    let def = self
                        .common_attr(&path.name)
                        .or_else(|| core.attribute(&path.name))?;
                    (None, Some(def))
                } else {
                    let ext = self.extension(kind, urn)?;
                    match ext.attribute(&path.name) {
                        Some(def) => (Some(ext), Some(def)),
                        None if ext.open => (Some(ext), None),
                        None => return None,
                    }
                }
            }
            None => {
                if let Some(def) = self
                    .common_attr(&path.name)
                    .or_else(|| core.attribute(&path.name))
                {
                    (None, Some(def))
                } else {
                    let (ext, def) = self
                        .extensions(kind)
                        .find_map(|e| e.attribute(&path.name).map(|d| (e, d)))?;
                    (Some(ext), Some(def))
                }
            }
        };
        let name = def.map_or(path.name.as_str(), |d| d.name.as_str());
        let sub = match (&path.sub, def) {
            (None, _) => None,
            (Some(s), Some(d)) => {
                let sd = d.sub_attribute(s)?;
                Some(SubLoc {
                    name: &sd.name,
                    def: Some(sd),
                })
            }
            (Some(s), None) => Some(SubLoc { name: s, def: None }),
        };
        Some(Resolved::Attribute(AttrLoc {
            extension,
            name,
            def,
            sub,
        }))
    }

    /// Like [`resolve`](Self::resolve) but only for attributes (not whole extensions).
    pub fn attribute<'a>(&'a self, kind: ResourceKind, path: &'a AttrPath) -> Option<AttrLoc<'a>> {
        match self.resolve(kind, path)? {
            Resolved::Attribute(a) => Some(a),
            Resolved::Extension(_) => None,
        }
    }
}

fn check_declared_name(name: &str) -> Result<(), ScimError> {
    if crate::path::is_attr_name(name) {
        Ok(())
    } else {
        Err(ScimError::invalid_value(format!(
            "attribute name {name:?} is not a valid SCIM attribute name"
        )))
    }
}
