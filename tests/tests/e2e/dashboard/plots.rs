//! Plots draw the stored numbers: the equity chart's final returns are the backtests' total
//! returns (and the curve's last point gives the same), the history has one point per trial,
//! and the exports hold every trial and point.

use serde_json::{Value, json};
use tests::{default_standards, momentum_tool, store_test, trending_data};

store_test!(plots_and_exports_draw_the_stored_numbers, |app| {
    // Arrange: an optimized session (the quick start's tool and data).
    let s = app
        .session_setup(
            momentum_tool("Momentum", default_standards()),
            "pro",
            trending_data(),
            json!({"seed": 7}),
        )
        .await;
    let job = app
        .insert_and_optimize(&s.renter, &s.session, &s.tool, json!({"trials": 24}))
        .await;
    let rid = job["result"]["record_id"]
        .as_str()
        .expect("record")
        .to_owned();
    let record = app
        .get(&format!("/v1/optimizations/{rid}"), &s.renter.key)
        .await
        .expect(200)["optimization"]
        .clone();
    let trials = app
        .get(
            &format!("/v1/optimizations/{rid}/trials?limit=1000"),
            &s.renter.key,
        )
        .await
        .expect(200)["trials"]
        .clone();
    // Act
    let equity = fetch(
        &app,
        &format!("/v1/optimizations/{rid}/plots/equity.svg"),
        &s.renter.key,
        SVG,
    )
    .await;
    let history = fetch(
        &app,
        &format!("/v1/optimizations/{rid}/plots/history.svg"),
        &s.renter.key,
        SVG,
    )
    .await;
    let csv = fetch(
        &app,
        &format!("/v1/optimizations/{rid}/trials.csv"),
        &s.renter.key,
        CSV,
    )
    .await;
    let curves = fetch(
        &app,
        &format!("/v1/optimizations/{rid}/equity.csv"),
        &s.renter.key,
        CSV,
    )
    .await;
    let mut images = Vec::new();
    for plot in ["history", "parallel", "importance", "slice", "equity"] {
        let path = format!("/v1/optimizations/{rid}/plots/{plot}.png");
        images.push((plot, png_size(&app, &path, &s.renter.key).await));
    }
    let mut others = Vec::new();
    for plot in ["parallel", "importance", "slice"] {
        others.push(
            fetch(
                &app,
                &format!("/v1/optimizations/{rid}/plots/{plot}.svg"),
                &s.renter.key,
                SVG,
            )
            .await,
        );
    }

    // Assert: every chart is also a PNG, twice the SVG's width.
    for (plot, (width, height)) in &images {
        assert_eq!(*width, 1600, "{plot}.png");
        assert!(*height >= 800, "{plot}.png is {width}x{height}");
    }
    // The equity chart labels each curve with its backtest's total return, which the curve's
    // last point reproduces.
    let stored = &record["search"]["equity"];
    let initial = stored["initial_cash"].as_f64().expect("initial cash");
    for side in ["before", "after"] {
        let total = stored[side]["total_return"].as_f64().expect("total return");
        let last = stored[side]["points"]
            .as_array()
            .and_then(|p| p.last())
            .and_then(|p| p[1].as_f64())
            .expect("a last point");
        assert!(
            (last / initial - 1.0 - total).abs() < 1e-9,
            "{side}: last point {last} against total return {total}"
        );
        let label = format!("{side}: {:+.2}%", total * 100.0);
        assert!(equity.contains(&label), "`{label}` in the equity chart");
        let last_row = curves
            .lines()
            .rfind(|l| l.starts_with(&format!("{side},")))
            .expect("rows of the curve");
        let ret: f64 = last_row
            .rsplit(',')
            .next()
            .and_then(|r| r.parse().ok())
            .expect("return");
        assert!(
            (ret - total).abs() < 1e-9,
            "the CSV's last {side} row: {last_row}"
        );
    }
    // The history: one point per trial with a score; the CSV: one row per trial.
    let scored = trials
        .as_array()
        .expect("trials")
        .iter()
        .filter(|t| t["score"].as_f64().is_some_and(f64::is_finite))
        .count();
    assert_eq!(
        trials.as_array().map(Vec::len),
        record["trials_run"].as_u64().map(|n| n as usize)
    );
    assert_eq!(
        history.matches("<circle").count(),
        scored,
        "one point per scored trial"
    );
    assert_eq!(
        csv.lines().count(),
        1 + trials.as_array().map_or(0, Vec::len),
        "{csv}"
    );
    assert!(
        csv.starts_with("trial,score,num_trades,sharpe,lookback_period,threshold"),
        "{csv}"
    );
    for chart in others.iter().chain([&equity, &history]) {
        assert!(chart.starts_with("<svg") && chart.trim_end().ends_with("</svg>"));
    }
    // The creator's view of the record keeps no curve.
    let seen_by_creator = app
        .get(&format!("/v1/optimizations/{rid}"), &s.creator.key)
        .await
        .expect(200);
    assert_eq!(
        seen_by_creator["optimization"]["search"]["equity"],
        Value::Null
    );
});

store_test!(a_price_chart_draws_the_datasets_closes, |app| {
    // Arrange
    let owner = app.user("owner").await;
    let dataset = app
        .generated_dataset(&owner, json!({"kind": "gbm", "bars": 300, "seed": 3}))
        .await;
    let id = dataset["id"].as_str().expect("id");

    // Act
    let svg = fetch(
        &app,
        &format!("/v1/datasets/{id}/plots/price.svg"),
        &owner.key,
        SVG,
    )
    .await;
    let bad = app
        .get(
            &format!("/v1/optimizations/{id}/plots/nothing.svg"),
            &owner.key,
        )
        .await;
    let png = png_size(
        &app,
        &format!("/v1/datasets/{id}/plots/price.png"),
        &owner.key,
    )
    .await;

    // Assert
    assert!(
        svg.starts_with("<svg") && svg.contains("role=\"img\""),
        "{svg}"
    );
    assert_eq!(
        bad.status, 400,
        "an unknown plot is a bad path: {:?}",
        bad.body
    );
    assert_eq!(png, (1600, 800), "the 800x400 chart at twice its size");
});

pub(super) const SVG: &str = "image/svg+xml";
const CSV: &str = "text/csv; charset=utf-8";

/// GET `path` with a bearer key: 200 of `content_type`, its body.
async fn body(app: &tests::TestApp, path: &str, key: &str, content_type: &str) -> Vec<u8> {
    let res = app
        .client
        .get(format!("{}{path}", app.address))
        .bearer_auth(key)
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 200, "{path}");
    assert_eq!(res.headers()["content-type"], content_type, "{path}");
    res.bytes().await.expect("body").to_vec()
}

/// GET `path` with a bearer key: 200 of `content_type`, its text.
pub(super) async fn fetch(
    app: &tests::TestApp,
    path: &str,
    key: &str,
    content_type: &str,
) -> String {
    String::from_utf8(body(app, path, key, content_type).await).expect("text")
}

/// GET `path` with a bearer key: 200, a PNG; its width and height from its header.
pub(super) async fn png_size(app: &tests::TestApp, path: &str, key: &str) -> (u32, u32) {
    let png = body(app, path, key, "image/png").await;
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{path}: a PNG");
    let be = |at: usize| u32::from_be_bytes([png[at], png[at + 1], png[at + 2], png[at + 3]]);
    (be(16), be(20))
}
