//! Offline inclusion proofs in the C2SP `tlog-proof` form:
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! extra <base64 of the event's leaf bytes: envelope || signature>
//! index <leaf index>
//! <inclusion proof hash, base64, one per line>
//!
//! <signed checkpoint note, with cosignatures>
//! ```
//!
//! Checking one needs only the log key (and witness keys): the leaf hash is
//! `SHA-256(0x00 || extra)`, the checkpoint is verified under the [`Policy`],
//! then the inclusion proof against its root.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use crate::checkpoint::{CheckpointError, Policy, VerifiedCheckpoint};
use crate::event::{leaf_hash, MAX_EVENT_BYTES};
use crate::ids::Digest;
use crate::merkle::{parse_hash, verify_inclusion, ProofError, MAX_PROOF_LEN};

/// The first line of a proof.
pub const HEADER: &str = "c2sp.org/tlog-proof@v1";
/// Largest proof text read.
pub const MAX_PROOF_BYTES: usize = 256 * 1024;

/// Why a proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlogProofError {
    /// The text is not a well-formed proof.
    #[error("malformed tlog-proof: {0}")]
    Malformed(String),
    /// The checkpoint does not verify under the policy.
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// The inclusion proof does not verify.
    #[error("inclusion: {0}")]
    Inclusion(#[from] ProofError),
}

/// An inclusion proof of one event against a signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlogProof {
    /// The event's leaf bytes (`envelope || signature`).
    pub extra: Vec<u8>,
    /// The leaf index (position - 1).
    pub index: u64,
    /// The inclusion proof, bottom up.
    pub proof: Vec<Digest>,
    /// The signed checkpoint note, as text.
    pub note: String,
}

/// What a valid proof shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Included {
    /// The event id (leaf hash).
    pub id: Digest,
    /// The leaf index.
    pub index: u64,
    /// The checkpoint it is included in.
    pub checkpoint: VerifiedCheckpoint,
}

impl TlogProof {
    /// The proof as text.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "{HEADER}\nextra {}\nindex {}\n",
            B64.encode(&self.extra),
            self.index
        );
        for h in &self.proof {
            out.push_str(&B64.encode(h.0));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.note);
        out
    }

    /// Parses untrusted proof text.
    pub fn parse(text: &str) -> Result<TlogProof, TlogProofError> {
        let bad = |m: &str| TlogProofError::Malformed(m.into());
        if text.len() > MAX_PROOF_BYTES {
            return Err(bad("longer than 256 KiB"));
        }
        let (head, note) = text
            .split_once("\n\n")
            .ok_or_else(|| bad("no blank line before the checkpoint"))?;
        let mut lines = head.split('\n');
        if lines.next() != Some(HEADER) {
            return Err(bad("first line is not c2sp.org/tlog-proof@v1"));
        }
        let mut line = lines.next().ok_or_else(|| bad("no index line"))?;
        let mut extra = Vec::new();
        if let Some(b64) = line.strip_prefix("extra ") {
            if b64.len() > MAX_EVENT_BYTES.div_ceil(3) * 4 {
                return Err(bad("extra is too long"));
            }
            extra = B64.decode(b64).map_err(|_| bad("extra is not base64"))?;
            line = lines.next().ok_or_else(|| bad("no index line"))?;
        }
        let index = line
            .strip_prefix("index ")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| bad("expected `index <n>`"))?;
        let mut proof = Vec::new();
        for l in lines {
            if proof.len() == MAX_PROOF_LEN {
                return Err(bad("more than 64 proof hashes"));
            }
            let raw = B64.decode(l).map_err(|_| bad("proof hash is not base64"))?;
            proof.push(parse_hash(&raw)?);
        }
        Ok(TlogProof {
            extra,
            index,
            proof,
            note: note.into(),
        })
    }

    /// Verifies: the checkpoint under `policy`, then the inclusion of
    /// `SHA-256(0x00 || extra)` at `index` in its tree.
    pub fn verify(&self, policy: &Policy) -> Result<Included, TlogProofError> {
        let checkpoint = policy.verify(self.note.as_bytes())?;
        let id = leaf_hash(&self.extra);
        let cp = &checkpoint.checkpoint;
        verify_inclusion(&id, self.index, cp.size, &self.proof, &cp.root)?;
        Ok(Included {
            id,
            index: self.index,
            checkpoint,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::{Checkpoint, Verifier};
    use crate::keys::Signer;
    use crate::merkle::FullTree;

    #[test]
    fn prove_and_check_round_trip_and_tampering() {
        let log = Signer::from_seed("example.com/log", [3; 32]).unwrap();
        let leaves: Vec<Vec<u8>> = (0..7u8).map(|i| vec![i; 80]).collect();
        let tree = FullTree::from_leaves(leaves.iter().map(|l| leaf_hash(l)));
        let note = Checkpoint::new("example.com/log", 7, tree.root())
            .unwrap()
            .sign(&log)
            .unwrap()
            .to_text();
        let proof = TlogProof {
            extra: leaves[4].clone(),
            index: 4,
            proof: tree.inclusion_proof(4, 7).unwrap(),
            note,
        };
        let text = proof.to_text();
        assert!(text.starts_with("c2sp.org/tlog-proof@v1\nextra "));
        let parsed = TlogProof::parse(&text).unwrap();
        assert_eq!(parsed, proof);
        let policy = Policy {
            log: Verifier::new(log.name(), log.public_key()).unwrap(),
            witnesses: vec![],
            threshold: 0,
        };
        let ok = parsed.verify(&policy).unwrap();
        assert_eq!(ok.id, leaf_hash(&leaves[4]));
        let mut wrong = parsed.clone();
        wrong.extra[0] ^= 1;
        assert!(matches!(
            wrong.verify(&policy),
            Err(TlogProofError::Inclusion(ProofError::RootMismatch { .. }))
        ));
        let mut moved = parsed.clone();
        moved.index = 5;
        assert!(moved.verify(&policy).is_err());
        let other = Signer::from_seed("example.com/log", [4; 32]).unwrap();
        let strict = Policy {
            log: Verifier::new(other.name(), other.public_key()).unwrap(),
            ..policy
        };
        assert!(matches!(
            parsed.verify(&strict),
            Err(TlogProofError::Checkpoint(_))
        ));
        assert!(TlogProof::parse("nonsense").is_err());
    }
}
