//! The operations endpoints and request tracing: health, readiness, metrics, the OpenAPI
//! document, request ids, the error shape of unknown routes, and which routes get a request span.

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{assert_error, start};

#[tokio::test]
async fn operations_endpoints() {
    let s = start().await;
    s.tenant("ten_ops").await;
    let (status, body) = s.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    let (status, body) = s.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("ready"))
    );
    // Ready means a durable write just worked, not only that the store opened.
    assert_eq!(body["store"], "writable", "{body}");
    let resp = s
        .http
        .get(format!("{}/metrics", s.base))
        .send()
        .await
        .unwrap();
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = resp.text().await.unwrap();
    assert!(
        text.contains(
            r#"gatehouse_http_requests_total{route="/v1/tenants",method="POST",status="201"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains("gatehouse_http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(text.contains("gatehouse_store_size_bytes "), "{text}");
    // Counts of events are counters (`_total`); every engine series exists from the start.
    for series in [
        "gatehouse_risk_unassessed_signins_total 0",
        "gatehouse_inbox_commit_rounds_total ",
        r#"gatehouse_pulls_total{job="signins",outcome="failure"} 0"#,
        r#"gatehouse_provider_rate_limited_total{provider="okta"} 0"#,
        r#"gatehouse_provider_rate_limited_total{provider="other"} 0"#,
        r#"gatehouse_actions_total{action="disable_account",outcome="succeeded"} 0"#,
        r#"gatehouse_detections_total{kind="brute_force"} 0"#,
        r#"gatehouse_output_failures_total{output="webhook"} 0"#,
    ] {
        assert!(text.contains(series), "{series} missing:\n{text}");
    }
    for gauge_of_events in [
        "gatehouse_risk_unassessed_signins gauge",
        "gatehouse_inbox_commit_rounds gauge",
    ] {
        assert!(!text.contains(gauge_of_events), "{text}");
    }
    let (status, doc) = s.call(Method::GET, "/v1/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/v1/tenants",
        "/v1/tenants/{id}",
        "/v1/tenants/{id}/api-keys",
        "/v1/integrations",
        "/v1/integrations/{id}",
        "/v1/integrations/{id}/test",
        "/v1/integrations/{id}/sync",
        "/v1/integrations/{id}/ingest-token",
        "/v1/integrations/{id}/scim-token",
        "/healthz",
        "/readyz",
        "/metrics",
        "/v1/scim/v2/Users",
        "/v1/scim/v2/Groups/{id}",
        "/v1/scim/v2/Bulk",
        "/v1/scim/oauth/token",
        "/v1/policies",
        "/v1/detections",
        "/v1/actions/{id}/approve",
        "/v1/backtest",
        "/v1/users",
        "/v1/signins",
        "/v1/idp/saml/{integration_id}/acs",
        "/v1/idp/saml/{integration_id}/metadata",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} missing from the OpenAPI document"
        );
    }
    // A sign-in's typed signal is documented, with the types it is made of.
    let schemas = &doc["components"]["schemas"];
    assert!(schemas["SignInEvent"]["properties"].get("signal").is_some());
    for name in [
        "EventSignal",
        "AuthStep",
        "MfaResult",
        "PrivilegeChange",
        "Actor",
    ] {
        assert!(
            schemas.get(name).is_some(),
            "{name} missing from the OpenAPI document"
        );
    }
    // request ids: generated, or propagated from the caller
    let resp = s
        .http
        .get(format!("{}/healthz", s.base))
        .send()
        .await
        .unwrap();
    assert!(resp.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .starts_with("req_"));
    let resp = s
        .http
        .get(format!("{}/healthz", s.base))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-request-id"], "abc-123");
    // unknown routes and methods answer in the error shape
    let (status, body) = s.call(Method::GET, "/v1/nope", None, None).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, None);
    let (status, body) = s.op(Method::PUT, "/v1/tenants", None).await;
    assert_error(status, &body, StatusCode::METHOD_NOT_ALLOWED, None);
}

/// The `path` of every request span the subscriber saw enabled.
#[derive(Clone, Default)]
struct RequestSpans(Arc<std::sync::Mutex<Vec<String>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for RequestSpans {
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        _: &tracing::span::Id,
        _: tracing_subscriber::layer::Context<'_, S>,
    ) {
        struct Path(Option<String>);
        impl tracing::field::Visit for Path {
            fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
                if field.name() == "path" {
                    self.0 = Some(value.to_owned());
                }
            }
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "path" {
                    self.0 = Some(format!("{value:?}"));
                }
            }
        }
        if attrs.metadata().name() == "request" {
            let mut path = Path(None);
            attrs.record(&mut path);
            self.0.lock().unwrap().extend(path.0);
        }
    }
}

#[tokio::test]
async fn push_deliveries_get_no_request_span_at_info_level_and_other_routes_do() {
    use tracing_subscriber::layer::SubscriberExt as _;
    let spans = RequestSpans::default();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_subscriber::filter::LevelFilter::INFO)
        .with(spans.clone());
    // nextest runs each test in its own process, so the global subscriber is this test's.
    if tracing::subscriber::set_global_default(subscriber).is_err() {
        return;
    }
    let s = start().await;
    let (status, _) = s.op(Method::GET, "/v1/tenants/ten_spans", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = s
        .call(
            Method::POST,
            "/v1/idp/okta?token=nope",
            None,
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let seen = spans.0.lock().unwrap().clone();
    assert!(
        seen.iter().any(|p| p == "/v1/tenants/ten_spans"),
        "{seen:?}"
    );
    assert!(!seen.iter().any(|p| p.starts_with("/v1/idp/")), "{seen:?}");
}

/// docs/openapi.json is the document the daemon serves, so a route change that forgets to
/// regenerate it fails here rather than shipping a stale reference.
#[tokio::test]
async fn committed_openapi_document_is_the_served_one() {
    let s = start().await;
    let (status, served) = s.call(Method::GET, "/v1/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
    let committed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(
        committed == served,
        "docs/openapi.json differs from the document the daemon serves; regenerate it with \
         `make openapi` (cargo run -p gatehouse-daemon --bin gatehouse -- openapi > docs/openapi.json) \
         and commit it"
    );
    assert_eq!(
        std::fs::read_to_string(path).unwrap(),
        gatehouse_api::openapi_json(),
        "docs/openapi.json is not in `gatehouse openapi`'s form; regenerate it with `make openapi`"
    );
}

/// The series in a metrics scrape (lines that are not comments).
async fn series(s: &crate::support::Server) -> Vec<String> {
    let text = s.text("/metrics").await;
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.rsplit_once(' ').map_or(l, |(name, _)| name).to_owned())
        .collect()
}

/// Methods and paths a client makes up (`FOO1`, `FOO2`, … on `/v1/nope/1`, …) land in fixed
/// label values (`other`, `unmatched`, the route template), so the set of series stays bounded
/// however many a client sends.
#[tokio::test]
async fn made_up_methods_and_paths_do_not_grow_the_metrics() {
    let s = start().await;
    let send = |n: u64| {
        // A cheap deterministic scramble: methods and paths differ on every request.
        let x = n.wrapping_mul(6_364_136_223_846_793_005).rotate_left(17);
        let method = Method::from_bytes(format!("FOO{x:X}").as_bytes()).unwrap();
        let path = match n % 3 {
            0 => format!("/v1/nope/{x}"),
            1 => format!("/v1/tenants/ten_{x}"),
            _ => "/v1/tenants".to_owned(),
        };
        let request = s.http.request(method, format!("{}{path}", s.base));
        async move { request.send().await.unwrap().status() }
    };
    for n in 0..30 {
        send(n).await;
    }
    series(&s).await;
    let before = series(&s).await;
    for n in 30..1_030 {
        send(n).await;
    }
    let after = series(&s).await;
    assert_eq!(
        before.len(),
        after.len(),
        "series grew: {:?}",
        after
            .iter()
            .filter(|l| !before.contains(l))
            .collect::<Vec<_>>()
    );
    assert!(after.iter().all(|l| !l.contains("FOO")), "{after:?}");
    assert!(after.iter().all(|l| !l.contains("/v1/nope/")), "{after:?}");
    assert!(
        after
            .iter()
            .any(|l| l.contains(r#"route="/v1/tenants/{id}",method="other""#)),
        "{after:?}"
    );
}
