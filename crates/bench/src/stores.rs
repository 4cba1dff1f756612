//! `gatehouse-bench stores`: PostgreSQL beside sled, in one run. For each setup — sled with one
//! daemon, PostgreSQL with one daemon, PostgreSQL with two daemons (replicas) on the same
//! database with the load split across both — push ingest (Okta event-hook deliveries of 1 and
//! of 50 events, acknowledged and sustained, every acknowledged event counted in the store
//! afterwards) and SCIM (creates, then filtered lookups), with the daemons' peak RSS, the store's
//! size on disk and where the CPU went. PostgreSQL is a throwaway server with its durability on
//! ([`TempPostgres::start_durable`]): a commit is on disk before the push is acknowledged, as
//! sled's inbox journal is. The bare axum server of the ingest benchmark is the reference,
//! measured in the same run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _};
use gatehouse_testkit::pgtest::TempPostgres;
use gatehouse_testkit::{Api, Gatehouse};
use serde_json::{json, Value};

use crate::ingest::{bare_server, delivery, drain, metric};
use crate::load::{self, BodyFn, Report};
use crate::scim::{drive, lookup_target, user_body, user_filter, Stats};
use crate::wrk;

/// Every replica must seal and open credentials with the same key.
const SHARED_MASTER_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

/// Events per delivery of the two ingest scenarios.
const DELIVERY_SIZES: [usize; 2] = [1, 50];

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Setup {
    /// The embedded sled store, one daemon.
    Sled,
    /// PostgreSQL, one daemon.
    Postgres,
    /// PostgreSQL, two daemons on the same database, the load split across both.
    Postgres2,
}

impl Setup {
    fn label(self) -> &'static str {
        match self {
            Self::Sled => "sled, 1 daemon",
            Self::Postgres => "PostgreSQL, 1 daemon",
            Self::Postgres2 => "PostgreSQL, 2 daemons",
        }
    }

    fn replicas(self) -> usize {
        match self {
            Self::Sled | Self::Postgres => 1,
            Self::Postgres2 => 2,
        }
    }

    fn on_postgres(self) -> bool {
        self != Self::Sled
    }

    /// Keeps one setup's event ids apart from another's.
    fn salt(self) -> &'static str {
        match self {
            Self::Sled => "sled",
            Self::Postgres => "pg1",
            Self::Postgres2 => "pg2",
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Seconds per push-ingest burst.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Concurrent connections of the ingest bursts (split evenly across the replicas).
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// SCIM users to create.
    #[arg(long, default_value_t = 20_000)]
    users: usize,
    /// SCIM filtered lookups (`GET /Users?filter=userName eq "…"`).
    #[arg(long, default_value_t = 20_000)]
    lookups: usize,
    /// Concurrent SCIM requests (alternating between the replicas).
    #[arg(long, default_value_t = 32)]
    scim_connections: usize,
    /// Use the built-in Rust client for ingest even when wrk is installed.
    #[arg(long)]
    rust_client: bool,
    /// The setups to measure, in order.
    #[arg(long, value_enum, value_delimiter = ',',
          default_values_t = [Setup::Sled, Setup::Postgres, Setup::Postgres2])]
    setups: Vec<Setup>,
}

/// The daemons of one setup and, on PostgreSQL, their database.
struct Fleet {
    // Dropped first: the daemons go before their database.
    daemons: Vec<Gatehouse>,
    postgres: Option<Database>,
}

struct Database {
    client: tokio_postgres::Client,
    _server: TempPostgres,
}

/// The store URL in the documented form: the Unix socket directory as `?host=`.
fn store_url(libpq: &str) -> anyhow::Result<String> {
    let socket_dir = libpq
        .split_whitespace()
        .find_map(|part| part.strip_prefix("host="))
        .ok_or_else(|| anyhow!("no host= in {libpq}"))?;
    Ok(format!(
        "postgresql://gatehouse@/postgres?host={socket_dir}"
    ))
}

async fn fleet(setup: Setup) -> anyhow::Result<Fleet> {
    if !setup.on_postgres() {
        let daemon = Gatehouse::builder()
            .start()
            .await
            .context("starting gatehouse on sled")?;
        return Ok(Fleet {
            daemons: vec![daemon],
            postgres: None,
        });
    }
    let server = tokio::task::spawn_blocking(TempPostgres::start_durable)
        .await?
        .map_err(|e| anyhow!("starting PostgreSQL: {e}"))?;
    let url = store_url(server.url())?;
    let (client, connection) = tokio_postgres::connect(server.url(), tokio_postgres::NoTls)
        .await
        .context("connecting to PostgreSQL")?;
    tokio::spawn(connection);
    let mut daemons = Vec::new();
    // One after the other: the first one creates the schema.
    for _ in 0..setup.replicas() {
        let daemon = Gatehouse::builder()
            .env("GATEHOUSE_STORE", &url)
            .env("GATEHOUSE_MASTER_KEY", SHARED_MASTER_KEY)
            .start()
            .await
            .context("starting gatehouse on PostgreSQL")?;
        daemons.push(daemon);
    }
    Ok(Fleet {
        daemons,
        postgres: Some(Database {
            client,
            _server: server,
        }),
    })
}

impl Fleet {
    fn operator(&self) -> anyhow::Result<Api> {
        self.daemons[0].operator()
    }

    /// Sign-ins stored for `tenant`: counted in PostgreSQL, or through the API on sled.
    async fn stored_signins(&self, tenant: &str) -> anyhow::Result<u64> {
        if let Some(db) = &self.postgres {
            let row = db
                .client
                .query_one(
                    "SELECT count(*) FROM signins WHERE tenant_id = $1",
                    &[&tenant],
                )
                .await?;
            return Ok(u64::try_from(row.get::<_, i64>(0))?);
        }
        let op = self.operator()?;
        let mut count = 0u64;
        let mut cursor: Option<String> = None;
        loop {
            let page = match &cursor {
                Some(c) => format!("/v1/signins?tenant_id={tenant}&limit=1000&cursor={c}"),
                None => format!("/v1/signins?tenant_id={tenant}&limit=1000"),
            };
            let reply = op.get(&page).await?;
            if !reply.status.is_success() {
                bail!("GET {page} answered {}: {:?}", reply.status, reply.body);
            }
            count += reply.body["data"].as_array().map_or(0, Vec::len) as u64;
            match reply.body["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return Ok(count),
            }
        }
    }

    /// Each daemon's peak RSS and the store's size on disk (the sled directory, or
    /// `pg_database_size`).
    async fn footprint(&self) -> anyhow::Result<Footprint> {
        let rss_mib = self
            .daemons
            .iter()
            .map(|d| d.peak_rss_kib().map(|kib| kib / 1024))
            .collect();
        let store_bytes = match &self.postgres {
            Some(db) => {
                let row = db
                    .client
                    .query_one("SELECT pg_database_size(current_database())", &[])
                    .await?;
                u64::try_from(row.get::<_, i64>(0))?
            }
            None => metric(&self.operator()?, "gatehouse_store_size_bytes ").await? as u64,
        };
        Ok(Footprint {
            rss_mib,
            store_bytes,
        })
    }
}

struct Footprint {
    rss_mib: Vec<Option<u64>>,
    store_bytes: u64,
}

impl Footprint {
    fn rss(&self) -> String {
        self.rss_mib
            .iter()
            .map(|m| m.map_or_else(|| "unknown".to_owned(), |m| format!("{m} MiB")))
            .collect::<Vec<_>>()
            .join(" + ")
    }
}

/// Creates a tenant and an Okta integration in it; the push URL's path.
async fn okta_integration(op: &Api, tenant: &str) -> anyhow::Result<String> {
    let created = op
        .post("/v1/tenants", &json!({"name": tenant, "id": tenant}))
        .await?;
    if !created.status.is_success() {
        bail!("cannot create tenant {tenant}: {:?}", created.body);
    }
    let integration = op
        .post(
            "/v1/integrations",
            &json!({"type": "okta", "tenant_id": tenant,
                    "credentials": {"domain": "acme.okta.com", "api_token": "bench-token"},
                    "config": {"ingest_users": false, "ingest_system_log": false}}),
        )
        .await?;
    let path = integration.str("/ingest/url");
    if path.is_empty() {
        bail!("no ingest url: {:?}", integration.body);
    }
    Ok(path)
}

/// One closed-loop burst of `events`-event deliveries spread over `urls`.
async fn burst(
    urls: &[String],
    args: &Args,
    events: usize,
    salt: &str,
    use_wrk: bool,
) -> anyhow::Result<Report> {
    let duration = Duration::from_secs(args.duration);
    if use_wrk {
        let (urls, salt) = (urls.to_vec(), salt.to_owned());
        let connections = args.connections;
        return tokio::task::spawn_blocking(move || {
            wrk::run_split(&urls, connections, duration, events, &salt)
        })
        .await?;
    }
    // The Rust client's ids are `bench-<n>-<i>`: a setup's own range of n.
    let offset = salt.bytes().map(u64::from).sum::<u64>() * 1_000_000_000;
    let body: BodyFn = Arc::new(move |n| delivery(n + offset, events));
    load::run_split(urls, args.connections, duration, body).await
}

/// Fails loudly unless every acknowledged event is stored. More may be stored than were
/// acknowledged — deliveries in flight when the burst ended, or whose answer was lost, at most
/// `unanswered` of them — but never more than that.
fn check_stored(
    setup: &str,
    events: usize,
    report: &Report,
    stored: u64,
    connections: usize,
) -> anyhow::Result<()> {
    let acknowledged = report.requests * events as u64;
    if stored < acknowledged {
        bail!(
            "EVENTS LOST ({setup}, {events}-event deliveries): {acknowledged} events were \
             acknowledged but only {stored} are stored ({} missing)",
            acknowledged - stored
        );
    }
    let unanswered = (connections as u64 + report.errors) * events as u64;
    if stored > acknowledged + unanswered {
        bail!(
            "more events stored than sent ({setup}, {events}-event deliveries): {stored} stored, \
             {acknowledged} acknowledged, at most {unanswered} more in flight or unanswered"
        );
    }
    Ok(())
}

/// CPU time so far, in seconds, by who spent it (from /proc).
#[derive(Debug, Clone, Copy)]
struct CpuSnapshot {
    at: Instant,
    gatehouse: f64,
    postgres: f64,
    /// This process (the Rust client, the bare server) and its finished children (wrk).
    harness: f64,
    /// Every CPU of the host: busy (user, system, interrupts) and stolen by the hypervisor.
    host_busy: f64,
    host_steal: f64,
}

/// Cores kept busy over an interval (CPU seconds ÷ wall seconds).
#[derive(Debug, Clone, Copy, Default)]
struct CpuShare {
    wall: f64,
    gatehouse: f64,
    postgres: f64,
    harness: f64,
    /// Busy but none of the above: other work on the host.
    other: f64,
    steal: f64,
}

impl CpuShare {
    fn cores(seconds: f64, wall: f64) -> f64 {
        if wall > 0.0 {
            seconds / wall
        } else {
            0.0
        }
    }
}

impl CpuSnapshot {
    fn take() -> Self {
        let tick = ticks_per_second();
        let me = std::process::id();
        let (mut gatehouse, mut postgres, mut harness) = (0u64, 0u64, 0u64);
        if let Some(stat) = read_stat(me) {
            harness = stat.own + stat.children;
        }
        let processes = all_processes();
        for (pid, stat) in &processes {
            if stat.ppid != me {
                continue;
            }
            match stat.comm.as_str() {
                "gatehouse" => gatehouse += stat.own,
                "postgres" => {
                    // The postmaster, its exited children, and its live ones (backends,
                    // WAL writer, checkpointer…).
                    postgres += stat.own + stat.children;
                    postgres += processes
                        .iter()
                        .filter(|(_, child)| child.ppid == *pid)
                        .map(|(_, child)| child.own)
                        .sum::<u64>();
                }
                _ => {}
            }
        }
        let (busy, steal) = host_ticks().unwrap_or((0, 0));
        Self {
            at: Instant::now(),
            gatehouse: gatehouse as f64 / tick,
            postgres: postgres as f64 / tick,
            harness: harness as f64 / tick,
            host_busy: busy as f64 / tick,
            host_steal: steal as f64 / tick,
        }
    }

    fn since(&self, earlier: &Self) -> CpuShare {
        let wall = self.at.duration_since(earlier.at).as_secs_f64();
        let gatehouse = self.gatehouse - earlier.gatehouse;
        let postgres = self.postgres - earlier.postgres;
        let harness = self.harness - earlier.harness;
        let busy = self.host_busy - earlier.host_busy;
        let cores = |s: f64| CpuShare::cores(s, wall);
        CpuShare {
            wall,
            gatehouse: cores(gatehouse),
            postgres: cores(postgres),
            harness: cores(harness),
            other: cores((busy - gatehouse - postgres - harness).max(0.0)),
            steal: cores(self.host_steal - earlier.host_steal),
        }
    }
}

fn ticks_per_second() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// What `/proc/<pid>/stat` says of a process's CPU, in clock ticks.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ProcStat {
    comm: String,
    ppid: u32,
    /// utime + stime.
    own: u64,
    /// cutime + cstime: its children that exited and were waited for.
    children: u64,
}

fn parse_stat(text: &str) -> Option<ProcStat> {
    // The command name is in parentheses and may hold spaces and parentheses itself.
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text.get(open + 1..close)?.to_owned();
    let fields: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    // fields[0] is field 3 (state) of proc(5).
    let field = |n: usize| -> Option<u64> { fields.get(n - 3)?.parse().ok() };
    Some(ProcStat {
        comm,
        ppid: u32::try_from(field(4)?).ok()?,
        own: field(14)? + field(15)?,
        children: field(16)? + field(17)?,
    })
}

fn read_stat(pid: u32) -> Option<ProcStat> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

fn all_processes() -> Vec<(u32, ProcStat)> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            Some((pid, read_stat(pid)?))
        })
        .collect()
}

/// The host's busy and stolen clock ticks, over all CPUs (the first line of /proc/stat).
fn host_ticks() -> Option<(u64, u64)> {
    parse_host_ticks(&std::fs::read_to_string("/proc/stat").ok()?)
}

fn parse_host_ticks(text: &str) -> Option<(u64, u64)> {
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user already).
    let busy = v.first()? + v.get(1)? + v.get(2)? + v.get(5)? + v.get(6)?;
    Some((busy, v.get(7).copied().unwrap_or(0)))
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

struct IngestRow {
    setup: Setup,
    events: usize,
    report: Report,
    drain: Duration,
    stored: u64,
    burst_cpu: CpuShare,
    all_cpu: CpuShare,
}

impl IngestRow {
    fn acknowledged(&self) -> u64 {
        self.report.requests * self.events as u64
    }

    /// Events stored and assessed a second, from the start of the burst to the end of the
    /// drain.
    fn sustained(&self) -> f64 {
        self.acknowledged() as f64 / (self.report.elapsed + self.drain).as_secs_f64()
    }

    /// CPU milliseconds of gatehouse and PostgreSQL per 1,000 events, burst and drain.
    fn cpu_ms_per_thousand(&self) -> (f64, f64) {
        let per = |cores: f64| {
            cores * self.all_cpu.wall * 1000.0 / (self.acknowledged().max(1) as f64 / 1000.0)
        };
        (per(self.all_cpu.gatehouse), per(self.all_cpu.postgres))
    }
}

async fn ingest(
    args: &Args,
    setup: Setup,
    use_wrk: bool,
) -> anyhow::Result<(Vec<IngestRow>, Footprint)> {
    let fleet = fleet(setup).await?;
    let op = fleet.operator()?;
    let mut rows = Vec::new();
    for events in DELIVERY_SIZES {
        let tenant = format!("ten_stores_e{events}");
        let path = okta_integration(&op, &tenant).await?;
        let urls: Vec<String> = fleet
            .daemons
            .iter()
            .map(|d| format!("{}{path}", d.base_url))
            .collect();
        eprintln!(
            "[stores] {}: push ingest, {events}-event deliveries, {} s (load average {})",
            setup.label(),
            args.duration,
            load_average()
        );
        let salt = format!("{}e{events}", setup.salt());
        let before = CpuSnapshot::take();
        let report = burst(&urls, args, events, &salt, use_wrk).await?;
        let after_burst = CpuSnapshot::take();
        let drain_started = Instant::now();
        for daemon in &fleet.daemons {
            drain(&daemon.operator()?).await?;
        }
        let drained = drain_started.elapsed();
        let after_drain = CpuSnapshot::take();
        let stored = fleet.stored_signins(&tenant).await?;
        check_stored(setup.label(), events, &report, stored, args.connections)?;
        rows.push(IngestRow {
            setup,
            events,
            report,
            drain: drained,
            stored,
            burst_cpu: after_burst.since(&before),
            all_cpu: after_drain.since(&before),
        });
    }
    Ok((rows, fleet.footprint().await?))
}

struct ScimRow {
    setup: Setup,
    operation: &'static str,
    stats: Stats,
    cpu: CpuShare,
}

/// The SCIM rows of a setup, on PostgreSQL a note on the planner statistics, and the footprint.
async fn scim(
    args: &Args,
    setup: Setup,
) -> anyhow::Result<(Vec<ScimRow>, Option<String>, Footprint)> {
    let fleet = fleet(setup).await?;
    let op = fleet.operator()?;
    let tenant = "ten_stores_scim";
    op.post("/v1/tenants", &json!({"name": tenant, "id": tenant}))
        .await?;
    let created = op
        .post(
            "/v1/integrations",
            &json!({"type": "scim", "tenant_id": tenant}),
        )
        .await?;
    let token = created.str("/scim/token");
    if token.is_empty() {
        bail!("no SCIM token: {:?}", created.body);
    }
    let auth = format!("Bearer {token}");
    let bases: Arc<Vec<String>> = Arc::new(
        fleet
            .daemons
            .iter()
            .map(|d| format!("{}/v1/scim/v2", d.base_url))
            .collect(),
    );
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.scim_connections)
        .build()?;
    eprintln!(
        "[stores] {}: SCIM, {} creates then {} filtered lookups (load average {})",
        setup.label(),
        args.users,
        args.lookups,
        load_average()
    );
    let before = CpuSnapshot::take();
    let (h, b, a) = (http.clone(), Arc::clone(&bases), auth.clone());
    let create = drive(args.users, args.scim_connections, move |i| {
        h.post(format!("{}/Users", b[i % b.len()]))
            .header("authorization", &a)
            .header("content-type", "application/scim+json")
            .body(user_body(i))
    })
    .await?;
    let after_create = CpuSnapshot::take();
    // Every replica sees every user, whichever replica created it.
    for base in bases.iter() {
        let listed: Value = http
            .get(format!("{base}/Users"))
            .query(&[("count", "0")])
            .header("authorization", &auth)
            .send()
            .await?
            .json()
            .await?;
        if listed["totalResults"].as_u64() != Some(args.users as u64) {
            bail!(
                "{base}: {} users expected after the creates, totalResults {}",
                args.users,
                listed["totalResults"]
            );
        }
        for i in (0..args.users).step_by((args.users / 50).max(1)) {
            let found: Value = http
                .get(format!("{base}/Users"))
                .query(&[("filter", user_filter(i))])
                .header("authorization", &auth)
                .send()
                .await?
                .json()
                .await?;
            if found["totalResults"].as_u64() != Some(1) {
                bail!("{base}: user {i} not found by its userName: {found}");
            }
        }
    }
    let lookup = |offset: usize| {
        let (h, b, a, users) = (http.clone(), Arc::clone(&bases), auth.clone(), args.users);
        drive(args.lookups, args.scim_connections, move |i| {
            h.get(format!("{}/Users", b[i % b.len()]))
                .query(&[("filter", user_filter(lookup_target(i + offset, users)))])
                .header("authorization", &a)
        })
    };
    let before_lookups = CpuSnapshot::take();
    let lookups = lookup(0).await?;
    let after_lookups = CpuSnapshot::take();
    // A fresh database's tables have no planner statistics until autovacuum analyzes them
    // (it had not, in the runs so far, when the creates ended): say whether it had, then do what
    // it would do and measure again, then create more users on the analyzed tables.
    let mut note = None;
    if let Some(db) = &fleet.postgres {
        // What the planner goes by: pg_class.reltuples (-1: never analyzed or vacuumed).
        let row = db
            .client
            .query_one(
                "SELECT c.reltuples::float8, s.last_autoanalyze IS NOT NULL, \
                        (SELECT count(*) FROM scim_resources) \
                 FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid \
                 WHERE c.relname = 'scim_resources'",
                &[],
            )
            .await?;
        let (estimate, autoanalyzed, rows): (f64, bool, i64) = (row.get(0), row.get(1), row.get(2));
        note = Some(format!(
            "{}: when the first lookups ended, the planner's row count for scim_resources \
             (pg_class.reltuples) was {estimate:.0} against {rows} rows ({})",
            setup.label(),
            if autoanalyzed {
                "autovacuum had analyzed it"
            } else {
                "autovacuum had not analyzed it; -1 is never"
            }
        ));
        db.client.batch_execute("ANALYZE").await?;
    }
    let before_again = CpuSnapshot::take();
    let again = lookup(args.lookups).await?;
    let after_again = CpuSnapshot::take();
    let more = args.users / 4;
    let (h, b, a, from) = (http.clone(), Arc::clone(&bases), auth.clone(), args.users);
    let more_creates = drive(more, args.scim_connections, move |i| {
        h.post(format!("{}/Users", b[i % b.len()]))
            .header("authorization", &a)
            .header("content-type", "application/scim+json")
            .body(user_body(from + i))
    })
    .await?;
    let after_more = CpuSnapshot::take();
    let rows = vec![
        ScimRow {
            setup,
            operation: CREATE,
            stats: create,
            cpu: after_create.since(&before),
        },
        ScimRow {
            setup,
            operation: LOOKUP,
            stats: lookups,
            cpu: after_lookups.since(&before_lookups),
        },
        ScimRow {
            setup,
            operation: LOOKUP_AGAIN,
            stats: again,
            cpu: after_again.since(&before_again),
        },
        ScimRow {
            setup,
            operation: CREATE_MORE,
            stats: more_creates,
            cpu: after_more.since(&after_again),
        },
    ];
    Ok((rows, note, fleet.footprint().await?))
}

const CREATE: &str = "POST /Users (create), into an empty store";
const LOOKUP: &str = "GET /Users?filter=userName eq";
const LOOKUP_AGAIN: &str = "GET /Users?filter=userName eq, again (PostgreSQL: after ANALYZE)";
const CREATE_MORE: &str = "POST /Users (create), a quarter more (PostgreSQL: after ANALYZE)";

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// `n` with thousands separators.
fn thousands(n: f64) -> String {
    let digits = format!("{:.0}", n.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 {
        format!("{:.2}", a / b)
    } else {
        "—".into()
    }
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let use_wrk = wrk::available() && !args.rust_client;
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let client = if use_wrk {
        "wrk (2 threads in all: one wrk of 2 threads, or one of 1 thread per replica)"
    } else {
        "the built-in Rust client (in this process)"
    };

    // The reference first: the bare HTTP ceiling on this host, now.
    let bare_url = bare_server().await?;
    let mut reference = Vec::new();
    for events in DELIVERY_SIZES {
        eprintln!("[stores] bare axum reference, {events}-event deliveries");
        let report = burst(
            std::slice::from_ref(&bare_url),
            &args,
            events,
            &format!("bare{events}"),
            use_wrk,
        )
        .await?;
        reference.push((events, report));
    }

    let mut ingest_rows = Vec::new();
    let mut scim_rows = Vec::new();
    let mut scim_notes = Vec::new();
    let mut footprints = Vec::new();
    for &setup in &args.setups {
        let (rows, footprint) = ingest(&args, setup, use_wrk).await?;
        ingest_rows.extend(rows);
        footprints.push((setup, "push ingest", footprint));
        let (rows, note, footprint) = scim(&args, setup).await?;
        scim_rows.extend(rows);
        scim_notes.extend(note);
        footprints.push((setup, "SCIM", footprint));
    }

    println!(
        "PostgreSQL beside sled, one run on {cores} cores (load average at the end {}). The load \
         generator ({client}), the daemon(s) and PostgreSQL all share these {cores} cores: what \
         one takes, the others lack, and a second replica adds no CPU. PostgreSQL: a throwaway \
         server on a Unix socket, durability on (fsync, full_page_writes, synchronous_commit at \
         their defaults), shared_buffers 128MB; its data and sled's in the same temporary \
         directory tree. Every setup starts from an empty store.\n",
        load_average()
    );

    println!(
        "Push ingest: Okta event-hook deliveries, {} s closed-loop bursts over {} connections \
         (split evenly across the replicas). `events/s acknowledged` counts 200s; `drain s` is \
         the time after the burst until every daemon's inbox backlog and risk queue are empty \
         (on PostgreSQL a push is stored before its 200, so only the risk queue); `sustained` = \
         acknowledged events / (burst + drain); `stored` is the sign-ins counted in the store \
         afterwards (through the API on sled, in PostgreSQL otherwise), never fewer than \
         acknowledged.{}\n",
        args.duration,
        args.connections,
        if use_wrk {
            " With two replicas, p50/p99 are the higher of the two wrk processes' own."
        } else {
            ""
        }
    );
    println!("| setup | events/delivery | deliveries/s | events/s acknowledged | p50 ms | p99 ms | errors | drain s | sustained events/s | stored |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for (events, report) in &reference {
        println!(
            "| bare axum (parse + 200), reference | {events} | {} | {} | {} | {} | {} | — | — | — |",
            thousands(report.per_second()),
            thousands(report.per_second() * *events as f64),
            ms(report.p50),
            ms(report.p99),
            report.errors
        );
    }
    for row in &ingest_rows {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {:.1} | {} | {} |",
            row.setup.label(),
            row.events,
            thousands(row.report.per_second()),
            thousands(row.report.per_second() * row.events as f64),
            ms(row.report.p50),
            ms(row.report.p99),
            row.report.errors,
            row.drain.as_secs_f64(),
            thousands(row.sustained()),
            thousands(row.stored as f64),
        );
    }

    println!(
        "\nWhere the CPU went during the ingest bursts, in cores busy (CPU seconds / wall \
         seconds; {cores} cores in all): `other` is busy time of none of these (other work on \
         the host), `steal` what the hypervisor took. The last two columns are CPU milliseconds \
         per 1,000 events acknowledged, burst and drain together.\n"
    );
    println!("| setup | events/delivery | gatehouse | PostgreSQL | load generator | other | steal | gatehouse ms/1k events | PostgreSQL ms/1k events |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for row in &ingest_rows {
        let c = row.burst_cpu;
        let (gh, pg) = row.cpu_ms_per_thousand();
        println!(
            "| {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.0} | {:.0} |",
            row.setup.label(),
            row.events,
            c.gatehouse,
            c.postgres,
            c.harness,
            c.other,
            c.steal,
            gh,
            pg
        );
    }

    println!(
        "\nSCIM: {} users created through `POST /v1/scim/v2/Users`, then {} filtered lookups \
         `GET /v1/scim/v2/Users?filter=userName eq \"…\"`, then (on PostgreSQL after `ANALYZE`, \
         which autovacuum does in time on its own) {} more lookups and {} more creates; {} \
         concurrent (closed loop, the Rust client in this process; with two replicas the \
         requests alternate between them). Every replica was checked to list all the users \
         and find a sample by userName. CPU columns in cores busy.\n",
        args.users,
        args.lookups,
        args.lookups,
        args.users / 4,
        args.scim_connections
    );
    println!("| setup | operation | requests | requests/s | p50 ms | p99 ms | gatehouse | PostgreSQL | client | other |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for row in &scim_rows {
        println!(
            "| {} | {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
            row.setup.label(),
            row.operation,
            thousands(row.stats.count as f64),
            thousands(row.stats.per_second()),
            row.stats.percentile(0.5).as_secs_f64() * 1000.0,
            row.stats.percentile(0.99).as_secs_f64() * 1000.0,
            row.cpu.gatehouse,
            row.cpu.postgres,
            row.cpu.harness,
            row.cpu.other,
        );
    }
    for note in &scim_notes {
        println!("\n{note}.");
    }

    println!("\nMemory and disk after each phase (peak RSS of each daemon, `VmHWM`; the store on disk: sled's directory, or `pg_database_size`).\n");
    println!("| setup | phase | gatehouse peak RSS | store on disk |");
    println!("|---|---|---|---|");
    for (setup, phase, footprint) in &footprints {
        println!(
            "| {} | {phase} | {} | {:.0} MiB |",
            setup.label(),
            footprint.rss(),
            footprint.store_bytes as f64 / (1024.0 * 1024.0)
        );
    }

    print_ratios(&ingest_rows, &scim_rows);
    Ok(())
}

/// PostgreSQL against sled and two replicas against one, for each figure (when all three ran).
fn print_ratios(ingest: &[IngestRow], scim: &[ScimRow]) {
    let mut lines = Vec::new();
    let find = |setup: Setup, events: usize| {
        ingest
            .iter()
            .find(|r| r.setup == setup && r.events == events)
    };
    for events in DELIVERY_SIZES {
        let (Some(s), Some(p1), Some(p2)) = (
            find(Setup::Sled, events),
            find(Setup::Postgres, events),
            find(Setup::Postgres2, events),
        ) else {
            continue;
        };
        let acked = |r: &IngestRow| r.report.per_second() * events as f64;
        lines.push((
            format!("ingest {events}-event deliveries, events/s acknowledged"),
            acked(s),
            acked(p1),
            acked(p2),
        ));
        lines.push((
            format!("ingest {events}-event deliveries, sustained events/s"),
            s.sustained(),
            p1.sustained(),
            p2.sustained(),
        ));
    }
    for operation in [CREATE, LOOKUP, LOOKUP_AGAIN, CREATE_MORE] {
        let rate = |setup: Setup| {
            scim.iter()
                .find(|r| r.setup == setup && r.operation == operation)
                .map(|r| r.stats.per_second())
        };
        if let (Some(s), Some(p1), Some(p2)) = (
            rate(Setup::Sled),
            rate(Setup::Postgres),
            rate(Setup::Postgres2),
        ) {
            lines.push((format!("SCIM {operation}, requests/s"), s, p1, p2));
        }
    }
    if lines.is_empty() {
        return;
    }
    println!("\nAgainst the targets: PostgreSQL within 2× of sled on one node (PostgreSQL ÷ sled ≥ 0.50), and more throughput with a second replica (2 daemons ÷ 1 daemon > 1).\n");
    println!("| figure | sled | PostgreSQL, 1 daemon | PostgreSQL, 2 daemons | PostgreSQL ÷ sled | 2 daemons ÷ 1 |");
    println!("|---|---|---|---|---|---|");
    for (name, s, p1, p2) in lines {
        println!(
            "| {name} | {} | {} | {} | {} | {} |",
            thousands(s),
            thousands(p1),
            thousands(p2),
            ratio(p1, s),
            ratio(p2, p1)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(requests: u64, errors: u64) -> Report {
        Report {
            requests,
            errors,
            elapsed: Duration::from_secs(10),
            p50: Duration::ZERO,
            p99: Duration::ZERO,
            max: Duration::ZERO,
        }
    }

    #[test]
    fn a_lost_acknowledged_event_fails_the_benchmark() {
        let r = report(100, 0);
        assert!(check_stored("sled", 50, &r, 5000, 64).is_ok());
        let lost = check_stored("sled", 50, &r, 4999, 64).expect_err("one event lost");
        assert!(lost.to_string().contains("EVENTS LOST"), "{lost}");
    }

    #[test]
    fn deliveries_in_flight_at_the_end_may_be_stored_but_no_more() {
        let r = report(100, 2);
        // 64 in flight when the burst ended and 2 whose answer was an error.
        assert!(check_stored("pg", 50, &r, 5000 + 66 * 50, 64).is_ok());
        assert!(check_stored("pg", 50, &r, 5000 + 66 * 50 + 1, 64).is_err());
    }

    #[test]
    fn the_store_url_names_the_socket_directory() {
        assert_eq!(
            store_url("host=/tmp/gatehouse-pg-x port=5432 user=gatehouse dbname=postgres")
                .expect("a host"),
            "postgresql://gatehouse@/postgres?host=/tmp/gatehouse-pg-x"
        );
        assert!(store_url("port=5432").is_err());
    }

    #[test]
    fn reads_a_process_cpu_from_proc_stat() {
        let text = "4242 (postgres: walwriter) S 4200 4200 4200 0 -1 4194560 100 0 0 0 \
                    120 30 7 3 20 0 1 0 500 1000 200 18446744073709551615";
        let stat = parse_stat(text).expect("parsed");
        assert_eq!(stat.comm, "postgres: walwriter");
        assert_eq!(stat.ppid, 4200);
        assert_eq!(stat.own, 150);
        assert_eq!(stat.children, 10);
        let me = read_stat(std::process::id()).expect("this process");
        assert_eq!(me.ppid, read_stat(std::process::id()).expect("again").ppid);
    }

    #[test]
    fn reads_the_host_busy_and_stolen_ticks() {
        let text = "cpu  100 5 50 1000 20 3 2 7 0 0\ncpu0 50 2 25 500 10 1 1 3 0 0\n";
        assert_eq!(parse_host_ticks(text), Some((160, 7)));
    }

    #[test]
    fn numbers_get_thousands_separators() {
        assert_eq!(thousands(0.0), "0");
        assert_eq!(thousands(999.4), "999");
        assert_eq!(thousands(1234.0), "1,234");
        assert_eq!(thousands(12_345_678.0), "12,345,678");
    }
}
