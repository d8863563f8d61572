//! The Tallinn Mechanism coordination ledger: signed, chained, auditable events.
//!
//! # Layout
//! The core (no I/O, no clock, no async):
//! - [`calendar`]: dates and timestamps (time is always passed in);
//! - [`ids`], [`member`], [`money`], [`category`]: the vocabulary;
//! - [`body`], [`envelope`]: what an event says and what is signed;
//! - [`codec`]: the signed encoding (bincode 2, bounded, canonical);
//! - [`keys`]: Ed25519 keys as C2SP signed-note verifier/signer keys;
//! - [`merkle`], [`checkpoint`], [`witness`]: the RFC 6962 log tree, C2SP
//!   signed checkpoints and cosignatures, what a witness checks;
//! - [`subjects`]: the hash chain of the entries' subjects that checkpoints sign;
//! - [`bundle`]: the offline audit bundle (JSON), decoded with size limits;
//! - [`tlog_proof`]: offline inclusion proofs (C2SP tlog-proof);
//! - [`event`]: the signed message, signatures, event ids;
//! - [`signature`], [`batch`]: the one signature rule (ZIP 215), one at a time and in batches;
//! - [`state`], [`rules`]: the ledger state and the one rules function.
//!
//! The shells:
//! - [`log`]: the log trait every backend implements;
//! - [`store`]: the embedded (sled) backend;
//! - [`checkpoint_store`]: checkpoints and witness state beside it;
//! - [`keyfile`]: key files on disk (mode 0600).
#![deny(missing_docs)]

pub mod batch;
pub mod body;
pub mod bundle;
pub mod calendar;
pub mod category;
pub mod checkpoint;
pub mod checkpoint_store;
pub mod codec;
pub mod envelope;
pub mod event;
pub mod ids;
pub mod keyfile;
pub mod keys;
pub mod log;
pub mod member;
pub mod merkle;
pub mod money;
pub mod producer;
pub mod replay;
pub mod rules;
pub mod shared;
pub mod signature;
pub mod state;
pub mod store;
pub mod subjects;
pub mod tlog_proof;
pub mod witness;
