//! The record of calls a simulator received, so a test can assert "the
//! provider received exactly one suspend" or "page two was asked for with the
//! `after` the first page's `next` link gave".
//!
//! Provider-neutral: the record type is the provider's (Okta resolves the
//! user a call addressed, for example); this is the bounded, in-order log
//! that keeps them. Bounded because benchmarks send millions of reads: past
//! its capacity the oldest calls are forgotten and counted.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// An in-order log of at most `capacity` calls.
#[derive(Debug)]
pub struct CallLog<C> {
    inner: Mutex<Inner<C>>,
}

#[derive(Debug)]
struct Inner<C> {
    calls: VecDeque<C>,
    capacity: usize,
    forgotten: u64,
}

impl<C: Clone> CallLog<C> {
    /// A log that keeps the latest `capacity` calls (0 keeps none).
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                calls: VecDeque::new(),
                capacity,
                forgotten: 0,
            }),
        }
    }

    // A test thread that panicked while holding the lock must not take the
    // simulator down with it.
    fn lock(&self) -> MutexGuard<'_, Inner<C>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends a call, forgetting the oldest when full.
    pub fn push(&self, call: C) {
        let mut inner = self.lock();
        if inner.capacity == 0 {
            inner.forgotten += 1;
            return;
        }
        if inner.calls.len() == inner.capacity {
            inner.calls.pop_front();
            inner.forgotten += 1;
        }
        inner.calls.push_back(call);
    }

    /// The calls kept, oldest first.
    pub fn snapshot(&self) -> Vec<C> {
        self.lock().calls.iter().cloned().collect()
    }

    /// Forgets every call kept (the count of forgotten ones is kept).
    pub fn clear(&self) {
        self.lock().calls.clear();
    }

    /// How many calls were dropped for want of room.
    pub fn forgotten(&self) -> u64 {
        self.lock().forgotten
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_latest_calls_in_order() {
        let log = CallLog::new(2);
        for i in 0..3 {
            log.push(i);
        }
        assert_eq!(log.snapshot(), vec![1, 2]);
        assert_eq!(log.forgotten(), 1);
        log.clear();
        assert!(log.snapshot().is_empty());
    }
}
