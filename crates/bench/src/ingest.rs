//! The push-ingest benchmark: the real daemon (release build) with an Okta integration, fed Okta
//! event-hook deliveries with unique event ids (so dedupe never short-cuts a write), beside a bare
//! axum server that parses the same JSON and answers 200.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _};
use axum::routing::post;
use axum::Router;
use gatehouse_testkit::Gatehouse;
use serde_json::{json, Value};

use crate::rate;

use crate::load::{self, BodyFn, Report};
use crate::wrk;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Seconds per scenario.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Concurrent connections.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Use the built-in Rust client even when wrk is installed.
    #[arg(long)]
    rust_client: bool,
    /// Only the single-event scenarios (the 50-event burst takes minutes to drain).
    #[arg(long)]
    single_only: bool,
    /// Events a second of the fixed-rate scenario (50-event deliveries, open loop): the
    /// latency a sender at this rate sees, rather than the queueing of a saturated closed loop.
    #[arg(long, default_value_t = 60_000)]
    rate_events: u64,
}

/// One Okta System Log event, as an event hook carries it: ordinary traffic from 100,000
/// accounts, each from its own address (the same as the wrk script). Written as text: the
/// fixed-rate scenario makes 60,000 of these a second on the cores it measures.
fn write_event(out: &mut String, n: u64, i: usize) {
    use std::fmt::Write as _;
    let account = (n * 50 + i as u64) % 100_000;
    let ip = format!(
        "10.{}.{}.{}",
        account / 65536,
        account / 256 % 256,
        account % 256
    );
    let (result, reason) = if n.is_multiple_of(7) {
        ("FAILURE", "INVALID_CREDENTIALS")
    } else {
        ("SUCCESS", "")
    };
    let _ = write!(
        out,
        r#"{{"uuid":"bench-{n:012}-{i:03}","published":"2026-11-20T10:00:00.000Z","eventType":"user.session.start","version":"0","severity":"INFO","displayMessage":"User login to Okta","actor":{{"id":"00u{account:06}","type":"User","alternateId":"user{account:06}@acme.example","displayName":"Bench User"}},"client":{{"userAgent":{{"rawUserAgent":"Mozilla/5.0 (X11; Linux x86_64) Chrome/127.0","os":"Linux","browser":"CHROME"}},"zone":"null","device":"Computer","ipAddress":"{ip}","geographicalContext":{{"city":"Dublin","state":"Leinster","country":"Ireland","postalCode":"D02","geolocation":{{"lat":53.35,"lon":-6.26}}}}}},"authenticationContext":{{"credentialType":"PASSWORD","externalSessionId":"idx{n}-{i}"}},"outcome":{{"result":"{result}","reason":"{reason}"}},"securityContext":{{"asNumber":64500,"asOrg":"bench","isp":"bench","domain":null,"isProxy":false}},"transaction":{{"type":"WEB","id":"tx{n}","detail":{{}}}},"target":[]}}"#
    );
}

pub(crate) fn delivery(n: u64, events: usize) -> Vec<u8> {
    let mut body = String::with_capacity(200 + events * 1100);
    body.push_str(&format!(
        r#"{{"eventType":"com.okta.event_hook","eventTypeVersion":"1.0","cloudEventsVersion":"0.1","contentType":"application/json","eventId":"delivery-{n}","eventTime":"2026-11-20T10:00:01.000Z","source":"https://acme.okta.com/api/v1/eventHooks/whobench","data":{{"events":["#
    ));
    for i in 0..events {
        if i > 0 {
            body.push(',');
        }
        write_event(&mut body, n, i);
    }
    body.push_str("]}}");
    body.into_bytes()
}

pub(crate) async fn bare_server() -> anyhow::Result<String> {
    let app = Router::new().route(
        "/hook",
        post(|body: axum::body::Bytes| async move {
            match serde_json::from_slice::<Value>(&body) {
                Ok(_) => axum::http::StatusCode::OK,
                Err(_) => axum::http::StatusCode::BAD_REQUEST,
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(format!("http://{addr}/hook"))
}

/// One gauge from `/metrics`.
pub(crate) async fn metric(op: &gatehouse_testkit::Api, name: &str) -> anyhow::Result<f64> {
    let reply = op.get("/metrics").await?;
    reply
        .body
        .as_str()
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse::<f64>().ok())
        .with_context(|| format!("no {} in /metrics", name.trim()))
}

/// Waits until the daemon has stored and assessed everything it acknowledged.
pub(crate) async fn drain(op: &gatehouse_testkit::Api) -> anyhow::Result<Duration> {
    let started = std::time::Instant::now();
    loop {
        let backlog = metric(op, "gatehouse_inbox_backlog_bytes ").await?;
        let queued = metric(op, "gatehouse_risk_queued_batches ").await?;
        if backlog == 0.0 && queued == 0.0 {
            return Ok(started.elapsed());
        }
        if started.elapsed() > Duration::from_secs(1800) {
            bail!("the daemon did not drain in 30 minutes (backlog {backlog} bytes, {queued} batches queued)");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn line(name: &str, events_per_request: usize, report: &Report) -> String {
    format!(
        "| {name} | {events_per_request} | {:.0} | {:.0} | {:.1} | {:.1} | {:.1} | {} |",
        report.per_second(),
        report.per_second() * events_per_request as f64,
        report.p50.as_secs_f64() * 1000.0,
        report.p99.as_secs_f64() * 1000.0,
        report.max.as_secs_f64() * 1000.0,
        report.errors,
    )
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let duration = Duration::from_secs(args.duration);
    let daemon = Gatehouse::builder()
        .start()
        .await
        .context("starting gatehouse")?;
    let op = daemon.operator()?;
    let tenant = op
        .post("/v1/tenants", &json!({"name": "Bench", "id": "ten_bench"}))
        .await?;
    if !tenant.status.is_success() {
        bail!("cannot create the tenant: {:?}", tenant.body);
    }
    let integration = op
        .post(
            "/v1/integrations",
            &json!({"type": "okta", "tenant_id": "ten_bench",
                    "credentials": {"domain": "acme.okta.com", "api_token": "bench-token"},
                    "config": {"ingest_users": false, "ingest_system_log": false}}),
        )
        .await?;
    let url = integration.str("/ingest/url");
    if url.is_empty() {
        bail!("no ingest url: {:?}", integration.body);
    }
    let gatehouse_url = format!("{}{url}", daemon.base_url);
    let bare_url = bare_server().await?;

    let use_wrk = wrk::available() && !args.rust_client;
    println!(
        "Push ingest, {} s per scenario, {} connections, loopback, load from {}.\n",
        args.duration,
        args.connections,
        if use_wrk {
            "wrk (2 threads)"
        } else {
            "the built-in Rust client"
        }
    );
    println!(
        "| target | events/request | requests/s | events/s | p50 ms | p99 ms | max ms | errors |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let scenarios = [
        ("bare axum (parse + 200)", &bare_url, 1, "bare1"),
        (
            "gatehouse POST /v1/idp/okta (durable)",
            &gatehouse_url,
            1,
            "gh1",
        ),
        ("bare axum (parse + 200)", &bare_url, 50, "bare50"),
        (
            "gatehouse POST /v1/idp/okta (durable)",
            &gatehouse_url,
            50,
            "gh50",
        ),
    ];
    let mut drains = Vec::new();
    for (name, url, events, salt) in scenarios {
        if args.single_only && events > 1 {
            continue;
        }
        let rounds_before = metric(&op, "gatehouse_inbox_commit_rounds_total ").await?;
        let report = if use_wrk {
            wrk::run(url, args.connections, duration, events, salt)?
        } else {
            let offset = salt.len() as u64 * 1_000_000_000;
            let body: BodyFn = Arc::new(move |n| delivery(n + offset, events));
            load::run(url, args.connections, duration, body).await?
        };
        println!("{}", line(name, events, &report));
        if url == &gatehouse_url {
            let rounds = metric(&op, "gatehouse_inbox_commit_rounds_total ").await? - rounds_before;
            let drained = drain(&op).await?;
            let total = report.requests as f64 * events as f64;
            drains.push(format!(
                "| {events} | {total:.0} | {:.1} | {:.1} | {:.0} | {:.1} |",
                report.elapsed.as_secs_f64(),
                drained.as_secs_f64(),
                total / (report.elapsed + drained).as_secs_f64(),
                report.requests as f64 / rounds.max(1.0),
            ));
        }
    }
    println!(
        "\nBehind the acknowledgements: time from the end of the burst until every acknowledged \
         event is stored and assessed (inbox and risk queue empty), and the sustained rate that \
         gives (events / (burst + drain)).\n"
    );
    println!("| events/request | events acknowledged | burst s | drain s | stored and assessed events/s | deliveries per fsync |");
    println!("|---|---|---|---|---|---|");
    for drain in drains {
        println!("{drain}");
    }
    if !args.single_only {
        fixed_rate(&args, &op, &bare_url, &gatehouse_url).await?;
    }
    let signins = op.get("/v1/signins?tenant_id=ten_bench&limit=1").await?;
    if signins.body["data"].as_array().is_none_or(Vec::is_empty) {
        bail!("no sign-in was stored: the benchmark measured nothing");
    }
    crate::print_peak_rss(&daemon, "push ingest");
    Ok(())
}

/// 50-event deliveries sent on a fixed schedule of `--rate-events` events a second (open loop),
/// to the bare server and to gatehouse: the acknowledgement latency at that rate.
async fn fixed_rate(
    args: &Args,
    op: &gatehouse_testkit::Api,
    bare_url: &str,
    gatehouse_url: &str,
) -> anyhow::Result<()> {
    const EVENTS: usize = 50;
    let deliveries_per_second = args.rate_events as f64 / EVENTS as f64;
    println!(
        "\nAt a fixed rate: {deliveries_per_second:.0} deliveries of {EVENTS} events a second \
         ({} events/s) for {} s, open loop over at most {} connections (built-in Rust client); \
         each latency runs from when its request was due.\n",
        args.rate_events, args.duration, args.connections
    );
    println!(
        "| target | events/request | requests/s | events/s | p50 ms | p99 ms | max ms | errors |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (name, url, salt) in [
        ("bare axum (parse + 200)", bare_url, 7_000_000_000u64),
        (
            "gatehouse POST /v1/idp/okta (durable)",
            gatehouse_url,
            8_000_000_000,
        ),
    ] {
        let body: BodyFn = Arc::new(move |n| delivery(n + salt, EVENTS));
        let report = rate::run(
            url,
            deliveries_per_second,
            args.connections,
            Duration::from_secs(args.duration),
            body,
        )
        .await?;
        println!("{}", line(name, EVENTS, &report));
        if url == gatehouse_url {
            let drained = drain(op).await?;
            println!(
                "\nEverything acknowledged at the fixed rate was stored and assessed {:.1} s after \
                 the last acknowledgement.",
                drained.as_secs_f64()
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivery_is_an_okta_event_hook_with_unique_event_ids() {
        let body: Value = serde_json::from_slice(&delivery(7, 50)).expect("valid JSON");
        assert_eq!(body["eventType"], "com.okta.event_hook");
        let events = body["data"]["events"].as_array().expect("events");
        assert_eq!(events.len(), 50);
        let ids: std::collections::HashSet<&str> =
            events.iter().filter_map(|e| e["uuid"].as_str()).collect();
        assert_eq!(ids.len(), 50);
        assert_eq!(
            events[0]["outcome"]["result"], "FAILURE",
            "every 7th delivery fails"
        );
        assert_eq!(events[3]["client"]["ipAddress"], "10.0.1.97");
        let other: Value = serde_json::from_slice(&delivery(8, 1)).expect("valid JSON");
        assert_eq!(other["data"]["events"][0]["outcome"]["result"], "SUCCESS");
    }
}
