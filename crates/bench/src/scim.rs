//! The SCIM benchmark: create N users through `POST /v1/scim/v2/Users`, then, with N users in
//! the tenant, measure `GET /Users/{id}`, the filtered lookup `GET /Users?filter=userName eq "…"`
//! and `PATCH /Users/{id}`, each as requests/s and latency percentiles, on loopback; then the two
//! reads again at a low concurrency, where latency is the request's own rather than queueing.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use gatehouse_testkit::Gatehouse;
use serde_json::{json, Value};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Users to create.
    #[arg(long, default_value_t = 100_000)]
    users: usize,
    /// Concurrent requests.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Requests per read/patch scenario.
    #[arg(long, default_value_t = 20_000)]
    requests: usize,
    /// Concurrent requests of the extra read scenarios that measure latency below saturation
    /// (the client shares the daemon's cores; at `--connections` the reads are queueing).
    #[arg(long, default_value_t = 4)]
    latency_connections: usize,
}

pub(crate) struct Stats {
    pub(crate) count: usize,
    pub(crate) elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Stats {
    pub(crate) fn per_second(&self) -> f64 {
        self.count as f64 / self.elapsed.as_secs_f64()
    }

    /// The latency at quantile `q` (0.5 for the median).
    pub(crate) fn percentile(&self, q: f64) -> Duration {
        let mut l = self.latencies.clone();
        l.sort_unstable();
        l.get(((l.len().max(1) - 1) as f64 * q).round() as usize)
            .copied()
            .unwrap_or_default()
    }

    fn row(&self, name: &str, connections: usize) -> String {
        format!(
            "| {name} | {connections} | {} | {:.0} | {:.2} | {:.2} |",
            self.count,
            self.per_second(),
            self.percentile(0.5).as_secs_f64() * 1000.0,
            self.percentile(0.99).as_secs_f64() * 1000.0
        )
    }
}

/// Runs `total` requests with `connections` workers; `make(i)` builds request i.
pub(crate) async fn drive<F>(total: usize, connections: usize, make: F) -> anyhow::Result<Stats>
where
    F: Fn(usize) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let make = Arc::new(make);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..connections {
        let (make, next) = (Arc::clone(&make), Arc::clone(&next));
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return Ok::<_, anyhow::Error>(latencies);
                }
                let sent = Instant::now();
                let response = make(i).send().await?;
                let status = response.status();
                let _ = response.bytes().await?;
                if !status.is_success() {
                    bail!("request {i} answered {status}");
                }
                latencies.push(sent.elapsed());
            }
        }));
    }
    let mut latencies = Vec::with_capacity(total);
    for worker in workers {
        latencies.extend(worker.await??);
    }
    Ok(Stats {
        count: latencies.len(),
        elapsed: started.elapsed(),
        latencies,
    })
}

/// The SCIM user the benchmark creates as request `i`.
pub(crate) fn user_body(i: usize) -> String {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
           "userName": user_name(i),
           "name": {"givenName": "Bench", "familyName": format!("User{i}")},
           "emails": [{"value": user_name(i), "type": "work", "primary": true}],
           "active": true})
    .to_string()
}

pub(crate) fn user_name(i: usize) -> String {
    format!("bench.user{i}@acme.example")
}

/// The filter that finds user `i` by `userName`.
pub(crate) fn user_filter(i: usize) -> String {
    format!("userName eq \"{}\"", user_name(i))
}

/// The user the `i`th lookup asks for: every one of `users` once in `users` lookups (7919 is a
/// prime), in an order that defeats any cache of neighbours.
pub(crate) fn lookup_target(i: usize, users: usize) -> usize {
    (i * 7919) % users.max(1)
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let daemon = Gatehouse::builder()
        .start()
        .await
        .context("starting gatehouse")?;
    let op = daemon.operator()?;
    op.post(
        "/v1/tenants",
        &json!({"name": "Bench", "id": "ten_bench_scim"}),
    )
    .await?;
    let created = op
        .post(
            "/v1/integrations",
            &json!({"type": "scim", "tenant_id": "ten_bench_scim"}),
        )
        .await?;
    let token = created.str("/scim/token");
    if token.is_empty() {
        bail!("no SCIM token: {:?}", created.body);
    }
    let base = format!("{}/v1/scim/v2", daemon.base_url);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.connections)
        .build()?;
    let auth = format!("Bearer {token}");

    let (h, b, a) = (http.clone(), base.clone(), auth.clone());
    let create = drive(args.users, args.connections, move |i| {
        h.post(format!("{b}/Users"))
            .header("authorization", &a)
            .header("content-type", "application/scim+json")
            .body(user_body(i))
    })
    .await?;
    // Ids for the reads: the filtered lookup finds them, which also checks they are all there.
    let mut ids = Vec::new();
    for i in (0..args.users).step_by((args.users / 1000).max(1)) {
        let found: Value = http
            .get(format!("{base}/Users"))
            .query(&[("filter", user_filter(i))])
            .header("authorization", &auth)
            .send()
            .await?
            .json()
            .await?;
        match found["Resources"][0]["id"].as_str() {
            Some(id) => ids.push(id.to_owned()),
            None => bail!("user {i} not found after creation: {found}"),
        }
    }
    let ids = Arc::new(ids);
    let (h, b, a, n) = (http.clone(), base.clone(), auth.clone(), Arc::clone(&ids));
    let get = drive(args.requests, args.connections, move |i| {
        h.get(format!("{b}/Users/{}", n[i % n.len()]))
            .header("authorization", &a)
    })
    .await?;
    let lookup = |connections: usize| {
        let (h, b, a, users) = (http.clone(), base.clone(), auth.clone(), args.users);
        drive(args.requests, connections, move |i| {
            h.get(format!("{b}/Users"))
                .query(&[("filter", user_filter(lookup_target(i, users)))])
                .header("authorization", &a)
        })
    };
    let filtered = lookup(args.connections).await?;
    let (h, b, a, n) = (http.clone(), base.clone(), auth.clone(), Arc::clone(&ids));
    let get_calm = drive(args.requests, args.latency_connections, move |i| {
        h.get(format!("{b}/Users/{}", n[i % n.len()]))
            .header("authorization", &a)
    })
    .await?;
    let filtered_calm = lookup(args.latency_connections).await?;
    let (h, b, a, n) = (http.clone(), base.clone(), auth.clone(), Arc::clone(&ids));
    let patch = drive(args.requests, args.connections, move |i| {
        h.patch(format!("{b}/Users/{}", n[i % n.len()]))
            .header("authorization", &a)
            .header("content-type", "application/scim+json")
            .body(
                json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                       "Operations": [{"op": "replace", "path": "title", "value": format!("Title {i}")}]})
                .to_string(),
            )
    })
    .await?;
    println!(
        "SCIM, {} users in the tenant, loopback, Rust client on the same cores; \
         `concurrent` is requests in flight (closed loop).\n",
        args.users
    );
    println!("| operation | concurrent | requests | requests/s | p50 ms | p99 ms |");
    println!("|---|---|---|---|---|---|");
    let (c, calm) = (args.connections, args.latency_connections);
    println!("{}", create.row("POST /Users (create)", c));
    println!("{}", get.row("GET /Users/{id}", c));
    println!("{}", filtered.row("GET /Users?filter=userName eq", c));
    println!("{}", patch.row("PATCH /Users/{id}", c));
    println!("{}", get_calm.row("GET /Users/{id}", calm));
    println!(
        "{}",
        filtered_calm.row("GET /Users?filter=userName eq", calm)
    );
    crate::print_peak_rss(&daemon, "the SCIM scenarios");
    Ok(())
}
