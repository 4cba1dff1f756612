//! The three attack patterns counted in sliding windows: brute force (failures against one
//! account), password spray (failures from one IP against many accounts) and credential stuffing
//! (attempts from one IP against many accounts).
//!
//! A trigger's finding is the union of every qualifying window that contains the trigger's time.
//! Each such window was complete when its last event arrived, and that event's own evaluation
//! sees it, so the union of findings over any arrival order is the set of events in qualifying
//! windows; and since the windows all contain the trigger, a finding is one connected burst.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use gatehouse_core::model::{Severity, SignInEvent};

use super::window::{length, union};
use super::View;
use crate::config::{mins, RiskConfig};
use crate::explain::{human, ts};
use crate::finding::{Finding, Subject};
use crate::kind::Kind;
use crate::signals::{is_attempt, is_failed_attempt, is_success};

/// One windowed pattern: which events count, how they are counted, and the threshold.
pub(crate) struct Pattern {
    pub kind: Kind,
    pub enabled: bool,
    pub span: Duration,
    pub threshold: usize,
    member: fn(&SignInEvent) -> bool,
    /// Counts distinct accounts rather than events.
    distinct: bool,
}

impl Pattern {
    pub fn brute_force(config: &RiskConfig) -> Pattern {
        let c = &config.brute_force;
        Pattern {
            kind: Kind::BruteForce,
            enabled: c.enabled,
            span: mins(c.window_minutes),
            threshold: c.failures as usize,
            member: is_failed_attempt,
            distinct: false,
        }
    }

    pub fn password_spray(config: &RiskConfig) -> Pattern {
        let c = &config.password_spray;
        Pattern {
            kind: Kind::PasswordSpray,
            enabled: c.enabled,
            span: mins(c.window_minutes),
            threshold: c.accounts as usize,
            member: |e| is_failed_attempt(e) && names_an_account(e),
            distinct: true,
        }
    }

    pub fn credential_stuffing(config: &RiskConfig) -> Pattern {
        let c = &config.credential_stuffing;
        Pattern {
            kind: Kind::CredentialStuffing,
            enabled: c.enabled,
            span: mins(c.window_minutes),
            threshold: c.accounts as usize,
            member: |e| is_attempt(e) && names_an_account(e),
            distinct: true,
        }
    }

    pub fn members<'a>(&self, events: &[&'a SignInEvent]) -> Vec<&'a SignInEvent> {
        events
            .iter()
            .copied()
            .filter(|e| (self.member)(e))
            .collect()
    }

    pub fn is_member(&self, event: &SignInEvent) -> bool {
        (self.member)(event)
    }

    /// Qualifying windows that contain `at`.
    pub fn around<'e, 'a>(
        &self,
        members: &'e [&'a SignInEvent],
        at: DateTime<Utc>,
    ) -> Bursts<'e, 'a> {
        self.scan(members, at - self.span, at)
    }

    /// Qualifying windows whose last event lies in `[from, to]` (the members must already be
    /// cut at `to`): the attacks a success at `to` follows.
    pub fn ending_between<'e, 'a>(
        &self,
        members: &'e [&'a SignInEvent],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Bursts<'e, 'a> {
        let mut bursts = self.scan(members, from - self.span, to);
        bursts
            .windows
            .retain(|w| members.get(w.end - 1).is_some_and(|e| e.time >= from));
        bursts
    }

    /// The qualifying windows of `span` that start at a distinct member time within
    /// `[from, to]`, counted in one sweep: the window's end only moves forward as its start
    /// does, so each member is added and removed once. (Counting every window on its own was
    /// quadratic in a busy IP's thousands of sign-ins.) Members are sorted by time.
    fn scan<'e, 'a>(
        &self,
        members: &'e [&'a SignInEvent],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Bursts<'e, 'a> {
        let lo = members.partition_point(|e| e.time < from);
        // Every window starting in `[from, to]` ends by `to + span`: only those members count.
        let hi = members
            .partition_point(|e| e.time <= to + self.span)
            .max(lo);
        let mut tally = Tally::new(self.distinct, &members[lo..hi]);
        let mut windows = Vec::new();
        let mut end = lo;
        for i in lo..hi {
            let start = members[i].time;
            if start > to {
                break;
            }
            while end < hi && members[end].time <= start + self.span {
                tally.add(end - lo);
                end += 1;
            }
            let distinct_start = i == lo || members[i - 1].time != start;
            if distinct_start && tally.count() >= self.threshold {
                windows.push(Counted {
                    start: i,
                    end,
                    count: tally.count(),
                });
            }
            tally.remove(i - lo);
        }
        Bursts { members, windows }
    }
}

/// One qualifying window: `members[start..end]` and what it counted.
#[derive(Debug, Clone, Copy)]
struct Counted {
    start: usize,
    end: usize,
    count: usize,
}

/// The qualifying windows of one pattern over one sorted member list.
pub(crate) struct Bursts<'e, 'a> {
    members: &'e [&'a SignInEvent],
    windows: Vec<Counted>,
}

impl<'a> Bursts<'_, 'a> {
    pub fn is_empty(&self) -> bool {
        self.windows.is_empty()
    }

    /// Every event of every window, sorted, without duplicates. Windows start in order and
    /// their ends never move back, so overlapping ones merge into runs first.
    pub fn events(&self) -> Vec<&'a SignInEvent> {
        let mut runs: Vec<(usize, usize)> = Vec::new();
        for w in &self.windows {
            match runs.last_mut() {
                Some(run) if w.start <= run.1 => run.1 = run.1.max(w.end),
                _ => runs.push((w.start, w.end)),
            }
        }
        let slices: Vec<&[&'a SignInEvent]> = runs
            .iter()
            .filter_map(|&(start, end)| self.members.get(start..end))
            .collect();
        union(&slices)
    }

    /// The densest window: its count and its length (the shorter of equally dense ones).
    pub fn peak(&self) -> (usize, Duration) {
        self.windows
            .iter()
            .filter_map(|w| Some((w.count, length(self.members.get(w.start..w.end)?))))
            .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)))
            .unwrap_or((0, Duration::zero()))
    }
}

/// A running count of a window's events, or of its distinct accounts.
///
/// Accounts are numbered once per scan: adding and removing a member then costs an array
/// update, not a hash of its login (a hot address's scan moves a thousand members in and out
/// of the window for every one of its sign-ins).
struct Tally {
    distinct: bool,
    events: usize,
    /// The account number of each member in the scanned range (`None`: no account).
    accounts: Vec<Option<usize>>,
    /// Members in the window per account number.
    counts: Vec<usize>,
    /// Account numbers with members in the window.
    present: usize,
}

impl Tally {
    fn new(distinct: bool, members: &[&SignInEvent]) -> Self {
        let mut numbers: HashMap<AccountRef<'_>, usize> = HashMap::new();
        let accounts: Vec<Option<usize>> = if distinct {
            numbers.reserve(members.len());
            members
                .iter()
                .map(|e| {
                    let next = numbers.len();
                    AccountRef::of(e).map(|key| *numbers.entry(key).or_insert(next))
                })
                .collect()
        } else {
            Vec::new()
        };
        Self {
            distinct,
            events: 0,
            accounts,
            counts: vec![0; numbers.len()],
            present: 0,
        }
    }

    /// Adds the `member`th member of the scanned range.
    fn add(&mut self, member: usize) {
        self.events += 1;
        if let Some(Some(account)) = self.accounts.get(member) {
            if let Some(n) = self.counts.get_mut(*account) {
                *n += 1;
                if *n == 1 {
                    self.present += 1;
                }
            }
        }
    }

    fn remove(&mut self, member: usize) {
        self.events = self.events.saturating_sub(1);
        if let Some(Some(account)) = self.accounts.get(member) {
            if let Some(n) = self.counts.get_mut(*account).filter(|n| **n > 0) {
                *n -= 1;
                if *n == 0 {
                    self.present -= 1;
                }
            }
        }
    }

    fn count(&self) -> usize {
        if self.distinct {
            self.present
        } else {
            self.events
        }
    }
}

/// Who an attempt was against: the inventory account, else the login tried (compared trimmed
/// and case-insensitively, character by character), else the provider's account id.
#[derive(Debug, Clone, Copy)]
enum AccountRef<'a> {
    User(&'a str),
    Login(&'a str),
    External(&'a str),
}

impl<'a> AccountRef<'a> {
    fn of(event: &'a SignInEvent) -> Option<Self> {
        if let Some(user) = &event.user_id {
            return Some(Self::User(user.as_str()));
        }
        if let Some(login) = &event.login {
            return Some(Self::Login(login.trim()));
        }
        event.external_user_id.as_deref().map(Self::External)
    }
}

impl PartialEq for AccountRef<'_> {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::User(a), Self::User(b)) | (Self::External(a), Self::External(b)) => a == b,
            (Self::Login(a), Self::Login(b)) if a.is_ascii() && b.is_ascii() => {
                a.eq_ignore_ascii_case(b)
            }
            (Self::Login(a), Self::Login(b)) => lowered(a).eq(lowered(b)),
            _ => false,
        }
    }
}

impl Eq for AccountRef<'_> {}

impl std::hash::Hash for AccountRef<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        match self {
            Self::User(id) => {
                0u8.hash(state);
                id.hash(state);
            }
            Self::Login(login) => {
                1u8.hash(state);
                hash_lowered(login, state);
            }
            Self::External(id) => {
                2u8.hash(state);
                id.hash(state);
            }
        }
    }
}

/// A login's characters, lower-cased one by one (what two logins are compared by).
fn lowered(login: &str) -> impl Iterator<Item = char> + '_ {
    login.chars().flat_map(char::to_lowercase)
}

/// Hashes the UTF-8 bytes of [`lowered`] in fixed-size chunks, so that equal logins hash
/// equally whichever path wrote them. A hot address's window hashes each of its thousand
/// logins twice per assessment: an ASCII login (nearly all of them) is lower-cased a byte at a
/// time into the chunk instead of a `char` at a time into the hasher.
fn hash_lowered<H: std::hash::Hasher>(login: &str, state: &mut H) {
    const CHUNK: usize = 64;
    let mut chunk = [0u8; CHUNK];
    let mut len = 0;
    let mut push = |bytes: &[u8], state: &mut H| {
        for &b in bytes {
            if len == CHUNK {
                state.write(&chunk);
                len = 0;
            }
            chunk[len] = b;
            len += 1;
        }
    };
    if login.is_ascii() {
        for b in login.bytes() {
            push(&[b.to_ascii_lowercase()], state);
        }
    } else {
        let mut utf8 = [0u8; 4];
        for c in lowered(login) {
            push(c.encode_utf8(&mut utf8).as_bytes(), state);
        }
    }
    state.write(&chunk[..len]);
    state.write_u8(0xff);
}

/// Whether an attempt names an account at all.
fn names_an_account(event: &SignInEvent) -> bool {
    AccountRef::of(event).is_some()
}

fn distinct_accounts(window: &[&SignInEvent]) -> usize {
    window
        .iter()
        .filter_map(|e| AccountRef::of(e))
        .collect::<HashSet<_>>()
        .len()
}

/// ≥ N failed sign-ins for one account within the window.
pub(crate) fn brute_force(view: &View<'_>) -> Option<Finding> {
    let pattern = Pattern::brute_force(view.config);
    let t = view.trigger;
    if !pattern.enabled || !pattern.is_member(t) {
        return None;
    }
    let user = t.user_id.clone()?;
    let members = pattern.members(&view.account);
    let bursts = pattern.around(&members, t.time);
    if bursts.is_empty() {
        return None;
    }
    let events = bursts.events();
    let (most, within) = bursts.peak();
    let ips: BTreeSet<&str> = events.iter().filter_map(|e| e.ip.as_deref()).collect();
    let explanation = format!(
        "{} failed sign-ins for {} from {} source IP{} between {} and {}; {most} of them within {} (threshold: {} within {} min).",
        events.len(),
        view.account_label(t),
        ips.len(),
        if ips.len() == 1 { "" } else { "s" },
        ts(events.first().map_or(t.time, |e| e.time)),
        ts(events.last().map_or(t.time, |e| e.time)),
        human(within),
        pattern.threshold,
        view.config.brute_force.window_minutes,
    );
    Finding::over(
        Kind::BruteForce,
        Severity::Medium,
        &Subject::Account(user.clone()),
        Some(user),
        &events,
        explanation,
    )
}

/// One IP fails against ≥ N distinct accounts within the window.
pub(crate) fn password_spray(view: &View<'_>) -> Option<Finding> {
    let pattern = Pattern::password_spray(view.config);
    ip_pattern(view, &pattern, |events, most, within| {
        format!(
            "{} failed sign-ins from IP {} against {} distinct accounts; {most} distinct accounts within {} (threshold: {} accounts within {} min).",
            events.len(),
            view.trigger.ip.as_deref().unwrap_or_default(),
            distinct_accounts(events),
            human(within),
            pattern.threshold,
            view.config.password_spray.window_minutes,
        )
    })
}

/// One IP tries ≥ N distinct accounts within the window (any outcome).
pub(crate) fn credential_stuffing(view: &View<'_>) -> Option<Finding> {
    let pattern = Pattern::credential_stuffing(view.config);
    ip_pattern(view, &pattern, |events, most, within| {
        let mut tries: HashMap<AccountRef<'_>, usize> = HashMap::with_capacity(events.len());
        for e in events {
            if let Some(key) = AccountRef::of(e) {
                *tries.entry(key).or_default() += 1;
            }
        }
        let few = tries.values().filter(|n| **n <= 2).count();
        let successes = events.iter().filter(|e| is_success(e)).count();
        format!(
            "{} sign-in attempts from IP {} against {} distinct accounts ({few} of them tried at most twice, {successes} attempts successful); {most} distinct accounts within {} (threshold: {} accounts within {} min).",
            events.len(),
            view.trigger.ip.as_deref().unwrap_or_default(),
            tries.len(),
            human(within),
            pattern.threshold,
            view.config.credential_stuffing.window_minutes,
        )
    })
}

fn ip_pattern(
    view: &View<'_>,
    pattern: &Pattern,
    explain: impl Fn(&[&SignInEvent], usize, Duration) -> String,
) -> Option<Finding> {
    let t = view.trigger;
    if !pattern.enabled || !pattern.is_member(t) {
        return None;
    }
    let ip = t.ip.clone()?;
    let members = pattern.members(&view.ip);
    let bursts = pattern.around(&members, t.time);
    if bursts.is_empty() {
        return None;
    }
    let events = bursts.events();
    let (most, within) = bursts.peak();
    Finding::over(
        pattern.kind,
        Severity::High,
        &Subject::Ip(ip),
        None,
        &events,
        explain(&events, most, within),
    )
}

#[cfg(test)]
mod tests {
    use super::super::window::{containing, starting_between};
    use super::*;
    use chrono::TimeZone;

    /// A failed sign-in `seconds` in, against one of a few logins (mixed case and padding, as
    /// providers send them) or inventory accounts.
    fn attempt(n: u64, seconds: i64, who: u64) -> SignInEvent {
        let base = Utc.with_ymd_and_hms(2026, 5, 1, 10, 0, 0).unwrap();
        let mut event: SignInEvent = serde_json::from_value(serde_json::json!({
            "id": format!("sin_{n:05}"), "tenant_id": "ten_1", "integration_id": "int_1",
            "provider": "idp", "provider_event_id": format!("{n}"),
            "time": base + Duration::seconds(seconds),
            "event_type": "sign_in", "outcome": "failure",
            "signal": {"step": "first_factor"}, "ip": "203.0.113.9",
        }))
        .unwrap();
        match who % 3 {
            0 => event.login = Some(format!(" User{}@Example.com ", who % 7)),
            1 => event.login = Some(format!("user{}@example.com", who % 7)),
            _ => event.user_id = gatehouse_core::UserId::parse(&format!("usr_{}", who % 5)),
        }
        event
    }

    /// Who an attempt was against, as text: the reference [`AccountRef`] must agree with.
    fn reference_key(event: &SignInEvent) -> Option<String> {
        if let Some(user) = &event.user_id {
            return Some(format!("u:{user}"));
        }
        if let Some(login) = &event.login {
            let lowered: String = login.trim().chars().flat_map(char::to_lowercase).collect();
            return Some(format!("l:{lowered}"));
        }
        event.external_user_id.as_ref().map(|x| format!("x:{x}"))
    }

    /// What a window counts, counted on its own.
    fn count_alone(pattern: &Pattern, window: &[&SignInEvent]) -> usize {
        if pattern.distinct {
            let keys: BTreeSet<String> = window.iter().filter_map(|e| reference_key(e)).collect();
            keys.len()
        } else {
            window.len()
        }
    }

    fn naive(pattern: &Pattern, windows: &[&[&SignInEvent]]) -> Vec<(usize, usize)> {
        windows
            .iter()
            .map(|w| (w.len(), count_alone(pattern, w)))
            .filter(|(_, count)| *count >= pattern.threshold)
            .collect()
    }

    /// The one-sweep count gives the same qualifying windows, counts, union and peak as
    /// counting each window on its own, on pseudo-random bursts with repeated timestamps.
    #[test]
    fn the_sweep_counts_every_window_as_counting_each_alone_would() {
        let config = RiskConfig::default();
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..40 {
            let mut events: Vec<SignInEvent> = (0..200)
                .map(|n| attempt(n, (next() % 3_600) as i64, next()))
                .collect();
            events.sort_by(super::super::by_time);
            let refs: Vec<&SignInEvent> = events.iter().collect();
            for mut pattern in [
                Pattern::brute_force(&config),
                Pattern::password_spray(&config),
                Pattern::credential_stuffing(&config),
            ] {
                pattern.threshold = 1 + (round % 6);
                let members = pattern.members(&refs);
                for probe in [0, 17, 99, 150, 199] {
                    let at = refs[probe].time;
                    let windows = containing(&members, at, pattern.span);
                    let expected = naive(&pattern, &windows);
                    let bursts = pattern.around(&members, at);
                    let got: Vec<(usize, usize)> = bursts
                        .windows
                        .iter()
                        .map(|w| (w.end - w.start, w.count))
                        .collect();
                    assert_eq!(got, expected, "round {round}, probe {probe}");
                    let qualifying: Vec<&[&SignInEvent]> = windows
                        .iter()
                        .copied()
                        .filter(|w| count_alone(&pattern, w) >= pattern.threshold)
                        .collect();
                    assert_eq!(bursts.events(), union(&qualifying));
                    let from = at - Duration::minutes(10);
                    let ending = pattern.ending_between(&members, from, at);
                    let naive_ending: Vec<usize> =
                        starting_between(&members, from - pattern.span, at, pattern.span)
                            .into_iter()
                            .filter(|w| {
                                count_alone(&pattern, w) >= pattern.threshold
                                    && w.last().is_some_and(|e| e.time >= from)
                            })
                            .map(<[_]>::len)
                            .collect();
                    let got_ending: Vec<usize> =
                        ending.windows.iter().map(|w| w.end - w.start).collect();
                    assert_eq!(got_ending, naive_ending);
                }
            }
        }
    }

    /// Two attempts name the same account exactly when their reference keys are equal, and
    /// equal accounts hash equally: ASCII logins in any case, long ones (past a hash chunk),
    /// and logins whose lower case is ASCII only after Unicode lowering (the Kelvin sign).
    #[test]
    fn accounts_compare_and_hash_as_their_lowered_text() {
        let long = "a".repeat(70);
        let logins = [
            "user1@example.com".to_owned(),
            " USER1@Example.COM ".to_owned(),
            "user2@example.com".to_owned(),
            "\u{212a}im@example.com".to_owned(),
            "Kim@example.com".to_owned(),
            "kİm@example.com".to_owned(),
            "ΣΊΣΥΦΟΣ".to_owned(),
            "σίσυφοσ".to_owned(),
            long.clone(),
            long.to_uppercase(),
            format!("{long}b"),
        ];
        let events: Vec<SignInEvent> = logins
            .iter()
            .enumerate()
            .map(|(n, login)| {
                let mut event = attempt(n as u64, 0, 1);
                event.login = Some(login.clone());
                event
            })
            .collect();
        use std::hash::BuildHasher;
        let hasher = std::hash::RandomState::new();
        for a in &events {
            for b in &events {
                let (ra, rb) = (AccountRef::of(a).unwrap(), AccountRef::of(b).unwrap());
                let same = reference_key(a) == reference_key(b);
                assert_eq!(ra == rb, same, "{:?} against {:?}", a.login, b.login);
                if same {
                    assert_eq!(hasher.hash_one(ra), hasher.hash_one(rb));
                }
            }
        }
    }
}
