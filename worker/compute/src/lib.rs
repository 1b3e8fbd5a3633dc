//! The marketplace's computation, with no I/O: what a worker runs once a job's inputs are loaded.
//!
//! - [`engine`]: the evaluation engine (signals, backtest, metrics, folds, the cost model).
//! - [`optimize`]: ask/tell samplers (grid, random, TPE, GP, CMA-ES, local) and the rayon study
//!   loop, and a session tool's optimization judged by the standards gate.
//! - [`train`]: creator training (burn deep learning, rayon Q-learning, optimizer sweeps, hybrid).
//! - [`ab_test`]: the A/B test of two versions' paired returns (a seeded block bootstrap).
//! - [`stop`]: the cooperative stop signal ([`Stop`]) every long loop of the three checks.
//!
//! It depends on the `domain` crate, burn and rayon only, so it builds, tests and benches
//! without a database, a queue or an async runtime (`cargo build -p compute`).

pub mod ab_test;
pub mod engine;
pub mod optimize;
pub mod stop;
pub mod train;

pub use stop::Stop;
