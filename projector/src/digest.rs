//! The model digest: SHA-256 over the canonical encoding of the read models.

use std::collections::BTreeMap;

use ledger::calendar::Timestamp;
use ledger::ids::{EventId, MemberId};
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::model::{MemberRow, Model, RejectedRow};

/// The parts of a [`Model`] that describe the ledger: everything except where
/// the projector is (`position`) and how many duplicate copies it skipped, so a
/// projector that was handed the same events twice agrees with one that was not.
#[derive(Serialize)]
struct Canonical<'a, N, O, C, D, R, X> {
    origin: &'a Option<String>,
    members: &'a BTreeMap<MemberId, MemberRow>,
    needs: N,
    offers: O,
    commitments: C,
    deliveries: D,
    receipts: R,
    changes: X,
    heads: &'a BTreeMap<MemberId, (u64, EventId)>,
    rejected: &'a [RejectedRow],
    accepted: u64,
    latest: Timestamp,
}

/// SHA-256 of the bincode (standard config) encoding of the model's ledger
/// content (see `Canonical`). Every map is ordered, so two projectors that
/// folded the same events agree.
pub fn digest(model: &Model) -> [u8; 32] {
    digest_with_tables(
        model,
        &model.needs,
        &model.offers,
        &model.commitments,
        &model.deliveries,
        &model.receipts,
        &model.changes,
    )
    .expect("models always encode")
}

/// [`digest`] of `model` with its five item tables and its changes given
/// separately, as anything that serializes as those maps and that list do
/// (the projector store streams them from disk). Fails only if a part fails
/// to serialize.
pub fn digest_with_tables(
    model: &Model,
    needs: impl Serialize,
    offers: impl Serialize,
    commitments: impl Serialize,
    deliveries: impl Serialize,
    receipts: impl Serialize,
    changes: impl Serialize,
) -> Result<[u8; 32], String> {
    let canonical = Canonical {
        origin: &model.origin,
        members: &model.members,
        needs,
        offers,
        commitments,
        deliveries,
        receipts,
        changes,
        heads: &model.heads,
        rejected: &model.rejected,
        accepted: model.accepted,
        latest: model.latest,
    };
    // Streamed into the hash: a large model is never encoded into one buffer.
    let mut sink = std::io::BufWriter::with_capacity(1 << 16, HashWriter(Sha256::new()));
    bincode::serde::encode_into_std_write(&canonical, &mut sink, bincode::config::standard())
        .map_err(|e| e.to_string())?;
    let HashWriter(hasher) = sink.into_inner().ok().expect("hashing cannot fail");
    Ok(hasher.finalize().into())
}

/// Feeds written bytes to SHA-256.
struct HashWriter(Sha256);

impl std::io::Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The digest as lower-case hex.
pub fn digest_hex(model: &Model) -> String {
    hex::encode(digest(model))
}
