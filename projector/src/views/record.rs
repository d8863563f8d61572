//! The ledger's own record: the `pipeline`, `changes` and `integrity` views.

use super::rows::{Links, Rows};
use super::totals::{acknowledged_of, cancelled_whole, committed_eur};
use super::{col, hidden, text, Cell, Table};
use crate::model::Model;

pub(super) fn pipeline<R: Rows + ?Sized>(source: &mut R) -> Result<Table, R::Error> {
    let count = |(c, e): &mut (usize, u128), eur: u128| {
        *c += 1;
        *e += eur;
    };
    let (mut needs, mut offers, mut commitments) = ((0, 0), (0, 0), (0, 0));
    let (mut deliveries, mut receipts) = ((0, 0), (0, 0));
    source.for_each_need(&mut |_, n| {
        if n.cancelled_at.is_none() {
            count(&mut needs, n.eur as u128);
        }
    })?;
    source.for_each_offer(None, &mut |_, o, _| {
        if o.cancelled_at.is_none() {
            count(&mut offers, o.eur as u128);
        }
    })?;
    source.for_each_commitment(Links::Deliveries, &mut |_, model, c| {
        if !cancelled_whole(c) {
            count(&mut commitments, committed_eur(model, c) as u128);
        }
    })?;
    source.for_each_delivery(true, &mut |_, d, (_, r)| {
        count(&mut deliveries, d.eur as u128);
        if d.receipt.is_some() {
            count(&mut receipts, acknowledged_of(d, r) as u128);
        }
    })?;
    let stage =
        |name: &str, (n, eur): (usize, u128)| vec![text(name), Cell::Int(n as u64), Cell::Eur(eur)];
    Ok(Table::new(
        "pipeline",
        vec![
            col("stage", "STAGE"),
            col("count", "COUNT"),
            col("eur", "EUR"),
        ],
        vec![
            stage("need", needs),
            stage("offer", offers),
            stage("commitment", commitments),
            stage("delivery", deliveries),
            stage("receipt", receipts),
        ],
    ))
}

pub(super) fn changes<R: Rows + ?Sized>(source: &mut R) -> Result<Table, R::Error> {
    let mut rows = Vec::new();
    source.for_each_change(&mut |c| {
        rows.push(vec![
            Cell::Int(c.position),
            Cell::Date(c.recorded_at.date()),
            text(c.kind.name()),
            text(&c.target),
            text(&c.producer),
            text(&c.what),
            text(&c.reason),
            text(c.id),
        ])
    })?;
    Ok(Table::new(
        "changes",
        vec![
            hidden("position"),
            col("recorded_at", "WHEN"),
            col("kind", "KIND"),
            col("target", "ITEM"),
            hidden("producer"),
            col("what", "WHAT"),
            col("reason", "REASON"),
            hidden("id"),
        ],
        rows,
    ))
}

/// The `time_findings` table of the integrity view: events whose
/// `recorded_at` lies outside what the checkpoints' signed times allow
/// ([`crate::timebounds`]), with the member whose subject carried each.
pub fn time_findings_table(findings: &[(crate::timebounds::TimeFinding, String)]) -> Table {
    Table::new(
        "time_findings",
        vec![
            col("position", "POS"),
            col("member", "MEMBER"),
            col("code", "CODE"),
            col("reason", "REASON"),
        ],
        findings
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
    )
}

/// The chain heads and rejected events (kept in memory, in the overview).
pub(super) fn integrity(model: &Model) -> Vec<Table> {
    let heads = Table::new(
        "chain_heads",
        vec![
            col("member", "MEMBER"),
            col("seq", "SEQ"),
            col("head", "HEAD"),
        ],
        model
            .heads
            .iter()
            .map(|(m, (seq, id))| vec![text(m), Cell::Int(*seq), text(id)])
            .collect(),
    );
    let rejected = Table::new(
        "rejected",
        vec![
            col("position", "POS"),
            col("member", "MEMBER"),
            col("seq", "SEQ"),
            col("code", "CODE"),
            col("reason", "REASON"),
            hidden("kind"),
            hidden("id"),
            hidden("in_chain"),
        ],
        model
            .rejected
            .iter()
            .map(|r| {
                vec![
                    Cell::Int(r.position),
                    r.member.as_ref().map_or(Cell::Null, text),
                    r.seq.map_or(Cell::Null, Cell::Int),
                    text(&r.code),
                    text(&r.reason),
                    r.kind.map_or(Cell::Null, |k| text(k.name())),
                    r.id.map_or(Cell::Null, |i| text(i.to_hex())),
                    Cell::Bool(r.in_chain),
                ]
            })
            .collect(),
    );
    // Filled by the shell from the log and its checkpoints (the model has no
    // checkpoints): empty here.
    vec![heads, rejected, time_findings_table(&[])]
}
