//! What a call can fail with: the server's problem details, or not reaching it.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A field the server refused, with why (`parameters.fast`: "must be between 2 and 200").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// JSON path of the field.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// The server's `application/problem+json` answer (RFC 9457).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    /// Stable identifier of the kind of problem (`/problems/validation`).
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary of the kind.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// What happened this time.
    pub detail: String,
    /// The request's id (quote it to an operator).
    #[serde(default)]
    pub instance: Option<String>,
    /// The invalid fields (422).
    #[serde(default)]
    pub errors: Vec<FieldError>,
    /// Members particular to the kind (a refused promotion's `standards_report`, an
    /// entitlement's `limit`).
    #[serde(flatten)]
    pub extensions: Map<String, Value>,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.title, self.status, self.detail)?;
        for e in &self.errors {
            write!(f, "; {}: {}", e.field, e.message)?;
        }
        Ok(())
    }
}

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server answered with a problem (4xx: the request was refused and changed nothing;
    /// 5xx: it failed).
    #[error("{0}")]
    Api(Box<Problem>),
    /// The server could not be reached, or the connection broke (after the retries).
    #[error("cannot reach the server: {0}")]
    Transport(#[source] reqwest::Error),
    /// The server answered something that is not what this client expects (another version,
    /// or not the marketplace).
    #[error("unexpected answer from the server ({status}): {message}")]
    Unexpected {
        /// HTTP status of the answer.
        status: u16,
        /// What was wrong with it.
        message: String,
    },
    /// The client was set up wrong (a base URL that is not one).
    #[error("{0}")]
    Config(String),
    /// A job this client waited for failed or was canceled.
    #[error("job {id} {status}: {detail}")]
    Job {
        /// The job.
        id: uuid::Uuid,
        /// `failed` or `canceled`.
        status: String,
        /// Its error's detail, or its last message.
        detail: String,
    },
}

impl Error {
    /// The HTTP status of a problem answer (`None` when the server was not reached).
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(p) => Some(p.status),
            Error::Unexpected { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The problem details, when the server answered with some.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Error::Api(p) => Some(p),
            _ => None,
        }
    }
}
