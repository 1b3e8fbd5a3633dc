//! The matrix's table (how each templated operation's ids are filled and who besides the
//! owner may reach it) and the operations read from `/openapi.json`.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::Method;
use serde_json::{Value, json};

/// Every operation with a path id: its ids (`name=object`, objects of [`Objects::id`]) and who
/// besides A may reach it ([`Access`]). A replays the rows in this order at the end, so the
/// destructive ones come last.
pub(super) const TABLE: &str = "
GET    /v1/tools/{id}                                        id=tool             public
GET    /v1/tools/{id}/versions                               id=tool             public
GET    /v1/tools/{id}/access                                 id=tool             public
GET    /v1/tools/{id}/reviews                                id=tool             public
GET    /v1/reviews/{id}                                      id=review           public
GET    /v1/tools/{id}/versions/{n}/certificate               id=tool n=certified public
POST   /v1/tools/{id}/versions/{n}/certificate/verify        id=tool n=certified public
GET    /v1/tools/{id}/analytics                              id=tool             creator
GET    /v1/tools/{id}/plots/{chart}                          id=tool chart=subscribers.png creator
GET    /v1/tools/{id}/forecast/plots/{chart}                 id=tool chart=demand.svg creator
GET    /v1/tools/{id}/promotion-candidates                   id=tool             creator
GET    /v1/tools/{id}/trainings                              id=tool             creator
GET    /v1/tools/{id}/training-recommendations               id=tool             creator
PATCH  /v1/tools/{id}                                        id=tool             creator
POST   /v1/tools/{id}/evaluations                            id=tool             creator
POST   /v1/tools/{id}/evaluations/batch                      id=tool             creator
POST   /v1/tools/{id}/trainings                              id=tool             creator
GET    /v1/tools/{id}/ab-tests                               id=tool             creator
GET    /v1/tools/{id}/ab-tests/renters                       id=tool             creator
GET    /v1/tools/{id}/ab-tests/{test_id}                     id=tool test_id=ab_test creator
GET    /v1/tools/{id}/ab-tests/{test_id}/plots/{chart}       id=tool test_id=ab_test chart=curves.svg creator
POST   /v1/tools/{id}/ab-tests                               id=tool             creator
POST   /v1/tools/{id}/versions/{n}/rollback                  id=tool n=first     creator
POST   /v1/tools/{id}/reviews                                id=rented           creator
PATCH  /v1/reviews/{id}                                      id=review           creator
POST   /v1/reviews/{id}/reply                                id=received         creator
POST   /v1/reviews/{id}/hide                                 id=review           operator
POST   /v1/reviews/{id}/unhide                               id=review           operator
POST   /v1/reviews/{id}/report                               id=received         public
POST   /v1/reviews/{id}/dismiss-reports                      id=review           operator
GET    /v1/datasets/{id}                                     id=dataset          private
GET    /v1/sessions/{id}                                     id=session          private
POST   /v1/sessions/{id}/tools                               id=session          private
POST   /v1/sessions/{id}/tools/{tool_id}/optimizations       id=session tool_id=tool private
GET    /v1/optimizations/{id}                                id=record           private
GET    /v1/optimizations/{id}/trials                         id=record           private
GET    /v1/optimizations/{id}/plots/{plot}                   id=record plot=plot private
GET    /v1/optimizations/{id}/trials.csv                     id=record           private
GET    /v1/optimizations/{id}/equity.csv                     id=record           private
GET    /v1/datasets/{id}/plots/{chart}                       id=dataset chart=price.svg private
GET    /v1/trainings/{id}/plots/{chart}                      id=training chart=curves.png private
POST   /v1/optimizations/{id}/promote                        id=record           private
GET    /v1/subscriptions/{id}                                id=subscription     private
GET    /v1/subscriptions/{id}/invoices                       id=subscription     private
GET    /v1/subscriptions/{id}/upcoming                       id=subscription     private
POST   /v1/subscriptions/{id}/auto-renew                     id=subscription     private
POST   /v1/subscriptions/{id}/cancel                         id=subscription     private
GET    /v1/trainings/{id}                                    id=training         private
POST   /v1/trainings/{id}/apply                              id=training         private
POST   /v1/trainings/{id}/cancel                             id=training         private
GET    /v1/jobs/{id}                                         id=job              private
GET    /v1/jobs/{id}/events                                  id=job              private
POST   /v1/jobs/{id}/cancel                                  id=job              private
POST   /v1/admin/jobs/{id}/retry                             id=job              operator
POST   /v1/admin/jobs/{id}/cancel                            id=job              operator
GET    /v1/families/{name}                                   name=family         public
GET    /v1/creators/me/plots/{chart}                         chart=earnings.svg  public
GET    /v1/admin/queues/plots/{chart}                        chart=depth.svg     operator
GET    /v1/creators/me/forecast/plots/{chart}                chart=revenue.svg   public
GET    /v1/stats/marketplace/forecast/plots/{chart}          chart=revenue.svg   operator
POST   /v1/sessions/{id}/end                                 id=session          private
DELETE /v1/accounts/me/keys/{id}                             id=key              private
DELETE /v1/datasets/{id}                                     id=dataset          private
DELETE /v1/reviews/{id}                                      id=review           creator
DELETE /v1/tools/{id}                                        id=tool             creator
";

/// The body sent to an operation that takes one: one that succeeds for A, so a refusal is the
/// authorization's and not the body's. Operations without a path id get `{}`: the key is
/// checked before the body is read.
pub(super) fn body(op: &str, o: &Objects) -> Option<Value> {
    Some(match op {
        "PATCH /v1/tools/{id}" => json!({"description": "changed by the authorization matrix"}),
        "POST /v1/tools/{id}/evaluations" => json!({"dataset_id": o.dataset}),
        "POST /v1/tools/{id}/evaluations/batch" => {
            json!({"evaluations": [{"dataset_id": o.dataset}, {"dataset_id": o.dataset}]})
        }
        "POST /v1/tools/{id}/ab-tests" => {
            json!({"version_a": 1, "version_b": 1, "dataset_ids": [o.dataset]})
        }
        "POST /v1/tools/{id}/trainings" => {
            json!({"method": "q_learning", "config": {"epochs": 5}, "dataset_id": o.dataset})
        }
        // B tries to put its own tool (the one A rents) into A's session.
        "POST /v1/sessions/{id}/tools" => json!({"tool_id": o.rented_tool}),
        "POST /v1/sessions/{id}/tools/{tool_id}/optimizations" => json!({"config": {"trials": 5}}),
        "POST /v1/sessions/{id}/end" => json!({"promote_successful": true}),
        "POST /v1/subscriptions/{id}/auto-renew" => json!({"enabled": false}),
        "POST /v1/subscriptions/{id}/cancel" => json!({"immediate": true}),
        "POST /v1/tools/{id}/reviews" => json!({"rating": 4, "title": "by the matrix"}),
        "PATCH /v1/reviews/{id}" => json!({"title": "changed by the authorization matrix"}),
        "POST /v1/reviews/{id}/reply" => json!({"reply": "thanks, from the matrix"}),
        "POST /v1/reviews/{id}/hide" => json!({"reason": "by the matrix"}),
        "POST /v1/reviews/{id}/report" => json!({"reason": "reported by the matrix"}),
        _ => return None,
    })
}

/// Who besides A may reach an object through an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Access {
    /// An account's own object: to any other account it does not exist (404).
    Private,
    /// The creator's operation on their listed tool: 404, or 403 where the operation documents
    /// a 403 of its own (the tool is public, so a 403 reveals nothing).
    Creator,
    /// Any account reads it (a listed tool, the catalog): a documented 2xx, or 404.
    Public,
    /// The operator's (admin key): every account gets 404, A included.
    Operator,
}

/// A row of [`TABLE`].
pub(super) struct Row {
    pub(super) op: String,
    pub(super) ids: Vec<(String, String)>,
    pub(super) access: Access,
}

pub(super) fn table() -> Vec<Row> {
    let rows = TABLE.lines().filter(|l| !l.trim().is_empty());
    rows.map(|line| {
        let words: Vec<&str> = line.split_whitespace().collect();
        let [method, template, ids @ .., access] = words.as_slice() else {
            panic!("a row is: method, path, ids, access: {line}");
        };
        let ids = ids.iter().map(|spec| {
            let (name, obj) = spec.split_once('=').expect("an id is name=object");
            (name.to_owned(), obj.to_owned())
        });
        Row {
            op: format!("{method} {template}"),
            ids: ids.collect(),
            access: match *access {
                "private" => Access::Private,
                "creator" => Access::Creator,
                "public" => Access::Public,
                "operator" => Access::Operator,
                other => panic!("unknown access {other}"),
            },
        }
    })
    .collect()
}

/// A's objects (ids as text), and the tool of B's that A rents.
#[derive(Debug, Clone)]
pub(super) struct Objects {
    pub(super) tool: String,
    /// The tool's version that carries a certificate (a promotion made it).
    pub(super) certified: i64,
    pub(super) dataset: String,
    pub(super) session: String,
    pub(super) record: String,
    pub(super) subscription: String,
    pub(super) training: String,
    pub(super) job: String,
    /// A's A/B test of its tool's two versions.
    pub(super) ab_test: String,
    pub(super) key: String,
    pub(super) rented_tool: String,
    /// A's review of the tool A rents (B's).
    pub(super) review: String,
    /// A review of A's tool by a third account (A, its creator, may reply).
    pub(super) received: String,
}

impl Objects {
    pub(super) fn id(&self, object: &str) -> String {
        match object {
            "tool" => self.tool.clone(),
            "certified" => self.certified.to_string(),
            "first" => "1".to_owned(),
            "dataset" => self.dataset.clone(),
            "session" => self.session.clone(),
            "record" => self.record.clone(),
            "subscription" => self.subscription.clone(),
            "training" => self.training.clone(),
            "job" => self.job.clone(),
            "ab_test" => self.ab_test.clone(),
            "key" => self.key.clone(),
            "rented" => self.rented_tool.clone(),
            "review" => self.review.clone(),
            "received" => self.received.clone(),
            "family" => "momentum".to_owned(),
            // A record's chart: the equity curves, drawn from the owner's data.
            "plot" => "equity.svg".to_owned(),
            // A chart's file, as written (`price.svg`).
            file if file.contains('.') => file.to_owned(),
            other => panic!("no object {other} in the matrix"),
        }
    }
}

/// One operation of the document.
pub(super) struct Op {
    pub(super) method: Method,
    pub(super) template: String,
    pub(super) schemes: BTreeSet<String>,
    pub(super) has_body: bool,
    pub(super) path_params: BTreeSet<String>,
    pub(super) responses: Value,
}

impl Op {
    pub(super) fn name(&self) -> String {
        format!("{} {}", self.method, self.template)
    }

    pub(super) fn templated(&self) -> bool {
        self.template.contains('{')
    }

    /// The admin key's only (its dashboard sign-in, the cookie, may read it too).
    pub(super) fn operator_only(&self) -> bool {
        self.schemes.contains("admin") && !self.schemes.contains("bearer")
    }

    pub(super) fn documents(&self, status: u16) -> bool {
        self.responses.get(status.to_string()).is_some()
    }

    /// A 403 the handler declares itself; the document adds a generic one (the admin key acts
    /// for no account) to every account-only operation, which says nothing about other accounts.
    pub(super) fn documents_own_403(&self) -> bool {
        self.documents(403)
            && !self.responses["403"]["description"]
                .as_str()
                .is_some_and(|d| d.starts_with("the admin key acts for no account"))
    }
}

pub(super) fn operations(doc: &Value) -> Vec<Op> {
    let paths = doc["paths"].as_object().expect("the document has paths");
    let path_params = |v: &Value| -> Vec<String> {
        let params = v.as_array().into_iter().flatten();
        params
            .filter(|p| p["in"] == json!("path"))
            .filter_map(|p| p["name"].as_str().map(str::to_owned))
            .collect()
    };
    let mut ops = Vec::new();
    for (template, item) in paths {
        for method in ["get", "put", "post", "delete", "patch"] {
            let Some(op) = item.get(method) else { continue };
            let security = op["security"].as_array().into_iter().flatten();
            ops.push(Op {
                method: method.to_ascii_uppercase().parse().expect("an HTTP method"),
                template: template.clone(),
                schemes: security
                    .filter_map(Value::as_object)
                    .flat_map(|o| o.keys().cloned())
                    .collect(),
                has_body: op.get("requestBody").is_some(),
                path_params: path_params(&item["parameters"])
                    .into_iter()
                    .chain(path_params(&op["parameters"]))
                    .collect(),
                responses: op["responses"].clone(),
            });
        }
    }
    ops
}

/// The `{name}`s of a path template.
pub(super) fn placeholders(template: &str) -> BTreeSet<String> {
    let names = template.split('{').skip(1);
    names
        .filter_map(|s| s.split_once('}').map(|(name, _)| name.to_owned()))
        .collect()
}

pub(super) fn fill(op: &Op, row: Option<&Row>, objects: &Objects) -> String {
    let mut path = op.template.clone();
    for (name, object) in row.map(|r| r.ids.as_slice()).unwrap_or_default() {
        path = path.replace(&format!("{{{name}}}"), &objects.id(object));
    }
    assert!(
        !path.contains('{'),
        "every id of {} is filled: {path}",
        op.name()
    );
    path
}

/// The table and the document name the same templated operations, the table fills each
/// `{name}` of the path, and an operation has a body in [`body`] exactly when it takes one.
pub(super) fn check_table(
    ops: &[Op],
    rows: &BTreeMap<&str, &Row>,
    objects: &Objects,
) -> Vec<String> {
    let mut problems = Vec::new();
    for op in ops.iter().filter(|o| o.templated()) {
        let Some(row) = rows.get(op.name().as_str()) else {
            problems.push(format!(
                "{}: not in the matrix's table; add a row",
                op.name()
            ));
            continue;
        };
        let ids: BTreeSet<String> = row.ids.iter().map(|(n, _)| n.clone()).collect();
        if ids != placeholders(&op.template) {
            problems.push(format!("{}: the table fills {ids:?}", op.name()));
        }
        if body(&op.name(), objects).is_some() != op.has_body {
            problems.push(format!("{}: `body` disagrees with the document", op.name()));
        }
        if op.schemes.is_empty() && row.access != Access::Public {
            problems.push(format!("{}: needs no key, yet is not public", op.name()));
        }
    }
    let documented: BTreeSet<String> = ops.iter().map(Op::name).collect();
    for name in rows.keys().filter(|n| !documented.contains(**n)) {
        problems.push(format!("{name}: in the table but not in the document"));
    }
    problems
}

/// The document's own consistency: an operation's path parameters are exactly its path's
/// `{name}`s (OpenAPI requires it; a query parameter declared `in: path` misleads clients).
pub(super) fn document_problems(ops: &[Op]) -> Vec<String> {
    let wrong = ops
        .iter()
        .filter(|op| op.path_params != placeholders(&op.template));
    wrong
        .map(|op| {
            format!(
                "{} declares path parameters {:?}",
                op.name(),
                op.path_params
            )
        })
        .collect()
}
