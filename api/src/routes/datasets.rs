//! Datasets: a caller's private OHLCV bars, uploaded as CSV (`text/csv`) or generated
//! (`application/json` with a generator spec), then listed, summarized and deleted. Uploading
//! content the caller already has returns the existing dataset (200) instead of a copy (201).
//!
//! The upload route has its own body limit (`datasets.max_upload_bytes`), far above the API's
//! general one; parsing, generation and encoding run on the blocking pool.

use axum::Json;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use shared::dataset::csv::{self as csv_format, CsvError};
use shared::dataset::stats::ReturnStats;
use shared::dataset::synth::{self, GeneratorKind, GeneratorSpec};
use shared::dataset::{Bars, DataError};
use shared::domain::{Dataset, DatasetSource};
use shared::store::{DatasetLimits, NewDataset, StoreError};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::auth::AccountCaller;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::extract::{ApiPath, ApiQuery, from_value};
use crate::pagination::{decode_cursor, page_limit, paginate};
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_dataset, list_datasets))
        .routes(routes!(get_dataset, delete_dataset))
        // The global limit would refuse real uploads: `create_dataset` enforces its own.
        .layer(DefaultBodyLimit::disable())
}

/// A dataset's summary.
#[derive(Debug, Serialize, ToSchema)]
pub struct DatasetView {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Number of bars.
    pub rows: u64,
    /// Time of the first bar.
    pub start: DateTime<Utc>,
    /// Time of the last bar.
    pub end: DateTime<Utc>,
    /// Median bar spacing: `1m`, `5m`, `1h`, `1d`, `1w`, `1mo`, `{n}s`, ... or `irregular`.
    pub frequency: String,
    /// Bars per year implied by the timestamps.
    pub periods_per_year: f64,
    /// Hex SHA-256 of the bars' canonical encoding: the same bars in any file format match.
    pub content_hash: String,
    /// `upload` or `generator`.
    pub source: &'static str,
    /// The resolved generator spec (generated datasets only): sending it again gives the
    /// same bars.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generator: Option<GeneratorSpec>,
    /// Close-to-close return statistics.
    pub stats: ReturnStats,
    /// Created.
    pub created_at: DateTime<Utc>,
}

impl From<&Dataset> for DatasetView {
    fn from(d: &Dataset) -> Self {
        Self {
            id: d.id,
            name: d.name.clone(),
            rows: d.rows,
            start: d.start,
            end: d.end,
            frequency: d.frequency.clone(),
            periods_per_year: d.periods_per_year,
            content_hash: d.content_hash.clone(),
            source: d.source.as_str(),
            generator: d.source.generator().cloned(),
            stats: d.stats.clone(),
            created_at: d.created_at,
        }
    }
}

/// `{dataset}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DatasetEnvelope {
    /// The dataset.
    pub dataset: DatasetView,
}

/// JSON body of `POST /v1/datasets`: a synthetic dataset.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GenerateDataset {
    /// Name (default: the generator and seed).
    pub name: Option<String>,
    /// What to generate.
    pub generator: GeneratorSpec,
}

/// Query of `POST /v1/datasets`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CreateDatasetQuery {
    /// Name of an uploaded dataset (default `upload`).
    pub name: Option<String>,
}

enum Format {
    Csv,
    Json,
}

fn format_of(headers: &HeaderMap) -> ApiResult<Format> {
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase());
    match media.as_deref() {
        Some("text/csv" | "application/csv") => Ok(Format::Csv),
        Some("application/json") => Ok(Format::Json),
        _ => Err(ApiError::UnsupportedMediaType(
            "expected Content-Type: text/csv (an upload) or application/json (a generator)".into(),
        )),
    }
}

/// Reads the body, refusing it (413) when it passes `limit` bytes. A body up to twice the
/// limit is read to its end (and dropped) before answering, so the client, still sending,
/// sees the 413 instead of a reset connection; beyond that the connection is cut.
async fn read_limited(headers: &HeaderMap, body: Body, limit: usize) -> ApiResult<Vec<u8>> {
    let too_large = || ApiError::PayloadTooLarge(format!("the body is over {limit} bytes"));
    let drain_limit = limit.saturating_mul(2);
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > drain_limit) {
        return Err(too_large());
    }
    let mut out = Vec::with_capacity(declared.unwrap_or(0).min(limit));
    let mut seen = 0usize;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk
            .map_err(|e| ApiError::BadRequest(format!("could not read the request body: {e}")))?;
        seen = seen.saturating_add(chunk.len());
        if seen > drain_limit {
            return Err(too_large());
        }
        if seen > limit {
            out = Vec::new();
        } else {
            out.extend_from_slice(&chunk);
        }
    }
    if seen > limit {
        return Err(too_large());
    }
    Ok(out)
}

fn data_error(e: &DataError) -> ApiError {
    ApiError::invalid(e.field(), e.to_string())
}

/// Runs CPU work on the blocking pool.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> ApiResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Unexpected(anyhow::Error::new(e)))
}

fn summarize(
    owner: Uuid,
    name: String,
    source: DatasetSource,
    bars: &Bars,
) -> ApiResult<NewDataset> {
    NewDataset::from_bars(owner, name, source, bars)
        .ok_or_else(|| ApiError::invalid("body", "the bars cannot be summarized"))
}

async fn from_csv(
    state: &AppState,
    owner: Uuid,
    name: String,
    bytes: Vec<u8>,
) -> ApiResult<NewDataset> {
    let max_rows = state.settings.datasets.max_rows;
    blocking(move || match csv_format::parse(&bytes, max_rows) {
        Ok(bars) => summarize(owner, name, DatasetSource::Upload, &bars),
        Err(CsvError::TooManyRows { max }) => Err(ApiError::PayloadTooLarge(format!(
            "the upload has more than {max} rows"
        ))),
        Err(CsvError::Invalid(e)) => Err(data_error(&e)),
    })
    .await?
}

async fn from_generator(state: &AppState, owner: Uuid, bytes: &[u8]) -> ApiResult<NewDataset> {
    let value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::BadRequest(format!("malformed JSON: {e}")))?;
    let body: GenerateDataset = from_value(value)?;
    let spec = body
        .generator
        .resolve(state.settings.datasets.max_rows)
        .map_err(|errors| {
            ApiError::invalid_fields(
                errors
                    .into_iter()
                    .map(|e| FieldError::new(format!("generator.{}", e.field), e.message))
                    .collect(),
            )
        })?;
    let name = match body.name {
        Some(n) => {
            super::required_text("name", &n, 120).map_err(|e| ApiError::invalid_fields(vec![e]))?
        }
        None => {
            let kind = match spec.kind {
                GeneratorKind::Gbm => "gbm",
                GeneratorKind::RegimeSwitching => "regime_switching",
            };
            format!("{kind} seed {}", spec.seed)
        }
    };
    blocking(move || {
        // A spec that passed `resolve` can still drive prices out of range: the whole spec.
        let bars = synth::generate(&spec).map_err(|e| ApiError::invalid("generator", e.message))?;
        summarize(owner, name, DatasetSource::Generator(spec), &bars)
    })
    .await?
}

/// Creates a dataset from a CSV upload (`Content-Type: text/csv`, columns Date/Datetime/
/// Timestamp, Open, High, Low, Close, optional Volume) or a generator
/// (`application/json`). Content the caller already has returns that dataset with 200.
#[utoipa::path(post, path = "/v1/datasets", tag = "datasets", security(("bearer" = [])),
    params(CreateDatasetQuery),
    request_body(content((String = "text/csv"), (GenerateDataset = "application/json"))),
    responses((status = 201, body = DatasetEnvelope, description = "created"),
        (status = 200, body = DatasetEnvelope, description = "the caller already has this content"),
        (status = 413, body = crate::error::Problem), (status = 415, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub(crate) async fn create_dataset(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiQuery(q): ApiQuery<CreateDatasetQuery>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let new = match format_of(&headers)? {
        Format::Csv => {
            let name = super::required_text("name", q.name.as_deref().unwrap_or("upload"), 120)
                .map_err(|e| ApiError::invalid_fields(vec![e]))?;
            let bytes =
                read_limited(&headers, body, state.settings.datasets.max_upload_bytes).await?;
            from_csv(&state, caller.id, name, bytes).await?
        }
        Format::Json => {
            let bytes = read_limited(&headers, body, state.settings.api.body_limit_bytes).await?;
            from_generator(&state, caller.id, &bytes).await?
        }
    };
    let (dataset, created) = state
        .store
        .create_dataset(
            &new,
            DatasetLimits {
                max_count: state.settings.datasets.max_per_account,
                max_bytes: state.settings.datasets.max_bytes_per_account,
            },
            state.now(),
        )
        .await?;
    let envelope = Json(DatasetEnvelope {
        dataset: DatasetView::from(&dataset),
    });
    if !created {
        return Ok((StatusCode::OK, envelope).into_response());
    }
    tracing::info!(dataset_id = %dataset.id, owner_id = %caller.id, rows = dataset.rows, "dataset created");
    let location = HeaderValue::from_str(&format!("/v1/datasets/{}", dataset.id))
        .map_err(|e| ApiError::Unexpected(anyhow::Error::new(e)))?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        envelope,
    )
        .into_response())
}

/// Page of `GET /v1/datasets`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListDatasetsQuery {
    /// Page size, 1-100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A page of datasets.
#[derive(Debug, Serialize, ToSchema)]
pub struct DatasetPage {
    /// The caller's datasets, newest first.
    pub datasets: Vec<DatasetView>,
    /// Cursor of the next page, absent on the last.
    pub next_cursor: Option<String>,
}

/// The caller's datasets, newest first.
#[utoipa::path(get, path = "/v1/datasets", tag = "datasets", security(("bearer" = [])),
    params(ListDatasetsQuery),
    responses((status = 200, body = DatasetPage), (status = 400, body = crate::error::Problem)))]
pub(crate) async fn list_datasets(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiQuery(q): ApiQuery<ListDatasetsQuery>,
) -> ApiResult<Json<DatasetPage>> {
    let limit = page_limit(q.limit)?;
    let before = decode_cursor(q.cursor.as_deref())?;
    let rows = state
        .store
        .list_datasets(caller.id, before, i64::from(limit) + 1)
        .await?;
    let (rows, next_cursor) = paginate(rows, limit, |d| d.id);
    Ok(Json(DatasetPage {
        datasets: rows.iter().map(DatasetView::from).collect(),
        next_cursor,
    }))
}

/// One of the caller's datasets (anyone else's is 404).
#[utoipa::path(get, path = "/v1/datasets/{id}", tag = "datasets", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "dataset id")),
    responses((status = 200, body = DatasetEnvelope), (status = 404, body = crate::error::Problem)))]
pub(crate) async fn get_dataset(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<DatasetEnvelope>> {
    let dataset = state
        .store
        .dataset(caller.id, id)
        .await?
        .ok_or(ApiError::NotFound("dataset"))?;
    Ok(Json(DatasetEnvelope {
        dataset: DatasetView::from(&dataset),
    }))
}

/// Deletes one of the caller's datasets with its bars.
#[utoipa::path(delete, path = "/v1/datasets/{id}", tag = "datasets", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "dataset id")),
    responses((status = 204, description = "deleted"), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem, description = "in use by an active session")))]
async fn delete_dataset(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    match state.store.delete_dataset(caller.id, id).await {
        Ok(()) => {
            tracing::info!(dataset_id = %id, "dataset deleted");
            Ok(StatusCode::NO_CONTENT)
        }
        Err(StoreError::NotFound) => Err(ApiError::NotFound("dataset")),
        Err(e) => Err(e.into()),
    }
}
