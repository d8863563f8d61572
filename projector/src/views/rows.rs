//! Where the totals views read their rows: the whole model in memory
//! ([`InMemory`]), or the projector's store on disk
//! (`crate::reading::StoreRows`), one commitment and what hangs on it at a
//! time, so that memory does not grow with the ledger.
//!
//! The totals of a view are sums over offers and over commitments (with
//! their deliveries and receipts): each commitment's share is computed from
//! a model holding at least that commitment, its deliveries, their receipts
//! and, when asked, its offer and the needs it covers, which is what the
//! key functions and [`super::totals`] read. Both sources give the same sums.

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;

use ledger::ids::{ItemId, MemberId};

use crate::model::{CommitmentRow, MemberRow, Model, OfferRow};

/// Which rows beside a commitment its share reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    /// Its deliveries and their receipts.
    Deliveries,
    /// Those, its offer and the needs it covers.
    All,
}

/// A source of rows for the totals views.
pub trait Rows {
    /// What reading the rows can fail with.
    type Error;

    /// The members.
    fn members(&self) -> &BTreeMap<MemberId, MemberRow>;

    /// Calls `f` for every offer, with whether a commitment not cancelled
    /// whole came from it.
    fn for_each_offer(
        &mut self,
        f: &mut dyn FnMut(&ItemId, &OfferRow, bool),
    ) -> Result<(), Self::Error>;

    /// Calls `f` for every commitment, with a model holding at least it and
    /// the rows `links` names.
    fn for_each_commitment(
        &mut self,
        links: Links,
        f: &mut dyn FnMut(&Model, &CommitmentRow),
    ) -> Result<(), Self::Error>;
}

/// The whole model in memory.
pub struct InMemory<'a>(pub &'a Model);

impl Rows for InMemory<'_> {
    type Error = Infallible;

    fn members(&self) -> &BTreeMap<MemberId, MemberRow> {
        &self.0.members
    }

    fn for_each_offer(
        &mut self,
        f: &mut dyn FnMut(&ItemId, &OfferRow, bool),
    ) -> Result<(), Infallible> {
        let committed: BTreeSet<&ItemId> = self
            .0
            .commitments
            .values()
            .filter(|c| !super::totals::cancelled_whole(c))
            .filter_map(|c| c.offer.as_ref())
            .collect();
        for (id, o) in &self.0.offers {
            f(id, o, committed.contains(id));
        }
        Ok(())
    }

    fn for_each_commitment(
        &mut self,
        _: Links,
        f: &mut dyn FnMut(&Model, &CommitmentRow),
    ) -> Result<(), Infallible> {
        for c in self.0.commitments.values() {
            f(self.0, c);
        }
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
