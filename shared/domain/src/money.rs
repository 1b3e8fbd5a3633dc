//! Money as integer cents. Decimals exist only at the edges (JSON in and out); arithmetic,
//! storage and the ledger never see a float.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An amount of money in cents (may be negative in ledger entries).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(i64);

/// Why a decimal amount was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// Not a decimal number.
    #[error("must be a decimal amount such as 29.99")]
    NotANumber,
    /// More than two decimal places.
    #[error("must have at most 2 decimal places")]
    TooPrecise,
    /// Below zero.
    #[error("must not be negative")]
    Negative,
    /// Above the allowed maximum.
    #[error("must be at most {max}")]
    TooLarge {
        /// The maximum, as a decimal.
        max: Money,
    },
}

impl Money {
    /// Zero cents.
    pub const ZERO: Money = Money(0);

    /// From a number of cents.
    pub const fn from_cents(cents: i64) -> Self {
        Money(cents)
    }

    /// The amount in cents.
    pub const fn cents(self) -> i64 {
        self.0
    }

    /// Parses a non-negative decimal amount with at most two decimals, at most `max`.
    ///
    /// # Errors
    /// [`MoneyError`] says what is wrong with the text.
    pub fn parse_decimal(text: &str, max: Money) -> Result<Self, MoneyError> {
        let text = text.trim();
        let dec = Decimal::from_str(text)
            .or_else(|_| Decimal::from_scientific(text))
            .map_err(|_| match text.parse::<f64>() {
                // Beyond Decimal's 28 digits, yet a number: too large rather than malformed.
                Ok(f) if f.is_finite() && f > 1e15 => MoneyError::TooLarge { max },
                Ok(f) if f.is_finite() && f < -1e15 => MoneyError::Negative,
                _ => MoneyError::NotANumber,
            })?
            .normalize();
        if dec.is_sign_negative() && !dec.is_zero() {
            return Err(MoneyError::Negative);
        }
        if dec.scale() > 2 {
            return Err(MoneyError::TooPrecise);
        }
        let cents = dec
            .checked_mul(Decimal::ONE_HUNDRED)
            .and_then(|c| i64::try_from(c).ok())
            .ok_or(MoneyError::TooLarge { max })?;
        if cents > max.0 {
            return Err(MoneyError::TooLarge { max });
        }
        Ok(Money(cents))
    }

    /// Parses a JSON value (number or string) as a decimal amount.
    ///
    /// # Errors
    /// [`MoneyError`] when the value is not a decimal amount within range.
    pub fn from_json(value: &serde_json::Value, max: Money) -> Result<Self, MoneyError> {
        match value {
            // Without serde_json's arbitrary_precision a number is an f64 or an integer; its
            // shortest round-trip text is what the caller wrote for any amount with < 16 digits.
            serde_json::Value::Number(n) => Self::parse_decimal(&n.to_string(), max),
            serde_json::Value::String(s) if !s.trim().is_empty() => Self::parse_decimal(s, max),
            _ => Err(MoneyError::NotANumber),
        }
    }

    /// Checked addition.
    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    /// The same amount with the opposite sign.
    pub const fn negated(self) -> Money {
        Money(-self.0)
    }

    /// `self * numerator / denominator`, rounded half away from zero, computed in i128.
    pub fn mul_ratio(self, numerator: i64, denominator: i64) -> Money {
        debug_assert!(denominator > 0, "ratio denominator is positive");
        let n = i128::from(self.0) * i128::from(numerator);
        let d = i128::from(denominator);
        let q = (2 * n.abs() + d) / (2 * d);
        let q = if n < 0 { -q } else { q };
        Money(i64::try_from(q).unwrap_or(if q < 0 { i64::MIN } else { i64::MAX }))
    }

    /// The amount as an f64 number of currency units, for JSON output only.
    pub fn as_f64(self) -> f64 {
        // Correctly rounded division: 2999 / 100 is the same double as the literal 29.99,
        // so JSON shows exactly the decimal that was sent.
        self.0 as f64 / 100.0
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.as_f64())
    }
}

/// The inverse of [`Serialize`]: a JSON number of currency units with at most two decimals (any
/// sign, as ledger lines carry), to the cent. For reading the API's answers (its client); a
/// request's amounts go through [`Money::from_json`], which also bounds them.
impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let units = f64::deserialize(deserializer)?;
        let cents = (units * 100.0).round();
        // The shortest text of `units` has at most two decimals exactly when this holds.
        if !cents.is_finite() || cents.abs() > 9.0e15 || cents / 100.0 != units {
            return Err(serde::de::Error::custom(format!(
                "{units} is not an amount in cents"
            )));
        }
        Ok(Money(cents as i64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MAX: Money = Money::from_cents(100_000_000);

    #[test]
    fn parses_two_decimal_amounts_exactly() {
        assert_eq!(Money::parse_decimal("29.99", MAX), Ok(Money(2999)));
        assert_eq!(Money::parse_decimal("0", MAX), Ok(Money(0)));
        assert_eq!(Money::parse_decimal("10.5", MAX), Ok(Money(1050)));
        assert_eq!(Money::parse_decimal("1e2", MAX), Ok(Money(10_000)));
        assert_eq!(
            Money::parse_decimal("29.990", MAX),
            Ok(Money(2999)),
            "trailing zeros are fine"
        );
    }

    #[test]
    fn refuses_bad_amounts() {
        assert_eq!(
            Money::parse_decimal("29.999", MAX),
            Err(MoneyError::TooPrecise)
        );
        assert_eq!(Money::parse_decimal("-1", MAX), Err(MoneyError::Negative));
        assert_eq!(
            Money::parse_decimal("NaN", MAX),
            Err(MoneyError::NotANumber)
        );
        assert_eq!(
            Money::parse_decimal("abc", MAX),
            Err(MoneyError::NotANumber)
        );
        assert_eq!(
            Money::parse_decimal("1000000.01", MAX),
            Err(MoneyError::TooLarge { max: MAX })
        );
        assert_eq!(
            Money::parse_decimal("1e40", MAX),
            Err(MoneyError::TooLarge { max: MAX })
        );
    }

    #[test]
    fn json_numbers_keep_the_decimal_the_caller_wrote() {
        let v: serde_json::Value = serde_json::from_str("29.99").expect("json");
        assert_eq!(Money::from_json(&v, MAX), Ok(Money(2999)));
        let v: serde_json::Value = serde_json::from_str("0.1").expect("json");
        assert_eq!(Money::from_json(&v, MAX), Ok(Money(10)));
        assert_eq!(
            Money::from_json(&serde_json::json!(true), MAX),
            Err(MoneyError::NotANumber)
        );
        assert_eq!(serde_json::to_string(&Money(2999)).expect("json"), "29.99");
        assert_eq!(serde_json::to_string(&Money(7498)).expect("json"), "74.98");
    }

    #[test]
    fn mul_ratio_rounds_half_away_from_zero() {
        assert_eq!(
            Money(2999).mul_ratio(25, 10),
            Money(7498),
            "74.975 rounds up"
        );
        assert_eq!(Money(5).mul_ratio(1, 2), Money(3));
        assert_eq!(Money(-5).mul_ratio(1, 2), Money(-3));
        assert_eq!(Money(100).mul_ratio(0, 7), Money(0));
    }

    proptest! {
        #[test]
        fn every_cent_amount_round_trips_through_json(cents in 0i64..100_000_000) {
            let text = serde_json::to_string(&Money(cents)).expect("json");
            let value: serde_json::Value = serde_json::from_str(&text).expect("json");
            prop_assert_eq!(Money::from_json(&value, MAX), Ok(Money(cents)));
            prop_assert_eq!(Money::parse_decimal(&Money(cents).to_string(), MAX), Ok(Money(cents)));
        }

        #[test]
        fn every_amount_of_either_sign_reads_back_from_its_json(cents in -10_000_000_000i64..10_000_000_000) {
            let text = serde_json::to_string(&Money(cents)).expect("json");
            prop_assert_eq!(serde_json::from_str::<Money>(&text).expect("reads"), Money(cents));
        }
    }

    #[test]
    fn an_amount_finer_than_a_cent_is_not_read() {
        assert!(serde_json::from_str::<Money>("29.995").is_err());
        assert!(serde_json::from_str::<Money>("\"29.99\"").is_err());
        assert_eq!(
            serde_json::from_str::<Money>("-74.98").ok(),
            Some(Money(-7498))
        );
    }
}
