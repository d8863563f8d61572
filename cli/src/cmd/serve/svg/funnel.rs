//! A funnel: stages from top to bottom, each a centred bar as wide as its EUR.

use std::fmt::Write as _;

use super::{escape, eur, group, no_data, open, scale, PALETTE};

/// One stage of a funnel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// Stable key (the `data-stage` attribute), e.g. `need`.
    pub key: String,
    /// Label, e.g. `Needs stated`.
    pub label: String,
    /// How many items.
    pub count: u64,
    /// Their EUR, in cents.
    pub cents: u128,
}

const WIDTH: f64 = 800.0;
const LABELS: f64 = 210.0;
const AREA: f64 = 430.0;
const ROW: f64 = 62.0;
const BAR: f64 = 38.0;

/// A funnel of `stages` (top to bottom): per stage a `rect.stage` with
/// `data-stage`, `data-count` and `data-value` (cents), its label, count and
/// EUR on the left and its share of the first stage's EUR on the right;
/// light trapezoids join the stages. No stages: a "no data" paragraph.
pub fn funnel(id: &str, title: &str, desc: &str, stages: &[Stage]) -> String {
    if stages.is_empty() {
        return no_data(title);
    }
    let top = stages.iter().map(|s| s.cents).max().unwrap_or(0).max(1);
    let first = stages.first().map_or(0, |s| s.cents);
    let cx = LABELS + AREA / 2.0;
    let width = |s: &Stage| scale(s.cents, top, AREA).max(2.0);
    let mut out = String::new();
    let height = ROW * stages.len() as f64 + 8.0;
    open(
        &mut out,
        id,
        title,
        desc,
        (WIDTH as u32, height as u32),
        "funnel",
    );
    for (i, pair) in stages.windows(2).enumerate() {
        let (a, b) = (width(&pair[0]) / 2.0, width(&pair[1]) / 2.0);
        let y0 = 4.0 + ROW * i as f64 + BAR;
        let y1 = 4.0 + ROW * (i + 1) as f64;
        let _ = write!(
            out,
            r#"<polygon class="funnel-link" points="{:.1},{y0:.1} {:.1},{y0:.1} {:.1},{y1:.1} {:.1},{y1:.1}"/>"#,
            cx - a,
            cx + a,
            cx + b,
            cx - b
        );
    }
    for (i, s) in stages.iter().enumerate() {
        let y = 4.0 + ROW * i as f64;
        let w = width(s);
        let share = if first > 0 {
            format!(
                "{:.0}% of {}",
                s.cents as f64 * 100.0 / first as f64,
                stages[0].label.to_lowercase()
            )
        } else {
            String::new()
        };
        let _ = write!(
            out,
            r#"<g class="stage-row"><text class="stage-label" x="0" y="{ly:.1}">{label}</text><text class="stage-figures" x="0" y="{fy:.1}">{count} · {e}</text><rect class="stage f0" fill="{hex}" data-stage="{key}" data-count="{n}" data-value="{v}" x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{BAR}"><title>{label}: {count}, {e}</title></rect><text class="value" x="{sx:.1}" y="{sy:.1}">{share}</text></g>"#,
            ly = y + 15.0,
            fy = y + 33.0,
            label = escape(&s.label),
            count = group(u128::from(s.count)),
            e = eur(s.cents),
            hex = PALETTE[0],
            key = escape(&s.key),
            n = s.count,
            v = s.cents,
            x = cx - w / 2.0,
            sx = cx + w / 2.0 + 8.0,
            sy = y + BAR / 2.0 + 4.0,
            share = escape(&share),
        );
    }
    out.push_str("</svg>");
    out
}
