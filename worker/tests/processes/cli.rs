//! The `marketplace-worker` binary starts against a store and stops gracefully on SIGTERM.

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
    let mut child = Command::new(env!("CARGO_BIN_EXE_marketplace-worker"))
        .args(["--concurrency", "3", "--queues", "evaluate,noop"])
        .args(["--metrics-addr", &metrics])
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
    let scraped = if ready {
        scrape(&metrics)
    } else {
        String::new()
    };
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
    assert!(
        scraped.starts_with("HTTP/1.") && scraped.contains(" 200 "),
        "{scraped}"
    );
    for queue in ["evaluate", "noop"] {
        assert!(
            scraped.contains(&format!("worker_slots{{queue=\"{queue}\"}} 3")),
            "{scraped}"
        );
    }

    let version = Command::new(env!("CARGO_BIN_EXE_marketplace-worker"))
        .arg("--version")
        .output()
        .expect("runs");
    assert!(version.status.success());
    assert!(
        String::from_utf8_lossy(&version.stdout)
            .starts_with(&format!("marketplace-worker {}", env!("CARGO_PKG_VERSION"))),
        "{version:?}"
    );

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
            && stderr.contains("evaluate, optimize, promote, verify, train, noop, ab_test"),
        "{stderr}"
    );
}
