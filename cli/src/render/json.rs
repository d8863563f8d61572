//! The JSON document of a report, the same from the CLI (`report --format
//! json`) and the node (`/api/v1/reports/VIEW`): [`document`] wraps the
//! [`body`] of the tables with the report's [`Meta`].

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
    let mut rows = Map::new();
    let mut totals = Map::new();
    for t in tables {
        let r = t.rows.iter().map(|r| row_object(t, r)).collect();
        rows.insert(t.title.to_string(), Value::Array(r));
        if let Some(total) = &t.totals {
            totals.insert(t.title.to_string(), row_object(t, total));
        }
    }
    let pretty = |v: Map<String, Value>| {
        serde_json::to_string_pretty(&Value::Object(v)).expect("JSON of values")
    };
    format!(
        "\"tables\": {},\n\"totals\": {}",
        pretty(rows),
        pretty(totals)
    )
}

/// The whole document: `view`, `as_of`, `today`, `position`, `digest`,
/// `generated_at`, then `extra` (the API's paging), then the [`body`].
pub fn document(meta: &Meta, body: &str, extra: &Map<String, Value>) -> String {
    let mut head = vec![
        ("view", json!(meta.view.name())),
        ("as_of", json!(meta.as_of.map(|d| d.to_string()))),
        ("today", json!(meta.today.to_string())),
        ("position", json!(meta.position)),
        ("digest", json!(meta.digest)),
        ("generated_at", json!(meta.generated_at)),
    ];
    head.extend(extra.iter().map(|(k, v)| (k.as_str(), v.clone())));
    let mut out = String::from("{\n");
    for (k, v) in head {
        out.push_str(&format!("{}: {v},\n", json!(k)));
    }
    out.push_str(body);
    out.push_str("\n}\n");
    out
}
