//! Opening a ledger directory and replaying it (for the commands that still need every verdict: `log`, `checkpoint`, the JetStream `publish`); the producer step is `crate::producer`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use ledger::calendar::{Date, Timestamp};
use ledger::event::Event;
use ledger::ids::MemberId;
use ledger::keys::Signer;
use ledger::log::Entry;
use ledger::log::Log;
use ledger::replay::Judged;
use ledger::rules::Outcome;
use ledger::state::State;
use ledger::store::Store;

/// How many times an append that lost a race for the chain head is retried.
pub const CONFLICT_RETRIES: usize = 5;

/// How long to wait for another process to release the embedded ledger. A
/// follower holds it only while it folds (see `ledger::shared`), and every
/// other command only for what it reads and appends, so the wait is for a
/// queue of short holds.
pub const OPEN_WAIT: Duration = Duration::from_secs(10);

/// The log directory inside a ledger directory.
pub fn log_dir(dir: &Path) -> PathBuf {
    dir.join("log")
}

/// The current time: `--now` if given (simulated clock), else the system clock.
pub fn now(flag: Option<&str>) -> Result<Timestamp> {
    match flag {
        Some(t) => t.parse().map_err(|e| anyhow!("--now: {e}")),
        None => {
            let ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .context("the system clock is before 1970")?
                .as_millis();
            Ok(Timestamp(ms as i64))
        }
    }
}

/// The report date's sources, fixed once at the edge ([`set_report_clock`]).
#[derive(Debug, Clone, Copy, Default)]
struct ReportClock {
    /// `--today` (`TALLINN_TODAY`).
    today: Option<Date>,
    /// `--now` (`TALLINN_NOW`).
    now: Option<Timestamp>,
}

static REPORT_CLOCK: std::sync::OnceLock<ReportClock> = std::sync::OnceLock::new();

/// Fixes where reports take "today" from for this process: `--today`
/// (`TALLINN_TODAY`, `YYYY-MM-DD`) if given, else the date of `--now` if
/// given, else the system clock's date when asked. A bad value is refused
/// here, naming its flag.
pub fn set_report_clock(today: Option<&str>, now_flag: Option<&str>) -> Result<()> {
    let today = today
        .map(|t| t.parse::<Date>().map_err(|e| anyhow!("--today: {e}")))
        .transpose()?;
    let now = now_flag.map(|t| now(Some(t))).transpose()?;
    let _ = REPORT_CLOCK.set(ReportClock { today, now });
    Ok(())
}

/// The report date: `--today` if given, else `as_of` (a report as of a
/// date is judged on that date), else the clock's date (`--now` or the
/// system clock). The views get it as a parameter; they read no clock.
pub fn report_today(as_of: Option<Date>) -> Date {
    let clock = REPORT_CLOCK.get().copied().unwrap_or_default();
    clock.today.or(as_of).unwrap_or_else(|| {
        clock
            .now
            .or_else(|| now(None).ok())
            .unwrap_or(Timestamp(0))
            .date()
    })
}

/// The error for a ledger directory without its log. When a projector is
/// there, the log was removed or moved rather than never made: say so, and
/// where a copy can come from, instead of suggesting `tallinn init`.
pub fn missing_log(dir: &Path, hint: &str) -> anyhow::Error {
    if dir.join("projector").join("snapshot").is_file() {
        anyhow!(
            "the log in {} is missing, but a projector there folded one: the log was removed or moved; restore it (from a member's `tallinn audit mirror`, the JetStream stream, or an audit bundle) or point --dir at it",
            log_dir(dir).display()
        )
    } else {
        anyhow!("no ledger in {}: {hint}", dir.display())
    }
}

/// Judges `entries` (in log order) into `state`, with the projector's batch
/// verification on all cores: the verdicts of `ledger::replay::replay_entry`
/// on each, several times faster on a long log.
pub fn replay_entries(state: &mut State, entries: &[Entry]) -> Vec<Judged> {
    use rayon::prelude::*;
    let decoded: Vec<Result<Event, String>> =
        entries.par_iter().map(projector::fold::decode).collect();
    let mut outcomes: Vec<Option<Outcome>> = vec![None; entries.len()];
    projector::fold::judge_decoded(state, entries, &decoded, |i, o| outcomes[i] = o);
    entries
        .iter()
        .zip(decoded)
        .zip(outcomes)
        .map(|((e, event), outcome)| Judged {
            position: e.position,
            appended_at: e.appended_at,
            member: e.member.clone(),
            // The codec's error for a malformed entry (decoding it again fails again).
            event: event.or_else(|_| Event::from_bytes(&e.bytes)),
            outcome,
        })
        .collect()
}

/// An open ledger: the log and the state replayed from it.
pub struct Ledger<L = Store> {
    /// The log (the embedded store by default, or JetStream).
    pub store: L,
    /// The rules state after the whole log.
    pub state: State,
    /// Every entry with its verdict.
    pub judged: Vec<Judged>,
}

impl Ledger<Store> {
    /// Opens an existing ledger and replays it. Fails if there is none.
    #[allow(dead_code)] // the commands open logs through `nats::open_log` now
    pub async fn open(dir: &Path) -> Result<Ledger> {
        let log = log_dir(dir);
        if !log.exists() {
            return Err(missing_log(
                dir,
                "create one with `tallinn init` (or pass --dir)",
            ));
        }
        Ledger::open_or_create(dir).await
    }

    /// Opens (creating if needed) a ledger and replays it.
    pub async fn open_or_create(dir: &Path) -> Result<Ledger> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let store = Store::open(&log_dir(dir), OPEN_WAIT)?;
        Ledger::replay(store).await
    }
}

impl<L: Log> Ledger<L> {
    /// Replays the whole of `log`.
    pub async fn replay(log: L) -> Result<Ledger<L>> {
        let mut l = Ledger {
            store: log,
            state: State::new(),
            judged: Vec::new(),
        };
        l.refresh().await?;
        Ok(l)
    }

    /// Replays the entries appended since the last replay (by other writers too).
    pub async fn refresh(&mut self) -> Result<()> {
        let mut from = self.judged.last().map_or(1, |j| j.position + 1);
        loop {
            let batch = self.store.read(from, 4096).await?;
            if batch.is_empty() {
                break;
            }
            self.judged.extend(replay_entries(&mut self.state, &batch));
            from = batch.last().map(|e| e.position + 1).unwrap_or(from);
        }
        Ok(())
    }

    /// The ledger origin (after genesis).
    pub fn origin(&self) -> Result<&str> {
        self.state
            .origin
            .as_deref()
            .ok_or_else(|| anyhow!("the ledger has no genesis yet: run `tallinn init`"))
    }

    /// The member a signer signs for, checked to be admitted with that key active.
    pub fn producer(&self, signer: &Signer) -> Result<MemberId> {
        crate::producer::member_of(&self.state, signer)
    }
}

/// Reads a signer key file.
pub fn signer(path: &Path) -> Result<Signer> {
    Ok(ledger::keyfile::read(path)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batched_replay_gives_the_verdicts_of_one_by_one_replay() {
        let dir = tempfile::tempdir().unwrap();
        // The demo plants forgeries, a replay and rule violations among its events.
        let played = crate::cmd::demo::play(dir.path(), 7, 3000).unwrap();
        assert!(played.rejected > 0);
        let store = Store::open(&log_dir(dir.path()), OPEN_WAIT).unwrap();
        let mut entries = store.read_sync(1, usize::MAX).unwrap();
        // And a malformed entry at the end.
        let mut bad = entries.last().unwrap().clone();
        bad.position += 1;
        bad.bytes.truncate(10);
        entries.push(bad);
        let (one_by_one, judged) = ledger::replay::replay(&entries);
        let mut state = State::new();
        let mut batched = Vec::new();
        // In uneven slices, as reads return them.
        for slice in entries.chunks(777) {
            batched.extend(replay_entries(&mut state, slice));
        }
        assert_eq!(state, one_by_one);
        assert_eq!(batched.len(), judged.len());
        for (b, j) in batched.iter().zip(&judged) {
            assert_eq!(b.position, j.position);
            assert_eq!(b.outcome, j.outcome, "position {}", j.position);
            assert_eq!(b.event.as_ref().err(), j.event.as_ref().err());
        }
        assert!(batched.last().unwrap().event.is_err());
    }
}
