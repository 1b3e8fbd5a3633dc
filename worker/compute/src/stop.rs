//! The one stop signal of every long computation in this crate: training (before every
//! mini-batch and validation or prediction chunk, every
//! [`STOP_CHECK_STEPS`](crate::train::ql::STOP_CHECK_STEPS) Q-learning steps), optimization
//! (before every trial) and evaluation (between passes over the bars). A job's runtime raises it
//! on a cancel request or a timeout; the computation then returns within one checked step,
//! whose worst cases `cargo run --release -p compute --example stop_latency` measures
//! (BENCHMARKS.md, "Cancellation latency").
//!
//! Why a borrowed closure and not an `Arc<AtomicBool>`: callers combine reasons (a session's
//! time limit ends a search, a cancel abandons it), and a closure does that without this crate
//! knowing about clocks or jobs. Checking costs one indirect call (and whatever the closure
//! reads, usually one relaxed atomic load): the loops check at most every few microseconds
//! of work, never per bar.

use std::fmt;

/// A cooperative stop request: [`Stop::requested`] says whether the work should end now. `Copy`
/// and `Sync`, so rayon tasks share it by value.
#[derive(Clone, Copy)]
pub struct Stop<'a>(&'a (dyn Fn() -> bool + Sync));

fn never() -> bool {
    false
}

impl<'a> Stop<'a> {
    /// A signal that is never raised (benchmarks, tests, callers that cannot cancel).
    pub const NEVER: Stop<'static> = Stop(&never);

    /// A signal raised whenever `check` returns true.
    pub fn new(check: &'a (dyn Fn() -> bool + Sync)) -> Self {
        Stop(check)
    }

    /// Whether the work should stop now.
    #[inline]
    pub fn requested(self) -> bool {
        (self.0)()
    }
}

impl fmt::Debug for Stop<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Stop").field(&self.requested()).finish()
    }
}

impl<'a, F: Fn() -> bool + Sync> From<&'a F> for Stop<'a> {
    fn from(check: &'a F) -> Self {
        Stop(check)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::Stop;

    #[test]
    fn a_stop_follows_its_check_and_never_is_never_raised() {
        let flag = AtomicBool::new(false);
        let check = || flag.load(Ordering::Relaxed);
        let stop = Stop::from(&check);
        assert!(!stop.requested());
        flag.store(true, Ordering::Relaxed);
        assert!(stop.requested(), "raised once the flag is");
        assert!(!Stop::NEVER.requested());
    }
}
