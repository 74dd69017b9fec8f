use jiff::Timestamp;
use std::sync::{Arc, Mutex};

/// Where "now" comes from. The system clock in production; tests set and move time by hand so
/// that nothing has to sleep.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> Timestamp + Send + Sync>);

impl Clock {
    /// The system clock, to the microsecond (the precision instants are stored with).
    pub fn system() -> Clock {
        Clock(Arc::new(|| {
            let now = Timestamp::now();
            Timestamp::from_microsecond(now.as_microsecond()).unwrap_or(now)
        }))
    }

    /// A clock that stands still at `at` until the returned handle moves it.
    pub fn manual(at: Timestamp) -> (Clock, ManualClock) {
        let now = Arc::new(Mutex::new(at));
        let read = now.clone();
        (
            Clock(Arc::new(move || *read.lock().expect("clock lock"))),
            ManualClock(now),
        )
    }

    /// Time from any source, e.g. a test's that stops working on purpose.
    pub fn from_fn(now: impl Fn() -> Timestamp + Send + Sync + 'static) -> Clock {
        Clock(Arc::new(now))
    }

    pub fn now(&self) -> Timestamp {
        (self.0)()
    }
}

#[derive(Clone)]
pub struct ManualClock(Arc<Mutex<Timestamp>>);

impl ManualClock {
    pub fn set(&self, at: Timestamp) {
        *self.0.lock().expect("clock lock") = at;
    }

    /// Moves the clock on by `by`.
    pub fn advance(&self, by: std::time::Duration) {
        let mut now = self.0.lock().expect("clock lock");
        *now += jiff::SignedDuration::try_from(by).expect("a test-sized duration");
    }

    pub fn now(&self) -> Timestamp {
        *self.0.lock().expect("clock lock")
    }
}
