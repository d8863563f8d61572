//! The end of an audit: the whole-log views, every checkpoint against the
//! roots of the events folded, coverage and the report.

use ledger::checkpoint::{verify_cosignatures, verify_note, CheckpointError, Witness};
use ledger::ids::Digest;

use super::stream::Auditor;
use super::{checkpoint_finding, keys_of, Finding, Report};
use crate::run::{Projector, RunError};
use crate::timebounds::{TimeBounds, Timed};

impl Auditor {
    /// The report, once every event was pushed into `p`.
    pub fn finish(mut self, p: &mut Projector) -> Result<Report, RunError> {
        self.step(p, None)?;
        let n = self.n;
        let mut problems = Vec::new();
        if n == 0 {
            problems.push(whole(
                "empty_log",
                "the log holds no events, not even a genesis".into(),
            ));
        }
        // The stated size: a bundle cut short after its last checkpoint shows here.
        if let Some(stated) = self.stated.size.filter(|&s| s != n) {
            problems.push(whole(
                "bundle_size",
                format!("the bundle states {stated} events but holds {n}: truncated or padded"),
            ));
        }
        problems.append(&mut self.head);
        problems.append(&mut self.problems);
        let origin = p.rules_state().origin.clone();
        let root = p.root();
        problems.extend(self.stated_views(root, origin.as_deref()));
        let (verified, cosignatures, covered) = self.checkpoints(p, &mut problems)?;
        let mut notes = std::mem::take(&mut self.notes);
        if covered < n {
            let (finding, problem) = self.not_covered(covered, n);
            if problem {
                problems.push(finding);
            } else {
                notes.push(finding);
            }
        }
        notes.extend(self.time_notes_within(n));
        problems.append(&mut self.subject_findings);
        // Events by position, then checkpoints by size, then the bundle as a whole.
        problems.sort_by_key(|f| match (f.position, f.checkpoint) {
            (Some(p), _) => (0, p),
            (None, Some(size)) => (1, size),
            (None, None) => (2, 0),
        });
        self.resolve_first_positions(p)?;
        let (sigs, links, accepted, by_rules) = self.counts();
        Ok(Report {
            origin,
            events: n,
            signatures_verified: sigs,
            chain_links: links,
            accepted,
            rejected_by_rules: by_rules,
            checkpoints: self.cps.len() as u64,
            checkpoints_verified: verified,
            cosignatures,
            covered,
            not_yet_covered: n - covered,
            root,
            digest: p.digest_hex()?,
            problems,
            refused: self.refused,
            notes,
            forks: self.forks,
        })
    }

    /// The bundle's stated root and origin against what the events give.
    fn stated_views(&self, root: Digest, origin: Option<&str>) -> Vec<Finding> {
        let mut out = Vec::new();
        if let Some(stated) = self.stated.root.filter(|r| *r != root) {
            out.push(whole(
                "root_mismatch",
                format!("the bundle states root {stated}, the events give {root}"),
            ));
        }
        if let Some(stated) = self.stated.origin.as_deref() {
            if Some(stated) != origin {
                out.push(whole(
                    "origin_mismatch",
                    format!(
                        "the bundle states origin {stated:?}, the genesis says {:?}",
                        origin.unwrap_or("")
                    ),
                ));
            }
        }
        out
    }

    /// Every checkpoint: origin, size, log signature, root, cosignatures,
    /// consistency with the one before, time order. Returns the checkpoints
    /// verified, the cosignatures counted and the size covered.
    fn checkpoints(
        &self,
        p: &Projector,
        problems: &mut Vec<Finding>,
    ) -> Result<(u64, u64, u64), RunError> {
        let n = self.n;
        let origin = p.rules_state().origin.clone();
        let latest = keys_of(p.rules_state());
        let (mut verified, mut cosignatures, mut covered) = (0u64, 0u64, 0u64);
        // The previous checkpoint's size and root, and the latest time.
        let mut prev: Option<(u64, Digest)> = None;
        let mut prev_time: Option<u64> = None;
        for (note, cp) in &self.cps {
            let before = problems.len();
            let size = cp.size;
            let mut bad = |code: &str, reason: String| {
                problems.push(checkpoint_finding(size, note, code, reason))
            };
            if origin.as_deref().is_some_and(|o| o != cp.origin) {
                bad(
                    "checkpoint_origin",
                    format!(
                        "origin {:?} is not the ledger's {:?}",
                        cp.origin,
                        origin.as_deref().unwrap_or("")
                    ),
                );
            }
            if size > n {
                bad(
                    "checkpoint_beyond_bundle",
                    format!("checkpoint of size {size}, but only {n} events are present: truncated or cut short"),
                );
                continue;
            }
            covered = covered.max(size);
            let derived = self.keys_at.get(&size).cloned().unwrap_or_default();
            let logs = self.trust.log_keys.as_ref().unwrap_or(&derived.logs);
            match verify_note(note, logs) {
                Ok(_) => {}
                Err(CheckpointError::NoKnownSignature) => {
                    let names: Vec<String> = note
                        .signatures
                        .iter()
                        .map(|s| format!("{}+{}", s.name, hex::encode(s.key_id)))
                        .collect();
                    bad(
                        "checkpoint_unknown_key",
                        format!(
                            "not signed by a log key (coordinator) of this ledger; signed by {}",
                            names.join(", ")
                        ),
                    );
                }
                Err(e) => bad("checkpoint_bad_signature", e.to_string()),
            }
            let root = p.root_at(size)?;
            if root != cp.root {
                bad(
                    "checkpoint_root_mismatch",
                    format!("states root {}, the events give {root}", cp.root),
                );
            }
            // A member may cosign with the key it held at the checkpoint's
            // size or with the key it holds at the end of the log (it rotated
            // since); one member counts once whichever key it used.
            let derived_witnesses: Vec<Witness> = derived
                .witnesses
                .iter()
                .chain(&latest.witnesses)
                .cloned()
                .collect();
            let witnesses = self.trust.witnesses.as_ref().unwrap_or(&derived_witnesses);
            match verify_cosignatures(note, witnesses) {
                Ok(cosigned) => {
                    let mut names: Vec<&str> =
                        cosigned.iter().map(|(w, _)| w.name.as_str()).collect();
                    names.sort();
                    names.dedup();
                    cosignatures += names.len() as u64;
                    if names.len() < self.trust.threshold {
                        bad(
                            "too_few_cosignatures",
                            format!(
                                "{} witness cosignatures, {} required",
                                names.len(),
                                self.trust.threshold
                            ),
                        );
                    }
                }
                Err(e) => bad("checkpoint_bad_cosignature", e.to_string()),
            }
            // Consistency with the previous checkpoint. Two roots of one size
            // must be equal. Of different sizes, two roots that are both the
            // events' roots at their sizes are roots of prefixes of one
            // sequence of leaves: consistent (a consistency proof built from
            // these events always verifies). When a root does not match the
            // events, that is already reported above.
            if let Some((p_size, p_root)) = prev {
                if p_size == size && p_root != cp.root {
                    bad(
                        "inconsistent_checkpoints",
                        format!(
                            "checkpoint of size {size} (root {}) is not consistent with the checkpoint of size {p_size} (root {p_root})",
                            cp.root
                        ),
                    );
                }
            }
            if let (Some(p), Some(t)) = (prev_time, cp.time()) {
                if t < p {
                    bad(
                        "checkpoint_time_order",
                        format!(
                            "timed {t}, earlier than the checkpoint before it ({p}): time went back"
                        ),
                    );
                }
            }
            if problems.len() == before {
                verified += 1;
            }
            prev = Some((size, cp.root));
            prev_time = cp.time().or(prev_time);
        }
        Ok((verified, cosignatures, covered))
    }

    /// The finding for events after the largest checkpoint, and whether it
    /// is a problem (the policy asks for cosignatures) or a note.
    fn not_covered(&self, covered: u64, n: u64) -> (Finding, bool) {
        let threshold = self.trust.threshold;
        let finding = Finding {
            position: Some(covered + 1),
            checkpoint: None,
            id: None,
            member: None,
            code: if threshold > 0 {
                "not_covered"
            } else {
                "not_yet_covered"
            }
            .into(),
            reason: if threshold > 0 {
                format!(
                    "no checkpoint covers positions {}..={n} ({} events), and the policy asks for {threshold} cosignature(s): their order and presence are not attested",
                    covered + 1,
                    n - covered,
                )
            } else {
                format!(
                    "positions {}..={n} ({} events) are after the last checkpoint: not yet covered",
                    covered + 1,
                    n - covered
                )
            },
        };
        (finding, threshold > 0)
    }

    /// The time notes, under the checkpoints within the `n` events only: the
    /// stream judged against every timed checkpoint, so an event bounded from
    /// above by a checkpoint beyond the events is judged again.
    fn time_notes_within(&mut self, n: u64) -> Vec<Finding> {
        let notes = std::mem::take(&mut self.time_notes);
        let timed = super::stream::timed(&self.cps);
        if timed.iter().all(|t| t.size <= n) {
            return notes.into_iter().map(|(f, _)| f).collect();
        }
        let within: Vec<Timed> = timed.into_iter().filter(|t| t.size <= n).collect();
        let mut bounds = TimeBounds::new(&within);
        notes
            .into_iter()
            .filter_map(|(f, at)| {
                let position = f.position?;
                let again = bounds.check(position, at)?;
                Some(Finding {
                    code: again.code.into(),
                    reason: again.reason,
                    ..f
                })
            })
            .collect()
    }
}

/// A finding about the bundle as a whole.
fn whole(code: &str, reason: String) -> Finding {
    Finding {
        position: None,
        checkpoint: None,
        id: None,
        member: None,
        code: code.into(),
        reason,
    }
}
