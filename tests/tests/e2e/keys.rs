//! API key rotation and revocation: a new key works at once, a revoked key is refused on the
//! very next request, another account's keys are invisible (404, nothing changes), the last
//! active key cannot be revoked (409, even by two concurrent revocations), re-revoking is
//! idempotent, secrets are shown once and never listed, and an account holds at most 20 active
//! keys.

use api::auth::generate_key;
use chrono::TimeDelta;
use reqwest::Method;
use serde_json::{Value, json};
use shared::clock::Clock;
use shared::store::{MAX_ACTIVE_API_KEYS, StoreError};
use tests::{TestApp, store_test};
use uuid::Uuid;

const KEYS: &str = "/v1/accounts/me/keys";

/// Creates a key with this body as the holder of `key`, expecting 201; returns the response body.
async fn create_key(app: &TestApp, key: &str, body: Option<&Value>) -> Value {
    app.send(Method::POST, KEYS, Some(key), body)
        .await
        .expect(201)
}

/// The caller's keys, newest first.
async fn list_keys(app: &TestApp, key: &str) -> Vec<Value> {
    app.get(KEYS, key).await.expect(200)["keys"]
        .as_array()
        .expect("keys")
        .clone()
}

fn key_path(id: &Value) -> String {
    format!("{KEYS}/{}", id.as_str().expect("key id"))
}

fn active(keys: &[Value]) -> usize {
    keys.iter().filter(|k| k["revoked_at"].is_null()).count()
}

store_test!(
    a_rotated_key_works_at_once_and_the_old_one_is_refused_on_the_next_request,
    |app| {
        // Arrange
        let alice = app.user("alice").await;
        let old_id = list_keys(&app, &alice.key).await[0]["id"].clone();

        // Act
        let created = create_key(&app, &alice.key, Some(&json!({"label": "  ci  "}))).await;
        let new_key = created["api_key"]
            .as_str()
            .expect("secret shown once")
            .to_owned();
        let me = app.get("/v1/accounts/me", &new_key).await.expect(200);
        app.delete(&key_path(&old_id), &new_key).await.expect(204);

        // Assert
        assert_eq!(
            me["account"]["id"],
            json!(alice.id),
            "the new key acts for the same account"
        );
        assert!(
            new_key.starts_with("mk_") && new_key != alice.key,
            "{new_key}"
        );
        assert_eq!(created["key"]["label"], json!("ci"), "label is trimmed");
        assert_eq!(created["key"]["prefix"], json!(new_key[..10]));
        assert!(created["key"]["revoked_at"].is_null());
        app.get("/v1/accounts/me", &alice.key).await.problem(401);
        app.get("/v1/tools", &alice.key).await.problem(401);
        app.get("/v1/accounts/me", &new_key).await.expect(200);
        let keys = list_keys(&app, &new_key).await;
        assert_eq!(keys.len(), 2, "revoked keys stay listed");
        assert_eq!(keys[0]["id"], created["key"]["id"], "newest first");
        assert!(keys[0]["revoked_at"].is_null(), "the new key is active");
        assert_eq!(keys[1]["id"], old_id);
        assert_eq!(
            keys[1]["revoked_at"],
            json!(app.clock.now()),
            "the old key shows when it was revoked"
        );
    }
);

store_test!(a_key_can_revoke_itself_when_another_is_active, |app| {
    // Arrange
    let alice = app.user("alice").await;
    let old_id = list_keys(&app, &alice.key).await[0]["id"].clone();
    let created = create_key(&app, &alice.key, None).await;

    // Act
    app.delete(&key_path(&old_id), &alice.key).await.expect(204);

    // Assert
    app.get("/v1/accounts/me", &alice.key).await.problem(401);
    let new_key = created["api_key"].as_str().expect("secret");
    assert_eq!(active(&list_keys(&app, new_key).await), 1);
});

store_test!(another_accounts_key_is_not_found_and_stays_active, |app| {
    // Arrange
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    create_key(&app, &bob.key, None).await;
    let bobs = list_keys(&app, &bob.key).await;

    // Act
    let mut problems = Vec::new();
    for k in &bobs {
        problems.push(
            app.delete(&key_path(&k["id"]), &alice.key)
                .await
                .problem(404),
        );
    }
    let unknown = app
        .delete(&format!("{KEYS}/{}", Uuid::now_v7()), &alice.key)
        .await
        .problem(404);

    // Assert
    for p in &problems {
        assert_eq!(
            p["detail"], unknown["detail"],
            "another account's key looks exactly like a key that does not exist"
        );
    }
    assert_eq!(
        list_keys(&app, &bob.key).await,
        bobs,
        "bob's keys are unchanged"
    );
    app.get("/v1/accounts/me", &bob.key).await.expect(200);
    assert_eq!(
        list_keys(&app, &alice.key).await.len(),
        1,
        "alice sees only her key"
    );
    app.delete(&format!("{KEYS}/not-a-uuid"), &alice.key)
        .await
        .problem(400);
});

store_test!(the_last_active_key_cannot_be_revoked, |app| {
    // Arrange
    let alice = app.user("alice").await;
    let first = list_keys(&app, &alice.key).await[0]["id"].clone();

    // Act
    let refused = app.delete(&key_path(&first), &alice.key).await.problem(409);

    // Assert
    assert!(
        refused["detail"]
            .as_str()
            .is_some_and(|d| d.contains("last active")),
        "{refused}"
    );
    app.get("/v1/accounts/me", &alice.key).await.expect(200);
    assert_eq!(
        active(&list_keys(&app, &alice.key).await),
        1,
        "nothing was revoked"
    );

    // Rotating away from it works, and then the new key is the last one.
    let created = create_key(&app, &alice.key, None).await;
    let second = created["key"]["id"].clone();
    let new_key = created["api_key"].as_str().expect("secret");
    app.delete(&key_path(&first), new_key).await.expect(204);
    app.delete(&key_path(&second), new_key).await.problem(409);
    app.get("/v1/accounts/me", new_key).await.expect(200);
});

store_test!(revoking_a_revoked_key_again_changes_nothing, |app| {
    // Arrange
    let alice = app.user("alice").await;
    let first = list_keys(&app, &alice.key).await[0]["id"].clone();
    let created = create_key(&app, &alice.key, None).await;
    let new_key = created["api_key"].as_str().expect("secret");
    app.delete(&key_path(&first), new_key).await.expect(204);
    let before = list_keys(&app, new_key).await;

    // Act
    app.clock.advance(TimeDelta::hours(1));
    app.delete(&key_path(&first), new_key).await.expect(204);

    // Assert
    assert_eq!(
        list_keys(&app, new_key).await,
        before,
        "the first revocation time stands"
    );
    assert_eq!(active(&before), 1, "the other key stays active");
    app.get("/v1/accounts/me", &alice.key).await.problem(401);
});

store_test!(secrets_are_shown_once_and_never_listed, |app| {
    // Arrange
    let alice = app.user("alice").await;
    let laptop = create_key(&app, &alice.key, Some(&json!({"label": "laptop"}))).await;
    let ci = create_key(&app, &alice.key, Some(&json!({}))).await;

    // Act
    let listing = app.get(KEYS, &alice.key).await.expect(200);
    let me = app.get("/v1/accounts/me", &alice.key).await.expect(200);

    // Assert
    let text = format!("{listing}{me}");
    for secret in [
        &alice.key,
        &laptop["api_key"].as_str().expect("secret").to_owned(),
        &ci["api_key"].as_str().expect("secret").to_owned(),
    ] {
        assert!(
            !text.contains(&secret[3..]),
            "a secret is never shown again"
        );
    }
    let keys = listing["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 3);
    for k in keys {
        let mut fields: Vec<&str> = k
            .as_object()
            .expect("key")
            .keys()
            .map(String::as_str)
            .collect();
        fields.sort_unstable();
        assert_eq!(
            fields,
            ["created_at", "id", "label", "prefix", "revoked_at"],
            "{k}"
        );
    }
    assert_eq!(keys[1]["label"], json!("laptop"));
    assert!(
        keys[0]["label"].is_null() && keys[2]["label"].is_null(),
        "no label, no name"
    );
});

store_test!(labels_are_checked, |app| {
    // Arrange
    let alice = app.user("alice").await;

    // Act
    let long = app
        .post(KEYS, &alice.key, &json!({"label": "x".repeat(101)}))
        .await
        .problem(422);
    let blank = app
        .post(KEYS, &alice.key, &json!({"label": "   "}))
        .await
        .problem(422);
    let unknown = app
        .post(KEYS, &alice.key, &json!({"name": "ci"}))
        .await
        .problem(422);
    let longest = create_key(&app, &alice.key, Some(&json!({"label": "é".repeat(100)}))).await;

    // Assert
    assert_eq!(long["errors"][0]["field"], json!("label"));
    assert_eq!(blank["errors"][0]["field"], json!("label"));
    assert_eq!(unknown["errors"][0]["field"], json!("name"));
    assert_eq!(
        longest["key"]["label"],
        json!("é".repeat(100)),
        "100 characters fit"
    );
    assert_eq!(
        list_keys(&app, &alice.key).await.len(),
        2,
        "refused bodies made no key"
    );
});

store_test!(an_account_holds_at_most_20_active_keys, |app| {
    // Arrange: the account's first key and 19 more.
    let alice = app.user("alice").await;
    for _ in 1..MAX_ACTIVE_API_KEYS {
        create_key(&app, &alice.key, None).await;
    }

    // Act
    let refused = app
        .send(Method::POST, KEYS, Some(&alice.key), None)
        .await
        .problem(409);

    // Assert
    assert!(
        refused["detail"]
            .as_str()
            .is_some_and(|d| d.contains("at most 20 active")),
        "{refused}"
    );
    let keys = list_keys(&app, &alice.key).await;
    assert_eq!(keys.len(), 20, "the refused key was not made");
    // Revoked keys do not count.
    app.delete(&key_path(&keys[0]["id"]), &alice.key)
        .await
        .expect(204);
    create_key(&app, &alice.key, None).await;
    assert_eq!(active(&list_keys(&app, &alice.key).await), 20);
});

store_test!(concurrent_revocations_never_revoke_the_last_key, |app| {
    let alice = app.user("alice").await;
    let mut current = (
        app.store.api_keys(alice.id).await.expect("keys")[0].id,
        alice.key.clone(),
    );
    for round in 0..10 {
        // Arrange: exactly two active keys.
        let created = create_key(&app, &current.1, None).await;
        let other = (
            created["key"]["id"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .expect("id"),
            created["api_key"].as_str().expect("secret").to_owned(),
        );

        // Act
        let now = app.clock.now();
        let (a, b) = tokio::join!(
            app.store.revoke_api_key(alice.id, current.0, now),
            app.store.revoke_api_key(alice.id, other.0, now)
        );

        // Assert
        let refused = [&a, &b]
            .iter()
            .filter(|r| matches!(r, Err(StoreError::Conflict(_))))
            .count();
        assert_eq!(
            (refused, a.is_ok() || b.is_ok()),
            (1, true),
            "round {round}: exactly one of two concurrent revocations succeeds: {a:?} {b:?}"
        );
        let (survivor, revoked) = if a.is_ok() {
            (other, current)
        } else {
            (current, other)
        };
        let keys = app.store.api_keys(alice.id).await.expect("keys");
        let active: Vec<Uuid> = keys
            .iter()
            .filter(|k| k.revoked_at.is_none())
            .map(|k| k.id)
            .collect();
        assert_eq!(
            active,
            [survivor.0],
            "round {round}: the refused key stays the one active key"
        );
        app.get("/v1/accounts/me", &survivor.1).await.expect(200);
        app.get("/v1/accounts/me", &revoked.1).await.problem(401);
        current = survivor;
    }
});

store_test!(concurrent_creations_never_pass_the_cap, |app| {
    // Arrange: one key short of the cap.
    let alice = app.user("alice").await;
    for _ in 2..MAX_ACTIVE_API_KEYS {
        create_key(&app, &alice.key, None).await;
    }
    for round in 0..10 {
        let (_, first) = generate_key();
        let (_, second) = generate_key();

        // Act
        let now = app.clock.now();
        let (a, b) = tokio::join!(
            app.store.create_api_key(alice.id, &first, None, now),
            app.store
                .create_api_key(alice.id, &second, Some("racer"), now)
        );

        // Assert
        let refused = [&a, &b]
            .iter()
            .filter(|r| matches!(r, Err(StoreError::Conflict(_))))
            .count();
        assert_eq!(
            refused, 1,
            "round {round}: exactly one of two concurrent creations passes: {a:?} {b:?}"
        );
        let keys = app.store.api_keys(alice.id).await.expect("keys");
        let active = keys.iter().filter(|k| k.revoked_at.is_none()).count();
        assert_eq!(
            active as i64, MAX_ACTIVE_API_KEYS,
            "round {round}: the cap holds"
        );
        // Back to one short of the cap (revoked keys do not count).
        let made = a.or(b).expect("one creation passed");
        app.store
            .revoke_api_key(alice.id, made.id, now)
            .await
            .expect("not the last key");
    }
});

store_test!(key_routes_are_documented, |app| {
    let doc = app
        .send(Method::GET, "/openapi.json", None, None)
        .await
        .expect(200);
    for (path, method, status) in [
        (KEYS, "post", "201"),
        (KEYS, "post", "409"),
        (KEYS, "get", "200"),
        ("/v1/accounts/me/keys/{id}", "delete", "204"),
        ("/v1/accounts/me/keys/{id}", "delete", "404"),
        ("/v1/accounts/me/keys/{id}", "delete", "409"),
    ] {
        assert!(
            doc["paths"][path][method]["responses"][status].is_object(),
            "{method} {path} documents {status}"
        );
    }
});
