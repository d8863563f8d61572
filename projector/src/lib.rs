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
//! - [`store`]: the sled snapshot (position + state + model, one atomic write);
//! - [`run`]: the shell that pulls from a log, folds, and saves.
#![deny(missing_docs)]

pub mod audit;
pub mod digest;
pub mod fold;
pub mod model;
pub mod run;
pub mod store;
pub mod views;
