//! The Okta side of event hooks: the one-time verification GET carrying
//! `x-okta-verification-challenge`, and event delivery POSTs in Okta's
//! envelope. Both use Okta's policy: 3 s timeout, at most one retry, retried
//! on timeout, transport errors and 5xx, never on 4xx. A failed delivery is
//! also written to the System Log as `event_hook.delivery`, as Okta does.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::clock::fmt_ts;
use super::data::HOME_PLACES;
use super::errors::random_base62;
use super::events::{Origin, Parts, Who};
use super::OktaSim;

/// One HTTP attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct HookAttempt {
    /// Status answered, if an answer arrived in time.
    pub status: Option<u16>,
    /// Transport error or timeout, if any.
    pub error: Option<String>,
    pub timed_out: bool,
    pub elapsed: Duration,
}

/// What happened during verification.
#[derive(Debug, Clone, PartialEq)]
pub struct HookVerification {
    /// The challenge sent.
    pub challenge: String,
    /// The `verification` value the endpoint answered, if any.
    pub answer: Option<String>,
    /// True when the endpoint echoed the challenge with a 2xx.
    pub verified: bool,
    pub attempts: Vec<HookAttempt>,
}

/// What happened during one delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct HookDelivery {
    /// `eventId` of the envelope (the same on the retry).
    pub event_id: String,
    /// The body that was sent.
    pub payload: Value,
    /// True when an attempt got a 2xx.
    pub delivered: bool,
    pub attempts: Vec<HookAttempt>,
}

enum Outcome {
    Answer(u16, String),
    Failed(HookAttempt),
}

async fn attempt(req: reqwest::RequestBuilder) -> (HookAttempt, Option<String>) {
    let started = Instant::now();
    let outcome = match req.send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            match resp.text().await {
                Ok(body) => Outcome::Answer(status, body),
                Err(e) => Outcome::Failed(failure(e, started)),
            }
        }
        Err(e) => Outcome::Failed(failure(e, started)),
    };
    match outcome {
        Outcome::Answer(status, body) => (
            HookAttempt {
                status: Some(status),
                error: None,
                timed_out: false,
                elapsed: started.elapsed(),
            },
            Some(body),
        ),
        Outcome::Failed(a) => (a, None),
    }
}

fn failure(e: reqwest::Error, started: Instant) -> HookAttempt {
    HookAttempt {
        status: None,
        timed_out: e.is_timeout(),
        error: Some(e.to_string()),
        elapsed: started.elapsed(),
    }
}

/// Okta retries once after a timeout, a transport error or a 5xx.
fn retryable(a: &HookAttempt) -> bool {
    !matches!(a.status, Some(s) if s < 500)
}

impl OktaSim {
    fn hook_client(&self) -> Result<reqwest::Client, String> {
        reqwest::Client::builder()
            .timeout(self.config().hook_timeout)
            .no_proxy()
            .user_agent("Okta Event Hooks (gatehouse-idp-sim)")
            .build()
            .map_err(|e| e.to_string())
    }

    /// Okta's one-time verification request to `url`.
    pub async fn verify_event_hook(&self, url: &str, auth_header: &str) -> HookVerification {
        let challenge = random_base62(40);
        let mut out = HookVerification {
            challenge: challenge.clone(),
            answer: None,
            verified: false,
            attempts: Vec::new(),
        };
        let client = match self.hook_client() {
            Ok(c) => c,
            Err(e) => {
                out.attempts.push(HookAttempt {
                    status: None,
                    error: Some(e),
                    timed_out: false,
                    elapsed: Duration::ZERO,
                });
                return out;
            }
        };
        for _ in 0..2 {
            let mut req = client
                .get(url)
                .header("Accept", "application/json")
                .header("x-okta-verification-challenge", &challenge);
            if !auth_header.is_empty() {
                req = req.header("Authorization", auth_header);
            }
            let (a, body) = attempt(req).await;
            let again = retryable(&a);
            let ok_status = a.status.is_some_and(|s| (200..300).contains(&s));
            out.attempts.push(a);
            if let Some(body) = body {
                out.answer = serde_json::from_str::<Value>(&body).ok().and_then(|v| {
                    v.get("verification")
                        .and_then(Value::as_str)
                        .map(String::from)
                });
                out.verified = ok_status && out.answer.as_deref() == Some(challenge.as_str());
            }
            if !again {
                break;
            }
        }
        out
    }

    /// The envelope Okta POSTs for a batch of events.
    pub fn event_hook_payload(&self, events: Vec<Value>) -> Value {
        let cfg = self.config();
        let event_id = self.store().rng.uuid();
        json!({
            "eventType": "com.okta.event_hook",
            "eventTypeVersion": "1.0",
            "cloudEventsVersion": "0.1",
            "source": format!("{}/api/v1/eventHooks/{}", cfg.org_url, cfg.event_hook_id),
            "eventId": event_id,
            "data": { "events": events },
            "eventTime": fmt_ts(self.clock().now()),
            "contentType": "application/json"
        })
    }

    /// Delivers `events` to `url` as one event-hook request. Okta sends only event types its
    /// catalog marks eligible for event hooks; a batch holding any other type is not sent
    /// (the delivery says why), since no real hook could carry it.
    pub async fn deliver_event_hook(
        &self,
        url: &str,
        auth_header: &str,
        events: Vec<Value>,
    ) -> HookDelivery {
        let ineligible: Vec<String> = events
            .iter()
            .filter_map(|e| e.get("eventType").and_then(Value::as_str))
            .filter(|t| !is_hook_eligible(t))
            .map(str::to_owned)
            .collect();
        let payload = self.event_hook_payload(events);
        let event_id = payload
            .get("eventId")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let mut out = HookDelivery {
            event_id,
            payload,
            delivered: false,
            attempts: Vec::new(),
        };
        if !ineligible.is_empty() {
            out.attempts.push(HookAttempt {
                status: None,
                error: Some(format!(
                    "not eligible for event hooks (Okta never sends them through one): {}",
                    ineligible.join(", ")
                )),
                timed_out: false,
                elapsed: Duration::ZERO,
            });
            return out;
        }
        let client = match self.hook_client() {
            Ok(c) => c,
            Err(e) => {
                out.attempts.push(HookAttempt {
                    status: None,
                    error: Some(e),
                    timed_out: false,
                    elapsed: Duration::ZERO,
                });
                return out;
            }
        };
        let body = out.payload.to_string();
        for _ in 0..2 {
            let mut req = client
                .post(url)
                .header("Accept", "application/json")
                .header("Content-Type", "application/json")
                .body(body.clone());
            if !auth_header.is_empty() {
                req = req.header("Authorization", auth_header);
            }
            let (a, _) = attempt(req).await;
            let again = retryable(&a);
            out.delivered = a.status.is_some_and(|s| (200..300).contains(&s));
            out.attempts.push(a);
            if !again {
                break;
            }
        }
        if !out.delivered {
            self.log_delivery_failure(&out);
        }
        out
    }

    fn log_delivery_failure(&self, d: &HookDelivery) {
        let now = self.clock().now();
        let cfg = self.config();
        let reason = match d.attempts.last() {
            Some(HookAttempt {
                timed_out: true, ..
            }) => "Read timed out".to_string(),
            Some(HookAttempt {
                status: Some(s), ..
            }) => format!("Response status code {s}"),
            Some(HookAttempt { error: Some(e), .. }) => e.clone(),
            _ => "Unknown".to_string(),
        };
        let mut store = self.store();
        let rng = &mut store.rng;
        let origin = Origin::new(
            rng,
            HOME_PLACES[0],
            ("Okta-Integrations", "Unknown", "UNKNOWN", "Unknown"),
        );
        let mut p = Parts::new(
            rng,
            now,
            "event_hook.delivery",
            "Event hook delivery",
            Who::system(),
            origin,
            &cfg.org_url,
        );
        p.severity = "WARN";
        p.result = "FAILURE";
        p.reason = Some(reason);
        p.targets.push(json!({ "id": cfg.event_hook_id, "type": "EventHook", "alternateId": "unknown", "displayName": "Gatehouse", "detailEntry": null }));
        p.debug.insert("eventId".into(), json!(d.event_id));
        let event = p.build(rng);
        store.push_event(event, now.timestamp_millis());
    }
}

/// The event types Okta's catalog marks `event-hook-eligible` (one per line).
const HOOK_ELIGIBLE: &str = include_str!("hook_eligible.txt");

/// Whether Okta can send `event_type` through an event hook.
pub fn is_hook_eligible(event_type: &str) -> bool {
    HOOK_ELIGIBLE
        .lines()
        .filter(|line| !line.starts_with('#'))
        .any(|line| line.trim() == event_type)
}
