//! Everything the marketplace's roles (api, worker, scheduler) share beyond the pure domain: the
//! store, the billing pass, configuration, the clock and telemetry. The domain itself
//! is the `domain` crate, re-exported here under its old paths (`shared::domain`,
//! `shared::standards`, ...), so a role that needs more than the domain names one crate.
//!
//! - [`domain`] (the `domain` crate) and its modules [`dataset`], [`evaluation`], [`families`],
//!   [`jobs`], [`optimization`], [`payments`], [`standards`].
//! - [`store`]: the [`store::Store`] trait with its SQLite and PostgreSQL implementations.
//! - [`billing`]: the billing pass (renewals, dunning, expiries) and the sandbox clock walk.
//! - [`config`], [`telemetry`], [`clock`], [`shutdown`]: process plumbing every binary uses the same way.
#![warn(missing_docs)]

pub use domain;
pub use domain::{
    clock, dataset, error_chain_fmt, evaluation, families, jobs, optimization, payments, standards,
};
pub use store;

pub mod billing;
pub mod config;
pub mod shutdown;
pub mod telemetry;
