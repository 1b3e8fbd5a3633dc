//! Limits of an optimization: the session's time limit stops a search and keeps the best trial
//! so far; ending the session cancels a running search, which then writes nothing.

use serde_json::Value;
use serde_json::json;
use tests::{default_standards, momentum_tool, store_test};

/// A series long enough that 5,000 trials take far longer than a second.
fn long_data(bars: u64) -> Value {
    json!({"kind": "regime_switching", "bars": bars, "seed": 2})
}

store_test!(the_time_limit_keeps_the_best_trials_found_in_time, |app| {
    // Arrange: a creator optimizing their own tool (5,000 trials allowed) for one second.
    let creator = app.user("creator").await;
    let tool = app
        .tool(&creator, momentum_tool("Mine", default_standards()))
        .await;
    let data = app.generated_dataset(&creator, long_data(20_000)).await;
    let session = app
        .open_session(&creator, &data["id"], json!({"time_limit_secs": 1}))
        .await;

    // Act
    let job = app
        .insert_and_optimize(
            &creator,
            &session,
            tool["id"].as_str().expect("id"),
            json!({"trials": 5000, "method": "random"}),
        )
        .await;

    // Assert
    let record = &app.session_view(&creator, &session).await["optimizations"][0];
    let run = record["trials_run"].as_u64().expect("trials");
    assert_eq!(record["search"]["stopped"], json!("time_limit"), "{record}");
    assert!(run > 0 && run < 5000, "{run} trials in a second");
    assert_eq!(run % 8, 0, "whole batches only");
    assert_eq!(job["result"]["stopped"], json!("time_limit"));
});

store_test!(ending_a_session_cancels_its_running_optimization, |app| {
    // Arrange: a long search of the creator's own tool.
    let creator = app.user("creator").await;
    let tool = app
        .tool(&creator, momentum_tool("Mine", default_standards()))
        .await;
    let tool_id = tool["id"].as_str().expect("id");
    let data = app.generated_dataset(&creator, long_data(50_000)).await;
    let session = app.open_session(&creator, &data["id"], json!({})).await;
    let inserted = app
        .post(
            &format!("/v1/sessions/{session}/tools"),
            &creator.key,
            &json!({"tool_id": tool_id, "auto_optimize": true,
                    "optimization_config": {"trials": 5000, "method": "random"}}),
        )
        .await
        .expect(202);
    let job = inserted["job"]["id"].as_str().expect("job").to_owned();
    app.wait_job_until(&job, &creator.key, 60, |j| j["status"] == json!("running"))
        .await;

    // Act
    app.post(
        &format!("/v1/sessions/{session}/end"),
        &creator.key,
        &json!({}),
    )
    .await
    .expect(200);

    // Assert: canceled, no record, the session kept its parameters.
    let done = app.wait_job(&job, &creator.key, 60).await;
    assert_eq!(done["status"], json!("canceled"), "{done}");
    assert_eq!(
        done["result"],
        json!(null),
        "a canceled job stores no result"
    );
    let view = app.session_view(&creator, &session).await;
    assert_eq!(
        view["optimizations"],
        json!([]),
        "no record from a canceled search"
    );
    assert_eq!(
        view["session"]["tools"][0]["parameters"],
        tool["parameters"]
    );
});

store_test!(
    a_search_whose_subscription_ended_while_it_ran_keeps_no_result,
    |app| {
        // Arrange: an enterprise renter's long search, auto-renew off, running.
        let creator = app.user("creator").await;
        let tool = app
            .tool(&creator, momentum_tool("Rented", default_standards()))
            .await;
        let tool_id = tool["id"].as_str().expect("id");
        let renter = app.funded_user("renter", 1_000.0).await;
        let sub = app
            .post(
                "/v1/subscriptions",
                &renter.key,
                &json!({"tool_id": tool_id, "tier": "enterprise", "months": 1}),
            )
            .await
            .expect(201);
        let sub = sub["subscription"]["id"].as_str().expect("id").to_owned();
        app.post(
            &format!("/v1/subscriptions/{sub}/auto-renew"),
            &renter.key,
            &json!({"enabled": false}),
        )
        .await
        .expect(200);
        let data = app.generated_dataset(&renter, long_data(50_000)).await;
        let session = app.open_session(&renter, &data["id"], json!({})).await;
        let inserted = app
            .post(
                &format!("/v1/sessions/{session}/tools"),
                &renter.key,
                &json!({"tool_id": tool_id, "auto_optimize": true,
                        "optimization_config": {"trials": 5000, "method": "random"}}),
            )
            .await
            .expect(202);
        let job = inserted["job"]["id"].as_str().expect("job").to_owned();
        // Searching (its progress passes 5% after the worker's first entitlement check).
        app.wait_job_until(&job, &renter.key, 60, |j| {
            j["progress"].as_f64().is_some_and(|p| p >= 0.05)
        })
        .await;

        // Act: the month ends while it runs; the billing pass expires the subscription
        // (which, unlike a cancellation, cancels no job).
        app.clock.advance(chrono::TimeDelta::days(40));
        let pass = app.billing_pass().await;

        // Assert: the search ends without a record and the session keeps its parameters.
        assert!(pass.expired >= 1, "{pass:?}");
        let done = app.wait_job(&job, &renter.key, 120).await;
        assert_eq!(done["status"], json!("failed"), "{done}");
        assert!(
            done["error"]["detail"]
                .as_str()
                .is_some_and(|d| d.contains("subscription")),
            "{done}"
        );
        let view = app.session_view(&renter, &session).await;
        assert_eq!(view["optimizations"], json!([]), "{view}");
        assert_eq!(
            view["session"]["tools"][0]["parameters"],
            tool["parameters"]
        );
    }
);
