//! A report as an XLSX workbook: a sheet per table (named after it), then an
//! `about` sheet with the report's metadata. Typed cells: counts and EUR as
//! numbers (EUR in euros, format `#,##0.00 "EUR"`), ratios as numbers shown
//! as percentages, dates as dates (`yyyy-mm-dd`; a date outside the years
//! 1900-9999 as text), booleans as booleans, no value as an empty cell, text
//! as text (never a formula). The header row is bold and frozen; columns are
//! as wide as their widest cell (up to 60 characters). The totals row comes
//! last, labelled `TOTAL`, when asked for.

use anyhow::{Context, Result};
use projector::views::{Cell, Table};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, Worksheet};

use super::Meta;

/// The number formats of the typed cells.
struct Formats {
    header: Format,
    eur: Format,
    ratio: Format,
    date: Format,
    int: Format,
}

impl Formats {
    fn new() -> Formats {
        Formats {
            header: Format::new().set_bold(),
            eur: Format::new().set_num_format("#,##0.00 \"EUR\""),
            ratio: Format::new().set_num_format("0.00%"),
            date: Format::new().set_num_format("yyyy-mm-dd"),
            int: Format::new().set_num_format("0"),
        }
    }
}

/// Writes one cell; returns its width in characters.
fn write_cell(ws: &mut Worksheet, row: u32, col: u16, c: &Cell, f: &Formats) -> Result<usize> {
    let width = match c {
        Cell::Text(s) => {
            ws.write_string(row, col, s)?;
            s.chars().count()
        }
        Cell::Int(n) => {
            ws.write_number_with_format(row, col, *n as f64, &f.int)?;
            n.to_string().len()
        }
        Cell::Eur(cents) => {
            ws.write_number_with_format(row, col, *cents as f64 / 100.0, &f.eur)?;
            super::text::whole_euros(*cents).len() + 7
        }
        Cell::Ratio(Some(r)) => {
            ws.write_number_with_format(row, col, *r, &f.ratio)?;
            8
        }
        Cell::Ratio(None) | Cell::Null => 0,
        Cell::Bool(b) => {
            ws.write_boolean(row, col, *b)?;
            5
        }
        Cell::Date(d) => {
            let (y, m, day) = d.ymd();
            match u16::try_from(y)
                .ok()
                .and_then(|y| ExcelDateTime::from_ymd(y, m as u8, day as u8).ok())
            {
                Some(dt) => ws.write_datetime_with_format(row, col, &dt, &f.date)?,
                None => ws.write_string(row, col, d.to_string())?,
            };
            10
        }
    };
    Ok(width)
}

/// One table on its own sheet.
fn sheet(ws: &mut Worksheet, t: &Table, totals: bool, f: &Formats) -> Result<()> {
    ws.set_name(t.title.chars().take(31).collect::<String>())?;
    let mut widths: Vec<usize> = t.columns.iter().map(|c| c.key.len()).collect();
    for (i, c) in t.columns.iter().enumerate() {
        ws.write_string_with_format(0, i as u16, c.key, &f.header)?;
    }
    ws.set_freeze_panes(1, 0)?;
    let total = t.totals.as_ref().filter(|_| totals);
    for (r, row) in t.rows.iter().chain(total).enumerate() {
        let r = u32::try_from(r + 1).context("more rows than a sheet holds")?;
        for (i, c) in row.iter().enumerate() {
            let w = write_cell(ws, r, i as u16, c, f)?;
            widths[i] = widths[i].max(w);
        }
    }
    if let Some(total) = total {
        if matches!(total.first(), Some(Cell::Null)) {
            ws.write_string_with_format(t.rows.len() as u32 + 1, 0, "TOTAL", &f.header)?;
        }
    }
    for (i, w) in widths.iter().enumerate() {
        ws.set_column_width(i as u16, (*w).clamp(6, 60) as f64 + 1.0)?;
    }
    Ok(())
}

/// The workbook of a report, as bytes.
pub fn workbook(meta: &Meta, tables: &[Table], totals: bool) -> Result<Vec<u8>> {
    let f = Formats::new();
    let mut wb = Workbook::new();
    for t in tables {
        sheet(wb.add_worksheet(), t, totals, &f)?;
    }
    let about = wb.add_worksheet();
    about.set_name("about")?;
    let rows = [
        ("view", meta.view.name().to_string()),
        (
            "as_of",
            meta.as_of.map(|d| d.to_string()).unwrap_or_default(),
        ),
        ("today", meta.today.to_string()),
        ("position", meta.position.to_string()),
        ("digest", meta.digest.clone()),
        ("generated_at", meta.generated_at.clone()),
    ];
    for (i, (k, v)) in rows.iter().enumerate() {
        about.write_string_with_format(i as u32, 0, *k, &f.header)?;
        about.write_string(i as u32, 1, v)?;
    }
    about.write_number(3, 1, meta.position as f64)?;
    about.set_column_width(0, 14)?;
    about.set_column_width(1, 66)?;
    Ok(wb.save_to_buffer()?)
}
