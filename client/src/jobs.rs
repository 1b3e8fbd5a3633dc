//! Jobs (read, cancel, follow to the end over Server-Sent Events), the progress their messages
//! carry, and listings as streams of pages.

use std::collections::VecDeque;
use std::time::Duration;

use eventsource_stream::Eventsource;
use futures::{Stream, StreamExt};
use reqwest::Method as Http;
use serde::de::DeserializeOwned;
use serde_json::Value;
use uuid::Uuid;

use crate::error::Error;
use crate::transport::{Client, Safety, check};
use crate::types::{Job, Wrapped};
use domain::jobs::JobStatus;

/// What a progress figure counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgressUnit {
    /// Optimizer trials.
    Trial,
    /// Deep-learning epochs.
    Epoch,
    /// Q-learning episodes.
    Episode,
}

/// The figures a job's message carries: how far it is (`done` of `total` units) and the
/// numbers it reports (`best score`, `train loss`, `validation loss`, `reward`...), as written
/// by the worker ("optimizing: 12 of 100 trials, best in-sample score +3.20%", "epoch 3 of 60:
/// train loss 0.6925, validation loss 0.7012").
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    /// What is counted.
    pub unit: ProgressUnit,
    /// Done.
    pub done: u64,
    /// In all.
    pub total: u64,
    /// Named figures, in the message's order (a percentage as its number: `+3.20%` is 3.2).
    pub figures: Vec<(String, f64)>,
}

impl Progress {
    /// Reads a job's message; `None` for a message without figures ("loading the dataset").
    pub fn parse(message: &str) -> Option<Progress> {
        let message = message.trim();
        let rest = message.strip_prefix("optimizing: ").unwrap_or(message);
        let (head, tail) = rest.split_once([':', ',']).unwrap_or((rest, ""));
        let words: Vec<&str> = head.split_whitespace().collect();
        let (unit, done, total) = match words.as_slice() {
            ["epoch", d, "of", t] => (ProgressUnit::Epoch, d, t),
            ["episode", d, "of", t] => (ProgressUnit::Episode, d, t),
            ["trial", d, "of", t] | [d, "of", t, "trials"] => (ProgressUnit::Trial, d, t),
            _ => return None,
        };
        let figures = tail
            .split(',')
            .filter_map(|part| {
                let (name, value) = part.trim().rsplit_once(' ')?;
                let value = value.trim_end_matches('%').parse::<f64>().ok()?;
                Some((name.trim().to_owned(), value))
            })
            .collect();
        Some(Progress {
            unit,
            done: done.parse().ok()?,
            total: total.parse().ok()?,
            figures,
        })
    }

    /// The figure called `name`.
    pub fn figure(&self, name: &str) -> Option<f64> {
        self.figures
            .iter()
            .find(|(n, _)| n == name || n.ends_with(name))
            .map(|(_, v)| *v)
    }
}

impl Client {
    /// A job of the caller's.
    ///
    /// # Errors
    /// 404 when it is not the caller's.
    pub async fn get_job(&self, job_id: Uuid) -> Result<Job, Error> {
        let w: Wrapped<Job> = self.get(&format!("/v1/jobs/{job_id}"), &[]).await?;
        Ok(w.inner)
    }

    /// Asks a queued or running job to stop (it stops between trials or epochs).
    ///
    /// # Errors
    /// 409 when it already ended.
    pub async fn cancel_job(&self, job_id: Uuid) -> Result<Job, Error> {
        let w: Wrapped<Job> = self
            .call(
                Http::POST,
                &format!("/v1/jobs/{job_id}/cancel"),
                None,
                Safety::Once,
            )
            .await?;
        Ok(w.inner)
    }

    /// The caller's jobs, newest first (`status`: `queued`, `running`, `failed`...).
    pub fn list_jobs(
        &self,
        status: Option<JobStatus>,
    ) -> impl Stream<Item = Result<Job, Error>> + Send + 'static {
        self.pages("/v1/jobs", "jobs", serde_json::json!({ "status": status }))
    }

    /// Follows a job until it ends: `on_update` sees every state the server streams (status,
    /// progress, message); the answer is the final job, whatever its status. A stream that
    /// closes before the end (the server's stream lifetime, a restart) is opened again.
    ///
    /// # Errors
    /// Any call's errors.
    pub async fn watch_job(
        &self,
        job_id: Uuid,
        mut on_update: impl FnMut(&Job),
    ) -> Result<Job, Error> {
        let mut broken = 0u32;
        loop {
            match self.follow(job_id, &mut on_update).await {
                Ok(Some(job)) => return Ok(job),
                Ok(None) => broken = 0,
                Err(Error::Transport(_)) if broken < 5 => {
                    broken += 1;
                    pause(broken).await;
                }
                Err(e) => return Err(e),
            }
            // The stream ended without the end: read the job (it may have ended in between).
            let job = self.get_job(job_id).await?;
            if job.status.is_final() {
                on_update(&job);
                return Ok(job);
            }
        }
    }

    /// [`Client::watch_job`], and the job only when it succeeded.
    ///
    /// # Errors
    /// [`Error::Job`] when the job failed or was canceled; any call's errors.
    pub async fn wait_for_job(
        &self,
        job_id: Uuid,
        on_update: impl FnMut(&Job),
    ) -> Result<Job, Error> {
        self.watch_job(job_id, on_update).await?.into_result()
    }

    /// One event stream of a job: `Some(job)` at its `end` event, `None` when the stream
    /// closed first.
    async fn follow(
        &self,
        job_id: Uuid,
        on_update: &mut impl FnMut(&Job),
    ) -> Result<Option<Job>, Error> {
        let res = self
            .send_with_retries(Safety::Read, || {
                self.request(Http::GET, &format!("/v1/jobs/{job_id}/events"))
                    .header(reqwest::header::ACCEPT, "text/event-stream")
            })
            .await?;
        let res = check(res).await?;
        let chunks = futures::stream::unfold(res, |mut res| async move {
            match res.chunk().await {
                Ok(Some(bytes)) => Some((Ok(bytes), res)),
                Ok(None) => None,
                Err(e) => Some((Err(e), res)),
            }
        });
        let mut events = Box::pin(chunks.eventsource());
        while let Some(event) = events.next().await {
            let event = event.map_err(|e| match e {
                eventsource_stream::EventStreamError::Transport(e) => Error::Transport(e),
                other => Error::Unexpected {
                    status: 200,
                    message: other.to_string(),
                },
            })?;
            if event.event != "status" && event.event != "end" {
                continue;
            }
            let w: Wrapped<Job> =
                serde_json::from_str(&event.data).map_err(|e| Error::Unexpected {
                    status: 200,
                    message: e.to_string(),
                })?;
            on_update(&w.inner);
            if event.event == "end" {
                return Ok(Some(w.inner));
            }
        }
        Ok(None)
    }

    /// Every item of a cursor-paginated listing at `path` (the page's items under `field`),
    /// fetching the next page when the stream reaches it.
    pub(crate) fn pages<T: DeserializeOwned + Send + 'static>(
        &self,
        path: &str,
        field: &'static str,
        query: Value,
    ) -> impl Stream<Item = Result<T, Error>> + Send + 'static + use<T> {
        struct State<T> {
            client: Client,
            path: String,
            query: Vec<(String, String)>,
            buffered: VecDeque<T>,
            cursor: Option<String>,
            done: bool,
        }
        let query = match query {
            Value::Object(m) => m
                .into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (k, v)
                })
                .collect(),
            _ => Vec::new(),
        };
        let state = State {
            client: self.clone(),
            path: path.to_owned(),
            query,
            buffered: VecDeque::new(),
            cursor: None,
            done: false,
        };
        futures::stream::unfold(state, move |mut st| async move {
            loop {
                if let Some(item) = st.buffered.pop_front() {
                    return Some((Ok(item), st));
                }
                if st.done {
                    return None;
                }
                let mut query: Vec<(&str, String)> = st
                    .query
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.clone()))
                    .collect();
                query.push(("limit", st.client.page_size().to_string()));
                if let Some(c) = &st.cursor {
                    query.push(("cursor", c.clone()));
                }
                let page: Value = match st.client.get(&st.path, &query).await {
                    Ok(p) => p,
                    Err(e) => {
                        st.done = true;
                        return Some((Err(e), st));
                    }
                };
                st.cursor = page
                    .get("next_cursor")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                st.done = st.cursor.is_none();
                let items = page.get(field).cloned().unwrap_or(Value::Array(Vec::new()));
                match serde_json::from_value::<Vec<T>>(items) {
                    Ok(items) => st.buffered.extend(items),
                    Err(e) => {
                        st.done = true;
                        let e = Error::Unexpected {
                            status: 200,
                            message: format!("{field}: {e}"),
                        };
                        return Some((Err(e), st));
                    }
                }
            }
        })
    }
}

/// A pause before opening a broken stream again: 0.5 s, 1 s, 2 s...
async fn pause(n: u32) {
    tokio::time::sleep(Duration::from_millis(250 << n.min(5))).await;
}

impl Job {
    /// The job when it succeeded; [`Error::Job`] (with its error's detail, or its last
    /// message) when it failed or was canceled.
    ///
    /// # Errors
    /// As said.
    pub fn into_result(self) -> Result<Job, Error> {
        if self.status == JobStatus::Succeeded {
            return Ok(self);
        }
        Err(Error::Job {
            id: self.id,
            status: self.status.as_str().to_owned(),
            detail: self
                .error
                .map(|p| p.detail)
                .or(self.message)
                .unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workers_messages_read_as_figures() {
        let p = Progress::parse("optimizing: 12 of 100 trials, best in-sample score +3.20%")
            .expect("an optimization's");
        assert_eq!((p.unit, p.done, p.total), (ProgressUnit::Trial, 12, 100));
        assert_eq!(p.figure("score"), Some(3.2));
        let p = Progress::parse("epoch 3 of 60: train loss 0.6925, validation loss 0.7012")
            .expect("a network's");
        assert_eq!((p.unit, p.done, p.total), (ProgressUnit::Epoch, 3, 60));
        assert_eq!(p.figure("train loss"), Some(0.6925));
        assert_eq!(p.figure("validation loss"), Some(0.7012));
        let p = Progress::parse("episode 12 of 200: reward +0.0123, exploration 0.250")
            .expect("a learner's");
        assert_eq!(p.unit, ProgressUnit::Episode);
        assert_eq!(p.figure("reward"), Some(0.0123));
        let p = Progress::parse("trial 5 of 50: best score -1.25%").expect("a sweep's");
        assert_eq!((p.done, p.figure("best score")), (5, Some(-1.25)));
        assert_eq!(
            Progress::parse("loading the session, the tool and the dataset"),
            None
        );
        assert_eq!(
            Progress::parse("optimizing: 0 of 100 trials").map(|p| p.done),
            Some(0)
        );
    }
}
