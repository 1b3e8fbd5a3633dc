//! Request rates: a key over its burst gets 429 with Retry-After and its request is not served,
//! other keys are not slowed, the probes are never limited, and account creation has its own
//! hourly allowance per address.

use reqwest::Method;
use serde_json::json;
use tests::{store_test, store_test_with};

store_test_with!(
    a_key_over_its_rate_gets_429_and_others_are_served,
    |s: &mut shared::config::Settings| {
        s.api.rate_limit_per_sec = 1;
        s.api.rate_limit_burst = 5;
    },
    |app| {
        // Arrange: account creation is keyless, so it draws from the address' bucket; the
        // users' own requests draw from their keys' buckets.
        let alice = app.user("alice").await;
        let bob = app.user("bob").await;
        let mut answered = Vec::new();

        // Act: more requests than the burst at once.
        for i in 0..8 {
            let reply = app
                .send(
                    Method::POST,
                    "/v1/tools",
                    Some(&alice.key),
                    Some(&json!({
                        "name": format!("tool {i}"), "description": "d", "category": "c",
                        "family": "sma_crossover", "monthly_price": 0, "tier": "free"
                    })),
                )
                .await;
            answered.push(reply);
        }
        let bob_me = app.get("/v1/accounts/me", &bob.key).await;
        let probe = app.send(Method::GET, "/healthz", None, None).await;

        // Assert
        let created = answered.iter().filter(|r| r.status == 201).count();
        let limited: Vec<_> = answered.into_iter().filter(|r| r.status == 429).collect();
        assert!(
            (5..=6).contains(&created),
            "the burst is served, then the rate: {created} created"
        );
        assert!(!limited.is_empty(), "the rest is refused");
        let retry_after: u64 = limited[0]
            .headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .expect("Retry-After in whole seconds");
        assert!(
            (1..=2).contains(&retry_after),
            "retry after {retry_after} s"
        );
        let problem = limited.into_iter().next().expect("one").problem(429);
        assert_eq!(problem["type"], json!("/problems/rate-limited"));
        bob_me.expect(200);
        probe.expect(200);
        let listed = app
            .store
            .list_tools(&Default::default(), 100)
            .await
            .expect("tools");
        assert_eq!(listed.len(), created, "a refused request created nothing");
    }
);

store_test_with!(
    one_address_creates_a_bounded_number_of_accounts_per_hour,
    |s: &mut shared::config::Settings| s.api.signups_per_hour = 3,
    |app| {
        let mut statuses = Vec::new();
        for i in 0..5 {
            let reply = app
                .send(
                    Method::POST,
                    "/v1/accounts",
                    None,
                    Some(&json!({"name": format!("farm {i}")})),
                )
                .await;
            statuses.push(reply.status);
        }
        assert_eq!(statuses, [201, 201, 201, 429, 429]);
    }
);

store_test!(a_422_does_not_echo_a_large_request_back, |app| {
    // Arrange: a body of many unknown parameters with long names, about 600 KB.
    let alice = app.user("alice").await;
    let parameters: serde_json::Map<String, serde_json::Value> = (0..2_000)
        .map(|i| (format!("{}{i}", "p".repeat(300)), json!(1)))
        .collect();
    let body = json!({
        "name": "echo", "description": "d", "category": "c", "family": "sma_crossover",
        "monthly_price": 0, "tier": "free", "parameters": parameters
    });
    let sent = serde_json::to_vec(&body).expect("json").len();

    // Act
    let reply = app
        .send(Method::POST, "/v1/tools", Some(&alice.key), Some(&body))
        .await;

    // Assert
    let problem = reply.problem(422);
    let answered = serde_json::to_vec(&problem).expect("json").len();
    assert!(sent > 500_000, "{sent}");
    assert!(
        answered < 16 * 1024,
        "a {sent}-byte request got a {answered}-byte problem"
    );
    let errors = problem["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 21, "20 named, then how many more");
});
