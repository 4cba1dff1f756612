//! Load from `wrk` (a C load generator, far lighter than a Rust client sharing our two cores),
//! with a Lua script that makes every delivery's event ids unique so dedupe never short-cuts a
//! write. Used when `wrk` is on PATH (`apt-get install wrk`).

use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context as _};

use crate::load::Report;

pub fn available() -> bool {
    Command::new("wrk")
        .arg("--version")
        .output()
        .map(|o| !o.stdout.is_empty() || !o.stderr.is_empty())
        .unwrap_or(false)
}

/// The Lua script: an Okta event-hook delivery of `events` events, ids unique per thread and
/// request. `salt` keeps runs apart so a second scenario never replays the first one's ids.
fn script(events: usize, salt: &str) -> String {
    format!(
        r#"local tid = 0
local counter = 0
local threads = 0
setup = function(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
-- Ordinary traffic: 100,000 accounts, each from its own address, a new session each time.
local function event(id, k)
  local n = k % 100000
  local user = string.format("%06d", n)
  local ip = "10." .. math.floor(n / 65536) .. "." .. (math.floor(n / 256) % 256) .. "." .. (n % 256)
  return '{{"uuid":"' .. id .. '","published":"2026-11-20T10:00:00.000Z","eventType":"user.session.start","version":"0","severity":"INFO","displayMessage":"User login to Okta","actor":{{"id":"00u' .. user .. '","type":"User","alternateId":"user' .. user .. '@acme.example","displayName":"Bench User"}},"client":{{"userAgent":{{"rawUserAgent":"Mozilla/5.0 (X11; Linux x86_64) Chrome/127.0","os":"Linux","browser":"CHROME"}},"zone":"null","device":"Computer","ipAddress":"' .. ip .. '","geographicalContext":{{"city":"Dublin","state":"Leinster","country":"Ireland","postalCode":"D02","geolocation":{{"lat":53.35,"lon":-6.26}}}}}},"authenticationContext":{{"credentialType":"PASSWORD","externalSessionId":"idx' .. id .. '"}},"outcome":{{"result":"SUCCESS","reason":null}},"securityContext":{{"asNumber":64500,"asOrg":"bench","isp":"bench","domain":null,"isProxy":false}},"transaction":{{"type":"WEB","id":"tx1","detail":{{}}}},"target":[]}}'
end
request = function()
  counter = counter + 1
  local parts = {{}}
  for i = 1, {events} do
    parts[i] = event("{salt}-" .. tid .. "-" .. counter .. "-" .. i, tid * 7919 + counter * {events} + i)
  end
  local body = '{{"eventType":"com.okta.event_hook","eventTypeVersion":"1.0","cloudEventsVersion":"0.1","contentType":"application/json","eventId":"{salt}-' .. tid .. '-' .. counter .. '","eventTime":"2026-11-20T10:00:01.000Z","source":"https://acme.okta.com/api/v1/eventHooks/whobench","data":{{"events":[' .. table.concat(parts, ",") .. ']}}}}'
  return wrk.format("POST", nil, {{["Content-Type"] = "application/json"}}, body)
end
"#
    )
}

fn millis(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (number, unit) = text.split_at(text.find(|c: char| c.is_ascii_alphabetic())?);
    let value: f64 = number.parse().ok()?;
    let secs = match unit {
        "us" => value / 1e6,
        "ms" => value / 1e3,
        "s" => value,
        "m" => value * 60.0,
        _ => return None,
    };
    Some(Duration::from_secs_f64(secs))
}

pub fn run(
    url: &str,
    connections: usize,
    duration: Duration,
    events: usize,
    salt: &str,
) -> anyhow::Result<Report> {
    let dir = std::env::temp_dir().join(format!("gatehouse-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{salt}.lua"));
    std::fs::write(&path, script(events, salt))?;
    let output = Command::new("wrk")
        .arg("-t2")
        .arg(format!("-c{connections}"))
        .arg(format!("-d{}s", duration.as_secs()))
        .arg("--latency")
        .arg("-s")
        .arg(&path)
        .arg(url)
        .output()
        .context("running wrk")?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let mut report = Report {
        requests: 0,
        errors: 0,
        elapsed: duration,
        p50: Duration::ZERO,
        p99: Duration::ZERO,
        max: Duration::ZERO,
    };
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.as_slice() {
            ["50%", value] => report.p50 = millis(value).unwrap_or_default(),
            ["99%", value] => report.p99 = millis(value).unwrap_or_default(),
            ["Latency", _, _, max, ..] => report.max = millis(max).unwrap_or_default(),
            [count, "requests", "in", secs, ..] => {
                report.requests = count.parse().unwrap_or(0);
                if let Some(s) = secs.strip_suffix("s,").and_then(|s| s.parse::<f64>().ok()) {
                    report.elapsed = Duration::from_secs_f64(s);
                }
            }
            ["Non-2xx", "or", "3xx", "responses:", n] => {
                report.errors += n.parse::<u64>().unwrap_or(0)
            }
            ["Socket", "errors:", ..] => report.errors += 1,
            _ => {}
        }
    }
    if report.requests == 0 {
        bail!(
            "wrk measured nothing:\n{text}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    // Non-2xx answers are counted by wrk as requests; keep only the successful ones.
    report.requests = report.requests.saturating_sub(report.errors);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_wrk_units() {
        assert_eq!(millis("7.09ms"), Some(Duration::from_micros(7090)));
        assert_eq!(millis("850.00us"), Some(Duration::from_micros(850)));
        assert_eq!(millis("1.20s"), Some(Duration::from_millis(1200)));
    }
}
