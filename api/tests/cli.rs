//! The `marketplace-api` binary as an operator runs it: a bad setting stops it with one clear
//! line, and with nothing but a database path it serves, creates the SQLite file, and stops
//! gracefully on SIGTERM.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_marketplace-api");

fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

#[test]
fn a_bad_setting_stops_the_process_with_one_clear_line() {
    let out = Command::new(BIN)
        .env("MARKETPLACE_BIND", "nowhere")
        .env_remove("DATABASE_URL")
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "exit status 2 for a configuration error"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.contains("MARKETPLACE_BIND") && !stderr.contains("panicked"),
        "{stderr}"
    );

    let out = Command::new(BIN)
        .env("DATABASE_URL", "mysql://u:hunter2@h/db")
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("DATABASE_URL") && !stderr.contains("hunter2"),
        "named, password redacted: {stderr}"
    );
}

#[test]
fn serves_on_sqlite_and_stops_gracefully_on_sigterm() {
    // Arrange
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("nested/dir/marketplace.db");
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let mut child = Command::new(BIN)
        .env("MARKETPLACE_BIND", format!("127.0.0.1:{port}"))
        .env("DATABASE_URL", format!("sqlite://{}", db.display()))
        .env("MARKETPLACE_ADMIN_KEY", "cli-test-admin-key-0123456789")
        .env_remove("REDIS_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");

    // Act
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut health = None;
    while Instant::now() < deadline {
        if let Some(r) = http_get(port, "/healthz").filter(|r| r.starts_with("HTTP/1.1 200")) {
            health = Some(r);
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let ready = http_get(port, "/readyz");
    Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .expect("kill runs");
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break Some(s);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stdout = String::new();
    if let Some(mut out) = child.stdout.take() {
        let _ = out.read_to_string(&mut stdout);
    }

    // Assert
    assert!(health.is_some(), "healthz answered 200; output: {stdout}");
    assert!(
        ready.is_some_and(|r| r.starts_with("HTTP/1.1 200")),
        "readyz: the store is reachable"
    );
    assert!(
        db.exists(),
        "the SQLite file and its directories were created"
    );
    assert!(
        status.is_some_and(|s| s.success()),
        "exits 0 after SIGTERM: {status:?}\n{stdout}"
    );
    assert!(
        stdout.contains("[redacted]") && !stdout.contains("cli-test-admin-key"),
        "config logged, secrets redacted"
    );
    assert!(
        stdout.contains("marketplace API stopped"),
        "graceful shutdown logged"
    );
}
