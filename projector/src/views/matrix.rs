//! Two cross-tabulations: what each donor committed and delivered to each
//! recipient (`flows`), and how far needs are covered per category and
//! priority (`coverage`).

use std::collections::BTreeMap;

use ledger::body::Priority;
use ledger::category::Category;

use super::rows::{Links, Rows};
use super::status::{need_figures, priority_code};
use super::totals::{totals_by, Totals};
use super::{col, hidden, ratio, text, Cell, Table};

fn flow_cells(t: &Totals) -> Vec<Cell> {
    vec![
        Cell::Int(t.commitments),
        Cell::Eur(t.committed_eur),
        Cell::Int(t.deliveries),
        Cell::Eur(t.delivered_eur),
        Cell::Eur(t.acknowledged_eur),
        Cell::Eur(t.committed_eur.saturating_sub(t.delivered_eur)),
        ratio(t.delivered_eur, t.committed_eur),
    ]
}

/// `flows`: the donor x recipient matrix in long form, a row per pair with a
/// commitment (cancelled ones included with what they count for), the sum
/// of every pair as totals. Pivot donor against recipient for the grid.
pub(super) fn flows<R: Rows + ?Sized>(rows: &mut R) -> Result<Table, R::Error> {
    let per = totals_by(
        rows,
        Links::Deliveries,
        |_| None,
        |_, c| Some((c.donor.clone(), c.recipient.clone())),
    )?;
    let mut all = Totals::default();
    let table_rows = per
        .iter()
        .map(|((donor, recipient), t)| {
            all.add(t);
            let mut r = vec![text(donor), text(recipient)];
            r.extend(flow_cells(t));
            r
        })
        .collect();
    let mut total = vec![Cell::Null, Cell::Null];
    total.extend(flow_cells(&all));
    Ok(Table::new(
        "flows",
        vec![
            col("donor", "DONOR"),
            col("recipient", "RECIPIENT"),
            col("commitments", "#C"),
            col("committed_eur", "COMMITTED"),
            hidden("deliveries"),
            col("delivered_eur", "DELIVERED"),
            col("acknowledged_eur", "ACKNOWLEDGED"),
            hidden("outstanding_eur"),
            col("delivery_ratio", "DEL%"),
        ],
        table_rows,
    )
    .with_totals(total))
}

/// Needs' figures summed under one (category, priority).
#[derive(Debug, Clone, Copy, Default)]
struct Coverage {
    needs: u64,
    needed: u128,
    offered: u128,
    committed: u128,
    delivered: u128,
    /// Committed, at most what each need stated.
    covered: u128,
}

impl Coverage {
    fn add(&mut self, b: &Coverage) {
        self.needs += b.needs;
        self.needed += b.needed;
        self.offered += b.offered;
        self.committed += b.committed;
        self.delivered += b.delivered;
        self.covered += b.covered;
    }

    fn cells(&self) -> Vec<Cell> {
        vec![
            Cell::Int(self.needs),
            Cell::Eur(self.needed),
            Cell::Eur(self.offered),
            Cell::Eur(self.committed),
            Cell::Eur(self.delivered),
            Cell::Eur(self.covered),
            ratio(self.covered, self.needed),
        ]
    }
}

/// `coverage`: the needs standing (not withdrawn) per category and priority:
/// how many, EUR needed, and offered, committed and delivered toward them
/// (split as in `needs`); `covered_eur` counts each need's committed EUR up
/// to what it stated, so one need over-covered does not hide another
/// uncovered, and `covered_ratio` is that share of the EUR needed.
pub(super) fn coverage<R: Rows + ?Sized>(source: &mut R) -> Result<Table, R::Error> {
    let figures = need_figures(source)?;
    let mut per: BTreeMap<(Category, Priority), Coverage> = BTreeMap::new();
    source.for_each_need(&mut |id, n| {
        if n.cancelled_at.is_some() {
            return;
        }
        let f = figures.get(id).copied().unwrap_or_default();
        per.entry((n.category, n.priority))
            .or_default()
            .add(&Coverage {
                needs: 1,
                needed: n.eur as u128,
                offered: f.offered,
                committed: f.committed,
                delivered: f.delivered,
                covered: f.committed.min(n.eur as u128),
            });
    })?;
    let mut all = Coverage::default();
    let rows = per
        .iter()
        .map(|((category, priority), c)| {
            all.add(c);
            let mut r = vec![text(category.code()), text(priority_code(*priority))];
            r.extend(c.cells());
            r
        })
        .collect();
    let mut total = vec![Cell::Null, Cell::Null];
    total.extend(all.cells());
    Ok(Table::new(
        "coverage",
        vec![
            col("category", "CATEGORY"),
            col("priority", "PRIO"),
            col("needs", "#N"),
            col("needed_eur", "NEEDED"),
            col("offered_eur", "OFFERED"),
            col("committed_eur", "COMMITTED"),
            col("delivered_eur", "DELIVERED"),
            hidden("covered_eur"),
            col("covered_ratio", "COV%"),
        ],
        rows,
    )
    .with_totals(total))
}
