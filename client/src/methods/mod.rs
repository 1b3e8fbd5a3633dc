//! The seed's methods, one each ([`market`]: tools, subscriptions, analytics, the account;
//! [`work`]: sessions, optimizations, training, datasets), and what the seed leaves to the
//! caller; [`reviews`] and [`insights`] (A/B tests of versions, forecasts) came after it.

mod insights;
mod market;
mod reviews;
mod work;

pub use work::{Applied, Promotion};

use uuid::Uuid;

/// An id as a path segment.
fn seg(id: Uuid) -> String {
    id.to_string()
}
