//! Health, readiness, the OpenAPI document and the families' schemas.

use reqwest::Method;
use serde_json::json;
use tests::{store_test, store_test_with};

store_test!(health_and_readiness_answer, |app| {
    let health = app
        .send(Method::GET, "/healthz", None, None)
        .await
        .expect(200);
    assert_eq!(health["status"], json!("ok"));
    let ready = app
        .send(Method::GET, "/readyz", None, None)
        .await
        .expect(200);
    assert_eq!(ready["store"], json!("ok"));
});

store_test!(openapi_document_covers_every_route, |app| {
    let doc = app
        .send(Method::GET, "/openapi.json", None, None)
        .await
        .expect(200);
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "OpenAPI 3.1"
    );
    let paths = doc["paths"].as_object().expect("paths");
    for (path, method) in [
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/v1/accounts", "post"),
        ("/v1/accounts/me", "get"),
        ("/v1/accounts/me/credits", "post"),
        ("/v1/accounts/me/ledger", "get"),
        ("/v1/families", "get"),
        ("/v1/families/{name}", "get"),
        ("/v1/tools", "post"),
        ("/v1/tools", "get"),
        ("/v1/tools/{id}", "get"),
        ("/v1/tools/{id}", "patch"),
        ("/v1/tools/{id}", "delete"),
        ("/v1/tools/{id}/versions", "get"),
        ("/v1/tools/{id}/access", "get"),
        ("/v1/subscriptions", "post"),
        ("/v1/subscriptions", "get"),
        ("/v1/subscriptions/{id}", "get"),
        ("/v1/subscriptions/{id}/cancel", "post"),
        ("/v1/admin/ledger/check", "get"),
        ("/v1/sessions", "post"),
        ("/v1/sessions", "get"),
        ("/v1/sessions/{id}", "get"),
        ("/v1/sessions/{id}/end", "post"),
        ("/v1/sessions/{id}/tools", "post"),
        ("/v1/sessions/{id}/tools/{tool_id}/optimizations", "post"),
        ("/v1/optimizations/{id}", "get"),
        ("/v1/optimizations/{id}/promote", "post"),
        ("/v1/tools/{id}/promotion-candidates", "get"),
        ("/v1/tools/{id}/versions/{n}/rollback", "post"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} is documented"
        );
    }
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    for name in [
        "Problem",
        "ToolView",
        "SubscriptionView",
        "AccountView",
        "CreateTool",
        "CreateSubscription",
        "SessionEnvelope",
        "RecordView",
        "StandardsReport",
        "SessionConfig",
    ] {
        assert!(schemas.contains_key(name), "schema {name} is documented");
    }
});

store_test!(families_list_parameter_schemas_and_constraints, |app| {
    let alice = app.user("alice").await;
    let body = app.get("/v1/families", &alice.key).await.expect(200);
    let families = body["families"].as_array().expect("families");
    let names: Vec<_> = families.iter().filter_map(|f| f["name"].as_str()).collect();
    assert_eq!(
        names,
        [
            "momentum",
            "sma_crossover",
            "mean_reversion",
            "rsi",
            "neural",
            "momentum_return"
        ]
    );
    let version = |name: &str| {
        families
            .iter()
            .find(|f| f["name"] == json!(name))
            .map(|f| f["version"].clone())
    };
    assert_eq!(version("momentum"), Some(json!(2)), "scale-free momentum");
    assert_eq!(
        version("momentum_return"),
        Some(json!(1)),
        "the legacy rule"
    );

    let sma = app
        .get("/v1/families/sma_crossover", &alice.key)
        .await
        .expect(200)["family"]
        .clone();
    assert_eq!(
        sma["parameters"][0],
        json!({
            "name": "fast", "type": "int", "min": 2, "max": 200, "default": 10,
            "description": "bars in the fast moving average"
        })
    );
    assert_eq!(
        sma["constraints"],
        json!([{"kind": "less_than", "left": "fast", "right": "slow"}])
    );
    let rsi = families.iter().find(|f| f["name"] == "rsi").expect("rsi");
    assert_eq!(rsi["parameters"][1]["type"], json!("float"));
    app.get("/v1/families/astrology", &alice.key)
        .await
        .problem(404);
});

store_test_with!(
    metrics_answer_the_scrapers_token_and_no_one_else,
    |s: &mut shared::config::Settings| {
        s.api.metrics_token = Some(secrecy::SecretString::from(SCRAPER.to_owned()));
    },
    |app| {
        let url = format!("{}/metrics", app.address);
        let read = async |token: Option<&str>| {
            let req = app.client.get(&url);
            let req = match token {
                Some(t) => req.bearer_auth(t),
                None => req,
            };
            req.send().await.expect("sent").status().as_u16()
        };
        assert_eq!(read(Some(SCRAPER)).await, 200);
        assert_eq!(read(Some(tests::ADMIN_KEY)).await, 200);
        assert_eq!(read(Some("scraper-token-0123456788")).await, 401);
        assert_eq!(read(None).await, 401);
    }
);

const SCRAPER: &str = "scraper-token-0123456789";
