//! Properties of the audit bundle reader, the auditor, the read model and its
//! views on untrusted input.
//!
//! Shared by the fuzz targets (`bundle`, and `envelope` for
//! [`exported_event`]) and the proptests (`projector/tests/no_panic.rs`
//! includes this file and `fixtures.rs` by path). Only `ledger`, `projector`,
//! `serde`, `serde_json` and `hex` may be used here.
#![allow(dead_code)]

use ledger::bundle::{AuditEvent, Bundle, BundleError, RawBundle};
use ledger::calendar::{Date, Timestamp};
use ledger::checkpoint::Checkpoint;
use ledger::event::{leaf_hash, Event};
use ledger::log::Entry;
use ledger::merkle::root_of;
use ledger::state::State;
use ledger::subjects::Subjects;
use projector::audit::{export, AuditInput, Report, Trust};
use projector::fold::{fold_entries, Filter};
use projector::model::Model;
use projector::views::{build, Params, View};

use crate::fixtures::{golden_leaves, golden_signer, keys};

/// Largest input the `bundle` property reads and audits (bigger inputs are
/// skipped: the size limits themselves are checked before any parsing).
pub const MAX_AUDITED: usize = 64 * 1024;

/// Reads a bundle as `tallinn audit verify` does (`cli/src/audit.rs`
/// `read_bundle`): the document once, then every event parsed and decoded.
pub fn read(data: &[u8]) -> Result<(RawBundle<'_>, Vec<AuditEvent>), BundleError> {
    RawBundle::decode_all(data, |raw| {
        (0..raw.events.len()).map(|i| raw.decode_event(i)).collect()
    })
}

/// The same with one full JSON scan, whatever the layout.
fn read_scanned(data: &[u8]) -> Result<(RawBundle<'_>, Vec<AuditEvent>), BundleError> {
    let raw = RawBundle::from_json_scanned(data)?;
    let events = (0..raw.events.len())
        .map(|i| raw.decode_event(i))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((raw, events))
}

/// Whether two decoded events say the same.
fn same_event(a: &AuditEvent, b: &AuditEvent) -> bool {
    a.entry == b.entry
        && a.stated_id == b.stated_id
        && a.signer == b.signer
        && a.stated_seq == b.stated_seq
        && a.body.as_ref().map(|r| r.get()) == b.body.as_ref().map(|r| r.get())
}

/// The audit input of a bundle that was read.
pub fn input(raw: RawBundle<'_>, events: Vec<AuditEvent>) -> AuditInput {
    AuditInput {
        events,
        checkpoints: raw.checkpoints,
        stated_size: Some(raw.size),
        stated_root: Some(raw.root),
        stated_origin: Some(raw.origin),
    }
}

/// Audits with the default trust (the audit's workspace is a temporary
/// directory; failing to make one is the machine's fault, not the input's).
pub fn audit(input: AuditInput) -> Report {
    projector::audit::audit(input, &Trust::default()).expect("the audit's workspace")
}

/// `bundle`: an untrusted audit bundle, read and audited.
///
/// Only JSON documents are read; the reader that splits a bundle at its
/// lines, the full scan and `Bundle::from_json` + `Bundle::decode` agree on
/// every field; the audit of what was read does not panic, counts every
/// event, and its report serializes.
pub fn bundle(data: &[u8]) {
    if data.len() > MAX_AUDITED {
        return;
    }
    let read_ = read(data);
    let owned = Bundle::from_json(data).and_then(|b| {
        let events = b.decode()?;
        Ok((b, events))
    });
    let is_json = serde_json::from_slice::<serde::de::IgnoredAny>(data).is_ok();
    let Ok((raw, events)) = read_ else {
        if is_json {
            assert!(
                owned.is_err() || read_scanned(data).is_err(),
                "the reader refused what both others read"
            );
        }
        return;
    };
    assert!(
        is_json,
        "a bundle that is not a JSON document was read ({} events)",
        events.len()
    );
    let (scanned_raw, scanned) = read_scanned(data).expect("the full scan reads it too");
    let (b, owned) = owned.expect("Bundle::from_json reads it too");
    assert_eq!(
        (
            &raw.format,
            &raw.origin,
            raw.size,
            raw.root,
            &raw.checkpoints
        ),
        (
            &scanned_raw.format,
            &scanned_raw.origin,
            scanned_raw.size,
            scanned_raw.root,
            &scanned_raw.checkpoints
        )
    );
    assert_eq!((&b.origin, &b.checkpoints), (&raw.origin, &raw.checkpoints));
    assert_eq!(events.len(), scanned.len());
    assert_eq!(events.len(), owned.len());
    for ((a, s), o) in events.iter().zip(&scanned).zip(&owned) {
        assert!(same_event(a, s), "split and scanned readers differ");
        assert!(same_event(a, o), "borrowed and owned readers differ");
    }
    let n = events.len() as u64;
    let report = audit(input(raw, events));
    assert_eq!(report.events, n);
    serde_json::to_string(&report).expect("a report serializes");
}

/// When it happened on the golden ledger's calendar: a fixed instant after
/// its last event (2024-03-10T00:00:00Z).
pub const AFTER_GOLDEN: Timestamp = Timestamp(1_710_028_800_000);

/// The golden ledger as log entries (positions 1..=7, embedded-store style).
pub fn golden_entries() -> Vec<Entry> {
    golden_leaves()
        .iter()
        .enumerate()
        .map(|(i, leaf)| Entry {
            position: i as u64 + 1,
            appended_at: AFTER_GOLDEN,
            member: None,
            bytes: leaf.clone(),
        })
        .collect()
}

/// The coordinator's checkpoint of the first `size` entries, with its issue
/// time and subjects line, as `tallinn checkpoint sign` writes it.
pub fn checkpoint(entries: &[Entry], size: usize, time_secs: u64) -> String {
    let ids: Vec<_> = entries[..size]
        .iter()
        .map(|e| leaf_hash(&e.bytes))
        .collect();
    let mut subjects = Subjects::new();
    entries[..size].iter().for_each(|e| subjects.push_entry(e));
    let origin = Event::from_bytes(&entries[0].bytes)
        .expect("golden genesis")
        .envelope()
        .origin
        .clone();
    Checkpoint::with_time(&origin, size as u64, root_of(&ids), time_secs)
        .expect("a checkpoint")
        .with_subjects(subjects.digest)
        .sign(&keys().log)
        .expect("signs")
        .to_text()
}

/// The bundle `audit export` writes of the golden ledger, with the
/// coordinator's checkpoints at sizes 3 and 7 (one event per line).
pub fn golden_bundle() -> Vec<u8> {
    let entries = golden_entries();
    let time = (AFTER_GOLDEN.0 / 1000) as u64;
    let checkpoints = vec![
        checkpoint(&entries, 3, time - 60),
        checkpoint(&entries, 7, time),
    ];
    let mut json = Vec::new();
    export(&entries, checkpoints)
        .expect("the export's workspace")
        .write_json(&mut json)
        .expect("writes to memory");
    json
}

/// `envelope`, the projector's half: an event decoded from untrusted bytes and
/// signed again by its producer's golden key (when it names a golden member),
/// appended to the golden ledger.
///
/// The read model folds it and every view builds (as of the model's latest
/// time and of a fixed day); the bundle `audit export` writes of that log
/// reads back, audits without a problem (a ledger that only refuses the event
/// is still a sound log), and gives the digest of the model.
pub fn exported_event(data: &[u8]) {
    let Ok(ev) = Event::from_bytes(data) else {
        return;
    };
    let ev = match golden_signer(ev.envelope().producer.as_str()) {
        Some(signer) => Event::sign(ev.envelope().clone(), signer).expect("re-encodes"),
        None => ev,
    };
    let mut entries = golden_entries();
    entries.push(Entry {
        position: 8,
        appended_at: AFTER_GOLDEN,
        member: None,
        bytes: ev.bytes().to_vec(),
    });

    let mut state = State::new();
    let mut model = Model::new();
    fold_entries(&mut state, &mut model, &entries, Filter::All);
    let fixed = Params {
        today: Date(19_800),
        receipt_days: 30,
    };
    let latest = Params {
        today: model.latest.date(),
        receipt_days: 30,
    };
    for view in View::ALL {
        for p in [&fixed, &latest] {
            let _ = build(&model, view, p);
        }
    }

    let checkpoints = vec![checkpoint(&entries, 7, (AFTER_GOLDEN.0 / 1000) as u64)];
    let bundle = export(&entries, checkpoints).expect("the export's workspace");
    let mut json = Vec::new();
    bundle.write_json(&mut json).expect("writes to memory");
    let (raw, events) = match read(&json) {
        Ok(read) => read,
        Err(e) => panic!(
            "an exported bundle does not read back: {e}\n{}",
            String::from_utf8_lossy(&json)
        ),
    };
    let report = audit(input(raw, events));
    assert!(
        report.problems.is_empty(),
        "an exported bundle does not audit: {:?}",
        report.problems
    );
    assert_eq!(report.events, 8);
    assert_eq!(report.digest, projector::digest::digest_hex(&model));
}
