//! The OpenAPI document describes the review routes, their refusals, the tools' rating and
//! `sort=rating`.

use reqwest::Method;
use serde_json::json;
use tests::store_test;

store_test!(the_document_describes_reviews_and_ratings, |app| {
    // Act
    let doc = app
        .send(Method::GET, "/openapi.json", None, None)
        .await
        .expect(200);

    // Assert
    let paths = &doc["paths"];
    for (path, method, statuses) in [
        (
            "/v1/tools/{id}/reviews",
            "post",
            &["201", "403", "404", "409", "422"][..],
        ),
        ("/v1/tools/{id}/reviews", "get", &["200", "404"][..]),
        ("/v1/reviews/{id}", "get", &["200", "404"][..]),
        (
            "/v1/reviews/{id}",
            "patch",
            &["200", "403", "404", "422"][..],
        ),
        ("/v1/reviews/{id}", "delete", &["204", "403", "404"][..]),
        (
            "/v1/reviews/{id}/reply",
            "post",
            &["200", "403", "404", "409", "422"][..],
        ),
        ("/v1/reviews/{id}/hide", "post", &["200", "404", "422"][..]),
        ("/v1/reviews/{id}/unhide", "post", &["200", "404"][..]),
        ("/v1/admin/reviews", "get", &["200", "422"][..]),
        (
            "/v1/reviews/{id}/report",
            "post",
            &["201", "403", "404", "409", "422"][..],
        ),
        (
            "/v1/reviews/{id}/dismiss-reports",
            "post",
            &["200", "404"][..],
        ),
    ] {
        let op = &paths[path][method];
        assert!(op.is_object(), "{method} {path} is documented");
        for status in statuses {
            assert!(
                op["responses"][status].is_object(),
                "{method} {path} declares {status}"
            );
        }
    }
    let hide = &paths["/v1/reviews/{id}/hide"]["post"]["security"];
    assert_eq!(hide, &json!([{"admin": []}]), "hiding is the operator's");
    let all = &paths["/v1/admin/reviews"]["get"]["security"];
    assert_eq!(
        all,
        &json!([{"admin": []}]),
        "every tool's list is the operator's"
    );
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["ToolView"]["properties"]["rating"]["$ref"],
        json!("#/components/schemas/RatingView")
    );
    for field in ["count", "mean", "bayesian"] {
        assert!(
            schemas["RatingView"]["properties"][field].is_object(),
            "RatingView.{field}"
        );
    }
    for field in ["rating", "title", "body", "reply", "hidden"] {
        assert!(
            schemas["ReviewView"]["properties"][field].is_object(),
            "ReviewView.{field}"
        );
    }
    let params = paths["/v1/tools"]["get"]["parameters"]
        .as_array()
        .expect("parameters");
    let sort = params
        .iter()
        .find(|p| p["name"] == json!("sort"))
        .expect("GET /v1/tools documents `sort`");
    assert_eq!(sort["in"], json!("query"));
    let values = sort["schema"].to_string();
    assert!(
        values.contains("\"newest\"") && values.contains("\"rating\""),
        "the values are in the document itself, not a reference: {sort}"
    );
    assert!(
        sort.to_string().contains("rating") && sort.to_string().contains("Bayesian"),
        "names the order and how it ranks: {sort}"
    );
});
