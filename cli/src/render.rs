//! Rendering report tables as text (80 columns), JSON or CSV.

use ledger::money::Eur;
use projector::views::{Cell, Table};
use serde_json::{json, Map, Value};

/// Output format of reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned text table.
    Table,
    /// JSON object: section -> rows.
    Json,
    /// CSV with a header row (a `section` column when a view has several).
    Csv,
}

fn cell_text(c: &Cell) -> String {
    match c {
        Cell::Text(s) => s.clone(),
        Cell::Int(n) => n.to_string(),
        Cell::Eur(cents) => {
            let s = Eur(*cents).to_string();
            s[..s.len() - 3].to_string()
        }
        Cell::Ratio(Some(r)) => format!("{:.0}%", r * 100.0),
        Cell::Ratio(None) => "-".into(),
        Cell::Bool(b) => b.to_string(),
    }
}

fn cell_raw(c: &Cell) -> String {
    match c {
        Cell::Text(s) => s.clone(),
        Cell::Int(n) => n.to_string(),
        Cell::Eur(cents) => Eur(*cents).to_string().replace(',', ""),
        Cell::Ratio(Some(r)) => format!("{r:.4}"),
        Cell::Ratio(None) => String::new(),
        Cell::Bool(b) => b.to_string(),
    }
}

fn cell_json(c: &Cell) -> Value {
    match c {
        Cell::Text(s) => json!(s),
        Cell::Int(n) => json!(n),
        Cell::Eur(cents) => json!(Eur(*cents).to_string().replace(',', "")),
        Cell::Ratio(r) => json!(r.map(|r| (r * 10_000.0).round() / 10_000.0)),
        Cell::Bool(b) => json!(b),
    }
}

/// Renders tables in a format.
pub fn render(tables: &[Table], format: Format) -> String {
    match format {
        Format::Table => tables.iter().map(text_table).collect::<Vec<_>>().join("\n"),
        Format::Json => {
            let mut obj = Map::new();
            for t in tables {
                let rows: Vec<Value> = t
                    .rows
                    .iter()
                    .map(|r| {
                        Value::Object(
                            t.columns
                                .iter()
                                .zip(r)
                                .map(|(c, v)| (c.key.to_string(), cell_json(v)))
                                .collect(),
                        )
                    })
                    .collect();
                obj.insert(t.title.to_string(), Value::Array(rows));
            }
            serde_json::to_string_pretty(&Value::Object(obj)).expect("json")
        }
        Format::Csv => csv_tables(tables),
    }
}

/// CSV with a header row per table (a `section` column first when there are
/// several), quoted by the `csv` writer. Text that a spreadsheet would run as
/// a formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage return:
/// member-supplied descriptions, names and ids) is prefixed with `'`, as
/// OWASP advises against CSV injection; numbers are written as they are.
fn csv_tables(tables: &[Table]) -> String {
    let several = tables.len() > 1;
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    for t in tables {
        let mut header: Vec<&str> = t.columns.iter().map(|c| c.key).collect();
        if several {
            header.insert(0, "section");
        }
        w.write_record(&header).expect("writing to memory");
        for r in &t.rows {
            let mut cells: Vec<String> = r.iter().map(csv_cell).collect();
            if several {
                cells.insert(0, t.title.to_string());
            }
            w.write_record(&cells).expect("writing to memory");
        }
    }
    String::from_utf8(w.into_inner().expect("writing to memory")).expect("UTF-8 cells")
}

/// One CSV cell: the raw value, text neutralised against formula injection.
fn csv_cell(c: &Cell) -> String {
    let raw = cell_raw(c);
    match c {
        // The views' placeholder for "none": an empty cell.
        Cell::Text(t) if t == "-" => String::new(),
        Cell::Text(_) if raw.starts_with(['=', '+', '-', '@', '\t', '\r']) => format!("'{raw}"),
        _ => raw,
    }
}

fn text_table(t: &Table) -> String {
    let cols: Vec<usize> = (0..t.columns.len())
        .filter(|&i| t.columns[i].in_table)
        .collect();
    let cells: Vec<Vec<String>> = t
        .rows
        .iter()
        .map(|r| cols.iter().map(|&i| cell_text(&r[i])).collect())
        .collect();
    let numeric: Vec<bool> = cols
        .iter()
        .map(|&i| {
            t.rows
                .first()
                .is_some_and(|r| !matches!(r[i], Cell::Text(_)))
        })
        .collect();
    let mut widths: Vec<usize> = cols.iter().map(|&i| t.columns[i].header.len()).collect();
    for r in &cells {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    // Keep within 80 columns: shrink the widest text column.
    let total = |w: &[usize]| w.iter().sum::<usize>() + 2 * w.len().saturating_sub(1);
    while total(&widths) > 80 {
        let Some((i, _)) = widths
            .iter()
            .enumerate()
            .filter(|(i, w)| !numeric[*i] && **w > 8)
            .max_by_key(|(_, w)| **w)
        else {
            break;
        };
        widths[i] -= 1;
    }
    let fit = |s: &str, w: usize| -> String {
        if s.chars().count() <= w {
            s.to_string()
        } else {
            let mut t: String = s.chars().take(w.saturating_sub(1)).collect();
            t.push('~');
            t
        }
    };
    let line = |r: &[String]| -> String {
        r.iter()
            .enumerate()
            .map(|(i, c)| {
                if numeric[i] {
                    format!("{:>w$}", fit(c, widths[i]), w = widths[i])
                } else {
                    format!("{:<w$}", fit(c, widths[i]), w = widths[i])
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let header: Vec<String> = cols
        .iter()
        .map(|&i| t.columns[i].header.to_string())
        .collect();
    let mut out = format!("{}\n", t.title.replace('_', " ").to_uppercase());
    out.push_str(&line(&header));
    out.push('\n');
    for r in &cells {
        out.push_str(&line(r));
        out.push('\n');
    }
    if cells.is_empty() {
        out.push_str("(none)\n");
    }
    out
}
