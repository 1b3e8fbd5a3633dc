//! The `marketplace-scheduler` binary starts against a store and stops gracefully on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn starts_and_stops_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_marketplace-scheduler"))
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.path().join("s.db").display()),
        )
        .env("RUST_LOG", "info")
        .env("MARKETPLACE_LOG_FORMAT", "json")
        .stdout(Stdio::piped())
        .spawn()
        .expect("starts");
    // Send SIGTERM only once the scheduler says it started (its signal handler is installed by
    // then); a fixed sleep raced with migrations on a loaded machine.
    let out = child.stdout.take().expect("stdout");
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut log = String::new();
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if line.contains("scheduler started") {
                let _ = started_tx.send(());
            }
            log.push_str(&line);
            log.push('\n');
        }
        log
    });
    let started = started_rx.recv_timeout(Duration::from_secs(60)).is_ok();
    Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .expect("kill runs");
    let status = child.wait().expect("exits");
    let log = reader.join().expect("reader");
    assert!(started, "started within 60 s: {log}");
    assert!(status.success(), "exit 0 on SIGTERM: {log}");
    assert!(log.contains("scheduler stopped"), "{log}");
}
