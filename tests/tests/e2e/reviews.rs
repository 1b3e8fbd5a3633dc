//! Reviews and ratings, over HTTP on SQLite and PostgreSQL: who may review (a subscriber, an
//! ex-subscriber, a session user; not a stranger, not the creator), one review per account and
//! tool, changes and deletion by the author only, the creator's one reply, the operator's
//! hiding (out of the public list and of the mean), the rating on tools and `sort=rating` by
//! the Bayesian average; and the flow in the dashboard.

mod access;
mod browser;
mod document;
mod moderation;
mod moderation_page;
mod rating;
mod reports;

use serde_json::{Value, json};
use tests::{Resp, TestApp, User};

/// A tool of `creator` at 1.00 a month, basic tier; its id.
async fn cheap_tool(app: &TestApp, creator: &User, name: &str) -> String {
    app.tool(creator, TestApp::tool_body(name, 1.0, "basic"))
        .await["id"]
        .as_str()
        .expect("tool id")
        .to_owned()
}

/// A funded account subscribed to each of `tools`.
async fn subscriber(app: &TestApp, name: &str, tools: &[&str]) -> User {
    let user = app.funded_user(name, 100.0).await;
    for tool in tools {
        subscribe(app, &user, tool).await;
    }
    user
}

/// Subscribes `user` to `tool` for a month; the subscription's id.
async fn subscribe(app: &TestApp, user: &User, tool: &str) -> String {
    app.post(
        "/v1/subscriptions",
        &user.key,
        &json!({"tool_id": tool, "tier": "basic", "months": 1}),
    )
    .await
    .expect(201)["subscription"]["id"]
        .as_str()
        .expect("subscription id")
        .to_owned()
}

/// An account that inserted `tool` into one of its sessions (written through the store: a
/// session user who holds no subscription).
async fn session_user(app: &TestApp, name: &str, tool: &str) -> User {
    let user = app.user(name).await;
    let tool = app
        .store
        .tool(tool.parse().expect("uuid"))
        .await
        .expect("read")
        .expect("tool");
    app.store_session_with_tool(&user, &tool).await;
    user
}

/// `POST /v1/tools/{tool}/reviews` as `key`.
async fn post_review(app: &TestApp, key: &str, tool: &str, body: &Value) -> Resp {
    app.post(&format!("/v1/tools/{tool}/reviews"), key, body)
        .await
}

/// Reviews `tool` as `user` with `stars` (201 expected); the review's id.
async fn review(app: &TestApp, user: &User, tool: &str, stars: i64) -> String {
    post_review(
        app,
        &user.key,
        tool,
        &json!({"rating": stars, "title": format!("{stars} stars"), "body": "as used"}),
    )
    .await
    .expect(201)["review"]["id"]
        .as_str()
        .expect("review id")
        .to_owned()
}

/// The tool's `rating` as `GET /v1/tools/{id}` shows it to `key`.
async fn rating(app: &TestApp, key: &str, tool: &str) -> Value {
    app.get(&format!("/v1/tools/{tool}"), key).await.expect(200)["tool"]["rating"].clone()
}

/// The ids of the reviews `key` sees in the tool's public list.
async fn listed(app: &TestApp, key: &str, tool: &str) -> Vec<String> {
    app.get(&format!("/v1/tools/{tool}/reviews"), key)
        .await
        .expect(200)["reviews"]
        .as_array()
        .expect("reviews")
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_owned())
        .collect()
}
