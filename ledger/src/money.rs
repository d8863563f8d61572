//! Money and quantities. Amounts are integers in minor units; reports sum EUR.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An amount in integer minor units of an ISO 4217 currency, with the EUR
/// equivalent (in euro cents) stated by the producer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Money {
    /// Amount in minor units of `currency` (cents for EUR and USD).
    pub amount_minor: u64,
    /// ISO 4217 alphabetic code, e.g. `EUR`, `USD`, `GBP`.
    pub currency: String,
    /// The EUR equivalent in euro cents, as stated by the producer.
    pub eur_minor: u64,
}

impl Money {
    /// An amount in euro cents.
    pub fn eur(cents: u64) -> Money {
        Money {
            amount_minor: cents,
            currency: "EUR".into(),
            eur_minor: cents,
        }
    }
}

/// A count of something in a unit (`licences`, `terminals`, `person-days`, `EUR`...).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quantity {
    /// How many.
    pub amount: u64,
    /// Of what: 1 to 32 characters, no control characters.
    pub unit: String,
}

/// Formats euro cents as `1,234,567.89` (thousands separators, two decimals).
pub struct Eur(pub u128);

impl fmt::Display for Eur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = (self.0 / 100).to_string();
        let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
        for (i, c) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(c);
        }
        let s = format!("{grouped}.{:02}", self.0 % 100);
        f.pad(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eur_formatting() {
        assert_eq!(Eur(0).to_string(), "0.00");
        assert_eq!(Eur(123_456_789).to_string(), "1,234,567.89");
        assert_eq!(Eur(100_000).to_string(), "1,000.00");
        assert_eq!(format!("{:>10}", Eur(99_999)), "    999.99");
    }
}
