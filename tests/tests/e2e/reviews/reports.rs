//! Reports of reviews: any account that can read a review (not its author, not the operator's
//! key) reports it once while the report is open; the operator's queue lists reported reviews
//! with their reports; dismissing keeps the review, hiding answers the reports, and a dismissed
//! report may be made again.

use serde_json::{Value, json};
use tests::{ADMIN_KEY, TestApp, store_test};

use super::{cheap_tool, review, subscriber};

/// `POST /v1/reviews/{id}/report` as `key` with `reason`.
async fn report(app: &TestApp, key: &str, id: &str, reason: &str) -> tests::Resp {
    app.post(
        &format!("/v1/reviews/{id}/report"),
        key,
        &json!({ "reason": reason }),
    )
    .await
}

/// The operator's queue: reviews with open reports, newest first.
async fn queue(app: &TestApp) -> Vec<Value> {
    app.get("/v1/admin/reviews?reported=true", ADMIN_KEY)
        .await
        .expect(200)["reviews"]
        .as_array()
        .expect("reviews")
        .clone()
}

store_test!(accounts_report_reviews_and_the_operator_answers, |app| {
    // Arrange
    let creator = app.user("creator").await;
    let tool = cheap_tool(&app, &creator, "Reported").await;
    let author = subscriber(&app, "author", &[&tool]).await;
    let fan = subscriber(&app, "fan", &[&tool]).await;
    let stranger = app.user("stranger").await;
    let abusive = review(&app, &author, &tool, 1).await;
    let calm = review(&app, &fan, &tool, 5).await;

    // Act + Assert: who may not report, and bad reasons, write nothing.
    report(&app, &author.key, &abusive, "mine")
        .await
        .problem(403);
    report(&app, ADMIN_KEY, &abusive, "operator")
        .await
        .problem(403);
    for reason in [" ".to_owned(), "x".repeat(501), "two\nlines".to_owned()] {
        let bad = report(&app, &stranger.key, &abusive, &reason)
            .await
            .problem(422);
        assert_eq!(bad["errors"][0]["field"], json!("reason"), "{bad}");
    }
    report(
        &app,
        &stranger.key,
        "0190f3c4-0000-7000-8000-000000000000",
        "gone",
    )
    .await
    .problem(404);
    assert!(queue(&app).await.is_empty(), "nothing reported yet");

    // A stranger, a renter and the creator report it; a second report while open is a 409.
    let made = report(&app, &stranger.key, &abusive, "insults <everyone>")
        .await
        .expect(201)["report"]
        .clone();
    assert_eq!(made["reason"], json!("insults <everyone>"));
    assert_eq!(made["reporter_id"], json!(stranger.id.to_string()));
    report(&app, &fan.key, &abusive, "spam").await.expect(201);
    report(&app, &creator.key, &abusive, "not about the tool")
        .await
        .expect(201);
    report(&app, &stranger.key, &abusive, "again")
        .await
        .problem(409);

    // The operator's queue: the reported review with its reports, oldest first.
    let listed = queue(&app).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["id"], json!(abusive));
    // (Oldest first; the test clock stands still, so only the set is checked.)
    let mut reasons: Vec<String> = listed[0]["reports"]
        .as_array()
        .expect("reports")
        .iter()
        .map(|r| r["reason"].as_str().expect("reason").to_owned())
        .collect();
    reasons.sort();
    assert_eq!(
        reasons,
        ["insults <everyone>", "not about the tool", "spam"],
        "every open report, with its reason as written"
    );
    let everyone = app.get("/v1/admin/reviews", ADMIN_KEY).await.expect(200);
    let calm_listed = everyone["reviews"]
        .as_array()
        .expect("reviews")
        .iter()
        .find(|r| r["id"] == json!(calm))
        .cloned()
        .expect("the calm review is listed");
    assert_eq!(calm_listed["reports"], json!([]), "no reports of it");
    let public = app
        .get(&format!("/v1/reviews/{abusive}"), &stranger.key)
        .await
        .expect(200);
    assert!(
        public["review"].get("reports").is_none(),
        "reports are the operator's: {public}"
    );

    // Dismissing keeps the review and empties the queue; the same account may report again.
    let dismiss = format!("/v1/reviews/{abusive}/dismiss-reports");
    app.post(&dismiss, &creator.key, &json!({}))
        .await
        .problem(404);
    let dismissed = app.post(&dismiss, ADMIN_KEY, &json!({})).await.expect(200);
    assert_eq!(dismissed["dismissed"], json!(3));
    assert_eq!(dismissed["review"]["hidden"], json!(false), "kept");
    assert!(queue(&app).await.is_empty());
    let again = app.post(&dismiss, ADMIN_KEY, &json!({})).await.expect(200);
    assert_eq!(again["dismissed"], json!(0));
    report(&app, &stranger.key, &abusive, "still insulting")
        .await
        .expect(201);
    let reopened = queue(&app).await;
    assert_eq!(
        reopened[0]["reports"][0]["reason"],
        json!("still insulting"),
        "{reopened:?}"
    );
    app.post(
        "/v1/reviews/0190f3c4-0000-7000-8000-000000000000/dismiss-reports",
        ADMIN_KEY,
        &json!({}),
    )
    .await
    .problem(404);

    // Hiding answers the reports; a hidden review cannot be reported.
    app.post(
        &format!("/v1/reviews/{abusive}/hide"),
        ADMIN_KEY,
        &json!({"reason": "insults"}),
    )
    .await
    .expect(200);
    assert!(queue(&app).await.is_empty(), "answered by hiding");
    report(&app, &fan.key, &abusive, "more").await.problem(404);

    // A review deleted by its author takes its reports with it.
    report(&app, &stranger.key, &calm, "too kind")
        .await
        .expect(201);
    assert_eq!(queue(&app).await.len(), 1);
    app.delete(&format!("/v1/reviews/{calm}"), &fan.key)
        .await
        .expect(204);
    assert!(queue(&app).await.is_empty());
});
