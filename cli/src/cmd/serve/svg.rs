//! Server-side SVG charts: pure functions from figures to an inline `<svg>`
//! string. Every chart has `role="img"`, a `<title>` and a `<desc>`, a
//! `viewBox` (it scales with its container), text labels and a legend; every
//! bar, stage and point carries `data-*` attributes with the exact figure it
//! draws (euro cents or a count), so that a test can read them back. Colours
//! are the Okabe-Ito palette (CSS classes `f0`..`f7`, `k0`..`k7`, variables
//! `--c0`..`--c7` in `style.css`), each series also with its own texture (bars)
//! or dash pattern (lines), so series stay apart in greyscale. All text is
//! escaped; nothing is fetched. An empty chart is a "no data" paragraph.

mod bars;
mod funnel;
mod lines;
#[cfg(test)]
mod tests;

use std::fmt::Write as _;

pub use bars::{hbar, vbar};
pub use funnel::{funnel, Stage};
pub use lines::{line, Lines};

/// Okabe-Ito colours, in series order (fallback fills; `style.css` sets the same).
pub const PALETTE: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
];

/// Escapes text for HTML and SVG content and attribute values (`&`, `<`,
/// `>`, `"`, `'`); control characters other than tab and newline (not
/// allowed in XML) become U+FFFD.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' => out.push(c),
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// `n` with thousands separators: `1,234,567`.
pub fn group(n: u128) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Euro cents as whole euros, rounded half away from zero, with separators
/// and the currency: `EUR 1,234,567`.
pub fn eur(cents: u128) -> String {
    format!("EUR {}", group(cents / 100 + u128::from(cents % 100 >= 50)))
}

/// What a chart's values count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Euro cents (axes and labels in euros).
    Cents,
    /// A count.
    Count,
}

impl Unit {
    /// A figure in full: `EUR 1,234,567` or `1,234`.
    pub fn full(self, v: u128) -> String {
        match self {
            Unit::Cents => eur(v),
            Unit::Count => group(v),
        }
    }

    /// A figure in short, for axes and bar ends: `12.3M`, `450k`, `87`
    /// (euros for [`Unit::Cents`]).
    pub fn short(self, v: u128) -> String {
        let n = match self {
            Unit::Cents => v as f64 / 100.0,
            Unit::Count => v as f64,
        };
        let s = if n >= 1e9 {
            format!("{:.1}bn", n / 1e9)
        } else if n >= 1e6 {
            format!("{:.1}M", n / 1e6)
        } else if n >= 1e4 {
            format!("{:.0}k", n / 1e3)
        } else if n >= 1e3 {
            format!("{:.1}k", n / 1e3)
        } else {
            format!("{n:.0}")
        };
        s.replace(".0bn", "bn")
            .replace(".0M", "M")
            .replace(".0k", "k")
    }

    /// The axis caption.
    fn axis(self) -> &'static str {
        match self {
            Unit::Cents => "EUR",
            Unit::Count => "count",
        }
    }
}

/// A series: its stable key (the `data-series` attribute) and its label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    /// Stable key, e.g. the view's column key `committed_eur`.
    pub key: String,
    /// Legend label.
    pub label: String,
}

impl Series {
    /// A series from its key and label.
    pub fn new(key: &str, label: &str) -> Series {
        Series {
            key: key.into(),
            label: label.into(),
        }
    }
}

/// One category of a bar chart: its name and one value per series (a
/// missing value counts as zero; extra values are ignored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Category name (the `data-category` attribute).
    pub category: String,
    /// Values, in series order.
    pub values: Vec<u128>,
}

/// A grouped bar chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bars {
    /// Element id (unique on the page); also prefixes the pattern ids.
    pub id: String,
    /// Title (the accessible name).
    pub title: String,
    /// Description (what the chart shows, in a sentence).
    pub desc: String,
    /// What the values count.
    pub unit: Unit,
    /// The series.
    pub series: Vec<Series>,
    /// The categories.
    pub groups: Vec<Group>,
}

/// The paragraph shown instead of a chart without data.
pub fn no_data(what: &str) -> String {
    format!(r#"<p class="no-data">No data for {}.</p>"#, escape(what))
}

/// Opens an `<svg>`: role, accessible name and description, viewBox.
fn open(out: &mut String, id: &str, title: &str, desc: &str, size: (u32, u32), class: &str) {
    let id = escape(id);
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart {class}" id="{id}" role="img" aria-labelledby="{id}-t {id}-d" viewBox="0 0 {w} {h}" preserveAspectRatio="xMinYMin meet"><title id="{id}-t">{t}</title><desc id="{id}-d">{d}</desc>"#,
        w = size.0,
        h = size.1,
        t = escape(title),
        d = escape(desc),
    );
}

/// The fill patterns of `n` series: colour `i % 8` and texture `i % 4`
/// (plain, diagonal lines, dots, grid), ids `{id}-p{i}`.
fn patterns(out: &mut String, id: &str, n: usize) {
    out.push_str("<defs>");
    for i in 0..n {
        let texture = match i % 4 {
            1 => r#"<path class="tex" d="M-1,1 l2,-2 M0,6 l6,-6 M5,7 l2,-2"/>"#,
            2 => r#"<circle class="texd" cx="3" cy="3" r="1.2"/>"#,
            3 => r#"<path class="tex" d="M0,3 h6 M3,0 v6"/>"#,
            _ => "",
        };
        let _ = write!(
            out,
            r#"<pattern id="{id}-p{i}" patternUnits="userSpaceOnUse" width="6" height="6"><rect class="f{c}" fill="{hex}" width="6" height="6"/>{texture}</pattern>"#,
            id = escape(id),
            c = i % 8,
            hex = PALETTE[i % 8],
        );
    }
    out.push_str("</defs>");
}

/// The fill of series `i`: its pattern.
fn fill(id: &str, i: usize) -> String {
    format!("url(#{}-p{i})", escape(id))
}

/// A legend row (wrapping) at the top; returns the height it takes. `mark`
/// draws series `i`'s swatch at `(x, y)`.
fn legend(
    out: &mut String,
    series: &[Series],
    width: f64,
    mark: impl Fn(usize, f64, f64) -> String,
) -> f64 {
    out.push_str(r#"<g class="legend">"#);
    let (mut x, mut y) = (0.0, 4.0);
    for (i, s) in series.iter().enumerate() {
        let w = 36.0 + 7.6 * s.label.chars().count() as f64;
        if x > 0.0 && x + w > width {
            x = 0.0;
            y += 20.0;
        }
        let _ = write!(
            out,
            r#"<g class="legend-item" data-series="{k}">{m}<text x="{tx:.1}" y="{ty:.1}">{l}</text></g>"#,
            k = escape(&s.key),
            m = mark(i, x, y),
            tx = x + 18.0,
            ty = y + 10.5,
            l = escape(&s.label),
        );
        x += w;
    }
    out.push_str("</g>");
    y + 20.0
}

/// An axis maximum at or above `max` and its tick step (1, 2, 2.5 or 5
/// times a power of ten; at least one euro for cents): at most five steps,
/// never zero.
fn nice(max: u128, unit: Unit) -> (u128, u128) {
    let floor = if unit == Unit::Cents { 100 } else { 1 };
    let raw = max.div_ceil(5).max(floor);
    let mut p: u128 = 1;
    while p.saturating_mul(10) <= raw {
        p *= 10;
    }
    let quarter = if p >= 10 { p / 2 * 5 } else { p * 5 };
    let step = [
        p,
        p.saturating_mul(2),
        quarter,
        p.saturating_mul(5),
        p.saturating_mul(10),
    ]
    .into_iter()
    .find(|s| *s >= raw)
    .unwrap_or(raw);
    let top = step.saturating_mul(max.div_ceil(step).max(1));
    (top, step)
}

/// The tick values from zero to `top` by `step` (at most eleven).
fn ticks(top: u128, step: u128) -> impl Iterator<Item = u128> {
    let step = step.max(1);
    (0..=(top / step).min(10)).map(move |k| k * step)
}

/// A vertical value axis: grid lines and tick labels from `base` up
/// `plot_h` between `x0` and `x1`, the unit's caption above.
fn value_axis(
    out: &mut String,
    unit: Unit,
    (top, step): (u128, u128),
    (x0, x1): (f64, f64),
    (base, plot_h): (f64, f64),
) {
    for t in ticks(top, step) {
        let y = base - scale(t, top, plot_h);
        let _ = write!(
            out,
            r#"<line class="grid" x1="{x0:.1}" y1="{y:.1}" x2="{x1:.1}" y2="{y:.1}"/><text class="tick" x="{tx:.1}" y="{ty:.1}" text-anchor="end">{l}</text>"#,
            tx = x0 - 6.0,
            ty = y + 4.0,
            l = unit.short(t),
        );
    }
    let _ = write!(
        out,
        r#"<text class="axis-label" x="0" y="{y:.1}">{a}</text>"#,
        y = base - plot_h - 6.0,
        a = unit.axis()
    );
}

/// `v` of `top` as a length of `len` (0 to `len`; `top` is never zero).
fn scale(v: u128, top: u128, len: f64) -> f64 {
    (v as f64 / top.max(1) as f64 * len).clamp(0.0, len)
}

/// Shortens `s` to `max` characters, with an ellipsis.
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}
