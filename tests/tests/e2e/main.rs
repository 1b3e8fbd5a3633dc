//! The end-to-end suite: the real application (API, workers, scheduler) on random ports, against
//! SQLite and, when `DATABASE_URL` names one, PostgreSQL (a fresh database per test), and Redis
//! for the distributed deployment. One test binary (linked once), one module per area; the
//! harness is the `tests` library (`tests/src`).

mod ab_tests;
mod accounts;
mod authz_matrix;
mod batches;
mod billing;
mod cli;
mod cluster;
mod dashboard;
mod datasets;
mod deep_queue;
mod fair_use;
mod families;
mod forecasts;
mod job_store;
mod jobs;
mod keys;
mod migrations;
mod operators;
mod platform;
mod redis_restart;
mod reviews;
mod seed_client;
mod session_store;
mod sessions;
mod subscriptions;
mod tools;
mod trainings;
