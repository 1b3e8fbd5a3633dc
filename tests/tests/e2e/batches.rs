//! Batch submission: many evaluations of a tool in one request, queued all or none (one
//! transaction, one bulk push), on the three deployments.

use serde_json::{Value, json};
use tests::{TestApp, queue_test};

async fn setup(app: &TestApp) -> (tests::User, String, uuid::Uuid, uuid::Uuid) {
    let creator = app.user("creator").await;
    let tool = app
        .tool(&creator, TestApp::tool_body("Cross", 10.0, "basic"))
        .await;
    let first = app.dataset(&creator).await;
    let second = app
        .generated_dataset(&creator, json!({"kind": "gbm", "bars": 800, "seed": 7}))
        .await["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("dataset id");
    (
        creator,
        tool["id"].as_str().expect("id").to_owned(),
        first,
        second,
    )
}

async fn job_count(app: &TestApp, key: &str) -> usize {
    app.get("/v1/jobs?limit=100", key).await.expect(200)["jobs"]
        .as_array()
        .expect("jobs")
        .len()
}

queue_test!(
    a_batch_of_evaluations_runs_each_as_its_single_request_would,
    |app| {
        // Arrange
        let (creator, tool, first, second) = setup(&app).await;
        let batch = format!("/v1/tools/{tool}/evaluations/batch");
        let anchored = json!({"dataset_id": first, "folds": {"n": 3, "scheme": "anchored"}});
        let items =
            json!([anchored, {"dataset_id": second}, {"dataset_id": first, "commission": 0.0}]);

        // Act
        let jobs = app
            .post(&batch, &creator.key, &json!({"evaluations": items}))
            .await
            .expect(202)["jobs"]
            .as_array()
            .expect("jobs")
            .clone();
        let single = app
            .post(
                &format!("/v1/tools/{tool}/evaluations"),
                &creator.key,
                &anchored,
            )
            .await
            .expect(202)["job"]["id"]
            .as_str()
            .expect("id")
            .to_owned();

        // Assert: three jobs in the request's order, each with its own settings.
        assert_eq!(jobs.len(), 3);
        let mut done = Vec::new();
        for job in &jobs {
            assert_eq!(job["kind"], json!("evaluate"));
            assert_eq!(job["owner_id"], json!(creator.id.to_string()));
            let id = job["id"].as_str().expect("id");
            let finished = app.wait_job(id, &creator.key, 60).await;
            assert_eq!(finished["status"], json!("succeeded"), "{finished}");
            assert_eq!(finished["attempts"], json!(1));
            done.push(finished);
        }
        assert_eq!(done[0]["result"]["bars"], json!(500));
        assert_eq!(done[0]["result"]["folds"].as_array().map(Vec::len), Some(3));
        assert_eq!(done[1]["result"]["bars"], json!(800), "the second dataset");
        assert_ne!(
            done[0]["result"]["overall"]["metrics"], done[2]["result"]["overall"]["metrics"],
            "no commission changes the figures"
        );
        let single = app.wait_job(&single, &creator.key, 60).await;
        assert_eq!(
            single["result"]["overall"]["metrics"], done[0]["result"]["overall"]["metrics"],
            "a batch item evaluates exactly as the single request"
        );
    }
);

queue_test!(a_batch_with_one_bad_evaluation_queues_nothing, |app| {
    // Arrange
    let (creator, tool, first, _) = setup(&app).await;
    let stranger = app.user("stranger").await;
    let theirs = app.dataset(&stranger).await;
    let batch = format!("/v1/tools/{tool}/evaluations/batch");

    // Act
    let foreign = app
        .post(
            &batch,
            &creator.key,
            &json!({"evaluations": [{"dataset_id": first}, {"dataset_id": theirs}]}),
        )
        .await
        .expect(422);
    let bad_setting = app
            .post(
                &batch,
                &creator.key,
                &json!({"evaluations": [{"dataset_id": first}, {"dataset_id": first, "commission": -1.0}]}),
            )
            .await
            .expect(422);
    let empty = app
        .post(&batch, &creator.key, &json!({"evaluations": []}))
        .await
        .expect(422);
    let many: Vec<Value> = (0..101).map(|_| json!({"dataset_id": first})).collect();
    let too_many = app
        .post(&batch, &creator.key, &json!({"evaluations": many}))
        .await
        .expect(422);
    let unknown_tool = app
        .post(
            &format!("/v1/tools/{}/evaluations/batch", uuid::Uuid::now_v7()),
            &creator.key,
            &json!({"evaluations": [{"dataset_id": first}]}),
        )
        .await;

    // Assert
    assert_eq!(
        foreign["errors"][0]["field"],
        json!("evaluations[1].dataset_id"),
        "{foreign}"
    );
    assert_eq!(
        bad_setting["errors"][0]["field"],
        json!("evaluations[1].commission"),
        "{bad_setting}"
    );
    assert_eq!(empty["errors"][0]["field"], json!("evaluations"));
    assert_eq!(too_many["errors"][0]["field"], json!("evaluations"));
    assert_eq!(unknown_tool.status.as_u16(), 404);
    assert_eq!(job_count(&app, &creator.key).await, 0, "nothing was queued");
});

queue_test!(
    a_batch_larger_than_the_accounts_quota_is_refused_whole,
    |s: &mut shared::config::Settings| {
        s.queue.max_active_per_account = 2;
    },
    |app| {
        // Arrange
        let (creator, tool, first, second) = setup(&app).await;
        let batch = format!("/v1/tools/{tool}/evaluations/batch");

        // Act
        let over = app
            .post(
                &batch,
                &creator.key,
                &json!({"evaluations": [{"dataset_id": first}, {"dataset_id": second}, {"dataset_id": first}]}),
            )
            .await;
        let queued_after_refusal = job_count(&app, &creator.key).await;
        let within = app
            .post(
                &batch,
                &creator.key,
                &json!({"evaluations": [{"dataset_id": first}, {"dataset_id": second}]}),
            )
            .await
            .expect(202);

        // Assert
        assert_eq!(over.status.as_u16(), 429, "{:?}", over.body);
        assert!(
            over.body["detail"]
                .as_str()
                .is_some_and(|d| d.contains("asked for 3 more") && d.contains("limit is 2")),
            "{:?}",
            over.body
        );
        assert_eq!(queued_after_refusal, 0, "nothing of the refused batch");
        assert_eq!(within["jobs"].as_array().map(Vec::len), Some(2));
    }
);
