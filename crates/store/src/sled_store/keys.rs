//! Key layout and record encoding for the sled backend.
//!
//! Every tenant-owned key starts with `tenant_id 0x00`; tenant ids cannot contain `0x00`, so a
//! prefix scan for one tenant never yields another's keys.

use gatehouse_core::TenantId;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::StoreError;

pub(crate) const SEP: u8 = 0;

/// `tenant 0x00 part 0x00 part …`
pub(crate) fn scoped(tenant: &TenantId, parts: &[&str]) -> Vec<u8> {
    let mut key = tenant_prefix(tenant);
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            key.push(SEP);
        }
        key.extend_from_slice(part.as_bytes());
    }
    key
}

/// The prefix under which all of one tenant's keys in a tree live.
pub(crate) fn tenant_prefix(tenant: &TenantId) -> Vec<u8> {
    let mut key = tenant.as_str().as_bytes().to_vec();
    key.push(SEP);
    key
}

/// The smallest key greater than `key` and all keys it prefixes with a separator: where a page
/// that ended at `key` continues.
pub(crate) fn after(mut key: Vec<u8>) -> Vec<u8> {
    key.push(SEP);
    key
}

pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(crate) fn decode_opt<T: DeserializeOwned>(
    bytes: Option<sled::IVec>,
) -> Result<Option<T>, StoreError> {
    bytes.map(|b| decode(&b)).transpose()
}

/// The last part of a scoped key, as text (the id a page cursor names).
pub(crate) fn last_part(key: &[u8]) -> String {
    let start = key.iter().rposition(|b| *b == SEP).map_or(0, |i| i + 1);
    String::from_utf8_lossy(&key[start..]).into_owned()
}
