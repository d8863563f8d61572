//! What an item counts for in EUR, totals per key (donor, category, country,
//! ...), and the `donors` and `categories` views.

use std::collections::BTreeMap;

use ledger::body::CancelScope;
use ledger::ids::{ItemId, MemberId};

use super::rows::{infallible, Committed, InMemory, Links, Rows};
use super::{col, hidden, ratio, text, Cell, Column, Table};
use crate::model::{CommitmentRow, DeliveryRow, Model, OfferRow, ReceiptRow};

/// EUR a commitment counts as committed: nothing if cancelled whole, what was
/// delivered if its remaining balance was cancelled, else its value.
pub fn committed_eur(model: &Model, c: &CommitmentRow) -> u64 {
    match c.cancelled {
        Some((CancelScope::Whole, _)) => 0,
        Some((CancelScope::RemainingBalance, _)) => delivered_eur(model, c),
        None => c.eur,
    }
}

/// EUR delivered on a commitment.
pub fn delivered_eur(model: &Model, c: &CommitmentRow) -> u64 {
    c.deliveries
        .iter()
        .filter_map(|d| model.deliveries.get(d))
        .map(|d| d.eur)
        .sum()
}

/// EUR of a delivery acknowledged: pro rata of the quantity accepted.
pub fn acknowledged_eur(model: &Model, delivery: &ItemId) -> u64 {
    let Some(d) = model.deliveries.get(delivery) else {
        return 0;
    };
    acknowledged_of(d, d.receipt.as_ref().and_then(|r| model.receipts.get(r)))
}

/// EUR of delivery `d` acknowledged by its receipt `r` (none: nothing).
pub fn acknowledged_of(d: &DeliveryRow, r: Option<&ReceiptRow>) -> u64 {
    match r {
        Some(r) if d.quantity > 0 => {
            (d.eur as u128 * r.quantity_accepted.min(d.quantity) as u128 / d.quantity as u128)
                as u64
        }
        _ => 0,
    }
}

/// Whether a commitment was cancelled whole (it counts for nothing).
pub(crate) fn cancelled_whole(c: &CommitmentRow) -> bool {
    matches!(c.cancelled, Some((CancelScope::Whole, _)))
}

/// Totals for one donor (or category, or stage).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    /// Offers standing (not cancelled).
    pub offers: u64,
    /// Their EUR.
    pub offered_eur: u128,
    /// Offers with no commitment (pledges only).
    pub pledge_only: u64,
    /// Their EUR.
    pub pledge_only_eur: u128,
    /// Commitments counted (not cancelled whole).
    pub commitments: u64,
    /// Their EUR.
    pub committed_eur: u128,
    /// Deliveries.
    pub deliveries: u64,
    /// Their EUR.
    pub delivered_eur: u128,
    /// Deliveries acknowledged.
    pub acknowledged: u64,
    /// EUR acknowledged (pro rata of quantity accepted).
    pub acknowledged_eur: u128,
}

impl Totals {
    /// Adds `b` to these totals.
    pub fn add(&mut self, b: &Totals) {
        self.offers += b.offers;
        self.offered_eur += b.offered_eur;
        self.pledge_only += b.pledge_only;
        self.pledge_only_eur += b.pledge_only_eur;
        self.commitments += b.commitments;
        self.committed_eur += b.committed_eur;
        self.deliveries += b.deliveries;
        self.delivered_eur += b.delivered_eur;
        self.acknowledged += b.acknowledged;
        self.acknowledged_eur += b.acknowledged_eur;
    }
}

/// Totals per key: offers under `key_offer` (standing offers only; an offer
/// whose key is `None` is left out), commitments and their deliveries under
/// `key_c` (the same), which reads the commitment and a model holding the
/// rows `links` names (see [`Rows::for_each_commitment`]).
pub(crate) fn totals_by<K: Ord + Clone, R: Rows + ?Sized>(
    rows: &mut R,
    links: Links,
    key_offer: impl Fn(&OfferRow) -> Option<K>,
    key_c: impl Fn(&Model, &CommitmentRow) -> Option<K>,
) -> Result<BTreeMap<K, Totals>, R::Error> {
    let mut out: BTreeMap<K, Totals> = BTreeMap::new();
    rows.for_each_offer(Some(Committed::Counted), &mut |_, o, committed| {
        let Some(key) = key_offer(o).filter(|_| o.cancelled_at.is_none()) else {
            return;
        };
        let t = out.entry(key).or_default();
        t.offers += 1;
        t.offered_eur += o.eur as u128;
        if !committed {
            t.pledge_only += 1;
            t.pledge_only_eur += o.eur as u128;
        }
    })?;
    rows.for_each_commitment(links, &mut |_, model, c| {
        let Some(key) = key_c(model, c) else { return };
        add_commitment(out.entry(key).or_default(), model, c);
    })?;
    Ok(out)
}

/// Adds a commitment and its deliveries to `t`.
fn add_commitment(t: &mut Totals, model: &Model, c: &CommitmentRow) {
    if !cancelled_whole(c) {
        t.commitments += 1;
        t.committed_eur += committed_eur(model, c) as u128;
    }
    for d in &c.deliveries {
        let Some(row) = model.deliveries.get(d) else {
            continue;
        };
        t.deliveries += 1;
        t.delivered_eur += row.eur as u128;
        if row.receipt.is_some() {
            t.acknowledged += 1;
            t.acknowledged_eur += acknowledged_eur(model, d) as u128;
        }
    }
}

/// The key columns, then the [`Totals`] columns.
pub(crate) fn totals_columns(keys: Vec<Column>) -> Vec<Column> {
    let mut cols = keys;
    cols.extend([
        hidden("offers"),
        col("offered_eur", "OFFERED"),
        hidden("pledge_only_offers"),
        hidden("pledge_only_eur"),
        col("commitments", "#C"),
        col("committed_eur", "COMMITTED"),
        hidden("deliveries"),
        col("delivered_eur", "DELIVERED"),
        hidden("acknowledged"),
        col("acknowledged_eur", "ACKNOWLEDGED"),
        col("delivery_ratio", "DEL%"),
        col("acknowledged_ratio", "ACK%"),
    ]);
    cols
}

/// The cells of [`totals_columns`] after the keys.
pub(crate) fn totals_cells(t: &Totals) -> Vec<Cell> {
    vec![
        Cell::Int(t.offers),
        Cell::Eur(t.offered_eur),
        Cell::Int(t.pledge_only),
        Cell::Eur(t.pledge_only_eur),
        Cell::Int(t.commitments),
        Cell::Eur(t.committed_eur),
        Cell::Int(t.deliveries),
        Cell::Eur(t.delivered_eur),
        Cell::Int(t.acknowledged),
        Cell::Eur(t.acknowledged_eur),
        ratio(t.delivered_eur, t.committed_eur),
        ratio(t.acknowledged_eur, t.delivered_eur),
    ]
}

/// A table of totals per key: a row per key (its key cells, then its
/// totals), and the sum of them all as the totals row (`Null` keys).
pub(crate) fn totals_table<K>(
    title: &'static str,
    keys: Vec<Column>,
    per: impl IntoIterator<Item = (K, Totals)>,
    key_cells: impl Fn(&K) -> Vec<Cell>,
) -> Table {
    let width = keys.len();
    let mut all = Totals::default();
    let rows = per
        .into_iter()
        .map(|(k, t)| {
            all.add(&t);
            let mut r = key_cells(&k);
            r.extend(totals_cells(&t));
            r
        })
        .collect();
    let mut total = vec![Cell::Null; width];
    total.extend(totals_cells(&all));
    Table::new(title, totals_columns(keys), rows).with_totals(total)
}

/// Per-donor totals (also used by tests and the demo summary).
pub fn donor_totals(model: &Model) -> BTreeMap<MemberId, Totals> {
    infallible(donor_totals_of(&mut InMemory(model)))
}

/// Per-donor totals from any source of rows.
pub(crate) fn donor_totals_of<R: Rows + ?Sized>(
    rows: &mut R,
) -> Result<BTreeMap<MemberId, Totals>, R::Error> {
    totals_by(
        rows,
        Links::Deliveries,
        |o| Some(o.donor.clone()),
        |_, c| Some(c.donor.clone()),
    )
}

pub(super) fn donors<R: Rows + ?Sized>(rows: &mut R) -> Result<Table, R::Error> {
    Ok(totals_table(
        "donors",
        vec![col("donor", "DONOR")],
        donor_totals_of(rows)?,
        |d| vec![text(d)],
    ))
}

pub(super) fn categories<R: Rows + ?Sized>(rows: &mut R) -> Result<Vec<Table>, R::Error> {
    let per = totals_by(
        rows,
        Links::Deliveries,
        |o| Some(o.category.code()),
        |_, c| Some(c.category.code()),
    )?;
    let by = totals_by(
        rows,
        Links::Deliveries,
        |o| Some((o.category.code(), o.donor.clone())),
        |_, c| Some((c.category.code(), c.donor.clone())),
    )?;
    Ok(vec![
        totals_table("categories", vec![col("category", "CATEGORY")], per, |k| {
            vec![text(k)]
        }),
        totals_table(
            "categories_by_donor",
            vec![col("category", "CATEGORY"), col("donor", "DONOR")],
            by,
            |(k, d)| vec![text(k), text(d)],
        ),
    ])
}
