//! Shared test support: the base time and builders for tenants, integrations, tokens, users and
//! sign-ins.

use chrono::{DateTime, Duration, Utc};
use gatehouse_core::model::{
    Integration, IntegrationStatus, Outcome, SealedSecret, SignInEvent, Tenant, TenantSettings,
    TokenKind, TokenRecord, User, UserStatus,
};
use gatehouse_core::{IntegrationId, SignInId, TenantId, UserId};

pub(crate) fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

pub(crate) fn tenant(id: &str) -> Tenant {
    Tenant {
        id: TenantId::parse(id).unwrap(),
        name: format!("Tenant {id}"),
        settings: TenantSettings::default(),
        created_at: t0(),
        updated_at: t0(),
    }
}

pub(crate) fn integration(tenant: &TenantId, n: u32) -> Integration {
    Integration {
        id: IntegrationId::parse(&format!("int_{n:04}")).unwrap(),
        tenant_id: tenant.clone(),
        kind: "okta".into(),
        config: serde_json::Map::new(),
        status: IntegrationStatus::Active,
        credentials: SealedSecret {
            key_id: "k1".into(),
            sealed: "opaque".into(),
        },
        ingest_token_hash: Some(format!("hash-{tenant}-{n}")),
        scim_token_hash: None,
        oauth_client_id_hash: None,
        push_token: None,
        created_at: t0(),
        updated_at: t0(),
    }
}

pub(crate) fn token(
    hash: &str,
    kind: TokenKind,
    tenant: &TenantId,
    integration: Option<&IntegrationId>,
) -> TokenRecord {
    TokenRecord {
        hash: hash.into(),
        kind,
        tenant_id: Some(tenant.clone()),
        integration_id: integration.cloned(),
        api_key_id: None,
        created_at: t0(),
        expires_at: None,
    }
}

pub(crate) fn user(tenant: &TenantId, integration: &IntegrationId, n: u32, email: &str) -> User {
    User {
        id: UserId::parse(&format!("usr_{n:06}")).unwrap(),
        tenant_id: tenant.clone(),
        integration_id: integration.clone(),
        provider: "okta".into(),
        external_id: format!("00u{n}"),
        login: email.into(),
        email: Some(email.into()),
        emails: vec![],
        display_name: Some(format!("User {n}")),
        given_name: None,
        family_name: None,
        status: UserStatus::Active,
        status_flags: vec![],
        department: None,
        title: None,
        manager: None,
        groups: vec![],
        mfa_enrolled: Some(true),
        mfa_factors: vec![],
        is_admin: false,
        identity_id: None,
        risk_score: 0,
        created_at: None,
        last_login_at: None,
        updated_at: None,
        synced_at: t0(),
        raw: None,
    }
}

pub(crate) fn signin(
    tenant: &TenantId,
    integration: &IntegrationId,
    event_id: &str,
    minute: i64,
) -> SignInEvent {
    let time = t0() + Duration::minutes(minute);
    SignInEvent {
        id: SignInId::derive(time, &[integration.as_str(), event_id]),
        tenant_id: tenant.clone(),
        integration_id: integration.clone(),
        provider: "okta".into(),
        provider_event_id: event_id.into(),
        time,
        category: Default::default(),
        event_type: "user.session.start".into(),
        user_id: None,
        external_user_id: None,
        login: Some("a@example.com".into()),
        outcome: Outcome::Failure,
        reason: Some("INVALID_CREDENTIALS".into()),
        ip: Some("203.0.113.9".into()),
        country: None,
        city: None,
        latitude: None,
        longitude: None,
        asn: None,
        user_agent: None,
        device: None,
        mfa_factor: None,
        session_id: None,
        is_proxy: None,
        provider_risk: None,
        source: Default::default(),
        signal: Default::default(),
        raw: None,
    }
}

/// A store backend under test. The conformance tests take one and run unchanged against each
/// (see [`conformance!`]): sled in a temporary directory, or PostgreSQL on a throwaway server
/// started from the machine's server binaries.
pub(crate) enum Backend {
    Sled(tempfile::TempDir),
    Postgres(gatehouse_pgtest::TempPostgres),
}

impl Backend {
    pub(crate) fn sled() -> Self {
        Self::Sled(tempfile::tempdir().unwrap())
    }

    pub(crate) fn postgres() -> Self {
        match gatehouse_pgtest::TempPostgres::start() {
            Ok(server) => Self::Postgres(server),
            Err(err) => panic!("a throwaway PostgreSQL could not be started: {err}"),
        }
    }

    /// A connection of its own to the PostgreSQL backend's database, for what a test does
    /// behind the store (another session's locks, rows in an older layout, a future schema).
    pub(crate) async fn sql(&self) -> tokio_postgres::Client {
        let (client, connection) = tokio_postgres::connect(self.pg_url(), tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client
    }

    /// The PostgreSQL backend's connection URL.
    pub(crate) fn pg_url(&self) -> &str {
        match self {
            Self::Postgres(server) => server.url(),
            Self::Sled(_) => panic!("only a PostgreSQL backend has a URL"),
        }
    }

    /// Opens the store on this backend's data (again, after an earlier handle was dropped:
    /// what a restart sees).
    pub(crate) async fn open(&self) -> std::sync::Arc<dyn gatehouse_store::Store> {
        match self {
            Self::Sled(dir) => {
                // A store dropped just now lets go of its files once its background threads
                // (the group committer, sled's flusher) have finished, a moment later: a
                // restart in the same process waits for that instead of failing on the lock.
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
                loop {
                    match gatehouse_store::SledStore::open(dir.path()) {
                        Ok(store) => break std::sync::Arc::new(store),
                        Err(e)
                            if e.to_string().contains("could not acquire lock")
                                && std::time::Instant::now() < deadline =>
                        {
                            tokio::time::sleep(std::time::Duration::from_millis(10)).await
                        }
                        Err(e) => panic!("opening the sled store again: {e}"),
                    }
                }
            }
            Self::Postgres(server) => std::sync::Arc::new(
                gatehouse_store::PgStore::connect(&gatehouse_store::PgOptions::new(server.url()))
                    .await
                    .unwrap(),
            ),
        }
    }
}

/// Runs each named `async fn(Backend)` as two tests, `<name>::sled` and `<name>::postgres`.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sled() {
                    super::$name($crate::support::Backend::sled()).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::support::Backend::postgres()).await
                }
            }
        )*
    };
}
pub(crate) use conformance;
