//! Subscriptions: tier pricing and revenue split through the double-entry ledger, prepaid
//! months on anchored periods, 402/409/422 rules that change nothing, idempotent and concurrent
//! subscribing, cancellation at period end and immediate cancellation with a pro-rata refund.

use chrono::TimeDelta;
use futures::future::join_all;
use serde_json::{Value, json};
use tests::{TestApp, User, cents, store_test, test_epoch};

async fn tool_id(app: &TestApp, creator: &User, price: f64, tier: &str) -> String {
    app.tool(creator, TestApp::tool_body("SMA", price, tier))
        .await["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

store_test!(
    subscribing_charges_the_tier_price_and_splits_revenue,
    |app| {
        // Arrange
        let creator = app.user("creator").await;
        let renter = app.funded_user("renter", 100.0).await;
        let tool = tool_id(&app, &creator, 29.99, "basic").await;

        // Act
        let body = app
            .post(
                "/v1/subscriptions",
                &renter.key,
                &json!({"tool_id": tool, "tier": "pro", "auto_renew": true}),
            )
            .await
            .expect(201);

        // Assert
        let sub = &body["subscription"];
        assert_eq!(sub["price"], json!(74.98), "29.99 x 2.5 = 74.975, half up");
        assert_eq!(sub["status"], json!("active"));
        assert_eq!(sub["tier"], json!("pro"));
        assert_eq!(sub["current_period_start"], json!("2027-01-31T12:00:00Z"));
        assert_eq!(
            sub["current_period_end"],
            json!("2027-02-28T12:00:00Z"),
            "anchored calendar month"
        );
        assert_eq!(body["charge"]["amount"], json!(74.98));
        assert_eq!(
            body["charge"]["periods"][0]["creator_amount"],
            json!(59.98),
            "80% of 74.98, half up"
        );
        assert_eq!(
            body["charge"]["periods"][0]["platform_amount"],
            json!(15.0),
            "the rest"
        );
        assert_eq!(app.balance_cents(&renter).await, 10_000 - 7_498);
        assert_eq!(app.balance_cents(&creator).await, 5_998);
        let access = app
            .get(&format!("/v1/tools/{tool}/access"), &renter.key)
            .await
            .expect(200);
        assert_eq!(access["has_access"], json!(true));
        assert_eq!(access["subscription_id"], sub["id"]);
        assert_eq!(access["tier"], json!("pro"));
        assert_eq!(access["expires_at"], json!("2027-02-28T12:00:00Z"));
        let creator_access = app
            .get(&format!("/v1/tools/{tool}/access"), &creator.key)
            .await
            .expect(200);
        assert_eq!(
            (
                creator_access["has_access"].clone(),
                creator_access["via"].clone()
            ),
            (json!(true), json!("creator"))
        );
        let renter_ledger = app
            .get("/v1/accounts/me/ledger", &renter.key)
            .await
            .expect(200);
        assert_eq!(
            renter_ledger["entries"][0]["kind"],
            json!("subscription_charge")
        );
        assert_eq!(cents(&renter_ledger["entries"][0]["amount"]), -7_498);
        app.assert_ledger_balanced().await;
    }
);

store_test!(prepaid_months_are_charged_per_anchored_period, |app| {
    let creator = app.user("creator").await;
    let renter = app.funded_user("renter", 100.0).await;
    let tool = tool_id(&app, &creator, 10.0, "basic").await;

    let body = app
        .post(
            "/v1/subscriptions",
            &renter.key,
            &json!({"tool_id": tool, "tier": "basic", "months": 3}),
        )
        .await
        .expect(201);

    let periods: Vec<(Value, Value)> = body["charge"]["periods"]
        .as_array()
        .expect("periods")
        .iter()
        .map(|p| (p["period_start"].clone(), p["period_end"].clone()))
        .collect();
    assert_eq!(
        periods,
        [
            (json!("2027-01-31T12:00:00Z"), json!("2027-02-28T12:00:00Z")),
            (json!("2027-02-28T12:00:00Z"), json!("2027-03-31T12:00:00Z")),
            (json!("2027-03-31T12:00:00Z"), json!("2027-04-30T12:00:00Z")),
        ]
    );
    assert_eq!(body["charge"]["amount"], json!(30.0));
    assert_eq!(
        body["subscription"]["paid_through"],
        json!("2027-04-30T12:00:00Z")
    );
    assert_eq!(app.balance_cents(&renter).await, 7_000);

    app.clock.set(test_epoch() + TimeDelta::days(40));
    let sub = app
        .get(
            &format!(
                "/v1/subscriptions/{}",
                body["subscription"]["id"].as_str().expect("id")
            ),
            &renter.key,
        )
        .await
        .expect(200);
    assert_eq!(
        sub["subscription"]["current_period_start"],
        json!("2027-02-28T12:00:00Z"),
        "in the second paid month"
    );
    app.assert_ledger_balanced().await;
});

store_test!(refused_subscriptions_change_nothing, |app| {
    // Arrange
    let creator = app.user("creator").await;
    let poor = app.funded_user("poor", 20.0).await;
    let tool = tool_id(&app, &creator, 29.99, "pro").await;

    // Act + Assert
    let p = app
        .post(
            "/v1/subscriptions",
            &poor.key,
            &json!({"tool_id": tool, "tier": "pro"}),
        )
        .await
        .problem(402);
    assert!(
        p["detail"].as_str().expect("detail").contains("74.98"),
        "{p}"
    );
    let p = app
        .post(
            "/v1/subscriptions",
            &poor.key,
            &json!({"tool_id": tool, "tier": "basic"}),
        )
        .await
        .problem(422);
    assert_eq!(p["errors"][0]["field"], json!("tier"));
    app.post(
        "/v1/subscriptions",
        &poor.key,
        &json!({"tool_id": tool, "tier": "pro", "months": 0}),
    )
    .await
    .problem(422);
    app.post(
        "/v1/subscriptions",
        &poor.key,
        &json!({"tool_id": tool, "tier": "pro", "months": 13}),
    )
    .await
    .problem(422);
    app.post(
        "/v1/subscriptions",
        &poor.key,
        &json!({"tool_id": "nope", "tier": "pro"}),
    )
    .await
    .problem(422);
    app.post(
        "/v1/subscriptions",
        &poor.key,
        &json!({"tool_id": uuid::Uuid::now_v7(), "tier": "pro"}),
    )
    .await
    .problem(404);
    app.post(
        "/v1/subscriptions",
        &creator.key,
        &json!({"tool_id": tool, "tier": "pro"}),
    )
    .await
    .problem(409);

    assert_eq!(app.balance_cents(&poor).await, 2_000, "no money moved");
    let subs = app.get("/v1/subscriptions", &poor.key).await.expect(200);
    assert_eq!(
        subs["subscriptions"],
        json!([]),
        "no subscription was created"
    );
    let access = app
        .get(&format!("/v1/tools/{tool}/access"), &poor.key)
        .await
        .expect(200);
    assert_eq!(access["has_access"], json!(false));
    app.assert_ledger_balanced().await;
});

store_test!(a_second_live_subscription_is_a_conflict, |app| {
    let creator = app.user("creator").await;
    let renter = app.funded_user("renter", 100.0).await;
    let tool = tool_id(&app, &creator, 10.0, "basic").await;
    app.post(
        "/v1/subscriptions",
        &renter.key,
        &json!({"tool_id": tool, "tier": "basic"}),
    )
    .await
    .expect(201);

    app.post(
        "/v1/subscriptions",
        &renter.key,
        &json!({"tool_id": tool, "tier": "pro"}),
    )
    .await
    .problem(409);

    assert_eq!(app.balance_cents(&renter).await, 9_000, "charged once");
    app.assert_ledger_balanced().await;
});

store_test!(free_tier_moves_no_money_and_grants_access, |app| {
    let creator = app.user("creator").await;
    let renter = app.user("renter").await;
    let tool = tool_id(&app, &creator, 10.0, "free").await;

    let body = app
        .post(
            "/v1/subscriptions",
            &renter.key,
            &json!({"tool_id": tool, "tier": "free"}),
        )
        .await
        .expect(201);

    assert_eq!(body["charge"]["amount"], json!(0.0));
    assert_eq!(body["charge"]["periods"], json!([]));
    assert_eq!(body["subscription"]["price"], json!(0.0));
    let access = app
        .get(&format!("/v1/tools/{tool}/access"), &renter.key)
        .await
        .expect(200);
    assert_eq!(access["has_access"], json!(true));
    app.assert_ledger_balanced().await;
});

store_test!(
    twenty_concurrent_requests_with_one_idempotency_key_charge_once,
    |app| {
        // Arrange
        let creator = app.user("creator").await;
        let renter = app.funded_user("renter", 100.0).await;
        let tool = tool_id(&app, &creator, 10.0, "basic").await;
        let body = json!({"tool_id": tool, "tier": "basic", "months": 2});

        // Act
        let responses =
            join_all((0..20).map(|_| {
                app.post_idempotent("/v1/subscriptions", &renter.key, "sub-key-1", &body)
            }))
            .await;

        // Assert
        let bodies: Vec<Value> = responses.into_iter().map(|r| r.expect(201)).collect();
        assert!(
            bodies.iter().all(|b| *b == bodies[0]),
            "every retry returns the first response"
        );
        assert_eq!(
            app.balance_cents(&renter).await,
            8_000,
            "charged once: 2 months of 10.00"
        );
        let subs = app.get("/v1/subscriptions", &renter.key).await.expect(200);
        assert_eq!(
            subs["subscriptions"].as_array().map(Vec::len),
            Some(1),
            "one subscription"
        );
        let other = app
            .post_idempotent(
                "/v1/subscriptions",
                &renter.key,
                "sub-key-1",
                &json!({"tool_id": tool, "tier": "pro"}),
            )
            .await
            .problem(422);
        assert_eq!(other["errors"][0]["field"], json!("Idempotency-Key"));
        app.assert_ledger_balanced().await;
    }
);

store_test!(concurrent_subscriptions_never_overdraw_a_balance, |app| {
    // Arrange: 30.00 of credit, ten tools at 10.00.
    let creator = app.user("creator").await;
    let renter = app.funded_user("renter", 30.0).await;
    let mut tools = Vec::new();
    for _ in 0..10 {
        tools.push(tool_id(&app, &creator, 10.0, "basic").await);
    }

    // Act
    let bodies: Vec<Value> = tools
        .iter()
        .map(|t| json!({"tool_id": t, "tier": "basic"}))
        .collect();
    let responses = join_all(
        bodies
            .iter()
            .map(|b| app.post("/v1/subscriptions", &renter.key, b)),
    )
    .await;

    // Assert
    let statuses: Vec<u16> = responses.iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        3,
        "exactly what the balance covers: {statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 402).count(),
        7,
        "{statuses:?}"
    );
    assert_eq!(app.balance_cents(&renter).await, 0, "never below zero");
    app.assert_ledger_balanced().await;
});

store_test!(
    cancel_at_period_end_keeps_access_until_the_period_ends,
    |app| {
        // Arrange
        let creator = app.user("creator").await;
        let renter = app.funded_user("renter", 100.0).await;
        let tool = tool_id(&app, &creator, 10.0, "basic").await;
        let sub = app
            .post(
                "/v1/subscriptions",
                &renter.key,
                &json!({"tool_id": tool, "tier": "basic"}),
            )
            .await
            .expect(201);
        let id = sub["subscription"]["id"].as_str().expect("id").to_owned();

        // Act: an empty body means "at period end".
        let res = app
            .client
            .post(format!("{}/v1/subscriptions/{id}/cancel", app.address))
            .bearer_auth(&renter.key)
            .send()
            .await
            .expect("sent");
        let canceled = TestApp::read(res).await.expect(200);

        // Assert
        assert_eq!(canceled["subscription"]["status"], json!("active"));
        assert_eq!(
            canceled["subscription"]["cancel_at_period_end"],
            json!(true)
        );
        assert_eq!(canceled["refund"]["amount"], json!(0.0));
        assert_eq!(app.balance_cents(&renter).await, 9_000, "no refund");
        let access = app
            .get(&format!("/v1/tools/{tool}/access"), &renter.key)
            .await
            .expect(200);
        assert_eq!(
            access["has_access"],
            json!(true),
            "access until the period ends"
        );

        app.clock.set(test_epoch() + TimeDelta::days(28));
        let access = app
            .get(&format!("/v1/tools/{tool}/access"), &renter.key)
            .await
            .expect(200);
        assert_eq!(
            access["has_access"],
            json!(false),
            "access ends at period end"
        );
        let report = app.billing_pass().await;
        assert_eq!(report.expired, 1);
        let after = app
            .get(&format!("/v1/subscriptions/{id}"), &renter.key)
            .await
            .expect(200);
        assert_eq!(after["subscription"]["status"], json!("expired"));
        assert_eq!(
            after["subscription"]["ended_at"],
            json!("2027-02-28T12:00:00Z")
        );
        let active = app
            .get("/v1/subscriptions?active_only=true", &renter.key)
            .await
            .expect(200);
        assert_eq!(active["subscriptions"], json!([]));
        app.post(
            "/v1/subscriptions",
            &renter.key,
            &json!({"tool_id": tool, "tier": "basic"}),
        )
        .await
        .expect(201);
        app.assert_ledger_balanced().await;
    }
);

store_test!(immediate_cancel_refunds_the_unused_time_pro_rata, |app| {
    // Arrange: 10.00 a month, two months prepaid; the first period is 28 days.
    let creator = app.user("creator").await;
    let renter = app.funded_user("renter", 100.0).await;
    let tool = tool_id(&app, &creator, 10.0, "basic").await;
    let sub = app
        .post(
            "/v1/subscriptions",
            &renter.key,
            &json!({"tool_id": tool, "tier": "basic", "months": 2}),
        )
        .await
        .expect(201);
    let id = sub["subscription"]["id"].as_str().expect("id").to_owned();

    // Act: 7 of 28 days used.
    app.clock.set(test_epoch() + TimeDelta::days(7));
    let canceled = app
        .post(
            &format!("/v1/subscriptions/{id}/cancel"),
            &renter.key,
            &json!({"immediate": true}),
        )
        .await
        .expect(200);

    // Assert: 75% of the first period and all of the second come back.
    assert_eq!(canceled["subscription"]["status"], json!("canceled"));
    assert_eq!(canceled["refund"]["amount"], json!(17.5));
    assert_eq!(canceled["refund"]["periods"][0]["amount"], json!(7.5));
    assert_eq!(canceled["refund"]["periods"][1]["amount"], json!(10.0));
    assert_eq!(app.balance_cents(&renter).await, 10_000 - 2_000 + 1_750);
    assert_eq!(
        app.balance_cents(&creator).await,
        1_600 - 1_400,
        "the creator gives back its 80%"
    );
    let access = app
        .get(&format!("/v1/tools/{tool}/access"), &renter.key)
        .await
        .expect(200);
    assert_eq!(access["has_access"], json!(false), "access ends now");
    app.post(
        &format!("/v1/subscriptions/{id}/cancel"),
        &renter.key,
        &json!({"immediate": true}),
    )
    .await
    .problem(409);
    app.post(
        &format!("/v1/subscriptions/{id}/cancel"),
        &renter.key,
        &json!({"now": true}),
    )
    .await
    .problem(422);
    app.assert_ledger_balanced().await;
});

store_test!(refunds_are_exact_to_the_second_and_cent, |app| {
    let creator = app.user("creator").await;
    let renter = app.funded_user("renter", 100.0).await;
    let tool = tool_id(&app, &creator, 29.99, "basic").await;
    let sub = app
        .post(
            "/v1/subscriptions",
            &renter.key,
            &json!({"tool_id": tool, "tier": "basic"}),
        )
        .await
        .expect(201);
    let id = sub["subscription"]["id"].as_str().expect("id").to_owned();
    let used = TimeDelta::days(3) + TimeDelta::hours(5) + TimeDelta::seconds(17);
    app.clock.set(test_epoch() + used);

    let canceled = app
        .post(
            &format!("/v1/subscriptions/{id}/cancel"),
            &renter.key,
            &json!({"immediate": true}),
        )
        .await
        .expect(200);

    // Independent arithmetic: each share back = share x unused / period, half up.
    let period = 28 * 86_400_i128;
    let unused = period - i128::from(used.num_seconds());
    let back = |share: i128| ((2 * share * unused + period) / (2 * period)) as i64;
    let (creator_share, platform_share) = (2_399, 600);
    let expected = back(creator_share) + back(platform_share);
    assert_eq!(cents(&canceled["refund"]["amount"]), expected);
    assert_eq!(
        app.balance_cents(&creator).await,
        creator_share as i64 - back(creator_share)
    );
    assert_eq!(app.balance_cents(&renter).await, 10_000 - 2_999 + expected);
    app.assert_ledger_balanced().await;
});

store_test!(subscriptions_are_private_to_their_subscriber, |app| {
    let creator = app.user("creator").await;
    let renter = app.funded_user("renter", 100.0).await;
    let mallory = app.funded_user("mallory", 100.0).await;
    let tool = tool_id(&app, &creator, 10.0, "basic").await;
    let sub = app
        .post(
            "/v1/subscriptions",
            &renter.key,
            &json!({"tool_id": tool, "tier": "basic"}),
        )
        .await
        .expect(201);
    let id = sub["subscription"]["id"].as_str().expect("id").to_owned();

    app.get(&format!("/v1/subscriptions/{id}"), &mallory.key)
        .await
        .problem(404);
    app.get(&format!("/v1/subscriptions/{id}"), &creator.key)
        .await
        .problem(404);
    app.post(
        &format!("/v1/subscriptions/{id}/cancel"),
        &mallory.key,
        &json!({"immediate": true}),
    )
    .await
    .problem(404);
    let theirs = app.get("/v1/subscriptions", &mallory.key).await.expect(200);
    assert_eq!(theirs["subscriptions"], json!([]));
    let ledger = app
        .get("/v1/accounts/me/ledger", &mallory.key)
        .await
        .expect(200);
    assert_eq!(
        ledger["entries"].as_array().map(Vec::len),
        Some(1),
        "only its own top-up"
    );

    let mine = app
        .get(&format!("/v1/subscriptions/{id}"), &renter.key)
        .await
        .expect(200);
    assert_eq!(
        mine["subscription"]["status"],
        json!("active"),
        "the refused cancel changed nothing"
    );
    assert_eq!(app.balance_cents(&mallory).await, 10_000);
});
