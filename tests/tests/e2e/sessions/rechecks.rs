//! Promotion re-checks on a renter's data: the creator chooses the parameters a re-check
//! compares against (any parameter change makes the tool's current version), so the creator
//! sees a re-check of a renter's record only as the gate's verdict and relative figures, and
//! may run only a few per record.

use serde_json::{Value, json};
use tests::store_test;

use super::passed_record;

/// The check named `name` of a report.
fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == json!(name)))
        .unwrap_or_else(|| panic!("no check {name} in {report}"))
}

/// Asserts a report a creator is shown of a renter's data holds no absolute figure.
fn assert_relative_only(report: &Value) {
    assert!(report["passed"].is_boolean(), "{report}");
    assert!(report["improvement"].is_number(), "{report}");
    assert!(check(report, "overall_improvement")["value"].is_number());
    for name in ["evidence:trades", "evidence:exposure"] {
        assert_eq!(
            check(report, name)["value"],
            json!(null),
            "{name}: {report}"
        );
    }
    assert_eq!(report["evidence"], json!([]), "{report}");
    assert_eq!(report["deflated_sharpe"], json!(null), "{report}");
    assert_eq!(report["deflated_sharpe_absolute"], json!(null), "{report}");
    for run in report["runs"].as_array().into_iter().flatten() {
        assert_eq!(run["windows"], json!([]), "{report}");
    }
}

store_test!(
    a_creator_sees_rechecks_of_a_renters_data_as_verdicts_and_runs_few,
    |app| {
        // Arrange: a renter's passed record; the creator moves the tool to parameters of
        // their choosing (here the candidate's own, so each re-check fails).
        let (s, rid) = passed_record(&app).await;
        let path = format!("/v1/optimizations/{rid}");
        let after =
            app.get(&path, &s.renter.key).await.expect(200)["optimization"]["params_after"].clone();
        app.patch(
            &format!("/v1/tools/{}", s.tool),
            &s.creator.key,
            &json!({"parameters": after}),
        )
        .await
        .expect(200);

        // Act: the default limit of re-checks per record, then one more.
        let mut refusals = Vec::new();
        for _ in 0..3 {
            refusals.push(app.promote(&rid, &s.creator.key).await.problem(422));
        }
        let over = app.promote(&rid, &s.creator.key).await.problem(429);

        // Assert: the creator's 422s, the record and the re-check jobs show verdicts and
        // relative figures only.
        for refused in &refusals {
            assert_eq!(refused["standards_report"]["passed"], json!(false));
            assert_relative_only(&refused["standards_report"]);
        }
        let seen = &app.get(&path, &s.creator.key).await.expect(200)["optimization"];
        assert_eq!(seen["rechecks"], json!(3), "{seen}");
        let last = &seen["last_check"];
        assert_eq!(last["against_version"], json!(2), "{last}");
        assert_eq!(last["passed"], json!(false));
        assert!(last.get("metrics_before").is_none(), "{last}");
        assert!(last.get("metrics_after").is_none(), "{last}");
        assert_eq!(check(last, "evidence:trades")["value"], json!(null));
        let jobs = app
            .get("/v1/jobs?kind=promote", &s.creator.key)
            .await
            .expect(200);
        let jobs = jobs["jobs"].as_array().expect("jobs");
        assert_eq!(jobs.len(), 3, "the refused promotion queued nothing");
        for job in jobs {
            assert_relative_only(&job["result"]["standards_report"]);
        }
        // The limit is named and no time lifts it.
        assert_eq!(over["limit"], json!(3), "{over}");
        // The renter, whose data it is, sees the whole re-check.
        let own = &app.get(&path, &s.renter.key).await.expect(200)["optimization"];
        assert_eq!(
            own["last_check"]["metrics_before"].as_array().map(Vec::len),
            Some(4),
            "{own}"
        );
        assert!(check(&own["last_check"], "evidence:trades")["value"].is_number());
    }
);
