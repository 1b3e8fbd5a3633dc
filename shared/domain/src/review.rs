//! Reviews of tools and the ratings they add up to: the review itself, the bounds its text must
//! keep, and the rating of a tool (count, mean, and the Bayesian average `GET /v1/tools?sort=
//! rating` ranks by).
//!
//! # The Bayesian average
//!
//! A plain mean ranks one 5-star review above fifty 4.8s. The Bayesian average counts
//! [`PRIOR_WEIGHT`] imaginary reviews at [`PRIOR_MEAN`] stars in with the real ones:
//!
//! ```text
//! bayesian = (PRIOR_WEIGHT * PRIOR_MEAN + sum of ratings) / (PRIOR_WEIGHT + count)
//!          = (5 * 3 + sum) / (5 + count)
//! ```
//!
//! so a tool's score starts at 3.0 (the middle of the scale) and moves toward its own mean as
//! reviews come in: one 5-star review scores (15 + 5) / 6 = 3.33, fifty reviews averaging 4.8
//! score (15 + 240) / 55 = 4.64. The prior is fixed rather than the marketplace's mean so that a
//! tool's score changes only when its own reviews do: the store keeps it beside the tool, written
//! in the same transaction as the review, and the listing walks an index on it.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// The lowest rating.
pub const MIN_RATING: i16 = 1;
/// The highest rating.
pub const MAX_RATING: i16 = 5;
/// Stars every tool is assumed to have before its reviews (the middle of the scale).
pub const PRIOR_MEAN: i64 = 3;
/// How many reviews the prior weighs as.
pub const PRIOR_WEIGHT: i64 = 5;
/// [`Rating::score`] is in millionths of a star.
pub const SCORE_SCALE: i64 = 1_000_000;
/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 120;
/// Longest body, in characters.
pub const MAX_BODY_CHARS: usize = 5_000;
/// Longest reply of the creator, in characters.
pub const MAX_REPLY_CHARS: usize = 2_000;
/// Longest reason an operator gives for hiding a review, or an account for reporting one, in
/// characters.
pub const MAX_REASON_CHARS: usize = 500;

/// A review of a tool by an account that holds or held it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Review {
    /// Id (UUID v7; ids order reviews by creation).
    pub id: Uuid,
    /// The tool reviewed.
    pub tool_id: Uuid,
    /// The author, the only one who may change or delete it.
    pub author_id: Uuid,
    /// Stars, [`MIN_RATING`]..=[`MAX_RATING`].
    pub rating: i16,
    /// Title, as given.
    pub title: String,
    /// Body, as given (may be empty).
    pub body: String,
    /// The tool creator's one reply.
    pub reply: Option<String>,
    /// When the creator replied.
    pub replied_at: Option<DateTime<Utc>>,
    /// Set while an operator hides it: kept, but out of the public list and of the rating.
    pub hidden_at: Option<DateTime<Utc>>,
    /// Why the operator hid it.
    pub hidden_reason: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed by its author.
    pub updated_at: DateTime<Utc>,
}

impl Review {
    /// Whether an operator hid it.
    pub fn is_hidden(&self) -> bool {
        self.hidden_at.is_some()
    }
}

/// An account's report of a review to the operators (spam, abuse, off topic). It stays open
/// until an operator hides the review or dismisses its reports; one open report per account and
/// review.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReviewReport {
    /// The review reported.
    pub review_id: Uuid,
    /// Who reported it.
    pub reporter_id: Uuid,
    /// Why, as given.
    pub reason: String,
    /// When it was (last) reported.
    pub created_at: DateTime<Utc>,
}

/// The visible reviews of a tool, added up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rating {
    /// Visible reviews.
    pub count: i64,
    /// Sum of their stars.
    pub sum: i64,
}

impl Rating {
    /// The plain mean, `None` without reviews.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum as f64 / self.count as f64)
    }

    /// The Bayesian average (see the module's documentation).
    pub fn bayesian(&self) -> f64 {
        (PRIOR_WEIGHT * PRIOR_MEAN + self.sum) as f64 / (PRIOR_WEIGHT + self.count) as f64
    }

    /// The Bayesian average in millionths of a star, rounded down: an integer the store can
    /// index and a cursor can carry exactly.
    pub fn score(&self) -> i64 {
        (PRIOR_WEIGHT * PRIOR_MEAN + self.sum) * SCORE_SCALE / (PRIOR_WEIGHT + self.count)
    }
}

/// Why a rating or a text is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReviewError {
    /// The rating is off the scale.
    #[error("must be a whole number of stars from 1 to 5")]
    Rating,
    /// A required text is empty or only blanks.
    #[error("must not be empty")]
    Empty,
    /// A text is too long.
    #[error("must be at most {0} characters")]
    TooLong(usize),
    /// A text holds a control character (line breaks and tabs are allowed where noted).
    #[error("must not contain control characters")]
    Control,
}

/// Checks a rating.
///
/// # Errors
/// [`ReviewError::Rating`] outside 1..=5.
pub fn check_rating(stars: i64) -> Result<i16, ReviewError> {
    i16::try_from(stars)
        .ok()
        .filter(|s| (MIN_RATING..=MAX_RATING).contains(s))
        .ok_or(ReviewError::Rating)
}

/// Checks a title: not blank, at most [`MAX_TITLE_CHARS`], on one line.
///
/// # Errors
/// Which bound it breaks.
pub fn check_title(title: &str) -> Result<(), ReviewError> {
    check_text(title, true, MAX_TITLE_CHARS, false)
}

/// Checks a body: at most [`MAX_BODY_CHARS`], may be empty and span lines.
///
/// # Errors
/// Which bound it breaks.
pub fn check_body(body: &str) -> Result<(), ReviewError> {
    check_text(body, false, MAX_BODY_CHARS, true)
}

/// Checks a creator's reply: not blank, at most [`MAX_REPLY_CHARS`], may span lines.
///
/// # Errors
/// Which bound it breaks.
pub fn check_reply(reply: &str) -> Result<(), ReviewError> {
    check_text(reply, true, MAX_REPLY_CHARS, true)
}

/// Checks an operator's reason for hiding: at most [`MAX_REASON_CHARS`], on one line.
///
/// # Errors
/// Which bound it breaks.
pub fn check_reason(reason: &str) -> Result<(), ReviewError> {
    check_text(reason, false, MAX_REASON_CHARS, false)
}

/// Checks the reason an account gives for reporting a review: not blank, at most
/// [`MAX_REASON_CHARS`], on one line.
///
/// # Errors
/// Which bound it breaks.
pub fn check_report(reason: &str) -> Result<(), ReviewError> {
    check_text(reason, true, MAX_REASON_CHARS, false)
}

/// Text is stored as given (not trimmed, not escaped: escaping is the renderer's job), so the
/// checks bound what may be given.
fn check_text(text: &str, required: bool, max: usize, lines: bool) -> Result<(), ReviewError> {
    if required && text.trim().is_empty() {
        return Err(ReviewError::Empty);
    }
    if text.chars().count() > max {
        return Err(ReviewError::TooLong(max));
    }
    let allowed = |c: char| lines && matches!(c, '\n' | '\r' | '\t');
    if text.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err(ReviewError::Control);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rating(stars: &[i64]) -> Rating {
        Rating {
            count: stars.len() as i64,
            sum: stars.iter().sum(),
        }
    }

    #[test]
    fn one_five_star_review_does_not_outrank_fifty_near_perfect_ones() {
        let lucky = rating(&[5]);
        let mut fifty = vec![5; 40];
        fifty.extend([4; 10]); // mean 4.8
        let proven = rating(&fifty);
        assert_eq!(proven.mean(), Some(4.8));
        assert!(
            lucky.mean() > proven.mean(),
            "the plain mean prefers the lucky one"
        );
        assert!(
            proven.score() > lucky.score(),
            "the Bayesian average prefers fifty 4.8s"
        );
        assert!((lucky.bayesian() - 20.0 / 6.0).abs() < 1e-12);
        assert!((proven.bayesian() - 255.0 / 55.0).abs() < 1e-12);
    }

    #[test]
    fn no_reviews_score_the_prior_and_many_approach_the_mean() {
        let none = Rating::default();
        assert_eq!(none.mean(), None);
        assert_eq!(none.bayesian(), 3.0);
        assert_eq!(none.score(), 3 * SCORE_SCALE);
        let many = rating(&vec![1; 10_000]);
        assert!(
            many.bayesian() < 1.01,
            "the prior fades: {}",
            many.bayesian()
        );
        let bad = rating(&[1]);
        assert!(
            bad.score() < none.score(),
            "one bad review ranks below none"
        );
    }

    #[test]
    fn the_score_is_the_bayesian_average_in_millionths_rounded_down() {
        let r = rating(&[5, 4]); // (15 + 9) / 7 = 3.428571...
        assert_eq!(r.score(), 3_428_571);
        assert_eq!(
            r.score(),
            (r.bayesian() * SCORE_SCALE as f64).floor() as i64
        );
    }

    #[test]
    fn ratings_are_whole_stars_from_one_to_five() {
        assert_eq!(check_rating(1), Ok(1));
        assert_eq!(check_rating(5), Ok(5));
        for bad in [0, 6, -1, i64::from(i16::MAX) + 1, i64::MIN] {
            assert_eq!(check_rating(bad), Err(ReviewError::Rating), "{bad}");
        }
    }

    #[test]
    fn text_is_bounded_but_kept_as_given() {
        assert_eq!(check_title("  "), Err(ReviewError::Empty));
        assert_eq!(
            check_title(&"é".repeat(120)),
            Ok(()),
            "characters, not bytes"
        );
        assert_eq!(
            check_title(&"a".repeat(121)),
            Err(ReviewError::TooLong(120))
        );
        assert_eq!(check_title("two\nlines"), Err(ReviewError::Control));
        assert_eq!(check_title("<script>alert(1)</script>"), Ok(()));
        assert_eq!(check_body(""), Ok(()), "a body may be empty");
        assert_eq!(check_body("line one\r\n\tline two"), Ok(()));
        assert_eq!(check_body("bell\u{7}"), Err(ReviewError::Control));
        assert_eq!(
            check_body(&"a".repeat(5_001)),
            Err(ReviewError::TooLong(5_000))
        );
        assert_eq!(check_reply(""), Err(ReviewError::Empty));
        assert_eq!(
            check_reply(&"a".repeat(2_001)),
            Err(ReviewError::TooLong(2_000))
        );
        assert_eq!(check_reason(""), Ok(()));
        assert_eq!(
            check_reason(&"a".repeat(501)),
            Err(ReviewError::TooLong(500))
        );
        assert_eq!(
            check_report(" "),
            Err(ReviewError::Empty),
            "a report says why"
        );
        assert_eq!(check_report("spam\nspam"), Err(ReviewError::Control));
        assert_eq!(check_report(&"a".repeat(500)), Ok(()));
        assert_eq!(
            check_report(&"a".repeat(501)),
            Err(ReviewError::TooLong(500))
        );
    }
}
