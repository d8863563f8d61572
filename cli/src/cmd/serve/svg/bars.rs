//! Grouped bar charts, horizontal ([`hbar`]) and vertical ([`vbar`]).

use std::fmt::Write as _;

use super::{
    clip, escape, fill, legend, nice, no_data, open, patterns, scale, ticks, value_axis, Bars,
    Group,
};

const WIDTH: f64 = 800.0;
const BAR: f64 = 14.0;

/// Value `i` of a group (missing: zero).
fn value(g: &Group, i: usize) -> u128 {
    g.values.get(i).copied().unwrap_or(0)
}

/// The largest value drawn.
fn max_value(c: &Bars) -> u128 {
    c.groups
        .iter()
        .flat_map(|g| (0..c.series.len()).map(move |i| value(g, i)))
        .max()
        .unwrap_or(0)
}

/// One bar: a `rect.bar` with `data-series`, `data-category`, `data-value`
/// (the exact figure) and a tooltip.
fn bar(out: &mut String, c: &Bars, g: &Group, i: usize, xywh: (f64, f64, f64, f64)) {
    let (x, y, w, h) = xywh;
    let Some(s) = c.series.get(i) else { return };
    let v = value(g, i);
    let _ = write!(
        out,
        r#"<rect class="bar" data-series="{k}" data-category="{cat}" data-value="{v}" x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{f}"><title>{cat}, {l}: {full}</title></rect>"#,
        k = escape(&s.key),
        cat = escape(&g.category),
        f = fill(&c.id, i),
        l = escape(&s.label),
        full = c.unit.full(v),
    );
}

/// A swatch for the legend.
fn swatch(id: &str) -> impl Fn(usize, f64, f64) -> String + '_ {
    move |i, x, y| {
        format!(
            r#"<rect class="swatch" x="{x:.1}" y="{y:.1}" width="13" height="13" fill="{}"/>"#,
            fill(id, i)
        )
    }
}

/// A horizontal grouped bar chart: one band per category (label on the
/// left, full name in a tooltip), one bar per series with its short value at
/// its end, a value axis at the bottom. No categories: a "no data" paragraph.
pub fn hbar(c: &Bars) -> String {
    if c.groups.is_empty() || c.series.is_empty() {
        return no_data(&c.title);
    }
    let longest = c
        .groups
        .iter()
        .map(|g| g.category.chars().count())
        .max()
        .unwrap_or(0);
    let label_w = (longest.min(26) as f64 * 7.8 + 16.0).clamp(60.0, 220.0);
    let (x0, x1) = (label_w, WIDTH - 60.0);
    let band = c.series.len() as f64 * (BAR + 2.0) + 14.0;
    let mut body = String::new();
    let top_y = legend(&mut body, &c.series, WIDTH, swatch(&c.id)) + 6.0;
    let plot_h = band * c.groups.len() as f64;
    let (top, step) = nice(max_value(c), c.unit);
    let height = top_y + plot_h + 34.0;
    for t in ticks(top, step) {
        let x = x0 + scale(t, top, x1 - x0);
        let _ = write!(
            body,
            r#"<line class="grid" x1="{x:.1}" y1="{top_y:.1}" x2="{x:.1}" y2="{y2:.1}"/><text class="tick" x="{x:.1}" y="{ty:.1}" text-anchor="middle">{l}</text>"#,
            y2 = top_y + plot_h,
            ty = top_y + plot_h + 16.0,
            l = c.unit.short(t),
        );
    }
    let _ = write!(
        body,
        r#"<text class="axis-label" x="{x1:.1}" y="{y:.1}" text-anchor="end">{a}</text>"#,
        y = top_y + plot_h + 30.0,
        a = c.unit.axis(),
    );
    for (gi, g) in c.groups.iter().enumerate() {
        let y = top_y + band * gi as f64 + 7.0;
        let _ = write!(
            body,
            r#"<g class="group" data-category="{cat}"><title>{cat}</title><text class="cat" x="{lx:.1}" y="{ly:.1}" text-anchor="end">{short}</text>"#,
            cat = escape(&g.category),
            lx = x0 - 8.0,
            ly = y + (band - 14.0) / 2.0 + 4.0,
            short = escape(&clip(&g.category, 26)),
        );
        for i in 0..c.series.len() {
            let by = y + i as f64 * (BAR + 2.0);
            let w = scale(value(g, i), top, x1 - x0);
            bar(&mut body, c, g, i, (x0, by, w, BAR));
            let _ = write!(
                body,
                r#"<text class="value" x="{x:.1}" y="{y:.1}">{v}</text>"#,
                x = x0 + w + 4.0,
                y = by + BAR - 3.0,
                v = c.unit.short(value(g, i)),
            );
        }
        body.push_str("</g>");
    }
    let _ = write!(
        body,
        r#"<line class="axis" x1="{x0:.1}" y1="{top_y:.1}" x2="{x0:.1}" y2="{y2:.1}"/>"#,
        y2 = top_y + plot_h
    );
    finish(c, body, height, "hbar")
}

/// The `<svg>` around a chart's body.
fn finish(c: &Bars, body: String, height: f64, class: &str) -> String {
    let mut out = String::new();
    let size = (WIDTH as u32, height.ceil() as u32);
    open(&mut out, &c.id, &c.title, &c.desc, size, class);
    patterns(&mut out, &c.id, c.series.len());
    out.push_str(&body);
    out.push_str("</svg>");
    out
}

/// A vertical grouped bar chart: one column group per category (labels
/// below), a value axis on the left, short values above the bars when they
/// fit. No categories: a "no data" paragraph.
pub fn vbar(c: &Bars) -> String {
    if c.groups.is_empty() || c.series.is_empty() {
        return no_data(&c.title);
    }
    let mut body = String::new();
    let top_y = legend(&mut body, &c.series, WIDTH, swatch(&c.id)) + 16.0;
    let (x0, x1, plot_h) = (64.0, WIDTH - 8.0, 240.0);
    let base = top_y + plot_h;
    let (top, step) = nice(max_value(c), c.unit);
    value_axis(&mut body, c.unit, (top, step), (x0, x1), (base, plot_h));
    let band = (x1 - x0) / c.groups.len() as f64;
    let bar_w = ((band - 12.0) / c.series.len() as f64).clamp(2.0, 48.0);
    let chars = ((band / 7.0) as usize).max(3);
    for (gi, g) in c.groups.iter().enumerate() {
        let gx = x0 + band * gi as f64 + (band - bar_w * c.series.len() as f64) / 2.0;
        let _ = write!(
            body,
            r#"<g class="group" data-category="{cat}"><title>{cat}</title><text class="cat" x="{cx:.1}" y="{cy:.1}" text-anchor="middle">{short}</text>"#,
            cat = escape(&g.category),
            cx = x0 + band * (gi as f64 + 0.5),
            cy = base + 16.0,
            short = escape(&clip(&g.category, chars)),
        );
        for i in 0..c.series.len() {
            let h = scale(value(g, i), top, plot_h);
            let bx = gx + bar_w * i as f64;
            bar(&mut body, c, g, i, (bx, base - h, bar_w, h));
            if bar_w >= 26.0 && value(g, i) > 0 {
                let _ = write!(
                    body,
                    r#"<text class="value" x="{x:.1}" y="{y:.1}" text-anchor="middle">{v}</text>"#,
                    x = bx + bar_w / 2.0,
                    y = base - h - 3.0,
                    v = c.unit.short(value(g, i)),
                );
            }
        }
        body.push_str("</g>");
    }
    let _ = write!(
        body,
        r#"<line class="axis" x1="{x0:.1}" y1="{base:.1}" x2="{x1:.1}" y2="{base:.1}"/>"#
    );
    finish(c, body, base + 26.0, "vbar")
}
