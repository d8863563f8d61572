//! The analysis page: the six analyst views (REPORTS.md), each as a chart of
//! committed and delivered EUR, its table with totals, and its CSV link.

use projector::views::{Table, View};

use super::html::{self, csv_link, figure, find, note, num, section, text, Ctx};
use crate::cmd::serve::svg::{self, eur, Bars, Group, Series, Unit};

/// The views of the page, in the order `render` gets their tables.
pub(super) const VIEWS: [View; 6] = [
    View::Countries,
    View::Modalities,
    View::Sectors,
    View::Contributors,
    View::Flows,
    View::Coverage,
];

/// Each view's section: its anchor, heading, the columns that label a bar,
/// the two figures drawn, and a note.
struct Spec {
    id: &'static str,
    heading: &'static str,
    label: &'static [&'static str],
    figures: [(&'static str, &'static str); 2],
    note: &'static str,
}

const SPECS: [Spec; 6] = [
    Spec {
        id: "countries",
        heading: "By donor country",
        label: &["country"],
        figures: [("committed_eur", "Committed"), ("delivered_eur", "Delivered")],
        note: "The donors' totals summed per country of the donor member.",
    },
    Spec {
        id: "modalities",
        heading: "By modality",
        label: &["modality"],
        figures: [("committed_eur", "Committed"), ("delivered_eur", "Delivered")],
        note: "Commitments count under the modality of the offer they came from; one made without an offer has none.",
    },
    Spec {
        id: "sectors",
        heading: "By OECD DAC sector",
        label: &["dac_sector", "sector_name"],
        figures: [("committed_eur", "Committed"), ("delivered_eur", "Delivered")],
        note: "The item's own DAC code, else its category's typical code (schemas/CATEGORIES.md).",
    },
    Spec {
        id: "contributors",
        heading: "By contributor",
        label: &["contributor", "donor"],
        figures: [("offered_eur", "Offered"), ("committed_eur", "Committed")],
        note: "Offers made on behalf of a company or NGO, and the commitments made from them.",
    },
    Spec {
        id: "flows",
        heading: "Donor to recipient",
        label: &["donor", "recipient"],
        figures: [("committed_eur", "Committed"), ("delivered_eur", "Delivered")],
        note: "The donor x recipient matrix in long form: one row per pair with a commitment.",
    },
    Spec {
        id: "coverage",
        heading: "Needs coverage by category and priority",
        label: &["category", "priority"],
        figures: [("needed_eur", "Needed"), ("covered_eur", "Covered")],
        note: "Covered: each need's committed EUR up to what it stated, so one need over-covered does not hide another uncovered.",
    },
];

/// Most bars drawn per chart; the table has every row.
const MOST_BARS: usize = 25;

/// The page.
pub(super) fn page(views: &[Vec<Table>], ctx: &Ctx) -> String {
    let mut out = String::new();
    for (i, (view, spec)) in VIEWS.iter().zip(&SPECS).enumerate() {
        let body = match find(views, i, view.name()) {
            Some(t) if !t.rows.is_empty() => format!(
                "{}{}{}{}",
                note(spec.note),
                chart(t, spec),
                html::whole(t, spec.heading),
                csv_link(*view, ctx)
            ),
            _ => html::no_rows(spec.heading),
        };
        out.push_str(&section(spec.id, spec.heading, &body));
    }
    out
}

/// Two bars per row, the largest first figure first, at most [`MOST_BARS`].
fn chart(t: &Table, spec: &Spec) -> String {
    if t.rows.is_empty() {
        return String::new();
    }
    let mut rows: Vec<&Vec<projector::views::Cell>> = t.rows.iter().collect();
    rows.sort_by_key(|r| std::cmp::Reverse(num(t, r, spec.figures[0].0)));
    let shown = rows.len().min(MOST_BARS);
    let label = |r: &[projector::views::Cell]| -> String {
        let parts: Vec<String> = spec
            .label
            .iter()
            .map(|k| text(t, r, k))
            .filter(|s| !s.is_empty() && s != "-")
            .collect();
        if parts.is_empty() {
            "(none)".into()
        } else {
            parts.join(" · ")
        }
    };
    let sum = |k: &str| {
        rows.iter()
            .fold(0u128, |a, r| a.saturating_add(num(t, r, k)))
    };
    let [(k0, l0), (k1, l1)] = spec.figures;
    let bars = Bars {
        id: format!("chart-{}", spec.id),
        title: format!("{l0} and {l1} EUR, {}", spec.heading.to_lowercase()),
        desc: format!(
            "Horizontal bars, two per row, for the {shown} largest of {} rows; in total {} {} and {} {}.",
            rows.len(),
            eur(sum(k0)),
            l0.to_lowercase(),
            eur(sum(k1)),
            l1.to_lowercase()
        ),
        unit: Unit::Cents,
        series: vec![Series::new(k0, l0), Series::new(k1, l1)],
        groups: rows
            .iter()
            .take(shown)
            .map(|r| Group {
                category: label(r),
                values: vec![num(t, r, k0), num(t, r, k1)],
            })
            .collect(),
    };
    figure(&svg::hbar(&bars))
}
