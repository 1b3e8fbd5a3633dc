//! Sessions and their optimizations: open one on your data, insert and optimize tools
//! (followed live), read a record's gate, promote it.

use anyhow::{Context, Result};
use clap::Subcommand;
use client::{Client, Job, Method, OptimizationConfig};
use serde_json::json;
use uuid::Uuid;

use super::{JOB, all, object, wait};
use crate::output::{Column, Out};

#[derive(Debug, Subcommand)]
pub(crate) enum SessionCmd {
    /// Your sessions, newest first.
    List,
    /// A session with its tools and optimization records.
    Show {
        /// Session id.
        id: Uuid,
    },
    /// Opens a session on one of your datasets.
    Create {
        /// Dataset id.
        #[arg(long)]
        dataset: Uuid,
        /// Seed of every random choice in it.
        #[arg(long)]
        seed: Option<u64>,
        /// More settings, a JSON object (`{"folds": 4, "time_limit_secs": 600}`).
        #[arg(long)]
        config: Option<String>,
    },
    /// Inserts a tool; with --optimize its parameters are optimized for this session, followed
    /// live (the record is printed at the end).
    Insert {
        /// Session id.
        session: Uuid,
        /// Tool id.
        tool: Uuid,
        /// Optimize it now.
        #[arg(long)]
        optimize: bool,
        #[command(flatten)]
        study: Study,
    },
    /// Optimizes an inserted tool again (followed live).
    Optimize {
        /// Session id.
        session: Uuid,
        /// Tool id.
        tool: Uuid,
        #[command(flatten)]
        study: Study,
    },
    /// Ends a session; --promote lists its passed records for their creators.
    End {
        /// Session id.
        id: Uuid,
        /// Offer the passed records for promotion.
        #[arg(long)]
        promote: bool,
    },
}

/// How to optimize.
#[derive(Debug, clap::Args)]
pub(crate) struct Study {
    /// Optimizer.
    #[arg(long, value_enum)]
    method: Option<MethodArg>,
    /// Trials.
    #[arg(long, conflicts_with = "epochs")]
    trials: Option<u64>,
    /// The seed's name for trials.
    #[arg(long)]
    epochs: Option<u64>,
    /// Seed (default: the session's).
    #[arg(long)]
    seed: Option<u64>,
    /// Return at once with the job instead of following it.
    #[arg(long)]
    no_wait: bool,
}

impl Study {
    fn config(&self) -> OptimizationConfig {
        OptimizationConfig {
            method: self.method.map(Method::from),
            trials: self.trials,
            epochs: self.epochs,
            seed: self.seed,
        }
    }
}

/// An optimizer on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum MethodArg {
    /// Every point of a grid.
    Grid,
    /// Uniform random.
    Random,
    /// Bayesian (TPE).
    Bayesian,
    /// CMA-ES.
    Cmaes,
    /// Local search around the current parameters.
    Local,
}

impl From<MethodArg> for Method {
    fn from(m: MethodArg) -> Self {
        match m {
            MethodArg::Grid => Method::Grid,
            MethodArg::Random => Method::Random,
            MethodArg::Bayesian => Method::Bayesian,
            MethodArg::Cmaes => Method::Cmaes,
            MethodArg::Local => Method::Local,
        }
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum OptimizationCmd {
    /// A record: parameters before and after, improvement, the standards gate's checks.
    Show {
        /// Record id.
        id: Uuid,
    },
    /// Promotes a record into a new version of your tool (after a re-check).
    Promote {
        /// Record id.
        id: Uuid,
    },
}

const SESSION: &[Column] = &[
    ("id", "/id"),
    ("dataset", "/dataset_id"),
    ("status", "/status"),
    ("config", "/config"),
    ("created", "/created_at"),
];

const RECORD: &[Column] = &[
    ("record", "/record_id"),
    ("tool", "/tool_id"),
    ("status", "/status"),
    ("improvement", "/improvement"),
    ("gate passed", "/standards_report/passed"),
    ("promotable", "/promotable"),
    ("method", "/method"),
    ("trials", "/trials_run"),
    ("parameters before", "/params_before"),
    ("parameters after", "/params_after"),
    ("promoted to version", "/promoted_version"),
];

/// Follows an optimization job, then prints the record it made.
async fn optimized(
    client: &Client,
    out: Out,
    session: Uuid,
    job: &Job,
    no_wait: bool,
) -> Result<()> {
    if wait(client, out, &[job], "optimizing", no_wait)
        .await?
        .is_none()
    {
        out.one(job, JOB);
        return Ok(());
    }
    let s = client.get_session(session).await?;
    let record = s
        .optimizations
        .iter()
        .find(|r| r.job_id == job.id)
        .context("the optimization left no record")?;
    out.one(record, RECORD);
    Ok(())
}

pub(crate) async fn sessions(client: &Client, out: Out, cmd: &SessionCmd) -> Result<()> {
    match cmd {
        SessionCmd::List => out.list(&all(client.list_sessions()).await?, SESSION),
        SessionCmd::Show { id } => {
            let s = client.get_session(*id).await?;
            if out.format == crate::output::Format::Json || out.quiet {
                out.one(&s, SESSION);
            } else {
                out.one(&s, SESSION);
                out.list(&s.optimizations, &RECORD[..5]);
            }
        }
        SessionCmd::Create {
            dataset,
            seed,
            config,
        } => {
            let mut c = object(config.as_deref(), "--config")?.unwrap_or(json!({}));
            if let Some(seed) = seed {
                c["seed"] = (*seed).into();
            }
            out.one(&client.create_session(*dataset, Some(c)).await?, SESSION);
        }
        SessionCmd::Insert {
            session,
            tool,
            optimize,
            study,
        } => {
            let inserted = client
                .insert_tool_into_session(
                    *session,
                    *tool,
                    *optimize,
                    optimize.then(|| study.config()),
                )
                .await?;
            match &inserted.job {
                Some(job) => optimized(client, out, *session, job, study.no_wait).await?,
                None => out.one(
                    &inserted.session_tool,
                    &[("tool", "/tool_id"), ("parameters", "/parameters")],
                ),
            }
        }
        SessionCmd::Optimize {
            session,
            tool,
            study,
        } => {
            let config = study.config();
            let method = config.method.unwrap_or(Method::Bayesian);
            let job = client
                .apply_optimization(*session, *tool, method, Some(config))
                .await?;
            optimized(client, out, *session, &job, study.no_wait).await?;
        }
        SessionCmd::End { id, promote } => {
            let ended = client.end_session(*id, *promote).await?;
            out.note(format!(
                "ended; {} record(s) offered for promotion",
                ended.candidates.len()
            ));
            out.one(&ended.session, SESSION);
        }
    }
    Ok(())
}

pub(crate) async fn optimizations(client: &Client, out: Out, cmd: &OptimizationCmd) -> Result<()> {
    match cmd {
        OptimizationCmd::Show { id } => {
            let r = client.get_optimization(*id).await?;
            out.one(&r, RECORD);
            if !out.quiet && out.format == crate::output::Format::Table {
                let checks = serde_json::to_value(&r.standards_report)?;
                let checks = checks["checks"].as_array().cloned().unwrap_or_default();
                out.list(
                    &checks,
                    &[
                        ("check", "/name"),
                        ("value", "/value"),
                        ("threshold", "/threshold"),
                        ("passed", "/passed"),
                    ],
                );
            }
        }
        OptimizationCmd::Promote { id } => match client.promote_optimization(*id).await? {
            client::Promotion::Promoted { version, .. } => out.one(
                &version,
                &[
                    ("version", "/version"),
                    ("source", "/source"),
                    ("parameters", "/parameters"),
                ],
            ),
            client::Promotion::Checking(job) => {
                wait(client, out, &[&job], "re-checking", false).await?;
                out.one(&client.get_optimization(*id).await?, RECORD);
            }
        },
    }
    Ok(())
}
