//! Signed events: the signed message, the signature, the event id.
//!
//! - signature = Ed25519 over `b"tallinn-ledger/event/v1\n" || envelope`;
//! - leaf data = `envelope || signature` (the bytes stored and published);
//! - event id  = `SHA-256(0x00 || envelope || signature)`, the RFC 6962 leaf hash.

use sha2::{Digest as _, Sha256};

use crate::codec::{self, CodecError, MAX_ENVELOPE_BYTES};
use crate::envelope::Envelope;
use crate::ids::{Digest, EventId};
use crate::keys::{KeyError, PublicKey, Signer};

/// Domain separation prefix of the signed message.
pub const SIGNING_CONTEXT: &[u8] = b"tallinn-ledger/event/v1\n";
/// Length of an Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;
/// Largest leaf (envelope + signature) accepted.
pub const MAX_EVENT_BYTES: usize = MAX_ENVELOPE_BYTES + SIGNATURE_LEN;

/// The bytes that are signed for an envelope encoding. Signing and verifying both use it.
pub fn signed_message(envelope_bytes: &[u8]) -> Vec<u8> {
    let mut msg = Vec::with_capacity(SIGNING_CONTEXT.len() + envelope_bytes.len());
    signed_message_into(&mut msg, envelope_bytes);
    msg
}

/// Appends the signed message of an envelope encoding to `out`: the one place
/// those bytes are built ([`signed_message`] and batch verification use it).
pub fn signed_message_into(out: &mut Vec<u8>, envelope_bytes: &[u8]) {
    out.extend_from_slice(SIGNING_CONTEXT);
    out.extend_from_slice(envelope_bytes);
}

/// The RFC 6962 leaf hash `SHA-256(0x00 || leaf)`; for an event, its id.
pub fn leaf_hash(leaf: &[u8]) -> Digest {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(leaf);
    Digest(h.finalize().into())
}

/// Why a signature does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The key is invalid or weak.
    #[error("{0}")]
    Key(#[from] KeyError),
    /// The signature does not verify (ZIP 215) under the key.
    #[error("signature does not verify under the producer's key")]
    Invalid,
}

/// A decoded, signed event. Its bytes are exactly what was signed and hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    envelope: Envelope,
    /// `signed_message(envelope) || signature`: the signed message and the leaf
    /// are both slices of it, so verifying copies nothing.
    buf: Vec<u8>,
    id: EventId,
}

/// `signed_message(envelope_bytes) || signature`.
fn event_buffer(envelope_bytes: &[u8], signature: &[u8]) -> Vec<u8> {
    let mut buf = signed_message(envelope_bytes);
    buf.extend_from_slice(signature);
    buf
}

impl Event {
    /// Encodes and signs an envelope.
    pub fn sign(envelope: Envelope, signer: &Signer) -> Result<Event, CodecError> {
        let env = codec::encode(&envelope)?;
        let sig = signer.sign_raw(&signed_message(&env));
        let buf = event_buffer(&env, &sig);
        let id = leaf_hash(&buf[SIGNING_CONTEXT.len()..]);
        Ok(Event { envelope, buf, id })
    }

    /// Builds an event from an envelope and a signature made elsewhere (nothing is verified).
    pub fn from_signature(envelope: Envelope, signature: [u8; 64]) -> Result<Event, CodecError> {
        let env = codec::encode(&envelope)?;
        let buf = event_buffer(&env, &signature);
        let id = leaf_hash(&buf[SIGNING_CONTEXT.len()..]);
        Ok(Event { envelope, buf, id })
    }

    /// Decodes untrusted leaf bytes (`envelope || signature`). The signature is not checked here.
    pub fn from_bytes(leaf: &[u8]) -> Result<Event, CodecError> {
        if leaf.len() > MAX_EVENT_BYTES {
            return Err(CodecError::TooLarge {
                len: leaf.len(),
                limit: MAX_EVENT_BYTES,
            });
        }
        if leaf.len() < SIGNATURE_LEN + 1 {
            return Err(CodecError::TooShort { len: leaf.len() });
        }
        let (env, sig) = leaf.split_at(leaf.len() - SIGNATURE_LEN);
        let envelope = codec::decode(env)?;
        Ok(Event {
            envelope,
            buf: event_buffer(env, sig),
            id: leaf_hash(leaf),
        })
    }

    /// The envelope.
    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }
    /// The event id (leaf hash).
    pub fn id(&self) -> EventId {
        self.id
    }
    /// The leaf bytes: `envelope || signature`.
    pub fn bytes(&self) -> &[u8] {
        &self.buf[SIGNING_CONTEXT.len()..]
    }
    /// The envelope encoding.
    pub fn envelope_bytes(&self) -> &[u8] {
        &self.buf[SIGNING_CONTEXT.len()..self.buf.len() - SIGNATURE_LEN]
    }
    /// The signed message, `signed_message(envelope_bytes())`, without a copy.
    pub fn signed_bytes(&self) -> &[u8] {
        &self.buf[..self.buf.len() - SIGNATURE_LEN]
    }
    /// The signature.
    pub fn signature(&self) -> [u8; 64] {
        self.buf[self.buf.len() - SIGNATURE_LEN..]
            .try_into()
            .expect("64 bytes")
    }

    /// Verifies the signature under `key` by the ledger's rule, ZIP 215
    /// ([`crate::signature`]; the key itself was checked when registered).
    pub fn verify(&self, key: &PublicKey) -> Result<(), SignatureError> {
        if crate::signature::decode_point(&key.0).is_none() {
            return Err(SignatureError::Key(KeyError::BadPoint));
        }
        if crate::signature::verify(&key.0, self.signed_bytes(), &self.signature()) {
            Ok(())
        } else {
            Err(SignatureError::Invalid)
        }
    }
}
