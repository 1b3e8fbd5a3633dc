//! Datasets: a user's private OHLCV bars (uploaded or generated), described by a summary that
//! listings show without reading the bars themselves.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::dataset::stats::ReturnStats;
use crate::dataset::synth::GeneratorSpec;

/// A stored dataset's summary. The bars live apart (see `Store::dataset_bars`).
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// Id (UUID v7; ids order datasets by creation).
    pub id: Uuid,
    /// The account that owns it; nobody else sees it.
    pub owner_id: Uuid,
    /// Display name.
    pub name: String,
    /// Number of bars.
    pub rows: u64,
    /// Time of the first bar.
    pub start: DateTime<Utc>,
    /// Time of the last bar.
    pub end: DateTime<Utc>,
    /// Bar spacing label (`"1h"`, `"1d"`, `"irregular"`, ...).
    pub frequency: String,
    /// Bars per year implied by the timestamps.
    pub periods_per_year: f64,
    /// Hex SHA-256 of the canonical encoding: equal bars, equal hash.
    pub content_hash: String,
    /// Where the bars came from.
    pub source: DatasetSource,
    /// Close-to-close return statistics.
    pub stats: ReturnStats,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// Where a dataset's bars came from.
#[derive(Clone, Debug, PartialEq)]
pub enum DatasetSource {
    /// A CSV upload.
    Upload,
    /// A synthetic generator, with its resolved spec (sending it again gives the same bars).
    Generator(GeneratorSpec),
}

impl DatasetSource {
    /// `upload` or `generator`, as stored and shown.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Upload => "upload",
            Self::Generator(_) => "generator",
        }
    }

    /// The generator spec, for generated datasets.
    pub fn generator(&self) -> Option<&GeneratorSpec> {
        match self {
            Self::Upload => None,
            Self::Generator(spec) => Some(spec),
        }
    }
}
