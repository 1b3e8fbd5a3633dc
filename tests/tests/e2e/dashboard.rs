//! The web dashboard: sign-in and its cookie, CSRF on every form, the API's 404 rule on pages,
//! plots that draw the stored numbers, and the user flows in a real browser (headless Chromium).

mod browser;
mod operators;
mod pages;
mod plots;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use tests::TestApp;

/// A browser-like HTTP client of the pages: the sign-in cookie, no redirects followed.
pub(crate) struct Web {
    client: reqwest::Client,
    base: String,
    cookie: String,
}

/// `application/x-www-form-urlencoded` of `fields`.
pub(crate) fn form(fields: &[(&str, &str)]) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                b' ' => "+".to_owned(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

impl Web {
    /// Signs in with `key` through the sign-in form.
    pub(crate) async fn sign_in(app: &TestApp, key: &str) -> Web {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let res = client
            .post(format!("{}/sign-in", app.address))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&[("key", key), ("next", "/")]))
            .send()
            .await
            .expect("sign-in sent");
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "signed in");
        let set = res
            .headers()
            .get(SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .expect("a cookie")
            .to_owned();
        Web {
            client,
            base: app.address.clone(),
            cookie: set.split(';').next().expect("pair").to_owned(),
        }
    }

    /// GET a path with the cookie: status, headers, body.
    pub(crate) async fn get(&self, path: &str) -> (StatusCode, HeaderMap, String) {
        let res = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .send()
            .await
            .expect("sent");
        let (status, headers) = (res.status(), res.headers().clone());
        (status, headers, res.text().await.unwrap_or_default())
    }

    /// POST a form with the cookie: status, headers, body.
    pub(crate) async fn post(
        &self,
        path: &str,
        fields: &[(&str, &str)],
    ) -> (StatusCode, HeaderMap, String) {
        let res = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(fields))
            .send()
            .await
            .expect("sent");
        let (status, headers) = (res.status(), res.headers().clone());
        (status, headers, res.text().await.unwrap_or_default())
    }

    /// The sign-in's form token, read off the home page's sign-out form.
    pub(crate) async fn csrf(&self) -> String {
        let (status, _, html) = self.get("/").await;
        assert_eq!(status, StatusCode::OK, "{html}");
        let at = html.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
        html[at..].split('"').next().expect("value").to_owned()
    }
}

/// Where a redirect points.
pub(crate) fn location(headers: &HeaderMap) -> String {
    headers
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}
