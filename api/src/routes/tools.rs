//! Tools: listing, creation, changes (a new version whenever parameters change), soft deletion,
//! version history and the caller's access.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use shared::domain::{Account, Money, Tier, Tool};
use shared::families::{self, Family};
use shared::standards::StandardsConfig;
use shared::store::{NewTool, ToolFilter, ToolPatch};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::auth::AccountCaller;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::pagination::page_limit;
use crate::state::AppState;
use crate::views::{ToolView, VersionView};

mod sort;

pub use sort::ToolSort;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_tool, list_tools))
        .routes(routes!(get_tool, update_tool, delete_tool))
        .routes(routes!(list_versions))
        .routes(routes!(get_access))
}

const MAX_METADATA_BYTES: usize = 16 * 1024;

/// `{tool}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ToolEnvelope {
    /// The tool.
    pub tool: ToolView,
}

/// Body of `POST /v1/tools`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTool {
    /// Name (1-120 characters).
    pub name: String,
    /// Description (up to 5,000 characters).
    #[serde(default)]
    pub description: String,
    /// Category (1-64 characters), e.g. `trading`.
    pub category: String,
    /// Family (see `GET /v1/families`). Omitted (as the seed's `create_tool` does): the first
    /// family in `GET /v1/families` order that takes `parameters` as given (the seed's
    /// `{"threshold": 0.5, "lookback_period": 20}` is `momentum`; no parameters at all is
    /// `momentum` with its defaults); 422 naming every family and its parameters when none
    /// does. The created tool shows the family chosen.
    pub family: Option<String>,
    /// Monthly price at the basic tier, a decimal with at most 2 places.
    #[schema(value_type = f64, example = 29.99)]
    pub monthly_price: Value,
    /// Lowest tier it can be rented at (default basic).
    #[serde(default = "default_tier")]
    pub tier: Tier,
    /// Parameters; omitted ones take the family's defaults.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub parameters: Map<String, Value>,
    /// Free-form object (up to 16 KiB).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub metadata: Map<String, Value>,
    /// The standards gate promotions must pass (omitted: the defaults: 15% overall improvement,
    /// `success_rate` and `execution_time` improve, no metric falls more than 2%, two thirds of
    /// the folds won).
    pub standards: Option<StandardsConfig>,
    /// Promote passed records of ending sessions at once (through the same re-check, which
    /// then also judges on the reference dataset); needs `reference_dataset_id`.
    #[serde(default)]
    pub auto_promote: bool,
    /// One of the creator's datasets that every promotion must also pass on.
    pub reference_dataset_id: Option<Uuid>,
}

fn default_tier() -> Tier {
    Tier::Basic
}

fn check_parameters(
    family: &Family,
    params: &Map<String, Value>,
    errors: &mut Vec<FieldError>,
) -> Option<Map<String, Value>> {
    match family.validate(params) {
        Ok(p) => Some(p),
        Err(es) => {
            errors.extend(
                es.into_iter()
                    .map(|e| FieldError::new(format!("parameters.{}", e.parameter), e.message)),
            );
            None
        }
    }
}

fn check_metadata(metadata: &Map<String, Value>, errors: &mut Vec<FieldError>) {
    if serde_json::to_vec(metadata).map_or(0, |v| v.len()) > MAX_METADATA_BYTES {
        errors.push(FieldError::new(
            "metadata",
            "must be at most 16 KiB of JSON",
        ));
    }
}

fn check_description(description: &str, errors: &mut Vec<FieldError>) -> String {
    if description.chars().count() > 5_000 {
        errors.push(FieldError::new(
            "description",
            "must be at most 5000 characters",
        ));
    }
    description.trim().to_owned()
}

fn check_standards(standards: &StandardsConfig, errors: &mut Vec<FieldError>) {
    if let Err(es) = standards.validate() {
        errors.extend(
            es.into_iter()
                .map(|(field, message)| FieldError::new(format!("standards.{field}"), message)),
        );
    }
}

/// Automatic promotion needs a reference dataset: a renter controls the data of their own
/// session (a generated series can be shaped to favour chosen parameters), so a version made
/// without the creator looking must also pass on data the creator chose.
fn check_auto_promote(auto_promote: bool, reference: Option<Uuid>, errors: &mut Vec<FieldError>) {
    if auto_promote && reference.is_none() {
        errors.push(FieldError::new(
            "auto_promote",
            "needs a reference_dataset_id: an automatic promotion must also pass on a dataset \
             of yours, not only on the renter's data",
        ));
    }
}

/// A reference dataset must be the creator's own.
async fn check_reference(
    state: &AppState,
    caller: &Account,
    reference: Option<Uuid>,
    errors: &mut Vec<FieldError>,
) -> ApiResult<()> {
    if let Some(id) = reference
        && state.store.dataset(caller.id, id).await?.is_none()
    {
        errors.push(FieldError::new(
            "reference_dataset_id",
            "no such dataset of yours",
        ));
    }
    Ok(())
}

fn collect<T>(result: Result<T, FieldError>, errors: &mut Vec<FieldError>) -> Option<T> {
    result.map_err(|e| errors.push(e)).ok()
}

/// Lists a tool for rent; the caller is its creator. Makes version 1.
#[utoipa::path(post, path = "/v1/tools", tag = "tools", security(("bearer" = [])), request_body = CreateTool,
    responses((status = 201, body = ToolEnvelope), (status = 422, body = crate::error::Problem)))]
async fn create_tool(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiJson(body): ApiJson<CreateTool>,
) -> ApiResult<(StatusCode, Json<ToolEnvelope>)> {
    let mut errors = Vec::new();
    let name = collect(super::required_text("name", &body.name, 120), &mut errors);
    let category = collect(
        super::required_text("category", &body.category, 64),
        &mut errors,
    );
    let description = check_description(&body.description, &mut errors);
    let price = Money::from_json(
        &body.monthly_price,
        state.settings.billing.max_monthly_price(),
    )
    .map_err(|e| errors.push(FieldError::new("monthly_price", e.to_string())))
    .ok();
    let family = match body.family.as_deref() {
        Some(name) => families::get(name),
        None => families::infer(&body.parameters),
    };
    if family.is_none() {
        let known: Vec<_> = families::all().iter().map(|f| f.name).collect();
        errors.push(match body.family {
            Some(_) => FieldError::new(
                "family",
                format!("unknown family: expected one of {}", known.join(", ")),
            ),
            None => FieldError::new(
                "family",
                format!(
                    "no family takes these parameters; name one (GET /v1/families describes each): {}",
                    families::catalog()
                ),
            ),
        });
    }
    let parameters = family.and_then(|f| check_parameters(f, &body.parameters, &mut errors));
    check_metadata(&body.metadata, &mut errors);
    if let Some(standards) = &body.standards {
        check_standards(standards, &mut errors);
    }
    check_reference(&state, &caller, body.reference_dataset_id, &mut errors).await?;
    check_auto_promote(body.auto_promote, body.reference_dataset_id, &mut errors);
    let (Some(name), Some(category), Some(monthly_price), Some(family), Some(parameters), true) =
        (name, category, price, family, parameters, errors.is_empty())
    else {
        return Err(ApiError::invalid_fields(errors));
    };
    let new = NewTool {
        creator_id: caller.id,
        name,
        description,
        category,
        family: family.name.to_owned(),
        monthly_price,
        tier: body.tier,
        parameters,
        metadata: body.metadata,
        standards: body.standards,
        auto_promote: body.auto_promote,
        reference_dataset_id: body.reference_dataset_id,
    };
    let tool = state.store.create_tool(&new, state.now()).await?;
    tracing::info!(tool_id = %tool.id, creator_id = %caller.id, "tool created");
    Ok((
        StatusCode::CREATED,
        Json(ToolEnvelope {
            tool: ToolView::from(&tool),
        }),
    ))
}

/// Filters and page of `GET /v1/tools`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListToolsQuery {
    /// Exact category.
    pub category: Option<String>,
    /// Exact family.
    pub family: Option<String>,
    /// Exact minimum tier.
    pub tier: Option<Tier>,
    /// Monthly price at most this (decimal).
    pub max_price: Option<String>,
    /// Tools of this creator.
    pub creator_id: Option<Uuid>,
    /// Order: `newest` (default) or `rating`, best first by the Bayesian average of the
    /// visible reviews (`rating.bayesian`: five imaginary 3-star reviews counted in, so one
    /// 5-star review does not outrank fifty 4.8s), ties newest first.
    #[param(inline)]
    pub sort: Option<ToolSort>,
    /// Page size, 1-100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page (of the same `sort`).
    pub cursor: Option<String>,
}

/// A page of tools.
#[derive(Debug, Serialize, ToSchema)]
pub struct ToolPage {
    /// Tools, in the order asked for (newest first by default).
    pub tools: Vec<ToolView>,
    /// Cursor of the next page, absent on the last.
    pub next_cursor: Option<String>,
}

/// Lists tools for rent (deleted ones are not listed), newest first or (`sort=rating`) best
/// rated first.
#[utoipa::path(get, path = "/v1/tools", tag = "tools", security(("bearer" = [])), params(ListToolsQuery),
    responses((status = 200, body = ToolPage), (status = 400, body = crate::error::Problem)))]
pub(crate) async fn list_tools(
    State(state): State<AppState>,
    AccountCaller(_caller): AccountCaller,
    ApiQuery(q): ApiQuery<ListToolsQuery>,
) -> ApiResult<Json<ToolPage>> {
    let limit = page_limit(q.limit)?;
    let max_price = q
        .max_price
        .as_deref()
        .map(|p| Money::parse_decimal(p, Money::from_cents(i64::MAX / 100)))
        .transpose()
        .map_err(|e| ApiError::invalid("max_price", e.to_string()))?;
    let mut filter = ToolFilter {
        category: q.category,
        family: q.family,
        tier: q.tier,
        max_price,
        creator_id: q.creator_id,
        ..ToolFilter::default()
    };
    let sort = q.sort.unwrap_or_default();
    sort.apply(q.cursor.as_deref(), &mut filter)?;
    let rows = state
        .store
        .list_tools(&filter, i64::from(limit) + 1)
        .await?;
    let (rows, next_cursor) = sort.page(rows, limit);
    Ok(Json(ToolPage {
        tools: rows.iter().map(ToolView::from).collect(),
        next_cursor,
    }))
}

/// The tool if the caller may see it: listed tools are public; a deleted one stays visible to
/// its creator and to subscribers whose paid period has not ended.
pub(crate) async fn visible_tool(state: &AppState, caller: &Account, id: Uuid) -> ApiResult<Tool> {
    let tool = state
        .store
        .tool(id)
        .await?
        .ok_or(ApiError::NotFound("tool"))?;
    if tool.deleted_at.is_none() || tool.creator_id == caller.id {
        return Ok(tool);
    }
    let sub = state.store.live_subscription(id, caller.id).await?;
    if sub.is_some_and(|s| s.has_access(state.now())) {
        Ok(tool)
    } else {
        Err(ApiError::NotFound("tool"))
    }
}

/// A tool by id.
#[utoipa::path(get, path = "/v1/tools/{id}", tag = "tools", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "tool id")),
    responses((status = 200, body = ToolEnvelope), (status = 404, body = crate::error::Problem)))]
pub(crate) async fn get_tool(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<ToolEnvelope>> {
    let tool = visible_tool(&state, &caller, id).await?;
    Ok(Json(ToolEnvelope {
        tool: ToolView::from(&tool),
    }))
}

/// Body of `PATCH /v1/tools/{id}`; absent fields are kept.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTool {
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New category.
    pub category: Option<String>,
    /// New monthly price (new subscriptions only; existing ones keep their locked price).
    #[schema(value_type = Option<f64>)]
    pub monthly_price: Option<Value>,
    /// New minimum tier.
    pub tier: Option<Tier>,
    /// Parameters to change, merged over the current version's; a change makes a new version.
    #[schema(value_type = Option<Object>)]
    pub parameters: Option<Map<String, Value>>,
    /// New metadata (replaces the old object).
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Map<String, Value>>,
    /// Not changeable: present only to explain why.
    #[schema(value_type = Option<String>)]
    pub family: Option<Value>,
    /// New standards gate; `null` goes back to the defaults.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<StandardsConfig>)]
    pub standards: Option<Option<StandardsConfig>>,
    /// Promote passed records of ending sessions at once; needs a reference dataset.
    pub auto_promote: Option<bool>,
    /// New reference dataset (one of the creator's); `null` for none.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Uuid>)]
    pub reference_dataset_id: Option<Option<Uuid>>,
}

/// A field that is present (`Some`, possibly `Some(None)` for `null`) or absent (`None`).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// The caller's live tool: 404 when it does not exist (or was deleted), 403 for anyone but its
/// creator.
pub(crate) async fn owned_tool(state: &AppState, caller: &Account, id: Uuid) -> ApiResult<Tool> {
    creators_tool(state, caller, id, "change it or manage its versions").await
}

/// [`owned_tool`] for a route whose 403 says what only the creator may do (`action`).
pub(crate) async fn creators_tool(
    state: &AppState,
    caller: &Account,
    id: Uuid,
    action: &str,
) -> ApiResult<Tool> {
    let tool = state
        .store
        .tool(id)
        .await?
        .filter(|t| t.deleted_at.is_none())
        .ok_or(ApiError::NotFound("tool"))?;
    if tool.creator_id != caller.id {
        return Err(ApiError::Forbidden(format!(
            "only the tool's creator may {action}"
        )));
    }
    Ok(tool)
}

/// Changes a tool (creator only). Changed parameters make a new version; history is kept.
#[utoipa::path(patch, path = "/v1/tools/{id}", tag = "tools", security(("bearer" = [])), request_body = UpdateTool,
    params(("id" = Uuid, Path, description = "tool id")),
    responses((status = 200, body = ToolEnvelope), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
async fn update_tool(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<UpdateTool>,
) -> ApiResult<Json<ToolEnvelope>> {
    let tool = owned_tool(&state, &caller, id).await?;
    let mut errors = Vec::new();
    if body.family.is_some() {
        errors.push(FieldError::new(
            "family",
            "cannot be changed; list a new tool instead",
        ));
    }
    let name = body
        .name
        .map(|n| collect(super::required_text("name", &n, 120), &mut errors));
    let category = body
        .category
        .map(|c| collect(super::required_text("category", &c, 64), &mut errors));
    let description = body.description.map(|d| check_description(&d, &mut errors));
    let monthly_price = body.monthly_price.and_then(|p| {
        Money::from_json(&p, state.settings.billing.max_monthly_price())
            .map_err(|e| errors.push(FieldError::new("monthly_price", e.to_string())))
            .ok()
    });
    let parameters = body.parameters.and_then(|changes| {
        let family = families::get(&tool.family)?;
        let mut merged = tool.parameters.clone();
        merged.extend(changes);
        check_parameters(family, &merged, &mut errors)
    });
    if let Some(m) = &body.metadata {
        check_metadata(m, &mut errors);
    }
    if let Some(Some(standards)) = &body.standards {
        check_standards(standards, &mut errors);
    }
    check_reference(
        &state,
        &caller,
        body.reference_dataset_id.flatten(),
        &mut errors,
    )
    .await?;
    check_auto_promote(
        body.auto_promote.unwrap_or(tool.auto_promote),
        body.reference_dataset_id
            .unwrap_or(tool.reference_dataset_id),
        &mut errors,
    );
    if !errors.is_empty() {
        return Err(ApiError::invalid_fields(errors));
    }
    let patch = ToolPatch {
        name: name.flatten(),
        description,
        category: category.flatten(),
        monthly_price,
        tier: body.tier,
        metadata: body.metadata,
        parameters,
        standards: body.standards,
        auto_promote: body.auto_promote,
        reference_dataset_id: body.reference_dataset_id,
    };
    let tool = state.store.update_tool(id, &patch, state.now()).await?;
    Ok(Json(ToolEnvelope {
        tool: ToolView::from(&tool),
    }))
}

/// Soft-deletes a tool (creator only): it leaves the listings and takes no new subscriptions;
/// current subscribers keep access until their paid period ends.
#[utoipa::path(delete, path = "/v1/tools/{id}", tag = "tools", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "tool id")),
    responses((status = 204, description = "deleted"), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem)))]
async fn delete_tool(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    owned_tool(&state, &caller, id).await?;
    state.store.delete_tool(id, state.now()).await?;
    tracing::info!(tool_id = %id, "tool deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// Every version of a tool.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionList {
    /// Versions, oldest first.
    pub versions: Vec<VersionView>,
}

/// A tool's version history. Its creator sees each version's whole lineage but a renter's
/// session and dataset hash; anyone else sees how a version was made, not from whose data.
#[utoipa::path(get, path = "/v1/tools/{id}/versions", tag = "tools", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "tool id")),
    responses((status = 200, body = VersionList), (status = 404, body = crate::error::Problem)))]
pub(crate) async fn list_versions(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<VersionList>> {
    let tool = visible_tool(&state, &caller, id).await?;
    let creator = tool.creator_id == caller.id;
    let versions = state.store.tool_versions(id).await?;
    Ok(Json(VersionList {
        versions: versions
            .iter()
            .map(|v| VersionView::for_viewer(v, creator))
            .collect(),
    }))
}

/// Whether the caller may use a tool now.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccessView {
    /// May use it now.
    pub has_access: bool,
    /// Why: `creator`, `subscription`, or `none`.
    pub via: &'static str,
    /// The subscription granting it.
    pub subscription_id: Option<Uuid>,
    /// Its tier.
    pub tier: Option<Tier>,
    /// When access ends unless renewed (none for the creator).
    pub expires_at: Option<DateTime<Utc>>,
}

/// The caller's access to a tool.
#[utoipa::path(get, path = "/v1/tools/{id}/access", tag = "tools", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "tool id")),
    responses((status = 200, body = AccessView), (status = 404, body = crate::error::Problem)))]
pub(crate) async fn get_access(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<AccessView>> {
    let tool = state
        .store
        .tool(id)
        .await?
        .ok_or(ApiError::NotFound("tool"))?;
    if tool.creator_id == caller.id {
        return Ok(Json(AccessView {
            has_access: true,
            via: "creator",
            subscription_id: None,
            tier: None,
            expires_at: None,
        }));
    }
    let now = state.now();
    let view = match state.store.live_subscription(id, caller.id).await? {
        Some(s) if s.has_access(now) => AccessView {
            has_access: true,
            via: "subscription",
            subscription_id: Some(s.id),
            tier: Some(s.tier),
            expires_at: Some(s.paid_through()),
        },
        _ if tool.deleted_at.is_some() => return Err(ApiError::NotFound("tool")),
        _ => AccessView {
            has_access: false,
            via: "none",
            subscription_id: None,
            tier: None,
            expires_at: None,
        },
    };
    Ok(Json(view))
}
