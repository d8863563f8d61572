//! Signed tree heads in the C2SP formats: signed notes (c2sp.org/signed-note),
//! checkpoints (c2sp.org/tlog-checkpoint) and Ed25519 witness cosignatures
//! (c2sp.org/tlog-cosignature, `cosignature/v1`).
//!
//! - A [`Checkpoint`] is the note text `origin\nsize\nbase64(root)\n` plus
//!   optional extension lines.
//! - A [`Note`] is a text ending in `\n`, a blank line, then signature lines
//!   `— name base64(key id || signature)\n` (`—` is U+2014).
//! - A log signs the note text with Ed25519 ([`sign_note`], key id type `0x01`);
//!   a witness cosigns `cosignature/v1\ntime <secs>\n` followed by the checkpoint
//!   text ([`cosign`], key id type `0x04`, signature `u64 BE time || sig`).
//! - [`Policy::verify`] checks a log signature and a threshold of witness
//!   cosignatures.
//!
//! Signatures from unknown (name, key id) pairs are ignored; a signature from a
//! known key that does not verify (`verify_strict`) fails the whole note.
//! Nothing here reads a clock: times are passed in and returned.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use crate::ids::Digest;
use crate::keys::{key_id, parse_vkey, KeyError, PublicKey, Signer, ED25519_TYPE};

/// The signed-note signature type byte of Ed25519 `cosignature/v1` witness keys.
pub const COSIGNATURE_V1_TYPE: u8 = 0x04;
/// The most signature lines [`Note::parse`] accepts (as Go's `sumdb/note`).
pub const MAX_SIGNATURES: usize = 100;
/// The largest cosignature timestamp allowed: 2^63 - 1.
pub const MAX_TIMESTAMP: u64 = i64::MAX as u64;

const SIG_PREFIX: &str = "\u{2014} ";
const COSIGNATURE_V1_HEADER: &str = "cosignature/v1\n";

/// Why a note, checkpoint, key or signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The note is not a well-formed signed note.
    #[error("malformed note: {0}")]
    MalformedNote(&'static str),
    /// The note text is not a well-formed checkpoint.
    #[error("malformed checkpoint: {0}")]
    MalformedCheckpoint(&'static str),
    /// A key name or origin is empty or has a space, `+` or control character.
    #[error("invalid name {0:?}: must be non-empty without spaces, '+' or control characters")]
    BadName(String),
    /// A key or key text was refused.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A signature from a known key does not verify.
    #[error("signature by {name}+{key_id} does not verify")]
    BadSignature {
        /// The key name.
        name: String,
        /// The key id, in hex.
        key_id: String,
    },
    /// A signature was checked against a key whose name or key id it does not carry.
    #[error("signature by {name}+{key_id} is not for this key")]
    KeyMismatch {
        /// The key name on the signature.
        name: String,
        /// The key id on the signature, in hex.
        key_id: String,
    },
    /// No signature in the note is from a known key.
    #[error("no signature from a known key")]
    NoKnownSignature,
    /// The note has no signature from the log key.
    #[error("no signature from the log key {0}")]
    NoLogSignature(String),
    /// A cosignature is not a timestamp followed by a 64-byte Ed25519 signature.
    #[error("cosignature by {name} is {len} bytes, expected 72")]
    MalformedCosignature {
        /// The cosigner name.
        name: String,
        /// The signature length, without the key id.
        len: usize,
    },
    /// A cosignature timestamp exceeds 2^63 - 1.
    #[error("cosignature timestamp {0} exceeds 2^63 - 1")]
    TimestampTooLarge(u64),
    /// Fewer witnesses cosigned than the policy requires.
    #[error("{got} witness cosignatures verified, {need} required")]
    TooFewCosignatures {
        /// Distinct witnesses whose cosignature verified.
        got: usize,
        /// The policy threshold.
        need: usize,
    },
}

fn check_name(name: &str) -> Result<(), CheckpointError> {
    let bad = |c: char| c == '+' || c.is_whitespace() || c.is_control();
    if name.is_empty() || name.chars().any(bad) {
        return Err(CheckpointError::BadName(name.into()));
    }
    Ok(())
}

/// The prefix of a checkpoint's signed issue time line.
pub const TIME_EXTENSION: &str = "time ";

/// The prefix of a checkpoint's subjects commitment line.
pub const SUBJECTS_EXTENSION: &str = "subjects ";

/// The canonical standard base64 of 32 bytes.
fn parse_digest(text: &str) -> Option<Digest> {
    let bytes: [u8; 32] = B64.decode(text).ok()?.try_into().ok()?;
    (B64.encode(bytes) == text).then_some(Digest(bytes))
}

/// Unix seconds as a checkpoint time line writes them: decimal, no leading
/// zeros, at most 2^63 - 1.
fn parse_time(text: &str) -> Option<u64> {
    let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    if !digits || (text.len() > 1 && text.starts_with('0')) {
        return None;
    }
    text.parse().ok().filter(|&t| t <= MAX_TIMESTAMP)
}

/// Whether `text` has no control characters other than `\n`.
fn no_controls(text: &str) -> bool {
    !text.chars().any(|c| c < ' ' && c != '\n')
}

/// Checks that `text` can be a note text: ends in `\n`, no other control characters.
fn check_text(text: &str) -> Result<(), CheckpointError> {
    if !text.ends_with('\n') {
        return Err(CheckpointError::MalformedNote(
            "text must end with a newline",
        ));
    }
    if !no_controls(text) {
        return Err(CheckpointError::MalformedNote("control character"));
    }
    Ok(())
}

/// A checkpoint: a log's origin, tree size, root hash and extension lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's origin, e.g. `example.com/log42`: no spaces, no `+`.
    pub origin: String,
    /// The tree size.
    pub size: u64,
    /// The RFC 6962 root hash of the tree.
    pub root: Digest,
    /// Extra non-empty lines after the root (NOT RECOMMENDED by the spec).
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// A checkpoint without extension lines; checks the origin.
    pub fn new(origin: &str, size: u64, root: Digest) -> Result<Checkpoint, CheckpointError> {
        let cp = Checkpoint {
            origin: origin.into(),
            size,
            root,
            extensions: Vec::new(),
        };
        cp.validate()?;
        Ok(cp)
    }

    /// A checkpoint carrying the time its signer issued it, as the extension
    /// line `time <unix seconds>` (the form `cosignature/v1` uses). The time is
    /// signed with the checkpoint: it says the log held exactly `size` events
    /// at that time, which bounds the `recorded_at` of the events on either
    /// side of it (schemas/RULES.md, time findings).
    pub fn with_time(
        origin: &str,
        size: u64,
        root: Digest,
        time_secs: u64,
    ) -> Result<Checkpoint, CheckpointError> {
        if time_secs > MAX_TIMESTAMP {
            return Err(CheckpointError::TimestampTooLarge(time_secs));
        }
        let mut cp = Checkpoint::new(origin, size, root)?;
        cp.extensions.push(format!("{TIME_EXTENSION}{time_secs}"));
        Ok(cp)
    }

    /// Adds the signed subjects commitment of the first `size` entries
    /// (`subjects <base64>`, see [`crate::subjects`]).
    pub fn with_subjects(mut self, subjects: Digest) -> Checkpoint {
        self.extensions
            .push(format!("{SUBJECTS_EXTENSION}{}", B64.encode(subjects.0)));
        self
    }

    /// The signed subjects commitment (`subjects <base64>` line), if any.
    pub fn subjects(&self) -> Option<Digest> {
        self.extensions
            .iter()
            .find_map(|e| e.strip_prefix(SUBJECTS_EXTENSION))
            .and_then(parse_digest)
    }

    /// The signed issue time (`time <unix seconds>` extension line), if any.
    /// A line that starts with `time ` but is no decimal below 2^63 is refused
    /// when the checkpoint is parsed, so this never guesses.
    pub fn time(&self) -> Option<u64> {
        self.extensions
            .iter()
            .find_map(|e| e.strip_prefix(TIME_EXTENSION))
            .and_then(parse_time)
    }

    /// Checks the origin and extension lines.
    pub fn validate(&self) -> Result<(), CheckpointError> {
        check_name(&self.origin)?;
        for ext in &self.extensions {
            if ext.is_empty() || ext.chars().any(char::is_control) {
                return Err(CheckpointError::MalformedCheckpoint(
                    "empty extension line or control character",
                ));
            }
        }
        let times: Vec<&str> = self
            .extensions
            .iter()
            .filter_map(|e| e.strip_prefix(TIME_EXTENSION))
            .collect();
        if times.len() > 1 {
            return Err(CheckpointError::MalformedCheckpoint(
                "more than one time line",
            ));
        }
        let subjects: Vec<&str> = self
            .extensions
            .iter()
            .filter_map(|e| e.strip_prefix(SUBJECTS_EXTENSION))
            .collect();
        if subjects.len() > 1 || subjects.iter().any(|s| parse_digest(s).is_none()) {
            return Err(CheckpointError::MalformedCheckpoint(
                "subjects line: one, the canonical base64 of 32 bytes",
            ));
        }
        if times.iter().any(|t| parse_time(t).is_none()) {
            return Err(CheckpointError::MalformedCheckpoint(
                "time line is not decimal unix seconds below 2^63 without leading zeros",
            ));
        }
        Ok(())
    }

    /// The note text: `origin\nsize\nbase64(root)\n`, then each extension line and `\n`.
    pub fn body_text(&self) -> String {
        let mut out = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root.0)
        );
        for ext in &self.extensions {
            out.push_str(ext);
            out.push('\n');
        }
        out
    }

    /// Parses a checkpoint note text strictly: a valid origin, a decimal size
    /// without leading zeros, the canonical standard base64 of 32 bytes, and
    /// non-empty extension lines, each line ending in `\n`.
    pub fn parse_body(text: &str) -> Result<Checkpoint, CheckpointError> {
        let malformed = CheckpointError::MalformedCheckpoint;
        let body = text
            .strip_suffix('\n')
            .ok_or(malformed("must end with a newline"))?;
        if !no_controls(text) {
            return Err(malformed("control character"));
        }
        let mut lines = body.split('\n');
        let (origin, size, root_b64) = match (lines.next(), lines.next(), lines.next()) {
            (Some(o), Some(s), Some(r)) => (o, s, r),
            _ => return Err(malformed("expected origin, size and root lines")),
        };
        check_name(origin)?;
        let digits = !size.is_empty() && size.bytes().all(|b| b.is_ascii_digit());
        if !digits || (size.len() > 1 && size.starts_with('0')) {
            return Err(malformed("size must be decimal without leading zeros"));
        }
        let size = size
            .parse()
            .map_err(|_| malformed("size does not fit in 64 bits"))?;
        let bytes = B64
            .decode(root_b64)
            .map_err(|_| malformed("root is not standard base64"))?;
        let root: [u8; 32] = bytes
            .try_into()
            .map_err(|_| malformed("root is not 32 bytes"))?;
        if B64.encode(root) != root_b64 {
            return Err(malformed("root is not canonical base64"));
        }
        let cp = Checkpoint {
            origin: origin.into(),
            size,
            root: Digest(root),
            extensions: lines.map(String::from).collect(),
        };
        cp.validate()?;
        Ok(cp)
    }

    /// Signs the checkpoint text with a log key, as a one-signature note.
    pub fn sign(&self, signer: &Signer) -> Result<Note, CheckpointError> {
        self.validate()?;
        let text = self.body_text();
        let signature = sign_note(&text, signer)?;
        Ok(Note {
            text,
            signatures: vec![signature],
        })
    }
}

/// One signature line of a note: key name, key id, and the signature bytes
/// after the key id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// The key name.
    pub name: String,
    /// The 4-byte key id.
    pub key_id: [u8; 4],
    /// The signature bytes (for cosignatures, timestamp then signature).
    pub sig: Vec<u8>,
}

impl NoteSignature {
    /// The line `— name base64(key id || sig)\n`.
    pub fn to_line(&self) -> String {
        let mut raw = self.key_id.to_vec();
        raw.extend_from_slice(&self.sig);
        format!("{SIG_PREFIX}{} {}\n", self.name, B64.encode(raw))
    }

    /// The timestamp of a `cosignature/v1` signature, **unverified**.
    pub fn cosignature_time(&self) -> Result<u64, CheckpointError> {
        let (time, _) = split_cosignature(self)?;
        Ok(time)
    }
}

fn split_cosignature(sig: &NoteSignature) -> Result<(u64, [u8; 64]), CheckpointError> {
    let malformed = || CheckpointError::MalformedCosignature {
        name: sig.name.clone(),
        len: sig.sig.len(),
    };
    let (time, ed) = sig.sig.split_at_checked(8).ok_or_else(malformed)?;
    let ed: [u8; 64] = ed.try_into().map_err(|_| malformed())?;
    let time = u64::from_be_bytes(time.try_into().expect("8 bytes"));
    if time > MAX_TIMESTAMP {
        return Err(CheckpointError::TimestampTooLarge(time));
    }
    Ok((time, ed))
}

/// A signed note: a text and its signature lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The text, ending in `\n` (without the blank separator line).
    pub text: String,
    /// The signature lines, in order.
    pub signatures: Vec<NoteSignature>,
}

impl Note {
    /// Parses a signed note: UTF-8 without control characters other than `\n`,
    /// the text up to the last blank line, then 1 to [`MAX_SIGNATURES`]
    /// signature lines. Nothing is verified.
    pub fn parse(bytes: impl AsRef<[u8]>) -> Result<Note, CheckpointError> {
        let malformed = CheckpointError::MalformedNote;
        let msg = std::str::from_utf8(bytes.as_ref()).map_err(|_| malformed("not UTF-8"))?;
        if !no_controls(msg) {
            return Err(malformed("control character"));
        }
        let split = msg
            .rfind("\n\n")
            .ok_or(malformed("no blank line before signatures"))?;
        let (text, sigs) = (&msg[..split + 1], &msg[split + 2..]);
        let sigs = sigs
            .strip_suffix('\n')
            .ok_or(malformed("signatures must end with a newline"))?;
        let mut signatures = Vec::new();
        for line in sigs.split('\n') {
            if signatures.len() == MAX_SIGNATURES {
                return Err(malformed("too many signatures"));
            }
            let rest = line
                .strip_prefix(SIG_PREFIX)
                .ok_or(malformed("signature line without em dash"))?;
            let (name, b64) = rest
                .split_once(' ')
                .ok_or(malformed("signature line without a space"))?;
            check_name(name).map_err(|_| malformed("invalid key name"))?;
            let raw = B64
                .decode(b64)
                .map_err(|_| malformed("signature is not standard base64"))?;
            if raw.len() < 5 {
                return Err(malformed("signature too short"));
            }
            let key_id = [raw[0], raw[1], raw[2], raw[3]];
            signatures.push(NoteSignature {
                name: name.into(),
                key_id,
                sig: raw[4..].to_vec(),
            });
        }
        Ok(Note {
            text: text.into(),
            signatures,
        })
    }

    /// The note as text: the text, a blank line, the signature lines.
    pub fn to_text(&self) -> String {
        let mut out = format!("{}\n", self.text);
        for sig in &self.signatures {
            out.push_str(&sig.to_line());
        }
        out
    }
}

/// Signs a note text (ending in `\n`, no other control characters) with an
/// Ed25519 key; key id `SHA-256(name || 0x0A || 0x01 || pubkey)[..4]`.
pub fn sign_note(text: &str, signer: &Signer) -> Result<NoteSignature, CheckpointError> {
    check_text(text)?;
    Ok(NoteSignature {
        name: signer.name().into(),
        key_id: signer.public_key().key_id(signer.name()),
        sig: signer.sign_raw(text.as_bytes()).to_vec(),
    })
}

/// An Ed25519 signature checked by the ledger's rule, ZIP 215
/// ([`crate::signature`]); `Ok(false)` if it does not verify.
fn ed25519_verify(key: &PublicKey, msg: &[u8], sig: &[u8]) -> Result<bool, CheckpointError> {
    key.check()?;
    let Ok(sig) = <[u8; 64]>::try_from(sig) else {
        return Ok(false);
    };
    Ok(crate::signature::verify(&key.0, msg, &sig))
}

fn bad_signature(sig: &NoteSignature) -> CheckpointError {
    CheckpointError::BadSignature {
        name: sig.name.clone(),
        key_id: hex::encode(sig.key_id),
    }
}

/// A trusted Ed25519 note key (type `0x01`): a name and a public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verifier {
    /// The key name.
    pub name: String,
    /// The public key.
    pub key: PublicKey,
}

impl Verifier {
    /// A verifier from a name and key; checks the name and refuses weak keys.
    pub fn new(name: &str, key: PublicKey) -> Result<Verifier, CheckpointError> {
        check_name(name)?;
        key.check()?;
        Ok(Verifier {
            name: name.into(),
            key,
        })
    }

    /// A verifier from a C2SP vkey `name+keyid+base64(0x01 || key)`.
    pub fn from_vkey(vkey: &str) -> Result<Verifier, CheckpointError> {
        let (name, key) = parse_vkey(vkey)?;
        Ok(Verifier { name, key })
    }

    /// The verifier's vkey text.
    pub fn vkey(&self) -> String {
        self.key.vkey(&self.name)
    }

    /// The key id: `SHA-256(name || 0x0A || 0x01 || key)[..4]`.
    pub fn key_id(&self) -> [u8; 4] {
        key_id(&self.name, ED25519_TYPE, &self.key.0)
    }

    /// Whether `sig` carries this verifier's name and key id.
    pub fn matches(&self, sig: &NoteSignature) -> bool {
        sig.name == self.name && sig.key_id == self.key_id()
    }

    /// Checks `sig` over `text`; it must carry this verifier's name and key id.
    pub fn verify(&self, text: &str, sig: &NoteSignature) -> Result<(), CheckpointError> {
        if !self.matches(sig) {
            return Err(CheckpointError::KeyMismatch {
                name: sig.name.clone(),
                key_id: hex::encode(sig.key_id),
            });
        }
        if !ed25519_verify(&self.key, text.as_bytes(), &sig.sig)? {
            return Err(bad_signature(sig));
        }
        Ok(())
    }
}

/// Verifies a note's signatures against `verifiers` and returns the verifiers
/// with a valid signature, each once, in the order given.
///
/// Signatures from unknown (name, key id) pairs are ignored; a signature from
/// a known pair that no matching verifier accepts is an error, and so is a
/// note without any signature from a known key.
pub fn verify_note<'a>(
    note: &Note,
    verifiers: &'a [Verifier],
) -> Result<Vec<&'a Verifier>, CheckpointError> {
    let mut ok = vec![false; verifiers.len()];
    for sig in &note.signatures {
        let mut known = false;
        let mut verified = false;
        for (i, v) in verifiers.iter().enumerate().filter(|(_, v)| v.matches(sig)) {
            known = true;
            if ed25519_verify(&v.key, note.text.as_bytes(), &sig.sig)? {
                ok[i] = true;
                verified = true;
            }
        }
        if known && !verified {
            return Err(bad_signature(sig));
        }
    }
    let out: Vec<&Verifier> = verifiers
        .iter()
        .zip(ok)
        .filter(|(_, ok)| *ok)
        .map(|(v, _)| v)
        .collect();
    if out.is_empty() {
        return Err(CheckpointError::NoKnownSignature);
    }
    Ok(out)
}

/// The message a `cosignature/v1` signs: `cosignature/v1\ntime <secs>\n`
/// followed by the whole checkpoint text.
pub fn cosignature_message(checkpoint_body: &str, time_secs: u64) -> String {
    format!("{COSIGNATURE_V1_HEADER}time {time_secs}\n{checkpoint_body}")
}

/// Cosigns a checkpoint text as a witness at `time_secs` (`cosignature/v1`):
/// key id `SHA-256(name || 0x0A || 0x04 || pubkey)[..4]`, signature
/// `u64 BE time || Ed25519 signature`. The text must parse as a checkpoint.
pub fn cosign(
    checkpoint_body: &str,
    signer: &Signer,
    time_secs: u64,
) -> Result<NoteSignature, CheckpointError> {
    Checkpoint::parse_body(checkpoint_body)?;
    if time_secs > MAX_TIMESTAMP {
        return Err(CheckpointError::TimestampTooLarge(time_secs));
    }
    let msg = cosignature_message(checkpoint_body, time_secs);
    let mut sig = time_secs.to_be_bytes().to_vec();
    sig.extend_from_slice(&signer.sign_raw(msg.as_bytes()));
    Ok(NoteSignature {
        name: signer.name().into(),
        key_id: key_id(signer.name(), COSIGNATURE_V1_TYPE, &signer.public_key().0),
        sig,
    })
}

/// A trusted witness: a cosigner name and Ed25519 key (`cosignature/v1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Witness {
    /// The cosigner name.
    pub name: String,
    /// The public key.
    pub key: PublicKey,
}

impl Witness {
    /// A witness from a name and key; checks the name and refuses weak keys.
    pub fn new(name: &str, key: PublicKey) -> Result<Witness, CheckpointError> {
        check_name(name)?;
        key.check()?;
        Ok(Witness {
            name: name.into(),
            key,
        })
    }

    /// A witness from a vkey `name+keyid+base64(type || key)` of type `0x04`
    /// (a cosignature key) or `0x01` (a plain Ed25519 key, used for cosigning);
    /// the key id must match that type.
    pub fn from_vkey(vkey: &str) -> Result<Witness, CheckpointError> {
        let malformed = || CheckpointError::Key(KeyError::Malformed("witness key"));
        let mut parts = vkey.trim().splitn(3, '+');
        let (name, id, b64) = match (parts.next(), parts.next(), parts.next()) {
            (Some(n), Some(i), Some(b)) => (n, i, b),
            _ => return Err(malformed()),
        };
        let typed = B64.decode(b64).map_err(|_| malformed())?;
        match typed.first() {
            Some(&ED25519_TYPE) => {
                let (name, key) = parse_vkey(vkey)?;
                return Witness::new(&name, key);
            }
            Some(&COSIGNATURE_V1_TYPE) => {}
            Some(&other) => return Err(KeyError::UnsupportedType(other).into()),
            None => return Err(malformed()),
        }
        let key: [u8; 32] = typed[1..].try_into().map_err(|_| malformed())?;
        let witness = Witness::new(name, PublicKey(key))?;
        let computed = hex::encode(witness.key_id());
        if id != computed {
            return Err(KeyError::KeyIdMismatch {
                stated: id.into(),
                computed,
            }
            .into());
        }
        Ok(witness)
    }

    /// The witness's vkey text, of type `0x04`.
    pub fn vkey(&self) -> String {
        let mut typed = vec![COSIGNATURE_V1_TYPE];
        typed.extend_from_slice(&self.key.0);
        format!(
            "{}+{}+{}",
            self.name,
            hex::encode(self.key_id()),
            B64.encode(typed)
        )
    }

    /// The key id: `SHA-256(name || 0x0A || 0x04 || key)[..4]`.
    pub fn key_id(&self) -> [u8; 4] {
        key_id(&self.name, COSIGNATURE_V1_TYPE, &self.key.0)
    }

    /// Whether `sig` carries this witness's name and key id.
    pub fn matches(&self, sig: &NoteSignature) -> bool {
        sig.name == self.name && sig.key_id == self.key_id()
    }

    /// Checks a cosignature over a checkpoint text and returns its timestamp;
    /// it must carry this witness's name and key id.
    pub fn verify_cosignature(
        &self,
        checkpoint_body: &str,
        sig: &NoteSignature,
    ) -> Result<u64, CheckpointError> {
        if !self.matches(sig) {
            return Err(CheckpointError::KeyMismatch {
                name: sig.name.clone(),
                key_id: hex::encode(sig.key_id),
            });
        }
        let (time, ed) = split_cosignature(sig)?;
        let msg = cosignature_message(checkpoint_body, time);
        if !ed25519_verify(&self.key, msg.as_bytes(), &ed)? {
            return Err(bad_signature(sig));
        }
        Ok(time)
    }
}

/// Verifies the cosignatures on a note from `witnesses` and returns each
/// witness with a valid cosignature once, with the latest verified timestamp,
/// in the order given. Unknown signatures are ignored; a bad cosignature from
/// a known witness is an error.
pub fn verify_cosignatures<'a>(
    note: &Note,
    witnesses: &'a [Witness],
) -> Result<Vec<(&'a Witness, u64)>, CheckpointError> {
    let mut times: Vec<Option<u64>> = vec![None; witnesses.len()];
    for sig in &note.signatures {
        for (i, w) in witnesses.iter().enumerate().filter(|(_, w)| w.matches(sig)) {
            let time = w.verify_cosignature(&note.text, sig)?;
            times[i] = times[i].max(Some(time));
        }
    }
    Ok(witnesses
        .iter()
        .zip(times)
        .filter_map(|(w, t)| Some((w, t?)))
        .collect())
}

/// A checkpoint whose log signature and witness threshold verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCheckpoint {
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// The names of the witnesses whose cosignature verified, in policy order.
    pub cosigners: Vec<String>,
    /// The cosignature timestamps (Unix seconds), in the order of `cosigners`.
    pub cosigned_at: Vec<u64>,
}

/// Which log key and how many of which witnesses a checkpoint needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The log's key; a valid signature by it is required.
    pub log: Verifier,
    /// The trusted witnesses.
    pub witnesses: Vec<Witness>,
    /// How many distinct witness keys must have cosigned.
    pub threshold: usize,
}

impl Policy {
    /// Parses a signed checkpoint note and checks the log signature and at
    /// least `threshold` witness cosignatures (witnesses sharing a key count
    /// once). The origin is not compared with the log key name; check
    /// `checkpoint.origin` if it matters.
    pub fn verify(&self, note: impl AsRef<[u8]>) -> Result<VerifiedCheckpoint, CheckpointError> {
        let note = Note::parse(note)?;
        match verify_note(&note, std::slice::from_ref(&self.log)) {
            Ok(_) => {}
            Err(CheckpointError::NoKnownSignature) => {
                return Err(CheckpointError::NoLogSignature(self.log.name.clone()));
            }
            Err(e) => return Err(e),
        }
        let checkpoint = Checkpoint::parse_body(&note.text)?;
        let cosigned = verify_cosignatures(&note, &self.witnesses)?;
        let mut keys: Vec<&PublicKey> = cosigned.iter().map(|(w, _)| &w.key).collect();
        keys.sort();
        keys.dedup();
        if keys.len() < self.threshold {
            return Err(CheckpointError::TooFewCosignatures {
                got: keys.len(),
                need: self.threshold,
            });
        }
        Ok(VerifiedCheckpoint {
            checkpoint,
            cosigners: cosigned.iter().map(|(w, _)| w.name.clone()).collect(),
            cosigned_at: cosigned.iter().map(|(_, t)| *t).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // c2sp.org/signed-note, "Verifier keys" example.
    const SPEC_VKEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
    const SPEC_NOTE: &str = "This is an example message.\n\n\u{2014} example.com/foo \
        Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

    // golang.org/x/mod sumdb/note/note_test.go (TestSign, TestOpen).
    const PETER_SKEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
    const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\n\
        then you don't know what your problem is.\n";
    const PETER_SIG: &str = "\u{2014} PeterNeumann \
        x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
    const ENOCH_SIG: &str = "\u{2014} EnochRoot \
        rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

    // c2sp.org/tlog-cosignature example (no keys are published for it).
    const COSIG_NOTE: &str = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n\
        \u{2014} example.com/behind-the-sofa \
        Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n\
        \u{2014} witness.example.com/w1 \
        jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n";

    const LOG: &str = "example.com/log";

    fn signer(name: &str, seed: u8) -> Signer {
        Signer::from_seed(name, [seed; 32]).unwrap()
    }

    fn verifier(s: &Signer) -> Verifier {
        Verifier::new(s.name(), s.public_key()).unwrap()
    }

    fn witness(s: &Signer) -> Witness {
        Witness::new(s.name(), s.public_key()).unwrap()
    }

    fn checkpoint(size: u64) -> Checkpoint {
        let root = crate::event::leaf_hash(format!("root {size}").as_bytes());
        Checkpoint::new(LOG, size, root).unwrap()
    }

    #[test]
    fn spec_example_note_verifies() {
        let v = Verifier::from_vkey(SPEC_VKEY).unwrap();
        assert_eq!(v.vkey(), SPEC_VKEY);
        let note = Note::parse(SPEC_NOTE).unwrap();
        assert_eq!(note.text, "This is an example message.\n");
        assert_eq!(note.signatures.len(), 1);
        assert_eq!(hex::encode(note.signatures[0].key_id), "530d903a");
        assert_eq!(verify_note(&note, std::slice::from_ref(&v)).unwrap(), [&v]);
        assert_eq!(note.to_text(), SPEC_NOTE);

        let tampered =
            Note::parse(SPEC_NOTE.replace("example message", "example massage")).unwrap();
        assert!(matches!(
            verify_note(&tampered, &[v]),
            Err(CheckpointError::BadSignature { .. })
        ));
    }

    #[test]
    fn go_golden_signature_is_reproduced() {
        let peter = Signer::from_skey(PETER_SKEY).unwrap();
        let sig = sign_note(GO_TEXT, &peter).unwrap();
        let note = Note {
            text: GO_TEXT.into(),
            signatures: vec![sig],
        };
        let want = format!("{GO_TEXT}\n{PETER_SIG}");
        assert_eq!(note.to_text(), want);
        assert_eq!(Note::parse(&want).unwrap(), note);
        assert_eq!(
            sign_note("no newline", &peter),
            Err(CheckpointError::MalformedNote(
                "text must end with a newline"
            ))
        );
        assert!(sign_note("tab\there\n", &peter).is_err());
    }

    #[test]
    fn go_open_cases() {
        let peter = Verifier::from_vkey(PETER_VKEY).unwrap();
        let enoch = Verifier::from_vkey(ENOCH_VKEY).unwrap();
        let both = format!("{GO_TEXT}\n{PETER_SIG}{ENOCH_SIG}");
        let note = Note::parse(&both).unwrap();
        assert_eq!(note.text, GO_TEXT);
        assert_eq!(note.signatures.len(), 2);
        // Enoch is unknown: ignored.
        let only_peter = [peter.clone()];
        assert_eq!(verify_note(&note, &only_peter).unwrap(), [&only_peter[0]]);
        let all = [peter.clone(), enoch.clone()];
        assert_eq!(verify_note(&note, &all).unwrap().len(), 2);
        assert_eq!(
            verify_note(&note, &[]),
            Err(CheckpointError::NoKnownSignature)
        );
        assert_eq!(
            verify_note(&note, std::slice::from_ref(&enoch)).unwrap(),
            [&enoch]
        );

        // 100 signatures are fine, 101 are not.
        let many = |n| format!("{GO_TEXT}\n{}", PETER_SIG.repeat(n));
        assert_eq!(
            verify_note(&Note::parse(many(100)).unwrap(), &only_peter)
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            Note::parse(many(101)),
            Err(CheckpointError::MalformedNote("too many signatures"))
        );

        // A corrupted signature from a known key rejects the note.
        let corrupt = format!("{GO_TEXT}\n{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
        let err = verify_note(&Note::parse(&corrupt).unwrap(), &only_peter).unwrap_err();
        assert_eq!(
            err,
            CheckpointError::BadSignature {
                name: "PeterNeumann".into(),
                key_id: "c74f20a3".into()
            }
        );

        // Duplicates and corrupted unknown signatures are fine.
        let enoch_abcd = format!("{}ABCD{}", &ENOCH_SIG[..60], &ENOCH_SIG[60..]);
        let dup = format!("{GO_TEXT}\n{PETER_SIG}{PETER_SIG}{ENOCH_SIG}{ENOCH_SIG}{enoch_abcd}");
        assert_eq!(
            verify_note(&Note::parse(&dup).unwrap(), &only_peter)
                .unwrap()
                .len(),
            1
        );

        // A name or key id that differs from the verifier's: unknown, ignored.
        let renamed = format!(
            "{GO_TEXT}\n{}",
            PETER_SIG.replace("PeterNeumann", "CarmenSandiego")
        );
        assert_eq!(
            verify_note(&Note::parse(&renamed).unwrap(), &only_peter),
            Err(CheckpointError::NoKnownSignature)
        );
        let rekeyed = format!("{GO_TEXT}\n{}", PETER_SIG.replace("x08g", "xxxx"));
        assert_eq!(
            verify_note(&Note::parse(&rekeyed).unwrap(), &only_peter),
            Err(CheckpointError::NoKnownSignature)
        );
    }

    #[test]
    fn malformed_notes_are_rejected() {
        let bad: Vec<Vec<u8>> = vec![
            GO_TEXT.into(),
            format!("{GO_TEXT}\n").into(),
            format!("{GO_TEXT}\n{}", &PETER_SIG[..PETER_SIG.len() - 1]).into(),
            format!("\x01{GO_TEXT}\n{PETER_SIG}").into(),
            [
                b"\xff".as_slice(),
                format!("{GO_TEXT}\n{PETER_SIG}").as_bytes(),
            ]
            .concat(),
            format!(
                "{GO_TEXT}\n{}",
                PETER_SIG.replace("PeterNeumann", "Bad Name").trim_end()
            )
            .into(),
            format!("{GO_TEXT}\n{PETER_SIG}Unexpected line.\n").into(),
            format!("{GO_TEXT}\n{}", PETER_SIG.replace('\u{2014}', "-")).into(),
            format!("{GO_TEXT}\n\u{2014} a+b AAAAAAA=\n").into(),
            format!("{GO_TEXT}\n\u{2014} short AAAA\n").into(),
            format!("{GO_TEXT}\n\u{2014} nob64 !!!!\n").into(),
            format!("{GO_TEXT}\n\u{2014} nospace\n").into(),
            format!("{GO_TEXT}\r\n{PETER_SIG}").into(),
        ];
        for msg in bad {
            let err = Note::parse(&msg).unwrap_err();
            assert!(
                matches!(err, CheckpointError::MalformedNote(_)),
                "{:?}",
                String::from_utf8_lossy(&msg)
            );
        }
    }

    #[test]
    fn checkpoint_body_round_trips() {
        let mut cp = checkpoint(20852163);
        let text = cp.body_text();
        assert_eq!(Checkpoint::parse_body(&text).unwrap(), cp);
        cp.extensions = vec!["Timestamp: 1".into(), "x".into()];
        let text = cp.body_text();
        assert!(text.ends_with("\nTimestamp: 1\nx\n"));
        assert_eq!(Checkpoint::parse_body(&text).unwrap(), cp);
        let zero = Checkpoint::new(LOG, 0, crate::merkle::empty_root()).unwrap();
        assert_eq!(
            zero.body_text(),
            "example.com/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
        );
        assert_eq!(Checkpoint::parse_body(&zero.body_text()).unwrap(), zero);
    }

    #[test]
    fn checkpoint_parsing_is_strict() {
        let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
        let ok = format!("o.example/log\n5\n{root}\n");
        assert!(Checkpoint::parse_body(&ok).is_ok());
        let bad = [
            format!("o.example/log\n5\n{root}"),
            format!("o.example/log\n05\n{root}\n"),
            format!("o.example/log\n+5\n{root}\n"),
            format!("o.example/log\n-5\n{root}\n"),
            format!("o.example/log\n\n{root}\n"),
            format!("o.example/log\n5 \n{root}\n"),
            format!("o.example/log\n18446744073709551616\n{root}\n"),
            format!("o.example/log\n5\n{}\n", &root[..43]),
            format!("o.example/log\n5\n{}\n", root.trim_end_matches('=')),
            format!("o.example/log\n5\n{}\n", root.replace('/', "_")),
            "o.example/log\n5\nAAAA\n".to_string(),
            // Non-canonical: the last character carries non-zero padding bits.
            format!("o.example/log\n5\n{}J=\n", &root[..42]),
            format!("o.example/log\n5\n{root}\n\n"),
            format!("o.example/log\n5\n{root}\next\n\n"),
            "o.example/log\n5\n".to_string(),
            format!("\n5\n{root}\n"),
            format!("o.example/log log\n5\n{root}\n"),
            format!("o.example+log\n5\n{root}\n"),
            format!("o.example/log\n5\n{root}\nbad\tchar\n"),
        ];
        for text in &bad {
            assert!(Checkpoint::parse_body(text).is_err(), "{text:?}");
        }
        assert!(Checkpoint::parse_body(&format!("o\n18446744073709551615\n{root}\n")).is_ok());
        assert!(Checkpoint::new("with space", 1, Digest::ZERO).is_err());
        let timed = Checkpoint::with_time(LOG, 3, Digest::ZERO, 1_764_000_000).unwrap();
        assert_eq!(timed.time(), Some(1_764_000_000));
        let text = timed.body_text();
        assert!(text.ends_with("\ntime 1764000000\n"));
        assert_eq!(Checkpoint::parse_body(&text).unwrap(), timed);
        assert_eq!(Checkpoint::new(LOG, 3, Digest::ZERO).unwrap().time(), None);
        for bad in ["time 01", "time x", "time ", "time 9223372036854775808"] {
            let t = format!(
                "{}{bad}\n",
                Checkpoint::new(LOG, 3, Digest::ZERO).unwrap().body_text()
            );
            assert!(Checkpoint::parse_body(&t).is_err(), "{bad:?}");
        }
        let with_subjects = timed.clone().with_subjects(Digest([9; 32]));
        let parsed = Checkpoint::parse_body(&with_subjects.body_text()).unwrap();
        assert_eq!(parsed.subjects(), Some(Digest([9; 32])));
        assert_eq!(parsed.time(), Some(1_764_000_000));
        let bad = format!("{}subjects AAAA\n", timed.body_text());
        assert!(Checkpoint::parse_body(&bad).is_err());
        let twice = format!("{text}time 5\n");
        assert!(Checkpoint::parse_body(&twice).is_err());
        assert!(Checkpoint::new("", 1, Digest::ZERO).is_err());
    }

    #[test]
    fn tlog_cosignature_spec_example() {
        let note = Note::parse(COSIG_NOTE).unwrap();
        assert_eq!(note.to_text(), COSIG_NOTE);
        let cp = Checkpoint::parse_body(&note.text).unwrap();
        assert_eq!(
            (cp.origin.as_str(), cp.size),
            ("example.com/behind-the-sofa", 20852163)
        );
        assert_eq!(cp.body_text(), note.text);
        let w1 = &note.signatures[1];
        assert_eq!(w1.name, "witness.example.com/w1");
        assert_eq!(hex::encode(w1.key_id), "8d66cf3f");
        assert_eq!(w1.sig.len(), 72);
        assert_eq!(w1.cosignature_time(), Ok(1679315147));
        assert_eq!(
            cosignature_message(&note.text, 1679315147),
            "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\n\
             CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
        );
        // The log signature is a plain 64-byte Ed25519 signature.
        assert_eq!(note.signatures[0].sig.len(), 64);
        assert!(note.signatures[0].cosignature_time().is_err());
    }

    #[test]
    fn witness_vkeys() {
        // transparency-dev/formats note_cosigv1_test.go: a native 0x04 key
        // and a plain 0x01 key (whose base64 contains '+').
        let remora = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2";
        let w = Witness::from_vkey(remora).unwrap();
        assert_eq!(w.name, "remora.n621.de");
        assert_eq!(w.vkey(), remora);
        let test = Witness::from_vkey("TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6")
            .unwrap();
        assert_eq!(test.name, "TEST");
        assert_ne!(hex::encode(test.key_id()), "7997405c");
        assert_eq!(Witness::from_vkey(&test.vkey()).unwrap(), test);

        assert!(Witness::from_vkey(&remora.replace("da77ade7", "da77ade8")).is_err());
        assert!(Witness::from_vkey(&remora.replace("remora", "lamprey")).is_err());
        assert!(Witness::from_vkey("remora.n621.de+da77ade7").is_err());
        assert!(Witness::from_vkey("x+00000000+AwEB").is_err());
        // A plain Ed25519 vkey is not a log verifier of type 0x04.
        assert!(Verifier::from_vkey(remora).is_err());
        let s = signer("witness.example/w", 9);
        assert_eq!(Witness::from_vkey(&s.vkey()).unwrap(), witness(&s));
        assert_eq!(
            Witness::from_vkey(&witness(&s).vkey()).unwrap(),
            witness(&s)
        );
    }

    #[test]
    fn cosign_round_trip_and_mutations() {
        let w = signer("witness.example/w1", 7);
        let wv = witness(&w);
        let body = checkpoint(42).body_text();
        let sig = cosign(&body, &w, 1_700_000_000).unwrap();
        assert_eq!(sig.sig.len(), 72);
        assert_eq!(sig.key_id, wv.key_id());
        assert_ne!(sig.key_id, w.public_key().key_id(w.name()));
        assert_eq!(wv.verify_cosignature(&body, &sig), Ok(1_700_000_000));
        // The signed message is exactly the spec's: check it independently.
        let msg = format!("cosignature/v1\ntime 1700000000\n{body}");
        assert_eq!(sig.sig[8..], w.sign_raw(msg.as_bytes()));

        let bad = |res: Result<u64, CheckpointError>| {
            assert!(
                matches!(res, Err(CheckpointError::BadSignature { .. })),
                "{res:?}"
            );
        };
        bad(wv.verify_cosignature(&checkpoint(43).body_text(), &sig));
        let mut other_root = checkpoint(42);
        other_root.root = crate::event::leaf_hash(b"other");
        bad(wv.verify_cosignature(&other_root.body_text(), &sig));
        let mut ext = checkpoint(42);
        ext.extensions.push("ext".into());
        bad(wv.verify_cosignature(&ext.body_text(), &sig));
        let mut retimed = sig.clone();
        retimed.sig[7] ^= 1;
        bad(wv.verify_cosignature(&body, &retimed));
        let mut flipped = sig.clone();
        flipped.sig[40] ^= 1;
        bad(wv.verify_cosignature(&body, &flipped));
        // Another key under the same name does not match the key id.
        let impostor = witness(&signer("witness.example/w1", 8));
        assert!(matches!(
            impostor.verify_cosignature(&body, &sig),
            Err(CheckpointError::KeyMismatch { .. })
        ));
        let mut short = sig.clone();
        short.sig.truncate(71);
        assert!(matches!(
            wv.verify_cosignature(&body, &short),
            Err(CheckpointError::MalformedCosignature { .. })
        ));
        let mut future = sig.clone();
        future.sig[0] = 0x80;
        assert!(matches!(
            wv.verify_cosignature(&body, &future),
            Err(CheckpointError::TimestampTooLarge(_))
        ));
        assert!(cosign(&body, &w, MAX_TIMESTAMP + 1).is_err());
        assert!(cosign("not a checkpoint\n", &w, 1).is_err());
        // A note key's signature is not a cosignature, and vice versa.
        let log = signer(LOG, 1);
        let note_sig = sign_note(&body, &log).unwrap();
        assert!(witness(&log).verify_cosignature(&body, &note_sig).is_err());
        assert!(verifier(&w).verify(&body, &sig).is_err());
    }

    struct Setup {
        log: Signer,
        witnesses: Vec<Signer>,
        policy: Policy,
    }

    fn setup(threshold: usize) -> Setup {
        let log = signer(LOG, 1);
        let witnesses: Vec<Signer> = (0..3)
            .map(|i| signer(&format!("w{i}.example"), 10 + i))
            .collect();
        let policy = Policy {
            log: verifier(&log),
            witnesses: witnesses.iter().map(witness).collect(),
            threshold,
        };
        Setup {
            log,
            witnesses,
            policy,
        }
    }

    fn signed(cp: &Checkpoint, log: &Signer, cosigners: &[&Signer]) -> Note {
        let mut note = cp.sign(log).unwrap();
        for (i, w) in cosigners.iter().enumerate() {
            note.signatures
                .push(cosign(&note.text, w, 1_700_000_000 + i as u64).unwrap());
        }
        note
    }

    #[test]
    fn policy_accepts_a_threshold_of_cosignatures() {
        let s = setup(2);
        let cp = checkpoint(1000);
        let note = signed(&cp, &s.log, &[&s.witnesses[2], &s.witnesses[0]]);
        let verified = s.policy.verify(note.to_text()).unwrap();
        assert_eq!(verified.checkpoint, cp);
        assert_eq!(verified.cosigners, ["w0.example", "w2.example"]);
        assert_eq!(verified.cosigned_at, [1_700_000_001, 1_700_000_000]);

        // Unknown signers (log-style and cosignature-style) are ignored.
        let stranger = signer("stranger.example", 99);
        let mut extra = note.clone();
        extra
            .signatures
            .push(sign_note(&note.text, &stranger).unwrap());
        extra
            .signatures
            .push(cosign(&note.text, &stranger, 5).unwrap());
        assert_eq!(s.policy.verify(extra.to_text()).unwrap(), verified);
    }

    #[test]
    fn policy_rejections() {
        let s = setup(2);
        let cp = checkpoint(1000);
        let one = signed(&cp, &s.log, &[&s.witnesses[1]]);
        assert_eq!(
            s.policy.verify(one.to_text()),
            Err(CheckpointError::TooFewCosignatures { got: 1, need: 2 })
        );
        // The same witness twice still counts once, even if listed twice.
        let mut twice = signed(&cp, &s.log, &[&s.witnesses[1], &s.witnesses[1]]);
        let mut dup_policy = s.policy.clone();
        dup_policy.witnesses.push(dup_policy.witnesses[1].clone());
        assert_eq!(
            dup_policy.verify(twice.to_text()),
            Err(CheckpointError::TooFewCosignatures { got: 1, need: 2 })
        );
        // A bad cosignature from a known witness rejects the note.
        twice
            .signatures
            .push(cosign(&checkpoint(999).body_text(), &s.witnesses[0], 1).unwrap());
        assert!(matches!(
            s.policy.verify(twice.to_text()),
            Err(CheckpointError::BadSignature { .. })
        ));

        let good = signed(&cp, &s.log, &[&s.witnesses[0], &s.witnesses[1]]);
        assert!(s.policy.verify(good.to_text()).is_ok());
        // Changed size or root: the log signature fails first.
        for changed in [checkpoint(1001).body_text(), {
            let mut c = cp.clone();
            c.root = Digest::ZERO;
            c.body_text()
        }] {
            let forged = Note {
                text: changed,
                signatures: good.signatures.clone(),
            };
            assert!(matches!(
                s.policy.verify(forged.to_text()),
                Err(CheckpointError::BadSignature { .. })
            ));
        }
        // No log signature, or one by a different log key.
        let mut unsigned = good.clone();
        unsigned.signatures.remove(0);
        assert_eq!(
            s.policy.verify(unsigned.to_text()),
            Err(CheckpointError::NoLogSignature(LOG.into()))
        );
        let other_log = signer(LOG, 2);
        let wrong_log = signed(&cp, &other_log, &[&s.witnesses[0], &s.witnesses[1]]);
        assert_eq!(
            s.policy.verify(wrong_log.to_text()),
            Err(CheckpointError::NoLogSignature(LOG.into()))
        );
        // Signed but not a checkpoint.
        let mut junk = Note {
            text: "hello\n".into(),
            signatures: vec![],
        };
        junk.signatures.push(sign_note(&junk.text, &s.log).unwrap());
        assert!(matches!(
            s.policy.verify(junk.to_text()),
            Err(CheckpointError::MalformedCheckpoint(_))
        ));
        // Threshold 0 needs only the log.
        let s0 = setup(0);
        let bare = signed(&cp, &s0.log, &[]);
        assert_eq!(
            s0.policy.verify(bare.to_text()).unwrap().cosigners,
            Vec::<String>::new()
        );
    }
}
