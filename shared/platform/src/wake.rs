//! Queue wake-ups: an idle consumer sleeps until a message of its kind is pushed, instead of
//! finding it on its next poll. In-process a push signals the kind's consumers directly
//! (embedded mode, and an API that runs its own workers); with Redis, the push's script also
//! publishes on `{prefix}:wake:{queue}`, and every process that consumes forwards what it hears
//! to its consumers. Best effort, like every pub/sub: a consumer still polls its queue every
//! `worker.poll_interval_ms`, so a lost wake-up costs at most that.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::Stream;
use futures::StreamExt;
use futures::task::AtomicWaker;
use shared::jobs::JobKind;

/// One consumer's wake-up flag.
#[derive(Debug, Default)]
struct Flag {
    waker: AtomicWaker,
    set: AtomicBool,
}

impl Flag {
    fn raise(&self) {
        self.set.store(true, Ordering::Release);
        self.waker.wake();
    }
}

/// The consumers a process has, with the kind each takes.
type Consumers = Vec<(JobKind, Weak<Flag>)>;

/// The wake-up points of one process, one list of consumers per job kind; cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Wakeups {
    consumers: Arc<Mutex<Consumers>>,
    listening: Arc<AtomicBool>,
}

impl Wakeups {
    /// Wakes every consumer of `kind` in this process.
    pub fn signal(&self, kind: JobKind) {
        let mut consumers = self
            .consumers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        consumers.retain(|(k, flag)| match flag.upgrade() {
            Some(flag) => {
                if *k == kind {
                    flag.raise();
                }
                true
            }
            None => false,
        });
    }

    /// A stream that yields once per wake-up of `kind` (several wake-ups before it is polled
    /// count as one: the consumer fetches whatever is waiting).
    pub fn stream(&self, kind: JobKind) -> Wake {
        let flag = Arc::new(Flag::default());
        self.consumers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((kind, Arc::downgrade(&flag)));
        Wake(flag)
    }

    /// Starts forwarding the Redis wake-up channels of `prefix` to this process's consumers
    /// (once per process; later calls do nothing). Re-subscribes after Redis restarts.
    pub(crate) fn listen(&self, client: &redis::Client, prefix: &str) {
        if self.listening.swap(true, Ordering::SeqCst) {
            return;
        }
        tokio::spawn(forward(client.clone(), channel(prefix, "*"), self.clone()));
    }
}

/// The Redis channel a kind's pushes are announced on.
pub(crate) fn channel(prefix: &str, queue: &str) -> String {
    format!("{prefix}:wake:{queue}")
}

/// Yields `()` each time its consumer is woken; never ends.
#[derive(Debug)]
pub struct Wake(Arc<Flag>);

impl Stream for Wake {
    type Item = ();

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<()>> {
        let flag = &self.0;
        if flag.set.swap(false, Ordering::AcqRel) {
            return Poll::Ready(Some(()));
        }
        // Registered before the second look, so a wake-up between the two is not lost.
        flag.waker.register(cx.waker());
        if flag.set.swap(false, Ordering::AcqRel) {
            Poll::Ready(Some(()))
        } else {
            Poll::Pending
        }
    }
}

async fn forward(client: redis::Client, pattern: String, wakeups: Wakeups) {
    let prefix_len = pattern.len() - 1;
    loop {
        match client.get_async_pubsub().await {
            Ok(mut pubsub) => {
                if let Err(e) = pubsub.psubscribe(&pattern).await {
                    tracing::debug!(error = %e, "subscribing to queue wake-ups failed");
                } else {
                    let mut messages = pubsub.on_message();
                    while let Some(message) = messages.next().await {
                        let queue = message.get_channel_name().get(prefix_len..);
                        if let Some(kind) = JobKind::ALL.iter().find(|k| Some(k.queue()) == queue) {
                            wakeups.signal(*kind);
                        }
                    }
                }
            }
            Err(e) => tracing::debug!(error = %e, "connecting for queue wake-ups failed"),
        }
        // Whatever was pushed meanwhile is found by the consumers' polls.
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_signal_wakes_the_consumers_of_its_kind_only() {
        let wakeups = Wakeups::default();
        let mut noop = wakeups.stream(JobKind::Noop);
        let mut other = wakeups.stream(JobKind::Evaluate);
        wakeups.signal(JobKind::Noop);
        wakeups.signal(JobKind::Noop);
        let woke = tokio::time::timeout(Duration::from_secs(1), noop.next()).await;
        assert_eq!(woke, Ok(Some(())));
        // Two signals before a poll are one wake-up.
        let again = tokio::time::timeout(Duration::from_millis(50), noop.next()).await;
        assert!(again.is_err(), "a second wake-up was not signalled");
        let other_woke = tokio::time::timeout(Duration::from_millis(50), other.next()).await;
        assert!(other_woke.is_err(), "another kind's consumer was woken");
    }

    #[tokio::test]
    async fn a_waiting_consumer_is_woken() {
        let wakeups = Wakeups::default();
        let mut noop = wakeups.stream(JobKind::Noop);
        let waiter = tokio::spawn(async move { noop.next().await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        wakeups.signal(JobKind::Noop);
        let woke = tokio::time::timeout(Duration::from_secs(1), waiter).await;
        assert!(matches!(woke, Ok(Ok(Some(())))));
    }

    #[test]
    fn dropped_consumers_are_forgotten() {
        let wakeups = Wakeups::default();
        drop(wakeups.stream(JobKind::Noop));
        wakeups.signal(JobKind::Noop);
        assert!(wakeups.consumers.lock().expect("not poisoned").is_empty());
    }
}
