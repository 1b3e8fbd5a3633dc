//! The rest of the work: datasets, trainings, jobs.

use anyhow::{Context, Result};
use clap::Subcommand;
use client::{Client, Job, JobStatus, TrainingConfig, TrainingMethod};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{JOB, all, object, wait};
use crate::output::{Column, Out};

#[derive(Debug, Subcommand)]
pub(crate) enum DatasetCmd {
    /// Your datasets, newest first.
    List,
    /// One dataset.
    Show {
        /// Dataset id.
        id: Uuid,
    },
    /// Uploads a CSV file of bars, or generates synthetic bars.
    Create {
        /// Name.
        name: String,
        /// A CSV file of bars: timestamp, open, high, low, close and optionally volume.
        #[arg(long, conflicts_with = "generator")]
        file: Option<std::path::PathBuf>,
        /// Generate instead: `regime_switching`, `random_walk`, `trend`...
        #[arg(long)]
        generator: Option<String>,
        /// Bars to generate.
        #[arg(long, default_value_t = 2000)]
        bars: u32,
        /// Seed of the generator.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Deletes a dataset.
    Delete {
        /// Dataset id.
        id: Uuid,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum TrainingCmd {
    /// Trains one of your tools on one of your datasets, followed live (an epoch or episode
    /// bar with the loss line; a hybrid shows its three parts).
    Start {
        /// Tool id.
        tool: Uuid,
        /// How.
        #[arg(long, value_enum, default_value_t = TrainingArg::Hybrid)]
        method: TrainingArg,
        /// Dataset id (the training data).
        #[arg(long)]
        dataset: Uuid,
        /// Epochs (deep learning), episodes (Q-learning), trials (optimization engine).
        #[arg(long)]
        epochs: Option<u32>,
        /// Seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Every other setting, a JSON object (`{"learning_rate": 0.001, "batch_size": 32}`).
        #[arg(long)]
        config: Option<String>,
        /// Return at once with the run instead of following it.
        #[arg(long)]
        no_wait: bool,
    },
    /// A tool's runs, newest first.
    List {
        /// Tool id.
        tool: Uuid,
    },
    /// One run: status, judgment, test metrics.
    Show {
        /// Training id.
        id: Uuid,
    },
    /// Makes a succeeded run the tool's new version.
    Apply {
        /// Training id.
        id: Uuid,
    },
    /// Stops a run.
    Cancel {
        /// Training id.
        id: Uuid,
    },
}

/// A training method on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum TrainingArg {
    /// An MLP (burn).
    DeepLearning,
    /// Tabular Q-learning (rayon).
    QLearning,
    /// An optimizer sweep.
    OptimizationEngine,
    /// All three; the best is kept.
    Hybrid,
}

impl From<TrainingArg> for TrainingMethod {
    fn from(m: TrainingArg) -> Self {
        match m {
            TrainingArg::DeepLearning => TrainingMethod::DeepLearning,
            TrainingArg::QLearning => TrainingMethod::QLearning,
            TrainingArg::OptimizationEngine => TrainingMethod::OptimizationEngine,
            TrainingArg::Hybrid => TrainingMethod::Hybrid,
        }
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum JobCmd {
    /// Your jobs, newest first.
    List {
        /// Only these: queued, running, succeeded, failed, canceled.
        #[arg(long)]
        status: Option<String>,
    },
    /// One job.
    Show {
        /// Job id.
        id: Uuid,
    },
    /// Follows a job live until it ends.
    Watch {
        /// Job id.
        id: Uuid,
    },
    /// Asks a job to stop.
    Cancel {
        /// Job id.
        id: Uuid,
    },
}

const DATASET: &[Column] = &[
    ("id", "/id"),
    ("name", "/name"),
    ("bars", "/rows"),
    ("from", "/start"),
    ("to", "/end"),
    ("frequency", "/frequency"),
    ("source", "/source"),
];
const TRAINING: &[Column] = &[
    ("training", "/id"),
    ("tool", "/tool_id"),
    ("method", "/method"),
    ("status", "/status"),
    ("message", "/message"),
    ("winner", "/judgment/winner"),
    ("judgment", "/judgment/reason"),
    ("test metrics", "/result/metrics/test"),
    ("applied as version", "/applied_version"),
    ("error", "/error/detail"),
];

pub(crate) async fn datasets(client: &Client, out: Out, cmd: &DatasetCmd) -> Result<()> {
    match cmd {
        DatasetCmd::List => out.list(&all(client.list_datasets()).await?, DATASET),
        DatasetCmd::Show { id } => {
            let v = client.get_json(&format!("/v1/datasets/{id}")).await?;
            out.one(&v["dataset"], DATASET);
        }
        DatasetCmd::Create {
            name,
            file,
            generator,
            bars,
            seed,
        } => {
            let d = match file {
                Some(path) => {
                    let csv = std::fs::read(path)
                        .with_context(|| format!("reading {}", path.display()))?;
                    client.upload_dataset(name, csv).await?
                }
                None => {
                    let kind = generator.as_deref().unwrap_or("regime_switching");
                    client.generate_dataset(name, kind, *bars, *seed).await?
                }
            };
            out.one(&d, DATASET);
        }
        DatasetCmd::Delete { id } => {
            client.delete_path(&format!("/v1/datasets/{id}")).await?;
            out.note(format!("deleted dataset {id}"));
        }
    }
    Ok(())
}

pub(crate) async fn trainings(client: &Client, out: Out, cmd: &TrainingCmd) -> Result<()> {
    match cmd {
        TrainingCmd::Start {
            tool,
            method,
            dataset,
            epochs,
            seed,
            config,
            no_wait,
        } => {
            let mut c = object(config.as_deref(), "--config")?.unwrap_or(json!({}));
            if let Some(e) = epochs {
                c["epochs"] = (*e).into();
            }
            if let Some(s) = seed {
                c["seed"] = (*s).into();
            }
            let config: TrainingConfig =
                serde_json::from_value(c).context("--config: not a training config")?;
            let started = client
                .train_tool(*tool, (*method).into(), &config, *dataset)
                .await?;
            let jobs: Vec<&Job> = started.jobs.iter().collect();
            if wait(client, out, &jobs, "training", *no_wait)
                .await?
                .is_none()
            {
                out.one(&started.training, TRAINING);
                return Ok(());
            }
            out.one(&client.get_training(started.training.id).await?, TRAINING);
        }
        TrainingCmd::List { tool } => {
            let v = client
                .get_json(&format!("/v1/tools/{tool}/trainings"))
                .await?;
            let items = v["trainings"].as_array().cloned().unwrap_or_default();
            out.list(&items, &TRAINING[..5]);
        }
        TrainingCmd::Show { id } => out.one(&client.get_training(*id).await?, TRAINING),
        TrainingCmd::Apply { id } => {
            let applied = client.apply_training_results(*id).await?;
            out.one(
                &applied.version,
                &[
                    ("version", "/version"),
                    ("source", "/source"),
                    ("parameters", "/parameters"),
                ],
            );
        }
        TrainingCmd::Cancel { id } => {
            let v = client
                .post_json(&format!("/v1/trainings/{id}/cancel"), None)
                .await?;
            out.one(&v["training"], TRAINING);
        }
    }
    Ok(())
}

pub(crate) async fn jobs(client: &Client, out: Out, cmd: &JobCmd) -> Result<()> {
    match cmd {
        JobCmd::List { status } => {
            let status = status
                .as_deref()
                .map(|s| serde_json::from_value::<JobStatus>(Value::String(s.to_owned())))
                .transpose()
                .context("--status: queued, running, succeeded, failed or canceled")?;
            out.list(&all(client.list_jobs(status)).await?, &JOB[..5]);
        }
        JobCmd::Show { id } => out.one(&client.get_job(*id).await?, JOB),
        JobCmd::Watch { id } => {
            let job = client.get_job(*id).await?;
            let done = wait(client, out, &[&job], "job", false).await?;
            if let Some(job) = done.as_ref().and_then(|d| d.first()) {
                out.one(job, JOB);
            }
        }
        JobCmd::Cancel { id } => out.one(&client.cancel_job(*id).await?, JOB),
    }
    Ok(())
}
