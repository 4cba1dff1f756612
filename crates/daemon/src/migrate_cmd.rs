//! `gatehouse store migrate`: copies the embedded store into an empty PostgreSQL database and
//! counts every kind of record on both sides (the copying is [`gatehouse_daemon::migrate`]).
//! Progress goes to stderr, the table of counts to stdout; the exit code is non-zero when the
//! copy failed or any count differs. The connection string is never printed: it may hold a
//! password.

use std::path::PathBuf;
use std::process::ExitCode;

use gatehouse_daemon::migrate::{self, MigrateError, Progress, Report};
use gatehouse_store::PgOptions;
use secrecy::{ExposeSecret, SecretString};

/// Connections to PostgreSQL: the copy keeps a few writes in flight at once.
const POOL_SIZE: usize = 8;

/// Flags of `gatehouse store migrate`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct MigrateArgs {
    /// The embedded store to copy, as `sled:DIR`: the daemon's data directory
    /// (`store.data_dir`). Stop the daemon first; the store's lock refuses a second process.
    #[arg(long, value_name = "sled:DIR")]
    pub from: String,
    /// The PostgreSQL database to copy into, as `postgres://…` (or `postgres:` followed by a
    /// libpq connection string). It must hold no tenants or tokens; its schema is created or
    /// brought up to date first. Also `GATEHOUSE_STORE` (better than the flag: a flag shows in
    /// the process list). Never printed.
    #[arg(
        long,
        value_name = "postgres://…",
        env = "GATEHOUSE_STORE",
        hide_env_values = true,
        value_parser = secret
    )]
    pub to: Option<SecretString>,
}

/// A flag's value kept as a secret from the moment it is parsed (its Debug form is redacted).
fn secret(value: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(value))
}

/// A usage problem, reported with exit code 2. Never holds the connection string.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Usage(pub String);

/// The embedded store's directory from `--from sled:DIR`.
pub(crate) fn source_dir(from: &str) -> Result<PathBuf, Usage> {
    match from.strip_prefix("sled:") {
        Some(dir) if !dir.is_empty() => Ok(PathBuf::from(dir)),
        _ => Err(Usage(
            "--from must be sled:DIR, the embedded store's directory (the daemon's data dir)"
                .into(),
        )),
    }
}

/// The connection string from `--to` (or GATEHOUSE_STORE): a `postgres://` or `postgresql://`
/// URL as it is, or what follows `postgres:` (a libpq `key=value` string). Errors never repeat
/// the value.
pub(crate) fn target_url(to: Option<&SecretString>) -> Result<SecretString, Usage> {
    let Some(to) = to else {
        return Err(Usage(
            "give the PostgreSQL database with --to postgres://… or GATEHOUSE_STORE".into(),
        ));
    };
    let text = to.expose_secret().trim();
    if text.starts_with("postgres://") || text.starts_with("postgresql://") {
        return Ok(SecretString::from(text));
    }
    match text.strip_prefix("postgres:") {
        Some(rest) if !rest.trim().is_empty() => Ok(SecretString::from(rest.trim())),
        _ => Err(Usage(
            "--to (or GATEHOUSE_STORE) must be a PostgreSQL connection string: postgres://… or \
             postgres:<libpq key=value string>"
                .into(),
        )),
    }
}

/// What the command runs once its flags are read: the whole migration, its report.
pub(crate) async fn execute(
    args: &MigrateArgs,
    progress: Progress<'_>,
) -> Result<Result<Report, MigrateError>, Usage> {
    let from = source_dir(&args.from)?;
    let url = target_url(args.to.as_ref())?;
    let mut options = PgOptions::new(url.expose_secret());
    options.pool_size = POOL_SIZE;
    Ok(migrate::migrate_sled_to_postgres(&from, &options, progress).await)
}

pub(crate) fn run(args: &MigrateArgs) -> ExitCode {
    let runtime = match crate::startup::one_shot_runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let progress = |line: &str| eprintln!("{line}");
    match runtime.block_on(execute(args, &progress)) {
        Err(Usage(message)) => {
            eprintln!("gatehouse store migrate: {message}");
            ExitCode::from(2)
        }
        Ok(Err(e)) => {
            eprintln!("gatehouse store migrate: {e}");
            ExitCode::FAILURE
        }
        Ok(Ok(report)) => {
            print!("{}", report.table());
            if report.matches() {
                println!(
                    "every count matches: point the daemon at PostgreSQL (store.url or \
                     GATEHOUSE_STORE) with the same master key"
                );
                ExitCode::SUCCESS
            } else {
                eprintln!(
                    "gatehouse store migrate: the counts differ (see DIFFERS above{}); do not \
                     switch to this copy",
                    if report.warnings.is_empty() {
                        ""
                    } else {
                        " and the warnings"
                    }
                );
                ExitCode::FAILURE
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail by panicking

    use super::*;
    use gatehouse_core::model::{Tenant, TenantSettings};
    use gatehouse_core::TenantId;
    use gatehouse_store::prelude::*;
    use gatehouse_store::SledStore;

    const PASSWORD: &str = "hunter2-secret";

    #[test]
    fn from_names_a_sled_directory() {
        assert_eq!(
            source_dir("sled:/var/lib/gatehouse").unwrap(),
            PathBuf::from("/var/lib/gatehouse")
        );
        assert_eq!(source_dir("sled:var").unwrap(), PathBuf::from("var"));
        assert!(source_dir("sled:").is_err());
        assert!(source_dir("/var/lib/gatehouse").is_err());
        assert!(source_dir("postgres://x").is_err());
    }

    #[test]
    fn to_takes_a_postgres_url_or_libpq_string_and_never_repeats_it() {
        let url = format!("postgres://gatehouse:{PASSWORD}@db.internal/gatehouse");
        let given = |s: &str| Some(SecretString::from(s));
        assert_eq!(
            target_url(given(&url).as_ref()).unwrap().expose_secret(),
            url
        );
        let long = format!("postgresql://gatehouse:{PASSWORD}@db/gatehouse");
        assert_eq!(
            target_url(given(&long).as_ref()).unwrap().expose_secret(),
            long
        );
        let libpq = format!("host=/run/postgresql user=gatehouse password={PASSWORD}");
        assert_eq!(
            target_url(given(&format!("postgres:{libpq}")).as_ref())
                .unwrap()
                .expose_secret(),
            libpq
        );
        // `postgres:` and a URL: the URL.
        assert_eq!(
            target_url(given(&format!("postgres:{url}")).as_ref())
                .unwrap()
                .expose_secret(),
            url
        );
        for wrong in [
            format!("mysql://root:{PASSWORD}@db/x"),
            format!("sled:{PASSWORD}"),
            "postgres:".to_owned(),
            String::new(),
        ] {
            let Usage(message) = target_url(given(&wrong).as_ref()).unwrap_err();
            assert!(!message.contains(PASSWORD), "{message}");
        }
        assert!(target_url(None).unwrap_err().0.contains("GATEHOUSE_STORE"));
    }

    #[test]
    fn the_parsed_flags_never_show_the_password() {
        use clap::Parser;

        #[derive(Debug, clap::Parser)]
        struct Cli {
            #[command(flatten)]
            args: MigrateArgs,
        }
        let url = format!("postgres://gatehouse:{PASSWORD}@db/gatehouse");
        let cli = Cli::try_parse_from(["gatehouse", "--from", "sled:/data", "--to", &url]).unwrap();
        assert_eq!(cli.args.from, "sled:/data");
        assert_eq!(cli.args.to.as_ref().unwrap().expose_secret(), url);
        assert!(!format!("{cli:?}").contains(PASSWORD));
    }

    fn tenant(id: &str) -> Tenant {
        let at = chrono::DateTime::from_timestamp(1_772_359_200, 0).unwrap();
        Tenant {
            id: TenantId::parse(id).unwrap(),
            name: id.into(),
            settings: TenantSettings::default(),
            created_at: at,
            updated_at: at,
        }
    }

    async fn sled_with_a_tenant(dir: &std::path::Path) {
        let store = SledStore::open(dir).unwrap();
        store.create_tenant(&tenant("ten_cli")).await.unwrap();
        store.close().await.unwrap();
    }

    /// What `gatehouse store migrate --from sled:DIR --to postgres://…` runs, end to end: the
    /// flags, the embedded store's checks, the copy into a throwaway PostgreSQL and the counts;
    /// then a second run into the same database is refused.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_command_copies_a_data_dir_and_refuses_to_copy_twice() {
        let dir = tempfile::tempdir().unwrap();
        sled_with_a_tenant(dir.path()).await;
        let server = gatehouse_pgtest::TempPostgres::start().unwrap();
        let args = MigrateArgs {
            from: format!("sled:{}", dir.path().display()),
            to: Some(SecretString::from(server.uri())),
        };
        let lines = std::sync::Mutex::new(Vec::<String>::new());
        let progress = |line: &str| lines.lock().unwrap().push(line.to_owned());
        let report = execute(&args, &progress).await.unwrap().unwrap();
        assert!(report.matches(), "{}", report.table());
        assert_eq!(report.target.tenants, 1);
        let lines = lines.into_inner().unwrap();
        assert!(lines.iter().any(|l| l.contains("ten_cli")), "{lines:?}");
        assert!(
            !lines.iter().any(|l| l.contains(&server.uri())),
            "{lines:?}"
        );

        let again = execute(&args, &|_: &str| {}).await.unwrap().unwrap_err();
        assert!(
            matches!(again, MigrateError::TargetNotEmpty { what: "tenants" }),
            "{again}"
        );
        // The libpq form reaches the same database.
        let args = MigrateArgs {
            to: Some(SecretString::from(format!("postgres:{}", server.url()))),
            ..args
        };
        let again = execute(&args, &|_: &str| {}).await.unwrap().unwrap_err();
        assert!(matches!(again, MigrateError::TargetNotEmpty { .. }));
    }

    #[tokio::test]
    async fn a_directory_without_a_store_or_a_usage_error_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let args = MigrateArgs {
            from: format!("sled:{}", dir.path().join("missing").display()),
            to: Some(SecretString::from("postgres://nobody@127.0.0.1:1/none")),
        };
        let e = execute(&args, &|_: &str| {}).await.unwrap().unwrap_err();
        assert!(matches!(e, MigrateError::NoSource { .. }), "{e}");
        // Opening nothing created nothing.
        assert!(!dir.path().join("missing").exists());
        let args = MigrateArgs { to: None, ..args };
        assert!(execute(&args, &|_: &str| {}).await.is_err());
    }

    #[tokio::test]
    async fn an_unreachable_target_is_reported_without_its_password() {
        let dir = tempfile::tempdir().unwrap();
        sled_with_a_tenant(dir.path()).await;
        let args = MigrateArgs {
            from: format!("sled:{}", dir.path().display()),
            // Nothing listens on port 1.
            to: Some(SecretString::from(format!(
                "postgres://gatehouse:{PASSWORD}@127.0.0.1:1/gatehouse?connect_timeout=5"
            ))),
        };
        let e = execute(&args, &|_: &str| {}).await.unwrap().unwrap_err();
        assert!(matches!(e, MigrateError::OpenTarget(_)), "{e}");
        assert!(!e.to_string().contains(PASSWORD), "{e}");
        // The source was closed again: a second run can open it.
        gatehouse_daemon::migrate::open_sled_source(dir.path()).unwrap();
    }
}
