//! A disk that refuses writes, on the embedded (sled) store, without privileges.
//!
//! A full disk is `RLIMIT_FSIZE` lowered on the running daemon with `prlimit` (every write past
//! the limit fails with `EFBIG`, as it would with `ENOSPC`; the daemon runs with `SIGXFSZ`
//! ignored, which `sh`'s `trap ''` passes on through `exec`). Pushes meanwhile answer 503 with
//! `Retry-After` and the sender retries them. If only the inbox's journal met the full disk,
//! the same process takes them once space returns; if the store's sync met it, the daemon
//! exits 1 (a failed sync is fatal by design) and a restart, as by its supervisor, takes them.
//! A read-only data directory is a read-only bind mount in an unprivileged user and mount
//! namespace (`unshare -rm`; without one, `chmod` for a non-root user, else the test skips
//! saying so); the daemon refuses to start on it, naming the cause, and serves again once it is
//! writable. Either way every delivery acknowledged before, during or after is stored once.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gatehouse_testkit::idp_sim::okta::{OktaConfig, OktaSim, RunningSim, UserStatus};
use gatehouse_testkit::{Gatehouse, GatehouseBuilder};
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::support::{create_tenant, ready_within, stored_event_ids};

/// Runs the daemon with `SIGXFSZ` ignored: an ignored signal stays ignored across `exec`, so
/// a write past `RLIMIT_FSIZE` fails with `EFBIG` instead of killing the process. Its stderr
/// stays the log file, on the "full disk" with its data.
const IGNORE_XFSZ: [&str; 3] = ["sh", "-c", "trap '' XFSZ; exec \"$0\" \"$@\""];

/// The same, with the daemon's stderr a pipe to a `cat` that writes the log file: logs that
/// leave the host's disk (journald, a container runtime), the usual deployment. The limit is
/// set on the daemon's pid alone, so `cat` still writes.
const IGNORE_XFSZ_LOG_PIPED: [&str; 3] = [
    "sh",
    "-c",
    "trap '' XFSZ; fifo=\"$(mktemp -u)\" && mkfifo \"$fifo\" && { cat \"$fifo\" >&2 & } \
     && exec 3>\"$fifo\" && rm \"$fifo\" && exec \"$0\" \"$@\" 2>&3 3>&-",
];

/// An Okta simulator and the integration its event hook delivers to, with what was acknowledged.
struct Hooked {
    sim: OktaSim,
    _running: RunningSim,
    tenant: String,
    ingest_path: String,
    users: Vec<String>,
    http: reqwest::Client,
    /// Every event id answered 200.
    acknowledged: Vec<String>,
    /// Status → count of the answers seen while the disk refused writes.
    during_fault: BTreeMap<u16, usize>,
}

/// One delivery: its payload (retried unchanged, as Okta does) and its event ids.
struct Delivery {
    payload: Value,
    ids: Vec<String>,
}

enum Outcome {
    Acknowledged,
    /// 503 with `Retry-After`, as the daemon answers when it cannot store.
    Refused,
    Other(u16),
    Unanswered,
}

impl Hooked {
    async fn new(daemon: &Gatehouse, tenant: &str) -> anyhow::Result<Self> {
        let sim = OktaSim::new(OktaConfig {
            users: 10,
            events: 0,
            ..OktaConfig::default()
        });
        let running = sim.spawn("127.0.0.1:0".parse()?)?;
        let op = daemon.operator()?;
        create_tenant(&op, tenant).await?;
        let created = op
            .post(
                "/v1/integrations",
                &json!({"type": "okta", "tenant_id": tenant,
                "credentials": {"domain": running.base_url(), "api_token": sim.config().api_token},
                "config": {"ingest_users": false, "ingest_system_log": false}}),
            )
            .await?;
        anyhow::ensure!(created.status == StatusCode::CREATED, "{:?}", created.body);
        let users = sim.users_with_status(UserStatus::Active);
        Ok(Self {
            sim,
            _running: running,
            tenant: tenant.to_owned(),
            ingest_path: created.str("/ingest/url"),
            users,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()?,
            acknowledged: Vec::new(),
            during_fault: BTreeMap::new(),
        })
    }

    /// A delivery of 5 sign-ins.
    fn delivery(&self, n: usize) -> anyhow::Result<Delivery> {
        let user = &self.users[n % self.users.len()];
        let events: Vec<Value> = (0..5)
            .filter_map(|_| {
                self.sim
                    .make_event(user, "user.session.start", "SUCCESS", None)
            })
            .collect();
        anyhow::ensure!(events.len() == 5, "the simulator made no event");
        let ids = events
            .iter()
            .filter_map(|e| e["uuid"].as_str().map(str::to_owned))
            .collect();
        Ok(Delivery {
            payload: self.sim.event_hook_payload(events),
            ids,
        })
    }

    /// Posts `delivery` once; its ids count as acknowledged on a 200.
    async fn post(&mut self, daemon: &Gatehouse, delivery: &Delivery) -> Outcome {
        let url = format!("{}{}", daemon.base_url, self.ingest_path);
        match self.http.post(url).json(&delivery.payload).send().await {
            Ok(reply) if reply.status() == StatusCode::OK => {
                self.acknowledged.extend(delivery.ids.iter().cloned());
                Outcome::Acknowledged
            }
            Ok(reply)
                if reply.status() == StatusCode::SERVICE_UNAVAILABLE
                    && reply.headers().contains_key(reqwest::header::RETRY_AFTER) =>
            {
                Outcome::Refused
            }
            Ok(reply) => Outcome::Other(reply.status().as_u16()),
            Err(_) => Outcome::Unanswered,
        }
    }

    /// Delivers `count` deliveries while the disk works: each must be acknowledged at once.
    async fn deliver_healthy(&mut self, daemon: &Gatehouse, count: usize) -> anyhow::Result<()> {
        for n in 0..count {
            let delivery = self.delivery(n)?;
            match self.post(daemon, &delivery).await {
                Outcome::Acknowledged => {}
                Outcome::Refused => anyhow::bail!("a delivery was refused on a healthy disk"),
                Outcome::Other(status) => anyhow::bail!("a delivery answered {status}"),
                Outcome::Unanswered => anyhow::bail!("a delivery went unanswered"),
            }
        }
        Ok(())
    }

    /// Every acknowledged event is stored, each exactly once.
    async fn check_stored(&self, daemon: &Gatehouse) -> anyhow::Result<()> {
        let op = daemon.operator()?;
        let stored = stored_event_ids(&op, &self.tenant).await?;
        let lost: Vec<&String> = self
            .acknowledged
            .iter()
            .filter(|id| !stored.contains_key(*id))
            .collect();
        anyhow::ensure!(
            lost.is_empty(),
            "{} of {} acknowledged events lost: {lost:?}",
            lost.len(),
            self.acknowledged.len()
        );
        let twice: Vec<(&String, &usize)> = stored.iter().filter(|(_, n)| **n > 1).collect();
        anyhow::ensure!(twice.is_empty(), "events stored twice: {twice:?}");
        Ok(())
    }
}

fn has_program(name: &str) -> bool {
    Command::new(name)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Sets the daemon's soft `RLIMIT_FSIZE` (`None`: unlimited) with util-linux's `prlimit`, which
/// any user may do to a process of their own up to its hard limit (left unchanged).
fn set_file_size_limit(pid: u32, bytes: Option<u64>) -> anyhow::Result<()> {
    let soft = bytes.map_or_else(|| "unlimited".to_owned(), |b| b.to_string());
    let status = Command::new("prlimit")
        .arg("--pid")
        .arg(pid.to_string())
        .arg(format!("--fsize={soft}:"))
        .status()?;
    anyhow::ensure!(
        status.success(),
        "prlimit --pid {pid} --fsize={soft}: failed"
    );
    Ok(())
}

fn daemon_on(data_dir: &Path, wrapper: &[&str]) -> GatehouseBuilder {
    Gatehouse::builder()
        .allow_custom_endpoints()
        .data_dir(data_dir)
        .wrapper(wrapper)
}

#[tokio::test]
async fn a_full_disk_refuses_pushes_with_503_loses_nothing_and_recovers() -> anyhow::Result<()> {
    full_disk(&IGNORE_XFSZ_LOG_PIPED, "ten_disk_full", Store::Busy).await
}

/// The disk fills while the store has nothing to flush: only the inbox's journal meets it, and
/// a failed journal `write` is not fatal (its round is refused and the file cut back), so the
/// same process answers 503 and then, with space back, takes deliveries again unrestarted.
#[tokio::test]
async fn a_full_disk_under_an_idle_store_recovers_without_a_restart() -> anyhow::Result<()> {
    full_disk(&IGNORE_XFSZ_LOG_PIPED, "ten_disk_full_idle", Store::Idle).await
}

/// The same with the log file on the full disk too. Every event the daemon logged used to
/// panic the task that logged it (tracing-subscriber 0.3.23's fmt layer reports its failed
/// write with `eprintln!` to the same stderr, and `eprintln!` panics when it cannot write):
/// pushes got no answer at all, `/readyz` timed out, and the daemon neither answered 503 nor
/// exited. `init_logging` now drops unwritable log lines silently and `run` ends with a write
/// whose error is ignored, so the daemon answers 503 and exits for its supervisor.
#[tokio::test]
async fn a_full_disk_holding_the_log_file_still_answers_503() -> anyhow::Result<()> {
    full_disk(&IGNORE_XFSZ, "ten_disk_full_log", Store::Busy).await
}

/// Whether the store still has writes to flush when the disk fills.
#[derive(PartialEq, Eq)]
enum Store {
    /// Right after acknowledged pushes: the inbox consumer's sync meets the full disk, which is
    /// fatal (docs/DURABILITY.md): the daemon exits 1 and its supervisor (the test) restarts it.
    Busy,
    /// Everything synced first, and no readiness probe (a write) during the fault.
    Idle,
}

async fn full_disk(wrapper: &[&str], tenant: &str, store: Store) -> anyhow::Result<()> {
    if !has_program("prlimit") {
        eprintln!("SKIPPED: util-linux prlimit is not installed; the full-disk test needs it");
        return Ok(());
    }
    let started = Instant::now();
    let temp = tempfile::tempdir()?;
    let data_dir = temp.path().join("data");
    let mut daemon = daemon_on(&data_dir, wrapper).start().await?;
    let mut hook = Hooked::new(&daemon, tenant).await?;
    hook.deliver_healthy(&daemon, 10).await?;
    if store == Store::Idle {
        // The consumer stores and syncs what the inbox acknowledged within a second.
        tokio::time::sleep(Duration::from_secs(3)).await;
    }

    // The disk fills: no write may reach past the first byte of any file.
    set_file_size_limit(daemon.pid()?, Some(1))?;
    let mut pending = Vec::new();
    let fault_until = Instant::now() + Duration::from_secs(4);
    let mut n = 100;
    let mut exit = None;
    while Instant::now() < fault_until {
        let delivery = hook.delivery(n)?;
        n += 1;
        let status = match hook.post(&daemon, &delivery).await {
            Outcome::Acknowledged => 200,
            Outcome::Refused => 503,
            Outcome::Other(status) => status,
            Outcome::Unanswered => 0,
        };
        *hook.during_fault.entry(status).or_insert(0) += 1;
        if status != 200 {
            pending.push(delivery);
        }
        if exit.is_none() {
            exit = daemon.exited()?;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if exit.is_none() && store == Store::Busy {
        // A readiness probe is a write too: the failing disk must show there.
        let ready = reqwest::get(format!("{}/readyz", daemon.base_url)).await;
        if let Ok(ready) = ready {
            let status = ready.status();
            let body = ready.text().await.unwrap_or_default();
            eprintln!("/readyz on the full disk: {status} {body}");
            assert_ne!(status, StatusCode::OK, "ready on a full disk: {body}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        exit = daemon.exited()?;
    }
    let answers = hook.during_fault.clone();
    eprintln!("answers while the disk was full (0 = no answer): {answers:?}; exit {exit:?}");
    assert!(
        answers.keys().all(|s| [0, 503].contains(s)),
        "only 503 with Retry-After (or no answer once stopped) on a full disk: {answers:?}"
    );
    assert!(
        answers.get(&503).is_some_and(|n| *n > 0),
        "ingest answered 503 while the disk was full: {answers:?}"
    );

    // Space returns. A daemon that stopped on its failed sync (its documented way out) is
    // restarted, as its supervisor would; one still running must recover by itself.
    if store == Store::Idle {
        assert!(
            exit.is_none(),
            "a failed journal write alone stopped the daemon:\n{}",
            daemon.logs()
        );
    }
    let restarted = match exit {
        Some(status) => {
            assert_eq!(
                status.code(),
                Some(1),
                "a durability failure exits with status 1:\n{}",
                daemon.logs()
            );
            daemon = daemon_on(&data_dir, wrapper).start().await?;
            true
        }
        None => {
            set_file_size_limit(daemon.pid()?, None)?;
            false
        }
    };
    // The sender retries everything refused until it is acknowledged.
    let deadline = Instant::now() + Duration::from_secs(30);
    for delivery in &pending {
        loop {
            anyhow::ensure!(
                Instant::now() < deadline,
                "deliveries still refused after the disk recovered (restarted: {restarted}):\n{}",
                daemon.logs()
            );
            if let Outcome::Acknowledged = hook.post(&daemon, delivery).await {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    hook.deliver_healthy(&daemon, 5).await?;
    ready_within(&daemon.base_url, Duration::from_secs(10)).await?;
    hook.check_stored(&daemon).await?;
    // And after a restart, from what is on disk alone.
    daemon.kill().await?;
    let daemon = daemon_on(&data_dir, wrapper).start().await?;
    hook.check_stored(&daemon).await?;
    eprintln!(
        "full disk: {} events acknowledged, {} deliveries refused and retried, restarted by the test: {restarted}; {:?}",
        hook.acknowledged.len(),
        pending.len(),
        started.elapsed()
    );
    Ok(())
}

/// A process holding an unprivileged user and mount namespace in which `dir` is a read-only
/// bind mount; the daemon joins it through `nsenter`. Killing the holder ends the namespace,
/// and with it the read-only view: the directory is writable again.
struct ReadOnlyNamespace {
    holder: Child,
}

impl ReadOnlyNamespace {
    /// `None` when this machine allows no unprivileged user namespace (or lacks the tools).
    fn enter(dir: &Path) -> Option<Self> {
        let script = "mount --bind \"$0\" \"$0\" && mount -o remount,bind,ro \"$0\" && echo ready && exec sleep 300";
        let mut holder = Command::new("unshare")
            .args(["-rm", "sh", "-c", script])
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let mut line = String::new();
        let stdout = holder.stdout.take()?;
        let ready = BufReader::new(stdout).read_line(&mut line).is_ok() && line.trim() == "ready";
        if !ready {
            let _ = holder.kill();
            let _ = holder.wait();
            return None;
        }
        Some(Self { holder })
    }

    fn wrapper(&self) -> Vec<String> {
        [
            "nsenter",
            "-t",
            &self.holder.id().to_string(),
            "-U",
            "-m",
            "--preserve-credentials",
            "--",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
    }
}

impl Drop for ReadOnlyNamespace {
    fn drop(&mut self) {
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}

/// Makes every file and directory under `dir` read-only (`writable: false`) or writable again.
fn chmod_tree(dir: &Path, writable: bool) -> anyhow::Result<()> {
    let mode = if writable { "u+w" } else { "a-w" };
    let status = Command::new("chmod").args(["-R", mode]).arg(dir).status()?;
    anyhow::ensure!(status.success(), "chmod -R {mode} {} failed", dir.display());
    Ok(())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

#[tokio::test]
async fn a_read_only_data_dir_is_refused_at_start_and_loses_nothing() -> anyhow::Result<()> {
    let started = Instant::now();
    let temp = tempfile::tempdir()?;
    let data_dir: PathBuf = temp.path().join("data");
    let mut daemon = Gatehouse::builder()
        .allow_custom_endpoints()
        .data_dir(&data_dir)
        .start()
        .await?;
    let mut hook = Hooked::new(&daemon, "ten_disk_ro").await?;
    hook.deliver_healthy(&daemon, 10).await?;
    // A crash, and the volume comes back read-only (a filesystem remounted read-only on an
    // error, a volume mounted `ro` by mistake).
    daemon.kill().await?;
    let namespace = ReadOnlyNamespace::enter(&data_dir);
    let how = match &namespace {
        Some(_) => "a read-only bind mount in a user namespace",
        None if !is_root() => {
            chmod_tree(&data_dir, false)?;
            "chmod a-w"
        }
        None => {
            eprintln!(
                "SKIPPED: no unprivileged user namespace here (unshare -rm failed), and as root \
                 chmod does not make a directory read-only"
            );
            return Ok(());
        }
    };
    let mut builder = Gatehouse::builder()
        .allow_custom_endpoints()
        .data_dir(&data_dir);
    if let Some(namespace) = &namespace {
        let wrapper = namespace.wrapper();
        let wrapper: Vec<&str> = wrapper.iter().map(String::as_str).collect();
        builder = builder.wrapper(&wrapper);
    }
    // The daemon must not serve on a store it cannot write: it stops with status 1 and says
    // why (a supervisor restarting it keeps failing, visibly, until the disk is writable).
    let refused = builder.start().await;
    let error = match refused {
        Ok(running) => {
            // Serving anyway would have to refuse every push and be unready; it does not do
            // that today, so any serving daemon here is a failure.
            let ready = reqwest::get(format!("{}/readyz", running.base_url)).await;
            anyhow::bail!("the daemon served on a read-only data dir ({how}): {ready:?}");
        }
        Err(error) => error.to_string(),
    };
    assert!(
        error.contains("exit status: 1") && error.contains("cannot open the store"),
        "{error}"
    );
    assert!(
        error.contains("Read-only file system") || error.contains("Permission denied"),
        "the cause is named: {error}"
    );
    // Writable again: the next start serves, with everything acknowledged before.
    drop(namespace);
    if how == "chmod a-w" {
        chmod_tree(&data_dir, true)?;
    }
    let daemon = Gatehouse::builder()
        .allow_custom_endpoints()
        .data_dir(&data_dir)
        .start()
        .await?;
    ready_within(&daemon.base_url, Duration::from_secs(10)).await?;
    hook.check_stored(&daemon).await?;
    hook.deliver_healthy(&daemon, 5).await?;
    hook.check_stored(&daemon).await?;
    eprintln!(
        "read-only data dir ({how}): refused at start; {} events acknowledged, all kept; {:?}",
        hook.acknowledged.len(),
        started.elapsed()
    );
    Ok(())
}
