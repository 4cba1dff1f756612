//! The inventory: `/v1/users`, `/v1/identities`, `/v1/identities/{id}` and `/v1/signins`.

use axum::extract::{Path, State};
use axum::Json;
use chrono::{DateTime, Utc};
use gatehouse_core::model::{Identity, Outcome, RiskPoint, SignInEvent, User, UserStatus};
use gatehouse_core::{IdentityId, IntegrationId, UserId};
use gatehouse_store::{IdentityFilter, Locatable, Page, PageRequest, SignInFilter, UserFilter};
use serde::{Deserialize, Serialize};

use crate::extract::{Caller, QueryParams};
use crate::paging::List;
use crate::views::ListResponse;
use crate::{ApiError, AppState};

/// Query of `GET /v1/users`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct UserQuery {
    tenant_id: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
    /// `active`, `suspended`, `deprovisioned`, `locked` or `staged`.
    status: Option<String>,
    provider: Option<String>,
    integration_id: Option<String>,
    /// Exact, case-insensitive, on any of the account's e-mails.
    email: Option<String>,
    /// Case-insensitive substring of login, e-mail or display name.
    q: Option<String>,
}

/// Query of `GET /v1/identities`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct IdentityQuery {
    tenant_id: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
    /// Case-insensitive substring of any of the identity's e-mails or its display name.
    q: Option<String>,
    /// Exact, case-insensitive, on any of the identity's e-mails (read from the e-mail index).
    email: Option<String>,
    /// Only identities whose risk score now (that of their riskiest account) is at least this
    /// (0–100). A page may then hold fewer than `limit` identities and still have a
    /// `next_cursor`: follow it until it is null.
    min_risk: Option<u8>,
    /// Only identities with an account in this state (`active`, `suspended`, `deprovisioned`,
    /// `locked` or `staged`); paged like `min_risk`.
    status: Option<String>,
    /// Only identities with an account at this provider (`okta`, `entra`, …); paged like
    /// `min_risk`. With `status`, one account must match both.
    provider: Option<String>,
}

/// One account of an identity, as the identities list shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct AccountSummary {
    id: UserId,
    provider: String,
    integration_id: IntegrationId,
    login: String,
    email: Option<String>,
    status: UserStatus,
    /// The account's risk score now.
    risk_score: u8,
    last_login_at: Option<DateTime<Utc>>,
}

/// A person in the identities list: their accounts summarized, their risk and last sign-in.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct IdentitySummary {
    id: IdentityId,
    tenant_id: gatehouse_core::TenantId,
    emails: Vec<String>,
    display_name: Option<String>,
    /// That of the riskiest account, now (scores decay with time).
    risk_score: u8,
    /// The latest `last_login_at` of the accounts.
    last_login_at: Option<DateTime<Utc>>,
    accounts: Vec<AccountSummary>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// Query of `GET /v1/signins`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SignInQuery {
    tenant_id: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
    user_id: Option<String>,
    /// `success`, `failure` or `challenge`.
    outcome: Option<String>,
    /// RFC 3339; events at or after.
    since: Option<String>,
    /// RFC 3339; events before.
    until: Option<String>,
}

/// A person and every account they have.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct IdentityView {
    #[serde(flatten)]
    identity: Identity,
    users: Vec<User>,
    /// The person's risk score over time, oldest first: a point each time a detection changed it
    /// (the newest 200). Scores decay between points; `risk_score` is the score now.
    risk_history: Vec<RiskPoint>,
}

pub(crate) fn time(field: &str, value: Option<&str>) -> Result<Option<DateTime<Utc>>, ApiError> {
    value
        .map(|v| {
            DateTime::parse_from_rfc3339(v)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| {
                    ApiError::invalid(
                        field,
                        "must be an RFC 3339 time such as 2026-01-31T00:00:00Z",
                    )
                })
        })
        .transpose()
}

/// Lists leave out the provider's raw record; a single read keeps it.
fn without_raw(mut user: User) -> User {
    user.raw = None;
    user
}

#[utoipa::path(get, path = "/v1/users", tag = "inventory", params(UserQuery), security(("bearer" = [])),
    responses((status = 200, body = ListResponse<User>)))]
pub(crate) async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(query): QueryParams<UserQuery>,
) -> Result<Json<ListResponse<User>>, ApiError> {
    let tenant = caller.scope(query.tenant_id.as_deref())?;
    let status = query
        .status
        .as_deref()
        .map(|s| {
            UserStatus::parse(s).ok_or_else(|| {
                ApiError::invalid(
                    "status",
                    "must be active, suspended, deprovisioned, locked or staged",
                )
            })
        })
        .transpose()?;
    let integration_id = query
        .integration_id
        .as_deref()
        .map(|i| {
            IntegrationId::parse(i)
                .ok_or_else(|| ApiError::invalid("integration_id", "is not an integration id"))
        })
        .transpose()?;
    let filter = UserFilter {
        status,
        provider: query.provider,
        integration_id,
        email: query.email,
        q: query.q,
    };
    let request = List::Users.request(query.limit, query.cursor.as_deref())?;
    let store = state.gateway.store();
    // An e-mail lookup (the console's "find a user") reads the store's e-mail index instead of
    // scanning the inventory: one page, in the order a scan would give, when it fits one.
    if let (Some(email), None) = (filter.email.as_deref(), request.cursor.as_ref()) {
        let mut users: Vec<User> = store
            .find_users_by_email(&tenant, &email.to_lowercase())
            .await?
            .into_iter()
            .filter(|u| filter.matches(u))
            .collect();
        if users.len() <= request.limit {
            users.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
            users.dedup_by(|a, b| a.id == b.id);
            let page = gatehouse_store::Page {
                items: users,
                next_cursor: None,
            };
            return Ok(Json(List::Users.response(page, without_raw)));
        }
    }
    let found = store.list_users(&tenant, &filter, &request).await?;
    Ok(Json(List::Users.response(found, without_raw)))
}

#[utoipa::path(get, path = "/v1/users/{id}", tag = "inventory", security(("bearer" = [])),
    responses((status = 200, body = User), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn get_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<User>, ApiError> {
    let typed = UserId::parse(&id).ok_or_else(|| ApiError::not_found(format!("user {id}")))?;
    let tenant = caller
        .owner_of(&state, Locatable::User, &id, "user")
        .await?;
    let mut user = state
        .gateway
        .store()
        .get_user(&tenant, &typed)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("user {id}")))?;
    // The score decays with time: show it as of now, not as of the last detection.
    user.risk_score = gatehouse_engine::detect::current_risk_score(&state.gateway, &user).await?;
    Ok(Json(user))
}

/// How many identities one `min_risk`, `status` or `provider` page reads at most before it answers with what it found
/// (and a cursor to go on from): a filter that keeps few never makes one request scan the
/// whole inventory.
const MIN_RISK_SCAN: usize = 1000;

#[utoipa::path(get, path = "/v1/identities", tag = "inventory", params(IdentityQuery), security(("bearer" = [])),
    responses((status = 200, body = ListResponse<IdentitySummary>)))]
pub(crate) async fn list_identities(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(query): QueryParams<IdentityQuery>,
) -> Result<Json<ListResponse<IdentitySummary>>, ApiError> {
    let tenant = caller.scope(query.tenant_id.as_deref())?;
    if query.min_risk.is_some_and(|r| r > 100) {
        return Err(ApiError::invalid("min_risk", "must be between 0 and 100"));
    }
    let request = List::Identities.request(query.limit, query.cursor.as_deref())?;
    let filter = IdentityFilter {
        q: query.q.filter(|q| !q.trim().is_empty()),
    };
    let min_risk = query.min_risk.unwrap_or(0);
    let status = query
        .status
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| {
            UserStatus::parse(s).ok_or_else(|| {
                ApiError::invalid(
                    "status",
                    "must be active, suspended, deprovisioned, locked or staged",
                )
            })
        })
        .transpose()?;
    let provider = query.provider.filter(|p| !p.is_empty());
    // What the identity record alone cannot say: its risk now and its accounts.
    let keep = |row: &IdentitySummary| {
        row.risk_score >= min_risk
            && (status.is_none() && provider.is_none()
                || row.accounts.iter().any(|a| {
                    status.is_none_or(|s| a.status == s)
                        && provider.as_ref().is_none_or(|p| &a.provider == p)
                }))
    };
    let config = gatehouse_engine::detect::risk_config(&state.gateway.tenant(&tenant).await?)?;
    let store = state.gateway.store();
    // An e-mail names at most one identity: read it from the index, not by a scan.
    if let Some(email) = query.email.as_deref() {
        let found = match request.cursor {
            Some(_) => None,
            None => store
                .find_identity_by_email(&tenant, &email.trim().to_lowercase())
                .await?
                .filter(|i| filter.matches(i)),
        };
        let mut data = Vec::new();
        if let Some(identity) = found {
            let row = summarize(&state, &config, identity).await?;
            if keep(&row) {
                data.push(row);
            }
        }
        let page = Page {
            items: data,
            next_cursor: None,
        };
        return Ok(Json(List::Identities.response(page, |i| i)));
    }
    let budget = request.limit.max(MIN_RISK_SCAN);
    let mut cursor = request.cursor.clone();
    let mut scanned = 0;
    let mut data = Vec::with_capacity(request.limit);
    let next_cursor = 'scan: loop {
        let page = store
            .list_identities(&tenant, &filter, &PageRequest::new(request.limit, cursor))
            .await?;
        let read = page.items.len();
        let rows = summarize_page(&state, &config, &tenant, page.items).await?;
        for (n, row) in rows.into_iter().enumerate() {
            scanned += 1;
            let id = row.id.to_string();
            if keep(&row) {
                data.push(row);
            }
            let more = n + 1 < read || page.next_cursor.is_some();
            if data.len() == request.limit || scanned >= budget {
                break 'scan more.then_some(id);
            }
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break None,
        }
    };
    Ok(Json(List::Identities.response(
        Page {
            items: data,
            next_cursor,
        },
        |i| i,
    )))
}

/// An identity as the list shows it: its accounts read and scored now.
async fn summarize(
    state: &AppState,
    config: &gatehouse_engine::detect::RiskConfig,
    identity: Identity,
) -> Result<IdentitySummary, ApiError> {
    let tenant = identity.tenant_id.clone();
    let mut rows = summarize_page(state, config, &tenant, vec![identity]).await?;
    rows.pop()
        .ok_or_else(|| ApiError::not_found("identity".to_owned()))
}

/// A page of identities as the list shows them, with two store reads for all their accounts
/// (on PostgreSQL each read is a round trip: one per account made a page of 1,000 take
/// seconds).
async fn summarize_page(
    state: &AppState,
    config: &gatehouse_engine::detect::RiskConfig,
    tenant: &gatehouse_core::TenantId,
    identities: Vec<Identity>,
) -> Result<Vec<IdentitySummary>, ApiError> {
    let store = state.gateway.store();
    let wanted: Vec<UserId> = identities
        .iter()
        .flat_map(|i| i.accounts.iter().cloned())
        .collect();
    let users = store.get_users(tenant, &wanted).await?;
    let scores =
        gatehouse_engine::detect::risk_scores_now(&state.gateway, config, tenant, &users).await?;
    let mut by_id: std::collections::HashMap<UserId, (User, u8)> = users
        .into_iter()
        .zip(scores)
        .map(|(user, score)| (user.id.clone(), (user, score)))
        .collect();
    let mut rows = Vec::with_capacity(identities.len());
    for identity in identities {
        let accounts: Vec<AccountSummary> = identity
            .accounts
            .iter()
            .filter_map(|account| by_id.remove(account))
            .map(|(user, risk_score)| AccountSummary {
                id: user.id,
                provider: user.provider,
                integration_id: user.integration_id,
                login: user.login,
                email: user.email,
                status: user.status,
                risk_score,
                last_login_at: user.last_login_at,
            })
            .collect();
        rows.push(IdentitySummary {
            risk_score: accounts.iter().map(|a| a.risk_score).max().unwrap_or(0),
            last_login_at: accounts.iter().filter_map(|a| a.last_login_at).max(),
            id: identity.id,
            tenant_id: identity.tenant_id,
            emails: identity.emails,
            display_name: identity.display_name,
            accounts,
            created_at: identity.created_at,
            updated_at: identity.updated_at,
        });
    }
    Ok(rows)
}

#[utoipa::path(get, path = "/v1/identities/{id}", tag = "inventory", security(("bearer" = [])),
    responses((status = 200, body = IdentityView), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn get_identity(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<IdentityView>, ApiError> {
    let typed =
        IdentityId::parse(&id).ok_or_else(|| ApiError::not_found(format!("identity {id}")))?;
    let tenant = caller
        .owner_of(&state, Locatable::Identity, &id, "identity")
        .await?;
    let store = state.gateway.store();
    let identity = store
        .get_identity(&tenant, &typed)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("identity {id}")))?;
    let mut identity = identity;
    let mut users = Vec::with_capacity(identity.accounts.len());
    for account in &identity.accounts {
        if let Some(mut user) = store.get_user(&tenant, account).await? {
            user.risk_score =
                gatehouse_engine::detect::current_risk_score(&state.gateway, &user).await?;
            users.push(without_raw(user));
        }
    }
    // A person is as risky as their riskiest account, as of now.
    identity.risk_score = users.iter().map(|u| u.risk_score).max().unwrap_or(0);
    let risk_history = store.identity_risk_history(&tenant, &typed).await?;
    Ok(Json(IdentityView {
        identity,
        users,
        risk_history,
    }))
}

/// The longest a read waits for acknowledged pushes to be stored.
const SETTLE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Waits until every push acknowledged so far is stored, so a client that was answered 200
/// finds its events (bounded: under a large backlog the read answers with what is stored).
pub(crate) async fn settle_pushes(state: &AppState) {
    if !state.engine.ingest.settled(SETTLE_WAIT).await {
        tracing::debug!("read answered before the push inbox caught up");
    }
}

#[utoipa::path(get, path = "/v1/signins", tag = "inventory", params(SignInQuery), security(("bearer" = [])),
    responses((status = 200, body = ListResponse<SignInEvent>)))]
pub(crate) async fn list_signins(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(query): QueryParams<SignInQuery>,
) -> Result<Json<ListResponse<SignInEvent>>, ApiError> {
    let tenant = caller.scope(query.tenant_id.as_deref())?;
    let outcome = match query.outcome.as_deref() {
        None => None,
        Some("success") => Some(Outcome::Success),
        Some("failure") => Some(Outcome::Failure),
        Some("challenge") => Some(Outcome::Challenge),
        Some(_) => {
            return Err(ApiError::invalid(
                "outcome",
                "must be success, failure or challenge",
            ))
        }
    };
    let user_id = crate::extract::user_id_filter(query.user_id.as_deref())?;
    settle_pushes(&state).await;
    let filter = SignInFilter {
        user_id,
        outcome,
        since: time("since", query.since.as_deref())?,
        until: time("until", query.until.as_deref())?,
    };
    let found = state
        .gateway
        .store()
        .list_signins(
            &tenant,
            &filter,
            &List::SignIns.request(query.limit, query.cursor.as_deref())?,
        )
        .await?;
    Ok(Json(List::SignIns.response(found, |mut signin| {
        signin.raw = None;
        signin
    })))
}
