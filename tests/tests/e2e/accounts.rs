//! Accounts and auth: keys shown once and required everywhere, sandbox credit through the
//! ledger, idempotent top-ups, and problem+json for every kind of bad request.

use reqwest::Method;
use serde_json::json;
use shared::clock::Clock;
use shared::config::PaymentMode;
use shared::domain::Money;
use shared::payments::{PaymentProvider, SandboxPaymentProvider, payment_id};
use shared::store::{StoreError, TopUp};
use tests::{ADMIN_KEY, TestApp, cents, store_test, store_test_with};

store_test!(create_account_returns_a_key_that_authenticates, |app| {
    // Act
    let created = app
        .send(
            Method::POST,
            "/v1/accounts",
            None,
            Some(&json!({"name": "  Alice  "})),
        )
        .await
        .expect(201);
    let key = created["api_key"].as_str().expect("key shown once");
    let me = app.get("/v1/accounts/me", key).await.expect(200);

    // Assert
    assert_eq!(me["account"]["id"], created["account"]["id"]);
    assert_eq!(me["account"]["name"], json!("Alice"), "name is trimmed");
    assert_eq!(cents(&me["account"]["balance"]), 0);
    assert!(
        me["account"].get("api_key").is_none(),
        "the key is never shown again"
    );
});

store_test!(routes_refuse_missing_invalid_and_misplaced_keys, |app| {
    let alice = app.user("alice").await;

    let missing = app.send(Method::GET, "/v1/accounts/me", None, None).await;
    assert_eq!(
        missing
            .headers
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok()),
        Some("Bearer")
    );
    missing.problem(401);
    app.get("/v1/accounts/me", "mk_not-a-real-key")
        .await
        .problem(401);
    app.get("/v1/accounts/me", &format!("{}x", alice.key))
        .await
        .problem(401);
    app.get("/v1/tools", "garbage").await.problem(401);
    let basic = app
        .client
        .get(format!("{}/v1/accounts/me", app.address))
        .basic_auth("alice", Some(&alice.key))
        .send()
        .await
        .expect("sent");
    TestApp::read(basic).await.problem(401);

    // The admin key acts for no account, and to accounts operator routes do not exist.
    app.get("/v1/accounts/me", ADMIN_KEY).await.problem(403);
    app.get("/v1/admin/ledger/check", &alice.key)
        .await
        .problem(404);
    app.send(Method::GET, "/v1/admin/ledger/check", None, None)
        .await
        .problem(401);
});

store_test!(credits_move_money_through_the_ledger, |app| {
    // Arrange
    let alice = app.user("alice").await;

    // Act
    let added = app
        .post(
            "/v1/accounts/me/credits",
            &alice.key,
            &json!({"amount": 100.5}),
        )
        .await
        .expect(200);
    app.post(
        "/v1/accounts/me/credits",
        &alice.key,
        &json!({"amount": "20.25"}),
    )
    .await
    .expect(200);

    // Assert
    assert_eq!(cents(&added["account"]["balance"]), 10_050);
    assert!(
        added["transaction"]["reference"]
            .as_str()
            .expect("reference")
            .starts_with("sandbox_")
    );
    assert_eq!(app.balance_cents(&alice).await, 12_075);
    let ledger = app
        .get("/v1/accounts/me/ledger", &alice.key)
        .await
        .expect(200);
    let entries = ledger["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["kind"], json!("top_up"));
    assert_eq!(cents(&entries[0]["amount"]), 2_025, "newest first");
    app.assert_ledger_balanced().await;
});

store_test!(credits_refuse_bad_amounts_and_change_nothing, |app| {
    let alice = app.user("alice").await;
    for bad in [
        json!(-5),
        json!(0),
        json!(10.001),
        json!("ten"),
        json!(null),
        json!(true),
        json!(1e12),
        json!("NaN"),
    ] {
        let p = app
            .post(
                "/v1/accounts/me/credits",
                &alice.key,
                &json!({"amount": bad}),
            )
            .await
            .problem(422);
        assert_eq!(
            p["errors"][0]["field"],
            json!("amount"),
            "names the field for {bad}: {p}"
        );
    }
    app.post("/v1/accounts/me/credits", &alice.key, &json!({}))
        .await
        .problem(422);
    assert_eq!(app.balance_cents(&alice).await, 0, "nothing was credited");
    app.assert_ledger_balanced().await;
});

store_test!(credits_with_one_idempotency_key_are_booked_once, |app| {
    let alice = app.user("alice").await;
    let body = json!({"amount": 50});

    let first = app
        .post_idempotent("/v1/accounts/me/credits", &alice.key, "topup-1", &body)
        .await;
    assert!(first.headers.get("idempotent-replayed").is_none());
    let first = first.expect(200);
    let again = app
        .post_idempotent("/v1/accounts/me/credits", &alice.key, "topup-1", &body)
        .await;
    assert_eq!(
        again
            .headers
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    let again = again.expect(200);
    let other = app
        .post_idempotent(
            "/v1/accounts/me/credits",
            &alice.key,
            "topup-1",
            &json!({"amount": 60}),
        )
        .await
        .problem(422);

    assert_eq!(first, again, "a retry gets the first response");
    assert_eq!(other["errors"][0]["field"], json!("Idempotency-Key"));
    assert_eq!(app.balance_cents(&alice).await, 5_000, "credited once");
    app.assert_ledger_balanced().await;
});

store_test_with!(
    without_a_payment_provider_no_credit_can_be_minted,
    |s: &mut shared::config::Settings| s.payments = Some(PaymentMode::None),
    |app| {
        let alice = app.user("alice").await;
        let problem = app
            .post_idempotent(
                "/v1/accounts/me/credits",
                &alice.key,
                "topup-1",
                &json!({"amount": 50}),
            )
            .await
            .problem(404);
        assert_eq!(problem["status"], json!(404));
        assert_eq!(app.balance_cents(&alice).await, 0, "nothing was credited");
        app.assert_ledger_balanced().await;
    }
);

store_test!(one_payment_is_credited_once_even_without_a_key, |app| {
    let alice = app.user("alice").await;
    let account = alice.id;
    let payment = payment_id(account, Some("retried"));
    let receipt = SandboxPaymentProvider
        .collect(account, Money::from_cents(700), payment)
        .expect("approved");
    let again = SandboxPaymentProvider
        .collect(account, Money::from_cents(700), payment)
        .expect("approved");
    assert_eq!(
        receipt, again,
        "the provider answers a payment's first receipt"
    );
    let render = |_: &TopUp| serde_json::Value::Null;
    let now = app.clock.now();
    app.store
        .top_up(account, &receipt, None, &render, now)
        .await
        .expect("booked");
    let twice = app.store.top_up(account, &again, None, &render, now).await;
    assert!(
        matches!(twice, Err(StoreError::Conflict(_))),
        "booked twice: {twice:?}"
    );
    assert_eq!(app.balance_cents(&alice).await, 700, "credited once");
    app.assert_ledger_balanced().await;
});

store_test!(malformed_requests_are_4xx_problems, |app| {
    let alice = app.user("alice").await;
    let url = format!("{}/v1/accounts", app.address);

    let malformed = app
        .client
        .post(&url)
        .header("content-type", "application/json")
        .body("{\"name\":")
        .send()
        .await
        .expect("sent");
    TestApp::read(malformed).await.problem(400);
    let not_json = app
        .client
        .post(&url)
        .header("content-type", "text/plain")
        .body("name=x")
        .send()
        .await
        .expect("sent");
    TestApp::read(not_json).await.problem(415);
    let p = app
        .send(
            Method::POST,
            "/v1/accounts",
            None,
            Some(&json!({"name": "x", "admin": true})),
        )
        .await
        .problem(422);
    assert_eq!(
        p["errors"][0]["field"],
        json!("admin"),
        "unknown fields are refused by name: {p}"
    );
    let p = app
        .send(
            Method::POST,
            "/v1/accounts",
            None,
            Some(&json!({"name": 42})),
        )
        .await
        .problem(422);
    assert_eq!(p["errors"][0]["field"], json!("name"));
    let p = app
        .send(Method::POST, "/v1/accounts", None, Some(&json!({})))
        .await
        .problem(422);
    assert_eq!(
        p["errors"][0]["field"],
        json!("name"),
        "missing fields are named: {p}"
    );
    app.send(
        Method::POST,
        "/v1/accounts",
        None,
        Some(&json!({"name": "   "})),
    )
    .await
    .problem(422);
    let huge = json!({"name": "x".repeat(1024 * 1024 + 10)});
    app.send(Method::POST, "/v1/accounts", None, Some(&huge))
        .await
        .problem(413);
    app.get("/v1/tools/not-a-uuid", &alice.key)
        .await
        .problem(400);
    app.get("/v1/tools?cursor=%%%", &alice.key)
        .await
        .problem(400);
    app.get("/v1/tools?limit=0", &alice.key).await.problem(422);
    app.get("/v1/tools?limit=abc", &alice.key)
        .await
        .problem(400);
    let p = app.get("/v1/no-such-route", &alice.key).await.problem(404);
    assert!(
        p["instance"]
            .as_str()
            .is_some_and(|i| i.starts_with("urn:request:")),
        "instance names the request: {p}"
    );
    app.send(Method::PUT, "/v1/accounts/me", Some(&alice.key), None)
        .await
        .problem(405);
});
