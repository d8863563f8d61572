//! Batch verification of event signatures, with the terms of one key summed.
//!
//! The rule is the ledger's one signature rule, ZIP 215 ([`crate::signature`]),
//! checked for many signatures at once with random 128-bit weights `z`:
//! `[8]([-Σ z·s]B + Σ z·R + Σ (z·k)·A) = 0`, one multiscalar multiplication per
//! batch and three doublings. A ledger's events come from few members, so the
//! `A` terms of one key are summed first: `Σ_i (z_i·k_i)·A = (Σ_i z_i·k_i)·A`.
//! Scalars are reduced mod ℓ, so for a key with a torsion component the sum
//! differs from the separate terms by a point of small order only, which the
//! factor 8 removes: the batch accepts exactly what [`crate::signature::verify`]
//! accepts, one signature at a time (except with probability about 2^-128 for a
//! batch holding an invalid signature). A batch of 64 signatures from 16 keys
//! multiplies 81 points instead of 129.
//!
//! `true` means every signature verifies. `false` means at least one does not,
//! or the batch could not be checked (no randomness): callers then verify each
//! signature on its own ([`crate::event::Event::verify`]), which gives the same
//! verdicts.

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};

use crate::event::Event;
use crate::keys::PublicKey;
use crate::signature::{challenge, decode_point, decode_scalar, split};

/// Distinct keys summed per batch; signatures of further keys keep their own term.
const MAX_SUMMED_KEYS: usize = 64;

/// A verifying key prepared once for many batches: its encoding and its point.
#[derive(Debug, Clone, Copy)]
pub struct BatchKey {
    key: PublicKey,
    point: EdwardsPoint,
}

impl BatchKey {
    /// Prepares `key` (decodes its point); `None` if it is not a curve point.
    pub fn new(key: PublicKey) -> Option<BatchKey> {
        let point = decode_point(&key.0)?;
        Some(BatchKey { key, point })
    }

    /// The key.
    pub fn key(&self) -> &PublicKey {
        &self.key
    }

    /// Verifies one signature under this key ([`crate::signature::verify`]
    /// without decoding the key again).
    pub fn verify(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        crate::signature::verify_prepared(&self.key.0, &self.point, message, signature)
    }
}

/// Verifies every `events[i]` under `keys[i]` at once. `true` when all verify;
/// `false` means at least one does not (find it with [`Event::verify`]).
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
    // Summed key terms: (key bytes, point, Σ z·k).
    let mut summed: Vec<(&[u8; 32], EdwardsPoint, Scalar)> = Vec::new();
    let mut unsummed: Vec<(EdwardsPoint, Scalar)> = Vec::new();
    let mut b_coefficient = Scalar::ZERO;
    for (((message, signature), key), z) in messages
        .iter()
        .zip(signatures)
        .zip(keys)
        .zip(weights.chunks_exact(16))
    {
        let (r_bytes, s_bytes) = split(signature);
        let Some(s) = decode_scalar(s_bytes) else {
            return false;
        };
        let Some(r) = decode_point(r_bytes) else {
            return false;
        };
        let k = challenge(r_bytes, &key.key.0, message);
        let z = Scalar::from(u128::from_le_bytes(z.try_into().expect("16 bytes")));
        b_coefficient += z * s;
        scalars.push(z);
        points.push(r);
        let zk = z * k;
        let bytes = &key.key.0;
        let room = summed.len() < MAX_SUMMED_KEYS;
        match summed.iter_mut().find(|(k, _, _)| *k == bytes) {
            Some((_, _, sum)) => *sum += zk,
            None if room => summed.push((bytes, key.point, zk)),
            None => unsummed.push((key.point, zk)),
        }
    }
    scalars[0] = -b_coefficient;
    for (_, point, sum) in summed {
        scalars.push(sum);
        points.push(point);
    }
    for (point, zk) in unsummed {
        scalars.push(zk);
        points.push(point);
    }
    EdwardsPoint::vartime_multiscalar_mul(&scalars, &points)
        .mul_by_cofactor()
        .is_identity()
}
