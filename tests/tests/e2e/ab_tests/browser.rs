//! The A/B test pages in headless Chromium: the creator goes from the tool's page to its A/B
//! tests, starts one, and reads the verdict, the statistics, the per-period returns and the
//! plot of the paired cumulative returns; another account is refused.

use std::time::Duration;

use serde_json::json;
use tests::browser::Browser;
use tests::{TestApp, backend_test};

backend_test!(
    the_creator_runs_an_ab_test_in_the_browser_and_reads_the_result,
    Sqlite,
    |_s: &mut shared::config::Settings| {},
    |app| {
        let Some(web) = Browser::start(&app.address).await else {
            return;
        };
        // Arrange: a tool with two versions and a dataset of the creator's (through the API).
        let creator = app.user("Ada").await;
        let other = app.user("Eve").await;
        let tool = app
            .tool(&creator, TestApp::tool_body("SMA", 10.0, "basic"))
            .await["id"]
            .as_str()
            .expect("tool id")
            .to_owned();
        app.patch(
            &format!("/v1/tools/{tool}"),
            &creator.key,
            &json!({"parameters": {"fast": 5, "slow": 20}}),
        )
        .await
        .expect(200);
        let dataset = app.dataset(&creator).await.to_string();

        // Act: from the tool's page to its A/B tests; start one.
        web.sign_in(&creator.key).await;
        web.goto(&format!("/tools/{tool}")).await;
        web.click_and_load("#ab-tests-link").await;
        web.wait_path(&format!("/tools/{tool}/ab-tests"), Duration::from_secs(10))
            .await;
        assert!(web.has("#no-ab-tests").await, "none yet");
        web.select("#ab-version-a", "1").await;
        web.select("#ab-version-b", "2").await;
        web.select("#ab-dataset", &dataset).await;
        web.click("form[aria-label='Start an A/B test'] button")
            .await;
        let page = web
            .wait_path(&format!("/tools/{tool}/ab-tests/"), Duration::from_secs(30))
            .await;
        let id = page.rsplit('/').next().expect("id").to_owned();
        app.wait_job(&id, &creator.key, 120).await;
        web.goto(&page).await;

        // Assert: the verdict, the named test, both statistics, the periods and the plot.
        let verdict = web.text("#ab-verdict").await;
        let api = app
            .get(&format!("/v1/tools/{tool}/ab-tests/{id}"), &creator.key)
            .await
            .expect(200);
        let expected = match api["ab_test"]["verdict"].as_str() {
            Some("b_better") => "B is better",
            Some("a_better") => "A is better",
            _ => "no significant difference",
        };
        assert!(verdict.contains(expected), "{verdict}");
        assert!(web.text("#ab-status").await.contains("succeeded"));
        assert!(web.text("#ab-test-name").await.contains("block bootstrap"));
        let stats = web.text("#ab-stats").await;
        assert!(
            stats.contains("Sharpe ratio") && stats.contains("Mean return"),
            "{stats}"
        );
        let p = api["ab_test"]["result"]["sharpe"]["p_value"]
            .as_f64()
            .expect("p");
        assert!(
            stats.contains(&format!("{p:.4}")),
            "the page shows the p-value {p}: {stats}"
        );
        let rows = web
            .eval("return document.querySelectorAll('#ab-periods tbody tr').length")
            .await;
        assert_eq!(rows, json!(4), "one row per fold");
        assert!(
            web.images_loaded().await,
            "the cumulative returns plot rendered"
        );
        let hidden = web.text("#ab-renters-hidden").await;
        assert!(
            hidden.contains("v1 needs 5 more"),
            "no renter yet, no numbers: {hidden}"
        );
        web.screenshot("ab-test").await;
        web.goto(&format!("/tools/{tool}/ab-tests")).await;
        assert!(web.text("#ab-tests").await.contains(expected));

        // Another account is refused the pages.
        web.sign_out().await;
        web.sign_in(&other.key).await;
        web.goto(&page).await;
        assert!(
            !web.has("#ab-verdict").await,
            "another account sees no result"
        );
        web.close().await;
    }
);
