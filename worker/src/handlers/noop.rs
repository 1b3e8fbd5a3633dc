//! `noop`: sleeps cooperatively, then optionally holds a blocking-pool thread the way CPU-bound
//! jobs do; used to exercise and measure the platform itself.

use std::sync::Arc;
use std::time::{Duration, Instant};

use shared::jobs::{Job, NoopJob, NoopResult};

use super::{JobControl, JobError, blocking};

pub(super) async fn run(
    job: &Job,
    input: NoopJob,
    control: Arc<JobControl>,
) -> Result<NoopResult, JobError> {
    if job.attempts <= input.fail_attempts {
        return Err(JobError::transient(format!(
            "attempt {} fails on purpose (fail_attempts = {})",
            job.attempts, input.fail_attempts
        )));
    }
    let steps = input.sleep_ms / 10;
    for step in 0..steps {
        control.check()?;
        if step % 10 == 0 {
            control.report(
                step as f64 / steps as f64,
                format!("slept {} ms", step * 10),
            );
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    control.check()?;
    if input.blocking_ms > 0 {
        let total = Duration::from_millis(input.blocking_ms);
        let every = Duration::from_millis(match input.blocking_check_ms {
            0 => 10,
            ms => ms,
        });
        let control = control.clone();
        blocking(move || {
            let started = Instant::now();
            while started.elapsed() < total {
                std::thread::sleep(every.min(total.saturating_sub(started.elapsed())));
                control.check()?;
            }
            Ok(())
        })
        .await?;
    }
    Ok(NoopResult {
        slept_ms: input.sleep_ms,
        attempt: job.attempts,
    })
}
