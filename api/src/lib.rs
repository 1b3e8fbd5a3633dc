//! The marketplace's HTTP API (axum), and with the default `embedded` feature the whole product
//! in one process.
//!
//! - [`startup`]: [`startup::Application`], the router and its layers.
//! - [`routes`]: one module per area (accounts, families, tools, subscriptions, datasets, admin,
//!   health).
//! - [`auth`]: bearer API keys and the admin key.
//! - [`error`]: [`error::ApiError`] rendered as problem+json.
//! - [`extract`]: extractors whose rejections are problem+json.
//! - [`views`]: JSON representations; [`pagination`]: cursors; [`openapi`]: the document.
//! - [`web`]: the dashboard's pages, the plots' static files and the docs UI at `/docs`.

pub mod auth;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod openapi;
pub mod pagination;
pub mod ratelimit;
pub mod routes;
pub mod startup;
pub mod state;
pub mod streams;
pub mod views;
pub mod web;

pub use startup::Application;
