//! Identifiers: event ids, member ids and item ids.
//!
//! Member and item ids are validated whenever they are built or decoded, from
//! JSON or from signed bytes, so the rest of the code never sees a malformed one.

use std::fmt;
use std::str::FromStr;

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

/// Longest member id accepted, in bytes.
pub const MAX_MEMBER_ID: usize = 64;
/// Longest item id accepted (member id, `/`, local part), in bytes.
pub const MAX_ITEM_ID: usize = 130;

/// A SHA-256 digest (event ids, evidence digests, Merkle hashes).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Digest(pub [u8; 32]);

/// The id of an event: the RFC 6962 leaf hash `SHA-256(0x00 || envelope || signature)`.
pub type EventId = Digest;

impl Digest {
    /// The all-zero digest: the `prev` of a member's first event.
    pub const ZERO: Digest = Digest([0; 32]);
    /// Lower-case hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
    /// The first 12 hex digits, for tables.
    pub fn short(&self) -> String {
        hex::encode(&self.0[..6])
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_hex())
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// Why an identifier string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} {input:?}: {why}")]
pub struct IdError {
    what: &'static str,
    input: String,
    why: &'static str,
}

impl FromStr for Digest {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Digest, IdError> {
        let err = |why| IdError {
            what: "digest",
            input: s.into(),
            why,
        };
        if s.len() != 64 {
            return Err(err("expected 64 hex digits"));
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|_| err("expected 64 hex digits"))?;
        Ok(Digest(out))
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&self.to_hex())
        } else {
            self.0.serialize(s)
        }
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Digest, D::Error> {
        if d.is_human_readable() {
            d.deserialize_str(HexDigest)
        } else {
            <[u8; 32]>::deserialize(d).map(Digest)
        }
    }
}

/// Parses a digest from hex text, borrowed when the input allows it.
struct HexDigest;

impl de::Visitor<'_> for HexDigest {
    type Value = Digest;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("64 hex digits")
    }
    fn visit_str<E: de::Error>(self, text: &str) -> Result<Digest, E> {
        text.parse().map_err(E::custom)
    }
}

fn id_char(c: u8) -> bool {
    c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'-' || c == b'_' || c == b'.'
}

/// A member id such as `EE-MFA` or an IATI organisation ref such as `GB-GOV-1`:
/// 2 to 64 characters of `A-Z 0-9 - _ .`, starting with a letter.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct MemberId(String);

/// Serialised as its string, borrowed (`serde(into)` would clone it each time).
impl Serialize for MemberId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl MemberId {
    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for MemberId {
    type Error = IdError;
    fn try_from(s: String) -> Result<MemberId, IdError> {
        let err = |why| IdError {
            what: "member id",
            input: s.clone(),
            why,
        };
        let b = s.as_bytes();
        if b.len() < 2 || b.len() > MAX_MEMBER_ID {
            return Err(err("expected 2 to 64 characters"));
        }
        if !b[0].is_ascii_uppercase() || !b.iter().all(|&c| id_char(c)) {
            return Err(err(
                "expected A-Z, 0-9, '-', '_' or '.', starting with a letter",
            ));
        }
        Ok(MemberId(s))
    }
}

impl MemberId {
    /// The member of a log subject whose name is no member id (`?`, which no
    /// member can hold): its entries are nobody's, so every event on it is
    /// judged `wrong_subject`.
    pub fn unnamed_subject() -> MemberId {
        MemberId("?".into())
    }
}

impl FromStr for MemberId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<MemberId, IdError> {
        MemberId::try_from(s.to_string())
    }
}

impl From<MemberId> for String {
    fn from(m: MemberId) -> String {
        m.0
    }
}

impl fmt::Display for MemberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

/// The id of a need, offer, commitment or delivery: `<member id>/<local ref>`,
/// where the member is the one that created the item (e.g. `EE-MFA/O-2024-007`).
/// The local ref is 1 to 64 characters of `A-Z a-z 0-9 - _ .`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct ItemId(String);

/// Serialised as its string, borrowed (`serde(into)` would clone it each time).
impl Serialize for ItemId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl ItemId {
    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The member part: who created the item.
    pub fn owner(&self) -> &str {
        self.0.split_once('/').map(|(m, _)| m).unwrap_or("")
    }
    /// Whether this id belongs to `member` (starts with `member/`).
    pub fn is_owned_by(&self, member: &MemberId) -> bool {
        self.owner() == member.as_str()
    }
}

impl TryFrom<String> for ItemId {
    type Error = IdError;
    fn try_from(s: String) -> Result<ItemId, IdError> {
        let err = |why| IdError {
            what: "item id",
            input: s.clone(),
            why,
        };
        let (member, local) = s
            .split_once('/')
            .ok_or_else(|| err("expected <member id>/<local ref>"))?;
        MemberId::try_from(member.to_string())
            .map_err(|_| err("the part before '/' is not a valid member id"))?;
        let ok = !local.is_empty()
            && local.len() <= 64
            && local
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_' || c == b'.');
        if !ok {
            return Err(err(
                "the local ref must be 1 to 64 characters of A-Z a-z 0-9 - _ .",
            ));
        }
        Ok(ItemId(s))
    }
}

impl FromStr for ItemId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<ItemId, IdError> {
        ItemId::try_from(s.to_string())
    }
}

impl From<ItemId> for String {
    fn from(m: ItemId) -> String {
        m.0
    }
}

impl fmt::Display for ItemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_ids() {
        for ok in ["EE-MFA", "GB-GOV-1", "XM-DAC-7", "UA-EDR-12345678"] {
            assert!(ok.parse::<MemberId>().is_ok(), "{ok}");
        }
        for bad in ["", "E", "ee-mfa", "1AB", "EE MFA", "EE/MFA"] {
            assert!(bad.parse::<MemberId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn item_ids() {
        let id: ItemId = "EE-MFA/O-2024.7".parse().unwrap();
        assert_eq!(id.owner(), "EE-MFA");
        assert!(id.is_owned_by(&"EE-MFA".parse().unwrap()));
        assert!(!id.is_owned_by(&"EE-MF".parse().unwrap()));
        for bad in ["EE-MFA", "EE-MFA/", "ee/x", "EE-MFA/a b", "EE-MFA/x/y"] {
            assert!(bad.parse::<ItemId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn digest_hex() {
        let d: Digest = format!("{}ff", "00".repeat(31)).parse().unwrap();
        assert_eq!(d.0[31], 0xff);
        assert!("abc".parse::<Digest>().is_err());
        assert!("zz".repeat(32).parse::<Digest>().is_err());
    }
}
