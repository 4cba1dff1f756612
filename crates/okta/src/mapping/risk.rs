//! Okta's own risk verdict for an event, and the parser for its key-value risk text.

use gatehouse_core::model::RiskLevel;
use serde_json::Value;

use super::json::debug_data;

/// Okta's own risk verdict, the highest of: `security.threat.detected` (a request from an IP
/// ThreatInsight calls malicious: high), `securityContext.risk.level`, the `risk` entry of
/// `debugContext.debugData` (`{reasons=…, level=HIGH}`), and `threatSuspected: "true"`
/// (ThreatInsight found the request suspicious: medium). `None` when Okta said nothing.
pub(super) fn provider_risk(event: &Value, event_type: &str) -> Option<RiskLevel> {
    let mut levels = Vec::new();
    if event_type == "security.threat.detected" {
        levels.push(RiskLevel::High);
    }
    if let Some(level) = event
        .pointer("/securityContext/risk/level")
        .and_then(Value::as_str)
        .and_then(level_word)
    {
        levels.push(level);
    }
    match debug_data(event, "risk") {
        Some(Value::String(s)) => levels.extend(parse_risk_level(s)),
        Some(Value::Object(map)) => {
            levels.extend(
                map.get("level")
                    .and_then(Value::as_str)
                    .and_then(level_word),
            );
        }
        _ => {}
    }
    let suspected = match debug_data(event, "threatSuspected") {
        Some(Value::String(s)) => s.trim().eq_ignore_ascii_case("true"),
        Some(Value::Bool(b)) => *b,
        _ => false,
    };
    if suspected {
        levels.push(RiskLevel::Medium);
    }
    levels.into_iter().max()
}

/// The `level` of Okta's key-value risk text, e.g. `{reasons=Anomalous Geo-Distance, New Device,
/// level=HIGH}` or `{previousLevel=LOW, level=MEDIUM, detectionName=…}`. Values may contain
/// commas, so a piece starts a new key only when it looks like `word=`.
pub fn parse_risk_level(text: &str) -> Option<RiskLevel> {
    let inner = text.trim().trim_start_matches('{').trim_end_matches('}');
    inner
        .split(',')
        .filter_map(|piece| {
            let (key, value) = piece.split_once('=')?;
            let key = key.trim();
            let is_key =
                !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            (is_key && key.eq_ignore_ascii_case("level")).then(|| value.trim())
        })
        .find_map(level_word)
}

fn level_word(word: &str) -> Option<RiskLevel> {
    match word.trim().to_ascii_uppercase().as_str() {
        "HIGH" => Some(RiskLevel::High),
        "MEDIUM" => Some(RiskLevel::Medium),
        "LOW" => Some(RiskLevel::Low),
        "NONE" => Some(RiskLevel::None),
        _ => None,
    }
}
