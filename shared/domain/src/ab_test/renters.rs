//! The cross-renter view of an A/B test: what renters' sessions recorded of either version
//! (each optimization record keeps the version its session started from and that version's
//! out-of-sample metrics on the renter's data, its baseline). Shown to the creator only as
//! aggregates, and only when each version has at least [`MIN_RENTERS`] distinct renters, so no
//! renter's own numbers can be read off it.
//!
//! Each renter counts once: a renter's records of a version are averaged first (each record's
//! value is the mean over its folds), and the mean and median are taken across renters.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::Metrics;

/// Fewest distinct renters per version before anything is shown.
pub const MIN_RENTERS: usize = 5;

/// What one optimization record says of the version its session started from.
#[derive(Clone, Debug, PartialEq)]
pub struct RenterRecord {
    /// The renter (the session's owner).
    pub owner_id: Uuid,
    /// The version the session started from.
    pub version: i32,
    /// That version's out-of-sample metrics on the renter's data, one per fold.
    pub baseline: Vec<Metrics>,
    /// The optimization's improvement over it, when computable.
    pub improvement: Option<f64>,
}

/// Mean and median across renters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Summary {
    /// Mean.
    pub mean: f64,
    /// Median.
    pub median: f64,
}

/// One version's aggregate across renters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VersionAggregate {
    /// Distinct renters.
    pub renters: usize,
    /// Optimization records.
    pub records: usize,
    /// The version's out-of-sample Sharpe ratio on renters' data.
    pub sharpe: Summary,
    /// Its out-of-sample total return.
    pub total_return: Summary,
    /// Its out-of-sample success rate.
    pub success_rate: Summary,
    /// The optimizations' improvement over it (none when no record had one).
    pub improvement: Option<Summary>,
}

/// One version in the comparison.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VersionRenters {
    /// The version.
    pub version: i32,
    /// Distinct renters still needed before the aggregates are shown (0 when enough).
    pub renters_needed: usize,
    /// The aggregate, only when both versions have enough renters.
    pub aggregate: Option<VersionAggregate>,
}

/// `GET /v1/tools/{id}/ab-tests/renters`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RenterComparison {
    /// Distinct renters each version needs ([`MIN_RENTERS`]).
    pub min_renters: usize,
    /// Whether the aggregates are shown (both versions have enough renters).
    pub shown: bool,
    /// Version A.
    pub version_a: VersionRenters,
    /// Version B.
    pub version_b: VersionRenters,
}

/// Compares versions `a` and `b` across `records` (records of other versions are ignored).
pub fn compare_renters(records: &[RenterRecord], a: i32, b: i32) -> RenterComparison {
    let per_version = |v: i32| {
        let mut by_renter: BTreeMap<Uuid, Vec<&RenterRecord>> = BTreeMap::new();
        for r in records.iter().filter(|r| r.version == v) {
            by_renter.entry(r.owner_id).or_default().push(r);
        }
        by_renter
    };
    let (ra, rb) = (per_version(a), per_version(b));
    let shown = ra.len() >= MIN_RENTERS && rb.len() >= MIN_RENTERS;
    let side = |version: i32, renters: &BTreeMap<Uuid, Vec<&RenterRecord>>| VersionRenters {
        version,
        renters_needed: MIN_RENTERS.saturating_sub(renters.len()),
        aggregate: shown.then(|| aggregate(renters)),
    };
    RenterComparison {
        min_renters: MIN_RENTERS,
        shown,
        version_a: side(a, &ra),
        version_b: side(b, &rb),
    }
}

fn aggregate(renters: &BTreeMap<Uuid, Vec<&RenterRecord>>) -> VersionAggregate {
    let per_renter = |f: &dyn Fn(&RenterRecord) -> Option<f64>| -> Vec<f64> {
        renters
            .values()
            .filter_map(|records| mean(&records.iter().filter_map(|r| f(r)).collect::<Vec<_>>()))
            .collect()
    };
    let metric = |g: fn(&Metrics) -> f64| {
        let values =
            per_renter(&|r: &RenterRecord| mean(&r.baseline.iter().map(g).collect::<Vec<_>>()));
        summary(&values).unwrap_or(Summary {
            mean: 0.0,
            median: 0.0,
        })
    };
    VersionAggregate {
        renters: renters.len(),
        records: renters.values().map(Vec::len).sum(),
        sharpe: metric(|m| m.sharpe),
        total_return: metric(|m| m.total_return),
        success_rate: metric(|m| m.success_rate),
        improvement: summary(&per_renter(&|r: &RenterRecord| {
            r.improvement.filter(|x| x.is_finite())
        })),
    }
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

fn summary(values: &[f64]) -> Option<Summary> {
    let mean = mean(values)?;
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    };
    Some(Summary { mean, median })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(
        owner: u128,
        version: i32,
        sharpes: &[f64],
        improvement: Option<f64>,
    ) -> RenterRecord {
        RenterRecord {
            owner_id: Uuid::from_u128(owner),
            version,
            baseline: sharpes
                .iter()
                .map(|&s| Metrics {
                    sharpe: s,
                    total_return: s / 10.0,
                    ..Metrics::default()
                })
                .collect(),
            improvement,
        }
    }

    #[test]
    fn aggregates_are_hidden_until_each_version_has_five_distinct_renters() {
        // Arrange: version 1 has 5 renters; version 2 has 4 renters with 6 records.
        let mut records: Vec<_> = (1..=5).map(|o| record(o, 1, &[1.0], None)).collect();
        records.extend((1..=4).map(|o| record(o, 2, &[2.0], None)));
        records.extend([record(1, 2, &[3.0], None), record(2, 2, &[3.0], None)]);
        // Act
        let hidden = compare_renters(&records, 1, 2);
        records.push(record(9, 2, &[2.0], None));
        let shown = compare_renters(&records, 1, 2);
        // Assert
        assert!(!hidden.shown, "4 renters of version 2 are too few");
        assert_eq!(hidden.version_a.renters_needed, 0);
        assert_eq!(hidden.version_b.renters_needed, 1);
        assert!(hidden.version_a.aggregate.is_none() && hidden.version_b.aggregate.is_none());
        assert!(shown.shown);
        let b = shown.version_b.aggregate.expect("shown at 5 renters");
        assert_eq!((b.renters, b.records), (5, 7));
    }

    #[test]
    fn each_renter_counts_once_in_the_mean_and_median() {
        // Renter 1: records with fold sharpes [1, 3] and [5] -> record means 2 and 5 -> 3.5.
        // Renters 2..=5: 0, 1, 2, 10. Across renters: [3.5, 0, 1, 2, 10]: mean 3.3, median 2.
        let mut records = vec![
            record(1, 7, &[1.0, 3.0], Some(0.2)),
            record(1, 7, &[5.0], Some(0.4)),
        ];
        for (owner, s) in [(2, 0.0), (3, 1.0), (4, 2.0), (5, 10.0)] {
            records.push(record(owner, 7, &[s], None));
        }
        let c = compare_renters(&records, 7, 7);
        let agg = c.version_a.aggregate.expect("5 renters");
        assert!((agg.sharpe.mean - 3.3).abs() < 1e-12);
        assert_eq!(agg.sharpe.median, 2.0);
        assert!((agg.total_return.median - 0.2).abs() < 1e-12);
        let imp = agg.improvement.expect("renter 1 has improvements");
        assert!(
            (imp.mean - 0.3).abs() < 1e-12,
            "one renter: mean of 0.2 and 0.4"
        );
    }
}
