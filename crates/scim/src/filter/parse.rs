//! A hand-written recursive-descent parser for the RFC 7644 §3.4.2.2 filter grammar:
//!
//! ```text
//! filter    = or
//! or        = and *( "or" and )
//! and       = unary *( "and" unary )
//! unary     = "not" "(" filter ")" / "(" filter ")" / attrExp
//! attrExp   = attrPath "pr" / attrPath compareOp compValue / attrPath "[" valFilter "]"
//! ```
//!
//! Keywords and operators are case-insensitive. It works on bytes: every delimiter is ASCII, and
//! a UTF-8 continuation byte never equals an ASCII byte, so slicing at delimiters is always at a
//! character boundary. Nesting and operator counts are bounded (see [`super::MAX_NESTING`]).

use serde_json::Number;

use super::{CompValue, CompareOp, Filter, MAX_LOGICAL_OPERATORS, MAX_NESTING};
use crate::error::{ScimError, ScimType};
use crate::path::{is_attr_name, AttrPath, PatchPath};

pub(crate) fn parse_filter(s: &str) -> Result<Filter, ScimError> {
    let mut p = Parser::new(s, ScimType::InvalidFilter);
    let f = p.or_expr()?;
    p.skip_ws();
    if p.pos < p.src.len() {
        return Err(p.err("unexpected input"));
    }
    Ok(f)
}

pub(crate) fn parse_patch_path(s: &str) -> Result<PatchPath, ScimError> {
    let s = s.trim();
    let Some(open) = s.find('[') else {
        let attr = AttrPath::from_word(s).map_err(ScimError::invalid_path)?;
        return Ok(PatchPath { attr, filter: None });
    };
    let mut attr = AttrPath::from_word(&s[..open]).map_err(ScimError::invalid_path)?;
    if attr.sub.is_some() {
        return Err(ScimError::invalid_path(format!(
            "{s:?}: a value filter must follow the multi-valued attribute itself"
        )));
    }
    let mut p = Parser::new(s, ScimType::InvalidPath);
    p.pos = open + 1;
    p.depth = 1;
    p.in_value_path = true;
    let filter = p.or_expr()?;
    p.skip_ws();
    p.expect(b']')?;
    let rest = &s[p.pos..];
    if !rest.is_empty() {
        match rest.strip_prefix('.') {
            Some(sub) if is_attr_name(sub) => attr.sub = Some(sub.to_owned()),
            _ => return Err(p.err("expected end of path or '.subAttribute' after ']'")),
        }
    }
    Ok(PatchPath {
        attr,
        filter: Some(filter),
    })
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    depth: usize,
    logical: usize,
    in_value_path: bool,
    kind: ScimType,
}

fn is_word_byte(b: u8) -> bool {
    !(b.is_ascii_whitespace() || matches!(b, b'(' | b')' | b'[' | b']' | b'"'))
}

impl<'a> Parser<'a> {
    fn new(src: &'a str, kind: ScimType) -> Self {
        Self {
            src,
            pos: 0,
            depth: 0,
            logical: 0,
            in_value_path: false,
            kind,
        }
    }

    fn err(&self, what: &str) -> ScimError {
        let near: String = self
            .src
            .get(self.pos..)
            .unwrap_or_default()
            .chars()
            .take(24)
            .collect();
        ScimError::bad_request(
            self.kind,
            format!(
                "invalid filter: {what} at offset {} (near {near:?})",
                self.pos
            ),
        )
    }

    fn peek(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, b: u8) -> Result<(), ScimError> {
        if self.peek() == Some(b) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.err(&format!("expected '{}'", b as char)))
        }
    }

    fn word(&mut self) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(is_word_byte) {
            self.pos += 1;
        }
        &self.src[start..self.pos]
    }

    /// Consumes `kw` (case-insensitive, as a whole word) if it comes next.
    fn keyword(&mut self, kw: &str) -> bool {
        let save = self.pos;
        self.skip_ws();
        if self.word().eq_ignore_ascii_case(kw) {
            true
        } else {
            self.pos = save;
            false
        }
    }

    fn enter(&mut self) -> Result<(), ScimError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(self.err(&format!("nesting deeper than {MAX_NESTING}")));
        }
        Ok(())
    }

    fn count_logical(&mut self) -> Result<(), ScimError> {
        self.logical += 1;
        if self.logical > MAX_LOGICAL_OPERATORS {
            return Err(self.err(&format!(
                "more than {MAX_LOGICAL_OPERATORS} logical operators"
            )));
        }
        Ok(())
    }

    fn or_expr(&mut self) -> Result<Filter, ScimError> {
        let mut left = self.and_expr()?;
        while self.keyword("or") {
            self.count_logical()?;
            let right = self.and_expr()?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> Result<Filter, ScimError> {
        let mut left = self.unary()?;
        while self.keyword("and") {
            self.count_logical()?;
            let right = self.unary()?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Filter, ScimError> {
        self.skip_ws();
        if self.peek() == Some(b'(') {
            self.pos += 1;
            return self.group();
        }
        let start = self.pos;
        if self.word().eq_ignore_ascii_case("not") {
            self.skip_ws();
            if self.peek() == Some(b'(') {
                self.pos += 1;
                return Ok(Filter::Not(Box::new(self.group()?)));
            }
        }
        // Not a negation: an attribute that happens to be called "not", or anything else.
        self.pos = start;
        self.attr_expr()
    }

    /// The rest of a parenthesized filter, after its `(`.
    fn group(&mut self) -> Result<Filter, ScimError> {
        self.enter()?;
        let f = self.or_expr()?;
        self.skip_ws();
        self.expect(b')')?;
        self.depth -= 1;
        Ok(f)
    }

    fn attr_expr(&mut self) -> Result<Filter, ScimError> {
        let start = self.pos;
        let word = self.word();
        if word.is_empty() {
            return Err(self.err("expected an attribute path"));
        }
        let path = AttrPath::from_word(word).map_err(|e| {
            self.pos = start;
            self.err(&e)
        })?;
        if self.peek() == Some(b'[') {
            if self.in_value_path {
                return Err(self.err("value filters cannot nest"));
            }
            if path.sub.is_some() {
                return Err(self.err("a value filter must follow the attribute itself"));
            }
            self.pos += 1;
            self.enter()?;
            self.in_value_path = true;
            let inner = self.or_expr()?;
            self.in_value_path = false;
            self.skip_ws();
            self.expect(b']')?;
            self.depth -= 1;
            return Ok(Filter::ValuePath {
                path,
                filter: Box::new(inner),
            });
        }
        self.skip_ws();
        let op_start = self.pos;
        let op_word = self.word();
        if op_word.eq_ignore_ascii_case("pr") {
            return Ok(Filter::Present(path));
        }
        let Some(op) = CompareOp::parse(op_word) else {
            self.pos = op_start;
            return Err(self.err(&format!("expected an operator after {word:?}")));
        };
        self.skip_ws();
        let value = self.comp_value()?;
        Ok(Filter::Compare { path, op, value })
    }

    fn comp_value(&mut self) -> Result<CompValue, ScimError> {
        if self.peek() == Some(b'"') {
            return self.string().map(CompValue::Str);
        }
        let start = self.pos;
        let w = self.word();
        if w.eq_ignore_ascii_case("true") {
            Ok(CompValue::Bool(true))
        } else if w.eq_ignore_ascii_case("false") {
            Ok(CompValue::Bool(false))
        } else if w.eq_ignore_ascii_case("null") {
            Ok(CompValue::Null)
        } else if is_json_number(w) {
            parse_number(w).map(CompValue::Num).ok_or_else(|| {
                self.pos = start;
                self.err("number out of range")
            })
        } else {
            self.pos = start;
            Err(self.err("expected a string, number, true, false or null"))
        }
    }

    fn string(&mut self) -> Result<String, ScimError> {
        let start = self.pos;
        self.pos += 1;
        loop {
            match self.peek() {
                None => {
                    self.pos = start;
                    return Err(self.err("unterminated string"));
                }
                Some(b'\\') => self.pos += 2,
                Some(b'"') => break,
                Some(_) => self.pos += 1,
            }
        }
        self.pos += 1;
        // A backslash at the very end can step past the end; `get` keeps that from panicking.
        let lit = self.src.get(start..self.pos).unwrap_or_default();
        serde_json::from_str::<String>(lit).map_err(|_| {
            self.pos = start;
            self.err("invalid string literal")
        })
    }
}

/// A JSON number as serde_json represents it, but with the standard library's correctly rounded
/// float parsing: serde_json's default parser can be off by one ulp, and then printing a filter
/// and parsing it back would not give the same number.
fn parse_number(w: &str) -> Option<Number> {
    if !w.contains(['.', 'e', 'E']) {
        if let Ok(i) = w.parse::<i64>() {
            return Some(i.into());
        }
        if let Ok(u) = w.parse::<u64>() {
            return Some(u.into());
        }
    }
    w.parse::<f64>().ok().and_then(Number::from_f64)
}

/// JSON number grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
fn is_json_number(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(c) if c.is_ascii_digit() => {
            digits(&mut i);
        }
        _ => return false,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}
