//! The market: your account, tools, subscriptions.

use anyhow::Result;
use clap::Subcommand;
use client::{Client, NewTool, Tier, ToolFilter};
use serde_json::Value;
use uuid::Uuid;

use super::{all, object, pairs};
use crate::output::{Column, Out};

#[derive(Debug, Subcommand)]
pub(crate) enum AccountCmd {
    /// Your account and balance.
    Show,
    /// Buys sandbox credit (currency units, two decimals at most).
    Credits {
        /// Amount, e.g. 100 or 12.50.
        amount: f64,
    },
    /// Your ledger, newest first.
    Ledger,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ToolCmd {
    /// Tools for rent, newest first.
    List {
        /// Exact category.
        #[arg(long)]
        category: Option<String>,
        /// Exact minimum tier.
        #[arg(long, value_enum)]
        tier: Option<TierArg>,
        /// Monthly price at most this.
        #[arg(long)]
        max_price: Option<f64>,
        /// Tools of this creator.
        #[arg(long)]
        creator: Option<Uuid>,
        /// Exact family.
        #[arg(long)]
        family: Option<String>,
    },
    /// One tool.
    Show {
        /// Tool id.
        id: Uuid,
    },
    /// Lists a tool for rent; you are its creator.
    Create {
        /// Name.
        name: String,
        /// Category.
        #[arg(long, default_value = "trading")]
        category: String,
        /// Family (`marketplace tools families`); left out, the parameters choose it.
        #[arg(long)]
        family: Option<String>,
        /// Monthly price at the basic tier.
        #[arg(long)]
        price: f64,
        /// Lowest tier it can be rented at.
        #[arg(long, value_enum, default_value_t = TierArg::Basic)]
        tier: TierArg,
        /// A parameter, NAME=VALUE (repeat).
        #[arg(long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
        /// Description.
        #[arg(long, default_value = "")]
        description: String,
        /// Metadata, a JSON object.
        #[arg(long)]
        metadata: Option<String>,
    },
    /// Changes a tool (a change of parameters makes a new version).
    Update {
        /// Tool id.
        id: Uuid,
        /// New name.
        #[arg(long)]
        name: Option<String>,
        /// New description.
        #[arg(long)]
        description: Option<String>,
        /// New monthly price.
        #[arg(long)]
        price: Option<f64>,
        /// A parameter, NAME=VALUE (repeat).
        #[arg(long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
    },
    /// Stops listing a tool (live subscriptions keep their paid time).
    Delete {
        /// Tool id.
        id: Uuid,
    },
    /// Whether you may use a tool now, and through what.
    Access {
        /// Tool id.
        id: Uuid,
    },
    /// A tool's versions.
    Versions {
        /// Tool id.
        id: Uuid,
    },
    /// Re-runs a version's certificate and says whether it reproduces.
    Verify {
        /// Tool id.
        id: Uuid,
        /// Version number.
        version: i32,
    },
    /// Which training to try next (your tools).
    Recommendations {
        /// Tool id.
        id: Uuid,
        /// The dataset you would train on.
        #[arg(long)]
        dataset: Option<Uuid>,
    },
    /// The families a tool can be of, with their parameters.
    Families,
}

#[derive(Debug, Subcommand)]
pub(crate) enum SubscriptionCmd {
    /// Your subscriptions, newest first.
    List {
        /// Only the live ones.
        #[arg(long)]
        active: bool,
    },
    /// Subscribes to a tool (charged now; safe to retry).
    Create {
        /// Tool id.
        tool: Uuid,
        /// Tier.
        #[arg(long, value_enum, default_value_t = TierArg::Basic)]
        tier: TierArg,
        /// Months paid now.
        #[arg(long, default_value_t = 1)]
        months: u32,
        /// Do not renew at the period's end.
        #[arg(long)]
        no_auto_renew: bool,
    },
    /// Cancels at the period's end, or now with a refund of the unused time.
    Cancel {
        /// Subscription id.
        id: Uuid,
        /// End access now (refunds the unused time).
        #[arg(long)]
        immediate: bool,
    },
}

/// A tier on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum TierArg {
    /// 0x the price.
    Free,
    /// 1x.
    Basic,
    /// 2.5x.
    Pro,
    /// 5x.
    Enterprise,
}

impl From<TierArg> for Tier {
    fn from(t: TierArg) -> Self {
        match t {
            TierArg::Free => Tier::Free,
            TierArg::Basic => Tier::Basic,
            TierArg::Pro => Tier::Pro,
            TierArg::Enterprise => Tier::Enterprise,
        }
    }
}

const ACCOUNT: &[Column] = &[
    ("id", "/id"),
    ("name", "/name"),
    ("balance", "$/balance"),
    ("created", "/created_at"),
];

pub(crate) const TOOL: &[Column] = &[
    ("id", "/id"),
    ("name", "/name"),
    ("family", "/family"),
    ("category", "/category"),
    ("monthly price", "$/monthly_price"),
    ("tier", "/tier"),
    ("version", "/version"),
    ("parameters", "/parameters"),
    ("creator", "/creator_id"),
    ("description", "/description"),
];

const TOOLS: &[Column] = &[
    ("id", "/id"),
    ("name", "/name"),
    ("family", "/family"),
    ("price", "$/monthly_price"),
    ("tier", "/tier"),
    ("version", "/version"),
    ("parameters", "/parameters"),
];

const SUBSCRIPTION: &[Column] = &[
    ("id", "/id"),
    ("tool", "/tool_id"),
    ("tier", "/tier"),
    ("status", "/status"),
    ("price", "$/price"),
    ("auto renew", "/auto_renew"),
    ("access until", "/access_until"),
];

pub(crate) async fn account(client: &Client, out: Out, cmd: &AccountCmd) -> Result<()> {
    match cmd {
        AccountCmd::Show => out.one(&client.me().await?, ACCOUNT),
        AccountCmd::Credits { amount } => out.one(&client.add_credits(*amount).await?, ACCOUNT),
        AccountCmd::Ledger => out.list(
            &all(client.ledger()).await?,
            &[
                ("when", "/created_at"),
                ("kind", "/kind"),
                ("amount", "$/amount"),
                ("memo", "/memo"),
            ],
        ),
    }
    Ok(())
}

pub(crate) async fn tools(client: &Client, out: Out, cmd: &ToolCmd) -> Result<()> {
    match cmd {
        ToolCmd::List {
            category,
            tier,
            max_price,
            creator,
            family,
        } => {
            let filter = ToolFilter {
                category: category.clone(),
                tier: tier.map(Tier::from),
                max_price: *max_price,
                creator_id: *creator,
                family: family.clone(),
            };
            out.list(&all(client.list_tools(&filter)).await?, TOOLS);
        }
        ToolCmd::Show { id } => out.one(&client.get_tool(*id).await?, TOOL),
        ToolCmd::Create {
            name,
            category,
            family,
            price,
            tier,
            params,
            description,
            metadata,
        } => {
            let tool = NewTool {
                name: name.clone(),
                description: description.clone(),
                category: category.clone(),
                family: family.clone(),
                monthly_price: *price,
                tier: Some((*tier).into()),
                parameters: Value::Object(pairs(params)?),
                metadata: object(metadata.as_deref(), "--metadata")?.unwrap_or(Value::Null),
            };
            out.one(&client.create_tool(&tool).await?, TOOL);
        }
        ToolCmd::Update {
            id,
            name,
            description,
            price,
            params,
        } => {
            let mut updates = serde_json::Map::new();
            if let Some(n) = name {
                updates.insert("name".into(), n.clone().into());
            }
            if let Some(d) = description {
                updates.insert("description".into(), d.clone().into());
            }
            if let Some(p) = price {
                updates.insert("monthly_price".into(), (*p).into());
            }
            if !params.is_empty() {
                updates.insert("parameters".into(), Value::Object(pairs(params)?));
            }
            let tool = client.update_tool(*id, &Value::Object(updates)).await?;
            out.one(&tool, TOOL);
        }
        ToolCmd::Delete { id } => {
            client.delete_tool(*id).await?;
            out.note(format!("deleted tool {id}"));
        }
        ToolCmd::Access { id } => out.one(
            &client.check_tool_access(*id).await?,
            &[
                ("access", "/has_access"),
                ("via", "/via"),
                ("subscription", "/subscription_id"),
                ("tier", "/tier"),
                ("until", "/expires_at"),
            ],
        ),
        ToolCmd::Versions { id } => out.list(
            &client.tool_versions(*id).await?,
            &[
                ("version", "/version"),
                ("source", "/source"),
                ("parameters", "/parameters"),
                ("created", "/created_at"),
            ],
        ),
        ToolCmd::Verify { id, version } => {
            let v = client
                .post_json(
                    &format!("/v1/tools/{id}/versions/{version}/certificate/verify"),
                    None,
                )
                .await?;
            out.one(
                &v["verification"],
                &[
                    ("verified", "/verified"),
                    ("sealed", "/sealed"),
                    ("reproduced", "/rerun/reproduced"),
                ],
            );
        }
        ToolCmd::Recommendations { id, dataset } => {
            let r = client.get_training_recommendations(*id, *dataset).await?;
            let items = r["recommendations"].as_array().cloned().unwrap_or_default();
            out.list(
                &items,
                &[
                    ("method", "/method"),
                    ("config", "/config"),
                    ("why", "/reason"),
                ],
            );
        }
        ToolCmd::Families => {
            let f = client.get_json("/v1/families").await?;
            let items = f["families"].as_array().cloned().unwrap_or_default();
            out.list(
                &items,
                &[
                    ("family", "/name"),
                    ("parameters", "/parameters"),
                    ("description", "/description"),
                ],
            );
        }
    }
    Ok(())
}

pub(crate) async fn subscriptions(client: &Client, out: Out, cmd: &SubscriptionCmd) -> Result<()> {
    match cmd {
        SubscriptionCmd::List { active } => out.list(
            &all(client.get_user_subscriptions(*active)).await?,
            SUBSCRIPTION,
        ),
        SubscriptionCmd::Create {
            tool,
            tier,
            months,
            no_auto_renew,
        } => {
            let s = client
                .subscribe_to_tool(*tool, (*tier).into(), *months, !no_auto_renew)
                .await?;
            out.note(format!("charged {}", s.charge.amount));
            out.one(&s.subscription, SUBSCRIPTION);
        }
        SubscriptionCmd::Cancel { id, immediate } => {
            let c = client.cancel_subscription(*id, *immediate).await?;
            out.note(format!("refunded {}", c.refund.amount));
            out.one(&c.subscription, SUBSCRIPTION);
        }
    }
    Ok(())
}
