//! Analytics, computed on demand from the ledger and the store with SQL aggregates (never from
//! counters that could drift). Months are `YYYY-MM` in UTC.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::Money;

/// Money booked in one month.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MonthlyRevenue {
    /// `YYYY-MM`.
    pub month: String,
    /// Subscription charges.
    #[schema(value_type = f64)]
    pub charges: Money,
    /// Refunds given back.
    #[schema(value_type = f64)]
    pub refunds: Money,
    /// Charges minus refunds.
    #[schema(value_type = f64)]
    pub net: Money,
    /// The platform's part of the net.
    #[schema(value_type = f64)]
    pub platform: Money,
}

/// Subscriptions lost over a window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Churn {
    /// Window length in days (ending now).
    pub window_days: i64,
    /// Subscriptions live at the window's start.
    pub live_at_start: i64,
    /// Of those and of the ones started since, how many ended in the window.
    pub ended: i64,
    /// `ended / live_at_start` (0 when nothing was live).
    pub rate: f64,
}

/// `GET /v1/stats/marketplace`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MarketplaceStats {
    /// Listed (not deleted) tools.
    pub tools: i64,
    /// Accounts with at least one listed tool.
    pub creators: i64,
    /// User accounts.
    pub accounts: i64,
    /// Live (active or past-due) subscriptions by tier.
    pub active_subscriptions_by_tier: BTreeMap<String, i64>,
    /// Monthly recurring revenue: the monthly price of every live subscription that will renew.
    #[schema(value_type = f64)]
    pub mrr: Money,
    /// Revenue by month, oldest first.
    pub revenue_by_month: Vec<MonthlyRevenue>,
    /// Churn over the last 30 days.
    pub churn: Churn,
}

/// A creator's earnings from one tool in one month.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ToolEarnings {
    /// The tool.
    pub tool_id: Uuid,
    /// Its name.
    pub tool_name: String,
    /// `YYYY-MM`.
    pub month: String,
    /// The creator's share, net of refunds.
    #[schema(value_type = f64)]
    pub amount: Money,
}

/// One of a creator's tools with its totals.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ToolSummary {
    /// The tool.
    pub tool_id: Uuid,
    /// Its name.
    pub tool_name: String,
    /// Live subscriptions.
    pub subscribers: i64,
    /// The creator's earnings from it, net of refunds, all time.
    #[schema(value_type = f64)]
    pub earnings: Money,
}

/// `GET /v1/creators/me/stats`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CreatorStats {
    /// Earnings by tool and month.
    pub earnings_by_tool_and_month: Vec<ToolEarnings>,
    /// All-time earnings, net of refunds.
    #[schema(value_type = f64)]
    pub total_earnings: Money,
    /// Live subscriptions to the creator's tools.
    pub subscribers: i64,
    /// Churn of the creator's subscriptions over the last 30 days.
    pub churn: Churn,
    /// The creator's tools, most earning first.
    pub top_tools: Vec<ToolSummary>,
}

/// Subscriptions of a tool in one month.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SubscriberMonth {
    /// `YYYY-MM`.
    pub month: String,
    /// Started in the month.
    pub started: i64,
    /// Ended in the month.
    pub ended: i64,
    /// Live at the end of the month (running total).
    pub live: i64,
}

/// `GET /v1/tools/{id}/analytics`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ToolAnalytics {
    /// The tool.
    pub tool_id: Uuid,
    /// Subscribers over time, oldest month first.
    pub subscribers_over_time: Vec<SubscriberMonth>,
    /// Live subscriptions now.
    pub live_subscribers: i64,
    /// The creator's earnings by month.
    pub earnings_by_month: Vec<ToolEarnings>,
    /// Every version, oldest first, with why it exists.
    pub versions: Vec<VersionSummary>,
}

/// A version in the analytics.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VersionSummary {
    /// Version number.
    pub version: i32,
    /// Why it exists.
    pub source: String,
    /// Created.
    pub created_at: chrono::DateTime<chrono::Utc>,
}
