//! A throwaway PostgreSQL server for tests: `initdb` into a temporary directory, then `postgres`
//! listening only on a Unix socket there (no TCP port, so parallel tests never collide), stopped
//! and deleted on drop. Uses the machine's PostgreSQL server binaries (Debian's postgresql-15
//! package puts them in /usr/lib/postgresql/15/bin, not on PATH); nothing is installed or left
//! running. As root (CI containers), the server runs as the `postgres` user, which initdb
//! requires.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running server; dropping it stops the server and removes its files.
pub struct TempPostgres {
    child: Child,
    port: u16,
    url: String,
    socket_dir: PathBuf,
    // Kept until drop: the data directory and socket live in it.
    _dir: tempfile::TempDir,
}

/// Whether the server flushes its commits to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Durability {
    /// fsync and full-page writes off: the tests' server.
    Throwaway,
    /// PostgreSQL's defaults: the benchmark's server.
    Durable,
}

/// Why a server could not be started.
#[derive(Debug)]
pub struct StartError(pub String);

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartError {}

const SUPERUSER: &str = "gatehouse";
const DATABASE: &str = "postgres";

impl TempPostgres {
    /// Starts a fresh server; its database `postgres` is empty and the superuser is `gatehouse`
    /// (trust authentication: only this machine's users can reach the socket).
    pub fn start() -> Result<Self, StartError> {
        Self::start_with(None, Durability::Throwaway)
    }

    /// The benchmark's server (`gatehouse-bench stores`): the same as [`start`](Self::start), but
    /// with PostgreSQL's own durability left on (`fsync` and `full_page_writes` at their
    /// defaults, so a commit is flushed to disk before it returns, as sled's inbox flushes before
    /// a push is acknowledged) and `shared_buffers=128MB`, PostgreSQL's own default. A benchmark
    /// that compares stores must not compare against a server that never flushes; tests keep
    /// [`start`](Self::start).
    pub fn start_durable() -> Result<Self, StartError> {
        Self::start_with(None, Durability::Durable)
    }

    /// Also listens on 127.0.0.1 with TLS, its certificate (for `localhost` and 127.0.0.1)
    /// issued by a CA made for this server; [`TlsServer`] says where to reach it.
    pub fn start_with_tls() -> Result<(Self, TlsServer), StartError> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| StartError(format!("no free port: {e}")))?
            .port();
        let mut tls = None;
        let server = Self::start_with(Some((port, &mut tls)), Durability::Throwaway)?;
        let tls = tls.ok_or_else(|| StartError("TLS files were not written".into()))?;
        Ok((server, tls))
    }

    fn start_with(
        tcp: Option<(u16, &mut Option<TlsServer>)>,
        durability: Durability,
    ) -> Result<Self, StartError> {
        let tcp_port = tcp.as_ref().map(|(port, _)| *port);
        let bin = server_bin_dir()?;
        let dir = tempfile::Builder::new()
            .prefix("gatehouse-pg-")
            .tempdir()
            .map_err(|e| StartError(format!("temporary directory: {e}")))?;
        let run_as = RunAs::detect()?;
        // The server's user must reach its directory; the path above it is world-traversable.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777))
            .map_err(|e| StartError(format!("chmod: {e}")))?;
        let data = dir.path().join("data");
        let socket_dir = dir.path().to_path_buf();
        let mut initdb = run_as.command(&bin.join("initdb"));
        initdb.arg("-D").arg(&data).args([
            "-U",
            SUPERUSER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
        ]);
        if durability == Durability::Throwaway {
            // The cluster dies with the test: syncing its files to disk would only cost time.
            initdb.arg("--no-sync");
        }
        run_quiet(&mut initdb, "initdb")?;
        let log = dir.path().join("server.log");
        let log_file =
            std::fs::File::create(&log).map_err(|e| StartError(format!("server log: {e}")))?;
        std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o666))
            .map_err(|e| StartError(format!("chmod: {e}")))?;
        let mut postgres = run_as.command(&bin.join("postgres"));
        postgres.arg("-D").arg(&data).arg("-k").arg(&socket_dir);
        match tcp {
            None => {
                postgres.args(["-c", "listen_addresses="]);
            }
            Some((port, tls)) => {
                let files = write_tls_files(dir.path(), &run_as)?;
                postgres
                    .args(["-c", "listen_addresses=127.0.0.1", "-c", "ssl=on"])
                    .arg("-p")
                    .arg(port.to_string())
                    .arg("-c")
                    .arg(format!("ssl_cert_file={}", files.cert.display()))
                    .arg("-c")
                    .arg(format!("ssl_key_file={}", files.key.display()));
                *tls = Some(TlsServer {
                    port,
                    ca_file: files.ca,
                });
            }
        }
        match durability {
            // Throwaway data: crash safety of the test server buys nothing (the tests kill
            // gatehouse, never this server), and fsync would make every commit a disk flush.
            Durability::Throwaway => postgres
                .args(["-c", "fsync=off", "-c", "full_page_writes=off"])
                .args(["-c", "shared_buffers=32MB"]),
            Durability::Durable => postgres.args(["-c", "shared_buffers=128MB"]),
        };
        postgres
            .args(["-c", "max_connections=200"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file);
        let child = postgres
            .spawn()
            .map_err(|e| StartError(format!("postgres could not be started: {e}")))?;
        let port = tcp_port.unwrap_or(5432);
        let mut server = Self {
            child,
            port,
            url: format!(
                "host={} port={port} user={SUPERUSER} dbname={DATABASE}",
                socket_dir.display()
            ),
            socket_dir,
            _dir: dir,
        };
        server.wait_ready(&log)?;
        Ok(server)
    }

    /// A libpq-style connection string (`host=<socket dir> port=5432 user=… dbname=postgres`),
    /// which tokio-postgres and psql both accept.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The same server as a `postgresql://` URL in the form gatehouse documents for a Unix
    /// socket (`?host=<socket dir>`).
    pub fn uri(&self) -> String {
        format!(
            "postgresql://{SUPERUSER}@/{DATABASE}?host={}&port={}",
            self.socket_dir.display(),
            self.port
        )
    }

    /// Waits for the server's "ready to accept connections" line (only the server binaries are
    /// assumed installed: no pg_isready).
    fn wait_ready(&mut self, log: &Path) -> Result<(), StartError> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(StartError(format!("postgres exited ({status}): {text}")));
            }
            if text.contains("ready to accept connections")
                && self
                    .socket_dir
                    .join(format!(".s.PGSQL.{}", self.port))
                    .exists()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(StartError(format!(
                    "postgres did not accept connections in 30 s: {text}"
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Where a server started with [`TempPostgres::start_with_tls`] takes TLS connections.
pub struct TlsServer {
    pub port: u16,
    /// The PEM certificate of the CA that issued the server's certificate.
    pub ca_file: PathBuf,
}

struct TlsFiles {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

/// A CA and a server certificate for `localhost` and 127.0.0.1 it issued; the key is readable
/// only by the server's user, as PostgreSQL requires.
fn write_tls_files(dir: &Path, run_as: &RunAs) -> Result<TlsFiles, StartError> {
    let fail = |what: &str, e: &dyn std::fmt::Display| StartError(format!("TLS {what}: {e}"));
    let mut ca_params =
        rcgen::CertificateParams::new(Vec::<String>::new()).map_err(|e| fail("CA", &e))?;
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "gatehouse test CA");
    let ca_key = rcgen::KeyPair::generate().map_err(|e| fail("CA key", &e))?;
    let ca = ca_params.self_signed(&ca_key).map_err(|e| fail("CA", &e))?;
    let params =
        rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .map_err(|e| fail("server", &e))?;
    let key = rcgen::KeyPair::generate().map_err(|e| fail("server key", &e))?;
    let cert = params
        .signed_by(&key, &ca, &ca_key)
        .map_err(|e| fail("server", &e))?;
    let files = TlsFiles {
        ca: dir.join("ca.pem"),
        cert: dir.join("server.crt"),
        key: dir.join("server.key"),
    };
    let write = |path: &Path, text: String, mode: u32| -> Result<(), StartError> {
        std::fs::write(path, text).map_err(|e| fail("file", &e))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| fail("file", &e))
    };
    write(&files.ca, ca.pem(), 0o644)?;
    write(&files.cert, cert.pem(), 0o644)?;
    write(&files.key, key.serialize_pem(), 0o600)?;
    run_as.give(&files.key)?;
    Ok(files)
}

impl Drop for TempPostgres {
    fn drop(&mut self) {
        // SIGQUIT: immediate shutdown, the data is thrown away anyway.
        let _ = Command::new("kill")
            .args(["-QUIT", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where `initdb` and `postgres` are: `$GATEHOUSE_PG_BIN`, PATH, or the newest
/// /usr/lib/postgresql/<version>/bin.
fn server_bin_dir() -> Result<PathBuf, StartError> {
    if let Some(dir) = std::env::var_os("GATEHOUSE_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .find(|dir| dir.join("initdb").is_file() && dir.join("postgres").is_file());
    if let Some(dir) = on_path {
        return Ok(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).ok_or_else(|| {
        StartError(
            "no PostgreSQL server binaries (initdb, postgres) found: install Debian's \
             postgresql-15 package or set GATEHOUSE_PG_BIN"
                .into(),
        )
    })
}

/// initdb and postgres refuse to run as root; as root, they run as `postgres` (or `nobody`).
enum RunAs {
    Me,
    User(String),
}

impl RunAs {
    fn detect() -> Result<Self, StartError> {
        let uid = Command::new("id")
            .arg("-u")
            .output()
            .map_err(|e| StartError(format!("id -u: {e}")))?;
        if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
            return Ok(Self::Me);
        }
        let has_user = |name: &str| {
            Command::new("id")
                .arg(name)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        ["postgres", "nobody"]
            .into_iter()
            .find(|name| has_user(name))
            .map(|name| Self::User(name.to_string()))
            .ok_or_else(|| StartError("running as root and no postgres or nobody user".into()))
    }

    /// Makes `path` the server user's (its TLS key must be, and must not be readable by others).
    fn give(&self, path: &Path) -> Result<(), StartError> {
        let Self::User(user) = self else {
            return Ok(());
        };
        let status = Command::new("chown")
            .arg(user)
            .arg(path)
            .status()
            .map_err(|e| StartError(format!("chown: {e}")))?;
        if status.success() {
            Ok(())
        } else {
            Err(StartError(format!("chown {user} failed")))
        }
    }

    fn command(&self, program: &Path) -> Command {
        match self {
            Self::Me => Command::new(program),
            Self::User(user) => {
                let mut command = Command::new("setpriv");
                command
                    .arg(format!("--reuid={user}"))
                    .arg(format!("--regid={user}"))
                    .arg("--init-groups")
                    .arg(program);
                command
            }
        }
    }
}

fn run_quiet(command: &mut Command, what: &str) -> Result<(), StartError> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| StartError(format!("{what} could not be run: {e}")))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(StartError(format!(
            "{what} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )))
    }
}
