//! `gatehouse-bench sustained`: what the daemon keeps up with, not what it acknowledges. Okta
//! event-hook deliveries go out on a fixed schedule (open loop) for a minute per rate, rising;
//! after each step the daemon's own counters say how many of the acknowledged events were stored
//! and assessed, and its histogram how long each waited from receipt to assessed. The highest
//! rate whose backlog stayed flat is the sustained rate. Attacks ride in the traffic (a brute
//! force and a password spray every few seconds) and must each become a detection. The same runs
//! again with skewed keys (one hot source address, one hot account and session).
//!
//! The reference, measured first in the same run: the same sign-ins decoded and written by the
//! sled store alone (no HTTP, no journal, no assessment), with the daemon's cache setting.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use chrono::SecondsFormat;
use gatehouse_core::model::{EventSource, SignInEvent};
use gatehouse_core::records::{PushOutcome, PushRequest};
use gatehouse_core::{Clock, IntegrationId, SystemClock, TenantId};
use gatehouse_store::{SignInStore, SledStore};
use gatehouse_testkit::idp_sim::okta::{OktaConfig, OktaSim, UserStatus};
use gatehouse_testkit::{Api, Gatehouse};
use serde_json::json;

use crate::ingest::drain;
use crate::load::BodyFn;
use crate::rate;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Events a second of each step, rising (50-event deliveries).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "2500,5000,7500,10000,15000,20000,30000"
    )]
    rates: Vec<u64>,
    /// Seconds each rate is held.
    #[arg(long, default_value_t = 60)]
    step_seconds: u64,
    /// Sign-ins of each ordinary account within a step (the step's population is sized to
    /// give this: at 20,000 events/s for 60 s and 5 each, 240,000 accounts).
    #[arg(long, default_value_t = 5)]
    signins_per_account: u64,
    /// Share of the events the hot key carries in the skewed runs.
    #[arg(long, default_value_t = 0.3)]
    hot_share: f64,
    /// Most connections the sender opens.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Sign-ins the store-alone reference writes.
    #[arg(long, default_value_t = 300_000)]
    reference_events: u64,
}

const EVENTS: usize = 50;
/// Every this many deliveries one carries an attack instead of ordinary traffic.
const ATTACK_EVERY: u64 = 1_000;
/// Failures of a brute force (the default rule fires at 10 within 5 minutes).
const BRUTE_FORCE_TRIES: usize = 12;
/// Accounts a spray tries (the default rule fires at 10 within 10 minutes).
const SPRAY_ACCOUNTS: usize = 12;

/// How the ordinary traffic's keys are spread.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Keys {
    /// Each account from its own address, a session per sign-in.
    Uniform,
    /// A share of all sign-ins from one address (a large office's NAT), many accounts.
    HotIp(f64),
    /// A share of all sign-ins by one account in one session (a service account).
    HotAccount(f64),
}

impl Keys {
    fn name(self) -> &'static str {
        match self {
            Keys::Uniform => "uniform",
            Keys::HotIp(_) => "one hot IP",
            Keys::HotAccount(_) => "one hot account and session",
        }
    }
}

/// The traffic of one step: `salt` keeps every step's event ids apart.
#[derive(Clone)]
struct Traffic {
    keys: Keys,
    accounts: u64,
    salt: u64,
    /// Provider ids of directory accounts (pulled into the inventory) the brute forces target:
    /// the rule is about accounts Gatehouse knows.
    victims: Arc<Vec<String>>,
}

/// A well-mixed account number for event `k` (Fibonacci hashing).
fn spread(k: u64, modulo: u64) -> u64 {
    (k.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 17) % modulo.max(1)
}

fn ip_of(account: u64) -> String {
    format!(
        "10.{}.{}.{}",
        account / 65_536 % 256,
        account / 256 % 256,
        account % 256
    )
}

/// One `user.session.start` event as an Okta event hook carries it.
#[allow(clippy::too_many_arguments)]
fn write_event(
    out: &mut String,
    id: &str,
    published: &str,
    account: &str,
    ip: &str,
    session: &str,
    failed: bool,
) {
    let (result, reason) = if failed {
        ("FAILURE", "INVALID_CREDENTIALS")
    } else {
        ("SUCCESS", "")
    };
    // A directory account is named by its Okta id; others get one made from their name.
    let actor = if account.starts_with("00u") {
        account.to_owned()
    } else {
        format!("00u{account}")
    };
    let _ = write!(
        out,
        r#"{{"uuid":"{id}","published":"{published}","eventType":"user.session.start","version":"0","severity":"INFO","displayMessage":"User login to Okta","actor":{{"id":"{actor}","type":"User","alternateId":"{account}@acme.example","displayName":"Bench User"}},"client":{{"userAgent":{{"rawUserAgent":"Mozilla/5.0 (X11; Linux x86_64) Chrome/127.0","os":"Linux","browser":"CHROME"}},"zone":"null","device":"Computer","ipAddress":"{ip}","geographicalContext":{{"city":"Dublin","state":"Leinster","country":"Ireland","postalCode":"D02","geolocation":{{"lat":53.35,"lon":-6.26}}}}}},"authenticationContext":{{"credentialType":"PASSWORD","externalSessionId":"{session}"}},"outcome":{{"result":"{result}","reason":"{reason}"}},"securityContext":{{"asNumber":64500,"asOrg":"bench","isp":"bench","domain":null,"isProxy":false}},"transaction":{{"type":"WEB","id":"tx{id}","detail":{{}}}},"target":[]}}"#
    );
}

impl Traffic {
    /// Delivery `n`: 50 ordinary sign-ins (one in 25 a mistyped password), or every
    /// [`ATTACK_EVERY`]th an attack: a brute force against an account of its own and a spray from
    /// an address of its own against accounts of their own, the rest ordinary.
    fn delivery(&self, n: u64) -> Vec<u8> {
        let published = SystemClock
            .now()
            .to_rfc3339_opts(SecondsFormat::Millis, true);
        let mut body = String::with_capacity(300 + EVENTS * 1_150);
        let _ = write!(
            body,
            r#"{{"eventType":"com.okta.event_hook","eventTypeVersion":"1.0","cloudEventsVersion":"0.1","contentType":"application/json","eventId":"delivery-{}-{n}","eventTime":"{published}","source":"https://acme.okta.com/api/v1/eventHooks/whobench","data":{{"events":["#,
            self.salt
        );
        let attack = n.is_multiple_of(ATTACK_EVERY).then_some(n / ATTACK_EVERY);
        for i in 0..EVENTS {
            if i > 0 {
                body.push(',');
            }
            let id = format!("s{}-{n}-{i}", self.salt);
            match attack {
                Some(a) if i < BRUTE_FORCE_TRIES => {
                    let victim = self.victim(a);
                    let ip = format!("203.0.{}.{}", self.salt % 256, a % 256);
                    write_event(&mut body, &id, &published, &victim, &ip, &id, true);
                }
                Some(a) if i < BRUTE_FORCE_TRIES + SPRAY_ACCOUNTS => {
                    let target = format!("sprayed{}x{a}x{i}", self.salt);
                    let ip = format!("198.18.{}.{}", self.salt % 256, a % 256);
                    write_event(&mut body, &id, &published, &target, &ip, &id, true);
                }
                _ => self.ordinary(&mut body, &id, &published, n * EVENTS as u64 + i as u64),
            }
        }
        body.push_str("]}}");
        body.into_bytes()
    }

    /// The account attack `a` of this step targets: a directory account of its own (the
    /// Okta actor id), or a made-up login without a directory.
    fn victim(&self, a: u64) -> String {
        match self.victims.len() as u64 {
            0 => format!("victim{}x{a}", self.salt),
            n => self.victims[((self.salt * 100 + a) % n) as usize].clone(),
        }
    }

    fn ordinary(&self, out: &mut String, id: &str, published: &str, k: u64) {
        let failed = k.is_multiple_of(25);
        // Whether this event is the hot key's: a share of events picked by a second hash.
        let hot = |share: f64| (spread(k ^ 0x5555, 10_000) as f64) < share * 10_000.0;
        match self.keys {
            Keys::HotAccount(share) if hot(share) => {
                let account = "svc-batch";
                write_event(
                    out,
                    id,
                    published,
                    account,
                    "10.250.0.1",
                    "hot-session",
                    false,
                );
            }
            keys => {
                let n = spread(k, self.accounts);
                let account = format!("user{}x{n:07}", self.salt);
                let ip = match keys {
                    Keys::HotIp(share) if hot(share) => "192.0.2.10".to_owned(),
                    _ => ip_of(n),
                };
                write_event(out, id, published, &account, &ip, id, failed);
            }
        }
    }
}

/// The daemon's counters at one moment.
#[derive(Debug, Clone, Default)]
struct Counters {
    assessed: f64,
    /// `(upper bound, cumulative count)` of `push_assessed_seconds`, `+Inf` last.
    buckets: Vec<(f64, f64)>,
}

async fn counters(op: &Api) -> anyhow::Result<Counters> {
    let reply = op.get("/metrics").await?;
    let text = reply.body.as_str().unwrap_or_default();
    let mut out = Counters::default();
    for line in text.lines() {
        if let Some(value) = line.strip_prefix("gatehouse_signins_assessed_total ") {
            out.assessed = value.trim().parse().context("signins_assessed_total")?;
        } else if let Some(rest) = line.strip_prefix("gatehouse_push_assessed_seconds_bucket{le=\"")
        {
            let (bound, value) = rest.split_once("\"} ").context("a histogram bucket")?;
            let bound = if bound == "+Inf" {
                f64::INFINITY
            } else {
                bound.parse().context("a bucket bound")?
            };
            out.buckets.push((bound, value.trim().parse()?));
        }
    }
    if out.buckets.is_empty() {
        bail!("no gatehouse_push_assessed_seconds in /metrics");
    }
    Ok(out)
}

/// The bound of the first bucket holding quantile `q` of what was counted between `before`
/// and `after` (an upper bound on that quantile).
fn quantile(before: &Counters, after: &Counters, q: f64) -> f64 {
    let deltas: Vec<(f64, f64)> = after
        .buckets
        .iter()
        .map(|(bound, count)| {
            let earlier = before
                .buckets
                .iter()
                .find(|b| b.0 == *bound)
                .map_or(0.0, |b| b.1);
            (*bound, count - earlier)
        })
        .collect();
    let total = deltas.last().map_or(0.0, |b| b.1);
    deltas
        .iter()
        .find(|(_, count)| *count >= q * total)
        .map_or(f64::INFINITY, |b| b.0)
}

fn seconds(bound: f64) -> String {
    if bound.is_infinite() {
        "> 300".to_owned()
    } else {
        format!("≤ {bound}")
    }
}

/// What one step measured.
struct Step {
    keys: Keys,
    rate: u64,
    acknowledged_per_second: f64,
    errors: u64,
    assessed_per_second: f64,
    /// Acknowledged but not yet assessed when the step's last answer came.
    backlog_events: f64,
    drain: Duration,
    p50: f64,
    p99: f64,
    ack_p99_ms: f64,
    rss_mib: u64,
}

impl Step {
    /// The backlog stayed flat: at the end it held at most a second of traffic.
    fn flat(&self) -> bool {
        self.errors == 0 && self.backlog_events <= self.rate as f64
    }
}

async fn step(
    daemon: &Gatehouse,
    op: &Api,
    url: &str,
    args: &Args,
    traffic: Traffic,
    rate_events: u64,
) -> anyhow::Result<Step> {
    let before = counters(op).await?;
    let started = Instant::now();
    let keys = traffic.keys;
    let body: BodyFn = Arc::new(move |n| traffic.delivery(n));
    let report = rate::run(
        url,
        rate_events as f64 / EVENTS as f64,
        args.connections,
        Duration::from_secs(args.step_seconds),
        body,
    )
    .await?;
    let at_end = counters(op).await?;
    let elapsed = started.elapsed().as_secs_f64();
    let rss = daemon.rss_kib().map_or(0, |kib| kib / 1024);
    let drained = drain(op).await?;
    let after = counters(op).await?;
    let acknowledged = report.requests as f64 * EVENTS as f64;
    Ok(Step {
        keys,
        rate: rate_events,
        acknowledged_per_second: acknowledged / elapsed,
        errors: report.errors,
        assessed_per_second: (at_end.assessed - before.assessed) / elapsed,
        backlog_events: (acknowledged - (at_end.assessed - before.assessed)).max(0.0),
        drain: drained,
        p50: quantile(&before, &after, 0.50),
        p99: quantile(&before, &after, 0.99),
        ack_p99_ms: report.p99.as_secs_f64() * 1000.0,
        rss_mib: rss,
    })
}

fn print_step(step: &Step) {
    println!(
        "| {} | {} | {:.0} | {} | {:.0} | {:.0} | {:.1} | {} | {} | {:.1} | {} | {} |",
        step.keys.name(),
        step.rate,
        step.acknowledged_per_second,
        step.errors,
        step.assessed_per_second,
        step.backlog_events,
        step.drain.as_secs_f64(),
        seconds(step.p50),
        seconds(step.p99),
        step.ack_p99_ms,
        step.rss_mib,
        if step.flat() { "yes" } else { "no" },
    );
}

/// The same deliveries decoded by the Okta connector and written by sled alone, in the inbox
/// consumer's batch size, synced at the end: the store's own rate for these records.
async fn store_alone(args: &Args) -> anyhow::Result<f64> {
    let dir = tempfile_dir()?;
    let store = SledStore::open(&dir).map_err(|e| anyhow::anyhow!("{e}"))?;
    let tenant = TenantId::parse("ten_ref").context("tenant id")?;
    let integration = IntegrationId::parse("int_ref").context("integration id")?;
    let traffic = Traffic {
        keys: Keys::Uniform,
        accounts: (args.reference_events / args.signins_per_account.max(1)).max(1),
        salt: 99,
        victims: Arc::new(Vec::new()),
    };
    let deliveries = args.reference_events / EVENTS as u64;
    // Decoding is the consumer's work too, but done here beforehand: the store alone is timed.
    let mut batches: Vec<Vec<SignInEvent>> = Vec::new();
    let mut batch = Vec::new();
    for n in 1..=deliveries {
        let request = PushRequest {
            method: "POST".into(),
            query: vec![],
            headers: vec![],
            content_type: Some("application/json".into()),
            body: traffic.delivery(n),
        };
        let PushOutcome::Events(events) =
            gatehouse_okta::decode_push(&request).map_err(|e| anyhow::anyhow!("{e}"))?
        else {
            bail!("the reference delivery did not decode to events");
        };
        for event in events {
            batch.push(event.into_signin(&tenant, &integration, "okta", None, EventSource::Push));
        }
        // The consumer takes up to 512 deliveries a batch; under a steady stream about 100.
        if batch.len() >= 100 * EVENTS {
            batches.push(std::mem::take(&mut batch));
        }
    }
    batches.push(batch);
    let total: usize = batches.iter().map(Vec::len).sum();
    let started = Instant::now();
    for batch in &batches {
        store
            .insert_signins(&tenant, batch, gatehouse_store::Durability::Deferred)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    store
        .commit_deferred()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let rate = total as f64 / started.elapsed().as_secs_f64();
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(rate)
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("gatehouse-bench-sled-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Detections of `kind` in the tenant, counted over every page.
async fn count_detections(op: &Api, kind: &str) -> anyhow::Result<usize> {
    let mut count = 0;
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/v1/detections?tenant_id=ten_sustained&kind={kind}&limit=1000");
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let reply = op.get(&path).await?;
        count += reply.body["data"].as_array().map_or(0, Vec::len);
        match reply.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return Ok(count),
        }
    }
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let reference = store_alone(&args).await?;
    // The org the brute forces target: its accounts are pulled into the inventory first.
    let sim = OktaSim::new(OktaConfig {
        users: DIRECTORY_USERS,
        events: 0,
        rate_limit_per_minute: 100_000_000,
        call_log_capacity: 1_000,
        ..OktaConfig::default()
    });
    let running = sim.spawn("127.0.0.1:0".parse()?)?;
    let daemon = Gatehouse::builder()
        .allow_custom_endpoints()
        .start()
        .await
        .context("starting gatehouse")?;
    let op = daemon.operator()?;
    let tenant = op
        .post(
            "/v1/tenants",
            &json!({"name": "Sustained", "id": "ten_sustained"}),
        )
        .await?;
    if !tenant.status.is_success() {
        bail!("cannot create the tenant: {:?}", tenant.body);
    }
    let integration = op
        .post(
            "/v1/integrations",
            &json!({"type": "okta", "tenant_id": "ten_sustained",
                    "credentials": {"domain": running.base_url(), "api_token": sim.config().api_token},
                    "config": {"ingest_system_log": false, "enrich": ["roles"]}}),
        )
        .await?;
    let path = integration.str("/ingest/url");
    if path.is_empty() {
        bail!("no ingest url: {:?}", integration.body);
    }
    pull_directory(&op, &integration.str("/id"), sim.user_count()).await?;
    let victims = Arc::new(sim.users_with_status(UserStatus::Active));
    let url = format!("{}{path}", daemon.base_url);
    println!(
        "Sustained push ingest: 50-event Okta event-hook deliveries on a fixed schedule (open \
         loop, at most {} connections, built-in Rust client), {} s per rate; ordinary traffic \
         from a population sized so that each account signs in {} times a step (a population \
         of its own per step, a session per sign-in, one in 25 a failure), and every {ATTACK_EVERY}th delivery a brute force ({BRUTE_FORCE_TRIES} \
         failures on one account) and a spray (one address against {SPRAY_ACCOUNTS} accounts).\n",
        args.connections, args.step_seconds, args.signins_per_account
    );
    println!(
        "Reference, same run: the same sign-ins written by the sled store alone (decoded \
         beforehand, no HTTP, journal or assessment; batches of 5,000, one sync): {reference:.0} \
         sign-ins/s.\n"
    );
    println!(
        "`stored and assessed` counts the daemon's `signins_assessed_total` over the step; \
         `backlog` is what was acknowledged and not yet assessed when the step's last answer \
         came; `p50`/`p99` are the daemon's `push_assessed_seconds` histogram (receipt to \
         assessed, bucket bounds) over the step and its drain; `ack p99` what the sender saw.\n"
    );
    println!("| keys | offered events/s | acknowledged events/s | errors | stored and assessed events/s | backlog (events) | drain s | p50 s | p99 s | ack p99 ms | RSS MiB | flat |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    let mut salt = 0;
    let mut attacks = 0;
    let mut sustained = None;
    for &rate_events in &args.rates {
        salt += 1;
        let traffic = Traffic {
            keys: Keys::Uniform,
            accounts: population(&args, rate_events),
            salt,
            victims: Arc::clone(&victims),
        };
        let result = step(&daemon, &op, &url, &args, traffic, rate_events).await?;
        attacks += expected_attacks(rate_events, args.step_seconds);
        print_step(&result);
        if !result.flat() {
            break;
        }
        sustained = Some(rate_events);
    }
    let skew_rate = sustained.unwrap_or_else(|| args.rates.first().copied().unwrap_or(1_000));
    // The target for skewed keys is half the uniform rate: a hot key that does not stay flat at
    // the full rate is tried again at half.
    let mut skewed_flat = Vec::new();
    for keys in [
        Keys::HotIp(args.hot_share),
        Keys::HotAccount(args.hot_share),
    ] {
        let mut flat_at = None;
        for rate in [skew_rate, skew_rate / 2] {
            salt += 1;
            let traffic = Traffic {
                keys,
                accounts: population(&args, rate),
                salt,
                victims: Arc::clone(&victims),
            };
            let result = step(&daemon, &op, &url, &args, traffic, rate).await?;
            attacks += expected_attacks(rate, args.step_seconds);
            print_step(&result);
            if result.flat() {
                flat_at = Some(rate);
                break;
            }
        }
        skewed_flat.push((keys.name(), flat_at));
    }
    match sustained {
        Some(rate) => println!(
            "\nHighest offered rate with a flat backlog: {rate} events/s ({:.0} % of the store \
             alone); the skewed runs above are at that rate, then at half of it if not flat \
             ({:.0} % of the events on the hot key).",
            100.0 * rate as f64 / reference,
            100.0 * args.hot_share
        ),
        None => println!(
            "\nNo offered rate kept the backlog flat; the skewed runs above are at the lowest \
             rate, then at half of it."
        ),
    }
    for (label, flat_at) in skewed_flat {
        match flat_at {
            Some(rate) => println!(
                "{label}: flat at {rate} events/s ({:.0} % of the uniform rate).",
                100.0 * rate as f64 / skew_rate as f64
            ),
            None => println!("{label}: not flat at half the uniform rate."),
        }
    }
    let brute_force = count_detections(&op, "brute_force").await?;
    let spray = count_detections(&op, "password_spray").await?;
    println!(
        "\nAttacks in the traffic: {attacks} brute forces and {attacks} sprays sent; detections \
         stored: {brute_force} brute_force, {spray} password_spray."
    );
    crate::print_peak_rss(&daemon, "sustained push ingest");
    if brute_force < attacks || spray < attacks {
        bail!("an attack in the traffic was not detected");
    }
    Ok(())
}

/// Accounts of the simulated org, pulled before the traffic starts.
const DIRECTORY_USERS: usize = 2_000;

/// Pulls the integration's directory and waits until every account is stored.
async fn pull_directory(op: &Api, id: &str, expected: usize) -> anyhow::Result<()> {
    op.post_empty(&format!("/v1/integrations/{id}/sync"))
        .await?;
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let status = op.get(&format!("/v1/integrations/{id}")).await?;
        if status.body["sync"]["counts"]["users"].as_u64() == Some(expected as u64) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the directory pull did not finish: {}", status.body["sync"]);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Accounts in a step's population: each signs in `--signins-per-account` times.
fn population(args: &Args, rate_events: u64) -> u64 {
    (rate_events * args.step_seconds / args.signins_per_account.max(1)).max(1)
}

/// Attack deliveries sent in one step (delivery numbers start at 0, which is one).
fn expected_attacks(rate_events: u64, step_seconds: u64) -> usize {
    let deliveries = (rate_events as f64 / EVENTS as f64 * step_seconds as f64).round() as u64;
    deliveries.div_ceil(ATTACK_EVERY) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn events(traffic: &Traffic, n: u64) -> Vec<Value> {
        let body: Value = serde_json::from_slice(&traffic.delivery(n)).expect("valid JSON");
        body["data"]["events"].as_array().expect("events").clone()
    }

    #[test]
    fn attack_deliveries_carry_a_brute_force_and_a_spray() {
        let traffic = Traffic {
            keys: Keys::Uniform,
            accounts: 20_000,
            salt: 1,
            victims: Arc::new(vec!["00uvictim1".to_owned()]),
        };
        let attack = events(&traffic, ATTACK_EVERY);
        assert_eq!(attack.len(), EVENTS);
        let victims: std::collections::HashSet<&str> = attack[..BRUTE_FORCE_TRIES]
            .iter()
            .filter_map(|e| e["actor"]["alternateId"].as_str())
            .collect();
        assert_eq!(victims.len(), 1);
        let sprayed = &attack[BRUTE_FORCE_TRIES..BRUTE_FORCE_TRIES + SPRAY_ACCOUNTS];
        let ips: std::collections::HashSet<&str> = sprayed
            .iter()
            .filter_map(|e| e["client"]["ipAddress"].as_str())
            .collect();
        assert_eq!(ips.len(), 1);
        assert!(sprayed.iter().all(|e| e["outcome"]["result"] == "FAILURE"));
        let ordinary = events(&traffic, ATTACK_EVERY + 1);
        let ids: std::collections::HashSet<&str> =
            ordinary.iter().filter_map(|e| e["uuid"].as_str()).collect();
        assert_eq!(ids.len(), EVENTS, "every event id is unique");
    }

    #[test]
    fn a_hot_key_carries_about_its_share() {
        let traffic = Traffic {
            keys: Keys::HotIp(0.3),
            accounts: 20_000,
            salt: 2,
            victims: Arc::new(Vec::new()),
        };
        let hot = (1..200)
            .flat_map(|n| events(&traffic, n))
            .filter(|e| e["client"]["ipAddress"] == "192.0.2.10")
            .count();
        let share = hot as f64 / (199.0 * EVENTS as f64);
        assert!((0.25..0.35).contains(&share), "{share}");
    }

    #[test]
    fn the_quantile_is_the_bound_of_the_bucket_that_reaches_it() {
        let before = Counters {
            assessed: 0.0,
            buckets: vec![(0.1, 10.0), (1.0, 10.0), (f64::INFINITY, 10.0)],
        };
        let after = Counters {
            assessed: 0.0,
            buckets: vec![(0.1, 60.0), (1.0, 109.0), (f64::INFINITY, 110.0)],
        };
        assert_eq!(quantile(&before, &after, 0.5), 0.1);
        assert_eq!(quantile(&before, &after, 0.99), 1.0);
        assert_eq!(quantile(&before, &after, 1.0), f64::INFINITY);
    }
}
