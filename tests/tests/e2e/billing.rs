//! Scheduler billing: monthly renewals on anchored periods, dunning with grace and retries,
//! expiries, exactly-once charging under repeated, concurrent and interrupted passes, the
//! sandbox clock over HTTP, and the billing API (invoices, upcoming, auto-renew).

use chrono::{DateTime, TimeDelta, Utc};
use futures::future::join_all;
use serde_json::{Value, json};
use shared::domain::period::period_start;
use tests::{ADMIN_KEY, Backend, TestApp, User, cents, spawn_app_with, store_test, test_epoch};

async fn subscribe(app: &TestApp, renter: &User, tool: &str, body: Value) -> String {
    let mut b = json!({"tool_id": tool, "tier": "basic"});
    b.as_object_mut()
        .expect("object")
        .extend(body.as_object().expect("object").clone());
    let res = app
        .post("/v1/subscriptions", &renter.key, &b)
        .await
        .expect(201);
    res["subscription"]["id"].as_str().expect("id").to_owned()
}

async fn new_tool(app: &TestApp, creator: &User, price: f64, tier: &str) -> String {
    app.tool(creator, TestApp::tool_body("SMA", price, tier))
        .await["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

async fn subscription(app: &TestApp, user: &User, id: &str) -> Value {
    app.get(&format!("/v1/subscriptions/{id}"), &user.key)
        .await
        .expect(200)["subscription"]
        .clone()
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("valid literal")
        .with_timezone(&Utc)
}

store_test!(
    thirteen_months_renew_on_anchored_periods_across_a_leap_year,
    |app| {
        // Arrange: Jan 31 2027, 10.00 a month.
        let creator = app.user("creator").await;
        let renter = app.funded_user("renter", 200.0).await;
        let tool = new_tool(&app, &creator, 10.0, "basic").await;
        let id = subscribe(&app, &renter, &tool, json!({})).await;

        // Act: live through 13 period ends, one pass at each.
        let mut ends = Vec::new();
        for k in 1..=13 {
            app.clock.set(period_start(test_epoch(), k));
            let report = app.billing_pass().await;
            assert_eq!(report.renewed, 1, "one renewal at period end {k}");
            ends.push(
                subscription(&app, &renter, &id).await["paid_through"]
                    .as_str()
                    .expect("time")
                    .to_owned(),
            );
        }

        // Assert
        assert_eq!(
            ends,
            [
                "2027-03-31T12:00:00Z",
                "2027-04-30T12:00:00Z",
                "2027-05-31T12:00:00Z",
                "2027-06-30T12:00:00Z",
                "2027-07-31T12:00:00Z",
                "2027-08-31T12:00:00Z",
                "2027-09-30T12:00:00Z",
                "2027-10-31T12:00:00Z",
                "2027-11-30T12:00:00Z",
                "2027-12-31T12:00:00Z",
                "2028-01-31T12:00:00Z",
                "2028-02-29T12:00:00Z",
                "2028-03-31T12:00:00Z",
            ]
        );
        let invoices = app
            .get(&format!("/v1/subscriptions/{id}/invoices"), &renter.key)
            .await
            .expect(200);
        assert_eq!(
            invoices["invoices"].as_array().map(Vec::len),
            Some(14),
            "the first month and 13 renewals"
        );
        assert_eq!(
            invoices["invoices"][13]["period_start"],
            json!("2028-02-29T12:00:00Z")
        );
        assert_eq!(invoices["total"], json!(140.0));
        assert_eq!(app.balance_cents(&renter).await, 20_000 - 14_000);
        assert_eq!(app.balance_cents(&creator).await, 14 * 800);
        app.assert_ledger_balanced().await;
    }
);

store_test!(the_same_pass_run_twice_charges_once, |app| {
    let creator = app.user("creator").await;
    let renter = app.funded_user("renter", 100.0).await;
    let tool = new_tool(&app, &creator, 10.0, "basic").await;
    let id = subscribe(&app, &renter, &tool, json!({})).await;
    app.clock.set(at("2027-02-28T12:00:00Z"));

    let first = app.billing_pass().await;
    let second = app.billing_pass().await;

    assert_eq!((first.renewed, second.renewed), (1, 0));
    assert_eq!(app.charges_of(&id).await.len(), 2);
    assert_eq!(app.balance_cents(&renter).await, 8_000);
    app.assert_ledger_balanced().await;
});

store_test!(
    a_short_balance_goes_past_due_then_expires_after_grace,
    |app| {
        // Arrange: exactly one month of credit.
        let creator = app.user("creator").await;
        let renter = app.funded_user("renter", 10.0).await;
        let tool = new_tool(&app, &creator, 10.0, "basic").await;
        let id = subscribe(&app, &renter, &tool, json!({})).await;
        let end = at("2027-02-28T12:00:00Z");
        let access = async |app: &TestApp| {
            app.get(&format!("/v1/tools/{tool}/access"), &renter.key)
                .await
                .expect(200)["has_access"]
                .clone()
        };

        // Act + Assert: the renewal fails.
        app.clock.set(end);
        assert_eq!(app.billing_pass().await.failed, 1);
        let s = subscription(&app, &renter, &id).await;
        assert_eq!(s["status"], json!("past_due"));
        assert_eq!(
            s["access_until"],
            json!("2027-03-03T12:00:00Z"),
            "3 days of grace"
        );
        assert_eq!(
            s["next_retry_at"],
            json!("2027-03-01T12:00:00Z"),
            "first retry after a day"
        );
        assert_eq!(access(&app).await, json!(true), "access kept during grace");

        app.clock.set(end + TimeDelta::days(1));
        assert_eq!(app.billing_pass().await.failed, 1, "the first retry fails");
        assert_eq!(
            subscription(&app, &renter, &id).await["next_retry_at"],
            json!("2027-03-03T12:00:00Z")
        );

        app.clock.set(end + TimeDelta::days(3));
        let last = app.billing_pass().await;
        assert_eq!(
            (last.failed, last.expired),
            (1, 1),
            "the last retry fails and grace is over"
        );
        let s = subscription(&app, &renter, &id).await;
        assert_eq!(s["status"], json!("expired"));
        assert_eq!(s["ended_at"], json!("2027-03-03T12:00:00Z"));
        assert_eq!(access(&app).await, json!(false));

        // A later top-up does not revive it.
        app.post(
            "/v1/accounts/me/credits",
            &renter.key,
            &json!({"amount": 100}),
        )
        .await
        .expect(200);
        app.clock.set(end + TimeDelta::days(10));
        app.billing_pass().await;
        assert_eq!(
            subscription(&app, &renter, &id).await["status"],
            json!("expired")
        );
        assert_eq!(
            app.charges_of(&id).await.len(),
            1,
            "never charged after the first month"
        );
        assert_eq!(app.balance_cents(&renter).await, 10_000);
        app.assert_ledger_balanced().await;
    }
);

store_test!(
    a_past_due_subscription_recovers_on_a_retry_after_a_top_up,
    |app| {
        let creator = app.user("creator").await;
        let renter = app.funded_user("renter", 10.0).await;
        let tool = new_tool(&app, &creator, 10.0, "basic").await;
        let id = subscribe(&app, &renter, &tool, json!({})).await;
        app.clock.set(at("2027-02-28T12:00:00Z"));
        app.billing_pass().await;
        app.post(
            "/v1/accounts/me/credits",
            &renter.key,
            &json!({"amount": 15}),
        )
        .await
        .expect(200);

        app.clock.set(at("2027-03-01T12:00:00Z"));
        let report = app.billing_pass().await;

        assert_eq!((report.renewed, report.recovered), (1, 1));
        let s = subscription(&app, &renter, &id).await;
        assert_eq!(s["status"], json!("active"));
        assert_eq!(
            s["paid_through"],
            json!("2027-03-31T12:00:00Z"),
            "the period stays anchored"
        );
        assert_eq!(s["next_retry_at"], json!(null));
        assert_eq!(app.balance_cents(&renter).await, 500);
        app.assert_ledger_balanced().await;
    }
);

store_test!(
    non_renewing_and_deleted_tool_subscriptions_expire_at_period_end,
    |app| {
        let creator = app.user("creator").await;
        let renter = app.funded_user("renter", 100.0).await;
        let kept = new_tool(&app, &creator, 10.0, "basic").await;
        let doomed = new_tool(&app, &creator, 10.0, "basic").await;
        let free = new_tool(&app, &creator, 10.0, "free").await;
        let no_renew = subscribe(&app, &renter, &kept, json!({"auto_renew": false})).await;
        let of_deleted = subscribe(&app, &renter, &doomed, json!({})).await;
        let free_sub = subscribe(&app, &renter, &free, json!({"tier": "free"})).await;
        app.delete(&format!("/v1/tools/{doomed}"), &creator.key)
            .await
            .expect(204);

        app.clock.set(at("2027-02-28T12:00:00Z"));
        let report = app.billing_pass().await;

        assert_eq!((report.expired, report.renewed), (2, 1), "{report:?}");
        assert_eq!(
            subscription(&app, &renter, &no_renew).await["status"],
            json!("expired")
        );
        assert_eq!(
            subscription(&app, &renter, &of_deleted).await["status"],
            json!("expired")
        );
        let f = subscription(&app, &renter, &free_sub).await;
        assert_eq!(
            (f["status"].clone(), f["paid_through"].clone()),
            (json!("active"), json!("2027-03-31T12:00:00Z")),
            "free renews for nothing"
        );
        assert_eq!(app.balance_cents(&renter).await, 8_000, "no renewal charge");
        app.assert_ledger_balanced().await;
    }
);

store_test!(
    concurrent_and_interrupted_passes_charge_each_period_exactly_once,
    |app| {
        // Arrange: 30 subscriptions due at once, batches of 4.
        let creator = app.user("creator").await;
        let mut subs = Vec::new();
        for i in 0..30 {
            let renter = app.funded_user(&format!("r{i}"), 50.0).await;
            let tool = new_tool(&app, &creator, 10.0, "basic").await;
            subs.push(subscribe(&app, &renter, &tool, json!({})).await);
        }
        app.clock.set(at("2027-02-28T12:00:00Z"));
        let mut settings = (*app.settings).clone();
        settings.scheduler.batch_size = 4;
        let now = at("2027-02-28T12:00:00Z");

        // Act: a pass killed after it started, then two schedulers at once, then a repeat.
        let store = app.store.clone();
        let s2 = settings.clone();
        let killed =
            tokio::spawn(async move { shared::billing::run_pass(store.as_ref(), &s2, now).await });
        tokio::task::yield_now().await;
        killed.abort();
        let _ = killed.await;
        let passes =
            join_all((0..2).map(|_| shared::billing::run_pass(app.store.as_ref(), &settings, now)))
                .await;
        let again = shared::billing::run_pass(app.store.as_ref(), &settings, now)
            .await
            .expect("pass");

        // Assert
        let concurrent: u64 = passes
            .iter()
            .map(|p| p.as_ref().expect("pass").renewed)
            .sum();
        assert!(
            concurrent <= 30 && again.renewed == 0,
            "nothing left after the passes: {passes:?} {again:?}"
        );
        for id in &subs {
            assert_eq!(
                app.charges_of(id).await.len(),
                2,
                "subscription {id}: the first month and one renewal, once"
            );
        }
        app.assert_ledger_balanced().await;
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_schedulers_on_postgres_split_the_work_without_overlap() {
    let Some(app) = spawn_app_with(Backend::Postgres, |s| s.scheduler.batch_size = 5).await else {
        return;
    };
    let creator = app.user("creator").await;
    let mut subs = Vec::new();
    for i in 0..40 {
        let renter = app.funded_user(&format!("r{i}"), 50.0).await;
        let tool = new_tool(&app, &creator, 10.0, "basic").await;
        subs.push(subscribe(&app, &renter, &tool, json!({})).await);
    }
    let now = at("2027-02-28T12:00:00Z");

    let passes =
        join_all((0..2).map(|_| shared::billing::run_pass(app.store.as_ref(), &app.settings, now)))
            .await;

    let reports: Vec<_> = passes.into_iter().map(|p| p.expect("pass")).collect();
    assert_eq!(
        reports.iter().map(|r| r.renewed).sum::<u64>(),
        40,
        "every subscription renewed: {reports:?}"
    );
    assert_eq!(
        reports.iter().map(|r| r.already_charged).sum::<u64>(),
        0,
        "no batch overlapped another"
    );
    for id in &subs {
        assert_eq!(app.charges_of(id).await.len(), 2);
    }
    app.assert_ledger_balanced().await;
}

async fn sandbox_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |s| s.sandbox = true).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_clock_walks_a_year_of_billing_over_http() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(app) = sandbox_app(backend).await else {
            continue;
        };
        // Arrange
        let creator = app.user("creator").await;
        let renter = app.funded_user("renter", 1_100.0).await;
        let tool = new_tool(&app, &creator, 29.99, "basic").await;
        let id = subscribe(&app, &renter, &tool, json!({"tier": "pro"})).await;
        app.get("/v1/admin/clock", &renter.key).await.problem(404);

        // Act
        let moved = app
            .post("/v1/admin/clock/advance", ADMIN_KEY, &json!({"days": 366}))
            .await
            .expect(200);
        let set = app
            .send(
                reqwest::Method::PUT,
                "/v1/admin/clock",
                Some(ADMIN_KEY),
                Some(&json!({"now": "2028-03-01T00:00:00Z"})),
            )
            .await
            .expect(200);

        // Assert
        assert_eq!(moved["now"], json!("2028-02-01T12:00:00Z"));
        assert_eq!(moved["billing"]["renewed"], json!(12), "{moved}");
        assert_eq!(
            set["billing"]["renewed"],
            json!(1),
            "Feb 29 2028 renewal: {set}"
        );
        let invoices = app
            .get(&format!("/v1/subscriptions/{id}/invoices"), &renter.key)
            .await
            .expect(200);
        assert_eq!(invoices["invoices"].as_array().map(Vec::len), Some(14));
        assert_eq!(cents(&invoices["total"]), 14 * 7_498);
        let clock = app.get("/v1/admin/clock", ADMIN_KEY).await.expect(200);
        assert_eq!(clock["now"], json!("2028-03-01T00:00:00Z"));
        app.send(
            reqwest::Method::PUT,
            "/v1/admin/clock",
            Some(ADMIN_KEY),
            Some(&json!({"now": "2027-01-01T00:00:00Z"})),
        )
        .await
        .problem(422);
        app.assert_ledger_balanced().await;
    }
}

store_test!(clock_routes_do_not_exist_outside_sandbox_mode, |app| {
    app.get("/v1/admin/clock", ADMIN_KEY).await.problem(404);
    app.post("/v1/admin/clock/advance", ADMIN_KEY, &json!({"days": 1}))
        .await
        .problem(404);
});

store_test!(
    upcoming_shows_the_next_charge_and_auto_renew_controls_it,
    |app| {
        let creator = app.user("creator").await;
        let renter = app.funded_user("renter", 200.0).await;
        let tool = new_tool(&app, &creator, 29.99, "basic").await;
        let id = subscribe(&app, &renter, &tool, json!({"tier": "pro"})).await;
        let upcoming = async |app: &TestApp| {
            app.get(&format!("/v1/subscriptions/{id}/upcoming"), &renter.key)
                .await
                .expect(200)
        };

        let next = upcoming(&app).await;
        assert_eq!(
            (
                next["renews"].clone(),
                next["due_at"].clone(),
                next["amount"].clone()
            ),
            (json!(true), json!("2027-02-28T12:00:00Z"), json!(74.98))
        );
        assert_eq!(next["period_end"], json!("2027-03-31T12:00:00Z"));

        let off = app
            .post(
                &format!("/v1/subscriptions/{id}/auto-renew"),
                &renter.key,
                &json!({"enabled": false}),
            )
            .await
            .expect(200);
        assert_eq!(off["subscription"]["auto_renew"], json!(false));
        assert_eq!(upcoming(&app).await["renews"], json!(false));
        app.post(
            &format!("/v1/subscriptions/{id}/cancel"),
            &renter.key,
            &json!({}),
        )
        .await
        .expect(200);
        let on = app
            .post(
                &format!("/v1/subscriptions/{id}/auto-renew"),
                &renter.key,
                &json!({"enabled": true}),
            )
            .await
            .expect(200);
        assert_eq!(
            on["subscription"]["cancel_at_period_end"],
            json!(false),
            "turning renewal on withdraws the cancellation"
        );
        assert_eq!(upcoming(&app).await["renews"], json!(true));
        let other = app.user("other").await;
        app.post(
            &format!("/v1/subscriptions/{id}/auto-renew"),
            &other.key,
            &json!({"enabled": false}),
        )
        .await
        .problem(404);
        app.get(&format!("/v1/subscriptions/{id}/invoices"), &other.key)
            .await
            .problem(404);
        app.get(&format!("/v1/subscriptions/{id}/upcoming"), &other.key)
            .await
            .problem(404);

        app.clock.set(at("2027-02-28T12:00:00Z"));
        app.billing_pass().await;
        let charges = app.charges_of(&id).await;
        assert_eq!(
            charges.last().map(|c| (c.period_start, c.amount.cents())),
            Some((at("2027-02-28T12:00:00Z"), 7_498)),
            "charged as announced"
        );
    }
);

store_test!(analytics_come_from_the_ledger_and_the_store, |app| {
    // Arrange
    let creator = app.user("creator").await;
    let other_creator = app.user("other creator").await;
    let a = app.funded_user("a", 200.0).await;
    let b = app.funded_user("b", 200.0).await;
    let t1 = new_tool(&app, &creator, 10.0, "basic").await;
    let t2 = new_tool(&app, &creator, 20.0, "basic").await;
    new_tool(&app, &other_creator, 5.0, "basic").await;
    subscribe(&app, &a, &t1, json!({})).await;
    subscribe(&app, &b, &t1, json!({"tier": "pro"})).await;
    let gone = subscribe(&app, &a, &t2, json!({"auto_renew": false})).await;
    app.post(
        &format!("/v1/subscriptions/{gone}/cancel"),
        &a.key,
        &json!({"immediate": true}),
    )
    .await
    .expect(200);

    // Act
    let market = app
        .get("/v1/stats/marketplace", ADMIN_KEY)
        .await
        .expect(200);
    let mine = app
        .get("/v1/creators/me/stats", &creator.key)
        .await
        .expect(200);
    let tool = app
        .get(&format!("/v1/tools/{t1}/analytics"), &creator.key)
        .await
        .expect(200);

    // Assert
    assert_eq!(
        (market["tools"].clone(), market["creators"].clone()),
        (json!(3), json!(2))
    );
    assert_eq!(
        market["active_subscriptions_by_tier"],
        json!({"free": 0, "basic": 1, "pro": 1, "enterprise": 0})
    );
    assert_eq!(market["mrr"], json!(35.0), "10.00 + 25.00 recurring");
    assert_eq!(market["revenue_by_month"][0]["month"], json!("2027-01"));
    assert_eq!(market["revenue_by_month"][0]["charges"], json!(55.0));
    assert_eq!(
        market["revenue_by_month"][0]["refunds"],
        json!(20.0),
        "canceled at once, fully refunded"
    );
    assert_eq!(
        market["revenue_by_month"][0]["platform"],
        json!(7.0),
        "20% of the 35.00 kept"
    );
    assert_eq!(mine["total_earnings"], json!(28.0));
    assert_eq!(mine["subscribers"], json!(2));
    assert_eq!(mine["top_tools"][0]["tool_id"], json!(t1));
    assert_eq!(
        mine["earnings_by_tool_and_month"].as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(tool["live_subscribers"], json!(2));
    assert_eq!(
        tool["subscribers_over_time"],
        json!([{"month": "2027-01", "started": 2, "ended": 0, "live": 2}])
    );
    assert_eq!(tool["versions"][0]["version"], json!(1));
    app.get("/v1/stats/marketplace", &creator.key)
        .await
        .problem(404);
    app.get(&format!("/v1/tools/{t1}/analytics"), &a.key)
        .await
        .problem(404);
    let empty = app.get("/v1/creators/me/stats", &a.key).await.expect(200);
    assert_eq!(empty["total_earnings"], json!(0.0));
});

store_test!(a_renter_due_twice_with_credit_for_one_keeps_one, |app| {
    // Arrange: two subscriptions renewing together, credit for one renewal only.
    let creator = app.user("creator").await;
    let renter = app.funded_user("renter", 30.0).await;
    let cheap = new_tool(&app, &creator, 10.0, "basic").await;
    let dear = new_tool(&app, &creator, 10.0, "basic").await;
    let a = subscribe(&app, &renter, &cheap, json!({})).await;
    let b = subscribe(&app, &renter, &dear, json!({})).await;

    // Act
    app.clock.set(at("2027-02-28T12:00:00Z"));
    let report = app.billing_pass().await;

    // Assert
    assert_eq!((report.renewed, report.failed), (1, 1), "{report:?}");
    let statuses = [
        subscription(&app, &renter, &a).await["status"].clone(),
        subscription(&app, &renter, &b).await["status"].clone(),
    ];
    assert!(
        statuses.contains(&json!("active")) && statuses.contains(&json!("past_due")),
        "{statuses:?}"
    );
    assert_eq!(app.balance_cents(&renter).await, 0, "never below zero");
    app.assert_ledger_balanced().await;
});
