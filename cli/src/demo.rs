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
use ledger::producer::next_envelope;
use ledger::rules::{evaluate, Outcome, SignatureCheck};
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
        let env = next_envelope(&self.state, ORIGIN, &who, body, self.now);
        let event = Event::sign(env, &self.signers[&who]).expect("demo events encode");
        self.judge_and_queue(event, SignatureCheck::AlreadyVerified)
    }

    fn judge_and_queue(&mut self, event: Event, check: SignatureCheck) -> ledger::ids::EventId {
        // Demo events go on their producer's own subject.
        let outcome = evaluate(&self.state, &event, None, check);
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

/// Plays the demo into a fresh ledger in `dir`; writes the members' keys to `dir/keys`.
pub fn play(dir: &Path, seed: u64, events: u64) -> Result<Played> {
    let keys_dir = dir.join("keys");
    std::fs::create_dir_all(&keys_dir)
        .with_context(|| format!("creating {}", keys_dir.display()))?;
    let store =
        Store::open(&crate::context::log_dir(dir), crate::context::OPEN_WAIT)?.without_flush();
    if !store.is_empty()? {
        anyhow::bail!(
            "{} already holds a ledger; choose an empty --dir",
            dir.display()
        );
    }
    let mut signers = HashMap::new();
    let all_ids = std::iter::once(COORDINATOR)
        .chain(DONORS.iter().map(|d| d.0))
        .chain(RECIPIENTS.iter().map(|r| r.0));
    for id in all_ids {
        let s = demo_signer(seed, id);
        ledger::keyfile::write(&keys_dir.join(format!("{id}.key")), &s)?;
        signers.insert(m(id), s);
    }
    let keys: HashMap<MemberId, ledger::keys::PublicKey> = signers
        .iter()
        .map(|(k, s)| (k.clone(), s.public_key()))
        .collect();
    let member = |id: &str, name: &str, kind: MemberKind, country: &str, roles: Vec<Role>| Member {
        id: m(id),
        name: name.into(),
        kind,
        country: country.into(),
        roles,
        key: keys[&m(id)],
    };
    let coordinator = member(
        COORDINATOR,
        "Tallinn Mechanism secretariat",
        MemberKind::Secretariat,
        "EE",
        vec![Role::Coordinator],
    );
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
    members.extend(RECIPIENTS.iter().take(3).map(|(id, name)| {
        member(
            id,
            name,
            MemberKind::RecipientInstitution,
            "UA",
            vec![Role::Recipient],
        )
    }));
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
    let (gid, gname) = RECIPIENTS[3];
    let grid = member(
        gid,
        gname,
        MemberKind::RecipientInstitution,
        "UA",
        vec![Role::Recipient],
    );
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
    while p.events < events && p.failed.is_none() {
        volume_cycle(&mut p, cycle, step);
        cycle += 1;
    }
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

#[allow(clippy::too_many_arguments)]
fn need(
    id: &str,
    recipient: &str,
    category: Category,
    dac: Option<u32>,
    what: &str,
    qty: Quantity,
    euros: u64,
    priority: Priority,
    by: &str,
) -> Body {
    Body::NeedStated(Need {
        need: item(id),
        recipient: m(recipient),
        category,
        dac_sector: dac,
        description: what.into(),
        quantity: qty,
        estimated_value: eur(euros),
        priority,
        needed_by: Some(day(by)),
    })
}

#[allow(clippy::too_many_arguments)]
fn offer(
    id: &str,
    category: Category,
    modality: Modality,
    what: &str,
    qty: Quantity,
    value: Money,
    until: &str,
    answers: &[&str],
    behalf: Option<Contributor>,
) -> Body {
    Body::OfferMade(Offer {
        offer: item(id),
        on_behalf_of: behalf,
        category,
        dac_sector: Some(22040),
        modality,
        description: what.into(),
        quantity: qty,
        value,
        valid_until: Some(day(until)),
        answers: answers.iter().map(|a| item(a)).collect(),
    })
}

#[allow(clippy::too_many_arguments)]
fn commit(
    id: &str,
    offer: Option<&str>,
    needs: &[&str],
    recipient: &str,
    category: Category,
    what: &str,
    qty: Quantity,
    value: Money,
    tranches: Vec<(&str, u64, u64)>,
) -> Body {
    Body::CommitmentMade(Commitment {
        commitment: item(id),
        offer: offer.map(item),
        needs: needs.iter().map(|n| item(n)).collect(),
        recipient: m(recipient),
        category,
        description: what.into(),
        quantity: qty,
        value,
        tranches: tranches
            .into_iter()
            .map(|(d, q, a)| Tranche {
                expected: day(d),
                quantity: q,
                amount_minor: a,
            })
            .collect(),
    })
}

fn deliver(id: &str, commitment: &str, qty: u64, value: Money, on: &str) -> Body {
    Body::DeliveryRecorded(Delivery {
        delivery: item(id),
        commitment: item(commitment),
        quantity: qty,
        value,
        delivered_on: day(on),
        evidence: Some(ledger::ids::Digest(Sha256::digest(id.as_bytes()).into())),
    })
}

fn receipt(id: &str, delivery: &str, accepted: u64, on: &str, note: Option<&str>) -> Body {
    Body::ReceiptAcknowledged(Receipt {
        receipt: item(id),
        delivery: item(delivery),
        quantity_accepted: accepted,
        received_on: day(on),
        discrepancy: note.map(str::to_string),
    })
}

fn scripted_year(p: &mut Player) {
    use Category::*;
    p.tick(24);
    p.emit(
        "UA-SSSCIP",
        need(
            "UA-SSSCIP/N-001",
            "UA-SSSCIP",
            EndpointDetectionResponse,
            Some(22040),
            "EDR licences for 40 central executive bodies",
            q(4000, "licences"),
            2_400_000,
            Priority::Critical,
            "2025-06-30",
        ),
    );
    p.tick(5);
    p.emit(
        "UA-SSSCIP",
        need(
            "UA-SSSCIP/N-002",
            "UA-GRIDCO",
            Hardware,
            Some(22040),
            "Next-generation firewalls for regional grid substations",
            q(120, "appliances"),
            1_800_000,
            Priority::High,
            "2025-09-30",
        ),
    );
    p.tick(5);
    p.emit(
        "UA-MINDIGITAL",
        need(
            "UA-MINDIGITAL/N-001",
            "UA-MINDIGITAL",
            Training,
            Some(22081),
            "Incident handling training for regional administrations",
            q(600, "person-days"),
            450_000,
            Priority::Medium,
            "2025-12-31",
        ),
    );
    p.tick(5);
    p.emit(
        "UA-NCCC",
        need(
            "UA-NCCC/N-001",
            "UA-NCCC",
            SatelliteCommunications,
            None,
            "Satellite terminals for backup connectivity",
            q(300, "terminals"),
            900_000,
            Priority::High,
            "2025-05-31",
        ),
    );
    p.tick(5);
    p.emit(
        "UA-SSSCIP",
        need(
            "UA-SSSCIP/N-003",
            "UA-SSSCIP",
            SecurityAudit,
            Some(15210),
            "Security audits of 30 critical-infrastructure operators",
            q(30, "audits"),
            1_200_000,
            Priority::High,
            "2025-11-30",
        ),
    );
    p.tick(48);
    // Offers, one on behalf of a company and one of an NGO.
    p.emit(
        "EE-MFA",
        offer(
            "EE-MFA/O-001",
            EndpointDetectionResponse,
            Modality::Services,
            "EDR licences and 24/7 monitoring",
            q(2000, "licences"),
            eur(1_100_000),
            "2025-12-31",
            &["UA-SSSCIP/N-001"],
            None,
        ),
    );
    p.tick(3);
    p.emit(
        "DK-MFA",
        offer(
            "DK-MFA/O-001",
            Hardware,
            Modality::Goods,
            "Firewalls donated by a Danish security vendor",
            q(60, "appliances"),
            Money {
                amount_minor: 700_000_000,
                currency: "DKK".into(),
                eur_minor: 93_800_000,
            },
            "2025-10-31",
            &["UA-SSSCIP/N-002"],
            Some(Contributor {
                name: "Nordlys Security A/S".into(),
                kind: MemberKind::Company,
                country: "DK".into(),
            }),
        ),
    );
    p.tick(3);
    p.emit(
        "DE-AA",
        offer(
            "DE-AA/O-001",
            Training,
            Modality::Training,
            "Incident handling courses run by volunteers",
            q(300, "person-days"),
            eur(210_000),
            "2025-12-31",
            &["UA-MINDIGITAL/N-001"],
            Some(Contributor {
                name: "CyberHilfe e.V.".into(),
                kind: MemberKind::Ngo,
                country: "DE".into(),
            }),
        ),
    );
    p.tick(3);
    p.emit(
        "US-DOS",
        offer(
            "US-DOS/O-001",
            SatelliteCommunications,
            Modality::Goods,
            "Satellite terminals with one year of airtime",
            q(300, "terminals"),
            Money {
                amount_minor: 97_000_000,
                currency: "USD".into(),
                eur_minor: 89_500_000,
            },
            "2025-06-30",
            &["UA-NCCC/N-001"],
            None,
        ),
    );
    p.tick(3);
    p.emit(
        "FR-MEAE",
        offer(
            "FR-MEAE/O-001",
            SecurityAudit,
            Modality::Services,
            "Audits by accredited French auditors",
            q(10, "audits"),
            eur(400_000),
            "2025-12-31",
            &["UA-SSSCIP/N-003"],
            None,
        ),
    );
    p.tick(3);
    p.emit(
        "IT-MAECI",
        offer(
            "IT-MAECI/O-001",
            Consulting,
            Modality::Services,
            "Security architecture advisory (pledge only)",
            q(100, "person-days"),
            eur(150_000),
            "2025-12-31",
            &[],
            None,
        ),
    );
    p.tick(3);
    p.emit(
        "PL-MSZ",
        offer(
            "PL-MSZ/O-001",
            Hardware,
            Modality::Goods,
            "Firewall appliances",
            q(60, "appliances"),
            eur(850_000),
            "2025-10-31",
            &["UA-SSSCIP/N-002"],
            None,
        ),
    );
    p.tick(72);
    // Commitments with tranches.
    p.emit(
        "EE-MFA",
        commit(
            "EE-MFA/C-001",
            Some("EE-MFA/O-001"),
            &["UA-SSSCIP/N-001"],
            "UA-SSSCIP",
            EndpointDetectionResponse,
            "EDR licences, two tranches",
            q(2000, "licences"),
            eur(1_100_000),
            vec![
                ("2025-03-31", 1000, 55_000_000),
                ("2025-06-30", 1000, 55_000_000),
            ],
        ),
    );
    p.tick(6);
    p.emit(
        "DK-MFA",
        commit(
            "DK-MFA/C-001",
            Some("DK-MFA/O-001"),
            &["UA-SSSCIP/N-002"],
            "UA-GRIDCO",
            Hardware,
            "Firewalls for substations",
            q(60, "appliances"),
            Money {
                amount_minor: 700_000_000,
                currency: "DKK".into(),
                eur_minor: 93_800_000,
            },
            vec![("2025-04-30", 60, 700_000_000)],
        ),
    );
    p.tick(6);
    p.emit(
        "US-DOS",
        commit(
            "US-DOS/C-001",
            Some("US-DOS/O-001"),
            &["UA-NCCC/N-001"],
            "UA-NCCC",
            SatelliteCommunications,
            "Satellite terminals",
            q(300, "terminals"),
            Money {
                amount_minor: 97_000_000,
                currency: "USD".into(),
                eur_minor: 89_500_000,
            },
            vec![
                ("2025-03-15", 150, 48_500_000),
                ("2025-05-15", 150, 48_500_000),
            ],
        ),
    );
    p.tick(6);
    p.emit(
        "DE-AA",
        commit(
            "DE-AA/C-001",
            Some("DE-AA/O-001"),
            &["UA-MINDIGITAL/N-001"],
            "UA-MINDIGITAL",
            Training,
            "Incident handling courses",
            q(300, "person-days"),
            eur(210_000),
            vec![
                ("2025-06-30", 150, 10_500_000),
                ("2025-10-31", 150, 10_500_000),
            ],
        ),
    );
    p.tick(6);
    p.emit(
        "FR-MEAE",
        commit(
            "FR-MEAE/C-001",
            Some("FR-MEAE/O-001"),
            &["UA-SSSCIP/N-003"],
            "UA-SSSCIP",
            SecurityAudit,
            "Ten audits",
            q(10, "audits"),
            eur(400_000),
            vec![("2025-05-31", 5, 20_000_000), ("2025-09-30", 5, 20_000_000)],
        ),
    );
    p.tick(6);
    // The overdue one: nothing will ever be delivered on it.
    p.emit(
        "PL-MSZ",
        commit(
            "PL-MSZ/C-001",
            Some("PL-MSZ/O-001"),
            &["UA-SSSCIP/N-002"],
            "UA-GRIDCO",
            Hardware,
            "Firewall appliances",
            q(60, "appliances"),
            eur(850_000),
            vec![("2025-06-30", 60, 85_000_000)],
        ),
    );
    p.tick(6);
    p.emit(
        "GB-GOV-1",
        commit(
            "GB-GOV-1/C-001",
            None,
            &["UA-SSSCIP/N-003"],
            "UA-SSSCIP",
            SecurityAudit,
            "Audits of energy operators",
            q(12, "audits"),
            Money {
                amount_minor: 42_000_000,
                currency: "GBP".into(),
                eur_minor: 49_500_000,
            },
            vec![("2025-07-31", 12, 42_000_000)],
        ),
    );
    p.tick(6);
    p.emit(
        "SE-UD",
        commit(
            "SE-UD/C-001",
            None,
            &["UA-MINDIGITAL/N-001"],
            "UA-MINDIGITAL",
            Funding,
            "Grant for training infrastructure",
            q(1, "grant"),
            eur(300_000),
            vec![],
        ),
    );
    p.tick(6);
    p.emit(
        "CA-GAC",
        commit(
            "CA-GAC/C-001",
            None,
            &["UA-SSSCIP/N-001"],
            "UA-SSSCIP",
            SoftwareLicences,
            "SIEM licences",
            q(500, "licences"),
            Money {
                amount_minor: 60_000_000,
                currency: "CAD".into(),
                eur_minor: 40_800_000,
            },
            vec![("2025-04-30", 500, 60_000_000)],
        ),
    );
    p.tick(6);
    p.emit(
        "XM-DAC-7",
        commit(
            "XM-DAC-7/C-001",
            None,
            &["UA-SSSCIP/N-001"],
            "UA-SSSCIP",
            IncidentResponse,
            "Incident response retainer",
            q(12, "months"),
            eur(600_000),
            vec![("2025-03-31", 6, 30_000_000), ("2025-09-30", 6, 30_000_000)],
        ),
    );
    p.tick(24 * 20);
    // Deliveries and receipts through the year.
    p.emit(
        "US-DOS",
        deliver(
            "US-DOS/D-001",
            "US-DOS/C-001",
            150,
            Money {
                amount_minor: 48_500_000,
                currency: "USD".into(),
                eur_minor: 44_750_000,
            },
            "2025-03-10",
        ),
    );
    p.tick(24);
    p.emit(
        "EE-MFA",
        deliver(
            "EE-MFA/D-001",
            "EE-MFA/C-001",
            1000,
            eur(550_000),
            "2025-03-20",
        ),
    );
    p.tick(24);
    p.emit(
        "XM-DAC-7",
        deliver(
            "XM-DAC-7/D-001",
            "XM-DAC-7/C-001",
            6,
            eur(300_000),
            "2025-03-28",
        ),
    );
    p.tick(24 * 3);
    p.emit(
        "UA-NCCC",
        receipt(
            "UA-NCCC/R-001",
            "US-DOS/D-001",
            146,
            "2025-03-25",
            Some("4 terminals damaged in transit"),
        ),
    );
    p.tick(5);
    p.emit(
        "UA-SSSCIP",
        receipt("UA-SSSCIP/R-001", "EE-MFA/D-001", 1000, "2025-03-27", None),
    );
    p.tick(24 * 10);
    p.emit(
        "DK-MFA",
        deliver(
            "DK-MFA/D-001",
            "DK-MFA/C-001",
            60,
            Money {
                amount_minor: 700_000_000,
                currency: "DKK".into(),
                eur_minor: 93_800_000,
            },
            "2025-04-22",
        ),
    );
    p.tick(24);
    p.emit(
        "CA-GAC",
        deliver(
            "CA-GAC/D-001",
            "CA-GAC/C-001",
            500,
            Money {
                amount_minor: 60_000_000,
                currency: "CAD".into(),
                eur_minor: 40_800_000,
            },
            "2025-04-28",
        ),
    );
    p.tick(24 * 5);
    p.emit(
        "UA-GRIDCO",
        receipt("UA-GRIDCO/R-001", "DK-MFA/D-001", 60, "2025-05-02", None),
    );
    p.tick(24 * 10);
    p.emit(
        "US-DOS",
        deliver(
            "US-DOS/D-002",
            "US-DOS/C-001",
            150,
            Money {
                amount_minor: 48_500_000,
                currency: "USD".into(),
                eur_minor: 44_750_000,
            },
            "2025-05-14",
        ),
    );
    p.tick(24);
    p.emit(
        "FR-MEAE",
        deliver(
            "FR-MEAE/D-001",
            "FR-MEAE/C-001",
            5,
            eur(200_000),
            "2025-05-30",
        ),
    );
    p.tick(24 * 5);
    p.emit(
        "UA-NCCC",
        receipt("UA-NCCC/R-002", "US-DOS/D-002", 150, "2025-05-20", None),
    );
    // An amendment: the real world changed.
    p.tick(24 * 10);
    p.emit(
        "DE-AA",
        Body::Amended(Change {
            target: item("DE-AA/C-001"),
            fields: ChangeFields {
                tranches: Some(vec![
                    Tranche {
                        expected: day("2025-07-31"),
                        quantity: 150,
                        amount_minor: 10_500_000,
                    },
                    Tranche {
                        expected: day("2025-11-30"),
                        quantity: 150,
                        amount_minor: 10_500_000,
                    },
                ]),
                ..Default::default()
            },
            reason: "Course venue moved; both tranches one month later".into(),
        }),
    );
    p.tick(24 * 10);
    p.emit(
        "EE-MFA",
        deliver(
            "EE-MFA/D-002",
            "EE-MFA/C-001",
            1000,
            eur(550_000),
            "2025-06-25",
        ),
    );
    p.tick(24 * 3);
    p.emit(
        "SE-UD",
        deliver("SE-UD/D-001", "SE-UD/C-001", 1, eur(300_000), "2025-06-27"),
    );
    // A correction: the record was wrong.
    p.tick(24 * 2);
    p.emit(
        "EE-MFA",
        Body::Corrected(Change {
            target: item("EE-MFA/D-002"),
            fields: ChangeFields {
                value: Some(eur(540_000)),
                ..Default::default()
            },
            reason: "Invoice total was 540,000 EUR, not 550,000".into(),
        }),
    );
    p.tick(24 * 5);
    p.emit(
        "UA-SSSCIP",
        receipt(
            "UA-SSSCIP/R-002",
            "EE-MFA/D-002",
            990,
            "2025-07-03",
            Some("10 licences could not be activated"),
        ),
    );
    p.tick(24 * 20);
    p.emit(
        "DE-AA",
        deliver(
            "DE-AA/D-001",
            "DE-AA/C-001",
            150,
            eur(105_000),
            "2025-07-30",
        ),
    );
    p.tick(24 * 3);
    p.emit(
        "GB-GOV-1",
        deliver(
            "GB-GOV-1/D-001",
            "GB-GOV-1/C-001",
            6,
            Money {
                amount_minor: 21_000_000,
                currency: "GBP".into(),
                eur_minor: 24_750_000,
            },
            "2025-08-01",
        ),
    );
    p.tick(24 * 5);
    p.emit(
        "UA-MINDIGITAL",
        receipt(
            "UA-MINDIGITAL/R-001",
            "DE-AA/D-001",
            150,
            "2025-08-04",
            None,
        ),
    );
    // A cancellation: France cancels the remaining balance of its audits.
    p.tick(24 * 30);
    p.emit(
        "FR-MEAE",
        Body::Cancelled(Cancellation {
            target: item("FR-MEAE/C-001"),
            scope: CancelScope::RemainingBalance,
            reason: "Operators audited under the UK commitment instead".into(),
        }),
    );
    p.tick(24 * 10);
    p.emit(
        "XM-DAC-7",
        deliver(
            "XM-DAC-7/D-002",
            "XM-DAC-7/C-001",
            6,
            eur(300_000),
            "2025-09-25",
        ),
    );
    p.tick(24 * 5);
    p.emit(
        "UA-SSSCIP",
        receipt("UA-SSSCIP/R-003", "XM-DAC-7/D-001", 6, "2025-09-29", None),
    );
    // Events the rules must reject, kept in the log but never counted.
    p.tick(24);
    // 1. A delivery on another donor's commitment.
    p.emit(
        "DE-AA",
        deliver("DE-AA/D-002", "EE-MFA/C-001", 10, eur(5_000), "2025-10-01"),
    );
    p.tick(2);
    // 2. An over-delivery.
    p.emit(
        "CA-GAC",
        deliver(
            "CA-GAC/D-002",
            "CA-GAC/C-001",
            50,
            Money {
                amount_minor: 6_000_000,
                currency: "CAD".into(),
                eur_minor: 4_080_000,
            },
            "2025-10-01",
        ),
    );
    p.tick(2);
    // 3. A receipt by the wrong institution.
    p.emit(
        "UA-MINDIGITAL",
        receipt(
            "UA-MINDIGITAL/R-002",
            "CA-GAC/D-001",
            500,
            "2025-10-02",
            None,
        ),
    );
    p.tick(2);
    // 4. A forged event: signed with a key that is not SE-UD's.
    let env = next_envelope(
        &p.state,
        ORIGIN,
        &m("SE-UD"),
        deliver("SE-UD/D-002", "SE-UD/C-001", 1, eur(300_000), "2025-10-02"),
        p.now,
    );
    let impostor = Signer::from_seed("SE-UD", [0x66; 32]).expect("valid");
    let forged = Event::sign(env, &impostor).expect("encodes");
    p.judge_and_queue(forged, SignatureCheck::Verify);
    p.tick(24 * 30);
    p.emit(
        "UA-SSSCIP",
        receipt("UA-SSSCIP/R-004", "CA-GAC/D-001", 500, "2025-11-03", None),
    );
    p.tick(24 * 20);
    p.emit(
        "DE-AA",
        deliver(
            "DE-AA/D-003",
            "DE-AA/C-001",
            150,
            eur(105_000),
            "2025-11-25",
        ),
    );
    p.tick(24 * 10);
}

/// Events of a volume cycle, at least (for spreading them over time): a
/// need, an offer, a commitment, two deliveries, and a receipt for about four
/// in five deliveries.
const EVENTS_PER_CYCLE: u64 = 6;

/// Steps of the clock in one volume cycle.
const STEPS_PER_CYCLE: u64 = 6;

/// The volume cycles end before this time (in the past): spread over the
/// months after the scripted year, at any volume.
const VOLUME_END: &str = "2026-04-01T00:00:00Z";

/// The clock step (ms) of `cycles` volume cycles starting at `from`: an hour,
/// or less so that they end by [`VOLUME_END`] (at least a millisecond).
fn volume_step(from: Timestamp, cycles: u64) -> i64 {
    let end: Timestamp = VOLUME_END.parse().expect("a valid time");
    let span = (end.0 - from.0).max(0);
    let steps = (cycles * STEPS_PER_CYCLE).max(1) as i64;
    (span / steps).clamp(1, HOUR)
}

/// One volume cycle: a need, an offer, a commitment with two tranches, two
/// deliveries and most of their receipts (six or seven events), the clock moving by
/// `step` ms between them.
fn volume_cycle(p: &mut Player, cycle: u64, step: i64) {
    let donor = DONORS[p.rng.below(11) as usize].0;
    let (recipient, _) = RECIPIENTS[p.rng.below(4) as usize];
    let stater = if recipient == "UA-GRIDCO" {
        "UA-SSSCIP"
    } else {
        recipient
    };
    let category = Category::ALL[p.rng.below(Category::ALL.len() as u64) as usize];
    let units = 10 + p.rng.below(500);
    let unit_price = 50 + p.rng.below(2000);
    let euros = units * unit_price;
    let need_id = format!("{stater}/N-V{cycle}");
    let offer_id = format!("{donor}/O-V{cycle}");
    let c_id = format!("{donor}/C-V{cycle}");
    p.now = p.now.add_ms(step);
    let today = p.now.date();
    let by = today.add_days(180).to_string();
    p.emit(
        stater,
        need(
            &need_id,
            recipient,
            category,
            None,
            "Volume need",
            q(units, "units"),
            euros,
            Priority::Medium,
            &by,
        ),
    );
    p.now = p.now.add_ms(step);
    p.emit(
        donor,
        offer(
            &offer_id,
            category,
            Modality::Goods,
            "Volume offer",
            q(units, "units"),
            eur(euros),
            &by,
            &[&need_id],
            None,
        ),
    );
    p.now = p.now.add_ms(step);
    let half = units / 2;
    let t1 = today.add_days(30).to_string();
    let t2 = today.add_days(60).to_string();
    p.emit(
        donor,
        commit(
            &c_id,
            Some(&offer_id),
            &[&need_id],
            recipient,
            category,
            "Volume commitment",
            q(units, "units"),
            eur(euros),
            vec![
                (&t1, half, half * unit_price * 100),
                (&t2, units - half, (units - half) * unit_price * 100),
            ],
        ),
    );
    let on = today.to_string();
    for (i, qty) in [half, units - half].into_iter().enumerate() {
        p.now = p.now.add_ms(step);
        let d_id = format!("{donor}/D-V{cycle}-{i}");
        p.emit(
            donor,
            deliver(&d_id, &c_id, qty, eur(qty * unit_price), &on),
        );
        if p.rng.below(10) < 8 {
            p.now = p.now.add_ms(step);
            let r_id = format!("{recipient}/R-V{cycle}-{i}");
            p.emit(recipient, receipt(&r_id, &d_id, qty, &on, None));
        }
    }
}
