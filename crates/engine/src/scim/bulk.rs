//! POST /Bulk: runs the operations of a BulkRequest one by one through the single-resource
//! operations.

use gatehouse_scim::bulk::{run_bulk, BulkMethod, BulkOutcome, BulkRequest, ResolvedOperation};
use gatehouse_scim::ScimError;
use serde_json::Value;

use super::{meta_str, ScimScope, ScimService};

impl ScimService {
    /// POST /Bulk: the BulkResponse. `run_bulk` is synchronous, so it runs on a blocking thread
    /// that drives each operation on the runtime in turn.
    pub async fn bulk(&self, s: &ScimScope, body: &[u8]) -> Result<Value, ScimError> {
        let req = BulkRequest::parse(body, &self.config.bulk)?;
        let svc = self.clone();
        let scope = s.clone();
        let handle = tokio::runtime::Handle::current();
        let response = tokio::task::spawn_blocking(move || {
            let mut exec = |op: &ResolvedOperation| handle.block_on(svc.bulk_one(&scope, op));
            run_bulk(&req, &mut exec)
        })
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "SCIM bulk task failed");
            ScimError::new(500, None, "the bulk request failed")
        })?;
        Ok(response.to_json())
    }

    async fn bulk_one(
        &self,
        s: &ScimScope,
        op: &ResolvedOperation,
    ) -> Result<BulkOutcome, ScimError> {
        let kind = op.kind;
        let data = op.data.clone().unwrap_or(Value::Null);
        let id = op.id.as_deref();
        let need_id =
            || id.ok_or_else(|| ScimError::invalid_syntax("the path needs a resource id"));
        let (status, resource) = match op.method {
            BulkMethod::Post => (201, Some(self.create(s, kind, &data).await?)),
            BulkMethod::Put => (
                200,
                Some(
                    self.replace(s, kind, need_id()?, &data, op.version.as_deref())
                        .await?,
                ),
            ),
            BulkMethod::Patch => (
                200,
                Some(
                    self.patch(s, kind, need_id()?, &data, op.version.as_deref())
                        .await?,
                ),
            ),
            BulkMethod::Delete => {
                self.delete(s, kind, need_id()?, op.version.as_deref())
                    .await?;
                (204, None)
            }
        };
        let location = match &resource {
            Some(r) => meta_str(r, "location").map(str::to_owned),
            None => id.map(|i| {
                format!(
                    "{}{}/{i}",
                    s.base_url.trim_end_matches('/'),
                    kind.endpoint()
                )
            }),
        };
        Ok(BulkOutcome {
            status,
            id: resource
                .as_ref()
                .and_then(|r| r.get("id"))
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(|| id.map(str::to_owned)),
            location,
            version: resource
                .as_ref()
                .and_then(|r| meta_str(r, "version"))
                .map(str::to_owned),
            response: None,
        })
    }
}
