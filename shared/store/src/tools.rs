//! Tools and their versions.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use domain::{Money, Tier, Tool, ToolVersion};
use serde_json::{Map, Value};

use crate::StoreResult;

/// Tools and their versions.
#[async_trait]
pub trait ToolStore: Send + Sync + std::fmt::Debug {
    /// Creates a tool with version 1.
    async fn create_tool(&self, tool: &NewTool, now: DateTime<Utc>) -> StoreResult<Tool>;

    /// A tool by id, deleted or not.
    async fn tool(&self, id: Uuid) -> StoreResult<Option<Tool>>;

    /// Listed (not deleted) tools, newest first.
    async fn list_tools(&self, filter: &ToolFilter, limit: i64) -> StoreResult<Vec<Tool>>;

    /// Changes a tool; a change of parameters makes a new version.
    async fn update_tool(
        &self,
        id: Uuid,
        patch: &ToolPatch,
        now: DateTime<Utc>,
    ) -> StoreResult<Tool>;

    /// Soft-deletes a tool.
    async fn delete_tool(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<()>;

    /// Every version of a tool, oldest first.
    async fn tool_versions(&self, id: Uuid) -> StoreResult<Vec<ToolVersion>>;
}

/// Fields of a tool at creation (validated by the caller).
#[derive(Clone, Debug)]
pub struct NewTool {
    /// Creator (the caller).
    pub creator_id: Uuid,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Category.
    pub category: String,
    /// Family.
    pub family: String,
    /// Monthly price.
    pub monthly_price: Money,
    /// Minimum tier.
    pub tier: Tier,
    /// Complete, validated parameters.
    pub parameters: Map<String, Value>,
    /// Metadata object.
    pub metadata: Map<String, Value>,
    /// The creator's standards gate (`None`: defaults).
    pub standards: Option<domain::standards::StandardsConfig>,
    /// Promote passed records of ending sessions at once.
    pub auto_promote: bool,
    /// The creator's dataset every promotion must also pass on.
    pub reference_dataset_id: Option<Uuid>,
}

/// Changes to a tool; `None` keeps the field.
#[derive(Clone, Debug, Default)]
pub struct ToolPatch {
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New category.
    pub category: Option<String>,
    /// New monthly price (for new subscriptions; existing ones keep their locked price).
    pub monthly_price: Option<Money>,
    /// New minimum tier.
    pub tier: Option<Tier>,
    /// New metadata.
    pub metadata: Option<Map<String, Value>>,
    /// New complete, validated parameters (a new version when they differ).
    pub parameters: Option<Map<String, Value>>,
    /// New standards gate (`Some(None)`: back to the defaults).
    pub standards: Option<Option<domain::standards::StandardsConfig>>,
    /// New auto-promotion setting.
    pub auto_promote: Option<bool>,
    /// New reference dataset (`Some(None)`: none).
    pub reference_dataset_id: Option<Option<Uuid>>,
}

/// Filters of the tool listing.
#[derive(Clone, Debug, Default)]
pub struct ToolFilter {
    /// Exact category.
    pub category: Option<String>,
    /// Exact family.
    pub family: Option<String>,
    /// Exact minimum tier.
    pub tier: Option<Tier>,
    /// Monthly price at most this.
    pub max_price: Option<Money>,
    /// Created by this account.
    pub creator_id: Option<Uuid>,
    /// Only tools older than this id (cursor of [`ToolOrder::Newest`]).
    pub before: Option<Uuid>,
    /// The order of the listing.
    pub order: ToolOrder,
    /// Only tools after this `(score, id)` in [`ToolOrder::Rating`] (its cursor).
    pub rated_after: Option<(i64, Uuid)>,
}

/// The order of the tool listing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ToolOrder {
    /// Newest first (by id).
    #[default]
    Newest,
    /// Best rated first, by [`domain::Rating::score`] (the Bayesian average), then newest.
    Rating,
}
