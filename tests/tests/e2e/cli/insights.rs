//! What came after the seed, from a shell: reviews, an A/B test followed live, forecasts.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reviews_ab_tests_and_forecasts_from_the_shell() {
    let app = app().await;
    let sh = Shell::new(&app);
    sh.signup("creator").await;
    sh.signup("renter").await;
    let creator = |args: &[&str]| {
        let mut all = vec!["-p", "creator"];
        all.extend_from_slice(args);
        all.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let run = |args: Vec<String>| {
        let sh = &sh;
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            sh.run(&args).await
        }
    };
    let tool = id(&run(creator(&[
        "tools",
        "create",
        "SMA",
        "--family",
        "sma_crossover",
        "--price",
        "10",
        "--param",
        "fast=10",
        "--param",
        "slow=30",
        "-q",
    ]))
    .await
    .ok());
    run(creator(&[
        "tools", "update", &tool, "--param", "fast=5", "--param", "slow=20",
    ]))
    .await
    .ok();
    let data = id(&run(creator(&[
        "datasets",
        "create",
        "gbm",
        "--generator",
        "gbm",
        "--bars",
        "500",
        "--seed",
        "42",
        "-q",
    ]))
    .await
    .ok());
    sh.run(&["-p", "renter", "account", "credits", "50"])
        .await
        .ok();
    sh.run(&["-p", "renter", "subscriptions", "create", &tool, "-q"])
        .await
        .ok();

    // A rating of 6 is refused by the server (exit 3) and changes nothing.
    let refused = sh
        .run(&[
            "-p", "renter", "reviews", "add", &tool, "--rating", "6", "--title", "Too good",
        ])
        .await;
    assert_eq!(refused.code, 3, "{refused:?}");
    assert!(refused.stderr.contains("rating"), "{refused:?}");
    let none = sh
        .run(&["-p", "renter", "-o", "json", "reviews", "list", &tool])
        .await
        .json();
    assert_eq!(none, serde_json::json!([]));

    let added = sh
        .run(&[
            "-p",
            "renter",
            "reviews",
            "add",
            &tool,
            "--rating",
            "4",
            "--title",
            "Solid",
            "--body",
            "Works on trends",
        ])
        .await
        .ok();
    assert!(
        added
            .lines()
            .any(|l| l.contains("rating") && l.contains(" 4 ")),
        "the table shows the rating: {added}"
    );
    let listed = sh.run(&["-p", "renter", "reviews", "list", &tool]).await;
    assert_eq!(listed.code, 0, "{listed:?}");
    assert!(listed.stdout.contains("Solid"), "{listed:?}");
    assert!(listed.stderr.contains("over 1 review"), "{listed:?}");

    // The creator reports it; the operator moderates from the shell: the queue, dismissed,
    // hidden with a reason, gone from the tool's list, shown again.
    let review = sh
        .run(&["-p", "renter", "-o", "json", "reviews", "list", &tool])
        .await
        .json()[0]["id"]
        .as_str()
        .expect("review id")
        .to_owned();
    let not_operator = sh.run(&["-p", "renter", "admin", "reviews"]).await;
    assert_eq!(not_operator.code, 4, "{not_operator:?}");
    sh.run(&[
        "-p",
        "operator",
        "login",
        "--server",
        &app.address,
        "--api-key",
        tests::ADMIN_KEY,
    ])
    .await
    .ok();
    let reported = run(creator(&[
        "reviews",
        "report",
        &review,
        "--reason",
        "off topic",
    ]))
    .await;
    assert_eq!(reported.code, 0, "{reported:?}");
    assert!(
        reported.stderr.contains("an operator will look"),
        "{reported:?}"
    );
    let own = sh
        .run(&[
            "-p", "renter", "reviews", "report", &review, "--reason", "x",
        ])
        .await;
    assert_eq!(
        own.code, 4,
        "one's own review is not reported (403): {own:?}"
    );
    let all = sh
        .run(&[
            "-p", "operator", "-o", "json", "admin", "reviews", "--tool", &tool,
        ])
        .await
        .json();
    assert_eq!(all[0]["id"], serde_json::json!(review), "{all}");
    let queue = sh
        .run(&[
            "-p",
            "operator",
            "-o",
            "json",
            "admin",
            "reviews",
            "--reported",
        ])
        .await
        .json();
    assert_eq!(
        queue[0]["reports"][0]["reason"],
        serde_json::json!("off topic"),
        "{queue}"
    );
    let dismissed = sh
        .run(&["-p", "operator", "admin", "dismiss-reports", &review])
        .await;
    assert_eq!(dismissed.code, 0, "{dismissed:?}");
    assert!(dismissed.stderr.contains("dismissed 1"), "{dismissed:?}");
    let hidden = sh
        .run(&[
            "-p",
            "operator",
            "admin",
            "hide-review",
            &review,
            "--reason",
            "off topic",
        ])
        .await
        .ok();
    assert!(hidden.contains("off topic"), "{hidden}");
    let public = sh
        .run(&["-p", "renter", "-o", "json", "reviews", "list", &tool])
        .await
        .json();
    assert_eq!(public, serde_json::json!([]), "hidden from the list");
    let only_hidden = sh
        .run(&[
            "-p",
            "operator",
            "-o",
            "json",
            "admin",
            "reviews",
            "--visibility",
            "hidden",
        ])
        .await
        .json();
    assert_eq!(
        only_hidden.as_array().map(Vec::len),
        Some(1),
        "{only_hidden}"
    );
    sh.run(&["-p", "operator", "admin", "unhide-review", &review])
        .await
        .ok();
    let back = sh
        .run(&["-p", "renter", "-o", "json", "reviews", "list", &tool])
        .await
        .json();
    assert_eq!(back.as_array().map(Vec::len), Some(1), "shown again");

    // The creator's A/B test, followed live: progress on stderr, the verdict on stdout.
    let test = run(creator(&[
        "ab-tests",
        "start",
        &tool,
        "--a",
        "1",
        "--b",
        "2",
        "--dataset",
        &data,
        "--follow",
    ]))
    .await;
    assert_eq!(test.code, 0, "{test:?}");
    assert!(
        ["b_better", "a_better", "no_significant_difference"]
            .iter()
            .any(|v| test.stdout.contains(v)),
        "a verdict: {test:?}"
    );
    assert!(
        test.stdout.contains("verdict") && test.stdout.contains("p-value"),
        "{test:?}"
    );
    let progress: Vec<&str> = test
        .stderr
        .lines()
        .filter(|l| l.starts_with("progress "))
        .collect();
    assert!(
        progress
            .last()
            .is_some_and(|l| l.contains("status=succeeded")),
        "progress lines: {}",
        test.stderr
    );
    let tests = run(creator(&["-o", "json", "ab-tests", "list", &tool]))
        .await
        .json();
    assert_eq!(tests.as_array().map(Vec::len), Some(1), "{tests}");

    // A new creator's forecast says why there are no numbers; a bad horizon is a usage error.
    let forecast = run(creator(&["forecast", "--horizon", "6"])).await.ok();
    assert!(forecast.contains("insufficient_history"), "{forecast}");
    let bad = run(creator(&["forecast", "--horizon", "5"])).await;
    assert_eq!(bad.code, 2, "{bad:?}");
}
