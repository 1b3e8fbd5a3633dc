//! Accounts, API keys, sandbox credit and the caller's ledger.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use shared::domain::Money;
use shared::payments::payment_id;
use shared::store::{IdempotencyKey, Idempotent, TopUp};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::auth::{AccountCaller, generate_key};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery, HashedJson, IdempotencyKeyHeader};
use crate::pagination::{decode_cursor, page_limit, paginate};
use crate::state::AppState;
use crate::views::{AccountView, LedgerEntryView};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_account))
        .routes(routes!(get_me))
        .routes(routes!(add_credits))
        .routes(routes!(list_ledger))
}

/// Body of `POST /v1/accounts`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAccount {
    /// Display name (1-100 characters).
    pub name: String,
}

/// A new account and its API key (shown this once).
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountCreated {
    /// The account.
    pub account: AccountView,
    /// Bearer key for every other route; only its hash is stored.
    pub api_key: String,
}

/// Creates an account and its API key. The only route that needs no key.
#[utoipa::path(post, path = "/v1/accounts", tag = "accounts", request_body = CreateAccount,
    responses((status = 201, body = AccountCreated), (status = 422, body = crate::error::Problem)))]
async fn create_account(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<CreateAccount>,
) -> ApiResult<(StatusCode, Json<AccountCreated>)> {
    let name = super::required_text("name", &body.name, 100)
        .map_err(|e| ApiError::invalid_fields(vec![e]))?;
    let (api_key, stored) = generate_key();
    let account = state
        .store
        .create_account(&name, &stored, state.now())
        .await?;
    tracing::info!(account_id = %account.id, "account created");
    Ok((
        StatusCode::CREATED,
        Json(AccountCreated {
            account: AccountView::from(&account),
            api_key,
        }),
    ))
}

/// `{account}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountEnvelope {
    /// The account.
    pub account: AccountView,
}

/// The caller's account and balance.
#[utoipa::path(get, path = "/v1/accounts/me", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = AccountEnvelope), (status = 401, body = crate::error::Problem)))]
async fn get_me(AccountCaller(account): AccountCaller) -> Json<AccountEnvelope> {
    Json(AccountEnvelope {
        account: AccountView::from(&account),
    })
}

/// Body of `POST /v1/accounts/me/credits`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddCredits {
    /// Amount to add, a decimal with at most 2 places (e.g. 100 or "100.00").
    #[schema(value_type = f64, example = 100.0)]
    pub amount: Value,
}

/// Credit added.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreditsAdded {
    /// The account after the credit.
    pub account: AccountView,
    /// The ledger transaction.
    pub transaction: CreditTransaction,
}

/// The ledger transaction of a top-up.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreditTransaction {
    /// Transaction id.
    pub id: Uuid,
    /// Amount credited.
    #[schema(value_type = f64)]
    pub amount: Money,
    /// Payment provider reference (sandbox).
    pub reference: String,
}

/// Adds credit through the payment provider (play money in sandbox payments mode; without a
/// provider, `MARKETPLACE_PAYMENTS=none`, the route does not exist). Honours `Idempotency-Key`:
/// a retry with the same key replays the first answer and collects nothing again (the key
/// names the payment at the provider, and the ledger books a payment once).
#[utoipa::path(post, path = "/v1/accounts/me/credits", tag = "accounts", security(("bearer" = [])),
    request_body = AddCredits,
    params(("Idempotency-Key" = Option<String>, Header, description = "retry-safe key")),
    responses((status = 200, body = CreditsAdded), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
async fn add_credits(
    State(state): State<AppState>,
    AccountCaller(account): AccountCaller,
    IdempotencyKeyHeader(key): IdempotencyKeyHeader,
    body: HashedJson<AddCredits>,
) -> ApiResult<Response> {
    let payments = state.payments.as_ref().ok_or(ApiError::NotFound("route"))?;
    let amount = Money::from_json(&body.value.amount, state.settings.billing.max_top_up())
        .map_err(|e| ApiError::invalid("amount", e.to_string()))?;
    if amount == Money::ZERO {
        return Err(ApiError::invalid("amount", "must be greater than 0"));
    }
    let key = key.map(|key| IdempotencyKey {
        scope: "top_up",
        key,
        request_hash: body.hash.clone(),
    });
    // The key is looked up before the provider is asked: a retry of a completed top-up
    // replays it without collecting again.
    if let Some(key) = &key
        && let Some(body) = state.store.idempotent_answer(account.id, key).await?
    {
        return Ok(replay(StatusCode::OK, body));
    }
    let payment = payment_id(account.id, key.as_ref().map(|k| k.key.as_str()));
    let receipt = payments
        .collect(account.id, amount, payment)
        .map_err(|e| ApiError::PaymentRequired(e.to_string()))?;
    let render = |t: &TopUp| render_top_up(t);
    match state
        .store
        .top_up(account.id, &receipt, key.as_ref(), &render, state.now())
        .await?
    {
        Idempotent::New(t) => Ok(Json(render_top_up(&t)).into_response()),
        Idempotent::Replayed(body) => Ok(replay(StatusCode::OK, body)),
    }
}

fn render_top_up(t: &TopUp) -> Value {
    json!(CreditsAdded {
        account: AccountView::from(&t.account),
        transaction: CreditTransaction {
            id: t.transaction_id,
            amount: t.amount,
            reference: t.reference.clone()
        },
    })
}

/// The stored first answer of an idempotent request, with the status its first success had.
pub(crate) fn replay(status: StatusCode, body: Value) -> Response {
    let mut res = (status, Json(body)).into_response();
    res.headers_mut().insert(
        "idempotent-replayed",
        axum::http::HeaderValue::from_static("true"),
    );
    res
}

/// Page parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1-100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A page of ledger entries.
#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerPage {
    /// Entries, newest first.
    pub entries: Vec<LedgerEntryView>,
    /// Cursor of the next page, absent on the last.
    pub next_cursor: Option<String>,
}

/// The caller's ledger entries, newest first.
#[utoipa::path(get, path = "/v1/accounts/me/ledger", tag = "accounts", security(("bearer" = [])),
    params(PageQuery), responses((status = 200, body = LedgerPage)))]
async fn list_ledger(
    State(state): State<AppState>,
    AccountCaller(account): AccountCaller,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<LedgerPage>> {
    let limit = page_limit(q.limit)?;
    let before = decode_cursor(q.cursor.as_deref())?;
    let rows = state
        .store
        .ledger_entries(account.id, before, i64::from(limit) + 1)
        .await?;
    let (rows, next_cursor) = paginate(rows, limit, |e| e.id);
    Ok(Json(LedgerPage {
        entries: rows.iter().map(LedgerEntryView::from).collect(),
        next_cursor,
    }))
}
