//! `noop`: sleeps cooperatively; used to exercise and measure the platform itself.

use std::sync::Arc;
use std::time::Duration;

use shared::jobs::{Job, NoopJob, NoopResult};

use super::{JobControl, JobError};

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
    Ok(NoopResult {
        slept_ms: input.sleep_ms,
        attempt: job.attempts,
    })
}
