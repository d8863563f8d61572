//! Every view read from the projector's store (`views::build_from` over
//! `Projector::rows`, what `report` does) gives exactly the tables the whole
//! model in memory gives, now and as of a date, on a generated ledger with
//! several commitments per offer, commitments and offers cancelled whole or
//! for their remaining balance, contributors, modalities and sectors, and
//! events the rules refuse; with items written to disk after every batch and
//! with the default working set; and `as_of::fold_as_of` over a real log
//! folds the same state as `model_as_of`. The IATI document written from the
//! store is the whole model's too.

#[path = "../../ledger/tests/common/mod.rs"]
mod world;

use ledger::body::{Body, CancelScope, Contributor, Modality};
use ledger::calendar::Timestamp;
use ledger::category::Category;
use ledger::log::Entry;
use ledger::member::MemberKind;
use ledger::state::State;
use projector::as_of::{fold_as_of, model_as_of};
use projector::digest::digest_hex;
use projector::fold::{decode, fold_entries, Filter};
use projector::model::Model;
use projector::views::{build, build_from, Params, View};
use projector::workspace::Workspace;
use world::*;

/// A small deterministic generator (the test needs variety, not quality).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// A ledger of `rounds` rounds of needs, offers, commitments, deliveries,
/// receipts and cancellations by both donors (some refused by the rules).
fn generated(rounds: usize) -> World {
    let mut w = World::new();
    let mut rng = Lcg(7);
    let categories = [
        Category::SatelliteCommunications,
        Category::Training,
        Category::Consulting,
    ];
    let modalities = [Modality::Goods, Modality::Services, Modality::Financial];
    for i in 0..rounds {
        let (donor, recipient) = [(EE, SSSCIP), (DE, MINDIGITAL)][i % 2];
        let need_id = format!("{recipient}/N-{i}");
        let mut n = need(&need_id, recipient, 10, 1_000_000);
        n.dac_sector = [None, Some(15210)][rng.below(2) as usize];
        n.category = categories[rng.below(3) as usize];
        w.outcome(recipient, Body::NeedStated(n));
        let offer_id = format!("{donor}/O-{i}");
        let mut o = offer(&offer_id, 10, 1_000_000, &[need_id.as_str()]);
        o.category = categories[rng.below(3) as usize];
        o.modality = modalities[rng.below(3) as usize];
        o.dac_sector = [None, Some(15110)][rng.below(2) as usize];
        if rng.below(3) == 0 {
            o.on_behalf_of = Some(Contributor {
                name: format!("Contributor {}", rng.below(4)),
                kind: [MemberKind::Company, MemberKind::Ngo][rng.below(2) as usize],
                country: "EE".into(),
            });
        }
        w.outcome(donor, Body::OfferMade(o));
        // Zero to two commitments from the offer, or one without an offer.
        let from_offer = rng.below(4) != 0;
        for j in 0..rng.below(3) {
            let cid = format!("{donor}/C-{i}-{j}");
            let offer = from_offer.then_some(offer_id.as_str());
            let c = commitment(&cid, offer, &[need_id.as_str()], recipient, 5, 500_000);
            w.outcome(donor, Body::CommitmentMade(c));
            for k in 0..rng.below(3) {
                let did = format!("{donor}/D-{i}-{j}-{k}");
                let on = w.today();
                let qty = 1 + rng.below(2);
                w.outcome(
                    donor,
                    Body::DeliveryRecorded(delivery(&did, &cid, qty, qty * 100_000, on)),
                );
                if rng.below(3) != 0 {
                    let rid = format!("{recipient}/R-{i}-{j}-{k}");
                    let accepted = rng.below(qty + 1);
                    w.outcome(
                        recipient,
                        Body::ReceiptAcknowledged(receipt(&rid, &did, accepted, on)),
                    );
                }
            }
            match rng.below(6) {
                0 => drop(w.outcome(donor, cancel(&cid, CancelScope::Whole))),
                1 => drop(w.outcome(donor, cancel(&cid, CancelScope::RemainingBalance))),
                _ => {}
            }
        }
        if rng.below(8) == 0 {
            w.outcome(donor, cancel(&offer_id, CancelScope::Whole));
        }
        w.advance_days(1 + rng.below(3) as i64);
    }
    w
}

fn params(today: &str) -> Params {
    Params {
        today: date(today),
        receipt_days: 30,
    }
}

fn model_of(log: &[Entry], filter: Filter) -> Model {
    let mut state = State::new();
    let mut model = Model::new();
    fold_entries(&mut state, &mut model, log, filter);
    model
}

/// Folds `log` into a fresh workspace projector, `batch` entries at a time.
fn workspace_of(log: &[Entry], filter: Filter, working_set: usize, batch: usize) -> Workspace {
    let mut ws = Workspace::new(None).expect("a workspace");
    let p = ws.projector();
    p.working_set = working_set;
    p.save_every = 17;
    p.set_filter(filter);
    for chunk in log.chunks(batch) {
        let decoded: Vec<_> = chunk.iter().map(decode).collect();
        p.fold_batch(chunk, &decoded, &mut |_, _, _, _| {})
            .expect("folds");
        p.save_when_due().expect("saves");
    }
    ws
}

/// Every view from the store of `ws` equals the view of `model`; returns
/// how many views were compared.
fn compare(ws: &mut Workspace, model: &Model, what: &str) -> usize {
    let p = params("2024-06-01");
    let mut n = 0;
    for view in View::ALL {
        let mut rows = ws.projector().rows().expect("rows");
        let tables = build_from(&mut rows, view, &p).expect("the store reads");
        assert_eq!(tables, build(model, view, &p), "{} ({what})", view.name());
        // The integrity view's time findings are filled in by the shell.
        let filled = if view == View::Integrity {
            2
        } else {
            tables.len()
        };
        for t in &tables[..filled] {
            assert!(
                !t.rows.is_empty(),
                "{} {} has rows ({what})",
                view.name(),
                t.title
            );
        }
        n += 1;
    }
    n
}

#[test]
fn views_from_the_store_are_the_whole_models() {
    let w = generated(120);
    let log = &w.log;
    let refused = w
        .outcomes
        .iter()
        .filter(|o| !matches!(o, ledger::rules::Outcome::Accepted))
        .count();
    assert!(refused > 0, "the ledger has refused events");
    let cut: Timestamp = date("2024-04-15").end();
    assert!(w.now > cut, "the cut falls inside the ledger");
    for filter in [Filter::All, Filter::RecordedBy(cut)] {
        let model = model_of(log, filter);
        // Several commitments on one offer, and both kinds of cancellation.
        let mut per_offer = std::collections::BTreeMap::new();
        for c in model.commitments.values() {
            *per_offer.entry(c.offer.clone()).or_insert(0) += 1;
        }
        assert!(per_offer.iter().any(|(o, n)| o.is_some() && *n > 1));
        assert!(model.commitments.values().any(|c| c.cancelled.is_some()));
        for (working_set, batch) in [(1, 5), (4096, 64)] {
            let mut ws = workspace_of(log, filter, working_set, batch);
            assert_eq!(
                ws.projector().digest_hex().expect("digest"),
                digest_hex(&model),
                "the workspace folded the same model"
            );
            let what = format!("{filter:?}, working set {working_set}");
            if working_set == 1 {
                let stored = ws.projector().overview().changes_stored;
                assert!(stored > 0, "changes read from the changes file too");
            }
            assert_eq!(compare(&mut ws, &model, &what), View::ALL.len());
            compare_iati(&mut ws, &model, &what);
        }
    }
}

/// The IATI document written from the store of `ws` is the one of `model`,
/// for every donor and for one.
fn compare_iati(ws: &mut Workspace, model: &Model, what: &str) {
    use projector::iati::{activities, write_activities, Options};
    for member in [None, Some(EE.parse().expect("a member id"))] {
        let opts = Options {
            today: date("2024-06-01"),
            generated: date("2024-06-02").end(),
            member,
            org_refs: Default::default(),
        };
        let history = Default::default();
        let mut from_store = String::new();
        let mut rows = ws.projector().rows().expect("rows");
        write_activities(&mut from_store, &mut rows, &history, &opts).expect("the store reads");
        let whole = activities(model, &history, &opts);
        assert!(
            whole.matches("<iati-activity ").count() > 10,
            "activities ({what})"
        );
        assert!(whole.contains("code=\"12\""), "pledges ({what})");
        assert_eq!(from_store, whole, "IATI ({what})");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fold_as_of_over_a_log_folds_the_state_model_as_of_does() {
    let w = generated(60);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = ledger::store::Store::open(dir.path(), std::time::Duration::ZERO).expect("a store");
    let mut last = std::collections::HashMap::new();
    for e in &w.log {
        let ev = ledger::event::Event::from_bytes(&e.bytes).expect("an event");
        let subject = ev.envelope().producer.clone();
        let at = store
            .append_verbatim_sync(
                &subject,
                last.get(&subject).copied(),
                std::slice::from_ref(&e.bytes),
                e.appended_at,
            )
            .expect("appended");
        last.insert(subject, at[0]);
    }
    let until = w.log.len() as u64 - 3;
    let cut = date("2024-03-20").end();
    let model = model_as_of(&store, until, cut).await.expect("replays");
    let mut seen = Vec::new();
    let mut ws = fold_as_of(&store, until, cut, Some(dir.path()), |n| seen.push(n))
        .await
        .expect("folds");
    assert_eq!(ws.projector().position, until, "folded up to `until` only");
    assert_eq!(seen.last(), Some(&until), "progress reached the end");
    assert_eq!(
        ws.projector().digest_hex().expect("digest"),
        digest_hex(&model)
    );
    assert_eq!(compare(&mut ws, &model, "fold_as_of"), View::ALL.len());
    drop(ws);
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .expect("the directory")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("tallinn-work-"))
        .collect();
    assert!(left.is_empty(), "the workspace is removed: {left:?}");
}
