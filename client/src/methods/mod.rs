//! The seed's methods, one each ([`market`]: tools, subscriptions, analytics, the account;
//! [`work`]: sessions, optimizations, training, datasets), and what the seed leaves to the
//! caller.

mod market;
mod work;

pub use work::{Applied, Promotion};

use uuid::Uuid;

/// An id as a path segment.
fn seg(id: Uuid) -> String {
    id.to_string()
}
