//! Rate limits on the public surface: the webhooks and the widget's endpoints, per source
//! address, so one address cannot flood the server (the agents' API needs a login, and the
//! login has its own throttle, `login_throttle`).
//!
//! A token bucket per address: `burst` requests at once, refilled at `per_second`. Past it
//! the request gets a 429 with `Retry-After` (whole seconds until a token is back), before
//! its body is read or its signature checked. Buckets live in memory (per node), sharded by
//! address so the HTTP workers rarely wait for each other; a shard that grows past
//! [`MAX_PER_SHARD`] addresses drops its full buckets (they hold nothing an empty map would
//! not), or all of them when most are busy, so a scan from many addresses costs bounded
//! memory.

use std::{
    collections::HashMap,
    hash::{Hash, Hasher},
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

/// Addresses one shard keeps before it forgets the ones at full burst.
pub const MAX_PER_SHARD: usize = 4096;
const SHARDS: usize = 16;

/// One limit: `per_second` sustained, `burst` at once; `per_second = 0` turns it off.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limit {
    pub per_second: f64,
    pub burst: f64,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    /// Takes a token at `now`: `Ok`, or how long until one is back.
    fn take(&mut self, limit: Limit, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * limit.per_second).min(limit.burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - self.tokens) / limit.per_second,
            ))
        }
    }

    fn full(&self, limit: Limit, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens + elapsed * limit.per_second >= limit.burst
    }
}

/// The buckets of one limit.
pub struct Limiter {
    limit: Limit,
    shards: Vec<Mutex<HashMap<IpAddr, Bucket>>>,
}

impl Limiter {
    pub fn new(limit: Limit) -> Limiter {
        Limiter {
            limit,
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    /// Whether `addr` may make a request at `now`; `Err` with the whole seconds to wait (at
    /// least 1) when not.
    pub fn check(&self, addr: IpAddr, now: Instant) -> Result<(), u64> {
        let limit = self.limit;
        if limit.per_second <= 0.0 {
            return Ok(());
        }
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        addr.hash(&mut hasher);
        let shard = &self.shards[(hasher.finish() as usize) % SHARDS];
        // A poisoned shard only held counters: carry on with them.
        let mut buckets = shard.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_PER_SHARD && !buckets.contains_key(&addr) {
            buckets.retain(|_, b| !b.full(limit, now));
            // Still crowded (that many addresses busy at once): forget them all rather than
            // grow; per-address limits cannot hold against such a spread anyway.
            if buckets.len() > MAX_PER_SHARD * 3 / 4 {
                buckets.clear();
            }
        }
        let bucket = buckets.entry(addr).or_insert(Bucket {
            tokens: limit.burst,
            at: now,
        });
        bucket
            .take(limit, now)
            .map_err(|wait| wait.as_secs_f64().ceil().max(1.0) as u64)
    }

    /// Addresses tracked now (tests).
    pub fn tracked(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).len())
            .sum()
    }
}

/// The limits of the public surface (`[server] webhook_rate_*`, `widget_rate_*`).
pub struct PublicLimits {
    pub webhooks: Limiter,
    pub widget: Limiter,
}

impl PublicLimits {
    pub fn from_settings(s: &crate::config::ServerSettings) -> PublicLimits {
        let limit = |per_second: u32, burst: u32| Limit {
            per_second: f64::from(per_second),
            burst: f64::from(burst),
        };
        PublicLimits {
            webhooks: Limiter::new(limit(s.webhook_rate_per_second, s.webhook_rate_burst)),
            widget: Limiter::new(limit(s.widget_rate_per_second, s.widget_rate_burst)),
        }
    }

    /// The limiter for a request path, if the path is limited.
    pub fn for_path(&self, path: &str) -> Option<&Limiter> {
        if path.starts_with("/webhooks/") {
            Some(&self.webhooks)
        } else if path.starts_with("/widget/") {
            Some(&self.widget)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u32) -> IpAddr {
        IpAddr::from(n.to_be_bytes())
    }

    #[test]
    fn a_burst_passes_then_the_rate_holds() {
        let l = Limiter::new(Limit {
            per_second: 2.0,
            burst: 3.0,
        });
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        // (time in ms, expected)
        let table = [
            (0, Ok(())),
            (0, Ok(())),
            (0, Ok(())),
            (0, Err(1)),
            (400, Err(1)),
            (500, Ok(())),
            (500, Err(1)),
            (3000, Ok(())),
            (3000, Ok(())),
            (3000, Ok(())),
            (3000, Err(1)),
        ];
        for (i, (ms, expected)) in table.into_iter().enumerate() {
            assert_eq!(l.check(ip(1), at(ms)), expected, "request {i} at {ms} ms");
        }
        // Another address has its own bucket.
        assert_eq!(l.check(ip(2), at(0)), Ok(()));
    }

    #[test]
    fn the_wait_is_whole_seconds_until_a_token_is_back() {
        let l = Limiter::new(Limit {
            per_second: 0.25,
            burst: 1.0,
        });
        let t0 = Instant::now();
        assert_eq!(l.check(ip(1), t0), Ok(()));
        assert_eq!(l.check(ip(1), t0), Err(4));
        assert_eq!(l.check(ip(1), t0 + Duration::from_millis(2500)), Err(2));
    }

    #[test]
    fn off_lets_everything_through() {
        let l = Limiter::new(Limit {
            per_second: 0.0,
            burst: 0.0,
        });
        let now = Instant::now();
        assert!((0..1000).all(|_| l.check(ip(1), now).is_ok()));
        assert_eq!(l.tracked(), 0);
    }

    #[test]
    fn memory_stays_bounded_under_a_scan_from_many_addresses() {
        let l = Limiter::new(Limit {
            per_second: 10.0,
            burst: 10.0,
        });
        let t0 = Instant::now();
        for n in 0..(SHARDS * MAX_PER_SHARD * 3) as u32 {
            // Each address makes one request, and a second later its bucket is full again.
            let _ = l.check(ip(n), t0 + Duration::from_secs(u64::from(n / 1000)));
        }
        assert!(l.tracked() <= SHARDS * MAX_PER_SHARD, "{}", l.tracked());
    }
}
