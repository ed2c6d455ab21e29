//! Business hours in an inbox's own time zone (daylight saving included): whether a person is
//! around now, so the customer who asked for one is told the truth.

use chrono::{Datelike, NaiveDateTime, NaiveTime, TimeZone, Weekday};
use chrono_tz::Tz;

/// When people answer: the same opening and closing time on the listed days. A closing time
/// before the opening time spans midnight (22:00–06:00 is open at 02:00 after a listed day).
#[derive(Debug, Clone, PartialEq)]
pub struct BusinessHours {
    pub timezone: Tz,
    /// Monday first.
    pub days: [bool; 7],
    pub open: NaiveTime,
    pub close: NaiveTime,
}

impl BusinessHours {
    /// Builds hours from configuration: `days` as `mon`…`sun` or ranges (`mon-fri`),
    /// `open`/`close` as `HH:MM`, `timezone` as an IANA name (`Europe/Madrid`).
    pub fn parse(timezone: &str, days: &[String], open: &str, close: &str) -> Result<Self, String> {
        let timezone: Tz = timezone
            .parse()
            .map_err(|_| format!("`{timezone}` is not an IANA time zone (e.g. Europe/Madrid)"))?;
        let time = |s: &str| {
            NaiveTime::parse_from_str(s, "%H:%M").map_err(|_| format!("`{s}` is not HH:MM"))
        };
        let (open, close) = (time(open)?, time(close)?);
        if open == close {
            return Err("`open` and `close` must differ".to_owned());
        }
        let mut set = [false; 7];
        for d in days {
            let d = d.trim().to_ascii_lowercase();
            let (from, to) = match d.split_once('-') {
                Some((a, b)) => (weekday(a)?, weekday(b)?),
                None => (weekday(&d)?, weekday(&d)?),
            };
            let mut i = from;
            loop {
                set[i] = true;
                if i == to {
                    break;
                }
                i = (i + 1) % 7;
            }
        }
        if !set.contains(&true) {
            return Err("`days` must name at least one day".to_owned());
        }
        Ok(BusinessHours {
            timezone,
            days: set,
            open,
            close,
        })
    }

    /// Whether people are at work at `at` (UTC).
    pub fn is_open(&self, at: NaiveDateTime) -> bool {
        let local = self.timezone.from_utc_datetime(&at).naive_local();
        let (day, time) = (day_index(local.weekday()), local.time());
        if self.open < self.close {
            self.days[day] && time >= self.open && time < self.close
        } else {
            // Overnight: the evening of a listed day, or the early hours after one.
            let yesterday = (day + 6) % 7;
            (self.days[day] && time >= self.open) || (self.days[yesterday] && time < self.close)
        }
    }

    /// "Mon-Fri 09:00-18:00 (Europe/Madrid)", for the out-of-hours text.
    pub fn describe(&self) -> String {
        const NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        let mut runs: Vec<String> = Vec::new();
        let mut i = 0;
        while i < 7 {
            if !self.days[i] {
                i += 1;
                continue;
            }
            let start = i;
            while i + 1 < 7 && self.days[i + 1] {
                i += 1;
            }
            runs.push(match i - start {
                0 => NAMES[start].to_owned(),
                1 => format!("{}, {}", NAMES[start], NAMES[i]),
                _ => format!("{}-{}", NAMES[start], NAMES[i]),
            });
            i += 1;
        }
        format!(
            "{} {}-{} ({})",
            runs.join(", "),
            self.open.format("%H:%M"),
            self.close.format("%H:%M"),
            self.timezone.name()
        )
    }
}

fn day_index(d: Weekday) -> usize {
    d.num_days_from_monday() as usize
}

fn weekday(s: &str) -> Result<usize, String> {
    let d = match s.trim() {
        "mon" | "monday" => Weekday::Mon,
        "tue" | "tuesday" => Weekday::Tue,
        "wed" | "wednesday" => Weekday::Wed,
        "thu" | "thursday" => Weekday::Thu,
        "fri" | "friday" => Weekday::Fri,
        "sat" | "saturday" => Weekday::Sat,
        "sun" | "sunday" => Weekday::Sun,
        other => return Err(format!("`{other}` is not a day (mon … sun)")),
    };
    Ok(day_index(d))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, min, 0)
            .unwrap()
    }

    fn days(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn office_hours_follow_the_zone_and_daylight_saving() {
        let h =
            BusinessHours::parse("Europe/Madrid", &days(&["mon-fri"]), "09:00", "18:00").unwrap();
        // Monday 30 November 2026 (winter, UTC+1).
        for (at, open) in [
            (utc(2026, 11, 30, 7, 59), false), // 08:59 local
            (utc(2026, 11, 30, 8, 0), true),   // 09:00
            (utc(2026, 11, 30, 16, 59), true), // 17:59
            (utc(2026, 11, 30, 17, 0), false), // 18:00
            (utc(2026, 12, 5, 10, 0), false),  // Saturday
            // Summer (UTC+2): 09:00 local is 07:00 UTC.
            (utc(2026, 6, 1, 7, 0), true),
            (utc(2026, 6, 1, 6, 59), false),
        ] {
            assert_eq!(h.is_open(at), open, "{at}");
        }
        assert_eq!(h.describe(), "Mon-Fri 09:00-18:00 (Europe/Madrid)");
    }

    #[test]
    fn overnight_hours_span_midnight() {
        let h = BusinessHours::parse("UTC", &days(&["fri"]), "22:00", "06:00").unwrap();
        assert!(h.is_open(utc(2026, 12, 4, 23, 0)), "Friday night");
        assert!(
            h.is_open(utc(2026, 12, 5, 2, 0)),
            "the early hours after Friday"
        );
        assert!(!h.is_open(utc(2026, 12, 5, 23, 0)), "Saturday night");
        assert!(
            !h.is_open(utc(2026, 12, 4, 2, 0)),
            "the early hours after Thursday"
        );
    }

    #[test]
    fn bad_settings_are_named() {
        for (tz, d, open, close, want) in [
            ("Mars/Olympus", vec!["mon"], "09:00", "18:00", "time zone"),
            ("UTC", vec!["someday"], "09:00", "18:00", "not a day"),
            ("UTC", vec![], "09:00", "18:00", "at least one day"),
            ("UTC", vec!["mon"], "9am", "18:00", "HH:MM"),
            ("UTC", vec!["mon"], "09:00", "09:00", "differ"),
        ] {
            let err = BusinessHours::parse(tz, &days(&d), open, close).unwrap_err();
            assert!(err.contains(want), "{err}");
        }
        let weekend =
            BusinessHours::parse("UTC", &days(&["sat", "sun"]), "10:00", "14:00").unwrap();
        assert_eq!(weekend.describe(), "Sat, Sun 10:00-14:00 (UTC)");
        let wrap = BusinessHours::parse("UTC", &days(&["fri-mon"]), "10:00", "14:00").unwrap();
        assert_eq!(wrap.days, [true, false, false, false, true, true, true]);
    }
}
