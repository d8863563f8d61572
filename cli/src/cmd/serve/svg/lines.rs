//! A line chart over an ordinal x axis (months).

use std::fmt::Write as _;

use super::{clip, escape, legend, nice, no_data, open, scale, value_axis, Series, Unit, PALETTE};

/// A line chart: one line per series over the same x values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lines {
    /// Element id (unique on the page).
    pub id: String,
    /// Title (the accessible name).
    pub title: String,
    /// Description.
    pub desc: String,
    /// What the values count.
    pub unit: Unit,
    /// The x values, in order (e.g. `2026-03`).
    pub x: Vec<String>,
    /// The series.
    pub series: Vec<Series>,
    /// `values[s][i]`: series `s` at `x[i]` (missing: no point).
    pub values: Vec<Vec<u128>>,
}

const WIDTH: f64 = 800.0;
const DASHES: [&str; 4] = ["", "8 4", "2 3", "10 3 2 3"];

/// The dash pattern of series `i`.
fn dash(i: usize) -> String {
    match DASHES[i % 4] {
        "" => String::new(),
        d => format!(r#" stroke-dasharray="{d}""#),
    }
}

/// A line chart: per series a `path.line` and per value a `circle.point` with
/// `data-series`, `data-x` and `data-value` (the exact figure); a value axis
/// on the left, x labels below (thinned to about twelve), the series' names
/// at the lines' ends and in the legend. No x values: a "no data" paragraph.
pub fn line(c: &Lines) -> String {
    if c.x.is_empty() || c.series.is_empty() {
        return no_data(&c.title);
    }
    let mut body = String::new();
    let top_y = legend(&mut body, &c.series, WIDTH, |i, x, y| {
        format!(
            r#"<line class="k{k} swatch-line" stroke="{hex}" stroke-width="3"{d} x1="{x:.1}" y1="{y:.1}" x2="{x2:.1}" y2="{y:.1}"/>"#,
            k = i % 8,
            hex = PALETTE[i % 8],
            d = dash(i),
            y = y + 6.5,
            x2 = x + 14.0,
        )
    }) + 16.0;
    let (x0, x1, plot_h) = (64.0, WIDTH - 120.0, 240.0);
    let base = top_y + plot_h;
    let max = c.values.iter().flatten().copied().max().unwrap_or(0);
    let (top, step) = nice(max, c.unit);
    value_axis(&mut body, c.unit, (top, step), (x0, x1), (base, plot_h));
    let n = c.x.len();
    let xat = |i: usize| {
        if n == 1 {
            (x0 + x1) / 2.0
        } else {
            x0 + (x1 - x0) * i as f64 / (n - 1) as f64
        }
    };
    let every = n.div_ceil(12).max(1);
    for (i, label) in c.x.iter().enumerate() {
        if i % every == 0 || i + 1 == n {
            let _ = write!(
                body,
                r#"<text class="tick" x="{x:.1}" y="{y:.1}" text-anchor="middle">{l}</text>"#,
                x = xat(i),
                y = base + 16.0,
                l = escape(&clip(label, 10)),
            );
        }
    }
    let all: Vec<Vec<Point>> = (0..c.series.len())
        .map(|s| {
            let values = c.values.get(s).map(Vec::as_slice).unwrap_or(&[]);
            values
                .iter()
                .zip(&c.x)
                .enumerate()
                .map(|(i, (v, x))| (xat(i), base - scale(*v, top, plot_h), *v, x.as_str()))
                .collect()
        })
        .collect();
    let label_y = end_labels(&all);
    for (s, (series, points)) in c.series.iter().zip(&all).enumerate() {
        let y = label_y.get(s).copied().unwrap_or(base);
        series_line(&mut body, c, (s, series), points, y);
    }
    let _ = write!(
        body,
        r#"<line class="axis" x1="{x0:.1}" y1="{base:.1}" x2="{x1:.1}" y2="{base:.1}"/>"#
    );
    let mut out = String::new();
    let size = (WIDTH as u32, (base + 26.0).ceil() as u32);
    open(&mut out, &c.id, &c.title, &c.desc, size, "line");
    out.push_str(&body);
    out.push_str("</svg>");
    out
}

/// A point: x, y, value, x label.
type Point<'a> = (f64, f64, u128, &'a str);

/// The y of each series' end label: at its last point, moved down so that
/// no two labels are closer than 14 units.
fn end_labels(all: &[Vec<Point>]) -> Vec<f64> {
    let mut order: Vec<(usize, f64)> = all
        .iter()
        .enumerate()
        .map(|(s, p)| (s, p.last().map_or(0.0, |p| p.1 + 4.0)))
        .collect();
    order.sort_by(|a, b| a.1.total_cmp(&b.1));
    let mut out = vec![0.0; all.len()];
    let mut prev = f64::NEG_INFINITY;
    for (s, y) in order {
        let y = y.max(prev + 14.0);
        out[s] = y;
        prev = y;
    }
    out
}

/// One series: its path, its points and its name at the last point.
fn series_line(
    out: &mut String,
    c: &Lines,
    (s, series): (usize, &Series),
    points: &[Point],
    label_y: f64,
) {
    let key = escape(&series.key);
    let label = escape(&series.label);
    let _ = write!(out, r#"<g class="series" data-series="{key}">"#);
    if points.len() > 1 {
        let d: Vec<String> = points
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{}{:.1},{:.1}", if i == 0 { "M" } else { "L" }, p.0, p.1))
            .collect();
        let _ = write!(
            out,
            r#"<path class="line k{k}" stroke="{hex}"{dash} fill="none" d="{d}"/>"#,
            k = s % 8,
            hex = PALETTE[s % 8],
            dash = dash(s),
            d = d.join(" "),
        );
    }
    for (x, y, v, at) in points {
        let _ = write!(
            out,
            r#"<circle class="point f{k}" fill="{hex}" data-series="{key}" data-x="{at}" data-value="{v}" cx="{x:.1}" cy="{y:.1}" r="3.5"><title>{at}, {label}: {full}</title></circle>"#,
            k = s % 8,
            hex = PALETTE[s % 8],
            at = escape(at),
            full = c.unit.full(*v),
        );
    }
    if let Some((x, _, v, _)) = points.last() {
        let _ = write!(
            out,
            r#"<text class="end-label" x="{x:.1}" y="{label_y:.1}">{label} {short}</text>"#,
            x = x + 8.0,
            short = c.unit.short(*v),
        );
    }
    out.push_str("</g>");
}
