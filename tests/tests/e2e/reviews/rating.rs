//! The rating on tools and `GET /v1/tools?sort=rating`: best first by the Bayesian average
//! `(15 + sum) / (5 + count)`, ties newest first, paged by its own cursor.

use futures::future::join_all;
use serde_json::{Value, json};
use tests::{TestApp, User, store_test};

use super::{cheap_tool, rating, review, subscribe, subscriber};

/// Every tool of `sort=rating`, page by page (`limit` a page); names in order.
async fn rated_names(app: &TestApp, user: &User, limit: u32) -> Vec<String> {
    let mut names = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/v1/tools?sort=rating&limit={limit}");
        if let Some(c) = &cursor {
            path.push_str("&cursor=");
            path.push_str(c);
        }
        let page = app.get(&path, &user.key).await.expect(200);
        names.extend(
            page["tools"]
                .as_array()
                .expect("tools")
                .iter()
                .map(|t| t["name"].as_str().expect("name").to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return names,
        }
    }
}

fn close(v: &Value, expected: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - expected).abs() < 1e-9)
}

store_test!(sort_by_rating_ranks_by_the_bayesian_average, |app| {
    // Arrange: one lucky 5-star tool, one with five reviews averaging 4.8, a 4 + 5, a lone
    // 1-star, and two without reviews (the newer of which comes first).
    let creator = app.user("creator").await;
    let lucky = cheap_tool(&app, &creator, "lucky").await;
    let proven = cheap_tool(&app, &creator, "proven").await;
    let mixed = cheap_tool(&app, &creator, "mixed").await;
    let unrated_old = cheap_tool(&app, &creator, "unrated old").await;
    let panned = cheap_tool(&app, &creator, "panned").await;
    cheap_tool(&app, &creator, "unrated new").await;
    let first = subscriber(&app, "r0", &[&proven, &lucky, &mixed, &panned]).await;
    review(&app, &first, &proven, 4).await;
    for i in 1..5 {
        let r = subscriber(&app, &format!("r{i}"), &[&proven]).await;
        review(&app, &r, &proven, 5).await;
    }
    review(&app, &first, &lucky, 5).await;
    review(&app, &first, &mixed, 4).await;
    let second = subscriber(&app, "s", &[&mixed]).await;
    review(&app, &second, &mixed, 5).await;
    review(&app, &first, &panned, 1).await;

    // Act
    let by_rating = rated_names(&app, &creator, 100).await;
    let paged = rated_names(&app, &creator, 2).await;
    let newest = app.get("/v1/tools", &creator.key).await.expect(200);

    // Assert
    let expected = [
        "proven",
        "mixed",
        "lucky",
        "unrated new",
        "unrated old",
        "panned",
    ];
    assert_eq!(
        by_rating, expected,
        "3.9 > 3.43 > 3.33 > 3.0 (newest first) > 2.67: five 4.8s beat one 5"
    );
    assert_eq!(
        paged, expected,
        "pages of two walk the same order, once each"
    );
    let newest: Vec<_> = newest["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .map(|t| t["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        newest,
        [
            "unrated new",
            "panned",
            "unrated old",
            "mixed",
            "proven",
            "lucky"
        ],
        "the default order is still newest first"
    );
    let p = rating(&app, &creator.key, &proven).await;
    assert_eq!(p["count"], json!(5));
    assert!(close(&p["mean"], 4.8), "{p}");
    assert!(close(&p["bayesian"], 39.0 / 10.0), "{p}");
    let l = rating(&app, &creator.key, &lucky).await;
    assert!(
        close(&l["mean"], 5.0) && close(&l["bayesian"], 20.0 / 6.0),
        "{l}"
    );
    let u = rating(&app, &creator.key, &unrated_old).await;
    assert_eq!(
        (u["count"].clone(), u["mean"].clone()),
        (json!(0), json!(null))
    );
    assert!(close(&u["bayesian"], 3.0), "{u}");
});

store_test!(sort_by_rating_filters_and_refuses_foreign_cursors, |app| {
    // Arrange
    let creator = app.user("creator").await;
    let cheap = cheap_tool(&app, &creator, "cheap").await;
    let dear = app
        .tool(&creator, TestApp::tool_body("dear", 50.0, "basic"))
        .await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let renter = app.funded_user("renter", 500.0).await;
    subscribe(&app, &renter, &cheap).await;
    subscribe(&app, &renter, &dear).await;
    review(&app, &renter, &dear, 5).await;
    review(&app, &renter, &cheap, 4).await;
    let first = app.get("/v1/tools?limit=1", &renter.key).await.expect(200)["next_cursor"]
        .as_str()
        .expect("a newest-first cursor")
        .to_owned();

    // Act
    let filtered = app
        .get("/v1/tools?sort=rating&max_price=10", &renter.key)
        .await
        .expect(200);
    let foreign = app
        .get(
            &format!("/v1/tools?sort=rating&cursor={first}"),
            &renter.key,
        )
        .await;
    let unknown = app.get("/v1/tools?sort=stars", &renter.key).await;

    // Assert
    let names: Vec<_> = filtered["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .map(|t| t["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["cheap"], "filters apply to the rated order");
    foreign.problem(400);
    assert!(
        unknown.status.is_client_error(),
        "an unknown sort is refused"
    );
});

store_test!(concurrent_reviews_of_one_tool_all_count, |app| {
    // Arrange
    let creator = app.user("creator").await;
    let tool = cheap_tool(&app, &creator, "popular").await;
    let mut reviewers = Vec::new();
    for i in 0..8 {
        reviewers.push(subscriber(&app, &format!("r{i}"), &[&tool]).await);
    }

    // Act
    let stars = [5, 4, 3, 5, 2, 5, 1, 4];
    join_all(
        reviewers
            .iter()
            .zip(stars)
            .map(|(r, s)| review(&app, r, &tool, s)),
    )
    .await;

    // Assert
    let r = rating(&app, &creator.key, &tool).await;
    assert_eq!(r["count"], json!(8), "no review lost: {r}");
    assert!(close(&r["mean"], 29.0 / 8.0), "{r}");
    assert!(close(&r["bayesian"], 44.0 / 13.0), "{r}");
});
