//! A/B tests of tool versions, over HTTP on SQLite and PostgreSQL: the creator runs one and
//! reads its result (per-period paired returns that agree with an evaluation of each version,
//! the statistics, the named test, the verdict), a rerun with the same seed agrees, an A/A test
//! is never significant, anyone else gets 403 (404 for a tool that is not listed), bad
//! versions, datasets and settings get 422 and queue nothing; the cross-renter comparison
//! (`renters`); and the dashboard's pages (`browser`).

mod browser;
mod renters;

use serde_json::{Value, json};
use tests::{TestApp, User, store_test};

/// A creator's SMA tool with two versions (fast 10 / slow 30, then fast 5 / slow 20) and a
/// dataset of theirs: `(tool id, dataset id)`.
async fn two_versions(app: &TestApp, creator: &User) -> (String, String) {
    let tool = app
        .tool(creator, TestApp::tool_body("SMA", 10.0, "basic"))
        .await["id"]
        .as_str()
        .expect("tool id")
        .to_owned();
    let v2 = app
        .patch(
            &format!("/v1/tools/{tool}"),
            &creator.key,
            &json!({"parameters": {"fast": 5, "slow": 20}}),
        )
        .await
        .expect(200);
    assert_eq!(v2["tool"]["version"], json!(2));
    let dataset = app.dataset(creator).await.to_string();
    (tool, dataset)
}

/// Starts an A/B test (202 expected), waits for it and returns `GET`'s `ab_test`.
async fn run_ab_test(app: &TestApp, creator: &User, tool: &str, body: Value) -> Value {
    let started = app
        .post(&format!("/v1/tools/{tool}/ab-tests"), &creator.key, &body)
        .await
        .expect(202);
    let id = started["ab_test"]["id"].as_str().expect("id").to_owned();
    assert_eq!(started["ab_test"]["status"], json!("queued"));
    let job = app.wait_job(&id, &creator.key, 120).await;
    assert_eq!(job["status"], json!("succeeded"), "the A/B test ran: {job}");
    assert_eq!(job["kind"], json!("ab_test"));
    app.get(&format!("/v1/tools/{tool}/ab-tests/{id}"), &creator.key)
        .await
        .expect(200)["ab_test"]
        .clone()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("a number: {v}"))
}

store_test!(the_creator_runs_an_ab_test_and_reads_its_result, |app| {
    // Arrange
    let creator = app.user("creator").await;
    let (tool, dataset) = two_versions(&app, &creator).await;
    let body = json!({"version_a": 1, "version_b": 2, "dataset_ids": [dataset]});

    // Act
    let test = run_ab_test(&app, &creator, &tool, body.clone()).await;
    let again = run_ab_test(&app, &creator, &tool, body).await;
    let evaluation = app
        .post(
            &format!("/v1/tools/{tool}/evaluations"),
            &creator.key,
            &json!({"dataset_id": dataset, "version": 1}),
        )
        .await
        .expect(202);
    let eval_job = evaluation["job"]["id"].as_str().expect("job id");
    let evaluated = app.wait_job(eval_job, &creator.key, 60).await;

    // Assert: 500 bars, 4 rolling folds at ratio 3 -> 4 periods of floor(500 / 7) = 71 bars.
    let r = &test["result"];
    assert_eq!(test["status"], json!("succeeded"));
    assert_eq!(r["bars"], json!(284), "{r}");
    let periods = r["periods"].as_array().expect("periods");
    assert_eq!(periods.len(), 4);
    let folds = evaluated["result"]["folds"].as_array().expect("folds");
    for (p, fold) in periods.iter().zip(folds) {
        assert_eq!(p["bars"], json!(71));
        let evaluated_return = f(&fold["out_of_sample"]["metrics"]["total_return"]);
        assert!(
            (f(&p["return_a"]) - evaluated_return).abs() < 1e-9,
            "version A's period return is its evaluation's fold return: {p} vs {evaluated_return}"
        );
        assert!((f(&p["difference"]) - (f(&p["return_b"]) - f(&p["return_a"]))).abs() < 1e-12);
    }
    for stat in ["mean_return", "sharpe"] {
        let s = &r[stat];
        assert!((f(&s["difference"]) - (f(&s["b"]) - f(&s["a"]))).abs() < 1e-12);
        assert!(f(&s["ci_low"]) <= f(&s["ci_high"]), "{s}");
        let p = f(&s["p_value"]);
        assert!(p > 0.0 && p <= 1.0, "{s}");
        assert_eq!(s["significant"], json!(p < 0.05));
    }
    assert!(
        r["test"]["name"]
            .as_str()
            .is_some_and(|n| n.contains("block bootstrap")),
        "the test is named: {}",
        r["test"]
    );
    assert_eq!(r["test"]["block_length"], json!(7), "ceil(284^(1/3)) = 7");
    assert_eq!(r["test"]["alpha"], json!(0.05));
    let verdict = r["verdict"].as_str().expect("verdict");
    let expected = match (
        r["sharpe"]["significant"].as_bool(),
        f(&r["sharpe"]["difference"]),
    ) {
        (Some(true), d) if d > 0.0 => "b_better",
        (Some(true), _) => "a_better",
        _ => "no_significant_difference",
    };
    assert_eq!(verdict, expected);
    assert_eq!(test["verdict"], json!(verdict));
    let last = r["cumulative"]
        .as_array()
        .and_then(|c| c.last())
        .expect("curve");
    assert_eq!(
        last["index"],
        json!(283),
        "the curve ends at the last paired bar"
    );
    assert_eq!(
        again["result"], test["result"],
        "the same seed gives the same result"
    );
    let list = app
        .get(&format!("/v1/tools/{tool}/ab-tests"), &creator.key)
        .await
        .expect(200);
    let listed = list["ab_tests"].as_array().expect("list");
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["id"], again["id"], "newest first");
    assert_eq!(
        listed[0]["result"],
        Value::Null,
        "the list leaves results out"
    );
    assert_eq!(listed[1]["verdict"], json!(verdict));
    assert_eq!(list["next_cursor"], Value::Null);
    let first = app
        .get(&format!("/v1/tools/{tool}/ab-tests?limit=1"), &creator.key)
        .await
        .expect(200);
    assert_eq!(first["ab_tests"][0]["id"], listed[0]["id"]);
    let cursor = first["next_cursor"].as_str().expect("a second page");
    let second = app
        .get(
            &format!("/v1/tools/{tool}/ab-tests?limit=1&cursor={cursor}"),
            &creator.key,
        )
        .await
        .expect(200);
    assert_eq!(
        second["ab_tests"][0]["id"], listed[1]["id"],
        "pages in order"
    );
    assert_eq!(second["next_cursor"], Value::Null, "two tests, two pages");
    app.get(&format!("/v1/tools/{tool}/ab-tests?limit=0"), &creator.key)
        .await
        .problem(422);
});

store_test!(an_a_a_test_is_never_significant, |app| {
    // Arrange
    let creator = app.user("creator").await;
    let (tool, dataset) = two_versions(&app, &creator).await;

    // Act
    let test = run_ab_test(
        &app,
        &creator,
        &tool,
        json!({"version_a": 2, "version_b": 2, "dataset_ids": [dataset], "seed": 7,
               "folds": {"n": 3}, "costs": {"commission": 0.001}}),
    )
    .await;

    // Assert
    let r = &test["result"];
    for stat in ["mean_return", "sharpe"] {
        assert_eq!(r[stat]["difference"], json!(0.0));
        assert_eq!(r[stat]["p_value"], json!(1.0), "{}", r[stat]);
        assert_eq!(r[stat]["significant"], json!(false));
    }
    assert_eq!(r["verdict"], json!("no_significant_difference"));
    assert_eq!(r["periods"].as_array().map(Vec::len), Some(3));
    assert_eq!(r["config"]["commission"], json!(0.001));
    assert_eq!(r["test"]["seed"], json!(7));
});

store_test!(only_the_creator_reaches_a_tools_ab_tests, |app| {
    // Arrange
    let creator = app.user("creator").await;
    let other = app.user("other").await;
    let (tool, dataset) = two_versions(&app, &creator).await;
    let test = run_ab_test(
        &app,
        &creator,
        &tool,
        json!({"version_a": 1, "version_b": 2, "dataset_ids": [dataset]}),
    )
    .await;
    let id = test["id"].as_str().expect("id");
    let (own_tool, own_dataset) = two_versions(&app, &other).await;
    let body = json!({"version_a": 1, "version_b": 2, "dataset_ids": [own_dataset]});

    // Act + Assert: another account gets 403 on a listed tool, 404 on an unknown one.
    let base = format!("/v1/tools/{tool}/ab-tests");
    app.post(&base, &other.key, &body).await.problem(403);
    app.get(&base, &other.key).await.problem(403);
    app.get(&format!("{base}/{id}"), &other.key)
        .await
        .problem(403);
    app.get(&format!("{base}/{id}/plots/curves.svg"), &other.key)
        .await
        .problem(403);
    app.get(
        &format!("{base}/renters?version_a=1&version_b=2"),
        &other.key,
    )
    .await
    .problem(403);
    let unknown = uuid::Uuid::now_v7();
    app.post(&format!("/v1/tools/{unknown}/ab-tests"), &other.key, &body)
        .await
        .problem(404);
    // The A/B test is not found under the other's own tool either.
    app.get(&format!("/v1/tools/{own_tool}/ab-tests/{id}"), &other.key)
        .await
        .problem(404);
    let svg = app
        .get(&format!("{base}/{id}/plots/curves.svg"), &creator.key)
        .await;
    assert_eq!(svg.status, 200);
    let list = app.get(&base, &creator.key).await.expect(200);
    assert_eq!(list["ab_tests"].as_array().map(Vec::len), Some(1));
});

store_test!(
    bad_versions_datasets_and_settings_get_422_and_queue_nothing,
    |app| {
        // Arrange
        let creator = app.user("creator").await;
        let other = app.user("other").await;
        let (tool, dataset) = two_versions(&app, &creator).await;
        let others_dataset = app.dataset(&other).await.to_string();
        let path = format!("/v1/tools/{tool}/ab-tests");
        let field_of = |p: &Value| -> Vec<String> {
            p["errors"]
                .as_array()
                .expect("errors")
                .iter()
                .map(|e| e["field"].as_str().unwrap_or_default().to_owned())
                .collect()
        };

        // Act + Assert
        let p = app
            .post(
                &path,
                &creator.key,
                &json!({"version_a": 0, "version_b": 3, "dataset_ids": [dataset]}),
            )
            .await
            .problem(422);
        assert_eq!(field_of(&p), ["version_a", "version_b"], "{p}");
        let p = app
            .post(
                &path,
                &creator.key,
                &json!({"version_a": 1, "version_b": 2, "dataset_ids": []}),
            )
            .await
            .problem(422);
        assert_eq!(field_of(&p), ["dataset_ids"]);
        let p = app
            .post(
                &path,
                &creator.key,
                &json!({"version_a": 1, "version_b": 2,
                    "dataset_ids": [others_dataset, uuid::Uuid::now_v7(), dataset, dataset]}),
            )
            .await
            .problem(422);
        assert_eq!(
            field_of(&p),
            ["dataset_ids[0]", "dataset_ids[1]", "dataset_ids[3]"],
            "another's dataset, an unknown one and a repeat: {p}"
        );
        let p = app
            .post(
                &path,
                &creator.key,
                &json!({"version_a": 1, "version_b": 2, "dataset_ids": [dataset],
                    "alpha": 0.9, "resamples": 5, "costs": {"commission": 0.5}}),
            )
            .await
            .problem(422);
        assert_eq!(field_of(&p), ["costs.commission", "alpha"], "{p}");
        let p = app
        .post(
            &path,
            &creator.key,
            &json!({"version_a": 1, "version_b": 2, "dataset_ids": [dataset], "folds": {"n": 50}}),
        )
        .await
        .problem(422);
        assert_eq!(
            field_of(&p),
            ["dataset_ids[0]"],
            "too few bars for 50 folds: {p}"
        );
        app.get(
            &format!("{path}/renters?version_a=1&version_b=9"),
            &creator.key,
        )
        .await
        .problem(422);
        let list = app.get(&path, &creator.key).await.expect(200);
        assert_eq!(list["ab_tests"], json!([]), "nothing was queued");
    }
);
