//! HTML pieces the pages share: tables from report tables, cell access that
//! never panics on a table's shape, CSV links, sections and figure cards.

use std::fmt::Write as _;

use projector::views::{Cell, Column, Table, View};

use crate::cmd::serve::svg::{escape, eur, group};

/// What every section needs to know about the request.
pub(super) struct Ctx<'a> {
    /// The chosen date, carried into the CSV links.
    pub as_of: Option<&'a str>,
}

/// Percent-encodes a query value (everything but `A-Z a-z 0-9 - . _ ~`).
pub(super) fn query(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// A count with thousands separators.
pub(super) fn int(n: u128) -> String {
    group(n)
}

/// A ratio as a whole percentage, `–` when absent.
pub(super) fn percent(r: Option<f64>) -> String {
    match r {
        Some(r) if r.is_finite() => format!("{:.0}%", r * 100.0),
        _ => "–".into(),
    }
}

/// `num / den` as a ratio, absent when `den` is zero.
pub(super) fn ratio(num: u128, den: u128) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

/// The table titled `title` among `views[i]`'s tables.
pub(super) fn find<'a>(views: &'a [Vec<Table>], i: usize, title: &str) -> Option<&'a Table> {
    views.get(i)?.iter().find(|t| t.title == title)
}

/// The cell of `row` under `key` (none when the column or the cell is missing).
pub(super) fn get<'a>(t: &Table, row: &'a [Cell], key: &str) -> Option<&'a Cell> {
    let i = t.columns.iter().position(|c| c.key == key)?;
    row.get(i)
}

/// A figure under `key`: euro cents or a count; zero when missing or text.
pub(super) fn num(t: &Table, row: &[Cell], key: &str) -> u128 {
    match get(t, row, key) {
        Some(Cell::Eur(c)) => *c,
        Some(Cell::Int(n)) => u128::from(*n),
        _ => 0,
    }
}

/// The text under `key` (figures formatted); empty when missing.
pub(super) fn text(t: &Table, row: &[Cell], key: &str) -> String {
    match get(t, row, key) {
        Some(Cell::Text(s)) => s.clone(),
        Some(c) => cell_content(c),
        None => String::new(),
    }
}

/// A cell as display text: euros rounded, counts grouped, ratios in percent.
fn cell_content(c: &Cell) -> String {
    match c {
        Cell::Text(s) => s.clone(),
        Cell::Int(n) => group(u128::from(*n)),
        Cell::Eur(c) => eur(*c),
        Cell::Ratio(r) => percent(*r),
        Cell::Bool(b) => if *b { "yes" } else { "no" }.to_string(),
        Cell::Date(d) => d.to_string(),
        Cell::Null => "-".to_string(),
    }
}

/// The exact value of a figure cell, for `data-value`.
fn cell_value(c: &Cell) -> Option<String> {
    match c {
        Cell::Text(_) | Cell::Date(_) | Cell::Null => None,
        Cell::Bool(b) => Some(b.to_string()),
        Cell::Int(n) => Some(n.to_string()),
        Cell::Eur(c) => Some(c.to_string()),
        Cell::Ratio(r) => Some(
            r.filter(|r| r.is_finite())
                .map_or(String::new(), |r| format!("{r:.4}")),
        ),
    }
}

/// A column header for the web: from the key (`committed_eur` -> `Committed`).
pub(super) fn header(key: &str) -> String {
    let known = match key {
        "delivery_ratio" => "Delivered / committed",
        "acknowledged_ratio" => "Acknowledged / delivered",
        "covered_ratio" => "Covered",
        "commitments" => "Commitments",
        "pledge_only_offers" => "Pledge-only offers",
        "pledge_only_eur" => "Pledge-only",
        "days_overdue" => "Days overdue",
        "eur" => "EUR",
        "recorded_at" => "Recorded",
        "target" => "Item",
        "seq" => "Sequence",
        "head" => "Chain head (event id)",
        "position" => "Log position",
        "next_tranche" => "Next tranche",
        "cumulative_committed_eur" => "Committed, cumulative",
        "cumulative_delivered_eur" => "Delivered, cumulative",
        "tranches" => "Tranches overdue",
        "tranche_eur" => "Tranches, EUR",
        "receipts" => "Receipts missing",
        "receipt_eur" => "Receipts missing, EUR",
        "total_eur" => "Total, EUR",
        _ => "",
    };
    if !known.is_empty() {
        return known.into();
    }
    let words = key.strip_suffix("_eur").unwrap_or(key).replace('_', " ");
    let mut c = words.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// The keys a table shows by default: those the text table shows.
pub(super) fn shown(t: &Table) -> Vec<&'static str> {
    t.columns
        .iter()
        .filter(|c| c.in_table)
        .map(|c| c.key)
        .collect()
}

/// An HTML table of `rows` of `t` under the columns `keys` (unknown keys and
/// missing cells are empty cells), the first column as row headers, figures
/// right-aligned with their exact value in `data-value`.
pub(super) fn table(t: &Table, caption: &str, keys: &[&str], rows: &[&Vec<Cell>]) -> String {
    let mut out = format!(
        r#"<div class="table-wrap" role="region" tabindex="0" aria-label="{c}"><table data-table="{k}"><caption>{c}</caption><thead><tr>"#,
        c = escape(caption),
        k = escape(t.title),
    );
    let idx: Vec<Option<usize>> = keys
        .iter()
        .map(|k| t.columns.iter().position(|c| c.key == *k))
        .collect();
    let numeric: Vec<bool> = idx
        .iter()
        .map(|i| {
            rows.iter().any(|r| {
                i.and_then(|i| r.get(i))
                    .is_some_and(|c| !matches!(c, Cell::Text(_)))
            })
        })
        .collect();
    for (k, n) in keys.iter().zip(&numeric) {
        let class = if *n { r#" class="num""# } else { "" };
        let _ = write!(
            out,
            r#"<th scope="col"{class} data-key="{}">{}</th>"#,
            escape(k),
            escape(&header(k))
        );
    }
    out.push_str("</tr></thead><tbody>");
    for r in rows {
        let total = r
            .first()
            .is_some_and(|c| matches!(c, Cell::Text(s) if s == "TOTAL"));
        out.push_str(if total {
            r#"<tr class="total">"#
        } else {
            "<tr>"
        });
        for (j, i) in idx.iter().enumerate() {
            let cell = i.and_then(|i| r.get(i));
            let tag = if j == 0 { "th" } else { "td" };
            let scope = if j == 0 { r#" scope="row""# } else { "" };
            let class = if numeric[j] { r#" class="num""# } else { "" };
            let value = cell
                .and_then(cell_value)
                .map(|v| format!(r#" data-value="{v}""#))
                .unwrap_or_default();
            let content = cell.map(cell_content).unwrap_or_default();
            let _ = write!(
                out,
                "<{tag}{scope}{class}{value}>{}</{tag}>",
                escape(&content)
            );
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
    if rows.is_empty() {
        out = no_rows(caption);
    }
    out
}

/// The paragraph shown instead of an empty table.
pub(super) fn no_rows(caption: &str) -> String {
    format!(r#"<p class="no-data">No data for {}.</p>"#, escape(caption))
}

/// The whole of `t` under its default columns, its totals last (`TOTAL`).
pub(super) fn whole(t: &Table, caption: &str) -> String {
    let total = t.totals.clone().map(|mut r| {
        if let Some(first) = r.first_mut() {
            *first = Cell::Text("TOTAL".into());
        }
        r
    });
    let rows: Vec<&Vec<Cell>> = t.rows.iter().chain(total.as_ref()).collect();
    table(t, caption, &shown(t), &rows)
}

/// The CSV download link of a view (with `as_of` when chosen).
pub(super) fn csv_link(view: View, ctx: &Ctx) -> String {
    let mut href = format!("/api/v1/reports/{}?format=csv", view.name());
    if let Some(d) = ctx.as_of {
        let _ = write!(href, "&as_of={}", query(d));
    }
    format!(
        r#"<p class="downloads"><a class="csv" href="{}" download>Download the {} report as CSV</a></p>"#,
        escape(&href),
        view.name()
    )
}

/// The CSV download links of the tables of a view of several tables.
pub(super) fn csv_links(view: View, tables: &[&str], ctx: &Ctx) -> String {
    let mut out = String::from(r#"<p class="downloads">"#);
    for (i, t) in tables.iter().enumerate() {
        let mut href = format!(
            "/api/v1/reports/{}?format=csv&table={}",
            view.name(),
            query(t)
        );
        if let Some(d) = ctx.as_of {
            let _ = write!(href, "&as_of={}", query(d));
        }
        let sep = if i == 0 { "" } else { " · " };
        let _ = write!(
            out,
            r#"{sep}<a class="csv" href="{}" download>Download {} as CSV</a>"#,
            escape(&href),
            escape(t)
        );
    }
    out.push_str("</p>");
    out
}

/// A section with a heading (`id` for its anchor) and its content.
pub(super) fn section(id: &str, heading: &str, content: &str) -> String {
    format!(
        r#"<section class="panel" id="{id}" aria-labelledby="{id}-h"><h2 id="{id}-h">{h}</h2>{content}</section>"#,
        id = escape(id),
        h = escape(heading),
    )
}

/// A chart in a figure box.
pub(super) fn figure(svg: &str) -> String {
    format!(r#"<figure class="chart-box">{svg}</figure>"#)
}

/// A note paragraph (`text` is escaped).
pub(super) fn note(text: &str) -> String {
    format!(r#"<p class="note">{}</p>"#, escape(text))
}

/// Headline figures: `(label, value, exact)` cards; `exact` goes to `data-value`.
pub(super) fn cards(items: &[(&str, String, String)]) -> String {
    let mut out = String::from(r#"<dl class="cards" data-live="cards">"#);
    for (label, value, exact) in items {
        let _ = write!(
            out,
            r#"<div class="card"><dt>{}</dt><dd data-value="{}">{}</dd></div>"#,
            escape(label),
            escape(exact),
            escape(value)
        );
    }
    out.push_str("</dl>");
    out
}

/// A column for derived tables.
pub(super) fn column(key: &'static str) -> Column {
    Column {
        key,
        header: "",
        in_table: true,
    }
}
