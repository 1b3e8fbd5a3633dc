//! Reviews of tools. Every write that changes what counts (a new review, a new rating, a
//! deletion, hiding, unhiding) also rewrites the tool's [`domain::Rating`] and its score in the
//! same transaction, with the tool's row locked first, so concurrent reviews of one tool never
//! lose a count.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use domain::{Review, ReviewReport};

use crate::StoreResult;

/// Reviews of tools.
#[async_trait]
pub trait ReviewStore: Send + Sync + std::fmt::Debug {
    /// Whether `account` holds or held a subscription to `tool` (any status, ever) or inserted
    /// it into one of its sessions. (Whether it is the creator is the caller's to check.)
    async fn has_used_tool(&self, tool: Uuid, account: Uuid) -> StoreResult<bool>;

    /// Writes a review (validated by the caller).
    ///
    /// # Errors
    /// [`crate::StoreError::Conflict`] when the author already reviewed the tool;
    /// [`crate::StoreError::NotFound`] when the tool does not exist.
    async fn create_review(&self, review: &NewReview, now: DateTime<Utc>) -> StoreResult<Review>;

    /// A review by id, hidden or not.
    async fn review(&self, id: Uuid) -> StoreResult<Option<Review>>;

    /// The review `author` wrote of `tool`, hidden or not.
    async fn review_by(&self, tool: Uuid, author: Uuid) -> StoreResult<Option<Review>>;

    /// The reviews `filter` selects (one tool's or every tool's, by visibility), newest first,
    /// older than `before` (a cursor) if given.
    async fn list_reviews(
        &self,
        filter: ReviewFilter,
        before: Option<Uuid>,
        limit: i64,
    ) -> StoreResult<Vec<Review>>;

    /// Changes a review's rating, title or body (validated by the caller).
    ///
    /// # Errors
    /// [`crate::StoreError::NotFound`] when it does not exist.
    async fn update_review(
        &self,
        id: Uuid,
        patch: &ReviewPatch,
        now: DateTime<Utc>,
    ) -> StoreResult<Review>;

    /// Deletes a review.
    ///
    /// # Errors
    /// [`crate::StoreError::NotFound`] when it does not exist.
    async fn delete_review(&self, id: Uuid) -> StoreResult<()>;

    /// Sets the creator's one reply.
    ///
    /// # Errors
    /// [`crate::StoreError::Conflict`] when the review has a reply already;
    /// [`crate::StoreError::NotFound`] when it does not exist.
    async fn reply_to_review(
        &self,
        id: Uuid,
        reply: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Review>;

    /// Records `reporter`'s report of a review (validated by the caller), or reopens its
    /// resolved one with the new reason.
    ///
    /// # Errors
    /// [`crate::StoreError::Conflict`] while that account's report of it is open;
    /// [`crate::StoreError::NotFound`] when the review does not exist.
    async fn report_review(
        &self,
        review: Uuid,
        reporter: Uuid,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<ReviewReport>;

    /// The open reports of each of `reviews`, oldest first; only `reporter`'s if given.
    async fn open_reports(
        &self,
        reviews: &[Uuid],
        reporter: Option<Uuid>,
    ) -> StoreResult<Vec<ReviewReport>>;

    /// Resolves every open report of a review (an operator kept it); how many there were.
    ///
    /// # Errors
    /// [`crate::StoreError::NotFound`] when the review does not exist.
    async fn dismiss_reports(&self, review: Uuid, now: DateTime<Utc>) -> StoreResult<u64>;

    /// Hides a review (`Some(reason)`, which may be empty) or shows it again (`None`). Hiding a
    /// hidden review keeps its first hiding. Hiding resolves the review's open reports.
    ///
    /// # Errors
    /// [`crate::StoreError::NotFound`] when it does not exist.
    async fn set_review_hidden(
        &self,
        id: Uuid,
        hide: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<Review>;
}

/// A review to write.
#[derive(Clone, Debug)]
pub struct NewReview {
    /// The tool.
    pub tool_id: Uuid,
    /// The author.
    pub author_id: Uuid,
    /// Stars, 1..=5.
    pub rating: i16,
    /// Title, as given.
    pub title: String,
    /// Body, as given.
    pub body: String,
}

/// Changes to a review; `None` keeps the field.
#[derive(Clone, Debug, Default)]
pub struct ReviewPatch {
    /// New stars.
    pub rating: Option<i16>,
    /// New title.
    pub title: Option<String>,
    /// New body.
    pub body: Option<String>,
}

/// Which reviews a listing holds, by whether an operator hid them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReviewVisibility {
    /// Only those shown to everyone.
    #[default]
    Visible,
    /// Only those an operator hid.
    Hidden,
    /// Both.
    Any,
}

/// What a listing of reviews holds: one tool's or every tool's, by visibility, all or only the
/// reported ones.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReviewFilter {
    /// One tool's reviews; `None` for every tool's.
    pub tool: Option<Uuid>,
    /// Hidden, visible or both.
    pub visibility: ReviewVisibility,
    /// Only reviews with an open report.
    pub reported: bool,
}
