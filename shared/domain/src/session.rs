//! Sessions: a renter's workspace on one of their own datasets. Tools inserted into a session
//! carry *session-local* parameters: an optimization changes them for that session only, never
//! the tool or any other session. Each optimization leaves an [`OptimizationRecord`] with the
//! evidence (parameters before and after, out-of-sample metrics per fold, the standards report);
//! a record that passed the standards gate can be promoted by the tool's creator into a new
//! permanent tool version.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use super::Metrics;
use crate::evaluation::{ConfigError, EvalConfig, FoldSpec};
use crate::optimization::Method;
use crate::standards::StandardsReport;

/// Largest seed accepted (seeds are stored as signed 64-bit integers).
pub const MAX_SEED: u64 = i64::MAX as u64;

/// How a session evaluates and optimizes, fixed when it opens.
#[derive(Copy, Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SessionConfig {
    /// Seed of every optimization that names none (0..=2^63-1).
    pub seed: u64,
    /// Walk-forward folds: optimizers fit on the in-sample windows, results are judged on the
    /// out-of-sample windows only.
    pub folds: FoldSpec,
    /// Most seconds one optimization may search (1..=3600); the best trial so far is kept.
    pub time_limit_secs: u64,
    /// Commission per fill, fraction of traded value.
    pub commission: f64,
    /// Slippage per fill, fraction of price.
    pub slippage: f64,
    /// Starting equity of every backtest.
    pub initial_cash: f64,
}

impl Default for SessionConfig {
    fn default() -> Self {
        let eval = EvalConfig::default();
        Self {
            seed: 42,
            folds: eval.folds,
            time_limit_secs: 300,
            commission: eval.commission,
            slippage: eval.slippage,
            initial_cash: eval.initial_cash,
        }
    }
}

impl SessionConfig {
    /// Longest time limit.
    pub const MAX_TIME_LIMIT_SECS: u64 = 3_600;

    /// The evaluation settings every backtest of the session uses.
    pub fn eval_config(&self) -> EvalConfig {
        EvalConfig {
            commission: self.commission,
            slippage: self.slippage,
            initial_cash: self.initial_cash,
            folds: self.folds,
            ..EvalConfig::default()
        }
    }

    /// Checks every setting and that the folds fit a dataset of `rows` bars.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first bad setting (`config.`-prefixed as the API shows it).
    pub fn validate(&self, rows: usize) -> Result<(), ConfigError> {
        let prefixed = |e: ConfigError| ConfigError {
            field: format!("config.{}", e.field),
            message: e.message,
        };
        if self.seed > MAX_SEED {
            return Err(ConfigError {
                field: "config.seed".into(),
                message: format!("must be between 0 and {MAX_SEED}"),
            });
        }
        if !(1..=Self::MAX_TIME_LIMIT_SECS).contains(&self.time_limit_secs) {
            return Err(ConfigError {
                field: "config.time_limit_secs".into(),
                message: format!("must be between 1 and {}", Self::MAX_TIME_LIMIT_SECS),
            });
        }
        let eval = self.eval_config();
        eval.validate().map_err(prefixed)?;
        eval.folds.split(rows).map_err(prefixed)?;
        Ok(())
    }
}

/// Whether a session still takes work.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    /// Open: tools can be inserted and optimized.
    Active,
    /// Closed by its owner: read-only.
    Ended,
}

impl SessionStatus {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStatus::Active => "active",
            SessionStatus::Ended => "ended",
        }
    }

    /// The status called `s`.
    pub fn parse(s: &str) -> Option<Self> {
        [SessionStatus::Active, SessionStatus::Ended]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// A session.
#[derive(Clone, Debug, PartialEq)]
pub struct Session {
    /// Id (UUID v7).
    pub id: Uuid,
    /// The renter who opened it; nobody else sees it.
    pub owner_id: Uuid,
    /// The owner's dataset every evaluation of the session runs on.
    pub dataset_id: Uuid,
    /// Settings.
    pub config: SessionConfig,
    /// Active or ended.
    pub status: SessionStatus,
    /// Set when it ended: whether passed records became promotion candidates.
    pub promote_successful: Option<bool>,
    /// Opened.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Ended.
    pub ended_at: Option<DateTime<Utc>>,
}

/// A tool inserted into a session, with the parameters the session uses for it.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionTool {
    /// The session.
    pub session_id: Uuid,
    /// The tool.
    pub tool_id: Uuid,
    /// The tool version inserted (its parameters are the baseline of every optimization).
    pub base_version: i32,
    /// The session-local parameters: the base version's, or the last applied optimization's.
    pub parameters: Map<String, Value>,
    /// The record whose parameters are in use, if any.
    pub active_record_id: Option<Uuid>,
    /// The latest optimization job started for it.
    pub last_job_id: Option<Uuid>,
    /// Inserted.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// Where an optimization record stands.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecordStatus {
    /// Better out of sample than what the session used: the session now uses its parameters
    /// (session-local; the tool is unchanged).
    Applied,
    /// Passed the gate and its session ended with `promote_successful`: a promotion candidate
    /// listed for the tool's creator.
    Promotable,
    /// Not better out of sample than what the session used (the baseline, or an applied
    /// record): the session keeps its parameters.
    Rejected,
    /// Became a permanent tool version.
    Promoted,
    /// Was applied, then replaced in its session by a better optimization of the same tool.
    Superseded,
}

impl RecordStatus {
    /// Every status.
    pub const ALL: [RecordStatus; 5] = [
        RecordStatus::Applied,
        RecordStatus::Promotable,
        RecordStatus::Rejected,
        RecordStatus::Promoted,
        RecordStatus::Superseded,
    ];

    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordStatus::Applied => "applied",
            RecordStatus::Promotable => "promotable",
            RecordStatus::Rejected => "rejected",
            RecordStatus::Promoted => "promoted",
            RecordStatus::Superseded => "superseded",
        }
    }

    /// The status called `s`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Whether a record in this status may still be promoted (when it passed the gate): any
    /// but one already promoted.
    pub fn promotable(self) -> bool {
        self != RecordStatus::Promoted
    }
}

/// A study's settings as asked for (validated against the tier's limits by the API).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StudySpec {
    /// Sampler.
    pub method: Method,
    /// Trials to run.
    pub trials: u64,
    /// Seed of every random choice.
    pub seed: u64,
}

/// What an optimization left behind: the evidence and the gate's verdict.
#[derive(Clone, Debug, PartialEq)]
pub struct OptimizationRecord {
    /// Id (the API's `record_id`).
    pub id: Uuid,
    /// The session.
    pub session_id: Uuid,
    /// The tool.
    pub tool_id: Uuid,
    /// The session's owner.
    pub owner_id: Uuid,
    /// The job that ran it.
    pub job_id: Uuid,
    /// The tool version whose parameters were the baseline.
    pub base_version: i32,
    /// The study.
    pub study: StudySpec,
    /// Everything else it ran with (folds, costs, time limit, gate thresholds).
    pub config: Value,
    /// Trials evaluated (fewer than asked when the time limit or a stop cut the study short).
    pub trials_run: u64,
    /// The baseline's parameters.
    pub params_before: Map<String, Value>,
    /// The winner's parameters.
    pub params_after: Map<String, Value>,
    /// The baseline's out-of-sample metrics, one per fold.
    pub metrics_before: Vec<Metrics>,
    /// The winner's out-of-sample metrics, one per fold.
    pub metrics_after: Vec<Metrics>,
    /// Overall out-of-sample improvement (fraction), when computable.
    pub improvement: Option<f64>,
    /// The standards gate's report.
    pub standards_report: StandardsReport,
    /// Where it stands.
    pub status: RecordStatus,
    /// SHA-256 of the session's dataset (lineage; never the data).
    pub dataset_hash: String,
    /// The search itself: best in-sample score per trial and why it stopped.
    pub search: Value,
    /// The version it became, once promoted.
    pub promoted_version: Option<i32>,
    /// The latest promotion re-check against the tool's current version.
    pub last_check: Option<Value>,
    /// Re-checks the tool's creator has run on it (each one runs the creator's current
    /// parameters on the renter's data, so they are limited per record).
    pub rechecks: u32,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl OptimizationRecord {
    /// Whether its creator may promote it now: it passed the gate and is not promoted yet.
    pub fn can_promote(&self) -> bool {
        self.standards_report.passed && self.status.promotable()
    }

    /// The search's trial statistics (`search.trial_stats`), which a promotion's re-check
    /// deflates the candidate's Sharpe ratio with; `None` for records made before trials were
    /// kept.
    pub fn trial_stats(&self) -> Option<super::TrialStats> {
        self.search
            .get("trial_stats")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_bad_settings_name_their_field() {
        assert!(SessionConfig::default().validate(500).is_ok());
        let e = SessionConfig::default()
            .validate(40)
            .expect_err("too short for 4 folds");
        assert_eq!(e.field, "config.folds");
        let e = SessionConfig {
            time_limit_secs: 0,
            ..SessionConfig::default()
        }
        .validate(500)
        .expect_err("no time");
        assert_eq!(e.field, "config.time_limit_secs");
        let e = SessionConfig {
            commission: 0.5,
            ..SessionConfig::default()
        }
        .validate(500)
        .expect_err("commission");
        assert_eq!(e.field, "config.commission");
        let e = SessionConfig {
            seed: u64::MAX,
            ..SessionConfig::default()
        }
        .validate(500)
        .expect_err("seed");
        assert_eq!(e.field, "config.seed");
    }

    #[test]
    fn statuses_round_trip_and_only_live_ones_are_promotable() {
        for s in RecordStatus::ALL {
            assert_eq!(RecordStatus::parse(s.as_str()), Some(s));
        }
        let promotable: Vec<_> = RecordStatus::ALL
            .into_iter()
            .filter(|s| s.promotable())
            .collect();
        assert_eq!(promotable.len(), 4);
        assert!(!RecordStatus::Promoted.promotable());
    }
}
