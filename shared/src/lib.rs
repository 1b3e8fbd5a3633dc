//! Everything the marketplace's roles (api, worker, scheduler) share: the domain model, the tool
//! families' parameter schemas, the store, configuration, the clock and telemetry.
//!
//! - [`domain`]: money, tiers, accounts, tools, subscriptions, the ledger (pure types and rules).
//! - [`families`]: parameter schemas of the tool families and their validation (no evaluation).
//! - [`evaluation`]: what an evaluation is asked to do (costs, folds), checked by the API, run by the engine.
//! - [`dataset`]: OHLCV bars in columns: parsing, validation, synthetic generators, encoding.
//! - [`jobs`]: job kinds, statuses, payloads and backoff shared by the API, the workers and the store.
//! - [`store`]: the [`store::Store`] trait with its SQLite and PostgreSQL implementations.
//! - [`billing`]: the billing pass (renewals, dunning, expiries) and the sandbox clock walk.
//! - [`queue`]: the apalis queues (Redis or embedded SQLite) that carry job ids to workers.
//! - [`standards`]: the standards gate, a pure function from baseline and candidate metrics to a report.
//! - [`optimization`]: optimization methods, shared by the API's validation and the worker's samplers.
//! - [`payments`]: where sandbox money comes from.
//! - [`config`], [`telemetry`], [`clock`], [`shutdown`]: process plumbing every binary uses the same way.
#![warn(missing_docs)]

pub mod billing;
pub mod clock;
pub mod config;
pub mod dataset;
pub mod domain;
pub mod evaluation;
pub mod families;
pub mod jobs;
pub mod optimization;
pub mod payments;
pub mod queue;
pub mod shutdown;
pub mod standards;
pub mod store;
pub mod telemetry;

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
