//! Learned artifacts: what a training run stores (kind, meta, bytes) and what the engine loads
//! back to evaluate a version that carries one.

use domain::Artifact;
use domain::NewArtifact;
use domain::dataset::Bars;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::dl::{MlpMeta, TrainedMlp};
use super::features::{FeatureSpec, feature_matrix};
use super::ql::{QTable, StateSpec, market};
use crate::Stop;
use crate::engine::Prepared;

/// Kind of the `neural` family's network.
pub const MLP_DIRECTION: &str = "mlp_direction";
/// Kind of a meta-labeling filter.
pub const MLP_META_FILTER: &str = "mlp_meta_filter";
/// Kind of a Q-learning policy.
pub const Q_TABLE: &str = "q_table";

/// What travels with a network's weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct NetMeta {
    features: FeatureSpec,
    mlp: MlpMeta,
    /// A filter's approval threshold.
    #[serde(default = "half")]
    approve: f32,
}

fn half() -> f32 {
    0.5
}

/// A learned artifact, ready to prepare for a series.
pub enum LoadedModel {
    /// The `neural` family's network.
    Direction {
        /// The network.
        net: TrainedMlp,
        /// Its input features.
        features: FeatureSpec,
    },
    /// A meta-labeling filter.
    MetaFilter {
        /// The network.
        net: TrainedMlp,
        /// Its input features (with the direction column).
        features: FeatureSpec,
        /// Probability a signal needs to be taken.
        approve: f32,
    },
    /// A Q-learning policy.
    Policy(QTable),
}

impl std::fmt::Debug for LoadedModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.kind())
    }
}

impl LoadedModel {
    /// The artifact kind.
    pub fn kind(&self) -> &'static str {
        match self {
            LoadedModel::Direction { .. } => MLP_DIRECTION,
            LoadedModel::MetaFilter { .. } => MLP_META_FILTER,
            LoadedModel::Policy(_) => Q_TABLE,
        }
    }

    /// Reads a stored artifact.
    ///
    /// # Errors
    /// An unknown kind, or meta or bytes that do not fit each other.
    pub fn from_artifact(a: &Artifact) -> Result<Self, String> {
        match a.kind.as_str() {
            MLP_DIRECTION | MLP_META_FILTER => {
                let meta: NetMeta = serde_json::from_value(a.meta.clone())
                    .map_err(|e| format!("artifact meta: {e}"))?;
                let net = TrainedMlp::from_bytes(meta.mlp, &a.bytes).map_err(|e| e.to_string())?;
                Ok(if a.kind == MLP_DIRECTION {
                    LoadedModel::Direction {
                        net,
                        features: meta.features,
                    }
                } else {
                    LoadedModel::MetaFilter {
                        net,
                        features: meta.features,
                        approve: meta.approve,
                    }
                })
            }
            Q_TABLE => {
                let spec: StateSpec = serde_json::from_value(a.meta["states"].clone())
                    .map_err(|e| format!("artifact meta: {e}"))?;
                QTable::from_bytes(spec, &a.bytes)
                    .map(LoadedModel::Policy)
                    .map_err(|e| e.to_string())
            }
            other => Err(format!("unknown artifact kind {other}")),
        }
    }

    /// The artifact to store (a fresh id).
    pub fn to_artifact(&self) -> NewArtifact {
        let (meta, bytes) = match self {
            LoadedModel::Direction { net, features } => {
                let meta = NetMeta {
                    features: features.clone(),
                    mlp: net.meta().clone(),
                    approve: half(),
                };
                (json!(meta), net.to_bytes())
            }
            LoadedModel::MetaFilter {
                net,
                features,
                approve,
            } => {
                let meta = NetMeta {
                    features: features.clone(),
                    mlp: net.meta().clone(),
                    approve: *approve,
                };
                (json!(meta), net.to_bytes())
            }
            LoadedModel::Policy(table) => (
                json!({"states": table.spec, "actions": ["flat", "long", "short"]}),
                table.to_bytes(),
            ),
        };
        NewArtifact {
            id: uuid::Uuid::now_v7(),
            kind: self.kind().to_owned(),
            meta,
            bytes,
        }
    }

    /// Shape: `[in, out]` per layer, or `[states, actions]`.
    pub fn shape(&self) -> Vec<Vec<usize>> {
        match self {
            LoadedModel::Direction { net, .. } | LoadedModel::MetaFilter { net, .. } => {
                net.shapes().iter().map(|s| s.to_vec()).collect()
            }
            LoadedModel::Policy(table) => vec![vec![table.spec.states(), 3]],
        }
    }

    /// A short description for results (kind and shape).
    pub fn summary(&self) -> Value {
        json!({"kind": self.kind(), "shape": self.shape()})
    }

    /// Prepares the artifact for `bars`: the network's probability for every bar, or the
    /// series' state buckets.
    pub fn prepare(&self, bars: &Bars) -> Prepared {
        self.prepare_until(bars, Stop::NEVER)
            .expect("a preparation that is never stopped runs to the end")
    }

    /// [`LoadedModel::prepare`] checking `stop` between chunks of the network's predictions (a
    /// wide network over millions of bars takes seconds): `None` when it was raised.
    pub fn prepare_until(&self, bars: &Bars, stop: Stop<'_>) -> Option<Prepared> {
        Some(match self {
            LoadedModel::Direction { net, features } => Prepared::Direction {
                p_up: warm(
                    net.predict_until(&feature_matrix(&bars.close, features, 1), stop)?,
                    features,
                    0.5,
                ),
            },
            LoadedModel::MetaFilter {
                net,
                features,
                approve,
            } => Prepared::MetaFilter {
                approve: *approve,
                p_long: warm(
                    net.predict_until(&feature_matrix(&bars.close, features, 1), stop)?,
                    features,
                    0.0,
                ),
                p_short: warm(
                    net.predict_until(&feature_matrix(&bars.close, features, -1), stop)?,
                    features,
                    0.0,
                ),
            },
            LoadedModel::Policy(table) => Prepared::Policy {
                table: table.clone(),
                market: market(&bars.close, &table.spec),
            },
        })
    }
}

/// Bars before the features are complete get `fill`: no direction (0.5) for the `neural`
/// rule, no approval (0) for a filter.
fn warm(mut p: Vec<f32>, features: &FeatureSpec, fill: f32) -> Vec<f32> {
    let n = features.warmup().min(p.len());
    p[..n].fill(fill);
    p
}

#[cfg(test)]
mod tests {
    use std::ops::ControlFlow;

    use domain::Artifact;

    use super::*;
    use crate::train::dl::{DlConfig, train};
    use crate::train::features::meta_samples;

    fn bars() -> Bars {
        let spec = serde_json::from_value(json!({"kind": "gbm", "bars": 600, "seed": 4}))
            .expect("a generator spec");
        domain::dataset::synth::generate(&spec).expect("generates")
    }

    fn stored(model: &LoadedModel) -> Artifact {
        let a = model.to_artifact();
        Artifact {
            id: a.id,
            tool_id: uuid::Uuid::nil(),
            training_id: uuid::Uuid::nil(),
            kind: a.kind,
            meta: a.meta,
            bytes: a.bytes,
            sha256: String::new(),
            created_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn stored_artifacts_load_back_and_prepare_identically() {
        let bars = bars();
        let signal: Vec<i8> = bars
            .close
            .iter()
            .enumerate()
            .map(|(t, c)| {
                if t > 0 && *c > bars.close[t - 1] {
                    1
                } else {
                    -1
                }
            })
            .collect();
        let features = FeatureSpec {
            lookback: 5,
            horizon: 3,
            with_direction: true,
        };
        let train_s = meta_samples(&bars.open, &bars.close, &signal, &features, 0.001, 0..400);
        let val_s = meta_samples(&bars.open, &bars.close, &signal, &features, 0.001, 400..600);
        let cfg = DlConfig {
            epochs: 3,
            learning_rate: 1e-2,
            batch_size: 32,
            hidden: vec![8],
            patience: 3,
            seed: 1,
        };
        let net = train(&train_s, &val_s, &cfg, Stop::NEVER, |_| {
            ControlFlow::Continue(())
        })
        .expect("trains")
        .net;
        let filter = LoadedModel::MetaFilter {
            net,
            features,
            approve: 0.42,
        };
        let spec = StateSpec::fit(&bars.close, 0..400, 5, 20, 5, 3);
        let mut table = QTable {
            q: vec![0.0; spec.states() * 3],
            spec,
        };
        table.q[7] = 1.5;
        let policy = LoadedModel::Policy(table);

        for model in [filter, policy] {
            let back = LoadedModel::from_artifact(&stored(&model)).expect("loads");
            assert_eq!(back.kind(), model.kind());
            assert_eq!(back.shape(), model.shape());
            assert_eq!(
                back.prepare(&bars),
                model.prepare(&bars),
                "{}",
                model.kind()
            );
        }
        let mut broken = stored(&LoadedModel::Policy(QTable {
            q: vec![0.0; 4],
            spec: StateSpec::fit(&bars.close, 0..400, 5, 20, 5, 3),
        }));
        broken.bytes.truncate(8);
        assert!(LoadedModel::from_artifact(&broken).is_err());
        broken.kind = "svm".into();
        assert!(LoadedModel::from_artifact(&broken).is_err());
    }
}
