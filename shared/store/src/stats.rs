//! Figures for operators, creators and tool pages.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use domain::Tool;
use domain::forecast::ForecastInputs;
use domain::stats::{CreatorStats, MarketplaceStats, ToolAnalytics};

use crate::StoreResult;

/// Marketplace, creator and tool statistics.
#[async_trait]
pub trait StatsStore: Send + Sync + std::fmt::Debug {
    /// Marketplace-wide figures for operators.
    async fn marketplace_stats(&self, now: DateTime<Utc>) -> StoreResult<MarketplaceStats>;

    /// A creator's earnings, subscribers and churn.
    async fn creator_stats(&self, creator: Uuid, now: DateTime<Utc>) -> StoreResult<CreatorStats>;

    /// One tool's subscribers over time, earnings and versions.
    async fn tool_analytics(&self, tool: &Tool) -> StoreResult<ToolAnalytics>;

    /// What the revenue and demand forecasts are computed from: the priced subscriptions to the
    /// creator's tools (every tool when `None`) with their charges and failed renewals, and the
    /// listed tools with the creation times of their subscriptions.
    async fn forecast_inputs(&self, creator: Option<Uuid>) -> StoreResult<ForecastInputs>;
}
