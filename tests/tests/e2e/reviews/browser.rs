//! Reviews in the dashboard, in headless Chromium: a subscriber reviews a tool from its page
//! (the text shown escaped, never run), the rating shows on the page and in the listing, the
//! creator replies once, a stranger gets no form, and the author deletes the review.

use std::time::Duration;

use serde_json::json;
use tests::backend_test;
use tests::browser::Browser;

use super::{cheap_tool, subscriber};

const WAIT: Duration = Duration::from_secs(15);

backend_test!(
    a_subscriber_reviews_in_the_browser_and_the_creator_replies,
    Sqlite,
    |_s: &mut shared::config::Settings| {},
    |app| {
        let Some(web) = Browser::start(&app.address).await else {
            return;
        };
        // Arrange
        let creator = app.user("Ada").await;
        let tool = cheap_tool(&app, &creator, "Reviewed in the browser").await;
        let renter = subscriber(&app, "Bob", &[&tool]).await;
        let stranger = app.user("Eve").await;
        let title = "<script>window.pwned = 1</script> Great & fast";

        // A subscriber writes a review from the tool's page.
        web.sign_in(&renter.key).await;
        web.goto(&format!("/tools/{tool}")).await;
        assert_eq!(web.text("#rating").await, "No reviews yet.");
        web.select("#review-rating", "4").await;
        web.fill("#review-title", title).await;
        web.fill("#review-body", "Caught the trend\nwithout lag.")
            .await;
        web.click(&format!("form[action='/tools/{tool}/reviews'] button"))
            .await;
        web.wait_path(&format!("/tools/{tool}"), WAIT).await;
        let summary = web.wait_text("#rating", "4.0 out of 5", WAIT).await;
        assert!(summary.contains("from 1 review"), "{summary}");
        assert_eq!(web.text(".review-title").await, title, "shown as written");
        assert_eq!(
            web.eval("return window.pwned === undefined;").await,
            json!(true),
            "the title's script never ran"
        );
        assert!(
            web.source().await.contains("&lt;script&gt;"),
            "the title is escaped in the HTML"
        );
        assert!(web.has("#my-review").await, "the author sees their review");
        assert!(
            !web.has(&format!("form[action='/tools/{tool}/reviews']"))
                .await,
            "one review per account: no second form"
        );
        web.screenshot("review-written").await;

        // The listing shows the count and the mean.
        web.goto("/tools?sort=rating").await;
        assert_eq!(web.text("#tools td.rating").await, "4.0 (1)");

        // The creator replies once; the form is gone after.
        web.sign_out().await;
        web.sign_in(&creator.key).await;
        web.goto(&format!("/tools/{tool}")).await;
        assert!(
            !web.has(&format!("form[action='/tools/{tool}/reviews']"))
                .await,
            "the creator does not review their own tool"
        );
        web.fill("textarea[name=reply]", "Thanks, Bob!").await;
        web.click("form[aria-label='Reply to this review'] button")
            .await;
        web.wait_text(".reply", "Thanks, Bob!", WAIT).await;
        assert!(
            !web.has("textarea[name=reply]").await,
            "one reply per review"
        );

        // A stranger reads it but may not review.
        web.sign_out().await;
        web.sign_in(&stranger.key).await;
        web.goto(&format!("/tools/{tool}")).await;
        assert!(web.has("#review-hint").await);
        assert!(
            !web.has(&format!("form[action='/tools/{tool}/reviews']"))
                .await
        );
        assert_eq!(web.text(".review-title").await, title);

        // The author deletes it.
        web.sign_out().await;
        web.sign_in(&renter.key).await;
        web.goto(&format!("/tools/{tool}")).await;
        web.click("form[aria-label='Delete your review'] button")
            .await;
        web.wait_text("#rating", "No reviews yet.", WAIT).await;
        let left = app
            .get(&format!("/v1/tools/{tool}/reviews"), &stranger.key)
            .await
            .expect(200);
        assert_eq!(
            left["rating"]["count"],
            json!(0),
            "deleted through the API's rules"
        );
        web.close().await;
    }
);
