//! Where the views read their rows: the whole model in memory
//! ([`InMemory`]), or the projector's store on disk
//! (`crate::store::StoreRows`), a chunk of rows at a time, so that memory
//! does not grow with the ledger (beyond what a view keeps: its own output,
//! or per-need figures).
//!
//! A commitment's figures are computed from a model holding at least that
//! commitment, its deliveries, their receipts and, when asked, its offer
//! and the needs it covers, which is what the key functions and
//! [`super::totals`] read. Both sources give the same tables.

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;

use ledger::ids::{ItemId, MemberId};

use crate::model::{
    ChangeRow, CommitmentRow, DeliveryRow, MemberRow, Model, NeedRow, OfferRow, ReceiptRow,
};

/// Which rows beside a commitment its share reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    /// Its deliveries and their receipts.
    Deliveries,
    /// Those, its offer and the needs it covers.
    All,
}

/// Which commitments make an offer committed in [`Rows::for_each_offer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Committed {
    /// A commitment not cancelled whole (what the totals count).
    Counted,
    /// Any commitment, cancelled or not (the IATI export: no longer a pledge).
    Any,
}

impl Committed {
    /// Whether commitment `c` makes its offer committed.
    pub fn by(self, c: &CommitmentRow) -> bool {
        self == Committed::Any || !super::totals::cancelled_whole(c)
    }
}

/// What [`Rows::for_each_delivery`] passes beside a delivery: its commitment
/// and its receipt, when asked for and found.
pub type Linked<'a> = (Option<&'a CommitmentRow>, Option<&'a ReceiptRow>);

/// A source of rows for the views. Every table is visited in id order
/// (changes in log order).
pub trait Rows {
    /// What reading the rows can fail with.
    type Error;

    /// The parts of the model kept in memory whatever the ledger's length:
    /// its position, origin, members, chain heads, rejected events and
    /// counters. Its item tables and changes are not all there: read them
    /// with the other methods.
    fn overview(&self) -> &Model;

    /// The members.
    fn members(&self) -> &BTreeMap<MemberId, MemberRow> {
        &self.overview().members
    }

    /// Calls `f` for every need.
    fn for_each_need(&mut self, f: &mut dyn FnMut(&ItemId, &NeedRow)) -> Result<(), Self::Error>;

    /// Calls `f` for every offer, with whether a commitment `committed` names
    /// came from it (`None`: not asked, always `false`, and nothing more read).
    fn for_each_offer(
        &mut self,
        committed: Option<Committed>,
        f: &mut dyn FnMut(&ItemId, &OfferRow, bool),
    ) -> Result<(), Self::Error>;

    /// Calls `f` for every commitment, with a model holding at least it and
    /// the rows `links` names.
    fn for_each_commitment(
        &mut self,
        links: Links,
        f: &mut dyn FnMut(&ItemId, &Model, &CommitmentRow),
    ) -> Result<(), Self::Error>;

    /// Calls `f` for every delivery, with its commitment and its receipt if
    /// `linked` (else with neither).
    fn for_each_delivery(
        &mut self,
        linked: bool,
        f: &mut dyn FnMut(&ItemId, &DeliveryRow, Linked<'_>),
    ) -> Result<(), Self::Error>;

    /// Calls `f` for every amendment, correction and cancellation, in log order.
    fn for_each_change(&mut self, f: &mut dyn FnMut(&ChangeRow)) -> Result<(), Self::Error>;
}

/// The whole model in memory.
pub struct InMemory<'a>(pub &'a Model);

impl Rows for InMemory<'_> {
    type Error = Infallible;

    fn overview(&self) -> &Model {
        self.0
    }

    fn for_each_need(&mut self, f: &mut dyn FnMut(&ItemId, &NeedRow)) -> Result<(), Infallible> {
        self.0.needs.iter().for_each(|(id, n)| f(id, n));
        Ok(())
    }

    fn for_each_offer(
        &mut self,
        committed: Option<Committed>,
        f: &mut dyn FnMut(&ItemId, &OfferRow, bool),
    ) -> Result<(), Infallible> {
        let committed: BTreeSet<&ItemId> = match committed {
            None => BTreeSet::new(),
            Some(which) => self
                .0
                .commitments
                .values()
                .filter(|c| which.by(c))
                .filter_map(|c| c.offer.as_ref())
                .collect(),
        };
        for (id, o) in &self.0.offers {
            f(id, o, committed.contains(id));
        }
        Ok(())
    }

    fn for_each_commitment(
        &mut self,
        _: Links,
        f: &mut dyn FnMut(&ItemId, &Model, &CommitmentRow),
    ) -> Result<(), Infallible> {
        for (id, c) in &self.0.commitments {
            f(id, self.0, c);
        }
        Ok(())
    }

    fn for_each_delivery(
        &mut self,
        linked: bool,
        f: &mut dyn FnMut(&ItemId, &DeliveryRow, Linked<'_>),
    ) -> Result<(), Infallible> {
        let m = self.0;
        for (id, d) in &m.deliveries {
            let links = if linked {
                let receipt = d.receipt.as_ref().and_then(|r| m.receipts.get(r));
                (m.commitments.get(&d.commitment), receipt)
            } else {
                (None, None)
            };
            f(id, d, links);
        }
        Ok(())
    }

    fn for_each_change(&mut self, f: &mut dyn FnMut(&ChangeRow)) -> Result<(), Infallible> {
        self.0.changes.iter().for_each(f);
        Ok(())
    }
}

/// The value of a result that cannot fail.
pub(crate) fn infallible<T>(r: Result<T, Infallible>) -> T {
    match r {
        Ok(t) => t,
        Err(e) => match e {},
    }
}
