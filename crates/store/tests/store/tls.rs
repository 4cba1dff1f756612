//! TLS to PostgreSQL: with `sslmode=verify-full` and the server's CA as `sslrootcert` the
//! store connects over TLS (the server says so); without that CA the certificate is refused,
//! also under `sslmode=require`; `sslmode=disable` connects in plain text.

use gatehouse_pgtest::TempPostgres;
use gatehouse_store::{PgOptions, PgStore};

async fn tls_sessions(server: &TempPostgres) -> i64 {
    let (client, connection) = tokio_postgres::connect(server.url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .query_one("SELECT count(*) FROM pg_stat_ssl WHERE ssl", &[])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn the_store_verifies_the_servers_certificate() {
    let (server, tls) = TempPostgres::start_with_tls().unwrap();
    let at = |query: &str| {
        format!(
            "postgresql://gatehouse@localhost:{}/postgres?{query}",
            tls.port
        )
    };
    let verified = PgStore::connect(&PgOptions::new(at(&format!(
        "sslmode=verify-full&sslrootcert={}",
        tls.ca_file.display()
    ))))
    .await
    .unwrap();
    assert!(
        tls_sessions(&server).await >= 1,
        "the pool's session is TLS"
    );
    drop(verified);

    for query in ["sslmode=require", "sslmode=verify-full"] {
        let refused = PgStore::connect(&PgOptions::new(at(query)))
            .await
            .unwrap_err();
        assert!(
            refused.to_string().contains("TLS handshake"),
            "{query}: {refused}"
        );
    }
    PgStore::connect(&PgOptions::new(at("sslmode=disable")))
        .await
        .unwrap();
}
