//! The marketplace: browse and filter tools, a tool's page (versions, lineage, certificates,
//! access) and subscribing at a tier.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use serde_json::json;
use shared::domain::Tier;
use uuid::Uuid;

use super::{account, acting, body, given};
use crate::extract::{ApiPath, ApiQuery, HashedJson, IdempotencyKeyHeader};
use crate::routes::tools::{self as api, AccessView, ListToolsQuery};
use crate::state::AppState;
use crate::views::{ToolView, VersionView};
use crate::web::extract::{Form, Path, Query};
use crate::web::{Chrome, PageResult, SignedIn, render};

/// The filters of the browse page, as typed (empty fields are no filter).
#[derive(Debug, Default, Deserialize)]
pub(super) struct Filters {
    #[serde(default)]
    category: String,
    #[serde(default)]
    family: String,
    #[serde(default)]
    tier: String,
    #[serde(default)]
    max_price: String,
    #[serde(default)]
    creator_id: String,
    /// `rating` for best rated first (empty: newest first).
    #[serde(default)]
    sort: String,
    cursor: Option<String>,
}

#[derive(Template)]
#[template(path = "tools.html")]
struct BrowsePage {
    chrome: Chrome,
    filters: Filters,
    tools: Vec<ToolView>,
    next: Option<String>,
    families: Vec<&'static str>,
    tiers: [&'static str; 4],
}

pub(super) async fn browse(
    State(state): State<AppState>,
    user: SignedIn,
    Query(filters): Query<Filters>,
) -> PageResult {
    let caller = account(&user)?;
    let query: ListToolsQuery = body(json!({
        "category": given(&filters.category),
        "family": given(&filters.family),
        "tier": given(&filters.tier),
        "max_price": given(&filters.max_price),
        "creator_id": given(&filters.creator_id),
        "sort": given(&filters.sort),
        "limit": 50,
        "cursor": filters.cursor,
    }))?;
    let page = api::list_tools(State(state), caller, ApiQuery(query))
        .await?
        .0;
    let next = page.next_cursor.map(|c| {
        let mut q = url_query(&filters);
        q.push_str("&cursor=");
        q.push_str(&c);
        q
    });
    Ok(render(&BrowsePage {
        chrome: Chrome::of(&user, "tools"),
        tools: page.tools,
        next,
        families: shared::domain::families::all()
            .iter()
            .map(|f| f.name)
            .collect(),
        tiers: ["free", "basic", "pro", "enterprise"],
        filters,
    }))
}

/// The filters as a query string (for the next page's link).
fn url_query(f: &Filters) -> String {
    let pairs = [
        ("category", &f.category),
        ("family", &f.family),
        ("tier", &f.tier),
        ("max_price", &f.max_price),
        ("creator_id", &f.creator_id),
        ("sort", &f.sort),
    ];
    let mut out = String::from("?");
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(&crate::web::percent_encode(v));
    }
    out
}

#[derive(Template)]
#[template(path = "tool.html")]
struct ToolPage {
    chrome: Chrome,
    tool: ToolView,
    versions: Vec<VersionView>,
    access: AccessView,
    mine: bool,
    tiers: Vec<(&'static str, String)>,
    idempotency_key: Uuid,
    /// The creator's runs of this tool and datasets to train on (empty for anyone else).
    runs: Vec<crate::views::TrainingView>,
    datasets: Vec<crate::routes::datasets::DatasetView>,
    methods: [(&'static str, &'static str); 4],
    /// Its rating, reviews and review forms.
    reviews: super::reviews::ReviewsBlock,
}

pub(super) async fn show(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<Uuid>,
) -> PageResult {
    let caller = account(&user)?;
    let me = caller.0.id;
    let tool = api::get_tool(State(state.clone()), caller.clone(), ApiPath(id))
        .await?
        .0
        .tool;
    let versions = api::list_versions(State(state.clone()), caller.clone(), ApiPath(id))
        .await?
        .0
        .versions;
    let access = api::get_access(State(state.clone()), caller.clone(), ApiPath(id))
        .await?
        .0;
    let reviews = super::reviews::ReviewsBlock::of(&state, &caller, &tool).await?;
    let (runs, datasets) = if tool.creator_id == me {
        let runs = super::trainings::runs_of(&state, &user, id).await?;
        let datasets = super::form_datasets(state, caller).await?;
        (runs, datasets)
    } else {
        (Vec::new(), Vec::new())
    };
    let price = tool.monthly_price;
    let tiers = [Tier::Free, Tier::Basic, Tier::Pro, Tier::Enterprise]
        .into_iter()
        .filter(|t| *t >= tool.tier)
        .map(|t| (t.as_str(), t.monthly_price(price).to_string()))
        .collect();
    Ok(render(&ToolPage {
        chrome: Chrome::of(&user, "tools"),
        mine: tool.creator_id == me,
        tool,
        versions,
        access,
        tiers,
        idempotency_key: Uuid::now_v7(),
        runs,
        datasets,
        methods: super::trainings::METHODS,
        reviews,
    }))
}

#[derive(Deserialize)]
pub(super) struct SubscribeForm {
    csrf: String,
    tier: String,
    months: String,
    auto_renew: Option<String>,
    idempotency_key: String,
}

/// Subscribes at a tier. The form carries an idempotency key made when it was shown, so
/// sending it twice (a double click, a reload) charges once.
pub(super) async fn subscribe(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<Uuid>,
    Form(form): Form<SubscribeForm>,
) -> PageResult {
    let caller = acting(&user, &form.csrf)?;
    let months: serde_json::Value = form
        .months
        .trim()
        .parse::<u32>()
        .map_or_else(|_| json!(form.months), |m| json!(m));
    let request = HashedJson::of(json!({
        "tool_id": id,
        "tier": form.tier,
        "months": months,
        "auto_renew": form.auto_renew.is_some(),
    }))?;
    crate::routes::subscriptions::create_subscription(
        State(state),
        caller,
        IdempotencyKeyHeader(Some(format!("dashboard-{}", form.idempotency_key))),
        request,
    )
    .await?;
    Ok(Redirect::to("/subscriptions").into_response())
}
