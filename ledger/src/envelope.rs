//! The envelope: what a producer signs.

use serde::{Deserialize, Serialize};

use crate::body::Body;
use crate::calendar::Timestamp;
use crate::ids::{EventId, MemberId};

/// The envelope format version this code writes and reads.
pub const FORMAT_VERSION: u16 = 1;

/// Everything a producer signs. The field order is part of the signed encoding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    /// Format version, [`FORMAT_VERSION`].
    pub version: u16,
    /// The ledger origin, e.g. `tallinn-mechanism.example/ledger`.
    pub origin: String,
    /// The producing member.
    pub producer: MemberId,
    /// The producer's sequence number: 1, 2, 3...
    pub seq: u64,
    /// Id of the producer's previous event; zero for its first.
    pub prev: EventId,
    /// When the producer recorded the event (its clock).
    pub recorded_at: Timestamp,
    /// What the event says.
    pub body: Body,
}
