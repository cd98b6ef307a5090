//! Time, injected: nothing in Bunker reads the system clock except [`SystemClock`], so
//! tests can stop and move time.

use std::sync::{Arc, Mutex};

use jiff::{SignedDuration, Timestamp};

/// A source of the current time.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> Timestamp;
}

/// The real time.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that only moves when told to. Clones share the same time.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<Timestamp>>);

impl ManualClock {
    /// A clock stopped at `start`.
    pub fn new(start: Timestamp) -> Self {
        Self(Arc::new(Mutex::new(start)))
    }
    /// Sets the time.
    pub fn set(&self, to: Timestamp) {
        *self.lock() = to;
    }
    /// Moves the time by `by` (backwards when negative).
    pub fn advance(&self, by: SignedDuration) {
        let mut now = self.lock();
        *now = now.checked_add(by).expect("manual clock moved out of range");
    }
    fn lock(&self) -> std::sync::MutexGuard<'_, Timestamp> {
        // A panic while holding the lock cannot leave a Timestamp half-written.
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.lock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let start = Timestamp::from_second(1_800_000_000).unwrap();
        let clock = ManualClock::new(start);
        let shared = clock.clone();
        assert_eq!(clock.now(), start);
        shared.advance(SignedDuration::from_secs(90));
        assert_eq!(clock.now(), start + SignedDuration::from_secs(90));
        clock.set(start);
        assert_eq!(shared.now(), start);
    }
}
