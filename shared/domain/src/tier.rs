//! Subscription tiers and their price multipliers.

use serde::{Deserialize, Serialize};

use super::Money;

/// A subscription tier. Ordered: `Free < Basic < Pro < Enterprise`.
#[derive(
    Copy,
    Clone,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// 0x the monthly price.
    Free,
    /// 1x the monthly price.
    Basic,
    /// 2.5x the monthly price.
    Pro,
    /// 5x the monthly price, queue priority.
    Enterprise,
}

impl Tier {
    /// Every tier, lowest first.
    pub const ALL: [Tier; 4] = [Tier::Free, Tier::Basic, Tier::Pro, Tier::Enterprise];

    /// The name used in the API and the store.
    pub const fn as_str(self) -> &'static str {
        match self {
            Tier::Free => "free",
            Tier::Basic => "basic",
            Tier::Pro => "pro",
            Tier::Enterprise => "enterprise",
        }
    }

    /// Parses a tier name.
    ///
    /// # Errors
    /// An explanation naming the accepted values.
    pub fn parse(text: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == text)
            .ok_or_else(|| {
                format!("unknown tier {text:?}: expected free, basic, pro or enterprise")
            })
    }

    /// The multiplier in tenths (free 0, basic 10, pro 25, enterprise 50).
    pub const fn multiplier_tenths(self) -> i64 {
        match self {
            Tier::Free => 0,
            Tier::Basic => 10,
            Tier::Pro => 25,
            Tier::Enterprise => 50,
        }
    }

    /// The monthly price at this tier: `monthly_price x multiplier`, half up to a whole cent.
    pub fn monthly_price(self, monthly_price: Money) -> Money {
        monthly_price.mul_ratio(self.multiplier_tenths(), 10)
    }
}

impl std::fmt::Display for Tier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_follow_the_multipliers_rounded_half_up() {
        let p = Money::from_cents(2999);
        assert_eq!(Tier::Free.monthly_price(p), Money::ZERO);
        assert_eq!(Tier::Basic.monthly_price(p), Money::from_cents(2999));
        assert_eq!(
            Tier::Pro.monthly_price(p),
            Money::from_cents(7498),
            "74.975 -> 74.98"
        );
        assert_eq!(Tier::Enterprise.monthly_price(p), Money::from_cents(14995));
        assert_eq!(
            Tier::Pro.monthly_price(Money::from_cents(1)),
            Money::from_cents(3),
            "2.5 -> 3"
        );
    }

    #[test]
    fn tiers_are_ordered_and_parse() {
        assert!(
            Tier::Free < Tier::Basic && Tier::Basic < Tier::Pro && Tier::Pro < Tier::Enterprise
        );
        for t in Tier::ALL {
            assert_eq!(Tier::parse(t.as_str()), Ok(t));
        }
        assert!(Tier::parse("gold").is_err());
    }
}
