//! How a queued delivery is laid out in the journal: a version byte, the receive time, the
//! tenant and integration it was authenticated for, and the request as its connector sees it.
//! Length-prefixed fields, so writing one costs a few copies and no serializer.

use chrono::{DateTime, Utc};
use gatehouse_core::records::PushRequest;
use gatehouse_core::{IntegrationId, TenantId};

/// Version 2 added the query string and the content type; version 1 records (written before)
/// are still read, with no query and the content type taken from their headers.
const VERSION: u8 = 2;
const VERSION_1: u8 = 1;

/// A delivery taken from the journal.
#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    pub received_at: DateTime<Utc>,
    pub tenant: TenantId,
    pub integration: IntegrationId,
    pub request: PushRequest,
}

/// Why a record could not be read back (a record written by a newer version, or damage).
#[derive(Debug, thiserror::Error)]
#[error("unreadable inbox record: {0}")]
pub(crate) struct RecordError(&'static str);

/// The journal record for a delivery (public for tests that seed a journal).
pub fn encode(
    received_at: DateTime<Utc>,
    tenant: &TenantId,
    integration: &IntegrationId,
    request: &PushRequest,
) -> Vec<u8> {
    let headers: usize = request
        .headers
        .iter()
        .map(|(k, v)| 8 + k.len() + v.len())
        .sum();
    let query: usize = request
        .query
        .iter()
        .map(|(k, v)| 8 + k.len() + v.len())
        .sum::<usize>()
        + request.content_type.as_ref().map_or(0, String::len);
    let mut out = Vec::with_capacity(
        32 + tenant.as_str().len()
            + integration.as_str().len()
            + request.method.len()
            + headers
            + query
            + request.body.len(),
    );
    out.push(VERSION);
    out.extend_from_slice(&received_at.timestamp_millis().to_le_bytes());
    put(&mut out, tenant.as_str().as_bytes());
    put(&mut out, integration.as_str().as_bytes());
    put(&mut out, request.method.as_bytes());
    out.extend_from_slice(&(request.headers.len() as u32).to_le_bytes());
    for (name, value) in &request.headers {
        put(&mut out, name.as_bytes());
        put(&mut out, value.as_bytes());
    }
    out.extend_from_slice(&(request.query.len() as u32).to_le_bytes());
    for (name, value) in &request.query {
        put(&mut out, name.as_bytes());
        put(&mut out, value.as_bytes());
    }
    put(
        &mut out,
        request
            .content_type
            .as_deref()
            .unwrap_or_default()
            .as_bytes(),
    );
    out.extend_from_slice(&request.body);
    out
}

fn put(out: &mut Vec<u8>, field: &[u8]) {
    out.extend_from_slice(&(field.len() as u32).to_le_bytes());
    out.extend_from_slice(field);
}

pub(crate) fn decode(record: Vec<u8>) -> Result<Delivery, RecordError> {
    let mut reader = Reader {
        bytes: &record,
        at: 0,
    };
    let version = match reader.take(1)? {
        [VERSION] => VERSION,
        [VERSION_1] => VERSION_1,
        _ => return Err(RecordError("unknown version")),
    };
    let millis = i64::from_le_bytes(
        reader
            .take(8)?
            .try_into()
            .map_err(|_| RecordError("time"))?,
    );
    let received_at =
        DateTime::<Utc>::from_timestamp_millis(millis).ok_or(RecordError("time out of range"))?;
    let tenant = TenantId::parse(reader.string()?).ok_or(RecordError("tenant id"))?;
    let integration =
        IntegrationId::parse(reader.string()?).ok_or(RecordError("integration id"))?;
    let method = reader.string()?.to_owned();
    let headers = reader.pairs()?;
    let (query, content_type) = if version == VERSION_1 {
        let content_type = headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
            .map(|(_, value)| PushRequest::media_type(value));
        (Vec::new(), content_type)
    } else {
        let query = reader.pairs()?;
        let content_type = Some(reader.string()?.to_owned()).filter(|c| !c.is_empty());
        (query, content_type)
    };
    let body_start = reader.at;
    let mut body = record;
    body.drain(..body_start);
    Ok(Delivery {
        received_at,
        tenant,
        integration,
        request: PushRequest {
            method,
            query,
            headers,
            content_type,
            body,
        },
    })
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], RecordError> {
        let end = self.at.checked_add(n).ok_or(RecordError("length"))?;
        let slice = self
            .bytes
            .get(self.at..end)
            .ok_or(RecordError("truncated"))?;
        self.at = end;
        Ok(slice)
    }

    fn u32(&mut self) -> Result<u32, RecordError> {
        let bytes = self.take(4)?;
        Ok(u32::from_le_bytes(
            bytes.try_into().map_err(|_| RecordError("length"))?,
        ))
    }

    fn pairs(&mut self) -> Result<Vec<(String, String)>, RecordError> {
        let count = self.u32()? as usize;
        let mut pairs = Vec::with_capacity(count.min(256));
        for _ in 0..count {
            let name = self.string()?.to_owned();
            let value = self.string()?.to_owned();
            pairs.push((name, value));
        }
        Ok(pairs)
    }

    fn string(&mut self) -> Result<&'a str, RecordError> {
        let length = self.u32()? as usize;
        std::str::from_utf8(self.take(length)?).map_err(|_| RecordError("not UTF-8"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_delivery_reads_back_as_written_and_damage_is_an_error() {
        let request = PushRequest {
            method: "POST".into(),
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("x-provider-request-id".into(), "é".into()),
            ],
            query: vec![("validationToken".into(), "a b&c".into())],
            content_type: Some("application/json".into()),
            body: br#"{"data":{"events":[]}}"#.to_vec(),
        };
        let tenant = TenantId::parse("ten_01hxyz").unwrap();
        let integration = IntegrationId::parse("int_01hxyz").unwrap();
        let at = DateTime::<Utc>::from_timestamp_millis(1_700_000_000_123).unwrap();
        let bytes = encode(at, &tenant, &integration, &request);
        let back = decode(bytes.clone()).unwrap();
        assert_eq!(back.received_at, at);
        assert_eq!(back.tenant, tenant);
        assert_eq!(back.integration, integration);
        assert_eq!(back.request.method, "POST");
        assert_eq!(back.request.headers, request.headers);
        assert_eq!(back.request.query, request.query);
        assert_eq!(back.request.content_type, request.content_type);
        assert_eq!(back.request.body, request.body);
        for cut in [0, 1, 5, 12, 20] {
            assert!(decode(bytes[..cut].to_vec()).is_err(), "cut at {cut}");
        }
        let mut future = bytes;
        future[0] = 9;
        assert!(decode(future).is_err());
    }

    /// A journal written before the query and content type were kept still replays.
    #[test]
    fn a_version_1_record_still_reads() {
        let mut old = vec![VERSION_1];
        old.extend_from_slice(&1_700_000_000_123_i64.to_le_bytes());
        for field in ["ten_01hxyz", "int_01hxyz", "POST"] {
            put(&mut old, field.as_bytes());
        }
        old.extend_from_slice(&1_u32.to_le_bytes());
        put(&mut old, b"content-type");
        put(&mut old, b"Application/JSON; charset=utf-8");
        old.extend_from_slice(b"{}");
        let back = decode(old).unwrap();
        assert_eq!(back.request.method, "POST");
        assert!(back.request.query.is_empty());
        assert_eq!(
            back.request.content_type.as_deref(),
            Some("application/json")
        );
        assert_eq!(back.request.body, b"{}");
    }
}
