//! The JSON document of a report, the same from the CLI (`report --format
//! json`) and the node (`/api/v1/reports/VIEW`): [`document`] wraps the
//! [`body`] of the tables with the report's [`Meta`].

use std::io::Write;

use projector::views::{Cell, Table};
use serde_json::{json, Map, Value};

use super::{eur_decimal, Meta};

/// The entries one cell adds to a row object: EUR as `key` (decimal string
/// of euros) and `key_cents` (a number of cents); ratios rounded to 4 places.
fn cell_entries(key: &str, c: &Cell, row: &mut Map<String, Value>) {
    let value = match c {
        Cell::Text(s) => json!(s),
        Cell::Int(n) => json!(n),
        Cell::Eur(cents) => {
            row.insert(format!("{key}_cents"), json!(cents));
            json!(eur_decimal(*cents))
        }
        Cell::Ratio(r) => json!(r.map(|r| (r * 10_000.0).round() / 10_000.0)),
        Cell::Bool(b) => json!(b),
        Cell::Date(d) => json!(d.to_string()),
        Cell::Null => Value::Null,
    };
    row.insert(key.to_string(), value);
}

/// One row as an object keyed by the table's column keys.
pub fn row_object(t: &Table, r: &[Cell]) -> Value {
    let mut row = Map::new();
    for (c, v) in t.columns.iter().zip(r) {
        cell_entries(c.key, v, &mut row);
    }
    Value::Object(row)
}

/// The tables' part of the document, `"tables": {...}, "totals": {...}`:
/// rendered once per state by the node and spliced into each [`document`].
pub fn body(tables: &[Table]) -> String {
    let mut out = Vec::new();
    write_body(&mut out, tables).expect("writing to memory");
    String::from_utf8(out).expect("JSON is UTF-8")
}

/// [`body`] written to `w` a row at a time (the bytes `serde_json`'s pretty
/// printer gives for the whole object, tables in title order), so that a
/// table of millions of rows is never held as JSON values.
pub fn write_body(w: &mut dyn Write, tables: &[Table]) -> std::io::Result<()> {
    let mut sorted: Vec<&Table> = tables.iter().collect();
    sorted.sort_by_key(|t| t.title);
    sorted.dedup_by_key(|t| t.title);
    w.write_all(b"\"tables\": ")?;
    if sorted.is_empty() {
        w.write_all(b"{}")?;
    }
    for (i, t) in sorted.iter().enumerate() {
        w.write_all(if i == 0 { b"{\n  " } else { b",\n  " })?;
        write!(w, "{}: ", json!(t.title))?;
        if t.rows.is_empty() {
            w.write_all(b"[]")?;
            continue;
        }
        for (j, r) in t.rows.iter().enumerate() {
            w.write_all(if j == 0 { b"[\n    " } else { b",\n    " })?;
            let row = serde_json::to_string_pretty(&row_object(t, r)).expect("JSON of values");
            w.write_all(row.replace('\n', "\n    ").as_bytes())?;
        }
        w.write_all(b"\n  ]")?;
    }
    if !sorted.is_empty() {
        w.write_all(b"\n}")?;
    }
    let totals: Map<String, Value> = tables
        .iter()
        .filter_map(|t| Some((t.title.to_string(), row_object(t, t.totals.as_ref()?))))
        .collect();
    let totals = serde_json::to_string_pretty(&Value::Object(totals)).expect("JSON of values");
    write!(w, ",\n\"totals\": {totals}")
}

/// The whole document: `view`, `as_of`, `today`, `position`, `digest`,
/// `generated_at`, then `extra` (the API's paging), then the [`body`].
pub fn document(meta: &Meta, body: &str, extra: &Map<String, Value>) -> String {
    let mut out = Vec::new();
    write_document(&mut out, meta, extra, |w| w.write_all(body.as_bytes()))
        .expect("writing to memory");
    String::from_utf8(out).expect("JSON is UTF-8")
}

/// [`document`] written to `w`, its body by `body` (such as [`write_body`]).
pub fn write_document(
    w: &mut dyn Write,
    meta: &Meta,
    extra: &Map<String, Value>,
    body: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut head = vec![
        ("view", json!(meta.view.name())),
        ("as_of", json!(meta.as_of.map(|d| d.to_string()))),
        ("today", json!(meta.today.to_string())),
        ("position", json!(meta.position)),
        ("digest", json!(meta.digest)),
        ("generated_at", json!(meta.generated_at)),
    ];
    head.extend(extra.iter().map(|(k, v)| (k.as_str(), v.clone())));
    w.write_all(b"{\n")?;
    for (k, v) in head {
        writeln!(w, "{}: {v},", json!(k))?;
    }
    body(w)?;
    w.write_all(b"\n}\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use projector::views::Column;

    fn column(key: &'static str) -> Column {
        Column {
            key,
            header: "",
            in_table: true,
        }
    }

    /// What `serde_json`'s pretty printer gives for the whole body at once.
    fn whole(tables: &[Table]) -> String {
        let mut rows = Map::new();
        let mut totals = Map::new();
        for t in tables {
            let r = t.rows.iter().map(|r| row_object(t, r)).collect();
            rows.insert(t.title.to_string(), Value::Array(r));
            if let Some(total) = &t.totals {
                totals.insert(t.title.to_string(), row_object(t, total));
            }
        }
        let pretty = |v| serde_json::to_string_pretty(&Value::Object(v)).expect("JSON");
        format!(
            "\"tables\": {},\n\"totals\": {}",
            pretty(rows),
            pretty(totals)
        )
    }

    #[test]
    fn a_body_written_a_row_at_a_time_is_the_pretty_printed_whole() {
        let cells = |i: u64| {
            vec![
                Cell::Text(format!("line\nbreak \"{i}\" é")),
                Cell::Eur(u128::from(i) * 1_000_001),
                Cell::Ratio(Some(0.123456)),
                Cell::Null,
                Cell::Bool(i.is_multiple_of(2)),
            ]
        };
        let columns = || ["z", "eur", "r", "n", "b"].map(column).to_vec();
        let many =
            Table::new("b_many", columns(), (0..3).map(cells).collect()).with_totals(cells(9));
        let empty = Table::new("a_empty", columns(), vec![]);
        let one = Table::new("c_one", vec![column("k")], vec![vec![Cell::Int(7)]]);
        for tables in [
            vec![],
            vec![empty.clone()],
            vec![many.clone(), empty.clone(), one.clone()],
            vec![one, many],
        ] {
            assert_eq!(body(&tables), whole(&tables));
        }
    }
}
