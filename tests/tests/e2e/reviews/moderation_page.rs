//! Reporting reviews and the operator's moderation page: over HTTP on both databases, an account
//! reports from the tool's page, the moderation page does not exist for an account, a forged
//! form changes nothing, a bad filter is named on the page, dismissing keeps the review; in
//! headless Chromium, a renter reports a review, the operator finds it in the reported queue,
//! hides it with a reason (the tool's page and rating lose it, its author still reads why) and
//! shows it again.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use tests::browser::Browser;
use tests::{ADMIN_KEY, backend_test, store_test};

use super::{cheap_tool, rating, review, subscriber};
use crate::dashboard::{Web, location};

const WAIT: Duration = Duration::from_secs(15);

store_test!(
    the_moderation_page_is_the_operators_and_its_forms_need_the_token,
    |app| {
        // Arrange
        let creator = app.user("creator").await;
        let tool = cheap_tool(&app, &creator, "Moderated page").await;
        let author = subscriber(&app, "author", &[&tool]).await;
        let id = review(&app, &author, &tool, 1).await;
        let operator = Web::sign_in(&app, ADMIN_KEY).await;
        let account = Web::sign_in(&app, &creator.key).await;
        let token = operator.csrf().await;
        let account_token = account.csrf().await;
        let hide = format!("/operator/reviews/{id}/hide");
        let reporter = app.user("reporter").await;
        let reporter_page = Web::sign_in(&app, &reporter.key).await;
        let reporter_token = reporter_page.csrf().await;
        let report = format!("/reviews/{id}/report");

        // Act: an account reports from the tool's page; the operator reads the queue, dismisses.
        let (forged_report, _, _) = reporter_page
            .post(&report, &[("csrf", "forged"), ("reason", "spam")])
            .await;
        let (reported, report_headers, _) = reporter_page
            .post(&report, &[("csrf", &reporter_token), ("reason", "spam")])
            .await;
        let (_, _, tool_page) = reporter_page.get(&format!("/tools/{tool}")).await;
        let (queue, _, queue_page) = operator.get("/operator/reviews?visibility=reported").await;
        let dismiss = format!("/operator/reviews/{id}/dismiss");
        let (dismissed, dismiss_headers, _) = operator.post(&dismiss, &[("csrf", &token)]).await;
        let (_, _, after_dismiss) = operator.get("/operator/reviews?visibility=reported").await;
        // The account's refusals, a forged form, bad filters; then the operator hides it.
        let (account_page, _, _) = account.get("/operator/reviews").await;
        let (account_hide, _, _) = account
            .post(&hide, &[("csrf", &account_token), ("reason", "mine")])
            .await;
        let (forged, _, _) = operator
            .post(&hide, &[("csrf", "forged"), ("reason", "x")])
            .await;
        let untouched = app
            .get(&format!("/v1/reviews/{id}"), ADMIN_KEY)
            .await
            .expect(200);
        let (bad_tool, _, bad_tool_page) = operator.get("/operator/reviews?tool=nope").await;
        let (listed, _, list_page) = operator.get("/operator/reviews").await;
        let (too_long, _, too_long_page) = operator
            .post(&hide, &[("csrf", &token), ("reason", &"x".repeat(501))])
            .await;
        let (hidden, headers, _) = operator
            .post(&hide, &[("csrf", &token), ("reason", "insults")])
            .await;
        let (hidden_list, _, hidden_page) =
            operator.get("/operator/reviews?visibility=hidden").await;

        // Assert
        assert_eq!(forged_report, StatusCode::FORBIDDEN);
        assert_eq!(reported, StatusCode::SEE_OTHER);
        assert_eq!(
            location(&report_headers),
            format!("/tools/{tool}#review-{id}")
        );
        assert!(
            tool_page.contains("You reported this review"),
            "the reporter sees its report is in"
        );
        assert_eq!(queue, StatusCode::OK);
        assert!(
            queue_page.contains(&format!("id=\"review-{id}\""))
                && queue_page.contains("1 open report"),
            "{queue_page}"
        );
        assert_eq!(dismissed, StatusCode::SEE_OTHER);
        assert_eq!(
            location(&dismiss_headers),
            format!("/operator/reviews?tool={tool}#review-{id}")
        );
        assert!(
            after_dismiss.contains("No review matches"),
            "the queue is empty"
        );
        assert_eq!(account_page, StatusCode::NOT_FOUND, "not an account's page");
        assert_eq!(account_hide, StatusCode::NOT_FOUND);
        assert_eq!(forged, StatusCode::FORBIDDEN);
        assert_eq!(
            untouched["review"]["hidden"],
            json!(false),
            "nothing changed"
        );
        assert_eq!(
            bad_tool,
            StatusCode::OK,
            "the page, with the filter's problem"
        );
        assert!(
            bad_tool_page.contains("must be a tool id"),
            "{bad_tool_page}"
        );
        assert_eq!(listed, StatusCode::OK);
        assert!(list_page.contains(&format!("id=\"review-{id}\"")), "listed");
        assert!(list_page.contains("Moderated page"), "with its tool's name");
        assert_eq!(
            too_long,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{too_long_page}"
        );
        assert_eq!(hidden, StatusCode::SEE_OTHER);
        assert_eq!(
            location(&headers),
            format!("/operator/reviews?tool={tool}#review-{id}")
        );
        assert_eq!(hidden_list, StatusCode::OK);
        assert!(hidden_page.contains("Hidden") && hidden_page.contains("insults"));
        assert_eq!(rating(&app, &author.key, &tool).await["count"], json!(0));
    }
);

backend_test!(
    a_renter_reports_a_review_and_the_operator_hides_it_in_the_browser,
    Sqlite,
    |_s: &mut shared::config::Settings| {},
    |app| {
        let Some(web) = Browser::start(&app.address).await else {
            return;
        };
        // Arrange: a kind review and an abusive one.
        let creator = app.user("Ada").await;
        let tool = cheap_tool(&app, &creator, "Moderated in the browser").await;
        let fan = subscriber(&app, "Fan", &[&tool]).await;
        let troll = subscriber(&app, "Troll", &[&tool]).await;
        review(&app, &fan, &tool, 5).await;
        let abusive = review(&app, &troll, &tool, 1).await;
        let card = format!("#review-{abusive}");

        // Act: the fan reports the abusive review from the tool's page.
        web.sign_in(&fan.key).await;
        web.goto(&format!("/tools/{tool}")).await;
        web.click(&format!("{card} details.report summary")).await;
        web.fill(&format!("#report-{abusive}"), "insults other renters")
            .await;
        web.screenshot("review-report-form").await;
        web.click_and_load(&format!(
            "{card} form[aria-label='Report this review'] button"
        ))
        .await;
        web.wait_text(&card, "You reported this review", WAIT).await;
        web.sign_out().await;

        // The operator finds it in the reported queue and hides it.
        web.sign_in(ADMIN_KEY).await;
        web.goto("/operator").await;
        web.click_and_load("#review-moderation-link").await;
        web.select("#f-visibility", "reported").await;
        web.click_and_load("form[aria-label='Filter reviews'] button")
            .await;
        let queued = web.text("#review-list").await;
        assert!(
            queued.contains("1 open report") && queued.contains("insults other renters"),
            "{queued}"
        );
        assert!(
            !queued.contains("5 stars"),
            "only the reported one: {queued}"
        );
        assert!(web.text(&card).await.contains("Visible"));
        web.screenshot("review-reported").await;
        web.fill(&format!("#reason-{abusive}"), "insults other renters")
            .await;
        web.click_and_load(&format!("{card} button.hide")).await;

        // Assert: marked hidden with the reason and the report answered, out of the rating,
        // its author still sees it.
        let shown = web.wait_text(&card, "Hidden", WAIT).await;
        assert!(shown.contains("insults other renters"), "{shown}");
        assert!(!shown.contains("open report"), "hiding answered the report");
        web.screenshot("review-moderation").await;
        let r = rating(&app, &creator.key, &tool).await;
        assert_eq!(
            (r["count"].clone(), r["mean"].clone()),
            (json!(1), json!(5.0))
        );
        let own = app
            .get(&format!("/v1/reviews/{abusive}"), &troll.key)
            .await
            .expect(200);
        assert_eq!(
            own["review"]["hidden_reason"],
            json!("insults other renters")
        );
        web.select("#f-visibility", "hidden").await;
        web.click_and_load("form[aria-label='Filter reviews'] button")
            .await;
        let list = web.text("#review-list").await;
        assert!(
            list.contains("1 stars") && !list.contains("5 stars"),
            "{list}"
        );

        // Show it again: it counts again.
        web.click_and_load(&format!("{card} button.unhide")).await;
        web.wait_text(&card, "Visible", WAIT).await;
        let r = rating(&app, &creator.key, &tool).await;
        assert_eq!(r["count"], json!(2));
        web.close().await;
    }
);
