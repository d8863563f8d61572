//! `tallinn demo`: a deterministic year of coordination on a simulated clock.
//!
//! Keys derive from the seed, the clock is simulated, so one seed gives the same
//! events, ids and digest on every run. Some events deliberately break the rules
//! (as a buggy or hostile producer would) to show they are kept but never counted.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result};
use ledger::body::*;
use ledger::calendar::{Date, Timestamp};
use ledger::category::Category;
use ledger::checkpoint::{cosign, Checkpoint};
use ledger::checkpoint_store::CheckpointStore;
use ledger::event::Event;
use ledger::ids::{ItemId, MemberId};
use ledger::keys::Signer;
use ledger::member::{Member, MemberKind, Role};
use ledger::money::{Money, Quantity};
use ledger::producer::step;
use ledger::rules::{Outcome, SignatureCheck};
use ledger::state::State;
use ledger::store::Store;
use sha2::{Digest as _, Sha256};

/// The demo ledger's origin.
pub const ORIGIN: &str = "tallinn-mechanism.example/ledger";
const HOUR: i64 = 3_600_000;

/// A small deterministic PRNG (splitmix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// (id, name, kind, country, roles)
const DONORS: [(&str, &str, &str); 12] = [
    ("CA-GAC", "Global Affairs Canada", "CA"),
    ("DK-MFA", "Ministry of Foreign Affairs of Denmark", "DK"),
    ("EE-MFA", "Ministry of Foreign Affairs of Estonia", "EE"),
    (
        "FR-MEAE",
        "Ministry for Europe and Foreign Affairs (France)",
        "FR",
    ),
    ("DE-AA", "Federal Foreign Office (Germany)", "DE"),
    (
        "XM-DAC-7",
        "Ministry of Foreign Affairs of the Netherlands",
        "NL",
    ),
    ("PL-MSZ", "Ministry of Foreign Affairs of Poland", "PL"),
    ("SE-UD", "Ministry for Foreign Affairs of Sweden", "SE"),
    (
        "GB-GOV-1",
        "Foreign, Commonwealth & Development Office",
        "GB",
    ),
    ("US-DOS", "U.S. Department of State", "US"),
    ("IT-MAECI", "Ministry of Foreign Affairs of Italy", "IT"),
    ("UA-MFA", "Ministry of Foreign Affairs of Ukraine", "UA"),
];
const RECIPIENTS: [(&str, &str); 4] = [
    (
        "UA-SSSCIP",
        "State Service of Special Communications and Information Protection",
    ),
    (
        "UA-MINDIGITAL",
        "Ministry of Digital Transformation of Ukraine",
    ),
    ("UA-NCCC", "National Coordination Center for Cybersecurity"),
    (
        "UA-GRIDCO",
        "Regional power grid operator (critical infrastructure)",
    ),
];
/// The demo coordinator (the log operator).
pub const COORDINATOR: &str = "TM-SECRETARIAT";

/// What the demo wrote.
pub struct Played {
    /// Events appended.
    pub events: u64,
    /// Events the rules reject (deliberately bad).
    pub rejected: u64,
}

/// The members who witness the demo's checkpoint (cosign it).
pub const WITNESSES: [&str; 2] = [DONORS[0].0, DONORS[1].0];

impl Player {
    /// The coordinator signs a checkpoint of the whole log at the simulated
    /// time, the [`WITNESSES`] cosign it, and it is kept beside the log: so the
    /// demo's audit bundle meets `audit verify`'s default policy.
    fn attest(&mut self) -> Result<()> {
        let (tree, subjects) = (&self.tree, &self.subjects);
        let secs = (self.now.0 / 1000) as u64;
        let cp = Checkpoint::with_time(ORIGIN, tree.size(), tree.root(), secs)?
            .with_subjects(subjects.digest);
        let mut note = cp.sign(&self.signers[&m(COORDINATOR)])?;
        let cs = CheckpointStore::open(self.store.db())?;
        for w in WITNESSES {
            let cosig = cosign(&note.text, &self.signers[&m(w)], secs)?;
            note.signatures.push(cosig);
        }
        let stored = cs.put(tree.size(), &note)?;
        for w in WITNESSES {
            cs.set_witness_last(w, &stored)?;
        }
        cs.set_frontier(tree, subjects)?;
        Ok(())
    }
}

/// The demo player: a state, a store, signers and a simulated clock.
struct Player {
    state: State,
    store: Store,
    signers: HashMap<MemberId, Signer>,
    now: Timestamp,
    last_pos: HashMap<MemberId, u64>,
    pending: Vec<(MemberId, Vec<u8>)>,
    events: u64,
    rejected: u64,
    rng: Rng,
    /// The first append that failed: nothing is written after it.
    failed: Option<anyhow::Error>,
    /// Playing volume cycles (business dates do not move the clock).
    volume: bool,
    /// The Merkle frontier and subjects chain of the entries appended.
    tree: ledger::merkle::MerkleTree,
    subjects: ledger::subjects::Subjects,
}

fn m(id: &str) -> MemberId {
    id.parse().expect("demo member ids are valid")
}

fn item(id: &str) -> ItemId {
    id.parse().expect("demo item ids are valid")
}

fn eur(euros: u64) -> Money {
    Money::eur(euros * 100)
}

fn q(amount: u64, unit: &str) -> Quantity {
    Quantity {
        amount,
        unit: unit.into(),
    }
}

fn day(s: &str) -> Date {
    s.parse().expect("demo dates are valid")
}

/// The signer of `member` for `seed`.
pub fn demo_signer(seed: u64, member: &str) -> Signer {
    let mut h = Sha256::new();
    h.update(b"tallinn-demo-key\n");
    h.update(seed.to_be_bytes());
    h.update(member.as_bytes());
    Signer::from_seed(member, h.finalize().into()).expect("demo names are valid")
}

impl Player {
    fn tick(&mut self, hours: i64) {
        self.now = self.now.add_ms(hours * HOUR);
    }

    /// Signs, judges and queues an event by `who`; returns its id.
    fn emit(&mut self, who: &str, body: Body) -> ledger::ids::EventId {
        // Business dates are in the past of the recording: move the clock past them.
        let business = match &body {
            Body::DeliveryRecorded(d) => Some(d.delivered_on),
            Body::ReceiptAcknowledged(r) => Some(r.received_on),
            _ => None,
        };
        if let Some(d) = business {
            // In volume cycles a business date is the recording day, which
            // the rules allow: the clock is not moved (it must not run ahead).
            if !self.volume || d > self.now.date() {
                self.now = self.now.max(d.start().add_ms(17 * HOUR));
            }
        }
        let who = m(who);
        let signer = &self.signers[&who];
        let check = SignatureCheck::AlreadyVerified;
        let (event, outcome) = step(&self.state, ORIGIN, &who, body, self.now, signer, check)
            .expect("demo events encode");
        self.queue(event, outcome)
    }

    /// Applies and queues an event the producer step judged: unlike a
    /// producer command, the demo stores rejected events too (its deliberately
    /// bad ones), on their producer's own subject.
    fn queue(&mut self, event: Event, outcome: Outcome) -> ledger::ids::EventId {
        if outcome != Outcome::Accepted {
            self.rejected += 1;
        }
        self.state.apply(&event, &outcome);
        let who = event.envelope().producer.clone();
        if self.pending.last().is_some_and(|(p, _)| p != &who) {
            // A failed append (a full disk) is kept and returned by `play`;
            // the scenario runs on without writing.
            if let Err(e) = self.flush_pending() {
                self.failed.get_or_insert(e);
                self.pending.clear();
            }
        }
        self.pending.push((who, event.bytes().to_vec()));
        self.events += 1;
        event.id()
    }

    fn flush_pending(&mut self) -> Result<()> {
        let Some((who, _)) = self.pending.first().cloned() else {
            return Ok(());
        };
        if self.failed.is_some() {
            self.pending.clear();
            return Ok(());
        }
        let bytes: Vec<Vec<u8>> = self.pending.drain(..).map(|(_, b)| b).collect();
        let expected = self.last_pos.get(&who).copied();
        let positions = self.store.append_sync(&who, expected, &bytes, self.now)?;
        // The tree and subjects of what is stored, for the final checkpoint.
        for b in &bytes {
            self.tree.push(ledger::event::leaf_hash(b));
            self.subjects.push(who.as_str());
        }
        self.last_pos
            .insert(who, *positions.last().expect("non-empty append"));
        Ok(())
    }
}

/// The demo's signers (derived from `seed`), their keys written to `keys_dir`.
fn write_keys(keys_dir: &Path, seed: u64) -> Result<HashMap<MemberId, Signer>> {
    std::fs::create_dir_all(keys_dir)
        .with_context(|| format!("creating {}", keys_dir.display()))?;
    let mut signers = HashMap::new();
    let all_ids = std::iter::once(COORDINATOR)
        .chain(DONORS.iter().map(|d| d.0))
        .chain(RECIPIENTS.iter().map(|r| r.0));
    for id in all_ids {
        let s = demo_signer(seed, id);
        ledger::keyfile::write(&keys_dir.join(format!("{id}.key")), &s)?;
        signers.insert(m(id), s);
    }
    Ok(signers)
}

/// The genesis's coordinator and members, and the recipient admitted after it.
fn founding_members(signers: &HashMap<MemberId, Signer>) -> (Member, Vec<Member>, Member) {
    let member = |id: &str, name: &str, kind: MemberKind, country: &str, roles: Vec<Role>| Member {
        id: m(id),
        name: name.into(),
        kind,
        country: country.into(),
        roles,
        key: signers[&m(id)].public_key(),
    };
    let coordinator = member(
        COORDINATOR,
        "Tallinn Mechanism secretariat",
        MemberKind::Secretariat,
        "EE",
        vec![Role::Coordinator],
    );
    let recipient = |(id, name): &(&str, &str)| {
        member(
            id,
            name,
            MemberKind::RecipientInstitution,
            "UA",
            vec![Role::Recipient],
        )
    };
    let mut members: Vec<Member> = DONORS
        .iter()
        .map(|(id, name, c)| {
            let roles = if *c == "UA" {
                vec![Role::Donor, Role::Recipient]
            } else {
                vec![Role::Donor]
            };
            member(id, name, MemberKind::Ministry, c, roles)
        })
        .collect();
    members.extend(RECIPIENTS.iter().take(3).map(recipient));
    (coordinator, members, recipient(&RECIPIENTS[3]))
}

/// Plays the demo into a fresh ledger in `dir`; writes the members' keys to `dir/keys`.
pub fn play(dir: &Path, seed: u64, events: u64) -> Result<Played> {
    let signers = write_keys(&dir.join("keys"), seed)?;
    let store =
        Store::open(&crate::context::log_dir(dir), crate::context::OPEN_WAIT)?.without_flush();
    if !store.is_empty()? {
        anyhow::bail!(
            "{} already holds a ledger; choose an empty --dir",
            dir.display()
        );
    }
    let (coordinator, members, grid) = founding_members(&signers);
    let mut p = Player {
        state: State::new(),
        store,
        signers,
        now: "2025-01-06T09:00:00Z".parse().expect("valid"),
        last_pos: HashMap::new(),
        pending: Vec::new(),
        events: 0,
        rejected: 0,
        rng: Rng(seed),
        failed: None,
        tree: ledger::merkle::MerkleTree::default(),
        subjects: ledger::subjects::Subjects::new(),
        volume: false,
    };
    p.emit(
        COORDINATOR,
        Body::Genesis(Genesis {
            origin: ORIGIN.into(),
            coordinator,
            members,
        }),
    );
    p.tick(24);
    p.emit(
        COORDINATOR,
        Body::MemberAdmitted(MemberAdmitted { member: grid }),
    );
    scripted_year(&mut p);
    // Volume: more coordination cycles until `events` are reached, spread
    // over the months after the scripted year so that the clock never passes
    // `VOLUME_END`, in the past (a ledger never records the future).
    let cycles = events.saturating_sub(p.events).div_ceil(EVENTS_PER_CYCLE);
    let step = volume_step(p.now, cycles);
    p.volume = true;
    let mut cycle = 0u64;
    let bar = crate::progress::bar(events, "events signed and stored", false);
    while p.events < events && p.failed.is_none() {
        volume_cycle(&mut p, cycle, step);
        cycle += 1;
        if cycle.is_multiple_of(64) {
            crate::progress::set(&bar, p.events);
        }
    }
    crate::progress::finish(bar);
    p.flush_pending()?;
    if let Some(e) = p.failed.take() {
        return Err(e.context(format!(
            "writing the demo ledger in {} (the events before it are stored)",
            dir.display()
        )));
    }
    p.attest()?;
    p.store.flush()?;
    Ok(Played {
        events: p.events,
        rejected: p.rejected,
    })
}

/// The scripted year, as data (see the file's header): what `play` plays
/// after the genesis and the first admission.
const SCRIPTED_YEAR: &str = include_str!("scripted_year.jsonl");

/// One step of the scripted year.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum Step {
    /// The clock moves this many hours.
    Tick(i64),
    /// A member signs and appends a body.
    Emit(Signed),
    /// A body in a member's name, signed with a key that is not the member's.
    Forge(Signed),
}

/// A body and the member it is in the name of.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Signed {
    by: String,
    body: Body,
}

/// Plays the scripted year.
fn scripted_year(p: &mut Player) {
    for (i, line) in SCRIPTED_YEAR.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let next: Step = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("scripted_year.jsonl line {}: {e}", i + 1));
        match next {
            Step::Tick(hours) => p.tick(hours),
            Step::Emit(Signed { by, body }) => {
                p.emit(&by, body);
            }
            Step::Forge(Signed { by, body }) => {
                let impostor = Signer::from_seed(&by, [0x66; 32]).expect("valid");
                let check = SignatureCheck::Verify;
                let (forged, outcome) =
                    step(&p.state, ORIGIN, &m(&by), body, p.now, &impostor, check)
                        .expect("encodes");
                p.queue(forged, outcome);
            }
        }
    }
}

mod run;
mod volume;

pub use run::{run, DemoArgs};
use volume::{volume_cycle, volume_step, EVENTS_PER_CYCLE};
