//! Reviews and the rating of a tool, as the API shows them.

use chrono::{DateTime, Utc};
use serde::Serialize;
use shared::domain::{Rating, Review};
use utoipa::ToSchema;
use uuid::Uuid;

/// A tool's visible reviews, added up. Hidden reviews count nowhere.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct RatingView {
    /// Visible reviews.
    pub count: i64,
    /// Their mean in stars (1-5); `null` without reviews.
    pub mean: Option<f64>,
    /// The Bayesian average `GET /v1/tools?sort=rating` ranks by: five imaginary 3-star reviews
    /// counted in with the real ones, `(15 + sum) / (5 + count)`, so a tool without reviews
    /// scores 3 and one 5-star review (3.33) does not outrank fifty 4.8s (4.64).
    pub bayesian: f64,
}

impl From<Rating> for RatingView {
    fn from(r: Rating) -> Self {
        Self {
            count: r.count,
            mean: r.mean(),
            bayesian: r.bayesian(),
        }
    }
}

/// A review of a tool. Text is returned exactly as its author wrote it: escape it where you
/// render it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewView {
    /// Id.
    pub id: Uuid,
    /// The tool reviewed.
    pub tool_id: Uuid,
    /// The author's account id.
    pub author_id: Uuid,
    /// Stars, 1-5.
    pub rating: i16,
    /// Title (1-120 characters).
    pub title: String,
    /// Body (up to 5,000 characters, may be empty).
    pub body: String,
    /// The creator's reply (once per review).
    pub reply: Option<String>,
    /// When the creator replied.
    pub replied_at: Option<DateTime<Utc>>,
    /// Whether an operator hid it (then only its author and operators see it).
    pub hidden: bool,
    /// When it was hidden (shown to its author and operators).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden_at: Option<DateTime<Utc>>,
    /// The operator's reason (shown to its author and operators).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden_reason: Option<String>,
    /// Written.
    pub created_at: DateTime<Utc>,
    /// Last changed by its author.
    pub updated_at: DateTime<Utc>,
}

impl From<&Review> for ReviewView {
    fn from(r: &Review) -> Self {
        Self {
            id: r.id,
            tool_id: r.tool_id,
            author_id: r.author_id,
            rating: r.rating,
            title: r.title.clone(),
            body: r.body.clone(),
            reply: r.reply.clone(),
            replied_at: r.replied_at,
            hidden: r.is_hidden(),
            hidden_at: r.hidden_at,
            hidden_reason: r.hidden_reason.clone(),
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}
