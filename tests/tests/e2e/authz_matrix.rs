//! The authorization matrix, generated from the server's own `/openapi.json`: every operation
//! whose path names an object, called on account A's objects by another account (B), with no
//! key and with a revoked key, is refused (401 without a valid key; 404 to another account, or
//! 403 only where the operation documents a 403 of its own; operators' routes are 404 to every
//! account) and changes nothing A can see. A's listed tool and the families catalog are public
//! by design (any account reads them); a deleted tool is private to its creator again, so every
//! tool route also runs on A's deleted tool. [`table::TABLE`] says how each templated operation's ids
//! are filled: a route the document has and the table lacks fails the test, so every new route
//! joins the matrix.

use std::collections::BTreeMap;

use reqwest::Method;

use serde_json::{Value, json};
use tests::{
    Backend, Resp, TestApp, User, default_standards, momentum_tool, spawn_app, store_test_with,
    trending_data,
};

mod table;

use table::{
    Access, Objects, Op, Row, body, check_table, document_problems, fill, operations, table,
};

async fn call(app: &TestApp, op: &Op, path: &str, key: Option<&str>, objects: &Objects) -> Resp {
    let body = body(&op.name(), objects).or_else(|| op.has_body.then(|| json!({})));
    app.send(op.method.clone(), path, key, body.as_ref()).await
}

fn is_problem(r: &Resp) -> bool {
    let content_type = r.headers.get("content-type");
    content_type.is_some_and(|v| v.as_bytes() == b"application/problem+json")
}

/// Whether another account's answer keeps the operation's promise. A 404 must be the object's:
/// "route not found" would mean the path missed its route (operators' routes answer it on
/// purpose).
fn other_account_ok(op: &Op, access: Access, r: &Resp) -> bool {
    let status = r.status.as_u16();
    if op.operator_only() {
        return status == 404 && is_problem(r);
    }
    let object_404 = status == 404 && is_problem(r) && r.body["detail"] != json!("route not found");
    match access {
        Access::Private => object_404,
        Access::Creator => object_404 || (status == 403 && is_problem(r) && op.documents_own_403()),
        Access::Public => object_404 || (status < 300 && op.documents(status)),
        Access::Operator => false,
    }
}

fn violation(phase: &str, op: &Op, path: &str, r: &Resp) -> String {
    let body: String = r.body.to_string().chars().take(300).collect();
    let template = &op.template;
    format!(
        "{phase}: {} {path} ({template}) answered {}: {body}",
        op.method, r.status
    )
}

/// A, B (the creator of the tool A rents: the closest stranger), A's objects and B's revoked key.
struct World {
    a: User,
    b: User,
    live: Objects,
    /// `live` with A's deleted tool in place of the listed one.
    deleted: Objects,
    revoked_key: String,
}

fn id(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("an id, got {v}"))
        .to_owned()
}

async fn world(app: &TestApp) -> World {
    let a = app.funded_user("alice", 1_000.0).await;
    let b = app.user("bob").await;
    let rented_tool = id(&app.tool(&b, TestApp::tool_body("SMA", 10.0, "basic")).await["id"]);
    let rent = json!({"tool_id": rented_tool, "tier": "basic"});
    let subscription = app
        .post("/v1/subscriptions", &a.key, &rent)
        .await
        .expect(201);
    let tool = id(&app
        .tool(&a, momentum_tool("Momentum", default_standards()))
        .await["id"]);
    // A reviews the tool it rents; a third account, C, rents A's tool and reviews it.
    let review = json!({"rating": 4, "title": "A's review"});
    let reviews_of = |t: &str| format!("/v1/tools/{t}/reviews");
    let review = app.post(&reviews_of(&rented_tool), &a.key, &review).await;
    let review = id(&review.expect(201)["review"]["id"]);
    let c = app.funded_user("carol", 1_000.0).await;
    let rent_a = json!({"tool_id": tool, "tier": "basic"});
    app.post("/v1/subscriptions", &c.key, &rent_a)
        .await
        .expect(201);
    let received = json!({"rating": 5, "title": "C's review"});
    let received = app.post(&reviews_of(&tool), &c.key, &received).await;
    let received = id(&received.expect(201)["review"]["id"]);
    let dataset = id(&app.generated_dataset(&a, trending_data()).await["id"]);
    let session = app
        .open_session(&a, &json!(dataset), json!({"seed": 7}))
        .await;
    // The momentum tool passes the gate on this data with seed 7 (see `momentum_tool`); A, its
    // creator, promotes the record, so version 2 carries a certificate.
    let optimized = app.insert_and_optimize(&a, &session, &tool, json!({"trials": 40}));
    let job = id(&optimized.await["id"]);
    let record = id(&app.session_view(&a, &session).await["optimizations"][0]["record_id"]);
    let promoted = app.promote(&record, &a.key).await.expect(201);
    let training = json!({"method": "q_learning", "config": {"epochs": 5}, "dataset_id": dataset});
    let trainings = format!("/v1/tools/{tool}/trainings");
    let training = app.post(&trainings, &a.key, &training).await.expect(202);
    let ab_test = json!({"version_a": 1, "version_b": 2, "dataset_ids": [dataset]});
    let ab_tests = format!("/v1/tools/{tool}/ab-tests");
    let ab_test = app.post(&ab_tests, &a.key, &ab_test).await.expect(202);
    let key = app
        .post("/v1/accounts/me/keys", &a.key, &json!({}))
        .await
        .expect(201);
    let retired = id(&app.tool(&a, TestApp::tool_body("Old", 5.0, "basic")).await["id"]);
    let gone = app.delete(&format!("/v1/tools/{retired}"), &a.key).await;
    gone.expect(204);
    // A settled world: every job of A's has finished, so A's view cannot move by itself.
    let jobs = app.get("/v1/jobs?limit=100", &a.key).await.expect(200);
    for j in jobs["jobs"].as_array().expect("jobs") {
        let done = app.wait_job(&id(&j["id"]), &a.key, 120).await;
        assert_eq!(done["status"], json!("succeeded"), "A's job: {done}");
    }
    let created = app
        .post("/v1/accounts/me/keys", &b.key, &json!({}))
        .await
        .expect(201);
    let revoked_key = id(&created["api_key"]);
    app.get("/v1/accounts/me", &revoked_key).await.expect(200);
    let revoke = format!("/v1/accounts/me/keys/{}", id(&created["key"]["id"]));
    app.delete(&revoke, &b.key).await.expect(204);
    let live = Objects {
        tool,
        certified: promoted["version"]["version"].as_i64().expect("version"),
        dataset,
        session,
        record,
        subscription: id(&subscription["subscription"]["id"]),
        training: id(&training["training"]["id"]),
        job,
        ab_test: id(&ab_test["ab_test"]["id"]),
        key: id(&key["key"]["id"]),
        rented_tool,
        review,
        received,
    };
    let deleted = Objects {
        tool: retired,
        certified: 1,
        ..live.clone()
    };
    World {
        a,
        b,
        live,
        deleted,
        revoked_key,
    }
}

/// The tool routes on A's tool, which also run on A's deleted tool (not those the table fills
/// with another tool, such as reviewing the tool A rents).
fn on_a_tool(op: &Op, row: Option<&Row>) -> bool {
    let of_a = row.is_none_or(|r| r.ids.iter().any(|(n, o)| n == "id" && o == "tool"));
    op.template.starts_with("/v1/tools/{id}") && of_a
}

type Snapshot = BTreeMap<String, (u16, Value)>;

/// Everything A can read: every GET an account's key may call, on A's objects (and on A's
/// deleted tool), as status and body.
async fn snapshot(app: &TestApp, ops: &[Op], rows: &BTreeMap<&str, &Row>, w: &World) -> Snapshot {
    let mut seen = BTreeMap::new();
    let readable = ops
        .iter()
        .filter(|o| o.method == Method::GET && o.schemes.contains("bearer"));
    for op in readable {
        let row = rows.get(op.name().as_str()).copied();
        let mut paths = vec![fill(op, row, &w.live)];
        if on_a_tool(op, row) {
            paths.push(fill(op, row, &w.deleted));
        }
        for path in paths {
            let mut r = app.get(&path, &w.a.key).await;
            // A problem's `instance` names the request, not the object.
            let problem = is_problem(&r);
            if let Some(fields) = r.body.as_object_mut().filter(|_| problem) {
                fields.remove("instance");
            }
            seen.insert(format!("GET {path}"), (r.status.as_u16(), r.body));
        }
    }
    seen
}

fn differences(before: &Snapshot, after: &Snapshot) -> Vec<String> {
    let changed = before.iter().filter(|(k, v)| after.get(*k) != Some(*v));
    changed
        .map(|(k, v)| format!("{k}: before {v:?}, after {:?}", after.get(k)))
        .collect()
}

store_test_with!(
    every_operation_on_an_accounts_objects_refuses_other_accounts_and_missing_or_revoked_keys,
    // The matrix sends hundreds of requests from one address and key; rates have their tests.
    |s: &mut shared::config::Settings| s.api.rate_limit_per_sec = 0,
    |app| {
        // Arrange
        let doc = app.send(Method::GET, "/openapi.json", None, None).await;
        let ops = operations(&doc.expect(200));
        let table = table();
        let rows: BTreeMap<&str, &Row> = table.iter().map(|r| (r.op.as_str(), r)).collect();
        let w = world(&app).await;
        let problems = check_table(&ops, &rows, &w.live);
        assert!(
            problems.is_empty(),
            "the table covers the document:\n{}",
            problems.join("\n")
        );
        let before = snapshot(&app, &ops, &rows, &w).await;
        let unreadable: Vec<_> = before
            .iter()
            .filter(|(k, (s, _))| *s != 200 && !k.contains(&w.deleted.tool))
            .collect();
        assert!(
            unreadable.is_empty(),
            "A reads all of A's objects: {unreadable:?}"
        );

        // Act: B on A's objects (and on every operator route), then no key and a revoked key.
        let mut violations = Vec::new();
        // What each operation answered, by caller: the matrix, printed with `--nocapture`.
        let mut matrix: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for op in ops.iter().filter(|o| o.templated() || o.operator_only()) {
            let row = rows.get(op.name().as_str()).copied();
            let mut runs = vec![("B", &w.live, row.map_or(Access::Private, |r| r.access))];
            if on_a_tool(op, row) {
                // A deleted tool is visible to its creator (and paying subscribers) only.
                runs.push(("B, deleted tool", &w.deleted, Access::Private));
            }
            for (who, objects, access) in runs {
                let path = fill(op, row, objects);
                let r = call(&app, op, &path, Some(&w.b.key), &w.live).await;
                if !other_account_ok(op, access, &r) {
                    violations.push(violation("another account", op, &path, &r));
                }
                let answers = matrix.entry(op.name()).or_default();
                answers.push(format!("{who} {}", r.status.as_u16()));
            }
        }
        let after_other = snapshot(&app, &ops, &rows, &w).await;
        for op in ops.iter().filter(|o| !o.schemes.is_empty()) {
            let path = fill(op, rows.get(op.name().as_str()).copied(), &w.live);
            let keys = [
                ("no key", None),
                ("revoked key", Some(w.revoked_key.as_str())),
            ];
            for (who, key) in keys {
                let r = call(&app, op, &path, key, &w.live).await;
                if r.status.as_u16() != 401 || !is_problem(&r) {
                    violations.push(violation(who, op, &path, &r));
                }
                let answers = matrix.entry(op.name()).or_default();
                answers.push(format!("{who} {}", r.status.as_u16()));
            }
        }
        let after_keyless = snapshot(&app, &ops, &rows, &w).await;
        // The refusals were the authorization's: A itself is served by each operation (409
        // where the setup or an earlier replay settled the object: promoted, ended, canceled).
        let mut owner_refused = Vec::new();
        let owners = table.iter().filter(|r| r.access != Access::Operator);
        for row in owners.filter(|r| !r.op.starts_with("GET ")) {
            let op = ops.iter().find(|o| o.name() == row.op).expect("checked");
            let path = fill(op, Some(row), &w.live);
            let r = call(&app, op, &path, Some(&w.a.key), &w.live).await;
            if !(r.status.is_success() || r.status.as_u16() == 409) {
                owner_refused.push(violation("the owner", op, &path, &r));
            }
            let answers = matrix.entry(op.name()).or_default();
            answers.push(format!("A {}", r.status.as_u16()));
        }

        // Assert
        let secured = ops.iter().filter(|o| !o.schemes.is_empty()).count();
        let operator = ops.iter().filter(|o| o.operator_only()).count();
        println!(
            "authorization matrix: {} operations, {} with a path id, {operator} operators' only, \
             {secured} need a key",
            ops.len(),
            rows.len()
        );
        for (op, answers) in &matrix {
            println!("  {op}: {}", answers.join(", "));
        }
        assert!(
            violations.is_empty(),
            "refused as documented:\n{}",
            violations.join("\n")
        );
        let changed = differences(&before, &after_other);
        assert!(
            changed.is_empty(),
            "B changes nothing of A's:\n{}",
            changed.join("\n")
        );
        let changed = differences(&after_other, &after_keyless);
        assert!(
            changed.is_empty(),
            "no valid key, no change:\n{}",
            changed.join("\n")
        );
        assert!(
            owner_refused.is_empty(),
            "A is served:\n{}",
            owner_refused.join("\n")
        );
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_declares_as_path_parameters_only_the_paths_own_ids() {
    // Arrange
    let app = spawn_app(Backend::Sqlite)
        .await
        .expect("SQLite is always available");

    // Act
    let doc = app.send(Method::GET, "/openapi.json", None, None).await;

    // Assert: the matrix (and every generated client) reads a route's ids from them.
    let problems = document_problems(&operations(&doc.expect(200)));
    assert!(
        problems.is_empty(),
        "query parameters are declared `in: query`:\n{}",
        problems.join("\n")
    );
}
