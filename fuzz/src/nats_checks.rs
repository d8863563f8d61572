//! Properties of reading a JetStream message as a log entry
//! (`tallinn_nats::NatsLog::read`): the member of the subject, the receipt
//! time from the `Tallinn-Appended-At` header, then the payload as an event.
//!
//! Input layout: `server_ms: i64 LE | flags: u8 | prefix \n subject \n
//! header \n payload` (`flags & 1`: the header is present).

use ledger::calendar::Timestamp;
use ledger::ids::MemberId;
use tallinn_nats::{receipt_time, subject, subject_member};

use crate::ledger_checks::entry_payload;

/// Splits off the first line (without its `\n`); the rest after it.
fn line(bytes: &[u8]) -> (&[u8], &[u8]) {
    match bytes.iter().position(|&b| b == b'\n') {
        Some(i) => (&bytes[..i], &bytes[i + 1..]),
        None => (bytes, &[]),
    }
}

/// `nats_entry`.
///
/// The member of a subject is `?` or the member whose subject it is exactly
/// (`subject` reversed both ways); the receipt time is never later than the
/// server's and reads back from the audit bundle's JSON form (where `audit
/// export` writes it); the payload is then checked as the ledger checks an
/// entry (`ledger_checks::entry_payload`).
pub fn nats_entry(data: &[u8]) {
    if data.len() < 9 {
        return;
    }
    let server_ms = i64::from_le_bytes(data[..8].try_into().expect("8 bytes"));
    let flags = data[8];
    let (prefix, rest) = line(&data[9..]);
    let (subj, rest) = line(rest);
    let (header, payload) = line(rest);
    let (Ok(prefix), Ok(subj)) = (std::str::from_utf8(prefix), std::str::from_utf8(subj)) else {
        return;
    };

    let member = subject_member(prefix, subj);
    if member != MemberId::unnamed_subject() {
        assert_eq!(
            subject(prefix, &member),
            subj,
            "{subj:?} is read as {member}'s subject"
        );
    }

    let header = (flags & 1 == 1).then(|| String::from_utf8_lossy(header));
    let at = receipt_time(header.as_deref(), server_ms);
    assert!(at.0 <= server_ms, "a receipt time after the server's");
    assert!(at.0 >= 0 || at.0 == server_ms, "a receipt time before 1970");
    if let Some(claimed) = header.as_deref().and_then(|h| h.parse::<i64>().ok()) {
        // The claim, clamped to the server's time and to 1970.
        assert_eq!(at.0, claimed.max(0).min(server_ms));
    }
    // Where the server's clock is sane, the time survives the bundle's JSON.
    if (0..=253_402_300_799_999).contains(&server_ms) {
        let json = serde_json::to_string(&at).expect("a timestamp serializes");
        let back: Result<Timestamp, _> = serde_json::from_str(&json);
        assert_eq!(
            back.ok(),
            Some(at),
            "receipt time {} ({json}) does not read back from a bundle",
            at.0
        );
    }

    if let Ok(ev) = ledger::event::Event::from_bytes(payload) {
        let producer = &ev.envelope().producer;
        assert_eq!(
            &subject_member(prefix, &subject(prefix, producer)),
            producer
        );
    }
    entry_payload(Some(member), at, payload);
}
