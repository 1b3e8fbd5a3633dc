//! The operator's page and a creator's analytics: in the browser, an operator finds a failed
//! job and retries it, and watches it succeed; a creator sees their earnings and subscribers.
//! Over HTTP on both databases: the operator's pages do not exist for an account, a forged form
//! changes nothing, and the charts draw the stored numbers.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use tests::browser::Browser;
use tests::{ADMIN_KEY, TestApp, backend_test, store_test_with};

use super::plots::{SVG, fetch, png_size};
use super::{Web, location};

/// Fast retries and sampling, so a job fails its attempts and the depth chart fills quickly.
fn quick(s: &mut shared::config::Settings) {
    s.worker.retry_base_ms = 100;
    s.worker.recover_interval_ms = 100;
    s.worker.redeliver_after_secs = 1;
    s.scheduler.queue_sample_secs = 1;
}

/// A job that fails its three attempts (and would succeed on a fourth), once it has failed.
async fn failed_job(app: &TestApp) -> String {
    let id = app.noop_job(json!({"fail_attempts": 3})).await;
    let job = app.wait_job(&id, ADMIN_KEY, 30).await;
    assert_eq!(job["status"], json!("failed"), "{job}");
    id
}

/// A creator whose tool has a paying subscriber.
async fn creator_with_a_subscriber(app: &TestApp) -> (tests::User, String) {
    let creator = app.user("Ada").await;
    let renter = app.funded_user("Bob", 100.0).await;
    let tool = app
        .tool(&creator, TestApp::tool_body("Cross", 10.0, "basic"))
        .await;
    let tool = tool["id"].as_str().expect("tool id").to_owned();
    app.post(
        "/v1/subscriptions",
        &renter.key,
        &json!({"tool_id": tool, "tier": "pro"}),
    )
    .await
    .expect(201);
    (creator, tool)
}

backend_test!(
    an_operator_retries_a_failed_job_in_the_browser,
    Sqlite,
    quick,
    |app| {
        let Some(web) = Browser::start(&app.address).await else {
            return;
        };
        // Arrange: a job that used up its attempts.
        let id = failed_job(&app).await;

        // The operator's page: the failure counted, the depth chart, the workers.
        web.sign_in(ADMIN_KEY).await;
        web.goto("/operator").await;
        let queues = web.text("#queues").await;
        assert!(queues.contains("noop"), "{queues}");
        assert!(web.has("#workers").await, "the embedded worker is listed");
        assert!(web.images_loaded().await, "the depth chart rendered");

        // Filter to the failed jobs: the job, its error, a Retry button.
        web.select("#f-status", "failed").await;
        web.click_and_load("form[aria-label='Filter jobs'] button")
            .await;
        let row = web.text(&format!("#job-{id}")).await;
        assert!(row.contains("failed") && row.contains("3 / 3"), "{row}");
        assert!(
            row.contains("Transient failure") || row.contains("transient"),
            "{row}"
        );
        web.screenshot("operator").await;

        // Retry, and follow the job live to its end.
        web.click_and_load(&format!("#job-{id} button.retry")).await;
        assert_eq!(
            web.wait_path("/jobs/", Duration::from_secs(30)).await,
            format!("/jobs/{id}")
        );
        web.wait_text("#job-status", "succeeded", Duration::from_secs(30))
            .await;
        web.screenshot("job-retried").await;

        // It ran once more and is no longer among the failed.
        let job = app
            .get(&format!("/v1/jobs/{id}"), ADMIN_KEY)
            .await
            .expect(200);
        assert_eq!(job["job"]["attempts"], json!(4));
        web.goto("/operator?status=failed").await;
        assert!(!web.has(&format!("#job-{id}")).await, "no longer failed");
        web.close().await;
    }
);

backend_test!(
    a_creator_sees_earnings_and_subscribers_in_the_browser,
    Sqlite,
    |_s: &mut shared::config::Settings| {},
    |app| {
        let Some(web) = Browser::start(&app.address).await else {
            return;
        };
        let (creator, _tool) = creator_with_a_subscriber(&app).await;
        let stats = app
            .get("/v1/creators/me/stats", &creator.key)
            .await
            .expect(200);

        web.sign_in(&creator.key).await;
        web.goto("/").await;
        web.click_and_load("a[href='/creator']").await;

        let total = stats["total_earnings"].as_f64().expect("a decimal");
        assert!(total > 0.0, "the subscription earned: {stats}");
        assert_eq!(web.text("#total-earnings").await, format!("{total:.2}"));
        assert_eq!(web.text("#subscribers").await, "1");
        assert!(web.text("#top-tools").await.contains("Cross"));
        assert!(web.has("#earnings-chart").await && web.has(".subscribers-chart").await);
        assert!(web.images_loaded().await, "the charts rendered");
        web.screenshot("creator").await;
        web.close().await;
    }
);

store_test_with!(
    operators_pages_are_the_admin_keys_and_forms_need_their_token,
    quick,
    |app| {
        // Arrange
        let id = failed_job(&app).await;
        let operator = Web::sign_in(&app, ADMIN_KEY).await;
        let user = app.user("user").await;
        let account = Web::sign_in(&app, &user.key).await;
        let token = account.csrf().await;
        let operator_token = operator.csrf().await;
        let retry = format!("/operator/jobs/{id}/retry");

        // Act
        let (page_status, _, _) = account.get("/operator").await;
        let (account_retry, _, _) = account.post(&retry, &[("csrf", &token)]).await;
        let (forged, _, _) = operator.post(&retry, &[("csrf", "forged")]).await;
        let after_refusals = app
            .get(&format!("/v1/jobs/{id}"), ADMIN_KEY)
            .await
            .expect(200);
        let (bad_owner, _, bad_owner_page) = operator.get("/operator?owner=someone").await;
        let (retried, headers, _) = operator.post(&retry, &[("csrf", &operator_token)]).await;
        let (twice, _, twice_page) = operator.post(&retry, &[("csrf", &operator_token)]).await;

        // Assert
        assert_eq!(page_status, StatusCode::NOT_FOUND, "not an account's page");
        assert_eq!(account_retry, StatusCode::NOT_FOUND);
        assert_eq!(forged, StatusCode::FORBIDDEN);
        assert_eq!(
            after_refusals["job"]["status"],
            json!("failed"),
            "nothing changed"
        );
        assert_eq!(after_refusals["job"]["max_attempts"], json!(3));
        assert_eq!(
            bad_owner,
            StatusCode::OK,
            "the page, with the filter's problem"
        );
        assert!(
            bad_owner_page.contains("must be an account id"),
            "{bad_owner_page}"
        );
        assert_eq!(retried, StatusCode::SEE_OTHER);
        assert_eq!(location(&headers), format!("/jobs/{id}"));
        assert_eq!(
            twice,
            StatusCode::CONFLICT,
            "sent once, however often posted"
        );
        assert!(
            twice_page.contains("only a failed job can be retried"),
            "{twice_page}"
        );
        let done = app.wait_job(&id, ADMIN_KEY, 30).await;
        assert_eq!(done["attempts"], json!(4), "{done}");
    }
);

store_test_with!(analytics_charts_draw_the_stored_numbers, quick, |app| {
    // Arrange
    let (creator, tool) = creator_with_a_subscriber(&app).await;
    let id = app.noop_job(json!({"sleep_ms": 2_000})).await;
    let stranger = app.user("stranger").await;

    // Act
    let earnings = fetch(
        &app,
        "/v1/creators/me/plots/earnings.svg",
        &creator.key,
        SVG,
    )
    .await;
    let subscribers = fetch(
        &app,
        &format!("/v1/tools/{tool}/plots/subscribers.svg"),
        &creator.key,
        SVG,
    )
    .await;
    let hidden = app
        .get(
            &format!("/v1/tools/{tool}/plots/subscribers.svg"),
            &stranger.key,
        )
        .await;
    // Until a sample saw the job run (one a second).
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while std::time::Instant::now() < deadline {
        let h = app
            .get("/v1/admin/queues/history?hours=1", ADMIN_KEY)
            .await
            .expect(200);
        let samples = h["samples"].as_array().cloned().unwrap_or_default();
        if samples
            .iter()
            .any(|s| s["queue"] == json!("noop") && s["running"].as_i64() > Some(0))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let depth = fetch(
        &app,
        "/v1/admin/queues/plots/depth.svg?hours=1",
        ADMIN_KEY,
        SVG,
    )
    .await;
    let refused = app
        .get("/v1/admin/queues/plots/depth.svg", &stranger.key)
        .await;
    let png = png_size(&app, "/v1/creators/me/plots/earnings.png", &creator.key).await;
    app.wait_job(&id, ADMIN_KEY, 30).await;

    // Assert: one line per tool (its name in the legend), per subscriber count, per queue.
    assert!(
        earnings.contains("Cross") && earnings.contains("Earnings per month"),
        "{earnings}"
    );
    for label in ["live", "started", "ended"] {
        assert!(subscribers.contains(label), "{label}: {subscribers}");
    }
    hidden.problem(404);
    assert!(depth.contains("noop waiting"), "{depth}");
    assert!(
        depth.contains("noop running"),
        "the noop queue ran a job: {depth}"
    );
    assert!(!depth.contains("train running"), "no training ran");
    refused.problem(404);
    assert_eq!(png, (1600, 800));
});
