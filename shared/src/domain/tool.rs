//! Tools (a family plus parameters, listed for monthly rent) and their versions.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{Money, Tier};

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
    /// Why the version exists (`created`, `updated`, later `promotion`, `rollback`, `training`).
    pub source: String,
    /// Created.
    pub created_at: DateTime<Utc>,
}
