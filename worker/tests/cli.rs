//! The `marketplace-worker` binary starts against a store and stops gracefully on SIGTERM.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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
    let mut out = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while !dir.path().join("w.db").exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .expect("kill runs");
    let status = child.wait().expect("exits");
    let log = reader.join().expect("reader");
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
