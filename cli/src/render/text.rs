//! Report tables as aligned text within 80 columns, for people: whole euros
//! (rounded, half up) with separators, ratios as percentages, `-` for no
//! value, the totals row last with `TOTAL` in its first column.

use ledger::money::Eur;
use projector::views::{Cell, Table};

/// Euro cents as whole euros, rounded half up, with thousands separators.
pub fn whole_euros(cents: u128) -> String {
    let s = Eur(cents.saturating_add(50) / 100 * 100).to_string();
    s[..s.len() - 3].to_string()
}

fn cell_text(c: &Cell) -> String {
    match c {
        Cell::Text(s) => s.clone(),
        Cell::Int(n) => n.to_string(),
        Cell::Eur(cents) => whole_euros(*cents),
        Cell::Ratio(Some(r)) => format!("{:.0}%", r * 100.0),
        Cell::Ratio(None) | Cell::Null => "-".into(),
        Cell::Bool(b) => b.to_string(),
        Cell::Date(d) => d.to_string(),
    }
}

/// The tables as text, one after the other.
pub fn text_tables(tables: &[Table]) -> String {
    tables.iter().map(text_table).collect::<Vec<_>>().join("\n")
}

fn text_table(t: &Table) -> String {
    let cols: Vec<usize> = (0..t.columns.len())
        .filter(|&i| t.columns[i].in_table)
        .collect();
    let mut cells: Vec<Vec<String>> = t
        .rows
        .iter()
        .map(|r| cols.iter().map(|&i| cell_text(&r[i])).collect())
        .collect();
    if let Some(total) = &t.totals {
        let mut r: Vec<String> = cols.iter().map(|&i| cell_text(&total[i])).collect();
        if let Some(first) = r.first_mut() {
            *first = "TOTAL".into();
        }
        cells.push(r);
    }
    let numeric: Vec<bool> = cols
        .iter()
        .map(|&i| {
            t.rows
                .first()
                .is_some_and(|r| matches!(r[i], Cell::Int(_) | Cell::Eur(_) | Cell::Ratio(_)))
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
    if t.rows.is_empty() {
        out.push_str("(none)\n");
    }
    out
}
