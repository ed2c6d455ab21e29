//! Brute-force protection for logins: after too many wrong passwords for one email within a
//! window, that email is refused (429) until the window passes, even with the right password.
//! In memory and bounded: a restart forgets, and the table never grows past `MAX_TRACKED`.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

/// Wrong passwords allowed per email within `WINDOW`.
pub const MAX_FAILURES: u32 = 5;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Emails tracked at once; beyond this the oldest entries are dropped first.
const MAX_TRACKED: usize = 10_000;

#[derive(Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl LoginThrottle {
    /// `Err(retry_after)` when this email must wait.
    pub fn check(&self, email: &str, now: Instant) -> Result<(), Duration> {
        let Ok(map) = self.failures.lock() else {
            return Ok(());
        };
        match map.get(email) {
            Some((n, since)) if *n >= MAX_FAILURES && now.duration_since(*since) < WINDOW => {
                Err(WINDOW - now.duration_since(*since))
            }
            _ => Ok(()),
        }
    }

    pub fn failed(&self, email: &str, now: Instant) {
        let Ok(mut map) = self.failures.lock() else {
            return;
        };
        if map.len() >= MAX_TRACKED && !map.contains_key(email) {
            map.retain(|_, (_, since)| now.duration_since(*since) < WINDOW);
            if map.len() >= MAX_TRACKED {
                if let Some(oldest) = map
                    .iter()
                    .min_by_key(|(_, (_, since))| *since)
                    .map(|(k, _)| k.clone())
                {
                    map.remove(&oldest);
                }
            }
        }
        let entry = map.entry(email.to_owned()).or_insert((0, now));
        if now.duration_since(entry.1) >= WINDOW {
            *entry = (0, now);
        }
        entry.0 += 1;
    }

    pub fn succeeded(&self, email: &str) {
        if let Ok(mut map) = self.failures.lock() {
            map.remove(email);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_max_failures_and_frees_after_the_window() {
        let t = LoginThrottle::default();
        let now = Instant::now();
        for _ in 0..MAX_FAILURES - 1 {
            t.failed("a@x", now);
        }
        assert!(t.check("a@x", now).is_ok());
        t.failed("a@x", now);
        let wait = t.check("a@x", now).unwrap_err();
        assert!(wait <= WINDOW && wait > WINDOW - Duration::from_secs(1));
        assert!(t.check("b@x", now).is_ok(), "other emails are unaffected");
        assert!(t.check("a@x", now + WINDOW).is_ok(), "the window passes");
    }

    #[test]
    fn success_resets_and_the_table_stays_bounded() {
        let t = LoginThrottle::default();
        let now = Instant::now();
        t.failed("a@x", now);
        t.succeeded("a@x");
        for _ in 0..MAX_FAILURES - 1 {
            t.failed("a@x", now);
        }
        assert!(t.check("a@x", now).is_ok());
        for i in 0..MAX_TRACKED + 10 {
            t.failed(&format!("u{i}@x"), now);
        }
        assert!(t.failures.lock().unwrap().len() <= MAX_TRACKED);
    }
}
