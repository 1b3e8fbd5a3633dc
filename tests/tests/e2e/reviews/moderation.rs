//! The creator's one reply, the operator's hiding and the operator's list of every tool's
//! reviews.

use serde_json::json;
use tests::{ADMIN_KEY, store_test};

use super::{cheap_tool, listed, rating, review, subscriber};

store_test!(the_creator_replies_once_and_nobody_else_does, |app| {
    // Arrange
    let creator = app.user("creator").await;
    let tool = cheap_tool(&app, &creator, "Answered").await;
    let author = subscriber(&app, "author", &[&tool]).await;
    let other = subscriber(&app, "other", &[&tool]).await;
    let id = review(&app, &author, &tool, 3).await;
    let path = format!("/v1/reviews/{id}/reply");
    let answer = json!({"reply": "Thanks! v2 fixes <the> lag."});

    // Act + Assert
    app.post(&path, &author.key, &answer).await.problem(403);
    app.post(&path, &other.key, &answer).await.problem(403);
    app.post(&path, ADMIN_KEY, &answer).await.problem(403);
    app.post(&path, &creator.key, &json!({"reply": "  "}))
        .await
        .problem(422);
    app.post(&path, &creator.key, &json!({"reply": "a".repeat(2_001)}))
        .await
        .problem(422);
    let replied = app.post(&path, &creator.key, &answer).await.expect(200)["review"].clone();
    assert_eq!(replied["reply"], json!("Thanks! v2 fixes <the> lag."));
    assert!(replied["replied_at"].is_string(), "{replied}");
    app.post(&path, &creator.key, &json!({"reply": "second thoughts"}))
        .await
        .problem(409);
    let seen = app
        .get(&format!("/v1/reviews/{id}"), &other.key)
        .await
        .expect(200)["review"]
        .clone();
    assert_eq!(
        seen["reply"],
        json!("Thanks! v2 fixes <the> lag."),
        "the first reply stays"
    );
    app.post(
        "/v1/reviews/0190f3c4-0000-7000-8000-000000000000/reply",
        &creator.key,
        &answer,
    )
    .await
    .problem(404);
});

store_test!(a_hidden_review_leaves_the_public_list_and_the_mean, |app| {
    // Arrange
    let creator = app.user("creator").await;
    let tool = cheap_tool(&app, &creator, "Moderated").await;
    let fan = subscriber(&app, "fan", &[&tool]).await;
    let troll = subscriber(&app, "troll", &[&tool]).await;
    let stranger = app.user("stranger").await;
    let kept = review(&app, &fan, &tool, 5).await;
    let abusive = review(&app, &troll, &tool, 1).await;
    let r = rating(&app, &stranger.key, &tool).await;
    assert_eq!(
        (r["count"].clone(), r["mean"].clone()),
        (json!(2), json!(3.0))
    );
    let hide = format!("/v1/reviews/{abusive}/hide");

    // Act: accounts do not see the operator's route; the operator hides.
    app.post(&hide, &creator.key, &json!({})).await.problem(404);
    app.post(&hide, &troll.key, &json!({})).await.problem(404);
    app.post(&hide, ADMIN_KEY, &json!({"reason": "x".repeat(501)}))
        .await
        .problem(422);
    let hidden = app
        .post(&hide, ADMIN_KEY, &json!({"reason": "insults"}))
        .await
        .expect(200)["review"]
        .clone();

    // Assert
    assert_eq!(
        (hidden["hidden"].clone(), hidden["hidden_reason"].clone()),
        (json!(true), json!("insults"))
    );
    assert_eq!(
        listed(&app, &stranger.key, &tool).await,
        std::slice::from_ref(&kept),
        "out of the public list"
    );
    let page = app
        .get(&format!("/v1/tools/{tool}/reviews"), &stranger.key)
        .await
        .expect(200);
    assert_eq!(
        (
            page["rating"]["count"].clone(),
            page["rating"]["mean"].clone()
        ),
        (json!(1), json!(5.0)),
        "out of the mean"
    );
    let r = rating(&app, &stranger.key, &tool).await;
    assert_eq!(
        (r["count"].clone(), r["mean"].clone()),
        (json!(1), json!(5.0))
    );
    let listing = app.get("/v1/tools", &stranger.key).await.expect(200);
    assert_eq!(
        listing["tools"][0]["rating"]["count"],
        json!(1),
        "the listing agrees"
    );
    app.get(&format!("/v1/reviews/{abusive}"), &stranger.key)
        .await
        .problem(404);
    app.get(&format!("/v1/reviews/{abusive}"), &creator.key)
        .await
        .problem(404);
    app.post(
        &format!("/v1/reviews/{abusive}/reply"),
        &creator.key,
        &json!({"reply": "hm"}),
    )
    .await
    .problem(404);
    let own = app
        .get(&format!("/v1/reviews/{abusive}"), &troll.key)
        .await
        .expect(200)["review"]
        .clone();
    assert_eq!(own["hidden"], json!(true), "kept, and its author sees why");
    let all = listed(&app, ADMIN_KEY, &tool).await;
    assert_eq!(
        all,
        [abusive.clone(), kept.clone()],
        "the operator sees every review"
    );
    let again = app
        .post(&hide, ADMIN_KEY, &json!({"reason": "other"}))
        .await
        .expect(200);
    assert_eq!(
        again["review"]["hidden_reason"],
        json!("insults"),
        "hiding twice keeps the first hiding"
    );

    // Unhiding brings it back.
    app.post(
        &format!("/v1/reviews/{abusive}/unhide"),
        &fan.key,
        &json!({}),
    )
    .await
    .problem(404);
    let shown = app
        .post(
            &format!("/v1/reviews/{abusive}/unhide"),
            ADMIN_KEY,
            &json!({}),
        )
        .await
        .expect(200)["review"]
        .clone();
    assert_eq!(shown["hidden"], json!(false));
    assert_eq!(listed(&app, &stranger.key, &tool).await.len(), 2);
    assert_eq!(rating(&app, &stranger.key, &tool).await["mean"], json!(3.0));
    app.post(
        "/v1/reviews/0190f3c4-0000-7000-8000-000000000000/hide",
        ADMIN_KEY,
        &json!({}),
    )
    .await
    .problem(404);
});

/// The ids of `GET /v1/admin/reviews{query}`'s page, and its next cursor.
async fn admin_page(app: &tests::TestApp, query: &str) -> (Vec<String>, Option<String>) {
    let page = app
        .get(&format!("/v1/admin/reviews{query}"), ADMIN_KEY)
        .await
        .expect(200);
    let ids = page["reviews"]
        .as_array()
        .expect("reviews")
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_owned())
        .collect();
    (ids, page["next_cursor"].as_str().map(str::to_owned))
}

store_test!(
    the_operator_reads_every_tools_reviews_by_visibility,
    |app| {
        // Arrange: two creators' tools, three reviews, one of them hidden.
        let ada = app.user("ada").await;
        let eve = app.user("eve").await;
        let first = cheap_tool(&app, &ada, "First").await;
        let second = cheap_tool(&app, &eve, "Second").await;
        let bob = subscriber(&app, "bob", &[&first, &second]).await;
        let cy = subscriber(&app, "cy", &[&first]).await;
        let oldest = review(&app, &bob, &first, 4).await;
        let middle = review(&app, &bob, &second, 2).await;
        let newest = review(&app, &cy, &first, 1).await;
        app.post(
            &format!("/v1/reviews/{newest}/hide"),
            ADMIN_KEY,
            &json!({"reason": "spam"}),
        )
        .await
        .expect(200);

        // Act + Assert: every tool's, newest first, hidden or not by default.
        let (all, next) = admin_page(&app, "").await;
        assert_eq!(all, [newest.clone(), middle.clone(), oldest.clone()]);
        assert_eq!(next, None);
        let (hidden, _) = admin_page(&app, "?visibility=hidden").await;
        assert_eq!(hidden, std::slice::from_ref(&newest));
        let (visible, _) = admin_page(&app, "?visibility=visible").await;
        assert_eq!(visible, [middle.clone(), oldest.clone()]);
        let (of_first, _) = admin_page(&app, &format!("?tool_id={first}")).await;
        assert_eq!(of_first, [newest.clone(), oldest.clone()]);
        let (visible_of_first, _) =
            admin_page(&app, &format!("?tool_id={first}&visibility=visible")).await;
        assert_eq!(visible_of_first, std::slice::from_ref(&oldest));

        // A page at a time.
        let (page, cursor) = admin_page(&app, "?limit=2").await;
        assert_eq!(page, [newest.clone(), middle.clone()]);
        let cursor = cursor.expect("a second page");
        let (rest, last) = admin_page(&app, &format!("?limit=2&cursor={cursor}")).await;
        assert_eq!((rest, last), (vec![oldest.clone()], None));

        // Bad filters are named; accounts do not see the operator's list.
        let bad = app
            .get("/v1/admin/reviews?visibility=secret", ADMIN_KEY)
            .await
            .problem(422);
        assert_eq!(bad["errors"][0]["field"], json!("visibility"), "{bad}");
        app.get("/v1/admin/reviews?limit=0", ADMIN_KEY)
            .await
            .problem(422);
        for key in [&ada.key, &bob.key] {
            app.get("/v1/admin/reviews", key).await.problem(404);
        }
        let hidden_one = app
            .get("/v1/admin/reviews?visibility=hidden", ADMIN_KEY)
            .await
            .expect(200);
        assert_eq!(
            hidden_one["reviews"][0]["hidden_reason"],
            json!("spam"),
            "the operator reads why"
        );
    }
);
