//! Time bounded by signed evidence (schemas/RULES.md, time findings).
//!
//! A member's `recorded_at` is its own claim. The append time the log keeps is
//! not signed, so it decides nothing. What is signed is a checkpoint's issue
//! time (`time <unix seconds>`): the coordinator states that at that time the
//! log held exactly `size` events. So an event at a position within a
//! checkpoint's size was recorded no later than that time, and an event after
//! it no earlier, each within [`TOLERANCE_MS`]. An event outside those bounds
//! keeps its verdict (verdicts depend on signed bytes and log order only) and
//! becomes a finding of the audit: `recorded_after_checkpoint` (dated later
//! than a checkpoint that already holds it) or `recorded_before_checkpoint`
//! (back-dated before a checkpoint that precedes it). Pure: no clock.

use ledger::calendar::Timestamp;

/// How far `recorded_at` may lie beyond a checkpoint's time: clocks differ.
pub const TOLERANCE_MS: i64 = 5 * 60 * 1000;

/// An event outside the bounds the checkpoints set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeFinding {
    /// The event's position.
    pub position: u64,
    /// `recorded_after_checkpoint` or `recorded_before_checkpoint`.
    pub code: &'static str,
    /// The reason in words, naming the checkpoint.
    pub reason: String,
}

/// A timed checkpoint: its size and its signed time (Unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timed {
    /// Tree size.
    pub size: u64,
    /// Signed issue time, Unix seconds.
    pub time: u64,
}

fn ms(secs: u64) -> i64 {
    i64::try_from(secs)
        .unwrap_or(i64::MAX / 1000)
        .saturating_mul(1000)
}

/// The findings for events `recorded[i]` at position `i + 1` (`None`: not
/// decodable, not judged) under the timed checkpoints `cps` (any order).
pub fn time_findings(cps: &[Timed], recorded: &[Option<Timestamp>]) -> Vec<TimeFinding> {
    let mut bounds = TimeBounds::new(cps);
    recorded
        .iter()
        .enumerate()
        .filter_map(|(i, at)| bounds.check(i as u64 + 1, *at))
        .collect()
}

/// [`time_findings`] one event at a time, in log order, for a streamed audit.
#[derive(Debug, Clone)]
pub struct TimeBounds {
    cps: Vec<Timed>,
    /// Upper bound for positions in (size[j-1], size[j]]: the earliest time
    /// of any checkpoint of size >= size[j] (a suffix minimum).
    upper: Vec<Timed>,
    next: usize,
    latest_before: Option<Timed>,
}

impl TimeBounds {
    /// Bounds from the timed checkpoints `cps` (any order).
    pub fn new(cps: &[Timed]) -> TimeBounds {
        let mut cps: Vec<Timed> = cps.to_vec();
        cps.sort_by_key(|c| (c.size, c.time));
        let mut upper: Vec<Timed> = cps.clone();
        for j in (0..upper.len().saturating_sub(1)).rev() {
            upper[j].time = upper[j].time.min(upper[j + 1].time);
        }
        TimeBounds {
            cps,
            upper,
            next: 0,
            latest_before: None,
        }
    }

    /// The finding, if any, for the event at `position` (each position once,
    /// in increasing order) recorded at `at`.
    pub fn check(&mut self, position: u64, at: Option<Timestamp>) -> Option<TimeFinding> {
        let cps = &self.cps;
        while self.next < cps.len() && cps[self.next].size < position {
            // The latest in time among the checkpoints before the position
            // (time may go back between checkpoints; the largest bounds).
            if self
                .latest_before
                .is_none_or(|l| cps[self.next].time >= l.time)
            {
                self.latest_before = Some(cps[self.next]);
            }
            self.next += 1;
        }
        let at = at?;
        if let Some(c) = self.upper.get(self.next) {
            if at.0 > ms(c.time).saturating_add(TOLERANCE_MS) {
                return Some(TimeFinding {
                    position,
                    code: "recorded_after_checkpoint",
                    reason: format!(
                        "recorded at {at}, but a checkpoint timed {} already holds it",
                        Timestamp(ms(c.time))
                    ),
                });
            }
        }
        let c = self.latest_before?;
        (at.0 < ms(c.time).saturating_sub(TOLERANCE_MS)).then(|| TimeFinding {
            position,
            code: "recorded_before_checkpoint",
            reason: format!(
                "recorded at {at}, before the checkpoint of size {} timed {} that precedes it (back-dated)",
                c.size,
                Timestamp(ms(c.time))
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: u64 = 1_764_000_000; // seconds
    fn at(secs: i64) -> Option<Timestamp> {
        Some(Timestamp((T as i64 + secs) * 1000))
    }

    #[test]
    fn events_between_checkpoints_are_bounded_on_both_sides() {
        let cps = [
            Timed { size: 2, time: T },
            Timed {
                size: 4,
                time: T + 3600,
            },
        ];
        let recorded = [
            at(-7200),        // 1: before the first checkpoint: fine
            at(200),          // 2: within tolerance after it
            at(-400),         // 3: back-dated before checkpoint 2
            at(3600 + 400),   // 4: later than checkpoint 4 that holds it
            None,             // 5: malformed
            at(3600 - 200),   // 6: within tolerance
            at(-86_400 * 30), // 7: a month back
        ];
        let f = time_findings(&cps, &recorded);
        let got: Vec<(u64, &str)> = f.iter().map(|f| (f.position, f.code)).collect();
        assert_eq!(
            got,
            [
                (3, "recorded_before_checkpoint"),
                (4, "recorded_after_checkpoint"),
                (7, "recorded_before_checkpoint"),
            ]
        );
        assert!(f[2].reason.contains("size 4"), "{}", f[2].reason);
    }

    #[test]
    fn without_timed_checkpoints_nothing_is_found() {
        assert!(time_findings(&[], &[at(-1_000_000), at(1_000_000)]).is_empty());
    }

    #[test]
    fn the_earliest_later_checkpoint_bounds_from_above() {
        // Listed out of order, and a later-sized one timed earlier (itself a
        // checkpoint problem): the tighter bound applies.
        let cps = [
            Timed {
                size: 5,
                time: T - 1000,
            },
            Timed { size: 2, time: T },
        ];
        let f = time_findings(&cps, &[at(0), at(0)]);
        assert_eq!(f.len(), 2);
        assert!(f.iter().all(|f| f.code == "recorded_after_checkpoint"));
    }
}
