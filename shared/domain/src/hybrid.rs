//! The hybrid run's judgment: its three parts (deep learning, Q-learning, the optimization
//! engine) ran as separate jobs on the same splits, each scored on the same validation folds by
//! the standards' score (the overall improvement less the gate's penalties) against the same
//! base version; the best score wins. A pure rule
//! over the parts' results, applied whenever the hybrid run is read.

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::TrainingMethod;
use crate::jobs::JobStatus;

/// One part of a hybrid run as the judgment sees it.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct PartScore {
    /// The part's method.
    pub method: TrainingMethod,
    /// The part's run.
    pub training_id: Uuid,
    /// Its job's status.
    pub status: JobStatus,
    /// Its validation score (succeeded parts).
    pub score: Option<f64>,
}

/// The verdict.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct HybridJudgment {
    /// The best part's method (`null` when no part succeeded).
    pub winner: Option<TrainingMethod>,
    /// The best part's run.
    pub winner_training_id: Option<Uuid>,
    /// Why it won, with every score.
    pub reason: String,
    /// Every part, best first (parts without a score last, in method order).
    pub ranking: Vec<PartScore>,
}

fn pct(score: Option<f64>) -> String {
    score.map_or_else(
        || "no comparable score".into(),
        |s| format!("{:+.2}%", s * 100.0),
    )
}

/// Judges the parts once every one is final; `None` while any is still queued or running.
pub fn judge_hybrid(parts: &[PartScore]) -> Option<HybridJudgment> {
    if parts.iter().any(|p| !p.status.is_final()) {
        return None;
    }
    let mut ranking = parts.to_vec();
    let key = |p: &PartScore| match (p.status, p.score) {
        (JobStatus::Succeeded, Some(s)) if s.is_finite() => s,
        (JobStatus::Succeeded, _) => f64::MIN,
        _ => f64::NEG_INFINITY,
    };
    // Stable: equal scores keep method order.
    ranking.sort_by(|a, b| key(b).total_cmp(&key(a)));
    let winner = ranking
        .first()
        .filter(|p| p.status == JobStatus::Succeeded)
        .cloned();
    let others: Vec<String> = ranking
        .iter()
        .skip(usize::from(winner.is_some()))
        .map(|p| match p.status {
            JobStatus::Succeeded => format!("{} {}", p.method.as_str(), pct(p.score)),
            s => format!("{} {}", p.method.as_str(), s.as_str()),
        })
        .collect();
    let reason = match &winner {
        None => format!("no part succeeded ({})", others.join(", ")),
        Some(w) => {
            let mut r = format!(
                "{} has the best standards score on the validation folds ({}) against {}",
                w.method.as_str(),
                pct(w.score),
                if others.is_empty() {
                    "no other part".to_owned()
                } else {
                    others.join(", ")
                }
            );
            if w.score.is_none_or(|s| s <= 0.0) {
                r.push_str("; no part beat the base version on validation, so applying it is not recommended");
            }
            r
        }
    };
    Some(HybridJudgment {
        winner: winner.as_ref().map(|w| w.method),
        winner_training_id: winner.map(|w| w.training_id),
        reason,
        ranking,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(method: TrainingMethod, status: JobStatus, score: Option<f64>) -> PartScore {
        PartScore {
            method,
            training_id: Uuid::nil(),
            status,
            score,
        }
    }

    #[test]
    fn the_best_validation_score_wins_and_unfinished_runs_are_not_judged() {
        use TrainingMethod::*;
        let parts = [
            part(DeepLearning, JobStatus::Succeeded, Some(0.05)),
            part(QLearning, JobStatus::Succeeded, Some(0.234)),
            part(OptimizationEngine, JobStatus::Failed, None),
        ];
        let j = judge_hybrid(&parts).expect("all final");
        assert_eq!(j.winner, Some(QLearning));
        assert_eq!(
            j.reason,
            "q_learning has the best standards score on the validation folds (+23.40%) against deep_learning +5.00%, optimization_engine failed"
        );
        let running = [part(DeepLearning, JobStatus::Running, None)];
        assert!(judge_hybrid(&running).is_none());
        let lost = [
            part(DeepLearning, JobStatus::Succeeded, Some(-0.1)),
            part(QLearning, JobStatus::Canceled, None),
        ];
        let j = judge_hybrid(&lost).expect("final");
        assert_eq!(j.winner, Some(DeepLearning));
        assert!(j.reason.ends_with("not recommended"), "{}", j.reason);
        let none = [part(DeepLearning, JobStatus::Failed, None)];
        assert_eq!(judge_hybrid(&none).and_then(|j| j.winner), None);
    }
}
