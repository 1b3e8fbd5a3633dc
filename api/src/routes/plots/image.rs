//! How a chart or an export is answered: an SVG as drawn, the same chart as PNG (rasterized on
//! the blocking pool), or a CSV file; and the path segments that name a chart's file
//! (`price.svg` or `price.png`), one small enum per chart so the document lists both.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult};

/// A chart's image format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    /// The SVG document as drawn.
    Svg,
    /// The SVG rasterized at twice its size.
    Png,
}

/// A path segment naming one chart as SVG or PNG.
macro_rules! chart_file {
    ($name:ident, $svg:literal, $png:literal) => {
        #[doc = concat!("`", $svg, "` (SVG) or `", $png, "` (PNG, twice the SVG's size).")]
        #[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
        pub enum $name {
            /// SVG.
            #[serde(rename = $svg)]
            Svg,
            /// PNG.
            #[serde(rename = $png)]
            Png,
        }

        impl From<$name> for Format {
            fn from(file: $name) -> Format {
                match file {
                    $name::Svg => Format::Svg,
                    $name::Png => Format::Png,
                }
            }
        }
    };
}

chart_file!(PriceChart, "price.svg", "price.png");
chart_file!(CurvesChart, "curves.svg", "curves.png");
chart_file!(EarningsChart, "earnings.svg", "earnings.png");
chart_file!(SubscribersChart, "subscribers.svg", "subscribers.png");
chart_file!(DepthChart, "depth.svg", "depth.png");
chart_file!(RevenueForecastChart, "revenue.svg", "revenue.png");
chart_file!(DemandForecastChart, "demand.svg", "demand.png");

/// How much larger than the SVG a PNG is drawn (sharp on a high-density screen or in print).
const PNG_SCALE: f32 = 2.0;

/// A chart in `format`.
pub(crate) async fn image(format: impl Into<Format>, body: String) -> ApiResult<Response> {
    match format.into() {
        Format::Svg => Ok(svg(body)),
        Format::Png => {
            let bytes = tokio::task::spawn_blocking(move || charts::png(&body, PNG_SCALE))
                .await
                .map_err(|e| ApiError::Unexpected(anyhow::Error::new(e)))?
                .map_err(|e| ApiError::Unexpected(anyhow::anyhow!("rasterizing a chart: {e}")))?;
            Ok((
                [
                    (header::CONTENT_TYPE, HeaderValue::from_static("image/png")),
                    (
                        header::CACHE_CONTROL,
                        HeaderValue::from_static("private, no-cache"),
                    ),
                ],
                bytes,
            )
                .into_response())
        }
    }
}

/// An SVG answer. Opened on its own, it may run nothing and load nothing (every text in it is
/// escaped; the policy makes sure).
pub(crate) fn svg(body: String) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("image/svg+xml"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-cache"),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
            ),
        ],
        body,
    )
        .into_response()
}

/// A CSV file, downloaded as `name`.
pub(crate) fn csv(name: &str, body: String) -> Response {
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response()
}
