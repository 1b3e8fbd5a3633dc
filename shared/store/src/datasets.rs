//! Renters' datasets: summaries and bars.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use domain::Dataset;
use domain::dataset::Bars;

use crate::{DatasetLimits, NewDataset, StoreResult};

/// Datasets.
#[async_trait]
pub trait DatasetStore: Send + Sync + std::fmt::Debug {
    /// Stores a dataset, or returns the owner's existing one with the same content hash.
    /// `true` when it was created now. Concurrent identical calls make one row.
    ///
    /// # Errors
    /// [`crate::StoreError::Quota`] when a new dataset would take the owner past `limits`.
    async fn create_dataset(
        &self,
        new: &NewDataset,
        limits: DatasetLimits,
        now: DateTime<Utc>,
    ) -> StoreResult<(Dataset, bool)>;

    /// A dataset's summary, only for its owner (`None` for anyone else).
    async fn dataset(&self, owner: Uuid, id: Uuid) -> StoreResult<Option<Dataset>>;

    /// The owner's datasets, newest first, after the cursor.
    async fn list_datasets(
        &self,
        owner: Uuid,
        before: Option<Uuid>,
        limit: i64,
    ) -> StoreResult<Vec<Dataset>>;

    /// A dataset's bars (for jobs; the caller checks who may use it). One row read and a
    /// decode: about 41 bytes per bar.
    async fn dataset_bars(&self, id: Uuid) -> StoreResult<Option<Bars>>;

    /// The bars of any stored dataset with this content hash (the same bars, whoever owns
    /// them): what a certificate's verification re-runs on, knowing only the hash.
    async fn dataset_bars_by_hash(&self, content_hash: &str) -> StoreResult<Option<Bars>>;

    /// Deletes the owner's dataset with its bars; `NotFound` for anyone else.
    async fn delete_dataset(&self, owner: Uuid, id: Uuid) -> StoreResult<()>;
}
