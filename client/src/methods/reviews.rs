//! Reviews and ratings: renters review the tools they held, creators reply once.

use futures::Stream;
use reqwest::Method as Http;
use serde_json::json;
use uuid::Uuid;

use super::seg;
use crate::error::Error;
use crate::transport::{Client, Safety};
use crate::types::{Review, ReviewReport, ReviewUpdate, Wrapped};

impl Client {
    /// Reviews a tool the caller subscribed to or inserted into a session: `rating` stars
    /// (1-5), a title (1-120 characters) and a body (may be empty).
    ///
    /// # Errors
    /// 403 for its creator or an account that never held it, 404 when there is no such tool,
    /// 409 when the caller reviewed it already, 422 with every invalid field.
    pub async fn review_tool(
        &self,
        tool_id: Uuid,
        rating: u8,
        title: &str,
        body: &str,
    ) -> Result<Review, Error> {
        let body = json!({"rating": rating, "title": title, "body": body});
        let w: Wrapped<Review> = self
            .call(
                Http::POST,
                &format!("/v1/tools/{}/reviews", seg(tool_id)),
                Some(&body),
                Safety::Once,
            )
            .await?;
        Ok(w.inner)
    }

    /// A tool's visible reviews, newest first, page by page as the stream is read (the
    /// tool's rating is on [`Client::get_tool`]'s answer).
    pub fn list_reviews(
        &self,
        tool_id: Uuid,
    ) -> impl Stream<Item = Result<Review, Error>> + Send + 'static {
        self.pages(
            &format!("/v1/tools/{}/reviews", seg(tool_id)),
            "reviews",
            json!({}),
        )
    }

    /// Changes the caller's review (the fields set in `update`).
    ///
    /// # Errors
    /// 403 for anyone but its author, 404 when there is no such review, 422 with every
    /// invalid field.
    pub async fn update_review(
        &self,
        review_id: Uuid,
        update: &ReviewUpdate,
    ) -> Result<Review, Error> {
        let body = serde_json::to_value(update).map_err(|e| Error::Config(e.to_string()))?;
        let w: Wrapped<Review> = self
            .call(
                Http::PATCH,
                &format!("/v1/reviews/{}", seg(review_id)),
                Some(&body),
                Safety::Once,
            )
            .await?;
        Ok(w.inner)
    }

    /// Deletes the caller's review.
    ///
    /// # Errors
    /// 403 for anyone but its author, 404 when there is no such review.
    pub async fn delete_review(&self, review_id: Uuid) -> Result<(), Error> {
        self.delete_path(&format!("/v1/reviews/{}", seg(review_id)))
            .await
    }

    /// The creator's reply to a review of their tool (one per review).
    ///
    /// # Errors
    /// 403 for anyone but the tool's creator, 404 when there is no such review, 409 when it
    /// has a reply already, 422 for an empty or too long reply.
    pub async fn reply_to_review(&self, review_id: Uuid, reply: &str) -> Result<Review, Error> {
        let w: Wrapped<Review> = self
            .call(
                Http::POST,
                &format!("/v1/reviews/{}/reply", seg(review_id)),
                Some(&json!({ "reply": reply })),
                Safety::Once,
            )
            .await?;
        Ok(w.inner)
    }

    /// Reports a review to the operators, with why (1-500 characters on one line). Any account
    /// that can read the review may, except its author; once while the report is open.
    ///
    /// # Errors
    /// 403 for its author, 404 when there is no such review (or it is hidden), 409 while the
    /// caller's report of it is open, 422 for an empty or too long reason.
    pub async fn report_review(
        &self,
        review_id: Uuid,
        reason: &str,
    ) -> Result<ReviewReport, Error> {
        let w: Wrapped<ReviewReport> = self
            .call(
                Http::POST,
                &format!("/v1/reviews/{}/report", seg(review_id)),
                Some(&json!({ "reason": reason })),
                Safety::Once,
            )
            .await?;
        Ok(w.inner)
    }
}
