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

/// Records from this size on are stored compressed. sled's cost per write grows with the
/// bytes it logs, and a directory record (JSON field names, the provider's raw copy) or a
/// sign-in loses a third or more with lz4; smaller records (an identity, about 270 bytes)
/// gain too little for the time.
const COMPRESS_FROM: usize = 512;

/// The first byte of a compressed record, followed by the JSON's length (u32, little endian)
/// and the lz4 block. JSON text never starts with this byte, so records written before
/// compression (and small ones) are read as they are.
const LZ4_MARK: u8 = 0x04;

/// A compressed record claiming to be larger than this is corrupt (records are bounded far
/// below it), not an allocation to attempt.
const MAX_RECORD: usize = 64 << 20;

pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    let json = serde_json::to_vec(value).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(pack(json))
}

/// JSON text as a stored record: compressed when that pays (see [`COMPRESS_FROM`]).
pub(crate) fn pack(json: Vec<u8>) -> Vec<u8> {
    let Ok(length) = u32::try_from(json.len()) else {
        return json;
    };
    if json.len() < COMPRESS_FROM {
        return json;
    }
    let mut packed = vec![0u8; 5 + lz4_flex::block::get_maximum_output_size(json.len())];
    packed[0] = LZ4_MARK;
    packed[1..5].copy_from_slice(&length.to_le_bytes());
    match lz4_flex::block::compress_into(&json, &mut packed[5..]) {
        Ok(written) if 5 + written < json.len() => {
            packed.truncate(5 + written);
            packed
        }
        _ => json,
    }
}

pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    let corrupt = |e: String| StoreError::Corrupt(e);
    match bytes {
        [LZ4_MARK, l0, l1, l2, l3, block @ ..] => {
            let length = u32::from_le_bytes([*l0, *l1, *l2, *l3]) as usize;
            if length > MAX_RECORD {
                return Err(corrupt(format!(
                    "a compressed record claims {length} bytes"
                )));
            }
            let json = lz4_flex::block::decompress(block, length)
                .map_err(|e| corrupt(format!("a compressed record: {e}")))?;
            serde_json::from_slice(&json).map_err(|e| corrupt(e.to_string()))
        }
        _ => serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string())),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Record {
        name: String,
        raw: serde_json::Value,
    }

    fn record(size: usize) -> Record {
        Record {
            name: "ada".into(),
            raw: serde_json::json!({ "profile": { "department": "x".repeat(size), "login": "ada@corp.example" } }),
        }
    }

    #[test]
    fn large_records_are_compressed_and_read_back() {
        let large = record(2_000);
        let bytes = encode(&large).unwrap();
        assert_eq!(bytes[0], LZ4_MARK);
        assert!(bytes.len() < 400, "{} bytes", bytes.len());
        assert_eq!(decode::<Record>(&bytes).unwrap(), large);
        let small = record(10);
        let bytes = encode(&small).unwrap();
        assert_eq!(bytes[0], b'{', "small records stay plain JSON");
        assert_eq!(decode::<Record>(&bytes).unwrap(), small);
    }

    #[test]
    fn records_written_before_compression_still_read() {
        let old = serde_json::to_vec(&record(2_000)).unwrap();
        assert_eq!(decode::<Record>(&old).unwrap(), record(2_000));
    }

    #[test]
    fn a_damaged_compressed_record_is_corrupt_not_a_panic_or_a_huge_allocation() {
        let mut bytes = encode(&record(2_000)).unwrap();
        let mut huge = bytes.clone();
        huge[1..5].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            decode::<Record>(&huge),
            Err(StoreError::Corrupt(_))
        ));
        let cut = bytes.len() / 2;
        bytes.truncate(cut);
        assert!(matches!(
            decode::<Record>(&bytes),
            Err(StoreError::Corrupt(_))
        ));
        assert!(matches!(
            decode::<Record>(&[LZ4_MARK, 1]),
            Err(StoreError::Corrupt(_))
        ));
    }
}
