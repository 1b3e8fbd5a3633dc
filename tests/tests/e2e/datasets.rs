//! Datasets: CSV uploads summarized and stored columnar, deduplicated per owner by content,
//! private to their owner, validated with the row of each problem (and nothing stored), with
//! their own size limits (413), media types (415) and cursor-paginated listing.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tests::{TestApp, User, eurusd_csv, store_test, store_test_with};

const DAY: i64 = 86_400;
const T0: i64 = 1_704_067_200; // 2024-01-01T00:00:00Z

fn date(i: usize) -> String {
    chrono::DateTime::from_timestamp(T0 + i as i64 * DAY, 0)
        .expect("in range")
        .format("%Y-%m-%d")
        .to_string()
}

/// A valid daily CSV of `n` rows; `edit(row, line)` may replace data row `row` (1-based).
fn daily_csv(n: usize, edit: impl Fn(usize, String) -> String) -> String {
    let mut out = String::from("Date,Open,High,Low,Close,Adj Close,Volume\n");
    for i in 0..n {
        let p = 100.0 + (i % 50) as f64;
        let row = format!(
            "{},{p},{},{},{},{p},1000",
            date(i),
            p + 2.0,
            p - 1.0,
            p + 1.0
        );
        out.push_str(&edit(i + 1, row));
        out.push('\n');
    }
    out
}

async fn list(app: &TestApp, user: &User) -> Vec<Value> {
    app.get("/v1/datasets", &user.key).await.expect(200)["datasets"]
        .as_array()
        .cloned()
        .expect("an array")
}

store_test!(
    uploading_eurusd_creates_a_summarized_private_dataset,
    |app| {
        // Arrange
        let owner = app.user("quant").await;

        // Act
        let res = app
            .post_csv("/v1/datasets?name=EURUSD%20H1", &owner.key, eurusd_csv())
            .await;

        // Assert
        let location = res
            .headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let d = res.expect(201)["dataset"].clone();
        let id = d["id"].as_str().expect("id");
        assert_eq!(
            location.as_deref(),
            Some(format!("/v1/datasets/{id}").as_str())
        );
        assert_eq!(d["name"], json!("EURUSD H1"));
        assert_eq!(d["rows"], json!(5000));
        assert_eq!(d["start"], json!("2017-04-19T09:00:00Z"));
        assert_eq!(d["end"], json!("2018-02-07T15:00:00Z"));
        assert_eq!(d["frequency"], json!("1h"));
        assert_eq!(d["source"], json!("upload"));
        assert!(d.get("generator").is_none(), "uploads echo no generator");
        let hash = d["content_hash"].as_str().expect("hash");
        assert!(
            hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
            "{hash}"
        );
        let ppy = d["periods_per_year"].as_f64().expect("number");
        assert!(
            (6_000.0..6_300.0).contains(&ppy),
            "5000 hourly FX bars over ~0.8 years: {ppy}"
        );
        let stats = &d["stats"];
        assert!(
            stats["min_close"].as_f64() < stats["max_close"].as_f64(),
            "{stats}"
        );
        assert!(
            (stats["total_return"].as_f64().expect("n") - (1.22904 / 1.07219 - 1.0)).abs() < 1e-12
        );
        assert!(stats["max_drawdown"].as_f64().expect("n") > 0.0, "{stats}");
        assert_eq!(
            app.get(&format!("/v1/datasets/{id}"), &owner.key)
                .await
                .expect(200)["dataset"],
            d
        );
        let bars = app
            .store
            .dataset_bars(id.parse().expect("uuid"))
            .await
            .expect("loads")
            .expect("stored");
        assert_eq!(bars.len(), 5000);
        assert_eq!((bars.open[0], bars.close[4999]), (1.0716, 1.22904));

        let stranger = app.user("stranger").await;
        app.get(&format!("/v1/datasets/{id}"), &stranger.key)
            .await
            .problem(404);
        app.delete(&format!("/v1/datasets/{id}"), &stranger.key)
            .await
            .problem(404);
        assert!(
            list(&app, &stranger).await.is_empty(),
            "others' datasets are not listed"
        );
        assert_eq!(list(&app, &owner).await.len(), 1);
    }
);

store_test!(
    the_same_content_again_returns_the_existing_dataset_per_owner,
    |app| {
        // Arrange
        let (ada, bob) = (app.user("ada").await, app.user("bob").await);
        let first = app
            .post_csv("/v1/datasets", &ada.key, eurusd_csv())
            .await
            .expect(201)["dataset"]
            .clone();
        // The same bars in another layout: Unix seconds, `;`, other column order, quoted header.
        let text = String::from_utf8(eurusd_csv()).expect("utf-8");
        let mut other =
            String::from("\"Timestamp\";\"close\";\"open\";\"high\";\"low\";\"volume\"\r\n");
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            let t = chrono::NaiveDateTime::parse_from_str(f[0], "%Y-%m-%d %H:%M:%S").expect("time");
            other.push_str(&format!(
                "{};{};{};{};{};{}\r\n",
                t.and_utc().timestamp(),
                f[4],
                f[1],
                f[2],
                f[3],
                f[5]
            ));
        }

        // Act
        let again = app
            .post_csv("/v1/datasets", &ada.key, eurusd_csv())
            .await
            .expect(200)["dataset"]
            .clone();
        let reformatted = app
            .post_csv("/v1/datasets?name=other", &ada.key, other)
            .await
            .expect(200)["dataset"]
            .clone();
        let bobs = app
            .post_csv("/v1/datasets", &bob.key, eurusd_csv())
            .await
            .expect(201)["dataset"]
            .clone();

        // Assert
        assert_eq!(
            again, first,
            "an identical upload returns the existing dataset"
        );
        assert_eq!(
            reformatted["id"], first["id"],
            "the same bars in another format dedupe"
        );
        assert_ne!(
            bobs["id"], first["id"],
            "another owner gets their own dataset"
        );
        assert_eq!(bobs["content_hash"], first["content_hash"]);
        assert_eq!(list(&app, &ada).await.len(), 1);
        assert_eq!(list(&app, &bob).await.len(), 1);
    }
);

store_test!(concurrent_identical_uploads_make_one_dataset, |app| {
    let owner = app.user("racer").await;
    let body = daily_csv(300, |_, r| r);
    let results = futures::future::join_all(
        (0..4).map(|_| app.post_csv("/v1/datasets", &owner.key, body.clone())),
    )
    .await;
    let statuses: Vec<u16> = results.iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "one creation: {statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        3,
        "{statuses:?}"
    );
    let ids: Vec<&Value> = results.iter().map(|r| &r.body["dataset"]["id"]).collect();
    assert!(
        ids.iter().all(|id| *id == ids[0]),
        "every caller sees the same dataset"
    );
    assert_eq!(list(&app, &owner).await.len(), 1);
});

store_test!(
    each_invalid_upload_is_a_422_naming_its_row_and_stores_nothing,
    |app| {
        let owner = app.user("careless").await;
        let row = |n: usize, line: String| {
            move |i: usize, r: String| if i == n { line.clone() } else { r }
        };
        let cases: Vec<(&str, String, &str, &str)> = vec![
            (
                "unsorted",
                daily_csv(40, row(7, format!("{},1,2,0.5,1.5,1,9", date(3)))),
                "rows.7.date",
                "row 7 (line 8)",
            ),
            (
                "duplicate",
                daily_csv(40, row(7, format!("{},1,2,0.5,1.5,1,9", date(5)))),
                "rows.7.date",
                "duplicate",
            ),
            (
                "missing",
                daily_csv(40, row(3, format!("{},1,,0.5,1.5,1,9", date(2)))),
                "rows.3.high",
                "row 3 (line 4)",
            ),
            (
                "non-numeric",
                daily_csv(40, row(4, format!("{},1,2,n/a,1.5,1,9", date(3)))),
                "rows.4.low",
                "not a number",
            ),
            (
                "NaN",
                daily_csv(40, row(5, format!("{},NaN,2,0.5,1.5,1,9", date(4)))),
                "rows.5.open",
                "finite",
            ),
            (
                "inf",
                daily_csv(40, row(5, format!("{},1,2,0.5,inf,1,9", date(4)))),
                "rows.5.close",
                "finite",
            ),
            (
                "non-positive",
                daily_csv(40, row(6, format!("{},1,2,0,1.5,1,9", date(5)))),
                "rows.6.low",
                "positive",
            ),
            (
                "high < open",
                daily_csv(40, row(8, format!("{},3,2,0.5,1.5,1,9", date(7)))),
                "rows.8.high",
                "below open",
            ),
            (
                "low > close",
                daily_csv(40, row(9, format!("{},2,3,1.6,1.5,1,9", date(8)))),
                "rows.9.low",
                "above close",
            ),
            (
                "high < low",
                daily_csv(40, row(9, format!("{},1,1,2,1,1,9", date(8)))),
                "rows.9.high",
                "below low",
            ),
            (
                "too few bars",
                daily_csv(29, |_, r| r),
                "body",
                "at least 30",
            ),
            (
                "no close",
                "Date,Open,High,Low\n2024-01-01,1,2,0.5\n".into(),
                "header.close",
                "missing required column",
            ),
            ("empty", String::new(), "body", "empty"),
        ];
        for (case, body, field, words) in cases {
            let problem = app
                .post_csv("/v1/datasets", &owner.key, body)
                .await
                .problem(422);
            assert_eq!(
                problem["errors"][0]["field"],
                json!(field),
                "{case}: {problem}"
            );
            let detail = problem["detail"].as_str().expect("detail");
            assert!(detail.contains(words), "{case}: {detail}");
        }
        assert!(
            list(&app, &owner).await.is_empty(),
            "no invalid upload is stored"
        );
    }
);

store_test_with!(
    uploads_over_the_limits_are_413_and_the_route_outgrows_the_global_limit,
    |s: &mut shared::config::Settings| {
        s.datasets.max_upload_bytes = 200 * 1024;
        s.datasets.max_rows = 100;
    },
    |app| {
        let owner = app.user("bulky").await;
        let big = app
            .post_csv("/v1/datasets", &owner.key, eurusd_csv())
            .await
            .problem(413);
        assert!(
            big["detail"]
                .as_str()
                .expect("detail")
                .contains("204800 bytes"),
            "{big}"
        );
        let long = app
            .post_csv("/v1/datasets", &owner.key, daily_csv(101, |_, r| r))
            .await
            .problem(413);
        assert!(
            long["detail"]
                .as_str()
                .expect("detail")
                .contains("100 rows"),
            "{long}"
        );
        app.post_csv("/v1/datasets", &owner.key, daily_csv(100, |_, r| r))
            .await
            .expect(201);
        let generated = app
            .post(
                "/v1/datasets",
                &owner.key,
                &json!({"generator": {"kind": "gbm", "bars": 101, "seed": 1}}),
            )
            .await
            .problem(422);
        assert_eq!(generated["errors"][0]["field"], json!("generator.bars"));
        assert_eq!(list(&app, &owner).await.len(), 1);
    }
);

store_test!(an_upload_above_the_global_body_limit_is_accepted, |app| {
    let owner = app.user("historian").await;
    let body = daily_csv(40_000, |_, r| r);
    assert!(
        body.len() > app.settings.api.body_limit_bytes,
        "{} bytes",
        body.len()
    );
    let d = app
        .post_csv("/v1/datasets", &owner.key, body)
        .await
        .expect(201)["dataset"]
        .clone();
    assert_eq!(
        (d["rows"].clone(), d["frequency"].clone()),
        (json!(40_000), json!("1d"))
    );
});

store_test!(other_media_types_are_415_and_anonymous_callers_401, |app| {
    let owner = app.user("typist").await;
    let csv = daily_csv(40, |_, r| r);
    app.post_raw("/v1/datasets", &owner.key, Some("text/plain"), csv.clone())
        .await
        .problem(415);
    app.post_raw("/v1/datasets", &owner.key, None, csv.clone())
        .await
        .problem(415);
    app.post_raw("/v1/datasets", &owner.key, Some("application/xml"), "<a/>")
        .await
        .problem(415);
    let anonymous = app
        .client
        .post(format!("{}/v1/datasets", app.address))
        .header("content-type", "text/csv")
        .body(csv);
    TestApp::read(anonymous.send().await.expect("sent"))
        .await
        .problem(401);
    app.send(reqwest::Method::GET, "/v1/datasets", None, None)
        .await
        .problem(401);
    assert!(list(&app, &owner).await.is_empty());
});

mod generated;
