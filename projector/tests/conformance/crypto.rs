//! Crafted keys and signatures for the attack vectors (RULES.md §7.1): the
//! curve arithmetic of `ed25519-dalek` and `ledger::signature`, nothing else.

use ed25519_dalek::SigningKey;
use ledger::envelope::Envelope;
use ledger::event::{signed_message, Event};
use ledger::keys::PublicKey;
use ledger::signature::{challenge, decode_point};

use crate::scenarios::kit::seed;

/// A point of order 8 (RFC 8032's small-order list; `torsion_key` checks it).
pub const ORDER_8: [u8; 32] = [
    0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0,
    0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05,
];

/// ℓ, the order of the prime subgroup, little-endian.
const ELL: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// The identity point encoded with `y = p + 1` (canonically `y = 1`).
pub const IDENTITY_NON_CANONICAL: [u8; 32] = {
    let mut b = [0xff; 32];
    b[0] = 0xee;
    b[31] = 0x7f;
    b
};

/// The identity point (a key of small order).
pub const IDENTITY: [u8; 32] = {
    let mut b = [0; 32];
    b[0] = 1;
    b
};

fn dalek(name: &str, generation: u32) -> SigningKey {
    SigningKey::from_bytes(&seed(name, generation))
}

fn join(r: [u8; 32], s: [u8; 32]) -> [u8; 64] {
    let mut sig = [0; 64];
    sig[..32].copy_from_slice(&r);
    sig[32..].copy_from_slice(&s);
    sig
}

fn message(env: &Envelope) -> Vec<u8> {
    signed_message(&ledger::codec::encode(env).expect("encodes"))
}

/// `env` signed with `who`'s key number `generation`, its `R` carrying a
/// component of order 8: `R = [r]B + T`, `s = r + k·a`. Valid by ZIP 215
/// (the cofactor removes `T`); `verify_strict` refuses it.
pub fn torsion_r(env: Envelope, who: &str, generation: u32) -> Event {
    let key = dalek(who, generation);
    let nonce = dalek(&format!("{who}-NONCE"), generation);
    let t = decode_point(&ORDER_8).expect("on the curve");
    let r_bytes = (nonce.verifying_key().to_edwards() + t)
        .compress()
        .to_bytes();
    let msg = message(&env);
    let k = challenge(&r_bytes, key.verifying_key().as_bytes(), &msg);
    let s = nonce.to_scalar() + k * key.to_scalar();
    let sig = join(r_bytes, s.to_bytes());
    let strict = key
        .verifying_key()
        .verify_strict(&msg, &ed25519_dalek::Signature::from_bytes(&sig));
    assert!(strict.is_err(), "a cofactorless verifier refuses it");
    Event::from_signature(env, sig).expect("encodes")
}

/// `env` signed with `who`'s key number `generation` and an `R` of small
/// order given as `r_bytes` (`r = 0`: `s = k·a`). Valid by ZIP 215, however
/// `R` is encoded.
pub fn small_order_r(env: Envelope, who: &str, generation: u32, r_bytes: [u8; 32]) -> Event {
    let key = dalek(who, generation);
    let k = challenge(&r_bytes, key.verifying_key().as_bytes(), &message(&env));
    let s = k * key.to_scalar();
    Event::from_signature(env, join(r_bytes, s.to_bytes())).expect("encodes")
}

/// `ev` with `s + ℓ` in place of `s`: the same equation, but `s` is not
/// canonical, so the signature is invalid.
pub fn s_plus_ell(ev: &Event) -> Event {
    let sig = ev.signature();
    let mut s = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = sig[32 + i] as u16 + ELL[i] as u16 + carry;
        s[i] = sum as u8;
        carry = sum >> 8;
    }
    let r: [u8; 32] = sig[..32].try_into().expect("32 bytes");
    Event::from_signature(ev.envelope().clone(), join(r, s)).expect("encodes")
}

/// `env` signed under the identity as the key: `R = [r]B`, `s = r`
/// satisfies `[8][s]B = [8]R + [8][k]A` for every message.
pub fn under_identity_key(env: Envelope) -> Event {
    let nonce = dalek("IDENTITY-NONCE", 0);
    let sig = join(
        nonce.verifying_key().to_bytes(),
        nonce.to_scalar().to_bytes(),
    );
    let ev = Event::from_signature(env, sig).expect("encodes");
    assert!(ev.verify(&PublicKey(IDENTITY)).is_ok(), "valid by ZIP 215");
    ev
}

/// `who`'s key number `generation` plus a point of order 8: a valid curve
/// point with a torsion component, which registration refuses.
pub fn torsion_key(who: &str, generation: u32) -> PublicKey {
    let a = dalek(who, generation).verifying_key().to_edwards();
    let t = decode_point(&ORDER_8).expect("on the curve");
    let key = PublicKey((a + t).compress().to_bytes());
    assert_eq!(
        key.check().map_err(|e| e.to_string()),
        Err("not an acceptable Ed25519 public key: a torsion component".into())
    );
    key
}

/// The first curve point whose encoding `y < 19` has a non-canonical twin
/// `y + p`, written as the twin: registration refuses the encoding.
pub fn non_canonical_key() -> PublicKey {
    let key = (2u8..19)
        .find_map(|y| {
            let mut b = [0; 32];
            b[0] = y;
            let p = decode_point(&b)?;
            (!p.is_small_order()).then_some(())?;
            // y + p = y + 2^255 - 19, little-endian (y < 19: no carry into byte 1).
            let mut twin = [0xff; 32];
            twin[0] = 0xed + y;
            twin[31] = 0x7f;
            Some(PublicKey(twin))
        })
        .expect("some y < 19 is on the curve");
    assert_eq!(
        key.check().map_err(|e| e.to_string()),
        Err("not an acceptable Ed25519 public key: non-canonical encoding".into())
    );
    key
}

/// The first 32-byte string `[y, 0, ..., 0]` that is no curve point.
pub fn off_curve_key() -> PublicKey {
    (2u8..=255)
        .map(|y| {
            let mut b = [0; 32];
            b[0] = y;
            b
        })
        .find(|b| decode_point(b).is_none())
        .map(PublicKey)
        .expect("not every y is on the curve")
}
