//! The forecasts on the dashboard: in the browser, a creator reads their revenue and demand
//! forecast on the creator page and switches the horizon; an operator opens the marketplace's
//! forecast from the operator page. Over HTTP on both databases: the forecast charts are SVG
//! for their owner, and a 404 for anyone else.

use std::time::Duration;

use tests::browser::Browser;
use tests::{ADMIN_KEY, TestApp, backend_test, store_test};

use super::Sim;

/// Five months of renters, renewals, cancellations and failures.
async fn history(app: &TestApp) -> Sim {
    let mut sim = Sim::new(app, 400).await;
    sim.days(app, 0..150).await;
    sim
}

backend_test!(
    a_creator_and_an_operator_read_forecasts_in_the_browser,
    Sqlite,
    |_s: &mut shared::config::Settings| {},
    |app| {
        let Some(web) = Browser::start(&app.address).await else {
            return;
        };
        // Arrange
        let sim = history(&app).await;

        // The creator page: the revenue chart, three forecast months, the error, the demand.
        web.sign_in(&sim.creator.key).await;
        web.goto("/creator").await;
        web.find("#forecast").await;
        let rows = web
            .eval("return document.querySelectorAll('#revenue-forecast tbody tr').length")
            .await;
        assert_eq!(rows, 3, "three months by default");
        let accuracy = web.text("#forecast-accuracy").await;
        assert!(accuracy.contains("MAPE"), "{accuracy}");
        let demand = web.text("#demand-forecast").await;
        assert!(demand.contains("SMA forecast"), "{demand}");
        assert!(web.has(".demand-forecast-chart").await);
        assert!(web.images_loaded().await, "the forecast charts rendered");
        web.eval("document.getElementById('revenue-forecast-chart').scrollIntoView(); return 0")
            .await;
        web.screenshot("creator-forecast").await;

        // Twelve months.
        web.click_and_load("#forecast-horizon a[href*='horizon=12']")
            .await;
        web.wait_path("/creator?horizon=12", Duration::from_secs(10))
            .await;
        let rows = web
            .eval("return document.querySelectorAll('#revenue-forecast tbody tr').length")
            .await;
        assert_eq!(rows, 12, "the horizon chosen");
        assert!(
            web.text("#forecast-horizon strong")
                .await
                .contains("12 months")
        );
        web.sign_out().await;

        // The operator: from the operator page to the marketplace's forecast.
        web.sign_in(ADMIN_KEY).await;
        web.goto("/operator").await;
        web.click_and_load("#marketplace-forecast-link").await;
        web.wait_path("/operator/forecast", Duration::from_secs(10))
            .await;
        let text = web.text("#forecast").await;
        assert!(
            text.contains("Renewal revenue") && text.contains("SMA forecast"),
            "{text}"
        );
        assert!(
            web.has("#revenue-forecast").await,
            "five months are enough history"
        );
        assert!(web.images_loaded().await, "the marketplace chart rendered");
        web.screenshot("operator-forecast").await;
        web.close().await;
    }
);

store_test!(forecast_charts_are_their_owners, |app| {
    // Arrange
    let sim = history(&app).await;
    let stranger = app.user("stranger").await;
    let tool = &sim.tool;

    // Act
    let revenue = app
        .client
        .get(format!(
            "{}/v1/creators/me/forecast/plots/revenue.svg?horizon=6",
            app.address
        ))
        .bearer_auth(&sim.creator.key)
        .send()
        .await
        .expect("sent");
    let demand = app
        .client
        .get(format!(
            "{}/v1/tools/{tool}/forecast/plots/demand.svg",
            app.address
        ))
        .bearer_auth(&sim.creator.key)
        .send()
        .await
        .expect("sent");
    let png = app
        .client
        .get(format!(
            "{}/v1/stats/marketplace/forecast/plots/revenue.png",
            app.address
        ))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .expect("sent");
    let theirs = app
        .get(
            &format!("/v1/tools/{tool}/forecast/plots/demand.svg"),
            &stranger.key,
        )
        .await;
    let market = app
        .get(
            "/v1/stats/marketplace/forecast/plots/revenue.svg",
            &stranger.key,
        )
        .await;
    let bad = app
        .get(
            "/v1/creators/me/forecast/plots/revenue.svg?horizon=5",
            &sim.creator.key,
        )
        .await;
    let web = crate::dashboard::Web::sign_in(&app, &stranger.key).await;
    let (page, _, _) = web.get("/operator/forecast").await;
    let (own, _, html) = crate::dashboard::Web::sign_in(&app, &sim.creator.key)
        .await
        .get("/creator?horizon=7")
        .await;

    // Assert
    for res in [revenue, demand] {
        assert_eq!(res.status().as_u16(), 200);
        assert_eq!(res.headers()["content-type"], "image/svg+xml");
        let svg = res.text().await.expect("body");
        assert!(
            svg.contains("forecast") && svg.contains("95% interval"),
            "the band is drawn"
        );
    }
    assert_eq!(png.status().as_u16(), 200);
    assert_eq!(png.headers()["content-type"], "image/png");
    assert_eq!(theirs.status.as_u16(), 404, "another creator's tool");
    assert_eq!(market.status.as_u16(), 404, "the operators' chart");
    assert_eq!(bad.problem(422)["errors"][0]["field"], "horizon");
    assert_eq!(
        page.as_u16(),
        404,
        "the operators' page is not an account's"
    );
    assert_eq!(
        own.as_u16(),
        422,
        "a page with a horizon other than 3, 6 or 12: {html}"
    );
});
