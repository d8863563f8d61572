//! The one place bincode appears: the signed encoding of envelopes, and the
//! messages of a node's local socket ([`encode_message`], [`decode_message`]).
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
    /// Fewer bytes than an envelope and a signature can be.
    #[error("{len} bytes is too short for an event")]
    TooShort {
        /// Bytes given.
        len: usize,
    },
}

impl CodecError {
    /// The reason as the read model records it (and hashes, schemas/RULES.md
    /// §3.1): the display text, except that a decoding failure is only
    /// `malformed encoding`, without the decoder's own words, which a second
    /// implementation could not reproduce.
    pub fn summary(&self) -> String {
        match self {
            CodecError::Malformed(_) => "malformed encoding".into(),
            other => other.to_string(),
        }
    }
}

fn config() -> bincode::config::Configuration<
    bincode::config::LittleEndian,
    bincode::config::Varint,
    bincode::config::Limit<MAX_ENVELOPE_BYTES>,
> {
    bincode::config::standard().with_limit::<MAX_ENVELOPE_BYTES>()
}

/// `len` bytes, if within `limit`.
fn within(len: usize, limit: usize) -> Result<(), CodecError> {
    if len > limit {
        return Err(CodecError::TooLarge { len, limit });
    }
    Ok(())
}

/// Encodes in the standard configuration, within `limit` bytes.
fn encode_within<T: Serialize>(value: &T, limit: usize) -> Result<Vec<u8>, CodecError> {
    let bytes = bincode::serde::encode_to_vec(value, bincode::config::standard())
        .map_err(|e| CodecError::Malformed(e.to_string()))?;
    within(bytes.len(), limit)?;
    Ok(bytes)
}

/// Encodes a value (bincode 2 standard configuration).
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, CodecError> {
    encode_within(value, MAX_ENVELOPE_BYTES)
}

/// Decodes exactly `bytes` into a value: bounded, no trailing bytes, canonical.
pub fn decode<T: Serialize + DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    within(bytes.len(), MAX_ENVELOPE_BYTES)?;
    let (value, used): (T, usize) = bincode::serde::decode_from_slice(bytes, config())
        .map_err(|e| CodecError::Malformed(e.to_string()))?;
    if used != bytes.len() {
        return Err(CodecError::TrailingBytes(bytes.len() - used));
    }
    if !encodes_to(&value, bytes) {
        return Err(CodecError::NonCanonical);
    }
    Ok(value)
}

/// Largest message of a node's local socket, in bytes (a batch of entries).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// Encodes a message of the node's local socket (bincode 2 standard
/// configuration, like envelopes; not signed, so not required canonical).
pub fn encode_message<T: Serialize>(value: &T) -> Result<Vec<u8>, CodecError> {
    encode_within(value, MAX_MESSAGE_BYTES)
}

/// Decodes exactly `bytes` into a message: bounded by [`MAX_MESSAGE_BYTES`]
/// (no allocation beyond it, whatever lengths the bytes claim), no trailing bytes.
pub fn decode_message<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    within(bytes.len(), MAX_MESSAGE_BYTES)?;
    let config = bincode::config::standard().with_limit::<MAX_MESSAGE_BYTES>();
    let (value, used): (T, usize) = bincode::serde::decode_from_slice(bytes, config)
        .map_err(|e| CodecError::Malformed(e.to_string()))?;
    if used != bytes.len() {
        return Err(CodecError::TrailingBytes(bytes.len() - used));
    }
    Ok(value)
}

/// Whether `value` encodes to exactly `bytes`: re-encodes while comparing, so
/// the canonical check of [`decode`] allocates nothing.
fn encodes_to<T: Serialize>(value: &T, bytes: &[u8]) -> bool {
    /// A bincode writer that compares what is written with the expected bytes.
    struct Compare<'a>(&'a [u8]);
    impl bincode::enc::write::Writer for Compare<'_> {
        fn write(&mut self, written: &[u8]) -> Result<(), bincode::error::EncodeError> {
            match self.0.strip_prefix(written) {
                Some(rest) => {
                    self.0 = rest;
                    Ok(())
                }
                None => Err(bincode::error::EncodeError::Other("differs")),
            }
        }
    }
    let mut rest = Compare(bytes);
    bincode::serde::encode_into_writer(value, &mut rest, bincode::config::standard()).is_ok()
        && rest.0.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparing_encoder_matches_exact_bytes_only() {
        let bytes = encode(&("DE-AA", 300u64)).unwrap();
        assert!(encodes_to(&("DE-AA", 300u64), &bytes));
        assert!(!encodes_to(&("DE-AA", 301u64), &bytes));
        assert!(!encodes_to(&("DE-AA", 300u64), &bytes[..bytes.len() - 1]));
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(!encodes_to(&("DE-AA", 300u64), &longer));
    }

    #[test]
    fn non_minimal_varint_is_non_canonical() {
        // 5 written with the u16 marker: decodes to 5, but 5 encodes as one byte.
        assert_eq!(decode::<u64>(&[251, 5, 0]), Err(CodecError::NonCanonical));
        assert_eq!(decode::<u64>(&[5]), Ok(5));
    }
}
