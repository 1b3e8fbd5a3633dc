//! Sign-in, sign-out and the home page (the account, its balance and where to go).

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::PrivateCookieJar;
use serde::Deserialize;

use super::account_of;
use crate::auth::authenticate;
use crate::error::ApiError;
use crate::state::AppState;
use crate::views::AccountView;
use crate::web::auth::{safe_next, sign_in as set_sign_in, sign_out as clear};
use crate::web::extract::{Form, Query};
use crate::web::{Chrome, PageError, SignedIn, render, render_with};

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    chrome: Chrome,
    next: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct NextQuery {
    next: Option<String>,
}

pub(super) async fn sign_in_page(Query(q): Query<NextQuery>) -> Response {
    render(&SignInPage {
        chrome: Chrome::default(),
        next: safe_next(q.next.as_deref()),
        error: None,
    })
}

#[derive(Deserialize)]
pub(super) struct SignInForm {
    key: String,
    next: Option<String>,
}

/// Signs in with a key: checked exactly as a bearer key is, then kept in the cookie. There is
/// no session yet, so no CSRF token: a forged sign-in could only sign a browser in as a key
/// the forger already holds, and `SameSite=Lax` keeps the cookie off cross-site posts.
pub(super) async fn sign_in(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    Form(form): Form<SignInForm>,
) -> Response {
    let next = safe_next(form.next.as_deref());
    let key = form.key.trim();
    match authenticate(&state, key).await {
        Ok(_) => (set_sign_in(jar, key), Redirect::to(&next)).into_response(),
        Err(ApiError::Unauthorized) => render_with(
            StatusCode::UNAUTHORIZED,
            &SignInPage {
                chrome: Chrome::default(),
                next,
                error: Some("That key is not valid. Check it and try again.".into()),
            },
        ),
        Err(e) => PageError::from(e).into_response(),
    }
}

#[derive(Deserialize)]
pub(super) struct CsrfForm {
    pub(super) csrf: String,
}

pub(super) async fn sign_out(
    user: SignedIn,
    jar: PrivateCookieJar,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    user.check_csrf(&form.csrf)?;
    Ok((clear(jar), Redirect::to("/sign-in")).into_response())
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    chrome: Chrome,
    account: Option<AccountView>,
}

pub(super) async fn home(user: SignedIn) -> Response {
    render(&HomePage {
        chrome: Chrome::of(&user, "home"),
        account: account_of(&user).map(AccountView::from),
    })
}
