//! What came after the seed, through the client: reviews (`review_tool`, `list_reviews`,
//! `update_review`, `report_review`, `reply_to_review`, `delete_review`), A/B tests of versions
//! (`start_ab_test` followed as a job, `get_ab_test`, `list_ab_tests`, `compare_renters`) and
//! forecasts (`creator_forecast`, `marketplace_forecast`).

use client::{AbTestRequest, ForecastScope, ForecastStatus, JobKind, ReviewUpdate};

use super::*;

store_test!(reviews_ab_tests_and_forecasts_answer_typed, |app| {
    let creator = signup(&app, "creator").await;
    let renter = signup(&app, "renter").await;
    let tool = creator
        .create_tool(&NewTool {
            name: "SMA".into(),
            category: "trading".into(),
            family: Some("sma_crossover".into()),
            monthly_price: 10.0,
            parameters: json!({"fast": 10, "slow": 30}),
            ..NewTool::default()
        })
        .await
        .expect("created");
    let v2 = creator
        .update_tool(tool.id, &json!({"parameters": {"fast": 5, "slow": 20}}))
        .await
        .expect("version 2");
    assert_eq!(v2.version, 2);
    let data = creator
        .generate_dataset("gbm", "gbm", 500, 42)
        .await
        .expect("dataset");
    renter.add_credits(50.0).await.expect("credit");
    renter
        .subscribe_to_tool(tool.id, Tier::Basic, 1, false)
        .await
        .expect("subscribed");

    // Reviews: a bad rating changes nothing; the creator may not review their own tool.
    let e = renter
        .review_tool(tool.id, 6, "Too good", "")
        .await
        .expect_err("6 stars");
    assert_eq!(e.status(), Some(422), "{e}");
    let e = creator
        .review_tool(tool.id, 5, "Mine", "")
        .await
        .expect_err("its creator");
    assert_eq!(e.status(), Some(403), "{e}");
    let review = renter
        .review_tool(tool.id, 4, "Solid", "Works on trends")
        .await
        .expect("reviewed");
    assert_eq!((review.rating, review.tool_id), (4, tool.id));
    let listed: Vec<_> = renter
        .list_reviews(tool.id)
        .try_collect()
        .await
        .expect("listed");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, review.id);
    let edited = renter
        .update_review(
            review.id,
            &ReviewUpdate {
                rating: Some(5),
                ..ReviewUpdate::default()
            },
        )
        .await
        .expect("edited");
    assert_eq!((edited.rating, edited.title.as_str()), (5, "Solid"));
    let e = renter
        .report_review(review.id, "spam")
        .await
        .expect_err("one's own review");
    assert_eq!(e.status(), Some(403), "{e}");
    let e = creator
        .report_review(review.id, " ")
        .await
        .expect_err("no reason");
    assert_eq!(e.status(), Some(422), "{e}");
    let report = creator
        .report_review(review.id, "off topic")
        .await
        .expect("reported");
    assert_eq!(
        (report.review_id, report.reason.as_str()),
        (review.id, "off topic")
    );
    let e = creator
        .report_review(review.id, "again")
        .await
        .expect_err("open already");
    assert_eq!(e.status(), Some(409), "{e}");
    let e = renter
        .reply_to_review(review.id, "Thanks")
        .await
        .expect_err("not the creator");
    assert_eq!(e.status(), Some(403), "{e}");
    let replied = creator
        .reply_to_review(review.id, "Thanks")
        .await
        .expect("replied");
    assert_eq!(replied.reply.as_deref(), Some("Thanks"));

    // An A/B test is a job: followed by its id, then read with its result.
    let started = creator
        .start_ab_test(tool.id, &AbTestRequest::new(1, 2, [data.id]))
        .await
        .expect("started");
    assert_eq!((started.version_a, started.version_b), (1, 2));
    assert!(started.result.is_none());
    let job = creator
        .wait_for_job(started.id, |_| {})
        .await
        .expect("it ran");
    assert_eq!(job.kind, JobKind::AbTest);
    let test = creator
        .get_ab_test(tool.id, started.id)
        .await
        .expect("read");
    assert_eq!(test.status, JobStatus::Succeeded);
    let result = test.result.as_ref().expect("a result");
    assert_eq!(test.verdict, Some(result.verdict));
    assert_eq!(result.bars, 284, "4 folds of 71 paired bars");
    assert!(result.sharpe.ci_low <= result.sharpe.ci_high);
    let tests: Vec<_> = creator
        .list_ab_tests(tool.id)
        .try_collect()
        .await
        .expect("listed");
    assert_eq!(tests.len(), 1);
    assert_eq!(tests[0].id, started.id);
    assert!(tests[0].result.is_none(), "listings carry verdicts only");
    let e = renter
        .get_ab_test(tool.id, started.id)
        .await
        .expect_err("not the creator");
    assert_eq!(e.status(), Some(403), "{e}");
    let renters = creator
        .compare_renters(tool.id, 1, 2)
        .await
        .expect("compared");
    assert!(!renters.shown, "no renter optimized either version");
    assert_eq!(renters.version_a.renters_needed, renters.min_renters);
    assert!(renters.version_b.aggregate.is_none());

    // Forecasts: a new creator's says why there are no numbers; bad horizons are 422.
    let f = creator.creator_forecast(6).await.expect("forecast");
    assert_eq!((f.scope, f.horizon_months), (ForecastScope::Creator, 6));
    assert_eq!(f.revenue.status, ForecastStatus::InsufficientHistory);
    assert!(f.revenue.months.is_empty() && f.revenue.detail.is_some());
    let e = creator.creator_forecast(5).await.expect_err("5 months");
    assert_eq!(e.status(), Some(422), "{e}");
    let operator = Client::new(&app.address, ADMIN_KEY).expect("client");
    let m = operator.marketplace_forecast(12).await.expect("forecast");
    assert_eq!(
        (m.scope, m.horizon_months),
        (ForecastScope::Marketplace, 12)
    );
    let e = creator
        .marketplace_forecast(3)
        .await
        .expect_err("operators only");
    assert_eq!(e.status(), Some(404), "{e}");

    renter.delete_review(review.id).await.expect("deleted");
    let left: Vec<_> = renter
        .list_reviews(tool.id)
        .try_collect()
        .await
        .expect("listed");
    assert!(left.is_empty());
});
