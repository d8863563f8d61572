//! The subjects commitment: which member's subject carries each entry.
//!
//! A log entry's subject (JetStream: `<prefix>.events.<member>`; the embedded
//! store: the chain it was appended to, always its producer's) is part of the
//! log, like its position, and decides a verdict (`wrong_subject`), but the
//! Merkle leaf covers only the event's bytes. So the coordinator's checkpoints
//! also sign a hash chain over the subjects of the first `size` entries, as
//! the extension line `subjects <base64>`: an audit bundle whose `member`
//! fields were edited fails against it. Pure: no I/O.
//!
//! `s_0` = 32 zero bytes; `s_i = SHA-256(s_{i-1} || name_i || 0x0A)`, where
//! `name_i` is the member id of entry `i`'s subject (on a log without subjects:
//! the envelope's producer; for bytes that do not decode there: empty).

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::event::Event;
use crate::ids::Digest;
use crate::log::Entry;

/// The running subjects hash of a log prefix.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subjects {
    /// Entries hashed.
    pub size: u64,
    /// `s_size`.
    pub digest: Digest,
}

impl Subjects {
    /// The empty prefix.
    pub fn new() -> Subjects {
        Subjects::default()
    }

    /// Adds the next entry's subject name.
    pub fn push(&mut self, name: &str) {
        let mut h = Sha256::new();
        h.update(self.digest.0);
        h.update(name.as_bytes());
        h.update(b"\n");
        self.digest = Digest(h.finalize().into());
        self.size += 1;
    }

    /// Adds `entry`, decoding its producer only where the log has no subjects.
    pub fn push_entry(&mut self, entry: &Entry) {
        match &entry.member {
            Some(m) => self.push(m.as_str()),
            None => match Event::from_bytes(&entry.bytes) {
                Ok(ev) => self.push(ev.envelope().producer.as_str()),
                Err(_) => self.push(""),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_depends_on_every_name_and_its_order() {
        let chain = |names: &[&str]| {
            let mut s = Subjects::new();
            names.iter().for_each(|n| s.push(n));
            s
        };
        let ab = chain(&["EE-MFA", "DE-AA"]);
        assert_eq!(ab.size, 2);
        assert_ne!(ab, chain(&["DE-AA", "EE-MFA"]));
        assert_ne!(ab.digest, chain(&["EE-MFA", "DE-AB"]).digest);
        // Names are delimited: "AB","C" differs from "A","BC".
        assert_ne!(chain(&["AB", "C"]).digest, chain(&["A", "BC"]).digest);
        assert_eq!(Subjects::new().digest, Digest([0; 32]));
    }
}
