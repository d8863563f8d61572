//! Progress of long work on a terminal: a bar with the rate and the time
//! left (`indicatif`), drawn on stderr only when it is a terminal, so piped
//! output and `--json` stay quiet.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// Work shorter than this many items draws no bar.
pub const MIN_ITEMS: u64 = 20_000;

/// Set once at start for `--json`: no bar at all.
static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// No bars for this process (`--json`: machine-readable output only).
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, std::sync::atomic::Ordering::Relaxed);
}

/// A bar for `len` items of `what` (for example "events folded"), or `None`
/// when stderr is not a terminal, `quiet` or [`set_quiet`] is set (`--json`),
/// or the work is short. Update it with [`ProgressBar::set_position`]; finish with
/// [`finish`].
pub fn bar(len: u64, what: &str, quiet: bool) -> Option<ProgressBar> {
    let quiet = quiet || QUIET.load(std::sync::atomic::Ordering::Relaxed);
    if quiet || len < MIN_ITEMS || !std::io::stderr().is_terminal() {
        return None;
    }
    let b = ProgressBar::new(len);
    let template =
        format!("{{bar:30}} {{human_pos}}/{{human_len}} {what}  {{per_sec}}  ETA {{eta}}");
    b.set_style(ProgressStyle::with_template(&template).expect("a valid template"));
    Some(b)
}

/// Sets the position of a bar, if there is one.
pub fn set(bar: &Option<ProgressBar>, position: u64) {
    if let Some(b) = bar {
        b.set_position(position);
    }
}

/// Clears a bar, if there is one.
pub fn finish(bar: Option<ProgressBar>) {
    if let Some(b) = bar {
        b.finish_and_clear();
    }
}
