//! Cursor pagination: a cursor is the opaque (base64url) id of the last item of a page; the
//! next page holds the items after it in the listing's order (newest first, by UUID v7 id).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use crate::error::ApiError;

/// Default page size.
pub const DEFAULT_LIMIT: u32 = 20;
/// Largest page size.
pub const MAX_LIMIT: u32 = 100;

/// Encodes the id of the last item of a page.
pub fn encode_cursor(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(id.as_bytes())
}

/// Decodes a cursor.
///
/// # Errors
/// 400 when it is not one of ours.
pub fn decode_cursor(cursor: Option<&str>) -> Result<Option<Uuid>, ApiError> {
    cursor
        .map(|c| {
            URL_SAFE_NO_PAD
                .decode(c)
                .ok()
                .and_then(|b| Uuid::from_slice(&b).ok())
                .ok_or_else(|| ApiError::BadRequest("invalid cursor".into()))
        })
        .transpose()
}

/// Encodes the position of the last item of a page in a listing ordered by a score, then id
/// (both descending): 8 bytes of score and 16 of id, so it cannot pass for an id cursor.
pub fn encode_scored_cursor(score: i64, id: Uuid) -> String {
    let mut bytes = score.to_be_bytes().to_vec();
    bytes.extend_from_slice(id.as_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes a cursor of [`encode_scored_cursor`].
///
/// # Errors
/// 400 when it is not one of ours.
pub fn decode_scored_cursor(cursor: Option<&str>) -> Result<Option<(i64, Uuid)>, ApiError> {
    cursor
        .map(|c| {
            URL_SAFE_NO_PAD
                .decode(c)
                .ok()
                .filter(|b| b.len() == 24)
                .and_then(|b| {
                    let (score, id) = b.split_at(8);
                    let score = i64::from_be_bytes(score.try_into().ok()?);
                    Some((score, Uuid::from_slice(id).ok()?))
                })
                .ok_or_else(|| ApiError::BadRequest("invalid cursor".into()))
        })
        .transpose()
}

/// Validates a page size.
///
/// # Errors
/// 422 when outside `1..=100`.
pub fn page_limit(limit: Option<u32>) -> Result<u32, ApiError> {
    match limit.unwrap_or(DEFAULT_LIMIT) {
        l @ 1..=MAX_LIMIT => Ok(l),
        _ => Err(ApiError::invalid(
            "limit",
            format!("must be between 1 and {MAX_LIMIT}"),
        )),
    }
}

/// Splits a page fetched with `limit + 1` rows into the page and the next cursor.
pub fn paginate<T>(
    mut rows: Vec<T>,
    limit: u32,
    id: impl Fn(&T) -> Uuid,
) -> (Vec<T>, Option<String>) {
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next = if more {
        rows.last().map(|r| encode_cursor(id(r)))
    } else {
        None
    };
    (rows, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_a_400() {
        let id = Uuid::now_v7();
        assert_eq!(
            decode_cursor(Some(&encode_cursor(id))).ok().flatten(),
            Some(id)
        );
        assert!(decode_cursor(Some("not-a-cursor!")).is_err());
        assert!(decode_cursor(Some("AAAA")).is_err());
        assert_eq!(decode_cursor(None).ok().flatten(), None);
    }

    #[test]
    fn scored_cursors_round_trip_and_id_cursors_are_not_scored_ones() {
        let id = Uuid::now_v7();
        for score in [0, 3_000_000, -1, i64::MAX] {
            assert_eq!(
                decode_scored_cursor(Some(&encode_scored_cursor(score, id)))
                    .ok()
                    .flatten(),
                Some((score, id))
            );
        }
        assert!(decode_scored_cursor(Some(&encode_cursor(id))).is_err());
        assert!(decode_cursor(Some(&encode_scored_cursor(1, id))).is_err());
    }

    #[test]
    fn pages_carry_a_cursor_only_when_more_rows_exist() {
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
        let (page, next) = paginate(ids.clone(), 2, |u| *u);
        assert_eq!(page.len(), 2);
        assert_eq!(next, Some(encode_cursor(ids[1])));
        let (page, next) = paginate(ids, 3, |u| *u);
        assert_eq!((page.len(), next), (3, None));
    }
}
