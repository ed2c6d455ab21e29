//! Brute-force protection for logins that cannot be turned against the account's owner.
//!
//! Failures are counted per email **and client address** together: after a few free
//! failures, each further attempt from that address for that email must wait, and the wait
//! doubles with every failure (1 s, 2 s, 4 s… up to 15 minutes). It is a delay, never a lock:
//! once it has passed, the right password gets in. Someone guessing from another address
//! slows only themselves.
//!
//! Guessing from many addresses is slowed by two more rules that spare the owner:
//! - per email, across addresses: after more failures than one person makes, addresses that
//!   never logged in to that account successfully wait as well; the addresses the owner has
//!   used ("known") do not;
//! - a global budget of failures per minute: once it is spent, logins from unknown addresses
//!   are refused until the minute is over (known ones still pass), which stops floods.
//!
//! In memory and bounded. The global budget bounds the tables (no more than a budget's worth
//! of new entries a minute, each forgotten after its window), and when a table is full only
//! entries without an active delay are evicted: a delay is never forgotten to make room.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

/// Failures from one address for one email before attempts must wait.
pub const FREE_PER_ADDRESS: u32 = 3;
/// Failures for one email from all addresses before unknown addresses must wait.
pub const FREE_PER_EMAIL: u32 = 10;
/// The longest wait.
pub const MAX_DELAY: Duration = Duration::from_secs(15 * 60);
/// Failures are forgotten this long after the last one.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// How long an address that logged in stays known for that email.
pub const KNOWN_FOR: Duration = Duration::from_secs(30 * 24 * 3600);
/// Entries per table.
const MAX_TRACKED: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

impl Failures {
    /// When the next attempt may come, given `free` failures without a wait.
    fn next_allowed(&self, free: u32) -> Instant {
        self.last + delay(self.count, free)
    }

    fn expired(&self, now: Instant) -> bool {
        now.duration_since(self.last) >= WINDOW
    }
}

/// The wait after `count` failures: none for the first `free`, then 1 s, doubling.
fn delay(count: u32, free: u32) -> Duration {
    match count.checked_sub(free) {
        None | Some(0) => Duration::ZERO,
        Some(n) => Duration::from_secs(1u64 << (n - 1).min(20)).min(MAX_DELAY),
    }
}

type Pair = (String, IpAddr);

#[derive(Default)]
struct State {
    pairs: HashMap<Pair, Failures>,
    emails: HashMap<String, Failures>,
    known: HashMap<Pair, Instant>,
    /// Start of the current minute of the global budget, and the failures in it.
    minute: Option<(Instant, u32)>,
}

/// Why a login must wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// This address failed for this email too often lately.
    Address(Duration),
    /// This email failed too often from many addresses; this one is not known.
    Email(Duration),
    /// Too many failures everywhere this minute; this address is not known.
    Flood(Duration),
}

impl Refusal {
    pub fn retry_after(&self) -> Duration {
        match self {
            Refusal::Address(d) | Refusal::Email(d) | Refusal::Flood(d) => *d,
        }
    }
}

pub struct LoginThrottle {
    state: Mutex<State>,
    /// Failures allowed per minute, all emails and addresses together.
    budget_per_minute: u32,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle::new(600)
    }
}

const MINUTE: Duration = Duration::from_secs(60);

impl LoginThrottle {
    pub fn new(budget_per_minute: u32) -> Self {
        LoginThrottle {
            state: Mutex::new(State::default()),
            budget_per_minute,
        }
    }

    /// `Err` when this attempt must wait: answer 429 with `Retry-After`, and do not check the
    /// password.
    pub fn check(&self, email: &str, from: IpAddr, now: Instant) -> Result<(), Refusal> {
        let Ok(state) = self.state.lock() else {
            return Ok(());
        };
        let pair = (email.to_owned(), from);
        let wait = |until: Instant| until.saturating_duration_since(now);
        if let Some(f) = state.pairs.get(&pair).filter(|f| !f.expired(now)) {
            let w = wait(f.next_allowed(FREE_PER_ADDRESS));
            if !w.is_zero() {
                return Err(Refusal::Address(w));
            }
        }
        let known = state
            .known
            .get(&pair)
            .is_some_and(|at| now.duration_since(*at) < KNOWN_FOR);
        if known {
            return Ok(());
        }
        if let Some(f) = state.emails.get(email).filter(|f| !f.expired(now)) {
            let w = wait(f.next_allowed(FREE_PER_EMAIL));
            if !w.is_zero() {
                return Err(Refusal::Email(w));
            }
        }
        if let Some((start, failures)) = state.minute {
            if failures >= self.budget_per_minute && now.duration_since(start) < MINUTE {
                return Err(Refusal::Flood(
                    wait(start + MINUTE).max(Duration::from_secs(1)),
                ));
            }
        }
        Ok(())
    }

    pub fn failed(&self, email: &str, from: IpAddr, now: Instant) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        let count = |f: Option<&Failures>| match f {
            Some(f) if !f.expired(now) => f.count.saturating_add(1),
            _ => 1,
        };
        let pair = (email.to_owned(), from);
        let n = count(state.pairs.get(&pair));
        if !state.pairs.contains_key(&pair) {
            make_room(&mut state.pairs, now, FREE_PER_ADDRESS);
        }
        state.pairs.insert(
            pair,
            Failures {
                count: n,
                last: now,
            },
        );
        let n = count(state.emails.get(email));
        if !state.emails.contains_key(email) {
            make_room(&mut state.emails, now, FREE_PER_EMAIL);
        }
        state.emails.insert(
            email.to_owned(),
            Failures {
                count: n,
                last: now,
            },
        );
        state.minute = match state.minute {
            Some((start, failures)) if now.duration_since(start) < MINUTE => {
                Some((start, failures.saturating_add(1)))
            }
            _ => Some((now, 1)),
        };
    }

    /// The right password: this address's failures for this email are forgotten and the
    /// address becomes known (its owner gets through even while others guess).
    pub fn succeeded(&self, email: &str, from: IpAddr, now: Instant) {
        if let Ok(mut state) = self.state.lock() {
            let pair = (email.to_owned(), from);
            state.pairs.remove(&pair);
            if state.known.len() >= MAX_TRACKED && !state.known.contains_key(&pair) {
                // The oldest known address is the one to forget: it is only a convenience.
                state
                    .known
                    .retain(|_, at| now.duration_since(*at) < KNOWN_FOR);
                if let Some(oldest) = state
                    .known
                    .iter()
                    .min_by_key(|(_, at)| **at)
                    .map(|(k, _)| k.clone())
                {
                    state.known.remove(&oldest);
                }
            }
            state.known.insert(pair, now);
        }
    }
}

/// Makes room for one more entry when the table is full: forgets expired entries, then
/// entries whose delay has passed, fewest failures first. An entry still making someone wait
/// is never forgotten; if every entry is, the table grows past its bound (the global budget
/// keeps that from going far).
fn make_room<K: std::hash::Hash + Eq + Clone>(
    table: &mut HashMap<K, Failures>,
    now: Instant,
    free: u32,
) {
    if table.len() < MAX_TRACKED {
        return;
    }
    table.retain(|_, f| !f.expired(now));
    if table.len() < MAX_TRACKED {
        return;
    }
    if let Some(victim) = table
        .iter()
        .filter(|(_, f)| f.next_allowed(free) <= now)
        .min_by_key(|(_, f)| f.count)
        .map(|(k, _)| k.clone())
    {
        table.remove(&victim);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    #[test]
    fn delays_grow_per_address_and_never_lock_out_the_right_password() {
        let t = LoginThrottle::default();
        let now = Instant::now();
        for _ in 0..FREE_PER_ADDRESS {
            assert!(t.check("a@x", ip(1), now).is_ok());
            t.failed("a@x", ip(1), now);
        }
        assert!(t.check("a@x", ip(1), now).is_ok(), "free failures wait not");
        t.failed("a@x", ip(1), now);
        assert_eq!(
            t.check("a@x", ip(1), now),
            Err(Refusal::Address(Duration::from_secs(1)))
        );
        let later = now + Duration::from_secs(1);
        assert!(t.check("a@x", ip(1), later).is_ok(), "the wait passes");
        t.failed("a@x", ip(1), later);
        assert_eq!(
            t.check("a@x", ip(1), later),
            Err(Refusal::Address(Duration::from_secs(2))),
            "and doubles"
        );
        assert!(
            t.check("a@x", ip(2), later).is_ok(),
            "another address is free"
        );
        assert!(
            t.check("b@x", ip(1), later).is_ok(),
            "another email is free"
        );
        t.succeeded("a@x", ip(1), later + Duration::from_secs(2));
        assert!(t
            .check("a@x", ip(1), later + Duration::from_secs(2))
            .is_ok());
    }

    #[test]
    fn delays_are_capped() {
        assert_eq!(delay(3, 3), Duration::ZERO);
        assert_eq!(delay(4, 3), Duration::from_secs(1));
        assert_eq!(delay(8, 3), Duration::from_secs(16));
        assert_eq!(delay(60, 3), MAX_DELAY);
        assert_eq!(delay(u32::MAX, 3), MAX_DELAY);
    }

    #[test]
    fn many_addresses_slow_down_unknown_ones_but_not_the_owner() {
        let t = LoginThrottle::default();
        let now = Instant::now();
        t.succeeded("owner@x", ip(1), now);
        for i in 0..=FREE_PER_EMAIL {
            t.failed("owner@x", ip(100 + i as u8), now);
        }
        assert!(matches!(
            t.check("owner@x", ip(200), now),
            Err(Refusal::Email(_))
        ));
        assert!(
            t.check("owner@x", ip(1), now).is_ok(),
            "a known address passes"
        );
    }

    #[test]
    fn a_flood_spends_the_budget_and_unknown_addresses_wait_out_the_minute() {
        let t = LoginThrottle::new(20);
        let now = Instant::now();
        t.succeeded("owner@x", ip(1), now);
        for i in 0..20 {
            t.failed(&format!("flood{i}@attacker"), ip(9), now);
        }
        assert!(matches!(
            t.check("someone@x", ip(3), now),
            Err(Refusal::Flood(_))
        ));
        assert!(t.check("owner@x", ip(1), now).is_ok(), "the owner passes");
        assert!(
            t.check("someone@x", ip(3), now + MINUTE).is_ok(),
            "a new minute"
        );
    }

    #[test]
    fn a_full_table_never_forgets_an_active_delay() {
        let t = LoginThrottle::new(u32::MAX);
        let now = Instant::now();
        for _ in 0..10 {
            t.failed("bob@x", ip(1), now);
        }
        for i in 0..MAX_TRACKED + 50 {
            t.failed(&format!("flood{i}@attacker"), ip(2), now);
        }
        assert!(
            matches!(t.check("bob@x", ip(1), now), Err(Refusal::Address(_))),
            "Bob's delay survived the flood"
        );
        let state = t.state.lock().unwrap();
        assert!(
            state.pairs.len() <= MAX_TRACKED + 1,
            "{}",
            state.pairs.len()
        );
    }
}
