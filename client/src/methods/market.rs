//! The market: tools, subscriptions, analytics, the caller's account; and plain JSON calls for
//! what this client does not type yet.

use futures::Stream;
use reqwest::Method as Http;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::seg;
use crate::error::Error;
use crate::transport::{Client, Safety};
use crate::types::{
    Access, Account, Cancellation, CreatorStats, LedgerEntry, MarketplaceStats, NewTool,
    Subscribed, Subscription, Tool, ToolAnalytics, ToolFilter, Version, Wrapped,
};
use domain::tier::Tier;

#[derive(Deserialize)]
struct CreditsAdded {
    account: Account,
}

impl Client {
    /// The seed's `create_tool(creator_id, name, description, category, monthly_price, tier,
    /// parameters, metadata)`; the caller is the creator. Version 1 of the tool.
    ///
    /// # Errors
    /// 422 with every invalid field.
    pub async fn create_tool(&self, tool: &NewTool) -> Result<Tool, Error> {
        let body = serde_json::to_value(tool).map_err(|e| Error::Config(e.to_string()))?;
        let w: Wrapped<Tool> = self
            .call(Http::POST, "/v1/tools", Some(&body), Safety::Once)
            .await?;
        Ok(w.inner)
    }

    /// The seed's `get_tool(tool_id)`.
    ///
    /// # Errors
    /// 404 when there is no such tool.
    pub async fn get_tool(&self, tool_id: Uuid) -> Result<Tool, Error> {
        let w: Wrapped<Tool> = self
            .get(&format!("/v1/tools/{}", seg(tool_id)), &[])
            .await?;
        Ok(w.inner)
    }

    /// The seed's `list_tools(category, tier, max_price, creator_id)`: every matching tool,
    /// newest first, page by page as the stream is read.
    pub fn list_tools(
        &self,
        filter: &ToolFilter,
    ) -> impl Stream<Item = Result<Tool, Error>> + Send + 'static {
        let query = serde_json::to_value(filter).unwrap_or(Value::Null);
        self.pages("/v1/tools", "tools", query)
    }

    /// The seed's `update_tool(tool_id, creator_id, updates)`: `updates` is a JSON object of
    /// the fields to change (`name`, `description`, `monthly_price`, `parameters`...). A change
    /// of parameters makes a new version.
    ///
    /// # Errors
    /// 403 for anyone but the creator, 422 with the invalid fields.
    pub async fn update_tool(&self, tool_id: Uuid, updates: &Value) -> Result<Tool, Error> {
        let w: Wrapped<Tool> = self
            .call(
                Http::PATCH,
                &format!("/v1/tools/{}", seg(tool_id)),
                Some(updates),
                Safety::Once,
            )
            .await?;
        Ok(w.inner)
    }

    /// The seed's `delete_tool(tool_id, creator_id)`: no longer listed or rentable; live
    /// subscriptions keep their paid-for time.
    ///
    /// # Errors
    /// 403 for anyone but the creator, 404 when it is gone.
    pub async fn delete_tool(&self, tool_id: Uuid) -> Result<(), Error> {
        let _: Value = self
            .call(
                Http::DELETE,
                &format!("/v1/tools/{}", seg(tool_id)),
                None,
                Safety::Once,
            )
            .await?;
        Ok(())
    }

    /// A tool's versions, newest first.
    ///
    /// # Errors
    /// 404 when there is no such tool.
    pub async fn tool_versions(&self, tool_id: Uuid) -> Result<Vec<Version>, Error> {
        #[derive(Deserialize)]
        struct Versions {
            versions: Vec<Version>,
        }
        let v: Versions = self
            .get(&format!("/v1/tools/{}/versions", seg(tool_id)), &[])
            .await?;
        Ok(v.versions)
    }

    /// The seed's `subscribe_to_tool(user_id, tool_id, tier, months, auto_renew)`: charges the
    /// caller's balance for `months` at `tier`. Retried with one `Idempotency-Key`, so it
    /// charges once however often the network fails.
    ///
    /// # Errors
    /// 402 when the balance is short, 409 when a live subscription exists, 422 for a tier
    /// below the tool's.
    pub async fn subscribe_to_tool(
        &self,
        tool_id: Uuid,
        tier: Tier,
        months: u32,
        auto_renew: bool,
    ) -> Result<Subscribed, Error> {
        let body =
            json!({"tool_id": tool_id, "tier": tier, "months": months, "auto_renew": auto_renew});
        self.call(
            Http::POST,
            "/v1/subscriptions",
            Some(&body),
            Safety::Idempotent,
        )
        .await
    }

    /// The seed's `cancel_subscription(subscription_id, user_id, immediate)`: `immediate` ends
    /// access now and refunds the unused time; otherwise it ends with the period.
    ///
    /// # Errors
    /// 404 when it is not the caller's, 409 when it already ended.
    pub async fn cancel_subscription(
        &self,
        subscription_id: Uuid,
        immediate: bool,
    ) -> Result<Cancellation, Error> {
        self.call(
            Http::POST,
            &format!("/v1/subscriptions/{}/cancel", seg(subscription_id)),
            Some(&json!({ "immediate": immediate })),
            Safety::Once,
        )
        .await
    }

    /// The seed's `get_user_subscriptions(user_id, active_only)`: the caller's subscriptions,
    /// newest first.
    pub fn get_user_subscriptions(
        &self,
        active_only: bool,
    ) -> impl Stream<Item = Result<Subscription, Error>> + Send + 'static {
        self.pages(
            "/v1/subscriptions",
            "subscriptions",
            json!({ "active_only": active_only }),
        )
    }

    /// The seed's `check_tool_access(user_id, tool_id)`.
    ///
    /// # Errors
    /// 404 when there is no such tool.
    pub async fn check_tool_access(&self, tool_id: Uuid) -> Result<Access, Error> {
        self.get(&format!("/v1/tools/{}/access", seg(tool_id)), &[])
            .await
    }

    /// The seed's `get_marketplace_stats()` (the operator's key).
    ///
    /// # Errors
    /// 404 for an account's key (operator routes do not show themselves to accounts).
    pub async fn get_marketplace_stats(&self) -> Result<MarketplaceStats, Error> {
        self.get("/v1/stats/marketplace", &[]).await
    }

    /// The seed's `get_creator_stats(creator_id)`: the caller's earnings and subscribers.
    ///
    /// # Errors
    /// As any read.
    pub async fn get_creator_stats(&self) -> Result<CreatorStats, Error> {
        self.get("/v1/creators/me/stats", &[]).await
    }

    /// The seed's `get_tool_analytics(tool_id)` (its creator).
    ///
    /// # Errors
    /// 404 for anyone but the creator.
    pub async fn get_tool_analytics(&self, tool_id: Uuid) -> Result<ToolAnalytics, Error> {
        self.get(&format!("/v1/tools/{}/analytics", seg(tool_id)), &[])
            .await
    }

    /// The caller's account.
    ///
    /// # Errors
    /// 401 for a bad key.
    pub async fn me(&self) -> Result<Account, Error> {
        let w: Wrapped<Account> = self.get("/v1/accounts/me", &[]).await?;
        Ok(w.inner)
    }

    /// Buys sandbox credit (`amount` in currency units, two decimals at most); retried with
    /// one `Idempotency-Key`.
    ///
    /// # Errors
    /// 422 for a bad amount, 403 when payments are not the sandbox.
    pub async fn add_credits(&self, amount: f64) -> Result<Account, Error> {
        let added: CreditsAdded = self
            .call(
                Http::POST,
                "/v1/accounts/me/credits",
                Some(&json!({ "amount": amount })),
                Safety::Idempotent,
            )
            .await?;
        Ok(added.account)
    }

    /// The caller's ledger, newest first.
    pub fn ledger(&self) -> impl Stream<Item = Result<LedgerEntry, Error>> + Send + 'static {
        self.pages("/v1/accounts/me/ledger", "entries", json!({}))
    }

    /// Anything else the API answers with JSON (`GET path`), for what this client does not
    /// type yet.
    ///
    /// # Errors
    /// As any read.
    pub async fn get_json(&self, path: &str) -> Result<Value, Error> {
        self.get(path, &[]).await
    }

    /// `DELETE path`.
    ///
    /// # Errors
    /// As any call.
    pub async fn delete_path(&self, path: &str) -> Result<(), Error> {
        let _: Value = self.call(Http::DELETE, path, None, Safety::Once).await?;
        Ok(())
    }

    /// `POST path` with `body`, sent once (retried only when the server refused before
    /// acting).
    ///
    /// # Errors
    /// As any call.
    pub async fn post_json(&self, path: &str, body: Option<&Value>) -> Result<Value, Error> {
        self.call(Http::POST, path, body, Safety::Once).await
    }
}
