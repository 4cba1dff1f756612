//! List cursors as clients see them: sealed, so a cursor only ever comes from the list that
//! gave it out, and anything else is a clear 400 rather than a silent restart from the top.
//!
//! The store's own cursor is a key position, and any string is a position; sealing it with the
//! list's name lets the API tell a cursor it issued from garbage, a truncated copy, or a cursor
//! of another list. It is not a secret (a tenant's keys are scoped to the tenant anyway).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use gatehouse_store::{Page, PageRequest};

use crate::views::ListResponse;
use crate::ApiError;

/// What every sealed cursor starts with.
const PREFIX: &str = "cur_";
/// Page size when the client names none.
const DEFAULT_LIMIT: usize = 100;

/// The lists that page; each seals its cursors with its own name.
#[derive(Debug, Clone, Copy)]
pub(crate) enum List {
    Tenants,
    Integrations,
    Users,
    Identities,
    SignIns,
    Detections,
    Actions,
}

impl List {
    fn name(self) -> &'static str {
        match self {
            Self::Tenants => "tenants",
            Self::Integrations => "integrations",
            Self::Users => "users",
            Self::Identities => "identities",
            Self::SignIns => "signins",
            Self::Detections => "detections",
            Self::Actions => "actions",
        }
    }

    /// The store's page request for a client's `limit` and `cursor` (400 naming `cursor` when
    /// this list did not give it out).
    pub(crate) fn request(
        self,
        limit: Option<usize>,
        cursor: Option<&str>,
    ) -> Result<PageRequest, ApiError> {
        let position = cursor.map(|c| self.open(c)).transpose()?;
        Ok(PageRequest::new(limit.unwrap_or(DEFAULT_LIMIT), position))
    }

    /// A store page as the API answers it, its cursor sealed.
    pub(crate) fn response<T, U>(self, page: Page<T>, view: impl FnMut(T) -> U) -> ListResponse<U> {
        ListResponse {
            data: page.items.into_iter().map(view).collect(),
            next_cursor: page.next_cursor.map(|position| self.seal(&position)),
        }
    }

    fn seal(self, position: &str) -> String {
        format!(
            "{PREFIX}{}",
            URL_SAFE_NO_PAD.encode(format!("{}:{position}", self.name()))
        )
    }

    fn open(self, cursor: &str) -> Result<String, ApiError> {
        let invalid = || ApiError::invalid("cursor", "is not a next_cursor this list gave out");
        let sealed = cursor.strip_prefix(PREFIX).ok_or_else(invalid)?;
        let bytes = URL_SAFE_NO_PAD.decode(sealed).map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        let (list, position) = text.split_once(':').ok_or_else(invalid)?;
        if list != self.name() || position.is_empty() {
            return Err(invalid());
        }
        Ok(position.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_cursor_opens_only_in_its_own_list() {
        let sealed = List::Users.seal("usr_01HX:with/odd chars");
        assert!(sealed.starts_with(PREFIX), "{sealed}");
        assert_eq!(
            List::Users.open(&sealed).expect("its own list"),
            "usr_01HX:with/odd chars"
        );
        assert!(
            List::SignIns.open(&sealed).is_err(),
            "another list's cursor"
        );
        for garbage in ["", "garbage", "usr_01HX", "cur_", "cur_%%%", "cur_dXNlcnM6"] {
            let err = List::Users.open(garbage).expect_err(garbage);
            assert_eq!(err.field.as_deref(), Some("cursor"), "{garbage}");
        }
    }

    #[test]
    fn a_page_request_clamps_the_limit_and_opens_the_cursor() {
        let request = List::Actions
            .request(Some(5000), Some(&List::Actions.seal("act_1")))
            .expect("valid");
        assert_eq!(request.limit, PageRequest::MAX_LIMIT);
        assert_eq!(request.cursor.as_deref(), Some("act_1"));
        assert_eq!(List::Actions.request(None, None).expect("valid").limit, 100);
    }
}
