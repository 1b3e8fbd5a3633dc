//! Analytics, and the operator's commands (the admin key).

use anyhow::Result;
use clap::Subcommand;
use client::Client;
use uuid::Uuid;

use super::JOB;
use crate::exit::NotLoggedIn;
use crate::output::Out;

#[derive(Debug, Subcommand)]
pub(crate) enum StatsCmd {
    /// The whole marketplace (the operator's key).
    Marketplace,
    /// Your earnings and subscribers as a creator.
    Creator,
    /// One of your tools: subscribers over time, earnings by month, versions.
    Tool {
        /// Tool id.
        id: Uuid,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum AdminCmd {
    /// Every account's jobs, newest first.
    Jobs {
        /// queued, running, succeeded, failed, canceled.
        #[arg(long)]
        status: Option<String>,
        /// A job kind (optimize, train, evaluate...).
        #[arg(long)]
        kind: Option<String>,
        /// One account's.
        #[arg(long)]
        owner: Option<Uuid>,
    },
    /// Sends a failed job back to its queue.
    Retry {
        /// Job id.
        id: Uuid,
    },
    /// Cancels any account's job.
    Cancel {
        /// Job id.
        id: Uuid,
    },
    /// Each queue's waiting, running and failed jobs.
    Queues,
    /// The workers and their last heartbeat.
    Workers,
    /// Every tool's reviews, newest first, to moderate.
    Reviews {
        /// hidden, visible or any (the default).
        #[arg(long)]
        visibility: Option<String>,
        /// One tool's.
        #[arg(long)]
        tool: Option<Uuid>,
        /// Only those with open reports (the moderation queue).
        #[arg(long)]
        reported: bool,
    },
    /// Hides a review: kept, out of its tool's page and rating; its author reads the reason.
    HideReview {
        /// Review id.
        id: Uuid,
        /// Why (up to 500 characters).
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Shows a hidden review again.
    UnhideReview {
        /// Review id.
        id: Uuid,
    },
    /// Dismisses a review's open reports; the review stays.
    DismissReports {
        /// Review id.
        id: Uuid,
    },
}

/// A review as the operator moderates it.
const MODERATED: &[crate::output::Column] = &[
    ("id", "/id"),
    ("tool", "/tool_id"),
    ("rating", "/rating"),
    ("title", "/title"),
    ("author", "/author_id"),
    ("hidden", "/hidden"),
    ("reason", "/hidden_reason"),
    ("reports", "/reports"),
    ("created", "/created_at"),
];

/// An operator route answers an account's key 404 (it does not show itself): say what is
/// needed instead (exit code 4).
fn operator_only<T>(r: Result<T, client::Error>) -> Result<T> {
    match r {
        Err(e) if e.status() == Some(404) => Err(NotLoggedIn(
            "this needs the operator's key (MARKETPLACE_ADMIN_KEY of the server): \
             `marketplace -p operator login --server URL --api-key KEY`"
                .into(),
        )
        .into()),
        other => Ok(other?),
    }
}

pub(crate) async fn stats(client: &Client, out: Out, cmd: &StatsCmd) -> Result<()> {
    match cmd {
        StatsCmd::Marketplace => out.one(
            &operator_only(client.get_marketplace_stats().await)?,
            &[
                ("tools", "/tools"),
                ("creators", "/creators"),
                ("accounts", "/accounts"),
                ("subscriptions by tier", "/active_subscriptions_by_tier"),
                ("monthly recurring revenue", "$/mrr"),
                ("churn (30 days)", "/churn/rate"),
            ],
        ),
        StatsCmd::Creator => {
            let s = client.get_creator_stats().await?;
            out.one(
                &s,
                &[
                    ("total earnings", "$/total_earnings"),
                    ("subscribers", "/subscribers"),
                    ("churn", "/churn/rate"),
                ],
            );
            if !out.quiet && out.format == crate::output::Format::Table {
                out.list(
                    &s.earnings_by_tool_and_month,
                    &[
                        ("tool", "/tool_name"),
                        ("month", "/month"),
                        ("earned", "$/amount"),
                    ],
                );
            }
        }
        StatsCmd::Tool { id } => {
            let a = client.get_tool_analytics(*id).await?;
            out.one(
                &a,
                &[
                    ("tool", "/tool_id"),
                    ("live subscribers", "/live_subscribers"),
                ],
            );
            if !out.quiet && out.format == crate::output::Format::Table {
                out.list(
                    &a.subscribers_over_time,
                    &[
                        ("month", "/month"),
                        ("started", "/started"),
                        ("ended", "/ended"),
                        ("live", "/live"),
                    ],
                );
            }
        }
    }
    Ok(())
}

pub(crate) async fn admin(client: &Client, out: Out, cmd: &AdminCmd) -> Result<()> {
    match cmd {
        AdminCmd::Jobs {
            status,
            kind,
            owner,
        } => {
            let mut query = vec!["limit=100".to_owned()];
            for (k, v) in [
                ("status", status.clone()),
                ("kind", kind.clone()),
                ("owner", owner.map(|o| o.to_string())),
            ] {
                if let Some(v) = v {
                    query.push(format!("{k}={v}"));
                }
            }
            let v = operator_only(
                client
                    .get_json(&format!("/v1/admin/jobs?{}", query.join("&")))
                    .await,
            )?;
            let jobs = v["jobs"].as_array().cloned().unwrap_or_default();
            out.list(
                &jobs,
                &[
                    ("job", "/id"),
                    ("owner", "/owner_id"),
                    ("kind", "/kind"),
                    ("status", "/status"),
                    ("error", "/error/detail"),
                ],
            );
        }
        AdminCmd::Retry { id } => {
            let v = client
                .post_json(&format!("/v1/admin/jobs/{id}/retry"), None)
                .await?;
            out.one(&v["job"], JOB);
        }
        AdminCmd::Cancel { id } => {
            let v = client
                .post_json(&format!("/v1/admin/jobs/{id}/cancel"), None)
                .await?;
            out.one(&v["job"], JOB);
        }
        AdminCmd::Queues => {
            let v = operator_only(client.get_json("/v1/admin/queues").await)?;
            let queues = v["queues"].as_array().cloned().unwrap_or_default();
            out.list(
                &queues,
                &[
                    ("queue", "/queue"),
                    ("queued", "/queued"),
                    ("running", "/running"),
                    ("succeeded", "/succeeded"),
                    ("failed", "/failed"),
                ],
            );
        }
        AdminCmd::Reviews {
            visibility,
            tool,
            reported,
        } => {
            let mut query = vec!["limit=100".to_owned()];
            if *reported {
                query.push("reported=true".to_owned());
            }
            if let Some(v) = visibility {
                query.push(format!("visibility={v}"));
            }
            if let Some(t) = tool {
                query.push(format!("tool_id={t}"));
            }
            let v = operator_only(
                client
                    .get_json(&format!("/v1/admin/reviews?{}", query.join("&")))
                    .await,
            )?;
            let reviews = v["reviews"].as_array().cloned().unwrap_or_default();
            out.list(&reviews, MODERATED);
        }
        AdminCmd::HideReview { id, reason } => {
            let body = serde_json::json!({ "reason": reason });
            let v = operator_only(
                client
                    .post_json(&format!("/v1/reviews/{id}/hide"), Some(&body))
                    .await,
            )?;
            out.one(&v["review"], MODERATED);
        }
        AdminCmd::UnhideReview { id } => {
            let v = operator_only(
                client
                    .post_json(&format!("/v1/reviews/{id}/unhide"), None)
                    .await,
            )?;
            out.one(&v["review"], MODERATED);
        }
        AdminCmd::DismissReports { id } => {
            let v = operator_only(
                client
                    .post_json(&format!("/v1/reviews/{id}/dismiss-reports"), None)
                    .await,
            )?;
            out.one(&v["review"], MODERATED);
            out.note(format!("dismissed {} open report(s)", v["dismissed"]));
        }
        AdminCmd::Workers => {
            let v = operator_only(client.get_json("/v1/admin/workers").await)?;
            let workers = v["workers"].as_array().cloned().unwrap_or_default();
            out.list(
                &workers,
                &[
                    ("worker", "/id"),
                    ("queues", "/queues"),
                    ("in flight", "/in_flight"),
                    ("last heartbeat", "/heartbeat_at"),
                ],
            );
        }
    }
    Ok(())
}
