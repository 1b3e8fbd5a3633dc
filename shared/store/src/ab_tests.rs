//! The A/B tests part of the store: what renters' sessions recorded of a tool's versions, for
//! the creator's cross-renter comparison (aggregated in `domain::ab_test::renters`, never shown
//! per renter). The A/B test itself is a job; its result is the job's.

use async_trait::async_trait;
use uuid::Uuid;

use super::StoreResult;
use domain::ab_test::RenterRecord;

/// Most records read for one comparison (the newest first).
pub const MAX_RENTER_RECORDS: i64 = 10_000;

/// A/B tests in the store.
#[async_trait]
pub trait AbTestStore: Send + Sync + std::fmt::Debug {
    /// The optimization records of `tool` whose sessions started from version `a` or `b`,
    /// made by other accounts than `creator` (renters), newest first, at most
    /// [`MAX_RENTER_RECORDS`].
    async fn renter_records(
        &self,
        tool: Uuid,
        creator: Uuid,
        a: i32,
        b: i32,
    ) -> StoreResult<Vec<RenterRecord>>;
}
