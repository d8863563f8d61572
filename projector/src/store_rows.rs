//! The projector's store as a source of rows for the views
//! ([`crate::views::rows::Rows`]): tables read from the row file in id order
//! a chunk at a time (records decoded on all cores), the rows an item
//! names (a commitment's deliveries, receipts, offer and needs; a delivery's
//! commitment and receipt) looked up by id through the index (one block read
//! each), changes read from the changes file. Memory holds the record
//! offsets of one table (8 bytes per item) and a chunk of rows, whatever the
//! ledger's length.

use ledger::ids::ItemId;
use rayon::prelude::*;

use super::{ProjectorStore, StoreError};
use crate::model::{ChangeRow, CommitmentRow, DeliveryRow, Model, NeedRow, OfferRow, Row};
use crate::views::rows::{Committed, Linked, Links, Rows};

/// Kind bytes of the tables read here (see [`super::KINDS`]).
const NEED: u8 = 1;
const OFFER: u8 = 2;
const COMMITMENT: u8 = 3;
const DELIVERY: u8 = 4;

/// Rows read per chunk.
const CHUNK: usize = 2048;

/// The store's rows (see the module's documentation). Built by
/// `Projector::rows`, which writes the working set back first.
pub struct StoreRows<'a> {
    store: &'a ProjectorStore,
    overview: &'a Model,
}

impl<'a> StoreRows<'a> {
    /// The rows of `store` (flushed, its changes file too), with the parts
    /// of the model the projector keeps in memory.
    pub(crate) fn new(store: &'a ProjectorStore, overview: &'a Model) -> StoreRows<'a> {
        StoreRows { store, overview }
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
        self.for_each_read(kind, |id, row| Ok((id, row)), |(id, row)| f(id, row))
    }

    /// Reads every row of `kind` in id order, a chunk at a time: `read`
    /// (on all cores) turns each into a `T` (looking up what it names), and
    /// `f` takes them in order.
    fn for_each_read<T: Send>(
        &self,
        kind: u8,
        read: impl Fn(ItemId, Row) -> Result<T, StoreError> + Sync,
        mut f: impl FnMut(T) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let offsets = self.store.index.sorted_of_kind(kind)?;
        for chunk in offsets.chunks(CHUNK) {
            let records: Vec<T> = chunk
                .par_iter()
                .map(|&offset| {
                    let (id, _, row) = self.store.read_record(offset)?;
                    let row = row.ok_or_else(|| StoreError::Corrupt(format!("{id} has no row")))?;
                    read(id, row)
                })
                .collect::<Result<_, _>>()?;
            for t in records {
                f(t)?;
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

    /// The sorted record offsets of the offers a commitment `which` names
    /// came from (8 bytes each: what `committed` is looked up in).
    fn committed_offers(&self, which: Committed) -> Result<Vec<u64>, StoreError> {
        let mut out = Vec::new();
        self.for_each_of_kind(COMMITMENT, |_, row| {
            if let Row::Commitment(c) = row {
                if let Some(o) = c.offer.as_ref().filter(|_| which.by(&c)) {
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

/// A delivery read with what it names ([`Rows::for_each_delivery`]).
type DeliveryRead = (
    ItemId,
    DeliveryRow,
    Option<CommitmentRow>,
    Option<crate::model::ReceiptRow>,
);

impl Rows for StoreRows<'_> {
    type Error = StoreError;

    fn overview(&self) -> &Model {
        self.overview
    }

    fn for_each_need(&mut self, f: &mut dyn FnMut(&ItemId, &NeedRow)) -> Result<(), StoreError> {
        self.for_each_of_kind(NEED, |id, row| match row {
            Row::Need(n) => {
                f(&id, &n);
                Ok(())
            }
            _ => Err(StoreError::Corrupt(format!("{id} is not a need"))),
        })
    }

    fn for_each_delivery(
        &mut self,
        linked: bool,
        f: &mut dyn FnMut(&ItemId, &DeliveryRow, Linked<'_>),
    ) -> Result<(), StoreError> {
        let read = |id: ItemId, row| -> Result<DeliveryRead, StoreError> {
            let Row::Delivery(d) = row else {
                return Err(StoreError::Corrupt(format!("{id} is not a delivery")));
            };
            if !linked {
                return Ok((id, d, None, None));
            }
            let commitment = match self.row(&d.commitment)? {
                Some(Row::Commitment(c)) => Some(c),
                _ => None,
            };
            let receipt = match d.receipt.as_ref().map(|r| self.row(r)).transpose()? {
                Some(Some(Row::Receipt(r))) => Some(r),
                _ => None,
            };
            Ok((id, d, commitment, receipt))
        };
        self.for_each_read(DELIVERY, read, |(id, d, c, r)| {
            f(&id, &d, (c.as_ref(), r.as_ref()));
            Ok(())
        })
    }

    fn for_each_change(&mut self, f: &mut dyn FnMut(&ChangeRow)) -> Result<(), StoreError> {
        if self.overview.changes_stored > 0 {
            self.store.changes_ref().read_from(0, |row| {
                f(&row);
                true
            })?;
        }
        self.overview.changes.iter().for_each(f);
        Ok(())
    }

    fn for_each_offer(
        &mut self,
        committed: Option<Committed>,
        f: &mut dyn FnMut(&ItemId, &OfferRow, bool),
    ) -> Result<(), StoreError> {
        let committed = match committed {
            Some(which) => self.committed_offers(which)?,
            None => Vec::new(),
        };
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
        f: &mut dyn FnMut(&ItemId, &Model, &CommitmentRow),
    ) -> Result<(), StoreError> {
        let read = |id: ItemId, row| {
            let Row::Commitment(c) = row else {
                return Err(StoreError::Corrupt(format!("{id} is not a commitment")));
            };
            let m = self.around(&c, links)?;
            Ok((id, c, m))
        };
        self.for_each_read(COMMITMENT, read, |(id, c, m)| {
            f(&id, &m, &c);
            Ok(())
        })
    }
}
