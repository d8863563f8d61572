//! No panic, bounded memory: the fuzz targets' properties on random input, in
//! `cargo test` on the stable toolchain.
//!
//! The properties live in `fuzz/src/ledger_checks.rs` (with the fixed keys and
//! golden ledger of `fuzz/src/fixtures.rs`), included here by path, so the
//! cargo-fuzz targets (`fuzz/README.md`) and these tests check the same
//! things. Each test feeds one target's property random bytes and mutations
//! of real inputs (golden events, JSON lines, signed checkpoints, proofs), and
//! measures what the parser allocates: a counting global allocator records,
//! per thread, the bytes still held after a parse (the value it returns) and
//! the peak during it.
//!
//! Bounds, for an input of `n` bytes: every parser here returns at most
//! `8n + 4 KiB`; the peak of a JSON or text parser stays under `8n + 64 KiB`.
//! Decoding an event may peak higher, by design of bincode's serde reader:
//! a sequence's stated length (checked against nothing but the 64 KiB input
//! limit) lets serde preallocate up to 1 MiB per nested sequence before the
//! elements are read, so the bound there is `8n + 4 MiB`.
//!
//! Minimized fuzzer findings are kept at the end as regression cases.

#[path = "../../fuzz/src/fixtures.rs"]
mod fixtures;
#[path = "../../fuzz/src/ledger_checks.rs"]
mod ledger_checks;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use fixtures::{golden_leaves, keys};
use ledger::calendar::Timestamp;
use ledger::checkpoint::{cosign, Checkpoint, Note};
use ledger::event::Event;
use ledger::ids::{Digest, MemberId};
use ledger::merkle::FullTree;
use ledger::tlog_proof::TlogProof;
use proptest::prelude::*;
use proptest::sample::Index;

/// Counts the bytes each thread holds, and the peak since [`measure`] began.
struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn note_alloc(delta: isize) {
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

// SAFETY: every call is forwarded to the system allocator unchanged; the
// counters are plain thread-local cells without destructors.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            note_alloc(layout.size() as isize);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            note_alloc(layout.size() as isize);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        note_alloc(-(layout.size() as isize));
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            note_alloc(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f`; returns its value, the bytes still held after it (its value's
/// heap) and the peak of the bytes held during it, both above the start.
fn measure<R>(f: impl FnOnce() -> R) -> (R, usize, usize) {
    let base = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(base));
    let value = f();
    let held = LIVE.with(Cell::get) - base;
    let peak = PEAK.with(Cell::get) - base;
    (value, held.max(0) as usize, peak.max(0) as usize)
}

const KIB: usize = 1024;

/// Asserts the bounds of the module doc for an input of `n` bytes.
fn assert_bounded(what: &str, n: usize, held: usize, peak: usize, peak_slack: usize) {
    assert!(
        held <= 8 * n + 4 * KIB,
        "{what}: {n} bytes of input hold {held} bytes"
    );
    assert!(
        peak <= 8 * n + peak_slack,
        "{what}: {n} bytes of input peak at {peak} bytes"
    );
}

/// One edit of a byte string: flip a bit, set a byte, insert a byte, remove a
/// byte, or cut the rest, at a position.
#[derive(Debug, Clone)]
struct Edit {
    kind: u8,
    at: Index,
    byte: u8,
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    proptest::collection::vec(
        (0u8..5, any::<Index>(), any::<u8>()).prop_map(|(kind, at, byte)| Edit { kind, at, byte }),
        0..5,
    )
}

fn apply(seed: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for e in edits {
        let at = e.at.index(b.len() + 1);
        match e.kind {
            0 if at < b.len() => b[at] ^= 1 << (e.byte % 8),
            1 if at < b.len() => b[at] = e.byte,
            2 => b.insert(at, e.byte),
            3 if at < b.len() => {
                b.remove(at);
            }
            4 => b.truncate(at),
            _ => {}
        }
    }
    b
}

/// Random bytes (one part in four) or edits of one of `seeds`.
fn inputs(seeds: Vec<Vec<u8>>, max_random: usize) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => proptest::collection::vec(any::<u8>(), 0..max_random),
        3 => (any::<Index>(), edits()).prop_map(move |(i, e)| apply(i.get::<Vec<u8>>(&seeds), &e)),
    ]
}

/// The golden bodies as `publish` input lines (compact JSON).
fn jsonl_seeds() -> Vec<Vec<u8>> {
    golden_leaves()
        .iter()
        .map(|leaf| {
            let ev = Event::from_bytes(leaf).unwrap();
            serde_json::to_vec(&ev.envelope().body).unwrap()
        })
        .collect()
}

/// A checkpoint of the golden ledger's first `size` events, signed by the log
/// key, with a time line and (if `witnessed`) the witness's cosignature.
fn signed_checkpoint(size: usize, witnessed: bool) -> (FullTree, Note) {
    let tree = FullTree::from_leaves(golden_leaves().iter().map(|l| ledger::event::leaf_hash(l)));
    let root = tree.root_at(size as u64).unwrap();
    let cp = Checkpoint::with_time(
        "tallinn-mechanism.example/ledger",
        size as u64,
        root,
        1_710_028_800,
    )
    .unwrap()
    .with_subjects(Digest([7; 32]));
    let k = keys();
    let mut note = cp.sign(&k.log).unwrap();
    if witnessed {
        let text = note.text.clone();
        note.signatures
            .push(cosign(&text, &k.witness, 1_710_028_801).unwrap());
    }
    (tree, note)
}

fn note_seeds() -> Vec<Vec<u8>> {
    vec![
        signed_checkpoint(7, true).1.to_text().into_bytes(),
        signed_checkpoint(3, false).1.to_text().into_bytes(),
        signed_checkpoint(7, false).1.text.into_bytes(),
        keys().witness_key.vkey().into_bytes(),
    ]
}

fn proof_seeds() -> Vec<Vec<u8>> {
    let (tree, note) = signed_checkpoint(7, true);
    let proof = |index: usize| TlogProof {
        extra: golden_leaves()[index].clone(),
        index: index as u64,
        proof: tree.inclusion_proof(index as u64, 7).unwrap(),
        note: note.to_text(),
    };
    // The binary layout of `ledger_checks::proofs`: flags, a, b, hashes.
    let mut binary = vec![0b0001_1110u8];
    binary.extend(4u64.to_le_bytes());
    binary.extend(7u64.to_le_bytes());
    binary.extend(tree.leaves()[4].0);
    binary.extend(tree.root().0);
    for h in tree.inclusion_proof(4, 7).unwrap() {
        binary.extend(h.0);
    }
    vec![
        proof(4).to_text().into_bytes(),
        proof(0).to_text().into_bytes(),
        binary,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16384, failure_persistence: None, ..ProptestConfig::default() })]

    /// `envelope`.
    #[test]
    fn envelope_never_panics(data in inputs(golden_leaves().to_vec(), 600)) {
        let (_, held, peak) = measure(|| Event::from_bytes(&data));
        assert_bounded("Event::from_bytes", data.len(), held, peak, 4 * KIB * KIB);
        ledger_checks::envelope(&data);
    }

    /// `body_jsonl`.
    #[test]
    fn body_jsonl_never_panics(data in inputs(jsonl_seeds(), 300)) {
        let text = String::from_utf8_lossy(&data).into_owned();
        let (_, held, peak) = measure(|| serde_json::from_str::<ledger::body::Body>(&text));
        assert_bounded("Body from JSON", text.len(), held, peak, 64 * KIB);
        ledger_checks::body_jsonl(&data);
    }

    /// `note`.
    #[test]
    fn note_never_panics(data in inputs(note_seeds(), 300)) {
        let (_, held, peak) = measure(|| Note::parse(&data));
        assert_bounded("Note::parse", data.len(), held, peak, 64 * KIB);
        ledger_checks::note(&data);
    }

    /// `proofs`.
    #[test]
    fn proofs_never_panic(data in inputs(proof_seeds(), 600)) {
        let text = String::from_utf8_lossy(&data).into_owned();
        let (_, held, peak) = measure(|| TlogProof::parse(&text));
        assert_bounded("TlogProof::parse", text.len(), held, peak, 64 * KIB);
        ledger_checks::proofs(&data);
    }

    /// `nats_entry`, the payload half (the subject and header half is in
    /// `tallinn_nats`, which this crate cannot use: see `fuzz/README.md`).
    #[test]
    fn entry_payload_never_panics(
        data in inputs(golden_leaves().to_vec(), 600),
        member in proptest::option::of("[A-Z][A-Z0-9._-]{1,10}|\\?"),
        at in any::<i64>(),
    ) {
        let member = member.map(|m| m.parse().unwrap_or_else(|_| MemberId::unnamed_subject()));
        ledger_checks::entry_payload(member, Timestamp(at), &data);
    }
}

/// The seeds themselves pass (and are what `fuzz/gen_corpus.py` writes).
#[test]
fn seeds_pass() {
    for leaf in golden_leaves() {
        ledger_checks::envelope(leaf);
    }
    for line in jsonl_seeds() {
        ledger_checks::body_jsonl(&line);
    }
    for n in note_seeds() {
        ledger_checks::note(&n);
    }
    for p in proof_seeds() {
        ledger_checks::proofs(&p);
    }
}
