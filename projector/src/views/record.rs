//! The ledger's own record: the `pipeline`, `changes` and `integrity` views.

use ledger::ids::ItemId;

use super::totals::{acknowledged_eur, cancelled_whole, committed_eur};
use super::{col, hidden, text, Cell, Table};
use crate::model::{CommitmentRow, Model};

pub(super) fn pipeline(model: &Model) -> Table {
    let needs = model.needs.values().filter(|n| n.cancelled_at.is_none());
    let offers = model.offers.values().filter(|o| o.cancelled_at.is_none());
    let commitments: Vec<&CommitmentRow> = model
        .commitments
        .values()
        .filter(|c| !cancelled_whole(c))
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
    Table::new(
        "pipeline",
        vec![
            col("stage", "STAGE"),
            col("count", "COUNT"),
            col("eur", "EUR"),
        ],
        vec![
            stage("need", nc, ne),
            stage("offer", oc, oe),
            stage("commitment", commitments.len(), ce),
            stage("delivery", model.deliveries.len(), de),
            stage("receipt", receipts.len(), re),
        ],
    )
}

pub(super) fn changes(model: &Model) -> Table {
    Table::new(
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
        model
            .changes
            .iter()
            .map(|c| {
                vec![
                    Cell::Int(c.position),
                    Cell::Date(c.recorded_at.date()),
                    text(c.kind.name()),
                    text(&c.target),
                    text(&c.producer),
                    text(&c.what),
                    text(&c.reason),
                    text(c.id),
                ]
            })
            .collect(),
    )
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
