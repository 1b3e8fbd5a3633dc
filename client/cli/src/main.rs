//! `marketplace`: the Smart Marketplace from a shell.

mod commands;
mod config;
mod exit;
mod output;
mod progress;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::commands::{
    AbTestCmd, AccountCmd, AdminCmd, DatasetCmd, JobCmd, OptimizationCmd, ReviewCmd, SessionCmd,
    StatsCmd, SubscriptionCmd, ToolCmd, TrainingCmd,
};
use crate::output::Format;

/// The Smart Marketplace from a shell: rent and list tools, optimize them on your data, train
/// them, and follow the work live.
#[derive(Debug, Parser)]
#[command(name = "marketplace", version, after_help = exit::HELP)]
pub(crate) struct Cli {
    /// The profile (server and key) to use; default: the config file's default.
    #[arg(long, short = 'p', global = true, env = "MARKETPLACE_PROFILE")]
    pub(crate) profile: Option<String>,
    /// The server, overriding the profile's (`http://127.0.0.1:8080`).
    #[arg(long, global = true, env = "MARKETPLACE_SERVER")]
    pub(crate) server: Option<String>,
    /// The API key, overriding the profile's.
    #[arg(
        long,
        global = true,
        env = "MARKETPLACE_API_KEY",
        hide_env_values = true
    )]
    pub(crate) api_key: Option<String>,
    /// How to print results.
    #[arg(long, short = 'o', global = true, value_enum, default_value_t = Format::Table, env = "MARKETPLACE_OUTPUT")]
    pub(crate) output: Format,
    /// Print only the id of what the command made or listed (for `$(...)`).
    #[arg(long, short = 'q', global = true)]
    pub(crate) quiet: bool,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Creates an account on a server and saves its key as a profile (the key is shown once).
    Signup {
        /// The account's name.
        name: String,
    },
    /// Saves a server and an existing key as a profile (the key from --api-key, or read from
    /// stdin), after checking it there.
    Login,
    /// Forgets a profile's key.
    Logout,
    /// The saved profiles (never their keys).
    Profiles,
    /// Your account: balance, sandbox credit, ledger.
    #[command(subcommand)]
    Account(AccountCmd),
    /// Tools for rent.
    #[command(subcommand)]
    Tools(ToolCmd),
    /// Your subscriptions.
    #[command(subcommand)]
    Subscriptions(SubscriptionCmd),
    /// Your datasets (bars to optimize and train on).
    #[command(subcommand)]
    Datasets(DatasetCmd),
    /// Sessions: tools optimized on your data.
    #[command(subcommand)]
    Sessions(SessionCmd),
    /// Optimization records: read and promote.
    #[command(subcommand)]
    Optimizations(OptimizationCmd),
    /// Training runs of your tools.
    #[command(subcommand)]
    Trainings(TrainingCmd),
    /// Jobs: the work queued for workers.
    #[command(subcommand)]
    Jobs(JobCmd),
    /// Marketplace, creator and tool analytics.
    #[command(subcommand)]
    Stats(StatsCmd),
    /// Reviews of tools: add, list, edit, delete, and creators' replies.
    #[command(subcommand)]
    Reviews(ReviewCmd),
    /// A/B tests of your tools' versions (followed live), and versions across renters.
    #[command(subcommand)]
    AbTests(AbTestCmd),
    /// Your revenue and demand forecast (--marketplace: the whole marketplace's, operators).
    Forecast {
        /// Months ahead: 3, 6 or 12.
        #[arg(long, default_value = "3", value_parser = commands::horizon)]
        horizon: u32,
        /// The whole marketplace's (the admin key).
        #[arg(long)]
        marketplace: bool,
    },
    /// Operators (the admin key): every account's jobs, retries, queues, workers.
    #[command(subcommand)]
    Admin(AdminCmd),
    /// Prints a shell completion script (`marketplace completions bash > /etc/bash_completion.d/marketplace`).
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            });
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(exit::FAILURE);
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::from(exit::OK),
        Err(e) => {
            if e.downcast_ref::<exit::Interrupted>().is_none() {
                eprintln!("error: {e:#}");
            }
            ExitCode::from(exit::code(&e))
        }
    }
}
