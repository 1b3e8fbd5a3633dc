//! Pages over HTTP: the sign-in and its cookie, CSRF, reads-only for the cookie on the JSON
//! API, the 404 rule for someone else's objects, and the docs UI served from the binary.

use reqwest::StatusCode;
use serde_json::json;
use tests::{store_test, store_test_with, trending_data};

use super::{Web, form, location};

store_test!(a_page_needs_a_sign_in_and_a_wrong_key_is_refused, |app| {
    // Arrange
    let renter = app.user("renter").await;
    let anonymous = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");

    // Act
    let unsigned = anonymous
        .get(format!("{}/tools?family=momentum", app.address))
        .send()
        .await
        .expect("sent");
    let wrong = anonymous
        .post(format!("{}/sign-in", app.address))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("key", "mk_not-a-key"), ("next", "/")]))
        .send()
        .await
        .expect("sent");
    let wrong_status = wrong.status();
    let wrong_cookie = wrong.headers().get("set-cookie").cloned();
    let wrong_page = wrong.text().await.expect("body");
    let signed = anonymous
        .post(format!("{}/sign-in", app.address))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[
            ("key", renter.key.as_str()),
            ("next", "//evil.example/"),
        ]))
        .send()
        .await
        .expect("sent");

    // Assert: to the sign-in page and back; a wrong key gets no cookie; a right one a secure,
    // HttpOnly, SameSite cookie that does not show the key, and only a local path after it.
    assert_eq!(unsigned.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(unsigned.headers()),
        "/sign-in?next=/tools%3Ffamily%3Dmomentum"
    );
    assert_eq!(wrong_status, StatusCode::UNAUTHORIZED);
    assert!(wrong_cookie.is_none(), "no cookie for a wrong key");
    assert!(wrong_page.contains("That key is not valid"), "{wrong_page}");
    assert_eq!(signed.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(signed.headers()), "/", "never another site");
    let cookie = signed.headers()["set-cookie"].to_str().expect("ascii");
    assert!(cookie.starts_with("__Host-marketplace="), "{cookie}");
    for attribute in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    assert!(
        !cookie.contains(&renter.key[3..]),
        "the key is not readable in the cookie"
    );
});

store_test!(a_form_without_the_sign_ins_token_changes_nothing, |app| {
    // Arrange
    let creator = app.user("creator").await;
    let renter = app.funded_user("renter", 100.0).await;
    let tool = app
        .tool(&creator, tests::TestApp::tool_body("Tool", 10.0, "basic"))
        .await;
    let tool = tool["id"].as_str().expect("id").to_owned();
    let web = Web::sign_in(&app, &renter.key).await;
    let balance = app.balance_cents(&renter).await;
    let fields = |csrf: &'static str| {
        [
            ("csrf", csrf),
            ("tier", "basic"),
            ("months", "1"),
            ("idempotency_key", "k1"),
        ]
    };

    // Act
    let (forged, _, page) = web
        .post(&format!("/tools/{tool}/subscribe"), &fields("forged"))
        .await;
    let (missing, _, _) = web
        .post(
            &format!("/tools/{tool}/subscribe"),
            &[("tier", "basic"), ("months", "1")],
        )
        .await;

    // Assert: refused, nothing charged, no subscription.
    assert_eq!(forged, StatusCode::FORBIDDEN, "{page}");
    assert!(page.contains("reload the page"), "{page}");
    assert!(missing.is_client_error(), "{missing}");
    assert_eq!(app.balance_cents(&renter).await, balance);
    let subs = app.get("/v1/subscriptions", &renter.key).await.expect(200);
    assert_eq!(subs["subscriptions"], json!([]));
});

store_test!(
    a_form_with_the_token_subscribes_once_however_often_it_is_sent,
    |app| {
        // Arrange
        let creator = app.user("creator").await;
        let renter = app.funded_user("renter", 100.0).await;
        let tool = app
            .tool(&creator, tests::TestApp::tool_body("Tool", 10.0, "basic"))
            .await;
        let tool = tool["id"].as_str().expect("id").to_owned();
        let web = Web::sign_in(&app, &renter.key).await;
        let csrf = web.csrf().await;
        let (_, page_headers, page) = web.get(&format!("/tools/{tool}")).await;
        let policy = page_headers["content-security-policy"]
            .to_str()
            .expect("ascii");
        assert!(
            policy.contains("frame-ancestors 'none'"),
            "no framing of a form: {policy}"
        );
        let at = page
            .find("name=\"idempotency_key\" value=\"")
            .expect("a key")
            + 29;
        let key = page[at..].split('"').next().expect("value").to_owned();
        let fields = [
            ("csrf", csrf.as_str()),
            ("tier", "pro"),
            ("months", "1"),
            ("auto_renew", "on"),
            ("idempotency_key", key.as_str()),
        ];

        // Act: the form sent twice (a double click).
        let (first, headers, _) = web.post(&format!("/tools/{tool}/subscribe"), &fields).await;
        let (second, _, _) = web.post(&format!("/tools/{tool}/subscribe"), &fields).await;

        // Assert: one subscription at pro (2.5 x 10.00), charged once.
        assert_eq!(first, StatusCode::SEE_OTHER);
        assert_eq!(location(&headers), "/subscriptions");
        assert_eq!(second, StatusCode::SEE_OTHER);
        let subs = app.get("/v1/subscriptions", &renter.key).await.expect(200);
        assert_eq!(
            subs["subscriptions"].as_array().map(Vec::len),
            Some(1),
            "{subs}"
        );
        assert_eq!(subs["subscriptions"][0]["tier"], json!("pro"));
        assert_eq!(app.balance_cents(&renter).await, 10_000 - 2_500);
        let (_, _, list) = web.get("/subscriptions").await;
        assert!(list.contains("Tool") && list.contains("pro"), "{list}");
    }
);

store_test!(
    the_cookie_reads_the_api_but_never_writes_through_it,
    |app| {
        // Arrange
        let renter = app.funded_user("renter", 100.0).await;
        let web = Web::sign_in(&app, &renter.key).await;

        // Act
        let (read, _, me) = web.get("/v1/accounts/me").await;
        let (write, _, _) = {
            let res = reqwest::Client::new()
                .post(format!("{}/v1/datasets", app.address))
                .header("cookie", &web.cookie)
                .header("content-type", "application/json")
                .body(json!({"generator": trending_data()}).to_string())
                .send()
                .await
                .expect("sent");
            (res.status(), (), ())
        };

        // Assert
        assert_eq!(read, StatusCode::OK, "{me}");
        assert!(me.contains(&renter.id.to_string()), "{me}");
        assert_eq!(
            write,
            StatusCode::UNAUTHORIZED,
            "a write needs the key in a header"
        );
        let datasets = app.get("/v1/datasets", &renter.key).await.expect(200);
        assert_eq!(datasets["datasets"], json!([]), "nothing was made");
    }
);

store_test!(another_accounts_objects_are_not_found_on_pages, |app| {
    // Arrange: the renter's dataset, session and optimization record.
    let s = app
        .session_setup(
            tests::momentum_tool("Momentum", tests::default_standards()),
            "pro",
            trending_data(),
            json!({"seed": 7}),
        )
        .await;
    let job = app
        .insert_and_optimize(&s.renter, &s.session, &s.tool, json!({"trials": 8}))
        .await;
    let record = job["result"]["record_id"]
        .as_str()
        .expect("record")
        .to_owned();
    let stranger = app.user("stranger").await;
    let web = Web::sign_in(&app, &stranger.key).await;
    let owner = Web::sign_in(&app, &s.renter.key).await;

    // Act + Assert: the stranger finds nothing, exactly as the API answers; the owner sees all.
    for path in [
        format!("/datasets/{}", s.dataset),
        format!("/sessions/{}", s.session),
        format!("/optimizations/{record}"),
        format!("/jobs/{}", job["id"].as_str().expect("job")),
        format!("/v1/optimizations/{record}/plots/history.svg"),
        format!("/v1/optimizations/{record}/plots/equity.svg"),
        format!("/v1/optimizations/{record}/trials.csv"),
        format!("/v1/datasets/{}/plots/price.svg", s.dataset),
    ] {
        let (status, _, body) = web.get(&path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert!(!body.contains(&s.session), "{path} shows nothing of it");
        let (status, _, _) = owner.get(&path).await;
        assert_eq!(status, StatusCode::OK, "the owner sees {path}");
    }
    // The tool's creator sees the study but never a curve drawn from the renter's data.
    let creator = Web::sign_in(&app, &s.creator.key).await;
    let (study, _, _) = creator.get(&format!("/optimizations/{record}")).await;
    let (equity, _, _) = creator
        .get(&format!("/v1/optimizations/{record}/plots/equity.svg"))
        .await;
    assert_eq!(study, StatusCode::OK);
    assert_eq!(equity, StatusCode::NOT_FOUND);
});

store_test!(the_api_docs_are_served_from_the_binary, |app| {
    // Act
    let client = reqwest::Client::new();
    let page = client
        .get(format!("{}/docs/", app.address))
        .send()
        .await
        .expect("sent");
    let status = page.status();
    let html = page.text().await.expect("body");
    let css = client
        .get(format!("{}/docs/swagger-ui.css", app.address))
        .send()
        .await
        .expect("sent");
    let config = client
        .get(format!("{}/docs/swagger-initializer.js", app.address))
        .send()
        .await
        .expect("sent")
        .text()
        .await
        .expect("body");

    // Assert: the UI's own files (no CDN), pointed at this server's document.
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("swagger-ui"), "{html}");
    assert!(
        !html.contains("https://"),
        "nothing is loaded from elsewhere: {html}"
    );
    assert_eq!(css.status(), StatusCode::OK);
    assert!(config.contains("/openapi.json"), "{config}");
});

/// A CSV of `rows` hourly bars.
fn csv_of(rows: usize) -> String {
    let mut out = String::from("time,open,high,low,close,volume\n");
    for i in 0..rows {
        let p = 100.0 + (i as f64 * 0.01).sin();
        out.push_str(&format!(
            "{},{p:.5},{:.5},{:.5},{p:.5},1000\n",
            1_600_000_000 + i * 3_600,
            p + 0.5,
            p - 0.5
        ));
    }
    out
}

/// A multipart form with the sign-in's token, a name and the file.
fn multipart(csrf: &str, file: &str) -> (String, String) {
    let boundary = "----dashboard-test-boundary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nbig\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\n\
         Content-Type: text/csv\r\n\r\n{file}\r\n--{boundary}--\r\n"
    );
    (format!("multipart/form-data; boundary={boundary}"), body)
}

store_test_with!(
    an_upload_past_the_apis_body_limit_goes_through_the_page_up_to_the_upload_limit,
    |s: &mut shared::config::Settings| {
        s.datasets.max_upload_bytes = 3_000_000;
    },
    |app| {
        // Arrange: files of about 1.9 MB (above the API's 1 MiB body limit) and 3.8 MB.
        let owner = app.user("owner").await;
        let web = Web::sign_in(&app, &owner.key).await;
        let csrf = web.csrf().await;
        let send = |file: String| {
            let (content_type, body) = multipart(&csrf, &file);
            web.client
                .post(format!("{}/datasets/upload", web.base))
                .header("cookie", &web.cookie)
                .header("content-type", content_type)
                .body(body)
                .send()
        };

        // Act
        let fits = send(csv_of(40_000)).await.expect("sent");
        let fits_status = fits.status();
        let fits_to = location(fits.headers());
        let too_big = send(csv_of(80_000)).await.expect("sent");

        // Assert: the first kept whole, the second refused with nothing kept.
        assert_eq!(fits_status, StatusCode::SEE_OTHER);
        assert!(fits_to.starts_with("/datasets/"), "{fits_to}");
        assert_eq!(too_big.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let kept = app.get("/v1/datasets", &owner.key).await.expect(200);
        assert_eq!(kept["datasets"].as_array().map(Vec::len), Some(1), "{kept}");
        assert_eq!(kept["datasets"][0]["rows"], json!(40_000));
    }
);

store_test!(a_request_a_page_cannot_read_gets_an_error_page, |app| {
    // Arrange
    let user = app.user("user").await;
    let web = Web::sign_in(&app, &user.key).await;

    // Act
    let (no_token, no_token_headers, no_token_page) = web.post("/sign-out", &[]).await;
    let (not_an_id, not_an_id_headers, not_an_id_page) = web.get("/tools/not-an-id").await;
    let (bad_sort, _, _) = web.get("/operator?hours=%ZZ").await;

    // Assert: pages, not axum's plain text, naming what was wrong.
    assert_eq!(no_token, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        no_token_headers["content-type"]
            .to_str()
            .unwrap_or_default()
            .starts_with("text/html")
    );
    assert!(
        no_token_page.contains("The form could not be read"),
        "{no_token_page}"
    );
    assert!(
        no_token_page.contains("csrf"),
        "the missing field is named: {no_token_page}"
    );
    assert_eq!(not_an_id, StatusCode::NOT_FOUND);
    assert!(
        not_an_id_headers["content-type"]
            .to_str()
            .unwrap_or_default()
            .starts_with("text/html")
    );
    assert!(
        not_an_id_page.contains("There is no page at this address"),
        "{not_an_id_page}"
    );
    assert!(bad_sort.is_client_error(), "{bad_sort}");
});
