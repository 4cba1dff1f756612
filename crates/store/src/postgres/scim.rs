//! SCIM Users and Groups with their indexes, on PostgreSQL.
//!
//! One `scim_resources` row per resource: its SCIM JSON (`meta` included) in `doc`, beside the
//! index keys of `userName`, `externalId` and `displayName` (gatehouse_scim's `index_key`,
//! computed here so that case folding is Rust's, as in the sled backend) and `meta.version`. A
//! partial unique index on (tenant, lower-cased userName) of Users is the tenant-wide uniqueness
//! RFC 7643 asks of `userName`; reads stay scoped to one integration. `scim_members` holds a
//! Group's direct members, with an index for the other way (the groups of a member).
//!
//! A create or a replace writes the resource, its memberships and the inventory rows it carries
//! in one transaction. The version check of a replace or a delete is the statement's own WHERE
//! clause (`version = $expected`), which PostgreSQL re-checks on the newest row version once a
//! concurrent writer commits: a compare-and-set, never a read-then-write.

use std::collections::BTreeMap;

use deadpool_postgres::{GenericClient, Transaction};
use gatehouse_scim::filter::index_key;
use gatehouse_scim::ResourceKind;
use serde_json::Value;
use tokio_postgres::types::ToSql;

use super::*;
use crate::shared::{scim_members as members, scim_text as text, scim_version as version};

/// The name of the unique index of userNames (its violation is a userName conflict).
const USER_NAMES: &str = "scim_user_names";

const INSERT_RESOURCE: &str = "INSERT INTO scim_resources (tenant_id, integration_id, kind, id, \
     user_name_lower, external_id, display_name_lower, display_name, version, doc) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

const UPDATE_RESOURCE: &str = "UPDATE scim_resources SET user_name_lower = $5, external_id = $6, \
     display_name_lower = $7, display_name = $8, version = $9, doc = $10 \
     WHERE tenant_id = $1 AND integration_id = $2 AND kind = $3 AND id = $4 AND version = $11";

const RESOURCE_EXISTS: &str = "SELECT 1 FROM scim_resources \
     WHERE tenant_id = $1 AND integration_id = $2 AND kind = $3 AND id = $4";

/// The resource and, for a Group, its memberships, in one statement; the count of resources
/// deleted (0 or 1).
const DELETE_RESOURCE: &str = "WITH gone AS (\
         DELETE FROM scim_resources \
         WHERE tenant_id = $1 AND integration_id = $2 AND kind = $3 AND id = $4 \
           AND ($5::text IS NULL OR version = $5) \
         RETURNING id), \
     members AS (\
         DELETE FROM scim_members \
         WHERE tenant_id = $1 AND integration_id = $2 AND $3 = 'Group' \
           AND group_id IN (SELECT id FROM gone)) \
     SELECT count(*) FROM gone";

const GET_RESOURCE: &str = "SELECT doc FROM scim_resources \
     WHERE tenant_id = $1 AND integration_id = $2 AND kind = $3 AND id = $4";

// `kind = 'User'` written out as well: only then can a generic (cached) plan use the partial
// unique index on userNames (`WHERE kind = 'User'`) instead of scanning the integration's users.
const FIND_BY_USER_NAME: &str = "SELECT doc FROM scim_resources \
     WHERE tenant_id = $1 AND integration_id = $2 AND kind = $3 AND kind = 'User' \
     AND user_name_lower = $4 ORDER BY id";

const FIND_BY_EXTERNAL_ID: &str = "SELECT doc FROM scim_resources \
     WHERE tenant_id = $1 AND integration_id = $2 AND kind = $3 AND external_id = $4 \
     ORDER BY id";

const FIND_BY_DISPLAY_NAME: &str = "SELECT doc FROM scim_resources \
     WHERE tenant_id = $1 AND integration_id = $2 AND kind = $3 AND display_name_lower = $4 \
     ORDER BY id";

// Two statements rather than `$4 IS NULL OR id > $4`: a generic plan of the OR form would scan
// the integration from its first id on every page.
const SCAN_FIRST: &str = "SELECT doc FROM scim_resources \
     WHERE tenant_id = $1 AND integration_id = $2 AND kind = $3 ORDER BY id LIMIT $4";

const SCAN_AFTER: &str = "SELECT doc FROM scim_resources \
     WHERE tenant_id = $1 AND integration_id = $2 AND kind = $3 AND id > $4 ORDER BY id LIMIT $5";

const GROUPS_OF: &str = "SELECT m.group_id, coalesce(g.display_name, '') \
     FROM scim_members m JOIN scim_resources g \
       ON g.tenant_id = m.tenant_id AND g.integration_id = m.integration_id \
      AND g.kind = 'Group' AND g.id = m.group_id \
     WHERE m.tenant_id = $1 AND g.tenant_id = $1 AND m.integration_id = $2 AND m.member_id = $3 \
     ORDER BY m.group_id";

const DROP_MEMBERS: &str = "DELETE FROM scim_members \
     WHERE tenant_id = $1 AND integration_id = $2 AND group_id = $3 AND member_id <> ALL($4)";

const ADD_MEMBERS: &str =
    "INSERT INTO scim_members (tenant_id, integration_id, group_id, member_id) \
     SELECT $1, $2, $3, member FROM UNNEST($4::text[]) AS m(member) \
     ON CONFLICT DO NOTHING";

/// PostgreSQL text cannot hold NUL, so no stored id or index key has one: a lookup of such a
/// value finds nothing (and would be refused by the server).
fn unstorable(value: &str) -> bool {
    value.contains('\0')
}

/// The columns of one resource row, from its JSON.
struct Row<'r> {
    tenant: &'r str,
    integration: &'r str,
    kind: &'static str,
    id: &'r str,
    user_name: Option<&'r str>,
    user_name_key: Option<String>,
    external_id: Option<String>,
    display_name: Option<&'r str>,
    display_name_key: Option<String>,
    version: Option<&'r str>,
    doc: &'r Value,
}

impl<'r> Row<'r> {
    fn of(
        tenant: &'r TenantId,
        integration: &'r IntegrationId,
        kind: ResourceKind,
        resource: &'r Value,
    ) -> Result<Self, StoreError> {
        let id = text(resource, "id")
            .ok_or_else(|| StoreError::Backend("a SCIM resource needs an id".into()))?;
        let key = |attr: &str| text(resource, attr).map(|v| index_key(attr, v));
        let display_name = text(resource, "displayName");
        Ok(Self {
            tenant: tenant.as_str(),
            integration: integration.as_str(),
            kind: kind.name(),
            id,
            user_name: text(resource, "userName"),
            user_name_key: key("userName"),
            external_id: key("externalId"),
            display_name,
            display_name_key: key("displayName"),
            version: version(resource),
            doc: resource,
        })
    }

    /// Parameters $1…$10 of [`INSERT_RESOURCE`] and [`UPDATE_RESOURCE`].
    fn params(&self) -> [&(dyn ToSql + Sync); 10] {
        [
            &self.tenant,
            &self.integration,
            &self.kind,
            &self.id,
            &self.user_name_key,
            &self.external_id,
            &self.display_name_key,
            &self.display_name,
            &self.version,
            self.doc,
        ]
    }

    /// Maps an error of writing this row: a taken userName or id is a conflict, a missing
    /// integration (deleted under the write) is not found.
    fn write_error(&self) -> impl Fn(tokio_postgres::Error) -> StoreError + '_ {
        move |err| {
            let constraint = err.as_db_error().and_then(|e| e.constraint());
            match err.code() {
                Some(code) if *code == SqlState::UNIQUE_VIOLATION => {
                    if constraint == Some(USER_NAMES) {
                        StoreError::Conflict(format!(
                            "userName {}",
                            self.user_name.unwrap_or_default()
                        ))
                    } else {
                        StoreError::Conflict(format!("{} {}", self.kind, self.id))
                    }
                }
                Some(code) if *code == SqlState::FOREIGN_KEY_VIOLATION => {
                    StoreError::NotFound(format!("integration {}", self.integration))
                }
                _ => pg_error("SCIM resource")(err),
            }
        }
    }
}

/// Inventory rows checked against the call's tenant (as the sled backend refuses them), each
/// account and identity once (the last of repeats, as sequential writes would leave it) and in
/// id order, so concurrent writers lock shared rows in one order and cannot deadlock.
struct Inventory<'a> {
    users: BTreeMap<&'a str, &'a User>,
    identities: BTreeMap<&'a str, &'a Identity>,
}

impl<'a> Inventory<'a> {
    fn of(tenant: &TenantId, rows: &'a InventoryRows) -> Result<Self, StoreError> {
        let mut users = BTreeMap::new();
        for user in &rows.users {
            if &user.tenant_id != tenant {
                return Err(StoreError::Backend(
                    "a user belongs to another tenant than the call's scope".into(),
                ));
            }
            users.insert(user.id.as_str(), user);
        }
        let mut identities = BTreeMap::new();
        for identity in &rows.identities {
            if &identity.tenant_id != tenant {
                return Err(StoreError::Backend(
                    "an identity belongs to another tenant than the call's scope".into(),
                ));
            }
            identities.insert(identity.id.as_str(), identity);
        }
        Ok(Self { users, identities })
    }
}

/// Runs one cached statement; the rows it changed.
async fn exec(
    client: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
    error: impl Fn(tokio_postgres::Error) -> StoreError,
) -> Result<u64, StoreError> {
    let statement = client.prepare_cached(sql).await.map_err(&error)?;
    client.execute(&statement, params).await.map_err(error)
}

/// Runs one cached query; its rows.
async fn query(
    client: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
    what: &str,
) -> Result<Vec<tokio_postgres::Row>, StoreError> {
    let statement = client.prepare_cached(sql).await.map_err(pg_error(what))?;
    client
        .query(&statement, params)
        .await
        .map_err(pg_error(what))
}

/// Sets a Group's memberships to `members(resource)`: drops those it left, adds the new ones.
/// Only Groups have members (the sled backend would also index a `members` array on a User,
/// which no User schema has; here `scim_groups_of` joins memberships to their Group).
async fn put_members(tx: &Transaction<'_>, row: &Row<'_>, fresh: bool) -> Result<(), StoreError> {
    if row.kind != ResourceKind::Group.name() {
        return Ok(());
    }
    let members = members(row.doc);
    let (tenant, integration) = (row.tenant, row.integration);
    if !fresh {
        exec(
            tx,
            DROP_MEMBERS,
            &[&tenant, &integration, &row.id, &members],
            pg_error("SCIM members"),
        )
        .await?;
    }
    if !members.is_empty() {
        exec(
            tx,
            ADD_MEMBERS,
            &[&tenant, &integration, &row.id, &members],
            pg_error("SCIM members"),
        )
        .await?;
    }
    Ok(())
}

/// Upserts the inventory accounts and identities a SCIM write carries, in its transaction,
/// exactly as a directory page writes them. Accounts first: an identity never names an account
/// not yet stored.
async fn put_inventory(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    rows: &Inventory<'_>,
) -> Result<(), StoreError> {
    let users: Vec<&User> = rows.users.values().copied().collect();
    super::directory::put_users(tx, tenant, &users).await?;
    let people: Vec<&Identity> = rows.identities.values().copied().collect();
    super::directory::put_identities_of(tx, tenant, &people).await
}

/// Why a conditional write changed nothing: the resource is gone, or its version moved on.
/// `key`: tenant, integration, kind, id.
async fn missed(
    client: &impl GenericClient,
    key: [&(dyn ToSql + Sync); 4],
) -> Result<ScimWrite, StoreError> {
    let found = query(client, RESOURCE_EXISTS, &key, "SCIM resource").await?;
    Ok(if found.is_empty() {
        ScimWrite::NotFound
    } else {
        ScimWrite::Stale
    })
}

fn docs(rows: Vec<tokio_postgres::Row>) -> Result<Vec<Value>, StoreError> {
    rows.into_iter()
        .map(|row| row.try_get(0).map_err(pg_error("SCIM resources")))
        .collect()
}

impl PgStore {
    pub(super) async fn scim_create_sql(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        kind: ResourceKind,
        resource: &Value,
        rows: &InventoryRows,
    ) -> Result<(), StoreError> {
        let row = Row::of(tenant, integration, kind, resource)?;
        let inventory = Inventory::of(tenant, rows)?;
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(pg_error("SCIM transaction"))?;
        // The resource first: when its id or userName is taken, nothing else was written (and
        // the dropped transaction rolls back).
        exec(&tx, INSERT_RESOURCE, &row.params(), row.write_error()).await?;
        put_members(&tx, &row, true).await?;
        put_inventory(&tx, tenant, &inventory).await?;
        tx.commit().await.map_err(pg_error("SCIM commit"))
    }

    pub(super) async fn scim_replace_sql(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        kind: ResourceKind,
        resource: &Value,
        expected: &str,
        rows: &InventoryRows,
    ) -> Result<ScimWrite, StoreError> {
        let row = Row::of(tenant, integration, kind, resource)?;
        let inventory = Inventory::of(tenant, rows)?;
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(pg_error("SCIM transaction"))?;
        let [p1, p2, p3, p4, p5, p6, p7, p8, p9, p10] = row.params();
        let params = [p1, p2, p3, p4, p5, p6, p7, p8, p9, p10, &expected];
        // The compare-and-set; it also locks the row until commit, so the memberships and
        // inventory rows below are this write's alone.
        if exec(&tx, UPDATE_RESOURCE, &params, row.write_error()).await? == 0 {
            let answer = missed(&tx, [p1, p2, p3, p4]).await?;
            tx.rollback().await.map_err(pg_error("SCIM rollback"))?;
            return Ok(answer);
        }
        put_members(&tx, &row, false).await?;
        put_inventory(&tx, tenant, &inventory).await?;
        tx.commit().await.map_err(pg_error("SCIM commit"))?;
        Ok(ScimWrite::Written)
    }

    pub(super) async fn scim_delete_sql(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        kind: ResourceKind,
        id: &str,
        expected: Option<&str>,
    ) -> Result<ScimWrite, StoreError> {
        if unstorable(id) {
            return Ok(ScimWrite::NotFound);
        }
        let (t, i, k) = (tenant.as_str(), integration.as_str(), kind.name());
        let client = self.client().await?;
        // One statement: the resource and its memberships go together or not at all.
        let deleted = query(
            &client,
            DELETE_RESOURCE,
            &[&t, &i, &k, &id, &expected],
            "SCIM delete",
        )
        .await?;
        let count: i64 = match deleted.first() {
            Some(row) => row.try_get(0).map_err(pg_error("SCIM delete"))?,
            None => 0,
        };
        Ok(if count > 0 {
            ScimWrite::Written
        } else if expected.is_none() {
            ScimWrite::NotFound
        } else {
            missed(&client, [&t, &i, &k, &id]).await?
        })
    }

    pub(super) async fn scim_get_sql(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        kind: ResourceKind,
        id: &str,
    ) -> Result<Option<Value>, StoreError> {
        if unstorable(id) {
            return Ok(None);
        }
        let found = self
            .scim_lookup(GET_RESOURCE, tenant, integration, kind, id)
            .await?;
        Ok(found.into_iter().next())
    }

    /// Resources whose `attr` (`id`, `userName`, `externalId` or `displayName`) has the index key
    /// of `value`, in id order. Candidates only: the caller evaluates its whole filter on them.
    pub(super) async fn scim_find_sql(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        kind: ResourceKind,
        attr: &str,
        value: &str,
    ) -> Result<Vec<Value>, StoreError> {
        if attr == "id" {
            return Ok(self
                .scim_get_sql(tenant, integration, kind, value)
                .await?
                .into_iter()
                .collect());
        }
        let sql = match attr {
            "userName" => FIND_BY_USER_NAME,
            "externalId" => FIND_BY_EXTERNAL_ID,
            "displayName" => FIND_BY_DISPLAY_NAME,
            _ => return Err(StoreError::Backend(format!("{attr} has no SCIM index"))),
        };
        let key = index_key(attr, value);
        if unstorable(&key) {
            return Ok(Vec::new());
        }
        self.scim_lookup(sql, tenant, integration, kind, &key).await
    }

    /// Up to `limit` resources in id order, after `after` when given: one page of a full scan.
    pub(super) async fn scim_scan_sql(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        kind: ResourceKind,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Value>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let (t, i, k) = (tenant.as_str(), integration.as_str(), kind.name());
        let client = self.client().await?;
        let rows = match after {
            None => query(&client, SCAN_FIRST, &[&t, &i, &k, &limit], "SCIM scan").await?,
            Some(after) => {
                // No stored id holds a NUL, so the ids after "a\0b" (in byte order) are those
                // after "a".
                let after = after.split('\0').next().unwrap_or(after);
                let params: [&(dyn ToSql + Sync); 5] = [&t, &i, &k, &after, &limit];
                query(&client, SCAN_AFTER, &params, "SCIM scan").await?
            }
        };
        docs(rows)
    }

    /// The groups `member` belongs to, as (group id, displayName), in group id order.
    pub(super) async fn scim_groups_of_sql(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        member: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        if unstorable(member) {
            return Ok(Vec::new());
        }
        let client = self.client().await?;
        let params: [&(dyn ToSql + Sync); 3] = [&tenant.as_str(), &integration.as_str(), &member];
        let rows = query(&client, GROUPS_OF, &params, "SCIM groups").await?;
        rows.into_iter()
            .map(|row| {
                let group = row.try_get(0).map_err(pg_error("SCIM groups"))?;
                let name = row.try_get(1).map_err(pg_error("SCIM groups"))?;
                Ok((group, name))
            })
            .collect()
    }

    /// The docs of one lookup by (tenant, integration, kind, value).
    async fn scim_lookup(
        &self,
        sql: &str,
        tenant: &TenantId,
        integration: &IntegrationId,
        kind: ResourceKind,
        value: &str,
    ) -> Result<Vec<Value>, StoreError> {
        let client = self.client().await?;
        let params: [&(dyn ToSql + Sync); 4] = [
            &tenant.as_str(),
            &integration.as_str(),
            &kind.name(),
            &value,
        ];
        docs(query(&client, sql, &params, "SCIM lookup").await?)
    }
}

/// What only PostgreSQL can show: the inventory rows a SCIM write leaves in the directory
/// aggregate's tables (until those tables' own queries land, the conformance suite checks them
/// on sled alone), and a resource's tie to its integration row.
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use serde_json::json;

    use super::*;

    const U: ResourceKind = ResourceKind::User;

    struct Fixture {
        _server: gatehouse_pgtest::TempPostgres,
        store: PgStore,
        tenant: TenantId,
        integration: IntegrationId,
    }

    async fn fixture() -> Fixture {
        let server = gatehouse_pgtest::TempPostgres::start().unwrap();
        let store = PgStore::connect(&PgOptions::new(server.url()))
            .await
            .unwrap();
        let (tenant, integration) = (
            TenantId::parse("ten_rows").unwrap(),
            IntegrationId::parse("int_rows").unwrap(),
        );
        store
            .client()
            .await
            .unwrap()
            .execute(
                "INSERT INTO integrations (id, tenant_id, doc) VALUES ($1, $2, '{}')",
                &[&integration.as_str(), &tenant.as_str()],
            )
            .await
            .unwrap();
        Fixture {
            _server: server,
            store,
            tenant,
            integration,
        }
    }

    fn account(tenant: &TenantId, n: u32, email: &str, emails: &[&str]) -> User {
        serde_json::from_value(json!({
            "id": format!("usr_{n:06}"), "tenant_id": tenant.as_str(),
            "integration_id": "int_rows", "provider": "scim", "external_id": format!("u{n}"),
            "login": email, "email": email, "emails": emails, "status": "active",
            "synced_at": "2026-03-01T10:00:00Z"}))
        .unwrap()
    }

    fn identity(tenant: &TenantId, emails: &[&str]) -> Identity {
        serde_json::from_value(json!({
            "id": "idn_000001", "tenant_id": tenant.as_str(), "emails": emails,
            "display_name": null, "accounts": ["usr_000001"],
            "created_at": "2026-03-01T10:00:00Z", "updated_at": "2026-03-01T10:00:00Z"}))
        .unwrap()
    }

    fn resource(id: &str, name: &str, version: &str) -> Value {
        json!({"id": id, "userName": name, "meta": {"version": version}})
    }

    fn rows(users: Vec<User>, identities: Vec<Identity>) -> InventoryRows {
        InventoryRows {
            users,
            identities,
            drawn: Default::default(),
        }
    }

    impl Fixture {
        async fn strings(&self, sql: &str) -> Vec<String> {
            let client = self.store.client().await.unwrap();
            let rows = client.query(sql, &[&self.tenant.as_str()]).await.unwrap();
            rows.iter().map(|row| row.get(0)).collect()
        }

        async fn users(&self) -> Vec<String> {
            self.strings(
                "SELECT id || ' ' || integration_id || ' ' || external_id || ' ' || (doc->>'login') \
                 FROM users WHERE tenant_id = $1 ORDER BY id",
            )
            .await
        }

        async fn user_emails(&self) -> Vec<String> {
            self.strings(
                "SELECT email || ' ' || user_id FROM user_emails WHERE tenant_id = $1 \
                 ORDER BY email, user_id",
            )
            .await
        }

        async fn identity_emails(&self) -> Vec<String> {
            self.strings(
                "SELECT email || ' ' || identity_id FROM identity_emails WHERE tenant_id = $1 \
                 ORDER BY email",
            )
            .await
        }
    }

    #[tokio::test]
    async fn a_scim_write_leaves_its_inventory_rows_in_the_directory_tables() {
        let f = fixture().await;
        let (t, i) = (&f.tenant, &f.integration);
        let first = account(t, 1, "Grace@X.example", &["grace@x.example", "G@Y.example"]);
        // Repeats in one write: the last of each id is what stays.
        let written = rows(
            vec![account(t, 1, "stale@x.example", &[]), first.clone()],
            vec![
                identity(t, &["x@x.example"]),
                identity(t, &["Grace@X.example"]),
            ],
        );
        f.store
            .scim_create_sql(t, i, U, &resource("a", "grace", "v1"), &written)
            .await
            .unwrap();
        assert_eq!(f.users().await, ["usr_000001 int_rows u1 Grace@X.example"]);
        assert_eq!(
            f.user_emails().await,
            ["g@y.example usr_000001", "grace@x.example usr_000001"]
        );
        assert_eq!(f.identity_emails().await, ["grace@x.example idn_000001"]);
        let client = f.store.client().await.unwrap();
        let row = client
            .query_one(
                "SELECT doc FROM users WHERE tenant_id = $1 AND id = 'usr_000001'",
                &[&t.as_str()],
            )
            .await
            .unwrap();
        assert_eq!(from_doc::<User>(row.get(0)).unwrap(), first);
        let row = client
            .query_one(
                "SELECT doc FROM identities WHERE tenant_id = $1 AND id = 'idn_000001'",
                &[&t.as_str()],
            )
            .await
            .unwrap();
        assert_eq!(
            from_doc::<Identity>(row.get(0)).unwrap(),
            identity(t, &["Grace@X.example"])
        );

        // A refused create, a stale replace and foreign rows write none of theirs.
        let second = rows(vec![account(t, 2, "b@x.example", &[])], vec![]);
        let taken = f
            .store
            .scim_create_sql(t, i, U, &resource("a", "other", "v1"), &second)
            .await;
        assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
        let taken = f
            .store
            .scim_create_sql(t, i, U, &resource("b", "GRACE", "v1"), &second)
            .await;
        assert!(matches!(taken, Err(StoreError::Conflict(ref m)) if m == "userName GRACE"));
        let stale = f
            .store
            .scim_replace_sql(t, i, U, &resource("a", "grace", "v2"), "v0", &second)
            .await;
        assert_eq!(stale.unwrap(), ScimWrite::Stale);
        let foreign = rows(
            vec![account(&TenantId::parse("ten_x").unwrap(), 3, "c@x", &[])],
            vec![],
        );
        let refused = f
            .store
            .scim_create_sql(t, i, U, &resource("c", "c", "v1"), &foreign)
            .await;
        assert!(
            matches!(refused, Err(StoreError::Backend(_))),
            "{refused:?}"
        );
        assert!(f.store.scim_get_sql(t, i, U, "c").await.unwrap().is_none());
        assert_eq!(f.users().await.len(), 1);

        // A written replace replaces the account's and the identity's e-mail rows.
        let moved = rows(
            vec![account(t, 1, "new@x.example", &[])],
            vec![identity(t, &["NEW@x.example"])],
        );
        let ok = f
            .store
            .scim_replace_sql(t, i, U, &resource("a", "grace", "v2"), "v1", &moved)
            .await;
        assert_eq!(ok.unwrap(), ScimWrite::Written);
        assert_eq!(f.users().await, ["usr_000001 int_rows u1 new@x.example"]);
        assert_eq!(f.user_emails().await, ["new@x.example usr_000001"]);
        assert_eq!(f.identity_emails().await, ["new@x.example idn_000001"]);
    }

    #[tokio::test]
    async fn a_resource_lives_and_dies_with_its_integration_row() {
        let f = fixture().await;
        let (t, i) = (&f.tenant, &f.integration);
        let group = json!({"id": "g", "displayName": "G", "members": [{"value": "a"}]});
        f.store
            .scim_create_sql(
                t,
                i,
                U,
                &resource("a", "grace", "v1"),
                &InventoryRows::default(),
            )
            .await
            .unwrap();
        f.store
            .scim_create_sql(t, i, ResourceKind::Group, &group, &InventoryRows::default())
            .await
            .unwrap();
        // The integration goes (as delete_integration and delete_tenant remove its row): its
        // resources, memberships and userNames go with it.
        let client = f.store.client().await.unwrap();
        client
            .execute("DELETE FROM integrations WHERE id = 'int_rows'", &[])
            .await
            .unwrap();
        for table in ["scim_resources", "scim_members"] {
            let row = client
                .query_one(
                    &format!("SELECT count(*) FROM {table} WHERE tenant_id = $1"),
                    &[&t.as_str()],
                )
                .await
                .unwrap();
            assert_eq!(row.get::<_, i64>(0), 0, "{table}");
        }
        // A write that finds its integration gone (it raced the deletion) is refused.
        let gone = f
            .store
            .scim_create_sql(
                t,
                i,
                U,
                &resource("b", "grace", "v1"),
                &InventoryRows::default(),
            )
            .await;
        assert!(matches!(gone, Err(StoreError::NotFound(_))), "{gone:?}");
        client
            .execute(
                "INSERT INTO integrations (id, tenant_id, doc) VALUES ('int_new', $1, '{}')",
                &[&t.as_str()],
            )
            .await
            .unwrap();
        let other = IntegrationId::parse("int_new").unwrap();
        f.store
            .scim_create_sql(
                t,
                &other,
                U,
                &resource("b", "GRACE", "v1"),
                &InventoryRows::default(),
            )
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn lookups_of_values_postgresql_cannot_store_find_nothing() {
        let f = fixture().await;
        let (t, i) = (&f.tenant, &f.integration);
        f.store
            .scim_create_sql(
                t,
                i,
                U,
                &resource("a", "grace", "v1"),
                &InventoryRows::default(),
            )
            .await
            .unwrap();
        assert!(f
            .store
            .scim_get_sql(t, i, U, "a\0")
            .await
            .unwrap()
            .is_none());
        let found = f.store.scim_find_sql(t, i, U, "userName", "grace\0").await;
        assert!(found.unwrap().is_empty());
        assert!(f
            .store
            .scim_groups_of_sql(t, i, "a\0")
            .await
            .unwrap()
            .is_empty());
        let deleted = f.store.scim_delete_sql(t, i, U, "a\0", None).await;
        assert_eq!(deleted.unwrap(), ScimWrite::NotFound);
        // After "\0…" comes what comes after the text before it.
        let after = f.store.scim_scan_sql(t, i, U, Some("\0x"), 10).await;
        assert_eq!(after.unwrap().len(), 1);
        let after = f.store.scim_scan_sql(t, i, U, Some("a\0"), 10).await;
        assert!(after.unwrap().is_empty());
    }
}
