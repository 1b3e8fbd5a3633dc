//! Tools (a family plus parameters, listed for monthly rent) and their versions.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{Money, Tier};
use crate::standards::StandardsConfig;

/// A listed tool. Its parameters live in versions; `current_version` is the one in force.
#[derive(Clone, Debug, PartialEq)]
pub struct Tool {
    /// Id (UUID v7; ids order tools by creation).
    pub id: Uuid,
    /// The creating account, the only one that may change it.
    pub creator_id: Uuid,
    /// Display name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Free-form category used for browsing (e.g. `trading`).
    pub category: String,
    /// The tool family (see [`crate::families`]).
    pub family: String,
    /// Monthly price at the basic tier.
    pub monthly_price: Money,
    /// The lowest tier the tool can be rented at.
    pub tier: Tier,
    /// Free-form JSON object from the creator.
    pub metadata: Map<String, Value>,
    /// The version number in force.
    pub current_version: i32,
    /// Parameters of the current version.
    pub parameters: Map<String, Value>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Set by a soft delete.
    pub deleted_at: Option<DateTime<Utc>>,
    /// The creator's standards gate for promotions (`None`: the product's defaults).
    pub standards: Option<StandardsConfig>,
    /// Promote every passed record of an ending session at once (through the same re-check).
    pub auto_promote: bool,
    /// One of the creator's datasets that every promotion must also pass on.
    pub reference_dataset_id: Option<Uuid>,
    /// The learned artifact of the current version (network weights, a Q-table), if any.
    pub artifact_id: Option<Uuid>,
    /// Its visible reviews, added up (kept by the store with every review change).
    pub rating: crate::review::Rating,
}

impl Tool {
    /// The standards gate promotions of this tool are judged by.
    pub fn standards(&self) -> StandardsConfig {
        self.standards.clone().unwrap_or_default()
    }
}

/// One permanent version of a tool's parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolVersion {
    /// The tool.
    pub tool_id: Uuid,
    /// 1, 2, 3, ...
    pub version: i32,
    /// The parameters of this version, defaults filled in.
    pub parameters: Map<String, Value>,
    /// Why the version exists (`created`, `updated`, `promotion`, `rollback`, `training`).
    pub source: String,
    /// Where it came from: for a promotion the record, session, dataset hash, seed and the
    /// re-check's report; for a rollback the version it restores.
    pub lineage: Option<Value>,
    /// The learned artifact the engine loads when evaluating this version, if any.
    pub artifact_id: Option<Uuid>,
    /// Created.
    pub created_at: DateTime<Utc>,
}
