//! GET list and `.search`: indexed lookups for equality filters, otherwise a streamed scan.

use gatehouse_scim::resource::{list_response, search};
use gatehouse_scim::{Filter, ResourceKind, ScimError, SearchRequest};
use serde_json::Value;

use super::{store_error, ScimScope, ScimService, INDEXED, SCAN_PAGE};

impl ScimService {
    /// GET list and `.search`: indexed candidates for an equality on an indexed attribute,
    /// otherwise a streamed scan that keeps only the matches (and, unsorted, only the page).
    pub async fn search(
        &self,
        s: &ScimScope,
        kind: ResourceKind,
        req: &SearchRequest,
    ) -> Result<Value, ScimError> {
        if let Some(f) = &req.filter {
            f.validate(&s.registry, kind)?;
            if let Some(candidates) = self.indexed_candidates(s, kind, f).await? {
                return search(&s.registry, kind, req, candidates, self.config.max_results);
            }
        }
        let max = self.config.max_results;
        let start = req.start_index.max(1) - 1;
        let count = req.count.unwrap_or(max).min(max);
        let keep_all = req.sort_by.is_some();
        let mut kept = Vec::new();
        let mut total = 0usize;
        let mut after: Option<String> = None;
        loop {
            let batch = self
                .gateway
                .store()
                .scim_scan(
                    &s.tenant,
                    &s.integration.id,
                    kind,
                    after.as_deref(),
                    SCAN_PAGE,
                )
                .await
                .map_err(store_error)?;
            let Some(last) = batch.last() else { break };
            after = last.get("id").and_then(Value::as_str).map(str::to_owned);
            let full = batch.len() == SCAN_PAGE;
            for r in batch {
                let r = self.present(s, kind, r).await?;
                if req
                    .filter
                    .as_ref()
                    .is_some_and(|f| !f.matches(&r, &s.registry, kind))
                {
                    continue;
                }
                if keep_all || (total >= start && total < start.saturating_add(count)) {
                    kept.push(r);
                }
                total += 1;
            }
            if !full || after.is_none() {
                break;
            }
        }
        if keep_all {
            return search(&s.registry, kind, req, kept, max);
        }
        let page = kept
            .iter()
            .map(|r| req.projection.apply(&s.registry, kind, r))
            .collect();
        Ok(list_response(page, total, req.start_index))
    }

    async fn indexed_candidates(
        &self,
        s: &ScimScope,
        kind: ResourceKind,
        f: &Filter,
    ) -> Result<Option<Vec<Value>>, ScimError> {
        for attr in INDEXED {
            if let Some(value) = f.equality_on(attr) {
                let found = self
                    .gateway
                    .store()
                    .scim_find(&s.tenant, &s.integration.id, kind, attr, value)
                    .await
                    .map_err(store_error)?;
                let mut out = Vec::with_capacity(found.len());
                for r in found {
                    out.push(self.present(s, kind, r).await?);
                }
                return Ok(Some(out));
            }
        }
        Ok(None)
    }
}
