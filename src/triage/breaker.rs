//! The circuit breaker in front of a provider: after `failure_threshold` provider errors in a
//! row it opens for a cool-down, during which alerts bypass triage (`breaker_open`); then it
//! half-opens and lets one call probe the provider: a success closes it, a failure opens it again.
//! Its state is a plain value ([`BreakerState::gauge`]) a metrics layer reads.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Where the breaker is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

impl BreakerState {
    /// The value a gauge shows: 0 closed, 1 open, 2 half-open.
    pub fn gauge(self) -> u8 {
        match self {
            BreakerState::Closed => 0,
            BreakerState::Open => 1,
            BreakerState::HalfOpen => 2,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Provider errors in a row that open the breaker.
    pub failure_threshold: u32,
    /// How long it stays open before a probe.
    pub cooldown: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            failure_threshold: 5,
            cooldown: Duration::from_secs(60),
        }
    }
}

#[derive(Debug)]
struct Inner {
    state: BreakerState,
    failures_in_row: u32,
    opened_at: Option<Instant>,
    probe_in_flight: bool,
}

#[derive(Debug)]
pub struct Breaker {
    config: BreakerConfig,
    inner: Mutex<Inner>,
}

impl Breaker {
    pub fn new(config: BreakerConfig) -> Self {
        Breaker {
            config,
            inner: Mutex::new(Inner {
                state: BreakerState::Closed,
                failures_in_row: 0,
                opened_at: None,
                probe_in_flight: false,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A poisoned lock only means a thread panicked between two plain assignments.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn cooled(&self, inner: &Inner, now: Instant) -> bool {
        inner
            .opened_at
            .is_some_and(|opened| now.duration_since(opened) >= self.config.cooldown)
    }

    /// The state as a metric sees it (an open breaker whose cool-down passed shows half-open).
    pub fn state(&self) -> BreakerState {
        let inner = self.lock();
        match inner.state {
            BreakerState::Open if self.cooled(&inner, Instant::now()) => BreakerState::HalfOpen,
            state => state,
        }
    }

    /// Whether new alerts should bypass triage right now (open and still cooling down).
    pub fn rejecting(&self) -> bool {
        let inner = self.lock();
        match inner.state {
            BreakerState::Closed => false,
            BreakerState::Open => !self.cooled(&inner, Instant::now()),
            BreakerState::HalfOpen => inner.probe_in_flight,
        }
    }

    /// Asks to make one call: always when closed; once as the probe when half-open.
    pub fn admit(&self) -> bool {
        let mut inner = self.lock();
        let now = Instant::now();
        if inner.state == BreakerState::Open && self.cooled(&inner, now) {
            inner.state = BreakerState::HalfOpen;
            inner.probe_in_flight = false;
        }
        match inner.state {
            BreakerState::Closed => true,
            BreakerState::Open => false,
            BreakerState::HalfOpen if inner.probe_in_flight => false,
            BreakerState::HalfOpen => {
                inner.probe_in_flight = true;
                true
            }
        }
    }

    pub fn record_success(&self) {
        let mut inner = self.lock();
        inner.state = BreakerState::Closed;
        inner.failures_in_row = 0;
        inner.opened_at = None;
        inner.probe_in_flight = false;
    }

    pub fn record_failure(&self) {
        let mut inner = self.lock();
        inner.failures_in_row = inner.failures_in_row.saturating_add(1);
        let open = inner.state == BreakerState::HalfOpen
            || inner.failures_in_row >= self.config.failure_threshold.max(1);
        if open {
            if inner.state != BreakerState::Open {
                tracing::warn!(failures = inner.failures_in_row, "Triage breaker opened");
            }
            inner.state = BreakerState::Open;
            inner.opened_at = Some(Instant::now());
            inner.probe_in_flight = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_half_opens_and_closes() {
        let breaker = Breaker::new(BreakerConfig {
            failure_threshold: 2,
            cooldown: Duration::from_millis(50),
        });
        assert!(breaker.admit());
        breaker.record_failure();
        assert_eq!(breaker.state(), BreakerState::Closed);
        breaker.record_failure();
        assert_eq!(breaker.state(), BreakerState::Open);
        assert!(breaker.rejecting());
        assert!(!breaker.admit());
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(breaker.state(), BreakerState::HalfOpen);
        assert!(breaker.admit(), "one probe");
        assert!(!breaker.admit(), "only one probe");
        breaker.record_failure();
        assert_eq!(breaker.state(), BreakerState::Open);
        std::thread::sleep(Duration::from_millis(60));
        assert!(breaker.admit());
        breaker.record_success();
        assert_eq!(breaker.state(), BreakerState::Closed);
        assert_eq!(breaker.state().gauge(), 0);
    }
}
