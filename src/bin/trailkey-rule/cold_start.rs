//! Cold-start timing (issue 6 §4): how long the bootstrap took from process start to its first
//! handled event, logged once as one `first event handled` line with `init_to_first_event_ms`
//! and its parts. `scripts/bench_lambda.sh` reads that line.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Linux's `USER_HZ`, the unit of `starttime` in `/proc/self/stat`: 100 on x86_64 and arm64.
const USER_HZ: f64 = 100.0;

/// Taken first thing in `main`.
pub struct Startup {
    main_entered: Instant,
    /// Process start (exec) → first line of `main` (after `#[tokio::main]` built the runtime),
    /// from `/proc` (10 ms resolution); `None` if unreadable.
    before_main: Option<Duration>,
}

impl Startup {
    /// Now, and how long the process has existed (read from `/proc`).
    pub fn begin() -> Self {
        Self {
            main_entered: Instant::now(),
            before_main: process_age(),
        }
    }

    /// The bootstrap is about to poll for its first event.
    pub fn ready(self) -> ColdStart {
        ColdStart {
            ready: self.main_entered.elapsed(),
            startup: self,
            logged: AtomicBool::new(false),
        }
    }
}

/// The init figures, until the first event has been handled and logged.
pub struct ColdStart {
    startup: Startup,
    /// `main` → ready to poll: tracing, SDK config, clients.
    ready: Duration,
    logged: AtomicBool,
}

impl ColdStart {
    /// Logs the init figures if this was the first event; `event_started` is when the handler
    /// received it.
    pub fn event_handled(&self, event_started: Instant, ok: bool) {
        if self.logged.swap(true, Ordering::Relaxed) {
            return;
        }
        let main_to_done = self.startup.main_entered.elapsed();
        let first_event = event_started.elapsed();
        let waiting = main_to_done.saturating_sub(self.ready + first_event);
        let init_to_first_event = self.startup.before_main.map(|d| d + main_to_done);
        tracing::info!(
            init_to_first_event_ms = init_to_first_event.map(ms),
            before_main_ms = self.startup.before_main.map(ms),
            main_to_ready_ms = ms(self.ready),
            waiting_ms = ms(waiting),
            first_event_ms = ms(first_event),
            main_to_first_event_ms = ms(main_to_done),
            ok,
            "first event handled"
        );
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// How long this process has existed: `/proc/uptime` minus `starttime` from `/proc/self/stat`
/// (both since boot, 10 ms resolution).
fn process_age() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let uptime = std::fs::read_to_string("/proc/uptime").ok()?;
    age_from(&stat, &uptime)
}

fn age_from(stat: &str, uptime: &str) -> Option<Duration> {
    // `comm` (field 2) is in parentheses and may hold spaces or `)`: fields 3.. follow the last `)`.
    let (_, rest) = stat.rsplit_once(')')?;
    let start_ticks: f64 = rest.split_whitespace().nth(22 - 3)?.parse().ok()?;
    let up_secs: f64 = uptime.split_whitespace().next()?.parse().ok()?;
    // Both are whole ticks: round away the float error before converting.
    let age_ms = ((up_secs - start_ticks / USER_HZ) * 1000.0).round();
    Duration::try_from_secs_f64(age_ms / 1000.0).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    // A real line, with a `comm` holding a space and a parenthesis.
    const STAT: &str = "4242 (boot strap) R 1 4242 4242 0 -1 4194560 120 0 0 0 1 0 0 0 20 0 \
        4 0 1234567 12345678 1000 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";

    #[test]
    fn age_is_uptime_minus_starttime() {
        let age = age_from(STAT, "12345.81 24000.00\n");
        assert_eq!(age.map(|d| d.as_millis()), Some(140));
    }

    #[test]
    fn comm_with_parenthesis() {
        let stat = STAT.replace("(boot strap)", "(a) b (c)");
        assert_eq!(
            age_from(&stat, "12345.67 1.0").map(|d| d.as_millis()),
            Some(0)
        );
    }

    #[test]
    fn unreadable_or_negative_is_none() {
        assert_eq!(age_from("garbage", "1.0"), None);
        assert_eq!(age_from(STAT, "not-a-number"), None);
        assert_eq!(age_from(STAT, "100.00 1.0"), None);
    }

    #[test]
    fn logs_only_the_first_event() {
        let cold = Startup::begin().ready();
        let t = Instant::now();
        cold.event_handled(t, true);
        assert!(cold.logged.load(Ordering::Relaxed));
        cold.event_handled(t, false);
    }

    #[test]
    fn this_process_has_an_age() {
        if cfg!(target_os = "linux") {
            assert!(process_age().is_some());
        }
    }
}
