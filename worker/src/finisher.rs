//! Writing attempts' outcomes in batches: one task per worker takes every outcome waiting when
//! it is free and writes them in one statement ([`JobStore::finish_jobs`]), so a worker running
//! many short jobs makes one round trip and one commit for several of them instead of one each.
//! A lone outcome is written at once: batching adds no wait, only what queued up while the
//! previous batch was being written goes together.

use std::sync::Arc;

use shared::clock::SharedClock;
use shared::store::{JobClaim, JobOutcome, Store};
use tokio::sync::{mpsc, oneshot};

/// At most this many outcomes in one batch.
const BATCH: usize = 256;

struct Pending {
    claim: JobClaim,
    outcome: JobOutcome,
    written: oneshot::Sender<Result<bool, String>>,
}

/// The batching writer of one worker's outcomes (see the module).
#[derive(Debug)]
pub(crate) struct Finisher {
    tx: mpsc::UnboundedSender<Pending>,
}

impl Finisher {
    /// Starts the writer task (it ends when the finisher is dropped).
    pub(crate) fn start(store: Arc<dyn Store>, clock: SharedClock) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(write_batches(store, clock, rx));
        Self { tx }
    }

    /// Writes one attempt's outcome (no effect) with whatever others wait; whether it was
    /// written (`false`: the claim is no longer held), as [`JobStore::finish_job`].
    ///
    /// # Errors
    /// The store's error for the whole batch, in words (the caller writes the outcome alone).
    pub(crate) async fn finish(
        &self,
        claim: JobClaim,
        outcome: JobOutcome,
    ) -> Result<bool, String> {
        let (written, answer) = oneshot::channel();
        self.tx
            .send(Pending {
                claim,
                outcome,
                written,
            })
            .map_err(|_| "the outcome writer stopped".to_owned())?;
        answer
            .await
            .map_err(|_| "the outcome writer stopped".to_owned())?
    }
}

async fn write_batches(
    store: Arc<dyn Store>,
    clock: SharedClock,
    mut rx: mpsc::UnboundedReceiver<Pending>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        // Moved out, not copied: a result can be a large document (an equity curve).
        let (done, answers): (Vec<_>, Vec<_>) = batch
            .drain(..)
            .map(|p| ((p.claim, p.outcome), p.written))
            .unzip();
        metrics::histogram!("worker_finish_batch_size").record(done.len() as f64);
        match store.finish_jobs(&done, clock.now()).await {
            Ok(written) => {
                for (answer, written) in answers.into_iter().zip(written) {
                    let _ = answer.send(Ok(written));
                }
            }
            Err(e) => {
                let why = format!("{e:?}");
                for answer in answers {
                    let _ = answer.send(Err(why.clone()));
                }
            }
        }
    }
}
