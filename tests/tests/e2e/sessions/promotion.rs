//! Promotion end to end: ending a session makes candidates (promoted at once with
//! `auto_promote`), a promotion is re-checked against the tool's current version and its
//! reference dataset, and a rollback makes a new version equal to an old one.

use serde_json::json;
use tests::{default_standards, momentum_tool, store_test, store_test_with, trending_data};

use super::{passed_record, passing_setup, record_id};

store_test!(
    ending_a_session_makes_candidates_and_refuses_more_work,
    |app| {
        // Arrange
        let s = passing_setup(&app).await;
        app.insert_and_optimize(&s.renter, &s.session, &s.tool, json!({"trials": 40}))
            .await;

        // Act
        let ended = app.end_session(&s.renter, &s.session, true).await;

        // Assert
        assert_eq!(ended["session"]["status"], json!("ended"));
        assert_eq!(
            ended["candidates"].as_array().map(Vec::len),
            Some(1),
            "{ended}"
        );
        assert_eq!(
            ended["promotion_jobs"],
            json!([]),
            "no auto_promote on this tool"
        );
        let listed = app
            .get(
                &format!("/v1/tools/{}/promotion-candidates", s.tool),
                &s.creator.key,
            )
            .await
            .expect(200);
        assert_eq!(listed["candidates"][0]["status"], json!("promotable"));
        assert!(
            listed["candidates"][0].get("dataset_id").is_none(),
            "no renter data: {listed}"
        );
        app.get(
            &format!("/v1/tools/{}/promotion-candidates", s.tool),
            &s.renter.key,
        )
        .await
        .problem(403);
        app.post(
            &format!("/v1/sessions/{}/tools", s.session),
            &s.renter.key,
            &json!({"tool_id": s.tool}),
        )
        .await
        .problem(409);
        app.post(
            &format!("/v1/sessions/{}/tools/{}/optimizations", s.session, s.tool),
            &s.renter.key,
            &json!({"method": "random"}),
        )
        .await
        .problem(409);
        app.post(
            &format!("/v1/sessions/{}/end", s.session),
            &s.renter.key,
            &json!({}),
        )
        .await
        .problem(409);
        // The candidate is promoted by the creator like any passed record.
        let rid = listed["candidates"][0]["record_id"].as_str().expect("id");
        app.promote(rid, &s.creator.key).await.expect(201);
    }
);

store_test!(
    a_tool_with_auto_promote_is_promoted_when_the_session_ends,
    |app| {
        // Arrange: auto-promotion needs a reference dataset of the creator's.
        let mut body = momentum_tool("Auto", default_standards());
        body["auto_promote"] = json!(true);
        let refused = app
            .post("/v1/tools", &app.user("c").await.key, &body)
            .await
            .problem(422);
        assert_eq!(refused["errors"][0]["field"], json!("auto_promote"));
        body["auto_promote"] = json!(false);
        let s = app
            .session_setup(body, "pro", trending_data(), json!({"seed": 7}))
            .await;
        let path = format!("/v1/tools/{}", s.tool);
        app.patch(&path, &s.creator.key, &json!({"auto_promote": true}))
            .await
            .problem(422);
        let reference = app.generated_dataset(&s.creator, trending_data()).await;
        app.patch(
            &path,
            &s.creator.key,
            &json!({"auto_promote": true, "reference_dataset_id": reference["id"]}),
        )
        .await
        .expect(200);
        app.insert_and_optimize(&s.renter, &s.session, &s.tool, json!({"trials": 40}))
            .await;

        // Act
        let ended = app.end_session(&s.renter, &s.session, true).await;

        // Assert: the promotion job belongs to the creator and makes version 2.
        let job = ended["promotion_jobs"][0]["id"]
            .as_str()
            .expect("a promotion job");
        let done = app.wait_job(job, &s.creator.key, 60).await;
        assert_eq!(done["result"]["passed"], json!(true), "{done}");
        let tool = app
            .get(&format!("/v1/tools/{}", s.tool), &s.creator.key)
            .await
            .expect(200);
        assert_eq!(tool["tool"]["version"], json!(2));
        let versions = app
            .get(&format!("/v1/tools/{}/versions", s.tool), &s.creator.key)
            .await
            .expect(200);
        assert_eq!(
            versions["versions"][1]["lineage"]["promoted_by"],
            json!("auto_promote")
        );
    }
);

store_test!(
    promotion_is_rechecked_against_the_tools_current_version,
    |app| {
        // Arrange: a passed record, then the creator changes the tool twice over.
        let s = passing_setup(&app).await;
        app.insert_and_optimize(&s.renter, &s.session, &s.tool, json!({"trials": 40}))
            .await;
        let view = app.session_view(&s.renter, &s.session).await;
        let rid = record_id(&view);
        let after = view["optimizations"][0]["params_after"].clone();

        // Act 1: the tool moved to exactly the candidate's parameters: nothing left to gain.
        app.patch(
            &format!("/v1/tools/{}", s.tool),
            &s.creator.key,
            &json!({"parameters": after}),
        )
        .await
        .expect(200);
        let p = app
            .post(
                &format!("/v1/optimizations/{rid}/promote"),
                &s.creator.key,
                &json!({}),
            )
            .await
            .problem(422);
        assert_eq!(p["standards_report"]["passed"], json!(false), "{p}");
        let rec = app
            .get(&format!("/v1/optimizations/{rid}"), &s.creator.key)
            .await
            .expect(200);
        assert_eq!(
            rec["optimization"]["last_check"]["against_version"],
            json!(2)
        );

        // Act 2: the tool moved back to its first parameters (version 3), which the candidate
        // beat: it beats version 3 and becomes 4.
        app.patch(
            &format!("/v1/tools/{}", s.tool),
            &s.creator.key,
            &json!({"parameters": {"lookback_period": 5, "threshold": 0.0}}),
        )
        .await
        .expect(200);
        let promoted = app
            .post(
                &format!("/v1/optimizations/{rid}/promote"),
                &s.creator.key,
                &json!({}),
            )
            .await
            .expect(201);

        // Assert
        assert_eq!(promoted["version"]["version"], json!(4));
        assert_eq!(promoted["version"]["lineage"]["previous_version"], json!(3));
        assert_eq!(promoted["version"]["parameters"], after);
    }
);

store_test!(rollback_makes_a_new_version_equal_to_an_old_one, |app| {
    // Arrange: version 2 by promotion.
    let (s, rid) = passed_record(&app).await;
    app.promote(&rid, &s.creator.key).await.expect(201);

    // Act
    let rolled = app
        .post(
            &format!("/v1/tools/{}/versions/1/rollback", s.tool),
            &s.creator.key,
            &json!({}),
        )
        .await
        .expect(201);

    // Assert
    let versions = app
        .get(&format!("/v1/tools/{}/versions", s.tool), &s.creator.key)
        .await
        .expect(200);
    let v1 = &versions["versions"][0];
    assert_eq!(rolled["version"]["version"], json!(3));
    assert_eq!(rolled["version"]["source"], json!("rollback"));
    assert_eq!(rolled["version"]["lineage"]["rollback_of"], json!(1));
    assert_eq!(rolled["version"]["parameters"], v1["parameters"]);
    assert_eq!(rolled["tool"]["parameters"], v1["parameters"]);
    app.post(
        &format!("/v1/tools/{}/versions/1/rollback", s.tool),
        &s.renter.key,
        &json!({}),
    )
    .await
    .problem(403);
    app.post(
        &format!("/v1/tools/{}/versions/99/rollback", s.tool),
        &s.creator.key,
        &json!({}),
    )
    .await
    .problem(404);
});

store_test!(
    a_promotion_is_also_judged_on_the_creators_reference_dataset,
    |app| {
        // Arrange: a passed record, and a reference dataset of the creator's own.
        let (s, rid) = passed_record(&app).await;
        let reference = app
            .generated_dataset(&s.creator, json!({"kind": "gbm", "bars": 1500, "seed": 9}))
            .await;
        let path = format!("/v1/tools/{}", s.tool);
        let p = app
            .patch(
                &path,
                &s.creator.key,
                &json!({"reference_dataset_id": s.dataset}),
            )
            .await
            .problem(422);
        assert_eq!(
            p["errors"][0]["field"],
            json!("reference_dataset_id"),
            "not the creator's"
        );
        let tool = app
            .patch(
                &path,
                &s.creator.key,
                &json!({"reference_dataset_id": reference["id"]}),
            )
            .await
            .expect(200);
        assert_eq!(tool["tool"]["reference_dataset_id"], reference["id"]);

        // Act
        let res = app.promote(&rid, &s.creator.key).await;

        // Assert: the reference's checks are in the verdict, and the verdict follows them.
        let status = res.status.as_u16();
        let body = res.body;
        let report = if status == 201 {
            body["version"]["lineage"]["standards_report"].clone()
        } else {
            assert_eq!(status, 422, "{body}");
            body["standards_report"].clone()
        };
        let checks = report["checks"].as_array().expect("checks");
        let reference_checks: Vec<_> = checks
            .iter()
            .filter(|c| {
                c["name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("reference:"))
            })
            .collect();
        assert!(!reference_checks.is_empty(), "{report}");
        let all_passed = checks.iter().all(|c| c["passed"] == json!(true));
        assert_eq!(status == 201, all_passed, "{report}");
        // The reference may not be deleted from under the tool: it is cleared instead.
        app.delete(
            &format!("/v1/datasets/{}", reference["id"].as_str().expect("id")),
            &s.creator.key,
        )
        .await
        .expect(204);
        let tool = app.get(&path, &s.creator.key).await.expect(200);
        assert_eq!(tool["tool"]["reference_dataset_id"], json!(null));
    }
);

store_test_with!(
    a_promotion_that_outlasts_the_wait_answers_202_and_still_lands,
    |s: &mut shared::config::Settings| s.sessions.promote_wait_secs = 0,
    |app| {
        // Arrange
        let (s, rid) = passed_record(&app).await;

        // Act: no time to wait: the answer is the re-check's job.
        let accepted = app.promote(&rid, &s.creator.key).await.expect(202);
        let job = accepted["job"]["id"].as_str().expect("job").to_owned();
        let done = app.wait_job(&job, &s.creator.key, 60).await;

        // Assert: the creator follows the job to the new version.
        assert_eq!(accepted["job"]["kind"], json!("promote"));
        assert_eq!(done["result"]["version"], json!(2), "{done}");
        let tool = app
            .get(&format!("/v1/tools/{}", s.tool), &s.creator.key)
            .await
            .expect(200);
        assert_eq!(tool["tool"]["version"], json!(2));
    }
);
