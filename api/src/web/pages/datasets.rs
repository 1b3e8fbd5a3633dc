//! Datasets: the list, a CSV upload (its problem, down to the row and column, shown beside the
//! file), a generated series, and a dataset's page with its price chart.

use askama::Template;
use axum::body::Body;
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::{account, acting, body, number};
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery};
use crate::routes::datasets::{self as api, CreateDatasetQuery, DatasetEnvelope, DatasetView};
use crate::state::AppState;
use crate::web::extract::{Form, Path};
use crate::web::{Chrome, PageError, PageResult, SignedIn, render, render_with};

#[derive(Template)]
#[template(path = "datasets.html")]
struct ListPage {
    chrome: Chrome,
    datasets: Vec<DatasetView>,
    upload_error: Option<PageError>,
    generate_error: Option<PageError>,
}

async fn list_page(
    state: &AppState,
    user: &SignedIn,
    upload_error: Option<PageError>,
    generate_error: Option<PageError>,
) -> PageResult {
    let caller = account(user)?;
    let page = api::list_datasets(
        State(state.clone()),
        caller,
        ApiQuery(body(json!({"limit": 100}))?),
    )
    .await?
    .0;
    let status = upload_error
        .as_ref()
        .or(generate_error.as_ref())
        .map_or(StatusCode::OK, |e| e.status);
    Ok(render_with(
        status,
        &ListPage {
            chrome: Chrome::of(user, "datasets"),
            datasets: page.datasets,
            upload_error,
            generate_error,
        },
    ))
}

pub(super) async fn list(State(state): State<AppState>, user: SignedIn) -> PageResult {
    list_page(&state, &user, None, None).await
}

/// Uploads a CSV from a multipart form (`csrf`, `name`, `file`), read up to the upload limit.
pub(super) async fn upload(
    State(state): State<AppState>,
    user: SignedIn,
    mut form: Multipart,
) -> PageResult {
    let limit = state.settings.datasets.max_upload_bytes;
    let (mut csrf, mut name, mut file) = (String::new(), String::new(), Vec::new());
    let bad = |e: axum::extract::multipart::MultipartError| {
        PageError::from(ApiError::BadRequest(format!(
            "could not read the form: {e}"
        )))
    };
    while let Some(mut field) = form.next_field().await.map_err(bad)? {
        match field.name() {
            Some("csrf") => csrf = field.text().await.map_err(bad)?,
            Some("name") => name = field.text().await.map_err(bad)?,
            Some("file") => {
                if name.trim().is_empty()
                    && let Some(f) = field.file_name()
                {
                    name = f.trim_end_matches(".csv").to_owned();
                }
                while let Some(chunk) = field.chunk().await.map_err(bad)? {
                    if file.len() + chunk.len() > limit {
                        return Err(ApiError::PayloadTooLarge(format!(
                            "the file is larger than the upload limit of {limit} bytes"
                        ))
                        .into());
                    }
                    file.extend_from_slice(&chunk);
                }
            }
            _ => {}
        }
    }
    user.check_csrf(&csrf)?;
    let caller = account(&user)?;
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv"));
    let query = CreateDatasetQuery {
        name: Some(if name.trim().is_empty() {
            "upload".into()
        } else {
            name
        }),
    };
    let res = api::create_dataset(
        State(state.clone()),
        caller,
        ApiQuery(query),
        headers,
        Body::from(file),
    )
    .await;
    match res {
        Ok(res) => Ok(to_dataset(res).await),
        Err(e) => list_page(&state, &user, Some(e.into()), None).await,
    }
}

/// The dataset's page (a new one, or the one the account already kept with this content).
async fn to_dataset(res: Response) -> Response {
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20).await.ok();
    let id = bytes
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| {
            v["dataset"]["id"]
                .as_str()
                .and_then(|s| s.parse::<Uuid>().ok())
        });
    let to = id.map_or_else(|| "/datasets".to_owned(), |id| format!("/datasets/{id}"));
    Redirect::to(&to).into_response()
}

#[derive(Deserialize)]
pub(super) struct GenerateForm {
    csrf: String,
    name: String,
    kind: String,
    bars: String,
    seed: String,
}

/// Generates a synthetic series (the API's generators).
pub(super) async fn generate(
    State(state): State<AppState>,
    user: SignedIn,
    Form(form): Form<GenerateForm>,
) -> PageResult {
    let caller = acting(&user, &form.csrf)?;
    let name = form.name.trim();
    let spec = json!({
        "name": (!name.is_empty()).then_some(name),
        "generator": {"kind": form.kind, "bars": number(&form.bars), "seed": number(&form.seed)},
    });
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let res = api::create_dataset(
        State(state.clone()),
        caller,
        ApiQuery(CreateDatasetQuery { name: None }),
        headers,
        Body::from(spec.to_string()),
    )
    .await;
    match res {
        Ok(res) => Ok(to_dataset(res).await),
        Err(e) => list_page(&state, &user, None, Some(e.into())).await,
    }
}

#[derive(Template)]
#[template(path = "dataset.html")]
struct ShowPage {
    chrome: Chrome,
    dataset: DatasetView,
}

pub(super) async fn show(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<Uuid>,
) -> PageResult {
    let caller = account(&user)?;
    let DatasetEnvelope { dataset } = api::get_dataset(State(state), caller, ApiPath(id)).await?.0;
    Ok(render(&ShowPage {
        chrome: Chrome::of(&user, "datasets"),
        dataset,
    }))
}
