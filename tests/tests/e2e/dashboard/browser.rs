//! The dashboard's flows in headless Chromium, as a person uses them: sign in, upload a dataset
//! (and see a bad file's row error), generate one, subscribe, open a session, insert a tool and
//! watch its optimization reach 100 % live, see the plots, and the creator promotes; a creator
//! trains and applies a run; another account finds nothing. Screenshots of the key pages go to `target/screenshots/`.

use std::time::Duration;

use serde_json::json;
use tests::browser::Browser;
use tests::{backend_test, default_standards, eurusd_csv, momentum_tool};

/// A file for the upload field.
fn temp_file(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).expect("write");
    path.to_string_lossy().into_owned()
}

backend_test!(
    a_renter_optimizes_in_the_browser_and_the_creator_promotes,
    Sqlite,
    |_s: &mut shared::config::Settings| {},
    |app| {
        let Some(web) = Browser::start(&app.address).await else {
            return;
        };
        // Arrange: a creator's tool (through the API); the renter has credit.
        let creator = app.user("Ada").await;
        let renter = app.funded_user("Bob", 1_000.0).await;
        let tool = app
            .tool(&creator, momentum_tool("Momentum 5", default_standards()))
            .await;
        let tool = tool["id"].as_str().expect("tool id").to_owned();
        let files = tempfile::tempdir().expect("dir");

        // Sign in.
        web.goto("/sessions").await;
        assert!(
            web.path().await.starts_with("/sign-in?next="),
            "signed out goes to sign-in"
        );
        web.screenshot("sign-in").await;
        web.sign_in(&renter.key).await;

        // Upload a CSV; a bad one shows its row's problem beside the file.
        web.goto("/datasets").await;
        web.fill("#upload-name", "EURUSD hourly").await;
        web.find("#upload-file")
            .await
            .send_keys(&temp_file(&files, "eurusd.csv", &eurusd_csv()))
            .await
            .expect("file chosen");
        web.click("form[action='/datasets/upload'] button").await;
        web.wait_text("#rows", "5000", Duration::from_secs(30))
            .await;
        assert!(web.images_loaded().await, "the price chart rendered");
        web.screenshot("dataset").await;
        web.goto("/datasets").await;
        let bad = b"time,open,high,low,close\n2024-01-01,1,2,0.5,1.5\n2024-01-02,1,0.5,2,1.5\n";
        web.find("#upload-file")
            .await
            .send_keys(&temp_file(&files, "bad.csv", bad))
            .await
            .expect("file chosen");
        web.click("form[action='/datasets/upload'] button").await;
        let problem = web.text("#upload-error").await;
        assert!(
            problem.contains("rows.2.high") && problem.contains("line 3"),
            "the row, column and line are named: {problem}"
        );

        // Generate the session's data.
        web.fill("#gen-name", "trending").await;
        web.select("#gen-kind", "regime_switching").await;
        web.fill("#gen-bars", "2000").await;
        web.fill("#gen-seed", "2").await;
        web.click("form[action='/datasets/generate'] button").await;
        web.wait_text("#rows", "2000", Duration::from_secs(30))
            .await;
        let dataset = web.path().await.trim_start_matches("/datasets/").to_owned();

        // Subscribe at pro from the marketplace.
        web.goto("/tools?family=momentum").await;
        web.click_and_load(&format!("#tools a[href='/tools/{tool}']"))
            .await;
        web.click("input[name=tier][value=pro]").await;
        web.screenshot("tool").await;
        web.click("form[aria-label=Subscribe] button").await;
        web.wait_text("#subscriptions", "Momentum 5", Duration::from_secs(10))
            .await;
        assert_eq!(
            app.balance_cents(&renter).await,
            100_000 - 5_000,
            "pro: 2.5 x 20.00"
        );

        // Open a session (seed 7) and insert the tool with a 40-trial optimization.
        web.goto("/sessions").await;
        web.select("#dataset", &dataset).await;
        web.fill("#seed", "7").await;
        web.click("form[aria-labelledby=new-h] button").await;
        web.select("#insert-tool", &tool).await;
        web.select("#insert-method", "bayesian").await;
        web.fill("#insert-trials", "40").await;
        web.click("form[aria-labelledby=insert-h] button").await;

        // Watch it live: the page follows the job's events and shows the result at the end.
        web.wait_path("/jobs/", Duration::from_secs(30)).await;
        web.screenshot("job-running").await;
        web.wait_text("#job-percent", "100%", Duration::from_secs(120))
            .await;
        web.wait_text("#job-status", "succeeded", Duration::from_secs(10))
            .await;
        web.click_and_load("#result-link").await;

        // The study, the equity curves and the gate.
        web.find("#equity-plot").await;
        assert_eq!(web.text("#trials-run").await, "40");
        assert_eq!(web.text("#gate").await, "passed");
        assert!(web.images_loaded().await, "every plot rendered");
        let rows = web
            .eval("return document.querySelectorAll('#trials tbody tr').length;")
            .await;
        assert_eq!(rows, json!(40), "one row per trial");
        web.screenshot("optimization").await;
        let record = web.path().await;

        // The creator promotes it.
        web.sign_out().await;
        web.sign_in(&creator.key).await;
        web.goto(&record).await;
        web.click("form[aria-labelledby=promote-h] button").await;
        web.wait_text("#versions", "v2", Duration::from_secs(60))
            .await;
        web.screenshot("promoted").await;
        let tool_now = app
            .get(&format!("/v1/tools/{tool}"), &creator.key)
            .await
            .expect(200);
        assert_eq!(tool_now["tool"]["version"], json!(2));
        web.close().await;
    }
);

backend_test!(
    a_creator_trains_in_the_browser_and_applies_the_run,
    Sqlite,
    |_s: &mut shared::config::Settings| {},
    |app| {
        let Some(web) = Browser::start(&app.address).await else {
            return;
        };
        // Arrange: the creator's tool (through the API).
        let creator = app.user("Ada").await;
        let tool = app
            .tool(&creator, momentum_tool("Momentum 5", default_standards()))
            .await;
        let tool = tool["id"].as_str().expect("tool id").to_owned();
        web.sign_in(&creator.key).await;

        // A dataset to train on, then a Q-learning run from the tool's page.
        web.goto("/datasets").await;
        web.fill("#gen-name", "training data").await;
        web.fill("#gen-bars", "1200").await;
        web.fill("#gen-seed", "5").await;
        web.click("form[action='/datasets/generate'] button").await;
        web.wait_text("#rows", "1200", Duration::from_secs(30))
            .await;
        web.goto(&format!("/tools/{tool}")).await;
        assert_eq!(
            web.eval("return document.title;").await,
            json!("Momentum 5 · Smart Marketplace")
        );
        web.select("#train-method", "q_learning").await;
        web.fill("#train-epochs", "40").await;
        web.click("form[aria-label=Train] button").await;

        // Follow it live to the end, then the run's page.
        web.wait_text("#job-percent", "100%", Duration::from_secs(180))
            .await;
        web.wait_text("#job-status", "succeeded", Duration::from_secs(10))
            .await;
        web.click_and_load("#result-link").await;
        web.find("#curves-plot").await;
        assert!(web.images_loaded().await, "the learning curve rendered");
        let splits = web.text("#splits").await;
        assert!(
            splits.contains("validation") && splits.contains("test"),
            "{splits}"
        );
        web.screenshot("training").await;

        // Apply: the tool's next version, and the run listed on the tool's page.
        web.click("form[aria-labelledby=apply-h] button").await;
        web.wait_text("#versions", "v2", Duration::from_secs(30))
            .await;
        let runs = web.text("#runs").await;
        assert!(runs.contains("q_learning") && runs.contains("v2"), "{runs}");
        let now = app
            .get(&format!("/v1/tools/{tool}"), &creator.key)
            .await
            .expect(200);
        assert_eq!(now["tool"]["version"], json!(2));
        web.close().await;
    }
);

backend_test!(
    another_account_sees_nothing_of_it_in_the_browser,
    Sqlite,
    |_s: &mut shared::config::Settings| {},
    |app| {
        let Some(web) = Browser::start(&app.address).await else {
            return;
        };
        // Arrange: someone's dataset and session.
        let owner = app.funded_user("owner", 10.0).await;
        let dataset = app.dataset(&owner).await;
        let session = app.open_session(&owner, &json!(dataset), json!({})).await;
        let stranger = app.user("stranger").await;

        // Act: the stranger opens their addresses.
        web.sign_in(&stranger.key).await;
        let mut seen = Vec::new();
        for path in [
            format!("/datasets/{dataset}"),
            format!("/sessions/{session}"),
        ] {
            web.goto(&path).await;
            seen.push((path, web.text("h1").await, web.source().await));
        }
        web.goto(&format!("/sessions/{session}")).await;
        web.screenshot("not-found").await;
        web.goto("/datasets").await;
        let list = web.source().await;

        // Assert: the API's 404 rule, in the browser too; nothing of theirs in the lists.
        for (path, title, html) in seen {
            assert_eq!(title, "Not found", "{path}");
            assert!(!html.contains(&dataset.to_string()) || path.contains(&dataset.to_string()));
        }
        assert!(
            !list.contains(&dataset.to_string()),
            "not in the stranger's list"
        );
        web.close().await;
    }
);

backend_test!(
    a_training_draws_its_curves_live_while_it_runs,
    Sqlite,
    |_s: &mut shared::config::Settings| {},
    |app| {
        let Some(web) = Browser::start(&app.address).await else {
            return;
        };
        // Arrange: a long deep-learning run (no early stop) on the creator's data.
        let creator = app.user("Ada").await;
        let tool = app
            .tool(&creator, momentum_tool("Momentum 5", default_standards()))
            .await;
        let tool = tool["id"].as_str().expect("tool id").to_owned();
        let data = app
            .generated_dataset(&creator, json!({"kind": "gbm", "bars": 3000, "seed": 4}))
            .await;
        let run = app
            .post(
                &format!("/v1/tools/{tool}/trainings"),
                &creator.key,
                &json!({
                    "method": "deep_learning",
                    "dataset_id": data["id"],
                    "config": {"epochs": 2000, "patience": 1000, "seed": 1}
                }),
            )
            .await
            .expect(202)["training"]
            .clone();
        let job = run["job_id"].as_str().expect("job id").to_owned();
        let training = run["id"].as_str().expect("run id").to_owned();

        // Act: the job's page, while it runs.
        web.sign_in(&creator.key).await;
        web.goto(&format!("/jobs/{job}")).await;
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        let mut seen = String::new();
        while std::time::Instant::now() < deadline {
            if web.has("#live-curves:not([hidden]) .live-curve").await {
                seen = web.text("#live-curves").await;
                if points_in(&seen, "validation loss") >= 3 {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        web.screenshot("training-live").await;
        let lines = web.source().await.matches("<polyline").count();
        let now = app
            .get(&format!("/v1/trainings/{training}"), &creator.key)
            .await
            .expect(200);
        app.post(
            &format!("/v1/trainings/{training}/cancel"),
            &creator.key,
            &json!({}),
        )
        .await
        .expect(200);

        // Assert: both losses drawn from the run's own reports, while it was still running.
        assert!(
            points_in(&seen, "train loss") >= 3 && points_in(&seen, "validation loss") >= 3,
            "live lines with points: {seen}"
        );
        assert_eq!(now["training"]["status"], json!("running"), "{now}");
        assert_eq!(lines, 2, "one line per figure");
        web.close().await;
    }
);

/// How many points the live line called `name` says it has ("name: 0.1234 (step 7, 5 points)").
fn points_in(text: &str, name: &str) -> usize {
    text.lines()
        .find(|l| l.trim_start().starts_with(&format!("{name}:")))
        .and_then(|l| l.rsplit_once(", ")?.1.split(' ').next()?.parse().ok())
        .unwrap_or(0)
}
