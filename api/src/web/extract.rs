//! axum's `Form`, `Query` and `Path` for pages: the same extraction, but a request they cannot
//! read gets an error page (a form missing a field: 422 naming it; an address whose id is not
//! one: 404), never axum's plain-text answer.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::PageError;

fn refused(status: StatusCode, title: &str, detail: String) -> PageError {
    PageError {
        status,
        title: title.to_owned(),
        detail,
        errors: Vec::new(),
    }
}

/// A submitted form (`application/x-www-form-urlencoded`).
pub(crate) struct Form<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Form<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &S) -> Result<Self, PageError> {
        axum::Form::<T>::from_request(req, state)
            .await
            .map(|f| Form(f.0))
            .map_err(|e| refused(e.status(), "The form could not be read", e.body_text()))
    }
}

/// A page's query string.
pub(crate) struct Query<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, PageError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|e| refused(e.status(), "The address could not be read", e.body_text()))
    }
}

/// The ids in a page's address; one that is not an id names no page (404).
pub(crate) struct Path<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, PageError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|_| {
                refused(
                    StatusCode::NOT_FOUND,
                    "Not found",
                    "There is no page at this address.".into(),
                )
            })
    }
}
