//! Creator training: a run of one training method on one of the creator's datasets, its config
//! (validated here so the API and the worker agree), its result and the learned artifact it
//! produced. A run is applied as a new tool version whose artifact the engine loads whenever
//! that version is evaluated.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use super::Metrics;

mod config;

pub use config::{
    ConfigFieldError, DlSettings, OptSettings, QlSettings, ResolvedConfig, TrainingConfig,
};

/// How a tool is trained.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TrainingMethod {
    /// A burn MLP: the `neural` family's network, or a meta-labeling filter for the others.
    DeepLearning,
    /// Tabular Q-learning of an execution policy (rayon-parallel learners).
    QLearning,
    /// The session optimizers on the creator's data with creator-sized budgets.
    OptimizationEngine,
    /// The three above as separate jobs; the best on the validation folds wins.
    Hybrid,
}

impl TrainingMethod {
    /// Every method.
    pub const ALL: [TrainingMethod; 4] = [
        TrainingMethod::DeepLearning,
        TrainingMethod::QLearning,
        TrainingMethod::OptimizationEngine,
        TrainingMethod::Hybrid,
    ];

    /// The methods a hybrid run starts, in this order.
    pub const HYBRID_PARTS: [TrainingMethod; 3] = [
        TrainingMethod::DeepLearning,
        TrainingMethod::QLearning,
        TrainingMethod::OptimizationEngine,
    ];

    /// The name used in the API and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            TrainingMethod::DeepLearning => "deep_learning",
            TrainingMethod::QLearning => "q_learning",
            TrainingMethod::OptimizationEngine => "optimization_engine",
            TrainingMethod::Hybrid => "hybrid",
        }
    }

    /// The method called `s`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// Metrics of the time-ordered splits (train, then validation, then test; never shuffled
/// across time).
#[derive(Copy, Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SplitMetrics {
    /// The training split (what the method fit on).
    pub train: Metrics,
    /// The validation split (early stopping, model choice, the hybrid's judgment).
    pub validation: Metrics,
    /// The test split (never seen by the method).
    pub test: Metrics,
}

/// Where the splits are, as bar index ranges `[start, end)`.
#[derive(Copy, Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Splits {
    /// Training bars.
    pub train: [usize; 2],
    /// Validation bars.
    pub validation: [usize; 2],
    /// Test bars.
    pub test: [usize; 2],
}

/// What a learned artifact is, without its bytes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ArtifactSummary {
    /// Id.
    pub id: Uuid,
    /// `mlp_direction` (the `neural` family's network), `mlp_meta_filter` or `q_table`.
    pub kind: String,
    /// Bytes stored.
    pub size_bytes: u64,
    /// Shape: `[in, out]` per network layer, or `[states, actions]` of a Q-table.
    pub shape: Vec<Vec<usize>>,
    /// SHA-256 of the bytes, hex.
    pub sha256: String,
}

/// The validation folds' judgment of a run against the version it started from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ValidationJudgment {
    /// The standards' score on the validation folds: the overall improvement over the base
    /// version (the measure the gate reads) less what the gate would hold against it (a
    /// required metric that falls, a regression beyond the limit, folds not won, folds without
    /// the evidence floor's trades or exposure); `null` when not comparable.
    pub score: Option<f64>,
    /// The base version's metrics per validation fold.
    pub baseline: Vec<Metrics>,
    /// The trained tool's metrics per validation fold.
    pub trained: Vec<Metrics>,
}

/// A finished training run's result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TrainingResult {
    /// The method.
    pub method: TrainingMethod,
    /// The parameters of the trained tool (what apply makes the new version's).
    pub parameters: Map<String, Value>,
    /// The learned artifact (`null` for the optimization engine, which keeps the version's).
    pub artifact: Option<ArtifactSummary>,
    /// The trained tool's metrics per split.
    pub metrics: SplitMetrics,
    /// The base version's (untrained or default) metrics per split, for comparison.
    pub baseline: SplitMetrics,
    /// The bars of each split.
    pub splits: Splits,
    /// Judgment on the validation folds.
    pub validation: ValidationJudgment,
    /// Curves: `loss` per epoch, `reward` per episode, `best_score` per trial.
    #[schema(value_type = Object)]
    pub curves: Value,
    /// Method-specific facts (samples, early stopping, visited states, stop reason, ...).
    #[schema(value_type = Object)]
    pub details: Value,
    /// Wall time of the run.
    pub duration_ms: u64,
    /// The seed.
    pub seed: u64,
    /// SHA-256 of the dataset's content.
    pub dataset_hash: String,
}

/// A training run.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainingRun {
    /// Id.
    pub id: Uuid,
    /// The tool.
    pub tool_id: Uuid,
    /// The tool's creator (the caller who started it).
    pub creator_id: Uuid,
    /// The creator's dataset.
    pub dataset_id: Uuid,
    /// The method.
    pub method: TrainingMethod,
    /// The resolved config.
    pub config: ResolvedConfig,
    /// The tool version it started from.
    pub base_version: i32,
    /// The hybrid run it is part of.
    pub parent_id: Option<Uuid>,
    /// Its job (none for a hybrid run, whose parts have one each).
    pub job_id: Option<Uuid>,
    /// The result, once its job succeeded.
    pub result: Option<TrainingResult>,
    /// The artifact it produced.
    pub artifact_id: Option<Uuid>,
    /// The version made from it, once applied.
    pub applied_version: Option<i32>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A learned artifact to store with its run's result.
#[derive(Clone, Debug, PartialEq)]
pub struct NewArtifact {
    /// Id.
    pub id: Uuid,
    /// See [`ArtifactSummary::kind`].
    pub kind: String,
    /// What is needed to use the bytes.
    pub meta: Value,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// A learned artifact with its bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct Artifact {
    /// Id.
    pub id: Uuid,
    /// The tool it was trained for.
    pub tool_id: Uuid,
    /// The run that produced it.
    pub training_id: Uuid,
    /// See [`ArtifactSummary::kind`].
    pub kind: String,
    /// Everything needed to use the bytes (layer sizes, input normalization, bucket edges, ...).
    pub meta: Value,
    /// burn record bytes of the weights, or the Q-table's values.
    pub bytes: Vec<u8>,
    /// SHA-256 of the bytes, hex.
    pub sha256: String,
    /// Created.
    pub created_at: DateTime<Utc>,
}
