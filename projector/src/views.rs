//! Report views: pure functions from a [`Model`] to tables. Rendering (text,
//! JSON, CSV) is the CLI's job; column keys here are the stable JSON/CSV names.

use std::collections::BTreeMap;

use ledger::body::CancelScope;
use ledger::calendar::Date;
use ledger::ids::{ItemId, MemberId};

use crate::model::{CommitmentRow, Model};

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text.
    Text(String),
    /// A count or quantity.
    Int(u64),
    /// Euro cents; JSON/CSV give cents, tables whole euros with separators.
    Eur(u128),
    /// A ratio (0.0-1.0+), absent when the denominator is zero.
    Ratio(Option<f64>),
    /// A yes/no (JSON `true`/`false`; text and CSV `true`/`false`).
    Bool(bool),
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

/// One table of a view.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Section key (JSON) and title.
    pub title: &'static str,
    /// Columns.
    pub columns: Vec<Column>,
    /// Rows, cells in column order.
    pub rows: Vec<Vec<Cell>>,
}

/// The report views.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Per donor totals.
    Donors,
    /// Per category, and per category x donor.
    Categories,
    /// What each recipient received.
    Recipients,
    /// Monthly and cumulative commitments and deliveries by donor.
    Months,
    /// Per need coverage.
    Needs,
    /// Per commitment status.
    Commitments,
    /// Overdue tranches and unacknowledged deliveries.
    Overdue,
    /// Counts and EUR per stage.
    Pipeline,
    /// Amendments, corrections, cancellations.
    Changes,
    /// Chain heads, rejected events, gaps, equivocations.
    Integrity,
}

impl View {
    /// Every view.
    pub const ALL: [View; 10] = [
        View::Donors,
        View::Categories,
        View::Recipients,
        View::Months,
        View::Needs,
        View::Commitments,
        View::Overdue,
        View::Pipeline,
        View::Changes,
        View::Integrity,
    ];
    /// The view's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            View::Donors => "donors",
            View::Categories => "categories",
            View::Recipients => "recipients",
            View::Months => "months",
            View::Needs => "needs",
            View::Commitments => "commitments",
            View::Overdue => "overdue",
            View::Pipeline => "pipeline",
            View::Changes => "changes",
            View::Integrity => "integrity",
        }
    }
    /// The view with this name.
    pub fn from_name(s: &str) -> Option<View> {
        View::ALL.into_iter().find(|v| v.name() == s)
    }
}

/// Parameters of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// The report date: what is overdue is judged against it.
    pub today: Date,
    /// Days after delivery without receipt before a delivery is overdue.
    pub receipt_days: i32,
}

fn col(key: &'static str, header: &'static str) -> Column {
    Column {
        key,
        header,
        in_table: true,
    }
}

fn hidden(key: &'static str) -> Column {
    Column {
        key,
        header: "",
        in_table: false,
    }
}

fn text(s: impl ToString) -> Cell {
    Cell::Text(s.to_string())
}

fn ratio(num: u128, den: u128) -> Cell {
    Cell::Ratio((den > 0).then(|| num as f64 / den as f64))
}

/// Builds a view.
pub fn build(model: &Model, view: View, p: &Params) -> Vec<Table> {
    match view {
        View::Donors => vec![donors(model)],
        View::Categories => categories(model),
        View::Recipients => vec![recipients(model)],
        View::Months => vec![months(model)],
        View::Needs => vec![needs(model)],
        View::Commitments => vec![commitments(model, p)],
        View::Overdue => vec![overdue(model, p)],
        View::Pipeline => vec![pipeline(model)],
        View::Changes => vec![changes(model)],
        View::Integrity => integrity(model),
    }
}

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
    let Some(r) = d.receipt.as_ref().and_then(|r| model.receipts.get(r)) else {
        return 0;
    };
    if d.quantity == 0 {
        return 0;
    }
    (d.eur as u128 * r.quantity_accepted.min(d.quantity) as u128 / d.quantity as u128) as u64
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

fn totals_by<K: Ord + Clone>(
    model: &Model,
    key_offer: impl Fn(&crate::model::OfferRow) -> K,
    key_c: impl Fn(&CommitmentRow) -> K,
) -> BTreeMap<K, Totals> {
    let mut out: BTreeMap<K, Totals> = BTreeMap::new();
    let mut committed_offers = std::collections::BTreeSet::new();
    for c in model.commitments.values() {
        if let Some(o) = &c.offer {
            if !matches!(c.cancelled, Some((CancelScope::Whole, _))) {
                committed_offers.insert(o.clone());
            }
        }
    }
    for (id, o) in &model.offers {
        if o.cancelled_at.is_some() {
            continue;
        }
        let t = out.entry(key_offer(o)).or_default();
        t.offers += 1;
        t.offered_eur += o.eur as u128;
        if !committed_offers.contains(id) {
            t.pledge_only += 1;
            t.pledge_only_eur += o.eur as u128;
        }
    }
    for c in model.commitments.values() {
        let t = out.entry(key_c(c)).or_default();
        if !matches!(c.cancelled, Some((CancelScope::Whole, _))) {
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
    out
}

fn totals_columns(first: Column, second: Option<Column>) -> Vec<Column> {
    let mut cols = vec![first];
    cols.extend(second);
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

fn totals_cells(t: &Totals) -> Vec<Cell> {
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

fn add(a: &mut Totals, b: &Totals) {
    a.offers += b.offers;
    a.offered_eur += b.offered_eur;
    a.pledge_only += b.pledge_only;
    a.pledge_only_eur += b.pledge_only_eur;
    a.commitments += b.commitments;
    a.committed_eur += b.committed_eur;
    a.deliveries += b.deliveries;
    a.delivered_eur += b.delivered_eur;
    a.acknowledged += b.acknowledged;
    a.acknowledged_eur += b.acknowledged_eur;
}

/// Per-donor totals (also used by tests and the demo summary).
pub fn donor_totals(model: &Model) -> BTreeMap<MemberId, Totals> {
    totals_by(model, |o| o.donor.clone(), |c| c.donor.clone())
}

fn donors(model: &Model) -> Table {
    let per = donor_totals(model);
    let mut all = Totals::default();
    let mut rows = Vec::new();
    for (donor, t) in &per {
        add(&mut all, t);
        let mut r = vec![text(donor)];
        r.extend(totals_cells(t));
        rows.push(r);
    }
    let mut r = vec![text("TOTAL")];
    r.extend(totals_cells(&all));
    rows.push(r);
    Table {
        title: "donors",
        columns: totals_columns(col("donor", "DONOR"), None),
        rows,
    }
}

fn categories(model: &Model) -> Vec<Table> {
    let per = totals_by(model, |o| o.category.code(), |c| c.category.code());
    let by = totals_by(
        model,
        |o| (o.category.code(), o.donor.clone()),
        |c| (c.category.code(), c.donor.clone()),
    );
    let rows = per
        .iter()
        .map(|(k, t)| {
            let mut r = vec![text(k)];
            r.extend(totals_cells(t));
            r
        })
        .collect();
    let rows2 = by
        .iter()
        .map(|((k, d), t)| {
            let mut r = vec![text(k), text(d)];
            r.extend(totals_cells(t));
            r
        })
        .collect();
    vec![
        Table {
            title: "categories",
            columns: totals_columns(col("category", "CATEGORY"), None),
            rows,
        },
        Table {
            title: "categories_by_donor",
            columns: totals_columns(col("category", "CATEGORY"), Some(col("donor", "DONOR"))),
            rows: rows2,
        },
    ]
}

fn recipients(model: &Model) -> Table {
    let mut rows: Vec<(MemberId, Date, Vec<Cell>)> = Vec::new();
    for (id, d) in &model.deliveries {
        let Some(c) = model.commitments.get(&d.commitment) else {
            continue;
        };
        let receipt = d.receipt.as_ref().and_then(|r| model.receipts.get(r));
        rows.push((
            c.recipient.clone(),
            d.delivered_on,
            vec![
                text(&c.recipient),
                text(&d.donor),
                text(d.delivered_on),
                text(c.category.code()),
                Cell::Int(d.quantity),
                text(&c.unit),
                Cell::Eur(d.eur as u128),
                text(
                    receipt
                        .map(|r| r.received_on.to_string())
                        .unwrap_or_else(|| "pending".into()),
                ),
                Cell::Int(receipt.map(|r| r.quantity_accepted).unwrap_or(0)),
                text(id),
                text(&d.commitment),
            ],
        ));
    }
    rows.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    Table {
        title: "recipients",
        columns: vec![
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
        rows: rows.into_iter().map(|r| r.2).collect(),
    }
}

fn months(model: &Model) -> Table {
    // (month, donor) -> (committed, delivered)
    let mut per: BTreeMap<(String, MemberId), (u128, u128)> = BTreeMap::new();
    for c in model.commitments.values() {
        let e = committed_eur(model, c) as u128;
        if e > 0 || c.cancelled.is_none() {
            per.entry((c.made_at.date().month(), c.donor.clone()))
                .or_default()
                .0 += e;
        }
    }
    for d in model.deliveries.values() {
        per.entry((d.delivered_on.month(), d.donor.clone()))
            .or_default()
            .1 += d.eur as u128;
    }
    let mut cum: BTreeMap<MemberId, (u128, u128)> = BTreeMap::new();
    let mut cum_all = (0u128, 0u128);
    let mut rows = Vec::new();
    let mut month_total: Option<(String, u128, u128)> = None;
    let flush = |rows: &mut Vec<Vec<Cell>>, mt: &Option<(String, u128, u128)>, ca: (u128, u128)| {
        if let Some((m, c, d)) = mt {
            rows.push(vec![
                text(m),
                text("TOTAL"),
                Cell::Eur(*c),
                Cell::Eur(*d),
                Cell::Eur(ca.0),
                Cell::Eur(ca.1),
            ]);
        }
    };
    for ((month, donor), (c, d)) in &per {
        if month_total.as_ref().is_some_and(|(m, _, _)| m != month) {
            flush(&mut rows, &month_total, cum_all);
            month_total = None;
        }
        let mt = month_total.get_or_insert((month.clone(), 0, 0));
        mt.1 += c;
        mt.2 += d;
        cum_all.0 += c;
        cum_all.1 += d;
        let cd = cum.entry(donor.clone()).or_default();
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
    flush(&mut rows, &month_total, cum_all);
    Table {
        title: "months",
        columns: vec![
            col("month", "MONTH"),
            col("donor", "DONOR"),
            col("committed_eur", "COMMITTED"),
            col("delivered_eur", "DELIVERED"),
            col("cumulative_committed_eur", "CUM.COMMITTED"),
            col("cumulative_delivered_eur", "CUM.DELIVERED"),
        ],
        rows,
    }
}

fn needs(model: &Model) -> Table {
    // Split a commitment's EUR evenly across the needs it covers.
    let mut offered: BTreeMap<&ItemId, u128> = BTreeMap::new();
    for o in model.offers.values().filter(|o| o.cancelled_at.is_none()) {
        let n = o.answers.len() as u128;
        for need in &o.answers {
            *offered.entry(need).or_default() += o.eur as u128 / n.max(1);
        }
    }
    let mut committed: BTreeMap<&ItemId, (u128, u128)> = BTreeMap::new();
    for c in model.commitments.values() {
        let n = c.needs.len() as u128;
        for need in &c.needs {
            let e = committed.entry(need).or_default();
            e.0 += committed_eur(model, c) as u128 / n.max(1);
            e.1 += delivered_eur(model, c) as u128 / n.max(1);
        }
    }
    let mut rows: Vec<(u64, u8, Vec<Cell>)> = model
        .needs
        .iter()
        .map(|(id, n)| {
            let off = offered.get(id).copied().unwrap_or(0);
            let (com, del) = committed.get(id).copied().unwrap_or((0, 0));
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
                    text(format!("{:?}", n.priority).to_lowercase()),
                    Cell::Eur(n.eur as u128),
                    Cell::Eur(off),
                    Cell::Eur(com),
                    Cell::Eur(del),
                    ratio(com, n.eur as u128),
                    text(status),
                ],
            )
        })
        .collect();
    rows.sort_by_key(|r| (r.0, r.1));
    Table {
        title: "needs",
        columns: vec![
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
        rows: rows.into_iter().map(|r| r.2).collect(),
    }
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

fn commitments(model: &Model, p: &Params) -> Table {
    let rows = model
        .commitments
        .iter()
        .map(|(id, c)| {
            let com = committed_eur(model, c) as u128;
            let del = delivered_eur(model, c) as u128;
            let delivered_q = delivered_quantity(model, c);
            let mut due = 0;
            let next = c
                .tranches
                .iter()
                .find(|t| {
                    due += t.quantity;
                    due > delivered_q
                })
                .filter(|_| c.cancelled.is_none())
                .map(|t| t.expected.to_string())
                .unwrap_or_else(|| "-".into());
            vec![
                text(id),
                text(&c.donor),
                text(&c.recipient),
                Cell::Eur(com),
                Cell::Eur(del),
                Cell::Eur(com.saturating_sub(del)),
                text(commitment_status(model, c, p.today)),
                text(next),
            ]
        })
        .collect();
    Table {
        title: "commitments",
        columns: vec![
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
    }
}

/// Days from `from` to `to` (`from <= to`), in 64 bits: dates are any day
/// number a member signed, so the difference of two may not fit an `i32`.
fn days_between(from: Date, to: Date) -> u64 {
    (i64::from(to.0) - i64::from(from.0)).max(0) as u64
}

fn overdue(model: &Model, p: &Params) -> Table {
    let mut rows: Vec<(Date, Vec<Cell>)> = Vec::new();
    for (id, c) in &model.commitments {
        if let Some((date, short)) = tranche_shortfall(model, c, p.today) {
            let eur = if c.quantity == 0 {
                0
            } else {
                c.eur as u128 * short as u128 / c.quantity as u128
            };
            rows.push((
                date,
                vec![
                    text("tranche"),
                    text(id),
                    text(&c.donor),
                    text(&c.recipient),
                    text(date),
                    Cell::Int(days_between(date, p.today)),
                    Cell::Eur(eur),
                ],
            ));
        }
    }
    for (id, d) in &model.deliveries {
        if d.receipt.is_some() {
            continue;
        }
        let due = d.delivered_on.add_days(p.receipt_days);
        if due < p.today {
            let recipient = model
                .commitments
                .get(&d.commitment)
                .map(|c| c.recipient.to_string())
                .unwrap_or_default();
            rows.push((
                due,
                vec![
                    text("receipt"),
                    text(id),
                    text(&d.donor),
                    text(recipient),
                    text(due),
                    Cell::Int(days_between(due, p.today)),
                    Cell::Eur(d.eur as u128),
                ],
            ));
        }
    }
    rows.sort_by_key(|r| r.0);
    Table {
        title: "overdue",
        columns: vec![
            col("kind", "KIND"),
            col("item", "ITEM"),
            col("donor", "DONOR"),
            col("recipient", "RECIPIENT"),
            col("due", "DUE"),
            col("days_overdue", "DAYS"),
            col("eur", "EUR"),
        ],
        rows: rows.into_iter().map(|r| r.1).collect(),
    }
}

fn pipeline(model: &Model) -> Table {
    let needs = model.needs.values().filter(|n| n.cancelled_at.is_none());
    let offers = model.offers.values().filter(|o| o.cancelled_at.is_none());
    let commitments: Vec<&CommitmentRow> = model
        .commitments
        .values()
        .filter(|c| !matches!(c.cancelled, Some((CancelScope::Whole, _))))
        .collect();
    let receipts: Vec<&ItemId> = model
        .deliveries
        .iter()
        .filter(|(_, d)| d.receipt.is_some())
        .map(|(id, _)| id)
        .collect();
    let stage =
        |name: &str, n: usize, eur: u128| vec![text(name), Cell::Int(n as u64), Cell::Eur(eur)];
    let (nc, ne) = needs.fold((0, 0u128), |(c, e), n| (c + 1, e + n.eur as u128));
    let (oc, oe) = offers.fold((0, 0u128), |(c, e), o| (c + 1, e + o.eur as u128));
    let ce: u128 = commitments
        .iter()
        .map(|c| committed_eur(model, c) as u128)
        .sum();
    let de: u128 = model.deliveries.values().map(|d| d.eur as u128).sum();
    let re: u128 = receipts
        .iter()
        .map(|id| acknowledged_eur(model, id) as u128)
        .sum();
    Table {
        title: "pipeline",
        columns: vec![
            col("stage", "STAGE"),
            col("count", "COUNT"),
            col("eur", "EUR"),
        ],
        rows: vec![
            stage("need", nc, ne),
            stage("offer", oc, oe),
            stage("commitment", commitments.len(), ce),
            stage("delivery", model.deliveries.len(), de),
            stage("receipt", receipts.len(), re),
        ],
    }
}

fn changes(model: &Model) -> Table {
    Table {
        title: "changes",
        columns: vec![
            hidden("position"),
            col("recorded_at", "WHEN"),
            col("kind", "KIND"),
            col("target", "ITEM"),
            hidden("producer"),
            col("what", "WHAT"),
            col("reason", "REASON"),
            hidden("id"),
        ],
        rows: model
            .changes
            .iter()
            .map(|c| {
                vec![
                    Cell::Int(c.position),
                    text(c.recorded_at.date()),
                    text(c.kind.name()),
                    text(&c.target),
                    text(&c.producer),
                    text(&c.what),
                    text(&c.reason),
                    text(c.id),
                ]
            })
            .collect(),
    }
}

/// The `time_findings` table of the integrity view: events whose
/// `recorded_at` lies outside what the checkpoints' signed times allow
/// ([`crate::timebounds`]), with the member whose subject carried each.
pub fn time_findings_table(findings: &[(crate::timebounds::TimeFinding, String)]) -> Table {
    Table {
        title: "time_findings",
        columns: vec![
            col("position", "POS"),
            col("member", "MEMBER"),
            col("code", "CODE"),
            col("reason", "REASON"),
        ],
        rows: findings
            .iter()
            .map(|(f, member)| {
                vec![
                    Cell::Int(f.position),
                    text(member),
                    text(f.code),
                    text(&f.reason),
                ]
            })
            .collect(),
    }
}

fn integrity(model: &Model) -> Vec<Table> {
    let heads = Table {
        title: "chain_heads",
        columns: vec![
            col("member", "MEMBER"),
            col("seq", "SEQ"),
            col("head", "HEAD"),
        ],
        rows: model
            .heads
            .iter()
            .map(|(m, (seq, id))| vec![text(m), Cell::Int(*seq), text(id)])
            .collect(),
    };
    let rejected = Table {
        title: "rejected",
        columns: vec![
            col("position", "POS"),
            col("member", "MEMBER"),
            col("seq", "SEQ"),
            col("code", "CODE"),
            col("reason", "REASON"),
            hidden("kind"),
            hidden("id"),
            hidden("in_chain"),
        ],
        rows: model
            .rejected
            .iter()
            .map(|r| {
                vec![
                    Cell::Int(r.position),
                    text(
                        r.member
                            .as_ref()
                            .map(|m| m.to_string())
                            .unwrap_or_else(|| "-".into()),
                    ),
                    r.seq.map(Cell::Int).unwrap_or_else(|| text("-")),
                    text(&r.code),
                    text(&r.reason),
                    text(r.kind.map(|k| k.name()).unwrap_or("-")),
                    text(r.id.map(|i| i.to_hex()).unwrap_or_default()),
                    Cell::Bool(r.in_chain),
                ]
            })
            .collect(),
    };
    // Filled by the shell from the log and its checkpoints (the model has no
    // checkpoints): empty here.
    vec![heads, rejected, time_findings_table(&[])]
}
