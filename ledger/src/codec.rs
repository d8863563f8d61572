//! The one place bincode appears: the signed encoding of envelopes.
//!
//! Encoding is bincode 2.0.1 `config::standard()` (little-endian, varint integers).
//! Decoding untrusted bytes is bounded by [`MAX_ENVELOPE_BYTES`], rejects trailing
//! bytes, and rejects non-canonical encodings (bytes that decode but would not be
//! produced by re-encoding the value), so one envelope has exactly one encoding.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Largest envelope accepted, in bytes.
pub const MAX_ENVELOPE_BYTES: usize = 64 * 1024;

/// Why bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// Larger than the limit.
    #[error("{len} bytes is more than the {limit}-byte limit")]
    TooLarge {
        /// Bytes given.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// Not a valid encoding (truncated, bad tag, bad value...).
    #[error("malformed encoding: {0}")]
    Malformed(String),
    /// A valid value followed by extra bytes.
    #[error("{0} trailing bytes after the encoded value")]
    TrailingBytes(usize),
    /// Decodes, but is not the canonical encoding of its value.
    #[error("non-canonical encoding")]
    NonCanonical,
}

fn config() -> bincode::config::Configuration<
    bincode::config::LittleEndian,
    bincode::config::Varint,
    bincode::config::Limit<MAX_ENVELOPE_BYTES>,
> {
    bincode::config::standard().with_limit::<MAX_ENVELOPE_BYTES>()
}

/// Encodes a value (bincode 2 standard configuration).
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, CodecError> {
    let bytes = bincode::serde::encode_to_vec(value, bincode::config::standard())
        .map_err(|e| CodecError::Malformed(e.to_string()))?;
    if bytes.len() > MAX_ENVELOPE_BYTES {
        return Err(CodecError::TooLarge {
            len: bytes.len(),
            limit: MAX_ENVELOPE_BYTES,
        });
    }
    Ok(bytes)
}

/// Decodes exactly `bytes` into a value: bounded, no trailing bytes, canonical.
pub fn decode<T: Serialize + DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    if bytes.len() > MAX_ENVELOPE_BYTES {
        return Err(CodecError::TooLarge {
            len: bytes.len(),
            limit: MAX_ENVELOPE_BYTES,
        });
    }
    let (value, used): (T, usize) = bincode::serde::decode_from_slice(bytes, config())
        .map_err(|e| CodecError::Malformed(e.to_string()))?;
    if used != bytes.len() {
        return Err(CodecError::TrailingBytes(bytes.len() - used));
    }
    if encode(&value)? != bytes {
        return Err(CodecError::NonCanonical);
    }
    Ok(value)
}
