//! The streamed audit: events pushed in log order, a batch at a time, judged
//! and folded by a [`Projector`] on a working directory of the audit's own
//! (so the rules state and read model live on disk, as the projector keeps
//! them); the checkpoints are given first. Memory holds two segments (one
//! folded, the next prepared meanwhile), the members' keys at each
//! checkpoint size and the findings, whatever the length of the log.

use std::collections::{BTreeMap, HashMap, HashSet};

use ledger::bundle::AuditEvent;
use ledger::checkpoint::{Checkpoint, Note};
use ledger::event::Event;
use ledger::ids::Digest;
use ledger::keys::{parse_vkey, PublicKey};
use ledger::log::Entry;
use ledger::rules::{Outcome, Rejection};
use ledger::state::State;
use ledger::subjects::Subjects;

use super::{
    checkpoint_order, event_finding, expected_key, keys_of, signature_checked, Finding, ForkFound,
    Keys, Trust,
};
use crate::run::{Projector, RunError};
use crate::timebounds::{TimeBounds, Timed};
pub use crate::workspace::Workspace;

use super::segment::{Segment, StatedViews};

/// What a bundle states about itself (nothing, for a live log).
#[derive(Debug, Clone, Default)]
pub struct Stated {
    /// The number of events (`size`).
    pub size: Option<u64>,
    /// The Merkle root (`root`).
    pub root: Option<Digest>,
    /// The origin (`origin`).
    pub origin: Option<String>,
}

/// Counters of the report.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    sigs: u64,
    links: u64,
    accepted: u64,
    by_rules: u64,
}

/// Signer texts parsed at most once while the cache holds them (a ledger
/// has few keys; a crafted bundle with a new text per event only refills it).
const SIGNER_CACHE: usize = 4096;

/// The streamed auditor (see the module's documentation).
pub struct Auditor {
    pub(super) trust: Trust,
    pub(super) stated: Stated,
    /// Parsed checkpoints, by size (stable).
    pub(super) cps: Vec<(Note, Checkpoint)>,
    /// Their distinct sizes, increasing: a batch is cut at each.
    bounds: Vec<u64>,
    next_bound: usize,
    /// The keys of the ledger at each checkpoint size reached.
    pub(super) keys_at: BTreeMap<u64, Keys>,
    subjects: Subjects,
    /// (size, subjects digest, index in `cps`), by size.
    subjects_wanted: Vec<(u64, Digest, usize)>,
    next_subject: usize,
    pub(super) subject_findings: Vec<Finding>,
    times: TimeBounds,
    /// Time notes, with the position and time they were found at.
    pub(super) time_notes: Vec<(Finding, Option<ledger::calendar::Timestamp>)>,
    signer_keys: HashMap<String, Option<(String, PublicKey)>>,
    /// Events folded.
    pub(super) n: u64,
    /// Events pushed (folded, or in `pending`).
    pushed: u64,
    /// Where the next segment is cut: the first bound above `pushed`.
    cut: usize,
    /// The segment pushed last, prepared, folded when the next one comes
    /// (or at the end).
    pending: Option<Segment>,
    position_reported: bool,
    /// Problems found before the events (malformed or misordered checkpoints).
    pub(super) head: Vec<Finding>,
    pub(super) problems: Vec<Finding>,
    pub(super) refused: Vec<Finding>,
    pub(super) notes: Vec<Finding>,
    pub(super) forks: Vec<ForkFound>,
    /// Refusals of replays, whose first position is found at the end.
    pub(super) duplicates: Vec<(usize, Digest)>,
    /// Forks, whose first event's position is found at the end.
    pub(super) fork_ids: Vec<Digest>,
    counts: Counts,
}

impl Auditor {
    /// An auditor of the events pushed next, against `checkpoints` (signed
    /// notes as text) under `trust`.
    pub fn new(checkpoints: &[String], stated: Stated, trust: &Trust) -> Auditor {
        let mut head = Vec::new();
        let mut cps: Vec<(Note, Checkpoint)> = Vec::new();
        for (i, text) in checkpoints.iter().enumerate() {
            match Note::parse(text.as_bytes())
                .and_then(|note| Checkpoint::parse_body(&note.text).map(|cp| (note, cp)))
            {
                Ok(pair) => cps.push(pair),
                Err(e) => head.push(Finding {
                    position: None,
                    checkpoint: None,
                    id: None,
                    member: None,
                    code: "checkpoint_malformed".into(),
                    reason: format!("checkpoint {i}: {e}"),
                }),
            }
        }
        head.extend(checkpoint_order(&cps));
        cps.sort_by_key(|(_, cp)| cp.size);
        let mut bounds: Vec<u64> = cps.iter().map(|(_, cp)| cp.size).collect();
        bounds.dedup();
        let subjects_wanted: Vec<(u64, Digest, usize)> = cps
            .iter()
            .enumerate()
            .filter_map(|(i, (_, cp))| Some((cp.size, cp.subjects()?, i)))
            .collect();
        let timed = timed(&cps);
        let mut auditor = Auditor {
            trust: trust.clone(),
            stated,
            cps,
            bounds,
            next_bound: 0,
            keys_at: BTreeMap::new(),
            subjects: Subjects::new(),
            subjects_wanted,
            next_subject: 0,
            subject_findings: Vec::new(),
            times: TimeBounds::new(&timed),
            time_notes: Vec::new(),
            signer_keys: HashMap::new(),
            n: 0,
            pushed: 0,
            cut: 0,
            pending: None,
            position_reported: false,
            head,
            problems: Vec::new(),
            refused: Vec::new(),
            notes: Vec::new(),
            forks: Vec::new(),
            duplicates: Vec::new(),
            fork_ids: Vec::new(),
            counts: Counts::default(),
        };
        auditor.keys_at.insert(0, Keys::default());
        auditor.check_subjects();
        auditor
    }

    /// Audits the next `events` (in log order), folding them into `p` (the
    /// workspace's projector, which saves when due). The events are cut in
    /// segments at checkpoint sizes; each is prepared (decoded, hashed, its
    /// signatures verified ahead) on the thread pool while the segment
    /// before it is folded, and folded on the next push or at
    /// [`Auditor::finish`].
    pub fn push(&mut self, p: &mut Projector, mut events: Vec<AuditEvent>) -> Result<(), RunError> {
        self.record_bounds(p);
        while !events.is_empty() {
            // A segment ends at the next checkpoint size: the keys are taken there.
            while self.bounds.get(self.cut).is_some_and(|&b| b <= self.pushed) {
                self.cut += 1;
            }
            let room = match self.bounds.get(self.cut) {
                Some(&b) => (b - self.pushed) as usize,
                None => usize::MAX,
            };
            let rest = if events.len() > room {
                events.split_off(room)
            } else {
                Vec::new()
            };
            self.step(p, Some(events))?;
            events = rest;
        }
        Ok(())
    }

    /// Folds the pending segment while `events` are prepared (the first
    /// segment is prepared alone); `None` folds what is pending.
    pub(super) fn step(
        &mut self,
        p: &mut Projector,
        events: Option<Vec<AuditEvent>>,
    ) -> Result<(), RunError> {
        let base = self.pushed;
        self.pushed += events.as_ref().map_or(0, |e| e.len() as u64);
        let Some(current) = self.pending.take() else {
            self.pending = events.map(|e| Segment::new(base, e, Some(&p.keys_now())));
            return Ok(());
        };
        let keys = p.keys_after(&current.prepared);
        let mut next = None;
        let mut folded = Ok(());
        rayon::in_place_scope(|scope| {
            if let Some(events) = events {
                let (slot, keys) = (&mut next, keys.as_ref());
                scope.spawn(move |_| *slot = Some(Segment::new(base, events, keys)));
            }
            folded = self.fold_segment(p, current);
        });
        self.pending = next;
        folded
    }

    /// Takes the keys at every checkpoint size reached.
    fn record_bounds(&mut self, p: &Projector) {
        while let Some(&b) = self.bounds.get(self.next_bound) {
            if b > self.n {
                break;
            }
            if b == self.n {
                self.keys_at.insert(b, keys_of(p.rules_state()));
            }
            self.next_bound += 1;
        }
    }

    /// Folds one prepared segment: positions, stated views, subjects and
    /// times, then the verdicts, then the keys at a checkpoint size reached.
    fn fold_segment(&mut self, p: &mut Projector, seg: Segment) -> Result<(), RunError> {
        let Segment {
            base,
            prepared,
            ids,
            stated_positions,
            stated_ids,
            stated,
            body_problems,
        } = seg;
        self.check_positions(base, &stated_positions, &stated_ids, &ids);
        for text in stated.iter().filter_map(|s| s.1.as_ref()) {
            if !self.signer_keys.contains_key(text) {
                if self.signer_keys.len() >= SIGNER_CACHE {
                    self.signer_keys.clear();
                }
                self.signer_keys.insert(text.clone(), parse_vkey(text).ok());
            }
        }
        self.subjects_and_times(&prepared.entries, &prepared.decoded, &ids);
        let mut observe = Observe {
            base,
            ids: &ids,
            stated: &stated,
            signer_keys: &self.signer_keys,
            problems: &mut self.problems,
            refused: &mut self.refused,
            notes: &mut self.notes,
            forks: &mut self.forks,
            duplicates: &mut self.duplicates,
            fork_ids: &mut self.fork_ids,
            counts: &mut self.counts,
        };
        p.fold_prepared(&prepared, &mut |entry, ev, outcome, state| {
            observe.one(entry, ev, outcome, state)
        })?;
        self.problems.extend(body_problems);
        self.n += prepared.entries.len() as u64;
        p.save_when_due()?;
        self.record_bounds(p);
        Ok(())
    }

    /// Positions (the first wrong one) and stated ids.
    fn check_positions(
        &mut self,
        base: u64,
        positions: &[u64],
        stated_ids: &[Option<Digest>],
        ids: &[Digest],
    ) {
        if !self.position_reported {
            if let Some(i) = (0..positions.len()).find(|&i| positions[i] != base + i as u64 + 1) {
                self.position_reported = true;
                let at = base + i as u64;
                self.problems.push(event_finding(
                    at + 1,
                    ids[i],
                    None,
                    "position",
                    format!(
                        "event {at} of the bundle states position {}, expected {}: events were removed, added or reordered",
                        positions[i],
                        at + 1
                    ),
                ));
            }
        }
        for (i, stated) in stated_ids.iter().enumerate() {
            if let Some(stated) = stated.filter(|s| *s != ids[i]) {
                self.problems.push(event_finding(
                    base + i as u64 + 1,
                    ids[i],
                    None,
                    "id_mismatch",
                    format!("stated id {stated} is not the hash of the event's bytes"),
                ));
            }
        }
    }

    /// The subjects chain against the checkpoints' commitments, and each
    /// event's `recorded_at` against the checkpoints' signed times.
    fn subjects_and_times(
        &mut self,
        entries: &[Entry],
        decoded: &[Result<Event, String>],
        ids: &[Digest],
    ) {
        let chain = self.next_subject < self.subjects_wanted.len();
        for (i, (entry, d)) in entries.iter().zip(decoded).enumerate() {
            if chain {
                match (&entry.member, d) {
                    (Some(m), _) => self.subjects.push(m.as_str()),
                    (None, Ok(ev)) => self.subjects.push(ev.envelope().producer.as_str()),
                    (None, Err(_)) => self.subjects.push(""),
                }
                self.check_subjects();
            }
            let at = d.as_ref().ok().map(|e| e.envelope().recorded_at);
            if let Some(f) = self.times.check(entry.position, at) {
                let member = d.as_ref().ok().map(|e| e.envelope().producer.to_string());
                let finding = event_finding(f.position, ids[i], member, f.code, f.reason);
                self.time_notes.push((finding, at));
            }
        }
    }

    /// The commitments of the checkpoints of the chain's size.
    fn check_subjects(&mut self) {
        while let Some(&(size, digest, cp)) = self.subjects_wanted.get(self.next_subject) {
            if size != self.subjects.size {
                break;
            }
            self.next_subject += 1;
            if digest != self.subjects.digest {
                self.subject_findings.push(super::checkpoint_finding(
                    size,
                    &self.cps[cp].0,
                    "checkpoint_subjects_mismatch",
                    "the subjects signed for its events differ from the members the entries state: a member field was changed".into(),
                ));
            }
        }
    }

    /// The positions of the first events that replays and forks refer to.
    pub(super) fn resolve_first_positions(&mut self, p: &Projector) -> Result<(), RunError> {
        let wanted: HashSet<Digest> = self
            .duplicates
            .iter()
            .map(|(_, id)| *id)
            .chain(self.fork_ids.iter().copied())
            .collect();
        let first = p.first_positions(&wanted)?;
        for (i, id) in &self.duplicates {
            let at = first.get(id).copied().unwrap_or(0);
            self.refused[*i].reason = format!("replay of the event already at position {at}");
        }
        let ids = std::mem::take(&mut self.fork_ids);
        let forks = std::mem::take(&mut self.forks);
        self.forks = forks
            .into_iter()
            .zip(ids)
            .filter_map(|(mut f, id)| {
                f.first = *first.get(&id)?;
                Some(f)
            })
            .collect();
        Ok(())
    }

    /// The report's counters: (signatures, chain links, accepted, rejected by rules).
    pub(super) fn counts(&self) -> (u64, u64, u64, u64) {
        let c = self.counts;
        (c.sigs, c.links, c.accepted, c.by_rules)
    }
}

/// The sizes and signed times of the checkpoints that carry a time.
pub(super) fn timed(cps: &[(Note, Checkpoint)]) -> Vec<Timed> {
    cps.iter()
        .filter_map(|(_, cp)| {
            Some(Timed {
                size: cp.size,
                time: cp.time()?,
            })
        })
        .collect()
}

/// What the fold's observer reports into, for one segment.
struct Observe<'a> {
    base: u64,
    ids: &'a [Digest],
    stated: &'a [StatedViews],
    signer_keys: &'a HashMap<String, Option<(String, PublicKey)>>,
    problems: &'a mut Vec<Finding>,
    refused: &'a mut Vec<Finding>,
    notes: &'a mut Vec<Finding>,
    forks: &'a mut Vec<ForkFound>,
    duplicates: &'a mut Vec<(usize, Digest)>,
    fork_ids: &'a mut Vec<Digest>,
    counts: &'a mut Counts,
}

impl Observe<'_> {
    /// One verdict (`state` is the rules state before the event).
    fn one(
        &mut self,
        entry: &Entry,
        ev: Result<&Event, &str>,
        outcome: Option<&Outcome>,
        state: &State,
    ) {
        let pos = entry.position;
        let i = (pos - self.base - 1) as usize;
        let id = self.ids[i];
        let ev = match ev {
            Err(reason) => {
                let on = entry.member.as_ref().map(|m| m.to_string());
                self.refused
                    .push(event_finding(pos, id, on, "malformed", reason.into()));
                return;
            }
            Ok(ev) => ev,
        };
        // Attributed to the subject carrying it (the producer where the log
        // has no subjects).
        let member = Some(
            entry
                .member
                .as_ref()
                .unwrap_or(&ev.envelope().producer)
                .to_string(),
        );
        self.stated_views(pos, id, &member, ev, state, i);
        let Some(outcome) = outcome else { return };
        match outcome {
            Outcome::Accepted => {
                self.counts.accepted += 1;
                self.counts.sigs += 1;
                self.counts.links += 1;
            }
            Outcome::Duplicate => {
                self.counts.sigs += 1;
                // The first position is found at the end (one pass over the tree).
                self.duplicates.push((self.refused.len(), id));
                self.refused.push(event_finding(
                    pos,
                    id,
                    member,
                    "duplicate",
                    "replay of the event already at position 0".into(),
                ));
            }
            Outcome::Rejected(r) => self.rejected(pos, id, member, r, state),
        }
    }

    /// The stated seq and signer against the signed envelope and the state.
    fn stated_views(
        &mut self,
        pos: u64,
        id: Digest,
        member: &Option<String>,
        ev: &Event,
        state: &State,
        i: usize,
    ) {
        let (seq, signer) = &self.stated[i];
        if let Some(stated) = seq.filter(|&s| s != ev.envelope().seq) {
            self.problems.push(event_finding(
                pos,
                id,
                member.clone(),
                "seq_mismatch",
                format!(
                    "stated seq {stated}, the signed envelope says {}",
                    ev.envelope().seq
                ),
            ));
        }
        let Some(text) = signer else { return };
        let Some((name, key)) = expected_key(state, ev) else {
            return;
        };
        let parsed = match self.signer_keys.get(text) {
            Some(p) => p.clone(),
            None => parse_vkey(text).ok(),
        };
        let same = matches!(parsed, Some((n, k)) if n == name && k == key);
        if !same {
            self.problems.push(event_finding(
                pos,
                id,
                member.clone(),
                "signer_mismatch",
                format!(
                    "stated signer {text} is not the producer's active key {}",
                    key.vkey(name)
                ),
            ));
        }
    }

    fn rejected(
        &mut self,
        pos: u64,
        id: Digest,
        member: Option<String>,
        r: &Rejection,
        state: &State,
    ) {
        if let Rejection::Equivocation {
            existing, producer, ..
        } = r
        {
            if let Some(key) = state.active_key(producer) {
                self.forks.push(ForkFound {
                    member: producer.to_string(),
                    vkey: key.vkey(producer.as_str()),
                    first: 0,
                    second: pos,
                });
                self.fork_ids.push(*existing);
            }
        }
        if signature_checked(r) {
            self.counts.sigs += 1;
        }
        let finding = event_finding(pos, id, member, r.code(), r.to_string());
        if r.in_chain() && state.origin.is_some() {
            self.counts.links += 1;
            self.counts.by_rules += 1;
            self.notes.push(finding);
        } else {
            self.refused.push(finding);
        }
    }
}
