//! The web dashboard: server-rendered pages (askama templates in `api/templates`) at `/`, the
//! API's documentation at `/docs`, and the few static files the pages use. Pages work without
//! JavaScript; only the live views (a job's progress) use a small script over the job's event
//! stream.
//!
//! A page is a client of the JSON API inside the process: it calls the same handler a request to
//! `/v1/...` reaches, with the signed-in person as the caller, so every rule (who sees what, the
//! 404 for someone else's objects, validation, quotas, idempotency) is the API's own. A form's
//! problem comes back as the API's problem, shown on the page.

pub mod auth;
mod extract;
mod pages;

use askama::Template;
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use crate::error::{ApiError, FieldError, Problem};
use crate::state::AppState;

pub use auth::SignedIn;

/// What a page may load and do: only this server's files, no inline script, no framing (a
/// form cannot be clicked through another site's page), forms post here only.
const PAGE_POLICY: &str = "default-src 'self'; img-src 'self' data:; object-src 'none'; \
    base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The pages, the static files and the docs UI.
pub fn router() -> Router<AppState> {
    pages::router()
        .layer(axum::middleware::map_response(page_headers))
        .route("/assets/style.css", get(style))
        .route("/assets/live.js", get(live))
        // The UI's files are compiled in (`vendored`): nothing is fetched at build or run time.
        .merge(
            utoipa_swagger_ui::SwaggerUi::new("/docs")
                .config(utoipa_swagger_ui::Config::new(["/openapi.json"])),
        )
}

async fn page_headers(mut res: Response) -> Response {
    let headers = res.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, PAGE_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::CACHE_CONTROL, "no-store"),
    ] {
        headers.insert(name, axum::http::HeaderValue::from_static(value));
    }
    res
}

async fn style() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        include_str!("../../assets/style.css"),
    )
}

async fn live() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        include_str!("../../assets/live.js"),
    )
}

/// Percent-encodes text for a URL's path or query: unreserved characters and `/` stay.
pub fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// What every page shows around its content: who is signed in and the form token.
#[derive(Debug, Clone, Default)]
pub struct Chrome {
    /// The signed-in name, if any.
    pub name: Option<String>,
    /// Whether the operator signed in.
    pub admin: bool,
    /// The form token.
    pub csrf: String,
    /// The current section, for the navigation.
    pub section: &'static str,
}

impl Chrome {
    /// The chrome of a signed-in page.
    pub fn of(user: &SignedIn, section: &'static str) -> Self {
        Self {
            name: Some(user.name().to_owned()),
            admin: user.is_admin(),
            csrf: user.csrf.clone(),
            section,
        }
    }
}

/// Renders a template as an HTML page.
pub fn render(page: &impl Template) -> Response {
    render_with(StatusCode::OK, page)
}

/// Renders a template with a status (a form shown again with its problem: 422, ...).
pub fn render_with(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => PageError::from(ApiError::Unexpected(anyhow::Error::new(e))).into_response(),
    }
}

/// A problem as a page: its status, title, detail and field errors.
#[derive(Debug, Clone)]
pub struct PageError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The problem's title.
    pub title: String,
    /// What happened.
    pub detail: String,
    /// Invalid fields.
    pub errors: Vec<FieldError>,
}

impl PageError {
    /// The problem the API would answer.
    pub fn problem(problem: &Problem) -> Self {
        Self {
            status: StatusCode::from_u16(problem.status)
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            title: problem.title.clone(),
            detail: problem.detail.clone(),
            errors: problem.errors.clone(),
        }
    }
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        let res = e.into_response();
        match res.extensions().get::<Problem>() {
            Some(p) => Self::problem(p),
            None => Self {
                status: res.status(),
                title: "Error".into(),
                detail: String::new(),
                errors: Vec::new(),
            },
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    chrome: Chrome,
    error: &'a PageError,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let page = ErrorPage {
            chrome: Chrome::default(),
            error: &self,
        };
        match page.render() {
            Ok(html) => (self.status, Html(html)).into_response(),
            Err(_) => (self.status, self.title).into_response(),
        }
    }
}

/// The result of a page handler.
pub type PageResult = Result<Response, PageError>;
