//! Sign-in events, pull cursors and sync status, on PostgreSQL.
//!
//! A sign-in is a `signins` row keyed by (tenant, id) — the id is derived from the integration
//! and the provider's event id, so it is the dedupe key, as in the sled backend — and one
//! `signin_subjects` row per subject it is about (its account or lower-cased login, its IP, its
//! session): the index the risk engine's windows walk in (time, id) order. A batch of sign-ins
//! is one statement, which stores the events not seen before together with their index rows:
//! atomic, and committed when it returns.
//!
//! A sign-in's raw provider event is kept in the `raw` column as the text it came as, the rest
//! of the record in `doc`: the risk engine's window reads, most of this table's reads, never
//! want the raw event, and taking it out of each `doc` (`doc - 'raw'`) tripled their cost
//! (rows stored before migration 7 still hold it inside `doc`; readers take either). Reads
//! decode `doc` through [`Json`], straight from the jsonb bytes.
//!
//! Times are compared exactly: `time` holds what `timestamptz` can (microseconds) and
//! `time_nanos` the nanoseconds past it, and every bound and ordering uses both.

use std::collections::HashMap;

use chrono::Timelike;
use gatehouse_core::model::RawEvent;
use tokio_postgres::types::{Json, ToSql};
use tokio_postgres::Row;

use super::*;
use crate::shared::{signin_subjects, subject_key};

/// Stores a batch of sign-ins ($2…$5 and their raw events $8, sorted by id, so that concurrent
/// batches sharing events take their row locks in one order and never deadlock) but those whose
/// id the tenant has, and the index rows ($6, $7) of those it stored; returns the ids stored.
/// An index row already there (left by a sign-in deleted without its index rows) is kept rather
/// than failing the batch.
const INSERT_SIGNINS: &str = "\
    WITH new AS (
        INSERT INTO signins (tenant_id, id, time, time_nanos, doc, raw)
        SELECT $1, e.id, e.time, e.time_nanos, e.doc, e.raw
        FROM unnest($2::text[], $3::timestamptz[], $4::int2[], $5::jsonb[], $8::text[])
            AS e (id, time, time_nanos, doc, raw)
        ON CONFLICT (tenant_id, id) DO NOTHING
        RETURNING id, time, time_nanos
    ), indexed AS (
        INSERT INTO signin_subjects (tenant_id, subject, time, time_nanos, signin_id)
        SELECT $1, s.subject, new.time, new.time_nanos, new.id
        FROM new
        JOIN unnest($6::text[], $7::text[]) AS s (signin_id, subject) ON s.signin_id = new.id
        ON CONFLICT DO NOTHING
    )
    SELECT id FROM new";

/// A subject's sign-ins in `[from, to)`, in (time, id) order, without their raw events (only
/// rows stored before the `raw` column hold one inside `doc`).
const SIGNINS_ABOUT: &str = "\
    SELECT CASE WHEN s.doc ? 'raw' THEN s.doc - 'raw' ELSE s.doc END
    FROM signin_subjects x
    JOIN signins s ON s.tenant_id = x.tenant_id AND s.id = x.signin_id
    WHERE x.tenant_id = $1 AND s.tenant_id = $1 AND x.subject = $2
        AND (x.time, x.time_nanos) >= ($3::timestamptz, $4::int2)
        AND (x.time, x.time_nanos) < ($5::timestamptz, $6::int2)
    ORDER BY x.time, x.time_nanos, x.signin_id
    LIMIT $7";

/// A subject's sign-ins in `[from, to)` nearest to `around` ($7): at most $8 before its place in
/// (time, id) order and $8 from it on. Its place is its stored time, or the time its id was
/// derived at ($9, $10) when it is not stored, moved into the window (an empty id sorts before
/// any at its time): each walk of the index then starts at that place and has one bound on
/// either side, which btree uses to start and to stop (given two, it may start at the wrong
/// one and skip the whole window up to the place).
const SIGNINS_NEAR: &str = "\
    WITH around AS (
        SELECT time, time_nanos FROM (
            SELECT time, time_nanos, 0 AS rank FROM signins WHERE tenant_id = $1 AND id = $7
            UNION ALL
            SELECT $9::timestamptz, $10::int2, 1
        ) places
        ORDER BY rank
        LIMIT 1
    ), place AS (
        SELECT
            CASE WHEN early THEN $3::timestamptz WHEN late THEN $5::timestamptz ELSE time END
                AS time,
            CASE WHEN early THEN $4::int2 WHEN late THEN $6::int2 ELSE time_nanos END
                AS time_nanos,
            CASE WHEN early OR late THEN '' ELSE $7::text END AS id
        FROM (
            SELECT time, time_nanos,
                (time, time_nanos) < ($3::timestamptz, $4::int2) AS early,
                (time, time_nanos) >= ($5::timestamptz, $6::int2) AS late
            FROM around
        ) bounded
    ), before AS (
        SELECT x.time, x.time_nanos, x.signin_id
        FROM signin_subjects x
        WHERE x.tenant_id = $1 AND x.subject = $2
            AND (x.time, x.time_nanos) >= ($3::timestamptz, $4::int2)
            AND (x.time, x.time_nanos, x.signin_id) < (
                (SELECT time FROM place), (SELECT time_nanos FROM place), (SELECT id FROM place)
            )
        ORDER BY x.time DESC, x.time_nanos DESC, x.signin_id DESC
        LIMIT $8
    ), after AS (
        SELECT x.time, x.time_nanos, x.signin_id
        FROM signin_subjects x
        WHERE x.tenant_id = $1 AND x.subject = $2
            AND (x.time, x.time_nanos, x.signin_id) >= (
                (SELECT time FROM place), (SELECT time_nanos FROM place), (SELECT id FROM place)
            )
            AND (x.time, x.time_nanos) < ($5::timestamptz, $6::int2)
        ORDER BY x.time, x.time_nanos, x.signin_id
        LIMIT $8
    )
    SELECT CASE WHEN s.doc ? 'raw' THEN s.doc - 'raw' ELSE s.doc END
    FROM (SELECT * FROM before UNION ALL SELECT * FROM after) w
    JOIN signins s ON s.tenant_id = $1 AND s.id = w.signin_id
    WHERE s.tenant_id = $1
    ORDER BY w.time, w.time_nanos, w.signin_id";

/// Inserts the rows not stored yet, with their subject entries, in one statement; the
/// positions (in the caller's slice) of the events that were new.
pub(super) async fn insert_rows(
    client: &impl deadpool_postgres::GenericClient,
    tenant: &TenantId,
    rows: &SignInRows<'_>,
) -> Result<Vec<usize>, StoreError> {
    let insert = client
        .prepare_cached(INSERT_SIGNINS)
        .await
        .map_err(pg_error("sign-ins"))?;
    let stored = client
        .query(
            &insert,
            &[
                &tenant.as_str(),
                &rows.ids,
                &rows.times,
                &rows.nanos,
                &rows.docs,
                &rows.subject_ids,
                &rows.subjects,
                &rows.raws,
            ],
        )
        .await
        .map_err(pg_error("sign-ins"))?;
    let mut fresh: Vec<usize> = stored
        .iter()
        .filter_map(|row| rows.positions.get(row.get::<_, &str>(0)).copied())
        .collect();
    fresh.sort_unstable();
    Ok(fresh)
}

/// An instant as the tables keep it: cut to the microsecond, and the nanoseconds past that.
fn time_key(time: DateTime<Utc>) -> (DateTime<Utc>, i16) {
    let nanos = time.nanosecond();
    let past = nanos % 1000;
    let micros = time.with_nanosecond(nanos - past).unwrap_or(time);
    (micros, i16::try_from(past).unwrap_or(0))
}

/// The millisecond a sign-in id was derived at: the time part of its ULID (`SignInId::derive`).
fn id_time(id: &SignInId) -> Option<DateTime<Utc>> {
    const CROCKFORD: &[u8] = b"0123456789abcdefghjkmnpqrstvwxyz";
    let ulid = id.as_str().strip_prefix(SignInId::PREFIX)?.as_bytes();
    let mut millis: i64 = 0;
    for byte in ulid.get(..10)? {
        let digit = CROCKFORD
            .iter()
            .position(|c| *c == byte.to_ascii_lowercase())?;
        millis = millis
            .checked_mul(32)?
            .checked_add(i64::try_from(digit).ok()?)?;
    }
    DateTime::from_timestamp_millis(millis)
}

/// The sign-in in a row's column `column` (its `doc`).
fn signin_of(row: &Row, column: usize) -> Result<SignInEvent, StoreError> {
    row.try_get::<_, Json<SignInEvent>>(column)
        .map(|Json(event)| event)
        .map_err(|e| StoreError::Corrupt(format!("a stored sign-in: {e}")))
}

/// The whole sign-in in a row's columns `column` (`doc`) and `column + 1` (`raw`): the raw
/// event from its column, or from inside `doc` for a row stored before that column.
fn whole_signin_of(row: &Row, column: usize) -> Result<SignInEvent, StoreError> {
    let mut event = signin_of(row, column)?;
    let raw: Option<String> = row
        .try_get(column + 1)
        .map_err(|e| StoreError::Corrupt(format!("a stored sign-in's raw event: {e}")))?;
    if let Some(raw) = raw {
        let text = serde_json::value::RawValue::from_string(raw)
            .map_err(|e| StoreError::Corrupt(format!("a stored sign-in's raw event: {e}")))?;
        event.raw = Some(RawEvent::from_text(text));
    }
    Ok(event)
}

/// A count for a `LIMIT` parameter.
fn sql_limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Refuses a record that claims another tenant than the one the call is scoped to.
fn same_tenant(scope: &TenantId, owner: &TenantId, what: &str) -> Result<(), StoreError> {
    if scope == owner {
        Ok(())
    } else {
        Err(StoreError::Backend(format!(
            "{what} belongs to another tenant than the call's scope"
        )))
    }
}

/// The parameters of [`INSERT_SIGNINS`] for one batch.
#[derive(Default)]
pub(super) struct SignInRows<'a> {
    ids: Vec<&'a str>,
    times: Vec<DateTime<Utc>>,
    nanos: Vec<i16>,
    docs: Vec<serde_json::Value>,
    /// Each row's raw provider event as text, kept out of `doc`.
    raws: Vec<Option<&'a str>>,
    subject_ids: Vec<&'a str>,
    subjects: Vec<String>,
    /// Each id's first position in the caller's slice (a later copy in one batch is a replay).
    positions: HashMap<&'a str, usize>,
}

impl<'a> SignInRows<'a> {
    /// Nothing to insert.
    pub(super) fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub(super) fn of(tenant: &TenantId, events: &'a [SignInEvent]) -> Result<Self, StoreError> {
        let mut rows = Self::default();
        let mut first: Vec<&'a SignInEvent> = Vec::with_capacity(events.len());
        for (position, event) in events.iter().enumerate() {
            same_tenant(tenant, &event.tenant_id, "a sign-in")?;
            if !rows.positions.contains_key(event.id.as_str()) {
                rows.positions.insert(event.id.as_str(), position);
                first.push(event);
            }
        }
        first.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        for event in first {
            let id = event.id.as_str();
            let (time, nanos) = time_key(event.time);
            rows.ids.push(id);
            rows.times.push(time);
            rows.nanos.push(nanos);
            // The record without its raw event, which goes to its own column as the text it
            // came as (one copy of the record's fields; the raw text is not parsed).
            let without_raw = SignInEvent {
                raw: None,
                ..event.clone()
            };
            rows.docs.push(to_doc(&without_raw)?);
            rows.raws.push(event.raw.as_ref().map(RawEvent::text));
            for subject in signin_subjects(event) {
                rows.subject_ids.push(id);
                rows.subjects.push(nul::text(&subject).into_owned());
            }
        }
        Ok(rows)
    }
}

impl PgStore {
    pub(super) async fn insert_signins_sql(
        &self,
        tenant: &TenantId,
        events: &[SignInEvent],
    ) -> Result<Vec<usize>, StoreError> {
        // Checked here, so that a bad batch fails alone, before it joins a group (whose writer
        // builds its rows).
        for event in events {
            same_tenant(tenant, &event.tenant_id, "a sign-in")?;
        }
        if events.is_empty() {
            return Ok(Vec::new());
        }
        self.group_commit.insert(tenant, events).await
    }

    pub(super) async fn insert_signins_moving_sql(
        &self,
        tenant: &TenantId,
        events: &[SignInEvent],
        cursor: &crate::CursorMove,
    ) -> Result<Vec<usize>, StoreError> {
        let rows = SignInRows::of(tenant, events)?;
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(pg_error("transaction"))?;
        let fresh = if rows.ids.is_empty() {
            Vec::new()
        } else {
            insert_rows(&tx, tenant, &rows).await?
        };
        super::cursor_moves::move_cursor_in(&tx, tenant, cursor).await?;
        tx.commit().await.map_err(pg_error("commit"))?;
        Ok(fresh)
    }

    pub(super) async fn signins_about_sql(
        &self,
        tenant: &TenantId,
        subject: SignInSubject<'_>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<SignInEvent>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let (from, from_nanos) = time_key(from);
        let (to, to_nanos) = time_key(to);
        let client = self.client().await?;
        let about = client
            .prepare_cached(SIGNINS_ABOUT)
            .await
            .map_err(pg_error("sign-ins about a subject"))?;
        let rows = client
            .query(
                &about,
                &[
                    &tenant.as_str(),
                    &nul::text(&subject_key(&subject)),
                    &from,
                    &from_nanos,
                    &to,
                    &to_nanos,
                    &sql_limit(limit),
                ],
            )
            .await
            .map_err(pg_error("sign-ins about a subject"))?;
        rows.iter().map(|row| signin_of(row, 0)).collect()
    }

    pub(super) async fn get_signin_sql(
        &self,
        tenant: &TenantId,
        id: &gatehouse_core::SignInId,
    ) -> Result<Option<SignInEvent>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT doc, raw FROM signins WHERE tenant_id = $1 AND id = $2",
                &[&tenant.as_str(), &id.as_str()],
            )
            .await
            .map_err(pg_error("signins"))?;
        row.map(|row| whole_signin_of(&row, 0)).transpose()
    }

    pub(super) async fn signins_near_sql(
        &self,
        tenant: &TenantId,
        subject: SignInSubject<'_>,
        (from, to): (DateTime<Utc>, DateTime<Utc>),
        around: &SignInId,
        each_side: usize,
    ) -> Result<Vec<SignInEvent>, StoreError> {
        if each_side == 0 || from >= to {
            return Ok(Vec::new());
        }
        // An id that is not a ULID (never one this store was given) sorts from the window's start.
        let (at, at_nanos) = time_key(id_time(around).unwrap_or(from));
        let (from, from_nanos) = time_key(from);
        let (to, to_nanos) = time_key(to);
        let client = self.client().await?;
        let near = client
            .prepare_cached(SIGNINS_NEAR)
            .await
            .map_err(pg_error("sign-ins near another"))?;
        let rows = client
            .query(
                &near,
                &[
                    &tenant.as_str(),
                    &nul::text(&subject_key(&subject)),
                    &from,
                    &from_nanos,
                    &to,
                    &to_nanos,
                    &around.as_str(),
                    &sql_limit(each_side),
                    &at,
                    &at_nanos,
                ],
            )
            .await
            .map_err(pg_error("sign-ins near another"))?;
        rows.iter().map(|row| signin_of(row, 0)).collect()
    }

    /// The sled backend's paging: sign-ins in id order after the cursor, those `filter` accepts;
    /// the next cursor is the page's last id, set when the page is full and any sign-in of the
    /// tenant follows it (whether or not the filter accepts it).
    pub(super) async fn list_signins_sql(
        &self,
        tenant: &TenantId,
        filter: &SignInFilter,
        page: &PageRequest,
    ) -> Result<Page<SignInEvent>, StoreError> {
        let client = self.client().await?;
        let limit = page.limit.max(1);
        // Ids hold no NUL (PostgreSQL text cannot): the ids after a cursor with one are those
        // after its part before the NUL.
        let mut after = page
            .cursor
            .as_deref()
            .map(|c| c.split('\0').next().unwrap_or_default().to_owned());
        let mut items: Vec<SignInEvent> = Vec::with_capacity(limit.min(PageRequest::MAX_LIMIT));
        loop {
            let want = limit - items.len();
            let rows = filtered_signins(&client, tenant, filter, after.as_deref(), want).await?;
            let read = rows.len();
            for (id, event) in rows {
                after = Some(id);
                // The query applied the filter already; this keeps the page equal to sled's
                // should the two ever disagree on an edge.
                if filter.matches(&event) {
                    items.push(event);
                }
            }
            if items.len() >= limit || read < want {
                break;
            }
        }
        let next_cursor = match items.last().filter(|_| items.len() >= limit) {
            Some(last) => {
                let more = client
                    .query_one(
                        "SELECT EXISTS (SELECT 1 FROM signins WHERE tenant_id = $1 AND id > $2)",
                        &[&tenant.as_str(), &last.id.as_str()],
                    )
                    .await
                    .map_err(pg_error("sign-ins"))?;
                more.get::<_, bool>(0).then(|| last.id.to_string())
            }
            None => None,
        };
        Ok(Page { items, next_cursor })
    }

    pub(super) async fn get_cursor_sql(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        name: &str,
    ) -> Result<Option<SyncCursor>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT doc FROM cursors \
                 WHERE tenant_id = $1 AND integration_id = $2 AND name = $3",
                &[&tenant.as_str(), &integration.as_str(), &name],
            )
            .await
            .map_err(pg_error("sync cursor"))?;
        row.map(|row| from_doc(row.get(0))).transpose()
    }

    pub(super) async fn put_cursor_sql(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        name: &str,
        cursor: &SyncCursor,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO cursors (tenant_id, integration_id, name, doc) \
                 VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (tenant_id, integration_id, name) DO UPDATE SET doc = EXCLUDED.doc",
                &[
                    &tenant.as_str(),
                    &integration.as_str(),
                    &name,
                    &to_doc(cursor)?,
                ],
            )
            .await
            .map_err(pg_error("sync cursor"))?;
        Ok(())
    }

    pub(super) async fn get_sync_status_sql(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
    ) -> Result<Option<SyncStatus>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT doc FROM sync_status WHERE tenant_id = $1 AND integration_id = $2",
                &[&tenant.as_str(), &integration.as_str()],
            )
            .await
            .map_err(pg_error("sync status"))?;
        row.map(|row| from_doc(row.get(0))).transpose()
    }

    pub(super) async fn put_sync_status_sql(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        status: &SyncStatus,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO sync_status (tenant_id, integration_id, doc) VALUES ($1, $2, $3) \
                 ON CONFLICT (tenant_id, integration_id) DO UPDATE SET doc = EXCLUDED.doc",
                &[&tenant.as_str(), &integration.as_str(), &to_doc(status)?],
            )
            .await
            .map_err(pg_error("sync status"))?;
        Ok(())
    }
}

/// Up to `limit` of a tenant's sign-ins after the id `after`, in id order, with their ids:
/// those `filter` accepts, tested in SQL. Only the filter's conditions that are set are in the
/// statement, so that each shape gets a plan that seeks the primary key to the cursor.
async fn filtered_signins(
    client: &deadpool_postgres::Object,
    tenant: &TenantId,
    filter: &SignInFilter,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<(String, SignInEvent)>, StoreError> {
    let tenant = tenant.as_str();
    let user = filter.user_id.as_ref().map(|u| u.as_str());
    let outcome = match filter.outcome {
        Some(outcome) => Some(
            to_doc(&outcome)?
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| StoreError::Corrupt("an outcome is not a JSON string".into()))?,
        ),
        None => None,
    };
    let since = filter.since.map(time_key);
    let until = filter.until.map(time_key);
    let limit = sql_limit(limit);

    let mut query = Query::new(
        "SELECT id, doc, raw FROM signins WHERE tenant_id = $1",
        &tenant,
    );
    if let Some(after) = &after {
        let after = query.bind(after);
        query.push(&format!(" AND id > {after}"));
    }
    if let Some(user) = &user {
        let user = query.bind(user);
        query.push(&format!(" AND doc->>'user_id' = {user}"));
    }
    if let Some(outcome) = &outcome {
        let outcome = query.bind(outcome);
        query.push(&format!(" AND doc->>'outcome' = {outcome}"));
    }
    if let Some((time, nanos)) = &since {
        let (time, nanos) = (query.bind(time), query.bind(nanos));
        query.push(&format!(
            " AND (time, time_nanos) >= ({time}::timestamptz, {nanos}::int2)"
        ));
    }
    if let Some((time, nanos)) = &until {
        let (time, nanos) = (query.bind(time), query.bind(nanos));
        query.push(&format!(
            " AND (time, time_nanos) < ({time}::timestamptz, {nanos}::int2)"
        ));
    }
    let limit = query.bind(&limit);
    query.push(&format!(" ORDER BY id LIMIT {limit}"));

    let statement = client
        .prepare_cached(&query.sql)
        .await
        .map_err(pg_error("sign-ins"))?;
    let rows = client
        .query(&statement, &query.params)
        .await
        .map_err(pg_error("sign-ins"))?;
    rows.into_iter()
        .map(|row| Ok((row.get::<_, String>(0), whole_signin_of(&row, 1)?)))
        .collect()
}

/// A statement built from the conditions that apply, and its parameters.
struct Query<'a> {
    sql: String,
    params: Vec<&'a (dyn ToSql + Sync)>,
}

impl<'a> Query<'a> {
    /// `sql` with its one parameter, `$1`.
    fn new(sql: &str, first: &'a (dyn ToSql + Sync)) -> Self {
        Self {
            sql: sql.to_owned(),
            params: vec![first],
        }
    }

    /// Adds a parameter; returns its placeholder.
    fn bind(&mut self, value: &'a (dyn ToSql + Sync)) -> String {
        self.params.push(value);
        format!("${}", self.params.len())
    }

    fn push(&mut self, sql: &str) {
        self.sql.push_str(sql);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn instant(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn a_time_key_splits_at_the_microsecond_and_orders_as_the_time() {
        let t = instant("2026-03-01T10:00:00.123456789Z");
        assert_eq!(time_key(t), (instant("2026-03-01T10:00:00.123456Z"), 789));
        let whole = instant("2026-03-01T10:00:00Z");
        assert_eq!(time_key(whole), (whole, 0));
        let before = instant("1969-12-31T23:59:59.999999999Z");
        assert_eq!(time_key(before).1, 999);
        let mut times: Vec<DateTime<Utc>> = [789, 788, 1_000, 999_999_999, 0]
            .iter()
            .map(|n| whole + chrono::Duration::nanoseconds(*n))
            .collect();
        let mut keys: Vec<_> = times.iter().map(|t| time_key(*t)).collect();
        times.sort();
        keys.sort();
        assert_eq!(keys, times.iter().map(|t| time_key(*t)).collect::<Vec<_>>());
    }

    #[test]
    fn a_derived_id_tells_its_millisecond() {
        let t = instant("2026-03-01T10:00:00.123456789Z");
        let id = SignInId::derive(t, &["int_1", "e1"]);
        assert_eq!(id_time(&id), Some(instant("2026-03-01T10:00:00.123Z")));
        assert_eq!(
            id_time(&SignInId::derive(DateTime::UNIX_EPOCH, &["x"])),
            Some(DateTime::UNIX_EPOCH)
        );
        assert_eq!(id_time(&SignInId::parse("sin_short").unwrap()), None);
        assert_eq!(
            id_time(&SignInId::parse("usr_01hxyz0000000000").unwrap()),
            None
        );
        assert_eq!(
            id_time(&SignInId::parse("sin_01hxyzuuuu0000").unwrap()),
            None
        );
    }
}
