//! The equity curves an optimization record keeps (`search.equity`, written by the `optimize`
//! job: the whole dataset backtested with the parameters before and after), drawn and exported;
//! and the thinning of long series for a chart.

use serde::Deserialize;
use serde_json::Value;

use crate::views::RecordView;

/// One curve as stored (also with its `total_return`, which its last point reproduces).
#[derive(Debug, Deserialize)]
pub(crate) struct Curve {
    /// `(time, equity)`, thinned; the last bar always included.
    pub points: Vec<(i64, f64)>,
    /// The last closed trades (parameters after only).
    #[serde(default)]
    pub trades: Vec<StoredTrade>,
}

/// A closed trade as stored.
#[derive(Debug, Deserialize)]
pub(crate) struct StoredTrade {
    pub entry_time: i64,
    pub exit_time: i64,
    pub size: f64,
    pub pnl: f64,
}

/// A record's curves before and after.
#[derive(Debug, Deserialize)]
pub(crate) struct EquityCurves {
    /// Starting equity of both backtests.
    pub initial_cash: f64,
    /// Time of the first out-of-sample bar.
    pub out_of_sample_from: Option<i64>,
    /// The baseline's parameters.
    pub before: Curve,
    /// The optimized parameters.
    pub after: Curve,
}

impl EquityCurves {
    /// The curves a record keeps (records made before they were kept have none).
    pub(crate) fn of(record: &RecordView) -> Option<Self> {
        serde_json::from_value(record.search.get("equity")?.clone()).ok()
    }

    /// Both curves in one chart, the trades of the parameters after marked.
    pub(crate) fn chart(&self) -> String {
        let trades: Vec<charts::TradeMark> = self
            .after
            .trades
            .iter()
            .map(|t| charts::TradeMark {
                entry_time: t.entry_time,
                exit_time: t.exit_time,
                side: if t.size < 0.0 {
                    charts::Side::Short
                } else {
                    charts::Side::Long
                },
                pnl: t.pnl,
            })
            .collect();
        let lines = [
            charts::EquityLine {
                label: "before",
                points: &self.before.points,
                initial_cash: self.initial_cash,
            },
            charts::EquityLine {
                label: "after",
                points: &self.after.points,
                initial_cash: self.initial_cash,
            },
        ];
        charts::equity(
            "Equity before and after optimization",
            &lines,
            &trades,
            self.out_of_sample_from,
        )
    }

    /// `curve,time,equity,return` rows, then `trade,entry_time,exit_time,side,pnl` rows.
    pub(crate) fn csv(&self) -> String {
        let mut out = String::from("curve,time,equity,return\n");
        for (name, curve) in [("before", &self.before), ("after", &self.after)] {
            for (t, e) in &curve.points {
                out.push_str(&format!("{name},{t},{e},{}\n", e / self.initial_cash - 1.0));
            }
        }
        out.push_str("\ntrade,entry_time,exit_time,side,pnl\n");
        for (i, t) in self.after.trades.iter().enumerate() {
            let side = if t.size < 0.0 { "short" } else { "long" };
            out.push_str(&format!(
                "{i},{},{},{side},{}\n",
                t.entry_time, t.exit_time, t.pnl
            ));
        }
        out
    }
}

/// The series of a training run's stored curves (`{"loss": [...]}`, `{"reward": [...]}` or
/// `{"best_score": [...]}`): a list of numbers is one series over its index; a list of objects
/// gives one series per numeric field, over the `epoch`, `episode` or `trial` field when there
/// is one (else the index).
pub(crate) fn training_series(curves: &Value) -> Vec<(String, Vec<(f64, f64)>)> {
    const X: [&str; 3] = ["epoch", "episode", "trial"];
    let mut out: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    let Some(curves) = curves.as_object() else {
        return out;
    };
    for (name, points) in curves {
        let Some(points) = points.as_array() else {
            continue;
        };
        for (i, p) in points.iter().enumerate() {
            let x = p
                .as_object()
                .and_then(|f| X.iter().find_map(|k| f.get(*k).and_then(Value::as_f64)))
                .unwrap_or(i as f64);
            let mut push = |label: String, y: f64| match out.iter_mut().find(|(l, _)| *l == label) {
                Some((_, s)) => s.push((x, y)),
                None => out.push((label, vec![(x, y)])),
            };
            match p {
                Value::Number(n) => push(name.clone(), n.as_f64().unwrap_or(f64::NAN)),
                Value::Object(fields) => {
                    for (field, v) in fields {
                        if let Some(y) = v.as_f64().filter(|_| !X.contains(&field.as_str())) {
                            push(format!("{name} {field}"), y);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// A CSV field, quoted when it holds a comma, a quote or a line break.
pub(crate) fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// At most about `max` points of a series: each of `max / 4` spans keeps its first, lowest,
/// highest and last point in time order, so spikes survive the thinning; the last point is
/// always kept.
pub(crate) fn thin_extremes(time: &[i64], value: &[f64], max: usize) -> Vec<(i64, f64)> {
    let n = time.len().min(value.len());
    if n <= max {
        return (0..n).map(|i| (time[i], value[i])).collect();
    }
    let spans = (max / 4).max(1);
    let width = n.div_ceil(spans);
    let mut out = Vec::with_capacity(max + 1);
    for start in (0..n).step_by(width) {
        let end = (start + width).min(n);
        let (mut lo, mut hi) = (start, start);
        for i in start..end {
            if value[i] < value[lo] {
                lo = i;
            }
            if value[i] > value[hi] {
                hi = i;
            }
        }
        let mut keep = [start, lo, hi, end - 1];
        keep.sort_unstable();
        for (k, &i) in keep.iter().enumerate() {
            if k == 0 || keep[k - 1] != i {
                out.push((time[i], value[i]));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinning_keeps_the_ends_and_the_extremes_in_time_order() {
        let time: Vec<i64> = (0..10_000).collect();
        let mut value: Vec<f64> = (0..10_000).map(|i| f64::from(i % 7)).collect();
        value[5_003] = 100.0;
        value[7_777] = -50.0;
        let thin = thin_extremes(&time, &value, 400);
        assert!(thin.len() <= 401, "{}", thin.len());
        assert_eq!(thin.first(), Some(&(0, 0.0)));
        assert_eq!(thin.last(), Some(&(9_999, value[9_999])));
        assert!(thin.contains(&(5_003, 100.0)) && thin.contains(&(7_777, -50.0)));
        assert!(
            thin.windows(2).all(|w| w[0].0 < w[1].0),
            "strictly in time order"
        );
        assert_eq!(thin_extremes(&time[..10], &value[..10], 400).len(), 10);
    }

    #[test]
    fn training_curves_become_series_over_their_own_index() {
        let curves = serde_json::json!({
            "loss": [{"epoch": 1, "train": 0.9, "validation": 1.0}, {"epoch": 2, "train": 0.5, "validation": 0.7}],
        });
        let series = training_series(&curves);
        assert_eq!(
            series,
            vec![
                ("loss train".to_owned(), vec![(1.0, 0.9), (2.0, 0.5)]),
                ("loss validation".to_owned(), vec![(1.0, 1.0), (2.0, 0.7)]),
            ]
        );
        let plain = training_series(&serde_json::json!({"reward": [1.0, 2.5]}));
        assert_eq!(
            plain,
            vec![("reward".to_owned(), vec![(0.0, 1.0), (1.0, 2.5)])]
        );
        assert!(training_series(&serde_json::Value::Null).is_empty());
    }

    #[test]
    fn csv_fields_with_separators_are_quoted() {
        assert_eq!(csv_field("fast"), "fast");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
