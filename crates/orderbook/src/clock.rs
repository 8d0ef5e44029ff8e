//! Where the book's "now" comes from, and how time is written down.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, SecondsFormat, Utc};

type Now = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;
type Sleep = Arc<dyn Fn(std::time::Duration) + Send + Sync>;

/// The book's source of the current time, and how it waits. The system clock in production; a
/// manual clock in tests that need holds to expire or payment windows to pass.
///
/// The book waits in one place: the delay after a wrong PIN. A manual clock does not sleep: it
/// moves its time forward by the delay and records it ([`ManualTime::slept`]).
#[derive(Clone)]
pub struct Clock {
    now: Now,
    sleep: Sleep,
}

impl Clock {
    pub fn system() -> Self {
        Clock { now: Arc::new(Utc::now), sleep: Arc::new(std::thread::sleep) }
    }

    /// A clock that reads from a shared cell the test moves forward.
    pub fn manual(start: DateTime<Utc>) -> (Self, ManualTime) {
        let cell = Arc::new(Mutex::new(start));
        let slept = Arc::new(Mutex::new(Vec::new()));
        let read = cell.clone();
        let (moved, log) = (cell.clone(), slept.clone());
        let clock = Clock {
            now: Arc::new(move || *read.lock().expect("clock lock")),
            sleep: Arc::new(move |d| {
                log.lock().expect("clock lock").push(d);
                *moved.lock().expect("clock lock") += Duration::from_std(d).unwrap_or_default();
            }),
        };
        (clock, ManualTime { cell, slept })
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.now)()
    }

    /// Waits `d` (a manual clock records it and moves on by `d` at once).
    pub fn sleep(&self, d: std::time::Duration) {
        (self.sleep)(d)
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::system()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Clock")
    }
}

/// The handle that moves a manual clock.
#[derive(Clone, Debug)]
pub struct ManualTime {
    cell: Arc<Mutex<DateTime<Utc>>>,
    slept: Arc<Mutex<Vec<std::time::Duration>>>,
}

impl ManualTime {
    pub fn advance(&self, by: Duration) {
        let mut t = self.cell.lock().expect("clock lock");
        *t += by;
    }

    pub fn set(&self, to: DateTime<Utc>) {
        *self.cell.lock().expect("clock lock") = to;
    }

    /// Every wait the book asked of this clock, oldest first.
    pub fn slept(&self) -> Vec<std::time::Duration> {
        self.slept.lock().expect("clock lock").clone()
    }
}

/// Fixed-width RFC 3339 in UTC, so stored times compare correctly as text.
pub fn fmt_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Parses a time written by [`fmt_time`].
pub fn parse_time(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).unwrap_or_default()
}
