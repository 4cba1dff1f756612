//! Okta's SCIM-like filter language, used by `filter` and `search` on users and
//! groups and by `filter` on the System Log.
//!
//! Attribute names are case-sensitive, operators case-insensitive; `and` binds
//! tighter than `or`; parentheses group; `not` negates. Which attributes and
//! operators an endpoint accepts is decided by the caller (see `dialect`), so
//! the parser here accepts the whole language.

use std::cmp::Ordering;

use serde_json::Value;

use super::clock::parse_ts;

/// Attribute operators of the language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Pr,
    Gt,
    Ge,
    Lt,
    Le,
}

impl Op {
    fn parse(word: &str) -> Option<Op> {
        Some(match word.to_ascii_lowercase().as_str() {
            "eq" => Op::Eq,
            "ne" => Op::Ne,
            "co" => Op::Co,
            "sw" => Op::Sw,
            "ew" => Op::Ew,
            "pr" => Op::Pr,
            "gt" => Op::Gt,
            "ge" => Op::Ge,
            "lt" => Op::Lt,
            "le" => Op::Le,
            _ => return None,
        })
    }

    /// The operator as written in Okta's messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "eq",
            Op::Ne => "ne",
            Op::Co => "co",
            Op::Sw => "sw",
            Op::Ew => "ew",
            Op::Pr => "pr",
            Op::Gt => "gt",
            Op::Ge => "ge",
            Op::Lt => "lt",
            Op::Le => "le",
        }
    }

    /// Ordering comparisons (the only ones Okta allows on `lastUpdated` besides `eq`).
    pub fn is_ordering(self) -> bool {
        matches!(self, Op::Gt | Op::Ge | Op::Lt | Op::Le)
    }
}

/// A literal operand.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
}

/// A parsed filter expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Cmp {
        attr: String,
        op: Op,
        value: Option<Literal>,
    },
}

/// Why an expression could not be parsed; `position` is a character offset.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    pub message: String,
    pub position: usize,
}

impl Expr {
    /// Parses a filter expression.
    pub fn parse(input: &str) -> Result<Expr, ParseError> {
        let tokens = tokenize(input)?;
        let mut p = Parser { tokens, pos: 0 };
        if p.tokens.is_empty() {
            return Err(ParseError {
                message: "The filter expression is empty".into(),
                position: 0,
            });
        }
        let e = p.or_expr()?;
        match p.tokens.get(p.pos) {
            None => Ok(e),
            Some(t) => Err(ParseError {
                message: format!("Unexpected token '{}'", t.text),
                position: t.at,
            }),
        }
    }

    /// Every comparison in the expression, for dialect checks.
    pub fn comparisons(&self) -> Vec<(&str, Op, Option<&Literal>)> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out
    }

    fn collect<'a>(&'a self, out: &mut Vec<(&'a str, Op, Option<&'a Literal>)>) {
        match self {
            Expr::And(a, b) | Expr::Or(a, b) => {
                a.collect(out);
                b.collect(out);
            }
            Expr::Not(a) => a.collect(out),
            Expr::Cmp { attr, op, value } => out.push((attr.as_str(), *op, value.as_ref())),
        }
    }

    /// Whether `not` appears anywhere.
    pub fn uses_not(&self) -> bool {
        match self {
            Expr::And(a, b) | Expr::Or(a, b) => a.uses_not() || b.uses_not(),
            Expr::Not(_) => true,
            Expr::Cmp { .. } => false,
        }
    }

    /// Evaluates against a record; `resolve` returns every value found at a
    /// dotted path (several when the path crosses an array), `ci` makes string
    /// comparisons case-insensitive (users/groups `search`).
    pub fn matches(&self, resolve: &mut dyn FnMut(&str) -> Vec<Value>, ci: bool) -> bool {
        match self {
            Expr::And(a, b) => a.matches(resolve, ci) && b.matches(resolve, ci),
            Expr::Or(a, b) => a.matches(resolve, ci) || b.matches(resolve, ci),
            Expr::Not(a) => !a.matches(resolve, ci),
            Expr::Cmp { attr, op, value } => {
                let found = resolve(attr);
                match (op, value) {
                    (Op::Pr, _) => found.iter().any(present),
                    (Op::Ne, Some(v)) => !found.iter().any(|f| compare(f, Op::Eq, v, ci)),
                    (_, Some(v)) => found.iter().any(|f| compare(f, *op, v, ci)),
                    (_, None) => false,
                }
            }
        }
    }
}

fn present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

fn compare(found: &Value, op: Op, lit: &Literal, ci: bool) -> bool {
    match (found, lit) {
        (Value::String(s), Literal::Str(l)) => compare_str(s, op, l, ci),
        (Value::Number(n), Literal::Num(l)) => n
            .as_f64()
            .and_then(|x| x.partial_cmp(l))
            .is_some_and(|o| ordering_ok(o, op)),
        // Numbers compared against quoted literals: compare the text.
        (Value::Number(n), Literal::Str(l)) => compare_str(&n.to_string(), op, l, ci),
        (Value::Bool(b), Literal::Bool(l)) => match op {
            Op::Eq => b == l,
            _ => false,
        },
        (Value::Bool(b), Literal::Str(l)) => {
            op == Op::Eq && b.to_string() == l.to_ascii_lowercase()
        }
        (Value::Null, Literal::Null) => op == Op::Eq,
        _ => false,
    }
}

fn compare_str(s: &str, op: Op, l: &str, ci: bool) -> bool {
    let (s, l) = if ci {
        (s.to_lowercase(), l.to_lowercase())
    } else {
        (s.to_string(), l.to_string())
    };
    match op {
        Op::Eq => s == l,
        Op::Ne => s != l,
        Op::Co => s.contains(&l),
        Op::Sw => s.starts_with(&l),
        Op::Ew => s.ends_with(&l),
        Op::Pr => !s.is_empty(),
        Op::Gt | Op::Ge | Op::Lt | Op::Le => {
            // Dates compare chronologically, everything else lexicographically.
            let ord = match (parse_ts(&s), parse_ts(&l)) {
                (Some(a), Some(b)) => a.cmp(&b),
                _ => s.cmp(&l),
            };
            ordering_ok(ord, op)
        }
    }
}

fn ordering_ok(o: Ordering, op: Op) -> bool {
    match op {
        Op::Eq => o == Ordering::Equal,
        Op::Ne => o != Ordering::Equal,
        Op::Gt => o == Ordering::Greater,
        Op::Ge => o != Ordering::Less,
        Op::Lt => o == Ordering::Less,
        Op::Le => o != Ordering::Greater,
        _ => false,
    }
}

/// Resolves a dotted path inside a JSON value; arrays are searched element-wise.
pub fn resolve_json(root: &Value, path: &str) -> Vec<Value> {
    let mut current: Vec<&Value> = vec![root];
    for seg in path.split('.') {
        let mut next = Vec::new();
        for v in current {
            match v {
                Value::Object(m) => {
                    if let Some(x) = m.get(seg) {
                        push_flat(x, &mut next);
                    }
                }
                Value::Array(items) => {
                    for item in items {
                        if let Some(x) = item.get(seg) {
                            push_flat(x, &mut next);
                        }
                    }
                }
                _ => {}
            }
        }
        current = next;
    }
    current.into_iter().cloned().collect()
}

fn push_flat<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    match v {
        Value::Array(items) if items.iter().all(|i| !i.is_object()) => out.extend(items.iter()),
        _ => out.push(v),
    }
}

#[derive(Debug, Clone)]
struct Token {
    text: String,
    kind: Kind,
    at: usize,
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Word,
    Str(String),
    Num(f64),
    LParen,
    RParen,
}

fn tokenize(input: &str) -> Result<Vec<Token>, ParseError> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' || c == ')' {
            let kind = if c == '(' { Kind::LParen } else { Kind::RParen };
            out.push(Token {
                text: c.to_string(),
                kind,
                at: i,
            });
            i += 1;
        } else if c == '"' {
            let start = i;
            let (s, end) = read_string(&chars, i)?;
            out.push(Token {
                text: chars[start..end].iter().collect(),
                kind: Kind::Str(s),
                at: start,
            });
            i = end;
        } else {
            let start = i;
            while i < chars.len()
                && !chars[i].is_whitespace()
                && !matches!(chars[i], '(' | ')' | '"')
            {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            let kind = match text.parse::<f64>() {
                Ok(n) if text.starts_with(|c: char| c.is_ascii_digit() || c == '-') => Kind::Num(n),
                _ => Kind::Word,
            };
            out.push(Token {
                text,
                kind,
                at: start,
            });
        }
    }
    Ok(out)
}

/// Reads a JSON string literal starting at the opening quote.
fn read_string(chars: &[char], start: usize) -> Result<(String, usize), ParseError> {
    let mut i = start + 1;
    let mut raw = String::from("\"");
    while i < chars.len() {
        let c = chars[i];
        raw.push(c);
        if c == '\\' {
            if let Some(n) = chars.get(i + 1) {
                raw.push(*n);
                i += 2;
                continue;
            }
        } else if c == '"' {
            let s: String = serde_json::from_str(&raw).map_err(|_| ParseError {
                message: "Invalid string literal".into(),
                position: start,
            })?;
            return Ok((s, i + 1));
        }
        i += 1;
    }
    Err(ParseError {
        message: "Unterminated string literal".into(),
        position: start,
    })
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek_word(&self, w: &str) -> bool {
        self.tokens
            .get(self.pos)
            .is_some_and(|t| t.kind == Kind::Word && t.text.eq_ignore_ascii_case(w))
    }

    fn end_position(&self) -> usize {
        self.tokens
            .last()
            .map(|t| t.at + t.text.chars().count())
            .unwrap_or(0)
    }

    fn or_expr(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.and_expr()?;
        while self.peek_word("or") {
            self.pos += 1;
            let right = self.and_expr()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.unary()?;
        while self.peek_word("and") {
            self.pos += 1;
            let right = self.unary()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        let Some(tok) = self.tokens.get(self.pos).cloned() else {
            return Err(ParseError {
                message: "Unexpected end of expression".into(),
                position: self.end_position(),
            });
        };
        match tok.kind {
            Kind::LParen => {
                self.pos += 1;
                let e = self.or_expr()?;
                match self.tokens.get(self.pos) {
                    Some(t) if t.kind == Kind::RParen => {
                        self.pos += 1;
                        Ok(e)
                    }
                    _ => Err(ParseError {
                        message: "Missing closing parenthesis".into(),
                        position: self.end_position(),
                    }),
                }
            }
            Kind::Word if tok.text.eq_ignore_ascii_case("not") => {
                self.pos += 1;
                Ok(Expr::Not(Box::new(self.unary()?)))
            }
            Kind::Word => self.comparison(tok),
            _ => Err(ParseError {
                message: format!("Expected an attribute name, found '{}'", tok.text),
                position: tok.at,
            }),
        }
    }

    fn comparison(&mut self, attr: Token) -> Result<Expr, ParseError> {
        self.pos += 1;
        let Some(op_tok) = self.tokens.get(self.pos).cloned() else {
            return Err(ParseError {
                message: "Expected an attribute operator".into(),
                position: self.end_position(),
            });
        };
        let op = match (&op_tok.kind, Op::parse(&op_tok.text)) {
            (Kind::Word, Some(op)) => op,
            _ => {
                return Err(ParseError {
                    message: format!(
                        "Unrecognized attribute operator '{}' at position {}. Expected: eq,co,sw,pr,gt,ge,lt,le",
                        op_tok.text, op_tok.at
                    ),
                    position: op_tok.at,
                })
            }
        };
        self.pos += 1;
        if op == Op::Pr {
            return Ok(Expr::Cmp {
                attr: attr.text,
                op,
                value: None,
            });
        }
        let Some(v) = self.tokens.get(self.pos).cloned() else {
            return Err(ParseError {
                message: format!("Expected a value after '{}'", op.as_str()),
                position: self.end_position(),
            });
        };
        let value = match v.kind {
            Kind::Str(s) => Literal::Str(s),
            Kind::Num(n) => Literal::Num(n),
            Kind::Word if v.text == "true" => Literal::Bool(true),
            Kind::Word if v.text == "false" => Literal::Bool(false),
            Kind::Word if v.text == "null" => Literal::Null,
            _ => {
                return Err(ParseError {
                    message: format!("Invalid value '{}': string values must be quoted", v.text),
                    position: v.at,
                })
            }
        };
        self.pos += 1;
        Ok(Expr::Cmp {
            attr: attr.text,
            op,
            value: Some(value),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval(expr: &str, v: &Value, ci: bool) -> bool {
        let e = Expr::parse(expr).unwrap();
        e.matches(&mut |p| resolve_json(v, p), ci)
    }

    #[test]
    fn precedence_and_grouping() {
        let v = json!({"status": "LOCKED_OUT", "lastUpdated": "2014-01-01T00:00:00.000Z"});
        assert!(eval(
            r#"lastUpdated gt "2013-06-01T00:00:00.000Z" and (status eq "LOCKED_OUT" or status eq "RECOVERY")"#,
            &v,
            false
        ));
        assert!(!eval(
            r#"status eq "ACTIVE" and status eq "LOCKED_OUT" or status eq "X""#,
            &v,
            false
        ));
        assert!(eval(r#"status Eq "LOCKED_OUT""#, &v, false));
        assert!(eval(r#"not (status eq "ACTIVE")"#, &v, false));
    }

    #[test]
    fn dates_compare_chronologically() {
        let v = json!({"lastUpdated": "2014-01-01T00:00:00.000Z"});
        assert!(eval(
            r#"lastUpdated gt "2013-12-31T23:00:00.000+02:00""#,
            &v,
            false
        ));
        assert!(!eval(
            r#"lastUpdated lt "2014-01-01T00:00:00.000Z""#,
            &v,
            false
        ));
        assert!(eval(
            r#"lastUpdated le "2014-01-01T00:00:00.000Z""#,
            &v,
            false
        ));
    }

    #[test]
    fn arrays_match_any_element() {
        let v = json!({"target": [{"id": "a"}, {"id": "b"}]});
        assert!(eval(r#"target.id eq "b""#, &v, false));
        assert!(eval(r#"target.id eq "a" and target.id eq "b""#, &v, false));
        assert!(!eval(r#"target.id eq "c""#, &v, false));
    }

    #[test]
    fn string_operators_and_case() {
        let v = json!({"profile": {"email": "Isaac.Brock@example.com"}});
        assert!(eval(r#"profile.email sw "isaac""#, &v, true));
        assert!(!eval(r#"profile.email sw "isaac""#, &v, false));
        assert!(eval(r#"profile.email co "brock""#, &v, true));
        assert!(eval(r#"profile.email ew ".com""#, &v, false));
        assert!(eval("profile.email pr", &v, false));
        assert!(!eval("profile.phone pr", &v, false));
    }

    #[test]
    fn reports_bad_operator_position() {
        let e = Expr::parse(r#"display_message eqq "Create okta user""#).unwrap_err();
        assert!(
            e.message
                .contains("Unrecognized attribute operator 'eqq' at position 16"),
            "{}",
            e.message
        );
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "status",
            "status eq",
            "status eq ACTIVE",
            "(status eq \"A\"",
            "status eq \"A",
            "status eq \"A\" and",
        ] {
            assert!(Expr::parse(bad).is_err(), "{bad}");
        }
    }
}
