//! Live progress of long work: a bar per job on a terminal (trials or epochs done, the best
//! score so far, a loss line drawn as it falls), one parseable line per change elsewhere.
//! Ctrl-C offers to cancel the work; declined, the work goes on and the command stops
//! following it.

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::Result;
use client::{Client, Job, Progress, ProgressUnit};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use uuid::Uuid;

use crate::exit::Interrupted;

/// Follows `jobs` until each ends, drawing their progress on stderr; the last state of each,
/// in order. Ctrl-C ends it with [`Interrupted`] after offering to cancel.
pub(crate) async fn follow(client: &Client, jobs: &[Uuid], label: &str) -> Result<Vec<Job>> {
    let terminal = std::io::stderr().is_terminal();
    let bars = MultiProgress::new();
    let waits = jobs.iter().map(|&id| {
        let client = client.clone();
        let bar = terminal.then(|| bars.add(new_bar(label)));
        async move {
            let mut view = View::new(bar);
            let job = client.watch_job(id, |job| view.update(job)).await;
            view.finish();
            job
        }
    });
    let all = futures::future::try_join_all(waits);
    tokio::select! {
        done = all => Ok(done?),
        () = interrupted() => {
            let _ = bars.clear();
            Err(offer_cancel(client, jobs).await)
        }
    }
}

async fn interrupted() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Asks (on a terminal) whether to cancel; without a terminal to ask on, leaves the work
/// running. Either way the command then ends with the interrupted exit code.
async fn offer_cancel(client: &Client, jobs: &[Uuid]) -> anyhow::Error {
    let ids: Vec<String> = jobs.iter().map(Uuid::to_string).collect();
    let ask = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let cancel = if ask {
        eprint!("\ncancel the work ({})? [y/N] ", ids.join(", "));
        let answer = tokio::select! {
            line = tokio::task::spawn_blocking(|| {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line).map(|_| line)
            }) => line.ok().and_then(Result::ok).unwrap_or_default(),
            // A second Ctrl-C: stop at once, leaving it running.
            () = interrupted() => String::new(),
        };
        matches!(answer.trim(), "y" | "Y" | "yes")
    } else {
        false
    };
    if cancel {
        for &id in jobs {
            match client.cancel_job(id).await {
                Ok(_) => eprintln!("canceled job {id}"),
                Err(e) => eprintln!("job {id}: {e}"),
            }
        }
    } else {
        eprintln!(
            "\nthe work goes on; follow it with `marketplace jobs watch ID` or stop it with `marketplace jobs cancel ID` ({})",
            ids.join(", ")
        );
    }
    Interrupted.into()
}

fn new_bar(label: &str) -> ProgressBar {
    let bar = ProgressBar::new(1000);
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix:.bold} [{elapsed_precise}] {bar:30.cyan/blue} {percent:>3}% {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("█▉▊▋▌▍▎▏ "),
    );
    bar.set_prefix(label.to_owned());
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// One job's display: the bar, or the last line printed.
struct View {
    bar: Option<ProgressBar>,
    last_line: String,
    /// A training's loss (or reward) so far, for the live line.
    curve: Vec<f64>,
}

impl View {
    fn new(bar: Option<ProgressBar>) -> Self {
        Self {
            bar,
            last_line: String::new(),
            curve: Vec::new(),
        }
    }

    fn update(&mut self, job: &Job) {
        let parsed = job.message.as_deref().and_then(Progress::parse);
        if let Some(p) = &parsed {
            let value = match p.unit {
                ProgressUnit::Epoch => p.figure("validation loss").or(p.figure("train loss")),
                ProgressUnit::Episode => p.figure("reward"),
                ProgressUnit::Trial => None,
            };
            if let Some(v) = value {
                self.curve.push(v);
            }
        }
        match &self.bar {
            Some(bar) => {
                bar.set_position((job.progress.clamp(0.0, 1.0) * 1000.0) as u64);
                bar.set_message(self.describe(job, parsed.as_ref()));
            }
            None => {
                let line = line(job, parsed.as_ref());
                if line != self.last_line {
                    eprintln!("{line}");
                    self.last_line = line;
                }
            }
        }
    }

    /// The bar's text: units done, the latest figures, the curve so far; at the end the
    /// status (the last progress message may be older than the end).
    fn describe(&self, job: &Job, p: Option<&Progress>) -> String {
        if job.status.is_final() {
            return format!("{}  {}", job.status.as_str(), sparkline(&self.curve, 32));
        }
        let Some(p) = p else {
            return format!(
                "{} {}",
                job.status.as_str(),
                job.message.as_deref().unwrap_or("")
            );
        };
        let unit = match p.unit {
            ProgressUnit::Trial => "trials",
            ProgressUnit::Epoch => "epochs",
            ProgressUnit::Episode => "episodes",
        };
        let figures: Vec<String> = p
            .figures
            .iter()
            .map(|(name, v)| match p.unit {
                ProgressUnit::Trial => format!("{name} {v:+.2}%"),
                _ => format!("{name} {v:.4}"),
            })
            .collect();
        format!(
            "{}/{} {unit}  {}  {}",
            p.done,
            p.total,
            figures.join(", "),
            sparkline(&self.curve, 32)
        )
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}

/// `progress job=ID status=running pct=45 trials=12/100 best_in-sample_score=3.2`: one line,
/// `key=value` words, for logs and scripts.
fn line(job: &Job, p: Option<&Progress>) -> String {
    let mut words = vec![
        "progress".to_owned(),
        format!("job={}", job.id),
        format!("status={}", job.status.as_str()),
        format!("pct={:.0}", job.progress * 100.0),
    ];
    // The last progress message may be older than the end: the end line carries no figures.
    if let Some(p) = p.filter(|_| !job.status.is_final()) {
        let unit = match p.unit {
            ProgressUnit::Trial => "trials",
            ProgressUnit::Epoch => "epochs",
            ProgressUnit::Episode => "episodes",
        };
        words.push(format!("{unit}={}/{}", p.done, p.total));
        for (name, v) in &p.figures {
            words.push(format!("{}={v}", name.replace(' ', "_")));
        }
    }
    words.join(" ")
}

/// The last `width` values as a line of block characters, lowest to highest.
fn sparkline(values: &[f64], width: usize) -> String {
    const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let tail = &values[values.len().saturating_sub(width)..];
    let (lo, hi) = tail
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    tail.iter()
        .map(|&v| {
            let t = if hi > lo { (v - lo) / (hi - lo) } else { 0.5 };
            BLOCKS[((t * 7.0).round() as usize).min(7)]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_falling_loss_draws_a_falling_line() {
        assert_eq!(sparkline(&[4.0, 3.0, 2.0, 1.0], 32), "█▆▃▁");
        assert_eq!(sparkline(&[1.0, 1.0], 32), "▅▅");
        assert_eq!(sparkline(&[], 32), "");
        assert_eq!(sparkline(&[1.0, 2.0, 3.0], 2).chars().count(), 2);
    }
}
