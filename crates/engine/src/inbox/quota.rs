//! Each tenant's share of the push inbox: the journal bytes of its deliveries acknowledged but
//! not yet stored. A tenant past its share is refused (503 and `Retry-After`) while the others
//! are still taken, so one tenant's flood cannot fill the inbox for everyone.
//!
//! The count lives in memory: after a restart the deliveries replayed from the journal are not
//! counted against their tenant (the journal's own limit still holds them), which errs on the
//! side of accepting.

use std::collections::HashMap;
use std::sync::Mutex;

use gatehouse_core::TenantId;

use crate::EngineError;

/// Bytes waiting per tenant, against one limit for each.
#[derive(Debug)]
pub(crate) struct TenantQuota {
    limit: u64,
    held: Mutex<HashMap<TenantId, u64>>,
}

impl TenantQuota {
    /// `percent` of `max_backlog` per tenant (at least one byte, at most all of it).
    pub(crate) fn new(max_backlog: u64, percent: u8) -> Self {
        let limit = (u128::from(max_backlog) * u128::from(percent.clamp(1, 100)) / 100) as u64;
        Self {
            limit: limit.max(1),
            held: Mutex::new(HashMap::new()),
        }
    }

    /// Counts `bytes` against `tenant`, unless it already holds its share. A delivery is
    /// refused only once the share is reached, so one larger than the whole share still gets
    /// in when the tenant has nothing waiting.
    pub(crate) fn reserve(&self, tenant: &TenantId, bytes: u64) -> Result<(), EngineError> {
        let Ok(mut held) = self.held.lock() else {
            return Ok(());
        };
        let backlog = held.get(tenant).copied().unwrap_or(0);
        if backlog >= self.limit {
            return Err(EngineError::TenantBacklog {
                tenant: tenant.clone(),
                backlog,
                limit: self.limit,
            });
        }
        *held.entry(tenant.clone()).or_default() += bytes;
        Ok(())
    }

    /// Takes `bytes` off `tenant`'s count (stored, skipped or never written).
    pub(crate) fn release(&self, tenant: &TenantId, bytes: u64) {
        let Ok(mut held) = self.held.lock() else {
            return;
        };
        if let Some(backlog) = held.get_mut(tenant) {
            *backlog = backlog.saturating_sub(bytes);
            if *backlog == 0 {
                held.remove(tenant);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_past_its_share_is_refused_while_another_is_taken() {
        let quota = TenantQuota::new(1_000, 25);
        let a = TenantId::parse("ten_a").unwrap();
        let b = TenantId::parse("ten_b").unwrap();
        for _ in 0..5 {
            quota.reserve(&a, 50).unwrap();
        }
        assert!(matches!(
            quota.reserve(&a, 50),
            Err(EngineError::TenantBacklog { limit: 250, .. })
        ));
        quota.reserve(&b, 50).unwrap();
        quota.release(&a, 100);
        quota.reserve(&a, 50).unwrap();
    }
}
