//! What a witness decides before it cosigns, and the portable evidence it keeps
//! when it refuses. Pure over values: the shells fetch notes and proofs.
//!
//! A witness remembers the last checkpoint it cosigned. It cosigns a new one only
//! if it has the same origin, is not smaller, and a consistency proof shows the
//! old tree is a prefix of the new one (from size 0 the proof is empty, as in
//! C2SP tlog-witness). Otherwise the log has shown two views of its history:
//! the witness refuses and keeps both signed notes and the proof as [`Evidence`].

use serde::{Deserialize, Serialize};

use crate::checkpoint::{Checkpoint, CheckpointError, Policy};
use crate::ids::Digest;
use crate::merkle::{verify_consistency, ProofError};

/// Why a witness refuses to cosign.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WitnessError {
    /// The new checkpoint names another log.
    #[error("checkpoint origin {found:?} is not {expected:?}")]
    OriginMismatch {
        /// The origin of the checkpoint cosigned before.
        expected: String,
        /// The new checkpoint's.
        found: String,
    },
    /// The new checkpoint is smaller than the one cosigned before.
    #[error("checkpoint of size {new} is older than the size {old} already cosigned")]
    Rollback {
        /// The size cosigned before.
        old: u64,
        /// The new size.
        new: u64,
    },
    /// The consistency proof does not show the old tree is a prefix of the new.
    #[error("inconsistent checkpoints: size {old} and size {new} do not share history ({source})")]
    Inconsistent {
        /// The size cosigned before.
        old: u64,
        /// The new size.
        new: u64,
        /// Why the proof failed.
        source: ProofError,
    },
}

impl WitnessError {
    /// Whether this refusal means the log presented two inconsistent views.
    pub fn is_inconsistency(&self) -> bool {
        matches!(self, WitnessError::Inconsistent { .. })
    }
}

/// Checks that `new` may be cosigned by a witness that last cosigned `old`,
/// given the log's consistency `proof` from `old.size` to `new.size`.
pub fn check_advance(
    old: Option<&Checkpoint>,
    new: &Checkpoint,
    proof: &[Digest],
) -> Result<(), WitnessError> {
    let Some(old) = old else {
        return Ok(());
    };
    if old.origin != new.origin {
        return Err(WitnessError::OriginMismatch {
            expected: old.origin.clone(),
            found: new.origin.clone(),
        });
    }
    if new.size < old.size {
        return Err(WitnessError::Rollback {
            old: old.size,
            new: new.size,
        });
    }
    verify_consistency(old.size, new.size, proof, &old.root, &new.root).map_err(|source| {
        WitnessError::Inconsistent {
            old: old.size,
            new: new.size,
            source,
        }
    })
}

/// Two signed checkpoints of one log that a witness found inconsistent, with the
/// proof the log offered. Serialized as JSON, it is the portable form printed by
/// `tallinn audit equivocation`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// Always `inconsistent_checkpoints`.
    pub kind: String,
    /// The log's verifier key (vkey) both notes must be signed by.
    pub log_key: String,
    /// The earlier signed checkpoint note, as text.
    pub old_note: String,
    /// The later signed checkpoint note, as text.
    pub new_note: String,
    /// The consistency proof offered, hex hashes.
    pub proof: Vec<Digest>,
    /// Why it failed, in words.
    pub reason: String,
}

/// The kind string of [`Evidence`].
pub const EVIDENCE_KIND: &str = "inconsistent_checkpoints";

/// What checking [`Evidence`] established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EvidenceVerdict {
    /// Both notes are signed by the log key and have the same size and
    /// different roots: the log signed two histories. Conclusive on its own.
    SameSizeFork {
        /// The tree size.
        size: u64,
    },
    /// Both notes are signed by the log key and the offered proof does not
    /// connect them. This shows the log failed to prove consistency; it is
    /// conclusive only together with the leaves (e.g. an audit bundle).
    ProofFails {
        /// Why the proof failed.
        reason: String,
    },
}

/// Why [`Evidence`] does not show an inconsistency.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceError {
    /// The kind is not [`EVIDENCE_KIND`].
    #[error("evidence kind {0:?} is not {EVIDENCE_KIND:?}")]
    Kind(String),
    /// A note or key was refused.
    #[error("{which}: {source}")]
    Note {
        /// `old_note`, `new_note` or `log_key`.
        which: &'static str,
        /// Why.
        source: CheckpointError,
    },
    /// The notes are consistent after all.
    #[error("the two checkpoints are consistent: not evidence of a fork")]
    Consistent,
}

/// Checks evidence: both notes signed by `log_key`, and either a same-size fork
/// or a proof that fails.
pub fn verify_evidence(ev: &Evidence) -> Result<EvidenceVerdict, EvidenceError> {
    if ev.kind != EVIDENCE_KIND {
        return Err(EvidenceError::Kind(ev.kind.clone()));
    }
    let log = crate::checkpoint::Verifier::from_vkey(&ev.log_key).map_err(|source| {
        EvidenceError::Note {
            which: "log_key",
            source,
        }
    })?;
    let policy = Policy {
        log,
        witnesses: Vec::new(),
        threshold: 0,
    };
    let open = |which, note: &str| {
        policy
            .verify(note.as_bytes())
            .map(|v| v.checkpoint)
            .map_err(|source| EvidenceError::Note { which, source })
    };
    let old = open("old_note", &ev.old_note)?;
    let new = open("new_note", &ev.new_note)?;
    if old.size == new.size && old.root != new.root && old.origin == new.origin {
        return Ok(EvidenceVerdict::SameSizeFork { size: old.size });
    }
    match check_advance(Some(&old), &new, &ev.proof) {
        Ok(()) => Err(EvidenceError::Consistent),
        Err(e) => Ok(EvidenceVerdict::ProofFails {
            reason: e.to_string(),
        }),
    }
}

/// Two validly signed events by one member with the same `seq`: a portable
/// proof of a fork in that member's chain. Anyone holding the member's
/// verifier key can check it ([`verify_fork`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberFork {
    /// Always `member_fork`.
    pub kind: String,
    /// The member's verifier key (vkey) both events verify under.
    pub vkey: String,
    /// The two events' leaf bytes (`envelope || signature`), hex.
    pub events: [String; 2],
}

/// The kind string of [`MemberFork`].
pub const FORK_KIND: &str = "member_fork";

/// What a checked [`MemberFork`] shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fork {
    /// The member.
    pub member: String,
    /// The `seq` signed twice.
    pub seq: u64,
    /// The two event ids.
    pub ids: [Digest; 2],
}

/// Checks a fork proof: both events decode, have the same producer and `seq`,
/// differ, and verify (strictly) under `vkey`, whose name is the producer.
pub fn verify_fork(fork: &MemberFork) -> Result<Fork, String> {
    if fork.kind != FORK_KIND {
        return Err(format!("kind {:?} is not {FORK_KIND:?}", fork.kind));
    }
    let (name, key) = crate::keys::parse_vkey(&fork.vkey).map_err(|e| format!("vkey: {e}"))?;
    let mut events = Vec::new();
    for (i, hex_leaf) in fork.events.iter().enumerate() {
        let bytes = hex::decode(hex_leaf).map_err(|_| format!("events[{i}]: not hex"))?;
        let ev =
            crate::event::Event::from_bytes(&bytes).map_err(|e| format!("events[{i}]: {e}"))?;
        ev.verify(&key).map_err(|e| format!("events[{i}]: {e}"))?;
        if ev.envelope().producer.as_str() != name {
            return Err(format!(
                "events[{i}] is produced by {}, not {name}",
                ev.envelope().producer
            ));
        }
        events.push(ev);
    }
    let (a, b) = (&events[0], &events[1]);
    if a.envelope().seq != b.envelope().seq {
        return Err("the two events have different seq: no fork".into());
    }
    if a.id() == b.id() {
        return Err("the two events are the same event: no fork".into());
    }
    Ok(Fork {
        member: name,
        seq: a.envelope().seq,
        ids: [a.id(), b.id()],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Signer;
    use crate::merkle::{consistency_proof, root_of};

    fn leaves(n: u64) -> Vec<Digest> {
        (0..n)
            .map(|i| crate::event::leaf_hash(&i.to_be_bytes()))
            .collect()
    }

    fn cp(leaves: &[Digest]) -> Checkpoint {
        Checkpoint::new("example.com/log", leaves.len() as u64, root_of(leaves)).unwrap()
    }

    #[test]
    fn advance_rules() {
        let l = leaves(9);
        let (c5, c9) = (cp(&l[..5]), cp(&l));
        let proof = consistency_proof(&l, 5, 9).unwrap();
        assert_eq!(check_advance(None, &c5, &[]), Ok(()));
        assert_eq!(check_advance(Some(&c5), &c9, &proof), Ok(()));
        assert_eq!(check_advance(Some(&c5), &c5, &[]), Ok(()));
        assert_eq!(
            check_advance(Some(&c9), &c5, &proof),
            Err(WitnessError::Rollback { old: 9, new: 5 })
        );
        // A rewritten history: the new tree does not extend the old one.
        let mut other = l.clone();
        other[2] = crate::event::leaf_hash(b"rewritten");
        let forged = cp(&other);
        let fproof = consistency_proof(&other, 5, 9).unwrap();
        let err = check_advance(Some(&c5), &forged, &fproof).unwrap_err();
        assert!(err.is_inconsistency(), "{err}");
        let mut elsewhere = c9.clone();
        elsewhere.origin = "example.com/other".into();
        assert!(matches!(
            check_advance(Some(&c5), &elsewhere, &proof),
            Err(WitnessError::OriginMismatch { .. })
        ));
    }

    #[test]
    fn evidence_of_a_same_size_fork_verifies() {
        let log = Signer::from_seed("example.com/log", [7; 32]).unwrap();
        let l = leaves(6);
        let mut other = l.clone();
        other[5] = crate::event::leaf_hash(b"other");
        let a = cp(&l).sign(&log).unwrap().to_text();
        let b = cp(&other).sign(&log).unwrap().to_text();
        let ev = Evidence {
            kind: EVIDENCE_KIND.into(),
            log_key: log.vkey(),
            old_note: a.clone(),
            new_note: b,
            proof: vec![],
            reason: String::new(),
        };
        assert_eq!(
            verify_evidence(&ev),
            Ok(EvidenceVerdict::SameSizeFork { size: 6 })
        );
        // The same note twice is no evidence.
        let same = Evidence {
            new_note: a,
            ..ev.clone()
        };
        assert_eq!(verify_evidence(&same), Err(EvidenceError::Consistent));
        // A note not signed by the log key is refused.
        let stranger = Signer::from_seed("example.com/log", [8; 32]).unwrap();
        let forged = Evidence {
            log_key: stranger.vkey(),
            ..ev
        };
        assert!(matches!(
            verify_evidence(&forged),
            Err(EvidenceError::Note {
                which: "old_note",
                ..
            })
        ));
    }
}
