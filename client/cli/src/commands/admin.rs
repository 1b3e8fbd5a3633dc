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
}

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
