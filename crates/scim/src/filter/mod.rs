//! SCIM filters (RFC 7644 §3.4.2.2): the AST, its printer, index helpers for the store, and
//! (in submodules) the parser and the evaluator.
//!
//! The printer and the parser are inverse: `Filter::parse(&f.to_string()) == Ok(f)` for every
//! filter, which a property test checks. Parentheses are not kept in the AST; the printer puts
//! back exactly those the precedence (`not` > `and` > `or`, left-associative) needs.

mod eval;
mod parse;

use std::fmt;
use std::str::FromStr;

use serde_json::Number;

use crate::error::ScimError;
use crate::path::AttrPath;

pub(crate) use parse::parse_patch_path;

/// Most `and`/`or` operators one filter may hold: bounds the AST's depth so that evaluating,
/// printing and dropping it cannot exhaust the stack, whatever a client sends.
pub const MAX_LOGICAL_OPERATORS: usize = 256;
/// Deepest nesting of parentheses, `not (…)` and value filters.
pub const MAX_NESTING: usize = 32;

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `path op value`, e.g. `userName eq "bjensen"`.
    Compare {
        path: AttrPath,
        op: CompareOp,
        value: CompValue,
    },
    /// `path pr`.
    Present(AttrPath),
    /// `emails[type eq "work" and value co "@example.com"]`: paths inside are relative to each
    /// value of the multi-valued attribute.
    ValuePath {
        path: AttrPath,
        filter: Box<Filter>,
    },
    Not(Box<Filter>),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
}

/// The comparison operators of RFC 7644 Table 3 (`pr` is [`Filter::Present`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    pub const ALL: [CompareOp; 9] = [
        Self::Eq,
        Self::Ne,
        Self::Co,
        Self::Sw,
        Self::Ew,
        Self::Gt,
        Self::Ge,
        Self::Lt,
        Self::Le,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "eq",
            Self::Ne => "ne",
            Self::Co => "co",
            Self::Sw => "sw",
            Self::Ew => "ew",
            Self::Gt => "gt",
            Self::Ge => "ge",
            Self::Lt => "lt",
            Self::Le => "le",
        }
    }

    /// Operators are case-insensitive (RFC 7644 §3.4.2.2).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|op| op.as_str().eq_ignore_ascii_case(s))
    }

    /// gt/ge/lt/le: meaningless on booleans and binary data (RFC 7644 §3.4.2.2).
    pub fn is_ordering(self) -> bool {
        matches!(self, Self::Gt | Self::Ge | Self::Lt | Self::Le)
    }
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A comparison value. Dates are strings here: whether `"2011-05-13T04:42:34Z"` compares as a
/// date depends on the attribute's type, which the evaluator knows.
#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    Str(String),
    Num(Number),
    Bool(bool),
    Null,
}

impl fmt::Display for CompValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Str(s) => {
                // JSON string syntax is SCIM's string literal syntax (RFC 7644 §3.4.2.2).
                let quoted = serde_json::to_string(s).map_err(|_| fmt::Error)?;
                f.write_str(&quoted)
            }
            Self::Num(n) => write!(f, "{n}"),
            Self::Bool(b) => write!(f, "{b}"),
            Self::Null => f.write_str("null"),
        }
    }
}

impl Filter {
    /// Parses a filter; every failure is a 400 `invalidFilter`.
    pub fn parse(s: &str) -> Result<Self, ScimError> {
        parse::parse_filter(s)
    }

    /// The value `v` when this filter is `attr eq "v"`, or an `and` with such a term anywhere in
    /// its conjunction, for a top-level core attribute (`userName`, `externalId`, `id`,
    /// `displayName`). A store answers that term from an index and evaluates the whole filter on
    /// the candidates it finds; `None` means no index applies (an `or`, a `not`, …).
    pub fn equality_on(&self, attr: &str) -> Option<&str> {
        match self {
            Self::Compare {
                path,
                op: CompareOp::Eq,
                value: CompValue::Str(v),
            } if path.is_core(attr) => Some(v),
            Self::And(l, r) => l.equality_on(attr).or_else(|| r.equality_on(attr)),
            _ => None,
        }
    }

    fn precedence(&self) -> u8 {
        match self {
            Self::Or(..) => 1,
            Self::And(..) => 2,
            _ => 3,
        }
    }

    fn fmt_operand(&self, f: &mut fmt::Formatter<'_>, parent: u8, right: bool) -> fmt::Result {
        // Left-associative: an operand of equal precedence needs parentheses only on the right.
        let p = self.precedence();
        if p < parent || (p == parent && right) {
            write!(f, "({self})")
        } else {
            write!(f, "{self}")
        }
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Compare { path, op, value } => write!(f, "{path} {op} {value}"),
            Self::Present(path) => write!(f, "{path} pr"),
            Self::ValuePath { path, filter } => write!(f, "{path}[{filter}]"),
            Self::Not(inner) => write!(f, "not ({inner})"),
            Self::And(l, r) | Self::Or(l, r) => {
                let p = self.precedence();
                l.fmt_operand(f, p, false)?;
                f.write_str(if p == 1 { " or " } else { " and " })?;
                r.fmt_operand(f, p, true)
            }
        }
    }
}

impl FromStr for Filter {
    type Err = ScimError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// The key a store indexes `value` of `attr` under: lower-cased for the case-insensitive
/// `userName` and `displayName` (RFC 7643 caseExact false), verbatim for `id` and `externalId`.
pub fn index_key(attr: &str, value: &str) -> String {
    if attr.eq_ignore_ascii_case("id") || attr.eq_ignore_ascii_case("externalId") {
        value.to_owned()
    } else {
        value.to_lowercase()
    }
}

#[cfg(test)]
mod tests;
