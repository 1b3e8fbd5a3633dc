//! Job effects through the store: an optimization's record and a promotion's new version are
//! written in the transaction that marks the job succeeded, only by the holder of the job's
//! claim, once; an effect the current state refuses writes nothing at all. A record's trials
//! land with it; a promotion's certificate is sealed after the tool's previous one. Every test
//! runs on SQLite and on PostgreSQL.

use std::time::Duration;

use chrono::Utc;
use serde_json::{Map, Value, json};
use shared::domain::certificate::{
    CERTIFICATE_FORMAT, CertificateBody, CertifiedJudgment, CertifiedSearch, chain_breaks,
};
use shared::domain::{
    Metrics, OptimizationRecord, OptimizationTrial, RecordStatus, StudySpec, Tool,
};
use shared::evaluation::EvalConfig;
use shared::jobs::{Job, JobKind, JobStatus};
use shared::optimization::Method;
use shared::standards::{StandardsConfig, StandardsReport};
use shared::store::{
    JobClaim, JobEffect, JobOutcome, NewJob, NewSessionTool, Promotion, StoreError, ToolPatch,
};
use tests::{TestApp, store_test};
use uuid::Uuid;

struct Fixture {
    owner: Uuid,
    tool: Tool,
    session: Uuid,
}

async fn fixture(app: &TestApp) -> Fixture {
    let creator = app.user("creator").await;
    let owner = app.user("owner").await;
    let tool = app
        .tool(&creator, TestApp::tool_body("t", 10.0, "basic"))
        .await;
    let tool = app
        .store
        .tool(
            tool["id"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .expect("id"),
        )
        .await
        .expect("read")
        .expect("tool");
    let session = app.store_session_with_tool(&owner, &tool).await;
    Fixture {
        owner: owner.id,
        tool,
        session,
    }
}

fn optimize_job(owner: Uuid) -> NewJob {
    NewJob {
        id: Uuid::now_v7(),
        kind: JobKind::Optimize,
        owner_id: owner,
        priority: 0,
        max_attempts: 3,
        payload: json!({}),
    }
}

store_test!(
    a_tool_and_its_optimization_job_are_written_together_or_not_at_all,
    |app| {
        // Arrange
        let f = fixture(&app).await;
        let creator = app.user("creator2").await;
        let other = app
            .tool(&creator, TestApp::tool_body("t2", 10.0, "basic"))
            .await["id"]
            .as_str()
            .and_then(|s| s.parse::<Uuid>().ok())
            .expect("id");
        let new = NewSessionTool {
            session_id: f.session,
            tool_id: other,
            base_version: 1,
            parameters: params(10, 30),
        };
        let (first, second) = (optimize_job(f.owner), optimize_job(f.owner));

        // Act
        let (inserted, job) = app
            .store
            .insert_session_tool(&new, Some(&first), Utc::now(), Utc::now())
            .await
            .expect("inserted");
        let refused = app
            .store
            .insert_session_tool(&new, Some(&second), Utc::now(), Utc::now())
            .await;

        // Assert
        let job = job.expect("the job is returned");
        assert_eq!(job.id, first.id);
        assert_eq!(job.status, JobStatus::Queued);
        assert_eq!(inserted.last_job_id, Some(first.id));
        assert!(
            matches!(refused, Err(StoreError::Conflict(_))),
            "{refused:?}"
        );
        assert!(
            app.store.job(second.id).await.expect("read").is_none(),
            "a refused insert leaves no job behind"
        );
        let queued = app
            .store
            .queue_session_tool_job(f.session, f.tool.id, &second, Utc::now(), Utc::now())
            .await
            .expect("queued");
        assert_eq!(queued.id, second.id);
        let missing = app
            .store
            .queue_session_tool_job(
                f.session,
                Uuid::now_v7(),
                &optimize_job(f.owner),
                Utc::now(),
                Utc::now(),
            )
            .await;
        assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
        assert_eq!(
            app.store
                .queued_jobs(JobKind::Optimize)
                .await
                .expect("count"),
            2,
            "a job for a tool the session does not hold is not written"
        );
    }
);

/// A claimed job of `kind` (the only one queued).
async fn claimed_job(app: &TestApp, owner: Uuid, kind: JobKind) -> (Job, JobClaim) {
    let new = NewJob {
        id: Uuid::now_v7(),
        kind,
        owner_id: owner,
        priority: 0,
        max_attempts: 3,
        payload: json!({}),
    };
    app.store
        .create_job(&new, Utc::now())
        .await
        .expect("created");
    let job = app
        .store
        .claim_job(kind, "w1", Utc::now(), Duration::from_secs(30))
        .await
        .expect("claim runs")
        .expect("claimed");
    let claim = JobClaim {
        job_id: job.id,
        worker_id: "w1".into(),
        attempt: job.attempts,
    };
    (job, claim)
}

fn params(fast: i64, slow: i64) -> Map<String, Value> {
    json!({"fast": fast, "slow": slow})
        .as_object()
        .cloned()
        .expect("object")
}

fn record(
    f: &Fixture,
    job: Uuid,
    improvement: f64,
    passed: bool,
    after: Map<String, Value>,
) -> OptimizationRecord {
    OptimizationRecord {
        id: Uuid::now_v7(),
        session_id: f.session,
        tool_id: f.tool.id,
        owner_id: f.owner,
        job_id: job,
        base_version: 1,
        study: StudySpec {
            method: Method::Random,
            trials: 10,
            seed: 1,
        },
        config: json!({"trials": 10}),
        trials_run: 10,
        params_before: f.tool.parameters.clone(),
        params_after: after,
        metrics_before: vec![Metrics::default(); 2],
        metrics_after: vec![Metrics::default(); 2],
        improvement: Some(improvement),
        standards_report: report(passed, improvement),
        status: RecordStatus::Applied,
        dataset_hash: "hash".into(),
        search: json!({}),
        promoted_version: None,
        last_check: None,
        rechecks: 0,
        created_at: Utc::now(),
        updated_at: Utc::now(),
    }
}

fn report(passed: bool, improvement: f64) -> StandardsReport {
    StandardsReport {
        passed,
        improvement: Some(improvement),
        checks: Vec::new(),
        evidence: Vec::new(),
        runs: Vec::new(),
        deflated_sharpe: None,
        deflated_sharpe_absolute: None,
    }
}

fn trials(n: u64) -> Vec<OptimizationTrial> {
    (0..n)
        .map(|i| OptimizationTrial {
            trial: i,
            params: params(2 + i as i64, 50),
            score: Some(i as f64 / 10.0),
            num_trades: 12.0,
            sharpe: Some(0.01 * i as f64),
            information_ratio: (i > 0).then_some(0.002 * i as f64),
            metrics: vec![
                Metrics {
                    sharpe: 0.1 * i as f64,
                    ..Metrics::default()
                };
                3
            ],
        })
        .collect()
}

/// A certificate body for `version` of `f`'s tool, judged against `against`.
fn certificate(
    f: &Fixture,
    record: &OptimizationRecord,
    version: i32,
    against: i32,
) -> CertificateBody {
    CertificateBody {
        format: CERTIFICATE_FORMAT,
        tool_id: f.tool.id,
        version,
        against_version: against,
        family: f.tool.family.clone(),
        family_version: 1,
        engine_version: 2,
        params_before: f.tool.parameters.clone(),
        params_after: record.params_after.clone(),
        artifact: None,
        record_id: record.id,
        session_id: record.session_id,
        optimization_job_id: record.job_id,
        promotion_job_id: Uuid::now_v7(),
        promoted_by: "creator".into(),
        eval: EvalConfig::default(),
        search: CertifiedSearch {
            method: Method::Random,
            seed: 1,
            trials_run: 10,
            trial_stats: None,
        },
        standards: StandardsConfig::default(),
        session: CertifiedJudgment {
            dataset_hash: "hash".into(),
            bars: 500,
            before: vec![Metrics::default(); 2],
            after: vec![Metrics::default(); 2],
            report: report(true, 0.5),
        },
        reference: None,
        passed: true,
        issued_at: Utc::now(),
        previous_certificate: None,
    }
}

fn done() -> JobOutcome {
    JobOutcome::Succeeded { result: json!({}) }
}

/// Ends the claimed attempt as succeeded, with `effect`.
async fn succeed(app: &TestApp, claim: &JobClaim, effect: &JobEffect) -> Result<bool, StoreError> {
    app.store
        .finish_job_with(claim, &done(), Some(effect), Utc::now())
        .await
}

/// Runs an optimize job to success with `r` as its effect.
async fn land(
    app: &TestApp,
    f: &Fixture,
    improvement: f64,
    after: Map<String, Value>,
) -> OptimizationRecord {
    let (job, claim) = claimed_job(app, f.owner, JobKind::Optimize).await;
    let r = record(f, job.id, improvement, true, after);
    let effect = JobEffect::RecordOptimization {
        record: Box::new(r.clone()),
        trials: trials(3),
    };
    let written = succeed(app, &claim, &effect).await.expect("finishes");
    assert!(written);
    app.store
        .optimization_record(r.id)
        .await
        .expect("read")
        .expect("record stored")
}

store_test!(
    a_record_is_written_once_and_only_by_the_claims_holder,
    |app| {
        // Arrange
        let f = fixture(&app).await;
        let (job, claim) = claimed_job(&app, f.owner, JobKind::Optimize).await;
        let r = record(&f, job.id, 0.4, true, params(5, 50));
        let effect = JobEffect::RecordOptimization {
            record: Box::new(r.clone()),
            trials: trials(1_203),
        };
        let stale = JobClaim {
            worker_id: "w2".into(),
            ..claim.clone()
        };

        // Act
        let by_stale = succeed(&app, &stale, &effect).await.expect("runs");
        let by_holder = succeed(&app, &claim, &effect).await.expect("runs");
        let again = succeed(&app, &claim, &effect).await.expect("runs");

        // Assert
        assert_eq!((by_stale, by_holder, again), (false, true, false));
        let records = app.store.session_records(f.session).await.expect("read");
        assert_eq!(records.len(), 1, "one record per job");
        assert_eq!(records[0].status, RecordStatus::Applied);
        let tools = app.store.session_tools(f.session).await.expect("read");
        assert_eq!(tools[0].parameters, params(5, 50), "the session uses it");
        assert_eq!(tools[0].active_record_id, Some(r.id));
        let job = app.store.job(job.id).await.expect("read").expect("job");
        assert_eq!(job.status, JobStatus::Succeeded);
        let tool = app
            .store
            .tool(f.tool.id)
            .await
            .expect("read")
            .expect("tool");
        assert_eq!(tool.parameters, f.tool.parameters, "the tool is untouched");
        // Every trial landed once (in chunks of multi-row inserts), in order, paged by number.
        let first = app
            .store
            .optimization_trials(r.id, None, 1_000)
            .await
            .expect("read");
        let rest = app
            .store
            .optimization_trials(r.id, Some(999), 1_000)
            .await
            .expect("read");
        assert_eq!((first.len(), rest.len()), (1_000, 203), "no trial twice");
        assert_eq!(first[..3], trials(3)[..], "stored as given");
        assert_eq!(rest.last().map(|t| t.trial), Some(1_202));
    }
);

store_test!(only_a_better_record_replaces_the_one_in_use, |app| {
    // Arrange
    let f = fixture(&app).await;
    let first = land(&app, &f, 0.5, params(5, 50)).await;

    // Act
    let worse = land(&app, &f, 0.3, params(6, 60)).await;
    let better = land(&app, &f, 0.7, params(7, 70)).await;

    // Assert
    assert_eq!(
        worse.status,
        RecordStatus::Rejected,
        "not better than the one in use"
    );
    assert_eq!(better.status, RecordStatus::Applied);
    let first = app
        .store
        .optimization_record(first.id)
        .await
        .expect("read")
        .expect("record");
    assert_eq!(first.status, RecordStatus::Superseded);
    let tools = app.store.session_tools(f.session).await.expect("read");
    assert_eq!(tools[0].parameters, params(7, 70));
    // Ending with promote_successful makes every passed record a candidate.
    let ended = app
        .store
        .end_session(f.session, true, Utc::now())
        .await
        .expect("ended");
    assert_eq!(ended.candidates.len(), 3);
    let again = app.store.end_session(f.session, true, Utc::now()).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
});

store_test!(
    a_promotion_against_an_outdated_version_writes_nothing,
    |app| {
        // Arrange: a passed record, then the creator changes the tool (version 2).
        let f = fixture(&app).await;
        let r = land(&app, &f, 0.5, params(5, 50)).await;
        let patch = ToolPatch {
            parameters: Some(params(12, 40)),
            ..ToolPatch::default()
        };
        app.store
            .update_tool(f.tool.id, &patch, Utc::now())
            .await
            .expect("patched");
        let promotion = |against: i32| {
            JobEffect::Promote(Box::new(Promotion {
                record_id: r.id,
                tool_id: f.tool.id,
                against_version: against,
                parameters: r.params_after.clone(),
                lineage: json!({"record_id": r.id}),
                check: json!({"passed": true}),
                certificate: Box::new(certificate(&f, &r, against + 1, against)),
            }))
        };

        // Act: a re-check made against version 1 is out of date.
        let (job, claim) = claimed_job(&app, f.owner, JobKind::Promote).await;
        let outdated = succeed(&app, &claim, &promotion(1)).await;

        // Assert: refused, and neither the job nor the tool nor the record moved.
        assert!(
            matches!(outdated, Err(StoreError::Conflict(_))),
            "{outdated:?}"
        );
        let job_now = app.store.job(job.id).await.expect("read").expect("job");
        assert_eq!(
            job_now.status,
            JobStatus::Running,
            "the job's success rolled back too"
        );
        let tool = app
            .store
            .tool(f.tool.id)
            .await
            .expect("read")
            .expect("tool");
        assert_eq!(tool.current_version, 2);
        let rec = app
            .store
            .optimization_record(r.id)
            .await
            .expect("read")
            .expect("record");
        assert_eq!(rec.status, RecordStatus::Applied);

        // Act: against the current version it goes through, once.
        let written = succeed(&app, &claim, &promotion(2))
            .await
            .expect("promoted");
        assert!(written);
        let tool = app
            .store
            .tool(f.tool.id)
            .await
            .expect("read")
            .expect("tool");
        assert_eq!(
            (tool.current_version, tool.parameters.clone()),
            (3, params(5, 50))
        );
        let versions = app.store.tool_versions(f.tool.id).await.expect("read");
        assert_eq!(versions[2].source, "promotion");
        let chain = app.store.certificates(f.tool.id).await.expect("read");
        assert_eq!(chain.len(), 1, "the refused promotion sealed nothing");
        assert_eq!(
            versions[2].lineage,
            Some(json!({"record_id": r.id, "certificate": chain[0].hash}))
        );
        let rec = app
            .store
            .optimization_record(r.id)
            .await
            .expect("read")
            .expect("record");
        assert_eq!(
            (rec.status, rec.promoted_version),
            (RecordStatus::Promoted, Some(3))
        );
        let (_, second) = claimed_job(&app, f.owner, JobKind::Promote).await;
        let twice = succeed(&app, &second, &promotion(3)).await;
        assert!(
            matches!(twice, Err(StoreError::Conflict(_))),
            "promoted once: {twice:?}"
        );
    }
);

store_test!(
    each_promotion_is_sealed_and_chained_to_the_tools_previous_certificate,
    |app| {
        // Arrange: two passed records of one tool.
        let f = fixture(&app).await;
        let first = land(&app, &f, 0.5, params(5, 50)).await;
        let (job, _) = claimed_job(&app, f.owner, JobKind::Optimize).await;
        let second = record(&f, job.id, 0.2, true, params(6, 60));
        let promote = |r: &OptimizationRecord, against: i32| {
            JobEffect::Promote(Box::new(Promotion {
                record_id: r.id,
                tool_id: f.tool.id,
                against_version: against,
                parameters: r.params_after.clone(),
                lineage: json!({}),
                check: json!({"passed": true}),
                certificate: Box::new(certificate(&f, r, against + 1, against)),
            }))
        };
        // The second record lands without its job's claim helper: store it through the same
        // effect on a fresh claim.
        let (_, claim) = claimed_job(&app, f.owner, JobKind::Optimize).await;
        let effect = JobEffect::RecordOptimization {
            record: Box::new(second.clone()),
            trials: Vec::new(),
        };
        assert!(succeed(&app, &claim, &effect).await.expect("lands"));

        // Act: promote both, one after the other.
        let (_, a) = claimed_job(&app, f.owner, JobKind::Promote).await;
        assert!(
            succeed(&app, &a, &promote(&first, 1))
                .await
                .expect("promoted")
        );
        let (_, b) = claimed_job(&app, f.owner, JobKind::Promote).await;
        assert!(
            succeed(&app, &b, &promote(&second, 2))
                .await
                .expect("promoted")
        );

        // Assert: a chain of two, each sealed, the second naming the first.
        let chain = app.store.certificates(f.tool.id).await.expect("read");
        assert_eq!(chain.iter().map(|c| c.version).collect::<Vec<_>>(), [2, 3]);
        assert!(chain.iter().all(|c| c.sealed()), "every text has its hash");
        assert_eq!(chain[0].previous_hash, None, "the first has no predecessor");
        assert_eq!(
            chain[1].previous_hash.as_deref(),
            Some(chain[0].hash.as_str())
        );
        assert!(
            chain_breaks(&chain).is_empty(),
            "{:?}",
            chain_breaks(&chain)
        );
        let body = chain[1].content().expect("parses");
        assert_eq!((body.version, body.against_version), (3, 2));
        assert_eq!(
            body.previous_certificate.as_deref(),
            Some(chain[0].hash.as_str())
        );
    }
);
