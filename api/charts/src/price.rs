//! The price chart: close prices over time, one line, no legend.

use crate::TimePoint;
use crate::frame;
use crate::lines::{self, Curve, XScale};

/// Close prices over time.
///
/// `points` are (unix seconds UTC, close price); non-finite prices leave a gap. The time axis
/// reads `YYYY-MM-DD`.
pub fn price(title: &str, points: &[TimePoint]) -> String {
    let curves = [Curve {
        label: None,
        points: lines::timed(points),
    }];
    frame::document((frame::WIDTH, frame::HEIGHT), title, |area| {
        lines::draw(area, XScale::Time, ("date (UTC)", "close price"), &curves)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn price_draws_one_line_through_every_finite_close() {
        // Arrange: three daily closes from 2024-01-01
        let points = [
            (1_704_067_200, 100.0),
            (1_704_153_600, 101.5),
            (1_704_240_000, 99.0),
        ];

        // Act
        let svg = price("BTC", &points);

        // Assert
        let line = svg
            .lines()
            .find(|l| l.starts_with("<polyline") && l.contains("stroke=\"#0072B2\""))
            .expect("the price line, in the first palette colour");
        let vertices = line
            .split("points=\"")
            .nth(1)
            .and_then(|p| p.split('"').next())
            .map_or(0, |p| p.split_whitespace().count());
        assert_eq!(vertices, 3, "one vertex per close");
        assert!(svg.contains("2024-01-02"), "dates on the time axis");
        assert!(!svg.contains("no data"), "data present");
    }
}
