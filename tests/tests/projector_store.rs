//! The projector's item store: a projector that keeps items on disk and only a
//! working set in memory folds exactly what the in-memory fold does, whatever
//! the batch and working-set sizes, and reopens at its last commit.

mod common;

use std::path::Path;
use std::time::Duration;

use ledger::log::Log;
use ledger::state::State;
use ledger::store::Store;
use projector::fold::{fold_entries, Filter};
use projector::model::Model;
use projector::run::Projector;

/// A demo ledger (the scripted year with its invalid events, then volume) in `dir`.
fn demo(dir: &Path, events: u64) {
    let out = common::tallinn()
        .args(["--dir", dir.to_str().unwrap(), "demo", "--seed", "3"])
        .args(["--events", &events.to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The model of the whole log, folded in memory in one go.
async fn in_memory(log: &Store) -> Model {
    let entries = log.read(1, usize::MAX).await.unwrap();
    let (mut state, mut model) = (State::new(), Model::new());
    fold_entries(&mut state, &mut model, &entries, Filter::All);
    model
}

fn open(dir: &Path, read_batch: usize, working_set: usize) -> Projector {
    let mut p = Projector::open(dir, Duration::from_secs(5)).unwrap();
    p.read_batch = read_batch;
    p.working_set = working_set;
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_working_set_projector_folds_what_the_in_memory_fold_does() {
    let tmp = tempfile::tempdir().unwrap();
    demo(tmp.path(), 1500);
    let log = Store::open(&tmp.path().join("log"), Duration::from_secs(5)).unwrap();
    let expected = in_memory(&log).await;
    let digest = projector::digest::digest_hex(&expected);
    assert!(expected.rejected.len() >= 4, "the demo's invalid events");
    assert!(expected.deliveries.len() > 100 && expected.receipts.len() > 100);

    // Every item written back after each event, a few, or never.
    for (read_batch, working_set) in [(1, 0), (7, 3), (64, 50), (8192, 1_000_000)] {
        let dir = tmp.path().join(format!("p-{read_batch}-{working_set}"));
        let mut p = open(&dir, read_batch, working_set);
        p.catch_up(&log, |_| {}).await.unwrap();
        assert_eq!(p.position, log.len().await.unwrap());
        assert_eq!(
            p.digest_hex().unwrap(),
            digest,
            "{read_batch}/{working_set}"
        );
        assert!(p.model().unwrap() == expected, "{read_batch}/{working_set}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_projector_reopens_at_its_last_commit_and_ignores_what_came_after() {
    let tmp = tempfile::tempdir().unwrap();
    demo(tmp.path(), 600);
    let log = Store::open(&tmp.path().join("log"), Duration::from_secs(5)).unwrap();
    let digest = projector::digest::digest_hex(&in_memory(&log).await);
    let len = log.len().await.unwrap();
    let dir = tmp.path().join("p");

    // Folded to the end, committed two thirds of the way: what was written back after
    // the commit (uncommitted rows) and a torn record are cut off on reopen.
    {
        let mut p = open(&dir, 5, 2);
        p.save_every = len * 2 / 3;
        p.advance(&log, |_| {}).await.unwrap();
        assert_eq!(p.position, len);
    }
    let rows = dir.join("rows.log");
    let mut bytes = std::fs::read(&rows).unwrap();
    bytes.extend_from_slice(&[200, 0, 0, 0, 1, 2, 3]);
    std::fs::write(&rows, &bytes).unwrap();
    std::fs::write(dir.join("snapshot.tmp"), b"half a snapshot").unwrap();
    let mut p = open(&dir, 5, 2);
    let committed = p.position;
    assert!(
        committed > 0 && committed < len,
        "committed at {committed} of {len}"
    );
    assert!((std::fs::metadata(&rows).unwrap().len() as usize) < bytes.len());
    p.catch_up(&log, |_| {}).await.unwrap();
    assert_eq!(p.digest_hex().unwrap(), digest);
    drop(p);

    // Committed at the end: reopens there with the same digest.
    let mut p = open(&dir, 5, 2);
    assert_eq!(p.position, len);
    assert_eq!(p.digest_hex().unwrap(), digest);
    drop(p);

    // A damaged snapshot is an error that says what to do, not a silent rebuild.
    let snapshot = dir.join("snapshot");
    let mut bytes = std::fs::read(&snapshot).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    std::fs::write(&snapshot, &bytes).unwrap();
    let err = Projector::open(&dir, Duration::from_secs(5))
        .err()
        .expect("a damaged snapshot is refused")
        .to_string();
    assert!(err.contains("corrupt") && err.contains("rebuild"), "{err}");

    // `reset` forgets everything: a rebuild from there agrees again.
    std::fs::remove_file(&snapshot).unwrap();
    let mut p = open(&dir, 64, 10);
    assert_eq!(p.position, 0);
    p.reset().unwrap();
    p.catch_up(&log, |_| {}).await.unwrap();
    assert_eq!(p.digest_hex().unwrap(), digest);
}

#[test]
fn a_second_projector_on_one_directory_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let _first = Projector::open(tmp.path(), Duration::from_secs(1)).unwrap();
    let err = Projector::open(tmp.path(), Duration::from_millis(200))
        .err()
        .expect("the directory is locked")
        .to_string();
    assert!(err.contains("in use by another process"), "{err}");
}

#[test]
fn a_projector_directory_of_the_old_sled_format_is_rebuilt() {
    let tmp = tempfile::tempdir().unwrap();
    for name in ["conf", "db", "snap.0000000000000A2B"] {
        std::fs::write(tmp.path().join(name), b"old").unwrap();
    }
    std::fs::create_dir(tmp.path().join("blobs")).unwrap();
    let p = Projector::open(tmp.path(), Duration::from_secs(1)).unwrap();
    assert_eq!(p.position, 0);
    for name in ["conf", "db", "snap.0000000000000A2B", "blobs"] {
        assert!(!tmp.path().join(name).exists(), "{name} left behind");
    }
}

/// The item index is saved in runs (a base and a recent one) as the projector
/// commits: a reopened projector reads only the records past them, agrees with
/// the in-memory fold, and a run left by a crash, written past the snapshot,
/// or damaged is passed over for a scan of the row file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_item_index_is_saved_in_runs_and_survives_crashes() {
    let tmp = tempfile::tempdir().unwrap();
    demo(tmp.path(), 1500);
    let log = Store::open(&tmp.path().join("log"), Duration::from_secs(5)).unwrap();
    let digest = projector::digest::digest_hex(&in_memory(&log).await);
    let len = log.len().await.unwrap();
    let dir = tmp.path().join("p");
    let (base, recent) = (dir.join("items.base"), dir.join("items.recent"));

    // Small thresholds: many commits, recent runs and merges into the base.
    let mut p = open(&dir, 16, 8);
    p.set_index_delta_max(40);
    p.save_every = 37;
    p.catch_up(&log, |_| {}).await.unwrap();
    assert_eq!(p.digest_hex().unwrap(), digest);
    drop(p);
    assert!(base.exists(), "runs written");

    // Reopened: only the records past the runs are scanned into memory.
    let mut p = open(&dir, 16, 8);
    assert!(p.index_in_memory() < 40 * 4, "{}", p.index_in_memory());
    assert_eq!(p.digest_hex().unwrap(), digest);
    assert_eq!(p.position, len);
    drop(p);
    let mut r = Projector::open_read_only(&dir).unwrap();
    assert_eq!(r.digest_hex().unwrap(), digest);
    drop(r);

    // A recent run that does not start where the base ends (left by a crash
    // between a merge's rename and the removal of the old recent run) is not used.
    std::fs::copy(&base, &recent).unwrap();
    let mut p = open(&dir, 16, 8);
    assert_eq!(p.digest_hex().unwrap(), digest);
    drop(p);
    assert!(!recent.exists(), "the unused run is removed");

    // A damaged base: the row file is scanned instead, same figures.
    let mut bytes = std::fs::read(&base).unwrap();
    let n = bytes.len();
    bytes[n - 2] ^= 0x40;
    std::fs::write(&base, &bytes).unwrap();
    let mut p = open(&dir, 16, 8);
    assert!(
        p.index_in_memory() > 100,
        "scanned: {}",
        p.index_in_memory()
    );
    assert_eq!(p.digest_hex().unwrap(), digest);
    drop(p);
    assert!(!base.exists(), "the damaged run is removed");
}

/// A read-only projector (opened while another process holds the
/// directory) refuses to reset, and removes none of the holder's files.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_projector_cannot_reset_the_holders_store() {
    let tmp = tempfile::tempdir().unwrap();
    demo(tmp.path(), 300);
    let log = Store::open(&tmp.path().join("log"), Duration::from_secs(5)).unwrap();
    let dir = tmp.path().join("p");
    let mut holder = open(&dir, 64, 10);
    holder.catch_up(&log, |_| {}).await.unwrap();
    let digest = holder.digest_hex().unwrap();
    let mut reader = Projector::open_shared(&dir).unwrap();
    assert!(reader.is_read_only());
    let err = reader.reset().unwrap_err().to_string();
    assert!(err.contains("read-only"), "{err}");
    assert!(
        dir.join("snapshot").exists(),
        "the holder's snapshot is kept"
    );
    drop(holder);
    let mut again = open(&dir, 64, 10);
    assert_eq!(again.digest_hex().unwrap(), digest);
}

#[path = "../../ledger/tests/common/mod.rs"]
mod world;

/// The catch-up pipeline verifies a batch's signatures ahead, under the keys
/// before the batch just before it. Key rotations at every offset from a
/// batch boundary, each followed by an event signed with the rotated-away key
/// (a forgery) and honest ones under the new key, fold as the in-memory fold
/// does whatever the batch size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signatures_verified_ahead_give_the_verdicts_of_the_rules_across_key_rotations() {
    use ledger::body::{Body, KeyRotated};
    use world::*;

    let mut w = World::new();
    let mut forged = Vec::new();
    for round in 0..6u8 {
        for i in 0..(round as u64 + 1) {
            let id = format!("UA-SSSCIP/P-{round}-{i}");
            w.accept(SSSCIP, Body::NeedStated(need(&id, SSSCIP, 1 + i, 1_000)));
        }
        let (old, new) = (w.signer(EE).clone(), signer(EE, 100 + round));
        let rotation = KeyRotated {
            member: mid(EE),
            new_key: new.public_key(),
        };
        w.accept(EE, Body::KeyRotated(rotation));
        w.set_signer(EE, new);
        let id = format!("EE-MFA/O-{round}-stale");
        let stale = w.forge(EE, Body::OfferMade(offer(&id, 1, 1_000, &[])), &old);
        w.expect_rejected(&stale);
        forged.push(w.log.len() as u64);
        let id = format!("EE-MFA/O-{round}");
        w.accept(EE, Body::OfferMade(offer(&id, 1, 1_000, &[])));
    }

    let tmp = tempfile::tempdir().unwrap();
    let log = Store::open(&tmp.path().join("log"), Duration::from_secs(5)).unwrap();
    let mut last: std::collections::HashMap<String, u64> = Default::default();
    for e in &w.log {
        let producer = ledger::event::Event::from_bytes(&e.bytes)
            .unwrap()
            .envelope()
            .producer
            .clone();
        let expected = last.get(producer.as_str()).copied();
        let at = log
            .append(
                &producer,
                expected,
                std::slice::from_ref(&e.bytes),
                e.appended_at,
            )
            .await
            .unwrap();
        assert_eq!(at, vec![e.position]);
        last.insert(producer.to_string(), e.position);
    }
    let expected = in_memory(&log).await;
    let rejected: Vec<u64> = expected.rejected.iter().map(|r| r.position).collect();
    assert_eq!(rejected, forged, "the stale-key events, and only they");
    let digest = projector::digest::digest_hex(&expected);
    for read_batch in 1..=9 {
        let dir = tmp.path().join(format!("p-{read_batch}"));
        let mut p = open(&dir, read_batch, 4);
        p.catch_up(&log, |_| {}).await.unwrap();
        assert_eq!(p.digest_hex().unwrap(), digest, "batches of {read_batch}");
        assert!(p.model().unwrap() == expected, "batches of {read_batch}");
    }

    // The streamed audit prepares its segments the same way: the same report
    // whatever the segment size, with the stale-key events refused.
    use projector::audit::{audit_on, AuditInput, Trust, Workspace};
    let report = |batch: usize| {
        let input = AuditInput::from_entries(w.log.clone(), Vec::new());
        let mut ws = Workspace::new(Some(tmp.path())).unwrap();
        audit_on(&mut ws, input, &Trust::default(), batch).unwrap()
    };
    let whole = report(usize::MAX);
    let refused: Vec<u64> = whole.refused.iter().filter_map(|f| f.position).collect();
    assert_eq!(refused, forged, "{:?}", whole.refused);
    assert_eq!(whole.digest, digest);
    let whole = serde_json::to_string(&whole).unwrap();
    for batch in 1..=9 {
        assert_eq!(
            serde_json::to_string(&report(batch)).unwrap(),
            whole,
            "{batch}"
        );
    }
}
