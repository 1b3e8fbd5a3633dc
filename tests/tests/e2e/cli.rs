//! The `marketplace` CLI, the real binary against the real application: profiles kept in a
//! private file, table and JSON output, exit codes scripts can rely on, and progress that stays
//! one parseable line per change when stderr is not a terminal. The README's quick start runs
//! as written.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use tests::{Backend, TestApp, processes};

/// One run of the CLI: exit code, stdout, stderr.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    #[track_caller]
    fn ok(self) -> String {
        assert_eq!(self.code, 0, "failed: {self:?}");
        self.stdout
    }

    #[track_caller]
    fn json(self) -> Value {
        let out = self.ok();
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
    }
}

/// A shell user: a home of their own (so the config file is theirs) and the binary.
struct Shell {
    home: tempfile::TempDir,
    server: String,
}

impl Shell {
    fn new(app: &TestApp) -> Self {
        Self {
            home: tempfile::tempdir().expect("home"),
            server: app.address.clone(),
        }
    }

    fn config(&self) -> PathBuf {
        self.home.path().join(".config/marketplace/config.toml")
    }

    async fn run(&self, args: &[&str]) -> Run {
        self.run_with_input(args, "").await
    }

    /// Runs the CLI with `input` on its stdin.
    async fn run_with_input(&self, args: &[&str], input: &str) -> Run {
        use std::io::Write;
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        let home = self.home.path().to_owned();
        let input = input.to_owned();
        tokio::task::spawn_blocking(move || {
            let mut child = Command::new(processes::binary("marketplace"))
                .args(&args)
                .env("HOME", &home)
                .env("XDG_CONFIG_HOME", home.join(".config"))
                .env_remove("MARKETPLACE_PROFILE")
                .env_remove("MARKETPLACE_SERVER")
                .env_remove("MARKETPLACE_API_KEY")
                .env_remove("MARKETPLACE_CONFIG")
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("the CLI runs");
            if let Some(mut stdin) = child.stdin.take() {
                let _ = stdin.write_all(input.as_bytes());
            }
            let out = child.wait_with_output().expect("it ends");
            Run {
                code: out.status.code().unwrap_or(-1),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            }
        })
        .await
        .expect("joined")
    }

    /// Signs up `name` as profile `name`.
    async fn signup(&self, name: &str) {
        self.run(&["-p", name, "signup", name, "--server", &self.server])
            .await
            .ok();
    }
}

async fn app() -> TestApp {
    tests::spawn_app(Backend::Sqlite).await.expect("SQLite")
}

fn id(text: &str) -> String {
    let id = text.trim().to_owned();
    uuid::Uuid::parse_str(&id).unwrap_or_else(|_| panic!("not an id: {text:?}"));
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signup_keeps_the_key_in_a_private_profile_and_prints_tables_or_json() {
    let app = app().await;
    let sh = Shell::new(&app);
    let out = sh
        .run(&["-p", "ada", "signup", "Ada", "--server", &sh.server])
        .await
        .ok();
    assert!(
        out.contains("api key (shown once)") && out.contains("Ada"),
        "{out}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(sh.config())
            .expect("saved")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "only its owner reads the key");
    }
    let text = std::fs::read_to_string(sh.config()).expect("saved");
    assert!(
        text.contains("[profiles.ada]") && text.contains(&sh.server),
        "{text}"
    );

    // The first profile is the default: no -p needed.
    let me = sh.run(&["-o", "json", "account", "show"]).await.json();
    assert_eq!(me["name"], "Ada");
    let credit = sh.run(&["account", "credits", "100"]).await.ok();
    assert!(credit.contains("100"), "{credit}");

    let tool = id(&sh
        .run(&[
            "tools",
            "create",
            "SMA 10/30",
            "--family",
            "sma_crossover",
            "--price",
            "29.99",
            "--param",
            "fast=10",
            "--param",
            "slow=30",
            "-q",
        ])
        .await
        .ok());
    let table = sh.run(&["tools", "list"]).await.ok();
    assert!(
        table.contains("SMA 10/30") && table.contains("sma_crossover"),
        "{table}"
    );
    let list = sh.run(&["tools", "list", "-o", "json"]).await.json();
    assert_eq!(list[0]["id"], tool.as_str());
    assert_eq!(list[0]["parameters"]["slow"], 30);
    assert_eq!(list[0]["monthly_price"], 29.99);
    let ids = sh.run(&["tools", "list", "-q"]).await.ok();
    assert_eq!(ids.trim(), tool);

    // A second profile on the same server; the default stays.
    sh.signup("bob").await;
    let profiles = sh.run(&["profiles", "-o", "json"]).await.json();
    let names: Vec<_> = profiles
        .as_array()
        .expect("a list")
        .iter()
        .map(|p| (p["name"].as_str().unwrap_or(""), p["default"].as_bool()))
        .collect();
    assert_eq!(names, [("ada", Some(true)), ("bob", Some(false))]);
    let bob = sh
        .run(&["-p", "bob", "-o", "json", "account", "show"])
        .await
        .json();
    assert_eq!(bob["name"], "bob");
    let text = std::fs::read_to_string(sh.config()).expect("saved");
    assert!(
        text.contains("[profiles.bob]") && text.contains("default = \"ada\""),
        "{text}"
    );
    assert!(
        !profiles.to_string().contains("api_key"),
        "keys stay in the file"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_say_what_went_wrong() {
    let app = app().await;
    let sh = Shell::new(&app);
    let nobody = sh.run(&["account", "show"]).await;
    assert_eq!(nobody.code, 4, "not logged in: {nobody:?}");
    assert!(
        nobody.stderr.contains("marketplace login"),
        "{}",
        nobody.stderr
    );

    sh.signup("ada").await;
    let missing = sh
        .run(&["tools", "show", "0190a5b4-1c2d-7e3f-8a9b-0c1d2e3f4a5b"])
        .await;
    assert_eq!(missing.code, 5, "{missing:?}");
    let refused = sh
        .run(&[
            "tools",
            "create",
            "x",
            "--price=-1",
            "--family",
            "astrology",
        ])
        .await;
    assert_eq!(refused.code, 3, "{refused:?}");
    assert!(
        refused.stderr.contains("family") && refused.stderr.contains("monthly_price"),
        "every field error is shown: {}",
        refused.stderr
    );
    let bad_key = sh
        .run(&[
            "--server",
            &sh.server,
            "--api-key",
            "nope",
            "account",
            "show",
        ])
        .await;
    assert_eq!(bad_key.code, 4, "{bad_key:?}");
    let port = processes::free_port();
    let down = sh
        .run(&[
            "--server",
            &format!("http://127.0.0.1:{port}"),
            "account",
            "show",
        ])
        .await;
    assert_eq!(down.code, 6, "{down:?}");
    assert!(
        down.stderr.contains("cannot reach the server"),
        "{}",
        down.stderr
    );
    let usage = sh.run(&["tools", "frobnicate"]).await;
    assert_eq!(usage.code, 2, "{usage:?}");
    let not_admin = sh.run(&["admin", "queues"]).await;
    assert_eq!(
        not_admin.code, 4,
        "an account's key is not the operator's: {not_admin:?}"
    );
    let completions = sh.run(&["completions", "bash"]).await.ok();
    assert!(
        completions.contains("marketplace"),
        "a bash completion script"
    );
}

/// The README's quick start, as written, against a fresh embedded server: the block under
/// `## Quick start`, with the README's address pointed at this test's server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readmes_quick_start_runs_as_written() {
    let app = app().await;
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .expect("README");
    let block = quick_start(&readme);
    assert!(
        block.contains("marketplace "),
        "the quick start uses the CLI"
    );
    let block = block.replace("http://127.0.0.1:8080", &app.address);
    let bin_dir = processes::binary("marketplace")
        .parent()
        .expect("a directory")
        .to_owned();
    let home = tempfile::tempdir().expect("home");
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = tokio::task::spawn_blocking({
        let home = home.path().to_owned();
        move || {
            Command::new("bash")
                .args(["-e", "-x", "-c", &block])
                .current_dir(&home)
                .env("HOME", &home)
                .env("XDG_CONFIG_HOME", home.join(".config"))
                .env("PATH", path)
                .output()
                .expect("bash runs")
        }
    })
    .await
    .expect("joined");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the quick start stopped at: {}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        stderr.lines().rfind(|l| l.starts_with('+')).unwrap_or("")
    );
    assert!(
        !stdout.contains("/problems/"),
        "no step answered an error: {stdout}"
    );
}

/// The first `sh` block under `## Quick start`.
fn quick_start(readme: &str) -> String {
    let section = readme
        .split("\n## Quick start")
        .nth(1)
        .expect("a Quick start section");
    let block = section
        .split("```sh\n")
        .nth(1)
        .expect("an sh block")
        .split("\n```")
        .next()
        .expect("closed");
    block.to_owned()
}

mod insights;
mod progress;
