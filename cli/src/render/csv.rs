//! One report table as CSV: RFC 4180 (the `csv` crate quotes every field
//! with a comma, a quote, a CR or an LF; records end in CRLF), a header row,
//! optionally an HXL hashtag row under it, the data rows, and the totals row
//! only when asked for (`TOTAL` in its first column). Every row has as many
//! fields as the header.
//!
//! Cells: counts as digits; EUR as a decimal number of euros (`1234.56`,
//! exact); ratios to 4 decimal places (rounded); dates `YYYY-MM-DD`; booleans
//! `true`/`false`; no value as an empty field. Text that a spreadsheet would
//! run as a formula (starting with `=`, `+`, `-`, `@`, a tab or a CR) gets a
//! leading `'`, as OWASP advises against CSV injection, unless it is a plain
//! number (`-12`, `-0.5`); numeric cells are never prefixed.

use projector::views::{Cell, Table};

use super::eur_decimal;

/// What to add to the table's header and rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// The totals row after the data rows (tables that have totals).
    pub totals: bool,
    /// An HXL hashtag row under the header.
    pub hxl: bool,
}

/// The CSV of one table.
pub fn table(t: &Table, o: Options) -> String {
    let mut out = Vec::new();
    write_table(&mut out, t, o).expect("writing to memory");
    String::from_utf8(out).expect("UTF-8 cells")
}

/// [`table`] written to `w` a row at a time.
pub fn write_table(w: &mut dyn std::io::Write, t: &Table, o: Options) -> std::io::Result<()> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(w);
    w.write_record(t.columns.iter().map(|c| c.key))
        .map_err(io_error)?;
    if o.hxl {
        w.write_record(t.columns.iter().map(|c| hxl_tag(c.key)))
            .map_err(io_error)?;
    }
    for r in &t.rows {
        w.write_record(r.iter().map(cell)).map_err(io_error)?;
    }
    if let Some(total) = t.totals.as_ref().filter(|_| o.totals) {
        let mut cells: Vec<String> = total.iter().map(cell).collect();
        if let Some(first) = cells.first_mut().filter(|c| c.is_empty()) {
            *first = "TOTAL".into();
        }
        w.write_record(&cells).map_err(io_error)?;
    }
    w.flush()
}

/// The I/O error under a CSV writer's error (a broken pipe stays one).
fn io_error(e: csv::Error) -> std::io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        kind => std::io::Error::other(format!("{kind:?}")),
    }
}

/// Whether `s` is a plain decimal number (`-12`, `3.50`): safe as it is.
fn plain_number(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, "0"));
    !int.is_empty()
        && !frac.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
}

/// Text with a leading `'` if a spreadsheet would take it for a formula.
pub fn neutralise(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) && !plain_number(s) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// One CSV cell.
pub fn cell(c: &Cell) -> String {
    match c {
        Cell::Text(s) => neutralise(s),
        Cell::Int(n) => n.to_string(),
        Cell::Eur(cents) => eur_decimal(*cents),
        Cell::Ratio(Some(r)) => format!("{r:.4}"),
        Cell::Ratio(None) | Cell::Null => String::new(),
        Cell::Bool(b) => b.to_string(),
        Cell::Date(d) => d.to_string(),
    }
}

/// The HXL hashtag (and attributes) of a column key (hxlstandard.org 1.1).
pub fn hxl_tag(key: &str) -> String {
    let attr = |s: &str| s.replace(|c: char| !c.is_ascii_alphanumeric(), "_");
    let fixed = match key {
        "donor" => "#org+donor",
        "recipient" => "#org+recipient",
        "contributor" => "#org+contributor",
        "member" | "producer" => "#org+member",
        "country" => "#country+code",
        "category" => "#sector+category",
        "dac_sector" => "#sector+code+dac",
        "sector_name" => "#sector+name",
        "status" => "#status",
        "what" | "reason" => "#description",
        "month" => "#date+month",
        _ => "",
    };
    if !fixed.is_empty() {
        return fixed.into();
    }
    if let Some(stem) = key.strip_suffix("_eur") {
        return format!("#value+{}+eur", attr(stem));
    }
    if let Some(stem) = key.strip_suffix("_ratio") {
        return format!("#indicator+{}+ratio", attr(stem));
    }
    if key.ends_with("_on") || key.ends_with("_at") || key == "due" || key == "next_tranche" {
        return format!("#date+{}", attr(key));
    }
    format!("#meta+{}", attr(key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use projector::views::Column;

    fn table(cells: Vec<Cell>) -> Table {
        let columns = (0..cells.len())
            .map(|i| Column {
                key: ["a", "b", "c", "d", "e", "f"][i],
                header: "",
                in_table: true,
            })
            .collect();
        Table::new("t", columns, vec![cells])
    }

    #[test]
    fn quoting_follows_rfc_4180_with_cr_included() {
        let t = table(vec![
            Cell::Text("a\rb".into()),
            Cell::Text("x,y".into()),
            Cell::Text("say \"hi\"".into()),
            Cell::Text("two\nlines".into()),
        ]);
        assert_eq!(
            super::table(&t, Options::default()),
            "a,b,c,d\r\n\"a\rb\",\"x,y\",\"say \"\"hi\"\"\",\"two\nlines\"\r\n"
        );
    }

    #[test]
    fn formulas_are_neutralised_and_numbers_are_not() {
        for (input, want) in [
            ("=1+1", "'=1+1"),
            ("+31 20 555", "'+31 20 555"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("-12", "-12"),
            ("-0.50", "-0.50"),
            ("-", "'-"),
            ("plain = text", "plain = text"),
        ] {
            assert_eq!(neutralise(input), want, "{input:?}");
        }
        assert_eq!(cell(&Cell::Text("=x".into())), "'=x");
    }

    #[test]
    fn values_are_rounded_not_cut() {
        assert_eq!(cell(&Cell::Ratio(Some(2.0 / 3.0))), "0.6667");
        assert_eq!(cell(&Cell::Ratio(Some(0.99995))), "1.0000");
        assert_eq!(cell(&Cell::Ratio(None)), "");
        assert_eq!(cell(&Cell::Eur(123_456_789)), "1234567.89");
        assert_eq!(cell(&Cell::Eur(5)), "0.05");
        assert_eq!(cell(&Cell::Null), "");
        assert_eq!(cell(&Cell::Bool(true)), "true");
        assert_eq!(super::super::text::whole_euros(150), "2");
        assert_eq!(super::super::text::whole_euros(149), "1");
        assert_eq!(super::super::text::whole_euros(123_456_750), "1,234,568");
    }

    #[test]
    fn totals_only_on_request_and_the_hxl_row_under_the_header() {
        let t = table(vec![Cell::Text("EE".into()), Cell::Eur(100)])
            .with_totals(vec![Cell::Null, Cell::Eur(100)]);
        let plain = super::table(&t, Options::default());
        assert_eq!(plain, "a,b\r\nEE,1.00\r\n");
        let all = super::table(
            &t,
            Options {
                totals: true,
                hxl: true,
            },
        );
        assert_eq!(all, "a,b\r\n#meta+a,#meta+b\r\nEE,1.00\r\nTOTAL,1.00\r\n");
        assert_eq!(hxl_tag("committed_eur"), "#value+committed+eur");
        assert_eq!(hxl_tag("donor"), "#org+donor");
        assert_eq!(hxl_tag("delivery_ratio"), "#indicator+delivery+ratio");
    }
}
