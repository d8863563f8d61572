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
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::calendar::Timestamp;
use crate::codec::MAX_ENVELOPE_BYTES;
use crate::event::SIGNATURE_LEN;
use crate::ids::Digest;
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
    /// The producer, as decoded (a view; the envelope is authoritative).
    pub member: Option<String>,
    /// The producer's seq, as decoded (a view).
    pub seq: Option<u64>,
    /// The decoded body in JSON (a view; the auditor checks it matches).
    pub body: Option<Box<RawValue>>,
}

impl BundleEvent {
    /// Decodes the event's bytes (it is event `index` of its bundle), checking
    /// lengths; does not verify anything.
    pub fn decode(&self, index: usize) -> Result<AuditEvent, BundleError> {
        Ok(AuditEvent {
            entry: self.entry(index)?,
            stated_id: Some(self.id),
            signer: self.signer.clone(),
            body: self.body.clone(),
        })
    }

    /// [`BundleEvent::decode`], moving the stated signer and body view instead
    /// of copying them.
    pub fn into_decoded(self, index: usize) -> Result<AuditEvent, BundleError> {
        Ok(AuditEvent {
            entry: self.entry(index)?,
            stated_id: Some(self.id),
            signer: self.signer,
            body: self.body,
        })
    }

    /// The log entry: `envelope || signature` decoded into one buffer.
    fn entry(&self, index: usize) -> Result<Entry, BundleError> {
        let e = self;
        let bad = |field, reason| BundleError::EventField {
            index,
            position: e.position,
            field,
            reason,
        };
        // 4 characters per 3 bytes: refuse before decoding anything too long.
        if e.envelope.len() > MAX_ENVELOPE_BYTES.div_ceil(3) * 4 {
            return Err(bad(
                "envelope",
                format!("longer than {MAX_ENVELOPE_BYTES} bytes"),
            ));
        }
        let mut bytes = Vec::with_capacity(e.envelope.len() / 4 * 3 + SIGNATURE_LEN);
        B64.decode_vec(&e.envelope, &mut bytes)
            .map_err(|err| bad("envelope", format!("not standard base64: {err}")))?;
        if bytes.is_empty() {
            return Err(bad("envelope", "empty".into()));
        }
        let sig = b64_within(&e.signature, SIGNATURE_LEN).map_err(|r| bad("signature", r))?;
        if sig.len() != SIGNATURE_LEN {
            return Err(bad(
                "signature",
                format!("{} bytes, expected {SIGNATURE_LEN}", sig.len()),
            ));
        }
        if let Some(body) = &e.body {
            if body.get().len() > MAX_BODY_JSON_BYTES {
                return Err(bad(
                    "body",
                    format!("longer than {MAX_BODY_JSON_BYTES} bytes"),
                ));
            }
        }
        bytes.extend_from_slice(&sig);
        Ok(Entry {
            position: e.position,
            appended_at: e.appended_at,
            bytes,
        })
    }
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
    /// The JSON body view the bundle states.
    pub body: Option<Box<RawValue>>,
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
/// the whole document is checked once, then each event can be parsed and
/// decoded on its own, e.g. in parallel ([`RawBundle::event`]).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBundle<'a> {
    /// Always [`BUNDLE_FORMAT`].
    pub format: String,
    /// The ledger origin.
    pub origin: String,
    /// Number of events stated.
    pub size: u64,
    /// The Merkle root stated.
    pub root: Digest,
    /// Every event, as raw JSON.
    #[serde(borrow)]
    pub events: Vec<&'a RawValue>,
    /// Signed checkpoint notes.
    pub checkpoints: Vec<String>,
}

impl<'a> RawBundle<'a> {
    /// Parses untrusted bundle bytes (at most [`MAX_BUNDLE_BYTES`]) and checks
    /// the format, the counts and the note sizes; events are not parsed yet.
    pub fn from_json(bytes: &'a [u8]) -> Result<RawBundle<'a>, BundleError> {
        check_size(bytes.len() as u64)?;
        let bundle: RawBundle<'a> =
            serde_json::from_slice(bytes).map_err(|e| BundleError::Json(e.to_string()))?;
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

    /// Parses event `index` from its JSON.
    ///
    /// # Panics
    /// If `index` is out of range.
    pub fn event(&self, index: usize) -> Result<BundleEvent, BundleError> {
        serde_json::from_str(self.events[index].get()).map_err(|e| BundleError::EventJson {
            index,
            reason: e.to_string(),
        })
    }

    /// Parses and decodes event `index` ([`RawBundle::event`], then [`BundleEvent::decode`]).
    ///
    /// # Panics
    /// If `index` is out of range.
    pub fn decode_event(&self, index: usize) -> Result<AuditEvent, BundleError> {
        self.event(index)?.into_decoded(index)
    }
}

impl Bundle {
    /// Parses untrusted bundle bytes (at most [`MAX_BUNDLE_BYTES`]) and checks
    /// the format, the counts and the note sizes ([`RawBundle::from_json`]),
    /// then every event's JSON.
    pub fn from_json(bytes: &[u8]) -> Result<Bundle, BundleError> {
        let raw = RawBundle::from_json(bytes)?;
        let events = (0..raw.events.len())
            .map(|i| raw.event(i))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Bundle {
            format: raw.format,
            origin: raw.origin,
            size: raw.size,
            root: raw.root,
            events,
            checkpoints: raw.checkpoints,
        })
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
