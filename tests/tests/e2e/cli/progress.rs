//! Long work from the CLI: progress as lines without a terminal, as a bar on one, and Ctrl-C.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_work_reports_progress_one_parseable_line_at_a_time() {
    let app = app().await;
    let sh = Shell::new(&app);
    sh.signup("creator").await;
    sh.signup("renter").await;
    let tool = id(&sh
        .run(&[
            "-p",
            "creator",
            "tools",
            "create",
            "Momentum 5",
            "--price",
            "20",
            "--param",
            "lookback_period=5",
            "--param",
            "threshold=0",
            "-q",
        ])
        .await
        .ok());
    sh.run(&["-p", "renter", "account", "credits", "50"])
        .await
        .ok();
    sh.run(&["-p", "renter", "subscriptions", "create", &tool, "-q"])
        .await
        .ok();
    let data = id(&sh
        .run(&[
            "-p",
            "renter",
            "datasets",
            "create",
            "trend",
            "--generator",
            "regime_switching",
            "--bars",
            "2000",
            "--seed",
            "2",
            "-q",
        ])
        .await
        .ok());
    let session = id(&sh
        .run(&[
            "-p",
            "renter",
            "sessions",
            "create",
            "--dataset",
            &data,
            "--seed",
            "7",
            "-q",
        ])
        .await
        .ok());
    let run = sh
        .run(&[
            "-p",
            "renter",
            "-o",
            "json",
            "sessions",
            "insert",
            &session,
            &tool,
            "--optimize",
            "--epochs",
            "30",
        ])
        .await;
    let record: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("the record as JSON ({e}): {run:?}"));
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(record["trials_run"], 30);
    let lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("progress "))
        .collect();
    assert!(!lines.is_empty(), "progress lines: {}", run.stderr);
    for line in &lines {
        let words: Vec<&str> = line.split(' ').skip(1).collect();
        assert!(
            words.iter().all(|w| w.split_once('=').is_some()),
            "key=value words: {line}"
        );
    }
    let last = lines.last().expect("one");
    assert!(
        last.contains("status=succeeded") && last.contains("pct=100"),
        "{last}"
    );
    // jobs watch on an ended job prints its end at once; the record reads as a table.
    let job = record["job_id"].as_str().expect("job id").to_owned();
    let watched = sh.run(&["-p", "renter", "jobs", "watch", &job]).await;
    assert_eq!(watched.code, 0, "{watched:?}");
    assert!(watched.stdout.contains("succeeded"), "{watched:?}");
    let shown = sh
        .run(&[
            "-p",
            "renter",
            "optimizations",
            "show",
            record["record_id"].as_str().unwrap_or(""),
        ])
        .await
        .ok();
    assert!(
        shown.contains("improvement") && shown.contains("overall_improvement"),
        "{shown}"
    );

    // A training: its epochs counted and its losses, line by line, while it runs.
    let run = sh
        .run(&[
            "-p",
            "creator",
            "-o",
            "json",
            "trainings",
            "start",
            &tool,
            "--method",
            "deep-learning",
            "--dataset",
            &own_data(&sh).await,
            "--epochs",
            "150",
            "--config",
            r#"{"patience": 150}"#,
        ])
        .await;
    assert_eq!(run.code, 0, "{run:?}");
    let training: Value = serde_json::from_str(&run.stdout).expect("the run as JSON");
    assert_eq!(training["status"], "succeeded", "{training}");
    let epochs: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("progress ") && l.contains(" epochs="))
        .collect();
    assert!(
        !epochs.is_empty(),
        "epochs counted while it ran: {}",
        run.stderr
    );
    assert!(
        epochs
            .iter()
            .all(|l| l.contains("/150") && l.contains(" train_loss=")),
        "{epochs:?}"
    );

    // On a terminal (script(1) gives it one): a bar counting epochs with the loss beside it.
    let data = own_data(&sh).await;
    let command = format!(
        "{} -p creator trainings start {tool} --method deep-learning --dataset {data} \
         --epochs 150 --config '{{\"patience\": 150}}' -q",
        processes::binary("marketplace").display()
    );
    let home = sh.home.path().to_owned();
    let tty = tokio::task::spawn_blocking(move || {
        Command::new("script")
            .args(["-q", "-e", "-c", &command, "/dev/null"])
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env_remove("MARKETPLACE_CONFIG")
            .output()
            .expect("script(1) runs")
    })
    .await
    .expect("joined");
    let screen = String::from_utf8_lossy(&tty.stdout);
    assert!(tty.status.success(), "{screen}");
    assert!(
        screen.contains("/150 epochs") && screen.contains("train loss"),
        "the bar counts epochs and shows the loss: {screen}"
    );
    assert!(
        !screen.contains("progress job="),
        "no log lines on a terminal"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_without_a_terminal_stops_following_and_leaves_the_work_running() {
    let app = app().await;
    let sh = Shell::new(&app);
    sh.signup("creator").await;
    let tool = id(&sh
        .run(&[
            "-p", "creator", "tools", "create", "Net", "--family", "neural", "--price", "5", "-q",
        ])
        .await
        .ok());
    let data = own_data(&sh).await;
    let run = id(&sh
        .run(&[
            "-p",
            "creator",
            "trainings",
            "start",
            &tool,
            "--method",
            "deep-learning",
            "--dataset",
            &data,
            "--epochs",
            "2000",
            "--config",
            r#"{"patience": 1000}"#,
            "--no-wait",
            "-q",
        ])
        .await
        .ok());
    let training = sh
        .run(&["-p", "creator", "-o", "json", "trainings", "show", &run])
        .await
        .json();
    let job = training["job_id"].as_str().expect("its job").to_owned();

    let home = sh.home.path().to_owned();
    let watcher = std::process::Command::new(processes::binary("marketplace"))
        .args(["-p", "creator", "jobs", "watch", &job])
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env_remove("MARKETPLACE_CONFIG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the CLI runs");
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let interrupted = Command::new("kill")
        .args(["-INT", &watcher.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(interrupted.success());
    let out = tokio::task::spawn_blocking(move || watcher.wait_with_output())
        .await
        .expect("joined")
        .expect("it ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("progress job="),
        "it was following: {stderr}"
    );
    assert!(stderr.contains("the work goes on"), "{stderr}");
    let after = sh
        .run(&["-p", "creator", "-o", "json", "jobs", "show", &job])
        .await
        .json();
    assert!(
        matches!(after["status"].as_str(), Some("running" | "queued")),
        "no one was asked, so nothing was canceled: {after}"
    );
    assert_eq!(after["cancel_requested"], false);
    let canceled = sh
        .run(&["-p", "creator", "-o", "json", "jobs", "cancel", &job])
        .await
        .json();
    assert_eq!(canceled["cancel_requested"], true);
}

/// A dataset of the creator's (profile `creator`).
async fn own_data(sh: &Shell) -> String {
    id(&sh
        .run(&[
            "-p",
            "creator",
            "datasets",
            "create",
            "mine",
            "--generator",
            "regime_switching",
            "--bars",
            "2000",
            "--seed",
            "5",
            "-q",
        ])
        .await
        .ok())
}
