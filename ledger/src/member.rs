//! Members of the Mechanism: who they are, what they may do, and their key.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ids::MemberId;
use crate::keys::{parse_vkey, PublicKey};

/// What kind of organisation a member is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberKind {
    /// A ministry (usually of foreign affairs).
    Ministry,
    /// A government agency.
    Agency,
    /// A company.
    Company,
    /// A non-governmental organisation.
    Ngo,
    /// A Ukrainian recipient institution (SSSCIP, a ministry, an operator...).
    RecipientInstitution,
    /// The Mechanism's secretariat.
    Secretariat,
}

/// What a member may do. Each body needs one role (see `rules`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Makes offers, commitments and deliveries.
    Donor,
    /// States needs and acknowledges receipt.
    Recipient,
    /// Admits members and manages their keys.
    Coordinator,
    /// Reads and audits; signs checkpoint cosignatures.
    Auditor,
}

/// A member as admitted: identity, kind, country, roles and current key.
///
/// In JSON the key is a C2SP verifier key whose name is the member id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The member id, e.g. `EE-MFA` or `GB-GOV-1`.
    pub id: MemberId,
    /// Display name.
    pub name: String,
    /// Kind of organisation.
    pub kind: MemberKind,
    /// ISO 3166-1 alpha-2 country code, upper case.
    pub country: String,
    /// Roles, sorted and without duplicates.
    pub roles: Vec<Role>,
    /// The member's current Ed25519 public key.
    pub key: PublicKey,
}

impl Member {
    /// Whether the member holds `role`.
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

#[derive(Serialize, Deserialize)]
struct MemberWire {
    id: MemberId,
    name: String,
    kind: MemberKind,
    country: String,
    roles: Vec<Role>,
    key: PublicKey,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberJson {
    id: MemberId,
    name: String,
    kind: MemberKind,
    country: String,
    roles: Vec<Role>,
    key: String,
}

/// Parses a verifier key that must be named after `member`.
pub fn member_vkey(member: &MemberId, vkey: &str) -> Result<PublicKey, String> {
    let (name, key) = parse_vkey(vkey).map_err(|e| e.to_string())?;
    if name != member.as_str() {
        return Err(format!(
            "the verifier key is named {name:?}, expected the member id {member:?}"
        ));
    }
    Ok(key)
}

impl Serialize for Member {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            MemberJson {
                id: self.id.clone(),
                name: self.name.clone(),
                kind: self.kind,
                country: self.country.clone(),
                roles: self.roles.clone(),
                key: self.key.vkey(self.id.as_str()),
            }
            .serialize(s)
        } else {
            MemberWire {
                id: self.id.clone(),
                name: self.name.clone(),
                kind: self.kind,
                country: self.country.clone(),
                roles: self.roles.clone(),
                key: self.key,
            }
            .serialize(s)
        }
    }
}

impl<'de> Deserialize<'de> for Member {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Member, D::Error> {
        if d.is_human_readable() {
            let m = MemberJson::deserialize(d)?;
            let key = member_vkey(&m.id, &m.key).map_err(serde::de::Error::custom)?;
            Ok(Member {
                id: m.id,
                name: m.name,
                kind: m.kind,
                country: m.country,
                roles: m.roles,
                key,
            })
        } else {
            let m = MemberWire::deserialize(d)?;
            Ok(Member {
                id: m.id,
                name: m.name,
                kind: m.kind,
                country: m.country,
                roles: m.roles,
                key: m.key,
            })
        }
    }
}
