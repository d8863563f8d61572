//! The offline audit bundle: the whole log and its signed checkpoints in one
//! JSON document (`schemas/audit-bundle.schema.json`, `schemas/AUDIT.md`).
//!
//! [`Bundle`] is the wire form. [`Bundle::from_json`] reads untrusted bytes with
//! limits (total size, event and checkpoint counts, field lengths) and
//! [`Bundle::decode`] turns it into [`AuditEvent`]s: every field checked, one
//! error naming the event and the field. Nothing here verifies signatures,
//! chains or roots; that is the auditor's job (`projector::audit`).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::calendar::Timestamp;
use crate::codec::MAX_ENVELOPE_BYTES;
use crate::event::SIGNATURE_LEN;
use crate::ids::{Digest, MemberId};
use crate::log::Entry;

/// The `format` value of a version 1 bundle.
pub const BUNDLE_FORMAT: &str = "tallinn-audit-bundle/v1";
/// Largest bundle read: 8 GiB.
pub const MAX_BUNDLE_BYTES: u64 = 8 << 30;
/// Most events in a bundle.
pub const MAX_EVENTS: usize = 100_000_000;
/// Most checkpoints in a bundle.
pub const MAX_CHECKPOINTS: usize = 1_000_000;
/// Largest signed checkpoint note, in bytes.
pub const MAX_NOTE_BYTES: usize = 64 * 1024;
/// Largest decoded JSON body view, in bytes.
pub const MAX_BODY_JSON_BYTES: usize = 1 << 20;

/// Why a bundle was refused before any verification.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// The bundle is larger than the limit.
    #[error("bundle is {len} bytes, more than the limit of {limit}")]
    TooLarge {
        /// Its size.
        len: u64,
        /// The limit.
        limit: u64,
    },
    /// The JSON is malformed or truncated, or a field has the wrong type.
    #[error("bundle is not valid JSON of the bundle schema (truncated?): {0}")]
    Json(String),
    /// A top-level field is wrong.
    #[error("bundle field {field}: {reason}")]
    Field {
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// One event's JSON is malformed or has a field of the wrong type.
    #[error("event {index}: {reason}")]
    EventJson {
        /// Index in `events`, from 0.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// A field of one event is wrong.
    #[error("event {index} (position {position}) field {field}: {reason}")]
    EventField {
        /// Index in `events`, from 0.
        index: usize,
        /// The position it states.
        position: u64,
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// One event in a bundle (wire form).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleEvent {
    /// Position in the log, from 1 (the Merkle leaf index is `position - 1`).
    pub position: u64,
    /// The event id as stated: `SHA-256(0x00 || envelope || signature)`, hex.
    pub id: Digest,
    /// When the log received it (RFC 3339).
    pub appended_at: Timestamp,
    /// The envelope bytes (bincode), standard base64.
    pub envelope: String,
    /// The 64-byte Ed25519 signature, standard base64.
    pub signature: String,
    /// The verifier key (vkey) the signature should verify under: the
    /// producer's active key before this event (for a genesis, the coordinator
    /// key it names); `null` if the producer had none.
    pub signer: Option<String>,
    /// The member whose subject (JetStream) or chain (embedded store) carries
    /// the entry: evidence, like the position. An entry whose envelope names
    /// another producer is judged `wrong_subject` and attributed to this member.
    /// `null` (bundles of earlier versions) means the envelope's producer.
    pub member: Option<String>,
    /// The producer's seq, as decoded (a view: the auditor checks it matches).
    pub seq: Option<u64>,
    /// The decoded body in JSON (a view; the auditor checks it matches).
    pub body: Option<Box<RawValue>>,
}

/// [`BundleEvent`] borrowing its text from the document where JSON allows
/// (strings without escapes), for reading large bundles without a copy of
/// every field.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BundleEventRef<'a> {
    position: u64,
    id: Digest,
    appended_at: Timestamp,
    #[serde(borrow)]
    envelope: Cow<'a, str>,
    #[serde(borrow)]
    signature: Cow<'a, str>,
    #[serde(borrow)]
    signer: Option<Cow<'a, str>>,
    #[serde(borrow)]
    member: Option<Cow<'a, str>>,
    seq: Option<u64>,
    #[serde(borrow)]
    body: Option<&'a RawValue>,
}

impl BundleEvent {
    /// Decodes the event's bytes (it is event `index` of its bundle), checking
    /// lengths; does not verify anything.
    pub fn decode(&self, index: usize) -> Result<AuditEvent, BundleError> {
        Ok(AuditEvent {
            entry: self.entry(index)?,
            stated_id: Some(self.id),
            signer: self.signer.clone(),
            stated_seq: self.seq,
            body: self.body.clone(),
        })
    }

    /// The log entry: `envelope || signature` decoded into one buffer.
    fn entry(&self, index: usize) -> Result<Entry, BundleError> {
        decode_entry(
            index,
            self.position,
            self.appended_at,
            self.member.as_deref(),
            &self.envelope,
            &self.signature,
            self.body.as_deref().map(RawValue::get),
        )
    }
}

/// Decodes `envelope || signature` of event `index` into one buffer, checking
/// lengths (and the body view's).
fn decode_entry(
    index: usize,
    position: u64,
    appended_at: Timestamp,
    member: Option<&str>,
    envelope: &str,
    signature: &str,
    body: Option<&str>,
) -> Result<Entry, BundleError> {
    let bad = |field, reason| BundleError::EventField {
        index,
        position,
        field,
        reason,
    };
    // 4 characters per 3 bytes: refuse before decoding anything too long.
    if envelope.len() > MAX_ENVELOPE_BYTES.div_ceil(3) * 4 {
        return Err(bad(
            "envelope",
            format!("longer than {MAX_ENVELOPE_BYTES} bytes"),
        ));
    }
    let mut bytes = Vec::with_capacity(envelope.len() / 4 * 3 + SIGNATURE_LEN);
    B64.decode_vec(envelope, &mut bytes)
        .map_err(|err| bad("envelope", format!("not standard base64: {err}")))?;
    let sig = b64_within(signature, SIGNATURE_LEN).map_err(|r| bad("signature", r))?;
    // An entry shorter than a signature (garbage a member sent) is exported
    // whole as its `signature` with an empty envelope: the log holds it, so
    // the bundle must too. Otherwise the signature is exactly 64 bytes.
    if bytes.is_empty() && sig.is_empty() {
        return Err(bad("envelope", "empty, and so is the signature".into()));
    }
    if !bytes.is_empty() && sig.len() != SIGNATURE_LEN {
        return Err(bad(
            "signature",
            format!("{} bytes, expected {SIGNATURE_LEN}", sig.len()),
        ));
    }
    if body.is_some_and(|b| b.len() > MAX_BODY_JSON_BYTES) {
        return Err(bad(
            "body",
            format!("longer than {MAX_BODY_JSON_BYTES} bytes"),
        ));
    }
    bytes.extend_from_slice(&sig);
    let member = member
        .map(|m| match m {
            // The reserved subject of entries on a subject that names no member.
            "?" => Ok(MemberId::unnamed_subject()),
            m => m.parse::<MemberId>(),
        })
        .transpose()
        .map_err(|err| bad("member", format!("not a member id: {err}")))?;
    Ok(Entry {
        position,
        appended_at,
        member,
        bytes,
    })
}

/// A whole-log audit bundle (wire form).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    /// Always [`BUNDLE_FORMAT`].
    pub format: String,
    /// The ledger origin (also the checkpoints' origin line).
    pub origin: String,
    /// Number of events.
    pub size: u64,
    /// The Merkle root of all events, hex (informational: the auditor recomputes it).
    pub root: Digest,
    /// Every event, in log order.
    pub events: Vec<BundleEvent>,
    /// Signed checkpoint notes (C2SP signed-note text with cosignatures), by
    /// increasing tree size.
    pub checkpoints: Vec<String>,
}

/// One event of a decoded bundle: the log entry and what the bundle states about it.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    /// The entry (leaf bytes = envelope || signature); `position` is the stated one.
    pub entry: Entry,
    /// The id the bundle states.
    pub stated_id: Option<Digest>,
    /// The signer vkey the bundle states.
    pub signer: Option<String>,
    /// The producer's seq the bundle states (a view).
    pub stated_seq: Option<u64>,
    /// The JSON body view the bundle states.
    pub body: Option<Box<RawValue>>,
}

impl AuditEvent {
    /// A live log's entry: nothing stated beyond its bytes.
    pub fn of_entry(entry: Entry) -> AuditEvent {
        AuditEvent {
            entry,
            stated_id: None,
            signer: None,
            stated_seq: None,
            body: None,
        }
    }
}

/// Reads `len` as a checked size for [`Bundle::from_json`].
pub fn check_size(len: u64) -> Result<(), BundleError> {
    if len > MAX_BUNDLE_BYTES {
        return Err(BundleError::TooLarge {
            len,
            limit: MAX_BUNDLE_BYTES,
        });
    }
    Ok(())
}

fn b64_within(text: &str, max: usize) -> Result<Vec<u8>, String> {
    // 4 characters per 3 bytes: refuse before decoding anything too long.
    if text.len() > max.div_ceil(3) * 4 {
        return Err(format!("longer than {max} bytes"));
    }
    B64.decode(text)
        .map_err(|e| format!("not standard base64: {e}"))
}

/// A bundle whose events are still raw JSON text (borrowed from the input):
/// the document around them is checked once, then each event can be parsed and
/// decoded on its own, e.g. in parallel ([`RawBundle::event`]).
#[derive(Debug)]
pub struct RawBundle<'a> {
    /// Always [`BUNDLE_FORMAT`].
    pub format: String,
    /// The ledger origin.
    pub origin: String,
    /// Number of events stated.
    pub size: u64,
    /// The Merkle root stated.
    pub root: Digest,
    /// Every event, as raw JSON text (not yet parsed when the bundle is laid
    /// out one event per line: see [`Bundle::write_json`]).
    pub events: Vec<&'a str>,
    /// Signed checkpoint notes.
    pub checkpoints: Vec<String>,
    /// Whether `events` were split at line breaks (not yet scanned).
    by_lines: bool,
}

/// The whole document, each event's extent found by a full JSON scan.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDocument<'a> {
    format: String,
    origin: String,
    size: u64,
    root: Digest,
    #[serde(borrow)]
    events: Vec<&'a RawValue>,
    checkpoints: Vec<String>,
}

/// The start of the first line of a bundle laid out one event per line.
const EVENTS_OPEN: &str = "\"events\":[";

impl<'a> RawBundle<'a> {
    /// Parses untrusted bundle bytes (at most [`MAX_BUNDLE_BYTES`]) and checks
    /// the format, the counts and the note sizes; events are not parsed yet.
    ///
    /// A bundle laid out one event per line (as [`Bundle::write_json`] writes
    /// it) is split at its line breaks, which JSON allows only between tokens,
    /// so its events are scanned by [`RawBundle::event`] (in parallel, if the
    /// caller wants) instead of here; the document around them is parsed in
    /// full. Any other layout of valid JSON is read with one full scan.
    /// If an event of a bundle split at its lines does not parse, the caller
    /// must read it again with [`RawBundle::from_json_scanned`] before
    /// refusing it (an event may span lines in valid JSON):
    /// [`RawBundle::decode_all`] does.
    pub fn from_json(bytes: &'a [u8]) -> Result<RawBundle<'a>, BundleError> {
        check_size(bytes.len() as u64)?;
        match RawBundle::by_lines(bytes) {
            Some(bundle) => bundle.checked(),
            None => RawBundle::from_json_scanned(bytes),
        }
    }

    /// [`RawBundle::from_json`] with one full JSON scan, whatever the layout.
    pub fn from_json_scanned(bytes: &'a [u8]) -> Result<RawBundle<'a>, BundleError> {
        check_size(bytes.len() as u64)?;
        let doc: RawDocument<'a> =
            serde_json::from_slice(bytes).map_err(|e| BundleError::Json(e.to_string()))?;
        RawBundle {
            format: doc.format,
            origin: doc.origin,
            size: doc.size,
            root: doc.root,
            events: doc.events.into_iter().map(RawValue::get).collect(),
            checkpoints: doc.checkpoints,
            by_lines: false,
        }
        .checked()
    }

    /// Parses (and decodes) every event of `bytes` with `decode_each` (e.g. in
    /// parallel), reading the document with a full scan when an event split at
    /// its lines does not parse, so that only invalid bundles are refused.
    pub fn decode_all<T>(
        bytes: &'a [u8],
        decode_each: impl Fn(&RawBundle<'a>) -> Result<Vec<T>, BundleError>,
    ) -> Result<(RawBundle<'a>, Vec<T>), BundleError> {
        let raw = RawBundle::from_json(bytes)?;
        match decode_each(&raw) {
            Ok(events) => Ok((raw, events)),
            Err(_) if raw.by_lines => {
                let raw = RawBundle::from_json_scanned(bytes)?;
                let events = decode_each(&raw)?;
                Ok((raw, events))
            }
            Err(e) => Err(e),
        }
    }

    /// Checks the format, the counts and the note sizes.
    fn checked(self) -> Result<RawBundle<'a>, BundleError> {
        let bundle = self;
        let field = |field, reason: String| BundleError::Field { field, reason };
        if bundle.format != BUNDLE_FORMAT {
            return Err(field(
                "format",
                format!("{:?} is not {BUNDLE_FORMAT:?}", bundle.format),
            ));
        }
        if bundle.events.len() > MAX_EVENTS {
            return Err(field("events", format!("more than {MAX_EVENTS}")));
        }
        if bundle.checkpoints.len() > MAX_CHECKPOINTS {
            return Err(field("checkpoints", format!("more than {MAX_CHECKPOINTS}")));
        }
        if let Some(i) = bundle
            .checkpoints
            .iter()
            .position(|n| n.len() > MAX_NOTE_BYTES)
        {
            return Err(field(
                "checkpoints",
                format!("note {i} is longer than {MAX_NOTE_BYTES} bytes"),
            ));
        }
        Ok(bundle)
    }

    /// The one-event-per-line layout: a first line ending in `"events":[`, one
    /// event per line (each but the last followed by a comma), a last line
    /// starting with `]`. The first and last lines joined must parse as a
    /// bundle with no events. `None` for any other layout (or invalid JSON
    /// around the events), which the full scan then reads or refuses.
    fn by_lines(bytes: &'a [u8]) -> Option<RawBundle<'a>> {
        let text = std::str::from_utf8(bytes).ok()?;
        let text = text.strip_suffix('\n').unwrap_or(text);
        let (first, rest) = text.split_once('\n')?;
        let (middle, last) = rest.rsplit_once('\n').unwrap_or(("", rest));
        // A document around the events that fails its checks is refused by
        // the full scan, with the same reason.
        let around = RawBundle::around_lines(first, last)?.ok()?;
        let mut events: Vec<&'a str> = if middle.is_empty() {
            Vec::new()
        } else {
            middle.split('\n').collect()
        };
        // Every event but the last ends with the separating comma.
        let n = events.len();
        for (i, line) in events.iter_mut().enumerate() {
            *line = if i + 1 < n {
                line.strip_suffix(',')?
            } else {
                line
            };
        }
        Some(RawBundle { events, ..around })
    }

    /// Parses event `index` from its JSON.
    ///
    /// # Panics
    /// If `index` is out of range.
    pub fn event(&self, index: usize) -> Result<BundleEvent, BundleError> {
        serde_json::from_str(self.events[index]).map_err(|e| BundleError::EventJson {
            index,
            reason: e.to_string(),
        })
    }

    /// Parses and decodes event `index` ([`RawBundle::event`], then [`BundleEvent::decode`]).
    ///
    /// # Panics
    /// If `index` is out of range.
    pub fn decode_event(&self, index: usize) -> Result<AuditEvent, BundleError> {
        decode_event_text(index, self.events[index])
    }

    /// The document around the events of a bundle laid out one event per
    /// line ([`Bundle::write_json`]): its `first` line (ending in
    /// `"events":[`) and `last` line (starting with `]`), checked as
    /// [`RawBundle::from_json`] does; `None` for any other layout (or invalid
    /// JSON around the events). For a reader that streams the lines between.
    pub fn around_lines(
        first: &str,
        last: &str,
    ) -> Option<Result<RawBundle<'static>, BundleError>> {
        if !first.ends_with(EVENTS_OPEN) || !last.starts_with(']') {
            return None;
        }
        let joined = format!("{first}{last}");
        let around: RawDocument<'_> = serde_json::from_str(&joined).ok()?;
        if !around.events.is_empty() {
            return None;
        }
        Some(
            RawBundle {
                format: around.format,
                origin: around.origin,
                size: around.size,
                root: around.root,
                events: Vec::new(),
                checkpoints: around.checkpoints,
                by_lines: true,
            }
            .checked(),
        )
    }
}

/// Parses and decodes the JSON `text` of event `index` of a bundle.
pub fn decode_event_text(index: usize, text: &str) -> Result<AuditEvent, BundleError> {
    let e: BundleEventRef<'_> = serde_json::from_str(text).map_err(|e| BundleError::EventJson {
        index,
        reason: e.to_string(),
    })?;
    Ok(AuditEvent {
        entry: decode_entry(
            index,
            e.position,
            e.appended_at,
            e.member.as_deref(),
            &e.envelope,
            &e.signature,
            e.body.map(RawValue::get),
        )?,
        stated_id: Some(e.id),
        signer: e.signer.map(Cow::into_owned),
        stated_seq: e.seq,
        body: e.body.map(RawValue::to_owned),
    })
}

/// Writes a bundle laid out one event per line, as [`Bundle::write_json`]
/// does, one event at a time: the header first with the number of events
/// to come and a placeholder root, which [`BundleWriter::finish`] writes in
/// its place (a digest is always 64 hex digits).
pub struct BundleWriter<W: std::io::Write + std::io::Seek> {
    out: W,
    root_at: u64,
    size: u64,
    written: u64,
}

impl<W: std::io::Write + std::io::Seek> BundleWriter<W> {
    /// Starts the bundle of `size` events of the ledger `origin` on `out`.
    pub fn new(mut out: W, origin: &str, size: u64) -> std::io::Result<BundleWriter<W>> {
        let start = out.stream_position()?;
        let head = format!(
            "{{\"format\":{},\"origin\":{},\"size\":{size},\"root\":",
            serde_json::to_string(BUNDLE_FORMAT)?,
            serde_json::to_string(origin)?,
        );
        out.write_all(head.as_bytes())?;
        let placeholder = serde_json::to_string(&Digest([0; 32]))?;
        writeln!(out, "{placeholder},{EVENTS_OPEN}")?;
        Ok(BundleWriter {
            out,
            root_at: start + head.len() as u64,
            size,
            written: 0,
        })
    }

    /// Writes the next event.
    pub fn event(&mut self, event: &BundleEvent) -> std::io::Result<()> {
        if self.written == self.size {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("the bundle was announced with {} events", self.size),
            ));
        }
        serde_json::to_writer(&mut self.out, event)?;
        self.written += 1;
        self.out.write_all(if self.written < self.size {
            b",\n"
        } else {
            b"\n"
        })
    }

    /// Writes the checkpoints and the root; the writer is handed back
    /// (flushed) for the caller to sync.
    pub fn finish(mut self, root: &Digest, checkpoints: &[String]) -> std::io::Result<W> {
        if self.written != self.size {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "{} events written, the bundle announced {}",
                    self.written, self.size
                ),
            ));
        }
        writeln!(
            self.out,
            "],\"checkpoints\":{}}}",
            serde_json::to_string(checkpoints)?
        )?;
        let end = self.out.stream_position()?;
        self.out.seek(std::io::SeekFrom::Start(self.root_at))?;
        self.out
            .write_all(serde_json::to_string(root)?.as_bytes())?;
        self.out.seek(std::io::SeekFrom::Start(end))?;
        self.out.flush()?;
        Ok(self.out)
    }
}

impl Bundle {
    /// Parses untrusted bundle bytes (at most [`MAX_BUNDLE_BYTES`]) and checks
    /// the format, the counts and the note sizes ([`RawBundle::from_json`]),
    /// then every event's JSON.
    pub fn from_json(bytes: &[u8]) -> Result<Bundle, BundleError> {
        let (raw, events) = RawBundle::decode_all(bytes, |raw| {
            (0..raw.events.len()).map(|i| raw.event(i)).collect()
        })?;
        Ok(Bundle {
            format: raw.format,
            origin: raw.origin,
            size: raw.size,
            root: raw.root,
            events,
            checkpoints: raw.checkpoints,
        })
    }

    /// Writes the bundle as one JSON document laid out one event per line:
    /// the header ending in `"events":[`, each event compact on its own line,
    /// then `],"checkpoints":[...]}`. Any JSON reader reads it; this crate's
    /// reader parses its events in parallel ([`RawBundle::from_json`]).
    pub fn write_json<W: std::io::Write>(&self, mut out: W) -> std::io::Result<()> {
        writeln!(
            out,
            "{{\"format\":{},\"origin\":{},\"size\":{},\"root\":{},{EVENTS_OPEN}",
            serde_json::to_string(&self.format)?,
            serde_json::to_string(&self.origin)?,
            self.size,
            serde_json::to_string(&self.root)?,
        )?;
        for (i, event) in self.events.iter().enumerate() {
            serde_json::to_writer(&mut out, event)?;
            out.write_all(if i + 1 < self.events.len() {
                b",\n"
            } else {
                b"\n"
            })?;
        }
        writeln!(
            out,
            "],\"checkpoints\":{}}}",
            serde_json::to_string(&self.checkpoints)?
        )?;
        out.flush()
    }

    /// Decodes every event's bytes, checking lengths; does not verify anything.
    pub fn decode(&self) -> Result<Vec<AuditEvent>, BundleError> {
        (0..self.events.len())
            .map(|i| self.decode_event(i))
            .collect()
    }

    /// Decodes the bytes of event `index` (callers may decode in parallel).
    ///
    /// # Panics
    /// If `index` is out of range.
    pub fn decode_event(&self, index: usize) -> Result<AuditEvent, BundleError> {
        self.events[index].decode(index)
    }

    /// The wire form of one event.
    pub fn event(
        entry: &Entry,
        signer: Option<String>,
        member: Option<String>,
        seq: Option<u64>,
        body: Option<Box<RawValue>>,
    ) -> BundleEvent {
        let split = entry.bytes.len().saturating_sub(SIGNATURE_LEN);
        BundleEvent {
            position: entry.position,
            id: crate::event::leaf_hash(&entry.bytes),
            appended_at: entry.appended_at,
            envelope: B64.encode(&entry.bytes[..split]),
            signature: B64.encode(&entry.bytes[split..]),
            signer,
            member,
            seq,
            body,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Bundle {
        let entry = Entry {
            position: 1,
            appended_at: Timestamp(0),
            member: None,
            bytes: vec![7u8; 100],
        };
        Bundle {
            format: BUNDLE_FORMAT.into(),
            origin: "example.com/log".into(),
            size: 1,
            root: crate::event::leaf_hash(&entry.bytes),
            events: vec![Bundle::event(&entry, None, None, None, None)],
            checkpoints: vec![],
        }
    }

    fn three() -> Bundle {
        let mut b = sample();
        for position in 2..=3 {
            let entry = Entry {
                position,
                appended_at: Timestamp(position as i64),
                member: None,
                bytes: vec![position as u8; 100],
            };
            b.events
                .push(Bundle::event(&entry, Some("EE+x".into()), None, None, None));
        }
        b.size = 3;
        b.checkpoints = vec!["origin\n3\nroot\n\n— sig\n".into()];
        b
    }

    fn lines(b: &Bundle) -> Vec<u8> {
        let mut out = Vec::new();
        b.write_json(&mut out).unwrap();
        out
    }

    fn ids(b: &Bundle) -> Vec<Option<Digest>> {
        b.decode().unwrap().iter().map(|e| e.stated_id).collect()
    }

    #[test]
    fn the_streaming_writer_writes_what_write_json_writes() {
        for mut b in [sample(), three()] {
            b.root = crate::ids::Digest([0xab; 32]);
            let mut w =
                BundleWriter::new(std::io::Cursor::new(Vec::new()), &b.origin, b.size).unwrap();
            for e in &b.events {
                w.event(e).unwrap();
            }
            // One event more than announced is refused.
            assert!(w.event(&b.events[0]).is_err());
            let out = w.finish(&b.root, &b.checkpoints).unwrap().into_inner();
            assert_eq!(
                String::from_utf8(out).unwrap(),
                String::from_utf8(lines(&b)).unwrap()
            );
        }
        // One event fewer than announced is refused at the end.
        let b = three();
        let mut w = BundleWriter::new(std::io::Cursor::new(Vec::new()), &b.origin, 3).unwrap();
        w.event(&b.events[0]).unwrap();
        assert!(w.finish(&b.root, &[]).is_err());
    }

    #[test]
    fn the_lines_around_the_events_are_read_as_the_whole_document_is() {
        let b = three();
        let text = String::from_utf8(lines(&b)).unwrap();
        let all: Vec<&str> = text.trim_end().split('\n').collect();
        let around = RawBundle::around_lines(all[0], all[all.len() - 1])
            .unwrap()
            .unwrap();
        assert_eq!(
            (around.size, around.root, around.origin.as_str()),
            (3, b.root, "example.com/log")
        );
        assert_eq!(around.checkpoints, b.checkpoints);
        for (i, line) in all[1..all.len() - 1].iter().enumerate() {
            let line = line.strip_suffix(',').unwrap_or(line);
            let e = decode_event_text(i, line).unwrap();
            assert_eq!(e.stated_id, Some(b.events[i].id));
        }
        // Another layout, or a wrong format, is not taken for it.
        assert!(RawBundle::around_lines("{\"format\":1,", all[all.len() - 1]).is_none());
        let wrong = all[0].replace(BUNDLE_FORMAT, "other/v9");
        assert!(matches!(
            RawBundle::around_lines(&wrong, all[all.len() - 1]),
            Some(Err(BundleError::Field {
                field: "format",
                ..
            }))
        ));
    }

    #[test]
    fn one_event_per_line_is_split_and_still_plain_json() {
        for b in [
            three(),
            sample(),
            Bundle {
                events: vec![],
                size: 0,
                ..sample()
            },
        ] {
            let text = lines(&b);
            let raw = RawBundle::from_json(&text).unwrap();
            assert!(raw.by_lines, "{}", String::from_utf8_lossy(&text));
            assert_eq!(raw.events.len(), b.events.len());
            assert_eq!(raw.checkpoints, b.checkpoints);
            // The same bundle as the one-line form, for this reader and for any
            // JSON reader.
            let read = Bundle::from_json(&text).unwrap();
            let compact = Bundle::from_json(&serde_json::to_vec(&b).unwrap()).unwrap();
            assert_eq!(ids(&read), ids(&compact));
            let plain: Bundle = serde_json::from_slice(&text).unwrap();
            assert_eq!(ids(&plain), ids(&b));
        }
    }

    #[test]
    fn other_layouts_of_valid_json_fall_back_to_a_full_scan() {
        let text = String::from_utf8(lines(&three())).unwrap();
        // An event spread over two lines is valid JSON: read, not refused.
        let spread = text.replacen("\"id\":", "\n\"id\":", 2);
        assert_eq!(
            ids(&Bundle::from_json(spread.as_bytes()).unwrap()),
            ids(&three())
        );
        let (raw, events) = RawBundle::decode_all(spread.as_bytes(), |raw| {
            (0..raw.events.len()).map(|i| raw.decode_event(i)).collect()
        })
        .unwrap();
        assert!(!raw.by_lines);
        assert_eq!(events.len(), 3);
        // Pretty-printed: read by the full scan.
        let pretty = serde_json::to_vec_pretty(&three()).unwrap();
        assert_eq!(ids(&Bundle::from_json(&pretty).unwrap()), ids(&three()));
    }

    #[test]
    fn invalid_documents_split_at_lines_are_still_refused() {
        let text = String::from_utf8(lines(&three())).unwrap();
        // A trailing comma after the last event.
        let n = text.rfind("}\n]").unwrap();
        let trailing = format!("{},{}", &text[..n + 1], &text[n + 1..]);
        assert!(matches!(
            Bundle::from_json(trailing.as_bytes()),
            Err(BundleError::Json(_))
        ));
        // A missing comma between two events.
        let missing = text.replacen("},\n{", "}\n{", 1);
        assert!(Bundle::from_json(missing.as_bytes()).is_err());
        // Truncated in the middle of the events.
        assert!(Bundle::from_json(&text.as_bytes()[..text.len() / 2]).is_err());
        // A second "events" key after the array.
        let twice = text.replacen("],\"checkpoints\"", "],\"events\":[],\"checkpoints\"", 1);
        assert!(Bundle::from_json(twice.as_bytes()).is_err());
        // An unknown key in the header.
        let unknown = text.replacen("\"size\"", "\"extra\":1,\"size\"", 1);
        assert!(Bundle::from_json(unknown.as_bytes()).is_err());
    }

    #[test]
    fn round_trip_and_refusals() {
        let json = serde_json::to_vec(&sample()).unwrap();
        let b = Bundle::from_json(&json).unwrap();
        let events = b.decode().unwrap();
        assert_eq!(events[0].entry.bytes, vec![7u8; 100]);
        assert_eq!(events[0].stated_id, Some(b.root));

        let err = Bundle::from_json(&json[..json.len() / 2]).unwrap_err();
        assert!(matches!(err, BundleError::Json(_)), "{err}");
        assert!(err.to_string().contains("truncated"), "{err}");

        let mut wrong = sample();
        wrong.format = "other".into();
        let err = Bundle::from_json(&serde_json::to_vec(&wrong).unwrap()).unwrap_err();
        assert!(err.to_string().starts_with("bundle field format"), "{err}");

        let mut short = sample();
        short.events[0].signature = B64.encode([1u8; 63]);
        let err = short.decode().unwrap_err();
        assert_eq!(
            err.to_string(),
            "event 0 (position 1) field signature: 63 bytes, expected 64"
        );
        let mut huge = sample();
        huge.events[0].envelope = "A".repeat(MAX_ENVELOPE_BYTES * 2);
        let err = huge.decode().unwrap_err();
        assert!(
            err.to_string().contains("field envelope: longer than"),
            "{err}"
        );
        let mut junk = sample();
        junk.events[0].envelope = "***".into();
        let err = junk.decode().unwrap_err();
        assert!(
            err.to_string()
                .contains("field envelope: not standard base64"),
            "{err}"
        );
        assert!(check_size(MAX_BUNDLE_BYTES + 1).is_err());

        // Events parse one by one from the raw document, naming the bad one.
        let mut v: serde_json::Value = serde_json::from_slice(&json).unwrap();
        v["events"][0]["seq"] = serde_json::json!("one");
        let text = serde_json::to_vec(&v).unwrap();
        let raw = RawBundle::from_json(&text).unwrap();
        assert_eq!(raw.events.len(), 1);
        let err = raw.decode_event(0).unwrap_err();
        assert!(
            err.to_string().starts_with("event 0: invalid type"),
            "{err}"
        );
        let err = Bundle::from_json(&text).unwrap_err();
        assert!(
            matches!(err, BundleError::EventJson { index: 0, .. }),
            "{err}"
        );
        v["events"][0]["extra"] = serde_json::json!(1);
        v["events"][0]["seq"] = serde_json::json!(1);
        let err = Bundle::from_json(&serde_json::to_vec(&v).unwrap()).unwrap_err();
        assert!(err.to_string().contains("unknown field `extra`"), "{err}");
    }
}
