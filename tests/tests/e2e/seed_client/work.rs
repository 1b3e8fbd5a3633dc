//! The seed's session and training methods through the client: `create_session`,
//! `insert_tool_into_session` with the seed's `epochs`, `apply_optimization`,
//! `promote_optimization`, `end_session`, `train_tool`, `apply_training_results`,
//! `get_training_recommendations`.

use super::*;

store_test!(
    a_session_optimizes_with_the_seeds_epochs_and_the_creator_promotes,
    |app| {
        let creator = signup(&app, "creator").await;
        let renter = signup(&app, "renter").await;
        let tool = creator
            .create_tool(&noisy_momentum())
            .await
            .expect("created");
        assert_eq!(tool.family, "momentum");
        renter.add_credits(100.0).await.expect("credit");
        renter
            .subscribe_to_tool(tool.id, Tier::Basic, 1, true)
            .await
            .expect("subscribed");
        let data = renter
            .generate_dataset("trending", "regime_switching", 2000, 2)
            .await
            .expect("generated");
        let session = renter
            .create_session(data.id, Some(json!({"seed": 7})))
            .await
            .expect("opened");

        // The seed's call: optimization_config={"epochs": 40} is 40 trials.
        let inserted = renter
            .insert_tool_into_session(
                session.id,
                tool.id,
                true,
                Some(OptimizationConfig::epochs(40)),
            )
            .await
            .expect("inserted");
        let job = inserted.job.expect("auto_optimize queues a job");
        let mut updates = Vec::new();
        let done = renter
            .wait_for_job(job.id, |j| updates.push((j.status, j.progress)))
            .await
            .expect("the optimization succeeds");
        assert_eq!(done.status, JobStatus::Succeeded);
        assert_eq!(updates.last().map(|u| u.0), Some(JobStatus::Succeeded));
        assert!(
            updates.windows(2).all(|w| w[0].1 <= w[1].1),
            "progress only grows: {updates:?}"
        );

        let session = renter.get_session(session.id).await.expect("read");
        let record = session.optimizations.first().expect("a record");
        assert_eq!(record.trials_run, 40, "epochs are trials");
        assert!(
            record.standards_report.passed,
            "{:?}",
            record.standards_report
        );
        let read = renter
            .get_optimization(record.record_id)
            .await
            .expect("read");
        assert_eq!(read.params_after, record.params_after);

        let e = renter
            .promote_optimization(record.record_id)
            .await
            .expect_err("only the creator promotes");
        assert_eq!(e.status(), Some(403));
        let version = match creator
            .promote_optimization(record.record_id)
            .await
            .expect("promoted")
        {
            Promotion::Promoted { version, tool, .. } => {
                assert_eq!(tool.version, version.version);
                version.version
            }
            Promotion::Checking(job) => {
                creator
                    .wait_for_job(job.id, |_| {})
                    .await
                    .expect("re-checked");
                creator.get_tool(tool.id).await.expect("read").version
            }
        };
        assert_eq!(version, 2);

        // apply_optimization: the same tool again with another method; both epochs and trials is
        // one budget named twice.
        let e = renter
            .apply_optimization(
                session.id,
                tool.id,
                Method::Random,
                Some(OptimizationConfig {
                    trials: Some(5),
                    epochs: Some(5),
                    ..OptimizationConfig::default()
                }),
            )
            .await
            .expect_err("two names for one budget");
        assert_eq!(
            e.problem().map(|p| p.errors[0].field.as_str()),
            Some("config.epochs")
        );
        let again = renter
            .apply_optimization(
                session.id,
                tool.id,
                Method::Random,
                Some(OptimizationConfig::epochs(6)),
            )
            .await
            .expect("queued");
        renter.wait_for_job(again.id, |_| {}).await.expect("ran");
        let ended = renter.end_session(session.id, true).await.expect("ended");
        assert_eq!(ended.session.optimizations.len(), 2);
        let e = renter
            .end_session(session.id, true)
            .await
            .expect_err("twice");
        assert_eq!(e.status(), Some(409));
    }
);

store_test!(
    train_tool_with_the_seeds_epochs_then_apply_and_recommend,
    |app| {
        let creator = signup(&app, "creator").await;
        let tool = creator
            .create_tool(&noisy_momentum())
            .await
            .expect("created");
        let data = creator
            .generate_dataset("creator data", "regime_switching", 1500, 4)
            .await
            .expect("generated");
        let advice = creator
            .get_training_recommendations(tool.id, Some(data.id))
            .await
            .expect("advice");
        assert!(
            !advice["recommendations"]
                .as_array()
                .expect("a list")
                .is_empty(),
            "{advice}"
        );
        // The seed's train_tool(method="optimization_engine", config={"epochs": 12}).
        let config: TrainingConfig =
            serde_json::from_value(json!({"epochs": 12, "seed": 3})).expect("a config");
        let started = creator
            .train_tool(
                tool.id,
                TrainingMethod::OptimizationEngine,
                &config,
                data.id,
            )
            .await
            .expect("started");
        assert_eq!(started.jobs.len(), 1);
        creator
            .wait_for_job(started.jobs[0].id, |_| {})
            .await
            .expect("trained");
        let run = creator
            .get_training(started.training.id)
            .await
            .expect("read");
        assert_eq!(run.status, JobStatus::Succeeded);
        assert_eq!(
            run.extra["config"]["optimization_engine"]["trials"],
            json!(12),
            "epochs are the sweep's trials"
        );
        let applied = creator
            .apply_training_results(run.id)
            .await
            .expect("applied");
        assert_eq!(applied.version.version, 2);
        assert_eq!(applied.tool.version, 2);
        let e = creator
            .apply_training_results(run.id)
            .await
            .expect_err("applied once");
        assert_eq!(e.status(), Some(409));
    }
);
