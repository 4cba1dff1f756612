//! Enumerations for export (`gatehouse store migrate`) in the sled backend: every token, an
//! integration's cursors, a tenant's detection subject index. Nothing else reads these trees
//! whole; each read here is a range scan, a page at a time where a tree can be large.

use gatehouse_core::model::{SyncCursor, TokenRecord};
use gatehouse_core::{DetectionId, IntegrationId, TenantId};

use super::keys::{self, decode};
use super::SledStore;
use crate::{Page, PageRequest, StoreError};

/// Separates a detection subject from the detection id in a page cursor (as in the index key;
/// neither holds a NUL).
const CURSOR_SEP: char = '\0';

/// Cuts up to `limit + 1` items to a page: the cursor of the last kept item when more follow.
fn page_of<T>(mut items: Vec<T>, limit: usize, key: impl Fn(&T) -> String) -> Page<T> {
    let more = items.len() > limit;
    items.truncate(limit);
    let next_cursor = if more { items.last().map(key) } else { None };
    Page { items, next_cursor }
}

impl SledStore {
    pub(super) fn list_tokens_now(
        &self,
        page: &PageRequest,
    ) -> Result<Page<TokenRecord>, StoreError> {
        let from = match &page.cursor {
            Some(cursor) => keys::after(cursor.as_bytes().to_vec()),
            None => Vec::new(),
        };
        let mut items = Vec::new();
        for value in self
            .trees
            .tokens
            .range(from..)
            .values()
            .take(page.limit.saturating_add(1))
        {
            items.push(decode::<TokenRecord>(&value?)?);
        }
        Ok(page_of(items, page.limit, |t| t.hash.clone()))
    }

    pub(super) fn list_cursors_now(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
    ) -> Result<Vec<(String, SyncCursor)>, StoreError> {
        let prefix = keys::scoped(tenant, &[integration.as_str(), ""]);
        let mut cursors = Vec::new();
        for entry in self.trees.cursors.scan_prefix(&prefix) {
            let (key, value) = entry?;
            let name = String::from_utf8_lossy(&key[prefix.len()..]).into_owned();
            cursors.push((name, decode(&value)?));
        }
        Ok(cursors)
    }

    /// The index's keys are `tenant 0x00 subject 0x00 detection id`, in (subject, id) order;
    /// entries of deleted detections (left by `delete_detection`) are skipped.
    pub(super) fn list_detection_subjects_now(
        &self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Page<(String, DetectionId)>, StoreError> {
        let prefix = keys::tenant_prefix(tenant);
        let from = match &page.cursor {
            Some(cursor) => {
                let mut key = prefix.clone();
                key.extend_from_slice(cursor.as_bytes());
                keys::after(key)
            }
            None => prefix.clone(),
        };
        let mut items = Vec::new();
        for key in self.trees.detections_by_subject.range(from..).keys() {
            let key = key?;
            if !key.starts_with(&prefix) || items.len() > page.limit {
                break;
            }
            let rest = String::from_utf8_lossy(&key[prefix.len()..]).into_owned();
            let Some((subject, id)) = rest.rsplit_once(CURSOR_SEP) else {
                return Err(StoreError::Corrupt(format!(
                    "detection subject index entry {rest:?}"
                )));
            };
            let id = DetectionId::parse(id)
                .ok_or_else(|| StoreError::Corrupt(format!("detection id {id:?}")))?;
            if self
                .trees
                .detections
                .contains_key(keys::scoped(tenant, &[id.as_str()]))?
            {
                items.push((subject.to_owned(), id));
            }
        }
        Ok(page_of(items, page.limit, |(subject, id)| {
            format!("{subject}{CURSOR_SEP}{id}")
        }))
    }
}
