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
