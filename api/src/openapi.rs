//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` annotations and the
//! types' `ToSchema` derives, served at `/openapi.json`.
//!
//! Each handler declares the answers particular to it (its success, a 402, a 409...). What every
//! route answers because of the layers and extractors it goes through is added here, from the
//! operation's shape, so the document says exactly what the server can answer:
//!
//! | the operation | can also answer |
//! |---|---|
//! | any | 500 (a bug), 503 (timed out or a dependency is down) |
//! | any but the probes | 429 (over the request rate) |
//! | needs a key | 401 |
//! | needs an account's key | 403 (the admin key) |
//! | needs the admin key | 404 (an account's key: operators' routes are not shown to accounts) |
//! | has a JSON body | 400 (malformed), 413 (too large), 415 (not JSON), 422 (invalid) |
//! | has a path id | 400 (malformed id), 404 |
//! | has a query string | 400 (malformed), 422 (a value out of range) |
//! | takes `Idempotency-Key` | 422 (malformed, or reused with another body) |
//!
//! Every error is `application/problem+json` with the [`Problem`] schema.

use utoipa::openapi::path::{Operation, ParameterIn, PathItem};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr};
use utoipa::{Modify, OpenApi};

use crate::error::{FieldError, PROBLEM_JSON, Problem};
use crate::routes::plots::OptimizationPlot;

/// Paths no request rate applies to: the probes and the metrics scrape.
pub const UNLIMITED_PATHS: &[&str] = &["/healthz", "/readyz", "/metrics"];

/// Document-level metadata; paths come from the routers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Smart Marketplace API",
        description = "Rent parameterized analysis tools, optimize them on your data, and earn from the tools you create."
    ),
    components(schemas(Problem, FieldError, OptimizationPlot)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

/// The whole document: the metadata, the routers' paths, and the answers every route shares.
pub fn document(paths: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(paths);
    SharedAnswers.modify(&mut doc);
    doc
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for (name, format) in [
            ("bearer", "an account's API key (mk_...)"),
            ("admin", "the operator's admin key (MARKETPLACE_ADMIN_KEY)"),
        ] {
            components.add_security_scheme(
                name,
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format(format)
                        .build(),
                ),
            );
        }
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::web::auth::COOKIE,
                "the dashboard's sign-in (reads only: GET and HEAD)",
            ))),
        );
    }
}

/// Adds the statuses of the shared layers and extractors to every operation and declares every
/// error body as `application/problem+json`.
struct SharedAnswers;

impl Modify for SharedAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in &mut openapi.paths.paths {
            let limited = !UNLIMITED_PATHS.contains(&path.as_str());
            for op in operations(item) {
                shared_answers(op, limited);
            }
        }
    }
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
        &mut item.head,
        &mut item.options,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

fn shared_answers(op: &mut Operation, limited: bool) {
    for (status, response) in &mut op.responses.responses {
        if let RefOr::T(response) = response {
            problems_as_problem_json(response);
            if response.description.trim().is_empty() {
                response.description = default_description(status).to_owned();
            }
        }
    }
    let params = op.parameters.iter().flatten().filter_map(|p| match p {
        RefOr::T(p) => Some((p.parameter_in.clone(), p.name.to_ascii_lowercase())),
        RefOr::Ref(_) => None,
    });
    let (mut in_path, mut in_query, mut idempotent) = (false, false, false);
    for (place, name) in params {
        match place {
            ParameterIn::Path => in_path = true,
            ParameterIn::Query => in_query = true,
            ParameterIn::Header if name == "idempotency-key" => idempotent = true,
            _ => {}
        }
    }
    let schemes = security_schemes(op);
    let secured = !schemes.is_empty();
    let account_only = secured && !schemes.iter().any(|s| s == "admin");
    let admin_only = schemes == ["admin"];
    let body = op.request_body.is_some();
    let mut add = |status: &str, description: &str, when: bool| {
        if when {
            op.responses
                .responses
                .entry(status.to_owned())
                .or_insert_with(|| RefOr::T(problem(description)));
        }
    };
    add(
        "400",
        "the request cannot be read: malformed JSON, id or query string",
        body || in_path || in_query,
    );
    add("401", "no key, or a key that is not valid", secured);
    add(
        "403",
        "the admin key acts for no account; use an account's key",
        account_only,
    );
    add(
        "404",
        "nothing the caller may see is there (an operator's route, to an account's key)",
        in_path || admin_only,
    );
    add("413", "the body is over the size limit", body);
    add("415", "the body is not application/json", body);
    add(
        "422",
        "well-formed but invalid; `errors` names each field",
        body || idempotent || in_query,
    );
    add(
        "429",
        "over the request rate of the key (or of the address, without a key); see Retry-After",
        limited,
    );
    add("500", "a bug; the detail is in the server's log only", true);
    add(
        "503",
        "the request timed out or a dependency is down; see Retry-After",
        true,
    );
}

/// The description of a declared answer that has none of its own (OpenAPI requires one).
fn default_description(status: &str) -> &'static str {
    match status {
        "200" => "the resource",
        "201" => "created",
        "202" => "accepted: the job that does the work",
        "204" => "done; no body",
        "400" => "the request cannot be read",
        "402" => "the balance does not cover the charge",
        "403" => "not allowed for this caller (its tier, or not the creator)",
        "404" => "nothing the caller may see is there",
        "409" => "conflicts with the current state",
        "422" => "well-formed but invalid; `errors` names each field",
        "429" => "over a limit of the account; see `limit` and Retry-After",
        _ => "see the problem's `detail`",
    }
}

/// The names of the schemes an operation accepts, sorted.
fn security_schemes(op: &Operation) -> Vec<String> {
    let mut names: Vec<String> = op
        .security
        .iter()
        .flatten()
        .filter_map(|r| serde_json::to_value(r).ok())
        .filter_map(|v| v.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()))
        .flatten()
        .collect();
    names.sort();
    names.dedup();
    names
}

/// A response whose body is a [`Problem`].
fn problem(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
}

/// Declared `body = Problem` responses are served as `application/problem+json`.
fn problems_as_problem_json(response: &mut Response) {
    let is_problem = |content: &RefOr<utoipa::openapi::Content>| matches!(content, RefOr::T(c) if matches!(&c.schema, Some(RefOr::Ref(r)) if r.ref_location.ends_with("/Problem")));
    if let Some(content) = response.content.get("application/json")
        && is_problem(content)
        && let Some(content) = response.content.shift_remove("application/json")
    {
        response.content.insert(PROBLEM_JSON.to_owned(), content);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_declares_the_shared_answers_as_problems() {
        let (_, paths) = crate::routes::router().split_for_parts();
        let doc = serde_json::to_value(document(paths)).expect("serializes");
        let create = &doc["paths"]["/v1/tools"]["post"]["responses"];
        for status in ["400", "401", "413", "415", "422", "429", "500", "503"] {
            assert!(
                create[status]["content"][PROBLEM_JSON].is_object(),
                "POST /v1/tools documents {status} as problem+json: {create}"
            );
        }
        assert!(create["422"]["content"].get("application/json").is_none());
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, op) in item.as_object().expect("operations") {
                for p in op["parameters"].as_array().into_iter().flatten() {
                    if p["in"] == "path" {
                        let name = p["name"].as_str().expect("name");
                        assert!(
                            path.contains(&format!("{{{name}}}")),
                            "{method} {path}: `{name}` is declared in the path but is not in it"
                        );
                    }
                }
                for (status, r) in op["responses"].as_object().expect("responses") {
                    assert!(
                        r["description"]
                            .as_str()
                            .is_some_and(|d| !d.trim().is_empty()),
                        "{method} {path} {status} has no description"
                    );
                }
            }
        }
        let health = &doc["paths"]["/healthz"]["get"]["responses"];
        assert!(health.get("429").is_none(), "probes are not rate limited");
        assert!(health.get("401").is_none(), "probes need no key");
    }

    /// Collects every `$ref` in a JSON value.
    fn refs<'a>(value: &'a serde_json::Value, out: &mut Vec<&'a str>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, v) in map {
                    match (key.as_str(), v.as_str()) {
                        ("$ref", Some(r)) => out.push(r),
                        _ => refs(v, out),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }

    #[test]
    fn every_reference_in_the_document_resolves() {
        let (_, paths) = crate::routes::router().split_for_parts();
        let doc = serde_json::to_value(document(paths)).expect("serializes");
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(found.len() > 10, "the document uses references");
        for r in found {
            let pointer = r.strip_prefix('#').expect("a local reference");
            assert!(
                doc.pointer(pointer).is_some(),
                "{r} is referenced but not in the document"
            );
        }
    }
}
