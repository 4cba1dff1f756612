//! Load from `wrk` (a C load generator, far lighter than a Rust client sharing our two cores),
//! with a Lua script that makes every delivery's event ids unique so dedupe never short-cuts a
//! write. Used when `wrk` is on PATH (`apt-get install wrk`).

use std::process::{Command, Stdio};
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
        r#"-- `tid` must be a global: `thread:set` sets a global of the thread's Lua state, which a
-- local here would shadow, and every thread would send the same ids (half the events
-- duplicates, deduplicated by the daemon instead of stored).
tid = 0
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
    run_split(&[url.to_owned()], connections, duration, events, salt)
}

/// One wrk per URL, all at once, sharing wrk's two threads and `connections` between them (one
/// thread and half the connections each for two URLs): the load of [`run`] split across
/// replicas. The report adds the requests and errors up; a percentile is the highest of the
/// processes' own (wrk gives no histogram to merge), so with several URLs p50 and p99 are an
/// upper bound.
pub fn run_split(
    urls: &[String],
    connections: usize,
    duration: Duration,
    events: usize,
    salt: &str,
) -> anyhow::Result<Report> {
    anyhow::ensure!(!urls.is_empty(), "no URL to load");
    let dir = std::env::temp_dir().join(format!("gatehouse-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let threads = (2 / urls.len()).max(1);
    let per_url = (connections / urls.len()).max(threads);
    let mut children = Vec::with_capacity(urls.len());
    for (k, url) in urls.iter().enumerate() {
        // Each process its own salt: their event ids must never meet.
        let salt = if urls.len() == 1 {
            salt.to_owned()
        } else {
            format!("{salt}r{k}")
        };
        let path = dir.join(format!("{salt}.lua"));
        std::fs::write(&path, script(events, &salt))?;
        let child = Command::new("wrk")
            .arg(format!("-t{threads}"))
            .arg(format!("-c{per_url}"))
            .arg(format!("-d{}s", duration.as_secs()))
            .arg("--latency")
            // wrk leaves answers slower than its timeout (2 s) out of the percentiles.
            .arg("--timeout")
            .arg("30s")
            .arg("-s")
            .arg(&path)
            .arg(url)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("running wrk")?;
        children.push(child);
    }
    let mut reports = Vec::with_capacity(children.len());
    let mut outputs = String::new();
    for child in children {
        let output = child.wait_with_output().context("waiting for wrk")?;
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        reports.push(parse(&text, duration));
        outputs.push_str(&text);
        outputs.push_str(&String::from_utf8_lossy(&output.stderr));
    }
    let merged = merge(&reports);
    if merged.requests == 0 && merged.errors == 0 {
        bail!("wrk measured nothing:\n{outputs}");
    }
    Ok(merged)
}

/// wrk's `--latency` output as a report of its successful requests.
fn parse(text: &str, duration: Duration) -> Report {
    let mut report = Report {
        requests: 0,
        errors: 0,
        elapsed: duration,
        p50: Duration::ZERO,
        p99: Duration::ZERO,
        max: Duration::ZERO,
    };
    let mut non_2xx = 0;
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
            ["Non-2xx", "or", "3xx", "responses:", n] => non_2xx = n.parse::<u64>().unwrap_or(0),
            // "Socket errors: connect 0, read 0, write 0, timeout 12": requests that got no
            // answer (wrk does not count them as requests), and answers slower than
            // `--timeout` (which it does count when they arrive: they are not subtracted).
            ["Socket", "errors:", rest @ ..] => {
                let counted: u64 = rest
                    .iter()
                    .filter_map(|f| f.trim_end_matches(',').parse::<u64>().ok())
                    .sum();
                report.errors += counted.max(1);
            }
            _ => {}
        }
    }
    // Non-2xx answers are counted by wrk as requests; keep only the successful ones.
    report.requests = report.requests.saturating_sub(non_2xx);
    report.errors += non_2xx;
    report
}

/// Several wrk processes' reports as one (see [`run_split`]).
fn merge(reports: &[Report]) -> Report {
    let top = |f: fn(&Report) -> Duration| reports.iter().map(f).max().unwrap_or_default();
    Report {
        requests: reports.iter().map(|r| r.requests).sum(),
        errors: reports.iter().map(|r| r.errors).sum(),
        elapsed: top(|r| r.elapsed),
        p50: top(|r| r.p50),
        p99: top(|r| r.p99),
        max: top(|r| r.max),
    }
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

    #[test]
    fn each_thread_numbers_its_events_itself() {
        let script = script(50, "s");
        assert!(script.contains("\ntid = 0\n"), "tid is a global");
        assert!(!script.contains("local tid"), "no local shadows thread:set");
        assert!(script.contains(r#"thread:set("tid", threads)"#));
    }

    const OUTPUT: &str = "Running 10s test @ http://127.0.0.1:1/hook
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     7.09ms    2.10ms  48.00ms   80.00%
  Latency Distribution
     50%    6.50ms
     75%    8.00ms
     90%    9.00ms
     99%   15.00ms
  90000 requests in 10.01s, 7.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 100
Requests/sec:   8991.00
";

    #[test]
    fn reads_a_wrk_report_and_keeps_only_the_successful_requests() {
        let report = parse(OUTPUT, Duration::from_secs(10));
        assert_eq!(report.errors, 105, "every socket error and non-2xx answer");
        assert_eq!(report.requests, 90_000 - 100, "only answers are requests");
        assert_eq!(report.p50, Duration::from_micros(6500));
        assert_eq!(report.p99, Duration::from_millis(15));
        assert_eq!(report.max, Duration::from_millis(48));
        assert_eq!(report.elapsed, Duration::from_millis(10_010));
    }

    #[test]
    fn split_reports_add_up_and_keep_the_higher_percentiles() {
        let a = parse(OUTPUT, Duration::from_secs(10));
        let mut b = a.clone();
        b.p99 = Duration::from_millis(30);
        b.errors = 0;
        b.requests = 10;
        let merged = merge(&[a.clone(), b]);
        assert_eq!(merged.requests, a.requests + 10);
        assert_eq!(merged.errors, a.errors);
        assert_eq!(merged.p50, a.p50);
        assert_eq!(merged.p99, Duration::from_millis(30));
    }
}
