//! The domain: every type and rule of the marketplace that needs no I/O, so that every role
//! can share it and the pure computation (the worker's `compute` crate) can depend on it alone.
//! No tokio, sqlx, apalis or axum here: the build itself keeps it that way.
//!
//! - Money, tiers, accounts, tools, subscriptions, the ledger, periods, statistics: the
//!   marketplace's model ([`Money`], [`Tier`], [`Subscription`], ...).
//! - [`families`]: parameter schemas of the tool families and their validation.
//! - [`evaluation`]: what an evaluation is asked to do (costs, folds, the search span).
//! - [`dataset`]: OHLCV bars in columns: parsing, validation, synthetic generators, encoding.
//! - [`standards`]: the standards gate, a pure function from evidence to a report.
//! - [`session`], [`study`], [`certificate`], [`training`], [`hybrid`], [`advice`]: sessions,
//!   optimization records and trials, promotion certificates, training runs and their judgment.
//! - [`optimization`]: optimization methods, shared by the API's validation and the samplers.
//! - [`jobs`]: job kinds, statuses, payloads and backoff.
//! - [`ab_test`]: A/B tests of tool versions (settings, results, the cross-renter view).
//! - [`payments`]: where sandbox money comes from.
//! - [`forecast`]: revenue and demand forecasts with intervals and backtested error.
//! - [`review`]: reviews of tools, their text bounds and the Bayesian rating.
//! - [`clock`]: the one source of "now" (system or manual).
#![warn(missing_docs)]

pub mod ab_test;
pub mod account;
pub mod advice;
pub mod certificate;
pub mod clock;
pub mod dataset;
pub mod evaluation;
pub mod families;
pub mod forecast;
pub mod hybrid;
pub mod jobs;
pub mod ledger;
pub mod metrics;
pub mod money;
pub mod optimization;
pub mod payments;
pub mod period;
pub mod review;
pub mod session;
pub mod standards;
pub mod stats;
pub mod study;
pub mod subscription;
#[cfg(test)]
mod test_support;
pub mod tier;
pub mod tool;
pub mod training;

pub use account::{Account, AccountKind};
pub use certificate::{Certificate, CertificateBody};
pub use dataset::{Dataset, DatasetSource};
pub use ledger::{LedgerEntry, TransactionKind};
pub use metrics::{Direction, Metric, Metrics};
pub use money::{Money, MoneyError};
pub use review::{Rating, Review, ReviewReport};
pub use session::{
    OptimizationRecord, RecordStatus, Session, SessionConfig, SessionStatus, SessionTool, StudySpec,
};
pub use study::{OptimizationTrial, TrialStats};
pub use subscription::{BillingPolicy, NextCharge, Subscription, SubscriptionStatus};
pub use tier::Tier;
pub use tool::{Tool, ToolVersion};
pub use training::{
    Artifact, ArtifactSummary, NewArtifact, ResolvedConfig, SplitMetrics, TrainingConfig,
    TrainingMethod, TrainingResult, TrainingRun,
};

/// Formats an error with its whole source chain, one cause per line (for `Debug` of error
/// enums, so logs show why, not just what).
///
/// # Errors
/// When the formatter fails.
pub fn error_chain_fmt(
    e: &dyn std::error::Error,
    f: &mut std::fmt::Formatter<'_>,
) -> std::fmt::Result {
    writeln!(f, "{e}")?;
    let mut source = e.source();
    while let Some(cause) = source {
        writeln!(f, "Caused by: {cause}")?;
        source = cause.source();
    }
    Ok(())
}
