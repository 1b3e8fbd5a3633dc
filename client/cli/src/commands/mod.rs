//! Each command: parse, call the client, print.

mod ab_tests;
mod admin;
mod market;
mod reviews;
mod sessions;
mod work;

use std::io::{IsTerminal, Read};

use anyhow::{Context, Result, bail};
use clap::CommandFactory;
use client::{Client, Job, JobStatus};
use futures::{Stream, TryStreamExt};
use serde_json::{Map, Value};

pub(crate) use ab_tests::{AbTestCmd, horizon};
pub(crate) use admin::{AdminCmd, StatsCmd};
pub(crate) use market::{AccountCmd, SubscriptionCmd, ToolCmd};
pub(crate) use reviews::ReviewCmd;
pub(crate) use sessions::{OptimizationCmd, SessionCmd};
pub(crate) use work::{DatasetCmd, JobCmd, TrainingCmd};

use crate::config::{Config, Profile};
use crate::exit::NotLoggedIn;
use crate::output::{Column, Out};
use crate::progress;
use crate::{Cli, Command};

/// Runs a parsed command line.
pub(crate) async fn run(cli: Cli) -> Result<()> {
    let out = Out {
        format: cli.output,
        quiet: cli.quiet,
    };
    match &cli.command {
        Command::Signup { name } => signup(&cli, out, name).await,
        Command::Login => login(&cli, out).await,
        Command::Logout => logout(&cli, out),
        Command::Profiles => profiles(out),
        Command::Completions { shell } => {
            clap_complete::generate(
                *shell,
                &mut Cli::command(),
                "marketplace",
                &mut std::io::stdout(),
            );
            Ok(())
        }
        Command::Account(c) => market::account(&connect(&cli)?, out, c).await,
        Command::Tools(c) => market::tools(&connect(&cli)?, out, c).await,
        Command::Subscriptions(c) => market::subscriptions(&connect(&cli)?, out, c).await,
        Command::Datasets(c) => work::datasets(&connect(&cli)?, out, c).await,
        Command::Sessions(c) => sessions::sessions(&connect(&cli)?, out, c).await,
        Command::Optimizations(c) => sessions::optimizations(&connect(&cli)?, out, c).await,
        Command::Trainings(c) => work::trainings(&connect(&cli)?, out, c).await,
        Command::Jobs(c) => work::jobs(&connect(&cli)?, out, c).await,
        Command::Stats(c) => admin::stats(&connect(&cli)?, out, c).await,
        Command::Reviews(c) => reviews::reviews(&connect(&cli)?, out, c).await,
        Command::AbTests(c) => ab_tests::ab_tests(&connect(&cli)?, out, c).await,
        Command::Forecast {
            horizon,
            marketplace,
        } => ab_tests::forecast(&connect(&cli)?, out, *horizon, *marketplace).await,
        Command::Admin(c) => admin::admin(&connect(&cli)?, out, c).await,
    }
}

/// The client of the chosen profile, with `--server` and `--api-key` over it.
fn connect(cli: &Cli) -> Result<Client> {
    let config = Config::load()?;
    let profile = match (&cli.server, &cli.api_key) {
        (Some(server), Some(key)) => Profile {
            server: server.clone(),
            api_key: key.clone(),
        },
        _ => {
            let (_, mut p) = config
                .profile(cli.profile.as_deref())
                .map_err(|e| NotLoggedIn(e.to_string()))?;
            if let Some(s) = &cli.server {
                p.server.clone_from(s);
            }
            if let Some(k) = &cli.api_key {
                p.api_key.clone_from(k);
            }
            p
        }
    };
    Ok(Client::new(&profile.server, profile.api_key)?)
}

fn profile_name(cli: &Cli) -> String {
    cli.profile.clone().unwrap_or_else(|| "default".into())
}

fn server_of(cli: &Cli) -> Result<String> {
    cli.server
        .clone()
        .context("which server? pass --server http://HOST:PORT")
}

/// Saves `profile` under the command line's profile name (the default one when it is the
/// first).
fn save(cli: &Cli, out: Out, profile: Profile) -> Result<()> {
    let mut config = Config::load()?;
    let name = profile_name(cli);
    config.profiles.insert(name.clone(), profile);
    if config.default.is_none() || config.profiles.len() == 1 {
        config.default = Some(name.clone());
    }
    let path = config.save()?;
    out.note(format!("saved profile {name:?} in {}", path.display()));
    Ok(())
}

async fn signup(cli: &Cli, out: Out, name: &str) -> Result<()> {
    let server = server_of(cli)?;
    let client = Client::signup(&server, name).await?;
    let key = client.api_key().unwrap_or_default().to_owned();
    let account = client.me().await?;
    save(
        cli,
        out,
        Profile {
            server,
            api_key: key.clone(),
        },
    )?;
    out.one(
        &serde_json::json!({"id": account.id, "name": account.name, "api_key": key}),
        &[
            ("id", "/id"),
            ("name", "/name"),
            ("api key (shown once)", "/api_key"),
        ],
    );
    Ok(())
}

async fn login(cli: &Cli, out: Out) -> Result<()> {
    let server = server_of(cli)?;
    let key = match &cli.api_key {
        Some(k) => k.clone(),
        None => {
            let mut line = String::new();
            let stdin = std::io::stdin();
            let read = if stdin.is_terminal() {
                eprint!("API key: ");
                stdin.read_line(&mut line)
            } else {
                stdin.lock().read_to_string(&mut line)
            };
            read.context("reading the key from stdin")?;
            line.trim().to_owned()
        }
    };
    if key.is_empty() {
        bail!(NotLoggedIn(
            "no key: pass --api-key or pipe it on stdin".into()
        ));
    }
    let client = Client::new(&server, key.clone())?;
    let account = match client.me().await {
        Ok(a) => Some(a),
        // The operator's key is no account's; it is checked on an admin route instead.
        Err(e) if e.status() == Some(403) => {
            client.get_json("/v1/admin/queues").await?;
            None
        }
        Err(e) => return Err(e.into()),
    };
    save(
        cli,
        out,
        Profile {
            server,
            api_key: key,
        },
    )?;
    match account {
        Some(a) => out.one(
            &a,
            &[("id", "/id"), ("name", "/name"), ("balance", "$/balance")],
        ),
        None => out.note("logged in as the operator"),
    }
    Ok(())
}

fn logout(cli: &Cli, out: Out) -> Result<()> {
    let mut config = Config::load()?;
    let name = cli
        .profile
        .clone()
        .or(config.default.clone())
        .context("no profile to log out of")?;
    if config.profiles.remove(&name).is_none() {
        bail!(NotLoggedIn(format!("no profile {name:?}")));
    }
    if config.default.as_deref() == Some(name.as_str()) {
        config.default = config.profiles.keys().next().cloned();
    }
    config.save()?;
    out.note(format!("forgot profile {name:?}"));
    Ok(())
}

fn profiles(out: Out) -> Result<()> {
    let config = Config::load()?;
    let rows: Vec<Value> = config
        .profiles
        .iter()
        .map(|(name, p)| {
            serde_json::json!({
                "name": name,
                "server": p.server,
                "default": config.default.as_deref() == Some(name.as_str()),
            })
        })
        .collect();
    out.list(
        &rows,
        &[
            ("profile", "/name"),
            ("server", "/server"),
            ("default", "/default"),
        ],
    );
    Ok(())
}

/// Every item of a listing.
async fn all<T>(stream: impl Stream<Item = Result<T, client::Error>>) -> Result<Vec<T>> {
    Ok(stream.try_collect().await?)
}

/// `k=v` pairs as a JSON object, each value read as JSON when it is (`fast=10` is a number,
/// `name=x` a string).
fn pairs(items: &[String]) -> Result<Map<String, Value>> {
    items
        .iter()
        .map(|item| {
            let (k, v) = item
                .split_once('=')
                .with_context(|| format!("{item:?}: expected NAME=VALUE"))?;
            let value = serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.to_owned()));
            Ok((k.trim().to_owned(), value))
        })
        .collect()
}

/// A JSON object given on the command line.
fn object(text: Option<&str>, what: &str) -> Result<Option<Value>> {
    text.map(|t| {
        let v: Value =
            serde_json::from_str(t).with_context(|| format!("{what} is not JSON: {t}"))?;
        if v.is_object() {
            Ok(v)
        } else {
            bail!("{what} must be a JSON object")
        }
    })
    .transpose()
}

const JOB: &[Column] = &[
    ("job", "/id"),
    ("kind", "/kind"),
    ("status", "/status"),
    ("progress", "/progress"),
    ("message", "/message"),
    ("attempts", "/attempts"),
    ("created", "/created_at"),
    ("finished", "/finished_at"),
    ("error", "/error/detail"),
];

/// Follows jobs with live progress unless `no_wait`; the final states, or `None` when not
/// waited for. A job that did not succeed is an error (exit code 8), after it is shown.
async fn wait(
    client: &Client,
    out: Out,
    jobs: &[&Job],
    label: &str,
    no_wait: bool,
) -> Result<Option<Vec<Job>>> {
    if no_wait {
        return Ok(None);
    }
    let ids: Vec<_> = jobs.iter().map(|j| j.id).collect();
    let done = progress::follow(client, &ids, label).await?;
    if let Some(bad) = done.iter().find(|j| j.status != JobStatus::Succeeded) {
        if !out.quiet {
            out.one(bad, JOB);
        }
        bad.clone().into_result()?;
    }
    Ok(Some(done))
}
