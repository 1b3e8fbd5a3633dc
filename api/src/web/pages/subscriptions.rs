//! A renter's subscriptions: access, invoices and cancellation.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::{account, acting, body};
use crate::extract::{ApiPath, ApiQuery, OptionalJson};
use crate::routes::subscriptions::{self as api, InvoiceList};
use crate::state::AppState;
use crate::views::SubscriptionView;
use crate::web::extract::{Form, Path};
use crate::web::{Chrome, PageResult, SignedIn, render};

/// A subscription with its tool's name.
struct Row {
    sub: SubscriptionView,
    tool: String,
}

#[derive(Template)]
#[template(path = "subscriptions.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<Row>,
}

pub(super) async fn list(State(state): State<AppState>, user: SignedIn) -> PageResult {
    let caller = account(&user)?;
    let page = api::list_subscriptions(
        State(state.clone()),
        caller,
        ApiQuery(body(json!({"limit": 100}))?),
    )
    .await?
    .0;
    let mut rows = Vec::with_capacity(page.subscriptions.len());
    for sub in page.subscriptions {
        let tool = super::tool_name(&state, sub.tool_id).await?;
        rows.push(Row { sub, tool });
    }
    Ok(render(&ListPage {
        chrome: Chrome::of(&user, "subscriptions"),
        rows,
    }))
}

#[derive(Template)]
#[template(path = "subscription.html")]
struct ShowPage {
    chrome: Chrome,
    sub: SubscriptionView,
    invoices: InvoiceList,
}

pub(super) async fn show(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<Uuid>,
) -> PageResult {
    let caller = account(&user)?;
    let sub = api::get_subscription(State(state.clone()), caller.clone(), ApiPath(id))
        .await?
        .0
        .subscription;
    let invoices = api::list_invoices(State(state), caller, ApiPath(id))
        .await?
        .0;
    Ok(render(&ShowPage {
        chrome: Chrome::of(&user, "subscriptions"),
        sub,
        invoices,
    }))
}

#[derive(Deserialize)]
pub(super) struct CancelForm {
    csrf: String,
    immediate: Option<String>,
}

/// Cancels at the period's end, or now with the unused time refunded.
pub(super) async fn cancel(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<Uuid>,
    Form(form): Form<CancelForm>,
) -> PageResult {
    let caller = acting(&user, &form.csrf)?;
    let request = body(json!({"immediate": form.immediate.is_some()}))?;
    let _ =
        api::cancel_subscription(State(state), caller, ApiPath(id), OptionalJson(request)).await?;
    Ok(Redirect::to(&format!("/subscriptions/{id}")).into_response())
}
