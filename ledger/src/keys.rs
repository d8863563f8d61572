//! Ed25519 keys and their C2SP signed-note text forms.
//!
//! A verifier key (vkey) is `name+hex(keyid)+base64(0x01 || pubkey)` and a signer
//! key (skey) `PRIVATE+KEY+name+hex(keyid)+base64(0x01 || seed)`, where
//! `keyid = SHA-256(name || 0x0A || 0x01 || pubkey)[..4]` (C2SP signed-note, the
//! format Go's `golang.org/x/mod/sumdb/note` reads and writes).

use std::fmt;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{SigningKey, VerifyingKey};
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

/// The signed-note signature type byte of Ed25519 keys.
pub const ED25519_TYPE: u8 = 0x01;

/// An Ed25519 public key (32 bytes), as carried in membership events.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PublicKey(pub [u8; 32]);

/// Why a key or key text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The text is not of the `name+keyid+base64` form.
    #[error("malformed {0}: expected name+keyid+base64")]
    Malformed(&'static str),
    /// The name is empty or has a space or `+`.
    #[error("invalid key name {0:?}: must be non-empty without spaces or '+'")]
    BadName(String),
    /// The key type byte is not Ed25519.
    #[error("unsupported key type {0:#04x}: only Ed25519 (0x01)")]
    UnsupportedType(u8),
    /// The key id does not match the name and key.
    #[error("key id {stated} does not match the key (expected {computed})")]
    KeyIdMismatch {
        /// The key id written in the text.
        stated: String,
        /// The key id computed from name and key.
        computed: String,
    },
    /// The bytes are not a valid Ed25519 point, or a weak (small-order) one.
    #[error("not a valid (non-weak) Ed25519 public key")]
    BadPoint,
    /// The point is valid but not acceptable as a key: a non-canonical
    /// encoding, a point of small order, or one with a torsion component.
    #[error("not an acceptable Ed25519 public key: {0}")]
    Unacceptable(&'static str),
}

impl PublicKey {
    /// Checks the key as it must be when registered (genesis, admission, key
    /// rotation, witness and checkpoint keys): the encoding of a curve point,
    /// canonical (the encoding `compress` gives), not of small order and in the
    /// prime-order subgroup (no torsion component). Signatures under a key are
    /// then checked by ZIP 215 ([`crate::signature`]), which does not repeat this.
    pub fn check(&self) -> Result<(), KeyError> {
        let point = crate::signature::decode_point(&self.0).ok_or(KeyError::BadPoint)?;
        if point.compress().0 != self.0 {
            return Err(KeyError::Unacceptable("non-canonical encoding"));
        }
        if point.is_small_order() {
            return Err(KeyError::Unacceptable("a point of small order"));
        }
        if !point.is_torsion_free() {
            return Err(KeyError::Unacceptable("a torsion component"));
        }
        Ok(())
    }

    /// The dalek verifying key of a key that passes [`PublicKey::check`].
    pub fn verifying_key(&self) -> Result<VerifyingKey, KeyError> {
        self.check()?;
        VerifyingKey::from_bytes(&self.0).map_err(|_| KeyError::BadPoint)
    }
    /// The C2SP key id of this key under `name`.
    pub fn key_id(&self, name: &str) -> [u8; 4] {
        key_id(name, ED25519_TYPE, &self.0)
    }
    /// The C2SP verifier key text of this key under `name`.
    pub fn vkey(&self, name: &str) -> String {
        let mut typed = vec![ED25519_TYPE];
        typed.extend_from_slice(&self.0);
        format!(
            "{name}+{}+{}",
            hex::encode(self.key_id(name)),
            B64.encode(typed)
        )
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", B64.encode(self.0))
    }
}

impl From<VerifyingKey> for PublicKey {
    fn from(vk: VerifyingKey) -> PublicKey {
        PublicKey(vk.to_bytes())
    }
}

/// Serialized as 32 raw bytes in the signed encoding and as base64 in JSON
/// (membership bodies use a named vkey in JSON instead; see `member`).
impl Serialize for PublicKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&B64.encode(self.0))
        } else {
            self.0.serialize(s)
        }
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<PublicKey, D::Error> {
        if d.is_human_readable() {
            let s = String::deserialize(d)?;
            let bytes = B64.decode(&s).map_err(de::Error::custom)?;
            let arr: [u8; 32] = bytes
                .try_into()
                .map_err(|_| de::Error::custom("expected 32 bytes of base64"))?;
            Ok(PublicKey(arr))
        } else {
            <[u8; 32]>::deserialize(d).map(PublicKey)
        }
    }
}

/// `SHA-256(name || 0x0A || type || key)[..4]`: the C2SP signed-note key id.
pub fn key_id(name: &str, key_type: u8, key: &[u8]) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', key_type]);
    h.update(key);
    let out = h.finalize();
    [out[0], out[1], out[2], out[3]]
}

fn check_name(name: &str) -> Result<(), KeyError> {
    if name.is_empty()
        || name.contains('+')
        || name.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(KeyError::BadName(name.into()));
    }
    Ok(())
}

/// Parses a C2SP verifier key `name+keyid+base64(0x01||key)` into its name and key,
/// checking the key id and refusing weak keys.
pub fn parse_vkey(text: &str) -> Result<(String, PublicKey), KeyError> {
    let mut parts = text.trim().splitn(3, '+');
    let (name, id, b64) = match (parts.next(), parts.next(), parts.next()) {
        (Some(n), Some(i), Some(b)) => (n, i, b),
        _ => return Err(KeyError::Malformed("verifier key")),
    };
    check_name(name)?;
    let typed = B64
        .decode(b64)
        .map_err(|_| KeyError::Malformed("verifier key"))?;
    let (&ty, key) = typed
        .split_first()
        .ok_or(KeyError::Malformed("verifier key"))?;
    if ty != ED25519_TYPE {
        return Err(KeyError::UnsupportedType(ty));
    }
    let key: [u8; 32] = key
        .try_into()
        .map_err(|_| KeyError::Malformed("verifier key"))?;
    let pk = PublicKey(key);
    let computed = hex::encode(pk.key_id(name));
    if id.len() != 8 || id != computed {
        return Err(KeyError::KeyIdMismatch {
            stated: id.into(),
            computed,
        });
    }
    pk.check()?;
    Ok((name.to_string(), pk))
}

/// A named Ed25519 signing key. Its `Debug` never shows the secret.
#[derive(Clone)]
pub struct Signer {
    name: String,
    key: SigningKey,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signer({})", self.vkey())
    }
}

impl Signer {
    /// A signer from a 32-byte seed.
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Signer, KeyError> {
        check_name(name)?;
        Ok(Signer {
            name: name.into(),
            key: SigningKey::from_bytes(&seed),
        })
    }
    /// A fresh signer with a seed from the operating system's random source.
    pub fn generate(name: &str) -> Result<Signer, KeyError> {
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed).expect("the OS random source failed");
        Signer::from_seed(name, seed)
    }
    /// The key's name (for members, the member id).
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.key.verifying_key().to_bytes())
    }
    /// The C2SP verifier key text.
    pub fn vkey(&self) -> String {
        self.public_key().vkey(&self.name)
    }
    /// The C2SP signer key text `PRIVATE+KEY+name+keyid+base64(0x01||seed)`. Secret.
    pub fn skey(&self) -> String {
        let mut typed = vec![ED25519_TYPE];
        typed.extend_from_slice(self.key.as_bytes());
        format!(
            "PRIVATE+KEY+{}+{}+{}",
            self.name,
            hex::encode(self.public_key().key_id(&self.name)),
            B64.encode(typed)
        )
    }
    /// Parses a C2SP signer key text, checking its key id.
    pub fn from_skey(text: &str) -> Result<Signer, KeyError> {
        let parts: Vec<&str> = text.trim().splitn(5, '+').collect();
        if parts.len() != 5 || parts[0] != "PRIVATE" || parts[1] != "KEY" {
            return Err(KeyError::Malformed("signer key"));
        }
        let (name, id, b64) = (parts[2], parts[3], parts[4]);
        let typed = B64
            .decode(b64)
            .map_err(|_| KeyError::Malformed("signer key"))?;
        let (&ty, seed) = typed
            .split_first()
            .ok_or(KeyError::Malformed("signer key"))?;
        if ty != ED25519_TYPE {
            return Err(KeyError::UnsupportedType(ty));
        }
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| KeyError::Malformed("signer key"))?;
        let signer = Signer::from_seed(name, seed)?;
        let computed = hex::encode(signer.public_key().key_id(name));
        if id != computed {
            return Err(KeyError::KeyIdMismatch {
                stated: id.into(),
                computed,
            });
        }
        Ok(signer)
    }
    /// Signs `msg` (ed25519, deterministic).
    pub fn sign_raw(&self, msg: &[u8]) -> [u8; 64] {
        use ed25519_dalek::Signer as _;
        self.key.sign(msg).to_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Go's golang.org/x/mod/sumdb/note golden key pair (note_test.go).
    const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const PETER_SKEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";

    #[test]
    fn go_golden_key_pair() {
        let signer = Signer::from_skey(PETER_SKEY).unwrap();
        assert_eq!(signer.vkey(), PETER_VKEY);
        assert_eq!(signer.skey(), PETER_SKEY);
        let (name, pk) = parse_vkey(PETER_VKEY).unwrap();
        assert_eq!(name, "PeterNeumann");
        assert_eq!(pk, signer.public_key());
    }

    #[test]
    fn spec_example_vkey_parses() {
        let (name, _) =
            parse_vkey("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k")
                .unwrap();
        assert_eq!(name, "example.com/foo");
    }

    #[test]
    fn bad_vkeys_are_refused() {
        let wrong_id = PETER_VKEY.replace("c74f20a3", "c74f20a4");
        assert!(matches!(
            parse_vkey(&wrong_id),
            Err(KeyError::KeyIdMismatch { .. })
        ));
        let renamed = PETER_VKEY.replace("PeterNeumann", "Peter");
        assert!(matches!(
            parse_vkey(&renamed),
            Err(KeyError::KeyIdMismatch { .. })
        ));
        assert!(matches!(parse_vkey("nokey"), Err(KeyError::Malformed(_))));
        // The identity point is a weak key.
        let mut weak = [0u8; 32];
        weak[0] = 1;
        let vkey = PublicKey(weak).vkey("weak");
        assert_eq!(
            parse_vkey(&vkey),
            Err(KeyError::Unacceptable("a point of small order"))
        );
        // A valid key plus a point of order 2, and a non-canonical encoding.
        let honest = Signer::from_seed("k", [3; 32]).unwrap().public_key();
        let point = crate::signature::decode_point(&honest.0).unwrap();
        let mixed = point + curve25519_dalek::constants::EIGHT_TORSION[4];
        assert_eq!(
            PublicKey(mixed.compress().0).check(),
            Err(KeyError::Unacceptable("a torsion component"))
        );
        assert_eq!(honest.check(), Ok(()));
        // y = 1 + p: the identity, non-canonically encoded.
        let mut non_canonical = [0xffu8; 32];
        non_canonical[0] = 0xee;
        non_canonical[31] = 0x7f;
        assert_eq!(
            PublicKey(non_canonical).check(),
            Err(KeyError::Unacceptable("non-canonical encoding"))
        );
        // Not a point at all (y = 2 has no x).
        let mut not_a_point = [0u8; 32];
        not_a_point[0] = 2;
        assert_eq!(PublicKey(not_a_point).check(), Err(KeyError::BadPoint));
    }
}
