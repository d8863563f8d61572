//! Evidence a member's mirror keeps when the stream it copies lost or
//! changed history: its own signed checkpoint, and the Merkle proofs that tie
//! what the stream no longer holds (or holds differently) to that signature.
//!
//! The file is JSON (`<mirror>/evidence/<stream>-<kind>-<size>.json`), checkable
//! by anyone with the coordinator's key and nothing else: the checkpoint note
//! verifies under the coordinator's key; the inclusion proof ties the removed
//! entry's leaf hash to the signed root; the consistency proof ties the
//! mirror's root at the compared size to the signed root, and the stream's
//! root at that size (recomputed from its entries) differs from it.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use ledger::checkpoint::{Checkpoint, Note};
use ledger::event::leaf_hash;
use ledger::log::Log;
use ledger::merkle::FullTree;
use ledger::store::Store;
use serde_json::json;

/// What the stream did to the history the mirror holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Loss {
    /// Entries inside the stream's range are gone (a hole): the first missing position.
    Hole(u64),
    /// The stream is shorter than the copy: its length.
    Shorter(u64),
    /// The stream holds other bytes at this position.
    Rewritten(u64),
}

/// Finds the first position of the copy (1..=`have`) that the stream no
/// longer holds: reading a range with a hole fails, so ranges are read whole
/// and the failing one one entry at a time.
pub async fn first_missing<L: Log>(log: &L, have: u64) -> Result<Option<u64>> {
    const STEP: u64 = 4096;
    let mut from = 1;
    while from <= have {
        let n = STEP.min(have - from + 1);
        if log.read(from, n as usize).await.is_err() {
            for p in from..from + n {
                if log.read(p, 1).await.is_err() {
                    return Ok(Some(p));
                }
            }
        }
        from += n;
    }
    Ok(None)
}

/// Writes the evidence of `loss` into `dir/evidence/` and returns its path.
/// `local` is the mirror's copy; `stream` names the stream.
pub async fn keep<L: Log>(
    dir: &Path,
    local: &Store,
    log: &L,
    stream: &str,
    loss: Loss,
) -> Result<PathBuf> {
    let ours = crate::cmd::checkpoint::full_tree(local).await?;
    let cs = crate::cmd::checkpoint::checkpoint_store(local)?;
    let note = cs.latest()?;
    let signed = match &note {
        Some(n) => Some(Checkpoint::parse_body(&n.text)?),
        None => None,
    };
    let size = signed.as_ref().map_or(0, |c| c.size);
    let (kind, mut body) = match loss {
        Loss::Hole(p) => ("history_removed", removed(&ours, p, size)?),
        Loss::Shorter(len) => shorter(&ours, log, len, size).await?,
        Loss::Rewritten(p) => ("history_rewritten", rewritten(&ours, log, p, size).await?),
    };
    body["kind"] = json!(kind);
    body["stream"] = json!(stream);
    body["mirror_length"] = json!(ours.size());
    body["mirror_checkpoint"] = json!(note.as_ref().map(Note::to_text));
    body["signed_size"] = json!(size);
    if size == 0 {
        body["note"] =
            json!("the mirror holds no signed checkpoint: this evidence is the mirror's word only");
    }
    let out = dir.join("evidence");
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let path = out.join(format!("{stream}-{kind}-{size}.json"));
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(&body)?)
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// The entry at `position` is gone: its leaf hash and, when the signed
/// checkpoint covers it, its inclusion proof in the signed tree.
fn removed(ours: &FullTree, position: u64, size: u64) -> Result<serde_json::Value> {
    let leaf = ours.leaves().get(position as usize - 1).copied();
    let proof = if position <= size {
        Some(ours.inclusion_proof(position - 1, size)?)
    } else {
        None
    };
    Ok(json!({
        "position": position,
        "leaf_hash": leaf.map(|l| l.to_hex()),
        "inclusion_proof": proof.map(|p| p.iter().map(|h| h.to_hex()).collect::<Vec<_>>()),
        "reason": format!("the stream no longer holds position {position}, which the mirror holds{}",
            if position <= size { " and the signed checkpoint covers (see inclusion_proof)" } else { "" }),
    }))
}

/// The stream holds `len` entries, fewer than the copy: if its entries are
/// the copy's first `len`, history was cut; otherwise it was replaced.
async fn shorter<L: Log>(
    ours: &FullTree,
    log: &L,
    len: u64,
    size: u64,
) -> Result<(&'static str, serde_json::Value)> {
    let theirs = crate::cmd::checkpoint::full_tree(log).await?;
    let ours_at = ours.root_at(len)?;
    if theirs.root() == ours_at {
        let mut v = removed(ours, len + 1, size)?;
        v["stream_length"] = json!(len);
        v["stream_root"] = json!(theirs.root().to_hex());
        v["reason"] = json!(format!(
            "the stream holds only the first {len} entries of the mirror's {}; the signed checkpoint covers {size}",
            ours.size()
        ));
        return Ok(("history_removed", v));
    }
    Ok(("history_rewritten", compare(ours, &theirs, len, size)?))
}

/// The stream holds other bytes at `position`.
async fn rewritten<L: Log>(
    ours: &FullTree,
    log: &L,
    position: u64,
    size: u64,
) -> Result<serde_json::Value> {
    let mut theirs = FullTree::new();
    while theirs.size() < position {
        let batch = log.read(theirs.size() + 1, 8192).await?;
        if batch.is_empty() {
            break;
        }
        for e in batch.iter().take_while(|e| e.position <= position) {
            theirs.push(leaf_hash(&e.bytes));
        }
    }
    compare(ours, &theirs, position.min(theirs.size()), size)
}

/// The roots of the first `m` entries in the copy and in the stream (they
/// differ), and the consistency proof from `m` to the signed size in the copy.
fn compare(ours: &FullTree, theirs: &FullTree, m: u64, size: u64) -> Result<serde_json::Value> {
    let proof = if m <= size {
        Some(ours.consistency_proof(m, size)?)
    } else {
        None
    };
    Ok(json!({
        "compared_size": m,
        "mirror_root_at_size": ours.root_at(m)?.to_hex(),
        "stream_root_at_size": theirs.root_at(m)?.to_hex(),
        "consistency_proof": proof.map(|p| p.iter().map(|h| h.to_hex()).collect::<Vec<_>>()),
        "reason": format!("the stream's first {m} entries are not the mirror's{}",
            if m <= size { "; the consistency proof ties the mirror's root at that size to the signed checkpoint" } else { "" }),
    }))
}
