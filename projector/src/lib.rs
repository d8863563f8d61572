//! Read models of the Tallinn Mechanism ledger.
//!
//! # Layout
//! - [`model`]: the read model and its pure fold (one judged event at a time);
//! - [`fold`]: judging a batch of log entries (batch signature verification,
//!   the ledger's rules) and folding it, pure over values;
//! - [`views`]: the report views, pure functions from a model to tables;
//! - [`digest`]: SHA-256 over the canonical encoding of a model;
//! - [`audit`]: the auditor over a whole log and its checkpoints, and the
//!   audit bundle export, pure over values;
//! - [`timebounds`]: `recorded_at` against the signed times of checkpoints;
//! - [`index`]: the map from item id to its record in the row file (recent
//!   entries in memory, the rest in sorted [`runs`] on disk);
//! - [`runs`]: the saved index's run files;
//! - [`chains`]: the members' chains, one file per member;
//! - [`tree`]: the Merkle tree of the entries folded;
//! - [`store`]: the projector's directory: items in an append-only row file,
//!   chains and index on disk, the rest in a small snapshot committed
//!   atomically with the position;
//! - [`run`]: the shell that pulls from a log, loads the items a batch names,
//!   folds, writes items back, and commits; [`error`] why it fails;
//!   [`as_of`]: the model as of a date, replayed from the log.
#![deny(missing_docs)]

pub mod as_of;
pub mod audit;
pub mod chains;
pub mod digest;
pub mod error;
pub mod fold;
pub mod iati;
pub mod index;
pub mod lists;
pub mod model;
pub mod rows;
pub mod run;
pub mod runs;
pub mod snapshot;
pub mod store;
pub mod timebounds;
pub mod tree;
pub mod views;
pub mod workspace;
