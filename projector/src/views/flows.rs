//! What went where and when: the `recipients` and `months` views.

use std::collections::BTreeMap;

use ledger::calendar::Date;
use ledger::ids::MemberId;

use super::rows::{Links, Rows};
use super::totals::committed_eur;
use super::{col, hidden, text, Cell, Table};

pub(super) fn recipients<R: Rows + ?Sized>(source: &mut R) -> Result<Table, R::Error> {
    let mut rows: Vec<(MemberId, Date, Vec<Cell>)> = Vec::new();
    let mut eur: u128 = 0;
    source.for_each_delivery(true, &mut |id, d, (c, receipt)| {
        eur += d.eur as u128;
        let Some(c) = c else {
            return;
        };
        rows.push((
            c.recipient.clone(),
            d.delivered_on,
            vec![
                text(&c.recipient),
                text(&d.donor),
                Cell::Date(d.delivered_on),
                text(c.category.code()),
                Cell::Int(d.quantity),
                text(&c.unit),
                Cell::Eur(d.eur as u128),
                receipt.map_or(Cell::Null, |r| Cell::Date(r.received_on)),
                Cell::Int(receipt.map(|r| r.quantity_accepted).unwrap_or(0)),
                text(id),
                text(&d.commitment),
            ],
        ));
    })?;
    rows.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    let mut total = vec![Cell::Null; 11];
    total[6] = Cell::Eur(eur);
    Ok(Table::new(
        "recipients",
        vec![
            col("recipient", "RECIPIENT"),
            col("donor", "FROM"),
            col("delivered_on", "DELIVERED"),
            col("category", "CATEGORY"),
            col("quantity", "QTY"),
            hidden("unit"),
            col("eur", "EUR"),
            col("received_on", "RECEIVED"),
            hidden("quantity_accepted"),
            hidden("delivery"),
            hidden("commitment"),
        ],
        rows.into_iter().map(|r| r.2).collect(),
    )
    .with_totals(total))
}

/// Figures per (month, donor).
type PerMonth = BTreeMap<(String, MemberId), (u128, u128)>;

/// EUR committed and delivered per (month, donor).
fn per_month<R: Rows + ?Sized>(rows: &mut R) -> Result<PerMonth, R::Error> {
    let mut per = PerMonth::new();
    rows.for_each_commitment(Links::Deliveries, &mut |_, model, c| {
        let e = committed_eur(model, c) as u128;
        if e > 0 || c.cancelled.is_none() {
            per.entry((c.made_at.date().month(), c.donor.clone()))
                .or_default()
                .0 += e;
        }
    })?;
    rows.for_each_delivery(false, &mut |_, d, _| {
        per.entry((d.delivered_on.month(), d.donor.clone()))
            .or_default()
            .1 += d.eur as u128;
    })?;
    Ok(per)
}

/// `months`: per (month, donor) with the donor's cumulative figures, totals
/// apart; `months_total`: per month, all donors, with the cumulative figures.
pub(super) fn months<R: Rows + ?Sized>(source: &mut R) -> Result<Vec<Table>, R::Error> {
    let per = per_month(source)?;
    let mut cum: BTreeMap<&MemberId, (u128, u128)> = BTreeMap::new();
    let mut by_month: BTreeMap<&str, (u128, u128)> = BTreeMap::new();
    let mut rows = Vec::new();
    for ((month, donor), (c, d)) in &per {
        let m = by_month.entry(month).or_default();
        m.0 += c;
        m.1 += d;
        let cd = cum.entry(donor).or_default();
        cd.0 += c;
        cd.1 += d;
        rows.push(vec![
            text(month),
            text(donor),
            Cell::Eur(*c),
            Cell::Eur(*d),
            Cell::Eur(cd.0),
            Cell::Eur(cd.1),
        ]);
    }
    let mut all = (0u128, 0u128);
    let month_rows = by_month
        .iter()
        .map(|(month, (c, d))| {
            all.0 += c;
            all.1 += d;
            vec![
                text(month),
                Cell::Eur(*c),
                Cell::Eur(*d),
                Cell::Eur(all.0),
                Cell::Eur(all.1),
            ]
        })
        .collect();
    let figures = [
        col("committed_eur", "COMMITTED"),
        col("delivered_eur", "DELIVERED"),
        col("cumulative_committed_eur", "CUM.COMMITTED"),
        col("cumulative_delivered_eur", "CUM.DELIVERED"),
    ];
    let mut columns = vec![col("month", "MONTH"), col("donor", "DONOR")];
    columns.extend(figures.clone());
    let mut month_columns = vec![col("month", "MONTH")];
    month_columns.extend(figures);
    let sums = |keys: usize| {
        let mut t = vec![Cell::Null; keys];
        t.extend([Cell::Eur(all.0), Cell::Eur(all.1), Cell::Null, Cell::Null]);
        t
    };
    Ok(vec![
        Table::new("months", columns, rows).with_totals(sums(2)),
        Table::new("months_total", month_columns, month_rows).with_totals(sums(1)),
    ])
}
