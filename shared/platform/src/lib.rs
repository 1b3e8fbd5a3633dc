//! The job platform: how work moves from the API to the workers.
//!
//! - [`queue`]: the apalis queues (Redis in distributed mode, a SQLite file embedded). A message
//!   only says "a job of this kind is waiting"; the store's `jobs` row is the job.
//! - [`enqueue`]: [`Platform`], the one way to queue a job, used by the API, the tests and the
//!   benches. A job is drafted ([`Platform::draft`], admission control included), written in the
//!   same store transaction as the domain row that asks for it (an outbox: both or neither, no
//!   undo), and its message pushed after the commit ([`Platform::dispatch`]); a push that fails
//!   is made good by the workers' recovery sweep.
//! - [`events`]: "job X changed", published by workers when a job ends, so a request waiting
//!   for a job wakes at once instead of polling the store.
//! - [`wake`]: "a message of kind K was pushed", so an idle worker fetches at once instead of
//!   on its next poll.
//!
//! The payloads and results are the domain's typed contract (`domain::jobs`). No HTTP here.
#![warn(missing_docs)]

pub mod enqueue;
pub mod events;
pub mod queue;
pub mod wake;

pub use enqueue::{Admission, EnqueueError, Platform};
pub use events::JobEvents;
pub use queue::{QueueError, Queues};
