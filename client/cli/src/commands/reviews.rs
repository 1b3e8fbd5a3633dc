//! Reviews: renters review the tools they held, creators reply, anyone reports abuse.

use anyhow::Result;
use clap::Subcommand;
use client::{Client, ReviewUpdate};
use uuid::Uuid;

use super::all;
use crate::output::{Column, Out};

#[derive(Debug, Subcommand)]
pub(crate) enum ReviewCmd {
    /// Reviews a tool you subscribed to or optimized in a session.
    Add {
        /// Tool id.
        tool: Uuid,
        /// Stars, 1-5.
        #[arg(long)]
        rating: u8,
        /// Title.
        #[arg(long)]
        title: String,
        /// Body.
        #[arg(long, default_value = "")]
        body: String,
    },
    /// A tool's reviews, newest first, and its rating.
    List {
        /// Tool id.
        tool: Uuid,
    },
    /// Changes your review.
    Edit {
        /// Review id.
        id: Uuid,
        /// Stars, 1-5.
        #[arg(long)]
        rating: Option<u8>,
        /// Title.
        #[arg(long)]
        title: Option<String>,
        /// Body.
        #[arg(long)]
        body: Option<String>,
    },
    /// Deletes your review.
    Delete {
        /// Review id.
        id: Uuid,
    },
    /// Reports another account's review to the operators.
    Report {
        /// Review id.
        id: Uuid,
        /// Why (1-500 characters).
        #[arg(long)]
        reason: String,
    },
    /// Replies to a review of your tool (once).
    Reply {
        /// Review id.
        id: Uuid,
        /// The reply.
        text: String,
    },
}

const REVIEW: &[Column] = &[
    ("id", "/id"),
    ("tool", "/tool_id"),
    ("rating", "/rating"),
    ("title", "/title"),
    ("body", "/body"),
    ("author", "/author_id"),
    ("reply", "/reply"),
    ("created", "/created_at"),
];

const REVIEWS: &[Column] = &[
    ("id", "/id"),
    ("rating", "/rating"),
    ("title", "/title"),
    ("author", "/author_id"),
    ("reply", "/reply"),
    ("created", "/created_at"),
];

pub(crate) async fn reviews(client: &Client, out: Out, cmd: &ReviewCmd) -> Result<()> {
    match cmd {
        ReviewCmd::Add {
            tool,
            rating,
            title,
            body,
        } => out.one(
            &client.review_tool(*tool, *rating, title, body).await?,
            REVIEW,
        ),
        ReviewCmd::List { tool } => {
            let reviews = all(client.list_reviews(*tool)).await?;
            if let Some(r) = client.get_tool(*tool).await?.extra.get("rating") {
                out.note(format!(
                    "rating: {} star(s) mean over {} review(s), Bayesian average {}",
                    crate::output::cell(r.get("mean")),
                    crate::output::cell(r.get("count")),
                    crate::output::cell(r.get("bayesian")),
                ));
            }
            out.list(&reviews, REVIEWS);
        }
        ReviewCmd::Edit {
            id,
            rating,
            title,
            body,
        } => {
            let update = ReviewUpdate {
                rating: *rating,
                title: title.clone(),
                body: body.clone(),
            };
            out.one(&client.update_review(*id, &update).await?, REVIEW);
        }
        ReviewCmd::Delete { id } => {
            client.delete_review(*id).await?;
            out.note(format!("deleted review {id}"));
        }
        ReviewCmd::Reply { id, text } => {
            out.one(&client.reply_to_review(*id, text).await?, REVIEW);
        }
        ReviewCmd::Report { id, reason } => {
            let report = client.report_review(*id, reason).await?;
            out.one(
                &report,
                &[
                    ("review", "/review_id"),
                    ("reason", "/reason"),
                    ("reported", "/created_at"),
                ],
            );
            out.note("reported: an operator will look at it".to_owned());
        }
    }
    Ok(())
}
