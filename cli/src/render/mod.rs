//! Rendering report tables: an 80-column text table ([`text`]), a JSON
//! document wrapped with its metadata ([`json`]), one rectangular CSV table
//! per file ([`csv`]), or an XLSX workbook with typed cells ([`xlsx`]).
//! The rules are in `schemas/REPORTS.md`.

pub mod csv;
pub mod json;
pub mod text;
pub mod xlsx;

use ledger::calendar::Date;
use projector::views::View;

pub use text::text_tables;

/// Output format of reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned text table.
    Table,
    /// JSON document: metadata, `tables` (rows) and `totals`.
    Json,
    /// CSV: one table, a header row, totals only with `--totals`.
    Csv,
    /// XLSX workbook (`--out FILE`): a sheet per table, typed cells.
    Xlsx,
}

/// What a report document says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    /// The view.
    pub view: View,
    /// The date the reader chose (`--as-of`), if any.
    pub as_of: Option<Date>,
    /// The report date overdue and ageing are judged against.
    pub today: Date,
    /// Log position the figures reflect.
    pub position: u64,
    /// Hex SHA-256 of the read model at `position` (`tallinn digest`).
    pub digest: String,
    /// When the document was made (RFC 3339 UTC).
    pub generated_at: String,
}

/// Euro cents as a decimal string of euros, `1234.56` (exact, no separators).
pub fn eur_decimal(cents: u128) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}
