//! The shared HTTP client against a small local server that misbehaves on purpose.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail by panicking

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use gatehouse_connect::ratelimit::RateHeaders;

/// Rate-limit header names of the kind providers send (limit, remaining, epoch-seconds reset).
const RATE_HEADERS: RateHeaders = RateHeaders {
    limit: "x-rate-limit-limit",
    remaining: "x-rate-limit-remaining",
    reset: "x-rate-limit-reset",
};
use gatehouse_connect::{Backoff, CallError, HttpClient, RateBudget, RetryPolicy};
use gatehouse_core::{Clock, SystemClock};

fn client(max_attempts: u32) -> HttpClient {
    let policy = RetryPolicy {
        max_attempts,
        backoff: Backoff {
            base: Duration::from_millis(1),
            max: Duration::from_millis(5),
            factor: 2.0,
        },
        max_wait: Duration::from_secs(3),
    };
    HttpClient::new(
        Arc::new(SystemClock),
        Arc::new(RateBudget::new(0.5)),
        Some(RATE_HEADERS),
        policy,
        Duration::from_secs(5),
    )
    .unwrap()
}

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}")
}

/// Answers `failures` times with `status` (and `headers`), then 200.
fn flaky(failures: u32, status: StatusCode, headers: HeaderMap) -> (Router, Arc<AtomicU32>) {
    let calls = Arc::new(AtomicU32::new(0));
    let seen = Arc::clone(&calls);
    let router = Router::new().route(
        "/x",
        get(move || {
            let calls = Arc::clone(&seen);
            let headers = headers.clone();
            async move {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                if n < failures {
                    (status, headers, "{\"errorCode\":\"E0000047\"}").into_response()
                } else {
                    (StatusCode::OK, "{\"ok\":true}").into_response()
                }
            }
        }),
    );
    (router, calls)
}

#[tokio::test]
async fn retries_5xx_then_succeeds() {
    let (router, calls) = flaky(2, StatusCode::SERVICE_UNAVAILABLE, HeaderMap::new());
    let base = serve(router).await;
    let url = format!("{base}/x");
    let got = client(5).send("x", &url, |c| c.get(&url)).await.unwrap();
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(&got.body[..], b"{\"ok\":true}");
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn honours_retry_after_on_429_and_gives_up_with_rate_limited() {
    let mut headers = HeaderMap::new();
    headers.insert("retry-after", "1".parse().unwrap());
    let (router, calls) = flaky(1, StatusCode::TOO_MANY_REQUESTS, headers.clone());
    let base = serve(router).await;
    let url = format!("{base}/x");
    let started = std::time::Instant::now();
    let got = client(5).send("x", &url, |c| c.get(&url)).await.unwrap();
    assert_eq!(got.status, StatusCode::OK);
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "waited for Retry-After"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);

    headers.insert("retry-after", "0".parse().unwrap());
    let (router, _) = flaky(100, StatusCode::TOO_MANY_REQUESTS, headers);
    let base = serve(router).await;
    let url = format!("{base}/x?token=secret-value");
    let err = client(3)
        .send("x", &url, |c| c.get(&url))
        .await
        .unwrap_err();
    assert!(
        matches!(err, CallError::RateLimited { attempts: 3, .. }),
        "{err}"
    );
    assert!(
        !err.to_string().contains("secret-value"),
        "errors redact query values: {err}"
    );
}

#[tokio::test]
async fn waits_for_the_reset_header_when_429_has_no_retry_after() {
    let reset = SystemClock.now().timestamp() + 1;
    let mut headers = HeaderMap::new();
    headers.insert("x-rate-limit-limit", "10".parse().unwrap());
    headers.insert("x-rate-limit-remaining", "0".parse().unwrap());
    headers.insert("x-rate-limit-reset", reset.to_string().parse().unwrap());
    let (router, calls) = flaky(1, StatusCode::TOO_MANY_REQUESTS, headers);
    let base = serve(router).await;
    let url = format!("{base}/x");
    let got = client(4).send("x", &url, |c| c.get(&url)).await.unwrap();
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert!(
        SystemClock.now().timestamp() >= reset,
        "the retry came after the reset"
    );
}

#[tokio::test]
async fn client_errors_are_returned_not_retried() {
    let (router, calls) = flaky(100, StatusCode::UNAUTHORIZED, HeaderMap::new());
    let base = serve(router).await;
    let url = format!("{base}/x");
    let got = client(5).send("x", &url, |c| c.get(&url)).await.unwrap();
    assert_eq!(got.status, StatusCode::UNAUTHORIZED);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn not_implemented_is_returned_not_retried() {
    let (router, calls) = flaky(100, StatusCode::NOT_IMPLEMENTED, HeaderMap::new());
    let base = serve(router).await;
    let url = format!("{base}/x");
    let got = client(5).send("x", &url, |c| c.get(&url)).await.unwrap();
    assert_eq!(got.status, StatusCode::NOT_IMPLEMENTED);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn transport_failures_exhaust_into_an_error() {
    // Nothing listens on this port once the listener is dropped.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/x", listener.local_addr().unwrap());
    drop(listener);
    let err = client(2)
        .send("x", &url, |c| c.get(&url))
        .await
        .unwrap_err();
    assert!(matches!(err, CallError::Transport { .. }), "{err}");
}

#[tokio::test]
async fn bodies_that_are_not_json_are_retried_by_send_json() {
    let calls = Arc::new(AtomicU32::new(0));
    let seen = Arc::clone(&calls);
    let router = Router::new().route(
        "/x",
        get(move || {
            let calls = Arc::clone(&seen);
            async move {
                if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                    (StatusCode::OK, "[{\"id\": \"00u1\", \"prof").into_response()
                } else {
                    (StatusCode::OK, "[{\"id\": \"00u1\"}]").into_response()
                }
            }
        }),
    );
    let base = serve(router).await;
    let url = format!("{base}/x");
    let got = client(3)
        .send_json("x", &url, |c| c.get(&url))
        .await
        .unwrap();
    assert_eq!(&got.body[..], b"[{\"id\": \"00u1\"}]");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

// ------------------------------------------------------------------------------------ SSRF

/// With custom endpoints disabled the client reaches no internal address: a URL naming one is
/// refused before any request, and the target never sees a connection.
#[tokio::test]
async fn a_public_only_client_refuses_internal_address_literals() {
    let (router, calls) = flaky(0, StatusCode::OK, HeaderMap::new());
    let base = serve(router).await;
    let port = base.rsplit(':').next().unwrap().to_owned();
    let public_only = client(2).public_only(true).unwrap();
    for url in [
        format!("{base}/x"),
        format!("http://[::1]:{port}/x"),
        format!("http://127.1:{port}/x"),
        format!("http://2130706433:{port}/x"),
        format!("http://[::ffff:127.0.0.1]:{port}/x"),
        format!("http://10.0.0.1:{port}/x"),
        format!("http://172.16.0.1:{port}/x"),
        format!("http://192.168.0.1:{port}/x"),
        format!("http://169.254.169.254:{port}/latest/meta-data"),
        format!("http://[fd00::1]:{port}/x"),
        format!("http://0.0.0.0:{port}/x"),
    ] {
        let err = public_only
            .send("x", &url, |c| c.get(&url))
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .contains(gatehouse_connect::client::REFUSED_INTERNAL),
            "{url}: {err}"
        );
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "no request reached loopback"
    );
    // The same client with custom endpoints allowed reaches it (the refusal is the policy's).
    let allowed = client(2).public_only(false).unwrap();
    let url = format!("{base}/x");
    assert!(allowed.send("x", &url, |c| c.get(&url)).await.is_ok());
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

/// A DNS name that resolves to loopback is refused at resolution: `localhost`, and any name
/// this machine's resolver maps to loopback only (from /etc/hosts: the host's own name).
#[tokio::test]
async fn a_public_only_client_refuses_names_resolving_to_internal_addresses() {
    let (router, calls) = flaky(0, StatusCode::OK, HeaderMap::new());
    let base = serve(router).await;
    let port: u16 = base.rsplit(':').next().unwrap().parse().unwrap();
    let mut names = vec!["localhost".to_owned(), "LocalHost.".to_owned()];
    // Names the resolver answers with loopback only, not spelled like localhost: the resolver
    // path, not the name check. /etc/hosts usually maps the machine's own name so.
    let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    for line in hosts.lines().filter(|l| !l.trim_start().starts_with('#')) {
        let mut fields = line.split_whitespace();
        if fields
            .next()
            .and_then(|ip| ip.parse::<std::net::IpAddr>().ok())
            .is_some_and(|ip| ip.is_loopback())
        {
            names.extend(
                fields
                    .filter(|n| !n.to_ascii_lowercase().contains("localhost"))
                    .map(str::to_owned),
            );
        }
    }
    let public_only = client(1).public_only(true).unwrap();
    let allowed = client(1).public_only(false).unwrap();
    for name in &names {
        let url = format!("http://{name}:{port}/x");
        let before = calls.load(Ordering::SeqCst);
        let refused = public_only.send("x", &url, |c| c.get(&url)).await;
        assert!(refused.is_err(), "{url} was reached");
        assert_eq!(calls.load(Ordering::SeqCst), before, "{url} was reached");
        if !name.to_ascii_lowercase().starts_with("localhost") {
            // Only the resolver stood in the way: the open client does reach it.
            assert!(
                allowed.send("x", &url, |c| c.get(&url)).await.is_ok(),
                "{url}"
            );
        }
    }
}

/// Redirects are never followed: a provider host answering 302 to loopback (or anywhere) hands
/// the 302 back to the connector, and the redirect's target sees nothing.
#[tokio::test]
async fn redirects_are_not_followed_even_to_allowed_hosts() {
    let (target, target_calls) = flaky(0, StatusCode::OK, HeaderMap::new());
    let target_base = serve(target).await;
    let location = format!("{target_base}/x");
    let redirector = Router::new().route(
        "/x",
        get(move || {
            let location = location.clone();
            async move { (StatusCode::FOUND, [("location", location)], "").into_response() }
        }),
    );
    let base = serve(redirector).await;
    let url = format!("{base}/x");
    for client in [client(1), client(1).public_only(true).unwrap()] {
        // (public-only refuses the loopback redirector itself; the open one gets the 302)
        if let Ok(got) = client.send("x", &url, |c| c.get(&url)).await {
            assert_eq!(got.status, StatusCode::FOUND);
        }
    }
    assert_eq!(
        target_calls.load(Ordering::SeqCst),
        0,
        "the redirect was followed"
    );
}
