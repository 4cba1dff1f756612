//! Spawning and stopping the real `gatehouse` process.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _};

use crate::Api;

/// Where the `gatehouse` binary of this build is: `$GATEHOUSE_BIN`, or beside the test binary's
/// `deps/` folder (`target/debug/gatehouse`).
pub fn binary(name: &str) -> anyhow::Result<PathBuf> {
    let var = format!("{}_BIN", name.to_ascii_uppercase().replace('-', "_"));
    if let Ok(path) = std::env::var(&var) {
        return Ok(PathBuf::from(path));
    }
    let exe = std::env::current_exe()?;
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let path = dir.join(name);
    if path.exists() {
        Ok(path)
    } else {
        bail!(
            "{} not found; build it first (cargo build --bins) or set {var}",
            path.display()
        )
    }
}

/// Options for starting the daemon.
pub struct GatehouseBuilder {
    data_dir: Option<PathBuf>,
    env: Vec<(String, String)>,
    operator_key: Option<String>,
    wrapper: Vec<String>,
}

impl GatehouseBuilder {
    /// Reuse a data dir (to test restarts); a fresh temporary one otherwise.
    pub fn data_dir(mut self, dir: &Path) -> Self {
        self.data_dir = Some(dir.to_path_buf());
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Let integrations point at the simulators on loopback.
    pub fn allow_custom_endpoints(self) -> Self {
        self.env("GATEHOUSE_ALLOW_CUSTOM_ENDPOINTS", "true")
    }

    /// Run the binary through `wrapper` (a program and its arguments, the binary and its
    /// arguments appended), which must `exec` it so the child's pid stays the daemon's: e.g.
    /// `sh -c 'trap "" XFSZ; exec "$0" "$@"'` for the disk tests, or `nsenter` into a namespace.
    pub fn wrapper(mut self, wrapper: &[&str]) -> Self {
        self.wrapper = wrapper.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    /// Start without `GATEHOUSE_OPERATOR_KEY`, so the daemon generates and prints one.
    pub fn without_operator_key(mut self) -> Self {
        self.operator_key = None;
        self
    }

    /// Starts the daemon and waits until it serves.
    pub async fn start(self) -> anyhow::Result<Gatehouse> {
        let temp = match &self.data_dir {
            Some(_) => None,
            None => Some(tempfile::tempdir()?),
        };
        let data_dir = match (&self.data_dir, &temp) {
            (Some(dir), _) => dir.clone(),
            (None, Some(temp)) => temp.path().join("data"),
            (None, None) => bail!("no data dir"),
        };
        let log_dir = tempfile::tempdir()?;
        let log_path = log_dir.path().join("gatehouse.log");
        let mut command = match self.wrapper.split_first() {
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(binary("gatehouse")?);
                command
            }
            None => Command::new(binary("gatehouse")?),
        };
        command
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--log-format",
                "json",
                "--data-dir",
            ])
            .arg(&data_dir)
            .env_remove("GATEHOUSE_OPERATOR_KEY")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(File::create(log_dir.path().join("stdout.log"))?)
            .stderr(File::create(&log_path)?);
        if let Some(key) = &self.operator_key {
            command.env("GATEHOUSE_OPERATOR_KEY", key);
        }
        for (k, v) in &self.env {
            command.env(k, v);
        }
        let child = command.spawn().context("spawning gatehouse")?;
        let mut gatehouse = Gatehouse {
            child: Some(child),
            base_url: String::new(),
            data_dir,
            log_path,
            operator_key: self.operator_key,
            _temp: temp,
            _log_dir: log_dir,
        };
        gatehouse.base_url = gatehouse.wait_until_serving().await?;
        Ok(gatehouse)
    }
}

/// A running `gatehouse serve`.
pub struct Gatehouse {
    child: Option<Child>,
    pub base_url: String,
    pub data_dir: PathBuf,
    log_path: PathBuf,
    pub operator_key: Option<String>,
    _temp: Option<tempfile::TempDir>,
    _log_dir: tempfile::TempDir,
}

/// The operator key every test daemon gets unless told otherwise.
pub const TEST_OPERATOR_KEY: &str = "gh_op_e2e-operator-key-0123456789abcdef";

impl Gatehouse {
    pub fn builder() -> GatehouseBuilder {
        GatehouseBuilder {
            data_dir: None,
            env: Vec::new(),
            operator_key: Some(TEST_OPERATOR_KEY.to_owned()),
            wrapper: Vec::new(),
        }
    }

    /// A client authenticated with the operator key.
    pub fn operator(&self) -> anyhow::Result<Api> {
        let key = self
            .operator_key
            .clone()
            .ok_or_else(|| anyhow!("this daemon has no known operator key"))?;
        Ok(Api::new(&self.base_url, Some(key)))
    }

    /// A client with the given key (or none).
    pub fn client(&self, key: Option<&str>) -> Api {
        Api::new(&self.base_url, key.map(str::to_owned))
    }

    /// Everything the daemon logged so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    async fn wait_until_serving(&mut self) -> anyhow::Result<String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(addr) = self.logs().lines().find_map(serving_address) {
                return Ok(format!("http://{addr}"));
            }
            if let Some(child) = self.child.as_mut() {
                if let Some(status) = child.try_wait()? {
                    bail!(
                        "gatehouse exited with {status} before serving:\n{}",
                        self.logs()
                    );
                }
            }
            if Instant::now() > deadline {
                bail!("gatehouse did not start within 30 s:\n{}", self.logs());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub async fn terminate(&mut self) -> anyhow::Result<ExitStatus> {
        let pid = self.pid()?;
        let status = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()?;
        if !status.success() {
            bail!("kill -TERM {pid} failed");
        }
        self.wait(Duration::from_secs(30)).await
    }

    /// `None` while the process runs; its exit status once it has ended (reaped then, so a
    /// later call finds it not running).
    pub fn exited(&mut self) -> anyhow::Result<Option<ExitStatus>> {
        let child = self
            .child
            .as_mut()
            .ok_or_else(|| anyhow!("gatehouse is not running"))?;
        let status = child.try_wait()?;
        if status.is_some() {
            self.child = None;
        }
        Ok(status)
    }

    /// Kills the process with SIGKILL: no shutdown, no flush.
    pub async fn kill(&mut self) -> anyhow::Result<ExitStatus> {
        if let Some(child) = self.child.as_mut() {
            child.kill()?;
        }
        self.wait(Duration::from_secs(10)).await
    }

    /// The daemon's peak resident set so far (`VmHWM`), in KiB, where /proc tells it.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        self.status_kib("VmHWM:")
    }

    /// The daemon's resident set now (`VmRSS`), in KiB, where /proc tells it.
    pub fn rss_kib(&self) -> Option<u64> {
        self.status_kib("VmRSS:")
    }

    fn status_kib(&self, field: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid().ok()?)).ok()?;
        status
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// The daemon's process id (the wrapper's, which exec'd it, when there is one).
    pub fn pid(&self) -> anyhow::Result<u32> {
        self.child
            .as_ref()
            .map(Child::id)
            .ok_or_else(|| anyhow!("gatehouse is not running"))
    }

    async fn wait(&mut self, limit: Duration) -> anyhow::Result<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            let child = self
                .child
                .as_mut()
                .ok_or_else(|| anyhow!("gatehouse is not running"))?;
            if let Some(status) = child.try_wait()? {
                self.child = None;
                return Ok(status);
            }
            if Instant::now() > deadline {
                bail!("gatehouse did not exit within {limit:?}:\n{}", self.logs());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Gatehouse {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The address from the daemon's JSON "gatehouse is serving" log line.
fn serving_address(line: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    if value.get("message")?.as_str()? != "gatehouse is serving" {
        return None;
    }
    value.get("listen")?.as_str().map(str::to_owned)
}
