//! The projector's store as a source of rows for the totals views
//! ([`crate::views::rows::Rows`]): tables read from the row file in id order
//! a chunk at a time (records decoded on all cores), a commitment's
//! deliveries, receipts, offer and needs looked up by id through the index
//! (one block read each). Memory holds the record offsets of one table
//! (8 bytes per item) and a chunk of rows, whatever the ledger's length.

use std::collections::BTreeMap;

use ledger::ids::{ItemId, MemberId};
use rayon::prelude::*;

use super::{ProjectorStore, StoreError};
use crate::model::{CommitmentRow, MemberRow, Model, OfferRow, Row};
use crate::views::rows::{Links, Rows};
use crate::views::totals::cancelled_whole;

/// Kind bytes of the tables read here (see [`super::KINDS`]).
const OFFER: u8 = 2;
const COMMITMENT: u8 = 3;

/// Rows read per chunk.
const CHUNK: usize = 2048;

/// The store's rows (see the module's documentation). Built by
/// `Projector::rows`, which writes the working set back first.
pub struct StoreRows<'a> {
    store: &'a ProjectorStore,
    members: &'a BTreeMap<MemberId, MemberRow>,
}

impl<'a> StoreRows<'a> {
    /// The rows of `store` (flushed), with these members.
    pub(crate) fn new(
        store: &'a ProjectorStore,
        members: &'a BTreeMap<MemberId, MemberRow>,
    ) -> StoreRows<'a> {
        StoreRows { store, members }
    }

    /// The row of item `id`, if it has one.
    fn row(&self, id: &ItemId) -> Result<Option<Row>, StoreError> {
        let Some(slot) = self.store.index.get(id.as_str())? else {
            return Ok(None);
        };
        let (stored, _, row) = self.store.read_record(slot.offset)?;
        if &stored != id {
            return Err(StoreError::Corrupt(format!(
                "record at {} is {stored}, the index says {id}",
                slot.offset
            )));
        }
        Ok(row)
    }

    /// Calls `f` with every row of `kind`, in id order.
    fn for_each_of_kind(
        &self,
        kind: u8,
        mut f: impl FnMut(ItemId, Row) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let offsets = self.store.index.sorted_of_kind(kind)?;
        for chunk in offsets.chunks(CHUNK) {
            let records: Vec<_> = chunk
                .par_iter()
                .map(|&offset| self.store.read_record(offset))
                .collect::<Result<_, _>>()?;
            for (id, _, row) in records {
                let row = row.ok_or_else(|| StoreError::Corrupt(format!("{id} has no row")))?;
                f(id, row)?;
            }
        }
        Ok(())
    }

    /// A model holding the rows `links` names beside `c`.
    fn around(&self, c: &CommitmentRow, links: Links) -> Result<Model, StoreError> {
        let mut m = Model::new();
        for d in &c.deliveries {
            if let Some(Row::Delivery(row)) = self.row(d)? {
                if let Some(r) = &row.receipt {
                    if let Some(Row::Receipt(receipt)) = self.row(r)? {
                        m.receipts.insert(r.clone(), receipt);
                    }
                }
                m.deliveries.insert(d.clone(), row);
            }
        }
        if links == Links::All {
            if let Some(o) = &c.offer {
                if let Some(Row::Offer(row)) = self.row(o)? {
                    m.offers.insert(o.clone(), row);
                }
            }
            for n in &c.needs {
                if let Some(Row::Need(row)) = self.row(n)? {
                    m.needs.insert(n.clone(), row);
                }
            }
        }
        Ok(m)
    }

    /// The sorted record offsets of the offers a commitment not cancelled
    /// whole came from (8 bytes each: what `committed` is looked up in).
    fn committed_offers(&self) -> Result<Vec<u64>, StoreError> {
        let mut out = Vec::new();
        self.for_each_of_kind(COMMITMENT, |_, row| {
            if let Row::Commitment(c) = row {
                if let Some(o) = c.offer.as_ref().filter(|_| !cancelled_whole(&c)) {
                    if let Some(slot) = self.store.index.get(o.as_str())? {
                        out.push(slot.offset);
                    }
                }
            }
            Ok(())
        })?;
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }
}

impl Rows for StoreRows<'_> {
    type Error = StoreError;

    fn members(&self) -> &BTreeMap<MemberId, MemberRow> {
        self.members
    }

    fn for_each_offer(
        &mut self,
        f: &mut dyn FnMut(&ItemId, &OfferRow, bool),
    ) -> Result<(), StoreError> {
        let committed = self.committed_offers()?;
        let offsets = self.store.index.sorted_of_kind(OFFER)?;
        for chunk in offsets.chunks(CHUNK) {
            let records: Vec<_> = chunk
                .par_iter()
                .map(|&offset| self.store.read_record(offset).map(|r| (offset, r)))
                .collect::<Result<_, _>>()?;
            for (offset, (id, _, row)) in records {
                let Some(Row::Offer(o)) = row else {
                    return Err(StoreError::Corrupt(format!("{id} is not an offer")));
                };
                f(&id, &o, committed.binary_search(&offset).is_ok());
            }
        }
        Ok(())
    }

    fn for_each_commitment(
        &mut self,
        links: Links,
        f: &mut dyn FnMut(&Model, &CommitmentRow),
    ) -> Result<(), StoreError> {
        let offsets = self.store.index.sorted_of_kind(COMMITMENT)?;
        for chunk in offsets.chunks(CHUNK) {
            let groups: Vec<(CommitmentRow, Model)> = chunk
                .par_iter()
                .map(|&offset| {
                    let (id, _, row) = self.store.read_record(offset)?;
                    let Some(Row::Commitment(c)) = row else {
                        return Err(StoreError::Corrupt(format!("{id} is not a commitment")));
                    };
                    let m = self.around(&c, links)?;
                    Ok((c, m))
                })
                .collect::<Result<_, _>>()?;
            for (c, m) in &groups {
                f(m, c);
            }
        }
        Ok(())
    }
}
