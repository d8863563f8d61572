//! Batch verification of event signatures, with the terms of one key summed.
//!
//! The equation is ed25519-dalek's `verify_batch` (cofactorless, random
//! 128-bit weights `z`): `[-Σ z·s]B + Σ z·R + Σ (z·h)·A = 0`, one multiscalar
//! multiplication per batch. A ledger's events come from few members, so the
//! `A` terms of one key are summed first: `Σ_i (z_i·h_i)·A = (Σ_i z_i·h_i)·A`.
//! That identity holds when `A` lies in the prime-order subgroup (every
//! honestly generated key does); a key with a torsion component keeps one term
//! per signature, as in dalek, so the point computed is the same group element
//! either way. A batch of 64 signatures from 16 keys multiplies 81 points
//! instead of 129.
//!
//! `true` means every signature verifies. `false` means at least one does not,
//! or the batch could not be checked (no randomness): callers then verify each
//! signature with `verify_strict`. Like every cofactorless batch check, this
//! one may accept a signature whose `R` carries a torsion component that
//! `verify_strict` refuses (see ARCHITECTURE.md); it never accepts one that
//! fails for any other reason, except with probability about 2^-128: like
//! `verify_strict` and unlike dalek's batch, it refuses an `R` of small order
//! or with a non-canonical encoding.

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use ed25519_dalek::VerifyingKey;
use sha2::{Digest as _, Sha512};

use crate::event::Event;

/// Distinct keys summed per batch; signatures of further keys keep their own term.
const MAX_SUMMED_KEYS: usize = 64;

/// A verifying key prepared once for many batches: its point, and whether that
/// point lies in the prime-order subgroup (which allows summing its terms).
#[derive(Debug, Clone, Copy)]
pub struct BatchKey {
    key: VerifyingKey,
    point: EdwardsPoint,
    torsion_free: bool,
}

impl BatchKey {
    /// Prepares `key` (one scalar multiplication, for the subgroup check).
    pub fn new(key: VerifyingKey) -> BatchKey {
        let point = key.to_edwards();
        BatchKey {
            key,
            point,
            torsion_free: point.is_torsion_free(),
        }
    }

    /// The key.
    pub fn key(&self) -> &VerifyingKey {
        &self.key
    }
}

/// Verifies every `events[i]` under `keys[i]` at once. `true` when all verify;
/// `false` means at least one does not (find it with [`Event::verify`]).
/// Keys must already be checked non-weak (batch verification skips that check).
///
/// # Panics
/// If `events` and `keys` differ in length.
pub fn verify_batch(events: &[&Event], keys: &[BatchKey]) -> bool {
    let messages: Vec<&[u8]> = events.iter().map(|e| e.signed_bytes()).collect();
    let signatures: Vec<[u8; 64]> = events.iter().map(|e| e.signature()).collect();
    verify_messages(&messages, &signatures, keys)
}

/// [`verify_batch`] over signed messages: every `signatures[i]` over
/// `messages[i]` under `keys[i]`.
///
/// # Panics
/// If the three slices differ in length.
pub fn verify_messages(messages: &[&[u8]], signatures: &[[u8; 64]], keys: &[BatchKey]) -> bool {
    assert_eq!(messages.len(), keys.len(), "one key per message");
    assert_eq!(
        messages.len(),
        signatures.len(),
        "one signature per message"
    );
    if messages.is_empty() {
        return true;
    }
    let mut weights = vec![0u8; 16 * messages.len()];
    if getrandom::getrandom(&mut weights).is_err() {
        return false;
    }
    let terms = messages.len() + MAX_SUMMED_KEYS.min(messages.len()) + 1;
    let mut scalars: Vec<Scalar> = Vec::with_capacity(terms);
    let mut points: Vec<EdwardsPoint> = Vec::with_capacity(terms);
    scalars.push(Scalar::ZERO);
    points.push(ED25519_BASEPOINT_POINT);
    // Summed key terms: (key bytes, point, Σ z·h).
    let mut summed: Vec<(&[u8; 32], EdwardsPoint, Scalar)> = Vec::new();
    let mut unsummed: Vec<(EdwardsPoint, Scalar)> = Vec::new();
    let mut b_coefficient = Scalar::ZERO;
    for (((message, signature), key), z) in messages
        .iter()
        .zip(signatures)
        .zip(keys)
        .zip(weights.chunks_exact(16))
    {
        let (r_bytes, s_bytes) = signature.split_at(32);
        let r_bytes: [u8; 32] = r_bytes.try_into().expect("32 bytes");
        let s_bytes: [u8; 32] = s_bytes.try_into().expect("32 bytes");
        let Some(s) = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes)) else {
            return false;
        };
        // As verify_strict: R canonically encoded and not of small order.
        if !canonical_y(&r_bytes) {
            return false;
        }
        let Some(r) = CompressedEdwardsY(r_bytes).decompress() else {
            return false;
        };
        if r.is_small_order() {
            return false;
        }
        let mut h = Sha512::new();
        h.update(r_bytes);
        h.update(key.key.as_bytes());
        h.update(message);
        let h = Scalar::from_bytes_mod_order_wide(&h.finalize().into());
        let z = Scalar::from(u128::from_le_bytes(z.try_into().expect("16 bytes")));
        b_coefficient += z * s;
        scalars.push(z);
        points.push(r);
        let zh = z * h;
        let bytes = key.key.as_bytes();
        let room = summed.len() < MAX_SUMMED_KEYS;
        match summed.iter_mut().find(|(k, _, _)| *k == bytes) {
            Some((_, _, sum)) => *sum += zh,
            None if key.torsion_free && room => summed.push((bytes, key.point, zh)),
            None => unsummed.push((key.point, zh)),
        }
    }
    scalars[0] = -b_coefficient;
    for (_, point, sum) in summed {
        scalars.push(sum);
        points.push(point);
    }
    for (point, zh) in unsummed {
        scalars.push(zh);
        points.push(point);
    }
    EdwardsPoint::vartime_multiscalar_mul(&scalars, &points).is_identity()
}

/// Whether the y coordinate of a point encoding is below p = 2^255 - 19 (the
/// sign bit aside), as every encoding `compress` produces is.
fn canonical_y(bytes: &[u8; 32]) -> bool {
    let top = bytes[31] & 0x7f;
    !(top == 0x7f && bytes[1..31].iter().all(|&b| b == 0xff) && bytes[0] >= 0xed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Signer;

    #[test]
    fn only_y_below_p_is_canonical() {
        let mut p = [0xffu8; 32];
        p[0] = 0xed;
        p[31] = 0x7f;
        assert!(!canonical_y(&p));
        let mut below = p;
        below[0] = 0xec;
        assert!(canonical_y(&below));
        let mut signed = below;
        signed[31] |= 0x80;
        assert!(canonical_y(&signed));
        p[31] = 0xff;
        assert!(!canonical_y(&p));
        assert!(canonical_y(&[0; 32]));
    }

    #[test]
    fn prepared_keys_know_their_subgroup() {
        let signer = Signer::from_seed("EE-MFA", [7; 32]).unwrap();
        let key = signer.public_key().verifying_key().unwrap();
        assert!(BatchKey::new(key).torsion_free);
        // The same point plus a point of order 2, (0, -1).
        let torsion = CompressedEdwardsY({
            let mut b = [0u8; 32];
            b[0] = 0xec;
            b[1..31].fill(0xff);
            b[31] = 0x7f;
            b
        })
        .decompress()
        .unwrap();
        let mixed = key.to_edwards() + torsion;
        let mixed = VerifyingKey::from_bytes(mixed.compress().as_bytes()).unwrap();
        assert!(!BatchKey::new(mixed).torsion_free);
    }
}
