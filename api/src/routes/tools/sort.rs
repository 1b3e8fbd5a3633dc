//! The order of `GET /v1/tools`: newest first (by id), or best rated first by the Bayesian
//! average of the visible reviews (see `domain::review`), each with a cursor of its own.

use serde::Deserialize;
use shared::domain::Tool;
use shared::store::{ToolFilter, ToolOrder};
use utoipa::ToSchema;

use crate::error::ApiResult;
use crate::pagination::{decode_cursor, decode_scored_cursor, encode_scored_cursor, paginate};

/// The order of `GET /v1/tools`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ToolSort {
    /// Newest first.
    #[default]
    Newest,
    /// Best rated first (Bayesian average), then newest.
    Rating,
}

impl ToolSort {
    /// Sets the filter's order and its position after `cursor` (400 when it is not a cursor of
    /// this order).
    pub(crate) fn apply(self, cursor: Option<&str>, filter: &mut ToolFilter) -> ApiResult<()> {
        match self {
            ToolSort::Newest => {
                filter.order = ToolOrder::Newest;
                filter.before = decode_cursor(cursor)?;
            }
            ToolSort::Rating => {
                filter.order = ToolOrder::Rating;
                filter.rated_after = decode_scored_cursor(cursor)?;
            }
        }
        Ok(())
    }

    /// Splits tools fetched with `limit + 1` rows into the page and the next cursor.
    pub(crate) fn page(self, mut rows: Vec<Tool>, limit: u32) -> (Vec<Tool>, Option<String>) {
        match self {
            ToolSort::Newest => paginate(rows, limit, |t| t.id),
            ToolSort::Rating => {
                let more = rows.len() > limit as usize;
                rows.truncate(limit as usize);
                let next = rows
                    .last()
                    .filter(|_| more)
                    .map(|t| encode_scored_cursor(t.rating.score(), t.id));
                (rows, next)
            }
        }
    }
}
