//! The `marketplace-scheduler` binary starts against a store and stops gracefully on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

/// `GET /metrics` of a process's `--metrics-addr` (plain HTTP/1.0, no client library needed).
fn scrape(addr: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("metrics listener");
    stream
        .write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .expect("request");
    let mut body = String::new();
    stream.read_to_string(&mut body).expect("response");
    body
}

fn free_addr() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("bound").to_string()
}

#[test]
fn starts_and_stops_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let metrics = free_addr();
    let mut child = Command::new(env!("CARGO_BIN_EXE_marketplace-scheduler"))
        .args(["--metrics-addr", &metrics])
        // A pass every second, so one has run when the metrics are read.
        .env("MARKETPLACE_SCHEDULER_CRON", "* * * * * *")
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
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut scraped = String::new();
    while started && std::time::Instant::now() < deadline {
        scraped = scrape(&metrics);
        if scraped.contains("billing_passes_total{outcome=\"completed\"}") {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
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
    assert!(
        scraped.contains("billing_passes_total{outcome=\"completed\"}")
            && scraped.contains("billing_pass_duration_seconds_bucket")
            && scraped.contains("billing_subscriptions_total{outcome=\"renewed\"} 0"),
        "{scraped}"
    );

    let version = Command::new(env!("CARGO_BIN_EXE_marketplace-scheduler"))
        .arg("--version")
        .output()
        .expect("runs");
    assert!(version.status.success());
    assert!(
        String::from_utf8_lossy(&version.stdout).starts_with(&format!(
            "marketplace-scheduler {}",
            env!("CARGO_PKG_VERSION")
        )),
        "{version:?}"
    );
    let bad = Command::new(env!("CARGO_BIN_EXE_marketplace-scheduler"))
        .args(["--metrics-addr", "not-an-address"])
        .output()
        .expect("runs");
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");
}
