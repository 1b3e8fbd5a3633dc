//! The honest gate's evidence end to end: a record keeps every trial of its search and the
//! gate's full report (evidence per fold, stability runs, deflated Sharpe ratios); a promoted
//! version carries a sealed certificate chained to the tool's previous one, and a verification
//! re-runs the re-check from the certificate alone and confirms every metric bit for bit; an
//! edited certificate fails verification. Every test runs on SQLite and on PostgreSQL.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tests::store_test;
use uuid::Uuid;

use super::passed_record;

fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == json!(name)))
        .unwrap_or_else(|| panic!("no check {name} in {report}"))
}

fn sha256(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

store_test!(a_record_keeps_every_trial_and_the_gates_evidence, |app| {
    // Arrange
    let (s, rid) = passed_record(&app).await;

    // Act
    let record = app
        .get(&format!("/v1/optimizations/{rid}"), &s.renter.key)
        .await
        .expect(200)["optimization"]
        .clone();
    let first = app
        .get(
            &format!("/v1/optimizations/{rid}/trials?limit=15"),
            &s.renter.key,
        )
        .await
        .expect(200);
    let rest = app
        .get(
            &format!("/v1/optimizations/{rid}/trials?limit=1000&after=14"),
            &s.creator.key,
        )
        .await
        .expect(200);

    // Assert: the report has every check and the evidence behind it.
    let report = &record["standards_report"];
    assert_eq!(report["passed"], json!(true), "{report}");
    for name in [
        "evidence:trades",
        "evidence:exposure",
        "stability",
        "stability:runs",
        "deflated_sharpe",
    ] {
        assert_eq!(
            check(report, name)["passed"],
            json!(true),
            "{name}: {report}"
        );
    }
    let timing = check(report, "required:execution_time");
    assert!(
        timing["note"]
            .as_str()
            .is_some_and(|n| n.starts_with("unchanged")),
        "no parameter changes a momentum tool's work: {timing}"
    );
    assert_eq!(
        report["evidence"].as_array().map(Vec::len),
        Some(4),
        "a row per fold"
    );
    assert_eq!(
        report["runs"].as_array().map(Vec::len),
        Some(8),
        "run 0 and seven partitions"
    );
    assert_eq!(report["deflated_sharpe"]["trials"], json!(40));
    assert_eq!(
        report["deflated_sharpe"]["of"],
        json!("excess returns over the baseline")
    );
    assert!(
        report["deflated_sharpe_absolute"]["value"].is_number(),
        "{report}"
    );
    // The search read only the bars before the first out-of-sample window (2,000 bars, 4 folds,
    // ratio 3: windows of 285 bars after the first 860).
    assert_eq!(record["search"]["search_span"], json!([0, 860]));
    assert_eq!(record["search"]["trial_stats"]["trials"], json!(40));

    // Every trial, in order, paged by trial number, visible to the tool's creator too.
    let trials: Vec<&Value> = first["trials"]
        .as_array()
        .into_iter()
        .chain(rest["trials"].as_array())
        .flatten()
        .collect();
    assert_eq!(first["next_after"], json!(14));
    assert_eq!(rest["next_after"], Value::Null, "the last page");
    assert_eq!(trials.len(), 40, "every trial is kept");
    for (i, t) in trials.iter().enumerate() {
        assert_eq!(t["trial"], json!(i));
        assert!(t["params"]["lookback_period"].is_i64(), "{t}");
        assert_eq!(
            t["metrics"].as_array().map(Vec::len),
            Some(3),
            "one per search block"
        );
        assert!(t["num_trades"].is_number());
    }
    let best = trials
        .iter()
        .filter_map(|t| t["score"].as_f64())
        .fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(record["search"]["best_in_sample"].as_f64(), Some(best));

    // Nobody else sees them; a page size out of range is refused.
    let stranger = app.user("stranger").await;
    app.get(&format!("/v1/optimizations/{rid}/trials"), &stranger.key)
        .await
        .problem(404);
    app.get(
        &format!("/v1/optimizations/{rid}/trials?limit=0"),
        &s.renter.key,
    )
    .await
    .problem(422);
});

store_test!(
    a_promoted_version_carries_a_certificate_that_verifies,
    |app| {
        // Arrange
        let (s, rid) = passed_record(&app).await;
        let record = app
            .get(&format!("/v1/optimizations/{rid}"), &s.renter.key)
            .await
            .expect(200)["optimization"]
            .clone();

        // Act
        let promoted = app.promote(&rid, &s.creator.key).await.expect(201);
        let path = format!("/v1/tools/{}/versions/2/certificate", s.tool);
        let renter_view = app.get(&path, &s.renter.key).await.expect(200)["certificate"].clone();
        let verified = app
            .post(&format!("{path}/verify"), &s.renter.key, &json!({}))
            .await
            .expect(200)["verification"]
            .clone();

        // Assert: sealed, first of its chain, and the lineage names it.
        let c = &renter_view;
        assert_eq!(c["sealed"], json!(true));
        assert_eq!(
            c["hash"],
            json!(sha256(c["sealed_text"].as_str().expect("text")))
        );
        assert_eq!(
            c["previous_hash"],
            Value::Null,
            "the tool's first certificate"
        );
        assert_eq!(promoted["version"]["lineage"]["certificate"], c["hash"]);
        // It holds what the re-check ran from and found.
        let body = &c["body"];
        assert_eq!(
            (body["version"].clone(), body["against_version"].clone()),
            (json!(2), json!(1))
        );
        assert_eq!(body["family"], json!("momentum"));
        assert_eq!(body["family_version"], json!(2));
        assert_eq!(body["engine_version"], json!(2));
        assert_eq!(body["params_after"], record["params_after"]);
        assert_eq!(body["params_before"], record["params_before"]);
        assert_eq!(body["session"]["dataset_hash"], record["dataset_hash"]);
        assert_eq!(body["search"]["seed"], json!(7));
        assert_eq!(body["search"]["trials_run"], json!(40));
        assert_eq!(body["search"]["trial_stats"]["trials"], json!(40));
        assert_eq!(body["session"]["report"]["passed"], json!(true));
        assert!(body["session"]["report"]["deflated_sharpe"]["value"].is_number());
        assert_eq!(body["eval"]["folds"]["n"], json!(4));
        assert_eq!(body["promoted_by"], json!("creator"));

        // The verification reproduced every number, bit for bit.
        assert_eq!(verified["verified"], json!(true), "{verified}");
        assert_eq!(verified["sealed"], json!(true));
        assert_eq!(verified["chain_breaks"], json!([]));
        assert_eq!(verified["rerun"]["reproduced"], json!(true), "{verified}");
        // 2 sides x 4 folds x 11 metrics, and the report.
        assert_eq!(verified["rerun"]["compared"], json!(89));
        assert_eq!(
            verified["engine_version"],
            json!({"certified": 2, "now": 2})
        );

        // A version made otherwise has none.
        app.get(
            &format!("/v1/tools/{}/versions/1/certificate", s.tool),
            &s.creator.key,
        )
        .await
        .problem(404);
        app.post(
            &format!("/v1/tools/{}/versions/1/certificate/verify", s.tool),
            &s.creator.key,
            &json!({}),
        )
        .await
        .problem(404);
    }
);

store_test!(an_edited_certificate_fails_verification, |app| {
    // Arrange: a promoted version and its certificate.
    let (s, rid) = passed_record(&app).await;
    app.promote(&rid, &s.creator.key).await.expect(201);
    let tool: Uuid = s.tool.parse().expect("uuid");
    let path = format!("/v1/tools/{}/versions/2/certificate", s.tool);
    let original = app.get(&path, &s.creator.key).await.expect(200)["certificate"].clone();
    let text = original["sealed_text"].as_str().expect("text").to_owned();

    // Act 1: someone with database access flips the verdict in the text only.
    let edited = text.replacen(
        "\"promoted_by\":\"creator\"",
        "\"promoted_by\":\"auto_promote\"",
        1,
    );
    assert_ne!(edited, text);
    app.tamper_certificate(tool, 2, &edited, original["hash"].as_str().expect("hash"))
        .await;
    let read = app.get(&path, &s.creator.key).await.expect(200);
    let verified = app
        .post(&format!("{path}/verify"), &s.creator.key, &json!({}))
        .await
        .expect(200)["verification"]
        .clone();

    // Assert 1: the seal is broken, and the verification says so.
    assert_eq!(read["certificate"]["sealed"], json!(false));
    assert_eq!(verified["verified"], json!(false));
    assert_eq!(verified["sealed"], json!(false));
    assert_eq!(
        verified["chain_breaks"][0]["version"],
        json!(2),
        "{verified}"
    );

    // Act 2: the same with a better Sharpe ratio in the first fold and the hash recomputed.
    let body: Value = serde_json::from_str(&text).expect("json");
    let mut forged = body.clone();
    let sharpe = forged["session"]["after"][0]["sharpe"]
        .as_f64()
        .expect("sharpe");
    forged["session"]["after"][0]["sharpe"] = json!(sharpe + 0.5);
    let forged_text = serde_json::to_string(&forged).expect("json");
    app.tamper_certificate(tool, 2, &forged_text, &sha256(&forged_text))
        .await;
    let verified = app
        .post(&format!("{path}/verify"), &s.creator.key, &json!({}))
        .await
        .expect(200)["verification"]
        .clone();

    // Assert 2: sealed again, but the re-run does not reproduce the forged number.
    assert_eq!(verified["sealed"], json!(true), "{verified}");
    assert_eq!(verified["verified"], json!(false));
    assert_eq!(verified["rerun"]["reproduced"], json!(false));
    let mismatches = verified["rerun"]["mismatches"]
        .as_array()
        .expect("mismatches");
    assert_eq!(mismatches.len(), 1, "{verified}");
    assert_eq!(mismatches[0]["at"], json!("session.after[0].sharpe"));
    assert_eq!(mismatches[0]["rerun"], json!(sharpe));
});
