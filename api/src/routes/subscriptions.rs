//! Subscriptions: renting a tool at a tier, paid up front from the balance through the ledger,
//! listed and cancelled by their subscriber only (others get 404: they are private).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use shared::domain::{Account, Money, Subscription, Tier, TransactionKind};
use shared::jobs::{Job, JobPayload, JobStatus};
use shared::store::{IdempotencyKey, Idempotent, JobFilter, NewSubscription, SubscriptionCreated};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::accounts::replay;
use crate::auth::AccountCaller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery, HashedJson, IdempotencyKeyHeader, OptionalJson};
use crate::pagination::{decode_cursor, page_limit, paginate};
use crate::state::AppState;
use crate::views::{ChargeView, RefundView, SubscriptionView};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_subscription, list_subscriptions))
        .routes(routes!(get_subscription))
        .routes(routes!(cancel_subscription))
        .routes(routes!(set_auto_renew))
        .routes(routes!(list_invoices))
        .routes(routes!(get_upcoming))
}

/// Months that may be paid up front.
const MAX_MONTHS: u32 = 12;

/// Body of `POST /v1/subscriptions`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSubscription {
    /// The tool to rent.
    pub tool_id: Uuid,
    /// Tier (at least the tool's tier).
    pub tier: Tier,
    /// Months paid up front, 1-12 (default 1).
    #[serde(default = "one")]
    pub months: u32,
    /// Renew when the paid months end (default true).
    #[serde(default = "yes")]
    pub auto_renew: bool,
}

fn one() -> u32 {
    1
}

fn yes() -> bool {
    true
}

/// A new subscription and what it cost.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionCreatedView {
    /// The subscription.
    pub subscription: SubscriptionView,
    /// The charge.
    pub charge: ChargeView,
}

/// Subscribes the caller to a tool, charging the first months now. Honours `Idempotency-Key`:
/// a retry with the same key and body returns the first response and charges nothing more.
#[utoipa::path(post, path = "/v1/subscriptions", tag = "subscriptions", security(("bearer" = [])),
    request_body = CreateSubscription,
    params(("Idempotency-Key" = Option<String>, Header, description = "retry-safe key")),
    responses((status = 201, body = SubscriptionCreatedView), (status = 402, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub(crate) async fn create_subscription(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    IdempotencyKeyHeader(key): IdempotencyKeyHeader,
    body: HashedJson<CreateSubscription>,
) -> ApiResult<Response> {
    let req = &body.value;
    if !(1..=MAX_MONTHS).contains(&req.months) {
        return Err(ApiError::invalid(
            "months",
            format!("must be between 1 and {MAX_MONTHS}"),
        ));
    }
    let tool = state
        .store
        .tool(req.tool_id)
        .await?
        .filter(|t| t.deleted_at.is_none())
        .ok_or(ApiError::NotFound("tool"))?;
    if tool.creator_id == caller.id {
        return Err(ApiError::Conflict(
            "you created this tool and already have access to it".into(),
        ));
    }
    if req.tier < tool.tier {
        return Err(ApiError::invalid(
            "tier",
            format!("this tool requires at least the {} tier", tool.tier),
        ));
    }
    let new = NewSubscription {
        tool_id: tool.id,
        creator_id: tool.creator_id,
        subscriber_id: caller.id,
        tier: req.tier,
        price: req.tier.monthly_price(tool.monthly_price),
        months: req.months,
        auto_renew: req.auto_renew,
        creator_share_bps: state.settings.billing.creator_share_bps,
    };
    let now = state.now();
    let key = key.map(|key| IdempotencyKey {
        scope: "subscribe",
        key,
        request_hash: body.hash.clone(),
    });
    let render = |c: &SubscriptionCreated| render_created(c, req.months, now);
    match state
        .store
        .create_subscription(&new, key.as_ref(), &render, now)
        .await?
    {
        Idempotent::New(c) => {
            tracing::info!(subscription_id = %c.subscription.id, tool_id = %tool.id, "subscribed");
            Ok((
                StatusCode::CREATED,
                Json(render_created(&c, req.months, now)),
            )
                .into_response())
        }
        Idempotent::Replayed(body) => Ok(replay(StatusCode::CREATED, body)),
    }
}

fn render_created(
    c: &SubscriptionCreated,
    months: u32,
    now: chrono::DateTime<chrono::Utc>,
) -> Value {
    json!(SubscriptionCreatedView {
        subscription: SubscriptionView::at(&c.subscription, now),
        charge: ChargeView::of(&c.charges, months),
    })
}

/// Filters and page of `GET /v1/subscriptions`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListSubscriptionsQuery {
    /// Only active and past-due subscriptions.
    pub active_only: Option<bool>,
    /// Page size, 1-100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A page of subscriptions.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionPage {
    /// Subscriptions, newest first.
    pub subscriptions: Vec<SubscriptionView>,
    /// Cursor of the next page, absent on the last.
    pub next_cursor: Option<String>,
}

/// The caller's subscriptions.
#[utoipa::path(get, path = "/v1/subscriptions", tag = "subscriptions", security(("bearer" = [])),
    params(ListSubscriptionsQuery), responses((status = 200, body = SubscriptionPage)))]
pub(crate) async fn list_subscriptions(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiQuery(q): ApiQuery<ListSubscriptionsQuery>,
) -> ApiResult<Json<SubscriptionPage>> {
    let limit = page_limit(q.limit)?;
    let before = decode_cursor(q.cursor.as_deref())?;
    let rows = state
        .store
        .list_subscriptions(
            caller.id,
            q.active_only.unwrap_or(false),
            before,
            i64::from(limit) + 1,
        )
        .await?;
    let (rows, next_cursor) = paginate(rows, limit, |s| s.id);
    let now = state.now();
    Ok(Json(SubscriptionPage {
        subscriptions: rows.iter().map(|s| SubscriptionView::at(s, now)).collect(),
        next_cursor,
    }))
}

/// `{subscription}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionEnvelope {
    /// The subscription.
    pub subscription: SubscriptionView,
}

async fn own_subscription(state: &AppState, caller: &Account, id: Uuid) -> ApiResult<Subscription> {
    state
        .store
        .subscription(id)
        .await?
        .filter(|s| s.subscriber_id == caller.id)
        .ok_or(ApiError::NotFound("subscription"))
}

/// One of the caller's subscriptions.
#[utoipa::path(get, path = "/v1/subscriptions/{id}", tag = "subscriptions", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "subscription id")),
    responses((status = 200, body = SubscriptionEnvelope), (status = 404, body = crate::error::Problem)))]
pub(crate) async fn get_subscription(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<SubscriptionEnvelope>> {
    let s = own_subscription(&state, &caller, id).await?;
    Ok(Json(SubscriptionEnvelope {
        subscription: SubscriptionView::at(&s, state.now()),
    }))
}

/// Body of `POST /v1/subscriptions/{id}/cancel` (may be empty).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelSubscription {
    /// `false` (default): no renewal, access until the paid periods end. `true`: access ends now
    /// and the unused time is refunded pro rata by the second.
    #[serde(default)]
    pub immediate: bool,
}

/// The subscription after cancelling and what was refunded.
#[derive(Debug, Serialize, ToSchema)]
pub struct CancellationView {
    /// The subscription.
    pub subscription: SubscriptionView,
    /// Refund (zero unless immediate).
    pub refund: RefundView,
}

/// Cancels one of the caller's subscriptions.
#[utoipa::path(post, path = "/v1/subscriptions/{id}/cancel", tag = "subscriptions", security(("bearer" = [])),
    request_body = CancelSubscription, params(("id" = Uuid, Path, description = "subscription id")),
    responses((status = 200, body = CancellationView), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem)))]
pub(crate) async fn cancel_subscription(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiPath(id): ApiPath<Uuid>,
    OptionalJson(body): OptionalJson<CancelSubscription>,
) -> ApiResult<Json<CancellationView>> {
    own_subscription(&state, &caller, id).await?;
    let now = state.now();
    let c = state
        .store
        .cancel_subscription(id, body.immediate, now)
        .await?;
    tracing::info!(subscription_id = %id, immediate = body.immediate, "subscription canceled");
    if !c.subscription.status.is_live() {
        cancel_jobs_on(&state, caller.id, c.subscription.tool_id).await;
    }
    Ok(Json(CancellationView {
        subscription: SubscriptionView::at(&c.subscription, now),
        refund: RefundView::from(c.refunds.as_slice()),
    }))
}

/// Cancels the account's queued and running jobs that use `tool` (its evaluations and its
/// sessions' optimizations): the subscription that allowed them has ended. Best effort: a job
/// missed here is refused by the worker's own entitlement check.
async fn cancel_jobs_on(state: &AppState, account: Uuid, tool: Uuid) {
    let uses_tool = |job: &Job| match JobPayload::from_stored(job.kind, &job.payload) {
        Ok(JobPayload::Evaluate(p)) => p.tool_id == tool,
        Ok(JobPayload::Optimize(p)) => p.tool_id == tool,
        _ => false,
    };
    for status in [JobStatus::Queued, JobStatus::Running] {
        let filter = JobFilter {
            status: Some(status),
            kind: None,
            tool_id: None,
        };
        // The per-account quota keeps this list short.
        let jobs = match state.store.list_jobs(account, &filter, None, 100).await {
            Ok(jobs) => jobs,
            Err(e) => {
                tracing::warn!(error = %e, "listing jobs to cancel failed");
                continue;
            }
        };
        for job in jobs.iter().filter(|j| uses_tool(j)) {
            match state
                .store
                .cancel_job(account, job.id, state.job_now())
                .await
            {
                Ok(_) => tracing::info!(job_id = %job.id, "job canceled with its subscription"),
                Err(e) => tracing::warn!(error = %e, job_id = %job.id, "canceling a job failed"),
            }
        }
    }
}

/// Body of `POST /v1/subscriptions/{id}/auto-renew`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetAutoRenew {
    /// Renew at the end of the paid periods. Turning it on also withdraws a pending
    /// cancellation at period end.
    pub enabled: bool,
}

/// Turns auto-renewal of one of the caller's subscriptions on or off.
#[utoipa::path(post, path = "/v1/subscriptions/{id}/auto-renew", tag = "subscriptions", security(("bearer" = [])),
    request_body = SetAutoRenew, params(("id" = Uuid, Path, description = "subscription id")),
    responses((status = 200, body = SubscriptionEnvelope), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem)))]
async fn set_auto_renew(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<SetAutoRenew>,
) -> ApiResult<Json<SubscriptionEnvelope>> {
    own_subscription(&state, &caller, id).await?;
    let now = state.now();
    let s = state.store.set_auto_renew(id, body.enabled, now).await?;
    Ok(Json(SubscriptionEnvelope {
        subscription: SubscriptionView::at(&s, now),
    }))
}

/// One charge or refund.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceView {
    /// Ledger transaction.
    pub transaction_id: Uuid,
    /// `subscription_charge` or `refund`.
    pub kind: TransactionKind,
    /// Period paid for (or refunded).
    pub period_start: DateTime<Utc>,
    /// End of that period.
    pub period_end: DateTime<Utc>,
    /// Paid by the subscriber; negative for a refund.
    #[schema(value_type = f64)]
    pub amount: Money,
    /// Booked.
    pub created_at: DateTime<Utc>,
}

/// A subscription's charges and refunds.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceList {
    /// Oldest first.
    pub invoices: Vec<InvoiceView>,
    /// Charges minus refunds.
    #[schema(value_type = f64)]
    pub total: Money,
}

/// Every charge and refund of one of the caller's subscriptions.
#[utoipa::path(get, path = "/v1/subscriptions/{id}/invoices", tag = "subscriptions", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "subscription id")),
    responses((status = 200, body = InvoiceList), (status = 404, body = crate::error::Problem)))]
pub(crate) async fn list_invoices(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<InvoiceList>> {
    own_subscription(&state, &caller, id).await?;
    let lines = state.store.invoices(id).await?;
    let total = Money::from_cents(lines.iter().map(|l| l.amount.cents()).sum());
    let invoices = lines
        .into_iter()
        .map(|l| InvoiceView {
            transaction_id: l.transaction_id,
            kind: l.kind,
            period_start: l.period_start,
            period_end: l.period_end,
            amount: l.amount,
            created_at: l.created_at,
        })
        .collect();
    Ok(Json(InvoiceList { invoices, total }))
}

/// The next charge, as the scheduler will make it.
#[derive(Debug, Serialize, ToSchema)]
pub struct UpcomingView {
    /// Whether a charge is coming (false: the subscription ends at `access_until`).
    pub renews: bool,
    /// When the charge is due.
    pub due_at: Option<DateTime<Utc>>,
    /// Amount (the locked price).
    #[schema(value_type = Option<f64>)]
    pub amount: Option<Money>,
    /// Period it pays for.
    pub period_start: Option<DateTime<Utc>>,
    /// End of that period.
    pub period_end: Option<DateTime<Utc>>,
    /// When access ends if nothing is charged.
    pub access_until: DateTime<Utc>,
}

/// The next charge of one of the caller's subscriptions, computed by the code that will make it.
#[utoipa::path(get, path = "/v1/subscriptions/{id}/upcoming", tag = "subscriptions", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "subscription id")),
    responses((status = 200, body = UpcomingView), (status = 404, body = crate::error::Problem)))]
async fn get_upcoming(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<UpcomingView>> {
    let s = own_subscription(&state, &caller, id).await?;
    // A deleted tool's subscriptions are not renewed (the scheduler skips them too).
    let tool_live = state
        .store
        .tool(s.tool_id)
        .await?
        .is_some_and(|t| t.deleted_at.is_none());
    let next = s.next_charge().filter(|_| tool_live);
    Ok(Json(UpcomingView {
        renews: next.is_some(),
        due_at: next.map(|c| c.due_at),
        amount: next.map(|c| c.amount),
        period_start: next.map(|c| c.period_start),
        period_end: next.map(|c| c.period_end),
        access_until: s.access_until(),
    }))
}
