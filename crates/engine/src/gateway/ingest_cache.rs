//! The ingest-token cache: token hash → the integration it pushes to, so a push costs no store
//! read. A write that could change the answer (a rotation, a PATCH, a delete) invalidates it
//! when it starts and again once its store write is done; a lookup that read the store before
//! that caches nothing, since the cache's generation moved under it. Entries also age out, so
//! a change made elsewhere (another replica) is seen within [`TTL_SECS`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use gatehouse_core::model::Integration;

/// Past this many entries the cache starts over (a bound, not an LRU).
const MAX_ENTRIES: usize = 10_000;
/// How long an entry is trusted without reading the store again.
pub(crate) const TTL_SECS: i64 = 30;

#[derive(Default)]
struct Inner {
    generation: u64,
    entries: HashMap<String, (Arc<Integration>, DateTime<Utc>)>,
}

#[derive(Default)]
pub(crate) struct IngestTargets {
    inner: Mutex<Inner>,
}

impl IngestTargets {
    /// A cached integration for `hash`, unless it is older than the TTL.
    pub(crate) fn get(&self, hash: &str, now: DateTime<Utc>) -> Option<Arc<Integration>> {
        let inner = self.inner.lock().ok()?;
        let (record, cached_at) = inner.entries.get(hash)?;
        (now - *cached_at < Duration::seconds(TTL_SECS)).then(|| Arc::clone(record))
    }

    /// The generation a lookup must still see when it stores what it read.
    pub(crate) fn generation(&self) -> u64 {
        self.inner.lock().map(|i| i.generation).unwrap_or(u64::MAX)
    }

    /// Caches what a lookup read, unless a write invalidated the cache since the lookup began.
    pub(crate) fn insert_if_current(
        &self,
        hash: String,
        record: Arc<Integration>,
        generation: u64,
        now: DateTime<Utc>,
    ) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        if inner.generation != generation {
            return;
        }
        if inner.entries.len() >= MAX_ENTRIES {
            inner.entries.clear();
        }
        inner.entries.insert(hash, (record, now));
    }

    /// Drops every entry and moves the generation on.
    pub(crate) fn invalidate(&self) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.generation = inner.generation.wrapping_add(1);
            inner.entries.clear();
        }
    }

    /// Invalidates now and again when the returned guard drops (after the caller's store
    /// write, however it ends).
    pub(crate) fn invalidating(&self) -> Invalidation<'_> {
        self.invalidate();
        Invalidation(self)
    }
}

/// Invalidates the cache when dropped.
pub(crate) struct Invalidation<'a>(&'a IngestTargets);

impl Drop for Invalidation<'_> {
    fn drop(&mut self) {
        self.0.invalidate();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn integration() -> Arc<Integration> {
        Arc::new(
            serde_json::from_value(serde_json::json!({
                "id": "int_1", "tenant_id": "ten_1", "type": "x", "config": {},
                "status": "active", "created_at": "2026-01-01T00:00:00Z",
                "updated_at": "2026-01-01T00:00:00Z",
                "credentials": {"key_id": "k", "sealed": ""},
            }))
            .unwrap(),
        )
    }

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    /// The race of a push beside a rotation: the push read the store before the write, the
    /// write finished (and invalidated), then the push tries to cache the old answer.
    #[test]
    fn a_lookup_that_straddles_a_write_caches_nothing() {
        let cache = IngestTargets::default();
        let before_write = cache.generation();
        {
            let _write = cache.invalidating();
            // … the store write …
        }
        cache.insert_if_current("h".into(), integration(), before_write, at(0));
        assert!(cache.get("h", at(0)).is_none(), "a stale answer was cached");

        let now_current = cache.generation();
        cache.insert_if_current("h".into(), integration(), now_current, at(0));
        assert!(cache.get("h", at(0)).is_some());
    }

    #[test]
    fn entries_age_out() {
        let cache = IngestTargets::default();
        cache.insert_if_current("h".into(), integration(), cache.generation(), at(0));
        assert!(cache.get("h", at(TTL_SECS - 1)).is_some());
        assert!(cache.get("h", at(TTL_SECS)).is_none());
    }
}
