//! What an optimization is asked to do, as the API validates it and the worker runs it: the
//! method (sampler) of a study. The samplers themselves live in the worker's `optimize` module;
//! this enum lives here so an API-only build (no worker linked) can check requests.

use serde::{Deserialize, Serialize};

/// An optimization method.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Even grid.
    Grid,
    /// Uniform random.
    Random,
    /// Tree-structured Parzen estimator (multivariate).
    Bayesian,
    /// Covariance matrix adaptation evolution strategy.
    Cmaes,
    /// Refinement around the best point.
    Local,
}

impl Method {
    /// Every method.
    pub const ALL: [Method; 5] = [
        Method::Grid,
        Method::Random,
        Method::Bayesian,
        Method::Cmaes,
        Method::Local,
    ];

    /// The name used in the API and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Grid => "grid",
            Method::Random => "random",
            Method::Bayesian => "bayesian",
            Method::Cmaes => "cmaes",
            Method::Local => "local",
        }
    }

    /// The method called `s`.
    pub fn parse(s: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.as_str() == s)
    }
}
