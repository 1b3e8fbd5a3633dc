//! A report as a tool's creator sees it when the re-check ran on a renter's data: the verdict
//! and the relative figures only. The creator chooses the parameters a re-check compares
//! against (any change of a tool's parameters makes its current version), so an absolute figure
//! of a re-check on a renter's series (a fold's metrics, trade counts, exposure, the window
//! bounds that tell its length, the Sharpe statistics) would let the creator probe that series
//! with parameters of their choosing.

use super::{Check, RunReport, StandardsReport};

/// What a withheld value's note says.
const WITHHELD: &str = "value withheld: an absolute figure of the renter's data";

impl StandardsReport {
    /// The report without absolute figures: every check keeps its verdict and threshold, and
    /// its value only when it is a change of the candidate over the baseline, a share of folds
    /// or runs, or the Deflated Sharpe Ratio's probability; each run keeps its improvement, fold
    /// share and verdict but not its windows; per-fold evidence and the Sharpe statistics go.
    #[must_use]
    pub fn relative_only(&self) -> Self {
        Self {
            passed: self.passed,
            improvement: self.improvement,
            checks: self.checks.iter().map(Check::relative).collect(),
            evidence: Vec::new(),
            runs: self
                .runs
                .iter()
                .map(|r| RunReport {
                    windows: Vec::new(),
                    ..r.clone()
                })
                .collect(),
            deflated_sharpe: None,
            deflated_sharpe_absolute: None,
        }
    }
}

impl Check {
    /// The check without its value when the value is an absolute figure (the evidence
    /// checks' trades per fold and exposure); changes, shares and the Deflated Sharpe Ratio's
    /// probability are kept.
    #[must_use]
    pub fn relative(&self) -> Self {
        let relative = self.name == "overall_improvement"
            || self.name.starts_with("required:")
            || self.name.starts_with("no_regression:")
            || self.name.starts_with("stability")
            || self.name == "deflated_sharpe";
        if relative {
            self.clone()
        } else {
            Self {
                value: None,
                note: Some(WITHHELD.into()),
                ..self.clone()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::standards::FoldEvidence;

    fn check(name: &str, value: f64) -> Check {
        Check {
            name: name.into(),
            value: Some(value),
            threshold: 0.1,
            passed: true,
            note: None,
        }
    }

    #[test]
    fn keeps_the_verdict_and_relative_figures_and_drops_absolute_ones() {
        let report = StandardsReport {
            passed: false,
            improvement: Some(0.21),
            checks: vec![
                check("overall_improvement", 0.21),
                check("required:sharpe_ratio", 0.3),
                check("no_regression:max_drawdown", -0.01),
                check("evidence:trades", 17.0),
                check("evidence:exposure", 0.42),
                check("stability", 0.8),
                check("stability:runs", 1.0),
                check("deflated_sharpe", 0.97),
            ],
            evidence: vec![FoldEvidence {
                fold: 0,
                trades_before: 12.0,
                trades_after: 17.0,
                exposure_before: 0.4,
                exposure_after: 0.42,
                won: true,
            }],
            runs: vec![RunReport {
                run: 0,
                windows: vec![[100, 400]],
                improvement: Some(0.21),
                fold_win_share: Some(0.8),
                passed: true,
            }],
            deflated_sharpe: None,
            deflated_sharpe_absolute: None,
        };
        let seen = report.relative_only();
        assert!(!seen.passed);
        assert_eq!(seen.improvement, Some(0.21));
        assert_eq!(seen.checks.len(), report.checks.len());
        let value = |name: &str| {
            seen.checks
                .iter()
                .find(|c| c.name == name)
                .expect("check")
                .value
        };
        assert_eq!(value("overall_improvement"), Some(0.21));
        assert_eq!(value("required:sharpe_ratio"), Some(0.3));
        assert_eq!(value("no_regression:max_drawdown"), Some(-0.01));
        assert_eq!(value("stability"), Some(0.8));
        assert_eq!(value("stability:runs"), Some(1.0));
        assert_eq!(value("deflated_sharpe"), Some(0.97));
        assert_eq!(value("evidence:trades"), None);
        assert_eq!(value("evidence:exposure"), None);
        assert!(seen.checks.iter().all(|c| c.passed));
        assert!(seen.evidence.is_empty());
        assert!(seen.runs[0].windows.is_empty());
        assert_eq!(seen.runs[0].improvement, Some(0.21));
        let text = serde_json::to_string(&seen).expect("json");
        assert!(!text.contains("400") && !text.contains("17.0") && !text.contains("0.42"));
    }
}
