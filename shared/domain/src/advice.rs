//! Training recommendations: which method and config a creator should try next, from the
//! dataset's size, the size of the family's parameter space and the tool's earlier runs. Pure
//! rules, each recommendation with the reason it was made.

use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::{TrainingConfig, TrainingMethod, TrainingRun};
use crate::families::{Family, ParamKind};
use crate::optimization::Method;

/// What the advice is derived from.
#[derive(Clone, Copy, Debug)]
pub struct RecommendationInput<'a> {
    /// The tool's family.
    pub family: &'a Family,
    /// Bars of the dataset to train on, if named.
    pub dataset_rows: Option<usize>,
    /// Whether the current version already has a learned artifact.
    pub has_artifact: bool,
    /// Earlier runs, newest first.
    pub history: &'a [TrainingRun],
    /// The creator's trial budget.
    pub max_trials: u64,
}

/// One recommendation.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Recommendation {
    /// 1 = try first.
    pub rank: usize,
    /// The method.
    pub method: TrainingMethod,
    /// The config to send (only fields that differ from the defaults, plus the seed).
    pub config: TrainingConfig,
    /// Why.
    pub reason: String,
}

/// Below this many bars a network overfits: prefer a small one and the other methods.
const SMALL: usize = 1_500;
/// From this many bars a larger network pays.
const LARGE: usize = 10_000;

/// Distinct points of the family's space (ints counted exactly, each float as 100 steps).
fn space_size(family: &Family) -> f64 {
    family
        .parameters
        .iter()
        .map(|p| match p.r#type {
            ParamKind::Int => p.max - p.min + 1.0,
            ParamKind::Float => 100.0,
        })
        .product()
}

fn best_run(history: &[TrainingRun]) -> Option<(&TrainingRun, f64)> {
    history
        .iter()
        .filter(|r| r.method != TrainingMethod::Hybrid)
        .filter_map(|r| Some((r, r.result.as_ref()?.validation.score?)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

/// The recommendations, best first, and the facts they were derived from.
pub fn recommend(input: &RecommendationInput<'_>) -> (Vec<Recommendation>, Value) {
    let mut out: Vec<(TrainingMethod, TrainingConfig, String)> = Vec::new();
    let neural = input.family.name == "neural";
    let size = space_size(input.family);
    let dims = input.family.parameters.len();
    let finished: Vec<&TrainingRun> = input
        .history
        .iter()
        .filter(|r| r.result.is_some())
        .collect();

    if let Some(rows) = input.dataset_rows
        && rows < 200
    {
        return (
            Vec::new(),
            json!({"dataset_rows": rows, "note": "training needs at least 200 bars: upload a longer dataset"}),
        );
    }

    // Deep learning, sized to the data.
    let (hidden, batch, why_size) = match input.dataset_rows {
        Some(r) if r < SMALL => (
            vec![16],
            32,
            format!("{r} bars give few samples: a single small hidden layer overfits less"),
        ),
        Some(r) if r >= LARGE => (
            vec![64, 32],
            128,
            format!("{r} bars support a larger network and bigger batches"),
        ),
        Some(r) => (
            vec![32, 16],
            64,
            format!("{r} bars suit the default network"),
        ),
        None => (
            vec![32, 16],
            64,
            "name a dataset_id to size the network to your data".to_owned(),
        ),
    };
    let dl = TrainingConfig {
        hidden: Some(hidden),
        batch_size: Some(batch),
        ..TrainingConfig::default()
    };
    let untrained_neural = neural && !input.has_artifact;
    if untrained_neural {
        out.push((
            TrainingMethod::DeepLearning,
            dl.clone(),
            format!("the neural family holds no position until its network is trained; {why_size}"),
        ));
    }

    // The optimizer, sized to the space.
    let (optimizer, trials, why_space) = if size <= 400.0 {
        let n = (size as u64).clamp(1, input.max_trials);
        (
            Method::Grid,
            n,
            format!("the space has {size:.0} points: a grid covers it exactly"),
        )
    } else {
        let n = (60 * dims as u64).clamp(50, 400).min(input.max_trials);
        (
            Method::Bayesian,
            n,
            format!(
                "{dims} parameters span about {size:.1e} points: a Bayesian search (TPE) finds good regions in {n} trials"
            ),
        )
    };
    let opt = TrainingConfig {
        trials: Some(trials),
        optimizer: Some(optimizer),
        ..TrainingConfig::default()
    };

    if finished.is_empty() {
        out.push((
            TrainingMethod::Hybrid,
            TrainingConfig {
                trials: Some(trials),
                optimizer: Some(optimizer),
                hidden: dl.hidden.clone(),
                batch_size: dl.batch_size,
                ..TrainingConfig::default()
            },
            format!("no earlier runs: a hybrid run tries all three methods on the same validation folds and keeps the best; {why_space}; {why_size}"),
        ));
    } else if let Some((best, score)) = best_run(input.history) {
        let next_seed = best.config.seed.wrapping_add(1) % (i64::MAX as u64);
        let mut again = TrainingConfig {
            seed: Some(next_seed),
            ..TrainingConfig::default()
        };
        let mut why = format!(
            "the best earlier run was {} ({:+.2}% on validation)",
            best.method.as_str(),
            score * 100.0
        );
        let details = best.result.as_ref().map(|r| &r.details);
        match best.method {
            TrainingMethod::DeepLearning => {
                if let Some(d) = &best.config.deep_learning {
                    again.hidden = Some(d.hidden.clone());
                    let best_epoch = details.and_then(|d| d["best_epoch"].as_u64()).unwrap_or(0);
                    let stopped = details
                        .and_then(|d| d["stopped_early"].as_bool())
                        .unwrap_or(false);
                    if stopped && best_epoch <= 3 {
                        again.learning_rate = Some(d.learning_rate / 3.0);
                        why.push_str(&format!(
                            "; it peaked at epoch {best_epoch}: a smaller learning rate learns more steadily"
                        ));
                    } else if !stopped {
                        again.epochs = Some((d.epochs * 2).min(2_000));
                        why.push_str(
                            "; it was still improving when its epochs ran out: give it more",
                        );
                    }
                }
            }
            TrainingMethod::QLearning => {
                if let Some(q) = &best.config.q_learning {
                    again.epochs = Some((q.episodes * 2).min(5_000));
                    why.push_str("; more episodes visit more states");
                }
            }
            TrainingMethod::OptimizationEngine => {
                if let Some(o) = &best.config.optimization_engine {
                    again.trials = Some((o.trials * 2).min(input.max_trials));
                    again.optimizer = Some(o.optimizer);
                    why.push_str("; a larger budget explores further");
                }
            }
            TrainingMethod::Hybrid => {}
        }
        why.push_str(&format!(
            "; another seed ({next_seed}) checks that the gain is stable"
        ));
        out.push((best.method, again, why));
    }
    let tried = |m: TrainingMethod| finished.iter().any(|r| r.method == m);
    if !untrained_neural && !tried(TrainingMethod::DeepLearning) {
        out.push((
            TrainingMethod::DeepLearning,
            dl,
            if neural {
                format!("retrain the network; {why_size}")
            } else {
                format!("a meta-labeling filter learns which of the family's signals pay and skips the others; {why_size}")
            },
        ));
    }
    if !tried(TrainingMethod::OptimizationEngine) {
        out.push((TrainingMethod::OptimizationEngine, opt, why_space));
    }
    if !tried(TrainingMethod::QLearning) {
        out.push((
            TrainingMethod::QLearning,
            TrainingConfig::default(),
            "a learned execution policy decides when to follow the family's signal from recent return and volatility".into(),
        ));
    }
    if !finished.is_empty() {
        let seed = input
            .history
            .first()
            .map_or(42, |r| r.config.seed.wrapping_add(1) % (i64::MAX as u64));
        out.push((
            TrainingMethod::Hybrid,
            TrainingConfig {
                seed: Some(seed),
                trials: Some(trials),
                optimizer: Some(optimizer),
                ..TrainingConfig::default()
            },
            format!("a hybrid run with another seed ({seed}) re-judges all three methods side by side on the same validation folds"),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    let recommendations = out
        .into_iter()
        .filter(|(m, _, _)| seen.insert(*m))
        .enumerate()
        .map(|(i, (method, config, reason))| Recommendation {
            rank: i + 1,
            method,
            config,
            reason,
        })
        .collect();
    let basis = json!({
        "family": input.family.name,
        "dataset_rows": input.dataset_rows,
        "parameter_space": {"dimensions": dims, "points": size},
        "earlier_runs": input.history.iter().filter(|r| r.parent_id.is_none()).count(),
        "finished_runs": finished.len(),
        "has_artifact": input.has_artifact,
    });
    (recommendations, basis)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(
        family: &'a str,
        rows: Option<usize>,
        history: &'a [TrainingRun],
    ) -> RecommendationInput<'a> {
        RecommendationInput {
            family: crate::families::get(family).expect("family"),
            dataset_rows: rows,
            has_artifact: false,
            history,
            max_trials: 5_000,
        }
    }

    #[test]
    fn without_history_a_hybrid_comes_first_and_sizes_follow_the_data() {
        let (r, basis) = recommend(&input("sma_crossover", Some(800), &[]));
        assert_eq!(r[0].method, TrainingMethod::Hybrid);
        assert_eq!(r[0].config.hidden, Some(vec![16]));
        assert!(r.iter().all(|x| !x.reason.is_empty()));
        assert_eq!(basis["parameter_space"]["dimensions"], 2);
        // sma_crossover: 199 x 498 points: a Bayesian search, not a grid.
        let opt = r
            .iter()
            .find(|x| x.method == TrainingMethod::OptimizationEngine)
            .expect("optimizer advice");
        assert_eq!(opt.config.optimizer, Some(Method::Bayesian));
        let (r, _) = recommend(&input("neural", Some(20_000), &[]));
        assert_eq!(r[0].method, TrainingMethod::DeepLearning);
        assert_eq!(r[0].config.hidden, Some(vec![64, 32]));
        assert!(recommend(&input("rsi", Some(100), &[])).0.is_empty());
    }

    fn finished(method: TrainingMethod, score: f64) -> TrainingRun {
        use crate::training::{SplitMetrics, Splits, ValidationJudgment};
        let config = TrainingConfig::default()
            .resolve(method, false, 5_000)
            .expect("defaults");
        let split = SplitMetrics {
            train: Default::default(),
            validation: Default::default(),
            test: Default::default(),
        };
        TrainingRun {
            id: uuid::Uuid::now_v7(),
            tool_id: uuid::Uuid::nil(),
            creator_id: uuid::Uuid::nil(),
            dataset_id: uuid::Uuid::nil(),
            method,
            config,
            base_version: 1,
            parent_id: None,
            job_id: None,
            result: Some(crate::TrainingResult {
                method,
                parameters: Default::default(),
                artifact: None,
                metrics: split,
                baseline: split,
                splits: Splits {
                    train: [0, 6],
                    validation: [6, 8],
                    test: [8, 10],
                },
                validation: ValidationJudgment {
                    score: Some(score),
                    baseline: vec![],
                    trained: vec![],
                },
                curves: json!({}),
                details: json!({}),
                duration_ms: 1,
                seed: 42,
                dataset_hash: String::new(),
            }),
            artifact_id: None,
            applied_version: None,
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn history_brings_the_best_method_back_with_another_seed_and_a_larger_budget() {
        let history = [
            finished(TrainingMethod::DeepLearning, 0.1),
            finished(TrainingMethod::QLearning, 0.3),
        ];
        let (r, basis) = recommend(&input("momentum", Some(3_000), &history));
        assert_eq!(r[0].method, TrainingMethod::QLearning);
        assert_eq!(r[0].config.seed, Some(43));
        assert_eq!(r[0].config.epochs, Some(300), "twice the 150 episodes");
        assert!(r[0].reason.contains("+30.00%"), "{}", r[0].reason);
        // Untried methods follow; a tried one is not proposed again as new.
        let methods: Vec<_> = r.iter().map(|x| x.method).collect();
        assert_eq!(
            methods,
            [
                TrainingMethod::QLearning,
                TrainingMethod::OptimizationEngine,
                TrainingMethod::Hybrid
            ]
        );
        assert_eq!(basis["finished_runs"], 2);
    }
}
