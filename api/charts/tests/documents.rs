//! The contract every chart keeps: a well-formed SVG document (`role="img"`, a `<title>`,
//! `width`, `height`, `viewBox`) for any input, empty, single, constant, non-finite or extreme;
//! caller text escaped; the same bytes for the same input; and the numbers tests read back (the
//! equity chart's final-return labels, the history's circles) exact.

use charts::{EquityLine, Param, Series, Side, TimePoint, TimeSeries, TradeMark};

/// 2024-01-01 00:00:00 UTC.
const T0: i64 = 1_704_067_200;
const DAY: i64 = 86_400;

/// One rendering of every chart from the same kind of input.
struct Inputs {
    times: Vec<TimePoint>,
    xy: Vec<(f64, f64)>,
    trials: Vec<(u64, f64)>,
    study: Vec<(Vec<f64>, f64)>,
}

impl Inputs {
    fn from_values(values: &[f64]) -> Self {
        let times = values
            .iter()
            .zip(0..)
            .map(|(v, i)| (T0 + i * DAY, *v))
            .collect();
        let xy = values
            .iter()
            .zip(0..)
            .map(|(v, i)| (f64::from(i), *v))
            .collect();
        let trials = values.iter().zip(0..).map(|(v, i)| (i, *v)).collect();
        let study = values
            .iter()
            .zip(0..)
            .map(|(v, i)| (vec![f64::from(i), *v], *v))
            .collect();
        Self {
            times,
            xy,
            trials,
            study,
        }
    }

    fn render_all(&self, title: &str, label: &str) -> Vec<(&'static str, String)> {
        let params = [
            Param {
                name: label,
                low: 0.0,
                high: 10.0,
            },
            Param {
                name: "b",
                low: f64::NAN,
                high: f64::NAN,
            },
        ];
        let line = EquityLine {
            label,
            points: &self.times,
            initial_cash: 10_000.0,
        };
        let trades = [TradeMark {
            entry_time: T0,
            exit_time: T0 + DAY,
            side: Side::Short,
            pnl: -1.0,
        }];
        let importance = charts::importance_of(&[label, "b"], &self.study);
        vec![
            ("price", charts::price(title, &self.times)),
            (
                "equity",
                charts::equity(title, &[line], &trades, Some(T0 + DAY)),
            ),
            ("history", charts::history(title, &self.trials)),
            (
                "parallel",
                charts::parallel_coordinates(title, &params, &self.study),
            ),
            ("importance", charts::importance(title, &importance)),
            ("slice", charts::slice(title, label, &self.xy)),
            (
                "lines",
                charts::lines(
                    title,
                    label,
                    label,
                    &[Series {
                        label,
                        points: &self.xy,
                    }],
                ),
            ),
            (
                "time_lines",
                charts::time_lines(
                    title,
                    label,
                    &[TimeSeries {
                        label,
                        points: &self.times,
                    }],
                ),
            ),
        ]
    }
}

/// Parses `svg` and checks the root; returns the document's trimmed text nodes.
fn check_document(name: &str, svg: &str, title: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(svg)
        .unwrap_or_else(|e| panic!("{name}: the SVG is well-formed XML ({e}):\n{svg}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg", "{name}: the root is <svg>");
    assert_eq!(
        root.attribute("role"),
        Some("img"),
        "{name}: role=\"img\" on the root"
    );
    for attribute in ["width", "height", "viewBox"] {
        assert!(
            root.attribute(attribute).is_some(),
            "{name}: the root has {attribute}"
        );
    }
    let first = root.first_element_child().expect("a child");
    assert_eq!(
        first.tag_name().name(),
        "title",
        "{name}: the first child is <title>"
    );
    assert_eq!(
        first.text(),
        Some(title),
        "{name}: <title> carries the chart title"
    );
    doc.descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect()
}

#[test]
fn every_chart_is_a_valid_document_for_awkward_inputs() {
    let cases: [(&str, Vec<f64>); 8] = [
        ("empty", vec![]),
        ("single", vec![42.0]),
        ("all equal", vec![7.0; 5]),
        (
            "all non-finite",
            vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY],
        ),
        (
            "some non-finite",
            vec![1.0, f64::NAN, 3.0, f64::INFINITY, 2.0],
        ),
        ("huge range", vec![-f64::MAX, 0.0, f64::MAX]),
        ("tiny range", vec![1e15, 1e15 + 0.125, 1e15 + 0.25]),
        ("subnormal", vec![1e-320, 2e-320, 3e-320]),
    ];
    for (case, values) in cases {
        // Arrange
        let inputs = Inputs::from_values(&values);

        // Act
        let charts = inputs.render_all("Chart", "x");

        // Assert
        for (name, svg) in charts {
            let texts = check_document(&format!("{name} ({case})"), &svg, "Chart");
            if values.iter().all(|v| !v.is_finite()) && name != "importance" {
                assert!(
                    texts.iter().any(|t| t == "no data"),
                    "{name} ({case}): an empty chart says so: {texts:?}"
                );
            }
        }
    }
}

#[test]
fn caller_text_is_escaped_everywhere() {
    // Arrange
    let hostile = "<script>&\"'";
    let inputs = Inputs::from_values(&[1.0, 2.0, 3.0]);

    // Act
    let charts = inputs.render_all(hostile, hostile);

    // Assert
    for (name, svg) in charts {
        assert!(
            !svg.contains("<script"),
            "{name}: no raw tag from caller text"
        );
        let texts = check_document(name, &svg, hostile);
        assert!(
            texts.iter().any(|t| t == hostile),
            "{name}: the title is drawn as text, unchanged after unescaping: {texts:?}"
        );
    }
}

#[test]
fn control_characters_in_caller_text_do_not_break_the_document() {
    // Act
    let svg = charts::price("a\u{1b}[31m\u{0}b", &[(T0, 1.0), (T0 + DAY, 2.0)]);

    // Assert
    check_document("price", &svg, "a\u{fffd}[31m\u{fffd}b");
}

#[test]
fn every_chart_is_deterministic() {
    // Arrange
    let inputs = Inputs::from_values(&[3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0]);

    // Act
    let first = inputs.render_all("Same", "p");
    let second = inputs.render_all("Same", "p");

    // Assert
    for ((name, a), (_, b)) in first.iter().zip(&second) {
        assert_eq!(a, b, "{name}: same input, same bytes");
    }
}

#[test]
fn equity_labels_each_line_with_its_exact_final_return() {
    // Arrange
    let before: Vec<TimePoint> = vec![(T0, 10_000.0), (T0 + DAY, 9_500.0), (T0 + 2 * DAY, 9_000.0)];
    let after: Vec<TimePoint> = vec![
        (T0, 10_000.0),
        (T0 + DAY, 10_700.0),
        (T0 + 2 * DAY, 11_234.5),
    ];
    let lines = [
        EquityLine {
            label: "before",
            points: &before,
            initial_cash: 10_000.0,
        },
        EquityLine {
            label: "after",
            points: &after,
            initial_cash: 10_000.0,
        },
    ];

    // Act
    let svg = charts::equity("Backtest", &lines, &[], None);

    // Assert
    let texts = check_document("equity", &svg, "Backtest");
    let expected = format!("after: {:+.2}%", (11_234.5 / 10_000.0 - 1.0) * 100.0);
    assert_eq!(expected, "after: +12.35%", "the hand-made curve's return");
    assert!(
        texts.contains(&expected),
        "the final return label is exact: {texts:?}"
    );
    assert!(
        texts.iter().any(|t| t == "before: -10.00%"),
        "every line is labelled: {texts:?}"
    );
    assert!(
        texts.iter().any(|t| t == "return (%)"),
        "the return axis has its unit"
    );
    assert!(
        texts.iter().any(|t| t == "drawdown (%)"),
        "the drawdown axis has its unit"
    );
    assert!(
        texts.iter().any(|t| t == "2024-01-02"),
        "dates read YYYY-MM-DD: {texts:?}"
    );
    assert!(
        !texts.iter().any(|t| t == "out of sample"),
        "no out-of-sample region unless asked"
    );
}

#[test]
fn equity_marks_trades_on_the_last_line_and_shades_out_of_sample() {
    // Arrange
    let points: Vec<TimePoint> = (0..10)
        .map(|i| (T0 + i * DAY, 10_000.0 + 100.0 * i as f64))
        .collect();
    let lines = [EquityLine {
        label: "strategy",
        points: &points,
        initial_cash: 10_000.0,
    }];
    let trades = [
        TradeMark {
            entry_time: T0 + DAY,
            exit_time: T0 + 3 * DAY,
            side: Side::Long,
            pnl: 200.0,
        },
        TradeMark {
            entry_time: T0 + 4 * DAY,
            exit_time: T0 + 5 * DAY,
            side: Side::Short,
            pnl: -50.0,
        },
        // Outside the line's time range: not drawn.
        TradeMark {
            entry_time: T0 + 90 * DAY,
            exit_time: T0 + 91 * DAY,
            side: Side::Long,
            pnl: 1.0,
        },
    ];

    // Act
    let svg = charts::equity("Backtest", &lines, &trades, Some(T0 + 6 * DAY));

    // Assert
    let texts = check_document("equity", &svg, "Backtest");
    for label in [
        "long entry",
        "short entry",
        "exit, winning trade",
        "exit, losing trade",
        "out of sample",
    ] {
        assert!(
            texts.iter().any(|t| t == label),
            "{label} is drawn and named: {texts:?}"
        );
    }
    assert!(
        texts.iter().any(|t| t == "strategy: +9.00%"),
        "final return: {texts:?}"
    );
    // Triangles: two entries plus two legend markers.
    assert_eq!(
        svg.matches("<polygon").count(),
        4,
        "one triangle per drawn entry and legend row"
    );
}

#[test]
fn history_has_exactly_one_circle_per_finite_trial() {
    // Arrange
    let mut trials: Vec<(u64, f64)> = (0..40).map(|i| (i, (i as f64 * 0.7).sin())).collect();
    trials.push((40, f64::NAN));

    // Act
    let svg = charts::history("Study", &trials);

    // Assert
    let texts = check_document("history", &svg, "Study");
    assert_eq!(
        svg.matches("<circle").count(),
        40,
        "one circle per finite trial, none else"
    );
    assert!(
        texts
            .iter()
            .any(|t| t == "1 trial with a non-finite value not shown"),
        "the skipped trial is counted: {texts:?}"
    );
    assert!(
        texts.iter().any(|t| t == "best so far"),
        "the best-so-far line is in the legend"
    );
}

#[test]
fn slice_has_one_circle_per_finite_point() {
    // Act
    let svg = charts::slice(
        "Slice",
        "window",
        &[(1.0, 2.0), (2.0, f64::NAN), (3.0, 1.0)],
    );

    // Assert
    let texts = check_document("slice", &svg, "Slice");
    assert_eq!(
        svg.matches("<circle").count(),
        2,
        "one dot per finite point"
    );
    assert!(
        texts.iter().any(|t| t == "window"),
        "the parameter names the x axis"
    );
}
