//! Turning flag strings into ledger values, with errors that name the flag.

use anyhow::{anyhow, bail, Context, Result};
use ledger::body::{CancelScope, Modality, Priority, Tranche};
use ledger::calendar::Date;
use ledger::category::Category;
use ledger::ids::{Digest, ItemId, MemberId};
use ledger::member::{MemberKind, Role};
use ledger::money::Money;
use sha2::{Digest as _, Sha256};

use crate::cmd::produce::MoneyArgs;

/// Decimal places of the minor unit of an ISO 4217 currency (`iso_currency`,
/// the standard's own table); a code that is not an ISO 4217 currency of
/// account (`XYZ`, or gold `XAU`) is refused.
fn exponent(currency: &str) -> Result<u32> {
    iso_currency::Currency::from_code(currency)
        .and_then(|c| c.exponent())
        .map(u32::from)
        .ok_or_else(|| {
            anyhow!(
                "--currency: {currency:?} is not an ISO 4217 currency code (e.g. EUR, USD, UAH)"
            )
        })
}

/// Parses `125000.50` into minor units of a currency with `exp` decimals.
pub fn minor_units(flag: &str, text: &str, exp: u32) -> Result<u64> {
    let bad = || {
        anyhow!("--{flag}: {text:?} is not an amount with at most {exp} decimals (e.g. 1250.00)")
    };
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty()
        || !whole.bytes().all(|c| c.is_ascii_digit())
        || !frac.bytes().all(|c| c.is_ascii_digit())
        || frac.len() > exp as usize
    {
        return Err(bad());
    }
    let scale = 10u64.pow(exp);
    let w: u64 = whole.parse().map_err(|_| bad())?;
    let f: u64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<width$}", width = exp as usize)
            .parse()
            .map_err(|_| bad())?
    };
    w.checked_mul(scale)
        .and_then(|v| v.checked_add(f))
        .ok_or_else(bad)
}

/// `--value/--currency/--eur` into [`Money`].
pub fn money(args: &MoneyArgs) -> Result<Money> {
    money_of(&args.value, &args.currency, args.eur.as_deref())
}

/// A value, currency and optional EUR equivalent into [`Money`].
pub fn money_of(value: &str, currency: &str, eur: Option<&str>) -> Result<Money> {
    let currency = currency.to_ascii_uppercase();
    let amount_minor = minor_units("value", value, exponent(&currency)?)?;
    let eur_minor = match (eur, currency.as_str()) {
        (Some(e), _) => minor_units("eur", e, 2)?,
        (None, "EUR") => amount_minor,
        (None, _) => bail!("--eur: the EUR equivalent is required for a value in {currency}"),
    };
    Ok(Money {
        amount_minor,
        currency,
        eur_minor,
    })
}

/// A tranche `DATE:QUANTITY:VALUE` in a currency.
pub fn tranche(text: &str, currency: &str) -> Result<Tranche> {
    let parts: Vec<&str> = text.split(':').collect();
    let [d, q, v] = parts[..] else {
        bail!("--tranche: {text:?} is not DATE:QUANTITY:VALUE (e.g. 2024-06-30:50:25000.00)");
    };
    Ok(Tranche {
        expected: date("tranche", d)?,
        quantity: q
            .parse()
            .map_err(|_| anyhow!("--tranche: quantity {q:?} is not a whole number"))?,
        amount_minor: minor_units("tranche", v, exponent(&currency.to_ascii_uppercase())?)?,
    })
}

/// A `YYYY-MM-DD` date.
pub fn date(flag: &str, text: &str) -> Result<Date> {
    text.parse().map_err(|e| anyhow!("--{flag}: {e}"))
}

/// A category code.
pub fn category(text: &str) -> Result<Category> {
    Category::from_code(text).ok_or_else(|| {
        let codes: Vec<&str> = Category::ALL.iter().map(|c| c.code()).collect();
        anyhow!(
            "--category: {text:?} is not a category code; use one of {}",
            codes.join(", ")
        )
    })
}

fn enum_value<T: serde::de::DeserializeOwned>(flag: &str, text: &str, choices: &str) -> Result<T> {
    serde_json::from_value(serde_json::Value::String(text.replace('-', "_")))
        .map_err(|_| anyhow!("--{flag}: {text:?} is not one of {choices}"))
}

/// A priority.
pub fn priority(text: &str) -> Result<Priority> {
    enum_value("priority", text, "critical, high, medium, low")
}

/// A modality.
pub fn modality(text: &str) -> Result<Modality> {
    enum_value("modality", text, "financial, goods, services, training")
}

/// A member kind.
pub fn kind(flag: &str, text: &str) -> Result<MemberKind> {
    enum_value(
        flag,
        text,
        "ministry, agency, company, ngo, recipient_institution, secretariat",
    )
}

/// A role.
pub fn role(text: &str) -> Result<Role> {
    enum_value("role", text, "donor, recipient, coordinator, auditor")
}

/// A cancellation scope.
pub fn scope(text: &str) -> Result<CancelScope> {
    enum_value("scope", text, "whole, remaining_balance")
}

/// A member id.
pub fn member(flag: &str, text: &str) -> Result<MemberId> {
    text.parse().map_err(|e| anyhow!("--{flag}: {e}"))
}

/// An item id: a full `MEMBER/REF`, or a local ref prefixed with `owner`.
pub fn item(flag: &str, text: &str, owner: &MemberId) -> Result<ItemId> {
    let full = if text.contains('/') {
        text.to_string()
    } else {
        format!("{owner}/{text}")
    };
    full.parse().map_err(|e| anyhow!("--{flag}: {e}"))
}

/// A list of full item ids.
pub fn items(flag: &str, texts: &[String], owner: &MemberId) -> Result<Vec<ItemId>> {
    texts.iter().map(|t| item(flag, t, owner)).collect()
}

/// Evidence: 64 hex digits, or a file whose SHA-256 is taken.
pub fn evidence(text: &str) -> Result<Digest> {
    if let Ok(d) = text.parse::<Digest>() {
        return Ok(d);
    }
    let bytes = std::fs::read(text).with_context(|| {
        format!("--evidence: {text:?} is neither a SHA-256 in hex nor a readable file")
    })?;
    Ok(Digest(Sha256::digest(&bytes).into()))
}

/// A verifier key given as text, or as a file holding it.
pub fn vkey_text(flag: &str, text: &str) -> Result<String> {
    if text.contains('+') {
        return Ok(text.trim().to_string());
    }
    std::fs::read_to_string(text)
        .map(|s| s.trim().to_string())
        .with_context(|| {
            format!("--{flag}: {text:?} is neither a verifier key nor a readable file")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts() {
        assert_eq!(minor_units("value", "1250.5", 2).unwrap(), 125_050);
        assert_eq!(minor_units("value", "7", 2).unwrap(), 700);
        assert_eq!(minor_units("value", "100", 0).unwrap(), 100);
        assert!(minor_units("value", "1.234", 2).is_err());
        assert!(minor_units("value", "-1", 2).is_err());
        assert!(minor_units("value", "1e3", 2).is_err());
        assert!(money_of("10", "USD", None).is_err());
        assert_eq!(money_of("10", "usd", Some("9.20")).unwrap().eur_minor, 920);
    }
}
