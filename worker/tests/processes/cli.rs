//! The `marketplace-worker` binary starts against a store and stops gracefully on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn starts_and_stops_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_marketplace-worker"))
        .args(["--concurrency", "3", "--queues", "evaluate,noop"])
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.path().join("w.db").display()),
        )
        .env("RUST_LOG", "info")
        .env("MARKETPLACE_LOG_FORMAT", "json")
        .stdout(Stdio::piped())
        .spawn()
        .expect("starts");
    // Send SIGTERM only once the worker says it is ready (its signal handler is installed by
    // then); a fixed sleep raced with migrations on a loaded machine.
    let out = child.stdout.take().expect("stdout");
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut log = String::new();
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if line.contains("worker ready") {
                let _ = ready_tx.send(());
            }
            log.push_str(&line);
            log.push('\n');
        }
        log
    });
    let ready = ready_rx.recv_timeout(Duration::from_secs(60)).is_ok();
    Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .expect("kill runs");
    let status = child.wait().expect("exits");
    let log = reader.join().expect("reader");
    assert!(ready, "ready within 60 s: {log}");
    assert!(status.success(), "exit 0 on SIGTERM: {log}");
    assert!(
        log.contains("worker ready") && log.contains("\"concurrency\":3"),
        "flags applied: {log}"
    );
    assert!(log.contains("worker stopped"), "{log}");

    let bad = Command::new(env!("CARGO_BIN_EXE_marketplace-worker"))
        .args(["--concurrency", "0"])
        .output()
        .expect("runs");
    assert_eq!(bad.status.code(), Some(2));
    let unknown = Command::new(env!("CARGO_BIN_EXE_marketplace-worker"))
        .args(["--queues", "evaluate,bogus"])
        .output()
        .expect("runs");
    assert_eq!(unknown.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        stderr.contains("bogus")
            && stderr.contains("evaluate, optimize, promote, verify, train, noop"),
        "{stderr}"
    );
}
