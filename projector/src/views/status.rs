//! Where each item stands on the report date: the `needs`, `commitments`
//! and `overdue` views.

use std::collections::BTreeMap;

use ledger::body::{CancelScope, Priority};
use ledger::calendar::Date;
use ledger::ids::ItemId;

use super::rows::{Links, Rows};
use super::totals::{committed_eur, delivered_eur};
use super::{col, hidden, ratio, text, Cell, Params, Table};
use crate::model::{CommitmentRow, Model};

/// EUR offered, committed and delivered toward one need: an offer's or a
/// commitment's EUR split evenly across the needs it names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NeedFigures {
    /// Offered (standing offers).
    pub offered: u128,
    /// Committed.
    pub committed: u128,
    /// Delivered.
    pub delivered: u128,
}

/// [`NeedFigures`] of every need something names (memory: one entry per
/// such need).
pub fn need_figures<R: Rows + ?Sized>(
    rows: &mut R,
) -> Result<BTreeMap<ItemId, NeedFigures>, R::Error> {
    let mut out: BTreeMap<ItemId, NeedFigures> = BTreeMap::new();
    rows.for_each_offer(None, &mut |_, o, _| {
        if o.cancelled_at.is_some() {
            return;
        }
        let n = (o.answers.len() as u128).max(1);
        for need in &o.answers {
            figures_of(&mut out, need).offered += o.eur as u128 / n;
        }
    })?;
    rows.for_each_commitment(Links::Deliveries, &mut |_, model, c| {
        let n = (c.needs.len() as u128).max(1);
        for need in &c.needs {
            let e = figures_of(&mut out, need);
            e.committed += committed_eur(model, c) as u128 / n;
            e.delivered += delivered_eur(model, c) as u128 / n;
        }
    })?;
    Ok(out)
}

/// The figures of `need` in `out`, added if missing (looked up first: most
/// needs are named more than once, and the key is cloned only once).
fn figures_of<'a>(
    out: &'a mut BTreeMap<ItemId, NeedFigures>,
    need: &ItemId,
) -> &'a mut NeedFigures {
    if !out.contains_key(need) {
        out.insert(need.clone(), NeedFigures::default());
    }
    out.get_mut(need).expect("just inserted")
}

/// The priority's code (`critical`, `high`, `medium`, `low`).
pub fn priority_code(p: Priority) -> &'static str {
    match p {
        Priority::Critical => "critical",
        Priority::High => "high",
        Priority::Medium => "medium",
        Priority::Low => "low",
    }
}

pub(super) fn needs<R: Rows + ?Sized>(source: &mut R) -> Result<Table, R::Error> {
    let figures = need_figures(source)?;
    let mut rows: Vec<(u64, u8, Vec<Cell>)> = Vec::new();
    source.for_each_need(&mut |id, n| {
        rows.push({
            let f = figures.get(id).copied().unwrap_or_default();
            let com = f.committed;
            let cover = if n.eur == 0 {
                0
            } else {
                (com * 10_000 / n.eur as u128).min(u64::MAX as u128) as u64
            };
            let status = if n.cancelled_at.is_some() {
                "withdrawn"
            } else if com == 0 {
                "uncovered"
            } else if com < n.eur as u128 {
                "partial"
            } else {
                "covered"
            };
            (
                cover,
                n.priority as u8,
                vec![
                    text(id),
                    text(&n.recipient),
                    text(n.category.code()),
                    text(priority_code(n.priority)),
                    Cell::Eur(n.eur as u128),
                    Cell::Eur(f.offered),
                    Cell::Eur(com),
                    Cell::Eur(f.delivered),
                    ratio(com, n.eur as u128),
                    text(status),
                ],
            )
        })
    })?;
    rows.sort_by_key(|r| (r.0, r.1));
    Ok(Table::new(
        "needs",
        vec![
            col("need", "NEED"),
            hidden("recipient"),
            hidden("category"),
            col("priority", "PRIO"),
            col("stated_eur", "STATED"),
            col("offered_eur", "OFFERED"),
            col("committed_eur", "COMMITTED"),
            col("delivered_eur", "DELIVERED"),
            col("covered_ratio", "COV%"),
            hidden("status"),
        ],
        rows.into_iter().map(|r| r.2).collect(),
    ))
}

/// Quantity delivered on a commitment.
pub fn delivered_quantity(model: &Model, c: &CommitmentRow) -> u64 {
    c.deliveries
        .iter()
        .filter_map(|d| model.deliveries.get(d))
        .map(|d| d.quantity)
        .sum()
}

/// The status of a commitment on `today`.
pub fn commitment_status(model: &Model, c: &CommitmentRow, today: Date) -> &'static str {
    let delivered_q = delivered_quantity(model, c);
    match c.cancelled {
        Some((CancelScope::Whole, _)) => return "cancelled",
        Some((CancelScope::RemainingBalance, _)) if delivered_q == 0 => return "cancelled",
        _ => {}
    }
    let target = if c.cancelled.is_some() {
        delivered_q
    } else {
        c.quantity
    };
    let all_acked = c
        .deliveries
        .iter()
        .all(|d| model.deliveries.get(d).is_some_and(|d| d.receipt.is_some()));
    if delivered_q >= target {
        return if all_acked {
            "acknowledged"
        } else {
            "delivered"
        };
    }
    if tranche_shortfall(model, c, today).is_some() {
        return "overdue";
    }
    if delivered_q > 0 {
        "partially delivered"
    } else {
        "open"
    }
}

/// The first tranche past due on `today` that deliveries have not covered:
/// (expected date, quantity short).
pub fn tranche_shortfall(model: &Model, c: &CommitmentRow, today: Date) -> Option<(Date, u64)> {
    if c.cancelled.is_some() {
        return None;
    }
    let delivered_q = delivered_quantity(model, c);
    let mut due = 0u64;
    for t in &c.tranches {
        if t.expected >= today {
            break;
        }
        due += t.quantity;
        if delivered_q < due {
            return Some((t.expected, due - delivered_q));
        }
    }
    None
}

/// The first tranche deliveries have not covered yet, if the commitment stands.
fn next_tranche(model: &Model, c: &CommitmentRow) -> Option<Date> {
    if c.cancelled.is_some() {
        return None;
    }
    let delivered_q = delivered_quantity(model, c);
    let mut due = 0;
    c.tranches
        .iter()
        .find(|t| {
            due += t.quantity;
            due > delivered_q
        })
        .map(|t| t.expected)
}

pub(super) fn commitments<R: Rows + ?Sized>(source: &mut R, p: &Params) -> Result<Table, R::Error> {
    let mut all = (0u128, 0u128, 0u128);
    let mut rows = Vec::new();
    source.for_each_commitment(Links::Deliveries, &mut |id, model, c| {
        rows.push({
            let com = committed_eur(model, c) as u128;
            let del = delivered_eur(model, c) as u128;
            let out = com.saturating_sub(del);
            all = (all.0 + com, all.1 + del, all.2 + out);
            vec![
                text(id),
                text(&c.donor),
                text(&c.recipient),
                Cell::Eur(com),
                Cell::Eur(del),
                Cell::Eur(out),
                text(commitment_status(model, c, p.today)),
                next_tranche(model, c).map_or(Cell::Null, Cell::Date),
            ]
        })
    })?;
    let mut total = vec![Cell::Null; 3];
    total.extend([Cell::Eur(all.0), Cell::Eur(all.1), Cell::Eur(all.2)]);
    total.extend([Cell::Null, Cell::Null]);
    Ok(Table::new(
        "commitments",
        vec![
            col("commitment", "COMMITMENT"),
            hidden("donor"),
            col("recipient", "RECIPIENT"),
            col("committed_eur", "COMMITTED"),
            hidden("delivered_eur"),
            col("outstanding_eur", "OUTSTANDING"),
            col("status", "STATUS"),
            col("next_tranche", "NEXT"),
        ],
        rows,
    )
    .with_totals(total))
}

/// Days from `from` to `to` (`from <= to`), in 64 bits: dates are any day
/// number a member signed, so the difference of two may not fit an `i32`.
fn days_between(from: Date, to: Date) -> u64 {
    (i64::from(to.0) - i64::from(from.0)).max(0) as u64
}

/// One overdue row: kind, item, donor, recipient, due, days, EUR.
fn overdue_row(
    kind: &str,
    item: &ItemId,
    who: [String; 2],
    due: Date,
    p: &Params,
    eur: u128,
) -> Vec<Cell> {
    let [donor, recipient] = who;
    vec![
        text(kind),
        text(item),
        text(donor),
        text(recipient),
        Cell::Date(due),
        Cell::Int(days_between(due, p.today)),
        Cell::Eur(eur),
    ]
}

pub(super) fn overdue<R: Rows + ?Sized>(source: &mut R, p: &Params) -> Result<Table, R::Error> {
    let mut rows: Vec<(Date, Vec<Cell>)> = Vec::new();
    source.for_each_commitment(Links::Deliveries, &mut |id, model, c| {
        if let Some((date, short)) = tranche_shortfall(model, c, p.today) {
            let eur = if c.quantity == 0 {
                0
            } else {
                c.eur as u128 * short as u128 / c.quantity as u128
            };
            let who = [c.donor.to_string(), c.recipient.to_string()];
            rows.push((date, overdue_row("tranche", id, who, date, p, eur)));
        }
    })?;
    source.for_each_delivery(true, &mut |id, d, (c, _)| {
        if d.receipt.is_some() {
            return;
        }
        let due = d.delivered_on.add_days(p.receipt_days);
        if due < p.today {
            let recipient = c.map(|c| c.recipient.to_string()).unwrap_or_default();
            let who = [d.donor.to_string(), recipient];
            let eur = d.eur as u128;
            rows.push((due, overdue_row("receipt", id, who, due, p, eur)));
        }
    })?;
    rows.sort_by_key(|r| r.0);
    Ok(Table::new(
        "overdue",
        vec![
            col("kind", "KIND"),
            col("item", "ITEM"),
            col("donor", "DONOR"),
            col("recipient", "RECIPIENT"),
            col("due", "DUE"),
            col("days_overdue", "DAYS"),
            col("eur", "EUR"),
        ],
        rows.into_iter().map(|r| r.1).collect(),
    ))
}
