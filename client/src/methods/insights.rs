//! For creators: A/B tests of a tool's versions (jobs on a worker), the cross-renter
//! comparison of two versions, and revenue and demand forecasts.

use futures::Stream;
use reqwest::Method as Http;
use serde_json::json;
use uuid::Uuid;

use super::seg;
use crate::error::Error;
use crate::transport::{Client, Safety};
use crate::types::{AbTest, AbTestRequest, Forecast, RenterComparison, Wrapped};

impl Client {
    /// Starts an A/B test of two versions of the caller's tool on the caller's datasets. It
    /// runs as a job whose id is the test's: follow it with [`Client::wait_for_job`] or
    /// [`Client::watch_job`], then read it with [`Client::get_ab_test`].
    ///
    /// # Errors
    /// 403 for anyone but the tool's creator, 404 when the tool is not listed, 422 with every
    /// invalid field (versions, datasets, settings).
    pub async fn start_ab_test(
        &self,
        tool_id: Uuid,
        request: &AbTestRequest,
    ) -> Result<AbTest, Error> {
        let body = serde_json::to_value(request).map_err(|e| Error::Config(e.to_string()))?;
        let w: Wrapped<AbTest> = self
            .call(
                Http::POST,
                &format!("/v1/tools/{}/ab-tests", seg(tool_id)),
                Some(&body),
                Safety::Once,
            )
            .await?;
        Ok(w.inner)
    }

    /// An A/B test with its result once it succeeded.
    ///
    /// # Errors
    /// 403 for anyone but the tool's creator, 404 when there is no such test of this tool.
    pub async fn get_ab_test(&self, tool_id: Uuid, test_id: Uuid) -> Result<AbTest, Error> {
        let w: Wrapped<AbTest> = self
            .get(
                &format!("/v1/tools/{}/ab-tests/{}", seg(tool_id), seg(test_id)),
                &[],
            )
            .await?;
        Ok(w.inner)
    }

    /// The A/B tests of the caller's tool, newest first (verdicts, not results), page by page
    /// as the stream is read.
    pub fn list_ab_tests(
        &self,
        tool_id: Uuid,
    ) -> impl Stream<Item = Result<AbTest, Error>> + Send + 'static {
        self.pages(
            &format!("/v1/tools/{}/ab-tests", seg(tool_id)),
            "ab_tests",
            json!({}),
        )
    }

    /// Versions `version_a` and `version_b` of the caller's tool across renters' sessions:
    /// aggregates only, shown once each version has enough distinct renters.
    ///
    /// # Errors
    /// 403 for anyone but the tool's creator, 404 when the tool is not listed, 422 for a
    /// version the tool does not have.
    pub async fn compare_renters(
        &self,
        tool_id: Uuid,
        version_a: i32,
        version_b: i32,
    ) -> Result<RenterComparison, Error> {
        self.get(
            &format!("/v1/tools/{}/ab-tests/renters", seg(tool_id)),
            &[
                ("version_a", version_a.to_string()),
                ("version_b", version_b.to_string()),
            ],
        )
        .await
    }

    /// The caller's revenue and demand forecast for `horizon` months (3, 6 or 12), with 95%
    /// intervals and backtested errors, or `insufficient_history`.
    ///
    /// # Errors
    /// 422 for another horizon.
    pub async fn creator_forecast(&self, horizon: u32) -> Result<Forecast, Error> {
        self.get(
            "/v1/creators/me/forecast",
            &[("horizon", horizon.to_string())],
        )
        .await
    }

    /// The whole marketplace's forecast (the operator's key).
    ///
    /// # Errors
    /// 404 for an account's key (operator routes do not show themselves to accounts), 422 for
    /// a horizon other than 3, 6 or 12.
    pub async fn marketplace_forecast(&self, horizon: u32) -> Result<Forecast, Error> {
        self.get(
            "/v1/stats/marketplace/forecast",
            &[("horizon", horizon.to_string())],
        )
        .await
    }
}
