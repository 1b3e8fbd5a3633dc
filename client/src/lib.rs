//! The Smart Marketplace's client: one typed async method per method of the seed's
//! `MarketplaceAPI`, over the HTTP API.
//!
//! The seed passes the caller's identity (`user_id`, `creator_id`) to every method; here the
//! caller is the account whose API key the [`Client`] holds, so those arguments are gone. The
//! other arguments keep their names and order. Results are typed ([`types`]), errors are
//! [`Error`]s with the server's problem details decoded ([`Problem`], with its field errors).
//!
//! - **Retries**: reads, and requests the server refused before doing anything (429, 503, a
//!   connection never made), are retried with backoff, honouring `Retry-After`. Calls that move
//!   money ([`Client::subscribe_to_tool`], [`Client::add_credits`]) send one `Idempotency-Key`
//!   with every attempt, so a retry after a lost answer charges once.
//! - **Pagination**: listings are [`Stream`](futures::Stream)s over every page
//!   ([`Client::list_tools`], [`Client::get_user_subscriptions`], ...).
//! - **Jobs**: work that runs on a worker answers with a [`Job`]; [`Client::wait_for_job`]
//!   follows its Server-Sent Events until it ends (reconnecting when a stream closes) and hands
//!   every update to a callback, whose message [`Progress::parse`] reads.
//!
//! ```no_run
//! # async fn quick_start() -> Result<(), client::Error> {
//! use client::{Client, NewTool, OptimizationConfig, Tier};
//!
//! let creator = Client::signup("http://127.0.0.1:8080", "Ada").await?;
//! let renter = Client::signup("http://127.0.0.1:8080", "Bob").await?;
//! let tool = creator
//!     .create_tool(&NewTool {
//!         name: "Momentum 20".into(),
//!         category: "analysis".into(),
//!         monthly_price: 29.99,
//!         tier: Some(Tier::Pro),
//!         parameters: serde_json::json!({"threshold": 0.5, "lookback_period": 20}),
//!         ..NewTool::default()
//!     })
//!     .await?;
//! renter.add_credits(100.0).await?;
//! renter.subscribe_to_tool(tool.id, Tier::Pro, 1, true).await?;
//! let data = renter.generate_dataset("synthetic", "regime_switching", 2000, 1).await?;
//! let session = renter.create_session(data.id, None).await?;
//! let inserted = renter
//!     .insert_tool_into_session(session.id, tool.id, true, Some(OptimizationConfig::epochs(100)))
//!     .await?;
//! if let Some(job) = inserted.job {
//!     renter.wait_for_job(job.id, |job| println!("{:?}", job.message)).await?;
//! }
//! let session = renter.get_session(session.id).await?;
//! let record = &session.optimizations[0];
//! creator.promote_optimization(record.record_id).await?;
//! # Ok(())
//! # }
//! ```

mod error;
mod jobs;
mod methods;
mod transport;
pub mod types;

pub use domain::Money;
pub use domain::jobs::{JobKind, JobStatus};
pub use domain::optimization::Method;
pub use domain::tier::Tier;
pub use domain::training::{TrainingConfig, TrainingMethod};
pub use error::{Error, FieldError, Problem};
pub use jobs::{Progress, ProgressUnit};
pub use methods::{Applied, Promotion};
pub use transport::{Client, RetryPolicy};
pub use types::*;
