//! The figures pages: overview, pipeline, months, needs coverage.

use std::collections::BTreeMap;

use projector::views::{Cell, Table, View};

use super::html::{self, csv_link, figure, find, note, num, section, text, Ctx};
use crate::cmd::serve::svg::{self, eur, Bars, Group, Lines, Series, Stage, Unit};

/// The donors' figures the overview draws, with their labels.
const DONOR_SERIES: [(&str, &str); 4] = [
    ("offered_eur", "Offered"),
    ("committed_eur", "Committed"),
    ("delivered_eur", "Delivered"),
    ("acknowledged_eur", "Acknowledged"),
];

/// The pipeline's stages, with their labels.
const STAGES: [(&str, &str); 5] = [
    ("need", "Needs stated"),
    ("offer", "Offers standing"),
    ("commitment", "Commitments"),
    ("delivery", "Deliveries"),
    ("receipt", "Receipts acknowledged"),
];

fn series(pairs: &[(&str, &str)]) -> Vec<Series> {
    pairs.iter().map(|(k, l)| Series::new(k, l)).collect()
}

/// The overview: headline totals, per-donor bars and table, the pipeline in figures.
pub(super) fn overview(views: &[Vec<Table>], ctx: &Ctx) -> String {
    let mut out = String::new();
    let Some(t) = find(views, 0, "donors") else {
        out.push_str(&html::no_rows("the donors"));
        out.push_str(&pipeline_table(views, ctx, true));
        return out;
    };
    let donors = &t.rows;
    let total = |k: &str| -> u128 {
        match &t.totals {
            Some(r) => num(t, r, k),
            None => donors
                .iter()
                .fold(0u128, |a, r| a.saturating_add(num(t, r, k))),
        }
    };
    let mut cards: Vec<(&str, String, String)> = DONOR_SERIES
        .iter()
        .map(|(k, l)| (*l, eur(total(k)), total(k).to_string()))
        .collect();
    let r = html::ratio(total("delivered_eur"), total("committed_eur"));
    cards.push((
        "Delivered / committed",
        html::percent(r),
        r.map_or(String::new(), |r| format!("{r:.4}")),
    ));
    cards.push((
        "Donors",
        html::int(donors.len() as u128),
        donors.len().to_string(),
    ));
    out.push_str(&html::cards(&cards));
    let chart = Bars {
        id: "chart-donors".into(),
        title: "Offered, committed, delivered and acknowledged, per donor".into(),
        desc: format!(
            "Horizontal bars, four per donor, in euros. {} donors; in total {} offered, {} committed, {} delivered, {} acknowledged.",
            donors.len(),
            eur(total("offered_eur")),
            eur(total("committed_eur")),
            eur(total("delivered_eur")),
            eur(total("acknowledged_eur"))
        ),
        unit: Unit::Cents,
        series: series(&DONOR_SERIES),
        groups: donors
            .iter()
            .map(|r| Group {
                category: text(t, r, "donor"),
                values: DONOR_SERIES.iter().map(|(k, _)| num(t, r, k)).collect(),
            })
            .collect(),
    };
    let body = format!(
        "{}{}{}",
        figure(&svg::hbar(&chart)),
        html::whole(t, "Per donor: offers, commitments, deliveries and receipts"),
        csv_link(View::Donors, ctx)
    );
    out.push_str(&section("donors", "Per donor", &body));
    out.push_str(&pipeline_table(views, ctx, true));
    out
}

/// The pipeline's table (from `views[1]` on the overview, `views[0]` on its page).
fn pipeline_table(views: &[Vec<Table>], ctx: &Ctx, overview: bool) -> String {
    let i = usize::from(overview);
    let body = match find(views, i, "pipeline") {
        Some(t) => format!(
            "{}{}{}",
            html::whole(t, "Items and EUR at each stage"),
            if overview {
                format!(
                    r#"<p class="more"><a href="{}">The pipeline as a funnel</a></p>"#,
                    svg::escape(&super::Page::Pipeline.href(ctx.as_of))
                )
            } else {
                String::new()
            },
            csv_link(View::Pipeline, ctx)
        ),
        None => html::no_rows("the pipeline"),
    };
    section("pipeline-figures", "Pipeline in figures", &body)
}

/// The pipeline: a funnel of needs, offers, commitments, deliveries, receipts.
pub(super) fn pipeline(views: &[Vec<Table>], ctx: &Ctx) -> String {
    let Some(t) = find(views, 0, "pipeline") else {
        return html::no_rows("the pipeline");
    };
    let stages: Vec<Stage> = t
        .rows
        .iter()
        .map(|r| {
            let key = text(t, r, "stage");
            let label = STAGES
                .iter()
                .find(|(k, _)| *k == key)
                .map_or_else(|| key.clone(), |(_, l)| (*l).to_string());
            Stage {
                key,
                label,
                count: u64::try_from(num(t, r, "count")).unwrap_or(u64::MAX),
                cents: num(t, r, "eur"),
            }
        })
        .collect();
    let desc = stages
        .iter()
        .map(|s| format!("{}: {} items, {}", s.label, s.count, eur(s.cents)))
        .collect::<Vec<_>>()
        .join("; ");
    let chart = svg::funnel("chart-pipeline", "From needs to receipts", &desc, &stages);
    let body = format!(
        "{}{}",
        note("Each bar is as wide as the stage's EUR. Cancelled needs, offers and commitments are left out; a commitment whose remaining balance was cancelled counts what was delivered; receipts count the EUR of the quantity accepted."),
        figure(&chart)
    );
    let mut out = section("funnel", "From needs to receipts", &body);
    out.push_str(&pipeline_table(views, ctx, false));
    out
}

/// Months: cumulative committed and delivered as lines, monthly as bars, tables.
pub(super) fn months(views: &[Vec<Table>], ctx: &Ctx) -> String {
    let Some(t) = find(views, 0, "months") else {
        return html::no_rows("the months");
    };
    let per: Vec<&Vec<Cell>> = t.rows.iter().collect();
    let filled = match find(views, 0, "months_total") {
        Some(m) => every_month(m, &m.rows.iter().collect::<Vec<_>>()),
        None => Vec::new(),
    };
    let x: Vec<String> = filled.iter().map(|(m, _)| m.clone()).collect();
    let col = |k: usize| -> Vec<u128> { filled.iter().map(|(_, v)| v[k]).collect() };
    let last = |k: usize| filled.last().map_or(0, |(_, v)| v[k]);
    let lines = Lines {
        id: "chart-cumulative".into(),
        title: "Cumulative EUR committed and delivered".into(),
        desc: format!(
            "Two lines over {} months; by the last month {} committed and {} delivered.",
            x.len(),
            eur(last(2)),
            eur(last(3))
        ),
        unit: Unit::Cents,
        x: x.clone(),
        series: series(&[
            ("cumulative_committed_eur", "Committed"),
            ("cumulative_delivered_eur", "Delivered"),
        ]),
        values: vec![col(2), col(3)],
    };
    let body = format!(
        "{}{}",
        figure(&svg::line(&lines)),
        html::whole(&month_table(&filled), "Per month, all donors")
    );
    let mut out = section("cumulative", "Cumulative commitments and deliveries", &body);
    let bars = Bars {
        id: "chart-monthly".into(),
        title: "EUR committed and delivered in each month".into(),
        desc: format!("Two bars per month over {} months, in euros.", x.len()),
        unit: Unit::Cents,
        series: series(&[
            ("committed_eur", "Committed"),
            ("delivered_eur", "Delivered"),
        ]),
        groups: filled
            .iter()
            .map(|(m, v)| Group {
                category: m.clone(),
                values: vec![v[0], v[1]],
            })
            .collect(),
    };
    let body = format!(
        "{}{}{}",
        figure(&svg::vbar(&bars)),
        html::table(t, "Per month and donor", &html::shown(t), &per),
        html::csv_links(View::Months, &["months", "months_total"], ctx)
    );
    out.push_str(&section("monthly", "Each month, by donor", &body));
    out
}

/// The month keys of the months table's figures.
const MONTH_KEYS: [&str; 4] = [
    "committed_eur",
    "delivered_eur",
    "cumulative_committed_eur",
    "cumulative_delivered_eur",
];

/// `YYYY-MM` as a month number.
fn month_number(m: &str) -> Option<i64> {
    let (y, mm) = m.split_once('-')?;
    let (y, mm): (i64, i64) = (y.parse().ok()?, mm.parse().ok()?);
    (1..=12).contains(&mm).then_some(y * 12 + mm - 1)
}

/// The `months_total` rows' figures for every month from the first to the last (a
/// month without a row: nothing that month, the cumulative figures carried);
/// the rows as they are when a month does not parse or the span is over 50 years.
fn every_month(t: &Table, totals: &[&Vec<Cell>]) -> Vec<(String, [u128; 4])> {
    let rows: Vec<(String, [u128; 4])> = totals
        .iter()
        .map(|r| (text(t, r, "month"), MONTH_KEYS.map(|k| num(t, r, k))))
        .collect();
    let numbers: Option<Vec<i64>> = rows.iter().map(|(m, _)| month_number(m)).collect();
    let Some(numbers) = numbers else { return rows };
    let (Some(first), Some(last)) = (numbers.first(), numbers.last()) else {
        return rows;
    };
    if last < first || last - first > 600 || !numbers.windows(2).all(|w| w[0] < w[1]) {
        return rows;
    }
    let mut out = Vec::new();
    let mut prev = [0u128; 4];
    for n in *first..=*last {
        let v = match numbers.iter().position(|m| *m == n) {
            Some(i) => rows[i].1,
            None => [0, 0, prev[2], prev[3]],
        };
        prev = v;
        out.push((
            format!("{:04}-{:02}", n.div_euclid(12), n.rem_euclid(12) + 1),
            v,
        ));
    }
    out
}

/// The months' totals as a table.
fn month_table(filled: &[(String, [u128; 4])]) -> Table {
    let mut columns = vec![html::column("month")];
    columns.extend(MONTH_KEYS.map(html::column));
    Table {
        totals: None,
        title: "months_total",
        columns,
        rows: filled
            .iter()
            .map(|(m, v)| {
                let mut r = vec![Cell::Text(m.clone())];
                r.extend(v.map(Cell::Eur));
                r
            })
            .collect(),
    }
}

/// Needs' figures summed under one key.
#[derive(Default, Clone)]
struct Coverage {
    needs: u64,
    stated: u128,
    offered: u128,
    committed: u128,
    delivered: u128,
}

/// The priorities in order of urgency (others after, by name).
fn priority_rank(p: &str) -> (u8, String) {
    let rank = ["critical", "high", "medium", "low"]
        .iter()
        .position(|q| *q == p)
        .unwrap_or(4);
    (rank as u8, p.to_string())
}

/// A category and a priority (ranked by [`priority_rank`]).
type CellKey = (String, (u8, String));

/// The needs' rows summed by (category, priority), withdrawn needs left out;
/// and how many were withdrawn.
fn coverage(t: &Table) -> (BTreeMap<CellKey, Coverage>, usize) {
    let mut out: BTreeMap<CellKey, Coverage> = BTreeMap::new();
    let mut withdrawn = 0;
    for r in &t.rows {
        if text(t, r, "status") == "withdrawn" {
            withdrawn += 1;
            continue;
        }
        let key = (
            text(t, r, "category"),
            priority_rank(&text(t, r, "priority")),
        );
        let c = out.entry(key).or_default();
        c.needs += 1;
        c.stated = c.stated.saturating_add(num(t, r, "stated_eur"));
        c.offered = c.offered.saturating_add(num(t, r, "offered_eur"));
        c.committed = c.committed.saturating_add(num(t, r, "committed_eur"));
        c.delivered = c.delivered.saturating_add(num(t, r, "delivered_eur"));
    }
    (out, withdrawn)
}

/// A derived coverage table: `first` columns of text, then the figures.
fn coverage_table(
    title: &'static str,
    first: &[&'static str],
    rows: Vec<(Vec<String>, Coverage)>,
) -> Table {
    let mut columns: Vec<_> = first.iter().map(|k| html::column(k)).collect();
    for k in [
        "needs",
        "stated_eur",
        "offered_eur",
        "committed_eur",
        "delivered_eur",
        "covered_ratio",
    ] {
        columns.push(html::column(k));
    }
    let rows = rows
        .into_iter()
        .map(|(keys, c)| {
            let mut r: Vec<Cell> = keys.into_iter().map(Cell::Text).collect();
            r.extend([
                Cell::Int(c.needs),
                Cell::Eur(c.stated),
                Cell::Eur(c.offered),
                Cell::Eur(c.committed),
                Cell::Eur(c.delivered),
                Cell::Ratio(html::ratio(c.committed, c.stated)),
            ]);
            r
        })
        .collect();
    Table {
        totals: None,
        title,
        columns,
        rows,
    }
}

fn add(a: &mut Coverage, b: &Coverage) {
    a.needs += b.needs;
    a.stated = a.stated.saturating_add(b.stated);
    a.offered = a.offered.saturating_add(b.offered);
    a.committed = a.committed.saturating_add(b.committed);
    a.delivered = a.delivered.saturating_add(b.delivered);
}

/// The figures a coverage chart draws, with their labels.
const COVERAGE_SERIES: [(&str, &str); 4] = [
    ("stated_eur", "Stated"),
    ("offered_eur", "Offered"),
    ("committed_eur", "Committed"),
    ("delivered_eur", "Delivered"),
];

/// A coverage bar chart: one group per `(name, coverage)`.
fn coverage_bars(id: &str, per: &str, groups: &[(String, &Coverage)]) -> Bars {
    Bars {
        id: id.into(),
        title: format!("Needs stated and covered, per {per}"),
        desc: format!(
            "Bars, four per {per} (stated, offered, committed, delivered), in euros; {} in all.",
            groups.len()
        ),
        unit: Unit::Cents,
        series: series(&COVERAGE_SERIES),
        groups: groups
            .iter()
            .map(|(k, c)| Group {
                category: k.clone(),
                values: vec![c.stated, c.offered, c.committed, c.delivered],
            })
            .collect(),
    }
}

/// Needs coverage by category and priority, and the donors' side by category.
pub(super) fn needs(views: &[Vec<Table>], ctx: &Ctx) -> String {
    let Some(t) = find(views, 0, "needs") else {
        return html::no_rows("the needs");
    };
    let (cells, withdrawn) = coverage(t);
    let mut by_cat: BTreeMap<String, Coverage> = BTreeMap::new();
    let mut by_prio: BTreeMap<(u8, String), Coverage> = BTreeMap::new();
    for ((cat, prio), c) in &cells {
        add(by_cat.entry(cat.clone()).or_default(), c);
        add(by_prio.entry(prio.clone()).or_default(), c);
    }
    let cats: Vec<(String, &Coverage)> = by_cat.iter().map(|(k, c)| (k.clone(), c)).collect();
    let prios: Vec<(String, &Coverage)> =
        by_prio.iter().map(|((_, p), c)| (p.clone(), c)).collect();
    let rows = |v: &[(String, &Coverage)]| -> Vec<(Vec<String>, Coverage)> {
        v.iter()
            .map(|(k, c)| (vec![k.clone()], (*c).clone()))
            .collect()
    };
    let withdrawn = match withdrawn {
        0 => "no need was withdrawn".to_string(),
        1 => "1 withdrawn need is left out".to_string(),
        n => format!("{n} withdrawn needs are left out"),
    };
    let body = format!(
        "{}{}{}",
        note(&format!("Open needs only ({withdrawn}). A commitment or offer answering several needs is split evenly between them. Covered = committed / stated.")),
        figure(&svg::hbar(&coverage_bars("chart-needs-category", "category", &cats))),
        html::whole(&coverage_table("needs_by_category", &["category"], rows(&cats)), "Needs coverage per category")
    );
    let mut out = section("by-category", "By category", &body);
    let both = cells
        .iter()
        .map(|((k, (_, p)), c)| (vec![k.clone(), p.clone()], c.clone()))
        .collect();
    let body = format!(
        "{}{}{}{}",
        figure(&svg::vbar(&coverage_bars(
            "chart-needs-priority",
            "priority",
            &prios
        ))),
        html::whole(
            &coverage_table("needs_by_priority", &["priority"], rows(&prios)),
            "Needs coverage per priority"
        ),
        html::whole(
            &coverage_table(
                "needs_by_category_priority",
                &["category", "priority"],
                both
            ),
            "Needs coverage per category and priority"
        ),
        csv_link(View::Needs, ctx)
    );
    out.push_str(&section("by-priority", "By priority", &body));
    out.push_str(&donor_side(views, ctx));
    out
}

/// The categories view: what donors offered, committed, delivered, per category.
fn donor_side(views: &[Vec<Table>], ctx: &Ctx) -> String {
    let mut body = String::new();
    match find(views, 1, "categories") {
        Some(t) => body.push_str(&html::whole(t, "Donors' figures per category")),
        None => body.push_str(&html::no_rows("the categories")),
    }
    if let Some(t) = find(views, 1, "categories_by_donor") {
        body.push_str(r#"<details><summary>Per category and donor</summary>"#);
        body.push_str(&html::whole(t, "Donors' figures per category and donor"));
        body.push_str("</details>");
    }
    body.push_str(&html::csv_links(
        View::Categories,
        &["categories", "categories_by_donor"],
        ctx,
    ));
    section(
        "donor-side",
        "What donors offered, committed and delivered, per category",
        &body,
    )
}
