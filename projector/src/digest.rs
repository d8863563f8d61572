//! The model digest: SHA-256 over the canonical encoding of the whole read model.

use sha2::{Digest as _, Sha256};

use crate::model::Model;

/// SHA-256 of the bincode (standard config) encoding of the model. Every map in
/// the model is ordered, so two projectors that folded the same events agree.
pub fn digest(model: &Model) -> [u8; 32] {
    let bytes = bincode::serde::encode_to_vec(model, bincode::config::standard())
        .expect("models always encode");
    Sha256::digest(&bytes).into()
}

/// The digest as lower-case hex.
pub fn digest_hex(model: &Model) -> String {
    digest(model).iter().map(|b| format!("{b:02x}")).collect()
}
