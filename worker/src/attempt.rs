//! Running one attempt of a job to its end, timeout included: what keeps a worker's slot taken
//! while a timed-out job's CPU work still runs on the blocking pool.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::handlers::JobControl;

/// While a timed-out job's work has not stopped, a warning this often.
const STILL_RUNNING_WARNING: Duration = Duration::from_secs(5);

/// The attempt ran past its timeout (its work has stopped since).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct TimedOut;

/// Runs `work` (one attempt of a job) to its end. Past `timeout` it raises `control`'s stop and
/// goes on waiting: the attempt's CPU work runs on the blocking pool, which nothing can abort,
/// so the caller keeps the attempt's slot (and its lease) until that work has returned, within
/// the stop latency that BENCHMARKS.md measures ("Cancellation latency"). Dropping the future
/// at the timeout, as before, gave the slot to the next job while the old one still ran.
///
/// # Errors
/// [`TimedOut`] when the timeout fired, whatever the work returned after.
pub(crate) async fn run_to_end<T>(
    timeout: Duration,
    control: &JobControl,
    work: impl Future<Output = T>,
) -> Result<T, TimedOut> {
    let mut work = std::pin::pin!(work);
    if let Ok(out) = tokio::time::timeout(timeout, &mut work).await {
        return Ok(out);
    }
    control.cancel();
    let stopping = Instant::now();
    while tokio::time::timeout(STILL_RUNNING_WARNING, &mut work)
        .await
        .is_err()
    {
        tracing::warn!(
            waited_ms = stopping.elapsed().as_millis() as u64,
            "a timed-out job's work has not stopped yet; its slot stays taken"
        );
    }
    tracing::info!(
        stopped_after_ms = stopping.elapsed().as_millis() as u64,
        "a timed-out job's work stopped"
    );
    Err(TimedOut)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use super::{TimedOut, run_to_end};
    use crate::handlers::JobControl;

    /// Blocking work that checks the job's flag only every `check_every`, for `total` at most;
    /// returns whether it saw the flag.
    async fn blocking_work(
        control: Arc<JobControl>,
        total: Duration,
        check_every: Duration,
    ) -> bool {
        tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            while started.elapsed() < total {
                std::thread::sleep(check_every);
                if control.is_canceled() {
                    return true;
                }
            }
            false
        })
        .await
        .expect("the work does not panic")
    }

    #[tokio::test]
    async fn a_timed_out_attempt_returns_only_once_its_blocking_work_has_stopped() {
        // Arrange: work that looks at its flag every 400 ms, a 50 ms timeout.
        let control = Arc::new(JobControl::default());
        let work = blocking_work(
            control.clone(),
            Duration::from_secs(10),
            Duration::from_millis(400),
        );
        let started = Instant::now();

        // Act
        let outcome = run_to_end(Duration::from_millis(50), &control, work).await;

        // Assert
        assert_eq!(outcome, Err(TimedOut));
        assert!(control.is_canceled(), "the timeout raised the job's stop");
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(400),
            "returned after {took:?}, before the work's first check: the slot would be free while it runs"
        );
        assert!(
            took < Duration::from_secs(5),
            "returned after {took:?}: the work stopped at its first check, not at its end"
        );
    }

    #[tokio::test]
    async fn an_attempt_within_its_timeout_returns_its_output() {
        let control = Arc::new(JobControl::default());
        let work = blocking_work(
            control.clone(),
            Duration::from_millis(20),
            Duration::from_millis(5),
        );

        let outcome = run_to_end(Duration::from_secs(10), &control, work).await;

        assert_eq!(outcome, Ok(false), "finished without seeing a stop");
        assert!(!control.is_canceled());
    }
}
