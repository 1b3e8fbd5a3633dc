//! The simulated marketplace the forecast tests live through: renters joining every five days,
//! each renewal paid, canceled, failed and recovered, or failed and lost by a fixed pattern, with
//! the sandbox clock at noon of each day and one billing pass a day.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;
use shared::domain::TransactionKind;
use shared::domain::period::period_start;
use tests::{TestApp, User, test_epoch};

/// What a renter does at its `k`-th renewal: a fixed pattern with 10% cancellations, 10% failed
/// renewals recovered a day later, 10% failed and never paid, 70% paid on time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fate {
    Pay,
    Cancel,
    Recover,
    Lose,
}

pub(crate) fn fate(renter: u32, k: u32) -> Fate {
    match (renter * 7 + k * 3) % 10 {
        0 => Fate::Cancel,
        1 => Fate::Recover,
        2 => Fate::Lose,
        _ => Fate::Pay,
    }
}

pub(crate) struct Renter {
    user: User,
    subscription: String,
    anchor: DateTime<Utc>,
    index: u32,
    next: u32,
    alive: bool,
}

impl Renter {
    fn due(&self) -> DateTime<Utc> {
        period_start(self.anchor, self.next)
    }
}

const PRICE: f64 = 10.0;

/// The creator's marketplace: one tool, a renter joining every five days until `join_until`.
pub(crate) struct Sim {
    pub(crate) creator: User,
    pub(crate) tool: String,
    renters: Vec<Renter>,
    join_until: i64,
}

impl Sim {
    pub(crate) async fn new(app: &TestApp, join_until: i64) -> Self {
        let creator = app.user("forecast creator").await;
        let tool = app
            .tool(&creator, TestApp::tool_body("SMA forecast", PRICE, "basic"))
            .await["id"]
            .as_str()
            .expect("tool id")
            .to_owned();
        Self {
            creator,
            tool,
            renters: Vec::new(),
            join_until,
        }
    }

    async fn top_up(app: &TestApp, user: &User) {
        app.post(
            "/v1/accounts/me/credits",
            &user.key,
            &json!({"amount": PRICE}),
        )
        .await
        .expect(200);
    }

    /// Day `d`'s renters' actions (at noon, when every anchor's periods start), before billing.
    pub(crate) async fn act(&mut self, app: &TestApp, d: i64) {
        let now = test_epoch() + TimeDelta::days(d);
        app.clock.set(now);
        if d % 5 == 0 && d < self.join_until {
            let index = self.renters.len() as u32;
            let user = app.funded_user(&format!("renter {index}"), PRICE).await;
            let body = json!({"tool_id": self.tool, "tier": "basic"});
            let res = app
                .post("/v1/subscriptions", &user.key, &body)
                .await
                .expect(201);
            self.renters.push(Renter {
                user,
                subscription: res["subscription"]["id"].as_str().expect("id").to_owned(),
                anchor: now,
                index,
                next: 1,
                alive: true,
            });
        }
        for r in self.renters.iter_mut().filter(|r| r.alive) {
            let f = fate(r.index, r.next);
            if r.due() == now && f == Fate::Pay {
                Self::top_up(app, &r.user).await;
            }
            if r.due() + TimeDelta::days(1) == now && f == Fate::Recover {
                Self::top_up(app, &r.user).await;
            }
            if r.due() - TimeDelta::days(1) == now && f == Fate::Cancel {
                app.post(
                    &format!("/v1/subscriptions/{}/auto-renew", r.subscription),
                    &r.user.key,
                    &json!({"enabled": false}),
                )
                .await
                .expect(200);
            }
        }
    }

    /// Runs the day's billing pass and moves each renter past a renewal once it is settled.
    pub(crate) async fn bill(&mut self, app: &TestApp, d: i64) {
        let now = test_epoch() + TimeDelta::days(d);
        app.billing_pass().await;
        for r in self.renters.iter_mut().filter(|r| r.alive) {
            match fate(r.index, r.next) {
                Fate::Pay if r.due() == now => r.next += 1,
                Fate::Recover if r.due() + TimeDelta::days(1) == now => r.next += 1,
                Fate::Cancel if r.due() == now => r.alive = false,
                Fate::Lose if r.due() + TimeDelta::days(3) == now => r.alive = false,
                _ => {}
            }
        }
    }

    pub(crate) async fn days(&mut self, app: &TestApp, days: std::ops::Range<i64>) {
        for d in days {
            self.act(app, d).await;
            self.bill(app, d).await;
        }
    }

    /// Renewal charges billing booked in `[from, to)` for this creator's renters who had
    /// subscribed before `from` (the ones a forecast made at `from` knows).
    pub(crate) async fn renewals_booked(
        &self,
        app: &TestApp,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> i64 {
        let mut total = 0;
        for r in self.renters.iter().filter(|r| r.anchor < from) {
            for line in app.charges_of(&r.subscription).await {
                if line.kind == TransactionKind::SubscriptionCharge
                    && line.period_start > r.anchor
                    && from <= line.created_at
                    && line.created_at < to
                {
                    total += line.amount.cents();
                }
            }
        }
        total
    }
}
