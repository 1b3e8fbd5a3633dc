//! Who may review a tool, once, and who may change or delete a review.

use serde_json::json;
use tests::{ADMIN_KEY, store_test};

use super::{cheap_tool, listed, post_review, rating, review, session_user, subscribe, subscriber};

store_test!(
    subscribers_ex_subscribers_and_session_users_review_strangers_and_creators_do_not,
    |app| {
        // Arrange
        let creator = app.user("creator").await;
        let tool = cheap_tool(&app, &creator, "Reviewed").await;
        let current = subscriber(&app, "current", &[&tool]).await;
        let former = app.funded_user("former", 100.0).await;
        let sub = subscribe(&app, &former, &tool).await;
        app.post(
            &format!("/v1/subscriptions/{sub}/cancel"),
            &former.key,
            &json!({"immediate": true}),
        )
        .await
        .expect(200);
        let access = app
            .get(&format!("/v1/tools/{tool}/access"), &former.key)
            .await
            .expect(200);
        assert_eq!(access["has_access"], json!(false), "an ex-subscriber");
        let in_session = session_user(&app, "session user", &tool).await;
        let stranger = app.funded_user("stranger", 100.0).await;
        let body = json!({"rating": 4, "title": "Solid <b>signals</b> & more", "body": "Line one\nline two"});

        // Act
        let by_current = post_review(&app, &current.key, &tool, &body).await;
        let by_former = post_review(&app, &former.key, &tool, &body).await;
        let by_session = post_review(&app, &in_session.key, &tool, &body).await;
        let by_stranger = post_review(&app, &stranger.key, &tool, &body).await;
        let by_creator = post_review(&app, &creator.key, &tool, &body).await;
        let by_admin = post_review(&app, ADMIN_KEY, &tool, &body).await;
        let of_nothing = post_review(
            &app,
            &current.key,
            "0190f3c4-0000-7000-8000-000000000000",
            &body,
        )
        .await;

        // Assert
        let written = by_current.expect(201)["review"].clone();
        assert_eq!(written["rating"], json!(4));
        assert_eq!(
            written["title"],
            json!("Solid <b>signals</b> & more"),
            "text is stored as given"
        );
        assert_eq!(written["body"], json!("Line one\nline two"));
        assert_eq!(written["author_id"], json!(current.id));
        assert_eq!(written["hidden"], json!(false));
        assert_eq!(written["reply"], json!(null));
        by_former.expect(201);
        by_session.expect(201);
        let refused = by_stranger.problem(403);
        assert!(
            refused["detail"]
                .as_str()
                .unwrap_or("")
                .contains("subscribe"),
            "says who may review: {refused}"
        );
        by_creator.problem(403);
        by_admin.problem(403);
        of_nothing.problem(404);
        assert_eq!(
            listed(&app, &stranger.key, &tool).await.len(),
            3,
            "three reviews, no more"
        );
        let r = rating(&app, &stranger.key, &tool).await;
        assert_eq!(
            (r["count"].clone(), r["mean"].clone()),
            (json!(3), json!(4.0))
        );
    }
);

store_test!(one_review_per_account_and_tool, |app| {
    // Arrange
    let creator = app.user("creator").await;
    let tool = cheap_tool(&app, &creator, "Once").await;
    let other = cheap_tool(&app, &creator, "Other").await;
    let renter = subscriber(&app, "renter", &[&tool, &other]).await;
    review(&app, &renter, &tool, 5).await;

    // Act
    let again = post_review(
        &app,
        &renter.key,
        &tool,
        &json!({"rating": 1, "title": "changed my mind"}),
    )
    .await;

    // Assert
    again.problem(409);
    let r = rating(&app, &renter.key, &tool).await;
    assert_eq!(
        (r["count"].clone(), r["mean"].clone()),
        (json!(1), json!(5.0)),
        "the refused second review counts nowhere"
    );
    review(&app, &renter, &other, 2).await;
    assert_eq!(
        rating(&app, &renter.key, &other).await["count"],
        json!(1),
        "one per tool: another tool takes its own"
    );
});

store_test!(bad_reviews_get_a_422_and_change_nothing, |app| {
    // Arrange
    let creator = app.user("creator").await;
    let tool = cheap_tool(&app, &creator, "Strict").await;
    let renter = subscriber(&app, "renter", &[&tool]).await;
    let bad = [
        (json!({"rating": 0, "title": "t"}), "rating"),
        (json!({"rating": 6, "title": "t"}), "rating"),
        (json!({"rating": 4.5, "title": "t"}), "rating"),
        (json!({"rating": 4, "title": "   "}), "title"),
        (json!({"rating": 4, "title": "a".repeat(121)}), "title"),
        (json!({"rating": 4, "title": "two\nlines"}), "title"),
        (
            json!({"rating": 4, "title": "t", "body": "b".repeat(5_001)}),
            "body",
        ),
        (
            json!({"rating": 4, "title": "t", "body": "bell\u{7}"}),
            "body",
        ),
    ];

    for (body, field) in bad {
        // Act
        let problem = post_review(&app, &renter.key, &tool, &body)
            .await
            .problem(422);

        // Assert
        assert!(
            problem["errors"]
                .as_array()
                .is_some_and(|es| es.iter().any(|e| e["field"] == json!(field))),
            "{body} names {field}: {problem}"
        );
    }
    assert!(
        listed(&app, &renter.key, &tool).await.is_empty(),
        "nothing written"
    );
    assert_eq!(rating(&app, &renter.key, &tool).await["count"], json!(0));
    let longest = json!({"rating": 4, "title": "é".repeat(120), "body": "b".repeat(5_000)});
    post_review(&app, &renter.key, &tool, &longest)
        .await
        .expect(201);
});

store_test!(only_its_author_changes_or_deletes_a_review, |app| {
    // Arrange
    let creator = app.user("creator").await;
    let tool = cheap_tool(&app, &creator, "Edited").await;
    let author = subscriber(&app, "author", &[&tool]).await;
    let other = subscriber(&app, "other", &[&tool]).await;
    let id = review(&app, &author, &tool, 5).await;
    let path = format!("/v1/reviews/{id}");

    // Act + Assert: others may not.
    app.patch(&path, &other.key, &json!({"rating": 1}))
        .await
        .problem(403);
    app.patch(&path, &creator.key, &json!({"rating": 1}))
        .await
        .problem(403);
    app.delete(&path, &other.key).await.problem(403);
    app.delete(&path, &creator.key).await.problem(403);
    app.patch(&path, ADMIN_KEY, &json!({"rating": 1}))
        .await
        .problem(403);
    app.patch(&path, &author.key, &json!({"rating": 9}))
        .await
        .problem(422);
    let unchanged = app.get(&path, &other.key).await.expect(200)["review"].clone();
    assert_eq!(
        unchanged["rating"],
        json!(5),
        "refused changes change nothing"
    );

    // The author may, and the rating follows.
    let changed = app
        .patch(
            &path,
            &author.key,
            &json!({"rating": 2, "title": "Worse after v2"}),
        )
        .await
        .expect(200)["review"]
        .clone();
    assert_eq!(
        (
            changed["rating"].clone(),
            changed["title"].clone(),
            changed["body"].clone()
        ),
        (json!(2), json!("Worse after v2"), json!("as used")),
        "absent fields are kept"
    );
    let r = rating(&app, &other.key, &tool).await;
    assert_eq!(
        (r["count"].clone(), r["mean"].clone()),
        (json!(1), json!(2.0))
    );
    app.delete(&path, &author.key).await.expect(204);
    app.get(&path, &author.key).await.problem(404);
    app.delete(&path, &author.key).await.problem(404);
    let r = rating(&app, &other.key, &tool).await;
    assert_eq!(
        (r["count"].clone(), r["mean"].clone(), r["bayesian"].clone()),
        (json!(0), json!(null), json!(3.0)),
        "a deleted review counts nowhere"
    );
    review(&app, &author, &tool, 4).await;
    assert_eq!(
        rating(&app, &other.key, &tool).await["mean"],
        json!(4.0),
        "and may be written anew"
    );
});
