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
    url: String,
    socket_dir: PathBuf,
    // Kept until drop: the data directory and socket live in it.
    _dir: tempfile::TempDir,
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
        initdb
            .arg("-D")
            .arg(&data)
            .args(["-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--locale=C"])
            // The cluster dies with the test: syncing its files to disk would only cost time.
            .arg("--no-sync");
        run_quiet(&mut initdb, "initdb")?;
        let log = dir.path().join("server.log");
        let log_file =
            std::fs::File::create(&log).map_err(|e| StartError(format!("server log: {e}")))?;
        std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o666))
            .map_err(|e| StartError(format!("chmod: {e}")))?;
        let mut postgres = run_as.command(&bin.join("postgres"));
        postgres
            .arg("-D")
            .arg(&data)
            .arg("-k")
            .arg(&socket_dir)
            .args(["-c", "listen_addresses="])
            // Throwaway data: crash safety of the test server buys nothing (the tests kill
            // gatehouse, never this server), and fsync would make every commit a disk flush.
            .args(["-c", "fsync=off", "-c", "full_page_writes=off"])
            .args(["-c", "max_connections=200", "-c", "shared_buffers=32MB"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file);
        let child = postgres
            .spawn()
            .map_err(|e| StartError(format!("postgres could not be started: {e}")))?;
        let mut server = Self {
            child,
            url: format!(
                "host={} port=5432 user={SUPERUSER} dbname={DATABASE}",
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

    /// The same server as a `postgres://` URL (the socket directory percent-encoded as the host).
    pub fn uri(&self) -> String {
        let host: String = self
            .socket_dir
            .display()
            .to_string()
            .replace('%', "%25")
            .replace('/', "%2F");
        format!("postgresql://{SUPERUSER}@{host}:5432/{DATABASE}")
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
                && self.socket_dir.join(".s.PGSQL.5432").exists()
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
