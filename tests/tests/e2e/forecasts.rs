//! Revenue and demand forecasts over HTTP: a year of subscriptions, cancellations and failed
//! renewals driven by the sandbox clock and real billing passes, a forecast made at the start of
//! a month, then two months lived through billing: what billing charged falls in the forecast's
//! interval. Creators see their own tools only; operators the whole marketplace; accounts get
//! 404 on the operators' route; a horizon other than 3, 6 or 12 is a 422; too little history says
//! so instead of giving numbers.

use chrono::TimeDelta;
use serde_json::{Value, json};
use shared::domain::period::period_start;
use tests::{ADMIN_KEY, TestApp, cents, store_test, test_epoch};

mod browser;
mod sim;

use sim::Sim;

fn money(v: &Value) -> i64 {
    cents(v)
}

store_test!(forecast_months_are_charged_within_their_intervals, |app| {
    // Arrange: a year of renters joining, renewing, canceling and failing; a second creator
    // whose one renter pays 25.00 every month.
    let mut sim = Sim::new(&app, 400).await;
    let other = app.user("other creator").await;
    let other_tool = app
        .tool(&other, TestApp::tool_body("other", 25.0, "basic"))
        .await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let loyal = app.funded_user("loyal", 25.0 * 14.0).await;
    app.post(
        "/v1/subscriptions",
        &loyal.key,
        &json!({"tool_id": other_tool, "tier": "basic"}),
    )
    .await
    .expect(201);
    sim.days(&app, 0..365).await;

    // Act: forecast at the start of day 365 (before its billing pass), then live the month.
    let day = 365;
    sim.act(&app, day).await;
    let start = test_epoch() + TimeDelta::days(day);
    let end = period_start(start, 1);
    let f = app
        .get("/v1/creators/me/forecast?horizon=3", &sim.creator.key)
        .await
        .expect(200);
    let market = app
        .get("/v1/stats/marketplace/forecast?horizon=12", ADMIN_KEY)
        .await
        .expect(200);
    sim.bill(&app, day).await;
    let last = (end - test_epoch()).num_days();
    sim.days(&app, day + 1..last).await;
    let actual = sim.renewals_booked(&app, start, end).await;
    let end2 = period_start(start, 2);
    sim.days(&app, last..(end2 - test_epoch()).num_days()).await;
    let actual2 = sim.renewals_booked(&app, end, end2).await;

    // Assert: the forecast month against what billing charged.
    let revenue = &f["revenue"];
    assert_eq!(
        revenue["status"], "ok",
        "a year is enough history: {revenue}"
    );
    assert_eq!(f["scope"], "creator");
    let months = revenue["months"].as_array().expect("months");
    assert_eq!(months.len(), 3);
    let m = &months[0];
    assert_eq!(
        m["start"].as_str(),
        Some(
            start
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                .as_str()
        )
    );
    let (point, lower, upper) = (money(&m["point"]), money(&m["lower"]), money(&m["upper"]));
    assert!(actual > 0, "renewals were charged");
    assert!(
        lower <= actual && actual <= upper,
        "billing charged {actual} cents, inside the forecast's interval [{lower}, {upper}] (point {point})"
    );
    assert!(
        (point - actual).abs() * 100 <= actual * 30,
        "the point forecast {point} is within 30% of the {actual} charged"
    );
    let m2 = &months[1];
    let (lower2, upper2) = (money(&m2["lower"]), money(&m2["upper"]));
    assert!(
        lower2 <= actual2 && actual2 <= upper2,
        "the second month: {actual2} charged to the renters of the forecast's time, inside [{lower2}, {upper2}]"
    );
    assert!(
        money(&m2["point"]) < point,
        "fewer of today's renters are left to renew in the second month"
    );
    assert_eq!(
        money(&m["scheduled"]),
        1000 * m["scheduled_renewals"].as_i64().expect("count"),
        "only this creator's 10.00 renewals are scheduled"
    );
    let rates = &revenue["rates"];
    let survival = rates["survival"].as_f64().expect("survival");
    assert!(
        (0.7..0.9).contains(&survival),
        "about 80% of renewals are paid: {rates}"
    );
    let recovery = rates["recovery"]
        .as_f64()
        .expect("failures were recorded by billing");
    assert!(
        (0.3..0.7).contains(&recovery),
        "about half the failures recover: {rates}"
    );
    assert!(rates["churned"].as_i64().expect("churned") > 0);
    let accuracy = &revenue["accuracy"];
    assert!(
        accuracy["mape"]
            .as_f64()
            .is_some_and(|m| m.is_finite() && m >= 0.0),
        "{accuracy}"
    );
    assert!(accuracy["months"].as_u64().expect("months") >= 2);

    let demand = &f["demand"]["tools"];
    assert_eq!(
        demand.as_array().map(Vec::len),
        Some(1),
        "only the creator's own tool"
    );
    let tool = &demand[0];
    assert_eq!(tool["tool_id"].as_str(), Some(sim.tool.as_str()));
    assert_eq!(tool["status"], "ok");
    assert_eq!(
        tool["weeks"].as_array().map(Vec::len),
        f["demand"]["horizon_weeks"].as_u64().map(|w| w as usize)
    );
    let week = &tool["weeks"][0];
    let (p, lo, hi) = (
        week["point"].as_f64().expect("point"),
        week["lower"].as_f64().expect("lower"),
        week["upper"].as_f64().expect("upper"),
    );
    assert!(
        (1.0..2.0).contains(&p),
        "about 1.4 renters join a week: {week}"
    );
    assert!(lo <= p && p <= hi && lo >= 0.0);
    assert!(tool["accuracy"]["mae"].as_f64().is_some_and(f64::is_finite));

    // The marketplace forecast adds the other creator's 25.00 renewal due on the same day.
    assert_eq!(market["scope"], "marketplace");
    let mm = &market["revenue"]["months"];
    assert_eq!(mm.as_array().map(Vec::len), Some(12));
    assert_eq!(money(&mm[0]["scheduled"]), money(&m["scheduled"]) + 2500);
    assert_eq!(market["demand"]["tools"].as_array().map(Vec::len), Some(2));
    app.assert_ledger_balanced().await;
});

store_test!(forecasts_check_access_horizon_and_history, |app| {
    // Arrange: one creator, one renter a week old.
    let creator = app.user("creator").await;
    let renter = app.funded_user("renter", 50.0).await;
    let tool = app
        .tool(&creator, TestApp::tool_body("SMA", 10.0, "basic"))
        .await;
    app.post(
        "/v1/subscriptions",
        &renter.key,
        &json!({"tool_id": tool["id"], "tier": "basic"}),
    )
    .await
    .expect(201);
    app.clock.set(test_epoch() + TimeDelta::days(7));

    // Act
    let f = app
        .get("/v1/creators/me/forecast", &creator.key)
        .await
        .expect(200);
    let theirs = app
        .get("/v1/creators/me/forecast?horizon=6", &renter.key)
        .await
        .expect(200);
    let denied = app.get("/v1/stats/marketplace/forecast", &renter.key).await;
    let bad = app
        .get("/v1/creators/me/forecast?horizon=4", &creator.key)
        .await;
    let words = app
        .get("/v1/stats/marketplace/forecast?horizon=six", ADMIN_KEY)
        .await;
    let admin = app
        .get("/v1/stats/marketplace/forecast?horizon=12", ADMIN_KEY)
        .await
        .expect(200);

    // Assert
    assert_eq!(f["horizon_months"], 3, "three months by default");
    assert_eq!(f["revenue"]["status"], "insufficient_history");
    assert_eq!(f["revenue"]["required_months"], 3);
    assert_eq!(f["revenue"]["history_months"], 0);
    assert!(
        f["revenue"]["months"].as_array().is_some_and(Vec::is_empty),
        "no invented numbers"
    );
    assert!(
        f["revenue"]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("3 months"))
    );
    let t = &f["demand"]["tools"][0];
    assert_eq!(
        (
            t["status"].as_str(),
            t["history_weeks"].as_u64(),
            t["required_weeks"].as_u64()
        ),
        (Some("insufficient_history"), Some(1), Some(8))
    );
    assert!(t["weeks"].as_array().is_some_and(Vec::is_empty));
    assert!(
        theirs["demand"]["tools"]
            .as_array()
            .is_some_and(Vec::is_empty),
        "the renter has no tools"
    );
    assert_eq!(theirs["horizon_months"], 6);
    assert_eq!(
        denied.status.as_u16(),
        404,
        "operators' route is not an account's"
    );
    for res in [bad, words] {
        let p = res.problem(422);
        assert_eq!(p["errors"][0]["field"], "horizon");
    }
    let doc = app
        .send(reqwest::Method::GET, "/openapi.json", None, None)
        .await
        .expect(200);
    for path in [
        "/v1/creators/me/forecast",
        "/v1/stats/marketplace/forecast",
        "/v1/creators/me/forecast/plots/{chart}",
        "/v1/stats/marketplace/forecast/plots/{chart}",
        "/v1/tools/{id}/forecast/plots/{chart}",
    ] {
        assert!(
            doc["paths"][path]["get"].is_object(),
            "{path} is documented"
        );
    }
    let schemas = &doc["components"]["schemas"];
    for (schema, field) in [
        ("Forecast", "horizon_months"),
        ("RevenueForecast", "required_months"),
        ("RevenueMonth", "upper"),
        ("RevenueAccuracy", "mape"),
        ("ToolDemand", "required_weeks"),
        ("DemandAccuracy", "mae"),
    ] {
        assert!(
            schemas[schema]["properties"][field].is_object(),
            "{schema}.{field} is documented"
        );
    }
    assert_eq!(admin["scope"], "marketplace");
    assert_eq!(admin["horizon_months"], 12);
});
