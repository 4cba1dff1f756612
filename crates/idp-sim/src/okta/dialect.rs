//! What each endpoint accepts of the filter language, and the Okta error each
//! violation produces.
//!
//! Users `filter`: `status`, `lastUpdated`, `id`, `profile.login`,
//! `profile.email`, `profile.firstName`, `profile.lastName`; only `eq`, plus
//! `gt ge lt le` on `lastUpdated`; `and`/`or` but no `not`.
//! Users `search`: any profile attribute and `id status created activated
//! statusChanged lastUpdated type.id`; `eq sw` (and ordering), `co` only on
//! first/last name, email and login; no `ne`; values case-insensitive.
//! Groups: `filter` on `id type lastUpdated lastMembershipUpdated`, `search`
//! like users. System Log: any LogEvent attribute except `published`; no
//! `co` on `debugContext.debugData.url`/`requestUri`.

use super::clock::parse_ts;
use super::errors::OktaError;
use super::filter::{Expr, Literal, Op};

/// The endpoint/parameter a filter expression was given to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    UsersFilter,
    UsersSearch,
    GroupsFilter,
    GroupsSearch,
    Logs,
}

impl Dialect {
    /// Whether string comparisons ignore case (Okta: `search` values are case-insensitive).
    pub fn case_insensitive(self) -> bool {
        matches!(self, Dialect::UsersSearch | Dialect::GroupsSearch)
    }
}

const USER_DATES: &[&str] = &[
    "created",
    "activated",
    "statusChanged",
    "lastUpdated",
    "lastLogin",
    "passwordChanged",
];
const GROUP_DATES: &[&str] = &["created", "lastUpdated", "lastMembershipUpdated"];
const LOG_TOP: &[&str] = &[
    "uuid",
    "published",
    "eventType",
    "version",
    "severity",
    "legacyEventType",
    "displayMessage",
    "actor",
    "client",
    "device",
    "authenticationContext",
    "securityContext",
    "outcome",
    "target",
    "transaction",
    "debugContext",
    "request",
];

/// Parses `raw` and checks it against `dialect`, answering Okta's error on failure.
pub fn parse(dialect: Dialect, raw: &str) -> Result<Expr, OktaError> {
    let expr = match Expr::parse(raw) {
        Ok(e) => e,
        Err(e) => {
            return Err(match dialect {
                Dialect::Logs => OktaError::scim(format!("Invalid filter '{raw}': {}", e.message)),
                _ => {
                    OktaError::invalid_search(format!("{} (at position {})", e.message, e.position))
                }
            })
        }
    };
    let expr = if dialect == Dialect::Logs {
        camelize(expr)
    } else {
        expr
    };
    check(dialect, raw, &expr)?;
    Ok(expr)
}

fn check(dialect: Dialect, raw: &str, expr: &Expr) -> Result<(), OktaError> {
    if expr.uses_not() && dialect != Dialect::Logs {
        return Err(OktaError::invalid_search(
            "The 'not' operator isn't supported",
        ));
    }
    for (attr, op, value) in expr.comparisons() {
        match dialect {
            Dialect::UsersFilter => users_filter(attr, op)?,
            Dialect::UsersSearch => users_search(attr, op)?,
            Dialect::GroupsFilter => groups_filter(attr, op)?,
            Dialect::GroupsSearch => groups_search(attr, op)?,
            Dialect::Logs => logs(raw, attr, op)?,
        }
        let dates = match dialect {
            Dialect::UsersFilter | Dialect::UsersSearch => USER_DATES,
            Dialect::GroupsFilter | Dialect::GroupsSearch => GROUP_DATES,
            Dialect::Logs => &[],
        };
        if dates.contains(&attr) {
            match value {
                Some(Literal::Str(s)) if parse_ts(s).is_some() => {}
                None => {}
                _ => return Err(OktaError::invalid_date()),
            }
        }
    }
    Ok(())
}

fn unsupported(attr: &str, op: Op) -> OktaError {
    OktaError::invalid_search(format!(
        "Operator '{}' isn't supported for attribute '{attr}'",
        op.as_str()
    ))
}

fn users_filter(attr: &str, op: Op) -> Result<(), OktaError> {
    const ALLOWED: &[&str] = &[
        "status",
        "lastUpdated",
        "id",
        "profile.login",
        "profile.email",
        "profile.firstName",
        "profile.lastName",
    ];
    if !ALLOWED.contains(&attr) {
        return Err(OktaError::invalid_search(format!(
            "Filtering on '{attr}' isn't supported"
        )));
    }
    let ok = op == Op::Eq || (attr == "lastUpdated" && op.is_ordering());
    if ok {
        Ok(())
    } else {
        Err(unsupported(attr, op))
    }
}

fn users_search(attr: &str, op: Op) -> Result<(), OktaError> {
    const TOP: &[&str] = &[
        "id",
        "status",
        "created",
        "activated",
        "statusChanged",
        "lastUpdated",
        "type.id",
    ];
    const CO: &[&str] = &[
        "profile.firstName",
        "profile.lastName",
        "profile.email",
        "profile.login",
    ];
    if !(TOP.contains(&attr) || attr.starts_with("profile.")) {
        return Err(OktaError::invalid_search(format!(
            "Searching on '{attr}' isn't supported"
        )));
    }
    let ok = match op {
        Op::Eq | Op::Sw | Op::Pr => true,
        Op::Gt | Op::Ge | Op::Lt | Op::Le => true,
        Op::Co => CO.contains(&attr),
        Op::Ne | Op::Ew => false,
    };
    if ok {
        Ok(())
    } else {
        Err(unsupported(attr, op))
    }
}

fn groups_filter(attr: &str, op: Op) -> Result<(), OktaError> {
    let ok = match attr {
        "id" | "type" => op == Op::Eq,
        "lastUpdated" | "lastMembershipUpdated" => op == Op::Eq || op.is_ordering(),
        _ => {
            return Err(OktaError::invalid_search(format!(
                "Filtering on '{attr}' isn't supported"
            )))
        }
    };
    if ok {
        Ok(())
    } else {
        Err(unsupported(attr, op))
    }
}

fn groups_search(attr: &str, op: Op) -> Result<(), OktaError> {
    const TOP: &[&str] = &[
        "id",
        "created",
        "lastMembershipUpdated",
        "lastUpdated",
        "type",
        "source.id",
    ];
    if !(TOP.contains(&attr) || attr.starts_with("profile.")) {
        return Err(OktaError::invalid_search(format!(
            "Searching on '{attr}' isn't supported"
        )));
    }
    let ok = match op {
        Op::Eq | Op::Sw | Op::Pr | Op::Gt | Op::Ge | Op::Lt | Op::Le => true,
        Op::Co => attr == "profile.name" || attr == "profile.description",
        Op::Ne | Op::Ew => false,
    };
    if ok {
        Ok(())
    } else {
        Err(unsupported(attr, op))
    }
}

fn logs(raw: &str, attr: &str, op: Op) -> Result<(), OktaError> {
    let top = attr.split('.').next().unwrap_or(attr);
    if !LOG_TOP.contains(&top) {
        return Err(OktaError::scim(format!("field is not valid: {attr}")));
    }
    if top == "published" {
        return Err(OktaError::scim(format!(
            "Invalid filter '{raw}': the published attribute can't be used in a filter; use since and until"
        )));
    }
    if op == Op::Co
        && matches!(
            attr,
            "debugContext.debugData.url" | "debugContext.debugData.requestUri"
        )
    {
        return Err(OktaError::unsupported_combination(op.as_str(), attr));
    }
    Ok(())
}

/// Okta's own examples use `event_type`; accept snake_case for the first segment.
fn camelize(expr: Expr) -> Expr {
    match expr {
        Expr::And(a, b) => Expr::And(Box::new(camelize(*a)), Box::new(camelize(*b))),
        Expr::Or(a, b) => Expr::Or(Box::new(camelize(*a)), Box::new(camelize(*b))),
        Expr::Not(a) => Expr::Not(Box::new(camelize(*a))),
        Expr::Cmp { attr, op, value } => {
            let (first, rest) = match attr.split_once('.') {
                Some((f, r)) => (f.to_string(), Some(r.to_string())),
                None => (attr.clone(), None),
            };
            let mut camel = String::new();
            let mut upper = false;
            for c in first.chars() {
                if c == '_' {
                    upper = true;
                } else if upper {
                    camel.extend(c.to_uppercase());
                    upper = false;
                } else {
                    camel.push(c);
                }
            }
            let attr = match rest {
                Some(r) => format!("{camel}.{r}"),
                None => camel,
            };
            Expr::Cmp { attr, op, value }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_filter_rules() {
        assert!(parse(Dialect::UsersFilter, r#"status eq "ACTIVE""#).is_ok());
        assert!(parse(
            Dialect::UsersFilter,
            r#"lastUpdated gt "2013-06-01T00:00:00.000Z""#
        )
        .is_ok());
        let e = parse(Dialect::UsersFilter, r#"status gt "ACTIVE""#).unwrap_err();
        assert_eq!(e.code, "E0000031");
        let e = parse(Dialect::UsersFilter, r#"profile.department eq "X""#).unwrap_err();
        assert_eq!(e.code, "E0000031");
        let e = parse(Dialect::UsersFilter, r#"lastUpdated gt "yesterday""#).unwrap_err();
        assert_eq!(e.code, "E0000030");
        let e = parse(Dialect::UsersFilter, r#"not (status eq "ACTIVE")"#).unwrap_err();
        assert_eq!(e.code, "E0000031");
    }

    #[test]
    fn users_search_rules() {
        assert!(parse(Dialect::UsersSearch, r#"profile.department eq "Engineering" and (created lt "2014-01-01T00:00:00.000Z" or status eq "ACTIVE")"#).is_ok());
        assert!(parse(Dialect::UsersSearch, r#"profile.email co "brock""#).is_ok());
        assert!(parse(Dialect::UsersSearch, r#"profile.title co "dir""#).is_err());
        assert!(parse(Dialect::UsersSearch, r#"status ne "STAGED""#).is_err());
    }

    #[test]
    fn logs_rules() {
        assert!(parse(
            Dialect::Logs,
            r#"eventType eq "user.session.start" and outcome.result eq "FAILURE""#
        )
        .is_ok());
        assert!(parse(Dialect::Logs, r#"event_type eq "user.session.start""#).is_ok());
        assert_eq!(
            parse(Dialect::Logs, r#"eventType eqq "x""#)
                .unwrap_err()
                .code,
            "E0000053"
        );
        assert_eq!(
            parse(Dialect::Logs, r#"some_invalid_field eq "x""#)
                .unwrap_err()
                .code,
            "E0000053"
        );
        assert_eq!(
            parse(Dialect::Logs, r#"published gt "2024-01-01T00:00:00Z""#)
                .unwrap_err()
                .code,
            "E0000053"
        );
        assert_eq!(
            parse(Dialect::Logs, r#"debugContext.debugData.url co "/oauth/""#)
                .unwrap_err()
                .code,
            "E0000031"
        );
    }
}
