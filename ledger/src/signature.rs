//! The ledger's one signature rule: Ed25519 as ZIP 215 defines it.
//!
//! A signature `R || s` by the key encoded as `A` over a message `M` is valid
//! if and only if
//! - `s` is a canonical scalar (`s < ℓ`);
//! - `A` and `R` decode as curve points (non-canonical encodings of `y` are
//!   allowed, as ZIP 215 says; they are hashed as given, never re-encoded);
//! - `[8][s]B = [8]R + [8][k]A`, with `k = SHA-512(R || A || M)` reduced mod ℓ.
//!
//! The cofactored equation is what makes single and batch verification agree
//! on every input ([`crate::batch`] checks the same equation for many
//! signatures at once): a cofactorless check (`verify_strict`, OpenSSL) and a
//! random-weight batch disagree on a signature whose `R` carries a small-order
//! component, and would let one member's crafted event be judged differently
//! by different projectors. Honestly made signatures verify under both rules.
//!
//! Keys get stricter checks, once, when a key is registered
//! ([`crate::keys::PublicKey::check`]): canonical, not of small order, in the
//! prime-order subgroup.

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use sha2::{Digest as _, Sha512};

/// Decodes a point as ZIP 215 allows (any encoding whose `y` gives a point,
/// canonical or not); `None` if it is not on the curve.
pub fn decode_point(bytes: &[u8; 32]) -> Option<EdwardsPoint> {
    CompressedEdwardsY(*bytes).decompress()
}

/// `s` of a signature, if canonical (`s < ℓ`).
pub fn decode_scalar(bytes: &[u8; 32]) -> Option<Scalar> {
    Option::from(Scalar::from_canonical_bytes(*bytes))
}

/// `k = SHA-512(R || A || M) mod ℓ`, over the encodings as given.
pub fn challenge(r: &[u8; 32], a: &[u8; 32], message: &[u8]) -> Scalar {
    let mut h = Sha512::new();
    h.update(r);
    h.update(a);
    h.update(message);
    Scalar::from_bytes_mod_order_wide(&h.finalize().into())
}

/// Splits a signature into its `R` and `s` encodings.
pub fn split(signature: &[u8; 64]) -> (&[u8; 32], &[u8; 32]) {
    let (r, s) = signature.split_at(32);
    (
        r.try_into().expect("32 bytes"),
        s.try_into().expect("32 bytes"),
    )
}

/// Whether `signature` by the key encoded as `key` over `message` is valid by
/// ZIP 215 (see the module documentation). The key is not checked beyond
/// decoding: registration checks it ([`crate::keys::PublicKey::check`]).
pub fn verify(key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
    let Some(a) = decode_point(key) else {
        return false;
    };
    verify_prepared(key, &a, message, signature)
}

/// [`verify`] with the key's point already decoded (`a` = `decode_point(key)`).
pub fn verify_prepared(
    key: &[u8; 32],
    a: &EdwardsPoint,
    message: &[u8],
    signature: &[u8; 64],
) -> bool {
    let (r_bytes, s_bytes) = split(signature);
    let Some(s) = decode_scalar(s_bytes) else {
        return false;
    };
    let Some(r) = decode_point(r_bytes) else {
        return false;
    };
    let k = challenge(r_bytes, key, message);
    // [s]B - [k]A - R, times the cofactor, is the identity.
    let sb_minus_ka = EdwardsPoint::vartime_double_scalar_mul_basepoint(&-k, a, &s);
    (sb_minus_ka - r).mul_by_cofactor().is_identity()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Signer;
    use curve25519_dalek::constants::EIGHT_TORSION;

    #[test]
    fn honest_signatures_verify_and_changes_do_not() {
        let signer = Signer::from_seed("EE-MFA", [7; 32]).unwrap();
        let key = signer.public_key().0;
        let sig = signer.sign_raw(b"message");
        assert!(verify(&key, b"message", &sig));
        assert!(!verify(&key, b"messagf", &sig));
        for i in [0, 31, 32, 63] {
            let mut bad = sig;
            bad[i] ^= 1;
            assert!(!verify(&key, b"message", &bad), "byte {i} flipped");
        }
    }

    /// A key and its secret scalar, without a seed.
    fn key_pair(a: u64) -> ([u8; 32], Scalar) {
        let a = Scalar::from(a) * Scalar::from(0x1234_5678_9abc_def1u64);
        (EdwardsPoint::mul_base(&a).compress().0, a)
    }

    fn sign_with_r(
        a: Scalar,
        key: &[u8; 32],
        big_r: EdwardsPoint,
        r: Scalar,
        m: &[u8],
    ) -> [u8; 64] {
        let big_r = big_r.compress().0;
        let s = r + challenge(&big_r, key, m) * a;
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(&big_r);
        sig[32..].copy_from_slice(s.as_bytes());
        sig
    }

    #[test]
    fn a_torsion_component_in_r_is_accepted_whatever_its_order() {
        let (key, a) = key_pair(3);
        let r = Scalar::from(12345u64);
        let honest = sign_with_r(a, &key, EdwardsPoint::mul_base(&r), r, b"m");
        assert!(verify(&key, b"m", &honest));
        for t in &EIGHT_TORSION[1..] {
            let sig = sign_with_r(a, &key, EdwardsPoint::mul_base(&r) + t, r, b"m");
            assert!(verify(&key, b"m", &sig));
        }
    }

    #[test]
    fn a_non_canonical_s_is_refused() {
        let (key, a) = key_pair(5);
        let r = Scalar::from(777u64);
        let mut sig = sign_with_r(a, &key, EdwardsPoint::mul_base(&r), r, b"m");
        assert!(verify(&key, b"m", &sig));
        // s + ℓ: the same residue, not canonical.
        let l: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let mut carry = 0u16;
        for (i, l) in l.iter().enumerate() {
            let v = sig[32 + i] as u16 + *l as u16 + carry;
            sig[32 + i] = v as u8;
            carry = v >> 8;
        }
        assert_eq!(carry, 0);
        assert!(!verify(&key, b"m", &sig));
    }
}
