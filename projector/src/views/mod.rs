//! Report views: pure functions from a [`Model`] to tables. Rendering (text,
//! JSON, CSV, XLSX) is the CLI's job; column keys here are the stable
//! JSON/CSV names. A view reads no clock: the report date comes in [`Params`].
//!
//! - [`totals`]: the EUR of an item, per-key totals; `donors`, `categories`;
//! - [`flows`]: `recipients`, `months`;
//! - [`status`]: `needs`, `commitments`, `overdue`;
//! - [`record`]: `pipeline`, `changes`, `integrity`;
//! - [`analysis`]: `countries`, `modalities`, `sectors`, `contributors`;
//! - [`matrix`]: `flows` (donor x recipient) and `coverage`.

use ledger::calendar::Date;

use crate::model::Model;

pub mod analysis;
pub mod flows;
pub mod matrix;
pub mod record;
pub mod rows;
pub mod status;
pub mod totals;

pub use record::time_findings_table;
pub use status::{commitment_status, delivered_quantity, tranche_shortfall};
pub use totals::{acknowledged_eur, committed_eur, delivered_eur, donor_totals, Totals};

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text.
    Text(String),
    /// A count, a quantity or a code.
    Int(u64),
    /// Euro cents; JSON gives cents and a decimal string, CSV the decimal
    /// string, tables whole euros (rounded) with separators.
    Eur(u128),
    /// A ratio (0.0-1.0+), absent when the denominator is zero.
    Ratio(Option<f64>),
    /// A yes/no (JSON `true`/`false`; text and CSV `true`/`false`).
    Bool(bool),
    /// A calendar date.
    Date(Date),
    /// No value (JSON `null`, an empty CSV cell, `-` in text tables).
    Null,
}

/// A column: its stable key, its table header, and whether the 80-column table shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// JSON/CSV key.
    pub key: &'static str,
    /// Table header.
    pub header: &'static str,
    /// Shown in the text table.
    pub in_table: bool,
}

/// One table of a view: rows of data, and their totals apart.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Section key (JSON) and title.
    pub title: &'static str,
    /// Columns.
    pub columns: Vec<Column>,
    /// Rows, cells in column order; never a total.
    pub rows: Vec<Vec<Cell>>,
    /// The totals of the rows, a cell per column ([`Cell::Null`] in the key
    /// columns), if the table has totals.
    pub totals: Option<Vec<Cell>>,
}

impl Table {
    /// A table without totals.
    pub fn new(title: &'static str, columns: Vec<Column>, rows: Vec<Vec<Cell>>) -> Table {
        Table {
            title,
            columns,
            rows,
            totals: None,
        }
    }

    /// The same table with this totals row.
    pub fn with_totals(mut self, totals: Vec<Cell>) -> Table {
        self.totals = Some(totals);
        self
    }
}

macro_rules! views {
    ($($(#[$doc:meta])* $variant:ident => $name:literal,)*) => {
        /// The report views.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum View {
            $($(#[$doc])* $variant,)*
        }

        impl View {
            /// Every view.
            pub const ALL: [View; [$($name),*].len()] = [$(View::$variant),*];

            /// The view's name on the command line.
            pub fn name(self) -> &'static str {
                match self {
                    $(View::$variant => $name,)*
                }
            }
        }
    };
}

views! {
    /// Per donor totals.
    Donors => "donors",
    /// Per category, and per category x donor.
    Categories => "categories",
    /// What each recipient received.
    Recipients => "recipients",
    /// Monthly and cumulative commitments and deliveries by donor.
    Months => "months",
    /// Per need coverage.
    Needs => "needs",
    /// Per commitment status.
    Commitments => "commitments",
    /// Overdue tranches and unacknowledged deliveries.
    Overdue => "overdue",
    /// Counts and EUR per stage.
    Pipeline => "pipeline",
    /// Amendments, corrections, cancellations.
    Changes => "changes",
    /// Chain heads, rejected events, gaps, equivocations.
    Integrity => "integrity",
    /// Totals per donor country.
    Countries => "countries",
    /// Totals per modality (financial, goods, services, training).
    Modalities => "modalities",
    /// Totals per OECD DAC sector code.
    Sectors => "sectors",
    /// Totals per contributor (the company or NGO an offer is made for).
    Contributors => "contributors",
    /// Commitments, deliveries and receipts per donor x recipient.
    Flows => "flows",
    /// Needs coverage per category and priority.
    Coverage => "coverage",
}

impl View {
    /// The view with this name.
    pub fn from_name(s: &str) -> Option<View> {
        View::ALL.into_iter().find(|v| v.name() == s)
    }
}

/// Parameters of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// The report date: what is overdue, and for how long, is judged against
    /// it. The caller chooses it (the CLI: the clock's date, `--as-of`, or
    /// `--today`); the views never read a clock.
    pub today: Date,
    /// Days after delivery without receipt before a delivery is overdue.
    pub receipt_days: i32,
}

pub(crate) fn col(key: &'static str, header: &'static str) -> Column {
    Column {
        key,
        header,
        in_table: true,
    }
}

pub(crate) fn hidden(key: &'static str) -> Column {
    Column {
        key,
        header: "",
        in_table: false,
    }
}

pub(crate) fn text(s: impl ToString) -> Cell {
    Cell::Text(s.to_string())
}

pub(crate) fn ratio(num: u128, den: u128) -> Cell {
    Cell::Ratio((den > 0).then(|| num as f64 / den as f64))
}

/// Builds a view from the whole model in memory.
pub fn build(model: &Model, view: View, p: &Params) -> Vec<Table> {
    rows::infallible(build_from(&mut rows::InMemory(model), view, p))
}

/// Builds a view from any source of rows, such as the projector's store
/// (`Projector::rows`): memory then does not grow with the ledger's length,
/// beyond the view's own rows (a listing) or one entry per need named
/// (`needs`, `coverage`).
pub fn build_from<R: rows::Rows + ?Sized>(
    rows: &mut R,
    view: View,
    p: &Params,
) -> Result<Vec<Table>, R::Error> {
    let one = |t: Table| vec![t];
    Ok(match view {
        View::Donors => one(totals::donors(rows)?),
        View::Categories => totals::categories(rows)?,
        View::Recipients => one(flows::recipients(rows)?),
        View::Months => flows::months(rows)?,
        View::Needs => one(status::needs(rows)?),
        View::Commitments => one(status::commitments(rows, p)?),
        View::Overdue => one(status::overdue(rows, p)?),
        View::Pipeline => one(record::pipeline(rows)?),
        View::Changes => one(record::changes(rows)?),
        View::Integrity => record::integrity(rows.overview()),
        View::Countries => one(analysis::countries(rows)?),
        View::Modalities => one(analysis::modalities(rows)?),
        View::Sectors => one(analysis::sectors(rows)?),
        View::Contributors => one(analysis::contributors(rows)?),
        View::Flows => one(matrix::flows(rows)?),
        View::Coverage => one(matrix::coverage(rows)?),
    })
}
